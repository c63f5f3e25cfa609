//! Time from an import finishing to its entries matching, with a store of N PDQ entries and
//! the reload watcher polling every 250 ms.
//!
//! ```sh
//! cargo run --release -p hashline-lists --example reload_latency -- 1000000
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use hashline_hash::PdqHash;
use hashline_lists::formats::Format;
use hashline_lists::{ImportRequest, LiveLists, Query, Store};

fn request(text: String) -> ImportRequest {
    ImportRequest {
        name: "bench".into(),
        format: Format::PytxFile,
        signal: None,
        strict: true,
        source: None,
        kind: None,
        classification: None,
        thresholds: None,
        replace: false,
        files: vec![("bench.txt".into(), text.into_bytes())],
        signatures: vec![],
        allow_empty: false,
        max_drop_percent: None,
    }
}

fn main() {
    let n: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let dir = std::env::temp_dir().join(format!("hashline-reload-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Store::open(&dir).expect("store");
    let mut s = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let mut hash = move || PdqHash([next(), next(), next(), next()]);
    let text: String = (0..n).map(|_| format!("pdq {}\n", hash())).collect();
    let t = Instant::now();
    store.import(request(text)).expect("import v1");
    let import_v1 = t.elapsed();
    let t = Instant::now();
    let live = Arc::new(LiveLists::open(store.clone()).expect("open"));
    let load = t.elapsed();
    let _watch = live.watch(Duration::from_millis(250), Duration::ZERO, |e| eprintln!("reload failed: {e}"));

    let new = hash();
    let t = Instant::now();
    store.import(request(format!("pdq {new}\n"))).expect("import v2");
    let import_v2 = t.elapsed();
    let finished = Instant::now();
    let q = Query { pdq: Some((new, 100)), ..Query::default() };
    while live.snapshot().match_query(&q).matches.is_empty() {
        std::thread::sleep(Duration::from_millis(5));
        assert!(finished.elapsed() < Duration::from_secs(120), "never swapped in");
    }
    println!(
        "{{\"entries\":{n},\"import_v1_s\":{:.2},\"initial_load_s\":{:.2},\"import_v2_s\":{:.2},\"import_to_match_s\":{:.2}}}",
        import_v1.as_secs_f64(),
        load.as_secs_f64(),
        import_v2.as_secs_f64(),
        finished.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
