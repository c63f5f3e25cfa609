//! A server state over a temporary store with two synthetic lists and three tokens.
#![allow(dead_code, clippy::unwrap_used)]

pub mod pages;

use std::path::PathBuf;
use std::sync::Arc;

use hashline_lists::{formats::Format, ImportRequest, Store};
use hashline_server::{AppState, Scope, ServerConfig};

pub const MD5_A: &str = "0123456789abcdef0123456789abcdef";
pub const MD5_B: &str = "fedcba9876543210fedcba9876543210";

pub struct Fixture {
    pub dir: PathBuf,
    pub state: Arc<AppState>,
    /// Sees every list.
    pub all: String,
    /// Sees list "b" only.
    pub only_b: String,
    /// Metrics only.
    pub metrics: String,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn import(store: &Store, name: &str, lines: &str) {
    store
        .import(ImportRequest {
            name: name.into(),
            format: Format::PytxFile,
            signal: None,
            strict: true,
            source: Some("synthetic test list".into()),
            kind: None,
            classification: Some("A2".parse().unwrap()),
            thresholds: None,
            replace: false,
            files: vec![("in.txt".into(), lines.as_bytes().to_vec())],
            signatures: vec![],
            allow_empty: false,
            max_drop_percent: None,
        })
        .unwrap();
}

pub fn fixture_with(config: impl Into<hashline_server::Settings>, pdq: Option<&str>) -> Fixture {
    fixture_with_lists(config, pdq, "")
}

/// [`fixture_with`], with `extra` pytx-file lines in list "a".
pub fn fixture_with_lists(
    config: impl Into<hashline_server::Settings>,
    pdq: Option<&str>,
    extra: &str,
) -> Fixture {
    let dir = std::env::temp_dir().join(format!("hashline-server-{}", hashline_report::random_id()));
    let store = Store::open(dir.join("store")).unwrap();
    let mut a = format!("md5 {MD5_A}\n");
    if let Some(p) = pdq {
        a.push_str(&format!("pdq {p}\n"));
    }
    a.push_str(extra);
    import(&store, "a", &a);
    import(&store, "b", &format!("md5 {MD5_B}\n"));
    let data = hashline_report::DataDir::open(&dir.join("data"), &Default::default()).unwrap();
    let state = AppState::open(store, &data, config.into()).unwrap();
    let (all, _) = state.tokens.create("platform-all", Scope::Match, None, None).unwrap();
    let (only_b, _) = state.tokens.create("platform-b", Scope::Match, Some(vec!["b".into()]), None).unwrap();
    let (metrics, _) = state.tokens.create("prometheus", Scope::Metrics, None, None).unwrap();
    Fixture { dir, state: Arc::new(state), all, only_b, metrics }
}

pub fn fixture() -> Fixture {
    fixture_with(ServerConfig::default(), None)
}

/// A benign synthetic picture as PNG.
pub fn png(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let v = ((x * 7 + y * 3 + seed * 11) % 256) as u8;
        let band = if (x / 16 + y / 16 + seed).is_multiple_of(2) { 200 } else { 40 };
        image::Rgb([v, band, 255 - v])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A multipart upload (`files`: field name and bytes), as HMA clients send media.
pub fn multipart(path: &str, token: &str, files: &[(&str, &[u8])]) -> axum::http::Request<axum::body::Body> {
    let boundary = "hashline-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (field, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"upload.bin\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    axum::http::Request::post(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(axum::body::Body::from(body))
        .unwrap()
}
