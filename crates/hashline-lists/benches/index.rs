//! Criterion benchmark of the PDQ index and the digest sets at 1M random entries.
//! The 10M and FAISS comparison: `benches/index_compare.sh` at the repository root.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hashline_hash::PdqHash;
use hashline_lists::PdqIndex;
use std::hint::black_box;

fn rng(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn bench(c: &mut Criterion) {
    let mut s = 0x1234_5678_9abc_def1u64;
    let entries: Vec<PdqHash> =
        (0..1_000_000).map(|_| PdqHash([rng(&mut s), rng(&mut s), rng(&mut s), rng(&mut s)])).collect();
    let index = PdqIndex::build(&entries);
    let queries: Vec<PdqHash> = (0..1000)
        .map(|i| {
            let mut h = entries[(rng(&mut s) % 1_000_000) as usize];
            if i % 2 == 0 {
                h = PdqHash([rng(&mut s), rng(&mut s), rng(&mut s), rng(&mut s)]);
            } else {
                for _ in 0..(rng(&mut s) % 32) {
                    let b = (rng(&mut s) % 256) as usize;
                    h.0[b / 64] ^= 1 << (b % 64);
                }
            }
            h
        })
        .collect();
    let mut g = c.benchmark_group("pdq_index_1M");
    g.throughput(Throughput::Elements(queries.len() as u64));
    let mut out = Vec::new();
    g.bench_function("search_t31", |b| {
        b.iter(|| {
            for q in &queries {
                index.search(black_box(q), 31, &mut out);
            }
        })
    });
    g.finish();

    let digests: std::collections::HashMap<[u8; 16], u32> =
        (0..1_000_000u32).map(|i| (hashline_hash::digests(&i.to_le_bytes()).md5, i)).collect();
    let probes: Vec<[u8; 16]> =
        (0..10_000u32).map(|i| hashline_hash::digests(&(i * 7).to_le_bytes()).md5).collect();
    let mut g = c.benchmark_group("digest_set_1M");
    g.throughput(Throughput::Elements(probes.len() as u64));
    g.bench_function("md5_lookup", |b| b.iter(|| probes.iter().filter(|p| digests.contains_key(*p)).count()));
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
