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

/// A playbook run as `toc incidents --json` prints it with its
/// incident.
pub fn run_json(run: &toc::playbook::Run) -> Value {
    json!({
        "id": run.id,
        "playbook": run.playbook,
        "state": run.state.word(),
        "started_by": run.by,
        "started_at": rfc3339(run.started),
        "ended_at": run.ended.map(rfc3339),
        "steps": run.steps.iter().map(|s| json!({
            "id": s.id,
            "kind": s.kind.name(),
            "state": s.state.word(),
            "started_at": s.started.map(rfc3339),
            "ended_at": s.ended.map(rfc3339),
            "outcome": s.outcome,
            "by": s.by,
        })).collect::<Vec<_>>(),
    })
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
        let runs = reader.runs()?;
        let items: Vec<Value> = list
            .iter()
            .map(|(r, n)| {
                let mut item = incident_json(r, n);
                item["runs"] = runs
                    .iter()
                    .filter(|run| run.incident == r.id)
                    .map(run_json)
                    .collect();
                item
            })
            .collect();
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
    let runs = reader.runs()?;
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
        for run in runs.iter().filter(|run| run.incident == r.id) {
            let at = run
                .step()
                .map_or_else(String::new, |s| format!(", at step {} ({})", s.id, s.state));
            let _ = writeln!(
                out,
                "    run {} {} {}{at}, started by {}",
                run.id, run.playbook, run.state, run.by
            );
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

/// A number of seconds as people read it (`4m 10s`), or `-`.
fn secs(s: Option<f64>) -> String {
    s.map_or_else(
        || "-".to_owned(),
        |s| {
            // Whole seconds; a negative or absurd value reads as none.
            Duration::try_from_secs_f64(s.round()).map_or_else(
                |_| "-".to_owned(),
                |d| humantime::format_duration(d).to_string(),
            )
        },
    )
}

/// `toc incidents --stats`: time to acknowledge and to resolve, median
/// and p90, by venue and severity.
pub fn stats(path: &Path, as_json: bool) -> Result<String, String> {
    let rows = open(path)?.stats()?;
    if as_json {
        return serde_json::to_string_pretty(&rows).map_err(|e| e.to_string());
    }
    if rows.is_empty() {
        return Ok(format!("no incident in {}", path.display()));
    }
    let mut out = String::from(
        "venue  severity  incidents  acknowledged  ack median  ack p90  resolved  resolve median  resolve p90\n",
    );
    for r in &rows {
        let _ = writeln!(
            out,
            "{:<6} {:<9} {:>9}  {:>12}  {:>10}  {:>7}  {:>8}  {:>14}  {:>11}",
            r.venue,
            r.severity,
            r.incidents,
            r.acknowledged,
            secs(r.ack_median),
            secs(r.ack_p90),
            r.resolved,
            secs(r.resolve_median),
            secs(r.resolve_p90)
        );
    }
    Ok(out.trim_end().to_owned())
}

/// One incident in a handover line.
fn handover_line(r: &IncidentRecord) -> String {
    let ack = r.ack.as_ref().map_or_else(
        || "not acknowledged".to_owned(),
        |a| format!("acknowledged by {}: {}", a.by, a.comment),
    );
    format!(
        "- **#{}** {} {} — {} ({ack}; opened {})",
        r.id,
        r.severity,
        r.venue,
        r.title,
        rfc3339(r.opened_at)
    )
}

/// `toc handover`: what a duty manager hands to the next one, as Markdown
/// that reads well pasted into a chat.
pub fn handover(path: &Path, since: Duration) -> Result<String, String> {
    let now = SystemTime::now();
    let from = now.checked_sub(since).unwrap_or(SystemTime::UNIX_EPOCH);
    let h = open(path)?.handover(from, now)?;
    let mut out = format!(
        "# TOC handover — {} (last {})\n",
        rfc3339(now),
        humantime::format_duration(since)
    );
    let section = |out: &mut String, title: &str, lines: Vec<String>| {
        let _ = writeln!(out, "\n## {title} ({})", lines.len());
        if lines.is_empty() {
            out.push_str("- none\n");
        }
        for l in lines {
            let _ = writeln!(out, "{l}");
        }
    };
    section(
        &mut out,
        "Still open",
        h.open.iter().map(handover_line).collect(),
    );
    section(
        &mut out,
        "Opened",
        h.opened.iter().map(handover_line).collect(),
    );
    section(
        &mut out,
        "Resolved",
        h.resolved
            .iter()
            .map(|r| {
                let by = r
                    .resolved_by
                    .as_ref()
                    .map_or_else(|| "by itself".to_owned(), |b| format!("by {b}"));
                format!(
                    "- #{} {} {} — {} (resolved {by} at {})",
                    r.id,
                    r.severity,
                    r.venue,
                    r.title,
                    r.resolved_at.map_or_else(String::new, rfc3339)
                )
            })
            .collect(),
    );
    section(
        &mut out,
        "Notes",
        h.notes
            .iter()
            .map(|n| {
                format!(
                    "- #{} {} {}: {}",
                    n.incident,
                    rfc3339(n.at),
                    n.by.as_deref().unwrap_or("toc"),
                    n.text
                )
            })
            .collect(),
    );
    section(
        &mut out,
        "Maintenance in force",
        h.maintenance
            .iter()
            .map(|m| {
                format!(
                    "- {} until {}: {} ({})",
                    m.target,
                    rfc3339(m.end),
                    m.reason,
                    m.by
                )
            })
            .collect(),
    );
    Ok(out.trim_end().to_owned())
}
