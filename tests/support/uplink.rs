//! The uplink story's watcher: reads every snapshot and event the engine
//! publishes and notes what must never be seen (a child DOWN, a group
//! behind the routers DOWN), for `tests/uplink*.rs`.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use toc::config::{Inventory, SourceFile};
use toc::engine::{Command, EngineHandle, EventKind, Snapshot};
use toc::model::Status;
use toc::runtime::Tuning;

use super::engine::{fault, wait_for};

/// What the watcher saw go wrong.
#[derive(Debug, Default)]
pub struct Seen {
    /// "device at snapshot N" for every device with parents shown DOWN.
    pub children_down: BTreeSet<String>,
    /// Groups other than the venues' uplinks shown DOWN.
    pub groups_down: BTreeSet<String>,
    /// Device events to DOWN for devices with parents.
    pub child_events: BTreeSet<String>,
    /// Incidents opened (number in the run, title), from the events.
    pub opened: Vec<(u32, String)>,
    /// Events the watcher missed (the broadcast lagged).
    pub lagged: u64,
    /// Snapshots read.
    pub snapshots: u64,
}

/// Reads every snapshot and event until dropped.
pub struct Watcher {
    seen: Arc<Mutex<Seen>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Watcher {
    pub fn start(handle: &EngineHandle) -> Watcher {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let mut snaps = handle.watch();
        let s = Arc::clone(&seen);
        let watch = tokio::spawn(async move {
            loop {
                let snap = Arc::clone(&snaps.borrow_and_update());
                look(&snap, &s);
                if snaps.changed().await.is_err() {
                    return;
                }
            }
        });
        let mut events = handle.events();
        let snaps = handle.watch();
        let s = Arc::clone(&seen);
        let listen = tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(event) => {
                        let snap = Arc::clone(&snaps.borrow());
                        let mut seen = s.lock().unwrap();
                        if std::env::var_os("UPLINK_DEBUG").is_some() {
                            let name =
                                |d: toc::model::DeviceIdx| snap.layout.devices[d.0].id.clone();
                            match &event.kind {
                                EventKind::Device {
                                    device,
                                    from,
                                    to,
                                    reason,
                                } => eprintln!(
                                    "EV {:?} {} {from:?}->{to:?} {reason:?}",
                                    event.at,
                                    name(*device)
                                ),
                                k => eprintln!("EV {:?} {k:?}", event.at),
                            }
                        }
                        match event.kind {
                            EventKind::Device {
                                device,
                                to: Status::Down,
                                ..
                            } => {
                                let info = &snap.layout.devices[device.0];
                                if !info.parents.is_empty() {
                                    seen.child_events.insert(info.id.clone());
                                }
                            }
                            EventKind::IncidentOpened { id, title, .. } => {
                                seen.opened.push((id.n, title));
                            }
                            _ => {}
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        s.lock().unwrap().lagged += n;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        Watcher {
            seen,
            tasks: vec![watch, listen],
        }
    }

    pub fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn look(snap: &Snapshot, seen: &Mutex<Seen>) {
    let mut seen = seen.lock().unwrap();
    seen.snapshots += 1;
    for (info, d) in snap.layout.devices.iter().zip(&snap.devices) {
        if d.status == Status::Down && !info.parents.is_empty() {
            seen.children_down.insert(info.id.clone());
        }
    }
    for (info, g) in snap.layout.groups.iter().zip(&snap.groups) {
        if g.status == Status::Down && !info.id.ends_with("-uplink") {
            seen.groups_down.insert(format!("{} ({g})", info.id));
        }
    }
}

/// The highest incident number of the run so far.
pub fn last_incident(snap: &Snapshot) -> u32 {
    snap.incidents.iter().map(|i| i.id.n).max().unwrap_or(0)
}

impl Watcher {
    /// The highest incident number seen so far, in events or in `snap`.
    pub fn last_incident(&self, snap: &Snapshot) -> u32 {
        let seen = self.seen();
        seen.opened
            .iter()
            .map(|(n, _)| *n)
            .max()
            .unwrap_or(0)
            .max(last_incident(snap))
    }

    /// Titles of the incidents opened with a number above `n`.
    pub fn opened_after(&self, n: u32) -> Vec<String> {
        let seen = self.seen();
        seen.opened
            .iter()
            .filter(|(m, _)| *m > n)
            .map(|(_, t)| t.clone())
            .collect()
    }
}

pub fn synth(venues: usize, devices: usize) -> Inventory {
    let text = toc::sim::synth::games(venues, devices);
    let src = SourceFile::new(format!("synth-{venues}-{devices}.toml"), text);
    Inventory::parse(&src).expect("synth parses").0
}

pub fn tuning(interval_ms: u64, timeout_ms: u64) -> Tuning {
    Tuning {
        interval: Some(Duration::from_millis(interval_ms)),
        timeout: Some(Duration::from_millis(timeout_ms)),
        ..Tuning::default()
    }
}

/// Takes the uplinks of `codes` down, waits until every one is DOWN with
/// its venue, clears them and waits for the wall to be green; returns the
/// snapshot taken during the outage.
pub async fn uplink_story(
    handle: &EngineHandle,
    codes: &[&str],
    limit: Duration,
) -> (Arc<Snapshot>, Arc<Snapshot>) {
    for code in codes {
        handle
            .send(fault(code, "uplink-down"))
            .await
            .expect("fault applied");
    }
    let codes_owned: Vec<String> = codes.iter().map(|c| (*c).to_owned()).collect();
    let during = wait_for(handle, limit, "every uplink down", move |s| {
        codes_owned.iter().all(|code| {
            let v = s
                .layout
                .venues
                .iter()
                .position(|v| &v.code == code)
                .expect("venue");
            let venue = &s.venues[v];
            // Down, everything behind the routers unreachable.
            venue.eval.status == Status::Down
                && venue.eval.unreachable + venue.eval.down == venue.eval.total
        })
    })
    .await;
    for code in codes {
        handle
            .send(Command::clear_faults(Some((*code).to_owned())))
            .await
            .expect("cleared");
    }
    // Incidents resolve after the hold; their conditions are clear.
    let after = wait_for(handle, limit, "the wall green again", |s| {
        s.wall == Status::Ok && s.incidents.iter().all(|i| i.clear_since.is_some())
    })
    .await;
    (during, after)
}
