//! Open incidents, most severe first, then oldest first, each with where
//! it is in its lifecycle: `OPEN` (nobody has it), `ACK dana` (who took
//! it), `CLEAR` (its condition cleared: it resolves after the hold),
//! `MAINT` (its target is in maintenance).

use std::time::SystemTime;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::text::{self, Column, cell, put, u16_of};
use super::title;
use crate::console::app::App;
use crate::engine::{Incident, IncidentState, Snapshot};

/// Where an incident is, in a few letters; an open one says for how long
/// nobody has taken it.
fn state_word(incident: &Incident, now: SystemTime) -> String {
    if incident.in_maintenance {
        "MAINT".to_owned()
    } else if incident.clear_since.is_some() {
        "CLEAR".to_owned()
    } else if incident.state == IncidentState::Acknowledged {
        let by = incident.ack.as_ref().map_or("", |a| a.by.as_str());
        format!("ACK {by}")
    } else {
        format!("OPEN {}", text::age(now, incident.opened))
    }
}

/// Draws the incidents pane in `area` (title row included).
pub(crate) fn draw(
    buf: &mut Buffer,
    area: Rect,
    app: &App,
    snap: &Snapshot,
    now: SystemTime,
    focused: bool,
) {
    let theme = app.theme;
    // Those in the console's scope (every one, unless narrowed).
    let in_scope: Vec<&crate::engine::Incident> = snap
        .incidents
        .iter()
        .filter(|i| app.scope().has_incident(snap, i))
        .collect();
    let n = in_scope.len();
    let unacked = in_scope
        .iter()
        .filter(|i| i.state == IncidentState::Open && i.clear_since.is_none())
        .count();
    let mut left = if unacked == n {
        vec![Span::raw(format!("{n} open"))]
    } else {
        vec![Span::raw(format!("{n} open, {unacked} not acknowledged"))]
    };
    let order = app.incidents_shown(snap);
    let narrowed = order.len() != n || !app.filter().is_empty();
    if narrowed {
        let which = match app.incident_view().word() {
            "" => String::new(),
            w => format!("{w}, "),
        };
        let filter = if app.filter().is_empty() {
            String::new()
        } else {
            format!("/{}, ", app.filter_text())
        };
        left.push(Span::styled(
            format!(" · showing {which}{filter}{}", order.len()),
            theme.title(),
        ));
    }
    let body = title(buf, area, theme, "Incidents", focused, left, Vec::new());
    if body.height == 0 || body.width == 0 {
        return;
    }
    if order.is_empty() {
        let none = if n == 0 {
            " no open incident"
        } else {
            " none of them here (o shows the others, Esc clears a filter)"
        };
        put(buf, body, 0, &Line::from(Span::styled(none, theme.dim())));
        return;
    }
    let id_w = snap
        .incidents
        .iter()
        .map(|i| text::width(&i.id.to_string()) + 1)
        .max()
        .unwrap_or(4);
    let code_w = snap
        .layout
        .venues
        .iter()
        .map(|v| text::width(&v.code))
        .max()
        .unwrap_or(3);
    let cols = [
        Column::right("ID", id_w),
        Column::left("SEVERITY", 10),
        Column::left("STATE", 10),
        Column::left("VENUE", code_w.max(5)),
        Column::right("AGE", 5),
        Column::left("TITLE", 0),
    ];
    // The title keeps 20 columns: in a narrow pane the venue goes first
    // (the title names the device or group, which carries the venue's
    // code), then the age, then the state.
    let layout = text::columns(
        &cols,
        usize::from(body.width).saturating_sub(1),
        20,
        &[3, 4, 2],
    );
    let mut header = vec![Span::raw(" ")];
    for &(i, w) in &layout {
        header.push(Span::styled(
            cell(cols[i].header, w, cols[i].right),
            theme.title(),
        ));
        header.push(Span::raw(" "));
    }
    put(buf, body, 0, &Line::from(header));
    let rows = usize::from(body.height.saturating_sub(1)).max(1);
    let selected = crate::console::app::incident_position(&order, snap, app.incident_sel);
    let offset = selected / rows * rows;
    let shown = order.iter().filter_map(|&k| snap.incidents.get(k));
    for (k, incident) in shown.enumerate().skip(offset).take(rows) {
        let y = u16_of(k - offset + 1);
        let mut spans = vec![Span::raw(" ")];
        for &(i, w) in &layout {
            let span = cell_of(i, w, incident, snap, now, app.theme);
            spans.push(span);
            spans.push(Span::raw(" "));
        }
        put(buf, body, y, &Line::from(spans));
        if k == selected && focused {
            text::fill(buf, body, y, theme.selected());
        }
    }
}

/// The cell of column `i` (see the columns of [`draw`]) for `incident`.
fn cell_of(
    i: usize,
    w: usize,
    incident: &Incident,
    snap: &Snapshot,
    now: SystemTime,
    theme: crate::console::theme::Theme,
) -> Span<'static> {
    match i {
        0 => Span::styled(cell(&format!("#{}", incident.id), w, true), theme.dim()),
        1 => Span::styled(
            cell(&text::status_fit(incident.severity, w), w, false),
            theme.status(incident.severity),
        ),
        2 => {
            let word = state_word(incident, now);
            let style = if word.starts_with("OPEN") {
                theme.error()
            } else {
                theme.dim()
            };
            Span::styled(cell(&word, w, false), style)
        }
        3 => Span::raw(cell(
            incident
                .venue
                .and_then(|v| snap.layout.venue_info(v))
                .map_or("TOC", |v| v.code.as_str()),
            w,
            false,
        )),
        4 => Span::raw(cell(&text::age(now, incident.opened), w, true)),
        _ => Span::raw(cell(&incident.title, w, false)),
    }
}
