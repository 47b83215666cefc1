//! Helpers for the tests that run the engine against the simulator.

use std::sync::Arc;
use std::time::Duration;

use toc::config::venues::{Profile, Secret};
use toc::config::{Inventory, SourceFile};
use toc::engine::{Command, EngineHandle, FaultKind, Snapshot};
use toc::model::Status;
use toc::runtime::Tuning;

pub fn small() -> Inventory {
    small_with("")
}

/// [`small`] with `more` appended to the file (a `[relay]`, say).
pub fn small_with(more: &str) -> Inventory {
    let text = format!(
        "{}\n{more}",
        include_str!("../../examples/venues-small.toml")
    );
    let src = SourceFile::new("venues-small.toml", text);
    let mut inv = Inventory::parse(&src).expect("example parses").0;
    // The v3 profile reads its passphrases from the environment, which a
    // test cannot set: give simulator and poller the same literal ones.
    for profile in inv.profiles.values_mut() {
        if let Profile::V3 {
            auth_passphrase,
            privacy,
            ..
        } = profile
        {
            *auth_passphrase = Secret::Literal("engine-test-auth".to_owned());
            if let Some((_, s)) = privacy {
                *s = Secret::Literal("engine-test-priv".to_owned());
            }
        }
    }
    inv
}

/// Waits until `pred` holds for the latest snapshot; panics after `limit`.
pub async fn wait_for(
    handle: &EngineHandle,
    limit: Duration,
    what: &str,
    pred: impl Fn(&Snapshot) -> bool,
) -> Arc<Snapshot> {
    let mut rx = handle.watch();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let snap = Arc::clone(&rx.borrow_and_update());
        if pred(&snap) {
            return snap;
        }
        let changed = tokio::time::timeout_at(deadline, rx.changed()).await;
        if let Ok(done) = changed {
            assert!(done.is_ok(), "engine stopped while waiting for {what}");
        } else {
            panic!(
                "not within {limit:?}: {what}; wall {:?}, devices {:?}",
                snap.wall,
                snap.devices
                    .iter()
                    .zip(&snap.layout.devices)
                    .map(|(d, i)| format!("{} {} {:?}", i.id, d.status.word(), d.reason))
                    .collect::<Vec<_>>()
            );
        }
    }
}

pub fn device(snap: &Snapshot, id: &str) -> Status {
    let i = snap
        .layout
        .devices
        .iter()
        .position(|d| d.id == id)
        .expect("device exists");
    snap.devices[i].status
}

pub fn venue(snap: &Snapshot, code: &str) -> Status {
    let i = snap
        .layout
        .venues
        .iter()
        .position(|v| v.code == code)
        .expect("venue exists");
    snap.venues[i].eval.status
}

pub fn quick(interval_ms: u64) -> Tuning {
    Tuning {
        interval: Some(Duration::from_millis(interval_ms)),
        timeout: Some(Duration::from_millis(100)),
        ..Tuning::default()
    }
}

pub fn fault(target: &str, kind: &str) -> Command {
    Command::fault(
        target,
        FaultKind::parse(kind, None).expect("a fault kind"),
        None,
    )
}

pub fn all_ok(s: &Snapshot) -> bool {
    s.devices.iter().all(|d| d.status == Status::Ok)
}
