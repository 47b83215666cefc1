//! The audit: the newest commands given to the engine, applied or
//! refused, newest first: when, who and with what role, what, and what
//! came of it. The store keeps every one (`toc audit`).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::text::{self, put, u16_of};
use super::title;
use crate::console::app::App;
use crate::engine::Snapshot;

/// Rows a page holds in `area` (the pane, title included).
pub(crate) fn rows(area: Rect) -> usize {
    usize::from(area.height.saturating_sub(1)).max(1)
}

/// Draws the audit in `area` (title row included).
pub(crate) fn draw(buf: &mut Buffer, area: Rect, app: &App, snap: &Snapshot, focused: bool) {
    let theme = app.theme;
    let records = app.audit_shown(snap);
    let n = records.len();
    let refused = records.iter().filter(|r| !r.applied).count();
    let left = vec![Span::raw(format!(
        "{n} newest commands, {refused} refused · newest first"
    ))];
    let right = vec![Span::styled("toc audit has them all", theme.dim())];
    let body = title(buf, area, theme, "Audit", focused, left, right);
    if body.height == 0 {
        return;
    }
    if n == 0 {
        put(
            buf,
            body,
            0,
            &Line::from(Span::styled(" no command yet", theme.dim())),
        );
        return;
    }
    let rows = usize::from(body.height);
    let start = app.history_scroll.min(n.saturating_sub(rows));
    let user_w = records
        .iter()
        .map(|r| text::width(&r.identity.user) + text::width(r.identity.role.name()) + 3)
        .max()
        .unwrap_or(8)
        .min(28);
    for (y, r) in records.iter().rev().skip(start).take(rows).enumerate() {
        let (mark, style) = if r.applied {
            ("✔", theme.dim())
        } else {
            ("✘", theme.error())
        };
        let who = format!("{} ({})", r.identity.user, r.identity.role.name());
        put(
            buf,
            body,
            u16_of(y),
            &Line::from(vec![
                Span::styled(format!(" {} ", text::clock(r.at)), theme.dim()),
                Span::styled(format!("{mark} "), style),
                Span::raw(format!("{} ", text::pad(&who, user_w))),
                Span::raw(r.text.clone()),
                Span::styled(format!(" → {}", r.outcome), style),
            ]),
        );
    }
}
