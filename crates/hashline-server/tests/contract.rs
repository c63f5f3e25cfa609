//! The OpenAPI document: the committed `docs/openapi.json` is the one the code generates and
//! the one a running server serves; and an end-to-end run over a real socket with a real HTTP
//! client, whose answers have the documented shape. Bless with `HASHLINE_BLESS=1`.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

use serde_json::{json, Value};

fn committed() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
}

#[test]
fn committed_openapi_is_current() {
    let generated = hashline_server::openapi_string();
    if std::env::var_os("HASHLINE_BLESS").is_some() {
        std::fs::write(committed(), &generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(committed()).unwrap();
    assert_eq!(
        on_disk, generated,
        "docs/openapi.json is stale: run `HASHLINE_BLESS=1 cargo test -p hashline-server --test contract` and commit it"
    );
}

/// Every property a response object has is declared in the schema it claims (shallow check of
/// the response against the committed document).
fn conforms(doc: &Value, schema_name: &str, v: &Value) {
    let schema = &doc["components"]["schemas"][schema_name];
    let props = schema["properties"].as_object().unwrap_or_else(|| panic!("{schema_name} has no properties"));
    for key in v.as_object().unwrap().keys() {
        assert!(props.contains_key(key), "{schema_name} does not declare {key}");
    }
    for req in schema["required"].as_array().into_iter().flatten() {
        assert!(v.get(req.as_str().unwrap()).is_some(), "{schema_name}.{req} missing in {v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_document_and_real_http_round_trip() {
    let f = common::fixture();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(hashline_server::serve(listener, f.state.clone(), async {
        let _ = stop_rx.await;
    }));
    let http = reqwest::Client::new();
    let base = format!("http://{addr}");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(committed()).unwrap()).unwrap();

    let served: Value = http
        .get(format!("{base}/v1/openapi.json"))
        .bearer_auth(&f.all)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served, doc, "the server serves the committed document");

    let r = http
        .post(format!("{base}/v1/match"))
        .bearer_auth(&f.all)
        .json(&json!({"md5": [common::MD5_A], "sha256": ["a".repeat(64)]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    conforms(&doc, "MatchResponse", &v);
    conforms(&doc, "MatchResult", &v["results"][0]);
    conforms(&doc, "ApiMatch", &v["results"][0]["matches"][0]);

    let r = http
        .post(format!("{base}/v1/hash?match=true"))
        .bearer_auth(&f.all)
        .header("content-type", "image/png")
        .body(common::png(128, 96, 3))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    conforms(&doc, "HashResponse", &r.json::<Value>().await.unwrap());

    let r = http.get(format!("{base}/v1/lists")).bearer_auth(&f.all).send().await.unwrap();
    let v: Value = r.json().await.unwrap();
    conforms(&doc, "ListsResponse", &v);
    conforms(&doc, "ListInfo", &v["lists"][0]);

    let r = http
        .post(format!("{base}/v1/match"))
        .bearer_auth(&f.all)
        .json(&json!({"md5": ["x"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    conforms(&doc, "ErrorBody", &r.json::<Value>().await.unwrap());

    let _ = stop_tx.send(());
    server.await.unwrap().unwrap();
}
