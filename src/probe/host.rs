//! The host probe: the TOC machine itself, watched like a venue device.
//! A console that runs out of disk or memory stops telling the truth about
//! the venues, so the operators see it on the wall first.
//!
//! Sampling reads the operating system (blocking), so it runs on tokio's
//! blocking pool. The probe keeps its `System` between samples, so the CPU
//! figure is the real usage since the previous sample.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use sysinfo::{
    DiskRefreshKind, Disks, MINIMUM_CPU_UPDATE_INTERVAL, MemoryRefreshKind, ProcessRefreshKind,
    ProcessesToUpdate, System,
};

use super::{Outcome, Reading};
use crate::model::CheckResult;

/// CPU busy at or above this percent is DEGRADED.
pub const CPU_WARN: f64 = 90.0;
/// Memory used at or above this percent is DEGRADED.
pub const MEMORY_WARN: f64 = 90.0;
/// Memory used at or above this percent is DOWN.
pub const MEMORY_FAIL: f64 = 97.0;
/// Disk full at or above this percent is DEGRADED.
pub const DISK_WARN: f64 = 90.0;
/// Disk full at or above this percent is DOWN.
pub const DISK_FAIL: f64 = 97.0;

/// What one look at the host found.
#[derive(Debug, Clone, PartialEq)]
pub struct HostSample {
    /// CPU busy, all cores, percent since the previous sample.
    pub cpu_percent: f64,
    /// One-minute load average (none where the system has none).
    pub load_1m: Option<f64>,
    /// Memory in use, bytes.
    pub memory_used: u64,
    /// Memory installed, bytes.
    pub memory_total: u64,
    /// The filesystem that holds the data folder, if it was found.
    pub disk: Option<DiskSample>,
    /// Running processes.
    pub processes: usize,
}

/// How full one filesystem is.
#[derive(Debug, Clone, PartialEq)]
pub struct DiskSample {
    /// Where it is mounted (`/`, `/var/lib/toc`).
    pub mount: String,
    /// Percent of its space in use.
    pub percent: f64,
}

impl HostSample {
    /// Memory in use, percent of installed memory (0 when none is known).
    #[allow(clippy::cast_precision_loss)]
    pub fn memory_percent(&self) -> f64 {
        if self.memory_total == 0 {
            return 0.0;
        }
        self.memory_used as f64 * 100.0 / self.memory_total as f64
    }

    /// The sample as readings, in a fixed order.
    pub fn readings(&self) -> Vec<Reading> {
        let mut out = vec![Reading::new(
            "cpu.percent",
            format!("{:.1}", self.cpu_percent),
        )];
        if let Some(load) = self.load_1m {
            out.push(Reading::new("load.1m", format!("{load:.2}")));
        }
        out.push(Reading::new("memory.used", self.memory_used));
        out.push(Reading::new("memory.total", self.memory_total));
        out.push(Reading::new(
            "memory.percent",
            format!("{:.1}", self.memory_percent()),
        ));
        if let Some(disk) = &self.disk {
            out.push(Reading::new(
                format!("disk.{}.percent", disk.mount),
                format!("{:.1}", disk.percent),
            ));
        }
        out.push(Reading::new("processes", self.processes));
        out
    }
}

/// The verdict on a sample: the worst of CPU, memory and disk, with every
/// problem named (`disk / 98% full; memory 92% used`).
pub fn judge(sample: &HostSample) -> CheckResult {
    let mut fails = Vec::new();
    let mut warns = Vec::new();
    let cpu = sample.cpu_percent;
    if cpu >= CPU_WARN {
        warns.push(format!("cpu {}% busy", whole(cpu)));
    }
    let memory = sample.memory_percent();
    let memory_reason = format!("memory {}% used", whole(memory));
    if memory >= MEMORY_FAIL {
        fails.push(memory_reason);
    } else if memory >= MEMORY_WARN {
        warns.push(memory_reason);
    }
    if let Some(disk) = &sample.disk {
        let reason = format!("disk {} {}% full", disk.mount, whole(disk.percent));
        if disk.percent >= DISK_FAIL {
            fails.push(reason);
        } else if disk.percent >= DISK_WARN {
            warns.push(reason);
        }
    }
    if !fails.is_empty() {
        fails.extend(warns);
        CheckResult::Fail(fails.join("; "))
    } else if !warns.is_empty() {
        CheckResult::Warn(warns.join("; "))
    } else {
        CheckResult::Ok
    }
}

/// A percent rounded down, so that the figure shown agrees with the
/// threshold it crossed (96.9% is not shown as 97%).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn whole(percent: f64) -> u32 {
    percent.clamp(0.0, 1000.0).floor() as u32
}

/// Watches the TOC host. Cheap to clone; clones share one `System`.
#[derive(Debug, Clone)]
pub struct HostProbe {
    disk_path: PathBuf,
    state: Arc<Mutex<Option<Sampler>>>,
}

#[derive(Debug)]
struct Sampler {
    system: System,
    disks: Disks,
    /// When CPU usage was last refreshed: the next figure is measured from
    /// there.
    cpu_refreshed: Instant,
}

impl HostProbe {
    /// Watches this host, with the disk that holds `disk_path` (the data
    /// folder: the one whose filling up matters).
    pub fn new(disk_path: PathBuf) -> Self {
        Self {
            disk_path,
            state: Arc::new(Mutex::new(None)),
        }
    }

    /// Looks at the host once. The first sample waits about 200 ms so that
    /// its CPU figure is a real measurement.
    pub async fn sample(&self) -> Outcome {
        let state = Arc::clone(&self.state);
        let disk_path = self.disk_path.clone();
        let read = tokio::task::spawn_blocking(move || {
            let mut guard = state.lock().unwrap_or_else(PoisonError::into_inner);
            if guard.is_none() {
                *guard = Some(Sampler::new()?);
            }
            match guard.as_mut() {
                Some(sampler) => Ok(sampler.read(&disk_path)),
                None => Err("host sampler missing".to_owned()),
            }
        })
        .await;
        match read {
            Ok(Ok(sample)) => {
                let mut outcome = Outcome::new(judge(&sample));
                outcome.readings = sample.readings();
                if sample.disk.is_none() {
                    outcome.notes.push(format!(
                        "no filesystem found for {}",
                        self.disk_path.display()
                    ));
                }
                outcome
            }
            Ok(Err(reason)) => Outcome::new(CheckResult::Unknown(reason)),
            Err(e) => Outcome::new(CheckResult::Unknown(format!("host sampling failed: {e}"))),
        }
    }
}

impl Sampler {
    fn new() -> Result<Self, String> {
        let mut system = System::new().map_err(|e| format!("cannot read this host: {e}"))?;
        system.refresh_cpu_usage();
        let disks = Disks::new().map_err(|e| format!("cannot read this host's disks: {e}"))?;
        Ok(Self {
            system,
            disks,
            cpu_refreshed: Instant::now(),
        })
    }

    fn read(&mut self, disk_path: &Path) -> HostSample {
        // CPU usage is a difference between two refreshes; one too close
        // to the previous measures nothing.
        let since = self.cpu_refreshed.elapsed();
        if since < MINIMUM_CPU_UPDATE_INTERVAL {
            std::thread::sleep(MINIMUM_CPU_UPDATE_INTERVAL.saturating_sub(since));
        }
        self.system.refresh_cpu_usage();
        self.cpu_refreshed = Instant::now();
        self.system
            .refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
        self.system.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing(),
        );
        self.disks
            .refresh_specifics(true, DiskRefreshKind::nothing().with_storage());
        HostSample {
            cpu_percent: f64::from(self.system.global_cpu_usage()),
            load_1m: System::load_average().ok().map(|l| l.one),
            memory_used: self.system.used_memory(),
            memory_total: self.system.total_memory(),
            disk: disk_of(&self.disks, disk_path),
            processes: self.system.processes().len(),
        }
    }
}

/// The filesystem holding `path`: the disk with the longest mount point
/// that contains it. A path that does not exist yet is looked up by its
/// nearest existing ancestor.
#[allow(clippy::cast_precision_loss)]
fn disk_of(disks: &Disks, path: &Path) -> Option<DiskSample> {
    let path = path
        .ancestors()
        .find_map(|p| p.canonicalize().ok())
        .unwrap_or_else(|| path.to_path_buf());
    let disk = disks
        .iter()
        .filter(|d| d.total_space() > 0 && path.starts_with(d.mount_point()))
        .max_by_key(|d| d.mount_point().components().count())?;
    let total = disk.total_space();
    let used = total.saturating_sub(disk.available_space());
    Some(DiskSample {
        mount: disk.mount_point().display().to_string(),
        percent: used as f64 * 100.0 / total as f64,
    })
}

/// Samples the TOC host every `every` and sends each sample on `tx`,
/// until the receiver is gone: one more producer of observations beside
/// the scheduler. `disk` is the folder whose disk is watched (the data
/// folder).
pub async fn sample_every(
    disk: PathBuf,
    every: std::time::Duration,
    tx: tokio::sync::mpsc::Sender<crate::model::HostSample>,
) {
    let probe = HostProbe::new(disk);
    let name = sysinfo::System::host_name().unwrap_or_else(|_| "this host".to_owned());
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let outcome = probe.sample().await;
        let sample = crate::model::HostSample {
            name: name.clone(),
            at: std::time::SystemTime::now(),
            outcome,
        };
        if tx.send(sample).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;
    use rstest::rstest;

    const GIB: u64 = 1024 * 1024 * 1024;

    fn sample(cpu: f64, memory_percent: u64, disk: Option<f64>) -> HostSample {
        HostSample {
            cpu_percent: cpu,
            load_1m: Some(0.5),
            memory_used: memory_percent * GIB,
            memory_total: 100 * GIB,
            disk: disk.map(|percent| DiskSample {
                mount: "/".to_owned(),
                percent,
            }),
            processes: 200,
        }
    }

    fn warn(reason: &str) -> CheckResult {
        CheckResult::Warn(reason.to_owned())
    }

    fn fail(reason: &str) -> CheckResult {
        CheckResult::Fail(reason.to_owned())
    }

    #[rstest]
    #[case::idle(sample(5.0, 40, Some(50.0)), CheckResult::Ok)]
    #[case::cpu_just_below(sample(89.9, 40, Some(50.0)), CheckResult::Ok)]
    #[case::cpu_at_threshold(sample(90.0, 40, Some(50.0)), warn("cpu 90% busy"))]
    #[case::cpu_pegged(sample(100.0, 40, Some(50.0)), warn("cpu 100% busy"))]
    #[case::memory_below(sample(5.0, 89, Some(50.0)), CheckResult::Ok)]
    #[case::memory_warn(sample(5.0, 92, Some(50.0)), warn("memory 92% used"))]
    #[case::memory_fail(sample(5.0, 97, Some(50.0)), fail("memory 97% used"))]
    #[case::disk_warn(sample(5.0, 40, Some(93.4)), warn("disk / 93% full"))]
    #[case::disk_just_below_fail(sample(5.0, 40, Some(96.9)), warn("disk / 96% full"))]
    #[case::disk_fail(sample(5.0, 40, Some(97.0)), fail("disk / 97% full"))]
    #[case::disk_unknown(sample(5.0, 40, None), CheckResult::Ok)]
    #[case::several_warnings(
        sample(95.0, 91, Some(90.0)),
        warn("cpu 95% busy; memory 91% used; disk / 90% full")
    )]
    #[case::failure_first(sample(95.0, 40, Some(99.0)), fail("disk / 99% full; cpu 95% busy"))]
    fn judge_applies_thresholds(#[case] sample: HostSample, #[case] want: CheckResult) {
        assert_eq!(judge(&sample), want);
    }

    #[test]
    fn no_memory_figure_is_not_a_division_by_zero() {
        let mut s = sample(5.0, 0, None);
        s.memory_total = 0;
        assert!(s.memory_percent().abs() < f64::EPSILON);
        assert_eq!(judge(&s), CheckResult::Ok);
    }

    #[test]
    fn readings_name_the_mount() {
        let names: Vec<String> = sample(5.0, 40, Some(50.0))
            .readings()
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(
            names,
            [
                "cpu.percent",
                "load.1m",
                "memory.used",
                "memory.total",
                "memory.percent",
                "disk./.percent",
                "processes"
            ]
        );
    }

    fn value(outcome: &Outcome, name: &str) -> f64 {
        outcome
            .readings
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no {name} in {:?}", outcome.readings))
            .value
            .parse()
            .unwrap_or_else(|e| panic!("{name} is not a number: {e}"))
    }

    #[tokio::test]
    async fn this_machine_is_sampled_with_readings_in_range() {
        let probe = HostProbe::new(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("not-yet"));
        for _ in 0..2 {
            let out = probe.sample().await;
            assert!(
                !matches!(out.result, CheckResult::Unknown(_)),
                "{:?}",
                out.result
            );
            for percent in ["cpu.percent", "memory.percent"] {
                let v = value(&out, percent);
                assert!((0.0..=100.0).contains(&v), "{percent} = {v}");
            }
            assert!(value(&out, "memory.total") > 0.0);
            assert!(value(&out, "memory.used") <= value(&out, "memory.total"));
            assert!(value(&out, "load.1m") >= 0.0);
            assert!(value(&out, "processes") >= 1.0, "at least this test runs");
            let disk = out
                .readings
                .iter()
                .find(|r| r.name.starts_with("disk.") && r.name.ends_with(".percent"))
                .unwrap_or_else(|| panic!("no disk reading; notes {:?}", out.notes));
            let v: f64 = disk.value.parse().expect("a number");
            assert!((0.0..=100.0).contains(&v), "{} = {v}", disk.name);
        }
    }
}
