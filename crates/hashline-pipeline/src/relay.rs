//! `hashline reporter --from-kafka`: when scanners scale out, one reporter consumes the match
//! events of all of them from `hashline.matches` and commits their reports to its own outbox
//! (de-duplicated by upload id + list entry, so a scanner's replay adds nothing), storing each
//! event's offset only after the outbox commit. Its delivery worker then sends them.
//!
//! Every event must carry the MAC of the relay key shared by the scanners and the reporter
//! ([`crate::contract::accept_event`]): anything else that can produce to the topic cannot
//! put a report in front of the hotline. Rejected records are logged (never their content)
//! and counted in `hashline_relay_rejected_total{reason}`, and their offsets stored: a forged
//! record does not stall the partition.

use std::sync::Arc;
use std::time::Duration;

use hashline_report::{Enqueued, Outbox};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use crate::contract::{accept_event, MAC_HEADER};
use crate::run::{KafkaConfig, PipelineError};

/// Consumes match events into `outbox` until `shutdown` resolves. Call inside a tokio runtime.
pub async fn relay(
    config: &KafkaConfig,
    group: &str,
    outbox: Arc<Outbox>,
    wake: Arc<tokio::sync::Notify>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), PipelineError> {
    let Some(key) = config.relay_key()? else {
        return Err(PipelineError::Config(
            "reporter --from-kafka needs the relay key (kafka.relay_key_file or HASHLINE_RELAY_KEY, the scanners' \
             key): it takes no unauthenticated match event"
                .into(),
        ));
    };
    let consumer: StreamConsumer = crate::kafka::client_config(config)
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
        let mac = msg.headers().and_then(|h| {
            use rdkafka::message::Headers;
            h.iter().find(|x| x.key == MAC_HEADER).and_then(|x| x.value)
        });
        match accept_event(msg.payload().unwrap_or_default(), mac, &key) {
            Err(why) => {
                hashline_metrics::global().relay_rejected_total.with_label_values(&[why.as_str()]).inc();
                tracing::error!(
                    partition = msg.partition(),
                    offset = msg.offset(),
                    reason = %why,
                    "match event refused; skipped (check what else produces to this topic, and the relay key)"
                );
            }
            Ok(None) => {}
            Ok(Some((report, state))) => {
                let stored = crate::kafka::durably("outbox", || {
                    let (ob, report) = (Arc::clone(&outbox), report.clone());
                    async move {
                        match tokio::task::spawn_blocking(move || ob.enqueue(report, state)).await {
                            Ok(Ok(e)) => Ok(Ok(e)),
                            // Not a report hashline would make: refused, not retried.
                            Ok(Err(hashline_report::OutboxError::Invalid(why))) => Ok(Err(why)),
                            Ok(Err(e)) => Err(e.to_string()),
                            Err(e) => Err(e.to_string()),
                        }
                    }
                })
                .await;
                match stored {
                    Ok(Enqueued::New(_)) => wake.notify_one(),
                    Ok(Enqueued::Duplicate) => {}
                    Err(why) => {
                        hashline_metrics::global()
                            .relay_rejected_total
                            .with_label_values(&["invalid_report"])
                            .inc();
                        tracing::error!(partition = msg.partition(), offset = msg.offset(), %why, "match event refused");
                    }
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
