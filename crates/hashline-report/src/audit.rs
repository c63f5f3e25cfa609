//! The tamper-evident audit log: one JSON record per line, append-only, each carrying the
//! SHA-256 of the record before it.
//!
//! Record `n` stores `prev` (the hash of record `n-1`, 64 zeros for the first) and `hash` =
//! SHA-256 over `prev` and the record's other fields in their serialised order. Editing a
//! record breaks its hash; deleting or reordering records breaks the chain; cutting the tail
//! is caught by the head file (`audit.head`: the last sequence number and hash, written after
//! every append), so [`verify`] detects any edit, deletion or truncation short of someone
//! rewriting both files, which is why `hashline audit verify` prints the head hash to be
//! recorded elsewhere (a ticket, a signed e-mail).
//!
//! Records never contain media bytes or the hash values of uploads; they name actors, actions
//! and report, evidence or token ids.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Errors of the audit log.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The log could not be read or written.
    #[error("audit log {path}: {source} (check the data directory's permissions and free space)")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The chain is broken.
    #[error("audit log {path} is not intact at record {seq}: {reason}")]
    Tampered {
        /// The file.
        path: PathBuf,
        /// Sequence number (1-based line) where verification failed.
        seq: u64,
        /// What is wrong.
        reason: String,
    },
}

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// 1, 2, 3, ...
    pub seq: u64,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Who: `user:NAME`, `token:NAME`, `system`, `cli:USER`.
    pub actor: String,
    /// What: `login`, `report.view`, `evidence.read`, `report.export`, `api.match`, ...
    pub action: String,
    /// On what: a report id, evidence id, user or list name; empty when none.
    pub target: String,
    /// Extra fields (never media, hash values of uploads, or secrets).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub detail: serde_json::Map<String, serde_json::Value>,
    /// Hash of the previous record.
    pub prev: String,
    /// Hash of this record.
    pub hash: String,
}

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn record_hash(r: &Record) -> String {
    let mut unhashed = r.clone();
    unhashed.hash = String::new();
    let body = serde_json::to_vec(&unhashed).unwrap_or_default();
    let mut h = Sha256::new();
    h.update(r.prev.as_bytes());
    h.update(b"\n");
    h.update(&body);
    hex::encode(h.finalize())
}

struct Tail {
    file: File,
    seq: u64,
    hash: String,
    /// Length of the log as far as this process has read it.
    len: u64,
}

/// An open audit log.
pub struct AuditLog {
    path: PathBuf,
    head: PathBuf,
    tail: Mutex<Tail>,
}

impl AuditLog {
    /// Opens (creating if needed) `dir/audit.log`, verifying the existing chain first: a log
    /// that does not verify is refused rather than extended.
    pub fn open(dir: &Path) -> Result<AuditLog, AuditError> {
        let path = dir.join("audit.log");
        let head = dir.join("audit.head");
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |source| AuditError::Io { path: p, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let (seq, hash) = verify(&path)?;
        let mut opts = OpenOptions::new();
        opts.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let file = opts.open(&path).map_err(io(&path))?;
        let len = file.metadata().map_err(io(&path))?.len();
        Ok(AuditLog { path, head, tail: Mutex::new(Tail { file, seq, hash, len }) })
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends a record and syncs it to disk before returning.
    pub fn append(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        detail: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Record, AuditError> {
        let mut tail = self.tail.lock().unwrap_or_else(|p| p.into_inner());
        // Other processes (the CLI beside a running server) append too: an exclusive lock on
        // the file, then catch up with what they wrote, so the chain stays one chain.
        tail.file.lock().map_err(|source| AuditError::Io { path: self.path.clone(), source })?;
        let result = self.append_locked(&mut tail, actor, action, target, detail);
        let _ = tail.file.unlock();
        result
    }

    fn catch_up(&self, tail: &mut Tail) -> Result<(), AuditError> {
        use std::io::{Read, Seek, SeekFrom};
        let io = |source| AuditError::Io { path: self.path.clone(), source };
        let len = tail.file.metadata().map_err(io)?.len();
        if len == tail.len {
            return Ok(());
        }
        if len < tail.len {
            return Err(AuditError::Tampered {
                path: self.path.clone(),
                seq: tail.seq,
                reason: format!(
                    "the log shrank from {} to {len} bytes: records were removed or edited",
                    tail.len
                ),
            });
        }
        let mut f = File::open(&self.path).map_err(io)?;
        f.seek(SeekFrom::Start(tail.len)).map_err(io)?;
        let mut more = String::new();
        f.take(len - tail.len).read_to_string(&mut more).map_err(io)?;
        for line in more.lines() {
            let n = tail.seq + 1;
            let tampered = |reason: String| AuditError::Tampered { path: self.path.clone(), seq: n, reason };
            let r: Record =
                serde_json::from_str(line).map_err(|e| tampered(format!("not an audit record ({e})")))?;
            if r.seq != n || r.prev != tail.hash || record_hash(&r) != r.hash {
                return Err(tampered("a record appended by another process does not chain".into()));
            }
            tail.seq = n;
            tail.hash = r.hash;
        }
        tail.len = len;
        Ok(())
    }

    fn append_locked(
        &self,
        tail: &mut Tail,
        actor: &str,
        action: &str,
        target: &str,
        detail: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Record, AuditError> {
        self.catch_up(tail)?;
        let mut r = Record {
            seq: tail.seq + 1,
            at: hashline_lists::now_rfc3339(),
            actor: actor.into(),
            action: action.into(),
            target: target.into(),
            detail,
            prev: tail.hash.clone(),
            hash: String::new(),
        };
        r.hash = record_hash(&r);
        let mut line = serde_json::to_vec(&r).unwrap_or_default();
        line.push(b'\n');
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |source| AuditError::Io { path: p, source }
        };
        tail.file.write_all(&line).map_err(io(&self.path))?;
        tail.file.sync_data().map_err(io(&self.path))?;
        let tmp = self.head.with_extension("tmp");
        std::fs::write(&tmp, format!("{} {}\n", r.seq, r.hash)).map_err(io(&tmp))?;
        std::fs::rename(&tmp, &self.head).map_err(io(&self.head))?;
        tail.seq = r.seq;
        tail.hash = r.hash.clone();
        tail.len += line.len() as u64;
        Ok(r)
    }
}

/// The last `n` records of the log at `path`, oldest first (does not verify; see [`verify`]).
/// Lines that are not records are skipped.
pub fn tail(path: &Path, n: usize) -> Result<Vec<Record>, AuditError> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(AuditError::Io { path: path.to_path_buf(), source }),
    };
    let mut out = std::collections::VecDeque::with_capacity(n.min(4096));
    for line in BufReader::new(f).lines() {
        let line = line.map_err(|source| AuditError::Io { path: path.to_path_buf(), source })?;
        if let Ok(r) = serde_json::from_str::<Record>(&line) {
            if out.len() == n {
                out.pop_front();
            }
            if n > 0 {
                out.push_back(r);
            }
        }
    }
    Ok(out.into())
}

/// Verifies `path` (and its `audit.head` beside it, when present); returns the last sequence
/// number and hash (0 and the genesis hash for an empty or missing log).
pub fn verify(path: &Path) -> Result<(u64, String), AuditError> {
    let tampered = |seq, reason: String| AuditError::Tampered { path: path.to_path_buf(), seq, reason };
    let (mut seq, mut hash) = (0u64, GENESIS.to_string());
    match File::open(path) {
        Ok(f) => {
            for (i, line) in BufReader::new(f).lines().enumerate() {
                let line = line.map_err(|source| AuditError::Io { path: path.to_path_buf(), source })?;
                let n = i as u64 + 1;
                let r: Record = serde_json::from_str(&line)
                    .map_err(|e| tampered(n, format!("not an audit record ({e})")))?;
                if r.seq != n {
                    return Err(tampered(n, format!("sequence number {} where {n} was expected", r.seq)));
                }
                if r.prev != hash {
                    return Err(tampered(n, "does not chain to the record before it".into()));
                }
                if record_hash(&r) != r.hash {
                    return Err(tampered(n, "its content was changed after it was written".into()));
                }
                seq = n;
                hash = r.hash;
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(AuditError::Io { path: path.to_path_buf(), source }),
    }
    let head = path.with_file_name("audit.head");
    if let Ok(text) = std::fs::read_to_string(&head) {
        let mut it = text.split_whitespace();
        let hseq: u64 = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let hhash = it.next().unwrap_or_default();
        if hseq > seq {
            return Err(tampered(seq + 1, format!("the log ends at record {seq} but {hseq} were written")));
        }
        if hseq == seq && hseq > 0 && hhash != hash {
            return Err(tampered(seq, "the last record differs from the one recorded in audit.head".into()));
        }
    }
    Ok((seq, hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp() -> PathBuf {
        let d = std::env::temp_dir().join(format!("hashline-audit-{}", crate::model::random_id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn chain_detects_edit_delete_and_truncation() {
        let d = tmp();
        let log = AuditLog::open(&d).unwrap();
        for i in 0..5 {
            log.append("user:a", "report.view", &format!("r{i}"), Default::default()).unwrap();
        }
        drop(log);
        assert_eq!(verify(&d.join("audit.log")).unwrap().0, 5);
        let text = std::fs::read_to_string(d.join("audit.log")).unwrap();
        let lines: Vec<&str> = text.lines().collect();

        // An edit.
        std::fs::write(d.join("audit.log"), text.replace("\"r2\"", "\"r9\"")).unwrap();
        assert!(matches!(verify(&d.join("audit.log")), Err(AuditError::Tampered { seq: 3, .. })));
        // A deletion in the middle.
        let cut: Vec<&str> = lines.iter().enumerate().filter(|(i, _)| *i != 1).map(|(_, l)| *l).collect();
        std::fs::write(d.join("audit.log"), cut.join("\n") + "\n").unwrap();
        assert!(verify(&d.join("audit.log")).is_err());
        // Truncation of the tail.
        std::fs::write(d.join("audit.log"), lines[..4].join("\n") + "\n").unwrap();
        assert!(matches!(verify(&d.join("audit.log")), Err(AuditError::Tampered { seq: 5, .. })));
        // Two writers (two processes) keep one chain.
        std::fs::write(d.join("audit.log"), &text).unwrap();
        let a = AuditLog::open(&d).unwrap();
        let b = AuditLog::open(&d).unwrap();
        a.append("cli:x", "token.create", "t", Default::default()).unwrap();
        b.append("token:y", "api.match", "", Default::default()).unwrap();
        a.append("cli:x", "token.revoke", "t", Default::default()).unwrap();
        assert_eq!(verify(&d.join("audit.log")).unwrap().0, 8);
        let eight = std::fs::read_to_string(d.join("audit.log")).unwrap();
        // A refused log is not extended.
        std::fs::write(d.join("audit.log"), lines[..4].join("\n") + "\n").unwrap();
        assert!(AuditLog::open(&d).is_err());
        std::fs::write(d.join("audit.log"), eight).unwrap();
        let log = AuditLog::open(&d).unwrap();
        assert_eq!(log.append("system", "x", "", Default::default()).unwrap().seq, 9);
        // A running writer whose log is cut short under it refuses to extend it (no panic).
        let nine = std::fs::read_to_string(d.join("audit.log")).unwrap();
        let cut: Vec<&str> = nine.lines().take(6).collect();
        std::fs::write(d.join("audit.log"), cut.join("\n") + "\n").unwrap();
        assert!(matches!(
            log.append("system", "y", "", Default::default()),
            Err(AuditError::Tampered { .. })
        ));
        // ... and one whose log was edited in place (longer now).
        std::fs::write(d.join("audit.log"), nine.replace("\"t\"", "\"tt\"")).unwrap();
        assert!(matches!(
            log.append("system", "y", "", Default::default()),
            Err(AuditError::Tampered { .. })
        ));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
