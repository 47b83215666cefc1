//! The console on its own thread (`toc::runtime::console`): commands go
//! to the engine one at a time in the order typed, each after the answer
//! to the one before; a stop request ends it; a console stuck writing to a
//! terminal that does not read is left behind after a bounded wait.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "support/games.rs"]
mod games;
#[path = "support/screen.rs"]
mod screen;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use futures_util::Stream;
use toc::console::ConsoleOptions;
use toc::engine::{
    Command, Done, EngineHandle, FaultKind, Identity, Link, Request, Role, SimCommand,
};
use toc::runtime::console::{ConsoleThread, Ended};
use tokio::sync::{broadcast, mpsc, watch};

use screen::{Gate, Screen, Shown};

const PATIENCE: Duration = Duration::from_secs(20);

fn key_stream(
    rx: mpsc::UnboundedReceiver<Event>,
) -> impl Stream<Item = std::io::Result<Event>> + Unpin + Send + 'static {
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|event| (Ok(event), rx))
    }))
}

/// A console on its own thread over a handle made of our channels.
struct Rig {
    requests: mpsc::Receiver<Request>,
    keys: mpsc::UnboundedSender<Event>,
    shown: Shown,
    console: ConsoleThread,
    _snapshots: watch::Sender<Arc<toc::engine::Snapshot>>,
    _link: watch::Sender<Link>,
}

fn start(gate: Arc<Gate>) -> Rig {
    let (snapshots, snapshot_rx) = watch::channel(Arc::new(games::standard()));
    let (events, _) = broadcast::channel(16);
    let (request_tx, requests) = mpsc::channel(64);
    let (link, link_rx) = watch::channel(Link::Local);
    let identity = Identity {
        user: "olga".to_owned(),
        role: Role::Operator,
        venues: Vec::new(),
    };
    let handle = EngineHandle::new(snapshot_rx, events, request_tx, link_rx, identity);
    let (keys, key_rx) = mpsc::unbounded_channel();
    let (backend, shown) = Screen::new(100, 30, gate);
    let options = ConsoleOptions {
        color: true,
        mouse: false,
        demo: true,
        ..ConsoleOptions::default()
    };
    let console = screen::console_thread(backend, key_stream(key_rx), handle, options);
    Rig {
        requests,
        keys,
        shown,
        console,
        _snapshots: snapshots,
        _link: link,
    }
}

impl Rig {
    fn type_line(&self, text: &str) {
        for c in text.chars().chain(std::iter::once('\n')) {
            let code = if c == '\n' {
                KeyCode::Enter
            } else {
                KeyCode::Char(c)
            };
            self.keys
                .send(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
                .unwrap();
        }
    }

    async fn shows(&mut self, text: &str) -> String {
        let waited = tokio::time::timeout(PATIENCE, self.shown.text.wait_for(|s| s.contains(text)))
            .await
            .map(|r| r.map(|s| s.clone()));
        match waited {
            Ok(Ok(screen)) => screen,
            _ => panic!("never shown: {text}\n{}", self.shown.now()),
        }
    }
}

fn target(command: &Command) -> String {
    match command {
        Command::Sim(SimCommand::Fault(spec)) => format!("{} {}", spec.target, spec.fault),
        other => format!("{other:?}"),
    }
}

/// Five commands typed in a burst; the engine answers the first slowly
/// and the others at once. They must arrive in the order typed, none
/// before the answer to the one before, and the replies must be shown in
/// that order too (the last one shown is the last one typed).
#[tokio::test]
async fn commands_are_sent_and_answered_in_the_order_typed() {
    let mut rig = start(Gate::new());
    rig.shows("Wall").await;
    let typed: Vec<String> = (91..=95)
        .map(|v| format!(":fault STA-core-a cpu-high {v}"))
        .collect();
    for line in &typed {
        rig.type_line(line);
    }
    // The engine side: records what arrives, and whether it arrived while
    // an earlier command was still unanswered.
    let arrived = Arc::new(Mutex::new(Vec::<(String, bool)>::new()));
    let mut requests = std::mem::replace(&mut rig.requests, mpsc::channel(1).1);
    let log = Arc::clone(&arrived);
    let engine = tokio::spawn(async move {
        for n in 0..5 {
            let request = tokio::time::timeout(PATIENCE, requests.recv())
                .await
                .expect("a request in time")
                .expect("a request");
            // Was anything else already queued behind it?
            let overtaken = !requests.is_empty();
            log.lock()
                .unwrap()
                .push((target(&request.command), overtaken));
            if n == 0 {
                // A slow answer: a sender that does not wait would have
                // sent the rest meanwhile.
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            let Command::Sim(SimCommand::Fault(spec)) = &request.command else {
                panic!("not a fault: {:?}", request.command);
            };
            let FaultKind::CpuHigh(value) = spec.fault else {
                panic!("not cpu-high: {:?}", spec.fault);
            };
            request
                .reply
                .send(Ok(Done::FaultSet {
                    target: spec.target.clone(),
                    fault: spec.fault.clone(),
                    duration: None,
                    detail: format!("cpu at {value}"),
                }))
                .unwrap();
            // Give the console a moment to send the next one early, if
            // it would.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    engine.await.unwrap();
    let arrived = arrived.lock().unwrap().clone();
    let expected: Vec<(String, bool)> = (91..=95)
        .map(|v| (format!("STA-core-a cpu-high {v}"), false))
        .collect();
    assert_eq!(arrived, expected, "arrival order, and whether one overtook");
    rig.shows("fault STA-core-a cpu-high 95: cpu at 95").await;
    assert!(matches!(rig.console.stop(PATIENCE).await, Ended::Done));
}

/// A console blocked writing to a terminal that does not read: asked to
/// stop, it is given up on after the wait, and the wait is bounded.
#[tokio::test]
async fn a_console_stuck_on_a_dead_terminal_is_left_after_a_bounded_wait() {
    let gate = Gate::new();
    let mut rig = start(Arc::clone(&gate));
    rig.shows("Wall").await;
    gate.close();
    let t0 = Instant::now();
    while !gate.blocking() {
        assert!(t0.elapsed() < PATIENCE, "the console never drew again");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let t1 = Instant::now();
    let ended = rig.console.stop(Duration::from_millis(300)).await;
    let waited = t1.elapsed();
    assert!(matches!(ended, Ended::Stuck), "{ended:?}");
    assert!(
        waited < Duration::from_secs(2),
        "the stop waited {waited:?}"
    );
    // Let the thread go (it then sees the stop and returns).
    gate.open();
}
