//! The engine: the single owner of live state (DESIGN.md, "Data flow").
//!
//! Observations, host samples and commands go in; an immutable
//! [`Snapshot`] (latest only, on a `watch` channel) and discrete
//! [`Event`]s (numbered, on a broadcast channel) come out. Consoles talk
//! to it through an [`EngineHandle`].
//!
//! - `task/`: the loop (and `jobs.rs`, playbook steps' work off the task);
//! - `state/`: the live state as a composition of pure parts;
//! - `auth.rs`: who may do what, a pure function;
//! - `command.rs`: what users ask, and the answers;
//! - `port.rs`: what the engine asks of the world;
//! - `snapshot.rs`, `handle.rs`: what consoles see and hold.
//!
//! The engine imports `model/`, `config/` and its own ports only: never
//! the simulator, the probes, sockets or files (`tests/layering.rs`).

pub mod auth;
pub mod command;
pub mod handle;
pub mod port;
pub mod snapshot;
pub mod state;
pub mod task;

pub use auth::authorize;
pub use command::{
    Command, DeviceCommand, Done, FaultKind, FaultSpec, Identity, IncidentCommand, PlaybookCommand,
    Refusal, Reply, Role, SessionCommand, SimCommand,
};
pub use handle::{EngineHandle, Focus, Link, Request};
pub use port::{
    AuditRecord, AuditSink, CheckNow, FaultInjector, IncidentStore, Notifier, StepWorker, StoreOp,
};
pub use snapshot::{
    DeviceInfo, DeviceSnap, EngineStats, Event, EventKind, FeedInfo, GroupInfo, HistoryEntry,
    Incident, IncidentId, Layout, SimFault, Snapshot, TICKER_LEN, TICKER_STORY_LEN, VenueInfo,
    VenueSnap,
};
pub use state::State;
/// Who set a maintenance window of venues.toml, as snapshots and the store
/// say.
pub use state::maint::FILE_BY as MAINTENANCE_FROM_FILE;

/// The incident types a snapshot carries, for the console.
pub use crate::incident::{Ack, IncidentState, TimelineKind};
pub use task::{Engine, EngineConfig, Inputs, Ports};

/// The playbook types snapshots and commands carry, for the console
/// (which sees the engine and the model only).
pub use crate::config::playbook::{Playbook, StepKind};
pub use crate::playbook::resolve::{Context as PlaybookContext, matches as playbook_matches};
pub use crate::playbook::{Answer, Run, RunAction, RunState, StepRun, StepState, Work};
