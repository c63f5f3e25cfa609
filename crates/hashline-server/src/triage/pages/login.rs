//! Login, logout and the language switch.

use super::*;

pub(in crate::triage) async fn home(a: Authed) -> Response {
    if a.user.role.triages() {
        see_other("/queue")
    } else {
        see_other("/ops")
    }
}

#[derive(Template)]
#[template(path = "login.html")]
pub(in crate::triage) struct LoginTpl {
    pub(in crate::triage) c: Chrome,
    pub(in crate::triage) error: String,
    pub(in crate::triage) name: String,
}

pub(in crate::triage) fn login_form(
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

pub(in crate::triage) async fn login_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Response {
    if session_user(&headers, &state.triage).is_some() {
        return see_other("/");
    }
    login_form(&state, &headers, None, String::new(), StatusCode::OK)
}

#[derive(Deserialize)]
pub(in crate::triage) struct LoginForm {
    pub(in crate::triage) name: String,
    pub(in crate::triage) password: String,
}

pub(in crate::triage) async fn login(
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
            let _ = state.audit.append(&hashline_report::Actor::User(name.clone()), "login.locked", "", d);
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
                .append(&hashline_report::Actor::User(n), "login.failed", "", Default::default())
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
    let actor = hashline_report::Actor::User(user.name.clone());
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

pub(in crate::triage) async fn logout(State(state): State<Arc<AppState>>, a: Authed) -> Page {
    state.triage.sessions.end(&a.sid);
    let a2 = a.clone();
    blocking(&state, a.lang, move |st| audit(st, &a2, "logout", "", serde_json::json!({}))).await?;
    Ok(with_cookie(see_other("/login"), &set_cookie(None, state.triage.config.secure_cookies)))
}

/// A path on this site and nothing else (no open redirect): it starts with one `/`, and holds
/// only visible ASCII without `\`. Browsers drop tabs and newlines from URLs, so `/\t/evil`
/// would become `//evil`, another site; such characters are refused, not cleaned.
pub(in crate::triage) fn local_path(p: &str) -> bool {
    let b = p.as_bytes();
    b.first() == Some(&b'/')
        && !matches!(b.get(1), Some(b'/') | Some(b'\\'))
        && b.iter().all(|c| c.is_ascii_graphic() && *c != b'\\')
}

#[derive(Deserialize)]
pub(in crate::triage) struct LangForm {
    pub(in crate::triage) lang: String,
    #[serde(default)]
    pub(in crate::triage) back: String,
}

pub(in crate::triage) async fn set_lang(Form(f): Form<LangForm>) -> Response {
    let lang = Lang::parse(&f.lang).unwrap_or(Lang::En);
    let back = if local_path(&f.back) { f.back } else { "/".into() };
    with_cookie(
        see_other(&back),
        &format!("hl_lang={}; Path=/; SameSite=Strict; Max-Age=31536000", lang.tag()),
    )
}
