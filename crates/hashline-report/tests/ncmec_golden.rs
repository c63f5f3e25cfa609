//! Golden files pin the NCMEC XML: element order is part of NCMEC's contract (their XSD
//! sequences), so any change must be deliberate. Bless with `HASHLINE_BLESS=1`.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name)
}

fn check(name: &str, actual: &str) {
    let p = golden(name);
    if std::env::var_os("HASHLINE_BLESS").is_some() {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, actual).unwrap();
    }
    let expected =
        std::fs::read_to_string(&p).unwrap_or_else(|_| panic!("missing golden file {}", p.display()));
    assert_eq!(
        actual, expected,
        "{name} differs from the golden file (HASHLINE_BLESS=1 to accept a deliberate change)"
    );
}

#[test]
fn exports_match_golden_files() {
    for (i, r) in common::samples().iter().enumerate() {
        let x = hashline_report::ncmec_export(r);
        check(&format!("sample{i}.report.xml"), &x.report);
        check(&format!("sample{i}.fileDetails.xml"), &x.file_details);
    }
}

/// The order of child elements, read back with an XML parser.
fn children(xml: &str, parent: &str) -> Vec<String> {
    use quick_xml::events::Event;
    let mut r = quick_xml::Reader::from_str(xml);
    let (mut depth, mut inside, mut out) = (0usize, None, Vec::new());
    loop {
        match r.read_event().unwrap() {
            Event::Start(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                depth += 1;
                if name == parent && inside.is_none() {
                    inside = Some(depth);
                } else if inside == Some(depth - 1) {
                    out.push(name);
                }
            }
            Event::End(_) => {
                if inside == Some(depth) {
                    inside = None;
                }
                depth -= 1;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

/// Every emitted element appears in the XSD sequence's relative order.
fn in_xsd_order(emitted: &[String], xsd: &[&str]) {
    let mut last = 0;
    for e in emitted {
        let pos = xsd.iter().position(|x| x == e).unwrap_or_else(|| panic!("{e} is not in the XSD sequence"));
        assert!(pos >= last, "{e} is out of order in {emitted:?}");
        last = pos;
    }
}

#[test]
fn element_order_follows_the_xsd_sequences() {
    let report = [
        "incidentSummary",
        "internetDetails",
        "lawEnforcement",
        "reporter",
        "personOrUserReported",
        "intendedRecipient",
        "victim",
        "additionalInfo",
    ];
    let summary = [
        "incidentType",
        "platform",
        "escalateToHighPriority",
        "reportAnnotations",
        "incidentDateTime",
        "incidentDateTimeDescription",
    ];
    let person = [
        "personOrUserReportedPerson",
        "vehicleDescription",
        "espIdentifier",
        "espService",
        "compromisedAccount",
        "screenName",
        "displayName",
        "profileUrl",
        "profileBio",
        "ipCaptureEvent",
    ];
    let file = [
        "reportId",
        "fileId",
        "fileName",
        "originalFileName",
        "uploadedToEspTimestamp",
        "locationOfFile",
        "fileViewedByEsp",
        "exifViewedByEsp",
        "publiclyAvailable",
        "fileRelevance",
        "fileAnnotations",
        "industryClassification",
        "originalFileHash",
        "ipCaptureEvent",
        "deviceId",
        "details",
        "additionalInfo",
    ];
    let ip = ["ipAddress", "eventName", "dateTime", "possibleProxy", "port"];
    for r in common::samples() {
        let x = hashline_report::ncmec_export(&r);
        in_xsd_order(&children(&x.report, "report"), &report);
        in_xsd_order(&children(&x.report, "incidentSummary"), &summary);
        in_xsd_order(&children(&x.report, "personOrUserReported"), &person);
        in_xsd_order(&children(&x.report, "ipCaptureEvent"), &ip);
        in_xsd_order(&children(&x.file_details, "fileDetails"), &file);
        assert_eq!(children(&x.report, "report").first().map(String::as_str), Some("incidentSummary"));
    }
}
