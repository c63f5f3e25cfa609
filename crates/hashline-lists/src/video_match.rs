//! Video matching: an upload's sampled frames against listed videos (vPDQ, the reference's
//! rule) and against listed pictures (a known picture shown inside a video).
//!
//! Listed videos: every unique frame of good quality of every listed video goes into one PDQ
//! multi-index, each slot remembering its video. A query looks each of its unique frames up
//! once; the hits, grouped by video, give both sides' matched unique frames — exactly what the
//! brute-force rule ([`hashline_hash::vpdq::compare`]) counts, without comparing every pair.

use std::collections::{BTreeMap, HashMap, HashSet};

use hashline_hash::vpdq::{parse_signal, percent, VpdqFrame};
use hashline_hash::{Dihedral, PdqHash};

use crate::model::Thresholds;
use crate::pdq_index::{PdqHit, PdqIndex};

/// At most this many matching frames are listed in a match (the count is always whole).
pub const MAX_LISTED_FRAMES: usize = 100;

/// How a video upload matched.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct VideoMatch {
    /// The upload's matched unique frames over its unique frames of good quality, in percent.
    pub query_percent: f64,
    /// For a listed video: its matched unique frames over its unique frames, in percent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compared_percent: Option<f64>,
    /// How many of the upload's sampled frames matched (every frame of a matched hash; the
    /// percentages count unique hashes).
    pub matched_frames: u32,
    /// The matching frames in time order (the first [`MAX_LISTED_FRAMES`]).
    pub frames: Vec<MatchedFrame>,
    /// True when some frame matched only through the picture inside its bars (letterbox or
    /// pillarbox: the `border_trimmed` variant of each frame).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub border_trimmed: bool,
}

/// One matching frame of an upload.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct MatchedFrame {
    /// Its time in the upload, in seconds.
    pub timestamp: f64,
    /// Its frame number in the upload.
    pub frame_number: u64,
    /// Its distance to the nearest listed frame or picture.
    pub distance: u32,
}

/// One sampled frame of an upload, as a query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueryFrame {
    /// The frame's hash, quality, number and time.
    pub frame: VpdqFrame,
    /// Its eight dihedral hashes, when they were computed.
    pub dihedral: Option<[PdqHash; 8]>,
}

/// A video hit on one entry: the entry, its best distance and dihedral, the match facts.
pub(crate) struct VideoHit {
    pub entry: u32,
    pub distance: u32,
    pub dihedral: Option<Dihedral>,
    pub video: VideoMatch,
}

/// The frames of every listed video of one side (known or allow).
pub(crate) struct VideoIndex {
    index: PdqIndex,
    /// Per index slot: the entry it belongs to.
    owner: Vec<u32>,
    /// Per entry: its unique frames of good quality.
    unique: HashMap<u32, u32>,
    pub max_distance: u32,
}

/// Collects listed videos before the index is built.
#[derive(Default)]
pub(crate) struct VideoIndexBuilder {
    hashes: Vec<PdqHash>,
    owner: Vec<u32>,
    unique: HashMap<u32, u32>,
    max_distance: u32,
}

impl VideoIndexBuilder {
    /// Adds entry `entry`'s vPDQ value; false when the value does not parse.
    pub fn add(&mut self, entry: u32, value: &str, thresholds: &Thresholds) -> bool {
        let Ok(frames) = parse_signal(value) else { return false };
        let unique = hashline_hash::vpdq::unique_hashes(&frames, thresholds.vpdq_min_quality);
        self.unique.insert(entry, unique.len() as u32);
        self.owner.extend(std::iter::repeat_n(entry, unique.len()));
        self.hashes.extend(unique);
        self.max_distance = self.max_distance.max(thresholds.vpdq_distance);
        true
    }

    pub fn build(self) -> Option<VideoIndex> {
        (!self.hashes.is_empty()).then(|| VideoIndex {
            index: PdqIndex::build(&self.hashes),
            owner: self.owner,
            unique: self.unique,
            max_distance: self.max_distance,
        })
    }
}

/// A frame's hash and quality, then its border-trimmed variant's when it has one.
fn variants(f: &QueryFrame) -> impl Iterator<Item = (PdqHash, u8, bool)> {
    std::iter::once((f.frame.pdq, f.frame.quality, false))
        .chain(f.frame.trimmed.map(|t| (t.pdq, t.quality, true)))
}

/// The upload's unique frames (first of each hash), in time order.
fn unique_frames(frames: &[QueryFrame]) -> Vec<&QueryFrame> {
    let mut seen = HashSet::with_capacity(frames.len());
    frames.iter().filter(|f| seen.insert(f.frame.pdq)).collect()
}

/// Per entry: matched query frames (by position in the unique list) with their best distance
/// and dihedral, and matched listed slots.
#[derive(Default)]
struct Tally {
    /// Per matched unique frame: best distance, its dihedral, whether that was the frame's
    /// border-trimmed variant.
    query: BTreeMap<usize, (u32, Option<Dihedral>, bool)>,
    listed: HashSet<u32>,
}

impl Tally {
    fn note(&mut self, frame: usize, distance: u32, dihedral: Option<Dihedral>, trimmed: bool) {
        let slot = self.query.entry(frame).or_insert((distance, dihedral, trimmed));
        if distance < slot.0 {
            *slot = (distance, dihedral, trimmed);
        }
    }

    /// The hit: percentages over unique frames; every sampled frame that carries a matched
    /// hash listed (a picture shown for three seconds is three frames of one hash).
    fn into_hit(
        self,
        entry: u32,
        frames: &[QueryFrame],
        unique: &[&QueryFrame],
        query_percent: f64,
        compared: Option<f64>,
    ) -> VideoHit {
        let best = self.query.values().min_by_key(|(d, _, _)| *d).copied().unwrap_or((0, None, false));
        let border_trimmed = self.query.values().any(|(_, _, trimmed)| *trimmed);
        let distance_of: HashMap<PdqHash, u32> =
            self.query.iter().map(|(&i, &(distance, _, _))| (unique[i].frame.pdq, distance)).collect();
        let mut matched = frames.iter().filter_map(|f| {
            distance_of.get(&f.frame.pdq).map(|&distance| MatchedFrame {
                timestamp: f.frame.timestamp,
                frame_number: f.frame.frame_number,
                distance,
            })
        });
        let listed: Vec<MatchedFrame> = matched.by_ref().take(MAX_LISTED_FRAMES).collect();
        let count = listed.len() + matched.count();
        VideoHit {
            entry,
            distance: best.0,
            dihedral: best.1,
            video: VideoMatch {
                query_percent,
                compared_percent: compared,
                matched_frames: count as u32,
                frames: listed,
                border_trimmed,
            },
        }
    }
}

impl VideoIndex {
    /// Listed videos the upload's frames match under each list's rule.
    pub fn video_hits(&self, frames: &[QueryFrame], thresholds: impl Fn(u32) -> Thresholds) -> Vec<VideoHit> {
        let unique = unique_frames(frames);
        let mut tallies: HashMap<u32, Tally> = HashMap::new();
        let mut hits: Vec<PdqHit> = Vec::new();
        for (i, f) in unique.iter().enumerate() {
            // The frame, and the picture inside its bars when it has some; a frame counts
            // once whichever matched (and only when it is of good quality itself).
            for (hash, quality, trimmed) in variants(f) {
                self.index.search(&hash, self.max_distance, &mut hits);
                for hit in &hits {
                    let entry = self.owner[hit.id as usize];
                    let th = thresholds(entry);
                    let floor = th.vpdq_min_quality;
                    if hit.distance > th.vpdq_distance || f.frame.quality < floor || quality < floor {
                        continue;
                    }
                    let t = tallies.entry(entry).or_default();
                    t.note(i, hit.distance, None, trimmed);
                    t.listed.insert(hit.id);
                }
            }
        }
        let mut out = Vec::new();
        for (entry, t) in tallies {
            let th = thresholds(entry);
            let good = unique.iter().filter(|f| f.frame.quality >= th.vpdq_min_quality).count();
            let query_percent = percent(t.query.len(), good);
            let compared = percent(t.listed.len(), self.unique.get(&entry).copied().unwrap_or(0) as usize);
            if th.vpdq_rule().accepts(query_percent, compared) {
                out.push(t.into_hit(entry, frames, &unique, query_percent, Some(compared)));
            }
        }
        out.sort_unstable_by_key(|h| h.entry);
        out
    }
}

/// Listed pictures shown in the upload's frames: each unique frame (and its dihedral variants
/// when computed) against the picture index, at each list's PDQ thresholds. `entry_of` maps an
/// index position to its entry.
pub(crate) fn frame_picture_hits(
    index: &PdqIndex,
    max_distance: u32,
    frames: &[QueryFrame],
    entry_of: impl Fn(u32) -> u32,
    thresholds: impl Fn(u32) -> Thresholds,
) -> Vec<VideoHit> {
    let unique = unique_frames(frames);
    let mut tallies: HashMap<u32, Tally> = HashMap::new();
    let mut hits: Vec<PdqHit> = Vec::new();
    for (i, f) in unique.iter().enumerate() {
        let variants: Vec<(PdqHash, Dihedral)> = match f.dihedral {
            Some(all) => all.iter().copied().zip(Dihedral::ALL).collect(),
            None => vec![(f.frame.pdq, Dihedral::Original)],
        };
        for (h, d) in variants {
            index.search(&h, max_distance, &mut hits);
            for hit in &hits {
                let entry = entry_of(hit.id);
                let th = thresholds(entry);
                if hit.distance > th.pdq_distance || f.frame.quality < th.pdq_min_quality {
                    continue;
                }
                tallies.entry(entry).or_default().note(i, hit.distance, Some(d), false);
            }
        }
        // The picture inside the frame's bars, at each list's thresholds for that variant.
        if let Some(t) = f.frame.trimmed {
            index.search(&t.pdq, max_distance, &mut hits);
            for hit in &hits {
                let entry = entry_of(hit.id);
                let th = thresholds(entry);
                if hit.distance > th.trimmed_pdq_distance || t.quality < th.trimmed_pdq_min_quality {
                    continue;
                }
                tallies.entry(entry).or_default().note(i, hit.distance, Some(Dihedral::Original), true);
            }
        }
    }
    let mut out: Vec<VideoHit> = tallies
        .into_iter()
        .map(|(entry, t)| {
            let th = thresholds(entry);
            let good = unique.iter().filter(|f| f.frame.quality >= th.pdq_min_quality).count();
            let query_percent = percent(t.query.len(), good);
            t.into_hit(entry, frames, &unique, query_percent, None)
        })
        .collect();
    out.sort_unstable_by_key(|h| h.entry);
    out
}
