//! `Intake::process` without a broker: every kind of record an upload stream carries.

use super::*;
use hashline_lists::{formats::Format, ImportRequest, ListKind, Store};

const LISTED: &[u8] = b"listed benign test bytes";
const ALLOWED: &[u8] = b"listed, but on the allow-list too";

struct Fixture {
    dir: std::path::PathBuf,
    intake: Intake,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn md5(bytes: &[u8]) -> String {
    hashline_hash::digests(bytes).md5_hex()
}

fn fixture(limits: hashline_hash::Limits) -> Fixture {
    let dir = std::env::temp_dir().join(format!("hashline-process-{}", hashline_report::random_id()));
    let store = Store::open(&dir).unwrap();
    let known = format!("md5 {}\nmd5 {}\n", md5(LISTED), md5(ALLOWED));
    store
        .import(ImportRequest::new("known", Format::PytxFile, vec![("k".into(), known.into_bytes())]))
        .unwrap();
    let allow = format!("md5 {}\n", md5(ALLOWED));
    store
        .import(ImportRequest {
            kind: Some(ListKind::Allow),
            ..ImportRequest::new("fp", Format::PytxFile, vec![("a".into(), allow.into_bytes())])
        })
        .unwrap();
    let intake = Intake {
        lists: Arc::new(LiveLists::open(store).unwrap()),
        examine: hashline_engine::Settings {
            hash: hashline_hash::HashOptions { limits, ..Default::default() },
            ..hashline_engine::Settings::default()
        },
        cpu: hashline_engine::CpuPool::new(1, 2, "test").unwrap(),
        fetch: FetchConfig::default(),
    };
    Fixture { dir, intake }
}

fn headers<'a>(pairs: &'a [(&'a str, &'a str)]) -> Vec<(&'a str, Option<&'a [u8]>)> {
    pairs.iter().map(|(k, v)| (*k, Some(v.as_bytes()))).collect()
}

#[tokio::test]
async fn every_kind_of_record_gets_its_disposition() {
    let f = fixture(hashline_hash::Limits::default());
    // Matched: the detection carries the upload's facts and the match.
    let facts = [
        ("hashline-upload-id", "u-1"),
        ("hashline-platform", "example-photos"),
        ("hashline-uploader-id", "acct-9"),
        ("hashline-file-name", "a.bin"),
    ];
    match f.intake.process(headers(&facts), LISTED).await {
        Processed::Matched { detection, media, journal } => {
            // The journal row: the upload's id, platform and hashes; never its name or uploader.
            assert_eq!(
                (journal.upload_id.as_str(), journal.platform.as_deref()),
                ("u-1", Some("example-photos"))
            );
            assert_eq!(journal.file.md5, detection.file.md5);
            let row = serde_json::to_string(&journal).unwrap();
            assert!(!row.contains("a.bin") && !row.contains("acct-9"), "{row}");
            assert_eq!(detection.upload_id, "u-1");
            assert_eq!(detection.channel, Channel::Kafka);
            assert_eq!(detection.platform.as_deref(), Some("example-photos"));
            assert_eq!(detection.file.name.as_deref(), Some("a.bin"));
            assert_eq!(detection.uploader.unwrap().account_id.as_deref(), Some("acct-9"));
            assert_eq!(detection.matches.len(), 1);
            assert_eq!(detection.matches[0].list, "known");
            assert_eq!(media.unwrap().as_slice(), LISTED, "kept for evidence");
        }
        other => panic!("{other:?}"),
    }
    // No match; not an image (digests only, not an error).
    const ID: [(&str, &str); 1] = [("hashline-upload-id", "u-2")];
    const URL: [(&str, &str); 2] =
        [("hashline-upload-id", "u-3"), ("hashline-media-url", "http://169.254.169.254/x")];
    let p = |h: Vec<(&'static str, Option<&'static [u8]>)>, v: &'static [u8]| f.intake.process(h, v);
    assert!(matches!(
        p(headers(&ID), b"some other text").await,
        Processed::NoMatch { bytes: 15, suppressed: 0, .. }
    ));
    // Allow-listed: examined, suppressed, nothing reported.
    assert!(matches!(p(headers(&ID), ALLOWED).await, Processed::NoMatch { suppressed: 1, .. }));
    // A corrupt JPEG: PDQ fails, the digests still match nothing; not a dead letter.
    assert!(matches!(
        p(headers(&ID), b"\xff\xd8\xff\xe0 truncated jpeg").await,
        Processed::NoMatch { suppressed: 0, .. }
    ));
    // No upload id, or no media: dead letters that say why.
    match p(Vec::new(), LISTED).await {
        Processed::DeadLetter { reason, error } => {
            assert_eq!(reason, "upload_id");
            assert!(error.contains("hashline-upload-id"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(p(headers(&ID), b"").await, Processed::DeadLetter { reason: "no_media", .. }));
    // A media URL on no allowed host: refused before any connection.
    assert!(matches!(p(headers(&URL), b"").await, Processed::DeadLetter { reason: "fetch", .. }));
}

#[tokio::test]
async fn a_listed_digest_over_the_byte_limit_still_matches() {
    let f = fixture(hashline_hash::Limits { max_input_bytes: 8, ..Default::default() });
    assert!(LISTED.len() > 8);
    match f.intake.process(headers(&[("hashline-upload-id", "big")]), LISTED).await {
        Processed::Matched { detection, .. } => {
            assert_eq!(detection.matches[0].signal, hashline_lists::SignalType::Md5);
            assert!(detection.file.pdq.is_none());
            assert!(detection.file.pdq_skipped.is_some(), "PDQ skipped with the reason");
        }
        other => panic!("{other:?}"),
    }
}
