//! `hashline serve` as a process: tokens made with `hashline tokens`, a real HTTP client, a
//! revocation seen by the running server, and a clean exit on SIGTERM.

#![allow(clippy::unwrap_used)]

mod util;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use util::{hashline_in, KillOnDrop, TempDir};

#[test]
fn serve_answers_with_tokens_and_stops_on_sigterm() {
    let dir = TempDir::new("serve");
    let list = dir.write("list.txt", format!("md5 {}\n", "ab".repeat(16)).as_bytes());
    let store = dir.path().join("store");
    let data = dir.path().join("data");
    let (store_s, data_s) = (store.to_str().unwrap(), data.to_str().unwrap());
    let out = util::hashline(&[
        "lists",
        "import",
        "--store",
        store_s,
        "--name",
        "syn",
        "--format",
        "pytx-file",
        list.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let made =
        hashline_in(dir.path(), &[], &["tokens", "create", "--name", "platform-x", "--data-dir", data_s]);
    assert_eq!(made.code, 0, "{}", made.stderr);
    let token = made.stdout.trim().to_string();
    assert!(token.starts_with("hl_"));

    let cfg = dir.write("hashline.toml", b"[server]\nburst = 2\n");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hashline"))
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "serve",
            "--store",
            store_s,
            "--data-dir",
            data_s,
            "--listen",
            "127.0.0.1:0",
        ])
        .env("HASHLINE_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut child = KillOnDrop(Some(child));
    let addr = loop {
        let line = lines.next().expect("server exited before serving").unwrap();
        if let Some(rest) = line.split("addr=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let http = reqwest::Client::new();
        let url = format!("http://{addr}/v1/match");
        let body = serde_json::json!({"md5": ["ab".repeat(16)]});
        let r = http.post(&url).bearer_auth(&token).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["results"][0]["matches"][0]["list"], "syn");
        let r = http.post(&url).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 401);

        // A token limited to 1 request/s (burst 2 from the configuration) gets a 429 ...
        let limited = hashline_in(
            dir.path(),
            &[],
            &["tokens", "create", "--name", "slow", "--rate", "1", "--data-dir", data_s],
        );
        let limited = limited.stdout.trim().to_string();
        let codes: Vec<u16> = futures_codes(&http, &url, &limited, &body, 3).await;
        assert_eq!(codes, [200, 200, 429]);
        // ... and the dashboard's match-API panels ask for metrics serve really exports.
        let made = hashline_in(
            dir.path(),
            &[],
            &["tokens", "create", "--name", "prom", "--scope", "metrics", "--data-dir", data_s],
        );
        assert_eq!(made.code, 0, "{}", made.stderr);
        let prom = made.stdout.trim().to_string();
        let text = http
            .get(format!("http://{addr}/metrics"))
            .bearer_auth(&prom)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        util::promtool_check_metrics(&text);
        let exported = util::exported_names(&text);
        for name in util::deploy_metric_names().iter().filter(|n| n.starts_with("hashline_api_")) {
            assert!(
                exported.contains(name),
                "deploy/ uses {name}, which hashline serve does not export:\n{text}"
            );
        }

        let out = hashline_in(
            std::path::Path::new("."),
            &[],
            &["tokens", "revoke", "platform-x", "--data-dir", data_s],
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        let r = http.post(&url).bearer_auth(&token).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 401, "a revoked token is refused by the running server");
    });

    let mut child = child.0.take().unwrap();
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "exit on SIGTERM: {status:?}");
    let listed = hashline_in(dir.path(), &[], &["tokens", "list", "--data-dir", data_s]);
    assert!(listed.stdout.contains("REVOKED") && !listed.stdout.contains(&token));
    let audit = std::fs::read_to_string(data.join("audit.log")).unwrap();
    assert!(audit.contains("token.create") && audit.contains("token.revoke") && audit.contains("api.match"));
}

async fn futures_codes(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    body: &serde_json::Value,
    n: usize,
) -> Vec<u16> {
    let mut codes = Vec::new();
    for _ in 0..n {
        codes.push(http.post(url).bearer_auth(token).json(body).send().await.unwrap().status().as_u16());
    }
    codes
}
