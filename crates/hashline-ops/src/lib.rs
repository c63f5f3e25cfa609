//! The operators' endpoints, in one place for every long-running hashline process:
//! `hashline run` and `hashline reporter` serve [`ops_app`] on their `--metrics-addr`;
//! `hashline serve` mounts the same [`healthz`] and [`metrics_response`] behind its API tokens.
//! [`set_list_metrics`] keeps the list gauges (`hashline_list_entries`, `hashline_list_version`,
//! `hashline_list_updated_timestamp_seconds`, `hashline_lists_loaded`) true to a snapshot.
//!
//! This crate links no page templates, password hashing or translations: the workers that
//! serve only these endpoints stay small (see `docs/architecture.md`).
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use tower::ServiceExt;
//! let app = hashline_ops::ops_app(std::sync::Arc::new(|| Err("no lists yet".to_string())));
//! let get = |path| axum::http::Request::get(path).body(axum::body::Body::empty()).unwrap();
//! assert_eq!(app.clone().oneshot(get("/healthz")).await.unwrap().status(), 200);
//! assert_eq!(app.clone().oneshot(get("/readyz")).await.unwrap().status(), 503);
//! assert_eq!(app.oneshot(get("/metrics")).await.unwrap().status(), 200);
//! # });
//! ```

#![deny(missing_docs)]

use std::sync::Arc;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// A readiness check for [`ops_app`]: `Err(reason)` while not ready.
pub type ReadyCheck = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// `/healthz`: the process answers.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Every metric in the Prometheus text format.
pub fn metrics_response() -> Response {
    ([(header::CONTENT_TYPE, hashline_metrics::CONTENT_TYPE)], hashline_metrics::global().render())
        .into_response()
}

/// The `/readyz` answer for `ready`: 200 `ready`, or 503 with the reason.
pub fn readiness(ready: Result<(), String>) -> Response {
    match ready {
        Ok(()) => "ready\n".into_response(),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {why}\n")).into_response(),
    }
}

/// `/healthz`, `/readyz` (from `ready`) and `/metrics` without authentication, for an
/// internal-only listener (`--metrics-addr` of the long-running workers; bind it to a
/// cluster-internal address). Anything else is 404.
pub fn ops_app(ready: ReadyCheck) -> Router {
    let readyz = move || {
        let ready = Arc::clone(&ready);
        async move { readiness(ready()) }
    };
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(|| async { metrics_response() }))
        .fallback(|| async { (StatusCode::NOT_FOUND, "no such endpoint: /healthz, /readyz, /metrics\n") })
}

/// Sets the list gauges from a snapshot of the lists in force.
pub fn set_list_metrics(set: &hashline_lists::ListSet) {
    let m = hashline_metrics::global();
    m.list_entries.reset();
    m.list_version.reset();
    m.list_updated_timestamp_seconds.reset();
    for (manifest, counts) in set.summaries() {
        m.list_version.with_label_values(&[manifest.name.as_str()]).set(manifest.version as i64);
        if let Some(t) = hashline_lists::unix_seconds(&manifest.fetched_at) {
            m.list_updated_timestamp_seconds.with_label_values(&[manifest.name.as_str()]).set(t);
        }
        for (signal, n) in counts {
            m.list_entries.with_label_values(&[manifest.name.as_str(), signal.as_str()]).set(n as i64);
        }
    }
    m.lists_loaded.set(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_internal_ops_listener_serves_metrics_without_a_token_and_nothing_else() {
        use tower::ServiceExt;
        let get = |path| axum::http::Request::get(path).body(axum::body::Body::empty()).unwrap();
        hashline_metrics::global().reports_total.with_label_values(&["delivered"]).inc();
        let ready: ReadyCheck = Arc::new(|| Err("no broker reachable yet".into()));
        let resp = ops_app(ready.clone()).oneshot(get("/readyz")).await.unwrap();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        assert_eq!(&body[..], b"not ready: no broker reachable yet\n");
        let resp = ops_app(ready.clone()).oneshot(get("/metrics")).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let body = axum::body::to_bytes(resp.into_body(), 64 << 20).await.unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(text.contains("hashline_reports_total{outcome=\"delivered\"}"), "{text}");
        let resp = ops_app(ready).oneshot(get("/v1/lists")).await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "the ops listener has no API");
    }
}
