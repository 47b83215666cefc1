//! The TCP probe: can we open a connection to the device's port?
//!
//! Used for links that speak their own protocol (timing, scoreboards):
//! a completed handshake says the far end is there and listening. Each
//! attempt (name lookup and connect) is bounded by the device's `timeout`;
//! a failed attempt is retried up to `retries` more times before the check
//! fails. The verdict's reason is short and names the cause as seen from
//! here: `connection refused`, `timed out after 1s (2 attempts)`,
//! `cannot resolve timing.sta.example`, `host unreachable`.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use super::{Outcome, Probe, Reading};
use crate::config::venues::{Device, ProbeTarget};
use crate::model::CheckResult;

/// Checks `tcp://host:port` devices by connecting to them.
#[derive(Debug, Clone)]
pub struct TcpProbe {
    retries: u32,
}

impl TcpProbe {
    /// A probe that makes up to `retries` more attempts after a failed one
    /// (the event's `retries`).
    pub fn new(retries: u32) -> Self {
        Self { retries }
    }
}

/// Why one attempt failed.
enum Failure {
    /// The name did not resolve to any address.
    Resolve,
    /// The name lookup did not answer within the device's timeout.
    ResolveTimeout,
    /// No answer within the device's timeout.
    Timeout,
    /// The system said no.
    Io(io::Error),
}

impl Probe for TcpProbe {
    async fn check(&self, device: &Device) -> Outcome {
        let ProbeTarget::Tcp { host, port } = &device.probe else {
            return Outcome::new(CheckResult::Unknown("not a TCP device".to_owned()));
        };
        let attempts = self.retries.saturating_add(1);
        let mut failure = Failure::Timeout;
        for attempt in 1..=attempts {
            match connect(host, *port, device.timeout).await {
                Ok(latency) => {
                    let mut outcome = Outcome::new(CheckResult::Ok).with_latency(latency);
                    outcome.readings.push(Reading::new(
                        "tcp.connect_ms",
                        format!("{:.3}", latency.as_secs_f64() * 1000.0),
                    ));
                    if attempt > 1 {
                        outcome
                            .notes
                            .push(format!("answered on attempt {attempt} of {attempts}"));
                    }
                    return outcome;
                }
                Err(f) => failure = f,
            }
        }
        let reason = match failure {
            Failure::Resolve => format!("cannot resolve {host}"),
            Failure::ResolveTimeout => format!(
                "cannot resolve {host}: no answer within {}",
                humantime::format_duration(device.timeout)
            ),
            Failure::Timeout => timed_out(device.timeout, attempts),
            Failure::Io(e) if e.kind() == io::ErrorKind::TimedOut => {
                timed_out(device.timeout, attempts)
            }
            Failure::Io(e) => io_reason(&e),
        };
        Outcome::new(CheckResult::Fail(reason))
    }
}

/// One attempt: resolves `host` and connects to its addresses in turn, all
/// within `timeout`. Answers the time the successful connect took (the
/// lookup is not part of it).
async fn connect(host: &str, port: u16, timeout: Duration) -> Result<Duration, Failure> {
    let begun = Instant::now();
    let addrs: Vec<SocketAddr> =
        match tokio::time::timeout(timeout, tokio::net::lookup_host((host, port))).await {
            Ok(Ok(addrs)) => addrs.collect(),
            Ok(Err(_)) => return Err(Failure::Resolve),
            Err(_elapsed) => return Err(Failure::ResolveTimeout),
        };
    let mut last = Failure::Resolve;
    for addr in addrs {
        let left = timeout.saturating_sub(begun.elapsed());
        let start = Instant::now();
        match tokio::time::timeout(left, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                let latency = start.elapsed();
                drop(stream);
                return Ok(latency);
            }
            Ok(Err(e)) => last = Failure::Io(e),
            Err(_elapsed) => return Err(Failure::Timeout),
        }
    }
    Err(last)
}

fn timed_out(timeout: Duration, attempts: u32) -> String {
    let plural = if attempts == 1 { "" } else { "s" };
    format!(
        "timed out after {} ({attempts} attempt{plural})",
        humantime::format_duration(timeout)
    )
}

/// The error's kind in a few words (`connection refused`, `host
/// unreachable`), or the system's message when the kind says nothing.
fn io_reason(e: &io::Error) -> String {
    let kind = e.kind().to_string();
    if e.kind() == io::ErrorKind::Other || kind == "uncategorized error" {
        e.to_string()
    } else {
        kind
    }
}
