//! A scripted hotline for tests (feature `testing`): answers `POST /reports` according to a
//! schedule (accept, fail with a status, throttle, take the report and never answer, refuse
//! one upload) and records which idempotency keys it accepted. Used by this crate's delivery
//! tests and by the CLI's crash tests.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State as AxState;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::model::Report;

/// What the hotline does with the next request (after the schedule runs out: accept).
#[derive(Clone, Debug)]
pub enum Act {
    /// 201, the report is accepted.
    Accept,
    /// Answer with this status, accept nothing.
    Status(u16),
    /// 429 with `Retry-After: 1`.
    Throttle,
    /// Accept the report, then answer only after this long (past the client's timeout: the
    /// answer is lost).
    AcceptThenHang(Duration),
    /// 400 for this upload id (accept any other).
    RefuseUpload(String),
}

/// What the hotline saw.
#[derive(Default, Debug)]
pub struct Seen {
    /// Accepted idempotency keys, in order, each once.
    pub accepted: Vec<String>,
    /// Every request's key, duplicates included.
    pub requests: Vec<String>,
    /// Requests without the expected bearer token.
    pub bad_auth: usize,
}

struct Inner {
    schedule: VecDeque<Act>,
    token: Option<String>,
    seen: Seen,
}

/// A running test hotline.
#[derive(Clone)]
pub struct TestHotline {
    /// Where it listens.
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

async fn intake(AxState(h): AxState<Arc<Mutex<Inner>>>, headers: HeaderMap, body: String) -> Response {
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let report: Report = match serde_json::from_str(&body) {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let act = {
        let mut h = h.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = &h.token {
            let got = headers.get("authorization").and_then(|v| v.to_str().ok());
            if got != Some(format!("Bearer {t}").as_str()) {
                h.seen.bad_auth += 1;
                return StatusCode::UNAUTHORIZED.into_response();
            }
        }
        h.seen.requests.push(key.clone());
        let act = h.schedule.pop_front().unwrap_or(Act::Accept);
        let accept = match &act {
            Act::Accept | Act::AcceptThenHang(_) => true,
            Act::RefuseUpload(u) => &report.incident.upload_id != u,
            Act::Status(_) | Act::Throttle => false,
        };
        if accept && !h.seen.accepted.contains(&key) {
            h.seen.accepted.push(key);
        }
        act
    };
    match act {
        Act::Accept => (StatusCode::CREATED, "{}").into_response(),
        Act::Status(s) => (StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), "try later")
            .into_response(),
        Act::Throttle => (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], "slow down").into_response(),
        Act::AcceptThenHang(d) => {
            tokio::time::sleep(d).await;
            StatusCode::CREATED.into_response()
        }
        Act::RefuseUpload(u) if report.incident.upload_id == u => {
            (StatusCode::BAD_REQUEST, "field incident.platform: unknown platform").into_response()
        }
        Act::RefuseUpload(_) => (StatusCode::CREATED, "{}").into_response(),
    }
}

impl TestHotline {
    /// Starts on `addr` (port 0 for any) in the current tokio runtime.
    pub async fn start_on(
        addr: SocketAddr,
        schedule: Vec<Act>,
        token: Option<&str>,
    ) -> std::io::Result<TestHotline> {
        let inner = Arc::new(Mutex::new(Inner {
            schedule: schedule.into(),
            token: token.map(Into::into),
            seen: Seen::default(),
        }));
        let app =
            axum::Router::new().route("/reports", axum::routing::post(intake)).with_state(Arc::clone(&inner));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(TestHotline { addr, inner })
    }

    /// Starts on a free loopback port.
    pub async fn start(schedule: Vec<Act>, token: Option<&str>) -> std::io::Result<TestHotline> {
        TestHotline::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), schedule, token).await
    }

    /// Starts on its own thread and runtime, for synchronous tests; lives until the process
    /// ends.
    pub fn start_background(schedule: Vec<Act>, token: Option<&str>) -> std::io::Result<TestHotline> {
        let token = token.map(String::from);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            rt.block_on(async move {
                let _ = tx.send(TestHotline::start(schedule, token.as_deref()).await);
                std::future::pending::<()>().await;
            });
        });
        rx.recv().map_err(std::io::Error::other)?
    }

    /// The base URL to configure.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A snapshot of what it saw.
    pub fn seen<T>(&self, f: impl FnOnce(&Seen) -> T) -> T {
        f(&self.inner.lock().unwrap_or_else(|p| p.into_inner()).seen)
    }
}

/// Validates `docs` against the committed `schemas/hashline.report-1.schema.json` with Python's
/// `jsonschema` (an independent validator): one result per document. `None` when the module is
/// missing outside CI (inside CI, with `CI` set, that is a failure: `scripts/install-deps`
/// installs it).
pub fn validate_with_python(docs: &[serde_json::Value]) -> Option<Vec<Result<(), String>>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
    let dir = std::env::temp_dir().join(format!("hashline-schema-{}", crate::random_id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let docs_path = dir.join("docs.json");
    std::fs::write(&docs_path, serde_json::to_vec(docs).expect("json")).expect("write docs");
    let out = std::process::Command::new("python3")
        .arg(root.join("validate.py"))
        .arg(root.join("hashline.report-1.schema.json"))
        .arg(&docs_path)
        .output()
        .expect("python3 runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "python validator failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if text.trim() == "NO-JSONSCHEMA" {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install Python jsonschema (scripts/install-deps does)"
        );
        eprintln!("skipping schema validation: python3 has no jsonschema module (pip install jsonschema)");
        return None;
    }
    Some(
        text.lines()
            .map(|l| if l == "OK" { Ok(()) } else { Err(l.trim_start_matches("ERR ").to_string()) })
            .collect(),
    )
}
