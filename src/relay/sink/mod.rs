//! Delivery from the journal to the sinks: one tokio task per sink reads
//! batches from its own cursor, skips what no route sends it, and
//! delivers the rest in order, retrying with backoff when its consumer
//! does not take a message. A slow or dead sink holds one read batch in
//! memory at most; its backlog stays in the journal, and neither ingest
//! nor the other sinks wait for it.
//!
//! The cursor (the next sequence number to deliver) is saved in the
//! journal at most every [`SAVE_EVERY`] and when the sink stops, so after
//! a crash a sink may get the last few messages again: exact repeats of
//! the same (document, version), in the same order, never a reorder or a
//! gap. A sink that has no saved cursor (a new one) starts at the journal
//! head: it gets what is journaled from then on, not the history (replay
//! gives that).

mod file;
mod http;
mod tcp;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use hyper::body::Bytes;
use rand::Rng as _;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::venues::{Relay, RelaySink, SinkKind};
use crate::model::relay::{ReplayFrom, SinkState, SinkStatus};

use super::control::Control;
use super::envelope::Envelope;
use super::journal::{JournalError, Log, Stored};
use super::metrics::{SinkMetrics, Summary};

pub use file::file_name;
pub use tcp::frame;

/// How often, at most, a sink saves its cursor while it moves.
pub const SAVE_EVERY: Duration = Duration::from_millis(100);

/// One sink to run.
#[derive(Debug, Clone)]
pub struct SinkSpec {
    /// Its index in `[[relay.sinks]]` (what routes name).
    pub index: usize,
    /// Its id (also its cursor's name in the journal).
    pub id: String,
    /// Where it delivers.
    pub kind: SinkKind,
    /// Its consumer class.
    pub consumer: String,
    /// That class's latency objective.
    pub slo: Duration,
    /// Whether the file sink syncs each file before it counts as
    /// delivered (the relay's `fsync`).
    pub fsync: bool,
    /// The most records one read takes.
    pub batch_records: usize,
    /// About the most bytes one read takes (always at least one record).
    pub batch_bytes: usize,
}

impl SinkSpec {
    /// The spec of `[[relay.sinks]]` entry `index`.
    pub fn from_config(index: usize, sink: &RelaySink, fsync: bool) -> SinkSpec {
        SinkSpec {
            index,
            id: sink.id.clone(),
            kind: sink.kind.clone(),
            consumer: sink.consumer.clone(),
            slo: sink.slo,
            fsync,
            batch_records: 256,
            batch_bytes: 4 << 20,
        }
    }
}

/// What one delivery attempt came to.
#[derive(Debug)]
enum Attempt {
    /// The consumer has it.
    Done,
    /// The consumer refuses it for good: counted, logged, passed.
    Refused(String),
    /// Not now: retry after a backoff, in order.
    Retry(String),
}

/// Exponential backoff with jitter: 50 ms doubling to 5 s; each delay is
/// between half and all of its step.
#[derive(Debug, Clone)]
pub struct Backoff {
    step: Duration,
}

impl Backoff {
    /// The first step.
    pub const FIRST: Duration = Duration::from_millis(50);
    /// The largest step.
    pub const MAX: Duration = Duration::from_secs(5);

    /// A backoff at its first step.
    pub fn new() -> Backoff {
        Backoff { step: Self::FIRST }
    }

    /// The step the next delay is drawn from.
    pub fn step(&self) -> Duration {
        self.step
    }

    /// The next delay.
    pub fn next_delay(&mut self) -> Duration {
        let step = self.step;
        self.step = (step * 2).min(Self::MAX);
        let half = step / 2;
        let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        half + Duration::from_nanos(rand::rng().random_range(0..=nanos))
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new()
    }
}

/// Where a sink delivers.
#[derive(Debug)]
enum Deliverer {
    Http(http::HttpSink),
    Tcp(tcp::TcpSink),
    File(file::FileSink),
}

impl Deliverer {
    async fn deliver(&mut self, seq: u64, env: &Envelope, body: &Bytes) -> Attempt {
        match self {
            Deliverer::Http(s) => s.deliver(seq, env, body).await,
            Deliverer::Tcp(s) => s.deliver(body).await,
            Deliverer::File(s) => s.deliver(seq, env, body).await,
        }
    }

    /// Resolves when a retry may succeed before its backoff ends (a TCP
    /// subscriber connected); never for the others.
    async fn ready(&mut self) {
        match self {
            Deliverer::Tcp(s) => s.ready().await,
            Deliverer::Http(_) | Deliverer::File(_) => std::future::pending().await,
        }
    }
}

/// What the task and its handle share.
#[derive(Debug)]
struct Shared {
    spec: SinkSpec,
    log: Arc<dyn Log>,
    cursor: AtomicU64,
    state: Mutex<(SinkState, Option<String>)>,
    metrics: Mutex<SinkMetrics>,
    reads: AtomicU64,
    bytes_read: AtomicU64,
}

impl Shared {
    fn set_state(&self, state: SinkState, error: Option<String>) {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if s.0 != state || s.1 != error {
            if let Some(e) = error.as_ref().filter(|e| s.1.as_ref() != Some(*e)) {
                tracing::warn!(sink = %self.spec.id, "sink failing: {e}");
            }
            *s = (state, error);
        }
    }

    fn metrics(&self) -> std::sync::MutexGuard<'_, SinkMetrics> {
        self.metrics.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running sink.
#[derive(Debug)]
pub struct SinkHandle {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    listening: watch::Receiver<Option<SocketAddr>>,
}

impl SinkHandle {
    /// The sink's id.
    pub fn id(&self) -> &str {
        &self.shared.spec.id
    }

    /// How it is doing.
    pub fn status(&self) -> SinkStatus {
        let spec = &self.shared.spec;
        let (state, error) = self
            .shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let cursor = self.shared.cursor.load(Ordering::Acquire);
        let m = self.summary();
        SinkStatus {
            id: spec.id.clone(),
            kind: spec.kind.name().to_owned(),
            consumer: spec.consumer.clone(),
            slo: spec.slo,
            state,
            error,
            cursor,
            backlog: self.shared.log.head().saturating_sub(cursor),
            rate: m.rate,
            delivered: m.delivered,
            p50: m.p50,
            p99: m.p99,
        }
    }

    /// Its metrics now (with p99.9, max and refusals).
    pub fn summary(&self) -> Summary {
        self.shared.metrics().summary(Instant::now())
    }

    /// How many reads it made of the journal and how many bytes they
    /// returned, since start.
    pub fn reads(&self) -> (u64, u64) {
        (
            self.shared.reads.load(Ordering::Relaxed),
            self.shared.bytes_read.load(Ordering::Relaxed),
        )
    }

    /// A TCP sink's listening address, once bound (`None` for other
    /// kinds, or when it stopped first).
    pub async fn tcp_addr(&self) -> Option<SocketAddr> {
        if !matches!(self.shared.spec.kind, SinkKind::Tcp { .. }) {
            return None;
        }
        let mut rx = self.listening.clone();
        let found = rx.wait_for(Option::is_some).await.ok()?;
        *found
    }

    /// Ends the task at once without saving its cursor, as a crash
    /// would (the next start goes on from the last saved cursor).
    pub async fn abort(self) {
        self.task.abort();
        let _ = self.task.await;
    }

    /// Stops the sink after the message in hand (not waiting out a retry)
    /// and saves its cursor.
    pub async fn stop(self) {
        self.stop.send_replace(true);
        if let Err(e) = self.task.await {
            tracing::error!(sink = %self.shared.spec.id, "sink task ended badly: {e}");
        }
    }
}

/// Starts a sink: its task reads from its saved cursor and delivers what
/// the routes in force send it. A new sink (no saved cursor) starts at
/// the journal head as it is *now*, and that start is saved here, before
/// this returns (one small synchronous write, once per new sink): what is
/// journaled after the spawn is the sink's even if its task runs later,
/// and a crash before the first periodic save cannot move it past
/// messages already acknowledged.
pub fn spawn_sink(
    spec: SinkSpec,
    log: Arc<dyn Log>,
    control: watch::Receiver<Arc<Control>>,
) -> SinkHandle {
    let (stop, stop_rx) = watch::channel(false);
    let (listening_tx, listening) = watch::channel(None);
    let (start, saved) = start_cursor(&spec.id, log.as_ref());
    let shared = Arc::new(Shared {
        cursor: AtomicU64::new(start),
        state: Mutex::new((SinkState::Running, None)),
        metrics: Mutex::new(SinkMetrics::new(Instant::now())),
        reads: AtomicU64::new(0),
        bytes_read: AtomicU64::new(0),
        spec,
        log,
    });
    let deliverer = match &shared.spec.kind {
        SinkKind::Http { url } => Deliverer::Http(http::HttpSink::new(url)),
        SinkKind::Tcp { listen } => {
            Deliverer::Tcp(tcp::TcpSink::new(*listen, &shared.spec.id, listening_tx))
        }
        SinkKind::File { dir } => {
            Deliverer::File(file::FileSink::new(dir.clone(), shared.spec.fsync))
        }
    };
    let task = Task {
        shared: Arc::clone(&shared),
        control,
        stop: stop_rx,
        deliverer,
        cursor: start,
        saved,
        generation: 0,
    };
    SinkHandle {
        shared,
        stop,
        task: tokio::spawn(task.run()),
        listening,
    }
}

/// Where a sink starts, and its cursor on disk: its saved cursor, or for
/// a new sink the journal head now, saved at once (when that save fails
/// the periodic saver tries again).
fn start_cursor(id: &str, log: &dyn Log) -> (u64, Option<u64>) {
    if let Some(c) = log.cursor(id) {
        return (c, Some(c));
    }
    let head = log.head();
    tracing::info!(sink = %id, "new sink: starts at the journal head, #{head}");
    match log.set_cursor(id, head) {
        Ok(()) => (head, Some(head)),
        Err(e) => {
            tracing::warn!(sink = %id, "cannot save the new sink's cursor yet: {e}");
            (head, None)
        }
    }
}

/// Starts every sink of `[relay]`, in file order (so a sink's index in
/// the vector is its index in the routes). Start them before ingest
/// takes messages: a new sink starts at the journal head.
pub fn spawn_sinks(
    relay: &Relay,
    log: &Arc<dyn Log>,
    control: &watch::Receiver<Arc<Control>>,
) -> Vec<SinkHandle> {
    relay
        .sinks
        .iter()
        .enumerate()
        .map(|(i, s)| {
            spawn_sink(
                SinkSpec::from_config(i, s, relay.fsync),
                Arc::clone(log),
                control.clone(),
            )
        })
        .collect()
}

/// Why a delivery loop gave up on the message in hand.
enum Interrupted {
    /// Stop asked.
    Stop,
    /// The control state changed (pause, replay, a route): look again.
    Control,
}

struct Task {
    shared: Arc<Shared>,
    control: watch::Receiver<Arc<Control>>,
    stop: watch::Receiver<bool>,
    deliverer: Deliverer,
    cursor: u64,
    /// The cursor on disk when the task was spawned.
    saved: Option<u64>,
    generation: u64,
}

impl Task {
    fn id(&self) -> &str {
        &self.shared.spec.id
    }

    fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Log) -> Result<T, JournalError> + Send + 'static,
    ) -> Result<T, JournalError> {
        let log = Arc::clone(&self.shared.log);
        tokio::task::spawn_blocking(move || f(log.as_ref()))
            .await
            .unwrap_or_else(|e| Err(JournalError::Io(format!("journal task: {e}"))))
    }

    async fn run(mut self) {
        let saved = self.saved;
        self.generation = self
            .control
            .borrow()
            .replay(self.shared.spec.index)
            .generation;
        let (done_tx, done_rx) = oneshot::channel();
        let saving = tokio::spawn(saver(Arc::clone(&self.shared), saved, done_rx));
        self.deliver_loop().await;
        let _ = done_tx.send(());
        if let Err(e) = saving.await {
            tracing::error!(sink = %self.id(), "cursor saver ended badly: {e}");
        }
    }

    async fn deliver_loop(&mut self) {
        let mut head = self.shared.log.watch_head();
        let mut read_backoff = Backoff::new();
        let index = self.shared.spec.index;
        while !self.stopping() {
            let control = Arc::clone(&self.control.borrow_and_update());
            let replay = control.replay(index);
            if replay.generation != self.generation {
                self.generation = replay.generation;
                if let Some(from) = replay.from {
                    self.replay(from).await;
                }
                continue;
            }
            if control.paused(index) {
                self.shared.set_state(SinkState::Paused, None);
                tokio::select! {
                    _ = self.control.changed() => {}
                    _ = self.stop.changed() => {}
                }
                continue;
            }
            if self.cursor >= *head.borrow_and_update() {
                self.idle();
                tokio::select! {
                    r = head.changed() => if r.is_err() { return },
                    _ = self.control.changed() => {}
                    _ = self.stop.changed() => {}
                }
                continue;
            }
            let batch = match self.read().await {
                Ok(batch) => {
                    read_backoff = Backoff::new();
                    batch
                }
                Err(JournalError::Gone { first }) => {
                    tracing::warn!(
                        sink = %self.id(),
                        "messages #{}..#{first} are no longer in the journal; going on from #{first}",
                        self.cursor
                    );
                    self.move_cursor(first);
                    continue;
                }
                Err(e) => {
                    self.shared
                        .set_state(SinkState::Failing, Some(e.to_string()));
                    tokio::select! {
                        () = tokio::time::sleep(read_backoff.next_delay()) => {}
                        _ = self.stop.changed() => {}
                    }
                    continue;
                }
            };
            if let Err(Interrupted::Stop) = self.deliver_batch(batch, &control).await {
                return;
            }
        }
    }

    fn idle(&self) {
        let s = self
            .shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .0;
        if s != SinkState::Running {
            self.shared.set_state(SinkState::Running, None);
        }
    }

    fn move_cursor(&mut self, to: u64) {
        self.cursor = to;
        self.shared.cursor.store(to, Ordering::Release);
    }

    async fn read(&self) -> Result<Vec<Stored>, JournalError> {
        let (from, records, bytes) = (
            self.cursor,
            self.shared.spec.batch_records,
            self.shared.spec.batch_bytes,
        );
        let batch = self
            .blocking(move |log| log.read(from, records, bytes))
            .await?;
        let n: usize = batch.iter().map(|r| r.data.len()).sum();
        self.shared.reads.fetch_add(1, Ordering::Relaxed);
        self.shared
            .bytes_read
            .fetch_add(n as u64, Ordering::Relaxed);
        Ok(batch)
    }

    async fn replay(&mut self, from: ReplayFrom) {
        let log = &self.shared.log;
        let (first, head) = (log.first(), log.head());
        let to = match from {
            ReplayFrom::Seq(n) if n < first => {
                tracing::warn!(sink = %self.id(), "replay from #{n}: the journal holds #{first} on; replaying from #{first}");
                first
            }
            ReplayFrom::Seq(n) => n.min(head),
            ReplayFrom::Time(t) => match self.blocking(move |log| log.seek_time(t)).await {
                Ok(n) => n.max(first),
                Err(e) => {
                    tracing::warn!(sink = %self.id(), "replay from a time: {e}; replaying from #{first}");
                    first
                }
            },
        };
        tracing::info!(sink = %self.id(), "replay: from #{to} (was at #{})", self.cursor);
        self.move_cursor(to);
    }

    /// Delivers a batch in order; stops early when the control state
    /// changes (the loop looks again, and reads again from the cursor).
    async fn deliver_batch(
        &mut self,
        batch: Vec<Stored>,
        control: &Control,
    ) -> Result<(), Interrupted> {
        let index = self.shared.spec.index;
        for record in batch {
            if self.stopping() {
                return Err(Interrupted::Stop);
            }
            if self.control.has_changed().unwrap_or(false) {
                return Err(Interrupted::Control);
            }
            let mut env = match Envelope::decode(&record.data) {
                Ok(env) => env,
                Err(e) => {
                    tracing::error!(sink = %self.id(), seq = record.seq, "skipped: {e}");
                    self.move_cursor(record.seq + 1);
                    continue;
                }
            };
            if control.routes_to(index, &env.header, &env.source) {
                let body = Bytes::from(std::mem::take(&mut env.body));
                self.deliver(record.seq, &env, &body).await?;
            }
            self.move_cursor(record.seq + 1);
        }
        Ok(())
    }

    /// Delivers one message, retrying with backoff until it is taken or
    /// refused for good, or the loop is interrupted.
    async fn deliver(&mut self, seq: u64, env: &Envelope, body: &Bytes) -> Result<(), Interrupted> {
        let mut backoff = Backoff::new();
        loop {
            let attempt = tokio::select! {
                a = self.deliverer.deliver(seq, env, body) => a,
                _ = self.stop.changed() => return Err(Interrupted::Stop),
            };
            match attempt {
                Attempt::Done => {
                    let latency = SystemTime::now()
                        .duration_since(env.received)
                        .unwrap_or_default();
                    self.shared.metrics().delivered(Instant::now(), latency);
                    self.idle();
                    return Ok(());
                }
                Attempt::Refused(why) => {
                    tracing::warn!(sink = %self.id(), seq, doc = %env.header.key.document_code, version = env.header.version, "refused by the consumer: {why}");
                    self.shared.metrics().rejected();
                    self.idle();
                    return Ok(());
                }
                Attempt::Retry(why) => {
                    self.shared.metrics().retried();
                    self.shared.set_state(SinkState::Failing, Some(why));
                    tokio::select! {
                        () = tokio::time::sleep(backoff.next_delay()) => {}
                        () = self.deliverer.ready() => {}
                        _ = self.control.changed() => return Err(Interrupted::Control),
                        _ = self.stop.changed() => return Err(Interrupted::Stop),
                    }
                }
            }
        }
    }
}

/// Saves the cursor when it moved, at most every [`SAVE_EVERY`], and once
/// more when the task is done.
async fn saver(shared: Arc<Shared>, mut saved: Option<u64>, mut done: oneshot::Receiver<()>) {
    let mut tick = tokio::time::interval(SAVE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let last = tokio::select! {
            _ = tick.tick() => false,
            _ = &mut done => true,
        };
        let now = shared.cursor.load(Ordering::Acquire);
        if saved != Some(now) {
            let s = Arc::clone(&shared);
            let r = tokio::task::spawn_blocking(move || s.log.set_cursor(&s.spec.id, now)).await;
            match r {
                Ok(Ok(())) => saved = Some(now),
                Ok(Err(e)) => tracing::warn!(sink = %shared.spec.id, "cannot save the cursor: {e}"),
                Err(e) => tracing::warn!(sink = %shared.spec.id, "cannot save the cursor: {e}"),
            }
        }
        if last {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_50ms_to_5s_with_jitter_within_each_step() {
        let mut b = Backoff::new();
        let mut steps = Vec::new();
        for _ in 0..10 {
            let step = b.step();
            let d = b.next_delay();
            assert!(d >= step / 2 && d <= step, "{d:?} of {step:?}");
            steps.push(step.as_millis());
        }
        assert_eq!(
            steps,
            vec![50, 100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]
        );
    }

    #[test]
    fn backoff_delays_vary() {
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..20 {
            seen.insert(Backoff::new().next_delay());
        }
        assert!(seen.len() > 1, "no jitter: {seen:?}");
    }
}
