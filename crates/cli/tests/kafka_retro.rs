//! Retroactive matching through a real Kafka-protocol broker: 2,000 benign uploads pass
//! `hashline run` with no match and leave their journal rows on `hashline.hashes`; a list
//! update then adds the PDQ of 20 of them (some of a re-encoded copy, some of a rotated one,
//! found through the dihedral hashes) and the MD5 of 5 others; `hashline retro --from-kafka`
//! reports exactly those 25, once each, with the list version that added them; the same update
//! again reports nothing; uploads older than the window are not matched.
//!
//! Needs `tansu` and Python's `confluent_kafka` (`.ci/run` installs both).

#![allow(clippy::unwrap_used)]

mod util;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use util::kafka::*;
use util::{encode_jpeg, encode_png, hashline, TempDir};

const N: usize = 2000;
const W: usize = 64;

/// A smooth, benign picture of its own for every `i`: a few coloured waves.
fn picture(i: usize) -> Vec<u8> {
    let mut s = (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s % 1000) as f64 / 1000.0
    };
    let waves: Vec<[f64; 6]> =
        (0..4).map(|_| [next() * 6.0, next() * 6.0, next() * 6.3, next(), next(), next()]).collect();
    let mut rgb = vec![0u8; W * W * 3];
    for y in 0..W {
        for x in 0..W {
            let (u, v) = (x as f64 / W as f64, y as f64 / W as f64);
            for c in 0..3 {
                let sum: f64 =
                    waves.iter().map(|w| w[3 + c] * (w[0] * u * 6.3 + w[1] * v * 6.3 + w[2]).sin()).sum();
                rgb[(y * W + x) * 3 + c] = (128.0 + 50.0 * sum).clamp(0.0, 255.0) as u8;
            }
        }
    }
    rgb
}

/// The picture turned a quarter (clockwise).
fn rotate90(rgb: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; rgb.len()];
    for y in 0..W {
        for x in 0..W {
            let (nx, ny) = (W - 1 - y, x);
            out[(ny * W + nx) * 3..(ny * W + nx) * 3 + 3]
                .copy_from_slice(&rgb[(y * W + x) * 3..(y * W + x) * 3 + 3]);
        }
    }
    out
}

fn retro(b: &Broker, store: &str, data: &Path, cfg: &Path) -> (i32, Value) {
    let out = hashline(&[
        "--config",
        cfg.to_str().unwrap(),
        "retro",
        "--from-kafka",
        "--drain",
        "--settle-s",
        "0",
        "--brokers",
        &b.addr(),
        "--store",
        store,
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert!(out.code == 0 || out.code == 1, "retro: {}", out.stderr);
    (out.code, serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", out.stdout)))
}

#[test]
fn uploads_are_reported_retroactively_once_when_a_list_adds_them() {
    let Some(bin) = prerequisites() else { return };
    let dir = TempDir::new("kafka-retro");
    let b = Broker::start(bin, dir.path());
    let store = util::store_with_list(&dir, &format!("md5 {}\n", "0".repeat(32)));
    let pictures: Vec<Vec<u8>> = (0..N).map(picture).collect();
    let mut recs: Vec<Rec> = pictures
        .iter()
        .enumerate()
        .map(|(i, rgb)| Rec { id: Some(format!("u-{i:04}")), value: encode_png(rgb, W, W), extra: vec![] })
        .collect();
    // Three uploads received 40 days ago: older than the 30-day window.
    for i in 0..3 {
        recs.push(Rec {
            id: Some(format!("old-{i}")),
            value: encode_png(&picture(N + i), W, W),
            extra: vec![("hashline-uploaded-at", "2020-01-01T00:00:00Z".into())],
        });
    }
    produce(&b, dir.path(), &recs);
    let data = dir.path().join("data");
    let run = start_run_store(&b, &store, &data, "retro-run", "", "[hash]\ndihedral = true\n");
    run.wait_for(recs.len() as u64, 600);
    let outcomes = run.outcomes();
    assert!(run.term().success());
    assert_eq!(outcomes.get("matched").copied().unwrap_or(0), 0, "{outcomes:?}");

    // The retro instance: its own data folder, following the journal topic.
    let rdata = dir.path().join("retro-data");
    let cfg = dir.write("retro.toml", b"[hash]\ndihedral = true\n");
    let (code, first) = retro(&b, &store, &rdata, &cfg);
    assert_eq!((code, first["outcome"].as_str()), (0, Some("baseline")), "{first}");

    // The update: PDQ of 8 uploads as they are, of 6 re-encoded copies, of 6 rotated copies;
    // MD5 of 5 other uploads, and of the 3 old ones.
    let files = dir.path().join("variants");
    let mut want = BTreeSet::new();
    let mut hash_these = Vec::new();
    for (k, i) in (0..20).map(|k| (k, 7 + k * 97)).collect::<Vec<_>>() {
        let bytes = match k {
            0..8 => encode_png(&pictures[i], W, W),
            8..14 => encode_jpeg(&pictures[i], W, W, 90),
            _ => encode_png(&rotate90(&pictures[i]), W, W),
        };
        hash_these.push(dir.write(&format!("variants/{i}.img"), &bytes));
        want.insert(format!("u-{i:04}"));
    }
    let mut update = String::new();
    let hashed = hashline(
        &[&["hash"][..], &hash_these.iter().map(|p| p.to_str().unwrap()).collect::<Vec<_>>()].concat(),
    );
    for line in hashed.json_lines() {
        update.push_str(&format!("pdq {}\n", line["pdq"].as_str().unwrap()));
    }
    for i in (0..5).map(|k| 1500 + k * 13) {
        update.push_str(&format!("md5 {}\n", hashline_hash::digests(&recs[i].value).md5_hex()));
        want.insert(format!("u-{i:04}"));
    }
    for r in &recs[N..] {
        update.push_str(&format!("md5 {}\n", hashline_hash::digests(&r.value).md5_hex()));
    }
    let list = dir.write("update.txt", update.as_bytes());
    let import = |name: &str| {
        let o = hashline(&[
            "lists",
            "import",
            "--store",
            &store,
            "--name",
            name,
            "--format",
            "pytx-file",
            list.to_str().unwrap(),
        ]);
        assert_eq!(o.code, 0, "{}", o.stderr);
    };
    import("daily");
    drop(files);

    let (code, second) = retro(&b, &store, &rdata, &cfg);
    assert_eq!((code, second["outcome"].as_str()), (1, Some("ran")), "{second}");
    assert_eq!(second["rows"].as_u64(), Some(N as u64), "the old rows are outside the window: {second}");
    let reports = outbox_reports(&rdata);
    let got: BTreeSet<String> =
        reports.iter().map(|r| r["upload_id"].as_str().unwrap().to_string()).collect();
    assert_eq!(reports.len(), 25, "each once: {reports:?}");
    assert_eq!(got, want);
    let mut rotated = 0;
    for r in &reports {
        let shown = util::hashline_in(
            Path::new("."),
            &[("HASHLINE_DATA_DIR", rdata.to_str().unwrap())],
            &["reports", "show", r["report_id"].as_str().unwrap()],
        );
        let report: Value = serde_json::from_str(&shown.stdout).unwrap();
        assert_eq!(report["retroactive"]["added_in"][0], serde_json::json!({"list": "daily", "version": 1}));
        assert_eq!(report["incident"]["channel"], "kafka");
        rotated += usize::from(report["matches"][0]["dihedral"].as_str().is_some_and(|d| d != "original"));
    }
    assert!(rotated >= 6, "the rotated copies were found through the dihedral hashes: {rotated}");

    // The same update again: a new version, nothing new to report.
    import("daily");
    let (code, third) = retro(&b, &store, &rdata, &cfg);
    assert_eq!((code, third["reported"].as_u64()), (0, Some(0)), "{third}");
    assert_eq!(outbox_reports(&rdata).len(), 25);
}

/// Every report in the outbox (as `reports list --json` gives them).
fn all_reports(data: &Path) -> Vec<Value> {
    hashline(&["reports", "list", "--data-dir", data.to_str().unwrap(), "--json", "--limit", "10000"])
        .json_lines()
}

/// Flood quarantine through the broker: 500 uploads of one listed benign picture among 1,000
/// others. The entry floods at the 50th distinct upload in the window: from then on every
/// report of it is held in review marked `quarantined_entry` — those still waiting for delivery
/// included — and none is auto-delivered; the other uploads match nothing. Lifting returns
/// them to the policy's state; disabling overrides the entry in the list store.
#[test]
fn a_flooding_entry_is_quarantined_and_lift_and_disable_do_what_they_say() {
    let Some(bin) = prerequisites() else { return };
    let dir = TempDir::new("kafka-flood");
    let b = Broker::start(bin, dir.path());
    let meme = encode_png(&picture(9_999), W, W);
    let store = util::store_with_list(&dir, &format!("md5 {}\n", hashline_hash::digests(&meme).md5_hex()));
    let mut recs: Vec<Rec> = (0..500)
        .map(|i| Rec { id: Some(format!("meme-{i:03}")), value: meme.clone(), extra: vec![] })
        .collect();
    recs.extend((0..1000).map(|i| Rec {
        id: Some(format!("other-{i:04}")),
        value: encode_png(&picture(i), W, W),
        extra: vec![],
    }));
    produce(&b, dir.path(), &recs);
    let data = dir.path().join("data");
    let run = start_run_store(&b, &store, &data, "flood", "", "");
    run.wait_for(recs.len() as u64, 600);
    let outcomes = run.outcomes();
    let metrics = run.scrape();
    assert!(run.term().success());
    assert_eq!(outcomes.get("matched").copied(), Some(500), "{outcomes:?}");
    assert!(metrics.lines().any(|l| l == "hashline_quarantined_entries 1"), "the gauge says so");
    let reports = all_reports(&data);
    assert_eq!(reports.len(), 500);
    assert!(
        reports.iter().all(|r| r["state"] == "review" && r["review"]["rule"] == "quarantined_entry"),
        "every report of the entry is held: {:?}",
        reports.iter().find(|r| r["state"] != "review")
    );
    let data_s = data.to_str().unwrap();
    let listed = hashline(&["reports", "quarantine", "list", "--data-dir", data_s, "--json"]);
    let q = &listed.json_lines()[0];
    assert_eq!(
        (q["list"].as_str(), q["state"].as_str(), q["uploads"].as_u64(), q["held"].as_u64()),
        (Some("l"), Some("quarantined"), Some(500), Some(500))
    );
    assert_eq!(q["uploads_at_quarantine"], 50);
    let entry = q["entry_id"].as_str().unwrap().to_string();

    // Lifted: back to what the policy gave them (an exact MD5: delivered without review).
    let lifted = hashline(&["reports", "quarantine", "lift", "l", &entry, "--data-dir", data_s]);
    assert_eq!(lifted.code, 0, "{}", lifted.stderr);
    assert!(all_reports(&data).iter().all(|r| r["state"] == "pending" && r["review"]["rule"] == "exact_md5"));

    // Disabled: recorded in the list store; the entry matches nothing any more.
    let disabled =
        hashline(&["reports", "quarantine", "disable", "l", &entry, "--data-dir", data_s, "--store", &store]);
    assert_eq!(disabled.code, 0, "{}", disabled.stderr);
    let file = dir.write("again/meme.png", &meme);
    let out = dir.path().join("scan-out");
    let scanned =
        hashline(&["scan", file.to_str().unwrap(), "--store", &store, "--out", out.to_str().unwrap()]);
    assert_eq!(scanned.code, 0, "the disabled entry matches nothing: {}", scanned.stderr);
    let summary: Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        (summary["matched_files"].as_u64(), summary["suppressed_by_allow_list"].as_u64()),
        (Some(0), Some(1))
    );
    let audit = std::fs::read_to_string(data.join("audit.log")).unwrap();
    assert!(audit.contains("entry.quarantine_lift") && audit.contains("entry.disable"), "audited");
}
