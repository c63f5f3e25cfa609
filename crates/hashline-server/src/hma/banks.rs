//! Status, the site map, signal and content types, and banks (hashline's known-hash lists,
//! read only: curation is `hashline lists import`).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use super::hashing::Content;
use super::{HmaCaller, HmaError, HmaSignal, IMPLEMENTED};
use crate::AppState;

/// `GET /status`: `I-AM-ALIVE`, or 503 `INDEX-STALE` while no lists are loaded. No token
/// (it is a load balancer's probe, like `/healthz`).
pub async fn status(State(state): State<Arc<AppState>>) -> Response {
    if state.lists.snapshot().versions().is_empty() {
        (StatusCode::SERVICE_UNAVAILABLE, "INDEX-STALE").into_response()
    } else {
        "I-AM-ALIVE".into_response()
    }
}

/// `GET /site-map`: the routes answered here.
pub async fn site_map(_caller: HmaCaller) -> Json<Vec<&'static str>> {
    Json(IMPLEMENTED.to_vec())
}

/// `GET /signal_types`: every signal type, enabled.
pub async fn signal_types(_caller: HmaCaller) -> Json<BTreeMap<&'static str, Value>> {
    Json(
        HmaSignal::ALL
            .into_iter()
            .map(|s| (s.name(), serde_json::json!({ "signal_type": s.name(), "enabled": true })))
            .collect(),
    )
}

/// `GET /content_types`: photo and video, enabled.
pub async fn content_types(_caller: HmaCaller) -> Json<BTreeMap<&'static str, Value>> {
    Json(
        Content::ALL
            .into_iter()
            .map(|c| (c.name(), serde_json::json!({ "content_type": c.name(), "enabled": true })))
            .collect(),
    )
}

/// A bank as HMA describes it. hashline lists have no enabled ratio: every entry of a list in
/// force is matched, so the ratio is always 1.
fn bank_config(name: &str) -> Value {
    serde_json::json!({ "name": name, "matching_enabled_ratio": 1.0, "enabled": true })
}

/// The known-hash lists the caller may see.
fn bank_names(state: &AppState, caller: &HmaCaller) -> Vec<String> {
    state
        .lists
        .snapshot()
        .manifests()
        .filter(|m| m.kind == hashline_lists::ListKind::Known && caller.0.token.may_see(&m.name))
        .map(|m| m.name.clone())
        .collect()
}

/// `GET /c/banks`.
pub async fn banks(State(state): State<Arc<AppState>>, caller: HmaCaller) -> Json<Vec<Value>> {
    Json(bank_names(&state, &caller).iter().map(|n| bank_config(n)).collect())
}

/// `GET /c/bank/{bank_name}`: 404 for a list that does not exist or that the token may not see.
pub async fn bank(
    State(state): State<Arc<AppState>>,
    caller: HmaCaller,
    Path(name): Path<String>,
) -> Result<Json<Value>, HmaError> {
    if bank_names(&state, &caller).contains(&name) {
        Ok(Json(bank_config(&name)))
    } else {
        Err(HmaError::new(StatusCode::NOT_FOUND, format!("bank '{name}' not found")))
    }
}

/// Curation writes (creating, changing or deleting banks and their content): 501, naming what
/// to do instead. Lists are imported, signed and versioned by `hashline lists import`.
pub async fn curation_not_implemented(_caller: HmaCaller) -> HmaError {
    HmaError::new(
        StatusCode::NOT_IMPLEMENTED,
        "hashline's banks are its lists, curated with `hashline lists import` (versioned, signed, \
         audited); this HMA curation route is not implemented",
    )
}
