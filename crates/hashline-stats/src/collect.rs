//! Reading a data folder's outbox and audit log into [`Stats`].

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use hashline_lists::unix_seconds as unix;
use hashline_report::audit::Record;
use hashline_report::{Outbox, Review, Row, State};

use crate::model::{AnalystLoad, Count, Durations, NearMatches, Stats, Times, Week};
use crate::period::{monday, Period};
use crate::StatsError;

/// One data folder to read: its outbox and its audit log.
#[derive(Clone, Copy)]
pub struct Source<'a> {
    /// The outbox (`outbox.db`).
    pub outbox: &'a Outbox,
    /// The audit log (`audit.log`).
    pub audit_log: &'a Path,
}

/// What to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// The days.
    pub period: Period,
    /// Per-analyst workload (names): only for an administrator who asks.
    pub per_analyst: bool,
}

/// An analyst's decision on a report, from the audit log.
struct Decision {
    at: i64,
}

/// The audit log's facts: decisions by report id (any time), and the period's decisions and
/// reveals by day and actor.
#[derive(Default)]
struct AuditFacts {
    decision_of: HashMap<String, Decision>,
    /// (day, actor) of each decision in the period.
    decisions: Vec<(i64, String)>,
    /// (day, actor) of each reveal in the period.
    reveals: Vec<(i64, String)>,
}

fn read_audit(path: &Path, period: Period, facts: &mut AuditFacts) -> Result<(), StatsError> {
    hashline_report::audit::verify(path).map_err(StatsError::Audit)?;
    hashline_report::audit::each(path, |r: Record| {
        let Some(at) = unix(&r.at) else { return };
        let day = at.div_euclid(86_400);
        let actor = r.actor.strip_prefix("user:").unwrap_or(&r.actor).to_string();
        match r.action.as_str() {
            "case.confirm" | "case.dismiss" => {
                if period.contains_day(day) {
                    facts.decisions.push((day, actor));
                }
                facts.decision_of.entry(r.target).or_insert(Decision { at });
            }
            "case.reveal" if period.contains_day(day) => facts.reveals.push((day, actor)),
            _ => {}
        }
    })
    .map_err(StatsError::Audit)
}

/// The week of `day` (every day of the period has one; a day outside gets its own).
fn week(weeks: &mut BTreeMap<i64, Week>, day: i64) -> &mut Week {
    let m = monday(day);
    weeks.entry(m).or_insert_with(|| Week { week_of: crate::period::date(m), ..Week::default() })
}

fn bump(map: &mut BTreeMap<String, Count>, key: impl Into<String>) {
    map.entry(key.into()).or_default().0 += 1;
}

/// The statistics of `request.period` over `sources`. Reports are counted where they were
/// decided and delivered: rows a scanner only relayed to a central reporter are left out (give
/// both folders to count the scanners' examined files too).
pub fn collect(sources: &[Source<'_>], request: Request) -> Result<Stats, StatsError> {
    let period = request.period;
    let mut facts = AuditFacts::default();
    let mut rows: Vec<Row> = Vec::new();
    let mut examined: Vec<(i64, hashline_report::Channel, u64)> = Vec::new();
    for s in sources {
        read_audit(s.audit_log, period, &mut facts)?;
        let (from, to) = period.unix_range();
        rows.extend(s.outbox.between(from, to)?.into_iter().filter(|r| r.state != State::Relayed));
        examined.extend(s.outbox.examined(period.from_day, period.to_day + 1)?);
    }
    let mut weeks: BTreeMap<i64, Week> =
        period.mondays().map(|m| (m, Week { week_of: crate::period::date(m), ..Week::default() })).collect();
    let mut stats = Stats {
        schema: "hashline.stats/1",
        from: crate::period::date(period.from_day),
        to: crate::period::date(period.to_day),
        generated_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        files_examined: BTreeMap::new(),
        files_examined_total: Count(0),
        matches: BTreeMap::new(),
        reports_total: Count(rows.len() as u64),
        reports_by_state: BTreeMap::new(),
        reports_by_platform: BTreeMap::new(),
        reports_by_class: BTreeMap::new(),
        reports_by_assessment: BTreeMap::new(),
        retroactive: None,
        quarantined: None,
        durations: Durations::default(),
        near_matches: NearMatches::default(),
        decisions_total: Count(facts.decisions.len() as u64),
        reveals_total: Count(facts.reveals.len() as u64),
        weeks: Vec::new(),
        per_analyst: request.per_analyst.then(|| per_analyst(&facts)),
    };
    for (day, channel, n) in examined {
        stats.files_examined.entry(channel.as_str().to_string()).or_default().0 += n;
        stats.files_examined_total.0 += n;
        week(&mut weeks, day).files_examined.0 += n;
    }
    let mut times = Timings::default();
    for row in &rows {
        count_report(&mut stats, &mut weeks, row);
        times.add(row, facts.decision_of.get(&row.report.report_id));
    }
    for (day, _) in &facts.decisions {
        week(&mut weeks, *day).decisions.0 += 1;
    }
    for (day, _) in &facts.reveals {
        week(&mut weeks, *day).reveals.0 += 1;
    }
    stats.durations = Durations {
        upload_to_match: Times::of(times.to_match),
        match_to_decision: Times::of(times.to_decision),
        decision_to_delivery: Times::of(times.to_delivery),
    };
    let (decided, dismissed) = times.near;
    stats.near_matches = NearMatches {
        decided: Count(decided),
        dismissed: Count(dismissed),
        false_positive_rate: (decided >= crate::model::SMALLEST_SHOWN)
            .then(|| dismissed as f64 / decided as f64),
    };
    stats.weeks = weeks.into_values().collect();
    Ok(stats)
}

/// Counts one report in the period's tables and its week.
fn count_report(stats: &mut Stats, weeks: &mut BTreeMap<i64, Week>, row: &Row) {
    let r = &row.report;
    let w = week(weeks, row.created_at.div_euclid(86_400));
    w.reports.0 += 1;
    if !matches!(r.review, Review::AutoReported { .. }) {
        w.to_review.0 += 1;
    }
    bump(&mut stats.reports_by_state, row.state.as_str());
    bump(&mut stats.reports_by_platform, r.incident.platform.clone().unwrap_or_else(|| "unknown".into()));
    bump(
        &mut stats.reports_by_class,
        r.assessment.industry_classification.map_or("unclassified", |c| c.as_str()),
    );
    let legal = r.assessment.legal.and_then(|l| serde_json::to_value(l).ok()?.as_str().map(String::from));
    bump(&mut stats.reports_by_assessment, legal.unwrap_or_else(|| "not_assessed".into()));
    for m in &r.matches {
        bump(&mut stats.matches, format!("{}/{}", m.list, m.signal));
    }
}

/// The times through the chain and the near-match decisions, gathered report by report.
#[derive(Default)]
struct Timings {
    to_match: Vec<f64>,
    to_decision: Vec<f64>,
    to_delivery: Vec<f64>,
    /// Near-match reports decided, and of those dismissed.
    near: (u64, u64),
}

impl Timings {
    fn add(&mut self, row: &Row, decision: Option<&Decision>) {
        let r = &row.report;
        let detected = unix(&r.incident.detected_at).unwrap_or(row.created_at);
        if let Some(up) = r.incident.uploaded_at.as_deref().and_then(unix) {
            self.to_match.push((detected - up) as f64);
        }
        if let Some(d) = decision {
            self.to_decision.push((d.at - detected) as f64);
        }
        if let Some(delivered) = row.delivered_at {
            self.to_delivery.push((delivered - decision.map_or(row.created_at, |d| d.at)) as f64);
        }
        let near = !r.matches.is_empty() && r.matches.iter().all(|m| m.signal == "pdq" && m.distance > 0);
        if near && (decision.is_some() || row.state == State::Dismissed) {
            self.near.0 += 1;
            self.near.1 += u64::from(row.state == State::Dismissed);
        }
    }
}

/// Decisions and reveals per analyst (for an administrator who asked).
fn per_analyst(facts: &AuditFacts) -> Vec<AnalystLoad> {
    let mut load: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for (_, a) in &facts.decisions {
        load.entry(a.clone()).or_default().0 += 1;
    }
    for (_, a) in &facts.reveals {
        load.entry(a.clone()).or_default().1 += 1;
    }
    load.into_iter()
        .map(|(analyst, (d, r))| AnalystLoad { analyst, decisions: Count(d), reveals: Count(r) })
        .collect()
}
