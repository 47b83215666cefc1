//! The TCP probe against real sockets on 127.0.0.1: an open port, a closed
//! port, a black hole that never answers, a name that does not resolve and
//! a device that is not TCP at all.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::io::Write as _;
use std::time::{Duration, Instant};

use toc::config::Inventory;
use toc::config::venues::Device;
use toc::model::CheckResult;
use toc::probe::Probe as _;
use toc::probe::tcp::TcpProbe;

/// Loads one device with this probe URL and per-device timeout.
fn device(probe: &str, timeout: &str) -> Device {
    let text = format!(
        r#"
[event]
name = "TCP probe tests"
poll_interval = "5s"
timeout = "1s"
retries = 0
max_attempts = 3

[[venues]]
code = "TST"
name = "Test venue"
city = "Loopback"
sports = ["Testing"]

[[venues.devices]]
id = "TST-dev"
role = "timing-link"
probe = "{probe}"
timeout = "{timeout}"
"#
    );
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    let (inv, _warnings) = Inventory::load(file.path())
        .unwrap_or_else(|d| panic!("{}", toc::config::diag::render(&d)));
    inv.devices.into_iter().next().unwrap()
}

fn fail_reason(result: &CheckResult) -> &str {
    match result {
        CheckResult::Fail(reason) => reason,
        other => panic!("expected a Fail, got {other:?}"),
    }
}

#[tokio::test]
async fn an_open_port_is_ok_with_its_connect_time() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let dev = device(&format!("tcp://127.0.0.1:{port}"), "1s");

    let outcome = TcpProbe::new(1).check(&dev).await;

    assert_eq!(outcome.result, CheckResult::Ok);
    let latency = outcome.latency.expect("an answer has a latency");
    assert!(latency < Duration::from_secs(1), "{latency:?}");
    let reading = outcome
        .readings
        .iter()
        .find(|r| r.name == "tcp.connect_ms")
        .expect("tcp.connect_ms reading");
    let ms: f64 = reading.value.parse().expect("a number of milliseconds");
    assert!((0.0..1000.0).contains(&ms), "{ms}");
    assert!(
        outcome.notes.is_empty(),
        "first attempt: {:?}",
        outcome.notes
    );
}

#[tokio::test]
async fn localhost_resolves_and_connects() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let dev = device(&format!("tcp://localhost:{port}"), "1s");

    let outcome = TcpProbe::new(0).check(&dev).await;

    assert_eq!(outcome.result, CheckResult::Ok, "{outcome:?}");
}

#[tokio::test]
async fn a_closed_port_is_refused() {
    // A port held but not listening: refused, and no other program can
    // take it while the test runs (a port let go could be).
    let held = tokio::net::TcpSocket::new_v4().unwrap();
    held.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = held.local_addr().unwrap().port();
    let dev = device(&format!("tcp://127.0.0.1:{port}"), "1s");

    let outcome = TcpProbe::new(1).check(&dev).await;

    assert_eq!(fail_reason(&outcome.result), "connection refused");
    assert_eq!(outcome.latency, None);
}

#[tokio::test]
async fn a_black_hole_times_out_after_every_attempt() {
    let (addr, _hole) = support::tcp_black_hole();
    let dev = device(&format!("tcp://{addr}"), "300ms");

    let start = Instant::now();
    let outcome = TcpProbe::new(1).check(&dev).await;
    let took = start.elapsed();

    assert_eq!(
        fail_reason(&outcome.result),
        "timed out after 300ms (2 attempts)"
    );
    assert!(
        took >= Duration::from_millis(600),
        "gave up early: {took:?}"
    );
    assert!(
        took < Duration::from_millis(600) + Duration::from_secs(2),
        "did not give up in time: {took:?}"
    );
}

#[tokio::test]
async fn one_attempt_is_singular() {
    let (addr, _hole) = support::tcp_black_hole();
    let dev = device(&format!("tcp://{addr}"), "100ms");

    let outcome = TcpProbe::new(0).check(&dev).await;

    assert_eq!(
        fail_reason(&outcome.result),
        "timed out after 100ms (1 attempt)"
    );
}

#[tokio::test]
async fn an_unknown_name_cannot_resolve() {
    let dev = device("tcp://no-such-host.invalid:5000", "1s");

    let outcome = TcpProbe::new(0).check(&dev).await;

    // A resolver that answers says "no such name"; one that never answers
    // runs into the timeout. Either way the reason names the lookup.
    let reason = fail_reason(&outcome.result);
    assert!(
        reason == "cannot resolve no-such-host.invalid"
            || reason == "cannot resolve no-such-host.invalid: no answer within 1s",
        "{reason}"
    );
}

#[tokio::test]
async fn a_device_that_is_not_tcp_is_unknown() {
    let dev = device("http://127.0.0.1:9/health", "1s");

    let outcome = TcpProbe::new(0).check(&dev).await;

    assert_eq!(
        outcome.result,
        CheckResult::Unknown("not a TCP device".to_owned())
    );
}
