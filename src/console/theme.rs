//! Styles. Only the 16 ANSI colours, always paired with a glyph and a
//! word; without colour (`NO_COLOR`, `--no-color`) only bold, dim and
//! reversed remain.

use ratatui::style::{Color, Modifier, Style};

use crate::model::Status;

/// The console's styles, with or without colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    color: bool,
}

impl Theme {
    /// Colours on or off.
    pub const fn new(color: bool) -> Self {
        Theme { color }
    }

    /// Whether colours are used.
    pub const fn color(self) -> bool {
        self.color
    }

    fn fg(self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    /// Glyph and word of a status: red, orange (yellow), green, grey;
    /// DOWN is bold too, so it stands out without colour.
    pub fn status(self, status: Status) -> Style {
        let style = match status {
            Status::Ok => self.fg(Color::Green),
            Status::Degraded => self.fg(Color::Yellow),
            Status::Down => self.fg(Color::Red),
            Status::Unreachable => self.fg(Color::Magenta),
            Status::Unknown => self.fg(Color::Gray),
            Status::Maintenance => self.fg(Color::DarkGray),
        };
        if status == Status::Down {
            style.add_modifier(Modifier::BOLD)
        } else {
            style
        }
    }

    /// A count of devices in a status: coloured only when non-zero.
    pub fn count(self, status: Status, n: usize) -> Style {
        if n == 0 {
            self.dim()
        } else {
            self.status(status)
        }
    }

    /// The selected row or tile.
    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    /// Pane titles and table headers.
    pub fn title(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    /// The title of the pane that has the keys.
    pub fn focused_title(self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
        }
    }

    /// The title of a pane without the keys.
    pub fn pane_title(self) -> Style {
        if self.color {
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        }
    }

    /// Secondary text (legends, separators, zero counts).
    pub fn dim(self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new()
        }
    }

    /// An error message.
    pub fn error(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    /// Something to notice that is not an error (stale data, a lost link).
    pub fn alert(self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
        }
    }

    /// Keys in the footer and the help.
    pub fn key(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    /// The status bar's background line.
    pub fn bar(self) -> Style {
        if self.color {
            Style::new().bg(Color::Blue).fg(Color::White)
        } else {
            Style::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_colour_means_no_colour() {
        let theme = Theme::new(false);
        let mut styles = vec![
            theme.selected(),
            theme.title(),
            theme.focused_title(),
            theme.pane_title(),
            theme.dim(),
            theme.error(),
            theme.alert(),
            theme.key(),
            theme.bar(),
        ];
        styles.extend(Status::ALL.map(|s| theme.status(s)));
        for style in styles {
            assert_eq!(style.fg, None, "{style:?}");
            assert_eq!(style.bg, None, "{style:?}");
        }
    }

    #[test]
    fn statuses_have_distinct_colours() {
        let theme = Theme::new(true);
        let colours: std::collections::HashSet<_> =
            Status::ALL.iter().map(|&s| theme.status(s).fg).collect();
        assert_eq!(colours.len(), Status::ALL.len());
    }
}
