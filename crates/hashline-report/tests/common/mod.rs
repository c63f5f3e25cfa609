//! Fixed sample reports for the schema, golden-file and delivery tests (synthetic hashes only).
#![allow(dead_code, clippy::unwrap_used)]

use hashline_report::*;

pub fn reporter() -> Reporter {
    Reporter {
        organisation: "Example Platform Co.".into(),
        contact: "safety@example.org".into(),
        country: "KH".into(),
    }
}

pub fn list_match(entry: &str, signal: &str, distance: u32, class: Option<&str>) -> hashline_lists::Match {
    hashline_lists::Match {
        list: "synthetic-known".into(),
        source: "hashline test fixtures".into(),
        list_version: 3,
        entry_id: entry.into(),
        classification: class.map(Into::into),
        signal: hashline_lists::SignalType::parse_lenient(signal),
        value: if signal == "md5" { "a".repeat(32) } else { "f0".repeat(32) },
        distance,
        dihedral: if signal == "pdq" { Some(hashline_hash::Dihedral::Rotate90) } else { None },
        border_trimmed: None,
        pytx_conversion: false,
        video: None,
    }
}

pub fn detection(upload: &str, matches: Vec<hashline_lists::Match>) -> Detection {
    Detection {
        upload_id: upload.into(),
        channel: Channel::Kafka,
        detected_at: "2026-11-29T10:00:00Z".into(),
        uploaded_at: Some("2026-11-29T09:59:58Z".into()),
        platform: Some("example-photos".into()),
        source_url: Some("https://photos.example.org/p/123?a=1&b=<2>".into()),
        uploader: Some(Uploader {
            account_id: Some("acct-42".into()),
            screen_name: Some("sample_user".into()),
            ip: Some(IpEvent {
                address: "203.0.113.7".into(),
                event: "upload".into(),
                at: Some("2026-11-29T09:59:58Z".into()),
            }),
        }),
        file: FileInfo {
            name: Some("holiday & friends.jpg".into()),
            size: 123_456,
            content_type: Some("image/jpeg".into()),
            md5: "a".repeat(32),
            sha1: "b".repeat(40),
            sha256: "c".repeat(64),
            pdq: Some("f0".repeat(32)),
            pdq_quality: Some(87),
            pdq_skipped: None,
            width: Some(640),
            height: Some(480),
            video: None,
            video_skipped: None,
            location: None,
        },
        matches,
        retroactive: None,
    }
}

/// A report with fixed ids and times, so output is reproducible.
pub fn fixed(mut r: Report) -> Report {
    r.report_id = "0123456789abcdef0123456789abcdef".into();
    r.created_at = "2026-11-29T10:00:01Z".into();
    r
}

/// Reports covering every optional part: full metadata, minimal (scan, no uploader, no PDQ),
/// analyst-confirmed with a legal assessment and evidence.
pub fn samples() -> Vec<Report> {
    let full = build(
        &detection(
            "upload-1",
            vec![list_match("e-1", "md5", 0, Some("A1")), list_match("e-2", "pdq", 12, Some("B2"))],
        ),
        &reporter(),
        &Policy::default(),
    )
    .unwrap()
    .0;
    let minimal = build(
        &Detection {
            upload_id: "scan:0001".into(),
            channel: Channel::Scan,
            detected_at: "2026-11-29T10:00:00Z".into(),
            file: FileInfo {
                size: 10,
                md5: "d".repeat(32),
                sha1: "e".repeat(40),
                sha256: "f".repeat(64),
                pdq_skipped: Some("not an image".into()),
                ..Default::default()
            },
            matches: vec![list_match("e-3", "md5", 0, None)],
            ..Default::default()
        },
        &reporter(),
        &Policy::default(),
    )
    .unwrap()
    .0;
    let mut confirmed = build(
        &detection("upload-2", vec![list_match("e-4", "pdq", 20, Some("IWF-B"))]),
        &reporter(),
        &Policy::default(),
    )
    .unwrap()
    .0;
    confirmed.review = Review::Confirmed { analyst: "analyst-7".into(), at: "2026-11-29T11:00:00Z".into() };
    confirmed.assessment.legal = Some(LegalAssessment::Baseline);
    confirmed.assessment.industry_classification = Some(IndustryClass::B1);
    confirmed.evidence = Some(EvidenceRef {
        id: "fedcba9876543210fedcba9876543210".into(),
        sha256: "c".repeat(64),
        key_id: "00112233aabbccdd".into(),
        retain_until: "2027-11-29T10:00:00Z".into(),
    });
    // A video: its facts, matched by vPDQ and, frame by frame, a listed picture.
    let mut det = detection(
        "upload-3",
        vec![list_match("v-1", "vpdq", 6, Some("A1")), list_match("e-5", "pdq", 4, None)],
    );
    det.file.pdq = None;
    det.file.pdq_quality = None;
    det.file.pdq_skipped = Some("not an image: MP4 video".into());
    det.file.name = Some("clip.mp4".into());
    det.file.content_type = Some("video/mp4".into());
    det.file.video = Some(hashline_report::VideoFacts {
        codec: "h264".into(),
        width: 640,
        height: 360,
        frame_rate: 25.0,
        duration_seconds: 12.5,
        seconds_per_hash: 1.0,
        frames_hashed: 13,
    });
    let frames = |ts: &[f64]| hashline_lists::VideoMatch {
        query_percent: 92.3,
        compared_percent: Some(80.0),
        matched_frames: ts.len() as u32,
        border_trimmed: false,
        frames: ts
            .iter()
            .map(|t| hashline_lists::MatchedFrame {
                timestamp: *t,
                frame_number: (*t * 25.0) as u64,
                distance: 4,
            })
            .collect(),
    };
    det.matches[0].value = format!("sha256:{}", "a".repeat(64));
    det.matches[0].video = Some(frames(&[0.0, 1.0, 2.0]));
    det.matches[1].video = Some(hashline_lists::VideoMatch { compared_percent: None, ..frames(&[3.0, 4.0]) });
    let video = build(&det, &reporter(), &Policy::default()).unwrap().0;
    vec![fixed(full), fixed(minimal), fixed(confirmed), fixed(video)]
}
