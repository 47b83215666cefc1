//! What a duty manager set survives a restart of the engine on the same
//! data folder: a maintenance window set from the console (and its
//! lifting), the timeline of an open incident, and the newest commands of
//! `:audit`. Real simulator, poller, SQLite store and audit log.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::time::Duration;

use support::engine::{device, fault, quick, small, wait_for};
use toc::engine::{Command, IncidentCommand, Refusal, TimelineKind};
use toc::model::Status;
use toc::runtime::Live;

const PATIENCE: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintenance_timelines_and_the_audit_come_back_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut tuning = quick(300);
    tuning.data_dir = Some(dir.path().to_path_buf());
    let (id, commands_before) = first_run(tuning.clone()).await;
    // Again, on the same folder.
    let live = Live::demo(small(), tuning)
        .await
        .expect("demo starts again");
    let h = live.handle();
    let snap = wait_for(&h, PATIENCE, "the window back", |s| {
        device(s, "MRN-ovr-a") == Status::Maintenance
            && device(s, "MRN-ovr-b") == Status::Maintenance
    })
    .await;
    let window = snap
        .maintenance
        .iter()
        .find(|m| m.target == "MRN-ovr")
        .expect("the window is in force");
    assert_eq!(window.reason, "overlay rack moves");
    assert_eq!(window.by, h.identity().user);
    let incident = snap
        .incidents
        .iter()
        .find(|i| i.id.to_string() == id)
        .expect("the incident is kept");
    let kinds: Vec<TimelineKind> = incident.timeline.iter().map(|e| e.kind).collect();
    assert_eq!(kinds.first(), Some(&TimelineKind::Opened), "{kinds:?}");
    assert!(
        incident
            .timeline
            .iter()
            .any(|e| e.kind == TimelineKind::Note && e.text == "timing van on its way"),
        "{:?}",
        incident.timeline
    );
    assert!(
        snap.audit.len() >= commands_before,
        "{} < {commands_before}",
        snap.audit.len()
    );
    assert!(
        snap.audit
            .iter()
            .any(|r| !r.applied && r.text == "maintenance off STA")
    );
    // Lifted: gone, and gone after the next restart too.
    h.send(Command::end_maintenance("MRN-ovr"))
        .await
        .expect("lifted");
    wait_for(&h, PATIENCE, "out of maintenance", |s| {
        s.maintenance.iter().all(|m| m.target != "MRN-ovr")
            && device(s, "MRN-ovr-a") != Status::Maintenance
    })
    .await;
    live.shutdown().await;
    let reader = toc::store::Reader::open(&dir.path().join("toc.db")).expect("store");
    let kept = reader
        .maintenance(std::time::SystemTime::now())
        .expect("maintenance");
    assert!(kept.iter().all(|m| m.target != "MRN-ovr"), "{kept:?}");
}

/// Sets a window on MRN-ovr, is refused once, notes an incident on
/// STA-timing; its id and how many commands `:audit` held.
async fn first_run(tuning: toc::runtime::live::Tuning) -> (String, usize) {
    let live = Live::demo(small(), tuning.clone())
        .await
        .expect("demo starts");
    let h = live.handle();
    // A group in maintenance: its members show MAINTENANCE.
    let done = h
        .send(Command::maintenance(
            "MRN-ovr",
            Duration::from_secs(3600),
            "overlay rack moves",
        ))
        .await
        .expect("a duty manager may");
    assert_eq!(
        done.to_string(),
        "MRN-ovr: maintenance on for 1h (2 devices)"
    );
    // A refusal, for the audit.
    let why = h
        .send(Command::end_maintenance("STA"))
        .await
        .expect_err("nothing set on STA");
    assert!(
        matches!(&why, Refusal::Invalid(w) if w.contains("no maintenance set")),
        "{why}"
    );
    // An incident with a note.
    h.send(fault("STA-timing", "down")).await.expect("fault");
    let snap = wait_for(&h, PATIENCE, "STA-timing incident", |s| {
        s.incidents.iter().any(|i| i.subject == "STA-timing")
    })
    .await;
    let id = snap
        .incidents
        .iter()
        .find(|i| i.subject == "STA-timing")
        .unwrap()
        .id
        .to_string();
    h.send(Command::Incident(IncidentCommand::Note {
        which: id.clone(),
        text: "timing van on its way".into(),
    }))
    .await
    .expect("note");
    let snap = wait_for(&h, PATIENCE, "the note in the timeline", |s| {
        s.incidents.iter().any(|i| {
            i.id.to_string() == id && i.timeline.iter().any(|e| e.kind == TimelineKind::Note)
        })
    })
    .await;
    assert_eq!(device(&snap, "MRN-ovr-a"), Status::Maintenance);
    assert!(
        snap.audit.iter().any(|r| !r.applied),
        "the refusal is in :audit"
    );
    let commands_before = snap.audit.len();
    live.shutdown().await;
    (id, commands_before)
}
