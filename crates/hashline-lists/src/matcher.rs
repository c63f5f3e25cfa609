//! The match index over every active list of a store: exact sets for digests, the multi-index
//! for PDQ, allow-lists that suppress, and per-list thresholds.

use std::sync::Arc;
use std::time::SystemTime;

use hashline_hash::{Dihedral, PdqHash, TrimBox};

use crate::model::{ListKind, Manifest, SignalType};
use crate::part::{AllowRule, Hit, Part, Variant};
use crate::store::{Store, StoreError, StoredList};
use crate::video_match::{QueryFrame, VideoMatch};

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

/// An immutable snapshot of every active list, ready to match. Build a new one to change it;
/// [`crate::LiveLists`] swaps snapshots while queries run, rebuilding only the lists that
/// changed (each list is its own part, shared between snapshots).
pub struct ListSet {
    /// One part per list, in name order.
    parts: Vec<Arc<Part>>,
    /// Entries disabled locally: their matches are suppressed.
    disabled: Arc<std::collections::BTreeSet<crate::model::EntryRef>>,
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

impl ListSet {
    /// An empty set (matches nothing).
    pub fn empty() -> ListSet {
        ListSet { parts: Vec::new(), disabled: Default::default(), built_at: SystemTime::now() }
    }

    /// Builds the index from lists.
    pub fn build(lists: Vec<StoredList>) -> ListSet {
        let now = crate::store::now_rfc3339();
        let parts = lists.into_iter().map(|l| Arc::new(Part::build(l.manifest, l.entries, &now))).collect();
        ListSet { parts, disabled: Default::default(), built_at: SystemTime::now() }
    }

    /// A set of parts already built (one per list, in name order).
    pub(crate) fn from_parts(parts: Vec<Arc<Part>>) -> ListSet {
        ListSet { parts, disabled: Default::default(), built_at: SystemTime::now() }
    }

    /// The parts, one per list in name order.
    pub(crate) fn parts(&self) -> &[Arc<Part>] {
        &self.parts
    }

    /// Loads every list of a store: each from its snapshot when it has a good one, otherwise
    /// from its version file (writing the snapshot for the next start).
    pub fn load(store: &Store) -> Result<ListSet, StoreError> {
        let parts =
            store.names()?.iter().map(|n| store.load_part(n).map(Arc::new)).collect::<Result<_, _>>()?;
        Ok(ListSet::from_parts(parts).with_disabled(store.disabled()?))
    }

    /// The same set with these entries disabled (their matches suppressed).
    pub fn with_disabled(mut self, disabled: std::collections::BTreeSet<crate::model::EntryRef>) -> ListSet {
        self.disabled = Arc::new(disabled);
        self
    }

    /// The entries disabled locally.
    pub fn disabled(&self) -> &std::collections::BTreeSet<crate::model::EntryRef> {
        &self.disabled
    }

    /// How each list was loaded: `None` from its index snapshot, or what was built instead and
    /// why (no snapshot yet, a stale, truncated or edited one, a read-only list folder).
    pub fn load_notes(&self) -> Vec<(String, Option<String>)> {
        self.parts
            .iter()
            .map(|p| {
                let note = match &p.origin {
                    crate::part::Origin::Snapshot => None,
                    crate::part::Origin::Built(why) => Some(why.clone()),
                };
                (p.manifest.name.clone(), note)
            })
            .collect()
    }

    /// The (name, version) of every list in the snapshot.
    pub fn versions(&self) -> Vec<(String, u64)> {
        self.parts.iter().map(|p| (p.manifest.name.clone(), p.manifest.version)).collect()
    }

    /// The manifest of every list in the snapshot (no entry is read).
    pub fn manifests(&self) -> impl Iterator<Item = &Manifest> {
        self.parts.iter().map(|p| &p.manifest)
    }

    /// The manifest of every list in the snapshot, with its entries in force by signal type
    /// (no hash values): what `/v1/lists` and the list metrics show. Counted once, when the
    /// snapshot was built: this costs one step per list, not per entry.
    pub fn summaries(&self) -> Vec<(&Manifest, std::collections::BTreeMap<String, usize>)> {
        self.parts.iter().map(|p| (&p.manifest, p.counts.clone())).collect()
    }

    /// Active entries that can match (digests, PDQ and vPDQ).
    pub fn len(&self) -> usize {
        self.parts.iter().map(|p| p.len()).sum()
    }

    /// True when nothing can match.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn to_match(part: &Part, hit: &Hit) -> Match {
        let Hit { id, distance, dihedral, variant, ref video } = *hit;
        let m = &part.manifest;
        let (signal, value) = part.value(id);
        Match {
            list: m.name.clone(),
            source: m.source.clone(),
            list_version: m.version,
            entry_id: part.entry_id(id, &signal, &value),
            classification: part.classification(id).map(|c| c.label().to_string()),
            // A listed video's value is every frame hash: its digest stands for it.
            value: if signal == SignalType::Vpdq {
                format!("sha256:{}", hashline_hash::digests(value.as_bytes()).sha256_hex())
            } else {
                value
            },
            signal,
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

    /// Matches one upload's hashes.
    ///
    /// An allow-list entry suppresses a known match only when both are of the same signal type
    /// (a PDQ allow entry never hides an exact digest match), the allow entry is within its own
    /// distance (its `distance`, when tighter than its list's threshold), and, when the entry is
    /// scoped, the known match is of one of the entries in its scope.
    pub fn match_query(&self, q: &Query) -> Outcome {
        let mut outcome = Outcome::default();
        let mut known = Vec::new();
        let mut hits = Vec::new();
        for part in self.parts.iter().filter(|p| p.manifest.kind != ListKind::Allow) {
            hits.clear();
            part.hits(q, &mut hits, &mut outcome.pdq_low_quality);
            known.extend(hits.iter().map(|h| Self::to_match(part, h)));
        }
        if known.is_empty() {
            return outcome;
        }
        // Allow entries that hit: their signal type and rule.
        let mut allow: Vec<(SignalType, &AllowRule)> = Vec::new();
        let mut ignored = false;
        for part in self.parts.iter().filter(|p| p.manifest.kind == ListKind::Allow) {
            hits.clear();
            part.hits(q, &mut hits, &mut ignored);
            for h in &hits {
                let Some(rule) = part.allow_rule(h.id) else { continue };
                if rule.distance.is_none_or(|d| h.distance <= d) {
                    allow.push((part.value(h.id).0, rule));
                }
            }
        }
        for m in known {
            let disabled = !self.disabled.is_empty()
                && self
                    .disabled
                    .contains(&crate::model::EntryRef { list: m.list.clone(), entry: m.entry_id.clone() });
            let suppressed = disabled
                || allow.iter().any(|(signal, rule)| {
                    *signal == m.signal
                        && (rule.scope.is_empty()
                            || rule.scope.iter().any(|r| r.list == m.list && r.entry == m.entry_id))
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
