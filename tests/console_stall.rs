//! A terminal that stops reading stalls only the console: simulator,
//! poller and engine (the `toc::runtime` wiring, on this test's
//! current-thread runtime, as in `toc demo`) go on detecting faults in
//! time while the console's thread is blocked in a `write`; released, the
//! console draws again and shows what happened. In a file of its own so
//! that no other test of this crate shares the machine while it measures.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "support/screen.rs"]
mod screen;
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use toc::console::ConsoleOptions;
use toc::engine::{Event, EventKind};
use toc::model::Status;
use toc::runtime::Live;
use toc::runtime::console::Ended;
use toc::sim::faults::Action;

use screen::{Gate, Screen};
use support::engine::{all_ok, device, quick, small, wait_for};

const INTERVAL_MS: u64 = 200;

/// Waits for the engine's event that device `id` went DOWN.
async fn down_event(
    events: &mut tokio::sync::broadcast::Receiver<Event>,
    index: usize,
    limit: Duration,
) -> Event {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("a DOWN event in time")
            .expect("the engine runs");
        if let EventKind::Device { device, to, .. } = &event.kind
            && device.0 == index
            && *to == Status::Down
        {
            return event;
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_blocked_terminal_does_not_delay_detection_and_the_console_catches_up() {
    let inventory = small();
    let attempts = u64::from(inventory.event.max_attempts);
    assert_eq!(attempts, 3);
    // Interval 200 ms, timeout 100 ms.
    let live = Live::demo(inventory, quick(INTERVAL_MS))
        .await
        .expect("demo starts");
    let handle = live.handle();
    let sim = live.sim.as_ref().expect("a demo has a simulator").state();
    wait_for(&handle, Duration::from_secs(10), "every device OK", all_ok).await;

    // The console on its own thread, drawing through a writer we block.
    let gate = Gate::new();
    let (backend, mut shown) = Screen::new(100, 30, Arc::clone(&gate));
    let console_handle = handle.clone();
    let options = ConsoleOptions {
        color: true,
        mouse: false,
        demo: true,
        ..ConsoleOptions::default()
    };
    let input = futures_util::stream::pending::<std::io::Result<crossterm::event::Event>>();
    let console = screen::console_thread(backend, input, console_handle, options);
    let first = tokio::time::timeout(
        Duration::from_secs(10),
        shown.text.wait_for(|s| s.contains("✔ OK")),
    )
    .await
    .expect("the console draws")
    .unwrap()
    .clone();
    assert!(!first.contains("DOWN"), "{first}");

    // The terminal stops reading: the console's next frame (the clock
    // ticks every second) blocks in `write`.
    gate.close();
    let t0 = Instant::now();
    while !gate.blocking() {
        assert!(t0.elapsed() < Duration::from_secs(5), "no frame written");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let blocked_at = Instant::now();
    let frames_blocked = shown.frames();

    // Faults through the simulator while the console is blocked.
    let bound = Duration::from_millis(INTERVAL_MS * attempts + 100);
    let mut events = handle.events();
    let if_down = Action::parse("if-down", None).unwrap();
    let snap = handle.snapshot();
    let mut seen = Vec::new();
    for id in ["STA-core", "MRN-core"] {
        let index = snap.layout.devices.iter().position(|d| d.id == id).unwrap();
        let injected = SystemTime::now();
        sim.apply(id, &if_down, None).expect("fault set");
        let event = down_event(&mut events, index, Duration::from_secs(5)).await;
        let took = event.at.duration_since(injected).unwrap_or_default();
        seen.push((id, took));
        wait_for(&handle, Duration::from_secs(1), id, |s| {
            device(s, id) == Status::Down
        })
        .await;
    }
    eprintln!("console blocked; fault to DOWN (engine event time), bound {bound:?}: {seen:?}");
    for (id, took) in &seen {
        assert!(
            *took <= bound,
            "{id}: fault to DOWN took {took:?} while the console was blocked, bound {bound:?}"
        );
    }
    // Still blocked: the console drew nothing meanwhile.
    tokio::time::sleep(Duration::from_secs(3).saturating_sub(blocked_at.elapsed())).await;
    assert!(gate.blocking(), "the console's write is still blocked");
    assert_eq!(shown.frames(), frames_blocked, "no frame while blocked");
    eprintln!("console blocked for {:?}", blocked_at.elapsed());

    // The terminal reads again: the console catches up.
    gate.open();
    let last = tokio::time::timeout(
        Duration::from_secs(10),
        shown
            .text
            .wait_for(|s| s.contains("✖ DOWN") && s.contains("STA") && s.contains("MRN")),
    )
    .await
    .map(|r| r.map(|s| s.clone()));
    let Ok(Ok(last)) = last else {
        panic!("the console never showed DOWN:\n{}", shown.now());
    };
    assert!(shown.frames() > frames_blocked);
    assert!(last.contains("DOWN"), "{last}");
    assert!(matches!(
        console.stop(Duration::from_secs(5)).await,
        Ended::Done
    ));
    live.shutdown().await;
}
