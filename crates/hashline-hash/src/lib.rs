//! Hashing core of hashline: decode with hard limits, bit-exact PDQ (with its eight dihedral
//! variants) and MD5/SHA-1/SHA-256 in one pass.
//!
//! Pure CPU: no async, no I/O beyond the bytes it is given. The main types:
//!
//! * [`Hasher`] — hashes one file's bytes into [`FileHashes`]; keep one per thread, it reuses
//!   its buffers and its libjpeg-turbo handle.
//! * [`HashOptions`] — [`Mode`] (`exact` or `fast`), dihedral on/off, and [`Limits`].
//! * [`PdqHash`] — a 256-bit PDQ value with the reference's hex form and Hamming distance.
//! * [`Digests`] / [`DigestHasher`] — the three digests, from a buffer or a stream.
//! * [`sniff`] — what the bytes are, from their magic numbers.
//!
//! `exact` mode reproduces the reference PDQ (ThreatExchange C++, as `pdqhash` and
//! Hasher-Matcher-Actioner run it on Pillow-decoded pixels) bit for bit. `fast` mode decodes
//! JPEGs at a reduced size in the DCT domain first; it is a few bits away from `exact`.
//!
//! ```
//! use hashline_hash::{HashOptions, Hasher, PdqOutcome};
//!
//! let mut hasher = Hasher::new(HashOptions::default());
//!
//! // Anything gets its digests; what is not an image is skipped for PDQ, not an error.
//! let text = hasher.hash(b"hello");
//! assert_eq!(text.digests.md5_hex(), "5d41402abc4b2a76b9719d911017c592");
//! assert!(matches!(text.pdq, PdqOutcome::Skipped(reason) if reason == "not an image: text"));
//!
//! // An image gets a PDQ hash and quality.
//! let (w, h) = (64u32, 48u32);
//! let rgb: Vec<u8> = (0..w * h).flat_map(|i| {
//!     let (x, y) = (i % w, i / w);
//!     [(x * 4) as u8, (y * 5) as u8, ((x ^ y) * 3) as u8]
//! }).collect();
//! let pdq = hashline_hash::pdq_from_rgb(&rgb, w, h, true);
//! assert_eq!(pdq.hash.to_hex().len(), 64);
//! assert_eq!(pdq.dihedral.unwrap()[0], pdq.hash);
//! ```

#![deny(missing_docs)]

mod decode;
mod digest;
mod error;
mod limits;
mod pdq;
mod sniff;
pub mod trim;
pub mod vpdq;

pub use decode::{Decoded, Pixels};
pub use digest::{digests, hex, DigestHasher, Digests};
pub use error::DecodeError;
pub use limits::Limits;
pub use pdq::{
    luma_from_grey, luma_from_rgb, pdq_from_luma, Dihedral, Pdq, PdqHash, PdqParseError, Scratch,
    MIN_HASHABLE_SIDE,
};
pub use sniff::{is_video, sniff, ImageFormat, Sniffed, SNIFF_LEN};
pub use trim::{TrimBox, TrimRules};

use decode::{JpegDecoder, Scale};

/// How PDQ is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Every pixel decoded; bit-identical to the reference on the same pixels.
    #[default]
    Exact,
    /// JPEGs decoded at 1/2, 1/4 or 1/8 size in the DCT domain (longer side kept at least
    /// [`FAST_MODE_TARGET`] pixels); other formats in full. A few bits from `exact`.
    Fast,
}

impl Mode {
    /// `"exact"` or `"fast"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Exact => "exact",
            Mode::Fast => "fast",
        }
    }
}

/// In `fast` mode, a JPEG's longer side is reduced to no less than this.
pub const FAST_MODE_TARGET: u32 = 512;

/// What to compute for each file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HashOptions {
    /// Exact or fast PDQ.
    pub mode: Mode,
    /// Also compute the eight dihedral PDQ hashes.
    pub dihedral: bool,
    /// Also hash the picture inside near-uniform borders (letterbox and pillarbox bars, frames,
    /// padding), when there are any ([`trim`]).
    pub trim_borders: bool,
    /// Decoding limits.
    pub limits: Limits,
}

/// The PDQ side of a file's hashes.
// `Hashed` carries the eight dihedral hashes inline (256 bytes); one value per file, so an
// allocation per file would cost more than the size difference.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PdqOutcome {
    /// The image was decoded and hashed.
    Hashed {
        /// The hash, quality and (if asked) dihedral hashes.
        pdq: Pdq,
        /// Decoded width (in `fast` mode, of the original image).
        width: u32,
        /// Decoded height (in `fast` mode, of the original image).
        height: u32,
        /// The format the bytes were sniffed as.
        format: ImageFormat,
        /// With [`HashOptions::trim_borders`]: the PDQ of the picture inside its borders, when
        /// it has borders worth trimming (up to two candidate boxes, best guess first).
        trimmed: Vec<Trimmed>,
        /// For a picture python-threatexchange (and so HMA) reads differently from
        /// `convert("RGB")` (palette PNGs and GIFs, CMYK JPEGs): the PDQ it computes, so that
        /// lists HMA built from such pictures still match (the `pytx_conversion` variant).
        pytx: Option<Pdq>,
    },
    /// Not an image hashline decodes (video, document, text, empty …): not an error.
    Skipped(&'static str),
    /// An image that could not be decoded or broke a limit.
    Failed {
        /// The format the bytes were sniffed as.
        format: ImageFormat,
        /// Why.
        error: DecodeError,
    },
}

/// The PDQ of the picture inside an image's borders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trimmed {
    /// Its hash, quality and (if asked) dihedral hashes.
    pub pdq: Pdq,
    /// What was kept, in the image's pixels (of the original size in `fast` mode).
    pub bbox: TrimBox,
}

/// Everything hashline computes for one file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileHashes {
    /// Size of the input in bytes.
    pub bytes: u64,
    /// MD5, SHA-1 and SHA-256 of the bytes.
    pub digests: Digests,
    /// PDQ, or why there is none.
    pub pdq: PdqOutcome,
    /// For a video: its vPDQ, or why there is none (`None`: not a video, or videos are not
    /// hashed here). Filled by the engine with `hashline-video`, which decodes out of process.
    pub video: Option<VideoOutcome>,
}

/// The vPDQ side of a video's hashes.
#[derive(Debug, Clone, PartialEq)]
pub enum VideoOutcome {
    /// Decoded and hashed.
    Hashed(Box<vpdq::VideoHashes>),
    /// Not hashed: a limit, a broken or hostile file, a decoder failure.
    Failed {
        /// A short fixed name (`too_large`, `timed_out`, `crashed`, …) for metrics.
        kind: &'static str,
        /// The sentence saying why.
        reason: String,
    },
}

/// Hashes files. Not `Sync`: keep one per worker thread.
pub struct Hasher {
    options: HashOptions,
    jpeg: JpegDecoder,
    scratch: Scratch,
}

impl Hasher {
    /// A hasher with these options.
    pub fn new(options: HashOptions) -> Self {
        Hasher { options, jpeg: JpegDecoder::default(), scratch: Scratch::default() }
    }

    /// The options in force.
    pub fn options(&self) -> &HashOptions {
        &self.options
    }
}

/// The width and height an image's header claims, read without decoding any pixel, for a
/// caller that must budget memory before decoding; `None` when it is not an image or the
/// header does not say. Every decoder checks its limits from the header before allocating;
/// with a pixel limit of one that check stops each of them right there, naming the size (a
/// 1 × 1 image passes and is decoded: one pixel).
pub fn claimed_dimensions(bytes: &[u8]) -> Option<(u64, u64)> {
    let probe =
        HashOptions { limits: Limits { max_pixels: 1, ..Limits::default() }, ..HashOptions::default() };
    match Hasher::new(probe).decode(bytes) {
        Err(
            DecodeError::TooManyPixels { width, height, .. } | DecodeError::SideTooLong { width, height, .. },
        ) => Some((width, height)),
        Ok(d) => Some((u64::from(d.width), u64::from(d.height))),
        Err(_) => None,
    }
}

/// Bytes decoding and hashing a `width` × `height` image may need at its peak, at most: 14 per
/// pixel — 16-bit RGBA at worst before conversion (8); for a CMYK JPEG the raw samples (4),
/// the RGB picture (3) and the pixels python-threatexchange hashes (3), plus the decoder's
/// working memory (measured: a 25-Mpx CMYK JPEG peaks at 306 MB resident, 12.3 bytes per
/// pixel); for a palette PNG the RGB picture and the indices. Trimmed regions are hashed in
/// place.
pub fn decode_memory_estimate(width: u64, height: u64) -> u64 {
    width.saturating_mul(height).saturating_mul(14)
}

impl Hasher {
    /// Digests and PDQ of one file's bytes.
    pub fn hash(&mut self, bytes: &[u8]) -> FileHashes {
        let digests = digests(bytes);
        let pdq = self.pdq(bytes);
        FileHashes { bytes: bytes.len() as u64, digests, pdq, video: None }
    }

    /// PDQ of one file's bytes (no digests).
    pub fn pdq(&mut self, bytes: &[u8]) -> PdqOutcome {
        let format = match sniff(&bytes[..bytes.len().min(SNIFF_LEN)]) {
            Sniffed::Image(f) => f,
            Sniffed::Other(what) => return PdqOutcome::Skipped(what),
        };
        let scale = match self.options.mode {
            Mode::Exact => Scale::Full,
            Mode::Fast => Scale::AtLeast(FAST_MODE_TARGET),
        };
        match self.decode_scaled(bytes, format, scale) {
            Ok((decoded, width, height)) => {
                let pdq = self.pdq_of_decoded(&decoded);
                let trimmed = if self.options.trim_borders {
                    self.trimmed(&decoded, width, height)
                } else {
                    Vec::new()
                };
                // Hashed in place, like the picture inside the borders.
                let pytx = decoded.pytx.as_ref().map(|p| {
                    let (px, channels) = p.samples();
                    let (w, h) = (decoded.width as usize, decoded.height as usize);
                    pdq::pdq_from_region(
                        px,
                        channels,
                        w,
                        (0, 0, w, h),
                        self.options.dihedral,
                        &mut self.scratch,
                    )
                });
                let (Pixels::Rgb(buffer) | Pixels::Grey(buffer)) = decoded.pixels;
                self.jpeg.recycle(buffer);
                PdqOutcome::Hashed { pdq, width, height, format, trimmed, pytx }
            }
            Err(error) => PdqOutcome::Failed { format, error },
        }
    }

    /// Decodes to the pixels the reference would hash (exact mode), within the limits.
    pub fn decode(&mut self, bytes: &[u8]) -> Result<Decoded, DecodeError> {
        let format = match sniff(&bytes[..bytes.len().min(SNIFF_LEN)]) {
            Sniffed::Image(f) => f,
            Sniffed::Other(what) => {
                return Err(DecodeError::Unsupported { format: "input", detail: what.to_string() })
            }
        };
        decode::decode(&mut self.jpeg, bytes, format, &self.options.limits, Scale::Full)
    }

    fn decode_scaled(
        &mut self,
        bytes: &[u8],
        format: ImageFormat,
        scale: Scale,
    ) -> Result<(Decoded, u32, u32), DecodeError> {
        let decoded = decode::decode(&mut self.jpeg, bytes, format, &self.options.limits, scale)?;
        let (w, h) = match (scale, format) {
            (Scale::AtLeast(_), ImageFormat::Jpeg) => self.jpeg.original_size,
            _ => (decoded.width, decoded.height),
        };
        Ok((decoded, w, h))
    }

    /// The PDQ of the picture inside `decoded`'s borders, for each candidate box (none when it
    /// has no borders); boxes scaled to the original `width` × `height` (which differ from the
    /// decoded size in `fast` mode).
    pub fn trimmed(&mut self, decoded: &Decoded, width: u32, height: u32) -> Vec<Trimmed> {
        let (px, channels) = decoded.pixels.samples();
        let boxes = trim::border_boxes(px, channels, decoded.width, decoded.height, &TrimRules::default());
        let scale =
            |v: u32, full: u32, part: u32| (u64::from(v) * u64::from(full) / u64::from(part.max(1))) as u32;
        let dihedral = self.options.dihedral;
        boxes
            .into_iter()
            .map(|b| {
                // The region is read in place: no copy of the picture inside.
                let region = (b.x as usize, b.y as usize, b.width as usize, b.height as usize);
                let pdq = pdq::pdq_from_region(
                    px,
                    channels,
                    decoded.width as usize,
                    region,
                    dihedral,
                    &mut self.scratch,
                );
                let bbox = TrimBox {
                    x: scale(b.x, width, decoded.width),
                    y: scale(b.y, height, decoded.height),
                    width: scale(b.width, width, decoded.width),
                    height: scale(b.height, height, decoded.height),
                };
                Trimmed { pdq, bbox }
            })
            .collect()
    }

    /// PDQ of interleaved 8-bit RGB pixels (`width` × `height`) with this hasher's buffers: a
    /// video frame, as the reference hashes it.
    ///
    /// # Panics
    /// If `rgb` is shorter than `3 × width × height`.
    pub fn pdq_of_rgb(&mut self, rgb: &[u8], width: u32, height: u32) -> Pdq {
        let (w, h) = (width as usize, height as usize);
        pdq::pdq_from_region(rgb, 3, w, (0, 0, w, h), self.options.dihedral, &mut self.scratch)
    }

    /// PDQ of decoded pixels.
    pub fn pdq_of_decoded(&mut self, decoded: &Decoded) -> Pdq {
        let (rows, cols, dihedral) = (decoded.height as usize, decoded.width as usize, self.options.dihedral);
        match &decoded.pixels {
            Pixels::Rgb(rgb) => pdq::pdq_from_rgb_rows(rgb, rows, cols, dihedral, &mut self.scratch),
            Pixels::Grey(g) => pdq::pdq_from_grey_rows(g, rows, cols, dihedral, &mut self.scratch),
        }
    }
}

/// The PDQ steps one by one, for benchmarks and conformance tools. Not a stable API.
#[doc(hidden)]
pub mod stages {
    pub use crate::pdq::stages::*;
}

/// PDQ of interleaved 8-bit RGB pixels (`width` × `height`), as the reference computes it.
///
/// # Panics
/// If `rgb` is not `3 × width × height` bytes long.
pub fn pdq_from_rgb(rgb: &[u8], width: u32, height: u32, dihedral: bool) -> Pdq {
    assert_eq!(rgb.len(), 3 * width as usize * height as usize, "rgb must hold 3 bytes per pixel");
    pdq::pdq_from_rgb_rows(rgb, height as usize, width as usize, dihedral, &mut Scratch::default())
}
