//! Driving the triage pages through the router: requests with a cookie and a form, logins.
#![allow(dead_code, clippy::unwrap_used)]

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use tower::ServiceExt;

/// Every test account's password.
pub const PASSWORD: &str = "correct horse battery";

pub struct Resp {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
    pub fn session_cookie(&self) -> Option<String> {
        self.headers.get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
            v.strip_prefix("hl_session=").map(|r| r.split(';').next().unwrap_or("").to_string())
        })
    }
    pub fn csrf(&self) -> String {
        let i = self.body.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + 19;
        self.body[i..i + 64].to_string()
    }
}

pub async fn send(
    app: &Router,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: Option<String>,
) -> Resp {
    let mut b = Request::builder().method(method).uri(path);
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    let body = match form {
        Some(f) => {
            b = b.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            Body::from(f)
        }
        None => Body::empty(),
    };
    let resp = app.clone().oneshot(b.body(body).unwrap()).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Resp { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
}

/// The login page: its cookie (as a `Cookie` header value) and the form's CSRF token.
pub async fn login_form(app: &Router) -> (String, String) {
    let page = send(app, "GET", "/login", None, None).await;
    let cookie = page
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.starts_with("hl_login=").then(|| v.split(';').next().unwrap().to_string()))
        .expect("the login page sets its cookie");
    (cookie, page.csrf())
}

/// Logs in; returns the cookie header value and the session's CSRF token.
pub async fn login(app: &Router, name: &str) -> (String, String) {
    let (pre, csrf) = login_form(app).await;
    let r = send(
        app,
        "POST",
        "/login",
        Some(&pre),
        Some(format!("csrf={csrf}&name={name}&password={}", PASSWORD.replace(' ', "+"))),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let cookie = format!("hl_session={}", r.session_cookie().unwrap());
    let home = send(app, "GET", if name == "ops" { "/ops" } else { "/queue" }, Some(&cookie), None).await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    (cookie, home.csrf())
}
