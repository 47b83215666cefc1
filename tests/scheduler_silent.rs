//! Silent SNMP devices must not slow down the detection of the others
//! (issue 12, point 9): an SNMP check waiting for its answer is a timer and
//! a pending-table entry, not a turn that a live device needs.
//!
//! Two layers: the scheduler alone on a paused clock with the figures of
//! the finding (10,000 devices, a third of them silent, 5 s interval, 1 s
//! timeout, 1 retry, 3 attempts), deterministic; then the whole wiring
//! (`Live::run`: probes, scheduler, engine) over real sockets, silent UDP
//! sockets bound here on 127.0.0.1:0 beside live agents of the simulator,
//! in real time with generous bounds.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::fmt::Write as _;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use toc::config::venues::{Device, ProbeTarget};
use toc::config::{Inventory, SourceFile};
use toc::model::{CheckResult, Status};
use toc::probe::scheduler::{self, SchedulerConfig};
use toc::probe::{Outcome, Probe};
use toc::runtime::{Live, Tuning};
use toc::sim::agent;
use toc::sim::faults::{Fault, SimState};
use tokio::sync::mpsc;
use tokio::time::Instant;

use support::engine::{device, wait_for};

/// An inventory of `silent` SNMP devices on the `silent_at` addresses (in
/// turn) and `live` ones on `live_at`, told apart by their context.
fn inventory(
    interval: &str,
    timeout: &str,
    silent: usize,
    silent_at: &[SocketAddr],
    live: usize,
    live_at: SocketAddr,
) -> Inventory {
    let mut text = format!(
        "[event]\nname = \"silent\"\npoll_interval = \"{interval}\"\ntimeout = \"{timeout}\"\n\
         retries = 1\nmax_attempts = 3\n\n\
         [profiles.v2]\nversion = \"v2c\"\ncommunity = \"silent-test\"\n\n\
         [[venues]]\ncode = \"SIL\"\nname = \"Silent\"\ncity = \"Loopback\"\n\n"
    );
    let mut add = |id: String, addr: SocketAddr| {
        write!(
            text,
            "[[venues.devices]]\nid = \"{id}\"\nrole = \"switch\"\nprobe = \"snmp://{addr}\"\n\
             profile = \"v2\"\ncontext = \"{id}\"\n\n"
        )
        .unwrap();
    };
    for i in 0..live {
        add(format!("L-{i}"), live_at);
    }
    for i in 0..silent {
        add(format!("S-{i}"), silent_at[i % silent_at.len()]);
    }
    let src = SourceFile::new("silent.toml", text);
    Inventory::parse(&src)
        .unwrap_or_else(|d| panic!("{}", toc::config::diag::render(&d)))
        .0
}

/// Checks like the SNMP probe on a paused clock: a silent device answers
/// nothing for `timeout` per attempt, a live one answers in 2 ms, and the
/// faulted one answers with a failure.
struct Modelled {
    retries: u32,
    faulted: AtomicBool,
}

impl Probe for Modelled {
    async fn check(&self, device: &Device) -> Outcome {
        if device.id.starts_with("S-") {
            tokio::time::sleep(device.timeout * (self.retries + 1)).await;
            return Outcome::new(CheckResult::Fail("no answer".into()));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
        if device.id == "L-0" && self.faulted.load(Ordering::Relaxed) {
            Outcome::new(CheckResult::Fail("all interfaces down".into()))
        } else {
            Outcome::new(CheckResult::Ok)
        }
    }
}

/// The finding's figures: 10,000 SNMP devices, 3,334 silent, polled every
/// 5 s with a 1 s timeout and 1 retry through the default limit of 512.
/// Before the fix a live device's failure took ~40 s to be seen three
/// times, as every turn was held by a silent device waiting out its 2 s.
#[tokio::test(start_paused = true)]
async fn silent_snmp_devices_do_not_delay_the_others_on_a_paused_clock() {
    let unused: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let inv = inventory("5s", "1s", 3_334, &[unused], 6_666, unused);
    let interval = inv.event.poll_interval;
    let attempts = inv.event.max_attempts;
    let faulted_idx = inv.devices.iter().position(|d| d.id == "L-0").unwrap();
    let probe = Arc::new(Modelled {
        retries: 1,
        faulted: AtomicBool::new(false),
    });
    let devices: Vec<(usize, Device)> = inv.devices.into_iter().enumerate().collect();
    let (tx, mut rx) = mpsc::channel(8192);
    let config = SchedulerConfig {
        retries: 1,
        ..SchedulerConfig::default()
    };
    let mut handle = scheduler::spawn(Arc::clone(&probe), devices, tx, config);

    // Three intervals to settle into the steady state.
    let settled = Instant::now() + interval * 3;
    let mut live_delay = Duration::ZERO;
    while let Ok(Some(obs)) = tokio::time::timeout_at(settled, rx.recv()).await {
        if obs.device < 6_666 {
            live_delay = live_delay.max(obs.start_delay);
        }
    }

    probe.faulted.store(true, Ordering::Relaxed);
    let t0 = Instant::now();
    let mut failures_in_a_row = 0;
    while failures_in_a_row < attempts {
        let obs = tokio::time::timeout(Duration::from_secs(300), rx.recv())
            .await
            .expect("observations keep coming")
            .expect("the scheduler runs");
        if obs.device == faulted_idx {
            if obs.outcome.result == CheckResult::Ok {
                failures_in_a_row = 0;
            } else {
                failures_in_a_row += 1;
            }
        }
    }
    let took = t0.elapsed();
    let stats = handle.stats();
    handle.shutdown().await;

    let bound = interval * attempts + Duration::from_secs(1);
    eprintln!("fault seen {attempts} times after {took:?} (bound {bound:?}); {stats:?}");
    assert!(
        took <= bound,
        "a live device's failure took {took:?} to be seen {attempts} times, bound {bound:?}; {stats:?}"
    );
    assert!(
        live_delay < Duration::from_millis(500),
        "live checks started up to {live_delay:?} late; {stats:?}"
    );
    assert!(
        stats.peak_in_flight > 512,
        "silent SNMP checks waited beyond the old limit of 512 at once: {stats:?}"
    );
}

/// A UDP socket on 127.0.0.1:0 that never answers: its datagrams stay
/// unread in the kernel until it drops them.
fn silent_socket() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").expect("bind a silent socket")
}

/// The whole wiring over real sockets: 2,000 silent agents (sockets bound
/// here that never answer) and 10 live ones (the simulator's agent on a
/// socket bound here), every device polled every second with a 400 ms
/// timeout and 1 retry. A silent check waits 800 ms, so 2,000 of them
/// want 1,600 turns at once: through 512 turns each device came round
/// only every ~3 s and a live failure took ~9 s to go hard DOWN. Now it
/// must go hard DOWN within `interval × max_attempts + 1 s`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_failure_goes_down_in_time_beside_2000_silent_agents() {
    const SILENT: usize = 2_000;
    const LIVE: usize = 10;
    let silent: Vec<UdpSocket> = (0..SILENT).map(|_| silent_socket()).collect();
    let silent_at: Vec<SocketAddr> = silent.iter().map(|s| s.local_addr().unwrap()).collect();
    let live_socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let live_at = live_socket.local_addr().unwrap();
    let inv = Arc::new(inventory("1s", "400ms", SILENT, &silent_at, LIVE, live_at));
    assert!(
        inv.devices
            .iter()
            .all(|d| matches!(d.probe, ProbeTarget::Snmp { .. }))
    );
    let state = Arc::new(SimState::new(&inv));
    let agent = tokio::spawn(agent::serve(
        live_socket,
        Arc::clone(&inv),
        Arc::clone(&state),
    ));

    let interval = inv.event.poll_interval;
    let attempts = inv.event.max_attempts;
    let live = Live::run((*inv).clone(), Tuning::default()).expect("the wiring starts");
    let handle = live.handle();
    let live_ok =
        |s: &toc::engine::Snapshot| (0..LIVE).all(|i| device(s, &format!("L-{i}")) == Status::Ok);
    wait_for(&handle, Duration::from_secs(30), "live devices OK", live_ok).await;
    // Let the silent ones settle into their rhythm of failures.
    tokio::time::sleep(interval * 4).await;
    wait_for(&handle, Duration::from_secs(30), "live devices OK", live_ok).await;

    state.set("L-3", Fault::IfDown(None), None).unwrap();
    let t0 = std::time::Instant::now();
    let snap = wait_for(&handle, Duration::from_secs(60), "L-3 DOWN", |s| {
        device(s, "L-3") == Status::Down
    })
    .await;
    let took = t0.elapsed();
    let bound = interval * attempts + Duration::from_secs(1);
    let silent_down = snap
        .layout
        .devices
        .iter()
        .zip(&snap.devices)
        .filter(|(l, d)| l.id.starts_with("S-") && d.status == Status::Down)
        .count();
    eprintln!(
        "L-3 hard DOWN {took:?} after its fault (bound {bound:?}); {silent_down} of {SILENT} silent devices DOWN"
    );
    live.shutdown().await;
    agent.abort();
    drop(silent);
    assert!(
        took <= bound,
        "fault to hard DOWN took {took:?}, bound {bound:?}"
    );
    assert_eq!(silent_down, SILENT, "every silent device is hard DOWN");
}
