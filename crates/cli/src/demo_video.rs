//! The demo's videos, drawn with FFmpeg from the demo's own pictures (benign, procedural): a
//! slideshow of the known originals, listed by its vPDQ; a re-encoded and scaled copy of it,
//! which vPDQ finds; and a video that shows one listed picture for three seconds between two
//! unknown ones, which frame-to-picture matching finds.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context};
use hashline_hash::{HashOptions, Hasher};

/// Whether FFmpeg can be run (the demo's videos need it to be drawn and hashed).
pub fn ffmpeg_available() -> bool {
    Command::new("ffmpeg").arg("-version").output().is_ok_and(|o| o.status.success())
}

fn ffmpeg(args: &[&str]) -> anyhow::Result<()> {
    let out =
        Command::new("ffmpeg").args(["-v", "error", "-y"]).args(args).output().context("running ffmpeg")?;
    if !out.status.success() {
        bail!("ffmpeg failed drawing a demo video: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// A slideshow of `pictures` (PNG, same size), `seconds` each, at 25 frames/s, in `out`.
fn slideshow(work: &Path, tag: &str, pictures: &[&[u8]], seconds: u32, out: &Path) -> anyhow::Result<()> {
    for (i, png) in pictures.iter().enumerate() {
        std::fs::write(work.join(format!("{tag}-{i:02}.png")), png)?;
    }
    let pattern = work.join(format!("{tag}-%02d.png"));
    let rate = format!("1/{seconds}");
    let (pattern, out) = (pattern.to_string_lossy(), out.to_string_lossy());
    ffmpeg(&["-framerate", &rate, "-i", &pattern, "-r", "25", "-pix_fmt", "yuv420p", "-c:v", "libx264", &out])
}

/// Draws the videos: `known` are the listed pictures, `unknown` two pictures no list holds.
/// Writes the slideshow's vPDQ to `lists_dir/demo-clip.txt` (the reference's hash-file form).
pub fn draw(
    dir: &Path,
    media: &Path,
    lists_dir: &Path,
    known: &[&[u8]],
    unknown: [&[u8]; 2],
) -> anyhow::Result<()> {
    let work = dir.join("video-frames");
    std::fs::create_dir_all(&work)?;
    let clip = dir.join("originals").join("clip.mp4");
    slideshow(&work, "known", known, 2, &clip)?;
    let settings = hashline_video::VideoSettings::default();
    let hashed = hashline_video::hash_file(&clip, &settings, &mut Hasher::new(HashOptions::default()))
        .map_err(|e| anyhow::anyhow!("hashing the demo clip: {e}"))?;
    std::fs::write(lists_dir.join("demo-clip.txt"), hashline_hash::vpdq::write_reference(&hashed.frames))?;
    let copy = media.join("clip-reencoded.mp4");
    ffmpeg(&["-i", &clip.to_string_lossy(), "-vf", "scale=852:640", "-crf", "35", &copy.to_string_lossy()])?;
    let inside = [unknown[0], known[1], unknown[1]];
    slideshow(&work, "inside", &inside, 3, &media.join("picture-in-video.mp4"))?;
    std::fs::remove_dir_all(&work)?;
    Ok(())
}
