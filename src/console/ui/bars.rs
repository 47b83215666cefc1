//! The status bar (top), the message or command line and the footer of
//! keys (bottom).

use std::time::{Duration, SystemTime};

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};

use super::text::{self, fit, put};
use crate::console::app::{App, InputKind, MessageKind, wall_order};
use crate::console::keymap::{self, Action, Binding};
use crate::console::theme::Theme;
use crate::engine::{Link, Snapshot};
use crate::model::Status;

/// Columns of the event name the status bar keeps before showing more
/// detail (`Paris 2024 …`).
const EVENT_MIN_W: usize = 12;

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
    let scope = app.scope();
    let mut venues_down = 0;
    let mut venues_degraded = 0;
    let (mut down, mut degraded, mut unreachable) = (0, 0, 0);
    // The wall's status and the counts are those of the venues shown.
    let mut worst = if scope.is_all() {
        Some(snap.wall)
    } else {
        None
    };
    for (_, v) in snap
        .venues
        .iter()
        .enumerate()
        .filter(|&(k, _)| scope.has_venue(snap, k))
    {
        if !scope.is_all() && worst.is_none_or(|w| v.eval.status.severity() > w.severity()) {
            worst = Some(v.eval.status);
        }
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
    let wall_status = worst.unwrap_or(Status::Unknown);
    let wall = vec![Span::styled(
        text::status(wall_status),
        theme.status(wall_status),
    )];
    // A narrowed console says so (`STA only`), at every width.
    let scoped = scope
        .label()
        .map(|label| vec![Span::styled(format!(" {label} "), theme.focused_title())])
        .unwrap_or_default();
    // An engine in this process has no link to speak of (and `local`
    // beside the local user read twice).
    let link = match app.link {
        Link::Local => Vec::new(),
        Link::Connected => vec![Span::styled(app.link.word(), theme.dim())],
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
    // A technician's venues are part of who they are here.
    let who = if app.identity.venues.is_empty() {
        format!("{user} ({role})")
    } else {
        format!("{user} ({role} · {})", app.identity.venues.join(" "))
    };
    // From the most to the least detailed; the first that fits is drawn.
    let levels: [Vec<Vec<Span<'static>>>; 6] = [
        vec![
            vec![Span::styled(format!("{clock} UTC"), theme.title())],
            wall.clone(),
            counts(app, "venues", &venue_counts),
            counts(app, "devices", &device_counts),
            vec![Span::raw(who.clone())],
        ],
        vec![
            vec![Span::styled(clock.clone(), theme.title())],
            wall.clone(),
            counts(app, "venues", &venue_counts),
            counts(app, "devices", &device_counts),
            vec![Span::raw(who.clone())],
        ],
        vec![
            vec![Span::styled(clock.clone(), theme.title())],
            wall.clone(),
            counts(app, "ven", &venue_counts),
            counts(app, "dev", &device_counts),
            vec![Span::raw(who.clone())],
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
        for seg in segments.iter().filter(|s| !s.is_empty()) {
            if !out.is_empty() {
                out.push(Span::raw("  "));
            }
            out.extend(seg.iter().cloned());
        }
        out
    };
    // The event name keeps room for its first words: detail goes first.
    let event_w = text::width(&snap.layout.event).min(EVENT_MIN_W);
    let mut chosen = Vec::new();
    for level in &levels {
        let mut segments = level.clone();
        // Link and staleness are never dropped: they say whether the rest is true.
        segments.insert(2, link.clone());
        segments.insert(2, scoped.clone());
        if let Some(stale) = &stale {
            segments.insert(2, stale.clone());
        }
        chosen = join(&segments);
        if text::line_width(&chosen) + 2 + event_w + 2 <= total {
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

/// The most rows the message area takes (a long message wraps).
pub(crate) const MESSAGE_MAX_ROWS: usize = 3;

/// `text` cut into lines of at most `w` columns, at spaces when it can.
pub(crate) fn wrap(text: &str, w: usize) -> Vec<String> {
    let w = w.max(1);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let sep = usize::from(!line.is_empty());
        if text::width(&line) + sep + text::width(word) <= w {
            if sep == 1 {
                line.push(' ');
            }
            line.push_str(word);
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        // A word longer than a line is cut where it must be.
        for c in word.chars() {
            if text::width(&line) + text::width(&c.to_string()) > w {
                lines.push(std::mem::take(&mut line));
            }
            line.push(c);
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// The filter in force, as the message line shows it beside a message.
fn filter_note(app: &App) -> Option<String> {
    (!app.filter.is_empty()).then(|| format!("filter {}", app.filter_text()))
}

/// The candidates line shown while typing, if any: the sorted candidates
/// for the word under the cursor that fit, and how many more.
fn candidates_line(app: &App, snap: &Snapshot, width: usize) -> Option<String> {
    let completion = app.completion(snap)?;
    let c = &completion.candidates;
    if c.is_empty() || (c.len() == 1 && c[0].eq_ignore_ascii_case(&completion.word)) {
        return None;
    }
    let mut line = String::from(" ");
    for (k, cand) in c.iter().enumerate() {
        let more = format!(" … +{}", c.len() - k);
        let sep = if k == 0 { "" } else { "  " };
        let need = text::width(sep) + text::width(cand);
        let room_for_more = if k + 1 < c.len() {
            text::width(&format!(" … +{}", c.len() - k - 1))
        } else {
            0
        };
        if text::width(&line) + need + room_for_more > width {
            line.push_str(&more);
            return Some(line);
        }
        line.push_str(sep);
        line.push_str(cand);
    }
    Some(line)
}

/// Rows the message area needs at this width: the line typed (and its
/// candidates above it), or the message wrapped (at most
/// [`MESSAGE_MAX_ROWS`]), else one.
pub(crate) fn message_rows(app: &App, snap: &Snapshot, width: u16) -> u16 {
    let w = usize::from(width);
    if app.input().is_some() {
        return 1 + u16::from(candidates_line(app, snap, w).is_some());
    }
    let Some(message) = app.message() else {
        return 1;
    };
    let note = filter_note(app).map_or(0, |n| text::width(&n) + 3);
    let rows = wrap(&message.text, w.saturating_sub(1 + note).max(10)).len();
    text::u16_of(rows.clamp(1, MESSAGE_MAX_ROWS))
}

/// The lines above the footer: what is being typed (with its candidates
/// above it), else the last message, wrapped, with the filter in force
/// beside it, else the filter in force. Returns where the cursor goes
/// when text is being typed.
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
    let last = area.height - 1;
    if let Some(input) = app.input() {
        if last > 0
            && let Some(candidates) = candidates_line(app, snap, total)
        {
            put(
                buf,
                area,
                last - 1,
                &Line::from(Span::styled(candidates, theme.dim())),
            );
        }
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
            let total = app.scope().venue_count(snap);
            spans.push(Span::styled(
                format!("   {n} of {total} venues"),
                theme.dim(),
            ));
        }
        let row = Rect::new(area.x, area.y + last, area.width, 1);
        put(buf, row, 0, &Line::from(spans));
        // Keep the end of a long line in view.
        return Some(super::cursor_after(
            row,
            &fit(&format!(" {typed}"), total.saturating_sub(1)),
        ));
    }
    let note = filter_note(app);
    if let Some(message) = app.message() {
        let style = match message.kind {
            MessageKind::Info => ratatui::style::Style::new(),
            MessageKind::Error => theme.error(),
            MessageKind::Pending => theme.dim(),
        };
        let note_w = note.as_ref().map_or(0, |n| text::width(n) + 3);
        let w = total.saturating_sub(1 + note_w).max(10);
        let mut lines = wrap(&message.text, w);
        let rows = usize::from(area.height);
        if lines.len() > rows {
            // Still too long: the last row says so.
            lines.truncate(rows);
            if let Some(l) = lines.last_mut() {
                *l = fit(&format!("{l} …"), w);
            }
        }
        for (k, l) in lines.iter().enumerate() {
            put(
                buf,
                area,
                text::u16_of(k),
                &Line::from(Span::styled(format!(" {l}"), style)),
            );
        }
        if let Some(note) = note
            && total > note_w + 12
        {
            let x = area.x + text::u16_of(total - note_w + 1);
            let at = Rect::new(x, area.y, text::u16_of(note_w - 1), 1);
            put(
                buf,
                at,
                0,
                &Line::from(vec![Span::raw(" "), Span::styled(note, theme.title())]),
            );
        }
        return None;
    }
    let line = if app.filter.is_empty() {
        Line::default()
    } else {
        Line::from(vec![
            Span::styled(" filter ", theme.dim()),
            Span::styled(app.filter_text().to_owned(), theme.title()),
            Span::styled("  (/ edits, Esc clears)", theme.dim()),
        ])
    };
    put(buf, area, 0, &line);
    None
}

/// The footer entries for the context: help first, then the context's
/// own keys, then the global ones.
pub(crate) fn footer_entries(app: &App) -> Vec<&'static Binding> {
    let context = app.context();
    let active: Vec<&'static Binding> = keymap::offered(context, app.demo, app.identity.role)
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

/// The banner shown while the audit log cannot be written: one line, red
/// (reversed without colour), with a glyph and the words, then why.
pub(crate) fn audit_banner(buf: &mut Buffer, area: Rect, theme: Theme, why: &str) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let style = theme.alert();
    let line = format!(" ! AUDIT LOG CANNOT BE WRITTEN: changes are refused ({why})");
    text::fill(buf, area, 0, style);
    put(
        buf,
        area,
        0,
        &Line::from(Span::styled(fit(&line, usize::from(area.width)), style)),
    );
}

/// The banner's text while the link to the server is lost, from the
/// most to the least detailed.
fn link_texts(lost_at: SystemTime, glyph: &str) -> [String; 2] {
    let at = text::clock(lost_at);
    [
        format!(
            " {glyph} connection to the server lost at {at} — reconnecting; the wall shows the last state received; commands are refused until it is back"
        ),
        format!(" {glyph} LINK LOST at {at} — reconnecting; last state shown; commands refused"),
    ]
}

/// Rows the link banner takes at this width and height: none while the
/// link holds; one, or two on a narrow screen with rows to spare.
pub(crate) fn link_banner_rows(app: &App, width: u16, height: u16) -> u16 {
    let Some(at) = app.lost_at() else {
        return 0;
    };
    if height < 4 {
        return 0;
    }
    let [full, _] = link_texts(at, app.theme.glyphs().status(Status::Down));
    let w = usize::from(width).max(1);
    if text::width(&full) <= w || height < 20 {
        1
    } else {
        text::u16_of(wrap(&full, w.saturating_sub(1)).len().min(2))
    }
}

/// The banner across the top while the link to the server is lost: red
/// (reversed without colour), glyph and words, since when, and what it
/// means for the data and the commands.
pub(crate) fn link_banner(buf: &mut Buffer, area: Rect, app: &App) {
    let Some(at) = app.lost_at() else {
        return;
    };
    if area.width == 0 || area.height == 0 {
        return;
    }
    let style = app.theme.alert();
    let w = usize::from(area.width);
    let [full, short] = link_texts(at, app.theme.glyphs().status(Status::Down));
    let lines = if text::width(&full) <= w {
        vec![full]
    } else if area.height >= 2 {
        let mut lines = wrap(full.trim_start(), w.saturating_sub(1));
        lines.truncate(usize::from(area.height));
        lines.into_iter().map(|l| format!(" {l}")).collect()
    } else {
        vec![short]
    };
    for (k, l) in lines.iter().enumerate() {
        let y = text::u16_of(k);
        text::fill(buf, area, y, style);
        put(buf, area, y, &Line::from(Span::styled(fit(l, w), style)));
    }
}
