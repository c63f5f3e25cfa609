//! The match index over every active list of a store: exact sets for digests, the multi-index
//! for PDQ, allow-lists that suppress, and per-list thresholds.

use std::collections::HashMap;
use std::time::SystemTime;

use hashline_hash::{Dihedral, PdqHash, TrimBox};

use crate::model::{Entry, ListKind, Manifest, SignalType, Thresholds};

use crate::pdq_index::{PdqHit, PdqIndex};
use crate::store::{Store, StoreError, StoredList};
use crate::video_match::{
    frame_picture_hits, QueryFrame, VideoHit, VideoIndex, VideoIndexBuilder, VideoMatch,
};

/// One match, with its provenance.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Match {
    /// List name.
    pub list: String,
    /// The list's publisher.
    pub source: String,
    /// The list version that matched.
    pub list_version: u64,
    /// The entry's id.
    pub entry_id: String,
    /// The entry's classification (or the list's default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification: Option<String>,
    /// Signal type matched (written as its name: `pdq`, `md5`, ...).
    pub signal: SignalType,
    /// The list's value that matched (for `vpdq`, `sha256:` and the SHA-256 of the listed
    /// value: a video's every frame hash is too long to carry in each match).
    pub value: String,
    /// Hamming distance (0 for digests).
    pub distance: u32,
    /// For PDQ: which dihedral variant of the upload matched (`original` unless rotated or
    /// mirrored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dihedral: Option<Dihedral>,
    /// For PDQ: when the picture inside the upload's borders matched (the `border_trimmed`
    /// variant), the box kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub border_trimmed: Option<TrimBox>,
    /// For PDQ: true when the hash python-threatexchange computes for this picture matched
    /// (the `pytx_conversion` variant: palette PNGs, GIFs, CMYK JPEGs).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pytx_conversion: bool,
    /// For a video upload: how it matched a listed video (`vpdq`) or a listed picture shown in
    /// it (`pdq`) — percentages and the matching frames with their timestamps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<VideoMatch>,
}

/// The PDQ of the picture inside an upload's borders, as a query variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrimmedQuery {
    /// Its PDQ.
    pub pdq: PdqHash,
    /// Its quality.
    pub quality: u8,
    /// Its eight dihedral hashes, when they were computed.
    pub dihedral: Option<[PdqHash; 8]>,
    /// The box kept.
    pub bbox: TrimBox,
}

/// One entry hit by one query variant.
#[derive(Debug, Clone)]
struct Hit {
    id: u32,
    distance: u32,
    dihedral: Option<Dihedral>,
    variant: Variant,
    video: Option<VideoMatch>,
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
enum Variant {
    /// The upload as decoded (or a rotation or mirror of it).
    Original,
    /// The picture inside its borders.
    Trimmed(TrimBox),
    /// The pixels python-threatexchange hashes.
    Pytx,
}

/// The hashes of one upload to match.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// MD5 of the bytes.
    pub md5: Option<[u8; 16]>,
    /// SHA-1 of the bytes.
    pub sha1: Option<[u8; 20]>,
    /// SHA-256 of the bytes.
    pub sha256: Option<[u8; 32]>,
    /// PDQ and its quality.
    pub pdq: Option<(PdqHash, u8)>,
    /// The eight dihedral PDQ hashes, to match rotated and mirrored copies too.
    pub pdq_dihedral: Option<[PdqHash; 8]>,
    /// The picture inside the upload's borders, when it has any (one per candidate box).
    pub pdq_trimmed: Vec<TrimmedQuery>,
    /// The PDQ (and quality) python-threatexchange computes for this picture, when it reads it
    /// differently from hashline (palette PNGs, GIFs, CMYK JPEGs).
    pub pdq_pytx: Option<(PdqHash, u8)>,
    /// A video's sampled frames (vPDQ), matched against listed videos and listed pictures.
    pub vpdq: Vec<QueryFrame>,
}

impl Query {
    /// Everything hashline computed for a file: its three digests and, for a decoded image,
    /// its PDQ with quality (and the dihedral hashes when they were computed).
    pub fn of(h: &hashline_hash::FileHashes) -> Query {
        let mut q = Query {
            md5: Some(h.digests.md5),
            sha1: Some(h.digests.sha1),
            sha256: Some(h.digests.sha256),
            ..Query::default()
        };
        if let hashline_hash::PdqOutcome::Hashed { pdq, trimmed, pytx, .. } = &h.pdq {
            q.pdq_pytx = pytx.filter(|p| p.hash != pdq.hash).map(|p| (p.hash, p.quality));
            q.pdq = Some((pdq.hash, pdq.quality));
            q.pdq_dihedral = pdq.dihedral;
            q.pdq_trimmed = trimmed
                .iter()
                .map(|t| TrimmedQuery {
                    pdq: t.pdq.hash,
                    quality: t.pdq.quality,
                    dihedral: t.pdq.dihedral,
                    bbox: t.bbox,
                })
                .collect();
        }
        if let Some(hashline_hash::VideoOutcome::Hashed(v)) = &h.video {
            q.vpdq = v
                .frames
                .iter()
                .enumerate()
                .map(|(i, f)| QueryFrame { frame: *f, dihedral: v.dihedral.get(i).copied() })
                .collect();
        }
        q
    }
}

/// What matching one upload found.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Outcome {
    /// Matches on known lists that no allow-list suppressed.
    pub matches: Vec<Match>,
    /// Matches suppressed by an allow-list entry (kept for audit, never reported).
    pub suppressed: Vec<Match>,
    /// Lists whose PDQ entries were not tried because the upload's PDQ quality was below the
    /// list's minimum.
    pub pdq_low_quality: bool,
}

struct ListMeta {
    manifest: Manifest,
    /// Entries in force by signal type, counted once when the snapshot is built.
    counts: std::collections::BTreeMap<String, usize>,
}

/// Digest sets hash with foldhash (fast, seeded per process, so crafted list values cannot
/// aim at collisions).
type DigestMap<const N: usize> = HashMap<[u8; N], Vec<u32>, foldhash::fast::RandomState>;

#[derive(Default)]
struct Side {
    md5: DigestMap<16>,
    sha1: DigestMap<20>,
    sha256: DigestMap<32>,
    pdq_entries: Vec<u32>,
    pdq: Option<PdqIndex>,
    max_distance: u32,
    video: Option<VideoIndex>,
}

/// An immutable snapshot of every active list, ready to match. Build a new one to change it;
/// [`crate::LiveLists`] swaps snapshots while queries run.
pub struct ListSet {
    lists: Vec<ListMeta>,
    entries: Vec<(u32, Entry)>,
    known: Side,
    allow: Side,
    /// When the snapshot was built.
    pub built_at: SystemTime,
}

/// Counts per list, for `lists stats` and metrics (no hash values).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ListStats {
    /// The manifest of the active version.
    pub manifest: Manifest,
    /// Active entries by signal type.
    pub active: std::collections::BTreeMap<String, usize>,
    /// Tombstoned entries.
    pub removed: usize,
}

fn decode_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let v = hex::decode(s).ok()?;
    v.try_into().ok()
}

fn in_force(e: &Entry, now: &str) -> bool {
    // RFC 3339 UTC strings of the same shape compare in time order.
    e.is_active() && e.until.as_deref().is_none_or(|u| u > now)
}

impl ListSet {
    /// An empty set (matches nothing).
    pub fn empty() -> ListSet {
        ListSet {
            lists: Vec::new(),
            entries: Vec::new(),
            known: Side::default(),
            allow: Side::default(),
            built_at: SystemTime::now(),
        }
    }

    /// Builds the index from lists.
    pub fn build(lists: Vec<StoredList>) -> ListSet {
        let now = crate::store::now_rfc3339();
        let mut set = ListSet::empty();
        let mut pdq_hashes: [Vec<PdqHash>; 2] = [Vec::new(), Vec::new()];
        let mut videos: [VideoIndexBuilder; 2] = Default::default();
        for (li, list) in lists.into_iter().enumerate() {
            let kind = list.manifest.kind;
            let thresholds = list.manifest.thresholds;
            let t = thresholds.pdq_distance;
            let side = if kind == ListKind::Allow { &mut set.allow } else { &mut set.known };
            side.max_distance = side.max_distance.max(t);
            let mut counts = std::collections::BTreeMap::new();
            for e in list.entries.into_iter().filter(|e| in_force(e, &now)) {
                let id = set.entries.len() as u32;
                let ok = match e.signal {
                    SignalType::Md5 => {
                        decode_hex(&e.value).map(|k| side.md5.entry(k).or_default().push(id)).is_some()
                    }
                    SignalType::Sha1 => {
                        decode_hex(&e.value).map(|k| side.sha1.entry(k).or_default().push(id)).is_some()
                    }
                    SignalType::Sha256 => {
                        decode_hex(&e.value).map(|k| side.sha256.entry(k).or_default().push(id)).is_some()
                    }
                    SignalType::Pdq => match e.value.parse::<PdqHash>() {
                        Ok(h) => {
                            pdq_hashes[usize::from(kind == ListKind::Allow)].push(h);
                            side.pdq_entries.push(id);
                            true
                        }
                        Err(_) => false,
                    },
                    SignalType::Vpdq => {
                        videos[usize::from(kind == ListKind::Allow)].add(id, &e.value, &thresholds)
                    }
                    SignalType::Other(_) => false,
                };
                if ok {
                    *counts.entry(e.signal.to_string()).or_insert(0) += 1;
                    set.entries.push((li as u32, e));
                }
            }
            set.lists.push(ListMeta { manifest: list.manifest, counts });
        }
        let [known, allow] = pdq_hashes;
        set.known.pdq = Some(PdqIndex::build(&known));
        set.allow.pdq = Some(PdqIndex::build(&allow));
        let [known, allow] = videos;
        set.known.video = known.build();
        set.allow.video = allow.build();
        set
    }

    /// Loads every list of a store and builds the index.
    pub fn load(store: &Store) -> Result<ListSet, StoreError> {
        let lists = store.names()?.iter().map(|n| store.load(n)).collect::<Result<Vec<_>, _>>()?;
        Ok(ListSet::build(lists))
    }

    /// The (name, version) of every list in the snapshot.
    pub fn versions(&self) -> Vec<(String, u64)> {
        self.lists.iter().map(|l| (l.manifest.name.clone(), l.manifest.version)).collect()
    }

    /// The manifest of every list in the snapshot (no entry is read).
    pub fn manifests(&self) -> impl Iterator<Item = &Manifest> {
        self.lists.iter().map(|l| &l.manifest)
    }

    /// The manifest of every list in the snapshot, with its entries in force by signal type
    /// (no hash values): what `/v1/lists` and the list metrics show. Counted once, when the
    /// snapshot was built: this costs one step per list, not per entry.
    pub fn summaries(&self) -> Vec<(&Manifest, std::collections::BTreeMap<String, usize>)> {
        self.lists.iter().map(|l| (&l.manifest, l.counts.clone())).collect()
    }

    /// Active entries that can match (digests and PDQ).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing can match.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn to_match(&self, hit: &Hit) -> Match {
        let Hit { id, distance, dihedral, variant, ref video } = *hit;
        let (li, e) = &self.entries[id as usize];
        let m = &self.lists[*li as usize].manifest;
        Match {
            list: m.name.clone(),
            source: m.source.clone(),
            list_version: m.version,
            entry_id: e.id.clone(),
            classification: e
                .classification
                .as_ref()
                .or(m.default_classification.as_ref())
                .map(|c| c.label().to_string()),
            signal: e.signal.clone(),
            // A listed video's value is every frame hash: its digest stands for it.
            value: if e.signal == SignalType::Vpdq {
                format!("sha256:{}", hashline_hash::digests(e.value.as_bytes()).sha256_hex())
            } else {
                e.value.clone()
            },
            distance,
            dihedral,
            border_trimmed: match variant {
                Variant::Trimmed(b) => Some(b),
                _ => None,
            },
            pytx_conversion: variant == Variant::Pytx,
            video: video.clone(),
        }
    }

    fn thresholds_of(&self, entry: u32) -> Thresholds {
        let (li, _) = &self.entries[entry as usize];
        self.lists[*li as usize].manifest.thresholds
    }

    /// A video's frames against the side's listed videos and listed pictures.
    fn video_hits(&self, side: &Side, q: &Query, out: &mut Vec<Hit>) {
        if q.vpdq.is_empty() {
            return;
        }
        if let Some(videos) = &side.video {
            out.extend(videos.video_hits(&q.vpdq, |e| self.thresholds_of(e)).into_iter().map(Hit::from));
        }
        if let Some(pictures) = side.pdq.as_ref().filter(|i| !i.is_empty()) {
            let entry_of = |i: u32| side.pdq_entries[i as usize];
            let hits =
                frame_picture_hits(pictures, side.max_distance, &q.vpdq, entry_of, |e| self.thresholds_of(e));
            out.extend(hits.into_iter().map(Hit::from));
        }
    }

    fn side_hits(&self, side: &Side, q: &Query, out: &mut Vec<Hit>, low_quality: &mut bool) {
        let digest_hits = [
            q.md5.and_then(|k| side.md5.get(&k)),
            q.sha1.and_then(|k| side.sha1.get(&k)),
            q.sha256.and_then(|k| side.sha256.get(&k)),
        ];
        for ids in digest_hits.into_iter().flatten() {
            out.extend(ids.iter().map(|&id| Hit {
                id,
                distance: 0,
                dihedral: None,
                variant: Variant::Original,
                video: None,
            }));
        }
        self.video_hits(side, q, out);
        let (Some((pdq, quality)), Some(index)) = (q.pdq, side.pdq.as_ref()) else { return };
        if index.is_empty() {
            return;
        }
        let variants = |hash: PdqHash, all: Option<[PdqHash; 8]>| -> Vec<(PdqHash, Dihedral)> {
            match all {
                Some(all) => all.iter().copied().zip(Dihedral::ALL).collect(),
                None => vec![(hash, Dihedral::Original)],
            }
        };
        let mut best: HashMap<u32, Hit> = HashMap::new();
        let mut search = |queries: Vec<(PdqHash, Dihedral)>, quality: u8, variant: Variant| {
            let mut hits: Vec<PdqHit> = Vec::new();
            for (h, d) in queries {
                index.search(&h, side.max_distance, &mut hits);
                for hit in &hits {
                    let id = side.pdq_entries[hit.id as usize];
                    let (li, _) = &self.entries[id as usize];
                    let th = self.lists[*li as usize].manifest.thresholds;
                    // The original against the list's thresholds; the picture inside the
                    // borders against the (possibly stricter) ones of that variant.
                    let (max, floor) = match variant {
                        Variant::Original | Variant::Pytx => (th.pdq_distance, th.pdq_min_quality),
                        Variant::Trimmed(_) => (th.trimmed_pdq_distance, th.trimmed_pdq_min_quality),
                    };
                    if hit.distance > max {
                        continue;
                    }
                    if quality < floor {
                        *low_quality |= variant == Variant::Original;
                        continue;
                    }
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
        let mut found: Vec<Hit> = best.into_values().collect();
        found.sort_unstable_by_key(|h| h.id);
        out.extend(found);
    }

    /// Matches one upload's hashes.
    ///
    /// An allow-list entry suppresses a known match only when both are of the same signal type
    /// (a PDQ allow entry never hides an exact digest match), the allow entry is within its own
    /// distance (its `distance`, when tighter than its list's threshold), and, when the entry is
    /// scoped, the known match is of one of the entries in its scope.
    pub fn match_query(&self, q: &Query) -> Outcome {
        let mut outcome = Outcome::default();
        let mut known = Vec::new();
        self.side_hits(&self.known, q, &mut known, &mut outcome.pdq_low_quality);
        if known.is_empty() {
            return outcome;
        }
        let mut allow = Vec::new();
        let mut ignored = false;
        self.side_hits(&self.allow, q, &mut allow, &mut ignored);
        let allow: Vec<&Entry> = allow
            .iter()
            .map(|h| (&self.entries[h.id as usize].1, h.distance))
            .filter(|(e, distance)| e.distance.is_none_or(|d| *distance <= d))
            .map(|(e, _)| e)
            .collect();
        for hit in known {
            let m = self.to_match(&hit);
            let known_entry = &self.entries[hit.id as usize].1;
            let suppressed = allow.iter().any(|a| {
                a.signal == known_entry.signal
                    && (a.scope.is_empty()
                        || a.scope.iter().any(|r| r.list == m.list && r.entry == m.entry_id))
            });
            if suppressed {
                outcome.suppressed.push(m);
            } else {
                outcome.matches.push(m);
            }
        }
        outcome
    }

    /// Per-list counts.
    pub fn stats(store: &Store) -> Result<Vec<ListStats>, StoreError> {
        let mut out = Vec::new();
        for name in store.names()? {
            let l = store.load(&name)?;
            let mut active = std::collections::BTreeMap::new();
            let mut removed = 0;
            for e in &l.entries {
                if e.is_active() {
                    *active.entry(e.signal.to_string()).or_insert(0) += 1;
                } else {
                    removed += 1;
                }
            }
            out.push(ListStats { manifest: l.manifest, active, removed });
        }
        Ok(out)
    }
}

#[cfg(test)]
#[path = "matcher_tests.rs"]
mod tests;
