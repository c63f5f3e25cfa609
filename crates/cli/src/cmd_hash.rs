//! `hashline hash`: digests and PDQ of files, one JSON line each, in input order.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use hashline_hash::{FileHashes, HashOptions, Limits, Mode, PdqOutcome, VideoOutcome};
use serde::Serialize;

use crate::files::{self, Entry};

/// Arguments of `hashline hash` (documented on the subcommand in `main.rs`).
#[derive(Args, Debug)]
pub struct HashArgs {
    /// Files or directories (walked recursively, sorted by name; links inside are not followed).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// exact: bit-identical to the reference PDQ. fast: JPEGs decoded at reduced size first
    /// (a few bits from exact). Default: `[hash] mode` of the configuration, else exact.
    #[arg(long, value_enum)]
    mode: Option<ModeArg>,

    /// Also output the PDQ hashes of the 8 rotations and mirror images.
    #[arg(long)]
    dihedral: bool,

    /// Also output the PDQ of the picture inside near-uniform borders (letterbox bars, frames,
    /// padding) and the box kept, for pictures that have them (`trimmed`).
    #[arg(long)]
    trim_borders: bool,

    /// Follow symbolic links inside folders (links given on the command line always are).
    #[arg(long)]
    follow_links: bool,

    /// Worker threads (default: all cores; 1 hashes on one thread).
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,

    /// Largest file decoded for PDQ, in bytes (larger files are still digested). Default:
    /// `[hash] max_input_bytes` of the configuration, else 256 MiB.
    #[arg(long, value_name = "BYTES")]
    max_input_bytes: Option<u64>,

    /// Most pixels an image may claim before it is refused unread (default 100 million).
    #[arg(long, value_name = "PIXELS")]
    max_pixels: Option<u64>,

    /// Longest side an image may claim, in pixels (default 65,535).
    #[arg(long, value_name = "PIXELS")]
    max_side: Option<u32>,

    /// Videos: seconds between hashed frames (vPDQ; 0 hashes every frame). Default: `[video]
    /// seconds_per_hash` of the configuration, else 1.
    #[arg(long, value_name = "SECONDS")]
    seconds_per_hash: Option<f64>,

    /// Videos: also write each video's frame hashes to DIR/<name>.txt in the vPDQ reference's
    /// hash-file form (`frame_number,quality,pdq_hex,timestamp`), what `lists import --format
    /// vpdq` reads.
    #[arg(long, value_name = "DIR")]
    vpdq_out: Option<PathBuf>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ModeArg {
    Exact,
    Fast,
}

/// One output line.
#[derive(Serialize, Default)]
struct Line {
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    md5: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pdq: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quality: Option<Option<u8>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    width: Option<Option<u32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<Option<u32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    format: Option<Option<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pdq_dihedral: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    trimmed: Vec<TrimmedLine>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pdq_pytx: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    video: Option<Box<hashline_hash::vpdq::VideoHashes>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// The frames in the reference's hash-file form, for `--vpdq-out` (not printed).
    #[serde(skip)]
    vpdq_file: Option<String>,
}

/// The picture inside an image's borders: its PDQ, quality and the box kept (x, y, width,
/// height in the image's pixels).
#[derive(Serialize)]
struct TrimmedLine {
    pdq: String,
    quality: u8,
    #[serde(rename = "box")]
    bbox: hashline_hash::TrimBox,
}

impl Line {
    fn unreadable(path: String, error: String) -> Line {
        Line { path, error: Some(error), ..Line::default() }
    }

    fn from_hashes(path: String, h: FileHashes, dihedral: bool) -> Line {
        let mut line = Line {
            path,
            bytes: Some(h.bytes),
            md5: Some(h.digests.md5_hex()),
            sha1: Some(h.digests.sha1_hex()),
            sha256: Some(h.digests.sha256_hex()),
            pdq: Some(None),
            quality: Some(None),
            width: Some(None),
            height: Some(None),
            format: Some(None),
            ..Line::default()
        };
        match h.pdq {
            PdqOutcome::Hashed { pdq, width, height, format, trimmed, pytx } => {
                // The hash python-threatexchange / HMA computes, where it reads the picture
                // differently (palette PNGs, GIFs, CMYK JPEGs).
                line.pdq_pytx = pytx.filter(|p| p.hash != pdq.hash).map(|p| p.hash.to_hex());
                line.trimmed = trimmed
                    .iter()
                    .map(|t| TrimmedLine { pdq: t.pdq.hash.to_hex(), quality: t.pdq.quality, bbox: t.bbox })
                    .collect();
                line.pdq = Some(Some(pdq.hash.to_hex()));
                line.quality = Some(Some(pdq.quality));
                line.width = Some(Some(width));
                line.height = Some(Some(height));
                line.format = Some(Some(format.as_str()));
                if dihedral {
                    line.pdq_dihedral = pdq.dihedral.map(|d| d.iter().map(|h| h.to_hex()).collect());
                }
            }
            PdqOutcome::Skipped(reason) => line.skipped = Some(reason),
            PdqOutcome::Failed { format, error } => {
                line.format = Some(Some(format.as_str()));
                line.error = Some(error.to_string());
            }
        }
        match h.video {
            Some(VideoOutcome::Hashed(v)) => {
                line.vpdq_file = Some(hashline_hash::vpdq::write_reference(&v.frames));
                line.video = Some(v);
            }
            Some(VideoOutcome::Failed { reason, .. }) => line.error = Some(reason),
            None => {}
        }
        line
    }
}

/// The limits: flags over the configuration.
pub(crate) fn limits(
    config: &crate::config::Config,
    bytes: Option<u64>,
    pixels: Option<u64>,
    side: Option<u32>,
) -> Limits {
    Limits {
        max_input_bytes: bytes.unwrap_or(config.hash.max_input_bytes),
        max_pixels: pixels.unwrap_or(config.hash.max_pixels),
        max_side: side.unwrap_or(config.hash.max_side),
    }
}

impl ModeArg {
    /// The flag, else the configuration's `[hash] mode`.
    pub(crate) fn or_config(arg: Option<ModeArg>, config: &crate::config::Config) -> Mode {
        match arg {
            Some(ModeArg::Exact) => Mode::Exact,
            Some(ModeArg::Fast) => Mode::Fast,
            None => config.hash.mode,
        }
    }
}

pub fn run(args: HashArgs, config: &crate::config::Config) -> anyhow::Result<ExitCode> {
    let jobs = config.jobs(args.jobs).max(1);
    let options = HashOptions {
        mode: ModeArg::or_config(args.mode, config),
        dihedral: args.dihedral,
        trim_borders: args.trim_borders,
        limits: limits(config, args.max_input_bytes, args.max_pixels, args.max_side),
    };
    let mut video = config.video.clone();
    if let Some(s) = args.seconds_per_hash {
        video.seconds_per_hash = s;
        video.validate().map_err(anyhow::Error::msg)?;
    }
    let settings = hashline_engine::Settings { hash: options, video };
    if let Some(dir) = &args.vpdq_out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let vpdq_out = args.vpdq_out.clone();
    // The one CPU pool type; the walk drives its threads itself, in input order.
    let cpu = hashline_engine::CpuPool::new(jobs, 4, "hash").context("starting the worker threads")?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut any_error = false;
    let mut lines = 0u64;
    let mut write_error: Option<std::io::Error> = None;
    let dihedral = args.dihedral;
    let no_lists = std::sync::Arc::new(hashline_lists::ListSet::empty());
    let (entries, links) = files::split_links(files::walk(&args.paths, args.follow_links));
    cpu.ordered(
        entries,
        move |entry| match entry {
            Entry::File(path) => {
                let shown = path.to_string_lossy().into_owned();
                // The shared examine step, against no lists: hashes only.
                match hashline_engine::examine_path(&settings, &no_lists, &path) {
                    Ok(e) => Line::from_hashes(shown, e.hashes, dihedral),
                    Err(e) => Line::unreadable(shown, e.to_string()),
                }
            }
            Entry::Unreadable(path, reason) => Line::unreadable(path.to_string_lossy().into_owned(), reason),
            // Links are counted and left out before the walk reaches the workers.
            Entry::Link(path) => {
                Line::unreadable(path.to_string_lossy().into_owned(), files::LINK_NOT_FOLLOWED.into())
            }
        },
        |line| {
            // A panic outside the guarded decoders (a bug): an error line, and the walk goes on.
            let line = line.unwrap_or_else(|e| Line::unreadable(String::new(), e.to_string()));
            lines += 1;
            any_error |= line.error.is_some();
            if write_error.is_some() {
                return;
            }
            if let (Some(dir), Some(text)) = (&vpdq_out, &line.vpdq_file) {
                let stem = std::path::Path::new(&line.path).file_stem().unwrap_or_default();
                let target = dir.join(stem).with_extension("txt");
                if let Err(e) = std::fs::write(&target, text) {
                    write_error = Some(std::io::Error::new(e.kind(), format!("{}: {e}", target.display())));
                    return;
                }
            }
            let res = serde_json::to_writer(&mut out, &line)
                .map_err(std::io::Error::from)
                .and_then(|()| out.write_all(b"\n"));
            if let Err(e) = res {
                write_error = Some(e);
            }
        },
    );
    if links > 0 {
        eprintln!("hashline: {links} symbolic link(s) inside folders were not followed (use --follow-links)");
    }
    if let Some(e) = write_error.or_else(|| out.flush().err()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Ok(ExitCode::SUCCESS);
        }
        return Err(e).context("writing to standard output");
    }
    if lines == 0 {
        anyhow::bail!("{}", crate::files::nothing_found(links));
    }
    Ok(if any_error { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
