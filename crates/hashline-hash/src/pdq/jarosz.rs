//! The reference's downsampling: two passes of Jarosz box filters (rows, then columns) and a
//! 64×64 decimation at pixel centres.
//!
//! The reference filters the whole image twice and then reads 4,096 samples. This module gives
//! the same 4,096 floats, bit for bit, with much less work:
//!
//! * every running sum sees exactly the reference's sequence of `+=`, `-=` and `/` operations
//!   (float addition is not associative, so the order is the contract);
//! * the first row pass runs on strips of [`LANES`] rows at once, transposed so that one SIMD
//!   lane carries one row's sum;
//! * the first column pass runs across the whole width at once (one lane per column);
//! * the second pass divides only where a decimation sample will be read: the row pass keeps
//!   its sums for every column but writes only the 64 sampled columns, and the column pass runs
//!   on those 64 columns alone.

/// Rows carried side by side in the row passes; one `[f32; LANES]` is one SIMD register.
pub(crate) const LANES: usize = 8;

/// The reference's window size for shrinking `old` samples to `new`: half a target cell,
/// rounded up, since two passes are made.
#[inline]
pub(crate) fn window_size(old: usize, new: usize) -> usize {
    (old + 2 * new - 1) / (2 * new)
}

/// Where the decimation reads: the input index under the centre of each of the 64 cells.
pub(crate) fn sample_positions(len: usize) -> [usize; 64] {
    let mut out = [0usize; 64];
    for (i, o) in out.iter_mut().enumerate() {
        *o = (((i as f64 + 0.5) * len as f64) / 64.0) as usize;
    }
    out
}

/// The three operations of a running box sum. [`walk`] calls them in the reference's order.
trait BoxSink {
    fn add(&mut self, i: usize);
    fn sub(&mut self, i: usize);
    fn emit(&mut self, o: usize, n: f32);
    /// One full-window step: add the entering sample, remove the leaving one, write.
    #[inline]
    fn step(&mut self, ri: usize, li: usize, oi: usize, n: f32) {
        self.add(ri);
        self.sub(li);
        self.emit(oi, n);
    }
}

/// Drives a sink through the reference's four phases for a vector of `len` samples:
/// fill half a window, write while growing to the full window, slide, write while shrinking.
#[inline]
fn walk<S: BoxSink>(len: usize, window: usize, sink: &mut S) {
    debug_assert!(window >= 1 && window <= len);
    let half = (window + 2) / 2;
    let (mut li, mut ri, mut oi, mut n) = (0usize, 0usize, 0usize, 0u32);
    for _ in 0..half - 1 {
        sink.add(ri);
        n += 1;
        ri += 1;
    }
    for _ in 0..window + 1 - half {
        sink.add(ri);
        n += 1;
        sink.emit(oi, n as f32);
        ri += 1;
        oi += 1;
    }
    let nf = n as f32;
    for _ in 0..len - window {
        sink.step(ri, li, oi, nf);
        li += 1;
        ri += 1;
        oi += 1;
    }
    for _ in 0..half - 1 {
        sink.sub(li);
        n -= 1;
        sink.emit(oi, n as f32);
        li += 1;
        oi += 1;
    }
}

/// A strip of up to `LANES` rows, transposed: `input[c]` holds column `c` of every row.
struct StripSink<'a, F: FnMut(usize, [f32; LANES])> {
    input: &'a [[f32; LANES]],
    sum: [f32; LANES],
    out: F,
}

impl<F: FnMut(usize, [f32; LANES])> BoxSink for StripSink<'_, F> {
    #[inline(always)]
    fn add(&mut self, i: usize) {
        let x = self.input[i];
        for l in 0..LANES {
            self.sum[l] += x[l];
        }
    }
    #[inline(always)]
    fn sub(&mut self, i: usize) {
        let x = self.input[i];
        for l in 0..LANES {
            self.sum[l] -= x[l];
        }
    }
    #[inline(always)]
    fn emit(&mut self, o: usize, n: f32) {
        let mut v = [0f32; LANES];
        for l in 0..LANES {
            v[l] = self.sum[l] / n;
        }
        (self.out)(o, v);
    }
}

/// Running sums down the columns of a row-major matrix, all columns at once.
struct ColumnSink<'a, F: FnMut(usize, &[f32], f32)> {
    input: &'a [f32],
    width: usize,
    sum: Vec<f32>,
    out: F,
}

impl<F: FnMut(usize, &[f32], f32)> BoxSink for ColumnSink<'_, F> {
    #[inline(always)]
    fn add(&mut self, i: usize) {
        let row = &self.input[i * self.width..(i + 1) * self.width];
        for (s, x) in self.sum.iter_mut().zip(row) {
            *s += *x;
        }
    }
    #[inline(always)]
    fn sub(&mut self, i: usize) {
        let row = &self.input[i * self.width..(i + 1) * self.width];
        for (s, x) in self.sum.iter_mut().zip(row) {
            *s -= *x;
        }
    }
    #[inline(always)]
    fn emit(&mut self, o: usize, n: f32) {
        (self.out)(o, &self.sum, n);
    }
    #[inline(always)]
    fn step(&mut self, ri: usize, li: usize, oi: usize, n: f32) {
        let w = self.width;
        let add = &self.input[ri * w..(ri + 1) * w];
        let sub = &self.input[li * w..(li + 1) * w];
        for ((s, a), b) in self.sum.iter_mut().zip(add).zip(sub) {
            *s += *a;
            *s -= *b;
        }
        (self.out)(oi, &self.sum, n);
    }
}

/// Reusable buffers for [`downsample`]; keep one per thread to avoid reallocating per image.
#[derive(Default)]
pub struct Scratch {
    pub(crate) luma: Vec<f32>,
    pub(crate) rows_filtered: Vec<f32>,
    strip_in: Vec<[f32; LANES]>,
    strip_out: Vec<[f32; LANES]>,
    sampled: Vec<f32>,
}

impl Scratch {
    /// Bytes held, for accounting.
    pub fn capacity_bytes(&self) -> usize {
        4 * (self.luma.capacity() + self.rows_filtered.capacity() + self.sampled.capacity())
            + 4 * LANES * (self.strip_in.capacity() + self.strip_out.capacity())
    }
}

/// Copies rows `r0..r0+LANES` (those that exist; the rest are zero) into `strip`, transposed.
fn load_strip(src: &[f32], width: usize, rows: usize, r0: usize, strip: &mut Vec<[f32; LANES]>) {
    strip.clear();
    strip.resize(width, [0f32; LANES]);
    for l in 0..LANES.min(rows - r0) {
        let row = &src[(r0 + l) * width..(r0 + l + 1) * width];
        for (cell, x) in strip.iter_mut().zip(row) {
            cell[l] = *x;
        }
    }
}

/// The reference's blur-and-decimate of `scratch.luma` (`rows` × `cols`, row-major) to 64×64.
/// `scratch.luma` is overwritten.
pub(crate) fn downsample(rows: usize, cols: usize, scratch: &mut Scratch) -> [[f32; 64]; 64] {
    let mut out = [[0f32; 64]; 64];
    debug_assert_eq!(scratch.luma.len(), rows * cols);
    if rows == 64 && cols == 64 {
        // The reference skips the filter when the input is already 64×64.
        for (o, row) in out.iter_mut().zip(scratch.luma.chunks_exact(64)) {
            o.copy_from_slice(row);
        }
        return out;
    }
    let wr = window_size(cols, 64);
    let wc = window_size(rows, 64);
    let sample_cols = sample_positions(cols);
    let sample_rows = sample_positions(rows);
    let Scratch {
        luma,
        rows_filtered,
        strip_in,
        strip_out,
        sampled,
    } = scratch;

    // Pass 1, rows: luma -> rows_filtered (every sample).
    rows_filtered.clear();
    rows_filtered.resize(rows * cols, 0.0);
    for r0 in (0..rows).step_by(LANES) {
        load_strip(luma, cols, rows, r0, strip_in);
        strip_out.clear();
        strip_out.resize(cols, [0f32; LANES]);
        {
            let so = &mut strip_out[..];
            let mut sink = StripSink {
                input: strip_in,
                sum: [0f32; LANES],
                out: |o: usize, v: [f32; LANES]| so[o] = v,
            };
            walk(cols, wr, &mut sink);
        }
        for l in 0..LANES.min(rows - r0) {
            let row = &mut rows_filtered[(r0 + l) * cols..(r0 + l + 1) * cols];
            for (x, cell) in row.iter_mut().zip(strip_out.iter()) {
                *x = cell[l];
            }
        }
    }

    // Pass 1, columns: rows_filtered -> luma (every sample).
    {
        let dst = &mut luma[..];
        let mut sink = ColumnSink {
            input: rows_filtered,
            width: cols,
            sum: vec![0f32; cols],
            out: |o: usize, sum: &[f32], n: f32| {
                for (d, s) in dst[o * cols..(o + 1) * cols].iter_mut().zip(sum) {
                    *d = *s / n;
                }
            },
        };
        walk(rows, wc, &mut sink);
    }

    // Pass 2, rows: luma -> sampled (rows × 64, only the sampled columns are written).
    sampled.clear();
    sampled.resize(rows * 64, 0.0);
    for r0 in (0..rows).step_by(LANES) {
        load_strip(luma, cols, rows, r0, strip_in);
        let mut picked = [[0f32; LANES]; 64];
        {
            let mut next = 0usize;
            let picked = &mut picked;
            let mut sink = StripSink {
                input: strip_in,
                sum: [0f32; LANES],
                out: |o: usize, v: [f32; LANES]| {
                    while next < 64 && sample_cols[next] == o {
                        picked[next] = v;
                        next += 1;
                    }
                },
            };
            walk(cols, wr, &mut sink);
        }
        for l in 0..LANES.min(rows - r0) {
            let row = &mut sampled[(r0 + l) * 64..(r0 + l + 1) * 64];
            for (x, p) in row.iter_mut().zip(picked.iter()) {
                *x = p[l];
            }
        }
    }

    // Pass 2, columns: sampled -> out (only the sampled rows are written).
    {
        let mut next = 0usize;
        let out = &mut out;
        let mut sink = ColumnSink {
            input: sampled,
            width: 64,
            sum: vec![0f32; 64],
            out: |o: usize, sum: &[f32], n: f32| {
                while next < 64 && sample_rows[next] == o {
                    for (d, s) in out[next].iter_mut().zip(sum) {
                        *d = *s / n;
                    }
                    next += 1;
                }
            },
        };
        walk(rows, wc, &mut sink);
    }
    out
}

/// The reference algorithm written plainly, for tests: whole-image passes, in place.
#[cfg(test)]
pub(crate) mod reference {
    use super::{sample_positions, window_size};

    pub(crate) fn box_1d(
        input: &[f32],
        output: &mut [f32],
        len: usize,
        stride: usize,
        window: usize,
    ) {
        let half = (window + 2) / 2;
        let (p1, p2, p3, p4) = (half - 1, window - half + 1, len - window, half - 1);
        let (mut li, mut ri, mut oi) = (0usize, 0usize, 0usize);
        let mut sum = 0f32;
        let mut n = 0i32;
        for _ in 0..p1 {
            sum += input[ri];
            n += 1;
            ri += stride;
        }
        for _ in 0..p2 {
            sum += input[ri];
            n += 1;
            output[oi] = sum / n as f32;
            ri += stride;
            oi += stride;
        }
        for _ in 0..p3 {
            sum += input[ri];
            sum -= input[li];
            output[oi] = sum / n as f32;
            li += stride;
            ri += stride;
            oi += stride;
        }
        for _ in 0..p4 {
            sum -= input[li];
            n -= 1;
            output[oi] = sum / n as f32;
            li += stride;
            oi += stride;
        }
    }

    pub(crate) fn downsample(luma: &[f32], rows: usize, cols: usize) -> [[f32; 64]; 64] {
        let mut out = [[0f32; 64]; 64];
        if rows == 64 && cols == 64 {
            for (o, row) in out.iter_mut().zip(luma.chunks_exact(64)) {
                o.copy_from_slice(row);
            }
            return out;
        }
        let mut a = luma.to_vec();
        let mut b = vec![0f32; rows * cols];
        let (wr, wc) = (window_size(cols, 64), window_size(rows, 64));
        for _ in 0..2 {
            for r in 0..rows {
                box_1d(&a[r * cols..], &mut b[r * cols..], cols, 1, wr);
            }
            for c in 0..cols {
                box_1d(&b[c..], &mut a[c..], rows, cols, wc);
            }
        }
        let (sr, sc) = (sample_positions(rows), sample_positions(cols));
        for i in 0..64 {
            for j in 0..64 {
                out[i][j] = a[sr[i] * cols + sc[j]];
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn window_sizes_match_the_reference_formula() {
        assert_eq!(window_size(1024, 64), 8);
        assert_eq!(window_size(1600, 64), 13);
        assert_eq!(window_size(5, 64), 1);
        assert_eq!(window_size(128, 64), 1);
        assert_eq!(window_size(129, 64), 2);
    }

    #[test]
    fn box_filter_matches_the_documented_example() {
        // Window 7 over 0..16: the reference's own worked example.
        let input: Vec<f32> = (0..16).map(|x| x as f32).collect();
        let mut out = vec![0f32; 16];
        reference::box_1d(&input, &mut out, 16, 1, 7);
        let sums = [
            6., 10., 15., 21., 28., 35., 42., 49., 56., 63., 70., 77., 84., 75., 65., 54.,
        ];
        let counts = [
            4., 5., 6., 7., 7., 7., 7., 7., 7., 7., 7., 7., 7., 6., 5., 4.,
        ];
        for i in 0..16 {
            assert_eq!(out[i], sums[i] / counts[i], "index {i}");
        }
    }

    fn check_same(rows: usize, cols: usize, seed: u64) {
        let mut state = seed | 1;
        let luma: Vec<f32> = (0..rows * cols)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state % 25600) as f32 / 100.0
            })
            .collect();
        let want = reference::downsample(&luma, rows, cols);
        let mut scratch = Scratch {
            luma: luma.clone(),
            ..Scratch::default()
        };
        let got = downsample(rows, cols, &mut scratch);
        for i in 0..64 {
            for j in 0..64 {
                assert_eq!(
                    got[i][j].to_bits(),
                    want[i][j].to_bits(),
                    "{rows}x{cols} at {i},{j}"
                );
            }
        }
    }

    #[test]
    fn fast_path_equals_reference_on_awkward_sizes() {
        for (r, c) in [
            (5, 5),
            (5, 300),
            (300, 5),
            (63, 65),
            (64, 64),
            (64, 65),
            (129, 255),
            (1004, 1600),
        ] {
            check_same(r, c, (r * 7919 + c) as u64);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn fast_path_equals_reference(rows in 5usize..400, cols in 5usize..400, seed in any::<u64>()) {
            check_same(rows, cols, seed);
        }
    }
}
