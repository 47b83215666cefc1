//! Validation of one playbook: ids, steps and what each step kind needs.
//! Every error of the file is reported, not only the first.

use std::collections::HashMap;

use super::model::{Playbook, Step, StepKind, Trigger, TriggerKind};
use super::raw::{RawPlaybook, RawStep};
use crate::config::diag::{Diagnostic, SourceFile};
use crate::config::value::is_kebab;
use crate::model::ProblemKind;

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
        },
        steps: book.steps.into_iter().map(Step::from).collect(),
        file: src.path().to_path_buf(),
    })
}

/// What a step's kind needs: a contact for notify steps only; reroute
/// steps dangerous and in a playbook about a feed.
fn check_step(src: &SourceFile, step: &RawStep, trigger: TriggerKind, diags: &mut Vec<Diagnostic>) {
    let sid = step.id.get_ref().as_str();
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
            trigger,
            TriggerKind::Problem(ProblemKind::FeedStale | ProblemKind::LatencySlo)
                | TriggerKind::Manual
        )
    {
        diags.push(src.error(
            step.id.span(),
            format!("reroute step `{sid}` in a playbook not about a feed"),
            "reroute steps belong to feed_stale, latency_slo or manual playbooks",
        ));
    }
}

impl From<RawStep> for Step {
    /// The step as read; only for steps that passed [`check_step`].
    fn from(raw: RawStep) -> Self {
        Step {
            id: raw.id.into_inner(),
            title: raw.title,
            kind: raw.kind,
            instructions: raw.instructions,
            dangerous: raw.dangerous,
            contact: raw.contact,
        }
    }
}
