//! Records for the store's tests: every field set to something that
//! tells it apart, times to the millisecond (what the store keeps).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use toc::engine::port::{AuditRecord, StoreAck, StoreOp};
use toc::engine::{Command, Identity, Role};
use toc::incident::record::{
    Ack, IncidentRecord, IncidentState, Maintenance, TimelineEntry, TimelineKind,
};

/// 2026-01-01T00:00:00Z plus `ms` milliseconds.
pub fn at(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_767_225_600_000 + ms)
}

/// An open incident `RUN-n` of venue `venue`.
pub fn open(id: &str, venue: &str, severity: &str, opened: SystemTime) -> IncidentRecord {
    IncidentRecord {
        id: id.to_owned(),
        key: format!("device-down:{venue}-core-{id}"),
        kind: "device-down".to_owned(),
        subject: format!("{venue}-core-{id}"),
        venue: venue.to_owned(),
        severity: severity.to_owned(),
        title: format!("{venue}-core-{id} is down"),
        state: IncidentState::Open,
        opened_at: opened,
        ack: None,
        resolved_at: None,
        resolved_by: None,
        reopened: 0,
        in_maintenance: false,
        notified_at: None,
    }
}

/// An incident with every optional field set.
pub fn full(id: &str) -> IncidentRecord {
    IncidentRecord {
        state: IncidentState::Resolved,
        ack: Some(Ack {
            by: "mara".to_owned(),
            at: at(61_001),
            comment: "on it — fibre cut near gate 3".to_owned(),
            expires: Some(at(7_261_002)),
        }),
        resolved_at: Some(at(900_003)),
        resolved_by: Some("lee".to_owned()),
        reopened: 3,
        in_maintenance: true,
        notified_at: Some(at(120_004)),
        ..open(id, "STA", "DEGRADED", at(5))
    }
}

/// A timeline entry of `incident`.
pub fn entry(incident: &str, kind: TimelineKind, ms: u64, text: &str) -> TimelineEntry {
    TimelineEntry {
        incident: incident.to_owned(),
        at: at(ms),
        kind,
        by: (kind != TimelineKind::Opened).then(|| "mara".to_owned()),
        text: text.to_owned(),
    }
}

/// A maintenance window.
pub fn window(target: &str, start: SystemTime, end: SystemTime) -> Maintenance {
    Maintenance {
        target: target.to_owned(),
        start,
        end,
        reason: format!("{target}: firmware upgrade"),
        by: "venues.toml".to_owned(),
    }
}

/// An audit record of a technician with two venues.
pub fn audit(ms: u64, text: &str) -> AuditRecord {
    AuditRecord {
        at: at(ms),
        identity: Identity {
            user: "tech1".to_owned(),
            role: Role::Technician,
            venues: vec!["STA".to_owned(), "MRN".to_owned()],
        },
        text: text.to_owned(),
        command: Command::end_maintenance("STA-core-a"),
        applied: ms.is_multiple_of(2),
        outcome: format!("outcome of {text}"),
    }
}

/// An ack that sends its result, and where it arrives.
pub fn ack() -> (StoreAck, Receiver<Result<(), String>>) {
    let (tx, rx) = channel();
    (
        Box::new(move |r| {
            let _ = tx.send(r);
        }),
        rx,
    )
}

/// An ack that sends `n` with its result.
pub fn ack_n(n: usize, tx: &Sender<(usize, Result<(), String>)>) -> StoreAck {
    let tx = tx.clone();
    Box::new(move |r| {
        let _ = tx.send((n, r));
    })
}

/// One batch numbered `n`: the incident `1-n`, a note and an audit record.
pub fn batch(n: usize, pad: usize) -> Vec<StoreOp> {
    let id = format!("1-{n}");
    let ms = n as u64;
    vec![
        StoreOp::Incident(open(&id, "STA", "DOWN", at(ms))),
        StoreOp::Timeline(entry(&id, TimelineKind::Note, ms, &"n".repeat(pad))),
        StoreOp::Audit(audit(ms, &format!("batch {n}"))),
    ]
}
