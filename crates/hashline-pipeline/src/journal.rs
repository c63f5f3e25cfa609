//! `hashline retro --from-kafka`: the journal rows every `hashline run` instance produces
//! (`[journal] topic`) consumed into an embedded journal, so that the retro pass sees every
//! upload of every instance. Offsets are committed only after the rows are written and synced:
//! a crash replays rows, and a replayed row finds nothing new (the outbox de-duplicates).
//! A record that is not a journal row is counted and skipped, never stored.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hashline_retro::{Journal, JournalRow};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use crate::run::{KafkaConfig, PipelineError};

/// Journal rows larger than this are not rows hashline writes (a video's frame hashes at the
/// default limits take well under this).
const MAX_ROW_BYTES: usize = 16 << 20;

/// What following the topic did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Followed {
    /// Rows written to the journal.
    pub rows: u64,
    /// Records skipped: not journal rows.
    pub rejected: u64,
}

/// How to follow the journal topic.
#[derive(Debug, Clone)]
pub struct Follow {
    /// The topic (`[journal] topic`).
    pub topic: String,
    /// The consumer group (one per retro deployment).
    pub group: String,
    /// Return once every assigned partition is read to its end.
    pub drain: bool,
    /// Without `drain`: how often to call the tick (the retro pass).
    pub tick_every: Duration,
}

/// Consumes the journal topic into `journal`. With `drain`, returns once every assigned
/// partition is read to its end; otherwise runs until `shutdown` resolves, calling `tick`
/// about every `tick_every` after the rows read so far are durable. Call inside a tokio
/// runtime.
pub async fn follow(
    config: &KafkaConfig,
    how: &Follow,
    journal: Arc<Journal>,
    mut tick: impl FnMut(),
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<Followed, PipelineError> {
    let (topic, group, drain, tick_every) =
        (how.topic.as_str(), how.group.as_str(), how.drain, how.tick_every);
    let consumer: StreamConsumer = crate::kafka::client_config(config)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()?;
    consumer.subscribe(&[topic])?;
    tracing::info!(topic, group, "following the hash journal");
    tokio::pin!(shutdown);
    let mut done = Followed::default();
    let mut pending = TopicPartitionList::new();
    let mut unsynced = 0usize;
    let (mut last_tick, mut last_commit) = (Instant::now(), Instant::now());
    loop {
        let msg = tokio::select! {
            () = &mut shutdown => break,
            m = tokio::time::timeout(Duration::from_millis(500), consumer.recv()) => m,
        };
        match msg {
            Ok(Ok(m)) => {
                let m = m.detach();
                let payload = m.payload().unwrap_or_default();
                let row = (payload.len() <= MAX_ROW_BYTES)
                    .then(|| serde_json::from_slice::<JournalRow>(payload).ok())
                    .flatten();
                match row {
                    Some(row) => {
                        let j = Arc::clone(&journal);
                        let written = tokio::task::spawn_blocking(move || j.append(&row)).await;
                        match written {
                            Ok(Ok(())) => done.rows += 1,
                            Ok(Err(e)) => return Err(PipelineError::Config(e.to_string())),
                            Err(e) => return Err(PipelineError::Config(e.to_string())),
                        }
                        unsynced += 1;
                    }
                    None => {
                        done.rejected += 1;
                        tracing::warn!(
                            partition = m.partition(),
                            offset = m.offset(),
                            "not a journal row; skipped"
                        );
                    }
                }
                let _ =
                    pending.add_partition_offset(m.topic(), m.partition(), Offset::Offset(m.offset() + 1));
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "consume failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(_idle) => {
                if drain && caught_up(&consumer) {
                    break;
                }
            }
        }
        if unsynced >= 1000 || last_commit.elapsed() >= Duration::from_secs(1) {
            commit(&journal, &consumer, &mut pending, &mut unsynced).await?;
            last_commit = Instant::now();
        }
        if !drain && last_tick.elapsed() >= tick_every {
            commit(&journal, &consumer, &mut pending, &mut unsynced).await?;
            tick();
            last_tick = Instant::now();
        }
    }
    commit(&journal, &consumer, &mut pending, &mut unsynced).await?;
    Ok(done)
}

/// Syncs the journal, then commits the offsets of the rows written.
async fn commit(
    journal: &Arc<Journal>,
    consumer: &StreamConsumer,
    pending: &mut TopicPartitionList,
    unsynced: &mut usize,
) -> Result<(), PipelineError> {
    if pending.count() == 0 {
        return Ok(());
    }
    let j = Arc::clone(journal);
    match tokio::task::spawn_blocking(move || j.sync()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(PipelineError::Config(e.to_string())),
        Err(e) => return Err(PipelineError::Config(e.to_string())),
    }
    if let Err(e) = consumer.commit(pending, CommitMode::Sync) {
        // Revoked meanwhile: the next owner reads those rows again (harmless duplicates).
        tracing::debug!(error = %e, "journal offsets not committed");
    }
    *pending = TopicPartitionList::new();
    *unsynced = 0;
    Ok(())
}

/// Every assigned partition read (or committed) to its high watermark, and at least one
/// assigned.
fn caught_up(consumer: &StreamConsumer) -> bool {
    let Ok(assigned) = consumer.assignment() else { return false };
    if assigned.count() == 0 {
        return false;
    }
    let Ok(position) = consumer.position() else { return false };
    let committed = consumer.committed_offsets(assigned.clone(), Duration::from_secs(5)).ok();
    let offset_in = |list: &TopicPartitionList,
                     e: &rdkafka::topic_partition_list::TopicPartitionListElem<'_>| {
        list.find_partition(e.topic(), e.partition()).and_then(|p| match p.offset() {
            Offset::Offset(o) => Some(o),
            _ => None,
        })
    };
    assigned.elements().iter().all(|e| {
        let Ok((low, high)) = consumer.fetch_watermarks(e.topic(), e.partition(), Duration::from_secs(5))
        else {
            return false;
        };
        let at = offset_in(&position, e).or_else(|| committed.as_ref().and_then(|c| offset_in(c, e)));
        match at {
            Some(o) => o >= high,
            None => high == low,
        }
    })
}
