//! The report chain through the binary: scan commits schema-valid reports to the outbox
//! (exact digest matches pending, PDQ near matches in review), evidence is preserved
//! encrypted, `hashline reporter` delivers to a (test) hotline, a rescan reports nothing
//! twice, exports and the audit log work, and a reporter killed between the outbox commit and
//! the hotline's answer delivers after restart, once.

#![allow(clippy::unwrap_used)]

mod util;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hashline_report::testing::{validate_with_python, Act, TestHotline};
use util::{hashline_in, TempDir};

const KEY: &str = "4242424242424242424242424242424242424242424242424242424242424242";

/// A store whose list has the MD5 of `exact` and the PDQ of `near` (the shared fixture), and
/// the delivery settings every command below reads from `dir`'s hashline.toml.
fn setup(dir: &TempDir) -> (String, Vec<u8>, Vec<u8>) {
    dir.write("hashline.toml", util::TEST_DELIVERY_TOML.as_bytes());
    let k = util::known_store(dir, 360, 240, 70, "A2");
    (k.store, k.exact, k.near)
}

fn reports_in(dir: &std::path::Path) -> Vec<serde_json::Value> {
    let mut v: Vec<serde_json::Value> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap() != "summary.json")
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect();
    v.sort_by_key(|r| r["file"]["name"].as_str().unwrap().to_string());
    v
}

#[test]
fn scan_to_outbox_to_hotline_with_evidence_exports_and_audit() {
    let dir = TempDir::new("reports");
    let (store, exact, near) = setup(&dir);
    dir.write("media/a-exact-copy.png", &exact);
    dir.write("media/b-near-copy.jpg", &near);
    dir.write("media/c-unrelated.txt", b"hello");
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap();
    let env = [("HASHLINE_EVIDENCE_KEY", KEY), ("HASHLINE_DATA_DIR", data_s)];
    let scan = |out: &str| hashline_in(dir.path(), &env, &["scan", "media", "--store", &store, "--out", out]);
    let out = scan("r1");
    assert_eq!(out.code, 1, "{}", out.stderr);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("r1/summary.json")).unwrap()).unwrap();
    assert_eq!(
        (summary["reports_queued"].as_u64(), summary["reports_for_review"].as_u64()),
        (Some(1), Some(1))
    );

    // The report files are hashline.report/1 and the independent validator agrees.
    let reports = reports_in(&dir.path().join("r1"));
    assert_eq!(reports.len(), 2);
    if let Some(results) = validate_with_python(&reports) {
        assert!(results.iter().all(Result::is_ok), "{results:?}");
    }
    assert_eq!(reports[0]["review"]["state"], "auto_reported");
    assert_eq!(reports[0]["matches"][0]["signal"], "md5");
    assert_eq!(reports[0]["assessment"]["industry_classification"], "A2");
    assert_eq!(reports[1]["review"]["state"], "pending_review");
    assert_eq!(reports[1]["matches"][0]["signal"], "pdq");
    assert!(reports[0]["evidence"]["id"].is_string(), "evidence preserved: {}", reports[0]);

    // A rescan reports nothing twice.
    let out = scan("r2");
    assert_eq!(out.code, 1, "{}", out.stderr);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("r2/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["reports_duplicate"], 2);
    assert_eq!(summary["reports_queued"], 0);

    // The reporter delivers the pending one; the one in review waits for an analyst.
    let hotline = TestHotline::start_background(vec![Act::Status(503)], Some("s3cret")).unwrap();
    let url = hotline.url();
    let denv = [
        ("HASHLINE_DATA_DIR", data_s),
        ("HASHLINE_HOTLINE_URL", url.as_str()),
        ("HASHLINE_HOTLINE_TOKEN", "s3cret"),
    ];
    let out = hashline_in(dir.path(), &denv, &["reporter", "--drain"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("report delivered"), "{}", out.stderr);
    let key = reports[0]["idempotency_key"].as_str().unwrap().to_string();
    assert_eq!(hotline.seen(|s| s.accepted.clone()), vec![key]);
    let stats = hashline_in(dir.path(), &denv, &["reports", "stats"]);
    let stats: serde_json::Value = serde_json::from_str(&stats.stdout).unwrap();
    assert_eq!(
        (stats["delivered"].as_u64(), stats["review"].as_u64(), stats["pending"].as_u64()),
        (Some(1), Some(1), Some(0))
    );

    // Exports.
    let id = reports[0]["report_id"].as_str().unwrap();
    let xml_dir = dir.path().join("xml");
    std::fs::create_dir_all(&xml_dir).unwrap();
    let out =
        hashline_in(dir.path(), &env, &["reports", "export", id, "--format", "ncmec-xml", "--out", "xml"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let details = std::fs::read_to_string(xml_dir.join(format!("{id}.fileDetails.xml"))).unwrap();
    assert!(details.contains("<industryClassification>A2</industryClassification>"), "{details}");
    let out = hashline_in(dir.path(), &env, &["reports", "show", &id[..12]]);
    assert_eq!(out.code, 0, "{}", out.stderr);

    // Evidence comes back byte-identical, only through an audited export.
    let ev = reports[0]["evidence"]["id"].as_str().unwrap();
    let out =
        hashline_in(dir.path(), &env, &["evidence", "export", ev, "--out", "ev.bin", "--reason", "case 17"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(std::fs::read(dir.path().join("ev.bin")).unwrap(), exact);
    let blobs: Vec<_> = std::fs::read_dir(data.join("evidence/blobs")).unwrap().collect();
    assert_eq!(blobs.len(), 2, "both matched files preserved, nothing else");
    let out = hashline_in(dir.path(), &[("HASHLINE_DATA_DIR", data_s)], &["evidence", "list"]);
    assert_ne!(out.code, 0, "no key, no evidence access");

    // The audit log has the view, the exports and the evidence read, and catches an edit.
    let log = std::fs::read_to_string(data.join("audit.log")).unwrap();
    for action in ["report.export", "report.view", "evidence.read"] {
        assert!(log.contains(action), "{action} missing from {log}");
    }
    assert!(
        !log.contains(reports[0]["file"]["sha256"].as_str().unwrap()),
        "no upload hashes in the audit log"
    );
    let out = hashline_in(dir.path(), &env, &["audit", "verify"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    std::fs::write(data.join("audit.log"), log.replacen("case 17", "case 18", 1)).unwrap();
    let out = hashline_in(dir.path(), &env, &["audit", "verify"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("changed after it was written"), "{}", out.stderr);
}

#[test]
fn reporter_killed_before_the_answer_delivers_once_after_restart() {
    let dir = TempDir::new("crash");
    let (store, exact, _) = setup(&dir);
    // Three uploads of the same listed file: three reports (different upload ids).
    for i in 0..3 {
        dir.write(&format!("media/{i}/copy.png"), &exact);
    }
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap();
    let out =
        hashline_in(dir.path(), &[("HASHLINE_DATA_DIR", data_s)], &["scan", "media", "--store", &store]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let list = hashline_in(dir.path(), &[("HASHLINE_DATA_DIR", data_s)], &["reports", "list", "--json"]);
    let keys: Vec<String> = list
        .json_lines()
        .iter()
        .map(|r| {
            let id = r["report_id"].as_str().unwrap();
            let show = hashline_in(dir.path(), &[("HASHLINE_DATA_DIR", data_s)], &["reports", "show", id]);
            serde_json::from_str::<serde_json::Value>(&show.stdout).unwrap()["idempotency_key"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(keys.len(), 3);

    // The hotline takes the first report and never answers; the reporter is killed meanwhile.
    let hotline =
        TestHotline::start_background(vec![Act::AcceptThenHang(Duration::from_secs(120))], None).unwrap();
    let url = hotline.url();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hashline"))
        .args(["reporter", "--data-dir", data_s])
        .current_dir(dir.path())
        .env("HASHLINE_HOTLINE_URL", &url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while hotline.seen(|s| s.requests.len()) == 0 {
        assert!(started.elapsed() < Duration::from_secs(30), "the reporter never called the hotline");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let stats = hashline_in(dir.path(), &[("HASHLINE_DATA_DIR", data_s)], &["reports", "stats"]);
    let stats: serde_json::Value = serde_json::from_str(&stats.stdout).unwrap();
    assert_eq!(stats["pending"], 3, "nothing is marked delivered without the hotline's answer");

    // Restarted, it delivers everything; the hotline de-duplicates the repeat by key.
    let out = hashline_in(
        dir.path(),
        &[("HASHLINE_DATA_DIR", data_s), ("HASHLINE_HOTLINE_URL", &url)],
        &["reporter", "--drain"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    hotline.seen(|s| {
        assert_eq!(s.accepted, keys, "every report accepted once, in order");
        assert_eq!(s.requests.iter().filter(|k| **k == keys[0]).count(), 2, "the first was sent again");
    });
    let stats = hashline_in(dir.path(), &[("HASHLINE_DATA_DIR", data_s)], &["reports", "stats"]);
    let stats: serde_json::Value = serde_json::from_str(&stats.stdout).unwrap();
    assert_eq!(stats["delivered"], 3);
}

#[test]
fn not_illegal_is_never_delivered_or_exported_and_delivery_settings_are_checked() {
    let dir = TempDir::new("not-illegal");
    let (store, exact, near) = setup(&dir);
    dir.write("media/a-exact-copy.png", &exact);
    dir.write("media/b-near-copy.jpg", &near);
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap();
    let env = [("HASHLINE_DATA_DIR", data_s)];
    let out = hashline_in(dir.path(), &env, &["scan", "media", "--store", &store]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let outbox = hashline_report::Outbox::open(&data.join("outbox.db")).unwrap();
    // The near match waits for review; an analyst assesses it "not illegal".
    let review = outbox.list(Some(hashline_report::State::Review), 10).unwrap();
    assert_eq!(review.len(), 1);
    let id = review[0].report.report_id.clone();
    let mut a = review[0].report.assessment.clone();
    a.legal = Some(hashline_report::LegalAssessment::NotIllegal);
    let row = outbox.confirm(&id, "ana", Some(a.clone())).unwrap();
    assert_eq!(row.state, hashline_report::State::Dismissed);
    // And a report that reached the queue as pending with that assessment (a relayed event, a
    // hand-edited row) is not sent either.
    let mut sneaked = row.report.clone();
    sneaked.report_id = "00000000000000000000000000000abc".into();
    sneaked.incident.upload_id = "sneaked-upload".into();
    sneaked.idempotency_key = "ab".repeat(32);
    outbox.enqueue(sneaked, hashline_report::State::Pending).unwrap();

    let listed = hashline_in(dir.path(), &env, &["reports", "list", "--state", "dismissed", "--json"]);
    assert_eq!(listed.json_lines().len(), 1, "{}", listed.stdout);
    let export = hashline_in(dir.path(), &env, &["reports", "export", &id, "--format", "ncmec-xml"]);
    assert_eq!(export.code, 2, "{}", export.stderr);
    assert!(export.stderr.contains("assessed not illegal"), "{}", export.stderr);
    assert!(!dir.path().join(format!("{id}.report.xml")).exists());

    let hotline = TestHotline::start_background(vec![], None).unwrap();
    let url = hotline.url();
    let denv = [("HASHLINE_DATA_DIR", data_s), ("HASHLINE_HOTLINE_URL", url.as_str())];
    let out = hashline_in(dir.path(), &denv, &["reporter", "--drain"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let sent = hotline.seen(|s| s.accepted.clone());
    assert_eq!(sent.len(), 1, "only the exact match is delivered: {sent:?}");
    assert_ne!(sent[0], "ab".repeat(32));
    let parked = outbox.list(Some(hashline_report::State::Parked), 10).unwrap();
    assert_eq!(parked.len(), 1);
    assert!(parked[0].last_error.as_deref().unwrap().contains("not illegal"), "{:?}", parked[0].last_error);

    // Delivery settings: placeholder organisation and plain http are refused before sending.
    let bare = TempDir::new("not-illegal-bare");
    let check = |cwd: &std::path::Path, url: &str| {
        hashline_in(
            cwd,
            &[("HASHLINE_DATA_DIR", data_s), ("HASHLINE_HOTLINE_URL", url)],
            &["reporter", "--check-config"],
        )
    };
    let out = check(bare.path(), "https://hotline.example/api");
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("organisation and contact still unconfigured"), "{}", out.stderr);
    bare.write("hashline.toml", b"[reporter]\norganisation = \"P\"\ncontact = \"c@p.invalid\"\n");
    let out = check(bare.path(), &url);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("is not https://"), "{}", out.stderr);
    let out = check(bare.path(), "https://hotline.example/api");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = hashline_in(bare.path(), &denv, &["reporter", "--drain"]);
    assert_eq!(out.code, 2, "the reporter itself refuses too: {}", out.stderr);
}
