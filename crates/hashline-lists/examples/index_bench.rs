//! PDQ index benchmark: build time, memory and queries per second on one core, on generated
//! data (random or clustered), with 100 % recall checked against a linear scan on a sample.
//!
//! ```sh
//! cargo run --release -p hashline-lists --example index_bench -- 1000000 random [DATA_DIR]
//! ```
//! With DATA_DIR, the entries and queries are also written there (`entries.bin`,
//! `queries.bin`: 32 bytes per hash, the hex order) for `benches/index_faiss.py`.

use std::time::Instant;

use hashline_hash::PdqHash;
use hashline_lists::{PdqHit, PdqIndex};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn hash(&mut self) -> PdqHash {
        PdqHash([self.next(), self.next(), self.next(), self.next()])
    }
    fn flip(&mut self, h: PdqHash, bits: u32) -> PdqHash {
        // Exactly `bits` distinct bits flipped.
        let mut w = h.0;
        let mut done = 0;
        while done < bits {
            let b = (self.next() % 256) as usize;
            let mask = 1u64 << (b % 64);
            if (w[b / 64] ^ h.0[b / 64]) & mask == 0 {
                w[b / 64] ^= mask;
                done += 1;
            }
        }
        PdqHash(w)
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let clustered = args.get(2).is_some_and(|s| s == "clustered");
    let out_dir = args.get(3);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);

    let mut entries: Vec<PdqHash> = Vec::with_capacity(n);
    if clustered {
        // 10 % of entries in clusters of 10 near-duplicates (within 16 bits of a centre).
        let clustered_n = n / 10;
        while entries.len() < clustered_n {
            let centre = rng.hash();
            for _ in 0..10 {
                let k = (rng.next() % 17) as u32;
                entries.push(rng.flip(centre, k));
            }
        }
        entries.truncate(clustered_n);
    }
    while entries.len() < n {
        entries.push(rng.hash());
    }

    // 10,000 queries: 40 % planted within 0–31 bits of an entry, 20 % at 32–40 bits, 40 % random.
    let mut queries = Vec::with_capacity(10_000);
    for i in 0..10_000 {
        let q = match i % 5 {
            0 | 1 => {
                let e = entries[(rng.next() % n as u64) as usize];
                let k = (rng.next() % 32) as u32;
                rng.flip(e, k)
            }
            2 => {
                let e = entries[(rng.next() % n as u64) as usize];
                let k = 32 + (rng.next() % 9) as u32;
                rng.flip(e, k)
            }
            _ => rng.hash(),
        };
        queries.push(q);
    }

    if let Some(dir) = out_dir {
        std::fs::create_dir_all(dir).expect("create data dir");
        let dump = |name: &str, hs: &[PdqHash]| {
            let bytes: Vec<u8> = hs.iter().flat_map(|h| h.to_bytes()).collect();
            std::fs::write(format!("{dir}/{name}"), bytes).expect("write data");
        };
        dump("entries.bin", &entries);
        dump("queries.bin", &queries);
    }

    let t = Instant::now();
    let index = PdqIndex::build(&entries);
    let build_s = t.elapsed().as_secs_f64();

    let mut hits: Vec<PdqHit> = Vec::new();
    let mut total_hits = 0usize;
    let t = Instant::now();
    for q in &queries {
        index.search(q, 31, &mut hits);
        total_hits += hits.len();
    }
    let secs = t.elapsed().as_secs_f64();

    // Recall check on a sample against a linear scan.
    let mut scan = Vec::new();
    let mut checked = 0;
    for q in queries.iter().step_by(100) {
        index.search(q, 31, &mut hits);
        index.scan(q, 31, &mut scan);
        assert_eq!(hits, scan, "index and scan disagree");
        checked += 1;
    }

    println!(
        "{{\"entries\":{n},\"data\":\"{}\",\"build_s\":{build_s:.3},\"memory_mb\":{:.1},\"raw_hashes_mb\":{:.1},\"queries\":{},\"qps\":{:.0},\"hits\":{total_hits},\"recall_checked\":{checked},\"recall\":1.0}}",
        if clustered { "clustered" } else { "random" },
        index.memory_bytes() as f64 / 1e6,
        (n * 32) as f64 / 1e6,
        queries.len(),
        queries.len() as f64 / secs
    );
}
