//! One list version, ready to match: its own digest tables, PDQ multi-index and video index,
//! and its entries as compact columns — no per-entry `String`s or maps, so a 100M-entry
//! aggregate fits in memory, and a part can be written to and read from a snapshot
//! ([`crate::snapshot`]) as a few flat arrays.
//!
//! A [`crate::ListSet`] is a set of parts, one per list. A reload rebuilds only the parts of
//! the lists that got a new version; the others are shared with the previous set and dropped
//! when the last query holding that set ends.
//!
//! Entries are numbered by signal type: MD5, then SHA-1, then SHA-256 (each sorted by value,
//! so the entry number is the position in the sorted table that binary search finds), then PDQ
//! (in list order: the multi-index's own numbering), then vPDQ.

use std::collections::BTreeMap;

use hashline_hash::{Dihedral, PdqHash, TrimBox};

use crate::model::{Classification, Entry, EntryRef, ListKind, Manifest, SignalType};
use crate::pdq_index::{PdqHit, PdqIndex};
use crate::video_match::{frame_picture_hits, VideoHit, VideoIndex, VideoIndexBuilder, VideoMatch};

/// Strings stored end to end: entry `i` is `bytes[offsets[i]..offsets[i + 1]]`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Strings {
    pub offsets: Vec<u64>,
    pub bytes: Vec<u8>,
}

impl Strings {
    fn push(&mut self, s: &str) {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        self.bytes.extend_from_slice(s.as_bytes());
        self.offsets.push(self.bytes.len() as u64);
    }

    pub fn get(&self, i: usize) -> &str {
        let (a, b) = (self.offsets[i] as usize, self.offsets[i + 1] as usize);
        // Checked to be UTF-8 on char boundaries when built or read (`check`).
        std::str::from_utf8(&self.bytes[a..b]).unwrap_or("")
    }

    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Offsets start at 0, never decrease, end at the byte count, and cut on char boundaries.
    pub fn check(&self) -> Result<(), String> {
        let text = std::str::from_utf8(&self.bytes).map_err(|_| "strings are not UTF-8".to_string())?;
        let ok = self.offsets.first().is_none_or(|&o| o == 0)
            && self.offsets.last().is_none_or(|&o| o as usize == self.bytes.len())
            && self.offsets.windows(2).all(|w| w[0] <= w[1])
            && self.offsets.iter().all(|&o| text.is_char_boundary(o as usize));
        if ok {
            Ok(())
        } else {
            Err("string offsets are out of order or cut a character".into())
        }
    }
}

/// Where the keys of a sorted digest table with each value of their leading `bits` bits
/// start: about one key per slot, so a lookup reads one slot pair and a few keys instead of
/// binary-searching the whole table. Computed when a part is assembled (one pass), not stored.
#[derive(Debug, Default)]
pub(crate) struct Prefix {
    bits: u32,
    starts: Vec<u32>,
}

impl Prefix {
    fn lead(key: &[u8], bits: u32) -> usize {
        let mut v = [0u8; 4];
        v[..key.len().min(4)].copy_from_slice(&key[..key.len().min(4)]);
        (u32::from_be_bytes(v) >> (32 - bits)) as usize
    }

    fn of<const N: usize>(table: &[[u8; N]]) -> Prefix {
        if table.len() < 64 || table.len() >= u32::MAX as usize {
            return Prefix::default();
        }
        let bits = (usize::BITS - table.len().leading_zeros()).clamp(6, 24);
        let mut starts = vec![0u32; (1 << bits) + 1];
        for k in table {
            starts[Self::lead(k, bits) + 1] += 1;
        }
        for i in 0..1usize << bits {
            starts[i + 1] += starts[i];
        }
        Prefix { bits, starts }
    }

    /// The range of the table that can hold `key`.
    fn range(&self, key: &[u8]) -> (usize, usize) {
        if self.starts.is_empty() {
            return (0, usize::MAX);
        }
        let v = Self::lead(key, self.bits);
        (self.starts[v] as usize, self.starts[v + 1] as usize)
    }
}

/// What an allow-list entry needs besides its hash.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AllowRule {
    /// Suppresses only up to this distance (when tighter than the list's threshold).
    pub distance: Option<u32>,
    /// Suppresses only these known entries (empty: any of the same signal type).
    pub scope: Vec<EntryRef>,
}

/// The entry tables of one list version (see the module doc for the numbering).
#[derive(Default)]
pub(crate) struct Columns {
    pub md5: Vec<[u8; 16]>,
    pub sha1: Vec<[u8; 20]>,
    pub sha256: Vec<[u8; 32]>,
    pub vpdq: Strings,
    /// Per entry, its id when it is not the default `signal:value` (empty when it is); `None`
    /// when every id is the default.
    pub ids: Option<Strings>,
    /// Per entry, 1 + its classification's position in the table (0: none); `None` when no
    /// entry has one.
    pub classes: Option<(Vec<Classification>, Vec<u32>)>,
}

/// Where a part came from, for the log of a load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Read from its snapshot.
    Snapshot,
    /// Built from the version file; why (no snapshot, a stale or damaged one, ...).
    Built(String),
}

/// One list version ready to match.
pub(crate) struct Part {
    pub origin: Origin,
    pub manifest: Manifest,
    /// Entries in force by signal type.
    pub counts: BTreeMap<String, usize>,
    pub cols: Columns,
    pub pdq: PdqIndex,
    /// Per digest table (MD5, SHA-1, SHA-256), where each run of leading bits starts.
    prefixes: [Prefix; 3],
    video: Option<VideoIndex>,
    /// Per entry, for allow-lists only.
    allow: Vec<AllowRule>,
}

/// One entry hit by one query variant (`id` is the entry's number in its part).
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    pub id: u32,
    pub distance: u32,
    pub dihedral: Option<Dihedral>,
    pub variant: Variant,
    pub video: Option<VideoMatch>,
}

impl From<VideoHit> for Hit {
    fn from(h: VideoHit) -> Hit {
        Hit {
            id: h.entry,
            distance: h.distance,
            dihedral: h.dihedral,
            variant: Variant::Original,
            video: Some(h.video),
        }
    }
}

/// Which query variant hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Variant {
    /// The upload as decoded (or a rotation or mirror of it).
    Original,
    /// The picture inside its borders.
    Trimmed(TrimBox),
    /// The pixels python-threatexchange hashes.
    Pytx,
}

fn decode_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let v = hex::decode(s).ok()?;
    v.try_into().ok()
}

/// True when `id` is what [`Entry::new`] would give this entry (`signal:value`, or for vPDQ
/// the digest form): such ids are not stored.
fn default_id(e: &Entry) -> bool {
    if e.signal == SignalType::Vpdq {
        return e.id == Entry::new(SignalType::Vpdq, e.value.clone()).id;
    }
    let signal = e.signal.to_string();
    e.id.strip_prefix(signal.as_str()).and_then(|r| r.strip_prefix(':')) == Some(e.value.as_str())
}

impl Part {
    /// Indexes the entries of one list version that are in force at `now`.
    pub fn build(manifest: Manifest, entries: Vec<Entry>, now: &str) -> Part {
        // Sort keys of the digest tables; entries that do not parse are left out.
        let mut md5: Vec<([u8; 16], usize)> = Vec::new();
        let mut sha1: Vec<([u8; 20], usize)> = Vec::new();
        let mut sha256: Vec<([u8; 32], usize)> = Vec::new();
        let mut pdq: Vec<(PdqHash, usize)> = Vec::new();
        let mut vpdq: Vec<usize> = Vec::new();
        for (i, e) in entries.iter().enumerate().filter(|(_, e)| e.in_force(now)) {
            match e.signal {
                SignalType::Md5 => md5.extend(decode_hex(&e.value).map(|k| (k, i))),
                SignalType::Sha1 => sha1.extend(decode_hex(&e.value).map(|k| (k, i))),
                SignalType::Sha256 => sha256.extend(decode_hex(&e.value).map(|k| (k, i))),
                SignalType::Pdq => pdq.extend(e.value.parse::<PdqHash>().ok().map(|h| (h, i))),
                SignalType::Vpdq => {
                    if hashline_hash::vpdq::parse_signal(&e.value).is_ok() {
                        vpdq.push(i);
                    }
                }
                SignalType::Other(_) => {}
            }
        }
        md5.sort_unstable();
        sha1.sort_unstable();
        sha256.sort_unstable();
        let order: Vec<usize> = md5
            .iter()
            .map(|x| x.1)
            .chain(sha1.iter().map(|x| x.1))
            .chain(sha256.iter().map(|x| x.1))
            .chain(pdq.iter().map(|x| x.1))
            .chain(vpdq.iter().copied())
            .collect();
        let mut cols = Columns {
            md5: md5.into_iter().map(|x| x.0).collect(),
            sha1: sha1.into_iter().map(|x| x.0).collect(),
            sha256: sha256.into_iter().map(|x| x.0).collect(),
            ..Columns::default()
        };
        for &i in &vpdq {
            cols.vpdq.push(&entries[i].value);
        }
        if order.iter().any(|&i| !default_id(&entries[i])) {
            let mut ids = Strings::default();
            for &i in &order {
                ids.push(if default_id(&entries[i]) { "" } else { &entries[i].id });
            }
            cols.ids = Some(ids);
        }
        if order.iter().any(|&i| entries[i].classification.is_some()) {
            let mut table: Vec<Classification> = Vec::new();
            let mut positions: std::collections::HashMap<Classification, u32> = Default::default();
            let per_entry = order
                .iter()
                .map(|&i| match &entries[i].classification {
                    None => 0,
                    Some(c) => *positions.entry(c.clone()).or_insert_with(|| {
                        table.push(c.clone());
                        table.len() as u32
                    }),
                })
                .collect();
            cols.classes = Some((table, per_entry));
        }
        let allow = if manifest.kind == ListKind::Allow {
            order
                .iter()
                .map(|&i| AllowRule { distance: entries[i].distance, scope: entries[i].scope.clone() })
                .collect()
        } else {
            Vec::new()
        };
        let pdq = PdqIndex::build(&pdq.into_iter().map(|x| x.0).collect::<Vec<_>>());
        Part::assemble(manifest, cols, pdq, allow)
    }

    /// A part from its columns and PDQ index (built, or read from a snapshot).
    pub fn assemble(manifest: Manifest, cols: Columns, pdq: PdqIndex, allow: Vec<AllowRule>) -> Part {
        let mut counts = BTreeMap::new();
        for (signal, n) in [
            (SignalType::Md5, cols.md5.len()),
            (SignalType::Sha1, cols.sha1.len()),
            (SignalType::Sha256, cols.sha256.len()),
            (SignalType::Pdq, pdq.len()),
            (SignalType::Vpdq, cols.vpdq.len()),
        ] {
            if n > 0 {
                counts.insert(signal.to_string(), n);
            }
        }
        let mut videos = VideoIndexBuilder::default();
        let first_video = (cols.md5.len() + cols.sha1.len() + cols.sha256.len() + pdq.len()) as u32;
        for v in 0..cols.vpdq.len() {
            videos.add(first_video + v as u32, cols.vpdq.get(v), &manifest.thresholds);
        }
        let origin = Origin::Built("built from the version file".into());
        let prefixes = [Prefix::of(&cols.md5), Prefix::of(&cols.sha1), Prefix::of(&cols.sha256)];
        Part { origin, manifest, counts, cols, pdq, prefixes, video: videos.build(), allow }
    }

    /// The same part, marked with where it came from.
    pub fn with_origin(mut self, origin: Origin) -> Part {
        self.origin = origin;
        self
    }

    /// Entries that can match.
    pub fn len(&self) -> usize {
        self.counts.values().sum()
    }

    /// The signal type of entry `id` and its position among the entries of that type.
    fn locate(&self, id: u32) -> (SignalType, usize) {
        let c = &self.cols;
        let mut i = id as usize;
        for (signal, n) in [
            (SignalType::Md5, c.md5.len()),
            (SignalType::Sha1, c.sha1.len()),
            (SignalType::Sha256, c.sha256.len()),
            (SignalType::Pdq, self.pdq.len()),
        ] {
            if i < n {
                return (signal, i);
            }
            i -= n;
        }
        (SignalType::Vpdq, i)
    }

    /// Entry `id`'s signal type and value as the list file writes it.
    pub fn value(&self, id: u32) -> (SignalType, String) {
        let (signal, i) = self.locate(id);
        let value = match signal {
            SignalType::Md5 => hex::encode(self.cols.md5[i]),
            SignalType::Sha1 => hex::encode(self.cols.sha1[i]),
            SignalType::Sha256 => hex::encode(self.cols.sha256[i]),
            SignalType::Pdq => self.pdq.hash(i as u32).to_string(),
            _ => self.cols.vpdq.get(i).to_string(),
        };
        (signal, value)
    }

    /// Entry `id`'s id (stored, or the default form of its value).
    pub fn entry_id(&self, id: u32, signal: &SignalType, value: &str) -> String {
        match self.cols.ids.as_ref().map(|ids| ids.get(id as usize)).filter(|s| !s.is_empty()) {
            Some(stored) => stored.to_string(),
            None => Entry::new(signal.clone(), value.to_string()).id,
        }
    }

    /// Entry `id`'s classification, or the list's default.
    pub fn classification(&self, id: u32) -> Option<&Classification> {
        let own = self.cols.classes.as_ref().and_then(|(table, per)| {
            per.get(id as usize).and_then(|&k| k.checked_sub(1)).and_then(|k| table.get(k as usize))
        });
        own.or(self.manifest.default_classification.as_ref())
    }

    /// Entry `id`'s allow rule (allow-lists only).
    pub fn allow_rule(&self, id: u32) -> Option<&AllowRule> {
        self.allow.get(id as usize)
    }

    /// The digest hits: every entry whose value equals the query's. The prefix table narrows
    /// the binary search to the keys that share the query's leading bits.
    fn digest_hits<const N: usize>(
        table: &[[u8; N]],
        prefix: &Prefix,
        key: Option<[u8; N]>,
        base: usize,
        out: &mut Vec<Hit>,
    ) {
        let Some(key) = key else { return };
        let (lo, hi) = prefix.range(&key);
        let hi = hi.min(table.len());
        let slice = &table[lo..hi];
        let start = lo + slice.partition_point(|k| *k < key);
        let end = start + table[start..hi].partition_point(|k| *k == key);
        out.extend((start..end).map(|i| Hit {
            id: (base + i) as u32,
            distance: 0,
            dihedral: None,
            variant: Variant::Original,
            video: None,
        }));
    }

    /// Every entry of this list the upload hits, each once with its best variant, by entry
    /// number. Sets `low_quality` when a PDQ hit was skipped for the upload's quality.
    pub fn hits(&self, q: &crate::Query, out: &mut Vec<Hit>, low_quality: &mut bool) {
        let c = &self.cols;
        let th = self.manifest.thresholds;
        Self::digest_hits(&c.md5, &self.prefixes[0], q.md5, 0, out);
        Self::digest_hits(&c.sha1, &self.prefixes[1], q.sha1, c.md5.len(), out);
        Self::digest_hits(&c.sha256, &self.prefixes[2], q.sha256, c.md5.len() + c.sha1.len(), out);
        let pdq_base = (c.md5.len() + c.sha1.len() + c.sha256.len()) as u32;
        self.video_hits(q, pdq_base, out);
        let Some((pdq, quality)) = q.pdq else { return };
        if self.pdq.is_empty() {
            return;
        }
        let radius = th.pdq_distance.max(th.trimmed_pdq_distance);
        let variants = |hash: PdqHash, all: Option<[PdqHash; 8]>| -> Vec<(PdqHash, Dihedral)> {
            match all {
                Some(all) => all.iter().copied().zip(Dihedral::ALL).collect(),
                None => vec![(hash, Dihedral::Original)],
            }
        };
        let mut best: BTreeMap<u32, Hit> = BTreeMap::new();
        let mut hits: Vec<PdqHit> = Vec::new();
        let mut search = |queries: Vec<(PdqHash, Dihedral)>, quality: u8, variant: Variant| {
            // The original against the list's thresholds; the picture inside the borders
            // against the (possibly stricter) ones of that variant.
            let (max, floor) = match variant {
                Variant::Original | Variant::Pytx => (th.pdq_distance, th.pdq_min_quality),
                Variant::Trimmed(_) => (th.trimmed_pdq_distance, th.trimmed_pdq_min_quality),
            };
            for (h, d) in queries {
                self.pdq.search(&h, radius, &mut hits);
                for hit in hits.iter().filter(|hit| hit.distance <= max) {
                    if quality < floor {
                        *low_quality |= variant == Variant::Original;
                        continue;
                    }
                    let id = pdq_base + hit.id;
                    let found = Hit { id, distance: hit.distance, dihedral: Some(d), variant, video: None };
                    let slot = best.entry(id).or_insert_with(|| found.clone());
                    if hit.distance < slot.distance {
                        *slot = found;
                    }
                }
            }
        };
        search(variants(pdq, q.pdq_dihedral), quality, Variant::Original);
        for t in &q.pdq_trimmed {
            search(variants(t.pdq, t.dihedral), t.quality, Variant::Trimmed(t.bbox));
        }
        if let Some((h, pq)) = q.pdq_pytx {
            search(vec![(h, Dihedral::Original)], pq, Variant::Pytx);
        }
        out.extend(best.into_values());
    }

    /// A video's frames against this list's videos and pictures.
    fn video_hits(&self, q: &crate::Query, pdq_base: u32, out: &mut Vec<Hit>) {
        if q.vpdq.is_empty() {
            return;
        }
        let th = self.manifest.thresholds;
        if let Some(videos) = &self.video {
            out.extend(videos.video_hits(&q.vpdq, |_| th).into_iter().map(Hit::from));
        }
        if !self.pdq.is_empty() {
            let radius = th.pdq_distance.max(th.trimmed_pdq_distance);
            let hits = frame_picture_hits(&self.pdq, radius, &q.vpdq, |i| pdq_base + i, |_| th);
            out.extend(hits.into_iter().map(Hit::from));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Digest lookups through the prefix table find exactly the equal keys, for tables
        /// below and above the size that gets a table, duplicates included.
        #[test]
        fn digest_lookup_finds_every_equal_key(
            mut keys in proptest::collection::vec(any::<[u8; 16]>(), 0..600),
            dup in 0usize..5,
            probe in any::<[u8; 16]>(),
        ) {
            if let Some(&k) = keys.first() {
                keys.extend(std::iter::repeat_n(k, dup));
            }
            keys.sort_unstable();
            let prefix = Prefix::of(&keys);
            for q in keys.iter().copied().chain([probe]) {
                let mut out = Vec::new();
                Part::digest_hits(&keys, &prefix, Some(q), 7, &mut out);
                let want: Vec<u32> =
                    keys.iter().enumerate().filter(|(_, k)| **k == q).map(|(i, _)| 7 + i as u32).collect();
                prop_assert_eq!(out.iter().map(|h| h.id).collect::<Vec<_>>(), want);
            }
        }
    }
}
