//! Every change of simulated state is audited with where it came from
//! (issue 12, point 5): the control API (`control API 127.0.0.1:PORT`),
//! scenario steps (`scenario FILE step N`) and the console (`console`),
//! in one `audit.log`; a control API change whose record cannot be
//! written is refused with a 503 and not made.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use toc::config::SourceFile;
use toc::engine::port::AuditAck;
use toc::runtime::Live;
use toc::runtime::audit::FileAudit;
use toc::sim::{self, Scenario, SimAudit, SimChange, SimHandle, SimOptions};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use support::disk::SmallDisk;
use support::engine::{fault, quick, small};

/// One HTTP/1.1 request on a socket of our own, so the test knows the
/// client address the audit record must name. Returns the client
/// address, the status and the JSON body.
async fn call(
    control: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (SocketAddr, u16, Value) {
    let mut s = TcpStream::connect(control).await.expect("connects");
    let local = s.local_addr().expect("local address");
    let body = body.unwrap_or("");
    let kind = if body.is_empty() {
        String::new()
    } else {
        "Content-Type: application/json\r\n".to_owned()
    };
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {control}\r\n{kind}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.expect("sent");
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
        .await
        .expect("answered in time")
        .expect("read");
    let text = String::from_utf8_lossy(&out);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status line");
    let json = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (local, status, json)
}

/// The records of `dir/audit.log`, one JSON value each.
fn records(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("audit.log"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect()
}

/// Waits until `dir/audit.log` holds at least `n` records.
async fn wait_records(dir: &Path, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = records(dir);
        if r.len() >= n || Instant::now() > deadline {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn start(audit: Arc<dyn SimAudit>, scenario: Option<Scenario>) -> SimHandle {
    sim::start(
        Arc::new(small()),
        SimOptions {
            ephemeral: true,
            scenario,
            audit: Some(audit),
            ..SimOptions::default()
        },
    )
    .await
    .expect("simulator starts")
}

#[tokio::test]
async fn control_api_changes_are_audited_with_the_client_address() {
    let dir = tempfile::tempdir().unwrap();
    let audit = Arc::new(FileAudit::open(dir.path()).unwrap());
    let sim = start(audit.clone(), None).await;
    let api = sim.control_addr();
    let (a, status, body) = call(
        api,
        "POST",
        "/faults",
        Some(r#"{"target":"STA-core","fault":"down","for":"30s"}"#),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // The record is on disk before the answer.
    let after_post = records(dir.path());
    assert_eq!(after_post.len(), 1, "{after_post:?}");
    let (_, status, _) = call(
        api,
        "POST",
        "/faults",
        Some(r#"{"target":"NOPE","fault":"down"}"#),
    )
    .await;
    assert_eq!(status, 400, "a refused request changes nothing");
    let (b, status, body) = call(api, "DELETE", "/faults/STA-core?kind=down", None).await;
    assert_eq!((status, &body["cleared"]), (200, &Value::from(1)));
    let (c, status, _) = call(api, "DELETE", "/faults", None).await;
    assert_eq!(status, 200);
    sim.shutdown().await;
    audit.close();
    let r = records(dir.path());
    let seen: Vec<(String, String, bool)> = r
        .iter()
        .map(|v| {
            (
                v["source"].as_str().unwrap().to_owned(),
                v["command"].as_str().unwrap().to_owned(),
                v["applied"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                format!("control API {a}"),
                "fault STA-core: down for 30s".to_owned(),
                true
            ),
            (
                format!("control API {b}"),
                "clear STA-core down".to_owned(),
                true
            ),
            (format!("control API {c}"), "clear all".to_owned(), true),
        ]
    );
    assert!(r[0]["at"].is_string() && r[0]["user"].is_null());
}

#[tokio::test]
async fn scenario_steps_are_audited_with_their_file_and_step() {
    let dir = tempfile::tempdir().unwrap();
    let audit = Arc::new(FileAudit::open(dir.path()).unwrap());
    let file = dir.path().join("s.toml");
    let text = "big_bang = true\nat = \"10ms\"\n\n[[step]]\nat = \"300ms\"\nclear = true\ntarget = \"STA-core\"\n\n[[step]]\nat = \"50ms\"\ntarget = \"STA-core\"\nfault = \"down\"\n";
    let scenario = Scenario::parse(&SourceFile::new(&file, text.to_owned()), &small())
        .expect("scenario parses");
    let sim = start(audit.clone(), Some(scenario)).await;
    let r = wait_records(dir.path(), 3).await;
    sim.shutdown().await;
    audit.close();
    let name = file.display();
    let seen: Vec<(&str, &str)> = r
        .iter()
        .map(|v| {
            (
                v["source"].as_str().unwrap(),
                v["command"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (format!("scenario {name}").as_str(), "big bang"),
            (
                format!("scenario {name} step 2").as_str(),
                "fault STA-core: down"
            ),
            (format!("scenario {name} step 1").as_str(), "clear STA-core"),
        ]
    );
}

/// An audit port whose writes all fail, as a full disk does.
#[derive(Debug)]
struct Broken;

impl SimAudit for Broken {
    fn append_change(&self, _: SimChange, ack: Option<AuditAck>) -> Result<(), String> {
        if let Some(ack) = ack {
            ack(Err("audit.log: No space left on device".to_owned()));
        }
        Ok(())
    }
}

#[tokio::test]
async fn what_cannot_be_recorded_is_not_done() {
    let file = PathBuf::from("s.toml");
    let text = "[[step]]\nat = \"0s\"\ntarget = \"STA-core\"\nfault = \"down\"\n";
    let scenario = Scenario::parse(&SourceFile::new(&file, text.to_owned()), &small())
        .expect("scenario parses");
    let sim = start(Arc::new(Broken), Some(scenario)).await;
    let mut events = sim.subscribe();
    let played = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("the step is played")
        .expect("an event");
    assert!(played.text.contains("not played"), "{}", played.text);
    let (_, status, body) = call(
        sim.control_addr(),
        "POST",
        "/faults",
        Some(r#"{"target":"STA-core","fault":"down"}"#),
    )
    .await;
    assert_eq!(status, 503, "{body}");
    let why = body["error"].as_str().unwrap();
    assert!(
        why.contains("audit log cannot be written") && why.contains("No space left"),
        "{why}"
    );
    let (_, status, _) = call(sim.control_addr(), "DELETE", "/faults", None).await;
    assert_eq!(status, 503);
    assert!(
        sim.state().active(Instant::now()).is_empty(),
        "nothing was changed"
    );
    sim.shutdown().await;
}

/// A real `audit.log` that cannot be written (a link to `/dev/full`):
/// runs everywhere, where the tmpfs test below needs root.
#[tokio::test]
async fn an_audit_log_on_a_full_device_refuses_control_api_changes() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/dev/full", dir.path().join("audit.log")).unwrap();
    let audit = Arc::new(FileAudit::open(dir.path()).unwrap());
    let sim = start(audit.clone(), None).await;
    let (_, status, body) = call(
        sim.control_addr(),
        "POST",
        "/faults",
        Some(r#"{"target":"STA-core","fault":"down"}"#),
    )
    .await;
    assert_eq!(status, 503, "{body}");
    let why = body["error"].as_str().unwrap();
    assert!(
        why.starts_with("refused: the audit log cannot be written (")
            && why.contains("audit.log")
            && why.ends_with("nothing was changed"),
        "{why}"
    );
    assert!(sim.state().active(Instant::now()).is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn on_a_full_disk_the_control_api_refuses_and_changes_nothing() {
    let Some(disk) = SmallDisk::mount() else {
        return;
    };
    let dir = disk.path().to_path_buf();
    let audit = Arc::new(FileAudit::open(&dir).unwrap());
    let sim = start(audit.clone(), None).await;
    let api = sim.control_addr();
    let filler = disk.fill();
    let (mut refused, mut applied) = (0, 0);
    for n in 0..40 {
        let (_, status, body) = if n % 2 == 0 {
            call(
                api,
                "POST",
                "/faults",
                Some(r#"{"target":"STA-core","fault":"down"}"#),
            )
            .await
        } else {
            call(api, "DELETE", "/faults/STA-core", None).await
        };
        if status == 503 {
            let why = body["error"].as_str().unwrap();
            assert!(
                why.contains("audit.log") && why.contains("nothing was changed"),
                "{why}"
            );
            refused += 1;
        } else {
            assert_eq!(status, 200, "{body}");
            applied += 1;
        }
    }
    assert!(
        refused > 0,
        "the disk was full: some change must be refused"
    );
    std::fs::remove_file(filler).unwrap();
    let (_, status, body) = call(api, "DELETE", "/faults", None).await;
    assert_eq!(status, 200, "room again: {body}");
    applied += 1;
    assert!(sim.state().active(Instant::now()).is_empty());
    sim.shutdown().await;
    audit.close();
    let r = records(&dir);
    assert!(r.iter().all(|v| v["applied"] == true), "{r:?}");
    assert_eq!(
        r.len(),
        applied,
        "every change answered 200 has its record ({refused} refused)"
    );
    assert_eq!(r.last().expect("records")["command"], "clear all");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_demo_the_console_and_the_control_api_share_one_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut tuning = quick(500);
    tuning.data_dir = Some(dir.path().to_path_buf());
    let live = Live::demo(small(), tuning).await.expect("demo starts");
    live.handle()
        .send(fault("STA-ovr-a", "down"))
        .await
        .expect("applied");
    let api = live.sim.as_ref().expect("a simulator").control_addr();
    let (peer, status, body) = call(
        api,
        "POST",
        "/faults",
        Some(r#"{"target":"STA-core","fault":"down"}"#),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    live.shutdown().await;
    let r = records(dir.path());
    let by = |source: &str| {
        r.iter()
            .filter(|v| v["source"] == source)
            .map(|v| v["command"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(by("console"), ["fault STA-ovr-a down"], "{r:?}");
    assert_eq!(
        by(&format!("control API {peer}")),
        ["fault STA-core: down"],
        "{r:?}"
    );
}

#[test]
fn toc_sim_writes_its_audit_log_in_its_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let venues = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/venues-small.toml");
    let mut child = Process::new(env!("CARGO_BIN_EXE_toc"))
        .arg("sim")
        .arg(venues)
        .args(["--control", "127.0.0.1:0", "--ephemeral", "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("toc sim starts");
    let out = child.stdout.take().expect("stdout");
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(out));
    let mut url = None;
    let mut audit = None;
    while audit.is_none() {
        let line = lines.next().expect("a line").expect("text");
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("control") {
            url = Some(rest.trim().to_owned());
        } else if let Some(rest) = line.strip_prefix("audit") {
            audit = Some(rest.trim().to_owned());
        }
    }
    std::thread::spawn(move || for _ in lines {});
    assert_eq!(
        audit.as_deref(),
        Some(dir.path().join("audit.log").to_str().unwrap())
    );
    let api: SocketAddr = url
        .as_deref()
        .and_then(|u| u.strip_prefix("http://"))
        .and_then(|u| u.strip_suffix("/faults"))
        .and_then(|u| u.parse().ok())
        .expect("control address");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (peer, status, _) = rt.block_on(call(
        api,
        "POST",
        "/faults",
        Some(r#"{"target":"STA-core","fault":"slow","value":"200ms"}"#),
    ));
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 200);
    let r = records(dir.path());
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0]["source"], format!("control API {peer}"));
    assert_eq!(r[0]["applied"], true);
}
