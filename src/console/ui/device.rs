//! One device in detail: what it is, how it is, what it read, and its
//! recent results.

use std::time::SystemTime;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::text::{self, Column, cell, put, u16_of};
use super::title;
use super::venue::{state_style, state_text};
use crate::console::app::App;
use crate::console::theme::Theme;
use crate::engine::Snapshot;
use crate::model::{DeviceIdx, StateType, Status};

/// Width of the readings column when it stands beside the info.
const READINGS_W: u16 = 32;
/// Columns between the info and the readings beside it.
const GAP_W: u16 = 2;
/// Most lines a reason takes (wrapped).
const REASON_LINES: usize = 2;
/// State changes shown (newest first).
const CHANGES_SHOWN: usize = 5;
/// Width of the labels of the info (` reason    `).
const LABEL_W: usize = 11;
/// Rows the history keeps at least (header included).
const HISTORY_MIN: u16 = 5;

struct Parts {
    info: Rect,
    readings: Rect,
    history: Rect,
}

/// Whether the readings stand beside the info.
fn beside(body: Rect) -> bool {
    body.width >= 76
}

/// Width of the info column.
fn info_width(body: Rect) -> usize {
    if beside(body) {
        usize::from(body.width.saturating_sub(READINGS_W + GAP_W))
    } else {
        usize::from(body.width)
    }
}

/// What the device's being down does to its venue: through its group
/// when it has one (a member alone does not decide), else by its
/// criticality.
fn if_down(snap: &Snapshot, device: usize) -> String {
    let Some(info) = snap.layout.devices.get(device) else {
        return String::new();
    };
    match info.group.and_then(|g| snap.layout.group_info(g)) {
        Some(g) => format!(
            "counts through group {}: the venue is DEGRADED while at least {} of {} are up, DOWN below",
            g.id,
            g.min_up,
            g.members.len()
        ),
        None if info.critical => "critical: the venue turns DOWN".to_owned(),
        None => "not critical: the venue turns DEGRADED".to_owned(),
    }
}

/// A value wrapped to the info column (at most [`REASON_LINES`]).
fn reason_lines(reason: &str, body: Rect) -> Vec<String> {
    let w = info_width(body).saturating_sub(LABEL_W).max(10);
    let mut lines = super::bars::wrap(reason, w);
    if lines.len() > REASON_LINES {
        lines.truncate(REASON_LINES);
        if let Some(l) = lines.last_mut() {
            *l = text::fit(&format!("{l} …"), w);
        }
    }
    lines
}

fn parts(body: Rect, info_lines: usize, reading_lines: usize) -> Parts {
    let beside = beside(body);
    let wanted = u16_of(if beside {
        info_lines.max(reading_lines)
    } else {
        info_lines + reading_lines
    });
    let top = if body.height >= wanted + HISTORY_MIN {
        wanted
    } else {
        body.height.saturating_sub(HISTORY_MIN).max(body.height / 2)
    };
    let history = Rect::new(body.x, body.y + top, body.width, body.height - top);
    if beside {
        let left = body.width - READINGS_W;
        Parts {
            // A column between the two, so a cut value never runs into a
            // reading.
            info: Rect::new(body.x, body.y, left.saturating_sub(GAP_W), top),
            readings: Rect::new(body.x + left, body.y, READINGS_W, top),
            history,
        }
    } else {
        let info_h = u16_of(info_lines).min(top);
        Parts {
            info: Rect::new(body.x, body.y, body.width, info_h),
            readings: Rect::new(body.x, body.y + info_h, body.width, top - info_h),
            history,
        }
    }
}

/// History rows shown in a pane body.
pub(crate) fn history_rows(body: Rect, snap: &Snapshot, device: usize) -> usize {
    let (info, readings) = snap.devices.get(device).map_or((0, 0), |d| {
        let why = (d.status == Status::Maintenance)
            .then(|| super::text::maintenance_of(snap, device))
            .flatten();
        let reason = reason_lines(why.as_deref().or(d.reason.as_deref()).unwrap_or("—"), body)
            .len()
            + reason_lines(&if_down(snap, device), body).len();
        let changes = changes_count(snap, device);
        (
            info_count(d.notes.len(), reason, changes),
            reading_count(d.readings.len()),
        )
    });
    usize::from(parts(body, info, readings).history.height.saturating_sub(1))
}

/// Lines of the info: `wrapped` lines of reason and effect, the fixed
/// ones, notes and changes.
fn info_count(notes: usize, wrapped: usize, changes: usize) -> usize {
    7 + wrapped.max(2) + notes.max(1) + changes.max(1)
}

fn changes_count(snap: &Snapshot, device: usize) -> usize {
    snap.changes(DeviceIdx(device))
        .map_or(0, |c| c.changes.len().min(CHANGES_SHOWN))
}

fn reading_count(readings: usize) -> usize {
    1 + readings.max(1)
}

fn label(name: &str) -> Span<'static> {
    Span::raw(format!(" {name:<9} "))
}

const _: () = assert!(LABEL_W == 11, "label() draws 1 + 9 + 1 columns");

fn status_spans(theme: Theme, status: Status) -> Span<'static> {
    Span::styled(text::status(status), theme.status(status))
}

/// Draws device `device` in `area` (title row included).
#[allow(clippy::too_many_lines)]
pub(crate) fn draw(
    buf: &mut Buffer,
    area: Rect,
    app: &App,
    snap: &Snapshot,
    device: usize,
    now: SystemTime,
    focused: bool,
) {
    let theme = app.theme;
    let (Some(info), Some(d)) = (snap.layout.devices.get(device), snap.devices.get(device)) else {
        title(
            buf,
            area,
            theme,
            "Device",
            focused,
            vec![Span::raw("gone")],
            Vec::new(),
        );
        return;
    };
    let venue = snap.layout.venue_info(info.venue);
    let max = snap.layout.max_attempts;
    let left = vec![
        status_spans(theme, d.status),
        Span::raw(format!(
            "  {} · {}",
            info.role,
            venue.map_or_else(String::new, |v| format!("{} {}", v.code, v.name))
        )),
    ];
    let right = vec![Span::styled(state_text(d, max), state_style(theme, d))];
    let body = title(buf, area, theme, &info.id, focused, left, right);
    if body.height == 0 || body.width == 0 {
        return;
    }

    let mut lines: Vec<Line<'static>> = Vec::new();
    let changes = snap.changes(DeviceIdx(device));
    let mut status_line = vec![label("status"), status_spans(theme, d.status)];
    if let Some(since) = changes.and_then(|c| c.since) {
        status_line.push(Span::raw(format!(" for {}", text::age(now, since))));
    }
    status_line.push(Span::raw(format!("  {}", state_text(d, max))));
    if d.state_type == StateType::Soft || d.raw != d.status {
        status_line.push(Span::raw("  last check "));
        status_line.push(status_spans(theme, d.raw));
    }
    lines.push(Line::from(status_line));
    // Wrapped in its column: never cut into the readings beside it.
    let why = (d.status == Status::Maintenance)
        .then(|| super::text::maintenance_of(snap, device))
        .flatten();
    for (k, l) in reason_lines(why.as_deref().or(d.reason.as_deref()).unwrap_or("—"), body)
        .into_iter()
        .enumerate()
    {
        let name = if k == 0 { "reason" } else { "" };
        lines.push(Line::from(vec![label(name), Span::raw(l)]));
    }
    lines.push(Line::from(vec![
        label("flapping"),
        Span::raw(match d.flapping {
            Some(p) => format!("yes, {p:.0}% state change"),
            None => "no".to_owned(),
        }),
    ]));
    let checked = match d.last_check {
        Some(t) => format!("{} ago", text::age(now, t)),
        None => "never".to_owned(),
    };
    let latency = d.latency.map_or_else(|| "—".to_owned(), text::latency);
    lines.push(Line::from(vec![
        label("checked"),
        Span::raw(format!(
            "{checked} · latency {latency} · every {}",
            humantime::format_duration(info.poll_interval)
        )),
    ]));
    lines.push(Line::from(vec![
        label("target"),
        Span::raw(format!("{} {}", info.kind, info.target)),
    ]));
    lines.push(Line::from(vec![
        label("about"),
        Span::raw(info.description.clone().unwrap_or_else(|| "—".to_owned())),
    ]));
    let mut group = vec![label("group")];
    match info
        .group
        .and_then(|g| Some((snap.layout.group_info(g)?, snap.group(g)?)))
    {
        Some((gi, ge)) => {
            group.push(Span::raw(format!("{} ", gi.id)));
            group.push(status_spans(theme, ge.status));
            group.push(Span::raw(format!(
                " {}/{} up (min {})",
                ge.up, ge.total, ge.min_up
            )));
        }
        None => group.push(Span::raw("—")),
    }
    lines.push(Line::from(group));
    let mut parents = vec![label("parents")];
    if info.parents.is_empty() {
        parents.push(Span::raw("— (polled directly)"));
    }
    for (k, &p) in info.parents.iter().enumerate() {
        if k > 0 {
            parents.push(Span::raw(", "));
        }
        let id = snap.layout.device_info(p).map_or("?", |i| i.id.as_str());
        let status = snap.device(p).map_or(Status::Unknown, |s| s.status);
        parents.push(Span::raw(format!("{id} ")));
        parents.push(status_spans(theme, status));
    }
    lines.push(Line::from(parents));
    for (k, l) in reason_lines(&if_down(snap, device), body)
        .into_iter()
        .enumerate()
    {
        let name = if k == 0 { "if down" } else { "" };
        lines.push(Line::from(vec![label(name), Span::raw(l)]));
    }
    match changes {
        Some(c) if !c.changes.is_empty() => {
            for (k, t) in c.newest_first().take(CHANGES_SHOWN).enumerate() {
                let name = if k == 0 { "changes" } else { "" };
                let mut spans = vec![
                    label(name),
                    Span::styled(format!("{} ", text::clock(t.at)), theme.dim()),
                    Span::raw(format!("{} → ", t.from.word())),
                    Span::styled(t.to.word(), theme.status(t.to)),
                ];
                if let Some(r) = &t.reason {
                    spans.push(Span::raw(format!(": {r}")));
                }
                lines.push(Line::from(spans));
            }
        }
        _ => lines.push(Line::from(vec![
            label("changes"),
            Span::styled("none seen", theme.dim()),
        ])),
    }
    if d.notes.is_empty() {
        lines.push(Line::from(vec![
            label("notes"),
            Span::styled("—", theme.dim()),
        ]));
    }
    for (k, note) in d.notes.iter().enumerate() {
        let name = if k == 0 { "notes" } else { "" };
        lines.push(Line::from(vec![label(name), Span::raw(note.clone())]));
    }

    let mut readings: Vec<Line<'static>> =
        vec![Line::from(Span::styled(" READINGS", theme.title()))];
    let name_w = d
        .readings
        .iter()
        .map(|r| text::width(&r.name))
        .max()
        .unwrap_or(0)
        .min(16);
    for r in &d.readings {
        readings.push(Line::from(vec![
            Span::styled(format!(" {} ", text::pad(&r.name, name_w)), theme.dim()),
            Span::raw(r.value.clone()),
        ]));
    }
    if d.readings.is_empty() {
        let why = if d.last_check.is_some() {
            " none: no answer"
        } else {
            " none: not checked yet"
        };
        readings.push(Line::from(Span::styled(why, theme.dim())));
    }

    let parts = parts(body, lines.len(), readings.len());
    for (k, line) in lines.iter().enumerate() {
        put(buf, parts.info, u16_of(k), line);
    }
    for (k, line) in readings.iter().enumerate() {
        put(buf, parts.readings, u16_of(k), line);
    }

    // History, newest first.
    let history = parts.history;
    if history.height == 0 {
        return;
    }
    let cols = [
        Column::left("TIME", 8),
        Column::left("STATUS", text::STATUS_W),
        Column::left("STATE", 5),
        Column::right("LATENCY", 8),
        Column::left("REASON", 0),
    ];
    let layout = text::columns(&cols, usize::from(body.width).saturating_sub(1), 10, &[3]);
    let rows = usize::from(history.height - 1);
    let n = d.history.len();
    let offset = app.history_scroll.min(n.saturating_sub(1));
    let mut header = vec![Span::raw(" ")];
    for &(i, w) in &layout {
        let h = if i == 4 {
            format!(
                "REASON {}",
                text::rpad(&format!("history, newest first: {n}"), w.saturating_sub(7))
            )
        } else {
            cols[i].header.to_owned()
        };
        header.push(Span::styled(cell(&h, w, cols[i].right), theme.title()));
        header.push(Span::raw(" "));
    }
    put(buf, history, 0, &Line::from(header));
    if n == 0 {
        put(
            buf,
            history,
            1,
            &Line::from(Span::styled(" not checked yet", theme.dim())),
        );
    }
    for (k, entry) in d.history.iter().rev().enumerate().skip(offset).take(rows) {
        let mut spans = vec![Span::raw(" ")];
        for &(i, w) in &layout {
            let span = match i {
                0 => Span::raw(cell(&text::clock(entry.at()), w, false)),
                1 => Span::styled(
                    cell(&text::status_fit(entry.status, w), w, false),
                    theme.status(entry.status),
                ),
                2 => Span::styled(
                    cell(
                        match entry.state_type {
                            StateType::Hard => "HARD",
                            StateType::Soft => "SOFT",
                        },
                        w,
                        false,
                    ),
                    theme.dim(),
                ),
                3 => Span::raw(cell(
                    &entry
                        .latency()
                        .map_or_else(|| "—".to_owned(), text::latency),
                    w,
                    true,
                )),
                _ => Span::raw(cell(entry.reason().unwrap_or(""), w, false)),
            };
            spans.push(span);
            spans.push(Span::raw(" "));
        }
        put(buf, history, u16_of(k - offset + 1), &Line::from(spans));
    }
}
