//! `hashline retro`: retroactive matching over the hash journal — a data folder's own (`scan`)
//! or, with `--from-kafka`, the rows every `hashline run` produces to `[journal] topic`.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use hashline_lists::{ListSet, Store};
use hashline_retro::{Journal, Outcome, Retro};

use crate::cmd_lists::StoreArg;
use crate::config::Config;

#[derive(Args, Debug)]
pub struct RetroArgs {
    #[command(flatten)]
    pub store: StoreArg,
    /// The data folder whose journal and outbox to use (default: `data_dir` of the
    /// configuration or $HASHLINE_DATA_DIR).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<std::path::PathBuf>,
    /// Follow `[journal] topic` on the brokers of `[kafka]` into this data folder's journal,
    /// and run the pass whenever the lists change (every `[run] reload_every_s`), until
    /// SIGTERM/SIGINT.
    #[arg(long)]
    pub from_kafka: bool,
    /// With --from-kafka: read the topic to its end, run the pass once, and exit.
    #[arg(long, requires = "from_kafka")]
    pub drain: bool,
    /// With --from-kafka: the consumer group (default `hashline-retro`).
    #[arg(long, default_value = "hashline-retro")]
    pub group: String,
    /// With --from-kafka: bootstrap brokers (default `[kafka] brokers`).
    #[arg(long, value_name = "HOST:PORT,...")]
    pub brokers: Option<String>,
    /// With --from-kafka: look a new list version up only this many seconds after it appears,
    /// so that uploads the scanners matched against the previous version meanwhile are in the
    /// journal (default: `[run] reload_every_s` + `reload_jitter_s` + 30).
    #[arg(long, value_name = "SECONDS")]
    pub settle_s: Option<i64>,
}

/// Looks the entries the lists gained since the last pass (and the allow-list entries they
/// lost) up among the uploads of the journal's window, commits the uploads found as reports
/// marked `retroactive`, and prints what it did as JSON. The first pass only records the lists
/// in force. Exit status: 0 nothing new, 1 new reports, 2 errors.
pub fn run(args: RetroArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let dir = config.data_dir(args.data_dir.as_deref())?;
    let Some(journal) = config.journal.open(&dir)? else {
        anyhow::bail!(
            "the journal is off ([journal] enabled = false): there is nothing to match retroactively"
        );
    };
    let store = args.store.open(config)?;
    let stage = crate::reporting::open(config, &dir)?;
    let settle = if args.from_kafka {
        args.settle_s.unwrap_or((config.run.reload_every_s + config.run.reload_jitter_s + 30) as i64)
    } else {
        0
    };
    let retro = Retro::new(dir.clone()).with_settle(settle);
    let pass = |journal: &Journal| -> anyhow::Result<Outcome> {
        let lists = ListSet::load(&store).context("loading the lists")?;
        Ok(retro.run(journal, &store, &lists, &stage, hashline_report::unix_now())?)
    };
    let outcome = if args.from_kafka {
        follow(&args, config, Arc::new(journal), &store, &pass)?
    } else {
        pass(&journal)?
    };
    println!("{}", serde_json::to_string(&outcome)?);
    Ok(match outcome {
        Outcome::Ran { reported, .. } if reported > 0 => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    })
}

/// Follows the journal topic; returns the last pass's outcome.
fn follow(
    args: &RetroArgs,
    config: &Config,
    journal: Arc<Journal>,
    store: &Store,
    pass: &dyn Fn(&Journal) -> anyhow::Result<Outcome>,
) -> anyhow::Result<Outcome> {
    let mut kafka = config.kafka.clone();
    if let Some(b) = &args.brokers {
        kafka.brokers = b.clone();
    }
    let how = hashline_pipeline::journal::Follow {
        topic: config.journal.topic.clone(),
        group: args.group.clone(),
        drain: args.drain,
        tick_every: std::time::Duration::from_secs(config.run.reload_every_s.max(1)),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let mut last = Outcome::Unchanged;
    let mut seen = Vec::new();
    let followed = rt.block_on(hashline_pipeline::journal::follow(
        &kafka,
        &how,
        Arc::clone(&journal),
        || {
            // A pass only when a list changed (the pass itself also says so, but this spares
            // reading the store's lists every tick).
            let now: Vec<(String, Option<u64>)> = store
                .names()
                .unwrap_or_default()
                .into_iter()
                .map(|n| {
                    let v = store.current_version(&n).ok().flatten();
                    (n, v)
                })
                .collect();
            if now == seen {
                return;
            }
            match pass(&journal) {
                Ok(o) => {
                    tracing::info!(outcome = %serde_json::to_string(&o).unwrap_or_default(), "retro pass");
                    // A change still settling is looked at again at the next tick.
                    if !matches!(o, Outcome::Settling { .. }) {
                        seen = now;
                    }
                    last = o;
                }
                Err(e) => tracing::error!(error = %e, "retro pass failed; it runs again at the next tick"),
            }
        },
        crate::cmd_reports::shutdown_signal(),
    ))?;
    if followed.rejected > 0 {
        tracing::warn!(rejected = followed.rejected, "records on the journal topic were not journal rows");
    }
    if args.drain {
        last = pass(&journal)?;
    }
    Ok(last)
}
