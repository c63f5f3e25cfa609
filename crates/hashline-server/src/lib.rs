//! hashline over HTTP: `/healthz`, `/readyz`, `/metrics`, and the match API for platforms —
//! `POST /v1/match` (hash-only lookup), `POST /v1/hash` (media in, hashes and matches out),
//! `GET /v1/lists` — behind API tokens, each limited to the lists it may see and to a request
//! rate, every call counted and audited (never with hash values). The OpenAPI document is
//! generated from this code ([`openapi`]) and served at `/v1/openapi.json`. The same router
//! carries the analysts' [`triage`] pages (the review queue, cases, decisions) behind local
//! accounts and sessions; `api` and `pages` in [`ServerConfig`] choose what one process offers.
//!
//! The router is built by [`app`], so tests drive it without a socket:
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use tower::ServiceExt;
//! let dir = std::env::temp_dir().join(format!("hashline-doc-{}", hashline_report::random_id()));
//! let data = hashline_report::DataDir::open(&dir.join("data"), &Default::default()).unwrap();
//! let state = hashline_server::AppState::open(
//!     hashline_lists::Store::open(&dir.join("store")).unwrap(),
//!     &data,
//!     hashline_server::Settings::default(),
//! )
//! .unwrap();
//! let app = hashline_server::app(std::sync::Arc::new(state));
//! let resp = app
//!     .clone()
//!     .oneshot(axum::http::Request::get("/v1/lists").body(axum::body::Body::empty()).unwrap())
//!     .await
//!     .unwrap();
//! assert_eq!(resp.status(), 401, "no token, no answer");
//! let resp = app
//!     .oneshot(axum::http::Request::get("/queue").body(axum::body::Body::empty()).unwrap())
//!     .await
//!     .unwrap();
//! assert_eq!(resp.status(), 303, "no session: to the login page");
//! assert_eq!(resp.headers()["location"], "/login");
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # });
//! ```

pub mod api;
mod api_video;
pub mod client;
pub mod error;
pub mod hma;
mod jsonfile;
pub mod tokens;
pub mod triage;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use hashline_hash::HashOptions;
use hashline_lists::{LiveLists, Store};
use hashline_report::{AuditLog, DataDir};
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;

pub use error::ApiError;
pub use tokens::{Scope, TokenRecord, TokenStore};

/// `[server]` in `hashline.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on (default `127.0.0.1:8080`; put TLS in front, e.g. a reverse proxy).
    pub listen: String,
    /// Most hashes in one `/v1/match` request (default 1000).
    pub max_batch: usize,
    /// Largest `/v1/hash` body in bytes (default 64 MiB).
    pub max_body_bytes: usize,
    /// Requests per second per token, unless the token sets its own (default 50).
    pub rate_per_s: u32,
    /// Burst allowance per token (default 100 requests).
    pub burst: u32,
    /// Most CPU jobs (hash or match) queued or running at once (default 4 per pool thread);
    /// requests beyond wait for a slot.
    pub max_cpu_jobs: usize,
    /// Threads for decoding and matching (default: all cores).
    pub threads: usize,
    /// How often to check the store for new list versions, in seconds (default 30).
    pub reload_every_s: u64,
    /// Up to this many seconds more, drawn at random per check (default 10), so that
    /// instances started together do not all load a new list at once.
    pub reload_jitter_s: u64,
    /// Serve the match API for platforms (`/v1/...`; default true).
    pub api: bool,
    /// Serve the analyst triage pages (default true). They work on the outbox in the data
    /// folder, so run them where the reports are: beside `hashline reporter`.
    pub pages: bool,
    /// Memory that `/v1/hash` requests may hold at once, in MiB (default 1024): each reserves
    /// its body's size before reading it, then its image's decode estimate (14 bytes per pixel
    /// the header claims) before decoding; requests beyond the budget wait.
    pub memory_budget_mib: u64,
    /// Most pixels an image sent to `/v1/hash` may claim (default 50 million; the `[limits]`
    /// pixel limit applies too, whichever is lower).
    pub api_max_pixels: u64,
    /// Also answer the routes of Meta's Hasher-Matcher-Actioner (`/h/hash`, `/m/lookup`, ...)
    /// with HMA's shapes, behind the same tokens (default false; `hashline serve --hma-compat`;
    /// see docs/hma-compat.md).
    pub hma_compat: bool,
    /// Reverse proxies (addresses or CIDR networks) whose `X-Forwarded-For` names the client,
    /// for the per-address login limit (default none: the connection's own address counts).
    pub trusted_proxies: Vec<String>,
}

/// What `hashline serve` runs with, resolved once from the configuration file, the
/// environment and the flags: `[server]`, the decoding options of `[hash]` and `[triage]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    /// `[server]`.
    pub server: ServerConfig,
    /// Decoding options for `/v1/hash` and the case pages (mode and limits; dihedral is per
    /// request).
    pub hash: HashOptions,
    /// `[video]`: how videos sent to `/v1/hash` are hashed (vPDQ).
    pub video: hashline_video::VideoSettings,
    /// `[triage]`.
    pub triage: triage::TriageConfig,
    /// Where media may be fetched from by URL (`[kafka.fetch]`: the same host allow-list as
    /// the pipeline), for the HMA routes' `?url=`.
    pub fetch: hashline_fetch::FetchConfig,
}

impl From<ServerConfig> for Settings {
    fn from(server: ServerConfig) -> Settings {
        Settings { server, ..Settings::default() }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            max_batch: 1000,
            max_body_bytes: 64 << 20,
            rate_per_s: 50,
            burst: 100,
            max_cpu_jobs: 0,
            threads: 0,
            reload_every_s: 30,
            reload_jitter_s: 10,
            api: true,
            pages: true,
            memory_budget_mib: 1024,
            api_max_pixels: 50_000_000,
            hma_compat: false,
            trusted_proxies: Vec::new(),
        }
    }
}

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Lists failed to load.
    #[error(transparent)]
    Lists(#[from] hashline_lists::StoreError),
    /// The token file failed.
    #[error(transparent)]
    Tokens(#[from] tokens::TokenError),
    /// The audit log failed.
    #[error(transparent)]
    Audit(#[from] hashline_report::AuditError),
    /// The CPU pool could not start.
    #[error("starting the CPU pool: {0}")]
    Pool(String),
    /// The triage app's state failed to open.
    #[error(transparent)]
    Triage(#[from] triage::TriageError),
    /// A bad `[server]` value.
    #[error("{0}")]
    Config(String),
}

/// Memory reserved from the server's budget; given back when dropped (on every path, errors
/// and panics included).
pub struct Reservation {
    _permit: tokio::sync::OwnedSemaphorePermit,
    bytes: i64,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        hashline_metrics::global().api_memory_reserved_bytes.sub(self.bytes);
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Everything the handlers share.
pub struct AppState {
    /// The lists in force (hot-reloaded).
    pub lists: Arc<LiveLists>,
    /// API tokens.
    pub tokens: TokenStore,
    /// The audit log.
    pub audit: Arc<AuditLog>,
    /// `[server]`.
    pub config: ServerConfig,
    /// Decoding options (`[hash]`; dihedral is per request).
    pub hash: HashOptions,
    /// Video hashing (`[video]`).
    pub video: hashline_video::VideoSettings,
    /// The media fetcher's settings (host allow-list).
    pub fetch: hashline_fetch::FetchConfig,
    /// `config.trusted_proxies`, parsed.
    pub trusted_proxies: client::TrustedProxies,
    /// The analyst triage app.
    pub triage: triage::Triage,
    cpu: hashline_engine::CpuPool,
    /// The memory budget of `/v1/hash`, in KiB.
    memory: Arc<tokio::sync::Semaphore>,
    buckets: Mutex<HashMap<String, Bucket>>,
    list_metrics_for: Mutex<Option<std::time::SystemTime>>,
}

impl AppState {
    /// Loads the lists from `store` and opens `tokens.json` and the triage app's files
    /// (`users.json`, `triage.db`) in the data folder, whose outbox, audit log and evidence
    /// store it shares.
    pub fn open(
        store: Store,
        data: &DataDir,
        settings: impl Into<Settings>,
    ) -> Result<AppState, ServerError> {
        let Settings { server: config, hash, video, triage, fetch } = settings.into();
        let threads = if config.threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            config.threads
        };
        let per_thread = if config.max_cpu_jobs == 0 { 4 } else { config.max_cpu_jobs.div_ceil(threads) };
        let cpu = hashline_engine::CpuPool::new(threads, per_thread, "cpu")
            .map_err(|e| ServerError::Pool(e.to_string()))?;
        let trusted_proxies =
            client::TrustedProxies::parse(&config.trusted_proxies).map_err(ServerError::Config)?;
        if config.memory_budget_mib == 0 || config.api_max_pixels == 0 {
            return Err(ServerError::Config(
                "server.memory_budget_mib and server.api_max_pixels must be positive".into(),
            ));
        }
        let config_memory_kib = config.memory_budget_mib.saturating_mul(1024);
        let triage = triage::Triage::open(data, store.clone(), triage)?;
        let lists = Arc::new(LiveLists::open(store)?);
        for (list, note) in lists.snapshot().load_notes() {
            if let Some(note) = note {
                tracing::info!(list = %list, "list index: {note}");
            }
        }
        Ok(AppState {
            lists,
            tokens: TokenStore::open(&data.path().join("tokens.json"))?,
            audit: Arc::clone(&data.audit),
            triage,
            config,
            hash,
            video,
            fetch,
            trusted_proxies,
            cpu,
            memory: Arc::new(tokio::sync::Semaphore::new(
                usize::try_from(config_memory_kib)
                    .map_err(|_| ServerError::Config("server.memory_budget_mib is too large".into()))?,
            )),
            buckets: Mutex::new(HashMap::new()),
            list_metrics_for: Mutex::new(None),
        })
    }

    /// Runs CPU work on the bounded pool; waits for a slot when the pool is saturated.
    pub async fn cpu<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        self.cpu.run(f).await.map_err(|e| ApiError::internal(&e.to_string()))
    }

    /// Reserves `bytes` of the memory budget until the reservation is dropped; waits while the
    /// budget is spent. A single request that needs more than the whole budget is refused
    /// (503 with what to do) rather than waiting forever.
    pub async fn reserve(&self, bytes: u64) -> Result<Reservation, ApiError> {
        let kib = u32::try_from(bytes.div_ceil(1024).max(1)).unwrap_or(u32::MAX);
        if u64::from(kib) > self.config.memory_budget_mib.saturating_mul(1024) {
            return Err(ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "over_memory_budget",
                format!(
                    "this request needs {} MiB, more than the server's whole memory budget ({} MiB, server.memory_budget_mib)",
                    bytes.div_ceil(1 << 20),
                    self.config.memory_budget_mib
                ),
            ));
        }
        let permit = Arc::clone(&self.memory)
            .acquire_many_owned(kib)
            .await
            .map_err(|_| ApiError::internal("memory budget closed"))?;
        hashline_metrics::global().api_memory_reserved_bytes.add(i64::from(kib) * 1024);
        Ok(Reservation { _permit: permit, bytes: i64::from(kib) * 1024 })
    }

    /// Memory of the budget not reserved now, in bytes.
    pub fn memory_available(&self) -> u64 {
        self.memory.available_permits() as u64 * 1024
    }

    /// Writes an audit record for a call (off the async threads: it syncs to disk).
    pub async fn audit(
        &self,
        caller: &Caller,
        action: &str,
        detail: serde_json::Value,
    ) -> Result<(), ApiError> {
        let audit = Arc::clone(&self.audit);
        let actor = hashline_report::Actor::Token(caller.token.name.clone());
        let action = action.to_string();
        let detail = match detail {
            serde_json::Value::Object(m) => m,
            _ => Default::default(),
        };
        tokio::task::spawn_blocking(move || audit.append(&actor, &action, "", detail))
            .await
            .map_err(|_| ApiError::internal("audit task failed"))?
            .map_err(|e| ApiError::internal(&e.to_string()))?;
        Ok(())
    }

    /// Takes one request from `name`'s bucket; the seconds to wait when empty.
    fn take(&self, name: &str, rate: u32) -> Result<(), u64> {
        let rate = f64::from(rate.max(1));
        let burst = f64::from(self.config.burst.max(1)).max(rate);
        let mut b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let bucket = b.entry(name.to_string()).or_insert(Bucket { tokens: burst, at: now });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * rate).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / rate).ceil() as u64)
        }
    }

    fn update_list_metrics(&self) {
        let set = self.lists.snapshot();
        let mut last = self.list_metrics_for.lock().unwrap_or_else(|p| p.into_inner());
        if *last != Some(set.built_at) {
            hashline_ops::set_list_metrics(&set);
            *last = Some(set.built_at);
        }
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Its token's record.
    pub token: TokenRecord,
}

/// Where the auth extractor leaves the token name for the metrics middleware.
#[derive(Clone, Default)]
struct TokenSlot(Arc<Mutex<Option<String>>>);

fn authenticate(parts: &Parts, state: &AppState) -> Result<TokenRecord, ApiError> {
    let presented = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(ApiError::unauthorized)?;
    let token = state.tokens.verify(presented).ok_or_else(ApiError::unauthorized)?;
    if let Some(slot) = parts.extensions.get::<TokenSlot>() {
        *slot.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(token.name.clone());
    }
    if let Err(wait) = state.take(&token.name, token.rate_per_s.unwrap_or(state.config.rate_per_s)) {
        hashline_metrics::global().api_rate_limited_total.with_label_values(&[token.name.as_str()]).inc();
        return Err(ApiError::rate_limited(wait));
    }
    Ok(token)
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let token = authenticate(parts, state)?;
        if token.scope != Scope::Match {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this token may only read /metrics; create a match token for the API".into(),
            ));
        }
        Ok(Caller { token })
    }
}

/// A caller allowed to read `/metrics`: a token with scope `metrics`, or a signed-in
/// operator or administrator of the triage app.
pub struct MetricsReader;

impl FromRequestParts<Arc<AppState>> for MetricsReader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            if let Some(a) = triage::session_user(&parts.headers, &state.triage) {
                if a.user.role.includes(triage::Role::Operator) {
                    return Ok(MetricsReader);
                }
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "metrics are for operators and administrators".into(),
                ));
            }
        }
        match authenticate(parts, state)?.scope {
            Scope::Metrics => Ok(MetricsReader),
            Scope::Match => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "metrics need a token made with `hashline tokens create --scope metrics`".into(),
            )),
        }
    }
}

/// Counts every call by token, endpoint and status class, and times it.
async fn track(req: Request, next: Next) -> Response {
    let endpoint = req.extensions().get::<MatchedPath>().map_or("unmatched", |p| match p.as_str() {
        "/v1/match" => "match",
        "/v1/hash" => "hash",
        "/v1/lists" => "lists",
        "/v1/openapi.json" => "openapi",
        "/metrics" => "metrics",
        "/h/hash" => "hma_hash",
        "/m/lookup" | "/m/raw_lookup" => "hma_lookup",
        _ => "other",
    });
    let slot = TokenSlot::default();
    let mut req = req;
    req.extensions_mut().insert(slot.clone());
    let started = Instant::now();
    let resp = next.run(req).await;
    let m = hashline_metrics::global();
    m.api_request_duration_seconds.with_label_values(&[endpoint]).observe(started.elapsed().as_secs_f64());
    let token =
        slot.0.lock().unwrap_or_else(|p| p.into_inner()).clone().unwrap_or_else(|| "anonymous".into());
    let status = match resp.status().as_u16() {
        200..=299 => "2xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    m.api_requests_total.with_label_values(&[token.as_str(), endpoint, status]).inc();
    resp
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    hashline_ops::readiness(if state.lists.snapshot().versions().is_empty() {
        Err("no lists in the store".into())
    } else {
        Ok(())
    })
}

async fn metrics(State(state): State<Arc<AppState>>, _reader: MetricsReader) -> Response {
    state.update_list_metrics();
    hashline_ops::metrics_response()
}

async fn openapi_json(_caller: Caller) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], openapi_string()).into_response()
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint; see /v1/openapi.json".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "wrong HTTP method for this endpoint; see /v1/openapi.json".into(),
    )
}

/// Bearer-token security scheme.
struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("hl_ token").build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hashline match API",
        description = "Match hashes (PDQ, MD5, SHA-1, SHA-256) or media against the known-hash lists a hotline \
            holds. Every request needs `Authorization: Bearer <token>`; a token sees only the lists it was \
            granted. Errors are JSON with a stable code.",
        license(name = "Apache-2.0")
    ),
    paths(api::post_match, api::post_hash, api::get_lists),
    components(schemas(error::ErrorBody, error::ErrorDetail)),
    modifiers(&Security),
    tags((name = "match", description = "Hash matching"))
)]
struct ApiDoc;

/// The OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").into();
    doc
}

/// The OpenAPI document as pretty JSON (what `/v1/openapi.json` serves and `docs/` holds).
pub fn openapi_string() -> String {
    openapi().to_pretty_json().unwrap_or_default() + "\n"
}

/// The router: the probes, the match API (`api`) and the triage pages (`pages`).
pub fn app(state: Arc<AppState>) -> Router {
    let mut router =
        Router::new().route("/healthz", get(hashline_ops::healthz)).route("/readyz", get(readyz));
    if state.config.api {
        router = router.merge(api_routes(&state));
        if state.config.hma_compat {
            router = router.merge(
                hma::routes()
                    .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
                    .route_layer(axum::middleware::from_fn(track)),
            );
        }
    } else {
        router = router.route("/metrics", get(metrics));
    }
    if state.config.pages {
        router = router.merge(triage::routes(Arc::clone(&state)));
    }
    router.fallback(not_found).method_not_allowed_fallback(method_not_allowed).with_state(state)
}

fn api_routes(state: &AppState) -> Router<Arc<AppState>> {
    let match_limit = state.config.max_batch.saturating_mul(100).saturating_add(64 << 10);
    Router::new()
        .route("/v1/match", post(api::post_match).layer(DefaultBodyLimit::max(match_limit)))
        .route("/v1/hash", post(api::post_hash).layer(DefaultBodyLimit::max(state.config.max_body_bytes)))
        .route("/v1/lists", get(api::get_lists))
        .route("/v1/openapi.json", get(openapi_json))
        .route("/metrics", get(metrics))
        .route_layer(axum::middleware::from_fn(track))
}

/// Serves until `shutdown` resolves, reloading lists every `reload_every_s`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let every = Duration::from_secs(state.config.reload_every_s.max(1));
    let _watch = state.lists.watch(every, Duration::from_secs(state.config.reload_jitter_s), |e| {
        tracing::error!(error = %e, "list reload failed; the lists loaded before stay in force");
    });
    state.update_list_metrics();
    // With the peer address on every request: the per-address login limit needs it.
    let service = app(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service).with_graceful_shutdown(shutdown).await
}
