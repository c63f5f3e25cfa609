//! What the consumer of uploads and the relay of match events share: the client set-up and
//! the retry that makes an outcome durable before an offset moves.

use std::time::Duration;

use rdkafka::config::ClientConfig;

use crate::run::KafkaConfig;

/// A librdkafka client configuration: the brokers and every `[kafka.properties]` entry.
pub(crate) fn client_config(config: &KafkaConfig) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &config.brokers);
    for (k, v) in &config.properties {
        c.set(k, v);
    }
    c
}

/// Runs `f` until it succeeds, backing off from 200 ms to 30 s: an outcome is made durable
/// (outbox commit, match event, dead letter) before its offset may move, however long the
/// outage. `what` names the step in the log.
pub(crate) async fn durably<T, E: std::fmt::Display, F: std::future::Future<Output = Result<T, E>>>(
    what: &str,
    mut f: impl FnMut() -> F,
) -> T {
    let mut delay = Duration::from_millis(200);
    loop {
        match f().await {
            Ok(v) => return v,
            Err(e) => {
                tracing::error!(error = %e, step = what, retry_in_ms = delay.as_millis() as u64,
                    "could not make an outcome durable; retrying (the offset does not move)");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    }
}
