//! Incidents at Games scale, on the real parts in one process: the
//! synthetic Games (`toc::sim::synth::games(49, 10_000)`) served by the
//! simulator on loopback and polled by the real scheduler and probes, the
//! engine, the SQLite store (fsync), the audit log and the notifier, all
//! through `toc::runtime::Live::demo` with a data folder of its own. As in
//! `toc demo`, simulator, poller and engine run on one current-thread
//! runtime; the bench acts as the console, on a thread and runtime of its
//! own, through an `EngineHandle`. Prints, beside their targets:
//!
//! - **An uplink storm**, ten rounds: every venue's uplink fails at once
//!   (49 `:fault VENUE uplink-down` commands sent together through the
//!   engine, as an operator would), then `:clear`. Per round: incidents
//!   opened (counted from the engine's `IncidentOpened` events), and the
//!   notifier's counters (notices from the engine, notifications sent
//!   after storm grouping; without a session bus they are logged, which
//!   the counters tell apart), and how many incidents opened below DOWN
//!   and were raised to DOWN (a venue's two uplink routers failing one
//!   poll apart). Each storm incident is acknowledged (`:ack`), send ->
//!   answer timed.
//! - **Settle time** (target at most 250 ms): from the last observation of
//!   the storm entering the engine to the first published snapshot that
//!   reflects it. "Entering the engine" is when the poller handed the
//!   observation over: its check's start plus how long the check took
//!   (`Observation::took`). The engine keeps, in `Snapshot::stats`, the
//!   latest such time among observations that changed a hard status
//!   (`EngineStats::last_change`). The settled snapshot is the first one
//!   the bench sees in which every device of every venue is hard DOWN or
//!   UNREACHABLE and every venue has an open incident (for the recovery:
//!   every device OK and every incident's condition clear). Settle =
//!   `snapshot.at - snapshot.stats.last_change`: the observation that
//!   completed the storm (any later hard change would move `last_change`)
//!   to the snapshot built with it, both on the engine's wall clock. The
//!   watch channel keeps the latest snapshot only, so when the bench was
//!   late a later snapshot is measured (longer, never shorter); the
//!   snapshots skipped are printed. Delivery (snapshot built -> seen by the
//!   bench) is printed beside it.
//! - **Command answer time with the store's fsync** (target p99 at most
//!   20 ms): `:note` on an open incident, one after another, while every
//!   device is polled; send -> answer, in an HDR histogram. The engine
//!   answers once the audit record and the store batch are on disk; the
//!   bench then counts the notes in the store through a `Reader` and fails
//!   if one is missing. The acknowledgements are counted there too.
//!
//! Run with `cargo bench --bench incidents` (10,000 devices polled every
//! 5 s, timeout 1 s, ten rounds, 500 notes); without `--bench` (as `cargo
//! test --all-targets` runs it) one quick round of two storms on 1,000
//! devices polled every second and 20 notes.
#![allow(clippy::cast_precision_loss, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use hdrhistogram::Histogram;
use tokio::sync::{mpsc, oneshot};

use toc::config::{Inventory, SourceFile};
use toc::engine::{
    Command, EngineHandle, EventKind, FaultKind, IncidentCommand, Snapshot, TimelineKind,
};
use toc::model::Status;
use toc::notify::StatsSnapshot;
use toc::runtime::live::STORE_FILE;
use toc::runtime::{Live, Tuning};

/// How big and how long.
#[derive(Debug, Clone, Copy)]
struct Plan {
    devices: usize,
    rounds: usize,
    notes: usize,
    interval: Duration,
    timeout: Duration,
    /// How long any one wait may take before the bench fails.
    limit: Duration,
}

const VENUES: usize = 49;
const SETTLE_TARGET_MS: f64 = 250.0;
const ANSWER_TARGET_MS: f64 = 20.0;

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let plan = if quick {
        Plan {
            devices: 1_000,
            rounds: 2,
            notes: 20,
            interval: Duration::from_secs(1),
            timeout: Duration::from_millis(200),
            limit: Duration::from_secs(60),
        }
    } else {
        Plan {
            devices: 10_000,
            rounds: 10,
            notes: 500,
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(1),
            limit: Duration::from_secs(180),
        }
    };
    if let Err(e) = run(plan, quick) {
        eprintln!("incidents bench failed: {e}");
        std::process::exit(1);
    }
}

/// What the operator thread asks of the thread that owns `Live`.
enum Ask {
    NotifyStats(oneshot::Sender<Option<StatsSnapshot>>),
}

fn inventory(devices: usize) -> Result<Inventory, String> {
    let text = toc::sim::synth::games(VENUES, devices);
    let src = SourceFile::new("<synthetic games>", text);
    let mut inv = Inventory::parse(&src)
        .map_err(|d| format!("synthetic games does not parse: {} errors", d.len()))?
        .0;
    // Each round's incidents resolve soon after they clear, and the next
    // round opens new ones instead of reopening these.
    inv.incidents.resolve_hold = Duration::from_secs(1);
    inv.incidents.reopen_window = Duration::ZERO;
    Ok(inv)
}

fn run(plan: Plan, quick: bool) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| format!("a temporary folder: {e}"))?;
    let data = dir.path().join("toc-data");
    let inv = inventory(plan.devices)?;
    let tuning = Tuning {
        interval: Some(plan.interval),
        timeout: Some(plan.timeout),
        data_dir: Some(data.clone()),
        ..Tuning::default()
    };
    println!(
        "incidents{}: {VENUES} venues, {} devices polled every {} (timeout {}), {} storm round(s), {} notes",
        if quick { " (quick)" } else { "" },
        inv.devices.len(),
        humantime::format_duration(plan.interval),
        humantime::format_duration(plan.timeout),
        plan.rounds,
        plan.notes
    );
    // Simulator, poller and engine on this thread, as in `toc demo`.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let result = runtime.block_on(async move {
        let live = Live::demo(inv, tuning).await?;
        let handle = live.handle();
        let (ask_tx, mut ask_rx) = mpsc::channel::<Ask>(4);
        let store = data.join(STORE_FILE);
        let operator = std::thread::Builder::new()
            .name("bench-operator".to_owned())
            .spawn(move || operate(plan, &handle, &ask_tx, &store))
            .map_err(|e| format!("operator thread: {e}"))?;
        // Answer the operator until it is done.
        while let Some(ask) = ask_rx.recv().await {
            match ask {
                Ask::NotifyStats(tx) => {
                    let _ = tx.send(live.notify_stats());
                }
            }
        }
        let report = operator
            .join()
            .map_err(|_| "the operator thread panicked".to_owned())?;
        let stats = live.notify_stats();
        live.shutdown().await;
        report.map(|r| (r, stats))
    });
    runtime.shutdown_timeout(Duration::from_millis(200));
    let (report, stats) = result?;
    report.print(stats);
    Ok(())
}

/// What the operator measured.
#[derive(Debug, Default)]
struct Report {
    rounds: Vec<Round>,
    acks: Option<Histogram<u64>>,
    notes: Option<Histogram<u64>>,
    notes_stored: usize,
    acks_stored: usize,
    acks_sent: usize,
    up_after: Duration,
}

/// One storm round.
#[derive(Debug, Default)]
struct Round {
    faults_sent: Duration,
    detected: Duration,
    settle: Duration,
    delivery: Duration,
    skipped: u64,
    recovery_settle: Duration,
    recovery_skipped: u64,
    incidents: u64,
    /// Incidents opened below DOWN and raised to DOWN later.
    raised: u64,
    ack_max: Duration,
    lagged: u64,
    notices: u64,
    notifications: u64,
    storms: u64,
    logged: u64,
    desktop: u64,
}

fn operate(
    plan: Plan,
    handle: &EngineHandle,
    ask: &mpsc::Sender<Ask>,
    store: &Path,
) -> Result<Report, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("operator runtime: {e}"))?;
    runtime.block_on(async {
        let started = Instant::now();
        let counter = EventCounter::start(handle);
        wait(handle, plan.limit, "every device OK", |s| {
            all_ok(s) && s.incidents.is_empty()
        })
        .await?;
        let mut report = Report {
            up_after: started.elapsed(),
            ..Report::default()
        };
        let mut acks = histogram()?;
        let mut acked = Vec::new();
        for _ in 0..plan.rounds {
            let round = storm(plan, handle, ask, &counter, &mut acks, &mut acked).await?;
            report.rounds.push(round);
        }
        report.acks_sent = acked.len();
        report.acks = Some(acks);
        let (notes, id) = notes(plan, handle).await?;
        report.notes = Some(notes);
        let (stored, acks_stored) = durable(store, &id, &acked)?;
        report.notes_stored = stored;
        report.acks_stored = acks_stored;
        if stored != plan.notes {
            return Err(format!(
                "{} notes answered, {stored} in the store",
                plan.notes
            ));
        }
        if acks_stored != acked.len() {
            return Err(format!(
                "{} acknowledgements answered, {acks_stored} in the store",
                acked.len()
            ));
        }
        Ok(report)
    })
}

/// Counts the incidents the engine opens, from its events.
struct EventCounter {
    opened: Arc<AtomicU64>,
    raised: Arc<AtomicU64>,
    lagged: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl EventCounter {
    fn start(handle: &EngineHandle) -> EventCounter {
        let opened = Arc::new(AtomicU64::new(0));
        let raised = Arc::new(AtomicU64::new(0));
        let lagged = Arc::new(AtomicU64::new(0));
        let mut events = handle.events();
        let (o, r, l) = (
            Arc::clone(&opened),
            Arc::clone(&raised),
            Arc::clone(&lagged),
        );
        let task = tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(e) => match e.kind {
                        EventKind::IncidentOpened { .. } => {
                            o.fetch_add(1, Ordering::Relaxed);
                        }
                        EventKind::IncidentSeverity {
                            from,
                            to: Status::Down,
                            ..
                        } if from != Status::Down => {
                            r.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {}
                    },
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        l.fetch_add(n, Ordering::Relaxed);
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        EventCounter {
            opened,
            raised,
            lagged,
            task,
        }
    }

    /// Incidents opened, raised to DOWN, events missed.
    fn counts(&self) -> (u64, u64, u64) {
        (
            self.opened.load(Ordering::Relaxed),
            self.raised.load(Ordering::Relaxed),
            self.lagged.load(Ordering::Relaxed),
        )
    }
}

impl Drop for EventCounter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn histogram() -> Result<Histogram<u64>, String> {
    // Microseconds, 1 µs to 60 s, 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000, 3).map_err(|e| format!("histogram: {e}"))
}

fn record(h: &mut Histogram<u64>, d: Duration) {
    let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
    h.saturating_record(us);
}

async fn notify_stats(ask: &mpsc::Sender<Ask>) -> StatsSnapshot {
    let (tx, rx) = oneshot::channel();
    if ask.send(Ask::NotifyStats(tx)).await.is_err() {
        return StatsSnapshot::default();
    }
    rx.await.ok().flatten().unwrap_or_default()
}

fn all_ok(s: &Snapshot) -> bool {
    s.devices.iter().all(|d| d.status == Status::Ok)
}

/// Every device of every venue hard DOWN or UNREACHABLE, and an incident
/// open at every venue.
fn storm_settled(s: &Snapshot) -> bool {
    s.venues.iter().all(|v| {
        v.eval.status == Status::Down
            && v.eval.down + v.eval.unreachable == v.eval.total
            && v.incidents > 0
    })
}

/// The venues [`storm_settled`] waits for, with their devices neither
/// DOWN nor UNREACHABLE.
fn unsettled(s: &Snapshot) -> String {
    let mut out = Vec::new();
    for (info, v) in s.layout.venues.iter().zip(&s.venues) {
        if v.eval.status == Status::Down
            && v.eval.down + v.eval.unreachable == v.eval.total
            && v.incidents > 0
        {
            continue;
        }
        let devices: Vec<String> = info
            .devices
            .iter()
            .filter_map(|d| {
                let snap = s.device(*d)?;
                let id = &s.layout.device_info(*d)?.id;
                (!matches!(snap.status, Status::Down | Status::Unreachable)).then(|| {
                    format!(
                        "{id} {} attempt {} {:?}",
                        snap.status.word(),
                        snap.attempt,
                        snap.reason
                    )
                })
            })
            .take(5)
            .collect();
        out.push(format!(
            "{} {} ({} incidents): {}",
            info.code,
            v.eval.status.word(),
            v.incidents,
            devices.join("; ")
        ));
    }
    let incidents: Vec<String> = s
        .incidents
        .iter()
        .filter(|i| !i.subject.ends_with("-uplink"))
        .map(|i| i.title.clone())
        .collect();
    format!("{}; other incidents: {incidents:?}", out.join(" | "))
}

/// Every device OK and every incident's condition clear.
fn recovery_settled(s: &Snapshot) -> bool {
    all_ok(s) && s.incidents.iter().all(|i| i.clear_since.is_some())
}

/// Waits for the first snapshot that satisfies `pred`; returns it and how
/// many snapshots the engine published since the one before it that the
/// bench did not see.
async fn wait(
    handle: &EngineHandle,
    limit: Duration,
    what: &str,
    pred: impl Fn(&Snapshot) -> bool,
) -> Result<(Arc<Snapshot>, u64), String> {
    let mut rx = handle.watch();
    let deadline = tokio::time::Instant::now() + limit;
    let mut last_seq = rx.borrow().seq;
    loop {
        let snap = Arc::clone(&rx.borrow_and_update());
        let skipped = snap.seq.saturating_sub(last_seq + 1);
        if pred(&snap) {
            return Ok((snap, skipped));
        }
        last_seq = snap.seq;
        match tokio::time::timeout_at(deadline, rx.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(format!("the engine stopped while waiting for {what}")),
            Err(_) => {
                return Err(format!(
                    "not within {}: {what} (wall {}, {} incidents open)",
                    humantime::format_duration(limit),
                    snap.wall.word(),
                    snap.incidents.len()
                ));
            }
        }
    }
}

/// Built -> last hard change it reflects.
fn settle_of(s: &Snapshot) -> Duration {
    s.stats
        .last_change
        .and_then(|c| s.at.duration_since(c).ok())
        .unwrap_or_default()
}

async fn storm(
    plan: Plan,
    handle: &EngineHandle,
    ask: &mpsc::Sender<Ask>,
    counter: &EventCounter,
    acks: &mut Histogram<u64>,
    acked: &mut Vec<String>,
) -> Result<Round, String> {
    let before = notify_stats(ask).await;
    let (opened0, raised0, lagged0) = counter.counts();
    let codes: Vec<String> = handle
        .snapshot()
        .layout
        .venues
        .iter()
        .map(|v| v.code.clone())
        .collect();
    // Every venue at once: the 49 commands go together (each is audited
    // before it is applied).
    let t0 = Instant::now();
    let sent = futures_util::future::join_all(
        codes
            .iter()
            .map(|c| handle.send(Command::fault(c.clone(), FaultKind::UplinkDown, None))),
    )
    .await;
    let faults_sent = t0.elapsed();
    if let Some(Err(why)) = sent.into_iter().find(Result::is_err) {
        return Err(format!("a fault was refused: {why}"));
    }
    let late = plan.interval * 6;
    let settled = wait(handle, late, "every uplink down", storm_settled).await;
    let (down, skipped) = if let Ok(found) = settled {
        found
    } else {
        eprintln!(
            "  (storm not settled after {late:?}: {})",
            unsettled(&handle.snapshot())
        );
        wait(handle, plan.limit, "every uplink down", storm_settled).await?
    };
    let detected = t0.elapsed();
    let delivery = SystemTime::now()
        .duration_since(down.at)
        .unwrap_or_default();
    // Acknowledge every storm incident, one after another.
    let mut ack_max = Duration::ZERO;
    let since_settled = Instant::now();
    for (n, incident) in down.incidents.iter().enumerate() {
        let id = incident.id.to_string();
        let t = Instant::now();
        let answer = handle
            .send(Command::Incident(IncidentCommand::Ack {
                which: id.clone(),
                comment: "uplink storm, on it".to_owned(),
                expires: None,
            }))
            .await;
        let took = t.elapsed();
        ack_max = ack_max.max(took);
        if took > Duration::from_millis(20) {
            eprintln!(
                "  (slow ack: #{} of {}, {:.1} ms, sent {:.0} ms after the storm was seen settled)",
                n + 1,
                down.incidents.len(),
                ms(took),
                ms(t.duration_since(since_settled))
            );
        }
        record(acks, took);
        answer.map_err(|why| format!("ack {id} refused: {why}"))?;
        acked.push(id);
    }
    handle
        .send(Command::clear_faults(None))
        .await
        .map_err(|why| format!("clear refused: {why}"))?;
    let (up, recovery_skipped) = wait(
        handle,
        plan.limit,
        "every device OK again",
        recovery_settled,
    )
    .await?;
    // Resolved after the hold, so the next round opens new incidents.
    wait(handle, plan.limit, "every incident resolved", |s| {
        s.incidents.is_empty()
    })
    .await?;
    let after = notify_stats(ask).await;
    let (opened, raised, lagged) = counter.counts();
    Ok(Round {
        faults_sent,
        detected,
        settle: settle_of(&down),
        delivery,
        skipped,
        recovery_settle: settle_of(&up),
        recovery_skipped,
        incidents: opened - opened0,
        raised: raised - raised0,
        ack_max,
        lagged: lagged - lagged0,
        notices: after.notices - before.notices,
        notifications: after.notifications - before.notifications,
        storms: after.storms - before.storms,
        logged: after.desktop_logged - before.desktop_logged,
        desktop: after.desktop_sent - before.desktop_sent,
    })
}

/// One venue's uplink down, then `plan.notes` notes on its incident one
/// after another while every device is polled; the faults cleared after.
/// Returns the answer times and the incident's id.
async fn notes(plan: Plan, handle: &EngineHandle) -> Result<(Histogram<u64>, String), String> {
    let code = handle
        .snapshot()
        .layout
        .venues
        .first()
        .map(|v| v.code.clone())
        .ok_or("no venue")?;
    handle
        .send(Command::fault(code.clone(), FaultKind::UplinkDown, None))
        .await
        .map_err(|why| format!("fault refused: {why}"))?;
    let (snap, _) = wait(handle, plan.limit, "the venue's incident", |s| {
        s.venues.first().is_some_and(|v| v.incidents > 0)
    })
    .await?;
    let id = snap
        .incidents
        .iter()
        .find(|i| i.venue.is_some_and(|v| v.0 == 0))
        .map(|i| i.id.to_string())
        .ok_or("no incident at the first venue")?;
    let mut h = histogram()?;
    for n in 0..plan.notes {
        let t = Instant::now();
        let answer = handle
            .send(Command::Incident(IncidentCommand::Note {
                which: id.clone(),
                text: format!("bench note {n}"),
            }))
            .await;
        record(&mut h, t.elapsed());
        answer.map_err(|why| format!("note {n} refused: {why}"))?;
    }
    handle
        .send(Command::clear_faults(None))
        .await
        .map_err(|why| format!("clear refused: {why}"))?;
    Ok((h, id))
}

/// Notes on `id` and acknowledged incidents among `acked`, as the store
/// holds them now.
fn durable(store: &Path, id: &str, acked: &[String]) -> Result<(usize, usize), String> {
    let reader = toc::store::Reader::open(store)?;
    let (_, timeline) = reader
        .incident(id)?
        .ok_or_else(|| format!("incident {id} is not in the store"))?;
    let notes = timeline
        .iter()
        .filter(|e| e.kind == TimelineKind::Note)
        .count();
    let mut acks = 0;
    for a in acked {
        if let Some((record, _)) = reader.incident(a)?
            && record.ack.is_some()
        {
            acks += 1;
        }
    }
    Ok((notes, acks))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn verdict(met: bool) -> &'static str {
    if met { "MET" } else { "MISSED" }
}

impl Report {
    fn print(&self, stats: Option<StatsSnapshot>) {
        println!(
            "  every device OK after {:.1} s",
            self.up_after.as_secs_f64()
        );
        println!(
            "  round  faults sent  detected  settle  delivery  skipped  recovery settle  incidents (raised to DOWN)  ack max  notices  notifications (storms, logged, desktop)"
        );
        for (i, r) in self.rounds.iter().enumerate() {
            println!(
                "  {:>5}  {:>8.1} ms  {:>6.1} s  {:>4.1} ms  {:>5.1} ms  {:>7}  {:>12.0} ms  {:>9} ({:>2})  {:>7.1} ms  {:>7}  {} ({}, {}, {}){}",
                i + 1,
                ms(r.faults_sent),
                r.detected.as_secs_f64(),
                ms(r.settle),
                ms(r.delivery),
                r.skipped + r.recovery_skipped,
                ms(r.recovery_settle),
                r.incidents,
                r.raised,
                ms(r.ack_max),
                r.notices,
                r.notifications,
                r.storms,
                r.logged,
                r.desktop,
                if r.lagged > 0 {
                    format!(" ({} events missed)", r.lagged)
                } else {
                    String::new()
                }
            );
        }
        let worst = self
            .rounds
            .iter()
            .map(|r| r.settle.max(r.recovery_settle))
            .max()
            .unwrap_or_default();
        println!(
            "  storm settle (last observation -> snapshot), worst of {} rounds, down and up: {:.1} ms (target 250 ms): {}",
            self.rounds.len(),
            ms(worst),
            verdict(ms(worst) <= SETTLE_TARGET_MS)
        );
        let opened: u64 = self.rounds.iter().map(|r| r.incidents).sum();
        let sent: u64 = self.rounds.iter().map(|r| r.notifications).sum();
        println!(
            "  incidents opened: {opened} over {} rounds; notifications sent during the rounds: {sent}",
            self.rounds.len()
        );
        if let Some(s) = stats {
            println!(
                "  notifier at the end: {} notices, {} notifications ({} storms), desktop {} sent, {} logged (no session bus), {} failed, {} dropped",
                s.notices,
                s.notifications,
                s.storms,
                s.desktop_sent,
                s.desktop_logged,
                s.desktop_failed,
                s.desktop_dropped + s.notices_dropped
            );
        }
        if let Some(h) = &self.acks {
            print_answers("ack", h, self.acks_sent, self.acks_stored);
        }
        if let Some(h) = &self.notes {
            print_answers(
                "note",
                h,
                usize::try_from(h.len()).unwrap_or(0),
                self.notes_stored,
            );
        }
    }
}

fn print_answers(what: &str, h: &Histogram<u64>, sent: usize, stored: usize) {
    let q = |p: f64| h.value_at_quantile(p) as f64 / 1000.0;
    let p99 = q(0.99);
    println!(
        "  :{what} answer (audit + store fsync), {sent} sent, {stored} in the store: p50 {:.2} ms, p99 {p99:.2} ms, max {:.2} ms (target p99 20 ms): {}",
        q(0.5),
        h.max() as f64 / 1000.0,
        verdict(p99 <= ANSWER_TARGET_MS)
    );
}
