//! Known-hash lists and the match index.
//!
//! * [`formats`] — importers for python-threatexchange/HMA files and CSV, NCMEC hash-sharing
//!   XML, Project VIC VICS JSON, plain hex and hashline's own format; each names the file,
//!   line or record and what is wrong with a bad record.
//! * [`Store`] — a folder of lists with versions, tombstones and Ed25519 signature checks.
//! * [`ListSet`] — every active list indexed: exact sets for MD5/SHA-1/SHA-256, a multi-index
//!   ([`PdqIndex`]) for exact PDQ range search, allow-lists, per-list thresholds; every
//!   [`Match`] carries its provenance.
//! * [`LiveLists`] — hot reload by atomic snapshot swap.
//!
//! ```
//! use hashline_lists::{ListSet, Query, Store, ImportRequest, formats::Format};
//!
//! let dir = std::env::temp_dir().join(format!("hashline-doc-{}", std::process::id()));
//! let store = Store::open(&dir)?;
//! let pdq = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
//! store.import(ImportRequest {
//!     name: "demo".into(), format: Format::PytxFile, signal: None, strict: true,
//!     source: Some("local".into()), kind: None, classification: None, thresholds: None,
//!     replace: false, files: vec![("demo.txt".into(), format!("pdq {pdq}\n").into_bytes())],
//!     signatures: vec![], allow_empty: false, max_drop_percent: None,
//! })?;
//! let lists = ListSet::load(&store)?;
//! // A hash 3 bits away from the listed one, with good quality, matches at distance 3.
//! let mut near: hashline_hash::PdqHash = pdq.parse()?;
//! near.0[0] ^= 0b111;
//! let outcome = lists.match_query(&Query { pdq: Some((near, 90)), ..Query::default() });
//! assert_eq!(outcome.matches[0].distance, 3);
//! assert_eq!(outcome.matches[0].list, "demo");
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

pub mod formats;
pub mod fsio;
mod live;
mod matcher;
mod merge;
pub mod model;
mod overrides;
mod part;
mod pdq_index;
pub mod signing;
mod snapshot;
mod store;
mod store_index;
mod video_match;

pub use live::{LiveLists, Reload, WatchGuard};
pub use matcher::{ListSet, ListStats, Match, Outcome, Query, TrimmedQuery};
pub use model::{Classification, Entry, EntryRef, ListKind, Manifest, SignalType, Thresholds};
pub use pdq_index::{PdqHit, PdqIndex};
pub use store::{
    key_id, now_rfc3339, parse_public_key, render, rfc3339_of_unix, unix_seconds, ImportReport,
    ImportRequest, Store, StoreError, StoredList, DEFAULT_MAX_DROP_PERCENT,
};
pub use video_match::{MatchedFrame, QueryFrame, VideoMatch, MAX_LISTED_FRAMES};
