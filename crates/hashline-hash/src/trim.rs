//! Border trimming: finding the picture inside letterbox bars, pillarbox bars, a coloured frame
//! or padding to a square — near-uniform borders of any colour, JPEG noise tolerated, text in a
//! bar tolerated — so that the picture alone can be hashed as one more query variant.
//!
//! Each side is found on its own: its outermost line must be uniform (its colour is the bar's
//! colour); the bar then runs inward while most of each line keeps that colour. Guard rails:
//! a side is trimmed only when its bar is at least [`TrimRules::min_border_share`] of the
//! image; the picture left must keep [`TrimRules::min_keep_share`] of each dimension and at
//! least [`TrimRules::min_side`] pixels; a picture that is mostly uniform is left alone.

use serde::{Deserialize, Serialize};

/// The part of an image kept after trimming its borders, in the image's pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrimBox {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width kept.
    pub width: u32,
    /// Height kept.
    pub height: u32,
}

/// How borders are recognised.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrimRules {
    /// Largest colour difference from the bar colour (|ΔR| + |ΔG| + |ΔB|, or 3 × |Δgrey|) for
    /// a pixel to count as bar (default 24: JPEG noise in a flat bar at quality 70 stays inside;
    /// a dark picture next to a black bar does not).
    pub tolerance: u32,
    /// Share of the outermost line that must be bar coloured for a side to have a bar at all
    /// (default 0.97).
    pub edge_share: f32,
    /// Share of a line that must be bar coloured for the bar to continue inward (default 0.7,
    /// so a few lines of text drawn in a bar do not end it).
    pub line_share: f32,
    /// Smallest bar worth trimming, as a share of the image's side (default 0.02).
    pub min_border_share: f32,
    /// Smallest share of each dimension the picture must keep (default 0.25).
    pub min_keep_share: f32,
    /// Smallest side the picture must keep, in pixels (default 32).
    pub min_side: u32,
}

impl Default for TrimRules {
    fn default() -> Self {
        TrimRules {
            tolerance: 24,
            edge_share: 0.97,
            line_share: 0.7,
            min_border_share: 0.02,
            min_keep_share: 0.25,
            min_side: 32,
        }
    }
}

/// An image's pixels: `channels` (1 grey, 3 RGB) interleaved bytes per pixel, row-major.
struct Image<'a> {
    px: &'a [u8],
    channels: usize,
    width: usize,
}

impl Image<'_> {
    fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * self.channels;
        if self.channels == 1 {
            [self.px[i]; 3]
        } else {
            [self.px[i], self.px[i + 1], self.px[i + 2]]
        }
    }
}

/// A line of pixels: a row (`horizontal`) or a column, between `from` and `to` along it.
#[derive(Clone, Copy)]
struct Line {
    horizontal: bool,
    at: usize,
    from: usize,
    to: usize,
}

impl Line {
    fn pixels<'a>(self, img: &'a Image<'_>) -> impl Iterator<Item = [u8; 3]> + 'a {
        (self.from..self.to)
            .map(move |i| if self.horizontal { img.pixel(i, self.at) } else { img.pixel(self.at, i) })
    }
}

fn distance(a: [u8; 3], b: [u8; 3]) -> u32 {
    a.iter().zip(b).map(|(x, y)| u32::from(x.abs_diff(y))).sum()
}

/// The per-channel median colour of a line.
fn median(img: &Image<'_>, line: Line) -> [u8; 3] {
    let mut hist = [[0u32; 256]; 3];
    let mut n = 0u32;
    for p in line.pixels(img) {
        for c in 0..3 {
            hist[c][p[c] as usize] += 1;
        }
        n += 1;
    }
    let mut out = [0u8; 3];
    for c in 0..3 {
        let mut seen = 0;
        for (v, &k) in hist[c].iter().enumerate() {
            seen += k;
            if seen * 2 >= n {
                out[c] = v as u8;
                break;
            }
        }
    }
    out
}

fn share(img: &Image<'_>, line: Line, colour: [u8; 3], tolerance: u32) -> f32 {
    let len = (line.to - line.from).max(1);
    let close = line.pixels(img).filter(|&p| distance(p, colour) <= tolerance).count();
    close as f32 / len as f32
}

/// How many lines from one side are bar, and the bar's colour: `line(k)` is the k-th line
/// from that side.
fn bar(img: &Image<'_>, rules: &TrimRules, lines: usize, line: impl Fn(usize) -> Line) -> (usize, [u8; 3]) {
    if lines == 0 {
        return (0, [0; 3]);
    }
    let colour = median(img, line(0));
    if share(img, line(0), colour, rules.tolerance) < rules.edge_share {
        return (0, colour);
    }
    let n =
        (0..lines).take_while(|&k| share(img, line(k), colour, rules.tolerance) >= rules.line_share).count();
    (n, colour)
}

/// The four bars (top, bottom, left, right) after the rules that tell an added frame from the
/// picture's own margins: bars thinner than the minimum are dropped; every bar kept has the
/// frame's colour — that of a pair of opposite bars of one colour, else of the widest bar (a
/// margin of another colour belongs to the picture); and when both axes have bars, a bar
/// without its opposite one is dropped (letterbox, pillarbox, padding and frames come in
/// pairs; a lone dark band next to them is the picture's own).
fn frame(sides: [(usize, [u8; 3]); 4], (w, h): (usize, usize), rules: &TrimRules) -> [usize; 4] {
    let dims = [h, h, w, w];
    let mut bars = [0usize; 4];
    for i in 0..4 {
        let (n, _) = sides[i];
        bars[i] = if (n as f32) < rules.min_border_share * dims[i] as f32 { 0 } else { n };
    }
    // The frame's colour: that of a pair of opposite bars of one colour (the wider pair when
    // there are two), else of the widest bar.
    let wide = |i: usize| bars[i] as f32 / dims[i] as f32;
    let same = |a: usize, b: usize| distance(sides[a].1, sides[b].1) <= 2 * rules.tolerance;
    let paired = |a: usize, b: usize| bars[a] > 0 && bars[b] > 0 && same(a, b);
    let reference = match (paired(0, 1), paired(2, 3)) {
        (true, true) => Some(if wide(0) + wide(1) >= wide(2) + wide(3) { 0 } else { 2 }),
        (true, false) => Some(0),
        (false, true) => Some(2),
        (false, false) => (0..4).filter(|&i| bars[i] > 0).max_by(|&a, &b| wide(a).total_cmp(&wide(b))),
    };
    if let Some(r) = reference {
        for i in 0..4 {
            if !same(i, r) {
                bars[i] = 0;
            }
        }
    }
    let vertical = bars[0] > 0 || bars[1] > 0;
    let horizontal = bars[2] > 0 || bars[3] > 0;
    if vertical && horizontal {
        for (a, b) in [(0, 1), (2, 3)] {
            if (bars[a] == 0) != (bars[b] == 0) {
                bars[a] = 0;
                bars[b] = 0;
            }
        }
    }
    bars
}

/// The picture inside near-uniform borders of `pixels` (`channels` = 1 or 3 bytes per pixel,
/// `width` × `height`, row-major): up to two candidate boxes, best guess first — the bars as
/// found, and, when the two bars of an axis differ, that axis trimmed by the narrower of the
/// two on both sides (centred letterboxing and padding are symmetric; the extra on one side is
/// then the picture's own margin). Empty when there is no border worth trimming or the guard
/// rails refuse (too little left, mostly uniform). Never panics; never returns an empty box.
pub fn border_boxes(
    pixels: &[u8],
    channels: usize,
    width: u32,
    height: u32,
    rules: &TrimRules,
) -> Vec<TrimBox> {
    let (w, h) = (width as usize, height as usize);
    if !(channels == 1 || channels == 3) || w == 0 || h == 0 || pixels.len() < w * h * channels {
        return Vec::new();
    }
    let img = Image { px: pixels, channels, width: w };
    let top = bar(&img, rules, h, |k| Line { horizontal: true, at: k, from: 0, to: w });
    if top.0 == h {
        return Vec::new(); // uniform throughout: nothing to find
    }
    let bottom = bar(&img, rules, h - top.0, |k| Line { horizontal: true, at: h - 1 - k, from: 0, to: w });
    let (y0, y1) = (top.0, h - bottom.0);
    let left = bar(&img, rules, w, |k| Line { horizontal: false, at: k, from: y0, to: y1 });
    let right = bar(&img, rules, w - left.0, |k| Line { horizontal: false, at: w - 1 - k, from: y0, to: y1 });
    let found = frame([top, bottom, left, right], (w, h), rules);
    let mut symmetric = found;
    for (a, b) in [(0, 1), (2, 3)] {
        if found[a] > 0 && found[b] > 0 {
            let m = found[a].min(found[b]);
            symmetric[a] = m;
            symmetric[b] = m;
        }
    }
    let mut out = Vec::new();
    for [top, bottom, left, right] in [found, symmetric] {
        if top + bottom + left + right == 0 {
            continue;
        }
        let (kw, kh) = (w - left - right, h - top - bottom);
        let enough = |kept: usize, side: usize| {
            kept as f32 >= rules.min_keep_share * side as f32 && kept >= rules.min_side as usize
        };
        let b = TrimBox { x: left as u32, y: top as u32, width: kw as u32, height: kh as u32 };
        if enough(kw, w) && enough(kh, h) && !out.contains(&b) {
            out.push(b);
        }
    }
    out
}

/// The best guess of [`border_boxes`].
pub fn border_box(
    pixels: &[u8],
    channels: usize,
    width: u32,
    height: u32,
    rules: &TrimRules,
) -> Option<TrimBox> {
    border_boxes(pixels, channels, width, height, rules).into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pixels inside `b` (same `channels`): what the hasher reads in place.
    fn crop(pixels: &[u8], channels: usize, width: u32, b: TrimBox) -> Vec<u8> {
        let (w, c) = (width as usize, channels);
        let mut out = Vec::with_capacity(b.width as usize * b.height as usize * c);
        for y in b.y as usize..(b.y + b.height) as usize {
            let start = (y * w + b.x as usize) * c;
            out.extend_from_slice(&pixels[start..start + b.width as usize * c]);
        }
        out
    }

    /// A `w` × `h` picture with detail everywhere (a pattern no bar detector mistakes for a
    /// border).
    fn picture(w: usize, h: usize) -> Vec<u8> {
        (0..w * h)
            .flat_map(|i| {
                let (x, y) = (i % w, i / w);
                [((x * 7 + y * 13) % 251) as u8, ((x * x + y * 3) % 253) as u8, ((x ^ y) * 5 % 255) as u8]
            })
            .collect()
    }

    /// `inner` placed at (`x`, `y`) on a `w` × `h` canvas of `colour`.
    fn framed(
        inner: &[u8],
        (iw, ih): (usize, usize),
        (w, h): (usize, usize),
        (x, y): (usize, usize),
        colour: [u8; 3],
    ) -> Vec<u8> {
        let mut out: Vec<u8> = std::iter::repeat_n(colour, w * h).flatten().collect();
        for r in 0..ih {
            let dst = ((y + r) * w + x) * 3;
            out[dst..dst + iw * 3].copy_from_slice(&inner[r * iw * 3..(r + 1) * iw * 3]);
        }
        out
    }

    fn trim(px: &[u8], w: usize, h: usize) -> Option<TrimBox> {
        border_box(px, 3, w as u32, h as u32, &TrimRules::default())
    }

    #[test]
    fn letterbox_pillarbox_and_coloured_frames_are_found_exactly() {
        let inner = picture(120, 90);
        let letterbox = framed(&inner, (120, 90), (120, 160), (0, 35), [0, 0, 0]);
        assert_eq!(trim(&letterbox, 120, 160), Some(TrimBox { x: 0, y: 35, width: 120, height: 90 }));
        let pillar = framed(&inner, (120, 90), (200, 90), (40, 0), [255, 255, 255]);
        assert_eq!(trim(&pillar, 200, 90), Some(TrimBox { x: 40, y: 0, width: 120, height: 90 }));
        let frame = framed(&inner, (120, 90), (140, 130), (10, 20), [200, 30, 90]);
        assert_eq!(trim(&frame, 140, 130), Some(TrimBox { x: 10, y: 20, width: 120, height: 90 }));
        let one_side = framed(&inner, (120, 90), (120, 110), (0, 0), [12, 12, 12]);
        assert_eq!(trim(&one_side, 120, 110), Some(TrimBox { x: 0, y: 0, width: 120, height: 90 }));
    }

    #[test]
    fn noisy_bars_and_text_in_a_bar_are_still_bars() {
        let inner = picture(100, 80);
        let mut px = framed(&inner, (100, 80), (100, 140), (0, 30), [0, 0, 0]);
        // JPEG-like noise in the bars: ±10 per channel.
        for (i, v) in px.iter_mut().enumerate() {
            let row = i / 300;
            if !(30..110).contains(&row) {
                *v = v.saturating_add((i * 7919 % 11) as u8);
            }
        }
        // A line of "text" (every third pixel white) in the top bar.
        for x in (10..90).step_by(3) {
            for y in 12..16 {
                px[(y * 100 + x) * 3..(y * 100 + x) * 3 + 3].copy_from_slice(&[255, 255, 255]);
            }
        }
        assert_eq!(trim(&px, 100, 140), Some(TrimBox { x: 0, y: 30, width: 100, height: 80 }));
    }

    #[test]
    fn pictures_without_borders_mostly_uniform_ones_and_tiny_remainders_are_left_alone() {
        assert_eq!(trim(&picture(120, 90), 120, 90), None, "no border");
        let flat: Vec<u8> = std::iter::repeat_n([40u8, 90, 200], 100 * 100).flatten().collect();
        assert_eq!(trim(&flat, 100, 100), None, "uniform throughout");
        let speck = framed(&picture(10, 10), (10, 10), (100, 100), (45, 45), [0, 0, 0]);
        assert_eq!(trim(&speck, 100, 100), None, "what is left is too small to be the picture");
        let thin = framed(&picture(120, 89), (120, 89), (120, 90), (0, 1), [0, 0, 0]);
        assert_eq!(trim(&thin, 120, 90), None, "a one-pixel line is not a frame");
        assert_eq!(border_box(&[1, 2, 3], 3, 0, 0, &TrimRules::default()), None);
        assert_eq!(border_box(&[1, 2], 3, 10, 10, &TrimRules::default()), None, "short buffer");
        assert_eq!(border_box(&[0; 64], 2, 4, 4, &TrimRules::default()), None, "unknown layout");
    }

    #[test]
    fn grey_pictures_are_trimmed_too_and_crop_keeps_the_pixels() {
        let (w, h) = (80usize, 120usize);
        let grey: Vec<u8> = (0..w * h)
            .map(|i| if (30..90).contains(&(i / w)) { ((i * 37) % 256) as u8 } else { 0 })
            .collect();
        let b = border_box(&grey, 1, w as u32, h as u32, &TrimRules::default()).unwrap();
        assert_eq!(b, TrimBox { x: 0, y: 30, width: 80, height: 60 });
        let c = crop(&grey, 1, w as u32, b);
        assert_eq!(c.len(), 80 * 60);
        assert_eq!(&c[..80], &grey[30 * 80..31 * 80]);
    }

    proptest::proptest! {
        #[test]
        fn trimming_never_panics_and_never_returns_an_empty_box(
            w in 1u32..48, h in 1u32..48, seed in proptest::prelude::any::<u64>(), bars in 0u32..20, grey in proptest::prelude::any::<bool>()
        ) {
            let c = if grey { 1 } else { 3 };
            let mut px = Vec::with_capacity((w * h) as usize * c);
            let mut s = seed;
            for i in 0..(w * h) as usize * c {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let row = i / (w as usize * c);
                px.push(if (row as u32) < bars { 0 } else { (s >> 33) as u8 });
            }
            let rules = TrimRules { min_side: 1, ..TrimRules::default() };
            if let Some(b) = border_box(&px, c, w, h, &rules) {
                proptest::prop_assert!(b.width > 0 && b.height > 0);
                proptest::prop_assert!(b.x + b.width <= w && b.y + b.height <= h);
                proptest::prop_assert_eq!(crop(&px, c, w, b).len(), (b.width * b.height) as usize * c);
            }
        }
    }
}
