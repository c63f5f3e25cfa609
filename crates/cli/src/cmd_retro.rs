//! `hashline retro`: retroactive matching over a data folder's hash journal.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use hashline_lists::ListSet;

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
    let lists = ListSet::load(&store).context("loading the lists")?;
    let stage = crate::reporting::open(config, &dir)?;
    let retro = hashline_retro::Retro::new(dir.clone());
    let outcome = retro.run(&journal, &store, &lists, &stage, hashline_report::unix_now())?;
    println!("{}", serde_json::to_string(&outcome)?);
    Ok(match outcome {
        hashline_retro::Outcome::Ran { reported, .. } if reported > 0 => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    })
}
