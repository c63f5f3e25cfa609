//! The examine step that every way media comes in shares: a folder (`hashline scan`), a Kafka
//! record (`hashline run`) and an HTTP body (`POST /v1/hash`) are thin adapters over it.
//!
//! * [`CpuPool`] — the one kind of CPU pool: a fixed number of threads and a bounded number of
//!   jobs queued or running; async callers wait for a slot instead of queueing without bound.
//! * [`examine_bytes`] and [`examine_path`] — hash under the limits with this thread's hasher
//!   (a panic inside a decoder becomes an [`ExamineError::Panicked`] and the hasher is made
//!   anew), match against a list snapshot, and record the hashing and match metrics once.
//!   One rule for media over `[hash] max_input_bytes` everywhere: the digests are always
//!   computed (streamed, for files), PDQ is skipped with the reason. A video also gets its
//!   vPDQ (`hashline-video`: FFmpeg in a child process under [`Settings::video`]'s limits),
//!   matched against listed videos and, frame by frame, against listed pictures.
//!
//! No Kafka, HTTP or command-line code lives here (see `docs/architecture.md`).
//!
//! ```
//! use hashline_engine::{examine_bytes, CpuPool};
//! use hashline_lists::ListSet;
//!
//! let pool = CpuPool::new(1, 4, "doc").unwrap();
//! let lists = ListSet::empty();
//! let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! let examined = rt
//!     .block_on(pool.run(move || examine_bytes(&hashline_engine::Settings::default(), &lists, b"not an image")))
//!     .unwrap()
//!     .unwrap();
//! assert_eq!(examined.hashes.bytes, 12);
//! assert!(examined.outcome.matches.is_empty());
//! ```

#![deny(missing_docs)]

mod examine;
mod pool;

pub use examine::{
    examine_bytes, examine_hashes, examine_path, io_reason, ExamineError, Examined, Settings, PANICKED,
};
pub use pool::{CpuPool, PoolError};
