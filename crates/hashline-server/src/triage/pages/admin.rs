//! Supervisor and admin pages: the audit log, accounts, lists, operations.

use super::*;

pub(in crate::triage) struct AuditView {
    pub(in crate::triage) seq: u64,
    pub(in crate::triage) at: String,
    pub(in crate::triage) actor: String,
    pub(in crate::triage) action: String,
    pub(in crate::triage) target: String,
    pub(in crate::triage) detail: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
pub(in crate::triage) struct AuditTpl {
    pub(in crate::triage) c: Chrome,
    pub(in crate::triage) verified: bool,
    pub(in crate::triage) verify_text: String,
    pub(in crate::triage) records: Vec<AuditView>,
}

/// Records shown on the audit page.
pub(in crate::triage) const AUDIT_SHOWN: usize = 300;

pub(in crate::triage) async fn audit_page(State(state): State<Arc<AppState>>, a: Authed) -> Page {
    a.require(Role::Supervisor)?;
    let lang = a.lang;
    blocking(&state, lang, move |st| {
        // A log that no longer verifies cannot be extended; the page still shows it, with the
        // verification failure on top, because that is what a supervisor must see.
        if let Err(e) = audit(st, &a, "audit.read", "", serde_json::json!({})) {
            if hashline_report::audit::verify(st.audit.path()).is_ok() {
                return Err(e);
            }
        }
        let c = chrome(&st.triage, &a, "/audit", None);
        let path = st.audit.path().to_path_buf();
        let (verified, verify_text) = match hashline_report::audit::verify(&path) {
            Ok((n, _)) => (true, c.tr.n("audit-verified", n as i64)),
            Err(e) => (false, format!("{} {e}", c.t("audit-tampered"))),
        };
        let records = hashline_report::audit::tail(&path, AUDIT_SHOWN)
            .map_err(|e| internal(lang, &e))?
            .into_iter()
            .rev()
            .map(|r| AuditView {
                seq: r.seq,
                at: r.at,
                actor: r.actor,
                action: r.action,
                target: r.target,
                detail: if r.detail.is_empty() {
                    String::new()
                } else {
                    serde_json::Value::Object(r.detail).to_string()
                },
            })
            .collect();
        Ok(render(&AuditTpl { c, verified, verify_text, records }))
    })
    .await
}

pub(in crate::triage) struct UserView {
    pub(in crate::triage) name: String,
    pub(in crate::triage) role: &'static str,
    pub(in crate::triage) created: String,
    pub(in crate::triage) disabled: bool,
    pub(in crate::triage) me: bool,
}

#[derive(Template)]
#[template(path = "users.html")]
pub(in crate::triage) struct UsersTpl {
    pub(in crate::triage) c: Chrome,
    pub(in crate::triage) users: Vec<UserView>,
    pub(in crate::triage) roles: Vec<&'static str>,
    pub(in crate::triage) error: String,
}

#[derive(Deserialize, Default)]
pub(in crate::triage) struct MsgQuery {
    pub(in crate::triage) msg: Option<String>,
}

pub(in crate::triage) fn users_view(
    st: &AppState,
    a: &Authed,
    flash_id: Option<&str>,
    error: String,
) -> Result<Response, Response> {
    let c = chrome(&st.triage, a, "/admin/users", flash_id);
    let users = st
        .triage
        .users
        .list()
        .map_err(|e| internal(a.lang, &e))?
        .into_iter()
        .map(|u| UserView {
            me: u.name == a.user.name,
            role: u.role.as_str(),
            created: u.created_at,
            disabled: u.disabled_at.is_some(),
            name: u.name,
        })
        .collect();
    let status = if error.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok((status, render(&UsersTpl { c, users, roles: Role::ALL.iter().map(|r| r.as_str()).collect(), error }))
        .into_response())
}

pub(in crate::triage) async fn users_page(
    State(state): State<Arc<AppState>>,
    a: Authed,
    Query(q): Query<MsgQuery>,
) -> Page {
    a.require(Role::Admin)?;
    blocking(&state, a.lang, move |st| {
        audit(st, &a, "users.view", "", serde_json::json!({}))?;
        users_view(st, &a, flash(&q.msg), String::new())
    })
    .await
}

/// An account error in the page's language (the details of an I/O failure go to the log).
pub(in crate::triage) fn user_error(lang: Lang, e: &crate::triage::users::UserError) -> String {
    use crate::triage::users::UserError as E;
    let tr = Tr { lang };
    match e {
        E::BadName(_) => tr.t("error-user-name"),
        E::Exists(_) => tr.t("error-user-exists"),
        E::NotFound(_) => tr.t("error-user-missing"),
        E::WeakPassword { min } => tr.n("error-user-weak", *min as i64),
        E::BadRole(_) => tr.t("error-user-role"),
        E::Io(_) | E::Hash(_) => {
            tracing::error!(error = %e, "account change failed");
            tr.t("error-internal")
        }
    }
}

#[derive(Deserialize)]
pub(in crate::triage) struct AddUserForm {
    pub(in crate::triage) name: String,
    pub(in crate::triage) role: String,
    pub(in crate::triage) password: String,
    password2: String,
}

pub(in crate::triage) async fn add_user(
    State(state): State<Arc<AppState>>,
    a: Authed,
    Form(f): Form<AddUserForm>,
) -> Page {
    a.require(Role::Admin)?;
    blocking(&state, a.lang, move |st| {
        let tr = Tr { lang: a.lang };
        if f.password != f.password2 {
            return users_view(st, &a, None, tr.t("error-passwords-differ"));
        }
        let role = match crate::triage::users::Role::parse(&f.role) {
            Ok(r) => r,
            Err(e) => return users_view(st, &a, None, user_error(a.lang, &e)),
        };
        match st.triage.users.add(f.name.trim(), role, &f.password) {
            Ok(u) => {
                audit(st, &a, "user.add", &u.name, serde_json::json!({ "role": role.as_str() }))?;
                Ok(see_other("/admin/users?msg=user-added"))
            }
            Err(e) => users_view(st, &a, None, user_error(a.lang, &e)),
        }
    })
    .await
}

#[derive(Deserialize)]
pub(in crate::triage) struct ChangeUserForm {
    pub(in crate::triage) action: String,
    #[serde(default)]
    pub(in crate::triage) role: String,
}

pub(in crate::triage) async fn change_user(
    State(state): State<Arc<AppState>>,
    a: Authed,
    Path(name): Path<String>,
    Form(f): Form<ChangeUserForm>,
) -> Page {
    a.require(Role::Admin)?;
    blocking(&state, a.lang, move |st| {
        let t = &st.triage;
        if name == a.user.name {
            // An admin cannot lock themselves out; another admin does it.
            return users_view(st, &a, None, Tr { lang: a.lang }.t("error-not-yourself"));
        }
        let result = match f.action.as_str() {
            "disable" => t.users.set_disabled(&name, true).map(|_| serde_json::json!({})),
            "enable" => t.users.set_disabled(&name, false).map(|_| serde_json::json!({})),
            "role" => Role::parse(&f.role)
                .and_then(|r| t.users.set_role(&name, r))
                .map(|u| serde_json::json!({ "role": u.role.as_str() })),
            _ => return Err(message_page(a.lang, "error-bad-form", StatusCode::UNPROCESSABLE_ENTITY)),
        };
        match result {
            Ok(detail) => {
                t.sessions.end_user(&name);
                audit(st, &a, &format!("user.{}", f.action), &name, detail)?;
                Ok(see_other("/admin/users?msg=user-changed"))
            }
            Err(e) => users_view(st, &a, None, user_error(a.lang, &e)),
        }
    })
    .await
}

pub(in crate::triage) struct ListView {
    pub(in crate::triage) name: String,
    pub(in crate::triage) kind: String,
    pub(in crate::triage) source: String,
    pub(in crate::triage) version: u64,
    pub(in crate::triage) entries: String,
    pub(in crate::triage) fetched: String,
    pub(in crate::triage) signed: String,
}

#[derive(Template)]
#[template(path = "lists.html")]
pub(in crate::triage) struct ListsTpl {
    pub(in crate::triage) c: Chrome,
    pub(in crate::triage) lists: Vec<ListView>,
}

pub(in crate::triage) async fn lists_page(State(state): State<Arc<AppState>>, a: Authed) -> Page {
    a.require(Role::Admin)?;
    blocking(&state, a.lang, move |st| {
        audit(st, &a, "lists.view", "", serde_json::json!({}))?;
        let c = chrome(&st.triage, &a, "/admin/lists", None);
        let set = st.lists.snapshot();
        let lists = set
            .summaries()
            .into_iter()
            .map(|(m, counts)| ListView {
                name: m.name.clone(),
                kind: c.t(if m.kind == hashline_lists::ListKind::Allow {
                    "list-kind-allow"
                } else {
                    "list-kind-known"
                }),
                source: m.source.clone(),
                version: m.version,
                entries: counts.iter().map(|(s, n)| format!("{s} {n}")).collect::<Vec<_>>().join(", "),
                fetched: m.fetched_at.clone(),
                signed: m.signed_by.clone().unwrap_or_default(),
            })
            .collect();
        Ok(render(&ListsTpl { c, lists }))
    })
    .await
}

#[derive(Template)]
#[template(path = "ops.html")]
pub(in crate::triage) struct OpsTpl {
    pub(in crate::triage) c: Chrome,
    pub(in crate::triage) counts: Vec<Field>,
    pub(in crate::triage) lists_loaded: usize,
    pub(in crate::triage) sessions: usize,
}

pub(in crate::triage) async fn ops_page(State(state): State<Arc<AppState>>, a: Authed) -> Page {
    a.require(Role::Operator)?;
    blocking(&state, a.lang, move |st| {
        let t = &st.triage;
        let c = chrome(t, &a, "/ops", None);
        let s = t.outbox.stats().map_err(|e| internal(a.lang, &e))?;
        let tr = c.tr;
        let counts = [
            ("state-review", s.review),
            ("state-pending", s.pending),
            ("state-parked", s.parked),
            ("state-delivered", s.delivered),
            ("state-dismissed", s.dismissed),
            ("state-relayed", s.relayed),
        ]
        .into_iter()
        .map(|(id, n)| Field { label: tr.t(id), value: n.to_string(), mono: false })
        .collect();
        Ok(render(&OpsTpl {
            counts,
            lists_loaded: st.lists.snapshot().versions().len(),
            sessions: t.sessions.active(),
            c,
        }))
    })
    .await
}
