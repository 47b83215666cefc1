//! The engine task: one tokio task owns the [`State`]; observations,
//! host samples and commands come in on channels, snapshots and events go
//! out.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::Inventory;
use crate::probe::Observation;
use crate::probe::host::HostProbe;
use crate::sim::SimState;
use crate::sim::faults::Action;

use super::command::{Command, FaultSpec, Identity, Refusal, Reply};
use super::handle::{EngineHandle, Link, Request};
use super::snapshot::{HostSnap, Snapshot};
use super::state::State;

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
    /// Sample the TOC host this often (none: never), watching the disk of
    /// `data_dir`.
    pub host_every: Option<Duration>,
    /// Where the audit log goes (`audit.log`) and whose disk the host
    /// probe watches.
    pub data_dir: Option<PathBuf>,
    /// The simulator of a `toc demo`, so that `:fault` can reach it.
    pub demo: Option<Arc<SimState>>,
}

impl Default for EngineConfig {
    /// Refresh every 250 ms, hard changes after 25 ms, host every 5 s, no
    /// audit file, no simulator.
    fn default() -> Self {
        EngineConfig {
            refresh: Duration::from_millis(250),
            urgent: Duration::from_millis(25),
            host_every: Some(Duration::from_secs(5)),
            data_dir: None,
            demo: None,
        }
    }
}

/// Observations waiting in the channel that one wake-up takes at most
/// before publishing.
const BATCH: usize = 4096;

/// The running engine. Dropping it stops the engine.
#[derive(Debug)]
pub struct Engine {
    task: Option<JoinHandle<()>>,
    host: Option<JoinHandle<()>>,
    stop: watch::Sender<bool>,
    handle: EngineHandle,
}

impl Engine {
    /// Starts the engine on `inventory`, reading check results from
    /// `observations`. Must be called inside a Tokio runtime. The returned
    /// engine hands out [`EngineHandle`]s acting as the local user.
    pub fn start(
        inventory: &Inventory,
        observations: mpsc::Receiver<Observation>,
        config: EngineConfig,
    ) -> Engine {
        let mut state = State::new(inventory, SystemTime::now());
        let first = Arc::new(state.snapshot(SystemTime::now()));
        let (snap_tx, snap_rx) = watch::channel(first);
        let (event_tx, _) = broadcast::channel(1024);
        let (req_tx, req_rx) = mpsc::channel(64);
        let (link_tx, link_rx) = watch::channel(Link::Local);
        let (stop_tx, stop_rx) = watch::channel(false);
        let (host_tx, host_rx) = mpsc::channel(4);
        let host = config.host_every.map(|every| {
            let disk = config
                .data_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from("."));
            tokio::spawn(sample_host(disk, every, host_tx))
        });
        let task = Task {
            state,
            config,
            observations,
            requests: req_rx,
            host: host_rx,
            snapshots: snap_tx,
            events: event_tx.clone(),
            stop: stop_rx,
            _link: link_tx,
        };
        let handle = EngineHandle::new(snap_rx, event_tx, req_tx, link_rx, Identity::local());
        Engine {
            task: Some(tokio::spawn(task.run())),
            host,
            stop: stop_tx,
            handle,
        }
    }

    /// A handle acting as the local user (a duty manager).
    pub fn handle(&self) -> EngineHandle {
        self.handle.clone()
    }

    /// Stops the engine and waits for its task to end.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(h) = self.host.take() {
            h.abort();
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(h) = &self.host {
            h.abort();
        }
    }
}

struct Task {
    state: State,
    config: EngineConfig,
    observations: mpsc::Receiver<Observation>,
    requests: mpsc::Receiver<Request>,
    host: mpsc::Receiver<HostSnap>,
    snapshots: watch::Sender<Arc<Snapshot>>,
    events: broadcast::Sender<super::snapshot::Event>,
    stop: watch::Receiver<bool>,
    /// Kept so the link stays `Local` for as long as the engine runs.
    _link: watch::Sender<Link>,
}

impl Task {
    async fn run(mut self) {
        let mut last_publish = Instant::now();
        let mut observations_open = true;
        let mut host_open = true;
        loop {
            let due = last_publish + self.gap();
            let dirty = self.state.is_dirty();
            tokio::select! {
                biased;
                _ = self.stop.changed() => break,
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
                host = self.host.recv(), if host_open => match host {
                    Some(h) => self.state.set_host(h),
                    None => host_open = false,
                },
                () = tokio::time::sleep_until(due), if dirty => {}
            }
            let now = Instant::now();
            if self.state.is_dirty() && now >= last_publish + self.gap() {
                self.publish();
                last_publish = now;
            }
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
        let snapshot = self.state.snapshot(SystemTime::now());
        self.snapshots.send_replace(Arc::new(snapshot));
        for event in self.state.take_events() {
            let _ = self.events.send(event);
        }
    }

    fn request(&mut self, req: Request) {
        let Request {
            identity,
            command,
            reply,
        } = req;
        let text = command.to_string();
        let result = self.apply(&identity, command);
        let now = SystemTime::now();
        match &result {
            Ok(done) => {
                tracing::info!(user = %identity.user, role = %identity.role, command = %text, "applied: {done}");
                self.state.command_applied(&identity.user, done, now);
            }
            Err(why) => {
                tracing::info!(user = %identity.user, role = %identity.role, command = %text, "{why}");
                self.state.command_refused();
            }
        }
        self.audit(&identity, &text, &result, now);
        let _ = reply.send(result);
    }

    fn apply(&mut self, who: &Identity, command: Command) -> Reply {
        let needed = command.required_role();
        if who.role < needed {
            return Err(Refusal::Forbidden {
                needed,
                held: who.role,
            });
        }
        let layout = Arc::clone(self.state.layout());
        let in_scope = |target: &str| -> Result<(), Refusal> {
            if who.venues.is_empty() {
                return Ok(());
            }
            let venue = layout
                .devices
                .iter()
                .find(|d| d.id == target)
                .and_then(|d| layout.venues.get(d.venue))
                .or_else(|| layout.venues.iter().find(|v| v.code == target));
            match venue {
                Some(v) if who.venues.iter().any(|c| c == &v.code) => Ok(()),
                _ => Err(Refusal::OutOfScope(target.to_owned())),
            }
        };
        match command {
            Command::Fault(FaultSpec {
                target,
                kind,
                value,
                duration,
            }) => {
                in_scope(&target)?;
                let sim = self.demo()?;
                let action = Action::parse(&kind, value.as_deref()).map_err(Refusal::Invalid)?;
                sim.apply(&target, &action, duration)
                    .map_err(Refusal::Invalid)
            }
            Command::ClearFaults {
                target: Some(target),
            } => {
                in_scope(&target)?;
                let sim = self.demo()?;
                let mut n = sim
                    .clear(&target, None)
                    .map_err(|e| Refusal::Invalid(e.to_string()))?;
                // A venue code clears the whole venue: its uplink and
                // every fault of its devices.
                if let Some(venue) = layout.venues.iter().find(|v| v.code == target) {
                    for &d in &venue.devices {
                        if let Some(info) = layout.devices.get(d) {
                            n += sim.clear(&info.id, None).unwrap_or(0);
                        }
                    }
                }
                Ok(format!("{target}: {n} fault(s) cleared"))
            }
            Command::ClearFaults { target: None } => {
                if !who.venues.is_empty() {
                    return Err(Refusal::OutOfScope("every venue".to_owned()));
                }
                let n = self.demo()?.clear_all();
                Ok(format!("{n} fault(s) cleared"))
            }
            Command::Maintenance { device, on } => {
                in_scope(&device)?;
                let Some(idx) = layout.devices.iter().position(|d| d.id == device) else {
                    return Err(Refusal::Invalid(format!("no device called `{device}`")));
                };
                self.state.set_maintenance(idx, on, SystemTime::now());
                Ok(format!(
                    "{device}: maintenance {}",
                    if on { "on" } else { "off" }
                ))
            }
        }
    }

    fn demo(&self) -> Result<Arc<SimState>, Refusal> {
        self.config.demo.clone().ok_or_else(|| {
            Refusal::Unsupported(
                "faults are injected into the simulator only: start `toc demo`".to_owned(),
            )
        })
    }

    /// Appends one line per command to `audit.log` in the data folder.
    fn audit(&self, who: &Identity, command: &str, result: &Reply, at: SystemTime) {
        let Some(dir) = &self.config.data_dir else {
            return;
        };
        let line = serde_json::json!({
            "at": humantime::format_rfc3339_millis(at).to_string(),
            "user": who.user,
            "role": who.role.name(),
            "command": command,
            "outcome": match result {
                Ok(done) => format!("applied: {done}"),
                Err(why) => why.to_string(),
            },
        });
        let path = dir.join("audit.log");
        let written = std::fs::create_dir_all(dir).and_then(|()| {
            let mut f = OpenOptions::new().create(true).append(true).open(&path)?;
            writeln!(f, "{line}")
        });
        if let Err(e) = written {
            tracing::warn!("cannot append to {}: {e}", path.display());
        }
    }
}

/// Samples the TOC host every `every` and sends it to the engine.
async fn sample_host(disk: PathBuf, every: Duration, tx: mpsc::Sender<HostSnap>) {
    let probe = HostProbe::new(disk);
    let name = sysinfo::System::host_name().unwrap_or_else(|_| "this host".to_owned());
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let outcome = probe.sample().await;
        let snap = HostSnap {
            name: name.clone(),
            at: SystemTime::now(),
            outcome,
        };
        if tx.send(snap).await.is_err() {
            return;
        }
    }
}
