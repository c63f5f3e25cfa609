//! The statistics page for supervisors and administrators: a period form, and the report
//! itself (`hashline_stats`: the same figures as `hashline stats`), aggregate only.

use axum::http::HeaderValue;

use super::*;

#[derive(Template)]
#[template(path = "stats.html")]
pub(in crate::triage) struct StatsTpl {
    pub(in crate::triage) c: Chrome,
    pub(in crate::triage) from: String,
    pub(in crate::triage) to: String,
    pub(in crate::triage) km: bool,
    pub(in crate::triage) admin: bool,
}

/// The form: the last 30 days by default.
pub(in crate::triage) async fn stats_page(State(state): State<Arc<AppState>>, a: Authed) -> Page {
    a.require(Role::Supervisor)?;
    blocking(&state, a.lang, move |st| {
        let c = chrome(&st.triage, &a, "/stats", None);
        let today = hashline_report::unix_now().div_euclid(86_400);
        Ok(render(&StatsTpl {
            c,
            from: hashline_stats::date(today - 29),
            to: hashline_stats::date(today),
            km: a.lang == Lang::Km,
            admin: a.user.role.includes(Role::Admin),
        }))
    })
    .await
}

#[derive(Deserialize)]
pub(in crate::triage) struct StatsQuery {
    from: String,
    to: String,
    #[serde(default)]
    format: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    per_analyst: String,
}

/// The report: HTML (self-contained, printable), CSV or JSON. Per-analyst figures are for
/// administrators only; every report made is audited with its period.
pub(in crate::triage) async fn stats_report(
    State(state): State<Arc<AppState>>,
    a: Authed,
    q: Result<axum::extract::Query<StatsQuery>, axum::extract::rejection::QueryRejection>,
) -> Page {
    a.require(Role::Supervisor)?;
    let lang = a.lang;
    let Ok(axum::extract::Query(q)) = q else {
        return Err(message_page(lang, "stats-bad-period", StatusCode::BAD_REQUEST));
    };
    let per_analyst = !q.per_analyst.is_empty();
    if per_analyst {
        a.require(Role::Admin)?;
    }
    let Ok(period) = hashline_stats::Period::parse(&q.from, &q.to) else {
        return Err(message_page(lang, "stats-bad-period", StatusCode::BAD_REQUEST));
    };
    let format = match q.format.as_str() {
        "" | "html" => "html",
        "csv" => "csv",
        "json" => "json",
        _ => return Err(message_page(lang, "stats-bad-period", StatusCode::BAD_REQUEST)),
    };
    let report_lang = hashline_stats::Lang::parse(&q.lang).unwrap_or(match lang {
        Lang::Km => hashline_stats::Lang::Km,
        _ => hashline_stats::Lang::En,
    });
    blocking(&state, lang, move |st| {
        let detail =
            serde_json::json!({ "from": q.from, "to": q.to, "format": format, "per_analyst": per_analyst });
        audit(st, &a, "stats.view", "", detail)?;
        let source = hashline_stats::Source { outbox: &st.triage.outbox, audit_log: st.audit.path() };
        let stats = hashline_stats::collect(&[source], hashline_stats::Request { period, per_analyst })
            .map_err(|e| internal(lang, &e))?;
        let (body, content_type) = match format {
            "csv" => (hashline_stats::render::csv(&stats), "text/csv; charset=utf-8"),
            "json" => (hashline_stats::render::json(&stats), "application/json"),
            _ => (hashline_stats::render::html(&stats, report_lang), "text/html; charset=utf-8"),
        };
        let mut resp = (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response();
        let h = resp.headers_mut();
        // The report is one self-contained document: its own inline styles and SVG, no script
        // at all, nothing loaded from anywhere.
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; \
                 form-action 'none'",
            ),
        );
        if format != "html" {
            let name =
                format!("attachment; filename=\"hashline-stats-{}-{}.{format}\"", stats.from, stats.to);
            if let Ok(v) = HeaderValue::from_str(&name) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
        }
        Ok(resp)
    })
    .await
}
