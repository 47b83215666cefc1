//! The raw serde types of a playbook file: exactly its keys, ids with
//! their spans, nothing checked beyond the TOML types.

use serde::Deserialize;
use toml::Spanned;

use super::model::TriggerKind;

/// `[trigger]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTrigger {
    pub(super) kind: TriggerKind,
    pub(super) role: Option<Spanned<String>>,
}

/// A `[[steps]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStep {
    pub(super) id: Spanned<String>,
    pub(super) title: String,
    pub(super) kind: String,
    #[serde(default)]
    pub(super) instructions: String,
    #[serde(default)]
    pub(super) dangerous: bool,
    pub(super) contact: Option<String>,
}

/// A whole playbook file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPlaybook {
    pub(super) id: Spanned<String>,
    pub(super) title: String,
    #[serde(default)]
    pub(super) summary: String,
    pub(super) trigger: RawTrigger,
    pub(super) steps: Vec<RawStep>,
}
