//! The match API: `POST /v1/match`, `POST /v1/hash`, `GET /v1/lists`.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use hashline_hash::{FileHashes, HashOptions, PdqHash, PdqOutcome, VideoOutcome};

pub use crate::api_video::{ApiFrame, ApiMatchedFrame, ApiVideo, ApiVideoMatch};
use hashline_lists::{ListSet, Match};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;
use crate::{AppState, Caller};

/// Hashes to look up. Every field is optional; at most `max_batch` values in all.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchRequest {
    /// PDQ hashes, 64 hex digits each.
    #[serde(default)]
    #[schema(example = json!(["f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"]))]
    pub pdq: Vec<String>,
    /// MD5 digests, 32 hex digits each.
    #[serde(default)]
    pub md5: Vec<String>,
    /// SHA-1 digests, 40 hex digits each.
    #[serde(default)]
    pub sha1: Vec<String>,
    /// SHA-256 digests, 64 hex digits each.
    #[serde(default)]
    pub sha256: Vec<String>,
}

/// One match, with its provenance.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ApiMatch {
    /// List name.
    pub list: String,
    /// List version that matched.
    pub list_version: u64,
    /// The list's publisher.
    pub source: String,
    /// The entry's id in the list.
    pub entry_id: String,
    /// Signal type matched: pdq, vpdq, md5, sha1, sha256.
    pub signal: String,
    /// The entry's classification (A1, A2, B1, B2, IWF-A ...), if the list gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification: Option<String>,
    /// Hamming distance for PDQ, 0 for digests.
    pub distance: u32,
    /// For PDQ from `/v1/hash?dihedral=true`: which rotation or mirror of the media matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dihedral: Option<String>,
    /// For PDQ from `/v1/hash`: present when the picture inside the media's borders matched
    /// (letterbox bars, a frame or padding removed), with the box kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub border_trimmed: Option<KeptBox>,
    /// For PDQ: true when the hash python-threatexchange / HMA computes for this picture
    /// matched (palette PNGs, GIFs and CMYK JPEGs, which it reads differently).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pytx_conversion: bool,
    /// For a video: how it matched a listed video (`vpdq`) or a listed picture shown in it
    /// (`pdq`), with the matching frames' timestamps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<ApiVideoMatch>,
}

/// The part of a picture kept after its borders were trimmed, in the media's pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct KeptBox {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width kept.
    pub width: u32,
    /// Height kept.
    pub height: u32,
}

impl From<&Match> for ApiMatch {
    fn from(m: &Match) -> Self {
        ApiMatch {
            list: m.list.clone(),
            list_version: m.list_version,
            source: m.source.clone(),
            entry_id: m.entry_id.clone(),
            signal: m.signal.to_string(),
            classification: m.classification.clone(),
            distance: m.distance,
            dihedral: m.dihedral.map(|d| d.as_str().to_string()),
            border_trimmed: m.border_trimmed.map(|b| KeptBox {
                x: b.x,
                y: b.y,
                width: b.width,
                height: b.height,
            }),
            pytx_conversion: m.pytx_conversion,
            video: m.video.as_ref().map(ApiVideoMatch::from),
        }
    }
}

/// The result for one input hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct MatchResult {
    /// Signal type of the input.
    pub signal: String,
    /// The input value (lower-cased).
    pub value: String,
    /// Every match on a list the token may see (empty: no match).
    pub matches: Vec<ApiMatch>,
}

/// Results in input order: all pdq, then md5, sha1, sha256.
#[derive(Debug, Serialize, ToSchema)]
pub struct MatchResponse {
    /// One result per input hash.
    pub results: Vec<MatchResult>,
    /// List versions the answer was computed against.
    pub lists: Vec<ListVersion>,
}

/// A list name and version.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListVersion {
    /// Name.
    pub name: String,
    /// Version.
    pub version: u64,
}

fn parse_hex<const N: usize>(field: &str, i: usize, v: &str) -> Result<[u8; N], ApiError> {
    let v = v.trim();
    if v.len() != N * 2 {
        return Err(ApiError::bad_request(
            "wrong_length",
            format!("{field}[{i}] has {} characters; a {field} value is {} hex digits", v.len(), N * 2),
        ));
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(v, &mut out).map_err(|_| {
        ApiError::bad_request("malformed_hex", format!("{field}[{i}] is not hexadecimal (0-9, a-f)"))
    })?;
    Ok(out)
}

fn visible(m: &[Match], caller: &Caller) -> Vec<ApiMatch> {
    m.iter().filter(|m| caller.token.may_see(&m.list)).map(ApiMatch::from).collect()
}

fn versions(set: &ListSet, caller: &Caller) -> Vec<ListVersion> {
    set.versions()
        .into_iter()
        .filter(|(n, _)| caller.token.may_see(n))
        .map(|(name, version)| ListVersion { name, version })
        .collect()
}

fn count_matches(results: &[MatchResult]) {
    let m = hashline_metrics::global();
    for r in results {
        for x in &r.matches {
            m.matches_total.with_label_values(&[x.list.as_str(), x.signal.as_str()]).inc();
        }
    }
}

/// Look up hashes.
#[utoipa::path(
    post, path = "/v1/match", tag = "match",
    request_body = MatchRequest,
    responses(
        (status = 200, description = "Matches per input hash", body = MatchResponse),
        (status = 400, description = "Malformed JSON, hex or length", body = crate::error::ErrorBody),
        (status = 401, description = "Missing or unknown token", body = crate::error::ErrorBody),
        (status = 413, description = "Batch or body too large", body = crate::error::ErrorBody),
        (status = 415, description = "Body is not JSON", body = crate::error::ErrorBody),
        (status = 429, description = "Rate limit; see Retry-After", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn post_match(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    body: Result<Json<MatchRequest>, JsonRejection>,
) -> Result<Json<MatchResponse>, ApiError> {
    let Json(req) = body.map_err(ApiError::from_json)?;
    let n = req.pdq.len() + req.md5.len() + req.sha1.len() + req.sha256.len();
    if n > state.config.max_batch {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!("{n} hashes in one request; the limit is {}", state.config.max_batch),
        ));
    }
    if n == 0 {
        return Err(ApiError::bad_request(
            "empty_batch",
            "give at least one of pdq, md5, sha1, sha256".into(),
        ));
    }
    // Validate everything before matching anything: one bad value fails the request.
    let pdq: Vec<PdqHash> = req
        .pdq
        .iter()
        .enumerate()
        .map(|(i, v)| parse_hex::<32>("pdq", i, v).map(|_| v.trim().parse::<PdqHash>()))
        .map(|r| r.and_then(|p| p.map_err(|_| ApiError::bad_request("malformed_hex", "bad pdq".into()))))
        .collect::<Result<_, _>>()?;
    let md5: Vec<[u8; 16]> =
        req.md5.iter().enumerate().map(|(i, v)| parse_hex("md5", i, v)).collect::<Result<_, _>>()?;
    let sha1: Vec<[u8; 20]> =
        req.sha1.iter().enumerate().map(|(i, v)| parse_hex("sha1", i, v)).collect::<Result<_, _>>()?;
    let sha256: Vec<[u8; 32]> =
        req.sha256.iter().enumerate().map(|(i, v)| parse_hex("sha256", i, v)).collect::<Result<_, _>>()?;
    let set = state.lists.snapshot();
    let counts = [pdq.len(), md5.len(), sha1.len(), sha256.len()];
    // Matching a large batch is CPU work: on the pool, not the async runtime.
    let set2 = Arc::clone(&set);
    let outcomes = state
        .cpu(move || {
            let mut out: Vec<(String, String, Vec<Match>)> = Vec::with_capacity(n);
            let q = |q: hashline_lists::Query| set2.match_query(&q).matches;
            for h in pdq {
                // A hash-only caller has no quality; the list's quality floor cannot apply.
                let m = q(hashline_lists::Query { pdq: Some((h, 100)), ..Default::default() });
                out.push(("pdq".into(), h.to_hex(), m));
            }
            for d in md5 {
                out.push((
                    "md5".into(),
                    hex::encode(d),
                    q(hashline_lists::Query { md5: Some(d), ..Default::default() }),
                ));
            }
            for d in sha1 {
                out.push((
                    "sha1".into(),
                    hex::encode(d),
                    q(hashline_lists::Query { sha1: Some(d), ..Default::default() }),
                ));
            }
            for d in sha256 {
                let m = q(hashline_lists::Query { sha256: Some(d), ..Default::default() });
                out.push(("sha256".into(), hex::encode(d), m));
            }
            out
        })
        .await?;
    let results: Vec<MatchResult> = outcomes
        .into_iter()
        .map(|(signal, value, m)| MatchResult { signal, value, matches: visible(&m, &caller) })
        .collect();
    count_matches(&results);
    let matched = results.iter().filter(|r| !r.matches.is_empty()).count();
    state.audit(
        &caller,
        "api.match",
        serde_json::json!({"pdq": counts[0], "md5": counts[1], "sha1": counts[2], "sha256": counts[3], "matched": matched}),
    )
    .await?;
    Ok(Json(MatchResponse { results, lists: versions(&set, &caller) }))
}

/// Options of `/v1/hash`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HashParams {
    /// Also match the hashes against the lists the token may see.
    #[serde(default, rename = "match")]
    pub match_: bool,
    /// Also compute the 8 dihedral PDQ hashes (and match rotated or mirrored copies).
    #[serde(default)]
    pub dihedral: bool,
}

/// Hashes (and optionally matches) of one media file.
#[derive(Debug, Serialize, ToSchema)]
pub struct HashResponse {
    /// Size in bytes.
    pub bytes: u64,
    /// MD5, hex.
    pub md5: String,
    /// SHA-1, hex.
    pub sha1: String,
    /// SHA-256, hex.
    pub sha256: String,
    /// PDQ, hex, when the media is a decodable image.
    pub pdq: Option<String>,
    /// PDQ quality 0–100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quality: Option<u8>,
    /// The 8 dihedral PDQ hashes (original, rotate90, rotate180, rotate270, flip_x, flip_y,
    /// flip_plus1, flip_minus1), with `dihedral=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdq_dihedral: Option<Vec<String>>,
    /// Image width.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Image height.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Image format (jpeg, png, gif, webp, bmp, tiff).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Why there is no PDQ: not an image (digests still match), or the image could not be
    /// decoded or broke a limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdq_skipped: Option<String>,
    /// For a video: its vPDQ (frames hashed at `[video] seconds_per_hash`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<ApiVideo>,
    /// For a video that could not be hashed: why (a limit, a broken file, a decoder failure).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_skipped: Option<String>,
    /// With `match=true`: every match on a list the token may see.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matches: Option<Vec<ApiMatch>>,
}

fn hash_response(h: &FileHashes) -> HashResponse {
    let mut r = HashResponse {
        bytes: h.bytes,
        md5: h.digests.md5_hex(),
        sha1: h.digests.sha1_hex(),
        sha256: h.digests.sha256_hex(),
        pdq: None,
        quality: None,
        pdq_dihedral: None,
        width: None,
        height: None,
        format: None,
        pdq_skipped: None,
        video: None,
        video_skipped: None,
        matches: None,
    };
    match &h.pdq {
        PdqOutcome::Hashed { pdq, width, height, format, .. } => {
            r.pdq = Some(pdq.hash.to_hex());
            r.quality = Some(pdq.quality);
            r.pdq_dihedral = pdq.dihedral.map(|d| d.iter().map(PdqHash::to_hex).collect());
            r.width = Some(*width);
            r.height = Some(*height);
            r.format = Some(format.as_str().into());
        }
        PdqOutcome::Skipped(why) => r.pdq_skipped = Some((*why).into()),
        PdqOutcome::Failed { error, .. } => r.pdq_skipped = Some(error.to_string()),
    }
    match &h.video {
        Some(VideoOutcome::Hashed(v)) => r.video = Some(ApiVideo::from(v.as_ref())),
        Some(VideoOutcome::Failed { reason, .. }) => r.video_skipped = Some(reason.clone()),
        None => {}
    }
    r
}

/// An empty list set, for hashing without matching.
pub(crate) fn no_lists() -> Arc<hashline_lists::ListSet> {
    static EMPTY: std::sync::OnceLock<Arc<hashline_lists::ListSet>> = std::sync::OnceLock::new();
    Arc::clone(EMPTY.get_or_init(|| Arc::new(hashline_lists::ListSet::empty())))
}

/// Hash (and match) one media file.
///
/// The body is the raw media (`Content-Type: application/octet-stream`, `image/*` or
/// `video/*`), at most the configured size. Every file gets its digests; images also get PDQ.
#[utoipa::path(
    post, path = "/v1/hash", tag = "match",
    params(HashParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The media bytes"),
    responses(
        (status = 200, description = "Hashes (and matches)", body = HashResponse),
        (status = 400, description = "Empty body or bad query", body = crate::error::ErrorBody),
        (status = 401, description = "Missing or unknown token", body = crate::error::ErrorBody),
        (status = 413, description = "Body too large", body = crate::error::ErrorBody),
        (status = 415, description = "Content type is not media", body = crate::error::ErrorBody),
        (status = 429, description = "Rate limit; see Retry-After", body = crate::error::ErrorBody),
        (status = 503, description = "The request needs more memory than the server's whole budget", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn post_hash(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    params: Result<Query<HashParams>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Json<HashResponse>, ApiError> {
    let Query(params) = params.map_err(|e| {
        ApiError::bad_request(
            "bad_query",
            format!("{}; use match=true|false, dihedral=true|false", e.body_text()),
        )
    })?;
    let ct = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let ct_main = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if !(ct_main == "application/octet-stream"
        || ct_main.starts_with("image/")
        || ct_main.starts_with("video/"))
    {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "Content-Type {ct:?}: send the raw media as application/octet-stream, image/* or video/*"
            ),
        ));
    }
    let body_permit = reserve_body(&state, &headers).await?;
    let body = axum::body::to_bytes(body, state.config.max_body_bytes).await.map_err(|_| too_large())?;
    if body.is_empty() {
        return Err(ApiError::bad_request("empty_body", "the body is empty; send the media bytes".into()));
    }
    // The shared examine step; without match=true, against no lists (nothing is matched or
    // counted as a match).
    let lists = if params.match_ { state.lists.snapshot() } else { no_lists() };
    let examined = examine_within_budget(&state, body_permit, body, params.dihedral, lists).await?;
    let hashes = &examined.hashes;
    let mut resp = hash_response(hashes);
    let mut matched = 0;
    if params.match_ {
        let v = visible(&examined.outcome.matches, &caller);
        matched = v.len();
        resp.matches = Some(v);
    }
    state
        .audit(
            &caller,
            "api.hash",
            serde_json::json!({"bytes": hashes.bytes, "match": params.match_, "matches": matched}),
        )
        .await?;
    Ok(Json(resp))
}

/// Reserves memory for a request body before it is read: its declared length, or the limit
/// when it declares none (or the whole budget when that is smaller: it then waits until it is
/// alone). All or nothing, so two half-read bodies can never wait on each other. A declared
/// length over the limit is refused at once.
pub(crate) async fn reserve_body(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<crate::Reservation, ApiError> {
    let limit = state.config.max_body_bytes as u64;
    let declared =
        headers.get(axum::http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let budget = state.config.memory_budget_mib.saturating_mul(1 << 20);
    state.reserve(declared.unwrap_or(limit.min(budget))).await
}

/// Examines media already read (`body_permit` holds its memory) within the memory budget: the
/// image's decode estimate from its header is reserved with the bytes before decoding, on the
/// CPU pool, against `lists`.
pub(crate) async fn examine_within_budget(
    state: &AppState,
    body_permit: crate::Reservation,
    body: axum::body::Bytes,
    dihedral: bool,
    lists: Arc<ListSet>,
) -> Result<hashline_engine::Examined, ApiError> {
    let mut options = HashOptions { dihedral, ..state.hash };
    options.limits.max_pixels = options.limits.max_pixels.min(state.config.api_max_pixels);
    let settings = hashline_engine::Settings { hash: options, video: state.video.clone() };
    let decode = match hashline_hash::claimed_dimensions(&body) {
        Some((w, h)) if options.limits.check(w, h).is_ok() => hashline_hash::decode_memory_estimate(w, h),
        // A video: its largest frames, hashed here (FFmpeg decodes in its own process).
        None if settings.video.enabled && hashline_hash::is_video(&body) => {
            hashline_video::memory_estimate(&settings.video.limits)
        }
        // Not an image, or refused from its header: nothing big is allocated.
        _ => 0,
    };
    // One reservation for body and decode together (never holding one while waiting for the
    // other, so two large requests cannot wait on each other forever).
    drop(body_permit);
    let permit = state.reserve(body.len() as u64 + decode).await?;
    let examined = state.cpu(move || hashline_engine::examine_bytes(&settings, &lists, &body)).await?;
    drop(permit);
    examined.map_err(|e| ApiError::internal(&e.to_string()))
}

fn too_large() -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "the body is over the size limit".into())
}

/// One list the token may see (no hash values).
#[derive(Debug, Serialize, ToSchema)]
pub struct ListInfo {
    /// Name.
    pub name: String,
    /// Publisher.
    pub source: String,
    /// Version in force.
    pub version: u64,
    /// `known` or `allow`.
    pub kind: String,
    /// When this version was imported (RFC 3339).
    pub updated_at: String,
    /// Entries in force by signal type.
    pub entries: std::collections::BTreeMap<String, usize>,
}

/// The lists the token may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListsResponse {
    /// Lists, by name.
    pub lists: Vec<ListInfo>,
}

/// Lists the token may see: names, sources, versions, entry counts, last update.
#[utoipa::path(
    get, path = "/v1/lists", tag = "match",
    responses(
        (status = 200, description = "Lists", body = ListsResponse),
        (status = 401, description = "Missing or unknown token", body = crate::error::ErrorBody),
        (status = 429, description = "Rate limit; see Retry-After", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_lists(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<ListsResponse>, ApiError> {
    let set = state.lists.snapshot();
    let lists = set
        .summaries()
        .into_iter()
        .filter(|(m, _)| caller.token.may_see(&m.name))
        .map(|(m, entries)| ListInfo {
            name: m.name.clone(),
            source: m.source.clone(),
            version: m.version,
            kind: format!("{:?}", m.kind).to_lowercase(),
            updated_at: m.fetched_at.clone(),
            entries,
        })
        .collect();
    state.audit(&caller, "api.lists", serde_json::json!({})).await?;
    Ok(Json(ListsResponse { lists }))
}
