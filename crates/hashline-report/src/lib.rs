//! Hotline reports: the versioned report (`hashline.report/1`) and its JSON Schema, the
//! reporting policy, NCMEC CyberTipline XML export, the durable SQLite outbox, delivery to the
//! hotline with retries, encrypted evidence with retention, and the tamper-evident audit log.
//!
//! A match becomes a report, the report is committed to the outbox (durably, de-duplicated by
//! upload id + list entry) and a worker delivers the outbox in order:
//!
//! ```
//! use hashline_report::{build, Detection, FileInfo, Outbox, Policy, Reporter, State};
//!
//! let dir = std::env::temp_dir().join(format!("hashline-doc-{}", hashline_report::random_id()));
//! let outbox = Outbox::open(&dir.join("outbox.db")).unwrap();
//! let detection = Detection {
//!     upload_id: "upload-1".into(),
//!     file: FileInfo { size: 3, md5: "0".repeat(32), sha1: "0".repeat(40), sha256: "0".repeat(64), ..Default::default() },
//!     matches: vec![hashline_lists::Match {
//!         list: "synthetic".into(), source: "test".into(), list_version: 1, entry_id: "e1".into(),
//!         classification: Some("A1".into()), signal: hashline_lists::SignalType::Md5, value: "0".repeat(32),
//!         distance: 0, dihedral: None, border_trimmed: None, pytx_conversion: false, video: None,
//!     }],
//!     ..Default::default()
//! };
//! let reporter = Reporter { organisation: "Example ISP".into(), contact: "abuse@example.org".into(), country: "KH".into() };
//! let (report, decision) = build(&detection, &reporter, &Policy::default()).unwrap();
//! assert!(matches!(decision, hashline_report::Decision::Auto(_)), "exact digest matches are reported without review");
//! assert!(matches!(outbox.enqueue(report.clone(), State::Pending).unwrap(), hashline_report::Enqueued::New(_)));
//! // A replay of the same upload adds nothing.
//! assert!(matches!(outbox.enqueue(report, State::Pending).unwrap(), hashline_report::Enqueued::Duplicate));
//! assert_eq!(outbox.stats().unwrap().pending, 1);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

pub mod audit;
pub mod deliver;
pub mod evidence;
pub mod mac;
pub mod model;
pub mod ncmec;
pub mod outbox;
pub mod policy;
pub mod sqlite;
pub mod stage;
#[cfg(feature = "testing")]
pub mod testing;

pub use audit::{Actor, AuditError, AuditLog};
pub use deliver::{check_delivery, Attempt, DeliverError, Deliverer, HotlineClient, HotlineConfig, Step};
pub use evidence::{EvidenceConfig, EvidenceError, EvidenceStore, Keyring};
pub use model::{
    idempotency_key, random_id, schema, AgeGroup, Assessment, Channel, EvidenceRef, FileInfo, FileLocation,
    Incident, IndustryClass, IpEvent, IwfCategory, LegalAssessment, ListVersion, MatchInfo, MatchedFrameInfo,
    MediaType, Report, Reporter, Retroactive, Review, Uploader, VideoFacts, VideoMatchInfo, SCHEMA_ID,
};
pub use ncmec::{export as ncmec_export, NcmecExport};
pub use outbox::{unix_now, Enqueued, Outbox, OutboxError, Relation, Row, State, Stats, Tally};
pub use policy::{build, Decision, Detection, Policy};
pub use stage::{DataDir, Disposition, Recorded, ReportStage, StageError};

/// Sets the outbox gauges from a [`Stats`].
pub fn set_outbox_gauges(s: &Stats) {
    let m = hashline_metrics::global();
    m.outbox_pending.set(s.pending as i64);
    m.outbox_review.set(s.review as i64);
    m.outbox_parked.set(s.parked as i64);
    m.outbox_oldest_seconds.set(s.oldest_pending_at.map_or(0, |t| (outbox::unix_now() - t).max(0)));
}
