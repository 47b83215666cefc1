//! `cargo bench --bench render`: what the console costs, on the test
//! Games (`tests/support/games.rs`: 49 venues, 10,000 devices).
//!
//! - Time per frame (mean and p99) to draw the wall and the largest venue
//!   at 80x24 and 160x48 on a `TestBackend` (target: at most 2 ms). The
//!   clock moves one second per frame, so every frame changes something.
//! - The console idle: `run_loop` on a `CrosstermBackend` writing into
//!   `io::sink()`, with input that never comes and a snapshot that never
//!   changes, for 10 s (3 s when run by `cargo test`): the process CPU
//!   time as a share of one core (target: under 1%) and the frames drawn
//!   (about one a second, for the clock).
//!
//! It prints figures and never fails on a slow machine.
#![allow(clippy::cast_precision_loss, clippy::expect_used)]

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::{Backend, ClearType, CrosstermBackend, TestBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::Rect;
use ratatui::layout::{Position, Size};
use toc::console::keymap::Action;
use toc::console::{App, ConsoleOptions, render, run_loop};
use toc::engine::{EngineHandle, Identity, Link, Snapshot};
use tokio::sync::{broadcast, mpsc, watch};

/// The console's test Games: synth's inventory through the real engine.
#[path = "../tests/support/games.rs"]
mod games;

const DEVICES: usize = 10_000;

fn main() {
    // `cargo bench` passes `--bench`; `cargo test` runs this quickly.
    let quick = !std::env::args().any(|a| a == "--bench");
    let frames = if quick { 60 } else { 1_000 };
    let idle = Duration::from_secs(if quick { 3 } else { 10 });
    let snap = games::games(DEVICES);
    let largest = snap
        .layout
        .venues
        .iter()
        .max_by_key(|v| v.devices.len())
        .expect("venues");
    println!(
        "toc render benchmark: {} venues, {} devices; largest venue {} ({} devices)",
        snap.layout.venues.len(),
        snap.layout.devices.len(),
        largest.code,
        largest.devices.len()
    );
    let venue_line = format!("venue {}", largest.code);
    for (w, h) in [(80, 24), (160, 48)] {
        for (name, line) in [("wall", None), ("venue", Some(venue_line.as_str()))] {
            let (mean, p99) = frame_times(&snap, w, h, line, frames);
            println!(
                "  {name:<5} {w:>3}x{h:<2}  mean {:>7.3} ms  p99 {:>7.3} ms  ({frames} frames)",
                ms(mean),
                ms(p99)
            );
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (cpu, drawn, wall) = runtime.block_on(idle_cost(snap, idle));
    println!(
        "  idle  160x48  {:.2}% of one core over {:.1} s ({:.0} ms CPU), {drawn} frames drawn",
        cpu.as_secs_f64() * 100.0 / wall.as_secs_f64(),
        wall.as_secs_f64(),
        ms(cpu)
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

fn app() -> App {
    App::new(Identity::local(), true, false)
}

/// Mean and p99 time to draw `frames` frames.
fn frame_times(
    snap: &Snapshot,
    w: u16,
    h: u16,
    line: Option<&str>,
    frames: usize,
) -> (Duration, Duration) {
    let mut app = app();
    app.set_area(Rect::new(0, 0, w, h));
    if let Some(line) = line {
        app.update(Action::CommandLine, snap);
        for c in line.chars() {
            app.update(Action::Insert(c), snap);
        }
        app.update(Action::Submit, snap);
    }
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    let mut times = Vec::with_capacity(frames);
    for i in 0..frames {
        let now = games::now() + Duration::from_secs(i as u64);
        let start = Instant::now();
        terminal
            .draw(|frame| render(frame, &app, snap, now))
            .expect("draw");
        times.push(start.elapsed());
    }
    times.sort_unstable();
    let mean = times.iter().sum::<Duration>() / u32::try_from(frames).unwrap_or(u32::MAX).max(1);
    let p99 = times[(frames * 99 / 100).min(frames - 1)];
    (mean, p99)
}

/// A backend that counts the frames it is given (the terminal hands the
/// backend one diff per frame, even an empty one).
struct Counted<B> {
    inner: B,
    frames: Arc<AtomicUsize>,
}

impl<B: Backend> Backend for Counted<B> {
    type Error = B::Error;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.frames.fetch_add(1, Ordering::Relaxed);
        self.inner.draw(content)
    }

    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.hide_cursor()
    }

    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.show_cursor()
    }

    fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
        self.inner.get_cursor_position()
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> Result<(), Self::Error> {
        self.inner.set_cursor_position(position)
    }

    fn clear(&mut self) -> Result<(), Self::Error> {
        self.inner.clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Self::Error> {
        self.inner.clear_region(clear_type)
    }

    fn size(&self) -> Result<Size, Self::Error> {
        self.inner.size()
    }

    fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
        self.inner.window_size()
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        self.inner.flush()
    }
}

/// CPU time the process has used: every thread's run time from
/// /proc/self/task/*/schedstat (nanoseconds), or utime + stime from
/// /proc/self/stat (clock ticks of 10 ms) when that is not there.
fn cpu_time() -> Duration {
    let mut total = 0_u64;
    let mut found = false;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let path = task.path().join("schedstat");
            if let Some(ns) = std::fs::read_to_string(path)
                .ok()
                .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
            {
                total += ns;
                found = true;
            }
        }
    }
    if found {
        return Duration::from_nanos(total);
    }
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// Runs the console with nothing happening for `window`: CPU used,
/// frames drawn, time it ran.
async fn idle_cost(snap: Snapshot, window: Duration) -> (Duration, usize, Duration) {
    let (_snapshots, snapshot_rx) = watch::channel(Arc::new(snap));
    let (events, _) = broadcast::channel(16);
    let (requests, _request_rx) = mpsc::channel(8);
    let (_link, link_rx) = watch::channel(Link::Local);
    let handle = EngineHandle::new(snapshot_rx, events, requests, link_rx, Identity::local());
    let frames = Arc::new(AtomicUsize::new(0));
    let backend = Counted {
        inner: CrosstermBackend::new(io::sink()),
        frames: Arc::clone(&frames),
    };
    let mut terminal = Terminal::with_options(
        backend,
        ratatui::TerminalOptions {
            viewport: ratatui::Viewport::Fixed(Rect::new(0, 0, 160, 48)),
        },
    )
    .expect("terminal");
    let input = futures_util::stream::pending::<io::Result<crossterm::event::Event>>();
    let options = ConsoleOptions::default();
    let cpu_before = cpu_time();
    let start = Instant::now();
    let run = run_loop(&mut terminal, input, handle, options);
    let _ = tokio::time::timeout(window, run).await;
    let wall = start.elapsed();
    let cpu = cpu_time().saturating_sub(cpu_before);
    (cpu, frames.load(Ordering::Relaxed), wall)
}
