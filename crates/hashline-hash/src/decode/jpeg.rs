//! JPEG through libjpeg-turbo (TurboJPEG 3 API), as Pillow decodes it: accurate integer IDCT,
//! smooth ("fancy") chroma upsampling, CMYK inverted the Adobe way and converted with Pillow's
//! integer formula.

use turbojpeg::{Colorspace, Decompressor, Image, PixelFormat, ScalingFactor};

use super::{Decoded, Pixels, Scale};
use crate::{DecodeError, Limits};

/// Progressive scans allowed before a JPEG is refused (a defence against the progressive-scan
/// CPU bomb; real encoders emit about a dozen).
const MAX_SCANS: u32 = 500;

/// A reusable libjpeg-turbo handle (creating one per image costs more than small images take
/// to decode).
#[derive(Default)]
pub(crate) struct JpegDecoder {
    handle: Option<Decompressor>,
    /// A pixel buffer kept from the previous image: reusing it spares zero-filling and page
    /// faults on every image. Buffers over [`KEEP_BYTES`] are not kept.
    spare: Vec<u8>,
    /// Width and height of the last image as stored, before any DCT-domain reduction.
    pub(crate) original_size: (u32, u32),
}

/// Largest pixel buffer a decoder keeps between images (about 21 Mpx of RGB).
const KEEP_BYTES: usize = 64 << 20;

/// libjpeg warnings after which the image is complete and Pillow accepts it too.
const BENIGN_WARNINGS: &[&str] = &[
    "extraneous bytes before marker",
    "premature end of data segment",
    "Invalid SOS parameters for sequential JPEG",
    "Inconsistent progression sequence",
    "unknown JFIF revision number",
    "Unsupported marker type",
    "Corrupt JPEG data: bad Huffman code",
    "Corrupt JPEG data: found marker",
];

fn classify(message: String) -> DecodeError {
    if message.contains("Premature end of JPEG file") {
        return DecodeError::Truncated { format: "JPEG" };
    }
    let detail = message.strip_prefix("TurboJPEG error: ").unwrap_or(&message).to_string();
    if detail.contains("Unsupported") || detail.contains("not supported") {
        return DecodeError::Unsupported { format: "JPEG", detail };
    }
    DecodeError::Corrupt { detail }
}

fn error(e: turbojpeg::Error) -> DecodeError {
    match e {
        turbojpeg::Error::TurboJpegError(m) => classify(m),
        other => DecodeError::Corrupt { detail: other.to_string() },
    }
}

impl JpegDecoder {
    fn handle(&mut self) -> Result<&mut Decompressor, DecodeError> {
        if self.handle.is_none() {
            let mut d = Decompressor::new().map_err(error)?;
            d.set_scan_limit(MAX_SCANS).map_err(error)?;
            self.handle = Some(d);
        }
        self.handle.as_mut().ok_or_else(|| DecodeError::Corrupt { detail: "no decoder".into() })
    }

    /// Gives a pixel buffer back for the next image.
    pub(crate) fn recycle(&mut self, pixels: Vec<u8>) {
        if pixels.capacity() <= KEEP_BYTES && pixels.capacity() > self.spare.capacity() {
            self.spare = pixels;
        }
    }

    pub(crate) fn decode(
        &mut self,
        bytes: &[u8],
        limits: &Limits,
        scale: Scale,
    ) -> Result<Decoded, DecodeError> {
        let d = self.handle()?;
        let header = d.read_header(bytes).map_err(error)?;
        limits.check(header.width as u64, header.height as u64)?;
        let factor = match scale {
            Scale::AtLeast(target) if !header.is_lossless => {
                let longer = header.width.max(header.height);
                [8usize, 4, 2]
                    .into_iter()
                    .map(|den| ScalingFactor::new(1, den))
                    .find(|f| f.scale(longer) >= target as usize)
                    .unwrap_or(ScalingFactor::ONE)
            }
            _ => ScalingFactor::ONE,
        };
        d.set_scaling_factor(factor).map_err(error)?;
        let (width, height) = (factor.scale(header.width), factor.scale(header.height));
        self.original_size = (header.width as u32, header.height as u32);
        let format = match header.colorspace {
            Colorspace::Gray => PixelFormat::GRAY,
            Colorspace::CMYK | Colorspace::YCCK => PixelFormat::CMYK,
            Colorspace::RGB | Colorspace::YCbCr => PixelFormat::RGB,
        };
        let mut pixels = std::mem::take(&mut self.spare);
        let needed = width * height * format.size();
        // Every byte is overwritten by the decoder, so stale contents need no clearing.
        if pixels.len() >= needed {
            pixels.truncate(needed);
        } else {
            pixels.resize(needed, 0);
        }
        let d = self.handle()?;
        let mut image = Image { pixels, width, pitch: width * format.size(), height, format };
        if let Err(e) = d.decompress(bytes, image.as_deref_mut()) {
            // TurboJPEG reports warnings as errors after finishing the image; keep the
            // pixels for the warnings Pillow also shrugs off.
            let keep = matches!(&e, turbojpeg::Error::TurboJpegError(m) if BENIGN_WARNINGS.iter().any(|w| m.contains(w)));
            if !keep {
                self.recycle(image.pixels);
                return Err(error(e));
            }
        }
        let (pixels, pytx) = match format {
            PixelFormat::GRAY => (Pixels::Grey(image.pixels), None),
            // Pillow's CMYK array (samples read inverted, the Adobe way), C, M, Y taken as R, G,
            // B: what python-threatexchange hashes.
            PixelFormat::CMYK => (
                Pixels::Rgb(cmyk_to_rgb(&image.pixels)),
                Some(Pixels::Rgb(
                    image.pixels.chunks_exact(4).flat_map(|p| [255 - p[0], 255 - p[1], 255 - p[2]]).collect(),
                )),
            ),
            _ => (Pixels::Rgb(image.pixels), None),
        };
        Ok(Decoded { width: width as u32, height: height as u32, pixels, pytx })
    }
}

/// Pillow's CMYK → RGB for JPEG: samples are read inverted (Adobe convention), then
/// `c' = (255 − k) − c·(255 − k)/255` with Pillow's rounding of the product.
fn cmyk_to_rgb(raw: &[u8]) -> Vec<u8> {
    let muldiv255 = |a: i32, b: i32| {
        let t = a * b + 128;
        ((t >> 8) + t) >> 8
    };
    let mut out = Vec::with_capacity(raw.len() / 4 * 3);
    for p in raw.chunks_exact(4) {
        let nk = i32::from(p[3]); // 255 − (255 − raw k)
        for &c in &p[..3] {
            let c = 255 - i32::from(c);
            out.push((nk - muldiv255(c, nk)).clamp(0, 255) as u8);
        }
    }
    out
}
