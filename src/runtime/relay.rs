//! The result relay in `toc run`, `toc serve` and `toc demo`: its tokens
//! from the environment (a demo makes up those not set), and in a demo the
//! simulated consumers it delivers to and the simulated results systems
//! that post to it, all on ports the system picks.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::watch;

use crate::config::Inventory;
use crate::config::venues::{Relay, SinkKind};
use crate::relay::service::RelayService;
use crate::sim::SimState;
use crate::sim::consumer::{self, Consumer, ConsumerStats};
use crate::sim::ovr::{self, Ledger, OvrHandle, OvrOptions};

/// How often the demo logs what its consumers saw.
const LOG_CONSUMERS_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// Logs what each simulated consumer saw, end to end from a result's
/// first post, every [`LOG_CONSUMERS_EVERY`] until `cancel`.
async fn log_consumers(trackers: Vec<Arc<consumer::Tracker>>, mut cancel: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(LOG_CONSUMERS_EVERY);
    every.tick().await;
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = cancel.wait_for(|c| *c) => return,
        }
        for t in &trackers {
            let s = t.stats();
            let ms = |d: Option<std::time::Duration>| {
                d.map_or_else(
                    || "-".to_owned(),
                    |d| format!("{:.1} ms", d.as_secs_f64() * 1e3),
                )
            };
            tracing::info!(
                "demo consumer {}: {} received, end to end p50 {} p99 {} max {}, {} exact repeats, {} out of order",
                s.name,
                s.received,
                ms(s.p50),
                ms(s.p99),
                ms(s.max),
                s.repeats,
                s.out_of_order
            );
        }
    }
}

/// Results messages per second per venue in a demo (keep-alives aside):
/// a few competitions at once, each a message every few seconds.
pub const DEMO_RATE: f64 = 1.0;

/// The sources' tokens, from the environment variables the file names.
/// `toc run` and `toc serve` refuse to start without every one (the error
/// names them all); a demo makes up those not set, and hands them to its
/// simulated sources.
pub fn tokens(relay: &Relay, demo: bool) -> Result<Vec<(String, String)>, String> {
    let env = |k: &str| std::env::var(k).ok();
    match relay.tokens(env) {
        Ok(t) => Ok(t),
        Err(missing) if !demo => Err(format!(
            "the relay's source tokens are not set: {} (each names a source's bearer token; see docs/config.md)",
            missing.join(", ")
        )),
        Err(_) => Ok(relay
            .sources
            .iter()
            .map(|s| {
                let token = env(&s.token_env)
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| format!("demo-{:032x}", rand::random::<u128>()));
                (s.id.clone(), token)
            })
            .collect()),
    }
}

/// A demo's consumers: an HTTP server for each HTTP sink, and a TCP
/// subscriber for each TCP sink once it listens; they measure the latency
/// from a result's first post to its receipt.
#[derive(Debug)]
pub struct DemoRelay {
    consumers: Vec<Consumer>,
    ledger: Arc<Ledger>,
    ovr: Option<OvrHandle>,
    cancel: watch::Sender<bool>,
    /// The simulated results systems and consumers run on a thread of
    /// their own, as they would on machines of their own.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for DemoRelay {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl DemoRelay {
    /// Moves the relay of a demo's inventory to ports the system picks:
    /// `POST /odf` on a free port, each HTTP sink to a simulated consumer
    /// listening on a free port, each TCP sink on a free port.
    pub async fn bind(inventory: &mut Inventory) -> Result<DemoRelay, String> {
        let runtime = crate::relay::service::own_runtime("demo-results", 1)?;
        let ledger = Arc::new(Ledger::default());
        let mut consumers = Vec::new();
        if let Some(relay) = inventory.relay.as_mut() {
            relay.listen = SocketAddr::from(([127, 0, 0, 1], 0));
            for sink in &mut relay.sinks {
                match &mut sink.kind {
                    SinkKind::Http { url } => {
                        let any = SocketAddr::from(([127, 0, 0, 1], 0));
                        let (name, l) = (sink.id.clone(), Arc::clone(&ledger));
                        let c = runtime
                            .spawn(async move { consumer::serve_http(&name, any, l).await })
                            .await
                            .map_err(|e| e.to_string())
                            .and_then(|c| c.map_err(|e| e.to_string()))
                            .map_err(|e| format!("demo consumer {}: {e}", sink.id))?;
                        *url = format!("http://{}/odf", c.addr());
                        consumers.push(c);
                    }
                    SinkKind::Tcp { listen } => *listen = SocketAddr::from(([127, 0, 0, 1], 0)),
                    SinkKind::File { .. } => {}
                }
            }
        }
        let (cancel, _) = watch::channel(false);
        Ok(DemoRelay {
            consumers,
            ledger,
            ovr: None,
            cancel,
            runtime: Some(runtime),
        })
    }

    /// Subscribes to the relay's TCP sinks and starts the simulated
    /// results systems posting to it.
    pub async fn start(
        &mut self,
        service: &RelayService,
        inventory: &Inventory,
        tokens: &[(String, String)],
        sim: Arc<SimState>,
    ) {
        let Some(relay) = &inventory.relay else {
            return;
        };
        let mut tcp = Vec::new();
        for sink in &relay.sinks {
            if matches!(sink.kind, SinkKind::Tcp { .. })
                && let Some(addr) = service.tcp_sink_addr(&sink.id).await
            {
                tcp.push((sink.id.clone(), addr));
            }
        }
        let Some(runtime) = &self.runtime else {
            return;
        };
        // No await from here on: what is spawned goes to the demo's own
        // threads, and only it.
        let _entered = runtime.enter();
        for (id, addr) in tcp {
            self.consumers
                .push(consumer::subscribe_tcp(&id, addr, Arc::clone(&self.ledger)));
        }
        let options = OvrOptions {
            url: format!("http://{}/odf", service.addr()),
            state: Some(sim),
            ledger: Arc::clone(&self.ledger),
            rate: DEMO_RATE,
            ..OvrOptions::default()
        };
        let feeds = ovr::feeds(inventory, tokens);
        tracing::info!(
            "demo: {} results systems post to the relay at {}",
            feeds.len() * 2,
            options.url
        );
        self.ovr = Some(ovr::start(options, feeds, &self.cancel.subscribe()));
        let trackers: Vec<_> = self.consumers.iter().map(Consumer::tracker).collect();
        tokio::spawn(log_consumers(trackers, self.cancel.subscribe()));
    }

    /// What each simulated consumer saw.
    pub fn consumers(&self) -> Vec<ConsumerStats> {
        self.consumers.iter().map(Consumer::stats).collect()
    }

    /// Stops the simulated results systems.
    pub async fn stop(&mut self) {
        self.cancel.send_replace(true);
        if let Some(ovr) = self.ovr.take() {
            ovr.join().await;
        }
        self.consumers.clear();
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}
