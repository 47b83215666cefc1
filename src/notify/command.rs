//! The notify command: for a pager or an SMS gateway. An argv list (no
//! shell), the notification as JSON on its standard input, a timeout after
//! which its whole process group is killed; its exit status and the start
//! of its standard error are logged. Commands run one at a time on a
//! thread of their own behind a bounded queue: when the queue is full the
//! notification is dropped and counted
//! ([`super::NotifyStats::command_dropped`]).

use std::io::{self, Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Notification, NotifyStats, bump};

/// How much of the command's standard error is kept for the log.
pub const STDERR_KEPT: usize = 4096;

/// How a run of the command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutcome {
    /// Its exit status (`None` when it was killed after the timeout and
    /// its status could not be read).
    pub status: Option<ExitStatus>,
    /// It ran past the timeout and its process group was killed.
    pub timed_out: bool,
    /// The first [`STDERR_KEPT`] bytes of its standard error, lossy UTF-8.
    pub stderr: String,
    /// How long it ran.
    pub elapsed: Duration,
}

impl CommandOutcome {
    /// Exited by itself with status 0.
    pub fn ok(&self) -> bool {
        !self.timed_out && self.status.is_some_and(|s| s.success())
    }
}

/// Runs `argv` with `input` on its standard input, for at most `timeout`.
/// An error means it could not be started.
pub fn run(argv: &[String], input: &[u8], timeout: Duration) -> io::Result<CommandOutcome> {
    let Some((program, rest)) = argv.split_first() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "empty notify command",
        ));
    };
    let started = Instant::now();
    let mut cmd = Command::new(program);
    cmd.args(rest)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn()?;

    // Feed stdin and read stderr on their own threads, so a command that
    // does neither cannot hold us past the timeout.
    if let Some(mut stdin) = child.stdin.take() {
        let input = input.to_vec();
        std::thread::Builder::new()
            .name("toc-notify-stdin".into())
            .spawn(move || {
                // A command that exits without reading gives EPIPE: fine.
                let _ = stdin.write_all(&input);
            })?;
    }
    let (err_tx, err_rx) = mpsc::channel();
    if let Some(stderr) = child.stderr.take() {
        std::thread::Builder::new()
            .name("toc-notify-stderr".into())
            .spawn(move || {
                let _ = err_tx.send(read_bounded(stderr));
            })?;
    }

    let deadline = started + timeout;
    let (status, timed_out) = wait_until(&mut child, deadline)?;
    // Its stderr closes when the group is gone; a grandchild that left the
    // group may keep it open, so do not wait for it long.
    let stderr = err_rx
        .recv_timeout(Duration::from_millis(500))
        .unwrap_or_default();
    Ok(CommandOutcome {
        status,
        timed_out,
        stderr,
        elapsed: started.elapsed(),
    })
}

/// Waits for `child` until `deadline`; past it, kills its process group.
fn wait_until(child: &mut Child, deadline: Instant) -> io::Result<(Option<ExitStatus>, bool)> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok((Some(status), false));
        }
        let now = Instant::now();
        if now >= deadline {
            kill_group(child);
            return Ok((child.wait().ok(), true));
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(10)));
    }
}

#[cfg(unix)]
fn kill_group(child: &mut Child) {
    use rustix::process::{Pid, Signal, kill_process_group};
    // The child leads its own group (process_group(0)): its id is the
    // group's.
    if let Err(e) = kill_process_group(Pid::from_child(child), Signal::KILL) {
        tracing::debug!(error = %e, "killing the notify command's group");
        let _ = child.kill();
    }
}

#[cfg(not(unix))]
fn kill_group(child: &mut Child) {
    let _ = child.kill();
}

/// The first [`STDERR_KEPT`] bytes; the rest is read and dropped, so the
/// command never blocks on a full pipe.
fn read_bounded(mut from: impl Read) -> String {
    let mut kept = Vec::with_capacity(256);
    let mut buf = [0u8; 4096];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = STDERR_KEPT.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}

/// The command backend: a queue and the thread that runs the command for
/// each notification in it.
#[derive(Debug)]
pub struct CommandRunner {
    tx: SyncSender<Notification>,
    thread: JoinHandle<()>,
}

impl CommandRunner {
    /// Starts the backend's thread.
    pub fn start(
        argv: Vec<String>,
        timeout: Duration,
        queue: usize,
        stats: Arc<NotifyStats>,
    ) -> io::Result<Self> {
        let (tx, rx) = mpsc::sync_channel(queue.max(1));
        let thread = std::thread::Builder::new()
            .name("toc-notify-command".into())
            .spawn(move || run_queue(&argv, timeout, &rx, &stats))?;
        Ok(Self { tx, thread })
    }

    /// Queues `n`; drops and counts it when the queue is full.
    pub fn send(&self, n: Notification, stats: &NotifyStats) {
        match self.tx.try_send(n) {
            Ok(()) => {}
            Err(TrySendError::Full(n)) => {
                bump(&stats.command_dropped);
                tracing::warn!(summary = %n.summary, "notify command skipped: queue full");
            }
            Err(TrySendError::Disconnected(_)) => bump(&stats.command_dropped),
        }
    }

    /// Runs what is queued, then stops the thread.
    pub fn finish(self) {
        drop(self.tx);
        if self.thread.join().is_err() {
            tracing::warn!("notify command thread panicked");
        }
    }
}

fn run_queue(argv: &[String], timeout: Duration, rx: &Receiver<Notification>, stats: &NotifyStats) {
    while let Ok(n) = rx.recv() {
        let json = match serde_json::to_vec(&n) {
            Ok(json) => json,
            Err(e) => {
                bump(&stats.command_failed);
                tracing::warn!(error = %e, "notification not written as JSON");
                continue;
            }
        };
        match run(argv, &json, timeout) {
            Ok(out) => log_outcome(argv, &n, &out, stats),
            Err(e) => {
                bump(&stats.command_failed);
                tracing::warn!(command = ?argv, error = %e, "notify command could not start");
            }
        }
    }
}

fn log_outcome(argv: &[String], n: &Notification, out: &CommandOutcome, counters: &NotifyStats) {
    let status = out
        .status
        .map_or_else(|| "unknown".to_owned(), |s| s.to_string());
    let elapsed_ms = out.elapsed.as_millis();
    if out.ok() {
        bump(&counters.command_ok);
        tracing::info!(command = ?argv, summary = %n.summary, %status, elapsed_ms, stderr = %out.stderr, "notify command ran");
        return;
    }
    bump(&counters.command_failed);
    if out.timed_out {
        bump(&counters.command_timed_out);
        tracing::warn!(command = ?argv, summary = %n.summary, elapsed_ms, stderr = %out.stderr, "notify command timed out: its process group was killed");
    } else {
        tracing::warn!(command = ?argv, summary = %n.summary, %status, elapsed_ms, stderr = %out.stderr, "notify command failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_is_bounded_and_drained() {
        let big = vec![b'x'; STDERR_KEPT * 3];
        let text = read_bounded(&big[..]);
        assert_eq!(text.len(), STDERR_KEPT);
    }

    #[test]
    fn an_empty_argv_is_refused() {
        let err = run(&[], b"{}", Duration::from_secs(1)).err();
        assert_eq!(err.map(|e| e.kind()), Some(io::ErrorKind::InvalidInput));
    }
}
