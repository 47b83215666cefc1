//! A step in flight when the engine stops is interrupted, and waits for
//! an operator: the real binary (`toc demo --no-console`, commands on its
//! standard input) runs a playbook whose wait step is in flight, is
//! killed with SIGKILL, and starts again on the same data folder; the
//! run comes back with that step interrupted and does not move on by
//! itself (its condition holds again), until `:retry`.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A playbook whose first step is a wait: in flight from the start.
const HOLD: &str = r#"
id = "hold"
title = "Wait for the pair"
[trigger]
kind = "redundancy_lost"
role = "core-switch"
[[steps]]
id = "pair-back"
title = "Wait for the pair to be whole"
kind = "wait"
group = "{group}"
until = "ok"
timeout = "30m"
[[steps]]
id = "record"
title = "Record it"
kind = "note"
text = "pair whole again"
"#;

fn setup(dir: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let venues = dir.join("venues.toml");
    std::fs::copy(root.join("venues.toml"), &venues).unwrap();
    std::fs::create_dir_all(dir.join("playbooks")).unwrap();
    std::fs::write(dir.join("playbooks").join("hold.toml"), HOLD).unwrap();
    venues
}

struct Demo {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
}

impl Demo {
    fn start(venues: &Path) -> Demo {
        let mut child = Command::new(env!("CARGO_BIN_EXE_toc"))
            .arg("demo")
            .arg(venues)
            .args(["--no-console", "--interval", "1000ms", "--timeout", "1s"])
            .env("USER", "dana")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("toc demo starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut demo = Demo {
            child,
            stdin,
            lines,
        };
        assert_eq!(demo.next(Duration::from_secs(60)), "ready");
        demo
    }

    fn next(&mut self, within: Duration) -> String {
        self.lines
            .recv_timeout(within)
            .unwrap_or_else(|e| panic!("toc demo answers within {within:?}: {e}"))
    }

    fn ask(&mut self, line: &str) -> String {
        writeln!(self.stdin, "{line}").expect("write a command");
        self.stdin.flush().expect("flush");
        self.next(Duration::from_secs(20))
    }
}

/// The newest run of the incident about `subject`, from the store.
fn run_of(venues: &Path, subject: &str) -> Option<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_toc"))
        .arg("incidents")
        .arg(venues)
        .args(["--all", "--json"])
        .output()
        .expect("toc incidents runs");
    assert!(out.status.success(), "toc incidents: {out:?}");
    let list: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    list.as_array()?
        .iter()
        .filter(|i| i["subject"] == subject)
        .filter_map(|i| i["runs"].as_array().and_then(|r| r.last().cloned()))
        .next_back()
}

fn wait_run(venues: &Path, within: Duration, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let run = run_of(venues, "STA-core");
        if let Some(run) = run.as_ref().filter(|r| pred(r)) {
            return run.clone();
        }
        assert!(
            Instant::now() < deadline,
            "not within {within:?}: {what}; {run:#?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn first_step(run: &Value) -> String {
    run["steps"][0]["state"].as_str().unwrap_or("").to_owned()
}

#[test]
fn a_step_in_flight_at_a_kill_is_interrupted_and_waits_for_an_operator() {
    let dir = tempfile::tempdir().unwrap();
    let venues = setup(dir.path());
    let mut demo = Demo::start(&venues);
    let answer = demo.ask(":fault STA-core-a down");
    assert!(answer.starts_with("applied:"), "{answer}");
    // The pair's incident opens; the playbook runs on it.
    let deadline = Instant::now() + Duration::from_secs(60);
    let started = loop {
        let answer = demo.ask(":run hold on group:STA-core");
        if answer.starts_with("applied:") {
            break answer;
        }
        assert!(Instant::now() < deadline, "the run never started: {answer}");
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(started.contains("run playbook hold"), "{started}");
    let run = wait_run(
        &venues,
        Duration::from_secs(20),
        "the wait in flight",
        |r| first_step(r) == "running",
    );
    let id = run["id"].as_str().unwrap().to_owned();
    demo.child.kill().expect("SIGKILL");
    demo.child.wait().expect("reaped");

    // Again on the same folder: the simulator's fault is gone with the
    // killed process, so the pair is whole again, but the step stays
    // interrupted until an operator decides.
    let mut demo = Demo::start(&venues);
    let run = wait_run(
        &venues,
        Duration::from_secs(20),
        "the step interrupted",
        |r| first_step(r) == "interrupted",
    );
    assert_eq!(run["id"], id.as_str());
    assert_eq!(run["state"], "running");
    std::thread::sleep(Duration::from_secs(5));
    let still = run_of(&venues, "STA-core").unwrap();
    assert_eq!(first_step(&still), "interrupted", "{still:#}");
    let answer = demo.ask(":retry");
    assert!(answer.starts_with("applied:"), "{answer}");
    let done = wait_run(
        &venues,
        Duration::from_secs(60),
        "the run done after the retry",
        |r| r["state"] == "done",
    );
    assert_eq!(done["steps"][1]["state"], "done", "{done:#}");
    // The timeline says what happened.
    let store = toc::store::Reader::open(&dir.path().join("toc-data").join("toc.db")).unwrap();
    let (_, timeline) = store
        .incident("group:STA-core")
        .unwrap()
        .expect("the incident");
    let texts: Vec<&str> = timeline.iter().map(|e| e.text.as_str()).collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("was in flight when the engine stopped: interrupted")),
        "{texts:#?}"
    );
    assert!(
        texts.iter().any(|t| t.contains("pair-back: retry")),
        "{texts:#?}"
    );
    drop(demo.stdin);
    let status = demo.child.wait().expect("exits");
    assert!(status.success(), "{status:?}");
}
