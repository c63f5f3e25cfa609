//! The router, driven with `oneshot`: authentication on every route but the probes, list
//! filtering per token, JSON 4xx for every kind of bad input, rate limits, revocation, metrics
//! and the audit trail.

#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use common::*;

async fn call(f: &Fixture, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let resp = hashline_server::app(f.state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, headers, body)
}

fn post_json(path: &str, token: &str, body: &Value) -> Request<Body> {
    Request::post(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap()
}

fn post_bytes(path: &str, token: &str, ct: &str, body: Vec<u8>) -> Request<Body> {
    Request::post(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", ct)
        .body(Body::from(body))
        .unwrap()
}

fn get(path: &str, token: Option<&str>) -> Request<Body> {
    let mut r = Request::get(path);
    if let Some(t) = token {
        r = r.header("authorization", format!("Bearer {t}"));
    }
    r.body(Body::empty()).unwrap()
}

fn error_code(body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(body)));
    v["error"]["code"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn every_route_but_the_probes_refuses_anonymous_callers() {
    let f = fixture();
    for (method, path) in [
        ("GET", "/v1/lists"),
        ("POST", "/v1/match"),
        ("POST", "/v1/hash"),
        ("GET", "/v1/openapi.json"),
        ("GET", "/metrics"),
    ] {
        let req = Request::builder().method(method).uri(path).body(Body::empty()).unwrap();
        let (status, headers, body) = call(&f, req).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(headers["www-authenticate"], "Bearer");
        assert_eq!(error_code(&body), "unauthorized");
        // A made-up token is no better.
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer hl_{}", "0".repeat(64)))
            .body(Body::empty())
            .unwrap();
        assert_eq!(call(&f, req).await.0, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(call(&f, get("/healthz", None)).await.0, StatusCode::OK);
    assert_eq!(call(&f, get("/readyz", None)).await.0, StatusCode::OK);
    let (status, _, body) = call(&f, get("/nope", Some(&f.all))).await;
    assert_eq!((status, error_code(&body).as_str()), (StatusCode::NOT_FOUND, "not_found"));
}

#[tokio::test]
async fn match_finds_listed_digests_and_filters_lists_per_token() {
    let f = fixture();
    let req = json!({"md5": [MD5_A, MD5_B.to_uppercase(), "00000000000000000000000000000000"]});
    let (status, _, body) = call(&f, post_json("/v1/match", &f.all, &req)).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let v: Value = serde_json::from_slice(&body).unwrap();
    let r = v["results"].as_array().unwrap();
    assert_eq!(r.len(), 3);
    assert_eq!(r[0]["matches"][0]["list"], "a");
    assert_eq!(r[0]["matches"][0]["classification"], "A2");
    assert_eq!(r[0]["matches"][0]["source"], "synthetic test list");
    assert_eq!(r[1]["value"], MD5_B, "values are lower-cased");
    assert_eq!(r[1]["matches"][0]["list"], "b");
    assert!(r[2]["matches"].as_array().unwrap().is_empty());

    // platform-b sees list b only: the list-a match is not there, nor list a in versions.
    let (_, _, body) = call(&f, post_json("/v1/match", &f.only_b, &req)).await;
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert!(v["results"][0]["matches"].as_array().unwrap().is_empty());
    assert_eq!(v["results"][1]["matches"][0]["list"], "b");
    assert_eq!(v["lists"], json!([{"name": "b", "version": 1}]));
    let (_, _, body) = call(&f, get("/v1/lists", Some(&f.only_b))).await;
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["lists"].as_array().unwrap().len(), 1);
    assert_eq!(v["lists"][0]["entries"]["md5"], 1);
    assert!(!String::from_utf8_lossy(&body).contains(MD5_B), "no hash values in /v1/lists");
}

#[tokio::test]
async fn bad_input_gets_a_json_4xx_that_says_what_is_wrong() {
    let f = fixture_with(
        hashline_server::ServerConfig { max_batch: 3, max_body_bytes: 1000, ..Default::default() },
        None,
    );
    let cases: Vec<(Request<Body>, StatusCode, &str)> = vec![
        (post_json("/v1/match", &f.all, &json!({"md5": ["xyz"]})), StatusCode::BAD_REQUEST, "wrong_length"),
        (
            post_json("/v1/match", &f.all, &json!({"md5": ["g".repeat(32)]})),
            StatusCode::BAD_REQUEST,
            "malformed_hex",
        ),
        (post_json("/v1/match", &f.all, &json!({"pdq": ["ab"]})), StatusCode::BAD_REQUEST, "wrong_length"),
        (
            post_json("/v1/match", &f.all, &json!({"md5": [MD5_A, MD5_A, MD5_A, MD5_A]})),
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
        ),
        (post_json("/v1/match", &f.all, &json!({})), StatusCode::BAD_REQUEST, "empty_batch"),
        (post_json("/v1/match", &f.all, &json!({"md6": [MD5_A]})), StatusCode::BAD_REQUEST, "malformed_json"),
        (post_json("/v1/match", &f.all, &json!({"md5": MD5_A})), StatusCode::BAD_REQUEST, "malformed_json"),
        (
            post_bytes("/v1/match", &f.all, "application/json", b"{not json".to_vec()),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            post_bytes("/v1/match", &f.all, "text/plain", b"{}".to_vec()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            post_bytes("/v1/hash", &f.all, "text/plain", b"abc".to_vec()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            post_bytes("/v1/hash", &f.all, "image/png", vec![0; 2000]),
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
        ),
        (post_bytes("/v1/hash", &f.all, "image/png", vec![]), StatusCode::BAD_REQUEST, "empty_body"),
        (
            post_bytes("/v1/hash?match=maybe", &f.all, "image/png", vec![1]),
            StatusCode::BAD_REQUEST,
            "bad_query",
        ),
        (post_bytes("/v1/hash?colour=1", &f.all, "image/png", vec![1]), StatusCode::BAD_REQUEST, "bad_query"),
        (get("/metrics", Some(&f.all)), StatusCode::FORBIDDEN, "forbidden"),
        (get("/v1/lists", Some(&f.metrics)), StatusCode::FORBIDDEN, "forbidden"),
    ];
    for (i, (req, want, code)) in cases.into_iter().enumerate() {
        let (status, _, body) = call(&f, req).await;
        assert_eq!(status, want, "case {i}: {}", String::from_utf8_lossy(&body));
        assert_eq!(error_code(&body), code, "case {i}");
    }
}

#[tokio::test]
async fn hash_returns_hashes_and_matches_in_one_response() {
    let picture = png(256, 192, 1);
    // List "a" gets this picture's PDQ; found through /v1/hash?match=true.
    let probe = fixture();
    let (status, _, body) =
        call(&probe, post_bytes("/v1/hash", &probe.all, "image/png", picture.clone())).await;
    assert_eq!(status, StatusCode::OK);
    let h: Value = serde_json::from_slice(&body).unwrap();
    let pdq = h["pdq"].as_str().unwrap().to_string();
    assert_eq!(h["format"], "png");
    assert!(h.get("matches").is_none(), "no matching unless asked");

    let f = fixture_with(hashline_server::ServerConfig::default(), Some(&pdq));
    let (status, _, body) = call(
        &f,
        post_bytes("/v1/hash?match=true&dihedral=true", &f.all, "application/octet-stream", picture),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["pdq"], pdq.as_str());
    assert_eq!(v["pdq_dihedral"].as_array().unwrap().len(), 8);
    assert_eq!(v["matches"][0]["signal"], "pdq");
    assert_eq!(v["matches"][0]["distance"], 0);
    // Not an image: still digests (lists hold digests of videos too), and why no PDQ.
    let (status, _, body) =
        call(&f, post_bytes("/v1/hash?match=true", &f.all, "video/mp4", b"\0\0\0 ftypisom".to_vec())).await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert!(v["pdq"].is_null() && v["pdq_skipped"].is_string() && v["md5"].as_str().unwrap().len() == 32);
    // A corrupt image: digests, and the decode error as the reason.
    let mut broken = png(64, 64, 2);
    broken.truncate(broken.len() / 2);
    let (status, _, body) = call(&f, post_bytes("/v1/hash", &f.all, "image/png", broken)).await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert!(v["pdq"].is_null() && v["pdq_skipped"].is_string(), "{v}");
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after_and_revocation_is_immediate() {
    let f =
        fixture_with(hashline_server::ServerConfig { rate_per_s: 1, burst: 2, ..Default::default() }, None);
    let req = || post_json("/v1/match", &f.all, &json!({"md5": [MD5_A]}));
    assert_eq!(call(&f, req()).await.0, StatusCode::OK);
    assert_eq!(call(&f, req()).await.0, StatusCode::OK);
    let (status, headers, body) = call(&f, req()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(error_code(&body), "rate_limited");
    assert!(headers["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    // Other tokens have their own bucket.
    assert_eq!(call(&f, post_json("/v1/match", &f.only_b, &json!({"md5": [MD5_A]}))).await.0, StatusCode::OK);

    std::thread::sleep(std::time::Duration::from_millis(20));
    f.state.tokens.revoke("platform-b").unwrap();
    assert_eq!(
        call(&f, post_json("/v1/match", &f.only_b, &json!({"md5": [MD5_A]}))).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn metrics_count_calls_per_token_and_the_audit_log_has_no_hashes() {
    let f = fixture();
    call(&f, post_json("/v1/match", &f.all, &json!({"md5": [MD5_A]}))).await;
    call(&f, post_json("/v1/match", &f.all, &json!({"md5": ["bad"]}))).await;
    let (status, headers, body) = call(&f, get("/metrics", Some(&f.metrics))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.contains(r#"hashline_api_requests_total{endpoint="match",status="2xx",token="platform-all"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"hashline_api_requests_total{endpoint="match",status="4xx",token="platform-all"}"#)
    );
    assert!(text.contains(r#"hashline_list_entries{list="a",signal="md5"} 1"#));
    assert!(!text.contains(MD5_A), "no hash values in metrics");
    let log = std::fs::read_to_string(f.dir.join("data/audit.log")).unwrap();
    assert!(log.contains("\"api.match\"") && log.contains("token:platform-all"));
    assert!(!log.contains(MD5_A), "no hash values in the audit log");
}

/// A PNG whose header claims `w` × `h` and that holds almost no pixel data.
fn png_header_only(w: u32, h: u32) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut c = 0xffff_ffffu32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 == 1 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
            }
        }
        !c
    }
    fn chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        let mut out = (data.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
        out
    }
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(chunk(b"IHDR", &ihdr));
    out.extend(chunk(b"IDAT", &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]));
    out.extend(chunk(b"IEND", &[]));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hash_requests_share_a_memory_budget_and_a_lower_pixel_limit() {
    assert_eq!(hashline_hash::claimed_dimensions(&png(320, 200, 1)), Some((320, 200)));
    assert_eq!(hashline_hash::claimed_dimensions(b"just text"), None);
    let f = fixture_with(hashline_server::ServerConfig { memory_budget_mib: 3, ..Default::default() }, None);
    // An image whose decode alone needs more than the whole budget is refused, not queued.
    let big = png(1000, 1000, 2);
    let (status, _, body) = call(&f, post_bytes("/v1/hash", &f.all, "image/png", big)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error_code(&body), "over_memory_budget");
    // Many requests that fit one or two at a time all get their answer, in turn.
    let small = png(300, 300, 3);
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let state = f.state.clone();
            let (token, body) = (f.all.clone(), small.clone());
            tokio::spawn(async move {
                hashline_server::app(state)
                    .oneshot(post_bytes("/v1/hash", &token, "image/png", body))
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    for c in calls {
        assert_eq!(c.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(f.state.memory_available(), 3 << 20, "everything given back");
    // The API's own pixel limit (50 Mpx) applies before the general one (100 Mpx).
    let f = fixture();
    let (status, _, body) =
        call(&f, post_bytes("/v1/hash", &f.all, "image/png", png_header_only(8000, 8000))).await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_slice(&body).unwrap();
    let why = v["pdq_skipped"].as_str().unwrap();
    assert!(why.contains("50000000"), "{why}");
    // A body that declares more than the limit is refused before it is read.
    let mut req = post_bytes("/v1/hash", &f.all, "image/png", vec![0u8; 10]);
    req.headers_mut().insert("content-length", (1u64 << 40).to_string().parse().unwrap());
    let (status, _, body) = call(&f, req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(&body), "body_too_large");
}
