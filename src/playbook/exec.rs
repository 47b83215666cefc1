//! A shell step's process: an argv (no shell), its own process group,
//! killed with every child at its timeout, output captured up to a bound.
//!
//! [`run`] starts `argv[0]` with the rest as its arguments (found on
//! `PATH` when it has no `/`; nothing is parsed, expanded or quoted),
//! standard input from `/dev/null`, in a new process group of its own
//! (`process_group(0)`: its pid is the group's id, so everything it starts
//! and does not move elsewhere is in that group). Then:
//!
//! - **Output is bounded.** Standard output and standard error are read on
//!   threads of their own as they come (the program never blocks on a full
//!   pipe); of each, the first [`Limits::head`] and the last
//!   [`Limits::tail`] bytes are kept (16 KiB each by default) and the bytes
//!   between are counted and dropped, shown as "… N bytes left out …". A
//!   program printing gigabytes costs its reading time, never memory.
//! - **The timeout kills the whole group.** Past `timeout` (or on
//!   [`Cancel::cancel`]) the group gets `SIGTERM`; whatever of it is still
//!   there after [`Limits::grace`] (2 s by default) gets `SIGKILL`, so
//!   children that ignore `SIGTERM` die too.
//! - **Nothing of the group outlives the step.** When the leader exits by
//!   itself, its output is read until both pipes close or for
//!   [`Limits::drain`] (0.5 s by default); then what is left of its group
//!   (a background child still holding the pipe, or any other) is killed
//!   with `SIGKILL` and [`Outcome::leftovers_killed`] says so. A leader
//!   that exits leaving a child holding its standard output open therefore
//!   ends the step within the drain time, not when the child ends.
//!
//! A process that leaves the group (`setsid`, `setpgid`) is out of reach:
//! it is not killed, and when it keeps a pipe open the reading thread
//! stays until it closes (still bounded; the outcome does not wait for
//! it). When toc itself is killed, the group is not: the engine marks the
//! step interrupted on restart.
//!
//! [`Job`] runs one on a thread of its own with a handle to cancel it; the
//! runtime's `ShellWorker` (`runtime/steps.rs`) runs them for the engine.

use std::collections::VecDeque;
use std::fmt::{self, Write as _};
use std::io::{self, Read};
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Bytes kept from the start of each of standard output and error.
pub const HEAD_KEPT: usize = 16 * 1024;
/// Bytes kept from the end of each of standard output and error.
pub const TAIL_KEPT: usize = 16 * 1024;
/// Between `SIGTERM` and `SIGKILL` to the group.
pub const GRACE: Duration = Duration::from_secs(2);
/// How long output is read after the leader exits.
pub const DRAIN: Duration = Duration::from_millis(500);

/// The bounds of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes kept from the start of each stream.
    pub head: usize,
    /// Bytes kept from the end of each stream.
    pub tail: usize,
    /// Between `SIGTERM` and `SIGKILL` to the group.
    pub grace: Duration,
    /// How long output is read after the leader exits (and, after the
    /// group is killed, how long its pipes are waited for).
    pub drain: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            head: HEAD_KEPT,
            tail: TAIL_KEPT,
            grace: GRACE,
            drain: DRAIN,
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The leader exited with this status.
    Exited(i32),
    /// The leader was killed by this signal (not by us).
    Signalled(i32),
    /// It ran past its timeout (this long) and its group was killed.
    TimedOut(Duration),
    /// It was cancelled and its group was killed (or, cancelled before it
    /// started, it never ran).
    Cancelled,
    /// It could not be started: why, naming the program.
    NotStarted(String),
}

impl fmt::Display for Ended {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exited(code) => write!(f, "exited with status {code}"),
            Self::Signalled(sig) => write!(f, "killed by signal {sig}{}", signal_name(*sig)),
            Self::TimedOut(after) => write!(
                f,
                "timed out after {}: its process group was killed",
                humantime::format_duration(*after)
            ),
            Self::Cancelled => f.write_str("cancelled: its process group was killed"),
            Self::NotStarted(why) => write!(f, "could not start: {why}"),
        }
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        1 => " (SIGHUP)",
        2 => " (SIGINT)",
        6 => " (SIGABRT)",
        9 => " (SIGKILL)",
        11 => " (SIGSEGV)",
        13 => " (SIGPIPE)",
        15 => " (SIGTERM)",
        _ => "",
    }
}

/// What was kept of one output stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captured {
    /// The first bytes (at most [`Limits::head`]).
    pub head: Vec<u8>,
    /// The last bytes after `head` (at most [`Limits::tail`]).
    pub tail: Vec<u8>,
    /// Every byte read, kept or not.
    pub total: u64,
}

impl Captured {
    /// Bytes read and dropped between `head` and `tail`.
    pub fn left_out(&self) -> u64 {
        self.total
            .saturating_sub(self.head.len() as u64 + self.tail.len() as u64)
    }

    /// The kept bytes as text (lossy UTF-8), with a marker where bytes
    /// were left out.
    pub fn text(&self) -> String {
        let left_out = self.left_out();
        if left_out == 0 {
            let mut all = self.head.clone();
            all.extend_from_slice(&self.tail);
            return String::from_utf8_lossy(&all).into_owned();
        }
        // The tail was cut at an arbitrary byte: skip a partial character.
        let skip = self
            .tail
            .iter()
            .take(3)
            .take_while(|b| (**b & 0xC0) == 0x80)
            .count();
        // Those bytes count as left out.
        let left_out = left_out + skip as u64;
        format!(
            "{}\n… {left_out} bytes left out …\n{}",
            String::from_utf8_lossy(&self.head),
            String::from_utf8_lossy(&self.tail[skip..])
        )
    }
}

/// A run: how it ended and what it printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// How it ended.
    pub ended: Ended,
    /// Its standard output, bounded.
    pub stdout: Captured,
    /// Its standard error, bounded.
    pub stderr: Captured,
    /// From the start to the end of the run.
    pub elapsed: Duration,
    /// The leader's pid (also its process group's id), when it started.
    pub pid: Option<u32>,
    /// The leader exited by itself and processes of its group were left;
    /// they were killed.
    pub leftovers_killed: bool,
}

impl Outcome {
    /// Exited by itself with status 0.
    pub fn ok(&self) -> bool {
        self.ended == Ended::Exited(0)
    }

    /// How it ended and for how long, for a timeline, in one line; then
    /// each stream that printed something: `stdout (N bytes):` and its text.
    pub fn summary(&self) -> String {
        let mut text = self.ended.to_string();
        if !matches!(self.ended, Ended::NotStarted(_)) {
            let ms = u64::try_from(self.elapsed.as_millis()).unwrap_or(u64::MAX);
            let _ = write!(
                text,
                " (ran {})",
                humantime::format_duration(Duration::from_millis(ms))
            );
        }
        if self.leftovers_killed {
            text.push_str("; processes it left running were killed");
        }
        for (name, stream) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            if stream.total > 0 {
                let _ = write!(text, "\n{name} ({} bytes):\n", stream.total);
                text.push_str(stream.text().trim_end_matches('\n'));
            }
        }
        text
    }

    /// `Ok(summary)` when it exited with status 0, `Err(summary)`
    /// otherwise: what a step worker answers.
    pub fn into_result(self) -> Result<String, String> {
        if self.ok() {
            Ok(self.summary())
        } else {
            Err(self.summary())
        }
    }

    fn not_started(why: String, started: Instant) -> Self {
        Self {
            ended: Ended::NotStarted(why),
            stdout: Captured::default(),
            stderr: Captured::default(),
            elapsed: started.elapsed(),
            pid: None,
            leftovers_killed: false,
        }
    }
}

/// Cancels a run; cheap to clone, one per run.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<(Mutex<bool>, Condvar)>);

impl Cancel {
    /// A fresh one, not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the run to stop: its group is killed as for a timeout (or it
    /// never starts).
    pub fn cancel(&self) {
        let (flag, cv) = &*self.0;
        *lock(flag) = true;
        cv.notify_all();
    }

    /// Whether [`Cancel::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        *lock(&self.0.0)
    }

    /// Sleeps for `d` or until cancelled; whether it was cancelled.
    fn sleep(&self, d: Duration) -> bool {
        let (flag, cv) = &*self.0;
        let guard = lock(flag);
        let (guard, _) = cv
            .wait_timeout_while(guard, d, |cancelled| !*cancelled)
            .unwrap_or_else(PoisonError::into_inner);
        *guard
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A run on a thread of its own.
#[derive(Debug)]
pub struct Job {
    cancel: Cancel,
    thread: JoinHandle<Outcome>,
}

impl Job {
    /// Starts `argv` on a new thread; an error means the thread could not
    /// be made (a program that cannot start is an [`Ended::NotStarted`]).
    pub fn start(argv: Vec<String>, timeout: Duration, limits: Limits) -> io::Result<Self> {
        let cancel = Cancel::new();
        let theirs = cancel.clone();
        let thread = std::thread::Builder::new()
            .name("toc-shell-step".into())
            .spawn(move || run(&argv, timeout, limits, &theirs))?;
        Ok(Self { cancel, thread })
    }

    /// A handle that cancels this job.
    pub fn canceller(&self) -> Cancel {
        self.cancel.clone()
    }

    /// Kills the job's process group, if it still runs.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Whether it has ended.
    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    /// Waits for its outcome.
    pub fn wait(self) -> Outcome {
        self.thread.join().unwrap_or_else(|_| Outcome {
            ended: Ended::NotStarted("the step's thread panicked".into()),
            stdout: Captured::default(),
            stderr: Captured::default(),
            elapsed: Duration::ZERO,
            pid: None,
            leftovers_killed: false,
        })
    }
}

/// Runs `argv` to its end, at most `timeout` (plus the grace and drain of
/// `limits`), or until `cancel`; on the calling thread.
pub fn run(argv: &[String], timeout: Duration, limits: Limits, cancel: &Cancel) -> Outcome {
    let started = Instant::now();
    let Some((program, rest)) = argv.split_first() else {
        return Outcome::not_started("the argv is empty".into(), started);
    };
    if cancel.is_cancelled() {
        let mut out = Outcome::not_started(String::new(), started);
        out.ended = Ended::Cancelled;
        return out;
    }
    let mut cmd = Command::new(program);
    cmd.args(rest)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => return Outcome::not_started(why_not(program, &e), started),
    };
    let pipes = Pipes::start(&mut child, limits);
    let deadline = started + timeout;
    let (ended, leftovers_killed) = match supervise(&mut child, deadline, limits.grace, cancel) {
        Ok(status) => {
            // The leader is gone: read what is left, then clear its group.
            pipes.wait_closed(Instant::now() + limits.drain);
            let killed = kill_leftovers(&child);
            if killed {
                pipes.wait_closed(Instant::now() + limits.drain);
            }
            (ended_of(status), killed)
        }
        Err(stopped) => {
            pipes.wait_closed(Instant::now() + limits.drain);
            let ended = match stopped {
                Stopped::TimedOut => Ended::TimedOut(timeout),
                Stopped::Cancelled => Ended::Cancelled,
                Stopped::Failed(why) => Ended::NotStarted(why),
            };
            (ended, false)
        }
    };
    let (stdout, stderr) = pipes.take();
    Outcome {
        ended,
        stdout,
        stderr,
        elapsed: started.elapsed(),
        pid: Some(child.id()),
        leftovers_killed,
    }
}

/// What it says when `program` cannot start.
fn why_not(program: &str, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => {
            format!("program `{program}` not found (not a file, nor on PATH)")
        }
        io::ErrorKind::PermissionDenied => {
            format!("program `{program}` cannot be run (permission denied)")
        }
        _ => format!("program `{program}`: {e}"),
    }
}

fn ended_of(status: ExitStatus) -> Ended {
    if let Some(code) = status.code() {
        return Ended::Exited(code);
    }
    #[cfg(unix)]
    if let Some(sig) = std::os::unix::process::ExitStatusExt::signal(&status) {
        return Ended::Signalled(sig);
    }
    Ended::NotStarted(format!("ended with an unknown status ({status})"))
}

/// Why a run was stopped before its leader exited.
enum Stopped {
    TimedOut,
    Cancelled,
    /// Its status could not be read (the group was killed).
    Failed(String),
}

/// Waits for the leader; past `deadline` or on `cancel`, kills the group.
fn supervise(
    child: &mut Child,
    deadline: Instant,
    grace: Duration,
    cancel: &Cancel,
) -> Result<ExitStatus, Stopped> {
    // Short first naps so quick commands end quickly, then at most 25 ms.
    let mut nap = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) => {}
            Err(e) => {
                stop(child, Duration::ZERO);
                return Err(Stopped::Failed(format!(
                    "its status could not be read: {e}"
                )));
            }
        }
        if cancel.is_cancelled() {
            stop(child, grace);
            return Err(Stopped::Cancelled);
        }
        let now = Instant::now();
        if now >= deadline {
            stop(child, grace);
            return Err(Stopped::TimedOut);
        }
        cancel.sleep(nap.min(deadline - now));
        nap = (nap * 2).min(Duration::from_millis(25));
    }
}

/// `SIGTERM` to the group, then `SIGKILL` to what is left of it after
/// `grace`; reaps the leader.
fn stop(child: &mut Child, grace: Duration) {
    let until = Instant::now() + grace;
    if grace > Duration::ZERO {
        signal_group(child, Signal::Term);
        let mut reaped = false;
        while Instant::now() < until {
            if !reaped {
                reaped = matches!(child.try_wait(), Ok(Some(_)));
            }
            if reaped && !group_alive(child) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    signal_group(child, Signal::Kill);
    let _ = child.wait();
}

/// After the leader exited: kills what is left of its group; whether
/// anything was.
fn kill_leftovers(child: &Child) -> bool {
    if !group_alive(child) {
        return false;
    }
    signal_group(child, Signal::Kill);
    true
}

#[derive(Debug, Clone, Copy)]
enum Signal {
    Term,
    Kill,
}

#[cfg(unix)]
fn group_of(child: &Child) -> Option<rustix::process::Pid> {
    // The leader leads its own group (process_group(0)): its pid is the
    // group's id. The id stays the group's while any member lives, so it
    // cannot name another group before this one is empty.
    rustix::process::Pid::from_raw(i32::try_from(child.id()).ok()?)
}

#[cfg(unix)]
fn signal_group(child: &Child, sig: Signal) {
    use rustix::process::{Signal as S, kill_process_group};
    let Some(group) = group_of(child) else { return };
    let sig = match sig {
        Signal::Term => S::TERM,
        Signal::Kill => S::KILL,
    };
    if let Err(e) = kill_process_group(group, sig) {
        // ESRCH: the group is already gone.
        tracing::debug!(error = %e, pgid = child.id(), "signalling a shell step's group");
    }
}

/// Whether a process of the group lives. Zombies do not count: killed
/// children wait to be reaped by whoever adopted them (in a container,
/// a PID 1 that reaps slowly, or never), yet `kill(-pgid, 0)` finds them.
#[cfg(unix)]
fn group_alive(child: &Child) -> bool {
    let Some(group) = group_of(child) else {
        return false;
    };
    if rustix::process::test_kill_process_group(group).is_err() {
        return false;
    }
    live_member(group.as_raw_pid()).unwrap_or(true)
}

/// Whether `/proc` shows a member of group `pgid` that is not a zombie;
/// `None` when `/proc` cannot be read.
#[cfg(target_os = "linux")]
fn live_member(pgid: i32) -> Option<bool> {
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = entry.file_name();
        let Some(number) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{number}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid pgrp ...": comm may hold ") ".
        let Some((_, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next();
        let pgrp = fields.nth(1).and_then(|p| p.parse::<i32>().ok());
        if pgrp == Some(pgid) && !matches!(state, Some("Z" | "X")) {
            return Some(true);
        }
    }
    Some(false)
}

#[cfg(all(unix, not(target_os = "linux")))]
fn live_member(_pgid: i32) -> Option<bool> {
    None
}

#[cfg(not(unix))]
fn signal_group(_child: &Child, _sig: Signal) {}

#[cfg(not(unix))]
fn group_alive(_child: &Child) -> bool {
    false
}

/// One stream's bounded capture: the first bytes, a ring of the last.
#[derive(Debug)]
struct Capture {
    head_max: usize,
    tail_max: usize,
    head: Vec<u8>,
    tail: VecDeque<u8>,
    total: u64,
}

impl Capture {
    fn new(limits: Limits) -> Self {
        Self {
            head_max: limits.head,
            tail_max: limits.tail,
            head: Vec::new(),
            tail: VecDeque::new(),
            total: 0,
        }
    }

    fn push(&mut self, mut bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let room = self.head_max.saturating_sub(self.head.len());
        let (to_head, rest) = bytes.split_at(room.min(bytes.len()));
        self.head.extend_from_slice(to_head);
        bytes = rest;
        if self.tail_max == 0 || bytes.is_empty() {
            return;
        }
        if bytes.len() >= self.tail_max {
            self.tail.clear();
            bytes = &bytes[bytes.len() - self.tail_max..];
        } else {
            let over = (self.tail.len() + bytes.len()).saturating_sub(self.tail_max);
            self.tail.drain(..over);
        }
        self.tail.extend(bytes);
    }

    fn take(&mut self) -> Captured {
        let taken = Captured {
            head: std::mem::take(&mut self.head),
            tail: std::mem::take(&mut self.tail).into(),
            total: self.total,
        };
        // A reader still running (a process that left the group holds the
        // pipe) keeps counting into an empty capture: still bounded.
        self.total = 0;
        self.head_max = 0;
        self.tail_max = 0;
        taken
    }
}

#[derive(Debug)]
struct PipesState {
    out: Capture,
    err: Capture,
    open: usize,
}

/// The two reading threads and what they read.
#[derive(Debug, Clone)]
struct Pipes(Arc<(Mutex<PipesState>, Condvar)>);

impl Pipes {
    fn start(child: &mut Child, limits: Limits) -> Self {
        let pipes = Self(Arc::new((
            Mutex::new(PipesState {
                out: Capture::new(limits),
                err: Capture::new(limits),
                open: 0,
            }),
            Condvar::new(),
        )));
        if let Some(out) = child.stdout.take() {
            pipes.read(Stream::Out(out));
        }
        if let Some(err) = child.stderr.take() {
            pipes.read(Stream::Err(err));
        }
        pipes
    }

    fn read(&self, stream: Stream) {
        lock(&self.0.0).open += 1;
        let me = self.clone();
        let spawned = std::thread::Builder::new()
            .name("toc-shell-output".into())
            .spawn(move || me.drain(stream));
        if let Err(e) = spawned {
            // The pipe is dropped with the closure: the program gets EPIPE
            // if it writes there.
            tracing::warn!(error = %e, "no thread to read a shell step's output");
            self.closed();
        }
    }

    fn drain(&self, stream: Stream) {
        let is_out = matches!(stream, Stream::Out(_));
        let mut from: Box<dyn Read> = match stream {
            Stream::Out(p) => Box::new(p),
            Stream::Err(p) => Box::new(p),
        };
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let mut state = lock(&self.0.0);
                    let capture = if is_out {
                        &mut state.out
                    } else {
                        &mut state.err
                    };
                    capture.push(&buf[..n]);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        self.closed();
    }

    fn closed(&self) {
        let mut state = lock(&self.0.0);
        state.open = state.open.saturating_sub(1);
        self.0.1.notify_all();
    }

    /// Waits until both pipes are closed or `until`; whether they are.
    fn wait_closed(&self, until: Instant) -> bool {
        let mut state = lock(&self.0.0);
        while state.open > 0 {
            let now = Instant::now();
            if now >= until {
                return false;
            }
            state = self
                .0
                .1
                .wait_timeout(state, until - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }

    fn take(&self) -> (Captured, Captured) {
        let mut state = lock(&self.0.0);
        (state.out.take(), state.err.take())
    }
}

enum Stream {
    Out(ChildStdout),
    Err(ChildStderr),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(head: usize, tail: usize) -> Limits {
        Limits {
            head,
            tail,
            ..Limits::default()
        }
    }

    fn captured(chunks: &[&[u8]], head: usize, tail: usize) -> Captured {
        let mut c = Capture::new(limits(head, tail));
        for chunk in chunks {
            c.push(chunk);
        }
        c.take()
    }

    #[test]
    fn short_output_is_kept_whole() {
        let c = captured(&[b"hello ", b"world"], 4, 4);
        assert_eq!(c.left_out(), 3);
        let c = captured(&[b"hello"], 4, 4);
        assert_eq!((c.left_out(), c.text().as_str()), (0, "hello"));
    }

    #[test]
    fn the_middle_is_left_out_with_a_marker() {
        let c = captured(&[b"abc", b"defghij", b"klmnop", b"q"], 4, 5);
        assert_eq!(c.head, b"abcd");
        assert_eq!(c.tail, b"mnopq");
        assert_eq!(c.total, 17);
        assert_eq!(c.text(), "abcd\n… 8 bytes left out …\nmnopq");
    }

    #[test]
    fn a_chunk_larger_than_the_tail_keeps_its_end() {
        let c = captured(&[b"ab", b"0123456789"], 2, 3);
        assert_eq!(
            (c.head.as_slice(), c.tail.as_slice()),
            (&b"ab"[..], &b"789"[..])
        );
    }

    #[test]
    fn a_cut_character_is_skipped_in_the_tail() {
        // "é" is two bytes; the tail starts in its middle: its second byte
        // is not shown and counts as left out.
        let c = captured(&["aaaaé!".as_bytes()], 2, 2);
        assert_eq!(c.text(), "aa\n… 4 bytes left out …\n!");
    }

    #[test]
    fn endings_read_as_sentences() {
        assert_eq!(Ended::Exited(3).to_string(), "exited with status 3");
        assert_eq!(
            Ended::Signalled(9).to_string(),
            "killed by signal 9 (SIGKILL)"
        );
        assert_eq!(
            Ended::TimedOut(Duration::from_millis(1500)).to_string(),
            "timed out after 1s 500ms: its process group was killed"
        );
    }

    #[test]
    fn an_empty_argv_does_not_start() {
        let out = run(
            &[],
            Duration::from_secs(1),
            Limits::default(),
            &Cancel::new(),
        );
        assert_eq!(out.ended, Ended::NotStarted("the argv is empty".into()));
    }

    #[test]
    fn a_run_cancelled_before_it_starts_never_runs() {
        let cancel = Cancel::new();
        cancel.cancel();
        let argv = vec!["true".to_owned()];
        let out = run(&argv, Duration::from_secs(1), Limits::default(), &cancel);
        assert_eq!((out.ended, out.pid), (Ended::Cancelled, None));
    }
}
