//! The status bar (top), the message or command line and the footer of
//! keys (bottom).

use std::time::{Duration, SystemTime};

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};

use super::text::{self, fit, put};
use crate::console::app::{App, InputKind, MessageKind, wall_order};
use crate::console::keymap::{self, Action, Binding};
use crate::engine::{Link, Snapshot};
use crate::model::Status;

/// Older than this, the snapshot's age shows in the status bar.
pub(crate) const STALE_AFTER: Duration = Duration::from_secs(5);

fn counts(app: &App, label: &str, items: &[(usize, Status)]) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    if !label.is_empty() {
        spans.push(Span::raw(format!("{label} ")));
    }
    for (i, &(n, status)) in items.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw(" "));
        }
        spans.push(Span::styled(
            format!("{n}{}", status.glyph()),
            app.theme.count(status, n),
        ));
    }
    spans
}

/// The top line: event, clock, wall status, totals, link, user, and the
/// snapshot's age when it is stale. The first of several levels of
/// detail that fits the width is drawn.
#[allow(clippy::too_many_lines)]
pub(crate) fn status_bar(
    buf: &mut Buffer,
    area: Rect,
    app: &App,
    snap: &Snapshot,
    now: SystemTime,
) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let theme = app.theme;
    let mut venues_down = 0;
    let mut venues_degraded = 0;
    let (mut down, mut degraded, mut unreachable) = (0, 0, 0);
    for v in &snap.venues {
        match v.eval.status {
            Status::Down => venues_down += 1,
            Status::Degraded => venues_degraded += 1,
            _ => {}
        }
        down += v.eval.down;
        degraded += v.eval.degraded;
        unreachable += v.eval.unreachable;
    }
    let venue_counts = [
        (venues_down, Status::Down),
        (venues_degraded, Status::Degraded),
    ];
    let device_counts = [
        (down, Status::Down),
        (degraded, Status::Degraded),
        (unreachable, Status::Unreachable),
    ];
    let clock = text::clock(now);
    let wall = vec![Span::styled(
        text::status(snap.wall),
        theme.status(snap.wall),
    )];
    let link = match app.link {
        Link::Local | Link::Connected => vec![Span::styled(app.link.word(), theme.dim())],
        Link::Lost => vec![Span::styled(" link LOST ", theme.alert())],
    };
    let age = now.duration_since(snap.at).unwrap_or_default();
    let stale = (age > STALE_AFTER).then(|| {
        vec![Span::styled(
            format!(" data {} old ", text::age(now, snap.at)),
            theme.alert(),
        )]
    });
    let user = &app.identity.user;
    let role = app.identity.role;
    // From the most to the least detailed; the first that fits is drawn.
    let levels: [Vec<Vec<Span<'static>>>; 6] = [
        vec![
            vec![Span::styled(format!("{clock} UTC"), theme.title())],
            wall.clone(),
            counts(app, "venues", &venue_counts),
            counts(app, "devices", &device_counts),
            vec![Span::raw(format!("{user} ({role})"))],
        ],
        vec![
            vec![Span::styled(clock.clone(), theme.title())],
            wall.clone(),
            counts(app, "venues", &venue_counts),
            counts(app, "devices", &device_counts),
            vec![Span::raw(format!("{user} ({role})"))],
        ],
        vec![
            vec![Span::styled(clock.clone(), theme.title())],
            wall.clone(),
            counts(app, "venues", &venue_counts),
            counts(app, "devices", &device_counts),
            vec![Span::raw(user.clone())],
        ],
        vec![
            vec![Span::styled(clock.clone(), theme.title())],
            wall.clone(),
            counts(app, "ven", &venue_counts),
            counts(app, "dev", &device_counts),
            vec![Span::raw(user.clone())],
        ],
        vec![
            vec![Span::styled(clock.clone(), theme.title())],
            wall.clone(),
            counts(app, "ven", &venue_counts),
            counts(app, "dev", &device_counts),
        ],
        vec![vec![Span::styled(clock, theme.title())], wall],
    ];
    let total = usize::from(area.width);
    let join = |segments: &[Vec<Span<'static>>]| -> Vec<Span<'static>> {
        let mut out = Vec::new();
        for seg in segments {
            if !out.is_empty() {
                out.push(Span::raw("  "));
            }
            out.extend(seg.iter().cloned());
        }
        out
    };
    let mut chosen = Vec::new();
    for level in &levels {
        let mut segments = level.clone();
        // Link and staleness are never dropped: they say whether the rest is true.
        segments.insert(2, link.clone());
        if let Some(stale) = &stale {
            segments.insert(2, stale.clone());
        }
        chosen = join(&segments);
        if text::line_width(&chosen) + 2 <= total {
            break;
        }
    }
    let right_w = text::line_width(&chosen) + 1;
    let left_w = total.saturating_sub(right_w + 1);
    let event = if left_w >= 8 {
        fit(&snap.layout.event, left_w - 2)
    } else {
        String::new()
    };
    let gap = total.saturating_sub(right_w + text::width(&event) + 1);
    let mut spans = vec![
        Span::raw(" "),
        Span::styled(event, theme.title()),
        Span::raw(" ".repeat(gap)),
    ];
    spans.extend(chosen);
    spans.push(Span::raw(" "));
    put(buf, area, 0, &Line::from(spans));
}

/// The line above the footer: what is being typed, else the last
/// message, else the filter in force. Returns where the cursor goes when
/// text is being typed.
pub(crate) fn message_line(
    buf: &mut Buffer,
    area: Rect,
    app: &App,
    snap: &Snapshot,
) -> Option<Position> {
    if area.width == 0 || area.height == 0 {
        return None;
    }
    let theme = app.theme;
    let total = usize::from(area.width);
    if let Some(input) = app.input() {
        let prefix = match input.kind {
            InputKind::Filter => "/",
            InputKind::Command => ":",
        };
        let typed = format!("{prefix}{}", input.text);
        let mut spans = vec![Span::raw(" "), Span::styled(typed.clone(), theme.title())];
        if let Some(error) = &input.error {
            spans.push(Span::raw("   "));
            spans.push(Span::styled(error.clone(), theme.error()));
        } else if input.kind == InputKind::Filter && !app.filter.is_empty() {
            let n = wall_order(snap, app.wall_sort, &app.filter).len();
            spans.push(Span::styled(
                format!("   {n} of {} venues", snap.layout.venues.len()),
                theme.dim(),
            ));
        }
        put(buf, area, 0, &Line::from(spans));
        // Keep the end of a long line in view.
        return Some(super::cursor_after(
            area,
            &fit(&format!(" {typed}"), total.saturating_sub(1)),
        ));
    }
    let line = if let Some(message) = app.message() {
        let style = match message.kind {
            MessageKind::Info => ratatui::style::Style::new(),
            MessageKind::Error => theme.error(),
            MessageKind::Pending => theme.dim(),
        };
        Line::from(Span::styled(
            format!(" {}", fit(&message.text, total.saturating_sub(1))),
            style,
        ))
    } else if !app.filter.is_empty() {
        Line::from(vec![
            Span::styled(" filter ", theme.dim()),
            Span::styled(app.filter_text().to_owned(), theme.title()),
            Span::styled("  (/ edits, Esc clears)", theme.dim()),
        ])
    } else {
        Line::default()
    };
    put(buf, area, 0, &line);
    None
}

/// The footer entries for the context: help first, then the context's
/// own keys, then the global ones.
pub(crate) fn footer_entries(app: &App) -> Vec<&'static Binding> {
    let context = app.context();
    let active: Vec<&'static Binding> = keymap::active(context, app.demo)
        .filter(|b| !b.short.is_empty())
        .collect();
    let first: Vec<&'static Binding> = active
        .iter()
        .copied()
        .filter(|b| b.action == Action::Help)
        .collect();
    let own = active
        .iter()
        .copied()
        .filter(|b| b.context == context && b.action != Action::Help);
    let order = [
        Action::Quit,
        Action::Filter,
        Action::CommandLine,
        Action::NextPane,
        Action::Back,
    ];
    let global = order.iter().filter_map(|a| {
        active
            .iter()
            .copied()
            .find(|b| b.action == *a && b.context != context)
    });
    first.into_iter().chain(own).chain(global).collect()
}

/// The bottom line: the most useful keys here, from the binding table.
pub(crate) fn footer(buf: &mut Buffer, area: Rect, app: &App) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let theme = app.theme;
    let total = usize::from(area.width);
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    for binding in footer_entries(app) {
        let key = binding
            .keys
            .first()
            .map(ToString::to_string)
            .unwrap_or_default();
        let w = text::width(&key) + 1 + text::width(binding.short) + 2;
        if used + w > total {
            continue;
        }
        used += w;
        spans.push(Span::styled(key, theme.key()));
        spans.push(Span::raw(format!(" {}  ", binding.short)));
    }
    put(buf, area, 0, &Line::from(spans));
}
