//! The event ticker: the latest events, newest first, one line each.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::text::{self, put, u16_of};
use super::title;
use crate::console::app::App;
use crate::console::theme::Theme;
use crate::engine::{Event, EventKind, Snapshot};
use crate::model::{DeviceIdx, Status};

/// The marker and word of an event, and its text.
pub(crate) fn describe(snap: &Snapshot, theme: Theme, event: &Event) -> (String, Style, String) {
    let device = |d: DeviceIdx| snap.layout.device_info(d).map_or("?", |i| i.id.as_str());
    let other = |word: &str| (format!("• {word}"), theme.dim());
    let ((mark, style), text) = match &event.kind {
        EventKind::Device {
            device: d,
            from,
            to,
            reason,
        } => {
            let because = reason
                .as_deref()
                .map_or_else(String::new, |r| format!(": {r}"));
            (
                (text::status(*to), theme.status(*to)),
                format!("{} {} → {}{because}", device(*d), from.word(), to.word()),
            )
        }
        EventKind::Devices {
            venue,
            count,
            from,
            to,
            reason,
        } => {
            let code = snap
                .layout
                .venue_info(*venue)
                .map_or("?", |v| v.code.as_str());
            let because = reason
                .as_deref()
                .map_or_else(String::new, |r| format!(": {r}"));
            (
                (text::status(*to), theme.status(*to)),
                format!(
                    "{code}: {count} devices {} → {}{because}",
                    from.word(),
                    to.word()
                ),
            )
        }
        EventKind::Venue { venue, from, to } => {
            let (code, name) = snap
                .layout
                .venue_info(*venue)
                .map_or(("?", ""), |v| (v.code.as_str(), v.name.as_str()));
            (
                (text::status(*to), theme.status(*to)),
                format!("venue {code} {name}: {} → {}", from.word(), to.word()),
            )
        }
        EventKind::Flapping { device: d, started } => {
            let what = if *started { "started" } else { "stopped" };
            (other("FLAPPING"), format!("{} {what} flapping", device(*d)))
        }
        // Drawn from the event alone: the severity it opened with, never
        // the incident's now (a past line must not change).
        EventKind::IncidentOpened {
            id,
            severity,
            title,
        } => (
            (text::status(*severity), theme.status(*severity)),
            format!("incident #{id} opened: {title}"),
        ),
        EventKind::IncidentSeverity {
            id,
            title,
            from,
            to,
        } => (
            (text::status(*to), theme.status(*to)),
            severity_line(*id, title, *from, *to),
        ),
        EventKind::IncidentResolved { id, title } => (
            other("RESOLVED"),
            format!("incident #{id} resolved: {title}"),
        ),
        EventKind::Incident {
            id,
            what,
            by,
            title,
            text,
        } => (
            other("INCIDENT"),
            EventKind::incident_line(*id, *what, by.as_deref(), title, text),
        ),
        EventKind::Command { user, text } => (other("COMMAND"), format!("{user}: {text}")),
        EventKind::Audit {
            failing: true,
            detail,
        } => (
            (text::status(Status::Down), theme.status(Status::Down)),
            format!("audit log cannot be written: {detail}; changes are refused"),
        ),
        EventKind::Audit {
            failing: false,
            detail,
        } => (other("AUDIT"), format!("audit log {detail}")),
        EventKind::Note { device: d, text } => (other("NOTE"), format!("{}: {text}", device(*d))),
    };
    (mark, style, text)
}

/// Draws the ticker in `area` (title row included).
pub(crate) fn draw(buf: &mut Buffer, area: Rect, app: &App, snap: &Snapshot, focused: bool) {
    let theme = app.theme;
    let events = app.ticker_events(snap);
    let n = events.len();
    let left = vec![Span::raw(format!("{n} · newest first"))];
    let body = title(buf, area, theme, "Events", focused, left, Vec::new());
    if body.height == 0 || body.width == 0 {
        return;
    }
    if n == 0 {
        put(
            buf,
            body,
            0,
            &Line::from(Span::styled(" nothing has happened yet", theme.dim())),
        );
        return;
    }
    let rows = usize::from(body.height);
    let selected = if focused {
        app.ticker_sel.min(n - 1)
    } else {
        0
    };
    let offset = selected / rows * rows;
    for (k, event) in events.iter().enumerate().skip(offset).take(rows) {
        let (mark, style, what) = describe(snap, theme, event);
        let line = Line::from(vec![
            Span::styled(format!(" {} ", text::clock(event.at)), theme.dim()),
            Span::styled(text::pad(&mark, text::STATUS_W), style),
            Span::raw(format!(" {what}")),
        ]);
        let y = u16_of(k - offset);
        put(buf, body, y, &line);
        if focused && k == selected {
            text::fill(buf, body, y, theme.selected());
        }
    }
}

/// An incident raised or lowered: `incident #1-1 raised DEGRADED → DOWN: …`.
fn severity_line(id: crate::engine::IncidentId, title: &str, from: Status, to: Status) -> String {
    let how = EventKind::raised_or_lowered(from, to);
    format!(
        "incident #{id} {how} {} → {}: {title}",
        from.word(),
        to.word()
    )
}
