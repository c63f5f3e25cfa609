//! Properties of PDQ that hold for any input.

use hashline_hash::{pdq_from_rgb, Dihedral, PdqHash};
use proptest::prelude::*;

fn image(w: usize, h: usize, seed: u64) -> Vec<u8> {
    // Smooth random blobs plus texture: realistic enough that the hash is not degenerate.
    let mut s = seed | 1;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let blobs: Vec<(f32, f32, f32, [f32; 3])> = (0..6)
        .map(|_| {
            let f = |v: u64| (v % 1000) as f32 / 1000.0;
            (
                f(next()),
                f(next()),
                0.05 + 0.3 * f(next()),
                [f(next()) * 255.0, f(next()) * 255.0, f(next()) * 255.0],
            )
        })
        .collect();
    let mut rgb = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
            let mut px = [40.0f32, 40.0, 40.0];
            for (cx, cy, r, col) in &blobs {
                if (fx - cx).hypot(fy - cy) < *r {
                    px = *col;
                }
            }
            let grain = (next() % 24) as f32;
            rgb.extend(px.map(|v| (v + grain).clamp(0.0, 255.0) as u8));
        }
    }
    rgb
}

fn transpose(rgb: &[u8], w: usize, h: usize) -> Vec<u8> {
    let mut out = vec![0u8; rgb.len()];
    for y in 0..h {
        for x in 0..w {
            let (src, dst) = ((y * w + x) * 3, (x * h + y) * 3);
            out[dst..dst + 3].copy_from_slice(&rgb[src..src + 3]);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn distance_is_a_metric(a in any::<[u64; 4]>(), b in any::<[u64; 4]>(), c in any::<[u64; 4]>()) {
        let (a, b, c) = (PdqHash(a), PdqHash(b), PdqHash(c));
        prop_assert_eq!(a.distance(&b), b.distance(&a));
        prop_assert_eq!(a.distance(&a), 0);
        prop_assert!(a.distance(&c) <= a.distance(&b) + b.distance(&c));
        prop_assert_eq!(a.to_hex().parse::<PdqHash>().unwrap(), a);
    }

    #[test]
    fn dihedral_of_the_transposed_image_is_the_flip_plus1_hash(w in 64usize..400, h in 64usize..400, seed in any::<u64>()) {
        // Transposing swaps the row and column passes, whose float roundings differ in the
        // last bits, so the two hashes may differ where a coefficient sits on the median. For
        // images with enough detail to be matched at all (quality ≥ 50), that is a few bits.
        let rgb = image(w, h, seed);
        let original = pdq_from_rgb(&rgb, w as u32, h as u32, true);
        prop_assume!(original.quality >= 50);
        let transposed = pdq_from_rgb(&transpose(&rgb, w, h), h as u32, w as u32, false);
        let flip = original.dihedral.unwrap()[Dihedral::ALL.iter().position(|d| *d == Dihedral::FlipPlus1).unwrap()];
        prop_assert!(transposed.hash.distance(&flip) <= 4, "{} bits apart", transposed.hash.distance(&flip));
        prop_assert_eq!(transposed.quality, original.quality);
    }

    #[test]
    fn sixty_four_square_inputs_skip_the_filter(seed in any::<u64>()) {
        // The reference hashes a 64×64 luma image as it is (no blur); any other size is blurred.
        let rgb = image(64, 64, seed);
        let mut luma = Vec::new();
        hashline_hash::luma_from_rgb(&rgb, &mut luma);
        let mut scratch = hashline_hash::Scratch::default();
        let small = hashline_hash::stages::downsample(&luma, 64, 64, &mut scratch);
        prop_assert_eq!(small.iter().flatten().copied().collect::<Vec<f32>>(), luma.clone());
        let wider = image(65, 64, seed);
        hashline_hash::luma_from_rgb(&wider, &mut luma);
        let blurred = hashline_hash::stages::downsample(&luma, 64, 65, &mut scratch);
        let unblurred: Vec<f32> = (0..64).flat_map(|r| luma[r * 65..r * 65 + 64].to_vec()).collect();
        prop_assert_ne!(blurred.iter().flatten().copied().collect::<Vec<f32>>(), unblurred);
    }
}
