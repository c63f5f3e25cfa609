//! Index snapshots (`vN.snap`): written at import, read instead of the version file, and
//! never trusted blindly — a truncated, edited or stale snapshot is detected and rebuilt from
//! the version file, with the same answers either way.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hashline_hash::PdqHash;
use hashline_lists::formats::Format;
use hashline_lists::{
    Classification, Entry, ImportRequest, ListKind, ListSet, LiveLists, Manifest, Query, Reload, SignalType,
    Store, Thresholds,
};

fn tmp(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hashline-snap-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

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

fn md5(seed: u64) -> String {
    hex::encode(hashline_hash::digests(&seed.to_le_bytes()).md5)
}

fn import(store: &Store, name: &str, format: Format, text: &str) {
    let req = ImportRequest::new(name, format, vec![("in".into(), text.as_bytes().to_vec())]);
    let report = store.import(req).expect("import");
    assert_eq!(report.snapshot_error, None);
}

/// A list with PDQ and MD5 entries, some with their own ids and classifications, the rest
/// with default ids (imported as a hashline list file).
fn fill(store: &Store, name: &str, n: u64) {
    let mut entries = Vec::new();
    for i in 0..n {
        for (signal, value) in [(SignalType::Pdq, pdq(i).to_string()), (SignalType::Md5, md5(i))] {
            let mut e = Entry::new(signal.clone(), value);
            if i % 2 == 0 {
                e.id = format!("case-{i}-{signal}");
            }
            e.classification =
                [Some(Classification::A1), Some(Classification::B2), None][(i % 3) as usize].clone();
            entries.push(e);
        }
    }
    let mut manifest = Manifest {
        name: name.into(),
        source: "test".into(),
        version: 1,
        fetched_at: "2026-12-01T00:00:00Z".into(),
        kind: ListKind::Known,
        default_classification: None,
        thresholds: Thresholds::default(),
        signed_by: None,
        signed_sequence: None,
        entries: 0,
        entries_sha256: String::new(),
    };
    let file = hashline_lists::render(&mut manifest, &entries);
    import(store, name, Format::Hashline, std::str::from_utf8(&file).expect("test setup"));
}

/// Every answer of the set for a spread of queries: near, far, digests.
fn answers(set: &ListSet, n: u64) -> Vec<String> {
    (0..n + 5)
        .flat_map(|i| {
            let mut near = pdq(i);
            near.0[1] ^= 0xff;
            let md5: [u8; 16] = hex::decode(md5(i)).expect("test setup").try_into().expect("test setup");
            [
                Query { pdq: Some((near, 90)), ..Query::default() },
                Query { md5: Some(md5), ..Query::default() },
            ]
        })
        .map(|q| serde_json::to_string(&set.match_query(&q).matches).expect("test setup"))
        .collect()
}

fn snap(dir: &Path, name: &str, version: u64) -> PathBuf {
    dir.join(format!("lists/{name}/v{version}.snap"))
}

#[test]
fn an_import_writes_a_snapshot_and_loading_it_answers_as_the_version_file_does() {
    let dir = tmp("same");
    let store = Store::open(&dir).expect("test setup");
    fill(&store, "ncmec", 300);
    assert!(snap(&dir, "ncmec", 1).is_file());
    let loaded = ListSet::load(&store).expect("test setup");
    assert_eq!(loaded.load_notes(), vec![("ncmec".to_string(), None)], "read from the snapshot");
    let built = ListSet::build(vec![store.load("ncmec").expect("test setup")]);
    assert_eq!(loaded.len(), 600);
    assert_eq!(loaded.summaries()[0].1, built.summaries()[0].1);
    let (a, b) = (answers(&loaded, 300), answers(&built, 300));
    assert_eq!(a, b);
    // The answers carry the stored ids and classifications, and the default ids.
    assert!(a
        .iter()
        .any(|m| m.contains("\"entry_id\":\"case-4-pdq\"") && m.contains("\"classification\":\"B2\"")));
    assert!(a.iter().any(|m| m.contains(&format!("\"entry_id\":\"md5:{}\"", md5(1)))));
    // A second import replaces the first version's snapshot, and what a killed writer left.
    let leftover = dir.join("lists/ncmec/v1.snap.tmp1-123");
    std::fs::write(&leftover, b"partial").expect("test setup");
    import(&store, "ncmec", Format::PytxFile, &format!("pdq {}\n", pdq(1000)));
    assert!(snap(&dir, "ncmec", 2).is_file());
    assert!(!snap(&dir, "ncmec", 1).exists(), "the old version's snapshot is removed");
    assert!(!leftover.exists(), "a killed writer's temporary file is removed");
    assert!(dir.join("lists/ncmec/v1.hll").is_file(), "version files are kept");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_truncated_edited_or_stale_snapshot_is_detected_and_rebuilt_from_the_version_file() {
    let dir = tmp("damage");
    let store = Store::open(&dir).expect("test setup");
    fill(&store, "iwf", 200);
    let good = std::fs::read(snap(&dir, "iwf", 1)).expect("test setup");
    let expected = answers(&ListSet::build(vec![store.load("iwf").expect("test setup")]), 200);
    let mut edited = good.clone();
    let middle = edited.len() / 2;
    edited[middle] ^= 0x01;
    let other = tmp("other");
    let other_store = Store::open(&other).expect("test setup");
    fill(&other_store, "iwf", 150);
    let stale = std::fs::read(snap(&other, "iwf", 1)).expect("test setup");
    let cases: [(&str, Vec<u8>, &str); 5] = [
        ("truncated", good[..good.len() - 100].to_vec(), "truncated"),
        ("cut in the header", good[..20].to_vec(), ""),
        ("one bit flipped", edited, "checksum"),
        ("another version file's", stale, "stale"),
        ("not a snapshot", b"hello".to_vec(), ""),
    ];
    for (what, bytes, why) in cases {
        std::fs::write(snap(&dir, "iwf", 1), &bytes).expect("test setup");
        let set = ListSet::load(&store).expect("test setup");
        let note =
            set.load_notes()[0].1.clone().unwrap_or_else(|| panic!("{what}: the snapshot was trusted"));
        assert!(note.contains("snapshot rebuilt") && note.contains(why), "{what}: {note}");
        assert_eq!(answers(&set, 200), expected, "{what}: the rebuilt index answers as the version file");
        assert_eq!(
            std::fs::read(snap(&dir, "iwf", 1)).expect("test setup"),
            good,
            "{what}: the snapshot is rewritten"
        );
        assert_eq!(
            ListSet::load(&store).expect("test setup").load_notes()[0].1,
            None,
            "{what}: read again next time"
        );
    }
    std::fs::remove_file(snap(&dir, "iwf", 1)).expect("test setup");
    let note = ListSet::load(&store).expect("test setup").load_notes()[0].1.clone().expect("test setup");
    assert!(note.contains("cannot open"), "{note}");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&other);
}

#[test]
fn instances_starting_together_build_a_missing_snapshot_once_and_read_it_otherwise() {
    let dir = tmp("together");
    let store = Store::open(&dir).expect("test setup");
    fill(&store, "shared", 3000);
    std::fs::remove_file(snap(&dir, "shared", 1)).expect("test setup");
    let barrier = Arc::new(std::sync::Barrier::new(4));
    let notes: Vec<Option<String>> = (0..4)
        .map(|_| {
            let (store, barrier) = (store.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                ListSet::load(&store).expect("test setup").load_notes()[0].1.clone()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().expect("test setup"))
        .collect();
    let built = notes.iter().filter(|n| n.is_some()).count();
    assert_eq!(built, 1, "one instance builds, the others wait and read its snapshot: {notes:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_reload_loads_only_the_lists_that_changed() {
    let dir = tmp("partial");
    let store = Store::open(&dir).expect("test setup");
    fill(&store, "big", 500);
    fill(&store, "small", 10);
    let live = LiveLists::open(store.clone()).expect("test setup");
    // Were "big" loaded again, its missing snapshot would be rebuilt (and noted).
    std::fs::remove_file(snap(&dir, "big", 1)).expect("test setup");
    let fresh = pdq(77_777);
    import(&store, "small", Format::PytxFile, &format!("pdq {fresh}\n"));
    assert!(matches!(live.reload_if_changed().expect("test setup"), Reload::Swapped(_)));
    let set = live.snapshot();
    assert_eq!(set.versions(), vec![("big".to_string(), 1), ("small".to_string(), 2)]);
    assert_eq!(set.load_notes(), vec![("big".to_string(), None), ("small".to_string(), None)]);
    assert!(!snap(&dir, "big", 1).exists(), "the unchanged list was not read again");
    let o = set.match_query(&Query { pdq: Some((fresh, 90)), ..Query::default() });
    assert_eq!((o.matches.len(), o.matches[0].list.as_str()), (1, "small"));
    assert_eq!(
        answers(&set, 500).len(),
        answers(&ListSet::build(vec![store.load("big").expect("test setup")]), 500).len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_disabled_entry_matches_nothing_across_list_updates_and_reloads() {
    let dir = tmp("disabled");
    let store = Store::open(&dir).expect("test setup");
    let (bad, good) = (pdq(1), pdq(2));
    import(&store, "iwf", Format::PytxFile, &format!("pdq {bad}\npdq {good}\n"));
    let live = LiveLists::open(store.clone()).expect("test setup");
    let q = |h: PdqHash| Query { pdq: Some((h, 90)), ..Query::default() };
    assert_eq!(live.snapshot().match_query(&q(bad)).matches.len(), 1);
    let entry = hashline_lists::EntryRef { list: "iwf".into(), entry: format!("pdq:{bad}") };
    store.disable_entry(entry.clone(), "sup-1", "a blank frame").expect("test setup");
    assert!(
        matches!(live.reload_if_changed().expect("test setup"), Reload::Swapped(_)),
        "the override is a change"
    );
    let o = live.snapshot().match_query(&q(bad));
    assert_eq!((o.matches.len(), o.suppressed.len()), (0, 1), "suppressed, never dropped from view");
    assert_eq!(live.snapshot().match_query(&q(good)).matches.len(), 1);
    // A list update keeps it disabled.
    import(&store, "iwf", Format::PytxFile, &format!("pdq {}\n", pdq(3)));
    assert!(matches!(live.reload_if_changed().expect("test setup"), Reload::Swapped(_)));
    assert_eq!(live.snapshot().match_query(&q(bad)).matches.len(), 0);
    assert_eq!(ListSet::load(&store).expect("test setup").match_query(&q(bad)).matches.len(), 0);
    store.disable_entry(entry, "sup-1", "again").expect("test setup");
    assert_eq!(store.disabled().expect("test setup").len(), 1, "recorded once");
    std::fs::write(dir.join("overrides/disabled.json"), b"{not json").expect("test setup");
    assert!(live.reload_if_changed().is_err(), "a damaged override file is an error");
    assert_eq!(live.snapshot().match_query(&q(bad)).matches.len(), 0, "the set in force stays");
    let _ = std::fs::remove_dir_all(&dir);
}
