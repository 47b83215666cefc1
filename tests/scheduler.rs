//! The poll scheduler with the real TCP probe against real listeners on
//! 127.0.0.1: fixed-rate polling beside a black hole, the concurrency limit,
//! the spread start, the per-check safety net, shutdown, and 10,000 devices.
//!
//! Intervals are short and bounds generous: the machine is shared, so these
//! tests check what happens, not how fast.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use toc::config::Inventory;
use toc::config::venues::Device;
use toc::model::CheckResult;
use toc::probe::Observation;
use toc::probe::scheduler::{self, SchedulerConfig};
use toc::probe::tcp::TcpProbe;
use tokio::sync::mpsc;
use tokio::time::Instant;

const INTERVAL: Duration = Duration::from_millis(300);

/// Loads an inventory of one venue whose devices have these probe URLs,
/// all with the same interval and timeout and no retries.
fn devices(probes: &[String], interval: &str, timeout: &str) -> Vec<(usize, Device)> {
    let mut text = format!(
        r#"
[event]
name = "Scheduler tests"
poll_interval = "{interval}"
timeout = "{timeout}"
retries = 0
max_attempts = 3

[[venues]]
code = "TST"
name = "Test venue"
city = "Loopback"
sports = ["Testing"]
"#
    );
    for (i, probe) in probes.iter().enumerate() {
        write!(
            text,
            "\n[[venues.devices]]\nid = \"TST-dev-{i}\"\nrole = \"timing-link\"\nprobe = \"{probe}\"\n"
        )
        .unwrap();
    }
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    let (inv, _warnings) = Inventory::load(file.path())
        .unwrap_or_else(|d| panic!("{}", toc::config::diag::render(&d)));
    inv.devices.into_iter().enumerate().collect()
}

fn tcp(addr: SocketAddr) -> String {
    format!("tcp://{addr}")
}

/// A listener that accepts and hangs up on every connection.
async fn live_listener() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            if let Ok((stream, _)) = listener.accept().await {
                drop(stream);
            }
        }
    });
    addr
}

/// Everything received until `until`, with the time it arrived.
async fn collect(
    rx: &mut mpsc::Receiver<Observation>,
    until: Instant,
) -> Vec<(Instant, Observation)> {
    let mut got = Vec::new();
    while let Ok(Some(obs)) = tokio::time::timeout_at(until, rx.recv()).await {
        got.push((Instant::now(), obs));
    }
    got
}

/// Start times of each device's observations, in order.
fn starts_by_device(got: &[(Instant, Observation)]) -> BTreeMap<usize, Vec<SystemTime>> {
    let mut by: BTreeMap<usize, Vec<SystemTime>> = BTreeMap::new();
    for (_, obs) in got {
        by.entry(obs.device).or_default().push(obs.at);
    }
    by
}

/// Whether the k-th start lies k intervals after the first, within `slack`:
/// a fixed rate with no cycle missed and none doubled.
fn off_the_fixed_rate(
    starts: &[SystemTime],
    interval: Duration,
    slack: Duration,
) -> Option<String> {
    let first = starts[0];
    for (k, at) in starts.iter().enumerate() {
        let offset = at.duration_since(first).unwrap_or_default();
        let want = interval * u32::try_from(k).unwrap();
        if offset.abs_diff(want) > slack {
            return Some(format!(
                "check {k} started {offset:?} after the first, want {want:?}"
            ));
        }
    }
    None
}

fn config(max_in_flight: usize) -> SchedulerConfig {
    SchedulerConfig {
        max_in_flight,
        retries: 0,
        ..SchedulerConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_targets_keep_their_rhythm_beside_a_black_hole() {
    let (hole, _keep) = support::tcp_black_hole();
    let mut probes = Vec::new();
    for _ in 0..200 {
        probes.push(tcp(live_listener().await));
    }
    probes.push(tcp(hole));
    let devs = devices(&probes, "300ms", "100ms");
    let hole_idx = 200;
    let (tx, mut rx) = mpsc::channel(1024);

    let spawned = Instant::now();
    let mut handle = scheduler::spawn(Arc::new(TcpProbe::new(0)), devs, tx, config(512));
    let got = collect(&mut rx, spawned + INTERVAL * 8).await;
    handle.shutdown().await;

    let by = starts_by_device(&got);
    assert_eq!(by.len(), 201, "every device was checked");
    let slack = INTERVAL / 3;
    for (dev, starts) in &by {
        assert!(
            starts.len() >= 7,
            "device {dev}: {} checks in 8 cycles",
            starts.len()
        );
        if let Some(why) = off_the_fixed_rate(starts, INTERVAL, slack) {
            panic!("device {dev}: {why}");
        }
    }
    for (_, obs) in &got {
        if obs.device == hole_idx {
            assert_eq!(
                obs.outcome.result,
                CheckResult::Fail("timed out after 100ms (1 attempt)".into())
            );
        } else {
            assert_eq!(obs.outcome.result, CheckResult::Ok, "device {}", obs.device);
        }
        assert!(
            obs.start_delay < slack,
            "device {} started {:?} late",
            obs.device,
            obs.start_delay
        );
    }
    // Live checks really ran while the black hole held its connect open.
    let hole_starts = &by[&hole_idx];
    let during_hole = got
        .iter()
        .filter(|(_, o)| o.device != hole_idx)
        .filter(|(_, o)| {
            hole_starts.iter().any(|&h| {
                o.at.duration_since(h)
                    .is_ok_and(|d| d < Duration::from_millis(90))
            })
        })
        .count();
    assert!(during_hole > 0, "no live check overlapped the black hole");

    let stats = handle.stats();
    assert_eq!(stats.overruns, 0, "{stats:?}");
    assert_eq!(stats.in_flight, 0, "{stats:?}");
    assert!(stats.completed >= got.len() as u64, "{stats:?}");
    assert!(stats.peak_in_flight >= 1, "{stats:?}");
    eprintln!("{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_concurrency_limit_holds() {
    // Twelve devices on one black hole: each check holds its turn for the
    // full 100ms timeout, so two turns cannot keep up with 12 checks every
    // 300ms and the limit decides.
    let (hole, _keep) = support::tcp_black_hole();
    let probes = vec![tcp(hole); 12];
    let devs = devices(&probes, "300ms", "100ms");
    let (tx, mut rx) = mpsc::channel(1024);

    let spawned = Instant::now();
    let run = Duration::from_millis(1500);
    let mut handle = scheduler::spawn(Arc::new(TcpProbe::new(0)), devs, tx, config(2));
    let got = collect(&mut rx, spawned + run).await;
    handle.shutdown().await;
    let stats = handle.stats();

    assert_eq!(stats.peak_in_flight, 2, "{stats:?}");
    // Unlimited, 12 devices would finish about 60 checks in 1.5s; two turns
    // of at least 100ms each allow at most 30.
    assert!(
        got.len() <= 2 * 15,
        "{} checks finished through 2 turns in {run:?}",
        got.len()
    );
    assert!(got.len() >= 4, "only {} checks", got.len());
    assert!(
        got.iter()
            .any(|(_, o)| o.start_delay >= Duration::from_millis(50)),
        "waiting for a turn shows in start_delay"
    );
    assert!(stats.skipped_slots > 0, "{stats:?}");
    assert!(stats.late_starts > 0, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_interval_still_gets_its_first_check_soon() {
    let addr = live_listener().await;
    let probes = vec![tcp(addr); 50];
    let devs = devices(&probes, "30s", "100ms");
    let (tx, mut rx) = mpsc::channel(1024);
    let cfg = SchedulerConfig {
        first_spread: Duration::from_millis(500),
        ..config(512)
    };
    let handle = scheduler::spawn(Arc::new(TcpProbe::new(0)), devs, tx, cfg);
    let got = collect(&mut rx, Instant::now() + Duration::from_millis(1500)).await;
    drop(handle);
    let by = starts_by_device(&got);
    assert_eq!(
        by.len(),
        50,
        "every 30 s device had its first check within 1.5 s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_checks_are_spread_across_the_interval() {
    let addr = live_listener().await;
    let probes = vec![tcp(addr); 100];
    let devs = devices(&probes, "1s", "100ms");
    let (tx, mut rx) = mpsc::channel(1024);

    let spawned = SystemTime::now();
    let handle = scheduler::spawn(Arc::new(TcpProbe::new(0)), devs, tx, config(512));
    let got = collect(&mut rx, Instant::now() + Duration::from_millis(1300)).await;
    drop(handle);

    let by = starts_by_device(&got);
    assert_eq!(by.len(), 100, "every device had its first check");
    let mut quarters = [0_usize; 4];
    for starts in by.values() {
        let offset = starts[0].duration_since(spawned).unwrap_or_default();
        let q = (offset.as_secs_f64() / 0.25).floor().clamp(0.0, 3.0);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let q = q as usize;
        quarters[q] += 1;
    }
    // 25 expected in each; fewer than 10 by chance is about 1 in 100,000.
    assert!(
        quarters.iter().all(|&n| n >= 10),
        "first checks per quarter of the interval: {quarters:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_that_outlives_its_budget_is_abandoned() {
    // The probe retries 3 times (4 × 100ms) but the scheduler budgets for
    // no retry: 100ms + 50ms grace.
    let (hole, _keep) = support::tcp_black_hole();
    let devs = devices(&[tcp(hole)], "1s", "100ms");
    let (tx, mut rx) = mpsc::channel(16);
    let cfg = SchedulerConfig {
        grace: Duration::from_millis(50),
        ..config(4)
    };

    let mut handle = scheduler::spawn(Arc::new(TcpProbe::new(3)), devs, tx, cfg);
    let obs = tokio::time::timeout(Duration::from_secs(3), rx.recv())
        .await
        .expect("an observation within the interval")
        .expect("the scheduler is running");
    let arrived = SystemTime::now();
    handle.shutdown().await;

    assert_eq!(
        obs.outcome.result,
        CheckResult::Fail("no answer within 150ms".into())
    );
    let took = arrived.duration_since(obs.at).unwrap_or_default();
    assert!(
        took < Duration::from_millis(400),
        "abandoned after {took:?}, before the probe's own 400ms"
    );
    let stats = handle.stats();
    assert_eq!((stats.overruns, stats.in_flight), (1, 0), "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_all_polling() {
    let addr = live_listener().await;
    let devs = devices(&vec![tcp(addr); 50], "300ms", "100ms");
    let (tx, mut rx) = mpsc::channel(1024);

    let mut handle = scheduler::spawn(Arc::new(TcpProbe::new(0)), devs, tx, config(512));
    let before = collect(&mut rx, Instant::now() + Duration::from_millis(700)).await;
    assert!(!before.is_empty());
    tokio::time::timeout(Duration::from_secs(2), handle.shutdown())
        .await
        .expect("shutdown is prompt");
    let stats = handle.stats();
    assert_eq!(stats.in_flight, 0, "{stats:?}");

    // What was sent before shutdown may still be queued; after it the
    // channel closes, because no polling task is left to send.
    let mut queued = 0;
    while tokio::time::timeout(Duration::from_secs(1), rx.recv())
        .await
        .expect("the channel closes after shutdown")
        .is_some()
    {
        queued += 1;
    }
    assert!(queued <= 50, "{queued} observations queued at shutdown");
    tokio::time::sleep(INTERVAL * 2).await;
    assert_eq!(
        handle.stats().started,
        stats.started,
        "no check after shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_handle_stops_all_polling() {
    let addr = live_listener().await;
    let devs = devices(&vec![tcp(addr); 20], "300ms", "100ms");
    let (tx, mut rx) = mpsc::channel(1024);

    let handle = scheduler::spawn(Arc::new(TcpProbe::new(0)), devs, tx, config(512));
    let before = collect(&mut rx, Instant::now() + Duration::from_millis(500)).await;
    assert!(!before.is_empty());
    drop(handle);

    let closed = async { while rx.recv().await.is_some() {} };
    tokio::time::timeout(Duration::from_secs(2), closed)
        .await
        .expect("the channel closes soon after the handle is dropped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_devices_are_each_polled_every_interval() {
    // 10,000 HTTP devices through the TCP probe: each check is an instant
    // "not a TCP device", so this measures the scheduler alone, one task and
    // one timer per device, without 5,000 connects a second on a shared box.
    let probes: Vec<String> = (0..10_000)
        .map(|i| format!("http://127.0.0.1:9/health/{i}"))
        .collect();
    let devs = devices(&probes, "2s", "100ms");
    let (tx, mut rx) = mpsc::channel(4096);
    let interval = Duration::from_secs(2);

    let cpu_before = cpu_time();
    let spawned = Instant::now();
    let mut handle = scheduler::spawn(Arc::new(TcpProbe::new(0)), devs, tx, config(512));
    let got = collect(&mut rx, spawned + interval * 2 + interval / 2).await;
    handle.shutdown().await;
    let wall = spawned.elapsed();
    let cpu = cpu_time().zip(cpu_before).map(|(a, b)| a.saturating_sub(b));

    let by = starts_by_device(&got);
    assert_eq!(by.len(), 10_000, "every device was checked");
    for (dev, starts) in &by {
        assert!(
            (2..=3).contains(&starts.len()),
            "device {dev}: {} checks in 2.5 intervals",
            starts.len()
        );
        if let Some(why) = off_the_fixed_rate(starts, interval, interval / 4) {
            panic!("device {dev}: {why}");
        }
    }
    assert!(
        got.iter()
            .all(|(_, o)| matches!(o.outcome.result, CheckResult::Unknown(_)))
    );
    eprintln!(
        "10,000 devices: {} checks in {wall:?}, process CPU {cpu:?}, {:?}",
        got.len(),
        handle.stats()
    );
}

/// User + system CPU time of this process so far (Linux), for the log.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split(' ').collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

#[tokio::test]
async fn an_interval_of_centuries_waits_without_overflow() {
    let addr = live_listener().await;
    // A file refuses such an interval (at most 1h); the scheduler must
    // still not overflow on one built in code.
    let mut devs = devices(&[tcp(addr)], "1h", "100ms");
    devs[0].1.poll_interval = Duration::from_secs(86_400 * 365 * 1000);
    let (tx, mut rx) = mpsc::channel(16);

    let mut handle = scheduler::spawn(Arc::new(TcpProbe::new(0)), devs, tx, config(4));
    let got = collect(&mut rx, Instant::now() + Duration::from_millis(200)).await;
    handle.shutdown().await;

    assert!(got.len() <= 1, "{got:?}");
    assert!(rx.recv().await.is_none(), "the channel closed at shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_now_wakes_one_device_before_its_slot() {
    let a = live_listener().await;
    let b = live_listener().await;
    let devs = devices(&[tcp(a), tcp(b)], "60s", "500ms");
    let (tx, mut rx) = mpsc::channel(64);
    let cfg = SchedulerConfig {
        first_spread: Duration::from_millis(100),
        ..config(16)
    };
    let handle = scheduler::spawn(Arc::new(TcpProbe::new(0)), devs, tx, cfg);
    // The first check of each, within the spread.
    let first = collect(&mut rx, Instant::now() + Duration::from_millis(1500)).await;
    assert_eq!(first.len(), 2, "{first:?}");
    // Nothing else for a minute, unless asked.
    let trigger = handle.trigger();
    trigger.check_now(&[1, 7]);
    let next = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("checked at once")
        .expect("an observation");
    assert_eq!(next.device, 1);
    let quiet = collect(&mut rx, Instant::now() + Duration::from_millis(500)).await;
    assert!(quiet.is_empty(), "only the device asked for: {quiet:?}");
    drop(handle);
}
