//! Sessions and the login rate limit.
//!
//! A session id is 256 random bits, sent only in an `HttpOnly`, `SameSite=Strict` (and, unless
//! turned off for plain-HTTP development, `Secure`) cookie and kept server-side as its SHA-256.
//! Only a login makes a session, with a new id and a new CSRF token, so a session id planted
//! before login is worthless after it, and anonymous visitors cost the server no memory: the
//! login form's CSRF token is stateless ([`LoginTokens`], a double-submit cookie bound to a
//! per-process key). A session also remembers its account's epoch and ends when the account
//! changes (password, role, disabled). Sessions expire after an idle time and at a fixed
//! lifetime, and live in memory: a restart logs everyone out.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// The session cookie's name.
pub const COOKIE: &str = "hl_session";

/// The login form's cookie (a random nonce; the form's token is its MAC).
pub const LOGIN_COOKIE: &str = "hl_login";

/// One session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The account.
    pub user: String,
    /// The account's epoch at login.
    pub epoch: u64,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
    created: Instant,
    last_seen: Instant,
}

/// The live sessions.
pub struct Sessions {
    map: Mutex<HashMap<[u8; 32], Session>>,
    idle: Duration,
    lifetime: Duration,
}

/// 256 random bits as hex; `None` without an OS random source (then no session is made).
pub fn random_token() -> Option<String> {
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).ok()?;
    Some(hex::encode(raw))
}

fn key(sid: &str) -> [u8; 32] {
    Sha256::digest(sid.as_bytes()).into()
}

/// Compares two strings in time independent of where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Sessions {
    /// Sessions ending after `idle` without a request, or `lifetime` after login.
    pub fn new(idle: Duration, lifetime: Duration) -> Sessions {
        Sessions { map: Mutex::new(HashMap::new()), idle, lifetime }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Session>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a session of `user` at account epoch `epoch`; returns its id (for the cookie) and
    /// the session (`None` without an OS random source).
    pub fn create(&self, user: String, epoch: u64) -> Option<(String, Session)> {
        let sid = random_token()?;
        let now = Instant::now();
        let s = Session { user, epoch, csrf: random_token()?, created: now, last_seen: now };
        let mut map = self.lock();
        let idle = self.idle;
        let lifetime = self.lifetime;
        map.retain(|_, s| now.duration_since(s.last_seen) < idle && now.duration_since(s.created) < lifetime);
        map.insert(key(&sid), s.clone());
        Some((sid, s))
    }

    /// The session for `sid`, if it is live; counts as activity.
    pub fn get(&self, sid: &str) -> Option<Session> {
        let k = key(sid);
        let mut map = self.lock();
        let now = Instant::now();
        let live = map.get(&k).is_some_and(|s| {
            now.duration_since(s.last_seen) < self.idle && now.duration_since(s.created) < self.lifetime
        });
        if !live {
            map.remove(&k);
            return None;
        }
        let s = map.get_mut(&k)?;
        s.last_seen = now;
        Some(s.clone())
    }

    /// Ends a session.
    pub fn end(&self, sid: &str) {
        self.lock().remove(&key(sid));
    }

    /// Ends every session of `user` (disabled, role changed, password changed).
    pub fn end_user(&self, user: &str) {
        self.lock().retain(|_, s| s.user != user);
    }

    /// Logged-in sessions now.
    pub fn active(&self) -> usize {
        self.lock().len()
    }
}

/// The login form's CSRF protection without server-side state: the form page sets a random
/// nonce in an `HttpOnly`, `SameSite=Strict` cookie and puts HMAC(key, nonce) in the form; a
/// login is accepted only with a token that is the MAC of the cookie it comes with. The key is
/// made at start, so a restart voids open login forms (the page is simply loaded again).
pub struct LoginTokens {
    key: [u8; 32],
}

impl LoginTokens {
    /// A new key; `None` without an OS random source.
    pub fn new() -> Option<LoginTokens> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).ok()?;
        Some(LoginTokens { key })
    }

    /// A new nonce for the cookie and the token for the form.
    pub fn issue(&self) -> Option<(String, String)> {
        let nonce = random_token()?;
        let token = self.token_for(&nonce)?;
        Some((nonce, token))
    }

    /// The form token that goes with cookie value `nonce` (`None` unless it is 64 hex digits).
    pub fn token_for(&self, nonce: &str) -> Option<String> {
        (nonce.len() == 64 && nonce.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| hex::encode(hashline_report::mac::hmac_sha256(&self.key, nonce.as_bytes())))
    }
}

/// A `Set-Cookie` value for the login form's nonce.
pub fn login_cookie(nonce: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{LOGIN_COOKIE}={nonce}; Path=/; HttpOnly; SameSite=Strict{secure}")
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value for the session id (`None`: delete the cookie).
pub fn set_cookie(sid: Option<&str>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match sid {
        Some(sid) => format!("{COOKIE}={sid}; Path=/; HttpOnly; SameSite=Strict{secure}"),
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    }
}

/// Failed logins per account name and per client address, in a sliding window.
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
    /// When each key's current lockout was first refused (one audit record per lockout).
    refused: Mutex<HashMap<String, Instant>>,
    max: usize,
    window: Duration,
}

impl LoginLimiter {
    /// At most `max` failures per key in `window`.
    pub fn new(max: u32, window: Duration) -> LoginLimiter {
        LoginLimiter {
            failures: Mutex::new(HashMap::new()),
            refused: Mutex::new(HashMap::new()),
            max: max.max(1) as usize,
            window,
        }
    }

    /// `Err(seconds to wait)` when any of `keys` is locked out.
    pub fn check(&self, keys: &[String]) -> Result<(), u64> {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let mut wait = 0;
        for k in keys {
            if let Some(v) = f.get_mut(k) {
                v.retain(|t| now.duration_since(*t) < self.window);
                if v.len() >= self.max {
                    let oldest = v.iter().min().copied().unwrap_or(now);
                    wait =
                        wait.max((self.window.saturating_sub(now.duration_since(oldest))).as_secs().max(1));
                }
            }
        }
        if wait > 0 {
            Err(wait)
        } else {
            Ok(())
        }
    }

    /// True for the first refused attempt of a lockout of any of `keys` in the window (the one
    /// to audit); false for the attempts after it.
    pub fn first_refusal(&self, keys: &[String]) -> bool {
        let mut r = self.refused.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        r.retain(|_, t| now.duration_since(*t) < self.window);
        let mut first = false;
        for k in keys {
            if !r.contains_key(k) {
                r.insert(k.clone(), now);
                first = true;
            }
        }
        first
    }

    /// Records a failure for each of `keys`.
    pub fn fail(&self, keys: &[String]) {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if f.len() > 100_000 {
            f.retain(|_, v| v.iter().any(|t| now.duration_since(*t) < self.window));
        }
        for k in keys {
            f.entry(k.clone()).or_default().push(now);
        }
    }

    /// Forgets the failures of `keys` (after a successful login).
    pub fn clear(&self, keys: &[String]) {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        for k in keys {
            f.remove(k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_and_end() {
        let s = Sessions::new(Duration::from_millis(50), Duration::from_secs(60));
        let (sid, sess) = s.create("dara".into(), 0).unwrap();
        assert_eq!(sid.len(), 64);
        assert_eq!(s.get(&sid).unwrap().csrf, sess.csrf);
        assert!(s.get("not a session").is_none());
        std::thread::sleep(Duration::from_millis(80));
        assert!(s.get(&sid).is_none(), "idle session expired");
        let (sid, _) = s.create("dara".into(), 0).unwrap();
        let (other, _) = s.create("sok".into(), 0).unwrap();
        s.end_user("dara");
        assert!(s.get(&sid).is_none());
        assert!(s.get(&other).is_some());
        let lifetime = Sessions::new(Duration::from_secs(60), Duration::from_millis(30));
        let (sid, _) = lifetime.create("dara".into(), 0).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        assert!(lifetime.get(&sid).is_none(), "lifetime over even when active");
    }

    #[test]
    fn limiter_locks_after_max_failures() {
        let l = LoginLimiter::new(3, Duration::from_secs(60));
        let k = vec!["user:dara".to_string()];
        for _ in 0..3 {
            assert!(l.check(&k).is_ok());
            l.fail(&k);
        }
        let wait = l.check(&k).unwrap_err();
        assert!((1..=60).contains(&wait), "{wait}");
        assert!(l.check(&["user:sok".to_string()]).is_ok(), "other names unaffected");
        l.clear(&k);
        assert!(l.check(&k).is_ok());
        assert!(l.first_refusal(&k), "the first refusal of a lockout is reported");
        assert!(!l.first_refusal(&k), "the ones after it are not");
    }

    #[test]
    fn login_tokens_are_bound_to_their_cookie_and_key() {
        let t = LoginTokens::new().unwrap();
        let (nonce, token) = t.issue().unwrap();
        assert_eq!(t.token_for(&nonce).unwrap(), token);
        let (other, _) = t.issue().unwrap();
        assert_ne!(t.token_for(&other).unwrap(), token);
        assert_ne!(LoginTokens::new().unwrap().token_for(&nonce).unwrap(), token, "another process's key");
        assert!(t.token_for("not hex").is_none() && t.token_for(&"a".repeat(63)).is_none());
        assert!(login_cookie(&nonce, true).contains("HttpOnly; SameSite=Strict; Secure"));
    }

    #[test]
    fn cookies_parse_and_compare() {
        let mut h = axum::http::HeaderMap::new();
        h.insert(axum::http::header::COOKIE, "a=1; hl_session=abc; b=2".parse().unwrap());
        assert_eq!(cookie(&h, COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
        assert!(set_cookie(Some("x"), true).contains("HttpOnly; SameSite=Strict; Secure"));
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }
}
