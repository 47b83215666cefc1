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

use std::future::Future;

use crate::config::venues::Device;
pub use crate::model::{HostSample, Observation, Outcome, Reading};

/// A way of checking a device. Implementations bound every attempt by the
/// device's `timeout` themselves and turn every failure into a verdict.
pub trait Probe: Send + Sync + 'static {
    /// Checks `device` once (with its retries) and says how it is.
    fn check(&self, device: &Device) -> impl Future<Output = Outcome> + Send;
}
