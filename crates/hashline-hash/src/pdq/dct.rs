//! The 64×64 → 16×16 DCT (frequencies 1–16 on each axis), as the reference computes it.

use std::sync::LazyLock;

/// `D[i][j] = sqrt(2/64) · cos(π/128 · (i+1) · (2j+1))`, rounded to `f32` as the reference does.
static DCT_MATRIX: LazyLock<[[f32; 64]; 16]> = LazyLock::new(|| {
    let scale = (2.0f64 / 64.0).sqrt() as f32;
    let mut d = [[0f32; 64]; 16];
    for (i, row) in d.iter_mut().enumerate() {
        for (j, x) in row.iter_mut().enumerate() {
            let angle = (std::f64::consts::PI / 2.0 / 64.0) * (i + 1) as f64 * (2 * j + 1) as f64;
            *x = (scale as f64 * angle.cos()) as f32;
        }
    }
    d
});

/// `B = D · A · Dᵀ`, summed in the reference's order (k ascending, `f32` accumulators), so the
/// result is bit-identical. The first product is computed a row of `T` at a time so that it
/// vectorises; each element still sees the same additions in the same order.
pub(crate) fn dct64_to_16(a: &[[f32; 64]; 64]) -> [[f32; 16]; 16] {
    let d = &*DCT_MATRIX;
    let mut t = [[0f32; 64]; 16];
    for (trow, drow) in t.iter_mut().zip(d.iter()) {
        for (dk, arow) in drow.iter().zip(a.iter()) {
            for (tj, aj) in trow.iter_mut().zip(arow.iter()) {
                *tj += *dk * *aj;
            }
        }
    }
    let mut b = [[0f32; 16]; 16];
    for (brow, trow) in b.iter_mut().zip(t.iter()) {
        for (bij, drow) in brow.iter_mut().zip(d.iter()) {
            let mut sum = 0f32;
            for (tk, dk) in trow.iter().zip(drow.iter()) {
                sum += *tk * *dk;
            }
            *bij = sum;
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_image_has_no_energy_in_frequencies_1_to_16() {
        let a = [[100f32; 64]; 64];
        let b = dct64_to_16(&a);
        for row in b {
            for x in row {
                assert!(x.abs() < 1e-2, "{x}");
            }
        }
    }

    #[test]
    fn lowest_frequency_basis_image_lands_in_the_first_coefficient() {
        let d = &*DCT_MATRIX;
        let mut a = [[0f32; 64]; 64];
        for i in 0..64 {
            for j in 0..64 {
                a[i][j] = d[0][i] * d[0][j];
            }
        }
        let b = dct64_to_16(&a);
        assert!((b[0][0] - 1.0).abs() < 1e-4, "{}", b[0][0]);
        assert!(b[0][1].abs() < 1e-4 && b[1][0].abs() < 1e-4);
    }
}
