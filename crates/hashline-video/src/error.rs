//! Why a video has no vPDQ.

/// Why a video could not be hashed. Each is an outcome for that one video: the process that
/// asked goes on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VideoError {
    /// `ffmpeg`, `ffprobe` or `prlimit` could not be started.
    #[error("cannot start {program}: {reason} (install FFmpeg and util-linux, e.g. `scripts/install-deps`, or set [video] ffmpeg/ffprobe/prlimit)")]
    ToolMissing {
        /// The program.
        program: String,
        /// Why.
        reason: String,
    },
    /// The file is larger than `[video.limits] max_bytes`.
    #[error("video of {bytes} bytes is over the limit of {limit} ([video.limits] max_bytes)")]
    TooLarge {
        /// Its size.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
    /// FFmpeg found no video it may read (not a video, a container outside the allowed list,
    /// truncated before its index, no video stream).
    #[error("not a readable video: {0}")]
    Unreadable(String),
    /// The frame rate is missing, zero or absurd.
    #[error("video frame rate {0}")]
    BadFrameRate(String),
    /// Frames larger than `[video.limits] max_frame_pixels`.
    #[error("video frames of {width}×{height} are over the limit of {limit} pixels ([video.limits] max_frame_pixels)")]
    FrameTooLarge {
        /// Claimed width.
        width: u64,
        /// Claimed height.
        height: u64,
        /// The limit.
        limit: u64,
    },
    /// Longer than `[video.limits] max_duration_seconds`.
    #[error(
        "video of {seconds:.0} s is over the limit of {limit:.0} s ([video.limits] max_duration_seconds)"
    )]
    TooLong {
        /// Claimed or decoded duration.
        seconds: f64,
        /// The limit.
        limit: f64,
    },
    /// More frames than `[video.limits] max_frames_decoded`.
    #[error("video has more than {limit} frames ([video.limits] max_frames_decoded)")]
    TooManyFrames {
        /// The limit.
        limit: u64,
    },
    /// The decoder ran past `[video.limits] max_decode_seconds` of wall-clock time or its CPU
    /// time limit, and was stopped.
    #[error("video decoding stopped after {seconds} s ([video.limits] max_decode_seconds)")]
    TimedOut {
        /// The limit.
        seconds: u64,
    },
    /// The decoder ran out of its memory limit.
    #[error("video decoder ran out of its memory limit of {limit} bytes ([video.limits] max_memory_bytes)")]
    OutOfMemory {
        /// The limit.
        limit: u64,
    },
    /// The decoder process died from a signal (a crash).
    #[error("video decoder crashed (signal {signal}); the video is left unhashed")]
    Crashed {
        /// The signal number.
        signal: i32,
    },
    /// The decoder stopped with an error.
    #[error("video decoding failed: {0}")]
    DecodeFailed(String),
    /// Reading the input or writing the temporary copy failed.
    #[error("video I/O: {0}")]
    Io(String),
}

impl VideoError {
    /// A short fixed name for metrics and statistics (bounded label values).
    pub fn kind(&self) -> &'static str {
        match self {
            VideoError::ToolMissing { .. } => "tool_missing",
            VideoError::TooLarge { .. } => "too_large",
            VideoError::Unreadable(_) => "unreadable",
            VideoError::BadFrameRate(_) => "bad_frame_rate",
            VideoError::FrameTooLarge { .. } => "frame_too_large",
            VideoError::TooLong { .. } => "too_long",
            VideoError::TooManyFrames { .. } => "too_many_frames",
            VideoError::TimedOut { .. } => "timed_out",
            VideoError::OutOfMemory { .. } => "out_of_memory",
            VideoError::Crashed { .. } => "crashed",
            VideoError::DecodeFailed(_) => "decode_failed",
            VideoError::Io(_) => "io",
        }
    }
}
