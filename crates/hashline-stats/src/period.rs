//! Days of the calendar (UTC): the period of a report and its weeks.

use crate::StatsError;

/// Days `from_day..=to_day`, counted from 1970-01-01 (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// First day.
    pub from_day: i64,
    /// Last day, inclusive.
    pub to_day: i64,
}

/// The longest period one report covers (about ten years): the weekly series stays printable.
pub const MAX_DAYS: i64 = 3700;

impl Period {
    /// The period from `from` to `to` (`YYYY-MM-DD`, both days included).
    pub fn parse(from: &str, to: &str) -> Result<Period, StatsError> {
        let (from_day, to_day) = (day(from)?, day(to)?);
        if to_day < from_day {
            return Err(StatsError::Period(format!("--to {to} is before --from {from}")));
        }
        if to_day - from_day >= MAX_DAYS {
            return Err(StatsError::Period(format!(
                "{from} to {to} is longer than {MAX_DAYS} days: make one report per year"
            )));
        }
        Ok(Period { from_day, to_day })
    }

    /// Whether `day` is in the period.
    pub fn contains_day(self, day: i64) -> bool {
        (self.from_day..=self.to_day).contains(&day)
    }

    /// Unix seconds: from the first day's midnight (inclusive) to the midnight after the last
    /// day (exclusive).
    pub fn unix_range(self) -> (i64, i64) {
        (self.from_day * 86_400, (self.to_day + 1) * 86_400)
    }

    /// The Monday of every week that has a day in the period.
    pub fn mondays(self) -> impl Iterator<Item = i64> {
        (monday(self.from_day)..=self.to_day).step_by(7)
    }
}

/// The Monday of `day`'s week (1970-01-01 was a Thursday).
pub fn monday(day: i64) -> i64 {
    day - (day + 3).rem_euclid(7)
}

/// The day of `YYYY-MM-DD`.
pub fn day(s: &str) -> Result<i64, StatsError> {
    let bad = || StatsError::Period(format!("{s:?} is not a date: write YYYY-MM-DD, e.g. 2026-11-01"));
    if s.len() != 10 {
        return Err(bad());
    }
    let t = humantime::parse_rfc3339(&format!("{s}T00:00:00Z")).map_err(|_| bad())?;
    let secs = t.duration_since(std::time::UNIX_EPOCH).map_err(|_| bad())?.as_secs();
    i64::try_from(secs / 86_400).map_err(|_| bad())
}

/// `YYYY-MM-DD` of `day`.
pub fn date(day: i64) -> String {
    let t = std::time::UNIX_EPOCH
        + std::time::Duration::from_secs(u64::try_from(day.max(0) * 86_400).unwrap_or(0));
    humantime::format_rfc3339_seconds(t).to_string()[..10].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_is_whole_days_with_monday_weeks() {
        let p = Period::parse("2026-11-01", "2026-11-30").unwrap();
        assert_eq!(date(p.from_day), "2026-11-01");
        assert_eq!(p.unix_range().1 - p.unix_range().0, 30 * 86_400);
        // 2026-11-01 is a Sunday: its week began on Monday 2026-10-26.
        let weeks: Vec<String> = p.mondays().map(date).collect();
        assert_eq!(
            weeks,
            ["2026-10-26", "2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23", "2026-11-30"]
        );
        assert!(p.contains_day(p.to_day) && !p.contains_day(p.to_day + 1));
    }

    #[test]
    fn bad_periods_say_what_to_write() {
        for (from, to) in [
            ("2026-13-01", "2026-12-01"),
            ("yesterday", "2026-12-01"),
            ("2026-11-01", "2026-10-01"),
            ("2026-11-01T00:00:00Z", "2026-12-01"),
            ("1990-01-01", "2026-01-01"),
        ] {
            let e = Period::parse(from, to).unwrap_err().to_string();
            assert!(
                e.contains("YYYY-MM-DD") || e.contains("before") || e.contains("one report per year"),
                "{e}"
            );
        }
    }
}
