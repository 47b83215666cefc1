//! The simulator's control API against hostile clients, over real sockets
//! (issue 12, point 8): idle and slow connections are closed, connections
//! beyond the cap are refused while health endpoints keep answering, and
//! a web page cannot change faults (foreign `Origin`, non-JSON bodies).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;
use toc::config::Inventory;
use toc::sim::control::{HEADER_TIMEOUT, MAX_CONNECTIONS};
use toc::sim::{SimHandle, SimOptions};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const VENUES: &str = r#"
[event]
name = "Control Hardening Games"
poll_interval = "5s"
timeout = "1s"

[[venues]]
code = "AAA"
name = "Arena A"
city = "Paris"
sports = ["Judo"]

[[venues.devices]]
id = "AAA-ovr-a"
role = "test"
probe = "http://127.0.0.1:3/health/AAA-ovr-a"
"#;

struct Sim {
    _dir: TempDir,
    handle: SimHandle,
    health: String,
}

async fn start() -> Sim {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("venues.toml");
    std::fs::write(&path, VENUES).unwrap();
    let (inventory, _) = Inventory::load(&path).expect("test inventory is valid");
    let sim = toc::sim::start(
        Arc::new(inventory),
        SimOptions {
            ephemeral: true,
            ..SimOptions::default()
        },
    )
    .await
    .expect("sim starts");
    let remapped: &BTreeMap<SocketAddr, SocketAddr> = &sim.summary().remapped;
    let http = remapped
        .iter()
        .find(|(from, _)| from.port() == 3)
        .map(|(_, to)| *to)
        .expect("the health server is remapped");
    Sim {
        _dir: dir,
        health: format!("http://{http}/health/AAA-ovr-a"),
        handle: sim,
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

async fn faults(sim: &SimHandle) -> Vec<Value> {
    client()
        .get(format!("http://{}/faults", sim.control_addr()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

const DOWN: &str = r#"{"target":"AAA-ovr-a","fault":"down","for":"30s"}"#;

async fn post(sim: &SimHandle, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
    let mut req = client()
        .post(format!("http://{}/faults", sim.control_addr()))
        .body(body.to_owned());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_requests_are_refused_with_a_reason() {
    let s = start().await;
    let own = format!("http://{}", s.handle.control_addr());
    for (headers, status, needle) in [
        (vec![("content-type", "text/plain")], 415, "text/plain"),
        (
            vec![("content-type", "application/x-www-form-urlencoded")],
            415,
            "application/json",
        ),
        (vec![], 415, "got none"),
        (
            vec![
                ("content-type", "text/plain"),
                ("origin", "https://evil.example"),
            ],
            403,
            "evil.example",
        ),
        (
            vec![
                ("content-type", "application/json"),
                ("origin", "https://evil.example"),
            ],
            403,
            "not this control API",
        ),
        (
            vec![("content-type", "application/json"), ("origin", "null")],
            403,
            "`null`",
        ),
    ] {
        let (got, answer) = post(&s.handle, &headers, DOWN).await;
        assert_eq!(got, status, "{headers:?}: {answer}");
        let reason = answer["error"].as_str().unwrap_or_default();
        assert!(reason.contains(needle), "{headers:?}: {reason}");
    }
    // A foreign origin cannot clear or list either.
    let resp = client()
        .delete(format!("http://{}/faults", s.handle.control_addr()))
        .header("origin", "http://127.0.0.1:1")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    assert!(faults(&s.handle).await.is_empty(), "nothing was injected");

    // The API's own origin, and JSON with a charset, are fine.
    let (got, answer) = post(
        &s.handle,
        &[
            ("content-type", "application/json; charset=utf-8"),
            ("origin", &own),
        ],
        DOWN,
    )
    .await;
    assert_eq!(got, 200, "{answer}");
    assert_eq!(faults(&s.handle).await.len(), 1);
    // A DELETE without a body needs no type.
    let resp = client()
        .delete(format!("http://{}/faults", s.handle.control_addr()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(faults(&s.handle).await.is_empty());
}

/// Reads until the peer closes (`Ok(bytes)`) or `limit` passes (`Err`).
async fn read_to_close(stream: &mut TcpStream, limit: Duration) -> Result<Vec<u8>, Duration> {
    let mut out = Vec::new();
    let started = Instant::now();
    let read = tokio::time::timeout(limit, stream.read_to_end(&mut out)).await;
    match read {
        Ok(_) => Ok(out),
        Err(_) => Err(started.elapsed()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_slow_connections_are_closed() {
    let s = start().await;
    let addr = s.handle.control_addr();
    let limit = HEADER_TIMEOUT + Duration::from_secs(5);
    let started = Instant::now();
    // Silent from the start.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    // Half a request line, then nothing (slowloris).
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /faults HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // One whole request, then an idle keep-alive connection.
    let mut kept = TcpStream::connect(addr).await.unwrap();
    kept.write_all(b"GET /faults HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    for (name, stream) in [
        ("idle", &mut idle),
        ("slow", &mut slow),
        ("kept", &mut kept),
    ] {
        let got = read_to_close(stream, limit).await;
        let bytes = got.unwrap_or_else(|waited| panic!("{name}: still open after {waited:?}"));
        if name == "kept" {
            let text = String::from_utf8_lossy(&bytes);
            assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        }
    }
    assert!(
        started.elapsed() >= HEADER_TIMEOUT.saturating_sub(Duration::from_millis(500)),
        "closed before the timeout: {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_are_refused_and_health_keeps_answering() {
    let s = start().await;
    let addr = s.handle.control_addr();
    let mut held = Vec::new();
    for _ in 0..MAX_CONNECTIONS {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    // One more is answered 503 and closed at once.
    let mut extra = TcpStream::connect(addr).await.unwrap();
    let bytes = read_to_close(&mut extra, Duration::from_secs(3))
        .await
        .expect("the connection beyond the cap is closed at once");
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(text.contains("too many connections"), "{text}");
    // The simulated devices still answer.
    let resp = client().get(&s.health).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    // Once some go away, the API answers again.
    held.truncate(MAX_CONNECTIONS - 8);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let ok = client()
            .get(format!("http://{addr}/faults"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ok {
            break;
        }
        assert!(Instant::now() < deadline, "the API never came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(held);
}
