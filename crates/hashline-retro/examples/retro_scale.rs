//! Retro at scale: a journal of N synthetic rows (random PDQ and digests), its index built
//! once (as the long-running `retro --from-kafka` keeps it), then a list update of 10,000 new
//! PDQ entries — 100 of them a few bits from journaled uploads — timed from the import's end
//! to every retro report committed. Driven by `benches/retro_scale.sh`.
//!
//! ```sh
//! cargo run --release -p hashline-retro --example retro_scale -- DIR 10000000
//! ```

use std::time::Instant;

use hashline_hash::PdqHash;
use hashline_lists::formats::Format;
use hashline_lists::{ImportRequest, ListSet, Store};
use hashline_report::{Channel, DataDir, FileInfo, ReportStage};
use hashline_retro::{Journal, JournalRow, Outcome, Retro};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn pdq_of(i: u64) -> PdqHash {
    let mut r = Rng(i.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    PdqHash([r.next(), r.next(), r.next(), r.next()])
}

fn rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .unwrap_or(0)
        / 1024
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(n)) = (args.get(1), args.get(2).and_then(|s| s.parse::<u64>().ok())) else {
        eprintln!("usage: retro_scale DIR ROWS");
        std::process::exit(2);
    };
    let dir = std::path::PathBuf::from(dir);
    let now = hashline_report::unix_now();
    let data = DataDir::open(&dir.join("data"), &Default::default()).expect("data dir");
    let journal = Journal::open(&dir.join("data/journal"), 30 * 86_400).expect("journal");
    let store = Store::open(dir.join("lists")).expect("store");
    if std::fs::read_dir(dir.join("data/journal")).map(|d| d.count()).unwrap_or(0) == 0 {
        let t = Instant::now();
        for i in 0..n {
            let d = hashline_hash::digests(&i.to_le_bytes());
            let file = FileInfo {
                size: 50_000 + i % 1000,
                content_type: Some("image/jpeg".into()),
                md5: d.md5_hex(),
                sha1: d.sha1_hex(),
                sha256: d.sha256_hex(),
                pdq: Some(pdq_of(i).to_string()),
                pdq_quality: Some(90),
                width: Some(1024),
                height: Some(768),
                ..FileInfo::default()
            };
            // Spread over the last 20 days.
            let received_at = now - 20 * 86_400 + (i * 20 * 86_400 / n) as i64;
            let row = JournalRow {
                upload_id: format!("u-{i:010}"),
                channel: Channel::Kafka,
                platform: Some("example".into()),
                received_at,
                file,
                pdq_dihedral: Vec::new(),
                vpdq: None,
            };
            journal.append(&row).expect("append");
        }
        journal.sync().expect("sync");
        println!("journal: {n} rows written in {:.1} s", t.elapsed().as_secs_f64());
    }
    let bytes: u64 = std::fs::read_dir(dir.join("data/journal"))
        .expect("journal")
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!("journal on disk: {:.2} GB", bytes as f64 / 1e9);
    let base = format!("pdq {}\n", pdq_of(u64::MAX));
    if store.current_version("daily").expect("store").is_none() {
        store
            .import(ImportRequest::new("daily", Format::PytxFile, vec![("b".into(), base.into_bytes())]))
            .expect("import");
    }
    let stage = ReportStage::new(&data, Default::default(), Default::default());
    let retro = Retro::new(dir.join("data"));
    let lists = ListSet::load(&store).expect("lists");
    let before = rss_mib();
    let t = Instant::now();
    let rows = retro.prepare(&journal, now).expect("index");
    println!(
        "index: {rows} rows in {:.1} s; resident {} MiB (+{} MiB for the index; raw hashes {} MiB)",
        t.elapsed().as_secs_f64(),
        rss_mib(),
        rss_mib().saturating_sub(before),
        rows * (32 + 16 + 20 + 32) / (1 << 20)
    );
    let _ = retro.run(&journal, &store, &lists, &stage, now).expect("baseline");

    // The update: 10,000 new PDQ entries, 100 of them 4 bits from a journaled upload.
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut update = String::new();
    for k in 0..10_000u64 {
        let h = if k < 100 {
            let mut h = pdq_of(rng.next() % n);
            for b in [3usize, 77, 150, 201] {
                h.0[b / 64] ^= 1 << (b % 64);
            }
            h
        } else {
            PdqHash([rng.next(), rng.next(), rng.next(), rng.next()])
        };
        update.push_str(&format!("pdq {h}\n"));
    }
    store
        .import(ImportRequest::new("daily", Format::PytxFile, vec![("u".into(), update.into_bytes())]))
        .expect("import");
    let t = Instant::now();
    let lists = ListSet::load(&store).expect("lists");
    let outcome = retro.run(&journal, &store, &lists, &stage, now).expect("retro");
    let secs = t.elapsed().as_secs_f64();
    let Outcome::Ran { reported, tally, .. } = outcome else { panic!("no run: {outcome:?}") };
    println!(
        "update of 10,000 PDQ entries: {} candidates, {reported} reported and committed {secs:.2} s after the import (lists reloaded included)",
        tally.candidates
    );
}
