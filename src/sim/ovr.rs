//! Simulated results systems (OVR): for each venue feed a primary and a
//! backup source that `POST` the same ODF messages to the relay's
//! `/odf` with their own bearer token, the backup a few milliseconds
//! later, so the relay sees every (document, version) twice.
//!
//! The hook for `toc demo` and `toc serve` tests:
//!
//! ```text
//! let feeds = ovr::feeds(&inventory, &tokens);          // from [relay]
//! let (stop, cancel) = tokio::sync::watch::channel(false);
//! let handle = ovr::start(OvrOptions { url, state: Some(sim_state), ..Default::default() },
//!                         feeds, &cancel);
//! ... handle.stats() ...                                // per source
//! stop.send(true); handle.join().await;
//! ```
//!
//! Faults come from the simulator's fault state ([`SimState`]) of the
//! source's device: `down` (or the venue's `uplink-down`, `flapping`)
//! silences a source, `slow D` makes it lag by D, `corrupt` makes every
//! fifth message broken XML, `dup-storm` re-posts its recent messages in a
//! burst after each new one.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::faults::SimState;
use super::odfgen::{DocKey, OdfMessage, UnitPlan, discipline, keepalive};
use crate::config::Inventory;

/// Messages a source holds while it lags; more are dropped and counted.
const QUEUE: usize = 4096;
/// How many recent messages a duplicate storm re-posts.
const STORM: usize = 20;
/// How long a first-post time is kept for the consumers' latency.
const LEDGER_KEEP: Duration = Duration::from_secs(600);

/// One source: a results server with its token.
#[derive(Debug, Clone)]
pub struct OvrSource {
    /// Its id in `[[relay.sources]]` (a device id in the demo).
    pub id: String,
    /// Its bearer token.
    pub token: String,
}

/// A venue feed's two sources and what they report on.
#[derive(Debug, Clone)]
pub struct OvrFeed {
    /// The feed id.
    pub feed: String,
    /// The venue's sports (the disciplines of its documents).
    pub sports: Vec<String>,
    /// Posts first.
    pub primary: OvrSource,
    /// Posts the same messages `backup_lag` later.
    pub backup: OvrSource,
}

/// The feeds of `[relay]` whose primary and backup both have a source and
/// a token in `tokens` (`(source id, token)`, as from
/// [`crate::config::venues::Relay::tokens`]).
pub fn feeds(inventory: &Inventory, tokens: &[(String, String)]) -> Vec<OvrFeed> {
    let token = |id: &str| {
        tokens
            .iter()
            .find(|(s, _)| s == id)
            .map(|(_, t)| OvrSource {
                id: id.to_owned(),
                token: t.clone(),
            })
    };
    let Some(relay) = &inventory.relay else {
        return Vec::new();
    };
    inventory
        .feeds
        .iter()
        .filter_map(|f| {
            let id_of = |d: crate::model::topology::DeviceIdx| {
                inventory.devices.get(d.0).map(|d| d.id.clone())
            };
            let (p, b) = (id_of(f.primary)?, id_of(f.backup)?);
            relay.source(&p)?;
            relay.source(&b)?;
            Some(OvrFeed {
                feed: f.id.clone(),
                sports: inventory
                    .venues
                    .get(f.venue.0)
                    .map(|v| v.sports.clone())
                    .unwrap_or_default(),
                primary: token(&p)?,
                backup: token(&b)?,
            })
        })
        .collect()
}

/// When each (document, version) was first posted by any source: the
/// start of the end-to-end latency the consumers measure.
#[derive(Debug, Default)]
pub struct Ledger {
    first: Mutex<HashMap<(DocKey, u64), Instant>>,
}

impl Ledger {
    /// Notes a post, unless one came before.
    pub fn record(&self, key: &DocKey, version: u64) {
        let now = Instant::now();
        let mut m = self.first.lock().unwrap_or_else(PoisonError::into_inner);
        if m.len() > 100_000 {
            m.retain(|_, t| now.duration_since(*t) < LEDGER_KEEP);
        }
        m.entry((key.clone(), version)).or_insert(now);
    }

    /// When it was first posted.
    pub fn first_posted(&self, key: &DocKey, version: u64) -> Option<Instant> {
        let m = self.first.lock().unwrap_or_else(PoisonError::into_inner);
        m.get(&(key.clone(), version)).copied()
    }
}

/// How the sources run.
#[derive(Debug, Clone)]
pub struct OvrOptions {
    /// The relay's ingest URL (`http://127.0.0.1:8650/odf`).
    pub url: String,
    /// Messages per second per venue (keep-alives aside).
    pub rate: f64,
    /// Between two keep-alives of a source.
    pub keepalive: Duration,
    /// How much later the backup posts than the primary.
    pub backup_lag: Duration,
    /// The simulator's faults, looked up by source id; `None`: no faults.
    pub state: Option<Arc<SimState>>,
    /// Where first posts are noted for the consumers.
    pub ledger: Arc<Ledger>,
}

impl Default for OvrOptions {
    fn default() -> Self {
        OvrOptions {
            url: "http://127.0.0.1:8650/odf".to_owned(),
            rate: 3.0,
            keepalive: Duration::from_secs(3),
            backup_lag: Duration::from_millis(5),
            state: None,
            ledger: Arc::new(Ledger::default()),
        }
    }
}

/// Counts of one source since start.
#[derive(Debug, Default)]
struct Counters {
    posted: AtomicU64,
    accepted: AtomicU64,
    refused: AtomicU64,
    failed: AtomicU64,
    silenced: AtomicU64,
    dropped: AtomicU64,
    keepalives: AtomicU64,
    corrupt: AtomicU64,
}

/// A snapshot of one source's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceStats {
    /// The source id.
    pub id: String,
    /// Requests sent (keep-alives, repeats and broken ones included).
    pub posted: u64,
    /// Answered 2xx.
    pub accepted: u64,
    /// Answered otherwise.
    pub refused: u64,
    /// No answer (connection refused, timeout).
    pub failed: u64,
    /// Not sent because the source's device is silent (`down`).
    pub silenced: u64,
    /// Not sent because the source lagged too far behind.
    pub dropped: u64,
    /// Keep-alives sent.
    pub keepalives: u64,
    /// Broken messages sent (`corrupt`).
    pub corrupt: u64,
}

/// The running sources.
#[derive(Debug)]
pub struct OvrHandle {
    counters: Vec<(String, Arc<Counters>)>,
    tasks: Vec<JoinHandle<()>>,
    ledger: Arc<Ledger>,
}

impl OvrHandle {
    /// Each source's counts, primary then backup, feed by feed.
    pub fn stats(&self) -> Vec<SourceStats> {
        self.counters
            .iter()
            .map(|(id, c)| SourceStats {
                id: id.clone(),
                posted: c.posted.load(Ordering::Relaxed),
                accepted: c.accepted.load(Ordering::Relaxed),
                refused: c.refused.load(Ordering::Relaxed),
                failed: c.failed.load(Ordering::Relaxed),
                silenced: c.silenced.load(Ordering::Relaxed),
                dropped: c.dropped.load(Ordering::Relaxed),
                keepalives: c.keepalives.load(Ordering::Relaxed),
                corrupt: c.corrupt.load(Ordering::Relaxed),
            })
            .collect()
    }

    /// The first-post ledger the consumers read.
    pub fn ledger(&self) -> Arc<Ledger> {
        Arc::clone(&self.ledger)
    }

    /// Waits for every task to end (after the cancellation is set).
    pub async fn join(mut self) {
        for t in std::mem::take(&mut self.tasks) {
            let _ = t.await;
        }
    }
}

impl Drop for OvrHandle {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A message on its way to a source, with when it was made.
type Queued = (Arc<OdfMessage>, tokio::time::Instant);

/// Starts the sources of `feeds`; they run until `cancel` holds `true`
/// (or its sender is dropped).
pub fn start(
    options: OvrOptions,
    feeds: Vec<OvrFeed>,
    cancel: &watch::Receiver<bool>,
) -> OvrHandle {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(64)
        .build()
        .unwrap_or_default();
    let options = Arc::new(options);
    let mut counters = Vec::new();
    let mut tasks = Vec::new();
    for (n, f) in feeds.into_iter().enumerate() {
        let disc = f
            .sports
            .first()
            .map_or_else(|| "ATH".to_owned(), |s| discipline(s));
        let mut senders = Vec::new();
        for (src, lag) in [(f.primary, Duration::ZERO), (f.backup, options.backup_lag)] {
            let (tx, rx) = mpsc::channel::<Queued>(QUEUE);
            let c = Arc::new(Counters::default());
            counters.push((src.id.clone(), Arc::clone(&c)));
            let poster = Poster {
                client: client.clone(),
                options: Arc::clone(&options),
                source: src,
                counters: Arc::clone(&c),
                lag,
                discipline: disc.clone(),
                recent: VecDeque::new(),
                sent: 0,
            };
            tasks.push(tokio::spawn(poster.run(rx, cancel.clone())));
            senders.push((tx, c));
        }
        let plan = UnitPlan::new(&f.sports, &format!("OVR-{}", f.feed), n as u64 + 1);
        tasks.push(tokio::spawn(generate(
            plan,
            options.rate,
            senders,
            cancel.clone(),
        )));
    }
    OvrHandle {
        counters,
        tasks,
        ledger: Arc::clone(&options.ledger),
    }
}

/// Makes a venue's messages at `rate` and hands each to both sources.
async fn generate(
    mut plan: UnitPlan,
    rate: f64,
    senders: Vec<(mpsc::Sender<Queued>, Arc<Counters>)>,
    mut cancel: watch::Receiver<bool>,
) {
    let period = Duration::from_secs_f64(1.0 / rate.clamp(0.01, 100_000.0));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            r = cancel.changed() => if r.is_err() || *cancel.borrow() { return },
        }
        let msg = Arc::new(plan.next_message());
        let made = tokio::time::Instant::now();
        for (tx, c) in &senders {
            if tx.try_send((Arc::clone(&msg), made)).is_err() {
                c.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// One source posting in order.
struct Poster {
    client: reqwest::Client,
    options: Arc<OvrOptions>,
    source: OvrSource,
    counters: Arc<Counters>,
    lag: Duration,
    discipline: String,
    /// Recent messages, for a duplicate storm.
    recent: VecDeque<Arc<OdfMessage>>,
    /// Messages sent, for `corrupt`'s every fifth.
    sent: u64,
}

/// What the fault state says of a source now.
#[derive(Debug, Default)]
struct Behaviour {
    silent: bool,
    delay: Duration,
    corrupt: bool,
    storm: bool,
}

impl Poster {
    async fn run(mut self, mut rx: mpsc::Receiver<Queued>, mut cancel: watch::Receiver<bool>) {
        let mut ka = tokio::time::interval(self.options.keepalive);
        ka.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut ka_version = 0;
        loop {
            tokio::select! {
                r = cancel.changed() => if r.is_err() || *cancel.borrow() { return },
                _ = ka.tick() => {
                    ka_version += 1;
                    let msg = keepalive(&self.discipline, &self.source.id, ka_version);
                    if self.behaviour().silent {
                        self.counters.silenced.fetch_add(1, Ordering::Relaxed);
                    } else {
                        self.counters.keepalives.fetch_add(1, Ordering::Relaxed);
                        self.post(msg.body).await;
                    }
                }
                m = rx.recv() => {
                    let Some((msg, made)) = m else { return };
                    tokio::time::sleep_until(made + self.lag).await;
                    self.send(msg).await;
                }
            }
        }
    }

    /// The device's faults now, when the simulator has one by this id.
    fn behaviour(&self) -> Behaviour {
        let Some(state) = &self.options.state else {
            return Behaviour::default();
        };
        let Some(idx) = state.device_index(&self.source.id) else {
            return Behaviour::default();
        };
        let v = state.view(idx, Instant::now());
        Behaviour {
            silent: v.silent,
            delay: v.delay,
            corrupt: v.results.corrupt,
            storm: v.results.dup_storm,
        }
    }

    /// Sends one message as the faults say.
    async fn send(&mut self, msg: Arc<OdfMessage>) {
        let b = self.behaviour();
        if b.silent {
            self.counters.silenced.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if !b.delay.is_zero() {
            tokio::time::sleep(b.delay).await;
        }
        self.sent += 1;
        if b.corrupt && self.sent.is_multiple_of(5) {
            self.counters.corrupt.fetch_add(1, Ordering::Relaxed);
            let mut broken = msg.body.clone();
            broken.truncate(broken.len() / 2);
            broken.extend_from_slice(b"<<&broken");
            self.post(broken).await;
        }
        self.options.ledger.record(&msg.key, msg.version);
        self.post(msg.body.clone()).await;
        if b.storm {
            let old: Vec<Arc<OdfMessage>> = self.recent.iter().cloned().collect();
            for m in old {
                self.post(m.body.clone()).await;
            }
        }
        self.recent.push_back(msg);
        if self.recent.len() > STORM {
            self.recent.pop_front();
        }
    }

    /// One POST; the answer is counted.
    async fn post(&self, body: Vec<u8>) {
        self.counters.posted.fetch_add(1, Ordering::Relaxed);
        let r = self
            .client
            .post(&self.options.url)
            .bearer_auth(&self.source.token)
            .header(reqwest::header::CONTENT_TYPE, "application/xml")
            .body(body)
            .send()
            .await;
        let counter = match r {
            Ok(resp) if resp.status().is_success() => &self.counters.accepted,
            Ok(_) => &self.counters.refused,
            Err(_) => &self.counters.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}
