//! `hashline demo`: the whole chain — hash, match, report — on generated, benign pictures.
//!
//! Deterministic: procedural pictures (gradients, shapes, tiles, noise, stripes), copies of
//! some of them altered the ways uploads are (re-encoded, resized, greyscale, watermarked,
//! rotated, mirrored, pillarboxed), synthetic lists built from the originals, then a scan.
//! With FFmpeg installed, videos too (`demo_video`): a listed slideshow of the originals and a
//! re-encoded copy of it, and a video showing a listed picture for three seconds.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use hashline_hash::{HashOptions, Hasher, PdqOutcome};
use hashline_lists::formats::Format;
use hashline_lists::{Classification, ImportRequest, Store};

use crate::cmd_lists::StoreArg;
use crate::cmd_scan::{scan, ScanArgs};

/// Arguments of `hashline demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Folder for the demo pictures, lists and reports (replaced if it holds an earlier demo).
    #[arg(long, value_name = "DIR", default_value = "hashline-demo")]
    dir: PathBuf,
}

/// An RGB picture.
#[derive(Clone)]
struct Pic {
    w: usize,
    h: usize,
    rgb: Vec<u8>,
}

impl Pic {
    fn new(w: usize, h: usize, f: impl Fn(f32, f32, usize, usize) -> [f32; 3]) -> Pic {
        let mut rgb = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                let p = f(x as f32 / w as f32, y as f32 / h as f32, x, y);
                rgb.extend(p.map(|v| v.clamp(0.0, 255.0) as u8));
            }
        }
        Pic { w, h, rgb }
    }
    fn px(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.w + x) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }
    fn half(&self) -> Pic {
        let (w, h) = (self.w / 2, self.h / 2);
        let mut rgb = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                for c in 0..3 {
                    let s: u32 = [(0, 0), (1, 0), (0, 1), (1, 1)]
                        .iter()
                        .map(|(dx, dy)| u32::from(self.px(2 * x + dx, 2 * y + dy)[c]))
                        .sum();
                    rgb.push(((s + 2) / 4) as u8);
                }
            }
        }
        Pic { w, h, rgb }
    }
    fn rotate90(&self) -> Pic {
        let (w, h) = (self.h, self.w);
        let mut rgb = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                rgb.extend(self.px(y, self.h - 1 - x));
            }
        }
        Pic { w, h, rgb }
    }
    fn mirror(&self) -> Pic {
        let mut rgb = Vec::with_capacity(self.rgb.len());
        for y in 0..self.h {
            for x in 0..self.w {
                rgb.extend(self.px(self.w - 1 - x, y));
            }
        }
        Pic { w: self.w, h: self.h, rgb }
    }
    fn grey(&self) -> Pic {
        let rgb = self
            .rgb
            .chunks_exact(3)
            .flat_map(|p| {
                let l = (0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2])) as u8;
                [l, l, l]
            })
            .collect();
        Pic { rgb, ..*self }
    }
    /// Black bars left and right, as when a picture is fitted into a 16:9 frame.
    fn pillarbox(&self) -> Pic {
        let bar = self.w / 5;
        let w = self.w + 2 * bar;
        let mut rgb = vec![0u8; w * self.h * 3];
        for y in 0..self.h {
            let dst = (y * w + bar) * 3;
            rgb[dst..dst + self.w * 3].copy_from_slice(&self.rgb[y * self.w * 3..(y + 1) * self.w * 3]);
        }
        Pic { w, h: self.h, rgb }
    }
    fn watermark(&self) -> Pic {
        let mut p = self.clone();
        // A translucent white badge with a dark border in the lower right corner.
        let (x0, x1, y0, y1) = (p.w * 72 / 100, p.w * 96 / 100, p.h * 88 / 100, p.h * 95 / 100);
        for y in y0..y1 {
            for x in x0..x1 {
                let i = (y * p.w + x) * 3;
                let border = y < y0 + 2 || y + 2 >= y1 || x < x0 + 2 || x + 2 >= x1;
                for c in 0..3 {
                    let v = u16::from(p.rgb[i + c]);
                    p.rgb[i + c] = if border { 30 } else { ((v * 3 + 255 * 2) / 5) as u8 };
                }
            }
        }
        p
    }
    fn png(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let encoder = image::codecs::png::PngEncoder::new(&mut out);
        // Encoding into memory cannot fail for a well-formed buffer.
        let _ = image::ImageEncoder::write_image(
            encoder,
            &self.rgb,
            self.w as u32,
            self.h as u32,
            image::ExtendedColorType::Rgb8,
        );
        out
    }
    fn jpeg(&self, quality: i32) -> anyhow::Result<Vec<u8>> {
        let image = turbojpeg::Image {
            pixels: &self.rgb[..],
            width: self.w,
            pitch: self.w * 3,
            height: self.h,
            format: turbojpeg::PixelFormat::RGB,
        };
        Ok(turbojpeg::compress(image, quality, turbojpeg::Subsamp::Sub2x2)?.to_vec())
    }
}

fn noise(x: usize, y: usize, seed: u32) -> f32 {
    let mut h = (x as u32).wrapping_mul(374_761_393)
        ^ (y as u32).wrapping_mul(668_265_263)
        ^ seed.wrapping_mul(2_246_822_519);
    h = (h ^ (h >> 13)).wrapping_mul(1_274_126_177);
    (h >> 24) as f32
}

fn value_noise(fx: f32, fy: f32, cells: f32, seed: u32) -> f32 {
    let (gx, gy) = (fx * cells, fy * cells);
    let (x0, y0) = (gx.floor(), gy.floor());
    let (tx, ty) = (gx - x0, gy - y0);
    let (sx, sy) = (tx * tx * (3.0 - 2.0 * tx), ty * ty * (3.0 - 2.0 * ty));
    let n = |dx: f32, dy: f32| noise((x0 + dx) as usize, (y0 + dy) as usize, seed);
    let top = n(0.0, 0.0) * (1.0 - sx) + n(1.0, 0.0) * sx;
    let bottom = n(0.0, 1.0) * (1.0 - sx) + n(1.0, 1.0) * sx;
    top * (1.0 - sy) + bottom * sy
}

/// The originals: four that the demo lists know, two that they do not.
fn originals() -> Vec<(&'static str, Pic)> {
    let (w, h) = (640, 480);
    vec![
        (
            "sunset",
            Pic::new(w, h, |fx, fy, _, _| {
                let sun = ((fx - 0.7).powi(2) + (fy - 0.35).powi(2)).sqrt() < 0.12;
                let hill = fy > 0.62 + 0.08 * (fx * 11.0).sin() + 0.04 * (fx * 37.0).cos();
                let grain = value_noise(fx, fy, 24.0, 11) - 128.0;
                let cloud = value_noise(fx, fy, 5.0, 12);
                if sun {
                    [255.0, 200.0 + grain * 0.2, 80.0]
                } else if hill {
                    [30.0 + grain * 0.5, 70.0 + 60.0 * fy + grain * 0.8, 40.0]
                } else {
                    let c = (cloud - 140.0).max(0.0);
                    [250.0 - 120.0 * fy + c, 120.0 + 40.0 * fy + c, 90.0 + 120.0 * fy + c]
                }
            }),
        ),
        (
            "tiles",
            Pic::new(w, h, |fx, fy, x, y| {
                let (tx, ty) = (x / 53, y / 37);
                let shade = noise(tx, ty, 5) * 0.6;
                let grout = x % 53 < 3 || y % 37 < 3;
                if grout {
                    [230.0, 225.0, 210.0]
                } else {
                    [shade + 40.0 * fx, shade * 0.8 + 30.0 * fy + 20.0, 120.0 + 60.0 * (fx - fy)]
                }
            }),
        ),
        (
            "clouds",
            Pic::new(w, h, |fx, fy, _, _| {
                let n = 0.6 * value_noise(fx, fy, 6.0, 1)
                    + 0.3 * value_noise(fx, fy, 13.0, 2)
                    + 0.1 * value_noise(fx, fy, 29.0, 3);
                [n * 0.7 + 40.0, n * 0.8 + 50.0, n + 20.0]
            }),
        ),
        (
            "stripes",
            Pic::new(w, h, |fx, fy, x, _| {
                let band = (x / 24) % 3;
                let circle = ((fx - 0.3).powi(2) + (fy - 0.6).powi(2)).sqrt() < 0.18;
                match (circle, band) {
                    (true, _) => [20.0, 20.0, 160.0 + 90.0 * fy],
                    (_, 0) => [220.0, 60.0, 60.0],
                    (_, 1) => [240.0, 240.0, 230.0],
                    _ => [60.0 + 100.0 * fy, 150.0, 80.0],
                }
            }),
        ),
        (
            "rings",
            Pic::new(w, h, |fx, fy, _, _| {
                let r = ((fx - 0.5).powi(2) + (fy - 0.5).powi(2)).sqrt();
                let v = (r * 60.0).sin() * 0.5 + 0.5;
                [255.0 * v, 128.0 + 100.0 * (fx - 0.5), 255.0 * (1.0 - v)]
            }),
        ),
        (
            "marble",
            Pic::new(w, h, |fx, fy, _, _| {
                let n = value_noise(fx, fy, 8.0, 7);
                let v = ((fx * 12.0 + n / 20.0).sin() * 0.5 + 0.5) * 200.0 + 30.0;
                [v, v * 0.9, v * 0.8 + 20.0]
            }),
        ),
    ]
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(dir.join(name), bytes).with_context(|| format!("writing {}", dir.join(name).display()))
}

/// An empty demo folder (an earlier demo is replaced; anything else is refused) with its
/// `media` and `lists` folders.
fn prepare(dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    if dir.join(".hashline-demo").is_file() {
        std::fs::remove_dir_all(dir)
            .with_context(|| format!("clearing the earlier demo in {}", dir.display()))?;
    } else if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        anyhow::bail!("{} exists and is not an earlier demo; choose another --dir", dir.display());
    }
    let media = dir.join("media");
    let lists_dir = dir.join("lists");
    std::fs::create_dir_all(&media)?;
    std::fs::create_dir_all(&lists_dir)?;
    std::fs::write(dir.join(".hashline-demo"), "made by `hashline demo`; safe to delete\n")?;

    Ok((media, lists_dir))
}

/// The originals, their altered copies, pictures the lists do not know, and the synthetic
/// lists: the PDQ of the known originals and the MD5 of one file, among random values; with
/// FFmpeg, the demo videos and the vPDQ list of the slideshow. Returns whether videos were made.
fn draw(dir: &Path, media: &Path, lists_dir: &Path) -> anyhow::Result<bool> {
    let mut hasher = Hasher::new(HashOptions::default());
    let mut pdq_lines = String::from("# synthetic demo list: PDQ of the procedurally drawn originals\n");
    let mut md5_lines = String::from("# synthetic demo list: MD5 of one original file, plus random values\n");
    let originals = originals();
    for (i, (name, pic)) in originals.iter().enumerate() {
        let png = pic.png();
        let known = i < 4;
        let original_dir = if known { dir.join("originals") } else { media.to_path_buf() };
        std::fs::create_dir_all(&original_dir)?;
        write(&original_dir, &format!("{name}.png"), &png)?;
        if !known {
            continue;
        }
        if let PdqOutcome::Hashed { pdq, .. } = hasher.pdq(&png) {
            pdq_lines.push_str(&format!("pdq {}\n", pdq.hash));
        }
        if i == 0 {
            md5_lines.push_str(&format!("{}\n", hashline_hash::digests(&png).md5_hex()));
            write(media, &format!("{name}-exact-copy.png"), &png)?;
        }
        write(media, &format!("{name}-reencoded.jpg"), &pic.jpeg(60)?)?;
        write(media, &format!("{name}-resized.png"), &pic.half().png())?;
        if i == 3 {
            write(media, &format!("{name}-pillarboxed.jpg"), &pic.pillarbox().jpeg(85)?)?;
        }
        match i {
            0 => write(media, &format!("{name}-rotated.jpg"), &pic.rotate90().jpeg(85)?)?,
            1 => write(media, &format!("{name}-mirrored.png"), &pic.mirror().png())?,
            2 => write(media, &format!("{name}-greyscale.jpg"), &pic.grey().jpeg(85)?)?,
            _ => write(media, &format!("{name}-watermarked.jpg"), &pic.watermark().jpeg(85)?)?,
        }
    }
    write(media, "notes.txt", b"Not an image: digested, skipped for PDQ.\n")?;
    // Random synthetic entries, so the index is not trivially small.
    let mut s = 0x0005_DEEC_E66D_u64;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    for _ in 0..200 {
        pdq_lines.push_str(&format!("pdq {:016x}{:016x}{:016x}{:016x}\n", next(), next(), next(), next()));
        md5_lines.push_str(&format!("{:016x}{:016x}\n", next(), next()));
    }
    write(lists_dir, "demo-pdq.txt", pdq_lines.as_bytes())?;
    write(lists_dir, "demo-md5.hex", md5_lines.as_bytes())?;
    if !crate::demo_video::ffmpeg_available() {
        return Ok(false);
    }
    let pngs: Vec<Vec<u8>> = originals.iter().map(|(_, p)| p.png()).collect();
    let known: Vec<&[u8]> = pngs[..4].iter().map(Vec::as_slice).collect();
    let unknown = [pngs[pngs.len() - 1].as_slice(), pngs[pngs.len() - 2].as_slice()];
    crate::demo_video::draw(dir, media, lists_dir, &known, unknown)?;
    Ok(true)
}

/// The demo's store, with the synthetic lists imported (the vPDQ list when there are
/// videos); returns its folder.
fn import_lists(dir: &Path, lists_dir: &Path, videos: bool) -> anyhow::Result<PathBuf> {
    let store_dir = dir.join("store");
    let store = Store::open(&store_dir)?;
    let mut lists =
        vec![("demo-pdq", Format::PytxFile, "demo-pdq.txt"), ("demo-md5", Format::Hex, "demo-md5.hex")];
    if videos {
        lists.push(("demo-vpdq", Format::VpdqFiles, "demo-clip.txt"));
    }
    for (name, format, file) in lists {
        store.import(ImportRequest {
            name: name.into(),
            format,
            signal: None,
            strict: true,
            source: Some("synthetic-demo".into()),
            kind: None,
            classification: Some(Classification::Other("demo".into())),
            thresholds: None,
            replace: true,
            files: vec![(file.into(), std::fs::read(lists_dir.join(file))?)],
            signatures: vec![],
            allow_empty: false,
            max_drop_percent: None,
        })?;
    }

    Ok(store_dir)
}

pub fn run(args: DemoArgs, config: &crate::config::Config) -> anyhow::Result<ExitCode> {
    let dir = &args.dir;
    let (media, lists_dir) = prepare(dir)?;
    let videos = draw(dir, &media, &lists_dir)?;
    let store_dir = import_lists(dir, &lists_dir, videos)?;
    let out = dir.join("reports");
    let scan_args = ScanArgs {
        paths: vec![media.clone()],
        store: StoreArg { store: Some(store_dir.clone()) },
        out: Some(out.clone()),
        mode: Some(crate::cmd_hash::ModeArg::Exact),
        dihedral: true,
        jobs: None,
        follow_links: false,
        json: false,
        data_dir: Some(dir.join("data")),
        metrics_out: None,
    };
    // The demo preserves matched media under a key of its own, so the whole chain runs.
    let mut config = config.clone();
    if config.evidence.key_file.is_none() && std::env::var_os("HASHLINE_EVIDENCE_KEY").is_none() {
        let key = dir.join("evidence.key");
        let _ = std::fs::remove_file(&key);
        hashline_lists::fsio::create_private(
            &key,
            (hashline_report::Keyring::generate()? + "\n").as_bytes(),
        )?;
        config.evidence.key_file = Some(key);
    }
    let summary = scan(&scan_args, &config, true)?;

    tell(&summary, dir, &media, &out, &store_dir)?;
    if !videos {
        println!("Videos:  skipped (FFmpeg not found; `scripts/install-deps` installs it)");
    }
    Ok(ExitCode::SUCCESS)
}

/// What the demo found and what to try next, in sentences.
fn tell(
    summary: &crate::cmd_scan::Summary,
    dir: &Path,
    media: &Path,
    out: &Path,
    store_dir: &Path,
) -> anyhow::Result<()> {
    println!(
        "hashline demo — every picture and video here is procedurally drawn and benign; every list is \
         synthetic.\n"
    );
    let lists: Vec<String> = summary.lists.iter().map(|(name, v)| format!("{name} v{v}")).collect();
    println!(
        "Scanned {} files in {} ({:.1} files/s) against the lists {}:",
        summary.files,
        media.display(),
        summary.files_per_s,
        lists.join(", ")
    );
    let mut rows: Vec<(String, String)> = Vec::new();
    for name in &summary.reports {
        let report: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join(name))?)?;
        let file = report["file"]["name"].as_str().unwrap_or("?").to_string();
        let why: Vec<String> = report["matches"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| {
                let how = match m["signal"].as_str() {
                    Some("vpdq") => format!(
                        "vPDQ {:.0} % of the video's frames ({:.0} % of the listed video's)",
                        m["video"]["query_percent"].as_f64().unwrap_or(0.0),
                        m["video"]["compared_percent"].as_f64().unwrap_or(0.0)
                    ),
                    Some("pdq") if m["video"].is_object() => {
                        let times: Vec<String> = m["video"]["frames"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|f| format!("{} s", f["timestamp"]))
                            .collect();
                        format!("PDQ distance {} in the frames at {}", m["distance"], times.join(", "))
                    }
                    Some("pdq") if m["border_trimmed"].is_object() => {
                        format!(
                            "PDQ distance {} (border_trimmed: the picture inside black bars)",
                            m["distance"]
                        )
                    }
                    Some("pdq") => format!(
                        "PDQ distance {} ({})",
                        m["distance"],
                        m["dihedral"].as_str().unwrap_or("original")
                    ),
                    Some(s) => format!("{s} exact"),
                    None => "?".into(),
                };
                format!("{} v{} {}", m["list"].as_str().unwrap_or("?"), m["list_version"], how)
            })
            .collect();
        rows.push((file, why.join("; ")));
    }
    rows.sort();
    for (file, why) in &rows {
        println!("  MATCH  {file:<28} {why}");
    }
    println!(
        "\n{} of {} files matched; {} not images (digests only; {} of them videos, hashed with vPDQ); {} errors. \
         Pictures the lists do not know (rings, marble) did not match.",
        summary.matched_files,
        summary.files,
        summary.pdq_skipped_not_image,
        summary.videos_hashed,
        summary.errors
    );
    println!("Reports: {}  (one hashline.report/1 JSON per matched file, plus summary.json)", out.display());
    let data = dir.join("data");
    println!(
        "Outbox:  {} queued for delivery (exact digest matches), {} waiting for analyst review (PDQ near \
         matches); matched media preserved encrypted in {}",
        plural(summary.reports_queued, "report"),
        plural(summary.reports_for_review, "report"),
        data.join("evidence").display()
    );
    println!("         hashline reports list --data-dir {}", data.display());
    println!("Try:     hashline scan {} --store {} --dihedral --json", media.display(), store_dir.display());
    println!(
        "Review:  hashline users add you --role analyst --data-dir {data}\n         \
         HASHLINE_EVIDENCE_KEY=$(cat {key}) hashline serve --no-api --store {store} --data-dir {data}\n         \
         then open http://127.0.0.1:8080/ (media blurred until you reveal it)",
        data = data.display(),
        key = dir.join("evidence.key").display(),
        store = store_dir.display(),
    );
    Ok(())
}

/// "1 report", "2 reports".
fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
