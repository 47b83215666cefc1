//! The console's view state and [`App::update`]: an [`Action`] in, the
//! new state and maybe an [`Effect`] out. No IO here: the loop sends the
//! commands and feeds the replies back with [`App::on_reply`].

use std::time::{Duration, SystemTime};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::Rect;

use super::cmdline::{self, Line};
use super::complete::{self, Completion};
use super::filter::{self, Filter};
use super::keymap::{self, Action, Context};
use super::theme::{Glyphs, Theme};
use super::ui;
use crate::engine::{Command, Identity, IncidentId, IncidentState, Link, Reply, Snapshot};
use crate::model::DeviceIdx;

mod demo;
mod incidents;
mod navigate;
mod playbooks;
mod relay;
mod scope;

pub use scope::{Scope, Seen};

pub use playbooks::{Plan, RunKey, incident_runs, matching, prompt, waits_for_answer};

pub(crate) use navigate::position;
use navigate::venue_codes;
pub use navigate::{device_order, find_device, find_venue, wall_order};

pub(crate) use incidents::incident_position;
pub use incidents::{IncidentView, incident_order};

/// What the main area shows; the last one pushed is on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The wall of venues.
    Wall,
    /// One venue (index in the layout).
    Venue(usize),
    /// One device (index in the layout).
    Device(usize),
    /// One incident, with its timeline.
    Incident(IncidentId),
    /// The newest commands and what came of them.
    Audit,
    /// The result relay: sources, sinks, recent messages.
    Relay,
    /// One playbook run: its steps, live.
    Run(RunKey),
    /// Every playbook run.
    Runs,
}

/// The panes Tab cycles through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    /// The wall, venue or device view.
    Main,
    /// Open incidents.
    Incidents,
    /// The TOC host.
    Host,
    /// The event ticker.
    Ticker,
}

impl Pane {
    const ORDER: [Pane; 4] = [Pane::Main, Pane::Incidents, Pane::Host, Pane::Ticker];

    fn step(self, forward: bool) -> Pane {
        let i = Pane::ORDER.iter().position(|p| *p == self).unwrap_or(0);
        let n = Pane::ORDER.len();
        let next = if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        };
        Pane::ORDER[next]
    }
}

/// Order of the wall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WallSort {
    /// Worst status first, then most devices down, then code.
    Worst,
    /// By venue code.
    Code,
}

/// Order of a venue's devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceSort {
    /// Worst status first (soft problems before OK), then inventory order.
    Worst,
    /// By device id.
    Id,
}

/// What is being typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// A `/` filter (applied as it is typed).
    Filter,
    /// A `:` command.
    Command,
}

/// The text being typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// Filter or command.
    pub kind: InputKind,
    /// The text so far.
    pub text: String,
    /// Why the text does not read (a filter is checked as it is typed).
    pub error: Option<String>,
}

/// How a message reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// Information, a command done.
    Info,
    /// An error or a refusal.
    Error,
    /// A command on its way.
    Pending,
}

/// One line for the operator under the panes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The text.
    pub text: String,
    /// How it reads.
    pub kind: MessageKind,
}

/// What the loop must do after an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Nothing more.
    None,
    /// Leave the console.
    Quit,
    /// Send these commands to the engine, in order, and show the replies
    /// under `label`.
    Send {
        /// What is being done, in a few words.
        label: String,
        /// The commands.
        commands: Vec<Command>,
    },
}

/// The console's view state.
#[derive(Debug, Clone)]
pub struct App {
    pub(crate) demo: bool,
    pub(crate) theme: Theme,
    pub(crate) identity: Identity,
    pub(crate) link: Link,
    pub(crate) area: Rect,
    pub(crate) views: Vec<View>,
    pub(crate) focus: Pane,
    pub(crate) wall_sort: WallSort,
    pub(crate) wall_sel: Option<usize>,
    pub(crate) device_sort: DeviceSort,
    pub(crate) device_sel: Option<usize>,
    pub(crate) history_scroll: usize,
    pub(crate) incident_sel: Option<IncidentId>,
    pub(crate) incident_view: IncidentView,
    pub(crate) ticker_sel: usize,
    pub(crate) help: Option<usize>,
    pub(crate) filter: Filter,
    pub(crate) filter_text: String,
    pub(crate) input: Option<Input>,
    pub(crate) message: Option<Message>,
    /// When the message was first drawn (it goes after [`MESSAGE_TTL`]).
    message_seen: Option<SystemTime>,
    /// A venue code typed on the wall so far.
    jump: String,
    /// A device checked now, and its last check before the request: its
    /// next result is told on the message line.
    checking: Option<(usize, Option<SystemTime>)>,
    /// A check's result that came before the engine's answer to the
    /// request: the answer must not hide it.
    check_told: bool,
    /// `q` was pressed in `toc run`: the next key says whether to quit.
    confirm_quit: bool,
    /// A reroute of the relay, or a playbook run or abort, waiting for
    /// its yes.
    confirm_relay: Option<Command>,
    /// The selected run of the runs view (0: the newest).
    pub(crate) run_sel: usize,
    /// A dry-run's plan, shown until Esc.
    pub(crate) plan: Option<Plan>,
    /// The label of the dry-run on its way (its answer is its plan).
    planning: Option<String>,
    /// The label of the run on its way (its answer opens the run).
    starting: Option<String>,
    /// The selected sink of the relay view.
    pub(crate) relay_sel: usize,
    /// The DOWN incidents open in the last snapshot (`None` before the
    /// first: what is open at start rings nothing).
    down_seen: Option<std::collections::HashSet<IncidentId>>,
    /// New DOWN incidents opened since the last draw: ring the bell.
    bell: u32,
    /// The venues shown ([`App::set_scope`]); every one by default.
    pub(crate) scope: Scope,
    /// Which incidents were in scope when last seen.
    pub(crate) seen: Seen,
    /// The venue codes asked for (`--venue`), and the layout the scope
    /// was checked against (a new layout, as after connecting to a
    /// server, checks them again).
    scope_wanted: Vec<String>,
    scope_layout: Option<std::sync::Arc<crate::engine::Layout>>,
    /// When the link to the server was lost, while it is.
    pub(crate) lost_at: Option<SystemTime>,
}

/// A message (not a command on its way) is cleared after this long, or
/// by the next key.
pub const MESSAGE_TTL: Duration = Duration::from_secs(10);

impl App {
    /// A console on the wall, acting as `identity`.
    pub fn new(identity: Identity, color: bool, demo: bool) -> Self {
        App {
            demo,
            theme: Theme::new(color),
            identity,
            link: Link::Local,
            area: Rect::new(0, 0, 80, 24),
            views: vec![View::Wall],
            focus: Pane::Main,
            wall_sort: WallSort::Worst,
            wall_sel: None,
            device_sort: DeviceSort::Worst,
            device_sel: None,
            history_scroll: 0,
            incident_sel: None,
            incident_view: IncidentView::All,
            ticker_sel: 0,
            help: None,
            filter: Filter::default(),
            filter_text: String::new(),
            input: None,
            message: None,
            message_seen: None,
            jump: String::new(),
            checking: None,
            check_told: false,
            confirm_quit: false,
            confirm_relay: None,
            run_sel: 0,
            plan: None,
            planning: None,
            starting: None,
            relay_sel: 0,
            down_seen: None,
            bell: 0,
            scope: Scope::all(),
            seen: Seen::default(),
            scope_wanted: Vec::new(),
            scope_layout: None,
            lost_at: None,
        }
    }

    /// Whether a new DOWN incident opened since the last call (the
    /// terminal bell, when it is on).
    pub fn take_bell(&mut self) -> bool {
        std::mem::take(&mut self.bell) > 0
    }

    /// The terminal's size (paging and the wall grid depend on it).
    pub fn set_area(&mut self, area: Rect) {
        self.area = area;
    }

    /// The state of the link to the engine, changed now.
    pub fn set_link(&mut self, link: Link) {
        self.set_link_at(link, SystemTime::now());
    }

    /// The state of the link to the engine, changed at `now`: lost, a
    /// banner says since when; back, the message line says it resynced
    /// (for [`MESSAGE_TTL`], or until the next key).
    pub fn set_link_at(&mut self, link: Link, now: SystemTime) {
        match (self.link, link) {
            (Link::Lost, Link::Lost) => {}
            (_, Link::Lost) => self.lost_at = Some(now),
            (Link::Lost, _) => {
                let since = self
                    .lost_at
                    .take()
                    .map(|at| format!(" (lost at {})", ui::text::clock(at)))
                    .unwrap_or_default();
                self.info(format!(
                    "reconnected at {}; resynced: the wall shows the server's state again{since}",
                    ui::text::clock(now)
                ));
            }
            _ => {}
        }
        self.link = link;
    }

    /// The state of the link to the engine.
    pub fn link(&self) -> Link {
        self.link
    }

    /// When the link was lost, while it is.
    pub fn lost_at(&self) -> Option<SystemTime> {
        self.lost_at.filter(|_| self.link == Link::Lost)
    }

    /// What the console looks at now, for a remote engine to send in
    /// whole: the venue or device shown; nothing on the other views.
    pub fn looking_at(&self, snap: &Snapshot) -> crate::engine::Focus {
        let mut focus = crate::engine::Focus::default();
        match self.view() {
            View::Venue(v) => {
                if let Some(v) = snap.layout.venues.get(v) {
                    focus.venues.push(v.code.clone());
                }
            }
            View::Device(d) => {
                if let Some(d) = snap.layout.devices.get(d) {
                    focus.devices.push(d.id.clone());
                }
            }
            _ => {}
        }
        focus
    }

    /// Narrows every view to the venue codes `venues` (`--venue`; empty:
    /// all) and to the identity's venues when it has some; checked against
    /// the layout of `snap`. A code the layout does not have, or outside
    /// the identity's venues, is told on the message line.
    pub fn set_scope(&mut self, venues: &[String], snap: &Snapshot) {
        self.scope_wanted = venues.to_vec();
        self.apply_scope(snap);
    }

    /// The scope worked out again against the layout of `snap`.
    fn apply_scope(&mut self, snap: &Snapshot) {
        self.scope_layout = Some(std::sync::Arc::clone(&snap.layout));
        let (scope, problems) = Scope::new(&self.identity, &self.scope_wanted, snap);
        self.scope = scope;
        self.filter = std::mem::take(&mut self.filter).within(&self.scope);
        self.seen = Seen::default();
        self.seen.observe(&self.scope, snap);
        // A layout with no venue yet (a remote console before its first
        // snapshot) cannot say which codes exist.
        if !problems.0.is_empty() && !snap.layout.venues.is_empty() {
            self.error(problems.0.join("; "));
        }
        // A selection outside the scope is dropped.
        if let Some(v) = self.wall_sel
            && !self.scope.has_venue(snap, v)
        {
            self.wall_sel = None;
        }
        let keep: Vec<View> = self
            .views
            .iter()
            .copied()
            .take_while(|view| match *view {
                View::Venue(v) => self.scope.has_venue(snap, v),
                View::Device(d) => self.scope.has_device(snap, d),
                _ => true,
            })
            .collect();
        self.views = if keep.is_empty() {
            vec![View::Wall]
        } else {
            keep
        };
    }

    /// The venues shown.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The events of the ticker shown, newest first.
    pub fn ticker_events<'s>(&self, snap: &'s Snapshot) -> Vec<&'s crate::engine::Event> {
        snap.ticker
            .iter()
            .rev()
            .filter(|e| {
                self.scope
                    .has_event(snap, &self.seen, e, &self.identity.user)
            })
            .collect()
    }

    /// The playbook runs shown, as the snapshot lists them.
    pub fn runs_shown<'s>(&self, snap: &'s Snapshot) -> Vec<&'s crate::engine::Run> {
        snap.runs
            .iter()
            .filter(|r| self.scope.has_run(snap, r))
            .collect()
    }

    /// The audit records shown, oldest first as the snapshot lists them.
    pub fn audit_shown<'s>(&self, snap: &'s Snapshot) -> Vec<&'s crate::engine::AuditRecord> {
        snap.audit
            .iter()
            .filter(|r| self.scope.has_audit(snap, r, &self.identity.user))
            .collect()
    }

    /// The view on screen.
    pub fn view(&self) -> View {
        self.views.last().copied().unwrap_or(View::Wall)
    }

    /// The pane that has the keys.
    pub fn focus(&self) -> Pane {
        self.focus
    }

    /// The message line, if any.
    pub fn message(&self) -> Option<&Message> {
        self.message.as_ref()
    }

    /// What is being typed, if anything.
    pub fn input(&self) -> Option<&Input> {
        self.input.as_ref()
    }

    /// Whether the help is shown.
    pub fn help_shown(&self) -> bool {
        self.help.is_some()
    }

    /// The filter text in force.
    pub fn filter_text(&self) -> &str {
        &self.filter_text
    }

    /// The filter in force.
    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    /// The order of the wall.
    pub fn wall_sort(&self) -> WallSort {
        self.wall_sort
    }

    /// The selected venue on the wall, once one was moved to.
    pub fn wall_selection(&self) -> Option<usize> {
        self.wall_sel
    }

    /// The selected event, counted back from the newest (0).
    pub fn ticker_selection(&self) -> usize {
        self.ticker_sel
    }

    /// Where keys go now.
    pub fn context(&self) -> Context {
        if self.input.is_some() {
            return Context::Input;
        }
        if self.help.is_some() {
            return Context::Help;
        }
        if let Some(plan) = self.plan_context() {
            return plan;
        }
        match self.focus {
            Pane::Main => match self.view() {
                View::Wall => Context::Wall,
                View::Venue(_) => Context::Venue,
                View::Device(_) => Context::Device,
                View::Incident(_) => Context::Incident,
                View::Audit => Context::Audit,
                View::Relay => Context::Relay,
                View::Run(_) => Context::Run,
                View::Runs => Context::Runs,
            },
            Pane::Incidents => Context::Incidents,
            Pane::Host => Context::Global,
            Pane::Ticker => Context::Ticker,
        }
    }

    /// A key from the terminal. A message that is not a command on its
    /// way is cleared by the next key.
    pub fn on_key(&mut self, key: &KeyEvent, snap: &Snapshot) -> Effect {
        if self.confirm_quit {
            return self.on_quit_answer(key);
        }
        if self.confirm_relay.is_some() {
            return self.on_relay_answer(key);
        }
        let Some(action) = keymap::lookup_event(self.context(), key, self.demo) else {
            return Effect::None;
        };
        if self
            .message
            .as_ref()
            .is_some_and(|m| m.kind != MessageKind::Pending)
        {
            self.message = None;
        }
        if let Some(needed) = action.needs()
            && self.identity.role < needed
        {
            self.error(format!(
                "not for you: this key needs role {needed}; you are {} ({})",
                self.identity.role, self.identity.user
            ));
            return Effect::None;
        }
        self.update(action, snap)
    }

    /// The clock, before drawing: a message shown for [`MESSAGE_TTL`] is
    /// cleared (a command on its way stays until its answer).
    pub fn tick(&mut self, now: SystemTime) {
        let Some(message) = &self.message else {
            self.message_seen = None;
            return;
        };
        if message.kind == MessageKind::Pending {
            return;
        }
        match self.message_seen {
            None => self.message_seen = Some(now),
            Some(seen) if now.duration_since(seen).unwrap_or_default() >= MESSAGE_TTL => {
                self.message = None;
                self.message_seen = None;
            }
            Some(_) => {}
        }
    }

    /// A new snapshot: the result of a device checked now is told; a
    /// new DOWN incident rings the bell.
    pub fn on_snapshot(&mut self, snap: &Snapshot) {
        let down: std::collections::HashSet<IncidentId> = snap
            .incidents
            .iter()
            .filter(|i| i.severity == crate::model::Status::Down && i.state == IncidentState::Open)
            .map(|i| i.id)
            .collect();
        if let Some(before) = &self.down_seen {
            self.bell += u32::try_from(down.difference(before).count()).unwrap_or(u32::MAX);
        }
        self.down_seen = Some(down);
        if self
            .scope_layout
            .as_ref()
            .is_some_and(|l| !std::sync::Arc::ptr_eq(l, &snap.layout) && **l != *snap.layout)
        {
            self.apply_scope(snap);
        }
        self.seen.observe(&self.scope, snap);
        let Some((d, before)) = self.checking else {
            return;
        };
        let Some(state) = snap.device(DeviceIdx(d)) else {
            self.checking = None;
            return;
        };
        if state.last_check == before {
            return;
        }
        self.checking = None;
        self.check_told = self
            .message
            .as_ref()
            .is_some_and(|m| m.kind == MessageKind::Pending);
        let id = snap
            .layout
            .device_info(DeviceIdx(d))
            .map_or("?", |i| i.id.as_str());
        let mut text = format!(
            "{id} checked now: {} {}",
            state.raw.glyph(),
            state.raw.word()
        );
        if let Some(latency) = state.latency {
            text.push_str(" in ");
            text.push_str(&ui::text::latency(latency));
        }
        if let Some(reason) = state.history.last().and_then(|h| h.reason()) {
            text.push_str(": ");
            text.push_str(reason);
        }
        self.info(text);
    }

    /// The candidates for the word being typed, when a line is being
    /// typed (shown while typing; Tab completes).
    pub fn completion(&self, snap: &Snapshot) -> Option<Completion> {
        let input = self.input.as_ref()?;
        Some(match input.kind {
            InputKind::Command => complete::command(&input.text, self.demo, snap, &self.scope),
            InputKind::Filter => complete::filter(&input.text, snap, &self.scope),
        })
    }

    /// Text pasted into the terminal: typed when a line is being edited.
    pub fn on_paste(&mut self, text: &str, snap: &Snapshot) {
        if self.input.is_some() {
            for c in text.chars().filter(|c| !c.is_control()) {
                self.update(Action::Insert(c), snap);
            }
        }
    }

    /// The engine's answers to the commands sent under `label`.
    pub fn on_reply(&mut self, label: &str, replies: &[Reply]) {
        if self.on_playbook_reply(label, replies) {
            return;
        }
        if std::mem::take(&mut self.check_told) && replies.iter().all(Result::is_ok) {
            // The result of the check is already on the message line.
            return;
        }
        if let Some(refusal) = replies.iter().find_map(|r| r.as_ref().err()) {
            // Out of scope: the refusal does not say what exists outside
            // the user's venues; the console says which they are.
            let scope = match refusal {
                crate::engine::Refusal::OutOfScope(_) => {
                    format!(" (your venues: {})", self.identity.venues.join(" "))
                }
                // Not sent, or its answer never came: the link says why.
                crate::engine::Refusal::Unavailable if self.link == Link::Lost => {
                    let since = self
                        .lost_at
                        .map(|at| format!(" since {}", ui::text::clock(at)))
                        .unwrap_or_default();
                    format!(
                        " — not connected to the server{since}; nothing was done: send it again once it is back"
                    )
                }
                _ => String::new(),
            };
            self.error(format!("{label}: {refusal}{scope}"));
            return;
        }
        let texts: Vec<String> = replies
            .iter()
            .filter_map(|r| r.as_ref().ok().map(ToString::to_string))
            .filter(|t| !t.is_empty())
            .collect();
        if texts.is_empty() {
            self.info(format!("{label}: done"));
        } else {
            self.info(format!("{label}: {}", texts.join("; ")));
        }
    }

    fn info(&mut self, text: impl Into<String>) {
        self.message_seen = None;
        self.message = Some(Message {
            text: text.into(),
            kind: MessageKind::Info,
        });
    }

    fn error(&mut self, text: impl Into<String>) {
        self.message_seen = None;
        self.message = Some(Message {
            text: text.into(),
            kind: MessageKind::Error,
        });
    }

    fn send(&mut self, label: String, commands: Vec<Command>) -> Effect {
        self.message = Some(Message {
            text: format!("sending: {label}…"),
            kind: MessageKind::Pending,
        });
        Effect::Send { label, commands }
    }

    /// Applies an action. Pure: reads the snapshot, changes only the view
    /// state, and says what the loop must do.
    pub fn update(&mut self, action: Action, snap: &Snapshot) -> Effect {
        if !matches!(action, Action::Jump(_)) {
            self.jump.clear();
        }
        match action {
            Action::Quit => return self.quit(),
            Action::Help => {
                self.help = if self.help.is_some() { None } else { Some(0) };
            }
            Action::Filter => {
                self.input = Some(Input {
                    kind: InputKind::Filter,
                    text: self.filter_text.clone(),
                    error: None,
                });
            }
            Action::CommandLine => {
                self.input = Some(Input {
                    kind: InputKind::Command,
                    text: String::new(),
                    error: None,
                });
            }
            Action::Back => self.back(),
            Action::NextPane => self.focus = self.focus.step(true),
            Action::PrevPane => self.focus = self.focus.step(false),
            Action::Up
            | Action::Down
            | Action::Left
            | Action::Right
            | Action::Top
            | Action::Bottom
            | Action::PageUp
            | Action::PageDown => self.movement(action, snap),
            Action::Open => self.open(snap),
            Action::Sort => match self.context() {
                Context::Wall => {
                    self.wall_sort = match self.wall_sort {
                        WallSort::Worst => WallSort::Code,
                        WallSort::Code => WallSort::Worst,
                    };
                }
                Context::Venue => {
                    self.device_sort = match self.device_sort {
                        DeviceSort::Worst => DeviceSort::Id,
                        DeviceSort::Id => DeviceSort::Worst,
                    };
                }
                _ => {}
            },
            Action::DemoFault => return self.demo_fault(snap),
            Action::DemoClear => return self.demo_clear(snap),
            Action::Submit => return self.submit(snap),
            Action::Cancel => {
                if let Some(input) = self.input.take()
                    && input.kind == InputKind::Filter
                {
                    self.clear_filter();
                }
            }
            Action::DeleteChar => {
                if let Some(input) = &mut self.input {
                    input.text.pop();
                }
                self.edited();
            }
            Action::Insert(c) => {
                if let Some(input) = &mut self.input {
                    input.text.push(c);
                }
                self.edited();
            }
            Action::Complete => self.complete(snap),
            Action::Jump(c) => self.jump_to(c, snap),
            Action::CheckNow => return self.check_now(snap),
            Action::Acknowledge | Action::AddNote | Action::Resolve => self.prompt(action, snap),
            Action::GoTo => self.go_to_incident(snap),
            Action::Relay => self.go_relay(),
            Action::PauseSink => self.pause_selected(snap),
            Action::RunPlaybook => return self.best_playbook(snap, false),
            Action::DryRunPlaybook => return self.best_playbook(snap, true),
            Action::OpenRun => self.open_incident_run(snap),
            Action::IncidentView => {
                self.incident_view = self.incident_view.next();
                let word = match self.incident_view.word() {
                    "" => "every incident",
                    w => w,
                };
                self.info(format!("incidents: {word}"));
            }
        }
        Effect::None
    }

    fn clear_filter(&mut self) {
        self.filter = Filter::default().within(&self.scope);
        self.filter_text.clear();
    }

    /// After the text changed: a filter applies at once when it reads.
    fn edited(&mut self) {
        let Some(input) = &mut self.input else {
            return;
        };
        if input.kind != InputKind::Filter {
            input.error = None;
            return;
        }
        match filter::parse(&input.text) {
            Ok(filter) => {
                input.error = None;
                self.filter = filter.within(&self.scope);
                self.filter_text = input.text.trim().to_owned();
            }
            Err(e) => input.error = Some(e.to_string()),
        }
    }

    fn back(&mut self) {
        if self.help.take().is_some() || self.plan.take().is_some() {
            return;
        }
        if self.focus != Pane::Main {
            self.focus = Pane::Main;
            return;
        }
        if self.views.len() > 1 {
            self.views.pop();
            return;
        }
        if !self.filter.is_empty() {
            self.clear_filter();
            self.info("filter cleared");
            return;
        }
        self.message = None;
    }

    fn submit(&mut self, snap: &Snapshot) -> Effect {
        let Some(input) = self.input.take() else {
            return Effect::None;
        };
        match input.kind {
            InputKind::Filter => {
                if input.error.is_some() {
                    // Keep editing: the error stays next to the text.
                    self.input = Some(input);
                }
                Effect::None
            }
            InputKind::Command => {
                if input.text.trim().is_empty() {
                    return Effect::None;
                }
                match cmdline::parse(&input.text, self.demo) {
                    Ok(line) => self.run_line(line, snap),
                    Err(e) => {
                        self.error(e);
                        Effect::None
                    }
                }
            }
        }
    }

    fn run_line(&mut self, line: Line, snap: &Snapshot) -> Effect {
        match line {
            Line::Venue(code) => match find_venue(snap, &code) {
                Some(v) if !self.scope.has_venue(snap, v) => self.out_of_scope(&code),
                Some(v) => self.go_venue(v),
                None => self.error(format!("no venue `{code}`; venues: {}", venue_codes(snap))),
            },
            Line::Device(id) => match find_device(snap, &id) {
                Some(d) if !self.scope.has_device(snap, d) => self.out_of_scope(&id),
                Some(d) => self.go_device(snap, d),
                None => self.error(format!("no device `{id}`")),
            },
            Line::Incidents => self.focus = Pane::Incidents,
            Line::Audit => {
                if self.view() != View::Audit {
                    self.views.push(View::Audit);
                }
                self.history_scroll = 0;
                self.focus = Pane::Main;
            }
            Line::Relay => self.go_relay(),
            Line::Send(Command::Relay(c)) => {
                self.ask_relay(Command::Relay(c));
            }
            Line::Wall => {
                self.views.truncate(1);
                self.focus = Pane::Main;
            }
            Line::Host => self.focus = Pane::Host,
            Line::Events => self.focus = Pane::Ticker,
            Line::Help => self.help = Some(0),
            Line::Quit => return self.quit(),
            Line::Playbook(line) => return self.run_playbook_line(line, snap),
            Line::Send(command) => {
                let command = super::cmdline::with_known_ids(command, snap);
                return self.send(command.to_string(), vec![command]);
            }
        }
        Effect::None
    }

    /// `:venue` or `:device` outside the scope.
    fn out_of_scope(&mut self, what: &str) {
        let shown = self.scope.label().unwrap_or_default();
        self.error(format!("{what} is not shown in this console ({shown})"));
    }

    fn complete(&mut self, snap: &Snapshot) {
        let Some(completion) = self.completion(snap) else {
            return;
        };
        if let Some(input) = &mut self.input
            && completion.apply(&mut input.text)
        {
            self.edited();
        }
    }

    /// `c` on the device view: check it now; its result is told when it
    /// comes (and goes into its history).
    fn check_now(&mut self, snap: &Snapshot) -> Effect {
        let View::Device(d) = self.view() else {
            return Effect::None;
        };
        let Some(info) = snap.layout.devices.get(d) else {
            return Effect::None;
        };
        let before = snap.device(DeviceIdx(d)).and_then(|s| s.last_check);
        self.checking = Some((d, before));
        let id = info.id.clone();
        self.send(format!("check {id} now"), vec![Command::check_now(id)])
    }
}

/// Glyphs, and leaving the console: at once in a demo, after a yes in
/// `toc run` (quitting stops the monitoring of live venues).
impl App {
    /// The question `toc run` asks before it quits.
    pub const QUIT_QUESTION: &'static str = "quit toc? monitoring stops (y/N)";

    /// Draws with `glyphs` (Unicode, or ASCII for a terminal without
    /// UTF-8).
    pub fn set_glyphs(&mut self, glyphs: Glyphs) {
        self.theme = self.theme.with_glyphs(glyphs);
    }

    /// Whether the console waits for the answer to [`App::QUIT_QUESTION`].
    pub fn confirming_quit(&self) -> bool {
        self.confirm_quit
    }

    /// `q`, Ctrl-C or `:q`: a demo quits; `toc run` asks first.
    fn quit(&mut self) -> Effect {
        if self.demo {
            return Effect::Quit;
        }
        self.confirm_quit = true;
        self.input = None;
        self.message = Some(Message {
            text: Self::QUIT_QUESTION.to_owned(),
            kind: MessageKind::Error,
        });
        Effect::None
    }

    /// The key after [`App::QUIT_QUESTION`]: `y` (or Ctrl-C again) quits,
    /// any other key keeps monitoring.
    fn on_quit_answer(&mut self, key: &KeyEvent) -> Effect {
        if key.kind == KeyEventKind::Release {
            return Effect::None;
        }
        self.confirm_quit = false;
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('y' | 'Y') if !ctrl => Effect::Quit,
            KeyCode::Char('c') if ctrl => Effect::Quit,
            _ => {
                self.info("not quitting: still monitoring");
                Effect::None
            }
        }
    }
}
