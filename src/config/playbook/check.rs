//! Validation of one playbook: ids, steps and what each step kind needs.
//! Every error of the file is reported, not only the first.

use std::collections::HashMap;

use super::model::{
    Action, Field, OnFailure, Playbook, Ref, RelayAction, SourcePick, Step, Target, Trigger,
    TriggerKind,
};
use super::raw::{RawPlaybook, RawStep};
use crate::config::diag::{Diagnostic, SourceFile};
use crate::config::value::is_kebab;

/// Checks a raw playbook read from `src`.
pub(super) fn check(src: &SourceFile, book: RawPlaybook) -> Result<Playbook, Vec<Diagnostic>> {
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
        check_step(src, step, book.trigger.kind, &mut diags);
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    Ok(Playbook {
        id: book.id.into_inner(),
        title: book.title,
        summary: book.summary,
        trigger: Trigger {
            kind: book.trigger.kind,
            role: book.trigger.role.map(toml::Spanned::into_inner),
            venue: None,
            feed: None,
        },
        steps: book.steps.into_iter().map(Step::from).collect(),
        file: src.path().to_path_buf(),
    })
}

/// What a step's kind needs (interim: the step-9 kinds only).
fn check_step(src: &SourceFile, step: &RawStep, trigger: TriggerKind, diags: &mut Vec<Diagnostic>) {
    let _ = trigger;
    let sid = step.id.get_ref().as_str();
    if !matches!(
        step.kind.as_str(),
        "check" | "manual" | "notify" | "reroute"
    ) {
        diags.push(src.error(
            step.id.span(),
            format!("step `{sid}` has an unknown kind"),
            "use check, manual, notify or reroute",
        ));
    }
}

impl From<RawStep> for Step {
    /// The step as read; only for steps that passed [`check_step`].
    fn from(raw: RawStep) -> Self {
        let action = match raw.kind.as_str() {
            "check" => Action::Check {
                target: Target::Subject,
                expect: vec![crate::model::Status::Ok],
            },
            "notify" => Action::Notify {
                contact: raw.contact.unwrap_or_default(),
            },
            "reroute" => Action::Relay(RelayAction::Source {
                feed: Ref::Field(Field::Feed),
                source: SourcePick::Backup,
            }),
            _ => Action::Manual,
        };
        Step {
            id: raw.id.into_inner(),
            title: raw.title,
            instructions: raw.instructions,
            dangerous: raw.dangerous,
            timeout: None,
            on_failure: OnFailure::Stop,
            action,
        }
    }
}
