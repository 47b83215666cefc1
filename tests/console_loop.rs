//! The console's loop (`run_loop`) driven like a terminal would drive it:
//! keys typed one by one into a stream, an engine made of the channels an
//! `EngineHandle` is built from, and a backend that publishes each frame
//! so the test can wait for what the operator would see.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "support/screen.rs"]
mod screen;
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use futures_util::Stream;
use ratatui::Terminal;
use support::games;
use toc::console::{App, ConsoleOptions, run_loop};
use toc::engine::{
    Command, Done, EngineHandle, FaultKind, Identity, Link, Refusal, Request, Role, Snapshot,
};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;

/// An engine made of channels, and a console running on it.
struct Rig {
    snapshots: Option<watch::Sender<Arc<Snapshot>>>,
    requests: mpsc::Receiver<Request>,
    _link: watch::Sender<Link>,
    keys: mpsc::UnboundedSender<Event>,
    shown: watch::Receiver<String>,
    frames: Arc<AtomicUsize>,
    console: JoinHandle<std::io::Result<()>>,
    identity: Identity,
}

fn key_stream(
    rx: mpsc::UnboundedReceiver<Event>,
) -> impl Stream<Item = std::io::Result<Event>> + Unpin {
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|event| (Ok(event), rx))
    }))
}

fn start(demo: bool) -> Rig {
    let (snapshots, snapshot_rx) = watch::channel(Arc::new(games::standard()));
    let (events, _) = broadcast::channel(16);
    let (request_tx, requests) = mpsc::channel(8);
    let (link, link_rx) = watch::channel(Link::Local);
    let identity = Identity {
        user: "olga".to_owned(),
        role: Role::Operator,
        venues: Vec::new(),
    };
    let handle = EngineHandle::new(snapshot_rx, events, request_tx, link_rx, identity.clone());
    let (keys, key_rx) = mpsc::unbounded_channel();
    // The gate stays open: this terminal always reads.
    let (
        screen,
        screen::Shown {
            text: shown,
            frames,
        },
    ) = screen::Screen::new(100, 30, screen::Gate::new());
    let options = ConsoleOptions {
        color: true,
        mouse: false,
        demo,
        ..ConsoleOptions::default()
    };
    let console = tokio::spawn(async move {
        let mut terminal = Terminal::new(screen).unwrap();
        run_loop(&mut terminal, key_stream(key_rx), handle, options).await
    });
    Rig {
        snapshots: Some(snapshots),
        requests,
        _link: link,
        keys,
        shown,
        frames,
        console,
        identity,
    }
}

const PATIENCE: Duration = Duration::from_secs(20);

impl Rig {
    fn key(&self, code: KeyCode) {
        self.keys
            .send(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
            .unwrap();
    }

    fn ctrl(&self, c: char) {
        self.keys
            .send(Event::Key(KeyEvent::new(
                KeyCode::Char(c),
                KeyModifiers::CONTROL,
            )))
            .unwrap();
    }

    fn type_line(&self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c));
        }
        self.key(KeyCode::Enter);
    }

    /// Waits until the screen shows `text`; returns the screen.
    async fn shows(&mut self, text: &str) -> String {
        let waited = tokio::time::timeout(PATIENCE, self.shown.wait_for(|s| s.contains(text)))
            .await
            .map(|r| r.map(|screen| screen.clone()));
        match waited {
            Ok(Ok(screen)) => screen,
            _ => panic!("never shown: {text}\n{}", *self.shown.borrow()),
        }
    }

    async fn ends(self) {
        let result = tokio::time::timeout(PATIENCE, self.console)
            .await
            .expect("the console returns")
            .expect("no panic");
        result.expect("no error");
    }
}

#[tokio::test]
async fn venue_command_opens_the_venue_and_q_quits() {
    let mut rig = start(false);
    rig.shows("Wall  49 venues").await;
    rig.type_line(":venue pdp");
    let screen = rig.shows("Parc des Princes · Paris").await;
    assert!(screen.contains("PDP-core-a"), "{screen}");
    assert!(screen.contains("olga (operator)"), "{screen}");
    // `toc run` asks before it stops monitoring.
    rig.key(KeyCode::Char('q'));
    rig.shows(App::QUIT_QUESTION).await;
    rig.key(KeyCode::Char('y'));
    rig.ends().await;
}

#[tokio::test]
async fn a_command_reaches_the_engine_with_the_identity_and_its_reply_is_shown() {
    let mut rig = start(true);
    rig.shows("Wall").await;
    rig.type_line(":fault STA-core-a cpu-high 95 for 30s");
    let request = tokio::time::timeout(PATIENCE, rig.requests.recv())
        .await
        .expect("a request in time")
        .expect("a request");
    assert_eq!(request.identity, rig.identity);
    assert_eq!(
        request.command,
        Command::fault(
            "STA-core-a",
            FaultKind::CpuHigh(95),
            Some(Duration::from_secs(30))
        )
    );
    rig.shows("sending: fault STA-core-a cpu-high 95 for 30s")
        .await;
    request
        .reply
        .send(Ok(Done::FaultSet {
            target: "STA-core-a".to_owned(),
            fault: FaultKind::CpuHigh(95),
            duration: Some(Duration::from_secs(30)),
            detail: "STA-core-a: cpu-high 95 for 30s".to_owned(),
        }))
        .unwrap();
    rig.shows("fault STA-core-a cpu-high 95 for 30s: STA-core-a: cpu-high 95 for 30s")
        .await;

    // A refusal reads as one.
    rig.type_line(":maint STA-acc-01 2h swap the PSU");
    let request = tokio::time::timeout(PATIENCE, rig.requests.recv())
        .await
        .unwrap()
        .unwrap();
    request
        .reply
        .send(Err(Refusal::Forbidden {
            needed: Role::DutyManager,
            held: Role::Operator,
        }))
        .unwrap();
    rig.shows("maintenance on STA-acc-01 for 2h: swap the PSU: refused: needs role duty_manager, you are operator")
        .await;
    rig.ctrl('c');
    rig.ends().await;
}

#[tokio::test]
async fn the_demo_key_faults_the_selected_venue_in_steps() {
    let mut rig = start(true);
    rig.shows("Wall").await;
    // The first tile (worst first) is selected: RGA.
    rig.key(KeyCode::Char('f'));
    let request = tokio::time::timeout(PATIENCE, rig.requests.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        request.command,
        Command::fault("RGA-core-a", FaultKind::Down, None)
    );
    request
        .reply
        .send(Ok(Done::FaultSet {
            target: "RGA-core-a".to_owned(),
            fault: FaultKind::Down,
            duration: None,
            detail: "RGA-core-a down".to_owned(),
        }))
        .unwrap();
    rig.shows("demo 1/4: RGA-core-a down: RGA-core-a down")
        .await;
    rig.key(KeyCode::Char('q'));
    rig.ends().await;
}

#[tokio::test]
async fn a_new_snapshot_is_drawn_and_a_lost_engine_keeps_the_last_one() {
    let mut rig = start(false);
    rig.shows("Wall  49 venues").await;
    let snapshots = rig.snapshots.take().expect("sender");
    snapshots.send(Arc::new(games::small())).unwrap();
    rig.shows("Wall  2 venues").await;
    // The engine goes away: the console says so and keeps the wall.
    drop(snapshots);
    let screen = rig.shows("link LOST").await;
    assert!(screen.contains("Wall  2 venues"), "{screen}");
    // It still answers keys.
    rig.type_line(":venue sta");
    rig.shows("Stade de France · Saint-Denis").await;
    rig.key(KeyCode::Char('q'));
    rig.shows(App::QUIT_QUESTION).await;
    rig.key(KeyCode::Char('y'));
    rig.ends().await;
}

#[tokio::test]
async fn idle_it_draws_about_once_a_second_and_the_end_of_input_ends_it() {
    let mut rig = start(false);
    rig.shows("Wall").await;
    let before = rig.frames.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let drawn = rig.frames.load(Ordering::SeqCst) - before;
    // The clock changes twice or three times; nothing else does.
    assert!(drawn <= 4, "{drawn} frames in 2.5 s of nothing");
    let Rig { keys, console, .. } = rig;
    drop(keys);
    tokio::time::timeout(PATIENCE, console)
        .await
        .expect("ends when the input ends")
        .unwrap()
        .unwrap();
}
