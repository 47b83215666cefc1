//! Every venue of a 10,000-device Games loses its uplink at once, with
//! the real engine, poller and simulator on loopback (see `uplink.rs`).
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::time::Duration;

use toc::runtime::Live;

use support::engine::{all_ok, wait_for};
use support::uplink::{Watcher, last_incident, synth, tuning, uplink_story};

/// Every venue of a 10,000-device Games loses its uplink at once: 49
/// incidents, no more, and nothing behind a router ever DOWN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_uplink_at_once_at_ten_thousand_devices_is_forty_nine_incidents() {
    let inv = synth(49, 10_000);
    let codes: Vec<String> = inv.venues.iter().map(|v| v.code.clone()).collect();
    assert_eq!(codes.len(), 49);
    let live = Live::demo(inv, tuning(5_000, 1_000))
        .await
        .expect("demo starts");
    let handle = live.handle();
    let watcher = Watcher::start(&handle);
    let start = wait_for(&handle, Duration::from_secs(120), "every device OK", all_ok).await;
    let before = watcher.last_incident(&start);
    let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
    let (during, after) = uplink_story(&handle, &codes, Duration::from_secs(180)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(during.incidents.len(), 49, "{:?}", during.incidents);
    assert!(
        during
            .incidents
            .iter()
            .all(|i| i.subject.ends_with("-uplink"))
    );
    // Incident numbers are given in order: the highest open during the
    // outage is the last given then, whatever the watcher missed; any
    // opened during the recovery are in the events.
    let opened = last_incident(&during).max(watcher.last_incident(&after)) - before;
    assert_eq!(
        opened,
        49,
        "incident numbers used: {opened}; opened (as seen): {:?}",
        watcher.opened_after(before)
    );
    {
        let seen = watcher.seen();
        assert!(
            seen.children_down.is_empty(),
            "children shown DOWN: {:?}",
            seen.children_down
        );
        assert!(
            seen.groups_down.is_empty(),
            "groups behind the routers shown DOWN: {:?}",
            seen.groups_down
        );
    }
    drop(watcher);
    live.shutdown().await;
}
