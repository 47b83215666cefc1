//! The store's schema, versioned by `PRAGMA user_version`.
//!
//! [`MIGRATIONS`] is an ordered list: migration `k` (counting from 1)
//! takes a store from version `k - 1` to version `k`, as one SQL batch in
//! one transaction with the new `user_version`, so a store is always at a
//! whole version. A released migration is never edited: a change is a new
//! one at the end (docs/store.md, "Migrations"). A store at a version
//! newer than [`VERSION`] is refused, never downgraded; a file that is not
//! a toc store is refused, never overwritten.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior};

/// `PRAGMA application_id` of a toc store (`toc!` in ASCII), so another
/// program's SQLite file is told apart from a new, empty one.
pub const APPLICATION_ID: i64 = 0x746f_6321;

/// Version 1: incidents, timeline, maintenance, audit.
const V1: &str = "
PRAGMA application_id = 1953456929;
CREATE TABLE incidents (
    id             TEXT PRIMARY KEY NOT NULL,
    key            TEXT NOT NULL,
    kind           TEXT NOT NULL,
    subject        TEXT NOT NULL,
    venue          TEXT NOT NULL,
    severity       TEXT NOT NULL,
    title          TEXT NOT NULL,
    state          TEXT NOT NULL,
    opened_at      INTEGER NOT NULL,
    ack_by         TEXT,
    ack_at         INTEGER,
    ack_comment    TEXT,
    ack_expires    INTEGER,
    resolved_at    INTEGER,
    resolved_by    TEXT,
    reopened       INTEGER NOT NULL DEFAULT 0,
    in_maintenance INTEGER NOT NULL DEFAULT 0,
    notified_at    INTEGER
);
CREATE INDEX incidents_key ON incidents (key);
CREATE TABLE timeline (
    seq      INTEGER PRIMARY KEY,
    incident TEXT NOT NULL,
    at       INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    by       TEXT,
    text     TEXT NOT NULL
);
CREATE INDEX timeline_incident ON timeline (incident, seq);
CREATE TABLE maintenance (
    target TEXT PRIMARY KEY NOT NULL,
    start  INTEGER NOT NULL,
    \"end\"  INTEGER NOT NULL,
    reason TEXT NOT NULL,
    by     TEXT NOT NULL
);
CREATE TABLE audit (
    seq     INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    user    TEXT NOT NULL,
    role    TEXT NOT NULL,
    venues  TEXT NOT NULL,
    text    TEXT NOT NULL,
    command TEXT NOT NULL,
    applied INTEGER NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX audit_at ON audit (at);
";

/// Version 2: the engine's run counter kept in the store (`meta`), seeded
/// past every run an incident id already names, so ids never repeat; and
/// the indexes the open-incident list, the start-up load and the handover
/// read by (incidents not resolved; incidents by resolution and opening
/// time; notes by time).
const V2: &str = "
CREATE TABLE meta (
    name  TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
);
INSERT INTO meta (name, value)
    SELECT 'next_run',
           COALESCE(MAX(CAST(substr(id, 1, instr(id, '-') - 1) AS INTEGER)), 0) + 1
    FROM incidents;
CREATE INDEX incidents_open ON incidents (state, severity, opened_at)
    WHERE state <> 'resolved';
CREATE INDEX incidents_resolved_at ON incidents (resolved_at)
    WHERE resolved_at IS NOT NULL;
CREATE INDEX incidents_opened_at ON incidents (opened_at);
CREATE INDEX timeline_at ON timeline (at) WHERE kind = 'note';
";

/// Version 3: playbook runs, each kept whole as JSON (`body`, a
/// `playbook::Run`), replaced at every change; the runs not over are
/// taken back at start.
const V3: &str = "
CREATE TABLE runs (
    id         TEXT PRIMARY KEY NOT NULL,
    incident   TEXT NOT NULL,
    playbook   TEXT NOT NULL,
    state      TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    body       TEXT NOT NULL
);
CREATE INDEX runs_incident ON runs (incident);
CREATE INDEX runs_state ON runs (state) WHERE state NOT IN ('done', 'aborted');
";

/// Every migration, oldest first: index `k` takes version `k` to `k + 1`.
pub const MIGRATIONS: &[&str] = &[V1, V2, V3];

/// The schema version this toc writes.
#[allow(clippy::cast_possible_wrap)] // a handful of migrations
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// The schema version of the store behind `conn`; refuses a file that is
/// not SQLite, or is another program's SQLite file.
pub fn version(conn: &Connection, path: &Path) -> Result<i64, String> {
    let found: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| not_a_store(path, &e.to_string()))?;
    let app: i64 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(|e| not_a_store(path, &e.to_string()))?;
    if found == 0 {
        // New and empty, or someone else's.
        let table: Option<String> = conn
            .query_row(
                "SELECT name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| not_a_store(path, &e.to_string()))?;
        if let Some(table) = table {
            return Err(not_a_store(
                path,
                &format!("an SQLite database of another program (it has a table {table:?})"),
            ));
        }
    } else if app != APPLICATION_ID {
        return Err(not_a_store(
            path,
            &format!("an SQLite database of another program (application id {app:#x})"),
        ));
    }
    if found > VERSION {
        return Err(format!(
            "{} is a toc store of schema version {found}, newer than this toc knows \
             (version {VERSION}): run the newer toc, or choose another data directory; \
             the file is left as it is",
            path.display()
        ));
    }
    Ok(found)
}

/// The error for a file that is not a toc store.
fn not_a_store(path: &Path, why: &str) -> String {
    format!(
        "{} is not a toc store ({why}): move it away or choose another data directory; \
         the file is left as it is",
        path.display()
    )
}

/// Brings the store to [`VERSION`], one migration per transaction.
pub fn migrate(conn: &mut Connection, path: &Path) -> Result<(), String> {
    migrate_to(conn, path, VERSION)
}

/// Brings the store to version `target` (at most [`VERSION`]): the tests
/// build stores of every earlier version with it.
pub fn migrate_to(conn: &mut Connection, path: &Path, target: i64) -> Result<(), String> {
    let target = target.min(VERSION);
    let mut at = version(conn, path)?;
    while at < target {
        let index = usize::try_from(at).unwrap_or(usize::MAX);
        let Some(sql) = MIGRATIONS.get(index) else {
            break;
        };
        let next = at + 1;
        let failed = |e: rusqlite::Error| {
            format!(
                "cannot migrate {} from schema version {at} to {next}: {e}",
                path.display()
            )
        };
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(failed)?;
        tx.execute_batch(sql).map_err(failed)?;
        tx.pragma_update(None, "user_version", next)
            .map_err(failed)?;
        tx.commit().map_err(failed)?;
        tracing::info!("{}: schema version {next}", path.display());
        at = next;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_migration_sets_the_application_id() {
        assert!(V1.contains(&format!("PRAGMA application_id = {APPLICATION_ID};")));
        assert_eq!(usize::try_from(VERSION).ok(), Some(MIGRATIONS.len()));
    }
}
