//! Whatever a client sends to the match API, the answer is a 2xx or a JSON 4xx — never a 5xx
//! (HMA answered 500 to a malformed hash).

#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use proptest::prelude::*;
use tower::ServiceExt;

fn hexish() -> impl Strategy<Value = String> {
    prop_oneof!["[0-9a-f]{32}", "[0-9a-fA-F]{64}", "[0-9a-zA-Z ]{0,70}", ".{0,80}", Just(String::new()),]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    let structured = (
        proptest::collection::vec(hexish(), 0..4),
        proptest::collection::vec(hexish(), 0..4),
        proptest::option::of("[a-z0-9]{1,6}"),
    )
        .prop_map(|(pdq, md5, extra)| {
            let mut v = serde_json::json!({"pdq": pdq, "md5": md5});
            if let Some(k) = extra {
                v[k] = serde_json::json!(["00"]);
            }
            serde_json::to_vec(&v).unwrap()
        });
    prop_oneof![structured, proptest::collection::vec(any::<u8>(), 0..200)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn no_5xx_and_errors_are_json(
        path in prop_oneof![Just("/v1/match"), Just("/v1/hash"), Just("/v1/hash?match=true"), Just("/v1/lists")],
        ct in prop_oneof![Just("application/json"), Just("image/png"), Just("text/plain"), Just("")],
        body in body(),
    ) {
        let f = common::fixture_with(hashline_server::ServerConfig { rate_per_s: 100_000, burst: 100_000, ..Default::default() }, None);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (status, bytes) = rt.block_on(async {
            let req = Request::post(path)
                .header("authorization", format!("Bearer {}", f.all))
                .header("content-type", ct)
                .body(Body::from(body))
                .unwrap();
            let resp = hashline_server::app(f.state.clone()).oneshot(req).await.unwrap();
            let s = resp.status();
            (s, resp.into_body().collect().await.unwrap().to_bytes())
        });
        prop_assert!(!status.is_server_error(), "{status} {}", String::from_utf8_lossy(&bytes));
        if status.is_client_error() {
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            prop_assert!(v["error"]["code"].is_string());
        }
    }
}
