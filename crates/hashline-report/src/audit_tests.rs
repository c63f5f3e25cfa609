//! Tests of audit.rs.
use super::*;

fn tmp() -> PathBuf {
    let d = std::env::temp_dir().join(format!("hashline-audit-{}", crate::model::random_id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn a_missing_garbled_or_older_head_is_tampering() {
    let d = tmp();
    let log = AuditLog::open_with_key(&d, None).unwrap();
    for i in 0..4 {
        log.append(&Actor::User("a".into()), "report.view", &format!("r{i}"), Default::default()).unwrap();
    }
    drop(log);
    let (path, head) = (d.join("audit.log"), d.join("audit.head"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&head).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let good_head = std::fs::read_to_string(&head).unwrap();
    let cut: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
    // The tail cut and the head removed.
    std::fs::write(&path, &cut).unwrap();
    std::fs::remove_file(&head).unwrap();
    assert!(matches!(verify_with_key(&path, None), Err(AuditError::Tampered { .. })));
    assert!(AuditLog::open_with_key(&d, None).is_err(), "a log without its head is not extended");
    // ... or garbage in it.
    std::fs::write(&head, "garbage\n").unwrap();
    assert!(matches!(verify_with_key(&path, None), Err(AuditError::Tampered { .. })));
    // ... or an older head put back with the cut log is caught once the log grows past it:
    // here the head of record 2 beside a log of 4 records.
    std::fs::write(&path, &text).unwrap();
    let first_two: Vec<Record> = cut.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    std::fs::write(&head, format!("2 {}\n", first_two[1].hash)).unwrap();
    assert!(matches!(verify_with_key(&path, None), Err(AuditError::Tampered { .. })));
    // A head one record behind is what a crash between the two writes leaves: accepted.
    let four: Vec<Record> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    std::fs::write(&head, format!("3 {}\n", four[2].hash)).unwrap();
    assert_eq!(verify_with_key(&path, None).unwrap().0, 4);
    std::fs::write(&head, good_head).unwrap();
    assert_eq!(verify_with_key(&path, None).unwrap().0, 4);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn keyed_mode_catches_a_full_rewrite() {
    let d = tmp();
    let key = [7u8; 32];
    let path = d.join("audit.log");
    // Records written before the key was configured stay valid; the first keyed open
    // marks the log.
    AuditLog::open_with_key(&d, None)
        .unwrap()
        .append(&Actor::User("a".into()), "login", "", Default::default())
        .unwrap();
    assert!(verify_with_key(&path, Some(&key)).is_err(), "not yet keyed");
    let log = AuditLog::open_with_key(&d, Some(key)).unwrap();
    log.append(&Actor::User("a".into()), "report.view", "r1", Default::default()).unwrap();
    drop(log);
    assert_eq!(verify_with_key(&path, Some(&key)).unwrap().0, 3);
    assert!(verify_with_key(&path, Some(&[8u8; 32])).is_err(), "another key");
    // Someone who can write the folder but not read the key rewrites the whole log,
    // with a valid chain and head, and no MACs.
    std::fs::remove_file(&path).unwrap();
    std::fs::remove_file(d.join("audit.head")).unwrap();
    let forged = AuditLog::open_with_key(&d, None).unwrap();
    for _ in 0..3 {
        forged.append(&Actor::User("a".into()), "login", "", Default::default()).unwrap();
    }
    drop(forged);
    assert!(verify_with_key(&path, None).is_ok(), "the chain alone cannot tell");
    assert!(matches!(verify_with_key(&path, Some(&key)), Err(AuditError::Tampered { .. })));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn chain_detects_edit_delete_and_truncation() {
    let d = tmp();
    let log = AuditLog::open_with_key(&d, None).unwrap();
    for i in 0..5 {
        log.append(&Actor::User("a".into()), "report.view", &format!("r{i}"), Default::default()).unwrap();
    }
    drop(log);
    assert_eq!(verify(&d.join("audit.log")).unwrap().0, 5);
    let text = std::fs::read_to_string(d.join("audit.log")).unwrap();
    let lines: Vec<&str> = text.lines().collect();

    // An edit.
    std::fs::write(d.join("audit.log"), text.replace("\"r2\"", "\"r9\"")).unwrap();
    assert!(matches!(verify(&d.join("audit.log")), Err(AuditError::Tampered { seq: 3, .. })));
    // A deletion in the middle.
    let cut: Vec<&str> = lines.iter().enumerate().filter(|(i, _)| *i != 1).map(|(_, l)| *l).collect();
    std::fs::write(d.join("audit.log"), cut.join("\n") + "\n").unwrap();
    assert!(verify(&d.join("audit.log")).is_err());
    // Truncation of the tail.
    std::fs::write(d.join("audit.log"), lines[..4].join("\n") + "\n").unwrap();
    assert!(matches!(verify(&d.join("audit.log")), Err(AuditError::Tampered { seq: 5, .. })));
    // Two writers (two processes) keep one chain.
    std::fs::write(d.join("audit.log"), &text).unwrap();
    let a = AuditLog::open(&d).unwrap();
    let b = AuditLog::open(&d).unwrap();
    a.append(&Actor::Cli("x".into()), "token.create", "t", Default::default()).unwrap();
    b.append(&Actor::Token("y".into()), "api.match", "", Default::default()).unwrap();
    a.append(&Actor::Cli("x".into()), "token.revoke", "t", Default::default()).unwrap();
    assert_eq!(verify(&d.join("audit.log")).unwrap().0, 8);
    let eight = std::fs::read_to_string(d.join("audit.log")).unwrap();
    // A refused log is not extended.
    std::fs::write(d.join("audit.log"), lines[..4].join("\n") + "\n").unwrap();
    assert!(AuditLog::open(&d).is_err());
    std::fs::write(d.join("audit.log"), eight).unwrap();
    let log = AuditLog::open(&d).unwrap();
    assert_eq!(log.append(&Actor::System, "x", "", Default::default()).unwrap().seq, 9);
    // A running writer whose log is cut short under it refuses to extend it (no panic).
    let nine = std::fs::read_to_string(d.join("audit.log")).unwrap();
    let cut: Vec<&str> = nine.lines().take(6).collect();
    std::fs::write(d.join("audit.log"), cut.join("\n") + "\n").unwrap();
    assert!(matches!(
        log.append(&Actor::System, "y", "", Default::default()),
        Err(AuditError::Tampered { .. })
    ));
    // ... and one whose log was edited in place (longer now).
    std::fs::write(d.join("audit.log"), nine.replace("\"t\"", "\"tt\"")).unwrap();
    assert!(matches!(
        log.append(&Actor::System, "y", "", Default::default()),
        Err(AuditError::Tampered { .. })
    ));
    std::fs::remove_dir_all(&d).unwrap();
}
