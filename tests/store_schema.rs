//! The store's schema across versions: a store made by every earlier
//! schema version opens with this toc and keeps its rows; a newer store,
//! a file that is not SQLite and another program's SQLite file are
//! refused with the file named, and left as they were.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod store_fixtures;

use std::path::Path;

use rusqlite::Connection;
use store_fixtures::at;
use toc::engine::port::IncidentStore as _;
use toc::incident::record::{IncidentState, TimelineKind};
use toc::store::schema::{self, VERSION};
use toc::store::writer::connect;
use toc::store::{Filter, Reader, Store};

/// Rows as a writer of schema version `version` wrote them (raw SQL: the
/// columns that version had).
fn insert_rows_of(conn: &Connection, version: i64) {
    if version >= 1 {
        conn.execute_batch(
            "INSERT INTO incidents (id, key, kind, subject, venue, severity, title, state,
                opened_at, ack_by, ack_at, ack_comment, ack_expires, resolved_at, resolved_by,
                reopened, in_maintenance, notified_at)
             VALUES ('7-3', 'device-down:STA-core-a', 'device-down', 'STA-core-a', 'STA',
                'DOWN', 'STA-core-a is down', 'acknowledged', 1767225600000, 'mara',
                1767225660000, 'on it', NULL, NULL, NULL, 1, 0, 1767225600500);
             INSERT INTO timeline (incident, at, kind, by, text)
             VALUES ('7-3', 1767225600000, 'opened', NULL, 'STA-core-a is down'),
                    ('7-3', 1767225670000, 'note', 'mara', 'fibre cut');
             INSERT INTO maintenance (target, start, \"end\", reason, by)
             VALUES ('MRN', 1767225600000, 4102444800000, 'rewiring', 'venues.toml');
             INSERT INTO audit (at, user, role, venues, text, command, applied, outcome)
             VALUES (1767225660000, 'mara', 'duty_manager', '[]', 'maint STA-core-a on',
                '{\"subject\":\"device\",\"op\":\"maintenance\",\"device\":\"STA-core-a\",\"on\":true}',
                1, 'done');",
        )
        .unwrap();
    }
    if version >= 2 {
        // A writer of version 2 took run 7 for incident 7-3: its counter
        // is past it.
        conn.execute_batch("UPDATE meta SET value = 8 WHERE name = 'next_run';")
            .unwrap();
    }
}

/// A store at schema version `version`, with that version's rows.
fn store_at_version(path: &Path, version: i64) {
    let mut conn = connect(path).unwrap();
    schema::migrate_to(&mut conn, path, version).unwrap();
    let found: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(found, version);
    insert_rows_of(&conn, version);
}

#[test]
fn a_store_of_every_earlier_version_opens_and_keeps_its_rows() {
    const { assert!(VERSION >= 2, "v1 and at least one migration") };
    for version in 0..VERSION {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("toc.db");
        store_at_version(&path, version);
        let (store, loaded) = Store::open_at(&path, at(3_600_000)).unwrap();
        assert!(store.health().is_ok());
        // The run counter of v2 starts past the runs incident ids name.
        let run = store.next_run().unwrap();
        store.close();
        let conn = Connection::open(&path).unwrap();
        let now: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(now, VERSION, "from version {version}");
        if version == 0 {
            assert!(loaded.incidents.is_empty());
            assert_eq!(run, 1);
            continue;
        }
        assert_eq!(run, 8, "incident 7-3 was run 7 (from version {version})");
        assert_eq!(loaded.incidents.len(), 1, "from version {version}");
        let inc = &loaded.incidents[0];
        assert_eq!(inc.id, "7-3");
        assert_eq!(inc.state, IncidentState::Acknowledged);
        assert_eq!(inc.ack.as_ref().unwrap().comment, "on it");
        assert_eq!(inc.reopened, 1);
        assert_eq!(loaded.maintenance.len(), 1);
        assert_eq!(loaded.maintenance[0].reason, "rewiring");
        let reader = Reader::open(&path).unwrap();
        let (_, timeline) = reader.incident("device-down:STA-core-a").unwrap().unwrap();
        assert_eq!(timeline.len(), 2);
        assert_eq!(timeline[1].kind, TimelineKind::Note);
        let listed = reader.incidents(Filter::NotResolved).unwrap();
        assert_eq!(listed[0].1, ["fibre cut"]);
        let audit = reader.audit_since(at(0)).unwrap();
        assert_eq!(audit.len(), 1);
        assert_eq!(audit[0].outcome, "done");
    }
}

#[test]
fn a_run_number_is_durable_and_never_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("toc.db");
    let (store, _) = Store::open(&path).unwrap();
    let a = store.next_run().unwrap();
    let b = store.next_run().unwrap();
    assert_eq!(b, a + 1);
    drop(store);
    let (store, _) = Store::open(&path).unwrap();
    assert_eq!(store.next_run().unwrap(), b + 1);
}

#[test]
fn a_store_newer_than_this_toc_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("toc.db");
    drop(Store::open(&path).unwrap());
    {
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", VERSION + 1)
            .unwrap();
        conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let why = Store::open(&path).unwrap_err();
    assert!(why.contains(&path.display().to_string()), "{why}");
    assert!(why.contains(&format!("version {}", VERSION + 1)), "{why}");
    assert!(why.contains(&format!("version {VERSION}")), "{why}");
    let why = Reader::open(&path).unwrap_err();
    assert!(why.contains("newer"), "{why}");
    assert_eq!(std::fs::read(&path).unwrap(), before, "not touched");
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("toc.db");
    let text = "incidents: these are my notes, not a database\n".repeat(200);
    std::fs::write(&path, &text).unwrap();
    let why = Store::open(&path).unwrap_err();
    assert!(why.contains("is not a toc store"), "{why}");
    assert!(why.contains(&path.display().to_string()), "{why}");
    let why = Reader::open(&path).unwrap_err();
    assert!(why.contains("is not a toc store"), "{why}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    assert!(!dir.path().join("toc.db-wal").exists());
}

#[test]
fn another_programs_sqlite_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("toc.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT);")
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let why = Store::open(&path).unwrap_err();
    assert!(why.contains("another program"), "{why}");
    assert!(why.contains("photos"), "{why}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn a_missing_store_is_named_by_the_reader() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("toc.db");
    let why = Reader::open(&path).unwrap_err();
    assert!(why.contains("no incident store"), "{why}");
    assert!(!path.exists(), "the reader creates nothing");
}
