//! What both sides of the bench share: the messages, the open-loop
//! schedule, latency histograms and the table's cells.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Bytes;
use hdrhistogram::Histogram;
use toc::sim::odfgen::{DocKey, LIVE_STEPS, UnitPlan, read_header};

/// One sport each: 20 disciplines, so 20 competition units (and their
/// documents) are in progress at any time.
const SPORTS: [&str; 20] = [
    "Athletics",
    "Swimming",
    "Rugby",
    "Football",
    "Basketball",
    "Handball",
    "Volleyball",
    "Beach volleyball",
    "Tennis",
    "Judo",
    "Fencing",
    "Rowing",
    "Cycling track",
    "Equestrian",
    "Gymnastics",
    "Diving",
    "Archery",
    "Boxing",
    "Table tennis",
    "Wrestling",
];

/// One message of the mix: its body (2-8 KB of ODF) and its id (document
/// key and version, the `Nats-Msg-Id` on the JetStream side).
#[derive(Debug, Clone)]
pub struct Msg {
    pub body: Bytes,
    pub id: String,
}

/// The id of a (document, version).
pub fn msg_id(key: &DocKey, version: u64) -> String {
    format!(
        "{}.{}.{}.{}.{}.v{version}",
        key.competition_code,
        key.document_code,
        key.document_subcode,
        key.document_type,
        key.document_subtype
    )
}

/// `n` distinct messages, the simulator's results systems' mix
/// (`DT_RESULT` `START_LIST`..`OFFICIAL`, `DT_CURRENT`, `DT_PLAY_BY_PLAY`), versions ascending
/// per document. Competition units (20 disciplines) run side by side: step
/// 1 of every unit, then step 2 of every unit, and so on, so a document's
/// next version comes a whole round (thousands of messages, a good part
/// of a second) after the one before, as a results system posts them: a
/// version is acknowledged before the next is sent, even with the posts
/// sent open loop.
pub fn corpus(n: usize) -> Vec<Msg> {
    let steps = 3 + 3 * usize::try_from(LIVE_STEPS).unwrap_or(4);
    let per_plan = n.div_ceil(steps).div_ceil(SPORTS.len());
    let units: Vec<Vec<Msg>> = SPORTS
        .iter()
        .zip(1u64..)
        .flat_map(|(s, seed)| {
            let mut plan = UnitPlan::new(&[(*s).to_owned()], "OVR-BENCH", seed);
            (0..per_plan)
                .map(|_| {
                    (0..steps)
                        .map(|_| {
                            let m = plan.next_message();
                            Msg {
                                id: msg_id(&m.key, m.version),
                                body: Bytes::from(m.body),
                            }
                        })
                        .collect()
                })
                .collect::<Vec<Vec<Msg>>>()
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for step in 0..steps {
        for unit in &units {
            if out.len() < n {
                out.push(unit[step].clone());
            }
        }
    }
    out
}

/// Message id -> its index in the corpus.
pub fn index(corpus: &[Msg]) -> HashMap<String, usize> {
    corpus
        .iter()
        .enumerate()
        .map(|(i, m)| (m.id.clone(), i))
        .collect()
}

/// The open-loop schedule: message `i` is due at `start + i / rate`,
/// whatever happened to the ones before.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub start: Instant,
    pub start_sys: SystemTime,
    /// Distinct messages per second (each is posted by both sources).
    pub rate: f64,
}

impl Schedule {
    /// Starting shortly, so receivers can hold it before the first send.
    pub fn soon(rate: f64) -> Schedule {
        let lead = Duration::from_millis(50);
        Schedule {
            start: Instant::now() + lead,
            start_sys: SystemTime::now() + lead,
            rate,
        }
    }

    pub fn at(&self, i: usize) -> Instant {
        self.start + Duration::from_secs_f64(i as f64 / self.rate)
    }

    pub fn at_sys(&self, i: usize) -> SystemTime {
        self.start_sys + Duration::from_secs_f64(i as f64 / self.rate)
    }

    /// How many are due by `now`.
    fn due(&self, now: Instant) -> usize {
        match now.checked_duration_since(self.start) {
            Some(d) => (d.as_secs_f64() * self.rate) as usize + 1,
            None => 0,
        }
    }

    /// Calls `send(i)` for messages `0..n`, each at its time (to the
    /// timer's millisecond), never waiting for answers.
    pub async fn drive(&self, n: usize, mut send: impl FnMut(usize)) {
        let mut next = 0;
        while next < n {
            let due = self.due(Instant::now()).min(n);
            while next < due {
                send(next);
                next += 1;
            }
            tokio::time::sleep(Duration::from_micros(500)).await;
        }
    }
}

pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("constant bounds")
}

/// Records a latency in microseconds.
pub fn record(h: &mut Histogram<u64>, d: Duration) {
    let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
    h.saturating_record(us);
}

/// `p50/p99/p99.9` in milliseconds, or `-`.
pub fn pcts(h: &Histogram<u64>) -> String {
    if h.is_empty() {
        return "-".to_owned();
    }
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    format!("{:.2}/{:.2}/{:.2}", ms(0.5), ms(0.99), ms(0.999))
}

/// What the sources saw: answers, their latency from the scheduled send.
#[derive(Debug)]
pub struct Acks {
    pub sent: AtomicU64,
    pub ok: AtomicU64,
    pub duplicate: AtomicU64,
    /// Acknowledged as an older version after a newer one (toc only).
    pub stale: AtomicU64,
    pub failed: AtomicU64,
    pub latency: Mutex<Histogram<u64>>,
    pub last: Mutex<Option<Instant>>,
    /// The first failure, in words.
    pub error: Mutex<Option<String>>,
}

impl Default for Acks {
    fn default() -> Acks {
        Acks {
            sent: AtomicU64::new(0),
            ok: AtomicU64::new(0),
            duplicate: AtomicU64::new(0),
            stale: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            latency: Mutex::new(histogram()),
            last: Mutex::new(None),
            error: Mutex::new(None),
        }
    }
}

impl Acks {
    pub fn answered(&self) -> u64 {
        self.ok.load(Ordering::Relaxed)
            + self.duplicate.load(Ordering::Relaxed)
            + self.stale.load(Ordering::Relaxed)
            + self.failed.load(Ordering::Relaxed)
    }

    /// One answer to the message due at `due`.
    pub fn note(&self, ok: bool, duplicate: bool, due: Instant) {
        let now = Instant::now();
        if ok {
            record(
                &mut self.latency.lock().expect("acks"),
                now.saturating_duration_since(due),
            );
            *self.last.lock().expect("acks") = Some(now);
        }
        let counter = match (ok, duplicate) {
            (false, _) => &self.failed,
            (true, true) => &self.duplicate,
            (true, false) => &self.ok,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A failure: counted, and kept in words if it is the first.
    pub fn fail(&self, why: String) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        self.error.lock().expect("acks").get_or_insert(why);
    }

    /// Waits until every sent message is answered, or `limit` passes.
    pub async fn settle(&self, limit: Duration) {
        let until = Instant::now() + limit;
        while self.answered() < self.sent.load(Ordering::Relaxed) && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// What one consumer received: corpus index and time of receipt.
#[derive(Debug)]
pub struct Receipts {
    pub index: std::sync::Arc<HashMap<String, usize>>,
    pub got: Mutex<Vec<(usize, SystemTime)>>,
    pub unknown: AtomicU64,
    pub last: Mutex<Option<Instant>>,
}

impl Receipts {
    pub fn new(index: std::sync::Arc<HashMap<String, usize>>) -> Receipts {
        Receipts {
            index,
            got: Mutex::new(Vec::new()),
            unknown: AtomicU64::new(0),
            last: Mutex::new(None),
        }
    }

    pub fn count(&self) -> usize {
        self.got.lock().expect("receipts").len()
    }

    /// A message received now, known by its id.
    pub fn note_id(&self, id: &str) {
        let now = SystemTime::now();
        match self.index.get(id) {
            Some(&i) => {
                self.got.lock().expect("receipts").push((i, now));
                *self.last.lock().expect("receipts") = Some(Instant::now());
            }
            None => {
                self.unknown.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// A message received now, known by its ODF header.
    pub fn note_body(&self, body: &[u8]) {
        match read_header(body) {
            Some((key, version, _)) => self.note_id(&msg_id(&key, version)),
            None => {
                self.unknown.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub fn clear(&self) {
        self.got.lock().expect("receipts").clear();
    }

    /// Waits until `n` are here, or nothing came for `quiet`.
    pub async fn settle(&self, n: usize, quiet: Duration) {
        let mut seen = self.count();
        let mut since = Instant::now();
        while seen < n && since.elapsed() < quiet {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let now = self.count();
            if now != seen {
                seen = now;
                since = Instant::now();
            }
        }
    }

    /// Latency from the scheduled first post (end to end), and from
    /// `ingested[i]` (the time the system took the message) when known.
    pub fn latencies(
        &self,
        sched: &Schedule,
        ingested: &[Option<SystemTime>],
    ) -> (Histogram<u64>, Histogram<u64>) {
        let mut e2e = histogram();
        let mut added = histogram();
        for &(i, at) in self.got.lock().expect("receipts").iter() {
            record(
                &mut e2e,
                at.duration_since(sched.at_sys(i)).unwrap_or_default(),
            );
            if let Some(Some(t)) = ingested.get(i) {
                record(&mut added, at.duration_since(*t).unwrap_or_default());
            }
        }
        (e2e, added)
    }

    /// Messages per second from the schedule's start to the last receipt.
    pub fn rate(&self, sched: &Schedule) -> f64 {
        per_second(
            self.count() as u64,
            sched,
            *self.last.lock().expect("receipts"),
        )
    }
}

/// `n` over the time from the schedule's start to `last`.
pub fn per_second(n: u64, sched: &Schedule, last: Option<Instant>) -> f64 {
    match last.and_then(|l| l.checked_duration_since(sched.start)) {
        Some(d) if d > Duration::ZERO => n as f64 / d.as_secs_f64(),
        _ => 0.0,
    }
}

/// One row of the table.
#[derive(Debug, Default, Clone)]
pub struct Row {
    pub system: String,
    pub offered: f64,
    pub acked: f64,
    pub ack: String,
    /// Per consumer: name, msg/s, received, added p50/p99/p99.9, end to end.
    pub sinks: Vec<(String, f64, usize, String, String)>,
    pub note: String,
}

impl Row {
    pub fn print(&self) {
        println!(
            "{:<22} offered {:>7.0} posts/s  acked {:>7.0}/s  ack p50/p99/p99.9 ms {}{}",
            self.system,
            self.offered,
            self.acked,
            self.ack,
            if self.note.is_empty() {
                String::new()
            } else {
                format!("  ({})", self.note)
            }
        );
        for (name, rate, n, added, e2e) in &self.sinks {
            println!(
                "{:<22}   -> {name:<9} {rate:>7.0} msg/s ({n} msgs)  added p50/p99/p99.9 ms {added}  end-to-end {e2e}",
                ""
            );
        }
    }

    /// The slowest consumer's rate.
    pub fn forwarded(&self) -> f64 {
        self.sinks
            .iter()
            .map(|s| s.1)
            .fold(f64::INFINITY, f64::min)
            .min(f64::MAX)
    }
}

/// This process's resident set, in MiB.
pub fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
