//! Lists at scale: a store of synthetic lists of 10M entries each (5M PDQ + 5M MD5, as a list
//! carries both hashes of each picture), loaded from their snapshots, queried, and hot-reloaded.
//! Driven by `benches/lists_scale.sh`.
//!
//! ```sh
//! # import lists until the store holds TOTAL entries (10M per list; existing lists are kept)
//! cargo run --release -p hashline-lists --example lists_scale -- import STORE 100000000 random
//! # in a fresh process: cold load, resident memory, queries/s on one core (exact, checked
//! # against a linear scan on a sample), then 10,000 new entries imported and timed to matching
//! cargo run --release -p hashline-lists --example lists_scale -- load STORE 100000000 random
//! ```

use std::time::Instant;

use hashline_hash::PdqHash;
use hashline_lists::formats::Format;
use hashline_lists::{ImportRequest, LiveLists, Query, Reload, Store};

const PER_LIST: u64 = 10_000_000;

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

/// List `k`'s PDQ hashes (the same every run): random, or 10 % in clusters of 10 within 16
/// bits of a centre.
fn pdq_of_list(k: u64, clustered: bool) -> Vec<PdqHash> {
    let n = (PER_LIST / 2) as usize;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (k + 1).wrapping_mul(0xD1B5_4A32_D192_ED03));
    let mut out = Vec::with_capacity(n);
    if clustered {
        while out.len() < n / 10 {
            let centre = rng.hash();
            for _ in 0..10 {
                let bits = (rng.next() % 17) as u32;
                out.push(rng.flip(centre, bits));
            }
        }
        out.truncate(n / 10);
    }
    while out.len() < n {
        out.push(rng.hash());
    }
    out
}

fn md5_of(k: u64, i: u64) -> [u8; 16] {
    hashline_hash::digests(&[k.to_le_bytes(), i.to_le_bytes()].concat()).md5
}

fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            / 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn name(k: u64) -> String {
    format!("agg-{k:02}")
}

fn import(store: &Store, list: &str, text: Vec<u8>) -> f64 {
    let t = Instant::now();
    let report = store
        .import(ImportRequest::new(list, Format::PytxFile, vec![("synthetic".into(), text)]))
        .expect("import");
    assert!(report.snapshot_error.is_none(), "{:?}", report.snapshot_error);
    t.elapsed().as_secs_f64()
}

fn import_lists(store: &Store, total: u64, clustered: bool) {
    for k in 0..total.div_ceil(PER_LIST) {
        if store.current_version(&name(k)).expect("store").is_some() {
            continue;
        }
        let mut text = Vec::with_capacity((PER_LIST * 55) as usize);
        for (i, h) in pdq_of_list(k, clustered).iter().enumerate() {
            text.extend_from_slice(format!("pdq {h}\nmd5 {}\n", hex::encode(md5_of(k, i as u64))).as_bytes());
        }
        let secs = import(store, &name(k), text);
        println!("import {} ({PER_LIST} entries): {secs:.1} s", name(k));
    }
    let bytes: u64 = walk(store.root())
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x == "snap"))
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    println!("snapshots: {:.2} GB", bytes as f64 / 1e9);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn load(store: Store, total: u64, clustered: bool) {
    let lists = total.div_ceil(PER_LIST);
    let t = Instant::now();
    let live = LiveLists::open(store.clone()).expect("load");
    let cold = t.elapsed().as_secs_f64();
    let set = live.snapshot();
    let (rss_mib, hwm_mib) = rss();
    let notes = set.load_notes();
    let from_snapshot = notes.iter().filter(|n| n.1.is_none()).count();
    println!(
        "load: {} entries in {} lists ({from_snapshot} from snapshots) in {cold:.1} s; resident {rss_mib} MiB (peak {hwm_mib} MiB)",
        set.len(),
        notes.len()
    );

    // 10,000 queries: 40 % within 0–31 bits of an entry, 20 % at 32–40 bits, 40 % random.
    let mut rng = Rng(0x5151_7A7A_0F0F_3C3C);
    let mut entries_of: Vec<Vec<PdqHash>> = Vec::new();
    let sample_list = |k: u64| pdq_of_list(k, clustered);
    entries_of.push(sample_list(0));
    let last = sample_list(lists - 1);
    entries_of.push(last);
    let queries: Vec<PdqHash> = (0..10_000)
        .map(|i| {
            let pool = &entries_of[i % 2];
            let e = pool[(rng.next() % pool.len() as u64) as usize];
            match i % 5 {
                0 | 1 => {
                    let bits = (rng.next() % 32) as u32;
                    rng.flip(e, bits)
                }
                2 => {
                    let bits = 32 + (rng.next() % 9) as u32;
                    rng.flip(e, bits)
                }
                _ => rng.hash(),
            }
        })
        .collect();
    let q = |h: PdqHash| Query { pdq: Some((h, 100)), ..Query::default() };
    let t = Instant::now();
    let mut found = 0usize;
    for h in &queries {
        found += set.match_query(&q(*h)).matches.len();
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "queries: {:.0} q/s on one core at distance 31 through the full matcher ({found} matches for 10,000 queries)",
        queries.len() as f64 / secs
    );
    let md5s: Vec<[u8; 16]> = (0..100_000u64).map(|i| md5_of(i % lists, i * 7 % (PER_LIST / 2))).collect();
    let t = Instant::now();
    let mut md5_found = 0;
    for m in &md5s {
        md5_found += set.match_query(&Query { md5: Some(*m), ..Query::default() }).matches.len();
    }
    println!(
        "md5: {:.0} lookups/s on one core ({md5_found} of {} found)",
        md5s.len() as f64 / t.elapsed().as_secs_f64(),
        md5s.len()
    );

    // Exactness: 20 queries against a linear scan of every listed PDQ hash.
    let mut checked = 0;
    let sample: Vec<PdqHash> = queries.iter().step_by(500).copied().collect();
    let mut expected: Vec<Vec<(String, u32)>> = vec![Vec::new(); sample.len()];
    for k in 0..lists {
        for h in pdq_of_list(k, clustered) {
            for (j, s) in sample.iter().enumerate() {
                let d = h.distance(s);
                if d <= 31 {
                    expected[j].push((format!("pdq:{h}"), d));
                }
            }
        }
    }
    for (j, s) in sample.iter().enumerate() {
        let mut got: Vec<(String, u32)> =
            set.match_query(&q(*s)).matches.into_iter().map(|m| (m.entry_id, m.distance)).collect();
        got.sort();
        expected[j].sort();
        assert_eq!(got, expected[j], "query {j}: the index differs from a linear scan");
        checked += expected[j].len();
    }
    println!("exact: {} sampled queries equal a linear scan ({checked} answers)", sample.len());
    drop(entries_of);
    drop(set);

    // Hot reload: 10,000 new entries added to the first list; time from the import's end to
    // the first of them matching, and the memory the reload took.
    let fresh: Vec<PdqHash> = (0..10_000).map(|_| rng.hash()).collect();
    let text: String = fresh.iter().map(|h| format!("pdq {h}\n")).collect();
    let import_secs = import(&store, &name(0), text.into_bytes());
    let t = Instant::now();
    let swapped = live.reload_if_changed().expect("reload");
    let matched = !live.snapshot().match_query(&q(fresh[0])).matches.is_empty();
    let reload = t.elapsed().as_secs_f64();
    let (rss_after, hwm_after) = rss();
    assert!(matches!(swapped, Reload::Swapped(_)) && matched, "the new entries do not match");
    println!(
        "hot reload: import of 10,000 entries into {} took {import_secs:.1} s; then matching after {reload:.2} s; resident {rss_after} MiB (peak {hwm_after} MiB)",
        name(0)
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(mode), Some(dir), Some(total)) =
        (args.get(1), args.get(2), args.get(3).and_then(|s| s.parse::<u64>().ok()))
    else {
        eprintln!("usage: lists_scale import|load STORE TOTAL_ENTRIES [random|clustered]");
        std::process::exit(2);
    };
    let clustered = args.get(4).is_some_and(|s| s == "clustered");
    let store = Store::open(dir).expect("store");
    match mode.as_str() {
        "import" => import_lists(&store, total, clustered),
        "load" => load(store, total, clustered),
        _ => {
            eprintln!("mode is import or load");
            std::process::exit(2);
        }
    }
}
