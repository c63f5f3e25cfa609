//! Tests of the match index: derived variants, allow-list scope and suppression, summaries.
use super::*;
use crate::model::EntryRef;
use crate::model::{Entry, Thresholds};

fn list(name: &str, kind: ListKind, pdq_distance: u32, entries: Vec<Entry>) -> StoredList {
    StoredList {
        manifest: Manifest {
            name: name.into(),
            source: "test".into(),
            version: 1,
            fetched_at: "2026-01-01T00:00:00Z".into(),
            kind,
            default_classification: None,
            thresholds: Thresholds { pdq_distance, ..Thresholds::default() },
            signed_by: None,
            signed_sequence: None,
            entries: entries.len() as u64,
            entries_sha256: String::new(),
        },
        entries,
    }
}

/// `base` with the first `bits` bits flipped.
fn flip(base: PdqHash, bits: usize) -> PdqHash {
    let mut h = base;
    for i in 0..bits {
        h.0[i / 64] ^= 1 << (i % 64);
    }
    h
}

/// A known list `known` with the MD5 `[1; 16]` and a listed PDQ (returned too).
fn known_list() -> (PdqHash, StoredList) {
    let listed: PdqHash = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22".parse().unwrap();
    let known = list(
        "known",
        ListKind::Known,
        31,
        vec![
            Entry::new(SignalType::Md5, hex::encode([1u8; 16])),
            Entry::new(SignalType::Pdq, listed.to_hex()),
        ],
    );
    (listed, known)
}

fn query(md5: u8, pdq: PdqHash) -> Query {
    Query { md5: Some([md5; 16]), pdq: Some((pdq, 90)), ..Query::default() }
}

#[test]
fn derived_variants_match_at_their_own_thresholds_and_say_which_matched() {
    let (listed, mut known) = known_list();
    known.manifest.thresholds.trimmed_pdq_distance = 12;
    known.manifest.thresholds.trimmed_pdq_min_quality = 70;
    let set = ListSet::build(vec![known]);
    let bbox = TrimBox { x: 0, y: 40, width: 320, height: 240 };
    let far = flip(listed, 120);
    let trimmed =
        |bits: usize, quality: u8| TrimmedQuery { pdq: flip(listed, bits), quality, dihedral: None, bbox };
    // The whole upload is far (bars); the picture inside its borders is 10 bits away.
    let q = Query { pdq: Some((far, 90)), pdq_trimmed: vec![trimmed(10, 90)], ..Query::default() };
    let o = set.match_query(&q);
    assert_eq!(o.matches.len(), 1, "{o:?}");
    assert_eq!((o.matches[0].distance, o.matches[0].border_trimmed), (10, Some(bbox)));
    assert!(!o.matches[0].pytx_conversion);
    // The trimmed variant's own, stricter distance (12) applies, not the list's 31 ...
    let q = Query { pdq: Some((far, 90)), pdq_trimmed: vec![trimmed(20, 90)], ..Query::default() };
    assert!(set.match_query(&q).matches.is_empty());
    // ... and its own quality floor (70), without calling the upload low-quality.
    let q = Query { pdq: Some((far, 90)), pdq_trimmed: vec![trimmed(10, 60)], ..Query::default() };
    let o = set.match_query(&q);
    assert!(o.matches.is_empty() && !o.pdq_low_quality, "{o:?}");
    // The second candidate box is tried too; the nearer hit is the one recorded.
    let q = Query {
        pdq: Some((far, 90)),
        pdq_trimmed: vec![trimmed(30, 90), trimmed(3, 90)],
        ..Query::default()
    };
    assert_eq!(set.match_query(&q).matches[0].distance, 3);
    // The original, when it matches at least as well, wins over a derived variant.
    let q = Query { pdq: Some((flip(listed, 2), 90)), pdq_trimmed: vec![trimmed(5, 90)], ..Query::default() };
    let o = set.match_query(&q);
    assert_eq!((o.matches[0].distance, o.matches[0].border_trimmed), (2, None));
    // The hash python-threatexchange computes matches at the list's own thresholds.
    let q = Query { pdq: Some((far, 90)), pdq_pytx: Some((flip(listed, 25), 90)), ..Query::default() };
    let o = set.match_query(&q);
    assert!(o.matches[0].pytx_conversion && o.matches[0].distance == 25, "{o:?}");
}

#[test]
fn a_dismissed_near_copy_suppresses_only_itself() {
    let (listed, known) = known_list();
    let pdq_id = format!("pdq:{}", listed.to_hex());
    // The dismissed upload: 20 bits from the listed picture, its own MD5.
    let dismissed = flip(listed, 20);
    let mut allow_pdq = Entry::new(SignalType::Pdq, dismissed.to_hex());
    allow_pdq.distance = Some(8);
    allow_pdq.scope = vec![EntryRef { list: "known".into(), entry: pdq_id.clone() }];
    let allow_md5 = Entry::new(SignalType::Md5, hex::encode([2u8; 16]));
    let set = ListSet::build(vec![known, list("fp", ListKind::Allow, 31, vec![allow_pdq, allow_md5])]);

    // The dismissed upload itself is suppressed.
    let o = set.match_query(&query(2, dismissed));
    assert!(o.matches.is_empty(), "{o:?}");
    assert_eq!(o.suppressed.len(), 1);
    // An exact copy of the listed picture still matches, by MD5 and PDQ.
    let o = set.match_query(&query(1, listed));
    assert_eq!(o.matches.len(), 2, "{o:?}");
    assert!(o.suppressed.is_empty());
    // So does a near copy within the list's distance but beyond the allow entry's 8 bits.
    let o = set.match_query(&query(3, flip(listed, 5)));
    assert_eq!(o.matches.len(), 1, "{o:?}");
    // A copy 4 bits from the dismissed one is suppressed (within 8).
    let o = set.match_query(&query(4, flip(dismissed, 4)));
    assert!(o.matches.is_empty() && o.suppressed.len() == 1, "{o:?}");
}

#[test]
fn summaries_count_the_entries_in_force_once_at_build() {
    let (_, mut known) = known_list();
    let mut gone = Entry::new(SignalType::Md5, hex::encode([9u8; 16]));
    gone.removed_at = Some("2026-01-02T00:00:00Z".into());
    known.entries.push(gone);
    let set = ListSet::build(vec![known]);
    let s = set.summaries();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].1.get("md5"), Some(&1), "the tombstone is not in force: {:?}", s[0].1);
    assert_eq!(s[0].1.get("pdq"), Some(&1));
}

#[test]
fn an_allow_entry_suppresses_only_its_own_signal_and_scope() {
    let (listed, known) = known_list();
    // An unscoped PDQ allow entry on the very same hash (an old-style allow-list).
    let allow = list("fp", ListKind::Allow, 31, vec![Entry::new(SignalType::Pdq, listed.to_hex())]);
    let set = ListSet::build(vec![known.clone(), allow]);
    let o = set.match_query(&query(1, listed));
    assert_eq!(o.matches.len(), 1, "the exact MD5 match is never hidden by a PDQ allow entry: {o:?}");
    assert_eq!(o.matches[0].signal, SignalType::Md5);
    assert_eq!(o.suppressed[0].signal, SignalType::Pdq);
    // Scoped to another entry, it suppresses nothing.
    let mut scoped = Entry::new(SignalType::Pdq, listed.to_hex());
    scoped.scope = vec![EntryRef { list: "known".into(), entry: "elsewhere".into() }];
    let set = ListSet::build(vec![known, list("fp", ListKind::Allow, 31, vec![scoped])]);
    let o = set.match_query(&query(1, listed));
    assert_eq!(o.matches.len(), 2, "{o:?}");
}
