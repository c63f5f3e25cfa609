//! One video: open, check, plan, decode, convert the sampled frames, write them out.

use std::ffi::c_int;
use std::io::Write;
use std::path::PathBuf;

use ffmpeg_sys_next as ff;
use hashline_video::wire::{FailKind, Info, Stats, Writer};

use crate::ffmpeg::{error_text, Decoder, Frame, Input, Packet, Scaler};
use crate::nal::{clean_keyframe, Codec, Framing};
use crate::plan::{plan, Action, PacketInfo, Plan};

/// What the parent asks for (its command-line arguments).
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The video file.
    pub input: PathBuf,
    /// Seconds between hashed frames (0: every frame).
    pub seconds_per_hash: f64,
    /// The demuxers allowed.
    pub formats: String,
    /// Most frames.
    pub max_frames: u64,
    /// Most pixels per frame.
    pub max_pixels: u64,
    /// Highest frame rate.
    pub max_frame_rate: f64,
    /// Longest duration, in seconds.
    pub max_duration: f64,
    /// Decode every frame, as the reference (no plan).
    pub every_frame: bool,
}

/// A reason to stop, sent to the parent as an `X` record.
#[derive(Debug)]
pub struct Fail {
    /// Its kind.
    pub kind: FailKind,
    /// Its words.
    pub message: String,
}

fn fail(kind: FailKind, message: impl Into<String>) -> Fail {
    Fail { kind, message: message.into() }
}

impl From<std::io::Error> for Fail {
    fn from(e: std::io::Error) -> Fail {
        fail(FailKind::DecodeFailed, format!("writing to the parent: {e}"))
    }
}

/// Why the fast path stopped: the stream is not what its index promised.
struct Broken;

/// What the decoding loops share: the request, where frames go and how they are counted.
struct Run<'a, W: Write> {
    req: &'a Request,
    out: &'a mut Writer<W>,
    scaler: Scaler,
    row_bytes: usize,
    interval: u64,
    frame_rate: f64,
    stats: Stats,
}

/// Hashes nothing itself: decodes `req.input` and writes its sampled frames to `out`.
pub fn run<W: Write>(req: &Request, out: &mut Writer<W>) -> Result<Stats, Fail> {
    let unreadable = |e: String| fail(FailKind::Unreadable, e);
    let mut input = Input::open(&req.input, &req.formats).map_err(unreadable)?;
    let (info, codec, framing, progressive) = {
        let stream =
            input.first_video_stream().ok_or_else(|| fail(FailKind::Unreadable, "no video stream"))?;
        let info = facts(&input, &stream, req)?;
        let codec = match stream.par().codec_id {
            ff::AVCodecID::AV_CODEC_ID_H264 => Some(Codec::H264),
            ff::AVCodecID::AV_CODEC_ID_HEVC => Some(Codec::Hevc),
            ff::AVCodecID::AV_CODEC_ID_VP8 | ff::AVCodecID::AV_CODEC_ID_VP9 => Some(Codec::Vpx),
            _ => None,
        };
        let framing = codec.map(|c| Framing::from_extradata(c, stream.extradata()));
        let progressive = stream.par().field_order == ff::AVFieldOrder::AV_FIELD_PROGRESSIVE;
        (info, codec, framing, progressive)
    };
    out.info(&info)?;
    let frame_rate = f64::from(info.rate_num) / f64::from(info.rate_den);
    let interval = ((req.seconds_per_hash * frame_rate) as u64).max(1);
    let mut run = Run {
        req,
        out,
        scaler: Scaler::new(info.width as c_int, info.height as c_int)
            .map_err(|e| fail(FailKind::DecodeFailed, e))?,
        row_bytes: 3 * info.width as usize,
        interval,
        frame_rate,
        stats: Stats::default(),
    };
    let regular_file = std::fs::metadata(&req.input).is_ok_and(|m| m.is_file());
    let fast_codec = match codec {
        Some(Codec::H264 | Codec::Hevc) => progressive,
        Some(Codec::Vpx) => true,
        None => false,
    };
    if !req.every_frame && interval > 1 && regular_file && fast_codec {
        if let (Some(codec), Some(framing)) = (codec, framing) {
            let packets = index(&mut input, codec, framing, req)?;
            let skip_nonref = codec != Codec::Vpx;
            if let Some(plan) = plan(&packets, interval, skip_nonref, true) {
                drop(input);
                input = Input::open(&req.input, &req.formats).map_err(unreadable)?;
                match run.fast(&mut input, &packets, &plan)? {
                    Ok(()) => {
                        run.stats.fast = true;
                        run.stats.packets_total = packets.len() as u64;
                        run.out.end(&run.stats)?;
                        return Ok(run.stats);
                    }
                    Err(Broken) => {
                        run.out.restart()?;
                        run.stats = Stats::default();
                    }
                }
            }
            drop(input);
            input = Input::open(&req.input, &req.formats).map_err(unreadable)?;
        }
    }
    run.every_frame(&mut input)?;
    run.out.end(&run.stats)?;
    Ok(run.stats)
}

/// The stream's facts, checked against the limits.
fn facts(input: &Input, stream: &crate::ffmpeg::Stream<'_>, req: &Request) -> Result<Info, Fail> {
    let par = stream.par();
    let (w, h) = (u64::try_from(par.width).unwrap_or(0), u64::try_from(par.height).unwrap_or(0));
    if w == 0 || h == 0 {
        return Err(fail(FailKind::Unreadable, format!("the video stream claims {w}×{h} frames")));
    }
    if w.saturating_mul(h) > req.max_pixels || w > 65_535 || h > 65_535 {
        return Err(fail(FailKind::FrameTooLarge, format!("{w}×{h}")));
    }
    let (num, den) = stream.frame_rate();
    let rate = if den == 0 { 0.0 } else { f64::from(num) / f64::from(den) };
    if !(rate.is_finite() && rate > 0.0 && rate <= req.max_frame_rate) {
        return Err(fail(FailKind::BadFrameRate, format!("{num}/{den}")));
    }
    let duration_seconds = input.duration_seconds().or_else(|| stream.duration_seconds());
    if let Some(d) = duration_seconds {
        if d > req.max_duration {
            return Err(fail(FailKind::TooLong, format!("{d:.0} s")));
        }
        if d * rate > req.max_frames as f64 {
            return Err(fail(FailKind::TooManyFrames, format!("about {:.0}", d * rate)));
        }
    }
    Ok(Info {
        width: w as u32,
        height: h as u32,
        rate_num: num,
        rate_den: den,
        duration_seconds,
        codec: stream.codec_name(),
    })
}

/// Reads every packet of the first video stream without decoding: the index the plan needs.
fn index(input: &mut Input, codec: Codec, framing: Framing, req: &Request) -> Result<Vec<PacketInfo>, Fail> {
    let (stream, time_base) = {
        let s = input.first_video_stream().ok_or_else(|| fail(FailKind::Unreadable, "no video stream"))?;
        (s.index, s.time_base())
    };
    let mut packet = Packet::new().map_err(|e| fail(FailKind::DecodeFailed, e))?;
    let mut out = Vec::new();
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    while input.read(&mut packet) {
        let p = packet.get();
        if p.stream_index != stream {
            continue;
        }
        if out.len() as u64 >= req.max_frames {
            return Err(fail(FailKind::TooManyFrames, format!("over {}", req.max_frames)));
        }
        let key = p.flags & ff::AV_PKT_FLAG_KEY != 0;
        let pts = (p.pts != ff::AV_NOPTS_VALUE).then_some(p.pts);
        if let Some(t) = pts {
            first = first.min(t);
            last = last.max(t);
            let span = (last as f64 - first as f64) * time_base;
            if span > req.max_duration {
                return Err(fail(FailKind::TooLong, format!("{span:.0} s")));
            }
        }
        out.push(PacketInfo {
            pts,
            key,
            clean_key: key && clean_keyframe(codec, framing, packet.data()),
            discard: p.flags & ff::AV_PKT_FLAG_DISCARD != 0,
        });
    }
    Ok(out)
}

impl<W: Write> Run<'_, W> {
    /// Decodes only what the plan needs, checking each frame the decoder outputs against it.
    fn fast(
        &mut self,
        input: &mut Input,
        packets: &[PacketInfo],
        plan: &Plan,
    ) -> Result<Result<(), Broken>, Fail> {
        let (stream, mut decoder) = self.open_decoder(input)?;
        let mut packet = Packet::new().map_err(|e| fail(FailKind::DecodeFailed, e))?;
        let mut frame = Frame::new().map_err(|e| fail(FailKind::DecodeFailed, e))?;
        let frames = plan.frame_pts.len() as u64;
        let mut next_sample = 0u64; // the next sampled frame number expected
        let mut i = 0usize;
        let mut drained = true;
        while input.read(&mut packet) {
            if packet.get().stream_index != stream {
                continue;
            }
            let Some(info) = packets.get(i) else { return Ok(Err(Broken)) };
            let pts = packet.get().pts;
            if info.pts != (pts != ff::AV_NOPTS_VALUE).then_some(pts) {
                return Ok(Err(Broken)); // not the stream that was indexed
            }
            let action = plan.actions[i];
            i += 1;
            if action == Action::Skip {
                if !drained {
                    // Frames the decoder still holds come out now; the next packet sent is a
                    // clean keyframe, after which nothing refers back.
                    let _ = decoder.send(None);
                    if self.receive(&mut decoder, &mut frame, plan, &mut next_sample)?.is_err() {
                        return Ok(Err(Broken));
                    }
                    decoder.flush();
                    drained = true;
                }
                continue;
            }
            drained = false;
            decoder.drop_non_reference(action == Action::DecodeIfReference);
            self.stats.packets_sent += 1;
            let _ = decoder.send(Some(&packet)); // a broken packet is skipped, as FFmpeg does
            if self.receive(&mut decoder, &mut frame, plan, &mut next_sample)?.is_err() {
                return Ok(Err(Broken));
            }
        }
        let _ = decoder.send(None); // the end: what the decoder still holds comes out
        if i != packets.len() || self.receive(&mut decoder, &mut frame, plan, &mut next_sample)?.is_err() {
            return Ok(Err(Broken));
        }
        // Every sampled frame came out.
        Ok(if next_sample >= frames { Ok(()) } else { Err(Broken) })
    }

    /// Takes every frame the decoder has ready; numbers them by the plan.
    fn receive(
        &mut self,
        d: &mut Decoder,
        f: &mut Frame,
        plan: &Plan,
        next: &mut u64,
    ) -> Result<Result<(), Broken>, Fail> {
        loop {
            match d.receive(f) {
                Ok(true) => {}
                Ok(false) => return Ok(Ok(())),
                Err(e) => return Err(fail(FailKind::DecodeFailed, error_text(e))),
            }
            self.stats.frames_decoded += 1;
            let pts = f.get().pts;
            let Some(n) = (pts != ff::AV_NOPTS_VALUE).then_some(pts).and_then(|p| plan.frame_number(p))
            else {
                return Ok(Err(Broken));
            };
            if !n.is_multiple_of(self.interval) {
                continue;
            }
            if n != *next {
                return Ok(Err(Broken)); // a sampled frame missing, or one twice
            }
            *next += self.interval;
            self.emit(n, f, d)?;
        }
    }

    /// Sends every packet and counts what comes out, as the reference.
    fn every_frame(&mut self, input: &mut Input) -> Result<(), Fail> {
        let (stream, mut decoder) = self.open_decoder(input)?;
        let mut packet = Packet::new().map_err(|e| fail(FailKind::DecodeFailed, e))?;
        let mut frame = Frame::new().map_err(|e| fail(FailKind::DecodeFailed, e))?;
        let mut more = true;
        while more {
            more = input.read(&mut packet);
            if more && packet.get().stream_index != stream {
                continue;
            }
            if more {
                self.stats.packets_total += 1;
                self.stats.packets_sent += 1;
            }
            let _ = decoder.send(more.then_some(&packet));
            loop {
                match decoder.receive(&mut frame) {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => return Err(fail(FailKind::DecodeFailed, error_text(e))),
                }
                let n = self.stats.frames_decoded;
                self.stats.frames_decoded += 1;
                if n >= self.req.max_frames {
                    return Err(fail(FailKind::TooManyFrames, format!("over {}", self.req.max_frames)));
                }
                if n as f64 / self.frame_rate > self.req.max_duration {
                    return Err(fail(FailKind::TooLong, format!("{:.0} s", n as f64 / self.frame_rate)));
                }
                if n.is_multiple_of(self.interval) {
                    self.emit(n, &frame, &decoder)?;
                }
            }
        }
        Ok(())
    }

    fn open_decoder(&self, input: &Input) -> Result<(c_int, Decoder), Fail> {
        let s = input.first_video_stream().ok_or_else(|| fail(FailKind::Unreadable, "no video stream"))?;
        let d = Decoder::open(&s).map_err(|e| fail(FailKind::Unreadable, e))?;
        Ok((s.index, d))
    }

    /// Converts frame `n` and writes it.
    fn emit(&mut self, n: u64, frame: &Frame, decoder: &Decoder) -> Result<(), Fail> {
        let f = frame.get();
        if u64::try_from(f.width).unwrap_or(0).saturating_mul(u64::try_from(f.height).unwrap_or(0))
            > self.req.max_pixels
        {
            return Err(fail(FailKind::FrameTooLarge, format!("{}×{} while decoding", f.width, f.height)));
        }
        self.scaler.convert(frame, decoder.pix_fmt()).map_err(|e| fail(FailKind::DecodeFailed, e))?;
        self.out.frame(n, self.scaler.output().rows(self.row_bytes))?;
        Ok(())
    }
}
