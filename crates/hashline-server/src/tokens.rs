//! API tokens: `hl_` + 64 hex digits (256 random bits), shown once at creation and stored only
//! as their SHA-256 (a token carries full entropy, so a slow password hash adds nothing).
//! Stored in `tokens.json` in the data folder (owner-only); the server re-reads the file when
//! it changes, so a revocation takes effect on the next request, without a restart.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::jsonfile::{valid_name, FileError, JsonFile};

/// Errors of the token store.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The file could not be read or written.
    #[error("token store {path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A bad name.
    #[error("token name {0:?}: use 1–64 letters, digits, '.', '_' or '-' (it becomes a metrics label)")]
    BadName(String),
    /// The name is taken.
    #[error("an active token named {0:?} exists; revoke it first or pick another name")]
    Exists(String),
    /// No such token.
    #[error("no active token named {0:?} (see `hashline tokens list`)")]
    NotFound(String),
}

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The match API (`/v1/...`).
    Match,
    /// Scraping `/metrics` only.
    Metrics,
}

/// One stored token (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRecord {
    /// Name (the platform), unique among active tokens.
    pub name: String,
    /// SHA-256 of the token, hex.
    pub sha256: String,
    /// What it may do.
    pub scope: Scope,
    /// The lists it may see; `None` for all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lists: Option<Vec<String>>,
    /// Requests per second it may make (`None`: the server default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_per_s: Option<u32>,
    /// When it was made.
    pub created_at: String,
    /// When it was revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

impl TokenRecord {
    /// May this token see `list`?
    pub fn may_see(&self, list: &str) -> bool {
        self.lists.as_ref().is_none_or(|l| l.iter().any(|x| x == list))
    }
}

/// The token file.
pub struct TokenStore {
    file: JsonFile<TokenRecord>,
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl From<FileError> for TokenError {
    fn from(e: FileError) -> Self {
        TokenError::Io { path: e.path, reason: e.reason }
    }
}

impl TokenStore {
    /// Opens `path` (a missing file is an empty store).
    pub fn open(path: &Path) -> Result<TokenStore, TokenError> {
        Ok(TokenStore { file: JsonFile::open(path, "token")? })
    }

    fn read(&self) -> Result<Vec<TokenRecord>, TokenError> {
        Ok(self.file.read()?)
    }

    fn write(&self, records: &[TokenRecord]) -> Result<(), TokenError> {
        Ok(self.file.write(records)?)
    }

    /// Makes a token; returns the token (shown once) and its record.
    pub fn create(
        &self,
        name: &str,
        scope: Scope,
        lists: Option<Vec<String>>,
        rate_per_s: Option<u32>,
    ) -> Result<(String, TokenRecord), TokenError> {
        if !valid_name(name) {
            return Err(TokenError::BadName(name.into()));
        }
        let mut records = self.read()?;
        if records.iter().any(|r| r.name == name && r.revoked_at.is_none()) {
            return Err(TokenError::Exists(name.into()));
        }
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw)
            .map_err(|e| TokenError::Io { path: PathBuf::new(), reason: e.to_string() })?;
        let token = format!("hl_{}", hex::encode(raw));
        let rec = TokenRecord {
            name: name.into(),
            sha256: hash(&token),
            scope,
            lists,
            rate_per_s,
            created_at: hashline_lists::now_rfc3339(),
            revoked_at: None,
        };
        records.push(rec.clone());
        self.write(&records)?;
        Ok((token, rec))
    }

    /// Revokes the active token named `name`.
    pub fn revoke(&self, name: &str) -> Result<(), TokenError> {
        let mut records = self.read()?;
        let r = records
            .iter_mut()
            .find(|r| r.name == name && r.revoked_at.is_none())
            .ok_or_else(|| TokenError::NotFound(name.into()))?;
        r.revoked_at = Some(hashline_lists::now_rfc3339());
        self.write(&records)
    }

    /// Every record (revoked ones too).
    pub fn list(&self) -> Result<Vec<TokenRecord>, TokenError> {
        self.read()
    }

    /// The active record for a presented token, re-reading the file if it changed.
    pub fn verify(&self, token: &str) -> Option<TokenRecord> {
        if !token.starts_with("hl_") || token.len() != 67 {
            return None;
        }
        let h = hash(token);
        self.file.find(|r| r.revoked_at.is_none() && r.sha256 == h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_verify_revoke() {
        let d = std::env::temp_dir().join(format!("hashline-tok-{}", hashline_report::random_id()));
        let s = TokenStore::open(&d.join("tokens.json")).unwrap();
        let (t, rec) = s.create("platform-a", Scope::Match, Some(vec!["l1".into()]), None).unwrap();
        assert!(!std::fs::read_to_string(d.join("tokens.json")).unwrap().contains(&t), "stored hashed");
        assert_eq!(s.verify(&t).unwrap().name, "platform-a");
        assert!(rec.may_see("l1") && !rec.may_see("l2"));
        assert!(matches!(s.create("platform-a", Scope::Match, None, None), Err(TokenError::Exists(_))));
        assert!(matches!(s.create("bad name", Scope::Match, None, None), Err(TokenError::BadName(_))));
        // Another process revokes: the change is picked up from the file.
        let other = TokenStore::open(&d.join("tokens.json")).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        other.revoke("platform-a").unwrap();
        assert!(s.verify(&t).is_none());
        assert!(s.verify("hl_nonsense").is_none());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
