//! One device's check state machine, Nagios style: soft and hard states,
//! immediate recovery, and flap detection with hysteresis.
//!
//! The engine feeds every probe verdict to [`DeviceState::record`] and acts
//! on the returned [`Change`]s (alert on hard changes, notify once when
//! flapping starts). The wall shows [`DeviceState::status`], which follows
//! hard states only; the device view adds the soft state
//! ([`raw_status`](DeviceState::raw_status),
//! [`state_type`](DeviceState::state_type),
//! [`attempt`](DeviceState::attempt)). Recording works the same in maintenance; it is the
//! engine's job to hold alerts for a device [`in
//! maintenance`](DeviceState::in_maintenance).

use super::status::Status;

/// Number of recent results kept for flap detection.
pub const FLAP_HISTORY: usize = 21;

/// Number of transitions between the kept results.
const FLAP_TRANSITIONS: usize = FLAP_HISTORY - 1;

/// Weight of the oldest transition in the percent state change.
const FLAP_WEIGHT_OLDEST: f64 = 0.8;

/// Weight of the newest transition in the percent state change.
const FLAP_WEIGHT_NEWEST: f64 = 1.2;

/// Reason shown for a device that was never polled.
const NOT_YET_POLLED: &str = "not yet polled";

/// A probe's verdict on one check of a device.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum CheckResult {
    /// Everything fine (OK).
    Ok,
    /// Works with a problem (DEGRADED), with the reason.
    Warn(String),
    /// Does not work (DOWN), with the reason.
    Fail(String),
    /// The check could not tell (UNKNOWN), with the reason.
    Unknown(String),
}

impl CheckResult {
    /// The status this verdict stands for: Ok, Degraded, Down or Unknown.
    #[must_use]
    pub fn status(&self) -> Status {
        match self {
            CheckResult::Ok => Status::Ok,
            CheckResult::Warn(_) => Status::Degraded,
            CheckResult::Fail(_) => Status::Down,
            CheckResult::Unknown(_) => Status::Unknown,
        }
    }

    /// The reason given with a non-OK verdict.
    #[must_use]
    pub fn reason(&self) -> Option<&str> {
        match self {
            CheckResult::Ok => None,
            CheckResult::Warn(reason)
            | CheckResult::Fail(reason)
            | CheckResult::Unknown(reason) => Some(reason),
        }
    }
}

/// Whether the current status is confirmed (hard) or still being retried
/// (soft).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum StateType {
    /// A problem seen fewer than `max_attempts` times in a row: shown in
    /// the device view, neither on the wall nor alerted.
    Soft,
    /// Confirmed: OK, or a problem seen `max_attempts` times in a row.
    Hard,
}

/// Per-device check policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// Consecutive non-OK results before a problem turns hard (0 acts as 1).
    pub max_attempts: u32,
    /// Percent state change above which a device starts flapping.
    pub flap_high: f64,
    /// Percent state change below which a flapping device stops flapping.
    pub flap_low: f64,
}

impl Default for Policy {
    /// 3 attempts, flapping above 50 % and until below 25 %.
    fn default() -> Self {
        Policy {
            max_attempts: 3,
            flap_high: 50.0,
            flap_low: 25.0,
        }
    }
}

/// Something the engine may act on, returned by [`DeviceState::record`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    /// The hard status changed (alert on this).
    Hard {
        /// Hard status before.
        from: Status,
        /// Hard status now.
        to: Status,
    },
    /// The device started flapping (notify once).
    FlapStart {
        /// Percent state change that crossed `flap_high`.
        percent: f64,
    },
    /// The device stopped flapping.
    FlapStop {
        /// Percent state change that fell below `flap_low`.
        percent: f64,
    },
}

/// Number of shown-status changes a [`Transitions`] keeps.
pub const TRANSITIONS_KEPT: usize = 16;

/// One change of a device's (or venue's) shown status: when, from what,
/// to what, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Transition {
    /// When the change was seen.
    pub at: std::time::SystemTime,
    /// Shown status before.
    pub from: Status,
    /// Shown status after.
    pub to: Status,
    /// Why it has the new status (none for OK).
    pub reason: Option<String>,
}

/// A device's shown-status changes, the last [`TRANSITIONS_KEPT`], oldest
/// first, and since when it has its status. Kept by the engine beside the
/// check state: a transition is seen after the roll-up (UNREACHABLE is
/// decided there), not by [`DeviceState::record`].
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Transitions {
    /// Since when the current status holds (the last change, or the first
    /// status the engine saw).
    pub since: Option<std::time::SystemTime>,
    /// The last changes, oldest first.
    pub changes: std::collections::VecDeque<Transition>,
}

impl Transitions {
    /// Records a change; the oldest is dropped beyond
    /// [`TRANSITIONS_KEPT`].
    pub fn record(&mut self, change: Transition) {
        self.since = Some(change.at);
        if self.changes.len() >= TRANSITIONS_KEPT {
            self.changes.pop_front();
        }
        self.changes.push_back(change);
    }

    /// The newest change first.
    pub fn newest_first(&self) -> impl Iterator<Item = &Transition> {
        self.changes.iter().rev()
    }
}

/// The live check state of one device.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceState {
    status: Status,
    hard_status: Status,
    state_type: StateType,
    attempt: u32,
    reason: Option<String>,
    polled: bool,
    history: Vec<Status>,
    flapping: bool,
    flap_percent: f64,
    flap_reason: String,
    maintenance: bool,
}

impl Default for DeviceState {
    /// Same as [`DeviceState::new`].
    fn default() -> Self {
        Self::new()
    }
}

impl DeviceState {
    /// A device not yet polled: hard UNKNOWN, reason "not yet polled",
    /// attempt 0, not flapping, not in maintenance.
    #[must_use]
    pub fn new() -> Self {
        DeviceState {
            status: Status::Unknown,
            hard_status: Status::Unknown,
            state_type: StateType::Hard,
            attempt: 0,
            reason: Some(NOT_YET_POLLED.to_owned()),
            polled: false,
            history: Vec::with_capacity(FLAP_HISTORY),
            flapping: false,
            flap_percent: 0.0,
            flap_reason: String::new(),
            maintenance: false,
        }
    }

    /// Applies one check result and returns what changed (hard status first,
    /// then flapping), usually nothing.
    ///
    /// OK recovers at once (hard OK, attempt 0). A problem after OK (or
    /// before the first poll) is soft with attempt 1 and turns hard when the
    /// attempt reaches `max_attempts`; while hard non-OK, a different problem
    /// changes the hard status at once.
    pub fn record(&mut self, result: CheckResult, policy: &Policy) -> Vec<Change> {
        let mut changes = Vec::new();
        let max_attempts = policy.max_attempts.max(1);
        let status = result.status();
        match result {
            CheckResult::Ok => {
                self.status = Status::Ok;
                self.state_type = StateType::Hard;
                self.attempt = 0;
                self.reason = None;
                self.set_hard(Status::Ok, &mut changes);
            }
            CheckResult::Warn(reason)
            | CheckResult::Fail(reason)
            | CheckResult::Unknown(reason) => {
                self.status = status;
                self.reason = Some(reason);
                let hard_problem = self.polled
                    && self.state_type == StateType::Hard
                    && self.hard_status != Status::Ok;
                if hard_problem {
                    self.attempt = max_attempts;
                    self.set_hard(status, &mut changes);
                } else {
                    self.attempt = match self.state_type {
                        StateType::Soft => self.attempt.saturating_add(1),
                        StateType::Hard => 1,
                    };
                    if self.attempt >= max_attempts {
                        self.attempt = max_attempts;
                        self.state_type = StateType::Hard;
                        self.set_hard(status, &mut changes);
                    } else {
                        self.state_type = StateType::Soft;
                    }
                }
            }
        }
        self.polled = true;
        self.push_history(status);
        self.update_flapping(policy, &mut changes);
        changes
    }

    /// Notes a failing result that must not count yet because the path to
    /// the device is in doubt (a parent is failing and has no verdict, or
    /// every parent is down): the device view shows it, but neither the
    /// attempts, the hard status nor the flapping history move. The
    /// engine judges the device again once its parents have a verdict.
    /// An OK or DEGRADED result is never held (the device answered).
    pub fn hold(&mut self, result: CheckResult) {
        let status = result.status();
        if let CheckResult::Warn(reason)
        | CheckResult::Fail(reason)
        | CheckResult::Unknown(reason) = result
        {
            self.reason = Some(reason);
        }
        self.status = status;
        if self.hard_status != status {
            self.state_type = StateType::Soft;
        }
        self.polled = true;
    }

    /// Whether the latest result says the device did not answer or could
    /// not be checked (DOWN or UNKNOWN, soft, hard or held).
    #[must_use]
    pub fn is_failing(&self) -> bool {
        self.polled && matches!(self.status, Status::Down | Status::Unknown)
    }

    /// Forgets the soft failures counted so far (results taken while the
    /// path to the device was down say nothing about the device): the next
    /// result is judged afresh. A hard status stays as it was.
    pub fn forget_soft(&mut self) {
        if self.state_type == StateType::Soft {
            self.attempt = 0;
            self.status = self.hard_status;
            self.state_type = StateType::Hard;
            if self.hard_status == Status::Ok {
                self.reason = None;
            }
        }
    }

    fn set_hard(&mut self, to: Status, changes: &mut Vec<Change>) {
        let from = self.hard_status;
        self.hard_status = to;
        if from != to {
            changes.push(Change::Hard { from, to });
        }
    }

    fn push_history(&mut self, status: Status) {
        if self.history.len() >= FLAP_HISTORY {
            let excess = self.history.len() + 1 - FLAP_HISTORY;
            self.history.drain(..excess);
        }
        self.history.push(status);
    }

    fn update_flapping(&mut self, policy: &Policy, changes: &mut Vec<Change>) {
        let percent = percent_state_change(&self.history);
        self.flap_percent = percent;
        if !self.flapping && percent > policy.flap_high {
            self.flapping = true;
            changes.push(Change::FlapStart { percent });
        } else if self.flapping && percent < policy.flap_low {
            self.flapping = false;
            changes.push(Change::FlapStop { percent });
        }
        if self.flapping {
            self.flap_reason = format!("flapping ({percent:.0}% state change)");
        } else {
            self.flap_reason.clear();
        }
    }

    /// What the wall shows and rolls up: Maintenance if in maintenance,
    /// else Degraded if flapping, else the last *hard* status. A soft
    /// failure (not yet confirmed by `max_attempts` checks) does not change
    /// it: one lost packet must not turn a venue red. The device view shows
    /// the soft state from [`raw_status`](Self::raw_status) and
    /// [`attempt`](Self::attempt).
    #[must_use]
    pub fn status(&self) -> Status {
        if self.maintenance {
            Status::Maintenance
        } else if self.flapping {
            Status::Degraded
        } else {
            self.hard_status
        }
    }

    /// The latest result's status, soft or hard, ignoring maintenance and
    /// flapping: what the device view shows next to
    /// [`state_type`](Self::state_type) and [`attempt`](Self::attempt).
    #[must_use]
    pub fn raw_status(&self) -> Status {
        self.status
    }

    /// The last hard status (UNKNOWN before the first hard result).
    #[must_use]
    pub fn hard_status(&self) -> Status {
        self.hard_status
    }

    /// Whether [`raw_status`](Self::raw_status) is soft or hard.
    #[must_use]
    pub fn state_type(&self) -> StateType {
        self.state_type
    }

    /// Consecutive non-OK results, 0 when OK, never above `max_attempts`.
    #[must_use]
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Why the device shows its status: "flapping (NN% state change)" while
    /// flapping (and not in maintenance), else the [check
    /// reason](Self::check_reason).
    #[must_use]
    pub fn reason(&self) -> Option<&str> {
        if self.flapping && !self.maintenance {
            Some(&self.flap_reason)
        } else {
            self.check_reason()
        }
    }

    /// The reason of the latest non-OK result ("not yet polled" before the
    /// first one); `None` once OK.
    #[must_use]
    pub fn check_reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    /// Whether the device has had at least one result.
    #[must_use]
    pub fn is_polled(&self) -> bool {
        self.polled
    }

    /// Whether the device is flapping.
    #[must_use]
    pub fn is_flapping(&self) -> bool {
        self.flapping
    }

    /// The percent state change after the latest result (0 to 100).
    #[must_use]
    pub fn flap_percent(&self) -> f64 {
        self.flap_percent
    }

    /// Puts the device in or out of maintenance (downtime).
    pub fn set_maintenance(&mut self, on: bool) {
        self.maintenance = on;
    }

    /// Whether the device is in maintenance.
    #[must_use]
    pub fn in_maintenance(&self) -> bool {
        self.maintenance
    }
}

/// Nagios percent state change of a result history, oldest first; only the
/// last [`FLAP_HISTORY`] entries count.
///
/// Sum over the (up to 20) transitions between consecutive entries of the
/// weight of each transition where the status changed, divided by 20, times
/// 100. Weights grow linearly from 0.8 (oldest of 20 transitions) to 1.2
/// (newest); a shorter history fills the newest slots.
#[must_use]
pub fn percent_state_change(history: &[Status]) -> f64 {
    let recent = &history[history.len().saturating_sub(FLAP_HISTORY)..];
    let transitions = recent.len().saturating_sub(1);
    let step = (FLAP_WEIGHT_NEWEST - FLAP_WEIGHT_OLDEST) / 19.0;
    let mut sum = 0.0;
    for (slot, pair) in (0_u8..20)
        .skip(FLAP_TRANSITIONS - transitions)
        .zip(recent.windows(2))
    {
        if let [before, after] = pair
            && before != after
        {
            sum += FLAP_WEIGHT_OLDEST + f64::from(slot) * step;
        }
    }
    sum / 20.0 * 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use std::iter;

    use StateType::{Hard, Soft};
    use Status::{Degraded, Down, Maintenance, Ok, Unknown};

    const EPS: f64 = 1e-6;

    fn ok() -> CheckResult {
        CheckResult::Ok
    }
    fn warn(reason: &str) -> CheckResult {
        CheckResult::Warn(reason.to_owned())
    }
    fn fail(reason: &str) -> CheckResult {
        CheckResult::Fail(reason.to_owned())
    }
    fn unknown(reason: &str) -> CheckResult {
        CheckResult::Unknown(reason.to_owned())
    }
    fn policy(max_attempts: u32) -> Policy {
        Policy {
            max_attempts,
            ..Policy::default()
        }
    }
    fn hard_changes(changes: &[Change]) -> Vec<(Status, Status)> {
        changes
            .iter()
            .filter_map(|c| match *c {
                Change::Hard { from, to } => Some((from, to)),
                _ => None,
            })
            .collect()
    }
    fn alternating(n: usize) -> impl Iterator<Item = CheckResult> {
        // Fail, Ok, Fail, Ok, ... starting with Fail.
        (0..n).map(|i| if i % 2 == 0 { fail("x") } else { ok() })
    }
    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < EPS
    }

    #[test]
    fn new_state_is_hard_unknown_not_yet_polled() {
        let state = DeviceState::new();
        assert_eq!(state.status(), Unknown);
        assert_eq!(state.raw_status(), Unknown);
        assert_eq!(state.hard_status(), Unknown);
        assert_eq!(state.state_type(), Hard);
        assert_eq!(state.attempt(), 0);
        assert_eq!(state.reason(), Some("not yet polled"));
        assert!(!state.is_polled());
        assert!(!state.is_flapping());
        assert!(!state.in_maintenance());
        assert!(close(state.flap_percent(), 0.0));
        assert_eq!(DeviceState::default(), state);
    }

    #[test]
    fn default_policy() {
        let p = Policy::default();
        assert_eq!(p.max_attempts, 3);
        assert!(close(p.flap_high, 50.0));
        assert!(close(p.flap_low, 25.0));
    }

    #[rstest]
    #[case::ok(ok(), Ok, None)]
    #[case::warn(warn("hot"), Degraded, Some("hot"))]
    #[case::fail(fail("no ping"), Down, Some("no ping"))]
    #[case::unknown(unknown("auth"), Unknown, Some("auth"))]
    fn check_result_maps_to_status(
        #[case] result: CheckResult,
        #[case] status: Status,
        #[case] reason: Option<&str>,
    ) {
        assert_eq!(result.status(), status);
        assert_eq!(result.reason(), reason);
    }

    /// Consecutive failures: soft with attempts 1, 2, ... until exactly
    /// `hard_on`, where one `Change::Hard` is emitted; never beyond. While
    /// soft, the raw status is DOWN but the shown status stays the previous
    /// hard one (OK, or UNKNOWN before the first hard result).
    #[rstest]
    #[case::max1(1, 1)]
    #[case::max2(2, 2)]
    #[case::max3(3, 3)]
    #[case::max5(5, 5)]
    #[case::max0_acts_as_1(0, 1)]
    fn failure_turns_hard_on_exact_attempt(
        #[case] max_attempts: u32,
        #[case] hard_on: u32,
        #[values(false, true)] from_ok: bool,
    ) {
        let policy = policy(max_attempts);
        let mut state = DeviceState::new();
        let before = if from_ok {
            assert_eq!(
                hard_changes(&state.record(ok(), &policy)),
                vec![(Unknown, Ok)]
            );
            Ok
        } else {
            Unknown
        };
        for n in 1..=hard_on + 3 {
            let changes = state.record(fail("link down"), &policy);
            assert_eq!(state.raw_status(), Down, "result {n}");
            assert!(!state.is_flapping(), "result {n}");
            if n < hard_on {
                assert_eq!(state.state_type(), Soft, "result {n}");
                assert_eq!(state.attempt(), n, "result {n}");
                assert_eq!(state.hard_status(), before, "result {n}");
                assert_eq!(state.status(), before, "result {n}");
                assert!(hard_changes(&changes).is_empty(), "result {n}");
            } else {
                assert_eq!(state.status(), Down, "result {n}");
                assert_eq!(state.state_type(), Hard, "result {n}");
                assert_eq!(state.attempt(), hard_on, "result {n}");
                assert_eq!(state.hard_status(), Down, "result {n}");
                let expected = if n == hard_on {
                    vec![(before, Down)]
                } else {
                    vec![]
                };
                assert_eq!(hard_changes(&changes), expected, "result {n}");
            }
        }
    }

    /// One step: the result fed, then the expected raw status, state type,
    /// attempt, shown status (the hard status: no flapping or maintenance
    /// here) and hard change.
    type Step = (
        CheckResult,
        Status,
        StateType,
        u32,
        Status,
        Option<(Status, Status)>,
    );

    #[rstest]
    #[case::first_ok_is_hard_ok(1, vec![
        (ok(), Ok, Hard, 0, Ok, Some((Unknown, Ok))),
        (ok(), Ok, Hard, 0, Ok, None),
    ])]
    #[case::recovery_from_soft_is_immediate(3, vec![
        (ok(), Ok, Hard, 0, Ok, Some((Unknown, Ok))),
        (fail("a"), Down, Soft, 1, Ok, None),
        (fail("a"), Down, Soft, 2, Ok, None),
        (ok(), Ok, Hard, 0, Ok, None),
        (fail("a"), Down, Soft, 1, Ok, None),
    ])]
    #[case::recovery_from_soft_before_first_hard(3, vec![
        (fail("a"), Down, Soft, 1, Unknown, None),
        (ok(), Ok, Hard, 0, Ok, Some((Unknown, Ok))),
    ])]
    #[case::recovery_from_hard_is_immediate(2, vec![
        (ok(), Ok, Hard, 0, Ok, Some((Unknown, Ok))),
        (fail("a"), Down, Soft, 1, Ok, None),
        (fail("a"), Down, Hard, 2, Down, Some((Ok, Down))),
        (ok(), Ok, Hard, 0, Ok, Some((Down, Ok))),
    ])]
    #[case::warn_then_fail_while_hard(1, vec![
        (warn("hot"), Degraded, Hard, 1, Degraded, Some((Unknown, Degraded))),
        (fail("dead"), Down, Hard, 1, Down, Some((Degraded, Down))),
        (warn("hot"), Degraded, Hard, 1, Degraded, Some((Down, Degraded))),
    ])]
    #[case::warn_then_fail_while_hard_max3(3, vec![
        (ok(), Ok, Hard, 0, Ok, Some((Unknown, Ok))),
        (warn("hot"), Degraded, Soft, 1, Ok, None),
        (warn("hot"), Degraded, Soft, 2, Ok, None),
        (warn("hot"), Degraded, Hard, 3, Degraded, Some((Ok, Degraded))),
        (fail("dead"), Down, Hard, 3, Down, Some((Degraded, Down))),
        (fail("dead"), Down, Hard, 3, Down, None),
    ])]
    #[case::mixed_problems_count_as_consecutive(3, vec![
        (ok(), Ok, Hard, 0, Ok, Some((Unknown, Ok))),
        (warn("hot"), Degraded, Soft, 1, Ok, None),
        (fail("dead"), Down, Soft, 2, Ok, None),
        (unknown("?"), Unknown, Hard, 3, Unknown, Some((Ok, Unknown))),
        (fail("dead"), Down, Hard, 3, Down, Some((Unknown, Down))),
    ])]
    #[case::unknown_from_unpolled_turns_hard_without_change(2, vec![
        (unknown("timeout"), Unknown, Soft, 1, Unknown, None),
        (unknown("timeout"), Unknown, Hard, 2, Unknown, None),
        (fail("dead"), Down, Hard, 2, Down, Some((Unknown, Down))),
    ])]
    fn transitions(#[case] max_attempts: u32, #[case] steps: Vec<Step>) {
        let policy = policy(max_attempts);
        let mut state = DeviceState::new();
        for (n, (result, raw, state_type, attempt, shown, change)) in steps.into_iter().enumerate()
        {
            let changes = state.record(result, &policy);
            assert_eq!(state.raw_status(), raw, "step {n}");
            assert_eq!(state.state_type(), state_type, "step {n}");
            assert_eq!(state.attempt(), attempt, "step {n}");
            assert_eq!(state.hard_status(), shown, "step {n}");
            assert_eq!(state.status(), shown, "step {n}");
            assert!(!state.is_flapping(), "step {n}");
            assert_eq!(
                hard_changes(&changes),
                change.into_iter().collect::<Vec<_>>(),
                "step {n}"
            );
            assert!(state.is_polled());
        }
    }

    /// A soft problem (fewer than `max_attempts` in a row) after hard OK,
    /// then OK, repeated: the shown status stays OK throughout and no
    /// `Change::Hard` is ever emitted; the device view sees the soft state.
    #[rstest]
    #[case::max2_one_soft(2, 1)]
    #[case::max3_one_soft(3, 1)]
    #[case::max3_two_soft(3, 2)]
    #[case::max5_four_soft(5, 4)]
    fn soft_problem_then_ok_never_changes_status(
        #[case] max_attempts: u32,
        #[case] soft_run: u32,
        #[values(warn("hot"), fail("lost"), unknown("timeout"))] problem: CheckResult,
    ) {
        let policy = policy(max_attempts);
        let mut state = DeviceState::new();
        assert_eq!(
            hard_changes(&state.record(ok(), &policy)),
            vec![(Unknown, Ok)]
        );
        for round in 1..=3 {
            for n in 1..=soft_run {
                let changes = state.record(problem.clone(), &policy);
                let at = format!("round {round}, problem {n}");
                assert_eq!(state.raw_status(), problem.status(), "{at}");
                assert_eq!(state.state_type(), Soft, "{at}");
                assert_eq!(state.attempt(), n, "{at}");
                assert_eq!(state.check_reason(), problem.reason(), "{at}");
                assert_eq!(state.status(), Ok, "{at}");
                assert_eq!(state.hard_status(), Ok, "{at}");
                assert!(hard_changes(&changes).is_empty(), "{at}");
            }
            let changes = state.record(ok(), &policy);
            assert_eq!(
                (state.raw_status(), state.state_type(), state.attempt()),
                (Ok, Hard, 0),
                "round {round}, recovery"
            );
            assert_eq!(state.status(), Ok, "round {round}, recovery");
            assert!(hard_changes(&changes).is_empty(), "round {round}, recovery");
        }
    }

    /// A never-polled device with a problem stays UNKNOWN on the wall while
    /// the problem is soft, and shows it only once hard.
    #[rstest]
    #[case::max2(2)]
    #[case::max3(3)]
    #[case::max5(5)]
    fn unpolled_soft_problem_stays_unknown_until_hard(
        #[case] max_attempts: u32,
        #[values(warn("hot"), fail("lost"))] problem: CheckResult,
    ) {
        let policy = policy(max_attempts);
        let mut state = DeviceState::new();
        for n in 1..max_attempts {
            let changes = state.record(problem.clone(), &policy);
            assert_eq!(state.raw_status(), problem.status(), "problem {n}");
            assert_eq!(state.state_type(), Soft, "problem {n}");
            assert_eq!(state.attempt(), n, "problem {n}");
            assert_eq!(state.status(), Unknown, "problem {n}");
            assert_eq!(state.hard_status(), Unknown, "problem {n}");
            assert!(hard_changes(&changes).is_empty(), "problem {n}");
        }
        let changes = state.record(problem.clone(), &policy);
        assert_eq!((state.state_type(), state.attempt()), (Hard, max_attempts));
        assert_eq!(state.status(), problem.status());
        assert_eq!(hard_changes(&changes), vec![(Unknown, problem.status())]);
    }

    #[rstest]
    #[case::max3(3)]
    #[case::max1(1)]
    fn attempt_never_exceeds_max(#[case] max_attempts: u32) {
        let policy = policy(max_attempts);
        let mut state = DeviceState::new();
        for result in iter::repeat_with(|| fail("x")).take(10) {
            state.record(result, &policy);
            assert!(state.attempt() <= max_attempts);
        }
        assert_eq!(state.attempt(), max_attempts);
    }

    #[test]
    fn lowering_max_attempts_mid_problem_turns_hard_and_caps_attempt() {
        let mut state = DeviceState::new();
        state.record(ok(), &policy(5));
        state.record(fail("x"), &policy(5));
        state.record(fail("x"), &policy(5));
        state.record(fail("x"), &policy(5));
        assert_eq!((state.state_type(), state.attempt()), (Soft, 3));
        let changes = state.record(fail("x"), &policy(2));
        assert_eq!((state.state_type(), state.attempt()), (Hard, 2));
        assert_eq!(hard_changes(&changes), vec![(Ok, Down)]);
    }

    #[rstest]
    #[case::latest_problem_reason(vec![warn("hot"), fail("no ping")], Some("no ping"))]
    #[case::kept_while_hard(vec![fail("a"), fail("a"), fail("a"), fail("a")], Some("a"))]
    #[case::updated_while_hard(vec![fail("a"), fail("a"), fail("a"), fail("b")], Some("b"))]
    #[case::cleared_by_ok(vec![fail("a"), ok()], None)]
    #[case::unknown_reason(vec![ok(), unknown("snmp auth")], Some("snmp auth"))]
    #[case::nothing_recorded(vec![], Some("not yet polled"))]
    fn reasons(#[case] results: Vec<CheckResult>, #[case] reason: Option<&str>) {
        let mut state = DeviceState::new();
        for result in results {
            state.record(result, &Policy::default());
        }
        assert_eq!(state.reason(), reason);
        assert_eq!(state.check_reason(), reason);
    }

    #[rstest]
    #[case::empty(&[], 0.0)]
    #[case::single(&[Down], 0.0)]
    #[case::one_newest_change(&[Ok, Down], 6.0)]
    #[case::warn_to_fail_is_a_change(&[Degraded, Down], 6.0)]
    #[case::two_newest(&[Ok, Down, Ok], 11.894_737)]
    #[case::stable_21(&[Ok; 21], 0.0)]
    // 20 transitions, only the oldest changed: 0.8 / 20 * 100.
    #[case::only_oldest_of_20(&[Down, Ok, Ok, Ok, Ok, Ok, Ok, Ok, Ok, Ok, Ok,
        Ok, Ok, Ok, Ok, Ok, Ok, Ok, Ok, Ok, Ok], 4.0)]
    // Only the newest of 20: 1.2 / 20 * 100.
    #[case::only_newest_of_20(&[Ok, Ok, Ok, Ok, Ok, Ok, Ok, Ok, Ok, Ok, Ok,
        Ok, Ok, Ok, Ok, Ok, Ok, Ok, Ok, Ok, Down], 6.0)]
    // Slot 10 of 0..19: (0.8 + 10 * 0.4 / 19) / 20 * 100.
    #[case::middle_of_20(&[Ok, Ok, Ok, Ok, Ok, Ok, Ok, Ok, Ok, Ok, Ok,
        Down, Down, Down, Down, Down, Down, Down, Down, Down, Down], 5.052_632)]
    // Every transition: weights sum to 20.
    #[case::alternating_21(&[Down, Ok, Down, Ok, Down, Ok, Down, Ok, Down, Ok, Down,
        Ok, Down, Ok, Down, Ok, Down, Ok, Down, Ok, Down], 100.0)]
    // 9 transitions in slots 11..=19: (9 * 0.8 + 135 * 0.4 / 19) * 5.
    #[case::alternating_10(&[Down, Ok, Down, Ok, Down, Ok, Down, Ok, Down, Ok], 50.210_526)]
    // 8 transitions in slots 12..=19: (8 * 0.8 + 124 * 0.4 / 19) * 5.
    #[case::alternating_9(&[Down, Ok, Down, Ok, Down, Ok, Down, Ok, Down], 45.052_632)]
    // Only the last 21 count: the change at the very start is forgotten.
    #[case::older_than_21_ignored(&[Down, Ok, Ok, Ok, Ok, Ok, Ok, Ok, Ok, Ok, Ok,
        Ok, Ok, Ok, Ok, Ok, Ok, Ok, Ok, Ok, Ok, Ok], 0.0)]
    fn percent_state_change_hand_computed(#[case] history: &[Status], #[case] percent: f64) {
        let got = percent_state_change(history);
        assert!(close(got, percent), "got {got}, want {percent}");
    }

    #[test]
    fn alternating_results_start_flapping_on_tenth_result_once() {
        let policy = Policy::default();
        let mut state = DeviceState::new();
        let mut starts = Vec::new();
        for (n, result) in (1..).zip(alternating(21)) {
            for change in state.record(result, &policy) {
                if let Change::FlapStart { percent } = change {
                    starts.push((n, percent));
                }
            }
            assert_eq!(state.is_flapping(), n >= 10, "result {n}");
        }
        assert_eq!(starts.len(), 1, "{starts:?}");
        let (n, percent) = starts[0];
        assert_eq!(n, 10);
        assert!(close(percent, 50.210_526), "{percent}");
        assert!(close(state.flap_percent(), 100.0));
    }

    #[test]
    fn flapping_is_shown_degraded_with_percent_reason() {
        let mut state = DeviceState::new();
        for result in alternating(10) {
            state.record(result, &Policy::default());
        }
        // The 10th result was OK, but flapping shows orange.
        assert_eq!(state.raw_status(), Ok);
        assert_eq!(state.status(), Degraded);
        assert_eq!(state.reason(), Some("flapping (50% state change)"));
        assert_eq!(state.check_reason(), None);
        state.record(fail("dead"), &Policy::default());
        assert_eq!(state.raw_status(), Down);
        assert_eq!(state.status(), Degraded);
        assert_eq!(state.reason(), Some("flapping (55% state change)"));
        assert_eq!(state.check_reason(), Some("dead"));
    }

    #[test]
    fn stable_run_stops_flapping_below_low_once() {
        let policy = Policy::default();
        let mut state = DeviceState::new();
        for result in alternating(21) {
            state.record(result, &policy);
        }
        assert!(state.is_flapping());
        let mut stops = Vec::new();
        for n in 1..=25 {
            for change in state.record(ok(), &policy) {
                match change {
                    Change::FlapStop { percent } => stops.push((n, percent)),
                    Change::FlapStart { .. } => panic!("started again at {n}"),
                    Change::Hard { .. } => {}
                }
            }
            // Percent falls 100 -> 94 -> ... -> 25.58 (n=15) -> 21.05 (n=16).
            assert_eq!(state.is_flapping(), n < 16, "stable result {n}");
        }
        assert_eq!(stops.len(), 1);
        let (n, percent) = stops[0];
        assert_eq!(n, 16);
        assert!(close(percent, 21.052_632), "{percent}");
        assert_eq!(state.status(), Ok);
        assert_eq!(state.reason(), None);
        assert!(close(state.flap_percent(), 0.0));
    }

    /// Percent between `flap_low` and `flap_high` keeps whatever was before.
    #[rstest]
    // Fresh: 9 alternating results give 45.05 %, under high: not flapping.
    #[case::rising_stays_off(9, 0, false)]
    // 10 give 50.21 %: over high.
    #[case::rising_crosses_high(10, 0, true)]
    // After 100 %, 10 stable results give 49.79 %, 11 give 44.74 %:
    // between, stays flapping.
    #[case::falling_stays_on_at_49_79(21, 10, true)]
    #[case::falling_stays_on_at_44_74(21, 11, true)]
    // 15 stable results give 25.58 %: still not below low.
    #[case::falling_stays_on_at_25_58(21, 15, true)]
    #[case::falling_crosses_low(21, 16, false)]
    fn hysteresis(#[case] alternate: usize, #[case] stable: usize, #[case] flapping: bool) {
        let policy = Policy::default();
        let mut state = DeviceState::new();
        for result in alternating(alternate).chain(iter::repeat_with(ok).take(stable)) {
            state.record(result, &policy);
        }
        let percent = state.flap_percent();
        assert_eq!(state.is_flapping(), flapping, "at {percent}");
    }

    #[test]
    fn custom_thresholds_are_used() {
        let policy = Policy {
            max_attempts: 1,
            flap_high: 5.0,
            flap_low: 1.0,
        };
        let mut state = DeviceState::new();
        state.record(ok(), &policy);
        let changes = state.record(fail("x"), &policy);
        // One newest change is 6 % > 5 %.
        assert!(
            changes
                .iter()
                .any(|c| matches!(c, Change::FlapStart { percent } if close(*percent, 6.0))),
            "{changes:?}"
        );
        assert_eq!(
            changes.first(),
            Some(&Change::Hard { from: Ok, to: Down }),
            "hard change comes first"
        );
        assert!(state.is_flapping());
    }

    #[test]
    fn maintenance_is_shown_and_recording_goes_on() {
        let policy = policy(1);
        let mut state = DeviceState::new();
        state.set_maintenance(true);
        assert!(state.in_maintenance());
        assert_eq!(state.status(), Maintenance);
        let changes = state.record(fail("power off"), &policy);
        assert_eq!(hard_changes(&changes), vec![(Unknown, Down)]);
        assert_eq!(state.status(), Maintenance);
        assert_eq!(state.raw_status(), Down);
        assert_eq!(state.hard_status(), Down);
        assert_eq!(state.reason(), Some("power off"));
        state.set_maintenance(false);
        assert!(!state.in_maintenance());
        assert_eq!(state.status(), Down);
    }

    #[test]
    fn maintenance_wins_over_flapping() {
        let mut state = DeviceState::new();
        for result in alternating(12) {
            state.record(result, &Policy::default());
        }
        assert!(state.is_flapping());
        state.set_maintenance(true);
        assert_eq!(state.status(), Maintenance);
        assert_eq!(state.reason(), None, "last result was OK");
        state.set_maintenance(false);
        assert_eq!(state.status(), Degraded);
    }
}
