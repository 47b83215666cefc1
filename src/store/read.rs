//! Reading the store without writing it: `toc incidents`, `toc audit` and
//! `toc handover` open a [`Reader`] while a console writes (WAL: a reader
//! sees every committed transaction and never blocks the writer). The
//! results are plain data; the command line prints them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rusqlite::{Connection, OpenFlags, OptionalExtension as _};
use serde::Serialize;

use super::codec::{
    self, AUDIT_COLUMNS, INCIDENT_COLUMNS, MAINTENANCE_COLUMNS, TIMELINE_COLUMNS, ms,
};
use super::schema;
use crate::engine::port::AuditRecord;
use crate::incident::record::{IncidentRecord, Maintenance, TimelineEntry};

/// Which incidents [`Reader::incidents`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Every incident.
    All,
    /// Those not resolved.
    NotResolved,
}

/// An incident and its notes' texts, oldest first.
pub type IncidentView = (IncidentRecord, Vec<String>);

/// An incident and its whole timeline, oldest first.
pub type IncidentDetail = (IncidentRecord, Vec<TimelineEntry>);

/// Times to acknowledge and to resolve of one venue and severity, in
/// seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatRow {
    /// Venue code.
    pub venue: String,
    /// `DOWN`, `DEGRADED`, `UNKNOWN`.
    pub severity: String,
    /// Incidents in this group.
    pub incidents: usize,
    /// Incidents acknowledged (those the ack times are over).
    pub acknowledged: usize,
    /// Median time from opening to the acknowledgement kept.
    pub ack_median: Option<f64>,
    /// 90th percentile of the same.
    pub ack_p90: Option<f64>,
    /// Incidents resolved (those the resolve times are over).
    pub resolved: usize,
    /// Median time from opening to resolution.
    pub resolve_median: Option<f64>,
    /// 90th percentile of the same.
    pub resolve_p90: Option<f64>,
}

/// The shift handover: what happened since a time, and what is left.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Handover {
    /// Incidents opened since (oldest first).
    pub opened: Vec<IncidentRecord>,
    /// Incidents not resolved now, worst and oldest first (with who
    /// acknowledged them, in their `ack`).
    pub open: Vec<IncidentRecord>,
    /// Incidents resolved since (oldest resolution first).
    pub resolved: Vec<IncidentRecord>,
    /// Notes written since, oldest first.
    pub notes: Vec<TimelineEntry>,
    /// Maintenance windows not yet ended.
    pub maintenance: Vec<Maintenance>,
}

/// A read-only connection to a store.
#[derive(Debug)]
pub struct Reader {
    conn: Connection,
    path: PathBuf,
}

/// Worst first: the rank of a severity.
const SEVERITY_RANK: &str =
    "CASE severity WHEN 'DOWN' THEN 0 WHEN 'DEGRADED' THEN 1 WHEN 'UNKNOWN' THEN 2 ELSE 3 END";

impl Reader {
    /// Opens the store at `path` read-only; refuses a missing file, a file
    /// that is not a toc store and a store newer than this toc.
    pub fn open(path: &Path) -> Result<Reader, String> {
        if !path.exists() {
            return Err(format!(
                "{}: no incident store there (toc has not run with this data directory)",
                path.display()
            ));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        conn.busy_timeout(super::writer::BUSY_TIMEOUT)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        if schema::version(&conn, path)? == 0 {
            return Err(format!("{}: the incident store is empty", path.display()));
        }
        Ok(Reader {
            conn,
            path: path.to_path_buf(),
        })
    }

    fn error(&self, e: &rusqlite::Error) -> String {
        format!("cannot read {}: {e}", self.path.display())
    }

    /// Incidents with their notes, worst first (DOWN, DEGRADED, UNKNOWN),
    /// then oldest first.
    pub fn incidents(&self, filter: Filter) -> Result<Vec<IncidentView>, String> {
        self.incidents_inner(filter).map_err(|e| self.error(&e))
    }

    fn incidents_inner(&self, filter: Filter) -> rusqlite::Result<Vec<IncidentView>> {
        let only_open = filter == Filter::NotResolved;
        let records = self.sorted(only_open)?;
        let mut notes: HashMap<String, Vec<String>> = HashMap::new();
        let sql = if only_open {
            // CROSS JOIN keeps incidents outside (by the index of those
            // not resolved) and finds each one's notes by index, instead
            // of scanning every note ever written.
            "SELECT t.incident, t.text FROM incidents i CROSS JOIN timeline t \
             ON t.incident = i.id \
             WHERE i.state <> 'resolved' AND t.kind = 'note' ORDER BY t.seq"
        } else {
            "SELECT incident, text FROM timeline WHERE kind = 'note' ORDER BY seq"
        };
        let mut stmt = self.conn.prepare(sql)?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            notes.entry(row.get(0)?).or_default().push(row.get(1)?);
        }
        Ok(records
            .into_iter()
            .map(|r| {
                let n = notes.remove(&r.id).unwrap_or_default();
                (r, n)
            })
            .collect())
    }

    /// Incidents (not resolved ones only, or all) worst and oldest first.
    fn sorted(&self, only_open: bool) -> rusqlite::Result<Vec<IncidentRecord>> {
        let filter = if only_open {
            "WHERE state <> 'resolved'"
        } else {
            ""
        };
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents {filter} \
             ORDER BY {SEVERITY_RANK}, opened_at, id"
        ))?;
        stmt.query_map([], codec::incident)?.collect()
    }

    /// Every playbook run, oldest first (a run this toc cannot read, of a
    /// newer toc, is left out with a warning in the log).
    pub fn runs(&self) -> Result<Vec<crate::playbook::Run>, String> {
        let read = || -> rusqlite::Result<Vec<crate::playbook::Run>> {
            let mut stmt = self
                .conn
                .prepare("SELECT body FROM runs ORDER BY started_at, id")?;
            let mut runs = Vec::new();
            for body in stmt.query_map([], |r| r.get::<_, String>(0))? {
                match serde_json::from_str(&body?) {
                    Ok(run) => runs.push(run),
                    Err(e) => tracing::warn!("a playbook run of the store does not read: {e}"),
                }
            }
            Ok(runs)
        };
        read().map_err(|e| self.error(&e))
    }

    /// The incident with this id or, failing that, the latest with this
    /// key (one not resolved first), with its timeline.
    pub fn incident(&self, id_or_key: &str) -> Result<Option<IncidentDetail>, String> {
        self.incident_inner(id_or_key).map_err(|e| self.error(&e))
    }

    fn incident_inner(&self, id_or_key: &str) -> rusqlite::Result<Option<IncidentDetail>> {
        let record = self
            .conn
            .query_row(
                &format!(
                    "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = ?1 OR key = ?1 \
                     ORDER BY id = ?1 DESC, state = 'resolved', opened_at DESC LIMIT 1"
                ),
                [id_or_key],
                codec::incident,
            )
            .optional()?;
        let Some(record) = record else {
            return Ok(None);
        };
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {TIMELINE_COLUMNS} FROM timeline WHERE incident = ?1 ORDER BY seq"
        ))?;
        let timeline = stmt
            .query_map([&record.id], codec::timeline)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Some((record, timeline)))
    }

    /// Audit records from `since` on, oldest first. A record this toc
    /// cannot read (a command of a newer toc) is an error naming it.
    pub fn audit_since(&self, since: SystemTime) -> Result<Vec<AuditRecord>, String> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {AUDIT_COLUMNS} FROM audit WHERE at >= ?1 ORDER BY at, seq"
            ))
            .map_err(|e| self.error(&e))?;
        stmt.query_map([ms(since)], codec::audit)
            .and_then(Iterator::collect)
            .map_err(|e| self.error(&e))
    }

    /// Maintenance windows not ended at `now` (in force, or to come),
    /// by start.
    pub fn maintenance(&self, now: SystemTime) -> Result<Vec<Maintenance>, String> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {MAINTENANCE_COLUMNS} FROM maintenance WHERE \"end\" > ?1 \
                 ORDER BY start, target"
            ))
            .map_err(|e| self.error(&e))?;
        stmt.query_map([ms(now)], codec::maintenance)
            .and_then(Iterator::collect)
            .map_err(|e| self.error(&e))
    }

    /// Times to acknowledge and to resolve (median, p90, seconds) by venue
    /// and severity, over the incidents that have them. The time to
    /// acknowledge is to the acknowledgement kept (the last before it
    /// resolved).
    pub fn stats(&self) -> Result<Vec<StatRow>, String> {
        self.stats_inner().map_err(|e| self.error(&e))
    }

    fn stats_inner(&self) -> rusqlite::Result<Vec<StatRow>> {
        type Times = (usize, Vec<i64>, Vec<i64>);
        let mut groups: HashMap<(String, String), Times> = HashMap::new();
        let mut stmt = self
            .conn
            .prepare("SELECT venue, severity, opened_at, ack_at, resolved_at FROM incidents")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let opened: i64 = row.get(2)?;
            let g = groups.entry((row.get(0)?, row.get(1)?)).or_default();
            g.0 += 1;
            if let Some(at) = row.get::<_, Option<i64>>(3)? {
                g.1.push(at.saturating_sub(opened).max(0));
            }
            if let Some(at) = row.get::<_, Option<i64>>(4)? {
                g.2.push(at.saturating_sub(opened).max(0));
            }
        }
        let mut out: Vec<StatRow> = groups
            .into_iter()
            .map(|((venue, severity), (incidents, mut acks, mut resolves))| {
                acks.sort_unstable();
                resolves.sort_unstable();
                StatRow {
                    venue,
                    severity,
                    incidents,
                    acknowledged: acks.len(),
                    ack_median: percentile(&acks, 50),
                    ack_p90: percentile(&acks, 90),
                    resolved: resolves.len(),
                    resolve_median: percentile(&resolves, 50),
                    resolve_p90: percentile(&resolves, 90),
                }
            })
            .collect();
        out.sort_by(|a, b| {
            (&a.venue, severity_rank(&a.severity)).cmp(&(&b.venue, severity_rank(&b.severity)))
        });
        Ok(out)
    }

    /// The handover since `since`, as of `now`.
    pub fn handover(&self, since: SystemTime, now: SystemTime) -> Result<Handover, String> {
        self.handover_inner(since)
            .map_err(|e| self.error(&e))
            .and_then(|h| {
                Ok(Handover {
                    maintenance: self.maintenance(now)?,
                    ..h
                })
            })
    }

    fn handover_inner(&self, since: SystemTime) -> rusqlite::Result<Handover> {
        let since = ms(since);
        let query = |sql: &str| -> rusqlite::Result<Vec<IncidentRecord>> {
            let mut stmt = self.conn.prepare(sql)?;
            stmt.query_map([since], codec::incident)?.collect()
        };
        let opened = query(&format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE opened_at >= ?1 ORDER BY opened_at, id"
        ))?;
        let resolved = query(&format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents \
             WHERE resolved_at >= ?1 AND state = 'resolved' ORDER BY resolved_at, id"
        ))?;
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {TIMELINE_COLUMNS} FROM timeline WHERE kind = 'note' AND at >= ?1 \
             ORDER BY at, seq"
        ))?;
        let notes = stmt
            .query_map([since], codec::timeline)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Handover {
            opened,
            open: self.sorted(true)?,
            resolved,
            notes,
            maintenance: Vec::new(),
        })
    }
}

/// Rank of a severity, worst first.
fn severity_rank(severity: &str) -> u8 {
    match severity {
        "DOWN" => 0,
        "DEGRADED" => 1,
        "UNKNOWN" => 2,
        _ => 3,
    }
}

/// The `p`th percentile (nearest rank) of sorted milliseconds, in seconds.
#[allow(clippy::cast_precision_loss)] // milliseconds well inside f64
fn percentile(sorted: &[i64], p: usize) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).map(|&m| m as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[5000], 90), Some(5.0));
        let ten: Vec<i64> = (1..=10).map(|s| s * 1000).collect();
        assert_eq!(percentile(&ten, 50), Some(5.0));
        assert_eq!(percentile(&ten, 90), Some(9.0));
        assert_eq!(percentile(&[1000, 2000, 3000], 50), Some(2.0));
    }
}
