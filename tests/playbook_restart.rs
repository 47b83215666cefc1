//! A step in flight when the engine stops is interrupted, and waits for
//! an operator: the real binary (`toc demo --no-console`, commands on its
//! standard input) runs a playbook whose wait step is in flight, is
//! killed with SIGKILL, and starts again on the same data folder; the
//! run comes back with that step interrupted and does not move on by
//! itself (its condition holds again), until `:retry`.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::headless::Demo;

mod support;

const ARGS: &[&str] = &["--interval", "1000ms", "--timeout", "1s"];

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
    let mut demo = Demo::start(&venues, ARGS);
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
    let mut demo = Demo::start(&venues, ARGS);
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
