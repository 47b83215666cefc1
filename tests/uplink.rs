//! The story of an uplink failure, with the real engine, poller and
//! simulator on loopback: a venue whose uplink goes is one incident (the
//! uplink), nothing behind it ever shows DOWN, during the fault or the
//! recovery, and the wall is green again once the routers answer.
//!
//! A watcher reads every snapshot and event the engine publishes while the
//! story runs; incident ids count every incident ever opened, so one that
//! came and went between two snapshots is still counted. The same story
//! for every venue of a 10,000-device Games is in `uplink_all.rs` (a
//! binary of its own, so the two never share the machine).
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::time::Duration;

use toc::model::Status;
use toc::runtime::Live;

use support::engine::{all_ok, wait_for};
use support::uplink::{Watcher, last_incident, synth, tuning, uplink_story};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uplink_failure_at_several_venues_is_one_incident_each() {
    let inv = synth(12, 400);
    let live = Live::demo(inv, tuning(1_000, 200))
        .await
        .expect("demo starts");
    let handle = live.handle();
    let watcher = Watcher::start(&handle);
    let start = wait_for(&handle, Duration::from_secs(30), "every device OK", all_ok).await;
    let before = watcher.last_incident(&start);
    let codes = ["STA", "PDP", "BCY"];
    let (during, after) = uplink_story(&handle, &codes, Duration::from_secs(30)).await;
    // Give the last events time to reach the watcher.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut subjects: Vec<&str> = during
        .incidents
        .iter()
        .map(|i| i.subject.as_str())
        .collect();
    subjects.sort_unstable();
    assert_eq!(subjects, ["BCY-uplink", "PDP-uplink", "STA-uplink"]);
    for i in during.incidents.iter() {
        assert_eq!(i.severity, Status::Down, "{}", i.title);
    }
    let opened = watcher.opened_after(before);
    assert_eq!(
        opened.len(),
        3,
        "one incident per venue, opened once: {opened:?}"
    );
    assert_eq!(last_incident(&during), before + 3);
    {
        let seen = watcher.seen();
        assert_eq!(seen.lagged, 0, "the watcher missed events");
        assert!(
            seen.children_down.is_empty(),
            "children shown DOWN: {:?}",
            seen.children_down
        );
        assert!(
            seen.child_events.is_empty(),
            "children DOWN on the ticker: {:?}",
            seen.child_events
        );
        assert!(
            seen.groups_down.is_empty(),
            "groups behind the routers shown DOWN: {:?}",
            seen.groups_down
        );
        assert!(seen.snapshots > 3, "the watcher read {}", seen.snapshots);
    }
    // Groups behind the routers were UNREACHABLE, not DOWN, during the
    // outage.
    let fw = during
        .layout
        .groups
        .iter()
        .position(|g| g.id == "STA-fw")
        .expect("STA-fw");
    assert_eq!(during.groups[fw].status, Status::Unreachable);
    assert!(after.devices.iter().all(|d| d.status == Status::Ok));
    drop(watcher);
    live.shutdown().await;
}
