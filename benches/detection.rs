//! `cargo bench --bench detection`: detection beside silent devices, with
//! the whole wiring (`Live::run`: probes, scheduler, engine) over real
//! sockets on 127.0.0.1, and prints the figures beside their targets:
//!
//! - (a) 10,000 SNMP devices, a third silent: a fault on a live device
//!   (every interface down) is hard DOWN in the engine within
//!   `interval × max_attempts + 1 s`;
//! - (b) 50,000 silent SNMP devices: every one hard DOWN within
//!   `interval × max_attempts + 5 s` of the start.
//!
//! Live devices are the simulator's agents (`toc::sim::agent`) on sockets
//! bound here, on a runtime of their own; silent devices point at UDP
//! sockets bound here that are never read. The descriptor limit caps the
//! silent sockets: beyond it, several silent devices share one (told apart
//! by their context, as the simulator's devices are). Interval 5 s,
//! timeout 1 s, 1 retry, 3 attempts. Without `--bench` (`cargo test
//! --benches`) it runs small and quick.
#![allow(clippy::cast_precision_loss)]

use std::fmt::Write as _;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use toc::config::{Inventory, SourceFile};
use toc::engine::{EngineHandle, Snapshot};
use toc::model::{StateType, Status};
use toc::probe::scheduler;
use toc::runtime::{Live, Tuning};
use toc::sim::agent;
use toc::sim::faults::{Fault, SimState};

#[path = "support/proc.rs"]
mod proc_stat;
use proc_stat::cpu_seconds;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Agent sockets the live devices are spread over, as at a Games.
const AGENTS: usize = 49;

struct Size {
    interval_s: u64,
    timeout_ms: u64,
    live: usize,
    silent: usize,
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let limit = scheduler::raise_descriptor_limit();
    println!(
        "toc detection benchmark (descriptor limit {}, hard {})",
        limit.soft, limit.hard
    );
    let (a, b) = if quick {
        (
            Size {
                interval_s: 1,
                timeout_ms: 200,
                live: 200,
                silent: 100,
            },
            Size {
                interval_s: 1,
                timeout_ms: 200,
                live: 0,
                silent: 500,
            },
        )
    } else {
        (
            Size {
                interval_s: 5,
                timeout_ms: 1000,
                live: 6_666,
                silent: 3_334,
            },
            Size {
                interval_s: 5,
                timeout_ms: 1000,
                live: 0,
                silent: 50_000,
            },
        )
    };
    let budget = usize::try_from(limit.soft)
        .unwrap_or(usize::MAX)
        .saturating_sub(2_000);
    let mut failed = false;
    for (name, size, run) in [
        ("a", &a, bench_fault as fn(&Size, usize) -> Res<bool>),
        ("b", &b, bench_all_silent),
    ] {
        match run(size, budget) {
            Ok(met) => failed |= !met,
            Err(e) => {
                eprintln!("({name}) failed: {e}");
                failed = true;
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}

/// Silent sockets for `n` devices, at most `budget` of them.
fn silent_sockets(n: usize, budget: usize) -> Res<Vec<UdpSocket>> {
    let count = n.min(budget.max(1));
    Ok((0..count)
        .map(|_| UdpSocket::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()?)
}

fn inventory(size: &Size, live_at: &[SocketAddr], silent_at: &[SocketAddr]) -> Res<Inventory> {
    let mut text = format!(
        "[event]\nname = \"detection\"\npoll_interval = \"{}s\"\ntimeout = \"{}ms\"\n\
         retries = 1\nmax_attempts = 3\n\n\
         [profiles.v2]\nversion = \"v2c\"\ncommunity = \"bench\"\n\n\
         [[venues]]\ncode = \"BEN\"\nname = \"Bench\"\ncity = \"Loopback\"\n\n",
        size.interval_s, size.timeout_ms
    );
    let mut add = |id: String, addr: SocketAddr| {
        let _ = write!(
            text,
            "[[venues.devices]]\nid = \"{id}\"\nrole = \"switch\"\nprobe = \"snmp://{addr}\"\n\
             profile = \"v2\"\ncontext = \"{id}\"\ninterfaces = [\"Te1/0/1\", \"Te1/0/2\"]\n\n"
        );
    };
    for (i, addr) in live_at.iter().cycle().take(size.live).enumerate() {
        add(format!("L-{i:05}"), *addr);
    }
    for (i, addr) in silent_at.iter().cycle().take(size.silent).enumerate() {
        add(format!("S-{i:05}"), *addr);
    }
    let src = SourceFile::new("detection.toml", text);
    Ok(Inventory::parse(&src)
        .map_err(|d| format!("{} config errors", d.len()))?
        .0)
}

/// Serves the live devices on `AGENTS` sockets from a runtime of their own
/// (so the agents do not share the poller's workers). The runtime lives as
/// long as the returned value.
fn start_agents(
    sockets: Vec<UdpSocket>,
    inventory: &Arc<Inventory>,
    state: &Arc<SimState>,
) -> Res<tokio::runtime::Runtime> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    for socket in sockets {
        socket.set_nonblocking(true)?;
        let (inventory, state) = (Arc::clone(inventory), Arc::clone(state));
        rt.spawn(async move {
            if let Ok(socket) = tokio::net::UdpSocket::from_std(socket) {
                let _ = agent::serve(socket, inventory, state).await;
            }
        });
    }
    Ok(rt)
}

fn hard(snap: &Snapshot, i: usize, status: Status) -> bool {
    snap.devices
        .get(i)
        .is_some_and(|d| d.status == status && d.state_type == StateType::Hard)
}

/// Waits until `pred` holds for the latest snapshot, or `limit` passes.
async fn wait_until(
    handle: &EngineHandle,
    limit: Duration,
    pred: impl Fn(&Snapshot) -> bool,
) -> Option<Duration> {
    let t0 = Instant::now();
    let mut rx = handle.watch();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if pred(&rx.borrow_and_update()) {
            return Some(t0.elapsed());
        }
        match tokio::time::timeout_at(deadline, rx.changed()).await {
            Ok(Ok(())) => {}
            _ => return None,
        }
    }
}

/// (a): a fault on live devices beside a third silent.
fn bench_fault(size: &Size, budget: usize) -> Res<bool> {
    let live_sockets: Vec<UdpSocket> = (0..AGENTS.min(size.live))
        .map(|_| UdpSocket::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()?;
    let live_at: Vec<SocketAddr> = live_sockets
        .iter()
        .map(UdpSocket::local_addr)
        .collect::<Result<_, _>>()?;
    let silent = silent_sockets(size.silent, budget.saturating_sub(live_at.len()))?;
    let silent_at: Vec<SocketAddr> = silent
        .iter()
        .map(UdpSocket::local_addr)
        .collect::<Result<_, _>>()?;
    let inv = Arc::new(inventory(size, &live_at, &silent_at)?);
    let state = Arc::new(SimState::new(&inv));
    let agents = start_agents(live_sockets, &inv, &state)?;
    let interval = Duration::from_secs(size.interval_s);
    let bound = interval * 3 + Duration::from_secs(1);
    println!(
        "\n(a) {} SNMP devices, {} silent (on {} silent sockets), interval {interval:?}, 3 attempts",
        size.live + size.silent,
        size.silent,
        silent.len()
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let met = rt.block_on(async {
        let live = Live::run((*inv).clone(), Tuning::default())?;
        let handle = live.handle();
        let n_live = size.live;
        let all_live_ok = |s: &Snapshot| (0..n_live).all(|i| hard(s, i, Status::Ok));
        let Some(warm) = wait_until(&handle, interval * 6, all_live_ok).await else {
            return Err("the live devices were not all OK within 6 intervals".into());
        };
        println!("  every live device OK after {:.1} s", warm.as_secs_f64());
        // Silent ones settle into their rhythm of failures.
        tokio::time::sleep(interval * 3).await;
        let mut met = true;
        for pick in [n_live / 7, n_live / 2, n_live - 1] {
            let id = format!("L-{pick:05}");
            state.set(&id, Fault::IfDown(None), None)?;
            let took = wait_until(&handle, interval * 12, |s| hard(s, pick, Status::Down)).await;
            state.clear(&id, None)?;
            let ok = took.is_some_and(|t| t <= bound);
            met &= ok;
            println!(
                "  fault on {id} to hard DOWN in the engine: {} (target <= {:.1} s) {}",
                took.map_or_else(
                    || "never".to_owned(),
                    |t| format!("{:.2} s", t.as_secs_f64())
                ),
                bound.as_secs_f64(),
                if ok { "MET" } else { "MISSED" }
            );
            wait_until(&handle, interval * 6, |s| hard(s, pick, Status::Ok)).await;
        }
        live.shutdown().await;
        Ok::<bool, Box<dyn std::error::Error>>(met)
    })?;
    drop(agents);
    Ok(met)
}

/// (b): every device silent; all must be hard DOWN in time.
fn bench_all_silent(size: &Size, budget: usize) -> Res<bool> {
    let silent = silent_sockets(size.silent, budget)?;
    let silent_at: Vec<SocketAddr> = silent
        .iter()
        .map(UdpSocket::local_addr)
        .collect::<Result<_, _>>()?;
    let inv = inventory(size, &[], &silent_at)?;
    let n = inv.devices.len();
    let interval = Duration::from_secs(size.interval_s);
    let bound = interval * 3 + Duration::from_secs(5);
    println!(
        "\n(b) {n} silent SNMP devices (on {} silent sockets), interval {interval:?}, 3 attempts",
        silent.len()
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let cpu0 = cpu_seconds(None);
    let met = rt.block_on(async {
        let t0 = Instant::now();
        let live = Live::run(inv, Tuning::default())?;
        let handle = live.handle();
        let first = wait_until(&handle, bound * 3, |s| {
            (0..n).any(|i| hard(s, i, Status::Down))
        })
        .await
        .map(|_| t0.elapsed());
        let all = wait_until(&handle, bound * 3, |s| {
            (0..n).all(|i| hard(s, i, Status::Down))
        })
        .await
        .map(|_| t0.elapsed());
        live.shutdown().await;
        let first = first.unwrap_or_default();
        let ok = all.is_some_and(|t| t <= bound);
        println!(
            "  first hard DOWN after {:.2} s; all {n} hard DOWN after {} (target <= {:.1} s) {}",
            first.as_secs_f64(),
            all.map_or_else(
                || "never".to_owned(),
                |t| format!("{:.2} s", t.as_secs_f64())
            ),
            bound.as_secs_f64(),
            if ok { "MET" } else { "MISSED" }
        );
        Ok::<bool, Box<dyn std::error::Error>>(ok)
    })?;
    println!("  process CPU {:.1} s", cpu_seconds(None) - cpu0);
    drop(silent);
    Ok(met)
}
