//! `hashline scan`: a folder in, reports out, no services.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use hashline_hash::{FileHashes, HashOptions, PdqOutcome, VideoOutcome};
use hashline_lists::{ListSet, Match};
use serde::Serialize;

use crate::cmd_lists::StoreArg;
use crate::config::Config;
use crate::files::{self, Entry};

/// Arguments of `hashline scan`.
#[derive(Args, Debug, Clone)]
pub struct ScanArgs {
    /// Files or folders to scan (walked recursively; links inside are not followed).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub store: StoreArg,
    /// Folder for reports and summary.json, created owner-only (default: `scan.out` of the
    /// configuration, else ./hashline-reports).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// exact (bit-identical PDQ) or fast (reduced-size JPEG decoding); default `[hash] mode`.
    #[arg(long, value_enum)]
    pub mode: Option<crate::cmd_hash::ModeArg>,
    /// Also match rotated and mirrored copies (the 8 dihedral PDQ hashes); also on with
    /// `[hash] dihedral = true`.
    #[arg(long)]
    pub dihedral: bool,
    /// Worker threads (default: `[hash] threads`, else all cores).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Follow symbolic links inside folders (links given on the command line always are).
    #[arg(long)]
    pub follow_links: bool,
    /// Stream one JSON line per match and per error to standard output.
    #[arg(long)]
    pub json: bool,
    /// Data folder: commit every report to its outbox for delivery (and preserve the matched
    /// media when an evidence key is configured). Default `data_dir` of the configuration;
    /// without one, reports are only written to --out.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// At the end, write the hashing and match metrics (Prometheus text format, the same
    /// series `run` and `serve` export) to this file, e.g. for node_exporter's textfile
    /// collector.
    #[arg(long, value_name = "FILE")]
    pub metrics_out: Option<PathBuf>,
}

/// Totals for `summary.json`. Counts only: no path or hash of a file that did not match.
#[derive(Serialize, Default)]
pub struct Summary {
    pub started_at: String,
    pub finished_at: String,
    pub lists: Vec<(String, u64)>,
    pub files: u64,
    pub bytes: u64,
    pub matched_files: u64,
    pub matches_by_list: BTreeMap<String, u64>,
    pub matches_by_classification: BTreeMap<String, u64>,
    pub suppressed_by_allow_list: u64,
    pub pdq_skipped_not_image: u64,
    pub pdq_below_quality: u64,
    /// Videos hashed (vPDQ); a video that could not be hashed is an error (`video_<why>`).
    pub videos_hashed: u64,
    pub links_not_followed: u64,
    pub errors: u64,
    pub errors_by_kind: BTreeMap<String, u64>,
    /// Reports committed to the outbox for delivery / for review; already reported before.
    pub reports_queued: u64,
    pub reports_for_review: u64,
    pub reports_duplicate: u64,
    pub elapsed_s: f64,
    pub files_per_s: f64,
    pub mb_per_s: f64,
    pub reports: Vec<String>,
    /// With a data folder and the journal on: files added to the hash journal, and what the
    /// retroactive pass after the scan did (lists changed since the last pass: their new
    /// entries looked up among the uploads of the window).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub journaled: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retro: Option<hashline_retro::Outcome>,
}

/// One file's result, computed on a worker thread.
enum Scanned {
    Hashed {
        path: PathBuf,
        hashes: Box<FileHashes>,
        matches: Vec<Match>,
        suppressed: usize,
        low_quality: bool,
        /// The bytes the engine read, when it read the file whole: the evidence.
        media: Option<Vec<u8>>,
    },
    Unreadable {
        path: PathBuf,
        reason: String,
    },
}

/// Where reports go.
struct Sink<'a> {
    out_dir: &'a Path,
    roots: &'a [PathBuf],
    host: &'a str,
    reporting: Option<&'a hashline_report::ReportStage>,
    reporter: hashline_report::Reporter,
    policy: hashline_report::Policy,
    /// The hash journal of the data folder, when it is on.
    journal: Option<&'a hashline_retro::Journal>,
}

/// The upload id of a scanned file: the host, its absolute path and content, hashed, so a
/// rescan of the same file is recognised and the path does not appear in the id.
fn upload_id(host: &str, path: &Path, sha256_hex: &str) -> String {
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    format!(
        "scan:{}",
        hashline_hash::hex(
            &hashline_hash::digests(format!("{host}\0{}\0{sha256_hex}", abs.to_string_lossy()).as_bytes())
                .sha256[..16]
        )
    )
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// Creates `dir` readable by its owner only.
fn private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Writes a file readable by its owner only, atomically.
fn private_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    hashline_lists::fsio::write_private(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// Runs a scan; returns the summary (also written to `OUT/summary.json`).
pub fn scan(args: &ScanArgs, config: &Config, quiet: bool) -> anyhow::Result<Summary> {
    let store = args.store.open(config)?;
    let lists = std::sync::Arc::new(ListSet::load(&store).context("loading the lists")?);
    let out_dir = args.out.clone().unwrap_or_else(|| config.scan.out.clone());
    private_dir(&out_dir)?;
    let reporting = match args.data_dir.as_deref().or(config.data_dir.as_deref()) {
        Some(dir) => Some(crate::reporting::open(config, dir)?),
        None => None,
    };
    if reporting.as_ref().is_some_and(|r| r.evidence.is_none()) && config.evidence.enabled {
        tracing::warn!(
            "matched media will not be preserved: no evidence key (set [evidence] key_file or \
             HASHLINE_EVIDENCE_KEY; `hashline evidence keygen` makes one)"
        );
    }
    let data_dir = args.data_dir.as_deref().or(config.data_dir.as_deref());
    let journal = match (data_dir, &reporting) {
        (Some(dir), Some(_)) => config.journal.open(dir)?,
        _ => None,
    };
    let started = Instant::now();
    let mut summary =
        Summary { started_at: hashline_lists::now_rfc3339(), lists: lists.versions(), ..Summary::default() };
    let jobs = config.jobs(args.jobs).max(1);
    let options = hashline_engine::Settings {
        hash: HashOptions {
            mode: crate::cmd_hash::ModeArg::or_config(args.mode, config),
            dihedral: args.dihedral || config.hash.dihedral,
            trim_borders: config.hash.trim_borders,
            limits: config.hash.limits(),
        },
        video: config.video.clone(),
    };
    // The one CPU pool type; the walk drives its threads itself, in input order.
    let cpu = hashline_engine::CpuPool::new(jobs, 4, "scan").context("starting the worker threads")?;
    let (entries, links) = files::split_links(files::walk(&args.paths, args.follow_links));
    summary.links_not_followed = links;
    let total = entries.len();
    let host = hostname();
    let sink = Sink {
        out_dir: &out_dir,
        roots: &args.paths,
        host: &host,
        reporting: reporting.as_ref(),
        reporter: config.reporter.to_reporter(),
        policy: config.policy.clone(),
        journal: journal.as_ref(),
    };
    let progress = !quiet && std::io::stderr().is_terminal();
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let mut failure: Option<anyhow::Error> = None;
    let worker_lists = std::sync::Arc::clone(&lists);
    cpu.ordered(
        entries,
        move |entry| match entry {
            // The shared examine step: hashed under the limits (streamed over the byte limit),
            // matched, counted.
            Entry::File(path) => match hashline_engine::examine_path(&options, &worker_lists, &path) {
                Ok(e) => Scanned::Hashed {
                    path,
                    hashes: Box::new(e.hashes),
                    matches: e.outcome.matches,
                    suppressed: e.outcome.suppressed.len(),
                    low_quality: e.outcome.pdq_low_quality,
                    media: e.media,
                },
                Err(e) => Scanned::Unreadable { path, reason: e.to_string() },
            },
            Entry::Unreadable(path, reason) => Scanned::Unreadable { path, reason },
            // Links are counted and left out before the walk reaches the workers.
            Entry::Link(path) => Scanned::Unreadable { path, reason: files::LINK_NOT_FOLLOWED.into() },
        },
        |scanned| {
            if failure.is_some() {
                return;
            }
            // A panic outside the guarded decoders (a bug): an error for that file, and the
            // scan goes on.
            let scanned = scanned
                .unwrap_or_else(|e| Scanned::Unreadable { path: PathBuf::new(), reason: e.to_string() });
            if let Err(e) = record(&mut summary, scanned, args.json, &sink, &mut stdout) {
                failure = Some(e);
            }
            if progress {
                let secs = started.elapsed().as_secs_f64().max(1e-3);
                let done = summary.files + summary.errors_by_kind.get("unreadable").copied().unwrap_or(0);
                let rate = done as f64 / secs;
                let eta = if rate > 0.0 { (total as f64 - done as f64) / rate } else { 0.0 };
                eprint!(
                    "\r{done}/{total} files, {:.0} MB, {rate:.1} files/s, {} matched, ETA {eta:.0} s   ",
                    summary.bytes as f64 / 1e6,
                    summary.matched_files
                );
            }
        },
    );
    if progress {
        eprintln!();
    }
    if let Some(e) = failure {
        return Err(e);
    }
    if let (Some(journal), Some(stage), Some(dir)) = (&journal, &reporting, data_dir) {
        // The lists may have grown since the last scan: their new entries against the uploads
        // of the window (this scan's included; what it reported already is not reported again).
        journal.sync()?;
        let retro = hashline_retro::Retro::new(dir.to_path_buf());
        let outcome = retro.run(journal, &store, &lists, stage, hashline_report::unix_now())?;
        summary.retro = Some(outcome);
    }
    stdout.flush()?;
    let elapsed = started.elapsed().as_secs_f64();
    summary.finished_at = hashline_lists::now_rfc3339();
    summary.elapsed_s = (elapsed * 1000.0).round() / 1000.0;
    summary.files_per_s = (summary.files as f64 / elapsed.max(1e-9) * 10.0).round() / 10.0;
    summary.mb_per_s = (summary.bytes as f64 / 1e6 / elapsed.max(1e-9) * 10.0).round() / 10.0;
    private_file(&out_dir.join("summary.json"), &serde_json::to_vec_pretty(&summary)?)?;
    if let Some(r) = &reporting {
        // The count of files examined, for `hashline stats` (counts only).
        r.outbox.add_examined(hashline_report::Channel::Scan, hashline_report::unix_now(), summary.files)?;
    }
    if let Some(p) = &args.metrics_out {
        private_file(p, hashline_metrics::global().render().as_bytes())?;
    }
    Ok(summary)
}

fn record(
    summary: &mut Summary,
    scanned: Scanned,
    json: bool,
    sink: &Sink<'_>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match scanned {
        Scanned::Unreadable { path, reason } => {
            summary.errors += 1;
            *summary.errors_by_kind.entry("unreadable".into()).or_default() += 1;
            if json {
                serde_json::to_writer(
                    &mut *out,
                    &serde_json::json!({"type": "error", "path": path.to_string_lossy(), "error": reason}),
                )?;
                out.write_all(b"\n")?;
            }
        }
        Scanned::Hashed { path, hashes, matches, suppressed, low_quality, media } => {
            summary.files += 1;
            summary.bytes += hashes.bytes;
            // Derived once (it resolves the path): the journal row and the report share it.
            let id = if sink.journal.is_some() || !matches.is_empty() {
                upload_id(sink.host, &path, &hashes.digests.sha256_hex())
            } else {
                String::new()
            };
            if let Some(journal) = sink.journal {
                let row = hashline_retro::JournalRow::of(
                    id.clone(),
                    hashline_report::Channel::Scan,
                    Some(format!("scan@{}", sink.host)),
                    hashline_report::unix_now(),
                    &hashes,
                );
                journal.append(&row)?;
                *summary.journaled.get_or_insert(0) += 1;
            }
            summary.suppressed_by_allow_list += suppressed as u64;
            summary.pdq_below_quality += u64::from(low_quality);
            let shown = path.to_string_lossy().into_owned();
            let mut error = None;
            match &hashes.pdq {
                PdqOutcome::Skipped(_) => summary.pdq_skipped_not_image += 1,
                PdqOutcome::Failed { error: e, .. } => {
                    summary.errors += 1;
                    *summary.errors_by_kind.entry(e.kind().into()).or_default() += 1;
                    error = Some(e.to_string());
                }
                PdqOutcome::Hashed { .. } => {}
            }
            match &hashes.video {
                Some(VideoOutcome::Hashed(_)) => summary.videos_hashed += 1,
                Some(VideoOutcome::Failed { kind, reason }) => {
                    summary.errors += 1;
                    *summary.errors_by_kind.entry(format!("video_{kind}")).or_default() += 1;
                    error = Some(reason.clone());
                }
                None => {}
            }
            if let (Some(e), true) = (&error, json) {
                serde_json::to_writer(
                    &mut *out,
                    &serde_json::json!({"type": "error", "path": shown, "error": e}),
                )?;
                out.write_all(b"\n")?;
            }
            if matches.is_empty() {
                return Ok(());
            }
            summary.matched_files += 1;
            for m in &matches {
                *summary.matches_by_list.entry(m.list.clone()).or_default() += 1;
                *summary
                    .matches_by_classification
                    .entry(m.classification.clone().unwrap_or_else(|| "unclassified".into()))
                    .or_default() += 1;
            }
            let report = report_for(summary, sink, &path, id, &hashes, &matches, media.as_deref())?;
            let name = format!("{}.json", report.report_id);
            private_file(&sink.out_dir.join(&name), &serde_json::to_vec_pretty(&report)?)?;
            summary.reports.push(name.clone());
            if json {
                serde_json::to_writer(
                    &mut *out,
                    &serde_json::json!({"type": "match", "path": shown, "report": name, "matches": matches}),
                )?;
                out.write_all(b"\n")?;
            }
        }
    }
    Ok(())
}

/// The `hashline.report/1` for a matched file: through the outbox when there is a data folder
/// (de-duplicated; evidence preserved), else built here.
fn report_for(
    summary: &mut Summary,
    sink: &Sink<'_>,
    path: &Path,
    upload_id: String,
    hashes: &FileHashes,
    matches: &[Match],
    media: Option<&[u8]>,
) -> anyhow::Result<hashline_report::Report> {
    let detection = hashline_report::Detection {
        upload_id,
        channel: hashline_report::Channel::Scan,
        detected_at: hashline_lists::now_rfc3339(),
        platform: Some(format!("scan@{}", sink.host)),
        file: {
            let mut f = hashline_report::FileInfo::from_hashes(
                hashes,
                path.file_name().map(|n| n.to_string_lossy().into_owned()),
                None,
            );
            let (root, path) = files::location(sink.roots, path);
            f.location = Some(hashline_report::FileLocation { root, path });
            f
        },
        matches: matches.to_vec(),
        ..Default::default()
    };
    let Some(reporting) = sink.reporting else {
        let (report, _) = hashline_report::build(&detection, &sink.reporter, &sink.policy)
            .context("a matched file without matches")?;
        return Ok(report);
    };
    // Evidence: the bytes the examine step read (none for a file over the byte limit).
    match reporting.record(&detection, media)?.context("a matched file without matches")? {
        hashline_report::Recorded::Queued(report, state) => {
            if state == hashline_report::State::Review {
                summary.reports_for_review += 1;
            } else {
                summary.reports_queued += 1;
            }
            Ok(*report)
        }
        hashline_report::Recorded::Duplicate(report) => {
            summary.reports_duplicate += 1;
            Ok(*report)
        }
    }
}

pub fn run(args: ScanArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let summary = scan(&args, config, false)?;
    if summary.files == 0 {
        eprintln!("hashline: {}", files::nothing_found(summary.links_not_followed));
    } else if summary.links_not_followed > 0 {
        eprintln!(
            "hashline: {} symbolic link(s) inside folders were not followed (use --follow-links)",
            summary.links_not_followed
        );
    }
    if !args.json {
        eprintln!(
            "scanned {} files ({:.1} MB) in {:.1} s: {} matched, {} errors; reports in {}",
            summary.files,
            summary.bytes as f64 / 1e6,
            summary.elapsed_s,
            summary.matched_files,
            summary.errors,
            args.out.as_ref().unwrap_or(&config.scan.out).display()
        );
    }
    Ok(exit_code(&summary))
}

/// 0 nothing matched, 1 matches found, 2 errors and no match, or no file read at all.
pub fn exit_code(s: &Summary) -> ExitCode {
    if s.files == 0 {
        ExitCode::from(2)
    } else if s.matched_files > 0 {
        ExitCode::from(1)
    } else if s.errors > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}
