//! PDQ, computed exactly as the reference implementation computes it.
//!
//! Steps: float luma → two Jarosz box-filter passes → 64×64 decimation → quality metric →
//! 16×16 DCT → threshold at the median. Each step lives in its own module and is tested
//! against a plain transcription of the reference algorithm.

mod dct;
mod hash;
mod jarosz;

pub use hash::{PdqHash, PdqParseError};
pub use jarosz::Scratch;
use jarosz::{LumaRows, RowSource};

/// Images with a side shorter than this get the zero hash and quality 0, as in the reference.
pub const MIN_HASHABLE_SIDE: usize = 5;

/// The eight dihedral transforms, in the reference's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dihedral {
    /// The image as it is.
    Original,
    /// Rotated 90°.
    Rotate90,
    /// Rotated 180°.
    Rotate180,
    /// Rotated 270°.
    Rotate270,
    /// Mirrored top to bottom.
    FlipX,
    /// Mirrored left to right.
    FlipY,
    /// Transposed (mirrored about the main diagonal).
    FlipPlus1,
    /// Mirrored about the anti-diagonal.
    FlipMinus1,
}

impl Dihedral {
    /// All eight, in the reference order.
    pub const ALL: [Dihedral; 8] = [
        Dihedral::Original,
        Dihedral::Rotate90,
        Dihedral::Rotate180,
        Dihedral::Rotate270,
        Dihedral::FlipX,
        Dihedral::FlipY,
        Dihedral::FlipPlus1,
        Dihedral::FlipMinus1,
    ];

    /// The name used in JSON and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Dihedral::Original => "original",
            Dihedral::Rotate90 => "rotate90",
            Dihedral::Rotate180 => "rotate180",
            Dihedral::Rotate270 => "rotate270",
            Dihedral::FlipX => "flip_x",
            Dihedral::FlipY => "flip_y",
            Dihedral::FlipPlus1 => "flip_plus1",
            Dihedral::FlipMinus1 => "flip_minus1",
        }
    }
}

/// A PDQ hash with its quality (0–100; the reference treats < 50 as too featureless to trust).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pdq {
    /// The hash.
    pub hash: PdqHash,
    /// The reference quality metric, 0–100.
    pub quality: u8,
    /// The hashes of the eight dihedral variants (index 0 is `hash`), when asked for.
    pub dihedral: Option<[PdqHash; 8]>,
}

/// Luma as the reference front end (numpy) computes it: `R·0.299 + G·0.587 + B·0.114`, each
/// product and the sums in `f64`, left to right, then rounded once to `f32`.
#[inline(always)]
fn luma_of(r: u8, g: u8, b: u8) -> f32 {
    ((f64::from(r) * 0.299 + f64::from(g) * 0.587) + f64::from(b) * 0.114) as f32
}

/// Fills `out` with the luma of interleaved 8-bit RGB pixels.
pub fn luma_from_rgb(rgb: &[u8], out: &mut Vec<f32>) {
    out.clear();
    out.reserve(rgb.len() / 3);
    out.extend(rgb.chunks_exact(3).map(|p| luma_of(p[0], p[1], p[2])));
}

/// Fills `out` with the luma of 8-bit grey pixels (what the reference sees after `L → RGB`).
pub fn luma_from_grey(grey: &[u8], out: &mut Vec<f32>) {
    out.clear();
    out.extend(grey.iter().map(|&v| luma_of(v, v, v)));
}

/// Rows of interleaved RGB, turned into luma as they are pulled.
struct RgbRows<'a> {
    rgb: &'a [u8],
    cols: usize,
    /// Pixels per row of the buffer (`cols`, or more for a region of a larger picture).
    stride: usize,
    /// The region's first pixel in the buffer.
    start: usize,
}

impl<'a> RgbRows<'a> {
    fn whole(rgb: &'a [u8], cols: usize) -> Self {
        RgbRows { rgb, cols, stride: cols, start: 0 }
    }
}

impl RowSource for RgbRows<'_> {
    #[inline(always)]
    fn fill(&self, r: usize, out: &mut [f32]) {
        let at = (self.start + r * self.stride) * 3;
        let row = &self.rgb[at..at + self.cols * 3];
        for (o, p) in out.iter_mut().zip(row.chunks_exact(3)) {
            *o = luma_of(p[0], p[1], p[2]);
        }
    }
}

/// Rows of grey samples, turned into luma as they are pulled.
struct GreyRows<'a> {
    grey: &'a [u8],
    cols: usize,
    /// Pixels per row of the buffer.
    stride: usize,
    /// The region's first pixel in the buffer.
    start: usize,
}

impl RowSource for GreyRows<'_> {
    #[inline(always)]
    fn fill(&self, r: usize, out: &mut [f32]) {
        let at = self.start + r * self.stride;
        for (o, &v) in out.iter_mut().zip(&self.grey[at..at + self.cols]) {
            *o = luma_of(v, v, v);
        }
    }
}

/// The reference quality metric over the 64×64 downsample: the sum of quantised gradients.
fn quality(a: &[[f32; 64]; 64]) -> u8 {
    let step = |u: f32, v: f32| (((u - v) * 100.0) / 255.0) as i32;
    let mut sum: i64 = 0;
    for i in 0..63 {
        for j in 0..64 {
            sum += i64::from(step(a[i][j], a[i + 1][j]).unsigned_abs());
        }
    }
    for row in a {
        for j in 0..63 {
            sum += i64::from(step(row[j], row[j + 1]).unsigned_abs());
        }
    }
    (sum / 90).min(100) as u8
}

/// The 128th smallest of the 256 coefficients: the value the reference's Torben median returns.
fn median(b: &[[f32; 16]; 16]) -> f32 {
    let mut v: Vec<f32> = b.iter().flatten().copied().collect();
    let (_, m, _) = v.select_nth_unstable_by(127, f32::total_cmp);
    *m
}

/// One bit per coefficient: set where it is above the median.
fn bits(b: &[[f32; 16]; 16]) -> PdqHash {
    let m = median(b);
    let mut h = PdqHash::ZERO;
    for (i, row) in b.iter().enumerate() {
        for (j, &x) in row.iter().enumerate() {
            if x > m {
                h.set_bit(i * 16 + j);
            }
        }
    }
    h
}

/// The DCT coefficients of a dihedral variant, from the original's: sign flips of odd
/// frequencies, and a transpose for the variants that swap the axes.
fn transform(a: &[[f32; 16]; 16], d: Dihedral) -> [[f32; 16]; 16] {
    let mut b = [[0f32; 16]; 16];
    for i in 0..16 {
        for j in 0..16 {
            let x = a[i][j];
            let (odd_i, odd_j, odd_sum) = (i & 1 == 1, j & 1 == 1, (i + j) & 1 == 1);
            match d {
                Dihedral::Original => b[i][j] = x,
                Dihedral::Rotate90 => b[j][i] = if odd_j { x } else { -x },
                Dihedral::Rotate180 => b[i][j] = if odd_sum { -x } else { x },
                Dihedral::Rotate270 => b[j][i] = if odd_i { x } else { -x },
                Dihedral::FlipX => b[i][j] = if odd_i { x } else { -x },
                Dihedral::FlipY => b[i][j] = if odd_j { x } else { -x },
                Dihedral::FlipPlus1 => b[j][i] = x,
                Dihedral::FlipMinus1 => b[j][i] = if odd_sum { -x } else { x },
            }
        }
    }
    b
}

/// PDQ of the luma in `scratch.luma` (`rows` × `cols`, row-major; see
/// [`Scratch::luma_mut`]).
pub fn pdq_from_luma(scratch: &mut Scratch, rows: usize, cols: usize, dihedral: bool) -> Pdq {
    let luma = std::mem::take(&mut scratch.luma);
    assert_eq!(luma.len(), rows * cols, "the luma buffer must hold rows × cols floats");
    let pdq = pdq_from_rows(&LumaRows { luma: &luma, cols }, rows, cols, dihedral, scratch);
    scratch.luma = luma;
    pdq
}

/// PDQ of interleaved RGB (`3 × rows × cols` bytes), luma computed on the fly.
pub(crate) fn pdq_from_rgb_rows(
    rgb: &[u8],
    rows: usize,
    cols: usize,
    dihedral: bool,
    scratch: &mut Scratch,
) -> Pdq {
    pdq_from_rows(&RgbRows::whole(rgb, cols), rows, cols, dihedral, scratch)
}

/// PDQ of grey samples (`rows × cols` bytes), luma computed on the fly.
pub(crate) fn pdq_from_grey_rows(
    grey: &[u8],
    rows: usize,
    cols: usize,
    dihedral: bool,
    scratch: &mut Scratch,
) -> Pdq {
    pdq_from_rows(&GreyRows { grey, cols, stride: cols, start: 0 }, rows, cols, dihedral, scratch)
}

/// PDQ of the `cols` × `rows` region at pixel (`x`, `y`) of a picture `stride` pixels wide,
/// interleaved RGB (`channels` 3) or grey (1), read in place (no copy of the region).
pub(crate) fn pdq_from_region(
    px: &[u8],
    channels: usize,
    stride: usize,
    (x, y, cols, rows): (usize, usize, usize, usize),
    dihedral: bool,
    scratch: &mut Scratch,
) -> Pdq {
    let start = y * stride + x;
    if channels == 3 {
        pdq_from_rows(&RgbRows { rgb: px, cols, stride, start }, rows, cols, dihedral, scratch)
    } else {
        pdq_from_rows(&GreyRows { grey: px, cols, stride, start }, rows, cols, dihedral, scratch)
    }
}

fn pdq_from_rows<S: RowSource>(
    src: &S,
    rows: usize,
    cols: usize,
    dihedral: bool,
    scratch: &mut Scratch,
) -> Pdq {
    if rows < MIN_HASHABLE_SIDE || cols < MIN_HASHABLE_SIDE {
        return Pdq { hash: PdqHash::ZERO, quality: 0, dihedral: dihedral.then_some([PdqHash::ZERO; 8]) };
    }
    let small = jarosz::downsample(rows, cols, src, scratch);
    let quality = quality(&small);
    let coefficients = dct::dct64_to_16(&small);
    let hash = bits(&coefficients);
    let dihedral = dihedral.then(|| {
        let mut all = [hash; 8];
        for (slot, d) in all.iter_mut().zip(Dihedral::ALL).skip(1) {
            *slot = bits(&transform(&coefficients, d));
        }
        all
    });
    Pdq { hash, quality, dihedral }
}

/// The steps, exposed for benchmarks.
pub mod stages {
    use super::*;

    /// Blur and decimate `luma` (`rows` × `cols`) to 64×64.
    pub fn downsample(luma: &[f32], rows: usize, cols: usize, scratch: &mut Scratch) -> [[f32; 64]; 64] {
        jarosz::downsample(rows, cols, &LumaRows { luma, cols }, scratch)
    }

    /// Luma, blur and decimate straight from RGB, as [`Hasher`](crate::Hasher) does.
    pub fn downsample_rgb(rgb: &[u8], rows: usize, cols: usize, scratch: &mut Scratch) -> [[f32; 64]; 64] {
        jarosz::downsample(rows, cols, &RgbRows::whole(rgb, cols), scratch)
    }

    /// The 16×16 DCT of a 64×64 downsample.
    pub fn dct(a: &[[f32; 64]; 64]) -> [[f32; 16]; 16] {
        dct::dct64_to_16(a)
    }

    /// Quality, median threshold and bits.
    pub fn quality_and_bits(a: &[[f32; 64]; 64], b: &[[f32; 16]; 16]) -> (u8, PdqHash) {
        (quality(a), bits(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_images_get_the_zero_hash() {
        let mut s = Scratch::default();
        luma_from_grey(&[9u8; 16], &mut s.luma);
        let p = pdq_from_luma(&mut s, 4, 4, true);
        assert_eq!(p.hash, PdqHash::ZERO);
        assert_eq!(p.quality, 0);
        assert_eq!(p.dihedral, Some([PdqHash::ZERO; 8]));
    }

    #[test]
    fn grey_luma_equals_rgb_luma_of_the_same_grey() {
        let grey: Vec<u8> = (0..=255).collect();
        let rgb: Vec<u8> = grey.iter().flat_map(|&v| [v, v, v]).collect();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        luma_from_grey(&grey, &mut a);
        luma_from_rgb(&rgb, &mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn median_is_the_128th_smallest() {
        let mut b = [[0f32; 16]; 16];
        for (k, x) in b.iter_mut().flatten().enumerate() {
            *x = ((k * 97) % 256) as f32;
        }
        assert_eq!(median(&b), 127.0);
        // Exactly 128 values lie above the median of distinct values.
        assert_eq!(bits(&b).0.iter().map(|w| w.count_ones()).sum::<u32>(), 128);
    }

    #[test]
    fn flat_image_has_quality_zero() {
        let a = [[50f32; 64]; 64];
        assert_eq!(quality(&a), 0);
    }

    #[test]
    fn dihedral_transforms_compose_like_the_group() {
        // Rotating 90° twice gives the 180° coefficients; flipping twice is the identity.
        let mut a = [[0f32; 16]; 16];
        for (k, x) in a.iter_mut().flatten().enumerate() {
            *x = k as f32 - 100.5;
        }
        let r90 = transform(&a, Dihedral::Rotate90);
        assert_eq!(transform(&r90, Dihedral::Rotate90), transform(&a, Dihedral::Rotate180));
        let fx = transform(&a, Dihedral::FlipX);
        assert_eq!(transform(&fx, Dihedral::FlipX), a);
        let t = transform(&a, Dihedral::FlipPlus1);
        assert_eq!(transform(&t, Dihedral::FlipPlus1), a);
    }
}
