//! The statistics as JSON, CSV and a self-contained, printable HTML page with SVG charts.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::chart::{bars, Series, COLORS};
use crate::model::{Count, Stats, Times, Week};
use crate::text::{t, term, Key, Lang};

/// Pretty JSON (`hashline.stats/1`).
pub fn json(stats: &Stats) -> String {
    serde_json::to_string_pretty(stats).unwrap_or_default() + "\n"
}

/// CSV: `section,key,value`, one figure a row (counts as published: "< 5" for 1 to 4).
pub fn csv(stats: &Stats) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut row = |section: &str, key: &str, value: String| {
        let _ = w.write_record([section, key, value.as_str()]);
    };
    row("section", "key", "value".into());
    row("period", "from", stats.from.clone());
    row("period", "to", stats.to.clone());
    row("files_examined", "total", stats.files_examined_total.shown());
    for (section, map) in [
        ("files_examined", &stats.files_examined),
        ("matches", &stats.matches),
        ("reports_by_state", &stats.reports_by_state),
        ("reports_by_platform", &stats.reports_by_platform),
        ("reports_by_class", &stats.reports_by_class),
        ("reports_by_assessment", &stats.reports_by_assessment),
    ] {
        for (k, v) in map {
            row(section, k, v.shown());
        }
    }
    row("reports", "total", stats.reports_total.shown());
    row("reviews", "decisions", stats.decisions_total.shown());
    row("exposure", "reveals", stats.reveals_total.shown());
    let opt = |c: Option<Count>| c.map_or_else(String::new, Count::shown);
    row("reports", "retroactive", opt(stats.retroactive));
    row("reports", "quarantined", opt(stats.quarantined));
    let d = &stats.durations;
    for (name, times) in [
        ("upload_to_match", &d.upload_to_match),
        ("match_to_decision", &d.match_to_decision),
        ("decision_to_delivery", &d.decision_to_delivery),
    ] {
        row("durations", &format!("{name}.cases"), times.n.shown());
        row(
            "durations",
            &format!("{name}.median_s"),
            times.median_s.map_or_else(String::new, |v| v.to_string()),
        );
        row("durations", &format!("{name}.p95_s"), times.p95_s.map_or_else(String::new, |v| v.to_string()));
    }
    let nm = &stats.near_matches;
    row("near_matches", "decided", nm.decided.shown());
    row("near_matches", "dismissed", nm.dismissed.shown());
    row(
        "near_matches",
        "false_positive_rate",
        nm.false_positive_rate.map_or_else(String::new, |r| format!("{r:.4}")),
    );
    for wk in &stats.weeks {
        for (k, v) in [
            ("files_examined", wk.files_examined),
            ("reports", wk.reports),
            ("to_review", wk.to_review),
            ("decisions", wk.decisions),
            ("reveals", wk.reveals),
        ] {
            row("week", &format!("{}.{k}", wk.week_of), v.shown());
        }
    }
    for a in stats.per_analyst.iter().flatten() {
        row("analyst", &format!("{}.decisions", a.analyst), a.decisions.shown());
        row("analyst", &format!("{}.reveals", a.analyst), a.reveals.shown());
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn duration(lang: Lang, secs: Option<f64>) -> String {
    let Some(s) = secs else { return format!("<i>{}</i>", t(lang, Key::Withheld)) };
    if s < 120.0 {
        format!("{s:.0} {}", t(lang, Key::Seconds))
    } else if s < 2.0 * 3600.0 {
        format!("{:.0} {}", s / 60.0, t(lang, Key::Minutes))
    } else if s < 3.0 * 86_400.0 {
        format!("{:.1} {}", s / 3600.0, t(lang, Key::Hours))
    } else {
        format!("{:.1} {}", s / 86_400.0, t(lang, Key::Days))
    }
}

/// One row of a table: its heading cell and its cells (HTML, already escaped).
type Row = (String, Vec<String>);

/// A `<section>` with a heading and a table: an optional header row (`head`, HTML, its first
/// cell over the row headings) and `rows`.
fn section(out: &mut String, title: &str, head: &[String], rows: &[Row]) {
    let _ = write!(out, "<section><h2>{title}</h2><table>");
    if !head.is_empty() {
        out.push_str("<tr>");
        for h in head {
            let _ = write!(out, "<th>{h}</th>");
        }
        out.push_str("</tr>");
    }
    for (label, cells) in rows {
        let _ = write!(out, "<tr><th>{label}</th>");
        for c in cells {
            let _ = write!(out, "<td>{c}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</table></section>");
}

/// The rows of a count per name (names translated where they are hashline's own words).
fn count_rows(lang: Lang, map: &BTreeMap<String, Count>) -> Vec<Row> {
    map.iter().map(|(k, v)| (esc(&term(lang, k)), vec![esc(&v.shown())])).collect()
}

const CSS: &str = "body{font-family:'Noto Sans','Khmer OS','Khmer OS System',sans-serif;margin:2em auto;max-width:60em;color:#111;line-height:1.45}\
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.15em;margin:1.2em 0 .4em;border-bottom:1px solid #999}\
table{border-collapse:collapse;margin:.3em 0}th,td{padding:.2em .8em;border-bottom:1px solid #ddd;text-align:left}\
td{text-align:right;font-variant-numeric:tabular-nums}.note{color:#444;font-size:.9em}\
.grid{display:grid;grid-template-columns:1fr 1fr;gap:0 2em}figure{margin:1em 0;page-break-inside:avoid}\
svg{max-width:100%;height:auto}section{page-break-inside:avoid}\
@page{size:A4;margin:15mm}@media print{body{margin:0;max-width:none}.grid{display:block}}";

/// The self-contained HTML page: no script, no external file; prints on A4.
pub fn html(stats: &Stats, lang: Lang) -> String {
    let mut o = String::new();
    heading(&mut o, stats, lang);
    charts(&mut o, stats, lang);
    let tr = |k| esc(t(lang, k));
    o.push_str("<div class=\"grid\">");
    for (title, map) in [
        (Key::ByChannel, &stats.files_examined),
        (Key::MatchesByList, &stats.matches),
        (Key::ByState, &stats.reports_by_state),
        (Key::ByPlatform, &stats.reports_by_platform),
        (Key::ByClass, &stats.reports_by_class),
        (Key::ByAssessment, &stats.reports_by_assessment),
    ] {
        section(&mut o, &tr(title), &[], &count_rows(lang, map));
    }
    o.push_str("</div>");
    let d = &stats.durations;
    let times =
        |k, x: &Times| (tr(k), vec![esc(&x.n.shown()), duration(lang, x.median_s), duration(lang, x.p95_s)]);
    section(
        &mut o,
        &tr(Key::Durations),
        &[String::new(), tr(Key::Cases), tr(Key::Median), tr(Key::P95)],
        &[
            times(Key::UploadToMatch, &d.upload_to_match),
            times(Key::MatchToDecision, &d.match_to_decision),
            times(Key::DecisionToDelivery, &d.decision_to_delivery),
        ],
    );
    let nm = &stats.near_matches;
    let rate = nm
        .false_positive_rate
        .map_or(format!("<i>{}</i>", tr(Key::Withheld)), |r| format!("{:.1} %", r * 100.0));
    section(
        &mut o,
        &tr(Key::NearMatches),
        &[],
        &[
            (tr(Key::Decided), vec![esc(&nm.decided.shown())]),
            (tr(Key::Dismissed), vec![esc(&nm.dismissed.shown())]),
            (tr(Key::FalsePositiveRate), vec![rate]),
        ],
    );
    let weeks: Vec<Row> = stats
        .weeks
        .iter()
        .map(|w| {
            let cells = [w.files_examined, w.reports, w.to_review, w.decisions, w.reveals];
            (esc(&w.week_of), cells.iter().map(|c| esc(&c.shown())).collect())
        })
        .collect();
    let head =
        [Key::WeekOf, Key::FilesExamined, Key::Reports, Key::ToReview, Key::Decisions, Key::Reveals].map(tr);
    section(&mut o, &tr(Key::Weekly), &head, &weeks);
    if let Some(per) = &stats.per_analyst {
        let rows: Vec<Row> = per
            .iter()
            .map(|a| (esc(&a.analyst), vec![esc(&a.decisions.shown()), esc(&a.reveals.shown())]))
            .collect();
        section(
            &mut o,
            &tr(Key::PerAnalyst),
            &[tr(Key::Analyst), tr(Key::Decisions), tr(Key::Reveals)],
            &rows,
        );
    }
    o.push_str("</body></html>\n");
    o
}

/// The document head, the title, the period and the rules, and the summary table.
fn heading(o: &mut String, stats: &Stats, lang: Lang) {
    let tr = |k| esc(t(lang, k));
    let (from, to) = (esc(&stats.from), esc(&stats.to));
    let _ = write!(
        o,
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{} {from} – {to}</title>\
         <style>{CSS}</style></head><body><h1>{}</h1><p>{}: <b>{from}</b> – <b>{to}</b> · {}: {}</p>\
         <p class=\"note\">{}</p><p class=\"note\">{}</p>",
        lang.tag(),
        tr(Key::Title),
        tr(Key::Title),
        tr(Key::Period),
        tr(Key::Generated),
        esc(&stats.generated_at),
        tr(Key::AggregateOnly),
        tr(Key::SmallCounts)
    );
    let shown = |c: Count| esc(&c.shown());
    let opt = |c: Option<Count>| c.map_or(format!("<i>{}</i>", tr(Key::NotRecorded)), shown);
    let rows = [
        (Key::FilesExamined, shown(stats.files_examined_total)),
        (Key::Reports, shown(stats.reports_total)),
        (Key::Decisions, shown(stats.decisions_total)),
        (Key::Reveals, shown(stats.reveals_total)),
        (Key::Retroactive, opt(stats.retroactive)),
        (Key::Quarantined, opt(stats.quarantined)),
    ]
    .map(|(k, v)| (tr(k), vec![v]));
    section(o, &tr(Key::Summary), &[], &rows);
}

/// The three charts: reports per week, workload per week, reports by class.
fn charts(o: &mut String, stats: &Stats, lang: Lang) {
    let weeks: Vec<String> = stats.weeks.iter().map(|w| w.week_of.clone()).collect();
    type Pick = fn(&Week) -> Count;
    let weekly = |title: Key, series: [(Key, usize, Pick); 2]| {
        let series = series.map(|(name, color, pick)| Series {
            name: t(lang, name),
            color: COLORS[color],
            values: stats.weeks.iter().map(pick).collect(),
        });
        bars(t(lang, title), &weeks, &series, 760, 300)
    };
    let classes: Vec<String> = stats.reports_by_class.keys().map(|k| term(lang, k)).collect();
    let by_class = Series {
        name: t(lang, Key::Reports),
        color: COLORS[0],
        values: stats.reports_by_class.values().copied().collect(),
    };
    for svg in [
        weekly(Key::ChartReports, [(Key::Reports, 0, |w| w.reports), (Key::ToReview, 1, |w| w.to_review)]),
        weekly(
            Key::ChartWorkload,
            [(Key::Decisions, 2, |w| w.decisions), (Key::RevealsShort, 1, |w| w.reveals)],
        ),
        bars(t(lang, Key::ChartClass), &classes, &[by_class], 760, 280),
    ] {
        let _ = write!(o, "<figure>{svg}</figure>");
    }
    let _ = write!(o, "<p class=\"note\">{}</p>", esc(t(lang, Key::LighterBars)));
}
