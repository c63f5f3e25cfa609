//! The video parts of the API's answers: a video's vPDQ in `/v1/hash`, and how a video matched.

use hashline_hash::vpdq::VideoHashes;
use serde::Serialize;
use utoipa::ToSchema;

/// A video's vPDQ: its facts and one entry per hashed frame.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ApiVideo {
    /// The codec (`h264`, `vp9`, …).
    pub codec: String,
    /// Frame width.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// Frames per second.
    pub frame_rate: f64,
    /// Duration in seconds.
    pub duration_seconds: f64,
    /// Seconds between hashed frames (0: every frame).
    pub seconds_per_hash: f64,
    /// The hashed frames, in order.
    pub frames: Vec<ApiFrame>,
}

/// One hashed frame.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ApiFrame {
    /// Frame number (decoder output order, from 0).
    pub frame_number: u64,
    /// Time in the video, seconds (three decimals).
    pub timestamp: f64,
    /// PDQ, 64 hex digits.
    pub pdq: String,
    /// PDQ quality, 0–100.
    pub quality: u8,
}

impl From<&VideoHashes> for ApiVideo {
    fn from(v: &VideoHashes) -> Self {
        ApiVideo {
            codec: v.codec.clone(),
            width: v.width,
            height: v.height,
            frame_rate: v.frame_rate,
            duration_seconds: v.duration_seconds,
            seconds_per_hash: v.seconds_per_hash,
            frames: v
                .frames
                .iter()
                .map(|f| ApiFrame {
                    frame_number: f.frame_number,
                    timestamp: (f.timestamp * 1000.0).round() / 1000.0,
                    pdq: f.pdq.to_hex(),
                    quality: f.quality,
                })
                .collect(),
        }
    }
}

/// How a video matched: a listed video (`vpdq`) or a listed picture shown in it (`pdq`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ApiVideoMatch {
    /// The video's matched unique frames over its unique frames of good quality, percent.
    pub query_percent: f64,
    /// For a listed video: its matched unique frames over its unique frames, percent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compared_percent: Option<f64>,
    /// How many sampled frames matched (the percentages count unique hashes).
    pub matched_frames: u32,
    /// The matching frames in time order (the first 100): time, frame number, distance.
    pub frames: Vec<ApiMatchedFrame>,
    /// True when some frame matched only through the picture inside its bars.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub border_trimmed: bool,
}

/// One matching frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct ApiMatchedFrame {
    /// Time in the video, seconds.
    pub timestamp: f64,
    /// Frame number.
    pub frame_number: u64,
    /// PDQ distance to the nearest listed frame or picture.
    pub distance: u32,
}

impl From<&hashline_lists::VideoMatch> for ApiVideoMatch {
    fn from(v: &hashline_lists::VideoMatch) -> Self {
        ApiVideoMatch {
            query_percent: v.query_percent,
            compared_percent: v.compared_percent,
            matched_frames: v.matched_frames,
            frames: v
                .frames
                .iter()
                .map(|f| ApiMatchedFrame {
                    timestamp: f.timestamp,
                    frame_number: f.frame_number,
                    distance: f.distance,
                })
                .collect(),
            border_trimmed: v.border_trimmed,
        }
    }
}
