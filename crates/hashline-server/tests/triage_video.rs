//! A video case in the triage pages: its matched frames shown as stills with their times,
//! blurred until the analyst reveals the case (one reveal, counted against the daily cap, audited);
//! every still is made on the server from the preserved video, out of process. The video is
//! drawn by FFmpeg (a benign test pattern).

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use axum::http::{header, StatusCode};
use common::pages::*;
use hashline_hash::{HashOptions, Hasher};
use hashline_report::{
    Channel, DataDir, Detection, EvidenceConfig, FileInfo, Keyring, Policy, ReportStage, Reporter,
};
use hashline_server::triage::{Role, TriageConfig};
use hashline_server::{app, AppState, Settings};

#[tokio::test]
async fn a_video_case_shows_its_matched_frames_as_blurred_stills_until_revealed() {
    let dir = std::env::temp_dir().join(format!("hashline-triage-video-{}", hashline_report::random_id()));
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let clip = dir.join("clip.mp4");
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=240x180:rate=25:duration=6"])
        .args(["-pix_fmt", "yuv420p"])
        .arg(&clip)
        .status()
        .unwrap();
    assert!(status.success());
    let bytes = std::fs::read(&clip).unwrap();
    let mut h = Hasher::new(HashOptions::default()).hash(&bytes);
    let video =
        hashline_video::hash_bytes(&bytes, &Default::default(), &mut Hasher::new(HashOptions::default()));
    h.video = Some(hashline_video::outcome(video));
    // A synthetic list entry matched by frames at 2 s and 4 s.
    let frames = vec![
        hashline_lists::MatchedFrame { timestamp: 2.0, frame_number: 50, distance: 4 },
        hashline_lists::MatchedFrame { timestamp: 4.0, frame_number: 100, distance: 6 },
    ];
    let key = dir.join("evidence.key");
    std::fs::write(&key, Keyring::generate().unwrap()).unwrap();
    let evidence = EvidenceConfig { enabled: true, key_file: Some(key), retention_days: 30 };
    let stage =
        ReportStage::open(&dir.join("data"), Reporter::default(), Policy::default(), &evidence).unwrap();
    let det = Detection {
        upload_id: "video-1".into(),
        channel: Channel::Api,
        detected_at: String::new(),
        uploaded_at: None,
        platform: Some("video-b".into()),
        source_url: None,
        uploader: None,
        file: FileInfo::from_hashes(&h, Some("clip.mp4".into()), Some("video/mp4".into())),
        matches: vec![hashline_lists::Match {
            list: "synthetic-pdq".into(),
            source: "test".into(),
            list_version: 1,
            entry_id: "picture-1".into(),
            classification: Some("A2".into()),
            signal: hashline_lists::SignalType::Pdq,
            value: "f0".repeat(32),
            distance: 4,
            dihedral: None,
            border_trimmed: None,
            pytx_conversion: false,
            video: Some(hashline_lists::VideoMatch {
                query_percent: 33.3,
                compared_percent: None,
                matched_frames: 2,
                frames,
                border_trimmed: false,
            }),
        }],
        retroactive: None,
    };
    let rec = stage.record(&det, Some(&bytes)).unwrap().unwrap();
    let id = rec.report().report_id.clone();
    drop(stage);
    let data = DataDir::open(&dir.join("data"), &evidence).unwrap();
    let settings = Settings {
        triage: TriageConfig { secure_cookies: true, exposure_cap_per_day: 1, ..TriageConfig::default() },
        ..Settings::default()
    };
    let store = hashline_lists::Store::open(dir.join("store")).unwrap();
    let state = Arc::new(AppState::open(store, &data, settings).unwrap());
    state.triage.users.add("ana", Role::Analyst, PASSWORD).unwrap();
    let app = app(Arc::clone(&state));

    let (ana, csrf) = login(&app, "ana").await;
    send(&app, "POST", &format!("/cases/{id}/claim"), Some(&ana), Some(format!("csrf={csrf}"))).await;
    let page = send(&app, "GET", &format!("/cases/{id}"), Some(&ana), None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("id=\"stills\""), "{}", page.body);
    assert!(page.body.contains("preview.png?t=2.000") && page.body.contains("preview.png?t=4.000"));
    assert!(page.body.contains("2.0 s") && page.body.contains("4.0 s"));
    assert!(!page.body.contains("<video"), "no playback");
    // Blurred stills; the clear ones need a reveal.
    for t in ["2.000", "4.000"] {
        let still =
            send(&app, "GET", &format!("/cases/{id}/media/preview.png?t={t}"), Some(&ana), None).await;
        assert_eq!(still.status, StatusCode::OK);
        assert_eq!(still.headers.get(header::CONTENT_TYPE).unwrap(), "image/png");
        let clear = send(&app, "GET", &format!("/cases/{id}/media/clear.png?t={t}"), Some(&ana), None).await;
        assert_eq!(clear.status, StatusCode::FORBIDDEN);
    }
    // Hostile times: clean 4xx, never a server error.
    for t in ["-1", "NaN", "inf", "abc", "1e308", "99"] {
        let r = send(&app, "GET", &format!("/cases/{id}/media/preview.png?t={t}"), Some(&ana), None).await;
        assert!(r.status.is_client_error(), "{t}: {}", r.status);
    }
    // One reveal: the clear stills of that case, audited once; the cap (1) is then reached.
    send(&app, "POST", &format!("/cases/{id}/reveal"), Some(&ana), Some(format!("csrf={csrf}"))).await;
    let page = send(&app, "GET", &format!("/cases/{id}"), Some(&ana), None).await;
    assert!(page.body.contains("clear.png?t=2.000"), "{}", page.body);
    let clear = send(&app, "GET", &format!("/cases/{id}/media/clear.png?t=4.000"), Some(&ana), None).await;
    assert_eq!(clear.status, StatusCode::OK);
    let log = std::fs::read_to_string(dir.join("data/audit.log")).unwrap();
    assert_eq!(log.matches("\"case.reveal\"").count(), 1);
    assert!(log.matches("\"evidence.read\"").count() >= 3, "every still read from the evidence is audited");
    let _ = std::fs::remove_dir_all(&dir);
}
