//! `cargo bench --bench soak`: the real `toc demo --devices 10000` in a
//! tmux pane for 30 minutes with a fault injected every 2 s through the
//! simulator's control API and cleared a few seconds later; prints its
//! resident memory every 10 s with the slope, and its CPU under faults
//! beside its CPU without (a quiet window before the faults start).
//!
//! Targets (step 7): memory flat after the first 5 minutes (growth under
//! 1 MB over the last 20), peak at most 80 MB.
//!
//! The faults go round the venues and through the kinds an operator sees
//! (an access switch down, a core switch down, a results server down, a
//! slow answer, an interface down, a CPU alarm, a flapping link); each is
//! cleared with `DELETE /faults/<device>` after 2, 4, 8 or 30 s, so
//! short faults come and go as soft failures and long ones become hard
//! DOWN, open incidents and resolve them, as a day of a Games does.
//!
//! `TOC_SOAK_MINUTES=5` shortens the full run (10,000 devices) to five
//! minutes of faults, judged over the last two thirds; `TOC_BENCH_BIN`
//! runs another build of toc under the same bench (an earlier step's).
//!
//! Without `--bench` (`cargo test --all-targets`) it runs small and quick:
//! 1,000 devices polled every second, 20 s of faults. Needs tmux; prints a
//! notice and does nothing without it.
#![allow(clippy::cast_precision_loss)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use toc::config::{Inventory, SourceFile};

#[path = "support/demo.rs"]
mod demo;
#[path = "support/proc.rs"]
mod proc_stat;

use demo::Demo;

const VENUES: usize = 49;

struct Plan {
    devices: usize,
    interval: &'static str,
    /// After the wall is up, before anything is measured.
    settle: Duration,
    /// The window without faults whose CPU is the reference.
    quiet: Duration,
    /// How long faults are injected.
    soak: Duration,
    /// One fault every …
    every: Duration,
    /// RSS sampled every …
    sample: Duration,
    /// The window at the end over which growth is judged.
    judged: Duration,
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    if !demo::tmux_installed() {
        println!("soak bench: tmux is not installed; skipped");
        return;
    }
    // TOC_SOAK_MINUTES shortens (or lengthens) the full run's faults, to
    // look at something quickly at full scale.
    let minutes: Option<u64> = std::env::var("TOC_SOAK_MINUTES")
        .ok()
        .and_then(|m| m.parse().ok());
    let mut plan = if quick {
        Plan {
            devices: 1_000,
            interval: "--interval 1s",
            settle: Duration::from_secs(2),
            quiet: Duration::from_secs(5),
            soak: Duration::from_secs(20),
            every: Duration::from_secs(2),
            sample: Duration::from_secs(2),
            judged: Duration::from_secs(10),
        }
    } else {
        Plan {
            devices: 10_000,
            interval: "",
            settle: Duration::from_secs(30),
            quiet: Duration::from_secs(120),
            soak: Duration::from_secs(30 * 60),
            every: Duration::from_secs(2),
            sample: Duration::from_secs(10),
            judged: Duration::from_secs(20 * 60),
        }
    };
    if let Some(m) = minutes.filter(|_| !quick) {
        plan.soak = Duration::from_secs(m.max(1) * 60);
        plan.judged = plan.soak.min(plan.judged) * 2 / 3;
        plan.quiet = plan.quiet.min(plan.soak / 2);
    }
    if let Err(e) = soak(&plan) {
        eprintln!("soak bench failed: {e}");
        std::process::exit(1);
    }
}

/// A fault to inject: the device and the `POST /faults` body.
struct Fault {
    target: String,
    body: String,
    lasts: Duration,
}

/// The faults, in the order they are injected: round the venues, through
/// the kinds, with the lengths of [`LASTS`].
fn faults(devices: usize) -> Result<Vec<Fault>, String> {
    const LASTS: [u64; 4] = [2, 4, 8, 30];
    let text = toc::sim::synth::games(VENUES, devices);
    let src = SourceFile::new("synthetic.toml", text);
    let (inv, _) = Inventory::parse(&src).map_err(|d| format!("synthetic inventory: {d:?}"))?;
    let of_role = |role: &str| -> Vec<String> {
        inv.devices
            .iter()
            .filter(|d| d.role == role)
            .map(|d| d.id.clone())
            .collect()
    };
    // (devices, fault kind, value)
    let kinds: Vec<(Vec<String>, &str, Option<&str>)> = vec![
        (of_role("access-switch"), "down", None),
        (of_role("core-switch"), "down", None),
        (of_role("ovr-server"), "down", None),
        (of_role("access-switch"), "slow", Some("300ms")),
        (of_role("access-switch"), "if-down", None),
        (of_role("core-switch"), "cpu-high", None),
        (of_role("access-switch"), "flapping", None),
    ];
    let mut out = Vec::new();
    for round in 0..400 {
        for (i, (ids, kind, value)) in kinds.iter().enumerate() {
            if ids.is_empty() {
                continue;
            }
            let target = ids[(round * 7 + i * 13) % ids.len()].clone();
            let value = value.map_or(String::new(), |v| format!(",\"value\":\"{v}\""));
            out.push(Fault {
                body: format!("{{\"target\":\"{target}\",\"fault\":\"{kind}\"{value}}}"),
                target,
                lasts: Duration::from_secs(LASTS[(round + i) % LASTS.len()]),
            });
        }
    }
    if out.is_empty() {
        return Err("the synthetic inventory has no device to fault".into());
    }
    Ok(out)
}

fn soak(plan: &Plan) -> Result<(), String> {
    let faults = faults(plan.devices)?;
    let demo = Demo::start(
        "soak",
        &format!(
            "--devices {} --venues {VENUES} {}",
            plan.devices, plan.interval
        ),
    )?;
    let up = demo.wait_wall(Duration::from_secs(120))?;
    let api = demo.control_api(Duration::from_secs(10))?;
    println!(
        "soak {} devices, {VENUES} venues: wall up after {:.1} s; control API {api}",
        plan.devices,
        up.as_secs_f64()
    );
    std::thread::sleep(plan.settle);

    let cpu0 = demo.cpu_seconds()?;
    let t0 = Instant::now();
    std::thread::sleep(plan.quiet);
    let quiet_cpu = (demo.cpu_seconds()? - cpu0) / t0.elapsed().as_secs_f64();
    let (_, quiet_rss) = demo.memory_kib()?;
    println!(
        "without faults: CPU {:.1}% of one core over {:.0} s, RSS {:.1} MB",
        quiet_cpu * 100.0,
        plan.quiet.as_secs_f64(),
        mb(quiet_rss)
    );

    let report = inject(&demo, api, plan, &faults)?;
    let (hwm, _) = demo.memory_kib()?;
    print_report(plan, &report, quiet_cpu, hwm);
    Ok(())
}

struct Report {
    /// (seconds since the faults started, RSS KiB)
    samples: Vec<(f64, u64)>,
    cpu: f64,
    injected: usize,
    cleared: usize,
    refused: Vec<String>,
}

/// Injects one fault every `plan.every` for `plan.soak`, clears each when
/// its time is up (and every one still in force at the end), and samples
/// RSS every `plan.sample`.
fn inject(demo: &Demo, api: SocketAddr, plan: &Plan, faults: &[Fault]) -> Result<Report, String> {
    let mut report = Report {
        samples: Vec::new(),
        cpu: 0.0,
        injected: 0,
        cleared: 0,
        refused: Vec::new(),
    };
    let mut in_force: VecDeque<(Instant, &str)> = VecDeque::new();
    let cpu0 = demo.cpu_seconds()?;
    let t0 = Instant::now();
    let mut next_fault = t0;
    let mut next_sample = t0;
    let mut n = 0usize;
    let check = |what: &str, answer: (u16, String), report: &mut Report| {
        if answer.0 != 200 && report.refused.len() < 10 {
            report
                .refused
                .push(format!("{what}: {} {}", answer.0, answer.1.trim()));
        }
        answer.0 == 200
    };
    while t0.elapsed() < plan.soak {
        let now = Instant::now();
        if now >= next_sample {
            let (_, rss) = demo.memory_kib()?;
            let t = now.duration_since(t0).as_secs_f64();
            println!("  {t:>6.0} s  RSS {:>6.1} MB", mb(rss));
            report.samples.push((t, rss));
            next_sample += plan.sample;
        }
        while in_force.front().is_some_and(|(at, _)| *at <= now) {
            if let Some((_, target)) = in_force.pop_front() {
                let answer = demo::request(api, "DELETE", &format!("/faults/{target}"), None)?;
                if check(&format!("clear {target}"), answer, &mut report) {
                    report.cleared += 1;
                }
            }
        }
        if now >= next_fault {
            let fault = &faults[n % faults.len()];
            n += 1;
            // A device still faulted from an earlier round is skipped:
            // each fault is set and cleared once.
            if !in_force.iter().any(|(_, t)| *t == fault.target) {
                let answer = demo::request(api, "POST", "/faults", Some(&fault.body))?;
                if check(&format!("inject {}", fault.body), answer, &mut report) {
                    report.injected += 1;
                    in_force.push_back((now + fault.lasts, &fault.target));
                    in_force.make_contiguous().sort_by_key(|(at, _)| *at);
                }
            }
            next_fault += plan.every;
        }
        let wake = next_fault
            .min(next_sample)
            .min(in_force.front().map_or(next_fault, |(at, _)| *at));
        std::thread::sleep(wake.saturating_duration_since(Instant::now()));
    }
    report.cpu = (demo.cpu_seconds()? - cpu0) / t0.elapsed().as_secs_f64();
    for (_, target) in in_force.drain(..) {
        let answer = demo::request(api, "DELETE", &format!("/faults/{target}"), None)?;
        if check(&format!("clear {target}"), answer, &mut report) {
            report.cleared += 1;
        }
    }
    let (_, rss) = demo.memory_kib()?;
    report.samples.push((t0.elapsed().as_secs_f64(), rss));
    Ok(report)
}

fn print_report(plan: &Plan, report: &Report, quiet_cpu: f64, hwm: u64) {
    let secs = plan.soak.as_secs_f64();
    println!(
        "faults: {} injected and {} cleared over {:.0} s (one every {:.0} s); {} refused",
        report.injected,
        report.cleared,
        secs,
        plan.every.as_secs_f64(),
        report.refused.len()
    );
    for r in &report.refused {
        println!("  refused: {r}");
    }
    println!(
        "CPU under faults {:.1}% of one core, without faults {:.1}%",
        report.cpu * 100.0,
        quiet_cpu * 100.0
    );
    let all = slope_mb_per_min(&report.samples);
    let from = secs - plan.judged.as_secs_f64();
    let judged: Vec<(f64, u64)> = report
        .samples
        .iter()
        .copied()
        .filter(|(t, _)| *t >= from)
        .collect();
    let last = slope_mb_per_min(&judged);
    let minutes = plan.judged.as_secs_f64() / 60.0;
    let window = if minutes >= 1.0 {
        format!("{minutes:.0} min")
    } else {
        format!("{:.0} s", plan.judged.as_secs_f64())
    };
    let growth = match (judged.first(), judged.last()) {
        (Some((_, a)), Some((_, b))) => mb(*b) - mb(*a),
        _ => 0.0,
    };
    let first = report.samples.first().map_or(0, |s| s.1);
    let end = report.samples.last().map_or(0, |s| s.1);
    println!(
        "RSS {:.1} MB when the faults started, {:.1} MB at the end; peak (VmHWM) {:.1} MB (target at most 80 MB: {})",
        mb(first),
        mb(end),
        mb(hwm),
        met(mb(hwm) <= 80.0)
    );
    println!("RSS slope over the whole soak {all:+.3} MB/min");
    println!(
        "RSS over the last {window}: slope {last:+.3} MB/min ({:+.2} MB fitted), {growth:+.2} MB first sample to last (target under 1 MB: {})",
        last * minutes,
        met(growth < 1.0 && last * minutes < 1.0)
    );
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

fn mb(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1e6
}

/// Least-squares slope of RSS over time, MB per minute.
fn slope_mb_per_min(samples: &[(f64, u64)]) -> f64 {
    let n = samples.len() as f64;
    if samples.len() < 2 {
        return 0.0;
    }
    let mt = samples.iter().map(|s| s.0).sum::<f64>() / n;
    let my = samples.iter().map(|s| mb(s.1)).sum::<f64>() / n;
    let (mut num, mut den) = (0.0, 0.0);
    for (t, y) in samples {
        num += (t - mt) * (mb(*y) - my);
        den += (t - mt) * (t - mt);
    }
    if den == 0.0 { 0.0 } else { num / den * 60.0 }
}
