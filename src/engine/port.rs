//! What the engine asks of the world, as traits the wiring (`runtime/`)
//! plugs in: the engine imports none of the modules that implement them.
//!
//! - [`FaultInjector`]: the simulator of a `toc demo` (`:fault`, `:clear`);
//! - [`CheckNow`]: the scheduler, to check devices at once (`:check`, and
//!   children when their parents recover);
//! - [`AuditSink`]: the audit log, written and synced off the engine task.
//!
//! - [`IncidentStore`]: incidents, timelines, maintenance and the audit
//!   in SQLite, written off the engine task.
//!
//! - [`RelayControl`]: the result relay, rerouted by operators.
//!
//! Every method returns at once: the engine never waits on a disk or a
//! socket.

use std::fmt;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::command::{Command, FaultSpec, Identity};
use super::snapshot::SimFault;
use super::state::Notice;
use crate::incident::record::{IncidentRecord, Maintenance, TimelineEntry};

/// Injects and clears simulated faults.
pub trait FaultInjector: Send + Sync + fmt::Debug {
    /// Applies `spec`; says in one line what was done, or why not.
    fn inject(&self, spec: &FaultSpec) -> Result<String, String>;

    /// Clears the faults of `target` (a device id; a venue code clears the
    /// venue's uplink and every fault of its devices), or every fault when
    /// `None`. Returns how many were cleared, or why not.
    fn clear(&self, target: Option<&str>) -> Result<usize, String>;

    /// What [`FaultInjector::inject`] would say it did, without doing it:
    /// the engine writes that in the audit log before applying.
    fn check(&self, spec: &FaultSpec) -> Result<String, String>;

    /// Whether [`FaultInjector::clear`] would take `target`, without
    /// clearing anything.
    fn check_clear(&self, target: Option<&str>) -> Result<(), String>;

    /// The faults in force now (expired ones left out), so consoles know
    /// what a venue has; none by default.
    fn active(&self) -> Vec<SimFault> {
        Vec::new()
    }
}

/// Reroutes the result relay. The relay applies each command atomically
/// (one swap of what is in force) and keeps it across restarts.
pub trait RelayControl: Send + Sync + fmt::Debug {
    /// What [`RelayControl::apply`] would do, in one line, or why it
    /// cannot: the engine writes that in the audit log before applying.
    fn check(&self, command: &crate::model::relay::RelayCommand) -> Result<String, String>;

    /// Applies it; says in one line what was done, or why not.
    fn apply(&self, command: &crate::model::relay::RelayCommand) -> Result<String, String>;
}

/// Runs a shell step's process off the engine task (the wiring's
/// `playbook::exec`). Only engines whose venues.toml enables shell steps
/// get one.
pub trait StepWorker: Send + Sync + fmt::Debug {
    /// Starts `argv` now, in a process group of its own, killed with its
    /// children after `timeout`; calls `done` once, from another thread,
    /// with what it printed (bounded) and how it ended: `Ok` for exit
    /// status 0, `Err` otherwise (the status or the timeout, and the
    /// output). `key` names the job for [`StepWorker::cancel`].
    fn shell(
        &self,
        key: String,
        argv: Vec<String>,
        timeout: std::time::Duration,
        done: Box<dyn FnOnce(Result<String, String>) + Send>,
    );

    /// Kills the job `key` (and its process group), if it still runs; its
    /// `done` is called as for a timeout.
    fn cancel(&self, key: &str);
}

/// Asks for devices to be checked now instead of at their next slot.
pub trait CheckNow: Send + Sync + fmt::Debug {
    /// Checks these devices (inventory indices) as soon as they can be;
    /// indices that do not exist are ignored.
    fn check_now(&self, devices: &[usize]);
}

/// One line of the audit log: who asked what, and what came of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When the engine took the command.
    pub at: SystemTime,
    /// Who asked.
    pub identity: Identity,
    /// The command, in one line.
    pub text: String,
    /// The command itself.
    pub command: Command,
    /// Whether it was applied.
    pub applied: bool,
    /// What was done, or why it was refused.
    pub outcome: String,
}

/// Called once a record is durable (`Ok`) or cannot be written (`Err`
/// with why), from the thread that writes it.
pub type AuditAck = Box<dyn FnOnce(Result<(), String>) + Send>;

/// Where audit records go. Records are written in the order given and
/// made durable off the engine task.
pub trait AuditSink: Send + Sync + fmt::Debug {
    /// Whether records can be written now; why not when they cannot (the
    /// last write or sync failed, the writer stopped). The engine applies
    /// no command that changes state while this is an error.
    fn health(&self) -> Result<(), String>;

    /// Queues one record without waiting. An error means it will not be
    /// written (and `ack` is dropped uncalled). Otherwise `ack`, when
    /// given, is called once the record is on disk, or cannot be.
    fn append(&self, record: AuditRecord, ack: Option<AuditAck>) -> Result<(), String>;
}

/// Sends notifications (desktop, notify command) off the engine task.
pub trait Notifier: Send + Sync + fmt::Debug {
    /// Queues one notification without waiting.
    fn notify(&self, notice: Notice);
}

/// One change for the incident store, written in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum StoreOp {
    /// Insert or replace the incident with this id.
    Incident(IncidentRecord),
    /// Append to an incident's timeline.
    Timeline(TimelineEntry),
    /// Insert or replace the maintenance window of this target.
    Maintenance(Maintenance),
    /// The maintenance window of this target ended or was lifted.
    MaintenanceEnded {
        /// Device id, group id or venue code.
        target: String,
    },
    /// A command and what came of it.
    Audit(AuditRecord),
    /// Insert or replace the playbook run with this id.
    Run(crate::playbook::Run),
}

/// Called once a batch is durable (`Ok`) or cannot be written (`Err` with
/// why), from the thread that writes it.
pub type StoreAck = Box<dyn FnOnce(Result<(), String>) + Send>;

/// The incident store (SQLite, on a thread of its own): incidents, their
/// timelines, maintenance windows and the audit.
pub trait IncidentStore: Send + Sync + fmt::Debug {
    /// Whether batches can be written now; why not when they cannot.
    fn health(&self) -> Result<(), String>;

    /// Queues a batch without waiting; it is written in one transaction,
    /// after every batch queued before it. With `ack`, the batch is
    /// written once or not at all and `ack` says which; without, a batch
    /// that cannot be written now is kept and written when the store can
    /// write again (nothing the engine decided is dropped). An error means
    /// the store has stopped.
    fn write(&self, ops: Vec<StoreOp>, ack: Option<StoreAck>) -> Result<(), String>;
}
