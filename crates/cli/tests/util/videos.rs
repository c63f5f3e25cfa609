//! Benign test videos drawn by FFmpeg, and a store that lists one of them and a picture.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use super::{bridge_like, encode_png, ffmpeg, hashline};

/// The videos of one test, at `w`×`h` (copies scaled by 4/3), and the store listing the
/// original's vPDQ (list `videos`, entry `original`) and the picture's PDQ (list `pictures`).
pub struct Videos {
    /// 8 s of FFmpeg's moving test pattern, listed by its vPDQ.
    pub original: PathBuf,
    /// The original scaled up and re-encoded at low quality (`copy.<ext>`).
    pub copy: PathBuf,
    /// 9 s of another pattern with the listed picture over it from 3 s to just before 6 s.
    pub slideshow: PathBuf,
    /// 4 s of an unrelated pattern.
    pub other: PathBuf,
    /// The store.
    pub store: String,
}

/// Draws the videos in `media` (created) and the lists in `dir/store`; `crf` is the copies'
/// quality (higher: smaller files).
pub fn make(dir: &Path, media: &Path, (w, h): (usize, usize), copy_ext: &str, crf: &str) -> Videos {
    std::fs::create_dir_all(media).unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let size = format!("{w}x{h}");
    let original = dir.join("original.mp4");
    let testsrc = format!("testsrc2=size={size}:rate=25:duration=8");
    ffmpeg(&["-f", "lavfi", "-i", &testsrc, "-pix_fmt", "yuv420p", "-crf", "30", &s(&original)]);
    let copy = media.join(format!("copy.{copy_ext}"));
    let scale = format!("scale={}:{}", w * 4 / 3, h * 4 / 3);
    ffmpeg(&["-i", &s(&original), "-vf", &scale, "-crf", crf, &s(&copy)]);
    let picture = dir.join("picture.png");
    std::fs::write(&picture, encode_png(&bridge_like(w, h), w, h)).unwrap();
    let slideshow = media.join("slideshow.mp4");
    let mandelbrot = format!("mandelbrot=size={size}:rate=25");
    let overlay = "[0][1]overlay=enable='between(t,3,5.9)'";
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &mandelbrot,
        "-loop",
        "1",
        "-i",
        &s(&picture),
        "-filter_complex",
        overlay,
        "-t",
        "9",
        "-pix_fmt",
        "yuv420p",
        "-crf",
        crf,
        &s(&slideshow),
    ]);
    let other = media.join("other.mp4");
    let life = format!("life=size={size}:rate=25");
    ffmpeg(&["-f", "lavfi", "-i", &life, "-t", "4", "-pix_fmt", "yuv420p", &s(&other)]);

    let vpdq = dir.join("vpdq");
    let hashed = hashline(&["hash", "--vpdq-out", &s(&vpdq), &s(&original)]);
    assert_eq!(hashed.code, 0, "{}", hashed.stderr);
    assert_eq!(
        hashed.json_lines()[0]["video"]["frames"].as_array().unwrap().len(),
        8,
        "one frame per second"
    );
    let store = s(&dir.join("store"));
    let listed = s(&vpdq.join("original.txt"));
    let i =
        hashline(&["lists", "import", "--store", &store, "--name", "videos", "--format", "vpdq", &listed]);
    assert_eq!(i.code, 0, "{}", i.stderr);
    let pdq = hashline(&["hash", &s(&picture)]).json_lines()[0]["pdq"].as_str().unwrap().to_string();
    let pictures = dir.join("pictures.txt");
    std::fs::write(&pictures, format!("pdq {pdq}\n")).unwrap();
    let i = hashline(&[
        "lists",
        "import",
        "--store",
        &store,
        "--name",
        "pictures",
        "--format",
        "pytx-file",
        &s(&pictures),
    ]);
    assert_eq!(i.code, 0, "{}", i.stderr);
    Videos { original, copy, slideshow, other, store }
}
