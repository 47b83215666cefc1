//! Styles and glyphs, chosen once when the console starts. Only the 16
//! ANSI colours, always paired with a glyph and a word; without colour
//! (`NO_COLOR`, `--no-color`) only bold, dim and reversed remain. Without
//! a UTF-8 locale (or with `--ascii`) every glyph is drawn in ASCII
//! ([`Glyphs`]); on a terminal that does not say it has more than 16
//! colours they are written as the basic ANSI codes ([`Palette`]).

use ratatui::style::{Color, Modifier, Style};

use crate::model::Status;

/// The characters the console draws with: Unicode glyphs, or plain ASCII
/// for a terminal whose locale is not UTF-8 (where `✔` arrives as `_` or
/// worse). Chosen once at start ([`Glyphs::for_locale`], `--ascii`) and
/// carried by the [`Theme`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Glyphs {
    ascii: bool,
}

impl Glyphs {
    /// Unicode glyphs (`✔ OK`, `…`, box-drawing borders).
    pub const UNICODE: Glyphs = Glyphs { ascii: false };
    /// ASCII only (`+ OK`, `~`, `+--+` borders).
    pub const ASCII: Glyphs = Glyphs { ascii: true };

    /// As the C library decides whether the locale is UTF-8: the first of
    /// `LC_ALL`, `LC_CTYPE` and `LANG` that is set and not empty is the
    /// locale (none: the C locale); it is UTF-8 when it names UTF-8
    /// (`en_US.UTF-8`, `C.utf8`).
    pub fn for_locale(lc_all: Option<&str>, lc_ctype: Option<&str>, lang: Option<&str>) -> Glyphs {
        let locale = [lc_all, lc_ctype, lang]
            .into_iter()
            .flatten()
            .find(|v| !v.is_empty())
            .unwrap_or("C")
            .to_ascii_lowercase();
        if locale.contains("utf-8") || locale.contains("utf8") {
            Glyphs::UNICODE
        } else {
            Glyphs::ASCII
        }
    }

    /// Whether only ASCII is drawn.
    pub const fn is_ascii(self) -> bool {
        self.ascii
    }

    /// The glyph of a status: [`Status::glyph`], or its ASCII form (each
    /// distinct, one column, like the Unicode one).
    pub const fn status(self, status: Status) -> &'static str {
        if !self.ascii {
            return status.glyph();
        }
        match status {
            Status::Ok => "+",
            Status::Degraded => "^",
            Status::Down => "X",
            Status::Unreachable => "/",
            Status::Unknown => "?",
            Status::Maintenance => "#",
        }
    }

    /// What one cell of the screen shows in ASCII: status glyphs as
    /// [`Glyphs::status`] says, the console's own marks (`…`, `·`, `→`,
    /// `•`, box drawing) by their nearest ASCII character, and anything
    /// else not ASCII (a venue name in another script) as `?`, one per
    /// column so that the layout stays. ASCII text is returned as it is.
    pub fn ascii_cell(symbol: &str) -> std::borrow::Cow<'_, str> {
        use std::borrow::Cow;
        if symbol.is_ascii() {
            return Cow::Borrowed(symbol);
        }
        if let Some(s) = Status::ALL.iter().find(|s| s.glyph() == symbol) {
            return Cow::Borrowed(Glyphs::ASCII.status(*s));
        }
        if let Some(folded) = fold_latin(symbol) {
            return Cow::Owned(folded.to_string());
        }
        let mark = match symbol {
            "…" => Some("~"),
            "·" | "─" | "━" | "—" | "–" | "═" => Some("-"),
            "│" | "┃" | "║" => Some("|"),
            "┌" | "┐" | "└" | "┘" | "├" | "┤" | "┬" | "┴" | "┼" | "╭" | "╮" | "╰" | "╯" => {
                Some("+")
            }
            "→" => Some(">"),
            "←" => Some("<"),
            "↑" => Some("^"),
            "↓" => Some("v"),
            "•" => Some("*"),
            _ => None,
        };
        if let Some(m) = mark {
            Cow::Borrowed(m)
        } else {
            let w = unicode_width::UnicodeWidthStr::width(symbol).max(1);
            Cow::Owned("?".repeat(w))
        }
    }
}

/// Latin letters with accents, and the letters they are made from: an
/// accented letter shown in ASCII keeps its base (`Élancourt` as
/// `Elancourt`, `Trocadéro` as `Trocadero`), as people write without
/// accents.
const LATIN: [(&str, char); 12] = [
    ("ÀÁÂÃÄÅĀĂĄ", 'A'),
    ("àáâãäåāăą", 'a'),
    ("ÇĆĈĊČ", 'C'),
    ("çćĉċč", 'c'),
    ("ÈÉÊËĒĔĖĘĚ", 'E'),
    ("èéêëēĕėęě", 'e'),
    ("ÌÍÎÏĨĪĬĮİ", 'I'),
    ("ìíîïĩīĭįı", 'i'),
    ("ÒÓÔÕÖØŌŎŐ", 'O'),
    ("òóôõöøōŏő", 'o'),
    ("ÙÚÛÜŨŪŬŮŰŲ", 'U'),
    ("ùúûüũūŭůűų", 'u'),
];

/// The ASCII letter of one cell holding a Latin letter: an accented
/// letter ([`LATIN`], and the few below), or an ASCII letter followed by
/// combining accents (`e` + U+0301).
fn fold_latin(symbol: &str) -> Option<char> {
    let mut chars = symbol.chars();
    let first = chars.next()?;
    let rest_combining = chars.all(|c| unicode_width::UnicodeWidthChar::width(c) == Some(0));
    if !rest_combining {
        return None;
    }
    if first.is_ascii_alphanumeric() {
        return Some(first);
    }
    let more = match first {
        'Ñ' | 'Ń' | 'Ņ' | 'Ň' => Some('N'),
        'ñ' | 'ń' | 'ņ' | 'ň' => Some('n'),
        'Ý' | 'Ÿ' => Some('Y'),
        'ý' | 'ÿ' => Some('y'),
        'Ź' | 'Ż' | 'Ž' => Some('Z'),
        'ź' | 'ż' | 'ž' => Some('z'),
        'Ś' | 'Ş' | 'Š' => Some('S'),
        'ś' | 'ş' | 'š' | 'ß' => Some('s'),
        _ => None,
    };
    more.or_else(|| {
        LATIN
            .iter()
            .find(|(from, _)| from.contains(first))
            .map(|(_, to)| *to)
    })
}

/// How many colours the terminal can show. Every colour of the [`Theme`]
/// is one of the 16 ANSI colours; on a [`Palette::Basic`] terminal they
/// are also written as the basic codes (`ESC[31m`), which every colour
/// terminal knows, and not as 256-colour codes (`ESC[38;5;1m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Palette {
    /// The 16 ANSI colours, basic codes only (`vt100`, `xterm`, `screen`).
    Basic,
    /// The terminal says it has more (`COLORTERM=truecolor` or `24bit`, a
    /// `TERM` with `256color` or `direct`).
    Extended,
}

impl Palette {
    /// From `TERM` and `COLORTERM`, as terminals announce themselves.
    pub fn for_terminal(term: Option<&str>, colorterm: Option<&str>) -> Palette {
        let colorterm = colorterm.unwrap_or("").to_ascii_lowercase();
        let term = term.unwrap_or("").to_ascii_lowercase();
        if colorterm == "truecolor"
            || colorterm == "24bit"
            || term.contains("256color")
            || term.contains("direct")
        {
            Palette::Extended
        } else {
            Palette::Basic
        }
    }
}

/// Why the console cannot draw on a terminal: `TERM` unset, empty or
/// `dumb` (a terminal that cannot move the cursor, such as an editor's
/// shell buffer). `None` when it can.
pub fn unusable_terminal(term: Option<&str>) -> Option<String> {
    match term {
        None => Some("TERM is not set".to_owned()),
        Some(t) if t.trim().is_empty() => Some("TERM is empty".to_owned()),
        Some(t) if t.eq_ignore_ascii_case("dumb") => {
            Some("TERM=dumb cannot move the cursor".to_owned())
        }
        Some(_) => None,
    }
}

/// The console's styles, with or without colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    color: bool,
    glyphs: Glyphs,
}

impl Theme {
    /// Colours on or off, Unicode glyphs.
    pub const fn new(color: bool) -> Self {
        Theme {
            color,
            glyphs: Glyphs::UNICODE,
        }
    }

    /// The same styles, drawn with `glyphs`.
    #[must_use]
    pub const fn with_glyphs(self, glyphs: Glyphs) -> Self {
        Theme { glyphs, ..self }
    }

    /// The glyphs drawn.
    pub const fn glyphs(self) -> Glyphs {
        self.glyphs
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

#[cfg(test)]
mod terminal_tests {
    use super::*;
    use rstest::rstest;
    use std::collections::HashSet;

    #[rstest]
    #[case::nothing_set(None, None, None, true)]
    #[case::c(Some("C"), None, Some("en_US.UTF-8"), true)]
    #[case::posix_lang(None, None, Some("POSIX"), true)]
    #[case::utf8_lang(None, None, Some("en_US.UTF-8"), false)]
    #[case::utf8_lower(None, None, Some("C.utf8"), false)]
    #[case::ctype_wins_over_lang(None, Some("C"), Some("en_US.UTF-8"), true)]
    #[case::ctype_utf8(None, Some("fr_FR.UTF-8"), Some("C"), false)]
    #[case::all_wins(Some("de_DE.UTF-8"), Some("C"), Some("C"), false)]
    #[case::empty_all_is_unset(Some(""), None, Some("en_GB.UTF-8"), false)]
    #[case::latin1(None, None, Some("fr_FR.ISO-8859-1"), true)]
    fn locale_decides_the_glyphs(
        #[case] lc_all: Option<&str>,
        #[case] lc_ctype: Option<&str>,
        #[case] lang: Option<&str>,
        #[case] ascii: bool,
    ) {
        assert_eq!(Glyphs::for_locale(lc_all, lc_ctype, lang).is_ascii(), ascii);
    }

    #[rstest]
    #[case::vt100(Some("vt100"), None, Palette::Basic)]
    #[case::xterm(Some("xterm"), None, Palette::Basic)]
    #[case::screen(Some("screen"), None, Palette::Basic)]
    #[case::linux(Some("linux"), Some(""), Palette::Basic)]
    #[case::xterm_256(Some("xterm-256color"), None, Palette::Extended)]
    #[case::tmux_256(Some("tmux-256color"), None, Palette::Extended)]
    #[case::direct(Some("xterm-direct"), None, Palette::Extended)]
    #[case::truecolor(Some("xterm"), Some("truecolor"), Palette::Extended)]
    #[case::bit24(Some("screen"), Some("24bit"), Palette::Extended)]
    #[case::colorterm_other(Some("xterm"), Some("yes"), Palette::Basic)]
    fn terminal_decides_the_palette(
        #[case] term: Option<&str>,
        #[case] colorterm: Option<&str>,
        #[case] palette: Palette,
    ) {
        assert_eq!(Palette::for_terminal(term, colorterm), palette);
    }

    #[rstest]
    #[case::unset(None, true)]
    #[case::empty(Some(""), true)]
    #[case::dumb(Some("dumb"), true)]
    #[case::vt100(Some("vt100"), false)]
    #[case::xterm(Some("xterm"), false)]
    fn dumb_terminals_are_refused(#[case] term: Option<&str>, #[case] refused: bool) {
        assert_eq!(unusable_terminal(term).is_some(), refused);
    }

    #[test]
    fn ascii_status_glyphs_are_distinct_single_ascii_chars() {
        let glyphs: HashSet<&str> = Status::ALL
            .iter()
            .map(|s| Glyphs::ASCII.status(*s))
            .collect();
        assert_eq!(glyphs.len(), Status::ALL.len());
        for g in glyphs {
            assert_eq!(g.len(), 1, "{g}");
            assert!(g.is_ascii(), "{g}");
        }
        for s in Status::ALL {
            assert_eq!(Glyphs::UNICODE.status(s), s.glyph());
            assert_eq!(Glyphs::ascii_cell(s.glyph()), Glyphs::ASCII.status(s));
        }
    }

    #[rstest]
    #[case::ascii("a", "a")]
    #[case::ellipsis("…", "~")]
    #[case::dot("·", "-")]
    #[case::corner("┌", "+")]
    #[case::line("─", "-")]
    #[case::bar("│", "|")]
    #[case::arrow("→", ">")]
    #[case::bullet("•", "*")]
    #[case::accent("é", "e")]
    #[case::capital_accent("É", "E")]
    #[case::combining("e\u{301}", "e")]
    #[case::cedilla("ç", "c")]
    #[case::sharp_s("ß", "s")]
    #[case::not_latin("λ", "?")]
    #[case::wide("東", "??")]
    fn cells_in_ascii(#[case] cell: &str, #[case] ascii: &str) {
        assert_eq!(Glyphs::ascii_cell(cell), ascii);
    }
}
