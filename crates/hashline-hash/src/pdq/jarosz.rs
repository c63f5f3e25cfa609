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
    old.div_ceil(2 * new)
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
    #[inline(always)]
    fn step(&mut self, ri: usize, li: usize, oi: usize, n: f32) {
        self.add(ri);
        self.sub(li);
        self.emit(oi, n);
    }
}

/// Drives a sink through the reference's four phases for a vector of `len` samples:
/// fill half a window, write while growing to the full window, slide, write while shrinking.
#[inline(always)]
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

/// The box walk of [`walk`] over a transposed strip (`input[c]` = column `c` of up to
/// `LANES` rows), with the running sums in a local so that they stay in a register.
/// `emit(o, sums, n)` is called for every output index. The phases are those of [`walk`]; the
/// equivalence is tested against the reference transcription.
#[inline(always)]
fn strip_box(input: &[[f32; LANES]], window: usize, mut emit: impl FnMut(usize, [f32; LANES], f32)) {
    let len = input.len();
    let half = (window + 2) / 2;
    let mut sum = [0f32; LANES];
    let add = |sum: &mut [f32; LANES], x: &[f32; LANES]| {
        for l in 0..LANES {
            sum[l] += x[l];
        }
    };
    let sub = |sum: &mut [f32; LANES], x: &[f32; LANES]| {
        for l in 0..LANES {
            sum[l] -= x[l];
        }
    };
    let mut n = 0u32;
    for x in &input[..half - 1] {
        add(&mut sum, x);
        n += 1;
    }
    for (oi, x) in input[half - 1..window].iter().enumerate() {
        add(&mut sum, x);
        n += 1;
        emit(oi, sum, n as f32);
    }
    let nf = n as f32;
    let first = window + 1 - half;
    for (k, (a, b)) in input[window..].iter().zip(&input[..len - window]).enumerate() {
        add(&mut sum, a);
        sub(&mut sum, b);
        emit(first + k, sum, nf);
    }
    let first = len + 1 - half;
    for (k, b) in input[len - window..len - window + half - 1].iter().enumerate() {
        sub(&mut sum, b);
        n -= 1;
        emit(first + k, sum, n as f32);
    }
}

/// Where the luma comes from: row `r` of the image, written into `out` (`cols` floats).
pub(crate) trait RowSource {
    fn fill(&self, r: usize, out: &mut [f32]);
}

/// Rows of an existing row-major luma buffer.
pub(crate) struct LumaRows<'a> {
    pub(crate) luma: &'a [f32],
    pub(crate) cols: usize,
}

impl RowSource for LumaRows<'_> {
    #[inline(always)]
    fn fill(&self, r: usize, out: &mut [f32]) {
        out.copy_from_slice(&self.luma[r * self.cols..(r + 1) * self.cols]);
    }
}

/// Reusable buffers for [`downsample`]; keep one per thread to avoid reallocating per image.
/// Nothing here is image-sized: the filter streams over the rows, so the buffers hold a few
/// dozen rows at most.
#[derive(Default)]
pub struct Scratch {
    pub(crate) luma: Vec<f32>,
    strip: Vec<f32>,
    strip_in: Vec<[f32; LANES]>,
    strip_out: Vec<[f32; LANES]>,
    ring: Vec<f32>,
    col_sum: Vec<f32>,
    pass2: Vec<f32>,
    sampled: Vec<f32>,
}

impl Scratch {
    /// The luma input of [`pdq_from_luma`](crate::pdq_from_luma): `rows × cols` floats,
    /// row-major. Fill it with [`luma_from_rgb`](crate::luma_from_rgb) or
    /// [`luma_from_grey`](crate::luma_from_grey).
    pub fn luma_mut(&mut self) -> &mut Vec<f32> {
        &mut self.luma
    }
}

/// Transposes an 8×8 block in three rounds of pairwise interleaves, the shape of the
/// `unpcklps`/`unpckhps`/`shufps`/`vperm2f128` sequence, so that the compiler emits shuffles
/// rather than 64 scalar moves.
#[inline(always)]
fn transpose8(m: [[f32; 8]; 8]) -> [[f32; 8]; 8] {
    let lo = |a: [f32; 8], b: [f32; 8]| [a[0], b[0], a[1], b[1], a[4], b[4], a[5], b[5]];
    let hi = |a: [f32; 8], b: [f32; 8]| [a[2], b[2], a[3], b[3], a[6], b[6], a[7], b[7]];
    let (t0, t1, t2, t3) = (lo(m[0], m[1]), hi(m[0], m[1]), lo(m[2], m[3]), hi(m[2], m[3]));
    let (t4, t5, t6, t7) = (lo(m[4], m[5]), hi(m[4], m[5]), lo(m[6], m[7]), hi(m[6], m[7]));
    let sh_lo = |a: [f32; 8], b: [f32; 8]| [a[0], a[1], b[0], b[1], a[4], a[5], b[4], b[5]];
    let sh_hi = |a: [f32; 8], b: [f32; 8]| [a[2], a[3], b[2], b[3], a[6], a[7], b[6], b[7]];
    let (u0, u1, u2, u3) = (sh_lo(t0, t2), sh_hi(t0, t2), sh_lo(t1, t3), sh_hi(t1, t3));
    let (u4, u5, u6, u7) = (sh_lo(t4, t6), sh_hi(t4, t6), sh_lo(t5, t7), sh_hi(t5, t7));
    let p_lo = |a: [f32; 8], b: [f32; 8]| [a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]];
    let p_hi = |a: [f32; 8], b: [f32; 8]| [a[4], a[5], a[6], a[7], b[4], b[5], b[6], b[7]];
    [
        p_lo(u0, u4),
        p_lo(u1, u5),
        p_lo(u2, u6),
        p_lo(u3, u7),
        p_hi(u0, u4),
        p_hi(u1, u5),
        p_hi(u2, u6),
        p_hi(u3, u7),
    ]
}

/// `rows` (LANES rows of `cols`, row-major) → `t[c][l]`. Missing rows (`n < LANES`) are zero.
#[inline(always)]
fn transpose_in(rows: &[f32], n: usize, cols: usize, t: &mut [[f32; LANES]]) {
    if n == LANES {
        let full = cols / LANES * LANES;
        for c0 in (0..full).step_by(LANES) {
            let mut block = [[0f32; LANES]; LANES];
            for l in 0..LANES {
                block[l].copy_from_slice(&rows[l * cols + c0..l * cols + c0 + LANES]);
            }
            t[c0..c0 + LANES].copy_from_slice(&transpose8(block));
        }
        for c in full..cols {
            for l in 0..LANES {
                t[c][l] = rows[l * cols + c];
            }
        }
    } else {
        // The last, partial strip: unused lanes are zero (their sums are never read).
        for cell in t.iter_mut() {
            *cell = [0f32; LANES];
        }
        for l in 0..n {
            for (cell, x) in t.iter_mut().zip(&rows[l * cols..(l + 1) * cols]) {
                cell[l] = *x;
            }
        }
    }
}

/// `t[c][l]` → LANES rows of `cols`, row-major, into `rows`.
#[inline(always)]
fn transpose_out(t: &[[f32; LANES]], cols: usize, rows: &mut [f32]) {
    let full = cols / LANES * LANES;
    for c0 in (0..full).step_by(LANES) {
        let mut block = [[0f32; LANES]; LANES];
        block.copy_from_slice(&t[c0..c0 + LANES]);
        let block = transpose8(block);
        for l in 0..LANES {
            rows[l * cols + c0..l * cols + c0 + LANES].copy_from_slice(&block[l]);
        }
    }
    for c in full..cols {
        for l in 0..LANES {
            rows[l * cols + c] = t[c][l];
        }
    }
}

/// One operation of the column walk, recorded so that the walk can run as rows arrive.
#[derive(Clone, Copy)]
enum ColumnOp {
    Add(usize),
    Sub(usize),
    Emit(usize, f32),
    Step(usize, usize, usize, f32),
}

impl ColumnOp {
    /// The input row the operation reads first time, if any.
    fn needs(self) -> Option<usize> {
        match self {
            ColumnOp::Add(ri) | ColumnOp::Step(ri, ..) => Some(ri),
            ColumnOp::Sub(_) | ColumnOp::Emit(..) => None,
        }
    }
}

/// [`walk`], recorded.
fn column_ops(len: usize, window: usize) -> Vec<ColumnOp> {
    struct Recorder(Vec<ColumnOp>);
    impl BoxSink for Recorder {
        fn add(&mut self, i: usize) {
            self.0.push(ColumnOp::Add(i));
        }
        fn sub(&mut self, i: usize) {
            self.0.push(ColumnOp::Sub(i));
        }
        fn emit(&mut self, o: usize, n: f32) {
            self.0.push(ColumnOp::Emit(o, n));
        }
        fn step(&mut self, ri: usize, li: usize, oi: usize, n: f32) {
            self.0.push(ColumnOp::Step(ri, li, oi, n));
        }
    }
    let mut r = Recorder(Vec::with_capacity(2 * len + window));
    walk(len, window, &mut r);
    r.0
}

/// The reference's blur-and-decimate of a `rows` × `cols` luma image to 64×64, streaming: rows
/// are pulled from `src` eight at a time and pass through all four box filters while they are
/// in cache, and only the sampled columns of the second pass are divided out.
pub(crate) fn downsample<S: RowSource>(
    rows: usize,
    cols: usize,
    src: &S,
    scratch: &mut Scratch,
) -> [[f32; 64]; 64] {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512vl") {
        // SAFETY: `downsample_avx512` only requires AVX-512F/VL, which the CPU was just checked
        // to have.
        #[allow(unsafe_code)]
        return unsafe { downsample_avx512(rows, cols, src, scratch) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: `downsample_avx2` only requires AVX2, which the CPU was just checked to have.
        #[allow(unsafe_code)]
        return unsafe { downsample_avx2(rows, cols, src, scratch) };
    }
    downsample_generic(rows, cols, src, scratch)
}

/// The same code compiled with AVX2 (8 lanes per divide). No FMA: the reference rounds every
/// product and sum separately, and so must we.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn downsample_avx2<S: RowSource>(
    rows: usize,
    cols: usize,
    src: &S,
    scratch: &mut Scratch,
) -> [[f32; 64]; 64] {
    downsample_generic(rows, cols, src, scratch)
}

/// The same code compiled with AVX-512 (wider `f64` luma arithmetic). No FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,avx512f,avx512vl")]
fn downsample_avx512<S: RowSource>(
    rows: usize,
    cols: usize,
    src: &S,
    scratch: &mut Scratch,
) -> [[f32; 64]; 64] {
    downsample_generic(rows, cols, src, scratch)
}

#[inline(always)]
fn downsample_generic<S: RowSource>(
    rows: usize,
    cols: usize,
    src: &S,
    scratch: &mut Scratch,
) -> [[f32; 64]; 64] {
    let mut out = [[0f32; 64]; 64];
    if rows == 64 && cols == 64 {
        // The reference skips the filter when the input is already 64×64.
        for (r, o) in out.iter_mut().enumerate() {
            src.fill(r, o);
        }
        return out;
    }
    let Scratch { strip, strip_in, strip_out, ring, col_sum, pass2, sampled, .. } = scratch;
    let wr = window_size(cols, 64);
    let wc = window_size(rows, 64);
    let sample_cols = sample_positions(cols);
    let sample_rows = sample_positions(rows);

    // Rows of the first row pass live in a ring, strip-aligned, long enough that a row is
    // overwritten only after the column walk has subtracted it.
    let ring_rows = (wc + 2 * LANES).div_ceil(LANES) * LANES;
    reset(ring, ring_rows * cols);
    reset(strip, LANES * cols);
    reset(pass2, LANES * cols);
    reset(col_sum, cols);
    reset(sampled, rows * 64);
    reset(strip_in, cols);
    reset(strip_out, cols);

    let ops = column_ops(rows, wc);
    let mut next_op = 0usize;
    for r0 in (0..rows).step_by(LANES) {
        let n = LANES.min(rows - r0);
        for l in 0..n {
            src.fill(r0 + l, &mut strip[l * cols..(l + 1) * cols]);
        }
        // First row pass on this strip, into its place in the ring.
        transpose_in(strip, n, cols, strip_in);
        strip_box(strip_in, wr, |o, sum, n| {
            let out = &mut strip_out[o];
            for l in 0..LANES {
                out[l] = sum[l] / n;
            }
        });
        let slot = r0 % ring_rows;
        transpose_out(strip_out, cols, &mut ring[slot * cols..(slot + LANES) * cols]);

        // First column pass as far as the rows read so far allow; each output row goes to the
        // second row pass, a strip at a time.
        while let Some(&op) = ops.get(next_op) {
            if op.needs().is_some_and(|ri| ri >= r0 + n) {
                break;
            }
            next_op += 1;
            let Some((oi, div)) = column_op(op, ring, ring_rows, cols, col_sum) else { continue };
            let lane = oi % LANES;
            for (d, s) in pass2[lane * cols..(lane + 1) * cols].iter_mut().zip(col_sum.iter()) {
                *d = *s / div;
            }
            if lane == LANES - 1 || oi == rows - 1 {
                let first = oi - lane;
                second_row_pass(
                    pass2,
                    lane + 1,
                    cols,
                    wr,
                    &sample_cols,
                    strip_in,
                    &mut sampled[first * 64..(oi + 1) * 64],
                );
            }
        }
    }
    debug_assert_eq!(next_op, ops.len());

    // Second column pass, on the 64 sampled columns only.
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

/// Clears and zero-fills a buffer to `len` elements, keeping its allocation.
#[inline(always)]
fn reset<T: Copy + Default>(v: &mut Vec<T>, len: usize) {
    v.clear();
    v.resize(len, T::default());
}

/// Runs one column-walk operation on the ring of first-pass rows; returns the output row and
/// divisor when the operation writes one.
#[inline(always)]
fn column_op(
    op: ColumnOp,
    ring: &[f32],
    ring_rows: usize,
    cols: usize,
    sum: &mut [f32],
) -> Option<(usize, f32)> {
    let row = |i: usize| {
        let slot = i % ring_rows;
        &ring[slot * cols..(slot + 1) * cols]
    };
    match op {
        ColumnOp::Add(ri) => {
            for (s, x) in sum.iter_mut().zip(row(ri)) {
                *s += *x;
            }
            None
        }
        ColumnOp::Sub(li) => {
            for (s, x) in sum.iter_mut().zip(row(li)) {
                *s -= *x;
            }
            None
        }
        ColumnOp::Emit(oi, n) => Some((oi, n)),
        ColumnOp::Step(ri, li, oi, n) => {
            for ((s, a), b) in sum.iter_mut().zip(row(ri)).zip(row(li)) {
                *s += *a;
                *s -= *b;
            }
            Some((oi, n))
        }
    }
}

/// The second row pass over `n` rows of first-pass output: running sums over every column,
/// divided only at the 64 sampled columns, written to `sampled` (`n` × 64).
#[inline(always)]
fn second_row_pass(
    rows: &[f32],
    n: usize,
    cols: usize,
    window: usize,
    sample_cols: &[usize; 64],
    strip_in: &mut [[f32; LANES]],
    sampled: &mut [f32],
) {
    transpose_in(rows, n, cols, strip_in);
    // Keep the sums at the sampled columns and divide afterwards: dividing inside the walk
    // lets the compiler hoist the divide above the test and pay it on every column.
    let mut sums = [[0f32; LANES]; 64];
    let mut counts = [1f32; 64];
    let mut next = 0usize;
    strip_box(strip_in, window, |o, sum, n| {
        while next < 64 && sample_cols[next] == o {
            sums[next] = sum;
            counts[next] = n;
            next += 1;
        }
    });
    for l in 0..n {
        for ((x, sum), count) in sampled[l * 64..(l + 1) * 64].iter_mut().zip(sums.iter()).zip(counts) {
            *x = sum[l] / count;
        }
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
}

/// The reference algorithm written plainly, for tests: whole-image passes, in place.
#[cfg(test)]
pub(crate) mod reference {
    use super::{sample_positions, window_size};

    pub(crate) fn box_1d(input: &[f32], output: &mut [f32], len: usize, stride: usize, window: usize) {
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
    fn transpose8_transposes() {
        let mut m = [[0f32; 8]; 8];
        for (i, row) in m.iter_mut().enumerate() {
            for (j, x) in row.iter_mut().enumerate() {
                *x = (i * 8 + j) as f32;
            }
        }
        let t = transpose8(m);
        for i in 0..8 {
            for j in 0..8 {
                assert_eq!(t[i][j], m[j][i]);
            }
        }
    }

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
        let sums = [6., 10., 15., 21., 28., 35., 42., 49., 56., 63., 70., 77., 84., 75., 65., 54.];
        let counts = [4., 5., 6., 7., 7., 7., 7., 7., 7., 7., 7., 7., 7., 6., 5., 4.];
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
        let src = LumaRows { luma: &luma, cols };
        let mut scratch = Scratch::default();
        // The dispatching entry point (AVX2 where the CPU has it) and the portable build.
        for got in
            [downsample(rows, cols, &src, &mut scratch), downsample_generic(rows, cols, &src, &mut scratch)]
        {
            for i in 0..64 {
                for j in 0..64 {
                    assert_eq!(got[i][j].to_bits(), want[i][j].to_bits(), "{rows}x{cols} at {i},{j}");
                }
            }
        }
    }

    #[test]
    fn fast_path_equals_reference_on_awkward_sizes() {
        for (r, c) in [(5, 5), (5, 300), (300, 5), (63, 65), (64, 64), (64, 65), (129, 255), (1004, 1600)] {
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
