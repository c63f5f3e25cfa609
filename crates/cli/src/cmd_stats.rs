//! `hashline stats`: the periodic statistics for the people who govern the hotline.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};

use crate::config::Config;

/// `hashline stats`.
#[derive(Args, Debug)]
pub struct StatsArgs {
    /// First day of the period (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "DATE")]
    pub from: String,
    /// Last day of the period, included (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "DATE")]
    pub to: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = StatsFormat::Html)]
    pub format: StatsFormat,
    /// Language of the HTML report.
    #[arg(long, value_parser = ["en", "km"], default_value = "en")]
    pub lang: String,
    /// Data folder(s) to count: the reporter's (reports, reviews, deliveries) and, in a
    /// scaled-out deployment, each scanner's (files examined). Default: `data_dir` of the
    /// configuration, or HASHLINE_DATA_DIR.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Vec<PathBuf>,
    /// Workload per analyst, by account name (for an administrator; audited).
    #[arg(long)]
    pub per_analyst: bool,
    /// Write to this file (owner-only) instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `--format`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatsFormat {
    /// A self-contained page with charts, for reading and printing.
    Html,
    /// `section,key,value` rows, for spreadsheets.
    Csv,
    /// `hashline.stats/1`, for other programs.
    Json,
}

impl StatsFormat {
    fn as_str(self) -> &'static str {
        match self {
            StatsFormat::Html => "html",
            StatsFormat::Csv => "csv",
            StatsFormat::Json => "json",
        }
    }
}

pub fn run(args: StatsArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let period = hashline_stats::Period::parse(&args.from, &args.to)?;
    let dirs = if args.data_dir.is_empty() { vec![config.data_dir(None)?] } else { args.data_dir.clone() };
    let mut opened = Vec::new();
    for dir in &dirs {
        if !dir.join("outbox.db").is_file() {
            bail!(
                "{} has no outbox.db: give the data folder of a hashline reporter, run or scan",
                dir.display()
            );
        }
        // Statistics read the outbox and the audit log only: no evidence key is needed.
        let no_evidence = hashline_report::EvidenceConfig { enabled: false, ..Default::default() };
        opened.push(
            hashline_report::DataDir::open(dir, &no_evidence)
                .with_context(|| format!("opening the data folder {}", dir.display()))?,
        );
    }
    let sources: Vec<hashline_stats::Source<'_>> = opened
        .iter()
        .map(|d| hashline_stats::Source { outbox: &d.outbox, audit_log: d.audit.path() })
        .collect();
    let request = hashline_stats::Request { period, per_analyst: args.per_analyst };
    let stats = hashline_stats::collect(&sources, request)?;
    let text = match args.format {
        StatsFormat::Html => hashline_stats::render::html(
            &stats,
            hashline_stats::Lang::parse(&args.lang).unwrap_or(hashline_stats::Lang::En),
        ),
        StatsFormat::Csv => hashline_stats::render::csv(&stats),
        StatsFormat::Json => hashline_stats::render::json(&stats),
    };
    // Who made which statistics, in every folder they were made from.
    let detail = serde_json::json!({
        "from": stats.from, "to": stats.to, "format": args.format.as_str(), "per_analyst": args.per_analyst,
    });
    for d in &opened {
        let serde_json::Value::Object(m) = detail.clone() else { unreachable!("an object") };
        d.audit.append(&hashline_report::Actor::cli(), "stats.export", "", m)?;
    }
    match &args.out {
        Some(path) => hashline_lists::fsio::write_private(path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
