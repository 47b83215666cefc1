//! The console's test Games (`support::games`) has the problems it
//! promises, the way the real engine shows them, at every size the tests
//! and benches use, to the byte the same on every call.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::sync::OnceLock;

use support::games::{self, GAMES_DEVICES, PLANS};
use toc::engine::{EventKind, Snapshot};
use toc::model::ProblemKind;
use toc::model::{StateType, Status};

/// The Games at bench size, built once.
fn big() -> &'static Snapshot {
    static BIG: OnceLock<Snapshot> = OnceLock::new();
    BIG.get_or_init(|| games::games(10_000))
}

fn status(snap: &Snapshot, code: &str) -> Status {
    snap.venues[games::venue(snap, code)].eval.status
}

fn codes_with(snap: &Snapshot, status: Status) -> Vec<&str> {
    snap.layout
        .venues
        .iter()
        .zip(&snap.venues)
        .filter(|(_, v)| v.eval.status == status)
        .map(|(info, _)| info.code.as_str())
        .collect()
}

#[test]
fn every_planned_problem_finds_its_devices() {
    for n in [GAMES_DEVICES, 10_000] {
        let inv = games::inventory(games::VENUES, n);
        let (plans, unused) = games::plans(&inv);
        let unused: Vec<_> = unused.iter().map(|&i| (PLANS[i].0, PLANS[i].1)).collect();
        assert!(unused.is_empty(), "{n} devices: no device for {unused:?}");
        assert!(plans.iter().any(Option::is_none), "most devices are fine");
    }
}

#[test]
fn the_problems_are_there_at_every_size() {
    for snap in [games::standard(), big().clone()] {
        let n = snap.layout.devices.len();
        assert_eq!(
            codes_with(&snap, Status::Degraded),
            ["PDP", "BCY", "LDA", "INV", "SQV", "LIL"],
            "{n} devices"
        );
        assert_eq!(
            codes_with(&snap, Status::Down),
            ["STA", "RGA", "GPL", "GGU"],
            "{n} devices"
        );
        assert_eq!(codes_with(&snap, Status::Unknown), ["CDM", "CDG"]);
        assert_eq!(codes_with(&snap, Status::Maintenance), ["TEA"]);
    }
}

#[test]
fn deterministic() {
    assert_eq!(games::games(GAMES_DEVICES), games::standard());
    assert_eq!(games::small(), games::small());
}

#[test]
fn sizes() {
    let snap = big();
    assert_eq!(snap.layout.venues.len(), 49);
    let n = snap.layout.devices.len();
    assert_eq!(n, 10_000);
    assert_eq!(snap.devices.len(), n);
    assert_eq!(snap.venues.len(), 49);
    assert_eq!(snap.groups.len(), snap.layout.groups.len());
    let small = games::small();
    assert_eq!(small.layout.venues.len(), 2);
    assert_eq!(small.layout.devices.len(), 40);
    assert!(small.host.is_none());
    assert_eq!(status(&small, "STA"), Status::Down);
    assert_eq!(status(&small, "PDP"), Status::Degraded);
    assert_eq!(games::standard().layout.devices.len(), GAMES_DEVICES);
    assert_eq!(snap.at, games::ago(1));
    assert_eq!(snap.started, games::ago(games::UPTIME_SECS));
}

#[test]
fn has_the_problems_it_promises() {
    let snap = games::standard();
    assert_eq!(status(&snap, "STA"), Status::Down);
    assert_eq!(status(&snap, "PDP"), Status::Degraded);
    assert_eq!(status(&snap, "RGA"), Status::Down);
    assert_eq!(status(&snap, "BCY"), Status::Degraded);
    assert_eq!(
        status(&snap, "GPL"),
        Status::Down,
        "the scoreboard is critical"
    );
    assert_eq!(status(&snap, "CDM"), Status::Unknown);
    assert_eq!(status(&snap, "GGU"), Status::Down);
    assert_eq!(status(&snap, "TEA"), Status::Maintenance);
    assert_eq!(status(&snap, "CDG"), Status::Unknown);
    assert_eq!(status(&snap, "GOL"), Status::Ok);
    assert_eq!(snap.wall, Status::Down);
    for s in Status::ALL {
        assert!(
            snap.devices.iter().any(|d| d.status == s),
            "no device {s:?}"
        );
    }
    let pdp = &snap.devices[games::device(&snap, "PDP-acc-02")];
    assert_eq!(
        (pdp.status, pdp.raw, pdp.state_type, pdp.attempt),
        (Status::Ok, Status::Down, StateType::Soft, 2)
    );
    assert!(
        snap.devices[games::device(&snap, "BCY-acc-03")]
            .flapping
            .is_some()
    );
    assert!(!snap.incidents.is_empty());
    let total: usize = snap.venues.iter().map(|v| v.incidents).sum();
    assert_eq!(total, snap.incidents.len());
    assert!(snap.ticker.len() > 10);
    assert!(snap.ticker.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(
        snap.incidents
            .windows(2)
            .all(|w| w[0].severity.severity() >= w[1].severity.severity())
    );
    assert!(snap.host.is_some());
}

#[test]
fn a_lost_link_makes_what_is_behind_it_unreachable_without_incidents() {
    let snap = games::standard();
    for (code, roots) in [
        ("STA", "unreachable: STA-core-a DOWN, STA-core-b DOWN"),
        ("RGA", "unreachable: RGA-rtr-a DOWN, RGA-rtr-b DOWN"),
    ] {
        let v = games::venue(&snap, code);
        let unreachable: Vec<usize> = snap.layout.venues[v]
            .devices
            .iter()
            .map(|d| d.0)
            .filter(|&d| snap.devices[d].status == Status::Unreachable)
            .collect();
        assert!(unreachable.len() > 20, "{code}: {}", unreachable.len());
        for d in unreachable {
            let id = &snap.layout.devices[d].id;
            assert_eq!(snap.devices[d].reason.as_deref(), Some(roots), "{id}");
            assert!(snap.incidents.iter().all(|i| &i.subject != id), "{id}");
        }
    }
    // No device incident came and went on the way.
    assert!(
        !snap.ticker.iter().any(|e| matches!(&e.kind,
            EventKind::IncidentResolved { title, .. } if title.contains(" down: "))),
        "a device incident came and went"
    );
}

#[test]
fn the_ticker_tells_the_operator_story() {
    let snap = games::standard();
    let wlc = games::device(&snap, "LDA-wlc");
    let core_b = games::device(&snap, "BCY-core-b");
    let has = |f: &dyn Fn(&EventKind) -> bool| snap.ticker.iter().any(|e| f(&e.kind));
    assert!(has(&|k| matches!(k, EventKind::Command { user, text }
        if user == "alice" && text == "LDA-wlc: maintenance on")));
    assert_eq!(snap.devices[wlc].status, Status::Maintenance);
    assert!(has(&|k| matches!(k, EventKind::Note { device, text }
        if device.0 == core_b && text.starts_with("rebooted: "))));
    assert!(has(&|k| matches!(
        k,
        EventKind::Flapping { started: true, .. }
    )));
    let kinds: Vec<ProblemKind> = snap.incidents.iter().map(|i| i.key.kind).collect();
    for kind in [
        ProblemKind::DeviceDown,
        ProblemKind::DeviceDegraded,
        ProblemKind::DeviceUnknown,
        ProblemKind::RedundancyLost,
        ProblemKind::GroupDown,
    ] {
        assert!(kinds.contains(&kind), "no {kind:?} incident");
    }
}
