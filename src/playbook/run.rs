//! One playbook run: its steps' state and the machine that moves it on.
//!
//! The engine owns every run and drives it: [`Run::advance`] after each
//! batch of inputs (a wait step's condition, a check's fresh reading, a
//! timeout), [`Run::answer`] for a person's answer, [`Run::control`] for
//! pause, resume, abort, retry and skip, [`Run::worked`] when a relay or
//! shell step's work (done off the engine task) comes back. Each returns
//! the [`Effect`]s the engine carries out: timeline entries, probes,
//! relay commands, processes. Pure: no IO, and the caller says what time
//! it is, so tests drive time by hand.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::resolve::{RelayWork, Resolved, Work};
use crate::config::playbook::{OnFailure, Playbook, StepKind};
use crate::model::Status;
use crate::model::relay::{RelayCommand, ReplayFrom};

/// How many `goto` jumps one run may take: a loop of wait and goto
/// steps that never ends fails the run instead.
pub const MAX_JUMPS: u32 = 100;

/// How long past its timeout the engine waits for a relay or shell
/// step's worker before it fails the step itself.
pub const WORKER_GRACE: Duration = Duration::from_secs(10);

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Moving on.
    Running,
    /// Paused by an operator: no step starts or is judged.
    Paused,
    /// Every step done (or skipped, or failed with `continue`).
    Done,
    /// A step failed and the run stopped there (`:retry` or `:skip` go on).
    Failed,
    /// Aborted by an operator.
    Aborted,
}

impl RunState {
    /// Whether the run is over (done, failed or aborted).
    pub const fn is_over(self) -> bool {
        matches!(self, RunState::Done | RunState::Aborted)
    }

    /// Lower-case word.
    pub const fn word(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Paused => "paused",
            RunState::Done => "done",
            RunState::Failed => "failed",
            RunState::Aborted => "aborted",
        }
    }
}

impl fmt::Display for RunState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// Where a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    /// Not started.
    Pending,
    /// A dangerous step waiting for a duty manager's approval before it
    /// runs.
    NeedsApproval,
    /// Its work is in flight (a check's probe, a wait, a relay command,
    /// a process).
    Running,
    /// Waiting for a person: `:done`/`:fail` (manual), `:approve`/
    /// `:reject` (approve).
    Waiting,
    /// Done.
    Done,
    /// Failed (or rejected, or timed out).
    Failed,
    /// Skipped by an operator.
    Skipped,
    /// It was in flight when the engine stopped: an operator decides
    /// (`:retry`, `:skip`, `:abort`).
    Interrupted,
}

impl StepState {
    /// Whether it waits for a person (an answer or an approval).
    pub const fn waits_for_person(self) -> bool {
        matches!(self, StepState::Waiting | StepState::NeedsApproval)
    }

    /// Lower-case word.
    pub const fn word(self) -> &'static str {
        match self {
            StepState::Pending => "pending",
            StepState::NeedsApproval => "needs approval",
            StepState::Running => "running",
            StepState::Waiting => "waiting",
            StepState::Done => "done",
            StepState::Failed => "failed",
            StepState::Skipped => "skipped",
            StepState::Interrupted => "interrupted",
        }
    }
}

impl fmt::Display for StepState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// One step of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRun {
    /// Its id in the playbook.
    pub id: String,
    /// One line.
    pub title: String,
    /// Its kind.
    pub kind: StepKind,
    /// Needs a duty manager's approval before it runs.
    pub dangerous: bool,
    /// What the person running it should know or do.
    pub instructions: String,
    /// Exactly what it does, for this incident.
    pub work: Work,
    /// How long it may take (`None`: it waits for a person).
    pub timeout: Option<Duration>,
    /// What happens when it fails.
    pub on_failure: OnFailure,
    /// Where it is.
    pub state: StepState,
    /// When it last started (or began waiting for approval).
    pub started: Option<SystemTime>,
    /// When it last ended.
    pub ended: Option<SystemTime>,
    /// The reading, the answer and its comment, the output: in words.
    pub outcome: String,
    /// Who approved it (a dangerous step), or answered it.
    pub by: Option<String>,
    /// How many times it started: a worker's late answer for an earlier
    /// attempt is ignored.
    pub attempt: u32,
}

/// A playbook run attached to an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    /// `INCIDENT/N` (`4-17/1`): the incident's id and the run's number
    /// on it.
    pub id: String,
    /// The playbook's id.
    pub playbook: String,
    /// The playbook's title.
    pub title: String,
    /// The incident's id.
    pub incident: String,
    /// The incident's venue code (none for a relay sink).
    pub venue: Option<String>,
    /// Who started it.
    pub by: String,
    /// When.
    pub started: SystemTime,
    /// When it ended (done or aborted).
    pub ended: Option<SystemTime>,
    /// Where it is.
    pub state: RunState,
    /// The step it is at (`steps.len()` once every step is through).
    pub current: usize,
    /// The steps, in order.
    pub steps: Vec<StepRun>,
    /// `goto` jumps taken.
    pub jumps: u32,
    /// Increases with every change (the engine stores the run when it
    /// does).
    pub version: u64,
}

/// A person's answer to the step a run waits on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "answer")]
pub enum Answer {
    /// A manual step is done.
    Done {
        /// What was done (may be empty).
        comment: String,
    },
    /// A manual step failed.
    Fail {
        /// Why (never empty).
        comment: String,
    },
    /// A duty manager approves (an approve step, or a dangerous step
    /// before it runs).
    Approve,
    /// A duty manager rejects, with a reason.
    Reject {
        /// Why (never empty).
        reason: String,
    },
}

impl Answer {
    /// Whether only a duty manager may give it.
    pub const fn is_approval(&self) -> bool {
        matches!(self, Answer::Approve | Answer::Reject { .. })
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Done { comment } if comment.is_empty() => f.write_str("done"),
            Answer::Done { comment } => write!(f, "done: {comment}"),
            Answer::Fail { comment } => write!(f, "failed: {comment}"),
            Answer::Approve => f.write_str("approve"),
            Answer::Reject { reason } => write!(f, "reject: {reason}"),
        }
    }
}

/// What an operator does to a whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunAction {
    /// No step starts or is judged until it resumes.
    Pause,
    /// Goes on.
    Resume,
    /// Stops for good.
    Abort,
    /// Starts the current step again (interrupted or failed).
    Retry,
    /// Goes past the current step without doing it.
    Skip,
}

impl RunAction {
    /// Lower-case word.
    pub const fn word(self) -> &'static str {
        match self {
            RunAction::Pause => "pause",
            RunAction::Resume => "resume",
            RunAction::Abort => "abort",
            RunAction::Retry => "retry",
            RunAction::Skip => "skip",
        }
    }
}

impl fmt::Display for RunAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// What the engine must do for a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Add this to the incident's timeline (by a person, or the engine).
    Timeline {
        /// In words.
        text: String,
        /// Who; `None` for the engine.
        by: Option<String>,
    },
    /// Probe these now.
    CheckNow(Resolved),
    /// Send this to the relay, off the engine task; answer with
    /// [`Run::worked`].
    Relay {
        /// Step index.
        step: usize,
        /// Its attempt.
        attempt: u32,
        /// The command.
        command: RelayCommand,
    },
    /// Run this process, off the engine task; answer with
    /// [`Run::worked`].
    Shell {
        /// Step index.
        step: usize,
        /// Its attempt.
        attempt: u32,
        /// Program and arguments.
        argv: Vec<String>,
        /// Killed with its process group after this long.
        timeout: Duration,
    },
    /// Stop the process of this step's attempt, if it still runs.
    Cancel {
        /// Step index.
        step: usize,
        /// Its attempt.
        attempt: u32,
    },
    /// Put this in maintenance (as the run's starter).
    Maintenance {
        /// Device, group or venue.
        target: Resolved,
        /// How long.
        duration: Duration,
        /// Why.
        reason: String,
    },
    /// Notify the operators.
    Notify {
        /// Who to call.
        contact: String,
        /// What to say.
        text: String,
    },
}

/// What a run asks of the live state.
pub trait World {
    /// The target's status now; `None` when the layout has no such
    /// target.
    fn status(&self, target: &Resolved) -> Option<Status>;

    /// Whether every device of the target has a reading taken at or after
    /// `since` (a feed or sink: its status is always fresh).
    fn checked_since(&self, target: &Resolved, since: SystemTime) -> bool;
}

impl Run {
    /// A new run of `book` (its steps' `work` resolved for the incident,
    /// in order), started by `by`; nothing has started yet
    /// ([`Run::advance`] starts the first step).
    pub fn new(
        id: String,
        book: &Playbook,
        works: Vec<Work>,
        incident: String,
        venue: Option<String>,
        by: &str,
        now: SystemTime,
    ) -> Run {
        let steps = book
            .steps
            .iter()
            .zip(works)
            .map(|(s, work)| StepRun {
                id: s.id.clone(),
                title: s.title.clone(),
                kind: s.kind(),
                dangerous: s.dangerous,
                instructions: s.instructions.clone(),
                work,
                timeout: s.timeout(),
                on_failure: s.on_failure.clone(),
                state: StepState::Pending,
                started: None,
                ended: None,
                outcome: String::new(),
                by: None,
                attempt: 0,
            })
            .collect();
        Run {
            id,
            playbook: book.id.clone(),
            title: book.title.clone(),
            incident,
            venue,
            by: by.to_owned(),
            started: now,
            ended: None,
            state: RunState::Running,
            current: 0,
            steps,
            jumps: 0,
            version: 0,
        }
    }

    /// The step it is at, while there is one.
    pub fn step(&self) -> Option<&StepRun> {
        self.steps.get(self.current)
    }

    /// Whether it is over (done or aborted).
    pub fn is_over(&self) -> bool {
        self.state.is_over()
    }

    /// Starts the steps whose turn came and judges the step in flight:
    /// a check's fresh reading, a wait's condition, a timeout.
    pub fn advance(&mut self, now: SystemTime, world: &dyn World) -> Vec<Effect> {
        let mut fx = Vec::new();
        // Each pass either waits (returns) or moves to another step; a
        // run of instant steps (notes, notifications) ends at the last.
        for _ in 0..=self.steps.len() * 2 + 2 {
            if self.state != RunState::Running {
                return fx;
            }
            let Some(step) = self.steps.get(self.current) else {
                self.finish(RunState::Done, now, &mut fx);
                return fx;
            };
            match step.state {
                StepState::Pending => self.start(now, world, &mut fx),
                StepState::Running => {
                    if !self.judge(now, world, &mut fx) {
                        return fx;
                    }
                }
                StepState::Done | StepState::Skipped => self.next(now, &mut fx),
                StepState::Failed => self.failed(now, &mut fx),
                StepState::NeedsApproval | StepState::Waiting | StepState::Interrupted => {
                    return fx;
                }
            }
        }
        fx
    }

    /// Starts the current step (or asks for its approval first).
    fn start(&mut self, now: SystemTime, world: &dyn World, fx: &mut Vec<Effect>) {
        let i = self.current;
        let Some(step) = self.steps.get_mut(i) else {
            return;
        };
        if step.dangerous && step.by.is_none() {
            step.state = StepState::NeedsApproval;
            step.started = Some(now);
            self.version += 1;
            let text = format!(
                "{}: needs a duty manager's approval before it runs",
                self.label(i)
            );
            fx.push(Effect::Timeline { text, by: None });
            return;
        }
        step.state = StepState::Running;
        step.started = Some(now);
        step.ended = None;
        step.attempt += 1;
        step.outcome.clear();
        let attempt = step.attempt;
        let work = step.work.clone();
        let timeout = step.timeout;
        self.version += 1;
        let label = self.label(i);
        fx.push(Effect::Timeline {
            text: format!("{label} started: {work}"),
            by: None,
        });
        match work {
            Work::Check { target, .. } => fx.push(Effect::CheckNow(target)),
            Work::Wait { .. } => {
                let _ = world;
            }
            Work::Manual | Work::Approve => {
                if let Some(step) = self.steps.get_mut(i) {
                    step.state = StepState::Waiting;
                }
            }
            Work::Relay(RelayWork { mut command, ago }) => {
                if let (RelayCommand::Replay { from, .. }, Some(ago)) = (&mut command, ago) {
                    *from = replay_from(ago, now);
                }
                fx.push(Effect::Relay {
                    step: i,
                    attempt,
                    command,
                });
            }
            Work::Shell { argv } => fx.push(Effect::Shell {
                step: i,
                attempt,
                argv,
                timeout: timeout.unwrap_or(Duration::from_secs(60)),
            }),
            Work::Maintenance {
                target,
                duration,
                reason,
            } => {
                fx.push(Effect::Maintenance {
                    target: target.clone(),
                    duration,
                    reason,
                });
                self.end_step(i, true, format!("{target} in maintenance"), now, fx);
            }
            Work::Notify { contact, text } => {
                fx.push(Effect::Notify {
                    contact: contact.clone(),
                    text,
                });
                self.end_step(
                    i,
                    true,
                    format!("operators notified: call {contact}"),
                    now,
                    fx,
                );
            }
            Work::Note { text } => {
                fx.push(Effect::Timeline {
                    text: text.clone(),
                    by: Some(self.by.clone()),
                });
                self.end_step(i, true, "noted".to_owned(), now, fx);
            }
        }
    }

    /// Judges the step in flight; whether it ended.
    fn judge(&mut self, now: SystemTime, world: &dyn World, fx: &mut Vec<Effect>) -> bool {
        let i = self.current;
        let Some(step) = self.steps.get(i) else {
            return true;
        };
        let started = step.started.unwrap_or(now);
        let elapsed = now.duration_since(started).unwrap_or_default();
        let over = |grace: Duration| step.timeout.is_some_and(|t| elapsed >= t + grace);
        let verdict = match &step.work {
            Work::Check { target, expect } => {
                if world.checked_since(target, started) {
                    Some(reading(world, target, expect))
                } else if over(Duration::ZERO) {
                    Some((
                        false,
                        format!(
                            "no fresh reading of {target} within {}",
                            human(step.timeout)
                        ),
                    ))
                } else {
                    None
                }
            }
            Work::Wait { target, until } => {
                let (ok, text) = reading(world, target, until);
                if ok {
                    Some((true, text))
                } else if over(Duration::ZERO) {
                    Some((
                        false,
                        format!("timed out after {}: {text}", human(step.timeout)),
                    ))
                } else {
                    None
                }
            }
            Work::Relay(_) | Work::Shell { .. } if over(WORKER_GRACE) => Some((
                false,
                format!(
                    "no answer within {}",
                    human(step.timeout.map(|t| t + WORKER_GRACE))
                ),
            )),
            _ => None,
        };
        match verdict {
            Some((ok, text)) => {
                self.end_step(i, ok, text, now, fx);
                true
            }
            None => false,
        }
    }

    /// Ends step `i` done or failed, with what came of it.
    fn end_step(
        &mut self,
        i: usize,
        ok: bool,
        outcome: String,
        now: SystemTime,
        fx: &mut Vec<Effect>,
    ) {
        let label = self.label(i);
        let Some(step) = self.steps.get_mut(i) else {
            return;
        };
        step.state = if ok {
            StepState::Done
        } else {
            StepState::Failed
        };
        step.ended = Some(now);
        let word = if ok { "done" } else { "failed" };
        fx.push(Effect::Timeline {
            text: format!("{label} {word}: {outcome}"),
            by: None,
        });
        step.outcome = outcome;
        self.version += 1;
    }

    /// Moves to the next step.
    fn next(&mut self, now: SystemTime, fx: &mut Vec<Effect>) {
        self.current += 1;
        self.version += 1;
        if self.current >= self.steps.len() {
            self.finish(RunState::Done, now, fx);
        }
    }

    /// The current step failed: stop, go on, or jump, as it says.
    fn failed(&mut self, now: SystemTime, fx: &mut Vec<Effect>) {
        let Some(step) = self.steps.get(self.current) else {
            return;
        };
        match step.on_failure.clone() {
            OnFailure::Stop => {
                let text = format!(
                    "run {} stopped at {}: :retry, :skip or :abort",
                    self.id, step.id
                );
                self.state = RunState::Failed;
                self.version += 1;
                fx.push(Effect::Timeline { text, by: None });
            }
            OnFailure::Continue => self.next(now, fx),
            OnFailure::Goto(id) => {
                let Some(to) = self.steps.iter().position(|s| s.id == id) else {
                    self.state = RunState::Failed;
                    self.version += 1;
                    return;
                };
                self.jumps += 1;
                if self.jumps > MAX_JUMPS {
                    let text = format!("run {} stopped: more than {MAX_JUMPS} goto jumps", self.id);
                    self.state = RunState::Failed;
                    self.version += 1;
                    fx.push(Effect::Timeline { text, by: None });
                    return;
                }
                fx.push(Effect::Timeline {
                    text: format!("{}: goto {id}", self.label(self.current)),
                    by: None,
                });
                // The steps from the target on run again.
                for s in self.steps.iter_mut().skip(to) {
                    if !matches!(s.state, StepState::Pending) {
                        s.state = StepState::Pending;
                    }
                }
                self.current = to;
                self.version += 1;
            }
        }
    }

    /// The run is over (done or aborted).
    fn finish(&mut self, state: RunState, now: SystemTime, fx: &mut Vec<Effect>) {
        self.state = state;
        self.ended = Some(now);
        self.version += 1;
        fx.push(Effect::Timeline {
            text: format!("run {} ({}) {state}", self.id, self.playbook),
            by: None,
        });
    }

    /// `run 4-17/1 step 2 confirm (check)`.
    fn label(&self, i: usize) -> String {
        let (id, kind) = self
            .steps
            .get(i)
            .map_or(("?", "?"), |s| (s.id.as_str(), s.kind.name()));
        format!("run {} step {} {id} ({kind})", self.id, i + 1)
    }

    /// A person's answer to the step `step` (by id), from `who` (the
    /// engine has checked their role). Changes nothing and says why when
    /// the run does not wait for that answer on that step.
    pub fn answer(
        &mut self,
        step: &str,
        who: &str,
        answer: &Answer,
        now: SystemTime,
    ) -> Result<Vec<Effect>, String> {
        let i = self.current;
        let Some(cur) = self.steps.get(i) else {
            return Err(format!(
                "run {} is {}: it waits for no answer",
                self.id, self.state
            ));
        };
        if cur.id != step {
            return Err(format!(
                "run {} is at step {} ({}), not {step}",
                self.id, cur.id, cur.state
            ));
        }
        if self.is_over() {
            return Err(format!("run {} is {}", self.id, self.state));
        }
        let (state, kind, cur_id) = (cur.state, cur.kind, cur.id.clone());
        let label = self.label(i);
        let mut fx = Vec::new();
        match (state, kind, answer) {
            (
                StepState::Waiting,
                StepKind::Manual,
                Answer::Done { comment } | Answer::Fail { comment },
            ) => {
                let ok = matches!(answer, Answer::Done { .. });
                if let Some(s) = self.steps.get_mut(i) {
                    s.by = Some(who.to_owned());
                }
                let outcome = if comment.is_empty() {
                    format!("by {who}")
                } else {
                    format!("by {who}: {comment}")
                };
                self.end_step(i, ok, outcome, now, &mut fx);
            }
            (StepState::Waiting, StepKind::Approve, Answer::Approve | Answer::Reject { .. }) => {
                if let Some(s) = self.steps.get_mut(i) {
                    s.by = Some(who.to_owned());
                }
                let (ok, outcome) = match answer {
                    Answer::Reject { reason } => (false, format!("rejected by {who}: {reason}")),
                    _ => (true, format!("approved by {who}")),
                };
                self.end_step(i, ok, outcome, now, &mut fx);
            }
            (StepState::NeedsApproval, _, Answer::Approve) => {
                if let Some(s) = self.steps.get_mut(i) {
                    s.by = Some(who.to_owned());
                    s.state = StepState::Pending;
                }
                self.version += 1;
                fx.push(Effect::Timeline {
                    text: format!("{label} approved to run"),
                    by: Some(who.to_owned()),
                });
            }
            (StepState::NeedsApproval, _, Answer::Reject { reason }) => {
                self.end_step(
                    i,
                    false,
                    format!("rejected by {who}: {reason}"),
                    now,
                    &mut fx,
                );
            }
            (state, kind, answer) => {
                let wants = match (state, kind) {
                    (StepState::Waiting, StepKind::Manual) => ":done or :fail",
                    (StepState::Waiting, StepKind::Approve) | (StepState::NeedsApproval, _) => {
                        ":approve or :reject"
                    }
                    _ => "no answer",
                };
                return Err(format!(
                    "run {} step {cur_id} ({kind}, {state}) takes {wants}, not {answer}",
                    self.id
                ));
            }
        }
        Ok(fx)
    }

    /// Pause, resume, abort, retry or skip, from `who`. Changes nothing
    /// and says why when the run cannot.
    pub fn control(
        &mut self,
        action: RunAction,
        who: &str,
        now: SystemTime,
    ) -> Result<Vec<Effect>, String> {
        let mut fx = Vec::new();
        let cannot = |run: &Run| {
            let at = run
                .step()
                .map_or_else(String::new, |s| format!(" at step {} ({})", s.id, s.state));
            Err(format!(
                "cannot {action} run {}: it is {}{at}",
                run.id, run.state
            ))
        };
        let i = self.current;
        let step_state = self.step().map(|s| s.state);
        match action {
            RunAction::Pause if self.state == RunState::Running => self.state = RunState::Paused,
            RunAction::Resume if self.state == RunState::Paused => self.state = RunState::Running,
            RunAction::Abort if !self.is_over() => {
                if let Some(step) = self.steps.get_mut(i)
                    && step.state == StepState::Running
                {
                    if matches!(step.work, Work::Shell { .. }) {
                        fx.push(Effect::Cancel {
                            step: i,
                            attempt: step.attempt,
                        });
                    }
                    step.state = StepState::Failed;
                    step.ended = Some(now);
                    step.outcome = format!("aborted by {who}");
                }
                self.finish(RunState::Aborted, now, &mut fx);
            }
            RunAction::Retry
                if matches!(
                    self.state,
                    RunState::Running | RunState::Failed | RunState::Paused
                ) && matches!(step_state, Some(StepState::Interrupted | StepState::Failed)) =>
            {
                if let Some(step) = self.steps.get_mut(i) {
                    step.state = StepState::Pending;
                }
                if self.state == RunState::Failed {
                    self.state = RunState::Running;
                }
            }
            RunAction::Skip
                if matches!(
                    self.state,
                    RunState::Running | RunState::Failed | RunState::Paused
                ) && matches!(
                    step_state,
                    Some(
                        StepState::Interrupted
                            | StepState::Failed
                            | StepState::Waiting
                            | StepState::NeedsApproval
                            | StepState::Pending
                    )
                ) =>
            {
                if let Some(step) = self.steps.get_mut(i) {
                    step.state = StepState::Skipped;
                    step.ended = Some(now);
                    step.outcome = format!("skipped by {who}");
                }
                if self.state == RunState::Failed {
                    self.state = RunState::Running;
                }
            }
            _ => return cannot(self),
        }
        self.version += 1;
        let text = match self.step() {
            Some(s) if matches!(action, RunAction::Retry | RunAction::Skip) => {
                format!("run {} step {}: {action}", self.id, s.id)
            }
            _ => format!("run {}: {action}", self.id),
        };
        if action != RunAction::Abort {
            fx.push(Effect::Timeline {
                text,
                by: Some(who.to_owned()),
            });
        } else if let Some(Effect::Timeline { by, .. }) = fx.last_mut() {
            *by = Some(who.to_owned());
        }
        Ok(fx)
    }

    /// A relay or shell step's work came back: `Ok` with what it did,
    /// `Err` with why it failed. Ignored unless that attempt of that step
    /// is still in flight.
    pub fn worked(
        &mut self,
        step: usize,
        attempt: u32,
        result: Result<String, String>,
        now: SystemTime,
    ) -> Vec<Effect> {
        let mut fx = Vec::new();
        let live = self.steps.get(step).is_some_and(|s| {
            s.attempt == attempt && s.state == StepState::Running && step == self.current
        });
        if !live || self.is_over() {
            return fx;
        }
        match result {
            Ok(text) => self.end_step(step, true, text, now, &mut fx),
            Err(text) => self.end_step(step, false, text, now, &mut fx),
        }
        fx
    }

    /// After a restart: a step that was in flight is interrupted (an
    /// operator decides); one waiting for a person still waits.
    pub fn interrupt(&mut self, now: SystemTime) -> Vec<Effect> {
        let _ = now;
        let mut fx = Vec::new();
        if self.is_over() {
            return fx;
        }
        let i = self.current;
        let label = self.label(i);
        if let Some(step) = self.steps.get_mut(i)
            && step.state == StepState::Running
        {
            step.state = StepState::Interrupted;
            "in flight when the engine stopped".clone_into(&mut step.outcome);
            self.version += 1;
            fx.push(Effect::Timeline {
                text: format!(
                    "{label} was in flight when the engine stopped: interrupted; :retry, :skip or :abort"
                ),
                by: None,
            });
        }
        fx
    }
}

/// Whether the target shows one of `want`, and the reading in words.
fn reading(world: &dyn World, target: &Resolved, want: &[Status]) -> (bool, String) {
    match world.status(target) {
        Some(status) => {
            let ok = want.contains(&status);
            let text = if ok {
                format!("{target} is {}", status.word())
            } else {
                let wanted: Vec<&str> = want.iter().map(|s| s.word()).collect();
                format!("{target} is {}, not {}", status.word(), wanted.join(" or "))
            };
            (ok, text)
        }
        None => (false, format!("{target} is not in the inventory")),
    }
}

/// A duration in words, or "ever".
fn human(d: Option<Duration>) -> String {
    d.map_or_else(
        || "ever".to_owned(),
        |d| humantime::format_duration(d).to_string(),
    )
}

/// A replay's start for a step starting at `now`.
pub fn replay_from(ago: Duration, now: SystemTime) -> ReplayFrom {
    ReplayFrom::Time(now.checked_sub(ago).unwrap_or(SystemTime::UNIX_EPOCH))
}

#[cfg(test)]
#[path = "run_tests.rs"]
mod tests;
