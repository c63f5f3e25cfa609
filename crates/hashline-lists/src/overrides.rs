//! Local overrides of a store: entries a supervisor disabled (`overrides/disabled.json`), kept
//! across list updates.

use crate::model::EntryRef;
use crate::store::{io, now_rfc3339, write_atomic, Store, StoreError};

/// A locally disabled entry, as `overrides/disabled.json` keeps it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DisabledEntry {
    #[serde(flatten)]
    entry: EntryRef,
    by: String,
    reason: String,
    at: String,
}

impl Store {
    /// Entries disabled locally (`overrides/disabled.json`): a supervisor found them wrong
    /// (usually a flood of false matches). They match nothing, whatever version of their
    /// list is in force: the override survives list updates until it is removed.
    pub fn disabled(&self) -> Result<std::collections::BTreeSet<EntryRef>, StoreError> {
        let path = self.root().join("overrides/disabled.json");
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice::<Vec<DisabledEntry>>(&bytes)
                .map(|v| v.into_iter().map(|d| d.entry).collect())
                .map_err(|e| StoreError::Damaged {
                    path,
                    message: format!("not a list of disabled entries: {e}"),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Default::default()),
            Err(e) => Err(StoreError::Io { path, source: e }),
        }
    }

    /// Disables an entry locally (see [`Store::disabled`]); `by` and `reason` are kept with it.
    pub fn disable_entry(&self, entry: EntryRef, by: &str, reason: &str) -> Result<(), StoreError> {
        let dir = self.root().join("overrides");
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let path = dir.join("disabled.json");
        let mut all: Vec<DisabledEntry> = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| StoreError::Damaged { path: path.clone(), message: e.to_string() })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(StoreError::Io { path, source: e }),
        };
        if !all.iter().any(|d| d.entry == entry) {
            all.push(DisabledEntry { entry, by: by.into(), reason: reason.into(), at: now_rfc3339() });
        }
        write_atomic(&path, &serde_json::to_vec_pretty(&all).unwrap_or_default())
    }
}
