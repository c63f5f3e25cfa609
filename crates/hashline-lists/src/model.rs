//! What a known-hash list is: a manifest (who published it, which version, thresholds) and
//! entries (signal type, value, id, classification, tags, times).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The kind of hash an entry carries.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignalType {
    /// PDQ, 256 bits, 64 hex digits.
    Pdq,
    /// MD5, 32 hex digits.
    Md5,
    /// SHA-1, 40 hex digits.
    Sha1,
    /// SHA-256, 64 hex digits.
    Sha256,
    /// vPDQ, a video's frame hashes: python-threatexchange's signal string, a JSON array of
    /// `"pdq_hex,quality,timestamp"` strings.
    Vpdq,
    /// A signal hashline keeps but does not match (PhotoDNA, video hashes, …), by name.
    #[serde(untagged)]
    Other(String),
}

impl SignalType {
    /// Whether hashline matches this type.
    pub fn is_matched(&self) -> bool {
        !matches!(self, SignalType::Other(_))
    }

    /// The name used in files and output.
    pub fn as_str(&self) -> &str {
        match self {
            SignalType::Pdq => "pdq",
            SignalType::Md5 => "md5",
            SignalType::Sha1 => "sha1",
            SignalType::Sha256 => "sha256",
            SignalType::Vpdq => "vpdq",
            SignalType::Other(s) => s,
        }
    }

    /// Hex digits a value of this type has, for the matched types.
    pub fn hex_len(&self) -> Option<usize> {
        match self {
            SignalType::Pdq | SignalType::Sha256 => Some(64),
            SignalType::Md5 => Some(32),
            SignalType::Sha1 => Some(40),
            SignalType::Vpdq | SignalType::Other(_) => None,
        }
    }

    /// Parses the names used by hashline, python-threatexchange and NCMEC (`pdq`, `md5`,
    /// `video_md5`, `photo_md5`, `sha-1`, …). Unknown names are kept as [`SignalType::Other`].
    pub fn parse_lenient(name: &str) -> SignalType {
        let n = name.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        match n.as_str() {
            "pdq" | "photo_pdq" | "pdq_photo" => SignalType::Pdq,
            "md5" | "video_md5" | "photo_md5" | "md5_hash" => SignalType::Md5,
            "sha1" | "sha_1" | "photo_sha1" | "video_sha1" => SignalType::Sha1,
            "sha256" | "sha_256" | "photo_sha256" | "video_sha256" => SignalType::Sha256,
            "vpdq" | "video_vpdq" | "vpdq_video" => SignalType::Vpdq,
            _ => SignalType::Other(n),
        }
    }
}

impl fmt::Display for SignalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a list classifies an entry: the Tech Coalition industry scale, the IWF categories, or a
/// free tag the list uses. Written in files as its label (`"A1"`, `"IWF-A"`, `"my-tag"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Classification {
    /// Industry A1: prepubescent, sex act.
    A1,
    /// Industry A2: prepubescent, lascivious exhibition.
    A2,
    /// Industry B1: pubescent, sex act.
    B1,
    /// Industry B2: pubescent, lascivious exhibition.
    B2,
    /// IWF category A.
    IwfA,
    /// IWF category B.
    IwfB,
    /// IWF category C.
    IwfC,
    /// Any other label, kept as given.
    Other(String),
}

impl Classification {
    /// The label used in files and output (`A1`, `IWF-A`, or the free tag).
    pub fn label(&self) -> &str {
        match self {
            Classification::A1 => "A1",
            Classification::A2 => "A2",
            Classification::B1 => "B1",
            Classification::B2 => "B2",
            Classification::IwfA => "IWF-A",
            Classification::IwfB => "IWF-B",
            Classification::IwfC => "IWF-C",
            Classification::Other(s) => s,
        }
    }
}

impl FromStr for Classification {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        Ok(match t.to_ascii_uppercase().replace(['_', ' '], "-").as_str() {
            "A1" => Classification::A1,
            "A2" => Classification::A2,
            "B1" => Classification::B1,
            "B2" => Classification::B2,
            "IWF-A" | "CATEGORY-A" | "CAT-A" => Classification::IwfA,
            "IWF-B" | "CATEGORY-B" | "CAT-B" => Classification::IwfB,
            "IWF-C" | "CATEGORY-C" | "CAT-C" => Classification::IwfC,
            _ => Classification::Other(t.to_string()),
        })
    }
}

impl Serialize for Classification {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.label())
    }
}

impl<'de> Deserialize<'de> for Classification {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// The label, or what versions before 0.2 wrote: `"IwfA"` and `{"Other": "tag"}`.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Label(String),
            Other {
                #[serde(rename = "Other")]
                other: String,
            },
        }
        Ok(match Written::deserialize(d)? {
            Written::Other { other } => Classification::Other(other),
            Written::Label(l) => match l.as_str() {
                "IwfA" => Classification::IwfA,
                "IwfB" => Classification::IwfB,
                "IwfC" => Classification::IwfC,
                _ => l.parse().unwrap_or_else(|never: std::convert::Infallible| match never {}),
            },
        })
    }
}

impl fmt::Display for Classification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Per-signal thresholds of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    /// Largest PDQ Hamming distance that counts as a match (default 31, as the reference).
    pub pdq_distance: u32,
    /// Smallest PDQ quality of an upload's hash for it to be matched at all (default 50).
    pub pdq_min_quality: u8,
    /// Largest distance for the `border_trimmed` variant (the picture inside an upload's
    /// borders), which may need to be stricter than the original's (default
    /// [`Thresholds::TRIMMED_PDQ_DISTANCE`]).
    pub trimmed_pdq_distance: u32,
    /// Smallest quality of the `border_trimmed` variant's hash (default
    /// [`Thresholds::TRIMMED_PDQ_MIN_QUALITY`]).
    pub trimmed_pdq_min_quality: u8,
    /// vPDQ: largest distance at which a frame of an upload matches a frame of a listed video
    /// (default 31, counted `<=` as python-threatexchange).
    pub vpdq_distance: u32,
    /// vPDQ: frames below this quality are left out on both sides (default 50).
    pub vpdq_min_quality: u8,
    /// vPDQ: share of the upload's unique frames that must match, in percent (default 80).
    pub vpdq_query_match_percent: u8,
    /// vPDQ: share of the listed video's unique frames that must match, in percent (default 0).
    pub vpdq_compared_match_percent: u8,
}

impl Thresholds {
    /// The default distance of the `border_trimmed` variant (from the border benchmark and
    /// false-match study in the README).
    pub const TRIMMED_PDQ_DISTANCE: u32 = 31;
    /// The default quality floor of the `border_trimmed` variant.
    pub const TRIMMED_PDQ_MIN_QUALITY: u8 = 50;
}

impl Thresholds {
    /// The vPDQ comparison rule of these thresholds.
    pub fn vpdq_rule(&self) -> hashline_hash::vpdq::VpdqRule {
        hashline_hash::vpdq::VpdqRule {
            distance: self.vpdq_distance,
            min_quality: self.vpdq_min_quality,
            query_match_percent: f64::from(self.vpdq_query_match_percent),
            compared_match_percent: f64::from(self.vpdq_compared_match_percent),
        }
    }
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            pdq_distance: 31,
            pdq_min_quality: 50,
            trimmed_pdq_distance: Thresholds::TRIMMED_PDQ_DISTANCE,
            trimmed_pdq_min_quality: Thresholds::TRIMMED_PDQ_MIN_QUALITY,
            vpdq_distance: 31,
            vpdq_min_quality: 50,
            vpdq_query_match_percent: 80,
            vpdq_compared_match_percent: 0,
        }
    }
}

/// Whether a list reports matches or suppresses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListKind {
    /// Entries are known material: a match is reported.
    #[default]
    Known,
    /// An allow-list: entries are known false positives; a match on a known list that is also
    /// within an allow-list entry is suppressed.
    Allow,
}

/// A list's manifest: everything about it but its entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Short name, unique in a store (`[a-z0-9._-]`, at most 64 characters).
    pub name: String,
    /// Who publishes it (`ncmec-industry`, `iwf`, `local`, …).
    pub source: String,
    /// Version number in the store, counting from 1.
    pub version: u64,
    /// When this version was fetched or imported (RFC 3339).
    pub fetched_at: String,
    /// Known material or allow-list.
    #[serde(default)]
    pub kind: ListKind,
    /// Classification for entries that carry none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_classification: Option<Classification>,
    /// Matching thresholds.
    #[serde(default)]
    pub thresholds: Thresholds,
    /// Id of the trusted key that signed the input of this version, if it was signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<String>,
    /// The publisher's sequence number of the signed input of this version; the next signed
    /// import must carry a larger one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_sequence: Option<u64>,
    /// Number of entries (active and tombstoned) in this version.
    #[serde(default)]
    pub entries: u64,
    /// SHA-256 of the entries file (hex), which the signature covers with the manifest.
    #[serde(default)]
    pub entries_sha256: String,
}

/// One entry of a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Signal type.
    pub signal: SignalType,
    /// The value: lower-case hex for the matched types, as given for others.
    pub value: String,
    /// The publisher's id for the entry (generated from the value when it has none).
    pub id: String,
    /// Classification, if the list gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification: Option<Classification>,
    /// Free tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// When the publisher added it (RFC 3339), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_at: Option<String>,
    /// When it was removed (a tombstone), if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed_at: Option<String>,
    /// For allow-list entries: the entry suppresses matches only until this time (RFC 3339);
    /// afterwards it is ignored and matches are reported again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// For PDQ allow-list entries: the largest distance at which the entry suppresses, when
    /// tighter than its list's threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance: Option<u32>,
    /// For allow-list entries: the known-list entries whose matches it may suppress (empty:
    /// any known entry of the same signal type).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scope: Vec<EntryRef>,
}

/// A list entry by list name and entry id (what an allow-list entry is scoped to).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryRef {
    /// The list's name.
    pub list: String,
    /// The entry's id in that list.
    pub entry: String,
}

impl Entry {
    /// A new active entry; `id` defaults to `signal:value` (for a vPDQ value, whose text is
    /// long, `vpdq:` and the first 32 hex digits of its SHA-256).
    pub fn new(signal: SignalType, value: String) -> Entry {
        let id = if signal == SignalType::Vpdq {
            format!("{signal}:{}", &hashline_hash::digests(value.as_bytes()).sha256_hex()[..32])
        } else {
            format!("{signal}:{value}")
        };
        Entry {
            signal,
            value,
            id,
            classification: None,
            tags: Vec::new(),
            added_at: None,
            removed_at: None,
            until: None,
            distance: None,
            scope: Vec::new(),
        }
    }

    /// True unless the entry is a tombstone.
    pub fn is_active(&self) -> bool {
        self.removed_at.is_none()
    }

    /// True when the entry can match at `now` (RFC 3339 UTC, as [`crate::now_rfc3339`] writes):
    /// not a tombstone, and for an allow entry not past its `until` (strings of the same shape
    /// compare in time order).
    pub fn in_force(&self, now: &str) -> bool {
        self.is_active() && self.until.as_deref().is_none_or(|u| u > now)
    }
}

/// Normalises and checks a value of a matched type: trims, lower-cases, checks length and
/// digits. Returns what is wrong as a sentence.
pub fn normalize_value(signal: &SignalType, raw: &str) -> Result<String, String> {
    if *signal == SignalType::Vpdq {
        return normalize_vpdq(raw);
    }
    let v = raw.trim().to_ascii_lowercase();
    let Some(len) = signal.hex_len() else { return Ok(raw.trim().to_string()) };
    if v.len() != len {
        return Err(format!("a {signal} value is {len} hex digits, this one has {}", v.chars().count()));
    }
    if let Some(c) = v.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(format!("a {signal} value is hex digits only, found {c:?}"));
    }
    Ok(v)
}

/// A vPDQ value in python-threatexchange's signal form (or the reference's hash-file form),
/// written back in the signal form hashline stores: lower-case hashes, timestamps to three
/// decimals.
pub fn normalize_vpdq(raw: &str) -> Result<String, String> {
    use hashline_hash::vpdq;
    let raw = raw.trim();
    let frames = if raw.starts_with('[') { vpdq::parse_signal(raw) } else { vpdq::parse_reference(raw) };
    frames.map(|f| vpdq::to_signal(&f)).map_err(|e| e.to_string())
}

/// Checks a list name.
pub fn validate_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "list name {name:?} must be 1–64 characters of a-z, 0-9, '.', '_', '-' and not start with '.'"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_names_from_other_tools() {
        assert_eq!(SignalType::parse_lenient("PDQ"), SignalType::Pdq);
        assert_eq!(SignalType::parse_lenient("video_md5"), SignalType::Md5);
        assert_eq!(SignalType::parse_lenient("SHA-1"), SignalType::Sha1);
        assert_eq!(SignalType::parse_lenient("photodna"), SignalType::Other("photodna".into()));
    }

    #[test]
    fn classifications_parse_both_scales() {
        assert_eq!("a1".parse::<Classification>().unwrap(), Classification::A1);
        assert_eq!("IWF-B".parse::<Classification>().unwrap(), Classification::IwfB);
        assert_eq!("category_c".parse::<Classification>().unwrap(), Classification::IwfC);
        assert_eq!("hateful".parse::<Classification>().unwrap(), Classification::Other("hateful".into()));
    }

    #[test]
    fn classifications_are_written_as_their_labels_and_old_forms_still_read() {
        let all = [Classification::A1, Classification::IwfA, Classification::Other("vics-1".into())];
        let json = serde_json::to_string(&all).unwrap();
        assert_eq!(json, r#"["A1","IWF-A","vics-1"]"#);
        assert_eq!(serde_json::from_str::<Vec<Classification>>(&json).unwrap(), all);
        let old = r#"["A1","IwfA",{"Other":"vics-1"}]"#;
        assert_eq!(serde_json::from_str::<Vec<Classification>>(old).unwrap(), all);
    }

    #[test]
    fn values_are_checked_and_lowercased() {
        assert_eq!(
            normalize_value(&SignalType::Md5, " D41D8CD98F00B204E9800998ECF8427E ").unwrap(),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        assert!(normalize_value(&SignalType::Md5, "abc").unwrap_err().contains("32 hex digits"));
        assert!(normalize_value(&SignalType::Sha1, &"z".repeat(40)).unwrap_err().contains("hex digits only"));
    }
}
