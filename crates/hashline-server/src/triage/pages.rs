//! The pages and form handlers of the triage app.

use std::collections::BTreeSet;
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
        .route("/audit", get(audit_page))
        .route("/admin/users", get(users_page).post(add_user))
        .route("/admin/users/{name}", post(change_user))
        .route("/admin/lists", get(lists_page))
        .route("/ops", get(ops_page))
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
        item("/audit", "nav-audit");
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
        .append(&format!("user:{}", a.user.name), action, target, detail)
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
        include_str!("../../static/app.css"),
    )
        .into_response()
}

async fn js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")],
        include_str!("../../static/app.js"),
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------
// Login, logout, language

async fn home(a: Authed) -> Response {
    if a.user.role.triages() {
        see_other("/queue")
    } else {
        see_other("/ops")
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginTpl {
    c: Chrome,
    error: String,
    name: String,
}

fn login_form(
    state: &AppState,
    headers: &HeaderMap,
    error: Option<String>,
    name: String,
    status: StatusCode,
) -> Response {
    let t = &state.triage;
    let lang = lang_of(headers, t);
    // The form's CSRF token is the MAC of this browser's login cookie (made here if it has
    // none): no server-side state for anonymous visitors.
    let existing = session::cookie(headers, session::LOGIN_COOKIE)
        .and_then(|n| t.login_tokens.token_for(n).map(|tok| (n.to_string(), tok)));
    let (cookie, csrf) = match existing {
        Some((_, tok)) => (None, tok),
        None => match t.login_tokens.issue() {
            Some((nonce, tok)) => (Some(session::login_cookie(&nonce, t.config.secure_cookies)), tok),
            None => return internal(lang, &"no OS random source"),
        },
    };
    let c = Chrome::anonymous(lang, csrf);
    let error = error.map(|e| c.t(&e)).unwrap_or_default();
    let resp = (status, render(&LoginTpl { c, error, name })).into_response();
    match cookie {
        Some(c) => with_cookie(resp, &c),
        None => resp,
    }
}

async fn login_page(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if session_user(&headers, &state.triage).is_some() {
        return see_other("/");
    }
    login_form(&state, &headers, None, String::new(), StatusCode::OK)
}

#[derive(Deserialize)]
struct LoginForm {
    name: String,
    password: String,
}

async fn login(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    Form(f): Form<LoginForm>,
) -> Response {
    let t = &state.triage;
    let lang = lang_of(&headers, t);
    let name = f.name.trim().to_string();
    let peer = peer.map(|axum::Extension(axum::extract::ConnectInfo(addr))| addr.ip());
    let ip_key =
        crate::client::client_ip(peer, &headers, &state.trusted_proxies).map(|ip| format!("ip:{ip}"));
    let m = hashline_metrics::global();
    // A name no account can have is refused before any work, without an audit record (a flood
    // of long names cannot fill the log); it still counts against the client's address.
    if !crate::jsonfile::valid_name(&name) {
        let keys: Vec<String> = ip_key.into_iter().collect();
        let status = if t.limiter.check(&keys).is_err() {
            StatusCode::TOO_MANY_REQUESTS
        } else {
            t.limiter.fail(&keys);
            StatusCode::UNAUTHORIZED
        };
        m.triage_logins_total.with_label_values(&["failure"]).inc();
        let shown: String = name.chars().take(64).collect();
        return login_form(&state, &headers, Some("login-failed".into()), shown, status);
    }
    let mut keys = vec![format!("user:{}", name.to_lowercase())];
    keys.extend(ip_key);
    if let Err(wait) = t.limiter.check(&keys) {
        m.triage_logins_total.with_label_values(&["locked"]).inc();
        // One record per name and window, however many attempts hit the lock.
        if t.limiter.first_refusal(&keys) {
            let mut d = serde_json::Map::new();
            d.insert("lockout_minutes".into(), t.config.login_lockout_minutes.into());
            let _ = state.audit.append(&format!("user:{name}"), "login.locked", "", d);
        }
        let mut resp =
            login_form(&state, &headers, Some("login-locked".into()), name, StatusCode::TOO_MANY_REQUESTS);
        if let Ok(v) = wait.to_string().parse() {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return resp;
    }
    let old_sid = session::cookie(&headers, session::COOKIE).map(str::to_string);
    // argon2id costs ~20-80 ms of CPU and 19 MiB: on the bounded CPU pool, so a flood of
    // logins waits for a slot instead of exhausting memory.
    let checked = {
        let (name, password, st) = (name.clone(), f.password, Arc::clone(&state));
        state.cpu(move || st.triage.users.verify(&name, &password)).await
    };
    let user = match checked {
        Ok(u) => u,
        Err(_) => return internal(lang, &"the CPU pool failed checking a password"),
    };
    let Some(user) = user else {
        t.limiter.fail(&keys);
        m.triage_logins_total.with_label_values(&["failure"]).inc();
        let n = name.clone();
        if let Err(resp) = blocking(&state, lang, move |st| {
            st.audit
                .append(&format!("user:{n}"), "login.failed", "", Default::default())
                .map_err(|e| internal(lang, &e))
        })
        .await
        {
            return resp;
        }
        return login_form(&state, &headers, Some("login-failed".into()), name, StatusCode::UNAUTHORIZED);
    };
    t.limiter.clear(&keys);
    // A new session id at login: whatever id the browser had before is worthless now.
    if let Some(old) = old_sid {
        t.sessions.end(&old);
    }
    let Some((sid, _)) = t.sessions.create(user.name.clone(), user.epoch) else {
        return internal(lang, &"no OS random source");
    };
    m.triage_logins_total.with_label_values(&["success"]).inc();
    let actor = format!("user:{}", user.name);
    let role = user.role.as_str();
    if let Err(resp) = blocking(&state, lang, move |st| {
        let mut d = serde_json::Map::new();
        d.insert("role".into(), role.into());
        st.audit.append(&actor, "login", "", d).map_err(|e| internal(lang, &e))
    })
    .await
    {
        return resp;
    }
    with_cookie(see_other("/"), &set_cookie(Some(&sid), t.config.secure_cookies))
}

async fn logout(State(state): State<Arc<AppState>>, a: Authed) -> Page {
    state.triage.sessions.end(&a.sid);
    let a2 = a.clone();
    blocking(&state, a.lang, move |st| audit(st, &a2, "logout", "", serde_json::json!({}))).await?;
    Ok(with_cookie(see_other("/login"), &set_cookie(None, state.triage.config.secure_cookies)))
}

/// A path on this site and nothing else (no open redirect): it starts with one `/`, and holds
/// only visible ASCII without `\`. Browsers drop tabs and newlines from URLs, so `/\t/evil`
/// would become `//evil`, another site; such characters are refused, not cleaned.
pub(super) fn local_path(p: &str) -> bool {
    let b = p.as_bytes();
    b.first() == Some(&b'/')
        && !matches!(b.get(1), Some(b'/') | Some(b'\\'))
        && b.iter().all(|c| c.is_ascii_graphic() && *c != b'\\')
}

#[derive(Deserialize)]
struct LangForm {
    lang: String,
    #[serde(default)]
    back: String,
}

async fn set_lang(Form(f): Form<LangForm>) -> Response {
    let lang = Lang::parse(&f.lang).unwrap_or(Lang::En);
    let back = if local_path(&f.back) { f.back } else { "/".into() };
    with_cookie(
        see_other(&back),
        &format!("hl_lang={}; Path=/; SameSite=Strict; Max-Age=31536000", lang.tag()),
    )
}

// ---------------------------------------------------------------------------------------------
// Queue

#[derive(Deserialize, Default)]
struct QueueQuery {
    #[serde(default)]
    list: String,
    #[serde(default)]
    class: String,
    #[serde(default)]
    platform: String,
    #[serde(default)]
    escalated: String,
    #[serde(default)]
    page: usize,
    msg: Option<String>,
}

/// Cases shown per queue page.
const PAGE_ROWS: usize = 100;

struct QueueRow {
    id: String,
    short: String,
    waiting: String,
    lists: String,
    class: String,
    distance: String,
    platform: String,
    status: String,
    mine: bool,
    free: bool,
    escalated: bool,
}

struct Choice {
    value: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "queue.html")]
struct QueueTpl {
    c: Chrome,
    rows: Vec<QueueRow>,
    count_text: String,
    lists: Vec<Choice>,
    classes: Vec<Choice>,
    platforms: Vec<Choice>,
    supervisor: bool,
    only_escalated: bool,
    filters: String,
    page_text: String,
    prev_href: String,
    next_href: String,
}

/// The most review reports a queue page looks at.
const QUEUE_SCAN: usize = 5000;

fn classification(r: &Report) -> String {
    r.assessment
        .industry_classification
        .map(|c| c.as_str().to_string())
        .or_else(|| r.matches.iter().find_map(|m| m.classification.clone()))
        .unwrap_or_default()
}

fn platform(r: &Report) -> String {
    r.incident.platform.clone().unwrap_or_default()
}

fn lists_of(r: &Report) -> Vec<String> {
    let set: BTreeSet<String> = r.matches.iter().map(|m| m.list.clone()).collect();
    set.into_iter().collect()
}

fn age(tr: &Tr, since: i64, now: i64) -> String {
    let s = (now - since).max(0);
    if s < 3600 {
        tr.n("age-minutes", s / 60)
    } else if s < 86_400 {
        tr.n("age-hours", s / 3600)
    } else {
        tr.n("age-days", s / 86_400)
    }
}

/// Does `row` pass the queue filters, and may this role see it?
fn visible(row: &Row, q: &QueueQuery, escalated: bool, supervisor: bool) -> bool {
    let r = &row.report;
    (q.list.is_empty() || r.matches.iter().any(|m| m.list == q.list))
        && (q.class.is_empty() || classification(r) == q.class)
        && (q.platform.is_empty() || platform(r) == q.platform)
        // Escalated cases are the supervisors' alone, whatever the query asks for.
        && (!escalated || supervisor)
        && (q.escalated != "1" || escalated)
}

async fn queue(State(state): State<Arc<AppState>>, a: Authed, Query(q): Query<QueueQuery>) -> Page {
    a.require(Role::Analyst)?;
    let lang = a.lang;
    blocking(&state, lang, move |st| {
        let t = &st.triage;
        let now = unix_now();
        let rows = t.outbox.list(Some(RState::Review), QUEUE_SCAN).map_err(|e| internal(lang, &e))?;
        let claims = t.cases.claims(now).map_err(|e| internal(lang, &e))?;
        let escalations = t.cases.escalations().map_err(|e| internal(lang, &e))?;
        let supervisor = a.user.role.includes(Role::Supervisor);
        let mut c = chrome(t, &a, "/queue", flash(&q.msg));
        let (mut lists, mut classes, mut platforms) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        let mut out = Vec::new();
        for row in &rows {
            let r = &row.report;
            lists.extend(lists_of(r));
            classes.insert(classification(r));
            platforms.insert(platform(r));
            let escalated = escalations.contains_key(&r.report_id);
            if !visible(row, &q, escalated, supervisor) {
                continue;
            }
            let claim = claims.get(&r.report_id);
            let mine = claim.is_some_and(|cl| cl.analyst == a.user.name);
            let mut status = match claim {
                Some(_) if mine => c.t("status-yours"),
                Some(cl) => c.tr.args("status-claimed-by", &[("name", cl.analyst.clone().into())]),
                None => c.t("status-waiting"),
            };
            if escalated {
                status = format!("{} · {}", c.t("status-escalated"), status);
            }
            out.push(QueueRow {
                id: r.report_id.clone(),
                short: r.report_id.chars().take(8).collect(),
                waiting: age(&c.tr, row.created_at, now),
                lists: lists_of(r).join(", "),
                class: classification(r),
                distance: r
                    .matches
                    .iter()
                    .map(|m| m.distance)
                    .min()
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                platform: platform(r),
                status,
                mine,
                free: claim.is_none(),
                escalated,
            });
        }
        let total = out.len();
        let pages = total.div_ceil(PAGE_ROWS).max(1);
        let page = q.page.clamp(1, pages);
        let out: Vec<QueueRow> = out.into_iter().skip((page - 1) * PAGE_ROWS).take(PAGE_ROWS).collect();
        audit(st, &a, "queue.view", "", serde_json::json!({ "shown": out.len(), "waiting": total }))?;
        let choices = |set: BTreeSet<String>, cur: &str| {
            set.into_iter()
                .filter(|v| !v.is_empty())
                .map(|v| Choice { selected: v == cur, value: v })
                .collect()
        };
        c.back = "/queue".into();
        let filters = serde_urlencoded::to_string([
            ("list", q.list.as_str()),
            ("class", q.class.as_str()),
            ("platform", q.platform.as_str()),
            ("escalated", q.escalated.as_str()),
        ])
        .unwrap_or_default();
        let href = |p: usize| format!("/queue?{filters}&page={p}");
        Ok(render(&QueueTpl {
            count_text: c.tr.n("queue-count", total as i64),
            page_text: if pages > 1 {
                c.tr.args("queue-page", &[("page", (page as i64).into()), ("pages", (pages as i64).into())])
            } else {
                String::new()
            },
            prev_href: if page > 1 { href(page - 1) } else { String::new() },
            next_href: if page < pages { href(page + 1) } else { String::new() },
            rows: out,
            lists: choices(lists, &q.list),
            classes: choices(classes, &q.class),
            platforms: choices(platforms, &q.platform),
            supervisor,
            only_escalated: q.escalated == "1",
            filters,
            c,
        }))
    })
    .await
}

#[derive(Deserialize)]
struct NextForm {
    #[serde(default)]
    filters: String,
}

async fn claim_next(State(state): State<Arc<AppState>>, a: Authed, Form(f): Form<NextForm>) -> Page {
    a.require(Role::Analyst)?;
    let lang = a.lang;
    let q: QueueQuery = serde_urlencoded::from_str(&f.filters).unwrap_or_default();
    blocking(&state, lang, move |st| {
        let t = &st.triage;
        let now = unix_now();
        let rows = t.outbox.list(Some(RState::Review), QUEUE_SCAN).map_err(|e| internal(lang, &e))?;
        let escalations = t.cases.escalations().map_err(|e| internal(lang, &e))?;
        let claims = t.cases.claims(now).map_err(|e| internal(lang, &e))?;
        let supervisor = a.user.role.includes(Role::Supervisor);
        for row in rows {
            let id = &row.report.report_id;
            if !visible(&row, &q, escalations.contains_key(id), supervisor) {
                continue;
            }
            // Skip cases others hold (one read for all); the claim itself stays the atomic
            // check, for a case taken since.
            if claims.get(id).is_some_and(|c| c.analyst != a.user.name) {
                continue;
            }
            if t.cases.claim(id, &a.user.name, now, ttl(t), false).map_err(|e| internal(lang, &e))? {
                audit(st, &a, "case.claim", id, serde_json::json!({}))?;
                return Ok(see_other(&format!("/cases/{id}")));
            }
        }
        Ok(see_other("/queue?msg=queue-empty"))
    })
    .await
}

fn ttl(t: &Triage) -> i64 {
    (t.config.claim_minutes * 60) as i64
}

// ---------------------------------------------------------------------------------------------
// Case page

async fn claim(State(state): State<Arc<AppState>>, a: Authed, Path(id): Path<String>) -> Page {
    a.require(Role::Analyst)?;
    let lang = a.lang;
    blocking(&state, lang, move |st| {
        let row = review_row(st, &a, &id)?;
        let rid = row.report.report_id;
        let t = &st.triage;
        if !t.cases.claim(&rid, &a.user.name, unix_now(), ttl(t), false).map_err(|e| internal(lang, &e))? {
            return Ok(see_other("/queue?msg=claimed-elsewhere"));
        }
        audit(st, &a, "case.claim", &rid, serde_json::json!({}))?;
        Ok(see_other(&format!("/cases/{rid}")))
    })
    .await
}

/// The report `id`, which must be waiting for review, and, when it was escalated, `a` must be
/// a supervisor: every path that claims, reads or decides a case comes through here.
fn review_row(st: &AppState, a: &Authed, id: &str) -> Result<Row, Response> {
    let lang = a.lang;
    if !valid_id(id) {
        return Err(message_page(lang, "error-no-case", StatusCode::NOT_FOUND));
    }
    match st.triage.outbox.get(id) {
        Ok(row) if row.state == RState::Review => {
            let escalated =
                st.triage.cases.escalation(&row.report.report_id).map_err(|e| internal(lang, &e))?.is_some();
            if escalated && !a.user.role.includes(Role::Supervisor) {
                return Err(forbidden(lang));
            }
            Ok(row)
        }
        Ok(_) => Err(see_other("/queue?msg=not-in-review")),
        Err(hashline_report::OutboxError::NotFound(_)) => {
            Err(message_page(lang, "error-no-case", StatusCode::NOT_FOUND))
        }
        Err(e) => Err(internal(lang, &e)),
    }
}

/// Runs `f` off the async threads on case `id`, which must be in review and held by `a` (an
/// analyst or above); the claim is renewed.
async fn on_held_case<T: Send + 'static>(
    state: &Arc<AppState>,
    a: Authed,
    id: String,
    f: impl FnOnce(&AppState, &Authed, Row) -> Result<T, Response> + Send + 'static,
) -> Result<T, Response> {
    a.require(Role::Analyst)?;
    blocking(state, a.lang, move |st| {
        let row = held_row(st, &a, &id)?;
        f(st, &a, row)
    })
    .await
}

/// The report `id` in review and claimed by `a` (the claim is renewed).
fn held_row(st: &AppState, a: &Authed, id: &str) -> Result<Row, Response> {
    let row = review_row(st, a, id)?;
    let t = &st.triage;
    let rid = &row.report.report_id;
    let held = t.cases.claim_of(rid, unix_now()).map_err(|e| internal(a.lang, &e))?;
    if held.is_none_or(|c| c.analyst != a.user.name) {
        return Err(see_other("/queue?msg=claimed-elsewhere"));
    }
    t.cases.claim(rid, &a.user.name, unix_now(), ttl(t), false).map_err(|e| internal(a.lang, &e))?;
    Ok(row)
}

struct Field {
    label: String,
    value: String,
    mono: bool,
}

struct MatchView {
    list: String,
    version: String,
    entry: String,
    signal: String,
    class: String,
    distance: String,
    dihedral: String,
    value: String,
}

struct RelatedView {
    when: String,
    why: String,
    state: String,
    lists: String,
}

#[derive(Template)]
#[template(path = "case.html")]
struct CaseTpl {
    c: Chrome,
    id: String,
    short: String,
    claim_until: String,
    has_media: bool,
    /// Why there is no media to show (empty when there is).
    no_media: String,
    revealed: bool,
    capped: bool,
    reveal_note: String,
    escalation: String,
    matches: Vec<MatchView>,
    upload: Vec<Field>,
    file: Vec<Field>,
    related: Vec<RelatedView>,
    supervisor: bool,
    analysts: Vec<String>,
    classes: Vec<&'static str>,
}

pub(super) fn rfc(t: i64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(t.max(0) as u64))
        .to_string()
}

fn field(tr: &Tr, id: &str, value: impl Into<String>, mono: bool) -> Option<Field> {
    let value = value.into();
    (!value.is_empty()).then(|| Field { label: tr.t(id), value, mono })
}

/// Is `a` within the viewing time of a reveal of `report` they have not left yet?
fn is_revealed(t: &Triage, a: &Authed, report: &str) -> Result<bool, Response> {
    let last = t.cases.open_reveal(&a.user.name, report).map_err(|e| internal(a.lang, &e))?;
    Ok(last.is_some_and(|at| unix_now() - at < window(t)))
}

async fn case_page(State(state): State<Arc<AppState>>, a: Authed, Path(id): Path<String>) -> Page {
    let lang = a.lang;
    on_held_case(&state, a, id, move |st, a, row| {
        let t = &st.triage;
        let r = &row.report;
        let rid = r.report_id.clone();
        audit(st, a, "case.view", &rid, serde_json::json!({}))?;
        let c = chrome(t, a, "/queue", None);
        let tr = c.tr;
        let claim = t.cases.claim_of(&rid, unix_now()).map_err(|e| internal(lang, &e))?;
        let revealed = is_revealed(t, a, &rid)?;
        let has_media = r.evidence.is_some() && t.evidence.is_some();
        let no_media = match (&r.evidence, &t.evidence) {
            (None, _) => tr.t("case-no-media"),
            (Some(_), None) if a.user.role.includes(Role::Admin) => tr.t("case-media-no-key-admin"),
            (Some(_), None) => tr.t("case-media-no-key"),
            (Some(_), Some(_)) => String::new(),
        };
        let (used, cap) = (c.used, t.config.exposure_cap_per_day);
        let escalation = t
            .cases
            .escalation(&rid)
            .map_err(|e| internal(lang, &e))?
            .map(|e| tr.args("case-escalated-by", &[("name", e.by.into()), ("note", e.note.into())]))
            .unwrap_or_default();
        let matches = r
            .matches
            .iter()
            .map(|m| MatchView {
                list: m.list.clone(),
                version: m.list_version.to_string(),
                entry: m.entry_id.clone(),
                signal: m.signal.clone(),
                class: m.classification.clone().unwrap_or_default(),
                distance: m.distance.to_string(),
                dihedral: m.dihedral.clone().unwrap_or_default(),
                value: m.value.clone(),
            })
            .collect();
        let i = &r.incident;
        let up = r.uploader.clone().unwrap_or_default();
        let upload = [
            field(&tr, "field-upload-id", i.upload_id.clone(), true),
            field(&tr, "field-platform", i.platform.clone().unwrap_or_default(), false),
            field(&tr, "field-uploaded-at", i.uploaded_at.clone().unwrap_or_default(), false),
            field(&tr, "field-detected-at", i.detected_at.clone(), false),
            field(&tr, "field-source-url", i.source_url.clone().unwrap_or_default(), true),
            field(&tr, "field-account", up.account_id.clone().unwrap_or_default(), true),
            field(&tr, "field-screen-name", up.screen_name.clone().unwrap_or_default(), false),
            field(
                &tr,
                "field-ip",
                up.ip.as_ref().map(|ip| format!("{} ({})", ip.address, ip.event)).unwrap_or_default(),
                true,
            ),
        ]
        .into_iter()
        .flatten()
        .collect();
        let f = &r.file;
        let file = [
            field(&tr, "field-file-name", f.name.clone().unwrap_or_default(), false),
            field(
                &tr,
                "field-file-location",
                f.location.as_ref().map(|l| format!("{} — {}", l.path, l.root)).unwrap_or_default(),
                false,
            ),
            field(&tr, "field-size", f.size.to_string(), false),
            field(&tr, "field-type", f.content_type.clone().unwrap_or_default(), false),
            field(
                &tr,
                "field-dimensions",
                f.width.zip(f.height).map(|(w, h)| format!("{w} × {h}")).unwrap_or_default(),
                false,
            ),
            field(&tr, "field-md5", f.md5.clone(), true),
            field(&tr, "field-sha1", f.sha1.clone(), true),
            field(&tr, "field-sha256", f.sha256.clone(), true),
            field(&tr, "field-pdq", f.pdq.clone().unwrap_or_default(), true),
            field(&tr, "field-pdq-quality", f.pdq_quality.map(|q| q.to_string()).unwrap_or_default(), false),
        ]
        .into_iter()
        .flatten()
        .collect();
        let related = t
            .outbox
            .related(r, 20)
            .map_err(|e| internal(lang, &e))?
            .into_iter()
            .map(|(row, why)| RelatedView {
                when: rfc(row.created_at),
                why: why
                    .iter()
                    .map(|w| {
                        tr.t(match w {
                            Relation::SameUploader => "related-same-uploader",
                            Relation::SameFile => "related-same-file",
                            Relation::SameEntry => "related-same-entry",
                        })
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                state: tr.t(&format!("state-{}", row.state.as_str())),
                lists: lists_of(&row.report).join(", "),
            })
            .collect();
        let supervisor = a.user.role.includes(Role::Supervisor);
        let analysts = if supervisor {
            t.users
                .list()
                .map_err(|e| internal(lang, &e))?
                .into_iter()
                .filter(|u| u.role.triages() && u.disabled_at.is_none())
                .map(|u| u.name)
                .collect()
        } else {
            Vec::new()
        };
        let reveal_note =
            tr.args("reveal-note", &[("n", i64::from(used).into()), ("cap", i64::from(cap).into())]);
        Ok(render(&CaseTpl {
            short: rid.chars().take(8).collect(),
            id: rid,
            claim_until: claim.map(|cl| rfc(cl.expires_at)).unwrap_or_default(),
            has_media,
            no_media,
            revealed,
            capped: used >= cap,
            reveal_note,
            escalation,
            matches,
            upload,
            file,
            related,
            supervisor,
            analysts,
            classes: vec!["A1", "A2", "B1", "B2"],
            c,
        }))
    })
    .await
}

async fn release(State(state): State<Arc<AppState>>, a: Authed, Path(id): Path<String>) -> Page {
    on_held_case(&state, a, id, move |st, a, row| {
        let rid = row.report.report_id;
        leave_case(st, a, &rid, true)?;
        audit(st, a, "case.release", &rid, serde_json::json!({}))?;
        Ok(see_other("/queue?msg=released"))
    })
    .await
}

async fn reveal(State(state): State<Arc<AppState>>, a: Authed, Path(id): Path<String>) -> Page {
    on_held_case(&state, a, id, move |st, a, row| {
        let rid = row.report.report_id;
        let t = &st.triage;
        let now = unix_now();
        let day = day_of(now, t.config.day_offset_minutes);
        let cap = t.config.exposure_cap_per_day;
        let m = hashline_metrics::global();
        let granted =
            t.cases.reveal_within_cap(&a.user.name, &rid, now, day, cap).map_err(|e| internal(a.lang, &e))?;
        let used =
            t.cases.exposure(&a.user.name, day, now, window(t)).map_err(|e| internal(a.lang, &e))?.reveals;
        let Some(reveal) = granted else {
            m.triage_exposure_cap_reached_total.inc();
            audit(
                st,
                a,
                "case.reveal.refused",
                &rid,
                serde_json::json!({ "reason": "daily exposure cap", "today": used }),
            )?;
            return Ok(see_other(&format!("/cases/{rid}")));
        };
        // Audited before the picture can be fetched; without the record, no reveal.
        if let Err(resp) = audit(st, a, "case.reveal", &rid, serde_json::json!({ "today": used })) {
            t.cases.unreveal(reveal).map_err(|e| internal(a.lang, &e))?;
            return Err(resp);
        }
        m.triage_reveals_total.inc();
        Ok(see_other(&format!("/cases/{rid}#media")))
    })
    .await
}

async fn media(
    State(state): State<Arc<AppState>>,
    a: Authed,
    Path((id, kind)): Path<(String, String)>,
) -> Page {
    a.require(Role::Analyst)?;
    let lang = a.lang;
    let (colour, clear) = match kind.as_str() {
        "preview.png" => (false, false),
        "clear.png" => (false, true),
        "colour.png" => (true, true),
        _ => return Err(message_page(lang, "error-no-case", StatusCode::NOT_FOUND)),
    };
    let bytes = on_held_case(&state, a, id, move |st, a, row| {
        let t = &st.triage;
        let rid = row.report.report_id;
        if clear && !is_revealed(t, a, &rid)? {
            return Err(forbidden(lang));
        }
        let (Some(ev), Some(store)) = (row.report.evidence.as_ref(), t.evidence.as_ref()) else {
            return Err(message_page(lang, "case-no-media", StatusCode::NOT_FOUND));
        };
        let purpose = if clear { "triage" } else { "triage-preview" };
        store.read(&ev.id, &format!("user:{}", a.user.name), purpose).map_err(|e| internal(lang, &e))
    })
    .await?;
    let opts = state.config.hash;
    let png = state
        .cpu(move || {
            let d = hashline_hash::Hasher::new(opts).decode(&bytes).ok()?;
            if clear {
                super::media::revealed(&d, colour)
            } else {
                super::media::preview(&d)
            }
        })
        .await
        .map_err(|_| internal(lang, &"the CPU pool failed decoding evidence"))?;
    match png {
        Some(png) => {
            Ok(([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "no-store")], png)
                .into_response())
        }
        None => Err(message_page(lang, "case-media-undecodable", StatusCode::UNPROCESSABLE_ENTITY)),
    }
}

// ---------------------------------------------------------------------------------------------
// Decisions

#[derive(Deserialize)]
struct ConfirmForm {
    legal: String,
    #[serde(default)]
    class: String,
}

async fn confirm(
    State(state): State<Arc<AppState>>,
    a: Authed,
    Path(id): Path<String>,
    Form(f): Form<ConfirmForm>,
) -> Page {
    a.require(Role::Analyst)?;
    let lang = a.lang;
    let legal = match f.legal.as_str() {
        "baseline" => LegalAssessment::Baseline,
        "national" => LegalAssessment::National,
        "not_illegal" => LegalAssessment::NotIllegal,
        _ => return Err(message_page(lang, "error-choose-legal", StatusCode::UNPROCESSABLE_ENTITY)),
    };
    let class = if f.class.is_empty() { None } else { IndustryClass::from_label(&f.class) };
    if (!f.class.is_empty() && class.is_none()) || (class.is_none() && legal != LegalAssessment::NotIllegal) {
        return Err(message_page(lang, "error-choose-class", StatusCode::UNPROCESSABLE_ENTITY));
    }
    on_held_case(&state, a, id, move |st, a, row| {
        let rid = row.report.report_id.clone();
        let mut assessment: Assessment = row.report.assessment.clone();
        assessment.legal = Some(legal);
        if let Some(c) = class {
            assessment.industry_classification = Some(c);
            assessment.iwf_category = Some(c.iwf_category());
            assessment.age_group = c.age_group();
        }
        // "Not illegal" is a dismissal: audited as one, and the outbox never delivers it.
        let (action, decision, msg) = if legal == LegalAssessment::NotIllegal {
            ("case.dismiss", "dismiss", "/queue?msg=dismissed")
        } else {
            ("case.confirm", "confirm", "/queue?msg=confirmed")
        };
        audit(
            st,
            a,
            action,
            &rid,
            serde_json::json!({ "legal": f.legal, "class": class.map(|c| c.as_str()) }),
        )?;
        st.triage.outbox.confirm(&rid, &a.user.name, Some(assessment)).map_err(|e| internal(lang, &e))?;
        leave_case(st, a, &rid, false)?;
        hashline_metrics::global().triage_decisions_total.with_label_values(&[decision]).inc();
        Ok(see_other(msg))
    })
    .await
}

#[derive(Deserialize)]
struct DismissForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    allow: String,
}

/// Longest free text kept from a form (characters).
const MAX_NOTE: usize = 1000;

pub(super) fn note(s: &str) -> String {
    s.trim().chars().filter(|c| !c.is_control() || *c == '\n').take(MAX_NOTE).collect()
}

async fn dismiss(
    State(state): State<Arc<AppState>>,
    a: Authed,
    Path(id): Path<String>,
    Form(f): Form<DismissForm>,
) -> Page {
    let lang = a.lang;
    on_held_case(&state, a, id, move |st, a, row| {
        let r = &row.report;
        let rid = r.report_id.clone();
        let reason = note(&f.reason);
        let allow = f.allow == "1";
        audit(st, a, "case.dismiss", &rid, serde_json::json!({ "reason": reason, "allow_list": allow }))?;
        st.triage
            .outbox
            .dismiss(&rid, &format!("false positive ({}): {reason}", a.user.name))
            .map_err(|e| internal(lang, &e))?;
        leave_case(st, a, &rid, false)?;
        hashline_metrics::global().triage_decisions_total.with_label_values(&["dismiss"]).inc();
        if !allow {
            return Ok(see_other("/queue?msg=dismissed"));
        }
        // Allow-listing waits for a supervisor's approval (the allow page).
        let proposed = st.triage.cases.propose_allow(&rid, &a.user.name, &reason, unix_now());
        if !proposed.map_err(|e| internal(lang, &e))? {
            return Ok(see_other("/queue?msg=dismissed"));
        }
        audit(
            st,
            a,
            "list.allow.propose",
            &st.triage.config.allow_list,
            serde_json::json!({ "report": rid }),
        )?;
        Ok(see_other("/queue?msg=allow-proposed"))
    })
    .await
}

#[derive(Deserialize)]
struct EscalateForm {
    #[serde(default)]
    note: String,
}

async fn escalate(
    State(state): State<Arc<AppState>>,
    a: Authed,
    Path(id): Path<String>,
    Form(f): Form<EscalateForm>,
) -> Page {
    let lang = a.lang;
    on_held_case(&state, a, id, move |st, a, row| {
        let rid = row.report.report_id;
        let text = note(&f.note);
        audit(st, a, "case.escalate", &rid, serde_json::json!({ "note": text }))?;
        st.triage.cases.escalate(&rid, &a.user.name, &text, unix_now()).map_err(|e| internal(lang, &e))?;
        leave_case(st, a, &rid, false)?;
        hashline_metrics::global().triage_decisions_total.with_label_values(&["escalate"]).inc();
        Ok(see_other("/queue?msg=escalated"))
    })
    .await
}

#[derive(Deserialize)]
struct AssignForm {
    to: String,
}

async fn assign(
    State(state): State<Arc<AppState>>,
    a: Authed,
    Path(id): Path<String>,
    Form(f): Form<AssignForm>,
) -> Page {
    a.require(Role::Supervisor)?;
    let lang = a.lang;
    blocking(&state, lang, move |st| {
        let row = review_row(st, &a, &id)?;
        let rid = row.report.report_id;
        let t = &st.triage;
        let escalated = t.cases.escalation(&rid).map_err(|e| internal(lang, &e))?.is_some();
        let needed = if escalated { Role::Supervisor } else { Role::Analyst };
        if t.users.active(&f.to).is_none_or(|u| !u.role.includes(needed)) {
            return Err(message_page(lang, "error-no-analyst", StatusCode::UNPROCESSABLE_ENTITY));
        }
        t.cases.claim(&rid, &f.to, unix_now(), ttl(t), true).map_err(|e| internal(lang, &e))?;
        audit(st, &a, "case.assign", &rid, serde_json::json!({ "to": f.to }))?;
        Ok(see_other("/queue?msg=assigned"))
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Audit log, accounts, lists, operations

struct AuditView {
    seq: u64,
    at: String,
    actor: String,
    action: String,
    target: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditTpl {
    c: Chrome,
    verified: bool,
    verify_text: String,
    records: Vec<AuditView>,
}

/// Records shown on the audit page.
const AUDIT_SHOWN: usize = 300;

async fn audit_page(State(state): State<Arc<AppState>>, a: Authed) -> Page {
    a.require(Role::Supervisor)?;
    let lang = a.lang;
    blocking(&state, lang, move |st| {
        // A log that no longer verifies cannot be extended; the page still shows it, with the
        // verification failure on top, because that is what a supervisor must see.
        if let Err(e) = audit(st, &a, "audit.read", "", serde_json::json!({})) {
            if hashline_report::audit::verify(st.audit.path()).is_ok() {
                return Err(e);
            }
        }
        let c = chrome(&st.triage, &a, "/audit", None);
        let path = st.audit.path().to_path_buf();
        let (verified, verify_text) = match hashline_report::audit::verify(&path) {
            Ok((n, _)) => (true, c.tr.n("audit-verified", n as i64)),
            Err(e) => (false, format!("{} {e}", c.t("audit-tampered"))),
        };
        let records = hashline_report::audit::tail(&path, AUDIT_SHOWN)
            .map_err(|e| internal(lang, &e))?
            .into_iter()
            .rev()
            .map(|r| AuditView {
                seq: r.seq,
                at: r.at,
                actor: r.actor,
                action: r.action,
                target: r.target,
                detail: if r.detail.is_empty() {
                    String::new()
                } else {
                    serde_json::Value::Object(r.detail).to_string()
                },
            })
            .collect();
        Ok(render(&AuditTpl { c, verified, verify_text, records }))
    })
    .await
}

struct UserView {
    name: String,
    role: &'static str,
    created: String,
    disabled: bool,
    me: bool,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersTpl {
    c: Chrome,
    users: Vec<UserView>,
    roles: Vec<&'static str>,
    error: String,
}

#[derive(Deserialize, Default)]
pub(super) struct MsgQuery {
    pub(super) msg: Option<String>,
}

fn users_view(
    st: &AppState,
    a: &Authed,
    flash_id: Option<&str>,
    error: String,
) -> Result<Response, Response> {
    let c = chrome(&st.triage, a, "/admin/users", flash_id);
    let users = st
        .triage
        .users
        .list()
        .map_err(|e| internal(a.lang, &e))?
        .into_iter()
        .map(|u| UserView {
            me: u.name == a.user.name,
            role: u.role.as_str(),
            created: u.created_at,
            disabled: u.disabled_at.is_some(),
            name: u.name,
        })
        .collect();
    let status = if error.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok((status, render(&UsersTpl { c, users, roles: Role::ALL.iter().map(|r| r.as_str()).collect(), error }))
        .into_response())
}

async fn users_page(State(state): State<Arc<AppState>>, a: Authed, Query(q): Query<MsgQuery>) -> Page {
    a.require(Role::Admin)?;
    blocking(&state, a.lang, move |st| {
        audit(st, &a, "users.view", "", serde_json::json!({}))?;
        users_view(st, &a, flash(&q.msg), String::new())
    })
    .await
}

/// An account error in the page's language (the details of an I/O failure go to the log).
fn user_error(lang: Lang, e: &super::users::UserError) -> String {
    use super::users::UserError as E;
    let tr = Tr { lang };
    match e {
        E::BadName(_) => tr.t("error-user-name"),
        E::Exists(_) => tr.t("error-user-exists"),
        E::NotFound(_) => tr.t("error-user-missing"),
        E::WeakPassword { min } => tr.n("error-user-weak", *min as i64),
        E::BadRole(_) => tr.t("error-user-role"),
        E::Io(_) | E::Hash(_) => {
            tracing::error!(error = %e, "account change failed");
            tr.t("error-internal")
        }
    }
}

#[derive(Deserialize)]
struct AddUserForm {
    name: String,
    role: String,
    password: String,
    password2: String,
}

async fn add_user(State(state): State<Arc<AppState>>, a: Authed, Form(f): Form<AddUserForm>) -> Page {
    a.require(Role::Admin)?;
    blocking(&state, a.lang, move |st| {
        let tr = Tr { lang: a.lang };
        if f.password != f.password2 {
            return users_view(st, &a, None, tr.t("error-passwords-differ"));
        }
        let role = match super::users::Role::parse(&f.role) {
            Ok(r) => r,
            Err(e) => return users_view(st, &a, None, user_error(a.lang, &e)),
        };
        match st.triage.users.add(f.name.trim(), role, &f.password) {
            Ok(u) => {
                audit(st, &a, "user.add", &u.name, serde_json::json!({ "role": role.as_str() }))?;
                Ok(see_other("/admin/users?msg=user-added"))
            }
            Err(e) => users_view(st, &a, None, user_error(a.lang, &e)),
        }
    })
    .await
}

#[derive(Deserialize)]
struct ChangeUserForm {
    action: String,
    #[serde(default)]
    role: String,
}

async fn change_user(
    State(state): State<Arc<AppState>>,
    a: Authed,
    Path(name): Path<String>,
    Form(f): Form<ChangeUserForm>,
) -> Page {
    a.require(Role::Admin)?;
    blocking(&state, a.lang, move |st| {
        let t = &st.triage;
        if name == a.user.name {
            // An admin cannot lock themselves out; another admin does it.
            return users_view(st, &a, None, Tr { lang: a.lang }.t("error-not-yourself"));
        }
        let result = match f.action.as_str() {
            "disable" => t.users.set_disabled(&name, true).map(|_| serde_json::json!({})),
            "enable" => t.users.set_disabled(&name, false).map(|_| serde_json::json!({})),
            "role" => Role::parse(&f.role)
                .and_then(|r| t.users.set_role(&name, r))
                .map(|u| serde_json::json!({ "role": u.role.as_str() })),
            _ => return Err(message_page(a.lang, "error-bad-form", StatusCode::UNPROCESSABLE_ENTITY)),
        };
        match result {
            Ok(detail) => {
                t.sessions.end_user(&name);
                audit(st, &a, &format!("user.{}", f.action), &name, detail)?;
                Ok(see_other("/admin/users?msg=user-changed"))
            }
            Err(e) => users_view(st, &a, None, user_error(a.lang, &e)),
        }
    })
    .await
}

struct ListView {
    name: String,
    kind: String,
    source: String,
    version: u64,
    entries: String,
    fetched: String,
    signed: String,
}

#[derive(Template)]
#[template(path = "lists.html")]
struct ListsTpl {
    c: Chrome,
    lists: Vec<ListView>,
}

async fn lists_page(State(state): State<Arc<AppState>>, a: Authed) -> Page {
    a.require(Role::Admin)?;
    blocking(&state, a.lang, move |st| {
        audit(st, &a, "lists.view", "", serde_json::json!({}))?;
        let c = chrome(&st.triage, &a, "/admin/lists", None);
        let set = st.lists.snapshot();
        let lists = set
            .summaries()
            .into_iter()
            .map(|(m, counts)| ListView {
                name: m.name.clone(),
                kind: c.t(if m.kind == hashline_lists::ListKind::Allow {
                    "list-kind-allow"
                } else {
                    "list-kind-known"
                }),
                source: m.source.clone(),
                version: m.version,
                entries: counts.iter().map(|(s, n)| format!("{s} {n}")).collect::<Vec<_>>().join(", "),
                fetched: m.fetched_at.clone(),
                signed: m.signed_by.clone().unwrap_or_default(),
            })
            .collect();
        Ok(render(&ListsTpl { c, lists }))
    })
    .await
}

#[derive(Template)]
#[template(path = "ops.html")]
struct OpsTpl {
    c: Chrome,
    counts: Vec<Field>,
    lists_loaded: usize,
    sessions: usize,
}

async fn ops_page(State(state): State<Arc<AppState>>, a: Authed) -> Page {
    a.require(Role::Operator)?;
    blocking(&state, a.lang, move |st| {
        let t = &st.triage;
        let c = chrome(t, &a, "/ops", None);
        let s = t.outbox.stats().map_err(|e| internal(a.lang, &e))?;
        let tr = c.tr;
        let counts = [
            ("state-review", s.review),
            ("state-pending", s.pending),
            ("state-parked", s.parked),
            ("state-delivered", s.delivered),
            ("state-dismissed", s.dismissed),
            ("state-relayed", s.relayed),
        ]
        .into_iter()
        .map(|(id, n)| Field { label: tr.t(id), value: n.to_string(), mono: false })
        .collect();
        Ok(render(&OpsTpl {
            counts,
            lists_loaded: st.lists.snapshot().versions().len(),
            sessions: t.sessions.active(),
            c,
        }))
    })
    .await
}

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
