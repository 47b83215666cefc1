//! Terminals that are not a modern UTF-8, 256-colour one: ASCII glyphs
//! for a locale without UTF-8 (insta snapshots on a `TestBackend`), the
//! 16 basic ANSI colour codes on a terminal that does not say it has more
//! (the bytes a real backend writes), and the question `toc run` asks
//! before `q` stops the monitoring.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::sync::{Arc, Mutex};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use support::games;
use support::view::{command, draw, text};
use toc::console::ansi::Out;
use toc::console::keymap::Action;
use toc::console::{App, Effect, Glyphs, Palette, render};
use toc::engine::{Identity, Role, Snapshot};
use toc::model::Status;

fn app(demo: bool) -> App {
    let identity = Identity {
        user: "alice".to_owned(),
        role: Role::DutyManager,
        venues: Vec::new(),
    };
    App::new(identity, true, demo)
}

fn ascii_app() -> App {
    let mut app = app(false);
    app.set_glyphs(Glyphs::ASCII);
    app
}

/// Draws a view in ASCII at 80x24 and 160x48: only ASCII on screen, and
/// the snapshot.
fn check_ascii(name: &str, setup: impl Fn(&mut App, &Snapshot)) {
    let snap = games::standard();
    for (w, h) in [(80, 24), (160, 48)] {
        let mut app = ascii_app();
        app.set_area(Rect::new(0, 0, w, h));
        setup(&mut app, &snap);
        let shown = text(&draw(&mut app, &snap, w, h));
        assert!(
            shown.is_ascii(),
            "not ASCII: {:?}\n{shown}",
            shown.chars().filter(|c| !c.is_ascii()).collect::<String>()
        );
        insta::assert_snapshot!(format!("{name}_ascii_{w}x{h}"), shown);
    }
}

#[test]
fn wall_in_ascii() {
    check_ascii("wall", |_, _| {});
}

#[test]
fn venue_in_ascii() {
    check_ascii("venue", |app, snap| command(app, snap, "venue STA"));
}

#[test]
fn device_in_ascii() {
    check_ascii("device", |app, snap| {
        command(app, snap, "device STA-core-a");
    });
}

#[test]
fn help_in_ascii() {
    check_ascii("help", |app, snap| {
        app.update(Action::Help, snap);
    });
}

/// Every status still reads as glyph and word in ASCII, each glyph its
/// own.
#[test]
fn ascii_statuses_are_glyph_and_word() {
    let snap = games::standard();
    let mut ascii = ascii_app();
    let shown = text(&draw(&mut ascii, &snap, 160, 48));
    for status in [Status::Ok, Status::Degraded, Status::Down] {
        let drawn = format!("{} {}", Glyphs::ASCII.status(status), status.word());
        assert!(shown.contains(&drawn), "no `{drawn}` in\n{shown}");
    }
    // The bar counts devices with the same glyphs.
    let bar = shown.lines().next().unwrap();
    assert!(bar.contains("devices "), "{bar}");
    assert!(bar.contains(Glyphs::ASCII.status(Status::Down)), "{bar}");
    // And the Unicode console is unchanged.
    let mut unicode = app(false);
    let shown = text(&draw(&mut unicode, &snap, 160, 48));
    assert!(shown.contains("✖ DOWN"), "{shown}");
}

/// A writer whose bytes the test keeps.
#[derive(Clone, Default)]
struct Kept(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Kept {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The bytes a real terminal backend writes for one frame.
fn written(palette: Palette, color: bool) -> String {
    let kept = Kept::default();
    let snap = games::standard();
    let mut app = App::new(Identity::local(), color, false);
    app.set_area(Rect::new(0, 0, 160, 48));
    let backend = CrosstermBackend::new(Out::new(kept.clone(), palette));
    let mut terminal = Terminal::with_options(
        backend,
        ratatui::TerminalOptions {
            viewport: ratatui::Viewport::Fixed(Rect::new(0, 0, 160, 48)),
        },
    )
    .unwrap();
    terminal
        .draw(|frame| render(frame, &app, &snap, games::now()))
        .unwrap();
    drop(terminal);
    String::from_utf8_lossy(&kept.0.lock().unwrap()).into_owned()
}

/// The parameters of every SGR sequence (`ESC[...m`) in `bytes`.
fn sgr_params(bytes: &str) -> Vec<String> {
    bytes
        .split("\x1b[")
        .skip(1)
        .filter_map(|seq| {
            let end = seq.find(|c: char| !(c.is_ascii_digit() || c == ';'))?;
            (seq[end..].starts_with('m')).then(|| seq[..end].to_owned())
        })
        .collect()
}

/// Whether one SGR sequence of `bytes` sets `code` (`31`, `44`, …).
fn sets(bytes: &str, code: &str) -> bool {
    sgr_params(bytes)
        .iter()
        .any(|p| p.split(';').any(|c| c == code))
}

#[test]
fn a_basic_terminal_gets_the_16_colour_codes() {
    let basic = written(Palette::Basic, true);
    assert!(!basic.contains("38;5;"), "256-colour foreground written");
    assert!(!basic.contains("48;5;"), "256-colour background written");
    // Red for DOWN, green for OK, the cyan focused title: basic codes.
    for code in ["31", "32", "46"] {
        assert!(
            sets(&basic, code),
            "no {code} written: {:?}",
            sgr_params(&basic)
        );
    }
    // A terminal that says it has more gets what the library writes.
    let extended = written(Palette::Extended, true);
    assert!(extended.contains("38;5;"), "expected 256-colour codes");
    // Without colour, no colour code at all.
    let plain = written(Palette::Basic, false);
    for code in ["31", "32", "46"] {
        assert!(!sets(&plain, code), "{code} written without colour");
    }
    assert!(!plain.contains("38;5;"));
}

fn key(app: &mut App, snap: &Snapshot, code: KeyCode, modifiers: KeyModifiers) -> Effect {
    app.on_key(&KeyEvent::new(code, modifiers), snap)
}

#[test]
fn q_in_toc_run_asks_first() {
    let snap = games::standard();
    let none = KeyModifiers::NONE;
    let mut run = app(false);
    assert_eq!(key(&mut run, &snap, KeyCode::Char('q'), none), Effect::None);
    assert!(run.confirming_quit());
    assert_eq!(
        run.message().map(|m| m.text.as_str()),
        Some(App::QUIT_QUESTION)
    );
    let shown = text(&draw(&mut run, &snap, 80, 24));
    assert!(shown.contains(App::QUIT_QUESTION), "{shown}");
    // A key release (some terminals report them) is not an answer.
    let release = KeyEvent::new_with_kind(KeyCode::Char('q'), none, KeyEventKind::Release);
    assert_eq!(run.on_key(&release, &snap), Effect::None);
    assert!(run.confirming_quit());
    // No, and anything but yes, keeps monitoring; the key does nothing else.
    assert_eq!(key(&mut run, &snap, KeyCode::Char('n'), none), Effect::None);
    assert!(!run.confirming_quit());
    assert!(run.message().unwrap().text.contains("still monitoring"));
    key(&mut run, &snap, KeyCode::Char('q'), none);
    assert_eq!(key(&mut run, &snap, KeyCode::Enter, none), Effect::None);
    assert!(!run.confirming_quit());
    key(&mut run, &snap, KeyCode::Char('q'), none);
    assert_eq!(key(&mut run, &snap, KeyCode::Esc, none), Effect::None);
    // Yes quits.
    key(&mut run, &snap, KeyCode::Char('q'), none);
    assert_eq!(key(&mut run, &snap, KeyCode::Char('y'), none), Effect::Quit);
    // So does Ctrl-C twice.
    let mut run = app(false);
    let ctrl = KeyModifiers::CONTROL;
    assert_eq!(key(&mut run, &snap, KeyCode::Char('c'), ctrl), Effect::None);
    assert_eq!(key(&mut run, &snap, KeyCode::Char('c'), ctrl), Effect::Quit);
    // A demo quits at once.
    let mut demo = app(true);
    assert_eq!(
        key(&mut demo, &snap, KeyCode::Char('q'), none),
        Effect::Quit
    );
}
