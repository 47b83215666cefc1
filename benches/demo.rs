//! `toc demo` as a whole: the real binary in a tmux pane (160x48) with a
//! synthetic Games of 49 venues and 10,000 devices (1,000 polled every
//! second, for a few seconds, when not run with `--bench`, so
//! `cargo test --all-targets` stays quick).
//! Prints the process's peak RSS (`VmHWM`) and its CPU over a steady
//! window: simulator, poller, engine and console together.
//!
//! Needs tmux; prints a notice and does nothing without it.
#![allow(clippy::cast_precision_loss)]

use std::time::{Duration, Instant};

#[path = "support/demo.rs"]
mod demo;
#[path = "support/proc.rs"]
mod proc_stat;

use demo::Demo;

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    if !demo::tmux_installed() {
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

fn bench(devices: usize, settle: Duration, window: Duration, interval: &str) -> Result<(), String> {
    let demo = Demo::start(
        "demo",
        &format!("--devices {devices} --venues 49 {interval}"),
    )?;
    let up = demo.wait_wall(Duration::from_secs(120))?;
    println!(
        "demo {devices} devices: wall up and polled after {:.1} s",
        up.as_secs_f64()
    );
    std::thread::sleep(settle);
    let cpu0 = demo.cpu_seconds()?;
    let w0 = Instant::now();
    std::thread::sleep(window);
    let cpu = demo.cpu_seconds()? - cpu0;
    let secs = w0.elapsed().as_secs_f64();
    let (hwm, rss) = demo.memory_kib()?;
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
