//! Fetching media by URL — named by a Kafka record's `hashline-media-url` (uploads too large
//! for a record) or by an HMA client's `?url=` — without becoming an SSRF tool: only hosts on the allow-list, only http(s), no redirects,
//! the name resolved once and the connection pinned to the address checked (no DNS
//! rebinding), loopback, private, link-local and other internal addresses refused unless
//! `allow_private_addresses`, a size cap enforced while streaming, timeouts and retries.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use hashline_fetch::{fetch, FetchConfig, FetchError};
//! // Nothing is fetched from a host that is not on the allow-list (empty by default).
//! let refused = fetch("http://169.254.169.254/latest/meta-data", &FetchConfig::default(), 1 << 20).await;
//! assert!(matches!(refused, Err(FetchError::Refused(_))));
//! # });
//! ```

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `[kafka.fetch]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FetchConfig {
    /// Hosts media may be fetched from: exact names, or `.example.org` for any subdomain.
    /// Empty (the default): media URLs are refused.
    pub allowed_hosts: Vec<String>,
    /// Allow loopback, private, link-local and other non-public addresses (default false;
    /// for tests and closed networks only).
    pub allow_private_addresses: bool,
    /// Timeout of one attempt, seconds (default 60).
    pub timeout_s: u64,
    /// Attempts for network errors and 5xx (default 3).
    pub attempts: u32,
    /// Largest media fetched at all, in bytes (default 4 GiB). Media over
    /// `[hash] max_input_bytes` is streamed through the digests without being kept (so a
    /// listed MD5 of a large video still matches); over this, the fetch fails.
    pub max_bytes: u64,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            allowed_hosts: Vec::new(),
            allow_private_addresses: false,
            timeout_s: 60,
            attempts: 3,
            max_bytes: 4 << 30,
        }
    }
}

/// Why media could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// Refused before any connection.
    #[error("media URL refused: {0}")]
    Refused(String),
    /// Failed after retries.
    #[error("media URL could not be fetched: {0}")]
    Failed(String),
    /// Over the size cap.
    #[error("media at the URL is over the limit of {0} bytes")]
    TooLarge(u64),
}

fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    allowed.iter().any(|a| {
        let a = a.to_ascii_lowercase();
        match a.strip_prefix('.') {
            Some(suffix) => host.ends_with(&format!(".{suffix}")),
            None => host == a,
        }
    })
}

/// True for addresses that must not be reached from outside input.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64/10 shared address space
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // 192.0.0/24
                || (o[0] == 198 && (o[1] & 0xfe) == 18) // 198.18/15 benchmarking
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            // An IPv6 address that carries an IPv4 address is as internal as that address:
            // mapped (::ffff:a.b.c.d), compatible (::a.b.c.d), NAT64 (64:ff9b::/96 and the
            // local-use 64:ff9b:1::/48), 6to4 (2002:AABB:CCDD::/48) and Teredo (2001::/32, the
            // client address inverted in the last 32 bits).
            let embedded = |hi: u16, lo: u16| {
                IpAddr::V4(std::net::Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)))
            };
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            if s[..6] == [0; 6] && !(s[6] == 0 && s[7] <= 1) {
                return is_internal(embedded(s[6], s[7]));
            }
            if (s[0], s[1]) == (0x64, 0xff9b) {
                // The well-known prefix carries the address; the local-use one is internal.
                return s[2..6] != [0; 4] || is_internal(embedded(s[6], s[7]));
            }
            if s[0] == 0x2002 {
                return is_internal(embedded(s[1], s[2]));
            }
            if (s[0], s[1]) == (0x2001, 0) {
                return is_internal(embedded(!s[6], !s[7]));
            }
            // Beyond those, only global unicast (2000::/3) is public; everything else
            // (loopback, unspecified, unique and site local, link local, multicast, reserved,
            // documentation, ORCHID, benchmarking) is refused.
            (s[0] & 0xe000) != 0x2000
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x2001 && s[1] < 0x0200) // IETF protocol assignments (2001::/23)
                || (s[0] == 0x3fff && s[1] < 0x1000) // documentation (3fff::/20)
        }
    }
}

/// Checks a URL and resolves its host to an address it may connect to.
pub async fn check(url: &str, config: &FetchConfig) -> Result<(reqwest::Url, SocketAddr), FetchError> {
    let u = reqwest::Url::parse(url).map_err(|e| FetchError::Refused(format!("not a URL ({e})")))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(FetchError::Refused(format!("scheme {} (only http and https)", u.scheme())));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(FetchError::Refused("credentials in the URL".into()));
    }
    let host = u.host_str().ok_or_else(|| FetchError::Refused("no host".into()))?.to_string();
    if config.allowed_hosts.is_empty() {
        return Err(FetchError::Refused(
            "media URLs are not enabled (set [kafka.fetch] allowed_hosts)".into(),
        ));
    }
    if !host_allowed(&host, &config.allowed_hosts) {
        return Err(FetchError::Refused("host is not on [kafka.fetch] allowed_hosts".into()));
    }
    let port = u.port_or_known_default().unwrap_or(443);
    let bare = host.trim_start_matches('[').trim_end_matches(']').to_string();
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((bare.as_str(), port))
        .await
        .map_err(|e| FetchError::Failed(format!("resolving the host: {e}")))?
        .collect();
    let addr = addrs.first().copied().ok_or_else(|| FetchError::Failed("the host has no address".into()))?;
    if !config.allow_private_addresses && addrs.iter().any(|a| is_internal(a.ip())) {
        return Err(FetchError::Refused("the host resolves to an internal address".into()));
    }
    Ok((u, addr))
}

/// What a fetch brought: the digests of every byte, and the bytes themselves when there were
/// at most the `keep` limit of them.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// MD5, SHA-1 and SHA-256 of the whole media.
    pub digests: hashline_hash::Digests,
    /// Its size.
    pub len: u64,
    /// The media, when it was small enough to keep (decode it, preserve it).
    pub bytes: Option<Vec<u8>>,
}

/// Fetches media, keeping it when it is at most `keep` bytes and streaming larger media (up
/// to `config.max_bytes`) through the digests only.
pub async fn fetch_media(url: &str, config: &FetchConfig, keep: u64) -> Result<Fetched, FetchError> {
    let client = client_for(url, config).await?;
    let mut last = String::new();
    for attempt in 0..config.attempts.max(1) {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(250 << attempt.min(6))).await;
        }
        match get(&client.0, client.1.clone(), config.max_bytes, keep).await {
            Ok(f) => return Ok(f),
            Err(Retry::No(e)) => return Err(e),
            Err(Retry::Yes(reason)) => last = reason,
        }
    }
    Err(FetchError::Failed(last))
}

/// Fetches at most `max_bytes`, keeping them.
pub async fn fetch(url: &str, config: &FetchConfig, max_bytes: u64) -> Result<Vec<u8>, FetchError> {
    let c = FetchConfig { max_bytes, ..config.clone() };
    let f = fetch_media(url, &c, max_bytes).await?;
    f.bytes.ok_or(FetchError::TooLarge(max_bytes))
}

/// A client pinned to the checked address of `url`.
async fn client_for(url: &str, config: &FetchConfig) -> Result<(reqwest::Client, reqwest::Url), FetchError> {
    let (u, addr) = check(url, config).await?;
    let host = u.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_string();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(config.timeout_s.max(1)))
        .connect_timeout(Duration::from_secs(config.timeout_s.clamp(1, 10)))
        .resolve(&host, addr)
        .no_proxy()
        .use_rustls_tls()
        .build()
        .map_err(|e| FetchError::Failed(e.without_url().to_string()))?;
    Ok((client, u))
}

enum Retry {
    Yes(String),
    No(FetchError),
}

async fn get(client: &reqwest::Client, url: reqwest::Url, max: u64, keep: u64) -> Result<Fetched, Retry> {
    // Error texts never carry the URL: pre-signed media URLs are credentials, and these texts
    // reach the logs and the dead-letter topic.
    let mut resp = client.get(url).send().await.map_err(|e| Retry::Yes(e.without_url().to_string()))?;
    let status = resp.status();
    if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408 {
        return Err(Retry::Yes(format!("HTTP {}", status.as_u16())));
    }
    if !status.is_success() {
        return Err(Retry::No(FetchError::Failed(format!("HTTP {}", status.as_u16()))));
    }
    if resp.content_length().is_some_and(|n| n > max) {
        return Err(Retry::No(FetchError::TooLarge(max)));
    }
    let mut digests = hashline_hash::DigestHasher::new();
    let mut kept = Some(Vec::new());
    while let Some(chunk) = resp.chunk().await.map_err(|e| Retry::Yes(e.without_url().to_string()))? {
        if digests.len() + chunk.len() as u64 > max {
            return Err(Retry::No(FetchError::TooLarge(max)));
        }
        digests.update(&chunk);
        if digests.len() > keep {
            kept = None;
        } else if let Some(k) = kept.as_mut() {
            k.extend_from_slice(&chunk);
        }
    }
    let len = digests.len();
    Ok(Fetched { digests: digests.finish(), len, bytes: kept })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            // IPv6 forms that carry an internal IPv4 address, and non-global ranges.
            "64:ff9b::a9fe:a9fe",                   // NAT64 of 169.254.169.254
            "64:ff9b:1::a00:1",                     // local-use NAT64
            "2002:7f00:1::1",                       // 6to4 of 127.0.0.1
            "2002:a9fe:a9fe::",                     // 6to4 of 169.254.169.254
            "::127.0.0.1",                          // IPv4-compatible
            "::a9fe:a9fe",                          // IPv4-compatible 169.254.169.254
            "2001:0:4136:e378:8000:63bf:f5ff:fffe", // Teredo of 10.0.0.1
            "fec0::1",                              // site local
            "ff02::1",                              // multicast
            "100::1",                               // discard-only
            "2001:db8::1",                          // documentation
        ] {
            assert!(is_internal(a.parse().unwrap()), "{a}");
        }
        for a in [
            "93.184.216.34",
            "2606:2800:220:1::1",
            "2002:5db8:d822::1",
            "64:ff9b::5db8:d822",
            "2a00:1450:4001:81b::200e",
        ] {
            assert!(!is_internal(a.parse().unwrap()), "{a}");
        }
    }

    #[test]
    fn allow_list_matching() {
        let allowed = vec!["cdn.example.org".to_string(), ".media.example.net".to_string()];
        assert!(host_allowed("cdn.example.org", &allowed));
        assert!(host_allowed("a.media.example.net", &allowed));
        assert!(!host_allowed("media.example.net.evil.com", &allowed));
        assert!(!host_allowed("xcdn.example.org", &allowed));
    }

    #[tokio::test]
    async fn refusals_and_a_capped_fetch() {
        let app = axum::Router::new()
            .route("/small", axum::routing::get(|| async { vec![7u8; 100] }))
            .route("/big", axum::routing::get(|| async { vec![7u8; 10_000] }))
            .route(
                "/redirect",
                axum::routing::get(|| async {
                    axum::response::Redirect::temporary("http://169.254.169.254/")
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let url = |p: &str| format!("http://localhost:{port}{p}");
        let mut c = FetchConfig::default();
        assert!(
            matches!(fetch(&url("/small"), &c, 1000).await, Err(FetchError::Refused(_))),
            "disabled by default"
        );
        c.allowed_hosts = vec!["localhost".into()];
        let err = fetch(&url("/small"), &c, 1000).await.unwrap_err();
        assert!(err.to_string().contains("internal address"), "{err}");
        c.allow_private_addresses = true;
        assert_eq!(fetch(&url("/small"), &c, 1000).await.unwrap().len(), 100);
        assert_eq!(fetch(&url("/big"), &c, 1000).await, Err(FetchError::TooLarge(1000)));
        // Over the keep limit but under the fetch limit: digests of every byte, bytes not kept.
        let f = fetch_media(&url("/big"), &c, 1000).await.unwrap();
        assert_eq!((f.len, f.bytes.is_none()), (10_000, true));
        assert_eq!(f.digests, hashline_hash::digests(&[7u8; 10_000]));
        let f = fetch_media(&url("/small"), &c, 1000).await.unwrap();
        assert_eq!(f.bytes.as_deref(), Some(&[7u8; 100][..]));
        assert!(
            matches!(fetch(&url("/redirect"), &c, 1000).await, Err(FetchError::Failed(_))),
            "no redirects"
        );
        assert!(matches!(fetch("file:///etc/passwd", &c, 1000).await, Err(FetchError::Refused(_))));
        assert!(matches!(
            fetch(&format!("http://user:pw@localhost:{port}/small"), &c, 1000).await,
            Err(FetchError::Refused(_))
        ));
        c.allowed_hosts = vec!["example.org".into()];
        assert!(matches!(fetch(&url("/small"), &c, 1000).await, Err(FetchError::Refused(_))));
    }

    #[tokio::test]
    async fn fetch_errors_never_carry_the_url() {
        // A port nobody listens on: connection refused, retried, failed.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let c = FetchConfig {
            allowed_hosts: vec!["localhost".into()],
            allow_private_addresses: true,
            attempts: 2,
            timeout_s: 2,
            ..FetchConfig::default()
        };
        let url = format!("http://localhost:{port}/media/x.jpg?X-Amz-Signature=secret-signature-123");
        let err = fetch(&url, &c, 1000).await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, FetchError::Failed(_)), "{text}");
        assert!(!text.contains("secret-signature") && !text.contains("/media/"), "{text}");
    }
}
