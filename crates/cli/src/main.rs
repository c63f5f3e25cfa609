//! `hashline`: hash, match and report known media.

mod cmd_demo;
mod cmd_hash;
mod cmd_lists;
mod cmd_match;
mod cmd_quarantine;
mod cmd_reports;
mod cmd_retro;
mod cmd_run;
mod cmd_scan;
#[cfg(feature = "serve")]
mod cmd_serve;
mod cmd_stats;
mod config;
mod demo_video;
mod files;
mod reporting;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Finds known media by hash: PDQ (bit-exact with the reference) and MD5/SHA-1/SHA-256.
#[derive(Parser)]
#[command(name = "hashline", version, about, long_about = None, propagate_version = true)]
struct Cli {
    /// Configuration file (default: $HASHLINE_CONFIG, else ./hashline.toml if present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Hash files: digests and PDQ, one JSON line per file, in input order.
    ///
    /// Every file gets a line with its size and MD5, SHA-1 and SHA-256, whatever it is:
    /// known-hash lists carry digests of videos and other media too. Images (JPEG, PNG, GIF,
    /// WebP, BMP, TIFF, recognised by content, not by name) also get their PDQ hash and quality.
    ///
    /// Output fields: path, bytes, md5, sha1, sha256, pdq, quality, width, height, format, and
    /// with --dihedral pdq_dihedral (8 hashes: original, rotate90, rotate180, rotate270, flip_x,
    /// flip_y, flip_plus1, flip_minus1). A file that is not an image has "pdq": null and
    /// "skipped" saying why; an image that cannot be decoded or breaks a limit has "pdq": null
    /// and "error"; a file that cannot be read has "error" alone.
    ///
    /// Exit status: 0 when every file was read and every image hashed, 1 when any file had an
    /// error (the run still finishes), 2 on bad usage.
    #[command(verbatim_doc_comment)]
    Hash(cmd_hash::HashArgs),
    /// Manage known-hash lists: import, stats, verify, export, keygen, sign.
    #[command(subcommand)]
    Lists(cmd_lists::ListsCommand),
    /// Look hashes up in the store's lists; prints a JSON line per value (or per `hashline
    /// hash` line with --stdin) with every match and its provenance. Exit status: 0 nothing
    /// matched, 1 something matched, 2 errors.
    Match(cmd_match::MatchArgs),
    /// Scan files against the store's lists: one report per matched file in --out, and
    /// summary.json. Exit status: 0 nothing matched, 1 matches found, 2 errors and no match.
    Scan(cmd_scan::ScanArgs),
    /// The streaming job: uploads from Kafka (a consumer group), reports to the outbox, match
    /// events and dead letters to Kafka, metrics and probes on --metrics-addr.
    Run(cmd_run::RunArgs),
    /// Retroactive matching: the entries the lists gained since the last pass, looked up among
    /// the uploads of the hash journal's window (`[journal]`); what it finds is reported,
    /// marked retroactive. `scan --data-dir` runs the same pass after every scan.
    Retro(cmd_retro::RetroArgs),
    /// Reports in the outbox: list, show, retry, export (JSON or NCMEC XML), stats, purge.
    #[command(subcommand)]
    Reports(cmd_reports::ReportsCommand),
    /// Deliver the outbox to the hotline ([hotline] url), in order, with retries, until
    /// SIGTERM/SIGINT (or, with --drain, until nothing is pending).
    Reporter(cmd_reports::ReporterArgs),
    /// Preserved evidence: keygen, list, hold, release, export.
    #[command(subcommand)]
    Evidence(cmd_reports::EvidenceCommand),
    /// The tamper-evident audit log.
    #[command(subcommand)]
    Audit(cmd_reports::AuditCommand),
    /// Serve the analyst triage pages, the match API (/v1/match, /v1/hash, /v1/lists),
    /// /metrics and health probes.
    #[cfg(feature = "serve")]
    Serve(cmd_serve::ServeArgs),
    /// API tokens for the match API: create, list, revoke.
    #[command(subcommand)]
    #[cfg(feature = "serve")]
    Tokens(cmd_serve::TokensCommand),
    /// Accounts of the analyst triage pages: add, list, disable, enable, passwd, role.
    #[command(subcommand)]
    #[cfg(feature = "serve")]
    Users(cmd_serve::UsersCommand),
    /// Statistics of a period for the hotline's management and council: counts, times,
    /// workload and exposure, aggregate only (HTML with charts, CSV or JSON; English or Khmer).
    Stats(cmd_stats::StatsArgs),
    /// The whole chain on generated, benign pictures and synthetic lists, in about a second.
    Demo(cmd_demo::DemoArgs),
    /// Show the effective configuration (file, then environment overrides) as TOML.
    Config {
        /// Print it (the only action for now).
        #[arg(long)]
        print: bool,
    },
}

/// Logs go to standard error as structured text; `HASHLINE_LOG` (e.g. `debug`,
/// `hashline_report=debug`) sets the filter, default `info`.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HASHLINE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

/// The first argument that makes this program the video frame decoder (`hashline-video` starts
/// it in a child process under its limits; not a command for people).
const VIDEO_DECODER: &str = "__video-decoder";

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == VIDEO_DECODER) {
        let code = hashline_decoder::main_with(&args[2..]);
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    if let Ok(me) = std::env::current_exe() {
        hashline_video::register_decoder(me, vec![VIDEO_DECODER.into()]);
    }
    let cli = Cli::parse();
    init_tracing();
    let result = config::Config::load(cli.config.as_deref()).and_then(|config| match cli.command {
        Command::Hash(args) => cmd_hash::run(args, &config),
        Command::Lists(cmd) => cmd_lists::run(cmd, &config),
        Command::Match(args) => cmd_match::run(args, &config),
        Command::Scan(args) => cmd_scan::run(args, &config),
        Command::Stats(args) => cmd_stats::run(args, &config),
        Command::Demo(args) => cmd_demo::run(args, &config),
        Command::Run(args) => cmd_run::run(args, &config),
        Command::Retro(args) => cmd_retro::run(args, &config),
        Command::Reports(cmd) => cmd_reports::run_reports(cmd, &config),
        Command::Reporter(args) => cmd_reports::run_reporter(args, &config),
        Command::Evidence(cmd) => cmd_reports::run_evidence(cmd, &config),
        Command::Audit(cmd) => cmd_reports::run_audit(cmd, &config),
        #[cfg(feature = "serve")]
        Command::Serve(args) => cmd_serve::run_serve(args, &config),
        #[cfg(feature = "serve")]
        Command::Tokens(cmd) => cmd_serve::run_tokens(cmd, &config),
        #[cfg(feature = "serve")]
        Command::Users(cmd) => cmd_serve::run_users(cmd, &config),
        Command::Config { .. } => {
            print!("{}", config.to_toml()?);
            Ok(ExitCode::SUCCESS)
        }
    });
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("hashline: {err:#}");
            ExitCode::from(2)
        }
    }
}
