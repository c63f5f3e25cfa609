//! The triage app's own state beside the outbox, in `triage.db` (SQLite, WAL, synchronous
//! FULL, owner-only): who holds which case (an exclusive claim that expires), every reveal of
//! media (the analyst's exposure, counted per day, with how long the media could have been on
//! screen), and escalations.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};

/// A database error.
#[derive(Debug, thiserror::Error)]
#[error("triage database {path}: {source} (check the data folder: permissions, free space)")]
pub struct CaseDbError {
    path: PathBuf,
    source: rusqlite::Error,
}

/// A claim on a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The analyst who holds it.
    pub analyst: String,
    /// Unix seconds when it lapses.
    pub expires_at: i64,
}

/// An escalation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    /// Who escalated.
    pub by: String,
    /// Their note.
    pub note: String,
    /// Unix seconds.
    pub at: i64,
}

/// An analyst's proposal to allow-list a dismissed case's hashes, waiting for a supervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowProposal {
    /// The dismissed report.
    pub report_id: String,
    /// Who proposed it.
    pub by: String,
    /// Their reason.
    pub reason: String,
    /// Unix seconds.
    pub at: i64,
}

/// One analyst's exposure on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Exposure {
    /// Reveals.
    pub reveals: u32,
    /// Seconds revealed media could have been on screen: from each reveal until the analyst
    /// left the case, at most the reveal window (an upper bound; hiding early is not seen).
    pub seconds: i64,
}

/// `triage.db`.
pub struct CaseDb {
    path: PathBuf,
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS claims (
    report_id TEXT PRIMARY KEY,
    analyst TEXT NOT NULL,
    claimed_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS reveals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    analyst TEXT NOT NULL,
    report_id TEXT NOT NULL,
    day INTEGER NOT NULL,
    at INTEGER NOT NULL,
    seconds INTEGER
);
CREATE INDEX IF NOT EXISTS reveals_analyst_day ON reveals(analyst, day);
CREATE INDEX IF NOT EXISTS reveals_analyst_report ON reveals(analyst, report_id, at);
CREATE TABLE IF NOT EXISTS allow_proposals (
    report_id TEXT PRIMARY KEY,
    proposed_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    at INTEGER NOT NULL,
    decided_by TEXT,
    decided_at INTEGER,
    approved INTEGER
);
CREATE TABLE IF NOT EXISTS escalations (
    report_id TEXT PRIMARY KEY,
    escalated_by TEXT NOT NULL,
    note TEXT NOT NULL,
    at INTEGER NOT NULL
);
";

/// The day number of unix time `t` in a zone `offset_minutes` east of UTC.
pub fn day_of(t: i64, offset_minutes: i32) -> i64 {
    (t + i64::from(offset_minutes) * 60).div_euclid(86_400)
}

impl CaseDb {
    /// Opens or creates `path`.
    pub fn open(path: &Path) -> Result<CaseDb, CaseDbError> {
        let conn = hashline_report::sqlite::open_private(path, SCHEMA)
            .map_err(|source| CaseDbError { path: path.to_path_buf(), source })?;
        Ok(CaseDb { path: path.to_path_buf(), conn: Mutex::new(conn) })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> CaseDbError + '_ {
        move |source| CaseDbError { path: self.path.clone(), source }
    }

    /// Claims `report` for `analyst` until `now + ttl_s`: succeeds when nobody holds it, the
    /// claim lapsed, or the analyst holds it already (then it is extended). With `force` (a
    /// supervisor reassigning) it takes the case from whoever holds it.
    pub fn claim(
        &self,
        report: &str,
        analyst: &str,
        now: i64,
        ttl_s: i64,
        force: bool,
    ) -> Result<bool, CaseDbError> {
        let n = self
            .conn()
            .execute(
                "INSERT INTO claims (report_id, analyst, claimed_at, expires_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(report_id) DO UPDATE SET analyst=excluded.analyst, claimed_at=excluded.claimed_at,
                     expires_at=excluded.expires_at
                 WHERE ?5 OR claims.expires_at <= ?3 OR claims.analyst = excluded.analyst",
                params![report, analyst, now, now + ttl_s, force],
            )
            .map_err(self.err())?;
        Ok(n == 1)
    }

    /// The live claim on `report`.
    pub fn claim_of(&self, report: &str, now: i64) -> Result<Option<Claim>, CaseDbError> {
        self.conn()
            .query_row(
                "SELECT analyst, expires_at FROM claims WHERE report_id=?1 AND expires_at > ?2",
                params![report, now],
                |r| Ok(Claim { analyst: r.get(0)?, expires_at: r.get(1)? }),
            )
            .optional()
            .map_err(self.err())
    }

    /// Every live claim: report id → claim.
    pub fn claims(&self, now: i64) -> Result<std::collections::HashMap<String, Claim>, CaseDbError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT report_id, analyst, expires_at FROM claims WHERE expires_at > ?1")
            .map_err(self.err())?;
        let rows = stmt
            .query_map(params![now], |r| Ok((r.get(0)?, Claim { analyst: r.get(1)?, expires_at: r.get(2)? })))
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// Drops the claim on `report` (any holder when `analyst` is `None`).
    pub fn release(&self, report: &str, analyst: Option<&str>) -> Result<(), CaseDbError> {
        match analyst {
            Some(a) => self
                .conn()
                .execute("DELETE FROM claims WHERE report_id=?1 AND analyst=?2", params![report, a]),
            None => self.conn().execute("DELETE FROM claims WHERE report_id=?1", params![report]),
        }
        .map_err(self.err())?;
        Ok(())
    }

    /// Records a reveal only while `analyst` has made fewer than `cap` on `day`: the check and
    /// the insert are one statement, so concurrent reveals (any number of requests, any
    /// number of processes) never pass the cap. Returns the reveal's id, or `None` at the cap.
    pub fn reveal_within_cap(
        &self,
        analyst: &str,
        report: &str,
        now: i64,
        day: i64,
        cap: u32,
    ) -> Result<Option<i64>, CaseDbError> {
        let conn = self.conn();
        let n = conn
            .execute(
                "INSERT INTO reveals (analyst, report_id, day, at) SELECT ?1, ?2, ?3, ?4
                 WHERE (SELECT COUNT(*) FROM reveals WHERE analyst=?1 AND day=?3) < ?5",
                params![analyst, report, day, now, cap],
            )
            .map_err(self.err())?;
        Ok((n == 1).then(|| conn.last_insert_rowid()))
    }

    /// Takes back reveal `id` (its audit record could not be written, so it must not count as
    /// a reveal that opens the media).
    pub fn unreveal(&self, id: i64) -> Result<(), CaseDbError> {
        self.conn().execute("DELETE FROM reveals WHERE id=?1", params![id]).map_err(self.err())?;
        Ok(())
    }

    /// `analyst`'s exposure on `day`, at `now`; reveals still open count up to `window_s`.
    pub fn exposure(
        &self,
        analyst: &str,
        day: i64,
        now: i64,
        window_s: i64,
    ) -> Result<Exposure, CaseDbError> {
        self.conn()
            .query_row(
                "SELECT COUNT(*), COALESCE(SUM(COALESCE(seconds, MAX(0, MIN(?3 - at, ?4)))), 0)
                 FROM reveals WHERE analyst=?1 AND day=?2",
                params![analyst, day, now, window_s],
                |r| Ok(Exposure { reveals: r.get(0)?, seconds: r.get(1)? }),
            )
            .map_err(self.err())
    }

    /// Closes `analyst`'s open reveals of `report` (they left the case at `now`); returns the
    /// seconds they add, each at most `window_s`.
    pub fn close_reveals(
        &self,
        analyst: &str,
        report: &str,
        now: i64,
        window_s: i64,
    ) -> Result<i64, CaseDbError> {
        let conn = self.conn();
        let added: i64 = conn
            .query_row(
                "SELECT COALESCE(SUM(MAX(0, MIN(?3 - at, ?4))), 0) FROM reveals
                 WHERE analyst=?1 AND report_id=?2 AND seconds IS NULL",
                params![analyst, report, now, window_s],
                |r| r.get(0),
            )
            .map_err(self.err())?;
        conn.execute(
            "UPDATE reveals SET seconds = MAX(0, MIN(?3 - at, ?4))
             WHERE analyst=?1 AND report_id=?2 AND seconds IS NULL",
            params![analyst, report, now, window_s],
        )
        .map_err(self.err())?;
        Ok(added)
    }

    /// Unix time of `analyst`'s latest reveal of `report` that is still open (they have not
    /// left the case since).
    pub fn open_reveal(&self, analyst: &str, report: &str) -> Result<Option<i64>, CaseDbError> {
        self.conn()
            .query_row(
                "SELECT MAX(at) FROM reveals WHERE analyst=?1 AND report_id=?2 AND seconds IS NULL",
                params![analyst, report],
                |r| r.get(0),
            )
            .map_err(self.err())
    }

    /// Marks `report` escalated.
    pub fn escalate(&self, report: &str, by: &str, note: &str, now: i64) -> Result<(), CaseDbError> {
        self.conn()
            .execute(
                "INSERT INTO escalations (report_id, escalated_by, note, at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(report_id) DO UPDATE SET escalated_by=excluded.escalated_by, note=excluded.note, at=excluded.at",
                params![report, by, note, now],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// The escalation of `report`, if it was escalated.
    pub fn escalation(&self, report: &str) -> Result<Option<Escalation>, CaseDbError> {
        self.conn()
            .query_row(
                "SELECT escalated_by, note, at FROM escalations WHERE report_id=?1",
                params![report],
                |r| Ok(Escalation { by: r.get(0)?, note: r.get(1)?, at: r.get(2)? }),
            )
            .optional()
            .map_err(self.err())
    }

    /// Records `by`'s proposal to allow-list the hashes of dismissed `report`; false when the
    /// report has a proposal already.
    pub fn propose_allow(&self, report: &str, by: &str, reason: &str, now: i64) -> Result<bool, CaseDbError> {
        let n = self
            .conn()
            .execute(
                "INSERT OR IGNORE INTO allow_proposals (report_id, proposed_by, reason, at) VALUES (?1, ?2, ?3, ?4)",
                params![report, by, reason, now],
            )
            .map_err(self.err())?;
        Ok(n == 1)
    }

    /// Proposals no supervisor has decided yet, oldest first.
    pub fn pending_allow(&self) -> Result<Vec<AllowProposal>, CaseDbError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT report_id, proposed_by, reason, at FROM allow_proposals
                 WHERE decided_at IS NULL ORDER BY at, report_id",
            )
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| {
                Ok(AllowProposal { report_id: r.get(0)?, by: r.get(1)?, reason: r.get(2)?, at: r.get(3)? })
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// `by` decides the pending proposal on `report`, in one statement: returns the proposal
    /// when it was pending and not `by`'s own (four eyes), `None` otherwise (already decided,
    /// none, or the proposer's own).
    pub fn decide_allow(
        &self,
        report: &str,
        by: &str,
        approve: bool,
        now: i64,
    ) -> Result<Option<AllowProposal>, CaseDbError> {
        self.conn()
            .query_row(
                "UPDATE allow_proposals SET decided_by=?2, decided_at=?3, approved=?4
                 WHERE report_id=?1 AND decided_at IS NULL AND proposed_by<>?2
                 RETURNING report_id, proposed_by, reason, at",
                params![report, by, now, approve],
                |r| {
                    Ok(AllowProposal {
                        report_id: r.get(0)?,
                        by: r.get(1)?,
                        reason: r.get(2)?,
                        at: r.get(3)?,
                    })
                },
            )
            .optional()
            .map_err(self.err())
    }

    /// Every escalation: report id → escalation.
    pub fn escalations(&self) -> Result<std::collections::HashMap<String, Escalation>, CaseDbError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT report_id, escalated_by, note, at FROM escalations").map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, Escalation { by: r.get(1)?, note: r.get(2)?, at: r.get(3)? })))
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn concurrent_reveals_never_pass_the_cap() {
        let dir = std::env::temp_dir().join(format!("hashline-cap-{}", hashline_report::random_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = std::sync::Arc::new(CaseDb::open(&dir.join("triage.db")).unwrap());
        // Another process with its own connection, too.
        let other = std::sync::Arc::new(CaseDb::open(&dir.join("triage.db")).unwrap());
        let threads: Vec<_> = (0..12)
            .map(|i| {
                let db = std::sync::Arc::clone(if i % 2 == 0 { &db } else { &other });
                std::thread::spawn(move || db.reveal_within_cap("ana", &format!("r{i}"), 100, 1, 2).unwrap())
            })
            .collect();
        let granted = threads.into_iter().filter_map(|t| t.join().unwrap()).count();
        assert_eq!(granted, 2);
        assert_eq!(db.exposure("ana", 1, 100, 600).unwrap().reveals, 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn allow_proposals_need_another_supervisor_and_are_decided_once() {
        let dir = std::env::temp_dir().join(format!("hashline-allow-{}", hashline_report::random_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = CaseDb::open(&dir.join("triage.db")).unwrap();
        assert!(db.propose_allow("r1", "ana", "a sunset", 10).unwrap());
        assert!(!db.propose_allow("r1", "bopha", "again", 11).unwrap(), "one proposal per case");
        assert_eq!(db.pending_allow().unwrap().len(), 1);
        assert_eq!(db.decide_allow("r1", "ana", true, 12).unwrap(), None, "not by the proposer");
        let p = db.decide_allow("r1", "sup", true, 13).unwrap().unwrap();
        assert_eq!((p.by.as_str(), p.reason.as_str()), ("ana", "a sunset"));
        assert_eq!(db.decide_allow("r1", "sup2", false, 14).unwrap(), None, "decided once");
        assert!(db.pending_allow().unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn db() -> (CaseDb, PathBuf) {
        let d = std::env::temp_dir().join(format!("hashline-cases-{}", hashline_report::random_id()));
        std::fs::create_dir_all(&d).unwrap();
        (CaseDb::open(&d.join("triage.db")).unwrap(), d)
    }

    #[test]
    fn claims_are_exclusive_until_they_lapse() {
        let (db, d) = db();
        assert!(db.claim("r1", "dara", 100, 60, false).unwrap());
        assert!(!db.claim("r1", "sok", 120, 60, false).unwrap(), "held by dara");
        assert!(db.claim("r1", "dara", 130, 60, false).unwrap(), "the holder extends");
        assert_eq!(db.claim_of("r1", 150).unwrap().unwrap().expires_at, 190);
        assert!(db.claim("r1", "sok", 190, 60, false).unwrap(), "lapsed");
        assert!(db.claim("r1", "vanna", 200, 60, true).unwrap(), "a supervisor reassigns");
        db.release("r1", Some("sok")).unwrap();
        assert_eq!(db.claim_of("r1", 200).unwrap().unwrap().analyst, "vanna", "only the holder releases");
        db.release("r1", None).unwrap();
        assert!(db.claim_of("r1", 200).unwrap().is_none());
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn exposure_counts_per_day_in_the_zone() {
        let (db, d) = db();
        // 2026-11-29T16:59:00Z is 23:59 in Phnom Penh (UTC+7); 17:01Z is the next day there.
        let before = 1_795_971_540;
        let after = before + 120;
        assert_eq!(day_of(after, 0), day_of(before, 0));
        assert_eq!(day_of(after, 420), day_of(before, 420) + 1);
        db.reveal_within_cap("dara", "r1", before, day_of(before, 420), u32::MAX).unwrap();
        db.reveal_within_cap("dara", "r2", after, day_of(after, 420), u32::MAX).unwrap();
        assert_eq!(db.exposure("dara", day_of(before, 420), after, 600).unwrap().reveals, 1);
        assert_eq!(db.exposure("dara", day_of(after, 420), after, 600).unwrap().reveals, 1);
        assert_eq!(db.open_reveal("dara", "r2").unwrap(), Some(after));
        assert_eq!(db.open_reveal("sok", "r2").unwrap(), None);
        db.escalate("r1", "dara", "second opinion", 5).unwrap();
        assert_eq!(db.escalations().unwrap()["r1"].note, "second opinion");
        assert_eq!(db.escalation("r1").unwrap().unwrap().by, "dara");
        assert!(db.escalation("r2").unwrap().is_none());
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn exposure_time_runs_from_reveal_to_leaving_the_case_within_the_window() {
        let (db, d) = db();
        db.reveal_within_cap("dara", "r1", 1000, 0, u32::MAX).unwrap();
        db.reveal_within_cap("dara", "r2", 1100, 0, u32::MAX).unwrap();
        // Open reveals count up to now, at most the window.
        assert_eq!(db.exposure("dara", 0, 1150, 600).unwrap(), Exposure { reveals: 2, seconds: 150 + 50 });
        assert_eq!(db.open_reveal("dara", "r1").unwrap(), Some(1000));
        assert_eq!(db.close_reveals("dara", "r1", 1090, 600).unwrap(), 90);
        assert_eq!(db.open_reveal("dara", "r1").unwrap(), None, "leaving the case ends the reveal");
        assert_eq!(db.close_reveals("dara", "r1", 5000, 600).unwrap(), 0, "closed once");
        assert_eq!(db.exposure("dara", 0, 9000, 600).unwrap(), Exposure { reveals: 2, seconds: 90 + 600 });
        assert_eq!(db.close_reveals("dara", "r2", 9000, 600).unwrap(), 600, "left open: the window");
        assert_eq!(db.exposure("sok", 0, 9000, 600).unwrap(), Exposure::default());
        std::fs::remove_dir_all(d).unwrap();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Whatever the order of claims, releases and time steps, at most one analyst holds a
        /// case at a time and a claim never outlives its expiry: compared with a model.
        #[test]
        fn claims_match_a_model(ops in prop::collection::vec((0u8..3, 0usize..3, 0i64..40), 1..60)) {
            let (db, d) = db();
            let names = ["a", "b", "c"];
            let mut now = 0i64;
            let mut model: Option<(usize, i64)> = None;
            for (op, who, dt) in ops {
                now += dt;
                match op {
                    0 => {
                        let ok = db.claim("r", names[who], now, 30, false).unwrap();
                        let expect = model.is_none_or(|(h, exp)| exp <= now || h == who);
                        prop_assert_eq!(ok, expect);
                        if ok { model = Some((who, now + 30)); }
                    }
                    1 => {
                        db.release("r", Some(names[who])).unwrap();
                        if model.is_some_and(|(h, _)| h == who) { model = None; }
                    }
                    _ => {}
                }
                let live = db.claim_of("r", now).unwrap().map(|c| c.analyst);
                let expect = model.filter(|(_, exp)| *exp > now).map(|(h, _)| names[h].to_string());
                prop_assert_eq!(live, expect);
            }
            std::fs::remove_dir_all(d).unwrap();
        }
    }
}
