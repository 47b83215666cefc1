//! Text that came from a device reaches the console's screen escaped: a
//! sysName, a reason or a note with an escape sequence, a carriage
//! return, a NUL, DEL or a C1 control is drawn as `\x1b[2J`, `\r`, `\0`,
//! `\x7f`, `\u{9b}`, never handed to the terminal and never silently
//! dropped (ratatui drops control characters, leaving `[2J` on screen).
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use ratatui::buffer::Buffer;
use support::games;
use support::view::{self, text};
use toc::console::App;
use toc::engine::{Identity, Role, Snapshot};
use toc::model::Reading;

const HOSTILE_NAME: &str = "evil\u{1b}[2J\r\u{0}";
const HOSTILE_REASON: &str = "Te0/0/1\u{1b}[31m down\u{7f}\u{9b}";
const HOSTILE_NOTE: &str = "rebooted\u{7}\u{1b}]0;pwned";

/// The standard Games, with STA-core-a's last check full of control
/// characters.
fn hostile() -> Snapshot {
    let mut snap = games::standard();
    let i = games::device(&snap, "STA-core-a");
    let mut d = (*snap.devices[i]).clone();
    d.readings.retain(|r| r.name != "sysName");
    d.readings.insert(0, Reading::new("sysName", HOSTILE_NAME));
    d.reason = Some(HOSTILE_REASON.to_owned());
    d.notes.push(HOSTILE_NOTE.to_owned());
    snap.devices[i] = Arc::new(d);
    snap
}

fn draw(snap: &Snapshot, line: &str, w: u16, h: u16) -> Buffer {
    let identity = Identity {
        user: "alice".to_owned(),
        role: Role::DutyManager,
        venues: Vec::new(),
    };
    let mut app = App::new(identity, false, false);
    view::command(&mut app, snap, line);
    view::draw(&mut app, snap, w, h)
}

fn no_control_characters(buf: &Buffer) {
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            let s = buf[(x, y)].symbol();
            assert!(
                !s.chars().any(char::is_control),
                "control character {s:?} at {x},{y}"
            );
        }
    }
}

#[test]
fn the_device_view_draws_device_text_escaped() {
    let snap = hostile();
    for (w, h) in [(160, 48), (200, 60)] {
        let buf = draw(&snap, "device STA-core-a", w, h);
        let screen = text(&buf);
        no_control_characters(&buf);
        assert!(screen.contains(r"evil\x1b[2J\r\0"), "{screen}");
        assert!(
            screen.contains(r"Te0/0/1\x1b[31m down\x7f\u{9b}"),
            "{screen}"
        );
        assert!(screen.contains(r"rebooted\x07\x1b]0;pwned"), "{screen}");
    }
}

#[test]
fn the_venue_view_draws_a_reason_escaped() {
    let snap = hostile();
    let buf = draw(&snap, "venue STA", 200, 60);
    let screen = text(&buf);
    no_control_characters(&buf);
    assert!(screen.contains(r"Te0/0/1\x1b[31m"), "{screen}");
}
