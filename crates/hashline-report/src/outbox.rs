//! The durable outbox: every report is committed to SQLite (WAL, `synchronous=FULL`) before
//! anyone upstream may forget the upload, and a worker ([`crate::deliver`]) drains it in order.
//!
//! States: `pending` (to deliver), `review` (waits for an analyst), `delivered`, `parked` (the
//! hotline refused it; an operator retries it by hand), `dismissed` (an analyst found it a
//! false positive). Reports are de-duplicated by upload id + list entry: a replay of an upload
//! adds nothing for entries already reported, and a report is made only for new entries.

mod flood;
mod read;
mod tally;

pub use flood::{FloodRule, Quarantine, QuarantineState, QUARANTINED_RULE};
pub use tally::Tally;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};

use crate::model::{idempotency_key, Assessment, LegalAssessment, Report, Review};

/// Errors of the outbox.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// SQLite failed.
    #[error("outbox {path}: {source} (check the data directory: permissions, free space, one writer)")]
    Db {
        /// The database file.
        path: PathBuf,
        /// The cause.
        source: rusqlite::Error,
    },
    /// A stored report does not parse.
    #[error("outbox {path}: report {seq} is not a valid hashline.report/1 ({source})")]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// Its sequence number.
        seq: i64,
        /// The cause.
        source: serde_json::Error,
    },
    /// No report has that id.
    #[error("no report {0} in the outbox (see `hashline reports list`)")]
    NotFound(String),
    /// A report to store breaks a rule its format sets (ids that become file names).
    #[error("report refused: {0}")]
    Invalid(String),
    /// The report is not in a state that allows the operation.
    #[error("report {id} is {state}; {what} needs it to be {needed}")]
    WrongState {
        /// Report id.
        id: String,
        /// Its state.
        state: String,
        /// The operation.
        what: &'static str,
        /// The state needed.
        needed: &'static str,
    },
}

/// A report's place in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Waiting for delivery.
    Pending,
    /// Waiting for an analyst.
    Review,
    /// The hotline accepted it.
    Delivered,
    /// The hotline refused it; waits for an operator.
    Parked,
    /// An analyst judged it a false positive.
    Dismissed,
    /// Handed on through Kafka (a match event acknowledged by the broker) to a central
    /// `hashline reporter --from-kafka`, which delivers it; kept here as the scanner's journal.
    Relayed,
}

impl State {
    /// Every state.
    pub const ALL: [State; 6] =
        [State::Pending, State::Review, State::Delivered, State::Parked, State::Dismissed, State::Relayed];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Review => "review",
            State::Delivered => "delivered",
            State::Parked => "parked",
            State::Dismissed => "dismissed",
            State::Relayed => "relayed",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<State> {
        Some(match s {
            "pending" => State::Pending,
            "review" => State::Review,
            "delivered" => State::Delivered,
            "parked" => State::Parked,
            "dismissed" => State::Dismissed,
            "relayed" => State::Relayed,
            _ => return None,
        })
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One outbox row.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    /// Position in delivery order.
    pub seq: i64,
    /// State.
    pub state: State,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// Unix time in milliseconds of the next attempt (pending only).
    pub next_attempt_at: i64,
    /// Why the last attempt failed, or why it was parked.
    pub last_error: Option<String>,
    /// Unix time it entered the outbox.
    pub created_at: i64,
    /// Unix time it was delivered.
    pub delivered_at: Option<i64>,
    /// The report.
    pub report: Report,
}

impl Row {
    /// Why this row must not go to the hotline as a report (delivered or exported), if so: it
    /// was dismissed, or an analyst assessed it "not illegal".
    pub fn not_reportable(&self) -> Option<String> {
        if self.report.assessment.legal == Some(LegalAssessment::NotIllegal) {
            Some(format!("report {} was assessed not illegal", self.report.report_id))
        } else if self.state == State::Dismissed {
            Some(format!("report {} was dismissed", self.report.report_id))
        } else {
            None
        }
    }
}

/// What [`Outbox::enqueue`] did.
#[derive(Debug, Clone)]
pub enum Enqueued {
    /// Stored under this sequence number (its matches trimmed to entries not reported before).
    New(Box<Row>),
    /// Every entry was already reported for this upload; nothing stored.
    Duplicate,
}

/// Counts by state and the age of the oldest pending report.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Pending.
    pub pending: u64,
    /// In review.
    pub review: u64,
    /// Delivered.
    pub delivered: u64,
    /// Parked.
    pub parked: u64,
    /// Dismissed.
    pub dismissed: u64,
    /// Relayed to a central reporter.
    pub relayed: u64,
    /// Unix time the oldest pending report entered the outbox.
    pub oldest_pending_at: Option<i64>,
}

/// Unix seconds now.
pub fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// The outbox database.
pub struct Outbox {
    path: PathBuf,
    conn: Mutex<Connection>,
    flood: std::sync::RwLock<FloodRule>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS reports (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id TEXT NOT NULL UNIQUE,
    idempotency_key TEXT NOT NULL UNIQUE,
    upload_id TEXT NOT NULL,
    state TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    delivered_at INTEGER
);
CREATE INDEX IF NOT EXISTS reports_state_seq ON reports(state, seq);
CREATE TABLE IF NOT EXISTS reported_entries (
    upload_id TEXT NOT NULL,
    list TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (upload_id, list, entry_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS reported_entries_entry ON reported_entries(list, entry_id);
CREATE INDEX IF NOT EXISTS reports_sha256 ON reports(json_extract(body, '$.file.sha256'));
CREATE INDEX IF NOT EXISTS reports_uploader ON reports(json_extract(body, '$.uploader.account_id'));
CREATE TABLE IF NOT EXISTS examined (
    day INTEGER NOT NULL,
    channel TEXT NOT NULL,
    files INTEGER NOT NULL,
    PRIMARY KEY (day, channel)
) WITHOUT ROWID;
";

/// Why a report is related to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// The same uploader account on the same platform.
    SameUploader,
    /// The same file (SHA-256).
    SameFile,
    /// A match on the same list entry.
    SameEntry,
}

impl Outbox {
    /// Opens or creates the outbox at `path` (owner-only permissions).
    pub fn open(path: &Path) -> Result<Outbox, OutboxError> {
        let conn = crate::sqlite::open_private(path, &format!("{SCHEMA}{}", flood::SCHEMA))
            .map_err(|source| OutboxError::Db { path: path.to_path_buf(), source })?;
        let outbox = Outbox { path: path.to_path_buf(), conn: Mutex::new(conn), flood: Default::default() };
        outbox.update_quarantine_gauge();
        Ok(outbox)
    }

    /// The flood quarantine rule in force (the defaults until [`Outbox::set_flood_rule`]).
    pub fn flood_rule(&self) -> FloodRule {
        *self.flood.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets the flood quarantine rule (`[policy.flood]`).
    pub fn set_flood_rule(&self, rule: FloodRule) {
        *self.flood.write().unwrap_or_else(|p| p.into_inner()) = rule;
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn db(&self) -> impl Fn(rusqlite::Error) -> OutboxError + '_ {
        move |source| OutboxError::Db { path: self.path.clone(), source }
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores `report` in `state` (pending or review), durably, unless every one of its
    /// entries was already reported for this upload. Entries reported before are dropped from
    /// the report and its idempotency key recomputed over the rest.
    ///
    /// A report matching an entry that is quarantined, or that floods with this report
    /// ([`FloodRule`]), is committed in review marked `quarantined_entry` whatever `state`
    /// was asked; the row returned says which.
    pub fn enqueue(&self, mut report: Report, mut state: State) -> Result<Enqueued, OutboxError> {
        let hex = |s: &str, n: usize| {
            s.len() == n && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if !hex(&report.report_id, 32) || !hex(&report.idempotency_key, 64) {
            // Report ids name export files: nothing else ever gets that far.
            return Err(OutboxError::Invalid(
                "report_id must be 32 and idempotency_key 64 lower-case hex digits".into(),
            ));
        }
        let db = self.db();
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(&db)?;
        let upload = report.incident.upload_id.clone();
        let mut fresh = Vec::with_capacity(report.matches.len());
        for m in report.matches.drain(..) {
            let seen: Option<i64> = tx
                .query_row(
                    "SELECT seq FROM reported_entries WHERE upload_id=?1 AND list=?2 AND entry_id=?3",
                    params![upload, m.list, m.entry_id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(&db)?;
            if seen.is_none() && !fresh.iter().any(|f: &crate::model::MatchInfo| f.same_entry(&m)) {
                fresh.push(m);
            }
        }
        if fresh.is_empty() {
            return Ok(Enqueued::Duplicate);
        }
        report.matches = fresh;
        report.idempotency_key =
            idempotency_key(&upload, report.matches.iter().map(|m| (m.list.as_str(), m.entry_id.as_str())));
        let now = unix_now();
        let entries: Vec<(String, String)> =
            report.matches.iter().map(|m| (m.list.clone(), m.entry_id.clone())).collect();
        let held = self.flood_check(&tx, &entries, &upload, now)?;
        let original = (state, report.review.clone());
        if !held.is_empty() {
            state = State::Review;
            report.review = Review::PendingReview { rule: QUARANTINED_RULE.into() };
        }
        let body = serde_json::to_string(&report).map_err(|source| OutboxError::Corrupt {
            path: self.path.clone(),
            seq: 0,
            source,
        })?;
        tx.execute(
            "INSERT INTO reports (report_id, idempotency_key, upload_id, state, body, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![report.report_id, report.idempotency_key, upload, state.as_str(), body, now],
        )
        .map_err(&db)?;
        let seq = tx.last_insert_rowid();
        for m in &report.matches {
            tx.execute(
                "INSERT INTO reported_entries (upload_id, list, entry_id, seq) VALUES (?1, ?2, ?3, ?4)",
                params![upload, m.list, m.entry_id, seq],
            )
            .map_err(&db)?;
        }
        if !held.is_empty() {
            self.note_held(&tx, seq, original.0, &original.1)?;
        }
        tx.commit().map_err(&db)?;
        drop(conn);
        if !held.is_empty() {
            self.update_quarantine_gauge();
        }
        Ok(Enqueued::New(Box::new(Row {
            seq,
            state,
            attempts: 0,
            next_attempt_at: 0,
            last_error: None,
            created_at: now,
            delivered_at: None,
            report,
        })))
    }

    fn row(&self, r: &rusqlite::Row<'_>) -> rusqlite::Result<(Row, Option<serde_json::Error>)> {
        let seq: i64 = r.get("seq")?;
        let state: String = r.get("state")?;
        let body: String = r.get("body")?;
        let (report, err) = match serde_json::from_str::<Report>(&body) {
            Ok(rep) => (rep, None),
            Err(e) => (placeholder(), Some(e)),
        };
        Ok((
            Row {
                seq,
                state: State::parse(&state).unwrap_or(State::Parked),
                attempts: r.get::<_, i64>("attempts")? as u32,
                next_attempt_at: r.get("next_attempt_at")?,
                last_error: r.get("last_error")?,
                created_at: r.get("created_at")?,
                delivered_at: r.get("delivered_at")?,
                report,
            },
            err,
        ))
    }

    fn query(&self, sql: &str, p: impl rusqlite::Params) -> Result<Vec<Row>, OutboxError> {
        let db = self.db();
        let conn = self.conn();
        let mut stmt = conn.prepare(sql).map_err(&db)?;
        let rows = stmt.query_map(p, |r| self.row(r)).map_err(&db)?;
        let mut out = Vec::new();
        for r in rows {
            let (row, err) = r.map_err(&db)?;
            if let Some(source) = err {
                return Err(OutboxError::Corrupt { path: self.path.clone(), seq: row.seq, source });
            }
            out.push(row);
        }
        Ok(out)
    }

    /// The next report to deliver: the pending report with the lowest sequence number (whether
    /// or not its next attempt is due; delivery keeps order).
    pub fn head(&self) -> Result<Option<Row>, OutboxError> {
        Ok(self
            .query("SELECT * FROM reports WHERE state='pending' ORDER BY seq LIMIT 1", [])?
            .into_iter()
            .next())
    }

    /// Reports in `state` (all states when `None`), oldest first, at most `limit`.
    pub fn list(&self, state: Option<State>, limit: usize) -> Result<Vec<Row>, OutboxError> {
        let limit = limit.min(i64::MAX as usize) as i64;
        match state {
            Some(s) => self.query(
                "SELECT * FROM reports WHERE state=?1 ORDER BY seq LIMIT ?2",
                params![s.as_str(), limit],
            ),
            None => self.query("SELECT * FROM reports ORDER BY seq LIMIT ?1", params![limit]),
        }
    }

    /// The report with this id (or a unique prefix of at least 8 hex digits).
    pub fn get(&self, id: &str) -> Result<Row, OutboxError> {
        if id.len() < 8 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(OutboxError::NotFound(id.into()));
        }
        let rows = self.query(
            "SELECT * FROM reports WHERE report_id LIKE ?1 || '%' LIMIT 2",
            params![id.to_lowercase()],
        )?;
        match rows.len() {
            1 => Ok(rows.into_iter().next().ok_or_else(|| OutboxError::NotFound(id.into()))?),
            _ => Err(OutboxError::NotFound(id.into())),
        }
    }

    fn set(&self, sql: &str, p: impl rusqlite::Params) -> Result<usize, OutboxError> {
        let db = self.db();
        self.conn().execute(sql, p).map_err(db)
    }

    /// Records a delivery.
    pub fn mark_delivered(&self, seq: i64) -> Result<(), OutboxError> {
        self.set(
            "UPDATE reports SET state='delivered', delivered_at=?2, attempts=attempts+1, last_error=NULL
             WHERE seq=?1",
            params![seq, unix_now()],
        )?;
        Ok(())
    }

    /// Records a failed attempt to retry at `next_at` (unix milliseconds).
    pub fn mark_retry(&self, seq: i64, next_at: i64, error: &str) -> Result<(), OutboxError> {
        self.set(
            "UPDATE reports SET attempts=attempts+1, next_attempt_at=?2, last_error=?3 WHERE seq=?1",
            params![seq, next_at, error],
        )?;
        Ok(())
    }

    /// Marks a pending or review report as relayed (its match event is acknowledged and a
    /// central reporter delivers it).
    pub fn mark_relayed(&self, report_id: &str) -> Result<(), OutboxError> {
        self.set(
            "UPDATE reports SET state='relayed' WHERE report_id=?1 AND state IN ('pending', 'review')",
            params![report_id],
        )?;
        Ok(())
    }

    /// Parks a report the hotline refused.
    pub fn park(&self, seq: i64, reason: &str) -> Result<(), OutboxError> {
        self.set(
            "UPDATE reports SET state='parked', attempts=attempts+1, last_error=?2 WHERE seq=?1",
            params![seq, reason],
        )?;
        Ok(())
    }

    fn require(&self, id: &str, needed: State, what: &'static str) -> Result<Row, OutboxError> {
        let row = self.get(id)?;
        if row.state != needed {
            return Err(OutboxError::WrongState {
                id: row.report.report_id,
                state: row.state.to_string(),
                what,
                needed: needed.as_str(),
            });
        }
        Ok(row)
    }

    /// Puts a parked report back in the queue (keeps its place in order).
    pub fn retry(&self, id: &str) -> Result<Row, OutboxError> {
        let row = self.require(id, State::Parked, "retry")?;
        self.set(
            "UPDATE reports SET state='pending', attempts=0, next_attempt_at=0 WHERE seq=?1",
            params![row.seq],
        )?;
        self.get(&row.report.report_id)
    }

    /// An analyst assesses a report in review: it gets the analyst's review and assessment and
    /// joins the delivery queue, unless the assessment is "not illegal": then it is dismissed
    /// (kept with the analyst's assessment, never delivered or exported as a report).
    pub fn confirm(
        &self,
        id: &str,
        analyst: &str,
        assessment: Option<Assessment>,
    ) -> Result<Row, OutboxError> {
        let row = self.require(id, State::Review, "confirm")?;
        let mut report = row.report;
        report.review = Review::Confirmed { analyst: analyst.into(), at: hashline_lists::now_rfc3339() };
        if let Some(a) = assessment {
            report.assessment = a;
        }
        let body = serde_json::to_string(&report).map_err(|source| OutboxError::Corrupt {
            path: self.path.clone(),
            seq: row.seq,
            source,
        })?;
        if report.assessment.legal == Some(LegalAssessment::NotIllegal) {
            self.set(
                "UPDATE reports SET state='dismissed', body=?2, last_error=?3 WHERE seq=?1",
                params![row.seq, body, format!("assessed not illegal by {analyst}")],
            )?;
        } else {
            self.set("UPDATE reports SET state='pending', body=?2 WHERE seq=?1", params![row.seq, body])?;
        }
        self.get(&report.report_id)
    }

    /// An analyst dismisses a report in review as a false positive.
    pub fn dismiss(&self, id: &str, reason: &str) -> Result<Row, OutboxError> {
        let row = self.require(id, State::Review, "dismiss")?;
        self.set(
            "UPDATE reports SET state='dismissed', last_error=?2 WHERE seq=?1",
            params![row.seq, reason],
        )?;
        self.get(&row.report.report_id)
    }

    /// Deletes delivered, dismissed and relayed reports that entered the outbox before `before`
    /// (unix seconds). Pending, review and parked reports are never deleted. The de-duplication
    /// entries (upload id, list, entry id; no hashes) stay, so a late replay is still
    /// recognised. Returns how many reports were deleted.
    pub fn purge(&self, before: i64) -> Result<usize, OutboxError> {
        self.set(
            "DELETE FROM reports WHERE state IN ('delivered', 'dismissed', 'relayed') AND created_at < ?1",
            params![before],
        )
    }
}

impl crate::model::MatchInfo {
    fn same_entry(&self, other: &crate::model::MatchInfo) -> bool {
        self.list == other.list && self.entry_id == other.entry_id
    }
}

fn placeholder() -> Report {
    Report {
        schema: String::new(),
        report_id: String::new(),
        idempotency_key: String::new(),
        created_at: String::new(),
        reporter: Default::default(),
        incident: Default::default(),
        uploader: None,
        file: Default::default(),
        matches: Vec::new(),
        assessment: crate::model::Assessment {
            industry_classification: None,
            iwf_category: None,
            legal: None,
            age_group: crate::model::AgeGroup::Unknown,
            media_type: crate::model::MediaType::Other,
        },
        review: Review::PendingReview { rule: String::new() },
        evidence: None,
        retroactive: None,
    }
}
