//! What probes hand the engine: an [`Outcome`] (verdict, latency, the
//! values read, notes) wrapped in an [`Observation`] of one device at one
//! time, and a [`HostSample`] of the TOC host itself. Shared by `probe/`
//! (which makes them), `engine/` (which records them) and `console/`
//! (which shows the readings), so they live here, with no IO.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::device::CheckResult;

/// One value a probe read, shown in the device view and by `toc probe`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reading {
    /// What was read (`sysName`, `ifOperStatus.3`, `http.status`).
    pub name: String,
    /// Its value as text.
    pub value: String,
}

impl Reading {
    pub fn new(name: impl Into<String>, value: impl fmt::Display) -> Self {
        Self {
            name: name.into(),
            value: value.to_string(),
        }
    }
}

/// What one check of one device found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The verdict and its reason.
    pub result: CheckResult,
    /// Round-trip time of the exchange that decided the verdict, when there
    /// was an answer.
    pub latency: Option<Duration>,
    /// The values read, in the order they were read.
    pub readings: Vec<Reading>,
    /// Things worth telling an operator that are not the verdict itself
    /// (`rebooted: sysUpTime went from 3d 2h to 12s`).
    pub notes: Vec<String>,
}

impl Outcome {
    /// A verdict with nothing else.
    pub fn new(result: CheckResult) -> Self {
        Self {
            result,
            latency: None,
            readings: Vec::new(),
            notes: Vec::new(),
        }
    }

    #[must_use]
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = Some(latency);
        self
    }
}

/// The result of one scheduled check, as the engine receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    /// The device's index in the inventory (`Inventory::devices`).
    pub device: usize,
    /// When the check started (wall clock, for display and history).
    pub at: SystemTime,
    /// How late the check started against its schedule (queueing for the
    /// concurrency limit, a busy runtime).
    pub start_delay: Duration,
    /// How long the check took, from its start to its verdict: it was
    /// handed to the engine at `at + took`.
    #[serde(default)]
    pub took: Duration,
    /// What it found.
    pub outcome: Outcome,
}

/// One sample of the TOC host (CPU, memory, the data disk), a producer of
/// observations beside the scheduler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostSample {
    /// Host name.
    pub name: String,
    /// When it was sampled.
    pub at: SystemTime,
    /// Verdict and readings (`cpu.percent`, `memory.percent`, `disk.…`).
    pub outcome: Outcome,
}
