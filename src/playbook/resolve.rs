//! A playbook's steps against one incident: every `{field}` substituted,
//! every name looked up in the layout, so a run (and a dry-run) knows
//! exactly what each step will do: the devices it probes, the relay
//! command, the argv.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::playbook::{Field, Playbook, Step};
use crate::engine::snapshot::Layout;
use crate::model::relay::RelayCommand;
use crate::model::{ProblemKind, Status, Subject, VenueIdx};

/// The incident a run is attached to, as resolution sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    /// Its id (`4-17`); empty for a dry-run on a key with no incident.
    pub incident: String,
    /// Its key (`device:STA-core-a`).
    pub key: String,
    /// Its kind.
    pub kind: ProblemKind,
    /// What it is about.
    pub subject: Subject,
    /// Its venue (none for a relay sink).
    pub venue: Option<VenueIdx>,
}

/// A target with its names looked up: ids that exist in the layout.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "of", content = "id")]
pub enum Resolved {
    /// A device.
    Device(String),
    /// A redundancy group.
    Group(String),
    /// A venue (code).
    Venue(String),
    /// A result feed.
    Feed(String),
    /// A relay sink.
    Sink(String),
}

impl Resolved {
    /// The id or code.
    pub fn id(&self) -> &str {
        match self {
            Resolved::Device(id)
            | Resolved::Group(id)
            | Resolved::Venue(id)
            | Resolved::Feed(id)
            | Resolved::Sink(id) => id,
        }
    }
}

impl fmt::Display for Resolved {
    /// `device STA-core-b`, `group STA-core`, `venue STA`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            Resolved::Device(_) => "device",
            Resolved::Group(_) => "group",
            Resolved::Venue(_) => "venue",
            Resolved::Feed(_) => "feed",
            Resolved::Sink(_) => "sink",
        };
        write!(f, "{what} {}", self.id())
    }
}

/// A relay command as a step will send it. A replay "from 10m ago" is
/// turned into a time when the step starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayWork {
    /// The command (a replay's start is replaced when `ago` is set).
    pub command: RelayCommand,
    /// For a replay: start this long before the step starts.
    pub ago: Option<Duration>,
}

/// What one step will do for one incident, with everything looked up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "work")]
pub enum Work {
    /// Probe the target's devices now; expect one of these statuses.
    Check {
        /// What.
        target: Resolved,
        /// Expected.
        expect: Vec<Status>,
    },
    /// Until the target shows one of these statuses.
    Wait {
        /// What.
        target: Resolved,
        /// Waited for.
        until: Vec<Status>,
    },
    /// A person does it and answers `:done` or `:fail`.
    Manual,
    /// A duty manager answers `:approve` or `:reject`.
    Approve,
    /// Send this to the relay.
    Relay(RelayWork),
    /// Maintenance on a device, group or venue.
    Maintenance {
        /// Device id, group id or venue code.
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
    /// Write in the timeline.
    Note {
        /// The note.
        text: String,
    },
    /// Run this argv.
    Shell {
        /// Program and arguments, fields substituted.
        argv: Vec<String>,
    },
}

impl fmt::Display for Work {
    /// Exactly what it will do, in one line (what a dry-run prints).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let statuses = |s: &[Status]| s.iter().map(|s| s.word()).collect::<Vec<_>>().join(" or ");
        match self {
            Work::Check { target, expect } => {
                write!(f, "probe {target} now, expect {}", statuses(expect))
            }
            Work::Wait { target, until } => {
                write!(f, "wait until {target} is {}", statuses(until))
            }
            Work::Manual => f.write_str("a person does it and answers :done or :fail"),
            Work::Approve => f.write_str("a duty manager answers :approve or :reject"),
            Work::Relay(RelayWork { command, ago }) => match (command, ago) {
                (RelayCommand::Replay { sink, .. }, Some(ago)) => write!(
                    f,
                    "relay: replay sink {sink} from {} before the step starts",
                    humantime::format_duration(*ago)
                ),
                _ => write!(f, "relay: {command}"),
            },
            Work::Maintenance {
                target,
                duration,
                reason,
            } => write!(
                f,
                "maintenance on {target} for {}: {reason}",
                humantime::format_duration(*duration)
            ),
            Work::Notify { contact, text } => write!(f, "notify operators: call {contact}: {text}"),
            Work::Note { text } => write!(f, "note in the timeline: {text}"),
            Work::Shell { argv } => write!(f, "run {argv:?}"),
        }
    }
}

/// The value of a field for an incident, or why it has none.
pub fn field(field: Field, ctx: &Context, layout: &Layout) -> Result<String, String> {
    let _ = (field, ctx, layout);
    Err("not yet".to_owned())
}

/// One step's work for an incident, or why it cannot be done (a field
/// the incident has none of, a name not in the layout).
pub fn resolve_step(step: &Step, ctx: &Context, layout: &Layout) -> Result<Work, String> {
    let _ = (step, ctx, layout);
    Err("not yet".to_owned())
}

/// Every step's work, in order, or the first step that cannot be
/// resolved (`step ID: why`).
pub fn resolve(book: &Playbook, ctx: &Context, layout: &Layout) -> Result<Vec<Work>, String> {
    book.steps
        .iter()
        .map(|s| resolve_step(s, ctx, layout).map_err(|e| format!("step {}: {e}", s.id)))
        .collect()
}

/// How well a playbook matches an incident: `None` when it does not
/// (kind, role, venue or feed differ; a manual playbook never matches);
/// otherwise higher is more specific (best first in the console).
pub fn matches(book: &Playbook, ctx: &Context, layout: &Layout) -> Option<u32> {
    let _ = (book, ctx, layout);
    None
}
