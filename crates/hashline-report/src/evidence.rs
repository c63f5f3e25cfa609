//! Evidence: the bytes of matched media, preserved encrypted at rest (AES-256-GCM) for the
//! retention period (default 365 days, as the US REPORT Act requires), with legal holds and a
//! deletion job. Every read is written to the audit log first. Non-matching media never comes
//! here.
//!
//! Keys: a key file (or `HASHLINE_EVIDENCE_KEY`) holds one or more 256-bit keys as 64 hex
//! digits, one per line; the first encrypts, all decrypt. Each blob records the id of its key
//! (a hash of the key), so keys rotate by putting a new key first and keeping the old ones
//! until the last blob they encrypt has expired.
//!
//! Blob layout: `HLEV1\0` ‖ key id (16 ASCII hex) ‖ 96-bit nonce ‖ ciphertext+tag; the
//! evidence id and plaintext SHA-256 are bound in as associated data, so a blob cannot be
//! swapped for another one.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::audit::{Actor, AuditError, AuditLog};
use crate::model::{random_id, EvidenceRef};
use crate::outbox::unix_now;

const MAGIC: &[u8; 6] = b"HLEV1\0";

/// `[evidence]` in `hashline.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvidenceConfig {
    /// Preserve matched media (default true when a key is configured).
    pub enabled: bool,
    /// File with the keys (64 hex digits per line, first one current). Without it, the keys
    /// come from `HASHLINE_EVIDENCE_KEY` (comma-separated).
    pub key_file: Option<PathBuf>,
    /// Days to keep evidence and delivered reports (default 365).
    pub retention_days: u32,
}

impl Default for EvidenceConfig {
    fn default() -> Self {
        EvidenceConfig { enabled: true, key_file: None, retention_days: 365 }
    }
}

/// Errors of the evidence store.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// No key configured.
    #[error(
        "no evidence key: set [evidence] key_file or HASHLINE_EVIDENCE_KEY (generate one with `hashline evidence keygen`)"
    )]
    NoKey,
    /// The OS gave no randomness for a key.
    #[error("no randomness from the OS for a new key: {0}")]
    Random(String),
    /// A key is malformed.
    #[error("evidence key {0}: expected 64 hex digits (a 256-bit key) per line")]
    BadKey(String),
    /// A blob was encrypted with a key that is no longer configured.
    #[error(
        "evidence {id} is encrypted with key {key_id}, which is not configured; add it back to the key file"
    )]
    UnknownKey {
        /// Evidence id.
        id: String,
        /// The key it needs.
        key_id: String,
    },
    /// A blob fails authentication or its hash differs.
    #[error("evidence {0} failed its integrity check (tampered or corrupt); it has not been returned")]
    Integrity(String),
    /// Unknown id.
    #[error("no evidence {0}")]
    NotFound(String),
    /// Storage failed.
    #[error("evidence store {path}: {reason}")]
    Io {
        /// Where.
        path: PathBuf,
        /// What.
        reason: String,
    },
    /// The audit log failed: the read is refused.
    #[error(transparent)]
    Audit(#[from] AuditError),
}

/// The configured keys.
#[derive(Clone)]
pub struct Keyring {
    keys: Vec<(String, [u8; 32])>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.keys.iter().map(|(id, _)| id)).finish()
    }
}

/// The id of a key: the first 16 hex digits of SHA-256("hashline evidence key" ‖ key).
pub fn key_id(key: &[u8; 32]) -> String {
    let mut h = Sha256::new();
    h.update(b"hashline evidence key");
    h.update(key);
    hex::encode(&h.finalize()[..8])
}

impl Keyring {
    /// Parses keys: 64 hex digits each, separated by newlines or commas; `#` starts a comment.
    pub fn parse(text: &str) -> Result<Keyring, EvidenceError> {
        let mut keys = Vec::new();
        for (i, tok) in text
            .lines()
            .map(|l| l.split('#').next().unwrap_or_default())
            .flat_map(|l| l.split(','))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .enumerate()
        {
            let mut k = [0u8; 32];
            hex::decode_to_slice(tok, &mut k)
                .map_err(|_| EvidenceError::BadKey(format!("number {}", i + 1)))?;
            keys.push((key_id(&k), k));
        }
        if keys.is_empty() {
            return Err(EvidenceError::NoKey);
        }
        Ok(Keyring { keys })
    }

    /// From the configuration: the key file, else `HASHLINE_EVIDENCE_KEY`.
    pub fn from_config(c: &EvidenceConfig) -> Result<Keyring, EvidenceError> {
        match &c.key_file {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| EvidenceError::Io { path: p.clone(), reason: e.to_string() })?;
                Keyring::parse(&text)
            }
            None => {
                Keyring::parse(&std::env::var("HASHLINE_EVIDENCE_KEY").map_err(|_| EvidenceError::NoKey)?)
            }
        }
    }

    /// A new random key as hex; an error (never a predictable key) when the OS has no
    /// randomness to give.
    pub fn generate() -> Result<String, EvidenceError> {
        let mut k = [0u8; 32];
        getrandom::fill(&mut k).map_err(|e| EvidenceError::Random(e.to_string()))?;
        Ok(hex::encode(k))
    }

    /// The id of the key that encrypts.
    pub fn current_id(&self) -> &str {
        &self.keys[0].0
    }

    fn get(&self, id: &str) -> Option<&[u8; 32]> {
        self.keys.iter().find(|(k, _)| k == id).map(|(_, k)| k)
    }
}

/// One stored piece of evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// Id.
    pub id: String,
    /// SHA-256 of the plaintext.
    pub sha256: String,
    /// Key id.
    pub key_id: String,
    /// Size of the plaintext.
    pub size: u64,
    /// Unix time stored.
    pub created_at: i64,
    /// Unix time it may be deleted (unless held).
    pub retain_until: i64,
    /// Under legal hold: never deleted until released.
    pub legal_hold: bool,
}

/// The evidence store under `dir` (`dir/index.db` and `dir/blobs/`).
pub struct EvidenceStore {
    dir: PathBuf,
    conn: Mutex<Connection>,
    keys: Keyring,
    retention_days: u32,
    audit: Arc<AuditLog>,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> EvidenceError + '_ {
    move |e| EvidenceError::Io { path: path.to_path_buf(), reason: e.to_string() }
}

impl EvidenceStore {
    /// Opens or creates the store.
    pub fn open(
        dir: &Path,
        keys: Keyring,
        retention_days: u32,
        audit: Arc<AuditLog>,
    ) -> Result<EvidenceStore, EvidenceError> {
        std::fs::create_dir_all(dir.join("blobs")).map_err(io(dir))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for d in [dir.to_path_buf(), dir.join("blobs")] {
                std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).map_err(io(&d))?;
            }
        }
        let db_path = dir.join("index.db");
        let dberr = |e: rusqlite::Error| EvidenceError::Io { path: db_path.clone(), reason: e.to_string() };
        let conn = crate::sqlite::open_private(
            &db_path,
            "CREATE TABLE IF NOT EXISTS evidence (
                id TEXT PRIMARY KEY, sha256 TEXT NOT NULL UNIQUE, key_id TEXT NOT NULL,
                size INTEGER NOT NULL, created_at INTEGER NOT NULL, retain_until INTEGER NOT NULL,
                legal_hold INTEGER NOT NULL DEFAULT 0)",
        )
        .map_err(dberr)?;
        Ok(EvidenceStore { dir: dir.to_path_buf(), conn: Mutex::new(conn), keys, retention_days, audit })
    }

    /// The store of a data folder (`data_dir/evidence`) as `config` sets it up: `None` when
    /// evidence is off or no key is configured (matched media is then not preserved).
    pub fn from_config(
        data_dir: &Path,
        config: &EvidenceConfig,
        audit: Arc<AuditLog>,
    ) -> Result<Option<EvidenceStore>, EvidenceError> {
        if !config.enabled {
            return Ok(None);
        }
        match Keyring::from_config(config) {
            Ok(keys) => {
                Ok(Some(EvidenceStore::open(&data_dir.join("evidence"), keys, config.retention_days, audit)?))
            }
            Err(EvidenceError::NoKey) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn dberr(&self) -> impl Fn(rusqlite::Error) -> EvidenceError + '_ {
        move |e| EvidenceError::Io { path: self.dir.join("index.db"), reason: e.to_string() }
    }

    fn blob(&self, id: &str) -> PathBuf {
        self.dir.join("blobs").join(format!("{id}.hlev"))
    }

    fn item(r: &rusqlite::Row<'_>) -> rusqlite::Result<Item> {
        Ok(Item {
            id: r.get(0)?,
            sha256: r.get(1)?,
            key_id: r.get(2)?,
            size: r.get::<_, i64>(3)? as u64,
            created_at: r.get(4)?,
            retain_until: r.get(5)?,
            legal_hold: r.get::<_, i64>(6)? != 0,
        })
    }

    /// Preserves `bytes`; the same content stored twice is kept once, its retention extended.
    pub fn put(&self, bytes: &[u8]) -> Result<EvidenceRef, EvidenceError> {
        let sha = hex::encode(Sha256::digest(bytes));
        let retain_until = unix_now() + i64::from(self.retention_days) * 86_400;
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let existing: Option<Item> = conn
            .query_row("SELECT * FROM evidence WHERE sha256=?1", params![sha], Self::item)
            .optional()
            .map_err(self.dberr())?;
        if let Some(it) = existing {
            let until = it.retain_until.max(retain_until);
            conn.execute("UPDATE evidence SET retain_until=?2 WHERE id=?1", params![it.id, until])
                .map_err(self.dberr())?;
            return Ok(EvidenceRef {
                id: it.id,
                sha256: sha,
                key_id: it.key_id,
                retain_until: rfc3339(until),
            });
        }
        let id = random_id();
        let (kid, key) = &self.keys.keys[0];
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce)
            .map_err(|e| EvidenceError::Io { path: self.dir.clone(), reason: e.to_string() })?;
        let aad = format!("{id}\0{sha}");
        let ct = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key))
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: bytes, aad: aad.as_bytes() })
            .map_err(|_| EvidenceError::Integrity(id.clone()))?;
        let mut blob = Vec::with_capacity(MAGIC.len() + 16 + 12 + ct.len());
        blob.extend_from_slice(MAGIC);
        blob.extend_from_slice(kid.as_bytes());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&ct);
        let path = self.blob(&id);
        write_private(&path, &blob)?;
        conn.execute(
            "INSERT INTO evidence (id, sha256, key_id, size, created_at, retain_until) VALUES (?1,?2,?3,?4,?5,?6)",
            params![id, sha, kid, bytes.len() as i64, unix_now(), retain_until],
        )
        .map_err(self.dberr())?;
        Ok(EvidenceRef { id, sha256: sha, key_id: kid.clone(), retain_until: rfc3339(retain_until) })
    }

    /// Facts about one item (no bytes; not audited).
    pub fn info(&self, id: &str) -> Result<Item, EvidenceError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        conn.query_row("SELECT * FROM evidence WHERE id=?1", params![id], Self::item)
            .optional()
            .map_err(self.dberr())?
            .ok_or_else(|| EvidenceError::NotFound(id.into()))
    }

    /// Every item, oldest first.
    pub fn list(&self) -> Result<Vec<Item>, EvidenceError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut stmt =
            conn.prepare("SELECT * FROM evidence ORDER BY created_at, id").map_err(self.dberr())?;
        let rows = stmt.query_map([], Self::item).map_err(self.dberr())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.dberr())
    }

    /// Decrypts one item. The read is audited (actor, purpose) before any byte is returned;
    /// if the audit log cannot be written, nothing is returned.
    pub fn read(&self, id: &str, actor: &Actor, purpose: &str) -> Result<Vec<u8>, EvidenceError> {
        let it = self.info(id)?;
        let mut detail = serde_json::Map::new();
        detail.insert("purpose".into(), purpose.into());
        self.audit.append(actor, "evidence.read", id, detail)?;
        hashline_metrics::global().evidence_reads_total.with_label_values(&[purpose_label(purpose)]).inc();
        let path = self.blob(id);
        let blob = std::fs::read(&path).map_err(io(&path))?;
        let head = MAGIC.len() + 16 + 12;
        if blob.len() < head || &blob[..MAGIC.len()] != MAGIC {
            return Err(EvidenceError::Integrity(id.into()));
        }
        let kid = std::str::from_utf8(&blob[MAGIC.len()..MAGIC.len() + 16])
            .map_err(|_| EvidenceError::Integrity(id.into()))?;
        let key = self
            .keys
            .get(kid)
            .ok_or_else(|| EvidenceError::UnknownKey { id: id.into(), key_id: kid.into() })?;
        let aad = format!("{id}\0{}", it.sha256);
        let pt = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key))
            .decrypt(
                Nonce::from_slice(&blob[MAGIC.len() + 16..head]),
                Payload { msg: &blob[head..], aad: aad.as_bytes() },
            )
            .map_err(|_| EvidenceError::Integrity(id.into()))?;
        if hex::encode(Sha256::digest(&pt)) != it.sha256 {
            return Err(EvidenceError::Integrity(id.into()));
        }
        Ok(pt)
    }

    /// Places or releases a legal hold (audited).
    pub fn set_hold(&self, id: &str, hold: bool, actor: &Actor) -> Result<(), EvidenceError> {
        self.info(id)?;
        self.audit.append(
            actor,
            if hold { "evidence.hold" } else { "evidence.release" },
            id,
            Default::default(),
        )?;
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        conn.execute("UPDATE evidence SET legal_hold=?2 WHERE id=?1", params![id, i64::from(hold)])
            .map_err(self.dberr())?;
        Ok(())
    }

    /// Deletes every item past its retention and not under hold; returns the ids deleted.
    /// Each deletion is audited.
    pub fn purge(&self, now: i64, actor: &Actor) -> Result<Vec<String>, EvidenceError> {
        let due: Vec<String> = {
            let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
            let mut stmt = conn
                .prepare("SELECT id FROM evidence WHERE retain_until < ?1 AND legal_hold = 0 ORDER BY id")
                .map_err(self.dberr())?;
            let rows = stmt.query_map(params![now], |r| r.get(0)).map_err(self.dberr())?;
            rows.collect::<Result<Vec<_>, _>>().map_err(self.dberr())?
        };
        for id in &due {
            self.audit.append(actor, "evidence.delete", id, Default::default())?;
            let path = self.blob(id);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&path)(e)),
            }
            let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
            conn.execute("DELETE FROM evidence WHERE id=?1", params![id]).map_err(self.dberr())?;
        }
        Ok(due)
    }
}

/// Bounded label values for the reads metric.
fn purpose_label(p: &str) -> &'static str {
    match p {
        "triage" => "triage",
        "export" => "export",
        "law_enforcement" => "law_enforcement",
        _ => "other",
    }
}

fn rfc3339(unix: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), EvidenceError> {
    hashline_lists::fsio::write_private(path, bytes).map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(keys: &str) -> (PathBuf, EvidenceStore) {
        let d = std::env::temp_dir().join(format!("hashline-ev-{}", random_id()));
        let audit = Arc::new(AuditLog::open(&d).unwrap());
        let s = EvidenceStore::open(&d.join("evidence"), Keyring::parse(keys).unwrap(), 365, audit).unwrap();
        (d, s)
    }

    const K1: &str = "0101010101010101010101010101010101010101010101010101010101010101";
    const K2: &str = "0202020202020202020202020202020202020202020202020202020202020202";

    #[test]
    fn round_trip_rotation_tamper_and_audit() {
        let (d, s) = setup(K1);
        let r = s.put(b"benign test bytes").unwrap();
        assert_eq!(s.put(b"benign test bytes").unwrap().id, r.id, "same content stored once");
        let blob = std::fs::read(s.blob(&r.id)).unwrap();
        assert!(!blob.windows(6).any(|w| w == b"benign"), "stored encrypted");
        assert_eq!(s.read(&r.id, &Actor::User("a".into()), "triage").unwrap(), b"benign test bytes");
        // Rotation: a new current key, the old one kept for reading.
        let s2 = EvidenceStore::open(
            &d.join("evidence"),
            Keyring::parse(&format!("{K2}\n{K1}")).unwrap(),
            365,
            Arc::new(AuditLog::open(&d).unwrap()),
        )
        .unwrap();
        assert_eq!(s2.read(&r.id, &Actor::User("a".into()), "triage").unwrap(), b"benign test bytes");
        let r2 = s2.put(b"other").unwrap();
        assert_eq!(r2.key_id, key_id(&[2; 32]));
        // Without the old key: a clear error.
        let s3 = EvidenceStore::open(
            &d.join("evidence"),
            Keyring::parse(K2).unwrap(),
            365,
            Arc::new(AuditLog::open(&d).unwrap()),
        )
        .unwrap();
        assert!(matches!(
            s3.read(&r.id, &Actor::User("u".into()), "triage"),
            Err(EvidenceError::UnknownKey { .. })
        ));
        // Tampering.
        let mut b = std::fs::read(s3.blob(&r2.id)).unwrap();
        let last = b.len() - 1;
        b[last] ^= 1;
        std::fs::write(s3.blob(&r2.id), b).unwrap();
        assert!(matches!(
            s3.read(&r2.id, &Actor::User("u".into()), "triage"),
            Err(EvidenceError::Integrity(_))
        ));
        // Every read attempt is in the audit log.
        let log = std::fs::read_to_string(d.join("audit.log")).unwrap();
        assert_eq!(log.matches("evidence.read").count(), 4);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn purge_respects_retention_and_holds() {
        let (d, s) = setup(K1);
        let a = s.put(b"a").unwrap();
        let b = s.put(b"b").unwrap();
        s.set_hold(&b.id, true, &Actor::User("sup".into())).unwrap();
        assert!(s.purge(unix_now(), &Actor::System).unwrap().is_empty(), "nothing expired yet");
        let later = unix_now() + 366 * 86_400;
        assert_eq!(s.purge(later, &Actor::System).unwrap(), vec![a.id.clone()]);
        assert!(!s.blob(&a.id).exists());
        assert!(matches!(s.info(&a.id), Err(EvidenceError::NotFound(_))));
        s.set_hold(&b.id, false, &Actor::User("sup".into())).unwrap();
        assert_eq!(s.purge(later, &Actor::System).unwrap(), vec![b.id]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn bad_keys_are_named() {
        assert!(matches!(Keyring::parse("xyz"), Err(EvidenceError::BadKey(_))));
        assert!(matches!(Keyring::parse("# only a comment\n"), Err(EvidenceError::NoKey)));
    }
}
