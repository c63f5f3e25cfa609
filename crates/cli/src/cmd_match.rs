//! `hashline match`: look hashes up in the store's lists.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use hashline_hash::PdqHash;
use hashline_lists::{ListSet, Outcome, Query};
use serde::Serialize;

use crate::cmd_lists::StoreArg;

/// Arguments of `hashline match`.
#[derive(Args, Debug)]
pub struct MatchArgs {
    #[command(flatten)]
    store: StoreArg,
    /// Read `hashline hash` JSON lines from standard input (use `hash --dihedral` to match
    /// rotated and mirrored copies too).
    #[arg(long, conflicts_with = "values")]
    stdin: bool,
    /// Type of the values: md5, sha1, sha256 or pdq (default: by length; 64 digits are tried
    /// as both SHA-256 and PDQ).
    #[arg(long = "type", value_name = "TYPE")]
    signal: Option<String>,
    /// PDQ quality to assume for PDQ values given on the command line.
    #[arg(long, default_value_t = 100)]
    quality: u8,
    /// Hex values to look up.
    #[arg(value_name = "VALUE", required_unless_present = "stdin")]
    values: Vec<String>,
}

#[derive(Serialize)]
struct Line<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a str>,
    matched: bool,
    matches: &'a [hashline_lists::Match],
    #[serde(skip_serializing_if = "is_zero")]
    suppressed_by_allow_list: usize,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pdq_below_quality: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn hex_array<const N: usize>(s: &str) -> Option<[u8; N]> {
    hex::decode(s.trim()).ok()?.try_into().ok()
}

/// A query from one value given on the command line.
fn query_for_value(value: &str, signal: Option<&str>, quality: u8) -> Result<Query, String> {
    let v = value.trim().to_ascii_lowercase();
    let mut q = Query::default();
    let bad = |what: &str| format!("{value:?} is not {what}");
    match (signal, v.len()) {
        (Some("md5"), _) | (None, 32) => {
            q.md5 = Some(hex_array(&v).ok_or_else(|| bad("an MD5 (32 hex digits)"))?)
        }
        (Some("sha1"), _) | (None, 40) => {
            q.sha1 = Some(hex_array(&v).ok_or_else(|| bad("a SHA-1 (40 hex digits)"))?)
        }
        (Some("sha256"), _) => {
            q.sha256 = Some(hex_array(&v).ok_or_else(|| bad("a SHA-256 (64 hex digits)"))?)
        }
        (Some("pdq"), _) => q.pdq = Some((v.parse::<PdqHash>().map_err(|e| e.to_string())?, quality)),
        (None, 64) => {
            q.sha256 = Some(hex_array(&v).ok_or_else(|| bad("64 hex digits"))?);
            q.pdq = Some((v.parse::<PdqHash>().map_err(|e| e.to_string())?, quality));
        }
        (Some(t), _) => return Err(format!("--type {t:?}: use md5, sha1, sha256 or pdq")),
        (None, n) => {
            return Err(format!(
                "{value:?}: {n} characters is no known hash length (MD5 32, SHA-1 40, SHA-256/PDQ 64)"
            ))
        }
    }
    Ok(q)
}

/// A query from one `hashline hash` output line.
pub(crate) fn query_for_hash_line(v: &serde_json::Value) -> Query {
    let s = |k: &str| v.get(k).and_then(|x| x.as_str());
    let mut q = Query {
        md5: s("md5").and_then(hex_array),
        sha1: s("sha1").and_then(hex_array),
        sha256: s("sha256").and_then(hex_array),
        ..Query::default()
    };
    if let (Some(p), Some(quality)) =
        (s("pdq").and_then(|p| p.parse::<PdqHash>().ok()), v.get("quality").and_then(|x| x.as_u64()))
    {
        q.pdq = Some((p, quality.min(100) as u8));
        if let Some(all) = v.get("pdq_dihedral").and_then(|x| x.as_array()) {
            let parsed: Vec<PdqHash> = all.iter().filter_map(|h| h.as_str()?.parse().ok()).collect();
            if let Ok(arr) = <[PdqHash; 8]>::try_from(parsed) {
                q.pdq_dihedral = Some(arr);
            }
        }
    }
    // A video's frames (`"video": {"frames": [{frame_number, timestamp, pdq, quality}]}`).
    if let Some(frames) = v.get("video").and_then(|x| x.get("frames")).and_then(|x| x.as_array()) {
        q.vpdq = frames
            .iter()
            .filter_map(|f| {
                let frame = hashline_hash::vpdq::VpdqFrame {
                    frame_number: f.get("frame_number")?.as_u64()?,
                    timestamp: f.get("timestamp")?.as_f64()?,
                    pdq: f.get("pdq")?.as_str()?.parse().ok()?,
                    quality: f.get("quality")?.as_u64()?.min(100) as u8,
                    trimmed: f.get("trimmed").and_then(|t| {
                        Some(hashline_hash::vpdq::TrimmedFrame {
                            pdq: t.get("pdq")?.as_str()?.parse().ok()?,
                            quality: t.get("quality")?.as_u64()?.min(100) as u8,
                        })
                    }),
                };
                Some(hashline_lists::QueryFrame { frame, dihedral: None })
            })
            .collect();
    }
    q
}

pub fn run(args: MatchArgs, config: &crate::config::Config) -> anyhow::Result<ExitCode> {
    let store = args.store.open(config)?;
    let lists = ListSet::load(&store).context("loading the lists")?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let (mut any_match, mut any_error) = (false, false);
    let mut emit =
        |path: Option<&str>, value: Option<&str>, outcome: Result<Outcome, String>| -> anyhow::Result<()> {
            let (o, error) = match outcome {
                Ok(o) => (o, None),
                Err(e) => (Outcome::default(), Some(e)),
            };
            any_match |= !o.matches.is_empty();
            any_error |= error.is_some();
            let line = Line {
                path,
                value,
                matched: !o.matches.is_empty(),
                matches: &o.matches,
                suppressed_by_allow_list: o.suppressed.len(),
                pdq_below_quality: o.pdq_low_quality,
                error,
            };
            serde_json::to_writer(&mut out, &line)?;
            out.write_all(b"\n")?;
            Ok(())
        };
    if args.stdin {
        for (i, line) in std::io::stdin().lock().lines().enumerate() {
            let line = line.context("reading standard input")?;
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<serde_json::Value>(&line) {
                Ok(v) => {
                    let path = v.get("path").and_then(|p| p.as_str()).map(str::to_string);
                    emit(path.as_deref(), None, Ok(lists.match_query(&query_for_hash_line(&v))))?;
                }
                Err(e) => emit(
                    None,
                    None,
                    Err(format!("standard input line {}: not a JSON line from `hashline hash`: {e}", i + 1)),
                )?,
            }
        }
    } else {
        for value in &args.values {
            let outcome =
                query_for_value(value, args.signal.as_deref(), args.quality).map(|q| lists.match_query(&q));
            emit(None, Some(value), outcome)?;
        }
    }
    out.flush()?;
    Ok(if any_error {
        ExitCode::from(2)
    } else if any_match {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
