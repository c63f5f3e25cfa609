//! Videos sent to `POST /v1/hash`: hashed out of process, matched against listed videos and
//! pictures, and a decoder that hangs or a broken video is that request's answer only — the
//! server keeps answering meanwhile. Videos are drawn by FFmpeg (benign test patterns).

#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use common::*;
use hashline_hash::{HashOptions, Hasher};
use hashline_server::ServerConfig;
use hashline_video::{VideoLimits, VideoSettings};

fn video(dir: &std::path::Path, name: &str, args: &[&str]) -> Vec<u8> {
    let out = dir.join(name);
    let status = Command::new("ffmpeg").args(["-v", "error", "-y"]).args(args).arg(&out).status().unwrap();
    assert!(status.success());
    std::fs::read(out).unwrap()
}

async fn post(f: &Fixture, path: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let req = Request::post(path)
        .header("authorization", format!("Bearer {}", f.all))
        .header("content-type", "video/mp4")
        .body(Body::from(body))
        .unwrap();
    let resp = hashline_server::app(f.state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn tmp(tag: &str) -> std::path::PathBuf {
    let d =
        std::env::temp_dir().join(format!("hashline-server-video-{tag}-{}", hashline_report::random_id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[tokio::test]
async fn a_re_encoded_listed_video_matches_with_its_frames_and_broken_videos_are_answered_cleanly() {
    let d = tmp("match");
    let original = video(
        &d,
        "o.mp4",
        &["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=6", "-pix_fmt", "yuv420p"],
    );
    let listed = hashline_video::hash_bytes(
        &original,
        &VideoSettings::default(),
        &mut Hasher::new(HashOptions::default()),
    )
    .unwrap();
    let line = format!("vpdq {}\n", hashline_hash::vpdq::to_signal(&listed.frames));
    let f = fixture_with_lists(ServerConfig::default(), None, &line);
    let copy = video(
        &d,
        "c.mp4",
        &[
            "-i",
            d.join("o.mp4").to_str().unwrap(),
            "-vf",
            "scale=400:300",
            "-crf",
            "35",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    let (status, v) = post(&f, "/v1/hash?match=true", copy).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["video"]["frames"].as_array().unwrap().len(), 6, "{v}");
    assert_eq!(v["video"]["width"], 400);
    assert_eq!(v["pdq_skipped"], "not an image: MP4 video");
    let m = &v["matches"][0];
    assert_eq!((m["signal"].as_str(), m["list"].as_str()), (Some("vpdq"), Some("a")), "{v}");
    assert!(m["video"]["query_percent"].as_f64().unwrap() >= 80.0);
    assert_eq!(m["video"]["frames"][1]["timestamp"], 1.0);
    // Broken videos: 200 with the digests and why there is no vPDQ.
    let mut truncated = original.clone();
    truncated.truncate(original.len() / 2);
    for body in [truncated, b"\x00\x00\x00\x18ftypmp42garbage".to_vec()] {
        let (status, v) = post(&f, "/v1/hash?match=true", body).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        assert!(v["video_skipped"].as_str().unwrap().starts_with("not a readable video"), "{v}");
        assert_eq!(v["md5"].as_str().unwrap().len(), 32);
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_decoder_is_stopped_at_its_limit_while_the_server_keeps_answering() {
    let d = tmp("hang");
    let fake = d.join("decoder");
    std::fs::write(&fake, "#!/bin/sh\nsleep 60\n").unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let settings = hashline_server::Settings {
        server: ServerConfig { threads: 2, ..ServerConfig::default() },
        video: VideoSettings {
            decoder: hashline_video::DecoderChoice::Program(fake),
            limits: VideoLimits { max_decode_seconds: 3, ..VideoLimits::default() },
            ..VideoSettings::default()
        },
        ..hashline_server::Settings::default()
    };
    let f = std::sync::Arc::new(fixture_with(settings, None));
    let clip = video(
        &d,
        "v.mp4",
        &["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=2", "-pix_fmt", "yuv420p"],
    );
    let started = Instant::now();
    let hanging = {
        let f = f.clone();
        tokio::spawn(async move { post(&f, "/v1/hash", clip).await })
    };
    // Meanwhile: lookups are answered at once.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..5 {
        let t = Instant::now();
        let req = Request::post("/v1/match")
            .header("authorization", format!("Bearer {}", f.all))
            .header("content-type", "application/json")
            .body(Body::from(format!("{{\"md5\":[\"{MD5_A}\"]}}")))
            .unwrap();
        let resp = hashline_server::app(f.state.clone()).oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(t.elapsed() < Duration::from_secs(2), "answered while the decoder hangs");
    }
    let (status, v) = hanging.await.unwrap();
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(v["video_skipped"].as_str().unwrap().contains("stopped after 3 s"), "{v}");
    assert!(started.elapsed() < Duration::from_secs(20));
    let _ = std::fs::remove_dir_all(&d);
}

#[tokio::test]
async fn hma_routes_hash_look_up_and_compare_vpdq() {
    let d = tmp("hma");
    let original = video(
        &d,
        "o.mp4",
        &["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=5", "-pix_fmt", "yuv420p"],
    );
    let listed = hashline_video::hash_bytes(
        &original,
        &VideoSettings::default(),
        &mut Hasher::new(HashOptions::default()),
    )
    .unwrap();
    let signal = hashline_hash::vpdq::to_signal(&listed.frames);
    let config = ServerConfig { hma_compat: true, ..ServerConfig::default() };
    let f = fixture_with_lists(config, None, &format!("vpdq {signal}\n"));
    let call = |req: Request<Body>| {
        let app = hashline_server::app(f.state.clone());
        async move {
            let resp = app.oneshot(req).await.unwrap();
            let status = resp.status();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            (status, serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null))
        }
    };
    // /h/hash of a re-encoded copy: video_md5 and the vpdq signal string pytx would store.
    let copy =
        video(&d, "c.mp4", &["-i", d.join("o.mp4").to_str().unwrap(), "-crf", "35", "-pix_fmt", "yuv420p"]);
    let (status, v) = call(multipart("/h/hash", &f.all, &[("video", &copy)])).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let copy_signal = v["vpdq"].as_str().unwrap().to_string();
    assert_eq!(hashline_hash::vpdq::parse_signal(&copy_signal).unwrap().len(), 5);
    assert!(v["video_md5"].is_string());
    // /m/lookup by signal and by upload: the bank of the listed video.
    let url = format!("/m/lookup?signal_type=vpdq&signal={}", urlencode(&copy_signal));
    let (status, v) = call(get_with(&url, &f.all)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["a"].as_array().map(Vec::len), Some(1), "{v}");
    let (status, v) = call(multipart("/m/lookup", &f.all, &[("video", &copy)])).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["vpdq"]["a"].as_array().map(Vec::len), Some(1), "{v}");
    // /m/compare: pytx's rule and its two percentages.
    let body = serde_json::json!({ "vpdq": [copy_signal, signal] });
    let req = Request::post("/m/compare")
        .header("authorization", format!("Bearer {}", f.all))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let (status, v) = call(req).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["vpdq"][0], true, "{v}");
    assert_eq!(v["vpdq"][1]["query_match_percent"], 100.0);
    // A malformed vPDQ signal: HMA's 400.
    let (status, _) = call(get_with("/m/lookup?signal_type=vpdq&signal=%5B%22zz%22%5D", &f.all)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let _ = std::fs::remove_dir_all(&d);
}

fn get_with(path: &str, token: &str) -> Request<Body> {
    Request::get(path).header("authorization", format!("Bearer {token}")).body(Body::empty()).unwrap()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
