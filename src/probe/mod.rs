//! Probes: how toc reads venue equipment (SNMP, HTTP, TCP) and its own
//! host, and the scheduler that polls every device at its interval.
//!
//! A probe answers one question about one device, "how is it now?", as an
//! [`Outcome`]: a [`CheckResult`] verdict with its reason, the latency of
//! the exchange and the readings it took on the way. Probes never panic
//! and never hang: each attempt is bounded by the device's `timeout`, and
//! every failure comes back as a verdict with a reason an operator can
//! act on.

pub mod any;
pub mod host;
pub mod http;
pub mod oneshot;
pub mod scheduler;
pub mod snmp;
pub mod tcp;

use std::fmt;
use std::future::Future;
use std::time::{Duration, SystemTime};

use crate::config::venues::Device;
use crate::model::CheckResult;

/// One value a probe read, shown in the device view and by `toc probe`.
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// The device's index in [`crate::config::Inventory::devices`].
    pub device: usize,
    /// When the check started (wall clock, for display and history).
    pub at: SystemTime,
    /// How late the check started against its schedule (queueing for the
    /// concurrency limit, a busy runtime).
    pub start_delay: Duration,
    /// What it found.
    pub outcome: Outcome,
}

/// A way of checking a device. Implementations bound every attempt by the
/// device's `timeout` themselves and turn every failure into a verdict.
pub trait Probe: Send + Sync + 'static {
    /// Checks `device` once (with its retries) and says how it is.
    fn check(&self, device: &Device) -> impl Future<Output = Outcome> + Send;
}
