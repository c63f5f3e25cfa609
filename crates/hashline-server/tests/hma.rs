//! The HMA-compatible routes, driven as an HMA client drives them (multipart hashing, lookups
//! by signal and by upload, raw lookups, compare, banks), with HMA's shapes and errors.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use common::*;

async fn call(f: &Fixture, req: Request<Body>) -> (StatusCode, Value) {
    let resp = hashline_server::app(f.state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
    let v = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()));
    (status, v)
}

fn get(path: &str, token: Option<&str>) -> Request<Body> {
    let mut r = Request::get(path);
    if let Some(t) = token {
        r = r.header("authorization", format!("Bearer {t}"));
    }
    r.body(Body::empty()).unwrap()
}

/// A multipart/form-data body with the given (field, bytes) files, as requests or Faraday
/// send it.
fn flip(hex_hash: &str, bits: usize) -> String {
    let mut b = hex::decode(hex_hash).unwrap();
    for i in 0..bits {
        b[i / 8] ^= 1 << (i % 8);
    }
    hex::encode(b)
}

/// A fixture with HMA routes on and the PDQ of `picture` listed in bank "a".
async fn hma_fixture(picture: &[u8]) -> (Fixture, String) {
    let plain = fixture();
    let (s, h) = call(&plain, multipart("/h/hash", &plain.all, &[("photo", picture)])).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "HMA routes are off by default: {h}");
    let hashed = hashline_hash::Hasher::new(Default::default()).hash(picture);
    let pdq = match hashed.pdq {
        hashline_hash::PdqOutcome::Hashed { pdq, .. } => pdq.hash.to_hex(),
        other => panic!("{other:?}"),
    };
    let config = hashline_server::ServerConfig { hma_compat: true, ..Default::default() };
    (fixture_with(config, Some(&pdq)), pdq)
}

#[tokio::test]
async fn an_hma_client_hashes_then_looks_up_by_signal_and_raw() {
    let picture = png(320, 240, 7);
    let (f, pdq) = hma_fixture(&picture).await;
    // POST /h/hash, multipart field `photo`: HMA's `{signal_type: hash}`.
    let (s, h) = call(&f, multipart("/h/hash", &f.all, &[("photo", &picture)])).await;
    assert_eq!(s, StatusCode::OK, "{h}");
    assert_eq!(h["pdq"], pdq.as_str());
    assert_eq!(h["md5"].as_str().unwrap().len(), 32);
    let (_, only_pdq) = call(&f, multipart("/h/hash?types=pdq", &f.all, &[("photo", &picture)])).await;
    assert_eq!(only_pdq, json!({ "pdq": pdq }));

    // GET /m/lookup by signal: `{bank: [{bank_content_id, distance}]}`.
    let (s, exact) = call(&f, get(&format!("/m/lookup?signal_type=pdq&signal={pdq}"), Some(&f.all))).await;
    assert_eq!(s, StatusCode::OK, "{exact}");
    let hit = &exact["a"][0];
    assert_eq!(hit["distance"], "0", "{exact}");
    let id = hit["bank_content_id"].as_u64().unwrap();
    assert!(id < 1 << 53);
    let near = flip(&pdq, 9);
    let (_, n) = call(
        &f,
        get(&format!("/m/lookup?signal_type=pdq&signal={near}&seed=42&bypass_coinflip=true"), Some(&f.all)),
    )
    .await;
    assert_eq!(n, json!({ "a": [{ "bank_content_id": id, "distance": "9" }] }));
    let far = flip(&pdq, 128);
    let (s, none) = call(&f, get(&format!("/m/lookup?signal_type=pdq&signal={far}"), Some(&f.all))).await;
    assert_eq!((s, none), (StatusCode::OK, json!({})), "an unknown hash: an empty result");
    // Digests: the listed MD5 of bank "a".
    let (_, md5) =
        call(&f, get(&format!("/m/lookup?signal_type=video_md5&signal={MD5_A}"), Some(&f.all))).await;
    assert_eq!(md5["a"][0]["distance"], "0");
    // A token limited to bank "b" does not see bank "a".
    let (_, hidden) =
        call(&f, get(&format!("/m/lookup?signal_type=pdq&signal={pdq}"), Some(&f.only_b))).await;
    assert_eq!(hidden, json!({}));
    let (_, filtered) =
        call(&f, get(&format!("/m/lookup?signal_type=pdq&signal={pdq}&banks=b"), Some(&f.all))).await;
    assert_eq!(filtered, json!({}), "banks= restricts the answer");

    // GET /m/raw_lookup, with and without distances.
    let (_, raw) = call(&f, get(&format!("/m/raw_lookup?signal_type=pdq&signal={near}"), Some(&f.all))).await;
    assert_eq!(raw, json!({ "matches": [id] }));
    let (_, raw) = call(
        &f,
        get(&format!("/m/raw_lookup?signal_type=pdq&signal={near}&include_distance=true"), Some(&f.all)),
    )
    .await;
    assert_eq!(raw, json!({ "matches": [{ "bank_content_id": id, "distance": "9" }] }));

    // HMA's 400 shape for bad input.
    for (path, said) in [
        (format!("/m/lookup?signal_type=pdq&signal={}", &pdq[..60]), "invalid signal"),
        ("/m/lookup?signal_type=tmk&signal=00".to_string(), "No such SignalType 'tmk'"),
        ("/m/lookup?signal=00".to_string(), "Either url or both signal and signal_type"),
        ("/m/raw_lookup?signal_type=pdq".to_string(), "signal is required"),
        (format!("/m/raw_lookup?signal_type=pdq&signal={pdq}&include_distance=maybe"), "invalid boolean"),
    ] {
        let (s, e) = call(&f, get(&path, Some(&f.all))).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}");
        assert!(e["message"].as_str().unwrap().contains(said), "{path}: {e}");
    }
    // Without a token: 401 in HMA's shape.
    let (s, e) = call(&f, get(&format!("/m/lookup?signal_type=pdq&signal={pdq}"), None)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(e["message"].as_str().unwrap().contains("Bearer"));
    // Audited and counted like /v1/match.
    let log = std::fs::read_to_string(f.state.audit.path()).unwrap();
    assert!(log.contains("\"hma\":\"raw_lookup\"") && log.contains("\"action\":\"api.match\""));
    assert!(!log.contains(&pdq), "no hash values in the audit log");
}

#[tokio::test]
async fn a_multipart_lookup_gives_the_same_matches_as_v1_hash() {
    let picture = png(320, 240, 7);
    let (f, pdq) = hma_fixture(&picture).await;
    let (s, hma) = call(&f, multipart("/m/lookup", &f.all, &[("photo", &picture)])).await;
    assert_eq!(s, StatusCode::OK, "{hma}");
    let v1 = Request::post("/v1/hash?match=true")
        .header("authorization", format!("Bearer {}", f.all))
        .header("content-type", "image/png")
        .body(Body::from(picture.clone()))
        .unwrap();
    let (s, v1) = call(&f, v1).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v1["pdq"], pdq.as_str());
    let want: BTreeSet<(String, String, u64, String)> = v1["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let (list, entry) = (m["list"].as_str().unwrap(), m["entry_id"].as_str().unwrap());
            (
                m["signal"].as_str().unwrap().to_string(),
                list.to_string(),
                hashline_server::hma::bank_content_id(list, entry),
                m["distance"].to_string(),
            )
        })
        .collect();
    let mut got = BTreeSet::new();
    for (signal, banks) in hma.as_object().unwrap() {
        for (bank, hits) in banks.as_object().unwrap() {
            for h in hits.as_array().unwrap() {
                got.insert((
                    signal.clone(),
                    bank.clone(),
                    h["bank_content_id"].as_u64().unwrap(),
                    h["distance"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    assert!(!want.is_empty());
    assert_eq!(got, want, "the same engine: the same matches");
    assert_eq!(hma.as_object().unwrap().keys().collect::<Vec<_>>(), ["md5", "pdq", "sha256"]);
}

#[tokio::test]
async fn banks_compare_status_and_the_curation_routes_answer_like_hma() {
    let picture = png(200, 150, 3);
    let (f, pdq) = hma_fixture(&picture).await;
    let (s, banks) = call(&f, get("/c/banks", Some(&f.all))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        banks,
        json!([
            { "name": "a", "matching_enabled_ratio": 1.0, "enabled": true },
            { "name": "b", "matching_enabled_ratio": 1.0, "enabled": true },
        ])
    );
    let (_, only_b) = call(&f, get("/c/banks", Some(&f.only_b))).await;
    assert_eq!(only_b.as_array().unwrap().len(), 1);
    let (s, _) = call(&f, get("/c/bank/a", Some(&f.only_b))).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a bank the token may not see does not exist for it");
    let (s, e) = call(&f, get("/c/bank/nope", Some(&f.all))).await;
    assert_eq!((s, e), (StatusCode::NOT_FOUND, json!({ "message": "bank 'nope' not found" })));
    let create = Request::post("/c/banks")
        .header("authorization", format!("Bearer {}", f.all))
        .header("content-type", "application/json")
        .body(Body::from(r#"{"name":"NEW_BANK"}"#))
        .unwrap();
    let (s, e) = call(&f, create).await;
    assert_eq!(s, StatusCode::NOT_IMPLEMENTED);
    assert!(e["message"].as_str().unwrap().contains("hashline lists import"));

    let compare = |body: &str| {
        Request::post("/m/compare")
            .header("authorization", format!("Bearer {}", f.all))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let near = flip(&pdq, 9);
    let (s, c) = call(&f, compare(&json!({ "pdq": [pdq, near] }).to_string())).await;
    assert_eq!((s, c), (StatusCode::OK, json!({ "pdq": [true, { "distance": 9 }] })));
    let (_, c) =
        call(&f, compare(&json!({ "pdq": [pdq, flip(&pdq, 40)], "md5": [MD5_A, MD5_A] }).to_string())).await;
    assert_eq!(c, json!({ "pdq": [false, { "distance": 40 }], "md5": [true, { "distance": 0 }] }));
    for bad in ["[1,2]", r#"{"pdq": ["a"]}"#, r#"{"pdq": "x"}"#, r#"{"nope": ["a", "b"]}"#, "{"] {
        let (s, e) = call(&f, compare(bad)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
        assert!(e["message"].is_string(), "{bad}: {e}");
    }

    let (s, alive) = call(&f, get("/status", None)).await;
    assert_eq!((s, alive), (StatusCode::OK, Value::String("I-AM-ALIVE".into())), "a probe, without a token");
    let (_, map) = call(&f, get("/site-map", Some(&f.all))).await;
    assert!(map.as_array().unwrap().iter().any(|r| r == "/m/lookup"));
    let (_, types) = call(&f, get("/signal_types", Some(&f.all))).await;
    assert_eq!(types["pdq"], json!({ "signal_type": "pdq", "enabled": true }));
    let (_, idx) = call(&f, get("/m/index/status", Some(&f.all))).await;
    assert_eq!(idx["pdq"]["present"], true);
    assert_eq!(idx["pdq"]["size"], 1);
    assert_eq!(idx["video_md5"]["size"], 2, "MD5 entries of banks a and b");
}

#[tokio::test]
async fn hostile_uploads_and_urls_get_hma_errors_never_a_server_error() {
    let picture = png(64, 64, 1);
    let (f, _) = hma_fixture(&picture).await;
    let cases: Vec<(Request<Body>, StatusCode, &str)> = vec![
        (multipart("/h/hash", &f.all, &[]), StatusCode::BAD_REQUEST, "Missing multipart"),
        (
            multipart("/h/hash", &f.all, &[("photo", &picture), ("photo", &picture)]),
            StatusCode::BAD_REQUEST,
            "Only one file",
        ),
        (
            multipart("/h/hash", &f.all, &[("document", &picture)]),
            StatusCode::BAD_REQUEST,
            "no such content_type",
        ),
        (multipart("/h/hash", &f.all, &[("photo", b"")]), StatusCode::BAD_REQUEST, "empty"),
        (
            multipart("/h/hash?types=tmk", &f.all, &[("photo", &picture)]),
            StatusCode::BAD_REQUEST,
            "doesn't exist",
        ),
        (
            multipart("/m/lookup?types=video_md5", &f.all, &[("photo", &picture)]),
            StatusCode::BAD_REQUEST,
            "doesn't exist",
        ),
        (
            Request::post("/h/hash")
                .header("authorization", format!("Bearer {}", f.all))
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "Missing multipart",
        ),
        (
            Request::post("/m/lookup")
                .header("authorization", format!("Bearer {}", f.all))
                .header("content-type", "multipart/form-data; boundary=x")
                .body(Body::from("--x\r\nContent-Disposition: form-data; name=\"photo\"\r\n\r\ntrunc"))
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "malformed multipart",
        ),
        (get("/h/hash", Some(&f.all)), StatusCode::BAD_REQUEST, "url is required"),
        (
            get("/h/hash?url=http://169.254.169.254/latest/meta-data", Some(&f.all)),
            StatusCode::BAD_REQUEST,
            "refused",
        ),
        (get("/m/lookup?url=file:///etc/passwd", Some(&f.all)), StatusCode::BAD_REQUEST, "refused"),
    ];
    for (req, status, said) in cases {
        let what = format!("{} {}", req.method(), req.uri());
        let (s, e) = call(&f, req).await;
        assert_eq!(s, status, "{what}: {e}");
        assert!(e["message"].as_str().unwrap_or_default().contains(said), "{what}: {e}");
    }
    // Over the body limit: 413, HMA's shape.
    let small =
        hashline_server::ServerConfig { hma_compat: true, max_body_bytes: 1000, ..Default::default() };
    let f2 = fixture_with(small, None);
    let (s, e) = call(&f2, multipart("/h/hash", &f2.all, &[("photo", &vec![7u8; 5000])])).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{e}");
    assert!(e["message"].is_string());
    // A file that is not an image: digests, no PDQ, not an error.
    let (s, h) = call(&f, multipart("/h/hash", &f.all, &[("photo", b"not a picture")])).await;
    assert_eq!(s, StatusCode::OK);
    assert!(h.get("pdq").is_none() && h["md5"].is_string(), "{h}");
    let (s, v) = call(&f, multipart("/h/hash", &f.all, &[("video", b"\x00\x00\x00\x18ftypmp42")])).await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["video_md5"].is_string() && v.get("pdq").is_none(), "{v}");
}

#[tokio::test]
async fn a_url_on_the_allow_list_is_fetched_hashed_and_looked_up() {
    let picture = png(320, 240, 7);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = picture.clone();
    let media =
        axum::Router::new().route("/p.png", axum::routing::get(move || async move { served.clone() }));
    tokio::spawn(async move { axum::serve(listener, media).await.unwrap() });
    let (f, pdq) = hma_fixture(&picture).await;
    let fetch = hashline_fetch::FetchConfig {
        allowed_hosts: vec!["127.0.0.1".into()],
        allow_private_addresses: true,
        ..Default::default()
    };
    let data = hashline_report::DataDir::open(&f.dir.join("data"), &Default::default()).unwrap();
    let settings = hashline_server::Settings {
        server: hashline_server::ServerConfig { hma_compat: true, ..Default::default() },
        fetch,
        ..Default::default()
    };
    let store = hashline_lists::Store::open(f.dir.join("store")).unwrap();
    let state = std::sync::Arc::new(hashline_server::AppState::open(store, &data, settings).unwrap());
    let app = hashline_server::app(state);
    let url = format!("http://{addr}/p.png");
    let send = |path: String| {
        let app = app.clone();
        let token = f.all.clone();
        async move {
            let resp = app.oneshot(get(&path, Some(&token))).await.unwrap();
            let s = resp.status();
            let b = resp.into_body().collect().await.unwrap().to_bytes();
            (s, serde_json::from_slice::<Value>(&b).unwrap())
        }
    };
    let (s, h) = send(format!("/h/hash?url={url}")).await;
    assert_eq!(s, StatusCode::OK, "{h}");
    assert_eq!(h["pdq"], pdq.as_str());
    let (s, l) = send(format!("/m/lookup?url={url}&signal_type=pdq")).await;
    assert_eq!(s, StatusCode::OK, "{l}");
    assert_eq!(l["a"][0]["distance"], "0", "with signal_type the outer object is left out: {l}");
    let (_, all) = send(format!("/m/lookup?url={url}")).await;
    assert_eq!(all["pdq"]["a"][0]["distance"], "0", "{all}");
}
