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
//! The head must exist (and parse) beside a non-empty log: removing or garbling it to hide a cut
//! tail is itself detected. It is written owner-only and synced like the log.
//!
//! **Keyed mode.** A hash chain proves the log was not edited *by someone who did not rewrite
//! all of it*. With a 256-bit key kept outside the data folder (`HASHLINE_AUDIT_KEY_FILE`, a
//! file of 64 hex digits, or `HASHLINE_AUDIT_KEY`), every record and the head also carry an
//! HMAC-SHA-256 under that key: a full rewrite by someone who can write the data folder but
//! not read the key no longer verifies. Opening the log with a key makes sure its last record
//! carries a MAC (an `audit.keyed` record is appended when it does not), and verification with
//! the key requires MACs from the first keyed record on and on the last record. What neither
//! mode proves: that an old, complete copy of log and head was not put back (record the head
//! hash `hashline audit verify` prints somewhere else for that).
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

/// Who did it: the audit log's actors, written `user:NAME`, `token:NAME`, `cli:USER`, `system`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    /// An account of the triage pages.
    User(String),
    /// A platform's API token, by its name.
    Token(String),
    /// A command run by an operating-system user.
    Cli(String),
    /// hashline itself.
    System,
}

impl Actor {
    /// The operating-system user running this process, as a CLI actor.
    pub fn cli() -> Actor {
        Actor::Cli(
            std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".into()),
        )
    }
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::User(n) => write!(f, "user:{n}"),
            Actor::Token(n) => write!(f, "token:{n}"),
            Actor::Cli(n) => write!(f, "cli:{n}"),
            Actor::System => f.write_str("system"),
        }
    }
}

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// 1, 2, 3, ...
    pub seq: u64,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Who: an [`Actor`] as written (`user:NAME`, `token:NAME`, `system`, `cli:USER`).
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
    /// In keyed mode: HMAC-SHA-256 of `hash` under the audit key (not part of `hash`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

/// The key of keyed mode, from `HASHLINE_AUDIT_KEY_FILE` (a file holding 64 hex digits) or
/// `HASHLINE_AUDIT_KEY`; `Ok(None)` when neither is set.
pub fn key_from_env() -> Result<Option<[u8; 32]>, AuditError> {
    let bad = |path: PathBuf, what: &str| AuditError::Io {
        path,
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string()),
    };
    if let Some(p) = std::env::var_os("HASHLINE_AUDIT_KEY_FILE") {
        let path = PathBuf::from(p);
        let text =
            std::fs::read_to_string(&path).map_err(|source| AuditError::Io { path: path.clone(), source })?;
        return crate::mac::parse_key(&text)
            .map(Some)
            .ok_or_else(|| bad(path, "the audit key file must hold 64 hex digits"));
    }
    match std::env::var("HASHLINE_AUDIT_KEY") {
        Ok(v) => crate::mac::parse_key(&v)
            .map(Some)
            .ok_or_else(|| bad(PathBuf::from("$HASHLINE_AUDIT_KEY"), "the audit key must be 64 hex digits")),
        Err(_) => Ok(None),
    }
}

fn record_mac(key: &[u8; 32], hash: &str) -> String {
    hex::encode(crate::mac::hmac_sha256(key, hash.as_bytes()))
}

fn head_mac(key: &[u8; 32], seq: u64, hash: &str) -> String {
    hex::encode(crate::mac::hmac_sha256(key, format!("audit.head {seq} {hash}").as_bytes()))
}

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn record_hash(r: &Record) -> String {
    let mut unhashed = r.clone();
    unhashed.hash = String::new();
    unhashed.mac = None;
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
    key: Option<[u8; 32]>,
    tail: Mutex<Tail>,
}

impl AuditLog {
    /// Opens (creating if needed) `dir/audit.log`, verifying the existing chain first: a log
    /// that does not verify is refused rather than extended. Keyed when the environment names
    /// an audit key ([`key_from_env`]).
    pub fn open(dir: &Path) -> Result<AuditLog, AuditError> {
        AuditLog::open_with_key(dir, key_from_env()?)
    }

    /// [`AuditLog::open`] with the key given (or none).
    pub fn open_with_key(dir: &Path, key: Option<[u8; 32]>) -> Result<AuditLog, AuditError> {
        let path = dir.join("audit.log");
        let head = dir.join("audit.head");
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |source| AuditError::Io { path: p, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let checked = check(&path, key.as_ref())?;
        let mut opts = OpenOptions::new();
        opts.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let file = opts.open(&path).map_err(io(&path))?;
        let len = file.metadata().map_err(io(&path))?.len();
        let (seq, hash) = (checked.seq, checked.hash);
        let log = AuditLog { path, head, key, tail: Mutex::new(Tail { file, seq, hash, len }) };
        if key.is_some() && !checked.last_keyed {
            // From here on the log is keyed: its last record carries a MAC.
            log.append(&Actor::System, "audit.keyed", "", Default::default())?;
        }
        Ok(log)
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends a record and syncs it to disk before returning.
    pub fn append(
        &self,
        actor: &Actor,
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
            if let Some(k) = &self.key {
                if r.mac.as_deref() != Some(record_mac(k, &r.hash).as_str()) {
                    return Err(tampered("a record appended by another process lacks a valid MAC".into()));
                }
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
        actor: &Actor,
        action: &str,
        target: &str,
        detail: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Record, AuditError> {
        self.catch_up(tail)?;
        let mut r = Record {
            seq: tail.seq + 1,
            at: hashline_lists::now_rfc3339(),
            actor: actor.to_string(),
            action: action.into(),
            target: target.into(),
            detail,
            prev: tail.hash.clone(),
            hash: String::new(),
            mac: None,
        };
        r.hash = record_hash(&r);
        r.mac = self.key.as_ref().map(|k| record_mac(k, &r.hash));
        let mut line = serde_json::to_vec(&r).unwrap_or_default();
        line.push(b'\n');
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |source| AuditError::Io { path: p, source }
        };
        tail.file.write_all(&line).map_err(io(&self.path))?;
        tail.file.sync_data().map_err(io(&self.path))?;
        let mut head = format!("{} {}", r.seq, r.hash);
        if let Some(k) = &self.key {
            head = format!("{head} {}", head_mac(k, r.seq, &r.hash));
        }
        write_head(&self.head, &head).map_err(io(&self.head))?;
        tail.seq = r.seq;
        tail.hash = r.hash.clone();
        tail.len += line.len() as u64;
        Ok(r)
    }
}

/// The last `n` records of the log at `path`, oldest first (does not verify; see [`verify`]).
/// Lines that are not records are skipped.
pub fn tail(path: &Path, n: usize) -> Result<Vec<Record>, AuditError> {
    let mut out = std::collections::VecDeque::with_capacity(n.min(4096));
    each(path, |r| {
        if out.len() == n {
            out.pop_front();
        }
        if n > 0 {
            out.push_back(r);
        }
    })?;
    Ok(out.into())
}

/// Calls `f` with every record of the log at `path`, oldest first, reading one line at a time
/// (does not verify; see [`verify`]). Lines that are not records are skipped; a missing log
/// has no records.
pub fn each(path: &Path, mut f: impl FnMut(Record)) -> Result<(), AuditError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(AuditError::Io { path: path.to_path_buf(), source }),
    };
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|source| AuditError::Io { path: path.to_path_buf(), source })?;
        if let Ok(r) = serde_json::from_str::<Record>(&line) {
            f(r);
        }
    }
    Ok(())
}

/// Writes the head file the one way private files are written: owner-only, synced, renamed
/// into place, the folder synced.
fn write_head(path: &Path, text: &str) -> std::io::Result<()> {
    hashline_lists::fsio::write_private(path, format!("{text}\n").as_bytes())
}

/// What checking a log found.
struct Checked {
    seq: u64,
    hash: String,
    /// The last record carries a MAC (or the log is empty).
    last_keyed: bool,
}

/// Verifies `path` (and its `audit.head` beside it) with the key from the environment, if
/// any; returns the last sequence number and hash (0 and the genesis hash for an empty or
/// missing log).
pub fn verify(path: &Path) -> Result<(u64, String), AuditError> {
    verify_with_key(path, key_from_env()?.as_ref())
}

/// [`verify`] with the key given: with a key, every record from the first keyed one on and the
/// last record must carry a valid MAC, and so must the head.
pub fn verify_with_key(path: &Path, key: Option<&[u8; 32]>) -> Result<(u64, String), AuditError> {
    let c = check(path, key)?;
    if key.is_some() && !c.last_keyed {
        return Err(AuditError::Tampered {
            path: path.to_path_buf(),
            seq: c.seq,
            reason: "the last record carries no MAC: the log was rewritten without the key, or nothing \
                     has written to it since the key was configured (any hashline command that audits \
                     will mark it)"
                .into(),
        });
    }
    Ok((c.seq, c.hash))
}

/// The head file's fields: sequence number, hash, and in keyed mode a MAC.
struct Head {
    seq: u64,
    hash: String,
    mac: Option<String>,
}

fn read_head(log: &Path) -> Result<Option<Head>, AuditError> {
    let head = log.with_file_name("audit.head");
    let text = match std::fs::read_to_string(&head) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(AuditError::Io { path: head, source }),
    };
    let fields: Vec<&str> = text.split_whitespace().collect();
    let parsed = match (fields.first().and_then(|s| s.parse::<u64>().ok()), fields.get(1), fields.len()) {
        (Some(seq), Some(hash), 2 | 3) if hash.len() == 64 => {
            Some(Head { seq, hash: hash.to_string(), mac: fields.get(2).map(|m| m.to_string()) })
        }
        _ => None,
    };
    parsed.map(Some).ok_or_else(|| AuditError::Tampered {
        path: log.to_path_buf(),
        seq: 0,
        reason: "audit.head is not a sequence number and a hash: it was damaged or replaced".into(),
    })
}

fn check(path: &Path, key: Option<&[u8; 32]>) -> Result<Checked, AuditError> {
    let tampered = |seq, reason: String| AuditError::Tampered { path: path.to_path_buf(), seq, reason };
    let head = read_head(path)?;
    let (mut seq, mut hash) = (0u64, GENESIS.to_string());
    let (mut keyed_from, mut last_keyed) = (None, true);
    // Whether the record the head names carries a MAC.
    let mut head_record_keyed = false;
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
                if let Some(k) = key {
                    match &r.mac {
                        Some(m) if *m == record_mac(k, &r.hash) => {
                            keyed_from.get_or_insert(n);
                        }
                        Some(_) => {
                            return Err(tampered(n, "its MAC does not verify with the audit key".into()))
                        }
                        None if keyed_from.is_some() => {
                            return Err(tampered(n, "a record after keyed ones carries no MAC".into()))
                        }
                        None => {}
                    }
                }
                if let Some(h) = head.as_ref().filter(|h| h.seq == n) {
                    if h.hash != r.hash {
                        return Err(tampered(
                            n,
                            "the record differs from the one recorded in audit.head".into(),
                        ));
                    }
                    head_record_keyed = r.mac.is_some();
                }
                last_keyed = r.mac.is_some();
                seq = n;
                hash = r.hash;
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(AuditError::Io { path: path.to_path_buf(), source }),
    }
    let Some(head) = head else {
        if seq > 0 {
            return Err(tampered(
                seq,
                "audit.head is missing beside a non-empty log: its tail may have been cut".into(),
            ));
        }
        return Ok(Checked { seq, hash, last_keyed });
    };
    if head.seq > seq {
        return Err(tampered(seq + 1, format!("the log ends at record {seq} but {} were written", head.seq)));
    }
    // The head lags the log by one record after a crash between the two writes; more than that
    // means it was replaced by an older one.
    if head.seq + 1 < seq {
        return Err(tampered(
            head.seq + 1,
            format!("audit.head names record {} but the log has {seq}: it was replaced", head.seq),
        ));
    }
    if let (Some(k), true) = (key, head_record_keyed) {
        if head.mac.as_deref() != Some(head_mac(k, head.seq, &head.hash).as_str()) {
            return Err(tampered(head.seq, "audit.head's MAC does not verify with the audit key".into()));
        }
    }
    Ok(Checked { seq, hash, last_keyed })
}

#[cfg(test)]
#[path = "audit_tests.rs"]
mod tests;
