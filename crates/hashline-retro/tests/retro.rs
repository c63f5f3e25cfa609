//! Retroactive matching over the embedded journal: uploads journaled while no list knew them
//! are reported once when a list update adds their hashes — exactly those, once each, with
//! the version that added them — and never when the entry is allow-listed, tombstoned or
//! older than the window.

use std::path::PathBuf;

use hashline_hash::PdqHash;
use hashline_lists::formats::Format;
use hashline_lists::{Entry, ImportRequest, ListKind, ListSet, SignalType, Store};
use hashline_report::{Channel, DataDir, FileInfo, ReportStage};
use hashline_retro::{Journal, JournalRow, Outcome, Retro};

const DAY: i64 = 86_400;
const NOW: i64 = 1_796_000_000;

fn pdq(seed: u64) -> PdqHash {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    PdqHash([next(), next(), next(), next()])
}

fn flip(h: PdqHash, bits: &[usize]) -> PdqHash {
    let mut w = h.0;
    for b in bits {
        w[b / 64] ^= 1 << (b % 64);
    }
    PdqHash(w)
}

/// A journaled upload with synthetic hashes: digests of its number, a PDQ, and (for some) the
/// eight dihedral variants, where variant 1 stands for "the upload was rotated".
fn row(i: u64, received_at: i64) -> JournalRow {
    let d = hashline_hash::digests(format!("upload {i}").as_bytes());
    let file = FileInfo {
        size: 1000 + i,
        content_type: Some("image/jpeg".into()),
        md5: d.md5_hex(),
        sha1: d.sha1_hex(),
        sha256: d.sha256_hex(),
        pdq: Some(pdq(i).to_string()),
        pdq_quality: Some(90),
        width: Some(640),
        height: Some(480),
        ..FileInfo::default()
    };
    let pdq_dihedral = if i.is_multiple_of(2) {
        (0..8).map(|k| if k == 0 { pdq(i) } else { pdq(i * 1000 + k) }).collect()
    } else {
        Vec::new()
    };
    JournalRow {
        upload_id: format!("upload-{i}"),
        channel: Channel::Kafka,
        platform: Some("example-platform".into()),
        received_at,
        file,
        pdq_dihedral,
        vpdq: None,
    }
}

struct Env {
    dir: PathBuf,
    store: Store,
    data: DataDir,
    stage: ReportStage,
    journal: Journal,
    retro: Retro,
}

fn env(tag: &str) -> Env {
    let dir = std::env::temp_dir().join(format!("hashline-retro-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Store::open(dir.join("lists")).expect("store");
    let data = DataDir::open(&dir.join("data"), &Default::default()).expect("data dir");
    let stage = ReportStage::new(&data, Default::default(), Default::default());
    let journal = Journal::open(&dir.join("data/journal"), 30 * DAY).expect("journal");
    let retro = Retro::new(dir.join("data"));
    Env { dir, store, data, stage, journal, retro }
}

impl Env {
    fn import(&self, name: &str, kind: Option<ListKind>, text: &str) {
        let mut req =
            ImportRequest::new(name, Format::PytxFile, vec![("in".into(), text.as_bytes().to_vec())]);
        req.kind = kind;
        self.store.import(req).expect("import");
    }

    fn run(&self) -> Outcome {
        let lists = ListSet::load(&self.store).expect("lists");
        self.retro.run(&self.journal, &self.store, &lists, &self.stage, NOW).expect("retro")
    }

    fn reported_uploads(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .data
            .outbox
            .list(None, 10_000)
            .expect("outbox")
            .into_iter()
            .map(|r| r.report.incident.upload_id)
            .collect();
        ids.sort();
        ids
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn a_list_update_reports_exactly_the_journaled_uploads_it_adds_once_each() {
    let e = env("exact");
    e.import("known", None, &format!("pdq {}\n", pdq(999_999)));
    for i in 0..400 {
        e.journal.append(&row(i, NOW - DAY)).expect("append");
    }
    assert_eq!(e.run(), Outcome::Baseline);
    assert_eq!(e.run(), Outcome::Unchanged);

    // 20 PDQ entries: 10 exact, 5 a few bits away (re-encoded), 5 equal to a rotated upload's
    // variant; and 5 MD5 entries of other uploads.
    let mut update = String::new();
    let mut want: Vec<String> = Vec::new();
    for i in 0..10u64 {
        update.push_str(&format!("pdq {}\n", pdq(i * 7)));
        want.push(format!("upload-{}", i * 7));
    }
    for i in 0..5u64 {
        let n = 101 + i * 2;
        update.push_str(&format!("pdq {}\n", flip(pdq(n), &[3, 70, 140, 200 + i as usize])));
        want.push(format!("upload-{n}"));
    }
    for i in 0..5u64 {
        let n = 200 + i * 4; // even: journaled with its dihedral variants
        update.push_str(&format!("pdq {}\n", pdq(n * 1000 + 3)));
        want.push(format!("upload-{n}"));
    }
    for i in 0..5u64 {
        let n = 300 + i;
        update.push_str(&format!(
            "md5 {}\n",
            hashline_hash::digests(format!("upload {n}").as_bytes()).md5_hex()
        ));
        want.push(format!("upload-{n}"));
    }
    want.sort();
    e.import("known", None, &update);
    let Outcome::Ran { rows, tally, reported, duplicates } = e.run() else { panic!("no run") };
    assert_eq!((rows, tally.entries, reported, duplicates), (400, 25, 25, 0));
    assert_eq!(e.reported_uploads(), want);
    for r in e.data.outbox.list(None, 100).expect("outbox") {
        let retro = r.report.retroactive.expect("marked retroactive");
        assert_eq!(retro.added_in[0].list, "known");
        assert_eq!(retro.added_in[0].version, 2, "the version that added the entry");
        assert_eq!(r.report.incident.uploaded_at.as_deref(), Some(retro.received_at.as_str()));
        assert!(r.report.file.name.is_none(), "the journal keeps no file name");
    }
    let rotated = e.data.outbox.list(None, 100).expect("outbox");
    assert!(rotated.iter().any(|r| r.report.matches[0].dihedral.as_ref().is_some_and(|d| d != "original")));

    // The same update again: a new version with the same entries adds nothing.
    e.import("known", None, &update);
    assert!(matches!(e.run(), Outcome::Ran { reported: 0, .. }));
    assert_eq!(e.reported_uploads().len(), 25);
}

#[test]
fn allow_listed_tombstoned_and_expired_uploads_are_not_reported_until_the_allow_entry_goes() {
    let e = env("not");
    e.import("known", None, &format!("pdq {}\n", pdq(999_999)));
    for i in 1..=3 {
        e.journal.append(&row(i, NOW - DAY)).expect("append");
    }
    e.journal.append(&row(4, NOW - 31 * DAY)).expect("append"); // older than the window
    assert_eq!(e.run(), Outcome::Baseline);
    // Upload 1's PDQ is allow-listed first.
    e.import("fp", Some(ListKind::Allow), &format!("pdq {}\n", pdq(1)));
    assert!(matches!(e.run(), Outcome::Ran { rows: 3, reported: 0, .. }));
    // The update lists uploads 1, 2 and 4, and upload 3 as a tombstone.
    let mut entries: Vec<Entry> =
        [1u64, 2, 3, 4].iter().map(|&i| Entry::new(SignalType::Pdq, pdq(i).to_string())).collect();
    entries[2].removed_at = Some("2026-12-01T00:00:00Z".into());
    let mut manifest = hashline_lists::Manifest {
        name: "known".into(),
        source: "test".into(),
        version: 1,
        fetched_at: "2026-12-01T00:00:00Z".into(),
        kind: ListKind::Known,
        default_classification: None,
        thresholds: Default::default(),
        signed_by: None,
        signed_sequence: None,
        entries: 0,
        entries_sha256: String::new(),
    };
    let file = hashline_lists::render(&mut manifest, &entries);
    e.store.import(ImportRequest::new("known", Format::Hashline, vec![("in".into(), file)])).expect("import");
    let Outcome::Ran { reported, .. } = e.run() else { panic!("no run") };
    assert_eq!(reported, 1, "upload 1 is allow-listed, 3 tombstoned, 4 past the window");
    assert_eq!(e.reported_uploads(), vec!["upload-2".to_string()]);
    let segments = std::fs::read_dir(e.dir.join("data/journal")).expect("journal").count();
    assert_eq!(segments, 1, "the expired row's segment is deleted");

    // The allow-list drops its entry: upload 1's match now counts, retroactively, once.
    let mut clear = ImportRequest::new("fp", Format::PytxFile, vec![("in".into(), Vec::new())]);
    (clear.replace, clear.allow_empty, clear.max_drop_percent) = (true, true, None);
    e.store.import(clear).expect("import");
    let Outcome::Ran { reported, .. } = e.run() else { panic!("no run") };
    assert_eq!(reported, 1);
    assert_eq!(e.reported_uploads(), vec!["upload-1".to_string(), "upload-2".to_string()]);
    let r = e
        .data
        .outbox
        .list(None, 10)
        .expect("outbox")
        .into_iter()
        .find(|r| r.report.incident.upload_id == "upload-1");
    assert_eq!(
        r.and_then(|r| r.report.retroactive).map(|x| x.added_in[0].list.clone()).as_deref(),
        Some("fp")
    );
    assert_eq!(e.run(), Outcome::Unchanged);
}

#[test]
fn a_torn_or_edited_journal_line_is_skipped_and_counted() {
    let e = env("torn");
    e.journal.append(&row(1, NOW - 60)).expect("append");
    e.journal.append(&row(2, NOW - 60)).expect("append");
    let seg = std::fs::read_dir(e.dir.join("data/journal"))
        .expect("dir")
        .next()
        .expect("segment")
        .expect("entry")
        .path();
    let mut bytes = std::fs::read(&seg).expect("read");
    bytes.extend_from_slice(b"{\"upload_id\": \"torn");
    bytes.extend_from_slice(b"\nnot json at all\n");
    std::fs::write(&seg, &bytes).expect("write");
    let mut seen = Vec::new();
    let scan = e.journal.read(NOW, |_, r| seen.push(r.upload_id)).expect("read");
    assert_eq!((scan.rows, scan.bad_lines), (2, 2));
    assert_eq!(seen, vec!["upload-1", "upload-2"]);
}

#[test]
fn rows_appended_after_a_pass_are_found_and_a_change_settles_before_it_is_looked_up() {
    let e = env("tail");
    let lists = || ListSet::load(&e.store).expect("lists");
    e.import("known", None, &format!("pdq {}\n", pdq(999_999)));
    e.journal.append(&row(1, NOW - DAY)).expect("append");
    assert_eq!(e.run(), Outcome::Baseline);
    e.import("known", None, &format!("pdq {}\n", pdq(1)));
    assert!(matches!(e.run(), Outcome::Ran { rows: 1, reported: 1, .. }), "the kept index is built");

    // Streaming: a change waits 60 s, so that uploads the scanners still matched against the
    // previous version (one being written here) are in the journal when it is looked up.
    let retro = Retro::new(e.dir.join("data")).with_settle(60);
    let run_at = |t: i64| retro.run(&e.journal, &e.store, &lists(), &e.stage, t).expect("retro");
    assert!(matches!(run_at(NOW), Outcome::Ran { reported: 0, .. } | Outcome::Unchanged));
    e.journal.append(&row(2, NOW - 60)).expect("append");
    let seg = e.dir.join(format!("data/journal/h{}.jsonl", (NOW - 60).div_euclid(3600)));
    let whole = serde_json::to_vec(&row(3, NOW - 60)).expect("row");
    let mut f = std::fs::OpenOptions::new().append(true).open(&seg).expect("segment");
    std::io::Write::write_all(&mut f, &whole[..whole.len() / 2]).expect("write");
    e.import("known", None, &format!("pdq {}\npdq {}\n", pdq(2), pdq(3)));
    assert_eq!(run_at(NOW), Outcome::Settling { seconds: 60 });
    assert_eq!(run_at(NOW + 30), Outcome::Settling { seconds: 30 });
    // Row 3's write completes meanwhile; after the settling time both are found.
    std::io::Write::write_all(&mut f, &whole[whole.len() / 2..]).expect("write");
    std::io::Write::write_all(&mut f, b"\n").expect("write");
    let Outcome::Ran { rows, reported, .. } = run_at(NOW + 60) else { panic!("no run") };
    assert_eq!((rows, reported), (3, 2), "rows 2 and 3 from the rows since the index was built");
    assert_eq!(e.reported_uploads(), vec!["upload-1", "upload-2", "upload-3"]);
    assert_eq!(run_at(NOW + 61), Outcome::Unchanged);
}
