//! `hashline run` against a real Kafka-protocol broker (tansu, SQLite engine) with an external
//! client (Python confluent-kafka) producing what a platform would: benign pictures, planted
//! copies of listed ones, corrupt images, non-images, records without an upload id or media.
//! Every upload must be accounted for: match events and reports for the planted copies, dead
//! letters for the unprocessable records, counters for the rest, offsets committed to the end.
//! Then the faults: kill -9 mid-stream and restart (three times), two instances sharing the
//! partitions through a rebalance, and the broker restarted mid-stream.
//!
//! Needs `tansu` (on PATH or `$TANSU`) and Python's `confluent_kafka`; `.ci/run` installs both.
//! Outside CI, the tests skip with a message when either is missing.

#![allow(clippy::unwrap_used)]

mod util;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use util::kafka::*;
use util::{bridge_like, encode_jpeg, encode_png, TempDir};

/// The media a test produces, and a store whose lists know some of it.
struct Media {
    store: String,
    listed: Vec<u8>,
    near: Vec<u8>,
    benign: Vec<Vec<u8>>,
    corrupt: Vec<u8>,
}

fn media(dir: &TempDir) -> Media {
    let (w, h) = (320usize, 200usize);
    let k = util::known_store(dir, w, h, 80, "A1");
    let benign: Vec<Vec<u8>> = (0..6u8)
        .map(|k| {
            let rgb: Vec<u8> = (0..w * h * 3)
                .map(|i| ((i / 3 % w) as u8).wrapping_mul(k + 2) ^ ((i / 3 / w) as u8))
                .collect();
            encode_png(&rgb, w, h)
        })
        .collect();
    let j = encode_jpeg(&bridge_like(w, h), w, h, 90);
    let corrupt = j[..j.len() / 3].to_vec();
    Media { store: k.store, listed: k.exact, near: k.near, benign, corrupt }
}

fn start_run(b: &Broker, m: &Media, data: &Path, group: &str) -> Run {
    start_run_with(b, m, data, group, "")
}

fn start_run_with(b: &Broker, m: &Media, data: &Path, group: &str, extra_kafka: &str) -> Run {
    start_run_cfg(b, m, data, group, extra_kafka, "")
}

/// `hashline run` with `extra_kafka` in `[kafka]` and `top` before it (other sections).
fn start_run_cfg(b: &Broker, m: &Media, data: &Path, group: &str, extra_kafka: &str, top: &str) -> Run {
    start_run_store(b, &m.store, data, group, extra_kafka, top)
}

#[test]
fn end_to_end_every_upload_accounted_for() {
    let Some(bin) = prerequisites() else { return };
    let dir = TempDir::new("kafka-e2e");
    let b = Broker::start(bin, dir.path());
    let m = media(&dir);
    let mut recs: Vec<Rec> = Vec::new();
    let id = |s: &str| Some(s.to_string());
    for (i, img) in m.benign.iter().enumerate() {
        recs.push(Rec { id: id(&format!("benign-{i}")), value: img.clone(), extra: vec![] });
    }
    recs.push(Rec {
        id: id("planted-1"),
        value: m.listed.clone(),
        extra: vec![
            ("hashline-uploader-id", "acct-1".into()),
            ("hashline-uploader-ip", "203.0.113.9".into()),
            ("hashline-file-name", "a.png".into()),
            ("hashline-uploaded-at", "2026-11-29T10:00:00Z".into()),
        ],
    });
    recs.push(Rec { id: id("planted-2"), value: m.listed.clone(), extra: vec![] });
    recs.push(Rec { id: id("near-1"), value: m.near.clone(), extra: vec![] });
    recs.push(Rec { id: id("corrupt-1"), value: m.corrupt.clone(), extra: vec![] });
    recs.push(Rec { id: id("text-1"), value: b"just some text, not an image".to_vec(), extra: vec![] });
    recs.push(Rec {
        id: None,
        value: m.benign[0].clone(),
        extra: vec![("hashline-file-name", "no-id.png".into())],
    });
    recs.push(Rec { id: id("empty-1"), value: vec![], extra: vec![] });
    produce(&b, dir.path(), &recs);

    let data = dir.path().join("data");
    let run = start_run(&b, &m, &data, "e2e");
    run.wait_for(recs.len() as u64, 120);
    let outcomes = run.outcomes();
    assert_eq!(outcomes.get("matched"), Some(&3), "{outcomes:?}");
    assert_eq!(outcomes.get("dead_letter"), Some(&2), "{outcomes:?}");
    assert_eq!(outcomes.get("no_match"), Some(&8), "{outcomes:?}");
    // The metrics pass promtool's lint, and the dashboard and alert rules ask only for metrics
    // this process really exports (the match API's are checked in serve.rs).
    // Lag comes from librdkafka's statistics (every 500 ms here): wait for a report.
    let started = Instant::now();
    let mut text = run.scrape();
    while !text.contains("hashline_consumer_lag{") && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(200));
        text = run.scrape();
    }
    util::promtool_check_metrics(&text);
    let exported = util::exported_names(&text);
    for name in util::deploy_metric_names().iter().filter(|n| !n.starts_with("hashline_api_")) {
        assert!(exported.contains(name), "deploy/ uses {name}, which hashline run does not export:\n{text}");
    }
    assert!(!text.contains("planted-1") && !text.contains("a.png"), "no upload ids or file names in metrics");
    let status = run.term();
    assert!(status.success(), "SIGTERM: drain, commit, exit 0 ({status:?})");
    assert!(
        committed_all(&b, "e2e"),
        "offsets committed to the end: {}",
        client(&["offsets", &b.addr(), "e2e", TOPICS[0]])
    );

    // Match events, keyed by upload id, carrying the report.
    let events = client(&["consume", &b.addr(), TOPICS[1], "3", "30"]);
    let mut keys: Vec<&str> = events.as_array().unwrap().iter().map(|e| e["key"].as_str().unwrap()).collect();
    keys.sort();
    assert_eq!(keys, ["near-1", "planted-1", "planted-2"]);
    for e in events.as_array().unwrap() {
        let ev: Value = serde_json::from_str(e["value"].as_str().unwrap()).unwrap();
        assert_eq!(ev["schema"], "hashline.match-event/1");
        assert_eq!(ev["report"]["schema"], "hashline.report/1");
        let want = if e["key"] == "near-1" { "review" } else { "pending" };
        assert_eq!(ev["disposition"], want, "{ev}");
        if e["key"] == "planted-1" {
            assert_eq!(ev["report"]["uploader"]["ip"]["address"], "203.0.113.9");
            assert_eq!(ev["report"]["file"]["name"], "a.png");
            assert_eq!(ev["report"]["incident"]["channel"], "kafka");
        }
    }
    // Schema-valid reports, through the independent validator.
    let reports: Vec<Value> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| serde_json::from_str::<Value>(e["value"].as_str().unwrap()).unwrap()["report"].clone())
        .collect();
    if let Some(results) = hashline_report::testing::validate_with_python(&reports) {
        assert!(results.iter().all(Result::is_ok), "{results:?}");
    }
    // Dead letters keep the original headers and say why.
    let dead = client(&["consume", &b.addr(), TOPICS[2], "2", "30"]);
    let dead = dead.as_array().unwrap();
    assert_eq!(dead.len(), 2);
    let no_id = dead.iter().find(|d| d["headers"].get("hashline-upload-id").is_none()).unwrap();
    assert_eq!(no_id["headers"]["hashline-file-name"], "no-id.png");
    assert!(no_id["headers"]["hashline-error"].as_str().unwrap().contains("hashline-upload-id"));
    assert!(no_id["value"].as_u64().unwrap() > 0, "the original bytes are kept");
    let empty = dead.iter().find(|d| d["headers"]["hashline-upload-id"] == "empty-1").unwrap();
    assert!(empty["headers"]["hashline-error"].as_str().unwrap().contains("no media"));
    // The outbox: two reports to deliver, one for review.
    let rows = outbox_reports(&data);
    let states: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r["upload_id"].as_str().unwrap().to_string(), r["state"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        states,
        BTreeSet::from([
            ("near-1".to_string(), "review".to_string()),
            ("planted-1".to_string(), "pending".to_string()),
            ("planted-2".to_string(), "pending".to_string())
        ])
    );
}

/// 60 uploads, every 6th a planted copy.
fn stream(m: &Media) -> (Vec<Rec>, usize) {
    let recs: Vec<Rec> = (0..60)
        .map(|i| Rec {
            id: Some(format!("u-{i:03}")),
            value: if i % 6 == 0 { m.listed.clone() } else { m.benign[i % m.benign.len()].clone() },
            extra: vec![],
        })
        .collect();
    (recs, 10)
}

#[test]
fn kill_9_three_times_loses_nothing_and_reports_once() {
    let Some(bin) = prerequisites() else { return };
    let dir = TempDir::new("kafka-kill");
    let b = Broker::start(bin, dir.path());
    let m = media(&dir);
    let (recs, planted) = stream(&m);
    produce(&b, dir.path(), &recs);
    let data = dir.path().join("data");
    for round in 0..3u64 {
        let run = start_run(&b, &m, &data, "kill");
        // Let it get some way into the stream, then kill it without warning.
        run.wait_for(5, 120);
        std::thread::sleep(Duration::from_millis(100 * round));
        run.kill9();
    }
    let run = start_run(&b, &m, &data, "kill");
    let started = Instant::now();
    while !committed_all(&b, "kill") {
        assert!(started.elapsed() < Duration::from_secs(120), "never caught up");
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(run.term().success());
    let rows = outbox_reports(&data);
    let ids: BTreeSet<&str> = rows.iter().map(|r| r["upload_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), planted, "every planted copy has its report: {ids:?}");
    assert_eq!(rows.len(), planted, "and only one: replays after the kills made no second report");
    let events = client(&["consume", &b.addr(), TOPICS[1], "1000", "15"]);
    let keys: BTreeSet<&str> =
        events.as_array().unwrap().iter().map(|e| e["key"].as_str().unwrap()).collect();
    assert_eq!(keys.len(), planted, "a match event for every planted copy (repeats allowed: at-least-once)");
}

#[test]
fn two_instances_share_partitions_and_survive_a_rebalance_and_a_broker_restart() {
    let Some(bin) = prerequisites() else { return };
    let dir = TempDir::new("kafka-group");
    let mut b = Broker::start(bin, dir.path());
    let m = media(&dir);
    let (recs, planted) = stream(&m);
    let (first, second) = recs.split_at(30);
    let (da, db) = (dir.path().join("data-a"), dir.path().join("data-b"));
    let a = start_run(&b, &m, &da, "group");
    let bb = start_run(&b, &m, &db, "group");
    // Both members hold partitions before anything is produced.
    let started = Instant::now();
    while !(a.assigned() > 0 && bb.assigned() > 0 && a.assigned() + bb.assigned() == 3) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "assignment: a {} b {}",
            a.assigned(),
            bb.assigned()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    produce(&b, dir.path(), first);
    let started = Instant::now();
    while a.processed() + bb.processed() < 30 {
        assert!(started.elapsed() < Duration::from_secs(120), "a {:?} b {:?}", a.outcomes(), bb.outcomes());
        std::thread::sleep(Duration::from_millis(200));
    }
    let (na, nb) = (a.processed(), bb.processed());
    assert!(na > 0 && nb > 0, "both instances got partitions: {na} and {nb}");
    // B leaves (rebalance: A takes its partitions); the broker restarts under A.
    assert!(bb.term().success());
    b.stop();
    std::thread::sleep(Duration::from_secs(1));
    b.spawn();
    produce(&b, dir.path(), second);
    let started = Instant::now();
    while !committed_all(&b, "group") {
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "A never caught up after the rebalance and restart"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(a.term().success());
    let mut ids = BTreeSet::new();
    for d in [&da, &db] {
        let rows = outbox_reports(d);
        let here: BTreeSet<String> =
            rows.iter().map(|r| r["upload_id"].as_str().unwrap().to_string()).collect();
        assert_eq!(here.len(), rows.len(), "no instance reports an upload twice");
        ids.extend(here);
    }
    assert_eq!(ids.len(), planted, "every planted copy reported by one instance or the other: {ids:?}");
}

#[test]
fn a_listed_md5_over_the_byte_limit_still_matches() {
    let Some(bin) = prerequisites() else { return };
    let dir = TempDir::new("kafka-oversize");
    let b = Broker::start(bin, dir.path());
    let m = media(&dir);
    // The listed picture is several KB; the limit is 1,000 bytes: no PDQ, but its MD5 matches.
    assert!(m.listed.len() > 1000);
    let recs = vec![
        Rec { id: Some("big-listed".into()), value: m.listed.clone(), extra: vec![] },
        Rec { id: Some("big-other".into()), value: m.benign[0].clone(), extra: vec![] },
    ];
    produce(&b, dir.path(), &recs);
    let data = dir.path().join("data");
    let run = start_run_cfg(&b, &m, &data, "oversize", "", "[hash]\nmax_input_bytes = 1000\n");
    run.wait_for(2, 60);
    let outcomes = run.outcomes();
    assert!(run.term().success());
    assert_eq!(outcomes.get("dead_letter").copied().unwrap_or(0), 0, "{outcomes:?}");
    let rows = outbox_reports(&data);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["upload_id"], "big-listed");
    let shown = util::hashline_in(
        Path::new("."),
        &[("HASHLINE_DATA_DIR", data.to_str().unwrap())],
        &["reports", "show", rows[0]["report_id"].as_str().unwrap()],
    );
    let report: Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(report["matches"][0]["signal"], "md5");
    assert!(report["file"]["pdq_skipped"].as_str().unwrap().contains("limit"), "{report}");
}

#[test]
fn scaled_out_scanners_relay_to_one_reporter_that_delivers_once() {
    let Some(bin) = prerequisites() else { return };
    let dir = TempDir::new("kafka-relay");
    let b = Broker::start(bin, dir.path());
    let m = media(&dir);
    let (recs, planted) = stream(&m);
    produce(&b, dir.path(), &recs);
    // Two scanners in relay mode (they never talk to the hotline), signing their match events
    // with the relay key they share with the reporter ...
    let key = dir.write("relay.key", "5a".repeat(32).as_bytes());
    let relay = format!("delivery = \"relay\"\nrelay_key_file = \"{}\"\n", key.display());
    let (da, db) = (dir.path().join("scan-a"), dir.path().join("scan-b"));
    let a = start_run_with(&b, &m, &da, "relay", &relay);
    let c = start_run_with(&b, &m, &db, "relay", &relay);
    let started = Instant::now();
    while !committed_all(&b, "relay") {
        assert!(started.elapsed() < Duration::from_secs(120), "scanners never caught up");
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(a.term().success() && c.term().success());
    for d in [&da, &db] {
        assert!(
            outbox_reports(d).iter().all(|r| r["state"] == "relayed"),
            "scanner journals are marked relayed"
        );
    }
    // Anyone else who can produce to the match topic: a pending event for an upload nobody
    // made, without a MAC and with a MAC under another key. The reporter must take neither.
    // (A report of either scanner: one of them may have had every partition.)
    let (scanner, row) = [&da, &db]
        .into_iter()
        .find_map(|d| outbox_reports(d).into_iter().next().map(|r| (d, r)))
        .expect("the scanners reported the planted copies");
    let real = util::hashline_in(
        Path::new("."),
        &[("HASHLINE_DATA_DIR", scanner.to_str().unwrap())],
        &["reports", "show", row["report_id"].as_str().unwrap()],
    );
    let mut report: Value = serde_json::from_str(&real.stdout).unwrap();
    report["report_id"] = "f".repeat(32).into();
    report["idempotency_key"] = "e".repeat(64).into();
    report["incident"]["upload_id"] = "forged-upload".into();
    let event = json!({"schema": "hashline.match-event/1", "report": report, "disposition": "pending", "origin": "x/0/0"});
    let forged = serde_json::to_vec(&event).unwrap();
    produce_to(
        &b,
        dir.path(),
        TOPICS[1],
        &[
            Rec { id: Some("forged-upload".into()), value: forged.clone(), extra: vec![] },
            Rec {
                id: Some("forged-upload".into()),
                value: forged,
                extra: vec![("hashline-mac", "00".repeat(32))],
            },
        ],
    );
    // ... and one reporter that consumes the match events and delivers.
    let hotline = hashline_report::testing::TestHotline::start_background(vec![], None).unwrap();
    let central = dir.path().join("central");
    let cfg = dir.path().join("reporter.toml");
    std::fs::write(
        &cfg,
        format!(
            "{}[kafka]\nbrokers = \"{}\"\ngroup = \"relay\"\nrelay_key_file = \"{}\"\n",
            util::TEST_DELIVERY_TOML,
            b.addr(),
            key.display()
        ),
    )
    .unwrap();
    let mut reporter = Command::new(env!("CARGO_BIN_EXE_hashline"))
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "reporter",
            "--from-kafka",
            "--data-dir",
            central.to_str().unwrap(),
        ])
        .env("HASHLINE_HOTLINE_URL", hotline.url())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while hotline.seen(|s| s.accepted.len()) < planted {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "delivered {}",
            hotline.seen(|s| s.accepted.len())
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(500));
    Command::new("kill").args(["-TERM", &reporter.id().to_string()]).status().unwrap();
    assert!(reporter.wait().unwrap().success());
    assert_eq!(hotline.seen(|s| s.accepted.len()), planted, "each planted copy delivered once");
    let rows = outbox_reports(&central);
    assert_eq!(rows.len(), planted, "the forged events added nothing");
    assert!(rows.iter().all(|r| r["state"] == "delivered"));
    assert!(rows.iter().all(|r| r["upload_id"] != "forged-upload"));
}

/// Hashes and matches as the three sources report them: `(md5, sha256, pdq, [(list, entry,
/// distance)])`.
type Answer = (String, String, Option<String>, Vec<(String, String, u64)>);

/// `(list, entry, distance)` of every match in a JSON array of matches, sorted.
fn sorted_matches(matches: &Value) -> Vec<(String, String, u64)> {
    let mut m: Vec<(String, String, u64)> = matches
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["list"].as_str().unwrap().into(),
                m["entry_id"].as_str().unwrap().into(),
                m["distance"].as_u64().unwrap(),
            )
        })
        .collect();
    m.sort();
    m
}

fn answer_of_report(r: &Value) -> Answer {
    let m = sorted_matches(&r["matches"]);
    let f = &r["file"];
    (
        f["md5"].as_str().unwrap().into(),
        f["sha256"].as_str().unwrap().into(),
        f["pdq"].as_str().map(Into::into),
        m,
    )
}

/// Every report in `data`'s outbox as an [`Answer`] and its state, by the name `key` picks.
fn answers(data: &Path, key: impl Fn(&Value) -> &Value) -> BTreeMap<String, (Answer, String)> {
    outbox_reports(data)
        .iter()
        .map(|row| {
            let shown = util::hashline_in(
                Path::new("."),
                &[("HASHLINE_DATA_DIR", data.to_str().unwrap())],
                &["reports", "show", row["report_id"].as_str().unwrap()],
            );
            let r: Value = serde_json::from_str(&shown.stdout).unwrap();
            (
                key(&r).as_str().unwrap().to_string(),
                (answer_of_report(&r), row["state"].as_str().unwrap().to_string()),
            )
        })
        .collect()
}

/// `hashline serve` with `cfg`, answering on a free port; killed when dropped.
struct Serve(Child, String);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_serve(cfg: &Path, store: &str, data: &Path) -> Serve {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_hashline"))
        .args(["--config", cfg.to_str().unwrap(), "serve", "--no-pages", "--store", store])
        .args(["--data-dir", data.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .env("HASHLINE_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("serve exited before serving").unwrap();
        if let Some(rest) = line.split("addr=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Serve(child, addr)
}

#[test]
fn the_same_files_through_scan_run_and_the_api_give_the_same_answers() {
    let Some(bin) = prerequisites() else { return };
    let dir = TempDir::new("kafka-equivalence");
    let b = Broker::start(bin, dir.path());
    let k = util::known_store(&dir, 320, 200, 80, "A1");
    // One byte limit for all three sources, from one configuration file.
    let limit = 60_000usize;
    let big = encode_png(&util::random_bytes(300 * 250 * 3, 7), 300, 250);
    let jpeg = encode_jpeg(&bridge_like(320, 200), 320, 200, 90);
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("exact.png", k.exact.clone()),
        ("near.jpg", k.near.clone()),
        ("big-noise.png", big.clone()),
        ("corrupt.jpg", jpeg[..jpeg.len() / 3].to_vec()),
        ("notes.txt", b"not an image".to_vec()),
    ];
    assert!(
        big.len() > limit
            && files.iter().filter(|(n, _)| *n != "big-noise.png").all(|(_, v)| v.len() < limit)
    );
    for (name, bytes) in &files {
        dir.write(&format!("media/{name}"), bytes);
    }
    let top = format!("[hash]\nmax_input_bytes = {limit}\n");
    let cfg = dir.write("equal.toml", format!("{}{top}", util::TEST_DELIVERY_TOML).as_bytes());

    // 1. hashline scan.
    let scan_data = dir.path().join("scan-data");
    let out = util::hashline_in(
        dir.path(),
        &[],
        &[
            "--config",
            cfg.to_str().unwrap(),
            "scan",
            "media",
            "--store",
            &k.store,
            "--out",
            "scan-out",
            "--data-dir",
            scan_data.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let scanned = answers(&scan_data, |r| &r["file"]["name"]);

    // 2. hashline run on the broker.
    let recs: Vec<Rec> = files
        .iter()
        .map(|(name, v)| Rec {
            id: Some(name.to_string()),
            value: v.clone(),
            extra: vec![("hashline-file-name", name.to_string())],
        })
        .collect();
    produce(&b, dir.path(), &recs);
    let media =
        Media { store: k.store.clone(), listed: vec![], near: vec![], benign: vec![], corrupt: vec![] };
    let run_data = dir.path().join("run-data");
    let run =
        start_run_cfg(&b, &media, &run_data, "equal", "", &format!("{}{top}", util::TEST_DELIVERY_TOML));
    run.wait_for(files.len() as u64, 60);
    let outcomes = run.outcomes();
    assert!(run.term().success());
    assert_eq!(outcomes.get("dead_letter").copied().unwrap_or(0), 0, "{outcomes:?}");
    let ran = answers(&run_data, |r| &r["incident"]["upload_id"]);

    // 3. POST /v1/hash?match=true.
    let api_data = dir.path().join("api-data");
    let made = util::hashline_in(
        dir.path(),
        &[],
        &["tokens", "create", "--name", "eq", "--data-dir", api_data.to_str().unwrap()],
    );
    assert_eq!(made.code, 0, "{}", made.stderr);
    let token = made.stdout.trim().to_string();
    let serve = start_serve(&cfg, &k.store, &api_data);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut api: BTreeMap<String, Answer> = BTreeMap::new();
    rt.block_on(async {
        let http = reqwest::Client::new();
        for (name, bytes) in &files {
            let r = http
                .post(format!("http://{}/v1/hash?match=true", serve.1))
                .bearer_auth(&token)
                .header("content-type", "application/octet-stream")
                .body(bytes.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{name}");
            let v: Value = r.json().await.unwrap();
            let m = sorted_matches(&v["matches"]);
            api.insert(
                name.to_string(),
                (
                    v["md5"].as_str().unwrap().into(),
                    v["sha256"].as_str().unwrap().into(),
                    v["pdq"].as_str().map(Into::into),
                    m,
                ),
            );
        }
    });
    drop(serve);

    // The same matched files, hashes, matches and dispositions everywhere.
    let matched: Vec<&str> = vec!["big-noise.png", "exact.png", "near.jpg"]
        .into_iter()
        .filter(|n| !api[*n].3.is_empty())
        .collect();
    assert_eq!(scanned.keys().map(String::as_str).collect::<Vec<_>>(), vec!["exact.png", "near.jpg"]);
    assert_eq!(ran.keys().collect::<Vec<_>>(), scanned.keys().collect::<Vec<_>>());
    assert_eq!(matched, vec!["exact.png", "near.jpg"]);
    for name in scanned.keys() {
        assert_eq!(scanned[name].0, ran[name].0, "{name}: scan and run");
        assert_eq!(scanned[name].0, api[name.as_str()], "{name}: scan and the API");
        assert_eq!(scanned[name].1, ran[name].1, "{name}: the same disposition");
    }
    assert_eq!(scanned["exact.png"].1, "pending");
    assert_eq!(scanned["near.jpg"].1, "review");
    // Over the byte limit: digests, no PDQ, in every source (the API answers it too).
    assert!(api["big-noise.png"].2.is_none() && api["big-noise.png"].3.is_empty());
    assert!(api["corrupt.jpg"].3.is_empty() && api["notes.txt"].3.is_empty());
}
