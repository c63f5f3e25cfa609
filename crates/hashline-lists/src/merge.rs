//! How a new list version's entries are made from the previous version's and an import's,
//! the same way at import and when signed versions are derived again at load.

use std::collections::{BTreeMap, HashSet};

use sha2::{Digest, Sha256};

use crate::model::Entry;

/// The entries of a new version and what changed.
pub(crate) struct Merged {
    pub(crate) entries: Vec<Entry>,
    pub(crate) added: usize,
    pub(crate) removed: usize,
}

/// A new version's entries: `base` (the previous version's, or none when replacing), with the
/// parsed inputs' entries upserted by (signal, id) and their tombstones applied.
pub(crate) fn merge(base: &[Entry], parsed: Vec<crate::formats::Parsed>, now: &str) -> Merged {
    let mut merged: BTreeMap<(String, String), Entry> = BTreeMap::new();
    for e in base {
        merged.insert((e.signal.to_string(), e.id.clone()), e.clone());
    }
    let before: HashSet<(String, String)> =
        merged.iter().filter(|(_, e)| e.is_active()).map(|(k, _)| k.clone()).collect();
    let mut tombstones: Vec<String> = Vec::new();
    for p in parsed {
        for mut e in p.entries {
            if e.added_at.is_none() {
                e.added_at = Some(now.to_string());
            }
            merged.insert((e.signal.to_string(), e.id.clone()), e);
        }
        tombstones.extend(p.tombstones);
    }
    let dead: HashSet<&str> = tombstones.iter().map(String::as_str).collect();
    let mut removed = 0;
    for e in merged.values_mut() {
        if e.is_active() && dead.contains(e.id.as_str()) {
            e.removed_at = Some(now.to_string());
            removed += 1;
        }
    }
    let entries: Vec<Entry> = merged.into_values().collect();
    let added = entries
        .iter()
        .filter(|e| e.is_active() && !before.contains(&(e.signal.to_string(), e.id.clone())))
        .count();
    Merged { entries, added, removed }
}

/// A digest of what entries say, without the times an import stamps on them: two derivations
/// of the same inputs agree on it whenever they were made.
pub(crate) fn content_digest(entries: &[Entry]) -> String {
    let mut h = Sha256::new();
    for e in entries {
        let mut e = e.clone();
        let active = e.is_active();
        e.added_at = None;
        e.removed_at = (!active).then(String::new);
        h.update(serde_json::to_vec(&e).unwrap_or_default());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}
