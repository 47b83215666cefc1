//! Desktop notifications through the session bus (notify-rust, zbus).
//!
//! Only where a session bus exists: the address is given, or read from
//! `DBUS_SESSION_BUS_ADDRESS` when the notifier starts. Without one, each
//! notification is a log line (`tracing::info!`) and nothing else, never
//! an error to the operator. Sending happens on a thread of its own behind
//! a bounded queue; when the queue is full the notification is dropped and
//! counted ([`super::NotifyStats::desktop_dropped`]), so a notification
//! server that hangs never holds up the notifier, let alone the engine.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;

use notify_rust::{Timeout, Urgency};

use super::{Notification, NotifyStats, bump};

/// The app name a notification server shows (and `dunstctl history`
/// reports as `appname`).
pub const APP_NAME: &str = "toc";

/// The desktop backend: a queue and the thread that empties it.
#[derive(Debug)]
pub struct Desktop {
    tx: SyncSender<Notification>,
    thread: JoinHandle<()>,
}

impl Desktop {
    /// Starts the backend's thread. `bus` is whether a session bus
    /// address is known (`DBUS_SESSION_BUS_ADDRESS` is what notify-rust
    /// connects to); without one, notifications are logged only.
    pub fn start(
        bus: Option<String>,
        queue: usize,
        stats: Arc<NotifyStats>,
    ) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::sync_channel(queue.max(1));
        let thread = std::thread::Builder::new()
            .name("toc-notify-desktop".into())
            .spawn(move || run(bus.as_deref(), &rx, &stats))?;
        Ok(Self { tx, thread })
    }

    /// Queues `n`; drops and counts it when the queue is full.
    pub fn send(&self, n: Notification, stats: &NotifyStats) {
        match self.tx.try_send(n) {
            Ok(()) => {}
            Err(TrySendError::Full(n)) => {
                bump(&stats.desktop_dropped);
                tracing::warn!(summary = %n.summary, "desktop notification dropped: queue full");
            }
            Err(TrySendError::Disconnected(_)) => bump(&stats.desktop_dropped),
        }
    }

    /// Sends what is queued, then stops the thread.
    pub fn finish(self) {
        drop(self.tx);
        if self.thread.join().is_err() {
            tracing::warn!("desktop notification thread panicked");
        }
    }
}

fn run(bus: Option<&str>, rx: &Receiver<Notification>, stats: &NotifyStats) {
    if let Some(address) = bus {
        match notify_rust::get_server_information() {
            Ok(server) => tracing::info!(
                %address,
                server = %server.name,
                version = %server.version,
                "desktop notifications on the session bus"
            ),
            Err(e) => tracing::info!(
                %address,
                error = %e,
                "session bus without a notification server (yet): will try each time"
            ),
        }
    } else {
        tracing::info!(
            "no session bus (DBUS_SESSION_BUS_ADDRESS is not set): notifications are logged only"
        );
    }
    while let Ok(n) = rx.recv() {
        if bus.is_none() {
            bump(&stats.desktop_logged);
            tracing::info!(summary = %n.summary, body = %n.body, "notification (no session bus)");
            continue;
        }
        match build(&n).show() {
            Ok(_handle) => bump(&stats.desktop_sent),
            Err(e) => {
                bump(&stats.desktop_failed);
                tracing::info!(
                    summary = %n.summary,
                    error = %e,
                    "desktop notification not delivered"
                );
            }
        }
    }
}

/// The desktop notification for `n`: critical for a DOWN (it stays until
/// dismissed), normal otherwise.
pub fn build(n: &Notification) -> notify_rust::Notification {
    let mut out = notify_rust::Notification::new();
    out.appname(APP_NAME)
        .summary(&n.summary)
        .body(&escape(&n.body))
        .urgency(urgency(n));
    if n.critical {
        out.timeout(Timeout::Never);
    }
    out
}

/// Critical for a notification with a DOWN in it, normal otherwise.
pub fn urgency(n: &Notification) -> Urgency {
    if n.critical {
        Urgency::Critical
    } else {
        Urgency::Normal
    }
}

/// Bodies may carry markup on some servers: text from venues.toml is
/// shown as written.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::notify::{Grouper, Notice, NoticeKind, StormRules};

    fn one(kind: NoticeKind) -> Notification {
        let mut g = Grouper::new(StormRules::default());
        let at = SystemTime::UNIX_EPOCH;
        g.push(
            Notice {
                at,
                kind,
                incident_id: "7".into(),
                key: "device-down:STA-core-a".into(),
                venue: "STA".into(),
                subject: "STA-core-a".into(),
                severity: "critical".into(),
                title: "STA-core-a down: <no answer> & more".into(),
            },
            at,
        );
        g.flush(at + Duration::from_secs(1)).remove(0)
    }

    #[test]
    fn down_is_critical_others_normal() {
        assert_eq!(urgency(&one(NoticeKind::NewDown)), Urgency::Critical);
        assert_eq!(urgency(&one(NoticeKind::Escalation)), Urgency::Normal);
        assert_eq!(urgency(&one(NoticeKind::AckExpired)), Urgency::Normal);
    }

    #[test]
    fn the_body_is_escaped_the_summary_readable() {
        let n = build(&one(NoticeKind::NewDown));
        assert_eq!(n.summary, "DOWN STA: STA-core-a");
        assert_eq!(
            n.body,
            "STA-core-a down: &lt;no answer&gt; &amp; more\ncritical · incident 7"
        );
        assert_eq!(n.appname, APP_NAME);
    }

    #[test]
    fn without_a_bus_notifications_are_logged_only() {
        let stats = Arc::new(NotifyStats::default());
        let desktop = Desktop::start(None, 4, Arc::clone(&stats)).unwrap_or_else(|e| panic!("{e}"));
        desktop.send(one(NoticeKind::NewDown), &stats);
        desktop.send(one(NoticeKind::Escalation), &stats);
        desktop.finish();
        let s = stats.snapshot();
        assert_eq!(
            (s.desktop_logged, s.desktop_sent, s.desktop_failed),
            (2, 0, 0)
        );
    }

    #[test]
    fn a_full_queue_drops_and_counts() {
        let stats = Arc::new(NotifyStats::default());
        // A backend whose thread never empties its queue of one.
        let (tx, _rx) = mpsc::sync_channel(1);
        let thread = std::thread::spawn(|| {});
        let desktop = Desktop { tx, thread };
        desktop.send(one(NoticeKind::NewDown), &stats);
        desktop.send(one(NoticeKind::NewDown), &stats);
        desktop.send(one(NoticeKind::NewDown), &stats);
        assert_eq!(stats.snapshot().desktop_dropped, 2);
        drop(desktop);
    }
}
