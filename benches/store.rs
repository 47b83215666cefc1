//! The incident store at Games scale. Prints, beside their targets:
//!
//! - acked single-operation batches written one at a time (fsync on):
//!   p50/p99 from `write()` to the ack;
//! - a store of 100,000 incidents and 1,000,000 audit records (built in
//!   one transaction, not through the writer): the store's open at start
//!   (migrate and load; target 1 s), the open-incident list through a
//!   `Reader` (target 20 ms) and `audit_since(now - 1h)` (target 100 ms).
//!
//! Run with `cargo bench --bench store`; without `--bench` (as `cargo test
//! --all-targets` runs it) it does a quick round on 1,000 incidents and
//! 10,000 audit records.
#![allow(
    clippy::cast_precision_loss,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation
)]

use std::path::Path;
use std::sync::mpsc::channel;
use std::time::{Duration, Instant, SystemTime};

use toc::engine::port::{AuditRecord, IncidentStore as _, StoreOp};
use toc::engine::{Command, Identity, Role};
use toc::incident::record::{Ack, IncidentRecord, IncidentState, TimelineEntry, TimelineKind};
use toc::store::writer::{apply, connect};
use toc::store::{Filter, Reader, Store};

const DAY: Duration = Duration::from_secs(24 * 3600);

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let (incidents, audits, acks) = if quick {
        (1_000, 10_000, 50)
    } else {
        (100_000, 1_000_000, 2_000)
    };
    let dir = tempfile::tempdir().expect("a temporary folder");
    println!(
        "store{}: {incidents} incidents, {audits} audit records, {acks} acked writes",
        if quick { " (quick)" } else { "" }
    );
    ack_latency(&dir.path().join("acks.db"), acks);
    big_store(&dir.path().join("big.db"), incidents, audits);
}

/// p-th percentile (nearest rank) of sorted durations.
fn pct(sorted: &[Duration], p: usize) -> Duration {
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank.min(sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn ack_latency(path: &Path, n: usize) {
    let (store, _) = Store::open(path).expect("opens");
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let (tx, rx) = channel();
        let op = StoreOp::Timeline(TimelineEntry {
            incident: "1-1".to_owned(),
            at: SystemTime::now(),
            kind: TimelineKind::Note,
            by: Some("mara".to_owned()),
            text: format!("note {i}"),
        });
        let start = Instant::now();
        store
            .write(
                vec![op],
                Some(Box::new(move |r| {
                    let _ = tx.send(r);
                })),
            )
            .expect("queued");
        rx.recv().expect("acked").expect("written");
        times.push(start.elapsed());
    }
    times.sort();
    println!(
        "  write -> ack (one op, fsync): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms \
         (command answer target: p99 <= 20 ms)",
        ms(pct(&times, 50)),
        ms(pct(&times, 99)),
        ms(pct(&times, 100)),
    );
}

/// Incident `i` of `n`, opened over `span` before `now`; one in a hundred
/// is not resolved.
fn record(i: usize, n: usize, now: SystemTime, span: Duration) -> IncidentRecord {
    let opened = now - span.mul_f64(1.0 - i as f64 / n as f64);
    let venue = format!("V{:02}", i % 49);
    let is_open = i.is_multiple_of(100);
    IncidentRecord {
        id: format!("{}-{i}", 1 + i / 5000),
        key: format!("device-down:{venue}-dev-{}", i % 2000),
        kind: "device-down".to_owned(),
        subject: format!("{venue}-dev-{}", i % 2000),
        venue,
        severity: ["DOWN", "DEGRADED", "UNKNOWN"][i % 3].to_owned(),
        title: format!("device {i} is down"),
        state: if is_open {
            IncidentState::Open
        } else {
            IncidentState::Resolved
        },
        opened_at: opened,
        ack: i.is_multiple_of(2).then(|| Ack {
            by: "mara".to_owned(),
            at: opened + Duration::from_secs(60 + (i % 600) as u64),
            comment: "on it".to_owned(),
            expires: None,
        }),
        resolved_at: (!is_open).then(|| opened + Duration::from_secs(600 + (i % 3600) as u64)),
        resolved_by: None,
        reopened: 0,
        in_maintenance: false,
        notified_at: Some(opened),
    }
}

fn audit(i: usize, at: SystemTime) -> AuditRecord {
    AuditRecord {
        at,
        identity: Identity {
            user: "mara".to_owned(),
            role: Role::DutyManager,
            venues: Vec::new(),
        },
        text: format!("maint V{:02}-dev-{i} on", i % 49),
        command: Command::end_maintenance(format!("V{:02}-dev-{i}", i % 49)),
        applied: true,
        outcome: "done".to_owned(),
    }
}

/// Builds the store in one transaction (not through the writer).
fn build(path: &Path, incidents: usize, audits: usize, now: SystemTime) {
    let started = Instant::now();
    drop(Store::open(path).expect("creates"));
    let mut conn = connect(path).expect("connects");
    let tx = conn.transaction().expect("begins");
    let span = 30 * DAY;
    for i in 0..incidents {
        let r = record(i, incidents, now, span);
        let note = StoreOp::Timeline(TimelineEntry {
            incident: r.id.clone(),
            at: r.opened_at + Duration::from_secs(30),
            kind: TimelineKind::Note,
            by: Some("mara".to_owned()),
            text: "checked the patch panel".to_owned(),
        });
        apply(&tx, &StoreOp::Incident(r)).expect("incident");
        apply(&tx, &note).expect("note");
    }
    for i in 0..audits {
        let at = now - span.mul_f64(1.0 - i as f64 / audits as f64);
        apply(&tx, &StoreOp::Audit(audit(i, at))).expect("audit");
    }
    tx.commit().expect("commits");
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    println!(
        "  built in {:.1} s ({:.0} MB)",
        started.elapsed().as_secs_f64(),
        size as f64 / 1e6
    );
}

/// Runs `f` `rounds` times: its fastest, median and slowest times, and
/// what it last returned.
fn timed<T>(rounds: usize, mut f: impl FnMut() -> T) -> (Duration, Duration, Duration, T) {
    let mut times = Vec::with_capacity(rounds);
    let mut last = None;
    for _ in 0..rounds {
        let start = Instant::now();
        last = Some(f());
        times.push(start.elapsed());
    }
    times.sort();
    (
        times[0],
        pct(&times, 50),
        pct(&times, 100),
        last.expect("one round"),
    )
}

fn big_store(path: &Path, incidents: usize, audits: usize) {
    let now = SystemTime::now();
    build(path, incidents, audits, now);
    let (min, p50, max, loaded) = timed(5, || {
        let (store, loaded) = Store::open(path).expect("opens");
        store.close();
        loaded.incidents.len()
    });
    println!(
        "  store open (migrate + load, {loaded} incidents loaded): min {:.1} ms, p50 {:.1} ms, max {:.1} ms \
         (target 1000 ms)",
        ms(min),
        ms(p50),
        ms(max)
    );
    let reader = Reader::open(path).expect("reads");
    let (min, p50, max, listed) = timed(20, || {
        reader.incidents(Filter::NotResolved).expect("lists").len()
    });
    println!(
        "  open-incident list ({listed} incidents): min {:.1} ms, p50 {:.1} ms, max {:.1} ms (target 20 ms)",
        ms(min),
        ms(p50),
        ms(max)
    );
    let (min, p50, max, n) = timed(20, || {
        reader
            .audit_since(now - Duration::from_secs(3600))
            .expect("audit")
            .len()
    });
    println!(
        "  audit since 1 h ({n} records): min {:.1} ms, p50 {:.1} ms, max {:.1} ms (target 100 ms)",
        ms(min),
        ms(p50),
        ms(max)
    );
}
