//! The result relay side by side with NATS JetStream, in one run. Prints:
//!
//! (a) toc: two sources (two keep-alive HTTP clients, each posting every
//!     message, so half of what arrives is a duplicate) at 10,000 posts/s
//!     in total, paced open loop (each post leaves at its time, whatever
//!     the answers before), 2-8 KB ODF from the simulator's results
//!     systems (thousands of competition units side by side, versions ascending), into an HTTP
//!     consumer and a TCP subscriber, fsync on and off: acknowledged and
//!     forwarded msg/s; ack latency as the source sees it (from the
//!     scheduled send); added latency from ingest (the envelope's
//!     received time, read back from the journal) to the consumer's
//!     receipt; end to end (scheduled first post to receipt);
//! (b) the same schedule and messages through Debian's nats-server with
//!     JetStream on loopback (file storage, dedup on `Nats-Msg-Id` =
//!     document key + version, two push consumers): publish acks and
//!     deliveries, added latency from the stream's stored timestamp;
//! then the ratios, the replay rate of a TCP sink over 120,000 journaled
//!     messages, and RSS while the HTTP consumer answers 503 for 60 s as
//!     ingest goes on at 2,000 posts/s.
//!
//! `cargo bench --bench relay`; `RELAY_BENCH_QUICK=1` for a short run;
//! `RELAY_BENCH_RATE` sets the posts/s (default 10000),
//! `RELAY_BENCH_CONNECTIONS` each source's HTTP connections (default 32; a
//! post waits for a free one, and the wait counts in its latency). Without `--bench`
//! (as `cargo test --all-targets` runs it) it does a short smoke round
//! without JetStream. Files go under `target/` (or `TOC_BENCH_DIR`).
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::unwrap_used,
    clippy::expect_used,
    missing_debug_implementations
)]

mod common;
mod nats;
mod toc_side;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Row;

#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

struct Settings {
    /// Seconds of each (a)/(b) phase.
    secs: f64,
    /// Posts per second offered in total (each message twice).
    posts: f64,
    /// Seconds the sink is down, and posts/s meanwhile.
    down_secs: f64,
    down_posts: f64,
    /// Messages replayed.
    replay: usize,
    jetstream: bool,
}

fn settings() -> Settings {
    let bench = std::env::args().any(|a| a == "--bench");
    let quick = !bench || std::env::var("RELAY_BENCH_QUICK").is_ok_and(|v| v != "0");
    let posts = std::env::var("RELAY_BENCH_RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000.0);
    let (secs, down_secs, replay) = match (bench, quick) {
        (false, _) => (1.0, 2.0, 5_000),
        (true, true) => (2.0, 5.0, 20_000),
        (true, false) => (10.0, 60.0, 120_000),
    };
    Settings {
        secs,
        posts,
        down_secs,
        down_posts: 2_000.0,
        replay,
        jetstream: bench,
    }
}

fn bench_dir() -> PathBuf {
    let base =
        std::env::var_os("TOC_BENCH_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    base.join(format!("relay-bench-{}", std::process::id()))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}x", a / b)
    } else {
        "-".to_owned()
    }
}

fn print_ratios(rows: &[Row], js: Option<&Row>) {
    let Some(js) = js else {
        return;
    };
    println!(
        "\nratios against JetStream (nats-server 2.9 has no per-message fsync setting: the same JetStream run, its default periodic sync, is compared with both)"
    );
    for r in rows {
        println!(
            "  {:<14} acked {} (target >= {})   forwarded (slowest sink) {}",
            r.system,
            ratio(r.acked, js.acked),
            if r.system.ends_with("on") {
                "0.5x"
            } else {
                "1x"
            },
            ratio(r.forwarded(), js.forwarded()),
        );
    }
}

async fn run(s: &Settings) {
    let dir = bench_dir();
    let unique = (s.secs * s.posts / 2.0) as usize;
    let down_unique = ((s.down_secs + 1.0) * s.down_posts / 2.0) as usize;
    let t = Instant::now();
    let corpus = common::corpus(unique.max(down_unique).max(1000));
    let bytes: usize = corpus.iter().map(|m| m.body.len()).sum();
    let index = Arc::new(common::index(&corpus));
    println!(
        "relay bench: {} distinct messages ({:.1} KB mean, 2-8 KB), generated in {:.1} s; load average {}; {} cores",
        corpus.len(),
        bytes as f64 / corpus.len() as f64 / 1024.0,
        t.elapsed().as_secs_f64(),
        load_average(),
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
    );
    println!(
        "each phase: {:.0} posts/s offered (2 sources x {:.0} msg/s, half duplicates) for {:.0} s; latencies in ms\n",
        s.posts,
        s.posts / 2.0,
        s.secs
    );
    let mut rows = Vec::new();
    for fsync in [true, false] {
        let row = toc_side::phase(
            &dir.join("toc"),
            fsync,
            &corpus,
            &index,
            unique,
            s.posts / 2.0,
        )
        .await;
        row.print();
        rows.push(row);
    }
    let js = jetstream(s, &dir, &corpus, &index, unique).await;
    print_ratios(&rows, js.as_ref());
    println!("load average now {}", load_average());
    let (rate, n) = toc_side::replay(&dir.join("replay"), &corpus, &index, s.replay).await;
    println!(
        "\nreplay: a TCP sink replayed {n} journaled messages at {rate:.0} msg/s (target >= 50000)"
    );
    let down = toc_side::sink_down(
        &dir.join("down"),
        &corpus,
        &index,
        s.down_secs,
        s.down_posts / 2.0,
    )
    .await;
    let rss: Vec<String> = down.rss.iter().map(|m| format!("{m:.0}")).collect();
    println!(
        "sink down {:.0} s at {:.0} posts/s: process RSS MiB {} (target: flat); backlog {} when back, drained in {:.1} s; {} posts not acknowledged",
        s.down_secs,
        s.down_posts,
        rss.join(" -> "),
        down.backlog,
        down.drain.as_secs_f64(),
        down.failed,
    );
    println!("load average at the end {}", load_average());
    let _ = std::fs::remove_dir_all(&dir);
}

async fn jetstream(
    s: &Settings,
    dir: &std::path::Path,
    corpus: &[common::Msg],
    index: &Arc<std::collections::HashMap<String, usize>>,
    unique: usize,
) -> Option<Row> {
    if !s.jetstream {
        println!("JetStream: skipped (smoke run without --bench)");
        return None;
    }
    let Some(bin) = nats::find() else {
        println!(
            "JetStream: skipped: nats-server not found on PATH, /usr/sbin or /usr/bin (install: apt-get install -y nats-server)"
        );
        return None;
    };
    match nats::phase(
        &bin,
        &dir.join("nats"),
        corpus,
        index,
        unique,
        s.posts / 2.0,
    )
    .await
    {
        Ok(row) => {
            row.print();
            Some(row)
        }
        Err(e) => {
            println!("JetStream: failed: {e}");
            None
        }
    }
}

fn main() {
    let s = settings();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(&s));
    rt.shutdown_timeout(Duration::from_secs(2));
}
