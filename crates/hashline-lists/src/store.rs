//! A folder of lists with versions: every import makes a new version; the previous version
//! stays active until the new one is complete (and, with trusted keys, verified).
//!
//! Layout: `ROOT/lists/NAME/vN.hll` (the hashline list format: a manifest line, then one entry
//! per line), `ROOT/lists/NAME/CURRENT` (the active version number), and for signed imports the
//! original input and its signature as `vN.src` and `vN.src.sig`. Trusted publisher keys are
//! `ROOT/trusted-keys/*.pub` (Ed25519, 64 hex digits).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::formats::{parse, Format, ManifestLine, ParseOptions, RecordError};
use crate::model::{validate_name, Classification, Entry, ListKind, Manifest, SignalType, Thresholds};

/// What went wrong with the store. Each message says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The list name is not allowed.
    #[error("{0}")]
    BadName(String),
    /// No list by that name.
    #[error("no list named {0:?} in the store (see `hashline lists stats`)")]
    NoSuchList(String),
    /// Strict import found bad records.
    #[error("{} bad record(s), nothing imported (first: {})", .0.len(), .0[0])]
    Strict(Vec<RecordError>),
    /// The stored data does not match its manifest.
    #[error("{path}: {message} — the store is damaged; re-import the list")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Not one record of the input was accepted: nothing was imported.
    #[error("no record of the input was accepted ({} rejected{}), so no new version was made and the previous one stays active; fix the input or the --format/--type, or give --allow-empty to make an empty version on purpose", .rejected, .first.as_deref().map(|f| format!("; first: {f}")).unwrap_or_default())]
    NothingAccepted {
        /// Records rejected.
        rejected: usize,
        /// The first rejection.
        first: Option<String>,
    },
    /// A replacing import would drop more of the active entries than allowed.
    #[error("--replace would leave {after} of {before} active entries ({dropped_percent}% dropped, more than the {max_percent}% allowed); the previous version stays active; check the input, or give --force to replace anyway")]
    TooManyDropped {
        /// Active entries before.
        before: usize,
        /// Active entries after.
        after: usize,
        /// Share dropped, percent (rounded down).
        dropped_percent: usize,
        /// The allowed share, percent.
        max_percent: u8,
    },
    /// Trusted keys are configured and the import is unsigned or badly signed.
    #[error("signature check failed for {file}: {message}; the previous version stays active")]
    Signature {
        /// The input file.
        file: String,
        /// Why.
        message: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io { path: path.to_path_buf(), source }
}

/// A list as stored: manifest and all entries (tombstones included).
#[derive(Debug, Clone)]
pub struct StoredList {
    /// The manifest of the active version.
    pub manifest: Manifest,
    /// Every entry, tombstoned ones included.
    pub entries: Vec<Entry>,
}

/// What to import.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    /// List name.
    pub name: String,
    /// Input format.
    pub format: Format,
    /// Type of bare values.
    pub signal: Option<SignalType>,
    /// Fail on the first bad record instead of skipping bad records.
    pub strict: bool,
    /// Publisher (kept from the previous version, or `local`).
    pub source: Option<String>,
    /// Known material or allow-list (kept from the previous version, or known).
    pub kind: Option<ListKind>,
    /// Default classification.
    pub classification: Option<Classification>,
    /// Thresholds (kept from the previous version, or the defaults).
    pub thresholds: Option<Thresholds>,
    /// Start from empty instead of adding to the previous version.
    pub replace: bool,
    /// The input files: name shown in errors, and contents.
    pub files: Vec<(String, Vec<u8>)>,
    /// A detached Ed25519 signature over each file's bytes (same order), when signed.
    pub signatures: Vec<Vec<u8>>,
    /// Make a new version even when no record of the input was accepted (an empty list on
    /// purpose). Without it such an import fails and the previous version stays active.
    pub allow_empty: bool,
    /// With `replace`: the largest share of the previous version's active entries, in percent,
    /// that the new version may drop; more fails the import. `None`: no limit (`--force`).
    pub max_drop_percent: Option<u8>,
}

impl ImportRequest {
    /// A request to add `files` (name shown in errors, contents) in `format` to list `name`,
    /// with every other setting at its default: unsigned, lenient, keeping the previous
    /// version's source, kind, classification and thresholds, refusing an import that accepts
    /// nothing.
    pub fn new(name: impl Into<String>, format: Format, files: Vec<(String, Vec<u8>)>) -> ImportRequest {
        ImportRequest {
            name: name.into(),
            format,
            signal: None,
            strict: false,
            source: None,
            kind: None,
            classification: None,
            thresholds: None,
            replace: false,
            files,
            signatures: Vec::new(),
            allow_empty: false,
            max_drop_percent: Some(DEFAULT_MAX_DROP_PERCENT),
        }
    }
}

/// The share of active entries a replacing import may drop by default, in percent.
pub const DEFAULT_MAX_DROP_PERCENT: u8 = 50;

/// What an import did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportReport {
    /// The list.
    pub name: String,
    /// The new version.
    pub version: u64,
    /// Entries read from the input.
    pub read: usize,
    /// Entries added that the previous version did not have.
    pub added: usize,
    /// Entries removed by tombstones.
    pub removed: usize,
    /// Active entries in the new version.
    pub active: usize,
    /// Bad records skipped.
    pub skipped: usize,
    /// The first bad records, for the user to fix.
    pub errors: Vec<String>,
}

/// A store of lists in a folder.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// Current time, RFC 3339, UTC, seconds.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// Writes `bytes` to `path` atomically (temporary file, fsync, rename).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// The hashline list file for a manifest and entries; returns the bytes with the manifest's
/// `entries` and `entries_sha256` filled in.
pub fn render(manifest: &mut Manifest, entries: &[Entry]) -> Vec<u8> {
    let mut body = Vec::new();
    for e in entries {
        // Entries are plain data; serialising them cannot fail.
        body.extend(serde_json::to_vec(e).unwrap_or_default());
        body.push(b'\n');
    }
    manifest.entries = entries.len() as u64;
    manifest.entries_sha256 = hex::encode(Sha256::digest(&body));
    let mut out = serde_json::to_vec(&ManifestLine { manifest: manifest.clone() }).unwrap_or_default();
    out.push(b'\n');
    out.extend(body);
    out
}

/// A key's short id: the first 16 hex digits of the SHA-256 of its bytes.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

impl Store {
    /// Opens (and creates) a store at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Store, StoreError> {
        let root = root.into();
        let lists = root.join("lists");
        std::fs::create_dir_all(&lists).map_err(io(&lists))?;
        Ok(Store { root })
    }

    /// The store's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn dir(&self, name: &str) -> PathBuf {
        self.root.join("lists").join(name)
    }

    /// Names of the lists, sorted.
    pub fn names(&self) -> Result<Vec<String>, StoreError> {
        let dir = self.root.join("lists");
        let mut names = Vec::new();
        for e in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let e = e.map_err(io(&dir))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if validate_name(&name).is_ok() && e.path().join("CURRENT").is_file() {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    /// The active version of a list, if it has one.
    pub fn current_version(&self, name: &str) -> Result<Option<u64>, StoreError> {
        let path = self.dir(name).join("CURRENT");
        match std::fs::read_to_string(&path) {
            Ok(s) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| StoreError::Damaged { path, message: "CURRENT is not a version number".into() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::Io { path, source: e }),
        }
    }

    /// The manifest of a list's active version (its first line only), if the list exists.
    /// [`Store::load`] reads and checks the entries too.
    pub fn manifest(&self, name: &str) -> Result<Option<Manifest>, StoreError> {
        use std::io::BufRead;
        let Some(version) = self.current_version(name)? else { return Ok(None) };
        let path = self.dir(name).join(format!("v{version}.hll"));
        let mut first = String::new();
        std::io::BufReader::new(std::fs::File::open(&path).map_err(io(&path))?)
            .read_line(&mut first)
            .map_err(io(&path))?;
        serde_json::from_str::<ManifestLine>(&first).map(|m| Some(m.manifest)).map_err(|e| {
            StoreError::Damaged { path, message: format!("the manifest line is not valid: {e}") }
        })
    }

    /// Loads the active version of a list, checking it against its manifest.
    pub fn load(&self, name: &str) -> Result<StoredList, StoreError> {
        let version = self.current_version(name)?.ok_or_else(|| StoreError::NoSuchList(name.to_string()))?;
        let path = self.dir(name).join(format!("v{version}.hll"));
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| StoreError::Damaged { path: path.clone(), message: "not UTF-8".into() })?;
        let body_start = text.find('\n').map_or(text.len(), |i| i + 1);
        let parsed = parse(Format::Hashline, &path.display().to_string(), &text, &ParseOptions::default());
        let damaged = |message: String| StoreError::Damaged { path: path.clone(), message };
        if let Some(e) = parsed.errors.first() {
            return Err(damaged(e.to_string()));
        }
        let manifest = parsed.manifest.ok_or_else(|| damaged("no manifest".into()))?;
        let digest = hex::encode(Sha256::digest(&text.as_bytes()[body_start..]));
        if digest != manifest.entries_sha256 {
            return Err(damaged("the entries do not match the manifest's SHA-256".into()));
        }
        if manifest.entries != parsed.entries.len() as u64 {
            return Err(damaged("the entry count does not match the manifest".into()));
        }
        Ok(StoredList { manifest, entries: parsed.entries })
    }

    /// Public keys whose signatures the store requires (none: signatures are not required).
    pub fn trusted_keys(&self) -> Result<Vec<VerifyingKey>, StoreError> {
        let dir = self.root.join("trusted-keys");
        let Ok(read) = std::fs::read_dir(&dir) else { return Ok(Vec::new()) };
        let mut keys = Vec::new();
        for e in read {
            let path = e.map_err(io(&dir))?.path();
            if path.extension().is_some_and(|x| x == "pub") {
                let text = std::fs::read_to_string(&path).map_err(io(&path))?;
                let key = parse_public_key(&text)
                    .map_err(|message| StoreError::Damaged { path: path.clone(), message })?;
                keys.push(key);
            }
        }
        Ok(keys)
    }

    /// Imports files into a new version of a list and makes it active.
    pub fn import(&self, req: ImportRequest) -> Result<ImportReport, StoreError> {
        validate_name(&req.name).map_err(StoreError::BadName)?;
        let keys = self.trusted_keys()?;
        let mut signed_by = None;
        if !keys.is_empty() {
            for (i, (file, bytes)) in req.files.iter().enumerate() {
                let sig = req.signatures.get(i).ok_or_else(|| StoreError::Signature {
                    file: file.clone(),
                    message: "the store has trusted keys and this input is unsigned (give --signature)"
                        .into(),
                })?;
                signed_by = Some(
                    verify_any(&keys, bytes, sig)
                        .map_err(|message| StoreError::Signature { file: file.clone(), message })?,
                );
            }
        }

        let previous = match self.current_version(&req.name)? {
            Some(_) => Some(self.load(&req.name)?),
            None => None,
        };
        let mut read = 0usize;
        let mut errors: Vec<RecordError> = Vec::new();
        let mut incoming: Vec<Entry> = Vec::new();
        let mut tombstones: Vec<String> = Vec::new();
        let mut carried_manifest = None;
        for (file, bytes) in &req.files {
            let text = String::from_utf8_lossy(bytes);
            let parsed = parse(req.format, file, &text, &ParseOptions { signal: req.signal.clone() });
            read += parsed.entries.len();
            incoming.extend(parsed.entries);
            tombstones.extend(parsed.tombstones);
            errors.extend(parsed.errors);
            carried_manifest = carried_manifest.or(parsed.manifest);
        }
        if req.strict && !errors.is_empty() {
            return Err(StoreError::Strict(errors));
        }
        if read == 0 && tombstones.is_empty() && !req.allow_empty {
            return Err(StoreError::NothingAccepted {
                rejected: errors.len(),
                first: errors.first().map(ToString::to_string),
            });
        }

        // Merge: start from the previous version's entries (unless replacing), upsert by
        // (signal, id), then apply tombstones.
        let mut merged: BTreeMap<(String, String), Entry> = BTreeMap::new();
        if !req.replace {
            for e in previous.iter().flat_map(|p| p.entries.iter()) {
                merged.insert((e.signal.to_string(), e.id.clone()), e.clone());
            }
        }
        let before: HashSet<(String, String)> =
            merged.iter().filter(|(_, e)| e.is_active()).map(|(k, _)| k.clone()).collect();
        let now = now_rfc3339();
        for mut e in incoming {
            if e.added_at.is_none() {
                e.added_at = Some(now.clone());
            }
            merged.insert((e.signal.to_string(), e.id.clone()), e);
        }
        let dead: HashSet<&str> = tombstones.iter().map(String::as_str).collect();
        let mut removed = 0;
        for e in merged.values_mut() {
            if e.is_active() && dead.contains(e.id.as_str()) {
                e.removed_at = Some(now.clone());
                removed += 1;
            }
        }
        let entries: Vec<Entry> = merged.into_values().collect();
        let active = entries.iter().filter(|e| e.is_active()).count();
        if req.replace {
            let before = previous.as_ref().map_or(0, |p| p.entries.iter().filter(|e| e.is_active()).count());
            if let Some(max) = req.max_drop_percent {
                let dropped = before.saturating_sub(active);
                // dropped / before > max / 100, in integers.
                if before > 0 && dropped * 100 > before * usize::from(max) {
                    return Err(StoreError::TooManyDropped {
                        before,
                        after: active,
                        dropped_percent: dropped * 100 / before,
                        max_percent: max,
                    });
                }
            }
        }
        let added = entries
            .iter()
            .filter(|e| e.is_active() && !before.contains(&(e.signal.to_string(), e.id.clone())))
            .count();

        let prev_manifest = previous.as_ref().map(|p| &p.manifest).or(carried_manifest.as_ref());
        let version = previous.as_ref().map_or(1, |p| p.manifest.version + 1);
        let mut manifest = Manifest {
            name: req.name.clone(),
            source: req
                .source
                .clone()
                .or_else(|| prev_manifest.map(|m| m.source.clone()))
                .unwrap_or_else(|| "local".into()),
            version,
            fetched_at: now.clone(),
            kind: req.kind.or_else(|| prev_manifest.map(|m| m.kind)).unwrap_or_default(),
            default_classification: req
                .classification
                .clone()
                .or_else(|| prev_manifest.and_then(|m| m.default_classification.clone())),
            thresholds: req.thresholds.or_else(|| prev_manifest.map(|m| m.thresholds)).unwrap_or_default(),
            signed_by,
            entries: 0,
            entries_sha256: String::new(),
        };
        let bytes = render(&mut manifest, &entries);
        let dir = self.dir(&req.name);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        if manifest.signed_by.is_some() {
            if let (Some((_, src)), Some(sig)) = (req.files.first(), req.signatures.first()) {
                write_atomic(&dir.join(format!("v{version}.src")), src)?;
                write_atomic(&dir.join(format!("v{version}.src.sig")), hex::encode(sig).as_bytes())?;
            }
        }
        write_atomic(&dir.join(format!("v{version}.hll")), &bytes)?;
        // The switch: one atomic rename makes the new version active.
        write_atomic(&dir.join("CURRENT"), format!("{version}\n").as_bytes())?;
        Ok(ImportReport {
            name: req.name,
            version,
            read,
            added,
            removed,
            active,
            skipped: errors.len(),
            errors: errors.iter().take(20).map(ToString::to_string).collect(),
        })
    }

    /// The active version as a hashline list file (what `import --format hashline` reads).
    pub fn export(&self, name: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.dir(name).join(format!(
            "v{}.hll",
            self.current_version(name)?.ok_or_else(|| StoreError::NoSuchList(name.into()))?
        ));
        self.load(name)?;
        std::fs::read(&path).map_err(io(&path))
    }
}

/// Parses an Ed25519 public key written as 64 hex digits.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, String> {
    let bytes = hex::decode(text.trim()).map_err(|_| "a public key is 64 hex digits".to_string())?;
    let arr: [u8; 32] =
        bytes.try_into().map_err(|_| "a public key is 32 bytes (64 hex digits)".to_string())?;
    VerifyingKey::from_bytes(&arr).map_err(|e| format!("not a valid Ed25519 public key: {e}"))
}

/// Decodes a signature given as hex (128 digits) or raw 64 bytes.
pub fn parse_signature(bytes: &[u8]) -> Result<Signature, String> {
    let raw = match std::str::from_utf8(bytes).ok().and_then(|s| hex::decode(s.trim()).ok()) {
        Some(v) => v,
        None => bytes.to_vec(),
    };
    let arr: [u8; 64] = raw.try_into().map_err(|_| "a signature is 64 bytes (128 hex digits)".to_string())?;
    Ok(Signature::from_bytes(&arr))
}

fn verify_any(keys: &[VerifyingKey], message: &[u8], sig: &[u8]) -> Result<String, String> {
    let sig = parse_signature(sig)?;
    keys.iter()
        .find(|k| k.verify(message, &sig).is_ok())
        .map(key_id)
        .ok_or_else(|| "the signature does not verify with any trusted key".to_string())
}
