//! Rows to records and back: times as integer milliseconds since the Unix
//! epoch (UTC), so a record read back is the one written, to the
//! millisecond.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::Row;

use crate::engine::command::{Identity, Role};
use crate::engine::port::AuditRecord;
use crate::incident::record::{
    Ack, IncidentRecord, IncidentState, Maintenance, TimelineEntry, TimelineKind,
};

/// Milliseconds since the Unix epoch; negative before it, saturating far
/// outside the range of `i64`.
pub fn ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_millis()).map_or(i64::MIN, |m| -m),
    }
}

/// The time `ms` milliseconds after the Unix epoch.
pub fn time(ms: i64) -> SystemTime {
    let d = Duration::from_millis(ms.unsigned_abs());
    if ms >= 0 {
        UNIX_EPOCH.checked_add(d).unwrap_or(UNIX_EPOCH)
    } else {
        UNIX_EPOCH.checked_sub(d).unwrap_or(UNIX_EPOCH)
    }
}

/// An error for a column holding what this toc cannot read.
fn bad(column: usize, what: &str, value: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        column,
        rusqlite::types::Type::Text,
        format!("{what} {value:?} is not known to this toc").into(),
    )
}

/// The columns of `incidents`, in the order [`incident`] reads them.
pub const INCIDENT_COLUMNS: &str = "id, key, kind, subject, venue, severity, title, state, \
     opened_at, ack_by, ack_at, ack_comment, ack_expires, resolved_at, resolved_by, \
     reopened, in_maintenance, notified_at";

/// An incident from a row of [`INCIDENT_COLUMNS`].
pub fn incident(row: &Row<'_>) -> rusqlite::Result<IncidentRecord> {
    let state: String = row.get(7)?;
    let ack_by: Option<String> = row.get(9)?;
    let ack = match ack_by {
        Some(by) => Some(Ack {
            by,
            at: time(row.get::<_, Option<i64>>(10)?.unwrap_or_default()),
            comment: row.get::<_, Option<String>>(11)?.unwrap_or_default(),
            expires: row.get::<_, Option<i64>>(12)?.map(time),
        }),
        None => None,
    };
    Ok(IncidentRecord {
        id: row.get(0)?,
        key: row.get(1)?,
        kind: row.get(2)?,
        subject: row.get(3)?,
        venue: row.get(4)?,
        severity: row.get(5)?,
        title: row.get(6)?,
        state: IncidentState::from_name(&state).ok_or_else(|| bad(7, "state", &state))?,
        opened_at: time(row.get(8)?),
        ack,
        resolved_at: row.get::<_, Option<i64>>(13)?.map(time),
        resolved_by: row.get(14)?,
        reopened: row.get(15)?,
        in_maintenance: row.get(16)?,
        notified_at: row.get::<_, Option<i64>>(17)?.map(time),
    })
}

/// The columns of `timeline`, in the order [`timeline`] reads them.
pub const TIMELINE_COLUMNS: &str = "incident, at, kind, by, text";

/// A timeline entry from a row of [`TIMELINE_COLUMNS`].
pub fn timeline(row: &Row<'_>) -> rusqlite::Result<TimelineEntry> {
    let kind: String = row.get(2)?;
    Ok(TimelineEntry {
        incident: row.get(0)?,
        at: time(row.get(1)?),
        kind: TimelineKind::from_name(&kind).ok_or_else(|| bad(2, "timeline kind", &kind))?,
        by: row.get(3)?,
        text: row.get(4)?,
    })
}

/// The columns of `maintenance`, in the order [`maintenance`] reads them.
pub const MAINTENANCE_COLUMNS: &str = "target, start, \"end\", reason, by";

/// A maintenance window from a row of [`MAINTENANCE_COLUMNS`].
pub fn maintenance(row: &Row<'_>) -> rusqlite::Result<Maintenance> {
    Ok(Maintenance {
        target: row.get(0)?,
        start: time(row.get(1)?),
        end: time(row.get(2)?),
        reason: row.get(3)?,
        by: row.get(4)?,
    })
}

/// The columns of `audit`, in the order [`audit`] reads them.
pub const AUDIT_COLUMNS: &str = "at, user, role, venues, text, command, applied, outcome";

/// An audit record from a row of [`AUDIT_COLUMNS`].
pub fn audit(row: &Row<'_>) -> rusqlite::Result<AuditRecord> {
    let role: String = row.get(2)?;
    let venues: String = row.get(3)?;
    let command: String = row.get(5)?;
    Ok(AuditRecord {
        at: time(row.get(0)?),
        identity: Identity {
            user: row.get(1)?,
            role: role_named(&role).ok_or_else(|| bad(2, "role", &role))?,
            venues: serde_json::from_str(&venues).map_err(|_| bad(3, "venue list", &venues))?,
        },
        text: row.get(4)?,
        command: serde_json::from_str(&command).map_err(|_| bad(5, "command", &command))?,
        applied: row.get(6)?,
        outcome: row.get(7)?,
    })
}

/// The role named `name` ([`Role::name`]).
fn role_named(name: &str) -> Option<Role> {
    Role::ALL.into_iter().find(|r| r.name() == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_go_to_milliseconds_and_back() {
        for m in [0_i64, 1, -1, 1_767_225_600_123, -86_400_000] {
            assert_eq!(ms(time(m)), m);
        }
        let t = UNIX_EPOCH + Duration::from_micros(1_500_999);
        assert_eq!(ms(t), 1_500, "sub-millisecond parts are cut");
    }
}
