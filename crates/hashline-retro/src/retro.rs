//! The retro matcher: an index of the journal (the PDQ multi-index and sorted digest tables,
//! built over recent uploads instead of list entries), and the lookup of what a list update
//! changed — the entries a known list's new version added, the entries an allow-list's new
//! version dropped — so that the cost of an update grows with the size of the change, not of
//! the journal. Every hit goes through the live decision: the row's hashes are matched against
//! the lists now in force (thresholds, allow-lists, tombstones), and only matches of the
//! changed entries are reported, marked retroactive.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use hashline_hash::PdqHash;
use hashline_lists::{Entry, ListKind, ListSet, Match, PdqHit, PdqIndex, SignalType, Store, StoreError};

use crate::journal::{End, Journal, JournalError, JournalRow, RowRef, Scan};

/// The journal, indexed.
pub struct RetroIndex {
    refs: Vec<RowRef>,
    pdq: PdqIndex,
    /// Per PDQ slot, its row (a row has its PDQ, its dihedral variants, its video frames).
    pdq_owner: Vec<u32>,
    md5: Vec<([u8; 16], u32)>,
    sha1: Vec<([u8; 20], u32)>,
    sha256: Vec<([u8; 32], u32)>,
}

fn key<const N: usize>(hex_text: &str) -> Option<[u8; N]> {
    hex::decode(hex_text).ok()?.try_into().ok()
}

impl RetroIndex {
    /// Reads the journal's rows within its window at `now` into an index.
    pub fn build(journal: &Journal, now: i64) -> Result<(RetroIndex, Scan), JournalError> {
        let (index, scan, _) = RetroIndex::build_from(journal, now, None)?;
        Ok((index, scan))
    }

    /// Reads the journal's rows from `from` on (see [`Journal::read_from`]) into an index;
    /// also returns where the read ended.
    pub fn build_from(
        journal: &Journal,
        now: i64,
        from: Option<End>,
    ) -> Result<(RetroIndex, Scan, End), JournalError> {
        let mut refs = Vec::new();
        let (mut hashes, mut pdq_owner) = (Vec::new(), Vec::new());
        let (mut md5, mut sha1, mut sha256) = (Vec::new(), Vec::new(), Vec::new());
        let (scan, end) = journal.read_from(now, from, |at, row| {
            let id = refs.len() as u32;
            refs.push(at);
            md5.extend(key(&row.file.md5).map(|k| (k, id)));
            sha1.extend(key(&row.file.sha1).map(|k| (k, id)));
            sha256.extend(key(&row.file.sha256).map(|k| (k, id)));
            let q = row.query();
            let mut add = |h: PdqHash| {
                hashes.push(h);
                pdq_owner.push(id);
            };
            if let Some((h, _)) = q.pdq {
                add(h);
            }
            for h in q.pdq_dihedral.iter().flatten().skip(1) {
                add(*h);
            }
            for f in &q.vpdq {
                add(f.frame.pdq);
            }
        })?;
        md5.sort_unstable();
        sha1.sort_unstable();
        sha256.sort_unstable();
        let index = RetroIndex { refs, pdq: PdqIndex::build(&hashes), pdq_owner, md5, sha1, sha256 };
        Ok((index, scan, end))
    }

    /// Rows indexed.
    pub fn len(&self) -> usize {
        self.refs.len()
    }

    /// True when the journal had no row in its window.
    pub fn is_empty(&self) -> bool {
        self.refs.is_empty()
    }

    fn exact<const N: usize>(table: &[([u8; N], u32)], k: Option<[u8; N]>, out: &mut BTreeSet<u32>) {
        let Some(k) = k else { return };
        let start = table.partition_point(|(x, _)| *x < k);
        out.extend(table[start..].iter().take_while(|(x, _)| *x == k).map(|(_, r)| *r));
    }

    /// The rows an entry could match: equal digests, or PDQ (of a picture, or of any frame
    /// of a listed video) within `distance`.
    pub fn candidates(&self, entry: &Entry, distance: u32, out: &mut BTreeSet<u32>) {
        let pdq = |h: PdqHash, out: &mut BTreeSet<u32>| {
            let mut hits: Vec<PdqHit> = Vec::new();
            self.pdq.search(&h, distance, &mut hits);
            out.extend(hits.iter().map(|hit| self.pdq_owner[hit.id as usize]));
        };
        match entry.signal {
            SignalType::Md5 => Self::exact(&self.md5, key(&entry.value), out),
            SignalType::Sha1 => Self::exact(&self.sha1, key(&entry.value), out),
            SignalType::Sha256 => Self::exact(&self.sha256, key(&entry.value), out),
            SignalType::Pdq => {
                if let Ok(h) = entry.value.parse::<PdqHash>() {
                    pdq(h, out);
                }
            }
            SignalType::Vpdq => {
                let frames = hashline_hash::vpdq::parse_signal(&entry.value).unwrap_or_default();
                for h in hashline_hash::vpdq::unique_hashes(&frames, 0) {
                    pdq(h, out);
                }
            }
            SignalType::Other(_) => {}
        }
    }

    /// Where row `id` is in the journal.
    pub fn row_ref(&self, id: u32) -> RowRef {
        self.refs[id as usize]
    }
}

/// What one list's update changed, as far as retroactive matching cares.
#[derive(Debug, Clone)]
pub struct Change {
    /// The list.
    pub list: String,
    /// The version it was at when last looked at (`None`: the list is new).
    pub from: Option<u64>,
    /// Its version now.
    pub to: u64,
    /// Known lists: the entries the update added (in force now, not before). Allow-lists:
    /// the entries it dropped (in force before, not now), whose suppressed matches now count.
    pub entries: Vec<Entry>,
    /// The list's kind.
    pub kind: ListKind,
    /// The list's PDQ distance (the widest of its thresholds).
    pub pdq_distance: u32,
}

/// Compares the list versions now in force (`target`, as [`ListSet::versions`] gives them)
/// with the versions `seen` records, and says what changed. Lists at the same version give
/// nothing; a removed list gives nothing (its matches were reported or not when it was in
/// force).
pub fn changes(
    store: &Store,
    seen: &BTreeMap<String, u64>,
    target: &[(String, u64)],
) -> Result<Vec<Change>, StoreError> {
    let now = hashline_lists::now_rfc3339();
    let mut out = Vec::new();
    for (name, to) in target {
        let (name, to) = (name.clone(), *to);
        let from = seen.get(&name).copied();
        if from == Some(to) {
            continue;
        }
        let new = store.load_version(&name, to)?;
        let old = match from {
            Some(v) if v < to => store.load_version(&name, v).map(|l| l.entries).unwrap_or_default(),
            _ => Vec::new(),
        };
        let value_key = |e: &Entry| (e.signal.as_str().to_string(), e.value.clone());
        let kind = new.manifest.kind;
        let entries = if kind == ListKind::Allow {
            let still: HashSet<(String, String)> =
                new.entries.iter().filter(|e| e.in_force(&now)).map(value_key).collect();
            old.into_iter().filter(|e| e.in_force(&now) && !still.contains(&value_key(e))).collect()
        } else {
            let before: HashSet<(String, String)> =
                old.iter().filter(|e| e.in_force(&now)).map(value_key).collect();
            new.entries.into_iter().filter(|e| e.in_force(&now) && !before.contains(&value_key(e))).collect()
        };
        let t = new.manifest.thresholds;
        out.push(Change {
            list: name,
            from,
            to,
            entries,
            kind,
            pdq_distance: t.pdq_distance.max(t.trimmed_pdq_distance).max(t.vpdq_distance),
        });
    }
    Ok(out)
}

/// One upload found after the fact, with the matches to report.
#[derive(Debug, Clone)]
pub struct Found {
    /// The journal row.
    pub row: JournalRow,
    /// Matches of changed entries, decided by the lists in force now.
    pub matches: Vec<Match>,
    /// The list versions whose change it matched.
    pub added_in: Vec<(String, u64)>,
}

/// What a retro pass looked at.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    /// Entries looked up (added to known lists, dropped from allow-lists).
    pub entries: usize,
    /// Journal rows they could match.
    pub candidates: usize,
    /// Rows with a match to report.
    pub found: usize,
}

/// Looks the changed entries up in the journal indexes (rows indexed earlier, and the rows
/// since) and decides each candidate row received within the window at `now` against `lists`
/// (the lists now in force): for a known list's new entries, the matches of those entries;
/// for an allow-list's dropped entries, every match of the row (the outbox drops what was
/// reported before).
pub fn find(
    indexes: &[&RetroIndex],
    journal: &Journal,
    lists: &ListSet,
    changes: &[Change],
    now: i64,
) -> Result<(Vec<Found>, Tally), JournalError> {
    let mut tally = Tally::default();
    // Per candidate row (index, row): which changes may explain it.
    let mut rows: BTreeMap<(usize, u32), BTreeSet<usize>> = BTreeMap::new();
    for (ci, change) in changes.iter().enumerate() {
        tally.entries += change.entries.len();
        for (ii, index) in indexes.iter().enumerate() {
            let mut hit = BTreeSet::new();
            for e in &change.entries {
                index.candidates(e, change.pdq_distance, &mut hit);
            }
            for r in hit {
                rows.entry((ii, r)).or_default().insert(ci);
            }
        }
    }
    tally.candidates = rows.len();
    let new_ids: HashMap<&str, HashSet<&str>> = changes
        .iter()
        .filter(|c| c.kind != ListKind::Allow)
        .map(|c| (c.list.as_str(), c.entries.iter().map(|e| e.id.as_str()).collect()))
        .collect();
    let mut found = Vec::new();
    for ((ii, r), causes) in rows {
        let Some(row) = journal.get(indexes[ii].row_ref(r))? else { continue };
        if row.received_at <= now - journal.window_s() {
            continue;
        }
        let outcome = lists.match_query(&row.query());
        let allow_changed = causes.iter().any(|&ci| changes[ci].kind == ListKind::Allow);
        let matches: Vec<Match> = outcome
            .matches
            .into_iter()
            .filter(|m| {
                allow_changed
                    || new_ids.get(m.list.as_str()).is_some_and(|ids| ids.contains(m.entry_id.as_str()))
            })
            .collect();
        if matches.is_empty() {
            continue;
        }
        let added_in = causes
            .iter()
            .map(|&ci| &changes[ci])
            .filter(|c| c.kind == ListKind::Allow || matches.iter().any(|m| m.list == c.list))
            .map(|c| (c.list.clone(), c.to))
            .collect();
        found.push(Found { row, matches, added_in });
    }
    tally.found = found.len();
    Ok((found, tally))
}
