//! Retroactive matching: uploads examined before their material was listed are found when
//! the lists grow — without keeping any media.
//!
//! * [`journal`] — the hash journal of recent uploads ([`JournalRow`]: upload id, platform,
//!   channel, received time, hashes and file facts; never bytes, names, paths, URLs or
//!   uploaders), kept for a window and then deleted.
//! * [`retro`] — the journal indexed ([`RetroIndex`]: PDQ multi-index with dihedral variants
//!   and video frames, sorted digest tables), the [`Change`]s a list update made, and
//!   [`find`]: the changed entries looked up in the index and decided by the lists in force.
//! * [`Retro`] — the embedded run over a data folder: remembers the list versions it has seen
//!   (`retro-state.json`), and commits what it finds as reports marked `retroactive` through
//!   the same report stage as live matches (de-duplicated per upload and entry).
//!
//! ```
//! use hashline_retro::{journal::{Journal, JournalRow}, Retro, Outcome};
//! use hashline_lists::{formats::Format, ImportRequest, ListSet, Store};
//!
//! let dir = std::env::temp_dir().join(format!("hashline-retro-doc-{}", std::process::id()));
//! let store = Store::open(dir.join("lists"))?;
//! let data = hashline_report::DataDir::open(&dir.join("data"), &Default::default())?;
//! let stage = hashline_report::ReportStage::new(&data, Default::default(), Default::default());
//! let journal = Journal::open(&dir.join("data/journal"), 30 * 86_400)?;
//! let now = hashline_report::unix_now();
//! // An upload is examined while no list knows it: it goes into the journal.
//! let hashes = hashline_hash::Hasher::new(Default::default()).hash(b"some upload");
//! journal.append(&JournalRow::of("u-1".into(), hashline_report::Channel::Api, None, now, &hashes))?;
//! let retro = Retro::new(dir.join("data"));
//! assert_eq!(retro.run(&journal, &store, &ListSet::load(&store)?, &stage, now)?, Outcome::Baseline);
//! // Then a list adds its MD5: the next run reports it, marked retroactive.
//! let md5 = hashes.digests.md5_hex();
//! store.import(ImportRequest::new("daily", Format::PytxFile, vec![("in".into(), format!("md5 {md5}\n").into_bytes())]))?;
//! let Outcome::Ran { reported, .. } = retro.run(&journal, &store, &ListSet::load(&store)?, &stage, now)? else { panic!() };
//! assert_eq!(reported, 1);
//! let row = &data.outbox.list(None, 10)?[0];
//! assert_eq!(row.report.retroactive.as_ref().map(|r| r.added_in[0].version), Some(1));
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

pub mod journal;
pub mod retro;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use journal::{Journal, JournalError, JournalRow};
pub use retro::{changes, find, Change, Found, RetroIndex, Tally};

use hashline_lists::{ListSet, Store};
use hashline_report::{Detection, ListVersion, Recorded, ReportStage, Retroactive};

/// Errors of a retro run. Each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum RetroError {
    /// The journal.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The list store.
    #[error(transparent)]
    Store(#[from] hashline_lists::StoreError),
    /// The report stage.
    #[error(transparent)]
    Stage(#[from] hashline_report::StageError),
    /// The state file.
    #[error("{path}: {message} (delete it to start again from the lists in force now)")]
    State {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// No state yet: the lists in force were recorded as seen; uploads in the journal were
    /// matched against them when they arrived.
    Baseline,
    /// No list changed since the last run.
    Unchanged,
    /// Lists changed, and are looked up once they have settled (`with_settle`): in about
    /// this many seconds.
    Settling {
        /// Seconds until the first of them is looked up.
        seconds: u64,
    },
    /// Lists changed: the changed entries were looked up.
    Ran {
        /// Rows in the journal's window.
        rows: u64,
        /// What the lookup saw.
        tally: Tally,
        /// New reports committed.
        reported: usize,
        /// Found but reported before for the same upload and entries.
        duplicates: usize,
    },
}

/// The embedded retro run over a data folder.
///
/// A long-running `Retro` (`retro --from-kafka`) keeps the journal's index between passes:
/// the rows indexed so far stay indexed, and a pass indexes only the rows appended since
/// (re-indexing everything once those grow past a quarter of the rest), so the cost of a pass
/// grows with the list change and the new rows, not with the journal.
pub struct Retro {
    state: PathBuf,
    sealed: std::sync::Mutex<Option<(RetroIndex, journal::End)>>,
    settle_s: i64,
}

#[derive(serde::Serialize, serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct State {
    /// The list versions already looked at.
    seen: BTreeMap<String, u64>,
    /// Versions seen but not looked at yet (settling), with when they were first seen.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    settling: BTreeMap<String, (u64, i64)>,
}

impl Retro {
    /// The retro run of the data folder `data_dir` (its state is `retro-state.json` there).
    pub fn new(data_dir: PathBuf) -> Retro {
        Retro { state: data_dir.join("retro-state.json"), sealed: std::sync::Mutex::new(None), settle_s: 0 }
    }

    /// Looks a list version up only `seconds` after it was first seen. Streaming, uploads
    /// examined while the scanners still held the previous version (up to their reload
    /// interval and jitter) reach the journal after the version appears; waiting for them
    /// keeps them from falling between the live match and the retro pass. 0 (the default) for
    /// a journal written by the same process as the pass (`scan`).
    pub fn with_settle(mut self, seconds: i64) -> Retro {
        self.settle_s = seconds.max(0);
        self
    }

    /// Brings the kept index up to date: the rows since the last pass indexed on their own,
    /// or everything re-indexed when those are many. Returns the index of the rows since
    /// (if kept apart) and the rows indexed in all.
    fn refresh(&self, journal: &Journal, now: i64) -> Result<(Option<RetroIndex>, u64), RetroError> {
        let mut sealed = self.sealed.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((index, end)) = sealed.as_ref() {
            // The rows since are read again each pass until they are merged into the rest.
            let (tail, scan, _) = RetroIndex::build_from(journal, now, Some(*end))?;
            if (tail.len() as u64) <= 100_000u64.max(index.len() as u64 / 4) {
                return Ok((Some(tail), index.len() as u64 + scan.rows));
            }
        }
        let (index, scan, end) = RetroIndex::build_from(journal, now, None)?;
        *sealed = Some((index, end));
        Ok((None, scan.rows))
    }

    /// Builds (or refreshes) the kept index now, e.g. at start, so the first pass after a
    /// list update costs only the update. Returns the rows indexed.
    pub fn prepare(&self, journal: &Journal, now: i64) -> Result<u64, RetroError> {
        Ok(self.refresh(journal, now)?.1)
    }

    fn load_state(&self) -> Result<Option<State>, RetroError> {
        match std::fs::read(&self.state) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| RetroError::State { path: self.state.clone(), message: e.to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(RetroError::State { path: self.state.clone(), message: e.to_string() }),
        }
    }

    fn save_state(&self, state: &State) -> Result<(), RetroError> {
        let bytes = serde_json::to_vec_pretty(state).unwrap_or_default();
        hashline_lists::fsio::write_private(&self.state, &bytes)
            .map_err(|e| RetroError::State { path: self.state.clone(), message: e.to_string() })
    }

    /// Looks what changed in the lists since the last run up in the journal and commits the
    /// uploads found, then records the lists in force as seen. `lists` is the set in force
    /// (loaded from `store`); `now` is Unix seconds.
    pub fn run(
        &self,
        journal: &Journal,
        store: &Store,
        lists: &ListSet,
        stage: &ReportStage,
        now: i64,
    ) -> Result<Outcome, RetroError> {
        let Some(mut state) = self.load_state()? else {
            let seen = lists.versions().into_iter().collect();
            self.save_state(&State { seen, settling: BTreeMap::new() })?;
            return Ok(Outcome::Baseline);
        };
        let all = changes(store, &state.seen, &lists.versions())?;
        if all.is_empty() {
            return Ok(Outcome::Unchanged);
        }
        // Settled changes are looked up now; the others when they have settled.
        let mut changes = Vec::new();
        let mut settling = BTreeMap::new();
        for c in all {
            let since = match state.settling.get(&c.list) {
                Some(&(v, t)) if v == c.to => t,
                _ => now,
            };
            if now - since >= self.settle_s {
                changes.push(c);
            } else {
                settling.insert(c.list.clone(), (c.to, since));
            }
        }
        if changes.is_empty() {
            let wait = settling.values().map(|(_, t)| t + self.settle_s - now).max().unwrap_or(0);
            if settling != state.settling {
                state.settling = settling;
                self.save_state(&state)?;
            }
            return Ok(Outcome::Settling { seconds: wait.max(0) as u64 });
        }
        let (tail, rows) = self.refresh(journal, now)?;
        let sealed = self.sealed.lock().unwrap_or_else(|p| p.into_inner());
        let mut indexes: Vec<&RetroIndex> = sealed.iter().map(|(i, _)| i).collect();
        indexes.extend(tail.as_ref());
        let (found, tally) = find(&indexes, journal, lists, &changes, now)?;
        drop(sealed);
        let (mut reported, mut duplicates) = (0, 0);
        let matched_at = hashline_lists::rfc3339_of_unix(now);
        for f in found {
            let detection = detection(f, &matched_at);
            match stage.record(&detection, None)? {
                Some(Recorded::Queued(..)) => reported += 1,
                Some(Recorded::Duplicate(_)) => duplicates += 1,
                None => {}
            }
        }
        // Only after every report is committed: a crash before this point runs the same
        // lookup again, and the outbox drops what was committed.
        for c in &changes {
            state.seen.insert(c.list.clone(), c.to);
        }
        state.settling = settling;
        self.save_state(&state)?;
        Ok(Outcome::Ran { rows, tally, reported, duplicates })
    }
}

/// The detection of an upload found after the fact.
pub fn detection(f: Found, matched_at: &str) -> Detection {
    let received_at = hashline_lists::rfc3339_of_unix(f.row.received_at);
    Detection {
        upload_id: f.row.upload_id,
        channel: f.row.channel,
        detected_at: matched_at.to_string(),
        uploaded_at: Some(received_at.clone()),
        platform: f.row.platform,
        file: f.row.file,
        matches: f.matches,
        retroactive: Some(Retroactive {
            received_at,
            matched_at: matched_at.to_string(),
            added_in: f.added_in.into_iter().map(|(list, version)| ListVersion { list, version }).collect(),
        }),
        ..Detection::default()
    }
}
