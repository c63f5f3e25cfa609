//! Exact PDQ range search: every entry within the distance, none missed.
//!
//! Multi-index hashing (Norouzi, Punjani and Fleet, 2012). The 256 bits are cut into `m`
//! chunks, and each chunk value has a bucket of the entries that carry it. If two hashes are at
//! most `t` bits apart, then by pigeonhole at least one chunk differs in at most `⌊t/m⌋` bits,
//! so probing, in every chunk, the buckets of all values within `⌊t/m⌋` bits of the query's
//! chunk finds every answer; candidates are then checked with the full distance.
//!
//! The reference C++ MIH (and FAISS as HMA uses it) fixes 16 chunks of 16 bits, which at 10M
//! entries leaves ~150 entries in every bucket, so each query checks ~40,000 candidates. Here
//! the chunk width follows the index size: [`PdqIndex::build`] picks the number of chunks that
//! minimises the expected work at `t = 31` (probes × bucket size), within a memory budget —
//! at 10M entries, 11 chunks of 23–24 bits, radius 2, about one entry per bucket.
//!
//! Buckets are stored as one compressed-sparse-row table per chunk: `offsets` (2^len + 1
//! entries) into a flat array of `u32` entry numbers. When probing would touch more candidates
//! than a linear scan (very large `t`, tiny index), the search scans instead; both are exact.

use std::sync::OnceLock;

use hashline_hash::PdqHash;

/// Upper bound on the bucket tables and entry lists, besides the hashes themselves: 1 GiB, or
/// 64 bytes per entry past 16M entries (at 50M entries the best layout needs ~2.7 GB of
/// tables; a fixed budget would force 16-bit chunks with thousands of entries per bucket).
fn memory_budget(n: usize) -> usize {
    (1usize << 30).max(n.saturating_mul(64))
}
/// Radii whose probe masks are built once per chunk width.
const CACHED_RADII: usize = 4;

/// One chunk: `len` bits starting at bit `start` (bit `b` is bit `b % 64` of word `b / 64`).
#[derive(Debug, Clone, Copy)]
struct Chunk {
    start: usize,
    len: usize,
}

/// The exact PDQ index. Immutable once built; share it across threads.
pub struct PdqIndex {
    hashes: Vec<[u64; 4]>,
    chunks: Vec<Chunk>,
    /// Per chunk, `2^len + 1` offsets into `ids`.
    offsets: Vec<Vec<u32>>,
    /// Per chunk, entry numbers grouped by chunk value.
    ids: Vec<Vec<u32>>,
    /// Probe masks per chunk width and radius (0..CACHED_RADII), built on first use.
    masks: Vec<(usize, [OnceLock<Vec<u32>>; CACHED_RADII])>,
}

/// An index's flat tables: chunk count, hashes, per chunk its offsets and entry numbers.
pub(crate) type Tables<'a> = (usize, &'a [[u64; 4]], &'a [Vec<u32>], &'a [Vec<u32>]);

/// One answer: the entry's position (as given to [`PdqIndex::build`]) and its distance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PdqHit {
    /// Position of the entry in the input of [`PdqIndex::build`].
    pub id: u32,
    /// Hamming distance to the query.
    pub distance: u32,
}

#[inline(always)]
fn extract(h: &[u64; 4], c: Chunk) -> usize {
    let (wi, off) = (c.start / 64, c.start % 64);
    let mut v = h[wi] >> off;
    if off + c.len > 64 {
        v |= h[wi + 1] << (64 - off);
    }
    (v & ((1u64 << c.len) - 1)) as usize
}

#[inline(always)]
fn distance(a: &[u64; 4], b: &[u64; 4]) -> u32 {
    (a[0] ^ b[0]).count_ones()
        + (a[1] ^ b[1]).count_ones()
        + (a[2] ^ b[2]).count_ones()
        + (a[3] ^ b[3]).count_ones()
}

fn binomial(n: usize, k: usize) -> usize {
    if k > n {
        return 0;
    }
    (0..k).fold(1usize, |acc, i| acc.saturating_mul(n - i) / (i + 1))
}

/// Probes for one chunk of `len` bits at radius `r`.
fn probes(len: usize, r: usize) -> usize {
    (0..=r.min(len)).map(|i| binomial(len, i)).fold(0usize, usize::saturating_add)
}

/// All `len`-bit masks with at most `r` bits set, fewest bits first.
fn masks(len: usize, r: usize) -> Vec<u32> {
    let mut out = vec![0u32];
    let mut frontier = vec![(0u32, 0usize)]; // (mask, lowest bit index allowed next)
    for _ in 0..r.min(len) {
        let mut next = Vec::new();
        for &(m, from) in &frontier {
            for b in from..len {
                let nm = m | (1 << b);
                out.push(nm);
                next.push((nm, b + 1));
            }
        }
        frontier = next;
    }
    out
}

/// Splits 256 bits into `m` chunks as evenly as possible.
fn layout(m: usize) -> Vec<Chunk> {
    let (base, extra) = (256 / m, 256 % m);
    let mut start = 0;
    (0..m)
        .map(|k| {
            let len = base + usize::from(k < extra);
            let c = Chunk { start, len };
            start += len;
            c
        })
        .collect()
}

/// The chunk widths of an index of `m` chunks (`None` outside 10..=64).
pub(crate) fn layout_lengths(m: usize) -> Option<Vec<usize>> {
    (10..=64).contains(&m).then(|| layout(m).iter().map(|c| c.len).collect())
}

/// The number of chunks for `n` entries: least expected work at `t = 31` (probes times the
/// bucket size, plus the bucket lookup), with bucket tables no larger than 4 slots per entry
/// and all tables within the memory budget.
fn choose_chunks(n: usize) -> usize {
    let mut best = (f64::INFINITY, 16);
    for m in 10..=32usize {
        let chunks = layout(m);
        let longest = chunks.iter().map(|c| c.len).max().unwrap_or(32);
        if longest > 26 || (1usize << longest) > 4 * n.max(1 << 16) {
            continue;
        }
        let memory: usize = chunks.iter().map(|c| 4 << c.len).sum::<usize>() + m * n * 4;
        if memory > memory_budget(n) {
            continue;
        }
        let r = 31 / m;
        // Each probe costs a bucket lookup plus the expected number of entries in the bucket.
        let work: f64 =
            chunks.iter().map(|c| probes(c.len, r) as f64 * (1.0 + n as f64 / (1u64 << c.len) as f64)).sum();
        if work < best.0 {
            best = (work, m);
        }
    }
    best.1
}

impl PdqIndex {
    /// Builds the index over `hashes`; entry `i` is reported as id `i`.
    ///
    /// # Panics
    /// With more than `u32::MAX` entries.
    pub fn build(hashes: &[PdqHash]) -> PdqIndex {
        Self::build_with_chunks(hashes, choose_chunks(hashes.len()))
    }

    /// Builds the index with `m` chunks (10 to 64: chunks of at most 26 bits).
    pub fn build_with_chunks(hashes: &[PdqHash], m: usize) -> PdqIndex {
        assert!(hashes.len() < u32::MAX as usize, "a PDQ index holds fewer than 2^32 entries");
        let m = m.clamp(10, 64);
        let chunks = layout(m);
        let hashes: Vec<[u64; 4]> = hashes.iter().map(|h| h.0).collect();
        let mut offsets = Vec::with_capacity(m);
        let mut ids = Vec::with_capacity(m);
        // An empty index holds no bucket tables (a list of digests only has one).
        for &c in chunks.iter().filter(|_| !hashes.is_empty()) {
            let buckets = 1usize << c.len;
            let mut off = vec![0u32; buckets + 1];
            for h in &hashes {
                off[extract(h, c) + 1] += 1;
            }
            for v in 0..buckets {
                off[v + 1] += off[v];
            }
            let mut fill: Vec<u32> = off[..buckets].to_vec();
            let mut list = vec![0u32; hashes.len()];
            for (i, h) in hashes.iter().enumerate() {
                let v = extract(h, c);
                list[fill[v] as usize] = i as u32;
                fill[v] += 1;
            }
            offsets.push(off);
            ids.push(list);
        }
        let mut lens: Vec<usize> = chunks.iter().map(|c| c.len).collect();
        lens.sort_unstable();
        lens.dedup();
        let masks = lens.into_iter().map(|l| (l, std::array::from_fn(|_| OnceLock::new()))).collect();
        PdqIndex { hashes, chunks, offsets, ids, masks }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// True when the index holds no entry.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Number of chunks the index was built with.
    pub fn chunks(&self) -> usize {
        self.chunks.len()
    }

    /// Bytes held by the index (hashes, bucket tables and entry lists).
    pub fn memory_bytes(&self) -> usize {
        self.hashes.len() * 32
            + self.offsets.iter().map(|o| o.len() * 4).sum::<usize>()
            + self.ids.iter().map(|i| i.len() * 4).sum::<usize>()
    }

    /// The index as flat tables, to write to a snapshot: the chunk count, the hashes, and per
    /// chunk its bucket offsets and entry numbers.
    pub(crate) fn tables(&self) -> Tables<'_> {
        (self.chunks.len(), &self.hashes, &self.offsets, &self.ids)
    }

    /// The index from tables read back from a snapshot, checked so that no search can index
    /// out of bounds: the layout of `m` chunks, one bucket table of `2^len + 1` non-decreasing
    /// offsets ending at the entry count per chunk, and entry numbers below the entry count.
    pub(crate) fn from_tables(
        m: usize,
        hashes: Vec<[u64; 4]>,
        offsets: Vec<Vec<u32>>,
        ids: Vec<Vec<u32>>,
    ) -> Result<PdqIndex, String> {
        if !(10..=64).contains(&m) || offsets.len() != m || ids.len() != m {
            return Err(format!("a PDQ index of {m} chunks has {} tables", offsets.len()));
        }
        let n = hashes.len();
        if n >= u32::MAX as usize {
            return Err("a PDQ index holds fewer than 2^32 entries".into());
        }
        let chunks = layout(m);
        for (k, c) in chunks.iter().enumerate() {
            let (off, list) = (&offsets[k], &ids[k]);
            if off.len() != (1usize << c.len) + 1 || list.len() != n {
                return Err(format!("chunk {k}: table sizes do not fit {n} entries"));
            }
            if off[0] != 0 || off[off.len() - 1] as usize != n || off.windows(2).any(|w| w[0] > w[1]) {
                return Err(format!("chunk {k}: bucket offsets are not a partition of the entries"));
            }
            if list.iter().any(|&id| id as usize >= n) {
                return Err(format!("chunk {k}: an entry number is out of range"));
            }
        }
        let mut lens: Vec<usize> = chunks.iter().map(|c| c.len).collect();
        lens.sort_unstable();
        lens.dedup();
        let masks = lens.into_iter().map(|l| (l, std::array::from_fn(|_| OnceLock::new()))).collect();
        Ok(PdqIndex { hashes, chunks, offsets, ids, masks })
    }

    /// The hash of entry `id`.
    pub(crate) fn hash(&self, id: u32) -> PdqHash {
        PdqHash(self.hashes[id as usize])
    }

    /// Every entry within `max_distance` bits of `query`, sorted by id, each once.
    pub fn search(&self, query: &PdqHash, max_distance: u32, out: &mut Vec<PdqHit>) {
        out.clear();
        if self.hashes.is_empty() {
            return;
        }
        let r = max_distance as usize / self.chunks.len();
        // Past the point where probing looks at more candidates than there are entries, a
        // scan is cheaper (and just as exact).
        let work: usize = self
            .chunks
            .iter()
            .map(|c| probes(c.len, r).saturating_mul(1 + self.hashes.len() / (1usize << c.len)))
            .fold(0usize, usize::saturating_add);
        if work >= self.hashes.len() {
            self.scan(query, max_distance, out);
        } else {
            self.probe(query, max_distance, out);
        }
    }

    /// The multi-index search proper (no scan fallback).
    pub(crate) fn probe(&self, query: &PdqHash, max_distance: u32, out: &mut Vec<PdqHit>) {
        out.clear();
        let r = max_distance as usize / self.chunks.len();
        let q = &query.0;
        for (k, &c) in self.chunks.iter().enumerate() {
            let (off, ids) = (&self.offsets[k], &self.ids[k]);
            let value = extract(q, c);
            let owned;
            let masks: &[u32] = match self.masks.iter().find(|(l, _)| *l == c.len) {
                Some((_, cache)) if r < CACHED_RADII => cache[r].get_or_init(|| masks(c.len, r)),
                _ => {
                    owned = masks(c.len, r);
                    &owned
                }
            };
            for &mask in masks {
                let v = value ^ mask as usize;
                for &id in &ids[off[v] as usize..off[v + 1] as usize] {
                    let d = distance(q, &self.hashes[id as usize]);
                    if d <= max_distance {
                        out.push(PdqHit { id, distance: d });
                    }
                }
            }
        }
        out.sort_unstable();
        out.dedup();
    }

    /// The same answers by comparing with every entry; the oracle for tests and the fallback
    /// for very large distances.
    pub fn scan(&self, query: &PdqHash, max_distance: u32, out: &mut Vec<PdqHit>) {
        out.clear();
        for (i, h) in self.hashes.iter().enumerate() {
            let d = distance(&query.0, h);
            if d <= max_distance {
                out.push(PdqHit { id: i as u32, distance: d });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn flip(h: PdqHash, bits: &[usize]) -> PdqHash {
        let mut w = h.0;
        for &b in bits {
            w[b / 64] ^= 1 << (b % 64);
        }
        PdqHash(w)
    }

    #[test]
    fn masks_enumerate_every_pattern_once() {
        let m = masks(10, 3);
        assert_eq!(m.len(), 1 + 10 + 45 + 120);
        let mut sorted = m.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), m.len());
        assert!(m.iter().all(|x| x.count_ones() <= 3 && *x < 1024));
    }

    #[test]
    fn chunk_count_follows_the_index_size() {
        assert_eq!(choose_chunks(10_000_000), 11);
        assert!(choose_chunks(1_000_000) >= 11);
        let total: usize = layout(11).iter().map(|c| c.len).sum();
        assert_eq!(total, 256);
    }

    #[test]
    fn finds_planted_neighbours_at_the_boundary() {
        let base = PdqHash([
            0x0123_4567_89ab_cdef,
            0xfedc_ba98_7654_3210,
            0x0f0f_0f0f_f0f0_f0f0,
            0xdead_beef_cafe_f00d,
        ]);
        // 31 flipped bits spread so that every chunk differs by about two bits: the worst case
        // for multi-index hashing.
        let spread: Vec<usize> = (0..31).map(|i| (i * 8 + 3) % 256).collect();
        let far = flip(base, &spread);
        let farther = flip(far, &[255]);
        for m in [13, 16, 20, 32] {
            let index = PdqIndex::build_with_chunks(&[far, farther, base], m);
            let mut out = Vec::new();
            index.probe(&base, 31, &mut out);
            assert_eq!(
                out,
                vec![PdqHit { id: 0, distance: 31 }, PdqHit { id: 2, distance: 0 }],
                "{m} chunks"
            );
            index.probe(&base, 32, &mut out);
            assert_eq!(out.len(), 3, "{m} chunks");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn search_equals_brute_force(
            seed in any::<u64>(),
            n in 1usize..3000,
            t in prop_oneof![0u32..=40, 40u32..=70, Just(255u32)],
            near in 0usize..64,
        ) {
            let mut s = seed | 1;
            let mut next = || { s ^= s << 13; s ^= s >> 7; s ^= s << 17; s };
            let mut hashes: Vec<PdqHash> = (0..n).map(|_| PdqHash([next(), next(), next(), next()])).collect();
            let query = hashes[0];
            // Plant neighbours at distances up to 63 around the query.
            for i in 0..near.min(n) {
                let k = (next() % 64) as usize;
                let bits: Vec<usize> = (0..k).map(|_| (next() % 256) as usize).collect();
                hashes[i] = flip(query, &bits);
            }
            let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
            let index = PdqIndex::build(&hashes);
            index.search(&query, t, &mut a);
            index.scan(&query, t, &mut b);
            prop_assert_eq!(&a, &b);
            // The probing path itself, with layouts of several widths (radius up to 8).
            if t <= 70 {
                let m = [13usize, 16, 20, 32][(seed % 4) as usize];
                PdqIndex::build_with_chunks(&hashes, m).probe(&query, t, &mut c);
                prop_assert_eq!(&c, &b);
            }
        }
    }
}
