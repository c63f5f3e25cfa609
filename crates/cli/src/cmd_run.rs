//! `hashline run`: the streaming job. Uploads from Kafka, reports to the outbox (delivered by
//! the built-in reporter when `[hotline] url` is set, or by `hashline reporter`), match events
//! and dead letters back to Kafka, metrics and probes on `--metrics-addr`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use hashline_pipeline::Pipeline;

use crate::cmd_lists::StoreArg;
use crate::config::Config;

/// `hashline run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Bootstrap brokers (default `kafka.brokers`, or HASHLINE_BROKERS).
    #[arg(long, value_name = "LIST")]
    pub brokers: Option<String>,
    /// Consumer group (default `kafka.group`, or HASHLINE_GROUP).
    #[arg(long, value_name = "ID")]
    pub group: Option<String>,
    #[command(flatten)]
    pub store: StoreArg,
    /// Data folder: outbox, evidence, audit log (default `data_dir`, or HASHLINE_DATA_DIR).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// /metrics, /healthz and /readyz, without authentication (default `run.metrics_addr`,
    /// or HASHLINE_METRICS_ADDR; "off" to disable).
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<String>,
    /// Validate the configuration, open the store and data folder, build the Kafka clients,
    /// print the effective settings and exit.
    #[arg(long)]
    pub check_config: bool,
}

pub fn run(args: RunArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let mut kafka = config.kafka.clone();
    if let Some(b) = args.brokers {
        kafka.brokers = b;
    }
    if let Some(g) = args.group {
        kafka.group = g;
    }
    let metrics_addr = args.metrics_addr.unwrap_or_else(|| config.run.metrics_addr.clone());
    let store = args.store.open(config)?;
    let dir = config.data_dir(args.data_dir.as_deref())?;
    let stage = Arc::new(crate::reporting::open(config, &dir)?);
    let lists = Arc::new(hashline_lists::LiveLists::open(store).context("loading the lists")?);
    log_list_loading(&lists.snapshot());
    let hash = config.hash.options();
    // In relay mode a central `hashline reporter --from-kafka` delivers; this instance never
    // talks to the hotline.
    let deliver = !config.hotline.url.is_empty() && kafka.delivery == hashline_pipeline::Delivery::Local;
    let deliverer = if deliver {
        Some(hashline_report::Deliverer::new(
            Arc::clone(&stage.outbox),
            &config.hotline,
            config.reporter.to_reporter(),
        )?)
    } else {
        None
    };
    // The Kafka clients start their background tasks on the runtime they are created in.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let _enter = rt.enter();
    let mut pipeline = Pipeline::new(
        kafka.clone(),
        Arc::clone(&lists),
        Arc::clone(&stage),
        hashline_engine::Settings { hash, video: config.video.clone() },
        config.hash.threads,
    )?;
    if config.journal.enabled {
        pipeline = pipeline.with_journal(config.journal.topic.clone());
    }
    if config.video.enabled {
        tracing::info!("videos: {}", hashline_video::decoder_in_use(&config.video));
    }
    let pipeline = Arc::new(pipeline);
    if args.check_config {
        return Ok(check_config(&pipeline, &kafka, &lists, &stage, &dir, config, deliver));
    }
    if stage.evidence.is_none() && config.evidence.enabled {
        tracing::warn!("matched media will not be preserved: no evidence key (HASHLINE_EVIDENCE_KEY or [evidence] key_file)");
    }
    rt.block_on(async move {
        let every = std::time::Duration::from_secs(config.run.reload_every_s.max(1));
        let jitter = std::time::Duration::from_secs(config.run.reload_jitter_s);
        let _watch = lists.watch(every, jitter, |e| {
            tracing::error!(error = %e, "list reload failed; the lists loaded before stay in force");
        });
        if metrics_addr != "off" {
            serve_ops(&metrics_addr, &pipeline).await?;
        }
        tokio::spawn(follow_list_gauges(Arc::clone(&lists)));
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let delivery = deliverer.map(|d| {
            let mut rx = stop_rx.clone();
            tokio::spawn(async move {
                let stop = async move {
                    let _ = rx.changed().await;
                };
                if let Err(e) = d.run(false, stop).await {
                    tracing::error!(error = %e, "delivery worker stopped");
                }
            })
        });
        pipeline.run(crate::cmd_reports::shutdown_signal()).await?;
        let _ = stop_tx.send(true);
        if let Some(d) = delivery {
            let _ = d.await;
        }
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `run --check-config`: the effective settings, then whether the broker answers.
fn check_config(
    pipeline: &Pipeline,
    kafka: &hashline_pipeline::KafkaConfig,
    lists: &hashline_lists::LiveLists,
    stage: &hashline_report::ReportStage,
    dir: &std::path::Path,
    config: &Config,
    deliver: bool,
) -> ExitCode {
    println!(
        "configuration OK: brokers {}, group {}, topics {} → {} / {}, {} lists, data {}, evidence {}, delivery {}",
        kafka.brokers,
        kafka.group,
        kafka.uploads_topic,
        kafka.matches_topic,
        kafka.dead_letter_topic,
        lists.snapshot().versions().len(),
        dir.display(),
        if stage.evidence.is_some() { "on" } else { "off (no key)" },
        match (deliver, kafka.delivery) {
            (true, _) => config.hotline.url.as_str(),
            (false, hashline_pipeline::Delivery::Relay) => "relay (hashline reporter --from-kafka delivers)",
            (false, _) => "off (hashline reporter delivers)",
        },
    );
    match pipeline.check_broker(std::time::Duration::from_secs(10)) {
        Ok(n) => {
            println!("broker OK: {} has {n} partitions", kafka.uploads_topic);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hashline: {e}");
            ExitCode::from(1)
        }
    }
}

/// `/metrics`, `/healthz` and `/readyz` (ready: the pipeline's own judgement) on `addr`.
async fn serve_ops(addr: &str, pipeline: &Arc<Pipeline>) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr} for metrics"))?;
    tracing::info!(addr = %listener.local_addr()?, "metrics served");
    let p = Arc::clone(pipeline);
    let app = hashline_ops::ops_app(Arc::new(move || p.ready()));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics listener failed");
        }
    });
    Ok(())
}

/// Keeps the list gauges equal to the snapshot in force, through reloads.
async fn follow_list_gauges(lists: Arc<hashline_lists::LiveLists>) {
    let mut built = None;
    loop {
        let set = lists.snapshot();
        if built != Some(set.built_at) {
            hashline_ops::set_list_metrics(&set);
            built = Some(set.built_at);
        }
        tokio::time::sleep(std::time::Duration::from_secs(10)).await;
    }
}

/// Says, per list, when its index was built from the version file instead of read from its
/// snapshot (a first start, a damaged or stale snapshot, a read-only list folder).
pub(crate) fn log_list_loading(set: &hashline_lists::ListSet) {
    for (list, note) in set.load_notes() {
        if let Some(note) = note {
            tracing::info!(list = %list, "list index: {note}");
        }
    }
}
