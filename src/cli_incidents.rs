//! `toc incidents` and `toc audit`: the incident store read from the
//! command line, for people and scripts, while a console runs (the store
//! is SQLite in WAL mode: readers never wait for the writer).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use toc::engine::AuditRecord;
use toc::incident::IncidentRecord;
use toc::runtime::live::STORE_FILE;
use toc::store::{Filter, Reader};

/// Where the store is: `--data-dir`, else the data folder of the venues
/// file, else (no venues file here: a synthetic demo) `toc-data` in the
/// current folder.
pub fn store_path(file: &Path, data_dir: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(dir) = data_dir {
        return Ok(dir.join(STORE_FILE));
    }
    if file.exists() {
        let (inventory, _) = toc::config::Inventory::load(file).map_err(|d| {
            let first = d.first().map_or_else(String::new, ToString::to_string);
            format!(
                "{}: cannot read it to find the data folder: {first}",
                file.display()
            )
        })?;
        return Ok(inventory.event.data_dir.join(STORE_FILE));
    }
    Ok(PathBuf::from("toc-data").join(STORE_FILE))
}

/// Opens the store for reading; says where it looked when there is none.
fn open(path: &Path) -> Result<Reader, String> {
    if !path.exists() {
        return Err(format!(
            "no incident store at {} (toc demo and toc run create it in their data folder; --data-dir names another)",
            path.display()
        ));
    }
    Reader::open(path)
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// One incident as `toc incidents --json` prints it.
pub fn incident_json(r: &IncidentRecord, notes: &[String]) -> Value {
    json!({
        "id": r.id,
        "key": r.key,
        "kind": r.kind,
        "subject": r.subject,
        "venue": r.venue,
        "severity": r.severity,
        "title": r.title,
        "state": r.state.name(),
        "opened_at": rfc3339(r.opened_at),
        "acknowledged_by": r.ack.as_ref().map(|a| a.by.clone()),
        "acknowledged_at": r.ack.as_ref().map(|a| rfc3339(a.at)),
        "ack_comment": r.ack.as_ref().map(|a| a.comment.clone()),
        "ack_expires": r.ack.as_ref().and_then(|a| a.expires).map(rfc3339),
        "resolved_at": r.resolved_at.map(rfc3339),
        "resolved_by": r.resolved_by,
        "reopened": r.reopened,
        "in_maintenance": r.in_maintenance,
        "notes": notes,
    })
}

/// `toc incidents`: open incidents (or every one), as text or JSON.
pub fn incidents(path: &Path, all: bool, as_json: bool) -> Result<String, String> {
    let reader = open(path)?;
    let filter = if all {
        Filter::All
    } else {
        Filter::NotResolved
    };
    let list = reader.incidents(filter)?;
    if as_json {
        let items: Vec<Value> = list.iter().map(|(r, n)| incident_json(r, n)).collect();
        return serde_json::to_string_pretty(&items).map_err(|e| e.to_string());
    }
    if list.is_empty() {
        let what = if all {
            "no incident"
        } else {
            "no open incident"
        };
        return Ok(format!("{what} in {}", path.display()));
    }
    let mut out = String::new();
    for (r, notes) in &list {
        let state = match (&r.ack, r.state) {
            (Some(a), toc::incident::IncidentState::Acknowledged) => {
                format!("acknowledged by {}: {}", a.by, a.comment)
            }
            (_, s) => s.name().to_owned(),
        };
        let _ = writeln!(
            out,
            "#{} {:<8} {} {} ({}) opened {}",
            r.id,
            r.severity,
            r.venue,
            r.title,
            state,
            rfc3339(r.opened_at)
        );
        for n in notes {
            let _ = writeln!(out, "    note: {n}");
        }
    }
    Ok(out.trim_end().to_owned())
}

/// One audit record as `toc audit --json` prints it.
fn audit_json(a: &AuditRecord) -> Value {
    json!({
        "at": rfc3339(a.at),
        "user": a.identity.user,
        "role": a.identity.role.name(),
        "venues": a.identity.venues,
        "command": a.text,
        "applied": a.applied,
        "outcome": a.outcome,
    })
}

/// `toc audit`: every command since `since` ago, applied or refused.
pub fn audit(path: &Path, since: Duration, as_json: bool) -> Result<String, String> {
    let reader = open(path)?;
    let from = SystemTime::now()
        .checked_sub(since)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let records = reader.audit_since(from)?;
    if as_json {
        let items: Vec<Value> = records.iter().map(audit_json).collect();
        return serde_json::to_string_pretty(&items).map_err(|e| e.to_string());
    }
    if records.is_empty() {
        return Ok(format!(
            "no command in the last {}",
            humantime::format_duration(since)
        ));
    }
    let lines: Vec<String> = records
        .iter()
        .map(|a| {
            format!(
                "{} {} ({}) {}: {}",
                rfc3339(a.at),
                a.identity.user,
                a.identity.role,
                a.text,
                a.outcome
            )
        })
        .collect();
    Ok(lines.join("\n"))
}
