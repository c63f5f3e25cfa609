//! Allow-listing from the triage pages, with four eyes: an analyst who dismisses a case as a
//! false positive may propose that its hashes go on the allow-list; a supervisor other than
//! the proposer approves (the entries are written) or rejects. Each allow entry is scoped to
//! the list entries the case matched and suppresses only within `[triage]
//! allow_pdq_distance` of the dismissed upload's PDQ, so the listed picture itself, and its
//! exact copies, are never hidden.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use hashline_lists::{Entry, EntryRef, ListKind, Manifest, SignalType, Thresholds};
use hashline_report::outbox::unix_now;
use hashline_report::Report;

use super::pages::{
    audit, blocking, chrome, flash, internal, message_page, render, rfc, see_other, valid_id, Chrome,
    MsgQuery, Page,
};
use super::{Authed, Role};
use crate::AppState;

struct ProposalView {
    id: String,
    short: String,
    by: String,
    at: String,
    reason: String,
    entries: Vec<String>,
    own: bool,
}

#[derive(Template)]
#[template(path = "allow.html")]
struct AllowTpl {
    c: Chrome,
    explain: String,
    proposals: Vec<ProposalView>,
}

/// `GET /allow`: the proposals waiting for a supervisor.
pub(super) async fn page(State(state): State<Arc<AppState>>, a: Authed, Query(q): Query<MsgQuery>) -> Page {
    a.require(Role::Supervisor)?;
    let lang = a.lang;
    blocking(&state, lang, move |st| {
        let t = &st.triage;
        let pending = t.cases.pending_allow().map_err(|e| internal(lang, &e))?;
        let proposals = pending
            .into_iter()
            .map(|p| {
                let entries = t
                    .outbox
                    .get(&p.report_id)
                    .map(|row| {
                        row.report.matches.iter().map(|m| format!("{}/{}", m.list, m.entry_id)).collect()
                    })
                    .unwrap_or_default();
                ProposalView {
                    short: p.report_id.chars().take(12).collect(),
                    own: p.by == a.user.name,
                    id: p.report_id,
                    by: p.by,
                    at: rfc(p.at),
                    reason: p.reason,
                    entries,
                }
            })
            .collect();
        let c = chrome(t, &a, "/allow", flash(&q.msg));
        let explain = c.tr.args(
            "allow-explain",
            &[
                ("list", t.config.allow_list.clone().into()),
                ("distance", i64::from(t.config.allow_pdq_distance).into()),
            ],
        );
        Ok(render(&AllowTpl { c, explain, proposals }))
    })
    .await
}

/// `POST /allow/{id}/approve`: the case's hashes go on the allow-list.
pub(super) async fn approve(state: State<Arc<AppState>>, a: Authed, id: Path<String>) -> Page {
    decide(state, a, id, true).await
}

/// `POST /allow/{id}/reject`: nothing is allow-listed.
pub(super) async fn reject(state: State<Arc<AppState>>, a: Authed, id: Path<String>) -> Page {
    decide(state, a, id, false).await
}

async fn decide(
    State(state): State<Arc<AppState>>,
    a: Authed,
    Path(id): Path<String>,
    approve: bool,
) -> Page {
    a.require(Role::Supervisor)?;
    let lang = a.lang;
    if !valid_id(&id) {
        return Err(message_page(lang, "error-no-case", StatusCode::NOT_FOUND));
    }
    blocking(&state, lang, move |st| {
        let t = &st.triage;
        let list = t.config.allow_list.clone();
        let Some(p) =
            t.cases.decide_allow(&id, &a.user.name, approve, unix_now()).map_err(|e| internal(lang, &e))?
        else {
            return Ok(see_other("/allow?msg=allow-not-pending"));
        };
        if !approve {
            audit(
                st,
                &a,
                "list.allow.reject",
                &list,
                serde_json::json!({ "report": p.report_id, "proposed_by": p.by }),
            )?;
            return Ok(see_other("/allow?msg=allow-rejected"));
        }
        audit(
            st,
            &a,
            "list.allow.approve",
            &list,
            serde_json::json!({ "report": p.report_id, "proposed_by": p.by }),
        )?;
        let report = t.outbox.get(&p.report_id).map_err(|e| internal(lang, &e))?.report;
        match add_to_allow_list(st, &report) {
            Ok(version) => {
                audit(
                    st,
                    &a,
                    "list.allow.add",
                    &list,
                    serde_json::json!({ "report": p.report_id, "version": version }),
                )?;
                Ok(see_other("/allow?msg=allow-added"))
            }
            Err(e) => {
                tracing::warn!(error = %e, "adding to the allow-list failed; the approval is recorded");
                audit(
                    st,
                    &a,
                    "list.allow.failed",
                    &list,
                    serde_json::json!({ "report": p.report_id, "error": e }),
                )?;
                Ok(see_other("/allow?msg=allow-failed"))
            }
        }
    })
    .await
}

/// The allow entries for a dismissed report: its PDQ (suppressing within the configured
/// distance) and its MD5, each scoped to the list entries the report matched.
pub(super) fn allow_entries(r: &Report, pdq_distance: u32) -> Vec<Entry> {
    let scope: Vec<EntryRef> =
        r.matches.iter().map(|m| EntryRef { list: m.list.clone(), entry: m.entry_id.clone() }).collect();
    let mut entries = Vec::new();
    if let Some(pdq) = &r.file.pdq {
        let mut e = Entry::new(SignalType::Pdq, pdq.clone());
        e.distance = Some(pdq_distance);
        entries.push(e);
    }
    entries.push(Entry::new(SignalType::Md5, r.file.md5.clone()));
    for e in &mut entries {
        e.scope = scope.clone();
        e.tags.push(format!("report:{}", r.report_id));
    }
    entries
}

/// Writes the allow entries of `r` as a new version of the configured allow-list; returns the
/// version. A store that only takes signed lists refuses this: an admin then imports a signed
/// allow-list with `hashline lists import`.
fn add_to_allow_list(st: &AppState, r: &Report) -> Result<u64, String> {
    let t = &st.triage;
    let thresholds = Thresholds { pdq_distance: t.config.allow_pdq_distance, ..Thresholds::default() };
    let mut manifest = Manifest {
        name: t.config.allow_list.clone(),
        source: "triage".into(),
        version: 0,
        fetched_at: hashline_lists::now_rfc3339(),
        kind: ListKind::Allow,
        default_classification: None,
        thresholds,
        signed_by: None,
        signed_sequence: None,
        entries: 0,
        entries_sha256: String::new(),
    };
    let bytes = hashline_lists::render(&mut manifest, &allow_entries(r, t.config.allow_pdq_distance));
    let new_list = t.store.current_version(&t.config.allow_list).map_err(|e| e.to_string())?.is_none();
    let report = t
        .store
        .import(hashline_lists::ImportRequest {
            strict: true,
            source: Some("triage".into()),
            kind: Some(ListKind::Allow),
            thresholds: new_list.then_some(thresholds),
            ..hashline_lists::ImportRequest::new(
                t.config.allow_list.clone(),
                hashline_lists::formats::Format::Hashline,
                vec![(format!("false positive {}", r.report_id), bytes)],
            )
        })
        .map_err(|e| e.to_string())?;
    Ok(report.version)
}
