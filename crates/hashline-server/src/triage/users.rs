//! Local accounts of the triage app: a name, a role and an argon2id password hash (PHC
//! string, OWASP parameters: 19 MiB, 2 passes), in `users.json` in the data folder
//! (owner-only). A disabled account keeps its record, so the audit log's names stay
//! meaningful. The server re-reads the file when it changes: `hashline users disable` takes
//! effect on the account's next request.

use std::path::Path;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use serde::{Deserialize, Serialize};

use crate::jsonfile::{valid_name, FileError, JsonFile};

/// Errors of the account store.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// The file could not be read or written.
    #[error("account store {}: {}", .0.path.display(), .0.reason)]
    Io(FileError),
    /// A bad name.
    #[error("account name {0:?}: use 1–64 letters, digits, '.', '_' or '-'")]
    BadName(String),
    /// The name is taken.
    #[error("an account named {0:?} exists (pick another name, or `hashline users enable` it)")]
    Exists(String),
    /// No such account.
    #[error("no account named {0:?} (see `hashline users list`)")]
    NotFound(String),
    /// The password is too weak.
    #[error("the password must have at least {min} characters (a passphrase of a few words is easiest)")]
    WeakPassword {
        /// The minimum length.
        min: usize,
    },
    /// A bad role name.
    #[error("role {0:?}: use analyst, supervisor, admin or operator")]
    BadRole(String),
    /// Hashing failed.
    #[error("hashing the password: {0}")]
    Hash(String),
}

impl From<FileError> for UserError {
    fn from(e: FileError) -> Self {
        UserError::Io(e)
    }
}

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 12;

/// What an account may do. Each role includes the ones before it, except `operator`, which
/// sees only health, metrics and counts — never a case or media.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Health, metrics and queue counts only.
    Operator,
    /// Works the review queue.
    Analyst,
    /// An analyst who also reassigns cases and reads the audit log.
    Supervisor,
    /// A supervisor who also manages accounts and lists.
    Admin,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Role::Analyst, Role::Supervisor, Role::Admin, Role::Operator];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Analyst => "analyst",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Result<Role, UserError> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| UserError::BadRole(s.into()))
    }

    /// May this role work cases (and so see evidence)?
    pub fn triages(self) -> bool {
        self >= Role::Analyst
    }

    /// Does this role include everything `other` may do?
    pub fn includes(self, other: Role) -> bool {
        match other {
            Role::Operator => self == Role::Operator || self == Role::Admin,
            _ => self >= other,
        }
    }
}

/// One account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// Login name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// argon2id PHC string.
    pub password: String,
    /// When it was made (RFC 3339).
    pub created_at: String,
    /// When it was disabled, if it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<String>,
    /// Counts the changes that end the account's sessions (password, role, disable, enable):
    /// a session made at another epoch is over, whichever process made the change.
    #[serde(default)]
    pub epoch: u64,
}

/// The account file.
pub struct UserStore {
    file: JsonFile<User>,
}

/// A hash to verify against when the account does not exist, so a login for an unknown name
/// takes as long as one with a wrong password.
fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password, never valid").unwrap_or_default())
}

fn hash_password(password: &str) -> Result<String, UserError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| UserError::Hash(e.to_string()))
}

fn password_matches(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

impl UserStore {
    /// Opens `path` (a missing file is an empty store).
    pub fn open(path: &Path) -> Result<UserStore, UserError> {
        Ok(UserStore { file: JsonFile::open(path, "account")? })
    }

    /// Makes an account.
    pub fn add(&self, name: &str, role: Role, password: &str) -> Result<User, UserError> {
        if !valid_name(name) {
            return Err(UserError::BadName(name.into()));
        }
        if password.chars().count() < MIN_PASSWORD {
            return Err(UserError::WeakPassword { min: MIN_PASSWORD });
        }
        let mut users = self.file.read()?;
        if users.iter().any(|u| u.name.eq_ignore_ascii_case(name)) {
            return Err(UserError::Exists(name.into()));
        }
        let user = User {
            name: name.into(),
            role,
            password: hash_password(password)?,
            created_at: hashline_lists::now_rfc3339(),
            disabled_at: None,
            epoch: 0,
        };
        users.push(user.clone());
        self.file.write(&users)?;
        Ok(user)
    }

    fn update(
        &self,
        name: &str,
        f: impl FnOnce(&mut User) -> Result<(), UserError>,
    ) -> Result<User, UserError> {
        let mut users = self.file.read()?;
        let u = users.iter_mut().find(|u| u.name == name).ok_or_else(|| UserError::NotFound(name.into()))?;
        f(u)?;
        // Every change made here ends the account's sessions.
        u.epoch += 1;
        let out = u.clone();
        self.file.write(&users)?;
        Ok(out)
    }

    /// Disables (`true`) or enables an account; a disabled account's sessions end at once.
    pub fn set_disabled(&self, name: &str, disabled: bool) -> Result<User, UserError> {
        self.update(name, |u| {
            u.disabled_at = disabled.then(hashline_lists::now_rfc3339);
            Ok(())
        })
    }

    /// Changes an account's role.
    pub fn set_role(&self, name: &str, role: Role) -> Result<User, UserError> {
        self.update(name, |u| {
            u.role = role;
            Ok(())
        })
    }

    /// Sets a new password.
    pub fn set_password(&self, name: &str, password: &str) -> Result<User, UserError> {
        if password.chars().count() < MIN_PASSWORD {
            return Err(UserError::WeakPassword { min: MIN_PASSWORD });
        }
        let phc = hash_password(password)?;
        self.update(name, |u| {
            u.password = phc;
            Ok(())
        })
    }

    /// Every account (disabled ones too).
    pub fn list(&self) -> Result<Vec<User>, UserError> {
        Ok(self.file.read()?)
    }

    /// The active account `name`, as the file says now.
    pub fn active(&self, name: &str) -> Option<User> {
        self.file.find(|u| u.name == name && u.disabled_at.is_none())
    }

    /// Checks a login. Slow on purpose (argon2id, ~20–50 ms): run it off the async threads.
    /// Unknown and disabled accounts cost the same time as a wrong password.
    pub fn verify(&self, name: &str, password: &str) -> Option<User> {
        match self.active(name) {
            Some(u) if password_matches(&u.password, password) => Some(u),
            Some(_) => None,
            None => {
                let _ = password_matches(decoy(), password);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_verify_disable_and_roles() {
        let d = std::env::temp_dir().join(format!("hashline-users-{}", hashline_report::random_id()));
        let s = UserStore::open(&d.join("users.json")).unwrap();
        let u = s.add("dara", Role::Analyst, "correct horse battery").unwrap();
        assert!(u.password.starts_with("$argon2id$"), "{}", u.password);
        let text = std::fs::read_to_string(d.join("users.json")).unwrap();
        assert!(!text.contains("correct horse"), "stored hashed");
        assert_eq!(s.verify("dara", "correct horse battery").unwrap().role, Role::Analyst);
        assert!(s.verify("dara", "correct horse batterx").is_none());
        assert!(s.verify("nobody", "correct horse battery").is_none());
        assert!(matches!(s.add("DARA", Role::Admin, "another long one"), Err(UserError::Exists(_))));
        assert!(matches!(s.add("x y", Role::Admin, "another long one"), Err(UserError::BadName(_))));
        assert!(matches!(s.add("sok", Role::Admin, "short"), Err(UserError::WeakPassword { .. })));
        // Another process disables the account: the next check sees it.
        std::thread::sleep(std::time::Duration::from_millis(20));
        UserStore::open(&d.join("users.json")).unwrap().set_disabled("dara", true).unwrap();
        assert!(s.active("dara").is_none());
        assert!(s.verify("dara", "correct horse battery").is_none());
        assert!(Role::Admin.includes(Role::Supervisor) && Role::Supervisor.includes(Role::Analyst));
        assert!(!Role::Analyst.includes(Role::Supervisor) && !Role::Operator.includes(Role::Analyst));
        assert!(Role::Admin.includes(Role::Operator) && !Role::Supervisor.includes(Role::Operator));
        assert!(!Role::Operator.triages());
        assert!(matches!(Role::parse("root"), Err(UserError::BadRole(_))));
        // Disable then enable, or a new password, from another process: a new epoch each time.
        let other = UserStore::open(&d.join("users.json")).unwrap();
        let before = other.list().unwrap()[0].epoch;
        other.set_disabled("dara", false).unwrap();
        let after = other.set_password("dara", "a new long passphrase").unwrap().epoch;
        assert_eq!(after, before + 2);
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(s.active("dara").unwrap().epoch, after);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
