//! Helpers shared by the integration tests: temporary folders, generated images, running the
//! binary.

#![allow(dead_code, clippy::unwrap_used)]

pub mod kafka;
pub mod videos;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// A folder under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!(
            "hashline-test-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
        ));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    pub fn path_str(&self) -> &str {
        self.0.to_str().unwrap()
    }
    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The `[reporter]` and `[hotline]` settings delivery needs, for tests that deliver to a
/// local plain-HTTP test hotline (`allow_http` is for exactly that).
#[allow(dead_code)] // Not every test binary delivers.
pub const TEST_DELIVERY_TOML: &str = "[reporter]\norganisation = \"Test Platform\"\ncontact = \"safety@test.invalid\"\ncountry = \"KH\"\n\n[hotline]\nallow_http = true\n\n";

/// A store in `dir/store` with one list `l` imported from `text` (pytx-file format); returns
/// the store's path.
#[allow(dead_code)] // Not every test binary needs a store.
pub fn store_with_list(dir: &TempDir, text: &str) -> String {
    let list = dir.write("list.txt", text.as_bytes());
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    let out = hashline(&[
        "lists",
        "import",
        "--store",
        s,
        "--name",
        "l",
        "--format",
        "pytx-file",
        list.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    s.to_string()
}

/// A store whose list `synthetic` (classified `class`) has the MD5 of `exact` and the PDQ of
/// the picture `near` is a re-encoded copy of: one exact and one near match to test with.
#[allow(dead_code)] // Not every test binary needs one.
pub struct Known {
    /// The store's folder.
    pub store: String,
    /// A benign picture whose MD5 is listed (PNG).
    pub exact: Vec<u8>,
    /// A JPEG copy of a picture whose PDQ is listed.
    pub near: Vec<u8>,
}

/// [`Known`] with `w` × `h` pictures, the near copy at JPEG quality `quality`.
#[allow(dead_code)] // Not every test binary needs one.
pub fn known_store(dir: &TempDir, w: usize, h: usize, quality: i32, class: &str) -> Known {
    let exact = encode_png(&bridge_like(w, h), w, h);
    let mut other = bridge_like(w, h);
    other.reverse();
    let near_src = encode_png(&other, w, h);
    let near = encode_jpeg(&other, w, h, quality);
    let e = dir.write("known/exact.png", &exact);
    let n = dir.write("known/near-src.png", &near_src);
    let hashes = hashline(&["hash", e.to_str().unwrap(), n.to_str().unwrap()]).json_lines();
    let list =
        format!("md5 {}\npdq {}\n", hashes[0]["md5"].as_str().unwrap(), hashes[1]["pdq"].as_str().unwrap());
    let list = dir.write("known/list.txt", list.as_bytes());
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    let args =
        ["lists", "import", "--store", s, "--name", "synthetic", "--format", "pytx-file", "--classification"];
    let out = hashline(&[&args[..], &[class, list.to_str().unwrap()]].concat());
    assert_eq!(out.code, 0, "{}", out.stderr);
    Known { store: s.to_string(), exact, near }
}

/// What a run of the binary printed.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
    }
}

/// Runs the `hashline` binary built for these tests.
pub fn hashline(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_hashline")).args(args).output().expect("run hashline");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A benign landscape-like picture: sky gradient, hills, a sun, some texture.
pub fn bridge_like(w: usize, h: usize) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
            let hill = 0.6 + 0.15 * (fx * 9.0).sin() + 0.05 * (fx * 23.0).cos();
            let sun = ((fx - 0.75).powi(2) + (fy - 0.25).powi(2)).sqrt() < 0.08;
            let texture = ((x * 7 + y * 13) % 17) as f32;
            // A tiled façade in the lower left: strong edges, so PDQ quality is high.
            let facade = fx < 0.45 && fy > 0.35 && ((x / 9) + (y / 7)) % 3 == 0;
            let px = if facade {
                [200.0 - 80.0 * fx, 190.0, 170.0 + texture]
            } else if sun {
                [250.0, 220.0, 90.0]
            } else if fy > hill {
                [40.0 + texture, 120.0 + 60.0 * fy, 50.0]
            } else {
                [90.0 + 100.0 * fy, 150.0 + 60.0 * fy, 230.0 - 20.0 * fy]
            };
            rgb.extend(px.map(|v: f32| v.clamp(0.0, 255.0) as u8));
        }
    }
    rgb
}

pub fn encode_jpeg(rgb: &[u8], w: usize, h: usize, quality: i32) -> Vec<u8> {
    let image = turbojpeg::Image {
        pixels: rgb,
        width: w,
        pitch: w * 3,
        height: h,
        format: turbojpeg::PixelFormat::RGB,
    };
    turbojpeg::compress(image, quality, turbojpeg::Subsamp::Sub2x2).unwrap().to_vec()
}

pub fn encode_png(rgb: &[u8], w: usize, h: usize) -> Vec<u8> {
    encode_with(rgb, w, h, image::ImageFormat::Png)
}

pub fn encode_with(rgb: &[u8], w: usize, h: usize, format: image::ImageFormat) -> Vec<u8> {
    let img = image::RgbImage::from_raw(w as u32, h as u32, rgb.to_vec()).unwrap();
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img).write_to(&mut out, format).unwrap();
    out.into_inner()
}

pub fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            // Avoid an accidental magic number at the start.
            (s >> 24) as u8 | 0x01
        })
        .collect()
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(data);
    c.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    c
}

/// A valid PNG header claiming `w`×`h` RGB pixels, followed by a tiny IDAT: a decompression
/// bomb's signature without the payload.
pub fn png_bomb_header(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(b"IDAT", &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]));
    png.extend(chunk(b"IEND", &[]));
    png
}

/// Runs the binary with `input` on standard input.
pub fn run_with_stdin(args: &[&str], input: &str) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_hashline"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run hashline");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs the binary with extra environment variables, in `cwd`.
pub fn hashline_in(cwd: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hashline"));
    cmd.current_dir(cwd).args(args).env_remove("HASHLINE_STORE").env_remove("HASHLINE_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run hashline");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Every `hashline_*` metric name the Grafana dashboard and the Prometheus rules query, with
/// histogram suffixes (`_bucket`, `_sum`, `_count`) removed.
pub fn deploy_metric_names() -> std::collections::BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
    let mut text = std::fs::read_to_string(root.join("grafana/dashboards/hashline.json")).unwrap();
    text.push_str(&std::fs::read_to_string(root.join("prometheus/alerts.yml")).unwrap());
    let mut names = std::collections::BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(pos) = text[i..].find("hashline_") {
        let start = i + pos;
        let mut end = start;
        while end < bytes.len()
            && (bytes[end].is_ascii_lowercase() || bytes[end].is_ascii_digit() || bytes[end] == b'_')
        {
            end += 1;
        }
        let mut name = &text[start..end];
        for suffix in ["_bucket", "_sum", "_count"] {
            name = name.strip_suffix(suffix).unwrap_or(name);
        }
        // Names inside words (e.g. "docs/operations.md#hashlinenotprocessing") are not metrics.
        if start == 0 || !bytes[start - 1].is_ascii_alphanumeric() {
            names.insert(name.to_string());
        }
        i = end.max(start + 1);
    }
    names
}

/// The metric family names in a Prometheus text exposition.
pub fn exported_names(metrics: &str) -> std::collections::BTreeSet<String> {
    metrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(String::from)
        .collect()
}

/// Runs `promtool check metrics` on an exposition when promtool is installed (CI installs it).
pub fn promtool_check_metrics(metrics: &str) {
    use std::io::Write;
    let Ok(mut child) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    else {
        assert!(std::env::var_os("CI").is_none(), "CI must install promtool (deploy/check does)");
        eprintln!("skipping promtool check metrics: promtool not installed");
        return;
    };
    child.stdin.take().unwrap().write_all(metrics.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}\non:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        &metrics[..metrics.len().min(300)]
    );
}

/// A child process killed (and reaped) when dropped, so a failed assertion leaves nothing
/// running.
pub struct KillOnDrop(pub Option<std::process::Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs FFmpeg (test media only: benign drawn videos); panics with its message on failure.
#[allow(dead_code)] // Not every test binary makes videos.
pub fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg").args(["-v", "error", "-y"]).args(args).output().unwrap();
    assert!(out.status.success(), "ffmpeg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}
