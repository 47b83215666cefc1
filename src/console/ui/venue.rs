//! One venue: its devices (worst first), redundancy groups and feeds.

use std::time::SystemTime;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::text::{self, Column, cell, put, u16_of};
use super::title;
use crate::console::app::{App, DeviceSort, device_order, position};
use crate::console::theme::Theme;
use crate::engine::{DeviceSnap, Snapshot};
use crate::model::{DeviceIdx, StateType, Status};

/// Where the parts of the venue view go in the pane body.
struct Parts {
    table: Rect,
    groups: Rect,
    feeds: Rect,
}

/// Lines a feed takes: its id and consumers, its primary, its backup.
const FEED_LINES: usize = 3;

/// Width of the id column of the venue's groups.
fn group_id_w(snap: &Snapshot, venue: usize) -> usize {
    snap.layout.venues.get(venue).map_or(0, |v| {
        v.groups
            .iter()
            .filter_map(|&g| snap.layout.group_info(g))
            .map(|g| text::width(&g.id))
            .max()
            .unwrap_or(0)
    })
}

fn parts(body: Rect, snap: &Snapshot, venue: usize) -> Parts {
    let (g, f) = snap
        .layout
        .venues
        .get(venue)
        .map_or((0, 0), |v| (v.groups.len(), v.feeds.len()));
    let side_by_side = body.width >= 78;
    let wanted = if body.height < 10 || g + f == 0 {
        0
    } else if side_by_side {
        1 + g.max(FEED_LINES * f)
    } else {
        2 + g + FEED_LINES * f
    };
    let mut bottom = u16_of(wanted).min(body.height / 2);
    let gh = u16_of(1 + g).min(bottom);
    // Feeds are shown whole or not at all: a FEEDS title over no feed
    // says nothing.
    let feeds_fit =
        f > 0 && usize::from(bottom.saturating_sub(if side_by_side { 0 } else { gh })) > FEED_LINES;
    if !side_by_side && !feeds_fit {
        bottom = gh;
    }
    let table = Rect::new(body.x, body.y, body.width, body.height - bottom);
    let bottom_area = Rect::new(body.x, table.bottom(), body.width, bottom);
    if side_by_side {
        // Groups as wide as they need (id, status, counts), feeds the rest.
        let groups_w = if feeds_fit {
            u16_of(group_id_w(snap, venue) + 34).min(body.width / 2)
        } else {
            body.width
        };
        Parts {
            table,
            groups: Rect::new(bottom_area.x, bottom_area.y, groups_w, bottom),
            feeds: Rect::new(
                bottom_area.x + groups_w,
                bottom_area.y,
                body.width - groups_w,
                bottom,
            ),
        }
    } else {
        Parts {
            table,
            groups: Rect::new(bottom_area.x, bottom_area.y, body.width, gh),
            feeds: Rect::new(bottom_area.x, bottom_area.y + gh, body.width, bottom - gh),
        }
    }
}

/// Device rows the table shows in a pane body.
pub(crate) fn table_rows(body: Rect, snap: &Snapshot, venue: usize) -> usize {
    usize::from(parts(body, snap, venue).table.height.saturating_sub(1))
}

const DEVICE: usize = 0;
const ROLE: usize = 1;
const STATUS: usize = 2;
const STATE: usize = 3;
const SINCE: usize = 4;
const CHECKED: usize = 5;
const LATENCY: usize = 6;
const REASON: usize = 7;

/// `HARD 3/3`, `SOFT 2/3`, `HARD` (OK), `—` (never checked).
pub(crate) fn state_text(d: &DeviceSnap, max_attempts: u32) -> String {
    if d.last_check.is_none() {
        return "—".to_owned();
    }
    let word = match d.state_type {
        StateType::Hard => "HARD",
        StateType::Soft => "SOFT",
    };
    if d.attempt == 0 {
        word.to_owned()
    } else {
        format!("{word} {}/{max_attempts}", d.attempt)
    }
}

/// Style of the state cell: a soft problem shows in its raw colour.
pub(crate) fn state_style(theme: Theme, d: &DeviceSnap) -> ratatui::style::Style {
    if d.state_type == StateType::Soft && d.raw.is_problem() {
        theme.status(d.raw)
    } else {
        theme.dim()
    }
}

/// Draws venue `venue` in `area` (title row included).
#[allow(clippy::too_many_lines)]
pub(crate) fn draw(
    buf: &mut Buffer,
    area: Rect,
    app: &App,
    snap: &Snapshot,
    venue: usize,
    now: SystemTime,
    focused: bool,
) {
    let theme = app.theme;
    let (Some(info), Some(vs)) = (snap.layout.venues.get(venue), snap.venues.get(venue)) else {
        title(
            buf,
            area,
            theme,
            "Venue",
            focused,
            vec![Span::raw("gone")],
            Vec::new(),
        );
        return;
    };
    let e = &vs.eval;
    let order = device_order(snap, venue, app.device_sort, &app.filter);
    let selected = position(&order, app.device_sel);
    let mut left = vec![Span::styled(text::status(e.status), theme.status(e.status))];
    if let Some(since) = vs.since {
        left.push(Span::styled(
            format!(" for {}", text::age(now, since)),
            theme.dim(),
        ));
    }
    left.push(Span::raw(format!("  {} · {}", info.name, info.city)));
    let mut right = vec![Span::raw(format!("{} devices ", e.total))];
    for (n, s) in [
        (e.down, Status::Down),
        (e.degraded, Status::Degraded),
        (e.unreachable, Status::Unreachable),
        (e.unknown, Status::Unknown),
        (e.maintenance, Status::Maintenance),
    ] {
        if n > 0 {
            right.push(Span::styled(format!("{n}{} ", s.glyph()), theme.status(s)));
        }
    }
    if vs.incidents > 0 {
        right.push(Span::styled(format!("{}!", vs.incidents), theme.error()));
    }
    let body = title(buf, area, theme, &info.code, focused, left, right);
    if body.height == 0 || body.width == 0 {
        return;
    }
    let parts = parts(body, snap, venue);

    // Devices.
    let id_w = order
        .iter()
        .map(|&d| text::width(&snap.layout.devices[d].id))
        .max()
        .unwrap_or(6)
        .clamp(6, 22);
    let role_w = order
        .iter()
        .map(|&d| text::width(&snap.layout.devices[d].role))
        .max()
        .unwrap_or(4)
        .clamp(4, 16);
    let cols = [
        Column::left("DEVICE", id_w),
        Column::left("ROLE", role_w),
        Column::left("STATUS", text::STATUS_W),
        Column::left("STATE", 8),
        Column::right("SINCE", 6),
        Column::right("CHECKED", 7),
        Column::right("LATENCY", 8),
        Column::left("REASON", 0),
    ];
    let layout = text::columns(
        &cols,
        usize::from(body.width).saturating_sub(1),
        24,
        &[LATENCY, ROLE, CHECKED, SINCE, STATE],
    );
    let table = parts.table;
    let rows = usize::from(table.height.saturating_sub(1)).max(1);
    let offset = selected / rows * rows;
    let sort = match app.device_sort {
        DeviceSort::Worst => "worst first",
        DeviceSort::Id => "by id",
    };
    let mut header = vec![Span::raw(" ")];
    for &(i, w) in &layout {
        let mut h = cols[i].header.to_owned();
        if i == REASON {
            let shown = format!(
                "{}–{} of {} · {sort}",
                (offset + 1).min(order.len()),
                (offset + rows).min(order.len()),
                order.len()
            );
            h = format!("{h} {}", text::rpad(&shown, w.saturating_sub(h.len() + 1)));
        }
        header.push(Span::styled(cell(&h, w, cols[i].right), theme.title()));
        header.push(Span::raw(" "));
    }
    put(buf, table, 0, &Line::from(header));
    if order.is_empty() {
        let msg = format!("no device matches `{}`", app.filter_text);
        put(
            buf,
            table,
            1,
            &Line::from(Span::styled(format!(" {msg}"), theme.dim())),
        );
    }
    for (k, &d) in order.iter().enumerate().skip(offset).take(rows) {
        let y = u16_of(k - offset + 1);
        let dev = &snap.layout.devices[d];
        let s = &snap.devices[d];
        let mut spans = vec![Span::raw(" ")];
        for &(i, w) in &layout {
            let span = match i {
                DEVICE => Span::raw(cell(&dev.id, w, false)),
                ROLE => Span::styled(cell(&dev.role, w, false), theme.dim()),
                STATUS => Span::styled(
                    cell(&text::status_fit(s.status, w), w, false),
                    theme.status(s.status),
                ),
                STATE => Span::styled(
                    cell(&state_text(s, snap.layout.max_attempts), w, false),
                    state_style(theme, s),
                ),
                SINCE => Span::raw(cell(
                    &snap
                        .changes(DeviceIdx(d))
                        .and_then(|c| c.since)
                        .map_or_else(|| "—".to_owned(), |t| text::age(now, t)),
                    w,
                    true,
                )),
                CHECKED => Span::raw(cell(
                    &s.last_check
                        .map_or_else(|| "never".to_owned(), |t| text::age(now, t)),
                    w,
                    true,
                )),
                LATENCY => Span::raw(cell(
                    &s.latency.map_or_else(|| "—".to_owned(), text::latency),
                    w,
                    true,
                )),
                _ => {
                    let why = (s.status == Status::Maintenance)
                        .then(|| text::maintenance_of(snap, d))
                        .flatten();
                    Span::raw(cell(
                        why.as_deref().or(s.reason.as_deref()).unwrap_or(""),
                        w,
                        false,
                    ))
                }
            };
            spans.push(span);
            spans.push(Span::raw(" "));
        }
        put(buf, table, y, &Line::from(spans));
        if k == selected && focused {
            text::fill(buf, table, y, theme.selected());
        }
    }

    // Groups.
    let groups = parts.groups;
    if groups.height > 0 {
        put(
            buf,
            groups,
            0,
            &Line::from(Span::styled(" GROUPS", theme.title())),
        );
        let gw = group_id_w(snap, venue);
        for (k, &g) in info.groups.iter().enumerate() {
            let (Some(gi), Some(ge)) = (snap.layout.group_info(g), snap.group(g)) else {
                continue;
            };
            let line = Line::from(vec![
                Span::raw(format!(" {} ", text::pad(&gi.id, gw))),
                Span::styled(
                    text::pad(&text::status(ge.status), text::STATUS_W),
                    theme.status(ge.status),
                ),
                Span::raw(format!(" {}/{} up (min {})", ge.up, ge.total, ge.min_up)),
            ]);
            put(buf, groups, u16_of(k + 1), &line);
        }
    }

    // Feeds.
    let feeds = parts.feeds;
    if feeds.height > 0 {
        put(
            buf,
            feeds,
            0,
            &Line::from(Span::styled(" FEEDS", theme.title())),
        );
        let source = |role: &str, d: DeviceIdx| -> Line<'static> {
            let status = snap.device(d).map_or(Status::Unknown, |s| s.status);
            let id = snap.layout.device_info(d).map_or("?", |i| i.id.as_str());
            Line::from(vec![
                Span::styled(format!("   {role:<8}"), theme.dim()),
                Span::raw(format!("{id} ")),
                Span::styled(text::status(status), theme.status(status)),
            ])
        };
        let mut y = 1;
        for &f in &info.feeds {
            let Some(feed) = snap.layout.feeds.get(f.0) else {
                continue;
            };
            let head = Line::from(vec![
                Span::raw(format!(" {}", feed.id)),
                Span::styled(format!(" → {}", feed.consumers.join(", ")), theme.dim()),
            ]);
            put(buf, feeds, y, &head);
            put(buf, feeds, y + 1, &source("primary", feed.primary));
            put(buf, feeds, y + 2, &source("backup", feed.backup));
            y += u16_of(FEED_LINES);
        }
    }
}
