//! The notifier: owns the grouper and the backends, on a thread of its
//! own. The engine's side is a [`NotifierHandle`] whose
//! [`NotifierHandle::notice`] never blocks.

use std::io;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Instant, SystemTime};

use super::command::CommandRunner;
use super::desktop::Desktop;
use super::storm::{Grouper, Notification, NotificationKind};
use super::{Notice, NotifyConfig, NotifyStats, StatsSnapshot, bump};

/// Starts notifiers.
#[derive(Debug)]
pub struct Notifier;

/// The engine's side of a running notifier. Dropping it (or
/// [`NotifierHandle::shutdown`]) sends what is held at once and stops the
/// notifier's threads once their queues are empty.
#[derive(Debug)]
pub struct NotifierHandle {
    tx: Option<SyncSender<Notice>>,
    stats: Arc<NotifyStats>,
    thread: Option<JoinHandle<()>>,
}

/// The backends a notifier feeds.
struct Backends {
    desktop: Option<Desktop>,
    command: Option<CommandRunner>,
}

impl Notifier {
    /// Starts the notifier's thread and its backends' threads. Desktop
    /// notifications go to the session bus named by
    /// `DBUS_SESSION_BUS_ADDRESS` now; without it they are logged only.
    pub fn start(config: NotifyConfig) -> io::Result<NotifierHandle> {
        let stats = Arc::new(NotifyStats::default());
        let desktop = if config.desktop {
            let bus = std::env::var("DBUS_SESSION_BUS_ADDRESS")
                .ok()
                .filter(|a| !a.trim().is_empty());
            Some(Desktop::start(
                bus,
                config.backend_queue,
                Arc::clone(&stats),
            )?)
        } else {
            None
        };
        let command = match config.command.clone() {
            Some(argv) if !argv.is_empty() => Some(CommandRunner::start(
                argv,
                config.command_timeout,
                config.backend_queue,
                Arc::clone(&stats),
            )?),
            _ => None,
        };
        let backends = Backends { desktop, command };
        let (tx, rx) = mpsc::sync_channel(config.queue.max(1));
        let thread_stats = Arc::clone(&stats);
        let thread = std::thread::Builder::new()
            .name("toc-notify".into())
            .spawn(move || run(&config, &rx, backends, &thread_stats))?;
        Ok(NotifierHandle {
            tx: Some(tx),
            stats,
            thread: Some(thread),
        })
    }
}

impl NotifierHandle {
    /// Hands a notice to the notifier without waiting; when its queue is
    /// full the notice is dropped and counted.
    pub fn notice(&self, notice: Notice) {
        bump(&self.stats.notices);
        let Some(tx) = &self.tx else { return };
        match tx.try_send(notice) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                bump(&self.stats.notices_dropped);
            }
        }
    }

    /// The counters now.
    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }

    /// Sends what is held at once, waits for the backends to finish their
    /// queues (a notify command at most its timeout each), and stops.
    pub fn shutdown(mut self) {
        self.tx = None;
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::warn!("notifier thread panicked");
        }
    }
}

impl Drop for NotifierHandle {
    fn drop(&mut self) {
        // The thread flushes and ends by itself once the queue is closed.
        self.tx = None;
    }
}

fn run(config: &NotifyConfig, rx: &Receiver<Notice>, backends: Backends, stats: &NotifyStats) {
    let mut grouper = Grouper::new(config.storm.clone());
    let tick = config.tick.max(std::time::Duration::from_millis(1));
    let mut next_tick = Instant::now() + tick;
    loop {
        let wait = next_tick.saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok(notice) => grouper.push(notice, SystemTime::now()),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                dispatch(grouper.flush(SystemTime::now()), &backends, stats);
                break;
            }
        }
        if Instant::now() >= next_tick {
            dispatch(grouper.tick(SystemTime::now()), &backends, stats);
            next_tick = Instant::now() + tick;
        }
    }
    if let Some(desktop) = backends.desktop {
        desktop.finish();
    }
    if let Some(command) = backends.command {
        command.finish();
    }
}

fn dispatch(out: Vec<Notification>, backends: &Backends, stats: &NotifyStats) {
    for n in out {
        bump(&stats.notifications);
        if n.kind == NotificationKind::Storm {
            bump(&stats.storms);
        }
        tracing::info!(kind = ?n.kind, incidents = n.incidents, summary = %n.summary, "notification");
        match (&backends.desktop, &backends.command) {
            (Some(desktop), Some(command)) => {
                desktop.send(n.clone(), stats);
                command.send(n, stats);
            }
            (Some(desktop), None) => desktop.send(n, stats),
            (None, Some(command)) => command.send(n, stats),
            (None, None) => {}
        }
    }
}
