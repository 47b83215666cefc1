//! The relay's crash guarantee against the real `toc serve`: two sources
//! post realistic ODF as fast as answers come; the process is killed with
//! SIGKILL at a random moment, ten times, and restarted on the same data
//! folder. Then every message acknowledged to a source (200 `forwarded`
//! or `duplicate`) must have reached both sinks, each document's first
//! deliveries in ascending version, the only repeats exact (key,
//! version) repeats of the same journal record; and SIGTERM exits 0.
//!
//! `TOC_CRASH_SEED=N` replays the kill moments of a run (it prints its
//! seed).
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod relay_support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::{Rng as _, SeedableRng as _};
use relay_support::{Consumers, Posted, Serve, acked, check, check_files, post_lane, venues};
use tokio::sync::watch;

const ROUNDS: usize = 10;
/// Lanes per source (documents posted side by side).
const LANES: u64 = 16;
const SINKS: [&str; 2] = ["commentators", "web"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_survive_ten_sigkills_in_order() {
    let started = Instant::now();
    let seed: u64 = std::env::var("TOC_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    println!("seed {seed} (TOC_CRASH_SEED={seed} replays the kill moments)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);

    let dir = tempfile::tempdir().unwrap();
    let consumers = Arc::new(Consumers::default());
    let at = consumers.start().await;
    let mut sinks: Vec<(&str, String)> = SINKS
        .iter()
        .map(|id| {
            (
                *id,
                format!("kind = \"http\"\nurl = \"http://{at}/sink/{id}\""),
            )
        })
        .collect();
    sinks.push(("archive", "kind = \"file\"\ndir = \"archive\"".to_owned()));
    let file = venues(dir.path(), at, &sinks);

    let (addr_tx, addr_rx) = watch::channel(None);
    let stop = Arc::new(AtomicBool::new(false));
    let posted = Arc::new(Posted::default());
    let mut lanes = Vec::new();
    for source in 0..2 {
        for lane in 0..LANES {
            lanes.push(tokio::spawn(post_lane(
                (source, lane),
                Duration::ZERO,
                addr_rx.clone(),
                Arc::clone(&stop),
                Arc::clone(&posted),
            )));
        }
    }

    let mut restarts = Vec::new();
    let mut acks_at_kill = Vec::new();
    for round in 0..=ROUNDS {
        let (f, d) = (file.clone(), dir.path().to_owned());
        let serve = tokio::task::spawn_blocking(move || Serve::start(&f, &d))
            .await
            .unwrap();
        restarts.push(serve.took);
        posted.run.store(round, Ordering::Relaxed);
        addr_tx.send_replace(Some(serve.addr));
        if round == ROUNDS {
            // The last run: post a little more, then stop the sources.
            tokio::time::sleep(Duration::from_secs(1)).await;
            stop.store(true, Ordering::Relaxed);
            for l in lanes.drain(..) {
                l.await.unwrap();
            }
            let archive = dir.path().join("archive");
            finish(
                serve,
                (&consumers, &archive),
                &posted,
                &restarts,
                &acks_at_kill,
            )
            .await;
            break;
        }
        let after = Duration::from_millis(rng.random_range(50..=500));
        tokio::time::sleep(after).await;
        addr_tx.send_replace(None);
        tokio::task::spawn_blocking(move || serve.kill())
            .await
            .unwrap();
        acks_at_kill.push((after, posted.acks.lock().unwrap().len()));
    }
    println!("wall time {:.1} s", started.elapsed().as_secs_f64());
}

/// Waits for both sinks to have every acknowledged message, checks them,
/// prints the figures, and stops the process with SIGTERM (exit 0).
async fn finish(
    serve: Serve,
    (consumers, archive): (&Consumers, &Path),
    posted: &Posted,
    restarts: &[Duration],
    kills: &[(Duration, usize)],
) {
    let acked = acked(posted);
    let until = Instant::now() + Duration::from_secs(30);
    let (checks, files) = loop {
        let checks = SINKS
            .iter()
            .map(|id| check(&consumers.got(id), &acked))
            .collect::<Vec<_>>();
        let files = check_files(archive, &acked);
        if checks.iter().all(|c| c.missing.is_empty()) && files.missing.is_empty()
            || Instant::now() > until
        {
            break (checks, files);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let outcomes = posted.outcomes.lock().unwrap().clone();
    println!(
        "acknowledged {} messages ({} distinct (key, version)); answers {outcomes:?}",
        posted.acks.lock().unwrap().len(),
        acked.len()
    );
    let kills: Vec<String> = kills
        .iter()
        .map(|(after, n)| format!("{}ms/{n}", after.as_millis()))
        .collect();
    println!("killed after (ms)/acks so far: {}", kills.join(" "));
    let restarts: Vec<String> = restarts
        .iter()
        .map(|t| format!("{}", t.as_millis()))
        .collect();
    println!("start to `relay listening` (ms): {}", restarts.join(" "));
    for (id, c) in SINKS.iter().zip(&checks) {
        println!(
            "sink {id}: delivered {}, first time {}, exact repeats {}, missing {}, wrong {}",
            c.delivered,
            c.first_time,
            c.repeats,
            c.missing.len(),
            c.wrong.len()
        );
    }
    for (id, c) in SINKS.iter().zip(&checks) {
        let some: Vec<String> = c
            .missing
            .iter()
            .take(20)
            .map(|(k, v)| {
                let runs: Vec<String> = posted
                    .acks
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|a| a.key == *k && a.version == *v)
                    .map(|a| format!("{} in run {}", a.outcome, a.run))
                    .collect();
                format!("{} {} v{v}: {runs:?}", k.document_code, k.document_type)
            })
            .collect();
        assert!(
            c.missing.is_empty(),
            "sink {id} lacks {} acknowledged messages, e.g. {some:?}",
            c.missing.len()
        );
        assert!(
            c.wrong.is_empty(),
            "sink {id}: {:?}",
            &c.wrong[..c.wrong.len().min(5)]
        );
    }
    println!(
        "sink archive: {} files, {} leftovers of cut writes (.tmp), missing {}, wrong {}",
        files.files,
        files.leftovers,
        files.missing.len(),
        files.wrong.len()
    );
    assert!(
        files.missing.is_empty(),
        "the archive lacks {} acknowledged messages",
        files.missing.len()
    );
    assert!(
        files.wrong.is_empty(),
        "archive: {:?}",
        &files.wrong[..files.wrong.len().min(5)]
    );
    // A debug build on two shared cores takes some hundreds a second.
    assert!(
        acked.len() > 300,
        "too little load to mean anything: {} acknowledged",
        acked.len()
    );
    let status = tokio::task::spawn_blocking(move || serve.terminate(Duration::from_secs(20)))
        .await
        .unwrap();
    let status = status.expect("toc serve exits within 20 s of SIGTERM");
    assert!(status.success(), "SIGTERM: {status}");
}
