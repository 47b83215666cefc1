//! What the benches read of a process from `/proc`. Each bench binary
//! includes this file (`#[path = "support/proc.rs"] mod proc_stat;`).
#![allow(dead_code)] // each bench uses what it needs

/// CPU seconds (user + system) of this process, or of `pid`; `None` when
/// the process is gone or its line cannot be read.
pub fn cpu(pid: Option<u32>) -> Option<f64> {
    let path = pid.map_or_else(
        || "/proc/self/stat".to_owned(),
        |p| format!("/proc/{p}/stat"),
    );
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command name, which is in parentheses.
    let (_, after) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here
    // (`after` starts at field 3); clock ticks of 1/100 s.
    Some((ticks(11) + ticks(12)) / 100.0)
}

/// [`cpu`], 0 when it cannot be read.
pub fn cpu_seconds(pid: Option<u32>) -> f64 {
    cpu(pid).unwrap_or(0.0)
}

/// (`VmRSS`, `VmHWM`) of `pid` in KiB: current and peak resident memory;
/// `None` when the process is gone.
pub fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Some((field("VmRSS:"), field("VmHWM:")))
}
