//! The relay's journal on this machine's disk. Prints:
//!
//! - append throughput and per-batch latency p50/p99 (from `append` to
//!   its return, i.e. durable when fsync is on) for 4 KB records in
//!   batches of 1, 16 and 128, fsync on and off;
//! - a 1 GB journal (4 KB records, 64 MiB segments): its reopen time
//!   (target under 1 s) and replay from that fresh open, read in pieces
//!   of 1,000 records (target at least 50,000 msg/s).
//!
//! Run with `cargo bench --bench journal`; without `--bench` (as `cargo
//! test --all-targets` runs it) it does a quick round on a 32 MB journal.
//! The files go under `target/` (or `TOC_BENCH_DIR`), not `/tmp`, and
//! are deleted after. Page cache is not dropped: "cold" is a fresh
//! process state, not a cold disk, unless the caller drops caches.
#![allow(
    clippy::cast_precision_loss,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation
)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use hdrhistogram::Histogram;
use toc::relay::journal::{Journal, JournalOptions, Log, Record};

const RECORD: usize = 4096;

fn bench_dir() -> PathBuf {
    let base =
        std::env::var_os("TOC_BENCH_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    std::fs::create_dir_all(&base).expect("bench dir");
    base
}

fn record_bytes(n: usize) -> Vec<u8> {
    (0..RECORD).map(|i| (i ^ n).to_le_bytes()[0]).collect()
}

/// Appends for about `budget` in batches of `batch`; returns msg/s and
/// per-batch latency (µs) p50/p99.
fn appends(dir: &Path, fsync: bool, batch: usize, budget: Duration) -> (f64, u64, u64) {
    let (j, _) = Journal::open(
        dir,
        JournalOptions {
            segment_size: 64 << 20,
            fsync,
        },
    )
    .expect("open");
    let data: Vec<Vec<u8>> = (0..batch).map(record_bytes).collect();
    let mut hist = Histogram::<u64>::new(3).expect("histogram");
    let start = Instant::now();
    let mut n = 0u64;
    let mut since_gc = 0;
    while start.elapsed() < budget {
        let now = SystemTime::now();
        let recs: Vec<Record<'_>> = data.iter().map(|d| Record { time: now, data: d }).collect();
        let t = Instant::now();
        j.append(&recs).expect("append");
        hist.record(t.elapsed().as_micros() as u64).expect("record");
        n += batch as u64;
        since_gc += batch;
        // Keep the disk use bounded: a consumer keeps up.
        if since_gc > 50_000 {
            j.set_floor(u64::MAX).expect("floor");
            j.set_cursor("bench", j.head()).expect("cursor");
            since_gc = 0;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    (
        n as f64 / secs,
        hist.value_at_quantile(0.5),
        hist.value_at_quantile(0.99),
    )
}

fn big_journal(dir: &Path, bytes: u64) -> u64 {
    let (j, _) = Journal::open(
        dir,
        JournalOptions {
            segment_size: 64 << 20,
            fsync: false,
        },
    )
    .expect("open");
    let data: Vec<Vec<u8>> = (0..128).map(record_bytes).collect();
    let now = SystemTime::now();
    let recs: Vec<Record<'_>> = data.iter().map(|d| Record { time: now, data: d }).collect();
    while j.bytes() < bytes || j.head() * (RECORD as u64) < bytes {
        j.append(&recs).expect("append");
    }
    j.head() - 1
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let budget = if quick {
        Duration::from_millis(200)
    } else {
        Duration::from_secs(3)
    };
    let big = if quick { 32 << 20 } else { 1 << 30 };
    let base = bench_dir();
    println!(
        "journal: 4 KB records, 64 MiB segments, in {}",
        base.display()
    );
    println!(
        "{:<7} {:>6} {:>12} {:>10} {:>14} {:>14}",
        "fsync", "batch", "msg/s", "MB/s", "batch p50 µs", "batch p99 µs"
    );
    for fsync in [true, false] {
        for batch in [1, 16, 128] {
            let dir = tempfile::tempdir_in(&base).expect("tempdir");
            let (rate, p50, p99) = appends(dir.path(), fsync, batch, budget);
            println!(
                "{:<7} {:>6} {:>12.0} {:>10.1} {:>14} {:>14}",
                if fsync { "on" } else { "off" },
                batch,
                rate,
                rate * RECORD as f64 / 1e6,
                p50,
                p99
            );
        }
    }
    let dir = tempfile::tempdir_in(&base).expect("tempdir");
    let t = Instant::now();
    let records = big_journal(dir.path(), big);
    println!(
        "wrote {records} records ({} MB) in {:.1} s",
        (records * RECORD as u64) >> 20,
        t.elapsed().as_secs_f64()
    );
    let (j, report) = Journal::open(dir.path(), JournalOptions::default()).expect("reopen");
    println!(
        "reopen: {:.1} ms for {} records in {} segments (target < 1000 ms)",
        report.took.as_secs_f64() * 1e3,
        report.records,
        report.segments
    );
    let t = Instant::now();
    let mut next = j.first();
    let mut bytes = 0;
    while next < j.head() {
        let got = j.read(next, 1000, 8 << 20).expect("read");
        bytes += got.iter().map(|s| s.data.len()).sum::<usize>();
        next = got.last().map_or(next, |s| s.seq + 1);
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "replay: {:.0} msg/s, {:.0} MB/s from a fresh open (target >= 50000 msg/s)",
        (next - 1) as f64 / secs,
        bytes as f64 / secs / 1e6
    );
}
