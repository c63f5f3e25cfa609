//! `hashline reports`, `hashline reporter`, `hashline evidence`, `hashline audit`: the outbox,
//! its delivery worker, the evidence store and the audit log, as an operator uses them.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use hashline_report::{Deliverer, Row, State};

use crate::config::Config;
use hashline_report::ReportStage as Reporting;

/// `--data-dir`.
#[derive(Args, Debug, Clone)]
pub struct DataDirArg {
    /// Data folder with the outbox, evidence and audit log (default `data_dir` of the
    /// configuration, or HASHLINE_DATA_DIR).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

impl DataDirArg {
    pub(crate) fn open(&self, config: &Config) -> anyhow::Result<Reporting> {
        let dir = config.data_dir(self.data_dir.as_deref())?;
        crate::reporting::open(config, &dir)
    }
}

/// `--state`: the outbox's own state names, parsed by `State::parse`.
fn state_parser() -> impl clap::builder::TypedValueParser<Value = State> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(State::ALL.map(State::as_str))
        .map(|s| State::parse(&s).unwrap_or(State::Pending))
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// The report as committed (`hashline.report/1`).
    Json,
    /// NCMEC CyberTipline `<report>` and `<fileDetails>` documents.
    NcmecXml,
}

/// `hashline reports ...`
#[derive(Subcommand, Debug)]
pub enum ReportsCommand {
    /// One line per report: id, state, attempts, age, matches (list/entry id), last error. No
    /// upload hash is printed, but an entry id of a list without ids of its own is
    /// `SIGNAL:VALUE`, the listed hash (which an exact match shares with the upload).
    List {
        #[command(flatten)]
        data: DataDirArg,
        /// Only reports in this state.
        #[arg(long, value_parser = state_parser())]
        state: Option<State>,
        /// At most this many, oldest first.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print one report (JSON). Audited.
    Show {
        /// Report id (or a unique prefix of 8+ hex digits).
        id: String,
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Put a parked report back in the delivery queue.
    Retry {
        /// Report id (or a unique prefix of 8+ hex digits).
        id: String,
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Export one report as JSON or NCMEC XML. Audited.
    Export {
        /// Report id (or a unique prefix of 8+ hex digits).
        id: String,
        #[command(flatten)]
        data: DataDirArg,
        #[arg(long, value_enum, default_value = "json")]
        format: ExportFormat,
        /// Folder to write into (ID.json, or ID.report.xml and ID.fileDetails.xml); default:
        /// standard output for JSON, the current folder for XML.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Counts by state and the age of the oldest pending report.
    Stats {
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Flood quarantine: list entries that suddenly matched far more uploads than before
    /// (`[policy.flood]`) — list them, lift a quarantine, or disable an entry. Audited.
    #[command(subcommand)]
    Quarantine(crate::cmd_quarantine::QuarantineCommand),
    /// Retention: delete delivered and dismissed reports and evidence older than
    /// `evidence.retention_days` (evidence under legal hold is kept). Audited.
    Purge {
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Print the JSON Schema of `hashline.report/1`.
    Schema,
}

/// `hashline evidence ...`
#[derive(Subcommand, Debug)]
pub enum EvidenceCommand {
    /// Print a new random 256-bit key (64 hex digits) for the key file.
    Keygen,
    /// One line per preserved item: id, size, key id, retention, hold (no hashes).
    List {
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Place a legal hold: the item is kept past its retention until released. Audited.
    Hold {
        id: String,
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Release a legal hold. Audited.
    Release {
        id: String,
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Decrypt one item to a file (for law enforcement). Audited with the reason.
    Export {
        id: String,
        #[command(flatten)]
        data: DataDirArg,
        /// Where to write the bytes (created owner-only; never standard output).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Why (recorded in the audit log), e.g. a case or request number.
        #[arg(long)]
        reason: String,
    },
}

/// `hashline audit ...`
#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check the hash chain of the audit log; prints the head hash to record elsewhere.
    Verify {
        #[command(flatten)]
        data: DataDirArg,
    },
}

/// `hashline reporter`.
#[derive(Args, Debug)]
pub struct ReporterArgs {
    #[command(flatten)]
    pub data: DataDirArg,
    /// Exit once nothing is pending (parked and review reports do not count) instead of
    /// waiting for new reports.
    #[arg(long)]
    pub drain: bool,
    /// Also consume match events from Kafka (`kafka.matches_topic`, group `kafka.group` +
    /// "-reporter") into this outbox: one reporter for many scaled-out `hashline run`
    /// instances.
    #[arg(long)]
    pub from_kafka: bool,
    /// Check what delivery needs (an https:// hotline URL, a configured organisation and
    /// contact, the data folder), print it, and exit: 0 ready, 2 not.
    #[arg(long)]
    pub check_config: bool,
    /// Serve /metrics and /healthz, without authentication, on this (internal) address.
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<String>,
}

/// Who runs this command, for the audit log.
pub fn actor() -> hashline_report::Actor {
    hashline_report::Actor::cli()
}

fn age(created: i64) -> String {
    let s = (hashline_report::outbox::unix_now() - created).max(0) as u64;
    humanize(s)
}

fn humanize(s: u64) -> String {
    match s {
        0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m", s / 60),
        7200..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

fn summary_line(r: &Row) -> serde_json::Value {
    serde_json::json!({
        "report_id": r.report.report_id,
        "state": r.state,
        "attempts": r.attempts,
        "created_at": r.created_at,
        "upload_id": r.report.incident.upload_id,
        "matches": r.report.matches.iter().map(|m| format!("{}/{}", m.list, m.entry_id)).collect::<Vec<_>>(),
        "review": r.report.review,
        "last_error": r.last_error,
    })
}

pub(crate) fn audit(
    rep: &Reporting,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) -> anyhow::Result<()> {
    let detail = match detail {
        serde_json::Value::Object(m) => m,
        _ => Default::default(),
    };
    rep.audit.append(&actor(), action, target, detail)?;
    Ok(())
}

pub fn run_reports(cmd: ReportsCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match cmd {
        ReportsCommand::List { data, state, limit, json } => {
            let rep = data.open(config)?;
            let rows = rep.outbox.list(state, limit)?;
            if json {
                for r in &rows {
                    writeln!(out, "{}", summary_line(r))?;
                }
            } else {
                writeln!(
                    out,
                    "{:<32}  {:<9}  {:>8}  {:>5}  {:<40}  last error",
                    "report", "state", "attempts", "age", "matches"
                )?;
                for r in &rows {
                    let matches: Vec<String> =
                        r.report.matches.iter().map(|m| format!("{}/{}", m.list, m.entry_id)).collect();
                    writeln!(
                        out,
                        "{:<32}  {:<9}  {:>8}  {:>5}  {:<40}  {}",
                        r.report.report_id,
                        r.state,
                        r.attempts,
                        age(r.created_at),
                        matches.join(","),
                        r.last_error.as_deref().unwrap_or("")
                    )?;
                }
            }
        }
        ReportsCommand::Show { id, data } => {
            let rep = data.open(config)?;
            let row = rep.outbox.get(&id)?;
            audit(&rep, "report.view", &row.report.report_id, serde_json::json!({}))?;
            serde_json::to_writer_pretty(&mut out, &row.report)?;
            writeln!(out)?;
        }
        ReportsCommand::Retry { id, data } => {
            let rep = data.open(config)?;
            let row = rep.outbox.retry(&id)?;
            audit(&rep, "report.retry", &row.report.report_id, serde_json::json!({}))?;
            writeln!(
                out,
                "report {} is pending again; `hashline reporter` will deliver it",
                row.report.report_id
            )?;
        }
        ReportsCommand::Export { id, data, format, out: dir } => {
            let rep = data.open(config)?;
            let row = rep.outbox.get(&id)?;
            let rid = row.report.report_id.clone();
            if let (ExportFormat::NcmecXml, Some(why)) = (format, row.not_reportable()) {
                bail!("{why}: it is not exported as a report to NCMEC (`--format json` exports the record)");
            }
            audit(
                &rep,
                "report.export",
                &rid,
                serde_json::json!({"format": format!("{format:?}").to_lowercase()}),
            )?;
            match (format, dir) {
                (ExportFormat::Json, None) => {
                    serde_json::to_writer_pretty(&mut out, &row.report)?;
                    writeln!(out)?;
                }
                (ExportFormat::Json, Some(dir)) => {
                    write_private(
                        &dir.join(format!("{rid}.json")),
                        &serde_json::to_vec_pretty(&row.report)?,
                    )?;
                }
                (ExportFormat::NcmecXml, dir) => {
                    let dir = dir.unwrap_or_else(|| PathBuf::from("."));
                    let x = hashline_report::ncmec_export(&row.report);
                    let a = dir.join(format!("{rid}.report.xml"));
                    let b = dir.join(format!("{rid}.fileDetails.xml"));
                    write_private(&a, x.report.as_bytes())?;
                    write_private(&b, x.file_details.as_bytes())?;
                    writeln!(out, "{}\n{}", a.display(), b.display())?;
                }
            }
        }
        ReportsCommand::Stats { data } => {
            let rep = data.open(config)?;
            let s = rep.outbox.stats()?;
            let mut v = serde_json::to_value(&s)?;
            v["oldest_pending_age_s"] =
                s.oldest_pending_at.map(|t| (hashline_report::outbox::unix_now() - t).max(0)).into();
            serde_json::to_writer_pretty(&mut out, &v)?;
            writeln!(out)?;
        }
        ReportsCommand::Quarantine(cmd) => crate::cmd_quarantine::run(cmd, config, &mut out)?,
        ReportsCommand::Purge { data } => {
            let rep = data.open(config)?;
            let now = hashline_report::outbox::unix_now();
            let before = now - i64::from(config.evidence.retention_days) * 86_400;
            let reports = rep.outbox.purge(before)?;
            let evidence = match &rep.evidence {
                Some(ev) => ev.purge(now, &actor())?.len(),
                None => 0,
            };
            audit(
                &rep,
                "retention.purge",
                "",
                serde_json::json!({"reports": reports, "evidence": evidence}),
            )?;
            writeln!(
                out,
                "deleted {reports} delivered/dismissed reports and {evidence} evidence items past retention"
            )?;
        }
        ReportsCommand::Schema => {
            serde_json::to_writer_pretty(&mut out, &hashline_report::schema())?;
            writeln!(out)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_private(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    hashline_lists::fsio::create_private(path, bytes)
        .with_context(|| format!("creating {} (it must not exist yet)", path.display()))
}

pub fn run_evidence(cmd: EvidenceCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let store = |data: &DataDirArg| -> anyhow::Result<Reporting> {
        // Evidence commands need the key; say so rather than open without it.
        let rep = data.open(config)?;
        if rep.evidence.is_none() {
            bail!("no evidence store: configure a key ([evidence] key_file or HASHLINE_EVIDENCE_KEY)");
        }
        Ok(rep)
    };
    match cmd {
        EvidenceCommand::Keygen => writeln!(out, "{}", hashline_report::Keyring::generate()?)?,
        EvidenceCommand::List { data } => {
            let rep = store(&data)?;
            let Some(ev) = &rep.evidence else { unreachable!("checked above") };
            for it in ev.list()? {
                writeln!(
                    out,
                    "{}  {:>10} bytes  key {}  retain until {}{}",
                    it.id,
                    it.size,
                    it.key_id,
                    humantime::format_rfc3339_seconds(
                        std::time::UNIX_EPOCH + std::time::Duration::from_secs(it.retain_until.max(0) as u64)
                    ),
                    if it.legal_hold { "  LEGAL HOLD" } else { "" }
                )?;
            }
        }
        EvidenceCommand::Hold { id, data } => {
            let rep = store(&data)?;
            let Some(ev) = &rep.evidence else { unreachable!("checked above") };
            ev.set_hold(&id, true, &actor())?;
            writeln!(out, "evidence {id} is under legal hold")?;
        }
        EvidenceCommand::Release { id, data } => {
            let rep = store(&data)?;
            let Some(ev) = &rep.evidence else { unreachable!("checked above") };
            ev.set_hold(&id, false, &actor())?;
            writeln!(out, "legal hold on evidence {id} released; normal retention applies")?;
        }
        EvidenceCommand::Export { id, data, out: path, reason } => {
            let rep = store(&data)?;
            let Some(ev) = &rep.evidence else { unreachable!("checked above") };
            let bytes = ev.read(&id, &actor(), &format!("export: {reason}"))?;
            write_private(&path, &bytes)?;
            writeln!(out, "wrote {} bytes to {}", bytes.len(), path.display())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_audit(cmd: AuditCommand, config: &Config) -> anyhow::Result<ExitCode> {
    match cmd {
        AuditCommand::Verify { data } => {
            let dir = config.data_dir(data.data_dir.as_deref())?;
            let key = hashline_report::audit::key_from_env()?;
            match hashline_report::audit::verify_with_key(&dir.join("audit.log"), key.as_ref()) {
                Ok((n, head)) => {
                    let mode = if key.is_some() {
                        "keyed: chain, head and MACs checked"
                    } else {
                        "chain and head checked; no audit key, so a full rewrite would not show"
                    };
                    println!("audit log intact: {n} records; head {head} ({mode})");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("hashline: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

pub fn run_reporter(args: ReporterArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let rep = args.data.open(config)?;
    if args.check_config {
        hashline_report::check_delivery(&config.hotline, &config.reporter.to_reporter())?;
        let s = rep.outbox.stats()?;
        println!(
            "configuration OK: hotline {}, reporting as {} ({}), outbox {} ({} pending, {} parked)",
            config.hotline.url,
            config.reporter.organisation,
            config.reporter.contact,
            rep.outbox.path().display(),
            s.pending,
            s.parked
        );
        return Ok(ExitCode::SUCCESS);
    }
    let worker =
        Deliverer::new(std::sync::Arc::clone(&rep.outbox), &config.hotline, config.reporter.to_reporter())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async {
        if let Some(addr) = &args.metrics_addr {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("listening on {addr} for metrics"))?;
            tracing::info!(addr = %listener.local_addr()?, "metrics served");
            tokio::spawn(async move {
                if let Err(e) =
                    axum::serve(listener, hashline_ops::ops_app(std::sync::Arc::new(|| Ok(())))).await
                {
                    tracing::error!(error = %e, "metrics listener failed");
                }
            });
        }
        tracing::info!(outbox = %rep.outbox.path().display(), "reporter started");
        if args.from_kafka {
            let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
            let (kafka, outbox, wake) =
                (config.kafka.clone(), std::sync::Arc::clone(&rep.outbox), worker.waker());
            let relay = tokio::spawn(async move {
                let group = format!("{}-reporter", kafka.group);
                let stop = async move {
                    let _ = stop_rx.changed().await;
                };
                hashline_pipeline::relay::relay(&kafka, &group, outbox, wake, stop).await
            });
            worker.run(false, shutdown_signal()).await?;
            let _ = stop_tx.send(true);
            relay.await.context("relay task")??;
        } else {
            worker.run(args.drain, shutdown_signal()).await?;
        }
        anyhow::Ok(())
    })?;
    tracing::info!("reporter stopped");
    Ok(ExitCode::SUCCESS)
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
