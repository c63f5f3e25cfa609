//! Flood quarantine: a list entry that suddenly matches far more uploads than before (a meme,
//! a logo, a blank frame hashed by mistake, a low-quality PDQ) is quarantined where reports
//! are committed — here, which sees every match, relayed ones included. Its further matches,
//! and those of its reports still waiting for delivery, go to review marked
//! `quarantined_entry`; nothing is auto-delivered for it and nothing is dropped. A supervisor
//! lifts the quarantine (the held reports return to the state the policy gave them) or
//! disables the entry (they stay in review; the entry is overridden in the list store by the
//! caller).

use rusqlite::{params, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

use super::{unix_now, Outbox, OutboxError, State};
use crate::model::Review;

/// The review rule of a report held because an entry it matched is quarantined.
pub const QUARANTINED_RULE: &str = "quarantined_entry";

/// When an entry is quarantined (`[policy.flood]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FloodRule {
    /// Quarantine entries that flood (default true).
    pub enabled: bool,
    /// The sliding window, minutes (default 60).
    pub window_minutes: u32,
    /// Distinct uploads matching one entry within the window, at least (default 50).
    pub min_uploads: u32,
    /// ... and at least this multiple of the entry's own average per window over the
    /// trailing `baseline_windows` windows (default 10).
    pub multiple: u32,
    /// Windows before the current one that make the baseline (default 24).
    pub baseline_windows: u32,
}

impl Default for FloodRule {
    fn default() -> Self {
        FloodRule { enabled: true, window_minutes: 60, min_uploads: 50, multiple: 10, baseline_windows: 24 }
    }
}

impl FloodRule {
    /// Checks the numbers; says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.window_minutes == 0
            || self.min_uploads == 0
            || self.multiple == 0
            || self.baseline_windows == 0
        {
            return Err(
                "policy.flood: window_minutes, min_uploads, multiple and baseline_windows must be positive"
                    .into(),
            );
        }
        Ok(())
    }
}

/// Where a quarantine stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuarantineState {
    /// Matches go to review.
    Quarantined,
    /// A supervisor lifted it: matches follow the policy again.
    Lifted,
    /// A supervisor disabled the entry.
    Disabled,
}

impl QuarantineState {
    fn as_str(self) -> &'static str {
        match self {
            QuarantineState::Quarantined => "quarantined",
            QuarantineState::Lifted => "lifted",
            QuarantineState::Disabled => "disabled",
        }
    }

    fn parse(s: &str) -> QuarantineState {
        match s {
            "lifted" => QuarantineState::Lifted,
            "disabled" => QuarantineState::Disabled,
            _ => QuarantineState::Quarantined,
        }
    }
}

/// A quarantined (or formerly quarantined) entry, for supervisors. No hash value: the entry
/// id and list name only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quarantine {
    /// The list.
    pub list: String,
    /// The entry id.
    pub entry_id: String,
    /// Where it stands.
    pub state: QuarantineState,
    /// When it was quarantined (Unix seconds).
    pub since: i64,
    /// Distinct uploads in the window when it was quarantined.
    pub uploads_at_quarantine: i64,
    /// Distinct uploads that matched it, in all.
    pub uploads: i64,
    /// Its first and last match (Unix seconds).
    pub first_seen: i64,
    /// Its last match.
    pub last_seen: i64,
    /// Reports held in review for it now.
    pub held: i64,
    /// Who lifted or disabled it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed_by: Option<String>,
}

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS quarantine (
    list TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    state TEXT NOT NULL,
    since INTEGER NOT NULL,
    uploads INTEGER NOT NULL,
    changed_by TEXT,
    changed_at INTEGER,
    PRIMARY KEY (list, entry_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS held (
    seq INTEGER PRIMARY KEY,
    state TEXT NOT NULL,
    review TEXT NOT NULL
);
";

type Db<'a> = &'a dyn Fn(rusqlite::Error) -> OutboxError;

/// Distinct uploads matching the entry with reports made in `[from, to)`.
fn uploads_between(
    tx: &Transaction<'_>,
    db: Db<'_>,
    list: &str,
    entry: &str,
    from: i64,
    to: i64,
) -> Result<i64, OutboxError> {
    tx.query_row(
        "SELECT COUNT(DISTINCT re.upload_id) FROM reported_entries re JOIN reports r ON r.seq = re.seq
         WHERE re.list = ?1 AND re.entry_id = ?2 AND r.created_at >= ?3 AND r.created_at < ?4",
        params![list, entry, from, to],
        |r| r.get(0),
    )
    .map_err(db)
}

fn state_of(
    tx: &Transaction<'_>,
    db: Db<'_>,
    list: &str,
    entry: &str,
) -> Result<Option<QuarantineState>, OutboxError> {
    tx.query_row(
        "SELECT state FROM quarantine WHERE list = ?1 AND entry_id = ?2",
        params![list, entry],
        |r| r.get::<_, String>(0),
    )
    .optional()
    .map_err(db)
    .map(|s| s.map(|s| QuarantineState::parse(&s)))
}

/// Holds a committed report in review, remembering the state and review the policy gave it.
fn hold(tx: &Transaction<'_>, db: Db<'_>, seq: i64, state: &str, body: &str) -> Result<(), OutboxError> {
    let Ok(mut report) = serde_json::from_str::<crate::Report>(body) else { return Ok(()) };
    let original = serde_json::to_string(&report.review).unwrap_or_default();
    tx.execute(
        "INSERT OR IGNORE INTO held (seq, state, review) VALUES (?1, ?2, ?3)",
        params![seq, state, original],
    )
    .map_err(db)?;
    report.review = Review::PendingReview { rule: QUARANTINED_RULE.into() };
    let body = serde_json::to_string(&report).unwrap_or_else(|_| body.to_string());
    tx.execute("UPDATE reports SET state = 'review', body = ?2 WHERE seq = ?1", params![seq, body])
        .map_err(db)?;
    Ok(())
}

impl Outbox {
    /// For a report about to be committed with these (list, entry) matches at `now`: the
    /// entries that are quarantined, quarantining those that flood now (and holding their
    /// reports still pending). Runs inside the enqueue transaction.
    pub(super) fn flood_check(
        &self,
        tx: &Transaction<'_>,
        entries: &[(String, String)],
        upload: &str,
        now: i64,
    ) -> Result<Vec<(String, String)>, OutboxError> {
        let rule = self.flood_rule();
        let db = self.db();
        let mut held = Vec::new();
        for (list, entry) in entries {
            match state_of(tx, &db, list, entry)? {
                Some(QuarantineState::Quarantined | QuarantineState::Disabled) => {
                    held.push((list.clone(), entry.clone()));
                    continue;
                }
                Some(QuarantineState::Lifted) => continue,
                None if !rule.enabled => continue,
                None => {}
            }
            let window = i64::from(rule.window_minutes) * 60;
            let mut count = uploads_between(tx, &db, list, entry, now - window, i64::MAX)?;
            // This upload, unless it matched the entry before (a replay).
            let seen: Option<i64> = tx
                .query_row(
                    "SELECT 1 FROM reported_entries WHERE upload_id = ?1 AND list = ?2 AND entry_id = ?3",
                    params![upload, list, entry],
                    |r| r.get(0),
                )
                .optional()
                .map_err(&db)?;
            count += i64::from(seen.is_none());
            if count < i64::from(rule.min_uploads) {
                continue;
            }
            let span = window * i64::from(rule.baseline_windows);
            let before = uploads_between(tx, &db, list, entry, now - window - span, now - window)?;
            // The average per window, at least one: an entry with no history floods at
            // `multiple` uploads (and `min_uploads`).
            let baseline = (before / i64::from(rule.baseline_windows)).max(1);
            if count < baseline * i64::from(rule.multiple) {
                continue;
            }
            tx.execute(
                "INSERT INTO quarantine (list, entry_id, state, since, uploads) VALUES (?1, ?2, 'quarantined', ?3, ?4)",
                params![list, entry, now, count],
            )
            .map_err(&db)?;
            // Its reports still waiting for delivery are held too — those the policy sent
            // without review; a report an analyst confirmed has had its human look.
            let pending: Vec<(i64, String)> = {
                let mut stmt = tx
                    .prepare(
                        "SELECT seq, body FROM reports WHERE state = 'pending'
                         AND json_extract(body, '$.review.state') = 'auto_reported' AND seq IN
                         (SELECT seq FROM reported_entries WHERE list = ?1 AND entry_id = ?2)",
                    )
                    .map_err(&db)?;
                let rows =
                    stmt.query_map(params![list, entry], |r| Ok((r.get(0)?, r.get(1)?))).map_err(&db)?;
                rows.collect::<Result<_, _>>().map_err(&db)?
            };
            for (seq, body) in pending {
                hold(tx, &db, seq, "pending", &body)?;
            }
            tracing::warn!(list = %list, uploads = count, "list entry quarantined: it matches far more uploads than before; its matches wait for review");
            held.push((list.clone(), entry.clone()));
        }
        Ok(held)
    }

    /// Records that the report just inserted as `seq` is held (it would have been `state`).
    pub(super) fn note_held(
        &self,
        tx: &Transaction<'_>,
        seq: i64,
        state: State,
        original: &Review,
    ) -> Result<(), OutboxError> {
        let review = serde_json::to_string(original).unwrap_or_default();
        tx.execute(
            "INSERT OR IGNORE INTO held (seq, state, review) VALUES (?1, ?2, ?3)",
            params![seq, state.as_str(), review],
        )
        .map_err(self.db())?;
        Ok(())
    }

    /// Every entry ever quarantined, most recent first.
    pub fn quarantines(&self) -> Result<Vec<Quarantine>, OutboxError> {
        let db = self.db();
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT q.list, q.entry_id, q.state, q.since, q.uploads, q.changed_by,
                    (SELECT COUNT(DISTINCT re.upload_id) FROM reported_entries re WHERE re.list = q.list AND re.entry_id = q.entry_id),
                    (SELECT MIN(r.created_at) FROM reports r JOIN reported_entries re ON re.seq = r.seq WHERE re.list = q.list AND re.entry_id = q.entry_id),
                    (SELECT MAX(r.created_at) FROM reports r JOIN reported_entries re ON re.seq = r.seq WHERE re.list = q.list AND re.entry_id = q.entry_id),
                    (SELECT COUNT(*) FROM held h JOIN reported_entries re ON re.seq = h.seq JOIN reports r ON r.seq = h.seq
                        WHERE re.list = q.list AND re.entry_id = q.entry_id AND r.state = 'review')
                 FROM quarantine q ORDER BY q.since DESC",
            )
            .map_err(&db)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Quarantine {
                    list: r.get(0)?,
                    entry_id: r.get(1)?,
                    state: QuarantineState::parse(&r.get::<_, String>(2)?),
                    since: r.get(3)?,
                    uploads_at_quarantine: r.get(4)?,
                    changed_by: r.get(5)?,
                    uploads: r.get(6)?,
                    first_seen: r.get::<_, Option<i64>>(7)?.unwrap_or(0),
                    last_seen: r.get::<_, Option<i64>>(8)?.unwrap_or(0),
                    held: r.get(9)?,
                })
            })
            .map_err(&db)?;
        rows.collect::<Result<_, _>>().map_err(&db)
    }

    /// Entries quarantined now.
    pub fn quarantined_count(&self) -> Result<i64, OutboxError> {
        self.conn()
            .query_row("SELECT COUNT(*) FROM quarantine WHERE state = 'quarantined'", [], |r| r.get(0))
            .map_err(self.db())
    }

    /// Report ids held for an entry, in review now (a few, for samples).
    pub fn held_reports(&self, list: &str, entry: &str, limit: usize) -> Result<Vec<String>, OutboxError> {
        let db = self.db();
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT r.report_id FROM held h JOIN reports r ON r.seq = h.seq JOIN reported_entries re ON re.seq = h.seq
                 WHERE re.list = ?1 AND re.entry_id = ?2 AND r.state = 'review' ORDER BY h.seq LIMIT ?3",
            )
            .map_err(&db)?;
        let rows = stmt.query_map(params![list, entry, limit as i64], |r| r.get(0)).map_err(&db)?;
        rows.collect::<Result<_, _>>().map_err(&db)
    }

    /// Lifts the quarantine of an entry: its held reports that no other quarantine holds go
    /// back to the state and review the policy gave them. Returns how many went back.
    pub fn lift(&self, list: &str, entry: &str, by: &str) -> Result<usize, OutboxError> {
        self.change(list, entry, QuarantineState::Lifted, by)
    }

    /// Disables an entry: its quarantine stays (its reports stay in review); the caller
    /// records the override in the list store.
    pub fn disable(&self, list: &str, entry: &str, by: &str) -> Result<usize, OutboxError> {
        self.change(list, entry, QuarantineState::Disabled, by)
    }

    fn change(&self, list: &str, entry: &str, to: QuarantineState, by: &str) -> Result<usize, OutboxError> {
        let db = self.db();
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(&db)?;
        let changed = tx
            .execute(
                "UPDATE quarantine SET state = ?3, changed_by = ?4, changed_at = ?5
                 WHERE list = ?1 AND entry_id = ?2 AND state != 'disabled'",
                params![list, entry, to.as_str(), by, unix_now()],
            )
            .map_err(&db)?;
        if changed == 0 {
            return Err(OutboxError::Invalid(format!(
                "no quarantine of {list}/{entry} to {} (see `hashline reports quarantine list`)",
                if to == QuarantineState::Lifted { "lift" } else { "disable" }
            )));
        }
        let mut released = 0;
        if to == QuarantineState::Lifted {
            // Held reports of this entry still in review, that no other quarantine holds.
            let rows: Vec<(i64, String, String, String)> = {
                let mut stmt = tx
                    .prepare(
                        "SELECT h.seq, h.state, h.review, r.body FROM held h JOIN reports r ON r.seq = h.seq
                         JOIN reported_entries re ON re.seq = h.seq
                         WHERE re.list = ?1 AND re.entry_id = ?2 AND r.state = 'review'
                           AND NOT EXISTS (SELECT 1 FROM reported_entries o JOIN quarantine q
                               ON q.list = o.list AND q.entry_id = o.entry_id
                               WHERE o.seq = h.seq AND q.state IN ('quarantined', 'disabled'))",
                    )
                    .map_err(&db)?;
                let rows = stmt
                    .query_map(params![list, entry], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                    .map_err(&db)?;
                rows.collect::<Result<_, _>>().map_err(&db)?
            };
            for (seq, state, review, body) in rows {
                let Ok(mut report) = serde_json::from_str::<crate::Report>(&body) else { continue };
                if let Ok(r) = serde_json::from_str::<Review>(&review) {
                    report.review = r;
                }
                let body = serde_json::to_string(&report).unwrap_or(body);
                tx.execute(
                    "UPDATE reports SET state = ?2, body = ?3 WHERE seq = ?1",
                    params![seq, state, body],
                )
                .map_err(&db)?;
                tx.execute("DELETE FROM held WHERE seq = ?1", params![seq]).map_err(&db)?;
                released += 1;
            }
        }
        tx.commit().map_err(&db)?;
        drop(conn);
        self.update_quarantine_gauge();
        Ok(released)
    }

    /// Sets `hashline_quarantined_entries` from the table.
    pub fn update_quarantine_gauge(&self) {
        if let Ok(n) = self.quarantined_count() {
            hashline_metrics::global().quarantined_entries.set(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{build, Detection, Enqueued, Policy, Reporter};

    fn outbox(tag: &str) -> (std::path::PathBuf, Outbox) {
        let dir = std::env::temp_dir().join(format!("hashline-flood-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let ob = Outbox::open(&dir.join("outbox.db")).expect("outbox");
        ob.set_flood_rule(FloodRule { min_uploads: 20, ..FloodRule::default() });
        (dir, ob)
    }

    /// A report of `upload` matching `entry` by MD5 (the policy delivers those without review).
    fn commit(ob: &Outbox, upload: &str, entry: &str) -> (State, String) {
        let m = hashline_lists::Match {
            list: "known".into(),
            source: "test".into(),
            list_version: 1,
            entry_id: entry.into(),
            classification: None,
            signal: hashline_lists::SignalType::Md5,
            value: "ab".repeat(16),
            distance: 0,
            dihedral: None,
            border_trimmed: None,
            pytx_conversion: false,
            video: None,
        };
        let d = Detection { upload_id: upload.into(), matches: vec![m], ..Detection::default() };
        let reporter = Reporter { organisation: "o".into(), contact: "c".into(), country: "KH".into() };
        let (report, decision) = build(&d, &reporter, &Policy::default()).expect("report");
        let state = if matches!(decision, crate::Decision::Auto(_)) { State::Pending } else { State::Review };
        match ob.enqueue(report, state).expect("enqueue") {
            Enqueued::New(row) => (row.state, row.report.report_id),
            Enqueued::Duplicate => panic!("duplicate"),
        }
    }

    fn states(ob: &Outbox, entry: &str) -> Vec<(State, String)> {
        ob.list(None, 10_000)
            .expect("list")
            .into_iter()
            .filter(|r| r.report.matches.iter().any(|m| m.entry_id == entry))
            .map(|r| {
                let rule = match r.report.review {
                    Review::PendingReview { rule } | Review::AutoReported { rule } => rule,
                    other => format!("{other:?}"),
                };
                (r.state, rule)
            })
            .collect()
    }

    #[test]
    fn an_entry_that_floods_is_quarantined_and_its_pending_reports_are_held() {
        let (dir, ob) = outbox("flood");
        for i in 0..19 {
            assert_eq!(commit(&ob, &format!("u{i}"), "meme").0, State::Pending);
        }
        commit(&ob, "other", "rare");
        // The 20th distinct upload in the window: quarantined, this one and the 19 before held.
        assert_eq!(commit(&ob, "u19", "meme").0, State::Review);
        let held = states(&ob, "meme");
        assert_eq!(held.len(), 20);
        assert!(held.iter().all(|(s, rule)| *s == State::Review && rule == QUARANTINED_RULE), "{held:?}");
        assert_eq!(states(&ob, "rare"), vec![(State::Pending, "exact_md5".to_string())], "others untouched");
        assert_eq!(commit(&ob, "u20", "meme").0, State::Review, "further matches are held");
        let q = ob.quarantines().expect("quarantines");
        assert_eq!(
            (q.len(), q[0].state, q[0].uploads_at_quarantine, q[0].held),
            (1, QuarantineState::Quarantined, 20, 21)
        );
        assert_eq!(ob.held_reports("known", "meme", 3).expect("held").len(), 3);
        assert_eq!(ob.quarantined_count().expect("count"), 1);

        // Lifted: the held reports go back to what the policy gave them; new ones follow it.
        assert_eq!(ob.lift("known", "meme", "sup-1").expect("lift"), 21);
        assert!(states(&ob, "meme").iter().all(|(s, rule)| *s == State::Pending && rule == "exact_md5"));
        assert_eq!(commit(&ob, "u21", "meme").0, State::Pending);
        assert_eq!(ob.quarantined_count().expect("count"), 0);
        assert!(ob.lift("known", "meme", "sup-1").is_ok(), "lifting again changes nothing");
        assert!(ob.lift("known", "nothing", "sup-1").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_report_an_analyst_confirmed_is_not_held_when_its_entry_floods() {
        let (dir, ob) = outbox("confirmed");
        // One of the entry's reports went to review and an analyst confirmed it.
        let (_, id) = commit(&ob, "u0", "meme");
        ob.conn()
            .execute("UPDATE reports SET state = 'review' WHERE report_id = ?1", params![id])
            .expect("to review");
        assert_eq!(ob.confirm(&id, "dara", None).expect("confirm").state, State::Pending);
        for i in 1..20 {
            commit(&ob, &format!("u{i}"), "meme");
        }
        assert_eq!(ob.quarantined_count().expect("count"), 1);
        let row = ob.get(&id).expect("row");
        assert_eq!(row.state, State::Pending, "a human already looked: it is delivered");
        assert!(matches!(row.report.review, Review::Confirmed { .. }));
        assert_eq!(states(&ob, "meme").iter().filter(|(s, _)| *s == State::Review).count(), 19);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_steadily_busy_entry_is_not_quarantined_and_a_disabled_one_stays_held() {
        let (dir, ob) = outbox("steady");
        // 30 uploads in every hour of the past day: its baseline.
        let now = unix_now();
        for i in 0..24 * 30 {
            commit(&ob, &format!("old{i}"), "logo");
            let at = now - 3600 - (i / 30) as i64 * 3600 - 60;
            ob.conn()
                .execute(
                    "UPDATE reports SET created_at = ?1 WHERE seq = (SELECT MAX(seq) FROM reports)",
                    params![at],
                )
                .expect("backdate");
        }
        for i in 0..40 {
            assert_eq!(commit(&ob, &format!("now{i}"), "logo").0, State::Pending, "40 < 10 × 30: no flood");
        }
        for i in 0..20 {
            commit(&ob, &format!("f{i}"), "blank");
        }
        assert_eq!(ob.disable("known", "blank", "sup-2").expect("disable"), 0);
        assert!(states(&ob, "blank").iter().all(|(s, _)| *s == State::Review));
        assert_eq!(commit(&ob, "f20", "blank").0, State::Review, "a disabled entry's matches stay held");
        assert!(ob.lift("known", "blank", "sup-2").is_err(), "a disabled entry is not lifted");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
