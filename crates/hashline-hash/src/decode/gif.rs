//! GIF, first frame, as Pillow shows it: palette indices on the logical screen (outside the
//! frame: the transparent index if there is one, else index 0), then the palette.

use std::io::Cursor;

use super::{Decoded, Pixels};
use crate::{DecodeError, Limits};

fn error(e: gif::DecodingError) -> DecodeError {
    let text = e.to_string();
    let lower = text.to_ascii_lowercase();
    if lower.contains("unexpected") || lower.contains("eof") || lower.contains("end of") {
        DecodeError::Truncated { format: "GIF" }
    } else {
        DecodeError::Corrupt { detail: text }
    }
}

pub(crate) fn decode(bytes: &[u8], limits: &Limits) -> Result<Decoded, DecodeError> {
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::Indexed);
    options.set_memory_limit(gif::MemoryLimit::Bytes(
        std::num::NonZeroU64::new(limits.max_alloc().max(1)).unwrap_or(std::num::NonZeroU64::MIN),
    ));
    let mut decoder = options.read_info(Cursor::new(bytes)).map_err(error)?;
    let (sw, sh) = (usize::from(decoder.width()), usize::from(decoder.height()));
    limits.check(sw as u64, sh as u64)?;
    let global = decoder.global_palette().map(<[u8]>::to_vec);
    let frame = decoder
        .read_next_frame()
        .map_err(error)?
        .ok_or(DecodeError::Corrupt { detail: "the GIF holds no image".into() })?;
    let palette = frame.palette.clone().or(global);
    let fill = frame.transparent.unwrap_or(0);
    let mut indices = vec![fill; sw * sh];
    let (fl, ft, fw, fh) = (
        usize::from(frame.left),
        usize::from(frame.top),
        usize::from(frame.width),
        usize::from(frame.height),
    );
    for y in 0..fh {
        let sy = ft + y;
        if sy >= sh {
            break;
        }
        let src = &frame.buffer[y * fw..(y + 1) * fw];
        for (x, &idx) in src.iter().enumerate() {
            let sx = fl + x;
            if sx < sw {
                indices[sy * sw + sx] = idx;
            }
        }
    }
    // Pillow opens a GIF with a palette in mode "P": python-threatexchange hashes the indices,
    // so they are kept (moved, not copied) beside the RGB picture.
    let (pixels, pytx) = match palette {
        Some(p) => {
            let rgb = indices
                .iter()
                .flat_map(|&i| {
                    let k = usize::from(i) * 3;
                    [
                        p.get(k).copied().unwrap_or(0),
                        p.get(k + 1).copied().unwrap_or(0),
                        p.get(k + 2).copied().unwrap_or(0),
                    ]
                })
                .collect();
            (Pixels::Rgb(rgb), Some(Pixels::Grey(indices)))
        }
        None => (Pixels::Grey(indices), None),
    };
    Ok(Decoded { width: sw as u32, height: sh as u32, pixels, pytx })
}
