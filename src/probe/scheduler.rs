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
//! - **Limits by what a check holds while it waits**, as a real NMS does.
//!   A check waiting for a silent device must cost a timer, never a turn
//!   that a live device needs (with 512 turns shared, 3,334 silent devices
//!   of 10,000 made a live failure take 43 s to show instead of 15 s):
//!   - an **SNMP** check holds no file descriptor: the client shares a few
//!     UDP sockets, and a request waiting for its answer is one entry in
//!     the client's pending table and one timer. SNMP checks therefore run
//!     as soon as they are due, bounded only by `max_snmp_in_flight`
//!     (65,536 by default), a bound on memory, not on throughput;
//!   - a **TCP or HTTP** check holds a socket for as long as it connects
//!     and waits, so those are bounded by a file-descriptor budget,
//!     `max_in_flight`: the wiring raises the process's soft
//!     `RLIMIT_NOFILE` to its hard limit at start ([`raise_descriptor_limit`])
//!     and sizes the budget from the descriptors still free, keeping a
//!     quarter for everything else ([`descriptor_budget`]), instead of a
//!     small fixed count.
//!
//!   Waiting for a turn counts as lateness in the observation's
//!   `start_delay` and in the [`SchedulerStats`].
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
use crate::config::venues::{Device, Event, ProbeTarget};
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
    /// At most this many checks that hold a file descriptor while they
    /// wait (TCP, HTTP) run at the same time (at least 1). The wiring sizes
    /// it from the descriptor limit ([`SchedulerConfig::for_host`]).
    pub max_in_flight: usize,
    /// At most this many SNMP checks run at the same time (at least 1).
    /// A waiting SNMP check holds no descriptor, only a pending-table entry
    /// and a timer, so this bounds memory, not throughput: it must stay
    /// above the number of SNMP devices a check interval can see silent.
    pub max_snmp_in_flight: usize,
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
    /// 512 TCP/HTTP checks and 65,536 SNMP checks at once, ±2% jitter,
    /// 1 retry, 200 ms grace, first checks within 5 s.
    fn default() -> Self {
        Self {
            max_in_flight: 512,
            max_snmp_in_flight: MAX_SNMP_IN_FLIGHT,
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

    /// The defaults with the event's `retries`, and a TCP/HTTP budget sized
    /// from the descriptors this process may open: raises the soft
    /// `RLIMIT_NOFILE` to the hard limit first. Returns what was done, for
    /// the log.
    pub fn for_host(event: &Event) -> (Self, String) {
        let limit = raise_descriptor_limit();
        let open = open_descriptors();
        let budget = descriptor_budget(limit.soft, open.unwrap_or(FALLBACK_OPEN));
        let note = format!(
            "descriptors: limit {}{}, {} open, {budget} for TCP/HTTP checks at once",
            limit.soft,
            match (limit.before, &limit.error) {
                (_, Some(e)) => format!(" (could not raise to {}: {e})", limit.hard),
                (b, None) if b < limit.soft => format!(" (raised from {b})"),
                _ => String::new(),
            },
            open.map_or_else(|| "?".to_owned(), |o| o.to_string()),
        );
        let config = Self {
            max_in_flight: budget,
            ..Self::for_event(event)
        };
        (config, note)
    }

    /// How long a check of `device` may run before it is abandoned.
    pub fn budget(&self, device: &Device) -> Duration {
        device
            .timeout
            .saturating_mul(self.retries.saturating_add(1))
            .saturating_add(self.grace)
    }
}

/// The default bound on SNMP checks at once.
pub const MAX_SNMP_IN_FLIGHT: usize = 65_536;

/// The most TCP/HTTP checks at once, however many descriptors are free.
pub const MAX_DESCRIPTOR_CHECKS: usize = 65_536;

/// Descriptors assumed open when they cannot be counted.
const FALLBACK_OPEN: u64 = 256;

/// The descriptor limit of this process (`RLIMIT_NOFILE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescriptorLimit {
    /// The soft limit before [`raise_descriptor_limit`].
    pub before: u64,
    /// The soft limit in force now.
    pub soft: u64,
    /// The hard limit.
    pub hard: u64,
    /// Why the soft limit could not be raised, when it could not.
    pub error: Option<String>,
}

/// "Unlimited" as Linux allows it for descriptors (`fs.nr_open`'s default).
#[cfg(unix)]
const NR_OPEN: u64 = 1 << 20;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (what any process may
/// do for itself) and says what it is now. Every TCP or HTTP check holds a
/// descriptor while it waits; Linux's usual soft limit of 1,024 would
/// otherwise be the real bound on the checks in flight.
#[cfg(unix)]
pub fn raise_descriptor_limit() -> DescriptorLimit {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let now = getrlimit(Resource::Nofile);
    let hard = now.maximum.unwrap_or(NR_OPEN);
    let before = now.current.unwrap_or(hard);
    if before >= hard {
        return DescriptorLimit {
            before,
            soft: before,
            hard,
            error: None,
        };
    }
    let raised = Rlimit {
        current: Some(hard),
        maximum: now.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => DescriptorLimit {
            before,
            soft: hard,
            hard,
            error: None,
        },
        Err(e) => DescriptorLimit {
            before,
            soft: before,
            hard,
            error: Some(e.to_string()),
        },
    }
}

/// Elsewhere: nothing to raise; assume the common 1,024.
#[cfg(not(unix))]
pub fn raise_descriptor_limit() -> DescriptorLimit {
    DescriptorLimit {
        before: 1024,
        soft: 1024,
        hard: 1024,
        error: None,
    }
}

/// Descriptors this process has open now (Linux: `/proc/self/fd`).
pub fn open_descriptors() -> Option<u64> {
    let entries = std::fs::read_dir("/proc/self/fd").ok()?;
    u64::try_from(entries.count()).ok()
}

/// How many TCP/HTTP checks may run at once with descriptor limit `soft`
/// and `open` descriptors already open: the free descriptors less a
/// quarter (at least 64, at most half) kept for everything else (name
/// lookups, the log, the console, what a demo's simulator opens later),
/// between 1 and [`MAX_DESCRIPTOR_CHECKS`].
pub fn descriptor_budget(soft: u64, open: u64) -> usize {
    let free = soft.saturating_sub(open);
    let reserve = (free / 4).max(64).min(free / 2);
    let budget = usize::try_from(free - reserve).unwrap_or(usize::MAX);
    budget.clamp(1, MAX_DESCRIPTOR_CHECKS)
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
    let limits = Limits {
        descriptors: Arc::new(Semaphore::new(
            config.max_in_flight.clamp(1, Semaphore::MAX_PERMITS),
        )),
        snmp: Arc::new(Semaphore::new(
            config.max_snmp_in_flight.clamp(1, Semaphore::MAX_PERMITS),
        )),
    };
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
        let limit = limits.for_device(device);
        let poller = Poller {
            index,
            budget: config.budget(device),
            device: held,
            interval,
            jitter,
            probe: Arc::clone(probe),
            tx: tx.clone(),
            limit,
            counters: Arc::clone(&counters),
            now_please,
            epoch: now,
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

/// The turns checks wait for, by what a check holds while it waits.
struct Limits {
    /// TCP and HTTP checks: a socket each.
    descriptors: Arc<Semaphore>,
    /// SNMP checks: a pending-table entry and a timer each.
    snmp: Arc<Semaphore>,
}

impl Limits {
    fn for_device(&self, device: &Device) -> Arc<Semaphore> {
        match device.probe {
            ProbeTarget::Snmp { .. } => Arc::clone(&self.snmp),
            ProbeTarget::Http { .. } | ProbeTarget::Tcp { .. } => Arc::clone(&self.descriptors),
        }
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
    /// When the scheduler started: the origin of the wake-up grid.
    epoch: Instant,
}

/// Jittered due times are rounded up to a grid of this step (or of a
/// fiftieth of the interval, when that is shorter), so that the devices
/// due within one step wake the poller once, together, and their answers
/// come back together: at 1,000 devices every 5 s, about four checks
/// per wake-up instead of one. The jitter already moves a due time by
/// ±2% of the interval (±100 ms at 5 s); the grid adds at most 20 ms.
pub const WAKE_GRID: Duration = Duration::from_millis(20);

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
            let started = Instant::now();
            let outcome = Box::pin(self.check()).await;
            let took = started.elapsed();
            drop(permit);
            self.counters.completed.fetch_add(1, Ordering::Relaxed);
            let observation = Observation {
                device: self.index,
                at,
                start_delay,
                took,
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

    /// `slot` moved by a random ± jitter × interval, then rounded up to
    /// the wake-up grid ([`WAKE_GRID`]). Without jitter, exactly `slot`.
    fn jittered(&self, slot: Instant) -> Instant {
        if self.jitter == 0.0 {
            return slot;
        }
        let offset: f64 = rand::rng().random_range(-self.jitter..=self.jitter);
        let shift = self.interval.mul_f64(offset.abs());
        let due = if offset < 0.0 {
            slot.checked_sub(shift).unwrap_or(slot)
        } else {
            later(slot, shift)
        };
        on_grid(self.epoch, due, WAKE_GRID.min(self.interval / 50))
    }

    /// Seconds after its due time at which a start counts as late.
    fn late_after(&self) -> f64 {
        self.interval.as_secs_f64() * LATE_FRACTION
    }
}

/// `due` rounded up to the next multiple of `step` after `epoch` (as is
/// when `step` is zero or `due` is before `epoch`).
fn on_grid(epoch: Instant, due: Instant, step: Duration) -> Instant {
    let step_ns = step.as_nanos();
    let Some(since) = due.checked_duration_since(epoch) else {
        return due;
    };
    if step_ns == 0 {
        return due;
    }
    let since_ns = since.as_nanos();
    let up = since_ns.div_ceil(step_ns) * step_ns - since_ns;
    later(due, Duration::from_nanos(u64::try_from(up).unwrap_or(0)))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_times_round_up_to_the_wake_grid() {
        let epoch = Instant::now();
        let ms = Duration::from_millis;
        let step = ms(20);
        // (offset of due from epoch, offset of the grid point)
        for (due, want) in [
            (0, 0),
            (1, 20),
            (19, 20),
            (20, 20),
            (21, 40),
            (5_003, 5_020),
        ] {
            assert_eq!(
                on_grid(epoch, epoch + ms(due), step),
                epoch + ms(want),
                "due {due} ms"
            );
        }
        // No step, or a due time before the epoch: unchanged.
        assert_eq!(on_grid(epoch, epoch + ms(7), Duration::ZERO), epoch + ms(7));
        let before = epoch.checked_sub(ms(5)).unwrap_or(epoch);
        assert_eq!(on_grid(epoch, before, step), before);
    }

    #[test]
    fn the_descriptor_budget_keeps_a_quarter_for_the_rest() {
        // (soft limit, open, budget)
        let table = [
            (1_024, 24, 750),         // the usual soft limit
            (20_000, 100, 14_925),    // raised to a hard limit of 20,000
            (1_048_576, 100, 65_536), // capped
            (200, 40, 96),            // small: 64 kept
            (100, 90, 5),             // tiny: half kept
            (64, 64, 1),              // nothing free: still one at a time
            (10, 1_000, 1),           // more open than the limit
        ];
        for (soft, open, want) in table {
            assert_eq!(
                descriptor_budget(soft, open),
                want,
                "soft {soft}, open {open}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn the_soft_descriptor_limit_is_raised_to_the_hard_one() {
        let limit = raise_descriptor_limit();
        assert!(limit.error.is_none(), "{limit:?}");
        assert_eq!(limit.soft, limit.hard, "{limit:?}");
        assert!(limit.before <= limit.soft, "{limit:?}");
        let now = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        assert_eq!(now.current.unwrap_or(NR_OPEN), limit.soft);
        assert!(
            open_descriptors().is_some_and(|n| n >= 3),
            "stdin, stdout, stderr at least"
        );
    }

    #[test]
    fn checks_wait_for_the_turns_of_what_they_hold() {
        let text = "[event]\nname = \"t\"\n\n[profiles.v2]\nversion = \"v2c\"\ncommunity = \"c\"\n\n\
            [[venues]]\ncode = \"TST\"\nname = \"T\"\ncity = \"L\"\n\n\
            [[venues.devices]]\nid = \"TST-s\"\nrole = \"switch\"\nprobe = \"snmp://127.0.0.1:161\"\nprofile = \"v2\"\n\n\
            [[venues.devices]]\nid = \"TST-t\"\nrole = \"timing-link\"\nprobe = \"tcp://127.0.0.1:9\"\n\n\
            [[venues.devices]]\nid = \"TST-h\"\nrole = \"timing-link\"\nprobe = \"http://127.0.0.1:9/\"\n";
        let src = crate::config::SourceFile::new("t.toml", text.to_owned());
        let Ok((inventory, _)) = Inventory::parse(&src) else {
            panic!("the inventory parses");
        };
        let limits = Limits {
            descriptors: Arc::new(Semaphore::new(1)),
            snmp: Arc::new(Semaphore::new(2)),
        };
        let permits: Vec<usize> = inventory
            .devices
            .iter()
            .map(|d| limits.for_device(d).available_permits())
            .collect();
        assert_eq!(permits, [2, 1, 1], "snmp, tcp, http");
    }
}
