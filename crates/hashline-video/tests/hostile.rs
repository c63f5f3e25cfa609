//! Hostile and broken videos: each ends as a clear error for that video, within its limits,
//! and the process that asked goes on. FFmpeg runs in a child process; a fake `ffmpeg` stands in
//! for a decoder that crashes, hangs or floods its output.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its message.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use hashline_hash::{HashOptions, Hasher};
use hashline_video::{hash_bytes, hash_file, DecoderChoice, VideoError, VideoLimits, VideoSettings};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hashline-video-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A benign test video drawn by FFmpeg (its test pattern), `seconds` long at 30 frames/s.
fn pattern(dir: &Path, name: &str, size: &str, seconds: u32, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size={size}:rate=30:duration={seconds}"))
        .args(["-pix_fmt", "yuv420p"])
        .args(extra)
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    out
}

fn hash(path: &Path, settings: &VideoSettings) -> Result<usize, VideoError> {
    hash_file(path, settings, &mut Hasher::new(HashOptions::default())).map(|v| v.frames.len())
}

/// The settings for each way of decoding: the frame decoder (`hashline-decoder`, which Cargo
/// builds beside the test programs in a workspace test run) and the `ffmpeg` program.
fn both_decoders() -> [VideoSettings; 2] {
    let frames = VideoSettings::default();
    assert!(
        hashline_video::decoder_in_use(&frames).starts_with("frame decoder"),
        "no hashline-decoder beside the tests: `cargo build -p hashline-decoder` (a workspace test run builds it)"
    );
    [frames, VideoSettings { decoder: DecoderChoice::Ffmpeg, ..VideoSettings::default() }]
}

fn fake_program(dir: &Path, name: &str, script: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

#[test]
fn a_good_video_is_hashed_once_per_second_and_broken_copies_fail_cleanly() {
    let d = dir("broken");
    let good = pattern(&d, "good.mp4", "160x120", 3, &[]);
    for settings in both_decoders() {
        broken_copies(&d, &good, &settings);
    }
    std::fs::remove_dir_all(&d).unwrap();
}

fn broken_copies(d: &Path, good: &Path, settings: &VideoSettings) {
    let settings = settings.clone();
    assert_eq!(hash(good, &settings).unwrap(), 3, "frames 0, 30, 60");
    let bytes = std::fs::read(good).unwrap();

    // Truncated: the index (moov) is written at the end by default, so half a file has none.
    let half = d.join("half.mp4");
    let d = d.to_path_buf();
    let good = good.to_path_buf();
    std::fs::write(&half, &bytes[..bytes.len() / 2]).unwrap();
    assert_eq!(hash(&half, &settings).unwrap_err().kind(), "unreadable");

    // The index cut off: everything before the `moov` atom, intact.
    let at = bytes.windows(4).rposition(|w| w == b"moov").unwrap();
    let no_moov = &bytes[..at - 4];
    let e = hash_bytes(no_moov, &settings, &mut Hasher::new(HashOptions::default())).unwrap_err();
    assert_eq!(e.kind(), "unreadable", "{e}");

    // Random bytes with a video name; an empty file; text.
    let random: Vec<u8> = (0..50_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    for (name, body) in [("random.mp4", &random[..]), ("empty.mp4", &[][..]), ("text.mp4", b"hello world")] {
        let p = d.join(name);
        std::fs::write(&p, body).unwrap();
        let e = hash(&p, &settings).unwrap_err();
        assert_eq!(e.kind(), "unreadable", "{name}: {e}");
        assert!(!e.to_string().contains(d.to_str().unwrap()), "the path is never in the message: {e}");
    }

    // A playlist that would make FFmpeg open other files: not an allowed container.
    let playlist = d.join("playlist.mp4");
    std::fs::write(&playlist, format!("#EXTM3U\n#EXTINF:1,\n{}\n", good.display())).unwrap();
    assert_eq!(hash(&playlist, &settings).unwrap_err().kind(), "unreadable");
    let concat = d.join("concat.mp4");
    std::fs::write(&concat, format!("ffconcat version 1.0\nfile '{}'\n", good.display())).unwrap();
    assert_eq!(hash(&concat, &settings).unwrap_err().kind(), "unreadable");
}

#[test]
fn limits_are_checked_from_the_container_before_decoding() {
    let d = dir("limits");
    let video = pattern(&d, "v.mp4", "320x240", 2, &[]);
    let base = VideoLimits::default();
    for settings in both_decoders() {
        let with = |limits: VideoLimits| VideoSettings { limits, ..settings.clone() };
        for (limits, kind) in [
            (VideoLimits { max_bytes: 100, ..base.clone() }, "too_large"),
            (VideoLimits { max_frame_pixels: 320 * 240 - 1, ..base.clone() }, "frame_too_large"),
            (VideoLimits { max_frame_rate: 25.0, ..base.clone() }, "bad_frame_rate"),
            (VideoLimits { max_duration_seconds: 1.5, ..base.clone() }, "too_long"),
            (VideoLimits { max_frames_decoded: 40, ..base.clone() }, "too_many_frames"),
        ] {
            let e = hash(&video, &with(limits)).unwrap_err();
            assert_eq!(e.kind(), kind, "{e}");
        }
    }
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_container_that_lies_about_its_length_is_stopped_while_decoding() {
    // An MPEG-TS stream carries no duration: the frame limit is enforced on what the decoder
    // gives (frames 0, 30, 60, … counted as they arrive).
    let d = dir("lies");
    let ts = pattern(&d, "v.ts", "160x120", 4, &["-f", "mpegts"]);
    let limits = VideoLimits { max_frames_decoded: 61, ..VideoLimits::default() };
    for settings in both_decoders() {
        let e = hash(&ts, &VideoSettings { limits: limits.clone(), ..settings }).unwrap_err();
        assert_eq!(e.kind(), "too_many_frames", "{e}");
    }
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_stream_that_never_ends_is_stopped_at_the_wall_clock_limit() {
    // A named pipe nobody writes to: opening it blocks forever.
    let d = dir("fifo");
    let fifo = d.join("never.mp4");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let limits = VideoLimits { max_decode_seconds: 2, ..VideoLimits::default() };
    let started = Instant::now();
    let e = hash(&fifo, &VideoSettings { limits, ..VideoSettings::default() }).unwrap_err();
    assert_eq!(e.kind(), "timed_out", "{e}");
    assert!(started.elapsed() < Duration::from_secs(20), "stopped near its limit");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_decoder_that_crashes_hangs_or_floods_ends_as_an_error_for_that_video() {
    let d = dir("fake");
    let video = pattern(&d, "v.mp4", "160x120", 1, &[]);
    let run = |script: &str, limits: VideoLimits| {
        let ffmpeg = fake_program(&d, "ffmpeg", script);
        hash(
            &video,
            &VideoSettings { ffmpeg, decoder: DecoderChoice::Ffmpeg, limits, ..VideoSettings::default() },
        )
    };
    let base = VideoLimits::default();
    // Segmentation fault.
    let e = run("kill -SEGV $$", base.clone()).unwrap_err();
    assert_eq!(e, VideoError::Crashed { signal: 11 });
    // Abort half-way through a frame.
    let e = run("head -c 1000 /dev/zero; kill -ABRT $$", base.clone()).unwrap_err();
    assert_eq!(e, VideoError::Crashed { signal: 6 });
    // Hangs: killed at the wall-clock limit.
    let started = Instant::now();
    let e = run("sleep 60", VideoLimits { max_decode_seconds: 1, ..base.clone() }).unwrap_err();
    assert_eq!(e.kind(), "timed_out");
    assert!(started.elapsed() < Duration::from_secs(15));
    // Hangs in a process of its own: the whole group is killed, nothing is left running.
    let e = run("sleep 97.5 & wait", VideoLimits { max_decode_seconds: 1, ..base.clone() }).unwrap_err();
    assert_eq!(e.kind(), "timed_out");
    std::thread::sleep(Duration::from_millis(300));
    let left = Command::new("pgrep").args(["-f", "sleep 97.5"]).output().unwrap();
    assert!(
        left.stdout.is_empty(),
        "a decoder's own child outlived it: {}",
        String::from_utf8_lossy(&left.stdout)
    );
    // Spins on the CPU: the kernel's CPU-time limit ends it.
    let e = run("while :; do :; done", VideoLimits { max_decode_seconds: 1, ..base.clone() }).unwrap_err();
    assert_eq!(e.kind(), "timed_out");
    // Floods frames without end: stopped at the frame limit (60 frames of 160×120 RGB).
    let e = run("cat /dev/zero", VideoLimits { max_frames_decoded: 60 * 30, ..base.clone() }).unwrap_err();
    assert_eq!(e.kind(), "too_many_frames");
    // Fails with a message naming the input: the path is replaced.
    let named = "for a; do case $a in file:*) i=$a;; esac; done; echo \"$i: Invalid data found when processing input\" >&2; exit 1";
    let e = run(named, base.clone()).unwrap_err();
    assert!(
        matches!(&e, VideoError::DecodeFailed(m) if m.contains("Invalid data") && !m.contains("v.mp4")),
        "{e}"
    );
    // Out of memory.
    let e = run("echo 'Cannot allocate memory' >&2; exit 1", base.clone()).unwrap_err();
    assert_eq!(e.kind(), "out_of_memory");
    // No such program.
    let settings = VideoSettings { prlimit: d.join("no-such-prlimit"), ..VideoSettings::default() };
    assert_eq!(hash(&video, &settings).unwrap_err().kind(), "tool_missing");
    std::fs::remove_dir_all(&d).unwrap();
}

/// A frame decoder that writes the facts of a 2×1 video at 30 frames/s, then runs `rest`
/// (Python) with `w` the standard output's binary writer and `struct` imported.
fn fake_frame_decoder(rest: &str) -> String {
    format!(
        "exec python3 -c 'import sys, struct\nw = sys.stdout.buffer\nw.write(b\"HLVD\\x01I\" + struct.pack(\"<IIiid\", 2, 1, 30, 1, 1.0) + bytes([4]) + b\"h264\")\n{rest}'"
    )
}

#[test]
fn a_frame_decoder_that_crashes_hangs_floods_or_lies_ends_as_an_error_for_that_video() {
    let d = dir("fake-frames");
    let video = pattern(&d, "v.mp4", "160x120", 1, &[]);
    let run = |script: &str, limits: VideoLimits| {
        let decoder = DecoderChoice::Program(fake_program(&d, "decoder", script));
        hash(&video, &VideoSettings { decoder, limits, ..VideoSettings::default() })
    };
    let base = VideoLimits::default();
    assert_eq!(run("kill -SEGV $$", base.clone()).unwrap_err(), VideoError::Crashed { signal: 11 });
    // Dies after the magic: the stream is cut short, the signal says why.
    assert_eq!(
        run("printf 'HLVD\\001'; kill -ABRT $$", base.clone()).unwrap_err(),
        VideoError::Crashed { signal: 6 }
    );
    let one_second = VideoLimits { max_decode_seconds: 1, ..base.clone() };
    let started = Instant::now();
    assert_eq!(run("sleep 60", one_second.clone()).unwrap_err().kind(), "timed_out");
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(run("sleep 96.5 & wait", one_second.clone()).unwrap_err().kind(), "timed_out");
    std::thread::sleep(Duration::from_millis(300));
    let left = Command::new("pgrep").args(["-f", "sleep 96.5"]).output().unwrap();
    assert!(left.stdout.is_empty(), "a decoder's own child outlived it");
    assert_eq!(run("while :; do :; done", one_second).unwrap_err().kind(), "timed_out");
    // Garbage instead of the stream.
    let e = run("cat /dev/zero", base.clone()).unwrap_err();
    assert!(matches!(&e, VideoError::DecodeFailed(m) if m.contains("malformed")), "{e}");
    // Valid frames without end: stopped here at the frame limit, whatever the child counts.
    let flood = fake_frame_decoder(
        "n = 0\nwhile True:\n    w.write(b\"F\" + struct.pack(\"<Q\", n) + bytes(6)); n += 30",
    );
    let e = run(&flood, VideoLimits { max_frames_decoded: 3000, ..base.clone() }).unwrap_err();
    assert_eq!(e.kind(), "too_many_frames", "{e}");
    // A frame that is not a sampled one, frames out of order, a frame size over the limit.
    let odd = fake_frame_decoder("w.write(b\"F\" + struct.pack(\"<Q\", 7) + bytes(6))");
    assert_eq!(run(&odd, base.clone()).unwrap_err().kind(), "decode_failed");
    let back = fake_frame_decoder(
        "w.write(b\"F\" + struct.pack(\"<Q\", 30) + bytes(6) + b\"F\" + struct.pack(\"<Q\", 0) + bytes(6))",
    );
    assert_eq!(run(&back, base.clone()).unwrap_err().kind(), "decode_failed");
    let huge = "printf 'HLVD\\001I\\377\\377\\377\\377\\377\\377\\377\\377'; cat /dev/zero";
    let e = run(huge, base.clone()).unwrap_err();
    assert!(matches!(&e, VideoError::DecodeFailed(m) if m.contains("pixel limit")), "{e}");
    // Facts over this process's limits, whatever the child checked.
    let e = run(&fake_frame_decoder(""), VideoLimits { max_frame_rate: 25.0, ..base.clone() }).unwrap_err();
    assert_eq!(e.kind(), "bad_frame_rate");
    // Its failures, in its words, mapped to this process's kinds.
    let said = fake_frame_decoder("w.write(b\"X\\x04\" + struct.pack(\"<H\", 6) + b\"9999 s\")");
    assert_eq!(
        run(&said, base.clone()).unwrap_err(),
        VideoError::TooLong { seconds: 9999.0, limit: base.max_duration_seconds }
    );
    let named = "echo \"$2: Invalid data found when processing input\" >&2; exit 1";
    let e = run(named, base.clone()).unwrap_err();
    assert!(
        matches!(&e, VideoError::DecodeFailed(m) if m.contains("Invalid data") && !m.contains("v.mp4")),
        "{e}"
    );
    assert_eq!(
        run("echo 'Cannot allocate memory' >&2; exit 1", base.clone()).unwrap_err().kind(),
        "out_of_memory"
    );
    // Nothing at all, then a clean exit.
    assert_eq!(run("exit 0", base.clone()).unwrap_err().kind(), "decode_failed");
    let missing = VideoSettings {
        decoder: DecoderChoice::Program(d.join("no-such-decoder")),
        ..VideoSettings::default()
    };
    assert_eq!(hash(&video, &missing).unwrap_err().kind(), "tool_missing");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_decoder_over_its_memory_limit_fails_without_harm() {
    let d = dir("memory");
    let video = pattern(&d, "v.mp4", "1920x1080", 1, &[]);
    // 64 MiB: FFmpeg's libraries do not even load (the frame decoder); ffmpeg runs out while
    // decoding. Either way an error for this video only.
    let limits = VideoLimits { max_memory_bytes: 64 << 20, ..VideoLimits::default() };
    let [frames, ffmpeg] = both_decoders();
    let e = hash(&video, &VideoSettings { limits: limits.clone(), ..frames }).unwrap_err();
    assert_eq!(e.kind(), "out_of_memory", "{e}");
    let e = hash(&video, &VideoSettings { limits, ..ffmpeg }).unwrap_err();
    assert!(matches!(e.kind(), "out_of_memory" | "decode_failed" | "crashed" | "unreadable"), "{e}");
    // The same video within the default limits.
    assert_eq!(hash(&video, &VideoSettings::default()).unwrap(), 1);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_frame_at_a_time_is_the_hashed_frame_and_times_outside_the_video_are_refused() {
    let d = dir("frame-at");
    let video = pattern(&d, "v.mp4", "160x120", 3, &[]);
    let bytes = std::fs::read(&video).unwrap();
    let settings = VideoSettings::default();
    let hashed = hash_file(&video, &settings, &mut Hasher::new(HashOptions::default())).unwrap();
    let (w, h, rgb) = hashline_video::frame_at(&bytes, 2.0, &settings).unwrap();
    assert_eq!((w, h, rgb.len()), (160, 120, 160 * 120 * 3));
    let pdq = Hasher::new(HashOptions::default()).pdq_of_rgb(&rgb, w, h);
    assert!(pdq.hash.distance(&hashed.frames[2].pdq) <= 8, "the frame at 2 s is the one hashed at 2 s");
    for bad in [-1.0, 99.0, f64::NAN, f64::INFINITY] {
        assert_eq!(
            hashline_video::frame_at(&bytes, bad, &settings).unwrap_err().kind(),
            "unreadable",
            "{bad}"
        );
    }
    assert!(hashline_video::frame_at(b"junk", 0.0, &settings).is_err());
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn videos_in_memory_leave_no_temporary_file_behind() {
    let d = dir("temp");
    let video = pattern(&d, "v.mp4", "160x120", 1, &[]);
    let bytes = std::fs::read(&video).unwrap();
    let temp = d.join("tmp");
    std::fs::create_dir(&temp).unwrap();
    let settings = VideoSettings { temp_dir: Some(temp.clone()), ..VideoSettings::default() };
    assert_eq!(
        hash_bytes(&bytes, &settings, &mut Hasher::new(HashOptions::default())).unwrap().frames.len(),
        1
    );
    assert!(hash_bytes(b"junk", &settings, &mut Hasher::new(HashOptions::default())).is_err());
    assert_eq!(std::fs::read_dir(&temp).unwrap().count(), 0);
    std::fs::remove_dir_all(&d).unwrap();
}
