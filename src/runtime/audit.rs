//! The audit log: one JSON line per command, applied or refused, written
//! and synced to disk on a thread of its own, so the engine never waits
//! on a disk. Each record can carry an ack, called once the record is
//! synced or has failed: the engine applies a change only after its
//! record is durable (DESIGN.md: "an audit log of every command that
//! changes state"). When a write or a sync fails, [`FileAudit::health`]
//! says so until a later write succeeds. A record cut short by a full
//! disk is taken out of the file again ([`RotatingFile`]), so the log
//! holds whole JSON lines only.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use super::rotate::RotatingFile;
use crate::engine::port::{AuditAck, AuditRecord, AuditSink};
use crate::sim::{SimAudit, SimChange};

/// A record, as its JSON line, and who waits for it.
type Queued = (String, Option<AuditAck>);

/// The size at which the audit log rotates, by default.
pub const AUDIT_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Old audit logs kept, by default (`audit.log.1` … `audit.log.20`).
pub const AUDIT_KEEP: usize = 20;

/// Records waiting for the writer before `append` refuses more.
const QUEUE: usize = 4096;

/// How a writer reports on itself.
#[derive(Debug, Default)]
struct Health {
    /// Why the last write or sync failed; `None` when it worked.
    failing: Option<String>,
}

/// The audit log of a data folder (`audit.log`), written by its own
/// thread.
#[derive(Debug)]
pub struct FileAudit {
    tx: Mutex<Option<SyncSender<Queued>>>,
    health: Arc<Mutex<Health>>,
    path: PathBuf,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl FileAudit {
    /// Opens (creates) `dir/audit.log`, rotated at the default size, and
    /// starts its writer. Fails when the file cannot be opened: a console
    /// that cannot audit does not start.
    pub fn open(dir: &Path) -> std::io::Result<FileAudit> {
        Self::open_rotated(dir, AUDIT_MAX_BYTES, AUDIT_KEEP)
    }

    /// Opens `dir/audit.log`, rotated at `max_bytes` keeping `keep` old
    /// files, and starts its writer.
    pub fn open_rotated(dir: &Path, max_bytes: u64, keep: usize) -> std::io::Result<FileAudit> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("audit.log");
        let file = RotatingFile::open(&path, max_bytes, keep)?;
        let (tx, rx) = sync_channel(QUEUE);
        let health = Arc::new(Mutex::new(Health::default()));
        let writer_health = Arc::clone(&health);
        let writer_path = path.clone();
        let thread = std::thread::Builder::new()
            .name("toc-audit".to_owned())
            .spawn(move || write_loop(file, &writer_path, &rx, &writer_health))?;
        Ok(FileAudit {
            tx: Mutex::new(Some(tx)),
            health,
            path,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Where the records go.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes what is queued, syncs, and stops the writer.
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
}

impl Drop for FileAudit {
    fn drop(&mut self) {
        self.close();
    }
}

impl AuditSink for FileAudit {
    fn health(&self) -> Result<(), String> {
        if self
            .tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
        {
            return Err("the audit writer has stopped".to_owned());
        }
        match &self
            .health
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .failing
        {
            Some(why) => Err(why.clone()),
            None => Ok(()),
        }
    }

    fn append(&self, record: AuditRecord, ack: Option<AuditAck>) -> Result<(), String> {
        self.queue(line(&record), ack)
    }
}

/// The simulator's changes (control API, scenario steps) go in the same
/// file as the engine's commands.
impl SimAudit for FileAudit {
    fn append_change(&self, change: SimChange, ack: Option<AuditAck>) -> Result<(), String> {
        self.queue(sim_line(&change), ack)
    }
}

impl FileAudit {
    /// Queues one JSON line for the writer, without waiting.
    fn queue(&self, line: String, ack: Option<AuditAck>) -> Result<(), String> {
        let tx = self.tx.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(tx) = tx.as_ref() else {
            return Err("the audit writer has stopped".to_owned());
        };
        tx.try_send((line, ack)).map_err(|e| match e {
            TrySendError::Full(_) => format!("{QUEUE} audit records are waiting for the disk"),
            TrySendError::Disconnected(_) => "the audit writer has stopped".to_owned(),
        })
    }
}

/// One JSON line of a simulator change: no user (the control API and
/// scenarios have none), its source instead.
fn sim_line(change: &SimChange) -> String {
    serde_json::json!({
        "at": humantime::format_rfc3339_millis(change.at).to_string(),
        "source": change.source,
        "command": change.text,
        "applied": change.applied,
        "outcome": change.outcome,
    })
    .to_string()
}

/// One JSON line of a console command.
fn line(record: &AuditRecord) -> String {
    serde_json::json!({
        "at": humantime::format_rfc3339_millis(record.at).to_string(),
        "source": "console",
        "user": record.identity.user,
        "role": record.identity.role.name(),
        "venues": record.identity.venues,
        "command": record.text,
        "request": record.command,
        "applied": record.applied,
        "outcome": record.outcome,
    })
    .to_string()
}

/// Takes every record waiting, writes each whole (a record is never
/// split across two files when the log rotates) and syncs once per batch
/// (group commit), then acks each record: `Ok` for those written and
/// synced, the error for the rest. A failed write stops the batch there
/// (the records after it are not written, so none is out of order); the
/// next batch tries again.
fn write_loop(mut file: RotatingFile, path: &Path, rx: &Receiver<Queued>, health: &Mutex<Health>) {
    let mut lost: u64 = 0;
    while let Ok(first) = rx.recv() {
        let batch: Vec<Queued> = std::iter::once(first).chain(rx.try_iter()).collect();
        let mut good = 0;
        let mut failed = None;
        for (text, _) in &batch {
            let mut text = text.clone();
            text.push('\n');
            match file.write_all(text.as_bytes()) {
                Ok(()) => good += 1,
                Err(e) => {
                    failed = Some(format!("{}: {e}", path.display()));
                    break;
                }
            }
        }
        let synced = if good > 0 {
            file.sync_data()
                .map_err(|e| format!("{}: {e}", path.display()))
        } else {
            Ok(())
        };
        let why = synced.clone().err().or_else(|| failed.clone());
        {
            let mut h = health.lock().unwrap_or_else(PoisonError::into_inner);
            match &why {
                None => {
                    if h.failing.take().is_some() {
                        tracing::warn!("audit log written again; {lost} record(s) were lost");
                    }
                }
                Some(why) => {
                    let n = batch.len() - if synced.is_ok() { good } else { 0 };
                    lost += n as u64;
                    tracing::error!("cannot write {why}; {n} record(s) lost");
                    h.failing = Some(why.clone());
                }
            }
        }
        for (i, (_, ack)) in batch.into_iter().enumerate() {
            let result = if i < good {
                synced.clone()
            } else {
                Err(failed.clone().unwrap_or_else(|| "not written".to_owned()))
            };
            if let Some(ack) = ack {
                ack(result);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::engine::{Command, Identity, Role};

    fn record(n: usize) -> AuditRecord {
        AuditRecord {
            at: UNIX_EPOCH,
            identity: Identity {
                user: "ana".into(),
                role: Role::Operator,
                venues: vec![],
            },
            text: format!("maintenance on dev-{n}"),
            command: Command::end_maintenance(format!("dev-{n}")),
            applied: n.is_multiple_of(2),
            outcome: "ok".into(),
        }
    }

    #[test]
    fn records_are_written_in_order_one_json_line_each() {
        let dir = tempfile::tempdir().expect("tempdir");
        let audit = FileAudit::open(dir.path()).expect("open");
        for n in 0..100 {
            audit.append(record(n), None).expect("queued");
        }
        audit.close();
        let text = std::fs::read_to_string(dir.path().join("audit.log")).expect("read");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect();
        assert_eq!(lines.len(), 100);
        for (n, l) in lines.iter().enumerate() {
            assert_eq!(l["command"], format!("maintenance on dev-{n}"));
            assert_eq!(l["applied"], n.is_multiple_of(2));
            assert_eq!(l["role"], "operator");
            assert_eq!(l["request"]["subject"], "device");
        }
        assert!(audit.health().is_err(), "closed: no longer healthy");
    }

    #[test]
    fn the_audit_log_rotates_with_every_record_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let audit = FileAudit::open_rotated(dir.path(), 2_000, 3).expect("open");
        for n in 0..60 {
            audit.append(record(n), None).expect("queued");
        }
        audit.close();
        let mut seen = Vec::new();
        for name in ["audit.log.3", "audit.log.2", "audit.log.1", "audit.log"] {
            let Ok(text) = std::fs::read_to_string(dir.path().join(name)) else {
                continue;
            };
            assert!(text.len() <= 2_000, "{name}: {} bytes", text.len());
            for l in text.lines() {
                let v: serde_json::Value = serde_json::from_str(l).expect("a whole record");
                seen.push(v["command"].as_str().expect("command").to_owned());
            }
        }
        assert!(dir.path().join("audit.log.1").exists(), "it rotated");
        assert!(!dir.path().join("audit.log.4").exists(), "three kept");
        // The newest records, in order, none torn.
        let last = seen.last().expect("records");
        assert_eq!(last, "maintenance on dev-59");
        assert!(
            seen.windows(2).all(|w| {
                let n = |s: &str| s.rsplit('-').next().and_then(|x| x.parse::<u32>().ok());
                n(&w[1]) == n(&w[0]).map(|x| x + 1)
            }),
            "{seen:?}"
        );
    }

    #[test]
    fn a_full_disk_is_reported_as_failing() {
        let full = Path::new("/dev/full");
        let (tx, rx) = sync_channel(4);
        let health = Arc::new(Mutex::new(Health::default()));
        let h = Arc::clone(&health);
        let file = RotatingFile::open(full, u64::MAX, 0).expect("/dev/full");
        let t = std::thread::spawn(move || write_loop(file, full, &rx, &h));
        let (ack_tx, ack_rx) = std::sync::mpsc::channel();
        let ack: AuditAck = Box::new(move |r| {
            let _ = ack_tx.send(r);
        });
        tx.send((line(&record(1)), Some(ack))).expect("send");
        drop(tx);
        t.join().expect("writer");
        let acked = ack_rx.recv().expect("acked");
        assert!(acked.is_err_and(|w| w.contains("/dev/full")));
        let failing = health.lock().expect("lock").failing.clone();
        assert!(
            failing.as_deref().is_some_and(|w| w.contains("/dev/full")),
            "{failing:?}"
        );
    }
}
