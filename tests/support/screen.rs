//! A ratatui backend for the console's loop in tests: a `TestBackend`
//! that publishes each frame's text, counts frames, and writes every
//! frame through a writer that blocks while its [`Gate`] is closed, as a
//! terminal that stops reading blocks the `write` of the program drawing
//! on it. Included with `#[path]` by the tests that need it.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::convert::Infallible;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use ratatui::backend::{Backend, ClearType, TestBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use tokio::sync::watch;

/// Runs the console's loop on a `toc-console` thread drawing on `screen`,
/// with keys from `input`, until the thread is asked to stop.
pub fn console_thread<S>(
    screen: Screen,
    input: S,
    handle: toc::engine::EngineHandle,
    options: toc::console::ConsoleOptions,
) -> toc::runtime::console::ConsoleThread
where
    S: futures_util::Stream<Item = std::io::Result<crossterm::event::Event>>
        + Unpin
        + Send
        + 'static,
{
    toc::runtime::console::ConsoleThread::spawn(move |stop| async move {
        let mut terminal = ratatui::Terminal::new(screen).unwrap();
        let stop = async move {
            stop.requested().await;
            Ok(())
        };
        toc::console::run_loop_until(&mut terminal, input, handle, options, stop).await
    })
    .expect("console thread")
}

/// Open: writes go through. Closed: a write waits until it opens.
#[derive(Debug, Default)]
pub struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct GateState {
    closed: bool,
    /// A writer is waiting on the closed gate.
    waiting: bool,
}

impl Gate {
    pub fn new() -> Arc<Gate> {
        Arc::new(Gate::default())
    }

    pub fn close(&self) {
        self.state.lock().unwrap().closed = true;
    }

    pub fn open(&self) {
        self.state.lock().unwrap().closed = false;
        self.changed.notify_all();
    }

    /// Whether a write is blocked on the gate right now.
    pub fn blocking(&self) -> bool {
        self.state.lock().unwrap().waiting
    }
}

/// A writer that blocks on a closed [`Gate`].
#[derive(Debug)]
pub struct GatedWriter {
    gate: Arc<Gate>,
    pub written: usize,
}

impl Write for GatedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut state = self.gate.state.lock().unwrap();
        while state.closed {
            state.waiting = true;
            state = self.gate.changed.wait(state).unwrap();
        }
        state.waiting = false;
        self.written += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What a test reads of the screen.
#[derive(Debug, Clone)]
pub struct Shown {
    pub text: watch::Receiver<String>,
    pub frames: Arc<AtomicUsize>,
}

impl Shown {
    pub fn frames(&self) -> usize {
        self.frames.load(Ordering::SeqCst)
    }

    pub fn now(&self) -> String {
        self.text.borrow().clone()
    }
}

/// The backend.
#[derive(Debug)]
pub struct Screen {
    inner: TestBackend,
    out: GatedWriter,
    shown: watch::Sender<String>,
    frames: Arc<AtomicUsize>,
}

impl Screen {
    pub fn new(width: u16, height: u16, gate: Arc<Gate>) -> (Screen, Shown) {
        let (tx, rx) = watch::channel(String::new());
        let frames = Arc::new(AtomicUsize::new(0));
        let screen = Screen {
            inner: TestBackend::new(width, height),
            out: GatedWriter { gate, written: 0 },
            shown: tx,
            frames: Arc::clone(&frames),
        };
        (screen, Shown { text: rx, frames })
    }
}

impl Backend for Screen {
    type Error = Infallible;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        // What a terminal backend would write: the changed cells.
        let cells: Vec<(u16, u16, &Cell)> = content.collect();
        let mut bytes = Vec::new();
        for (x, y, cell) in &cells {
            let _ = write!(bytes, "\x1b[{};{}H{}", y + 1, x + 1, cell.symbol());
        }
        let _ = self.out.write_all(&bytes);
        self.inner.draw(cells.into_iter())
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
        self.inner.flush()?;
        self.frames.fetch_add(1, Ordering::SeqCst);
        let buf = self.inner.buffer();
        let mut text = String::new();
        for y in 0..buf.area.height {
            for x in 0..buf.area.width {
                text.push_str(buf[(x, y)].symbol());
            }
            text.push('\n');
        }
        self.shown.send_replace(text);
        Ok(())
    }
}
