//! A small owner-only JSON file holding a list of records (the API tokens, the analyst
//! accounts): every write replaces the file atomically and syncs it, and readers pick up a new
//! version (written by the CLI while the server runs) on their next look.

use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::SystemTime;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// A read or write of the file failed.
#[derive(Debug, Clone)]
pub struct FileError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub reason: String,
}

/// What identifies a version of the file: modification time (coarse on Linux, a few ms), size
/// and inode (every write replaces the file, so a new version has a new inode).
type Stamp = Option<(SystemTime, u64, u64)>;

fn stamp(path: &Path) -> Stamp {
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let ino = 0;
    Some((m.modified().ok()?, m.len(), ino))
}

struct Loaded<T> {
    stamp: Stamp,
    records: Vec<T>,
}

/// The file and its last loaded contents.
pub struct JsonFile<T> {
    path: PathBuf,
    what: &'static str,
    loaded: RwLock<Loaded<T>>,
}

impl<T: Serialize + DeserializeOwned + Clone> JsonFile<T> {
    /// Opens `path` (a missing file holds no records); `what` names the file in errors.
    pub fn open(path: &Path, what: &'static str) -> Result<JsonFile<T>, FileError> {
        let f = JsonFile {
            path: path.to_path_buf(),
            what,
            loaded: RwLock::new(Loaded { stamp: None, records: Vec::new() }),
        };
        f.reload()?;
        Ok(f)
    }

    fn err(&self, reason: String) -> FileError {
        FileError { path: self.path.clone(), reason }
    }

    /// The records as they are on disk now.
    pub fn read(&self) -> Result<Vec<T>, FileError> {
        match std::fs::read(&self.path) {
            Ok(b) => {
                serde_json::from_slice(&b).map_err(|e| self.err(format!("not a {} file: {e}", self.what)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(self.err(e.to_string())),
        }
    }

    fn reload(&self) -> Result<(), FileError> {
        let stamp = stamp(&self.path);
        let records = self.read()?;
        *self.loaded.write().unwrap_or_else(|p| p.into_inner()) = Loaded { stamp, records };
        Ok(())
    }

    /// Replaces the file with `records` (owner-only, synced, atomic rename).
    pub fn write(&self, records: &[T]) -> Result<(), FileError> {
        let io = |e: std::io::Error| self.err(e.to_string());
        if let Some(d) = self.path.parent() {
            std::fs::create_dir_all(d).map_err(io)?;
        }
        let body = serde_json::to_vec_pretty(records).map_err(|e| self.err(e.to_string()))?;
        hashline_lists::fsio::write_private(&self.path, &body).map_err(io)?;
        self.reload()
    }

    /// Finds a record in the loaded contents, re-reading the file first if it changed (an
    /// unreadable new version is logged and the contents loaded before stay in force).
    pub fn find(&self, pred: impl Fn(&T) -> bool) -> Option<T> {
        let changed = {
            let l = self.loaded.read().unwrap_or_else(|p| p.into_inner());
            stamp(&self.path) != l.stamp
        };
        if changed {
            if let Err(e) = self.reload() {
                tracing::error!(file = self.what, error = %e.reason, "file unreadable; keeping the contents loaded before");
            }
        }
        let l = self.loaded.read().unwrap_or_else(|p| p.into_inner());
        l.records.iter().find(|r| pred(r)).cloned()
    }
}

/// Is `name` 1–64 of `[A-Za-z0-9._-]` (safe as a metrics label, a file name or in a log)?
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}
