//! The relay started as a whole: the journal, the dedup state rebuilt
//! from it, the sequencer thread, the sinks, the `POST /odf` door, and a
//! reporter that publishes a [`RelayStatus`] every second for the engine.
//! [`RelayService::shutdown`] drains: the door stops taking messages and
//! answers those in flight, the sequencer writes its last batch and
//! checkpoint, and each sink saves its cursor.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::control::ControlHandle;
use super::dedup::Dedup;
use super::ingest::{self, IngestState};
use super::journal::{Journal, JournalOptions, Log};
use super::quarantine::Quarantine;
use super::sequencer::{self, SequencerHandle, SequencerOptions, Stats};
use super::sink::{SinkHandle, spawn_sinks};
use crate::config::Inventory;
use crate::config::venues::Relay;
use crate::engine::port::RelayControl;
use crate::model::relay::{RelayCommand, RelayStatus, SourceStatus};

/// How often the relay's status is published.
pub const REPORT_EVERY: Duration = Duration::from_secs(1);

/// The most messages kept in quarantine, and about the most bytes.
const QUARANTINE_FILES: usize = 10_000;
const QUARANTINE_BYTES: u64 = 1 << 30;

/// A running relay.
#[derive(Debug)]
pub struct RelayService {
    addr: SocketAddr,
    status: watch::Receiver<Arc<RelayStatus>>,
    control: Arc<ControlHandle>,
    log: Arc<Journal>,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
    reporter: JoinHandle<()>,
    sinks: Arc<Vec<SinkHandle>>,
    sequencer: Option<SequencerHandle>,
    sequencer_thread: Option<std::thread::JoinHandle<()>>,
    /// The relay's own threads: the door and the sinks never share a
    /// thread with the engine and the poller, so a burst of results never
    /// delays a health check (and a slow check never delays a result).
    runtime: Option<tokio::runtime::Runtime>,
}

/// Worker threads of the relay's runtime (the door, the sinks, the
/// reporter); the sequencer has a thread of its own besides.
pub const THREADS: usize = 2;

/// A runtime of `threads` workers named `name`, for a part that must not
/// share the caller's threads.
pub fn own_runtime(name: &str, threads: usize) -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .thread_name(name)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the {name} threads: {e}"))
}

impl Drop for RelayService {
    fn drop(&mut self) {
        // Dropping a runtime may block: never on the caller's runtime.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Where the relay keeps its files under the data folder.
pub fn folder(data_dir: &Path) -> PathBuf {
    data_dir.join("relay")
}

impl RelayService {
    /// Starts the relay of `relay` with the sources' tokens (`(source id,
    /// token)`), keeping its journal, dedup checkpoint, cursors, control
    /// state and quarantine under `data_dir/relay`. Must be called inside
    /// a Tokio runtime. Fails, saying why, when the journal or the dedup
    /// checkpoint cannot be read (nothing kept is ever thrown away to
    /// start) or the address cannot be bound.
    pub fn start(
        relay: &Relay,
        inventory: &Inventory,
        data_dir: &Path,
        tokens: Vec<(String, String)>,
    ) -> Result<RelayService, String> {
        let runtime = own_runtime("relay", THREADS)?;
        // Everything spawned from here on runs on the relay's threads.
        let entered = runtime.enter();
        let dir = folder(data_dir);
        let (journal, dedup, covered) = open_journal(relay, &dir)?;
        let log: Arc<dyn Log> = journal.clone();
        let checkpoint = dir.join("dedup.ckpt");
        let (control, warnings) = ControlHandle::open(relay, &inventory.feeds, Some(data_dir));
        for w in warnings {
            tracing::warn!("relay: {w}");
        }
        let control = Arc::new(control);
        let standby_rx = control.subscribe();
        let standby: sequencer::StandbyRule = Arc::new(move |source, _header| {
            let c = standby_rx.borrow();
            c.standby(source, c.feed_of(source))
        });
        let counts = Arc::new(Stats::default());
        let (seq, seq_thread) = sequencer::spawn(
            Arc::clone(&log),
            dedup,
            covered,
            SequencerOptions::new(checkpoint),
            standby,
            Arc::clone(&counts),
        )
        .map_err(|e| format!("cannot start the relay's sequencer thread: {e}"))?;
        let quarantine = Arc::new(Quarantine::new(
            dir.join("quarantine"),
            QUARANTINE_FILES,
            QUARANTINE_BYTES,
        ));
        let door = Arc::new(IngestState::new(
            tokens
                .into_iter()
                .map(|(s, t)| (s, t.into_bytes()))
                .collect(),
            relay.max_message,
            seq.clone(),
            quarantine,
            Arc::clone(&counts),
        ));
        let (listener, addr) = bind(relay.listen)?;
        let sinks = Arc::new(spawn_sinks(relay, &log, &control.subscribe()));
        let (stop, stop_rx) = watch::channel(false);
        let server = tokio::spawn(serve(listener, ingest::router(door), stop_rx.clone()));
        let first = Arc::new(RelayStatus {
            listen: addr.to_string(),
            fsync: relay.fsync,
            ..RelayStatus::default()
        });
        let (published, status) = watch::channel(first);
        let reporter = Reporter {
            addr,
            fsync: relay.fsync,
            sources: relay
                .sources
                .iter()
                .map(|s| {
                    let feed = s
                        .feed
                        .and_then(|f| inventory.feeds.get(f))
                        .map(|f| f.id.clone());
                    (s.id.clone(), feed)
                })
                .collect(),
            log: Arc::clone(&journal),
            stats: counts,
            control: Arc::clone(&control),
            sinks: Arc::clone(&sinks),
            last: HashMap::new(),
        };
        let reporter = tokio::spawn(reporter.run(published, stop_rx));
        tracing::info!("relay: POST /odf on {addr}; {} sinks", relay.sinks.len());
        drop(entered);
        Ok(RelayService {
            addr,
            status,
            control,
            log: journal,
            stop,
            server,
            reporter,
            sinks,
            sequencer: Some(seq),
            sequencer_thread: Some(seq_thread),
            runtime: Some(runtime),
        })
    }

    /// Where `POST /odf` listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The status, published every [`REPORT_EVERY`].
    pub fn status(&self) -> watch::Receiver<Arc<RelayStatus>> {
        self.status.clone()
    }

    /// The reroute port the engine applies operators' commands through.
    pub fn control(&self) -> Arc<dyn RelayControl> {
        Arc::new(ControlPort(Arc::clone(&self.control)))
    }

    /// The journal (for tests and benchmarks).
    pub fn journal(&self) -> Arc<Journal> {
        Arc::clone(&self.log)
    }

    /// A TCP sink's listening address, once bound.
    pub async fn tcp_sink_addr(&self, sink: &str) -> Option<SocketAddr> {
        let handle = self.sinks.iter().find(|s| s.id() == sink)?;
        handle.tcp_addr().await
    }

    /// Drains and stops: no new message is taken, those in flight are
    /// answered once durable, the sequencer writes its last checkpoint,
    /// each sink saves its cursor.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        let _ = (&mut self.server).await;
        self.sequencer.take();
        if let Some(t) = self.sequencer_thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
        self.reporter.abort();
        let _ = (&mut self.reporter).await;
        if let Ok(sinks) = Arc::try_unwrap(std::mem::take(&mut self.sinks)) {
            for s in sinks {
                s.stop().await;
            }
        }
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
        tracing::info!("relay stopped");
    }
}

/// The door's listener, bound now (port 0: any free port).
fn bind(listen: SocketAddr) -> Result<(tokio::net::TcpListener, SocketAddr), String> {
    let listener = std::net::TcpListener::bind(listen)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .and_then(tokio::net::TcpListener::from_std)
        .map_err(|e| format!("relay: cannot listen on {listen}: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("relay: no local address: {e}"))?;
    Ok((listener, addr))
}

/// Opens the journal under `dir` (cutting a torn tail) and rebuilds the
/// dedup state from its checkpoint and the records after it.
fn open_journal(relay: &Relay, dir: &Path) -> Result<(Arc<Journal>, Dedup, u64), String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create the relay folder {}: {e}", dir.display()))?;
    let options = JournalOptions {
        segment_size: relay.segment_size,
        fsync: relay.fsync,
    };
    let journal_dir = dir.join("journal");
    let (journal, report) = Journal::open(&journal_dir, options)
        .map_err(|e| format!("relay journal {}: {e}", journal_dir.display()))?;
    tracing::info!(
        "relay journal {}: {} records in {} segments, {} bytes of torn tail cut, opened in {} ms",
        journal_dir.display(),
        report.records,
        report.segments,
        report.truncated_bytes,
        report.took.as_millis()
    );
    if !relay.fsync {
        tracing::warn!(
            "relay: fsync is off: a crash of the machine may lose messages already acknowledged"
        );
    }
    let checkpoint = dir.join("dedup.ckpt");
    let (dedup, covered) = Dedup::rebuild(&checkpoint, &journal)
        .map_err(|e| format!("relay dedup state {}: {e}", checkpoint.display()))?;
    tracing::info!("relay dedup: {} documents, up to #{covered}", dedup.len());
    Ok((Arc::new(journal), dedup, covered))
}

/// Serves the door until `stop` says so, then lets requests in flight
/// finish.
async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    mut stop: watch::Receiver<bool>,
) {
    let shutdown = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    if let Err(e) = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
    {
        tracing::error!("relay: the door failed: {e}");
    }
}

/// The engine's port: reroutes applied by the control handle (one swap,
/// saved to `control.json`).
#[derive(Debug)]
struct ControlPort(Arc<ControlHandle>);

impl RelayControl for ControlPort {
    fn check(&self, command: &RelayCommand) -> Result<String, String> {
        self.0.current().applied(command).map(|(_, done)| done)
    }

    fn apply(&self, command: &RelayCommand) -> Result<String, String> {
        self.0.apply(command)
    }
}

/// Publishes the status every second.
struct Reporter {
    addr: SocketAddr,
    fsync: bool,
    /// Source id and its feed id, in file order.
    sources: Vec<(String, Option<String>)>,
    log: Arc<Journal>,
    stats: Arc<Stats>,
    control: Arc<ControlHandle>,
    sinks: Arc<Vec<SinkHandle>>,
    /// Each source's message count and when it was read, for its rate.
    last: HashMap<String, (u64, Instant)>,
}

impl Reporter {
    async fn run(mut self, tx: watch::Sender<Arc<RelayStatus>>, mut stop: watch::Receiver<bool>) {
        let mut every = tokio::time::interval(REPORT_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = every.tick() => {}
                _ = stop.wait_for(|s| *s) => break,
            }
            let status = self.report();
            tx.send_replace(Arc::new(status));
        }
    }

    fn report(&mut self) -> RelayStatus {
        let now = Instant::now();
        let stats = self.stats.snapshot();
        let control = self.control.current();
        let sources = self
            .sources
            .iter()
            .map(|(id, feed)| {
                let s = stats.sources.get(id).copied().unwrap_or_default();
                let c = s.counts;
                let total =
                    c.forwarded + c.duplicate + c.stale + c.quarantined + c.standby + c.keepalive;
                let rate = match self.last.insert(id.clone(), (total, now)) {
                    Some((before, at)) => {
                        let secs = now.duration_since(at).as_secs_f64();
                        if secs > 0.0 {
                            #[allow(clippy::cast_precision_loss)]
                            let n = total.saturating_sub(before) as f64;
                            n / secs
                        } else {
                            0.0
                        }
                    }
                    None => 0.0,
                };
                SourceStatus {
                    id: id.clone(),
                    feed: feed.clone(),
                    rate,
                    last: s.last,
                    counts: c,
                }
            })
            .collect();
        RelayStatus {
            at: Some(SystemTime::now()),
            listen: self.addr.to_string(),
            fsync: self.fsync,
            head: self.log.head(),
            first: self.log.first(),
            journal_bytes: self.log.bytes(),
            journal_failing: stats.journal_failing,
            quarantined: stats.quarantined,
            sources,
            sinks: self.sinks.iter().map(SinkHandle::status).collect(),
            active: control.active(),
            routes: control.route_status(),
            tail: stats.tail,
        }
    }
}
