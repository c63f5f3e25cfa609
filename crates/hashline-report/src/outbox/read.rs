//! Reading the outbox for people: related reports and counts by state.

use rusqlite::params;

use super::{Outbox, OutboxError, Relation, Row, State, Stats};
use crate::Report;

impl Outbox {
    /// Every report that entered the outbox from unix time `from` (inclusive) to `to`
    /// (exclusive), in order.
    pub fn between(&self, from: i64, to: i64) -> Result<Vec<Row>, OutboxError> {
        self.query(
            "SELECT * FROM reports WHERE created_at >= ?1 AND created_at < ?2 ORDER BY seq",
            params![from, to],
        )
    }

    /// Other reports of the same uploader (account on the same platform), of the same file, or
    /// matching the same list entry as `report`: newest first, at most `limit`, each with why.
    pub fn related(&self, report: &Report, limit: usize) -> Result<Vec<(Row, Vec<Relation>)>, OutboxError> {
        let db = self.db();
        let mut why: std::collections::BTreeMap<i64, Vec<Relation>> = Default::default();
        {
            let conn = self.conn();
            let mut add = |sql: &str, p: &[&dyn rusqlite::ToSql], r: Relation| -> Result<(), OutboxError> {
                let mut stmt = conn.prepare_cached(sql).map_err(&db)?;
                let seqs = stmt.query_map(p, |row| row.get::<_, i64>(0)).map_err(&db)?;
                for seq in seqs {
                    let v = why.entry(seq.map_err(&db)?).or_default();
                    if !v.contains(&r) {
                        v.push(r);
                    }
                }
                Ok(())
            };
            if let Some(account) = report.uploader.as_ref().and_then(|u| u.account_id.as_deref()) {
                add(
                    "SELECT seq FROM reports WHERE json_extract(body, '$.uploader.account_id') = ?1
                     AND json_extract(body, '$.incident.platform') IS ?2",
                    &[&account, &report.incident.platform],
                    Relation::SameUploader,
                )?;
            }
            add(
                "SELECT seq FROM reports WHERE json_extract(body, '$.file.sha256') = ?1",
                &[&report.file.sha256],
                Relation::SameFile,
            )?;
            for m in &report.matches {
                add(
                    "SELECT seq FROM reported_entries WHERE list = ?1 AND entry_id = ?2",
                    &[&m.list, &m.entry_id],
                    Relation::SameEntry,
                )?;
            }
        }
        let mut out = Vec::new();
        for (seq, why) in why.into_iter().rev() {
            if out.len() >= limit {
                break;
            }
            if let Some(row) =
                self.query("SELECT * FROM reports WHERE seq=?1", params![seq])?.into_iter().next()
            {
                if row.report.report_id != report.report_id {
                    out.push((row, why));
                }
            }
        }
        Ok(out)
    }

    /// Counts by state.
    pub fn stats(&self) -> Result<Stats, OutboxError> {
        let db = self.db();
        let conn = self.conn();
        let mut s = Stats::default();
        let mut stmt = conn.prepare("SELECT state, COUNT(*) FROM reports GROUP BY state").map_err(&db)?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))).map_err(&db)?;
        for r in rows {
            let (state, n) = r.map_err(&db)?;
            let n = n as u64;
            match State::parse(&state) {
                Some(State::Pending) => s.pending = n,
                Some(State::Review) => s.review = n,
                Some(State::Delivered) => s.delivered = n,
                Some(State::Parked) => s.parked = n,
                Some(State::Dismissed) => s.dismissed = n,
                Some(State::Relayed) => s.relayed = n,
                None => {}
            }
        }
        s.oldest_pending_at = conn
            .query_row("SELECT MIN(created_at) FROM reports WHERE state='pending'", [], |r| r.get(0))
            .map_err(&db)?;
        Ok(s)
    }
}
