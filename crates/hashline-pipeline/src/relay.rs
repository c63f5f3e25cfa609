//! `hashline reporter --from-kafka`: when scanners scale out, one reporter consumes the match
//! events of all of them from `hashline.matches` and commits their reports to its own outbox
//! (de-duplicated by upload id + list entry, so a scanner's replay adds nothing), storing each
//! event's offset only after the outbox commit. Its delivery worker then sends them.

use std::sync::Arc;
use std::time::Duration;

use hashline_report::{Enqueued, Outbox, State};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use crate::contract::{MatchEvent, MATCH_EVENT_SCHEMA};
use crate::run::{KafkaConfig, PipelineError};

/// Consumes match events into `outbox` until `shutdown` resolves. Call inside a tokio runtime.
pub async fn relay(
    config: &KafkaConfig,
    group: &str,
    outbox: Arc<Outbox>,
    wake: Arc<tokio::sync::Notify>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), PipelineError> {
    let mut cc = rdkafka::config::ClientConfig::new();
    cc.set("bootstrap.servers", &config.brokers);
    for (k, v) in &config.properties {
        cc.set(k, v);
    }
    let consumer: StreamConsumer = cc
        .set("group.id", group)
        .set("enable.auto.commit", "true")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .create()?;
    consumer.subscribe(&[config.matches_topic.as_str()])?;
    tracing::info!(topic = %config.matches_topic, group, "relaying match events into the outbox");
    tokio::pin!(shutdown);
    loop {
        let msg = tokio::select! {
            () = &mut shutdown => break,
            m = consumer.recv() => m,
        };
        let msg = match msg {
            Ok(m) => m.detach(),
            Err(e) => {
                tracing::warn!(error = %e, "consume failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let event: Option<MatchEvent> = msg
            .payload()
            .and_then(|p| serde_json::from_slice::<MatchEvent>(p).ok())
            .filter(|e| e.schema == MATCH_EVENT_SCHEMA);
        match event {
            None => {
                tracing::error!(
                    partition = msg.partition(),
                    offset = msg.offset(),
                    "not a hashline.match-event/1; skipped (check what else produces to this topic)"
                );
            }
            Some(e) if e.disposition == "duplicate" => {}
            Some(e) => {
                let state = if e.disposition == "review" { State::Review } else { State::Pending };
                let mut delay = Duration::from_millis(200);
                loop {
                    let ob = Arc::clone(&outbox);
                    let report = e.report.clone();
                    match tokio::task::spawn_blocking(move || ob.enqueue(report, state)).await {
                        Ok(Ok(Enqueued::New(_))) => {
                            wake.notify_one();
                            break;
                        }
                        Ok(Ok(Enqueued::Duplicate)) => break,
                        Ok(Err(err)) => tracing::error!(error = %err, "outbox write failed; retrying"),
                        Err(err) => tracing::error!(error = %err, "outbox task failed; retrying"),
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(30));
                }
            }
        }
        let mut tpl = TopicPartitionList::new();
        if tpl.add_partition_offset(msg.topic(), msg.partition(), Offset::Offset(msg.offset() + 1)).is_ok() {
            let _ = consumer.store_offsets(&tpl);
        }
    }
    let _ = consumer.commit_consumer_state(CommitMode::Sync);
    Ok(())
}
