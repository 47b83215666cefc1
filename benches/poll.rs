//! `cargo bench --bench poll`: polls 1,000 and 10,000 simulated SNMP
//! devices on loopback and prints what it cost.
//!
//! The simulated venues run in a child process (this same binary, started
//! again with `TOC_BENCH_SIM` set), so the figures are the poller's own:
//!
//! - burst: every device polled once, as fast as the concurrency limit
//!   allows (wall time per cycle; CPU time per 1,000 polls);
//! - steady: the real scheduler at a 5 s interval for three intervals
//!   (CPU as a share of one core);
//! - peak RSS of the poller.
//!
//! Each poll is a full SNMP check: sysUpTime and sysName, the interface
//! table (names, admin and oper status), and hrProcessorLoad.
#![allow(clippy::cast_precision_loss, clippy::too_many_lines)]

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use toc::config::Inventory;
use toc::config::venues::ProbeTarget;
use toc::model::CheckResult;
use toc::probe::Probe;
use toc::probe::scheduler::{self, SchedulerConfig};
use toc::probe::snmp::SnmpProbe;
use toc::sim::agent;
use toc::sim::faults::SimState;
use toc::snmp::client::Client;

#[path = "support/proc.rs"]
mod proc_stat;
use proc_stat::cpu_seconds;

/// Venues (agent ports) the devices are spread over, as at a Games.
const VENUES: usize = 49;

fn main() {
    if let Ok(path) = std::env::var("TOC_BENCH_SIM") {
        serve_sim(Path::new(&path));
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing
    // we need. Run with a small count under test so it stays quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let sizes: &[usize] = if quick { &[200] } else { &[1_000, 10_000] };
    println!("toc poll benchmark ({VENUES} venues; sim in a child process)");
    for &n in sizes {
        if let Err(e) = bench(n, quick) {
            eprintln!("bench with {n} devices failed: {e}");
            std::process::exit(1);
        }
    }
    println!(
        "peak RSS of the poller: {:.1} MiB",
        peak_rss_kib() as f64 / 1024.0
    );
}

fn free_udp_port() -> std::io::Result<u16> {
    Ok(UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn inventory_text(n: usize) -> std::io::Result<String> {
    let ports: Vec<u16> = (0..VENUES)
        .map(|_| free_udp_port())
        .collect::<Result<_, _>>()?;
    let mut s = String::from(
        "[event]\nname = \"bench\"\npoll_interval = \"5s\"\ntimeout = \"1s\"\nretries = 1\n\n\
         [profiles.v2]\nversion = \"v2c\"\ncommunity = \"bench\"\n\n",
    );
    for (v, port) in ports.iter().enumerate() {
        let _ = writeln!(
            s,
            "[[venues]]\ncode = \"V{v:02}\"\nname = \"Venue {v}\"\ncity = \"Paris\"\n"
        );
        for d in (v..n).step_by(VENUES) {
            let _ = writeln!(
                s,
                "[[venues.devices]]\nid = \"dev-{d:05}\"\nrole = \"switch\"\nprobe = \"snmp://127.0.0.1:{port}\"\nprofile = \"v2\"\ncontext = \"dev-{d:05}\"\ninterfaces = [\"Te1/0/1\", \"Te1/0/2\"]\ncpu_threshold = 90\n"
            );
        }
    }
    Ok(s)
}

/// The child: serve every agent port of the file until stdin closes.
fn serve_sim(path: &Path) {
    let inventory = match Inventory::load(path) {
        Ok((inv, _)) => Arc::new(inv),
        Err(diags) => {
            eprintln!("sim: {} config errors", diags.len());
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build();
    let Ok(rt) = rt else {
        eprintln!("sim: no runtime");
        std::process::exit(1);
    };
    rt.block_on(async move {
        let state = Arc::new(SimState::new(&inventory));
        let mut ports: Vec<u16> = inventory
            .devices
            .iter()
            .filter_map(|d| match d.probe {
                ProbeTarget::Snmp { port, .. } => Some(port),
                _ => None,
            })
            .collect();
        ports.sort_unstable();
        ports.dedup();
        for port in ports {
            match tokio::net::UdpSocket::bind(("127.0.0.1", port)).await {
                Ok(socket) => {
                    tokio::spawn(agent::serve(
                        socket,
                        Arc::clone(&inventory),
                        Arc::clone(&state),
                    ));
                }
                Err(e) => {
                    eprintln!("sim: cannot bind {port}: {e}");
                    std::process::exit(1);
                }
            }
        }
        println!("ready");
        let _ = std::io::stdout().flush();
        // Until the parent goes away.
        let _ = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
        })
        .await;
    });
}

fn bench(n: usize, quick: bool) -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bench-venues.toml");
    std::fs::write(&path, inventory_text(n)?)?;
    let inventory = Arc::new(
        Inventory::load(&path)
            .map_err(|d| format!("{} config errors", d.len()))?
            .0,
    );

    let mut child = Command::new(std::env::current_exe()?)
        .env("TOC_BENCH_SIM", &path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut ready = String::new();
    BufReader::new(child.stdout.take().ok_or("no child stdout")?).read_line(&mut ready)?;
    if ready.trim() != "ready" {
        return Err("the simulator did not start".into());
    }
    let sim_pid = child.id();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = rt.block_on(async {
        let client = Client::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 4)?;
        let probe = Arc::new(SnmpProbe::new(client.clone(), &inventory.profiles, 1));
        let devices: Vec<(usize, toc::config::venues::Device)> =
            inventory.devices.iter().cloned().enumerate().collect();

        // Burst: every device once, 512 at a time, three cycles.
        println!("\n{n} devices");
        let mut cpu_burst = 0.0;
        let cycles = if quick { 1 } else { 3 };
        for cycle in 1..=cycles {
            let cpu0 = cpu_seconds(None);
            let started = Instant::now();
            let sem = Arc::new(tokio::sync::Semaphore::new(512));
            let mut set = tokio::task::JoinSet::new();
            for (_, d) in &devices {
                let (probe, d, sem) = (Arc::clone(&probe), d.clone(), Arc::clone(&sem));
                set.spawn(async move {
                    let _permit = sem.acquire_owned().await;
                    probe.check(&d).await
                });
            }
            let mut ok = 0usize;
            let mut first_problem = None;
            while let Some(r) = set.join_next().await {
                match r.map(|o| o.result) {
                    Ok(CheckResult::Ok) => ok += 1,
                    Ok(other) => {
                        first_problem.get_or_insert(format!("{other:?}"));
                    }
                    Err(e) => {
                        first_problem.get_or_insert(e.to_string());
                    }
                }
            }
            let wall = started.elapsed();
            let cpu = cpu_seconds(None) - cpu0;
            if ok != n {
                return Err(format!(
                    "{} of {n} polls were not OK (first: {})",
                    n - ok,
                    first_problem.unwrap_or_default()
                )
                .into());
            }
            cpu_burst += cpu;
            println!(
                "  burst cycle {cycle}: {n} polls in {:.3} s wall, {ok} OK; CPU {:.3} s = {:.1} ms per 1,000 polls{}",
                wall.as_secs_f64(),
                cpu,
                cpu * 1000.0 / (n as f64 / 1000.0),
                first_problem.map(|p| format!("; first problem: {p}")).unwrap_or_default()
            );
        }
        let _ = cpu_burst;

        // Steady: the scheduler at the 5 s interval.
        let intervals = if quick { 1 } else { 3 };
        let (tx, mut rx) = tokio::sync::mpsc::channel::<toc::probe::Observation>(4096);
        let collector = tokio::spawn(async move {
            let (mut ok, mut total) = (0u64, 0u64);
            while let Some(obs) = rx.recv().await {
                total += 1;
                if obs.outcome.result == CheckResult::Ok {
                    ok += 1;
                }
            }
            (ok, total)
        });
        let cpu0 = cpu_seconds(None);
        let sim_cpu0 = cpu_seconds(Some(sim_pid));
        let started = Instant::now();
        let mut handle = scheduler::spawn(
            Arc::clone(&probe),
            devices,
            tx,
            SchedulerConfig {
                retries: 1,
                ..SchedulerConfig::default()
            },
        );
        tokio::time::sleep(Duration::from_secs(5 * intervals)).await;
        let stats = handle.stats();
        handle.shutdown().await;
        let wall = started.elapsed().as_secs_f64();
        let cpu = cpu_seconds(None) - cpu0;
        let sim_cpu = cpu_seconds(Some(sim_pid)) - sim_cpu0;
        let (ok, total) = collector.await?;
        println!(
            "  steady at 5 s interval for {wall:.1} s: {total} checks ({ok} OK), CPU {cpu:.2} s = {:.1}% of one core \
             ({:.1} ms per 1,000 polls); max start delay {} ms, late starts {}; simulator {:.1}% of one core",
            100.0 * cpu / wall,
            cpu * 1000.0 / (total.max(1) as f64 / 1000.0),
            stats.max_start_delay.as_millis(),
            stats.late_starts,
            100.0 * sim_cpu / wall,
        );
        if ok != total || total == 0 {
            return Err(format!("{} of {total} scheduled checks were not OK", total - ok).into());
        }
        let s = client.stats();
        println!(
            "  client: {} sent, {} received, {} timeouts, {} malformed, {} unknown id",
            s.sent, s.received, s.timeouts, s.malformed, s.unknown_id
        );
        Ok::<(), Box<dyn std::error::Error>>(())
    });
    drop(child.stdin.take());
    let _ = child.kill();
    let _ = child.wait();
    result
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
