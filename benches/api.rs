//! Many consoles on one engine: the real `toc demo --no-console` (the
//! release binary) on a synthetic Games of 49 venues and 10,000 devices,
//! with its API on a Unix socket, and N consoles in this process, each
//! the real remote handle (`toc::api::client::connect`) behind a counting
//! proxy socket of its own (benches/api/proxy.rs), so the bytes each
//! console receives are the WebSocket's bytes on the wire.
//!
//! Phase A: 20 consoles; faults open incidents; console 0 acknowledges
//! them one by one; for each, the time until every other console's
//! snapshot shows it acknowledged. Phase B: 100 consoles (one focused on
//! one venue): the server's CPU and RSS, bytes a second per console and
//! this process's CPU per console over a steady window, then the ack
//! fan-out again.
//!
//! Prints figures, asserts nothing on timing. Without `--bench` (as
//! `cargo test --all-targets` may run it): 1,000 devices polled every
//! second, 10 consoles, a 5 s window.
#![allow(clippy::cast_precision_loss)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use toc::api::client::{Options, Remote, Target, connect};
use toc::engine::Focus;
use toc::engine::command::{Command, IncidentCommand};
use toc::engine::snapshot::{IncidentId, Snapshot};

#[path = "api/child.rs"]
mod child;
#[path = "support/proc.rs"]
mod proc_stat;
#[path = "api/proxy.rs"]
mod proxy;

use child::Server;
use proxy::Proxy;

struct Plan {
    devices: usize,
    small: usize,
    large: usize,
    faults: usize,
    settle: Duration,
    window: Duration,
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let plan = if quick {
        Plan {
            devices: 1_000,
            small: 10,
            large: 10,
            faults: 5,
            settle: Duration::from_secs(1),
            window: Duration::from_secs(5),
        }
    } else {
        Plan {
            devices: 10_000,
            small: 20,
            large: 100,
            faults: 20,
            settle: Duration::from_secs(5),
            window: Duration::from_secs(30),
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("api bench: no runtime: {e}");
            std::process::exit(1);
        }
    };
    let dir = std::env::temp_dir().join(format!("toc-api-bench-{}", std::process::id()));
    let result = std::fs::create_dir_all(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))
        .and_then(|()| runtime.block_on(bench(&dir, &plan)));
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = result {
        eprintln!("api bench failed: {e}");
        std::process::exit(1);
    }
}

struct Console {
    remote: Remote,
    proxy: Proxy,
}

async fn attach(dir: &std::path::Path, server: &Server, i: usize) -> Result<Console, String> {
    let proxy = Proxy::start(dir.join(format!("c{i}.sock")), server.socket.clone())?;
    let opts = Options {
        connect_timeout: Duration::from_secs(60),
        ..Options::default()
    };
    let remote = connect(Target::Socket(proxy.path().to_path_buf()), None, opts)
        .await
        .map_err(|e| format!("console {i}: {e}"))?;
    Ok(Console { remote, proxy })
}

/// The server's own cost (engine, poller and the simulated devices in
/// the same process) with no console, to set the API's share apart: its
/// CPU in cores, printed with its RSS.
async fn idle(server: &Server, plan: &Plan) -> Result<f64, String> {
    tokio::time::sleep(plan.settle).await;
    let cpu0 = server.cpu_seconds()?;
    let w0 = Instant::now();
    tokio::time::sleep(plan.window / 2).await;
    let idle = (server.cpu_seconds()? - cpu0) / w0.elapsed().as_secs_f64();
    let (rss, _) = server.memory_kib()?;
    println!(
        "no console: server CPU {idle:.2} cores (engine, poller and simulated devices), RSS {:.1} MiB",
        rss as f64 / 1024.0
    );
    Ok(idle)
}

async fn bench(dir: &std::path::Path, plan: &Plan) -> Result<(), String> {
    let t0 = Instant::now();
    let mut server = Server::start(dir, 49, plan.devices, plan.devices < 10_000)?;
    println!(
        "api bench: toc demo --no-console, 49 venues, {} devices, API on a Unix socket; ready after {:.1} s",
        plan.devices,
        t0.elapsed().as_secs_f64()
    );
    println!(
        "(one machine of 2 cores runs the server, its simulated devices and every console: figures are indicative)"
    );
    let idle = idle(&server, plan).await?;
    let mut consoles = Vec::new();
    for i in 0..plan.small {
        consoles.push(attach(dir, &server, i).await?);
    }
    let layout = Arc::clone(
        &consoles
            .first()
            .ok_or("no console")?
            .remote
            .handle
            .snapshot()
            .layout,
    );

    print_encode(&consoles[0].remote.handle.snapshot());

    // Phase A.
    let first = fault_devices(&layout, 0, plan.faults);
    let ids = open_incidents(&mut server, &consoles, &first).await?;
    let fan = ack_fanout(&consoles, &ids).await?;
    print_fanout(consoles.len(), &fan);

    // Phase B.
    let focused_venue = layout
        .venues
        .last()
        .map(|v| v.code.clone())
        .ok_or("no venue")?;
    for i in consoles.len()..plan.large {
        consoles.push(attach(dir, &server, i).await?);
    }
    let focused = attach(dir, &server, plan.large).await?;
    focused.remote.handle.focus(Focus {
        venues: vec![focused_venue.clone()],
        devices: Vec::new(),
    });
    tokio::time::sleep(plan.settle).await;
    let bytes0: Vec<u64> = consoles.iter().map(|c| c.proxy.received()).collect();
    let focus0 = focused.proxy.received();
    let cpu0 = server.cpu_seconds()?;
    let own0 = proc_stat::cpu_seconds(None);
    let w0 = Instant::now();
    tokio::time::sleep(plan.window).await;
    let secs = w0.elapsed().as_secs_f64();
    let cpu = server.cpu_seconds()? - cpu0;
    let own = proc_stat::cpu_seconds(None) - own0;
    let rates: Vec<f64> = consoles
        .iter()
        .zip(&bytes0)
        .map(|(c, b0)| (c.proxy.received() - b0) as f64 / secs)
        .collect();
    let focus_rate = (focused.proxy.received() - focus0) as f64 / secs;
    let (rss, hwm) = server.memory_kib()?;
    let n = consoles.len() + 1;
    let mean = rates.iter().sum::<f64>() / rates.len().max(1) as f64;
    let max = rates.iter().copied().fold(0.0, f64::max);
    println!(
        "steady state, {n} consoles, {} devices, {secs:.0} s window:",
        plan.devices
    );
    println!(
        "  server CPU {:.2} cores (target <= 1 core; {:.2} more than with no console); RSS {:.1} MiB, peak {:.1} MiB",
        cpu / secs,
        cpu / secs - idle,
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    println!(
        "  bytes/s per console: mean {:.1} KB/s, max {:.1} KB/s (target <= 50 KB/s); {} consoles",
        mean / 1000.0,
        max / 1000.0,
        rates.len()
    );
    println!(
        "  console focused on {focused_venue}: {:.1} KB/s",
        focus_rate / 1000.0
    );
    println!(
        "  bench process CPU (the {n} consoles and their counting proxies): {:.2} cores, {:.2} ms CPU/s per console",
        own / secs,
        own / secs * 1000.0 / n as f64
    );
    let second = fault_devices(&layout, plan.faults, plan.faults);
    let ids = open_incidents(&mut server, &consoles, &second).await?;
    let fan = ack_fanout(&consoles, &ids).await?;
    print_fanout(consoles.len(), &fan);

    for c in consoles {
        c.remote.close();
    }
    focused.remote.close();
    server.stop();
    Ok(())
}

/// `count` devices to fault, one in each venue from `skip` on: the
/// venue's uplink router A (its first device when it has none).
fn fault_devices(layout: &toc::engine::snapshot::Layout, skip: usize, count: usize) -> Vec<String> {
    layout
        .venues
        .iter()
        .skip(skip)
        .take(count)
        .filter_map(|v| {
            let wanted = format!("{}-rtr-a", v.code);
            layout
                .devices
                .iter()
                .find(|d| d.id == wanted)
                .or_else(|| v.devices.first().and_then(|d| layout.devices.get(d.0)))
                .map(|d| d.id.clone())
        })
        .collect()
}

/// Faults the devices; waits until console 0 shows an open incident for
/// each (or 120 s); returns the open incidents' ids.
async fn open_incidents(
    server: &mut Server,
    consoles: &[Console],
    devices: &[String],
) -> Result<Vec<IncidentId>, String> {
    let before: Vec<IncidentId> = open_ids(
        &consoles
            .first()
            .ok_or("no console")?
            .remote
            .handle
            .snapshot(),
    );
    for d in devices {
        server.command(&format!("fault {d} down"))?;
    }
    let t0 = Instant::now();
    let mut rx = consoles.first().ok_or("no console")?.remote.handle.watch();
    let deadline = Duration::from_secs(120);
    let mut last;
    loop {
        let now: Vec<IncidentId> = open_ids(&rx.borrow_and_update())
            .into_iter()
            .filter(|id| !before.contains(id))
            .collect();
        if now.len() >= devices.len() {
            // A moment more, for the ones opening with them.
            last = now;
            break;
        }
        last = now;
        if t0.elapsed() > deadline {
            break;
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), rx.changed()).await;
    }
    println!(
        "{} faults injected: {} incidents open after {:.1} s",
        devices.len(),
        last.len(),
        t0.elapsed().as_secs_f64()
    );
    if last.is_empty() {
        return Err("no incident opened".to_owned());
    }
    Ok(last)
}

fn open_ids(snap: &Snapshot) -> Vec<IncidentId> {
    snap.incidents
        .iter()
        .filter(|i| i.ack.is_none())
        .map(|i| i.id)
        .collect()
}

fn acked(snap: &Snapshot, id: IncidentId) -> bool {
    snap.incidents
        .iter()
        .find(|i| i.id == id)
        .is_none_or(|i| i.ack.is_some())
}

/// Acknowledges each incident from console 0; for each, the time until
/// every other console's snapshot shows it acknowledged.
async fn ack_fanout(consoles: &[Console], ids: &[IncidentId]) -> Result<Vec<Duration>, String> {
    let (sender, others) = consoles.split_first().ok_or("no console")?;
    let mut out = Vec::new();
    for &id in ids {
        let mut watchers = Vec::new();
        for c in others {
            let mut rx = c.remote.handle.watch();
            rx.borrow_and_update();
            watchers.push(rx);
        }
        let t0 = Instant::now();
        let reply = tokio::time::timeout(
            Duration::from_secs(30),
            sender
                .remote
                .handle
                .send(Command::Incident(IncidentCommand::Ack {
                    which: id.to_string(),
                    comment: "bench".to_owned(),
                    expires: None,
                })),
        )
        .await
        .map_err(|_| format!("ack {id}: no reply within 30 s"))?;
        if let Err(e) = reply {
            return Err(format!("ack {id}: {e:?}"));
        }
        let waits = watchers.into_iter().map(|mut rx| async move {
            tokio::time::timeout(Duration::from_secs(30), rx.wait_for(|s| acked(s, id)))
                .await
                .map(|_| t0.elapsed())
        });
        let seen = futures_util::future::join_all(waits).await;
        let mut slowest = Duration::ZERO;
        for s in seen {
            slowest = slowest
                .max(s.map_err(|_| format!("ack {id}: not seen by every console within 30 s"))?);
        }
        out.push(slowest);
    }
    Ok(out)
}

fn print_fanout(consoles: usize, fan: &[Duration]) {
    let mut ms: Vec<f64> = fan.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    // The nearest rank: the smallest value with at least q of them at or
    // below it (q in hundredths).
    let pick = |hundredths: usize| {
        let i = (ms.len() * hundredths).div_ceil(100).saturating_sub(1);
        ms.get(i).copied().unwrap_or(0.0)
    };
    println!(
        "ack fan-out, {consoles} consoles ({} acks, until every other console shows it): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms (target p99 <= 500 ms)",
        ms.len(),
        pick(50),
        pick(99),
        ms.last().copied().unwrap_or(0.0)
    );
}

/// What one full snapshot costs the server to encode (once per snapshot
/// that a console needs whole: on connect, or after falling behind).
fn print_encode(snapshot: &Snapshot) {
    let msg = toc::api::wire::ServerMsg::Full {
        snapshot: Box::new(snapshot.clone()),
    };
    let json = serde_json::to_vec(&msg).map_or(0, |j| j.len());
    let rounds = 5;
    let t = Instant::now();
    let mut bytes = 0;
    for _ in 0..rounds {
        bytes = toc::api::wire::encode_binary(&msg).len();
    }
    println!(
        "full snapshot of {} devices: {:.1} ms to encode, {:.0} KB deflated ({:.0} KB of JSON)",
        snapshot.devices.len(),
        t.elapsed().as_secs_f64() * 1000.0 / f64::from(rounds),
        bytes as f64 / 1000.0,
        json as f64 / 1000.0
    );
}
