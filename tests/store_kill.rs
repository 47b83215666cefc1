//! A process writing acked batches is killed with SIGKILL at a random
//! moment: the store it leaves opens, holds every batch whose ack the
//! process received (it printed the batch's number after the ack), and
//! holds no batch in part.
//!
//! The child is this test binary itself, run with `TOC_STORE_KILL_CHILD`
//! set to the store's path: then [`child_writes_until_killed`] writes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod store_fixtures;

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc::channel;
use std::time::Duration;

use store_fixtures::batch;
use toc::engine::port::IncidentStore as _;
use toc::store::{Filter, Reader, Store};

const CHILD: &str = "TOC_STORE_KILL_CHILD";

/// In the child: writes batches 0, 1, 2, … with acks, up to 16 in flight,
/// printing `acked N` once batch N's ack says it is durable; never ends.
#[test]
fn child_writes_until_killed() {
    let Some(path) = std::env::var_os(CHILD) else {
        return;
    };
    let (store, _) = Store::open(Path::new(&path)).unwrap();
    let (tx, rx) = channel();
    let mut in_flight = 0;
    for n in 0.. {
        let tx = tx.clone();
        let ack = Box::new(move |r: Result<(), String>| {
            if r.is_ok() {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "acked {n}");
                let _ = out.flush();
            }
            let _ = tx.send(());
        });
        store.write(batch(n, 200), Some(ack)).unwrap();
        in_flight += 1;
        while in_flight >= 16 {
            rx.recv().unwrap();
            in_flight -= 1;
        }
    }
}

/// Runs a child on `path`, kills it with SIGKILL a random while after its
/// first ack; returns the batches it saw acked.
fn run_and_kill(path: &Path) -> BTreeSet<usize> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["child_writes_until_killed", "--exact", "--nocapture"])
        .env(CHILD, path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = channel();
    let lines = std::thread::spawn(move || {
        let mut acked = BTreeSet::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(n) = line.strip_prefix("acked ") {
                acked.insert(n.parse::<usize>().unwrap());
                let _ = tx.send(());
            }
        }
        acked
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the child acks a batch");
    std::thread::sleep(Duration::from_millis(rand::random_range(0..400)));
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success(), "killed, not finished: {status}");
    lines.join().unwrap()
}

#[test]
fn after_sigkill_every_acked_batch_is_there_and_none_in_part() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("toc.db");
    for round in 0..5 {
        let acked = run_and_kill(&path);
        assert!(!acked.is_empty());
        // Opens (recovering the WAL), then read.
        let (store, loaded) = Store::open(&path).unwrap();
        assert!(store.health().is_ok());
        drop(store);
        let reader = Reader::open(&path).unwrap();
        let incidents: BTreeSet<usize> = reader
            .incidents(Filter::All)
            .unwrap()
            .into_iter()
            .map(|(r, notes)| {
                assert_eq!(notes.len(), 1, "{}: its note, once", r.id);
                r.id.trim_start_matches("1-").parse().unwrap()
            })
            .collect();
        let audit: BTreeSet<usize> = reader
            .audit_since(store_fixtures::at(0))
            .unwrap()
            .iter()
            .map(|a| a.text.trim_start_matches("batch ").parse().unwrap())
            .collect();
        let missing: Vec<_> = acked.difference(&incidents).collect();
        assert!(
            missing.is_empty(),
            "round {round}: acked, not stored: {missing:?}"
        );
        assert_eq!(incidents, audit, "round {round}: a batch in part");
        assert_eq!(loaded.incidents.len(), incidents.len());
        eprintln!(
            "round {round}: {} acked, {} stored",
            acked.len(),
            incidents.len()
        );
        // Each round writes batches 0, 1, … again (upserts, and new notes
        // and audit rows): start the next from an empty store.
        for f in ["toc.db", "toc.db-wal", "toc.db-shm"] {
            let _ = std::fs::remove_file(dir.path().join(f));
        }
    }
}
