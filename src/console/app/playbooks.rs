//! Playbooks in the console: the playbooks that match an incident (best
//! first), its runs, the run and runs views, `R`/`D`/Enter on an
//! incident, and the playbook commands of the command line. Which run an
//! answer goes to is decided here, from what the console shows; the
//! answer carries the step the person saw, so a late answer never lands
//! on another step.

use std::fmt;

use crate::console::keymap::Context;
use crate::console::playbook_line::PlaybookLine;
use crate::engine::{
    Answer, Command, Done, Incident, IncidentId, Playbook, PlaybookCommand, Reply, Run, RunAction,
    Snapshot, StepKind, StepState, playbook_matches,
};

use super::{App, Effect, Message, MessageKind, Pane, View};

/// A run's id (`4-17/1`: its incident and its number there), small
/// enough to name the view that shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RunKey {
    /// The incident the run is attached to.
    pub incident: IncidentId,
    /// Its number on the incident, from 1.
    pub n: u32,
}

impl RunKey {
    /// Reads a run id (`4-17/1`).
    pub fn parse(id: &str) -> Option<RunKey> {
        let (incident, n) = id.rsplit_once('/')?;
        let (run, seq) = incident.split_once('-')?;
        Some(RunKey {
            incident: IncidentId {
                run: run.parse().ok()?,
                n: seq.parse().ok()?,
            },
            n: n.parse().ok()?,
        })
    }

    /// The run it names in the snapshot, if still there.
    pub fn find(self, snap: &Snapshot) -> Option<&Run> {
        let id = self.to_string();
        snap.runs.iter().find(|r| r.id == id)
    }
}

impl fmt::Display for RunKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.incident, self.n)
    }
}

/// A dry-run's plan, shown over the screen until Esc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// What was dry-run (`dry-run playbook P on 4-17`).
    pub title: String,
    /// One line per step, as the engine wrote them.
    pub lines: Vec<String>,
    /// Lines scrolled past.
    pub scroll: usize,
}

/// The playbooks that match `incident`, best first (highest score, then
/// id), with their score.
pub fn matching<'a>(snap: &'a Snapshot, incident: &Incident) -> Vec<(&'a Playbook, u32)> {
    let ctx = incident.context();
    let mut found: Vec<(&Playbook, u32)> = snap
        .playbooks
        .iter()
        .filter_map(|b| playbook_matches(b, &ctx, &snap.layout).map(|s| (b, s)))
        .collect();
    found.sort_by(|(a, sa), (b, sb)| sb.cmp(sa).then_with(|| a.id.cmp(&b.id)));
    found
}

/// The runs of the incident `id`: those not over first, then the newest.
pub fn incident_runs(snap: &Snapshot, id: IncidentId) -> Vec<&Run> {
    let id = id.to_string();
    let mut runs: Vec<&Run> = snap.runs.iter().filter(|r| r.incident == id).collect();
    runs.sort_by(|a, b| {
        a.is_over()
            .cmp(&b.is_over())
            .then_with(|| b.started.cmp(&a.started))
    });
    runs
}

/// Whether the run waits for a person: an answer, an approval, or an
/// operator's decision (an interrupted or failed step).
pub fn waits_for_answer(run: &Run) -> bool {
    !run.is_over()
        && (run.state == crate::engine::RunState::Failed
            || run.step().is_some_and(|s| {
                matches!(
                    s.state,
                    StepState::Waiting | StepState::NeedsApproval | StepState::Interrupted
                )
            }))
}

/// What the step a run is at waits for, as a prompt for `role`; `None`
/// when it waits for nobody.
pub fn prompt(run: &Run, role: crate::engine::Role) -> Option<(String, bool)> {
    use crate::engine::Role;
    if run.is_over() {
        return None;
    }
    let step = run.step()?;
    let approval = (step.state == StepState::Waiting && step.kind == StepKind::Approve)
        || step.state == StepState::NeedsApproval;
    if approval {
        return Some(if role >= Role::DutyManager {
            ("approve with :approve, or :reject REASON".to_owned(), true)
        } else {
            ("waiting for a duty manager's approval".to_owned(), false)
        });
    }
    match step.state {
        StepState::Waiting if step.kind == StepKind::Manual => Some(if role >= Role::Technician {
            (
                "answer with :done [COMMENT] or :fail COMMENT".to_owned(),
                true,
            )
        } else {
            ("waiting for a technician's answer".to_owned(), false)
        }),
        StepState::Interrupted | StepState::Failed => Some(if role >= Role::Operator {
            ("decide: :retry, :skip or :abort".to_owned(), true)
        } else {
            (
                "waiting for an operator: retry, skip or abort".to_owned(),
                false,
            )
        }),
        _ => None,
    }
}

impl App {
    /// The dry-run's plan on screen, if any.
    pub fn plan(&self) -> Option<&Plan> {
        self.plan.as_ref()
    }

    pub(super) fn go_run(&mut self, key: RunKey) {
        if self.view() != View::Run(key) {
            self.views.push(View::Run(key));
        }
        self.history_scroll = 0;
        self.focus = Pane::Main;
    }

    pub(super) fn go_runs(&mut self) {
        if self.view() != View::Runs {
            self.views.push(View::Runs);
        }
        self.focus = Pane::Main;
    }

    /// Enter on the runs view: the selected run.
    pub(super) fn open_selected_run(&mut self, snap: &Snapshot) {
        if let Some(key) = self
            .runs_shown(snap)
            .get(self.run_sel)
            .and_then(|r| RunKey::parse(&r.id))
        {
            self.go_run(key);
        }
    }

    /// Enter on an incident: its active run, else its newest.
    pub(super) fn open_incident_run(&mut self, snap: &Snapshot) {
        let Some(incident) = self.current_incident(snap) else {
            return;
        };
        let id = incident.id;
        match incident_runs(snap, id)
            .first()
            .and_then(|r| RunKey::parse(&r.id))
        {
            Some(key) => self.go_run(key),
            None => self.info(format!(
                "incident #{id} has no playbook run; R runs the first playbook that matches it"
            )),
        }
    }

    /// `R` (run) or `D` (dry-run) on an incident: its best playbook.
    pub(super) fn best_playbook(&mut self, snap: &Snapshot, dry: bool) -> Effect {
        let Some(incident) = self.current_incident(snap) else {
            self.info("no incident selected");
            return Effect::None;
        };
        let Some((book, _)) = matching(snap, incident).into_iter().next() else {
            self.error(format!(
                "no playbook matches incident #{}; :run PLAYBOOK runs one by hand",
                incident.id
            ));
            return Effect::None;
        };
        let command = if dry {
            PlaybookCommand::DryRun {
                playbook: book.id.clone(),
                which: incident.id.to_string(),
            }
        } else {
            PlaybookCommand::Run {
                playbook: book.id.clone(),
                which: incident.id.to_string(),
            }
        };
        self.playbook_command(command, snap)
    }

    /// A run or dry-run is sent (a run after its yes); an answer or a
    /// control goes at once, except an abort, which asks.
    fn playbook_command(&mut self, command: PlaybookCommand, snap: &Snapshot) -> Effect {
        match &command {
            PlaybookCommand::DryRun { .. } => {
                let label = command.to_string();
                self.planning = Some(label.clone());
                self.send(label, vec![Command::Playbook(command)])
            }
            PlaybookCommand::Run { playbook, which } => {
                let title = snap
                    .playbooks
                    .iter()
                    .find(|b| &b.id == playbook)
                    .map_or(String::new(), |b| format!(" ({})", b.title));
                let text = format!("run playbook {playbook}{title} on incident {which}? (y/N)");
                self.ask(Command::Playbook(command), text);
                Effect::None
            }
            PlaybookCommand::Control {
                run,
                action: RunAction::Abort,
            } => {
                let at = snap
                    .runs
                    .iter()
                    .find(|r| &r.id == run)
                    .and_then(|r| r.step().map(|s| format!(" at step {}", s.id)))
                    .unwrap_or_default();
                let text = format!("abort run {run}{at} for good? (y/N)");
                self.ask(Command::Playbook(command), text);
                Effect::None
            }
            PlaybookCommand::Answer { .. }
            | PlaybookCommand::Control { .. }
            | PlaybookCommand::Step { .. } => {
                let label = command.to_string();
                self.send(label, vec![Command::Playbook(command)])
            }
        }
    }

    /// Asks `text` before `command` is sent (`y` sends it).
    fn ask(&mut self, command: Command, text: String) {
        self.message = Some(Message {
            text,
            kind: MessageKind::Error,
        });
        self.confirm_relay = Some(command);
    }

    /// The incident a `:run` or `:dry-run` without `on` is about: the one
    /// shown (or whose run is shown), else the one selected in the list.
    fn line_incident<'a>(&self, snap: &'a Snapshot) -> Option<&'a Incident> {
        let shown = match self.view() {
            View::Incident(id) => Some(id),
            View::Run(key) => Some(key.incident),
            _ => None,
        };
        if let Some(id) = shown.filter(|_| self.focus == Pane::Main) {
            return snap.incidents.iter().find(|i| i.id == id);
        }
        if self.focus == Pane::Incidents {
            let order = self.incidents_shown(snap);
            return order
                .get(super::incident_position(&order, snap, self.incident_sel))
                .and_then(|&k| snap.incidents.get(k));
        }
        None
    }

    /// The playbook named on a command line: an id (any case), or a
    /// number in the incident's list of playbooks that match it.
    fn named_playbook(
        snap: &Snapshot,
        typed: &str,
        incident: Option<&Incident>,
    ) -> Result<String, String> {
        if let Ok(n) = typed.parse::<usize>() {
            let Some(incident) = incident else {
                return Err(format!(
                    "playbook {typed} of which incident? open one, or type the playbook's id"
                ));
            };
            return matching(snap, incident)
                .get(n.wrapping_sub(1))
                .map(|(b, _)| b.id.clone())
                .ok_or_else(|| {
                    format!(
                        "incident #{} has no playbook {typed} in its list",
                        incident.id
                    )
                });
        }
        snap.playbooks
            .iter()
            .find(|b| b.id == typed)
            .or_else(|| {
                snap.playbooks
                    .iter()
                    .find(|b| b.id.eq_ignore_ascii_case(typed))
            })
            .map(|b| b.id.clone())
            .ok_or_else(|| {
                let ids: Vec<&str> = snap.playbooks.iter().map(|b| b.id.as_str()).collect();
                if ids.is_empty() {
                    format!("no playbook `{typed}`: none is loaded")
                } else {
                    format!("no playbook `{typed}`; playbooks: {}", ids.join(" "))
                }
            })
    }

    /// The run an answer or a control goes to: the run shown, else the
    /// active run of the incident shown, else the only run that waits for
    /// an answer.
    fn target_run<'a>(&self, snap: &'a Snapshot) -> Result<&'a Run, String> {
        match self.view() {
            View::Run(key) => {
                return key
                    .find(snap)
                    .ok_or_else(|| format!("run {key} is no longer listed"));
            }
            View::Incident(id) if self.focus == Pane::Main => {
                if let Some(run) = incident_runs(snap, id).into_iter().find(|r| !r.is_over()) {
                    return Ok(run);
                }
            }
            _ => {}
        }
        let waiting: Vec<&Run> = snap.runs.iter().filter(|r| waits_for_answer(r)).collect();
        match waiting.as_slice() {
            [run] => Ok(run),
            [] => Err("no run waits for an answer; open a run first (:runs lists them)".to_owned()),
            many => Err(format!(
                "{} runs wait for an answer ({}): open one first (:runs lists them)",
                many.len(),
                many.iter()
                    .map(|r| r.id.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            )),
        }
    }

    /// Checks that the run's current step waits for this answer.
    fn answerable(run: &Run, answer: &Answer) -> Result<String, String> {
        let Some(step) = run.step().filter(|_| !run.is_over()) else {
            return Err(format!(
                "run {} is {}: no step to answer",
                run.id, run.state
            ));
        };
        let approval = (step.state == StepState::Waiting && step.kind == StepKind::Approve)
            || step.state == StepState::NeedsApproval;
        let manual = step.state == StepState::Waiting && step.kind == StepKind::Manual;
        let fits = if answer.is_approval() {
            approval
        } else {
            manual
        };
        if fits {
            Ok(step.id.clone())
        } else {
            let wants = if approval {
                ": it waits for :approve or :reject"
            } else if manual {
                ": it waits for :done or :fail"
            } else {
                ""
            };
            Err(format!(
                "run {} step {} is a {} step, {}{wants}",
                run.id, step.id, step.kind, step.state
            ))
        }
    }

    /// A playbook command line.
    pub(super) fn run_playbook_line(&mut self, line: PlaybookLine, snap: &Snapshot) -> Effect {
        let result = match line {
            PlaybookLine::Runs => {
                self.go_runs();
                return Effect::None;
            }
            PlaybookLine::Run { playbook, on } => self
                .start_line(snap, &playbook, on)
                .map(|(playbook, which)| PlaybookCommand::Run { playbook, which }),
            PlaybookLine::DryRun { playbook, on } => self
                .start_line(snap, &playbook, on)
                .map(|(playbook, which)| PlaybookCommand::DryRun { playbook, which }),
            PlaybookLine::Answer(answer) => self.target_run(snap).and_then(|run| {
                Self::answerable(run, &answer).map(|step| PlaybookCommand::Answer {
                    run: run.id.clone(),
                    step,
                    answer,
                })
            }),
            PlaybookLine::Control(action) => {
                self.target_run(snap).map(|run| PlaybookCommand::Control {
                    run: run.id.clone(),
                    action,
                })
            }
        };
        match result {
            Ok(command) => self.playbook_command(command, snap),
            Err(e) => {
                self.error(e);
                Effect::None
            }
        }
    }

    /// The playbook and incident of a `:run` or `:dry-run`.
    fn start_line(
        &self,
        snap: &Snapshot,
        playbook: &str,
        on: Option<String>,
    ) -> Result<(String, String), String> {
        let shown = self.line_incident(snap);
        if on.is_none() && shown.is_none() {
            return Err(format!(
                "on which incident? open one, or add it: {playbook} on ID"
            ));
        }
        let incident = match &on {
            Some(which) => snap.incidents.iter().find(|i| i.id.to_string() == *which),
            None => shown,
        };
        let book = Self::named_playbook(snap, playbook, incident)?;
        let which = match (on, incident) {
            (Some(which), _) => which,
            (None, Some(i)) => i.id.to_string(),
            (None, None) => return Err(format!("on which incident? {playbook} on ID")),
        };
        Ok((book, which))
    }

    /// The answers to a dry-run (its plan, shown over the screen) and to
    /// a run (its view opens). Returns whether it was one of them.
    pub(super) fn on_playbook_reply(&mut self, label: &str, replies: &[Reply]) -> bool {
        let done = replies.iter().find_map(|r| match r {
            Ok(Done::Playbook { run, text }) => Some((run.clone(), text.clone())),
            _ => None,
        });
        if self.planning.as_deref() == Some(label) {
            self.planning = None;
            if let Some((_, text)) = done {
                self.plan = Some(Plan {
                    title: label.to_owned(),
                    lines: text.lines().map(str::to_owned).collect(),
                    scroll: 0,
                });
                self.message = None;
                return true;
            }
            return false;
        }
        if self.starting.as_deref() == Some(label) {
            self.starting = None;
            if let Some(key) = done.as_ref().and_then(|(run, _)| RunKey::parse(run)) {
                self.go_run(key);
            }
        }
        // The engine's text says it all (it often repeats the label).
        match done {
            Some((_, text)) if replies.iter().all(Result::is_ok) && !text.is_empty() => {
                self.info(text);
                true
            }
            _ => false,
        }
    }

    /// Sends a confirmed playbook command, remembering a run's label so
    /// that its answer opens the run.
    pub(super) fn send_confirmed(&mut self, command: Command) -> Effect {
        let label = command.to_string();
        if matches!(command, Command::Playbook(PlaybookCommand::Run { .. })) {
            self.starting = Some(label.clone());
        }
        self.send(label, vec![command])
    }

    /// The arrows and the page keys on the plan.
    pub(super) fn scroll_plan(&mut self, action: crate::console::keymap::Action, page: usize) {
        if let Some(plan) = &mut self.plan {
            let last = plan.lines.len().saturating_sub(page);
            let at = plan.scroll.min(last);
            plan.scroll = super::navigate::step(at, plan.lines.len(), action, 1, page).min(last);
        }
    }

    /// Where keys go while the plan is shown.
    pub(super) fn plan_context(&self) -> Option<Context> {
        self.plan.as_ref().map(|_| Context::Plan)
    }
}
