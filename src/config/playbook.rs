//! `playbooks/*.toml`: incident playbooks (runbooks) an operator runs step
//! by step from the console. This module reads and validates them; the
//! step runner lives in `playbook/`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::diag::{Diagnostic, Severity, SourceFile};
use super::value::is_kebab;

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
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    /// The incident kind.
    pub kind: TriggerKind,
    /// Only for subjects with this device role (e.g. `core-switch`).
    pub role: Option<Spanned<String>>,
}

/// One step of a playbook.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Unique within the playbook.
    pub id: Spanned<String>,
    /// One line, shown in the step list.
    pub title: String,
    /// What the step does.
    pub kind: StepKind,
    /// What to do, shown when the step is selected.
    #[serde(default)]
    pub instructions: String,
    /// Needs a duty manager's approval before it runs.
    #[serde(default)]
    pub dangerous: bool,
    /// For `notify` steps: who to call.
    pub contact: Option<String>,
}

/// An incident playbook.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Playbook {
    /// Unique id (kebab-case).
    pub id: Spanned<String>,
    /// Shown in the console.
    pub title: String,
    /// A paragraph on when and why.
    #[serde(default)]
    pub summary: String,
    /// When it applies.
    pub trigger: Trigger,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// The file it came from (set on load).
    #[serde(skip)]
    pub file: PathBuf,
}

/// Reads every `*.toml` in a folder, in name order. All errors of all
/// files come back together.
pub fn load_dir(dir: &Path) -> Result<Vec<Playbook>, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            return Err(vec![Diagnostic {
                severity: Severity::Error,
                file: dir.to_path_buf(),
                line: 1,
                column: 1,
                message: format!("cannot read the playbook folder: {e}"),
                help: Some("pass the folder that holds the playbook .toml files".to_owned()),
                source_line: None,
            }]);
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut books: Vec<Playbook> = Vec::new();
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    for path in files {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                diags.push(Diagnostic {
                    severity: Severity::Error,
                    file: path.clone(),
                    line: 1,
                    column: 1,
                    message: format!("cannot read the playbook: {e}"),
                    help: Some("check the file's permissions".to_owned()),
                    source_line: None,
                });
                continue;
            }
        };
        let src = SourceFile::new(&path, text);
        match parse(&src) {
            Ok(mut book) => {
                let id = book.id.get_ref().clone();
                if let Some(first) = seen.get(&id) {
                    diags.push(src.error(
                        book.id.span(),
                        format!("duplicate playbook id `{id}` (also in {})", first.display()),
                        "give each playbook its own id",
                    ));
                } else {
                    seen.insert(id, path.clone());
                    book.file = path;
                    books.push(book);
                }
            }
            Err(mut d) => diags.append(&mut d),
        }
    }
    if diags.is_empty() {
        Ok(books)
    } else {
        Err(diags)
    }
}

/// Parses and validates one playbook.
pub fn parse(src: &SourceFile) -> Result<Playbook, Vec<Diagnostic>> {
    let book: Playbook =
        toml::from_str(src.text()).map_err(|e| vec![src.from_toml(&e, Some("playbook"))])?;
    let mut diags = Vec::new();
    let id = book.id.get_ref();
    if !is_kebab(id) {
        diags.push(src.error(
            book.id.span(),
            format!("playbook id `{id}` is not kebab-case"),
            "write it like `core-switch-lost`",
        ));
    }
    if book.steps.is_empty() {
        diags.push(src.error(
            book.id.span(),
            format!("playbook `{id}` has no steps"),
            "add [[steps]] tables",
        ));
    }
    let mut step_ids: HashMap<&str, usize> = HashMap::new();
    for step in &book.steps {
        let sid = step.id.get_ref().as_str();
        if !is_kebab(sid) {
            diags.push(src.error(
                step.id.span(),
                format!("step id `{sid}` is not kebab-case"),
                "write it like `confirm-uplink`",
            ));
        }
        if let Some(first) = step_ids.get(sid) {
            let (line, _) = src.position(*first);
            diags.push(src.error(
                step.id.span(),
                format!("duplicate step id `{sid}` (first on line {line})"),
                "give each step of a playbook its own id",
            ));
        } else {
            step_ids.insert(sid, step.id.span().start);
        }
        match (step.kind, &step.contact) {
            (StepKind::Notify, None) => diags.push(src.error(
                step.id.span(),
                format!("notify step `{sid}` names no contact"),
                "add contact = \"who to call\"",
            )),
            (k, Some(_)) if k != StepKind::Notify => diags.push(src.error(
                step.id.span(),
                format!("step `{sid}` has a contact but is not a notify step"),
                "remove contact, or set kind = \"notify\"",
            )),
            _ => {}
        }
        if step.kind == StepKind::Reroute && !step.dangerous {
            diags.push(src.error(
                step.id.span(),
                format!("reroute step `{sid}` is not marked dangerous"),
                "add dangerous = true: a reroute moves live results and needs a duty manager's approval",
            ));
        }
        if step.kind == StepKind::Reroute
            && !matches!(
                book.trigger.kind,
                TriggerKind::FeedStale | TriggerKind::LatencySlo | TriggerKind::Manual
            )
        {
            diags.push(src.error(
                step.id.span(),
                format!("reroute step `{sid}` in a playbook not about a feed"),
                "reroute steps belong to feed_stale, latency_slo or manual playbooks",
            ));
        }
    }
    if diags.is_empty() {
        Ok(book)
    } else {
        Err(diags)
    }
}
