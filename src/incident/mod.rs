//! Incidents a duty manager works (DESIGN.md, "Incidents"): the records
//! kept for each incident and its lifecycle, as pure code the engine
//! calls. The store that keeps them on disk is `crate::store`; the console
//! only shows them.

pub mod lifecycle;
pub mod record;

pub use record::{Ack, IncidentRecord, IncidentState, Maintenance, TimelineEntry, TimelineKind};
