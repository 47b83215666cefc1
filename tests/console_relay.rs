//! The console's relay view and its reroutes, on a `TestBackend`: the
//! flow (sinks with latency against their SLO, feeds with their sources,
//! routes, the newest headers) at 80x24 and 160x48 against insta
//! snapshots; a reroute is sent only after a yes, `p` pauses or resumes
//! the selected sink, and a viewer is refused the key.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use support::games;
use support::view::{command, draw, text};
use toc::console::App;
use toc::console::app::{Effect, View};
use toc::console::keymap::Action;
use toc::engine::{Command, Identity, Role, Snapshot};
use toc::model::Status;
use toc::model::relay::{
    Counts, Outcome, RelayCommand, RelayStatus, RouteStatus, SinkState, SinkStatus, SourceStatus,
    TailEntry,
};

fn sink(id: &str, kind: &str, consumer: &str, slo_ms: u64, p99_ms: u64) -> SinkStatus {
    SinkStatus {
        id: id.to_owned(),
        kind: kind.to_owned(),
        consumer: consumer.to_owned(),
        slo: Duration::from_millis(slo_ms),
        cursor: 4_812,
        rate: 9.5,
        delivered: 4_811,
        p50: Some(Duration::from_micros(900)),
        p99: Some(Duration::from_millis(p99_ms)),
        ..SinkStatus::default()
    }
}

/// The standard Games with a relay: one feed that lost its primary, a
/// paused sink, a slow one, a failing one.
fn snapshot() -> Snapshot {
    let mut snap = games::standard();
    let feeds: Vec<String> = snap.layout.feeds.iter().map(|f| f.id.clone()).collect();
    let mut sources = Vec::new();
    for (i, feed) in feeds.iter().enumerate() {
        let venue = feed.split('-').next().unwrap_or(feed);
        for (side, ago) in [("a", if i == 0 { 95 } else { 1 }), ("b", 2)] {
            sources.push(SourceStatus {
                id: format!("{venue}-ovr-{side}"),
                feed: Some(feed.clone()),
                rate: 2.0,
                last: Some(games::ago(ago)),
                counts: Counts {
                    forwarded: 120,
                    duplicate: 118,
                    stale: 1,
                    ..Counts::default()
                },
            });
        }
    }
    let mut paused = sink("web_mobile", "http", "web_mobile", 2_350, 40);
    paused.state = SinkState::Paused;
    paused.backlog = 312;
    let mut failing = sink("media", "tcp", "media", 5_000, 3);
    failing.state = SinkState::Failing;
    failing.error = Some("no subscriber".to_owned());
    let relay = RelayStatus {
        at: Some(games::now()),
        listen: "127.0.0.1:8650".to_owned(),
        fsync: true,
        head: 4_813,
        first: 1,
        journal_bytes: 21_500_000,
        quarantined: 2,
        sources,
        sinks: vec![
            sink("commentators", "http", "commentators", 350, 512),
            paused,
            failing,
            sink("archive", "file", "media", 5_000, 2),
        ],
        active: vec![(feeds[0].clone(), None)],
        routes: vec![RouteStatus {
            id: "results".to_owned(),
            matches: "document_type=DT_RESULT".to_owned(),
            sinks: vec!["commentators".to_owned(), "web_mobile".to_owned()],
        }],
        journal_failing: None,
        tail: (0..30u64)
            .map(|i| TailEntry {
                at: games::ago(30 - i),
                source: "STA-ovr-b".to_owned(),
                document_code: "ATHM100M--------------FNL-000100--".to_owned(),
                document_type: "DT_RESULT".to_owned(),
                version: i + 1,
                result_status: Some("LIVE".to_owned()),
                outcome: if i % 7 == 3 {
                    Outcome::Quarantined
                } else if i % 2 == 0 {
                    Outcome::Forwarded
                } else {
                    Outcome::Duplicate
                },
                seq: (i % 2 == 0).then_some(4_780 + i),
                reason: (i % 7 == 3).then(|| "not well-formed: unclosed tag".to_owned()),
            })
            .collect(),
    };
    snap.relay = Some(Arc::new(relay));
    snap.feeds = vec![Status::Ok; snap.layout.feeds.len()];
    if let Some(first) = snap.feeds.first_mut() {
        *first = Status::Degraded;
    }
    snap
}

fn app(role: Role) -> App {
    let identity = Identity {
        user: "olga".to_owned(),
        role,
        venues: Vec::new(),
    };
    App::new(identity, true, false)
}

fn key(app: &mut App, snap: &Snapshot, c: char) -> Effect {
    app.on_key(&KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE), snap)
}

#[test]
fn the_relay_view_shows_the_flow() {
    let snap = snapshot();
    assert!(!snap.layout.feeds.is_empty(), "the test Games has feeds");
    for (w, h) in [(80, 24), (100, 30), (160, 48)] {
        let mut app = app(Role::Operator);
        app.set_area(Rect::new(0, 0, w, h));
        command(&mut app, &snap, "relay");
        assert_eq!(app.view(), View::Relay);
        let screen = text(&draw(&mut app, &snap, w, h));
        insta::assert_snapshot!(format!("relay_{w}x{h}"), screen);
    }
}

#[test]
fn the_relay_view_says_what_each_sink_is_doing_in_words() {
    let snap = snapshot();
    let mut app = app(Role::Operator);
    app.set_area(Rect::new(0, 0, 160, 48));
    command(&mut app, &snap, "relay");
    let screen = text(&draw(&mut app, &snap, 160, 48));
    for word in [
        "SLOW",
        "PAUSED",
        "FAILING",
        "no subscriber",
        "512ms",
        "2.35s",
    ] {
        assert!(screen.contains(word), "{word} missing:\n{screen}");
    }
    let feed = &snap.layout.feeds[0].id;
    let line = screen
        .lines()
        .find(|l| l.contains(feed.as_str()))
        .expect("the first feed is listed");
    assert!(
        line.contains('▲'),
        "a feed that lost a source is orange: {line}"
    );
    assert!(
        line.contains("1m"),
        "its silent source says for how long: {line}"
    );
}

#[test]
fn a_reroute_goes_only_after_a_yes() {
    let snap = snapshot();
    let mut app = app(Role::Operator);
    command(&mut app, &snap, "pause commentators");
    assert!(app.confirming_relay());
    let asked = app.message().expect("a question").text.clone();
    assert_eq!(
        asked,
        "pause sink commentators; its backlog grows on disk? (y/N)"
    );
    assert_eq!(key(&mut app, &snap, 'n'), Effect::None, "no: not sent");
    assert!(!app.confirming_relay());
    command(&mut app, &snap, "pause commentators");
    let Effect::Send { commands, .. } = key(&mut app, &snap, 'y') else {
        panic!("yes sends it");
    };
    assert_eq!(
        commands,
        vec![Command::Relay(RelayCommand::Pause {
            sink: "commentators".to_owned()
        })]
    );
}

#[test]
fn p_pauses_the_selected_sink_or_resumes_a_paused_one() {
    let snap = snapshot();
    let mut app = app(Role::Operator);
    command(&mut app, &snap, "relay");
    key(&mut app, &snap, 'p');
    let Effect::Send { commands, .. } = key(&mut app, &snap, 'y') else {
        panic!("yes sends it");
    };
    assert_eq!(
        commands,
        vec![Command::Relay(RelayCommand::Pause {
            sink: "commentators".to_owned()
        })]
    );
    app.update(Action::Down, &snap);
    key(&mut app, &snap, 'p');
    let Effect::Send { commands, .. } = key(&mut app, &snap, 'y') else {
        panic!("yes sends it");
    };
    assert_eq!(
        commands,
        vec![Command::Relay(RelayCommand::Resume {
            sink: "web_mobile".to_owned()
        })],
        "the paused sink is resumed"
    );
}

#[test]
fn a_viewer_is_refused_the_pause_key_and_nothing_is_asked() {
    let snap = snapshot();
    let mut app = app(Role::Viewer);
    command(&mut app, &snap, "relay");
    assert_eq!(key(&mut app, &snap, 'p'), Effect::None);
    assert!(!app.confirming_relay());
    let said = app.message().expect("a refusal").text.clone();
    assert!(said.contains("needs role operator"), "{said}");
}

#[test]
fn without_a_relay_the_view_says_so() {
    let snap = games::standard();
    let mut app = app(Role::Operator);
    command(&mut app, &snap, "relay");
    let screen = text(&draw(&mut app, &snap, 80, 24));
    assert!(screen.contains("not running here"), "{screen}");
}
