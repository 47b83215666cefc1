//! Small text helpers: clock, ages, latencies, fitting text to columns.
//! Widths are display columns (`unicode-width`, as ratatui's buffer counts
//! them): a CJK character or an emoji takes two, a combining accent none,
//! so names from device data keep the columns of a table aligned.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::model::{Status, printable};

/// Width of a status as `glyph word` with the longest word.
pub const STATUS_W: usize = 13;

/// `HH:MM:SS` (UTC) of a time.
pub fn clock(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) % 86_400;
    format!("{:02}:{:02}:{:02}", secs / 3_600, secs / 60 % 60, secs % 60)
}

/// How long ago `then` was, in one short word: `4s`, `12m`, `3h05m`,
/// `2d04h`. A time in the future reads `0s`.
pub fn age(now: SystemTime, then: SystemTime) -> String {
    let secs = now.duration_since(then).map_or(0, |d| d.as_secs());
    match secs {
        0..60 => format!("{secs}s"),
        60..3_600 => format!("{}m", secs / 60),
        3_600..86_400 => format!("{}h{:02}m", secs / 3_600, secs / 60 % 60),
        _ => format!("{}d{:02}h", secs / 86_400, secs / 3_600 % 24),
    }
}

/// A latency: `0.42ms`, `3.1ms`, `120ms`, `1.20s`.
pub fn latency(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1_000.0;
    if ms < 1.0 {
        format!("{ms:.2}ms")
    } else if ms < 10.0 {
        format!("{ms:.1}ms")
    } else if ms < 1_000.0 {
        format!("{ms:.0}ms")
    } else {
        format!("{:.2}s", d.as_secs_f64())
    }
}

/// Number of terminal columns `s` takes.
pub fn width(s: &str) -> usize {
    // Most of what the console draws is ASCII: one column a byte.
    if s.is_ascii() { s.len() } else { s.width() }
}

/// `s` cut to at most `w` columns, with `…` when cut. A wide character
/// that would straddle the cut goes whole (the result is then a column
/// short: [`pad`] fills it); combining marks stay with their letter.
pub fn fit(s: &str, w: usize) -> String {
    if width(s) <= w {
        return s.to_owned();
    }
    if w == 0 {
        return String::new();
    }
    let room = w - 1;
    let mut used = 0;
    let mut end = 0;
    for (i, c) in s.char_indices() {
        let cw = c.width().unwrap_or(0);
        if used + cw > room {
            break;
        }
        used += cw;
        end = i + c.len_utf8();
    }
    let mut out = s[..end].trim_end().to_owned();
    out.push('…');
    out
}

/// `s` cut or padded with spaces to exactly `w` columns.
pub fn pad(s: &str, w: usize) -> String {
    let s = fit(s, w);
    let n = width(&s);
    format!("{s}{}", " ".repeat(w - n))
}

/// `s` cut or padded on the left to exactly `w` columns.
pub fn rpad(s: &str, w: usize) -> String {
    let s = fit(s, w);
    let n = width(&s);
    format!("{}{s}", " ".repeat(w - n))
}

/// `✖ DOWN`.
pub fn status(s: Status) -> String {
    format!("{} {}", s.glyph(), s.word())
}

/// A status in at most `w` columns: the full word when it fits, else a
/// shortened word; the glyph always stays.
pub fn status_fit(s: Status, w: usize) -> String {
    let full = status(s);
    if width(&full) <= w {
        return full;
    }
    let short = match s {
        Status::Unreachable => "UNREACH.",
        Status::Maintenance => "MAINT.",
        Status::Degraded => "DEGR.",
        Status::Unknown => "UNKN.",
        Status::Ok | Status::Down => s.word(),
    };
    fit(&format!("{} {short}", s.glyph()), w)
}

/// Total width of a line's spans.
pub fn line_width(spans: &[Span<'_>]) -> usize {
    spans.iter().map(|s| width(&s.content)).sum()
}

/// Draws `line` on row `row` of `area`, if that row exists; clipped to
/// the area's width. Everything the console draws goes through here, so
/// this is where text from devices (sysName, ifDescr, reasons, HTTP
/// bodies) is made safe: control characters are drawn escaped
/// ([`printable`]), never sent to the terminal or silently dropped.
pub fn put(buf: &mut Buffer, area: Rect, row: u16, line: &Line<'_>) {
    if area.width == 0 || row >= area.height {
        return;
    }
    if line
        .spans
        .iter()
        .any(|s| matches!(printable(&s.content), Cow::Owned(_)))
    {
        let safe = Line {
            spans: line
                .spans
                .iter()
                .map(|s| Span::styled(printable(&s.content).into_owned(), s.style))
                .collect(),
            style: line.style,
            alignment: line.alignment,
        };
        put_printable(buf, area, row, &safe);
    } else {
        put_printable(buf, area, row, line);
    }
}

/// [`put`] for a line already safe.
fn put_printable(buf: &mut Buffer, area: Rect, row: u16, line: &Line<'_>) {
    let w = usize::from(area.width);
    if visible_width(line) <= w {
        // The common case: drawn as it is (at most trailing blanks fall
        // off the edge), nothing copied.
        buf.set_line(area.x, area.y + row, line, area.width);
    } else {
        buf.set_line(area.x, area.y + row, &fit_line(line, w), area.width);
    }
}

/// Columns a line takes without its trailing blanks.
fn visible_width(line: &Line<'_>) -> usize {
    let total: usize = line.spans.iter().map(|s| width(&s.content)).sum();
    let mut trailing = 0;
    for span in line.spans.iter().rev() {
        let trimmed = span.content.trim_end();
        trailing += width(&span.content) - width(trimmed);
        if !trimmed.is_empty() {
            break;
        }
    }
    total - trailing
}

/// `line` cut to at most `w` columns, ending in `…` (in the style of the
/// span it cuts) when cut, so a clipped value never looks whole.
pub fn fit_line<'a>(line: &Line<'a>, w: usize) -> Line<'a> {
    if visible_width(line) <= w {
        // At most trailing blanks (a padded table row) fall off the edge.
        return line.clone();
    }
    let room = w.saturating_sub(1);
    let mut used = 0;
    let mut spans: Vec<Span<'a>> = Vec::new();
    for span in &line.spans {
        let sw = width(&span.content);
        if used + sw <= room {
            used += sw;
            spans.push(span.clone());
            continue;
        }
        let mut end = 0;
        for (i, c) in span.content.char_indices() {
            let cw = c.width().unwrap_or(0);
            if used + cw > room {
                break;
            }
            used += cw;
            end = i + c.len_utf8();
        }
        let kept = span.content[..end].trim_end().to_owned();
        spans.push(Span::styled(format!("{kept}…"), span.style));
        break;
    }
    Line {
        spans,
        style: line.style,
        alignment: line.alignment,
    }
}

/// Fills row `row` of `area` with a style (for a selected row).
pub fn fill(buf: &mut Buffer, area: Rect, row: u16, style: Style) {
    if area.width == 0 || row >= area.height {
        return;
    }
    buf.set_style(Rect::new(area.x, area.y + row, area.width, 1), style);
}

/// A `u16` from a count, saturating.
pub fn u16_of(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// A table column: header, width, and whether it is aligned right.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Header text.
    pub header: &'static str,
    /// Width in columns.
    pub width: usize,
    /// Right-aligned (numbers).
    pub right: bool,
}

/// Lays out `cols` (with one space between) in `total` columns: the last
/// one takes what is left (at least `min_last`). Columns listed in `drop`
/// are removed, in that order, while the rest does not fit. Returns the
/// indices of the columns kept and their widths.
pub fn columns(
    cols: &[Column],
    total: usize,
    min_last: usize,
    drop: &[usize],
) -> Vec<(usize, usize)> {
    let mut kept: Vec<usize> = (0..cols.len()).collect();
    let need = |kept: &[usize]| -> usize {
        let fixed: usize = kept[..kept.len().saturating_sub(1)]
            .iter()
            .map(|&i| cols[i].width + 1)
            .sum();
        fixed + min_last
    };
    for &d in drop {
        if need(&kept) <= total {
            break;
        }
        kept.retain(|&i| i != d);
    }
    let mut used = 0;
    let mut out = Vec::with_capacity(kept.len());
    for (n, &i) in kept.iter().enumerate() {
        let w = if n + 1 == kept.len() {
            total.saturating_sub(used)
        } else {
            cols[i].width.min(total.saturating_sub(used))
        };
        used += w + 1;
        out.push((i, w));
    }
    out
}

impl Column {
    /// A left-aligned column.
    pub const fn left(header: &'static str, width: usize) -> Self {
        Column {
            header,
            width,
            right: false,
        }
    }

    /// A right-aligned column (numbers).
    pub const fn right(header: &'static str, width: usize) -> Self {
        Column {
            header,
            width,
            right: true,
        }
    }
}

/// One table cell, fitted to its width.
pub fn cell(text: &str, w: usize, right: bool) -> String {
    if right { rpad(text, w) } else { pad(text, w) }
}

/// Why device `d` is in maintenance, from the windows in force:
/// `maintenance until 17:56:00 (2h00m left): fibre works (ana, on
/// STA-uplink)`; `None` when no window covers it.
pub fn maintenance_of(snap: &crate::engine::Snapshot, d: usize) -> Option<String> {
    let layout = &snap.layout;
    let info = layout.devices.get(d)?;
    let venue = layout.venue_info(info.venue).map(|v| v.code.as_str());
    let covers = |target: &str| {
        target == info.id
            || Some(target) == venue
            || layout
                .group(target)
                .and_then(|g| layout.group_info(g))
                .is_some_and(|g| g.members.iter().any(|m| m.0 == d))
    };
    let w = snap
        .maintenance
        .iter()
        .filter(|w| covers(&w.target))
        .max_by_key(|w| w.end)?;
    let on = if w.target == info.id {
        String::new()
    } else {
        format!(", on {}", w.target)
    };
    Some(format!(
        "maintenance until {} ({} left): {} ({}{on})",
        clock(w.end),
        age(w.end, snap.at),
        w.reason,
        w.by
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(0, "0s")]
    #[case(59, "59s")]
    #[case(60, "1m")]
    #[case(3_599, "59m")]
    #[case(3_600, "1h00m")]
    #[case(3_725, "1h02m")]
    #[case(86_400 + 7_200, "1d02h")]
    fn ages(#[case] secs: u64, #[case] shown: &str) {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(age(now, now - Duration::from_secs(secs)), shown);
    }

    #[test]
    fn future_is_zero() {
        let now = UNIX_EPOCH + Duration::from_secs(10);
        assert_eq!(age(now, now + Duration::from_secs(5)), "0s");
    }

    #[rstest]
    #[case(Duration::from_micros(420), "0.42ms")]
    #[case(Duration::from_micros(3_140), "3.1ms")]
    #[case(Duration::from_millis(120), "120ms")]
    #[case(Duration::from_millis(1_200), "1.20s")]
    fn latencies(#[case] d: Duration, #[case] shown: &str) {
        assert_eq!(latency(d), shown);
    }

    #[test]
    fn clock_is_utc_time_of_day() {
        assert_eq!(
            clock(UNIX_EPOCH + Duration::from_secs(1_722_000_000)),
            "13:20:00"
        );
        assert_eq!(clock(UNIX_EPOCH), "00:00:00");
    }

    #[test]
    fn a_cut_line_ends_in_an_ellipsis_in_the_style_it_cuts() {
        let dim = Style::default().add_modifier(ratatui::style::Modifier::DIM);
        let line = Line::from(vec![
            Span::raw("reason    "),
            Span::styled("no answer (2 attempts): device down", dim),
        ]);
        let cut = fit_line(&line, 24);
        assert_eq!(cut.to_string(), "reason    no answer (2…");
        assert_eq!(cut.width(), 23);
        assert_eq!(cut.spans.last().map(|s| s.style), Some(dim));
        assert_eq!(fit_line(&line, 100), line);
        // Blanks past the edge are no loss: a padded row is not marked.
        let padded = Line::from(vec![Span::raw("ID  TITLE"), Span::raw("     ")]);
        assert_eq!(fit_line(&padded, 10), padded);
        assert_eq!(fit_line(&padded, 8).to_string(), "ID  TIT…");
        assert_eq!(
            fit_line(&Line::from("東京アクアティクス"), 6).to_string(),
            "東京…"
        );
    }

    #[test]
    fn fitting() {
        assert_eq!(fit("Stade de France", 8), "Stade d…");
        assert_eq!(fit("STA", 8), "STA");
        assert_eq!(fit("STA", 0), "");
        assert_eq!(pad("Élan", 6), "Élan  ");
        assert_eq!(rpad("12", 4), "  12");
        assert_eq!(status_fit(Status::Unreachable, 10), "⊘ UNREACH.");
        assert_eq!(status_fit(Status::Unreachable, 13), "⊘ UNREACHABLE");
        assert_eq!(status_fit(Status::Down, 3), "✖…");
        assert_eq!(fit("Paris 2024 Olympic", 12), "Paris 2024…");
    }

    #[rstest]
    #[case("東京", 4, "東京")]
    #[case("東京アクアティクス", 6, "東京…")]
    #[case("東京アクアティクス", 5, "東京…")]
    #[case("東京", 3, "東…")]
    #[case("東京", 2, "…")]
    #[case("Cafe\u{301} de Flore", 6, "Cafe\u{301}…")]
    #[case("⚽ Stade", 4, "⚽…")]
    #[case("⚽ Stade", 3, "⚽…")]
    #[case("⚽ Stade", 2, "…")]
    fn fitting_counts_display_columns(#[case] s: &str, #[case] w: usize, #[case] fitted: &str) {
        let got = fit(s, w);
        assert_eq!(got, fitted);
        assert!(width(&got) <= w, "{got:?} is {} columns", width(&got));
    }

    #[rstest]
    #[case("東京", 6, "東京  ", "  東京")]
    #[case("東京アクアティクス", 6, "東京… ", " 東京…")]
    #[case(
        "e\u{301}le\u{300}ve",
        7,
        "e\u{301}le\u{300}ve  ",
        "  e\u{301}le\u{300}ve"
    )]
    #[case("⚽", 3, "⚽ ", " ⚽")]
    fn padding_counts_display_columns(
        #[case] s: &str,
        #[case] w: usize,
        #[case] left: &str,
        #[case] right: &str,
    ) {
        assert_eq!(pad(s, w), left);
        assert_eq!(rpad(s, w), right);
        assert_eq!(width(&pad(s, w)), w);
        assert_eq!(width(&rpad(s, w)), w);
    }

    /// A table of names in every script: drawn into a buffer, each column
    /// starts at the same x on every row, whatever the names' widths.
    #[test]
    fn a_table_with_wide_and_combining_names_stays_aligned() {
        let cols = [
            Column::left("ID", 10),
            Column::left("NAME", 8),
            Column::right("MS", 5),
            Column::left("STATUS", 0),
        ];
        let rows = [
            ["STA-core-a", "Stade de France", "1.2", "✔ OK"],
            ["東京-core", "東京アクアティクスセンター", "12", "✖ DOWN"],
            ["AQC-cis", "Centre aquatique", "3.4", "▲ DEGRADED"],
            ["Cafe\u{301}-ap", "e\u{301}cole\u{300}", "120", "✔ OK"],
            ["⚽-gw", "⚽ Arena 🎾", "7", "? UNKNOWN"],
        ];
        let area = Rect::new(0, 0, 40, u16_of(rows.len()));
        let layout = columns(&cols, usize::from(area.width), 6, &[]);
        let mut buf = Buffer::empty(area);
        for (y, row) in rows.iter().enumerate() {
            let text: Vec<String> = layout
                .iter()
                .map(|&(i, w)| cell(row[i], w, cols[i].right))
                .collect();
            put(&mut buf, area, u16_of(y), &Line::from(text.join(" ")));
        }
        // Column starts: 0, 11, 20, 26. Each row has a space before every
        // column start and text from it on.
        let starts = [11u16, 20, 26];
        for y in 0..area.height {
            let row: String = (0..area.width)
                .map(|x| buf[(x, y)].symbol().to_owned())
                .collect();
            for &x in &starts {
                assert_eq!(buf[(x - 1, y)].symbol(), " ", "row {y} col {x}: {row:?}");
            }
            assert_eq!(
                buf[(26, y)].symbol(),
                rows[usize::from(y)][3].split(' ').next().unwrap_or(""),
                "status column of row {y}: {row:?}"
            );
            assert!(
                buf[(24, y)]
                    .symbol()
                    .chars()
                    .last()
                    .is_some_and(|c| c.is_ascii_digit()),
                "numbers right-aligned against the status column, row {y}: {row:?}"
            );
        }
    }

    #[test]
    fn columns_drop_in_order_and_the_last_takes_the_rest() {
        let cols = [
            Column::left("A", 10),
            Column::left("B", 10),
            Column::left("C", 10),
            Column::left("D", 0),
        ];
        assert_eq!(
            columns(&cols, 60, 10, &[1]),
            [(0, 10), (1, 10), (2, 10), (3, 27)]
        );
        assert_eq!(columns(&cols, 40, 10, &[1, 2]), [(0, 10), (2, 10), (3, 18)]);
        assert_eq!(columns(&cols, 20, 10, &[1, 2]), [(0, 10), (3, 9)]);
        assert_eq!(columns(&cols, 0, 10, &[1, 2]).len(), 2);
    }
}
