//! The one way hashline opens its SQLite files (the outbox, the evidence index, the triage
//! case database): owner-only from the first byte, write-ahead log, every commit synced.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

/// Opens or creates the database at `path`. The file is created owner-only (mode 0600)
/// before SQLite opens it, so it is never readable by other users, not even for a moment;
/// SQLite gives its `-wal` and `-shm` files the same mode. Journal mode WAL, `synchronous =
/// FULL` (a committed row survives a power loss), 10 s busy timeout for the other processes
/// that share the file; then `schema` (idempotent `CREATE ... IF NOT EXISTS`) is applied.
pub fn open_private(path: &Path, schema: &str) -> rusqlite::Result<Connection> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::create_dir_all(dir);
    }
    let mut create = std::fs::OpenOptions::new();
    create.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        create.mode(0o600);
    }
    // A failure here (a read-only folder, say) is left for SQLite to report with its reason.
    let _ = create.open(path);
    #[cfg(unix)]
    {
        // A file made by an earlier release with a looser mode is tightened.
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.execute_batch(schema)?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_database_is_owner_only_durable_and_has_its_schema() {
        let d = std::env::temp_dir().join(format!("hashline-sqlite-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let p = d.join("sub").join("x.db");
        let conn = open_private(&p, "CREATE TABLE IF NOT EXISTS t (a INTEGER)").unwrap();
        conn.execute("INSERT INTO t VALUES (1)", []).unwrap();
        let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = conn.pragma_query_value(None, "synchronous", |r| r.get(0)).unwrap();
        assert_eq!(sync, 2, "synchronous = FULL");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        }
        drop(conn);
        // Opening again keeps the rows (the schema is idempotent).
        let conn = open_private(&p, "CREATE TABLE IF NOT EXISTS t (a INTEGER)").unwrap();
        let n: i64 = conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 1);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
