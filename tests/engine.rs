//! The engine against the simulated venues over real sockets: detection
//! latency, commands with identities and roles, the audit log and events.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::time::Duration;

use toc::engine::{Command, EventKind, Identity, Refusal, Role};
use toc::model::{ProblemKind, Status};
use toc::runtime::Live;

use support::engine::{all_ok, device, fault, quick, small, venue, wait_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_member_lost_is_orange_both_red_and_uplink_makes_children_unreachable() {
    let live = Live::demo(small(), quick(100)).await.expect("demo starts");
    let h = live.handle();
    wait_for(&h, Duration::from_secs(10), "all OK", all_ok).await;

    h.send(fault("STA-ovr-a", "down")).await.expect("applied");
    let s = wait_for(&h, Duration::from_secs(5), "STA orange", |s| {
        venue(s, "STA") == Status::Degraded
    })
    .await;
    assert!(
        s.incidents
            .iter()
            .any(|i| i.key.kind == ProblemKind::RedundancyLost && i.subject == "STA-ovr")
    );
    assert_eq!(venue(&s, "MRN"), Status::Ok);

    h.send(fault("STA-ovr-b", "down")).await.expect("applied");
    wait_for(&h, Duration::from_secs(5), "STA red", |s| {
        venue(s, "STA") == Status::Down
    })
    .await;

    let cleared = h
        .send(Command::clear_faults(Some("STA".to_owned())))
        .await
        .expect("cleared");
    assert_eq!(
        cleared.to_string(),
        "STA: 2 fault(s) cleared",
        "a venue code clears its devices"
    );
    wait_for(&h, Duration::from_secs(5), "all OK again", all_ok).await;

    let reply = h.send(fault("STA", "uplink-down")).await.expect("applied");
    assert!(reply.to_string().contains("uplink-down"), "{reply}");
    let s = wait_for(&h, Duration::from_secs(5), "children unreachable", |s| {
        device(s, "STA-core") == Status::Unreachable && device(s, "STA-rtr-a") == Status::Down
    })
    .await;
    assert_eq!(venue(&s, "STA"), Status::Down);
    assert!(
        s.incidents.iter().all(|i| i.subject != "STA-core"),
        "an unreachable child has no incident: {:?}",
        s.incidents
    );
    live.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(
    clippy::too_many_lines,
    reason = "one story: every refusal, then the audit"
)]
async fn commands_are_checked_against_role_and_scope_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let mut tuning = quick(500);
    tuning.data_dir = Some(dir.path().to_path_buf());
    let live = Live::demo(small(), tuning).await.expect("demo starts");
    let local = live.handle();
    let viewer = live.handle_for(Identity {
        user: "vera".to_owned(),
        role: Role::Viewer,
        venues: Vec::new(),
    });
    let tech = live.handle_for(Identity {
        user: "theo".to_owned(),
        role: Role::Technician,
        venues: vec!["MRN".to_owned()],
    });
    let op = live.handle_for(Identity {
        user: "olga".to_owned(),
        role: Role::Operator,
        venues: vec!["MRN".to_owned()],
    });
    let mut events = local.events();

    assert_eq!(
        viewer.send(fault("STA-core", "down")).await,
        Err(Refusal::Forbidden {
            needed: Role::Operator,
            held: Role::Viewer
        })
    );
    assert!(matches!(
        tech.send(fault("MRN-core", "down")).await,
        Err(Refusal::Forbidden { .. })
    ));
    assert_eq!(
        op.send(fault("STA-core", "down")).await,
        Err(Refusal::OutOfScope("STA-core".to_owned()))
    );
    assert_eq!(
        op.send(Command::clear_faults(None)).await,
        Err(Refusal::OutOfScope("every venue".to_owned()))
    );
    assert!(matches!(
        op.send(fault("MRN-core", "uplink-down")).await,
        Err(Refusal::Invalid(why)) if why.contains("takes a venue code")
    ));
    assert!(matches!(
        op.send(fault("MRN-nope", "down")).await,
        Err(Refusal::OutOfScope(_))
    ));
    let done = op.send(fault("MRN-core", "down")).await.expect("in scope");
    assert_eq!(done.to_string(), "MRN-core: down");
    let m = local
        .send(Command::maintenance(
            "STA-timing",
            Duration::from_secs(3600),
            "timing rack moves",
        ))
        .await
        .expect("duty manager may");
    assert_eq!(m.to_string(), "STA-timing: maintenance on for 1h");
    let s = wait_for(&local, Duration::from_secs(5), "maintenance", |s| {
        device(s, "STA-timing") == Status::Maintenance
    })
    .await;
    assert!(s.ticker.iter().any(|e| matches!(
        &e.kind,
        EventKind::Command { user, text } if user == "olga" && text == "MRN-core: down"
    )));
    let ev = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Ok(e) = events.recv().await
                && matches!(e.kind, EventKind::Command { .. })
            {
                return e;
            }
        }
    })
    .await
    .expect("a command event on the broadcast channel");
    assert!(matches!(ev.kind, EventKind::Command { ref user, .. } if user == "olga"));

    let run = std::fs::read_to_string(dir.path().join("runs")).expect("runs");
    assert_eq!(run.trim(), "1", "the first run");
    assert!(
        s.incidents.iter().all(|i| i.id.run == 1),
        "incident ids carry the run: {:?}",
        s.incidents
    );
    // Shutting down syncs the audit log.
    live.shutdown().await;
    let audit = std::fs::read_to_string(dir.path().join("audit.log")).expect("audit log");
    let lines: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 8, "{audit}");
    assert_eq!(lines[0]["user"], "vera");
    assert_eq!(lines[0]["role"], "viewer");
    assert!(
        lines[0]["outcome"]
            .as_str()
            .unwrap()
            .contains("needs role operator")
    );
    assert_eq!(lines[0]["applied"], false);
    assert_eq!(lines[6]["outcome"], "MRN-core: down");
    assert_eq!(lines[6]["applied"], true);
    assert_eq!(lines[6]["request"]["subject"], "sim");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_are_refused_outside_a_demo_and_a_dead_engine_says_so() {
    let mut inv = small();
    // Nothing listens here: every check fails, which is fine for this test.
    for d in &mut inv.devices {
        d.poll_interval = Duration::from_secs(60);
    }
    let live = Live::run(inv, quick(60_000)).expect("starts");
    let h = live.handle();
    assert!(matches!(
        h.send(fault("STA-core", "down")).await,
        Err(Refusal::Unsupported(why)) if why.contains("toc demo")
    ));
    live.shutdown().await;
    assert_eq!(
        h.send(fault("STA-core", "down")).await,
        Err(Refusal::Unavailable)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_now_checks_at_once_instead_of_at_the_next_slot() {
    // Every device is checked every 30 s: without check-now, three
    // failures would take a minute and a half to turn hard.
    let live = Live::demo(small(), quick(30_000))
        .await
        .expect("demo starts");
    let h = live.handle();
    wait_for(&h, Duration::from_secs(15), "all OK", all_ok).await;
    // An SNMP agent: the fault holds from the next datagram on.
    h.send(fault("MRN-core", "down")).await.expect("applied");
    for attempt in 1..=3 {
        let done = h
            .send(Command::check_now("MRN-core"))
            .await
            .expect("a duty manager may check");
        assert_eq!(done.to_string(), "MRN-core: checking now");
        wait_for(&h, Duration::from_secs(5), "the next attempt", |s| {
            let i = s.layout.device("MRN-core").expect("device");
            s.device(i).expect("state").attempt >= attempt
        })
        .await;
    }
    let s = wait_for(&h, Duration::from_secs(5), "MRN-core down", |s| {
        device(s, "MRN-core") == Status::Down
    })
    .await;
    assert!(
        s.incidents.iter().any(|i| i.subject == "MRN-core"),
        "{:?}",
        s.incidents
    );
    // A venue code checks every device of the venue.
    let done = h.send(Command::check_now("MRN")).await.expect("venue");
    assert!(done.to_string().starts_with("MRN: checking "), "{done}");
    assert!(matches!(
        h.send(Command::check_now("NOPE")).await,
        Err(Refusal::Invalid(why)) if why.contains("no device or venue")
    ));
    live.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_audit_log_stops_every_change_and_the_ticker_says_so() {
    // The audit log is a real file on a full disk: /dev/full takes the
    // open and refuses every write (ENOSPC).
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/dev/full", dir.path().join("audit.log")).unwrap();
    let mut tuning = quick(500);
    tuning.data_dir = Some(dir.path().to_path_buf());
    let live = Live::demo(small(), tuning).await.expect("demo starts");
    let h = live.handle();
    // Even the first change is refused: it is applied only once its
    // record is on disk, and it cannot be written.
    let why = match h
        .send(Command::maintenance(
            "MRN-scb",
            Duration::from_secs(60),
            "x",
        ))
        .await
    {
        Err(Refusal::AuditFailing(why)) => why,
        other => panic!("a change without its record: {other:?}"),
    };
    assert!(why.contains("audit.log"), "{why}");
    assert!(matches!(
        h.send(Command::maintenance(
            "MRN-scb",
            Duration::from_secs(120),
            "y"
        ))
        .await,
        Err(Refusal::AuditFailing(_))
    ));
    // Looking and checking go on.
    h.send(Command::check_now("MRN"))
        .await
        .expect("a check changes nothing");
    let s = wait_for(&h, Duration::from_secs(5), "the ticker says so", |s| {
        s.ticker
            .iter()
            .any(|e| matches!(&e.kind, EventKind::Audit { failing: true, .. }))
    })
    .await;
    assert_ne!(
        device(&s, "MRN-scb"),
        Status::Maintenance,
        "no refused change was applied"
    );
    live.shutdown().await;
}
