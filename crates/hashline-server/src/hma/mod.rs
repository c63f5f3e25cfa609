//! HMA-compatible routes: what clients of Meta's Hasher-Matcher-Actioner (HMA 2.0) call for
//! hashing and matching, answered with HMA's shapes and status codes, so an HMA integration
//! switches to hashline by changing its base URL (and adding a token). On with `[server]
//! hma_compat = true` or `hashline serve --hma-compat`; off by default. See
//! `docs/hma-compat.md` for the route table and the differences.
//!
//! Every route is one more thin adapter over the same engine and lists as `/v1/...`: the
//! same API tokens (a token sees only its lists as banks), the same rate limit, the same
//! audit records (`api.match`, `api.hash`) and metrics. Banks are hashline's known-hash lists
//! (allow-lists are not banks); a bank's `bank_content_id` is a stable number per list entry
//! ([`bank_content_id`]).

mod banks;
mod hashing;
mod matching;

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use hashline_hash::PdqHash;
use hashline_lists::{Query, SignalType};
use sha2::Digest;

use crate::{ApiError, AppState, Caller};

/// The HMA routes (prefix-free), for [`crate::app`] when `hma_compat` is on.
pub fn routes() -> Router<Arc<AppState>> {
    let not_here = || axum::routing::any(banks::curation_not_implemented);
    Router::new()
        .route("/status", get(banks::status))
        .route("/site-map", get(banks::site_map))
        .route("/signal_types", get(banks::signal_types))
        .route("/content_types", get(banks::content_types))
        .route("/h/hash", get(hashing::hash_url).post(hashing::hash_upload))
        .route("/m/raw_lookup", get(matching::raw_lookup))
        .route("/m/lookup", get(matching::lookup_get).post(matching::lookup_post))
        .route("/m/compare", post(matching::compare))
        .route("/m/index/status", get(matching::index_status))
        .route("/c/banks", get(banks::banks).post(banks::curation_not_implemented))
        .route(
            "/c/bank/{bank_name}",
            get(banks::bank).put(banks::curation_not_implemented).delete(banks::curation_not_implemented),
        )
        .route("/c/bank/{bank_name}/content", not_here())
        .route("/c/bank/{bank_name}/content/{content_id}", not_here())
        .route("/c/bank/{bank_name}/signal", not_here())
}

/// The routes this server answers with HMA's behaviour (for `/site-map`).
pub const IMPLEMENTED: [&str; 13] = [
    "/status",
    "/site-map",
    "/signal_types",
    "/content_types",
    "/h/hash",
    "/m/raw_lookup",
    "/m/lookup",
    "/m/compare",
    "/m/index/status",
    "/c/banks",
    "/c/bank/<bank_name>",
    "/v1/match",
    "/v1/hash",
];

/// An error in HMA's shape: `{"message": "..."}` with HMA's status.
#[derive(Debug)]
pub struct HmaError {
    status: StatusCode,
    message: String,
    retry_after: Option<u64>,
}

impl HmaError {
    /// 400.
    pub fn bad_request(message: impl Into<String>) -> HmaError {
        HmaError { status: StatusCode::BAD_REQUEST, message: message.into(), retry_after: None }
    }

    /// Any status.
    pub fn new(status: StatusCode, message: impl Into<String>) -> HmaError {
        HmaError { status, message: message.into(), retry_after: None }
    }
}

impl From<ApiError> for HmaError {
    fn from(e: ApiError) -> HmaError {
        HmaError { status: e.status(), message: e.message().to_string(), retry_after: e.retry_after() }
    }
}

impl IntoResponse for HmaError {
    fn into_response(self) -> Response {
        let mut resp =
            (self.status, axum::Json(serde_json::json!({ "message": self.message }))).into_response();
        if let Some(s) = self.retry_after.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
            resp.headers_mut().insert(header::RETRY_AFTER, s);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

/// The query parameters of a request, or HMA's 400 saying what is wrong with them.
fn query<T>(
    q: Result<axum::extract::Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, HmaError> {
    q.map(|axum::extract::Query(q)| q).map_err(|e| HmaError::bad_request(e.body_text()))
}

/// A caller of the HMA routes: a hashline match token (`Authorization: Bearer ...`), rate
/// limited like every API call; refusals in HMA's error shape.
pub struct HmaCaller(pub Caller);

impl FromRequestParts<Arc<AppState>> for HmaCaller {
    type Rejection = HmaError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        Caller::from_request_parts(parts, state).await.map(HmaCaller).map_err(HmaError::from)
    }
}

/// A signal type by its HMA (python-threatexchange) name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HmaSignal {
    /// `pdq`: PDQ of a photo.
    Pdq,
    /// `video_md5`: MD5 of a video file's bytes (hashline's `md5` entries).
    VideoMd5,
    /// `md5`: MD5 of any file (hashline's `md5`; not an HMA default).
    Md5,
    /// `sha1` (hashline's; not an HMA default).
    Sha1,
    /// `sha256` (hashline's; not an HMA default).
    Sha256,
    /// `vpdq`: a video's frame hashes, python-threatexchange's `VPDQSignal` string (a JSON
    /// array of `"pdq_hex,quality,timestamp"`).
    Vpdq,
}

impl HmaSignal {
    /// Every signal type, in the order answers list them.
    pub const ALL: [HmaSignal; 6] = [
        HmaSignal::Pdq,
        HmaSignal::VideoMd5,
        HmaSignal::Vpdq,
        HmaSignal::Md5,
        HmaSignal::Sha1,
        HmaSignal::Sha256,
    ];

    /// The HMA name.
    pub fn name(self) -> &'static str {
        match self {
            HmaSignal::Pdq => "pdq",
            HmaSignal::VideoMd5 => "video_md5",
            HmaSignal::Md5 => "md5",
            HmaSignal::Sha1 => "sha1",
            HmaSignal::Sha256 => "sha256",
            HmaSignal::Vpdq => "vpdq",
        }
    }

    /// The signal type named `name`, or HMA's 400.
    pub fn parse(name: &str) -> Result<HmaSignal, HmaError> {
        HmaSignal::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| HmaError::bad_request(format!("No such SignalType '{name}'")))
    }

    /// The hashline signal its entries are.
    pub fn hashline(self) -> SignalType {
        match self {
            HmaSignal::Pdq => SignalType::Pdq,
            HmaSignal::VideoMd5 | HmaSignal::Md5 => SignalType::Md5,
            HmaSignal::Sha1 => SignalType::Sha1,
            HmaSignal::Sha256 => SignalType::Sha256,
            HmaSignal::Vpdq => SignalType::Vpdq,
        }
    }

    /// A lookup of `value` (hex), or HMA's 400 for a malformed one.
    pub fn query(self, value: &str) -> Result<Query, HmaError> {
        let bad = |what: &str| HmaError::bad_request(format!("invalid signal: {what}"));
        if self == HmaSignal::Vpdq {
            let frames = hashline_hash::vpdq::parse_signal(value).map_err(|e| bad(&e.to_string()))?;
            let vpdq = frames
                .into_iter()
                .map(|frame| hashline_lists::QueryFrame { frame, dihedral: None })
                .collect();
            return Ok(Query { vpdq, ..Query::default() });
        }
        let v = value.trim().to_ascii_lowercase();
        let digest = |n: usize| -> Result<Vec<u8>, HmaError> {
            if v.len() != n * 2 {
                return Err(bad(&format!("a {} is {} hex digits, not {}", self.name(), n * 2, v.len())));
            }
            hex::decode(&v).map_err(|_| bad("not hexadecimal"))
        };
        let mut q = Query::default();
        match self {
            HmaSignal::Pdq => {
                digest(32)?;
                // A hash-only caller has no quality; a list's quality floor cannot apply.
                q.pdq = Some((v.parse::<PdqHash>().map_err(|_| bad("not a PDQ hash"))?, 100));
            }
            HmaSignal::VideoMd5 | HmaSignal::Md5 => q.md5 = digest(16)?.try_into().ok(),
            HmaSignal::Sha1 => q.sha1 = digest(20)?.try_into().ok(),
            HmaSignal::Sha256 => q.sha256 = digest(32)?.try_into().ok(),
            HmaSignal::Vpdq => {} // parsed above, before the hexadecimal forms
        }
        Ok(q)
    }
}

/// The `bank_content_id` of entry `entry` of list `list`: the first 53 bits of
/// SHA-256(`list` NUL `entry`), so it fits a JSON number exactly in every client language.
/// Entry ids are stable across list versions, so the number survives list updates; two entries
/// share one with probability about n²/2⁵⁴ (for 100 million entries, about 3 in 10,000).
pub fn bank_content_id(list: &str, entry: &str) -> u64 {
    let mut h = sha2::Sha256::new();
    h.update(list.as_bytes());
    h.update([0]);
    h.update(entry.as_bytes());
    let d = h.finalize();
    u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]) >> 11
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bank_content_ids_are_stable_json_safe_and_distinct() {
        let a = bank_content_id("ncmec-sample", "e-1");
        assert_eq!(a, bank_content_id("ncmec-sample", "e-1"), "the same entry, the same id");
        assert_ne!(a, bank_content_id("ncmec-sample", "e-2"));
        assert_ne!(bank_content_id("ab", "c"), bank_content_id("a", "bc"), "list and entry are separated");
        assert!(a < 1 << 53, "exact as a JSON number");
    }

    #[test]
    fn signal_names_follow_pytx_and_bad_values_are_400() {
        assert_eq!(HmaSignal::parse("video_md5").unwrap().hashline(), SignalType::Md5);
        assert_eq!(HmaSignal::parse("tmk").unwrap_err().status, StatusCode::BAD_REQUEST);
        assert!(HmaSignal::Pdq.query(&"ab".repeat(32)).unwrap().pdq.is_some());
        for bad in ["", "zz", &"a".repeat(63), &"g".repeat(64)] {
            assert_eq!(HmaSignal::Pdq.query(bad).unwrap_err().status, StatusCode::BAD_REQUEST, "{bad:?}");
        }
        assert!(HmaSignal::Md5.query(&"0".repeat(32)).unwrap().md5.is_some());
        assert!(HmaSignal::Sha256.query(&"0".repeat(32)).is_err());
    }
}
