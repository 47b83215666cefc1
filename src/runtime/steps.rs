//! The engine's [`StepWorker`]: shell steps run off the engine task.
//!
//! [`ShellWorker`] runs each job with [`crate::playbook::exec::run`] on a
//! thread of a small pool it owns (never on a tokio runtime thread, so the
//! engine never waits for a process). At most [`ShellWorker::max_jobs`]
//! jobs run at once ([`MAX_JOBS`], 16, by default); more wait in a queue,
//! in the order given, and start as others end. Threads are made as jobs
//! need them (up to that bound) and end after [`IDLE`] without work.
//!
//! Every job has a key (the engine's run and step); a key already queued
//! or running is refused. [`StepWorker::cancel`] kills a running job's
//! process group (`SIGTERM`, then `SIGKILL` after the grace) or takes a
//! queued one out of the queue before it starts. Each job's `done` is
//! called exactly once, never on the caller's thread (unless no thread at
//! all can be made): `Ok` with the output summary for exit status 0, `Err`
//! with how it ended and the output otherwise (a non-zero status, a
//! signal, the timeout, a cancel, a program that could not start, a
//! refusal). What each output keeps, and what is killed when, is in
//! [`crate::playbook::exec`].
//!
//! Dropping the worker (or [`ShellWorker::shutdown`]) cancels every job,
//! answers the queued ones, and waits a bounded time for the running ones
//! to be killed: no shell step outlives a toc that stops cleanly.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::engine::port::StepWorker;
use crate::playbook::exec::{self, Cancel, Limits};

/// Jobs that run at once by default.
pub const MAX_JOBS: usize = 16;
/// A pool thread with nothing to do for this long ends.
pub const IDLE: Duration = Duration::from_secs(30);

type Done = Box<dyn FnOnce(Result<String, String>) + Send>;

/// Runs shell steps for the engine; see the module docs.
#[derive(Debug)]
pub struct ShellWorker {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: Mutex<State>,
    cv: Condvar,
    max: usize,
    limits: Limits,
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<Queued>,
    /// Every job queued or running, by key.
    jobs: HashMap<String, Cancel>,
    running: usize,
    threads: usize,
    idle: usize,
    stopping: bool,
}

struct Queued {
    key: String,
    argv: Vec<String>,
    timeout: Duration,
    cancel: Cancel,
    done: Done,
}

impl fmt::Debug for Queued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queued")
            .field("key", &self.key)
            .field("argv", &self.argv)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Default for ShellWorker {
    fn default() -> Self {
        Self::new(MAX_JOBS, Limits::default())
    }
}

impl ShellWorker {
    /// A worker running at most `max_jobs` (at least one) at once, each
    /// bounded by `limits`.
    pub fn new(max_jobs: usize, limits: Limits) -> Self {
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                cv: Condvar::new(),
                max: max_jobs.max(1),
                limits,
            }),
        }
    }

    /// The most jobs that run at once.
    pub fn max_jobs(&self) -> usize {
        self.inner.max
    }

    /// Jobs running now.
    pub fn running(&self) -> usize {
        lock(&self.inner.state).running
    }

    /// Jobs waiting for a slot.
    pub fn queued(&self) -> usize {
        lock(&self.inner.state).queue.len()
    }

    /// Cancels every job and refuses new ones; waits up to `wait` for the
    /// running ones to end. Whether they all did.
    pub fn shutdown(&self, wait: Duration) -> bool {
        let until = Instant::now() + wait;
        let mut state = lock(&self.inner.state);
        state.stopping = true;
        let queued: Vec<Queued> = state.queue.drain(..).collect();
        for q in &queued {
            state.jobs.remove(&q.key);
        }
        for cancel in state.jobs.values() {
            cancel.cancel();
        }
        self.inner.cv.notify_all();
        drop(state);
        for q in queued {
            answer(q.done, Err("not run: toc is stopping".into()));
        }
        let mut state = lock(&self.inner.state);
        while state.threads > 0 {
            let now = Instant::now();
            if now >= until {
                return false;
            }
            state = self
                .inner
                .cv
                .wait_timeout(state, until - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }
}

impl Drop for ShellWorker {
    fn drop(&mut self) {
        let wait = self.inner.limits.grace + self.inner.limits.drain * 2 + Duration::from_secs(1);
        if !self.shutdown(wait) {
            tracing::warn!("shell steps still running after the worker stopped");
        }
    }
}

impl StepWorker for ShellWorker {
    fn shell(&self, key: String, argv: Vec<String>, timeout: Duration, done: Done) {
        let mut state = lock(&self.inner.state);
        if state.stopping {
            drop(state);
            answer(done, Err("not run: toc is stopping".into()));
            return;
        }
        if state.jobs.contains_key(&key) {
            drop(state);
            answer(done, Err(format!("not run: a job `{key}` already runs")));
            return;
        }
        let cancel = Cancel::new();
        state.jobs.insert(key.clone(), cancel.clone());
        state.queue.push_back(Queued {
            key,
            argv,
            timeout,
            cancel,
            done,
        });
        if state.idle > 0 {
            self.inner.cv.notify_all();
        } else if state.threads < self.inner.max {
            state.threads += 1;
            drop(state);
            self.add_thread();
        }
    }

    fn cancel(&self, key: &str) {
        let mut state = lock(&self.inner.state);
        let Some(cancel) = state.jobs.get(key).cloned() else {
            return;
        };
        cancel.cancel();
        if let Some(at) = state.queue.iter().position(|q| q.key == key) {
            state.jobs.remove(key);
            let queued = state.queue.remove(at);
            drop(state);
            if let Some(q) = queued {
                answer(q.done, Err(exec::Ended::Cancelled.to_string()));
            }
        }
    }
}

impl ShellWorker {
    /// Starts one more pool thread (already counted in `threads`).
    fn add_thread(&self) {
        let inner = Arc::clone(&self.inner);
        let spawned = std::thread::Builder::new()
            .name("toc-shell-steps".into())
            .spawn(move || pool_thread(&inner));
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "no thread for shell steps");
            let mut state = lock(&self.inner.state);
            state.threads -= 1;
            if state.threads > 0 {
                // The others will take the job.
                return;
            }
            let refused: Vec<Queued> = state.queue.drain(..).collect();
            for q in &refused {
                state.jobs.remove(&q.key);
            }
            drop(state);
            for q in refused {
                (q.done)(Err(format!("not run: no thread for shell steps: {e}")));
            }
        }
    }
}

/// Calls `done` on a thread of its own (so never on the caller's), or
/// here when no thread can be made.
fn answer(done: Done, result: Result<String, String>) {
    let slot = Arc::new(Mutex::new(Some((done, result))));
    let theirs = Arc::clone(&slot);
    let spawned = std::thread::Builder::new()
        .name("toc-shell-answer".into())
        .spawn(move || {
            if let Some((done, result)) = lock(&theirs).take() {
                done(result);
            }
        });
    if spawned.is_err() {
        let taken = lock(&slot).take();
        if let Some((done, result)) = taken {
            done(result);
        }
    }
}

fn pool_thread(inner: &Inner) {
    while let Some(job) = next_job(inner) {
        tracing::info!(key = %job.key, argv = ?job.argv, timeout = ?job.timeout, "shell step started");
        let outcome = exec::run(&job.argv, job.timeout, inner.limits, &job.cancel);
        tracing::info!(key = %job.key, ended = %outcome.ended, elapsed = ?outcome.elapsed, "shell step ended");
        {
            let mut state = lock(&inner.state);
            state.jobs.remove(&job.key);
            state.running -= 1;
        }
        (job.done)(outcome.into_result());
    }
    let mut state = lock(&inner.state);
    state.threads -= 1;
    inner.cv.notify_all();
}

/// The next job to run, or `None` when this thread should end.
fn next_job(inner: &Inner) -> Option<Queued> {
    let mut state = lock(&inner.state);
    loop {
        if let Some(job) = state.queue.pop_front() {
            state.running += 1;
            return Some(job);
        }
        if state.stopping {
            return None;
        }
        state.idle += 1;
        let (next, waited) = inner
            .cv
            .wait_timeout(state, IDLE)
            .unwrap_or_else(PoisonError::into_inner);
        state = next;
        state.idle -= 1;
        if waited.timed_out() && state.queue.is_empty() {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    #[test]
    fn a_duplicate_key_is_refused_and_a_queued_job_cancelled() {
        let worker = ShellWorker::new(1, Limits::default());
        let (tx, rx) = mpsc::channel();
        let sleep = || vec!["sleep".to_owned(), "30".to_owned()];
        for key in ["a", "a", "b"] {
            let tx = tx.clone();
            worker.shell(
                key.into(),
                sleep(),
                Duration::from_secs(60),
                Box::new(move |r| {
                    let _ = tx.send((key, r));
                }),
            );
        }
        let (key, refused) = rx.recv_timeout(Duration::from_secs(5)).expect("refusal");
        assert_eq!(key, "a");
        assert_eq!(refused, Err("not run: a job `a` already runs".into()));
        assert_eq!((worker.running(), worker.queued()), (1, 1));
        worker.cancel("b");
        let (key, cancelled) = rx.recv_timeout(Duration::from_secs(5)).expect("cancel");
        assert_eq!(key, "b");
        assert_eq!(cancelled, Err(exec::Ended::Cancelled.to_string()));
        assert_eq!(worker.queued(), 0);
        drop(worker);
        let (key, stopped) = rx.recv_timeout(Duration::from_secs(5)).expect("stop");
        assert_eq!(key, "a");
        let text = stopped.expect_err("killed");
        assert!(text.starts_with("cancelled"), "{text}");
    }
}
