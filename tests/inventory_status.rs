//! The shipped inventory through the status model: what the wall shows
//! when a Stade de France core switch, both of them, or its uplink fail.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::Path;

use rstest::rstest;
use toc::config::Inventory;
use toc::model::{CheckResult, DeviceIdx, DeviceState, Evaluation, Policy, Status, evaluate};

struct Games {
    inv: Inventory,
    states: Vec<DeviceState>,
    policy: Policy,
}

impl Games {
    /// The shipped venues.toml with every device polled OK once.
    fn all_ok() -> Self {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("venues.toml");
        let (inv, _warnings) = Inventory::load(&path).expect("shipped venues.toml is valid");
        let policy = Policy {
            max_attempts: inv.event.max_attempts,
            flap_high: inv.event.flap_high,
            flap_low: inv.event.flap_low,
        };
        let mut states = vec![DeviceState::new(); inv.devices.len()];
        for s in &mut states {
            s.record(CheckResult::Ok, &policy);
        }
        Games {
            inv,
            states,
            policy,
        }
    }

    fn idx(&self, id: &str) -> DeviceIdx {
        self.inv
            .device(id)
            .unwrap_or_else(|| panic!("no device {id}"))
            .0
    }

    /// `times` consecutive failed checks of a device.
    fn fail(&mut self, id: &str, times: u32) {
        let i = self.idx(id).0;
        for _ in 0..times {
            self.states[i].record(CheckResult::Fail("no response".into()), &self.policy);
        }
    }

    /// Hard failure of every device of a venue whose id starts with `prefix`.
    fn fail_all(&mut self, prefix: &str) {
        let ids: Vec<String> = self
            .inv
            .devices
            .iter()
            .filter(|d| d.id.starts_with(prefix))
            .map(|d| d.id.clone())
            .collect();
        for id in ids {
            self.fail(&id, self.policy.max_attempts);
        }
    }

    fn eval(&self) -> Evaluation {
        evaluate(&self.inv.topology(), &self.states)
    }

    fn venue(&self, e: &Evaluation, code: &str) -> Status {
        let i = self
            .inv
            .venues
            .iter()
            .position(|v| v.code == code)
            .expect("venue");
        e.venues[i].status
    }

    fn group(&self, e: &Evaluation, id: &str) -> Status {
        let i = self
            .inv
            .groups
            .iter()
            .position(|g| g.id == id)
            .expect("group");
        e.groups[i].status
    }
}

#[test]
fn all_ok_is_a_green_wall() {
    let g = Games::all_ok();
    let e = g.eval();
    assert_eq!(e.wall, Status::Ok);
    assert!(e.venues.iter().all(|v| v.status == Status::Ok));
}

#[test]
fn before_the_first_poll_the_wall_is_unknown() {
    let mut g = Games::all_ok();
    g.states = vec![DeviceState::new(); g.inv.devices.len()];
    assert_eq!(g.eval().wall, Status::Unknown);
}

#[rstest]
#[case::one_failed_check_is_soft(1, Status::Ok)]
#[case::two_failed_checks_are_soft(2, Status::Ok)]
#[case::third_failed_check_is_hard(3, Status::Degraded)]
fn losing_one_core_switch_turns_the_venue_orange_once_hard(
    #[case] failures: u32,
    #[case] want: Status,
) {
    let mut g = Games::all_ok();
    g.fail("STA-core-b", failures);
    let e = g.eval();
    assert_eq!(g.venue(&e, "STA"), want);
    assert_eq!(e.wall, want);
    assert_eq!(g.venue(&e, "MRN"), Status::Ok, "other venues untouched");
    if want == Status::Degraded {
        let gi = g
            .inv
            .groups
            .iter()
            .position(|x| x.id == "STA-core")
            .expect("group");
        assert_eq!(e.groups[gi].reason(), "redundancy lost: 1/2 up, min_up 1");
        assert_eq!(
            e.device(g.idx("STA-core-b")),
            Status::Down,
            "the device itself is red"
        );
    }
}

#[test]
fn losing_both_core_switches_turns_the_venue_red_and_hides_what_is_behind() {
    let mut g = Games::all_ok();
    g.fail("STA-core-a", 3);
    g.fail("STA-core-b", 3);
    // Everything behind the cores stops answering too.
    for id in [
        "STA-ovr-a",
        "STA-ovr-b",
        "STA-timing",
        "STA-cis",
        "STA-acc-01",
    ] {
        g.fail(id, 3);
    }
    let e = g.eval();
    assert_eq!(g.group(&e, "STA-core"), Status::Down);
    assert_eq!(g.venue(&e, "STA"), Status::Down);
    for id in ["STA-ovr-a", "STA-timing", "STA-cis", "STA-acc-01"] {
        assert_eq!(
            e.device(g.idx(id)),
            Status::Unreachable,
            "{id}: root cause only"
        );
    }
    assert_eq!(
        g.group(&e, "STA-uplink"),
        Status::Ok,
        "the routers still answer"
    );
}

#[test]
fn venue_uplink_down_makes_the_whole_venue_unreachable_behind_it() {
    let mut g = Games::all_ok();
    g.fail_all("STA-");
    let e = g.eval();
    assert_eq!(g.group(&e, "STA-uplink"), Status::Down);
    assert_eq!(g.venue(&e, "STA"), Status::Down);
    let sta = &g.inv.venues[0];
    let down: Vec<&str> = sta
        .devices
        .iter()
        .filter(|d| e.device(**d) == Status::Down)
        .map(|d| g.inv.devices[d.0].id.as_str())
        .collect();
    assert_eq!(
        down,
        ["STA-rtr-a", "STA-rtr-b"],
        "only the root cause is DOWN"
    );
    let v = &e.venues[0];
    assert_eq!(v.unreachable, sta.devices.len() - 2);
}

#[test]
fn a_non_critical_access_switch_down_is_orange() {
    let mut g = Games::all_ok();
    let acc = g.inv.device("STA-acc-03").expect("device").1.clone();
    assert!(
        !acc.critical,
        "access switches are non-critical in the demo"
    );
    g.fail("STA-acc-03", 3);
    let e = g.eval();
    assert_eq!(g.venue(&e, "STA"), Status::Degraded);
}

#[test]
fn a_critical_ungrouped_device_down_is_red() {
    let mut g = Games::all_ok();
    assert!(g.inv.device("STA-timing").expect("device").1.critical);
    g.fail("STA-timing", 3);
    assert_eq!(g.venue(&g.eval(), "STA"), Status::Down);
}

#[test]
fn planned_work_on_the_backup_switch_keeps_the_venue_green() {
    let mut g = Games::all_ok();
    let i = g.idx("STA-core-b").0;
    g.states[i].set_maintenance(true);
    g.fail("STA-core-b", 3);
    let e = g.eval();
    assert_eq!(g.group(&e, "STA-core"), Status::Maintenance);
    assert_eq!(g.venue(&e, "STA"), Status::Ok);
}

#[test]
fn every_venue_has_the_redundant_pairs_and_feed_of_a_games_venue() {
    let g = Games::all_ok();
    for v in &g.inv.venues {
        for suffix in ["-core", "-ovr", "-uplink"] {
            let id = format!("{}{suffix}", v.code);
            let group = g
                .inv
                .groups
                .iter()
                .find(|x| x.id == id)
                .unwrap_or_else(|| panic!("{id}"));
            assert!(group.members.len() >= 2, "{id} is a redundant pair");
        }
        for role in ["timing-link", "cis-server", "ovr-server", "core-switch"] {
            assert!(
                v.devices.iter().any(|d| g.inv.devices[d.0].role == role),
                "{} has a {role}",
                v.code
            );
        }
        let feed = &g.inv.feeds[*v.feeds.first().expect("a result feed")];
        assert_ne!(feed.primary, feed.backup);
    }
}
