//! The review queue, claiming cases, and the shared checks on a case in review.

use super::*;

#[derive(Deserialize, Default)]
pub(in crate::triage) struct QueueQuery {
    #[serde(default)]
    pub(in crate::triage) list: String,
    #[serde(default)]
    pub(in crate::triage) class: String,
    #[serde(default)]
    pub(in crate::triage) platform: String,
    #[serde(default)]
    pub(in crate::triage) escalated: String,
    #[serde(default)]
    pub(in crate::triage) page: usize,
    /// Group the queue: `entry` (list entry) or `uploader` (account on a platform).
    #[serde(default)]
    pub(in crate::triage) group: String,
    /// With `group`: only the cases of this group.
    #[serde(default)]
    pub(in crate::triage) key: String,
    pub(in crate::triage) msg: Option<String>,
}

/// Cases shown per queue page.
pub(in crate::triage) const PAGE_ROWS: usize = 100;

pub(in crate::triage) struct QueueRow {
    pub(in crate::triage) id: String,
    pub(in crate::triage) short: String,
    pub(in crate::triage) waiting: String,
    pub(in crate::triage) lists: String,
    pub(in crate::triage) class: String,
    pub(in crate::triage) distance: String,
    pub(in crate::triage) platform: String,
    pub(in crate::triage) status: String,
    pub(in crate::triage) mine: bool,
    pub(in crate::triage) free: bool,
    pub(in crate::triage) escalated: bool,
}

pub(in crate::triage) struct Choice {
    pub(in crate::triage) value: String,
    pub(in crate::triage) selected: bool,
}

#[derive(Template)]
#[template(path = "queue.html")]
pub(in crate::triage) struct QueueTpl {
    pub(in crate::triage) c: Chrome,
    pub(in crate::triage) rows: Vec<QueueRow>,
    pub(in crate::triage) count_text: String,
    pub(in crate::triage) lists: Vec<Choice>,
    pub(in crate::triage) classes: Vec<Choice>,
    pub(in crate::triage) platforms: Vec<Choice>,
    pub(in crate::triage) supervisor: bool,
    pub(in crate::triage) only_escalated: bool,
    pub(in crate::triage) filters: String,
    pub(in crate::triage) page_text: String,
    pub(in crate::triage) prev_href: String,
    pub(in crate::triage) next_href: String,
    /// How the queue is grouped (`""`, `entry`, `uploader`) and the groups, when grouped and
    /// no group is opened.
    pub(in crate::triage) group: String,
    pub(in crate::triage) key: String,
    pub(in crate::triage) groups: Vec<super::groups::GroupRow>,
}

/// The most review reports a queue page looks at.
pub(in crate::triage) const QUEUE_SCAN: usize = 5000;

pub(in crate::triage) fn classification(r: &Report) -> String {
    r.assessment
        .industry_classification
        .map(|c| c.as_str().to_string())
        .or_else(|| r.matches.iter().find_map(|m| m.classification.clone()))
        .unwrap_or_default()
}

pub(in crate::triage) fn platform(r: &Report) -> String {
    r.incident.platform.clone().unwrap_or_default()
}

pub(in crate::triage) fn lists_of(r: &Report) -> Vec<String> {
    let set: BTreeSet<String> = r.matches.iter().map(|m| m.list.clone()).collect();
    set.into_iter().collect()
}

pub(in crate::triage) fn age(tr: &Tr, since: i64, now: i64) -> String {
    let s = (now - since).max(0);
    if s < 3600 {
        tr.n("age-minutes", s / 60)
    } else if s < 86_400 {
        tr.n("age-hours", s / 3600)
    } else {
        tr.n("age-days", s / 86_400)
    }
}

/// Does `row` pass the queue filters, and may this role see it?
pub(in crate::triage) fn visible(row: &Row, q: &QueueQuery, escalated: bool, supervisor: bool) -> bool {
    let r = &row.report;
    (q.list.is_empty() || r.matches.iter().any(|m| m.list == q.list))
        && (q.class.is_empty() || classification(r) == q.class)
        && (q.platform.is_empty() || platform(r) == q.platform)
        // Escalated cases are the supervisors' alone, whatever the query asks for.
        && (!escalated || supervisor)
        && (q.escalated != "1" || escalated)
        && (q.key.is_empty() || super::groups::keys(r, &q.group).contains(&q.key))
}

pub(in crate::triage) async fn queue(
    State(state): State<Arc<AppState>>,
    a: Authed,
    Query(q): Query<QueueQuery>,
) -> Page {
    a.require(Role::Analyst)?;
    let lang = a.lang;
    blocking(&state, lang, move |st| {
        let t = &st.triage;
        let now = unix_now();
        let rows = t.outbox.list(Some(RState::Review), QUEUE_SCAN).map_err(|e| internal(lang, &e))?;
        let claims = t.cases.claims(now).map_err(|e| internal(lang, &e))?;
        let escalations = t.cases.escalations().map_err(|e| internal(lang, &e))?;
        let supervisor = a.user.role.includes(Role::Supervisor);
        let mut c = chrome(t, &a, "/queue", flash(&q.msg));
        let (mut lists, mut classes, mut platforms) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        let mut out = Vec::new();
        let mut grouped = super::groups::Groups::default();
        for row in &rows {
            let r = &row.report;
            lists.extend(lists_of(r));
            classes.insert(classification(r));
            platforms.insert(platform(r));
            let escalated = escalations.contains_key(&r.report_id);
            if !visible(row, &q, escalated, supervisor) {
                continue;
            }
            grouped.add(r, &q.group, row.created_at);
            let claim = claims.get(&r.report_id);
            let mine = claim.is_some_and(|cl| cl.analyst == a.user.name);
            let mut status = match claim {
                Some(_) if mine => c.t("status-yours"),
                Some(cl) => c.tr.args("status-claimed-by", &[("name", cl.analyst.clone().into())]),
                None => c.t("status-waiting"),
            };
            if escalated {
                status = format!("{} · {}", c.t("status-escalated"), status);
            }
            out.push(QueueRow {
                id: r.report_id.clone(),
                short: r.report_id.chars().take(8).collect(),
                waiting: age(&c.tr, row.created_at, now),
                lists: lists_of(r).join(", "),
                class: classification(r),
                distance: r
                    .matches
                    .iter()
                    .map(|m| m.distance)
                    .min()
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                platform: platform(r),
                status,
                mine,
                free: claim.is_none(),
                escalated,
            });
        }
        let total = out.len();
        let pages = total.div_ceil(PAGE_ROWS).max(1);
        let page = q.page.clamp(1, pages);
        let out: Vec<QueueRow> = out.into_iter().skip((page - 1) * PAGE_ROWS).take(PAGE_ROWS).collect();
        audit(st, &a, "queue.view", "", serde_json::json!({ "shown": out.len(), "waiting": total }))?;
        let choices = |set: BTreeSet<String>, cur: &str| {
            set.into_iter()
                .filter(|v| !v.is_empty())
                .map(|v| Choice { selected: v == cur, value: v })
                .collect()
        };
        c.back = "/queue".into();
        let filters = serde_urlencoded::to_string([
            ("list", q.list.as_str()),
            ("class", q.class.as_str()),
            ("platform", q.platform.as_str()),
            ("escalated", q.escalated.as_str()),
            ("group", q.group.as_str()),
            ("key", q.key.as_str()),
        ])
        .unwrap_or_default();
        let groups = if q.key.is_empty() { grouped.rows(&c.tr, now, &q.group) } else { Vec::new() };
        let href = |p: usize| format!("/queue?{filters}&page={p}");
        Ok(render(&QueueTpl {
            count_text: c.tr.n("queue-count", total as i64),
            page_text: if pages > 1 {
                c.tr.args("queue-page", &[("page", (page as i64).into()), ("pages", (pages as i64).into())])
            } else {
                String::new()
            },
            prev_href: if page > 1 { href(page - 1) } else { String::new() },
            next_href: if page < pages { href(page + 1) } else { String::new() },
            rows: out,
            lists: choices(lists, &q.list),
            classes: choices(classes, &q.class),
            platforms: choices(platforms, &q.platform),
            supervisor,
            only_escalated: q.escalated == "1",
            filters,
            group: q.group.clone(),
            key: q.key.clone(),
            groups,
            c,
        }))
    })
    .await
}

#[derive(Deserialize)]
pub(in crate::triage) struct NextForm {
    #[serde(default)]
    pub(in crate::triage) filters: String,
}

pub(in crate::triage) async fn claim_next(
    State(state): State<Arc<AppState>>,
    a: Authed,
    Form(f): Form<NextForm>,
) -> Page {
    a.require(Role::Analyst)?;
    let lang = a.lang;
    let q: QueueQuery = serde_urlencoded::from_str(&f.filters).unwrap_or_default();
    blocking(&state, lang, move |st| {
        let t = &st.triage;
        let now = unix_now();
        let rows = t.outbox.list(Some(RState::Review), QUEUE_SCAN).map_err(|e| internal(lang, &e))?;
        let escalations = t.cases.escalations().map_err(|e| internal(lang, &e))?;
        let claims = t.cases.claims(now).map_err(|e| internal(lang, &e))?;
        let supervisor = a.user.role.includes(Role::Supervisor);
        for row in rows {
            let id = &row.report.report_id;
            if !visible(&row, &q, escalations.contains_key(id), supervisor) {
                continue;
            }
            // Skip cases others hold (one read for all); the claim itself stays the atomic
            // check, for a case taken since.
            if claims.get(id).is_some_and(|c| c.analyst != a.user.name) {
                continue;
            }
            if t.cases.claim(id, &a.user.name, now, ttl(t), false).map_err(|e| internal(lang, &e))? {
                audit(st, &a, "case.claim", id, serde_json::json!({}))?;
                return Ok(see_other(&format!("/cases/{id}")));
            }
        }
        Ok(see_other("/queue?msg=queue-empty"))
    })
    .await
}

pub(in crate::triage) fn ttl(t: &Triage) -> i64 {
    (t.config.claim_minutes * 60) as i64
}
