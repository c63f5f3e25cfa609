//! The consumer: uploads in, outcomes out, offsets stored only when durable, in partition
//! order.
//!
//! Per record: read the producer contract from the headers (a record without an upload id,
//! or with no media goes to the dead-letter topic); take the media from the value or fetch it
//! from `hashline-media-url` (media over `[hash] max_input_bytes` is digest-matched, its PDQ
//! skipped with the reason: a listed MD5 of a large video still matches); decode and hash on the bounded CPU pool
//! (never on the async runtime); match every list; for a match, commit the report to the
//! outbox (durable, de-duplicated by upload id + list entry) and produce a match event to
//! `hashline.matches` and wait for the broker's acknowledgement. Then, and only then, the
//! record's outcome is durable and its offset may be stored — once every earlier record of its
//! partition is durable too. librdkafka commits stored offsets (`enable.auto.offset.store =
//! false`, `enable.auto.commit = true`), and the pipeline commits synchronously when partitions
//! are revoked and at shutdown.
//!
//! A failure to make an outcome durable (outbox write, broker unreachable for the match event
//! or the dead letter) is retried with backoff for as long as it takes: the record is never
//! skipped, and the partition's offset does not move past it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hashline_lists::LiveLists;
use hashline_report::{Detection, ReportStage};
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::statistics::Statistics;
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::contract::{header, MatchEvent, MATCH_EVENT_SCHEMA};
use crate::fetch::FetchConfig;
use crate::kafka::{client_config, durably};
use crate::process::{Intake, Processed};
use crate::tracker::Tracker;

/// `[kafka]` in `hashline.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// Bootstrap brokers, comma-separated (`HASHLINE_BROKERS`; default `127.0.0.1:9092`).
    pub brokers: String,
    /// Consumer group (`HASHLINE_GROUP`; default `hashline`). Every instance of a deployment
    /// uses the same group; Kafka shares the partitions among them.
    pub group: String,
    /// Topic of uploads (default `hashline.uploads`).
    pub uploads_topic: String,
    /// Topic of match events (default `hashline.matches`).
    pub matches_topic: String,
    /// Topic of records that could not be processed (default `hashline.dead-letter`).
    pub dead_letter_topic: String,
    /// Records of one partition taken and not yet durable, at most (default 16). Consumption
    /// waits at the limit: backpressure, never unbounded memory.
    pub max_in_flight_per_partition: usize,
    /// At shutdown, how long to wait for in-flight records before committing and exiting
    /// (seconds, default 30). Records not finished by then are redelivered after restart.
    pub drain_timeout_s: u64,
    /// librdkafka statistics interval (ms, default 5000): consumer lag and broker state.
    pub statistics_interval_ms: u64,
    /// Extra librdkafka properties for both the consumer and the producer (SASL, SSL, ...),
    /// e.g. `"security.protocol" = "SASL_SSL"`.
    pub properties: BTreeMap<String, String>,
    /// Fetching `hashline-media-url`.
    pub fetch: FetchConfig,
    /// Who delivers this instance's reports: `local` (default; they stay pending in this data
    /// folder for the built-in worker or `hashline reporter`) or `relay` (marked relayed once
    /// the match event is acknowledged; a central `hashline reporter --from-kafka` delivers).
    pub delivery: Delivery,
    /// File holding the 256-bit key (64 hex digits) that authenticates match events (an
    /// HMAC-SHA-256 in the `hashline-mac` header), shared by the scanners and the central
    /// reporter; `HASHLINE_RELAY_KEY` overrides it. Required for `delivery = "relay"` and
    /// `reporter --from-kafka`: the reporter takes no event it cannot authenticate.
    pub relay_key_file: Option<std::path::PathBuf>,
}

/// Who delivers reports made by `hashline run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// From this data folder.
    #[default]
    Local,
    /// Through `hashline.matches` and a central reporter.
    Relay,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            brokers: "127.0.0.1:9092".into(),
            group: "hashline".into(),
            uploads_topic: "hashline.uploads".into(),
            matches_topic: "hashline.matches".into(),
            dead_letter_topic: "hashline.dead-letter".into(),
            max_in_flight_per_partition: 16,
            drain_timeout_s: 30,
            statistics_interval_ms: 5000,
            properties: BTreeMap::new(),
            fetch: FetchConfig::default(),
            delivery: Delivery::Local,
            relay_key_file: None,
        }
    }
}

impl KafkaConfig {
    /// The relay key: `HASHLINE_RELAY_KEY` (64 hex digits), else the file `relay_key_file`
    /// names, else none.
    pub fn relay_key(&self) -> Result<Option<[u8; 32]>, PipelineError> {
        let parse = |text: &str, from: &str| {
            hashline_report::mac::parse_key(text)
                .map(Some)
                .ok_or_else(|| PipelineError::Config(format!("{from}: the relay key is 64 hex digits")))
        };
        if let Ok(v) = std::env::var("HASHLINE_RELAY_KEY") {
            return parse(&v, "HASHLINE_RELAY_KEY");
        }
        match &self.relay_key_file {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| {
                    PipelineError::Config(format!("kafka.relay_key_file {}: {e}", p.display()))
                })?;
                parse(&text, &format!("kafka.relay_key_file {}", p.display()))
            }
            None => Ok(None),
        }
    }
}

/// Errors starting the pipeline.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The Kafka client could not be configured.
    #[error("Kafka client: {0} (check [kafka] brokers and properties)")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// Bad configuration.
    #[error("{0}")]
    Config(String),
    /// The CPU pool.
    #[error("starting the CPU pool: {0}")]
    Pool(String),
}

/// What happened to one upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Matched; report in the outbox, match event acknowledged.
    Matched,
    /// Nothing matched.
    NoMatch,
    /// On the dead-letter topic.
    DeadLetter,
}

struct Ctx {
    tracker: Arc<Mutex<Tracker>>,
    broker_up: Arc<AtomicBool>,
}

impl ClientContext for Ctx {
    fn stats(&self, s: Statistics) {
        let m = hashline_metrics::global();
        for (topic, t) in &s.topics {
            for (p, part) in &t.partitions {
                if *p >= 0 && part.consumer_lag >= 0 {
                    m.consumer_lag
                        .with_label_values(&[topic.as_str(), &p.to_string()])
                        .set(part.consumer_lag);
                }
            }
        }
        let up = s.brokers.values().any(|b| b.state == "UP");
        self.broker_up.store(up, Ordering::Relaxed);
    }

    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        tracing::warn!(%error, reason, "Kafka client error");
    }
}

impl ConsumerContext for Ctx {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            // Commit what is stored, so the partitions' next owner starts right after the last
            // durable record. Records still in flight here are redelivered to it.
            match consumer.commit_consumer_state(CommitMode::Sync) {
                Ok(()) => {}
                Err(rdkafka::error::KafkaError::ConsumerCommit(
                    rdkafka::types::RDKafkaErrorCode::NoOffset,
                )) => {}
                Err(e) => tracing::warn!(error = %e, "commit on revoke failed"),
            }
            let mut t = self.tracker.lock().unwrap_or_else(|p| p.into_inner());
            for e in tpl.elements() {
                t.forget(e.topic(), e.partition());
                let _ = hashline_metrics::global()
                    .consumer_lag
                    .remove_label_values(&[e.topic(), &e.partition().to_string()]);
            }
            hashline_metrics::global().partitions_assigned.set(0);
            tracing::info!(partitions = tpl.count(), "partitions revoked");
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            hashline_metrics::global().partitions_assigned.set(tpl.count() as i64);
            tracing::info!(partitions = tpl.count(), "partitions assigned");
        }
    }
}

/// The running pipeline.
pub struct Pipeline {
    config: KafkaConfig,
    consumer: StreamConsumer<Ctx>,
    producer: FutureProducer,
    intake: Intake,
    stage: Arc<ReportStage>,
    tracker: Arc<Mutex<Tracker>>,
    done: Notify,
    broker_up: Arc<AtomicBool>,
    relay_key: Option<[u8; 32]>,
    /// Uploads examined, for `hashline stats` (counts only).
    examined: Arc<hashline_report::Tally>,
    /// Where journal rows go, when the journal is on.
    journal_topic: Option<String>,
}

impl Pipeline {
    /// Builds the clients (no connection yet) and the CPU pool of `threads` (0: all cores).
    pub fn new(
        config: KafkaConfig,
        lists: Arc<LiveLists>,
        stage: Arc<ReportStage>,
        examine: hashline_engine::Settings,
        threads: usize,
    ) -> Result<Pipeline, PipelineError> {
        if config.max_in_flight_per_partition == 0 {
            return Err(PipelineError::Config("kafka.max_in_flight_per_partition must be at least 1".into()));
        }
        for t in [&config.uploads_topic, &config.matches_topic, &config.dead_letter_topic] {
            if t.is_empty() {
                return Err(PipelineError::Config("kafka topic names must not be empty".into()));
            }
        }
        let relay_key = config.relay_key()?;
        if config.delivery == Delivery::Relay && relay_key.is_none() {
            return Err(PipelineError::Config(
                "kafka.delivery = \"relay\" needs a relay key (kafka.relay_key_file or HASHLINE_RELAY_KEY, 64 hex \
                 digits, the same for the central reporter): it takes no unauthenticated match event"
                    .into(),
            ));
        }
        let tracker = Arc::new(Mutex::new(Tracker::default()));
        let broker_up = Arc::new(AtomicBool::new(false));
        let consumer: StreamConsumer<Ctx> = client_config(&config)
            .set("group.id", &config.group)
            .set("enable.auto.commit", "true")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("statistics.interval.ms", config.statistics_interval_ms.to_string())
            .create_with_context(Ctx { tracker: Arc::clone(&tracker), broker_up: Arc::clone(&broker_up) })?;
        let producer: FutureProducer =
            client_config(&config).set("acks", "all").set("message.timeout.ms", "30000").create()?;
        // Two jobs per thread queued or running: hashing keeps up, memory stays bounded.
        let cpu = hashline_engine::CpuPool::new(threads, 2, "hash")
            .map_err(|e| PipelineError::Pool(e.to_string()))?;
        let intake = Intake { lists, examine, cpu, fetch: config.fetch.clone() };
        Ok(Pipeline {
            config,
            consumer,
            producer,
            intake,
            examined: Arc::new(hashline_report::Tally::new(
                Arc::clone(&stage.outbox),
                hashline_report::Channel::Kafka,
            )),
            stage,
            tracker,
            done: Notify::new(),
            broker_up,
            relay_key,
            journal_topic: None,
        })
    }

    /// Asks the brokers for the uploads topic: its partition count, or why not.
    pub fn check_broker(&self, timeout: Duration) -> Result<usize, String> {
        let md = self
            .consumer
            .fetch_metadata(Some(&self.config.uploads_topic), timeout)
            .map_err(|e| format!("no broker answered at {} ({e})", self.config.brokers))?;
        let t = md.topics().first().ok_or("no topic metadata")?;
        if let Some(e) = t.error() {
            return Err(format!("topic {}: {e:?}", self.config.uploads_topic));
        }
        Ok(t.partitions().len())
    }

    /// Ready when lists are loaded and a broker answered.
    pub fn ready(&self) -> Result<(), String> {
        if self.intake.lists.snapshot().versions().is_empty() {
            return Err("no lists in the store".into());
        }
        if !self.broker_up.load(Ordering::Relaxed) {
            return Err("no broker reachable yet".into());
        }
        Ok(())
    }

    /// Consumes until `shutdown` resolves; then stops taking records, waits for in-flight ones
    /// (up to `drain_timeout_s`), commits and returns.
    pub async fn run(
        self: Arc<Self>,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), PipelineError> {
        self.consumer.subscribe(&[self.config.uploads_topic.as_str()])?;
        tracing::info!(topic = %self.config.uploads_topic, group = %self.config.group, "consuming");
        let tally = Arc::clone(&self.examined);
        let flusher = tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            every.tick().await;
            loop {
                every.tick().await;
                flush(&tally).await;
            }
        });
        tokio::pin!(shutdown);
        let max = self.config.max_in_flight_per_partition;
        'consume: loop {
            let msg = tokio::select! {
                () = &mut shutdown => break 'consume,
                m = self.consumer.recv() => m,
            };
            let msg = match msg {
                Ok(m) => m.detach(),
                Err(e) => {
                    tracing::warn!(error = %e, "consume failed; retrying");
                    tokio::select! {
                        () = &mut shutdown => break 'consume,
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue 'consume,
                    }
                }
            };
            // Backpressure: wait while this partition has `max` records in flight.
            loop {
                let notified = self.done.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                let n = self
                    .tracker
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .in_flight(msg.topic(), msg.partition());
                if n < max {
                    break;
                }
                tokio::select! {
                    () = &mut shutdown => break 'consume,
                    () = notified => {}
                }
            }
            self.tracker.lock().unwrap_or_else(|p| p.into_inner()).begin(
                msg.topic(),
                msg.partition(),
                msg.offset(),
            );
            hashline_metrics::global().in_flight.inc();
            tokio::spawn(Arc::clone(&self).process(msg));
        }
        tracing::info!("stopping: draining in-flight uploads");
        let deadline = Instant::now() + Duration::from_secs(self.config.drain_timeout_s);
        loop {
            let notified = self.done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let left = self.tracker.lock().unwrap_or_else(|p| p.into_inner()).total_in_flight();
            if left == 0 {
                break;
            }
            let Some(wait) = deadline.checked_duration_since(Instant::now()) else {
                tracing::warn!(left, "drain timeout; these uploads will be redelivered after restart");
                break;
            };
            let _ = tokio::time::timeout(wait, notified).await;
        }
        match self.consumer.commit_consumer_state(CommitMode::Sync) {
            Ok(()) => {}
            Err(rdkafka::error::KafkaError::ConsumerCommit(rdkafka::types::RDKafkaErrorCode::NoOffset)) => {}
            Err(e) => {
                tracing::warn!(error = %e, "final commit failed; uncommitted uploads will be redelivered")
            }
        }
        flusher.abort();
        flush(&self.examined).await;
        tracing::info!("stopped");
        Ok(())
    }

    async fn process(self: Arc<Self>, msg: OwnedMessage) {
        let outcome = self.handle(&msg).await;
        if outcome != Outcome::DeadLetter {
            self.examined.add(1);
        }
        let m = hashline_metrics::global();
        m.uploads_total
            .with_label_values(&[match outcome {
                Outcome::Matched => hashline_metrics::upload_outcome::MATCHED,
                Outcome::NoMatch => hashline_metrics::upload_outcome::NO_MATCH,
                Outcome::DeadLetter => hashline_metrics::upload_outcome::DEAD_LETTER,
            }])
            .inc();
        {
            // Under the lock, so stored offsets never go backwards.
            let mut t = self.tracker.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(next) = t.complete(msg.topic(), msg.partition(), msg.offset()) {
                let mut tpl = TopicPartitionList::new();
                if tpl.add_partition_offset(msg.topic(), msg.partition(), Offset::Offset(next)).is_ok() {
                    if let Err(e) = self.consumer.store_offsets(&tpl) {
                        // The partition was revoked meanwhile; its next owner redoes the rest.
                        tracing::debug!(error = %e, "offset not stored");
                    }
                }
            }
        }
        m.in_flight.dec();
        self.done.notify_waiters();
    }

    /// Where a record came from: `topic/partition/offset`.
    fn origin(msg: &OwnedMessage) -> String {
        format!("{}/{}/{}", msg.topic(), msg.partition(), msg.offset())
    }

    async fn dead_letter(&self, msg: &OwnedMessage, reason: &'static str, error: &str) -> Outcome {
        hashline_metrics::global().dead_letters_total.with_label_values(&[reason]).inc();
        tracing::warn!(reason, error, origin = %Self::origin(msg), "record sent to the dead-letter topic");
        let origin = Self::origin(msg);
        durably("dead letter", || async {
            let mut headers = OwnedHeaders::new();
            if let Some(h) = msg.headers() {
                for h in h.iter() {
                    headers = headers.insert(Header { key: h.key, value: h.value });
                }
            }
            headers = headers
                .insert(Header { key: header::ERROR, value: Some(error) })
                .insert(Header { key: header::ORIGIN, value: Some(&origin) });
            let mut rec: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&self.config.dead_letter_topic)
                .payload(msg.payload().unwrap_or(&[]))
                .headers(headers);
            if let Some(k) = msg.key() {
                rec = rec.key(k);
            }
            self.producer.send(rec, Duration::from_secs(30)).await.map(|_| ()).map_err(|(e, _)| e)
        })
        .await;
        Outcome::DeadLetter
    }

    async fn handle(&self, msg: &OwnedMessage) -> Outcome {
        let value = msg.payload().unwrap_or(&[]);
        let headers: Vec<(&str, Option<&[u8]>)> =
            msg.headers().map(|h| h.iter().map(|h| (h.key, h.value)).collect()).unwrap_or_default();
        match self.intake.process(headers, value).await {
            Processed::DeadLetter { reason, error } => self.dead_letter(msg, reason, &error).await,
            Processed::NoMatch { journal, .. } => {
                self.journal(&journal).await;
                Outcome::NoMatch
            }
            Processed::Matched { detection, media, journal } => {
                self.report(msg, *detection, media).await;
                self.journal(&journal).await;
                Outcome::Matched
            }
        }
    }

    /// Produces the upload's journal row (when the journal is on), durably, before its offset
    /// can be stored: retroactive matching sees every upload at least once.
    async fn journal(&self, row: &hashline_retro::JournalRow) {
        let Some(topic) = &self.journal_topic else { return };
        let payload = serde_json::to_vec(row).unwrap_or_default();
        durably("journal row", || async {
            let rec: FutureRecord<'_, str, [u8]> =
                FutureRecord::to(topic).key(row.upload_id.as_str()).payload(&payload);
            self.producer.send(rec, Duration::from_secs(30)).await.map(|_| ()).map_err(|(e, _)| e)
        })
        .await;
    }

    /// Produces a journal row for every examined upload to `topic` (keyed by upload id), for
    /// `hashline retro`. Off unless set.
    pub fn with_journal(mut self, topic: String) -> Pipeline {
        self.journal_topic = Some(topic).filter(|t| !t.is_empty());
        self
    }

    async fn report(&self, msg: &OwnedMessage, detection: Detection, media: Option<Arc<Vec<u8>>>) {
        let detection = Arc::new(detection);
        let recorded = durably("outbox", || {
            let (stage, d, media) = (Arc::clone(&self.stage), Arc::clone(&detection), media.clone());
            async move {
                match tokio::task::spawn_blocking(move || {
                    stage.record(&d, media.as_deref().map(|m| m.as_slice()))
                })
                .await
                {
                    Ok(r) => r.map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                }
            }
        })
        .await;
        let Some(recorded) = recorded else { return };
        let event = MatchEvent {
            schema: MATCH_EVENT_SCHEMA.into(),
            report: recorded.report().clone(),
            disposition: recorded.disposition(),
            origin: Self::origin(msg),
        };
        let payload = serde_json::to_vec(&event).unwrap_or_default();
        let mac = self.relay_key.as_ref().map(|k| crate::contract::event_mac(k, &payload));
        durably("match event", || async {
            let mut rec: FutureRecord<'_, str, [u8]> = FutureRecord::to(&self.config.matches_topic)
                .key(detection.upload_id.as_str())
                .payload(&payload);
            if let Some(mac) = &mac {
                rec = rec.headers(rdkafka::message::OwnedHeaders::new().insert(rdkafka::message::Header {
                    key: crate::contract::MAC_HEADER,
                    value: Some(mac.as_str()),
                }));
            }
            self.producer.send(rec, Duration::from_secs(30)).await.map(|_| ()).map_err(|(e, _)| e)
        })
        .await;
        if self.config.delivery == Delivery::Relay
            && event.disposition != hashline_report::Disposition::Duplicate
        {
            let (ob, id) = (Arc::clone(&self.stage.outbox), event.report.report_id.clone());
            durably("mark relayed", || {
                let (ob, id) = (Arc::clone(&ob), id.clone());
                async move {
                    match tokio::task::spawn_blocking(move || ob.mark_relayed(&id)).await {
                        Ok(r) => r.map_err(|e| e.to_string()),
                        Err(e) => Err(e.to_string()),
                    }
                }
            })
            .await;
        }
        tracing::info!(report_id = %event.report.report_id, disposition = %event.disposition, matches = event.report.matches.len(),
            "match reported");
    }
}

/// Writes the examined-uploads count to the outbox (off the async runtime); a failure is
/// logged and the count kept for the next flush.
async fn flush(tally: &Arc<hashline_report::Tally>) {
    let t = Arc::clone(tally);
    match tokio::task::spawn_blocking(move || t.flush()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "writing the examined-uploads count failed; kept for the next try")
        }
        Err(e) => tracing::warn!(error = %e, "writing the examined-uploads count failed"),
    }
}
