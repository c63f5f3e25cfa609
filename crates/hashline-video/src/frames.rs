//! Hashing through the frame decoder (`hashline-decoder`): one child process per video that
//! probes, checks and decodes with FFmpeg's libraries, decoding only what the sampled frames
//! need, and sends the sampled frames over [`crate::wire`]. Everything it sends is checked
//! here again, as from any untrusted source.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use hashline_hash::vpdq::VideoHashes;
use hashline_hash::Hasher;

use crate::child::{limited, Running};
use crate::probe::check_facts;
use crate::wire::{FailKind, Reader, Record, WireError};
use crate::{frame_interval, Collector, VideoError, VideoSettings, DEMUXERS};

/// How videos are decoded (`[video] decoder`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DecoderChoice {
    /// The frame decoder when one is found — this program when it registered itself
    /// ([`register_decoder`]), else `hashline-decoder` beside this program — else `ffmpeg`.
    #[default]
    Auto,
    /// FFmpeg's `ffmpeg` program: every frame decoded, two program starts per video.
    Ffmpeg,
    /// This frame decoder program.
    Program(PathBuf),
}

impl serde::Serialize for DecoderChoice {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            DecoderChoice::Auto => s.serialize_str("auto"),
            DecoderChoice::Ffmpeg => s.serialize_str("ffmpeg"),
            DecoderChoice::Program(p) => s.serialize_str(&p.to_string_lossy()),
        }
    }
}

impl<'de> serde::Deserialize<'de> for DecoderChoice {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "auto" => DecoderChoice::Auto,
            "ffmpeg" => DecoderChoice::Ffmpeg,
            "" => {
                return Err(serde::de::Error::custom(
                    "[video] decoder: \"auto\", \"ffmpeg\" or a program's path",
                ))
            }
            path => DecoderChoice::Program(path.into()),
        })
    }
}

/// The frame decoder as a program and the arguments before its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FrameDecoder {
    pub(crate) program: PathBuf,
    pub(crate) leading: Vec<OsString>,
}

static REGISTERED: OnceLock<FrameDecoder> = OnceLock::new();
static FOUND: OnceLock<Option<FrameDecoder>> = OnceLock::new();

/// Makes `program` with `leading_args` the frame decoder `auto` uses in this process: the
/// `hashline` binary registers itself (`hashline __video-decoder`). The first call wins.
pub fn register_decoder(program: PathBuf, leading_args: Vec<OsString>) {
    let _ = REGISTERED.set(FrameDecoder { program, leading: leading_args });
}

/// The frame decoder the settings choose, if any (`None`: the `ffmpeg` program).
pub(crate) fn frame_decoder(settings: &VideoSettings) -> Option<FrameDecoder> {
    match &settings.decoder {
        DecoderChoice::Ffmpeg => None,
        DecoderChoice::Program(p) => Some(FrameDecoder { program: p.clone(), leading: Vec::new() }),
        DecoderChoice::Auto => {
            REGISTERED.get().cloned().or_else(|| FOUND.get_or_init(beside_this_program).clone())
        }
    }
}

/// `hashline-decoder` in this program's folder or the one above (where Cargo puts binaries for
/// the test programs in `deps/`).
fn beside_this_program() -> Option<FrameDecoder> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    let found = [Some(dir), dir.parent()]
        .into_iter()
        .flatten()
        .map(|d| d.join("hashline-decoder"))
        .find(|p| p.is_file());
    found.map(|program| FrameDecoder { program, leading: Vec::new() })
}

/// Which decoder videos go through, in words for the start-up log.
pub fn decoder_in_use(settings: &VideoSettings) -> String {
    match frame_decoder(settings) {
        Some(d) => format!(
            "frame decoder {}{} (decodes only the sampled frames and those they refer to)",
            d.program.display(),
            d.leading.iter().map(|a| format!(" {}", a.to_string_lossy())).collect::<String>()
        ),
        None => format!("{} (every frame decoded)", settings.ffmpeg.display()),
    }
}

/// Hashes the video at `path` through the frame decoder.
pub(crate) fn hash(
    decoder: &FrameDecoder,
    path: &Path,
    settings: &VideoSettings,
    hasher: &mut Hasher,
) -> Result<VideoHashes, VideoError> {
    let l = &settings.limits;
    if !decoder.program.is_file() {
        return Err(VideoError::ToolMissing {
            program: decoder.program.display().to_string(),
            reason: "no such program".into(),
        });
    }
    let mut cmd = limited(settings, &decoder.program);
    cmd.args(&decoder.leading)
        .arg("--input")
        .arg(path)
        .args(["--seconds-per-hash", &settings.seconds_per_hash.to_string()])
        .args(["--formats", DEMUXERS])
        .args(["--max-frames", &l.max_frames_decoded.to_string()])
        .args(["--max-pixels", &l.max_frame_pixels.to_string()])
        .args(["--max-frame-rate", &l.max_frame_rate.to_string()])
        .args(["--max-duration", &l.max_duration_seconds.to_string()]);
    let mut run = Running::start(cmd, settings, 1 << 20, path)?;
    match read(&mut run, settings, hasher) {
        Ok(v) => run.finish(l.max_memory_bytes).map(|()| v),
        // The stream ended early: how the process ended says why (a crash, a limit).
        Err(Stop::CutShort(e)) => Err(run.finish(l.max_memory_bytes).err().unwrap_or(e)),
        Err(Stop::Refused(e)) => {
            run.kill();
            let _ = run.finish(l.max_memory_bytes);
            Err(e)
        }
    }
}

/// Why reading stopped early.
enum Stop {
    /// The output ended mid-way: the process may have died.
    CutShort(VideoError),
    /// The output or what it says is refused here.
    Refused(VideoError),
}

/// Reads the decoder's stream into hashes.
fn read(run: &mut Running, settings: &VideoSettings, hasher: &mut Hasher) -> Result<VideoHashes, Stop> {
    let l = &settings.limits;
    let mut source = Pieces { run, piece: Vec::new(), at: 0, stopped: None };
    let mut reader = Reader::new(&mut source, l.max_frame_pixels);
    let mut collector: Option<Collector> = None;
    loop {
        let record = match reader.next_record() {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => {
                drop(reader);
                return Err(match (source.stopped.take(), e) {
                    (Some(stopped), _) => Stop::Refused(stopped),
                    (None, WireError::Io(_)) => Stop::CutShort(VideoError::DecodeFailed(
                        "the decoder stopped before the end of its output".into(),
                    )),
                    (None, e @ WireError::Malformed(_)) => {
                        Stop::Refused(VideoError::DecodeFailed(e.to_string()))
                    }
                });
            }
        };
        match record {
            Record::Info(i) => {
                let rate = (i.rate_den != 0).then(|| f64::from(i.rate_num) / f64::from(i.rate_den));
                let probe = check_facts(
                    i.codec,
                    (u64::from(i.width), u64::from(i.height)),
                    [rate, None],
                    [i.duration_seconds, None],
                    settings,
                )
                .map_err(Stop::Refused)?;
                let interval = frame_interval(settings.seconds_per_hash, probe.frame_rate);
                collector = Some(Collector::new(probe, interval, settings));
            }
            Record::Frame { number, rgb } => {
                let c = collector.as_mut().ok_or_else(|| refused("a frame before the facts"))?;
                c.push(number, rgb, hasher).map_err(Stop::Refused)?;
            }
            Record::Restart => {
                if let Some(c) = collector.as_mut() {
                    c.restart();
                }
            }
            Record::End(_) => {}
            Record::Fail { kind, message } => return Err(Stop::Refused(failure(kind, message, settings))),
        }
    }
    collector.ok_or_else(|| refused("the decoder said nothing"))?.finish().map_err(Stop::Refused)
}

fn refused(why: &str) -> Stop {
    Stop::Refused(VideoError::DecodeFailed(why.into()))
}

/// The decoder's own failure as this process's error, with this process's limits.
fn failure(kind: FailKind, message: String, settings: &VideoSettings) -> VideoError {
    let l = &settings.limits;
    match kind {
        FailKind::Unreadable => VideoError::Unreadable(message),
        FailKind::BadFrameRate => VideoError::BadFrameRate(format!("{message} is unusable")),
        FailKind::FrameTooLarge => {
            let (w, h) = message.split_once('×').unwrap_or(("0", "0"));
            let num =
                |s: &str| s.chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap_or(0);
            VideoError::FrameTooLarge { width: num(w), height: num(h), limit: l.max_frame_pixels }
        }
        FailKind::TooLong => VideoError::TooLong {
            seconds: message.split(' ').next().and_then(|s| s.parse().ok()).unwrap_or(l.max_duration_seconds),
            limit: l.max_duration_seconds,
        },
        FailKind::TooManyFrames => VideoError::TooManyFrames { limit: l.max_frames_decoded },
        FailKind::DecodeFailed => VideoError::DecodeFailed(message),
    }
}

/// The child's output as a byte stream; a stop (the wall-clock limit) is kept for the error.
struct Pieces<'a> {
    run: &'a mut Running,
    piece: Vec<u8>,
    at: usize,
    stopped: Option<VideoError>,
}

impl Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.piece.len() {
            match self.run.next() {
                Ok(Some(p)) => {
                    self.piece = p;
                    self.at = 0;
                }
                Ok(None) => return Ok(0),
                Err(e) => {
                    self.stopped = Some(e);
                    return Err(std::io::Error::other("the decoder was stopped"));
                }
            }
        }
        let n = buf.len().min(self.piece.len() - self.at);
        buf[..n].copy_from_slice(&self.piece[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}
