//! Every Prometheus metric hashline exports, declared in this one module.
//!
//! Rules every metric here follows: the `hashline_` prefix, the unit in the name
//! (`_seconds`, `_bytes`, `_total`), and labels whose values come from a small closed set
//! (outcomes, list names, signal types, endpoint names, API token names). A label never carries
//! an upload id, a file name, a URL or a hash value.
//!
//! ```
//! let m = hashline_metrics::Metrics::new();
//! m.reports_total.with_label_values(&["delivered"]).inc();
//! let text = m.render();
//! assert!(text.contains("hashline_reports_total{outcome=\"delivered\"} 1"));
//! ```

use std::sync::OnceLock;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// Outcomes of `hashline_reports_total`.
pub mod report_outcome {
    /// The hotline answered 2xx.
    pub const DELIVERED: &str = "delivered";
    /// A delivery attempt failed and will be retried.
    pub const RETRIED: &str = "retried";
    /// The hotline refused the report (4xx); it waits for an operator.
    pub const PARKED: &str = "parked";
    /// A report for the same upload and list entries was already in the outbox.
    pub const DUPLICATE: &str = "duplicate";
    /// Queued for analyst review before delivery.
    pub const REVIEW: &str = "review";
    /// Queued for automatic delivery.
    pub const QUEUED: &str = "queued";
}

/// Outcomes of `hashline_uploads_total`.
pub mod upload_outcome {
    /// At least one list entry matched; the report is in the outbox.
    pub const MATCHED: &str = "matched";
    /// Nothing matched.
    pub const NO_MATCH: &str = "no_match";
    /// The record could not be processed; it is on the dead-letter topic.
    pub const DEAD_LETTER: &str = "dead_letter";
}

/// Hash latency buckets: 1 ms to 10 s.
const SECONDS_BUCKETS: &[f64] =
    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The metric families of one process.
pub struct Metrics {
    registry: Registry,
    /// `hashline_reports_total{outcome}`: reports by delivery outcome.
    pub reports_total: IntCounterVec,
    /// `hashline_outbox_pending`: reports waiting for delivery (not parked, not in review).
    pub outbox_pending: IntGauge,
    /// `hashline_outbox_review`: reports waiting for an analyst.
    pub outbox_review: IntGauge,
    /// `hashline_outbox_parked`: reports the hotline refused, waiting for an operator.
    pub outbox_parked: IntGauge,
    /// `hashline_outbox_oldest_seconds`: age of the oldest report waiting for delivery.
    pub outbox_oldest_seconds: IntGauge,
    /// `hashline_quarantined_entries`: list entries quarantined for flooding (their matches
    /// wait for review) until a supervisor lifts or disables them.
    pub quarantined_entries: IntGauge,
    /// `hashline_hotline_request_duration_seconds`: one delivery attempt.
    pub hotline_request_duration_seconds: Histogram,
    /// `hashline_evidence_reads_total{purpose}`: audited evidence reads.
    pub evidence_reads_total: IntCounterVec,
    /// `hashline_hash_duration_seconds`: decode + hash of one upload.
    pub hash_duration_seconds: Histogram,
    /// `hashline_pdq_skipped_total{reason}`: uploads digest-matched only.
    pub pdq_skipped_total: IntCounterVec,
    /// `hashline_matches_total{list,signal}`: matches found.
    pub matches_total: IntCounterVec,
    /// `hashline_videos_total{outcome}`: videos examined, `hashed` or why not (a fixed kind:
    /// `too_large`, `unreadable`, `timed_out`, `crashed`, …).
    pub videos_total: IntCounterVec,
    /// `hashline_video_frames_hashed_total`: video frames hashed (vPDQ).
    pub video_frames_hashed_total: IntCounter,
    /// `hashline_list_entries{list,signal}`: entries in force per loaded list.
    pub list_entries: IntGaugeVec,
    /// `hashline_list_version{list}`: loaded version of each list.
    pub list_version: IntGaugeVec,
    /// `hashline_list_updated_timestamp_seconds{list}`: when the loaded version was imported.
    pub list_updated_timestamp_seconds: IntGaugeVec,
    /// `hashline_lists_loaded`: 1 once the match index is built.
    pub lists_loaded: IntGauge,
    /// `hashline_uploads_total{outcome}`: uploads by outcome (matched, no_match, dead_letter).
    pub uploads_total: IntCounterVec,
    /// `hashline_dead_letters_total{reason}`: records sent to the dead-letter topic.
    pub dead_letters_total: IntCounterVec,
    /// `hashline_consumer_lag{topic,partition}`: records behind the high watermark.
    pub consumer_lag: IntGaugeVec,
    /// `hashline_partitions_assigned`: upload partitions this instance holds.
    pub partitions_assigned: IntGauge,
    /// `hashline_in_flight`: uploads taken and not yet durable.
    pub in_flight: IntGauge,
    /// `hashline_upload_bytes_total`: media bytes processed.
    pub upload_bytes_total: IntCounter,
    /// `hashline_api_requests_total{token,endpoint,status}`: match API calls.
    pub api_requests_total: IntCounterVec,
    /// `hashline_api_request_duration_seconds{endpoint}`: match API latency.
    pub api_request_duration_seconds: HistogramVec,
    /// `hashline_api_rate_limited_total{token}`: calls refused with 429.
    pub api_rate_limited_total: IntCounterVec,
    /// `hashline_triage_logins_total{outcome}`: triage logins (`success`, `failure`, `locked`).
    pub triage_logins_total: IntCounterVec,
    /// `hashline_triage_reveals_total`: media reveals by analysts (their exposure).
    pub triage_reveals_total: IntCounter,
    /// `hashline_triage_exposure_seconds_total`: seconds revealed media could have been on
    /// screen (reveal to leaving the case, at most the reveal window).
    pub triage_exposure_seconds_total: IntCounter,
    /// `hashline_triage_exposure_cap_reached_total`: reveals refused by the daily cap.
    pub triage_exposure_cap_reached_total: IntCounter,
    /// `hashline_triage_decisions_total{decision}`: `confirm`, `dismiss`, `escalate`.
    pub triage_decisions_total: IntCounterVec,
    /// `hashline_triage_csrf_rejected_total`: forms refused for a missing or wrong CSRF token.
    pub triage_csrf_rejected_total: IntCounter,
    /// `hashline_api_memory_reserved_bytes`: memory `/v1/hash` requests hold now (bodies and
    /// decode estimates), against `server.memory_budget_mib`.
    pub api_memory_reserved_bytes: IntGauge,
    /// `hashline_relay_rejected_total{reason}`: match events the central reporter refused
    /// (`no_mac`, `bad_mac`, `not_an_event`, `invalid_report`).
    pub relay_rejected_total: IntCounterVec,
}

fn counter(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric definition");
    r.register(Box::new(c.clone())).expect("metric registered once");
    c
}

fn plain_counter(r: &Registry, name: &str, help: &str) -> IntCounter {
    let c = IntCounter::new(name, help).expect("valid metric definition");
    r.register(Box::new(c.clone())).expect("metric registered once");
    c
}

fn gauge(r: &Registry, name: &str, help: &str) -> IntGauge {
    let g = IntGauge::new(name, help).expect("valid metric definition");
    r.register(Box::new(g.clone())).expect("metric registered once");
    g
}

fn gauge_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric definition");
    r.register(Box::new(g.clone())).expect("metric registered once");
    g
}

fn histogram(r: &Registry, name: &str, help: &str) -> Histogram {
    let h = Histogram::with_opts(HistogramOpts::new(name, help).buckets(SECONDS_BUCKETS.to_vec()))
        .expect("valid metric definition");
    r.register(Box::new(h.clone())).expect("metric registered once");
    h
}

impl Metrics {
    /// A fresh set of metrics in its own registry (tests use one each; processes use
    /// [`global`]).
    #[allow(clippy::expect_used)] // the definitions are constants; a failure is a programming error
    pub fn new() -> Metrics {
        let r = Registry::new();
        let api_request_duration_seconds = HistogramVec::new(
            HistogramOpts::new("hashline_api_request_duration_seconds", "Match API request latency.")
                .buckets(SECONDS_BUCKETS.to_vec()),
            &["endpoint"],
        )
        .expect("valid metric definition");
        r.register(Box::new(api_request_duration_seconds.clone())).expect("metric registered once");
        let m = Metrics {
            reports_total: counter(&r, "hashline_reports_total", "Reports by outcome.", &["outcome"]),
            outbox_pending: gauge(&r, "hashline_outbox_pending", "Reports waiting for delivery."),
            outbox_review: gauge(&r, "hashline_outbox_review", "Reports waiting for analyst review."),
            outbox_parked: gauge(&r, "hashline_outbox_parked", "Reports refused by the hotline."),
            quarantined_entries: gauge(
                &r,
                "hashline_quarantined_entries",
                "List entries quarantined for matching far more uploads than before; their matches wait for review.",
            ),
            outbox_oldest_seconds: gauge(
                &r,
                "hashline_outbox_oldest_seconds",
                "Age of the oldest report waiting for delivery.",
            ),
            hotline_request_duration_seconds: histogram(
                &r,
                "hashline_hotline_request_duration_seconds",
                "Duration of one delivery attempt to the hotline.",
            ),
            evidence_reads_total: counter(
                &r,
                "hashline_evidence_reads_total",
                "Audited reads of preserved evidence.",
                &["purpose"],
            ),
            hash_duration_seconds: histogram(
                &r,
                "hashline_hash_duration_seconds",
                "Decode and hash time of one upload.",
            ),
            pdq_skipped_total: counter(
                &r,
                "hashline_pdq_skipped_total",
                "Uploads matched on digests only, by reason PDQ was skipped.",
                &["reason"],
            ),
            matches_total: counter(&r, "hashline_matches_total", "Matches found.", &["list", "signal"]),
            videos_total: counter(
                &r,
                "hashline_videos_total",
                "Videos examined, by outcome (hashed, or why not).",
                &["outcome"],
            ),
            video_frames_hashed_total: plain_counter(
                &r,
                "hashline_video_frames_hashed_total",
                "Video frames hashed with PDQ (vPDQ).",
            ),
            list_entries: gauge_vec(
                &r,
                "hashline_list_entries",
                "Entries in force per loaded list.",
                &["list", "signal"],
            ),
            list_version: gauge_vec(&r, "hashline_list_version", "Loaded version of each list.", &["list"]),
            list_updated_timestamp_seconds: gauge_vec(
                &r,
                "hashline_list_updated_timestamp_seconds",
                "Unix time the loaded version of each list was imported.",
                &["list"],
            ),
            lists_loaded: gauge(&r, "hashline_lists_loaded", "1 once the match index is built."),
            uploads_total: counter(&r, "hashline_uploads_total", "Uploads by outcome.", &["outcome"]),
            dead_letters_total: counter(
                &r,
                "hashline_dead_letters_total",
                "Records sent to the dead-letter topic, by reason.",
                &["reason"],
            ),
            consumer_lag: gauge_vec(
                &r,
                "hashline_consumer_lag",
                "Records behind the high watermark, per assigned partition.",
                &["topic", "partition"],
            ),
            in_flight: gauge(&r, "hashline_in_flight", "Uploads taken and not yet durable."),
            partitions_assigned: gauge(
                &r,
                "hashline_partitions_assigned",
                "Upload partitions this instance holds.",
            ),
            upload_bytes_total: plain_counter(&r, "hashline_upload_bytes_total", "Media bytes processed."),
            api_requests_total: counter(
                &r,
                "hashline_api_requests_total",
                "Match API requests by token, endpoint and status class.",
                &["token", "endpoint", "status"],
            ),
            api_request_duration_seconds,
            api_rate_limited_total: counter(
                &r,
                "hashline_api_rate_limited_total",
                "Match API requests refused by the per-token rate limit.",
                &["token"],
            ),
            triage_logins_total: counter(
                &r,
                "hashline_triage_logins_total",
                "Triage app logins by outcome (success, failure, locked).",
                &["outcome"],
            ),
            triage_reveals_total: plain_counter(
                &r,
                "hashline_triage_reveals_total",
                "Media reveals by analysts in the triage app (exposure).",
            ),
            triage_exposure_seconds_total: plain_counter(
                &r,
                "hashline_triage_exposure_seconds_total",
                "Seconds revealed media could have been on analysts' screens (reveal to leaving the case, capped by the reveal window).",
            ),
            triage_exposure_cap_reached_total: plain_counter(
                &r,
                "hashline_triage_exposure_cap_reached_total",
                "Reveals refused because the analyst reached the daily exposure cap.",
            ),
            triage_decisions_total: counter(
                &r,
                "hashline_triage_decisions_total",
                "Triage decisions (confirm, dismiss, escalate).",
                &["decision"],
            ),
            triage_csrf_rejected_total: plain_counter(
                &r,
                "hashline_triage_csrf_rejected_total",
                "Triage forms refused for a missing or wrong CSRF token.",
            ),
            api_memory_reserved_bytes: {
                let g = IntGauge::new(
                    "hashline_api_memory_reserved_bytes",
                    "Memory /v1/hash requests hold now (bodies and decode estimates).",
                )
                .expect("valid metric definition");
                r.register(Box::new(g.clone())).expect("metric registered once");
                g
            },
            relay_rejected_total: counter(
                &r,
                "hashline_relay_rejected_total",
                "Match events the central reporter refused (unauthenticated, malformed or invalid).",
                &["reason"],
            ),
            registry: r,
        };
        // Series with a fixed set of label values exist from the start (at 0), so rates and
        // alerts see them before the first event.
        for o in [
            report_outcome::DELIVERED,
            report_outcome::RETRIED,
            report_outcome::PARKED,
            report_outcome::DUPLICATE,
            report_outcome::REVIEW,
            report_outcome::QUEUED,
        ] {
            m.reports_total.with_label_values(&[o]);
        }
        for o in ["success", "failure", "locked"] {
            m.triage_logins_total.with_label_values(&[o]);
        }
        for d in ["confirm", "dismiss", "escalate"] {
            m.triage_decisions_total.with_label_values(&[d]);
        }
        for r in ["no_mac", "bad_mac", "not_an_event", "invalid_report"] {
            m.relay_rejected_total.with_label_values(&[r]);
        }
        for o in [upload_outcome::MATCHED, upload_outcome::NO_MATCH, upload_outcome::DEAD_LETTER] {
            m.uploads_total.with_label_values(&[o]);
        }
        // The video outcomes the alert rules divide by or look for.
        for o in ["hashed", "tool_missing"] {
            m.videos_total.with_label_values(&[o]);
        }
        m
    }

    /// The text exposition format (what `/metrics` serves).
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        // Encoding into a Vec cannot fail for well-formed families.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// The process-wide metrics.
pub fn global() -> &'static Metrics {
    static GLOBAL: OnceLock<Metrics> = OnceLock::new();
    GLOBAL.get_or_init(Metrics::new)
}

/// The content type of [`Metrics::render`].
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_has_the_prefix_and_help() {
        let m = Metrics::new();
        m.matches_total.with_label_values(&["l", "pdq"]).inc();
        m.hash_duration_seconds.observe(0.01);
        for line in m.render().lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                assert!(rest.starts_with("hashline_"), "{line}");
            } else if !line.starts_with('#') {
                assert!(line.starts_with("hashline_"), "{line}");
            }
        }
    }
}
