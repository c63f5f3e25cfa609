//! PNG, WebP, BMP and TIFF through the `image` crate's pure-Rust decoders, converted to what
//! Pillow's `convert("RGB")` gives.

use std::io::Cursor;

use image::{DynamicImage, ImageError, ImageReader};

use super::{Decoded, Pixels};
use crate::{DecodeError, ImageFormat, Limits};

fn error(format: ImageFormat, e: ImageError) -> DecodeError {
    let text = e.to_string();
    let truncated = |t: &str| {
        let t = t.to_ascii_lowercase();
        t.contains("unexpected end")
            || t.contains("unexpectedeof")
            || t.contains("end of file")
            || t.contains("failed to fill whole buffer")
    };
    match e {
        ImageError::Unsupported(u) => {
            DecodeError::Unsupported { format: format.name(), detail: u.to_string() }
        }
        ImageError::Limits(l) => DecodeError::Unsupported {
            format: format.name(),
            detail: format!("decoding would exceed the memory limit ({l})"),
        },
        _ if truncated(&text) => DecodeError::Truncated { format: format.name() },
        _ => DecodeError::Corrupt { detail: text },
    }
}

pub(crate) fn decode(bytes: &[u8], format: ImageFormat, limits: &Limits) -> Result<Decoded, DecodeError> {
    let f = match format {
        ImageFormat::Png => image::ImageFormat::Png,
        ImageFormat::Webp => image::ImageFormat::WebP,
        ImageFormat::Bmp => image::ImageFormat::Bmp,
        ImageFormat::Tiff => image::ImageFormat::Tiff,
        ImageFormat::Jpeg | ImageFormat::Gif => {
            return Err(DecodeError::Unsupported { format: format.name(), detail: "wrong decoder".into() })
        }
    };
    let mut il = image::Limits::default();
    il.max_image_width = Some(limits.max_side);
    il.max_image_height = Some(limits.max_side);
    il.max_alloc = Some(limits.max_alloc());

    // The header alone first: a bomb is refused before a pixel buffer exists.
    let mut reader = ImageReader::with_format(Cursor::new(bytes), f);
    reader.limits(il.clone());
    let (w, h) = reader.into_dimensions().map_err(|e| error(format, e))?;
    limits.check(u64::from(w), u64::from(h))?;

    let mut reader = ImageReader::with_format(Cursor::new(bytes), f);
    reader.limits(il);
    let image = reader.decode().map_err(|e| error(format, e))?;
    let mut decoded = to_pillow_rgb(image);
    if format == ImageFormat::Png {
        decoded.pytx = palette_indices(bytes, limits).map(Pixels::Grey);
    }
    Ok(decoded)
}

/// The palette indices of a palette PNG (colour type 3), one byte per pixel: what Pillow's
/// mode "P" array holds and python-threatexchange hashes as grey. `None` for other PNGs (and
/// for any PNG the `png` decoder refuses; the picture was already decoded once).
fn palette_indices(bytes: &[u8], limits: &Limits) -> Option<Vec<u8>> {
    // IHDR is the first chunk: colour type at byte 25 of the file.
    if bytes.get(25) != Some(&3) {
        return None;
    }
    let mut decoder = png::Decoder::new_with_limits(
        Cursor::new(bytes),
        png::Limits { bytes: usize::try_from(limits.max_alloc()).unwrap_or(usize::MAX) },
    );
    decoder.set_transformations(png::Transformations::IDENTITY);
    let mut reader = decoder.read_info().ok()?;
    let (w, h, depth) = {
        let info = reader.info();
        (info.width as usize, info.height as usize, info.bit_depth as u8)
    };
    let mut buf = vec![0; reader.output_buffer_size()?];
    let frame = reader.next_frame(&mut buf).ok()?;
    let per_byte = 8 / usize::from(depth.clamp(1, 8));
    let mut out = Vec::with_capacity(w * h);
    for row in buf[..frame.buffer_size()].chunks(frame.line_size).take(h) {
        for x in 0..w {
            let (byte, slot) = (row.get(x / per_byte).copied().unwrap_or(0), x % per_byte);
            let shift = 8 - usize::from(depth) * (slot + 1);
            out.push((byte >> shift) & ((1u16 << depth) - 1) as u8);
        }
    }
    Some(out)
}

/// Pillow's `convert("RGB")` of each sample layout.
fn to_pillow_rgb(image: DynamicImage) -> Decoded {
    let (width, height) = (image.width(), image.height());
    let pixels = match image {
        DynamicImage::ImageLuma8(i) => Pixels::Grey(i.into_raw()),
        DynamicImage::ImageLumaA8(i) => Pixels::Grey(i.into_raw().chunks_exact(2).map(|p| p[0]).collect()),
        DynamicImage::ImageRgb8(i) => Pixels::Rgb(i.into_raw()),
        DynamicImage::ImageRgba8(i) => {
            Pixels::Rgb(i.into_raw().chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect())
        }
        // Pillow opens 16-bit grey as "I;16" and converts it to 8 bits by clipping at 255.
        DynamicImage::ImageLuma16(i) => {
            Pixels::Grey(i.into_raw().iter().map(|&v| v.min(255) as u8).collect())
        }
        // 16-bit grey+alpha and colour are unpacked to 8 bits by keeping the high byte.
        DynamicImage::ImageLumaA16(i) => {
            Pixels::Grey(i.into_raw().chunks_exact(2).map(|p| (p[0] >> 8) as u8).collect())
        }
        DynamicImage::ImageRgb16(i) => Pixels::Rgb(i.into_raw().iter().map(|&v| (v >> 8) as u8).collect()),
        DynamicImage::ImageRgba16(i) => Pixels::Rgb(
            i.into_raw()
                .chunks_exact(4)
                .flat_map(|p| [(p[0] >> 8) as u8, (p[1] >> 8) as u8, (p[2] >> 8) as u8])
                .collect(),
        ),
        other => Pixels::Rgb(other.to_rgb8().into_raw()),
    };
    Decoded { width, height, pixels, pytx: None }
}
