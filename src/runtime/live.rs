//! Wiring for `toc demo` and `toc run`: probes and scheduler, engine and,
//! in a demo, the simulated venues, on the runtime of the caller (the
//! console draws elsewhere: [`super::console`]). Every engine event is
//! logged with its own time, so `toc.log` tells when a device was judged
//! down.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::config::Inventory;
use crate::engine::{
    AuditSink, CheckNow, Engine, EngineConfig, EngineHandle, Event, EventKind, FaultInjector,
    Identity, Inputs, Ports, Snapshot,
};
use crate::model::DeviceIdx;
use crate::probe::any::AnyProbe;
use crate::probe::scheduler::{self, CheckTrigger, SchedulerConfig, SchedulerHandle};
use crate::runtime::audit::FileAudit;
use crate::sim::{self, SimAudit, SimHandle, SimOptions};

/// Observations waiting for the engine before the scheduler waits.
const QUEUE: usize = 8192;

/// Tuning applied to an inventory before it runs.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// Poll every device this often instead of its configured interval.
    pub interval: Option<Duration>,
    /// Give up on an attempt after this long instead of the configured
    /// timeout.
    pub timeout: Option<Duration>,
    /// Engine settings.
    pub engine: EngineConfig,
    /// The data folder: the audit log goes there, its disk is watched, and
    /// the engine's runs are counted there. None: no audit, no host
    /// sampling, run 0 (tests).
    pub data_dir: Option<PathBuf>,
    /// Sample the TOC host this often (with a data folder).
    pub host_every: Duration,
    /// The venues file the inventory was read from: a demo with a data
    /// folder publishes it with the addresses it serves
    /// ([`super::published`]), so `toc probe` of the same file uses them.
    /// None: a synthetic Games, or tests.
    pub source: Option<PathBuf>,
}

impl Default for Tuning {
    /// The configured intervals, default engine settings, no data folder,
    /// the host sampled every 5 s.
    fn default() -> Self {
        Tuning {
            interval: None,
            timeout: None,
            engine: EngineConfig::default(),
            data_dir: None,
            host_every: Duration::from_secs(5),
            source: None,
        }
    }
}

/// The scheduler is the engine's check-now port.
#[derive(Debug)]
struct Checks(CheckTrigger);

impl CheckNow for Checks {
    fn check_now(&self, devices: &[usize]) {
        self.0.check_now(devices);
    }
}

impl Tuning {
    /// Applies the interval and timeout overrides to `inventory`.
    pub fn apply(&self, inventory: &mut Inventory) {
        if let Some(i) = self.interval {
            inventory.event.poll_interval = i;
            for d in &mut inventory.devices {
                d.poll_interval = i;
            }
        }
        if let Some(t) = self.timeout {
            inventory.event.timeout = t;
            for d in &mut inventory.devices {
                d.timeout = t;
            }
        }
    }
}

/// Everything `toc demo` or `toc run` runs besides the console.
#[derive(Debug)]
pub struct Live {
    /// The inventory being polled (in a demo, with the simulator's
    /// addresses).
    pub inventory: Arc<Inventory>,
    /// The simulated venues of a demo.
    pub sim: Option<SimHandle>,
    scheduler: SchedulerHandle,
    engine: Engine,
    audit: Option<Arc<FileAudit>>,
    store: Option<Arc<crate::store::StoreHandle>>,
    notifier: Option<Arc<crate::notify::NotifierHandle>>,
    host: Option<tokio::task::JoinHandle<()>>,
    /// The data folder where a demo published its addresses.
    published: Option<PathBuf>,
    /// The result relay, when the file has one (and there is a data
    /// folder for its journal).
    relay: Option<crate::relay::service::RelayService>,
    /// Its sources' tokens.
    relay_tokens: Vec<(String, String)>,
    /// A demo's simulated consumers and results systems.
    demo_relay: Option<super::relay::DemoRelay>,
    /// The data folder (where the API publishes its addresses).
    data_dir: Option<PathBuf>,
    /// The API, once [`Live::start_api`] started it.
    api: Option<super::api::ApiRun>,
}

/// The audit log of the data folder, when there is one. Fails when it
/// cannot be opened: a console that cannot audit does not start.
fn open_audit(inventory: &Inventory, tuning: &Tuning) -> Result<Option<Arc<FileAudit>>, String> {
    let Some(dir) = &tuning.data_dir else {
        return Ok(None);
    };
    let logs = inventory.event.logs;
    FileAudit::open_rotated(dir, logs.audit_max_bytes, logs.audit_keep)
        .map(|f| Some(Arc::new(f)))
        .map_err(|e| format!("cannot open the audit log in {}: {e}", dir.display()))
}

impl Live {
    /// Polls the real equipment of `inventory`. Must be called inside a
    /// Tokio runtime.
    pub fn run(mut inventory: Inventory, tuning: Tuning) -> Result<Live, String> {
        tuning.apply(&mut inventory);
        let audit = open_audit(&inventory, &tuning)?;
        let inventory = Arc::new(inventory);
        Self::start(inventory, None, tuning, audit)
    }

    /// Simulates the venues of `inventory` on loopback (on ports the
    /// system picks, so nothing else is disturbed) and polls them;
    /// `:fault` reaches the simulator. With a data folder, the addresses
    /// taken are published there for `toc probe` ([`super::published`])
    /// until [`Live::shutdown`].
    pub async fn demo(mut inventory: Inventory, tuning: Tuning) -> Result<Live, String> {
        tuning.apply(&mut inventory);
        // Before the simulator opens a socket per agent; the scheduler
        // sizes its budget from what is left.
        let _ = scheduler::raise_descriptor_limit();
        // Before the simulator: its control API and scenario write their
        // changes in the same audit log as the engine.
        let audit = open_audit(&inventory, &tuning)?;
        let options = SimOptions {
            ephemeral: true,
            audit: audit.clone().map(|a| a as Arc<dyn SimAudit>),
            ..SimOptions::default()
        };
        let sim = sim::start(Arc::new(inventory), options)
            .await
            .map_err(|e| format!("cannot start the simulator: {e}"))?;
        let mut moved = (*sim.inventory()).clone();
        let mut demo_relay = super::relay::DemoRelay::bind(&mut moved).await?;
        let inventory = Arc::new(moved);
        let mut events = sim.subscribe();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(e) => tracing::info!("simulator: {}", e.text),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::info!("simulator: {n} events not logged");
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                }
            }
        });
        tracing::info!(
            "simulator: {} SNMP agents, {} HTTP servers, {} TCP listeners on loopback, control API http://{}",
            sim.summary().snmp_ports,
            sim.summary().http_ports,
            sim.summary().tcp_listeners,
            sim.control_addr()
        );
        let published = match &tuning.data_dir {
            Some(dir) => {
                let path = super::published::publish(
                    dir,
                    tuning.source.as_deref(),
                    &sim.summary().remapped,
                )?;
                tracing::info!("demo addresses published in {}", path.display());
                Some(dir.clone())
            }
            None => None,
        };
        let mut live = Self::start(inventory, Some(sim), tuning, audit);
        match &mut live {
            Ok(l) => {
                l.published = published;
                if let (Some(relay), Some(sim)) = (&l.relay, &l.sim) {
                    demo_relay
                        .start(relay, &l.inventory, &l.relay_tokens, sim.state())
                        .await;
                }
                l.demo_relay = Some(demo_relay);
            }
            Err(_) => {
                if let Some(dir) = &published {
                    super::published::withdraw(dir);
                }
            }
        }
        live
    }

    fn start(
        inventory: Arc<Inventory>,
        sim: Option<SimHandle>,
        tuning: Tuning,
        audit: Option<Arc<FileAudit>>,
    ) -> Result<Live, String> {
        let probe = Arc::new(AnyProbe::new(&inventory)?);
        let (tx, rx) = mpsc::channel(QUEUE);
        let mut config = tuning.engine;
        let mut host = None;
        let mut host_rx = None;
        let mut notifier = None;
        let mut store = None;
        let mut kept = Vec::new();
        let mut kept_maintenance = Vec::new();
        let mut kept_timeline = Vec::new();
        let mut kept_audit = Vec::new();
        let mut kept_runs = Vec::new();
        if let Some(dir) = &tuning.data_dir {
            // Incidents, their timelines, maintenance and the audit: a
            // store that cannot be opened stops the start (nothing kept
            // would be lost silently).
            let path = dir.join(STORE_FILE);
            let (handle, loaded) = crate::store::Store::open(&path)?;
            tracing::info!(
                "incident store {}: {} incidents kept",
                path.display(),
                loaded.incidents.len()
            );
            kept = loaded.incidents;
            kept_maintenance = loaded.maintenance;
            kept_timeline = loaded.timeline;
            kept_audit = loaded.audit;
            kept_runs = loaded.runs;
            store = Some(Arc::new(handle));
            match crate::notify::Notifier::start(super::notify::config_of(&inventory.incidents)) {
                Ok(n) => notifier = Some(Arc::new(n)),
                Err(e) => tracing::error!("notifications are off: cannot start the notifier: {e}"),
            }
            config.run = next_run(dir)?;
            let (htx, hrx) = mpsc::channel(4);
            host = Some(tokio::spawn(crate::probe::host::sample_every(
                dir.clone(),
                tuning.host_every,
                htx,
            )));
            host_rx = Some(hrx);
        }
        let mut relay = None;
        let mut relay_tokens = Vec::new();
        if let (Some(cfg), Some(dir)) = (&inventory.relay, &tuning.data_dir) {
            relay_tokens = super::relay::tokens(cfg, sim.is_some())?;
            relay = Some(crate::relay::service::RelayService::start(
                cfg,
                &inventory,
                dir,
                relay_tokens.clone(),
            )?);
        }
        // Raises the descriptor limit and sizes the TCP/HTTP budget from it.
        let (schedule, descriptors) = SchedulerConfig::for_host(&inventory.event);
        tracing::info!("scheduler: {descriptors}");
        let scheduler = scheduler::spawn_inventory(probe, Arc::clone(&inventory), tx, schedule);
        let ports = Ports {
            faults: sim.as_ref().map(|s| s.state() as Arc<dyn FaultInjector>),
            checks: Some(Arc::new(Checks(scheduler.trigger()))),
            audit: audit.clone().map(|a| a as Arc<dyn AuditSink>),
            store: store
                .clone()
                .map(|s| s as Arc<dyn crate::engine::port::IncidentStore>),
            notifier: notifier
                .clone()
                .map(|n| n as Arc<dyn crate::engine::port::Notifier>),
            relay: relay
                .as_ref()
                .map(crate::relay::service::RelayService::control),
            // Shell steps run only where venues.toml enables them.
            steps: inventory.playbooks.shell.then(|| {
                Arc::new(super::steps::ShellWorker::default()) as Arc<dyn crate::engine::StepWorker>
            }),
        };
        let inputs = Inputs {
            observations: rx,
            host: host_rx,
            relay: relay
                .as_ref()
                .map(crate::relay::service::RelayService::status),
        };
        config.restore = kept;
        config.restore_maintenance = kept_maintenance;
        config.restore_timeline = kept_timeline;
        config.restore_audit = kept_audit;
        config.restore_runs = kept_runs;
        let engine = Engine::start_with(&inventory, inputs, config, ports);
        log_events(&engine.handle());
        Ok(Live {
            inventory,
            sim,
            scheduler,
            engine,
            audit,
            store,
            notifier,
            host,
            published: None,
            relay,
            relay_tokens,
            demo_relay: None,
            data_dir: tuning.data_dir,
            api: None,
        })
    }

    /// Starts the API of the file's `[api]` on a thread of its own
    /// ([`crate::api::server`]); its addresses are published in the data
    /// folder. `insecure_listen`: a non-loopback address without TLS is
    /// allowed (with a warning). Returns every address it listens on.
    pub fn start_api(
        &mut self,
        insecure_listen: bool,
        auth: Arc<crate::api::auth::Authenticator>,
    ) -> Result<Vec<crate::api::server::Addr>, String> {
        let options = crate::api::server::Options {
            api: self.inventory.api.clone(),
            insecure_listen,
            poll_interval: self.inventory.event.poll_interval,
        };
        let run =
            super::api::ApiRun::start(&options, self.handle(), auth, self.data_dir.as_deref())?;
        let addrs = run.addrs().to_vec();
        if let Some(old) = self.api.replace(run) {
            old.shutdown();
        }
        Ok(addrs)
    }

    /// Where the API listens, when it runs.
    pub fn api_addrs(&self) -> Vec<crate::api::server::Addr> {
        self.api
            .as_ref()
            .map(|a| a.addrs().to_vec())
            .unwrap_or_default()
    }

    /// Where the result relay's `POST /odf` listens, when it runs.
    pub fn relay_addr(&self) -> Option<std::net::SocketAddr> {
        self.relay
            .as_ref()
            .map(crate::relay::service::RelayService::addr)
    }

    /// What a demo's simulated consumers saw (none outside a demo).
    pub fn demo_consumers(&self) -> Vec<crate::sim::consumer::ConsumerStats> {
        self.demo_relay
            .as_ref()
            .map(super::relay::DemoRelay::consumers)
            .unwrap_or_default()
    }

    /// A handle on the engine, acting as the local user.
    pub fn handle(&self) -> EngineHandle {
        self.engine.handle()
    }

    /// A handle on the engine acting as `identity` (the wiring decides who
    /// a handle is, never the console).
    pub fn handle_for(&self, identity: Identity) -> EngineHandle {
        self.engine.handle_for(identity)
    }

    /// The notifier's counters (notices taken, notifications sent, logged
    /// or dropped); `None` without a data folder or when it did not start.
    pub fn notify_stats(&self) -> Option<crate::notify::StatsSnapshot> {
        self.notifier.as_ref().map(|n| n.stats())
    }

    /// Stops polling, the engine and the simulator; the audit log is
    /// synced, a demo's published addresses removed.
    pub async fn shutdown(mut self) {
        if let Some(api) = self.api.take() {
            // Joins the API's thread: off this runtime's workers.
            let _ = tokio::task::spawn_blocking(move || api.shutdown()).await;
        }
        if let Some(h) = self.host.take() {
            h.abort();
        }
        if let Some(demo) = self.demo_relay.as_mut() {
            demo.stop().await;
        }
        self.scheduler.shutdown().await;
        self.engine.shutdown().await;
        if let Some(relay) = self.relay.take() {
            relay.shutdown().await;
        }
        if let Some(dir) = self.published.take() {
            super::published::withdraw(&dir);
        }
        if let Some(sim) = self.sim.take() {
            sim.shutdown().await;
        }
        if let Some(audit) = self.audit.take() {
            audit.close();
        }
        if let Some(store) = self.store.take() {
            store.close();
        }
    }
}

/// The incident store's file in the data folder.
pub const STORE_FILE: &str = "toc.db";

/// Counts this start in `dir/runs` and returns its number (1 for the
/// first): incident ids carry it, so they never collide across restarts.
/// The file is synced before the engine starts.
fn next_run(dir: &std::path::Path) -> Result<u32, String> {
    use std::io::Write as _;
    let path = dir.join("runs");
    let exists =
        !matches!(std::fs::metadata(&path), Err(e) if e.kind() == std::io::ErrorKind::NotFound);
    let last = if exists {
        // Bounded, and only a regular file.
        let text = crate::config::file::read_text(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        text.trim().parse::<u32>().map_err(|e| {
            format!(
                "{} must hold the number of the last run, not {:?} ({e}); remove it to start again at 1",
                path.display(),
                text.trim()
            )
        })?
    } else {
        0
    };
    let run = last
        .checked_add(1)
        .ok_or_else(|| format!("{} is at its largest run number", path.display()))?;
    let tmp = dir.join("runs.tmp");
    let written = std::fs::create_dir_all(dir).and_then(|()| {
        let mut f = std::fs::File::create(&tmp)?;
        writeln!(f, "{run}")?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    });
    written.map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(run)
}

/// Logs every engine event (`engine event at <RFC 3339 time>: <what>`),
/// with the time the engine gave it, until the engine stops.
fn log_events(handle: &EngineHandle) {
    let mut events = handle.events();
    let snapshots = handle.watch();
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    let snap = std::sync::Arc::clone(&snapshots.borrow());
                    tracing::info!(
                        "engine event at {}: {}",
                        humantime::format_rfc3339_micros(event.at),
                        describe(&snap, &event)
                    );
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::info!("engine: {n} events not logged (too many at once)");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

/// One line on an engine event, with device ids and venue codes.
pub fn describe(snap: &Snapshot, event: &Event) -> String {
    let device = |i: DeviceIdx| {
        snap.layout
            .device_info(i)
            .map_or_else(|| format!("#{}", i.0), |d| d.id.clone())
    };
    match &event.kind {
        EventKind::Device {
            device: d,
            from,
            to,
            reason,
        } => {
            let why = reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            format!(
                "device {}: {} -> {}{why}",
                device(*d),
                from.word(),
                to.word()
            )
        }
        EventKind::Devices {
            venue,
            count,
            from,
            to,
            reason,
        } => {
            let code = snap
                .layout
                .venue_info(*venue)
                .map_or_else(|| format!("#{}", venue.0), |v| v.code.clone());
            let why = reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            format!(
                "venue {code}: {count} devices {} -> {}{why}",
                from.word(),
                to.word()
            )
        }
        EventKind::Venue { venue, from, to } => {
            let code = snap
                .layout
                .venue_info(*venue)
                .map_or_else(|| format!("#{}", venue.0), |v| v.code.clone());
            format!("venue {code}: {} -> {}", from.word(), to.word())
        }
        EventKind::Flapping { device: d, started } => format!(
            "device {}: {} flapping",
            device(*d),
            if *started { "started" } else { "stopped" }
        ),
        EventKind::IncidentOpened { id, title, .. } => format!("incident {id} opened: {title}"),
        EventKind::IncidentSeverity {
            id,
            title,
            from,
            to,
        } => {
            let how = EventKind::raised_or_lowered(*from, *to);
            format!(
                "incident {id} {how} {} -> {}: {title}",
                from.word(),
                to.word()
            )
        }
        EventKind::IncidentResolved { id, title } => format!("incident {id} resolved: {title}"),
        EventKind::Incident {
            id,
            what,
            by,
            title,
            text,
        } => EventKind::incident_line(*id, *what, by.as_deref(), title, text),
        EventKind::Command { user, text } => format!("command by {user}: {text}"),
        EventKind::Note { device: d, text } => format!("device {}: {text}", device(*d)),
        EventKind::Audit {
            failing: true,
            detail,
        } => format!("audit log failing: {detail}"),
        EventKind::Audit {
            failing: false,
            detail,
        } => format!("audit log {detail}"),
    }
}
