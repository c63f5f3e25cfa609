//! Delivery against a test hotline that fails, times out and answers 429/500/400 on a
//! schedule: every report is accepted exactly once by idempotency key, in outbox order, the
//! refused one is parked with its reason, and a parked report retried by hand is delivered.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hashline_report::testing::{Act, TestHotline};
use hashline_report::*;

fn tmp() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("hashline-deliver-{}", random_id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn config(addr: SocketAddr) -> HotlineConfig {
    HotlineConfig {
        url: format!("http://{addr}/"),
        timeout_s: 1,
        backoff_initial_ms: 20,
        backoff_max_s: 1,
        allow_http: true,
        ..HotlineConfig::default()
    }
}

fn enqueue(outbox: &Outbox, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let d = common::detection(
                &format!("upload-{i}"),
                vec![common::list_match(&format!("e-{i}"), "md5", 0, Some("A2"))],
            );
            let (r, _) = build(&d, &common::reporter(), &Policy::default()).unwrap();
            match outbox.enqueue(r, State::Pending).unwrap() {
                Enqueued::New(row) => row.report.idempotency_key,
                Enqueued::Duplicate => panic!("fresh upload taken as duplicate"),
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_schedule_delivers_each_report_once_in_order_and_parks_refusals() {
    let hotline = TestHotline::start(
        vec![
            Act::Status(500),
            Act::Status(503),
            Act::Throttle,
            Act::Accept, // upload-0
            // upload-1 taken but the answer is lost: retried, de-duplicated by key.
            Act::AcceptThenHang(Duration::from_secs(5)),
            Act::Status(408),
            Act::Accept, // upload-1 again
            Act::RefuseUpload("upload-2".into()),
            Act::Status(502),
            Act::Accept, // upload-3
        ],
        Some("test-token"),
    )
    .await
    .unwrap();
    let addr = hotline.addr;
    let dir = tmp();
    let outbox = Arc::new(Outbox::open(&dir.join("outbox.db")).unwrap());
    let keys = enqueue(&outbox, 6);
    // A replay of an upload before delivery adds nothing.
    let (again, _) = build(
        &common::detection("upload-4", vec![common::list_match("e-4", "md5", 0, Some("A2"))]),
        &common::reporter(),
        &Policy::default(),
    )
    .unwrap();
    assert!(matches!(outbox.enqueue(again, State::Pending).unwrap(), Enqueued::Duplicate));

    let client = HotlineClient::with_token(&config(addr), Some("test-token".into())).unwrap();
    let worker = Deliverer::with_client(Arc::clone(&outbox), client, &config(addr));
    tokio::time::timeout(Duration::from_secs(60), worker.run(true, std::future::pending()))
        .await
        .expect("drained within a minute")
        .unwrap();

    let expected: Vec<String> =
        keys.iter().enumerate().filter(|(i, _)| *i != 2).map(|(_, k)| k.clone()).collect();
    hotline.seen(|h| {
        assert_eq!(h.accepted, expected, "each report accepted once, in outbox order");
        assert_eq!(h.bad_auth, 0);
        assert!(h.requests.iter().filter(|k| **k == keys[1]).count() >= 2, "the lost answer was retried");
    });
    let stats = outbox.stats().unwrap();
    assert_eq!((stats.delivered, stats.parked, stats.pending), (5, 1, 0));
    let parked = outbox.list(Some(State::Parked), 10).unwrap();
    assert_eq!(parked[0].report.incident.upload_id, "upload-2");
    assert!(
        parked[0].last_error.as_deref().unwrap().contains("HTTP 400: field incident.platform"),
        "{parked:?}"
    );

    // The operator fixes the cause and retries by hand.
    outbox.retry(&parked[0].report.report_id).unwrap();
    worker.run(true, std::future::pending()).await.unwrap();
    assert_eq!(hotline.seen(|h| h.accepted.last().cloned()), Some(keys[2].clone()));
    assert_eq!(outbox.stats().unwrap().delivered, 6);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hotline_down_then_up_loses_nothing() {
    // Nothing listens on this port at first.
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let dir = tmp();
    let outbox = Arc::new(Outbox::open(&dir.join("outbox.db")).unwrap());
    let keys = enqueue(&outbox, 3);
    let client = HotlineClient::with_token(&config(addr), Some("test-token".into())).unwrap();
    let worker = Deliverer::with_client(Arc::clone(&outbox), client, &config(addr));
    for _ in 0..3 {
        loop {
            match worker.step().await.unwrap() {
                Step::Waiting(d) => tokio::time::sleep(d).await,
                Step::Retried(_) => break,
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    let head = outbox.head().unwrap().unwrap();
    assert_eq!(head.attempts, 3);
    assert!(head.last_error.unwrap().contains("could not connect"));
    // The hotline comes up on that port.
    let hotline = TestHotline::start_on(addr, vec![], Some("test-token")).await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), worker.run(true, std::future::pending()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hotline.seen(|h| h.accepted.clone()), keys);
    std::fs::remove_dir_all(&dir).unwrap();
}
