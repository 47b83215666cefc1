//! Notifications (step 8): a new DOWN incident, an escalation and an ack
//! expiry reach a person outside the console: a desktop notification
//! where a session bus exists ([`desktop`]), an optional command for a
//! pager or SMS gateway ([`command`]). A storm (a whole site, or many
//! venues at once) becomes one grouped notification ([`storm`]).
//!
//! The engine hands [`Notice`]s to a [`NotifierHandle`] and never waits:
//! the notifier runs on its own thread, holds each notice for a short
//! window so a storm is recognised before hundreds go out, and passes what
//! to send to the backends, each on a thread of its own. See
//! docs/notify.md.

pub mod command;
pub mod desktop;
pub mod storm;

mod notifier;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

pub use notifier::{Notifier, NotifierHandle};
pub use storm::{Grouper, Notification, NotificationKind, StormRules};

/// Why a notice is raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// A new (or reopened) incident whose subject is DOWN.
    NewDown,
    /// An unacknowledged DOWN incident past its `ack_timeout`.
    Escalation,
    /// An acknowledgement ran out: the incident is open again.
    AckExpired,
    /// A playbook's notify step: who to call, and what to say.
    Playbook,
}

impl NoticeKind {
    /// Every kind, in the order a grouped notification counts them.
    pub const ALL: [NoticeKind; 4] = [
        NoticeKind::NewDown,
        NoticeKind::Escalation,
        NoticeKind::AckExpired,
        NoticeKind::Playbook,
    ];

    /// The name in JSON (`new_down`).
    pub const fn name(self) -> &'static str {
        match self {
            NoticeKind::NewDown => "new_down",
            NoticeKind::Escalation => "escalation",
            NoticeKind::AckExpired => "ack_expired",
            NoticeKind::Playbook => "playbook",
        }
    }

    /// How a person reads it at the head of a notification.
    pub const fn label(self) -> &'static str {
        match self {
            NoticeKind::NewDown => "DOWN",
            NoticeKind::Escalation => "Unacknowledged",
            NoticeKind::AckExpired => "Ack expired",
            NoticeKind::Playbook => "Playbook",
        }
    }
}

/// What the incident book tells the notifier: one incident worth telling
/// a person about. Plain data, so the command notifier can write it as
/// JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// When it happened (the engine's clock).
    #[serde(with = "rfc3339")]
    pub at: SystemTime,
    /// Why.
    pub kind: NoticeKind,
    /// The incident's id.
    pub incident_id: String,
    /// The incident's dedup key.
    pub key: String,
    /// Venue code (`STA`).
    pub venue: String,
    /// Device, group or feed id the incident is about.
    pub subject: String,
    /// Severity name (`critical`).
    pub severity: String,
    /// One line a person reads (`STA-core-a down: no answer`).
    pub title: String,
}

/// The notifier's settings; the runtime maps venues.toml's `[incidents]`
/// section onto it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConfig {
    /// Send desktop notifications where a session bus exists
    /// (`DBUS_SESSION_BUS_ADDRESS` is set when the notifier starts);
    /// without one they are logged only.
    pub desktop: bool,
    /// The notify command: argv, no shell; the notification as JSON on
    /// its standard input.
    pub command: Option<Vec<String>>,
    /// How long the command may run before its process group is killed.
    pub command_timeout: Duration,
    /// How notices are held and grouped.
    pub storm: StormRules,
    /// How often the notifier ticks its grouper.
    pub tick: Duration,
    /// Notices the handle queues before it drops (and counts) them.
    pub queue: usize,
    /// Notifications each backend queues before it drops (and counts)
    /// them.
    pub backend_queue: usize,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            desktop: true,
            command: None,
            command_timeout: Duration::from_secs(10),
            storm: StormRules::default(),
            tick: Duration::from_millis(250),
            queue: 16_384,
            backend_queue: 64,
        }
    }
}

/// Counters, shared by the handle and the notifier's threads.
#[derive(Debug, Default)]
pub struct NotifyStats {
    /// Notices handed to [`NotifierHandle::notice`] (dropped ones too).
    pub notices: AtomicU64,
    /// Notices dropped because the notifier's queue was full.
    pub notices_dropped: AtomicU64,
    /// Notifications the grouper emitted.
    pub notifications: AtomicU64,
    /// Of which storms.
    pub storms: AtomicU64,
    /// Desktop notifications the notification server accepted.
    pub desktop_sent: AtomicU64,
    /// Desktop notifications logged only (no session bus).
    pub desktop_logged: AtomicU64,
    /// Desktop notifications the server refused or could not be reached
    /// for.
    pub desktop_failed: AtomicU64,
    /// Desktop notifications dropped because the backend's queue was full.
    pub desktop_dropped: AtomicU64,
    /// Notify commands that exited with status 0.
    pub command_ok: AtomicU64,
    /// Notify commands that failed, could not start or timed out.
    pub command_failed: AtomicU64,
    /// Of which timed out (and were killed).
    pub command_timed_out: AtomicU64,
    /// Notify commands dropped because the backend's queue was full.
    pub command_dropped: AtomicU64,
}

/// A copy of [`NotifyStats`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[allow(missing_docs)]
pub struct StatsSnapshot {
    pub notices: u64,
    pub notices_dropped: u64,
    pub notifications: u64,
    pub storms: u64,
    pub desktop_sent: u64,
    pub desktop_logged: u64,
    pub desktop_failed: u64,
    pub desktop_dropped: u64,
    pub command_ok: u64,
    pub command_failed: u64,
    pub command_timed_out: u64,
    pub command_dropped: u64,
}

impl NotifyStats {
    /// The counters now.
    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            notices: get(&self.notices),
            notices_dropped: get(&self.notices_dropped),
            notifications: get(&self.notifications),
            storms: get(&self.storms),
            desktop_sent: get(&self.desktop_sent),
            desktop_logged: get(&self.desktop_logged),
            desktop_failed: get(&self.desktop_failed),
            desktop_dropped: get(&self.desktop_dropped),
            command_ok: get(&self.command_ok),
            command_failed: get(&self.command_failed),
            command_timed_out: get(&self.command_timed_out),
            command_dropped: get(&self.command_dropped),
        }
    }
}

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// `SystemTime` as RFC 3339 (UTC, milliseconds) in JSON.
pub(crate) mod rfc3339 {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_rfc3339_millis(*at))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_rfc3339_weak(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    #[test]
    fn a_notice_reads_back_from_its_json() {
        let notice = Notice {
            at: SystemTime::UNIX_EPOCH + Duration::from_millis(1_800_000_000_123),
            kind: NoticeKind::AckExpired,
            incident_id: "42".into(),
            key: "device-down:STA-core-a".into(),
            venue: "STA".into(),
            subject: "STA-core-a".into(),
            severity: "major".into(),
            title: "STA-core-a down".into(),
        };
        let json = serde_json::to_string(&notice).unwrap_or_default();
        assert!(
            json.contains(r#""at":"2027-01-15T08:00:00.123Z","kind":"ack_expired""#),
            "{json}"
        );
        let back: Result<Notice, _> = serde_json::from_str(&json);
        assert_eq!(back.ok(), Some(notice));
    }

    #[test]
    fn kind_names_match_their_json() {
        for kind in NoticeKind::ALL {
            let json = serde_json::to_string(&kind).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", kind.name()));
        }
    }
}
