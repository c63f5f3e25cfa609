//! The producer contract: what platforms put on `hashline.uploads`, and what hashline puts on
//! `hashline.matches` and `hashline.dead-letter`. A public interface: documented in
//! `docs/kafka.md`; changes are additive or get a new version.
//!
//! An upload record: value = the raw media bytes; headers (UTF-8 values):
//!
//! | header | |
//! |---|---|
//! | `hashline-upload-id` | required, 1–128 bytes, unique per upload |
//! | `hashline-platform` | platform or service name |
//! | `hashline-uploaded-at` | RFC 3339 time the platform received it |
//! | `hashline-uploader-id` | the platform's account id |
//! | `hashline-uploader-ip` | the uploader's IP address at upload |
//! | `hashline-file-name` | file name as uploaded |
//! | `hashline-content-type` | declared MIME type |
//! | `hashline-source-url` | where it was published |
//! | `hashline-media-url` | for media too large for a record: fetch from here (value empty) |

use serde::{Deserialize, Serialize};

/// Header names.
pub mod header {
    /// Required upload id.
    pub const UPLOAD_ID: &str = "hashline-upload-id";
    /// Platform.
    pub const PLATFORM: &str = "hashline-platform";
    /// Upload time.
    pub const UPLOADED_AT: &str = "hashline-uploaded-at";
    /// Uploader account id.
    pub const UPLOADER_ID: &str = "hashline-uploader-id";
    /// Uploader IP.
    pub const UPLOADER_IP: &str = "hashline-uploader-ip";
    /// File name.
    pub const FILE_NAME: &str = "hashline-file-name";
    /// Content type.
    pub const CONTENT_TYPE: &str = "hashline-content-type";
    /// Source URL.
    pub const SOURCE_URL: &str = "hashline-source-url";
    /// Media URL (large media).
    pub const MEDIA_URL: &str = "hashline-media-url";
    /// Added to dead letters: why.
    pub const ERROR: &str = "hashline-error";
    /// Added to dead letters: where the record came from (`topic/partition/offset`).
    pub const ORIGIN: &str = "hashline-origin";
}

/// Largest upload id, in bytes.
pub const MAX_UPLOAD_ID: usize = 128;

/// An upload's metadata, from its headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Upload {
    /// Upload id.
    pub id: String,
    /// Platform.
    pub platform: Option<String>,
    /// Upload time (RFC 3339).
    pub uploaded_at: Option<String>,
    /// Uploader account id.
    pub uploader_id: Option<String>,
    /// Uploader IP.
    pub uploader_ip: Option<String>,
    /// File name.
    pub file_name: Option<String>,
    /// Content type.
    pub content_type: Option<String>,
    /// Source URL.
    pub source_url: Option<String>,
    /// Media URL.
    pub media_url: Option<String>,
}

/// Why a record cannot be processed at all (it goes to the dead-letter topic).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    /// No upload id.
    #[error("missing header hashline-upload-id (required; unique per upload)")]
    MissingUploadId,
    /// Upload id too long or empty.
    #[error("header hashline-upload-id is {0} bytes; it must be 1–128")]
    BadUploadId(usize),
    /// A header is not UTF-8.
    #[error("header {0} is not UTF-8")]
    NotUtf8(String),
    /// Neither bytes nor a URL.
    #[error("the record has no media: an empty value and no hashline-media-url header")]
    NoMedia,
    /// A media URL with media bytes too.
    #[error("the record has both media bytes and hashline-media-url; send one")]
    BothMedia,
    /// Media over the size limit.
    #[error("the media is {0} bytes, over the limit of {1}")]
    TooLarge(u64, u64),
}

impl ContractError {
    /// A short label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            ContractError::MissingUploadId | ContractError::BadUploadId(_) => "upload_id",
            ContractError::NotUtf8(_) => "header_encoding",
            ContractError::NoMedia | ContractError::BothMedia => "no_media",
            ContractError::TooLarge(..) => "too_large",
        }
    }
}

impl Upload {
    /// Reads the headers (name, value) of a record with a value of `value_len` bytes.
    pub fn from_headers<'a>(
        headers: impl IntoIterator<Item = (&'a str, Option<&'a [u8]>)>,
        value_len: usize,
    ) -> Result<Upload, ContractError> {
        let mut u = Upload::default();
        let mut id = None;
        for (name, value) in headers {
            let Some(v) = value else { continue };
            let slot = match name {
                header::UPLOAD_ID => {
                    if v.is_empty() || v.len() > MAX_UPLOAD_ID {
                        return Err(ContractError::BadUploadId(v.len()));
                    }
                    &mut id
                }
                header::PLATFORM => &mut u.platform,
                header::UPLOADED_AT => &mut u.uploaded_at,
                header::UPLOADER_ID => &mut u.uploader_id,
                header::UPLOADER_IP => &mut u.uploader_ip,
                header::FILE_NAME => &mut u.file_name,
                header::CONTENT_TYPE => &mut u.content_type,
                header::SOURCE_URL => &mut u.source_url,
                header::MEDIA_URL => &mut u.media_url,
                _ => continue,
            };
            let s = std::str::from_utf8(v).map_err(|_| ContractError::NotUtf8(name.to_string()))?;
            *slot = Some(s.to_string());
        }
        u.id = id.ok_or(ContractError::MissingUploadId)?;
        match (value_len, &u.media_url) {
            (0, None) => return Err(ContractError::NoMedia),
            (n, Some(_)) if n > 0 => return Err(ContractError::BothMedia),
            _ => {}
        }
        Ok(u)
    }
}

/// The event produced to `hashline.matches` for every matched upload, keyed by upload id
/// (`hashline.match-event/1`). The report itself (with the same idempotency key) is in the
/// outbox of the instance that matched; the event lets other systems (a central reporter, the
/// platform) act on the match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchEvent {
    /// Always `hashline.match-event/1`.
    #[schemars(regex(pattern = r"^hashline\.match-event/1$"))]
    pub schema: String,
    /// The full report as committed to the outbox (or as it would be, for a duplicate).
    pub report: hashline_report::Report,
    /// Whether the report waits for an analyst (`review`) or goes out (`pending`), or was
    /// already reported (`duplicate`).
    pub disposition: hashline_report::Disposition,
    /// Where the upload came from: `topic/partition/offset`.
    pub origin: String,
}

/// The JSON Schema of [`MatchEvent`] (committed as `schemas/hashline.match-event-1.schema.json`).
pub fn match_event_schema() -> serde_json::Value {
    let mut s = serde_json::to_value(schemars::schema_for!(MatchEvent)).unwrap_or_default();
    if let Some(o) = s.as_object_mut() {
        o.insert("$id".into(), "https://hashline.dev/schemas/hashline.match-event-1.schema.json".into());
        o.insert("title".into(), MATCH_EVENT_SCHEMA.into());
    }
    s
}

/// The schema id of [`MatchEvent`].
pub const MATCH_EVENT_SCHEMA: &str = "hashline.match-event/1";

/// The Kafka header carrying a match event's MAC: HMAC-SHA-256 of the payload under the relay
/// key, hex.
pub const MAC_HEADER: &str = "hashline-mac";

/// The MAC of a match event's payload.
pub fn event_mac(key: &[u8; 32], payload: &[u8]) -> String {
    hex::encode(hashline_report::mac::hmac_sha256(key, payload))
}

/// Why the central reporter did not take a record from the match topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// No `hashline-mac` header.
    #[error("no hashline-mac header: not from a hashline scanner with the relay key")]
    NoMac,
    /// The MAC does not verify.
    #[error("its hashline-mac does not verify with the relay key: forged, altered, or another key")]
    BadMac,
    /// Not a `hashline.match-event/1` (an unknown disposition included).
    #[error("not a hashline.match-event/1")]
    NotAnEvent,
}

impl Rejected {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Rejected::NoMac => "no_mac",
            Rejected::BadMac => "bad_mac",
            Rejected::NotAnEvent => "not_an_event",
        }
    }
}

/// What the central reporter does with one record of the match topic: authenticate it with
/// `key` (before reading it at all), parse it, and return the report and the state it enters
/// the outbox in, or `None` for a duplicate (reported before; nothing to do).
pub fn accept_event(
    payload: &[u8],
    mac: Option<&[u8]>,
    key: &[u8; 32],
) -> Result<Option<(hashline_report::Report, hashline_report::State)>, Rejected> {
    let mac = mac.ok_or(Rejected::NoMac)?;
    let expected = event_mac(key, payload);
    if !hashline_report::mac::same(mac, expected.as_bytes()) {
        return Err(Rejected::BadMac);
    }
    let e: MatchEvent = serde_json::from_slice(payload).map_err(|_| Rejected::NotAnEvent)?;
    if e.schema != MATCH_EVENT_SCHEMA {
        return Err(Rejected::NotAnEvent);
    }
    let state = match e.disposition {
        hashline_report::Disposition::Duplicate => return Ok(None),
        hashline_report::Disposition::Review => hashline_report::State::Review,
        hashline_report::Disposition::Pending => hashline_report::State::Pending,
    };
    Ok(Some((e.report, state)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reporter_takes_only_events_with_the_relay_key() {
        let key = [9u8; 32];
        let r = hashline_report::Report {
            report_id: "a".repeat(32),
            idempotency_key: "b".repeat(64),
            ..serde_json::from_value(serde_json::json!({
                "schema": "hashline.report/1", "report_id": "", "idempotency_key": "", "created_at": "t",
                "reporter": {"organisation": "o", "contact": "c", "country": "KH"},
                "incident": {"upload_id": "u", "detected_at": "t", "channel": "kafka"},
                "file": {"size": 1, "md5": "0".repeat(32), "sha1": "0".repeat(40), "sha256": "0".repeat(64)},
                "matches": [], "assessment": {"age_group": "unknown", "media_type": "image"},
                "review": {"state": "pending_review", "rule": "r"}
            }))
            .unwrap()
        };
        let event = |disposition: &str| {
            let mut v = serde_json::to_value(MatchEvent {
                schema: MATCH_EVENT_SCHEMA.into(),
                report: r.clone(),
                disposition: hashline_report::Disposition::Pending,
                origin: "t/0/1".into(),
            })
            .unwrap();
            v["disposition"] = disposition.into();
            serde_json::to_vec(&v).unwrap()
        };
        let payload = event("review");
        let mac = event_mac(&key, &payload);
        let (got, state) = accept_event(&payload, Some(mac.as_bytes()), &key).unwrap().unwrap();
        assert_eq!((got.report_id.as_str(), state), (r.report_id.as_str(), hashline_report::State::Review));
        assert_eq!(accept_event(&payload, None, &key).unwrap_err(), Rejected::NoMac);
        let other = event_mac(&[1u8; 32], &payload);
        assert_eq!(accept_event(&payload, Some(other.as_bytes()), &key).unwrap_err(), Rejected::BadMac);
        // Altered after signing (review turned into pending: straight to the hotline).
        let altered = event("pending");
        assert_eq!(accept_event(&altered, Some(mac.as_bytes()), &key).unwrap_err(), Rejected::BadMac);
        let dup = event("duplicate");
        assert_eq!(accept_event(&dup, Some(event_mac(&key, &dup).as_bytes()), &key).unwrap(), None);
        let junk = b"{}";
        assert_eq!(
            accept_event(junk, Some(event_mac(&key, junk).as_bytes()), &key).unwrap_err(),
            Rejected::NotAnEvent
        );
        let odd = event("delivered");
        assert_eq!(
            accept_event(&odd, Some(event_mac(&key, &odd).as_bytes()), &key).unwrap_err(),
            Rejected::NotAnEvent
        );
    }

    fn h<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Iterator<Item = (&'a str, Option<&'a [u8]>)> {
        pairs.iter().map(|(k, v)| (*k, Some(v.as_bytes())))
    }

    #[test]
    fn committed_match_event_schema_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas/hashline.match-event-1.schema.json");
        let generated = serde_json::to_string_pretty(&match_event_schema()).unwrap() + "\n";
        if std::env::var_os("HASHLINE_BLESS").is_some() {
            std::fs::write(path, &generated).unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(path).unwrap_or_default(),
            generated,
            "stale schemas/hashline.match-event-1.schema.json: HASHLINE_BLESS=1 cargo test -p hashline-pipeline"
        );
    }

    #[test]
    fn headers_parse_and_bad_records_are_named() {
        let u = Upload::from_headers(
            h(&[(header::UPLOAD_ID, "u1"), (header::PLATFORM, "p"), ("other", "x")]),
            10,
        )
        .unwrap();
        assert_eq!((u.id.as_str(), u.platform.as_deref()), ("u1", Some("p")));
        assert_eq!(
            Upload::from_headers(h(&[(header::PLATFORM, "p")]), 10),
            Err(ContractError::MissingUploadId)
        );
        let long = "x".repeat(129);
        assert_eq!(
            Upload::from_headers(h(&[(header::UPLOAD_ID, &long)]), 10),
            Err(ContractError::BadUploadId(129))
        );
        assert_eq!(Upload::from_headers(h(&[(header::UPLOAD_ID, "u")]), 0), Err(ContractError::NoMedia));
        assert_eq!(
            Upload::from_headers(h(&[(header::UPLOAD_ID, "u"), (header::MEDIA_URL, "https://x/y")]), 5),
            Err(ContractError::BothMedia)
        );
        let bad: &[u8] = &[0xff, 0xfe];
        assert_eq!(
            Upload::from_headers([(header::UPLOAD_ID, Some(&b"u"[..])), (header::FILE_NAME, Some(bad))], 3),
            Err(ContractError::NotUtf8(header::FILE_NAME.into()))
        );
    }
}
