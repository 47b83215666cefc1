//! `cargo bench --bench exporter`: toc's poller against Prometheus's
//! `snmp_exporter` (0.21, the Debian package `prometheus-snmp-exporter`)
//! on the same simulated devices, reading the same OIDs.
//!
//! `toc sim --ephemeral` serves 1,000 devices, each on a port of its own
//! from the system (read back from what it prints). Both pollers read
//! sysUpTime, sysName and ifDescr/ifAdminStatus/ifOperStatus/ifName of
//! every device:
//!
//! - toc: its SNMP probe and poll scheduler, in this process (the CPU
//!   measured is this process's while only toc runs in it);
//! - the exporter: its own process, driven by HTTP scrapes
//!   `/snmp?target=127.0.0.1:PORT&module=toc` from this process, each
//!   device every 5 s at a phase of its own, as Prometheus scrapes (the
//!   CPU measured is the exporter's).
//!
//! The method: three alternating pairs of 90 s windows at a 5 s
//! interval. Per window: CPU (utime + stime, /proc/PID/stat) per 1,000
//! polls; per pair, before the windows: the wall time of one burst of
//! 1,000 polls (512 at a time, toc's default limit, for both). Target:
//! toc at most a tenth of the exporter's CPU per poll.
//!
//! Environment: `TOC_BENCH_WINDOW` (seconds, default 90),
//! `TOC_BENCH_PAIRS` (default 3), `TOC_BENCH_DEVICES` (default 1000).
//! Without `--bench` (`cargo test --benches`) it is a quick run: 100
//! devices, one pair of 6 s windows. When the exporter is missing it is
//! installed with apt-get if this runs as root, else the bench says so and
//! skips.
#![allow(clippy::cast_precision_loss, clippy::too_many_lines)]

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use toc::config::Inventory;
use toc::model::CheckResult;
use toc::probe::Probe as _;
use toc::probe::scheduler::{self, SchedulerConfig};
use toc::probe::snmp::SnmpProbe;
use toc::snmp::client::Client;

#[path = "support/proc.rs"]
mod proc_stat;
use proc_stat::cpu_seconds;

const EXPORTER: &str = "prometheus-snmp-exporter";
const INTERVAL: Duration = Duration::from_secs(5);
const CONCURRENCY: usize = 512;
const COMMUNITY: &str = "bench";
/// The port of device `i` in the generated file (served elsewhere).
const FILE_PORT_BASE: u16 = 40_000;

/// The exporter's module: the OIDs toc's probe reads, no generator.
const SNMP_YML: &str = "toc:
  version: 2
  auth:
    community: bench
  timeout: 1s
  retries: 1
  max_repetitions: 25
  get:
  - 1.3.6.1.2.1.1.3.0
  - 1.3.6.1.2.1.1.5.0
  walk:
  - 1.3.6.1.2.1.2.2.1.2
  - 1.3.6.1.2.1.2.2.1.7
  - 1.3.6.1.2.1.2.2.1.8
  - 1.3.6.1.2.1.31.1.1.1.1
  metrics:
  - name: sysUpTime
    oid: 1.3.6.1.2.1.1.3
    type: gauge
  - name: sysName
    oid: 1.3.6.1.2.1.1.5
    type: DisplayString
  - name: ifDescr
    oid: 1.3.6.1.2.1.2.2.1.2
    type: DisplayString
    indexes:
    - labelname: ifIndex
      type: gauge
  - name: ifAdminStatus
    oid: 1.3.6.1.2.1.2.2.1.7
    type: gauge
    indexes:
    - labelname: ifIndex
      type: gauge
  - name: ifOperStatus
    oid: 1.3.6.1.2.1.2.2.1.8
    type: gauge
    indexes:
    - labelname: ifIndex
      type: gauge
  - name: ifName
    oid: 1.3.6.1.2.1.31.1.1.1.1
    type: DisplayString
    indexes:
    - labelname: ifIndex
      type: gauge
";

struct Settings {
    devices: usize,
    window: Duration,
    pairs: usize,
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let settings = if quick {
        Settings {
            devices: 100,
            window: Duration::from_secs(6),
            pairs: 1,
        }
    } else {
        Settings {
            devices: usize::try_from(env_or("TOC_BENCH_DEVICES", 1000)).unwrap_or(1000),
            window: Duration::from_secs(env_or("TOC_BENCH_WINDOW", 90)),
            pairs: usize::try_from(env_or("TOC_BENCH_PAIRS", 3)).unwrap_or(3),
        }
    };
    if settings.devices == 0 || settings.devices > 20_000 {
        eprintln!("exporter bench: TOC_BENCH_DEVICES must be 1 to 20000");
        std::process::exit(2);
    }
    // The quick run (under `cargo test`) only uses an exporter already
    // installed; the real run installs it when it can.
    let found = if quick {
        on_path(EXPORTER)
    } else {
        find_or_install_exporter()
    };
    let Some(exporter) = found else {
        println!(
            "exporter bench: {EXPORTER} is not installed (apt-get install {EXPORTER}); skipped"
        );
        return;
    };
    if let Err(e) = bench(&settings, &exporter) {
        eprintln!("exporter bench failed: {e}");
        std::process::exit(1);
    }
}

fn on_path(tool: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|p| p.join(tool))
        .find(|p| p.is_file())
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().next().map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// The exporter's path; installs it with apt-get when missing and root.
fn find_or_install_exporter() -> Option<PathBuf> {
    if let Some(p) = on_path(EXPORTER) {
        return Some(p);
    }
    if !is_root() || on_path("apt-get").is_none() {
        return None;
    }
    println!("exporter bench: installing {EXPORTER} with apt-get");
    let ok = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    let _ = ok(&["update", "-qq"]);
    if !ok(&["install", "-y", "-qq", "--no-install-recommends", EXPORTER]) {
        return None;
    }
    on_path(EXPORTER)
}

/// A venues file with `n` SNMP devices, each on a port of its own.
fn venues_text(n: usize, ports: &dyn Fn(usize) -> u16) -> String {
    let mut s = format!(
        "[event]\nname = \"exporter bench\"\npoll_interval = \"5s\"\ntimeout = \"1s\"\nretries = 1\n\n\
         [profiles.v2]\nversion = \"v2c\"\ncommunity = \"{COMMUNITY}\"\n\n\
         [[venues]]\ncode = \"BEN\"\nname = \"Bench\"\ncity = \"Loopback\"\n\n"
    );
    for d in 0..n {
        let _ = writeln!(
            s,
            "[[venues.devices]]\nid = \"dev-{d:05}\"\nrole = \"switch\"\n\
             probe = \"snmp://127.0.0.1:{}\"\nprofile = \"v2\"\n",
            ports(d)
        );
    }
    s
}

/// Kills and reaps a child on drop.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `toc sim --ephemeral` on the file; returns it and the served
/// port of each device, in file order.
fn start_sim(file: &Path, n: usize) -> Result<(Reaped, Vec<u16>), String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_toc"))
        .args(["sim", "--ephemeral", "--control", "127.0.0.1:0"])
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("toc sim: {e}"))?;
    let out = child.stdout.take().ok_or("toc sim: no stdout")?;
    let sim = Reaped(child);
    let mut served = vec![0u16; n];
    for line in BufReader::new(out).lines() {
        let line = line.map_err(|e| e.to_string())?;
        if line.starts_with("Ctrl-C") {
            break;
        }
        // `  127.0.0.1:40000 -> 127.0.0.1:49299`
        let Some((from, to)) = line.trim().split_once(" -> ") else {
            continue;
        };
        let (Ok(from), Ok(to)) = (from.parse::<SocketAddr>(), to.parse::<SocketAddr>()) else {
            continue;
        };
        if let Some(slot) = usize::from(from.port())
            .checked_sub(usize::from(FILE_PORT_BASE))
            .and_then(|i| served.get_mut(i))
        {
            *slot = to.port();
        }
    }
    if served.contains(&0) {
        return Err("toc sim did not print every device's served address".into());
    }
    Ok((sim, served))
}

/// Starts the exporter on 127.0.0.1 port 0; returns it and its address
/// (read from its log: `msg="Listening on" address=127.0.0.1:PORT`).
fn start_exporter(exporter: &Path, dir: &Path) -> Result<(Reaped, SocketAddr), String> {
    let config = dir.join("snmp.yml");
    std::fs::write(&config, SNMP_YML).map_err(|e| e.to_string())?;
    let log = dir.join("exporter.log");
    let log_file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
    let child = Command::new(exporter)
        .arg(format!("--config.file={}", config.display()))
        .arg("--web.listen-address=127.0.0.1:0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .map_err(|e| format!("{EXPORTER}: {e}"))?;
    let exporter = Reaped(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let addr = text.lines().find_map(|l| {
            let rest = l.split_once("msg=\"Listening on\"")?.1;
            rest.split_once("address=")?
                .1
                .split_whitespace()
                .next()?
                .parse::<SocketAddr>()
                .ok()
        });
        if let Some(addr) = addr {
            return Ok((exporter, addr));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!(
        "{EXPORTER} did not say where it listens: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    ))
}

/// What one side did in one window or burst.
#[derive(Debug, Clone, Copy, Default)]
struct Measure {
    polls: u64,
    failed: u64,
    cpu: f64,
    wall: f64,
}

impl Measure {
    fn cpu_per_1000(&self) -> f64 {
        self.cpu * 1000.0 / (self.polls.max(1) as f64) * 1000.0
    }

    fn add(&mut self, other: Measure) {
        self.polls += other.polls;
        self.failed += other.failed;
        self.cpu += other.cpu;
        self.wall += other.wall;
    }
}

/// The exporter's side: scrapes over HTTP.
#[derive(Clone)]
struct Scraper {
    http: reqwest::Client,
    exporter: SocketAddr,
    ports: Arc<Vec<u16>>,
}

impl Scraper {
    /// One scrape of device `i`; whether it read the device.
    async fn scrape(&self, i: usize) -> bool {
        let url = format!(
            "http://{}/snmp?target=127.0.0.1:{}&module=toc",
            self.exporter, self.ports[i]
        );
        match self.http.get(url).send().await {
            Ok(r) if r.status().is_success() => r
                .text()
                .await
                .is_ok_and(|body| body.contains("sysName{") && !body.contains("snmp_error")),
            _ => false,
        }
    }
}

/// Runs `f(i)` for every device, `CONCURRENCY` at a time.
async fn burst<F, Fut>(n: usize, f: F) -> (u64, u64)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let sem = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let sem = Arc::clone(&sem);
        let fut = f(i);
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            fut.await
        });
    }
    let (mut ok, mut failed) = (0, 0);
    while let Some(r) = set.join_next().await {
        if matches!(r, Ok(true)) {
            ok += 1;
        } else {
            failed += 1;
        }
    }
    (ok, failed)
}

async fn measured<Fut: std::future::Future<Output = (u64, u64)>>(
    pid: Option<u32>,
    work: Fut,
) -> Measure {
    let cpu0 = cpu_seconds(pid);
    let started = Instant::now();
    let (polls, failed) = work.await;
    Measure {
        polls,
        failed,
        cpu: cpu_seconds(pid) - cpu0,
        wall: started.elapsed().as_secs_f64(),
    }
}

/// toc's scheduler polling every device at the 5 s interval for `window`.
async fn toc_window(
    probe: &Arc<SnmpProbe>,
    inventory: &Arc<Inventory>,
    window: Duration,
) -> (u64, u64) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<toc::probe::Observation>(4096);
    let collector = tokio::spawn(async move {
        let (mut ok, mut failed) = (0u64, 0u64);
        while let Some(obs) = rx.recv().await {
            if obs.outcome.result == CheckResult::Ok {
                ok += 1;
            } else {
                failed += 1;
            }
        }
        (ok, failed)
    });
    let mut handle = scheduler::spawn_inventory(
        Arc::clone(probe),
        Arc::clone(inventory),
        tx,
        SchedulerConfig {
            retries: 1,
            ..SchedulerConfig::default()
        },
    );
    tokio::time::sleep(window).await;
    handle.shutdown().await;
    collector.await.unwrap_or((0, 0))
}

/// The exporter scraped for every device every 5 s, each at its own phase
/// of the interval, for `window`.
async fn exporter_window(scraper: &Scraper, window: Duration) -> (u64, u64) {
    let n = scraper.ports.len();
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let sem = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let start = tokio::time::Instant::now();
    let end = start + window;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let (scraper, ok, failed, sem) = (
            scraper.clone(),
            Arc::clone(&ok),
            Arc::clone(&failed),
            Arc::clone(&sem),
        );
        let phase = INTERVAL.mul_f64(i as f64 / n as f64);
        tasks.spawn(async move {
            let mut ticks = tokio::time::interval_at(start + phase, INTERVAL);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                let at = ticks.tick().await;
                if at >= end {
                    break;
                }
                let _permit = sem.acquire().await;
                let counter = if scraper.scrape(i).await {
                    &ok
                } else {
                    &failed
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    tokio::time::sleep_until(end).await;
    tasks.shutdown().await;
    (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed))
}

fn line(side: &str, what: &str, m: &Measure) -> String {
    format!(
        "  {side:<9} {what:<22} {:>6} polls ({} failed) in {:>6.2} s wall, CPU {:>6.2} s = {:>7.1} ms per 1,000 polls",
        m.polls,
        m.failed,
        m.wall,
        m.cpu,
        m.cpu_per_1000()
    )
}

fn bench(settings: &Settings, exporter_path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let n = settings.devices;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("venues.toml");
    let file_port = |d: usize| FILE_PORT_BASE + u16::try_from(d).unwrap_or(0);
    std::fs::write(&file, venues_text(n, &file_port))?;
    let (sim, ports) = start_sim(&file, n)?;
    // The same devices where the simulator serves them.
    let served_file = dir.path().join("served.toml");
    std::fs::write(&served_file, venues_text(n, &|d| ports[d]))?;
    let inventory = Arc::new(
        Inventory::load(&served_file)
            .map_err(|d| format!("{} config errors", d.len()))?
            .0,
    );
    let (exporter, exporter_addr) = start_exporter(exporter_path, dir.path())?;
    let exporter_pid = exporter.0.id();
    let sim_pid = sim.0.id();
    println!(
        "toc vs {EXPORTER} 0.21: {n} devices of `toc sim --ephemeral`, each on its own port; \
         {} pair(s) of {} s windows at a {} s interval",
        settings.pairs,
        settings.window.as_secs(),
        INTERVAL.as_secs()
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let client = Client::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 4)?;
        let probe = Arc::new(SnmpProbe::new(client, &inventory.profiles, 1));
        let scraper = Scraper {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
            exporter: exporter_addr,
            ports: Arc::new(ports.clone()),
        };
        let (mut toc_total, mut exp_total) = (Measure::default(), Measure::default());
        let (mut toc_burst, mut exp_burst) = (Measure::default(), Measure::default());
        for pair in 1..=settings.pairs {
            println!("pair {pair}");
            let devices = Arc::clone(&inventory);
            let p = Arc::clone(&probe);
            let tb = measured(None, burst(n, move |i| {
                let (p, devices) = (Arc::clone(&p), Arc::clone(&devices));
                async move { p.check(&devices.devices[i]).await.result == CheckResult::Ok }
            }))
            .await;
            println!("{}", line("toc", "burst", &tb));
            let s = scraper.clone();
            let eb = measured(Some(exporter_pid), burst(n, move |i| {
                let s = s.clone();
                async move { s.scrape(i).await }
            }))
            .await;
            println!("{}", line("exporter", "burst", &eb));
            let sim0 = cpu_seconds(Some(sim_pid));
            let tw = measured(None, toc_window(&probe, &inventory, settings.window)).await;
            println!("{}", line("toc", "steady window", &tw));
            let ew = measured(Some(exporter_pid), exporter_window(&scraper, settings.window)).await;
            println!("{}", line("exporter", "steady window", &ew));
            println!(
                "  ratio toc/exporter: CPU per poll {:.3} (steady), {:.3} (burst); burst wall {:.3}; simulator {:.2} s CPU over both windows",
                tw.cpu_per_1000() / ew.cpu_per_1000(),
                tb.cpu_per_1000() / eb.cpu_per_1000(),
                tb.wall / eb.wall,
                cpu_seconds(Some(sim_pid)) - sim0
            );
            toc_total.add(tw);
            exp_total.add(ew);
            toc_burst.add(tb);
            exp_burst.add(eb);
        }
        let ratio = toc_total.cpu_per_1000() / exp_total.cpu_per_1000();
        println!("all windows");
        println!("{}", line("toc", "steady", &toc_total));
        println!("{}", line("exporter", "steady", &exp_total));
        println!("{}", line("toc", "bursts", &toc_burst));
        println!("{}", line("exporter", "bursts", &exp_burst));
        println!(
            "CPU per poll at 5 s, toc/exporter: {ratio:.3} (target at most 0.100: {})",
            if ratio <= 0.1 { "met" } else { "NOT met" }
        );
        println!(
            "burst of {n} polls, wall: toc {:.3} s, exporter {:.3} s (ratio {:.3})",
            toc_burst.wall / settings.pairs as f64,
            exp_burst.wall / settings.pairs as f64,
            toc_burst.wall / exp_burst.wall
        );
        if toc_total.polls == 0 || exp_total.polls == 0 {
            return Err("a side made no successful poll".into());
        }
        Ok::<(), Box<dyn std::error::Error>>(())
    })?;
    drop(exporter);
    drop(sim);
    Ok(())
}
