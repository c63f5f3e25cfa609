//! Video matching through the list index: listed videos (vPDQ) by the reference's rule, and
//! listed pictures shown inside a video; the index gives the same percentages as the
//! brute-force rule.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its message.

use hashline_hash::vpdq::{compare, to_signal, VpdqFrame, VpdqRule};
use hashline_hash::{Dihedral, PdqHash};
use hashline_lists::formats::{parse, Format, ParseOptions};
use hashline_lists::{
    Entry, ListKind, ListSet, Manifest, Query, QueryFrame, SignalType, StoredList, Thresholds,
};
use proptest::prelude::*;

fn rand_hash(seed: u64) -> PdqHash {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    PdqHash([next(), next(), next(), next()])
}

fn flip(h: PdqHash, bits: usize, from: usize) -> PdqHash {
    let mut x = h;
    for k in from..from + bits {
        x.0[(k % 256) / 64] ^= 1 << (k % 64);
    }
    x
}

fn frames(hashes: &[PdqHash], quality: u8) -> Vec<VpdqFrame> {
    hashes
        .iter()
        .enumerate()
        .map(|(i, h)| VpdqFrame {
            frame_number: i as u64 * 30,
            pdq: *h,
            quality,
            timestamp: i as f64,
            trimmed: None,
        })
        .collect()
}

fn stored(name: &str, thresholds: Thresholds, entries: Vec<Entry>) -> StoredList {
    StoredList {
        manifest: Manifest {
            name: name.into(),
            source: "test".into(),
            version: 3,
            fetched_at: "2026-01-01T00:00:00Z".into(),
            kind: ListKind::Known,
            default_classification: None,
            thresholds,
            signed_by: None,
            signed_sequence: None,
            entries: entries.len() as u64,
            entries_sha256: String::new(),
        },
        entries,
    }
}

fn video_entry(id: &str, f: &[VpdqFrame]) -> Entry {
    let mut e = Entry::new(SignalType::Vpdq, to_signal(f));
    e.id = id.into();
    e
}

fn query(f: &[VpdqFrame]) -> Query {
    Query { vpdq: f.iter().map(|f| QueryFrame { frame: *f, dihedral: None }).collect(), ..Query::default() }
}

#[test]
fn a_re_encoded_video_matches_its_listed_original_with_percentages_and_timestamps() {
    let original: Vec<PdqHash> = (0..20).map(rand_hash).collect();
    let listed = frames(&original, 90);
    let set =
        ListSet::build(vec![stored("videos", Thresholds::default(), vec![video_entry("clip-1", &listed)])]);
    // A re-encode: every frame a few bits off, one frame replaced by something else (95 %).
    let mut copy: Vec<PdqHash> = original.iter().enumerate().map(|(i, h)| flip(*h, 5 + i % 20, i)).collect();
    copy[7] = rand_hash(999);
    let o = set.match_query(&query(&frames(&copy, 90)));
    assert_eq!(o.matches.len(), 1, "{o:?}");
    let m = &o.matches[0];
    assert_eq!((m.signal.as_str(), m.entry_id.as_str(), m.list_version), ("vpdq", "clip-1", 3));
    let v = m.video.as_ref().unwrap();
    assert_eq!(v.query_percent, 95.0);
    assert_eq!(v.compared_percent, Some(95.0));
    assert_eq!(v.matched_frames, 19);
    assert_eq!(v.frames[0].timestamp, 0.0);
    assert_eq!(v.frames[7].timestamp, 8.0, "frame 7 (at 7 s) did not match");
    assert_eq!(m.distance, 5);
    // The first half only: 100 % of the query, 50 % of the listed video; a match at pytx's
    // defaults (compared ≥ 0 %), not under a list that asks for 60 % of the listed video.
    let half = frames(&original[..10], 90);
    assert_eq!(
        set.match_query(&query(&half)).matches[0].video.as_ref().unwrap().compared_percent,
        Some(50.0)
    );
    let strict = Thresholds { vpdq_compared_match_percent: 60, ..Thresholds::default() };
    let set2 = ListSet::build(vec![stored("videos", strict, vec![video_entry("clip-1", &listed)])]);
    assert!(set2.match_query(&query(&half)).matches.is_empty());
    // Mostly other material: 10 of 30 frames, 33 % < 80 %: no match.
    let mut mixed = original[..10].to_vec();
    mixed.extend((100..120).map(rand_hash));
    assert!(set.match_query(&query(&frames(&mixed, 90))).matches.is_empty());
    // Frames of low quality are left out on the query side: a dark copy matches nothing.
    assert!(set.match_query(&query(&frames(&original, 20))).matches.is_empty());
}

#[test]
fn letterboxed_copies_match_through_the_picture_inside_each_frames_bars() {
    let original: Vec<PdqHash> = (0..10).map(rand_hash).collect();
    let set = ListSet::build(vec![stored(
        "videos",
        Thresholds::default(),
        vec![video_entry("clip", &frames(&original, 90))],
    )]);
    // Every frame of the copy has bars (its hash far from the original), the picture inside
    // them is the original, re-encoded.
    let mut copy = frames(&(300..310).map(rand_hash).collect::<Vec<_>>(), 90);
    for (f, h) in copy.iter_mut().zip(&original) {
        f.trimmed = Some(hashline_hash::vpdq::TrimmedFrame { pdq: flip(*h, 7, 0), quality: 80 });
    }
    let o = set.match_query(&query(&copy));
    assert_eq!(o.matches.len(), 1, "{o:?}");
    let v = o.matches[0].video.as_ref().unwrap();
    assert_eq!((v.query_percent, v.border_trimmed, o.matches[0].distance), (100.0, true, 7));
    // Without the variant: nothing.
    for f in &mut copy {
        f.trimmed = None;
    }
    assert!(set.match_query(&query(&copy)).matches.is_empty());
    // A trimmed variant of low quality is not used.
    for (f, h) in copy.iter_mut().zip(&original) {
        f.trimmed = Some(hashline_hash::vpdq::TrimmedFrame { pdq: *h, quality: 20 });
    }
    assert!(set.match_query(&query(&copy)).matches.is_empty());
}

#[test]
fn a_listed_picture_shown_for_a_few_seconds_inside_a_video_is_found_with_its_timestamps() {
    let picture = rand_hash(7);
    let set = ListSet::build(vec![stored(
        "pictures",
        Thresholds::default(),
        vec![Entry::new(SignalType::Pdq, picture.to_hex())],
    )]);
    let mut video: Vec<PdqHash> = (200..230).map(rand_hash).collect();
    for (i, slot) in video.iter_mut().enumerate().take(15).skip(12) {
        *slot = flip(picture, 3 + i, 0); // seconds 12–14 show the picture, re-encoded
    }
    let o = set.match_query(&query(&frames(&video, 80)));
    assert_eq!(o.matches.len(), 1, "{o:?}");
    let m = &o.matches[0];
    assert_eq!(m.signal, SignalType::Pdq);
    assert_eq!(m.distance, 15);
    let v = m.video.as_ref().unwrap();
    assert_eq!(v.matched_frames, 3);
    assert_eq!(v.frames.iter().map(|f| f.timestamp).collect::<Vec<_>>(), vec![12.0, 13.0, 14.0]);
    assert_eq!(v.compared_percent, None);
    // Rotated in the video: found through the frames' dihedral hashes when they are computed.
    let rotated = rand_hash(8);
    let mut q = query(&frames(&[rand_hash(300), rotated], 80));
    let mut all = [rand_hash(301); 8];
    all[0] = rotated;
    all[Dihedral::ALL.iter().position(|d| *d == Dihedral::Rotate90).unwrap()] = picture;
    q.vpdq[1].dihedral = Some(all);
    let o = set.match_query(&q);
    assert_eq!(o.matches[0].dihedral, Some(Dihedral::Rotate90), "{o:?}");
}

#[test]
fn vpdq_lists_import_from_pytx_files_csv_and_reference_hash_files() {
    let f = frames(&[rand_hash(1), rand_hash(2)], 100);
    let signal = to_signal(&f);
    let pytx = format!(
        "vpdq {signal} 'Sample collab' INVESTIGATION_SEED\npdq {}\nvpdq [\"zz\"]\n",
        rand_hash(3).to_hex()
    );
    let p = parse(Format::PytxFile, "in.txt", &pytx, &ParseOptions::default());
    assert_eq!(p.entries.len(), 2, "{:?}", p.errors);
    assert_eq!(p.entries[0].signal, SignalType::Vpdq);
    assert_eq!(p.entries[0].value, signal);
    assert_eq!(p.entries[0].tags, vec!["collab:Sample collab", "category:investigation_seed"]);
    assert!(
        p.entries[0].id.starts_with("vpdq:") && p.entries[0].id.len() == 37,
        "short id: {}",
        p.entries[0].id
    );
    assert_eq!(p.errors.len(), 1, "the bad frame is reported: {:?}", p.errors);
    assert!(p.errors[0].to_string().contains("line 3"));
    let csv = format!(
        "signal_type,signal_str,collab,category,tags\nvpdq,\"{}\",c,,\n",
        signal.replace('"', "\"\"")
    );
    let p = parse(Format::PytxCsv, "in.csv", &csv, &ParseOptions::default());
    assert_eq!(p.entries[0].value, signal, "{:?}", p.errors);
    let reference = hashline_hash::vpdq::write_reference(&f);
    let p = parse(Format::VpdqFiles, "videos/clip-9.txt", &reference, &ParseOptions::default());
    assert_eq!((p.entries[0].id.as_str(), p.entries[0].value.as_str()), ("clip-9", signal.as_str()));
    let p = parse(Format::VpdqFiles, "bad.txt", "not,a,hash,file", &ParseOptions::default());
    assert!(p.entries.is_empty() && p.errors.len() == 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The index counts exactly what the brute-force rule counts.
    #[test]
    fn the_index_gives_the_brute_force_percentages(
        listed in prop::collection::vec((0u64..40, 0usize..40, 0u8..=100), 1..30),
        query_frames in prop::collection::vec((0u64..40, 0usize..40, 0u8..=100), 1..30),
    ) {
        let make = |v: &[(u64, usize, u8)]| -> Vec<VpdqFrame> {
            v.iter().enumerate().map(|(i, (seed, bits, q))| VpdqFrame {
                frame_number: i as u64,
                pdq: flip(rand_hash(*seed % 8), *bits, *seed as usize),
                quality: *q,
                timestamp: i as f64,
                trimmed: None,
            }).collect()
        };
        let (l, q) = (make(&listed), make(&query_frames));
        let th = Thresholds { vpdq_query_match_percent: 0, ..Thresholds::default() };
        let set = ListSet::build(vec![stored("v", th, vec![video_entry("e", &l)])]);
        let brute = compare(&q, &l, &VpdqRule { query_match_percent: 0.0, ..VpdqRule::default() });
        let o = set.match_query(&query(&q));
        match o.matches.first() {
            Some(m) => {
                let v = m.video.as_ref().unwrap();
                prop_assert!((v.query_percent - brute.query_percent).abs() < 1e-9);
                prop_assert!((v.compared_percent.unwrap() - brute.compared_percent).abs() < 1e-9);
                prop_assert!(brute.is_match);
            }
            None => prop_assert!(!brute.is_match, "{brute:?}"),
        }
    }
}
