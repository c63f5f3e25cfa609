//! Delivery to the hotline: `POST {url}/reports` with the JSON report, `Authorization: Bearer`,
//! `Idempotency-Key`; 2xx is delivered, 408/429/5xx and network errors are retried with
//! full-jitter exponential backoff (honouring `Retry-After`), any other answer parks the report
//! with the reason for an operator.
//!
//! The worker delivers strictly in outbox order: while the oldest pending report waits for its
//! retry, the ones behind it wait too. A refused (parked) report does not hold the line.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::model::Reporter;
use crate::outbox::{Outbox, OutboxError, Row};

/// `[hotline]` in `hashline.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HotlineConfig {
    /// Base URL of the hotline's intake API; reports go to `{url}/reports`. Empty: reports stay
    /// in the outbox (nothing is delivered).
    pub url: String,
    /// Name of the environment variable holding the bearer token (default
    /// `HASHLINE_HOTLINE_TOKEN`). The token is never read from the configuration file.
    pub token_env: String,
    /// Timeout of one attempt, in seconds (default 30).
    pub timeout_s: u64,
    /// First retry delay ceiling in milliseconds (default 1000); doubles per attempt.
    pub backoff_initial_ms: u64,
    /// Largest retry delay in seconds (default 600).
    pub backoff_max_s: u64,
    /// PEM file with a client certificate and its key, for mutual TLS.
    pub client_identity_pem: Option<PathBuf>,
    /// PEM file with extra CA certificates to trust (a hotline's private CA).
    pub ca_pem: Option<PathBuf>,
    /// Deliver over plain `http://` (default false: reports and the bearer token go over TLS
    /// only). For tests against a local hotline, never in production.
    pub allow_http: bool,
}

impl Default for HotlineConfig {
    fn default() -> Self {
        HotlineConfig {
            url: String::new(),
            token_env: "HASHLINE_HOTLINE_TOKEN".into(),
            timeout_s: 30,
            backoff_initial_ms: 1000,
            backoff_max_s: 600,
            client_identity_pem: None,
            ca_pem: None,
            allow_http: false,
        }
    }
}

/// Errors setting up delivery.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    /// No URL configured.
    #[error("no hotline URL: set [hotline] url in hashline.toml or HASHLINE_HOTLINE_URL")]
    NoUrl,
    /// The URL does not parse or is not http(s).
    #[error("hotline URL {0:?} is not an http:// or https:// URL")]
    BadUrl(String),
    /// A plain-HTTP URL without `allow_http`.
    #[error("hotline URL {0:?} is not https://: reports and the token must travel over TLS; use the hotline's https:// address ([hotline] allow_http = true is for tests against a local hotline only)")]
    NotTls(String),
    /// The organisation or contact named in reports is not configured.
    #[error("[reporter] {} still unconfigured: the hotline must know who reports; set them in hashline.toml before delivering", .0.join(" and "))]
    Unconfigured(Vec<&'static str>),
    /// A PEM file could not be used.
    #[error("{path}: {reason}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error("building the HTTP client: {0}")]
    Client(String),
    /// The outbox failed.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
}

/// The result of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// 2xx.
    Delivered,
    /// Try again, not before `after` (from `Retry-After`) if given.
    Retry {
        /// Why.
        reason: String,
        /// The server's `Retry-After`.
        after: Option<Duration>,
    },
    /// The hotline refused the report; an operator must look.
    Refused(String),
}

/// The HTTP side.
#[derive(Clone)]
pub struct HotlineClient {
    http: reqwest::Client,
    endpoint: String,
    token: Option<String>,
}

impl HotlineClient {
    /// Builds a client from configuration; the token comes from the environment variable
    /// named in `token_env`.
    pub fn new(config: &HotlineConfig) -> Result<HotlineClient, DeliverError> {
        let token = std::env::var(&config.token_env).ok().filter(|t| !t.is_empty());
        HotlineClient::with_token(config, token)
    }

    /// Builds a client with an explicit bearer token (or none).
    pub fn with_token(config: &HotlineConfig, token: Option<String>) -> Result<HotlineClient, DeliverError> {
        if config.url.is_empty() {
            return Err(DeliverError::NoUrl);
        }
        let url = config.url.trim_end_matches('/');
        if !(url.starts_with("http://") || url.starts_with("https://")) || reqwest::Url::parse(url).is_err() {
            return Err(DeliverError::BadUrl(config.url.clone()));
        }
        if url.starts_with("http://") && !config.allow_http {
            return Err(DeliverError::NotTls(config.url.clone()));
        }
        let mut b = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_s.max(1)))
            .connect_timeout(Duration::from_secs(config.timeout_s.clamp(1, 10)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("hashline/", env!("CARGO_PKG_VERSION")))
            .use_rustls_tls();
        let read = |p: &PathBuf| {
            std::fs::read(p).map_err(|e| DeliverError::Pem { path: p.clone(), reason: e.to_string() })
        };
        if let Some(p) = &config.client_identity_pem {
            let id = reqwest::Identity::from_pem(&read(p)?)
                .map_err(|e| DeliverError::Pem { path: p.clone(), reason: e.to_string() })?;
            b = b.identity(id);
        }
        if let Some(p) = &config.ca_pem {
            for c in reqwest::Certificate::from_pem_bundle(&read(p)?)
                .map_err(|e| DeliverError::Pem { path: p.clone(), reason: e.to_string() })?
            {
                b = b.add_root_certificate(c);
            }
        }
        let http = b.build().map_err(|e| DeliverError::Client(e.to_string()))?;
        Ok(HotlineClient { http, endpoint: format!("{url}/reports"), token })
    }

    /// Sends one report.
    pub async fn send(&self, row: &Row) -> Attempt {
        let mut req = self
            .http
            .post(&self.endpoint)
            .header("Idempotency-Key", &row.report.idempotency_key)
            .json(&row.report);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                let what = if e.is_timeout() {
                    "timed out"
                } else if e.is_connect() {
                    "could not connect"
                } else {
                    "request failed"
                };
                return Attempt::Retry { reason: format!("{what}: {}", e.without_url()), after: None };
            }
        };
        let status = resp.status();
        if status.is_success() {
            return Attempt::Delivered;
        }
        let after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| parse_retry_after(v.to_str().ok()?));
        let body: String = resp.text().await.unwrap_or_default().chars().take(300).collect();
        let reason = format!("HTTP {}: {}", status.as_u16(), body.trim());
        if status.as_u16() == 408 || status.as_u16() == 429 || status.is_server_error() {
            Attempt::Retry { reason, after }
        } else {
            Attempt::Refused(reason)
        }
    }
}

/// Reads `Retry-After` (seconds, or an HTTP date).
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(s) = v.parse::<u64>() {
        return Some(Duration::from_secs(s));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(std::time::SystemTime::now()).unwrap_or_default())
}

/// Full-jitter exponential backoff: a uniform delay in `[0, min(max, initial · 2^attempt)]`,
/// never shorter than the server's `Retry-After` (which is itself capped at `max`).
pub fn backoff(config: &HotlineConfig, attempt: u32, retry_after: Option<Duration>) -> Duration {
    let max = Duration::from_secs(config.backoff_max_s.max(1));
    let ceiling = Duration::from_millis(config.backoff_initial_ms.max(1))
        .saturating_mul(1u32.checked_shl(attempt.min(30)).unwrap_or(u32::MAX))
        .min(max);
    let mut r = [0u8; 8];
    let _ = getrandom::fill(&mut r);
    let frac = (u64::from_le_bytes(r) >> 11) as f64 / (1u64 << 53) as f64;
    let jittered = ceiling.mul_f64(frac);
    match retry_after {
        Some(a) => jittered.max(a.min(max)),
        None => jittered,
    }
}

/// What one step of the worker did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing pending.
    Idle,
    /// The head report is not due yet.
    Waiting(Duration),
    /// Delivered the head report.
    Delivered(String),
    /// The attempt failed; retry scheduled.
    Retried(String),
    /// The hotline refused it.
    Parked(String),
}

/// The delivery worker.
pub struct Deliverer {
    outbox: Arc<Outbox>,
    client: HotlineClient,
    config: HotlineConfig,
    wake: Arc<Notify>,
    reporter: Option<Reporter>,
}

/// Checks what delivery needs before anything is sent: an https:// URL (or `allow_http`) and a
/// configured organisation and contact. What `hashline reporter --check-config` reports.
pub fn check_delivery(config: &HotlineConfig, reporter: &Reporter) -> Result<(), DeliverError> {
    let missing = reporter.placeholder_fields();
    if !missing.is_empty() {
        return Err(DeliverError::Unconfigured(missing));
    }
    HotlineClient::with_token(config, None).map(|_| ())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, OutboxError> + Send + 'static,
) -> Result<T, OutboxError> {
    // SQLite calls (fsync) stay off the async worker threads.
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Deliverer {
    /// A worker over `outbox`, delivering as `reporter`: refused while the URL is not TLS or
    /// the reporter's organisation or contact is unconfigured ([`check_delivery`]).
    pub fn new(
        outbox: Arc<Outbox>,
        config: &HotlineConfig,
        reporter: Reporter,
    ) -> Result<Deliverer, DeliverError> {
        check_delivery(config, &reporter)?;
        let mut d = Deliverer::with_client(outbox, HotlineClient::new(config)?, config);
        d.reporter = Some(reporter);
        Ok(d)
    }

    /// A worker with a client built by the caller. It knows no reporter of its own: a report
    /// whose reporter block is unconfigured is parked, not sent.
    pub fn with_client(outbox: Arc<Outbox>, client: HotlineClient, config: &HotlineConfig) -> Deliverer {
        Deliverer { client, outbox, config: config.clone(), wake: Arc::new(Notify::new()), reporter: None }
    }

    /// A handle that wakes the worker when a report is enqueued.
    pub fn waker(&self) -> Arc<Notify> {
        Arc::clone(&self.wake)
    }

    /// Refreshes the outbox gauges.
    pub async fn refresh_gauges(&self) -> Result<(), OutboxError> {
        let ob = Arc::clone(&self.outbox);
        let s = blocking(move || ob.stats()).await?;
        crate::set_outbox_gauges(&s);
        Ok(())
    }

    /// Why `row` must not be sent: dismissed or "not illegal", or it names no organisation
    /// and this worker has none to name.
    fn refusal(&self, row: &Row) -> Option<String> {
        if let Some(why) = row.not_reportable() {
            return Some(format!("{why}; never delivered"));
        }
        let missing = row.report.reporter.placeholder_fields();
        (!missing.is_empty() && self.reporter.is_none()).then(|| {
            format!(
                "the report's {} is unconfigured; set [reporter] and run `hashline reporter`",
                missing.join(" and ")
            )
        })
    }

    /// Delivers the head report if it is due.
    pub async fn step(&self) -> Result<Step, OutboxError> {
        let ob = Arc::clone(&self.outbox);
        let Some(mut row) = blocking(move || ob.head()).await? else {
            return Ok(Step::Idle);
        };
        // next_attempt_at holds unix milliseconds.
        let wait = row.next_attempt_at - now_ms();
        if wait > 0 {
            return Ok(Step::Waiting(Duration::from_millis(wait as u64)));
        }
        let m = hashline_metrics::global();
        if let Some(reason) = self.refusal(&row) {
            // Never sent, whatever put it in the queue (a relayed event, a hand-edited row).
            let (ob, seq, id) = (Arc::clone(&self.outbox), row.seq, row.report.report_id.clone());
            let r = reason.clone();
            blocking(move || ob.park(seq, &r)).await?;
            m.reports_total.with_label_values(&[hashline_metrics::report_outcome::PARKED]).inc();
            tracing::error!(report_id = %id, %reason, "parked a report that must not be delivered");
            return Ok(Step::Parked(id));
        }
        if let Some(r) =
            self.reporter.as_ref().filter(|_| !row.report.reporter.placeholder_fields().is_empty())
        {
            // Made before [reporter] was set: the organisation that delivers it is its reporter.
            row.report.reporter = r.clone();
        }
        let started = Instant::now();
        let attempt = self.client.send(&row).await;
        m.hotline_request_duration_seconds.observe(started.elapsed().as_secs_f64());
        let id = row.report.report_id.clone();
        let seq = row.seq;
        let ob = Arc::clone(&self.outbox);
        Ok(match attempt {
            Attempt::Delivered => {
                blocking(move || ob.mark_delivered(seq)).await?;
                m.reports_total.with_label_values(&[hashline_metrics::report_outcome::DELIVERED]).inc();
                tracing::info!(report_id = %id, attempts = row.attempts + 1, "report delivered");
                Step::Delivered(id)
            }
            Attempt::Retry { reason, after } => {
                let delay = backoff(&self.config, row.attempts, after);
                let next = now_ms() + delay.as_millis() as i64;
                let r = reason.clone();
                blocking(move || ob.mark_retry(seq, next, &r)).await?;
                m.reports_total.with_label_values(&[hashline_metrics::report_outcome::RETRIED]).inc();
                tracing::warn!(report_id = %id, attempts = row.attempts + 1, retry_in_ms = delay.as_millis() as u64,
                    %reason, "delivery failed; will retry");
                Step::Retried(id)
            }
            Attempt::Refused(reason) => {
                let r = reason.clone();
                blocking(move || ob.park(seq, &r)).await?;
                m.reports_total.with_label_values(&[hashline_metrics::report_outcome::PARKED]).inc();
                tracing::error!(report_id = %id, %reason,
                    "hotline refused the report; parked (see `hashline reports list --state parked`)");
                Step::Parked(id)
            }
        })
    }

    /// Runs until `shutdown` resolves (or, with `drain`, until nothing is pending). An
    /// in-flight attempt is finished before returning, so its outcome is recorded.
    pub async fn run(
        &self,
        drain: bool,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), OutboxError> {
        tokio::pin!(shutdown);
        loop {
            self.refresh_gauges().await?;
            let pause = match self.step().await? {
                Step::Idle if drain => return Ok(()),
                Step::Idle => Duration::from_secs(5),
                Step::Waiting(d) => d.min(Duration::from_secs(5)),
                Step::Delivered(_) | Step::Parked(_) | Step::Retried(_) => continue,
            };
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                () = self.wake.notified() => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded_and_honours_retry_after() {
        let c = HotlineConfig { backoff_initial_ms: 100, backoff_max_s: 2, ..HotlineConfig::default() };
        for attempt in 0..64 {
            let d = backoff(&c, attempt, None);
            assert!(d <= Duration::from_millis((100u64 << attempt.min(20)).min(2000)), "{attempt} {d:?}");
        }
        assert!(backoff(&c, 0, Some(Duration::from_secs(1))) >= Duration::from_secs(1));
        assert_eq!(backoff(&c, 0, Some(Duration::from_secs(3600))), Duration::from_secs(2));
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn config_errors_say_what_to_do() {
        assert!(matches!(HotlineClient::new(&HotlineConfig::default()), Err(DeliverError::NoUrl)));
        let c = HotlineConfig { url: "ftp://x".into(), ..HotlineConfig::default() };
        assert!(matches!(HotlineClient::new(&c), Err(DeliverError::BadUrl(_))));
    }

    #[test]
    fn plain_http_and_placeholder_reporters_are_refused() {
        let reporter = Reporter {
            organisation: "Example Platform Ltd".into(),
            contact: "safety@example.org".into(),
            country: "KH".into(),
        };
        let http = HotlineConfig { url: "http://hotline.example/api".into(), ..HotlineConfig::default() };
        let err = check_delivery(&http, &reporter).unwrap_err();
        assert!(matches!(err, DeliverError::NotTls(_)), "{err}");
        assert!(err.to_string().contains("TLS"));
        check_delivery(&HotlineConfig { allow_http: true, ..http.clone() }, &reporter).unwrap();
        let https = HotlineConfig { url: "https://hotline.example/api".into(), ..HotlineConfig::default() };
        check_delivery(&https, &reporter).unwrap();
        let placeholder = Reporter {
            organisation: "unconfigured (set [reporter] organisation)".into(),
            contact: " ".into(),
            ..reporter
        };
        let err = check_delivery(&https, &placeholder).unwrap_err();
        assert!(matches!(&err, DeliverError::Unconfigured(f) if f == &["organisation", "contact"]), "{err}");
    }
}
