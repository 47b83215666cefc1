//! Validated playbooks: what the step runner and the console see once a
//! playbook file has passed every check. No spans; every step is known
//! to be consistent with its kind. Every type is a serde type: snapshots
//! carry the playbooks to remote consoles.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::{ProblemKind, Status};

/// What opens the incident a playbook applies to: one of the engine's
/// problem kinds ([`ProblemKind`], the same type the incidents carry), or
/// `manual` for a playbook started by hand only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TriggerKind {
    /// Incidents of this kind.
    Problem(ProblemKind),
    /// Started by hand only.
    Manual,
}

/// Every trigger kind as written in a playbook file.
pub const TRIGGER_NAMES: [&str; ProblemKind::ALL.len() + 1] = {
    let mut names = ["manual"; ProblemKind::ALL.len() + 1];
    let mut i = 0;
    while i < ProblemKind::ALL.len() {
        names[i] = ProblemKind::ALL[i].config_name();
        i += 1;
    }
    names
};

impl TriggerKind {
    /// The name as written in a playbook file (`device_down`, `manual`).
    pub const fn name(self) -> &'static str {
        match self {
            TriggerKind::Problem(k) => k.config_name(),
            TriggerKind::Manual => "manual",
        }
    }
}

impl fmt::Display for TriggerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for TriggerKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for TriggerKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        if name == "manual" {
            return Ok(TriggerKind::Manual);
        }
        ProblemKind::ALL
            .into_iter()
            .find(|k| k.config_name() == name)
            .map(TriggerKind::Problem)
            .ok_or_else(|| serde::de::Error::unknown_variant(&name, &TRIGGER_NAMES))
    }
}

/// What a step does, by name (`kind = "check"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// Probe a device or group now and expect a status.
    Check,
    /// Wait until a condition holds, or time out.
    Wait,
    /// A person does it and marks it done or failed, with a comment.
    Manual,
    /// A duty manager approves (or rejects, with a reason).
    Approve,
    /// A relay command: switch a feed's source, pause or resume a sink,
    /// move a route, replay.
    Relay,
    /// Put a device, group or venue in maintenance.
    Maintenance,
    /// Notify the operators (desktop, notify command): who to call.
    Notify,
    /// Write a note in the incident's timeline.
    Note,
    /// Run a program (an argv list, no shell) with a timeout.
    Shell,
}

impl StepKind {
    /// Every kind, as written in a file.
    pub const ALL: [StepKind; 9] = [
        StepKind::Check,
        StepKind::Wait,
        StepKind::Manual,
        StepKind::Approve,
        StepKind::Relay,
        StepKind::Maintenance,
        StepKind::Notify,
        StepKind::Note,
        StepKind::Shell,
    ];

    /// The name as written in a file (`check`).
    pub const fn name(self) -> &'static str {
        match self {
            StepKind::Check => "check",
            StepKind::Wait => "wait",
            StepKind::Manual => "manual",
            StepKind::Approve => "approve",
            StepKind::Relay => "relay",
            StepKind::Maintenance => "maintenance",
            StepKind::Notify => "notify",
            StepKind::Note => "note",
            StepKind::Shell => "shell",
        }
    }

    /// Whether a person answers it (`:done`/`:fail`, `:approve`/`:reject`)
    /// rather than the engine.
    pub const fn answered_by_person(self) -> bool {
        matches!(self, StepKind::Manual | StepKind::Approve)
    }
}

impl fmt::Display for StepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A field of the incident a run is attached to, substituted where a
/// playbook writes `{name}`: in a target, a relay step's names and as a
/// whole argument of a shell step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// `{subject}`: the device, group, feed or sink id the incident is
    /// about.
    Subject,
    /// `{device}`: the incident's device (a device incident), or its
    /// feed's primary results server (a feed incident).
    Device,
    /// `{group}`: the incident's redundancy group, or its device's group.
    Group,
    /// `{venue}`: the incident's venue code.
    Venue,
    /// `{feed}`: the incident's feed, or the feed its device serves.
    Feed,
    /// `{sink}`: the incident's relay sink.
    Sink,
    /// `{primary}`: the primary source of the incident's feed.
    Primary,
    /// `{backup}`: the backup source of the incident's feed.
    Backup,
    /// `{incident}`: the incident's id (`4-17`).
    Incident,
    /// `{key}`: the incident's key (`device:STA-core-a`).
    Key,
    /// `{kind}`: the incident's kind (`device_down`).
    Kind,
}

impl Field {
    /// Every field.
    pub const ALL: [Field; 11] = [
        Field::Subject,
        Field::Device,
        Field::Group,
        Field::Venue,
        Field::Feed,
        Field::Sink,
        Field::Primary,
        Field::Backup,
        Field::Incident,
        Field::Key,
        Field::Kind,
    ];

    /// The name between braces (`venue` for `{venue}`).
    pub const fn name(self) -> &'static str {
        match self {
            Field::Subject => "subject",
            Field::Device => "device",
            Field::Group => "group",
            Field::Venue => "venue",
            Field::Feed => "feed",
            Field::Sink => "sink",
            Field::Primary => "primary",
            Field::Backup => "backup",
            Field::Incident => "incident",
            Field::Key => "key",
            Field::Kind => "kind",
        }
    }

    /// The field written as `{name}` (the whole text), if it is one.
    pub fn parse(text: &str) -> Option<Field> {
        let name = text.strip_prefix('{')?.strip_suffix('}')?;
        Field::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{}}}", self.name())
    }
}

/// A name in a step: written literally, or a field of the incident.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ref {
    /// An id as written (`STA-core-a`).
    Id(String),
    /// A field of the incident (`{device}`).
    Field(Field),
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ref::Id(id) => f.write_str(id),
            Ref::Field(field) => field.fmt(f),
        }
    }
}

/// What a check, wait or maintenance step looks at: exactly one of the
/// step's `device`, `group`, `venue`, `feed` or `sink` keys, or the
/// incident's subject when none is given.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "of", content = "ref")]
pub enum Target {
    /// The incident's subject (whatever it is).
    Subject,
    /// A device.
    Device(Ref),
    /// A redundancy group.
    Group(Ref),
    /// A venue.
    Venue(Ref),
    /// A result feed (its status from the relay).
    Feed(Ref),
    /// A relay sink.
    Sink(Ref),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Subject => f.write_str("{subject}"),
            Target::Device(r) => write!(f, "device {r}"),
            Target::Group(r) => write!(f, "group {r}"),
            Target::Venue(r) => write!(f, "venue {r}"),
            Target::Feed(r) => write!(f, "feed {r}"),
            Target::Sink(r) => write!(f, "sink {r}"),
        }
    }
}

/// The statuses a check expects or a wait waits for (`expect = "ok"`,
/// `expect = ["ok", "degraded"]`; `up` is OK or DEGRADED). Never empty.
pub type Expect = Vec<Status>;

/// Which source a relay `source` step makes a feed take.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourcePick {
    /// The feed's backup results server.
    Backup,
    /// The feed's primary results server.
    Primary,
    /// Both again (the first copy of each version wins).
    Both,
    /// A source by id (or `{field}`).
    Named(Ref),
}

/// Where a relay `replay` step starts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplayStart {
    /// From this journal sequence number.
    Seq(u64),
    /// From this long before the step runs (`from = "10m"`).
    Ago(Duration),
}

/// What a relay step asks of the relay (`action = "source"`, …).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum RelayAction {
    /// Make a feed take one source only, or both again.
    Source {
        /// The feed (`feed = "{feed}"` by default).
        feed: Ref,
        /// Which source.
        source: SourcePick,
    },
    /// Stop delivering to a sink.
    Pause {
        /// The sink (`sink = "{sink}"` by default).
        sink: Ref,
    },
    /// Deliver to a paused sink again.
    Resume {
        /// The sink.
        sink: Ref,
    },
    /// Point a route at other sinks.
    Route {
        /// The route id.
        route: String,
        /// Its new sinks.
        sinks: Vec<String>,
    },
    /// Deliver to a sink again from an earlier point.
    Replay {
        /// The sink.
        sink: Ref,
        /// From where.
        from: ReplayStart,
    },
}

/// One argument of a shell step: text as written, or a whole field of
/// the incident (`"{venue}"`; never part of an argument).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arg {
    /// As written.
    Text(String),
    /// A field of the incident, as one whole argument.
    Field(Field),
}

/// What a step does, with what it needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Action {
    /// Probe the target now; done when a fresh reading has one of the
    /// expected statuses, failed when it has another (or none comes
    /// before the timeout).
    Check {
        /// What to probe (a device, a group's members, a venue's devices).
        target: Target,
        /// What it must show.
        expect: Expect,
    },
    /// Done once the target shows one of these statuses; failed at the
    /// timeout.
    Wait {
        /// What to watch.
        target: Target,
        /// What it must show.
        until: Expect,
    },
    /// A person does it (`instructions`) and marks it done or failed.
    Manual,
    /// A duty manager approves, or rejects with a reason.
    Approve,
    /// A relay command.
    Relay(RelayAction),
    /// Put the target in maintenance for a while, with a reason.
    Maintenance {
        /// A device, group or venue.
        target: Target,
        /// How long.
        duration: Duration,
        /// Why (recorded with the window).
        reason: String,
    },
    /// Tell the operators who to call and what to say (the step's
    /// instructions), by desktop notification and the notify command.
    Notify {
        /// Who to call.
        contact: String,
    },
    /// Write this text in the incident's timeline.
    Note {
        /// The note.
        text: String,
    },
    /// Run a program: argv, no shell; fields substituted as whole
    /// arguments. Killed with its whole process group at the timeout.
    Shell {
        /// The program and its arguments.
        argv: Vec<Arg>,
    },
}

impl Action {
    /// Its kind's name.
    pub const fn kind(&self) -> StepKind {
        match self {
            Action::Check { .. } => StepKind::Check,
            Action::Wait { .. } => StepKind::Wait,
            Action::Manual => StepKind::Manual,
            Action::Approve => StepKind::Approve,
            Action::Relay(_) => StepKind::Relay,
            Action::Maintenance { .. } => StepKind::Maintenance,
            Action::Notify { .. } => StepKind::Notify,
            Action::Note { .. } => StepKind::Note,
            Action::Shell { .. } => StepKind::Shell,
        }
    }
}

/// What a run does when a step fails (or times out).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// The run stops, failed (the default).
    #[default]
    Stop,
    /// The run goes on with the next step.
    Continue,
    /// The run goes on at this step (by id).
    Goto(String),
}

/// When a playbook applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    /// The incident kind.
    pub kind: TriggerKind,
    /// Only for subjects with this device role (e.g. `core-switch`; a
    /// group's members, a feed's results servers).
    pub role: Option<String>,
    /// Only for incidents of this venue (code).
    pub venue: Option<String>,
    /// Only for incidents about this feed.
    pub feed: Option<String>,
}

/// One step of a playbook, checked: its id is kebab-case and unique in
/// the playbook, its action has what its kind needs, a `relay` or
/// `shell` step is dangerous, a `goto` names a step of the playbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Unique within the playbook.
    pub id: String,
    /// One line, shown in the step list.
    pub title: String,
    /// What the person running it should know or do.
    pub instructions: String,
    /// Needs a duty manager's approval before it runs.
    pub dangerous: bool,
    /// How long it may take (a default per kind when not written:
    /// [`Step::timeout`]).
    pub timeout: Option<Duration>,
    /// What happens when it fails.
    pub on_failure: OnFailure,
    /// What it does.
    pub action: Action,
}

/// How long a check may take by default.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a wait may take by default.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// How long a shell step may take by default.
pub const SHELL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a relay step may take by default.
pub const RELAY_TIMEOUT: Duration = Duration::from_secs(30);

impl Step {
    /// Its kind.
    pub const fn kind(&self) -> StepKind {
        self.action.kind()
    }

    /// How long it may take: as written, or by kind (a check 60 s, a
    /// wait 30 min, a shell or relay step 60 s / 30 s); `None` for the
    /// steps a person answers, which wait for them.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout.or(match self.action.kind() {
            StepKind::Check => Some(CHECK_TIMEOUT),
            StepKind::Wait => Some(WAIT_TIMEOUT),
            StepKind::Shell => Some(SHELL_TIMEOUT),
            StepKind::Relay => Some(RELAY_TIMEOUT),
            _ => None,
        })
    }
}

/// An incident playbook, checked: a kebab-case id and at least one step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Playbook {
    /// Unique id (kebab-case).
    pub id: String,
    /// Shown in the console.
    pub title: String,
    /// A paragraph on when and why.
    pub summary: String,
    /// When it applies.
    pub trigger: Trigger,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// The file it came from.
    pub file: PathBuf,
}

impl Playbook {
    /// The index of the step with this id.
    pub fn step(&self, id: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.id == id)
    }
}
