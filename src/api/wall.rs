//! `/wall`: the room's big screens. A read-only page ([`PAGE`]: plain
//! HTML and a small inline script, no framework, nothing downloaded) fed
//! by the WebSocket with `?view=wall`, which sends a [`WallView`] as a
//! text frame of JSON each time it changes (docs/wall.md).
//!
//! The page takes its token from the address's fragment
//! (`/wall#token=…`: a fragment never leaves the browser), sends it as
//! the first message (`{"type":"auth","v":1,"token":"…"}`), then draws
//! each view. Every status is colour plus glyph plus word, as on the
//! console; when the link drops a banner says so and the page reconnects
//! with backoff.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::engine::snapshot::Snapshot;
use crate::model::Status;

/// The page served at `/wall`.
pub const PAGE: &str = include_str!("wall.html");

/// What the wall shows, sent as a text frame of JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WallView {
    /// The snapshot it was made from.
    pub seq: u64,
    /// Name of the event (`Paris 2024 Olympic Games`).
    pub event: String,
    /// When the snapshot was built, milliseconds since the UNIX epoch.
    pub at_ms: u64,
    /// The whole wall: worst of the venues.
    pub wall: Shown,
    /// Each venue, in file order.
    pub venues: Vec<WallVenue>,
    /// Incidents not resolved, every venue.
    pub incidents: usize,
    /// Why the audit log cannot be written, while it cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_failing: Option<String>,
}

/// A status as the wall shows it: a key for styles, a glyph and a word.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shown {
    /// Lower-case key for styles and tests (`degraded`).
    pub status: String,
    /// The console's glyph (`▲`).
    pub glyph: String,
    /// The console's word (`DEGRADED`).
    pub word: String,
}

impl From<Status> for Shown {
    fn from(s: Status) -> Self {
        Shown {
            status: super::metrics::status_label(s).to_owned(),
            glyph: s.glyph().to_owned(),
            word: s.word().to_owned(),
        }
    }
}

/// One venue's tile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WallVenue {
    /// Code (`STA`): the tile's id is `venue-STA`.
    pub code: String,
    /// Full name.
    pub name: String,
    /// City.
    pub city: String,
    /// Its status.
    pub status: Shown,
    /// Devices by status.
    pub counts: Counts,
    /// Incidents not resolved at this venue.
    pub incidents: usize,
    /// Since when it has its status (ms since the UNIX epoch), once it
    /// changed.
    #[serde(default)]
    pub since_ms: Option<u64>,
}

/// Devices of a venue by shown status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// OK.
    pub ok: usize,
    /// DEGRADED.
    pub degraded: usize,
    /// DOWN.
    pub down: usize,
    /// UNREACHABLE.
    pub unreachable: usize,
    /// UNKNOWN.
    pub unknown: usize,
    /// MAINTENANCE.
    pub maintenance: usize,
    /// Every device of the venue.
    pub total: usize,
}

fn ms(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The wall of a snapshot.
pub fn view(snap: &Snapshot) -> WallView {
    WallView {
        seq: snap.seq,
        event: snap.layout.event.clone(),
        at_ms: ms(snap.at),
        wall: snap.wall.into(),
        venues: snap
            .layout
            .venues
            .iter()
            .zip(&snap.venues)
            .map(|(info, v)| {
                let e = &v.eval;
                WallVenue {
                    code: info.code.clone(),
                    name: info.name.clone(),
                    city: info.city.clone(),
                    status: e.status.into(),
                    counts: Counts {
                        ok: e.ok,
                        degraded: e.degraded,
                        down: e.down,
                        unreachable: e.unreachable,
                        unknown: e.unknown,
                        maintenance: e.maintenance,
                        total: e.total,
                    },
                    incidents: v.incidents,
                    since_ms: v.since.map(ms),
                }
            })
            .collect(),
        incidents: snap.incidents.len(),
        audit_failing: snap.audit_failing.clone(),
    }
}

/// Whether two views draw the same (all but the snapshot's number and
/// time): the server sends a view only when this changes, or every few
/// seconds so the page knows the link is alive.
pub fn same_drawing(a: &WallView, b: &WallView) -> bool {
    a.event == b.event
        && a.wall == b.wall
        && a.venues == b.venues
        && a.incidents == b.incidents
        && a.audit_failing == b.audit_failing
}

#[cfg(test)]
mod tests;
