//! How many files each source examined, per day: the denominator of the statistics
//! (`hashline stats`). Counts only — no file, hash or upload id is kept.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rusqlite::params;

use super::{unix_now, Outbox, OutboxError};
use crate::model::Channel;

impl Outbox {
    /// Adds `files` examined through `channel` to the day (UTC) of unix time `at`.
    pub fn add_examined(&self, channel: Channel, at: i64, files: u64) -> Result<(), OutboxError> {
        if files == 0 {
            return Ok(());
        }
        self.set(
            "INSERT INTO examined (day, channel, files) VALUES (?1, ?2, ?3)
             ON CONFLICT (day, channel) DO UPDATE SET files = files + excluded.files",
            params![at.div_euclid(86_400), channel.as_str(), i64::try_from(files).unwrap_or(i64::MAX)],
        )
        .map(|_| ())
    }

    /// Files examined per day (days since 1970, UTC) and channel, for days `from_day..to_day`.
    pub fn examined(&self, from_day: i64, to_day: i64) -> Result<Vec<(i64, Channel, u64)>, OutboxError> {
        let db = self.db();
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT day, channel, files FROM examined WHERE day >= ?1 AND day < ?2 ORDER BY day")
            .map_err(&db)?;
        let rows = stmt
            .query_map(params![from_day, to_day], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
            })
            .map_err(&db)?;
        let mut out = Vec::new();
        for r in rows {
            let (day, channel, files) = r.map_err(&db)?;
            if let Some(c) = Channel::parse(&channel) {
                out.push((day, c, u64::try_from(files).unwrap_or(0)));
            }
        }
        Ok(out)
    }
}

/// A running count of files examined through one channel, written to the outbox by
/// [`Tally::flush`] (a long-running source flushes it every minute and at shutdown, so a
/// crash loses at most a minute of counts and never a report).
pub struct Tally {
    outbox: Arc<Outbox>,
    channel: Channel,
    pending: AtomicU64,
}

impl Tally {
    /// A tally for `channel` written to `outbox`.
    pub fn new(outbox: Arc<Outbox>, channel: Channel) -> Tally {
        Tally { outbox, channel, pending: AtomicU64::new(0) }
    }

    /// Counts `files` more.
    pub fn add(&self, files: u64) {
        self.pending.fetch_add(files, Ordering::Relaxed);
    }

    /// Writes what was counted since the last flush; on failure the count is kept for the next.
    pub fn flush(&self) -> Result<(), OutboxError> {
        let n = self.pending.swap(0, Ordering::Relaxed);
        self.outbox.add_examined(self.channel, unix_now(), n).inspect_err(|_| {
            self.pending.fetch_add(n, Ordering::Relaxed);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examined_files_add_up_per_day_and_channel() {
        let d = std::env::temp_dir().join(format!("hashline-tally-{}", crate::random_id()));
        let ob = Arc::new(Outbox::open(&d.join("outbox.db")).unwrap());
        ob.add_examined(Channel::Scan, 86_400 * 10 + 5, 3).unwrap();
        ob.add_examined(Channel::Scan, 86_400 * 10 + 500, 4).unwrap();
        ob.add_examined(Channel::Kafka, 86_400 * 11, 2).unwrap();
        let t = Tally::new(Arc::clone(&ob), Channel::Kafka);
        t.add(5);
        t.add(1);
        t.flush().unwrap();
        t.flush().unwrap(); // nothing more counted: nothing written
        let today = unix_now().div_euclid(86_400);
        assert_eq!(ob.examined(10, 12).unwrap(), vec![(10, Channel::Scan, 7), (11, Channel::Kafka, 2)]);
        assert_eq!(ob.examined(today, today + 1).unwrap(), vec![(today, Channel::Kafka, 6)]);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
