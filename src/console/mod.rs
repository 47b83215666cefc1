//! The console (TUI): the wall of venues, a venue's devices, a device in
//! detail, open incidents, the TOC host and the event ticker, in a
//! terminal from 80x24 up.
//!
//! The console only looks and asks: it renders the engine's latest
//! [`Snapshot`] and sends [`Command`]s through an [`EngineHandle`]; it
//! never touches sockets or disks. One loop ([`run_loop`]) waits for
//! terminal input, a new snapshot, a command's reply or the next second
//! of the clock, drains whatever else is pending, and draws once, only
//! when something it shows changed.
//!
//! Keys live in one table ([`keymap::BINDINGS`]); the help and the
//! footer are generated from it. Every status is drawn as glyph and word,
//! so the console reads without colour (`NO_COLOR`).

pub mod ansi;
pub mod app;
pub mod cmdline;
pub mod complete;
pub mod filter;
pub mod keymap;
pub mod playbook_line;
pub mod relay_line;
pub mod theme;
mod ui;

use std::future::Future;
use std::io::{self, Stdout};
use std::panic::PanicHookInfo;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossterm::event::{Event as TermEvent, EventStream};
use futures_util::{FutureExt, Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::{Backend, CrosstermBackend};
use ratatui::layout::Rect;
use tokio::sync::mpsc;

pub use app::{App, Effect};
pub use theme::{Glyphs, Palette};
pub use ui::render;

use crate::engine::{Command, EngineHandle, Link, Reply, Snapshot};

/// How the console runs; `main.rs` decides from flags and environment.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)] // each is a switch of the command line
pub struct ConsoleOptions {
    /// Colours on; off with `NO_COLOR` or `--no-color` (then only bold,
    /// dim and reversed text remain).
    pub color: bool,
    /// Capture the mouse (off by default, so text can be selected).
    pub mouse: bool,
    /// Ring the terminal bell when a new DOWN incident opens.
    pub bell: bool,
    /// The engine runs a demo: the fault keys and commands are on.
    pub demo: bool,
    /// Unicode or ASCII glyphs (from the locale, or `--ascii`).
    pub glyphs: Glyphs,
    /// How the colours are written (from `TERM` and `COLORTERM`).
    pub palette: Palette,
    /// Venue codes every view is narrowed to (`--venue STA`); empty:
    /// every venue. A user whose identity names venues sees only those
    /// whatever this says (it can narrow them further).
    pub venues: Vec<String>,
}

impl Default for ConsoleOptions {
    fn default() -> Self {
        ConsoleOptions {
            color: true,
            mouse: false,
            bell: false,
            demo: false,
            glyphs: Glyphs::UNICODE,
            palette: Palette::Extended,
            venues: Vec::new(),
        }
    }
}

/// Takes over the terminal and runs the console until the user quits
/// (`q`, `:q`, Ctrl-C) or `stop` resolves (the wiring resolves it on
/// SIGTERM, SIGHUP or SIGINT). The terminal is always restored, also on
/// a panic (the panic hook restores it, then calls the hook that was there
/// before). A panic on another thread or task of the process (the
/// engine's) ends the console too, with an error: its terminal is gone.
pub async fn run<F>(handle: EngineHandle, options: ConsoleOptions, stop: F) -> io::Result<()>
where
    F: Future<Output = ()>,
{
    let mouse = options.mouse;
    let hook = PanicHook::install(mouse);
    let panicked = Arc::clone(&hook.panicked);
    let stop = async move {
        tokio::select! {
            () = stop => Ok(()),
            () = panicked.notified() => Err(io::Error::other(
                "the console stopped after a panic in toc (the message is above)",
            )),
        }
    };
    let mut terminal = match enter(mouse, options.palette) {
        Ok(terminal) => terminal,
        Err(e) => {
            let _ = leave(mouse);
            return Err(e);
        }
    };
    let mouse = options.mouse;
    let result = run_loop_until(&mut terminal, EventStream::new(), handle, options, stop).await;
    let restored = leave(mouse);
    drop(hook);
    result.and(restored)
}

/// The console's loop on any backend and input stream, so tests and
/// benches drive it without a terminal. Returns when the user quits or
/// the input stream ends. The terminal is neither set up nor restored
/// here.
pub async fn run_loop<B, S>(
    terminal: &mut Terminal<B>,
    input: S,
    handle: EngineHandle,
    options: ConsoleOptions,
) -> io::Result<()>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
    S: Stream<Item = io::Result<TermEvent>> + Unpin,
{
    run_loop_until(terminal, input, handle, options, std::future::pending()).await
}

/// Commands typed together, waiting for the console's sender.
#[derive(Debug)]
struct Outgoing {
    label: String,
    commands: Vec<Command>,
}

/// The engine's answers to commands sent together.
#[derive(Debug)]
struct Replies {
    label: String,
    replies: Vec<Reply>,
}

/// Seconds of the wall clock, as the status bar shows them.
fn second_of(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// How long until the clock shows the next second.
fn until_next_second() -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let left =
        Duration::from_secs(1).saturating_sub(Duration::from_nanos(u64::from(now.subsec_nanos())));
    // A little late rather than early, so one wake-up sees the new second.
    left + Duration::from_millis(2)
}

/// A frame that takes this long to reach the terminal is logged.
const SLOW_FRAME: Duration = Duration::from_millis(500);

fn draw<B>(terminal: &mut Terminal<B>, app: &mut App, snap: &Snapshot) -> io::Result<u64>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
{
    let now = SystemTime::now();
    app.tick(now);
    let started = Instant::now();
    let view: &App = app;
    let area = terminal
        .draw(|frame| ui::render(frame, view, snap, now))
        .map_err(io::Error::other)?
        .area;
    let took = started.elapsed();
    if took >= SLOW_FRAME {
        tracing::warn!(
            "console: a frame took {} ms to write (the terminal was not reading)",
            took.as_millis()
        );
    }
    app.set_area(area);
    Ok(second_of(now))
}

/// What the loop does with one input event. Returns whether to quit.
fn on_input(
    app: &mut App,
    snap: &Snapshot,
    event: TermEvent,
    queue: &mpsc::UnboundedSender<Outgoing>,
) -> bool {
    let effect = match event {
        TermEvent::Key(key) => app.on_key(&key, snap),
        TermEvent::Paste(text) => {
            app.on_paste(&text, snap);
            Effect::None
        }
        TermEvent::Resize(w, h) => {
            app.set_area(Rect::new(0, 0, w, h));
            Effect::None
        }
        _ => Effect::None,
    };
    match effect {
        Effect::None => false,
        Effect::Quit => true,
        Effect::Send { label, commands } => {
            // The sender outlives the loop's use of the queue.
            let _ = queue.send(Outgoing { label, commands });
            false
        }
    }
}

/// The console's one sender: commands go to the engine one at a time, in
/// the order they were typed, each after the answer to the one before;
/// the answers come back into the loop in the same order. Within one
/// batch, a refusal stops the rest.
async fn send_in_order(
    handle: EngineHandle,
    mut queue: mpsc::UnboundedReceiver<Outgoing>,
    replies: mpsc::UnboundedSender<Replies>,
) {
    while let Some(Outgoing { label, commands }) = queue.recv().await {
        let mut answers = Vec::with_capacity(commands.len());
        for command in commands {
            let reply = handle.send(command).await;
            let refused = reply.is_err();
            answers.push(reply);
            if refused {
                break;
            }
        }
        if replies
            .send(Replies {
                label,
                replies: answers,
            })
            .is_err()
        {
            break;
        }
    }
}

/// Stops a task when dropped (the sender, when the loop returns).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// [`run_loop`] that also returns when `shutdown` resolves (with what it
/// resolves to).
pub async fn run_loop_until<B, S, F>(
    terminal: &mut Terminal<B>,
    mut input: S,
    handle: EngineHandle,
    options: ConsoleOptions,
    shutdown: F,
) -> io::Result<()>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
    S: Stream<Item = io::Result<TermEvent>> + Unpin,
    F: Future<Output = io::Result<()>>,
{
    let mut app = App::new(handle.identity().clone(), options.color, options.demo);
    app.set_glyphs(options.glyphs);
    let mut snapshots = handle.watch();
    let mut snap: Arc<Snapshot> = Arc::clone(&snapshots.borrow_and_update());
    // Every view narrowed: `--venue` and the identity's venues, checked
    // against the layout (a code it lacks is told, not fatal).
    app.set_scope(&options.venues, &snap);
    let mut links = handle.link();
    app.set_link(*links.borrow_and_update());
    let (mut snapshots_open, mut links_open) = (true, true);
    let (reply_tx, mut reply_rx) = mpsc::unbounded_channel::<Replies>();
    let (queue, queue_rx) = mpsc::unbounded_channel::<Outgoing>();
    let _sender = AbortOnDrop(tokio::spawn(send_in_order(
        handle.clone(),
        queue_rx,
        reply_tx,
    )));
    let mut shown_second = draw(terminal, &mut app, &snap)?;
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let mut dirty = false;
        let mut quit = false;
        tokio::select! {
            biased;
            stopped = &mut shutdown => return stopped,
            event = input.next() => match event {
                None => return Ok(()),
                Some(event) => {
                    quit |= on_input(&mut app, &snap, event?, &queue);
                    dirty = true;
                }
            },
            changed = snapshots.changed(), if snapshots_open => {
                if changed.is_ok() {
                    snap = Arc::clone(&snapshots.borrow_and_update());
                    app.on_snapshot(&snap);
                } else {
                    // The engine is gone: keep showing what it last said.
                    snapshots_open = false;
                    app.set_link(Link::Lost);
                }
                dirty = true;
            },
            changed = links.changed(), if links_open => {
                if changed.is_ok() {
                    if snapshots_open {
                        app.set_link(*links.borrow_and_update());
                    }
                } else {
                    links_open = false;
                }
                dirty = true;
            },
            Some(answer) = reply_rx.recv() => {
                app.on_reply(&answer.label, &answer.replies);
                dirty = true;
            },
            () = tokio::time::sleep(until_next_second()) => {},
        }
        // Drain whatever else is ready, then draw once.
        while !quit && let Some(event) = input.next().now_or_never() {
            let Some(event) = event else {
                return Ok(());
            };
            quit |= on_input(&mut app, &snap, event?, &queue);
            dirty = true;
        }
        while let Ok(answer) = reply_rx.try_recv() {
            app.on_reply(&answer.label, &answer.replies);
            dirty = true;
        }
        if snapshots_open && snapshots.has_changed().unwrap_or(false) {
            snap = Arc::clone(&snapshots.borrow_and_update());
            app.on_snapshot(&snap);
            dirty = true;
        }
        if quit {
            return Ok(());
        }
        // A remote engine sends the whole state of what is looked at.
        handle.focus(app.looking_at(&snap));
        if dirty || second_of(SystemTime::now()) != shown_second {
            shown_second = draw(terminal, &mut app, &snap)?;
        }
        if app.take_bell() && options.bell {
            ring();
        }
    }
}

fn enter(
    mouse: bool,
    palette: Palette,
) -> io::Result<Terminal<CrosstermBackend<ansi::Out<Stdout>>>> {
    use crossterm::{event, execute, terminal};
    terminal::enable_raw_mode()?;
    let mut out = io::stdout();
    execute!(
        out,
        terminal::EnterAlternateScreen,
        event::EnableBracketedPaste
    )?;
    if mouse {
        execute!(out, event::EnableMouseCapture)?;
    }
    let out = ansi::Out::new(io::stdout(), palette);
    let mut terminal = Terminal::new(CrosstermBackend::new(out))?;
    terminal.hide_cursor()?;
    terminal.clear()?;
    Ok(terminal)
}

/// Puts the terminal back as it was: every step is tried, the first
/// error is returned.
fn leave(mouse: bool) -> io::Result<()> {
    use crossterm::{cursor, event, execute, terminal};
    let mut out = io::stdout();
    let mouse_off = if mouse {
        execute!(out, event::DisableMouseCapture)
    } else {
        Ok(())
    };
    let raw = terminal::disable_raw_mode();
    let screen = execute!(
        out,
        event::DisableBracketedPaste,
        terminal::LeaveAlternateScreen,
        cursor::Show
    );
    raw.and(screen).and(mouse_off)
}

type Hook = dyn Fn(&PanicHookInfo<'_>) + Send + Sync + 'static;

/// While alive, a panic restores the terminal before the previous panic
/// hook prints the message, then tells the loop (`panicked`); dropped,
/// the previous hook is back.
struct PanicHook {
    previous: Arc<Hook>,
    panicked: Arc<tokio::sync::Notify>,
}

impl PanicHook {
    fn install(mouse: bool) -> PanicHook {
        let previous: Arc<Hook> = Arc::from(std::panic::take_hook());
        let chained = Arc::clone(&previous);
        let panicked = Arc::new(tokio::sync::Notify::new());
        let notify = Arc::clone(&panicked);
        std::panic::set_hook(Box::new(move |info| {
            let _ = leave(mouse);
            chained(info);
            notify.notify_one();
        }));
        PanicHook { previous, panicked }
    }
}

impl Drop for PanicHook {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let previous = Arc::clone(&self.previous);
        let _ = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| previous(info)));
    }
}

impl std::fmt::Debug for PanicHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PanicHook")
    }
}

/// The terminal bell (BEL), written beside the frames.
fn ring() {
    use std::io::Write as _;
    let mut out = io::stdout();
    let _ = out.write_all(b"\x07");
    let _ = out.flush();
}
