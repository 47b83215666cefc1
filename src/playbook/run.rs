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

use super::resolve::{Resolved, Work};
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
        let _ = (now, world);
        Vec::new()
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
        let _ = (step, who, answer, now);
        Err("not yet".to_owned())
    }

    /// Pause, resume, abort, retry or skip, from `who`. Changes nothing
    /// and says why when the run cannot.
    pub fn control(
        &mut self,
        action: RunAction,
        who: &str,
        now: SystemTime,
    ) -> Result<Vec<Effect>, String> {
        let _ = (action, who, now);
        Err("not yet".to_owned())
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
        let _ = (step, attempt, result, now);
        Vec::new()
    }

    /// After a restart: a step that was in flight is interrupted (an
    /// operator decides); one waiting for a person still waits.
    pub fn interrupt(&mut self, now: SystemTime) -> Vec<Effect> {
        let _ = now;
        Vec::new()
    }
}

/// A replay's start for a step starting at `now`.
pub fn replay_from(ago: Duration, now: SystemTime) -> ReplayFrom {
    ReplayFrom::Time(now.checked_sub(ago).unwrap_or(SystemTime::UNIX_EPOCH))
}
