//! The report a hotline receives: `hashline.report/1`.
//!
//! The JSON Schema under `schemas/hashline.report-1.schema.json` is generated from these types
//! ([`schema`]) and a test keeps the committed file equal to the generated one. Additions that
//! old readers can ignore keep version 1; anything else is `hashline.report/2`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod video;
pub use video::{MatchedFrameInfo, VideoFacts, VideoMatchInfo};

/// The schema identifier every report carries.
pub const SCHEMA_ID: &str = "hashline.report/1";

/// One report: an upload and every list entry it matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// Always `hashline.report/1`.
    #[schemars(regex(pattern = r"^hashline\.report/1$"))]
    pub schema: String,
    /// Random id of this report (32 lowercase hex digits).
    #[schemars(regex(pattern = r"^[0-9a-f]{32}$"))]
    pub report_id: String,
    /// Deterministic from the upload id and the matched list entries: a replay of the same
    /// upload produces the same key, so the hotline and the outbox can drop the duplicate.
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub idempotency_key: String,
    /// When the report was made (RFC 3339, UTC).
    pub created_at: String,
    /// Who reports.
    pub reporter: Reporter,
    /// Where and when the upload happened.
    pub incident: Incident,
    /// The account that uploaded, as far as the platform knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploader: Option<Uploader>,
    /// The uploaded file.
    pub file: FileInfo,
    /// Every list entry the file matched (at least one).
    #[schemars(length(min = 1))]
    pub matches: Vec<MatchInfo>,
    /// The classification and legal assessment.
    pub assessment: Assessment,
    /// Whether a person has looked.
    pub review: Review,
    /// Where the preserved copy is (never the bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<EvidenceRef>,
    /// Present when the match was found after the fact: the upload was examined before the
    /// list entries it matches were listed (retroactive matching over the hash journal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retroactive: Option<Retroactive>,
}

/// How a retroactive match came about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Retroactive {
    /// When the upload was received (RFC 3339, UTC).
    pub received_at: String,
    /// When it matched, after the lists changed (RFC 3339, UTC).
    pub matched_at: String,
    /// The list versions whose new entries (or removed allow-list entries) it matched.
    #[schemars(length(min = 1))]
    pub added_in: Vec<ListVersion>,
}

/// A version of a list.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListVersion {
    /// The list's name.
    pub list: String,
    /// Its version.
    pub version: u64,
}

/// The reporting organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Reporter {
    /// Organisation name.
    pub organisation: String,
    /// Contact (e-mail or phone) for the hotline's questions.
    pub contact: String,
    /// ISO 3166-1 alpha-2 country code of the organisation.
    #[schemars(regex(pattern = r"^[A-Z]{2}$"))]
    pub country: String,
}

impl Reporter {
    /// The fields still empty or at their "unconfigured …" placeholder: a report naming no
    /// real organisation or contact is never delivered.
    pub fn placeholder_fields(&self) -> Vec<&'static str> {
        let unset = |v: &str| v.trim().is_empty() || v.trim_start().starts_with("unconfigured");
        [("organisation", &self.organisation), ("contact", &self.contact)]
            .into_iter()
            .filter(|(_, v)| unset(v))
            .map(|(k, _)| k)
            .collect()
    }
}

/// Where and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Incident {
    /// The platform's upload id (unique per upload).
    pub upload_id: String,
    /// When hashline matched the file (RFC 3339, UTC).
    pub detected_at: String,
    /// When the platform received the upload, if known (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploaded_at: Option<String>,
    /// Platform or service name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Where the file was published, if anywhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    /// How the file reached hashline: `kafka`, `scan`, `api`.
    pub channel: Channel,
}

/// How a file reached hashline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A Kafka upload stream.
    Kafka,
    /// A folder scan.
    #[default]
    Scan,
    /// The HTTP API.
    Api,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 3] = [Channel::Kafka, Channel::Scan, Channel::Api];

    /// The name as written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Kafka => "kafka",
            Channel::Scan => "scan",
            Channel::Api => "api",
        }
    }

    /// The channel named `s`.
    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// The uploading account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Uploader {
    /// The platform's account id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// Display or screen name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen_name: Option<String>,
    /// IP address seen at an event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpEvent>,
}

/// An IP address with the event it was seen at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IpEvent {
    /// IPv4 or IPv6 address.
    pub address: String,
    /// `upload`, `login`, `registration`, ...
    pub event: String,
    /// When (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// The file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct FileInfo {
    /// The file name the uploader gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Size in bytes.
    pub size: u64,
    /// MIME type, as declared or as sniffed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// MD5 (lowercase hex).
    #[schemars(regex(pattern = r"^[0-9a-f]{32}$"))]
    pub md5: String,
    /// SHA-1 (lowercase hex).
    #[schemars(regex(pattern = r"^[0-9a-f]{40}$"))]
    pub sha1: String,
    /// SHA-256 (lowercase hex).
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub sha256: String,
    /// PDQ (64 lowercase hex digits), when the file is a decodable image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub pdq: Option<String>,
    /// PDQ quality 0–100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 100))]
    pub pdq_quality: Option<u8>,
    /// Why no PDQ was computed (not an image, corrupt, over the limits), when none was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdq_skipped: Option<String>,
    /// Image width in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Image height in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// For a video: what decoding it gave (codec, size, frame rate, duration, frames hashed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<VideoFacts>,
    /// For a video that could not be hashed: why (a limit, a broken file, a decoder failure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_skipped: Option<String>,
    /// Where a scanned file was: two files of the same name in different folders are told
    /// apart. Uploads from a platform carry their own facts (upload id, name) instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<FileLocation>,
}

/// Where a scanned file was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct FileLocation {
    /// The folder the scan was given (absolute when it could be resolved).
    pub root: String,
    /// The file's path relative to `root`.
    pub path: String,
}

impl FileInfo {
    /// The facts hashline computed for a file; `name` and `content_type` come from the
    /// platform (or the scan) when known.
    pub fn from_hashes(
        h: &hashline_hash::FileHashes,
        name: Option<String>,
        content_type: Option<String>,
    ) -> FileInfo {
        use hashline_hash::PdqOutcome;
        let mut f = FileInfo {
            name,
            size: h.bytes,
            content_type,
            md5: h.digests.md5_hex(),
            sha1: h.digests.sha1_hex(),
            sha256: h.digests.sha256_hex(),
            ..FileInfo::default()
        };
        match &h.pdq {
            PdqOutcome::Hashed { pdq, width, height, format, .. } => {
                f.pdq = Some(pdq.hash.to_hex());
                f.pdq_quality = Some(pdq.quality);
                f.width = Some(*width);
                f.height = Some(*height);
                if f.content_type.is_none() {
                    f.content_type = Some(format!("image/{}", format.as_str()));
                }
            }
            PdqOutcome::Skipped(reason) => f.pdq_skipped = Some((*reason).to_string()),
            PdqOutcome::Failed { error, .. } => f.pdq_skipped = Some(error.to_string()),
        }
        match &h.video {
            Some(hashline_hash::VideoOutcome::Hashed(v)) => {
                f.video = Some(VideoFacts {
                    codec: v.codec.clone(),
                    width: v.width,
                    height: v.height,
                    frame_rate: v.frame_rate,
                    duration_seconds: v.duration_seconds,
                    seconds_per_hash: v.seconds_per_hash,
                    frames_hashed: v.frames.len() as u32,
                });
                f.width = Some(v.width);
                f.height = Some(v.height);
            }
            Some(hashline_hash::VideoOutcome::Failed { reason, .. }) => {
                f.video_skipped = Some(reason.clone())
            }
            None => {}
        }
        f
    }
}

/// One matched list entry with its provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchInfo {
    /// List name in the store.
    pub list: String,
    /// Version of the list that matched.
    pub list_version: u64,
    /// Who publishes the list.
    pub source: String,
    /// The entry's id in that list.
    pub entry_id: String,
    /// The signal that matched: `pdq`, `vpdq`, `md5`, `sha1`, `sha256`.
    pub signal: String,
    /// The list's value that matched (the list's hash, not the upload's); for `vpdq`, whose
    /// value is the listed video's every frame hash, `sha256:` and the SHA-256 of that value
    /// as the list stores it.
    pub value: String,
    /// The list's classification of the entry, as the list labels it (`A1`, `IWF-B`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification: Option<String>,
    /// Hamming distance for PDQ (0 for digests).
    pub distance: u32,
    /// For PDQ, which rotation or mirror of the upload matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dihedral: Option<String>,
    /// For PDQ: present when the picture inside the upload's borders matched (letterbox bars,
    /// a frame or padding removed: the `border_trimmed` variant), with the box kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub border_trimmed: Option<KeptBox>,
    /// For PDQ: true when the hash python-threatexchange / HMA computes for this picture
    /// matched (palette PNGs, GIFs and CMYK JPEGs, which it reads differently).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pytx_conversion: bool,
    /// For a video upload: percentages and the matching frames with their timestamps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<VideoMatchInfo>,
}

/// The part of a picture kept after its borders were trimmed, in the upload's pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
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

impl From<&hashline_lists::Match> for MatchInfo {
    fn from(m: &hashline_lists::Match) -> Self {
        MatchInfo {
            list: m.list.clone(),
            list_version: m.list_version,
            source: m.source.clone(),
            entry_id: m.entry_id.clone(),
            signal: m.signal.to_string(),
            value: m.value.clone(),
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
            video: m.video.as_ref().map(|v| VideoMatchInfo {
                query_percent: v.query_percent,
                compared_percent: v.compared_percent,
                matched_frames: v.matched_frames,
                frames: v
                    .frames
                    .iter()
                    .map(|f| MatchedFrameInfo {
                        timestamp: f.timestamp,
                        frame_number: f.frame_number,
                        distance: f.distance,
                    })
                    .collect(),
                border_trimmed: v.border_trimmed,
            }),
        }
    }
}

/// Industry classification (Tech Coalition scale).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub enum IndustryClass {
    /// Prepubescent minor, sex act.
    A1,
    /// Prepubescent minor, lascivious exhibition.
    A2,
    /// Pubescent minor, sex act.
    B1,
    /// Pubescent minor, lascivious exhibition.
    B2,
}

impl IndustryClass {
    /// The label (`A1` ...).
    pub fn as_str(self) -> &'static str {
        match self {
            IndustryClass::A1 => "A1",
            IndustryClass::A2 => "A2",
            IndustryClass::B1 => "B1",
            IndustryClass::B2 => "B2",
        }
    }

    /// Reads an industry label from a list classification; IWF categories and free tags give
    /// `None` (they do not carry the age split).
    pub fn from_label(label: &str) -> Option<IndustryClass> {
        match label.trim().to_ascii_uppercase().as_str() {
            "A1" => Some(IndustryClass::A1),
            "A2" => Some(IndustryClass::A2),
            "B1" => Some(IndustryClass::B1),
            "B2" => Some(IndustryClass::B2),
            _ => None,
        }
    }

    /// The documented mapping to the IWF (UK sentencing) categories. Industry classes say what
    /// is depicted (sex act or lascivious exhibition) and the age group; IWF categories grade
    /// the act. A1/B1 (sex act) map to A, the most serious category that a sex act can be
    /// without further detail; A2/B2 (exhibition) map to C. An analyst's IWF grading always
    /// wins over this mapping.
    pub fn iwf_category(self) -> IwfCategory {
        match self {
            IndustryClass::A1 | IndustryClass::B1 => IwfCategory::A,
            IndustryClass::A2 | IndustryClass::B2 => IwfCategory::C,
        }
    }

    /// The age group the class implies.
    pub fn age_group(self) -> AgeGroup {
        match self {
            IndustryClass::A1 | IndustryClass::A2 => AgeGroup::Prepubescent,
            IndustryClass::B1 | IndustryClass::B2 => AgeGroup::Pubescent,
        }
    }
}

/// IWF / UK sentencing categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum IwfCategory {
    /// Penetrative activity, sadism, bestiality.
    A,
    /// Non-penetrative sexual activity.
    B,
    /// Other indecent images.
    C,
}

/// ICCAM-style legal assessment of the hotline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LegalAssessment {
    /// Illegal in every INHOPE country (the INTERPOL baseline).
    Baseline,
    /// Illegal under national law only.
    National,
    /// Not illegal.
    NotIllegal,
}

/// Age group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgeGroup {
    /// Infant or toddler.
    Infant,
    /// Prepubescent.
    Prepubescent,
    /// Pubescent.
    Pubescent,
    /// Not determined.
    Unknown,
}

/// Media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MediaType {
    /// A still image.
    Image,
    /// A video.
    Video,
    /// Anything else.
    Other,
}

/// Classification and legal assessment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Assessment {
    /// Industry class, from the matched entries (most severe) or from the analyst.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub industry_classification: Option<IndustryClass>,
    /// IWF category: the analyst's, or mapped from the industry class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iwf_category: Option<IwfCategory>,
    /// ICCAM legal assessment; empty until an analyst assesses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal: Option<LegalAssessment>,
    /// Age group.
    pub age_group: AgeGroup,
    /// Media type.
    pub media_type: MediaType,
}

/// Review state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "state", rename_all = "snake_case", deny_unknown_fields)]
pub enum Review {
    /// Sent without a person's review, under the named policy rule.
    AutoReported {
        /// The policy rule that allowed it.
        rule: String,
    },
    /// Waiting for an analyst.
    PendingReview {
        /// Why it waits.
        rule: String,
    },
    /// An analyst confirmed it.
    Confirmed {
        /// Analyst account id.
        analyst: String,
        /// When (RFC 3339).
        at: String,
    },
}

/// A reference to the preserved, encrypted copy of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceRef {
    /// Evidence id in the store.
    pub id: String,
    /// SHA-256 of the plaintext.
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub sha256: String,
    /// Id of the key that encrypts it.
    pub key_id: String,
    /// Kept at least until (RFC 3339).
    pub retain_until: String,
}

/// The JSON Schema of [`Report`], as committed under `schemas/`.
pub fn schema() -> serde_json::Value {
    let mut s = serde_json::to_value(schemars::schema_for!(Report)).unwrap_or_default();
    if let Some(o) = s.as_object_mut() {
        o.insert("$id".into(), "https://hashline.dev/schemas/hashline.report-1.schema.json".into());
        o.insert("title".into(), SCHEMA_ID.into());
    }
    s
}

/// The idempotency key of a report on `upload_id` matching `entries` (`(list, entry_id)`).
/// Order of entries does not matter.
pub fn idempotency_key<'a>(upload_id: &str, entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    use sha2::{Digest, Sha256};
    let mut v: Vec<(&str, &str)> = entries.into_iter().collect();
    v.sort_unstable();
    v.dedup();
    let mut h = Sha256::new();
    h.update(SCHEMA_ID.as_bytes());
    h.update([0]);
    h.update((upload_id.len() as u64).to_be_bytes());
    h.update(upload_id.as_bytes());
    for (list, entry) in v {
        h.update((list.len() as u64).to_be_bytes());
        h.update(list.as_bytes());
        h.update((entry.len() as u64).to_be_bytes());
        h.update(entry.as_bytes());
    }
    hex::encode(h.finalize())
}

/// A random 128-bit id as 32 hex digits.
pub fn random_id() -> String {
    let mut b = [0u8; 16];
    // getrandom only fails when the OS has no entropy source at all; fall back to time + pid.
    if getrandom::fill(&mut b).is_err() {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        b[..8].copy_from_slice(&(t.as_nanos() as u64).to_le_bytes());
        b[8..12].copy_from_slice(&std::process::id().to_le_bytes());
    }
    hex::encode(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ignores_entry_order_and_separates_fields() {
        let a = idempotency_key("u1", [("l", "e1"), ("l", "e2")]);
        let b = idempotency_key("u1", [("l", "e2"), ("l", "e1")]);
        assert_eq!(a, b);
        assert_ne!(idempotency_key("u1", [("ab", "c")]), idempotency_key("u1", [("a", "bc")]));
        assert_ne!(idempotency_key("u1", [("l", "e")]), idempotency_key("u2", [("l", "e")]));
    }

    #[test]
    fn industry_mapping_is_total() {
        for c in [IndustryClass::A1, IndustryClass::A2, IndustryClass::B1, IndustryClass::B2] {
            assert_eq!(IndustryClass::from_label(c.as_str()), Some(c));
            let _ = c.iwf_category();
        }
        assert_eq!(IndustryClass::from_label("IWF-A"), None);
    }
}
