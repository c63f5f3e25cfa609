//! Which packets a sampled vPDQ needs decoded: pure, so it is tested without FFmpeg.
//!
//! The reference numbers frames in the order the decoder outputs them and hashes frame `n` when
//! `n % interval == 0`. A decoder outputs frames in presentation order, so a frame's number is
//! the rank of its presentation timestamp among the stream's packets (those the container does
//! not mark as discarded, which the decoder drops too). Knowing every frame's number before
//! decoding, the decoder can be spared:
//! * **a group's tail** — the packets after the last sampled frame of a group of pictures,
//!   when the next group starts with a *clean* keyframe (H.264/HEVC IDR, VP8/VP9 keyframe):
//!   nothing after such a keyframe refers to a frame before it. A group with no sampled frame
//!   is skipped whole;
//! * **non-reference frames** that are not sampled (H.264/HEVC): the decoder itself drops them
//!   (`AVDISCARD_NONREF`); no other frame refers to them.
//!
//! The plan is only a promise: the decoder checks every frame it outputs against it and starts
//! over frame by frame, as the reference, when the stream breaks it (see `decode.rs`).

/// One packet of the video stream, as the container indexes it (decode order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketInfo {
    /// Presentation timestamp.
    pub pts: Option<i64>,
    /// A keyframe, by the container's flag.
    pub key: bool,
    /// A keyframe after which nothing refers to an earlier frame.
    pub clean_key: bool,
    /// Marked to be decoded but not output (edit lists): it has no frame number.
    pub discard: bool,
}

/// What to do with one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Not sent to the decoder.
    Skip,
    /// Sent; the decoder outputs it.
    Decode,
    /// Sent; the decoder may drop it if no frame refers to it.
    DecodeIfReference,
}

/// The decisions for a whole stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// One action per packet, in decode order.
    pub actions: Vec<Action>,
    /// Presentation timestamps of the frames, sorted: a frame's number is its position.
    pub frame_pts: Vec<i64>,
}

impl Plan {
    /// The number of the frame presented at `pts`, if the stream has one.
    pub fn frame_number(&self, pts: i64) -> Option<u64> {
        self.frame_pts.binary_search(&pts).ok().map(|i| i as u64)
    }

    /// Packets sent to the decoder.
    pub fn sent(&self) -> u64 {
        self.actions.iter().filter(|a| **a != Action::Skip).count() as u64
    }
}

/// Plans the decoding of `packets` for one hash every `interval` frames. `None` when the index
/// cannot number the frames (a packet without a timestamp, two with the same): decode every
/// frame and count, as the reference.
pub fn plan(packets: &[PacketInfo], interval: u64, skip_nonref: bool, skip_tails: bool) -> Option<Plan> {
    let interval = interval.max(1);
    let mut frame_pts = Vec::with_capacity(packets.len());
    for p in packets.iter().filter(|p| !p.discard) {
        frame_pts.push(p.pts?);
    }
    frame_pts.sort_unstable();
    if frame_pts.windows(2).any(|w| w[0] == w[1]) {
        return None;
    }
    let rank = |pts: i64| frame_pts.binary_search(&pts).ok().map(|i| i as u64);
    let sampled: Vec<bool> = packets
        .iter()
        .map(|p| !p.discard && p.pts.and_then(rank).is_some_and(|n| n.is_multiple_of(interval)))
        .collect();

    let mut actions: Vec<Action> = sampled
        .iter()
        .map(|s| match (*s, skip_nonref) {
            (true, _) | (false, false) => Action::Decode,
            (false, true) => Action::DecodeIfReference,
        })
        .collect();
    if skip_tails {
        // Groups: from one keyframe to the next (packets before the first keyframe form one too).
        let mut starts: Vec<usize> =
            packets.iter().enumerate().filter(|(_, p)| p.key).map(|(i, _)| i).collect();
        if starts.first() != Some(&0) {
            starts.insert(0, 0);
        }
        for (g, &start) in starts.iter().enumerate() {
            let end = starts.get(g + 1).copied().unwrap_or(packets.len());
            let next_clean = end == packets.len() || packets[end].clean_key;
            if !next_clean {
                continue;
            }
            let from = (start..end).rev().find(|&i| sampled[i]).map_or(start, |i| i + 1);
            for a in &mut actions[from..end] {
                *a = Action::Skip;
            }
        }
    }
    Some(Plan { actions, frame_pts })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn packet(pts: i64, key: bool) -> PacketInfo {
        PacketInfo { pts: Some(pts), key, clean_key: key, discard: false }
    }

    /// Decode order of an IPBB… stream: I0 P3 B1 B2 P6 B4 B5 … (pts in frames).
    fn ipbb(frames: i64, gop: i64) -> Vec<PacketInfo> {
        let mut out = Vec::new();
        let mut g = 0;
        while g < frames {
            let end = (g + gop).min(frames);
            out.push(packet(g, true));
            let mut anchor = g;
            while anchor + 3 < end {
                out.push(packet(anchor + 3, false));
                out.push(packet(anchor + 1, false));
                out.push(packet(anchor + 2, false));
                anchor += 3;
            }
            for pts in anchor + 1..end {
                out.push(packet(pts, false));
            }
            g = end;
        }
        out
    }

    #[test]
    fn frames_are_numbered_by_presentation_order_and_tails_after_the_last_sample_are_skipped() {
        let packets = ipbb(20, 10);
        let plan = plan(&packets, 4, true, true).expect("plan");
        assert_eq!(plan.frame_number(7), Some(7));
        // Group 0 (frames 0-9, sampled 0, 4, 8): decode order I0 P3 B1 B2 P6 B4 B5 P9 B7 B8.
        // Frame 8 is the last sampled; after it (decode order) nothing.
        use Action::*;
        assert_eq!(
            &plan.actions[..10],
            &[
                Decode,
                DecodeIfReference,
                DecodeIfReference,
                DecodeIfReference,
                DecodeIfReference,
                Decode,
                DecodeIfReference,
                DecodeIfReference,
                DecodeIfReference,
                Decode
            ]
        );
        // Group 1 (frames 10-19, sampled 12, 16): I10 P13 B11 B12 P16 B14 B15 P19 B17 B18:
        // after B12 the next sampled is P16, then nothing: B14 … B18 skipped.
        assert_eq!(
            &plan.actions[10..],
            &[
                DecodeIfReference,
                DecodeIfReference,
                DecodeIfReference,
                Decode,
                Decode,
                Skip,
                Skip,
                Skip,
                Skip,
                Skip
            ]
        );
    }

    #[test]
    fn a_group_without_a_sample_is_skipped_only_when_the_next_keyframe_is_clean() {
        let mut packets = ipbb(30, 5);
        let whole = plan(&packets, 10, false, true).expect("plan");
        assert!(whole.actions[5..10].iter().all(|a| *a == Action::Skip), "frames 5-9: no sample");
        packets[10].clean_key = false; // frames 5-9 may be referred to from frame 10 on
        let kept = plan(&packets, 10, false, true).expect("plan");
        assert!(kept.actions[5..10].iter().all(|a| *a == Action::Decode));
    }

    #[test]
    fn no_plan_without_timestamps_or_with_duplicates_and_discarded_packets_have_no_number() {
        let mut p = ipbb(10, 10);
        p[3].pts = None;
        assert!(plan(&p, 2, true, true).is_none());
        let mut p = ipbb(10, 10);
        p[3].pts = Some(0);
        assert!(plan(&p, 2, true, true).is_none());
        let mut p = ipbb(10, 10);
        p[0].discard = true; // pts 0 is pre-roll: frame 0 is pts 1
        let plan = plan(&p, 2, false, false).expect("plan");
        assert_eq!(plan.frame_number(1), Some(0));
        assert_eq!(plan.frame_number(0), None);
    }

    proptest! {
        #[test]
        fn every_sampled_frame_is_decoded_and_nothing_before_it_in_its_group_is_skipped(
            frames in 1i64..200, gop in 1i64..60, interval in 1u64..40, nonref: bool, tails: bool,
        ) {
            let packets = ipbb(frames, gop);
            let plan = plan(&packets, interval, nonref, tails).expect("plan");
            prop_assert_eq!(plan.frame_pts.len() as i64, frames);
            let mut group_start = 0;
            let mut last_needed = None;
            for (i, p) in packets.iter().enumerate() {
                if p.key { group_start = i; last_needed = None; }
                let n = plan.frame_number(p.pts.expect("pts")).expect("numbered");
                if n.is_multiple_of(interval) {
                    prop_assert_eq!(plan.actions[i], Action::Decode);
                    prop_assert!(plan.actions[group_start..i].iter().all(|a| *a != Action::Skip));
                    last_needed = Some(i);
                }
                if !tails { prop_assert_ne!(plan.actions[i], Action::Skip); }
                if plan.actions[i] == Action::Skip {
                    prop_assert!(last_needed.is_none_or(|l| l < i));
                }
            }
        }
    }
}
