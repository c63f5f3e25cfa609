//! Statistics over a fixture data folder with known counts (synthetic hashes, benign names):
//! every figure equals the fixture's truth, small counts are withheld, and no hash, id, file
//! name or account appears in any output format.
#![allow(clippy::unwrap_used)]

use hashline_report::{
    Actor, Assessment, Channel, DataDir, Detection, FileInfo, Recorded, ReportStage, Reporter, Uploader,
};
use hashline_stats::{collect, render, Count, Lang, Period, Request, Source};

const ANALYSTS: [&str; 2] = ["analyst-ana", "analyst-sok"];

fn rfc3339(unix: i64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix as u64))
        .to_string()
}

fn detection(
    i: usize,
    platform: &str,
    signal: &str,
    distance: u32,
    class: Option<&str>,
    detected: i64,
) -> Detection {
    Detection {
        upload_id: format!("secret-upload-{i:03}"),
        channel: Channel::Kafka,
        detected_at: rfc3339(detected),
        uploaded_at: Some(rfc3339(detected - 2)),
        platform: Some(platform.into()),
        source_url: Some(format!("https://photos.example.org/p/secret-{i}")),
        uploader: Some(Uploader {
            account_id: Some(format!("acct-secret-{i}")),
            screen_name: Some(format!("screen-secret-{i}")),
            ip: None,
        }),
        file: FileInfo {
            name: Some(format!("holiday-secret-{i}.jpg")),
            size: 1000 + i as u64,
            content_type: Some("image/jpeg".into()),
            md5: format!("{i:032x}"),
            sha1: format!("{:040x}", i + 1_000_000),
            sha256: format!("{:064x}", i + 2_000_000),
            pdq: Some(format!("{:064x}", i + 3_000_000)),
            pdq_quality: Some(90),
            ..FileInfo::default()
        },
        matches: vec![hashline_lists::Match {
            list: "synthetic-known".into(),
            source: "fixture".into(),
            list_version: 1,
            entry_id: format!("entry-secret-{i}"),
            classification: class.map(Into::into),
            signal: hashline_lists::SignalType::parse_lenient(signal),
            value: if signal == "md5" {
                format!("{:032x}", i + 9_000_000)
            } else {
                format!("{:064x}", i + 9_000_000)
            },
            distance,
            dihedral: None,
            border_trimmed: None,
            pytx_conversion: false,
            video: None,
        }],
        retroactive: None,
    }
}

struct Fixture {
    dir: std::path::PathBuf,
    data: DataDir,
    /// Every identifying string the fixture wrote (none may appear in the statistics).
    secrets: Vec<String>,
}

fn fixture() -> Fixture {
    let dir = std::env::temp_dir().join(format!("hashline-stats-{}", hashline_report::random_id()));
    let data = DataDir::open(&dir, &Default::default()).unwrap();
    let reporter =
        Reporter { organisation: "Fixture".into(), contact: "x@example.org".into(), country: "KH".into() };
    let stage = ReportStage::new(&data, reporter, Default::default());
    let now = hashline_report::unix_now();
    data.outbox.add_examined(Channel::Scan, now, 1000).unwrap();
    data.outbox.add_examined(Channel::Kafka, now, 250).unwrap();
    let mut secrets = Vec::new();
    let mut record = |d: Detection| -> hashline_report::Report {
        secrets.extend([
            d.upload_id.clone(),
            d.file.md5.clone(),
            d.file.sha256.clone(),
            d.file.name.clone().unwrap(),
        ]);
        secrets.extend([
            d.uploader.as_ref().unwrap().account_id.clone().unwrap(),
            d.matches[0].entry_id.clone(),
        ]);
        secrets.push(d.matches[0].value.clone());
        match stage.record(&d, None).unwrap().unwrap() {
            Recorded::Queued(r, _) => *r,
            Recorded::Duplicate(_) => panic!("no duplicates in the fixture"),
        }
    };
    // 6 exact MD5 matches on platform A, class A1: sent without review; 4 delivered.
    let mut ids = Vec::new();
    for i in 0..6 {
        let r = record(detection(i, "photos-a", "md5", 0, Some("A1"), now - 60));
        ids.push(r.report_id.clone());
        if i < 4 {
            let seq = data.outbox.get(&r.report_id).unwrap().seq;
            data.outbox.mark_delivered(seq).unwrap();
        }
    }
    // 1 exact match on a small platform, unclassified: a count that must be withheld.
    ids.push(record(detection(6, "tiny-forum", "md5", 0, None, now - 60)).report_id);
    // 7 near PDQ matches on platform B, class B2: reviewed; 5 confirmed (baseline), 2 dismissed.
    for i in 7..14 {
        let r = record(detection(i, "photos-b", "pdq", 12, Some("B2"), now - 3600));
        ids.push(r.report_id.clone());
        let analyst = ANALYSTS[i % 2];
        let actor = Actor::User(analyst.into());
        if i < 12 {
            let assessment = Assessment {
                legal: Some(hashline_report::LegalAssessment::Baseline),
                ..r.assessment.clone()
            };
            data.outbox.confirm(&r.report_id, analyst, Some(assessment)).unwrap();
            data.audit.append(&actor, "case.confirm", &r.report_id, Default::default()).unwrap();
        } else {
            data.outbox.dismiss(&r.report_id, "a different picture").unwrap();
            data.audit.append(&actor, "case.dismiss", &r.report_id, Default::default()).unwrap();
        }
    }
    // 9 reveals: 6 by one analyst, 3 by the other.
    for i in 0..9 {
        let actor = Actor::User(ANALYSTS[usize::from(i >= 6)].into());
        data.audit.append(&actor, "case.reveal", &ids[7 + i % 7], Default::default()).unwrap();
    }
    secrets.extend(ids);
    secrets.extend(ANALYSTS.map(String::from));
    Fixture { dir, data, secrets }
}

fn this_week() -> Period {
    let today = hashline_report::unix_now().div_euclid(86_400);
    let date = |d: i64| rfc3339(d * 86_400)[..10].to_string();
    Period::parse(&date(today - 6), &date(today)).unwrap()
}

type Pairs = Vec<(String, String)>;

fn shown(m: &std::collections::BTreeMap<String, Count>) -> Pairs {
    m.iter().map(|(k, v)| (k.clone(), v.shown())).collect()
}

fn pairs(v: &[(&str, &str)]) -> Pairs {
    v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[test]
fn every_figure_equals_the_fixtures_truth() {
    let f = fixture();
    let source = Source { outbox: &f.data.outbox, audit_log: f.data.audit.path() };
    let s = collect(&[source], Request { period: this_week(), per_analyst: false }).unwrap();
    assert_eq!(s.files_examined_total, Count(1250));
    assert_eq!(shown(&s.files_examined), pairs(&[("kafka", "250"), ("scan", "1000")]));
    assert_eq!(s.reports_total, Count(14));
    assert_eq!(
        shown(&s.reports_by_state),
        pairs(&[("delivered", "< 5"), ("dismissed", "< 5"), ("pending", "8")])
    );
    assert_eq!(
        s.reports_by_state["delivered"],
        Count(4),
        "the exact figure is kept inside, withheld when shown"
    );
    assert_eq!(
        shown(&s.reports_by_platform),
        pairs(&[("photos-a", "6"), ("photos-b", "7"), ("tiny-forum", "< 5")])
    );
    assert_eq!(shown(&s.reports_by_class), pairs(&[("A1", "6"), ("B2", "7"), ("unclassified", "< 5")]));
    assert_eq!(shown(&s.reports_by_assessment), pairs(&[("baseline", "5"), ("not_assessed", "9")]));
    assert_eq!(shown(&s.matches), pairs(&[("synthetic-known/md5", "7"), ("synthetic-known/pdq", "7")]));
    assert_eq!((s.decisions_total, s.reveals_total), (Count(7), Count(9)));
    assert_eq!((s.near_matches.decided, s.near_matches.dismissed), (Count(7), Count(2)));
    assert!((s.near_matches.false_positive_rate.unwrap() - 2.0 / 7.0).abs() < 1e-9);
    let d = &s.durations;
    assert_eq!(
        (d.upload_to_match.n, d.upload_to_match.median_s, d.upload_to_match.p95_s),
        (Count(14), Some(2.0), Some(2.0))
    );
    assert_eq!(d.match_to_decision.n, Count(7));
    let m = d.match_to_decision.median_s.unwrap();
    assert!((3600.0..3660.0).contains(&m), "decided about an hour after the match: {m}");
    assert_eq!(d.decision_to_delivery.n, Count(4));
    assert_eq!(d.decision_to_delivery.median_s, None, "fewer than 5 deliveries: withheld");
    let total = |f: fn(&hashline_stats::Week) -> Count| s.weeks.iter().map(|w| f(w).0).sum::<u64>();
    assert_eq!(total(|w| w.reports), 14);
    assert_eq!(total(|w| w.to_review), 7);
    assert_eq!(total(|w| w.decisions), 7);
    assert_eq!(total(|w| w.reveals), 9);
    assert_eq!(total(|w| w.files_examined), 1250);
    assert_eq!((s.retroactive, s.quarantined, &s.per_analyst), (None, None, &None));
    // A period before any of it: zeros, not errors.
    let old = Period::parse("2020-01-01", "2020-01-31").unwrap();
    let empty = collect(&[source], Request { period: old, per_analyst: false }).unwrap();
    assert_eq!(
        (empty.reports_total, empty.files_examined_total, empty.reveals_total),
        (Count(0), Count(0), Count(0))
    );
    std::fs::remove_dir_all(&f.dir).unwrap();
}

#[test]
fn no_hash_id_file_name_or_account_appears_in_any_output_and_names_only_when_asked() {
    let f = fixture();
    let source = Source { outbox: &f.data.outbox, audit_log: f.data.audit.path() };
    let s = collect(&[source], Request { period: this_week(), per_analyst: false }).unwrap();
    let outputs = [render::json(&s), render::csv(&s), render::html(&s, Lang::En), render::html(&s, Lang::Km)];
    for out in &outputs {
        for secret in &f.secrets {
            assert!(!out.contains(secret.as_str()), "{secret} appears in the statistics");
        }
        assert!(!out.contains("secret"), "nothing of the fixture's identifying strings");
        assert!(out.contains("< 5") || out.contains("&lt; 5"), "small counts are withheld");
    }
    assert!(outputs[3].contains("lang=\"km\"") && outputs[3].contains("ស្ថិតិ"));
    assert_eq!(outputs[2].matches("<svg").count(), 3, "three charts");
    // An administrator's per-analyst view names the analysts, with the same suppression.
    let s = collect(&[source], Request { period: this_week(), per_analyst: true }).unwrap();
    let per = s.per_analyst.clone().unwrap();
    assert_eq!(per.len(), 2);
    let ana = per.iter().find(|a| a.analyst == "analyst-ana").unwrap();
    let sok = per.iter().find(|a| a.analyst == "analyst-sok").unwrap();
    // Reports 7..14 alternate: sok decides the odd ones (4), ana the even ones (3).
    assert_eq!(
        (ana.decisions, ana.reveals, sok.decisions, sok.reveals),
        (Count(3), Count(6), Count(4), Count(3))
    );
    assert!(render::html(&s, Lang::En).contains("analyst-ana"));
    std::fs::remove_dir_all(&f.dir).unwrap();
}

#[test]
fn a_tampered_audit_log_gives_no_statistics() {
    let f = fixture();
    let log = f.data.audit.path().to_path_buf();
    let text = std::fs::read_to_string(&log).unwrap().replacen("case.dismiss", "case.confirm", 1);
    std::fs::write(&log, text).unwrap();
    let source = Source { outbox: &f.data.outbox, audit_log: &log };
    let err = collect(&[source], Request { period: this_week(), per_analyst: false }).unwrap_err();
    assert!(err.to_string().contains("audit log"), "{err}");
    std::fs::remove_dir_all(&f.dir).unwrap();
}
