//! Flood quarantine in the triage pages: supervisors see the list entries quarantined for
//! matching far more uploads than before (how many, first and last match, reports held, a few
//! of those cases — whose media the case page shows blurred), and lift the quarantine (the held
//! reports return to the state the policy gave them) or disable the entry (a local override in
//! the list store, kept across list updates). Both audited.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::Form;
use hashline_lists::EntryRef;
use hashline_report::outbox::QuarantineState;
use serde::Deserialize;

use super::pages::{
    audit, blocking, chrome, flash, internal, render, rfc, see_other, Chrome, MsgQuery, Page,
};
use super::{Authed, Role};
use crate::AppState;

struct EntryView {
    list: String,
    entry: String,
    state: &'static str,
    quarantined: bool,
    since: String,
    uploads: i64,
    at_quarantine: i64,
    first: String,
    last: String,
    held: i64,
    samples: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "quarantine.html")]
struct QuarantineTpl {
    c: Chrome,
    entries: Vec<EntryView>,
}

/// `GET /quarantine`: the entries quarantined (and those lifted or disabled before).
pub(super) async fn page(State(state): State<Arc<AppState>>, a: Authed, Query(q): Query<MsgQuery>) -> Page {
    a.require(Role::Supervisor)?;
    let lang = a.lang;
    blocking(&state, lang, move |st| {
        let t = &st.triage;
        let all = t.outbox.quarantines().map_err(|e| internal(lang, &e))?;
        let mut entries = Vec::with_capacity(all.len());
        for e in all {
            let samples = t
                .outbox
                .held_reports(&e.list, &e.entry_id, 3)
                .map_err(|err| internal(lang, &err))?
                .into_iter()
                .map(|id| (id.chars().take(12).collect(), id))
                .collect();
            entries.push(EntryView {
                state: match e.state {
                    QuarantineState::Quarantined => "quarantine-state-quarantined",
                    QuarantineState::Lifted => "quarantine-state-lifted",
                    QuarantineState::Disabled => "quarantine-state-disabled",
                },
                quarantined: e.state == QuarantineState::Quarantined,
                since: rfc(e.since),
                uploads: e.uploads,
                at_quarantine: e.uploads_at_quarantine,
                first: rfc(e.first_seen),
                last: rfc(e.last_seen),
                held: e.held,
                samples,
                list: e.list,
                entry: e.entry_id,
            });
        }
        let c = chrome(t, &a, "/quarantine", flash(&q.msg));
        Ok(render(&QuarantineTpl { c, entries }))
    })
    .await
}

#[derive(Deserialize)]
pub(super) struct EntryForm {
    list: String,
    entry: String,
}

/// `POST /quarantine/lift`: the entry is right; its held reports follow the policy again.
pub(super) async fn lift(State(state): State<Arc<AppState>>, a: Authed, Form(f): Form<EntryForm>) -> Page {
    a.require(Role::Supervisor)?;
    let lang = a.lang;
    blocking(&state, lang, move |st| {
        let t = &st.triage;
        let Ok(released) = t.outbox.lift(&f.list, &f.entry, &format!("user:{}", a.user.name)) else {
            return Ok(see_other("/quarantine?msg=quarantine-missing"));
        };
        let target = format!("{}/{}", f.list, f.entry);
        audit(st, &a, "entry.quarantine_lift", &target, serde_json::json!({ "released": released }))?;
        t.outbox.update_quarantine_gauge();
        Ok(see_other("/quarantine?msg=quarantine-lifted"))
    })
    .await
}

/// `POST /quarantine/disable`: the entry is wrong; it is overridden in the list store (it
/// matches nothing after the next reload) and its held reports stay in review.
pub(super) async fn disable(State(state): State<Arc<AppState>>, a: Authed, Form(f): Form<EntryForm>) -> Page {
    a.require(Role::Supervisor)?;
    let lang = a.lang;
    blocking(&state, lang, move |st| {
        let t = &st.triage;
        let known = t.outbox.quarantines().map_err(|e| internal(lang, &e))?;
        if !known
            .iter()
            .any(|q| q.list == f.list && q.entry_id == f.entry && q.state != QuarantineState::Disabled)
        {
            return Ok(see_other("/quarantine?msg=quarantine-missing"));
        }
        let by = format!("user:{}", a.user.name);
        let entry = EntryRef { list: f.list.clone(), entry: f.entry.clone() };
        t.store.disable_entry(entry, &by, "flood quarantine").map_err(|e| internal(lang, &e))?;
        t.outbox.disable(&f.list, &f.entry, &by).map_err(|e| internal(lang, &e))?;
        let target = format!("{}/{}", f.list, f.entry);
        audit(st, &a, "entry.disable", &target, serde_json::json!({}))?;
        Ok(see_other("/quarantine?msg=quarantine-disabled"))
    })
    .await
}
