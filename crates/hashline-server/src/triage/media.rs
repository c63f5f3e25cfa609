//! Pictures of a case for the analyst, made on the server from the preserved evidence, so the
//! browser never receives more than the analyst chose to see:
//!
//! - the preview is greyscale and reduced to 12 pixels on its longer side before being scaled
//!   back up — a blur no CSS override can undo, because the detail never leaves the server;
//! - the revealed picture is greyscale unless colour is asked for, at most 1024 pixels on its
//!   longer side, re-encoded as PNG (no metadata of the upload passes through).

use hashline_hash::{Decoded, Pixels};
use image::imageops::FilterType;
use image::{DynamicImage, GrayImage, RgbImage};

/// Longer side of the preview's information (pixels).
pub const PREVIEW_DETAIL: u32 = 12;
/// Longer side of the preview as shown (pixels).
pub const PREVIEW_SIZE: u32 = 320;
/// Longer side of a revealed picture (pixels).
pub const REVEAL_MAX: u32 = 1024;

fn image(d: &Decoded) -> Option<DynamicImage> {
    Some(match &d.pixels {
        Pixels::Rgb(p) => DynamicImage::ImageRgb8(RgbImage::from_raw(d.width, d.height, p.clone())?),
        Pixels::Grey(p) => DynamicImage::ImageLuma8(GrayImage::from_raw(d.width, d.height, p.clone())?),
    })
}

fn fit(w: u32, h: u32, side: u32) -> (u32, u32) {
    let long = w.max(h).max(1);
    if long <= side {
        return (w.max(1), h.max(1));
    }
    let scale = |x: u32| ((u64::from(x) * u64::from(side) / u64::from(long)) as u32).max(1);
    (scale(w), scale(h))
}

fn png(img: &DynamicImage) -> Option<Vec<u8>> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).ok()?;
    Some(out.into_inner())
}

/// The blurred greyscale preview as PNG (`None` if the pixels do not form an image).
pub fn preview(d: &Decoded) -> Option<Vec<u8>> {
    let grey = image(d)?.grayscale();
    let (w, h) = fit(d.width, d.height, PREVIEW_DETAIL);
    let tiny = grey.resize_exact(w, h, FilterType::Triangle);
    let (w, h) = fit(d.width, d.height, PREVIEW_SIZE);
    png(&tiny.resize_exact(w, h, FilterType::Triangle))
}

/// The revealed picture as PNG, greyscale unless `colour`.
pub fn revealed(d: &Decoded, colour: bool) -> Option<Vec<u8>> {
    let img = image(d)?;
    let img = if colour { img } else { img.grayscale() };
    let (w, h) = fit(d.width, d.height, REVEAL_MAX);
    let img = if (w, h) == (d.width, d.height) { img } else { img.resize_exact(w, h, FilterType::Triangle) };
    png(&img)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stripes(w: u32, h: u32) -> Decoded {
        let mut p = Vec::with_capacity((w * h * 3) as usize);
        for _y in 0..h {
            for x in 0..w {
                let v = if (x / 2) % 2 == 0 { 255 } else { 0 };
                p.extend_from_slice(&[v, 0, 255 - v]);
            }
        }
        Decoded { width: w, height: h, pixels: Pixels::Rgb(p), pytx: None }
    }

    fn decode(png: &[u8]) -> DynamicImage {
        image::load_from_memory_with_format(png, image::ImageFormat::Png).unwrap()
    }

    #[test]
    fn preview_is_grey_small_in_detail_and_blurred() {
        let d = stripes(400, 200);
        let p = decode(&preview(&d).unwrap());
        assert_eq!((p.width(), p.height()), (320, 160));
        assert!(matches!(p, DynamicImage::ImageLuma8(_)), "greyscale");
        // 2-pixel stripes cannot survive 12 pixels of detail: the preview is nearly flat.
        let g = p.to_luma8();
        let (lo, hi) = g.pixels().fold((255u8, 0u8), |(lo, hi), px| (lo.min(px[0]), hi.max(px[0])));
        assert!(hi - lo < 40, "contrast {lo}..{hi} left in the preview");
    }

    #[test]
    fn revealed_keeps_detail_greyscale_by_default() {
        let d = stripes(40, 20);
        let g = decode(&revealed(&d, false).unwrap());
        assert!(matches!(g, DynamicImage::ImageLuma8(_)));
        let g = g.to_luma8();
        assert_ne!(g.get_pixel(0, 0)[0], g.get_pixel(2, 0)[0], "stripes visible once revealed");
        let c = decode(&revealed(&d, true).unwrap());
        assert!(matches!(c, DynamicImage::ImageRgb8(_)));
        let big = decode(&revealed(&stripes(3000, 1500), false).unwrap());
        assert_eq!((big.width(), big.height()), (1024, 512));
        assert!(preview(&Decoded { width: 10, height: 10, pixels: Pixels::Grey(vec![0; 3]), pytx: None })
            .is_none());
    }
}
