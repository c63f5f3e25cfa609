//! `hashline reports quarantine`: the flood quarantine of list entries, for supervisors at the
//! command line (the triage pages have the same on `/quarantine`).

use std::io::Write;

use clap::Subcommand;

use crate::cmd_reports::{actor, audit, DataDirArg};
use crate::config::Config;

/// `hashline reports quarantine ...`.
#[derive(Subcommand, Debug)]
pub enum QuarantineCommand {
    /// Every quarantined (or lifted, or disabled) entry: list, entry id, state, uploads, first
    /// and last match, reports held, and a few held report ids to look at in the triage pages.
    List {
        #[command(flatten)]
        data: DataDirArg,
        /// JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The entry is right: its held reports return to the state the policy gave them, and its
    /// matches follow the policy again.
    Lift {
        /// The list's name.
        list: String,
        /// The entry id.
        entry: String,
        #[command(flatten)]
        data: DataDirArg,
    },
    /// The entry is wrong: it is disabled in the list store (an override kept across list
    /// updates; it matches nothing after the next reload); its held reports stay in review.
    Disable {
        /// The list's name.
        list: String,
        /// The entry id.
        entry: String,
        /// Why (kept with the override).
        #[arg(long, default_value = "flood quarantine")]
        reason: String,
        #[command(flatten)]
        data: DataDirArg,
        #[command(flatten)]
        store: crate::cmd_lists::StoreArg,
    },
}

pub fn run(cmd: QuarantineCommand, config: &Config, out: &mut impl Write) -> anyhow::Result<()> {
    match cmd {
        QuarantineCommand::List { data, json } => {
            let rep = data.open(config)?;
            let all = rep.outbox.quarantines()?;
            if all.is_empty() && !json {
                writeln!(out, "no entry has been quarantined")?;
            }
            for q in &all {
                let samples = rep.outbox.held_reports(&q.list, &q.entry_id, 5)?;
                if json {
                    let mut v = serde_json::to_value(q)?;
                    v["sample_reports"] = samples.into();
                    writeln!(out, "{v}")?;
                } else {
                    writeln!(
                        out,
                        "{}/{}  {:?}  since {}  {} uploads ({} at quarantine)  {} held  first {} last {}  e.g. {}",
                        q.list,
                        q.entry_id,
                        q.state,
                        hashline_lists::rfc3339_of_unix(q.since),
                        q.uploads,
                        q.uploads_at_quarantine,
                        q.held,
                        q.first_seen,
                        q.last_seen,
                        samples.join(", ")
                    )?;
                }
            }
        }
        QuarantineCommand::Lift { list, entry, data } => {
            let rep = data.open(config)?;
            let released = rep.outbox.lift(&list, &entry, &actor().to_string())?;
            audit(
                &rep,
                "entry.quarantine_lift",
                &format!("{list}/{entry}"),
                serde_json::json!({"released": released}),
            )?;
            writeln!(
                out,
                "{list}/{entry}: quarantine lifted; {released} held report(s) returned to the policy's state"
            )?;
        }
        QuarantineCommand::Disable { list, entry, reason, data, store } => {
            let rep = data.open(config)?;
            let store = store.open(config)?;
            let by = actor().to_string();
            store.disable_entry(
                hashline_lists::EntryRef { list: list.clone(), entry: entry.clone() },
                &by,
                &reason,
            )?;
            rep.outbox.disable(&list, &entry, &by)?;
            audit(&rep, "entry.disable", &format!("{list}/{entry}"), serde_json::json!({"reason": reason}))?;
            writeln!(
                out,
                "{list}/{entry}: disabled in the list store (matches nothing after the next reload); its held reports stay in review"
            )?;
        }
    }
    Ok(())
}
