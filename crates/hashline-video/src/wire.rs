//! The byte stream between the frame decoder (`hashline-decoder`, a child process) and this
//! process: written there by [`Writer`], read here by [`Reader`].
//!
//! The child is FFmpeg's C code fed hostile input, so everything it sends is untrusted: the
//! reader checks the magic, the order of records, every length against the parent's own limits
//! (a frame is never allocated before its size is known to be within `max_frame_pixels`) and
//! that frame numbers only grow. A malformed stream is a [`WireError`], never a panic or an
//! unbounded allocation (fuzzed: `fuzz/fuzz_targets/video_wire.rs`).
//!
//! Layout (little-endian): the magic `HLVD` and version 1, then records, each a tag byte:
//! * `I` — the stream's facts, once, first: width u32, height u32, frame rate as numerator and
//!   denominator i32, duration f64 (NaN when unknown), codec name (u8 length, ASCII);
//! * `F` — a sampled frame: its number u64, then width × height × 3 bytes of RGB24;
//! * `R` — start over: the frames sent so far are void (the fast decoding path found the stream
//!   was not what its index promised and decodes it again frame by frame);
//! * `E` — the end: frames decoded u64, packets sent to the decoder u64, packets in the stream
//!   u64, fast path used u8;
//! * `X` — an error: its kind u8 ([`FailKind`]), a message (u16 length, UTF-8, at most 1 KiB).

use std::io::{self, Read, Write};

/// The stream's first bytes.
pub const MAGIC: &[u8; 5] = b"HLVD\x01";
/// Longest codec name accepted.
const MAX_CODEC: usize = 64;
/// Longest error message accepted.
const MAX_MESSAGE: usize = 1024;

/// What the container says about the stream the child decodes.
#[derive(Debug, Clone, PartialEq)]
pub struct Info {
    /// Frame width.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// Frame rate numerator (the stream's average rate, else its base rate).
    pub rate_num: i32,
    /// Frame rate denominator.
    pub rate_den: i32,
    /// Duration in seconds, when known.
    pub duration_seconds: Option<f64>,
    /// Codec name (`h264`, …).
    pub codec: String,
}

/// How decoding went, sent last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Frames the decoder produced.
    pub frames_decoded: u64,
    /// Packets sent to the decoder.
    pub packets_sent: u64,
    /// Packets of the video stream.
    pub packets_total: u64,
    /// The fast path (decode only what the sampled frames need) was used to the end.
    pub fast: bool,
}

/// Why the child gave up, as it says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailKind {
    /// Not a readable video (format, no stream, no decoder).
    Unreadable = 1,
    /// Frame rate missing, zero or absurd.
    BadFrameRate = 2,
    /// Frames over the pixel limit.
    FrameTooLarge = 3,
    /// Longer than the duration limit.
    TooLong = 4,
    /// More frames than the limit.
    TooManyFrames = 5,
    /// The decoder failed.
    DecodeFailed = 6,
}

impl FailKind {
    fn from_byte(b: u8) -> Option<FailKind> {
        Some(match b {
            1 => FailKind::Unreadable,
            2 => FailKind::BadFrameRate,
            3 => FailKind::FrameTooLarge,
            4 => FailKind::TooLong,
            5 => FailKind::TooManyFrames,
            6 => FailKind::DecodeFailed,
            _ => return None,
        })
    }
}

/// One record, as read.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// The stream's facts.
    Info(Info),
    /// A sampled frame: its number and RGB24 pixels (width × height × 3 bytes).
    Frame {
        /// Frame number (decoder output order, from 0).
        number: u64,
        /// The pixels.
        rgb: Vec<u8>,
    },
    /// Frames so far are void; they come again.
    Restart,
    /// The end.
    End(Stats),
    /// The child gave up.
    Fail {
        /// Why.
        kind: FailKind,
        /// Its words.
        message: String,
    },
}

/// A stream that does not follow the layout.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WireError {
    /// Reading failed or the stream ended mid-record.
    #[error("the decoder's output ended early or could not be read: {0}")]
    Io(String),
    /// Anything else out of order or out of bounds.
    #[error("the decoder's output is malformed: {0}")]
    Malformed(&'static str),
}

/// Reads records from the child's output, checking them against `max_frame_pixels`.
pub struct Reader<R> {
    input: R,
    max_frame_pixels: u64,
    info: Option<Info>,
    started: bool,
    last_frame: Option<u64>,
    restarts: u32,
    done: bool,
}

impl<R: Read> Reader<R> {
    /// A reader of `input`; frames larger than `max_frame_pixels` are refused before allocation.
    pub fn new(input: R, max_frame_pixels: u64) -> Reader<R> {
        Reader {
            input,
            max_frame_pixels,
            info: None,
            started: false,
            last_frame: None,
            restarts: 0,
            done: false,
        }
    }

    /// The next record; `None` once the stream has ended cleanly after `E` or `X`.
    pub fn next_record(&mut self) -> Result<Option<Record>, WireError> {
        if self.done {
            return Ok(None);
        }
        if !self.started {
            let mut magic = [0u8; 5];
            self.exact(&mut magic)?;
            if &magic != MAGIC {
                return Err(WireError::Malformed("not a hashline-decoder stream (magic)"));
            }
            self.started = true;
        }
        let tag = self.u8()?;
        let record = match tag {
            b'I' => {
                if self.info.is_some() {
                    return Err(WireError::Malformed("facts sent twice"));
                }
                let info = self.info_record()?;
                self.info = Some(info.clone());
                Record::Info(info)
            }
            b'F' => {
                let (w, h) = match &self.info {
                    Some(i) => (u64::from(i.width), u64::from(i.height)),
                    None => return Err(WireError::Malformed("a frame before the facts")),
                };
                let number = self.u64()?;
                if self.last_frame.is_some_and(|last| number <= last) {
                    return Err(WireError::Malformed("frame numbers must grow"));
                }
                self.last_frame = Some(number);
                let len = usize::try_from(w * h * 3).map_err(|_| WireError::Malformed("frame size"))?;
                // Read without zeroing first: frames are megabytes, many per second.
                let mut rgb = Vec::with_capacity(len);
                (&mut self.input)
                    .take(len as u64)
                    .read_to_end(&mut rgb)
                    .map_err(|e| WireError::Io(e.to_string()))?;
                if rgb.len() != len {
                    return Err(WireError::Io("the stream ended inside a frame".into()));
                }
                Record::Frame { number, rgb }
            }
            b'R' => {
                self.restarts += 1;
                if self.restarts > 1 {
                    return Err(WireError::Malformed("more than one restart"));
                }
                self.last_frame = None;
                Record::Restart
            }
            b'E' => {
                let stats = Stats {
                    frames_decoded: self.u64()?,
                    packets_sent: self.u64()?,
                    packets_total: self.u64()?,
                    fast: self.u8()? == 1,
                };
                self.done = true;
                Record::End(stats)
            }
            b'X' => {
                let kind =
                    FailKind::from_byte(self.u8()?).ok_or(WireError::Malformed("unknown failure kind"))?;
                let len = usize::from(self.u16()?);
                if len > MAX_MESSAGE {
                    return Err(WireError::Malformed("failure message too long"));
                }
                let mut text = vec![0u8; len];
                self.exact(&mut text)?;
                let message: String =
                    String::from_utf8_lossy(&text).chars().filter(|c| !c.is_control()).take(300).collect();
                self.done = true;
                Record::Fail { kind, message }
            }
            _ => return Err(WireError::Malformed("unknown record")),
        };
        Ok(Some(record))
    }

    fn info_record(&mut self) -> Result<Info, WireError> {
        let width = self.u32()?;
        let height = self.u32()?;
        if width == 0 || height == 0 {
            return Err(WireError::Malformed("zero frame size"));
        }
        if u64::from(width) * u64::from(height) > self.max_frame_pixels {
            return Err(WireError::Malformed("frames over the pixel limit"));
        }
        let rate_num = self.u32()? as i32;
        let rate_den = self.u32()? as i32;
        let duration = f64::from_bits(self.u64()?);
        let len = usize::from(self.u8()?);
        if len > MAX_CODEC {
            return Err(WireError::Malformed("codec name too long"));
        }
        let mut name = vec![0u8; len];
        self.exact(&mut name)?;
        if !name.iter().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(b)) {
            return Err(WireError::Malformed("codec name"));
        }
        let codec = String::from_utf8(name).map_err(|_| WireError::Malformed("codec name"))?;
        let duration_seconds = duration.is_finite().then_some(duration);
        Ok(Info { width, height, rate_num, rate_den, duration_seconds, codec })
    }

    fn exact(&mut self, buf: &mut [u8]) -> Result<(), WireError> {
        self.input.read_exact(buf).map_err(|e| WireError::Io(e.to_string()))
    }
    fn u8(&mut self) -> Result<u8, WireError> {
        let mut b = [0u8; 1];
        self.exact(&mut b)?;
        Ok(b[0])
    }
    fn u16(&mut self) -> Result<u16, WireError> {
        let mut b = [0u8; 2];
        self.exact(&mut b)?;
        Ok(u16::from_le_bytes(b))
    }
    fn u32(&mut self) -> Result<u32, WireError> {
        let mut b = [0u8; 4];
        self.exact(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn u64(&mut self) -> Result<u64, WireError> {
        let mut b = [0u8; 8];
        self.exact(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
}

/// Writes records (the child's side).
pub struct Writer<W> {
    out: W,
}

impl<W: Write> Writer<W> {
    /// Starts the stream with the magic.
    pub fn new(mut out: W) -> io::Result<Writer<W>> {
        out.write_all(MAGIC)?;
        Ok(Writer { out })
    }

    /// The `I` record.
    pub fn info(&mut self, info: &Info) -> io::Result<()> {
        let codec: Vec<u8> = info
            .codec
            .bytes()
            .filter(|b| b.is_ascii_alphanumeric() || b"_-.".contains(b))
            .take(MAX_CODEC)
            .collect();
        self.out.write_all(b"I")?;
        self.out.write_all(&info.width.to_le_bytes())?;
        self.out.write_all(&info.height.to_le_bytes())?;
        self.out.write_all(&info.rate_num.to_le_bytes())?;
        self.out.write_all(&info.rate_den.to_le_bytes())?;
        self.out.write_all(&info.duration_seconds.unwrap_or(f64::NAN).to_bits().to_le_bytes())?;
        self.out.write_all(&[codec.len() as u8])?;
        self.out.write_all(&codec)
    }

    /// An `F` record: the frame's number, then its rows of RGB24 (each `row_bytes` long).
    pub fn frame<'a>(&mut self, number: u64, rows: impl Iterator<Item = &'a [u8]>) -> io::Result<()> {
        self.out.write_all(b"F")?;
        self.out.write_all(&number.to_le_bytes())?;
        for row in rows {
            self.out.write_all(row)?;
        }
        Ok(())
    }

    /// The `R` record.
    pub fn restart(&mut self) -> io::Result<()> {
        self.out.write_all(b"R")
    }

    /// The `E` record, and a flush.
    pub fn end(&mut self, stats: &Stats) -> io::Result<()> {
        self.out.write_all(b"E")?;
        for v in [stats.frames_decoded, stats.packets_sent, stats.packets_total] {
            self.out.write_all(&v.to_le_bytes())?;
        }
        self.out.write_all(&[u8::from(stats.fast)])?;
        self.out.flush()
    }

    /// The `X` record, and a flush.
    pub fn fail(&mut self, kind: FailKind, message: &str) -> io::Result<()> {
        let mut text = message.as_bytes();
        if text.len() > MAX_MESSAGE {
            let mut cut = MAX_MESSAGE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            text = &text[..cut];
        }
        self.out.write_all(&[b'X', kind as u8])?;
        self.out.write_all(&(text.len() as u16).to_le_bytes())?;
        self.out.write_all(text)?;
        self.out.flush()
    }

    /// Flushes what is buffered.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> Info {
        Info {
            width: 2,
            height: 1,
            rate_num: 30,
            rate_den: 1,
            duration_seconds: Some(1.5),
            codec: "h264".into(),
        }
    }

    fn read_all(bytes: &[u8], max: u64) -> Result<Vec<Record>, WireError> {
        let mut r = Reader::new(bytes, max);
        let mut out = Vec::new();
        while let Some(rec) = r.next_record()? {
            out.push(rec);
        }
        Ok(out)
    }

    #[test]
    fn what_the_writer_writes_the_reader_reads() {
        let mut w = Writer::new(Vec::new()).expect("write");
        w.info(&info()).expect("write");
        w.frame(0, [&[1u8, 2, 3, 4, 5, 6][..]].into_iter()).expect("write");
        w.restart().expect("write");
        w.frame(0, [&[7u8, 8, 9][..], &[10, 11, 12][..]].into_iter()).expect("write");
        let stats = Stats { frames_decoded: 9, packets_sent: 5, packets_total: 9, fast: true };
        w.end(&stats).expect("write");
        let records = read_all(&w.out, 100).expect("reads");
        assert_eq!(records.len(), 5);
        assert_eq!(records[0], Record::Info(info()));
        assert_eq!(records[3], Record::Frame { number: 0, rgb: vec![7, 8, 9, 10, 11, 12] });
        assert_eq!(records[4], Record::End(stats));

        let mut w = Writer::new(Vec::new()).expect("write");
        w.fail(FailKind::TooLong, &"é".repeat(2000)).expect("write");
        match &read_all(&w.out, 100).expect("reads")[0] {
            Record::Fail { kind, message } => {
                assert_eq!(*kind, FailKind::TooLong);
                assert_eq!(message.chars().count(), 300);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn malformed_streams_are_refused_before_any_large_allocation() {
        let mut w = Writer::new(Vec::new()).expect("write");
        w.info(&Info { width: 100_000, height: 100_000, ..info() }).expect("write");
        assert_eq!(read_all(&w.out, 8_000_000), Err(WireError::Malformed("frames over the pixel limit")));

        let mut w = Writer::new(Vec::new()).expect("write");
        w.info(&info()).expect("write");
        w.frame(30, [&[0u8; 6][..]].into_iter()).expect("write");
        w.frame(30, [&[0u8; 6][..]].into_iter()).expect("write");
        assert_eq!(read_all(&w.out, 100), Err(WireError::Malformed("frame numbers must grow")));

        let mut cut = Writer::new(Vec::new()).expect("write");
        cut.info(&info()).expect("write");
        cut.frame(0, [&[0u8; 6][..]].into_iter()).expect("write");
        let bytes = &cut.out[..cut.out.len() - 2];
        assert!(matches!(read_all(bytes, 100), Err(WireError::Io(_))), "a frame cut short");

        assert!(read_all(b"HLVD\x02", 100).is_err(), "another version");
        assert_eq!(read_all(b"HLVD\x01F", 100), Err(WireError::Malformed("a frame before the facts")));
        assert_eq!(read_all(b"HLVD\x01Z", 100), Err(WireError::Malformed("unknown record")));
        assert_eq!(read_all(b"HLVD\x01RR", 100), Err(WireError::Malformed("more than one restart")));
        assert_eq!(
            read_all(b"HLVD\x01X\x09\x00\x00", 100),
            Err(WireError::Malformed("unknown failure kind"))
        );
    }
}
