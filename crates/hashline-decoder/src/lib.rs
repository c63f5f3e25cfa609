//! hashline's video frame decoder: the program `hashline-video` starts in a child process
//! (under `prlimit`'s memory, CPU-time and file limits, with a wall-clock watchdog) to turn one
//! video into the RGB24 frames vPDQ samples. It links FFmpeg's libraries, which are large C
//! code fed hostile input: that is why it runs apart, once per video, and why its output is
//! checked by the parent as untrusted ([`hashline_video::wire`]).
//!
//! It does the reference's work (`vpdq`: frame `n` in decoder output order is hashed when
//! `n % max(1, int(seconds_per_hash × frame_rate)) == 0`, converted to RGB24 at its own size by
//! swscale's area filter) while **decoding only what the sampled frames need** ([`plan`]): it
//! first reads the container's index of packets (no decoding), numbers every frame by its
//! presentation time, then decodes each sampled frame and the frames it refers to, letting the
//! decoder drop unsampled non-reference frames and skipping the packets after a group's last
//! sampled frame when the next group starts clean. Each frame that comes out is checked against
//! that numbering; if the stream breaks the promise of its index, the frames sent are voided
//! and the video is decoded again frame by frame, counting as the reference does.
//!
//! ```no_run
//! // What the parent runs: `hashline-decoder --input clip.mp4 --seconds-per-hash 1 …`
//! let args: Vec<std::ffi::OsString> =
//!     ["--input", "clip.mp4", "--seconds-per-hash", "1"].iter().map(Into::into).collect();
//! let request = hashline_decoder::parse(&args).expect("well-formed arguments");
//! assert_eq!(request.seconds_per_hash, 1.0);
//! let code = hashline_decoder::main_with(&args); // the wire stream on standard output
//! assert_eq!(code, 0);
//! ```

#![allow(unsafe_code)] // FFmpeg's C API, confined to `ffmpeg.rs` (each block says why it holds).
#![deny(missing_docs)]

pub mod decode;
mod ffmpeg;
pub mod nal;
pub mod plan;

use decode::Request;
use hashline_video::wire::Writer;
use std::ffi::OsString;

/// Exit status when the arguments are wrong (nothing was decoded).
pub const USAGE: i32 = 2;

/// Runs the decoder with `args` (without the program name), writing the wire stream to standard
/// output; the exit status: 0 when the stream was written to its end (an `X` record included),
/// 2 for bad arguments, 1 when standard output failed.
pub fn main_with(args: &[OsString]) -> i32 {
    let req = match parse(args) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hashline-decoder: {e}");
            return USAGE;
        }
    };
    ffmpeg::quiet_logs();
    let stdout = std::io::stdout().lock();
    let mut out = match Writer::new(std::io::BufWriter::with_capacity(1 << 16, stdout)) {
        Ok(w) => w,
        Err(_) => return 1,
    };
    let written = match decode::run(&req, &mut out) {
        Ok(_) => Ok(()),
        Err(f) => out.fail(f.kind, &f.message),
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

/// The request from `--name value` pairs. `--input` is required; limits default to the
/// library's defaults.
pub fn parse(args: &[OsString]) -> Result<Request, String> {
    let d = hashline_video::VideoLimits::default();
    let mut req = Request {
        input: Default::default(),
        seconds_per_hash: 1.0,
        formats: hashline_video::DEMUXERS.into(),
        max_frames: d.max_frames_decoded,
        max_pixels: d.max_frame_pixels,
        max_frame_rate: d.max_frame_rate,
        max_duration: d.max_duration_seconds,
        every_frame: false,
    };
    let mut it = args.iter();
    while let Some(name) = it.next() {
        let name = name.to_str().ok_or("arguments must be UTF-8 names")?;
        if name == "--every-frame" {
            req.every_frame = true;
            continue;
        }
        let value = it.next().ok_or_else(|| format!("{name} needs a value"))?;
        let text = || value.to_str().ok_or_else(|| format!("{name}: not UTF-8"));
        let num = |t: &str| t.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0);
        let int = |t: &str| t.parse::<u64>().ok().filter(|v| *v > 0);
        let bad = || format!("{name}: bad value");
        match name {
            "--input" => req.input = value.into(),
            "--seconds-per-hash" => req.seconds_per_hash = num(text()?).ok_or_else(bad)?,
            "--formats" => req.formats = text()?.to_string(),
            "--max-frames" => req.max_frames = int(text()?).ok_or_else(bad)?,
            "--max-pixels" => req.max_pixels = int(text()?).ok_or_else(bad)?,
            "--max-frame-rate" => req.max_frame_rate = num(text()?).ok_or_else(bad)?,
            "--max-duration" => req.max_duration = num(text()?).ok_or_else(bad)?,
            _ => return Err(format!("unknown argument {name}")),
        }
    }
    if req.input.as_os_str().is_empty() {
        return Err("--input is required".into());
    }
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<OsString> {
        a.iter().map(Into::into).collect()
    }

    #[test]
    fn arguments_are_parsed_strictly() {
        let r =
            parse(&args(&["--input", "a.mp4", "--seconds-per-hash", "0", "--max-frames", "10"])).expect("ok");
        assert_eq!((r.seconds_per_hash, r.max_frames), (0.0, 10));
        assert!(parse(&args(&["--seconds-per-hash", "1"])).is_err(), "no input");
        assert!(parse(&args(&["--input", "a", "--seconds-per-hash", "-1"])).is_err());
        assert!(parse(&args(&["--input", "a", "--seconds-per-hash", "NaN"])).is_err());
        assert!(parse(&args(&["--input", "a", "--max-frames", "0"])).is_err());
        assert!(parse(&args(&["--input", "a", "--bogus", "1"])).is_err());
        assert!(parse(&args(&["--input"])).is_err());
    }
}
