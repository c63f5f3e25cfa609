//! `hashline lists …`: import, stats, verify, export, keygen, sign.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use hashline_lists::formats::Format;
use hashline_lists::{ImportRequest, ListKind, ListSet, SignalType, Store, Thresholds};

use crate::config::Config;

/// Where the list store is: `--store`, else `$HASHLINE_STORE`, else `store` in hashline.toml.
#[derive(Args, Debug, Clone)]
pub struct StoreArg {
    /// The list store folder (default: $HASHLINE_STORE, then `store` in hashline.toml).
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
}

impl StoreArg {
    pub fn open(&self, config: &Config) -> anyhow::Result<Store> {
        let dir = config.store(self.store.as_deref())?;
        Store::open(&dir).with_context(|| format!("opening the list store {}", dir.display()))
    }
}

#[derive(Subcommand, Debug)]
pub enum ListsCommand {
    /// Import files into a new version of a list (added to the previous version; tombstones
    /// remove entries). Bad records are reported on stderr and skipped, or with --strict fail
    /// the import. An import that accepts no record fails and changes nothing.
    ///
    /// Exit status: 0 every record imported, 1 imported but some records skipped, 2 nothing
    /// imported (the previous version stays active).
    Import(ImportArgs),
    /// Per-list counts, versions and thresholds (no hash values), as JSON lines.
    Stats(StoreArg),
    /// Check every list against its manifest (and signatures when trusted keys are set).
    Verify(StoreArg),
    /// Write the active version of a list in the hashline format.
    Export(ExportArgs),
    /// Make an Ed25519 key pair for signing lists: KEY (secret) and KEY.pub.
    Keygen {
        /// Path of the secret key to write (the public key goes to PATH.pub).
        #[arg(value_name = "PATH")]
        out: PathBuf,
    },
    /// Sign a list file for one list: writes FILE.sig, an Ed25519 signature over a statement
    /// that names the list, its kind, a sequence number, whether the file is the whole list,
    /// how to read it, and the file's SHA-256. A store with trusted keys imports it only as
    /// stated, and only with a sequence number above the list's current one.
    Sign(SignArgs),
}

/// Which list a file is for and how it is read: what `import` does and what `sign` states.
#[derive(Args, Debug)]
pub struct ListInput {
    /// List name (a-z, 0-9, '.', '_', '-').
    #[arg(long)]
    name: String,
    /// pytx-file, pytx-csv, ncmec-xml, vics-json, hex, hashline or vpdq (the vPDQ reference's
    /// hash files, one video per file, named by the file).
    #[arg(long, value_parser = |s: &str| s.parse::<Format>())]
    format: Format,
    /// Signal type of bare values (pdq, vpdq, md5, sha1, sha256).
    #[arg(long = "type", value_name = "TYPE")]
    signal: Option<String>,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    #[command(flatten)]
    store: StoreArg,
    #[command(flatten)]
    input: ListInput,
    /// Fail on the first bad record instead of skipping bad records.
    #[arg(long)]
    strict: bool,
    /// Publisher of the list (ncmec-industry, iwf, local, …).
    #[arg(long)]
    source: Option<String>,
    /// The list is an allow-list: its entries suppress matches on other lists.
    #[arg(long)]
    allow: bool,
    /// Classification for entries that carry none (A1, A2, B1, B2, IWF-A, IWF-B, IWF-C, or a tag).
    #[arg(long)]
    classification: Option<String>,
    /// Largest PDQ distance that matches (default 31; for a new allow-list 8, the distance
    /// within which its entries suppress).
    #[arg(long, value_name = "BITS")]
    pdq_distance: Option<u32>,
    /// Smallest PDQ quality of an upload for this list's PDQ entries to be tried (default 50).
    #[arg(long, value_name = "Q")]
    pdq_min_quality: Option<u8>,
    /// Largest PDQ distance for the picture inside an upload's borders (the `border_trimmed`
    /// variant; default `[lists] trimmed_pdq_distance`).
    #[arg(long, value_name = "BITS")]
    trimmed_pdq_distance: Option<u32>,
    /// Smallest quality of the `border_trimmed` variant's hash (default `[lists]
    /// trimmed_pdq_min_quality`).
    #[arg(long, value_name = "Q")]
    trimmed_pdq_min_quality: Option<u8>,
    /// vPDQ: largest frame distance (default `[lists] vpdq_distance`, 31).
    #[arg(long, value_name = "BITS")]
    vpdq_distance: Option<u32>,
    /// vPDQ: frames below this quality are left out (default `[lists] vpdq_min_quality`, 50).
    #[arg(long, value_name = "Q")]
    vpdq_min_quality: Option<u8>,
    /// vPDQ: share of an upload's unique frames that must match, percent (default 80).
    #[arg(long, value_name = "PERCENT")]
    vpdq_query_match_percent: Option<u8>,
    /// vPDQ: share of the listed video's unique frames that must match, percent (default 0).
    #[arg(long, value_name = "PERCENT")]
    vpdq_compared_match_percent: Option<u8>,
    /// The new version holds only this import's entries. Refused when that drops more than
    /// `[lists] replace_max_drop_percent` (default 50) of the active entries, unless --force.
    #[arg(long)]
    replace: bool,
    /// With --replace: replace however many active entries the new version drops.
    #[arg(long, requires = "replace")]
    force: bool,
    /// Make a new version even when no record was accepted (an empty list on purpose).
    #[arg(long)]
    allow_empty: bool,
    /// Detached signature of the (single) input file, required when the store has trusted keys.
    #[arg(long, value_name = "FILE")]
    signature: Option<PathBuf>,
    /// Files to import.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct SignArgs {
    /// The secret key made by `keygen`.
    #[arg(long, value_name = "PATH")]
    key: PathBuf,
    #[command(flatten)]
    input: ListInput,
    /// The list is an allow-list.
    #[arg(long)]
    allow: bool,
    /// The file is the whole list (imported with `--replace`), not an update.
    #[arg(long)]
    full: bool,
    /// Sequence number, above every earlier one for this list (default: the current unix time
    /// in seconds).
    #[arg(long)]
    sequence: Option<u64>,
    /// The file to sign.
    file: PathBuf,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    store: StoreArg,
    /// List name.
    #[arg(long)]
    name: String,
    /// Output file (default: standard output).
    #[arg(long, short = 'o')]
    out: Option<PathBuf>,
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

pub fn run(cmd: ListsCommand, config: &Config) -> anyhow::Result<ExitCode> {
    match cmd {
        ListsCommand::Import(a) => import(a, config),
        ListsCommand::Stats(s) => {
            let store = s.open(config)?;
            let mut out = std::io::stdout().lock();
            for st in ListSet::stats(&store)? {
                serde_json::to_writer(&mut out, &st)?;
                writeln!(out)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        ListsCommand::Verify(s) => verify(s, config),
        ListsCommand::Export(a) => {
            let bytes = a.store.open(config)?.export(&a.name)?;
            match a.out {
                Some(p) => std::fs::write(&p, bytes).with_context(|| format!("writing {}", p.display()))?,
                None => std::io::stdout().lock().write_all(&bytes)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        ListsCommand::Keygen { out } => keygen(&out),
        ListsCommand::Sign(a) => sign(a),
    }
}

fn import(a: ImportArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let store = a.store.open(config)?;
    let signal = a.input.signal.as_deref().map(SignalType::parse_lenient);
    if let Some(SignalType::Other(t)) = &signal {
        bail!("--type {t:?} is not a type hashline matches: use pdq, vpdq, md5, sha1 or sha256");
    }
    if a.signature.is_some() && a.files.len() != 1 {
        bail!("--signature signs one file: import signed files one at a time");
    }
    let files = a
        .files
        .iter()
        .map(|p| Ok((p.display().to_string(), read(p)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let signatures = a.signature.as_deref().map(read).transpose()?.into_iter().collect();
    // Only the manifest is needed here; the import itself reads the previous entries once.
    let previous = store.manifest(&a.input.name)?;
    let given = [a.pdq_distance, a.trimmed_pdq_distance, a.vpdq_distance].iter().any(Option::is_some)
        || [
            a.pdq_min_quality,
            a.trimmed_pdq_min_quality,
            a.vpdq_min_quality,
            a.vpdq_query_match_percent,
            a.vpdq_compared_match_percent,
        ]
        .iter()
        .any(Option::is_some);
    let thresholds = if given {
        let kind = if a.allow { ListKind::Allow } else { ListKind::Known };
        let base = previous.as_ref().map(|m| m.thresholds).unwrap_or_else(|| config.lists.thresholds(kind));
        let t = Thresholds {
            pdq_distance: a.pdq_distance.unwrap_or(base.pdq_distance),
            pdq_min_quality: a.pdq_min_quality.unwrap_or(base.pdq_min_quality),
            trimmed_pdq_distance: a.trimmed_pdq_distance.unwrap_or(base.trimmed_pdq_distance),
            trimmed_pdq_min_quality: a.trimmed_pdq_min_quality.unwrap_or(base.trimmed_pdq_min_quality),
            vpdq_distance: a.vpdq_distance.unwrap_or(base.vpdq_distance),
            vpdq_min_quality: a.vpdq_min_quality.unwrap_or(base.vpdq_min_quality),
            vpdq_query_match_percent: a.vpdq_query_match_percent.unwrap_or(base.vpdq_query_match_percent),
            vpdq_compared_match_percent: a
                .vpdq_compared_match_percent
                .unwrap_or(base.vpdq_compared_match_percent),
        };
        if t.pdq_distance.max(t.trimmed_pdq_distance).max(t.vpdq_distance) > 255
            || t.pdq_min_quality.max(t.trimmed_pdq_min_quality).max(t.vpdq_min_quality) > 100
            || t.vpdq_query_match_percent.max(t.vpdq_compared_match_percent) > 100
        {
            bail!("PDQ distances are 0–255, qualities 0–100 and percentages 0–100");
        }
        Some(t)
    } else if previous.is_none() {
        // A new list takes the configured defaults.
        Some(config.lists.thresholds(if a.allow { ListKind::Allow } else { ListKind::Known }))
    } else {
        None
    };
    let report = store.import(ImportRequest {
        signal,
        strict: a.strict,
        source: a.source,
        kind: a.allow.then_some(ListKind::Allow),
        classification: a
            .classification
            .map(|c| c.parse().unwrap_or_else(|never: std::convert::Infallible| match never {})),
        thresholds,
        replace: a.replace,
        signatures,
        allow_empty: a.allow_empty,
        max_drop_percent: (!a.force).then_some(config.lists.replace_max_drop_percent),
        ..ImportRequest::new(a.input.name, a.input.format, files)
    })?;
    for e in &report.errors {
        eprintln!("skipped: {e}");
    }
    if report.skipped > report.errors.len() {
        eprintln!("skipped: … and {} more", report.skipped - report.errors.len());
    }
    eprintln!(
        "{} v{}: {} of {} records imported, {} skipped; {} added, {} removed, {} active",
        report.name,
        report.version,
        report.read,
        report.read + report.skipped,
        report.skipped,
        report.added,
        report.removed,
        report.active
    );
    // With a data folder configured, list changes join the audit log beside the triage
    // decisions that also change lists.
    if let Some(dir) = &config.data_dir {
        let log = hashline_report::AuditLog::open(dir)?;
        let mut d = serde_json::Map::new();
        d.insert("version".into(), report.version.into());
        d.insert("added".into(), report.added.into());
        d.insert("removed".into(), report.removed.into());
        log.append(&crate::cmd_reports::actor(), "list.import", &report.name, d)?;
    }
    serde_json::to_writer(std::io::stdout().lock(), &report)?;
    println!();
    Ok(if report.skipped == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn verify(s: StoreArg, config: &Config) -> anyhow::Result<ExitCode> {
    let store = s.open(config)?;
    let keys = store.trusted_keys()?;
    let mut bad = 0;
    for name in store.names()? {
        match store.load(&name) {
            Ok(l) if !keys.is_empty() && l.manifest.signed_by.is_none() => {
                bad += 1;
                println!("{name} v{}: NOT SIGNED, but the store requires signatures", l.manifest.version);
            }
            Ok(l) => println!(
                "{name} v{}: ok, {} entries{}",
                l.manifest.version,
                l.manifest.entries,
                l.manifest.signed_by.map(|k| format!(", signed by {k}")).unwrap_or_default()
            ),
            Err(e) => {
                bad += 1;
                println!("{name}: DAMAGED: {e}");
            }
        }
    }
    Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn keygen(out: &Path) -> anyhow::Result<ExitCode> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness from the OS: {e}"))?;
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    // Owner-only from the moment it exists; an existing key is never overwritten.
    hashline_lists::fsio::create_private(out, hex::encode(seed).as_bytes()).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!("{} exists; refusing to overwrite a key", out.display())
        } else {
            anyhow::Error::new(e).context(format!("writing {}", out.display()))
        }
    })?;
    let public = out.with_extension("pub");
    std::fs::write(&public, hex::encode(key.verifying_key().as_bytes()))?;
    println!(
        "secret key: {} (keep it offline)\npublic key: {} (copy it to STORE/trusted-keys/)",
        out.display(),
        public.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn sign(a: SignArgs) -> anyhow::Result<ExitCode> {
    use hashline_lists::signing::{self, Statement, STATEMENT_FORMAT};
    hashline_lists::model::validate_name(&a.input.name).map_err(anyhow::Error::msg)?;
    let seed =
        hex::decode(std::fs::read_to_string(&a.key)?.trim()).context("the secret key is 64 hex digits")?;
    let seed: [u8; 32] = seed.try_into().map_err(|_| anyhow::anyhow!("the secret key is 32 bytes"))?;
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let bytes = read(&a.file)?;
    let sequence = match a.sequence {
        Some(n) => n,
        None => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs(),
    };
    let statement = Statement {
        format: STATEMENT_FORMAT.into(),
        list: a.input.name,
        kind: if a.allow { ListKind::Allow } else { ListKind::Known },
        sequence,
        signed_at: hashline_lists::now_rfc3339(),
        full: a.full,
        input_format: a.input.format.name().into(),
        input_type: a.input.signal.as_deref().map(|t| SignalType::parse_lenient(t).to_string()),
        sha256: signing::sha256_hex(&bytes),
    };
    let out = PathBuf::from(format!("{}.sig", a.file.display()));
    std::fs::write(&out, signing::sign(&key, &statement))
        .with_context(|| format!("writing {}", out.display()))?;
    println!("{} (list {}, sequence {sequence})", out.display(), statement.list);
    Ok(ExitCode::SUCCESS)
}
