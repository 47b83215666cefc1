//! Validated playbooks: what the step runner and the console see once a
//! playbook file has passed every check. No spans; every step is known
//! to be consistent with its kind.

use std::path::PathBuf;

use serde::Deserialize;

/// What opens the incident a playbook applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    /// A device went hard DOWN.
    DeviceDown,
    /// A redundancy group lost a member but still meets `min_up`.
    RedundancyLost,
    /// A redundancy group fell below `min_up`.
    GroupDown,
    /// A result feed went silent for longer than `stale_after`.
    FeedStale,
    /// Result latency went over a consumer's SLO.
    LatencySlo,
    /// Started by hand only.
    Manual,
}

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// The operator does it and confirms.
    Manual,
    /// Re-run the probes of the incident's subject and show the result.
    Check,
    /// Switch the incident's feed to its other source.
    Reroute,
    /// Call or page someone (`contact`).
    Notify,
}

/// When a playbook applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    /// The incident kind.
    pub kind: TriggerKind,
    /// Only for subjects with this device role (e.g. `core-switch`).
    pub role: Option<String>,
}

/// One step of a playbook, checked: its id is kebab-case and unique in
/// the playbook, `contact` is set exactly for notify steps, and a
/// reroute step is dangerous and in a feed playbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Unique within the playbook.
    pub id: String,
    /// One line, shown in the step list.
    pub title: String,
    /// What the step does.
    pub kind: StepKind,
    /// What to do, shown when the step is selected.
    pub instructions: String,
    /// Needs a duty manager's approval before it runs.
    pub dangerous: bool,
    /// For `notify` steps (and only those): who to call.
    pub contact: Option<String>,
}

/// An incident playbook, checked: a kebab-case id and at least one step.
#[derive(Debug, Clone, PartialEq, Eq)]
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
