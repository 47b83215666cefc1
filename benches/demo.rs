//! `toc demo` as a whole: the real binary in a tmux pane (160x48) with a
//! synthetic Games of 49 venues and 10,000 devices (1,000 polled every
//! second, for a few seconds, when not run with `--bench`, so
//! `cargo test --all-targets` stays quick).
//! Prints the process's peak RSS (`VmHWM`) and its CPU over a steady
//! window: simulator, poller, engine and console together.
//!
//! Needs tmux; prints a notice and does nothing without it.
#![allow(clippy::cast_precision_loss)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "support/proc.rs"]
mod proc_stat;

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    if !tmux_installed() {
        println!("demo bench: tmux is not installed; skipped");
        return;
    }
    // Quick: every device polled each second, so the wall is up at once.
    // Full: the intervals of the synthetic Games (5 s, UPS and PDUs 30 s).
    let (devices, settle, window, interval) = if quick {
        (
            1_000,
            Duration::from_secs(2),
            Duration::from_secs(3),
            "--interval 1s",
        )
    } else {
        (10_000, Duration::from_secs(20), Duration::from_secs(30), "")
    };
    if let Err(e) = bench(devices, settle, window, interval) {
        eprintln!("demo bench failed: {e}");
        std::process::exit(1);
    }
}

fn tmux_installed() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn bench(devices: usize, settle: Duration, window: Duration, interval: &str) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("toc-demo-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let socket = dir.join("tmux.sock");
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .arg("-S")
            .arg(&socket)
            .args(args)
            .output()
            .map_err(|e| e.to_string())
    };
    let bin = env!("CARGO_BIN_EXE_toc");
    // The synthetic inventory keeps its data folder (and log) here.
    let cmd = format!(
        "cd '{}' && exec '{bin}' demo --devices {devices} --venues 49 {interval}",
        dir.display()
    );
    let out = tmux(&[
        "new-session",
        "-d",
        "-s",
        "bench",
        "-x",
        "160",
        "-y",
        "48",
        "sh",
        "-c",
        &cmd,
    ])?;
    if !out.status.success() {
        return Err(format!("tmux new-session: {out:?}"));
    }
    let result = measure(&tmux, devices, settle, window);
    let _ = tmux(&["send-keys", "-t", "bench", "q"]);
    std::thread::sleep(Duration::from_millis(500));
    let _ = tmux(&["kill-server"]);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn measure(
    tmux: &dyn Fn(&[&str]) -> Result<std::process::Output, String>,
    devices: usize,
    settle: Duration,
    window: Duration,
) -> Result<(), String> {
    let out = tmux(&["display-message", "-p", "-t", "bench", "#{pane_pid}"])?;
    let pid: u32 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|e| format!("pane pid: {e}"))?;
    let t0 = Instant::now();
    // Until the first poll cycle is in: every tile out of UNKNOWN.
    loop {
        let pane = tmux(&["capture-pane", "-p", "-t", "bench"])?;
        let text = String::from_utf8_lossy(&pane.stdout).into_owned();
        if text.contains("OK") && !text.contains("UNKNOWN") {
            println!(
                "demo {devices} devices: wall up and polled after {:.1} s",
                t0.elapsed().as_secs_f64()
            );
            break;
        }
        if t0.elapsed() > Duration::from_secs(120) {
            return Err(format!("the wall did not come up:\n{text}"));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    std::thread::sleep(settle);
    let cpu0 = proc_stat::cpu(Some(pid)).ok_or("toc is gone")?;
    let w0 = Instant::now();
    std::thread::sleep(window);
    let cpu = proc_stat::cpu(Some(pid)).ok_or("toc is gone")? - cpu0;
    let secs = w0.elapsed().as_secs_f64();
    let (hwm, rss) = memory_kib(pid)?;
    println!(
        "demo {devices} devices, 49 venues: CPU {:.1}% of one core over {secs:.0} s (simulator, poller, engine and console)",
        cpu * 100.0 / secs
    );
    println!(
        "demo {devices} devices: peak RSS {:.1} MiB, now {:.1} MiB",
        hwm as f64 / 1024.0,
        rss as f64 / 1024.0
    );
    Ok(())
}

fn memory_kib(pid: u32) -> Result<(u64, u64), String> {
    let status = std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("status"))
        .map_err(|e| format!("toc is gone: {e}"))?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok((field("VmHWM:"), field("VmRSS:")))
}
