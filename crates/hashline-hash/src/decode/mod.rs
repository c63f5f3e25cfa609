//! Decoding to the pixels the reference front end sees: Pillow's `Image.convert("RGB")`
//! (alpha dropped, palettes and CMYK converted, 16-bit samples cut to their high byte, no EXIF
//! rotation, no resize).
//!
//! JPEG goes through libjpeg-turbo and WebP through libwebp (the libraries inside Pillow, so
//! the pixels are the same bit for bit); PNG, GIF, BMP and TIFF, all lossless, through
//! pure-Rust decoders. Limits are checked on the header before the pixel buffer
//! is allocated.

mod gif;
mod jpeg;
mod other;
mod webp;

use crate::{DecodeError, ImageFormat, Limits};

pub(crate) use jpeg::JpegDecoder;

/// Decoded pixels, 8 bits per sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pixels {
    /// Interleaved R, G, B.
    Rgb(Vec<u8>),
    /// One grey sample per pixel (the reference sees R = G = B = grey).
    Grey(Vec<u8>),
}

impl Pixels {
    /// The samples and how many there are per pixel (3 for RGB, 1 for grey).
    pub fn samples(&self) -> (&[u8], usize) {
        match self {
            Pixels::Rgb(p) => (p, 3),
            Pixels::Grey(p) => (p, 1),
        }
    }
}

/// A decoded image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The pixels, row-major.
    pub pixels: Pixels,
    /// For the pictures python-threatexchange (and so HMA) reads differently from
    /// `convert("RGB")` — palette PNGs and GIFs (it hashes the palette indices as grey) and
    /// CMYK JPEGs (it hashes C, M, Y as R, G, B) — the pixels it hashes; `None` for the others.
    pub pytx: Option<Pixels>,
}

/// How much of the image to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scale {
    /// Every pixel (bit-exact PDQ).
    Full,
    /// For JPEG, the smallest DCT-domain reduction (1/2, 1/4, 1/8) whose longer side is still
    /// at least this many pixels; other formats are decoded in full.
    AtLeast(u32),
}

/// Decodes `bytes` (already sniffed as `format`) within `limits`.
pub(crate) fn decode(
    jpeg: &mut JpegDecoder,
    bytes: &[u8],
    format: ImageFormat,
    limits: &Limits,
    scale: Scale,
) -> Result<Decoded, DecodeError> {
    if bytes.len() as u64 > limits.max_input_bytes {
        return Err(DecodeError::InputTooLarge { bytes: bytes.len() as u64, limit: limits.max_input_bytes });
    }
    match format {
        ImageFormat::Jpeg => jpeg.decode(bytes, limits, scale),
        ImageFormat::Gif => gif::decode(bytes, limits),
        ImageFormat::Webp => webp::decode(bytes, limits),
        ImageFormat::Png | ImageFormat::Bmp | ImageFormat::Tiff => other::decode(bytes, format, limits),
    }
}
