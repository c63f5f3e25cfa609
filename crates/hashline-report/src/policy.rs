//! Which matches are reported automatically and which wait for an analyst, and how a
//! detection becomes a [`Report`].

use hashline_lists::SignalType;
use serde::{Deserialize, Serialize};

use crate::model::{
    idempotency_key, random_id, AgeGroup, Assessment, Channel, FileInfo, Incident, IndustryClass,
    IwfCategory, MatchInfo, MediaType, Report, Reporter, Review, Uploader, SCHEMA_ID,
};

/// The reporting policy (`[policy]` in `hashline.toml`).
///
/// A report is sent without review when at least one of its matches qualifies:
/// an exact digest match (MD5, SHA-1, SHA-256) when `auto_report_digest` is on, or a PDQ match
/// at a distance of at most `auto_report_pdq_distance`; matches on a list named in
/// `review_lists` never qualify. Everything else waits in the review queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Report exact digest matches without review (default true: a byte-identical copy of a
    /// listed file needs no second look to be reported).
    pub auto_report_digest: bool,
    /// Report PDQ matches at this distance or closer without review (default: none; every PDQ
    /// match is reviewed).
    pub auto_report_pdq_distance: Option<u32>,
    /// Lists whose matches always wait for review (e.g. a list still being vetted).
    pub review_lists: Vec<String>,
    /// Flood quarantine (`[policy.flood]`): an entry that suddenly matches far more uploads
    /// than before has its matches held for review instead of delivered.
    pub flood: crate::outbox::FloodRule,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            auto_report_digest: true,
            auto_report_pdq_distance: None,
            review_lists: Vec::new(),
            flood: Default::default(),
        }
    }
}

/// What the policy decided for one report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Deliver now; the rule that allowed it.
    Auto(String),
    /// Wait for an analyst; why.
    Review(String),
}

impl Policy {
    /// Decides for a set of matches.
    pub fn decide(&self, matches: &[MatchInfo]) -> Decision {
        let mut why = "pdq_near_match";
        for m in matches {
            if self.review_lists.iter().any(|l| l == &m.list) {
                why = "list_requires_review";
                continue;
            }
            let signal = SignalType::parse_lenient(&m.signal);
            let digest = matches!(signal, SignalType::Md5 | SignalType::Sha1 | SignalType::Sha256);
            if digest && self.auto_report_digest {
                return Decision::Auto(format!("exact_{signal}"));
            }
            if signal == SignalType::Pdq {
                if let Some(max) = self.auto_report_pdq_distance {
                    if m.distance <= max {
                        return Decision::Auto(format!("pdq_distance_le_{max}"));
                    }
                }
            } else if digest {
                why = "digest_review_by_policy";
            }
        }
        Decision::Review(why.to_string())
    }
}

/// Everything known about one matched upload, before it becomes a report.
#[derive(Debug, Clone, Default)]
pub struct Detection {
    /// The platform's upload id (for scans: derived from the path and SHA-256).
    pub upload_id: String,
    /// How it arrived.
    pub channel: Channel,
    /// When it matched (RFC 3339); empty means now.
    pub detected_at: String,
    /// When the platform received it.
    pub uploaded_at: Option<String>,
    /// Platform name.
    pub platform: Option<String>,
    /// Where it was published.
    pub source_url: Option<String>,
    /// Who uploaded it.
    pub uploader: Option<Uploader>,
    /// The file's facts and hashes.
    pub file: FileInfo,
    /// What it matched.
    pub matches: Vec<hashline_lists::Match>,
    /// Set when the match was found after the fact (retroactive matching).
    pub retroactive: Option<crate::model::Retroactive>,
}

/// Builds the report for a detection under a policy. `None` when there is nothing to report
/// (no matches).
pub fn build(detection: &Detection, reporter: &Reporter, policy: &Policy) -> Option<(Report, Decision)> {
    if detection.matches.is_empty() {
        return None;
    }
    let matches: Vec<MatchInfo> = detection.matches.iter().map(MatchInfo::from).collect();
    let decision = policy.decide(&matches);
    let review = match &decision {
        Decision::Auto(rule) => Review::AutoReported { rule: rule.clone() },
        Decision::Review(rule) => Review::PendingReview { rule: rule.clone() },
    };
    let now = hashline_lists::now_rfc3339();
    let key =
        idempotency_key(&detection.upload_id, matches.iter().map(|m| (m.list.as_str(), m.entry_id.as_str())));
    Some((
        Report {
            schema: SCHEMA_ID.to_string(),
            report_id: random_id(),
            idempotency_key: key,
            created_at: now.clone(),
            reporter: reporter.clone(),
            incident: Incident {
                upload_id: detection.upload_id.clone(),
                detected_at: if detection.detected_at.is_empty() {
                    now
                } else {
                    detection.detected_at.clone()
                },
                uploaded_at: detection.uploaded_at.clone(),
                platform: detection.platform.clone(),
                source_url: detection.source_url.clone(),
                channel: detection.channel,
            },
            uploader: detection.uploader.clone(),
            file: detection.file.clone(),
            assessment: assess(&matches, &detection.file),
            matches,
            review,
            evidence: None,
            retroactive: detection.retroactive.clone(),
        },
        decision,
    ))
}

/// The assessment the lists imply: the most severe industry class among the matches, the IWF
/// category (from an IWF-labelled entry, else mapped), no legal assessment (that is the
/// analyst's).
fn assess(matches: &[MatchInfo], file: &FileInfo) -> Assessment {
    let labels = || matches.iter().filter_map(|m| m.classification.as_deref());
    // A1 < A2 < B1 < B2 in declaration order = most to least severe.
    let industry = labels().filter_map(IndustryClass::from_label).min();
    let iwf = labels()
        .filter_map(|l| match l.to_ascii_uppercase().as_str() {
            "IWF-A" => Some(IwfCategory::A),
            "IWF-B" => Some(IwfCategory::B),
            "IWF-C" => Some(IwfCategory::C),
            _ => None,
        })
        .min_by_key(|c| match c {
            IwfCategory::A => 0,
            IwfCategory::B => 1,
            IwfCategory::C => 2,
        })
        .or_else(|| industry.map(IndustryClass::iwf_category));
    let media_type = match file.content_type.as_deref() {
        Some(t) if t.starts_with("video/") => MediaType::Video,
        Some(t) if t.starts_with("image/") => MediaType::Image,
        _ if file.pdq.is_some() => MediaType::Image,
        _ => MediaType::Other,
    };
    Assessment {
        industry_classification: industry,
        iwf_category: iwf,
        legal: None,
        age_group: industry.map_or(AgeGroup::Unknown, IndustryClass::age_group),
        media_type,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(list: &str, signal: &str, distance: u32, class: Option<&str>) -> MatchInfo {
        MatchInfo {
            list: list.into(),
            list_version: 1,
            source: "s".into(),
            entry_id: format!("{list}-{signal}-{distance}"),
            signal: signal.into(),
            value: "00".into(),
            classification: class.map(Into::into),
            distance,
            dihedral: None,
            border_trimmed: None,
            pytx_conversion: false,
            video: None,
        }
    }

    #[test]
    fn digest_is_auto_pdq_is_reviewed_by_default() {
        let p = Policy::default();
        assert_eq!(p.decide(&[m("a", "md5", 0, None)]), Decision::Auto("exact_md5".into()));
        assert_eq!(p.decide(&[m("a", "pdq", 0, None)]), Decision::Review("pdq_near_match".into()));
        let p = Policy { auto_report_pdq_distance: Some(10), ..Policy::default() };
        assert!(matches!(p.decide(&[m("a", "pdq", 10, None)]), Decision::Auto(_)));
        assert!(matches!(p.decide(&[m("a", "pdq", 11, None)]), Decision::Review(_)));
        let p = Policy { review_lists: vec!["a".into()], ..Policy::default() };
        assert_eq!(p.decide(&[m("a", "sha256", 0, None)]), Decision::Review("list_requires_review".into()));
        assert!(matches!(p.decide(&[m("a", "sha256", 0, None), m("b", "sha1", 0, None)]), Decision::Auto(_)));
    }

    #[test]
    fn assessment_takes_the_most_severe_class() {
        let a = assess(
            &[m("a", "pdq", 3, Some("B2")), m("b", "md5", 0, Some("A2")), m("c", "md5", 0, Some("x"))],
            &FileInfo::default(),
        );
        assert_eq!(a.industry_classification, Some(IndustryClass::A2));
        assert_eq!(a.iwf_category, Some(IwfCategory::C));
        assert_eq!(a.age_group, AgeGroup::Prepubescent);
        let a =
            assess(&[m("a", "md5", 0, Some("IWF-B")), m("b", "md5", 0, Some("A1"))], &FileInfo::default());
        assert_eq!(a.iwf_category, Some(IwfCategory::B), "an IWF label wins over the mapping");
        assert_eq!(a.media_type, MediaType::Other);
    }
}
