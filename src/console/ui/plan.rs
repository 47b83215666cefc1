//! A dry-run's plan over the screen: each step and exactly what it would
//! do, as the engine wrote it; nothing was done. Esc closes it.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};

use super::text::u16_of;
use crate::console::app::{App, Plan};

/// The popup's outer area in a screen of `area`.
fn popup(area: Rect) -> Rect {
    let w = area.width.min(100);
    let h = if area.height > 6 {
        area.height - 4
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

fn block(plan: &Plan) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .title(format!(" {} · nothing was done · Esc closes ", plan.title))
}

/// Rows of the plan a page holds on a screen of `area`.
pub(crate) fn rows(area: Rect) -> usize {
    usize::from(popup(area).height.saturating_sub(2)).max(1)
}

/// Draws the plan over the screen.
pub(crate) fn draw(buf: &mut Buffer, area: Rect, app: &App, plan: &Plan) {
    let rect = popup(area);
    if rect.width < 3 || rect.height < 3 {
        return;
    }
    Clear.render(rect, buf);
    let theme = app.theme;
    let lines: Vec<Line<'static>> = plan
        .lines
        .iter()
        .map(|l| {
            let safe = crate::model::printable(l).into_owned();
            match safe.split_once(": ") {
                Some((head, tail)) if !head.contains(' ') || head.starts_with(char::is_numeric) => {
                    Line::from(vec![
                        Span::styled(format!("{head}: "), theme.key()),
                        Span::raw(tail.to_owned()),
                    ])
                }
                _ => Line::from(safe),
            }
        })
        .collect();
    let last = plan.lines.len().saturating_sub(rows(area));
    Paragraph::new(lines)
        .block(block(plan))
        .wrap(Wrap { trim: false })
        .scroll((u16_of(plan.scroll.min(last)), 0))
        .render(rect, buf);
}
