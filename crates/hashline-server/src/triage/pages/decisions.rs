//! Decisions on a case: confirm (or not illegal), false positive, escalate, assign.

use super::*;

#[derive(Deserialize)]
pub(in crate::triage) struct ConfirmForm {
    pub(in crate::triage) legal: String,
    #[serde(default)]
    pub(in crate::triage) class: String,
}

pub(in crate::triage) async fn confirm(
    State(state): State<Arc<AppState>>,
    a: Authed,
    Path(id): Path<String>,
    Form(f): Form<ConfirmForm>,
) -> Page {
    a.require(Role::Analyst)?;
    let lang = a.lang;
    let legal = match f.legal.as_str() {
        "baseline" => LegalAssessment::Baseline,
        "national" => LegalAssessment::National,
        "not_illegal" => LegalAssessment::NotIllegal,
        _ => return Err(message_page(lang, "error-choose-legal", StatusCode::UNPROCESSABLE_ENTITY)),
    };
    let class = if f.class.is_empty() { None } else { IndustryClass::from_label(&f.class) };
    if (!f.class.is_empty() && class.is_none()) || (class.is_none() && legal != LegalAssessment::NotIllegal) {
        return Err(message_page(lang, "error-choose-class", StatusCode::UNPROCESSABLE_ENTITY));
    }
    on_held_case(&state, a, id, move |st, a, row| {
        let rid = row.report.report_id.clone();
        let mut assessment: Assessment = row.report.assessment.clone();
        assessment.legal = Some(legal);
        if let Some(c) = class {
            assessment.industry_classification = Some(c);
            assessment.iwf_category = Some(c.iwf_category());
            assessment.age_group = c.age_group();
        }
        // "Not illegal" is a dismissal: audited as one, and the outbox never delivers it.
        let (action, decision, msg) = if legal == LegalAssessment::NotIllegal {
            ("case.dismiss", "dismiss", "/queue?msg=dismissed")
        } else {
            ("case.confirm", "confirm", "/queue?msg=confirmed")
        };
        audit(
            st,
            a,
            action,
            &rid,
            serde_json::json!({ "legal": f.legal, "class": class.map(|c| c.as_str()) }),
        )?;
        st.triage.outbox.confirm(&rid, &a.user.name, Some(assessment)).map_err(|e| internal(lang, &e))?;
        leave_case(st, a, &rid, false)?;
        hashline_metrics::global().triage_decisions_total.with_label_values(&[decision]).inc();
        Ok(see_other(msg))
    })
    .await
}

#[derive(Deserialize)]
pub(in crate::triage) struct DismissForm {
    #[serde(default)]
    pub(in crate::triage) reason: String,
    #[serde(default)]
    pub(in crate::triage) allow: String,
}

/// Longest free text kept from a form (characters).
pub(in crate::triage) const MAX_NOTE: usize = 1000;

pub(in crate::triage) fn note(s: &str) -> String {
    s.trim().chars().filter(|c| !c.is_control() || *c == '\n').take(MAX_NOTE).collect()
}

pub(in crate::triage) async fn dismiss(
    State(state): State<Arc<AppState>>,
    a: Authed,
    Path(id): Path<String>,
    Form(f): Form<DismissForm>,
) -> Page {
    let lang = a.lang;
    on_held_case(&state, a, id, move |st, a, row| {
        let r = &row.report;
        let rid = r.report_id.clone();
        let reason = note(&f.reason);
        let allow = f.allow == "1";
        audit(st, a, "case.dismiss", &rid, serde_json::json!({ "reason": reason, "allow_list": allow }))?;
        st.triage
            .outbox
            .dismiss(&rid, &format!("false positive ({}): {reason}", a.user.name))
            .map_err(|e| internal(lang, &e))?;
        leave_case(st, a, &rid, false)?;
        hashline_metrics::global().triage_decisions_total.with_label_values(&["dismiss"]).inc();
        if !allow {
            return Ok(see_other("/queue?msg=dismissed"));
        }
        // Allow-listing waits for a supervisor's approval (the allow page).
        let proposed = st.triage.cases.propose_allow(&rid, &a.user.name, &reason, unix_now());
        if !proposed.map_err(|e| internal(lang, &e))? {
            return Ok(see_other("/queue?msg=dismissed"));
        }
        audit(
            st,
            a,
            "list.allow.propose",
            &st.triage.config.allow_list,
            serde_json::json!({ "report": rid }),
        )?;
        Ok(see_other("/queue?msg=allow-proposed"))
    })
    .await
}

#[derive(Deserialize)]
pub(in crate::triage) struct EscalateForm {
    #[serde(default)]
    pub(in crate::triage) note: String,
}

pub(in crate::triage) async fn escalate(
    State(state): State<Arc<AppState>>,
    a: Authed,
    Path(id): Path<String>,
    Form(f): Form<EscalateForm>,
) -> Page {
    let lang = a.lang;
    on_held_case(&state, a, id, move |st, a, row| {
        let rid = row.report.report_id;
        let text = note(&f.note);
        audit(st, a, "case.escalate", &rid, serde_json::json!({ "note": text }))?;
        st.triage.cases.escalate(&rid, &a.user.name, &text, unix_now()).map_err(|e| internal(lang, &e))?;
        leave_case(st, a, &rid, false)?;
        hashline_metrics::global().triage_decisions_total.with_label_values(&["escalate"]).inc();
        Ok(see_other("/queue?msg=escalated"))
    })
    .await
}

#[derive(Deserialize)]
pub(in crate::triage) struct AssignForm {
    pub(in crate::triage) to: String,
}

pub(in crate::triage) async fn assign(
    State(state): State<Arc<AppState>>,
    a: Authed,
    Path(id): Path<String>,
    Form(f): Form<AssignForm>,
) -> Page {
    a.require(Role::Supervisor)?;
    let lang = a.lang;
    blocking(&state, lang, move |st| {
        let row = review_row(st, &a, &id)?;
        let rid = row.report.report_id;
        let t = &st.triage;
        let escalated = t.cases.escalation(&rid).map_err(|e| internal(lang, &e))?.is_some();
        let needed = if escalated { Role::Supervisor } else { Role::Analyst };
        if t.users.active(&f.to).is_none_or(|u| !u.role.includes(needed)) {
            return Err(message_page(lang, "error-no-analyst", StatusCode::UNPROCESSABLE_ENTITY));
        }
        t.cases.claim(&rid, &f.to, unix_now(), ttl(t), true).map_err(|e| internal(lang, &e))?;
        audit(st, &a, "case.assign", &rid, serde_json::json!({ "to": f.to }))?;
        Ok(see_other("/queue?msg=assigned"))
    })
    .await
}
