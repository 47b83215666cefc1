//! The wall: one tile per venue, worst first, all on one screen when
//! they fit (80x24 holds 49 compact tiles), in pages when they do not.
//!
//! A compact tile: `STA ✖ DOWN       2✖  1▲!` (code, status, devices
//! down and degraded, `!` for open incidents). A wide tile adds the
//! venue name, the unreachable devices, the number of incidents and how
//! long the oldest one nobody has acknowledged has waited (`2!12m`).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::text::{self, fit, pad, put, rpad, u16_of};
use super::title;
use crate::console::app::{App, WallSort, position, wall_order};
use crate::console::theme::Theme;
use crate::engine::{IncidentState, Snapshot};
use crate::model::Status;

/// Columns a compact tile needs besides the code (gap included).
const COMPACT_REST: usize = 22;
/// Columns a wide tile needs besides the code and the name.
const WIDE_REST: usize = 39;
/// The least room for a venue name on a wide tile.
const NAME_MIN: usize = 11;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TileStyle {
    Wide,
    Compact,
}

/// How the tiles are laid out in an area.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Grid {
    pub style: TileStyle,
    /// Tiles in a row.
    pub cols: usize,
    /// Rows of tiles on a page.
    pub rows: usize,
    /// Width of one tile (gap included).
    pub tile_w: usize,
    /// Width of the venue code column.
    pub code_w: usize,
}

impl Grid {
    /// The layout of the wall's tiles for `venues` venues (those in the
    /// console's scope) in `area` (the pane body, the header row
    /// excluded).
    pub fn new(area: Rect, snap: &Snapshot, venues: usize) -> Grid {
        let n = venues.max(1);
        let code_w = snap
            .layout
            .venues
            .iter()
            .map(|v| text::width(&v.code))
            .max()
            .unwrap_or(3)
            .clamp(3, 8);
        let width = usize::from(area.width);
        let height = usize::from(area.height).max(1);
        let wide_w = code_w + WIDE_REST + NAME_MIN;
        let wide_cols = width / wide_w;
        if wide_cols >= 1 && wide_cols * height >= n {
            return Grid {
                style: TileStyle::Wide,
                cols: wide_cols,
                rows: height,
                tile_w: width / wide_cols,
                code_w,
            };
        }
        let compact_w = code_w + COMPACT_REST + 1;
        let cols = (width / compact_w).max(1);
        Grid {
            style: TileStyle::Compact,
            cols,
            rows: height,
            tile_w: (width / cols).max(1),
            code_w,
        }
    }

    /// Tiles on a page.
    pub fn per_page(&self) -> usize {
        self.cols * self.rows
    }
}

fn count(theme: Theme, n: usize, status: Status, digits: usize) -> Span<'static> {
    if n == 0 {
        Span::raw(" ".repeat(digits + 1))
    } else {
        Span::styled(
            format!("{}{}", rpad(&n.to_string(), digits), status.glyph()),
            theme.status(status),
        )
    }
}

/// How long the oldest incident of venue `v` that nobody has taken has
/// waited (open, failing, not in maintenance), in at most three
/// columns: `45s`, `12m`, `3h`, `2d`. Measured at the snapshot's time.
fn unacknowledged_for(snap: &Snapshot, v: usize) -> Option<String> {
    let oldest = snap
        .incidents
        .iter()
        .filter(|i| {
            i.venue.is_some_and(|i| i.0 == v)
                && i.state == IncidentState::Open
                && i.clear_since.is_none()
                && !i.in_maintenance
        })
        .map(|i| i.opened)
        .min()?;
    let secs = snap.at.duration_since(oldest).map_or(0, |d| d.as_secs());
    Some(match secs {
        0..60 => format!("{secs}s"),
        60..3_600 => format!("{}m", secs / 60),
        3_600..86_400 => format!("{}h", secs / 3_600),
        _ => format!("{}d", (secs / 86_400).min(99)),
    })
}

/// The spans of one tile, `w` columns wide (the last one a gap).
fn tile(snap: &Snapshot, v: usize, grid: &Grid, theme: Theme) -> Vec<Span<'static>> {
    let info = &snap.layout.venues[v];
    let venue = &snap.venues[v];
    let e = &venue.eval;
    let status_style = theme.status(e.status);
    let code = Span::styled(pad(&info.code, grid.code_w), status_style);
    let w = grid.tile_w.saturating_sub(1);
    let incidents = venue.incidents;
    match grid.style {
        TileStyle::Wide => {
            let name_w = w.saturating_sub(grid.code_w + WIDE_REST - 1);
            let inc = if incidents == 0 {
                " ".repeat(6)
            } else {
                let waiting = unacknowledged_for(snap, v).unwrap_or_default();
                format!("{}!{}", rpad(&incidents.to_string(), 2), pad(&waiting, 3))
            };
            vec![
                code,
                Span::raw("  "),
                Span::raw(pad(&info.name, name_w)),
                Span::raw(" "),
                Span::styled(pad(&text::status(e.status), text::STATUS_W), status_style),
                Span::raw(" "),
                count(theme, e.down, Status::Down, 3),
                Span::raw(" "),
                count(theme, e.degraded, Status::Degraded, 3),
                Span::raw(" "),
                count(theme, e.unreachable, Status::Unreachable, 3),
                Span::raw(" "),
                Span::styled(inc, theme.error()),
            ]
        }
        TileStyle::Compact => {
            // Room for the status: what the counts leave.
            let status_w = w.saturating_sub(grid.code_w + 1 + 1 + 4 + 1 + 4 + 1);
            let mut spans = vec![
                code,
                Span::raw(" "),
                Span::styled(
                    pad(&text::status_fit(e.status, status_w), status_w),
                    status_style,
                ),
                Span::raw(" "),
                count(theme, e.down, Status::Down, 3),
                Span::raw(" "),
                count(theme, e.degraded, Status::Degraded, 3),
                Span::styled(if incidents > 0 { "!" } else { " " }, theme.error()),
            ];
            if text::line_width(&spans) > w {
                // Too narrow for the counts: code and status only.
                spans.truncate(3);
            }
            spans
        }
    }
}

/// Draws the wall in `area` (title row included).
pub(crate) fn draw(buf: &mut Buffer, area: Rect, app: &App, snap: &Snapshot, focused: bool) {
    let theme = app.theme;
    let order = wall_order(snap, app.wall_sort, &app.filter);
    let total = app.scope().venue_count(snap);
    let grid = Grid::new(super::body(area), snap, total);
    let per_page = grid.per_page().max(1);
    let selected = position(&order, app.wall_sel);
    let pages = order.len().div_ceil(per_page).max(1);
    let page = (selected / per_page).min(pages - 1);
    let count = if app.filter.is_empty() {
        format!("{total} venues")
    } else {
        format!("{} of {total} venues", order.len())
    };
    let sort = match app.wall_sort {
        WallSort::Worst => "worst first",
        WallSort::Code => "by code",
    };
    // The page first: on a small screen the rest of the title is cut,
    // never the page.
    let mut left = Vec::new();
    if pages > 1 {
        left.push(Span::styled(
            format!("page {}/{pages}", page + 1),
            theme.title(),
        ));
        left.push(Span::raw(" · "));
    }
    left.push(Span::raw(format!("{count} · {sort}")));
    let legend = |s: Status, word: &str| {
        vec![
            Span::styled(s.glyph(), theme.status(s)),
            Span::styled(format!(" {word} "), theme.dim()),
        ]
    };
    let mut right = Vec::new();
    right.extend(legend(Status::Down, "down"));
    right.extend(legend(Status::Degraded, "degraded"));
    if grid.style == TileStyle::Wide {
        right.extend(legend(Status::Unreachable, "unreachable"));
    }
    right.push(Span::styled("!", theme.error()));
    right.push(Span::styled(" incidents", theme.dim()));
    let body = title(buf, area, theme, "Wall", focused, left, right);
    if body.height == 0 || body.width == 0 {
        return;
    }
    if order.is_empty() {
        let line = Line::from(Span::styled(
            fit(
                &format!(
                    "no venue matches `{}`; Esc clears the filter",
                    app.filter_text
                ),
                usize::from(body.width),
            ),
            theme.dim(),
        ));
        put(buf, body, 0, &line);
        return;
    }
    let start = page * per_page;
    for (i, &v) in order.iter().enumerate().skip(start).take(per_page) {
        let slot = i - start;
        let x = body.x + u16_of(slot % grid.cols * grid.tile_w);
        let y = u16_of(slot / grid.cols);
        if y >= body.height {
            break;
        }
        let tile_w = u16_of(grid.tile_w.saturating_sub(1)).min(body.right().saturating_sub(x));
        let cell = Rect::new(x, body.y, tile_w, body.height);
        let spans = tile(snap, v, &grid, theme);
        put(buf, cell, y, &Line::from(spans));
        if i == selected && focused {
            text::fill(buf, cell, y, theme.selected());
        } else if i == selected {
            text::fill(
                buf,
                cell,
                y,
                Style::new().add_modifier(Modifier::UNDERLINED),
            );
        }
    }
}
