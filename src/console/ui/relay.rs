//! The result relay as a flow: sources (by feed) → journal → sinks, with
//! rates, backlog and latency against each consumer's SLO, the routes in
//! force, and a tail of the newest message headers. Every state has a
//! glyph and a word, not a colour alone.

use std::time::{Duration, SystemTime};

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::text::{self, fill, put, u16_of};
use super::title;
use crate::console::app::App;
use crate::console::theme::Theme;
use crate::engine::Snapshot;
use crate::model::Status;
use crate::model::relay::{Outcome, RelayStatus, SinkState, SinkStatus, SourceStatus, TailEntry};

/// Rows the feeds table gets per page in `area`.
pub(crate) fn feed_rows(area: Rect, snap: &Snapshot) -> usize {
    let sinks = snap.relay.as_ref().map_or(0, |r| r.sinks.len());
    usize::from(area.height)
        .saturating_sub(sinks + 8)
        .div_ceil(2)
        .max(1)
}

/// The status a sink shows: failing is DOWN, over its SLO DEGRADED,
/// paused MAINTENANCE (an operator's choice), else OK.
pub(crate) fn sink_status(s: &SinkStatus) -> Status {
    match s.state {
        SinkState::Failing => Status::Down,
        SinkState::Paused => Status::Maintenance,
        SinkState::Running if s.p99.is_some_and(|p| !s.slo.is_zero() && p > s.slo) => {
            Status::Degraded
        }
        SinkState::Running => Status::Ok,
    }
}

fn state_word(s: &SinkStatus) -> &'static str {
    match s.state {
        SinkState::Failing => "FAILING",
        SinkState::Paused => "PAUSED",
        SinkState::Running if sink_status(s) == Status::Degraded => "SLOW",
        SinkState::Running => "OK",
    }
}

fn ms(d: Option<Duration>) -> String {
    d.map_or_else(|| "-".to_owned(), text::latency)
}

fn bytes(n: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let n = n as f64;
    if n >= 1e9 {
        format!("{:.1} GB", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.1} MB", n / 1e6)
    } else {
        format!("{:.0} kB", n / 1e3)
    }
}

/// Draws the relay in `area` (title row included).
pub(crate) fn draw(
    buf: &mut Buffer,
    area: Rect,
    app: &App,
    snap: &Snapshot,
    now: SystemTime,
    focused: bool,
) {
    let theme = app.theme;
    let Some(relay) = snap.relay.as_deref() else {
        not_running(buf, area, theme, focused);
        return;
    };
    let rate: f64 = relay.sources.iter().map(|s| s.rate).sum();
    let left = vec![Span::raw(format!(
        "{} · fsync {} · journal #{}–#{} {} · {} quarantined",
        relay.listen,
        if relay.fsync { "on" } else { "OFF" },
        relay.first,
        relay.head.saturating_sub(1),
        bytes(relay.journal_bytes),
        relay.quarantined
    ))];
    let right = vec![Span::styled(format!("{rate:.1} msg/s in"), theme.dim())];
    let body = title(buf, area, theme, "Relay", focused, left, right);
    let mut y = 0usize;
    let mut line = |buf: &mut Buffer, l: Line<'_>, style: Option<Style>| {
        if y < usize::from(body.height) {
            if let Some(s) = style {
                fill(buf, body, u16_of(y), s);
            }
            put(buf, body, u16_of(y), &l);
        }
        y += 1;
    };
    if let Some(why) = &relay.journal_failing {
        line(
            buf,
            Line::from(Span::styled(
                format!(" ✖ the journal cannot write: {why}; ingest answers 503"),
                theme.error(),
            )),
            None,
        );
    }
    let wide = body.width >= 120;
    let header = if wide {
        " SINKS          STATE   KIND   RATE  BACKLOG     P50  P99/SLO        CONSUMER      DELIVERED"
    } else {
        " SINKS          STATE   KIND   RATE  BACKLOG     P50  P99/SLO"
    };
    line(buf, Line::from(Span::styled(header, theme.dim())), None);
    for (i, s) in relay.sinks.iter().enumerate() {
        let selected = focused && i == app.relay_sel;
        line(
            buf,
            sink_line(theme, s, wide),
            selected.then(|| theme.selected()),
        );
    }
    let feeds = feed_lines(theme, snap, relay, now, app.scope());
    let rows = feed_rows(body, snap);
    let start = app.history_scroll.min(feeds.len().saturating_sub(rows));
    line(
        buf,
        Line::from(Span::styled(
            format!(
                " FEEDS ({}; {} shown from {})   SOURCES: last message ago",
                feeds.len(),
                rows.min(feeds.len()),
                start + 1
            ),
            theme.dim(),
        )),
        None,
    );
    for l in feeds.into_iter().skip(start).take(rows) {
        line(buf, l, None);
    }
    let routes: Vec<String> = relay
        .routes
        .iter()
        .map(|r| format!("{}: {} → {}", r.id, r.matches, r.sinks.join(",")))
        .collect();
    line(
        buf,
        Line::from(vec![
            Span::styled(" ROUTES ", theme.dim()),
            Span::raw(routes.join(" · ")),
        ]),
        None,
    );
    // The document code takes what the other columns leave.
    let code_w = usize::from(body.width).saturating_sub(62).clamp(12, 35);
    line(
        buf,
        Line::from(Span::styled(
            format!(
                " RECENT   SOURCE     {} TYPE          VER STATUS     OUTCOME",
                text::pad("DOCUMENT", code_w)
            ),
            theme.dim(),
        )),
        None,
    );
    for t in relay.tail.iter().rev() {
        line(buf, tail_line(theme, t, code_w), None);
    }
}

/// One header of the tail: when, from where, what, and what became of it.
fn tail_line(theme: Theme, t: &TailEntry, code_w: usize) -> Line<'static> {
    let style = match t.outcome {
        Outcome::Forwarded => Style::new(),
        Outcome::Quarantined => theme.error(),
        _ => theme.dim(),
    };
    let mut outcome = t.outcome.word().to_owned();
    if let Some(seq) = t.seq {
        outcome = format!("{outcome} #{seq}");
    }
    if let Some(why) = &t.reason {
        outcome = format!("{outcome}: {why}");
    }
    Line::from(vec![
        Span::styled(format!(" {} ", text::clock(t.at)), theme.dim()),
        Span::raw(format!(
            "{} {} {} {} {} ",
            text::pad(&t.source, 10),
            text::pad(&t.document_code, code_w),
            text::pad(&t.document_type, 13),
            text::rpad(&format!("v{}", t.version), 3),
            text::pad(t.result_status.as_deref().unwrap_or("-"), 10),
        )),
        Span::styled(outcome, style),
    ])
}

fn not_running(buf: &mut Buffer, area: Rect, theme: Theme, focused: bool) {
    let body = title(buf, area, theme, "Relay", focused, Vec::new(), Vec::new());
    if body.height > 0 {
        put(
            buf,
            body,
            0,
            &Line::from(Span::styled(
                " the result relay is not running here (no [relay] in the file)",
                theme.dim(),
            )),
        );
    }
}

fn sink_line(theme: Theme, s: &SinkStatus, wide: bool) -> Line<'static> {
    let status = sink_status(s);
    let mut spans = vec![
        Span::raw(" "),
        Span::styled(
            theme.glyphs().status(status).to_owned(),
            theme.status(status),
        ),
        Span::raw(format!(" {} ", text::pad(&s.id, 12))),
        Span::styled(text::pad(state_word(s), 7), theme.status(status)),
        Span::raw(format!(
            " {} {} {} {}  {}",
            text::pad(&s.kind, 4),
            text::rpad(&format!("{:.1}/s", s.rate), 7),
            text::rpad(&s.backlog.to_string(), 8),
            text::rpad(&ms(s.p50), 7),
            text::pad(&format!("{}/{}", ms(s.p99), text::latency(s.slo)), 13),
        )),
    ];
    if wide {
        spans.push(Span::raw(format!(
            "  {} {}",
            text::pad(&s.consumer, 13),
            text::rpad(&s.delivered.to_string(), 9)
        )));
    }
    if let Some(e) = &s.error {
        spans.push(Span::styled(format!("  {e}"), theme.error()));
    }
    Line::from(spans)
}

/// One line per feed the relay serves in the console's scope, worst
/// first.
fn feed_lines(
    theme: Theme,
    snap: &Snapshot,
    relay: &RelayStatus,
    now: SystemTime,
    scope: &crate::console::app::Scope,
) -> Vec<Line<'static>> {
    let mut rows: Vec<(Status, &str, Vec<&SourceStatus>)> = snap
        .layout
        .feeds
        .iter()
        .enumerate()
        .filter(|&(f, _)| scope.has_feed(snap, f))
        .map(|(f, info)| {
            let sources: Vec<&SourceStatus> = relay
                .sources
                .iter()
                .filter(|s| s.feed.as_deref() == Some(info.id.as_str()))
                .collect();
            let status = snap.feeds.get(f).copied().unwrap_or(Status::Unknown);
            (status, info.id.as_str(), sources)
        })
        .filter(|(_, _, sources)| !sources.is_empty())
        .collect();
    rows.sort_by(|a, b| b.0.severity().cmp(&a.0.severity()).then(a.1.cmp(b.1)));
    rows.into_iter()
        .map(|(status, id, sources)| {
            let active = relay
                .active
                .iter()
                .find(|(feed, _)| feed == id)
                .and_then(|(_, s)| s.clone());
            let mut spans = vec![
                Span::raw(" "),
                Span::styled(
                    theme.glyphs().status(status).to_owned(),
                    theme.status(status),
                ),
                Span::raw(format!(" {} ", text::pad(id, 15))),
            ];
            let mut rate = 0.0;
            let mut counts = crate::model::relay::Counts::default();
            for s in &sources {
                rate += s.rate;
                counts.forwarded += s.counts.forwarded;
                counts.duplicate += s.counts.duplicate;
                counts.stale += s.counts.stale;
                counts.quarantined += s.counts.quarantined;
                let ago = s
                    .last
                    .map_or_else(|| "never".to_owned(), |t| text::age(now, t));
                let standby = active.as_ref().is_some_and(|a| a != &s.id);
                spans.push(Span::raw(format!(
                    "{} {}{} ",
                    s.id,
                    text::pad(&ago, 5),
                    if standby { " (standby)" } else { "" }
                )));
            }
            spans.push(Span::styled(
                format!(
                    "{rate:.1}/s fwd {} dup {} stale {} quar {}{}",
                    counts.forwarded,
                    counts.duplicate,
                    counts.stale,
                    counts.quarantined,
                    active.map_or_else(String::new, |a| format!(" · only {a}"))
                ),
                theme.dim(),
            ));
            Line::from(spans)
        })
        .collect()
}
