//! `/metrics`: the engine and the relay in Prometheus' text format.
//! Work in progress (step 11).

use crate::engine::snapshot::Snapshot;

/// The text of `/metrics` for this snapshot.
pub fn render(snap: &Snapshot) -> String {
    format!("# toc snapshot {}\n", snap.seq)
}
