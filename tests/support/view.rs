//! Drawing the whole console on a `TestBackend`, for the screen tests:
//! the app set up as keys would, one frame at the Games' time, and the
//! buffer as text.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use toc::console::keymap::Action;
use toc::console::{App, render};
use toc::engine::Snapshot;

use super::games;

/// One frame of `app` on a `w` x `h` screen, at [`games::now`].
pub fn draw(app: &mut App, snap: &Snapshot, w: u16, h: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("a test backend");
    app.set_area(Rect::new(0, 0, w, h));
    terminal
        .draw(|frame| render(frame, app, snap, games::now()))
        .expect("drawn");
    terminal.backend().buffer().clone()
}

/// The buffer as text, one line per row, trailing spaces kept visible by
/// a closing bar.
pub fn text(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push_str("|\n");
    }
    out
}

/// Sets the app up as keys would: a command line, typed and applied.
pub fn command(app: &mut App, snap: &Snapshot, line: &str) {
    app.update(Action::CommandLine, snap);
    for c in line.chars() {
        app.update(Action::Insert(c), snap);
    }
    app.update(Action::Submit, snap);
}
