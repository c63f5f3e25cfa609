//! A folder of lists with versions: every import makes a new version; the previous version
//! stays active until the new one is complete (and, with trusted keys, verified).
//!
//! Layout: `ROOT/lists/NAME/vN.hll` (the hashline list format: a manifest line, then one entry
//! per line), `ROOT/lists/NAME/CURRENT` (the active version number), and for signed imports the
//! original input and its signature as `vN.src` and `vN.src.sig`. Trusted publisher keys are
//! `ROOT/trusted-keys/*.pub` (Ed25519, 64 hex digits).

use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};

use crate::formats::{parse, Format, ManifestLine, ParseOptions, RecordError};
use crate::merge::merge;
use crate::model::{validate_name, Classification, Entry, ListKind, Manifest, SignalType, Thresholds};
use crate::part::Part;
use crate::signing::{self, Statement};
use crate::snapshot::{self, Source};

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

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
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
    /// Why the index snapshot could not be written, when it could not (the lists still load:
    /// from the version file, more slowly).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_error: Option<String>,
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

/// Unix seconds as RFC 3339, UTC, seconds (the form [`now_rfc3339`] writes; the inverse of
/// [`unix_seconds`]; before 1970 reads as 1970).
pub fn rfc3339_of_unix(secs: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Unix seconds of an RFC 3339 time such as [`now_rfc3339`] writes (`None` for anything else
/// or before 1970).
pub fn unix_seconds(rfc3339: &str) -> Option<i64> {
    let t = humantime::parse_rfc3339(rfc3339).ok()?;
    t.duration_since(std::time::UNIX_EPOCH).ok().map(|d| d.as_secs() as i64)
}

/// Writes `bytes` to `path` atomically and owner-only.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    crate::fsio::write_private(path, bytes).map_err(io(path))
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

    pub(crate) fn dir(&self, name: &str) -> PathBuf {
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
        match self.current_version(name)? {
            Some(version) => self.manifest_at(name, version).map(Some),
            None => Ok(None),
        }
    }

    /// Loads the active version of a list, checking it against its manifest.
    pub fn load(&self, name: &str) -> Result<StoredList, StoreError> {
        let version = self.current_version(name)?.ok_or_else(|| StoreError::NoSuchList(name.to_string()))?;
        self.load_version(name, version)
    }

    /// Loads version `version` of a list (active or not), checking it against its manifest
    /// (and, with trusted keys, against its signed inputs).
    pub fn load_version(&self, name: &str, version: u64) -> Result<StoredList, StoreError> {
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
        let keys = self.trusted_keys()?;
        if !keys.is_empty() {
            self.check_signed_chain(name, &manifest, &parsed.entries, &keys)?;
        }
        Ok(StoredList { manifest, entries: parsed.entries })
    }

    /// The manifest of version `version` of a list (its first line).
    pub(crate) fn manifest_at(&self, name: &str, version: u64) -> Result<Manifest, StoreError> {
        use std::io::BufRead;
        let path = self.dir(name).join(format!("v{version}.hll"));
        let mut first = String::new();
        std::io::BufReader::new(std::fs::File::open(&path).map_err(io(&path))?)
            .read_line(&mut first)
            .map_err(io(&path))?;
        serde_json::from_str::<ManifestLine>(&first).map(|m| m.manifest).map_err(|e| StoreError::Damaged {
            path,
            message: format!("the manifest line is not valid: {e}"),
        })
    }

    /// Public keys whose signatures the store requires (none: signatures are not required).
    /// Only a missing `trusted-keys` folder means "no keys": a folder that is a file, a
    /// dangling link, unreadable, empty, or holding anything but readable `NAME.pub` keys is an
    /// error, so a damaged key folder never turns signature checks off.
    pub fn trusted_keys(&self) -> Result<Vec<VerifyingKey>, StoreError> {
        let dir = self.root.join("trusted-keys");
        let damaged =
            |path: &Path, message: String| StoreError::Damaged { path: path.to_path_buf(), message };
        match std::fs::symlink_metadata(&dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StoreError::Io { path: dir, source: e }),
            Ok(_) => {}
        }
        let read = std::fs::read_dir(&dir).map_err(|e| {
            damaged(
                &dir,
                format!("trusted-keys cannot be read as a folder ({e}); signatures cannot be checked"),
            )
        })?;
        let mut keys = Vec::new();
        for e in read {
            let path = e.map_err(io(&dir))?.path();
            if path.extension().is_none_or(|x| x != "pub") {
                return Err(damaged(
                    &path,
                    "trusted-keys holds only NAME.pub files (64 hex digits each)".into(),
                ));
            }
            let text = std::fs::read_to_string(&path).map_err(io(&path))?;
            keys.push(parse_public_key(&text).map_err(|m| damaged(&path, m))?);
        }
        if keys.is_empty() {
            return Err(damaged(
                &dir,
                "trusted-keys exists but holds no key; add a NAME.pub or remove the folder to import unsigned lists"
                    .into(),
            ));
        }
        Ok(keys)
    }

    /// Imports files into a new version of a list and makes it active.
    pub fn import(&self, req: ImportRequest) -> Result<ImportReport, StoreError> {
        validate_name(&req.name).map_err(StoreError::BadName)?;
        let (previous, prev_entries) = match self.current_version(&req.name)? {
            Some(_) => {
                let l = self.load(&req.name)?;
                (Some(l.manifest), l.entries)
            }
            None => (None, Vec::new()),
        };
        let active_before = prev_entries.iter().filter(|e| e.is_active()).count();
        let prev_manifest = previous.as_ref();
        let kind = req.kind.or_else(|| prev_manifest.map(|m| m.kind)).unwrap_or_default();
        let keys = self.trusted_keys()?;
        let signed = if keys.is_empty() {
            None
        } else {
            Some(self.check_signed_import(&req, kind, prev_manifest, &keys)?)
        };

        let mut parsed = Vec::new();
        for (file, bytes) in &req.files {
            let text = String::from_utf8_lossy(bytes);
            parsed.push(parse(req.format, file, &text, &ParseOptions { signal: req.signal.clone() }));
        }
        let errors: Vec<RecordError> =
            parsed.iter_mut().flat_map(|p| std::mem::take(&mut p.errors)).collect();
        if req.strict && !errors.is_empty() {
            return Err(StoreError::Strict(errors));
        }
        let read: usize = parsed.iter().map(|p| p.entries.len()).sum();
        let no_tombstones = parsed.iter().all(|p| p.tombstones.is_empty());
        if read == 0 && no_tombstones && !req.allow_empty {
            return Err(StoreError::NothingAccepted {
                rejected: errors.len(),
                first: errors.first().map(ToString::to_string),
            });
        }
        let carried_manifest = parsed.iter_mut().find_map(|p| p.manifest.take());
        let base = if req.replace { Vec::new() } else { prev_entries };
        let merged = merge(base, parsed, &now_rfc3339());
        let active = merged.entries.iter().filter(|e| e.is_active()).count();
        if req.replace {
            let before = active_before;
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

        let prev_manifest = prev_manifest.or(carried_manifest.as_ref());
        let version = previous.as_ref().map_or(1, |m| m.version + 1);
        let mut manifest = Manifest {
            name: req.name.clone(),
            source: req
                .source
                .clone()
                .or_else(|| prev_manifest.map(|m| m.source.clone()))
                .unwrap_or_else(|| "local".into()),
            version,
            fetched_at: now_rfc3339(),
            kind,
            default_classification: req
                .classification
                .clone()
                .or_else(|| prev_manifest.and_then(|m| m.default_classification.clone())),
            thresholds: req.thresholds.or_else(|| prev_manifest.map(|m| m.thresholds)).unwrap_or_default(),
            signed_by: signed.as_ref().map(|(_, key)| key.clone()),
            signed_sequence: signed.as_ref().map(|(st, _)| st.sequence),
            entries: 0,
            entries_sha256: String::new(),
        };
        let bytes = render(&mut manifest, &merged.entries);
        let dir = self.dir(&req.name);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        if signed.is_some() {
            if let (Some((_, src)), Some(sig)) = (req.files.first(), req.signatures.first()) {
                write_atomic(&dir.join(format!("v{version}.src")), src)?;
                write_atomic(&dir.join(format!("v{version}.src.sig")), sig)?;
            }
        }
        let hll = dir.join(format!("v{version}.hll"));
        write_atomic(&hll, &bytes)?;
        // The snapshot before the switch, so that every instance that sees the new version
        // reads it instead of building the index itself. Known lists only (see `load_part`);
        // a failure costs the readers a build, not the import.
        let snapshot = if kind == ListKind::Known && keys.is_empty() {
            let source = Source { manifest: manifest.clone(), len: bytes.len() as u64 };
            drop(bytes);
            let part = Part::build(manifest, merged.entries, &now_rfc3339());
            Some(snapshot::write(&snapshot::path(&dir, version), &source, &part).map_err(|e| e.to_string()))
        } else {
            None
        };
        // The switch: one atomic rename makes the new version active.
        write_atomic(&dir.join("CURRENT"), format!("{version}\n").as_bytes())?;
        crate::store_index::remove_old_snapshots(&dir, version);
        Ok(ImportReport {
            name: req.name,
            version,
            read,
            added: merged.added,
            removed: merged.removed,
            active,
            skipped: errors.len(),
            errors: errors.iter().take(20).map(ToString::to_string).collect(),
            snapshot_error: snapshot.and_then(Result::err),
        })
    }

    /// With trusted keys: one input file with a signature whose statement names this list,
    /// this kind, this way of importing (whole list or update, format, type) and a sequence
    /// number above the current version's. Returns the statement and the signing key's id.
    fn check_signed_import(
        &self,
        req: &ImportRequest,
        kind: ListKind,
        previous: Option<&Manifest>,
        keys: &[VerifyingKey],
    ) -> Result<(Statement, String), StoreError> {
        let [(file, bytes)] = &req.files[..] else {
            return Err(StoreError::Signature {
                file: req.files.first().map(|f| f.0.clone()).unwrap_or_default(),
                message: "the store has trusted keys: import one signed file at a time".into(),
            });
        };
        let refused = |message: String| StoreError::Signature { file: file.clone(), message };
        let sig = req.signatures.first().ok_or_else(|| {
            refused("the store has trusted keys and this input is unsigned (give --signature)".into())
        })?;
        let (st, key) = signing::verify(keys, sig, bytes).map_err(refused)?;
        let wanted_type = req.signal.as_ref().map(|s| s.to_string());
        let mismatch = [
            (st.list != req.name)
                .then(|| format!("it was signed for the list {:?}, not {:?}", st.list, req.name)),
            (st.kind != kind).then(|| format!("it was signed as a {:?} list, not {kind:?}", st.kind)),
            (st.full != req.replace).then(|| {
                if st.full {
                    "it was signed as the whole list: import it with --replace"
                } else {
                    "it was signed as an update: import it without --replace"
                }
                .to_string()
            }),
            (st.input_format != req.format.name())
                .then(|| format!("it was signed as {}, not {}", st.input_format, req.format.name())),
            (st.input_type().map(|t| t.to_string()) != wanted_type)
                .then(|| "it was signed with another --type".to_string()),
        ];
        if let Some(m) = mismatch.into_iter().flatten().next() {
            return Err(refused(m));
        }
        if let Some(prev) = previous.and_then(|m| m.signed_sequence) {
            if st.sequence <= prev {
                return Err(refused(format!(
                    "its sequence number {} is not above the current version's {prev}: an older signed file cannot replace a newer one",
                    st.sequence
                )));
            }
        }
        Ok((st, key))
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

#[cfg(test)]
mod time_tests {
    use super::unix_seconds;

    #[test]
    fn rfc3339_to_unix_and_back() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(super::rfc3339_of_unix(1_795_946_400), "2026-11-29T10:00:00Z");
        assert_eq!(super::rfc3339_of_unix(-5), "1970-01-01T00:00:00Z");
        assert_eq!(unix_seconds("2026-11-29T10:00:00Z"), Some(1_795_946_400));
        assert_eq!(unix_seconds("yesterday"), None);
    }
}
