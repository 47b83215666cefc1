//! A console narrowed to some venues (`--venue STA`, a technician's
//! venues) and a console whose link to the server is lost, on a
//! `TestBackend` with the test Games, and through the console's loop.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "support/screen.rs"]
mod screen;
mod support;

use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use futures_util::Stream;
use ratatui::Terminal;
use support::games;
use support::view::{command, draw, text};
use toc::console::keymap::Action;
use toc::console::{App, ConsoleOptions, Effect, run_loop};
use toc::engine::{EngineHandle, Identity, Link, Role, Snapshot, authorize};
use tokio::sync::{broadcast, mpsc, watch};

fn who(user: &str, role: Role, venues: &[&str]) -> Identity {
    Identity {
        user: user.to_owned(),
        role,
        venues: venues.iter().map(|v| (*v).to_owned()).collect(),
    }
}

/// A console acting as `identity`, started with `--venue` for each of
/// `wanted`, on the test Games.
fn scoped(identity: Identity, wanted: &[&str]) -> (App, Snapshot) {
    let snap = games::standard();
    let mut app = App::new(identity, true, false);
    let wanted: Vec<String> = wanted.iter().map(|v| (*v).to_owned()).collect();
    app.set_scope(&wanted, &snap);
    app.on_snapshot(&snap);
    (app, snap)
}

/// The screen's text with each run of spaces, rows' ends and the bars
/// that close them as one space, so a message wrapped over rows reads
/// whole.
fn flat(screen: &str) -> String {
    screen
        .lines()
        .map(|l| l.trim_end_matches('|').trim())
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn screen(app: &mut App, snap: &Snapshot, w: u16, h: u16) -> String {
    text(&draw(app, snap, w, h))
}

/// Whether the screen names the venue `code` as a word of its own
/// (`STA`, `STA-core-a`; not `STATE`).
fn shows_venue(screen: &str, code: &str) -> bool {
    screen.match_indices(code).any(|(k, _)| {
        let before = screen[..k].chars().last();
        let after = screen[k + code.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

#[test]
fn venue_flag_narrows_the_wall_incidents_ticker_and_counts() {
    let (mut app, snap) = scoped(who("alice", Role::DutyManager, &[]), &["sta"]);
    assert_eq!(app.scope().label().as_deref(), Some("STA only"));
    assert!(app.message().is_none(), "{:?}", app.message());
    let wide = screen(&mut app, &snap, 160, 48);
    let top = wide.lines().next().unwrap();
    assert!(top.contains("STA only"), "{top}");
    // The wall: STA and none of the others.
    assert!(
        wide.contains("Stade de France") || shows_venue(&wide, "STA"),
        "{wide}"
    );
    for other in ["PDP", "RGA", "BCY", "GPL", "LIL", "TEA"] {
        assert!(!shows_venue(&wide, other), "{other} shown:\n{wide}");
    }
    // The incidents pane has STA's and the counts are STA's: both core
    // switches down, one venue down.
    assert!(wide.contains("STA-core-a"), "{wide}");
    assert!(
        top.contains("venues 1"),
        "one venue down, in the top bar: {top}"
    );
    // The incident list on a small screen.
    command(&mut app, &snap, "incidents");
    let small = screen(&mut app, &snap, 80, 24);
    assert!(small.contains("STA-core"), "{small}");
    assert!(!shows_venue(&small, "PDP"), "{small}");
    assert!(!shows_venue(&small, "GGU"), "{small}");
    // The ticker.
    command(&mut app, &snap, "events");
    let events = screen(&mut app, &snap, 80, 24);
    assert!(!shows_venue(&events, "PDP"), "{events}");
    assert!(!shows_venue(&events, "RGA"), "{events}");
    // A venue outside the scope is not opened.
    command(&mut app, &snap, "venue PDP");
    let message = app.message().expect("a message").text.clone();
    assert!(
        message.contains("not shown in this console (STA only)"),
        "{message}"
    );
    command(&mut app, &snap, "device PDP-core-a");
    assert!(app.message().unwrap().text.contains("not shown"));
    // STA opens, and its devices are there.
    command(&mut app, &snap, "venue STA");
    let venue = screen(&mut app, &snap, 80, 24);
    assert!(venue.contains("STA-core-a"), "{venue}");
}

#[test]
fn the_whole_wall_without_a_scope() {
    let (mut app, snap) = scoped(who("alice", Role::DutyManager, &[]), &[]);
    assert!(app.scope().is_all());
    let wide = screen(&mut app, &snap, 160, 48);
    assert!(
        shows_venue(&wide, "STA") && shows_venue(&wide, "PDP"),
        "{wide}"
    );
    assert!(!wide.lines().next().unwrap().contains(" only"));
}

#[test]
fn a_technician_sees_only_their_venues() {
    let (mut app, snap) = scoped(who("tom", Role::Technician, &["STA"]), &[]);
    assert_eq!(app.scope().label().as_deref(), Some("STA only"));
    let wide = screen(&mut app, &snap, 160, 48);
    assert!(wide.lines().next().unwrap().contains("STA only"), "{wide}");
    assert!(wide.contains("STA-core-a"), "{wide}");
    for other in ["PDP", "RGA", "GGU", "LIL"] {
        assert!(!shows_venue(&wide, other), "{other} shown:\n{wide}");
    }
    // Moving on the wall stays on STA.
    app.update(Action::Right, &snap);
    app.update(Action::Down, &snap);
    app.update(Action::Open, &snap);
    let venue = screen(&mut app, &snap, 80, 24);
    assert!(venue.contains("STA-core-a"), "{venue}");
}

#[test]
fn venue_flag_narrows_a_technician_further_and_never_widens() {
    // Two venues; --venue picks one.
    let (mut app, snap) = scoped(who("tom", Role::Technician, &["STA", "PDP"]), &["PDP"]);
    assert_eq!(app.scope().label().as_deref(), Some("PDP only"));
    let wide = screen(&mut app, &snap, 160, 48);
    // Below the top bar (which names the user's venues).
    let below = wide.split_once('\n').unwrap().1;
    assert!(
        shows_venue(below, "PDP") && !shows_venue(below, "STA"),
        "{wide}"
    );
    assert!(wide.contains("Incidents  1 open"), "{wide}");
    // Not theirs: told, and the scope stays theirs.
    let (app, _) = scoped(who("tom", Role::Technician, &["STA"]), &["PDP"]);
    assert_eq!(app.scope().label().as_deref(), Some("STA only"));
    let message = app.message().expect("an error line").text.clone();
    assert!(
        message.contains("--venue PDP: not one of your venues (STA)"),
        "{message}"
    );
}

/// The candidates offered after typing `text` (from the wall).
fn offered(app: &mut App, snap: &Snapshot, text: &str) -> Vec<String> {
    for c in text.chars() {
        app.on_key(&KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE), snap);
    }
    let offered = app
        .completion(snap)
        .map(|c| c.candidates)
        .unwrap_or_default();
    app.on_key(&KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE), snap);
    offered
}

#[test]
fn completion_offers_only_what_is_in_scope() {
    let (mut app, snap) = scoped(who("tina", Role::Technician, &["STA"]), &[]);
    assert_eq!(offered(&mut app, &snap, ":venue "), ["STA"]);
    let devices = offered(&mut app, &snap, ":device ");
    assert!(!devices.is_empty(), "STA's devices are offered");
    assert!(devices.iter().all(|d| d.starts_with("STA-")), "{devices:?}");
    let targets = offered(&mut app, &snap, ":maint ");
    assert!(
        targets.iter().all(|t| t == "off" || t.starts_with("STA")),
        "{targets:?}"
    );
    assert_eq!(offered(&mut app, &snap, "/venue:"), ["STA"]);
    // A console without a scope is offered every venue.
    let (mut all, snap) = scoped(who("alice", Role::DutyManager, &[]), &[]);
    assert_eq!(
        offered(&mut all, &snap, ":venue ").len(),
        snap.layout.venues.len()
    );
    assert!(snap.layout.venues.len() > 1);
}

#[test]
fn the_audit_shows_only_what_is_in_scope() {
    let (mut app, mut snap) = scoped(who("tina", Role::Technician, &["STA"]), &[]);
    let record = |user: &str, role: Role, target: &str| toc::engine::AuditRecord {
        at: std::time::SystemTime::now(),
        identity: who(user, role, &[]),
        text: format!("check {target}"),
        command: toc::engine::Command::check_now(target),
        applied: true,
        outcome: format!("checked {target}"),
    };
    let other = snap.layout.venues.iter().find(|v| v.code != "STA").unwrap();
    let other = other.code.clone();
    snap.audit = Arc::new(vec![
        record("alice", Role::DutyManager, "STA"),
        record("alice", Role::DutyManager, &other),
        record("tina", Role::Technician, &other),
    ]);
    command(&mut app, &snap, "audit");
    let shown = flat(&screen(&mut app, &snap, 160, 48));
    assert!(shown.contains("checked STA"), "{shown}");
    assert!(shown.contains("2 newest commands"), "{shown}");
    // Another venue's command by someone else is not shown; tina's own
    // (refused or not) is.
    assert_eq!(
        shown.matches(&format!("checked {other}")).count(),
        1,
        "{shown}"
    );
    // Without a scope, all three.
    let (mut all, _) = scoped(who("alice", Role::DutyManager, &[]), &[]);
    command(&mut all, &snap, "audit");
    let shown = flat(&screen(&mut all, &snap, 160, 48));
    assert!(shown.contains("3 newest commands"), "{shown}");
}

#[test]
fn an_unknown_venue_code_is_an_error_line_not_a_crash() {
    let (mut app, snap) = scoped(who("alice", Role::Operator, &[]), &["XYZ"]);
    let message = app.message().expect("an error line").text.clone();
    assert!(message.contains("--venue XYZ: no such venue"), "{message}");
    assert!(app.scope().is_all());
    for (w, h) in [(80, 24), (160, 48)] {
        let shown = screen(&mut app, &snap, w, h);
        assert!(shown.contains("--venue XYZ"), "{shown}");
    }
    // One good code, one bad: the good one narrows.
    let (app, _) = scoped(who("alice", Role::Operator, &[]), &["XYZ", "STA"]);
    assert_eq!(app.scope().label().as_deref(), Some("STA only"));
    assert!(app.message().unwrap().text.contains("XYZ"));
}

#[test]
fn link_lost_shows_the_banner_and_dims_then_connected_removes_it() {
    let snap = games::standard();
    let mut app = App::new(who("alice", Role::DutyManager, &[]), true, false);
    app.set_link_at(Link::Connected, games::ago(60));
    for (w, h) in [(80, 24), (160, 48)] {
        let shown = screen(&mut app, &snap, w, h);
        assert!(!shown.contains("lost"), "{shown}");
    }
    app.set_link_at(Link::Lost, games::ago(30));
    let wide = draw(&mut app, &snap, 160, 48);
    let wide_text = text(&wide);
    let banner = wide_text.lines().nth(1).unwrap();
    assert!(
        banner.contains(
            "connection to the server lost at 13:19:30 — reconnecting; the wall shows the last state received; commands are refused until it is back"
        ),
        "{wide_text}"
    );
    // The panes below are dimmed: the last state received.
    let cell = &wide[(2, 5)];
    assert!(
        cell.modifier.contains(ratatui::style::Modifier::DIM),
        "{cell:?}"
    );
    // On a small screen the banner still says it all, on two rows.
    let small = screen(&mut app, &snap, 80, 24);
    let rows: Vec<&str> = small.lines().collect();
    assert!(rows[1].contains("lost at 13:19:30"), "{small}");
    assert!(rows[2].contains("commands are refused"), "{small}");
    // A tiny one keeps one short line.
    let tiny = screen(&mut app, &snap, 60, 12);
    assert!(tiny.contains("LINK LOST at 13:19:30"), "{tiny}");

    app.set_link_at(Link::Connected, games::ago(2));
    for (w, h) in [(80, 24), (160, 48)] {
        let shown = screen(&mut app, &snap, w, h);
        assert!(!shown.contains("lost at 13:19:30 —"), "{shown}");
        assert!(!shown.contains("LINK LOST"), "{shown}");
        assert!(
            shown.contains("reconnected at 13:19:58; resynced"),
            "{shown}"
        );
    }
    let cell = &draw(&mut app, &snap, 160, 48)[(2, 5)];
    assert!(!cell.modifier.contains(ratatui::style::Modifier::DIM));
}

#[test]
fn a_technician_refused_an_acknowledgement_sees_why() {
    let tom = who("tom", Role::Technician, &["STA"]);
    let (mut app, snap) = scoped(tom.clone(), &[]);
    let incident = snap
        .incidents
        .iter()
        .find(|i| i.subject.starts_with("STA-core"))
        .expect("an incident at STA");
    // Typed on the command line, the engine's own check answers.
    app.update(Action::CommandLine, &snap);
    for c in format!("ack {} on my way", incident.id).chars() {
        app.update(Action::Insert(c), &snap);
    }
    let Effect::Send { label, commands } = app.update(Action::Submit, &snap) else {
        panic!("the acknowledgement is sent: {:?}", app.message());
    };
    let replies: Vec<_> = commands
        .iter()
        .map(|c| authorize(&tom, c, &snap.layout).map(|()| unreachable!()))
        .collect();
    app.on_reply(&label, &replies);
    let shown = screen(&mut app, &snap, 80, 24);
    assert!(
        flat(&shown).contains("refused: needs role duty_manager, you are technician"),
        "{shown}"
    );
    // The `a` key on the incident says it before anything is sent.
    command(&mut app, &snap, "incidents");
    let key = KeyEvent::new(KeyCode::Char('a'), KeyModifiers::NONE);
    assert_eq!(app.on_key(&key, &snap), Effect::None);
    let shown = screen(&mut app, &snap, 80, 24);
    assert!(
        flat(&shown).contains("needs role duty_manager; you are technician"),
        "{shown}"
    );
}

fn key_stream(
    rx: mpsc::UnboundedReceiver<Event>,
) -> impl Stream<Item = std::io::Result<Event>> + Unpin {
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|event| (Ok(event), rx))
    }))
}

const PATIENCE: Duration = Duration::from_secs(20);

async fn shows(shown: &mut watch::Receiver<String>, text: &str) -> String {
    let waited = tokio::time::timeout(PATIENCE, shown.wait_for(|s| flat(s).contains(text)))
        .await
        .map(|r| r.map(|screen| screen.clone()));
    match waited {
        Ok(Ok(screen)) => screen,
        _ => panic!("never shown: {text}\n{}", *shown.borrow()),
    }
}

/// The loop with a link that is lost: the banner, a command refused with
/// the reason on the status line, then the link back and the banner gone.
#[tokio::test]
async fn a_command_while_not_connected_is_refused_with_the_reason() {
    let (_snapshots, snapshot_rx) = watch::channel(Arc::new(games::standard()));
    let (events, _) = broadcast::channel(16);
    // Nobody answers: the server is not there.
    let (request_tx, requests) = mpsc::channel(8);
    drop(requests);
    let (link, link_rx) = watch::channel(Link::Lost);
    let identity = who("olga", Role::Operator, &[]);
    let handle = EngineHandle::new(snapshot_rx, events, request_tx, link_rx, identity);
    let (keys, key_rx) = mpsc::unbounded_channel();
    let (
        screen,
        screen::Shown {
            text: mut shown, ..
        },
    ) = screen::Screen::new(100, 30, screen::Gate::new());
    let options = ConsoleOptions {
        venues: vec!["STA".to_owned()],
        ..ConsoleOptions::default()
    };
    let console = tokio::spawn(async move {
        let mut terminal = Terminal::new(screen).unwrap();
        run_loop(&mut terminal, key_stream(key_rx), handle, options).await
    });
    shows(&mut shown, "connection to the server lost at").await;
    shows(&mut shown, "STA only").await;
    for c in ":maint STA-acc-01 2h swap the PSU".chars() {
        keys.send(Event::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )))
        .unwrap();
    }
    keys.send(Event::Key(KeyEvent::new(
        KeyCode::Enter,
        KeyModifiers::NONE,
    )))
    .unwrap();
    let screen = shows(&mut shown, "not connected to the server since").await;
    assert!(screen.contains("the engine is not reachable"), "{screen}");
    assert!(screen.contains("nothing was done"), "{screen}");
    // Back: the banner goes, a line says so.
    link.send(Link::Connected).unwrap();
    let screen = shows(&mut shown, "reconnected at").await;
    assert!(
        !screen.contains("connection to the server lost"),
        "{screen}"
    );
    keys.send(Event::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
    )))
    .unwrap();
    // Ctrl-C asks first outside a demo.
    shows(&mut shown, App::QUIT_QUESTION).await;
    keys.send(Event::Key(KeyEvent::new(
        KeyCode::Char('y'),
        KeyModifiers::NONE,
    )))
    .unwrap();
    tokio::time::timeout(PATIENCE, console)
        .await
        .expect("the console returns")
        .expect("no panic")
        .expect("no error");
}
