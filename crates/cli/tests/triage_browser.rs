//! The analyst triage app in a real browser: headless Chromium driven over WebDriver
//! (Debian's `chromium` and `chromium-driver`, which `.ci/run` installs). An analyst made with
//! `hashline users add` signs in, switches the language, claims a case from the queue of the
//! demo's near matches (procedurally drawn, benign pictures), sees it blurred, reveals it with
//! the keyboard, confirms it, and signs out; then the outbox holds the confirmed report and
//! the audit log, which verifies, holds every step — and an edit to it is caught.
//!
//! With `HASHLINE_SCREENSHOTS=DIR` the test saves the queue and the (blurred) case page there;
//! `docs/` holds the committed ones. Outside CI the test skips when Chromium is missing.

#![allow(clippy::unwrap_used)]

mod util;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use util::{hashline_in, run_with_stdin, KillOnDrop, TempDir};

const CHROMIUM: &str = "/usr/bin/chromium";
const DRIVER: &str = "/usr/bin/chromedriver";
const PASSWORD: &str = "a long passphrase for dara";

fn browser_available() -> bool {
    let ok = Path::new(CHROMIUM).exists() && Path::new(DRIVER).exists();
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install chromium and chromium-driver (.ci/run does)"
        );
        eprintln!("skipping: {CHROMIUM} or {DRIVER} missing (apt install chromium chromium-driver)");
    }
    ok
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `hashline serve`; returns the process and its address.
fn serve(config: &Path) -> (KillOnDrop, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hashline"))
        .args(["--config", config.to_str().unwrap(), "serve", "--listen", "127.0.0.1:0"])
        .env("HASHLINE_LOG", "info")
        .env_remove("HASHLINE_STORE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let guard = KillOnDrop(Some(child));
    let addr = loop {
        let line = lines.next().expect("server exited before serving").unwrap();
        if let Some(rest) = line.split("addr=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (guard, addr)
}

/// Starts chromedriver on a free port; returns the process and its URL.
fn chromedriver() -> (KillOnDrop, String) {
    let port = free_port();
    let mut child = Command::new(DRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let guard = KillOnDrop(Some(child));
    loop {
        let line = lines.next().expect("chromedriver exited before starting").unwrap();
        if line.contains("started successfully") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    (guard, format!("http://127.0.0.1:{port}"))
}

/// Waits (up to 20 s) until the element `css` exists and its text satisfies `ok`; tolerates the
/// page being replaced under it (a form submitted a moment ago). Panics with the last text seen.
async fn wait_text(c: &fantoccini::Client, css: &str, ok: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut last = String::from("(no such element)");
    while std::time::Instant::now() < deadline {
        if let Ok(el) = c.find(Locator::Css(css)).await {
            if let Ok(t) = el.text().await {
                if ok(&t) {
                    return t;
                }
                last = t;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css}: gave up waiting; last text {last:?}");
}

/// The first file under `dir` whose name contains `part`.
fn walk_find(dir: &Path, part: &str) -> Option<std::path::PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(found) = walk_find(&p, part) {
                return Some(found);
            }
        } else if p.file_name().is_some_and(|n| n.to_string_lossy().contains(part)) {
            return Some(p);
        }
    }
    None
}

async fn press(c: &fantoccini::Client, keys: &str) {
    c.find(Locator::Css("main")).await.unwrap().send_keys(keys).await.unwrap();
}

async fn shot(c: &fantoccini::Client, name: &str) {
    if let Some(dir) = std::env::var_os("HASHLINE_SCREENSHOTS") {
        let png = c.screenshot().await.unwrap();
        std::fs::write(Path::new(&dir).join(name), png).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analyst_works_a_case_in_headless_chromium() {
    if !browser_available() {
        return;
    }
    let dir = TempDir::new("triage-browser");
    let demo = dir.path().join("demo");
    let out = hashline_in(dir.path(), &[], &["demo", "--dir", demo.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("hashline users add") && out.stdout.contains("hashline serve --no-api"),
        "the demo points at the pages"
    );
    let d = demo.to_str().unwrap();
    // Secure cookies stay on: Chromium accepts them from http://127.0.0.1 (a secure context).
    let cfg = dir.write(
        "hashline.toml",
        format!(
            "store = \"{d}/store\"\ndata_dir = \"{d}/data\"\n[evidence]\nkey_file = \"{d}/evidence.key\"\n[triage]\nsecure_cookies = true\n"
        )
        .as_bytes(),
    );
    let cfg_s = cfg.to_str().unwrap();
    let added = run_with_stdin(
        &["--config", cfg_s, "users", "add", "dara", "--role", "analyst"],
        &format!("{PASSWORD}\n{PASSWORD}\n"),
    );
    assert_eq!(added.code, 0, "{}", added.stderr);
    let differ = run_with_stdin(
        &["--config", cfg_s, "users", "add", "sok", "--role", "analyst"],
        "one long password\nanother long one\n",
    );
    assert_ne!(differ.code, 0, "mismatched passwords are refused");
    let (_server, addr) = serve(&cfg);
    let base = format!("http://{addr}");
    let (_driver, driver_url) = chromedriver();

    let profile = dir.path().join("chromium-profile");
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver_url)
        .await
        .expect("a WebDriver session with headless Chromium");

    // Anonymous: every page sends the browser to the login page.
    c.goto(&format!("{base}/queue")).await.unwrap();
    assert_eq!(c.current_url().await.unwrap().path(), "/login");

    // A wrong password, then the right one.
    c.find(Locator::Id("name")).await.unwrap().send_keys("dara").await.unwrap();
    c.find(Locator::Id("password")).await.unwrap().send_keys("not the password").await.unwrap();
    c.find(Locator::Id("login-submit")).await.unwrap().click().await.unwrap();
    wait_text(&c, "#login-error", |t| t.contains("Wrong account name or password")).await;
    c.find(Locator::Id("password")).await.unwrap().send_keys(PASSWORD).await.unwrap();
    c.find(Locator::Id("login-submit")).await.unwrap().click().await.unwrap();
    // The demo's 15 near matches (13 pictures, 2 videos) wait for review.
    wait_text(&c, "#queue caption", |t| t == "15 cases").await;
    let cookie = c.get_named_cookie("hl_session").await.unwrap();
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.secure(), Some(true));

    // Khmer and back.
    c.find(Locator::Css("button[value=km]")).await.unwrap().click().await.unwrap();
    wait_text(&c, "h1", |t| t == "ជួរត្រួតពិនិត្យ").await;
    shot(&c, "triage-queue-km.png").await;
    c.find(Locator::Css("button[value=en]")).await.unwrap().click().await.unwrap();
    wait_text(&c, "h1", |t| t == "Review queue").await;
    shot(&c, "triage-queue.png").await;

    // Claim the oldest case with the keyboard: blurred, greyscale, nothing revealed yet.
    press(&c, "n").await;
    let pic = c
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("img#picture.blurred"))
        .await
        .unwrap();
    let case_url = c.current_url().await.unwrap();
    let id = case_url.path().trim_start_matches("/cases/").to_string();
    assert_eq!(id.len(), 32, "{case_url}");
    let loaded = c
        .execute(
            "const i = arguments[0]; return i.complete && i.naturalWidth;",
            vec![serde_json::to_value(&pic).unwrap()],
        )
        .await
        .unwrap();
    assert!(loaded.as_u64().unwrap_or(0) > 0, "the blurred preview loaded: {loaded}");
    wait_text(&c, "#exposure", |t| t.contains("0 of 40")).await;
    shot(&c, "triage-case.png").await;

    // Reveal (r), assess baseline (1) class A2 (5), confirm (c).
    press(&c, "r").await;
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("img#picture.revealed"))
        .await
        .unwrap();
    wait_text(&c, "#exposure", |t| t.contains("1 of 40")).await;
    press(&c, "1").await;
    press(&c, "5").await;
    press(&c, "c").await;
    wait_text(&c, "p.flash", |t| t.starts_with("Confirmed")).await;
    wait_text(&c, "#queue caption", |t| t == "14 cases").await;
    c.find(Locator::Id("logout")).await.unwrap().click().await.unwrap();
    c.wait().at_most(Duration::from_secs(20)).for_element(Locator::Id("login-submit")).await.unwrap();
    c.goto(&format!("{base}/queue")).await.unwrap();
    assert_eq!(c.current_url().await.unwrap().path(), "/login", "signed out");

    // Flood quarantine: three more copies of a listed demo picture flood its entry (a tiny
    // threshold here); a supervisor lifts the quarantine from its page.
    let copy = walk_find(&demo, "exact-copy").expect("the demo's exact copy");
    std::fs::create_dir_all(dir.path().join("flood")).unwrap();
    for i in 0..3 {
        std::fs::copy(&copy, dir.path().join(format!("flood/{i}.img"))).unwrap();
    }
    let flood_cfg = dir.write(
        "flood.toml",
        format!(
            "store = \"{d}/store\"\ndata_dir = \"{d}/data\"\n[evidence]\nkey_file = \"{d}/evidence.key\"\n[policy.flood]\nmin_uploads = 2\nmultiple = 1\n"
        )
        .as_bytes(),
    );
    let flooded = hashline_in(
        dir.path(),
        &[],
        &[
            "--config",
            flood_cfg.to_str().unwrap(),
            "scan",
            dir.path().join("flood").to_str().unwrap(),
            "--out",
            dir.path().join("flood-out").to_str().unwrap(),
        ],
    );
    assert_eq!(flooded.code, 1, "{}", flooded.stderr);
    let sup = run_with_stdin(
        &["--config", cfg_s, "users", "add", "sophea", "--role", "supervisor"],
        &format!("{PASSWORD}\n{PASSWORD}\n"),
    );
    assert_eq!(sup.code, 0, "{}", sup.stderr);
    c.find(Locator::Id("name")).await.unwrap().send_keys("sophea").await.unwrap();
    c.find(Locator::Id("password")).await.unwrap().send_keys(PASSWORD).await.unwrap();
    c.find(Locator::Id("login-submit")).await.unwrap().click().await.unwrap();
    c.wait().at_most(Duration::from_secs(20)).for_element(Locator::Id("logout")).await.unwrap();
    c.goto(&format!("{base}/quarantine")).await.unwrap();
    wait_text(&c, "#quarantine tbody", |t| t.contains("Quarantined")).await;
    c.find(Locator::Css("#quarantine button.lift")).await.unwrap().click().await.unwrap();
    wait_text(&c, "p.flash", |t| t.starts_with("Quarantine lifted")).await;
    wait_text(&c, "#quarantine tbody", |t| t.contains("Lifted")).await;

    // Grouped review: the queue by list entry, one group opened and dismissed as a whole.
    c.goto(&format!("{base}/queue?group=entry")).await.unwrap();
    let first = wait_text(&c, "#groups tbody tr td.count", |t| t.parse::<u32>().is_ok()).await;
    c.find(Locator::Css("#groups a.open-group")).await.unwrap().click().await.unwrap();
    c.wait().at_most(Duration::from_secs(20)).for_element(Locator::Id("group-dismiss")).await.unwrap();
    c.find(Locator::Css("#group-dismiss input[name=reason]"))
        .await
        .unwrap()
        .send_keys("benign demo picture")
        .await
        .unwrap();
    c.find(Locator::Css("#group-dismiss button")).await.unwrap().click().await.unwrap();
    wait_text(&c, "p.flash", |t| t.starts_with("Every case of the group")).await;
    c.close().await.unwrap();
    let group_dismissed = hashline_in(
        dir.path(),
        &[],
        &["--config", cfg_s, "reports", "list", "--state", "dismissed", "--json"],
    );
    assert_eq!(
        group_dismissed.stdout.lines().count().to_string(),
        first,
        "every case of the group: {}",
        group_dismissed.stdout
    );
    let listed =
        hashline_in(dir.path(), &[], &["--config", cfg_s, "reports", "quarantine", "list", "--json"]);
    assert!(listed.stdout.contains("\"state\":\"lifted\""), "{}", listed.stdout);

    // The report is confirmed and waits for delivery, with the analyst's assessment.
    let shown = hashline_in(dir.path(), &[], &["--config", cfg_s, "reports", "show", &id]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let report: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(report["review"]["state"], "confirmed");
    assert_eq!(report["review"]["analyst"], "dara");
    assert_eq!(report["assessment"]["legal"], "baseline");
    assert_eq!(report["assessment"]["industry_classification"], "A2");
    let pending = hashline_in(dir.path(), &[], &["--config", cfg_s, "reports", "list", "--state", "pending"]);
    assert!(pending.stdout.contains(&id), "{}", pending.stdout);

    // Every step is in the audit log, which verifies; an edit is caught.
    let verified = hashline_in(dir.path(), &[], &["--config", cfg_s, "audit", "verify"]);
    assert_eq!(verified.code, 0, "{}", verified.stderr);
    let log_path = demo.join("data/audit.log");
    let log = std::fs::read_to_string(&log_path).unwrap();
    let mine: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["actor"] == "user:dara")
        .collect();
    let actions: Vec<&str> = mine.iter().map(|r| r["action"].as_str().unwrap()).collect();
    for a in [
        "login.failed",
        "login",
        "queue.view",
        "case.claim",
        "case.view",
        "case.reveal",
        "evidence.read",
        "case.confirm",
        "logout",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    assert!(mine.iter().any(|r| r["action"] == "case.reveal" && r["target"] == id.as_str()));
    assert!(!log.contains(PASSWORD), "no password in the audit log");
    std::fs::write(&log_path, log.replacen("\"case.confirm\"", "\"case.dismiss\"", 1)).unwrap();
    let tampered = hashline_in(dir.path(), &[], &["--config", cfg_s, "audit", "verify"]);
    assert_ne!(tampered.code, 0, "an edited audit log must not verify");
}
