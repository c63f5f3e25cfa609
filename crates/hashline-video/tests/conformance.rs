//! Conformance of hashline's vPDQ with the reference on the 14 shared sample videos
//! (`../shared/pdq-vectors/tmk/sample-videos`, benign clips recorded by the ThreatExchange
//! authors for tests):
//!
//! * against the sample hash files of that repository (every frame hashed, made with another
//!   FFmpeg build): the same frame count and frame numbers, and every frame of quality ≥ 50
//!   within distance < 31 — the reference's own bar;
//! * against the `vpdq` 0.2.5 package built on this machine's FFmpeg (its output committed under
//!   `tests/data/vpdq-0.2.5`, made by `benches/vpdq_reference.py`): at least 99 % of frames
//!   bit-identical, every frame and at one hash per second.
//!
//! Needs `ffmpeg`, `ffprobe` and `prlimit` (`scripts/install-deps`).

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its message.

use std::path::{Path, PathBuf};

use hashline_hash::vpdq::{parse_reference, VpdqFrame};
use hashline_hash::{HashOptions, Hasher};
use hashline_video::{decoder_in_use, hash_file, DecoderChoice, VideoSettings};

fn shared() -> PathBuf {
    let dir = std::env::var("HASHLINE_PDQ_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/pdq-vectors"));
    assert!(dir.join("tmk/sample-videos").is_dir(), "sample videos not found under {}", dir.display());
    dir
}

fn videos() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(shared().join("tmk/sample-videos"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .collect();
    v.sort();
    assert_eq!(v.len(), 14, "the 14 shared sample videos");
    v
}

fn ours(path: &Path, seconds_per_hash: f64) -> Vec<VpdqFrame> {
    ours_with(path, seconds_per_hash, DecoderChoice::Auto)
}

fn ours_with(path: &Path, seconds_per_hash: f64, decoder: DecoderChoice) -> Vec<VpdqFrame> {
    let settings = VideoSettings { seconds_per_hash, decoder, ..VideoSettings::default() };
    hash_file(path, &settings, &mut Hasher::new(HashOptions::default())).unwrap().frames
}

fn stem(p: &Path) -> String {
    p.file_stem().unwrap().to_string_lossy().into_owned()
}

#[test]
fn every_frame_is_within_the_references_bar_of_the_sample_hash_files() {
    let mut histogram = [0usize; 33];
    let (mut frames, mut checked) = (0, 0);
    for video in videos() {
        let name = stem(&video);
        let expected_file = shared().join(format!("vpdq/sample-hashes/{name}.txt"));
        let expected = parse_reference(&std::fs::read_to_string(&expected_file).unwrap()).unwrap();
        let got = ours(&video, 0.0);
        assert_eq!(got.len(), expected.len(), "{name}: frame count");
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!(g.frame_number, e.frame_number, "{name}: frame numbers");
            assert!((g.timestamp - e.timestamp).abs() < 0.0015, "{name} frame {}: timestamp", g.frame_number);
            frames += 1;
            if e.quality >= 50 && g.quality >= 50 {
                let d = g.pdq.distance(&e.pdq);
                histogram[(d as usize).min(32)] += 1;
                checked += 1;
                assert!(d < 31, "{name} frame {}: distance {d}", g.frame_number);
            }
        }
    }
    let nonzero: Vec<String> =
        histogram.iter().enumerate().filter(|(_, n)| **n > 0).map(|(d, n)| format!("{d}:{n}")).collect();
    println!("{frames} frames, {checked} of quality >= 50; distance:count {}", nonzero.join(" "));
}

#[test]
fn at_least_99_percent_of_frames_are_bit_identical_to_the_vpdq_package_on_the_same_ffmpeg() {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/vpdq-0.2.5");
    assert!(
        decoder_in_use(&VideoSettings::default()).starts_with("frame decoder"),
        "no hashline-decoder beside the tests: `cargo build -p hashline-decoder` (a workspace test run builds it)"
    );
    for (decoder, tag, sph) in [
        (DecoderChoice::Auto, "every-frame", 0.0),
        (DecoderChoice::Auto, "1s", 1.0),
        (DecoderChoice::Ffmpeg, "every-frame", 0.0),
        (DecoderChoice::Ffmpeg, "1s", 1.0),
    ] {
        let (mut total, mut same, mut quality_same) = (0usize, 0usize, 0usize);
        for video in videos() {
            let name = stem(&video);
            let expected =
                parse_reference(&std::fs::read_to_string(data.join(format!("{name}.{tag}.txt"))).unwrap())
                    .unwrap();
            let got = ours_with(&video, sph, decoder.clone());
            assert_eq!(got.len(), expected.len(), "{name} {tag}: frame count");
            for (g, e) in got.iter().zip(&expected) {
                assert_eq!(g.frame_number, e.frame_number, "{name} {tag}: the same frames are selected");
                assert_eq!(format!("{:.3}", g.timestamp), format!("{:.3}", e.timestamp), "{name} {tag}");
                total += 1;
                same += usize::from(g.pdq == e.pdq);
                quality_same += usize::from(g.quality == e.quality);
            }
        }
        println!("{decoder:?} {tag}: {same} of {total} frames bit-identical, {quality_same} same quality");
        assert!(same * 100 >= total * 99, "{tag}: {same} of {total} bit-identical");
    }
}

#[test]
fn frames_inside_bars_match_the_original_without_bars_through_the_trimmed_variant() {
    // chair-19-sd-bar is an SD copy with black bars of a chair video whose HD original has none:
    // the reference's frames are 0 % alike; the picture inside each frame's bars is 100 %.
    let video = shared().join("tmk/sample-videos/chair-19-sd-bar.mp4");
    let listed_file = shared().join("vpdq/sample-hashes/chair-orig-22-hd-no-bar.txt");
    let listed = parse_reference(&std::fs::read_to_string(listed_file).unwrap()).unwrap();
    let options = HashOptions { trim_borders: true, ..HashOptions::default() };
    let frames = hash_file(&video, &VideoSettings::default(), &mut Hasher::new(options)).unwrap().frames;
    let near = |h: &hashline_hash::PdqHash| {
        listed.iter().filter(|l| l.quality >= 50).any(|l| l.pdq.distance(h) <= 31)
    };
    let good: Vec<&VpdqFrame> = frames.iter().filter(|f| f.quality >= 50).collect();
    assert!(good.len() >= 15, "{} frames of good quality", good.len());
    let by_original = good.iter().filter(|f| near(&f.pdq)).count();
    let by_trimmed =
        good.iter().filter(|f| f.trimmed.is_some_and(|t| t.quality >= 50 && near(&t.pdq))).count();
    assert_eq!(by_original, 0, "the whole frames (with bars) match nothing");
    assert_eq!(by_trimmed, good.len(), "every frame matches by the picture inside its bars");
}
