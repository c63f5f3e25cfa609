//! The streaming pipeline behind `hashline run`: a Kafka consumer group reads uploads
//! ([`contract`]), hashes them on a bounded CPU pool, matches them, commits every match's
//! report to the outbox and produces a match event, sends what cannot be processed to a
//! dead-letter topic, and stores each partition's offsets only up to the last record whose
//! outcome is durable ([`tracker`]). Scale-out is the consumer group: more partitions, more
//! instances.
//!
//! The ordering core, which decides when an offset may be stored:
//!
//! ```
//! let mut t = hashline_pipeline::tracker::Tracker::default();
//! t.begin("hashline.uploads", 0, 7);
//! t.begin("hashline.uploads", 0, 8);
//! // Record 8 finishes first: nothing may be stored while 7 is still running.
//! assert_eq!(t.complete("hashline.uploads", 0, 8), None);
//! // Then 7: the offset to store is 9 (the next record to read).
//! assert_eq!(t.complete("hashline.uploads", 0, 7), Some(9));
//! ```

pub mod contract;
pub mod journal;
/// Fetching media by URL (the `hashline-fetch` crate, shared with the HMA-compatible routes).
pub use hashline_fetch as fetch;
mod kafka;
pub mod process;
pub mod relay;
pub mod run;
pub mod tracker;

pub use contract::{MatchEvent, Upload, MATCH_EVENT_SCHEMA};
pub use fetch::FetchConfig;
pub use run::{Delivery, KafkaConfig, Outcome, Pipeline, PipelineError};
