//! What the statistics say: counts (small ones shown as "< 5"), distributions of times, weekly
//! series. Only aggregates: no hash, upload id, report id, file name or account appears.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

/// The smallest count shown as a number (besides 0): smaller ones are "< 5", so that no single
/// case can be singled out.
pub const SMALLEST_SHOWN: u64 = 5;

/// A count as published: 0, or at least [`SMALLEST_SHOWN`], or "< 5".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Count(pub u64);

impl Count {
    /// Whether the exact figure is withheld (1 to 4).
    pub fn suppressed(self) -> bool {
        (1..SMALLEST_SHOWN).contains(&self.0)
    }

    /// The figure as published.
    pub fn shown(self) -> String {
        if self.suppressed() {
            format!("< {SMALLEST_SHOWN}")
        } else {
            self.0.to_string()
        }
    }
}

impl Serialize for Count {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.suppressed() {
            s.serialize_str(&self.shown())
        } else {
            s.serialize_u64(self.0)
        }
    }
}

/// A distribution of durations in seconds: its size, median and 95th percentile. Withheld
/// (`null`) when fewer than [`SMALLEST_SHOWN`] values: a median of two cases is two cases.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Times {
    /// How many cases.
    pub n: Count,
    /// Median, seconds.
    pub median_s: Option<f64>,
    /// 95th percentile (nearest rank), seconds.
    pub p95_s: Option<f64>,
}

impl Times {
    /// The distribution of `values` (seconds; negative ones, from clock skew, count as 0).
    pub fn of(mut values: Vec<f64>) -> Times {
        let n = Count(values.len() as u64);
        if values.len() < SMALLEST_SHOWN as usize {
            return Times { n, median_s: None, p95_s: None };
        }
        values.iter_mut().for_each(|v| *v = v.max(0.0));
        values.sort_by(f64::total_cmp);
        let rank = |q: f64| values[((q * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1];
        let median = if values.len() % 2 == 1 {
            values[values.len() / 2]
        } else {
            (values[values.len() / 2 - 1] + values[values.len() / 2]) / 2.0
        };
        Times { n, median_s: Some(median), p95_s: Some(rank(0.95)) }
    }
}

/// One week (Monday to Sunday, UTC) of the period.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Week {
    /// Its Monday (`YYYY-MM-DD`).
    pub week_of: String,
    /// Files examined.
    pub files_examined: Count,
    /// Reports made.
    pub reports: Count,
    /// Reports sent to review.
    pub to_review: Count,
    /// Review decisions taken (confirmed, dismissed).
    pub decisions: Count,
    /// Media reveals on the triage pages (exposure).
    pub reveals: Count,
}

/// One analyst's workload; only when an administrator asks for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalystLoad {
    /// The account name.
    pub analyst: String,
    /// Review decisions taken.
    pub decisions: Count,
    /// Media reveals.
    pub reveals: Count,
}

/// The false-positive rate of near (not exact) matches, from the analysts' decisions.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct NearMatches {
    /// Reports whose every match was a near PDQ match, decided by an analyst.
    pub decided: Count,
    /// Of those, dismissed as false positives.
    pub dismissed: Count,
    /// `dismissed / decided`, withheld under [`SMALLEST_SHOWN`] decisions.
    pub false_positive_rate: Option<f64>,
}

/// Times through the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Durations {
    /// From the upload (as the platform stated it) to the match.
    pub upload_to_match: Times,
    /// From the match to the analyst's decision (reports that went to review).
    pub match_to_decision: Times,
    /// From the decision (or the match, for reports sent without review) to delivery.
    pub decision_to_delivery: Times,
}

/// The statistics of one period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    /// Always `hashline.stats/1`.
    pub schema: &'static str,
    /// First day (`YYYY-MM-DD`, UTC).
    pub from: String,
    /// Last day, inclusive.
    pub to: String,
    /// When these figures were made (RFC 3339).
    pub generated_at: String,
    /// Files examined, by channel (`kafka`, `scan`).
    pub files_examined: BTreeMap<String, Count>,
    /// Files examined in all.
    pub files_examined_total: Count,
    /// Matches by list and signal (`list/signal`).
    pub matches: BTreeMap<String, Count>,
    /// Reports made in the period.
    pub reports_total: Count,
    /// Reports by state now (`pending`, `review`, `delivered`, `parked`, `dismissed`).
    pub reports_by_state: BTreeMap<String, Count>,
    /// Reports by platform.
    pub reports_by_platform: BTreeMap<String, Count>,
    /// Reports by industry class (`A1` ... `B2`, `unclassified`).
    pub reports_by_class: BTreeMap<String, Count>,
    /// Reports by the analyst's ICCAM legal assessment (`not_assessed` without one).
    pub reports_by_assessment: BTreeMap<String, Count>,
    /// Reports of matches found when lists grew (retroactive matching); `null`: this version
    /// does not record them yet.
    pub retroactive: Option<Count>,
    /// Uploads held by flood quarantine; `null`: this version does not record them yet.
    pub quarantined: Option<Count>,
    /// Times through the chain.
    pub durations: Durations,
    /// The false-positive rate of near matches.
    pub near_matches: NearMatches,
    /// Review decisions in all.
    pub decisions_total: Count,
    /// Media reveals in all (exposure).
    pub reveals_total: Count,
    /// Week by week.
    pub weeks: Vec<Week>,
    /// Per analyst, only when an administrator asked (`null` otherwise).
    pub per_analyst: Option<Vec<AnalystLoad>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_counts_are_shown_as_less_than_five_and_zero_as_zero() {
        let shown: Vec<String> = [0, 1, 4, 5, 12].iter().map(|&n| Count(n).shown()).collect();
        assert_eq!(shown, ["0", "< 5", "< 5", "5", "12"]);
        assert_eq!(serde_json::to_string(&[Count(0), Count(3), Count(7)]).unwrap(), r#"[0,"< 5",7]"#);
    }

    #[test]
    fn times_are_withheld_under_five_cases_and_take_median_and_p95() {
        assert_eq!(Times::of(vec![1.0, 2.0]).median_s, None);
        let t = Times::of((1..=20).map(f64::from).collect());
        assert_eq!((t.median_s, t.p95_s), (Some(10.5), Some(19.0)));
        let t = Times::of(vec![-3.0, 1.0, 2.0, 3.0, 100.0]);
        assert_eq!((t.median_s, t.p95_s), (Some(2.0), Some(100.0)));
    }
}
