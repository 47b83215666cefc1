//! The engine: the single owner of live state (DESIGN.md, "Data flow").
//!
//! Observations, ticks and commands go in; an immutable [`Snapshot`]
//! (latest only, on a `watch` channel) and discrete [`Event`]s (on a
//! broadcast channel) come out. Consoles talk to it through an
//! [`EngineHandle`].

pub mod command;
pub mod handle;
pub mod run;
pub mod snapshot;
pub mod state;

pub use command::{Command, FaultSpec, Identity, Refusal, Reply, Role};
pub use handle::{EngineHandle, Link, Request};
pub use run::{Engine, EngineConfig};
pub use snapshot::{
    DeviceInfo, DeviceSnap, EngineStats, Event, EventKind, FeedInfo, GroupInfo, HistoryEntry,
    HostSnap, Incident, IncidentKind, Layout, Snapshot, VenueInfo, VenueSnap,
};
pub use state::State;
