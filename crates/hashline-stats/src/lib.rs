//! Statistics for the people who govern a hotline: how much was detected, from which
//! platforms, of which classes, how fast it was reviewed and delivered, how much analysts were
//! exposed — from a data folder's own records (the outbox, the audit log and the count of
//! files examined), aggregate only.
//!
//! * [`collect`] reads one or more data folders for a [`Period`] into [`Stats`];
//! * [`render::json`], [`render::csv`] and [`render::html`] (self-contained, SVG charts drawn
//!   with plotters, English or Khmer, printable) publish them.
//!
//! No hash, file name, upload id, report id or account appears in any output, and counts of
//! 1 to 4 are shown as "< 5" ([`Count`]); per-analyst figures appear only when an
//! administrator asks ([`Request::per_analyst`]).
//!
//! ```
//! let dir = std::env::temp_dir().join(format!("hashline-stats-doc-{}", hashline_report::random_id()));
//! let data = hashline_report::DataDir::open(&dir, &Default::default()).unwrap();
//! data.outbox.add_examined(hashline_report::Channel::Scan, 1_793_491_200, 12).unwrap(); // 2026-11-01
//! let period = hashline_stats::Period::parse("2026-11-01", "2026-11-30").unwrap();
//! let source = hashline_stats::Source { outbox: &data.outbox, audit_log: data.audit.path() };
//! let stats = hashline_stats::collect(&[source], hashline_stats::Request { period, per_analyst: false }).unwrap();
//! assert_eq!(stats.files_examined_total.shown(), "12");
//! assert_eq!(stats.weeks.len(), 6);
//! let page = hashline_stats::render::html(&stats, hashline_stats::Lang::Km);
//! assert!(page.contains("lang=\"km\"") && page.contains("<svg"));
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

#![deny(missing_docs)]

mod chart;
mod collect;
mod model;
mod period;
pub mod render;
mod text;

pub use collect::{collect, Request, Source};
pub use model::{AnalystLoad, Count, Durations, NearMatches, Stats, Times, Week, SMALLEST_SHOWN};
pub use period::{date, Period};
pub use text::Lang;

/// Why statistics could not be made.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    /// A bad `--from`/`--to`.
    #[error("{0}")]
    Period(String),
    /// The outbox could not be read.
    #[error(transparent)]
    Outbox(#[from] hashline_report::OutboxError),
    /// The audit log could not be read or does not verify (statistics from a tampered log
    /// would be wrong: investigate with `hashline audit verify`).
    #[error("the audit log: {0}")]
    Audit(hashline_report::AuditError),
}
