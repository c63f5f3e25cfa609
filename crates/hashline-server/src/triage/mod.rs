//! The analyst triage app: server-rendered pages (askama) for working the review queue, behind
//! local accounts with roles, sessions and CSRF tokens; media blurred and greyscale by default,
//! every reveal counted against a daily exposure cap; every login, view, reveal, decision,
//! export and account or list change in the hash-chained audit log.
//!
//! Roles: `analyst` works cases; `supervisor` also reassigns cases and reads the audit log;
//! `admin` also manages accounts and sees the lists; `operator` sees health, metrics and
//! counts only — never a case. Every route but `/healthz`, `/readyz`, the login page and the
//! two static files (CSS and the shortcut script, no data) needs a session.

// A handler's error is the page to answer with (axum's `Result<Response, Response>` idiom),
// made once per request; boxing it would buy nothing.
#[allow(clippy::result_large_err)]
mod allow;
pub mod cases;
pub mod i18n;
pub mod media;
#[allow(clippy::result_large_err)]
mod pages;
#[allow(clippy::result_large_err)]
mod quarantine;
pub mod session;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hashline_lists::Store;
use hashline_report::{DataDir, EvidenceStore, Outbox};
use serde::{Deserialize, Serialize};

use crate::AppState;
pub use i18n::{Lang, Tr};
pub use pages::routes;
pub use users::{Role, User, UserError, UserStore};

/// `[triage]` in `hashline.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TriageConfig {
    /// A session ends after this many minutes without a request (default 30).
    pub session_idle_minutes: u64,
    /// A session ends this many hours after login, active or not (default 12).
    pub session_max_hours: u64,
    /// A claim on a case lapses after this many minutes (default 30); working the case
    /// renews it.
    pub claim_minutes: u64,
    /// Reveals of media one analyst may make per day (default 40). When reached, media stays
    /// blurred and the app suggests a break; the count starts again the next day.
    pub exposure_cap_per_day: u32,
    /// The analysts' time zone as minutes east of UTC, for where a day starts (default 0;
    /// Cambodia is 420).
    pub day_offset_minutes: i32,
    /// How long a revealed picture stays viewable before it needs a new reveal, in minutes
    /// (default 10).
    pub reveal_minutes: u64,
    /// Failed logins per account name or client address before a lockout (default 5).
    pub login_max_failures: u32,
    /// How long the failures count and a lockout lasts, in minutes (default 15).
    pub login_lockout_minutes: u64,
    /// Send the session cookie with `Secure` (default true: serve through HTTPS; browsers
    /// also accept it on `http://localhost`). Turn off only for plain-HTTP development on
    /// another host name.
    pub secure_cookies: bool,
    /// The allow-list a false-positive decision may add the upload's hashes to (default
    /// `triage-allow`; created on first use). An analyst's "add to the allow-list" is a
    /// proposal; it takes effect when a supervisor other than the proposer approves it.
    pub allow_list: String,
    /// The largest PDQ distance at which an allow-list entry made from a dismissed case
    /// suppresses a match (default 8): the dismissed upload and its close copies, never the
    /// listed picture itself. Each entry is also scoped to the list entries the case matched.
    pub allow_pdq_distance: u32,
    /// Language of the pages until a user picks one: `en` or `km` (default `en`).
    pub language: String,
}

impl Default for TriageConfig {
    fn default() -> Self {
        TriageConfig {
            session_idle_minutes: 30,
            session_max_hours: 12,
            claim_minutes: 30,
            exposure_cap_per_day: 40,
            day_offset_minutes: 0,
            reveal_minutes: 10,
            login_max_failures: 5,
            login_lockout_minutes: 15,
            secure_cookies: true,
            allow_list: "triage-allow".into(),
            allow_pdq_distance: 8,
            language: "en".into(),
        }
    }
}

impl TriageConfig {
    /// Checks the values; the message says which key to fix.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("session_idle_minutes", self.session_idle_minutes),
            ("session_max_hours", self.session_max_hours),
            ("claim_minutes", self.claim_minutes),
            ("reveal_minutes", self.reveal_minutes),
            ("login_max_failures", u64::from(self.login_max_failures)),
            ("login_lockout_minutes", self.login_lockout_minutes),
        ];
        if let Some((k, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(format!("triage.{k} must be at least 1"));
        }
        if !(-720..=840).contains(&self.day_offset_minutes) {
            return Err("triage.day_offset_minutes must be between -720 and 840 (UTC-12 to UTC+14)".into());
        }
        if self.allow_pdq_distance > 31 {
            return Err(format!(
                "triage.allow_pdq_distance is {}: keep it at most 31 (default 8), or an allow entry \
                 reaches the listed picture itself",
                self.allow_pdq_distance
            ));
        }
        if Lang::parse(&self.language).is_none() {
            return Err(format!("triage.language {:?}: use \"en\" or \"km\"", self.language));
        }
        if !crate::jsonfile::valid_name(&self.allow_list)
            || self.allow_list.chars().any(|c| c.is_ascii_uppercase())
        {
            return Err(format!("triage.allow_list {:?} is not a list name ([a-z0-9._-])", self.allow_list));
        }
        Ok(())
    }
}

/// Everything the triage pages share.
pub struct Triage {
    /// Configuration.
    pub config: TriageConfig,
    /// Accounts.
    pub users: UserStore,
    /// Live sessions.
    pub sessions: session::Sessions,
    /// Failed-login counts.
    pub limiter: session::LoginLimiter,
    /// The login form's stateless CSRF tokens.
    pub login_tokens: session::LoginTokens,
    /// Claims, reveals, escalations.
    pub cases: cases::CaseDb,
    /// The reports (the review queue is its `review` state).
    pub outbox: Arc<Outbox>,
    /// Preserved media (`None` when evidence is off or has no key: cases show no media).
    pub evidence: Option<Arc<EvidenceStore>>,
    /// The list store (for allow-list additions).
    pub store: Store,
}

/// Errors opening the triage state.
#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    /// A bad `[triage]` value.
    #[error("{0}")]
    Config(String),
    /// The accounts file.
    #[error(transparent)]
    Users(#[from] UserError),
    /// The triage database.
    #[error(transparent)]
    Cases(#[from] cases::CaseDbError),
    /// The outbox.
    #[error(transparent)]
    Outbox(#[from] hashline_report::OutboxError),
    /// The evidence store.
    #[error(transparent)]
    Evidence(#[from] hashline_report::EvidenceError),
    /// No OS random source for the login form's key.
    #[error("no randomness from the OS for the login form's key")]
    Random,
}

impl Triage {
    /// Opens `users.json` and `triage.db` in the data folder; uses its outbox and evidence.
    pub fn open(data: &DataDir, store: Store, config: TriageConfig) -> Result<Triage, TriageError> {
        config.validate().map_err(TriageError::Config)?;
        let evidence = data.evidence.clone();
        if evidence.is_none() {
            tracing::warn!(
                "the triage pages cannot show preserved media: no evidence key (set [evidence] key_file \
                 or HASHLINE_EVIDENCE_KEY for hashline serve); case pages say so"
            );
        }
        Ok(Triage {
            sessions: session::Sessions::new(
                Duration::from_secs(config.session_idle_minutes * 60),
                Duration::from_secs(config.session_max_hours * 3600),
            ),
            limiter: session::LoginLimiter::new(
                config.login_max_failures,
                Duration::from_secs(config.login_lockout_minutes * 60),
            ),
            login_tokens: session::LoginTokens::new().ok_or(TriageError::Random)?,
            users: UserStore::open(&data.path().join("users.json"))?,
            cases: cases::CaseDb::open(&data.path().join("triage.db"))?,
            outbox: Arc::clone(&data.outbox),
            evidence,
            store,
            config,
        })
    }

    /// The default language.
    pub fn default_lang(&self) -> Lang {
        Lang::parse(&self.config.language).unwrap_or(Lang::En)
    }
}

/// A logged-in user making a request.
#[derive(Debug, Clone)]
pub struct Authed {
    /// The account.
    pub user: User,
    /// The session's CSRF token (for the forms of the page).
    pub csrf: String,
    /// The session id (to end it at logout).
    pub sid: String,
    /// The page language.
    pub lang: Lang,
}

impl Authed {
    /// `Ok` if the user's role includes `role`; a 403 page otherwise.
    #[allow(clippy::result_large_err)] // the page to answer with, made once per request
    pub fn require(&self, role: Role) -> Result<(), Response> {
        if self.user.role.includes(role) {
            Ok(())
        } else {
            Err(pages::forbidden(self.lang))
        }
    }
}

/// The page language of a request: the `hl_lang` cookie, else the configured default.
pub fn lang_of(headers: &axum::http::HeaderMap, triage: &Triage) -> Lang {
    session::cookie(headers, "hl_lang").and_then(Lang::parse).unwrap_or_else(|| triage.default_lang())
}

/// Who is asking, from the session cookie, if anyone.
pub fn session_user(headers: &axum::http::HeaderMap, triage: &Triage) -> Option<Authed> {
    let sid = session::cookie(headers, session::COOKIE)?;
    let s = triage.sessions.get(sid)?;
    let Some(user) = triage.users.active(&s.user).filter(|u| u.epoch == s.epoch) else {
        // Disabled, deleted, or changed (password, role, disabled and enabled again) since
        // login, by this process or another: end the session.
        triage.sessions.end(sid);
        return None;
    };
    Some(Authed { user, csrf: s.csrf, sid: sid.to_string(), lang: lang_of(headers, triage) })
}

impl FromRequestParts<Arc<AppState>> for Authed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        match session_user(&parts.headers, &state.triage) {
            Some(a) => Ok(a),
            None if parts.method == Method::GET || parts.method == Method::HEAD => {
                Err((StatusCode::SEE_OTHER, [(header::LOCATION, "/login")]).into_response())
            }
            None => Err((StatusCode::UNAUTHORIZED, "sign in first\n").into_response()),
        }
    }
}

/// Largest form body accepted (bytes).
const MAX_FORM: usize = 64 << 10;

/// Refuses every state-changing request whose form does not carry the CSRF token of the
/// session it comes with; without a session, the stateless token of the login form's cookie
/// (login and the language switch on the login page). A request with neither is refused as
/// anonymous.
pub async fn csrf_guard(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let triage = &state.triage;
    let lang = lang_of(req.headers(), triage);
    let Some(expected) = session::cookie(req.headers(), session::COOKIE)
        .and_then(|sid| triage.sessions.get(sid))
        .map(|s| s.csrf)
        .or_else(|| {
            session::cookie(req.headers(), session::LOGIN_COOKIE)
                .and_then(|n| triage.login_tokens.token_for(n))
        })
    else {
        return (
            StatusCode::UNAUTHORIZED,
            pages::message_page(lang, "error-signed-out", StatusCode::UNAUTHORIZED),
        )
            .into_response();
    };
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM).await else {
        return pages::message_page(lang, "error-bad-form", StatusCode::PAYLOAD_TOO_LARGE);
    };
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let presented = fields.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str()).unwrap_or("");
    if !session::same(presented, &expected) {
        hashline_metrics::global().triage_csrf_rejected_total.inc();
        tracing::warn!(path = parts.uri.path(), "form refused: missing or wrong CSRF token");
        return pages::message_page(lang, "error-csrf", StatusCode::FORBIDDEN);
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// Security headers on every page: a strict content security policy (own scripts, styles and
/// images only), no framing, no referrer, no caching, no MIME sniffing.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    // A page that sets its own policy (the self-contained statistics report) keeps it.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; \
                 frame-ancestors 'none'; base-uri 'none'",
            ),
        );
    }
    for (k, v) in [
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        h.insert(k, HeaderValue::from_static(v));
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}
