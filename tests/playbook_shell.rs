//! A shell step's process, with real processes: what it printed and how it
//! ended; output over the bound cut with a marker, in bounded memory; the
//! timeout and a cancel kill the whole process group (children that
//! ignore `SIGTERM` included); a program that does not exist says so; a
//! leader that exits leaving a child holding its output does not hang the
//! step. Then the engine's [`ShellWorker`]: `done` once, cancel by key.
//!
//! The time here is real (real processes): timeouts are 0.3–1 s.
//! The whole binary runs under a 64 MiB heap cap.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::alloc::System;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cap::Cap;

use toc::engine::port::StepWorker;
use toc::playbook::exec::{Cancel, Ended, HEAD_KEPT, Job, Limits, TAIL_KEPT, run};
use toc::runtime::steps::ShellWorker;

#[global_allocator]
static HEAP: Cap<System> = Cap::new(System, 64 << 20);

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

/// `sh -c SCRIPT`, with `$F` the path of a file for pids.
fn sh(script: &str, pids: &Path) -> Vec<String> {
    let script = script.replace("$F", &pids.display().to_string());
    argv(&["sh", "-c", &script])
}

fn quick() -> Limits {
    Limits {
        grace: Duration::from_millis(500),
        drain: Duration::from_millis(300),
        ..Limits::default()
    }
}

/// Whether `pid` is a live process (a zombie is dead: it only waits to be
/// reaped by whoever adopted it).
fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat.rsplit(") ").next().and_then(|s| s.chars().next());
    !matches!(state, Some('Z' | 'X'))
}

/// The pids written in `file`, one a line, once there are `n`.
fn pids(file: &Path, n: usize) -> Vec<u32> {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let pids: Vec<u32> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
        if pids.len() >= n {
            return pids;
        }
        assert!(Instant::now() < until, "pids never written: {text:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Asserts every one of `pids` is dead within a second (a signal is
/// delivered after `kill` returns).
fn assert_all_gone(pids: &[u32]) {
    let until = Instant::now() + Duration::from_secs(1);
    while pids.iter().any(|p| alive(*p)) {
        let left: Vec<_> = pids.iter().filter(|p| alive(**p)).collect();
        assert!(Instant::now() < until, "still alive: {left:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn exit_zero_with_its_output() {
    let out = run(
        &argv(&["sh", "-c", "echo out; echo err >&2"]),
        Duration::from_secs(5),
        quick(),
        &Cancel::new(),
    );
    assert_eq!(out.ended, Ended::Exited(0));
    assert_eq!(out.stdout.text(), "out\n");
    assert_eq!(out.stderr.text(), "err\n");
    assert!(!out.leftovers_killed);
    assert!(out.elapsed < Duration::from_secs(1), "{:?}", out.elapsed);
    let text = out.into_result().expect("status 0 is Ok");
    assert!(text.starts_with("exited with status 0 (ran "), "{text}");
    assert!(
        text.contains("\nstdout (4 bytes):\nout\nstderr (4 bytes):\nerr"),
        "{text}"
    );
}

#[test]
fn a_non_zero_status_is_an_error_with_its_output() {
    let out = run(
        &argv(&["sh", "-c", "echo disk full >&2; exit 3"]),
        Duration::from_secs(5),
        quick(),
        &Cancel::new(),
    );
    assert_eq!(out.ended, Ended::Exited(3));
    let text = out.into_result().expect_err("status 3 is Err");
    assert!(text.starts_with("exited with status 3 (ran "), "{text}");
    assert!(text.ends_with("stderr (10 bytes):\ndisk full"), "{text}");
}

#[test]
fn a_signal_that_ends_it_is_named() {
    let out = run(
        &argv(&["sh", "-c", "kill -9 $$"]),
        Duration::from_secs(5),
        quick(),
        &Cancel::new(),
    );
    assert_eq!(out.ended, Ended::Signalled(9));
    let text = out.into_result().expect_err("killed is Err");
    assert!(text.starts_with("killed by signal 9 (SIGKILL)"), "{text}");
}

#[test]
fn output_over_the_bound_is_cut_with_a_marker_in_bounded_memory() {
    const PRINTED: u64 = 100_000_000;
    let before = HEAP.allocated();
    let out = run(
        &argv(&[
            "sh",
            "-c",
            "yes 0123456789 | head -c 100000000; echo end >&2",
        ]),
        Duration::from_secs(20),
        quick(),
        &Cancel::new(),
    );
    let peak = HEAP.max_allocated();
    assert_eq!(out.ended, Ended::Exited(0));
    assert_eq!(out.stdout.total, PRINTED);
    assert_eq!(out.stdout.head.len(), HEAD_KEPT);
    assert_eq!(out.stdout.tail.len(), TAIL_KEPT);
    assert_eq!(
        out.stdout.left_out(),
        PRINTED - (HEAD_KEPT + TAIL_KEPT) as u64
    );
    let text = out.stdout.text();
    assert!(text.starts_with("0123456789\n0123456789\n"));
    let marker = format!("\n… {} bytes left out …\n", out.stdout.left_out());
    assert!(text.contains(&marker), "no marker {marker:?}");
    // 100 MB = 9,090,909 lines of 11 bytes, and one cut line of 1 byte.
    assert!(
        text.ends_with("0123456789\n0"),
        "{:?}",
        &text[text.len() - 30..]
    );
    assert_eq!(out.stderr.text(), "end\n");
    // Both tests' allocations count; far below what was printed.
    assert!(
        peak < before + (8 << 20),
        "peak heap {peak} bytes (before {before})"
    );
}

#[test]
fn the_timeout_kills_the_group_even_children_ignoring_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pids");
    // The leader and one child ignore SIGTERM (ignored stays ignored
    // across exec); the other child does not.
    let script = "trap '' TERM; (trap '' TERM; exec sleep 300) & echo $! > $F; \
                  sleep 300 & echo $! >> $F; echo $$ >> $F; echo started; wait";
    let timeout = Duration::from_millis(500);
    let started = Instant::now();
    let job = Job::start(sh(script, &file), timeout, quick()).unwrap();
    let pids = pids(&file, 3);
    assert!(pids.iter().all(|p| alive(*p)), "{pids:?}");
    let out = job.wait();
    let took = started.elapsed();
    assert_eq!(out.ended, Ended::TimedOut(timeout));
    assert_eq!(out.pid, Some(pids[2]));
    assert_all_gone(&pids);
    // SIGTERM first, then SIGKILL after the grace (500 ms).
    assert!(took >= Duration::from_millis(1000), "{took:?}");
    assert!(took < Duration::from_millis(2500), "{took:?}");
    let text = out.into_result().expect_err("a timeout is Err");
    assert!(
        text.starts_with("timed out after 500ms: its process group was killed (ran "),
        "{text}"
    );
    assert!(text.ends_with("stdout (8 bytes):\nstarted"), "{text}");
}

#[test]
fn sigterm_is_enough_for_children_that_obey_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pids");
    let script = "sleep 300 & echo $! > $F; sleep 300 & echo $! >> $F; wait";
    let started = Instant::now();
    let limits = Limits {
        grace: Duration::from_secs(5),
        ..quick()
    };
    let job = Job::start(sh(script, &file), Duration::from_millis(300), limits).unwrap();
    let pids = pids(&file, 2);
    let out = job.wait();
    assert_eq!(out.ended, Ended::TimedOut(Duration::from_millis(300)));
    assert_all_gone(&pids);
    // Well inside the 5 s grace: nothing waited for SIGKILL.
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[test]
fn cancel_kills_the_group() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pids");
    let script = "sleep 300 & echo $! > $F; echo $$ >> $F; wait";
    let job = Job::start(sh(script, &file), Duration::from_secs(60), quick()).unwrap();
    let pids = pids(&file, 2);
    let cancelled = Instant::now();
    job.cancel();
    let out = job.wait();
    assert_eq!(out.ended, Ended::Cancelled);
    assert_all_gone(&pids);
    assert!(cancelled.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_program_that_does_not_exist_is_named() {
    let out = run(
        &argv(&["toc-no-such-program", "--flag"]),
        Duration::from_secs(5),
        quick(),
        &Cancel::new(),
    );
    assert_eq!(out.pid, None);
    assert_eq!(
        out.into_result(),
        Err(
            "could not start: program `toc-no-such-program` not found (not a file, nor on PATH)"
                .into()
        )
    );
}

#[test]
fn a_leader_leaving_a_child_holding_its_output_does_not_hang() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pids");
    // The background sleep inherits standard output and keeps it open.
    let script = "echo hi; sleep 300 & echo $! > $F";
    let started = Instant::now();
    let out = run(
        &sh(script, &file),
        Duration::from_secs(60),
        quick(),
        &Cancel::new(),
    );
    let took = started.elapsed();
    let pids = pids(&file, 1);
    assert_eq!(out.ended, Ended::Exited(0));
    assert_eq!(out.stdout.text(), "hi\n");
    assert!(out.leftovers_killed);
    assert_all_gone(&pids);
    // The 300 ms drain, then the kill: not 300 s.
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert!(took >= Duration::from_millis(300), "{took:?}");
    let text = out.into_result().expect("status 0 is Ok");
    assert!(
        text.contains("processes it left running were killed"),
        "{text}"
    );
}

type Answers = mpsc::Receiver<(String, Result<String, String>)>;

fn worker_job(
    worker: &ShellWorker,
    key: &str,
    words: &[&str],
    timeout: Duration,
    calls: &Arc<AtomicUsize>,
    tx: &mpsc::Sender<(String, Result<String, String>)>,
) {
    let (calls, tx, owned) = (Arc::clone(calls), tx.clone(), key.to_owned());
    worker.shell(
        key.into(),
        argv(words),
        timeout,
        Box::new(move |r| {
            calls.fetch_add(1, Ordering::SeqCst);
            let _ = tx.send((owned, r));
        }),
    );
}

fn next(rx: &Answers) -> (String, Result<String, String>) {
    rx.recv_timeout(Duration::from_secs(5)).expect("an answer")
}

#[test]
fn the_worker_answers_once_per_job_and_cancels_by_key() {
    let worker = ShellWorker::new(2, quick());
    let calls = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel();
    let long = ["sh", "-c", "sleep 300 & wait"];
    worker_job(
        &worker,
        "run-1/step-1",
        &long,
        Duration::from_secs(60),
        &calls,
        &tx,
    );
    worker_job(
        &worker,
        "run-2/step-1",
        &["sh", "-c", "echo fine"],
        Duration::from_secs(5),
        &calls,
        &tx,
    );
    worker_job(
        &worker,
        "run-3/step-1",
        &["toc-no-such-program"],
        Duration::from_secs(5),
        &calls,
        &tx,
    );
    let mut quick_ones = [next(&rx), next(&rx)];
    quick_ones.sort_by(|a, b| a.0.cmp(&b.0));
    let [(k2, fine), (k3, missing)] = quick_ones;
    assert_eq!((k2.as_str(), k3.as_str()), ("run-2/step-1", "run-3/step-1"));
    let fine = fine.expect("echo exits 0");
    assert!(fine.ends_with("stdout (5 bytes):\nfine"), "{fine}");
    let missing = missing.expect_err("not found");
    assert!(
        missing.contains("program `toc-no-such-program` not found"),
        "{missing}"
    );

    assert_eq!(worker.running(), 1);
    let cancelled = Instant::now();
    worker.cancel("run-1/step-1");
    let (key, killed) = next(&rx);
    assert_eq!(key, "run-1/step-1");
    let killed = killed.expect_err("cancelled");
    assert!(
        killed.starts_with("cancelled: its process group was killed"),
        "{killed}"
    );
    assert!(cancelled.elapsed() < Duration::from_secs(2));
    // Cancelling again, or an unknown key, does nothing.
    worker.cancel("run-1/step-1");
    worker.cancel("nobody");
    assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    // The key is free again once answered.
    worker_job(
        &worker,
        "run-1/step-1",
        &["true"],
        Duration::from_secs(5),
        &calls,
        &tx,
    );
    assert!(next(&rx).1.is_ok());
}

#[test]
fn the_worker_runs_at_most_its_bound_at_once() {
    let worker = ShellWorker::new(2, quick());
    let calls = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel();
    let started = Instant::now();
    for i in 0..5 {
        let key = format!("run-{i}");
        worker_job(
            &worker,
            &key,
            &["sleep", "0.3"],
            Duration::from_secs(5),
            &calls,
            &tx,
        );
    }
    assert_eq!(worker.max_jobs(), 2);
    assert!(worker.running() <= 2);
    assert_eq!(worker.running() + worker.queued(), 5);
    let mut keys: Vec<String> = (0..5).map(|_| next(&rx).0).collect();
    keys.sort();
    assert_eq!(keys, ["run-0", "run-1", "run-2", "run-3", "run-4"]);
    // Three rounds of 300 ms, two at a time.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 5);
}
