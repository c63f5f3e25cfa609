//! `/h/hash`: the hashes of an upload (multipart `photo` or `video`) or of media at a URL, by
//! HMA signal type; and the media reading the lookups share.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Multipart, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use hashline_hash::{FileHashes, PdqOutcome};
use serde::Deserialize;

use super::{query, HmaCaller, HmaError, HmaSignal};
use crate::{AppState, Reservation};

/// HMA's content types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// `photo`: PDQ and digests.
    Photo,
    /// `video`: the file's MD5 (`video_md5`), its vPDQ (`vpdq`) and digests.
    Video,
}

impl Content {
    /// Both, in answer order.
    pub const ALL: [Content; 2] = [Content::Photo, Content::Video];

    /// The HMA name.
    pub fn name(self) -> &'static str {
        match self {
            Content::Photo => "photo",
            Content::Video => "video",
        }
    }

    fn parse(s: &str) -> Result<Content, HmaError> {
        Content::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| HmaError::bad_request(format!("no such content_type: '{s}'")))
    }

    /// The signal types computed for this content, by default.
    pub fn signals(self) -> &'static [HmaSignal] {
        match self {
            Content::Photo => &[HmaSignal::Pdq, HmaSignal::Md5, HmaSignal::Sha256],
            Content::Video => &[HmaSignal::VideoMd5, HmaSignal::Vpdq, HmaSignal::Sha256],
        }
    }

    /// Every signal type that may be asked for with `types=`.
    fn allowed(self) -> &'static [HmaSignal] {
        match self {
            Content::Photo => &[HmaSignal::Pdq, HmaSignal::Md5, HmaSignal::Sha1, HmaSignal::Sha256],
            Content::Video => {
                &[HmaSignal::VideoMd5, HmaSignal::Vpdq, HmaSignal::Md5, HmaSignal::Sha1, HmaSignal::Sha256]
            }
        }
    }
}

/// The signal types to answer: `types=pdq,md5` (HMA's parameter), else the content's defaults.
pub fn signal_types(content: Content, types: Option<&str>) -> Result<Vec<HmaSignal>, HmaError> {
    let Some(types) = types else { return Ok(content.signals().to_vec()) };
    let mut out = Vec::new();
    for name in types.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let s = HmaSignal::parse(name).ok().filter(|s| content.allowed().contains(s)).ok_or_else(|| {
            HmaError::bad_request(format!("signal type '{name}' doesn't exist or is disabled"))
        })?;
        if !out.contains(&s) {
            out.push(s);
        }
    }
    if out.is_empty() {
        return Err(HmaError::bad_request("empty signal type selection"));
    }
    Ok(out)
}

/// The values of `wanted` signal types in `hashes` (PDQ only when the media was a decodable
/// image).
pub fn signals(content: Content, hashes: &FileHashes, wanted: &[HmaSignal]) -> Vec<(HmaSignal, String)> {
    let _ = content;
    wanted
        .iter()
        .filter_map(|&s| {
            let v = match s {
                HmaSignal::Pdq => match &hashes.pdq {
                    PdqOutcome::Hashed { pdq, .. } => pdq.hash.to_hex(),
                    _ => return None,
                },
                HmaSignal::VideoMd5 | HmaSignal::Md5 => hashes.digests.md5_hex(),
                HmaSignal::Sha1 => hashes.digests.sha1_hex(),
                HmaSignal::Sha256 => hashes.digests.sha256_hex(),
                HmaSignal::Vpdq => match &hashes.video {
                    Some(hashline_hash::VideoOutcome::Hashed(v)) => hashline_hash::vpdq::to_signal(&v.frames),
                    _ => return None,
                },
            };
            Some((s, v))
        })
        .collect()
}

/// Reads a multipart upload: exactly one file, in a field named `photo` or `video` (HMA's
/// rule); its memory is reserved from the server's budget before it is read.
pub async fn read_upload(
    state: &AppState,
    headers: &HeaderMap,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(Content, Bytes, Reservation), HmaError> {
    let mut form = form.map_err(|_| HmaError::bad_request("Missing multipart/form-data file upload"))?;
    let permit = crate::api::reserve_body(state, headers).await?;
    let too_large = || HmaError::new(StatusCode::PAYLOAD_TOO_LARGE, "the upload is over the size limit");
    let mut file: Option<(Content, Bytes)> = None;
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
            Err(e) => {
                return Err(HmaError::bad_request(format!(
                    "malformed multipart/form-data: {}",
                    e.body_text()
                )))
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        let content = Content::parse(&name)?;
        if file.is_some() {
            return Err(HmaError::bad_request("Only one file allowed per request"));
        }
        let bytes = field.bytes().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                HmaError::bad_request(format!("malformed multipart/form-data: {}", e.body_text()))
            }
        })?;
        file = Some((content, bytes));
    }
    let (content, bytes) =
        file.ok_or_else(|| HmaError::bad_request("Missing multipart/form-data file upload"))?;
    if bytes.is_empty() {
        return Err(HmaError::bad_request(format!("the {} file is empty", content.name())));
    }
    Ok((content, bytes, permit))
}

/// Fetches media at `url` with the SSRF-safe fetcher and its host allow-list (HMA fetches any
/// URL; hashline only the hosts of `[kafka.fetch] allowed_hosts`). The content type is
/// `content_type` when given, else a photo when the bytes are an image format hashline reads.
pub async fn fetch_url(
    state: &AppState,
    url: &str,
    content_type: Option<&str>,
) -> Result<(Content, Bytes, Reservation), HmaError> {
    let given = content_type.filter(|c| !c.is_empty()).map(Content::parse).transpose()?;
    let max = state.config.max_body_bytes as u64;
    let bytes = hashline_fetch::fetch(url, &state.fetch, max).await.map_err(|e| match e {
        hashline_fetch::FetchError::TooLarge(_) => {
            HmaError::new(StatusCode::PAYLOAD_TOO_LARGE, e.to_string())
        }
        other => HmaError::bad_request(other.to_string()),
    })?;
    let content = match given {
        Some(c) => c,
        None if matches!(hashline_hash::sniff(&bytes), hashline_hash::Sniffed::Image(_)) => Content::Photo,
        None => {
            return Err(HmaError::bad_request(
                "unsupported url ContentType: if you know the expected type, provide it with the content_type query param",
            ))
        }
    };
    let permit = state.reserve(bytes.len() as u64).await?;
    Ok((content, Bytes::from(bytes), permit))
}

/// The engine's examine step on `bytes` (whose memory `permit` holds), within the memory
/// budget; against the lists in force when `with_lists`.
pub async fn examine(
    state: &Arc<AppState>,
    permit: Reservation,
    bytes: Bytes,
    with_lists: bool,
) -> Result<hashline_engine::Examined, HmaError> {
    let lists = if with_lists { state.lists.snapshot() } else { crate::api::no_lists() };
    Ok(crate::api::examine_within_budget(state, permit, bytes, false, lists).await?)
}

/// `GET /h/hash` query parameters.
#[derive(Debug, Deserialize)]
pub struct HashUrl {
    url: Option<String>,
    content_type: Option<String>,
    types: Option<String>,
}

/// `POST /h/hash` query parameters.
#[derive(Debug, Deserialize)]
pub struct HashUpload {
    types: Option<String>,
}

async fn answer(
    state: &Arc<AppState>,
    caller: &HmaCaller,
    (content, bytes, permit): (Content, Bytes, Reservation),
    types: Option<&str>,
) -> Result<Json<BTreeMap<String, String>>, HmaError> {
    let wanted = signal_types(content, types)?;
    let examined = examine(state, permit, bytes, false).await?;
    let out: BTreeMap<String, String> = signals(content, &examined.hashes, &wanted)
        .into_iter()
        .map(|(s, v)| (s.name().to_string(), v))
        .collect();
    let detail =
        serde_json::json!({ "hma": "hash", "bytes": examined.hashes.bytes, "match": false, "matches": 0 });
    state.audit(&caller.0, "api.hash", detail).await?;
    Ok(Json(out))
}

/// Hashes media at `url`: `{signal_type: hash}`.
pub async fn hash_url(
    State(state): State<Arc<AppState>>,
    caller: HmaCaller,
    q: Result<Query<HashUrl>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<BTreeMap<String, String>>, HmaError> {
    let q = query(q)?;
    let url = q.url.filter(|u| !u.is_empty()).ok_or_else(|| HmaError::bad_request("url is required"))?;
    let media = fetch_url(&state, &url, q.content_type.as_deref()).await?;
    answer(&state, &caller, media, q.types.as_deref()).await
}

/// Hashes an uploaded file: `{signal_type: hash}`.
pub async fn hash_upload(
    State(state): State<Arc<AppState>>,
    caller: HmaCaller,
    q: Result<Query<HashUpload>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Json<BTreeMap<String, String>>, HmaError> {
    let q = query(q)?;
    let media = read_upload(&state, &headers, form).await?;
    answer(&state, &caller, media, q.types.as_deref()).await
}
