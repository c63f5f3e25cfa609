//! Videos end to end through `hashline hash`, `lists import --format vpdq`, `match` and
//! `scan`: a listed video re-encoded and scaled is found by vPDQ, a listed picture shown for a
//! few seconds inside a video is found frame by frame with its timestamps, a broken video is
//! one error among the results. Every video is drawn by FFmpeg (benign test patterns).

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its message.

mod util;

use util::{hashline, TempDir};

#[test]
fn a_listed_video_re_encoded_and_a_listed_picture_inside_a_video_are_both_reported() {
    let dir = TempDir::new("video");
    let d = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let v = util::videos::make(dir.path(), &dir.path().join("media"), (320, 240), "mkv", "38");
    std::fs::write(d("media/broken.mp4"), b"\x00\x00\x00\x18ftypmp42 not really a video").unwrap();
    let store = v.store.clone();
    assert!(v.original.is_file() && v.slideshow.is_file() && v.other.is_file());

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
    assert_eq!(copy["file"]["video"]["width"], 426, "scaled by 4/3");
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
