//! vPDQ of videos, as Meta's reference (`vpdq`) computes it, with the decoder isolated.
//!
//! A video is decoded by FFmpeg's `ffmpeg` program in a **child process** started through
//! `prlimit` with an address-space limit, a CPU-time limit, no core dumps, no file writes and
//! few file descriptors, and killed at a wall-clock deadline ([`VideoLimits`]). FFmpeg reads
//! only local files (`-protocol_whitelist file`) through the container demuxers of
//! [`DEMUXERS`] (no playlists, concatenation lists or image sequences that would make it open
//! other files). Why a process and not the libraries in this one: FFmpeg's decoders are large C
//! code fed hostile input; a crash, hang or memory blow-up there must end as an error for that
//! one video, never take `hashline run` or `serve` down, and only a process boundary gives that.
//! The cost — one `ffprobe` and one `ffmpeg` start per video, about 40 ms — is small beside
//! decoding.
//!
//! Sampling and conversion follow the reference: frame `n` (in decoder output order, from 0) is
//! hashed when `n % max(1, int(seconds_per_hash × frame_rate)) == 0`, where the frame rate is
//! the stream's average rate, else its base rate; its timestamp is `n / frame_rate`; it is
//! converted to RGB24 at its own size by swscale's area filter with BT.601 coefficients (what
//! the reference's `sws_getContext` uses), and hashed with PDQ on the whole frame. Only the
//! sampled frames are converted and sent here: the others are decoded and dropped inside FFmpeg.
//! With the hasher's `trim_borders`, a frame inside letterbox or pillarbox bars also gets the
//! PDQ of the picture inside them ([`TrimmedFrame`]), a query variant the reference lacks.
//!
//! ```no_run
//! use hashline_hash::{HashOptions, Hasher};
//! use hashline_video::{hash_file, VideoSettings};
//!
//! let mut hasher = Hasher::new(HashOptions::default());
//! let video = hash_file("clip.mp4".as_ref(), &VideoSettings::default(), &mut hasher)?;
//! for f in &video.frames {
//!     println!("{:.3}s quality {} {}", f.timestamp, f.quality, f.pdq);
//! }
//! # Ok::<(), hashline_video::VideoError>(())
//! ```

#![deny(missing_docs)]

mod child;
mod error;
mod frames;
mod limits;
mod probe;
pub mod wire;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use hashline_hash::vpdq::{TrimmedFrame, VideoHashes, VpdqFrame};
use hashline_hash::{Hasher, VideoOutcome};

pub use error::VideoError;
pub use frames::{decoder_in_use, register_decoder, DecoderChoice};
pub use limits::{VideoLimits, VideoSettings};
pub use probe::{probe, Probe};

use child::{limited, Running};

/// The container demuxers FFmpeg may use (its `-format_whitelist`): MP4/QuickTime/3GP,
/// Matroska/WebM, AVI, FLV, MPEG-TS, MPEG-PS, ASF/WMV, Ogg, raw H.264/HEVC/MPEG-4 streams.
pub const DEMUXERS: &str = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,flv,mpegts,mpeg,asf,ogg,h264,hevc,m4v";

/// Memory hashing one video may take in *this* process at its peak, at most: the frame being
/// read from the decoder, the one waiting in the channel and the one being hashed (3 bytes per
/// pixel each) and PDQ's working buffers (two planes of 4-byte luma), for the largest frame the
/// limits allow, plus 16 MiB. The decoder's own memory is bounded separately, in its process
/// (`max_memory_bytes`).
pub fn memory_estimate(limits: &VideoLimits) -> u64 {
    limits.max_frame_pixels.saturating_mul(17).saturating_add(16 << 20)
}

/// Every how many frames one is hashed: `max(1, int(seconds_per_hash × frame_rate))` (every
/// frame for 0), as the reference.
pub fn frame_interval(seconds_per_hash: f64, frame_rate: f64) -> u64 {
    ((seconds_per_hash * frame_rate) as u64).max(1)
}

/// The reference's timestamp of frame `n`: computed in single precision, as it does.
pub fn frame_timestamp(n: u64, frame_rate: f64) -> f64 {
    f64::from(n as f32 / frame_rate as f32)
}

/// Hashes the video at `path`: checks its size, then decodes it in a child process under the
/// limits — the frame decoder when there is one ([`DecoderChoice`]), else `ffprobe` and
/// `ffmpeg` — and hashes the sampled frames with `hasher` (whose dihedral and border options
/// apply to each frame).
pub fn hash_file(
    path: &Path,
    settings: &VideoSettings,
    hasher: &mut Hasher,
) -> Result<VideoHashes, VideoError> {
    let limits = &settings.limits;
    let bytes = std::fs::metadata(path).map_err(|e| VideoError::Io(io_reason(&e)))?.len();
    if bytes > limits.max_bytes {
        return Err(VideoError::TooLarge { bytes, limit: limits.max_bytes });
    }
    match frames::frame_decoder(settings) {
        Some(decoder) => frames::hash(&decoder, path, settings, hasher),
        None => hash_with_ffmpeg(path, settings, hasher),
    }
}

/// Through FFmpeg's programs: `ffprobe` for the facts, `ffmpeg` decoding every frame and
/// sending the sampled ones.
fn hash_with_ffmpeg(
    path: &Path,
    settings: &VideoSettings,
    hasher: &mut Hasher,
) -> Result<VideoHashes, VideoError> {
    let limits = &settings.limits;
    let p = probe(path, settings)?;
    let interval = frame_interval(settings.seconds_per_hash, p.frame_rate);
    let (w, h) = (p.width, p.height);
    let frame_len = 3 * w as usize * h as usize;
    let most = (limits.max_frames_decoded / interval + 1).to_string();
    let output = ["-fps_mode", "passthrough", "-filter_threads", "1", "-frames:v", &most];
    let cmd = decoder(settings, path, &[], &output, filters(interval, w, h));
    let mut run = Running::start(cmd, settings, frame_len, path)?;
    let mut collector = Collector::new(p, interval, settings);
    let mut index = 0u64;
    while let Some(piece) = run.next()? {
        if piece.len() < frame_len {
            break; // a frame cut short: the decoder stopped mid-frame, its error follows
        }
        if let Err(e) = collector.push(index * interval, piece, hasher) {
            run.kill();
            return Err(e);
        }
        index += 1;
    }
    run.finish(limits.max_memory_bytes)?;
    collector.finish()
}

/// The sampled frames of one video as they come, checked against the limits and hashed.
pub(crate) struct Collector {
    probe: Probe,
    interval: u64,
    seconds_per_hash: f64,
    max_frames: u64,
    max_duration: f64,
    frames: Vec<VpdqFrame>,
    dihedral: Vec<[hashline_hash::PdqHash; 8]>,
}

impl Collector {
    pub(crate) fn new(probe: Probe, interval: u64, settings: &VideoSettings) -> Collector {
        Collector {
            probe,
            interval,
            seconds_per_hash: settings.seconds_per_hash,
            max_frames: settings.limits.max_frames_decoded,
            max_duration: settings.limits.max_duration_seconds,
            frames: Vec::new(),
            dihedral: Vec::new(),
        }
    }

    /// Frame `n`'s RGB24 pixels (width × height × 3 bytes): checked, hashed, kept.
    pub(crate) fn push(&mut self, n: u64, rgb: Vec<u8>, hasher: &mut Hasher) -> Result<(), VideoError> {
        let (w, h) = (self.probe.width, self.probe.height);
        if !n.is_multiple_of(self.interval) || rgb.len() != 3 * w as usize * h as usize {
            return Err(VideoError::DecodeFailed(format!(
                "frame {n} is not a sampled frame of the right size"
            )));
        }
        if n >= self.max_frames {
            return Err(VideoError::TooManyFrames { limit: self.max_frames });
        }
        let timestamp = frame_timestamp(n, self.probe.frame_rate);
        if timestamp > self.max_duration {
            return Err(VideoError::TooLong { seconds: timestamp, limit: self.max_duration });
        }
        let pdq = hasher.pdq_of_rgb(&rgb, w, h);
        let trimmed = if hasher.options().trim_borders { trimmed(hasher, rgb, w, h) } else { None };
        self.frames.push(VpdqFrame {
            frame_number: n,
            pdq: pdq.hash,
            quality: pdq.quality,
            timestamp,
            trimmed,
        });
        self.dihedral.extend(pdq.dihedral);
        Ok(())
    }

    /// The frames so far are void (the decoder starts over).
    pub(crate) fn restart(&mut self) {
        self.frames.clear();
        self.dihedral.clear();
    }

    /// The video's hashes; an error when no frame came.
    pub(crate) fn finish(self) -> Result<VideoHashes, VideoError> {
        if self.frames.is_empty() {
            return Err(VideoError::Unreadable("no frame could be decoded".into()));
        }
        let last = self.frames.last().map_or(0.0, |f| f.timestamp);
        let p = self.probe;
        Ok(VideoHashes {
            frames: self.frames,
            frame_rate: p.frame_rate,
            seconds_per_hash: self.seconds_per_hash,
            duration_seconds: p.duration_seconds.unwrap_or(last),
            width: p.width,
            height: p.height,
            codec: p.codec,
            dihedral: self.dihedral,
        })
    }
}

/// The PDQ of the picture inside a frame's bars (the first candidate box), when it has some.
fn trimmed(hasher: &mut Hasher, rgb: Vec<u8>, width: u32, height: u32) -> Option<TrimmedFrame> {
    let frame = hashline_hash::Decoded { width, height, pixels: hashline_hash::Pixels::Rgb(rgb), pytx: None };
    let t = hasher.trimmed(&frame, width, height).into_iter().next()?;
    Some(TrimmedFrame { pdq: t.pdq.hash, quality: t.pdq.quality })
}

/// [`hash_file`] as the [`VideoOutcome`] a file's hashes carry.
pub fn outcome(result: Result<VideoHashes, VideoError>) -> VideoOutcome {
    match result {
        Ok(v) => VideoOutcome::Hashed(Box::new(v)),
        Err(e) => VideoOutcome::Failed { kind: e.kind(), reason: e.to_string() },
    }
}

/// Hashes a video held in memory: written owner-only to the temporary folder for the decoder
/// (which needs to seek: an MP4's index is often at its end) and removed right after.
pub fn hash_bytes(
    bytes: &[u8],
    settings: &VideoSettings,
    hasher: &mut Hasher,
) -> Result<VideoHashes, VideoError> {
    let temp = TempFile::within_limits(bytes, settings)?;
    hash_file(&temp.path, settings, hasher)
}

/// One frame of a video held in memory, at `seconds` (the first frame at or after that time),
/// as RGB pixels at the video's own size: what the triage pages blur or show for a matched
/// frame. Decoded like [`hash_file`]: in a child process under the same limits.
pub fn frame_at(
    bytes: &[u8],
    seconds: f64,
    settings: &VideoSettings,
) -> Result<(u32, u32, Vec<u8>), VideoError> {
    let temp = TempFile::within_limits(bytes, settings)?;
    let p = probe(&temp.path, settings)?;
    let end = p.duration_seconds.unwrap_or(settings.limits.max_duration_seconds);
    if !(seconds.is_finite() && (0.0..=end).contains(&seconds)) {
        return Err(VideoError::Unreadable(format!("no frame at {seconds} s in a video of {end:.3} s")));
    }
    let (w, h) = (p.width, p.height);
    let cmd = decoder(
        settings,
        &temp.path,
        &["-ss", &format!("{seconds:.3}")],
        &["-frames:v", "1"],
        filters(1, w, h),
    );
    let frame_len = 3 * w as usize * h as usize;
    let mut run = Running::start(cmd, settings, frame_len, &temp.path)?;
    let frame = run.next()?.filter(|f| f.len() == frame_len);
    run.finish(settings.limits.max_memory_bytes)?;
    frame
        .map(|f| (w, h, f))
        .ok_or_else(|| VideoError::Unreadable(format!("no frame could be decoded at {seconds} s")))
}

/// `ffmpeg` under the limits, reading only `path` through the allowed demuxers (with
/// `input_options` before it, e.g. a seek), its first video stream through `filter_chain` to
/// raw RGB24 frames on its standard output (with `output_options`).
fn decoder(
    settings: &VideoSettings,
    path: &Path,
    input_options: &[&str],
    output_options: &[&str],
    filter_chain: String,
) -> std::process::Command {
    let mut cmd = limited(settings, &settings.ffmpeg);
    cmd.args(["-nostdin", "-hide_banner", "-v", "error", "-threads", "1"])
        .args(["-protocol_whitelist", "file", "-format_whitelist", DEMUXERS, "-noautorotate"])
        .args(input_options)
        .arg("-i")
        .arg(probe::input_url(path))
        .args(["-map", "0:v:0", "-an", "-sn", "-dn"])
        .args(output_options)
        .arg("-vf")
        .arg(filter_chain)
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]);
    cmd
}

/// The filter chain: keep the sampled frames (decoded anyway, dropped inside FFmpeg), convert
/// them to RGB24 at their own size with the reference's scaler flags.
fn filters(interval: u64, w: u32, h: u32) -> String {
    let convert = format!("scale=w={w}:h={h}:flags=area:in_color_matrix=bt601,format=rgb24");
    if interval == 1 {
        convert
    } else {
        format!("select=not(mod(n\\,{interval})),{convert}")
    }
}

/// A private temporary copy, removed when dropped.
struct TempFile {
    path: PathBuf,
}

impl TempFile {
    /// `bytes` written for the decoder, when within `[video.limits] max_bytes`.
    fn within_limits(bytes: &[u8], settings: &VideoSettings) -> Result<TempFile, VideoError> {
        let limit = settings.limits.max_bytes;
        if bytes.len() as u64 > limit {
            return Err(VideoError::TooLarge { bytes: bytes.len() as u64, limit });
        }
        TempFile::write(settings.temp_dir.as_deref(), bytes)
    }

    fn write(dir: Option<&Path>, bytes: &[u8]) -> Result<TempFile, VideoError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = dir.map(Path::to_path_buf).unwrap_or_else(std::env::temp_dir);
        let io = |e: std::io::Error| {
            VideoError::Io(format!("temporary copy in {}: {}", dir.display(), io_reason(&e)))
        };
        let name = format!(
            "hashline-video-{}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        );
        let path = dir.join(name);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut file = opts.open(&path).map_err(io)?;
        let temp = TempFile { path };
        file.write_all(bytes).map_err(io)?;
        Ok(temp)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_follows_the_reference() {
        assert_eq!(frame_interval(1.0, 30.0), 30);
        assert_eq!(frame_interval(1.0, 29.97), 29, "truncated, as int() in the reference");
        assert_eq!(frame_interval(0.0, 30.0), 1, "0: every frame");
        assert_eq!(frame_interval(1.0, 0.5), 1, "never 0");
        assert!((frame_timestamp(1, 30.0) - 0.0333333).abs() < 1e-6);
        assert_eq!(filters(1, 4, 2), "scale=w=4:h=2:flags=area:in_color_matrix=bt601,format=rgb24");
        assert!(filters(30, 4, 2).starts_with("select=not(mod(n\\,30)),"));
    }
}
