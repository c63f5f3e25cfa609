//! Digest lookups per second on one core through the real matcher (`ListSet::match_query`,
//! MD5 only), with N entries in a list, half the queries hits.
//!
//! ```sh
//! cargo run --release -p hashline-lists --example digest_bench -- 10000000
//! ```

use std::time::Instant;

use hashline_lists::{Entry, ListKind, ListSet, Manifest, Query, SignalType, StoredList, Thresholds};

fn main() {
    let n: u32 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(10_000_000);
    let key = |i: u32| hashline_hash::digests(&i.to_le_bytes()).md5;
    let t = Instant::now();
    let entries: Vec<Entry> =
        (0..n).map(|i| Entry::new(SignalType::Md5, hashline_hash::hex(&key(i)))).collect();
    let manifest = Manifest {
        name: "bench".into(),
        source: "local".into(),
        version: 1,
        fetched_at: "2026-11-29T00:00:00Z".into(),
        kind: ListKind::Known,
        default_classification: None,
        thresholds: Thresholds::default(),
        signed_by: None,
        signed_sequence: None,
        entries: u64::from(n),
        entries_sha256: String::new(),
    };
    let set = ListSet::build(vec![StoredList { manifest, entries }]);
    let build = t.elapsed().as_secs_f64();
    // Misses (the common case: almost no upload is known) and hits (a match is built with its
    // provenance), measured separately.
    let misses: Vec<Query> =
        (0..1_000_000u32).map(|i| Query { md5: Some(key(n + i)), ..Query::default() }).collect();
    let hits: Vec<Query> = (0..1_000_000u32)
        .map(|i| Query { md5: Some(key(i.wrapping_mul(7919) % n)), ..Query::default() })
        .collect();
    let rate = |qs: &[Query]| {
        let t = Instant::now();
        let found: usize = qs.iter().map(|q| set.match_query(q).matches.len()).sum();
        (found, qs.len() as f64 / t.elapsed().as_secs_f64())
    };
    let (found_miss, miss_rate) = rate(&misses);
    let (found_hit, hit_rate) = rate(&hits);
    assert_eq!((found_miss, found_hit), (0, hits.len()));
    println!(
        "{{\"entries\":{n},\"build_s\":{build:.1},\"miss_lookups_per_s\":{miss_rate:.0},\"hit_matches_per_s\":{hit_rate:.0}}}"
    );
}
