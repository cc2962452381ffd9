//! Schema and migrations: fresh database, reopen, too-new version refused,
//! garbage and corrupt files refused with an error naming the path.

use ctibox_daemon::records::schema::{MIGRATIONS, SCHEMA_VERSION};
use ctibox_daemon::records::{OpenError, Records, RecordsConfig};
use rusqlite::Connection;

fn tables(path: &std::path::Path) -> Vec<String> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

#[test]
fn fresh_database_gets_the_whole_schema_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/dir/records.db");
    let records = Records::open(&path, &RecordsConfig::default()).unwrap();
    assert_eq!(records.recovery().interrupted_calls, 0);
    records.shutdown();
    let conn = Connection::open(&path).unwrap();
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    assert_eq!(version, MIGRATIONS.len() as i64);
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    drop(conn);
    let names = tables(&path);
    for table in [
        "call_events",
        "calls",
        "channel_events",
        "channels",
        "customer_phones",
        "customers",
        "extensions",
        "legs",
        "ring_group_members",
        "ring_groups",
        "transfers",
        "users",
    ] {
        assert!(names.iter().any(|n| n == table), "missing table {table}: {names:?}");
    }
}

#[test]
fn reopening_keeps_data_and_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("records.db");
    let records = Records::open(&path, &RecordsConfig::default()).unwrap();
    let id = records
        .handle()
        .create_customer(ctibox_daemon::records::NewCustomer {
            name: "Alice".into(),
            phones: vec!["+86 138 0013 8000".into()],
            ..Default::default()
        })
        .unwrap();
    records.shutdown();
    let records = Records::open(&path, &RecordsConfig::default()).unwrap();
    let customer = records.reader().customer(id).unwrap().unwrap();
    assert_eq!(customer.name, "Alice");
    records.shutdown();
}

#[test]
fn too_new_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("records.db");
    Records::open(&path, &RecordsConfig::default()).unwrap().shutdown();
    Connection::open(&path).unwrap().pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
    let err = Records::open(&path, &RecordsConfig::default()).unwrap_err();
    match &err {
        OpenError::TooNew { path: p, found, supported } => {
            assert_eq!(p, &path);
            assert_eq!(*found, SCHEMA_VERSION + 1);
            assert_eq!(*supported, SCHEMA_VERSION);
        }
        other => panic!("expected TooNew, got {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()) && text.contains("newer"), "{text}");
}

#[test]
fn garbage_file_is_refused_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "this is a text file, not a database\n".repeat(100)).unwrap();
    let err = Records::open(&path, &RecordsConfig::default()).unwrap_err();
    assert!(matches!(&err, OpenError::NotADatabase { path: p } if p == &path), "{err:?}");
    assert!(err.to_string().contains(&path.display().to_string()));
    // Short file, shorter than a header.
    std::fs::write(&path, b"SQLite").unwrap();
    assert!(matches!(Records::open(&path, &RecordsConfig::default()), Err(OpenError::NotADatabase { .. })));
}

#[test]
fn corrupt_database_is_refused_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("records.db");
    let records = Records::open(&path, &RecordsConfig::default()).unwrap();
    let handle = records.handle();
    for i in 0..300 {
        handle
            .create_customer(ctibox_daemon::records::NewCustomer {
                name: format!("Customer {i} {}", "x".repeat(150)),
                phones: vec![format!("+86 138 {:04} {:04}", i / 100, i)],
                ..Default::default()
            })
            .unwrap();
    }
    records.shutdown();
    // Checkpointed and closed: the data is in the main file. Scribble over
    // the middle pages, keeping the header.
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 8 * 4096, "database too small to corrupt: {}", bytes.len());
    for b in &mut bytes[4096 * 2..4096 * 6] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();
    let err = Records::open(&path, &RecordsConfig::default()).unwrap_err();
    assert!(matches!(&err, OpenError::Corrupt { path: p, .. } if p == &path), "{err:?}");
    assert!(err.to_string().contains(&path.display().to_string()));
}

#[test]
fn empty_file_becomes_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("records.db");
    std::fs::write(&path, b"").unwrap();
    Records::open(&path, &RecordsConfig::default()).unwrap().shutdown();
    assert!(tables(&path).contains(&"calls".to_string()));
}

#[test]
fn a_tool_can_read_without_the_writer() {
    use ctibox_daemon::records::{CallFilter, CallPageRequest, RecordsReader};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("records.db");
    // Missing file: refused, nothing created.
    assert!(matches!(RecordsReader::open(&path), Err(OpenError::Io { .. })));
    assert!(!path.exists());
    let records = Records::open(&path, &RecordsConfig::default()).unwrap();
    let id = records
        .handle()
        .create_customer(ctibox_daemon::records::NewCustomer { name: "Alice".into(), ..Default::default() })
        .unwrap();
    // While the daemon runs...
    let reader = RecordsReader::open(&path).unwrap();
    assert_eq!(reader.customer(id).unwrap().unwrap().name, "Alice");
    records.shutdown();
    // ...and after it stopped.
    let reader = RecordsReader::open(&path).unwrap();
    assert_eq!(reader.customer(id).unwrap().unwrap().name, "Alice");
    assert!(reader.calls(&CallFilter::default(), &CallPageRequest::default()).unwrap().calls.is_empty());
    drop(reader);
    // Versions it does not know.
    Connection::open(&path).unwrap().pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
    assert!(matches!(RecordsReader::open(&path), Err(OpenError::TooNew { .. })));
    let old = dir.path().join("old.db");
    Connection::open(&old).unwrap().execute_batch("CREATE TABLE t (x); PRAGMA journal_mode = WAL;").unwrap();
    let err = RecordsReader::open(&old).unwrap_err();
    assert!(matches!(err, OpenError::TooOld { found: 0, .. }), "{err}");
    std::fs::write(dir.path().join("junk"), b"junk junk junk junk junk").unwrap();
    assert!(matches!(RecordsReader::open(dir.path().join("junk")), Err(OpenError::NotADatabase { .. })));
}

#[test]
fn a_failed_migration_leaves_the_previous_version_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("records.db");
    // A version-0 database that already has a `calls` table: step 1 fails
    // half-way (after creating `channels`), and must roll back whole.
    Connection::open(&path).unwrap().execute_batch("CREATE TABLE calls (x INTEGER);").unwrap();
    let err = Records::open(&path, &RecordsConfig::default()).unwrap_err();
    assert!(matches!(&err, OpenError::Migration { version: 1, path: p, .. } if p == &path), "{err:?}");
    assert!(err.to_string().contains("migration to schema version 1"), "{err}");
    let conn = Connection::open(&path).unwrap();
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, 0);
    drop(conn);
    assert_eq!(tables(&path), vec!["calls".to_string()], "nothing of step 1 was kept");
}
