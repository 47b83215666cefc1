//! The engine task: one tokio task owns the [`State`]; observations, host
//! samples and commands come in on channels, snapshots and events go out.
//! What it needs of the world (the simulator, the scheduler, the audit
//! log) it reaches through the [ports](super::port) the wiring plugs in.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::Inventory;
use crate::model::relay::{RelayCommand, RelayStatus};
use crate::model::{HostSample, Observation};

use crate::incident::lifecycle::Change;

use super::auth::{authorize, authorize_in};
use super::command::{
    Command, DeviceCommand, Done, Identity, IncidentCommand, Refusal, Reply, SimCommand,
};
use super::handle::{EngineHandle, Link, Request};
use super::port::{
    AuditAck, AuditRecord, AuditSink, CheckNow, FaultInjector, IncidentStore, Notifier,
    RelayControl, StepWorker, StoreAck, StoreOp,
};
use super::snapshot::{Event, EventKind, Layout, Snapshot};
use super::state::State;

mod jobs;

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Routine changes (a check's age, latency, readings) are published at
    /// most this often.
    pub refresh: Duration,
    /// A hard status change is published as soon as this long has passed
    /// since the previous snapshot (so a burst, such as the first poll of
    /// the whole Games, is published a few dozen times a second, not once
    /// per device).
    pub urgent: Duration,
    /// The engine's run number (the wiring counts starts in the data
    /// folder), carried by incident ids so they never collide across
    /// restarts.
    pub run: u32,
    /// The incidents the store kept, taken back at start.
    pub restore: Vec<crate::incident::IncidentRecord>,
    /// The maintenance windows the store kept, taken back at start.
    pub restore_maintenance: Vec<crate::incident::record::Maintenance>,
    /// The timelines of the incidents kept, oldest entry first.
    pub restore_timeline: Vec<crate::incident::record::TimelineEntry>,
    /// The newest audit records the store kept, oldest first.
    pub restore_audit: Vec<AuditRecord>,
    /// The playbook runs the store kept (a step in flight when the engine
    /// stopped is marked interrupted).
    pub restore_runs: Vec<crate::playbook::Run>,
    /// The playbooks runs are started from.
    pub playbooks: Vec<crate::config::playbook::Playbook>,
    /// Whether shell steps may run (venues.toml's `[playbooks] shell`).
    pub shell: bool,
}

impl Default for EngineConfig {
    /// Refresh every 250 ms, hard changes after 25 ms, run 0.
    fn default() -> Self {
        EngineConfig {
            refresh: Duration::from_millis(250),
            urgent: Duration::from_millis(25),
            run: 0,
            restore: Vec::new(),
            restore_maintenance: Vec::new(),
            restore_timeline: Vec::new(),
            restore_audit: Vec::new(),
            restore_runs: Vec::new(),
            playbooks: Vec::new(),
            shell: false,
        }
    }
}

/// What the engine reaches in the world; each is optional (a test engine
/// has none, `toc run` has no simulator).
#[derive(Debug, Clone, Default)]
pub struct Ports {
    /// The simulator of a `toc demo`.
    pub faults: Option<Arc<dyn FaultInjector>>,
    /// The scheduler, to check devices now.
    pub checks: Option<Arc<dyn CheckNow>>,
    /// The audit log.
    pub audit: Option<Arc<dyn AuditSink>>,
    /// The incident store (SQLite).
    pub store: Option<Arc<dyn IncidentStore>>,
    /// Desktop notifications and the notify command.
    pub notifier: Option<Arc<dyn Notifier>>,
    /// The result relay, when it runs.
    pub relay: Option<Arc<dyn RelayControl>>,
    /// Runs playbook shell steps' processes.
    pub steps: Option<Arc<dyn StepWorker>>,
}

/// What flows into the engine besides commands.
#[derive(Debug)]
pub struct Inputs {
    /// Check results from the scheduler.
    pub observations: mpsc::Receiver<Observation>,
    /// Samples of the TOC host, when something samples it.
    pub host: Option<mpsc::Receiver<HostSample>>,
    /// The result relay's summaries, when it runs.
    pub relay: Option<watch::Receiver<Arc<RelayStatus>>>,
}

/// Observations waiting in the channel that one wake-up takes at most
/// before publishing.
const BATCH: usize = 4096;

/// The fault port is asked what is in force at most this often (and after
/// every simulator command).
const FAULTS_EVERY: Duration = Duration::from_secs(1);

/// How often time alone is looked at for incidents (resolve after the
/// hold, acknowledgement expiry, escalation).
const TICK: Duration = Duration::from_secs(1);

/// The running engine. Dropping it stops the engine.
#[derive(Debug)]
pub struct Engine {
    task: Option<JoinHandle<()>>,
    stop: watch::Sender<bool>,
    snapshots: watch::Receiver<Arc<Snapshot>>,
    events: broadcast::Sender<Event>,
    requests: mpsc::Sender<Request>,
    link: watch::Receiver<Link>,
}

impl Engine {
    /// Starts the engine on `inventory`, reading check results from
    /// `observations`, with no ports. Must be called inside a Tokio
    /// runtime.
    pub fn start(
        inventory: &Inventory,
        observations: mpsc::Receiver<Observation>,
        config: EngineConfig,
    ) -> Engine {
        let inputs = Inputs {
            observations,
            host: None,
            relay: None,
        };
        Self::start_with(inventory, inputs, config, Ports::default())
    }

    /// Starts the engine with its inputs and ports. Must be called inside
    /// a Tokio runtime.
    pub fn start_with(
        inventory: &Inventory,
        inputs: Inputs,
        mut config: EngineConfig,
        ports: Ports,
    ) -> Engine {
        let mut state = State::with_run(inventory, SystemTime::now(), config.run);
        state.restore_incidents(std::mem::take(&mut config.restore), SystemTime::now());
        state.restore_timeline(&std::mem::take(&mut config.restore_timeline));
        for record in std::mem::take(&mut config.restore_audit) {
            state.audited(record);
        }
        state.restore_maintenance(
            std::mem::take(&mut config.restore_maintenance),
            SystemTime::now(),
        );
        state.set_playbooks(std::mem::take(&mut config.playbooks), config.shell);
        state.restore_runs(std::mem::take(&mut config.restore_runs), SystemTime::now());
        let first = Arc::new(state.snapshot(SystemTime::now()));
        let (snap_tx, snap_rx) = watch::channel(first);
        let (event_tx, _) = broadcast::channel(1024);
        let (req_tx, req_rx) = mpsc::channel(64);
        let (link_tx, link_rx) = watch::channel(Link::Local);
        let (stop_tx, stop_rx) = watch::channel(false);
        let (acks_tx, acks_rx) = mpsc::unbounded_channel();
        let (jobs_tx, jobs_rx) = mpsc::unbounded_channel();
        let task = Task {
            jobs_tx,
            jobs: jobs_rx,
            acks_tx,
            acks: acks_rx,
            parked: HashMap::new(),
            next_ack: 0,
            state,
            config,
            ports,
            observations: inputs.observations,
            host: inputs.host,
            relay: inputs.relay,
            requests: req_rx,
            snapshots: snap_tx,
            events: event_tx.clone(),
            stop: stop_rx,
            audit_failing: None,
            faults_asked: None,
            _link: link_tx,
        };
        Engine {
            task: Some(tokio::spawn(task.run())),
            stop: stop_tx,
            snapshots: snap_rx,
            events: event_tx,
            requests: req_tx,
            link: link_rx,
        }
    }

    /// A handle acting as `identity`. Whoever builds the handle decides
    /// who it is (the local wiring, a server after authentication); the
    /// console never does.
    pub fn handle_for(&self, identity: Identity) -> EngineHandle {
        EngineHandle::new(
            self.snapshots.clone(),
            self.events.clone(),
            self.requests.clone(),
            self.link.clone(),
            identity,
        )
    }

    /// A handle acting as the local user (a duty manager over every
    /// venue).
    pub fn handle(&self) -> EngineHandle {
        self.handle_for(Identity::local())
    }

    /// Stops the engine and waits for its task to end.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

struct Task {
    state: State,
    config: EngineConfig,
    ports: Ports,
    observations: mpsc::Receiver<Observation>,
    host: Option<mpsc::Receiver<HostSample>>,
    relay: Option<watch::Receiver<Arc<RelayStatus>>>,
    requests: mpsc::Receiver<Request>,
    snapshots: watch::Sender<Arc<Snapshot>>,
    events: broadcast::Sender<Event>,
    stop: watch::Receiver<bool>,
    /// Why the audit log was last seen failing, until it works again.
    audit_failing: Option<String>,
    /// When the fault port was last asked what is in force.
    faults_asked: Option<Instant>,
    /// Kept so the link stays `Local` for as long as the engine runs.
    _link: watch::Sender<Link>,
    /// The audit writer's acks: a change is applied once its record is
    /// on disk.
    acks_tx: mpsc::UnboundedSender<(u64, Result<(), String>)>,
    acks: mpsc::UnboundedReceiver<(u64, Result<(), String>)>,
    /// Changes waiting for their record to be durable, by ack number.
    parked: HashMap<u64, Parked>,
    next_ack: u64,
    /// Playbook steps' work done off the engine task comes back here.
    jobs_tx: mpsc::UnboundedSender<JobDone>,
    jobs: mpsc::UnboundedReceiver<JobDone>,
}

/// A step's work that came back: run id, step, attempt, result.
type JobDone = (String, usize, u32, Result<String, String>);

/// A change whose audit record (then, for an incident, its store batch)
/// is being written.
struct Parked {
    identity: Identity,
    text: String,
    command: Command,
    reply: oneshot::Sender<Reply>,
    /// What it will change, as planned.
    plan: Plan,
    /// Its audit record while that is being written; `None` once it is on
    /// disk and the change's store batch is being written.
    record: Option<AuditRecord>,
}

/// What a command will change, planned before its records are written.
#[derive(Debug, Default)]
enum Plan {
    /// Nothing planned ahead (planned as it is applied).
    #[default]
    Nothing,
    /// An incident's change.
    Incident(Change),
    /// A maintenance window set (`StoreOp::Maintenance`) or lifted
    /// (`StoreOp::MaintenanceEnded`), and the devices it covers.
    Maintenance(StoreOp, usize),
}

impl Plan {
    /// What the store keeps of it, besides its audit record.
    fn store_ops(&self, command: &Command) -> Vec<StoreOp> {
        match self {
            Plan::Nothing => Vec::new(),
            Plan::Incident(change) => {
                let mut ops = Vec::new();
                if !matches!(command, Command::Incident(IncidentCommand::Note { .. })) {
                    ops.push(StoreOp::Incident(change.record.clone()));
                }
                ops.extend(change.timeline.iter().cloned().map(StoreOp::Timeline));
                ops
            }
            Plan::Maintenance(op, _) => vec![op.clone()],
        }
    }

    /// The words its audit record keeps.
    fn outcome(&self, target: &str) -> Option<String> {
        match self {
            Plan::Nothing => None,
            Plan::Incident(change) => Some(
                change
                    .timeline
                    .first()
                    .map_or_else(String::new, |e| e.text.clone()),
            ),
            Plan::Maintenance(op, devices) => {
                Some(maintenance_done(target, op, *devices).to_string())
            }
        }
    }
}

/// What setting or lifting a maintenance window did.
fn maintenance_done(target: &str, op: &StoreOp, devices: usize) -> Done {
    let duration = match op {
        StoreOp::Maintenance(m) => m.end.duration_since(m.start).ok(),
        _ => None,
    };
    Done::Maintenance {
        target: target.to_owned(),
        on: matches!(op, StoreOp::Maintenance(_)),
        devices,
        duration,
    }
}

impl Task {
    async fn run(mut self) {
        let mut last_publish = Instant::now();
        let mut observations_open = true;
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let due = last_publish + self.gap();
            let dirty = self.state.is_dirty();
            let host_open = self.host.is_some();
            let relay_open = self.relay.is_some();
            tokio::select! {
                biased;
                _ = self.stop.changed() => break,
                Some((id, written)) = self.acks.recv() => self.acked(id, written),
                Some((run, step, attempt, result)) = self.jobs.recv() => {
                    self.state.job_done(&run, step, attempt, result, SystemTime::now());
                }
                Some(req) = self.requests.recv() => self.request(req),
                obs = self.observations.recv(), if observations_open => match obs {
                    Some(obs) => {
                        self.state.observe(obs);
                        for _ in 0..BATCH {
                            match self.observations.try_recv() {
                                Ok(obs) => self.state.observe(obs),
                                Err(_) => break,
                            }
                        }
                    }
                    None => observations_open = false,
                },
                host = recv_host(self.host.as_mut()), if host_open => match host {
                    Some(h) => self.state.set_host(h),
                    None => self.host = None,
                },
                changed = relay_changed(self.relay.as_mut()), if relay_open => match changed {
                    Some(status) => self.state.set_relay(status, SystemTime::now()),
                    None => self.relay = None,
                },
                () = tokio::time::sleep_until(due), if dirty => {}
                _ = tick.tick() => self.state.tick(SystemTime::now()),
            }
            self.state.step_runs(SystemTime::now());
            self.check_now();
            self.hand_over();
            let now = Instant::now();
            if self.state.is_dirty() && now >= last_publish + self.gap() {
                self.watch_audit();
                self.publish();
                last_publish = now;
            }
        }
    }

    /// Gives the store what the incident book changed, and the notifier
    /// what to notify, without waiting for either.
    fn hand_over(&mut self) {
        let ops = self.state.take_store();
        if !ops.is_empty()
            && let Some(store) = &self.ports.store
            && let Err(why) = store.write(ops, None)
        {
            tracing::error!("incident changes not stored: {why}");
        }
        let notices = self.state.take_notices();
        if let Some(notifier) = &self.ports.notifier {
            for notice in notices {
                notifier.notify(notice);
            }
        }
        for job in self.state.take_jobs() {
            self.start_job(job);
        }
    }

    /// Hands the devices the board wants checked now to the poller.
    fn check_now(&mut self) {
        let devices = self.state.take_checks();
        if devices.is_empty() {
            return;
        }
        if let Some(checks) = &self.ports.checks {
            checks.check_now(&devices);
        }
    }

    /// How long after the previous snapshot the next may go out.
    fn gap(&self) -> Duration {
        if self.state.is_urgent() {
            self.config.urgent
        } else {
            self.config.refresh
        }
    }

    fn publish(&mut self) {
        if self
            .faults_asked
            .is_none_or(|at| at.elapsed() >= FAULTS_EVERY)
        {
            self.ask_faults();
        }
        let snapshot = self.state.snapshot(SystemTime::now());
        self.snapshots.send_replace(Arc::new(snapshot));
        for event in self.state.take_events() {
            let _ = self.events.send(event);
        }
    }

    /// Asks the fault port what is in force now (timed faults expire on
    /// their own).
    fn ask_faults(&mut self) {
        if let Some(faults) = &self.ports.faults {
            self.state.set_faults(faults.active());
        }
        self.faults_asked = Some(Instant::now());
    }

    /// Tells operators when the audit log starts or stops failing.
    fn watch_audit(&mut self) {
        let Some(audit) = &self.ports.audit else {
            return;
        };
        match (audit.health(), &self.audit_failing) {
            (Err(why), None) => {
                tracing::error!("the audit log cannot be written: {why}");
                self.state.tell(
                    SystemTime::now(),
                    EventKind::Audit {
                        failing: true,
                        detail: why.clone(),
                    },
                );
                self.state.set_audit_failing(Some(why.clone()));
                self.audit_failing = Some(why);
            }
            (Ok(()), Some(_)) => {
                tracing::info!("the audit log is written again");
                self.state.tell(
                    SystemTime::now(),
                    EventKind::Audit {
                        failing: false,
                        detail: "written again".to_owned(),
                    },
                );
                self.state.set_audit_failing(None);
                self.audit_failing = None;
            }
            _ => {}
        }
    }

    fn request(&mut self, req: Request) {
        let Request {
            identity,
            command,
            reply,
        } = req;
        if command.changes_state()
            && (self.ports.audit.is_some()
                || (kept_in_store(&command) && self.ports.store.is_some()))
        {
            self.write_ahead(identity, command, reply);
            return;
        }
        let text = command.to_string();
        let result = self.authorize(&identity, &command).and_then(|()| {
            match self.plan_change(&identity, &command) {
                Ok(plan) => self.apply(&identity, &command, &plan),
                Err(why) => Err(why),
            }
        });
        self.answered(&identity, &text, &command, &result);
        let sim = matches!(command, Command::Sim(_));
        self.audit(identity, text, command, &result);
        if sim {
            self.ask_faults();
        }
        let _ = reply.send(result);
    }

    /// Whether `identity` may issue `command`: the role table, with an
    /// incident's venue from the incident book.
    fn authorize(&self, identity: &Identity, command: &Command) -> Result<(), Refusal> {
        match command {
            Command::Incident(_) => {
                authorize_in(identity, command, |which| self.state.incident_venue(which))
            }
            Command::Playbook(_) => {
                authorize_in(identity, command, |which| self.state.playbook_venue(which))
            }
            _ => authorize(identity, command, self.state.layout()),
        }
    }

    /// What an incident or maintenance command will change (nothing is
    /// planned ahead for the others).
    fn plan_change(&self, identity: &Identity, command: &Command) -> Result<Plan, Refusal> {
        let now = SystemTime::now();
        match command {
            Command::Incident(c) => self
                .state
                .plan_incident(&identity.user, c, now)
                .map(Plan::Incident),
            Command::Device(DeviceCommand::Maintenance {
                target,
                on,
                duration,
                reason,
            }) => {
                let window = on.then_some((*duration, reason.as_str()));
                self.state
                    .plan_maintenance(&identity.user, target, window, now)
                    .map(|(op, devices)| Plan::Maintenance(op, devices))
            }
            _ => Ok(Plan::Nothing),
        }
    }

    /// A change, with an audit log or a store: checked, then its audit
    /// record written, then (an incident's) its store batch, and applied
    /// only once they are on disk ([`Task::acked`]). The engine goes on
    /// meanwhile.
    fn write_ahead(&mut self, identity: Identity, command: Command, reply: oneshot::Sender<Reply>) {
        let text = command.to_string();
        let planned = self.authorize(&identity, &command).and_then(|()| {
            let plan = self.plan_change(&identity, &command)?;
            let outcome = match plan.outcome(target_of(&command)) {
                Some(outcome) => outcome,
                None => match &command {
                    Command::Playbook(c) => {
                        self.state.check_playbook(&identity, c, SystemTime::now())?
                    }
                    _ => self.plan(&command)?,
                },
            };
            Ok((outcome, plan))
        });
        let (outcome, plan) = match planned {
            Ok(p) => p,
            Err(why) => {
                let result = Err(why);
                self.answered(&identity, &text, &command, &result);
                self.audit(identity, text, command, &result);
                let _ = reply.send(result);
                return;
            }
        };
        let record = AuditRecord {
            at: SystemTime::now(),
            identity: identity.clone(),
            text: text.clone(),
            command: command.clone(),
            applied: true,
            outcome,
        };
        let parked = Parked {
            identity,
            text,
            command,
            reply,
            plan,
            record: None,
        };
        match self.ports.audit.clone() {
            Some(audit) => {
                let (id, ack) = self.ack();
                let ack: AuditAck = ack;
                match audit.append(record.clone(), Some(ack)) {
                    Ok(()) => {
                        self.parked.insert(
                            id,
                            Parked {
                                record: Some(record),
                                ..parked
                            },
                        );
                    }
                    Err(why) => self.refuse(parked, Refusal::AuditFailing(why)),
                }
            }
            None => self.write_store(parked, record),
        }
    }

    /// A fresh ack number and the callback that reports it.
    fn ack(&mut self) -> (u64, AuditAck) {
        let id = self.next_ack;
        self.next_ack += 1;
        let acks = self.acks_tx.clone();
        (
            id,
            Box::new(move |written| {
                let _ = acks.send((id, written));
            }),
        )
    }

    /// Writes a parked incident or maintenance change with its audit
    /// record to the store (applied once it is on disk); anything else is
    /// applied now.
    fn write_store(&mut self, parked: Parked, record: AuditRecord) {
        let kept = parked.plan.store_ops(&parked.command);
        let (false, Some(store)) = (kept.is_empty(), self.ports.store.clone()) else {
            let result = self.apply(&parked.identity, &parked.command, &parked.plan);
            self.settle(parked, result);
            return;
        };
        let mut ops = vec![StoreOp::Audit(record)];
        ops.extend(kept);
        let (id, ack) = self.ack();
        let ack: StoreAck = ack;
        // What the incident book changed before this goes first.
        self.hand_over();
        match store.write(ops, Some(ack)) {
            Ok(()) => {
                self.parked.insert(id, parked);
            }
            Err(why) => self.refuse(parked, Refusal::StoreFailing(why)),
        }
    }

    /// Refuses a parked change that could not be written: nothing changed.
    fn refuse(&mut self, parked: Parked, why: Refusal) {
        let result = Err(why);
        self.answered(&parked.identity, &parked.text, &parked.command, &result);
        self.watch_audit();
        let _ = parked.reply.send(result);
    }

    /// A parked change's record is on disk (write its store batch, or
    /// apply it) or cannot be written (refuse it: nothing was changed).
    fn acked(&mut self, id: u64, written: Result<(), String>) {
        let Some(mut parked) = self.parked.remove(&id) else {
            return;
        };
        let record = parked.record.take();
        let in_store = record.is_none();
        match written {
            Err(why) if in_store => {
                // Its audit line said it would be applied; say it was not.
                let result = Err(Refusal::StoreFailing(why));
                self.audit(
                    parked.identity.clone(),
                    parked.text.clone(),
                    parked.command.clone(),
                    &result,
                );
                self.refuse(parked, result.err().unwrap_or(Refusal::Unavailable));
            }
            Err(why) => self.refuse(parked, Refusal::AuditFailing(why)),
            Ok(())
                if !matches!(parked.plan, Plan::Nothing)
                    && let Some(record) = record =>
            {
                self.write_store(parked, record);
            }
            Ok(()) => {
                if let Some(record) = record {
                    // The audit table of the store keeps every command too.
                    self.store_audit(record);
                }
                let result = self.apply(&parked.identity, &parked.command, &parked.plan);
                self.settle(parked, result);
            }
        }
    }

    /// Gives the store an audit record, without waiting.
    fn store_audit(&self, record: AuditRecord) {
        if let Some(store) = &self.ports.store
            && let Err(why) = store.write(vec![StoreOp::Audit(record)], None)
        {
            tracing::error!("audit record not stored: {why}");
        }
    }

    /// Answers an applied (or failed) parked change.
    fn settle(&mut self, parked: Parked, result: Reply) {
        let Parked {
            identity,
            text,
            command,
            reply,
            ..
        } = parked;
        self.answered(&identity, &text, &command, &result);
        if let Err(why) = &result
            && !matches!(why, Refusal::AuditFailing(_) | Refusal::StoreFailing(_))
        {
            // Its record said it would be applied; say it was not.
            self.audit(identity, text, command.clone(), &result);
        }
        if matches!(command, Command::Sim(_)) {
            self.ask_faults();
        }
        self.watch_audit();
        self.hand_over();
        let _ = reply.send(result);
    }

    /// Logs a command's answer and tells the board (and the console's
    /// `:audit`).
    fn answered(&mut self, identity: &Identity, text: &str, command: &Command, result: &Reply) {
        self.state.audited(AuditRecord {
            at: SystemTime::now(),
            identity: identity.clone(),
            text: text.to_owned(),
            command: command.clone(),
            applied: result.is_ok(),
            outcome: match result {
                Ok(done) => done.to_string(),
                Err(why) => why.to_string(),
            },
        });
        match result {
            Ok(done) => {
                tracing::info!(user = %identity.user, role = %identity.role, command = %text, "applied: {done}");
                self.state
                    .command_applied(&identity.user, &done.to_string(), SystemTime::now());
            }
            Err(why) => {
                tracing::info!(user = %identity.user, role = %identity.role, command = %text, "{why}");
                self.state.command_refused();
            }
        }
    }

    /// Queues a record of what came of a command, waiting for nothing.
    fn audit(&mut self, identity: Identity, text: String, command: Command, result: &Reply) {
        let record = AuditRecord {
            at: SystemTime::now(),
            identity,
            text,
            command,
            applied: result.is_ok(),
            outcome: match result {
                Ok(done) => done.to_string(),
                Err(why) => why.to_string(),
            },
        };
        self.store_audit(record.clone());
        if let Some(audit) = &self.ports.audit
            && let Err(why) = audit.append(record, None)
        {
            tracing::error!("audit record lost: {why}");
        }
        self.watch_audit();
    }

    /// What a change will do, in the words its audit record keeps, or why
    /// it cannot be done; changes nothing.
    fn plan(&self, command: &Command) -> Result<String, Refusal> {
        match command {
            Command::Sim(SimCommand::Fault(spec)) => {
                let detail = self.faults()?.check(spec).map_err(Refusal::Invalid)?;
                Ok(Done::FaultSet {
                    target: spec.target.clone(),
                    fault: spec.fault.clone(),
                    duration: spec.duration,
                    detail,
                }
                .to_string())
            }
            Command::Sim(SimCommand::Clear { target }) => {
                self.faults()?
                    .check_clear(target.as_deref())
                    .map_err(Refusal::Invalid)?;
                Ok(target.as_ref().map_or_else(
                    || "clear every fault".to_owned(),
                    |t| format!("{t}: clear faults"),
                ))
            }
            Command::Device(DeviceCommand::CheckNow { target }) => Ok(format!("{target}: check")),
            Command::Device(DeviceCommand::Maintenance { .. }) | Command::Incident(_) => {
                Ok(String::new())
            }
            Command::Relay(c) => self.relay()?.check(c).map_err(Refusal::Invalid),
            Command::Playbook(_) => Ok(String::new()),
            Command::Session(_) => Err(Refusal::Invalid(
                "a session command is never applied".to_owned(),
            )),
        }
    }

    fn apply(&mut self, identity: &Identity, command: &Command, plan: &Plan) -> Reply {
        let layout = Arc::clone(self.state.layout());
        let now = SystemTime::now();
        match (command, plan) {
            (Command::Incident(c), Plan::Incident(change)) => {
                self.state.commit_incident(change, &identity.user, c, now)
            }
            (
                Command::Device(DeviceCommand::Maintenance { target, .. }),
                Plan::Maintenance(op, devices),
            ) => {
                self.state.commit_maintenance(op, now);
                Ok(maintenance_done(target, op, *devices))
            }
            (Command::Playbook(c), _) => self.state.apply_playbook(identity, c, now),
            (command, _) => self.apply_other(command, &layout),
        }
    }

    /// Applies a command nothing is planned ahead for ([`Task::plan_change`]
    /// plans every incident and maintenance command).
    fn apply_other(&mut self, command: &Command, layout: &Layout) -> Reply {
        match command {
            Command::Incident(_) | Command::Device(DeviceCommand::Maintenance { .. }) => Err(
                Refusal::Invalid("planned commands are applied with their plan".to_owned()),
            ),
            Command::Relay(c) => {
                let text = self.relay()?.apply(c).map_err(Refusal::Invalid)?;
                Ok(Done::Relay { text })
            }
            Command::Playbook(_) => Err(Refusal::Invalid(
                "playbook commands are applied with their identity".to_owned(),
            )),
            Command::Session(_) => Err(Refusal::Invalid(
                "a session command is never applied".to_owned(),
            )),
            Command::Sim(SimCommand::Fault(spec)) => {
                let detail = self.faults()?.inject(spec).map_err(Refusal::Invalid)?;
                Ok(Done::FaultSet {
                    target: spec.target.clone(),
                    fault: spec.fault.clone(),
                    duration: spec.duration,
                    detail,
                })
            }
            Command::Sim(SimCommand::Clear { target }) => {
                let count = self
                    .faults()?
                    .clear(target.as_deref())
                    .map_err(Refusal::Invalid)?;
                Ok(Done::FaultsCleared {
                    target: target.clone(),
                    count,
                })
            }
            Command::Device(DeviceCommand::CheckNow { target }) => {
                let devices: Vec<usize> = if let Some(d) = layout.device(target) {
                    vec![d.0]
                } else if let Some(v) = layout.venue(target).and_then(|v| layout.venue_info(v)) {
                    v.devices.iter().map(|d| d.0).collect()
                } else {
                    return Err(Refusal::Invalid(format!(
                        "no device or venue called `{target}`"
                    )));
                };
                let Some(checks) = &self.ports.checks else {
                    return Err(Refusal::Unsupported(
                        "this engine has no poller to check with".to_owned(),
                    ));
                };
                checks.check_now(&devices);
                Ok(Done::CheckRequested {
                    target: target.clone(),
                    devices: devices.len(),
                })
            }
        }
    }

    fn relay(&self) -> Result<Arc<dyn RelayControl>, Refusal> {
        self.ports.relay.clone().ok_or_else(|| {
            Refusal::Unsupported(
                "this engine runs no result relay (no [relay] in the file)".to_owned(),
            )
        })
    }

    fn faults(&self) -> Result<Arc<dyn FaultInjector>, Refusal> {
        self.ports.faults.clone().ok_or_else(|| {
            Refusal::Unsupported(
                "faults are injected into the simulator only: start `toc demo`".to_owned(),
            )
        })
    }
}

/// Whether the store keeps what a command changes (besides its audit
/// record): incidents and maintenance windows.
const fn kept_in_store(command: &Command) -> bool {
    matches!(
        command,
        Command::Incident(_) | Command::Device(DeviceCommand::Maintenance { .. })
    )
}

/// The device, group, venue or incident a command names (empty for
/// every venue).
fn target_of(command: &Command) -> &str {
    match command {
        Command::Device(
            DeviceCommand::Maintenance { target, .. } | DeviceCommand::CheckNow { target },
        )
        | Command::Sim(
            SimCommand::Fault(super::command::FaultSpec { target, .. })
            | SimCommand::Clear {
                target: Some(target),
            },
        ) => target,
        Command::Sim(SimCommand::Clear { target: None }) => "",
        Command::Incident(c) => c.which(),
        Command::Relay(
            RelayCommand::Source { feed: t, .. }
            | RelayCommand::Route { route: t, .. }
            | RelayCommand::Pause { sink: t }
            | RelayCommand::Resume { sink: t }
            | RelayCommand::Replay { sink: t, .. },
        ) => t,
        Command::Playbook(c) => c.which(),
        Command::Session(crate::engine::command::SessionCommand::Denied { peer, .. }) => peer,
    }
}

/// The relay's next summary; `None` once the relay is gone.
async fn relay_changed(
    rx: Option<&mut watch::Receiver<Arc<RelayStatus>>>,
) -> Option<Arc<RelayStatus>> {
    let rx = rx?;
    match rx.changed().await {
        Ok(()) => Some(Arc::clone(&rx.borrow_and_update())),
        Err(_) => None,
    }
}

/// The next host sample, or never when nothing samples the host.
async fn recv_host(rx: Option<&mut mpsc::Receiver<HostSample>>) -> Option<HostSample> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
