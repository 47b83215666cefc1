//! The engine's live state as a plain value: observations and commands go
//! in, snapshots and events come out. No IO and no clock of its own: the
//! caller says what time it is, so tests drive it deterministically.
//!
//! `State` is a composition of pure parts, each with its own tests and an
//! `apply(…)` that returns what changed:
//!
//! - [`Board`]: devices, redundancy groups, venues and the wall;
//! - [`IncidentBook`]: one open incident per problem of the board;
//! - [`EventLog`]: the ticker and the events to broadcast, numbered;
//! - [`Host`]: the TOC host.
//!
//! Playbook runs and the relay view join as parts of their own.

mod board;
mod host;
mod incident_cmds;
mod incidents;
mod log;
pub mod maint;
pub mod relay;
pub mod runs;
mod since;

use std::sync::Arc;
use std::time::SystemTime;

pub use board::{Board, Observed, Problem};
pub use host::Host;
/// How many of the newest commands a snapshot carries for `:audit`.
pub const AUDIT_SHOWN: usize = 200;

pub use incidents::{IncidentBook, Notice, TIMELINE_SHOWN, key_of, parse_id};
pub use log::EventLog;
pub use since::Since;

use crate::config::Inventory;
use crate::incident::lifecycle::Policy as IncidentPolicy;
use crate::model::{HostSample, Observation, Policy};

use super::snapshot::{EngineStats, EventKind, Layout, Snapshot, VenueSnap};

/// The lifecycle's policy from venues.toml's `[incidents]`.
fn incident_policy(cfg: &crate::config::venues::IncidentPolicy) -> IncidentPolicy {
    IncidentPolicy {
        resolve_hold: cfg.resolve_hold,
        reopen_window: cfg.reopen_window,
        ack_timeout_down: cfg.ack_timeout.down,
        ack_timeout_degraded: cfg.ack_timeout.degraded,
        ack_timeout_unknown: cfg.ack_timeout.unknown,
    }
}

/// Everything the engine knows, owned by its task alone.
#[derive(Debug)]
pub struct State {
    started: SystemTime,
    board: Board,
    incidents: IncidentBook,
    maint: maint::Maint,
    log: EventLog,
    host: Host,
    since: Since,
    faults: Arc<Vec<super::snapshot::SimFault>>,
    /// Why the audit log cannot be written, while it cannot.
    audit_failing: Option<String>,
    /// The newest commands and what came of them (`:audit`).
    audit: Arc<Vec<super::port::AuditRecord>>,
    stats: EngineStats,
    seq: u64,
    /// Something changed since the last snapshot.
    dirty: bool,
    /// A hard status changed: the next snapshot should go out at once.
    urgent: bool,
    /// Observations for device indices the inventory does not have.
    pub strays: u64,
    /// The result relay's health, from its summaries.
    relay: relay::RelayWatch,
    /// The relay's problems changed since the incidents last saw them.
    relay_changed: bool,
    /// Playbook runs.
    runs: runs::Runs,
    /// Notifications the runs' notify steps asked for.
    run_notices: Vec<Notice>,
}

impl State {
    /// A state with every device not yet polled; incident ids of run 0.
    pub fn new(inventory: &Inventory, started: SystemTime) -> Self {
        Self::with_run(inventory, started, 0)
    }

    /// A state whose incident ids carry `run` (the wiring counts the
    /// engine's starts, so ids never collide across restarts).
    pub fn with_run(inventory: &Inventory, started: SystemTime, run: u32) -> Self {
        let layout = Arc::new(Layout::from_inventory(inventory));
        let mut by_code: Vec<usize> = (0..layout.venues.len()).collect();
        by_code.sort_by(|&a, &b| layout.venues[a].code.cmp(&layout.venues[b].code));
        let mut venue_rank = vec![0; by_code.len()];
        for (rank, &v) in by_code.iter().enumerate() {
            venue_rank[v] = rank;
        }
        let policy = Policy {
            max_attempts: inventory.event.max_attempts,
            flap_high: inventory.event.flap_high,
            flap_low: inventory.event.flap_low,
        };
        let since = Since::new(layout.devices.len(), layout.venues.len());
        State {
            started,
            board: Board::new(Arc::clone(&layout), inventory.topology(), policy),
            incidents: IncidentBook::new(
                run,
                Arc::clone(&layout),
                venue_rank,
                incident_policy(&inventory.incidents),
            ),
            maint: maint::Maint::new(&inventory.maintenance, &layout),
            log: EventLog::default(),
            host: Host::default(),
            since,
            faults: Arc::default(),
            audit_failing: None,
            audit: Arc::default(),
            stats: EngineStats::default(),
            seq: 0,
            dirty: true,
            urgent: false,
            strays: 0,
            relay: relay::RelayWatch::new(Arc::clone(&layout), started),
            relay_changed: false,
            runs: runs::Runs::default(),
            run_notices: Vec::new(),
        }
    }

    /// The static layout shared by every snapshot.
    pub fn layout(&self) -> &Arc<Layout> {
        self.board.layout()
    }

    /// Whether anything changed since the last snapshot.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Whether a hard status changed since the last snapshot (publish now).
    pub fn is_urgent(&self) -> bool {
        self.urgent
    }

    /// The relay's newest summary.
    pub fn set_relay(&mut self, status: Arc<crate::model::relay::RelayStatus>, now: SystemTime) {
        if self.relay.set(status, now) {
            self.relay_changed = true;
            self.urgent = true;
        }
        self.dirty = true;
    }

    /// Records one check result.
    pub fn observe(&mut self, obs: Observation) {
        self.stats.observations += 1;
        let at = obs.at;
        let handed = obs.at + obs.took;
        let Some(observed) = self.board.apply(obs) else {
            self.strays += 1;
            return;
        };
        self.dirty = true;
        self.urgent |= observed.hard;
        if observed.hard {
            self.stats.last_change = Some(self.stats.last_change.map_or(handed, |t| t.max(handed)));
        }
        for kind in observed.events {
            self.log.apply(at, kind);
        }
    }

    /// Brings the roll-up and the incidents up to date after hard
    /// changes; cheap when there were none. The engine calls it once per
    /// batch of inputs.
    pub fn settle(&mut self, now: SystemTime) {
        if !self.board.needs_eval() && !self.relay_changed {
            return;
        }
        self.relay_changed = false;
        let before = since::Shown::of(self.board.eval());
        for kind in self.board.settle() {
            self.log.apply(now, kind);
        }
        let after = since::Shown::of(self.board.eval());
        self.since.apply(&before, &after, self.board.snaps(), now);
        let mut problems = self.board.problems();
        problems.extend(self.relay.problems().iter().cloned());
        self.incidents.apply(problems, |_| false, now);
        self.took_incidents(now);
        self.dirty = true;
    }

    /// Brings the roll-up up to date and moves the playbook runs on, when
    /// any run is live (a check's fresh reading, a wait's condition): the
    /// engine calls it after every batch of inputs.
    pub fn step_runs(&mut self, now: SystemTime) {
        if self.runs.any_live() {
            self.settle(now);
            self.advance_runs(now);
        }
    }

    /// What a maintenance command will do: the window to set (and the
    /// devices it covers), or the target whose window set from the
    /// console is lifted; or why not. Changes nothing.
    pub fn plan_maintenance(
        &self,
        by: &str,
        target: &str,
        window: Option<(Option<std::time::Duration>, &str)>,
        now: SystemTime,
    ) -> Result<(super::port::StoreOp, usize), super::command::Refusal> {
        use super::command::Refusal;
        let layout = self.board.layout();
        let Some(scope) = maint::Maint::scope_of(layout, target) else {
            return Err(Refusal::Invalid(format!(
                "no device, group or venue called `{target}`"
            )));
        };
        let devices = maint::Maint::devices_of(layout, scope);
        let Some((duration, reason)) = window else {
            if self.maint.by_hand(target).is_some() {
                return Ok((
                    super::port::StoreOp::MaintenanceEnded {
                        target: target.to_owned(),
                    },
                    devices,
                ));
            }
            return Err(Refusal::Invalid(match self.maint.by_file(target, now) {
                Some(w) => format!(
                    "{target} is in maintenance by venues.toml until {} ({}); change the file to end it",
                    humantime::format_rfc3339_seconds(w.end),
                    w.reason
                ),
                None => format!("{target} has no maintenance set from the console"),
            }));
        };
        let Some(duration) = duration.filter(|d| !d.is_zero()) else {
            return Err(Refusal::Invalid(
                "maintenance needs a duration, like `:maint STA-core-a 2h swap the PSU`".to_owned(),
            ));
        };
        if duration > crate::config::value::MAX_DURATION {
            return Err(Refusal::Invalid(format!(
                "maintenance lasts at most {}",
                humantime::format_duration(crate::config::value::MAX_DURATION)
            )));
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Refusal::Invalid(
                "say why: `:maint TARGET DURATION REASON`".to_owned(),
            ));
        }
        let record = crate::incident::record::Maintenance {
            target: target.to_owned(),
            start: now,
            end: now + duration,
            reason: reason.to_owned(),
            by: by.to_owned(),
        };
        Ok((super::port::StoreOp::Maintenance(record), devices))
    }

    /// Sets or lifts a window as [`State::plan_maintenance`] planned it.
    pub fn commit_maintenance(&mut self, op: &super::port::StoreOp, now: SystemTime) {
        match op {
            super::port::StoreOp::Maintenance(record) => {
                let layout = Arc::clone(self.board.layout());
                if let Some(scope) = maint::Maint::scope_of(&layout, &record.target) {
                    self.maint.set(record.clone(), scope, &layout);
                }
            }
            super::port::StoreOp::MaintenanceEnded { target } => {
                self.maint.lift(target);
            }
            _ => return,
        }
        self.apply_maintenance(now);
        self.dirty = true;
    }

    /// Sets a maintenance window from now, for `duration`, as `by` (plans
    /// and commits at once, as an engine without a store does); how many
    /// devices it covers, or why not.
    pub fn maintain(
        &mut self,
        target: &str,
        duration: std::time::Duration,
        reason: &str,
        by: &str,
        now: SystemTime,
    ) -> Result<usize, super::command::Refusal> {
        let (op, devices) =
            self.plan_maintenance(by, target, Some((Some(duration), reason)), now)?;
        self.commit_maintenance(&op, now);
        Ok(devices)
    }

    /// Takes back the maintenance windows the store kept, at start.
    pub fn restore_maintenance(
        &mut self,
        kept: Vec<crate::incident::record::Maintenance>,
        now: SystemTime,
    ) {
        let layout = Arc::clone(self.board.layout());
        self.maint.restore(kept, &layout, now);
        self.apply_maintenance(now);
        self.dirty = true;
    }

    /// Puts on the board what the maintenance windows and the devices by
    /// hand say now; an incident already open on a covered subject stays,
    /// marked, and notifies no more.
    fn apply_maintenance(&mut self, now: SystemTime) {
        let (changes, reason) = self.maint.changes(now);
        for (device, on) in &changes {
            self.board.set_maintenance(*device, *on);
        }
        let layout = Arc::clone(self.board.layout());
        let maint = &self.maint;
        self.incidents
            .set_maintenance(|r| maint.covers(r, &layout), true, &reason, now);
        self.incidents
            .set_maintenance(|r| !maint.covers(r, &layout), false, &reason, now);
        self.took_incidents(now);
        if !changes.is_empty() {
            self.urgent = true;
            self.dirty = true;
            self.settle(now);
        }
    }

    /// Devices to check now, once each (parents whose verdict a failing
    /// child waits for, children of a parent that recovered); the engine
    /// hands them to the poller.
    pub fn take_checks(&mut self) -> Vec<usize> {
        let mut checks = self.board.take_checks();
        checks.extend(self.runs.take_checks());
        checks
    }

    /// Records the simulator's faults in force (the task asks its fault
    /// port after a command and now and then).
    pub fn set_faults(&mut self, faults: Vec<super::snapshot::SimFault>) {
        if *self.faults != faults {
            self.faults = Arc::new(faults);
            self.dirty = true;
        }
    }

    /// Records whether the audit log can be written (`None`) or why not:
    /// consoles show a banner while it cannot.
    pub fn set_audit_failing(&mut self, why: Option<String>) {
        if self.audit_failing != why {
            self.audit_failing = why;
            self.dirty = true;
            self.urgent = true;
        }
    }

    /// Records a sample of the TOC host.
    pub fn set_host(&mut self, host: HostSample) {
        self.host.apply(host);
        self.dirty = true;
    }

    /// Records that a user's command was applied.
    pub fn command_applied(&mut self, user: &str, text: &str, now: SystemTime) {
        self.stats.commands += 1;
        self.log.apply(
            now,
            EventKind::Command {
                user: user.to_owned(),
                text: text.to_owned(),
            },
        );
        self.dirty = true;
    }

    /// Keeps a command's record for the console's `:audit` (the newest
    /// [`AUDIT_SHOWN`]).
    pub fn audited(&mut self, record: super::port::AuditRecord) {
        let audit = Arc::make_mut(&mut self.audit);
        audit.push(record);
        if audit.len() > AUDIT_SHOWN {
            audit.remove(0);
        }
        self.dirty = true;
    }

    /// Takes back the timelines of the incidents the store kept, at start.
    pub fn restore_timeline(&mut self, entries: &[crate::incident::record::TimelineEntry]) {
        self.incidents.remember(entries);
        self.incidents.relist_now();
        self.dirty = true;
    }

    /// Counts a refused command.
    pub fn command_refused(&mut self) {
        self.stats.commands += 1;
    }

    /// What time alone does to incidents (resolve after the hold,
    /// acknowledgement expiry, escalation); the engine calls it every
    /// second.
    pub fn tick(&mut self, now: SystemTime) {
        if self.relay.judge(now) {
            self.relay_changed = true;
            self.dirty = true;
        }
        if self.maint.windows_changed(now) {
            self.apply_maintenance(now);
        }
        self.incidents.tick(now);
        self.took_incidents(now);
        self.advance_runs(now);
    }

    /// Takes back the incidents the store kept, at start.
    pub fn restore_incidents(
        &mut self,
        records: Vec<crate::incident::IncidentRecord>,
        now: SystemTime,
    ) {
        self.incidents.restore(records, now);
        self.dirty = true;
    }

    /// Puts the incident book's ticker events in the log.
    fn took_incidents(&mut self, now: SystemTime) {
        let events = self.incidents.take_events();
        if events.is_empty() {
            return;
        }
        for kind in events {
            self.log.apply(now, kind);
        }
        self.dirty = true;
        self.urgent = true;
    }

    /// What the store has yet to be given, in order.
    pub fn take_store(&mut self) -> Vec<super::port::StoreOp> {
        let mut ops = self.maint.take_store();
        ops.extend(self.incidents.take_store());
        ops.extend(self.runs.take_store());
        ops
    }

    /// Notifications to send since the last call.
    pub fn take_notices(&mut self) -> Vec<Notice> {
        let mut notices = self.incidents.take_notices();
        notices.append(&mut self.run_notices);
        notices
    }

    /// Records an event from outside the board (the audit log failing or
    /// recovering).
    pub fn tell(&mut self, now: SystemTime, kind: EventKind) {
        self.log.apply(now, kind);
        self.dirty = true;
    }

    /// Events since the last call, oldest first (for the broadcast
    /// channel).
    pub fn take_events(&mut self) -> Vec<super::snapshot::Event> {
        self.log.take()
    }

    /// Builds the snapshot of this moment and clears the dirty flags.
    pub fn snapshot(&mut self, now: SystemTime) -> Snapshot {
        self.settle(now);
        self.seq += 1;
        self.stats.snapshots += 1;
        self.dirty = false;
        self.urgent = false;
        let layout = Arc::clone(self.board.layout());
        let eval = self.board.eval();
        let per_venue = self.incidents.per_venue(layout.venues.len());
        let feeds = self.relay.feeds().to_vec();
        // A feed that lost a source or went stale colours its venue.
        let mut venue_evals = eval.venues.clone();
        for (f, status) in feeds.iter().enumerate() {
            if matches!(
                status,
                crate::model::Status::Down | crate::model::Status::Degraded
            ) && let Some(e) = layout
                .feeds
                .get(f)
                .and_then(|info| venue_evals.get_mut(info.venue.0))
            {
                e.status = crate::model::worst([e.status, *status]);
            }
        }
        let wall = if venue_evals.is_empty() {
            eval.wall
        } else {
            crate::model::worst(venue_evals.iter().map(|e| e.status))
        };
        Snapshot {
            seq: self.seq,
            events_seq: self.log.last_seq(),
            at: now,
            started: self.started,
            wall,
            venues: venue_evals
                .iter()
                .zip(per_venue)
                .enumerate()
                .map(|(v, (eval, incidents))| VenueSnap {
                    eval: *eval,
                    incidents,
                    since: self.since.venue(v),
                })
                .collect(),
            groups: eval.groups.clone(),
            devices: self.board.snaps().to_vec(),
            changes: self.since.devices(),
            faults: Arc::clone(&self.faults),
            audit_failing: self.audit_failing.clone(),
            incidents: Arc::clone(self.incidents.list()),
            host: self.host.latest().cloned(),
            ticker: self.log.ticker(),
            stats: self.stats,
            maintenance: Arc::new(self.maint.in_force()),
            audit: Arc::clone(&self.audit),
            relay: self.relay.status().cloned(),
            feeds,
            layout,
            playbooks: Arc::clone(self.runs.books()),
            runs: Arc::clone(self.runs.shown()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::config::SourceFile;
    use crate::engine::snapshot::{HISTORY_LEN, Incident, TICKER_LEN};
    use crate::model::{CheckResult, Outcome, ProblemKind, Reading, StateType, Status};

    /// An incident's key as an operator reads it (`device-down:MRN-scb`).
    fn key(i: &Incident) -> String {
        format!("{}:{}", i.key.kind.name(), i.subject)
    }

    fn inventory() -> Inventory {
        let src = SourceFile::new(
            "small.toml",
            include_str!("../../../examples/venues-small.toml").to_owned(),
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
        /// What each device answers when checked (OK unless fed otherwise).
        answers: std::collections::HashMap<usize, CheckResult>,
    }

    impl Rig {
        fn new() -> Self {
            let inv = inventory();
            let state = State::new(&inv, t(0));
            Rig {
                inv,
                state,
                clock: 0,
                answers: std::collections::HashMap::new(),
            }
        }

        fn idx(&self, id: &str) -> usize {
            self.inv.device(id).expect("device exists").0.0
        }

        /// One check result of `id`; then, as the poller would, every
        /// check the engine asks for now, each device answering as it
        /// last did.
        fn feed(&mut self, id: &str, result: CheckResult) {
            let device = self.idx(id);
            self.answers.insert(device, result.clone());
            self.observe(device, result);
            for _ in 0..100 {
                let wanted = self.state.take_checks();
                if wanted.is_empty() {
                    return;
                }
                for d in wanted {
                    let answer = self.answers.get(&d).cloned().unwrap_or(CheckResult::Ok);
                    self.observe(d, answer);
                }
            }
            panic!("check-now requests never end");
        }

        fn observe(&mut self, device: usize, result: CheckResult) {
            self.clock += 1;
            let id = self.inv.devices[device].id.clone();
            let mut outcome = Outcome::new(result).with_latency(Duration::from_millis(3));
            outcome.readings.push(Reading::new("sysName", id));
            self.state.observe(Observation {
                device,
                at: t(self.clock),
                start_delay: Duration::ZERO,
                took: Duration::ZERO,
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

        /// Fails `id` until it is hard down (a device with parents waits
        /// for their verdict once).
        fn fail_hard(&mut self, id: &str) {
            for _ in 0..=self.inv.event.max_attempts {
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
        rig.answers.insert(rig.idx("STA-core"), CheckResult::Ok);
        // The first failure waits for the parents' verdict: STA-core is
        // checked at once, answers, and the failure counts.
        for attempt in [1, 2] {
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
            assert_eq!(d.attempt, attempt);
            assert_eq!(d.reason.as_deref(), Some("connect timed out"));
            assert_eq!(Rig::venue(&snap, "STA"), Status::Ok);
            let core = &snap.devices[rig.idx("STA-core")];
            // The first time only: then the verdict is in.
            assert_eq!(
                core.last_check > d.last_check,
                attempt == 1,
                "the parent is checked after the child first fails"
            );
        }
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
        let keys: Vec<String> = snap.incidents.iter().map(key).collect();
        assert_eq!(keys, ["redundancy-lost:STA-ovr"], "one cause, one incident");
        assert_eq!(snap.incidents[0].severity, Status::Degraded);
        assert!(
            snap.incidents[0].title.contains("STA-ovr-a down"),
            "{}",
            snap.incidents[0].title
        );
        let id = snap.incidents[0].id;
        assert_eq!(snap.venues[0].incidents, 1);
        rig.fail_hard("STA-ovr-b");
        let snap = rig.snap();
        assert_eq!(Rig::venue(&snap, "STA"), Status::Down);
        assert_eq!(snap.wall, Status::Down);
        let keys: Vec<String> = snap.incidents.iter().map(key).collect();
        assert_eq!(keys, ["group-down:STA-ovr"]);
        assert_eq!(snap.incidents[0].id, id, "the same incident, raised");
        assert_eq!(snap.incidents[0].severity, Status::Down);
        assert!(snap.ticker.iter().any(|e| matches!(
            &e.kind,
            EventKind::IncidentSeverity { id: i, from: Status::Degraded, to: Status::Down, .. } if *i == id
        )));
        assert!(
            !snap
                .ticker
                .iter()
                .any(|e| matches!(e.kind, EventKind::IncidentResolved { .. })),
            "nothing resolved: {:?}",
            snap.ticker
        );
        assert_eq!(Rig::venue(&snap, "MRN"), Status::Ok);
        // One member back: lowered, still the same incident.
        rig.feed("STA-ovr-a", CheckResult::Ok);
        let snap = rig.snap();
        assert_eq!(snap.incidents.len(), 1);
        assert_eq!(snap.incidents[0].id, id);
        assert_eq!(snap.incidents[0].key.kind, ProblemKind::RedundancyLost);
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
                .any(|i| key(i) == "group-down:STA-uplink")
        );
        // The devices behind the routers are one line on the ticker.
        let behind: Vec<&EventKind> = snap
            .ticker
            .iter()
            .map(|e| &e.kind)
            .filter(|k| {
                matches!(
                    k,
                    EventKind::Devices {
                        to: Status::Unreachable,
                        ..
                    } | EventKind::Device {
                        to: Status::Unreachable,
                        ..
                    }
                )
            })
            .collect();
        assert!(
            matches!(behind.as_slice(), [EventKind::Devices { count, reason: Some(r), .. }]
                if *count >= 3 && r.starts_with("unreachable: STA-rtr-a DOWN")),
            "{behind:?}"
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
        assert_eq!(key(&snap.incidents[0]), "device-down:MRN-scb");
        rig.feed("MRN-scb", CheckResult::Ok);
        assert!(rig.state.is_urgent(), "recovery is published at once");
        let snap = rig.snap();
        assert_eq!(snap.incidents.len(), 1, "resolved only after the hold");
        rig.state.tick(t(rig.clock + 119));
        assert_eq!(rig.snap().incidents.len(), 1);
        rig.state.tick(t(rig.clock + 121));
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
        for _ in 0..4 {
            rig.feed(
                "MRN-core",
                CheckResult::Unknown("usmStatsWrongDigests".to_owned()),
            );
        }
        let snap = rig.snap();
        assert_eq!(snap.incidents.len(), 1);
        assert_eq!(snap.incidents[0].key.kind, ProblemKind::DeviceUnknown);
        assert!(snap.incidents[0].title.contains("usmStatsWrongDigests"));
    }

    #[test]
    fn maintenance_silences_a_down_device() {
        let mut rig = Rig::new();
        rig.all_ok();
        rig.fail_hard("MRN-scb");
        rig.snap();
        maint(&mut rig, "MRN-scb", Some(100_000), t(99)).expect("a device");
        let snap = rig.snap();
        assert_eq!(snap.devices[rig.idx("MRN-scb")].status, Status::Maintenance);
        // The incident already open stays, marked, and never resolves by
        // the board's silence.
        assert_eq!(snap.incidents.len(), 1);
        assert!(snap.incidents[0].in_maintenance);
        rig.state.tick(t(10_000));
        assert!(
            rig.state
                .take_notices()
                .iter()
                .all(|n| n.kind != crate::incident::lifecycle::Notify::Escalated)
        );
        assert_eq!(rig.snap().incidents.len(), 1);
        assert!(maint(&mut rig, "MRN-nope", Some(60), t(99)).is_err());
    }

    /// Sets (`Some(seconds)`) or lifts a window from the console as the
    /// task does: planned, then committed.
    fn maint(
        rig: &mut Rig,
        target: &str,
        secs: Option<u64>,
        now: SystemTime,
    ) -> Result<usize, super::super::command::Refusal> {
        let window = secs.map(|s| (Some(Duration::from_secs(s)), "works"));
        let (op, devices) = rig.state.plan_maintenance("ana", target, window, now)?;
        rig.state.commit_maintenance(&op, now);
        Ok(devices)
    }

    #[test]
    fn a_group_or_a_venue_in_maintenance_covers_its_devices_until_its_end() {
        let mut rig = Rig::new();
        rig.all_ok();
        let members = ["MRN-ovr-a", "MRN-ovr-b"];
        assert_eq!(maint(&mut rig, "MRN-ovr", Some(600), t(100)), Ok(2));
        let snap = rig.snap();
        for m in members {
            assert_eq!(snap.devices[rig.idx(m)].status, Status::Maintenance, "{m}");
        }
        assert_ne!(
            snap.devices[rig.idx("MRN-core")].status,
            Status::Maintenance
        );
        assert_eq!(snap.maintenance.len(), 1);
        assert_eq!(snap.maintenance[0].by, "ana");
        // Nothing fails loudly inside it.
        rig.fail_hard("MRN-ovr-a");
        assert!(rig.snap().incidents.is_empty());
        // A venue covers every device of it.
        let venue = maint(&mut rig, "MRN", Some(60), t(101)).expect("a venue");
        assert_eq!(
            venue,
            rig.state
                .layout()
                .venue_info(crate::model::VenueIdx(1))
                .map_or(0, |v| v.devices.len())
        );
        // At its end the venue's window is gone; the group's still holds.
        rig.state.tick(t(161));
        let snap = rig.snap();
        assert_ne!(
            snap.devices[rig.idx("MRN-core")].status,
            Status::Maintenance
        );
        assert_eq!(
            snap.devices[rig.idx("MRN-ovr-b")].status,
            Status::Maintenance
        );
        // Lifted by hand: gone now.
        assert_eq!(maint(&mut rig, "MRN-ovr", None, t(200)), Ok(2));
        assert!(rig.snap().maintenance.is_empty());
        assert_ne!(
            rig.snap().devices[rig.idx("MRN-ovr-b")].status,
            Status::Maintenance
        );
    }

    #[test]
    fn maintenance_refusals_say_why() {
        let mut rig = Rig::new();
        let why =
            |r: Result<usize, super::super::command::Refusal>| r.expect_err("refused").to_string();
        assert!(
            why(maint(&mut rig, "MRN-scb", None, t(1)))
                .contains("no maintenance set from the console")
        );
        assert!(
            why(maint(&mut rig, "nowhere", Some(60), t(1)))
                .contains("no device, group or venue called `nowhere`")
        );
        assert!(why(maint(&mut rig, "MRN", Some(31 * 86_400), t(1))).contains("at most"));
        let none = rig
            .state
            .plan_maintenance("ana", "MRN", Some((None, "x")), t(1));
        assert!(
            none.expect_err("no duration")
                .to_string()
                .contains("needs a duration")
        );
        let blank = rig.state.plan_maintenance(
            "ana",
            "MRN",
            Some((Some(Duration::from_secs(60)), "  ")),
            t(1),
        );
        assert!(
            blank
                .expect_err("no reason")
                .to_string()
                .contains("say why")
        );
        // A window of the file is ended by the file, not from the console.
        let start = UNIX_EPOCH + Duration::from_secs(1_721_937_600);
        rig.state.tick(start);
        let msg = why(maint(&mut rig, "STA", None, start));
        assert!(
            msg.contains("by venues.toml until 2024-07-26T04:00:00Z"),
            "{msg}"
        );
    }

    #[test]
    fn windows_set_from_the_console_come_back_from_the_store() {
        let mut rig = Rig::new();
        rig.all_ok();
        let kept = vec![
            crate::incident::record::Maintenance {
                target: "MRN-scb".into(),
                start: t(0),
                end: t(1_000),
                reason: "scb swap".into(),
                by: "ana".into(),
            },
            crate::incident::record::Maintenance {
                target: "MRN-core".into(),
                start: t(0),
                end: t(5),
                reason: "over".into(),
                by: "ana".into(),
            },
            crate::incident::record::Maintenance {
                target: "GONE".into(),
                start: t(0),
                end: t(1_000),
                reason: "file window removed".into(),
                by: maint::FILE_BY.into(),
            },
        ];
        rig.state.restore_maintenance(kept, t(10));
        let snap = rig.snap();
        assert_eq!(snap.devices[rig.idx("MRN-scb")].status, Status::Maintenance);
        assert_ne!(
            snap.devices[rig.idx("MRN-core")].status,
            Status::Maintenance
        );
        let ops = rig.state.take_store();
        assert!(
            ops.contains(&super::super::port::StoreOp::MaintenanceEnded {
                target: "GONE".into()
            }),
            "{ops:?}"
        );
        // The file's windows have ended (2024): none is written.
        assert!(
            !ops.iter().any(|op| matches!(op,
                super::super::port::StoreOp::Maintenance(m) if m.by == maint::FILE_BY
            )),
            "{ops:?}"
        );
        // Before them, those still to come are written, for the handover.
        let mut rig = Rig::new();
        let before = UNIX_EPOCH + Duration::from_secs(1_721_937_600 - 3600);
        rig.state.restore_maintenance(Vec::new(), before);
        let ops = rig.state.take_store();
        let targets: Vec<&str> = ops
            .iter()
            .filter_map(|op| match op {
                super::super::port::StoreOp::Maintenance(m) if m.by == maint::FILE_BY => {
                    Some(m.target.as_str())
                }
                _ => None,
            })
            .collect();
        assert_eq!(targets, ["MRN-core", "STA"]);
    }

    #[test]
    fn a_maintenance_window_of_the_file_holds_while_in_force() {
        // examples/venues-small.toml: STA from 2024-07-25T22:00+02:00 to
        // 2024-07-26T06:00+02:00.
        let start = UNIX_EPOCH + Duration::from_secs(1_721_937_600);
        let end = start + Duration::from_secs(8 * 3600);
        let mut rig = Rig::new();
        rig.all_ok();
        rig.fail_hard("STA-core");
        assert_eq!(rig.snap().incidents.len(), 1);
        let sta = rig.idx("STA-core");
        rig.state.tick(start - Duration::from_secs(1));
        assert_ne!(rig.snap().devices[sta].status, Status::Maintenance);
        rig.state.tick(start);
        let snap = rig.snap();
        assert_eq!(snap.devices[sta].status, Status::Maintenance);
        assert!(
            snap.incidents[0].in_maintenance,
            "the open incident is marked"
        );
        rig.state.tick(end);
        let snap = rig.snap();
        assert_ne!(snap.devices[sta].status, Status::Maintenance);
        assert!(!snap.incidents[0].in_maintenance);
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
    fn last_change_is_when_the_latest_hard_change_reached_the_engine() {
        let mut rig = Rig::new();
        // A router: no parent whose verdict it waits for.
        let core = rig.idx("STA-rtr-a");
        let seen = |rig: &mut Rig, secs: u64, took_ms: u64, result: CheckResult| {
            rig.state.observe(Observation {
                device: core,
                at: t(secs),
                start_delay: Duration::ZERO,
                took: Duration::from_millis(took_ms),
                outcome: Outcome::new(result),
            });
            rig.snap().stats.last_change
        };
        assert_eq!(rig.snap().stats.last_change, None, "nothing seen yet");
        // Unknown -> OK is a hard change: the check started at 10 s and
        // took 40 ms.
        let first = seen(&mut rig, 10, 40, CheckResult::Ok);
        assert_eq!(first, Some(t(10) + Duration::from_millis(40)));
        // The same verdict again changes nothing hard.
        assert_eq!(seen(&mut rig, 20, 5, CheckResult::Ok), first);
        // A soft failure is no hard change either.
        let fail = || CheckResult::Fail("no answer".to_owned());
        assert_eq!(seen(&mut rig, 30, 900, fail()), first);
        // Failures until hard DOWN: the last one moves it.
        let mut last = first;
        for i in 1..rig.inv.event.max_attempts {
            last = seen(&mut rig, 30 + u64::from(i), 900, fail());
        }
        let hard = t(30 + u64::from(rig.inv.event.max_attempts - 1)) + Duration::from_millis(900);
        assert_eq!(last, Some(hard));
    }

    #[test]
    fn strays_are_counted_not_fatal() {
        let mut rig = Rig::new();
        rig.state.observe(Observation {
            device: 9999,
            at: t(1),
            start_delay: Duration::ZERO,
            took: Duration::ZERO,
            outcome: Outcome::new(CheckResult::Ok),
        });
        assert_eq!(rig.state.strays, 1);
        assert_eq!(rig.snap().stats.observations, 1);
    }

    #[test]
    fn the_ticker_is_bounded() {
        let mut rig = Rig::new();
        rig.all_ok();
        for i in 0..(TICKER_LEN + 50) {
            let _ = maint(&mut rig, "MRN-scb", (i % 2 == 0).then_some(60), t(10));
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
