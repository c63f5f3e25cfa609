//! Ordered offset tracking: records of a partition complete in any order, but an offset is
//! stored only when every record before it in that partition has a durable outcome.
//!
//! `begin(p, o)` when a record is taken, `complete(p, o)` when its outcome is durable; the
//! return value of `complete` is the offset to store (one past the highest offset of the
//! contiguous run of completed records), if it moved. Offsets of a partition must begin in
//! increasing order (Kafka delivers them so); gaps (compacted or transactional offsets) are
//! fine.

use std::collections::{BTreeMap, HashMap};

/// Per-partition tracking of in-flight records.
#[derive(Debug, Default)]
pub struct Tracker {
    parts: HashMap<(String, i32), Part>,
}

#[derive(Debug, Default)]
struct Part {
    /// offset → completed?
    inflight: BTreeMap<i64, bool>,
    /// The last offset to store that was handed out (next offset to consume).
    stored: Option<i64>,
}

impl Tracker {
    /// A record was taken.
    pub fn begin(&mut self, topic: &str, partition: i32, offset: i64) {
        self.parts.entry((topic.to_string(), partition)).or_default().inflight.insert(offset, false);
    }

    /// A record's outcome is durable. Returns the offset to store, when it advanced.
    pub fn complete(&mut self, topic: &str, partition: i32, offset: i64) -> Option<i64> {
        let part = self.parts.get_mut(&(topic.to_string(), partition))?;
        if let Some(done) = part.inflight.get_mut(&offset) {
            *done = true;
        } else {
            return None;
        }
        let mut next = None;
        while let Some((&o, &done)) = part.inflight.iter().next() {
            if !done {
                break;
            }
            part.inflight.remove(&o);
            next = Some(o + 1);
        }
        if next.is_some() && next > part.stored {
            part.stored = next;
            next
        } else {
            None
        }
    }

    /// Records of a partition not yet complete.
    pub fn in_flight(&self, topic: &str, partition: i32) -> usize {
        self.parts
            .get(&(topic.to_string(), partition))
            .map_or(0, |p| p.inflight.values().filter(|d| !**d).count())
    }

    /// Records not yet complete, all partitions.
    pub fn total_in_flight(&self) -> usize {
        self.parts.values().map(|p| p.inflight.values().filter(|d| !**d).count()).sum()
    }

    /// Forgets a partition (revoked): its in-flight records will be redelivered to its next
    /// owner from the last committed offset.
    pub fn forget(&mut self, topic: &str, partition: i32) {
        self.parts.remove(&(topic.to_string(), partition));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn stores_only_the_contiguous_prefix() {
        let mut t = Tracker::default();
        for o in 10..15 {
            t.begin("u", 0, o);
        }
        assert_eq!(t.complete("u", 0, 12), None, "10 and 11 are still running");
        assert_eq!(t.complete("u", 0, 10), Some(11));
        assert_eq!(t.complete("u", 0, 11), Some(13), "12 was already done");
        assert_eq!(t.complete("u", 0, 14), None);
        assert_eq!(t.in_flight("u", 0), 1);
        assert_eq!(t.complete("u", 0, 13), Some(15));
        assert_eq!(t.complete("u", 0, 13), None, "completing twice changes nothing");
        assert_eq!(t.complete("u", 1, 0), None, "unknown partition");
    }

    proptest! {
        /// Whatever order outcomes arrive in, every stored offset is one past a record whose
        /// predecessors (in that partition) are all complete, stored offsets only grow, and
        /// when everything is complete the last stored offset is one past the last record.
        #[test]
        fn stored_offsets_never_pass_an_incomplete_record(
            counts in proptest::collection::vec(1usize..40, 1..4),
            seed in any::<u64>(),
        ) {
            let mut t = Tracker::default();
            let mut all = Vec::new();
            for (p, &n) in counts.iter().enumerate() {
                let mut o = 0i64;
                for i in 0..n {
                    o += 1 + (i as i64 % 3 == 0) as i64; // gaps, as after compaction
                    t.begin("u", p as i32, o);
                    all.push((p as i32, o));
                }
            }
            // A deterministic shuffle from the seed.
            let mut s = seed | 1;
            for i in (1..all.len()).rev() {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                all.swap(i, (s % (i as u64 + 1)) as usize);
            }
            let mut done: std::collections::HashSet<(i32, i64)> = Default::default();
            let mut last: HashMap<i32, i64> = HashMap::new();
            for &(p, o) in &all {
                done.insert((p, o));
                if let Some(stored) = t.complete("u", p, o) {
                    let prev = last.insert(p, stored);
                    prop_assert!(prev.is_none_or(|x| stored > x));
                    for &(q, oo) in all.iter().filter(|(q, oo)| *q == p && *oo < stored) {
                        prop_assert!(done.contains(&(q, oo)), "stored {stored} past incomplete {oo}");
                    }
                }
            }
            for (p, _) in counts.iter().enumerate() {
                let max = all.iter().filter(|(q, _)| *q == p as i32).map(|(_, o)| *o).max().unwrap();
                prop_assert_eq!(last.get(&(p as i32)).copied(), Some(max + 1));
                prop_assert_eq!(t.in_flight("u", p as i32), 0);
            }
        }
    }
}
