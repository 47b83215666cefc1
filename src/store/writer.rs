//! The store's writer: [`Store::open`] opens (WAL, `synchronous=FULL`),
//! migrates and loads what the engine needs at start, then starts ONE
//! thread that owns the write connection. [`StoreHandle`] is the engine's
//! [`IncidentStore`]: `write` queues and returns at once.
//!
//! The thread commits in groups: it takes every batch waiting and writes
//! them in one transaction (one fsync), each batch under a savepoint, then
//! calls the acks in order.
//!
//! - A batch **with** an ack is written once or not at all: when it fails
//!   its savepoint is rolled back, the ack gets `Err(reason)` and the
//!   batch is dropped (the engine refuses the command with that reason).
//! - A batch **without** an ack that fails is kept in memory and written
//!   again, before anything newer, with the next batches and at least
//!   every [`RETRY`]. Batches after it wait behind it, so the store never
//!   holds a newer change without an older one. While kept, incident
//!   upserts are coalesced by id and maintenance changes by target, so the
//!   queue stays as small as the number of incidents; timeline and audit
//!   entries are kept up to [`RETRY_ENTRIES`], beyond which the oldest are
//!   dropped, counted ([`StoreHandle::dropped`]) and logged.
//! - [`IncidentStore::health`] is `Err(reason)` while the last attempt
//!   failed and `Ok` again after the next success, without a restart.
//!
//! Dropping the handle (or [`StoreHandle::close`]) writes what is queued
//! and ends the thread.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, Transaction, TransactionBehavior, params};

use super::codec::{
    self, AUDIT_COLUMNS, INCIDENT_COLUMNS, MAINTENANCE_COLUMNS, TIMELINE_COLUMNS, ms,
};
use super::schema;
use crate::engine::port::{AuditRecord, IncidentStore, StoreAck, StoreOp};
use crate::incident::record::{IncidentRecord, Maintenance, TimelineEntry};

/// Failed batches without an ack are tried again at least this often.
pub const RETRY: Duration = Duration::from_secs(1);

/// Timeline and audit entries kept for a retry before the oldest are
/// dropped.
pub const RETRY_ENTRIES: usize = 100_000;

/// How long a write waits for another connection's lock.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Resolved incidents younger than this are loaded at start, so the
/// engine's reopen window can find them.
pub const RESOLVED_KEPT: Duration = Duration::from_secs(24 * 3600);

/// What the engine needs at start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loaded {
    /// Every incident not resolved, and those resolved within
    /// [`RESOLVED_KEPT`], oldest first. Timelines are not loaded.
    pub incidents: Vec<IncidentRecord>,
    /// Maintenance windows not yet ended (in force, or to come).
    pub maintenance: Vec<Maintenance>,
    /// The timelines of the incidents not resolved, oldest entry first.
    pub timeline: Vec<TimelineEntry>,
    /// The newest audit records (at most [`AUDIT_LOADED`]), oldest first.
    pub audit: Vec<AuditRecord>,
    /// Playbook runs not over, and the newest [`RUNS_LOADED`] that are,
    /// oldest first.
    pub runs: Vec<crate::playbook::Run>,
}

/// How many finished playbook runs the engine starts with.
pub const RUNS_LOADED: usize = 50;

/// How many of the newest audit records the engine starts with (the
/// console's `:audit`).
pub const AUDIT_LOADED: usize = 200;

/// Opens stores.
#[derive(Debug)]
pub struct Store;

impl Store {
    /// Opens (creates) the store at `path`, migrates it, loads what the
    /// engine needs and starts the writer thread.
    pub fn open(path: &Path) -> Result<(StoreHandle, Loaded), String> {
        Self::open_at(path, SystemTime::now())
    }

    /// [`Store::open`] as if it were `now` (what is loaded depends on it).
    pub fn open_at(path: &Path, now: SystemTime) -> Result<(StoreHandle, Loaded), String> {
        let mut conn = connect(path)?;
        schema::migrate(&mut conn, path)?;
        let loaded =
            load(&conn, now).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let handle = StoreHandle::start(conn, path, RETRY_ENTRIES)?;
        Ok((handle, loaded))
    }
}

/// A read-write connection to `path` (created with its folder when
/// missing): refuses a file that is not a toc store or is newer than this
/// toc before changing anything, then WAL, `synchronous=FULL`, a busy
/// timeout.
pub fn connect(path: &Path) -> Result<Connection, String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let conn =
        Connection::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    schema::version(&conn, path)?;
    let setup = |conn: &Connection| -> rusqlite::Result<()> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(rusqlite::Error::InvalidParameterName(format!(
                "journal mode {mode}, not wal"
            )));
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        Ok(())
    };
    setup(&conn).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    Ok(conn)
}

/// The incidents and maintenance the engine starts with.
fn load(conn: &Connection, now: SystemTime) -> rusqlite::Result<Loaded> {
    let since = ms(now.checked_sub(RESOLVED_KEPT).unwrap_or(now));
    let mut incidents = Vec::new();
    for sql in [
        format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE state <> 'resolved'"),
        format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents \
             WHERE resolved_at >= ?1 AND state = 'resolved'"
        ),
    ] {
        let mut stmt = conn.prepare(&sql)?;
        let params: &[&dyn rusqlite::ToSql] = if sql.contains("?1") { &[&since] } else { &[] };
        for row in stmt.query_map(params, codec::incident)? {
            incidents.push(row?);
        }
    }
    incidents.sort_by(|a, b| a.opened_at.cmp(&b.opened_at).then_with(|| a.id.cmp(&b.id)));
    let mut stmt = conn.prepare(&format!(
        "SELECT {MAINTENANCE_COLUMNS} FROM maintenance WHERE \"end\" > ?1 ORDER BY start, target"
    ))?;
    let maintenance = stmt
        .query_map([ms(now)], codec::maintenance)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut stmt = conn.prepare(&format!(
        "SELECT {TIMELINE_COLUMNS} FROM timeline \
         WHERE incident IN (SELECT id FROM incidents WHERE state <> 'resolved') \
         ORDER BY incident, seq"
    ))?;
    let timeline = stmt
        .query_map([], codec::timeline)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut stmt = conn.prepare(&format!(
        "SELECT {AUDIT_COLUMNS} FROM audit ORDER BY rowid DESC LIMIT {AUDIT_LOADED}"
    ))?;
    let mut audit = Vec::new();
    for row in stmt.query_map([], codec::audit)? {
        match row {
            Ok(r) => audit.push(r),
            // A record a later toc wrote: the console's list goes without it.
            Err(e) => tracing::warn!("an audit record of the store does not read: {e}"),
        }
    }
    audit.reverse();
    let mut runs = Vec::new();
    for sql in [
        "SELECT body FROM runs WHERE state NOT IN ('done', 'aborted') ORDER BY started_at, id"
            .to_owned(),
        format!(
            "SELECT body FROM (SELECT body, started_at, id FROM runs \
             WHERE state IN ('done', 'aborted') ORDER BY started_at DESC, id DESC \
             LIMIT {RUNS_LOADED}) ORDER BY started_at, id"
        ),
    ] {
        let mut stmt = conn.prepare(&sql)?;
        for body in stmt.query_map([], |r| r.get::<_, String>(0))? {
            match serde_json::from_str::<crate::playbook::Run>(&body?) {
                Ok(run) => runs.push(run),
                Err(e) => tracing::warn!("a playbook run of the store does not read: {e}"),
            }
        }
    }
    runs.sort_by(|a, b| a.started.cmp(&b.started).then_with(|| a.id.cmp(&b.id)));
    Ok(Loaded {
        incidents,
        maintenance,
        timeline,
        audit,
        runs,
    })
}

/// What the writer thread is asked.
enum Msg {
    /// A batch, and who waits for it.
    Batch(Vec<StoreOp>, Option<StoreAck>),
    /// Take a run number.
    NextRun(Sender<Result<u32, String>>),
}

/// How the writer reports on itself.
#[derive(Debug, Default)]
struct Shared {
    /// Why the last attempt failed; `None` once one succeeds.
    failing: Option<String>,
    /// Timeline and audit entries dropped from a full retry queue.
    dropped: u64,
    /// Operations waiting for a retry.
    waiting: usize,
    /// Transactions committed with batches in them.
    commits: u64,
}

/// The engine's [`IncidentStore`]: queues batches for the writer thread.
#[derive(Debug)]
pub struct StoreHandle {
    tx: Mutex<Option<Sender<Msg>>>,
    shared: Arc<Mutex<Shared>>,
    path: PathBuf,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl StoreHandle {
    /// Starts the writer thread on `conn` (already migrated).
    fn start(conn: Connection, path: &Path, cap: usize) -> Result<StoreHandle, String> {
        let (tx, rx) = channel();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let writer = Writer {
            conn,
            path: path.to_path_buf(),
            retry: RetryQueue::new(cap),
            shared: Arc::clone(&shared),
        };
        let thread = std::thread::Builder::new()
            .name("toc-store".to_owned())
            .spawn(move || writer.run(&rx))
            .map_err(|e| format!("cannot start the store's writer: {e}"))?;
        Ok(StoreHandle {
            tx: Mutex::new(Some(tx)),
            shared,
            path: path.to_path_buf(),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the next run number and makes it durable before returning:
    /// every call (in this process or a later one) gets a larger number.
    /// Blocks on the writer thread: for start-up, not the engine task.
    pub fn next_run(&self) -> Result<u32, String> {
        let (reply, answer) = channel();
        self.send(Msg::NextRun(reply))?;
        answer.recv().map_err(|_| stopped())?
    }

    /// Timeline and audit entries dropped from the retry queue since the
    /// store opened (the disk refused them for longer than the queue
    /// holds).
    pub fn dropped(&self) -> u64 {
        self.shared().dropped
    }

    /// Operations of batches without an ack waiting to be written again.
    pub fn waiting(&self) -> usize {
        self.shared().waiting
    }

    /// Transactions committed with batches in them since the store
    /// opened: fewer than the batches when commits are grouped.
    pub fn commits(&self) -> u64 {
        self.shared().commits
    }

    /// Writes what is queued and ends the writer thread.
    pub fn close(&self) {
        self.tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(t) = thread {
            let _ = t.join();
        }
    }

    fn shared(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn send(&self, msg: Msg) -> Result<(), String> {
        let tx = self.tx.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(tx) = tx.as_ref() else {
            return Err(stopped());
        };
        tx.send(msg).map_err(|_| stopped())
    }
}

fn stopped() -> String {
    "the incident store has stopped".to_owned()
}

impl Drop for StoreHandle {
    fn drop(&mut self) {
        self.close();
    }
}

impl IncidentStore for StoreHandle {
    fn health(&self) -> Result<(), String> {
        if self
            .tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
        {
            return Err(stopped());
        }
        match &self.shared().failing {
            Some(why) => Err(why.clone()),
            None => Ok(()),
        }
    }

    fn write(&self, ops: Vec<StoreOp>, ack: Option<StoreAck>) -> Result<(), String> {
        self.send(Msg::Batch(ops, ack))
    }
}

/// Operations of failed batches without an ack, in order, coalesced.
#[derive(Debug)]
struct RetryQueue {
    /// Oldest first; `None` where an operation was coalesced or dropped.
    ops: Vec<Option<StoreOp>>,
    /// How many are `Some`.
    live: usize,
    /// Where the upsert of each incident id is.
    incidents: HashMap<String, usize>,
    /// Where the change of each maintenance target is.
    maintenance: HashMap<String, usize>,
    /// Where the upsert of each playbook run is.
    runs: HashMap<String, usize>,
    /// Timeline and audit entries held.
    entries: usize,
    /// At most this many entries.
    cap: usize,
    /// No entry before this index.
    scan: usize,
    /// Entries dropped, ever.
    dropped: u64,
}

impl RetryQueue {
    fn new(cap: usize) -> Self {
        RetryQueue {
            ops: Vec::new(),
            live: 0,
            incidents: HashMap::new(),
            maintenance: HashMap::new(),
            runs: HashMap::new(),
            entries: 0,
            cap,
            scan: 0,
            dropped: 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.live == 0
    }

    fn iter(&self) -> impl Iterator<Item = &StoreOp> {
        self.ops.iter().flatten()
    }

    fn clear(&mut self) {
        *self = RetryQueue {
            dropped: self.dropped,
            ..RetryQueue::new(self.cap)
        };
    }

    /// Appends `op`, replacing an older upsert of the same incident or
    /// maintenance target and dropping the oldest entry past the cap.
    fn push(&mut self, op: StoreOp) {
        let at = self.ops.len();
        let replaced = match &op {
            StoreOp::Incident(r) => self.incidents.insert(r.id.clone(), at),
            StoreOp::Maintenance(m) => self.maintenance.insert(m.target.clone(), at),
            StoreOp::MaintenanceEnded { target } => self.maintenance.insert(target.clone(), at),
            StoreOp::Run(r) => self.runs.insert(r.id.clone(), at),
            StoreOp::Timeline(_) | StoreOp::Audit(_) => {
                self.entries += 1;
                None
            }
        };
        if let Some(old) = replaced.and_then(|i| self.ops.get_mut(i))
            && old.take().is_some()
        {
            self.live -= 1;
        }
        self.ops.push(Some(op));
        self.live += 1;
        while self.entries > self.cap {
            self.drop_oldest_entry();
        }
        if self.ops.len() > 2 * self.live + 64 {
            self.compact();
        }
    }

    fn drop_oldest_entry(&mut self) {
        let Some(i) = (self.scan..self.ops.len()).find(|&i| {
            matches!(
                self.ops.get(i),
                Some(Some(StoreOp::Timeline(_) | StoreOp::Audit(_)))
            )
        }) else {
            self.entries = 0;
            return;
        };
        if let Some(slot) = self.ops.get_mut(i) {
            *slot = None;
        }
        self.live -= 1;
        self.entries -= 1;
        self.dropped += 1;
        self.scan = i + 1;
    }

    fn compact(&mut self) {
        let ops = std::mem::take(&mut self.ops);
        self.clear();
        for op in ops.into_iter().flatten() {
            self.push(op);
        }
    }
}

/// The writer thread's state.
struct Writer {
    conn: Connection,
    path: PathBuf,
    retry: RetryQueue,
    shared: Arc<Mutex<Shared>>,
}

/// What came of one batch in a round.
enum Outcome {
    Written,
    Failed(String),
}

impl Writer {
    fn run(mut self, rx: &Receiver<Msg>) {
        loop {
            let first = if self.retry.is_empty() {
                match rx.recv() {
                    Ok(m) => Some(m),
                    Err(_) => break,
                }
            } else {
                match rx.recv_timeout(RETRY) {
                    Ok(m) => Some(m),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            };
            let msgs: Vec<Msg> = first.into_iter().chain(rx.try_iter()).collect();
            self.round(msgs);
        }
        if !self.retry.is_empty() {
            self.round(Vec::new());
        }
        if !self.retry.is_empty() {
            tracing::error!(
                "the incident store stops with {} change(s) it could not write to {}",
                self.retry.live,
                self.path.display()
            );
        }
    }

    /// Writes the retry queue and every batch in `msgs` in one
    /// transaction, then acks them; then answers run-number requests.
    fn round(&mut self, msgs: Vec<Msg>) {
        let mut batches = Vec::new();
        let mut runs = Vec::new();
        for msg in msgs {
            match msg {
                Msg::Batch(ops, ack) => batches.push((ops, ack)),
                Msg::NextRun(reply) => runs.push(reply),
            }
        }
        if !batches.is_empty() || !self.retry.is_empty() {
            self.write_round(batches);
        }
        for reply in runs {
            let _ = reply.send(self.next_run());
        }
    }

    fn error(&self, e: &rusqlite::Error) -> String {
        cannot_write(&self.path, e)
    }

    fn write_round(&mut self, batches: Vec<(Vec<StoreOp>, Option<StoreAck>)>) {
        let mut outcomes: Vec<Outcome> = Vec::with_capacity(batches.len());
        let mut retried = false;
        let path = &self.path;
        let error = |e: &rusqlite::Error| cannot_write(path, e);
        let committed = match self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
        {
            Err(e) => Err(error(&e)),
            Ok(mut tx) => {
                let mut blocked = None;
                if !self.retry.is_empty() {
                    match apply_all(&mut tx, self.retry.iter()) {
                        Ok(()) => retried = true,
                        Err(e) => blocked = Some(error(&e)),
                    }
                }
                for (ops, ack) in &batches {
                    if let Some(why) = &blocked {
                        outcomes.push(Outcome::Failed(why.clone()));
                        continue;
                    }
                    match apply_all(&mut tx, ops.iter()) {
                        Ok(()) => outcomes.push(Outcome::Written),
                        Err(e) => {
                            let why = error(&e);
                            if ack.is_none() {
                                // Nothing newer goes in before it.
                                blocked = Some(why.clone());
                            }
                            outcomes.push(Outcome::Failed(why));
                        }
                    }
                }
                tx.commit().map_err(|e| error(&e))
            }
        };
        self.settle(batches, &outcomes, retried, &committed);
    }

    /// After the commit (or its failure): the retry queue, health, acks.
    fn settle(
        &mut self,
        batches: Vec<(Vec<StoreOp>, Option<StoreAck>)>,
        outcomes: &[Outcome],
        retried: bool,
        committed: &Result<(), String>,
    ) {
        let mut failing = committed.clone().err();
        if committed.is_ok() && retried {
            self.retry.clear();
        }
        let mut acks = Vec::new();
        for (i, (ops, ack)) in batches.into_iter().enumerate() {
            let result = match (committed, outcomes.get(i)) {
                (Err(why), _) | (Ok(()), Some(Outcome::Failed(why))) => Err(why.clone()),
                (Ok(()), Some(Outcome::Written)) => Ok(()),
                (Ok(()), None) => Err("the incident store did not write it".to_owned()),
            };
            if let Err(why) = &result {
                failing.get_or_insert_with(|| why.clone());
            }
            match ack {
                Some(ack) => acks.push((ack, result)),
                None if result.is_err() => {
                    for op in ops {
                        self.retry.push(op);
                    }
                }
                None => {}
            }
        }
        {
            let mut shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
            let lost = self.retry.dropped - shared.dropped;
            if lost > 0 {
                tracing::error!(
                    "the incident store's retry queue is full: {lost} timeline or audit \
                     entr(ies) dropped ({} in all)",
                    self.retry.dropped
                );
            }
            shared.dropped = self.retry.dropped;
            shared.waiting = self.retry.live;
            if committed.is_ok() {
                shared.commits += 1;
            }
            match (&failing, shared.failing.is_some()) {
                (Some(why), false) => tracing::error!("{why}"),
                (None, true) => tracing::warn!(
                    "the incident store is written again ({})",
                    self.path.display()
                ),
                _ => {}
            }
            shared.failing = failing;
        }
        for (ack, result) in acks {
            ack(result);
        }
    }

    /// Takes a run number in a transaction of its own.
    fn next_run(&mut self) -> Result<u32, String> {
        let run: i64 = self
            .conn
            .query_row(
                "UPDATE meta SET value = value + 1 WHERE name = 'next_run' RETURNING value - 1",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.error(&e))?;
        u32::try_from(run).map_err(|_| format!("run number {run} is out of range"))
    }
}

/// Why the store cannot be written, in words, naming the file.
fn cannot_write(path: &Path, e: &rusqlite::Error) -> String {
    format!(
        "the incident store cannot be written: {e} ({})",
        path.display()
    )
}

/// Applies `ops` under a savepoint: all of them, or none.
fn apply_all<'a>(
    tx: &mut Transaction<'_>,
    ops: impl Iterator<Item = &'a StoreOp>,
) -> rusqlite::Result<()> {
    let sp = tx.savepoint()?;
    for op in ops {
        apply(&sp, op)?;
    }
    sp.commit()
}

/// Writes one operation on `conn` as the writer thread would, inside
/// whatever transaction the caller holds: for tools and benches that
/// build a store in bulk.
pub fn apply(conn: &Connection, op: &StoreOp) -> rusqlite::Result<()> {
    match op {
        StoreOp::Incident(r) => upsert_incident(conn, r),
        StoreOp::Timeline(t) => append_timeline(conn, t),
        StoreOp::Maintenance(m) => {
            conn.prepare_cached(
                "INSERT OR REPLACE INTO maintenance (target, start, \"end\", reason, by) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![m.target, ms(m.start), ms(m.end), m.reason, m.by])?;
            Ok(())
        }
        StoreOp::MaintenanceEnded { target } => {
            conn.prepare_cached("DELETE FROM maintenance WHERE target = ?1")?
                .execute([target])?;
            Ok(())
        }
        StoreOp::Audit(a) => append_audit(conn, a),
        StoreOp::Run(r) => upsert_run(conn, r),
    }
}

/// Writes a playbook run whole.
fn upsert_run(conn: &Connection, r: &crate::playbook::Run) -> rusqlite::Result<()> {
    let body = serde_json::to_string(r)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    conn.prepare_cached(
        "INSERT OR REPLACE INTO runs (id, incident, playbook, state, started_at, body) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        r.id,
        r.incident,
        r.playbook,
        r.state.word(),
        ms(r.started),
        body
    ])?;
    Ok(())
}

fn upsert_incident(conn: &Connection, r: &IncidentRecord) -> rusqlite::Result<()> {
    let ack = r.ack.as_ref();
    conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO incidents ({INCIDENT_COLUMNS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
    ))?
    .execute(params![
        r.id,
        r.key,
        r.kind,
        r.subject,
        r.venue,
        r.severity,
        r.title,
        r.state.name(),
        ms(r.opened_at),
        ack.map(|a| &a.by),
        ack.map(|a| ms(a.at)),
        ack.map(|a| &a.comment),
        ack.and_then(|a| a.expires).map(ms),
        r.resolved_at.map(ms),
        r.resolved_by,
        r.reopened,
        r.in_maintenance,
        r.notified_at.map(ms),
    ])?;
    Ok(())
}

fn append_timeline(conn: &Connection, t: &TimelineEntry) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO timeline (incident, at, kind, by, text) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![t.incident, ms(t.at), t.kind.name(), t.by, t.text])?;
    Ok(())
}

/// Writes one audit record.
fn append_audit(conn: &Connection, a: &AuditRecord) -> rusqlite::Result<()> {
    let json = |e: serde_json::Error| rusqlite::Error::ToSqlConversionFailure(Box::new(e));
    let venues = serde_json::to_string(&a.identity.venues).map_err(json)?;
    let command = serde_json::to_string(&a.command).map_err(json)?;
    conn.prepare_cached(
        "INSERT INTO audit (at, user, role, venues, text, command, applied, outcome) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        ms(a.at),
        a.identity.user,
        a.identity.role.name(),
        venues,
        a.text,
        command,
        a.applied,
        a.outcome,
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::incident::record::TimelineKind;

    fn entry(n: u64) -> StoreOp {
        StoreOp::Timeline(TimelineEntry {
            incident: "1-1".to_owned(),
            at: UNIX_EPOCH + Duration::from_secs(n),
            kind: TimelineKind::Note,
            by: None,
            text: n.to_string(),
        })
    }

    fn incident(id: &str, title: &str) -> StoreOp {
        StoreOp::Incident(IncidentRecord {
            id: id.to_owned(),
            key: format!("device-down:{id}"),
            kind: "device-down".to_owned(),
            subject: id.to_owned(),
            venue: "STA".to_owned(),
            severity: "DOWN".to_owned(),
            title: title.to_owned(),
            state: crate::incident::record::IncidentState::Open,
            opened_at: UNIX_EPOCH,
            ack: None,
            resolved_at: None,
            resolved_by: None,
            reopened: 0,
            in_maintenance: false,
            notified_at: None,
        })
    }

    fn titles(q: &RetryQueue) -> Vec<String> {
        q.iter()
            .map(|op| match op {
                StoreOp::Incident(r) => format!("{}={}", r.id, r.title),
                StoreOp::Timeline(t) => t.text.clone(),
                StoreOp::MaintenanceEnded { target } => format!("end {target}"),
                StoreOp::Maintenance(m) => format!("maint {}", m.target),
                StoreOp::Audit(a) => a.text.clone(),
                StoreOp::Run(r) => format!("run {}", r.id),
            })
            .collect()
    }

    #[test]
    fn the_retry_queue_keeps_the_latest_upsert_of_each_incident() {
        let mut q = RetryQueue::new(10);
        for n in 0..1000 {
            q.push(incident("1-1", &format!("v{n}")));
            q.push(incident("1-2", &format!("w{n}")));
        }
        assert_eq!(titles(&q), ["1-1=v999", "1-2=w999"]);
        assert!(q.ops.len() < 200, "compacted: {}", q.ops.len());
        q.push(StoreOp::MaintenanceEnded {
            target: "STA".to_owned(),
        });
        q.push(incident("1-1", "last"));
        assert_eq!(titles(&q), ["1-2=w999", "end STA", "1-1=last"]);
    }

    #[test]
    fn the_retry_queue_drops_the_oldest_entries_past_its_cap() {
        let mut q = RetryQueue::new(3);
        q.push(entry(0));
        q.push(incident("1-1", "a"));
        for n in 1..6 {
            q.push(entry(n));
        }
        assert_eq!(titles(&q), ["1-1=a", "3", "4", "5"]);
        assert_eq!(q.dropped, 3);
        assert_eq!(q.live, 4);
        q.clear();
        assert!(q.is_empty());
        assert_eq!(q.dropped, 3, "the count survives a clear");
    }
}
