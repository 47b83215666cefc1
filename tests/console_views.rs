//! Every view of the console on a `TestBackend`, at 80x24 and 160x48,
//! checked against insta snapshots (tests/snapshots/), plus facts checked
//! in code: all venues readable at 80x24, glyph and word on every status,
//! no colour at all without colour, no panic on tiny terminals.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;
use support::games;
use toc::console::keymap::Action;
use toc::console::{App, render};
use toc::engine::{Identity, Link, Role, Snapshot};
use toc::model::Status;

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

fn games() -> Snapshot {
    games::standard()
}

fn app(color: bool, demo: bool) -> App {
    let identity = Identity {
        user: "alice".to_owned(),
        role: Role::DutyManager,
        venues: Vec::new(),
    };
    App::new(identity, color, demo)
}

fn draw(app: &mut App, snap: &Snapshot, w: u16, h: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    app.set_area(Rect::new(0, 0, w, h));
    terminal
        .draw(|frame| render(frame, app, snap, games::now()))
        .unwrap();
    terminal.backend().buffer().clone()
}

/// The buffer as text, one line per row, trailing spaces kept visible by
/// a closing bar.
fn text(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        for x in 0..buf.area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(&line);
        out.push_str("|\n");
    }
    out
}

/// Sets the app up as keys would: a command line, typed and applied.
fn command(app: &mut App, snap: &Snapshot, line: &str) {
    app.update(Action::CommandLine, snap);
    for c in line.chars() {
        app.update(Action::Insert(c), snap);
    }
    app.update(Action::Submit, snap);
}

fn filter(app: &mut App, snap: &Snapshot, text: &str) {
    app.update(Action::Filter, snap);
    for c in text.chars() {
        app.update(Action::Insert(c), snap);
    }
    app.update(Action::Submit, snap);
}

fn check(name: &str, setup: impl Fn(&mut App, &Snapshot)) {
    let snap = games();
    for (w, h) in SIZES {
        let mut app = app(true, false);
        app.set_area(Rect::new(0, 0, w, h));
        setup(&mut app, &snap);
        let buf = draw(&mut app, &snap, w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), text(&buf));
    }
}

#[test]
fn wall() {
    check("wall", |_, _| {});
}

#[test]
fn wall_sorted_by_code() {
    check("wall_by_code", |app, snap| {
        app.update(Action::Sort, snap);
    });
}

#[test]
fn wall_filtered() {
    check("wall_filtered", |app, snap| {
        filter(app, snap, "status:problem");
    });
}

#[test]
fn wall_selection_moved() {
    check("wall_selected", |app, snap| {
        app.update(Action::Down, snap);
        app.update(Action::Right, snap);
    });
}

#[test]
fn venue() {
    check("venue", |app, snap| command(app, snap, "venue STA"));
}

#[test]
fn venue_filtered_and_sorted_by_id() {
    check("venue_filtered", |app, snap| {
        command(app, snap, "venue PDP");
        filter(app, snap, "role:access");
        app.update(Action::Sort, snap);
    });
}

#[test]
fn device() {
    check("device", |app, snap| {
        command(app, snap, "device STA-core-a");
    });
}

#[test]
fn device_soft_and_flapping() {
    check("device_soft", |app, snap| {
        command(app, snap, "device PDP-acc-02");
    });
    check("device_flapping", |app, snap| {
        command(app, snap, "device BCY-acc-03");
    });
}

#[test]
fn incidents() {
    check("incidents", |app, snap| command(app, snap, "incidents"));
}

#[test]
fn host() {
    check("host", |app, snap| command(app, snap, "host"));
}

#[test]
fn ticker() {
    check("ticker", |app, snap| command(app, snap, "events"));
}

#[test]
fn help() {
    check("help", |app, snap| {
        app.update(Action::Help, snap);
    });
}

#[test]
fn command_line_error() {
    check("command_error", |app, snap| command(app, snap, "venu STA"));
}

#[test]
fn command_line_typing() {
    check("command_typing", |app, snap| {
        app.update(Action::CommandLine, snap);
        for c in "venue RG".chars() {
            app.update(Action::Insert(c), snap);
        }
    });
}

#[test]
fn filter_typing_with_an_error() {
    check("filter_error", |app, snap| {
        app.update(Action::Filter, snap);
        for c in "status:purple".chars() {
            app.update(Action::Insert(c), snap);
        }
    });
}

#[test]
fn no_colour() {
    let snap = games();
    for (w, h) in SIZES {
        for setup in [
            "wall",
            "venue STA",
            "device STA-core-a",
            "incidents",
            "help",
        ] {
            let mut app = app(false, true);
            app.set_area(Rect::new(0, 0, w, h));
            match setup {
                "wall" => {}
                "help" => {
                    app.update(Action::Help, &snap);
                }
                line => command(&mut app, &snap, line),
            }
            let buf = draw(&mut app, &snap, w, h);
            for cell in buf.content() {
                assert_eq!(cell.fg, Color::Reset, "{setup} {w}x{h}: {cell:?}");
                assert_eq!(cell.bg, Color::Reset, "{setup} {w}x{h}: {cell:?}");
            }
            if setup == "venue STA" {
                insta::assert_snapshot!(format!("no_colour_venue_{w}x{h}"), text(&buf));
            }
        }
    }
}

#[test]
fn colours_are_used_with_colour() {
    let snap = games();
    let mut app = app(true, false);
    let buf = draw(&mut app, &snap, 80, 24);
    let colours: std::collections::HashSet<Color> = buf.content().iter().map(|c| c.fg).collect();
    for c in [Color::Red, Color::Yellow, Color::Green] {
        assert!(colours.contains(&c), "{c:?} missing");
    }
}

#[test]
fn demo_footer_and_small_event() {
    let snap = games::small();
    for (w, h) in SIZES {
        let mut app = app(true, true);
        let buf = draw(&mut app, &snap, w, h);
        insta::assert_snapshot!(format!("small_demo_{w}x{h}"), text(&buf));
    }
}

#[test]
fn link_lost_and_stale_data() {
    let snap = games();
    let mut app = app(true, false);
    app.set_link(Link::Lost);
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let later = games::now() + Duration::from_secs(42);
    terminal.draw(|f| render(f, &app, &snap, later)).unwrap();
    let shown = text(terminal.backend().buffer());
    let top = shown.lines().next().unwrap();
    assert!(top.contains("link LOST"), "{top}");
    assert!(top.contains("data 43s old"), "{top}");
    assert!(top.contains("13:20:42"), "{top}");
    insta::assert_snapshot!("link_lost_80x24", top);
}

#[test]
fn every_venue_code_is_on_the_80x24_wall() {
    let snap = games();
    let mut app = app(true, false);
    let shown = text(&draw(&mut app, &snap, 80, 24));
    for venue in &snap.layout.venues {
        assert!(
            shown.contains(&venue.code),
            "{} missing:\n{shown}",
            venue.code
        );
    }
    assert!(!shown.contains("page "), "all on one page:\n{shown}");
}

#[test]
fn every_status_is_drawn_with_glyph_and_word() {
    let snap = games();
    // The wall at 160 columns has every venue status; the venue views
    // have every device status.
    let mut seen = String::new();
    for setup in [
        "wall",
        "venue LDA",
        "venue STA",
        "venue CDM",
        "venue TEA",
        "venue CDG",
    ] {
        let mut app = app(true, false);
        app.set_area(Rect::new(0, 0, 160, 48));
        if setup != "wall" {
            command(&mut app, &snap, setup);
        }
        seen.push_str(&text(&draw(&mut app, &snap, 160, 48)));
    }
    for status in Status::ALL {
        let shown = format!("{} {}", status.glyph(), status.word());
        assert!(seen.contains(&shown), "{shown} never drawn");
    }
    // Never a glyph alone on the wall: each tile's glyph is followed by
    // its word.
    let mut app = app(true, false);
    let wall = text(&draw(&mut app, &snap, 160, 48));
    for (v, venue) in snap.layout.venues.iter().enumerate() {
        let status = snap.venues[v].eval.status;
        let line = wall
            .lines()
            .find(|l| l.contains(&format!("{}  ", venue.code)))
            .unwrap_or_else(|| panic!("{} not on the wall", venue.code));
        assert!(
            line.contains(&format!("{} {}", status.glyph(), status.word())),
            "{}: {line}",
            venue.code
        );
    }
}

#[test]
fn tiny_and_empty_terminals_do_not_panic() {
    let snap = games();
    let small = games::small();
    let empty = Snapshot {
        venues: Vec::new(),
        devices: Vec::new(),
        groups: Vec::new(),
        incidents: Arc::new(Vec::new()),
        ticker: Arc::new(Vec::new()),
        host: None,
        layout: Arc::new(toc::engine::Layout {
            venues: Vec::new(),
            devices: Vec::new(),
            groups: Vec::new(),
            feeds: Vec::new(),
            ..(*snap.layout).clone()
        }),
        ..snap.clone()
    };
    let setups = [
        "wall",
        "help",
        "venue STA",
        "device STA-core-a",
        "incidents",
        "host",
        "events",
    ];
    for s in [&snap, &small, &empty] {
        for (w, h) in [
            (1, 1),
            (0, 0),
            (0, 10),
            (10, 0),
            (2, 3),
            (12, 5),
            (30, 8),
            (50, 12),
            (79, 23),
            (200, 60),
        ] {
            for setup in setups {
                let mut app = app(true, true);
                app.set_area(Rect::new(0, 0, w, h));
                match setup {
                    "wall" => {}
                    "help" => {
                        app.update(Action::Help, s);
                    }
                    line => command(&mut app, s, line),
                }
                // Every movement, in every size, too.
                for action in [
                    Action::Down,
                    Action::PageDown,
                    Action::Bottom,
                    Action::Right,
                ] {
                    app.update(action, s);
                }
                let _ = draw(&mut app, s, w, h);
            }
        }
    }
}
