//! What the container says about its first video stream, asked of `ffprobe` under the limits,
//! and checked against them before any frame is decoded.

use std::path::Path;

use crate::child::{limited, Running};
use crate::{VideoError, VideoSettings, DEMUXERS};

/// The facts decoding needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// The codec (`h264`, …).
    pub codec: String,
    /// Frame width.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// Frames per second: the stream's average rate, else its base rate (as the reference).
    pub frame_rate: f64,
    /// The container's or the stream's duration in seconds, when it says.
    pub duration_seconds: Option<f64>,
}

#[derive(serde::Deserialize)]
struct Output {
    #[serde(default)]
    streams: Vec<Stream>,
    #[serde(default)]
    format: Option<Format>,
}

#[derive(serde::Deserialize)]
struct Stream {
    #[serde(default)]
    codec_name: Option<String>,
    #[serde(default)]
    width: Option<u64>,
    #[serde(default)]
    height: Option<u64>,
    #[serde(default)]
    avg_frame_rate: Option<String>,
    #[serde(default)]
    r_frame_rate: Option<String>,
    #[serde(default)]
    duration: Option<String>,
}

#[derive(serde::Deserialize)]
struct Format {
    #[serde(default)]
    duration: Option<String>,
}

/// Most bytes of `ffprobe` output read.
const MAX_PROBE_OUTPUT: usize = 64 * 1024;

/// Asks `ffprobe` about `path` and checks the answer against the limits.
pub fn probe(path: &Path, settings: &VideoSettings) -> Result<Probe, VideoError> {
    let mut cmd = limited(settings, &settings.ffprobe);
    cmd.args(["-v", "error", "-protocol_whitelist", "file", "-format_whitelist", DEMUXERS])
        .args(["-select_streams", "v:0", "-show_entries"])
        .arg("stream=codec_name,width,height,avg_frame_rate,r_frame_rate,duration:format=duration")
        .args(["-of", "json"])
        .arg(input_url(path));
    let mut run = Running::start(cmd, settings, MAX_PROBE_OUTPUT, path)?;
    let mut out = Vec::new();
    while let Some(piece) = run.next()? {
        if out.len() + piece.len() > MAX_PROBE_OUTPUT {
            run.kill();
            return Err(VideoError::Unreadable("the container's description is too long".into()));
        }
        out.extend_from_slice(&piece);
    }
    run.finish(settings.limits.max_memory_bytes).map_err(|e| match e {
        VideoError::DecodeFailed(why) => VideoError::Unreadable(why),
        other => other,
    })?;
    Probe::from_ffprobe_json(&out, settings)
}

impl Probe {
    /// Reads `ffprobe -of json` output and checks it against the limits: the part of a video
    /// this process reads (fuzzed: `fuzz/fuzz_targets/video_text.rs`).
    pub fn from_ffprobe_json(json: &[u8], settings: &VideoSettings) -> Result<Probe, VideoError> {
        let parsed: Output = serde_json::from_slice(json)
            .map_err(|e| VideoError::Unreadable(format!("unexpected ffprobe output: {e}")))?;
        check(parsed, settings)
    }
}

/// `file:` and the path: never read as another protocol, whatever the name.
pub(crate) fn input_url(path: &Path) -> std::ffi::OsString {
    let mut s = std::ffi::OsString::from("file:");
    s.push(path.as_os_str());
    s
}

fn check(out: Output, settings: &VideoSettings) -> Result<Probe, VideoError> {
    let Some(stream) = out.streams.into_iter().next() else {
        return Err(VideoError::Unreadable("no video stream".into()));
    };
    let rates =
        [stream.avg_frame_rate.as_deref(), stream.r_frame_rate.as_deref()].map(|r| r.and_then(rational));
    let durations = [out.format.and_then(|f| f.duration), stream.duration]
        .map(|d| d.and_then(|d| d.trim().parse::<f64>().ok()));
    check_facts(
        stream.codec_name.unwrap_or_else(|| "unknown".into()),
        (stream.width.unwrap_or(0), stream.height.unwrap_or(0)),
        rates,
        durations,
        settings,
    )
}

/// Checks what a container claims against the limits: the frame size, the first non-zero of
/// the frame `rates` (average, then base), the first valid of the `durations` (container,
/// then stream). Shared by `ffprobe`'s answer and the frame decoder's.
pub(crate) fn check_facts(
    codec: String,
    (width, height): (u64, u64),
    rates: [Option<f64>; 2],
    durations: [Option<f64>; 2],
    settings: &VideoSettings,
) -> Result<Probe, VideoError> {
    let limits = &settings.limits;
    if width == 0 || height == 0 {
        return Err(VideoError::Unreadable(format!("the video stream claims {width}×{height} frames")));
    }
    if width.saturating_mul(height) > limits.max_frame_pixels || width > 65_535 || height > 65_535 {
        return Err(VideoError::FrameTooLarge { width, height, limit: limits.max_frame_pixels });
    }
    let frame_rate = rates
        .into_iter()
        .flatten()
        .find(|r| *r != 0.0)
        .ok_or_else(|| VideoError::BadFrameRate("is unknown or zero".into()))?;
    if !(frame_rate.is_finite() && frame_rate > 0.0 && frame_rate <= limits.max_frame_rate) {
        return Err(VideoError::BadFrameRate(format!(
            "of {frame_rate} frames per second is outside 0 to {} ([video.limits] max_frame_rate)",
            limits.max_frame_rate
        )));
    }
    let duration_seconds = durations.into_iter().flatten().find(|d| d.is_finite() && *d >= 0.0);
    if let Some(seconds) = duration_seconds {
        if seconds > limits.max_duration_seconds {
            return Err(VideoError::TooLong { seconds, limit: limits.max_duration_seconds });
        }
        if seconds * frame_rate > limits.max_frames_decoded as f64 {
            return Err(VideoError::TooManyFrames { limit: limits.max_frames_decoded });
        }
    }
    Ok(Probe { codec, width: width as u32, height: height as u32, frame_rate, duration_seconds })
}

/// `"30000/1001"` → 29.97; `None` when it is not a fraction with a non-zero denominator.
fn rational(s: &str) -> Option<f64> {
    let (n, d) = s.trim().split_once('/').unwrap_or((s.trim(), "1"));
    let (n, d) = (n.parse::<f64>().ok()?, d.parse::<f64>().ok()?);
    (d != 0.0 && n.is_finite() && d.is_finite()).then(|| n / d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(json: &str) -> Output {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn frame_rates_fall_back_from_average_to_base_and_absurd_ones_are_refused() {
        let s = VideoSettings::default();
        let ok = check(output(r#"{"streams":[{"codec_name":"h264","width":640,"height":360,"avg_frame_rate":"0/0","r_frame_rate":"30000/1001"}],"format":{"duration":"10.0"}}"#), &s).unwrap();
        assert!((ok.frame_rate - 29.97).abs() < 0.001);
        assert_eq!(ok.duration_seconds, Some(10.0));
        for (json, kind) in [
            (
                r#"{"streams":[{"width":640,"height":360,"avg_frame_rate":"0/0","r_frame_rate":"0/0"}]}"#,
                "bad_frame_rate",
            ),
            (r#"{"streams":[{"width":640,"height":360,"avg_frame_rate":"90000/1"}]}"#, "bad_frame_rate"),
            (r#"{"streams":[{"width":640,"height":360,"avg_frame_rate":"-30/1"}]}"#, "bad_frame_rate"),
            (r#"{"streams":[{"width":16384,"height":16384,"avg_frame_rate":"30/1"}]}"#, "frame_too_large"),
            (r#"{"streams":[{"width":0,"height":360,"avg_frame_rate":"30/1"}]}"#, "unreadable"),
            (r#"{"streams":[]}"#, "unreadable"),
            (
                r#"{"streams":[{"width":640,"height":360,"avg_frame_rate":"30/1"}],"format":{"duration":"99999"}}"#,
                "too_long",
            ),
            (
                r#"{"streams":[{"width":640,"height":360,"avg_frame_rate":"999/1"}],"format":{"duration":"10000"}}"#,
                "too_many_frames",
            ),
        ] {
            assert_eq!(check(output(json), &s).unwrap_err().kind(), kind, "{json}");
        }
    }
}
