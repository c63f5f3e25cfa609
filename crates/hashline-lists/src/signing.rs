//! Signed list imports. A publisher signs a *statement* about one input file, not the bare
//! bytes: which list it is for, whether that list is a known-material list or an allow-list,
//! a sequence number that only grows, when it was signed, whether the file is the whole list
//! or an update, how to read it (format and type of bare values), and the file's SHA-256. So a
//! signed file cannot be imported under another name or kind (relabelled), an older signed
//! file cannot replace a newer one (replayed), and a signed update cannot be imported as the
//! whole list. The store keeps each signed input and its statement beside the version it made
//! and checks them again at every load (see [`crate::Store::load`]).
//!
//! The signature file (`FILE.sig`, written by `hashline lists sign`) is JSON:
//! `{"statement": {...}, "signature": "<128 hex digits>"}`; the signature is Ed25519 over the
//! statement's JSON bytes exactly as they stand in the file (its `statement_json` field).

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::formats::{parse, Format, ParseOptions};
use crate::merge::{content_digest, merge};
use crate::model::{Entry, ListKind, Manifest, SignalType};
use crate::store::StoreError;

/// The statement format's name.
pub const STATEMENT_FORMAT: &str = "hashline-list-signature/1";

/// What a publisher signs about one input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    /// Always [`STATEMENT_FORMAT`].
    pub format: String,
    /// The list the file is for.
    pub list: String,
    /// Known material or allow-list.
    pub kind: ListKind,
    /// Grows with every file the publisher signs for this list (e.g. unix seconds).
    pub sequence: u64,
    /// When it was signed (RFC 3339).
    pub signed_at: String,
    /// The file is the whole list (imported with `--replace`), not an update.
    pub full: bool,
    /// How the file is read: `pytx-file`, `ncmec-xml`, ...
    pub input_format: String,
    /// The type of bare values, when the format needs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_type: Option<String>,
    /// SHA-256 of the file (hex).
    pub sha256: String,
}

/// A signature file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureFile {
    /// The statement as signed (JSON text).
    pub statement_json: String,
    /// Ed25519 signature over `statement_json`'s bytes (hex).
    pub signature: String,
}

impl Statement {
    /// The input format.
    pub fn input_format(&self) -> Result<Format, String> {
        self.input_format.parse()
    }

    /// The type of bare values.
    pub fn input_type(&self) -> Option<SignalType> {
        self.input_type.as_deref().map(SignalType::parse_lenient)
    }
}

/// Signs `statement` with `key`; the bytes of the signature file.
pub fn sign(key: &SigningKey, statement: &Statement) -> Vec<u8> {
    // Statements are plain data; serialising them cannot fail.
    let statement_json = serde_json::to_string(statement).unwrap_or_default();
    let signature = hex::encode(key.sign(statement_json.as_bytes()).to_bytes());
    let mut out = serde_json::to_vec_pretty(&SignatureFile { statement_json, signature }).unwrap_or_default();
    out.push(b'\n');
    out
}

/// SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Checks a signature file against `input` and the trusted `keys`: the signature verifies with
/// one of them, the statement is of this format, and it names `input`'s SHA-256. Returns the
/// statement and the id of the key. Says what is wrong otherwise.
pub fn verify(keys: &[VerifyingKey], sig_file: &[u8], input: &[u8]) -> Result<(Statement, String), String> {
    let file: SignatureFile = serde_json::from_slice(sig_file).map_err(|_| {
        "not a hashline signature file (re-sign the file with `hashline lists sign --name LIST --format FORMAT`)"
            .to_string()
    })?;
    let raw = hex::decode(file.signature.trim()).map_err(|_| "the signature is not hex".to_string())?;
    let raw: [u8; 64] = raw.try_into().map_err(|_| "a signature is 64 bytes (128 hex digits)".to_string())?;
    let sig = Signature::from_bytes(&raw);
    let key = keys
        .iter()
        .find(|k| k.verify(file.statement_json.as_bytes(), &sig).is_ok())
        .ok_or_else(|| "the signature does not verify with any trusted key".to_string())?;
    let statement: Statement = serde_json::from_str(&file.statement_json)
        .map_err(|e| format!("the signed statement is not valid: {e}"))?;
    if statement.format != STATEMENT_FORMAT {
        return Err(format!("the signed statement is {:?}, not {STATEMENT_FORMAT}", statement.format));
    }
    if statement.sha256 != sha256_hex(input) {
        return Err("the file is not the one that was signed (its SHA-256 differs)".into());
    }
    Ok((statement, crate::store::key_id(key)))
}

impl crate::Store {
    /// With trusted keys, at every load: the active version must come from signed inputs. Its
    /// signed input and statement, and those of the versions it was built on back to the last
    /// whole list, verify and chain (the list, kind and growing sequence numbers), and
    /// importing them again gives the same entries. A version written by hand, relabelled, or
    /// made from an unsigned file is refused, whatever its manifest says.
    pub(crate) fn check_signed_chain(
        &self,
        name: &str,
        manifest: &Manifest,
        entries: &[Entry],
        keys: &[VerifyingKey],
    ) -> Result<(), StoreError> {
        let dir = self.dir(name);
        let bad = |version: u64, message: String| StoreError::Signature {
            file: dir.join(format!("v{version}.src")).display().to_string(),
            message: format!("{message}; re-import a signed list (the store requires signatures)"),
        };
        let mut chain: Vec<(u64, Vec<u8>, Statement)> = Vec::new();
        let mut version = manifest.version;
        loop {
            let m =
                if version == manifest.version { manifest.clone() } else { self.manifest_at(name, version)? };
            let (Some(_), Some(seq)) = (&m.signed_by, m.signed_sequence) else {
                return Err(bad(version, format!("version {version} of {name} is not signed")));
            };
            let read = |ext: &str| {
                let p = dir.join(format!("v{version}.{ext}"));
                std::fs::read(&p).map_err(|_| bad(version, format!("v{version}.{ext} is missing")))
            };
            let (src, sig) = (read("src")?, read("src.sig")?);
            let (st, _) = verify(keys, &sig, &src).map_err(|m| bad(version, m))?;
            if st.list != name || st.kind != m.kind || st.sequence != seq {
                return Err(bad(
                    version,
                    "the signed statement does not match the version's list, kind or sequence".into(),
                ));
            }
            if let Some((_, _, later)) = chain.last() {
                if st.sequence >= later.sequence {
                    return Err(bad(version, "sequence numbers do not grow from version to version".into()));
                }
            }
            let full = st.full || version == 1;
            chain.push((version, src, st));
            if full {
                break;
            }
            version -= 1;
        }
        let mut derived: Vec<Entry> = Vec::new();
        for (version, src, st) in chain.into_iter().rev() {
            let format = st.input_format().map_err(|m| bad(version, m))?;
            let text = String::from_utf8_lossy(&src);
            let parsed =
                parse(format, &format!("v{version}.src"), &text, &ParseOptions { signal: st.input_type() });
            let base = if st.full { Vec::new() } else { std::mem::take(&mut derived) };
            derived = merge(base, vec![parsed], "").entries;
        }
        if content_digest(&derived) != content_digest(entries) {
            return Err(bad(
                manifest.version,
                "the entries are not what the signed inputs give: the version was edited".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement(input: &[u8]) -> Statement {
        Statement {
            format: STATEMENT_FORMAT.into(),
            list: "ncmec".into(),
            kind: ListKind::Known,
            sequence: 7,
            signed_at: "2026-12-01T00:00:00Z".into(),
            full: false,
            input_format: "pytx-file".into(),
            input_type: None,
            sha256: sha256_hex(input),
        }
    }

    #[test]
    fn a_statement_verifies_only_with_its_key_and_its_file() {
        let key = SigningKey::from_bytes(&[3u8; 32]);
        let input = b"md5 d41d8cd98f00b204e9800998ecf8427e\n";
        let sig = sign(&key, &statement(input));
        let (st, id) = verify(&[key.verifying_key()], &sig, input).unwrap();
        assert_eq!((st.list.as_str(), st.sequence), ("ncmec", 7));
        assert_eq!(id, crate::store::key_id(&key.verifying_key()));
        assert!(verify(&[SigningKey::from_bytes(&[4u8; 32]).verifying_key()], &sig, input)
            .unwrap_err()
            .contains("does not verify"));
        assert!(verify(&[key.verifying_key()], &sig, b"other").unwrap_err().contains("SHA-256"));
        // An edited statement (relabelled) no longer verifies.
        let text = String::from_utf8(sig.clone()).unwrap().replace("ncmec", "allowed");
        assert!(verify(&[key.verifying_key()], text.as_bytes(), input).is_err());
        // A bare signature of the old kind is refused with what to do.
        let old = hex::encode(key.sign(input).to_bytes());
        assert!(verify(&[key.verifying_key()], old.as_bytes(), input).unwrap_err().contains("re-sign"));
    }
}
