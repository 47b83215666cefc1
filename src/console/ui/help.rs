//! The help screen, generated from the binding table, the command list
//! and the filter syntax.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

use super::text::{self, u16_of};
use crate::console::app::App;
use crate::console::cmdline;
use crate::console::keymap::{BINDINGS, Context};
use crate::model::Status;

/// What capital letters do on the wall (they are not in the binding
/// table: any letter of a venue code).
pub(crate) const JUMP_HELP: &str = "type a venue's code to select it (STA)";

/// The popup's outer area in a screen of `area`.
fn popup(area: Rect) -> Rect {
    let w = area.width.min(90);
    let h = if area.height > 4 {
        area.height - 2
    } else {
        area.height
    };
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn block() -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .title(" Help · Esc closes · ↑↓ PgUp PgDn scroll ")
}

/// The lines area inside the popup.
pub(crate) fn inner(area: Rect) -> Rect {
    block().inner(popup(area))
}

/// Every line of the help, for this console (demo keys only in a demo;
/// keys and commands the user's role may use only).
#[allow(clippy::too_many_lines)]
pub(crate) fn help_lines(app: &App) -> Vec<Line<'static>> {
    let theme = app.theme;
    let role = app.identity.role;
    let shown: Vec<_> = BINDINGS
        .iter()
        .filter(|b| (app.demo || !b.demo) && b.action.allowed(role))
        .collect();
    let keys_w = shown
        .iter()
        .map(|b| text::width(&b.keys_text()))
        .max()
        .unwrap_or(8)
        .min(16);
    let mut lines = Vec::new();
    let section = |lines: &mut Vec<Line<'static>>, name: &str| {
        if !lines.is_empty() {
            lines.push(Line::default());
        }
        lines.push(Line::from(Span::styled(format!(" {name}"), theme.title())));
    };
    for context in Context::ALL {
        let in_context: Vec<_> = shown.iter().filter(|b| b.context == context).collect();
        if in_context.is_empty() {
            continue;
        }
        section(&mut lines, context.title());
        for b in in_context {
            lines.push(Line::from(vec![
                Span::styled(
                    format!("   {}", text::pad(&b.keys_text(), keys_w)),
                    theme.key(),
                ),
                Span::raw(format!(
                    "  {}{}",
                    b.description,
                    if b.demo { " (demo)" } else { "" }
                )),
            ]));
        }
        if context == Context::Wall {
            lines.push(Line::from(vec![
                Span::styled(format!("   {}", text::pad("A-Z", keys_w)), theme.key()),
                Span::raw(format!("  {JUMP_HELP}")),
            ]));
        }
    }
    section(&mut lines, "Commands (type : first)");
    let usage_w = cmdline::USAGE
        .iter()
        .filter(|u| app.demo || !u.demo_only)
        .map(|u| text::width(u.line) + 1)
        .max()
        .unwrap_or(10);
    for cmdline::Usage {
        line: usage,
        what,
        demo_only,
    } in cmdline::USAGE
    {
        if (*demo_only && !app.demo) || role < cmdline::needs(usage) {
            continue;
        }
        lines.push(Line::from(vec![
            Span::styled(
                format!("   {}", text::pad(&format!(":{usage}"), usage_w)),
                theme.key(),
            ),
            Span::raw(format!("  {what}")),
        ]));
    }
    lines.push(Line::from(Span::styled("   where", theme.dim())));
    let arg_w = cmdline::ARGUMENTS
        .iter()
        .map(|(a, _)| text::width(a))
        .max()
        .unwrap_or(8);
    for (arg, what) in cmdline::ARGUMENTS {
        lines.push(Line::from(vec![
            Span::styled(format!("   {}", text::pad(arg, arg_w)), theme.key()),
            Span::raw(format!("  {what}")),
        ]));
    }
    section(&mut lines, "Filter (type / first; every term must match)");
    for (term, what) in [
        ("word", "venue code, name or city, device id or role"),
        (
            "status:down",
            "ok degraded down unreachable unknown maintenance problem",
        ),
        ("role:core", "devices whose role contains the text"),
        ("venue:STA", "one venue"),
        ("kind:snmp", "snmp, http or tcp"),
    ] {
        lines.push(Line::from(vec![
            Span::styled(format!("   {}", text::pad(term, 12)), theme.key()),
            Span::raw(format!("  {what}")),
        ]));
    }
    section(&mut lines, "Statuses");
    let mut legend = vec![Span::raw("  ")];
    for s in Status::ALL {
        legend.push(Span::raw(" "));
        legend.push(Span::styled(text::status(s), theme.status(s)));
    }
    lines.push(Line::from(legend));
    lines.push(Line::from(Span::styled(
        "   On the wall: 3✖ devices down, 2▲ degraded, 5⊘ unreachable, ! open incidents.",
        theme.dim(),
    )));
    lines
}

/// Draws the help over the screen.
pub(crate) fn draw(buf: &mut Buffer, area: Rect, app: &App) {
    let rect = popup(area);
    if rect.width < 3 || rect.height < 3 {
        return;
    }
    Clear.render(rect, buf);
    let lines = help_lines(app);
    // Never past the end: the last page is full.
    let last = lines
        .len()
        .saturating_sub(usize::from(block().inner(rect).height));
    let scroll = u16_of(app.help.unwrap_or(0).min(last));
    Paragraph::new(lines)
        .block(block())
        .scroll((scroll, 0))
        .render(rect, buf);
}
