//! The video parts of a report: a video's facts and how a video matched.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The facts of a hashed video.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VideoFacts {
    /// The codec (`h264`, `vp9`, …).
    pub codec: String,
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Frames per second.
    pub frame_rate: f64,
    /// Duration in seconds.
    pub duration_seconds: f64,
    /// Seconds between hashed frames (0: every frame).
    pub seconds_per_hash: f64,
    /// Frames hashed (vPDQ).
    pub frames_hashed: u32,
}

/// How a video upload matched: a listed video (`vpdq`) or a listed picture shown in it (`pdq`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VideoMatchInfo {
    /// The upload's matched unique frames over its unique frames of good quality, in percent.
    #[schemars(range(min = 0, max = 100))]
    pub query_percent: f64,
    /// For a listed video: its matched unique frames over its unique frames, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub compared_percent: Option<f64>,
    /// How many of the upload's sampled frames matched (every frame of a matched hash; the
    /// percentages count unique hashes).
    pub matched_frames: u32,
    /// The matching frames in time order (at most the first 100).
    pub frames: Vec<MatchedFrameInfo>,
    /// True when some frame matched only through the picture inside its bars (letterbox or
    /// pillarbox).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub border_trimmed: bool,
}

/// One matching frame of a video upload.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchedFrameInfo {
    /// Its time in the upload, in seconds.
    pub timestamp: f64,
    /// Its frame number (decoder output order, from 0).
    pub frame_number: u64,
    /// Its PDQ distance to the nearest listed frame or picture.
    pub distance: u32,
}
