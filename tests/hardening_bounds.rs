//! Issue 12, bounds on time: a duration typed by a person or written in a
//! file can no longer overflow the clock. Each test was first run against
//! the code before the fix, where it failed as the issue says (a panic,
//! no answer, exit 101, a fault counted twice).
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use toc::engine::FaultKind;
use toc::runtime::Live;
use toc::sim::faults::{Action, Fault};

use support::engine::{all_ok, quick, small, wait_for};

/// The largest `u64` of seconds: overflowed `Instant + Duration` before.
const HUGE: &str = "18446744073709551615s";

fn venues() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/venues-small.toml")
}

fn toc() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_toc"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("TOC_SNMP_AUTH")
        .env_remove("TOC_SNMP_PRIV");
    c
}

/// `toc sim` on free loopback ports, killed when dropped.
struct Sim {
    child: Child,
    url: String,
    _data: tempfile::TempDir,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_sim() -> Sim {
    let data = tempfile::tempdir().unwrap();
    let mut child = toc()
        .arg("sim")
        .arg(venues())
        .args(["--control", "127.0.0.1:0", "--ephemeral", "--data-dir"])
        .arg(data.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("toc sim starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("toc sim prints its control address")
            .expect("a line");
        if let Some(rest) = line.trim().strip_prefix("control") {
            break rest.trim().to_owned();
        }
    };
    // Keep reading so the simulator never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Sim {
        child,
        url,
        _data: data,
    }
}

async fn post(url: &str, body: &Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(url)
        .json(body)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("the control API answers");
    (r.status().as_u16(), r.json().await.expect("JSON"))
}

async fn get(url: &str) -> Value {
    reqwest::get(url)
        .await
        .expect("answers")
        .json()
        .await
        .expect("JSON")
}

async fn delete(url: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .delete(url)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("answers");
    (r.status().as_u16(), r.json().await.expect("JSON"))
}

#[tokio::test]
async fn control_api_refuses_a_huge_for_and_keeps_the_fault_already_set() {
    let sim = start_sim();
    let (code, _) = post(&sim.url, &json!({"target":"STA-core","fault":"down"})).await;
    assert_eq!(code, 200);
    for huge in ["9300000000000000000s", HUGE, "31days"] {
        let (code, body) = post(
            &sim.url,
            &json!({"target":"STA-core","fault":"down","for":huge}),
        )
        .await;
        assert_eq!(code, 400, "{huge}: {body}");
        let err = body["error"].as_str().expect("a reason");
        assert!(err.contains("at most 30 days"), "{huge}: {err}");
    }
    let faults = get(&sim.url).await;
    assert_eq!(faults.as_array().map(Vec::len), Some(1), "{faults}");
    assert_eq!(faults[0]["target"], "STA-core");
    assert_eq!(faults[0]["seconds_left"], Value::Null);
    // And the simulator still serves: a bounded one is taken.
    let (code, body) = post(
        &sim.url,
        &json!({"target":"MRN-core","fault":"down","for":"30days"}),
    )
    .await;
    assert_eq!(code, 200, "{body}");
}

#[tokio::test]
async fn deleting_an_expired_fault_clears_nothing() {
    let sim = start_sim();
    let (code, _) = post(
        &sim.url,
        &json!({"target":"STA-core","fault":"down","for":"100ms"}),
    )
    .await;
    assert_eq!(code, 200);
    let (code, _) = post(
        &sim.url,
        &json!({"target":"STA","fault":"uplink-down","for":"100ms"}),
    )
    .await;
    assert_eq!(code, 200);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (code, body) = delete(&format!("{}/STA-core", sim.url)).await;
    assert_eq!((code, &body), (200, &json!({"cleared": 0})));
    let (_, body) = delete(&format!("{}/STA", sim.url)).await;
    assert_eq!(body, json!({"cleared": 0}));
    // One in force is counted.
    post(
        &sim.url,
        &json!({"target":"STA-core","fault":"down","for":"1m"}),
    )
    .await;
    let (_, body) = delete(&format!("{}/STA-core", sim.url)).await;
    assert_eq!(body, json!({"cleared": 1}));
    // Clearing everything counts only those in force too.
    post(
        &sim.url,
        &json!({"target":"MRN-core","fault":"down","for":"100ms"}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, body) = delete(&sim.url).await;
    assert_eq!(body, json!({"cleared": 0}));
}

fn sim_with_scenario(text: &str) -> (std::process::Output, tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scenario.toml");
    std::fs::write(&path, text).unwrap();
    let mut child = toc()
        .arg("sim")
        .arg(venues())
        .args(["--control", "127.0.0.1:0", "--ephemeral", "--data-dir"])
        .arg(dir.path())
        .arg("--scenario")
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A scenario refused exits at once; one accepted runs until killed.
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    (child.wait_with_output().unwrap(), dir, path)
}

#[test]
fn a_huge_big_bang_is_a_file_error_not_a_panic() {
    let (out, _dir, path) = sim_with_scenario(&format!("big_bang = true\nat = \"{HUGE}\"\n"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}:2:6: error: duration `{HUGE}` is too long: at most 30 days",
            path.display()
        )),
        "{stderr}"
    );
}

#[test]
fn a_huge_step_for_or_at_is_a_file_error_naming_its_place() {
    let text = format!(
        "[[step]]\nat = \"1s\"\ntarget = \"STA-core\"\nfault = \"down\"\nfor = \"{HUGE}\"\n\n\
         [[step]]\nat = \"9300000000000000000s\"\ntarget = \"MRN-core\"\nfault = \"down\"\n"
    );
    let (out, _dir, path) = sim_with_scenario(&text);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:5:7: error: duration", path.display())),
        "{stderr}"
    );
    assert!(stderr.contains("at most 30 days"), "{stderr}");
}

#[test]
fn console_fault_for_is_bounded_where_it_is_typed() {
    let err = toc::console::cmdline::parse(&format!("fault STA-core down for {HUGE}"), true)
        .expect_err("refused");
    assert!(err.contains("at most 30 days"), "{err}");
    let err =
        toc::console::cmdline::parse("fault STA-core down for 31d", true).expect_err("refused");
    assert!(err.contains("at most 30 days"), "{err}");
    assert!(toc::console::cmdline::parse("fault STA-core down for 30d", true).is_ok());
}

#[test]
fn the_simulator_refuses_an_unbounded_fault_before_changing_anything() {
    let state = toc::sim::SimState::new(&small());
    state
        .apply("STA-core", &Action::Fault(Fault::Down), None)
        .expect("set");
    let err = state
        .apply("STA-core", &Action::Fault(Fault::Down), Some(Duration::MAX))
        .expect_err("refused");
    assert!(err.contains("at most 30 days"), "{err}");
    let err = state
        .apply("STA", &Action::UplinkDown, Some(Duration::MAX))
        .expect_err("refused");
    assert!(err.contains("at most 30 days"), "{err}");
    let active = state.active(Instant::now());
    assert_eq!(active.len(), 1, "{active:?}");
    assert_eq!(active[0].target, "STA-core");
    assert_eq!(active[0].until, None);
}

/// The demo's path: the engine hands the fault to the simulator; a huge
/// `for` (from a remote console, past the command line) is refused and the
/// engine lives on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_engine_survives_a_huge_fault_duration() {
    let live = Live::demo(small(), quick(100)).await.expect("demo starts");
    let h = live.handle();
    wait_for(&h, Duration::from_secs(10), "all OK", all_ok).await;
    let reply = h
        .send(toc::engine::Command::fault(
            "STA-core",
            FaultKind::Down,
            Some(Duration::from_secs(u64::MAX)),
        ))
        .await;
    let text = format!("{reply:?}");
    assert!(reply.is_err(), "{text}");
    assert!(text.contains("at most 30 days"), "{text}");
    // Still alive: a bounded fault is applied.
    h.send(toc::engine::Command::fault(
        "STA-core",
        FaultKind::Down,
        Some(Duration::from_secs(60)),
    ))
    .await
    .expect("applied");
    live.shutdown().await;
}
