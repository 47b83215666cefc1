//! Drawing: a pure function of the view state, the snapshot and the time
//! ([`render`]). Each pane has its own module; this one lays the screen
//! out and holds what paging needs to know about it.
//!
//! ```text
//! ┌ status bar ─────────────────────────────────────────────┐
//! │ audit banner (only while the audit log cannot be written)│
//! │ main pane (wall / venue / device)   │ incidents (wide)   │
//! │                                     │ host (wide)        │
//! │ events ticker                                            │
//! │ message or command line                                  │
//! └ footer: keys ───────────────────────────────────────────┘
//! ```
//!
//! At 80 columns the side panes are not shown: Tab brings each of them
//! into the main area instead.

mod audit;
mod bars;
mod device;
mod help;
mod host;
mod incident;
mod incidents;
mod plan;
mod relay;
mod run;
pub(crate) mod text;
mod ticker;
mod venue;
mod wall;

use std::time::SystemTime;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};

use super::app::{App, Pane, View};
use super::keymap::Context;
use super::theme::Theme;
use crate::engine::Snapshot;
use text::{put, u16_of, width};

pub(crate) use help::help_lines;

/// Width of the side column (incidents and host) on a wide screen: 52
/// columns at 160, and what a larger screen has beyond 108 columns for the
/// main pane, up to 90, so incident titles use the room they have.
fn side_w(width: u16) -> u16 {
    width.saturating_sub(108).clamp(52, 90)
}
/// Height of the host pane on a wide screen.
const HOST_H: u16 = 9;

/// Where each part of the screen goes.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Screen {
    pub status: Rect,
    /// The banner under the status bar while the link to the server is
    /// lost; empty otherwise.
    pub link: Rect,
    /// The red line under the status bar while the audit log cannot be
    /// written; empty otherwise.
    pub banner: Rect,
    pub main: Rect,
    pub separator: Rect,
    pub incidents: Rect,
    pub host: Rect,
    pub ticker: Rect,
    pub message: Rect,
    pub footer: Rect,
    /// Incidents and host have their own panes.
    pub wide: bool,
}

/// What the main area shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Main {
    View(View),
    Incidents,
    Host,
    Ticker,
}

fn row(area: Rect, y: u16, height: u16) -> Rect {
    Rect::new(area.x, area.y + y, area.width, height)
}

/// Lays out a terminal of `area`. On a narrow screen, rows the wall does
/// not need go to the event ticker.
pub(crate) fn screen(area: Rect, app: &App, snap: &Snapshot) -> Screen {
    let h = area.height;
    let mut s = Screen::default();
    if area.width == 0 || h == 0 {
        return s;
    }
    s.wide = area.width >= 140 && h >= 30;
    s.status = row(area, 0, 1);
    if h >= 2 {
        s.footer = row(area, h - 1, 1);
    }
    // The message area grows for a long message or the candidates of
    // what is being typed, while the main area keeps a few rows.
    let message_h = if h >= 3 {
        bars::message_rows(app, snap, area.width).min(h.saturating_sub(8).max(1))
    } else {
        0
    };
    if h >= 3 {
        s.message = row(area, h - 1 - message_h, message_h);
    }
    let ticker_h: u16 = if !s.wide && app.focus == Pane::Ticker {
        0
    } else if h >= 40 {
        10
    } else if h >= 16 {
        3
    } else {
        0
    };
    // Extra message rows come out of the ticker first (the wall keeps
    // its rows), down to its title and one event.
    let ticker_h = if ticker_h > 0 {
        ticker_h.saturating_sub(message_h.saturating_sub(1)).max(2)
    } else {
        0
    };
    // While the audit log cannot be written, a banner under the status
    // bar says so, on any screen with room for a pane below it.
    // While the link to the server is lost, a banner says so first.
    let link_h = bars::link_banner_rows(app, area.width, h);
    s.link = row(area, 1, link_h);
    let middle_top = if snap.audit_failing.is_some() && h >= 4 + link_h {
        s.banner = row(area, 1 + link_h, 1);
        2 + link_h
    } else {
        1 + link_h
    };
    let middle_bottom = h.saturating_sub(1 + message_h.max(1)).max(middle_top);
    let ticker_top = middle_bottom.saturating_sub(ticker_h).max(middle_top);
    s.ticker = row(area, ticker_top, middle_bottom - ticker_top);
    let middle = row(
        area,
        middle_top.min(h),
        ticker_top.saturating_sub(middle_top),
    );
    if s.wide {
        let side = side_w(middle.width);
        let main_w = middle.width - side;
        s.main = Rect::new(middle.x, middle.y, main_w, middle.height);
        s.separator = Rect::new(middle.x + main_w, middle.y, 1, middle.height);
        let side = Rect::new(middle.x + main_w + 1, middle.y, side - 1, middle.height);
        let host_h = HOST_H.min(side.height);
        s.incidents = Rect::new(side.x, side.y, side.width, side.height - host_h);
        s.host = Rect::new(side.x, side.y + side.height - host_h, side.width, host_h);
    } else {
        s.main = middle;
        if app.focus() == Pane::Main && app.view() == View::Wall && middle.height > 1 {
            let n = app.scope().venue_count(snap).max(1);
            let grid = wall::Grid::new(body(middle), snap, n);
            let needed = u16::try_from(n.div_ceil(grid.cols.max(1))).unwrap_or(u16::MAX);
            let spare = body(middle).height.saturating_sub(needed);
            if spare > 0 {
                s.main.height -= spare;
                s.ticker.y -= spare;
                s.ticker.height += spare;
            }
        }
    }
    s
}

/// What the main area shows for this state and screen.
pub(crate) fn main_content(app: &App, screen: &Screen) -> Main {
    if screen.wide {
        return Main::View(app.view());
    }
    match app.focus() {
        Pane::Main => Main::View(app.view()),
        Pane::Incidents => Main::Incidents,
        Pane::Host => Main::Host,
        Pane::Ticker => Main::Ticker,
    }
}

/// The area below a pane's title row.
pub(crate) fn body(area: Rect) -> Rect {
    if area.height == 0 {
        return area;
    }
    Rect::new(area.x, area.y + 1, area.width, area.height - 1)
}

/// Draws a pane's title row: its name (highlighted when it has the
/// keys), then `left`, a rule, and `right` against the right edge.
/// Returns the area below.
pub(crate) fn title(
    buf: &mut Buffer,
    area: Rect,
    theme: Theme,
    name: &str,
    focused: bool,
    left: Vec<Span<'static>>,
    right: Vec<Span<'static>>,
) -> Rect {
    if area.height == 0 || area.width == 0 {
        return body(area);
    }
    let total = usize::from(area.width);
    let name_style = if focused {
        theme.focused_title()
    } else {
        theme.pane_title()
    };
    let mut spans = vec![
        Span::styled(format!(" {name} "), name_style),
        Span::raw(" "),
    ];
    spans.extend(left);
    spans.push(Span::raw(" "));
    let used = text::line_width(&spans);
    let right_w = text::line_width(&right);
    if used + 2 + right_w <= total {
        let gap = total - used - right_w - 1;
        spans.push(Span::styled("─".repeat(gap.saturating_sub(1)), theme.dim()));
        spans.push(Span::raw(" "));
        spans.extend(right);
        spans.push(Span::raw(" "));
    } else if used < total {
        spans.push(Span::styled("─".repeat(total - used), theme.dim()));
    }
    put(buf, area, 0, &Line::from(spans));
    body(area)
}

/// Rows of items a page holds in the context that has the keys (for
/// `PageUp` and `PageDown`).
pub(crate) fn page_size(app: &App, snap: &Snapshot) -> usize {
    let scr = screen(app.area, app, snap);
    let main = main_content(app, &scr);
    match app.context() {
        Context::Wall => {
            wall::Grid::new(body(scr.main), snap, app.scope().venue_count(snap)).per_page()
        }
        Context::Venue => match main {
            Main::View(View::Venue(v)) => venue::table_rows(body(scr.main), snap, v),
            _ => 1,
        },
        Context::Device => match main {
            Main::View(View::Device(d)) => device::history_rows(body(scr.main), snap, d),
            _ => 1,
        },
        Context::Incidents => {
            let area = if scr.wide { scr.incidents } else { scr.main };
            usize::from(body(area).height.saturating_sub(1))
        }
        Context::Incident => match main {
            Main::View(View::Incident(id)) => incident::timeline_rows(scr.main, app, snap, id),
            _ => 1,
        },
        Context::Audit => audit::rows(scr.main),
        Context::Relay => relay::feed_rows(body(scr.main), snap),
        Context::Run | Context::Runs => usize::from(body(scr.main).height.saturating_sub(1)),
        Context::Plan => plan::rows(app.area),
        Context::Ticker => {
            let area = if scr.wide { scr.ticker } else { scr.main };
            usize::from(body(area).height)
        }
        Context::Help => usize::from(help::inner(app.area).height),
        Context::Global | Context::Input => 1,
    }
}

/// Tiles in a row of the wall as laid out now.
pub(crate) fn wall_columns(app: &App, snap: &Snapshot) -> usize {
    let scr = screen(app.area, app, snap);
    wall::Grid::new(body(scr.main), snap, app.scope().venue_count(snap)).cols
}

/// Draws the whole console. A pure function of the view state, the
/// snapshot and the time; draws what fits in any size, down to nothing.
pub fn render(frame: &mut Frame<'_>, app: &App, snap: &Snapshot, now: SystemTime) {
    let area = frame.area();
    let scr = screen(area, app, snap);
    let buf = frame.buffer_mut();
    let theme = app.theme;
    bars::status_bar(buf, scr.status, app, snap, now);
    bars::link_banner(buf, scr.link, app);
    if let Some(why) = &snap.audit_failing {
        bars::audit_banner(buf, scr.banner, theme, why);
    }
    let main_focused = app.focus() == Pane::Main || !scr.wide;
    match main_content(app, &scr) {
        Main::View(View::Wall) => wall::draw(buf, scr.main, app, snap, main_focused),
        Main::View(View::Venue(v)) => venue::draw(buf, scr.main, app, snap, v, now, main_focused),
        Main::View(View::Device(d)) => device::draw(buf, scr.main, app, snap, d, now, main_focused),
        Main::View(View::Incident(id)) => {
            incident::draw(buf, scr.main, app, snap, id, now, main_focused);
        }
        Main::View(View::Audit) => audit::draw(buf, scr.main, app, snap, main_focused),
        Main::View(View::Relay) => relay::draw(buf, scr.main, app, snap, now, main_focused),
        Main::View(View::Run(key)) => run::draw(buf, scr.main, app, snap, key, main_focused),
        Main::View(View::Runs) => run::draw_runs(buf, scr.main, app, snap, main_focused),
        Main::Incidents => incidents::draw(buf, scr.main, app, snap, now, true),
        Main::Host => host::draw(buf, scr.main, app, snap, now, true),
        Main::Ticker => ticker::draw(buf, scr.main, app, snap, true),
    }
    if scr.wide {
        for y in 0..scr.separator.height {
            put(
                buf,
                scr.separator,
                y,
                &Line::from(Span::styled("│", theme.dim())),
            );
        }
        let focus = app.focus();
        incidents::draw(buf, scr.incidents, app, snap, now, focus == Pane::Incidents);
        host::draw(buf, scr.host, app, snap, now, focus == Pane::Host);
    }
    ticker::draw(
        buf,
        scr.ticker,
        app,
        snap,
        scr.wide && app.focus() == Pane::Ticker,
    );
    if app.lost_at().is_some() {
        // The last state received: dimmed, under the banner that says so.
        for pane in [scr.main, scr.incidents, scr.host, scr.ticker] {
            buf.set_style(
                pane.intersection(buf.area),
                ratatui::style::Style::new().add_modifier(ratatui::style::Modifier::DIM),
            );
        }
    }
    let cursor = bars::message_line(buf, scr.message, app, snap);
    bars::footer(buf, scr.footer, app);
    if let Some(p) = app.plan() {
        plan::draw(buf, area, app, p);
    }
    if app.help_shown() {
        help::draw(buf, area, app);
    }
    if theme.glyphs().is_ascii() {
        to_ascii(frame.buffer_mut());
    }
    if !app.help_shown()
        && let Some(cursor) = cursor
    {
        frame.set_cursor_position(cursor);
    }
}

/// Every cell of `buf` in ASCII ([`Glyphs::ascii_cell`]): the last step
/// of a frame drawn with ASCII glyphs, so that nothing the panes draw
/// (status glyphs, borders, marks, names from the inventory) reaches a
/// terminal without UTF-8 as bytes it cannot show.
///
/// [`Glyphs::ascii_cell`]: super::theme::Glyphs::ascii_cell
fn to_ascii(buf: &mut Buffer) {
    for cell in &mut buf.content {
        if !cell.symbol().is_ascii() {
            let ascii = super::theme::Glyphs::ascii_cell(cell.symbol()).into_owned();
            cell.set_symbol(&ascii);
        }
    }
}

/// Column of a cursor after `text` drawn from `x`.
fn cursor_after(area: Rect, text: &str) -> Position {
    let x = area.x.saturating_add(u16_of(width(text)));
    Position::new(x.min(area.right().saturating_sub(1)), area.y)
}
