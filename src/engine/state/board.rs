//! The board: every device's check state and what the wall shows of it
//! (devices, redundancy groups, venues, the wall), with the reasons an
//! operator reads. Pure: observations and maintenance go in, the changes
//! an operator should hear of come out.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::SystemTime;

use crate::model::{
    Change, CheckResult, DeviceIdx, DeviceState, Evaluation, Observation, Policy, ProblemKey,
    ProblemKind, StateType, Status, Topology, VenueIdx, evaluate,
};

use super::super::snapshot::{DeviceSnap, EventKind, HISTORY_LEN, HistoryEntry, Layout};

/// Devices of one venue going UNREACHABLE (or back) in one evaluation
/// that are told as one event instead of one each.
const BEHIND_TOGETHER: usize = 3;

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
    /// Device, group, feed or sink id.
    pub subject: String,
    /// Its venue (`None` for a relay sink, which serves every venue).
    pub venue: Option<VenueIdx>,
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
    /// Each device's children (the devices that list it as a parent).
    children: Vec<Vec<DeviceIdx>>,
    /// When each device's current run of failing results began (the
    /// start of its first failing check), `None` while it answers.
    fail_since: Vec<Option<SystemTime>>,
    /// Failing results held while a device waits for its parents'
    /// verdict (at most `max_attempts`): they count once a parent is
    /// known to answer, and are forgotten when the path was down.
    held: Vec<Vec<CheckResult>>,
    /// A check-now was asked for the device and its result has not come
    /// yet: one request at a time, however many children wait.
    asked: Vec<bool>,
    /// Devices to check now: parents whose verdict a failing child waits
    /// for, children of a parent that recovered.
    checks: BTreeSet<usize>,
}

/// What a failing result may say about the device behind its parents.
enum Path {
    /// A parent answered after the device started failing (or it has
    /// none): the failure is the device's own and counts.
    Clear,
    /// No verdict on the path yet, or every parent is down: the result is
    /// held. Parents to check now (those not checked since the device
    /// started failing).
    Doubt(Vec<usize>),
}

impl Board {
    /// A board with every device not yet polled.
    pub fn new(layout: Arc<Layout>, topology: Topology, policy: Policy) -> Self {
        let n = layout.devices.len();
        let devices = vec![DeviceState::new(); n];
        let unpolled = Arc::new(DeviceSnap::unpolled());
        let snaps = vec![unpolled; n];
        let eval = evaluate(&topology, &devices);
        let mut children = vec![Vec::new(); n];
        for (idx, node) in topology.devices.iter().enumerate() {
            for p in &node.parents {
                if let Some(c) = children.get_mut(p.0) {
                    c.push(DeviceIdx(idx));
                }
            }
        }
        Board {
            layout,
            topology,
            policy,
            devices,
            snaps,
            eval,
            needs_eval: false,
            children,
            fail_since: vec![None; n],
            held: vec![Vec::new(); n],
            asked: vec![false; n],
            checks: BTreeSet::new(),
        }
    }

    /// Devices the board wants checked now (parents whose verdict a
    /// failing child waits for, children of a parent that recovered),
    /// once each; empties the list.
    pub fn take_checks(&mut self) -> Vec<usize> {
        let wanted: Vec<usize> = std::mem::take(&mut self.checks).into_iter().collect();
        for &d in &wanted {
            if let Some(a) = self.asked.get_mut(d) {
                *a = true;
            }
        }
        wanted
    }

    /// Whether a failing result of `idx` (failing since `since`) counts,
    /// and which parents to check now if not. Nagios' rule: a device's
    /// failure is its own only once a parent is known to answer; while
    /// every parent is failing without a verdict it waits, and when every
    /// parent is down it is UNREACHABLE.
    fn path(&self, idx: usize, since: SystemTime) -> Path {
        let parents = self
            .topology
            .devices
            .get(idx)
            .map_or(&[][..], |d| d.parents.as_slice());
        if parents.is_empty() {
            return Path::Clear;
        }
        let mut stale = Vec::new();
        for p in parents.iter().map(|p| p.0) {
            let Some(ps) = self.devices.get(p) else {
                continue;
            };
            let failed = (ps.hard_status() == Status::Down && ps.is_failing())
                || self.eval.device(DeviceIdx(p)) == Status::Unreachable;
            if failed {
                continue;
            }
            // Checked since the child started failing, with a verdict (up,
            // or hard UNKNOWN: the check cannot tell, which is no cause).
            let checked_since = self.snaps[p].last_check.is_some_and(|at| at >= since);
            if checked_since && ps.is_polled() && ps.state_type() == StateType::Hard {
                return Path::Clear;
            }
            if !checked_since && !self.asked[p] {
                stale.push(p);
            }
        }
        Path::Doubt(stale)
    }

    /// Copies a device's check state into its published snapshot.
    fn publish_state(&mut self, idx: usize) {
        let device = &self.devices[idx];
        let snap = &self.snaps[idx];
        let flapping = device.is_flapping().then(|| device.flap_percent());
        if snap.raw != device.raw_status()
            || snap.state_type != device.state_type()
            || snap.attempt != device.attempt()
            || snap.flapping != flapping
        {
            let s = Arc::make_mut(&mut self.snaps[idx]);
            s.raw = device.raw_status();
            s.state_type = device.state_type();
            s.attempt = device.attempt();
            s.flapping = flapping;
            if s.status != Status::Unreachable {
                s.reason = device.reason().map(str::to_owned);
            }
        }
    }

    /// Turns a device's state changes into what the caller hears of.
    fn tell(observed: &mut Observed, idx: usize, changes: Vec<Change>) {
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
    }

    /// After `idx` got a verdict, counts the results its children held
    /// while waiting for it, where the path is now known to be clear.
    fn replay_children(&mut self, idx: usize, observed: &mut Observed) {
        for c in self.children[idx].clone() {
            let c = c.0;
            if self.held[c].is_empty() {
                continue;
            }
            let Some(since) = self.fail_since[c] else {
                continue;
            };
            if let Path::Clear = self.path(c, since) {
                for result in std::mem::take(&mut self.held[c]) {
                    let changes = self.devices[c].record(result, &self.policy);
                    Self::tell(observed, c, changes);
                }
                self.publish_state(c);
                self.needs_eval = true;
            }
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
        let was_failing = self.devices.get(idx)?.is_failing();
        self.asked[idx] = false;
        let up = obs.outcome.result.status().is_up();
        let held = if up {
            self.fail_since[idx] = None;
            false
        } else {
            let since = *self.fail_since[idx].get_or_insert(obs.at);
            match self.path(idx, since) {
                Path::Clear => false,
                Path::Doubt(stale) => {
                    self.checks.extend(stale);
                    true
                }
            }
        };
        let device = &mut self.devices[idx];
        let changes = if held {
            device.hold(obs.outcome.result.clone());
            let keep = self.policy.max_attempts.max(1) as usize;
            let held = &mut self.held[idx];
            if held.len() >= keep {
                held.remove(0);
            }
            held.push(obs.outcome.result.clone());
            Vec::new()
        } else {
            self.held[idx].clear();
            device.record(obs.outcome.result.clone(), &self.policy)
        };
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
        Self::tell(&mut observed, idx, changes);
        if up && was_failing {
            // The path through this device is back: every failing device
            // behind it is judged afresh on a check made now, not on
            // results taken while the path was down.
            let mut queue: VecDeque<usize> = self.children[idx].iter().map(|c| c.0).collect();
            let mut seen = BTreeSet::new();
            while let Some(c) = queue.pop_front() {
                if !seen.insert(c) || !self.devices.get(c).is_some_and(DeviceState::is_failing) {
                    continue;
                }
                self.devices[c].forget_soft();
                self.fail_since[c] = None;
                self.held[c].clear();
                self.publish_state(c);
                self.checks.insert(c);
                queue.extend(self.children[c].iter().map(|g| g.0));
            }
        }
        if !(held || up && was_failing) {
            self.replay_children(idx, &mut observed);
        }
        // Whether the device answers decides its children's reachability:
        // evaluate again, though nothing hard changed.
        self.needs_eval |= observed.hard || was_failing != self.devices[idx].is_failing();
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

    /// The device events of a new evaluation: each device whose shown
    /// status changed (a first answer of OK is not news), devices of one
    /// venue going UNREACHABLE or back together told as one.
    fn device_events(&self, eval: &Evaluation) -> Vec<EventKind> {
        let mut events = Vec::new();
        // Devices of one venue that went UNREACHABLE (or came back) in
        // the same evaluation: one line on the ticker, not one each.
        let mut behind: std::collections::BTreeMap<(usize, u8, u8), Vec<usize>> =
            std::collections::BTreeMap::new();
        for (idx, (&before, &after)) in self.eval.devices.iter().zip(&eval.devices).enumerate() {
            if before != after && !(before == Status::Unknown && after == Status::Ok) {
                if before == Status::Unreachable || after == Status::Unreachable {
                    let venue = self
                        .layout
                        .devices
                        .get(idx)
                        .map_or(usize::MAX, |d| d.venue.0);
                    behind
                        .entry((venue, before.severity(), after.severity()))
                        .or_default()
                        .push(idx);
                    continue;
                }
                events.push(EventKind::Device {
                    device: DeviceIdx(idx),
                    from: before,
                    to: after,
                    reason: self.devices[idx].reason().map(str::to_owned),
                });
            }
        }
        for ((venue, _, _), idxs) in behind {
            let (before, after) = (self.eval.devices[idxs[0]], eval.devices[idxs[0]]);
            if idxs.len() < BEHIND_TOGETHER || venue == usize::MAX {
                for idx in idxs {
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
                continue;
            }
            let reason = (after == Status::Unreachable).then(|| {
                unreachable_reason(
                    &self.layout,
                    eval,
                    self.topology
                        .devices
                        .get(idxs[0])
                        .map(|d| d.parents.as_slice()),
                )
            });
            events.push(EventKind::Devices {
                venue: VenueIdx(venue),
                count: idxs.len(),
                from: before,
                to: after,
                reason,
            });
        }
        events
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
        let mut events = self.device_events(&eval);
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
    /// lost redundancy or are down. UNREACHABLE devices and groups and
    /// devices in maintenance have none.
    ///
    /// One cause, one incident: a grouped device whose group lost
    /// redundancy or is down is that group's incident (its title names
    /// the members that failed). Otherwise a device's incident carries
    /// the severity it gives its venue: a grouped device DOWN in a group
    /// that still does its job, or a non-critical device DOWN, is
    /// DEGRADED.
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
            let node = self.topology.devices.get(idx);
            let group = node
                .and_then(|n| n.group)
                .and_then(|g| self.eval.groups.get(g.0));
            if group.is_some_and(|g| matches!(g.status, Status::Degraded | Status::Down)) {
                continue;
            }
            let critical = node.is_some_and(|n| n.critical);
            let severity = if shown == Status::Down && (group.is_some() || !critical) {
                Status::Degraded
            } else {
                shown
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
                venue: Some(info.venue),
                severity,
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
            let failed: Vec<String> = self
                .topology
                .groups
                .get(idx)
                .map(|n| n.members.as_slice())
                .unwrap_or_default()
                .iter()
                .filter_map(|&m| {
                    let shown = self.eval.device(m);
                    if matches!(shown, Status::Ok | Status::Maintenance) {
                        return None;
                    }
                    let id = self.layout.devices.get(m.0).map_or("?", |d| d.id.as_str());
                    let reason = self.devices.get(m.0).and_then(DeviceState::reason);
                    let word = shown.word().to_lowercase();
                    Some(match reason {
                        Some(r) => format!("{id} {word} ({r})"),
                        None => format!("{id} {word}"),
                    })
                })
                .collect();
            let title = if failed.is_empty() {
                format!("{} {g}", info.id)
            } else {
                format!("{} {g}: {}", info.id, failed.join(", "))
            };
            out.push(Problem {
                key: ProblemKey::group(kind, crate::model::GroupIdx(idx)),
                subject: info.id.clone(),
                venue: Some(info.venue),
                severity: g.status,
                title,
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
            took: Duration::ZERO,
            outcome: Outcome::new(result),
        }
    }

    /// Every device answers OK at `secs`.
    fn all_ok(board: &mut Board, n: usize, secs: u64) {
        for d in 0..n {
            board.apply(obs(d, secs, CheckResult::Ok));
        }
        board.settle();
    }

    #[test]
    fn only_hard_changes_ask_for_a_new_roll_up() {
        let (inv, mut board) = board();
        let scb = inv.device("MRN-scb").expect("device").0.0;
        let first = board.apply(obs(scb, 1, CheckResult::Ok)).expect("known");
        assert!(first.hard, "unknown -> OK is a hard change");
        board.settle();
        all_ok(&mut board, inv.devices.len(), 2);
        let soft = board
            .apply(obs(scb, 3, CheckResult::Fail("x".into())))
            .expect("known");
        assert!(!soft.hard, "a soft failure is not urgent");
        assert!(board.settle().is_empty(), "and shows nothing new");
        assert!(board.problems().is_empty());
        // Its parent answers: the failures count from now on.
        let parents = board.take_checks();
        assert!(!parents.is_empty());
        for p in parents {
            board.apply(obs(p, 3, CheckResult::Ok));
        }
        for s in 4..=u64::from(inv.event.max_attempts) + 3 {
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
    fn a_failing_child_waits_for_its_parents_verdict() {
        let (inv, mut board) = board();
        let n = inv.devices.len();
        let rtr = inv.device("MRN-rtr").expect("device").0.0;
        let core = inv.device("MRN-core").expect("device").0.0;
        let scb = inv.device("MRN-scb").expect("device").0.0;
        all_ok(&mut board, n, 1);
        // The child fails; its parent was last checked before: the result
        // is held and the parent is asked for at once.
        board.apply(obs(scb, 2, CheckResult::Fail("x".into())));
        assert_eq!(board.take_checks(), vec![core]);
        assert_eq!(board.devices[scb].attempt(), 0, "held, not counted");
        assert!(board.take_checks().is_empty(), "asked once");
        // The parent fails too, soft: still no verdict, the child waits.
        board.apply(obs(core, 3, CheckResult::Fail("no answer".into())));
        for s in 4..10 {
            board.apply(obs(scb, s, CheckResult::Fail("x".into())));
        }
        assert_eq!(board.devices[scb].attempt(), 0);
        assert_eq!(board.devices[scb].hard_status(), Status::Ok);
        board.settle();
        assert_eq!(board.eval().device(DeviceIdx(scb)), Status::Ok);
        // The parent turns hard DOWN: the child is UNREACHABLE, never DOWN.
        board.apply(obs(rtr, 9, CheckResult::Ok));
        for s in 10..13 {
            board.apply(obs(core, s, CheckResult::Fail("no answer".into())));
        }
        assert_eq!(board.devices[core].hard_status(), Status::Down);
        board.apply(obs(scb, 13, CheckResult::Fail("x".into())));
        let events = board.settle();
        assert!(
            !events.iter().any(|e| matches!(e, EventKind::Device { to: Status::Down, device, .. } if device.0 != core)),
            "{events:?}"
        );
        assert_eq!(board.eval().device(DeviceIdx(scb)), Status::Unreachable);
        assert!(board.problems().iter().all(|p| p.subject != "MRN-scb"));
        // The parent recovers: the child is checked now and judged afresh.
        board.take_checks();
        board.apply(obs(core, 14, CheckResult::Ok));
        assert!(board.take_checks().contains(&scb));
        board.settle();
        assert_eq!(board.eval().device(DeviceIdx(scb)), Status::Ok);
        board.apply(obs(scb, 15, CheckResult::Ok));
        assert!(board.settle().iter().all(|e| !matches!(
            e,
            EventKind::Device {
                to: Status::Down,
                ..
            }
        )));
        assert_eq!(board.devices[scb].attempt(), 0);
    }

    #[test]
    fn a_child_failing_behind_a_parent_that_answers_counts() {
        let (inv, mut board) = board();
        let n = inv.devices.len();
        let core = inv.device("MRN-core").expect("device").0.0;
        let scb = inv.device("MRN-scb").expect("device").0.0;
        all_ok(&mut board, n, 1);
        board.apply(obs(scb, 2, CheckResult::Fail("x".into())));
        assert_eq!(board.take_checks(), vec![core]);
        board.apply(obs(core, 3, CheckResult::Ok));
        for s in 4..7 {
            board.apply(obs(scb, s, CheckResult::Fail("x".into())));
        }
        assert_eq!(board.devices[scb].hard_status(), Status::Down);
        board.settle();
        assert_eq!(board.eval().device(DeviceIdx(scb)), Status::Down);
        assert!(board.take_checks().is_empty(), "the verdict was in");
    }

    #[test]
    fn a_grouped_device_is_its_groups_incident() {
        let (inv, mut board) = board();
        let n = inv.devices.len();
        let a = inv.device("STA-ovr-a").expect("device").0.0;
        let b = inv.device("STA-ovr-b").expect("device").0.0;
        let core = inv.device("STA-core").expect("device").0.0;
        all_ok(&mut board, n, 1);
        let mut s = 2;
        let mut fail = |board: &mut Board, d: usize| {
            for _ in 0..4 {
                board.apply(obs(d, s, CheckResult::Fail("no answer".into())));
                board.apply(obs(core, s, CheckResult::Ok));
                s += 1;
            }
            board.settle();
        };
        fail(&mut board, a);
        let problems = board.problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].key.kind, ProblemKind::RedundancyLost);
        assert_eq!(problems[0].severity, Status::Degraded);
        assert_eq!(
            problems[0].title,
            "STA-ovr redundancy lost: 1/2 up, min_up 1: STA-ovr-a down (no answer)"
        );
        fail(&mut board, b);
        let problems = board.problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].key.kind, ProblemKind::GroupDown);
        assert_eq!(problems[0].severity, Status::Down);
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
