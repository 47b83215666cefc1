//! Validated playbooks: what the step runner and the console see once a
//! playbook file has passed every check. No spans; every step is known
//! to be consistent with its kind.

use std::path::PathBuf;

use serde::Deserialize;

use crate::model::ProblemKind;

/// What opens the incident a playbook applies to: one of the engine's
/// problem kinds ([`ProblemKind`], the same type the incidents carry), or
/// `manual` for a playbook started by hand only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerKind {
    /// Incidents of this kind.
    Problem(ProblemKind),
    /// Started by hand only.
    Manual,
}

/// Every trigger kind as written in a playbook file.
const TRIGGER_NAMES: [&str; ProblemKind::ALL.len() + 1] = {
    let mut names = ["manual"; ProblemKind::ALL.len() + 1];
    let mut i = 0;
    while i < ProblemKind::ALL.len() {
        names[i] = ProblemKind::ALL[i].config_name();
        i += 1;
    }
    names
};

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
