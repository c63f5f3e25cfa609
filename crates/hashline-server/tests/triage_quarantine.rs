//! Floods in the triage pages: supervisors see a quarantined entry (uploads, first and last
//! match, reports held, sample cases), lift it (the held reports follow the policy again) or
//! disable it (an override in the list store); the queue grouped by list entry or uploader,
//! one row per group, and a supervisor's decision on a whole group — each case recorded and
//! audited on its own.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use axum::http::StatusCode;
use hashline_report::outbox::FloodRule;
use hashline_report::{build, DataDir, Detection, Enqueued, Policy, Reporter, State};
use hashline_server::triage::Role;
use hashline_server::{app, AppState, Settings};

mod common;

use common::pages::*;

/// A report of `upload` matching `entry` of list `known` by MD5 (delivered without review by
/// the default policy).
fn commit(data: &DataDir, upload: &str, entry: &str) -> State {
    commit_by(data, upload, entry, None)
}

fn commit_by(data: &DataDir, upload: &str, entry: &str, account: Option<&str>) -> State {
    let m = hashline_lists::Match {
        list: "known".into(),
        source: "test".into(),
        list_version: 1,
        entry_id: entry.into(),
        classification: None,
        signal: hashline_lists::SignalType::Md5,
        value: "cd".repeat(16),
        distance: 0,
        dihedral: None,
        border_trimmed: None,
        pytx_conversion: false,
        video: None,
    };
    let d = Detection {
        upload_id: upload.into(),
        platform: Some("example-photos".into()),
        uploader: account.map(|a| hashline_report::Uploader {
            account_id: Some(a.into()),
            screen_name: None,
            ip: None,
        }),
        matches: vec![m],
        ..Detection::default()
    };
    let reporter = Reporter { organisation: "o".into(), contact: "c".into(), country: "KH".into() };
    let (report, _) = build(&d, &reporter, &Policy::default()).unwrap();
    match data.outbox.enqueue(report, State::Pending).unwrap() {
        Enqueued::New(row) => row.state,
        Enqueued::Duplicate => panic!("duplicate"),
    }
}

#[tokio::test]
async fn supervisors_lift_or_disable_a_quarantined_entry_and_both_are_audited() {
    let dir = std::env::temp_dir().join(format!("hashline-triage-q-{}", hashline_report::random_id()));
    let data = DataDir::open(&dir.join("data"), &Default::default()).unwrap();
    data.outbox.set_flood_rule(FloodRule { min_uploads: 5, multiple: 2, ..FloodRule::default() });
    for i in 0..6 {
        commit(&data, &format!("meme-{i}"), "pdq:meme");
        commit(&data, &format!("logo-{i}"), "pdq:logo");
    }
    assert_eq!(commit(&data, "other", "pdq:rare"), State::Pending);
    let store = hashline_lists::Store::open(dir.join("store")).unwrap();
    let state = Arc::new(AppState::open(store.clone(), &data, Settings::default()).unwrap());
    for (name, role) in [("ana", Role::Analyst), ("sup", Role::Supervisor)] {
        state.triage.users.add(name, role, PASSWORD).unwrap();
    }
    let app = app(Arc::clone(&state));

    let (ana, _) = login(&app, "ana").await;
    assert_eq!(send(&app, "GET", "/quarantine", Some(&ana), None).await.status, StatusCode::FORBIDDEN);
    let (sup, csrf) = login(&app, "sup").await;
    let page = send(&app, "GET", "/quarantine", Some(&sup), None).await;
    assert_eq!(page.status, StatusCode::OK);
    for want in ["known/pdq:meme", "known/pdq:logo", "/quarantine/lift", "/cases/"] {
        assert!(page.body.contains(want), "{want} on the page: {}", page.body);
    }
    assert!(!page.body.contains("pdq:rare"), "a normal entry is not listed");
    assert!(!page.body.contains(&"cd".repeat(16)), "no hash value on the page");

    // Lift the meme: its six held reports follow the policy again (pending, exact MD5).
    let r = send(
        &app,
        "POST",
        "/quarantine/lift",
        Some(&sup),
        Some(format!("csrf={csrf}&list=known&entry=pdq%3Ameme")),
    )
    .await;
    assert_eq!(r.location(), "/quarantine?msg=quarantine-lifted");
    let rows = data.outbox.list(None, 100).unwrap();
    let of = |e: &str| {
        rows.iter().filter(|r| r.report.matches[0].entry_id == e).map(|r| r.state).collect::<Vec<_>>()
    };
    assert_eq!(of("pdq:meme"), vec![State::Pending; 6]);
    assert_eq!(of("pdq:logo"), vec![State::Review; 6]);

    // Disable the logo: an override in the store; its reports stay in review.
    let r = send(
        &app,
        "POST",
        "/quarantine/disable",
        Some(&sup),
        Some(format!("csrf={csrf}&list=known&entry=pdq%3Alogo")),
    )
    .await;
    assert_eq!(r.location(), "/quarantine?msg=quarantine-disabled");
    let disabled = store.disabled().unwrap();
    assert!(disabled.contains(&hashline_lists::EntryRef { list: "known".into(), entry: "pdq:logo".into() }));
    assert_eq!(data.outbox.list(Some(State::Review), 100).unwrap().len(), 6);
    // Hostile or repeated decisions change nothing.
    for form in ["list=known&entry=pdq%3Alogo", "list=known&entry=nothing", "list=&entry=", "entry=x"] {
        let r = send(&app, "POST", "/quarantine/lift", Some(&sup), Some(format!("csrf={csrf}&{form}"))).await;
        assert!(r.status.is_redirection() || r.status.is_client_error(), "{form}: {}", r.status);
        assert_ne!(r.location(), "/quarantine?msg=quarantine-lifted", "{form}");
    }
    assert_eq!(data.outbox.list(Some(State::Review), 100).unwrap().len(), 6);
    let audit = std::fs::read_to_string(dir.join("data/audit.log")).unwrap();
    assert!(audit.contains("entry.quarantine_lift") && audit.contains("entry.disable"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_queue_groups_by_entry_and_uploader_and_a_supervisor_dismisses_a_group_case_by_case() {
    let dir = std::env::temp_dir().join(format!("hashline-triage-g-{}", hashline_report::random_id()));
    let data = DataDir::open(&dir.join("data"), &Default::default()).unwrap();
    data.outbox.set_flood_rule(FloodRule { min_uploads: 5, multiple: 2, ..FloodRule::default() });
    // A flood of one entry (held in review) from two accounts, and two other cases.
    for i in 0..8 {
        commit_by(&data, &format!("meme-{i}"), "pdq:meme", Some(if i < 6 { "acct-7" } else { "acct-9" }));
    }
    let store = hashline_lists::Store::open(dir.join("store")).unwrap();
    let state = Arc::new(AppState::open(store, &data, Settings::default()).unwrap());
    for (name, role) in [("ana", Role::Analyst), ("sup", Role::Supervisor)] {
        state.triage.users.add(name, role, PASSWORD).unwrap();
    }
    let app = app(Arc::clone(&state));
    let (ana, ana_csrf) = login(&app, "ana").await;
    let by_entry = send(&app, "GET", "/queue?group=entry", Some(&ana), None).await;
    assert_eq!(by_entry.status, StatusCode::OK);
    assert_eq!(by_entry.body.matches("class=\"count\"").count(), 1, "a flood is one row");
    assert!(by_entry.body.contains("known/pdq:meme") && by_entry.body.contains(">8<"));
    let by_uploader = send(&app, "GET", "/queue?group=uploader", Some(&ana), None).await;
    assert!(by_uploader.body.contains("example-photos · acct-7") && by_uploader.body.contains(">6<"));
    assert!(by_uploader.body.contains("example-photos · acct-9") && by_uploader.body.contains(">2<"));
    // One group opened: its cases, and no group decision for an analyst.
    let open =
        send(&app, "GET", "/queue?group=uploader&key=example-photos%20%C2%B7%20acct-9", Some(&ana), None)
            .await;
    assert_eq!(open.body.matches("class=\"claim\"").count(), 2, "the group's two cases");
    assert!(!open.body.contains("group-dismiss"));
    let form = "group=uploader&key=example-photos+%C2%B7+acct-7&reason=a+meme";
    let r =
        send(&app, "POST", "/queue/group/dismiss", Some(&ana), Some(format!("csrf={ana_csrf}&{form}"))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // The analyst holds one case of acct-7; the supervisor dismisses the group: the other five.
    let held = data.outbox.list(Some(State::Review), 100).unwrap();
    let mine = held
        .iter()
        .find(|r| r.report.uploader.as_ref().and_then(|u| u.account_id.as_deref()) == Some("acct-7"))
        .unwrap();
    let id = mine.report.report_id.clone();
    let r =
        send(&app, "POST", &format!("/cases/{id}/claim"), Some(&ana), Some(format!("csrf={ana_csrf}"))).await;
    assert_eq!(r.location(), format!("/cases/{id}"));
    let (sup, csrf) = login(&app, "sup").await;
    let page =
        send(&app, "GET", "/queue?group=uploader&key=example-photos%20%C2%B7%20acct-7", Some(&sup), None)
            .await;
    assert!(page.body.contains("group-dismiss"));
    let r = send(&app, "POST", "/queue/group/dismiss", Some(&sup), Some(format!("csrf={csrf}&{form}"))).await;
    assert_eq!(r.location(), "/queue?group=uploader&msg=group-dismissed");
    let dismissed = data.outbox.list(Some(State::Dismissed), 100).unwrap();
    assert_eq!(dismissed.len(), 5);
    assert!(dismissed.iter().all(|r| r.report.report_id != id), "the analyst's case stays theirs");
    assert_eq!(data.outbox.list(Some(State::Review), 100).unwrap().len(), 3);
    let audit = std::fs::read_to_string(dir.join("data/audit.log")).unwrap();
    assert_eq!(audit.matches("\"case.dismiss\"").count(), 5, "each case on its own");
    assert_eq!(audit.matches("\"group.dismiss\"").count(), 1);
    // Hostile group forms change nothing.
    for bad in ["group=nothing&key=x", "group=entry&key=", "group=entry&key=known%2Fpdq%3Anone"] {
        let r =
            send(&app, "POST", "/queue/group/dismiss", Some(&sup), Some(format!("csrf={csrf}&{bad}"))).await;
        assert!(r.status.is_client_error() || r.status.is_redirection(), "{bad}");
    }
    assert_eq!(data.outbox.list(Some(State::Review), 100).unwrap().len(), 3);
    let _ = std::fs::remove_dir_all(&dir);
}
