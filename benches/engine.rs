//! The engine's state at Games scale (49 venues, 10,000 devices): what one
//! poll cycle of observations costs, and what a snapshot costs. Pure CPU,
//! no sockets. Run with `cargo bench --bench engine`; without `--bench`
//! (as `cargo test --all-targets` runs it) it does one quick round.
#![allow(clippy::cast_precision_loss)]

use std::time::{Duration, Instant, SystemTime};

use toc::config::{Inventory, SourceFile};
use toc::engine::State;
use toc::model::CheckResult;
use toc::probe::{Observation, Outcome, Reading};

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let rounds = if quick { 1 } else { 20 };
    let text = toc::sim::synth::games(49, 10_000);
    let src = SourceFile::new("<synthetic games>", text);
    let inv = match Inventory::parse(&src) {
        Ok((inv, _)) => inv,
        Err(diags) => {
            eprintln!("synthetic games does not parse: {} errors", diags.len());
            std::process::exit(1);
        }
    };
    let n = inv.devices.len();
    let t0 = SystemTime::now();
    let obs = |device: usize, result: CheckResult| {
        let mut outcome = Outcome::new(result).with_latency(Duration::from_micros(300));
        outcome.readings = vec![
            Reading::new("sysName", "x"),
            Reading::new("sysUpTime", "3d 4h"),
            Reading::new("if.Te1/0/1", "up"),
            Reading::new("if.Te1/0/2", "up"),
            Reading::new("cpu.percent", 35),
        ];
        Observation {
            device,
            at: t0,
            start_delay: Duration::ZERO,
            took: Duration::ZERO,
            outcome,
        }
    };

    let mut first = Vec::new();
    let mut steady = Vec::new();
    let mut snap = Vec::new();
    let mut fault = Vec::new();
    let mut outage = Vec::new();
    let mut recovery = Vec::new();
    for _ in 0..rounds {
        let mut state = State::new(&inv, t0);
        // First cycle: every device answers for the first time (a hard
        // change each), one snapshot at the end.
        let t = Instant::now();
        for d in 0..n {
            state.observe(obs(d, CheckResult::Ok));
        }
        let _ = state.snapshot(t0);
        first.push(t.elapsed());
        // A steady cycle: nothing changes, one snapshot.
        let t = Instant::now();
        for d in 0..n {
            state.observe(obs(d, CheckResult::Ok));
        }
        let _ = state.snapshot(t0);
        steady.push(t.elapsed());
        // A snapshot alone.
        let t = Instant::now();
        let _ = state.snapshot(t0);
        snap.push(t.elapsed());
        // One device turning hard DOWN: re-evaluation and incidents.
        let t = Instant::now();
        for _ in 0..inv.event.max_attempts {
            state.observe(obs(0, CheckResult::Fail("no answer".to_owned())));
        }
        let s = state.snapshot(t0);
        fault.push(t.elapsed());
        assert!(!s.incidents.is_empty(), "the fault opened an incident");
        let (down, up) = every_uplink(&mut state, inv.event.max_attempts, n, &obs, t0);
        outage.push(down);
        recovery.push(up);
    }
    let ms = |v: &[Duration]| {
        let mut v: Vec<f64> = v.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        v.sort_by(f64::total_cmp);
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        format!("mean {mean:.2} ms, max {:.2} ms", v[v.len() - 1])
    };
    println!("engine, 49 venues, {n} devices, {rounds} round(s):");
    println!(
        "  first cycle ({n} observations, each a hard change) + snapshot: {}",
        ms(&first)
    );
    println!(
        "  steady cycle ({n} observations, no change) + snapshot:        {}",
        ms(&steady)
    );
    println!(
        "  snapshot alone:                                                {}",
        ms(&snap)
    );
    println!(
        "  one device to hard DOWN (3 observations) + snapshot:           {}",
        ms(&fault)
    );
    println!(
        "  every uplink down ({} cycles of {n} failures + snapshot):    {}",
        inv.event.max_attempts,
        ms(&outage)
    );
    println!(
        "  recovery ({n} answers, children checked now) + snapshot:    {}",
        ms(&recovery)
    );
}

/// Every venue loses its uplink: every device fails `attempts` times
/// (children held while their parents have no verdict), the check-now
/// requests answered with a failure, one snapshot per cycle; then
/// everything answers again and the recovered paths ask for their
/// children at once, answered OK. Returns how long each half took.
fn every_uplink(
    state: &mut State,
    attempts: u32,
    n: usize,
    obs: &impl Fn(usize, CheckResult) -> Observation,
    t0: SystemTime,
) -> (Duration, Duration) {
    let fail = || CheckResult::Fail("no answer".to_owned());
    let t = Instant::now();
    for _ in 0..attempts {
        for d in 0..n {
            state.observe(obs(d, fail()));
        }
        for d in state.take_checks() {
            state.observe(obs(d, fail()));
        }
        let _ = state.snapshot(t0);
    }
    let down = t.elapsed();
    let s = state.snapshot(t0);
    assert_eq!(s.incidents.len(), 49, "one incident per venue");
    let t = Instant::now();
    for d in 0..n {
        state.observe(obs(d, CheckResult::Ok));
    }
    for d in state.take_checks() {
        state.observe(obs(d, CheckResult::Ok));
    }
    let s = state.snapshot(t0);
    let up = t.elapsed();
    assert!(
        s.incidents.iter().all(|i| i.clear_since.is_some()),
        "all clear"
    );
    // They resolve by themselves once clear for the hold.
    state.tick(t0 + Duration::from_secs(3600));
    assert!(state.snapshot(t0).incidents.is_empty(), "all resolved");
    (down, up)
}
