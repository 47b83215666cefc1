//! The console's view state (`App`) against the real engine, simulator
//! and poller of `toc demo` (`Live::demo` over real sockets): the check
//! key, and the demo key reading the faults the engine says are in force.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use support::engine::{all_ok, quick, small, wait_for};
use toc::console::app::MessageKind;
use toc::console::{App, Effect};
use toc::engine::{EngineHandle, EventKind, Snapshot};
use toc::runtime::Live;

fn key(app: &mut App, snap: &Snapshot, code: KeyCode) -> Effect {
    app.on_key(&KeyEvent::new(code, KeyModifiers::NONE), snap)
}

fn typed(app: &mut App, snap: &Snapshot, text: &str) {
    for c in text.chars() {
        key(app, snap, KeyCode::Char(c));
    }
}

/// Sends what an effect asks, as the console's sender does, and gives
/// the answers back to the app; returns how many commands it sent.
async fn run(app: &mut App, handle: &EngineHandle, effect: Effect) -> usize {
    let Effect::Send { label, commands } = effect else {
        panic!("no command: {effect:?}");
    };
    let n = commands.len();
    let mut replies = Vec::new();
    for command in commands {
        replies.push(handle.send(command).await);
    }
    app.on_reply(&label, &replies);
    n
}

fn history_len(s: &Snapshot, id: &str) -> usize {
    let d = s.layout.device(id).expect("device");
    s.device(d).expect("state").history.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_check_key_shows_the_result_at_once_and_puts_it_in_the_history() {
    // Every device is checked every 30 s: a new result within seconds
    // can only be the check asked for.
    let live = Live::demo(small(), quick(30_000))
        .await
        .expect("demo starts");
    let h = live.handle();
    let snap = wait_for(&h, Duration::from_secs(15), "all OK", all_ok).await;
    let mut app = App::new(h.identity().clone(), false, true);
    typed(&mut app, &snap, ":device MRN-core");
    key(&mut app, &snap, KeyCode::Enter);
    let before = history_len(&snap, "MRN-core");
    let effect = key(&mut app, &snap, KeyCode::Char('c'));
    run(&mut app, &h, effect).await;
    assert_eq!(
        app.message().map(|m| m.text.as_str()),
        Some("check MRN-core now: MRN-core: checking now")
    );
    let s = wait_for(&h, Duration::from_secs(5), "the check's result", |s| {
        history_len(s, "MRN-core") > before
    })
    .await;
    app.on_snapshot(&s);
    let m = app.message().cloned().expect("a message");
    assert_eq!(m.kind, MessageKind::Info);
    assert!(
        m.text.starts_with("MRN-core checked now: ✔ OK in "),
        "{}",
        m.text
    );
    live.shutdown().await;
}

fn commands_in_ticker(s: &Snapshot) -> usize {
    s.ticker
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Command { .. }))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_key_reads_the_faults_in_force_and_each_press_is_one_ticker_line() {
    let live = Live::demo(small(), quick(100)).await.expect("demo starts");
    let h = live.handle();
    let snap = wait_for(&h, Duration::from_secs(10), "all OK", all_ok).await;
    assert!(snap.faults.is_empty(), "{:?}", snap.faults);
    let mut app = App::new(h.identity().clone(), false, true);
    typed(&mut app, &snap, ":venue STA");
    key(&mut app, &snap, KeyCode::Enter);
    let mut presses = 0;
    let mut faults_seen = Vec::new();
    let mut snap = snap;
    // Press until the venue is clear again: each press is one command,
    // and the engine's faults decide the next.
    loop {
        let effect = key(&mut app, &snap, KeyCode::Char('f'));
        assert_eq!(run(&mut app, &h, effect).await, 1, "one command a press");
        presses += 1;
        snap = wait_for(
            &h,
            Duration::from_secs(5),
            "the command in the ticker",
            |s| commands_in_ticker(s) == presses,
        )
        .await;
        faults_seen.push(snap.faults.len());
        if snap.faults.is_empty() || presses == 6 {
            break;
        }
    }
    assert_eq!(
        faults_seen,
        [1, 2, 3, 0],
        "a member down, both, the uplink too, all clear"
    );
    // Pressed again with a fault set by hand: the key clears it.
    h.send(support::engine::fault("STA-timing", "down"))
        .await
        .expect("applied");
    let snap = wait_for(&h, Duration::from_secs(5), "the fault known", |s| {
        s.faults.len() == 1
    })
    .await;
    let Effect::Send { label, .. } = key(&mut app, &snap, KeyCode::Char('f')) else {
        panic!("no command");
    };
    assert!(label.contains("back to normal"), "{label}");
    live.shutdown().await;
}
