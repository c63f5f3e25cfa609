//! The pages and form handlers of the triage app.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use hashline_report::outbox::unix_now;
use hashline_report::{Assessment, IndustryClass, LegalAssessment, Relation, Report, Row, State as RState};
use serde::Deserialize;

use super::cases::{day_of, Exposure};
use super::i18n::{Lang, Tr};
use super::session::{self, set_cookie};
use super::{csrf_guard, lang_of, security_headers, session_user, Authed, Role, Triage};
use crate::AppState;

pub(super) type Page = Result<Response, Response>;

/// The triage routes (merged into the server's router by [`crate::app`]).
pub fn routes(state: Arc<AppState>) -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/lang", post(set_lang))
        .route("/queue", get(queue))
        .route("/queue/next", post(claim_next))
        .route("/queue/group/dismiss", post(groups::dismiss_group))
        .route("/cases/{id}", get(case_page))
        .route("/cases/{id}/claim", post(claim))
        .route("/cases/{id}/release", post(release))
        .route("/cases/{id}/reveal", post(reveal))
        .route("/cases/{id}/media/{kind}", get(media))
        .route("/cases/{id}/confirm", post(confirm))
        .route("/cases/{id}/dismiss", post(dismiss))
        .route("/cases/{id}/escalate", post(escalate))
        .route("/cases/{id}/assign", post(assign))
        .route("/allow", get(super::allow::page))
        .route("/allow/{id}/approve", post(super::allow::approve))
        .route("/allow/{id}/reject", post(super::allow::reject))
        .route("/quarantine", get(super::quarantine::page))
        .route("/quarantine/lift", post(super::quarantine::lift))
        .route("/quarantine/disable", post(super::quarantine::disable))
        .route("/audit", get(audit_page))
        .route("/admin/users", get(users_page).post(add_user))
        .route("/admin/users/{name}", post(change_user))
        .route("/admin/lists", get(lists_page))
        .route("/ops", get(ops_page))
        .route("/stats", get(stats_page))
        .route("/stats/report", get(stats_report))
        .route_layer(axum::middleware::from_fn_with_state(state, csrf_guard))
        .route("/static/app.css", get(css))
        .route("/static/app.js", get(js))
        .layer(axum::middleware::from_fn(security_headers))
}

// ---------------------------------------------------------------------------------------------
// Rendering

pub(super) struct NavItem {
    pub(super) href: &'static str,
    pub(super) label: String,
    pub(super) current: bool,
}

pub(super) struct LangItem {
    pub(super) tag: &'static str,
    pub(super) name: &'static str,
    pub(super) current: bool,
}

/// What every page shows around its content.
pub(super) struct Chrome {
    pub(super) tr: Tr,
    pub(super) lang: &'static str,
    pub(super) user: String,
    pub(super) role: String,
    pub(super) csrf: String,
    pub(super) back: String,
    pub(super) nav: Vec<NavItem>,
    pub(super) langs: Vec<LangItem>,
    pub(super) exposure: String,
    pub(super) capped: bool,
    /// Reveals today (triage roles).
    pub(super) used: u32,
    pub(super) flash: String,
}

impl Chrome {
    /// A translated message.
    pub(super) fn t(&self, id: &str) -> String {
        self.tr.t(id)
    }

    fn anonymous(lang: Lang, csrf: String) -> Chrome {
        Chrome {
            tr: Tr { lang },
            lang: lang.tag(),
            user: String::new(),
            role: String::new(),
            csrf,
            back: "/login".into(),
            nav: Vec::new(),
            langs: langs(lang),
            exposure: String::new(),
            capped: false,
            used: 0,
            flash: String::new(),
        }
    }
}

fn langs(current: Lang) -> Vec<LangItem> {
    Lang::ALL.iter().map(|l| LangItem { tag: l.tag(), name: l.name(), current: *l == current }).collect()
}

pub(super) fn chrome(s: &Triage, a: &Authed, here: &'static str, flash: Option<&str>) -> Chrome {
    let tr = Tr { lang: a.lang };
    let role = a.user.role;
    let mut nav = Vec::new();
    let mut item =
        |href: &'static str, id: &str| nav.push(NavItem { href, label: tr.t(id), current: href == here });
    if role.triages() {
        item("/queue", "nav-queue");
    }
    if role.includes(Role::Supervisor) {
        item("/allow", "nav-allow");
        item("/quarantine", "nav-quarantine");
        item("/audit", "nav-audit");
        item("/stats", "nav-stats");
    }
    if role.includes(Role::Admin) {
        item("/admin/users", "nav-users");
        item("/admin/lists", "nav-lists");
    }
    if role.includes(Role::Operator) {
        item("/ops", "nav-ops");
    }
    let today = if role.triages() { exposure_today(s, &a.user.name) } else { Exposure::default() };
    let used = today.reveals;
    let cap = s.config.exposure_cap_per_day;
    let (exposure, capped) = if role.triages() {
        let args = [
            ("n", i64::from(used).into()),
            ("cap", i64::from(cap).into()),
            ("min", (today.seconds + 59).div_euclid(60).into()),
        ];
        (tr.args("exposure-today", &args), used >= cap)
    } else {
        (String::new(), false)
    };
    Chrome {
        tr,
        lang: a.lang.tag(),
        user: a.user.name.clone(),
        role: tr.t(&format!("role-{}", role.as_str())),
        csrf: a.csrf.clone(),
        back: here.into(),
        nav,
        langs: langs(a.lang),
        exposure,
        capped,
        used,
        flash: flash.map(|f| tr.t(f)).unwrap_or_default(),
    }
}

/// The reveal window in seconds.
fn window(t: &Triage) -> i64 {
    (t.config.reveal_minutes * 60) as i64
}

/// Today's exposure of `user`; unreadable counts as the cap reached (media stays blurred).
fn exposure_today(s: &Triage, user: &str) -> Exposure {
    let now = unix_now();
    s.cases
        .exposure(user, day_of(now, s.config.day_offset_minutes), now, window(s))
        .unwrap_or(Exposure { reveals: u32::MAX, seconds: 0 })
}

/// `a` leaves case `rid` (decided, escalated or released): their open reveals of it end now
/// (their exposure time is counted) and the claim goes (anyone's, or only `a`'s when `own`).
fn leave_case(st: &AppState, a: &Authed, rid: &str, own: bool) -> Result<(), Response> {
    let t = &st.triage;
    let seconds =
        t.cases.close_reveals(&a.user.name, rid, unix_now(), window(t)).map_err(|e| internal(a.lang, &e))?;
    hashline_metrics::global().triage_exposure_seconds_total.inc_by(seconds.max(0) as u64);
    t.cases.release(rid, own.then_some(a.user.name.as_str())).map_err(|e| internal(a.lang, &e))
}

pub(super) fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page failed to render; see the server log\n")
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessageTpl {
    c: Chrome,
    title: String,
    text: String,
}

/// A page with one message, for errors.
pub(super) fn message_page(lang: Lang, id: &str, status: StatusCode) -> Response {
    let c = Chrome::anonymous(lang, String::new());
    let title = c.t("error-title");
    let text = c.t(id);
    (status, render(&MessageTpl { c, title, text })).into_response()
}

/// The page for a role that may not do this.
pub(super) fn forbidden(lang: Lang) -> Response {
    message_page(lang, "error-forbidden", StatusCode::FORBIDDEN)
}

pub(super) fn internal(lang: Lang, what: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %what, "triage request failed");
    message_page(lang, "error-internal", StatusCode::INTERNAL_SERVER_ERROR)
}

/// Runs blocking work (SQLite, fsync of the audit log, argon2) off the async threads.
pub(super) async fn blocking<T: Send + 'static>(
    state: &Arc<AppState>,
    lang: Lang,
    f: impl FnOnce(&AppState) -> Result<T, Response> + Send + 'static,
) -> Result<T, Response> {
    let st = Arc::clone(state);
    tokio::task::spawn_blocking(move || f(&st)).await.map_err(|e| internal(lang, &e))?
}

pub(super) fn audit(
    st: &AppState,
    a: &Authed,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) -> Result<(), Response> {
    let detail = match detail {
        serde_json::Value::Object(m) => m,
        _ => Default::default(),
    };
    st.audit
        .append(&hashline_report::Actor::User(a.user.name.clone()), action, target, detail)
        .map(|_| ())
        .map_err(|e| internal(a.lang, &e))
}

/// `resp` with a `Set-Cookie` header (the values are made here, always valid header text).
fn with_cookie(mut resp: Response, cookie: &str) -> Response {
    if let Ok(v) = cookie.parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

pub(super) fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// Known flash messages (`?msg=`), so nothing from the URL is echoed.
const FLASHES: &[&str] = &[
    "flash-confirmed",
    "flash-dismissed",
    "flash-escalated",
    "flash-released",
    "flash-assigned",
    "flash-claimed-elsewhere",
    "flash-queue-empty",
    "flash-not-in-review",
    "flash-allow-added",
    "flash-allow-failed",
    "flash-allow-proposed",
    "flash-allow-rejected",
    "flash-allow-not-pending",
    "flash-quarantine-lifted",
    "flash-quarantine-disabled",
    "flash-quarantine-missing",
    "flash-group-dismissed",
    "flash-user-added",
    "flash-user-changed",
];

pub(super) fn flash(msg: &Option<String>) -> Option<&'static str> {
    msg.as_deref().and_then(|m| FLASHES.iter().copied().find(|f| f.strip_prefix("flash-") == Some(m)))
}

pub(super) fn valid_id(id: &str) -> bool {
    (8..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_hexdigit())
}

// ---------------------------------------------------------------------------------------------
// Static files

async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")],
        include_str!("../../../static/app.css"),
    )
        .into_response()
}

async fn js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")],
        include_str!("../../../static/app.js"),
    )
        .into_response()
}

mod admin;
mod case;
mod decisions;
mod groups;
mod login;
mod queue;
mod stats;

pub(super) use admin::*;
pub(super) use case::*;
pub(super) use decisions::*;
pub(super) use login::*;
pub(super) use queue::*;
pub(super) use stats::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flashes_are_a_closed_set_and_ids_are_checked() {
        assert_eq!(flash(&Some("confirmed".into())), Some("flash-confirmed"));
        assert_eq!(flash(&Some("<script>".into())), None);
        assert!(valid_id("0123456789abcdef") && !valid_id("../../etc") && !valid_id("abc"));
        assert_eq!(note("  a\u{0}b\n  "), "ab");
        assert_eq!(note(&"x".repeat(5000)).len(), MAX_NOTE);
    }
}
