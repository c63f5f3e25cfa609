//! Hot reload: a new list version is swapped in while queries run; no query ever sees a
//! half-built index, and the new entries match once the swap happens.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hashline_hash::PdqHash;
use hashline_lists::formats::Format;
use hashline_lists::{ImportRequest, LiveLists, Query, Reload, Store};

fn import(store: &Store, lines: &str) {
    store
        .import(ImportRequest {
            name: "live".into(),
            format: Format::PytxFile,
            signal: None,
            strict: true,
            source: None,
            kind: None,
            classification: None,
            thresholds: None,
            replace: false,
            files: vec![("in.txt".into(), lines.as_bytes().to_vec())],
            signatures: vec![],
            allow_empty: false,
            max_drop_percent: None,
        })
        .expect("import");
}

fn pdq(seed: u64) -> PdqHash {
    let mut s = seed | 1;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    PdqHash([next(), next(), next(), next()])
}

#[test]
fn new_versions_swap_in_under_concurrent_queries() {
    let dir = std::env::temp_dir().join(format!("hashline-reload-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Store::open(&dir).expect("store");
    let (old, new) = (pdq(1), pdq(2));
    let bulk: String = (10..5000).map(|i| format!("pdq {}\n", pdq(i))).collect();
    import(&store, &format!("pdq {old}\n{bulk}"));

    let live = Arc::new(LiveLists::open(store.clone()).expect("open"));
    assert_eq!(live.reload_if_changed().expect("reload"), Reload::Unchanged);

    // Readers hammer the index while versions change: the old entry must match every time.
    let stop = Arc::new(AtomicBool::new(false));
    let misses = Arc::new(AtomicUsize::new(0));
    let queries = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (live, stop, misses, queries) = (live.clone(), stop.clone(), misses.clone(), queries.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let snap = live.snapshot();
                    let o = snap.match_query(&Query { pdq: Some((old, 100)), ..Query::default() });
                    if o.matches.is_empty() {
                        misses.fetch_add(1, Ordering::Relaxed);
                    }
                    queries.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();

    let _watch =
        live.watch(Duration::from_millis(20), Duration::from_millis(5), |e| panic!("reload failed: {e}"));
    import(&store, &format!("pdq {new}\n"));
    // Wait (bounded) until the new entry matches; no timing is asserted.
    let mut found = false;
    for _ in 0..2000 {
        let o = live.snapshot().match_query(&Query { pdq: Some((new, 100)), ..Query::default() });
        if !o.matches.is_empty() {
            assert_eq!(o.matches[0].list_version, 2);
            found = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.join().expect("reader");
    }
    assert!(found, "the new version never became active");
    assert!(queries.load(Ordering::Relaxed) > 0);
    assert_eq!(misses.load(Ordering::Relaxed), 0, "a query saw an index without the old entry");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_damaged_new_version_keeps_the_old_one_in_force() {
    let dir = std::env::temp_dir().join(format!("hashline-reload-bad-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Store::open(&dir).expect("store");
    let h = pdq(3);
    import(&store, &format!("pdq {h}\n"));
    let live = LiveLists::open(store.clone()).expect("open");
    // Point CURRENT at a version whose file is corrupt.
    std::fs::write(dir.join("lists/live/v2.hll"), "{\"manifest\": 1}\n").expect("write");
    std::fs::write(dir.join("lists/live/CURRENT"), "2\n").expect("write");
    assert!(live.reload_if_changed().is_err());
    let o = live.snapshot().match_query(&Query { pdq: Some((h, 100)), ..Query::default() });
    assert_eq!(o.matches.len(), 1, "the old snapshot is still in force");
    let _ = std::fs::remove_dir_all(&dir);
}
