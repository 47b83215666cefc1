//! The poll scheduler: checks every device at its own `poll_interval` and
//! sends each result to the engine as an [`Observation`].
//!
//! How it works:
//!
//! - **One small task per device**, sleeping on
//!   [`tokio::time::sleep_until`] between checks. A sleeping task costs a
//!   few hundred bytes and one entry in Tokio's timer wheel, so 10,000
//!   devices cost a few megabytes and no CPU while idle. This reads more
//!   plainly than one driver task with a timer queue, and a slow or dead
//!   device can only ever hold up its own task.
//! - **Spread start**: each device's first check falls at a random point
//!   within its first interval, so a whole Games of devices does not fire in
//!   the same millisecond when the console starts.
//! - **Fixed rate**: after that, checks are due every interval from that
//!   first point, whatever each check took, with a small random jitter
//!   (± `jitter` × interval) around each due time that does not add up over
//!   time. A check that overruns its next slot makes the device skip the
//!   slots it missed; missed checks are never queued up.
//! - **Concurrency limit**: at most `max_in_flight` checks run at once
//!   (a [`Semaphore`]). Waiting for a turn counts as lateness in the
//!   observation's `start_delay` and in the [`SchedulerStats`].
//! - **Safety net**: each check gets a budget of
//!   `timeout × (retries + 1) + grace`. A check still running at the end of
//!   its budget is abandoned and reported as `Fail("no answer within …")`,
//!   so one dead or slow target never holds its slot or a turn beyond it.
//!
//! Observations go out on a bounded channel; a consumer that falls behind
//! slows the devices down (their slots are skipped) rather than piling up
//! results in memory. When the receiving side is dropped, polling stops.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use rand::Rng as _;
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{Observation, Outcome, Probe};
use crate::config::Inventory;
use crate::config::venues::{Device, Event};
use crate::model::CheckResult;

/// The shortest interval the scheduler polls at; shorter ones (including
/// zero) are raised to it rather than spinning.
pub const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// A check counts as a late start when it starts more than this fraction of
/// its device's interval after its due time.
pub const LATE_FRACTION: f64 = 0.1;

/// How the scheduler runs.
#[derive(Debug, Clone, PartialEq)]
pub struct SchedulerConfig {
    /// At most this many checks run at the same time (at least 1).
    pub max_in_flight: usize,
    /// Random spread of each due time, as a fraction of the interval
    /// (0.02 = ±2%). Clamped to 0..=0.5.
    pub jitter: f64,
    /// The probes' retries: a check's budget is
    /// `timeout × (retries + 1) + grace`.
    pub retries: u32,
    /// Slack on top of the probes' own timeouts before a check is abandoned.
    pub grace: Duration,
    /// Every device's first check falls at a random point of its interval,
    /// or of this long when the interval is longer: a UPS polled every 30 s
    /// must not leave its venue grey for 30 s after toc starts.
    pub first_spread: Duration,
}

impl Default for SchedulerConfig {
    /// 512 checks at once, ±2% jitter, 1 retry, 200 ms grace, first checks
    /// within 5 s.
    fn default() -> Self {
        Self {
            max_in_flight: 512,
            jitter: 0.02,
            retries: 1,
            grace: Duration::from_millis(200),
            first_spread: Duration::from_secs(5),
        }
    }
}

impl SchedulerConfig {
    /// The defaults, with the event's `retries`.
    pub fn for_event(event: &Event) -> Self {
        Self {
            retries: event.retries,
            ..Self::default()
        }
    }

    /// How long a check of `device` may run before it is abandoned.
    pub fn budget(&self, device: &Device) -> Duration {
        device
            .timeout
            .saturating_mul(self.retries.saturating_add(1))
            .saturating_add(self.grace)
    }
}

/// What the scheduler has done so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SchedulerStats {
    /// Checks started.
    pub started: u64,
    /// Checks finished (with any verdict, including an abandoned one).
    pub completed: u64,
    /// Checks that started more than [`LATE_FRACTION`] of their interval
    /// after their due time.
    pub late_starts: u64,
    /// The latest any check started against its due time.
    pub max_start_delay: Duration,
    /// Slots skipped because the previous check (or the consumer) overran.
    pub skipped_slots: u64,
    /// Checks abandoned at the end of their budget.
    pub overruns: u64,
    /// Checks running right now.
    pub in_flight: usize,
    /// The most checks that ever ran at the same time.
    pub peak_in_flight: usize,
}

/// The running scheduler. Dropping it stops all polling, as does
/// [`SchedulerHandle::shutdown`].
#[derive(Debug)]
pub struct SchedulerHandle {
    tasks: JoinSet<()>,
    counters: Arc<Counters>,
    trigger: CheckTrigger,
}

/// Wakes device pollers to check at once instead of at their next slot.
/// Cheap to clone; outlives nothing (a stopped poller ignores it).
#[derive(Debug, Clone, Default)]
pub struct CheckTrigger {
    /// By inventory index.
    wake: Arc<Vec<Option<Arc<Notify>>>>,
}

impl CheckTrigger {
    /// Checks these devices (inventory indices) as soon as a check slot
    /// is free; a device being checked right now is checked again right
    /// after. Unknown indices are ignored.
    pub fn check_now(&self, devices: &[usize]) {
        for &d in devices {
            if let Some(Some(n)) = self.wake.get(d) {
                n.notify_one();
            }
        }
    }
}

impl SchedulerHandle {
    /// A snapshot of the counters.
    pub fn stats(&self) -> SchedulerStats {
        self.counters.snapshot()
    }

    /// What checks devices now.
    pub fn trigger(&self) -> CheckTrigger {
        self.trigger.clone()
    }

    /// Stops all polling and waits until it has stopped: once this returns,
    /// no further observation is sent and no check is running. Checks in
    /// progress are abandoned.
    pub async fn shutdown(&mut self) {
        self.tasks.shutdown().await;
    }
}

/// Starts polling `devices` with `probe`, sending every result on `tx`.
/// Each device comes with its index in the inventory, which becomes
/// [`Observation::device`].
///
/// The scheduler takes `tx` over: once it has stopped and the observations
/// sent are read, the receiver sees the channel close. Must be called from
/// within a Tokio runtime.
#[allow(
    clippy::needless_pass_by_value,
    reason = "owned on purpose: the scheduler's tasks hold the only senders"
)]
pub fn spawn<P: Probe>(
    probe: Arc<P>,
    devices: Vec<(usize, Device)>,
    tx: mpsc::Sender<Observation>,
    config: SchedulerConfig,
) -> SchedulerHandle {
    let devices = devices
        .into_iter()
        .map(|(index, device)| (index, Held::Owned(Box::new(device))));
    start(&probe, devices, &tx, &config)
}

/// Starts polling every device of `inventory`, as [`spawn`] does, sharing
/// the inventory instead of copying each device into its task (10,000
/// devices' worth of configuration stays in one place).
#[allow(
    clippy::needless_pass_by_value,
    reason = "owned on purpose: the scheduler's tasks hold the only senders"
)]
pub fn spawn_inventory<P: Probe>(
    probe: Arc<P>,
    inventory: Arc<Inventory>,
    tx: mpsc::Sender<Observation>,
    config: SchedulerConfig,
) -> SchedulerHandle {
    let devices = (0..inventory.devices.len())
        .map(|index| (index, Held::Shared(Arc::clone(&inventory), index)));
    start(&probe, devices, &tx, &config)
}

/// A device as a poller holds it.
enum Held {
    Owned(Box<Device>),
    Shared(Arc<Inventory>, usize),
}

impl Held {
    fn get(&self) -> Option<&Device> {
        match self {
            Held::Owned(d) => Some(d),
            Held::Shared(inv, i) => inv.devices.get(*i),
        }
    }
}

fn start<P: Probe>(
    probe: &Arc<P>,
    devices: impl Iterator<Item = (usize, Held)>,
    tx: &mpsc::Sender<Observation>,
    config: &SchedulerConfig,
) -> SchedulerHandle {
    let limit = Arc::new(Semaphore::new(
        config.max_in_flight.clamp(1, Semaphore::MAX_PERMITS),
    ));
    let jitter = if config.jitter.is_finite() {
        config.jitter.clamp(0.0, 0.5)
    } else {
        0.0
    };
    let counters = Arc::new(Counters::default());
    let now = Instant::now();
    let mut rng = rand::rng();
    let mut tasks = JoinSet::new();
    let mut wake: Vec<Option<Arc<Notify>>> = Vec::new();
    for (index, held) in devices {
        let Some(device) = held.get() else {
            continue;
        };
        let now_please = Arc::new(Notify::new());
        if wake.len() <= index {
            wake.resize(index + 1, None);
        }
        wake[index] = Some(Arc::clone(&now_please));
        let interval = device.poll_interval.max(MIN_INTERVAL);
        let spread = interval.min(config.first_spread);
        let first = later(now, spread.mul_f64(rng.random::<f64>()));
        let poller = Poller {
            index,
            budget: config.budget(device),
            device: held,
            interval,
            jitter,
            probe: Arc::clone(probe),
            tx: tx.clone(),
            limit: Arc::clone(&limit),
            counters: Arc::clone(&counters),
            now_please,
        };
        tasks.spawn(poller.run(first));
    }
    SchedulerHandle {
        tasks,
        counters,
        trigger: CheckTrigger {
            wake: Arc::new(wake),
        },
    }
}

/// The task that polls one device.
struct Poller<P> {
    index: usize,
    device: Held,
    interval: Duration,
    budget: Duration,
    jitter: f64,
    probe: Arc<P>,
    tx: mpsc::Sender<Observation>,
    limit: Arc<Semaphore>,
    counters: Arc<Counters>,
    /// Check now instead of at the next slot.
    now_please: Arc<Notify>,
}

impl<P: Probe> Poller<P> {
    async fn run(self, first: Instant) {
        let mut slot = first;
        loop {
            let mut due = self.jittered(slot);
            tokio::select! {
                () = tokio::time::sleep_until(due) => {}
                () = self.now_please.notified() => due = Instant::now(),
            }
            let Ok(permit) = self.limit.acquire().await else {
                return; // the semaphore is never closed
            };
            let at = SystemTime::now();
            let start_delay = Instant::now().saturating_duration_since(due);
            self.counters
                .record_start(start_delay, start_delay.as_secs_f64() > self.late_after());
            // Boxed: a probe's future is large (an HTTP exchange is several
            // KB) and would otherwise be reserved inside every device's task
            // while it sleeps; 10,000 sleeping tasks then cost tens of MB.
            let outcome = Box::pin(self.check()).await;
            drop(permit);
            self.counters.completed.fetch_add(1, Ordering::Relaxed);
            let observation = Observation {
                device: self.index,
                at,
                start_delay,
                outcome,
            };
            if self.tx.send(observation).await.is_err() {
                return; // nobody is listening any more
            }
            slot = self.next_slot(slot, Instant::now());
        }
    }

    /// One check, bounded by the budget.
    async fn check(&self) -> Outcome {
        let _running = InFlight::new(&self.counters);
        let Some(device) = self.device.get() else {
            return Outcome::new(CheckResult::Unknown(
                "device not in the inventory".to_owned(),
            ));
        };
        match tokio::time::timeout(self.budget, self.probe.check(device)).await {
            Ok(outcome) => outcome,
            Err(_elapsed) => {
                self.counters.overruns.fetch_add(1, Ordering::Relaxed);
                Outcome::new(CheckResult::Fail(format!(
                    "no answer within {}",
                    humantime::format_duration(self.budget)
                )))
            }
        }
    }

    /// The slot after `slot`, skipping those already past at `now`.
    fn next_slot(&self, slot: Instant, now: Instant) -> Instant {
        let mut next = later(slot, self.interval);
        while next <= now {
            next = later(next, self.interval);
            self.counters.skipped_slots.fetch_add(1, Ordering::Relaxed);
        }
        next
    }

    /// `slot` moved by a random ± jitter × interval.
    fn jittered(&self, slot: Instant) -> Instant {
        if self.jitter == 0.0 {
            return slot;
        }
        let offset: f64 = rand::rng().random_range(-self.jitter..=self.jitter);
        let shift = self.interval.mul_f64(offset.abs());
        if offset < 0.0 {
            slot.checked_sub(shift).unwrap_or(slot)
        } else {
            later(slot, shift)
        }
    }

    /// Seconds after its due time at which a start counts as late.
    fn late_after(&self) -> f64 {
        self.interval.as_secs_f64() * LATE_FRACTION
    }
}

/// `t + d`, with `d` capped at 30 years: an absurdly long interval waits
/// "forever" instead of overflowing the clock.
fn later(t: Instant, d: Duration) -> Instant {
    const FOREVER: Duration = Duration::from_secs(86_400 * 365 * 30);
    t + d.min(FOREVER)
}

/// The live counters behind [`SchedulerStats`].
#[derive(Debug, Default)]
struct Counters {
    started: AtomicU64,
    completed: AtomicU64,
    late_starts: AtomicU64,
    max_start_delay_us: AtomicU64,
    skipped_slots: AtomicU64,
    overruns: AtomicU64,
    in_flight: AtomicUsize,
    peak_in_flight: AtomicUsize,
}

impl Counters {
    fn record_start(&self, delay: Duration, late: bool) {
        self.started.fetch_add(1, Ordering::Relaxed);
        if late {
            self.late_starts.fetch_add(1, Ordering::Relaxed);
        }
        let us = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        self.max_start_delay_us.fetch_max(us, Ordering::Relaxed);
    }

    fn snapshot(&self) -> SchedulerStats {
        SchedulerStats {
            started: self.started.load(Ordering::Relaxed),
            completed: self.completed.load(Ordering::Relaxed),
            late_starts: self.late_starts.load(Ordering::Relaxed),
            max_start_delay: Duration::from_micros(self.max_start_delay_us.load(Ordering::Relaxed)),
            skipped_slots: self.skipped_slots.load(Ordering::Relaxed),
            overruns: self.overruns.load(Ordering::Relaxed),
            in_flight: self.in_flight.load(Ordering::Relaxed),
            peak_in_flight: self.peak_in_flight.load(Ordering::Relaxed),
        }
    }
}

/// Counts a running check for as long as it lives, also when the check is
/// abandoned or the scheduler shut down mid-check.
struct InFlight<'a>(&'a Counters);

impl<'a> InFlight<'a> {
    fn new(counters: &'a Counters) -> Self {
        let now = counters.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        counters.peak_in_flight.fetch_max(now, Ordering::Relaxed);
        Self(counters)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}
