//! Exact PDQ range search: every entry within the distance, none missed.
//!
//! Multi-index hashing (Norouzi, Punjani and Fleet, 2012), as the reference C++ MIH lays it
//! out: the 256 bits are cut into 16 chunks of 16 bits, and each chunk value has a bucket of
//! the entries that carry it. If two hashes are at most `t` bits apart, then by pigeonhole at
//! least one chunk differs in at most `⌊t/16⌋` bits, so probing, in every chunk, the buckets of
//! all values within `⌊t/16⌋` bits of the query's chunk finds every answer (for `t ≤ 31`: the
//! chunk itself and its 16 one-bit neighbours). Candidates are checked with the full distance.
//!
//! The buckets are stored as one compressed-sparse-row table per chunk: `offsets` (65,537
//! entries) into a flat array of `u32` entry numbers. Memory: 64 bytes per entry plus 4 MiB,
//! besides the 32 bytes of the hash itself.
//!
//! When probing would touch more candidates than a linear scan (very large `t` on a small
//! index), the search scans linearly instead; both are exact.

use hashline_hash::PdqHash;

const CHUNKS: usize = 16;
const BUCKETS: usize = 1 << 16;

/// The exact PDQ index. Immutable once built; share it across threads.
pub struct PdqIndex {
    hashes: Vec<[u64; 4]>,
    offsets: Vec<u32>,
    ids: Vec<u32>,
}

/// One answer: the entry's position (as given to [`PdqIndex::build`]) and its distance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PdqHit {
    /// Position of the entry in the input of [`PdqIndex::build`].
    pub id: u32,
    /// Hamming distance to the query.
    pub distance: u32,
}

#[inline(always)]
fn chunk(h: &[u64; 4], k: usize) -> usize {
    ((h[k / 4] >> (16 * (k % 4))) & 0xFFFF) as usize
}

#[inline(always)]
fn distance(a: &[u64; 4], b: &[u64; 4]) -> u32 {
    (a[0] ^ b[0]).count_ones()
        + (a[1] ^ b[1]).count_ones()
        + (a[2] ^ b[2]).count_ones()
        + (a[3] ^ b[3]).count_ones()
}

/// All 16-bit masks with at most `r` bits set, fewest bits first.
fn masks(r: u32) -> Vec<u16> {
    let mut m: Vec<u16> = (0..=u16::MAX).filter(|x| x.count_ones() <= r).collect();
    m.sort_by_key(|x| x.count_ones());
    m
}

impl PdqIndex {
    /// Builds the index over `hashes`; entry `i` is reported as id `i`.
    ///
    /// # Panics
    /// With more than `u32::MAX` entries.
    pub fn build(hashes: &[PdqHash]) -> PdqIndex {
        assert!(hashes.len() < u32::MAX as usize, "a PDQ index holds fewer than 2^32 entries");
        let hashes: Vec<[u64; 4]> = hashes.iter().map(|h| h.0).collect();
        let n = hashes.len();
        let mut offsets = vec![0u32; CHUNKS * (BUCKETS + 1)];
        let mut ids = vec![0u32; CHUNKS * n];
        for k in 0..CHUNKS {
            let off = &mut offsets[k * (BUCKETS + 1)..(k + 1) * (BUCKETS + 1)];
            for h in &hashes {
                off[chunk(h, k) + 1] += 1;
            }
            for v in 0..BUCKETS {
                off[v + 1] += off[v];
            }
            let mut fill: Vec<u32> = off[..BUCKETS].to_vec();
            let out = &mut ids[k * n..(k + 1) * n];
            for (i, h) in hashes.iter().enumerate() {
                let c = chunk(h, k);
                out[fill[c] as usize] = i as u32;
                fill[c] += 1;
            }
        }
        PdqIndex { hashes, offsets, ids }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// True when the index holds no entry.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Bytes held by the index (hashes, offsets and buckets).
    pub fn memory_bytes(&self) -> usize {
        self.hashes.len() * 32 + self.offsets.len() * 4 + self.ids.len() * 4
    }

    /// Every entry within `max_distance` bits of `query`, sorted by id, each once.
    pub fn search(&self, query: &PdqHash, max_distance: u32, out: &mut Vec<PdqHit>) {
        out.clear();
        if self.hashes.is_empty() {
            return;
        }
        let r = max_distance / CHUNKS as u32;
        // Probing cost grows with the number of masks; past the point where it would look at
        // more candidates than there are entries, a scan is cheaper (and just as exact).
        let probes: usize = (0..=r.min(16)).map(|i| binomial(16, i)).sum::<usize>() * CHUNKS;
        let per_bucket = self.hashes.len() / BUCKETS + 1;
        if r >= 16 || probes.saturating_mul(per_bucket) >= self.hashes.len() {
            self.scan(query, max_distance, out);
            return;
        }
        let masks = masks_for(r);
        let q = &query.0;
        let n = self.hashes.len();
        for k in 0..CHUNKS {
            let off = &self.offsets[k * (BUCKETS + 1)..(k + 1) * (BUCKETS + 1)];
            let ids = &self.ids[k * n..(k + 1) * n];
            let c = chunk(q, k);
            for &m in masks.iter() {
                let v = c ^ m as usize;
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

fn binomial(n: u32, k: u32) -> usize {
    (0..k).fold(1usize, |acc, i| acc * (n - i) as usize / (i + 1) as usize)
}

/// Masks for radius 0..=3 are built once; larger radii (rare) are built per query.
fn masks_for(r: u32) -> std::borrow::Cow<'static, [u16]> {
    use std::sync::LazyLock;
    static SMALL: LazyLock<[Vec<u16>; 4]> = LazyLock::new(|| [masks(0), masks(1), masks(2), masks(3)]);
    match r {
        0..=3 => std::borrow::Cow::Borrowed(&SMALL[r as usize]),
        _ => std::borrow::Cow::Owned(masks(r)),
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
        let index = PdqIndex::build(&[far, farther, base]);
        let mut out = Vec::new();
        index.search(&base, 31, &mut out);
        assert_eq!(out, vec![PdqHit { id: 0, distance: 31 }, PdqHit { id: 2, distance: 0 }]);
        index.search(&base, 32, &mut out);
        assert_eq!(out.len(), 3);
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
            let index = PdqIndex::build(&hashes);
            let (mut a, mut b) = (Vec::new(), Vec::new());
            index.search(&query, t, &mut a);
            index.scan(&query, t, &mut b);
            prop_assert_eq!(a, b);
        }
    }
}
