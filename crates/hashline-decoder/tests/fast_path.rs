//! Decoding only what the sampled frames need gives exactly the frames of decoding every frame
//! and counting (the reference's way): same numbers, same RGB bytes — on the 14 shared sample
//! videos and on benign test-pattern videos made here with the encoder settings that change
//! which frames can be skipped (B-frame pyramids, open groups, short and long groups, no
//! B-frames, HEVC, VP8, VP9, MPEG-4 Part 2, Matroska, MPEG-TS, an edit list).

use std::path::{Path, PathBuf};
use std::process::Command;

use hashline_video::wire::{Reader, Record, Stats};

fn decoder() -> &'static str {
    env!("CARGO_BIN_EXE_hashline-decoder")
}

/// The frames and the closing statistics of one run of the decoder.
fn decode(video: &Path, seconds_per_hash: &str, every_frame: bool) -> (Vec<(u64, Vec<u8>)>, Stats) {
    let mut cmd = Command::new(decoder());
    cmd.arg("--input").arg(video).args(["--seconds-per-hash", seconds_per_hash]);
    if every_frame {
        cmd.arg("--every-frame");
    }
    let out = cmd.output().expect("the decoder runs");
    assert!(out.status.success(), "{}: {}", video.display(), String::from_utf8_lossy(&out.stderr));
    let mut reader = Reader::new(&out.stdout[..], u64::MAX);
    let mut frames = Vec::new();
    let mut stats = None;
    while let Some(r) = reader.next_record().expect("a well-formed stream") {
        match r {
            Record::Info(_) => {}
            Record::Frame { number, rgb } => frames.push((number, rgb)),
            Record::Restart => frames.clear(),
            Record::End(s) => stats = Some(s),
            Record::Fail { kind, message } => panic!("{}: {kind:?} {message}", video.display()),
        }
    }
    (frames, stats.expect("an end record"))
}

fn make(dir: &Path, name: &str, seconds: u32, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size=320x240:rate=30:duration={seconds}"))
        .args(["-pix_fmt", "yuv420p"])
        .args(args)
        .arg(&out)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "making {name}");
    out
}

/// Compares the two ways on `video`; returns the fast run's statistics.
fn same_frames(video: &Path, seconds_per_hash: &str) -> Stats {
    let (fast, stats) = decode(video, seconds_per_hash, false);
    let (full, full_stats) = decode(video, seconds_per_hash, true);
    assert!(!full_stats.fast);
    let numbers = |f: &[(u64, Vec<u8>)]| f.iter().map(|(n, _)| *n).collect::<Vec<_>>();
    assert_eq!(numbers(&fast), numbers(&full), "{}: frame numbers", video.display());
    for ((n, a), (_, b)) in fast.iter().zip(&full) {
        assert!(a == b, "{}: frame {n} differs", video.display());
    }
    assert!(!full.is_empty());
    stats
}

#[test]
fn the_sample_videos_give_the_same_frames_decoding_only_what_is_needed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/pdq-vectors/tmk/sample-videos");
    let mut videos: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("../shared/pdq-vectors beside the repository")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .collect();
    videos.sort();
    assert_eq!(videos.len(), 14);
    let (mut sent, mut total) = (0, 0);
    for v in &videos {
        let stats = same_frames(v, "1");
        assert!(stats.fast, "{}: the fast path held", v.display());
        sent += stats.packets_sent;
        total += stats.packets_total;
    }
    // Two-second groups sampled every second: well under all packets are decoded.
    assert!(sent * 10 < total * 7, "{sent} of {total} packets sent");
}

#[test]
fn encoder_settings_that_change_the_frame_dependencies_give_the_same_frames() {
    let d = std::env::temp_dir().join(format!("hashline-decoder-fast-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    let x264 = |params: &str| {
        vec!["-c:v", "libx264", "-preset", "veryfast", "-x264-params", params]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let cases: Vec<(&str, Vec<String>, bool)> = vec![
        ("pyramid.mp4", x264("keyint=45:bframes=3:b-pyramid=normal"), true),
        ("open-gop.mp4", x264("keyint=40:open-gop=1:bframes=3"), true),
        ("no-b.mp4", x264("keyint=20:bframes=0"), true),
        ("one-group.mp4", x264("keyint=1000:scenecut=0"), true),
        ("short-groups.mp4", x264("keyint=7:min-keyint=7:bframes=2"), true),
        ("refs.mp4", x264("keyint=60:ref=8:bframes=4:b-pyramid=strict"), true),
        ("intra-refresh.mp4", x264("keyint=30:intra-refresh=1"), true),
        (
            "hevc.mp4",
            ["-c:v", "libx265", "-x265-params", "keyint=40:log-level=error"].map(String::from).to_vec(),
            true,
        ),
        (
            "vp9.webm",
            ["-c:v", "libvpx-vp9", "-g", "40", "-deadline", "realtime", "-cpu-used", "8"]
                .map(String::from)
                .to_vec(),
            true,
        ),
        (
            "vp8.webm",
            ["-c:v", "libvpx", "-g", "25", "-deadline", "realtime"].map(String::from).to_vec(),
            true,
        ),
        ("h264.mkv", x264("keyint=30"), true),
        ("h264.ts", x264("keyint=30"), true),
        ("mpeg4.avi", ["-c:v", "mpeg4", "-g", "30", "-bf", "2"].map(String::from).to_vec(), false),
    ];
    for (name, args, fast) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let video = make(&d, name, 6, &args);
        for sph in ["1", "0.5", "2.5"] {
            let stats = same_frames(&video, sph);
            assert_eq!(stats.fast, *fast, "{name} at {sph} s per hash: fast path used");
        }
    }
    // An edit list that starts after the first frames (pre-roll marked discarded).
    let src = d.join("pyramid.mp4");
    let cut = d.join("edit-list.mp4");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-ss", "1.1", "-i"])
        .arg(&src)
        .args(["-c", "copy"])
        .arg(&cut)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success());
    same_frames(&cut, "1");
    std::fs::remove_dir_all(&d).expect("clean up");
}
