//! The board: every device's check state and what the wall shows of it
//! (devices, redundancy groups, venues, the wall), with the reasons an
//! operator reads. Pure: observations and maintenance go in, the changes
//! an operator should hear of come out.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use crate::model::{
    Change, DeviceIdx, DeviceState, Evaluation, Observation, Policy, ProblemKey, ProblemKind,
    StateType, Status, Topology, VenueIdx, evaluate,
};

use super::super::snapshot::{DeviceSnap, EventKind, HISTORY_LEN, HistoryEntry, Layout};

/// What one observation changed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observed {
    /// A hard status changed: the roll-up must be evaluated again and the
    /// next snapshot should go out at once.
    pub hard: bool,
    /// Events to tell (flapping started or stopped, probe notes).
    pub events: Vec<EventKind>,
}

/// A problem on the board that should have an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Kind and subject.
    pub key: ProblemKey,
    /// Device or group id.
    pub subject: String,
    /// Its venue.
    pub venue: VenueIdx,
    /// How bad.
    pub severity: Status,
    /// One line for the operator.
    pub title: String,
}

/// Devices, groups, venues and the wall.
#[derive(Debug)]
pub struct Board {
    layout: Arc<Layout>,
    topology: Topology,
    policy: Policy,
    devices: Vec<DeviceState>,
    snaps: Vec<Arc<DeviceSnap>>,
    eval: Evaluation,
    /// A hard status changed since the roll-up was last evaluated.
    needs_eval: bool,
}

impl Board {
    /// A board with every device not yet polled.
    pub fn new(layout: Arc<Layout>, topology: Topology, policy: Policy) -> Self {
        let n = layout.devices.len();
        let devices = vec![DeviceState::new(); n];
        let unpolled = Arc::new(DeviceSnap::unpolled());
        let snaps = vec![unpolled; n];
        let eval = evaluate(&topology, &devices);
        Board {
            layout,
            topology,
            policy,
            devices,
            snaps,
            eval,
            needs_eval: false,
        }
    }

    /// The static layout.
    pub fn layout(&self) -> &Arc<Layout> {
        &self.layout
    }

    /// The roll-up as last evaluated.
    pub fn eval(&self) -> &Evaluation {
        &self.eval
    }

    /// Each device's live part, as published.
    pub fn snaps(&self) -> &[Arc<DeviceSnap>] {
        &self.snaps
    }

    /// Whether the roll-up is out of date.
    pub fn needs_eval(&self) -> bool {
        self.needs_eval
    }

    /// Records one check result; `None` when the inventory has no such
    /// device.
    pub fn apply(&mut self, obs: Observation) -> Option<Observed> {
        let idx = obs.device;
        let device = self.devices.get_mut(idx)?;
        let changes = device.record(obs.outcome.result.clone(), &self.policy);
        let device = &self.devices[idx];
        let mut snap = DeviceSnap::clone(&self.snaps[idx]);
        snap.raw = device.raw_status();
        snap.state_type = device.state_type();
        snap.attempt = device.attempt();
        if snap.status != Status::Unreachable {
            snap.reason = device.reason().map(str::to_owned);
        }
        snap.flapping = device.is_flapping().then(|| device.flap_percent());
        snap.last_check = Some(obs.at);
        snap.latency = obs.outcome.latency;
        // Exactly HISTORY_LEN slots: a cloned Vec has no spare room, and
        // letting `push` double it would cost 10,000 devices megabytes.
        let keep = snap.history.len().min(HISTORY_LEN - 1);
        let mut history = Vec::with_capacity(HISTORY_LEN);
        history.extend(snap.history.drain(snap.history.len() - keep..));
        snap.history = history;
        let reason = obs.outcome.result.reason().map(|r| {
            match snap.history.last().and_then(HistoryEntry::shared_reason) {
                Some(prev) if &**prev == r => Arc::clone(prev),
                _ => Arc::from(r),
            }
        });
        snap.history.push(HistoryEntry::new(
            obs.at,
            device.raw_status(),
            device.state_type(),
            obs.outcome.latency,
            reason,
        ));
        snap.readings = obs.outcome.readings;
        let mut observed = Observed::default();
        for note in &obs.outcome.notes {
            observed.events.push(EventKind::Note {
                device: DeviceIdx(idx),
                text: note.clone(),
            });
        }
        snap.notes = obs.outcome.notes;
        self.snaps[idx] = Arc::new(snap);
        for change in changes {
            observed.hard = true;
            match change {
                Change::Hard { .. } => {}
                Change::FlapStart { .. } | Change::FlapStop { .. } => {
                    observed.events.push(EventKind::Flapping {
                        device: DeviceIdx(idx),
                        started: matches!(change, Change::FlapStart { .. }),
                    });
                }
            }
        }
        self.needs_eval |= observed.hard;
        Some(observed)
    }

    /// Puts a device in or out of maintenance. False if there is no such
    /// device.
    pub fn set_maintenance(&mut self, device: usize, on: bool) -> bool {
        let Some(d) = self.devices.get_mut(device) else {
            return false;
        };
        d.set_maintenance(on);
        self.needs_eval = true;
        true
    }

    /// Brings the roll-up (groups, venues, wall, unreachable children) up
    /// to date after hard changes, and returns the changes shown: devices
    /// and venues whose status changed (a first answer of OK is not news).
    /// Empty and cheap when nothing hard changed.
    pub fn settle(&mut self) -> Vec<EventKind> {
        if !self.needs_eval {
            return Vec::new();
        }
        self.needs_eval = false;
        let eval = evaluate(&self.topology, &self.devices);
        let mut events = Vec::new();
        for (idx, (&before, &after)) in self.eval.devices.iter().zip(&eval.devices).enumerate() {
            if before != after && !(before == Status::Unknown && after == Status::Ok) {
                let reason = match after {
                    Status::Unreachable => None,
                    _ => self.devices[idx].reason().map(str::to_owned),
                };
                events.push(EventKind::Device {
                    device: DeviceIdx(idx),
                    from: before,
                    to: after,
                    reason,
                });
            }
        }
        for (idx, snap) in self.snaps.iter_mut().enumerate() {
            let shown = eval.devices.get(idx).copied().unwrap_or(Status::Unknown);
            let reason = match shown {
                Status::Unreachable => Some(unreachable_reason(
                    &self.layout,
                    &eval,
                    self.topology.devices.get(idx).map(|d| d.parents.as_slice()),
                )),
                _ => self.devices[idx].reason().map(str::to_owned),
            };
            if snap.status != shown || snap.reason != reason {
                let s = Arc::make_mut(snap);
                s.status = shown;
                s.reason = reason;
            }
        }
        for (idx, (before, after)) in self.eval.venues.iter().zip(&eval.venues).enumerate() {
            if before.status != after.status
                && !(before.status == Status::Unknown && after.status == Status::Ok)
            {
                events.push(EventKind::Venue {
                    venue: VenueIdx(idx),
                    from: before.status,
                    to: after.status,
                });
            }
        }
        self.eval = eval;
        events
    }

    /// Every problem on the board that should have an incident: devices
    /// shown DOWN or DEGRADED, polled devices hard UNKNOWN, groups that
    /// lost redundancy or are down. UNREACHABLE devices and devices in
    /// maintenance have none.
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        for (idx, info) in self.layout.devices.iter().enumerate() {
            let shown = self
                .eval
                .devices
                .get(idx)
                .copied()
                .unwrap_or(Status::Unknown);
            let state = &self.devices[idx];
            let kind = match shown {
                Status::Down => ProblemKind::DeviceDown,
                Status::Degraded => ProblemKind::DeviceDegraded,
                Status::Unknown if state.is_polled() && state.state_type() == StateType::Hard => {
                    ProblemKind::DeviceUnknown
                }
                _ => continue,
            };
            let reason = state.reason().unwrap_or("no reason given");
            let title = match kind {
                ProblemKind::DeviceDown => format!("{} down: {reason}", info.id),
                ProblemKind::DeviceDegraded => format!("{} degraded: {reason}", info.id),
                _ => format!("{} cannot be checked: {reason}", info.id),
            };
            out.push(Problem {
                key: ProblemKey::device(kind, DeviceIdx(idx)),
                subject: info.id.clone(),
                venue: info.venue,
                severity: shown,
                title,
            });
        }
        for (idx, info) in self.layout.groups.iter().enumerate() {
            let Some(g) = self.eval.groups.get(idx) else {
                continue;
            };
            let kind = match g.status {
                Status::Degraded => ProblemKind::RedundancyLost,
                Status::Down => ProblemKind::GroupDown,
                _ => continue,
            };
            out.push(Problem {
                key: ProblemKey::group(kind, crate::model::GroupIdx(idx)),
                subject: info.id.clone(),
                venue: info.venue,
                severity: g.status,
                title: format!("{} {g}", info.id),
            });
        }
        out
    }
}

/// Why a device is unreachable, naming the root cause: the nearest
/// ancestors that are down themselves (`unreachable: STA-rtr-a DOWN,
/// STA-rtr-b DOWN`), followed through unreachable parents.
fn unreachable_reason(layout: &Layout, eval: &Evaluation, parents: Option<&[DeviceIdx]>) -> String {
    let mut roots: Vec<usize> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut queue: VecDeque<usize> = parents.unwrap_or_default().iter().map(|p| p.0).collect();
    while let Some(p) = queue.pop_front() {
        if !seen.insert(p) {
            continue;
        }
        if eval.device(DeviceIdx(p)) == Status::Unreachable {
            if let Some(d) = layout.devices.get(p) {
                queue.extend(d.parents.iter().map(|q| q.0));
            }
        } else {
            roots.push(p);
        }
    }
    let names: Vec<String> = roots
        .iter()
        .map(|&p| {
            let id = layout.devices.get(p).map_or("?", |d| d.id.as_str());
            format!("{id} {}", eval.device(DeviceIdx(p)).word())
        })
        .collect();
    format!("unreachable: {}", names.join(", "))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::config::{Inventory, SourceFile};
    use crate::model::{CheckResult, Outcome};

    fn board() -> (Inventory, Board) {
        let src = SourceFile::new(
            "small.toml",
            include_str!("../../../examples/venues-small.toml").to_owned(),
        );
        let inv = Inventory::parse(&src).expect("example parses").0;
        let policy = Policy {
            max_attempts: inv.event.max_attempts,
            flap_high: inv.event.flap_high,
            flap_low: inv.event.flap_low,
        };
        let board = Board::new(
            Arc::new(Layout::from_inventory(&inv)),
            inv.topology(),
            policy,
        );
        (inv, board)
    }

    fn obs(device: usize, secs: u64, result: CheckResult) -> Observation {
        Observation {
            device,
            at: UNIX_EPOCH + Duration::from_secs(secs),
            start_delay: Duration::ZERO,
            outcome: Outcome::new(result),
        }
    }

    #[test]
    fn only_hard_changes_ask_for_a_new_roll_up() {
        let (inv, mut board) = board();
        let scb = inv.device("MRN-scb").expect("device").0.0;
        let first = board.apply(obs(scb, 1, CheckResult::Ok)).expect("known");
        assert!(first.hard, "unknown -> OK is a hard change");
        board.settle();
        let soft = board
            .apply(obs(scb, 2, CheckResult::Fail("x".into())))
            .expect("known");
        assert!(!soft.hard && !board.needs_eval());
        assert!(board.settle().is_empty());
        assert!(board.problems().is_empty());
        for s in 3..=u64::from(inv.event.max_attempts) + 1 {
            board.apply(obs(scb, s, CheckResult::Fail("x".into())));
        }
        assert!(board.needs_eval());
        let events = board.settle();
        assert!(
            events.iter().any(|e| matches!(e, EventKind::Device { device, to: Status::Down, .. } if device.0 == scb)),
            "{events:?}"
        );
        let problems = board.problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(
            problems[0].key,
            ProblemKey::device(ProblemKind::DeviceDown, DeviceIdx(scb))
        );
        assert_eq!(problems[0].title, "MRN-scb down: x");
    }

    #[test]
    fn a_stray_observation_changes_nothing() {
        let (_, mut board) = board();
        assert!(board.apply(obs(9999, 1, CheckResult::Ok)).is_none());
        assert!(!board.needs_eval());
        assert!(!board.set_maintenance(9999, true));
    }

    #[test]
    fn notes_become_events() {
        let (inv, mut board) = board();
        let core = inv.device("STA-core").expect("device").0.0;
        let mut o = obs(core, 1, CheckResult::Ok);
        o.outcome.notes.push("rebooted: up 12s".into());
        let observed = board.apply(o).expect("known");
        assert_eq!(
            observed.events,
            vec![EventKind::Note {
                device: DeviceIdx(core),
                text: "rebooted: up 12s".into()
            }]
        );
        assert_eq!(board.snaps()[core].notes, vec!["rebooted: up 12s"]);
    }
}
