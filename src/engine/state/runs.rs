//! Playbook runs, a part of the engine's state: the engine owns every
//! run ([`crate::playbook::Run`]) and moves it on after each batch of
//! inputs; a step's slow work (a relay command, a process) is handed to
//! the task as a [`Job`] and comes back with [`State::job_done`].
//!
//! Every step and every answer goes into the incident's timeline (and
//! the store); every run is stored whole at each change, so a restart
//! takes it back ([`State::restore_runs`]) with the step that was in
//! flight interrupted.

use std::sync::Arc;
use std::time::SystemTime;

use crate::config::playbook::Playbook;
use crate::incident::TimelineKind;
use crate::incident::lifecycle::Notify;
use crate::incident::record::TimelineEntry;
use crate::model::Status;
use crate::model::relay::SinkState;
use crate::playbook::resolve::{self, Context, Resolved};
use crate::playbook::{Effect, Run, RunAction, World};

use super::super::command::{Done, Identity, PlaybookCommand, Refusal, Reply, Role};
use super::super::port::StoreOp;
use super::super::snapshot::Layout;
use super::State;
use super::board::Board;
use super::incidents::Notice;
use super::relay::RelayWatch;

/// How many finished runs a snapshot carries (the store keeps every one).
pub const FINISHED_SHOWN: usize = 50;

/// A step's slow work for the task to do off the engine task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The run's id.
    pub run: String,
    /// Who started the run (the audit names them).
    pub by: String,
    /// A [`Effect::Relay`], [`Effect::Shell`] or [`Effect::Cancel`].
    pub effect: Effect,
}

impl Job {
    /// The key a shell job is known by (for cancel).
    pub fn key(run: &str, step: usize, attempt: u32) -> String {
        format!("{run}#{step}.{attempt}")
    }
}

/// Every run, and what they asked for since the task last took it.
#[derive(Debug, Default)]
pub struct Runs {
    books: Arc<Vec<Playbook>>,
    shell: bool,
    list: Vec<Run>,
    shown: Arc<Vec<Run>>,
    /// The runs' versions as last stored.
    stored: Vec<u64>,
    jobs: Vec<Job>,
    store: Vec<StoreOp>,
    checks: Vec<usize>,
}

impl Runs {
    /// The playbooks, shared by every snapshot.
    pub fn books(&self) -> &Arc<Vec<Playbook>> {
        &self.books
    }

    /// The runs as published.
    pub fn shown(&self) -> &Arc<Vec<Run>> {
        &self.shown
    }

    /// Store operations since the last call.
    pub fn take_store(&mut self) -> Vec<StoreOp> {
        std::mem::take(&mut self.store)
    }

    /// Devices the runs' check steps want probed now.
    pub fn take_checks(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.checks)
    }

    /// Whether any run is not over (the engine judges them at each
    /// batch).
    pub fn any_live(&self) -> bool {
        self.list.iter().any(|r| !r.is_over())
    }

    fn find(&self, which: &str) -> Option<usize> {
        self.list.iter().position(|r| r.id == which).or_else(|| {
            // An incident's id: its newest run.
            self.list.iter().rposition(|r| r.incident == which)
        })
    }

    /// Publishes the runs: those not over, then the newest over ones.
    fn relist(&mut self) {
        let live = self.list.iter().filter(|r| !r.is_over());
        let over: Vec<&Run> = self.list.iter().filter(|r| r.is_over()).collect();
        let skip = over.len().saturating_sub(FINISHED_SHOWN);
        let mut list: Vec<Run> = over.into_iter().skip(skip).cloned().collect();
        list.extend(live.cloned());
        list.sort_by(|a, b| a.started.cmp(&b.started).then_with(|| a.id.cmp(&b.id)));
        self.shown = Arc::new(list);
    }

    /// Drops the oldest finished runs past what is shown (the store has
    /// them).
    fn forget_old(&mut self) {
        let over = self.list.iter().filter(|r| r.is_over()).count();
        let mut extra = over.saturating_sub(FINISHED_SHOWN * 2);
        if extra == 0 {
            return;
        }
        let mut i = 0;
        while i < self.list.len() && extra > 0 {
            if self.list[i].is_over() {
                self.list.remove(i);
                self.stored.remove(i);
                extra -= 1;
            } else {
                i += 1;
            }
        }
    }
}

/// What a run reads of the live state: statuses and reading times.
struct Look<'a> {
    board: &'a Board,
    relay: &'a RelayWatch,
    layout: &'a Layout,
}

impl Look<'_> {
    /// The devices of a target (a device, a group's members, a venue's
    /// devices); none for a feed or sink.
    fn devices(&self, target: &Resolved) -> Vec<usize> {
        let l = self.layout;
        match target {
            Resolved::Device(id) => l.device(id).map(|d| vec![d.0]).unwrap_or_default(),
            Resolved::Group(id) => l
                .group(id)
                .and_then(|g| l.group_info(g))
                .map(|g| g.members.iter().map(|d| d.0).collect())
                .unwrap_or_default(),
            Resolved::Venue(code) => l
                .venue(code)
                .and_then(|v| l.venue_info(v))
                .map(|v| v.devices.iter().map(|d| d.0).collect())
                .unwrap_or_default(),
            Resolved::Feed(_) | Resolved::Sink(_) => Vec::new(),
        }
    }
}

impl World for Look<'_> {
    fn status(&self, target: &Resolved) -> Option<Status> {
        let l = self.layout;
        let eval = self.board.eval();
        match target {
            Resolved::Device(id) => l.device(id).map(|d| eval.device(d)),
            Resolved::Group(id) => l
                .group(id)
                .and_then(|g| eval.groups.get(g.0))
                .map(|g| g.status),
            Resolved::Venue(code) => l
                .venue(code)
                .and_then(|v| eval.venues.get(v.0))
                .map(|v| v.status),
            Resolved::Feed(id) => l.feed(id).map(|f| {
                self.relay
                    .feeds()
                    .get(f.0)
                    .copied()
                    .unwrap_or(Status::Unknown)
            }),
            Resolved::Sink(id) => {
                let s = l.sink(id)?;
                let slo = self
                    .relay
                    .problems()
                    .iter()
                    .any(|p| p.key.subject == crate::model::Subject::Sink(s));
                let state = self
                    .relay
                    .status()
                    .and_then(|r| r.sinks.get(s.0))
                    .map(|sink| sink.state);
                Some(match state {
                    None => Status::Unknown,
                    Some(SinkState::Failing) => Status::Down,
                    Some(SinkState::Paused) => Status::Maintenance,
                    Some(SinkState::Running) if slo => Status::Degraded,
                    Some(SinkState::Running) => Status::Ok,
                })
            }
        }
    }

    fn checked_since(&self, target: &Resolved, since: SystemTime) -> bool {
        let devices = self.devices(target);
        if devices.is_empty() {
            return matches!(target, Resolved::Feed(_) | Resolved::Sink(_));
        }
        let snaps = self.board.snaps();
        devices.iter().all(|&d| {
            snaps
                .get(d)
                .and_then(|s| s.last_check)
                .is_some_and(|at| at >= since)
        })
    }
}

impl State {
    /// The playbooks runs are started from, and whether shell steps may
    /// run (venues.toml enables them).
    pub fn set_playbooks(&mut self, books: Vec<Playbook>, shell: bool) {
        let mut books = books;
        books.sort_by(|a, b| a.id.cmp(&b.id));
        self.runs.books = Arc::new(books);
        self.runs.shell = shell;
        self.dirty = true;
    }

    /// Takes back the runs the store kept, at start: a step that was in
    /// flight is interrupted.
    pub fn restore_runs(&mut self, runs: Vec<Run>, now: SystemTime) {
        for mut run in runs {
            let fx = run.interrupt(now);
            self.runs
                .stored
                .push(run.version.wrapping_sub(u64::from(!fx.is_empty())));
            self.runs.list.push(run);
            let i = self.runs.list.len() - 1;
            self.carry(i, fx, now);
        }
        self.store_changed();
        self.runs.relist();
        self.dirty = true;
    }

    /// The venue code of the incident or run `which` names, for the role
    /// check.
    pub fn playbook_venue(&self, which: &str) -> Option<String> {
        match self.runs.find(which) {
            Some(i) if self.runs.list.get(i).is_some_and(|r| r.id == which) => {
                self.runs.list.get(i).and_then(|r| r.venue.clone())
            }
            _ => self.incident_venue(which),
        }
    }

    /// The id of step `step` of run `run`.
    pub fn step_id(&self, run: &str, step: usize) -> Option<String> {
        let run = self.runs.list.iter().find(|r| r.id == run)?;
        run.steps.get(step).map(|s| s.id.clone())
    }

    /// Slow work the runs want done, for the task.
    pub fn take_jobs(&mut self) -> Vec<Job> {
        std::mem::take(&mut self.runs.jobs)
    }

    /// A job came back.
    pub fn job_done(
        &mut self,
        run: &str,
        step: usize,
        attempt: u32,
        result: Result<String, String>,
        now: SystemTime,
    ) {
        let Some(i) = self.runs.list.iter().position(|r| r.id == run) else {
            return;
        };
        let fx = self.runs.list[i].worked(step, attempt, result, now);
        self.carry(i, fx, now);
        self.advance_one(i, now);
        self.after_runs();
    }

    /// Moves every live run on: starts steps whose turn came, judges
    /// checks, waits and timeouts. Cheap when no run is live.
    pub fn advance_runs(&mut self, now: SystemTime) {
        if !self.runs.any_live() {
            return;
        }
        for i in 0..self.runs.list.len() {
            if !self.runs.list[i].is_over() {
                self.advance_one(i, now);
            }
        }
        self.after_runs();
    }

    fn advance_one(&mut self, i: usize, now: SystemTime) {
        let layout = Arc::clone(self.board.layout());
        let look = Look {
            board: &self.board,
            relay: &self.relay,
            layout: &layout,
        };
        let Some(run) = self.runs.list.get_mut(i) else {
            return;
        };
        let fx = run.advance(now, &look);
        self.carry(i, fx, now);
    }

    /// Stores the runs that changed and publishes them.
    fn after_runs(&mut self) {
        if self.store_changed() {
            self.runs.forget_old();
            self.runs.relist();
            self.incidents.relist_now();
            self.dirty = true;
            self.urgent = true;
        }
    }

    /// Queues a store upsert of each run whose version moved; whether any
    /// did.
    fn store_changed(&mut self) -> bool {
        let mut any = false;
        for (run, stored) in self.runs.list.iter().zip(self.runs.stored.iter_mut()) {
            if run.version != *stored {
                *stored = run.version;
                self.runs.store.push(StoreOp::Run(run.clone()));
                any = true;
            }
        }
        any
    }

    /// Carries out what run `i` asked for.
    fn carry(&mut self, i: usize, fx: Vec<Effect>, now: SystemTime) {
        let Some(run) = self.runs.list.get(i) else {
            return;
        };
        let (run_id, incident, by) = (run.id.clone(), run.incident.clone(), run.by.clone());
        let layout = Arc::clone(self.board.layout());
        let mut entries = Vec::new();
        for effect in fx {
            match effect {
                Effect::Timeline { text, by } => entries.push(TimelineEntry {
                    incident: incident.clone(),
                    at: now,
                    kind: TimelineKind::Playbook,
                    by,
                    text,
                }),
                Effect::CheckNow(target) => {
                    let look = Look {
                        board: &self.board,
                        relay: &self.relay,
                        layout: &layout,
                    };
                    let devices = look.devices(&target);
                    self.runs.checks.extend(devices);
                }
                Effect::Maintenance {
                    target,
                    duration,
                    reason,
                } => {
                    let who = format!("{by} (run {run_id})");
                    match self.plan_maintenance(
                        &who,
                        target.id(),
                        Some((Some(duration), &reason)),
                        now,
                    ) {
                        Ok((op, _)) => {
                            self.commit_maintenance(&op, now);
                            self.runs.store.push(op);
                        }
                        Err(why) => entries.push(TimelineEntry {
                            incident: incident.clone(),
                            at: now,
                            kind: TimelineKind::Playbook,
                            by: None,
                            text: format!("run {run_id}: maintenance on {target} not set: {why}"),
                        }),
                    }
                }
                Effect::Notify { contact, text } => {
                    if let Ok(record) = self.incidents.lifecycle().find(&incident) {
                        let mut record = record.clone();
                        record.title = format!("{}: call {contact}: {text}", record.subject);
                        record.notified_at = Some(now);
                        self.run_notices.push(Notice {
                            kind: Notify::Playbook,
                            record,
                        });
                    }
                }
                effect @ (Effect::Relay { .. } | Effect::Shell { .. } | Effect::Cancel { .. }) => {
                    self.runs.jobs.push(Job {
                        run: run_id.clone(),
                        by: by.clone(),
                        effect,
                    });
                }
            }
        }
        if !entries.is_empty() {
            self.incidents.remember(&entries);
            self.runs
                .store
                .extend(entries.into_iter().map(StoreOp::Timeline));
        }
    }

    /// What a playbook command would do, in words, or why it cannot be
    /// done; changes nothing.
    pub fn check_playbook(
        &self,
        who: &Identity,
        command: &PlaybookCommand,
        now: SystemTime,
    ) -> Result<String, Refusal> {
        match command {
            PlaybookCommand::Run { playbook, which } => {
                let (book, ctx, _) = self.plan_run(who, playbook, which)?;
                Ok(started_text(&book, &ctx))
            }
            PlaybookCommand::DryRun { playbook, which } => {
                let (book, ctx) = self.book_and_context(playbook, which)?;
                Ok(dry_run_text(book, &ctx, self.board.layout()))
            }
            PlaybookCommand::Answer { run, step, answer } => {
                let mut copy = self.run(run)?.clone();
                copy.answer(step, &who.user, answer, now)
                    .map_err(Refusal::Invalid)?;
                Ok(format!("run {} step {step}: {answer}", copy.id))
            }
            PlaybookCommand::Control { run, action } => {
                let mut copy = self.run(run)?.clone();
                copy.control(*action, &who.user, now)
                    .map_err(Refusal::Invalid)?;
                Ok(format!("{action} run {}", copy.id))
            }
            PlaybookCommand::Step { .. } => Err(Refusal::Invalid(
                "the engine runs steps itself; answer or control the run instead".to_owned(),
            )),
        }
    }

    /// Applies a playbook command.
    pub fn apply_playbook(
        &mut self,
        who: &Identity,
        command: &PlaybookCommand,
        now: SystemTime,
    ) -> Reply {
        // A run is planned once, as it is started; the others are checked
        // first, on a copy, so a refusal changes nothing.
        let text = match command {
            PlaybookCommand::Run { .. } => String::new(),
            _ => self.check_playbook(who, command, now)?,
        };
        let done = match command {
            PlaybookCommand::Run { playbook, which } => {
                let (book, ctx, works) = self.plan_run(who, playbook, which)?;
                let text = started_text(&book, &ctx);
                let n = self
                    .runs
                    .list
                    .iter()
                    .filter(|r| r.incident == ctx.incident)
                    .count()
                    + 1;
                let id = format!("{}/{n}", ctx.incident);
                let venue = ctx
                    .venue
                    .and_then(|v| self.board.layout().venue_info(v))
                    .map(|v| v.code.clone());
                let run = Run::new(
                    id.clone(),
                    &book,
                    works,
                    ctx.incident.clone(),
                    venue,
                    &who.user,
                    now,
                );
                self.runs.list.push(run);
                self.runs.stored.push(u64::MAX);
                let i = self.runs.list.len() - 1;
                let started = vec![Effect::Timeline {
                    text: format!("run {id} of playbook {} started", book.id),
                    by: Some(who.user.clone()),
                }];
                self.carry(i, started, now);
                self.advance_one(i, now);
                Done::Playbook { run: id, text }
            }
            PlaybookCommand::DryRun { .. } => Done::Playbook {
                run: String::new(),
                text,
            },
            PlaybookCommand::Answer { run, step, answer } => {
                let i = self.run_index(run)?;
                let fx = self.runs.list[i]
                    .answer(step, &who.user, answer, now)
                    .map_err(Refusal::Invalid)?;
                self.carry(i, fx, now);
                self.advance_one(i, now);
                Done::Playbook {
                    run: self.runs.list[i].id.clone(),
                    text,
                }
            }
            PlaybookCommand::Control { run, action } => {
                let i = self.run_index(run)?;
                let fx = self.runs.list[i]
                    .control(*action, &who.user, now)
                    .map_err(Refusal::Invalid)?;
                self.carry(i, fx, now);
                if *action != RunAction::Pause {
                    self.advance_one(i, now);
                }
                Done::Playbook {
                    run: self.runs.list[i].id.clone(),
                    text,
                }
            }
            PlaybookCommand::Step { .. } => {
                return Err(Refusal::Invalid("the engine runs steps itself".to_owned()));
            }
        };
        self.after_runs();
        Ok(done)
    }

    /// What starting `playbook` on the incident `which` takes: the
    /// playbook, the incident and every step's work; or why it cannot
    /// start (shell steps not allowed, a run of the incident not over, a
    /// step that does not resolve).
    fn plan_run(
        &self,
        who: &Identity,
        playbook: &str,
        which: &str,
    ) -> Result<(Playbook, Context, Vec<crate::playbook::Work>), Refusal> {
        let (book, ctx) = self.book_and_context(playbook, which)?;
        self.may_run(who, book)?;
        if let Some(r) = self
            .runs
            .list
            .iter()
            .find(|r| r.incident == ctx.incident && !r.is_over())
        {
            return Err(Refusal::Invalid(format!(
                "incident {} already has run {} ({}, {}): abort it first",
                ctx.incident, r.id, r.playbook, r.state
            )));
        }
        let works = resolve::resolve(book, &ctx, self.board.layout()).map_err(Refusal::Invalid)?;
        Ok((book.clone(), ctx, works))
    }

    /// Whether `who` may start `book`: shell steps only where venues.toml
    /// enables them, and only for operators and above.
    fn may_run(&self, who: &Identity, book: &Playbook) -> Result<(), Refusal> {
        let shell = book
            .steps
            .iter()
            .any(|s| s.kind() == crate::config::playbook::StepKind::Shell);
        if shell && !self.runs.shell {
            return Err(Refusal::Unsupported(format!(
                "playbook {} has shell steps, and venues.toml does not enable them ([playbooks] shell = true)",
                book.id
            )));
        }
        if shell && who.role < Role::Operator {
            return Err(Refusal::Forbidden {
                needed: Role::Operator,
                held: who.role,
            });
        }
        Ok(())
    }

    fn run(&self, which: &str) -> Result<&Run, Refusal> {
        self.run_index(which).map(|i| &self.runs.list[i])
    }

    fn run_index(&self, which: &str) -> Result<usize, Refusal> {
        self.runs.find(which).ok_or_else(|| {
            Refusal::Invalid(format!(
                "no playbook run `{which}` (a run id like 4-17/1, or an incident id)"
            ))
        })
    }

    /// The playbook `id` and the incident `which` names, as a context.
    fn book_and_context(&self, id: &str, which: &str) -> Result<(&Playbook, Context), Refusal> {
        let book = self.runs.books.iter().find(|b| b.id == id).ok_or_else(|| {
            let known: Vec<&str> = self.runs.books.iter().map(|b| b.id.as_str()).collect();
            Refusal::Invalid(if known.is_empty() {
                format!("no playbook `{id}`: this engine has no playbooks")
            } else {
                format!("no playbook `{id}`; known: {}", known.join(", "))
            })
        })?;
        let incident = self
            .incidents
            .list()
            .iter()
            .find(|inc| {
                inc.id.to_string() == which
                    || super::key_of(inc.key, &inc.subject) == which
                    || inc.subject == which
            })
            .ok_or_else(|| {
                Refusal::Invalid(format!(
                    "no open incident `{which}` (an id like 4-17, a key like device:STA-core-a, or a subject)"
                ))
            })?;
        Ok((book, incident.context()))
    }
}

/// A dry-run's text: a heading, then each step and exactly what it would
/// do (the lines `toc playbook dry-run` prints).
pub fn dry_run_text(book: &Playbook, ctx: &Context, layout: &Layout) -> String {
    let works = resolve::resolve_each(book, ctx, layout);
    let mut lines = vec![format!(
        "dry-run of {} on {} ({}): nothing is done",
        book.id, ctx.incident, ctx.key
    )];
    lines.extend(resolve::dry_run_lines(book, Some(&works)));
    lines.join("\n")
}

/// What starting a run says.
fn started_text(book: &Playbook, ctx: &Context) -> String {
    format!("run playbook {} on incident {}", book.id, ctx.incident)
}

#[cfg(test)]
#[path = "runs_tests.rs"]
mod tests;
