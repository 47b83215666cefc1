//! The TOC host: the machine the console's truth depends on.

use std::time::SystemTime;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::text::{self, put, u16_of};
use super::title;
use crate::console::app::App;
use crate::engine::Snapshot;
use crate::model::Reading;
use crate::model::text::used_of;

fn reading<'a>(readings: &'a [Reading], name: &str) -> Option<&'a str> {
    readings
        .iter()
        .find(|r| r.name == name)
        .map(|r| r.value.as_str())
}

/// Draws the host pane in `area` (title row included).
pub(crate) fn draw(
    buf: &mut Buffer,
    area: Rect,
    app: &App,
    snap: &Snapshot,
    now: SystemTime,
    focused: bool,
) {
    let theme = app.theme;
    let Some(host) = &snap.host else {
        let body = title(buf, area, theme, "Host", focused, Vec::new(), Vec::new());
        put(
            buf,
            body,
            0,
            &Line::from(Span::styled(" not sampled yet", theme.dim())),
        );
        return;
    };
    let status = host.outcome.result.status();
    let left = vec![
        Span::styled(text::status(status), theme.status(status)),
        Span::raw(format!("  {}", host.name)),
    ];
    let right = vec![Span::styled(
        format!("sampled {} ago", text::age(now, host.at)),
        theme.dim(),
    )];
    let body = title(buf, area, theme, "Host", focused, left, right);
    let r = &host.outcome.readings;
    let row = |name: &str, value: String| {
        Line::from(vec![
            Span::styled(format!(" {name:<10}"), theme.dim()),
            Span::raw(value),
        ])
    };
    let mut lines = Vec::new();
    if let Some(reason) = host.outcome.result.reason() {
        lines.push(Line::from(vec![
            Span::styled(format!(" {:<10}", "reason"), theme.dim()),
            Span::styled(reason.to_owned(), theme.status(status)),
        ]));
    }
    if let Some(cpu) = reading(r, "cpu.percent") {
        let load = reading(r, "load.1m").map_or_else(String::new, |l| format!("   load {l}"));
        lines.push(row("cpu", format!("{cpu}%{load}")));
    }
    if let Some(mem) = reading(r, "memory.percent") {
        let bytes = |name: &str| reading(r, name).and_then(|v| v.parse::<u64>().ok());
        let of = match (bytes("memory.used"), bytes("memory.total")) {
            (Some(used), Some(total)) => format!("   {}", used_of(used, total)),
            _ => String::new(),
        };
        lines.push(row("memory", format!("{mem}%{of}")));
    }
    for rd in r {
        if let Some(mount) = rd
            .name
            .strip_prefix("disk.")
            .and_then(|m| m.strip_suffix(".percent"))
        {
            lines.push(row("disk", format!("{}%   {mount}", rd.value)));
        }
    }
    if let Some(p) = reading(r, "processes") {
        lines.push(row("processes", p.to_owned()));
    }
    let known = |name: &str| {
        name.starts_with("disk.")
            || matches!(
                name,
                "cpu.percent"
                    | "load.1m"
                    | "memory.percent"
                    | "memory.used"
                    | "memory.total"
                    | "processes"
            )
    };
    for rd in r.iter().filter(|rd| !known(&rd.name)) {
        lines.push(row(&rd.name, rd.value.clone()));
    }
    for note in &host.outcome.notes {
        lines.push(row("note", note.clone()));
    }
    for (k, line) in lines.iter().enumerate() {
        put(buf, body, u16_of(k), line);
    }
}
