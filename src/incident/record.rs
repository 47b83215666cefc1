//! An incident as it is kept: what the engine holds in memory, what the
//! store writes to SQLite and reads back after a restart, what
//! `toc incidents --json` prints. Subjects are named by their ids (device,
//! group or feed id, venue code), never by inventory indices, so a record
//! still reads after venues.toml changes.

use std::fmt;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// Where an incident is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentState {
    /// Nobody has taken it yet.
    Open,
    /// A duty manager took it (who, comment, optional expiry).
    Acknowledged,
    /// Its condition cleared (automatically after the hold, or by a duty
    /// manager once clear).
    Resolved,
}

impl IncidentState {
    /// Every state, in lifecycle order.
    pub const ALL: [IncidentState; 3] = [
        IncidentState::Open,
        IncidentState::Acknowledged,
        IncidentState::Resolved,
    ];

    /// The name in JSON, the store and the console (`acknowledged`).
    pub const fn name(self) -> &'static str {
        match self {
            IncidentState::Open => "open",
            IncidentState::Acknowledged => "acknowledged",
            IncidentState::Resolved => "resolved",
        }
    }

    /// The state named `name` ([`IncidentState::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl fmt::Display for IncidentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An acknowledgement: who took the incident, why, until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// User name.
    pub by: String,
    /// When.
    pub at: SystemTime,
    /// What they said.
    pub comment: String,
    /// After this the incident is open again and notifies again; `None`
    /// keeps it acknowledged until it resolves (sticky).
    pub expires: Option<SystemTime>,
}

/// One incident, whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentRecord {
    /// Unique across restarts: `RUN-N` (the engine's run, then a number).
    pub id: String,
    /// Deduplication key: `KIND:SUBJECT` (`device-down:STA-core-a`).
    pub key: String,
    /// Problem kind name (`device-down`, `redundancy-lost`, …).
    pub kind: String,
    /// Device, group or feed id.
    pub subject: String,
    /// Venue code.
    pub venue: String,
    /// `DOWN`, `DEGRADED` or `UNKNOWN`: the worst it has been while open.
    pub severity: String,
    /// One line for the operator.
    pub title: String,
    /// Where it is now.
    pub state: IncidentState,
    /// When it (first) opened.
    pub opened_at: SystemTime,
    /// The acknowledgement in force, or the last one before it resolved.
    pub ack: Option<Ack>,
    /// When it resolved.
    pub resolved_at: Option<SystemTime>,
    /// Who resolved it; `None` when it resolved by itself.
    pub resolved_by: Option<String>,
    /// How many times it reopened (the same key failing again within the
    /// reopen window).
    pub reopened: u32,
    /// Its target is in maintenance: shown marked, notifies no more.
    pub in_maintenance: bool,
    /// When it last notified (opened, escalation, ack expiry).
    pub notified_at: Option<SystemTime>,
}

/// What a timeline entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimelineKind {
    /// It opened.
    Opened,
    /// Its severity changed.
    Severity,
    /// A duty manager acknowledged it.
    Acknowledged,
    /// The acknowledgement expired: open again.
    AckExpired,
    /// A note.
    Note,
    /// It notified again, unacknowledged past its `ack_timeout`.
    Escalated,
    /// Its target went into or out of maintenance.
    Maintenance,
    /// It resolved.
    Resolved,
    /// The same key failed again within the reopen window.
    Reopened,
    /// A playbook step (step 10).
    Playbook,
}

impl TimelineKind {
    /// Every kind.
    pub const ALL: [TimelineKind; 10] = [
        TimelineKind::Opened,
        TimelineKind::Severity,
        TimelineKind::Acknowledged,
        TimelineKind::AckExpired,
        TimelineKind::Note,
        TimelineKind::Escalated,
        TimelineKind::Maintenance,
        TimelineKind::Resolved,
        TimelineKind::Reopened,
        TimelineKind::Playbook,
    ];

    /// The name in the store and in JSON (`ack_expired`).
    pub const fn name(self) -> &'static str {
        match self {
            TimelineKind::Opened => "opened",
            TimelineKind::Severity => "severity",
            TimelineKind::Acknowledged => "acknowledged",
            TimelineKind::AckExpired => "ack_expired",
            TimelineKind::Note => "note",
            TimelineKind::Escalated => "escalated",
            TimelineKind::Maintenance => "maintenance",
            TimelineKind::Resolved => "resolved",
            TimelineKind::Reopened => "reopened",
            TimelineKind::Playbook => "playbook",
        }
    }

    /// The kind named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// One thing that happened to an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// The incident's id.
    pub incident: String,
    /// When.
    pub at: SystemTime,
    /// What.
    pub kind: TimelineKind,
    /// Who did it; `None` for the engine itself.
    pub by: Option<String>,
    /// In words (the note's text, the comment, the new severity).
    pub text: String,
}

/// A maintenance window: its target shows MAINTENANCE and opens no
/// incident while it is in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Maintenance {
    /// Device id, group id or venue code.
    pub target: String,
    /// From when.
    pub start: SystemTime,
    /// Until when.
    pub end: SystemTime,
    /// Why.
    pub reason: String,
    /// Who set it (`venues.toml` for a configured window).
    pub by: String,
}
