//! Per-stage costs of hashing one image: decode, luma, Jarosz downsample, DCT, bits, digests,
//! and the whole `Hasher::hash`. Inputs are generated (benign, deterministic): a smooth scene
//! with texture, encoded as JPEG (quality 90, 4:2:0) and PNG at 1600×1000 and 4000×3000.
//!
//! Run: `cargo bench -p hashline-hash --bench stages`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hashline_hash::{digests, luma_from_rgb, stages, HashOptions, Hasher, Mode, Scratch};
use std::hint::black_box;

fn scene(width: usize, height: usize) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(width * height * 3);
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for y in 0..height {
        for x in 0..width {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state & 15) as f32;
            let (fx, fy) = (x as f32 / width as f32, y as f32 / height as f32);
            let r = 120.0 + 100.0 * (fx * 7.0).sin() * (fy * 3.0).cos() + noise;
            let g = 128.0 + 90.0 * (fx * 2.0 + fy * 5.0).sin() + noise;
            let b = 100.0 + 80.0 * ((fx - 0.5).hypot(fy - 0.5) * 20.0).cos() + noise;
            rgb.extend([r, g, b].map(|v| v.clamp(0.0, 255.0) as u8));
        }
    }
    rgb
}

fn jpeg(rgb: &[u8], width: usize, height: usize) -> Vec<u8> {
    let image = turbojpeg::Image {
        pixels: rgb,
        width,
        pitch: width * 3,
        height,
        format: turbojpeg::PixelFormat::RGB,
    };
    turbojpeg::compress(image, 90, turbojpeg::Subsamp::Sub2x2).expect("encode JPEG").to_vec()
}

fn png(rgb: &[u8], width: usize, height: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let encoder = image::codecs::png::PngEncoder::new(&mut out);
    image::ImageEncoder::write_image(
        encoder,
        rgb,
        width as u32,
        height as u32,
        image::ExtendedColorType::Rgb8,
    )
    .expect("encode PNG");
    out
}

fn bench(c: &mut Criterion) {
    for (width, height) in [(1600usize, 1000usize), (4000, 3000)] {
        let label = format!("{width}x{height}");
        let rgb = scene(width, height);
        let jpg = jpeg(&rgb, width, height);
        let png = png(&rgb, width, height);
        let pixels = (width * height) as u64;

        let mut g = c.benchmark_group("stage");
        g.throughput(Throughput::Elements(pixels));
        let mut hasher = Hasher::new(HashOptions::default());
        g.bench_function(BenchmarkId::new("decode_jpeg", &label), |b| {
            b.iter(|| hasher.decode(black_box(&jpg)).expect("decode"))
        });
        g.bench_function(BenchmarkId::new("decode_png", &label), |b| {
            b.iter(|| hasher.decode(black_box(&png)).expect("decode"))
        });
        let mut scratch = Scratch::default();
        g.bench_function(BenchmarkId::new("luma", &label), |b| {
            b.iter(|| luma_from_rgb(black_box(&rgb), scratch.luma_mut()))
        });
        let mut luma = Vec::new();
        luma_from_rgb(&rgb, &mut luma);
        g.bench_function(BenchmarkId::new("jarosz_downsample", &label), |b| {
            b.iter(|| stages::downsample(black_box(&luma), height, width, &mut scratch))
        });
        g.bench_function(BenchmarkId::new("luma_and_downsample", &label), |b| {
            b.iter(|| stages::downsample_rgb(black_box(&rgb), height, width, &mut scratch))
        });
        g.finish();

        let mut g = c.benchmark_group("hash");
        g.throughput(Throughput::Bytes(jpg.len() as u64));
        for mode in [Mode::Exact, Mode::Fast] {
            let mut hasher = Hasher::new(HashOptions { mode, ..HashOptions::default() });
            g.bench_function(BenchmarkId::new(format!("jpeg_{}", mode.as_str()), &label), |b| {
                b.iter(|| hasher.hash(black_box(&jpg)))
            });
        }
        g.finish();
    }

    let mut small = Vec::new();
    luma_from_rgb(&scene(64, 64), &mut small);
    let a = stages::downsample(&small, 64, 64, &mut Scratch::default());
    let mut g = c.benchmark_group("stage");
    g.bench_function("dct_64_to_16", |b| b.iter(|| stages::dct(black_box(&a))));
    let coeffs = stages::dct(&a);
    g.bench_function("quality_and_bits", |b| {
        b.iter(|| stages::quality_and_bits(black_box(&a), black_box(&coeffs)))
    });
    g.finish();

    let data: Vec<u8> = (0..16u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let mut g = c.benchmark_group("digests");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("md5_sha1_sha256_16MiB", |b| b.iter(|| digests(black_box(&data))));
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
