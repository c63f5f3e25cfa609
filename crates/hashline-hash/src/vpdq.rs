//! vPDQ, the video form of PDQ (Meta's ThreatExchange `vpdq`): the PDQ of frames sampled at a
//! fixed interval, each with its quality and time, and the rule that compares two videos.
//!
//! Pure: this module holds the values, their two text forms and the comparison. Decoding
//! frames is `hashline-video`'s job (FFmpeg in a child process with limits).
//!
//! * The reference's hash file: one line per frame, `frame_number,quality,pdq_hex,timestamp`
//!   with the timestamp in seconds to three decimals ([`write_reference`], [`parse_reference`]).
//! * python-threatexchange's signal string (`VPDQSignal`, as HMA stores it): a JSON array of
//!   `"pdq_hex,quality,timestamp"` strings ([`to_signal`], [`parse_signal`]).
//!
//! The comparison ([`compare`]) follows the reference: frames with identical hashes count
//! once (the first of them), then frames below the quality floor are left out, a frame matches when some frame of the
//! other video is within the distance, and each side's percentage is its matched unique frames
//! over its unique frames. hashline counts a distance *equal* to the threshold as a match, as
//! python-threatexchange (and so HMA) does; the C++ tools use `<`.

use std::collections::HashSet;
use std::fmt::Write as _;

use crate::PdqHash;

/// One hashed frame of a video. Serialized as `{frame_number, timestamp, pdq, quality}` with
/// the timestamp to three decimals, as the reference writes it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct VpdqFrame {
    /// The frame's number in decoding output order, from 0.
    pub frame_number: u64,
    /// Its time in the video, in seconds: `frame_number / frame_rate`.
    #[serde(serialize_with = "three_decimals")]
    pub timestamp: f64,
    /// Its PDQ.
    pub pdq: PdqHash,
    /// Its PDQ quality, 0 to 100.
    pub quality: u8,
    /// With border trimming: the PDQ and quality of the picture inside the frame's letterbox or
    /// pillarbox bars, when it has some (a variant, as for pictures).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trimmed: Option<TrimmedFrame>,
}

/// The picture inside a frame's bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TrimmedFrame {
    /// Its PDQ.
    pub pdq: PdqHash,
    /// Its quality.
    pub quality: u8,
}

fn three_decimals<S: serde::Serializer>(t: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((t * 1000.0).round() / 1000.0)
}

/// A video's vPDQ and the facts about it that came with decoding (serialized without the
/// dihedral hashes).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct VideoHashes {
    /// The hashed frames, in frame order.
    pub frames: Vec<VpdqFrame>,
    /// Frames per second the sampling used (the stream's average frame rate, else its base
    /// rate).
    pub frame_rate: f64,
    /// Seconds between hashed frames asked for (0: every frame).
    pub seconds_per_hash: f64,
    /// Duration in seconds (the container's, else frames decoded over the frame rate).
    pub duration_seconds: f64,
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// The codec's name as FFmpeg gives it (`h264`, `vp9`, …).
    pub codec: String,
    /// With dihedral hashing on: the eight dihedral PDQ hashes of each frame, in the order of
    /// `frames` (empty otherwise) — a rotated picture shown in a video is found too.
    #[serde(skip)]
    pub dihedral: Vec<[PdqHash; 8]>,
}

/// How two videos are compared.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VpdqRule {
    /// Largest Hamming distance at which two frames match (default 31; `<=`).
    pub distance: u32,
    /// Frames below this quality are left out on both sides (default 50).
    pub min_quality: u8,
    /// The query video's share of matched unique frames needed, in percent (default 80).
    pub query_match_percent: f64,
    /// The listed video's share of matched unique frames needed, in percent (default 0).
    pub compared_match_percent: f64,
}

impl Default for VpdqRule {
    fn default() -> Self {
        VpdqRule { distance: 31, min_quality: 50, query_match_percent: 80.0, compared_match_percent: 0.0 }
    }
}

/// What comparing a query video with a listed one found.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Matched unique query frames over unique query frames, in percent.
    pub query_percent: f64,
    /// Matched unique listed frames over unique listed frames, in percent.
    pub compared_percent: f64,
    /// Whether both percentages reach the rule's.
    pub is_match: bool,
}

impl VpdqRule {
    /// Whether percentages reach this rule (both sides must have frames to compare).
    pub fn accepts(&self, query_percent: f64, compared_percent: f64) -> bool {
        query_percent > 0.0
            && query_percent >= self.query_match_percent
            && compared_percent >= self.compared_match_percent
    }
}

/// The distinct hashes of `frames` (the first frame of each) that are at or above
/// `min_quality`, in order — de-duplicated first, then filtered, as python-threatexchange does.
pub fn unique_hashes(frames: &[VpdqFrame], min_quality: u8) -> Vec<PdqHash> {
    let mut seen = HashSet::with_capacity(frames.len());
    frames.iter().filter(|f| seen.insert(f.pdq)).filter(|f| f.quality >= min_quality).map(|f| f.pdq).collect()
}

/// `n` of `d` in percent; 0 when there is nothing to count (no frame of good quality).
pub fn percent(n: usize, d: usize) -> f64 {
    if d == 0 {
        0.0
    } else {
        n as f64 * 100.0 / d as f64
    }
}

/// Compares two videos by brute force over their unique frames (`O(n × m)`, fine for two
/// videos; the list index does the same with its multi-index).
pub fn compare(query: &[VpdqFrame], listed: &[VpdqFrame], rule: &VpdqRule) -> Comparison {
    let q = unique_hashes(query, rule.min_quality);
    let l = unique_hashes(listed, rule.min_quality);
    let mut l_hit = vec![false; l.len()];
    let mut q_matched = 0usize;
    for a in &q {
        let mut hit = false;
        for (j, b) in l.iter().enumerate() {
            if a.distance(b) <= rule.distance {
                hit = true;
                l_hit[j] = true;
            }
        }
        q_matched += usize::from(hit);
    }
    let query_percent = percent(q_matched, q.len());
    let compared_percent = percent(l_hit.iter().filter(|x| **x).count(), l.len());
    Comparison { query_percent, compared_percent, is_match: rule.accepts(query_percent, compared_percent) }
}

/// Why a vPDQ text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VpdqParseError {
    /// A line or item is not `frame,quality,hash,timestamp` (or `hash,quality,timestamp`).
    #[error("vPDQ item {item}: {reason}")]
    Item {
        /// 1-based line or array item number.
        item: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The pytx signal string is not a JSON array of strings.
    #[error("a vPDQ signal is a JSON array of \"pdq_hex,quality,timestamp\" strings: {0}")]
    NotAnArray(String),
    /// No frame at all.
    #[error("a vPDQ hash needs at least one frame")]
    Empty,
    /// More frames than a list entry may hold.
    #[error(
        "a vPDQ hash of {frames} frames is over the limit of {limit}; hash the video at a longer interval"
    )]
    TooManyFrames {
        /// Frames given.
        frames: usize,
        /// The limit.
        limit: usize,
    },
}

/// At most this many frames in one parsed vPDQ value (a 24-hour video at one hash per second
/// has 86,400).
pub const MAX_PARSED_FRAMES: usize = 200_000;

fn parse_quality(s: &str) -> Result<u8, String> {
    s.trim().parse::<u8>().ok().filter(|q| *q <= 100).ok_or_else(|| format!("quality {s:?} is not 0 to 100"))
}

fn parse_time(s: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|t| t.is_finite() && *t >= 0.0)
        .ok_or_else(|| format!("timestamp {s:?} is not a non-negative number of seconds"))
}

fn parse_hash(s: &str) -> Result<PdqHash, String> {
    s.trim().parse::<PdqHash>().map_err(|e| e.to_string())
}

/// Reads the reference's hash file (`frame_number,quality,pdq_hex,timestamp` per line; blank
/// lines ignored).
pub fn parse_reference(text: &str) -> Result<Vec<VpdqFrame>, VpdqParseError> {
    let mut frames = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if frames.len() >= MAX_PARSED_FRAMES {
            return Err(VpdqParseError::TooManyFrames { frames: frames.len() + 1, limit: MAX_PARSED_FRAMES });
        }
        let item = |reason: String| VpdqParseError::Item { item: i + 1, reason };
        let parts: Vec<&str> = line.split(',').collect();
        let [n, q, h, t] = parts[..] else {
            return Err(item(format!("expected 4 comma-separated fields, found {}", parts.len())));
        };
        let frame_number = n.trim().parse::<u64>().map_err(|_| item(format!("frame number {n:?}")))?;
        frames.push(VpdqFrame {
            frame_number,
            quality: parse_quality(q).map_err(item)?,
            pdq: parse_hash(h).map_err(item)?,
            timestamp: parse_time(t).map_err(item)?,
            trimmed: None,
        });
    }
    if frames.is_empty() {
        return Err(VpdqParseError::Empty);
    }
    Ok(frames)
}

/// Writes the reference's hash file for `frames`.
pub fn write_reference(frames: &[VpdqFrame]) -> String {
    let mut out = String::with_capacity(frames.len() * 80);
    for f in frames {
        let _ = writeln!(out, "{},{},{},{:.3}", f.frame_number, f.quality, f.pdq.to_hex(), f.timestamp);
    }
    out
}

/// Reads python-threatexchange's vPDQ signal string. It carries no frame numbers: frames are
/// numbered by position.
pub fn parse_signal(text: &str) -> Result<Vec<VpdqFrame>, VpdqParseError> {
    let items: Vec<String> =
        serde_json::from_str(text.trim()).map_err(|e| VpdqParseError::NotAnArray(e.to_string()))?;
    if items.len() > MAX_PARSED_FRAMES {
        return Err(VpdqParseError::TooManyFrames { frames: items.len(), limit: MAX_PARSED_FRAMES });
    }
    let mut frames = Vec::with_capacity(items.len());
    for (i, s) in items.iter().enumerate() {
        let item = |reason: String| VpdqParseError::Item { item: i + 1, reason };
        let parts: Vec<&str> = s.split(',').collect();
        let [h, q, t] = parts[..] else {
            return Err(item(format!(
                "expected \"pdq_hex,quality,timestamp\", found {} fields",
                parts.len()
            )));
        };
        frames.push(VpdqFrame {
            frame_number: i as u64,
            pdq: parse_hash(h).map_err(item)?,
            quality: parse_quality(q).map_err(item)?,
            timestamp: parse_time(t).map_err(item)?,
            trimmed: None,
        });
    }
    if frames.is_empty() {
        return Err(VpdqParseError::Empty);
    }
    Ok(frames)
}

/// Writes python-threatexchange's vPDQ signal string for `frames` (its own spacing, so the
/// string is the one pytx would store).
pub fn to_signal(frames: &[VpdqFrame]) -> String {
    let items: Vec<String> =
        frames.iter().map(|f| format!("{},{},{:.3}", f.pdq.to_hex(), f.quality, f.timestamp)).collect();
    let mut out = String::from("[");
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&serde_json::to_string(s).unwrap_or_default());
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: u64, hash: PdqHash, quality: u8) -> VpdqFrame {
        VpdqFrame { frame_number: n, pdq: hash, quality, timestamp: n as f64 / 30.0, trimmed: None }
    }

    fn flip(h: PdqHash, bits: usize) -> PdqHash {
        let mut x = h;
        for k in 0..bits {
            x.0[k / 64] ^= 1 << (k % 64);
        }
        x
    }

    #[test]
    fn the_reference_file_form_round_trips_and_bad_lines_say_where() {
        let text = "0,100,25ad26b96f58d2491a79f80f07f2c9936fe6083dfb4983d8a4a36db40034df54,0.000\n\
                    1,87,a5ad26b96f58d2491a79f80f07f2c1936fe6083dfb4983d8a4a36db40034df54,0.033\n";
        let frames = parse_reference(text).unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].quality, 87);
        assert_eq!(write_reference(&frames), text);
        for (bad, why) in [
            ("", "at least one frame"),
            ("0,100,zz,0.0", "item 1"),
            ("0,101,25ad26b96f58d2491a79f80f07f2c9936fe6083dfb4983d8a4a36db40034df54,0.0", "quality"),
            ("0,100,25ad26b96f58d2491a79f80f07f2c9936fe6083dfb4983d8a4a36db40034df54,-1", "timestamp"),
            ("0,100,25ad26b96f58d2491a79f80f07f2c9936fe6083dfb4983d8a4a36db40034df54,NaN", "timestamp"),
            ("0,100,0.0", "4 comma-separated"),
            ("x,100,25ad26b96f58d2491a79f80f07f2c9936fe6083dfb4983d8a4a36db40034df54,0", "frame number"),
        ] {
            let err = parse_reference(bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }

    #[test]
    fn the_pytx_signal_form_round_trips_and_rejects_what_is_not_an_array_of_frames() {
        let h =
            "25ad26b96f58d2491a79f80f07f2c9936fe6083dfb4983d8a4a36db40034df54".parse::<PdqHash>().unwrap();
        let frames = vec![frame(0, h, 100), frame(1, flip(h, 3), 60)];
        let s = to_signal(&frames);
        assert!(s.starts_with("[\"25ad26b9") && s.contains("\", \""), "{s}");
        let back = parse_signal(&s).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!((back[1].pdq, back[1].quality, back[1].frame_number), (flip(h, 3), 60, 1));
        for bad in ["{}", "[1,2]", "[]", "[\"abc\"]", "not json", "[\"25ad,100\"]"] {
            assert!(parse_signal(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn comparison_counts_unique_frames_of_good_quality_on_each_side() {
        let a = PdqHash([
            0x1111_2222_3333_4444,
            0x5555_6666_7777_8888,
            0x9999_aaaa_bbbb_cccc,
            0xdddd_eeee_ffff_0000,
        ]);
        let b = PdqHash([!a.0[0], !a.0[1], !a.0[2], !a.0[3]]);
        let c = PdqHash([a.0[0], !a.0[1], a.0[2], !a.0[3]]);
        // The query: a (three times: one unique frame), b, and c of low quality (left out).
        let query = vec![frame(0, a, 90), frame(1, a, 90), frame(2, a, 90), frame(3, b, 90), frame(4, c, 10)];
        // The listed video: a copy of a 31 bits away (a match: <=), c, and b 32 bits away.
        let listed = vec![frame(0, flip(a, 31), 90), frame(1, c, 90), frame(2, flip(b, 32), 90)];
        let rule = VpdqRule::default();
        let cmp = compare(&query, &listed, &rule);
        assert_eq!(cmp.query_percent, 50.0, "a matched, b did not; c left out");
        assert!((cmp.compared_percent - 100.0 / 3.0).abs() < 1e-9);
        assert!(!cmp.is_match, "50 % < 80 %");
        let loose = VpdqRule { query_match_percent: 50.0, ..rule };
        assert!(compare(&query, &listed, &loose).is_match);
        let strict = VpdqRule { compared_match_percent: 34.0, ..loose };
        assert!(!compare(&query, &listed, &strict).is_match);
        // Nothing of good quality on one side: 0 %, never a match.
        let dark = vec![frame(0, a, 0)];
        let none = compare(&dark, &listed, &VpdqRule { query_match_percent: 0.0, ..rule });
        assert_eq!((none.query_percent, none.is_match), (0.0, false));
    }
}
