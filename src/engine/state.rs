//! The engine's live state as a plain value: observations and commands go
//! in, snapshots and events come out. No IO and no clock of its own: the
//! caller says what time it is, so tests drive it deterministically.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::SystemTime;

use crate::config::Inventory;
use crate::model::{
    Change, DeviceState, Evaluation, Policy, StateType, Status, Topology, evaluate,
};
use crate::probe::Observation;

use super::snapshot::{
    DeviceSnap, EngineStats, Event, EventKind, HISTORY_LEN, HistoryEntry, HostSnap, Incident,
    IncidentKind, Layout, Snapshot, TICKER_LEN, VenueSnap,
};

/// Everything the engine knows, owned by its task alone.
#[derive(Debug)]
pub struct State {
    layout: Arc<Layout>,
    topology: Topology,
    policy: Policy,
    started: SystemTime,
    devices: Vec<DeviceState>,
    snaps: Vec<Arc<DeviceSnap>>,
    eval: Evaluation,
    /// Open incidents by key.
    incidents: BTreeMap<String, Incident>,
    incidents_arc: Arc<Vec<Incident>>,
    next_incident: u64,
    ticker: VecDeque<Event>,
    /// The ticker as last published; `None` once an event was added.
    ticker_arc: Option<Arc<Vec<Event>>>,
    host: Option<Arc<HostSnap>>,
    /// Events not yet taken by [`State::take_events`].
    pending: Vec<Event>,
    stats: EngineStats,
    seq: u64,
    /// Something changed since the last snapshot.
    dirty: bool,
    /// A hard status changed: the roll-up must be evaluated again, and the
    /// next snapshot should go out at once.
    urgent: bool,
    /// A hard status changed since the roll-up was last evaluated.
    needs_eval: bool,
    /// Observations for device indices the inventory does not have.
    pub strays: u64,
}

impl State {
    /// A state with every device not yet polled.
    pub fn new(inventory: &Inventory, started: SystemTime) -> Self {
        let layout = Arc::new(Layout::from_inventory(inventory));
        let topology = inventory.topology();
        let policy = Policy {
            max_attempts: inventory.event.max_attempts,
            flap_high: inventory.event.flap_high,
            flap_low: inventory.event.flap_low,
        };
        let n = layout.devices.len();
        let devices = vec![DeviceState::new(); n];
        let unpolled = Arc::new(DeviceSnap::unpolled());
        let snaps = vec![unpolled; n];
        let eval = evaluate(&topology, &devices);
        State {
            layout,
            topology,
            policy,
            started,
            devices,
            snaps,
            eval,
            incidents: BTreeMap::new(),
            incidents_arc: Arc::new(Vec::new()),
            next_incident: 1,
            ticker: VecDeque::with_capacity(TICKER_LEN),
            ticker_arc: None,
            host: None,
            pending: Vec::new(),
            stats: EngineStats::default(),
            seq: 0,
            dirty: true,
            urgent: false,
            needs_eval: false,
            strays: 0,
        }
    }

    /// The static layout shared by every snapshot.
    pub fn layout(&self) -> &Arc<Layout> {
        &self.layout
    }

    /// Whether anything changed since the last snapshot.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Whether a hard status changed since the last snapshot (publish now).
    pub fn is_urgent(&self) -> bool {
        self.urgent
    }

    /// Records one check result.
    pub fn observe(&mut self, obs: Observation) {
        self.stats.observations += 1;
        let idx = obs.device;
        let Some(device) = self.devices.get_mut(idx) else {
            self.strays += 1;
            return;
        };
        let result = obs.outcome.result.clone();
        let changes = device.record(result, &self.policy);
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
        for note in &obs.outcome.notes {
            self.push_event(
                obs.at,
                EventKind::Note {
                    device: idx,
                    text: note.clone(),
                },
            );
        }
        snap.notes = obs.outcome.notes;
        self.snaps[idx] = Arc::new(snap);
        self.dirty = true;
        for change in changes {
            match change {
                Change::Hard { .. } => {
                    self.urgent = true;
                    self.needs_eval = true;
                }
                Change::FlapStart { .. } | Change::FlapStop { .. } => {
                    self.urgent = true;
                    self.needs_eval = true;
                    self.push_event(
                        obs.at,
                        EventKind::Flapping {
                            device: idx,
                            started: matches!(change, Change::FlapStart { .. }),
                        },
                    );
                }
            }
        }
    }

    /// Brings the roll-up (groups, venues, wall, unreachable children,
    /// incidents) up to date after hard changes; cheap when there were
    /// none. The engine calls it once per batch of inputs.
    pub fn settle(&mut self, now: SystemTime) {
        if self.needs_eval {
            self.needs_eval = false;
            self.reevaluate(now);
        }
    }

    /// Puts a device in or out of maintenance. False if there is no such
    /// device.
    pub fn set_maintenance(&mut self, device: usize, on: bool, now: SystemTime) -> bool {
        let Some(d) = self.devices.get_mut(device) else {
            return false;
        };
        d.set_maintenance(on);
        self.urgent = true;
        self.dirty = true;
        self.needs_eval = true;
        self.settle(now);
        true
    }

    /// Records a sample of the TOC host.
    pub fn set_host(&mut self, host: HostSnap) {
        self.host = Some(Arc::new(host));
        self.dirty = true;
    }

    /// Records that a user's command was applied.
    pub fn command_applied(&mut self, user: &str, text: &str, now: SystemTime) {
        self.stats.commands += 1;
        self.push_event(
            now,
            EventKind::Command {
                user: user.to_owned(),
                text: text.to_owned(),
            },
        );
    }

    /// Counts a refused command.
    pub fn command_refused(&mut self) {
        self.stats.commands += 1;
    }

    /// Events since the last call, oldest first (for the broadcast
    /// channel).
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.pending)
    }

    /// Builds the snapshot of this moment and clears the dirty flags.
    pub fn snapshot(&mut self, now: SystemTime) -> Snapshot {
        self.settle(now);
        self.seq += 1;
        self.stats.snapshots += 1;
        self.dirty = false;
        self.urgent = false;
        let ticker = Arc::clone(
            self.ticker_arc
                .get_or_insert_with(|| Arc::new(self.ticker.iter().cloned().collect())),
        );
        let mut per_venue = vec![0usize; self.layout.venues.len()];
        for incident in self.incidents.values() {
            if let Some(n) = per_venue.get_mut(incident.venue) {
                *n += 1;
            }
        }
        Snapshot {
            seq: self.seq,
            at: now,
            started: self.started,
            layout: Arc::clone(&self.layout),
            wall: self.eval.wall,
            venues: self
                .eval
                .venues
                .iter()
                .zip(per_venue)
                .map(|(eval, incidents)| VenueSnap {
                    eval: *eval,
                    incidents,
                })
                .collect(),
            groups: self.eval.groups.clone(),
            devices: self.snaps.clone(),
            incidents: Arc::clone(&self.incidents_arc),
            host: self.host.clone(),
            ticker,
            stats: self.stats,
        }
    }

    /// Re-evaluates the roll-up after a hard change, emitting events for
    /// every shown change and reconciling incidents.
    fn reevaluate(&mut self, now: SystemTime) {
        let eval = evaluate(&self.topology, &self.devices);
        let mut events = Vec::new();
        for (idx, (&before, &after)) in self.eval.devices.iter().zip(&eval.devices).enumerate() {
            // A device answering for the first time is not news.
            if before != after && !(before == Status::Unknown && after == Status::Ok) {
                let reason = match after {
                    Status::Unreachable => None,
                    _ => self.devices[idx].reason().map(str::to_owned),
                };
                events.push(EventKind::Device {
                    device: idx,
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
                    venue: idx,
                    from: before.status,
                    to: after.status,
                });
            }
        }
        self.eval = eval;
        for kind in events {
            self.push_event(now, kind);
        }
        self.reconcile_incidents(now);
    }

    /// Opens incidents for every problem that has none and resolves those
    /// whose problem cleared. Keyed by kind and subject, so a problem has
    /// at most one open incident.
    fn reconcile_incidents(&mut self, now: SystemTime) {
        let mut wanted: BTreeMap<String, (IncidentKind, String, usize, Status, String)> =
            BTreeMap::new();
        for (idx, info) in self.layout.devices.iter().enumerate() {
            let shown = self
                .eval
                .devices
                .get(idx)
                .copied()
                .unwrap_or(Status::Unknown);
            let state = &self.devices[idx];
            let kind = match shown {
                Status::Down => IncidentKind::DeviceDown,
                Status::Degraded => IncidentKind::DeviceDegraded,
                Status::Unknown if state.is_polled() && state.state_type() == StateType::Hard => {
                    IncidentKind::DeviceUnknown
                }
                _ => continue,
            };
            let reason = state.reason().unwrap_or("no reason given");
            let title = match kind {
                IncidentKind::DeviceDown => format!("{} down: {reason}", info.id),
                IncidentKind::DeviceDegraded => format!("{} degraded: {reason}", info.id),
                _ => format!("{} cannot be checked: {reason}", info.id),
            };
            let key = format!("{}:{}", kind.name(), info.id);
            wanted.insert(key, (kind, info.id.clone(), info.venue, shown, title));
        }
        for (idx, info) in self.layout.groups.iter().enumerate() {
            let Some(g) = self.eval.groups.get(idx) else {
                continue;
            };
            let kind = match g.status {
                Status::Degraded => IncidentKind::RedundancyLost,
                Status::Down => IncidentKind::GroupDown,
                _ => continue,
            };
            let key = format!("{}:{}", kind.name(), info.id);
            let title = format!("{} {g}", info.id);
            wanted.insert(key, (kind, info.id.clone(), info.venue, g.status, title));
        }
        let gone: Vec<String> = self
            .incidents
            .keys()
            .filter(|k| !wanted.contains_key(*k))
            .cloned()
            .collect();
        let mut changed = !gone.is_empty();
        for key in gone {
            if let Some(incident) = self.incidents.remove(&key) {
                self.push_event(
                    now,
                    EventKind::IncidentResolved {
                        id: incident.id,
                        title: incident.title,
                    },
                );
            }
        }
        for (key, (kind, subject, venue, severity, title)) in wanted {
            if self.incidents.contains_key(&key) {
                continue;
            }
            let id = self.next_incident;
            self.next_incident += 1;
            self.push_event(
                now,
                EventKind::IncidentOpened {
                    id,
                    title: title.clone(),
                },
            );
            self.incidents.insert(
                key.clone(),
                Incident {
                    id,
                    key,
                    kind,
                    subject,
                    venue,
                    severity,
                    title,
                    opened: now,
                },
            );
            changed = true;
        }
        if changed {
            let mut list: Vec<Incident> = self.incidents.values().cloned().collect();
            list.sort_by(|a, b| {
                b.severity
                    .severity()
                    .cmp(&a.severity.severity())
                    .then(a.opened.cmp(&b.opened))
                    .then(a.id.cmp(&b.id))
            });
            self.incidents_arc = Arc::new(list);
        }
    }

    fn push_event(&mut self, at: SystemTime, kind: EventKind) {
        let event = Event { at, kind };
        if self.ticker.len() >= TICKER_LEN {
            self.ticker.pop_front();
        }
        self.ticker.push_back(event.clone());
        self.ticker_arc = None;
        self.dirty = true;
        self.pending.push(event);
        // Nobody drains `pending` when no one listens: keep it bounded.
        if self.pending.len() > 4 * TICKER_LEN {
            let excess = self.pending.len() - 4 * TICKER_LEN;
            self.pending.drain(..excess);
        }
    }
}

/// Why a device is unreachable, naming the root cause: the nearest
/// ancestors that are down themselves (`unreachable: STA-rtr-a DOWN,
/// STA-rtr-b DOWN`), followed through unreachable parents.
fn unreachable_reason(
    layout: &Layout,
    eval: &Evaluation,
    parents: Option<&[crate::model::DeviceIdx]>,
) -> String {
    let mut roots: Vec<usize> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut queue: VecDeque<usize> = parents.unwrap_or_default().iter().map(|p| p.0).collect();
    while let Some(p) = queue.pop_front() {
        if !seen.insert(p) {
            continue;
        }
        if eval.device(crate::model::DeviceIdx(p)) == Status::Unreachable {
            if let Some(d) = layout.devices.get(p) {
                queue.extend(d.parents.iter().copied());
            }
        } else {
            roots.push(p);
        }
    }
    let names: Vec<String> = roots
        .iter()
        .map(|&p| {
            let id = layout.devices.get(p).map_or("?", |d| d.id.as_str());
            format!("{id} {}", eval.device(crate::model::DeviceIdx(p)).word())
        })
        .collect();
    format!("unreachable: {}", names.join(", "))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::config::SourceFile;
    use crate::model::CheckResult;
    use crate::probe::{Outcome, Reading};

    fn inventory() -> Inventory {
        let src = SourceFile::new(
            "small.toml",
            include_str!("../../examples/venues-small.toml").to_owned(),
        );
        Inventory::parse(&src).expect("example parses").0
    }

    fn t(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
    }

    struct Rig {
        inv: Inventory,
        state: State,
        clock: u64,
    }

    impl Rig {
        fn new() -> Self {
            let inv = inventory();
            let state = State::new(&inv, t(0));
            Rig {
                inv,
                state,
                clock: 0,
            }
        }

        fn idx(&self, id: &str) -> usize {
            self.inv.device(id).expect("device exists").0.0
        }

        fn feed(&mut self, id: &str, result: CheckResult) {
            self.clock += 1;
            let device = self.idx(id);
            let mut outcome = Outcome::new(result).with_latency(Duration::from_millis(3));
            outcome.readings.push(Reading::new("sysName", id));
            self.state.observe(Observation {
                device,
                at: t(self.clock),
                start_delay: Duration::ZERO,
                outcome,
            });
        }

        /// Every device answers OK once.
        fn all_ok(&mut self) {
            let ids: Vec<String> = self.inv.devices.iter().map(|d| d.id.clone()).collect();
            for id in ids {
                self.feed(&id, CheckResult::Ok);
            }
        }

        fn fail_hard(&mut self, id: &str) {
            for _ in 0..self.inv.event.max_attempts {
                self.feed(id, CheckResult::Fail("no answer".to_owned()));
            }
        }

        fn snap(&mut self) -> Snapshot {
            self.state.snapshot(t(self.clock))
        }

        fn venue(snap: &Snapshot, code: &str) -> Status {
            let v = snap
                .layout
                .venues
                .iter()
                .position(|v| v.code == code)
                .expect("venue exists");
            snap.venues[v].eval.status
        }
    }

    #[test]
    fn before_any_check_everything_is_unknown_and_not_yet_polled() {
        let mut rig = Rig::new();
        let snap = rig.snap();
        assert_eq!(snap.wall, Status::Unknown);
        assert!(snap.devices.iter().all(|d| d.status == Status::Unknown
            && d.reason.as_deref() == Some("not yet polled")
            && d.last_check.is_none()));
        assert!(snap.incidents.is_empty());
        assert_eq!(snap.seq, 1);
    }

    #[test]
    fn all_ok_is_green_with_no_ticker_noise() {
        let mut rig = Rig::new();
        rig.all_ok();
        let snap = rig.snap();
        assert_eq!(snap.wall, Status::Ok);
        assert!(snap.devices.iter().all(|d| d.status == Status::Ok));
        assert!(
            snap.ticker
                .iter()
                .all(|e| !matches!(e.kind, EventKind::Device { .. })),
            "first answers are not events: {:?}",
            snap.ticker
        );
        assert!(snap.incidents.is_empty());
    }

    #[test]
    fn a_group_waiting_for_its_first_answers_opens_no_incident() {
        let mut rig = Rig::new();
        rig.feed("STA-ovr-a", CheckResult::Ok);
        let snap = rig.snap();
        assert!(snap.incidents.is_empty(), "{:?}", snap.incidents);
        assert!(
            snap.ticker.is_empty(),
            "nothing happened yet: {:?}",
            snap.ticker
        );
    }

    #[test]
    fn a_soft_failure_is_shown_in_the_device_but_not_on_the_wall() {
        let mut rig = Rig::new();
        rig.all_ok();
        rig.snap();
        rig.feed(
            "STA-timing",
            CheckResult::Fail("connect timed out".to_owned()),
        );
        assert!(rig.state.is_dirty());
        assert!(!rig.state.is_urgent(), "a soft failure is not urgent");
        let snap = rig.snap();
        let d = &snap.devices[rig.idx("STA-timing")];
        assert_eq!(d.status, Status::Ok);
        assert_eq!(d.raw, Status::Down);
        assert_eq!(d.state_type, StateType::Soft);
        assert_eq!(d.attempt, 1);
        assert_eq!(d.reason.as_deref(), Some("connect timed out"));
        assert_eq!(Rig::venue(&snap, "STA"), Status::Ok);
        assert_eq!(d.history.len(), 2);
    }

    #[test]
    fn losing_one_member_of_a_pair_is_orange_and_both_is_red() {
        let mut rig = Rig::new();
        rig.all_ok();
        rig.snap();
        rig.fail_hard("STA-ovr-a");
        assert!(rig.state.is_urgent());
        let snap = rig.snap();
        assert_eq!(Rig::venue(&snap, "STA"), Status::Degraded);
        assert_eq!(snap.wall, Status::Degraded);
        let keys: Vec<&str> = snap.incidents.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["device-down:STA-ovr-a", "redundancy-lost:STA-ovr"]);
        assert_eq!(snap.venues[0].incidents, 2);
        rig.fail_hard("STA-ovr-b");
        let snap = rig.snap();
        assert_eq!(Rig::venue(&snap, "STA"), Status::Down);
        assert_eq!(snap.wall, Status::Down);
        let keys: Vec<&str> = snap.incidents.iter().map(|i| i.key.as_str()).collect();
        assert!(keys.contains(&"group-down:STA-ovr"), "{keys:?}");
        assert!(
            !keys.contains(&"redundancy-lost:STA-ovr"),
            "redundancy-lost resolves when the group goes down: {keys:?}"
        );
        assert_eq!(Rig::venue(&snap, "MRN"), Status::Ok);
    }

    #[test]
    fn uplink_down_makes_children_unreachable_without_incidents_of_their_own() {
        let mut rig = Rig::new();
        rig.all_ok();
        rig.snap();
        for id in [
            "STA-rtr-a",
            "STA-rtr-b",
            "STA-core",
            "STA-acc-01",
            "STA-timing",
        ] {
            rig.fail_hard(id);
        }
        let snap = rig.snap();
        for id in ["STA-core", "STA-acc-01", "STA-timing"] {
            let d = &snap.devices[rig.idx(id)];
            assert_eq!(d.status, Status::Unreachable, "{id}");
            assert!(
                d.reason
                    .as_deref()
                    .is_some_and(|r| r.starts_with("unreachable: STA-rtr-a DOWN, STA-rtr-b DOWN")),
                "{id}: {:?}",
                d.reason
            );
            assert!(
                snap.incidents.iter().all(|i| i.subject != id),
                "no incident for unreachable {id}"
            );
        }
        assert!(
            snap.incidents
                .iter()
                .any(|i| i.key == "group-down:STA-uplink")
        );
        // A later check of an unreachable child keeps the root cause as
        // its reason.
        rig.feed(
            "STA-timing",
            CheckResult::Fail("connect timed out".to_owned()),
        );
        let snap = rig.snap();
        let d = &snap.devices[rig.idx("STA-timing")];
        assert!(
            d.reason.as_deref().is_some_and(|r| r.contains("STA-rtr-a")),
            "{:?}",
            d.reason
        );
    }

    #[test]
    fn recovery_resolves_incidents_and_says_so_in_the_ticker() {
        let mut rig = Rig::new();
        rig.all_ok();
        rig.fail_hard("MRN-scb");
        let snap = rig.snap();
        let id = snap.incidents[0].id;
        assert_eq!(snap.incidents[0].key, "device-down:MRN-scb");
        rig.feed("MRN-scb", CheckResult::Ok);
        assert!(rig.state.is_urgent(), "recovery is published at once");
        let snap = rig.snap();
        assert!(snap.incidents.is_empty());
        let last = snap.ticker.last().expect("events");
        assert!(
            matches!(&last.kind, EventKind::IncidentResolved { id: i, .. } if *i == id),
            "{last:?}"
        );
        let events = rig.state.take_events();
        assert!(
            events
                .iter()
                .any(|e| matches!(e.kind, EventKind::IncidentOpened { .. }))
        );
    }

    #[test]
    fn an_incident_is_opened_once_per_problem() {
        let mut rig = Rig::new();
        rig.all_ok();
        rig.fail_hard("MRN-scb");
        for _ in 0..5 {
            rig.feed("MRN-scb", CheckResult::Fail("still down".to_owned()));
        }
        let snap = rig.snap();
        assert_eq!(snap.incidents.len(), 1);
        let opened = snap
            .ticker
            .iter()
            .filter(|e| matches!(e.kind, EventKind::IncidentOpened { .. }))
            .count();
        assert_eq!(opened, 1);
    }

    #[test]
    fn unknown_after_polling_opens_a_cannot_check_incident() {
        let mut rig = Rig::new();
        rig.all_ok();
        for _ in 0..3 {
            rig.feed(
                "MRN-core",
                CheckResult::Unknown("usmStatsWrongDigests".to_owned()),
            );
        }
        let snap = rig.snap();
        assert_eq!(snap.incidents.len(), 1);
        assert_eq!(snap.incidents[0].kind, IncidentKind::DeviceUnknown);
        assert!(snap.incidents[0].title.contains("usmStatsWrongDigests"));
    }

    #[test]
    fn maintenance_silences_a_down_device() {
        let mut rig = Rig::new();
        rig.all_ok();
        rig.fail_hard("MRN-scb");
        rig.snap();
        assert!(rig.state.set_maintenance(rig.idx("MRN-scb"), true, t(99)));
        let snap = rig.snap();
        assert_eq!(snap.devices[rig.idx("MRN-scb")].status, Status::Maintenance);
        assert!(snap.incidents.is_empty());
        assert!(!rig.state.set_maintenance(10_000, true, t(99)));
    }

    #[test]
    fn history_is_bounded_and_readings_follow_the_last_check() {
        let mut rig = Rig::new();
        for _ in 0..(HISTORY_LEN + 5) {
            rig.feed("STA-core", CheckResult::Ok);
        }
        let snap = rig.snap();
        let d = &snap.devices[rig.idx("STA-core")];
        assert_eq!(d.history.len(), HISTORY_LEN);
        assert_eq!(d.last_check, Some(t(rig.clock)));
        assert_eq!(d.latency, Some(Duration::from_millis(3)));
        assert_eq!(d.readings, vec![Reading::new("sysName", "STA-core")]);
    }

    #[test]
    fn strays_are_counted_not_fatal() {
        let mut rig = Rig::new();
        rig.state.observe(Observation {
            device: 9999,
            at: t(1),
            start_delay: Duration::ZERO,
            outcome: Outcome::new(CheckResult::Ok),
        });
        assert_eq!(rig.state.strays, 1);
        assert_eq!(rig.snap().stats.observations, 1);
    }

    #[test]
    fn the_ticker_is_bounded() {
        let mut rig = Rig::new();
        rig.all_ok();
        let scb = rig.idx("MRN-scb");
        for i in 0..(TICKER_LEN + 50) {
            rig.state.set_maintenance(scb, i % 2 == 0, t(10));
        }
        let snap = rig.snap();
        assert_eq!(snap.ticker.len(), TICKER_LEN);
    }

    #[test]
    fn unchanged_devices_share_their_snapshot_between_publishes() {
        let mut rig = Rig::new();
        rig.all_ok();
        let a = rig.snap();
        rig.feed("STA-core", CheckResult::Ok);
        let b = rig.snap();
        let core = rig.idx("STA-core");
        let timing = rig.idx("STA-timing");
        assert!(Arc::ptr_eq(&a.devices[timing], &b.devices[timing]));
        assert!(!Arc::ptr_eq(&a.devices[core], &b.devices[core]));
        assert!(Arc::ptr_eq(&a.layout, &b.layout));
        assert_eq!(b.seq, a.seq + 1);
    }
}
