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
use ratatui::layout::Rect;
use ratatui::style::Color;
use support::games;
use support::view::{command, draw, text};
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
fn incident_detail() {
    check("incident_detail", |app, snap| {
        command(app, snap, "incidents");
        app.update(Action::Open, snap);
    });
}

#[test]
fn audit() {
    check("audit", |app, snap| command(app, snap, "audit"));
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

fn draw_at(app: &mut App, snap: &Snapshot, w: u16, h: u16) -> String {
    app.set_area(Rect::new(0, 0, w, h));
    text(&draw(app, snap, w, h))
}

#[test]
fn ticker_lines_are_drawn_from_the_event_not_from_the_incident_now() {
    let mut snap = games();
    let event = snap
        .ticker
        .iter()
        .find(|e| matches!(e.kind, toc::engine::EventKind::IncidentOpened { .. }))
        .cloned()
        .expect("an incident opened in the test Games");
    let toc::engine::EventKind::IncidentOpened { id, severity, .. } = event.kind else {
        unreachable!()
    };
    let opened = (id, severity);
    snap.ticker = Arc::new(vec![event]);
    let shown = |snap: &Snapshot| {
        let mut app = app(true, false);
        command(&mut app, snap, "events");
        let screen = draw_at(&mut app, snap, 100, 30);
        screen
            .lines()
            .find(|l| l.contains(&format!("incident #{} opened", opened.0)))
            .map(str::to_owned)
            .expect("the line is on screen")
    };
    let before = shown(&snap);
    let mark = format!("{} {}", opened.1.glyph(), opened.1.word());
    assert!(before.contains(&mark), "{before}");
    // The incident is resolved (gone from the open ones): the past line
    // reads the same.
    snap.incidents = Arc::new(Vec::new());
    assert_eq!(shown(&snap), before);
}

#[test]
fn a_long_message_wraps_and_keeps_the_filter_in_view() {
    let snap = games();
    let mut app = app(true, true);
    filter(&mut app, &snap, "status:down");
    command(&mut app, &snap, "fault STA-core-a explode");
    let screen = draw_at(&mut app, &snap, 100, 30);
    let joined: String = screen
        .lines()
        .map(|l| l.trim_end_matches('|').trim())
        .collect::<Vec<_>>()
        .join(" ");
    for kind in toc::engine::command::FAULT_KINDS {
        assert!(joined.contains(kind), "{kind} not readable:\n{screen}");
    }
    assert!(screen.contains("filter status:down"), "{screen}");
    insta::assert_snapshot!("message_wrapped_100x30", screen);
}

#[test]
fn candidates_show_while_typing() {
    let snap = games();
    let mut app = app(true, true);
    app.update(Action::CommandLine, &snap);
    let screen = draw_at(&mut app, &snap, 80, 24);
    let rows: Vec<&str> = screen.lines().collect();
    let above = rows[rows.len() - 3];
    assert!(
        above.contains("check") && above.contains("clear"),
        "{screen}"
    );
    assert!(
        !screen.contains("page 1/"),
        "the wall keeps its rows:\n{screen}"
    );
    for c in "venue S".chars() {
        app.update(Action::Insert(c), &snap);
    }
    insta::assert_snapshot!("command_candidates_80x24", draw_at(&mut app, &snap, 80, 24));
}

#[test]
fn device_in_a_group_says_what_its_group_gives_and_keeps_its_columns() {
    let snap = games();
    let mut app = app(true, false);
    command(&mut app, &snap, "device STA-core-a");
    let screen = draw_at(&mut app, &snap, 100, 30);
    assert!(!screen.contains("critical"), "{screen}");
    assert!(screen.contains("through group STA-core"), "{screen}");
    assert!(screen.contains("changes"), "{screen}");
    // Nothing of the info touches the readings column.
    let rows: Vec<&str> = screen.lines().collect();
    let header = rows
        .iter()
        .find(|l| l.contains(" READINGS"))
        .expect("readings");
    let col = header
        .chars()
        .position(|_| false)
        .unwrap_or_else(|| header[..header.find(" READINGS").unwrap()].chars().count());
    for row in &rows[2..12] {
        let chars: Vec<char> = row.chars().collect();
        if chars.len() > col {
            assert_eq!(chars[col - 1], ' ', "info runs into readings: {row}");
        }
    }
    insta::assert_snapshot!("device_grouped_100x30", screen);
}

#[test]
fn incident_titles_use_the_width_of_a_large_screen() {
    let snap = games();
    let mut app = app(true, false);
    let screen = draw_at(&mut app, &snap, 200, 60);
    let title = snap
        .incidents
        .iter()
        .map(|i| i.title.as_str())
        .filter(|t| t.chars().count() <= 45)
        .max_by_key(|t| t.chars().count())
        .expect("an incident");
    assert!(title.chars().count() > 30, "{title}");
    assert!(screen.contains(title), "`{title}` cut:\n{screen}");
}

#[test]
fn small_screens_keep_what_matters() {
    let snap = games();
    // 80 columns: the event name before the user, and "local" at most once.
    let mut local = App::new(
        Identity {
            user: "local".to_owned(),
            role: Role::DutyManager,
            venues: Vec::new(),
        },
        true,
        true,
    );
    let screen = draw_at(&mut local, &snap, 80, 24);
    let top = screen.lines().next().unwrap();
    let event: String = snap.layout.event.chars().take(12).collect();
    assert!(top.contains(&event), "{top}");
    assert_eq!(top.matches("local").count(), 1, "{top}");
    // 40x15: the wall has pages and says so.
    let mut a = app(true, false);
    let screen = draw_at(&mut a, &snap, 40, 15);
    assert!(screen.contains("page 1/"), "{screen}");
    // The help never scrolls past its end: the last page is full.
    let mut a = app(true, false);
    a.update(Action::Help, &snap);
    for _ in 0..200 {
        a.update(Action::PageDown, &snap);
    }
    let screen = draw_at(&mut a, &snap, 80, 24);
    let rows: Vec<&str> = screen.lines().collect();
    assert!(
        rows[rows.len() - 3].contains("On the wall"),
        "the last line of the help is at the bottom:\n{screen}"
    );
    a.update(Action::Up, &snap);
    let up = draw_at(&mut a, &snap, 80, 24);
    assert_ne!(up, screen, "one line up moves at once");
    // 60x20: feeds whole or not at all.
    for venue in ["STA", "RGA", "PDP"] {
        let mut a = app(true, false);
        command(&mut a, &snap, &format!("venue {venue}"));
        let screen = draw_at(&mut a, &snap, 60, 20);
        if screen.contains("FEEDS") {
            assert!(screen.contains("primary"), "{venue}:\n{screen}");
        }
    }
}

#[test]
fn since_when_shows_for_venues_and_devices() {
    let snap = games();
    let mut app = app(true, false);
    command(&mut app, &snap, "venue STA");
    let screen = draw_at(&mut app, &snap, 160, 48);
    assert!(screen.contains("SINCE"), "{screen}");
    let vs = snap.venues[games::venue(&snap, "STA")];
    assert!(vs.since.is_some(), "the engine knows since when");
    assert!(screen.lines().nth(1).unwrap().contains(" for "), "{screen}");
}

/// A device in maintenance says until when, why and who set it, in the
/// venue's table and in its detail.
#[test]
fn maintenance_says_until_when_and_why() {
    let snap = games();
    let d = snap
        .devices
        .iter()
        .position(|d| d.status == Status::Maintenance)
        .expect("a device in maintenance");
    let venue = snap.layout.devices[d].venue;
    let code = snap.layout.venues[venue.0].code.clone();
    let id = snap.layout.devices[d].id.clone();
    for (line, says) in [
        (
            format!("venue {code}"),
            "maintenance until 12:33:00 (23h13m le",
        ),
        (
            format!("device {id}"),
            "maintenance until 12:33:00 (23h13m left): works (games)",
        ),
    ] {
        let mut app = app(false, false);
        app.set_area(Rect::new(0, 0, 200, 48));
        command(&mut app, &snap, &line);
        filter(&mut app, &snap, "status:maintenance");
        let shown = text(&draw(&mut app, &snap, 200, 48));
        assert!(shown.contains(says), "{line}:\n{shown}");
    }
}
