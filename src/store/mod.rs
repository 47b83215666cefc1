//! The incident store (docs/store.md): incidents, their timelines,
//! maintenance windows and the audit, in one SQLite file
//! (`DATA_DIR/toc.db`, WAL).
//!
//! - [`schema`]: the versioned schema and its migrations;
//! - [`writer`]: [`Store::open`] loads what the engine needs at start and
//!   starts the one thread that writes ([`StoreHandle`], the engine's
//!   [`IncidentStore`](crate::engine::port::IncidentStore));
//! - [`read`]: [`Reader`], read-only, for `toc incidents`, `toc audit` and
//!   `toc handover`, which run beside a console.

mod codec;
pub mod read;
pub mod schema;
pub mod writer;

pub use read::{Filter, Handover, IncidentDetail, IncidentView, Reader, StatRow};
pub use writer::{Loaded, Store, StoreHandle};

/// The store's file name in the data folder.
pub const FILE_NAME: &str = "toc.db";
