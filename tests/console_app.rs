//! The console's view state driven by keys, on the test Games
//! (`support::games`: synth's inventory through the real engine), through
//! the public API only. Moved from `src/console/app.rs`.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use rstest::rstest;
use std::time::Duration;
use support::games;
use toc::console::app::{MessageKind, Pane, View, WallSort, find_device, wall_order};
use toc::console::filter::Filter;
use toc::console::keymap::Context;
use toc::console::{App, Effect};
use toc::engine::{
    Command, Done, EventKind, FaultKind, Identity, IncidentCommand, Refusal, Role, SimFault,
    Snapshot,
};
use toc::model::Status;

fn app(demo: bool) -> App {
    let identity = Identity {
        user: "alice".into(),
        role: Role::Operator,
        venues: Vec::new(),
    };
    App::new(identity, true, demo)
}

/// A console of `user` with `role` over every venue, not a demo.
fn app_as(user: &str, role: Role) -> App {
    let identity = Identity {
        user: user.to_owned(),
        role,
        venues: Vec::new(),
    };
    App::new(identity, true, false)
}

fn key(app: &mut App, snap: &Snapshot, code: KeyCode) -> Effect {
    app.on_key(&KeyEvent::new(code, KeyModifiers::NONE), snap)
}

fn typed(app: &mut App, snap: &Snapshot, text: &str) {
    for c in text.chars() {
        key(app, snap, KeyCode::Char(c));
    }
}

fn code(snap: &Snapshot, v: usize) -> &str {
    &snap.layout.venues[v].code
}

#[test]
fn enter_drills_down_and_esc_goes_back() {
    let snap = games::standard();
    let mut app = app(false);
    assert_eq!(app.context(), Context::Wall);
    key(&mut app, &snap, KeyCode::Enter);
    let View::Venue(v) = app.view() else {
        panic!("not a venue: {:?}", app.view());
    };
    // Worst first: the first tile is a DOWN venue with the most devices down.
    assert_eq!(snap.venues[v].eval.status, Status::Down);
    assert_eq!(app.context(), Context::Venue);
    key(&mut app, &snap, KeyCode::Enter);
    let View::Device(d) = app.view() else {
        panic!("not a device: {:?}", app.view());
    };
    assert_eq!(snap.layout.devices[d].venue.0, v);
    assert_eq!(snap.devices[d].status, Status::Down, "worst device first");
    key(&mut app, &snap, KeyCode::Esc);
    assert_eq!(app.view(), View::Venue(v));
    key(&mut app, &snap, KeyCode::Esc);
    assert_eq!(app.view(), View::Wall);
    key(&mut app, &snap, KeyCode::Esc);
    assert_eq!(app.view(), View::Wall);
}

#[test]
fn arrows_move_across_the_grid() {
    let snap = games::standard();
    let mut app = app(false);
    app.set_area(Rect::new(0, 0, 80, 24));
    // 80 columns hold three compact tiles: `j` moves three tiles on.
    let cols = 3;
    let order = wall_order(&snap, WallSort::Worst, &Filter::default());
    key(&mut app, &snap, KeyCode::Right);
    assert_eq!(app.wall_selection(), Some(order[1]));
    key(&mut app, &snap, KeyCode::Char('j'));
    assert_eq!(app.wall_selection(), Some(order[1 + cols]));
    key(&mut app, &snap, KeyCode::Char('h'));
    assert_eq!(app.wall_selection(), Some(order[cols]));
    key(&mut app, &snap, KeyCode::Up);
    assert_eq!(app.wall_selection(), Some(order[0]));
    key(&mut app, &snap, KeyCode::Up);
    assert_eq!(app.wall_selection(), Some(order[0]), "stays at the top");
    // `G` is a letter of venue codes on the wall (GOL): End goes last.
    key(&mut app, &snap, KeyCode::End);
    assert_eq!(app.wall_selection(), Some(order[48]));
    key(&mut app, &snap, KeyCode::Right);
    assert_eq!(app.wall_selection(), Some(order[48]), "stays at the end");
    key(&mut app, &snap, KeyCode::Home);
    assert_eq!(app.wall_selection(), Some(order[0]));
}

#[test]
fn sort_toggles_and_keeps_the_selection() {
    let snap = games::standard();
    let mut app = app(false);
    key(&mut app, &snap, KeyCode::Right);
    let selected = app.wall_selection();
    key(&mut app, &snap, KeyCode::Char('s'));
    assert_eq!(app.wall_sort(), WallSort::Code);
    assert_eq!(app.wall_selection(), selected);
    let order = wall_order(&snap, app.wall_sort(), app.filter());
    let codes: Vec<&str> = order.iter().map(|&v| code(&snap, v)).collect();
    let mut sorted = codes.clone();
    sorted.sort_unstable();
    assert_eq!(codes, sorted);
    key(&mut app, &snap, KeyCode::Char('s'));
    assert_eq!(app.wall_sort(), WallSort::Worst);
}

#[test]
fn worst_first_order() {
    let snap = games::standard();
    let order = wall_order(&snap, WallSort::Worst, &Filter::default());
    let key = |v: usize| {
        let e = &snap.venues[v].eval;
        (
            std::cmp::Reverse(e.status.severity()),
            std::cmp::Reverse(e.down),
        )
    };
    assert!(order.windows(2).all(|w| key(w[0]) <= key(w[1])));
    // Uplink lost: both routers down, as many as STA's two cores; then
    // by code.
    assert_eq!(code(&snap, order[0]), "RGA");
    assert_eq!(code(&snap, order[1]), "STA");
    assert_eq!(snap.venues[order[0]].eval.down, 2);
    assert_eq!(snap.venues[order[1]].eval.down, 2);
}

#[test]
fn filter_is_typed_applied_and_cleared() {
    let snap = games::standard();
    let mut app = app(false);
    key(&mut app, &snap, KeyCode::Char('/'));
    assert_eq!(app.context(), Context::Input);
    typed(&mut app, &snap, "status:mainten");
    // `status:maint` read (an alias); `status:mainte` does not.
    assert_eq!(app.filter_text(), "status:maint");
    assert!(app.input().is_some_and(|i| i.error.is_some()));
    // The last good filter stays in force while the text is wrong.
    key(&mut app, &snap, KeyCode::Enter);
    assert!(app.input().is_some(), "a wrong filter keeps the line open");
    typed(&mut app, &snap, "ance");
    key(&mut app, &snap, KeyCode::Enter);
    assert!(app.input().is_none());
    assert_eq!(app.filter_text(), "status:maintenance");
    let order = wall_order(&snap, app.wall_sort(), app.filter());
    let codes: Vec<&str> = order.iter().map(|&v| code(&snap, v)).collect();
    assert_eq!(codes, ["LDA", "TEA"]);
    // q is a letter while typing, not quit.
    key(&mut app, &snap, KeyCode::Char('/'));
    assert_eq!(key(&mut app, &snap, KeyCode::Char('q')), Effect::None);
    key(&mut app, &snap, KeyCode::Backspace);
    key(&mut app, &snap, KeyCode::Enter);
    assert_eq!(app.filter_text(), "status:maintenance");
    key(&mut app, &snap, KeyCode::Esc);
    assert_eq!(app.view(), View::Wall);
    assert!(app.filter().is_empty(), "Esc on the wall clears the filter");
    // Esc while typing a filter clears it too.
    key(&mut app, &snap, KeyCode::Char('/'));
    typed(&mut app, &snap, "sta");
    assert!(!app.filter().is_empty());
    key(&mut app, &snap, KeyCode::Esc);
    assert!(app.input().is_none());
    assert!(app.filter().is_empty());
}

#[rstest]
#[case::venue(":venue pdp", Some(View::Venue(1)), None)]
#[case::device(":device sta-core-b", Some(View::Device(5)), None)]
#[case::unknown_venue(":venue XYZ", Some(View::Wall), Some("no venue `XYZ`"))]
#[case::unknown_device(":device nope", Some(View::Wall), Some("no device `nope`"))]
#[case::unknown_command(":frobnicate", Some(View::Wall), Some("unknown command `frobnicate`"))]
#[case::demo_only(":fault STA-core-a down", Some(View::Wall), Some("only in a demo"))]
fn command_line(#[case] text: &str, #[case] view: Option<View>, #[case] error: Option<&str>) {
    let snap = games::standard();
    let mut app = app(false);
    typed(&mut app, &snap, text);
    assert_eq!(key(&mut app, &snap, KeyCode::Enter), Effect::None);
    assert_eq!(Some(app.view()), view);
    match error {
        Some(e) => {
            let message = app.message().expect("a message");
            assert_eq!(message.kind, MessageKind::Error);
            assert!(message.text.contains(e), "{}", message.text);
        }
        None => assert!(app.message().is_none()),
    }
}

#[test]
fn command_line_panes_help_and_quit() {
    let snap = games::standard();
    let mut app = app(false);
    typed(&mut app, &snap, ":incidents");
    key(&mut app, &snap, KeyCode::Enter);
    assert_eq!(app.focus(), Pane::Incidents);
    typed(&mut app, &snap, ":host");
    key(&mut app, &snap, KeyCode::Enter);
    assert_eq!(app.focus(), Pane::Host);
    typed(&mut app, &snap, ":events");
    key(&mut app, &snap, KeyCode::Enter);
    assert_eq!(app.focus(), Pane::Ticker);
    typed(&mut app, &snap, ":help");
    key(&mut app, &snap, KeyCode::Enter);
    assert!(app.help_shown());
    key(&mut app, &snap, KeyCode::Esc);
    assert!(!app.help_shown());
    typed(&mut app, &snap, ":venue sta");
    key(&mut app, &snap, KeyCode::Enter);
    assert_eq!(app.view(), View::Venue(0));
    typed(&mut app, &snap, ":wall");
    key(&mut app, &snap, KeyCode::Enter);
    assert_eq!(app.view(), View::Wall);
    typed(&mut app, &snap, ":q");
    // Not a demo: `toc run` asks first.
    assert_eq!(key(&mut app, &snap, KeyCode::Enter), Effect::None);
    assert!(app.confirming_quit());
    assert_eq!(key(&mut app, &snap, KeyCode::Char('y')), Effect::Quit);
}

#[test]
fn commands_go_out_as_effects_and_replies_come_back() {
    let snap = games::standard();
    let mut app = app(true);
    typed(&mut app, &snap, ":fault STA-core-a cpu-high 95 for 30s");
    let effect = key(&mut app, &snap, KeyCode::Enter);
    let Effect::Send { label, commands } = effect else {
        panic!("no command: {effect:?}");
    };
    assert_eq!(label, "fault STA-core-a cpu-high 95 for 30s");
    assert_eq!(commands.len(), 1);
    assert_eq!(app.message().map(|m| m.kind), Some(MessageKind::Pending));
    app.on_reply(
        &label,
        &[Ok(Done::FaultsCleared {
            target: None,
            count: 0,
        })],
    );
    let m = app.message().cloned().expect("message");
    assert_eq!(m.kind, MessageKind::Info);
    assert_eq!(
        m.text,
        "fault STA-core-a cpu-high 95 for 30s: 0 fault(s) cleared"
    );
    app.on_reply(
        "x",
        &[
            Ok(Done::FaultsCleared {
                target: None,
                count: 1,
            }),
            Err(Refusal::Forbidden {
                needed: Role::Operator,
                held: Role::Viewer,
            }),
        ],
    );
    let m = app.message().cloned().expect("message");
    assert_eq!(m.kind, MessageKind::Error);
    assert_eq!(m.text, "x: refused: needs role operator, you are viewer");
}

fn fault(target: &str, kind: &str) -> Command {
    Command::fault(target, FaultKind::parse(kind, None).expect("fault"), None)
}

fn clear(target: &str) -> Command {
    Command::clear_faults(Some(target.into()))
}

/// `snap` with these simulator faults in force, as the engine reports
/// them.
fn with_faults(snap: &Snapshot, faults: &[(&str, &str)]) -> Snapshot {
    let mut snap = snap.clone();
    snap.faults = std::sync::Arc::new(
        faults
            .iter()
            .map(|(target, kind)| SimFault {
                target: (*target).to_owned(),
                kind: (*kind).to_owned(),
            })
            .collect(),
    );
    snap
}

/// Faults in force: (target, kind).
type Faults<'a> = &'a [(&'a str, &'a str)];

fn press_f(app: &mut App, snap: &Snapshot) -> (String, Vec<Command>) {
    match key(app, snap, KeyCode::Char('f')) {
        Effect::Send { label, commands } => (label, commands),
        other => panic!("{other:?}"),
    }
}

#[test]
fn demo_key_plays_the_next_step_from_the_faults_in_force_one_command_a_press() {
    let snap = games::standard();
    let mut app = app(true);
    // GOL is all OK; select it through the command line.
    assert_eq!(
        snap.venues[games::venue(&snap, "GOL")].eval.status,
        Status::Ok
    );
    typed(&mut app, &snap, ":venue GOL");
    key(&mut app, &snap, KeyCode::Enter);
    let steps: [(Faults, &str, Command); 6] = [
        (
            &[],
            "demo 1/4: GOL-core-a down",
            fault("GOL-core-a", "down"),
        ),
        (
            &[("GOL-core-a", "down")],
            "demo 2/4: GOL-core-b down too",
            fault("GOL-core-b", "down"),
        ),
        (
            &[("GOL-core-a", "down"), ("GOL-core-b", "down")],
            "demo 3/4: GOL uplink down too",
            fault("GOL", "uplink-down"),
        ),
        (
            &[
                ("GOL", "uplink-down"),
                ("GOL-core-a", "down"),
                ("GOL-core-b", "down"),
            ],
            "demo 4/4: GOL back to normal",
            clear("GOL"),
        ),
        // A fault the demo did not set: the key clears the venue.
        (
            &[("GOL-acc-01", "cpu-high")],
            "demo 4/4: GOL back to normal",
            clear("GOL"),
        ),
        // Faults elsewhere do not count.
        (
            &[("STA-core-a", "down"), ("PDP", "uplink-down")],
            "demo 1/4: GOL-core-a down",
            fault("GOL-core-a", "down"),
        ),
    ];
    for (faults, label, command) in steps {
        let snap = with_faults(&snap, faults);
        let (said, sent) = press_f(&mut app, &snap);
        assert_eq!(said, label, "{faults:?}");
        assert_eq!(sent, [command], "one press, one command: {faults:?}");
    }
    // The same faults, the same step: the console keeps no step of its own.
    let snap = with_faults(&snap, &[("GOL-core-a", "down")]);
    assert_eq!(press_f(&mut app, &snap).1, press_f(&mut app, &snap).1);
}

#[test]
fn demo_keys_are_off_outside_a_demo() {
    let snap = games::standard();
    let mut app = app(false);
    assert_eq!(key(&mut app, &snap, KeyCode::Char('f')), Effect::None);
    assert_eq!(key(&mut app, &snap, KeyCode::Char('x')), Effect::None);
}

#[test]
fn clear_key_clears_the_selected_device_or_venue() {
    let snap = games::standard();
    let mut app = app(true);
    typed(&mut app, &snap, ":venue STA");
    key(&mut app, &snap, KeyCode::Enter);
    let Effect::Send { commands, .. } = key(&mut app, &snap, KeyCode::Char('x')) else {
        panic!("no command");
    };
    assert_eq!(commands, [clear("STA-core-a")], "worst device first");
    key(&mut app, &snap, KeyCode::Esc);
    let Effect::Send { commands, .. } = key(&mut app, &snap, KeyCode::Char('x')) else {
        panic!("no command");
    };
    assert_eq!(
        commands,
        [clear("STA")],
        "a venue's clear clears its devices"
    );
}

#[test]
fn incidents_open_their_subject() {
    let snap = games::standard();
    let mut app = app(false);
    key(&mut app, &snap, KeyCode::Tab);
    assert_eq!(app.context(), Context::Incidents);
    let first = &snap.incidents[0];
    key(&mut app, &snap, KeyCode::Enter);
    assert_eq!(app.focus(), Pane::Main);
    assert_eq!(
        app.view(),
        View::Incident(first.id),
        "Enter opens the incident"
    );
    assert_eq!(app.context(), Context::Incident);
    key(&mut app, &snap, KeyCode::Char('d'));
    match find_device(&snap, &first.subject) {
        Some(d) => assert_eq!(app.view(), View::Device(d)),
        None => assert_eq!(
            app.view(),
            View::Venue(first.venue.expect("a device incident has a venue").0)
        ),
    }
    // A group incident opens its venue: back to the incidents, down to
    // the first group incident.
    let group = snap
        .incidents
        .iter()
        .position(|i| find_device(&snap, &i.subject).is_none())
        .expect("a group incident");
    assert!(group > 0, "the first incident is a device's");
    key(&mut app, &snap, KeyCode::Tab);
    assert_eq!(app.context(), Context::Incidents);
    for _ in 0..group {
        key(&mut app, &snap, KeyCode::Down);
    }
    key(&mut app, &snap, KeyCode::Char('d'));
    assert_eq!(
        app.view(),
        View::Venue(
            snap.incidents[group]
                .venue
                .expect("a group incident has a venue")
                .0
        )
    );
}

#[test]
fn incident_keys_fill_the_command_line_and_a_role_sees_only_its_own() {
    let snap = games::standard();
    let first = snap.incidents[0].id;
    let mut app = app_as("dana", Role::DutyManager);
    key(&mut app, &snap, KeyCode::Tab);
    key(&mut app, &snap, KeyCode::Char('a'));
    assert_eq!(input(&app), format!("ack {first} "));
    typed(&mut app, &snap, "for 2h fibre team on site");
    let Effect::Send { commands, .. } = key(&mut app, &snap, KeyCode::Enter) else {
        panic!("Enter sends the acknowledgement");
    };
    assert_eq!(
        commands,
        [Command::Incident(IncidentCommand::Ack {
            which: first.to_string(),
            comment: "fibre team on site".into(),
            expires: Some(Duration::from_secs(7200)),
        })]
    );
    key(&mut app, &snap, KeyCode::Char('n'));
    assert_eq!(input(&app), format!("note {first} "));
    key(&mut app, &snap, KeyCode::Esc);
    key(&mut app, &snap, KeyCode::Char('r'));
    assert_eq!(input(&app), format!("resolve {first}"));
    key(&mut app, &snap, KeyCode::Esc);
    // A viewer is offered none of them, and told so plainly on a press.
    let mut viewer = app_as("vic", Role::Viewer);
    key(&mut viewer, &snap, KeyCode::Tab);
    let offered: Vec<&str> = toc::console::keymap::offered(Context::Incidents, false, Role::Viewer)
        .map(|b| b.short)
        .collect();
    assert!(
        !offered.contains(&"ack") && !offered.contains(&"note"),
        "{offered:?}"
    );
    assert!(offered.contains(&"open"), "{offered:?}");
    key(&mut viewer, &snap, KeyCode::Char('a'));
    assert_eq!(input(&viewer), "", "no command line for a viewer");
    let said = viewer.message().map(|m| m.text.clone()).unwrap_or_default();
    assert!(
        said.contains("needs role duty_manager; you are viewer"),
        "{said}"
    );
    // A technician may note, not acknowledge.
    let tech = toc::console::keymap::offered(Context::Incident, false, Role::Technician)
        .map(|b| b.short)
        .collect::<Vec<_>>();
    assert!(
        tech.contains(&"note") && !tech.contains(&"ack") && !tech.contains(&"resolve"),
        "{tech:?}"
    );
}

#[test]
fn tab_cycles_panes_and_esc_returns_to_main() {
    let snap = games::standard();
    let mut app = app(false);
    let mut seen = vec![app.focus()];
    for _ in 0..4 {
        key(&mut app, &snap, KeyCode::Tab);
        seen.push(app.focus());
    }
    assert_eq!(
        seen,
        [
            Pane::Main,
            Pane::Incidents,
            Pane::Host,
            Pane::Ticker,
            Pane::Main
        ]
    );
    key(&mut app, &snap, KeyCode::BackTab);
    assert_eq!(app.focus(), Pane::Ticker);
    key(&mut app, &snap, KeyCode::Esc);
    assert_eq!(app.focus(), Pane::Main);
}

#[test]
fn ticker_opens_the_event_subject() {
    let snap = games::standard();
    let mut app = app(false);
    // To the ticker.
    for _ in 0..3 {
        key(&mut app, &snap, KeyCode::Tab);
    }
    assert_eq!(app.focus(), Pane::Ticker);
    let newest = snap.ticker.last().expect("events");
    key(&mut app, &snap, KeyCode::Enter);
    match &newest.kind {
        EventKind::Venue { venue, .. } => assert_eq!(app.view(), View::Venue(venue.0)),
        EventKind::Device { device, .. } => assert_eq!(app.view(), View::Device(device.0)),
        _ => {}
    }
    for _ in 0..3 {
        key(&mut app, &snap, KeyCode::Tab);
    }
    assert_eq!(app.focus(), Pane::Ticker);
    key(&mut app, &snap, KeyCode::Char('G'));
    assert_eq!(app.ticker_selection(), snap.ticker.len() - 1);
}

fn candidates(app: &App, snap: &Snapshot) -> Vec<String> {
    app.completion(snap)
        .map(|c| c.candidates)
        .unwrap_or_default()
}

fn input(app: &App) -> &str {
    app.input().map_or("", |i| i.text.as_str())
}

#[test]
fn completion_shows_sorted_candidates_while_typing_and_tab_completes() {
    let snap = games::standard();
    let mut app = app(true);
    // An empty `:` already offers every command, sorted.
    typed(&mut app, &snap, ":");
    let names = candidates(&app, &snap);
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    for name in ["venue", "device", "check", "fault", "clear", "maint"] {
        assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
    }
    typed(&mut app, &snap, "ven");
    assert_eq!(candidates(&app, &snap), ["venue"]);
    key(&mut app, &snap, KeyCode::Tab);
    assert_eq!(input(&app), "venue ");
    typed(&mut app, &snap, "S");
    let venues = candidates(&app, &snap);
    assert!(
        venues.len() > 1 && venues.iter().all(|v| v.starts_with('S')),
        "{venues:?}"
    );
    assert!(
        venues.windows(2).all(|w| w[0] <= w[1]),
        "sorted: {venues:?}"
    );
    typed(&mut app, &snap, "t");
    key(&mut app, &snap, KeyCode::Tab);
    assert_eq!(input(&app), "venue STA ", "a completed id gets a space");
    key(&mut app, &snap, KeyCode::Esc);
    // Device ids, fault kinds (uplink-down for a venue), on/off.
    typed(&mut app, &snap, ":fault sta-core-");
    let devices = candidates(&app, &snap);
    assert!(devices.iter().any(|d| d == "STA-core-a"), "{devices:?}");
    typed(&mut app, &snap, "a");
    key(&mut app, &snap, KeyCode::Tab);
    assert_eq!(input(&app), "fault STA-core-a ");
    let kinds = candidates(&app, &snap);
    assert!(kinds.iter().any(|k| k == "cpu-high"), "{kinds:?}");
    assert!(!kinds.iter().any(|k| k == "uplink-down"), "{kinds:?}");
    typed(&mut app, &snap, "cp");
    key(&mut app, &snap, KeyCode::Tab);
    assert_eq!(input(&app), "fault STA-core-a cpu-high ");
    key(&mut app, &snap, KeyCode::Esc);
    typed(&mut app, &snap, ":fault STA ");
    assert_eq!(candidates(&app, &snap), ["uplink-down"]);
    key(&mut app, &snap, KeyCode::Esc);
    typed(&mut app, &snap, ":maint STA-core-a ");
    assert_eq!(candidates(&app, &snap), ["1h", "2h", "30m", "8h"]);
    key(&mut app, &snap, KeyCode::Esc);
    typed(&mut app, &snap, ":maint of");
    assert_eq!(
        candidates(&app, &snap).first().map(String::as_str),
        Some("off")
    );
    key(&mut app, &snap, KeyCode::Esc);
    typed(&mut app, &snap, ":maint STA-upl");
    assert_eq!(candidates(&app, &snap), ["STA-uplink"], "a group");
    key(&mut app, &snap, KeyCode::Esc);
    // Filter terms and values.
    typed(&mut app, &snap, "/sta");
    assert_eq!(candidates(&app, &snap), ["STA", "status:"]);
    typed(&mut app, &snap, "tus:un");
    assert_eq!(candidates(&app, &snap), ["unknown", "unreachable"]);
    typed(&mut app, &snap, "r");
    key(&mut app, &snap, KeyCode::Tab);
    assert_eq!(input(&app), "status:unreachable ");
    assert!(!app.filter().is_empty(), "the completed filter applies");
    typed(&mut app, &snap, "role:core");
    assert!(
        candidates(&app, &snap).iter().any(|r| r == "core-switch"),
        "{:?}",
        candidates(&app, &snap)
    );
}

#[test]
fn typing_a_venue_code_on_the_wall_selects_it() {
    let snap = games::standard();
    let mut app = app(false);
    for c in "STA".chars() {
        key(&mut app, &snap, KeyCode::Char(c));
    }
    assert_eq!(app.wall_selection().map(|v| code(&snap, v)), Some("STA"));
    // A letter that starts no code with what was typed starts again.
    for c in "RGA".chars() {
        key(&mut app, &snap, KeyCode::Char(c));
    }
    assert_eq!(app.wall_selection().map(|v| code(&snap, v)), Some("RGA"));
    key(&mut app, &snap, KeyCode::Enter);
    assert_eq!(app.view(), View::Venue(games::venue(&snap, "RGA")));
}

#[test]
fn messages_clear_on_the_next_key_or_after_ten_seconds_but_not_while_pending() {
    let snap = games::standard();
    let mut app = app(false);
    typed(&mut app, &snap, ":nope");
    key(&mut app, &snap, KeyCode::Enter);
    assert_eq!(app.message().map(|m| m.kind), Some(MessageKind::Error));
    key(&mut app, &snap, KeyCode::Char('j'));
    assert!(app.message().is_none(), "the next key clears it");
    typed(&mut app, &snap, ":nope");
    key(&mut app, &snap, KeyCode::Enter);
    let t0 = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000);
    app.tick(t0);
    app.tick(t0 + std::time::Duration::from_secs(9));
    assert!(app.message().is_some(), "still fresh");
    app.tick(t0 + std::time::Duration::from_secs(10));
    assert!(app.message().is_none(), "stale after 10 s");
    typed(&mut app, &snap, ":check STA-core-a");
    key(&mut app, &snap, KeyCode::Enter);
    assert_eq!(app.message().map(|m| m.kind), Some(MessageKind::Pending));
    app.tick(t0);
    app.tick(t0 + std::time::Duration::from_secs(60));
    key(&mut app, &snap, KeyCode::Char('j'));
    assert_eq!(
        app.message().map(|m| m.kind),
        Some(MessageKind::Pending),
        "a command on its way stays until its answer"
    );
}

#[test]
fn check_key_on_the_device_view_checks_it_and_tells_the_result() {
    let snap = games::standard();
    let mut app = app(false);
    typed(&mut app, &snap, ":device STA-core-a");
    key(&mut app, &snap, KeyCode::Enter);
    let Effect::Send { commands, .. } = key(&mut app, &snap, KeyCode::Char('c')) else {
        panic!("no command");
    };
    assert_eq!(commands, [Command::check_now("STA-core-a")]);
    // The same snapshot: nothing new to tell.
    app.on_snapshot(&snap);
    assert_eq!(app.message().map(|m| m.kind), Some(MessageKind::Pending));
    // A snapshot where the device was checked again tells its result.
    let d = find_device(&snap, "STA-core-a").expect("device");
    let mut next = snap.clone();
    let mut dev = (*next.devices[d]).clone();
    dev.last_check =
        Some(dev.last_check.unwrap_or(std::time::UNIX_EPOCH) + std::time::Duration::from_secs(1));
    dev.raw = Status::Ok;
    dev.latency = Some(std::time::Duration::from_millis(3));
    next.devices[d] = std::sync::Arc::new(dev);
    app.on_snapshot(&next);
    let m = app.message().cloned().expect("message");
    assert!(
        m.text.starts_with("STA-core-a checked now: ✔ OK in 3"),
        "{}",
        m.text
    );
    // The engine's answer to the request comes after the result: the
    // result stays.
    app.on_reply(
        "check STA-core-a now",
        &[Ok(Done::CheckRequested {
            target: "STA-core-a".into(),
            devices: 1,
        })],
    );
    assert_eq!(app.message(), Some(&m));
}

#[test]
fn a_new_down_incident_rings_the_bell_once_and_what_was_open_at_start_none() {
    let full = games::standard();
    let down = full
        .incidents
        .iter()
        .position(|i| i.severity == Status::Down)
        .expect("a DOWN incident");
    let mut before = full.clone();
    let mut fewer = (*full.incidents).clone();
    fewer.remove(down);
    before.incidents = std::sync::Arc::new(fewer);
    let mut app = app(false);
    app.on_snapshot(&before);
    assert!(!app.take_bell(), "what is open at start rings nothing");
    app.on_snapshot(&before);
    assert!(!app.take_bell());
    app.on_snapshot(&full);
    assert!(app.take_bell(), "a new DOWN incident rings");
    assert!(!app.take_bell(), "once");
    app.on_snapshot(&full);
    assert!(!app.take_bell(), "the same incident rings no more");
}

#[test]
fn o_narrows_the_incident_list_to_open_acknowledged_or_mine_and_the_filter_to_a_venue() {
    use toc::console::app::{IncidentView, incident_order};
    use toc::engine::{Ack, IncidentState};
    let mut snap = games::standard();
    let mut list = (*snap.incidents).clone();
    for (k, by) in [(1, "dana"), (2, "eve")] {
        list[k].state = IncidentState::Acknowledged;
        list[k].ack = Some(Ack {
            by: by.to_owned(),
            at: snap.at,
            comment: "on it".to_owned(),
            expires: None,
        });
    }
    snap.incidents = std::sync::Arc::new(list);
    let n = snap.incidents.len();
    let mut app = app_as("dana", Role::DutyManager);
    key(&mut app, &snap, KeyCode::Tab);
    assert_eq!(app.incidents_shown(&snap).len(), n);
    let mut seen = Vec::new();
    for _ in 0..4 {
        key(&mut app, &snap, KeyCode::Char('o'));
        seen.push((app.incident_view(), app.incidents_shown(&snap)));
    }
    assert_eq!(seen[0].0, IncidentView::Open);
    assert_eq!(seen[0].1.len(), n - 2);
    assert_eq!(seen[1].0, IncidentView::Acknowledged);
    assert_eq!(seen[1].1, [1, 2]);
    assert_eq!(seen[2].0, IncidentView::Mine);
    assert_eq!(seen[2].1, [1], "acknowledged by dana");
    assert_eq!(seen[3].0, IncidentView::All);
    // In the Mine view, the keys act on what is shown.
    key(&mut app, &snap, KeyCode::Char('o'));
    key(&mut app, &snap, KeyCode::Char('o'));
    key(&mut app, &snap, KeyCode::Char('o'));
    key(&mut app, &snap, KeyCode::Char('n'));
    assert_eq!(input(&app), format!("note {} ", snap.incidents[1].id));
    key(&mut app, &snap, KeyCode::Esc);
    // The `/` filter narrows it to a venue.
    let venue = snap.incidents[0].venue;
    let code = snap.layout.venues[venue.expect("a device incident has a venue").0]
        .code
        .clone();
    let filter = toc::console::filter::parse(&format!("venue:{code}")).expect("filter");
    let at_venue = incident_order(&snap, IncidentView::All, &filter, "dana");
    assert!(!at_venue.is_empty());
    assert!(at_venue.iter().all(|&k| snap.incidents[k].venue == venue));
    assert!(at_venue.len() < n);
}
