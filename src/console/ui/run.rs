//! Playbook runs: one run's steps, live (a glyph, a word and a colour
//! per state, each step's time, its outcome), the current step's
//! instructions and work in a box with the prompt the user's role may
//! answer; and the list of every run (`:runs`).

use std::time::{Duration, SystemTime};

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

use super::text::{self, fill, pad, put, rpad, u16_of};
use super::title;
use crate::console::app::{App, RunKey, prompt};
use crate::console::theme::Theme;
use crate::engine::{Run, RunState, Snapshot, StepRun, StepState};
use crate::model::Status;

/// Glyph of a step state (Unicode, or ASCII), one column.
pub(crate) fn step_glyph(theme: Theme, state: StepState) -> &'static str {
    let ascii = theme.glyphs().is_ascii();
    match (state, ascii) {
        (StepState::Pending, false) => "·",
        (StepState::Pending, true) => ".",
        (StepState::NeedsApproval, _) => "!",
        (StepState::Running, false) => "▶",
        (StepState::Running, true) => ">",
        (StepState::Waiting, _) => "?",
        (StepState::Done, false) => "✔",
        (StepState::Done, true) => "+",
        (StepState::Failed, false) => "✖",
        (StepState::Failed, true) => "X",
        (StepState::Skipped, false) => "»",
        (StepState::Skipped, true) => "~",
        (StepState::Interrupted, false) => "↯",
        (StepState::Interrupted, true) => "%",
    }
}

/// Colour of a step state: green done, red failed, orange waiting for a
/// person, magenta interrupted, cyan running, grey pending or skipped.
pub(crate) fn step_style(theme: Theme, state: StepState) -> Style {
    match state {
        StepState::Pending | StepState::Skipped => theme.dim(),
        StepState::NeedsApproval | StepState::Waiting => theme.status(Status::Degraded),
        StepState::Running => theme.key(),
        StepState::Done => theme.status(Status::Ok),
        StepState::Failed => theme.status(Status::Down),
        StepState::Interrupted => theme.status(Status::Unreachable),
    }
}

/// Glyph and colour of a run state.
pub(crate) fn run_mark(theme: Theme, state: RunState) -> (&'static str, Style) {
    let ascii = theme.glyphs().is_ascii();
    match state {
        RunState::Running => (if ascii { ">" } else { "▶" }, theme.key()),
        RunState::Paused => ("=", theme.status(Status::Degraded)),
        RunState::Done => (if ascii { "+" } else { "✔" }, theme.status(Status::Ok)),
        RunState::Failed => (if ascii { "X" } else { "✖" }, theme.status(Status::Down)),
        RunState::Aborted => (if ascii { "X" } else { "✖" }, theme.dim()),
    }
}

/// A duration in a few characters: `12s`, `3m12s`, `1h05m`.
pub(crate) fn elapsed(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3_600, s / 60 % 60),
    }
}

fn between(from: SystemTime, to: SystemTime) -> Duration {
    to.duration_since(from).unwrap_or_default()
}

/// How long a step took, or has taken so far (`now`: the snapshot's
/// time); empty before it starts.
pub(crate) fn step_time(step: &StepRun, now: SystemTime) -> String {
    step.started.map_or_else(String::new, |s| {
        elapsed(between(s, step.ended.unwrap_or(now)))
    })
}

/// How long the run took, or has taken so far.
pub(crate) fn run_time(run: &Run, now: SystemTime) -> String {
    elapsed(between(run.started, run.ended.unwrap_or(now)))
}

/// `step 2/5 call-vendor: waiting`, or the run's end.
pub(crate) fn where_at(run: &Run) -> String {
    match run.step() {
        Some(s) if !run.is_over() => format!(
            "step {}/{} {}: {}",
            run.current + 1,
            run.steps.len(),
            s.id,
            s.state
        ),
        _ => format!("{} steps through", run.steps.len()),
    }
}

/// Draws the run `key` in `area` (title row included).
pub(crate) fn draw(
    buf: &mut Buffer,
    area: Rect,
    app: &App,
    snap: &Snapshot,
    key: RunKey,
    focused: bool,
) {
    let theme = app.theme;
    let now = snap.at;
    let run = key.find(snap);
    let (left, right) = run.map_or_else(Default::default, |r| {
        let (glyph, style) = run_mark(theme, r.state);
        (
            vec![Span::styled(
                format!("{glyph} {}", r.state.word().to_uppercase()),
                style,
            )],
            vec![Span::styled(
                format!("{} · {}", r.playbook, run_time(r, now)),
                theme.dim(),
            )],
        )
    });
    let body = title(
        buf,
        area,
        theme,
        &format!("Run {key}"),
        focused,
        left,
        right,
    );
    let Some(run) = run else {
        put(
            buf,
            body,
            0,
            &Line::from(Span::styled(
                format!(" run {key} is no longer listed. Esc goes back."),
                theme.dim(),
            )),
        );
        return;
    };
    let incident = snap
        .incidents
        .iter()
        .find(|i| i.id == key.incident)
        .map_or_else(|| " (resolved)".to_owned(), |i| format!(" · {}", i.title));
    let facts = [
        ("Playbook", format!("{} ({})", run.title, run.playbook)),
        ("Incident", format!("#{}{incident}", run.incident)),
        (
            "Started",
            format!(
                "by {} at {} · {} {}",
                run.by,
                text::clock(run.started),
                run.state,
                run_time(run, now)
            ),
        ),
    ];
    let mut y = 0u16;
    for (label, value) in facts {
        put(
            buf,
            body,
            y,
            &Line::from(vec![
                Span::styled(format!(" {}  ", pad(label, 8)), theme.dim()),
                Span::raw(value),
            ]),
        );
        y += 1;
    }
    let rest = Rect::new(
        body.x,
        body.y + y.min(body.height),
        body.width,
        body.height.saturating_sub(y),
    );
    let box_h = step_box_height(app, run, rest);
    // The box right under the steps, so the eye goes from one to the other.
    let list_h = u16_of(run.steps.len() + 2).min(rest.height.saturating_sub(box_h));
    let list = Rect::new(rest.x, rest.y, rest.width, list_h);
    draw_steps(buf, list, app, run, now);
    let boxed = Rect::new(rest.x, rest.y + list.height, rest.width, box_h);
    draw_step_box(buf, boxed, app, run);
}

/// Rows the box of the current step takes in `area`.
fn step_box_height(app: &App, run: &Run, area: Rect) -> u16 {
    let Some(step) = run.step() else {
        return 0;
    };
    let inner_w = usize::from(area.width.saturating_sub(2)).max(1);
    let wrapped = |s: &str| {
        s.lines()
            .map(|l| text::width(l).div_ceil(inner_w).max(1))
            .sum::<usize>()
    };
    let mut rows = wrapped(&step.instructions) + wrapped(&format!("Does: {}", step.work));
    if prompt(run, app.identity.role).is_some() {
        rows += 1;
    }
    let want = u16_of(rows + 2);
    // The steps keep a header and at least three rows.
    want.min(area.height.saturating_sub(5))
        .min(area.height / 2 + 2)
}

/// The step list: header, then one row per step.
fn draw_steps(buf: &mut Buffer, area: Rect, app: &App, run: &Run, now: SystemTime) {
    let theme = app.theme;
    if area.height < 2 {
        return;
    }
    let w = usize::from(area.width);
    let title_w = (w.saturating_sub(36) / 2).clamp(12, 40);
    put(
        buf,
        area,
        1,
        &Line::from(Span::styled(
            format!(
                "    #  {} {} {} OUTCOME",
                pad("STEP", title_w),
                pad("STATE", 14),
                rpad("TIME", 6)
            ),
            theme.dim(),
        )),
    );
    let rows = usize::from(area.height.saturating_sub(2));
    // Keep the current step in sight.
    let first = app
        .history_scroll
        .max((run.current + 1).saturating_sub(rows))
        .min(run.steps.len().saturating_sub(rows));
    for (row, (i, step)) in run
        .steps
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .enumerate()
    {
        let y = u16_of(row + 2);
        let style = step_style(theme, step.state);
        let current = i == run.current && !run.is_over();
        if current {
            fill(buf, area, y, theme.selected());
        }
        let mut what = step.title.clone();
        if step.dangerous {
            what.push_str(" (dangerous)");
        }
        // Who answered or approved it, unless the outcome says so.
        let outcome = match &step.by {
            Some(by) if step.outcome.is_empty() => format!("by {by}"),
            Some(by) if !step.outcome.contains(by.as_str()) => {
                format!("{} (by {by})", step.outcome)
            }
            _ => step.outcome.clone(),
        };
        let mut spans = vec![
            Span::raw(if current { " ▸" } else { "  " }),
            Span::styled(format!("{} ", step_glyph(theme, step.state)), style),
            Span::raw(format!("{} ", rpad(&(i + 1).to_string(), 2))),
            Span::raw(format!("{} ", pad(&what, title_w))),
            Span::styled(format!("{} ", pad(step.state.word(), 14)), style),
            Span::styled(format!("{} ", rpad(&step_time(step, now), 6)), theme.dim()),
            Span::raw(outcome),
        ];
        if current {
            for s in &mut spans {
                s.style = s.style.patch(theme.selected());
            }
        }
        put(buf, area, y, &Line::from(spans));
    }
}

/// The current step in a box: its instructions, what it does, and the
/// prompt for the user's role.
fn draw_step_box(buf: &mut Buffer, area: Rect, app: &App, run: &Run) {
    let theme = app.theme;
    let Some(step) = run.step() else {
        return;
    };
    if area.height < 3 || area.width < 10 {
        return;
    }
    let mut lines: Vec<Line<'static>> = step
        .instructions
        .lines()
        .map(|l| Line::from(l.to_owned()))
        .collect();
    lines.push(Line::from(vec![
        Span::styled("Does: ", theme.dim()),
        Span::raw(step.work.to_string()),
    ]));
    if let Some((text, may)) = prompt(run, app.identity.role) {
        let style = if may {
            theme.key()
        } else {
            theme.status(Status::Degraded)
        };
        lines.push(Line::from(Span::styled(format!("» {text}"), style)));
    }
    let lines: Vec<Line<'static>> = lines
        .into_iter()
        .map(|l| {
            Line::from(
                l.spans
                    .into_iter()
                    .map(|s| {
                        Span::styled(crate::model::printable(&s.content).into_owned(), s.style)
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    let block = Block::default().borders(Borders::ALL).title(format!(
        " Step {}/{} · {} · {} · {} ",
        run.current + 1,
        run.steps.len(),
        step.id,
        step.kind,
        step.state
    ));
    Paragraph::new(lines)
        .block(block)
        .wrap(Wrap { trim: false })
        .render(area, buf);
}

/// Draws every run in `area` (title row included), as the snapshot
/// lists them: those not over first.
pub(crate) fn draw_runs(buf: &mut Buffer, area: Rect, app: &App, snap: &Snapshot, focused: bool) {
    let theme = app.theme;
    let runs = app.runs_shown(snap);
    let waiting = runs
        .iter()
        .filter(|r| crate::console::app::waits_for_answer(r))
        .count();
    let right = vec![Span::styled(
        format!("{} runs · {waiting} waiting for an answer", runs.len()),
        theme.dim(),
    )];
    let body = title(
        buf,
        area,
        theme,
        "Playbook runs",
        focused,
        Vec::new(),
        right,
    );
    if runs.is_empty() {
        put(
            buf,
            body,
            0,
            &Line::from(Span::styled(
                " no playbook run yet: R on an incident runs its first playbook",
                theme.dim(),
            )),
        );
        return;
    }
    put(
        buf,
        body,
        0,
        &Line::from(Span::styled(
            format!(
                " {} {} {} {} STEP",
                pad("RUN", 10),
                pad("STATE", 9),
                rpad("TIME", 6),
                pad("PLAYBOOK", 28)
            ),
            theme.dim(),
        )),
    );
    let rows = usize::from(body.height.saturating_sub(1));
    let sel = app.run_sel.min(runs.len().saturating_sub(1));
    let first = (sel + 1).saturating_sub(rows);
    for (row, (i, run)) in runs.iter().enumerate().skip(first).take(rows).enumerate() {
        let y = u16_of(row + 1);
        let (glyph, style) = run_mark(theme, run.state);
        let line = Line::from(vec![
            Span::raw(format!(" {} ", pad(&run.id, 10))),
            Span::styled(format!("{glyph} {} ", pad(run.state.word(), 7)), style),
            Span::styled(
                format!("{} ", rpad(&run_time(run, snap.at), 6)),
                theme.dim(),
            ),
            Span::raw(format!("{} ", pad(&run.playbook, 28))),
            Span::raw(where_at(run)),
        ]);
        if focused && i == sel {
            fill(buf, body, y, theme.selected());
            let spans = line
                .spans
                .into_iter()
                .map(|s| {
                    let style = s.style.patch(theme.selected());
                    s.style(style)
                })
                .collect::<Vec<_>>();
            put(buf, body, y, &Line::from(spans));
        } else {
            put(buf, body, y, &line);
        }
    }
}
