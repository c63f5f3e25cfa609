//! Videos end to end through `hashline hash`, `lists import --format vpdq`, `match` and
//! `scan`: a listed video re-encoded and scaled is found by vPDQ, a listed picture shown for a
//! few seconds inside a video is found frame by frame with its timestamps, a broken video is
//! one error among the results. Every video is drawn by FFmpeg (benign test patterns).

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its message.

mod util;

use util::{bridge_like, encode_png, ffmpeg, hashline, TempDir};

#[test]
fn a_listed_video_re_encoded_and_a_listed_picture_inside_a_video_are_both_reported() {
    let dir = TempDir::new("video");
    let d = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    std::fs::create_dir_all(dir.path().join("media")).unwrap();
    // The listed video: 8 s of FFmpeg's moving test pattern.
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25:duration=8",
        "-pix_fmt",
        "yuv420p",
        &d("original.mp4"),
    ]);
    // Its copy: scaled up, re-encoded at low quality, in another container.
    ffmpeg(&["-i", &d("original.mp4"), "-vf", "scale=480:360", "-crf", "38", &d("media/copy.mkv")]);
    // A listed picture shown from 3 s to 6 s of a 9-second video, over another pattern.
    let (w, h) = (320usize, 240usize);
    std::fs::write(d("picture.png"), encode_png(&bridge_like(w, h), w, h)).unwrap();
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "mandelbrot=size=320x240:rate=25",
        "-loop",
        "1",
        "-i",
        &d("picture.png"),
        "-filter_complex",
        "[0][1]overlay=enable='between(t,3,5.9)'",
        "-t",
        "9",
        "-pix_fmt",
        "yuv420p",
        &d("media/slideshow.mp4"),
    ]);
    // Unrelated, and broken.
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "life=size=320x240:rate=25",
        "-t",
        "5",
        "-pix_fmt",
        "yuv420p",
        &d("media/other.mp4"),
    ]);
    std::fs::write(d("media/broken.mp4"), b"\x00\x00\x00\x18ftypmp42 not really a video").unwrap();

    // The lists: the video's vPDQ written by `hash --vpdq-out`, imported in the reference's form;
    // the picture's PDQ.
    let hashed = hashline(&["hash", "--vpdq-out", &d("vpdq"), &d("original.mp4")]);
    assert_eq!(hashed.code, 0, "{}", hashed.stderr);
    let frames = hashed.json_lines()[0]["video"]["frames"].as_array().unwrap().len();
    assert_eq!(frames, 8, "one frame per second");
    let store = d("store");
    let import = hashline(&[
        "lists",
        "import",
        "--store",
        &store,
        "--name",
        "videos",
        "--format",
        "vpdq",
        &d("vpdq/original.txt"),
    ]);
    assert_eq!(import.code, 0, "{}", import.stderr);
    let pdq = hashline(&["hash", &d("picture.png")]).json_lines()[0]["pdq"].as_str().unwrap().to_string();
    std::fs::write(d("pictures.txt"), format!("pdq {pdq}\n")).unwrap();
    let import = hashline(&[
        "lists",
        "import",
        "--store",
        &store,
        "--name",
        "pictures",
        "--format",
        "pytx-file",
        &d("pictures.txt"),
    ]);
    assert_eq!(import.code, 0, "{}", import.stderr);

    // `hash | match`: the copy matches the listed video.
    let copy = hashline(&["hash", &d("media/copy.mkv")]);
    let matched = util::run_with_stdin(&["match", "--store", &store, "--stdin"], &copy.stdout);
    assert_eq!(matched.code, 1, "{} {}", matched.stdout, matched.stderr);

    // `scan`: two reports, with the video facts and the matching frames' timestamps.
    let out = d("reports");
    let scan = hashline(&["scan", &d("media"), "--store", &store, "--out", &out]);
    assert_eq!(scan.code, 1, "matches found, and one error counted: {}\n{}", scan.stdout, scan.stderr);
    let mut reports = std::collections::BTreeMap::new();
    for e in std::fs::read_dir(&out).unwrap() {
        let p = e.unwrap().path();
        let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        if let Some(name) = r["file"]["name"].as_str() {
            reports.insert(name.to_string(), r);
        }
    }
    assert_eq!(reports.keys().collect::<Vec<_>>(), vec!["copy.mkv", "slideshow.mp4"], "{}", scan.stdout);
    let copy = &reports["copy.mkv"];
    assert_eq!(copy["file"]["video"]["frames_hashed"], 8);
    assert_eq!(copy["file"]["video"]["width"], 480);
    let m = &copy["matches"][0];
    assert_eq!(
        (m["signal"].as_str(), m["list"].as_str(), m["entry_id"].as_str()),
        (Some("vpdq"), Some("videos"), Some("original"))
    );
    assert!(m["value"].as_str().unwrap().starts_with("sha256:"), "{m}");
    assert!(m["video"]["query_percent"].as_f64().unwrap() >= 80.0, "{m}");
    let slide = &reports["slideshow.mp4"];
    let m = &slide["matches"][0];
    assert_eq!((m["signal"].as_str(), m["list"].as_str()), (Some("pdq"), Some("pictures")));
    let times: Vec<f64> =
        m["video"]["frames"].as_array().unwrap().iter().map(|f| f["timestamp"].as_f64().unwrap()).collect();
    assert_eq!(times, vec![3.0, 4.0, 5.0], "{m}");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("reports/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["files"], 4);
    assert_eq!(summary["matched_files"], 2);
    assert_eq!(summary["errors"], 1, "the broken video: {summary}");
}
