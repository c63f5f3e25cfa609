//! What a video may cost, and where the tools are.

use std::path::PathBuf;

/// Hard limits on one video. Each is checked before decoding from what the container claims,
/// and again while decoding from what the decoder gives.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VideoLimits {
    /// Largest video file, in bytes (default 2 GiB). Larger ones get their digests only.
    pub max_bytes: u64,
    /// Longest video, in seconds (default 3 hours).
    pub max_duration_seconds: f64,
    /// Most pixels per frame (default 8,912,896: 4096 × 2176, a little over 4K DCI).
    pub max_frame_pixels: u64,
    /// Most frames decoded (default 1,000,000: over 9 hours at 30 frames per second).
    pub max_frames_decoded: u64,
    /// Highest frame rate taken at its word (default 1,000 frames per second).
    pub max_frame_rate: f64,
    /// Wall-clock seconds the decoder may run for one video (default 600).
    pub max_decode_seconds: u64,
    /// Address space of the decoder process, in bytes (default 2 GiB; `RLIMIT_AS`).
    pub max_memory_bytes: u64,
}

impl Default for VideoLimits {
    fn default() -> Self {
        VideoLimits {
            max_bytes: 2 << 30,
            max_duration_seconds: 3.0 * 3600.0,
            max_frame_pixels: 4096 * 2176,
            max_frames_decoded: 1_000_000,
            max_frame_rate: 1000.0,
            max_decode_seconds: 600,
            max_memory_bytes: 2 << 30,
        }
    }
}

/// How videos are hashed: the sampling interval, the limits and the tools' paths.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VideoSettings {
    /// Hash videos at all (default true). Off: videos get their digests only.
    pub enabled: bool,
    /// Seconds between hashed frames (default 1, as python-threatexchange and HMA; 0 hashes
    /// every frame).
    pub seconds_per_hash: f64,
    /// How videos are decoded (default `"auto"`: hashline's frame decoder, which decodes only
    /// the sampled frames and those they refer to, else `ffmpeg`; `"ffmpeg"`; or the path of a
    /// `hashline-decoder` program).
    pub decoder: crate::DecoderChoice,
    /// The `ffmpeg` program (default `ffmpeg`, found on `PATH`).
    pub ffmpeg: PathBuf,
    /// The `ffprobe` program (default `ffprobe`).
    pub ffprobe: PathBuf,
    /// The `prlimit` program (util-linux) that starts them under their limits (default
    /// `prlimit`).
    pub prlimit: PathBuf,
    /// Where videos held in memory (Kafka, HTTP) are written for the decoder to read, owner-only
    /// and removed at once (default: the system's temporary folder).
    pub temp_dir: Option<PathBuf>,
    /// The limits.
    pub limits: VideoLimits,
}

impl Default for VideoSettings {
    fn default() -> Self {
        VideoSettings {
            enabled: true,
            seconds_per_hash: 1.0,
            decoder: crate::DecoderChoice::Auto,
            ffmpeg: "ffmpeg".into(),
            ffprobe: "ffprobe".into(),
            prlimit: "prlimit".into(),
            temp_dir: None,
            limits: VideoLimits::default(),
        }
    }
}

impl VideoSettings {
    /// Checks the values a configuration file may set; says which is wrong.
    pub fn validate(&self) -> Result<(), String> {
        let l = &self.limits;
        if !(self.seconds_per_hash.is_finite() && (0.0..=3600.0).contains(&self.seconds_per_hash)) {
            return Err(format!(
                "[video] seconds_per_hash = {} must be 0 (every frame) to 3600",
                self.seconds_per_hash
            ));
        }
        if !(l.max_duration_seconds.is_finite() && l.max_duration_seconds > 0.0) {
            return Err("[video.limits] max_duration_seconds must be a positive number".into());
        }
        if !(l.max_frame_rate.is_finite() && l.max_frame_rate > 0.0) {
            return Err("[video.limits] max_frame_rate must be a positive number".into());
        }
        for (name, v) in [
            ("max_bytes", l.max_bytes),
            ("max_frame_pixels", l.max_frame_pixels),
            ("max_frames_decoded", l.max_frames_decoded),
            ("max_decode_seconds", l.max_decode_seconds),
        ] {
            if v == 0 {
                return Err(format!("[video.limits] {name} must be at least 1"));
            }
        }
        if l.max_memory_bytes < 256 << 20 {
            return Err(
                "[video.limits] max_memory_bytes must be at least 256 MiB (FFmpeg's libraries alone map ~190 MiB of address space before the decoder reads a byte)".into(),
            );
        }
        Ok(())
    }
}
