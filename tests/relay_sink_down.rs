//! A sink whose consumer is down for 60 s, against the real `toc serve`:
//! two sources keep posting realistic ODF (about 100 new messages a
//! second, each posted by both); the consumer of sink `web` answers 503
//! for 60 s while sink `live` keeps taking. Meanwhile ingest answers stay
//! fast, the other sink keeps delivering, and the relay's resident memory
//! stays flat (the backlog is in the journal, not in memory). Then the
//! consumer comes back and receives everything, in order, nothing lost;
//! and SIGTERM exits 0. About 75 s of wall time.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod relay_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use relay_support::{Consumers, Posted, Serve, acked, check, post_lane, quantiles, venues};
use tokio::sync::watch;

const OUTAGE: Duration = Duration::from_secs(60);
const LANES: u64 = 4;
/// Each lane posts one message every this long: 2 sources x 4 lanes at
/// 25/s, so about 100 new messages a second, each posted twice.
const PACE: Duration = Duration::from_millis(40);

/// The answer times (microseconds) of the 200s that came between `from`
/// and `to`.
fn answers(posted: &Posted, from: Instant, to: Instant) -> Vec<u64> {
    posted
        .answers
        .lock()
        .unwrap()
        .iter()
        .filter(|(at, _)| *at >= from && *at < to)
        .map(|(_, us)| *us)
        .collect()
}

fn percentile(us: &mut [u64], q: f64) -> u64 {
    us.sort_unstable();
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((us.len() as f64 - 1.0) * q).round() as usize;
    us[i]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_down_for_60s_then_back_gets_everything_in_order_with_ingest_fast_and_rss_flat() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let consumers = Arc::new(Consumers::default());
    let at = consumers.start().await;
    let sinks: Vec<(&str, String)> = ["live", "web"]
        .iter()
        .map(|id| {
            (
                *id,
                format!("kind = \"http\"\nurl = \"http://{at}/sink/{id}\""),
            )
        })
        .collect();
    let file = venues(dir.path(), at, &sinks);
    let (f, d) = (file.clone(), dir.path().to_owned());
    let serve = tokio::task::spawn_blocking(move || Serve::start(&f, &d))
        .await
        .unwrap();
    let (_addr_tx, addr_rx) = watch::channel(Some(serve.addr));
    let stop = Arc::new(AtomicBool::new(false));
    let posted = Arc::new(Posted::default());
    let lanes: Vec<_> = (0..2)
        .flat_map(|source| (0..LANES).map(move |lane| (source, lane)))
        .map(|(source, lane)| {
            tokio::spawn(post_lane(
                (source, lane),
                PACE,
                addr_rx.clone(),
                Arc::clone(&stop),
                Arc::clone(&posted),
            ))
        })
        .collect();

    // Before: 5 s with every consumer up.
    let before = Instant::now();
    tokio::time::sleep(Duration::from_secs(5)).await;
    consumers.set_down("web", true);
    let down = Instant::now();
    let web_before = consumers.got("web").len();
    let mut rss = vec![serve.rss_kib()];
    while down.elapsed() < OUTAGE {
        tokio::time::sleep(Duration::from_secs(5)).await;
        rss.push(serve.rss_kib());
    }
    let web_during = consumers.got("web").len() - web_before;
    let live_during = consumers
        .got("live")
        .iter()
        .filter(|g| g.at >= down)
        .count();
    let refused = consumers.refused();
    consumers.set_down("web", false);
    let back = Instant::now();
    // A little more with the consumer back, then the sources stop.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    for l in lanes {
        l.await.unwrap();
    }
    let acked = acked(&posted);
    let until = Instant::now() + Duration::from_secs(60);
    let checks = loop {
        let checks: Vec<_> = ["live", "web"]
            .iter()
            .map(|id| check(&consumers.got(id), &acked))
            .collect();
        if checks.iter().all(|c| c.missing.is_empty()) || Instant::now() > until {
            break checks;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let seen = Seen {
        drained: back.elapsed(),
        pre: answers(&posted, before, down),
        during: answers(&posted, down, back),
        rss,
        web_during,
        live_during,
        refused,
    };
    println!(
        "acknowledged {} messages ({} distinct); answers {:?}; wall time {:.1} s",
        posted.acks.lock().unwrap().len(),
        acked.len(),
        posted.outcomes.lock().unwrap(),
        started.elapsed().as_secs_f64()
    );
    judge(seen, &checks, acked.len());

    let status = tokio::task::spawn_blocking(move || serve.terminate(Duration::from_secs(20)))
        .await
        .unwrap()
        .expect("toc serve exits within 20 s of SIGTERM");
    assert!(status.success(), "SIGTERM: {status}");
}

/// What the test saw, from the outage to everything delivered.
struct Seen {
    drained: Duration,
    /// Ingest answer times (us) before and during the outage.
    pre: Vec<u64>,
    during: Vec<u64>,
    /// `toc serve`'s `VmRSS` (KiB) every 5 s of the outage.
    rss: Vec<u64>,
    web_during: usize,
    live_during: usize,
    refused: u64,
}

/// Prints the figures and asserts on them.
fn judge(mut s: Seen, checks: &[relay_support::Check], acked: usize) {
    println!(
        "ingest answers before the outage: {}",
        quantiles(&mut s.pre)
    );
    println!(
        "ingest answers during the outage: {}",
        quantiles(&mut s.during)
    );
    println!(
        "during the outage: web delivered {} (its consumer answered 503 {} times), live delivered {}",
        s.web_during, s.refused, s.live_during
    );
    let mib: Vec<String> = s
        .rss
        .iter()
        .map(|k| format!("{:.1}", f64::from(u32::try_from(*k).unwrap()) / 1024.0))
        .collect();
    println!(
        "toc serve VmRSS every 5 s of the outage (MiB): {}",
        mib.join(" ")
    );
    println!(
        "consumer back to everything delivered: {:.1} s",
        s.drained.as_secs_f64()
    );
    for (id, c) in ["live", "web"].iter().zip(checks) {
        println!(
            "sink {id}: delivered {}, first time {}, repeats {}, missing {}, wrong {}",
            c.delivered,
            c.first_time,
            c.repeats,
            c.missing.len(),
            c.wrong.len()
        );
        assert!(
            c.missing.is_empty(),
            "sink {id} lost {:?}",
            &c.missing[..c.missing.len().min(5)]
        );
        assert!(
            c.wrong.is_empty(),
            "sink {id}: {:?}",
            &c.wrong[..c.wrong.len().min(5)]
        );
        assert_eq!(c.repeats, 0, "sink {id}: no crash, so no repeat");
    }
    assert!(acked > 3000, "too little load: {acked}");
    assert_eq!(s.web_during, 0, "the consumer was down");
    assert!(s.refused > 0, "the sink kept trying");
    assert!(
        s.live_during > 3000,
        "the other sink kept delivering: {}",
        s.live_during
    );
    let growth = s.rss.iter().max().unwrap() - s.rss[0];
    assert!(
        growth < 20 * 1024,
        "RSS grew {growth} KiB while the sink was down: {:?}",
        s.rss
    );
    // Ingest does not wait for the sink: answers during the outage are as
    // fast as before (with room for a busy shared machine).
    let (p50_pre, p50_during) = (percentile(&mut s.pre, 0.5), percentile(&mut s.during, 0.5));
    let p99_during = percentile(&mut s.during, 0.99);
    assert!(
        p50_during <= 2 * p50_pre + 5_000,
        "p50 {p50_during} us during vs {p50_pre} us before"
    );
    assert!(
        p99_during < 250_000,
        "p99 {p99_during} us during the outage"
    );
}
