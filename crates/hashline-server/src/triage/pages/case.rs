//! The case page, its media (blurred preview, reveal) and release.

use super::*;

pub(in crate::triage) async fn claim(
    State(state): State<Arc<AppState>>,
    a: Authed,
    Path(id): Path<String>,
) -> Page {
    a.require(Role::Analyst)?;
    let lang = a.lang;
    blocking(&state, lang, move |st| {
        let row = review_row(st, &a, &id)?;
        let rid = row.report.report_id;
        let t = &st.triage;
        if !t.cases.claim(&rid, &a.user.name, unix_now(), ttl(t), false).map_err(|e| internal(lang, &e))? {
            return Ok(see_other("/queue?msg=claimed-elsewhere"));
        }
        audit(st, &a, "case.claim", &rid, serde_json::json!({}))?;
        Ok(see_other(&format!("/cases/{rid}")))
    })
    .await
}

/// The report `id`, which must be waiting for review, and, when it was escalated, `a` must be
/// a supervisor: every path that claims, reads or decides a case comes through here.
pub(in crate::triage) fn review_row(st: &AppState, a: &Authed, id: &str) -> Result<Row, Response> {
    let lang = a.lang;
    if !valid_id(id) {
        return Err(message_page(lang, "error-no-case", StatusCode::NOT_FOUND));
    }
    match st.triage.outbox.get(id) {
        Ok(row) if row.state == RState::Review => {
            let escalated =
                st.triage.cases.escalation(&row.report.report_id).map_err(|e| internal(lang, &e))?.is_some();
            if escalated && !a.user.role.includes(Role::Supervisor) {
                return Err(forbidden(lang));
            }
            Ok(row)
        }
        Ok(_) => Err(see_other("/queue?msg=not-in-review")),
        Err(hashline_report::OutboxError::NotFound(_)) => {
            Err(message_page(lang, "error-no-case", StatusCode::NOT_FOUND))
        }
        Err(e) => Err(internal(lang, &e)),
    }
}

/// Runs `f` off the async threads on case `id`, which must be in review and held by `a` (an
/// analyst or above); the claim is renewed.
pub(in crate::triage) async fn on_held_case<T: Send + 'static>(
    state: &Arc<AppState>,
    a: Authed,
    id: String,
    f: impl FnOnce(&AppState, &Authed, Row) -> Result<T, Response> + Send + 'static,
) -> Result<T, Response> {
    a.require(Role::Analyst)?;
    blocking(state, a.lang, move |st| {
        let row = held_row(st, &a, &id)?;
        f(st, &a, row)
    })
    .await
}

/// The report `id` in review and claimed by `a` (the claim is renewed).
pub(in crate::triage) fn held_row(st: &AppState, a: &Authed, id: &str) -> Result<Row, Response> {
    let row = review_row(st, a, id)?;
    let t = &st.triage;
    let rid = &row.report.report_id;
    let held = t.cases.claim_of(rid, unix_now()).map_err(|e| internal(a.lang, &e))?;
    if held.is_none_or(|c| c.analyst != a.user.name) {
        return Err(see_other("/queue?msg=claimed-elsewhere"));
    }
    t.cases.claim(rid, &a.user.name, unix_now(), ttl(t), false).map_err(|e| internal(a.lang, &e))?;
    Ok(row)
}

pub(in crate::triage) struct Field {
    pub(in crate::triage) label: String,
    pub(in crate::triage) value: String,
    pub(in crate::triage) mono: bool,
}

pub(in crate::triage) struct MatchView {
    pub(in crate::triage) list: String,
    pub(in crate::triage) version: String,
    pub(in crate::triage) entry: String,
    pub(in crate::triage) signal: String,
    pub(in crate::triage) class: String,
    pub(in crate::triage) distance: String,
    pub(in crate::triage) dihedral: String,
    pub(in crate::triage) value: String,
}

pub(in crate::triage) struct RelatedView {
    pub(in crate::triage) when: String,
    pub(in crate::triage) why: String,
    pub(in crate::triage) state: String,
    pub(in crate::triage) lists: String,
}

#[derive(Template)]
#[template(path = "case.html")]
pub(in crate::triage) struct CaseTpl {
    pub(in crate::triage) c: Chrome,
    pub(in crate::triage) id: String,
    pub(in crate::triage) short: String,
    pub(in crate::triage) claim_until: String,
    pub(in crate::triage) has_media: bool,
    /// Why there is no media to show (empty when there is).
    pub(in crate::triage) no_media: String,
    pub(in crate::triage) revealed: bool,
    pub(in crate::triage) capped: bool,
    pub(in crate::triage) reveal_note: String,
    pub(in crate::triage) escalation: String,
    pub(in crate::triage) matches: Vec<MatchView>,
    pub(in crate::triage) upload: Vec<Field>,
    pub(in crate::triage) file: Vec<Field>,
    pub(in crate::triage) related: Vec<RelatedView>,
    pub(in crate::triage) supervisor: bool,
    pub(in crate::triage) analysts: Vec<String>,
    pub(in crate::triage) classes: Vec<&'static str>,
    /// For a video: its matched frames, shown as stills (blurred until revealed).
    pub(in crate::triage) stills: Vec<StillView>,
}

/// One matched frame of a video case.
pub(in crate::triage) struct StillView {
    /// Its time in seconds, as the media route takes it (`?t=`).
    pub(in crate::triage) t: String,
    /// Its caption.
    pub(in crate::triage) label: String,
}

/// At most this many matched frames are shown as stills.
const MAX_STILLS: usize = 8;

/// The matched frames of a video case, in time order, each time once.
fn stills(tr: &Tr, r: &hashline_report::Report) -> Vec<StillView> {
    let mut times: Vec<f64> = r
        .matches
        .iter()
        .filter_map(|m| m.video.as_ref())
        .flat_map(|v| v.frames.iter().map(|f| f.timestamp))
        .collect();
    times.sort_by(f64::total_cmp);
    times.dedup();
    times
        .into_iter()
        .take(MAX_STILLS)
        .map(|t| StillView {
            t: format!("{t:.3}"),
            label: tr.args("case-frame-at", &[("t", format!("{t:.1}").into())]),
        })
        .collect()
}

pub(in crate::triage) fn rfc(t: i64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(t.max(0) as u64))
        .to_string()
}

pub(in crate::triage) fn field(tr: &Tr, id: &str, value: impl Into<String>, mono: bool) -> Option<Field> {
    let value = value.into();
    (!value.is_empty()).then(|| Field { label: tr.t(id), value, mono })
}

/// Is `a` within the viewing time of a reveal of `report` they have not left yet?
pub(in crate::triage) fn is_revealed(t: &Triage, a: &Authed, report: &str) -> Result<bool, Response> {
    let last = t.cases.open_reveal(&a.user.name, report).map_err(|e| internal(a.lang, &e))?;
    Ok(last.is_some_and(|at| unix_now() - at < window(t)))
}

pub(in crate::triage) async fn case_page(
    State(state): State<Arc<AppState>>,
    a: Authed,
    Path(id): Path<String>,
) -> Page {
    let lang = a.lang;
    on_held_case(&state, a, id, move |st, a, row| {
        let t = &st.triage;
        let r = &row.report;
        let rid = r.report_id.clone();
        audit(st, a, "case.view", &rid, serde_json::json!({}))?;
        let c = chrome(t, a, "/queue", None);
        let tr = c.tr;
        let claim = t.cases.claim_of(&rid, unix_now()).map_err(|e| internal(lang, &e))?;
        let revealed = is_revealed(t, a, &rid)?;
        let has_media = r.evidence.is_some() && t.evidence.is_some();
        let no_media = match (&r.evidence, &t.evidence) {
            (None, _) => tr.t("case-no-media"),
            (Some(_), None) if a.user.role.includes(Role::Admin) => tr.t("case-media-no-key-admin"),
            (Some(_), None) => tr.t("case-media-no-key"),
            (Some(_), Some(_)) => String::new(),
        };
        let (used, cap) = (c.used, t.config.exposure_cap_per_day);
        let escalation = t
            .cases
            .escalation(&rid)
            .map_err(|e| internal(lang, &e))?
            .map(|e| tr.args("case-escalated-by", &[("name", e.by.into()), ("note", e.note.into())]))
            .unwrap_or_default();
        let matches = r
            .matches
            .iter()
            .map(|m| MatchView {
                list: m.list.clone(),
                version: m.list_version.to_string(),
                entry: m.entry_id.clone(),
                signal: m.signal.clone(),
                class: m.classification.clone().unwrap_or_default(),
                distance: m.distance.to_string(),
                dihedral: m.dihedral.clone().unwrap_or_default(),
                value: m.value.clone(),
            })
            .collect();
        let i = &r.incident;
        let up = r.uploader.clone().unwrap_or_default();
        let upload = [
            field(&tr, "field-upload-id", i.upload_id.clone(), true),
            field(&tr, "field-platform", i.platform.clone().unwrap_or_default(), false),
            field(&tr, "field-uploaded-at", i.uploaded_at.clone().unwrap_or_default(), false),
            field(&tr, "field-detected-at", i.detected_at.clone(), false),
            field(&tr, "field-source-url", i.source_url.clone().unwrap_or_default(), true),
            field(&tr, "field-account", up.account_id.clone().unwrap_or_default(), true),
            field(&tr, "field-screen-name", up.screen_name.clone().unwrap_or_default(), false),
            field(
                &tr,
                "field-ip",
                up.ip.as_ref().map(|ip| format!("{} ({})", ip.address, ip.event)).unwrap_or_default(),
                true,
            ),
        ]
        .into_iter()
        .flatten()
        .collect();
        let f = &r.file;
        let file = [
            field(&tr, "field-file-name", f.name.clone().unwrap_or_default(), false),
            field(
                &tr,
                "field-file-location",
                f.location.as_ref().map(|l| format!("{} — {}", l.path, l.root)).unwrap_or_default(),
                false,
            ),
            field(&tr, "field-size", f.size.to_string(), false),
            field(&tr, "field-type", f.content_type.clone().unwrap_or_default(), false),
            field(
                &tr,
                "field-dimensions",
                f.width.zip(f.height).map(|(w, h)| format!("{w} × {h}")).unwrap_or_default(),
                false,
            ),
            field(&tr, "field-md5", f.md5.clone(), true),
            field(&tr, "field-sha1", f.sha1.clone(), true),
            field(&tr, "field-sha256", f.sha256.clone(), true),
            field(&tr, "field-pdq", f.pdq.clone().unwrap_or_default(), true),
            field(&tr, "field-pdq-quality", f.pdq_quality.map(|q| q.to_string()).unwrap_or_default(), false),
        ]
        .into_iter()
        .flatten()
        .collect();
        let related = t
            .outbox
            .related(r, 20)
            .map_err(|e| internal(lang, &e))?
            .into_iter()
            .map(|(row, why)| RelatedView {
                when: rfc(row.created_at),
                why: why
                    .iter()
                    .map(|w| {
                        tr.t(match w {
                            Relation::SameUploader => "related-same-uploader",
                            Relation::SameFile => "related-same-file",
                            Relation::SameEntry => "related-same-entry",
                        })
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                state: tr.t(&format!("state-{}", row.state.as_str())),
                lists: lists_of(&row.report).join(", "),
            })
            .collect();
        let supervisor = a.user.role.includes(Role::Supervisor);
        let analysts = if supervisor {
            t.users
                .list()
                .map_err(|e| internal(lang, &e))?
                .into_iter()
                .filter(|u| u.role.triages() && u.disabled_at.is_none())
                .map(|u| u.name)
                .collect()
        } else {
            Vec::new()
        };
        let reveal_note =
            tr.args("reveal-note", &[("n", i64::from(used).into()), ("cap", i64::from(cap).into())]);
        Ok(render(&CaseTpl {
            short: rid.chars().take(8).collect(),
            id: rid,
            claim_until: claim.map(|cl| rfc(cl.expires_at)).unwrap_or_default(),
            has_media,
            no_media,
            revealed,
            capped: used >= cap,
            reveal_note,
            escalation,
            matches,
            upload,
            file,
            related,
            supervisor,
            analysts,
            classes: vec!["A1", "A2", "B1", "B2"],
            stills: stills(&tr, r),
            c,
        }))
    })
    .await
}

pub(in crate::triage) async fn release(
    State(state): State<Arc<AppState>>,
    a: Authed,
    Path(id): Path<String>,
) -> Page {
    on_held_case(&state, a, id, move |st, a, row| {
        let rid = row.report.report_id;
        leave_case(st, a, &rid, true)?;
        audit(st, a, "case.release", &rid, serde_json::json!({}))?;
        Ok(see_other("/queue?msg=released"))
    })
    .await
}

pub(in crate::triage) async fn reveal(
    State(state): State<Arc<AppState>>,
    a: Authed,
    Path(id): Path<String>,
) -> Page {
    on_held_case(&state, a, id, move |st, a, row| {
        let rid = row.report.report_id;
        let t = &st.triage;
        let now = unix_now();
        let day = day_of(now, t.config.day_offset_minutes);
        let cap = t.config.exposure_cap_per_day;
        let m = hashline_metrics::global();
        let granted =
            t.cases.reveal_within_cap(&a.user.name, &rid, now, day, cap).map_err(|e| internal(a.lang, &e))?;
        let used =
            t.cases.exposure(&a.user.name, day, now, window(t)).map_err(|e| internal(a.lang, &e))?.reveals;
        let Some(reveal) = granted else {
            m.triage_exposure_cap_reached_total.inc();
            audit(
                st,
                a,
                "case.reveal.refused",
                &rid,
                serde_json::json!({ "reason": "daily exposure cap", "today": used }),
            )?;
            return Ok(see_other(&format!("/cases/{rid}")));
        };
        // Audited before the picture can be fetched; without the record, no reveal.
        if let Err(resp) = audit(st, a, "case.reveal", &rid, serde_json::json!({ "today": used })) {
            t.cases.unreveal(reveal).map_err(|e| internal(a.lang, &e))?;
            return Err(resp);
        }
        m.triage_reveals_total.inc();
        Ok(see_other(&format!("/cases/{rid}#media")))
    })
    .await
}

/// `?t=SECONDS`: for a video, the frame at that time (default: its first matched frame).
#[derive(serde::Deserialize)]
pub(in crate::triage) struct FrameQuery {
    t: Option<String>,
}

pub(in crate::triage) async fn media(
    State(state): State<Arc<AppState>>,
    a: Authed,
    Path((id, kind)): Path<(String, String)>,
    axum::extract::Query(q): axum::extract::Query<FrameQuery>,
) -> Page {
    a.require(Role::Analyst)?;
    let lang = a.lang;
    let (colour, clear) = match kind.as_str() {
        "preview.png" => (false, false),
        "clear.png" => (false, true),
        "colour.png" => (true, true),
        _ => return Err(message_page(lang, "error-no-case", StatusCode::NOT_FOUND)),
    };
    let asked = match q.t.as_deref().map(str::parse::<f64>) {
        None => None,
        Some(Ok(t)) if t.is_finite() && t >= 0.0 => Some(t),
        Some(_) => return Err(message_page(lang, "case-media-undecodable", StatusCode::BAD_REQUEST)),
    };
    let (bytes, first) = on_held_case(&state, a, id, move |st, a, row| {
        let t = &st.triage;
        let rid = row.report.report_id;
        if clear && !is_revealed(t, a, &rid)? {
            return Err(forbidden(lang));
        }
        let first = row
            .report
            .matches
            .iter()
            .filter_map(|m| m.video.as_ref())
            .flat_map(|v| v.frames.iter().map(|f| f.timestamp))
            .min_by(f64::total_cmp);
        let (Some(ev), Some(store)) = (row.report.evidence.as_ref(), t.evidence.as_ref()) else {
            return Err(message_page(lang, "case-no-media", StatusCode::NOT_FOUND));
        };
        let purpose = if clear { "triage" } else { "triage-preview" };
        store
            .read(&ev.id, &hashline_report::Actor::User(a.user.name.clone()), purpose)
            .map(|bytes| (bytes, first))
            .map_err(|e| internal(lang, &e))
    })
    .await?;
    let opts = state.hash;
    let video = state.video.clone();
    let png = state
        .cpu(move || {
            // A video: one still, decoded out of process like every video.
            let d = if hashline_hash::is_video(&bytes) {
                let at = asked.or(first).unwrap_or(0.0);
                let (width, height, rgb) = hashline_video::frame_at(&bytes, at, &video).ok()?;
                hashline_hash::Decoded { width, height, pixels: hashline_hash::Pixels::Rgb(rgb), pytx: None }
            } else {
                hashline_hash::Hasher::new(opts).decode(&bytes).ok()?
            };
            if clear {
                crate::triage::media::revealed(&d, colour)
            } else {
                crate::triage::media::preview(&d)
            }
        })
        .await
        .map_err(|_| internal(lang, &"the CPU pool failed decoding evidence"))?;
    match png {
        Some(png) => {
            Ok(([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "no-store")], png)
                .into_response())
        }
        None => Err(message_page(lang, "case-media-undecodable", StatusCode::UNPROCESSABLE_ENTITY)),
    }
}
