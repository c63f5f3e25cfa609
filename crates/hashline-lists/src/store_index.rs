//! The store's side of the index snapshots: a list version loaded from its snapshot, or built
//! and its snapshot written (once across instances), and old snapshots removed at import.

use std::path::Path;

use crate::model::ListKind;
use crate::part::{Origin, Part};
use crate::snapshot::{self, Source};
use crate::store::{io, now_rfc3339, Store, StoreError};

impl Store {
    /// The active version of a list, indexed and ready to match: read from its snapshot
    /// (`vN.snap`) when that was made from the version file as it is now; otherwise built from
    /// the version file (checked as [`Store::load`] checks it) and the snapshot written for the
    /// next reader. One instance builds at a time (a lock file beside the snapshot): instances
    /// that start together wait for the first and read what it wrote. Allow-lists (small, and
    /// with entries that expire) and stores with trusted keys (whose signature chain is checked
    /// on every load) are always built from the version file.
    pub(crate) fn load_part(&self, name: &str) -> Result<Part, StoreError> {
        let version = self.current_version(name)?.ok_or_else(|| StoreError::NoSuchList(name.to_string()))?;
        let dir = self.dir(name);
        let hll = dir.join(format!("v{version}.hll"));
        let source = Source {
            manifest: self.manifest_at(name, version)?,
            len: std::fs::metadata(&hll).map_err(io(&hll))?.len(),
        };
        let build = |store: &Store| -> Result<Part, StoreError> {
            let l = store.load(name)?;
            Ok(Part::build(l.manifest, l.entries, &now_rfc3339()))
        };
        if source.manifest.kind == ListKind::Allow || !self.trusted_keys()?.is_empty() {
            return build(self);
        }
        let snap = snapshot::path(&dir, version);
        let first_try = match snapshot::read(&snap, &source) {
            Ok(part) => return Ok(part.with_origin(Origin::Snapshot)),
            Err(why) => why,
        };
        // Hold the build lock when the folder is writable; a read-only list volume builds in
        // memory only.
        let mut options = std::fs::OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let lock = options.open(dir.join(format!("v{version}.snap.lock"))).ok().filter(|f| f.lock().is_ok());
        if lock.is_some() {
            // Another instance may have written it while this one waited.
            if let Ok(part) = snapshot::read(&snap, &source) {
                return Ok(part.with_origin(Origin::Snapshot));
            }
        }
        let part = build(self)?;
        let note = match lock.as_ref().map(|_| snapshot::write(&snap, &source, &part)) {
            Some(Ok(())) => format!("snapshot rebuilt ({first_try})"),
            Some(Err(e)) => format!("snapshot not written ({e}); built from the version file ({first_try})"),
            None => format!("list folder not writable; built from the version file ({first_try})"),
        };
        Ok(part.with_origin(Origin::Built(note)))
    }
}

/// Removes the snapshots (and their lock and temporary files) of versions other than `keep`:
/// those versions are no longer active, and a running instance holds its index in memory,
/// not in the file.
pub(crate) fn remove_old_snapshots(dir: &Path, keep: u64) {
    let Ok(read) = std::fs::read_dir(dir) else { return };
    for e in read.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        // vN.snap, vN.snap.lock, and vN.snap.tmp… left by a writer that was killed.
        let version = name
            .strip_prefix('v')
            .and_then(|r| r.split_once(".snap"))
            .filter(|(_, rest)| rest.is_empty() || *rest == ".lock" || rest.starts_with(".tmp"))
            .and_then(|(v, _)| v.parse::<u64>().ok());
        if version.is_some_and(|v| v != keep) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}
