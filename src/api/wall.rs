//! `/wall`: the room's big screens. A read-only page (plain HTML and a
//! small script) fed by the WebSocket with `?view=wall`.
//! Work in progress (step 11).

use serde::{Deserialize, Serialize};

use crate::engine::snapshot::Snapshot;

/// The page served at `/wall`.
pub const PAGE: &str = "<!doctype html><title>toc wall</title>";

/// What the wall shows, sent as a text frame of JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WallView {
    /// The snapshot it was made from.
    pub seq: u64,
}

/// The wall of a snapshot.
pub fn view(snap: &Snapshot) -> WallView {
    WallView { seq: snap.seq }
}
