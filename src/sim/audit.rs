//! The simulator's audit port: every change of simulated state made by
//! the control API or a scenario step goes in the audit log with where it
//! came from (`control API 127.0.0.1:54321`, `scenario s.toml step 3`),
//! and is made only once its record is durable. The wiring (`toc demo`,
//! `toc sim`) plugs in the audit file; the simulator imports nothing of
//! it.

use std::fmt;
use std::time::SystemTime;

use tokio::sync::oneshot;

pub use crate::engine::port::AuditAck;

/// One change of simulated state, as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimChange {
    /// When it was asked for.
    pub at: SystemTime,
    /// Where it came from: `control API 127.0.0.1:54321`,
    /// `scenario scenarios/x.toml step 3`.
    pub source: String,
    /// The change, in one line (`fault STA-core-a: down for 30s`).
    pub text: String,
    /// Whether it was (or is about to be) applied.
    pub applied: bool,
    /// What was done, or why not.
    pub outcome: String,
}

impl SimChange {
    /// A change from `source`, stamped now.
    pub fn new(source: &str, text: &str, applied: bool, outcome: &str) -> SimChange {
        SimChange {
            at: SystemTime::now(),
            source: source.to_owned(),
            text: text.to_owned(),
            applied,
            outcome: outcome.to_owned(),
        }
    }
}

/// Where the simulator's audit records go.
pub trait SimAudit: Send + Sync + fmt::Debug {
    /// Queues one record without waiting. An error means it will not be
    /// written (and `ack` is dropped uncalled). Otherwise `ack`, when
    /// given, is called once the record is on disk, or cannot be.
    fn append_change(&self, change: SimChange, ack: Option<AuditAck>) -> Result<(), String>;
}

/// Writes `change` and waits until it is durable: `Err` with why when it
/// cannot be written (the change must then not be made).
pub(crate) async fn write_ahead(audit: &dyn SimAudit, change: SimChange) -> Result<(), String> {
    let (tx, rx) = oneshot::channel();
    let ack: AuditAck = Box::new(move |written| {
        let _ = tx.send(written);
    });
    audit.append_change(change, Some(ack))?;
    rx.await
        .unwrap_or_else(|_| Err("the audit writer has stopped".to_owned()))
}

/// Queues `change` without waiting (what came of a change already
/// recorded ahead).
pub(crate) fn record(audit: &dyn SimAudit, change: SimChange) {
    if let Err(why) = audit.append_change(change, None) {
        tracing::error!("audit record lost: {why}");
    }
}
