//! Sessions and the login rate limit.
//!
//! A session id is 256 random bits, sent only in an `HttpOnly`, `SameSite=Strict` (and, unless
//! turned off for plain-HTTP development, `Secure`) cookie and kept server-side as its SHA-256.
//! A visitor of the login page gets an anonymous session that carries the login form's CSRF
//! token; logging in ends it and starts a new session with a new id and a new token, so a
//! session id planted before login is worthless after it. Sessions expire after an idle time
//! and at a fixed lifetime, and live in memory: a restart logs everyone out.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// The session cookie's name.
pub const COOKIE: &str = "hl_session";

/// Most anonymous (login-page) sessions kept; the oldest go first beyond this.
const MAX_ANONYMOUS: usize = 10_000;

/// One session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The account, or `None` before login.
    pub user: Option<String>,
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

    /// Starts a session; returns its id (for the cookie) and the session (`None` without an
    /// OS random source).
    pub fn create(&self, user: Option<String>) -> Option<(String, Session)> {
        let sid = random_token()?;
        let now = Instant::now();
        let s = Session { user, csrf: random_token()?, created: now, last_seen: now };
        let mut map = self.lock();
        let idle = self.idle;
        let lifetime = self.lifetime;
        map.retain(|_, s| now.duration_since(s.last_seen) < idle && now.duration_since(s.created) < lifetime);
        if s.user.is_none() {
            let anonymous = map.values().filter(|s| s.user.is_none()).count();
            if anonymous >= MAX_ANONYMOUS {
                if let Some(oldest) = map
                    .iter()
                    .filter(|(_, s)| s.user.is_none())
                    .min_by_key(|(_, s)| s.created)
                    .map(|(k, _)| *k)
                {
                    map.remove(&oldest);
                }
            }
        }
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
        self.lock().retain(|_, s| s.user.as_deref() != Some(user));
    }

    /// Logged-in sessions now.
    pub fn active(&self) -> usize {
        self.lock().values().filter(|s| s.user.is_some()).count()
    }
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
    max: usize,
    window: Duration,
}

impl LoginLimiter {
    /// At most `max` failures per key in `window`.
    pub fn new(max: u32, window: Duration) -> LoginLimiter {
        LoginLimiter { failures: Mutex::new(HashMap::new()), max: max.max(1) as usize, window }
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
        let (sid, sess) = s.create(Some("dara".into())).unwrap();
        assert_eq!(sid.len(), 64);
        assert_eq!(s.get(&sid).unwrap().csrf, sess.csrf);
        assert!(s.get("not a session").is_none());
        std::thread::sleep(Duration::from_millis(80));
        assert!(s.get(&sid).is_none(), "idle session expired");
        let (sid, _) = s.create(Some("dara".into())).unwrap();
        let (other, _) = s.create(Some("sok".into())).unwrap();
        s.end_user("dara");
        assert!(s.get(&sid).is_none());
        assert!(s.get(&other).is_some());
        let lifetime = Sessions::new(Duration::from_secs(60), Duration::from_millis(30));
        let (sid, _) = lifetime.create(None).unwrap();
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
