//! WebP through libwebp, the library inside Pillow: the same pixels, and several times faster
//! than the pure-Rust decoder on lossless images. Animated WebP (first frame) goes through the
//! pure-Rust decoder, which composes frames.

use super::{other, Decoded, Pixels};
use crate::{DecodeError, ImageFormat, Limits};

pub(crate) fn decode(bytes: &[u8], limits: &Limits) -> Result<Decoded, DecodeError> {
    let features = webp::BitstreamFeatures::new(bytes)
        .ok_or_else(|| DecodeError::Corrupt { detail: "the WebP header is damaged or incomplete".into() })?;
    limits.check(u64::from(features.width()), u64::from(features.height()))?;
    if features.has_animation() {
        return other::decode(bytes, ImageFormat::Webp, limits);
    }
    let image = webp::Decoder::new(bytes).decode().ok_or_else(|| DecodeError::Corrupt {
        detail: "libwebp could not decode the WebP data (damaged or truncated)".into(),
    })?;
    let (width, height) = (image.width(), image.height());
    let data: &[u8] = &image;
    let rgb = if image.is_alpha() {
        data.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect()
    } else {
        data.to_vec()
    };
    Ok(Decoded { width, height, pixels: Pixels::Rgb(rgb), pytx: None })
}
