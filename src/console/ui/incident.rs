//! One incident in detail: what it is, where it is in its lifecycle (who
//! acknowledged it and until when, how long it has gone unacknowledged,
//! whether its condition is clear), then its timeline, oldest first
//! (opened, acknowledgements, notes, severity changes, resolution).

use std::time::SystemTime;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::text::{self, put};
use super::title;
use crate::console::app::App;
use crate::engine::{Incident, IncidentId, IncidentState, Snapshot, TimelineKind};

/// The lines above the timeline, as label and value.
fn facts(incident: &Incident, snap: &Snapshot, now: SystemTime) -> Vec<(&'static str, String)> {
    let venue = incident
        .venue
        .and_then(|v| snap.layout.venue_info(v))
        .map_or("TOC", |v| v.code.as_str());
    let mut facts = vec![
        ("What", incident.title.clone()),
        ("Where", format!("{venue} · {}", incident.subject)),
        (
            "Opened",
            format!(
                "{} ({} ago){}",
                text::clock(incident.opened),
                text::age(now, incident.opened),
                match incident.reopened {
                    0 => String::new(),
                    1 => " · reopened once".to_owned(),
                    n => format!(" · reopened {n} times"),
                }
            ),
        ),
    ];
    let acked = incident
        .ack
        .as_ref()
        .filter(|_| incident.state == IncidentState::Acknowledged);
    let state = if let Some(ack) = acked {
        let until = ack.expires.map_or_else(String::new, |t| {
            format!(" · open again at {}", text::clock(t))
        });
        format!(
            "ACKNOWLEDGED by {} {} ago: {}{until}",
            ack.by,
            text::age(now, ack.at),
            ack.comment
        )
    } else {
        format!(
            "OPEN · not acknowledged for {}",
            text::age(now, incident.opened)
        )
    };
    facts.push(("State", state));
    if let Some(clear) = incident.clear_since {
        facts.push((
            "Condition",
            format!(
                "clear since {} ({} ago): it resolves by itself after the hold",
                text::clock(clear),
                text::age(now, clear)
            ),
        ));
    } else {
        facts.push(("Condition", "still failing".to_owned()));
    }
    if incident.in_maintenance {
        facts.push((
            "Maintenance",
            "its target is in maintenance: it notifies no more".to_owned(),
        ));
    }
    facts
}

/// The word of a timeline entry.
fn kind_word(kind: TimelineKind) -> &'static str {
    match kind {
        TimelineKind::Opened => "opened",
        TimelineKind::Severity => "severity",
        TimelineKind::Acknowledged => "acknowledged",
        TimelineKind::AckExpired => "ack expired",
        TimelineKind::Escalated => "escalated",
        TimelineKind::Note => "note",
        TimelineKind::Maintenance => "maintenance",
        TimelineKind::Resolved => "resolved",
        TimelineKind::Reopened => "reopened",
        TimelineKind::Playbook => "playbook",
    }
}

/// How many playbooks that match are listed, at most.
const PLAYBOOKS_SHOWN: usize = 3;
/// How many runs are listed, at most.
const RUNS_SHOWN: usize = 2;

/// The "Playbooks" section: the playbooks that match the incident, best
/// first and numbered (`:run 1`), then its runs, the active one first.
/// Nothing when no playbook is loaded and the incident has no run.
fn playbook_lines(app: &App, snap: &Snapshot, incident: &Incident) -> Vec<Line<'static>> {
    let theme = app.theme;
    let runs = crate::console::app::incident_runs(snap, incident.id);
    if snap.playbooks.is_empty() && runs.is_empty() {
        return Vec::new();
    }
    let matching = crate::console::app::matching(snap, incident);
    let mut lines = vec![Line::from(vec![
        Span::styled(" Playbooks", theme.title()),
        Span::styled(
            if runs.is_empty() {
                "  R runs the first · D dry-runs it"
            } else {
                "  R runs the first · D dry-runs it · Enter opens the run"
            },
            theme.dim(),
        ),
    ])];
    if matching.is_empty() {
        lines.push(Line::from(Span::styled(
            "   none matches this incident; :run PLAYBOOK runs one by hand",
            theme.dim(),
        )));
    }
    for (n, (book, _)) in matching.iter().take(PLAYBOOKS_SHOWN).enumerate() {
        let steps = match book.steps.len() {
            1 => "1 step".to_owned(),
            k => format!("{k} steps"),
        };
        lines.push(Line::from(vec![
            Span::styled(format!("   {}. ", n + 1), theme.key()),
            Span::raw(book.title.clone()),
            Span::styled(format!(" · {steps} · {}", book.id), theme.dim()),
        ]));
    }
    if matching.len() > PLAYBOOKS_SHOWN {
        lines.push(Line::from(Span::styled(
            format!(
                "   and {} more (:run N picks one)",
                matching.len() - PLAYBOOKS_SHOWN
            ),
            theme.dim(),
        )));
    }
    for run in runs.iter().take(RUNS_SHOWN) {
        let (glyph, style) = super::run::run_mark(theme, run.state);
        lines.push(Line::from(vec![
            Span::styled(format!("   {glyph} run {} {} ", run.id, run.state), style),
            Span::raw(format!("{} · {}", run.playbook, super::run::where_at(run))),
            Span::styled(
                format!(" · {}", super::run::run_time(run, snap.at)),
                theme.dim(),
            ),
        ]));
    }
    lines
}

/// Rows above the timeline: facts, a blank, the playbooks and a blank.
fn rows_above(app: &App, incident: &Incident, snap: &Snapshot) -> usize {
    let playbooks = playbook_lines(app, snap, incident).len();
    facts(incident, snap, snap.at).len() + 1 + if playbooks > 0 { playbooks + 1 } else { 0 }
}

/// Rows of timeline a page holds in `area` (the pane, title included).
pub(crate) fn timeline_rows(area: Rect, app: &App, snap: &Snapshot, id: IncidentId) -> usize {
    let above = snap
        .incidents
        .iter()
        .find(|i| i.id == id)
        .map_or(0, |i| rows_above(app, i, snap));
    usize::from(area.height).saturating_sub(above + 2).max(1)
}

/// Draws the incident `id` in `area` (title row included).
pub(crate) fn draw(
    buf: &mut Buffer,
    area: Rect,
    app: &App,
    snap: &Snapshot,
    id: IncidentId,
    now: SystemTime,
    focused: bool,
) {
    let theme = app.theme;
    let name = format!("Incident #{id}");
    let incident = snap.incidents.iter().find(|i| i.id == id);
    let (left, right) = incident.map_or_else(Default::default, |i| {
        (
            vec![Span::styled(
                text::status(i.severity),
                theme.status(i.severity),
            )],
            vec![Span::styled(
                match i.timeline.len() {
                    1 => "1 entry".to_owned(),
                    n => format!("{n} entries"),
                },
                theme.dim(),
            )],
        )
    });
    let body = title(buf, area, theme, &name, focused, left, right);
    let Some(incident) = incident else {
        put(
            buf,
            body,
            0,
            &Line::from(Span::styled(
                format!(
                    " #{id} is resolved: it left the list (`toc incidents --all` keeps it). Esc goes back."
                ),
                theme.dim(),
            )),
        );
        return;
    };
    let facts = facts(incident, snap, now);
    let label_w = facts.iter().map(|(l, _)| text::width(l)).max().unwrap_or(6);
    let mut y = 0u16;
    for (label, value) in &facts {
        if y >= body.height {
            return;
        }
        let style = if *label == "State" && value.starts_with("OPEN") {
            theme.error()
        } else {
            ratatui::style::Style::default()
        };
        put(
            buf,
            body,
            y,
            &Line::from(vec![
                Span::styled(format!(" {}  ", text::pad(label, label_w)), theme.dim()),
                Span::styled(value.clone(), style),
            ]),
        );
        y += 1;
    }
    y += 1;
    let playbooks = playbook_lines(app, snap, incident);
    if !playbooks.is_empty() {
        for line in &playbooks {
            put(buf, body, y, line);
            y = y.saturating_add(1);
        }
        y = y.saturating_add(1);
    }
    if y >= body.height {
        return;
    }
    put(
        buf,
        body,
        y,
        &Line::from(Span::styled(" Timeline (oldest first)", theme.title())),
    );
    y += 1;
    draw_timeline(buf, body, y, app, incident);
}

/// The timeline from row `y` of `body` down, scrolled as the app says.
fn draw_timeline(buf: &mut Buffer, body: Rect, mut y: u16, app: &App, incident: &Incident) {
    let theme = app.theme;
    let rows = usize::from(body.height.saturating_sub(y));
    let n = incident.timeline.len();
    let start = app.history_scroll.min(n.saturating_sub(rows.max(1)));
    for e in incident.timeline.iter().skip(start).take(rows) {
        let by =
            e.by.as_deref()
                .map_or_else(String::new, |b| format!("{b}: "));
        let style = match e.kind {
            TimelineKind::Opened | TimelineKind::Escalated | TimelineKind::AckExpired => {
                theme.error()
            }
            _ => ratatui::style::Style::default(),
        };
        put(
            buf,
            body,
            y,
            &Line::from(vec![
                Span::styled(format!(" {} ", text::clock(e.at)), theme.dim()),
                Span::styled(format!("{} ", text::pad(kind_word(e.kind), 12)), style),
                Span::raw(format!("{by}{}", e.text)),
            ]),
        );
        y += 1;
    }
}
