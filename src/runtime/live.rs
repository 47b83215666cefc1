//! Wiring for `toc demo` and `toc run`: probes and scheduler, engine and,
//! in a demo, the simulated venues, on the runtime of the caller (the
//! console draws elsewhere: [`super::console`]). Every engine event is
//! logged with its own time, so `toc.log` tells when a device was judged
//! down.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::config::Inventory;
use crate::engine::{Engine, EngineConfig, EngineHandle, Event, EventKind, Snapshot};
use crate::probe::any::AnyProbe;
use crate::probe::scheduler::{self, SchedulerConfig, SchedulerHandle};
use crate::sim::{self, SimHandle, SimOptions};

/// Observations waiting for the engine before the scheduler waits.
const QUEUE: usize = 8192;

/// Tuning applied to an inventory before it runs.
#[derive(Debug, Clone, Default)]
pub struct Tuning {
    /// Poll every device this often instead of its configured interval.
    pub interval: Option<Duration>,
    /// Give up on an attempt after this long instead of the configured
    /// timeout.
    pub timeout: Option<Duration>,
    /// Engine settings; `demo` is filled in by [`Live::demo`].
    pub engine: EngineConfig,
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
}

impl Live {
    /// Polls the real equipment of `inventory`. Must be called inside a
    /// Tokio runtime.
    pub fn run(mut inventory: Inventory, tuning: Tuning) -> Result<Live, String> {
        tuning.apply(&mut inventory);
        let inventory = Arc::new(inventory);
        Self::start(inventory, None, tuning.engine)
    }

    /// Simulates the venues of `inventory` on loopback (on ports the
    /// system picks, so nothing else is disturbed) and polls them;
    /// `:fault` reaches the simulator.
    pub async fn demo(mut inventory: Inventory, tuning: Tuning) -> Result<Live, String> {
        tuning.apply(&mut inventory);
        let options = SimOptions {
            ephemeral: true,
            ..SimOptions::default()
        };
        let sim = sim::start(Arc::new(inventory), options)
            .await
            .map_err(|e| format!("cannot start the simulator: {e}"))?;
        let inventory = sim.inventory();
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
        let mut engine = tuning.engine;
        engine.demo = Some(sim.state());
        Self::start(inventory, Some(sim), engine)
    }

    fn start(
        inventory: Arc<Inventory>,
        sim: Option<SimHandle>,
        config: EngineConfig,
    ) -> Result<Live, String> {
        let probe = Arc::new(AnyProbe::new(&inventory)?);
        let (tx, rx) = mpsc::channel(QUEUE);
        let engine = Engine::start(&inventory, rx, config);
        log_events(&engine.handle());
        let scheduler = scheduler::spawn_inventory(
            probe,
            Arc::clone(&inventory),
            tx,
            SchedulerConfig::for_event(&inventory.event),
        );
        Ok(Live {
            inventory,
            sim,
            scheduler,
            engine,
        })
    }

    /// A handle on the engine, acting as the local user.
    pub fn handle(&self) -> EngineHandle {
        self.engine.handle()
    }

    /// Stops polling, the engine and the simulator.
    pub async fn shutdown(mut self) {
        self.scheduler.shutdown().await;
        self.engine.shutdown().await;
        if let Some(sim) = self.sim.take() {
            sim.shutdown().await;
        }
    }
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
    let device = |i: usize| {
        snap.layout
            .devices
            .get(i)
            .map_or_else(|| format!("#{i}"), |d| d.id.clone())
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
        EventKind::Venue { venue, from, to } => {
            let code = snap
                .layout
                .venues
                .get(*venue)
                .map_or_else(|| format!("#{venue}"), |v| v.code.clone());
            format!("venue {code}: {} -> {}", from.word(), to.word())
        }
        EventKind::Flapping { device: d, started } => format!(
            "device {}: {} flapping",
            device(*d),
            if *started { "started" } else { "stopped" }
        ),
        EventKind::IncidentOpened { id, title } => format!("incident {id} opened: {title}"),
        EventKind::IncidentResolved { id, title } => format!("incident {id} resolved: {title}"),
        EventKind::Command { user, text } => format!("command by {user}: {text}"),
        EventKind::Note { device: d, text } => format!("device {}: {text}", device(*d)),
    }
}
