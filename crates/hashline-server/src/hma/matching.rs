//! `/m/*`: lookups by signal, by upload and by URL, raw lookups, comparisons, index status.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::extract::{Multipart, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use hashline_lists::Match;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::hashing::{self, Content};
use super::{bank_content_id, query, HmaCaller, HmaError, HmaSignal};
use crate::AppState;

/// One match as HMA answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatchWithDistance {
    /// The list entry's stable number ([`bank_content_id`]).
    pub bank_content_id: u64,
    /// The distance, as a string (HMA's `pretty_str`): PDQ bits, 0 for digests.
    pub distance: String,
}

/// Matches by bank (list name).
pub type ByBank = BTreeMap<String, Vec<MatchWithDistance>>;

/// `banks=a,b`: the banks to restrict to (none: every bank the token sees).
fn bank_filter(banks: Option<&str>) -> Option<BTreeSet<String>> {
    banks.map(|b| b.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect())
}

/// The matches a caller may see, in the requested banks.
fn visible<'a>(
    matches: &'a [Match],
    caller: &'a HmaCaller,
    banks: &'a Option<BTreeSet<String>>,
) -> impl Iterator<Item = &'a Match> {
    matches.iter().filter(move |m| {
        caller.0.token.may_see(&m.list) && banks.as_ref().is_none_or(|b| b.contains(&m.list))
    })
}

fn hma_match(m: &Match) -> MatchWithDistance {
    MatchWithDistance {
        bank_content_id: bank_content_id(&m.list, &m.entry_id),
        distance: m.distance.to_string(),
    }
}

fn by_bank<'a>(matches: impl Iterator<Item = &'a Match>) -> ByBank {
    let mut out = ByBank::new();
    for m in matches {
        out.entry(m.list.clone()).or_default().push(hma_match(m));
    }
    out
}

/// Looks `signal` of `signal_type` up in the lists in force, on the CPU pool.
async fn find(state: &Arc<AppState>, signal_type: &str, signal: &str) -> Result<Vec<Match>, HmaError> {
    let query = HmaSignal::parse(signal_type)?.query(signal)?;
    let set = state.lists.snapshot();
    if set.versions().is_empty() {
        return Err(HmaError::new(axum::http::StatusCode::SERVICE_UNAVAILABLE, "index not yet ready"));
    }
    Ok(state.cpu(move || set.match_query(&query).matches).await?)
}

async fn audit(state: &AppState, caller: &HmaCaller, route: &str, matched: usize) -> Result<(), HmaError> {
    Ok(state.audit(&caller.0, "api.match", serde_json::json!({ "hma": route, "matched": matched })).await?)
}

fn count(matches: &[&Match]) {
    let m = hashline_metrics::global();
    for x in matches {
        m.matches_total.with_label_values(&[x.list.as_str(), x.signal.as_str()]).inc();
    }
}

/// `GET /m/raw_lookup`.
#[derive(Debug, Deserialize)]
pub struct RawLookup {
    signal: Option<String>,
    signal_type: Option<String>,
    include_distance: Option<String>,
    banks: Option<String>,
}

fn required(v: Option<String>, name: &str) -> Result<String, HmaError> {
    v.ok_or_else(|| HmaError::bad_request(format!("{name} is required")))
}

/// `true`/`false`/`1`/`0`, HMA's booleans.
fn boolean(v: Option<&str>) -> Result<bool, HmaError> {
    match v.map(str::to_ascii_lowercase).as_deref() {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(_) => Err(HmaError::bad_request("invalid boolean parameter - prefer true/false")),
    }
}

/// Looks one hash up; `{"matches": [ids]}`, or with distances.
pub async fn raw_lookup(
    State(state): State<Arc<AppState>>,
    caller: HmaCaller,
    q: Result<Query<RawLookup>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, HmaError> {
    let q = query(q)?;
    let (signal, signal_type) = (required(q.signal, "signal")?, required(q.signal_type, "signal_type")?);
    let with_distance = boolean(q.include_distance.as_deref())?;
    let banks = bank_filter(q.banks.as_deref());
    let found = find(&state, &signal_type, &signal).await?;
    let seen: Vec<&Match> = visible(&found, &caller, &banks).collect();
    count(&seen);
    audit(&state, &caller, "raw_lookup", seen.len()).await?;
    let matches: Vec<Value> = seen
        .iter()
        .map(|m| {
            if with_distance {
                serde_json::json!(hma_match(m))
            } else {
                bank_content_id(&m.list, &m.entry_id).into()
            }
        })
        .collect();
    Ok(Json(serde_json::json!({ "matches": matches })))
}

/// `GET /m/lookup`: by signal, or by URL.
#[derive(Debug, Deserialize)]
pub struct Lookup {
    signal: Option<String>,
    signal_type: Option<String>,
    url: Option<String>,
    content_type: Option<String>,
    types: Option<String>,
    banks: Option<String>,
    /// Accepted; hashline lists are always fully enabled, so the coin flip never hides a bank.
    #[allow(dead_code)]
    bypass_coinflip: Option<String>,
    /// Accepted and ignored, like `bypass_coinflip`.
    #[allow(dead_code)]
    seed: Option<String>,
}

/// `{bank: [matches]}` for a signal, or `{signal_type: {bank: [matches]}}` for a URL.
pub async fn lookup_get(
    State(state): State<Arc<AppState>>,
    caller: HmaCaller,
    q: Result<Query<Lookup>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, HmaError> {
    let q = query(q)?;
    boolean(q.bypass_coinflip.as_deref())?;
    let banks = bank_filter(q.banks.as_deref());
    if let Some(url) = q.url.as_deref().filter(|u| !u.is_empty()) {
        let media = hashing::fetch_url(&state, url, q.content_type.as_deref()).await?;
        let per_signal = lookup_media(&state, &caller, media, q.types.as_deref(), &banks).await?;
        return Ok(Json(match q.signal_type.as_deref() {
            // With a signal type the outer object is left out, as HMA does.
            Some(st) => serde_json::json!(per_signal.get(st).cloned().unwrap_or_default()),
            None => serde_json::json!(per_signal),
        }));
    }
    let (Some(signal), Some(signal_type)) = (q.signal, q.signal_type) else {
        return Err(HmaError::bad_request("Either url or both signal and signal_type are required"));
    };
    let found = find(&state, &signal_type, &signal).await?;
    let seen: Vec<&Match> = visible(&found, &caller, &banks).collect();
    count(&seen);
    audit(&state, &caller, "lookup", seen.len()).await?;
    Ok(Json(serde_json::json!(by_bank(seen.into_iter()))))
}

/// `POST /m/lookup` query parameters.
#[derive(Debug, Deserialize)]
pub struct LookupPost {
    types: Option<String>,
    banks: Option<String>,
    bypass_coinflip: Option<String>,
    /// Accepted and ignored.
    #[allow(dead_code)]
    seed: Option<String>,
}

/// Hashes the upload (multipart `photo` or `video`) and looks every hash up:
/// `{signal_type: {bank: [matches]}}`.
pub async fn lookup_post(
    State(state): State<Arc<AppState>>,
    caller: HmaCaller,
    q: Result<Query<LookupPost>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Json<BTreeMap<String, ByBank>>, HmaError> {
    let q = query(q)?;
    boolean(q.bypass_coinflip.as_deref())?;
    let banks = bank_filter(q.banks.as_deref());
    let media = hashing::read_upload(&state, &headers, form).await?;
    Ok(Json(lookup_media(&state, &caller, media, q.types.as_deref(), &banks).await?))
}

/// Examines media with the lists in force (the engine `/v1/hash?match=true` uses) and groups
/// the visible matches by HMA signal type and bank.
async fn lookup_media(
    state: &Arc<AppState>,
    caller: &HmaCaller,
    (content, bytes, permit): (Content, axum::body::Bytes, crate::Reservation),
    types: Option<&str>,
    banks: &Option<BTreeSet<String>>,
) -> Result<BTreeMap<String, ByBank>, HmaError> {
    let wanted = hashing::signal_types(content, types)?;
    let examined = hashing::examine(state, permit, bytes, true).await?;
    let mut out = BTreeMap::new();
    let mut seen_all = Vec::new();
    for (signal, _) in hashing::signals(content, &examined.hashes, &wanted) {
        let seen: Vec<&Match> = visible(&examined.outcome.matches, caller, banks)
            .filter(|m| m.signal == signal.hashline())
            .collect();
        out.insert(signal.name().to_string(), by_bank(seen.iter().copied()));
        seen_all.extend(seen);
    }
    count(&seen_all);
    let detail = serde_json::json!({ "hma": "lookup", "bytes": examined.hashes.bytes, "match": true, "matches": seen_all.len() });
    state.audit(&caller.0, "api.hash", detail).await.map_err(HmaError::from)?;
    Ok(out)
}

/// Compares pairs of hashes: `{"pdq": [a, b]}` → `{"pdq": [matched, {"distance": n}]}`.
pub async fn compare(
    caller: HmaCaller,
    State(state): State<Arc<AppState>>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<BTreeMap<String, Value>>, HmaError> {
    let Json(body) = body.map_err(|e| HmaError::bad_request(e.body_text()))?;
    let Value::Object(pairs) = body else {
        return Err(HmaError::bad_request("Request input was not a dict"));
    };
    let mut out = BTreeMap::new();
    for (name, pair) in pairs {
        let Value::Array(pair) = pair else {
            return Err(HmaError::bad_request(format!("Comparison hashes for {name} was not a list")));
        };
        let [Value::String(a), Value::String(b)] = pair.as_slice() else {
            return Err(HmaError::bad_request("Comparison hash list length must be exactly 2"));
        };
        let signal = HmaSignal::parse(&name)?;
        let (qa, qb) = (signal.query(a)?, signal.query(b)?);
        if signal == HmaSignal::Vpdq {
            // python-threatexchange's rule and its similarity info: the two match percentages.
            let frames = |q: &hashline_lists::Query| q.vpdq.iter().map(|f| f.frame).collect::<Vec<_>>();
            let c = hashline_hash::vpdq::compare(&frames(&qa), &frames(&qb), &Default::default());
            let info = serde_json::json!({
                "query_match_percent": c.query_percent,
                "compared_match_percent": c.compared_percent,
            });
            out.insert(name, serde_json::json!([c.is_match, info]));
            continue;
        }
        let (matched, distance) = match (qa.pdq, qb.pdq) {
            // PDQ: python-threatexchange's rule, a match within 31 bits inclusive.
            (Some((x, _)), Some((y, _))) => {
                let d = x.distance(&y);
                (d <= 31, d)
            }
            // Digests match when equal (distance 0), else distance 1.
            _ => {
                let same = qa.md5 == qb.md5 && qa.sha1 == qb.sha1 && qa.sha256 == qb.sha256;
                (same, u32::from(!same))
            }
        };
        out.insert(name, serde_json::json!([matched, { "distance": distance }]));
    }
    state.audit(&caller.0, "api.match", serde_json::json!({ "hma": "compare", "pairs": out.len() })).await?;
    Ok(Json(out))
}

/// `GET /m/index/status`.
#[derive(Debug, Deserialize)]
pub struct IndexStatusQuery {
    signal_type: Option<String>,
}

/// Per signal type: whether lists are loaded, when the index was built, how many entries
/// (of the lists the token sees).
pub async fn index_status(
    State(state): State<Arc<AppState>>,
    caller: HmaCaller,
    q: Result<Query<IndexStatusQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<BTreeMap<String, Value>>, HmaError> {
    let q = query(q)?;
    let only = q.signal_type.as_deref().map(HmaSignal::parse).transpose()?;
    let set = state.lists.snapshot();
    let built = set.built_at.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let loaded = !set.versions().is_empty();
    // Entries per signal of the known lists the token sees (counted when the snapshot was
    // built: one step per list).
    let mut sizes: BTreeMap<String, usize> = BTreeMap::new();
    for (m, counts) in set.summaries() {
        if m.kind == hashline_lists::ListKind::Known && caller.0.token.may_see(&m.name) {
            for (signal, n) in counts {
                *sizes.entry(signal).or_default() += n;
            }
        }
    }
    let mut out = BTreeMap::new();
    for signal in HmaSignal::ALL.into_iter().filter(|s| only.is_none_or(|o| o == *s)) {
        let size = sizes.get(signal.hashline().as_str()).copied().unwrap_or(0);
        let status = if loaded {
            serde_json::json!({ "present": true, "built_to": built, "size": size })
        } else {
            serde_json::json!({ "present": false, "built_to": -1, "size": 0 })
        };
        out.insert(signal.name().to_string(), status);
    }
    Ok(Json(out))
}
