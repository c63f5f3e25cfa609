//! How a new list version's entries are made from the previous version's and an import's,
//! the same way at import and when signed versions are derived again at load.

use std::cmp::Ordering;
use std::collections::HashSet;

use sha2::{Digest, Sha256};

use crate::model::Entry;

/// The entries of a new version and what changed.
pub(crate) struct Merged {
    pub(crate) entries: Vec<Entry>,
    pub(crate) added: usize,
    pub(crate) removed: usize,
}

/// The order entries are kept in: by signal type name, then id.
fn by_key(a: &Entry, b: &Entry) -> Ordering {
    a.signal.as_str().cmp(b.signal.as_str()).then_with(|| a.id.cmp(&b.id))
}

/// Sorts by key and keeps, of entries with the same key, the last given.
fn sorted_last_wins(mut entries: Vec<Entry>) -> Vec<Entry> {
    // Stable: equal keys stay in the order given, so the last of a run is the newest.
    entries.sort_by(by_key);
    let mut out: Vec<Entry> = Vec::with_capacity(entries.len());
    for e in entries {
        match out.last_mut() {
            Some(last) if by_key(last, &e) == Ordering::Equal => *last = e,
            _ => out.push(e),
        }
    }
    out
}

/// A new version's entries: `base` (the previous version's, or none when replacing), with the
/// parsed inputs' entries upserted by (signal, id) and their tombstones applied, sorted by
/// (signal, id).
///
/// Entries are moved, never copied, and no key is allocated: a 10M-entry list is merged in
/// about the memory its entries take (a sorted merge of two sorted runs).
pub(crate) fn merge(base: Vec<Entry>, parsed: Vec<crate::formats::Parsed>, now: &str) -> Merged {
    let base = sorted_last_wins(base);
    let mut tombstones: Vec<String> = Vec::new();
    let mut incoming: Vec<Entry> = Vec::new();
    for p in parsed {
        incoming.extend(p.entries.into_iter().map(|mut e| {
            if e.added_at.is_none() {
                e.added_at = Some(now.to_string());
            }
            e
        }));
        tombstones.extend(p.tombstones);
    }
    let incoming = sorted_last_wins(incoming);
    // Each entry with whether its key was active in the base.
    let mut joined: Vec<(Entry, bool)> = Vec::with_capacity(base.len() + incoming.len());
    let (mut old, mut new) = (base.into_iter().peekable(), incoming.into_iter().peekable());
    loop {
        let order = match (old.peek(), new.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(a), Some(b)) => by_key(a, b),
        };
        let next = match order {
            Ordering::Less => old.next().map(|e| {
                let active = e.is_active();
                (e, active)
            }),
            Ordering::Greater => new.next().map(|e| (e, false)),
            Ordering::Equal => {
                let was_active = old.next().is_some_and(|e| e.is_active());
                new.next().map(|e| (e, was_active))
            }
        };
        joined.extend(next);
    }
    let dead: HashSet<&str> = tombstones.iter().map(String::as_str).collect();
    let (mut removed, mut added) = (0, 0);
    let mut entries = Vec::with_capacity(joined.len());
    for (mut e, active_before) in joined {
        if e.is_active() && dead.contains(e.id.as_str()) {
            e.removed_at = Some(now.to_string());
            removed += 1;
        }
        if e.is_active() && !active_before {
            added += 1;
        }
        entries.push(e);
    }
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::formats::Parsed;
    use crate::model::SignalType;

    /// The rule as first written (a map keyed by copies of (signal, id)): the oracle.
    fn merge_by_map(base: &[Entry], parsed: Vec<Parsed>, now: &str) -> (Vec<Entry>, usize, usize) {
        let mut merged: BTreeMap<(String, String), Entry> = BTreeMap::new();
        for e in base {
            merged.insert((e.signal.to_string(), e.id.clone()), e.clone());
        }
        let before: HashSet<(String, String)> =
            merged.iter().filter(|(_, e)| e.is_active()).map(|(k, _)| k.clone()).collect();
        let mut tombstones = Vec::new();
        for p in parsed {
            for mut e in p.entries {
                if e.added_at.is_none() {
                    e.added_at = Some(now.to_string());
                }
                merged.insert((e.signal.to_string(), e.id.clone()), e);
            }
            tombstones.extend(p.tombstones);
        }
        let mut removed = 0;
        for e in merged.values_mut() {
            if e.is_active() && tombstones.contains(&e.id) {
                e.removed_at = Some(now.to_string());
                removed += 1;
            }
        }
        let entries: Vec<Entry> = merged.into_values().collect();
        let added = entries
            .iter()
            .filter(|e| e.is_active() && !before.contains(&(e.signal.to_string(), e.id.clone())))
            .count();
        (entries, added, removed)
    }

    fn entry() -> impl Strategy<Value = Entry> {
        (0u8..3, 0u8..6, any::<bool>(), 0u8..4).prop_map(|(signal, id, dead, tag)| {
            let signal =
                [SignalType::Md5, SignalType::Pdq, SignalType::Other("x".into())][signal as usize].clone();
            let mut e = Entry::new(signal, format!("v{tag}"));
            e.id = format!("id{id}");
            e.tags = vec![format!("t{tag}")];
            if dead {
                e.removed_at = Some("2026-01-01T00:00:00Z".into());
            }
            e
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn the_sorted_merge_equals_the_map_merge(
            base in proptest::collection::vec(entry(), 0..20),
            inputs in proptest::collection::vec(
                (proptest::collection::vec(entry(), 0..12), proptest::collection::vec(0u8..7, 0..3)),
                0..3,
            ),
        ) {
            let parsed = |inputs: &[(Vec<Entry>, Vec<u8>)]| -> Vec<Parsed> {
                inputs
                    .iter()
                    .map(|(entries, dead)| Parsed {
                        entries: entries.clone(),
                        tombstones: dead.iter().map(|d| format!("id{d}")).collect(),
                        ..Parsed::default()
                    })
                    .collect()
            };
            let now = "2026-12-02T00:00:00Z";
            let want = merge_by_map(&base, parsed(&inputs), now);
            let got = merge(base, parsed(&inputs), now);
            prop_assert_eq!((got.entries, got.added, got.removed), want);
        }
    }
}
