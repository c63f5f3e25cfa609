//! The triage app through its router (`tower::ServiceExt::oneshot`, no socket): who may reach
//! what, CSRF, sessions, claims, the exposure cap, decisions into the outbox, the allow-list,
//! the audit trail and the language switch. Every picture is generated and benign.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use hashline_report::{
    Channel, DataDir, Detection, EvidenceConfig, FileInfo, Keyring, Policy, ReportStage, Reporter, State,
};
use hashline_server::triage::{Role, TriageConfig};
use hashline_server::{app, AppState, ServerConfig, Settings};
use tower::ServiceExt;

mod common;

use common::pages::*;

struct Env {
    dir: PathBuf,
    app: Router,
    state: Arc<AppState>,
    ids: Vec<String>,
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A benign picture: a colour gradient with a pattern chosen by `seed`.
fn picture(seed: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(96, 64, |x, y| {
        let v = ((x * (seed + 3) + y * (seed * 7 + 1)) % 256) as u8;
        image::Rgb([v, (x * 2) as u8, (y * 3) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img).write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// Review reports for `n` generated pictures (PDQ near matches on a synthetic list), their
/// media preserved, the same uploader for all; accounts for each role.
fn env(n: u32, triage: TriageConfig) -> Env {
    let dir = std::env::temp_dir().join(format!("hashline-triage-{}", hashline_report::random_id()));
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let key = dir.join("evidence.key");
    std::fs::write(&key, Keyring::generate().unwrap()).unwrap();
    let evidence = EvidenceConfig { enabled: true, key_file: Some(key), retention_days: 30 };
    let stage = ReportStage::open(&data, Reporter::default(), Policy::default(), &evidence).unwrap();
    let mut hasher = hashline_hash::Hasher::new(Default::default());
    let mut ids = Vec::new();
    for i in 0..n {
        let bytes = picture(i);
        let h = hasher.hash(&bytes);
        let file = FileInfo::from_hashes(&h, Some(format!("upload-{i}.png")), None);
        let det = Detection {
            upload_id: format!("upload-{i}"),
            channel: Channel::Api,
            detected_at: String::new(),
            uploaded_at: None,
            platform: Some(if i % 2 == 0 { "chat-a" } else { "video-b" }.into()),
            source_url: None,
            uploader: Some(hashline_report::Uploader {
                account_id: Some("acct-7".into()),
                screen_name: None,
                ip: None,
            }),
            file: file.clone(),
            matches: vec![hashline_lists::Match {
                list: "synthetic-pdq".into(),
                source: "test".into(),
                list_version: 1,
                entry_id: format!("e{i}"),
                classification: Some("A2".into()),
                signal: hashline_lists::SignalType::Pdq,
                value: file.pdq.clone().unwrap(),
                distance: 6,
                dihedral: None,
                border_trimmed: None,
                pytx_conversion: false,
                video: None,
            }],
            retroactive: None,
        };
        let rec = stage.record(&det, Some(&bytes)).unwrap().unwrap();
        ids.push(rec.report().report_id.clone());
    }
    drop(stage);
    let store = hashline_lists::Store::open(dir.join("store")).unwrap();
    let data = DataDir::open(&data, &evidence).unwrap();
    let settings = Settings { triage, ..Settings::default() };
    let state = Arc::new(AppState::open(store, &data, settings).unwrap());
    for (name, role) in [
        ("ana", Role::Analyst),
        ("bopha", Role::Analyst),
        ("sup", Role::Supervisor),
        ("adm", Role::Admin),
        ("ops", Role::Operator),
    ] {
        state.triage.users.add(name, role, PASSWORD).unwrap();
    }
    Env { app: app(Arc::clone(&state)), state, dir, ids }
}

fn config() -> TriageConfig {
    TriageConfig { secure_cookies: true, ..TriageConfig::default() }
}

/// Every route of the triage app with a method; `{id}` is a real case.
fn routes(id: &str) -> Vec<(&'static str, String)> {
    [
        ("GET", "/"),
        ("POST", "/logout"),
        ("POST", "/lang"),
        ("GET", "/queue"),
        ("POST", "/queue/next"),
        ("POST", "/queue/group/dismiss"),
        ("GET", "/cases/{id}"),
        ("POST", "/cases/{id}/claim"),
        ("POST", "/cases/{id}/release"),
        ("POST", "/cases/{id}/reveal"),
        ("GET", "/cases/{id}/media/preview.png"),
        ("GET", "/cases/{id}/media/clear.png"),
        ("GET", "/cases/{id}/media/colour.png"),
        ("POST", "/cases/{id}/confirm"),
        ("POST", "/cases/{id}/dismiss"),
        ("POST", "/cases/{id}/escalate"),
        ("POST", "/cases/{id}/assign"),
        ("GET", "/audit"),
        ("GET", "/quarantine"),
        ("POST", "/quarantine/lift"),
        ("POST", "/quarantine/disable"),
        ("GET", "/admin/users"),
        ("POST", "/admin/users"),
        ("POST", "/admin/users/ana"),
        ("GET", "/admin/lists"),
        ("GET", "/ops"),
        ("GET", "/stats"),
        ("GET", "/stats/report?from=2026-01-01&to=2026-01-31"),
        ("GET", "/metrics"),
        ("GET", "/v1/lists"),
        ("POST", "/v1/match"),
        ("POST", "/v1/hash"),
        ("GET", "/v1/openapi.json"),
    ]
    .into_iter()
    .map(|(m, p)| (m, p.replace("{id}", id)))
    .collect()
}

#[tokio::test]
async fn anonymous_callers_are_refused_everywhere() {
    let e = env(1, config());
    let id = &e.ids[0];
    for (method, path) in routes(id) {
        let r = send(&e.app, method, &path, None, Some("csrf=x&legal=baseline&class=A1".into())).await;
        if method == "GET" && !path.starts_with("/v1") && path != "/metrics" {
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{method} {path}");
            assert_eq!(r.location(), "/login", "{method} {path}");
        } else {
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{method} {path}: {}", r.body);
        }
        assert!(!r.body.contains(id) && !r.body.contains("acct-7"), "{method} {path} leaked case data");
    }
    // A made-up session id is anonymous too.
    let r = send(&e.app, "GET", "/queue", Some("hl_session=00112233"), None).await;
    assert_eq!(r.location(), "/login");
    // Public: probes, the login page and the two static files.
    for p in ["/healthz", "/login", "/static/app.css", "/static/app.js"] {
        assert_eq!(send(&e.app, "GET", p, None, None).await.status, StatusCode::OK, "{p}");
    }
    // Nothing was decided.
    assert_eq!(e.state.triage.outbox.stats().unwrap().review, 1);
}

#[tokio::test]
async fn session_id_changes_at_login_and_cookies_are_locked_down() {
    let e = env(1, config());
    let page = send(&e.app, "GET", "/login", None, None).await;
    let set = page.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().to_string();
    for flag in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(set.contains(flag), "{set} lacks {flag}");
    }
    let csp = page.headers.get(header::CONTENT_SECURITY_POLICY).unwrap().to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(page.session_cookie().is_none(), "no session before login");
    // A session id planted in the browser before login (fixation) gains nothing.
    let before = "ab".repeat(32);
    let login_cookie = set.split(';').next().unwrap().to_string();
    let r = send(
        &e.app,
        "POST",
        "/login",
        Some(&format!("{login_cookie}; hl_session={before}")),
        Some(format!("csrf={}&name=ana&password={}", page.csrf(), PASSWORD.replace(' ', "+"))),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let after = r.session_cookie().unwrap();
    assert_ne!(before, after, "a new session id at login");
    // The id from before login is worthless: fixation gains nothing.
    let old = send(&e.app, "GET", "/queue", Some(&format!("hl_session={before}")), None).await;
    assert_eq!(old.location(), "/login");
    let new = send(&e.app, "GET", "/queue", Some(&format!("hl_session={after}")), None).await;
    assert_eq!(new.status, StatusCode::OK);
    // Logout ends it.
    let csrf = new.csrf();
    let out =
        send(&e.app, "POST", "/logout", Some(&format!("hl_session={after}")), Some(format!("csrf={csrf}")))
            .await;
    assert_eq!(out.location(), "/login");
    let gone = send(&e.app, "GET", "/queue", Some(&format!("hl_session={after}")), None).await;
    assert_eq!(gone.location(), "/login");
}

#[tokio::test]
async fn forged_or_missing_csrf_tokens_are_rejected_on_every_form() {
    let e = env(2, config());
    let id = e.ids[0].clone();
    let (cookie, csrf) = login(&e.app, "adm").await;
    let forged = format!("{}{}", &csrf[..63], if csrf.ends_with('0') { "1" } else { "0" });
    for (method, path) in
        routes(&id).into_iter().filter(|(m, p)| *m == "POST" && !p.starts_with("/v1") && p != "/logout")
    {
        for token in [forged.as_str(), ""] {
            let body = format!("csrf={token}&legal=baseline&class=A1&name=x&role=analyst&password=a&password2=a&action=disable&lang=km&to=ana");
            let r = send(&e.app, method, &path, Some(&cookie), Some(body)).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} with token {token:?}: {}", r.body);
        }
    }
    // Another session's token is forged too.
    let (_, other_csrf) = login(&e.app, "sup").await;
    let r = send(
        &e.app,
        "POST",
        &format!("/cases/{id}/claim"),
        Some(&cookie),
        Some(format!("csrf={other_csrf}")),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The login form needs its token too.
    let (pre, _) = login_form(&e.app).await;
    let r = send(
        &e.app,
        "POST",
        "/login",
        Some(&pre),
        Some(format!("csrf=&name=ana&password={}", PASSWORD.replace(' ', "+"))),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Nothing changed, and the rejections are counted.
    assert_eq!(e.state.triage.outbox.stats().unwrap().review, 2);
    assert!(e.state.triage.users.active("ana").is_some());
    assert!(hashline_metrics::global().triage_csrf_rejected_total.get() >= 20);
    // With the right token the same form works.
    let r = send(&e.app, "POST", &format!("/cases/{id}/claim"), Some(&cookie), Some(format!("csrf={csrf}")))
        .await;
    assert_eq!(r.location(), format!("/cases/{id}"));
}

#[tokio::test]
async fn roles_see_only_what_they_may() {
    let e = env(1, config());
    let id = e.ids[0].clone();
    let expect: &[(&str, &[(&str, StatusCode)])] = &[
        (
            "ops",
            &[
                ("/queue", StatusCode::FORBIDDEN),
                ("/audit", StatusCode::FORBIDDEN),
                ("/admin/users", StatusCode::FORBIDDEN),
                ("/ops", StatusCode::OK),
                ("/metrics", StatusCode::OK),
            ],
        ),
        (
            "ana",
            &[
                ("/queue", StatusCode::OK),
                ("/audit", StatusCode::FORBIDDEN),
                ("/admin/users", StatusCode::FORBIDDEN),
                ("/ops", StatusCode::FORBIDDEN),
                ("/metrics", StatusCode::FORBIDDEN),
            ],
        ),
        (
            "sup",
            &[
                ("/queue", StatusCode::OK),
                ("/audit", StatusCode::OK),
                ("/admin/users", StatusCode::FORBIDDEN),
                ("/admin/lists", StatusCode::FORBIDDEN),
            ],
        ),
        (
            "adm",
            &[
                ("/queue", StatusCode::OK),
                ("/audit", StatusCode::OK),
                ("/admin/users", StatusCode::OK),
                ("/admin/lists", StatusCode::OK),
                ("/ops", StatusCode::OK),
                ("/metrics", StatusCode::OK),
            ],
        ),
    ];
    for (user, checks) in expect {
        let (cookie, _) = login(&e.app, user).await;
        for (path, status) in *checks {
            assert_eq!(
                send(&e.app, "GET", path, Some(&cookie), None).await.status,
                *status,
                "{user} GET {path}"
            );
        }
    }
    // An operator never reaches a case or its media.
    let (cookie, csrf) = login(&e.app, "ops").await;
    let r = send(&e.app, "POST", &format!("/cases/{id}/claim"), Some(&cookie), Some(format!("csrf={csrf}")))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send(&e.app, "GET", &format!("/cases/{id}/media/preview.png"), Some(&cookie), None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Disabling an account ends its sessions at once.
    let (ana, _) = login(&e.app, "ana").await;
    e.state.triage.users.set_disabled("ana", true).unwrap();
    assert_eq!(send(&e.app, "GET", "/queue", Some(&ana), None).await.location(), "/login");
}

#[tokio::test]
async fn logins_are_rate_limited() {
    let e = env(0, TriageConfig { login_max_failures: 3, ..config() });
    let (cookie, csrf) = login_form(&e.app).await;
    for _ in 0..3 {
        let r = send(
            &e.app,
            "POST",
            "/login",
            Some(&cookie),
            Some(format!("csrf={csrf}&name=ana&password=wrong+guess+here")),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(r.body.contains("Wrong account name or password"), "{}", r.body);
    }
    // Locked: even the right password is refused for now.
    let r = send(
        &e.app,
        "POST",
        "/login",
        Some(&cookie),
        Some(format!("csrf={csrf}&name=ana&password={}", PASSWORD.replace(' ', "+"))),
    )
    .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers.contains_key(header::RETRY_AFTER));
    // Other accounts are unaffected.
    login(&e.app, "bopha").await;
    let log = std::fs::read_to_string(e.dir.join("data/audit.log")).unwrap();
    assert_eq!(log.matches("\"login.failed\"").count(), 3);
    assert_eq!(log.matches("\"login.locked\"").count(), 1);
    assert!(!log.contains("wrong guess"), "passwords never reach the audit log");
}

#[tokio::test]
async fn claims_are_exclusive_and_supervisors_reassign() {
    let e = env(1, config());
    let id = e.ids[0].clone();
    let (ana, ana_csrf) = login(&e.app, "ana").await;
    let (bopha, bopha_csrf) = login(&e.app, "bopha").await;
    let r = send(&e.app, "POST", "/queue/next", Some(&ana), Some(format!("csrf={ana_csrf}&filters="))).await;
    assert_eq!(r.location(), format!("/cases/{id}"));
    assert_eq!(send(&e.app, "GET", &format!("/cases/{id}"), Some(&ana), None).await.status, StatusCode::OK);
    // bopha can neither open nor claim it, and "next" finds nothing free.
    let r = send(&e.app, "GET", &format!("/cases/{id}"), Some(&bopha), None).await;
    assert_eq!(r.location(), "/queue?msg=claimed-elsewhere");
    let r =
        send(&e.app, "POST", &format!("/cases/{id}/claim"), Some(&bopha), Some(format!("csrf={bopha_csrf}")))
            .await;
    assert_eq!(r.location(), "/queue?msg=claimed-elsewhere");
    let r =
        send(&e.app, "POST", "/queue/next", Some(&bopha), Some(format!("csrf={bopha_csrf}&filters="))).await;
    assert_eq!(r.location(), "/queue?msg=queue-empty");
    let q = send(&e.app, "GET", "/queue", Some(&bopha), None).await;
    assert!(q.body.contains("claimed by ana"), "{}", q.body);
    // A supervisor hands it to bopha.
    let (sup, sup_csrf) = login(&e.app, "sup").await;
    let r = send(
        &e.app,
        "POST",
        &format!("/cases/{id}/assign"),
        Some(&sup),
        Some(format!("csrf={sup_csrf}&to=bopha")),
    )
    .await;
    assert_eq!(r.location(), "/queue?msg=assigned");
    assert_eq!(send(&e.app, "GET", &format!("/cases/{id}"), Some(&bopha), None).await.status, StatusCode::OK);
    assert_eq!(
        send(&e.app, "GET", &format!("/cases/{id}"), Some(&ana), None).await.location(),
        "/queue?msg=claimed-elsewhere"
    );
    // Not to an operator.
    let r = send(
        &e.app,
        "POST",
        &format!("/cases/{id}/assign"),
        Some(&sup),
        Some(format!("csrf={sup_csrf}&to=ops")),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn media_is_blurred_until_revealed_and_reveals_are_capped() {
    let e = env(2, TriageConfig { exposure_cap_per_day: 1, ..config() });
    let (a, b) = (e.ids[0].clone(), e.ids[1].clone());
    let (ana, csrf) = login(&e.app, "ana").await;
    for id in [&a, &b] {
        send(&e.app, "POST", &format!("/cases/{id}/claim"), Some(&ana), Some(format!("csrf={csrf}"))).await;
    }
    let page = send(&e.app, "GET", &format!("/cases/{a}"), Some(&ana), None).await;
    assert!(page.body.contains("class=\"blurred\"") && page.body.contains("id=\"reveal\""), "{}", page.body);
    assert!(page.body.contains("Reveals today: 0 of 1"));
    // The preview is a tiny greyscale PNG; the clear picture needs a reveal.
    let prev = send(&e.app, "GET", &format!("/cases/{a}/media/preview.png"), Some(&ana), None).await;
    assert_eq!(prev.status, StatusCode::OK);
    assert_eq!(prev.headers.get(header::CONTENT_TYPE).unwrap(), "image/png");
    assert_eq!(
        send(&e.app, "GET", &format!("/cases/{a}/media/clear.png"), Some(&ana), None).await.status,
        StatusCode::FORBIDDEN
    );
    let r =
        send(&e.app, "POST", &format!("/cases/{a}/reveal"), Some(&ana), Some(format!("csrf={csrf}"))).await;
    assert_eq!(r.location(), format!("/cases/{a}#media"));
    assert_eq!(
        send(&e.app, "GET", &format!("/cases/{a}/media/clear.png"), Some(&ana), None).await.status,
        StatusCode::OK
    );
    let page = send(&e.app, "GET", &format!("/cases/{a}"), Some(&ana), None).await;
    assert!(page.body.contains("class=\"revealed\""));
    // A reveal is for the analyst who made it.
    let (sup, sup_csrf) = login(&e.app, "sup").await;
    send(&e.app, "POST", &format!("/cases/{a}/assign"), Some(&sup), Some(format!("csrf={sup_csrf}&to=sup")))
        .await;
    assert_eq!(
        send(&e.app, "GET", &format!("/cases/{a}/media/clear.png"), Some(&sup), None).await.status,
        StatusCode::FORBIDDEN
    );
    // The cap is reached: the next case stays blurred and a break is suggested.
    let page = send(&e.app, "GET", &format!("/cases/{b}"), Some(&ana), None).await;
    assert!(page.body.contains("id=\"break\"") && !page.body.contains("id=\"reveal\""), "{}", page.body);
    let r =
        send(&e.app, "POST", &format!("/cases/{b}/reveal"), Some(&ana), Some(format!("csrf={csrf}"))).await;
    assert_eq!(r.location(), format!("/cases/{b}"));
    assert_eq!(
        send(&e.app, "GET", &format!("/cases/{b}/media/clear.png"), Some(&ana), None).await.status,
        StatusCode::FORBIDDEN
    );
    let log = std::fs::read_to_string(e.dir.join("data/audit.log")).unwrap();
    assert_eq!(log.matches("\"case.reveal\"").count(), 1);
    assert_eq!(log.matches("\"case.reveal.refused\"").count(), 1);
    assert!(hashline_metrics::global().triage_exposure_cap_reached_total.get() >= 1);
}

#[tokio::test]
async fn decisions_reach_the_outbox_and_the_allow_list_and_are_audited() {
    let e = env(4, config());
    let (ana, csrf) = login(&e.app, "ana").await;
    for id in &e.ids {
        send(&e.app, "POST", &format!("/cases/{id}/claim"), Some(&ana), Some(format!("csrf={csrf}"))).await;
    }
    let [c, d, x, esc] = [0, 1, 2, 3].map(|i| e.ids[i].clone());
    // A class is needed for an illegal assessment.
    let r = send(
        &e.app,
        "POST",
        &format!("/cases/{c}/confirm"),
        Some(&ana),
        Some(format!("csrf={csrf}&legal=baseline&class=")),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = send(
        &e.app,
        "POST",
        &format!("/cases/{c}/confirm"),
        Some(&ana),
        Some(format!("csrf={csrf}&legal=national&class=B1")),
    )
    .await;
    assert_eq!(r.location(), "/queue?msg=confirmed");
    let row = e.state.triage.outbox.get(&c).unwrap();
    assert_eq!(row.state, State::Pending, "confirmed reports join the delivery queue");
    let a = &row.report.assessment;
    assert_eq!(a.legal, Some(hashline_report::LegalAssessment::National));
    assert_eq!(a.industry_classification, Some(hashline_report::IndustryClass::B1));
    assert!(
        matches!(&row.report.review, hashline_report::Review::Confirmed { analyst, .. } if analyst == "ana")
    );
    // Deciding twice is not possible.
    let r = send(
        &e.app,
        "POST",
        &format!("/cases/{c}/confirm"),
        Some(&ana),
        Some(format!("csrf={csrf}&legal=national&class=B1")),
    )
    .await;
    assert_eq!(r.location(), "/queue?msg=not-in-review");
    // False positive with the allow-list.
    let r = send(
        &e.app,
        "POST",
        &format!("/cases/{d}/dismiss"),
        Some(&ana),
        Some(format!("csrf={csrf}&reason=a+sunset&allow=1")),
    )
    .await;
    assert_eq!(r.location(), "/queue?msg=allow-proposed");
    assert_eq!(e.state.triage.outbox.get(&d).unwrap().state, State::Dismissed);
    let store = hashline_lists::Store::open(e.dir.join("store")).unwrap();
    assert_eq!(store.current_version("triage-allow").unwrap(), None, "a proposal changes no list");
    // The analyst cannot approve; a supervisor can.
    let r =
        send(&e.app, "POST", &format!("/allow/{d}/approve"), Some(&ana), Some(format!("csrf={csrf}"))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let (sup, sup_csrf) = login(&e.app, "sup").await;
    let page = send(&e.app, "GET", "/allow", Some(&sup), None).await;
    assert!(page.body.contains(&d[..12]) && page.body.contains("synthetic-pdq/e1"), "{}", page.body);
    let r =
        send(&e.app, "POST", &format!("/allow/{d}/approve"), Some(&sup), Some(format!("csrf={sup_csrf}")))
            .await;
    assert_eq!(r.location(), "/allow?msg=allow-added");
    let allow = store.load("triage-allow").unwrap();
    assert_eq!(allow.manifest.kind, hashline_lists::ListKind::Allow);
    let pdq = e.state.triage.outbox.get(&d).unwrap().report.file.pdq.unwrap();
    let entry = allow.entries.iter().find(|en| en.value == pdq).unwrap();
    assert_eq!(entry.distance, Some(8));
    assert_eq!(
        entry.scope,
        vec![hashline_lists::EntryRef { list: "synthetic-pdq".into(), entry: "e1".into() }]
    );
    // Decided once.
    let r = send(&e.app, "POST", &format!("/allow/{d}/reject"), Some(&sup), Some(format!("csrf={sup_csrf}")))
        .await;
    assert_eq!(r.location(), "/allow?msg=allow-not-pending");
    // False positive without.
    send(&e.app, "POST", &format!("/cases/{x}/dismiss"), Some(&ana), Some(format!("csrf={csrf}&reason=")))
        .await;
    assert_eq!(store.current_version("triage-allow").unwrap(), Some(1));
    // Escalated: gone from analysts' queue, on the supervisor's.
    let r = send(
        &e.app,
        "POST",
        &format!("/cases/{esc}/escalate"),
        Some(&ana),
        Some(format!("csrf={csrf}&note=second+opinion")),
    )
    .await;
    assert_eq!(r.location(), "/queue?msg=escalated");
    assert!(!send(&e.app, "GET", "/queue", Some(&ana), None).await.body.contains(&esc[..8]));
    let q = send(&e.app, "GET", "/queue?escalated=1", Some(&sup), None).await;
    assert!(q.body.contains(&esc[..8]) && q.body.contains("escalated"), "{}", q.body);
    // Everything is in the audit log, and the log verifies; the supervisor's audit page says so.
    let log = std::fs::read_to_string(e.dir.join("data/audit.log")).unwrap();
    for action in [
        "login",
        "case.claim",
        "case.confirm",
        "case.dismiss",
        "list.allow.propose",
        "list.allow.approve",
        "list.allow.add",
        "case.escalate",
        "queue.view",
    ] {
        assert!(log.contains(&format!("\"action\":\"{action}\"")), "{action} not audited");
    }
    hashline_report::audit::verify(&e.dir.join("data/audit.log")).unwrap();
    let page = send(&e.app, "GET", "/audit", Some(&sup), None).await;
    assert!(page.body.contains("verifies"), "{}", page.body);
    // An edit is caught, here and on the page.
    let edited = log.replacen("\"legal\":\"national\"", "\"legal\":\"not_illegal\"", 1);
    assert_ne!(edited, log);
    std::fs::write(e.dir.join("data/audit.log"), edited).unwrap();
    assert!(hashline_report::audit::verify(&e.dir.join("data/audit.log")).is_err());
    let page = send(&e.app, "GET", "/audit", Some(&sup), None).await;
    assert!(page.body.contains("DOES NOT VERIFY"), "{}", page.body);
}

/// `base` with `bits` bits flipped from bit `from` on, as hex.
fn flipped(base: &str, from: usize, bits: usize) -> String {
    let mut h: hashline_hash::PdqHash = base.parse().unwrap();
    for i in from..from + bits {
        h.0[i / 64] ^= 1 << (i % 64);
    }
    h.to_hex()
}

#[tokio::test]
async fn allow_listing_a_dismissed_near_match_never_hides_the_listed_picture() {
    let e = env(0, config());
    // A known list with a picture's MD5 and PDQ.
    let listed = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    let listed_md5 = "11".repeat(16);
    let store = hashline_lists::Store::open(e.dir.join("store")).unwrap();
    store
        .import(hashline_lists::ImportRequest::new(
            "known",
            hashline_lists::formats::Format::PytxFile,
            vec![("k".into(), format!("md5 {listed_md5}\npdq {listed}\n").into_bytes())],
        ))
        .unwrap();
    // An upload 20 bits from it went to review; an analyst dismisses it and proposes it.
    let dismissed_pdq = flipped(listed, 0, 20);
    let stage = ReportStage::open(
        &e.dir.join("data"),
        Reporter::default(),
        Policy::default(),
        &EvidenceConfig { enabled: false, ..EvidenceConfig::default() },
    )
    .unwrap();
    let lists = hashline_lists::ListSet::load(&store).unwrap();
    let near: hashline_hash::PdqHash = dismissed_pdq.parse().unwrap();
    let found = lists.match_query(&hashline_lists::Query { pdq: Some((near, 90)), ..Default::default() });
    assert_eq!(found.matches.len(), 1);
    let det = Detection {
        upload_id: "dismissed-upload".into(),
        channel: Channel::Api,
        file: FileInfo {
            size: 1,
            md5: "22".repeat(16),
            sha1: "33".repeat(20),
            sha256: "44".repeat(32),
            pdq: Some(dismissed_pdq.clone()),
            pdq_quality: Some(90),
            ..FileInfo::default()
        },
        matches: found.matches,
        ..Detection::default()
    };
    let id = stage.record(&det, None).unwrap().unwrap().report().report_id.clone();
    let (ana, csrf) = login(&e.app, "ana").await;
    send(&e.app, "POST", &format!("/cases/{id}/claim"), Some(&ana), Some(format!("csrf={csrf}"))).await;
    let r = send(
        &e.app,
        "POST",
        &format!("/cases/{id}/dismiss"),
        Some(&ana),
        Some(format!("csrf={csrf}&reason=fp&allow=1")),
    )
    .await;
    assert_eq!(r.location(), "/queue?msg=allow-proposed");
    let (sup, sup_csrf) = login(&e.app, "sup").await;
    let r =
        send(&e.app, "POST", &format!("/allow/{id}/approve"), Some(&sup), Some(format!("csrf={sup_csrf}")))
            .await;
    assert_eq!(r.location(), "/allow?msg=allow-added");

    let lists = hashline_lists::ListSet::load(&store).unwrap();
    let q = |md5: &str, pdq: &str| hashline_lists::Query {
        md5: Some(hex::decode(md5).unwrap().try_into().unwrap()),
        pdq: Some((pdq.parse().unwrap(), 90)),
        ..Default::default()
    };
    // An exact copy of the listed picture: both matches stand.
    let o = lists.match_query(&q(&listed_md5, listed));
    assert_eq!(o.matches.len(), 2, "{o:?}");
    assert!(o.suppressed.is_empty());
    // A near copy within the list's distance (12 bits from the listed one, 32 from the
    // dismissed one): it matches.
    let o = lists.match_query(&q(&"55".repeat(16), &flipped(listed, 100, 12)));
    assert_eq!(o.matches.len(), 1, "{o:?}");
    // The dismissed upload again: suppressed, and only it.
    let o = lists.match_query(&q(&"22".repeat(16), &dismissed_pdq));
    assert!(o.matches.is_empty(), "{o:?}");
    assert_eq!(o.suppressed.len(), 1);
}

/// A login attempt over a real socket: the form's token and cookie, then the POST.
async fn login_over_http(http: &reqwest::Client, base: &str, name: &str) -> reqwest::StatusCode {
    let page = http.get(format!("{base}/login")).send().await.unwrap();
    let cookie =
        page.headers()[reqwest::header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_string();
    let body = page.text().await.unwrap();
    let i = body.find("name=\"csrf\" value=\"").unwrap() + 19;
    let csrf = &body[i..i + 64];
    http.post(format!("{base}/login"))
        .header(reqwest::header::COOKIE, cookie)
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}&name={name}&password=wrong+password+here"))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_from_one_address_lock_it_out_whatever_the_names() {
    let e = env(0, config());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(hashline_server::serve(listener, Arc::clone(&e.state), async move {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    // Five failures, each with another name: the address is then locked (limit 5).
    for i in 0..5 {
        assert_eq!(
            login_over_http(&http, &base, &format!("guess{i}")).await,
            reqwest::StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(login_over_http(&http, &base, "guess5").await, reqwest::StatusCode::TOO_MANY_REQUESTS);
    // And a name no account can have is refused at once, and costs nothing in the audit log.
    let before = std::fs::metadata(e.dir.join("data/audit.log")).map(|m| m.len()).unwrap_or(0);
    let long = "x".repeat(60_000);
    let status = login_over_http(&http, &base, &long).await;
    assert!(status == reqwest::StatusCode::TOO_MANY_REQUESTS || status == reqwest::StatusCode::UNAUTHORIZED);
    assert_eq!(std::fs::metadata(e.dir.join("data/audit.log")).map(|m| m.len()).unwrap_or(0), before);
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_flood_of_locked_or_absurd_logins_cannot_grow_the_audit_log() {
    let e = env(0, config());
    let log = e.dir.join("data/audit.log");
    let size = || std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    // 60,000-character names: refused before any work, never written.
    let long = "n".repeat(60_000);
    for _ in 0..20 {
        let (cookie, csrf) = login_form(&e.app).await;
        let r = send(
            &e.app,
            "POST",
            "/login",
            Some(&cookie),
            Some(format!("csrf={csrf}&name={long}&password=x")),
        )
        .await;
        assert!(r.status == StatusCode::UNAUTHORIZED || r.status == StatusCode::TOO_MANY_REQUESTS);
        assert!(!r.body.contains(&long), "the name is not echoed in full");
    }
    assert_eq!(size(), 0, "nothing audited for names no account can have");
    // A locked name: one login.locked record however many attempts follow.
    for _ in 0..30 {
        let (cookie, csrf) = login_form(&e.app).await;
        send(
            &e.app,
            "POST",
            "/login",
            Some(&cookie),
            Some(format!("csrf={csrf}&name=ana&password=wrong+wrong+wrong")),
        )
        .await;
    }
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.matches("\"login.locked\"").count(), 1, "{text}");
    assert_eq!(text.matches("\"login.failed\"").count(), 5);
}

#[tokio::test]
async fn a_new_password_or_a_disable_and_enable_elsewhere_ends_sessions() {
    let e = env(0, config());
    let (ana, _) = login(&e.app, "ana").await;
    assert_eq!(send(&e.app, "GET", "/queue", Some(&ana), None).await.status, StatusCode::OK);
    // Another process (the CLI) resets the password.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let users = hashline_server::triage::UserStore::open(&e.dir.join("data/users.json")).unwrap();
    users.set_password("ana", PASSWORD).unwrap();
    let r = send(&e.app, "GET", "/queue", Some(&ana), None).await;
    assert_eq!(r.location(), "/login", "the session ended with the password change");
    // Disable and enable again, before the server ever saw the account disabled.
    let (ana, _) = login(&e.app, "ana").await;
    assert_eq!(send(&e.app, "GET", "/queue", Some(&ana), None).await.status, StatusCode::OK);
    std::thread::sleep(std::time::Duration::from_millis(20));
    users.set_disabled("ana", true).unwrap();
    users.set_disabled("ana", false).unwrap();
    let r = send(&e.app, "GET", "/queue", Some(&ana), None).await;
    assert_eq!(r.location(), "/login");
}

#[tokio::test]
async fn anonymous_login_pages_keep_no_state_and_never_evict_sessions() {
    let e = env(0, config());
    let (ana, _) = login(&e.app, "ana").await;
    for _ in 0..12_000 {
        let r = send(&e.app, "GET", "/login", None, None).await;
        assert_eq!(r.status, StatusCode::OK);
    }
    assert_eq!(e.state.triage.sessions.active(), 1, "no session per anonymous visit");
    assert_eq!(send(&e.app, "GET", "/queue", Some(&ana), None).await.status, StatusCode::OK);
    // A login token is bound to its own cookie.
    let (cookie, _) = login_form(&e.app).await;
    let (_, other_csrf) = login_form(&e.app).await;
    let r = send(
        &e.app,
        "POST",
        "/login",
        Some(&cookie),
        Some(format!("csrf={other_csrf}&name=ana&password={}", PASSWORD.replace(' ', "+"))),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn analysts_cannot_list_claim_read_or_decide_escalated_cases() {
    let e = env(1, config());
    let id = e.ids[0].clone();
    let (ana, csrf) = login(&e.app, "ana").await;
    send(&e.app, "POST", &format!("/cases/{id}/claim"), Some(&ana), Some(format!("csrf={csrf}"))).await;
    let r = send(
        &e.app,
        "POST",
        &format!("/cases/{id}/escalate"),
        Some(&ana),
        Some(format!("csrf={csrf}&note=unsure")),
    )
    .await;
    assert_eq!(r.location(), "/queue?msg=escalated");
    let (bopha, bcsrf) = login(&e.app, "bopha").await;
    for who in [(&ana, &csrf), (&bopha, &bcsrf)] {
        let (cookie, token) = who;
        let q = send(&e.app, "GET", "/queue?escalated=1", Some(cookie), None).await;
        assert!(!q.body.contains(&id[..8]), "listed to an analyst: {}", q.body);
        let r = send(
            &e.app,
            "POST",
            "/queue/next",
            Some(cookie),
            Some(format!("csrf={token}&filters=escalated%3D1")),
        )
        .await;
        assert_eq!(r.location(), "/queue?msg=queue-empty");
        let r =
            send(&e.app, "POST", &format!("/cases/{id}/claim"), Some(cookie), Some(format!("csrf={token}")))
                .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(
            send(&e.app, "GET", &format!("/cases/{id}"), Some(cookie), None).await.status,
            StatusCode::FORBIDDEN
        );
        for action in ["reveal", "confirm", "dismiss"] {
            let r = send(
                &e.app,
                "POST",
                &format!("/cases/{id}/{action}"),
                Some(cookie),
                Some(format!("csrf={token}&legal=baseline&class=A1&reason=x")),
            )
            .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{action}");
        }
        let r = send(&e.app, "GET", &format!("/cases/{id}/media/preview.png"), Some(cookie), None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    // A supervisor cannot hand it to an analyst either; it stays in review.
    let (sup, scsrf) = login(&e.app, "sup").await;
    let r = send(
        &e.app,
        "POST",
        &format!("/cases/{id}/assign"),
        Some(&sup),
        Some(format!("csrf={scsrf}&to=ana")),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e.state.triage.outbox.get(&id).unwrap().state, State::Review);
    // The supervisor works it.
    let q = send(&e.app, "GET", "/queue?escalated=1", Some(&sup), None).await;
    assert!(q.body.contains(&id[..8]));
    let r =
        send(&e.app, "POST", &format!("/cases/{id}/claim"), Some(&sup), Some(format!("csrf={scsrf}"))).await;
    assert_eq!(r.location(), format!("/cases/{id}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_reveals_never_pass_the_daily_cap() {
    let e = env(1, TriageConfig { exposure_cap_per_day: 2, ..config() });
    let id = e.ids[0].clone();
    let (ana, csrf) = login(&e.app, "ana").await;
    send(&e.app, "POST", &format!("/cases/{id}/claim"), Some(&ana), Some(format!("csrf={csrf}"))).await;
    let reveals: Vec<_> = (0..12)
        .map(|_| {
            let (app, ana, csrf, id) = (e.app.clone(), ana.clone(), csrf.clone(), id.clone());
            tokio::spawn(async move {
                send(&app, "POST", &format!("/cases/{id}/reveal"), Some(&ana), Some(format!("csrf={csrf}")))
                    .await
            })
        })
        .collect();
    for r in reveals {
        r.await.unwrap();
    }
    let day = hashline_server::triage::cases::day_of(hashline_report::outbox::unix_now(), 0);
    let x = e.state.triage.cases.exposure("ana", day, hashline_report::outbox::unix_now(), 600).unwrap();
    assert_eq!(x.reveals, 2, "the cap holds under concurrency");
    let log = std::fs::read_to_string(e.dir.join("data/audit.log")).unwrap();
    assert_eq!(log.matches("\"case.reveal\"").count(), 2);
    assert_eq!(log.matches("\"case.reveal.refused\"").count(), 10);
}

#[tokio::test]
async fn a_case_assessed_not_illegal_is_dismissed_and_never_delivered() {
    let e = env(1, config());
    let (ana, csrf) = login(&e.app, "ana").await;
    let c = e.ids[0].clone();
    send(&e.app, "POST", &format!("/cases/{c}/claim"), Some(&ana), Some(format!("csrf={csrf}"))).await;
    let r = send(
        &e.app,
        "POST",
        &format!("/cases/{c}/confirm"),
        Some(&ana),
        Some(format!("csrf={csrf}&legal=not_illegal&class=")),
    )
    .await;
    assert_eq!(r.location(), "/queue?msg=dismissed");
    let row = e.state.triage.outbox.get(&c).unwrap();
    assert_eq!(row.state, State::Dismissed, "not illegal never joins the delivery queue");
    assert_eq!(row.report.assessment.legal, Some(hashline_report::LegalAssessment::NotIllegal));
    assert!(row.not_reportable().is_some());
    assert!(e.state.triage.outbox.head().unwrap().is_none(), "nothing is pending for delivery");
    let log = std::fs::read_to_string(e.dir.join("data/audit.log")).unwrap();
    let last = log.lines().rfind(|l| l.contains(&c) && l.contains("\"case.")).unwrap();
    assert!(last.contains("\"action\":\"case.dismiss\"") && last.contains("not_illegal"), "{last}");
    assert!(!log.contains("\"action\":\"case.confirm\""), "audited as a dismissal, not a confirmation");
}

#[tokio::test]
async fn a_server_without_the_evidence_key_says_so_instead_of_no_copy_preserved() {
    let e = env(1, config());
    // The same data folder served by a process that has no evidence key.
    let evidence = EvidenceConfig { enabled: true, key_file: None, retention_days: 30 };
    assert!(std::env::var_os("HASHLINE_EVIDENCE_KEY").is_none());
    let store = hashline_lists::Store::open(e.dir.join("store")).unwrap();
    let data = DataDir::open(&e.dir.join("data"), &evidence).unwrap();
    let settings = Settings { triage: config(), ..Settings::default() };
    let state = Arc::new(AppState::open(store, &data, settings).unwrap());
    let keyless = app(Arc::clone(&state));
    let id = &e.ids[0];
    for (name, said, not_said) in [
        ("ana", "Ask an administrator to configure the evidence key", "HASHLINE_EVIDENCE_KEY"),
        ("adm", "HASHLINE_EVIDENCE_KEY", "No copy of the media was preserved"),
    ] {
        let (who, csrf) = login(&keyless, name).await;
        send(&keyless, "POST", &format!("/cases/{id}/claim"), Some(&who), Some(format!("csrf={csrf}"))).await;
        let page = send(&keyless, "GET", &format!("/cases/{id}"), Some(&who), None).await;
        assert_eq!(page.status, StatusCode::OK, "{name}");
        assert!(page.body.contains(said), "{name}: {}", page.body);
        assert!(!page.body.contains(not_said), "{name}: {}", page.body);
        assert!(!page.body.contains("No copy of the media was preserved"), "{name}");
        send(&keyless, "POST", &format!("/cases/{id}/release"), Some(&who), Some(format!("csrf={csrf}")))
            .await;
    }
}

#[tokio::test]
async fn earlier_matches_and_upload_facts_are_on_the_case_page() {
    let e = env(3, config());
    let (ana, csrf) = login(&e.app, "ana").await;
    let id = &e.ids[2];
    send(&e.app, "POST", &format!("/cases/{id}/claim"), Some(&ana), Some(format!("csrf={csrf}"))).await;
    let page = send(&e.app, "GET", &format!("/cases/{id}"), Some(&ana), None).await;
    assert!(
        page.body.contains("acct-7")
            && page.body.contains("upload-2.png")
            && page.body.contains("synthetic-pdq")
    );
    // The same uploader on the same platform (chat-a: uploads 0 and 2).
    assert_eq!(page.body.matches("same uploader").count(), 1, "{}", page.body);
}

#[tokio::test]
async fn the_language_switch_serves_khmer() {
    let e = env(1, config());
    let (ana, csrf) = login(&e.app, "ana").await;
    let r = send(&e.app, "POST", "/lang", Some(&ana), Some(format!("csrf={csrf}&lang=km&back=/queue"))).await;
    assert_eq!(r.location(), "/queue");
    let lang =
        r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().split(';').next().unwrap().to_string();
    assert_eq!(lang, "hl_lang=km");
    let page = send(&e.app, "GET", "/queue", Some(&format!("{ana}; {lang}")), None).await;
    assert!(page.body.contains("<html lang=\"km\">") && page.body.contains("ជួរត្រួតពិនិត្យ"), "{}", page.body);
    // Never an open redirect.
    let r =
        send(&e.app, "POST", "/lang", Some(&ana), Some(format!("csrf={csrf}&lang=en&back=//evil.example")))
            .await;
    assert_eq!(r.location(), "/");
}

#[tokio::test]
async fn the_api_and_the_pages_can_each_be_turned_off() {
    let e = env(0, config());
    let store = hashline_lists::Store::open(e.dir.join("store")).unwrap();
    let data = DataDir::open(&e.dir.join("data"), &EvidenceConfig::default()).unwrap();
    let settings = |server| Settings { server, triage: config(), ..Settings::default() };
    let only_pages = settings(ServerConfig { api: false, ..ServerConfig::default() });
    let pages = app(Arc::new(AppState::open(store.clone(), &data, only_pages).unwrap()));
    assert_eq!(send(&pages, "POST", "/v1/match", None, None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(send(&pages, "GET", "/login", None, None).await.status, StatusCode::OK);
    assert_eq!(send(&pages, "GET", "/metrics", None, None).await.status, StatusCode::UNAUTHORIZED);
    let only_api = settings(ServerConfig { pages: false, ..ServerConfig::default() });
    let api = app(Arc::new(AppState::open(store, &data, only_api).unwrap()));
    assert_eq!(send(&api, "GET", "/login", None, None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(send(&api, "GET", "/v1/lists", None, None).await.status, StatusCode::UNAUTHORIZED);
}

/// Random form bodies (with and without a valid CSRF token, so the handlers' own parsing is
/// reached) and random cookies on every route: never a 5xx, and the audit log still verifies.
#[test]
fn random_forms_and_cookies_never_cause_a_server_error() {
    use proptest::prelude::*;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let e = env(2, config());
    let (cookie, csrf) = rt.block_on(login(&e.app, "adm"));
    let routes = routes(&e.ids[0]);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(300));
    let strategy = (
        0..routes.len(),
        prop::collection::vec(any::<u8>(), 0..300),
        prop_oneof![Just(0u8), Just(1), Just(2)],
        "[ -~]{0,80}",
    );
    runner
        .run(&strategy, |(i, body, who, junk_cookie)| {
            let (method, path) = &routes[i];
            let mut form = if who == 2 { format!("csrf={csrf}&").into_bytes() } else { Vec::new() };
            form.extend_from_slice(&body);
            let cookie_header = match who {
                0 => junk_cookie.clone(),
                _ => format!("{cookie}; {junk_cookie}"),
            };
            let status = rt.block_on(async {
                let req = Request::builder()
                    .method(*method)
                    .uri(path.as_str())
                    .header(header::COOKIE, cookie_header)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(form))
                    .unwrap();
                e.app.clone().oneshot(req).await.unwrap().status()
            });
            prop_assert!(status.as_u16() < 500, "{method} {path}: {status}");
            Ok(())
        })
        .unwrap();
    hashline_report::audit::verify(&e.dir.join("data/audit.log")).unwrap();
}

/// The anonymous parsing paths, with hostile input: the language switch's `back` (any
/// characters, control characters, look-alike slashes) always redirects to a path on this
/// site and never errs; login names and passwords of any shape never err, and names no
/// account can have never reach the audit log.
#[test]
fn hostile_language_switches_and_logins_stay_local_and_never_err() {
    use proptest::prelude::*;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let e = env(0, TriageConfig { login_max_failures: 1000, ..config() });
    let (cookie, csrf) = rt.block_on(login_form(&e.app));
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(400));
    let back = prop_oneof![
        any::<String>(),
        "[/\\\\\t\n\r\u{7f} a-z.:@%]{0,24}",
        Just("/\t/evil.example".to_string()),
        Just("/\\evil.example".to_string()),
        Just("/\u{7f}".to_string()),
    ];
    let strategy = (back, any::<String>(), prop::collection::vec(any::<u8>(), 0..64));
    let audit_len = || std::fs::metadata(e.dir.join("data/audit.log")).map(|m| m.len()).unwrap_or(0);
    runner
        .run(&strategy, |(back, name, password)| {
            let body = serde_urlencoded::to_string([
                ("csrf", csrf.as_str()),
                ("lang", "km"),
                ("back", back.as_str()),
            ])
            .unwrap();
            let r = rt.block_on(send(&e.app, "POST", "/lang", Some(&cookie), Some(body)));
            prop_assert_eq!(r.status, StatusCode::SEE_OTHER);
            let to = r.location().to_string();
            let seen: String = to.chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).collect();
            prop_assert!(
                seen.starts_with('/') && !seen.starts_with("//") && !seen.contains('\\'),
                "{:?} -> {:?}",
                back,
                to
            );
            let before = audit_len();
            let mut form = format!("csrf={csrf}&name={}&password=", urlencode(&name)).into_bytes();
            form.extend(password.iter().flat_map(|b| format!("%{b:02X}").into_bytes()));
            let r = rt.block_on(send(
                &e.app,
                "POST",
                "/login",
                Some(&cookie),
                Some(String::from_utf8(form).unwrap()),
            ));
            prop_assert!(r.status.as_u16() < 500, "{}", r.status);
            let valid = !name.trim().is_empty()
                && name.trim().len() <= 64
                && name.trim().bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !valid {
                prop_assert_eq!(audit_len(), before, "name {:?} audited", name);
            }
            Ok(())
        })
        .unwrap();
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)]).unwrap()[2..].to_string()
}

#[tokio::test]
async fn the_queue_pages_by_a_hundred_oldest_first() {
    let e = env(102, config());
    let (ana, _) = login(&e.app, "ana").await;
    let first = send(&e.app, "GET", "/queue", Some(&ana), None).await;
    assert!(first.body.contains("102 cases") && first.body.contains("Page 1 of 2"), "{}", first.body);
    assert_eq!(first.body.matches("class=\"claim\"").count(), 100);
    assert!(first.body.contains(&e.ids[0][..8]) && !first.body.contains(&e.ids[101][..8]));
    assert!(first.body.contains("page=2") && !first.body.contains("rel=\"prev\""));
    let second =
        send(&e.app, "GET", "/queue?list=&class=&platform=&escalated=&page=2", Some(&ana), None).await;
    assert_eq!(second.body.matches("class=\"claim\"").count(), 2);
    assert!(second.body.contains(&e.ids[101][..8]) && second.body.contains("rel=\"prev\""));
    // Filters page too: half the uploads are on chat-a.
    let chat = send(&e.app, "GET", "/queue?platform=chat-a", Some(&ana), None).await;
    assert!(chat.body.contains("51 cases") && !chat.body.contains("Page 1 of"), "{}", chat.body);
    // Out-of-range pages clamp.
    let far = send(&e.app, "GET", "/queue?page=99", Some(&ana), None).await;
    assert!(far.body.contains("Page 2 of 2"));
}

#[tokio::test]
async fn administrators_manage_accounts_in_the_page() {
    let e = env(0, config());
    let (adm, csrf) = login(&e.app, "adm").await;
    let add = |name: &str, p1: &str, p2: &str| {
        format!("csrf={csrf}&name={name}&role=analyst&password={p1}&password2={p2}")
    };
    let r = send(
        &e.app,
        "POST",
        "/admin/users",
        Some(&adm),
        Some(add("kosal", "a+long+passphrase", "another+long+one")),
    )
    .await;
    assert!(
        r.status == StatusCode::UNPROCESSABLE_ENTITY && r.body.contains("The two passwords differ"),
        "{}",
        r.body
    );
    let r = send(&e.app, "POST", "/admin/users", Some(&adm), Some(add("kosal", "short", "short"))).await;
    assert!(r.body.contains("at least 12 characters"), "{}", r.body);
    let r = send(
        &e.app,
        "POST",
        "/admin/users",
        Some(&adm),
        Some(add("ana", "a+long+passphrase", "a+long+passphrase")),
    )
    .await;
    assert!(r.body.contains("An account with that name exists"), "{}", r.body);
    let r = send(
        &e.app,
        "POST",
        "/admin/users",
        Some(&adm),
        Some(add("kosal", "a+long+passphrase", "a+long+passphrase")),
    )
    .await;
    assert_eq!(r.location(), "/admin/users?msg=user-added");
    assert_eq!(e.state.triage.users.verify("kosal", "a long passphrase").unwrap().role, Role::Analyst);
    // A role change ends the account's sessions; an admin cannot change their own account.
    let (ana, _) = login(&e.app, "ana").await;
    let r = send(
        &e.app,
        "POST",
        "/admin/users/ana",
        Some(&adm),
        Some(format!("csrf={csrf}&action=role&role=supervisor")),
    )
    .await;
    assert_eq!(r.location(), "/admin/users?msg=user-changed");
    assert_eq!(send(&e.app, "GET", "/queue", Some(&ana), None).await.location(), "/login");
    assert_eq!(e.state.triage.users.active("ana").unwrap().role, Role::Supervisor);
    let r = send(&e.app, "POST", "/admin/users/adm", Some(&adm), Some(format!("csrf={csrf}&action=disable")))
        .await;
    assert!(r.body.contains("Ask another administrator"), "{}", r.body);
    assert!(e.state.triage.users.active("adm").is_some());
    let log = std::fs::read_to_string(e.dir.join("data/audit.log")).unwrap();
    assert!(log.contains("\"action\":\"user.add\"") && log.contains("\"action\":\"user.role\""));
    assert!(!log.contains("passphrase"), "no password in the audit log");
}

#[tokio::test]
async fn leaving_a_case_ends_its_reveal() {
    let e = env(1, config());
    let id = e.ids[0].clone();
    let (ana, csrf) = login(&e.app, "ana").await;
    send(&e.app, "POST", &format!("/cases/{id}/claim"), Some(&ana), Some(format!("csrf={csrf}"))).await;
    send(&e.app, "POST", &format!("/cases/{id}/reveal"), Some(&ana), Some(format!("csrf={csrf}"))).await;
    assert_eq!(
        send(&e.app, "GET", &format!("/cases/{id}/media/clear.png"), Some(&ana), None).await.status,
        StatusCode::OK
    );
    let page = send(&e.app, "GET", &format!("/cases/{id}"), Some(&ana), None).await;
    assert!(page.body.contains("Reveals today: 1 of 40 · about"), "{}", page.body);
    // Released and claimed again: blurred until a new, counted reveal.
    let r =
        send(&e.app, "POST", &format!("/cases/{id}/release"), Some(&ana), Some(format!("csrf={csrf}"))).await;
    assert_eq!(r.location(), "/queue?msg=released");
    send(&e.app, "POST", &format!("/cases/{id}/claim"), Some(&ana), Some(format!("csrf={csrf}"))).await;
    assert_eq!(
        send(&e.app, "GET", &format!("/cases/{id}/media/clear.png"), Some(&ana), None).await.status,
        StatusCode::FORBIDDEN
    );
    let page = send(&e.app, "GET", &format!("/cases/{id}"), Some(&ana), None).await;
    assert!(page.body.contains("class=\"blurred\"") && page.body.contains("Reveals today: 1 of 40"));
}

#[tokio::test]
async fn supervisors_get_aggregate_statistics_and_only_administrators_see_names() {
    let e = env(6, config());
    let (ana, csrf) = login(&e.app, "ana").await;
    for id in &e.ids[..2] {
        send(&e.app, "POST", &format!("/cases/{id}/claim"), Some(&ana), Some(format!("csrf={csrf}"))).await;
    }
    let r = send(
        &e.app,
        "POST",
        &format!("/cases/{}/confirm", e.ids[0]),
        Some(&ana),
        Some(format!("csrf={csrf}&legal=national&class=B1")),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = send(
        &e.app,
        "POST",
        &format!("/cases/{}/dismiss", e.ids[1]),
        Some(&ana),
        Some(format!("csrf={csrf}")),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(send(&e.app, "GET", "/stats", Some(&ana), None).await.status, StatusCode::FORBIDDEN);

    let today = hashline_report::unix_now().div_euclid(86_400);
    let (from, to) = (hashline_stats::date(today - 6), hashline_stats::date(today));
    let report = |extra: &str| format!("/stats/report?from={from}&to={to}{extra}");
    let (sup, _) = login(&e.app, "sup").await;
    let page = send(&e.app, "GET", "/stats", Some(&sup), None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("action=\"/stats/report\"") && !page.body.contains("per_analyst"));
    let r = send(&e.app, "GET", &report(""), Some(&sup), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("<svg") && r.body.contains("synthetic-pdq/pdq"), "charts and lists");
    let csp = r.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(
        csp.starts_with("default-src 'none'; style-src 'unsafe-inline'") && !csp.contains("script"),
        "{csp}"
    );
    for id in &e.ids {
        assert!(!r.body.contains(id.as_str()), "no report id in the statistics");
    }
    for secret in ["acct-7", "upload-", ">ana<"] {
        assert!(!r.body.contains(secret), "{secret}: no account, upload or analyst name without asking");
    }
    let csv = send(&e.app, "GET", &report("&format=csv&lang=km"), Some(&sup), None).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.headers[header::CONTENT_DISPOSITION].to_str().unwrap().contains(".csv"));
    assert!(csv.body.contains("reports_by_state,dismissed,< 5"), "{}", csv.body);
    // Names only for an administrator.
    assert_eq!(
        send(&e.app, "GET", &report("&per_analyst=1"), Some(&sup), None).await.status,
        StatusCode::FORBIDDEN
    );
    let (adm, _) = login(&e.app, "adm").await;
    let named = send(&e.app, "GET", &report("&per_analyst=1&format=json"), Some(&adm), None).await;
    assert_eq!(named.status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&named.body).unwrap();
    assert_eq!(json["per_analyst"][0]["analyst"], "ana");
    assert_eq!(json["decisions_total"], "< 5");
    // Hostile periods: a clear 400, never a server error.
    for q in [
        "from=2026-13-01&to=2026-12-01",
        "from=x&to=y",
        "to=2026-01-01",
        "from=2026-02-01&to=2026-01-01",
        "from=1900-01-01&to=2026-01-01",
        "from=2026-01-01&to=2026-01-02&format=exe",
    ] {
        let r = send(&e.app, "GET", &format!("/stats/report?{q}"), Some(&sup), None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}");
    }
    let log = std::fs::read_to_string(e.state.audit.path()).unwrap();
    assert_eq!(log.matches("\"stats.view\"").count(), 3, "every report made is audited");
}
