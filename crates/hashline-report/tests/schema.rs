//! The committed JSON Schema is the one generated from the types, and an independent validator
//! (Python `jsonschema`) accepts every report hashline makes and refuses broken ones.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

fn committed() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas/hashline.report-1.schema.json")
}

#[test]
fn committed_schema_is_current() {
    let generated = serde_json::to_string_pretty(&hashline_report::schema()).unwrap() + "\n";
    if std::env::var_os("HASHLINE_BLESS").is_some() {
        std::fs::write(committed(), &generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(committed()).expect("schemas/hashline.report-1.schema.json");
    assert_eq!(
        on_disk, generated,
        "the committed schema is stale: run `HASHLINE_BLESS=1 cargo test -p hashline-report --test schema` and commit it"
    );
}

#[test]
fn python_jsonschema_accepts_reports_and_refuses_broken_ones() {
    let mut docs: Vec<serde_json::Value> =
        common::samples().iter().map(|r| serde_json::to_value(r).unwrap()).collect();
    let good = docs.len();
    let base = docs[0].clone();
    let mut broken = Vec::new();
    let mut b = base.clone();
    b["schema"] = "hashline.report/2".into();
    broken.push(b);
    let mut b = base.clone();
    b["file"]["md5"] = "XYZ".into();
    broken.push(b);
    let mut b = base.clone();
    b["matches"] = serde_json::json!([]);
    broken.push(b);
    let mut b = base.clone();
    b.as_object_mut().unwrap().remove("idempotency_key");
    broken.push(b);
    let mut b = base.clone();
    b["surprise"] = true.into();
    broken.push(b);
    let mut b = base.clone();
    b["review"] = serde_json::json!({"state": "confirmed"});
    broken.push(b);
    let mut b = base;
    b["assessment"]["industry_classification"] = "C9".into();
    broken.push(b);
    let n_broken = broken.len();
    docs.extend(broken);
    let Some(results) = hashline_report::testing::validate_with_python(&docs) else { return };
    assert_eq!(results.len(), good + n_broken);
    for (i, r) in results[..good].iter().enumerate() {
        assert!(r.is_ok(), "sample {i} refused: {r:?}");
    }
    for (i, r) in results[good..].iter().enumerate() {
        assert!(r.is_err(), "broken document {i} accepted");
    }
}

#[test]
fn reports_round_trip_through_serde() {
    for r in common::samples() {
        let text = serde_json::to_string(&r).unwrap();
        let back: hashline_report::Report = serde_json::from_str(&text).unwrap();
        assert_eq!(back, r);
    }
}
