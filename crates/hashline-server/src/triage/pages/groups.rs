//! The grouped review queue: one row per list entry or per uploader (an account on a
//! platform) with its count, so that a flood is one row, not a thousand; and group decisions,
//! which a supervisor takes for every case of a group at once — each case still claimed,
//! decided and audited on its own.

use super::queue::{age, visible, QueueQuery, QUEUE_SCAN};
use super::*;

/// The groups a case belongs to: its list entries (`list/entry`), or its uploader
/// (`platform · account`; none when the platform gave no account).
pub(in crate::triage) fn keys(r: &Report, group: &str) -> Vec<String> {
    match group {
        "entry" => r.matches.iter().map(|m| format!("{}/{}", m.list, m.entry_id)).collect(),
        "uploader" => r
            .uploader
            .as_ref()
            .and_then(|u| u.account_id.as_ref())
            .map(|acct| vec![format!("{} · {acct}", r.incident.platform.as_deref().unwrap_or("-"))])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

pub(in crate::triage) struct GroupRow {
    pub(in crate::triage) key: String,
    pub(in crate::triage) count: usize,
    pub(in crate::triage) oldest: String,
    pub(in crate::triage) href: String,
}

/// Cases counted per group while the queue is read.
#[derive(Default)]
pub(in crate::triage) struct Groups {
    by_key: BTreeMap<String, (usize, i64)>,
}

impl Groups {
    pub(in crate::triage) fn add(&mut self, r: &Report, group: &str, created_at: i64) {
        for k in keys(r, group) {
            let slot = self.by_key.entry(k).or_insert((0, created_at));
            slot.0 += 1;
            slot.1 = slot.1.min(created_at);
        }
    }

    /// The groups, largest first.
    pub(in crate::triage) fn rows(self, tr: &Tr, now: i64, group: &str) -> Vec<GroupRow> {
        let mut rows: Vec<GroupRow> = self
            .by_key
            .into_iter()
            .map(|(key, (count, oldest))| GroupRow {
                href: format!(
                    "/queue?{}",
                    serde_urlencoded::to_string([("group", group), ("key", key.as_str())])
                        .unwrap_or_default()
                ),
                oldest: age(tr, oldest, now),
                key,
                count,
            })
            .collect();
        rows.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        rows
    }
}

#[derive(Deserialize)]
pub(in crate::triage) struct GroupForm {
    group: String,
    key: String,
    #[serde(default)]
    reason: String,
}

/// `POST /queue/group/dismiss`: every case of the group that nobody else holds is dismissed
/// as a false positive — each claimed, decided and audited on its own (`case.dismiss` with the
/// group named). Supervisors only.
pub(in crate::triage) async fn dismiss_group(
    State(state): State<Arc<AppState>>,
    a: Authed,
    Form(f): Form<GroupForm>,
) -> Page {
    a.require(Role::Supervisor)?;
    let lang = a.lang;
    if !matches!(f.group.as_str(), "entry" | "uploader") || f.key.is_empty() {
        return Err(message_page(lang, "error-no-case", StatusCode::UNPROCESSABLE_ENTITY));
    }
    blocking(&state, lang, move |st| {
        let t = &st.triage;
        let now = unix_now();
        let q = QueueQuery { group: f.group.clone(), key: f.key.clone(), ..QueueQuery::default() };
        let rows = t.outbox.list(Some(RState::Review), QUEUE_SCAN).map_err(|e| internal(lang, &e))?;
        let escalations = t.cases.escalations().map_err(|e| internal(lang, &e))?;
        let reason = super::decisions::note(&f.reason);
        let mut done = 0usize;
        for row in rows {
            let rid = row.report.report_id.clone();
            if !visible(&row, &q, escalations.contains_key(&rid), true) {
                continue;
            }
            // A case someone else holds stays theirs.
            if !t
                .cases
                .claim(&rid, &a.user.name, now, super::queue::ttl(t), false)
                .map_err(|e| internal(lang, &e))?
            {
                continue;
            }
            audit(
                st,
                &a,
                "case.dismiss",
                &rid,
                serde_json::json!({ "reason": reason, "group": format!("{}:{}", f.group, f.key) }),
            )?;
            t.outbox
                .dismiss(&rid, &format!("false positive ({}, group {}): {reason}", a.user.name, f.key))
                .map_err(|e| internal(lang, &e))?;
            leave_case(st, &a, &rid, false)?;
            hashline_metrics::global().triage_decisions_total.with_label_values(&["dismiss"]).inc();
            done += 1;
        }
        audit(
            st,
            &a,
            "group.dismiss",
            &format!("{}:{}", f.group, f.key),
            serde_json::json!({ "cases": done }),
        )?;
        let back = serde_urlencoded::to_string([("group", f.group.as_str()), ("msg", "group-dismissed")])
            .unwrap_or_default();
        Ok(see_other(&format!("/queue?{back}")))
    })
    .await
}
