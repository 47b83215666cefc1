//! Detection latency, fault in the simulator to status in the engine's
//! snapshot, over real sockets. In a file of its own so that no other test
//! of this crate shares the machine with it while it measures.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use toc::engine::Command;
use toc::model::Status;
use toc::runtime::Live;

use support::engine::{all_ok, device, fault, quick, small, wait_for};

/// Fault in the simulator to status in the snapshot: at most
/// `interval x max_attempts + 100 ms`. The fault (every interface of a
/// device down) is answered at once, so the bound is the schedule's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detection_latency_is_within_interval_times_attempts_plus_100ms() {
    const INTERVAL: u64 = 200;
    let inv = small();
    let attempts = u64::from(inv.event.max_attempts);
    let live = Live::demo(inv, quick(INTERVAL)).await.expect("demo starts");
    let handle = live.handle();
    wait_for(&handle, Duration::from_secs(10), "every device OK", all_ok).await;
    let bound = Duration::from_millis(INTERVAL * attempts + 100);
    let mut seen = Vec::new();
    for id in ["STA-core", "MRN-core", "STA-rtr-a"] {
        let t0 = Instant::now();
        handle
            .send(fault(id, "if-down"))
            .await
            .expect("fault applied");
        wait_for(&handle, Duration::from_secs(5), id, |s| {
            device(s, id) == Status::Down
        })
        .await;
        let took = t0.elapsed();
        seen.push((id, took));
        handle
            .send(Command::clear_faults(Some(id.to_owned())))
            .await
            .expect("cleared");
        wait_for(&handle, Duration::from_secs(5), "recovery", all_ok).await;
    }
    eprintln!("fault to DOWN in the snapshot, bound {bound:?}: {seen:?}");
    for (id, took) in &seen {
        assert!(
            *took <= bound,
            "{id}: fault to DOWN in the snapshot took {took:?}, bound {bound:?} (all: {seen:?})"
        );
    }
    live.shutdown().await;
}
