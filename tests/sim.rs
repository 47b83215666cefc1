//! The venue simulator over real sockets: HTTP health endpoints, TCP
//! listeners and UDP agents on ports from the OS, the control API, the
//! scenario runner and the `toc sim` binary.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener as StdTcpListener, UdpSocket as StdUdpSocket};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use serde_json::{Value, json};
use tempfile::TempDir;
use toc::config::venues::{ProbeTarget, Profile, Secret};
use toc::config::{Inventory, SourceFile};
use toc::model::CheckResult;
use toc::probe::Probe as _;
use toc::probe::any::AnyProbe;
use toc::sim::faults::Fault;
use toc::sim::{Scenario, SimError, SimHandle, SimOptions};
use tokio::net::TcpStream;

/// The only address tests bind, always on port 0 (a port from the
/// system), so they pass beside a running `toc demo` or `toc sim`.
const HOST: &str = "127.0.0.1";

const HEADER: &str = r#"
[event]
name = "Simulator Test Games"
poll_interval = "5s"
timeout = "1s"

[event.slo]
commentators = "350ms"

[profiles.venue-v2c]
version = "v2c"
community = "toc-demo"
"#;

fn device(out: &mut String, id: &str, probe: &str) {
    write!(
        out,
        "\n[[venues.devices]]\nid = \"{id}\"\nrole = \"test\"\nprobe = \"{probe}\"\n"
    )
    .unwrap();
    if probe.starts_with("snmp") {
        writeln!(out, "profile = \"venue-v2c\"\ncontext = \"{id}\"").unwrap();
    }
}

/// The ports of the test inventory.
#[derive(Debug, Clone, Copy)]
struct Ports {
    snmp_a: u16,
    snmp_b: u16,
    http_a: u16,
    http_b: u16,
    tcp_a: u16,
    tcp_b: u16,
}

impl Ports {
    /// The ports written in the file of an ephemeral run: never bound (the
    /// simulator serves each on a port from the system).
    const FILE: Ports = Ports {
        snmp_a: 1,
        snmp_b: 2,
        http_a: 3,
        http_b: 4,
        tcp_a: 5,
        tcp_b: 6,
    };

    /// Where an ephemeral simulator serves the addresses of [`Ports::FILE`].
    fn served(self, remapped: &BTreeMap<SocketAddr, SocketAddr>) -> Ports {
        let at = |port: u16| {
            let from = SocketAddr::new(HOST.parse().unwrap(), port);
            remapped
                .get(&from)
                .unwrap_or_else(|| panic!("{from} is not served: {remapped:?}"))
                .port()
        };
        Ports {
            snmp_a: at(self.snmp_a),
            snmp_b: at(self.snmp_b),
            http_a: at(self.http_a),
            http_b: at(self.http_b),
            tcp_a: at(self.tcp_a),
            tcp_b: at(self.tcp_b),
        }
    }
}

/// Two venues, AAA and BBB, each with an SNMP agent, HTTP health and a
/// TCP device; plus one device that is not on loopback. BBB names its
/// SNMP and HTTP addresses by host name.
fn venues_toml(p: Ports) -> String {
    let (host, named) = (HOST, "localhost");
    let mut s = HEADER.to_owned();
    s.push_str(
        "\n[[venues]]\ncode = \"AAA\"\nname = \"Arena A\"\ncity = \"Paris\"\nsports = [\"Judo\"]\n",
    );
    device(&mut s, "AAA-rtr", &format!("snmp://{host}:{}", p.snmp_a));
    device(&mut s, "AAA-core", &format!("snmp://{host}:{}", p.snmp_a));
    for id in ["AAA-ovr-a", "AAA-ovr-b"] {
        device(
            &mut s,
            id,
            &format!("http://{host}:{}/health/{id}", p.http_a),
        );
    }
    device(&mut s, "AAA-timing", &format!("tcp://{host}:{}", p.tcp_a));
    device(&mut s, "AAA-remote", "tcp://10.255.255.1:9");
    s.push_str("\n[[venues]]\ncode = \"BBB\"\nname = \"Bowl B\"\ncity = \"Lyon\"\nsports = [\"Football\"]\n");
    device(&mut s, "BBB-rtr", &format!("snmp://{named}:{}", p.snmp_b));
    device(
        &mut s,
        "BBB-ovr",
        &format!("http://{named}:{}/health/BBB-ovr", p.http_b),
    );
    device(&mut s, "BBB-timing", &format!("tcp://{host}:{}", p.tcp_b));
    s
}

/// The test inventory in a temporary folder, for an ephemeral simulator
/// ([`Fixture::start`]): `ports` are the file's (never bound) until it
/// starts, then where it serves.
struct Fixture {
    dir: TempDir,
    ports: Ports,
    inventory: Arc<Inventory>,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("venues.toml");
        std::fs::write(&path, venues_toml(Ports::FILE)).unwrap();
        let (inventory, _) = Inventory::load(&path).expect("test inventory is valid");
        Self {
            dir,
            ports: Ports::FILE,
            inventory: Arc::new(inventory),
        }
    }

    fn venues(&self) -> std::path::PathBuf {
        self.dir.path().join("venues.toml")
    }

    fn scenario(&self, text: &str) -> Scenario {
        let path = self.dir.path().join("scenario.toml");
        std::fs::write(&path, text).unwrap();
        Scenario::load(&path, &self.inventory).expect("scenario is valid")
    }

    /// Starts the simulator, every address on a port from the system;
    /// `ports` then say where it serves.
    async fn start(&mut self, scenario: Option<Scenario>) -> SimHandle {
        let sim = toc::sim::start(
            Arc::clone(&self.inventory),
            SimOptions {
                scenario,
                ephemeral: true,
                ..SimOptions::default()
            },
        )
        .await
        .expect("sim starts");
        self.ports = Ports::FILE.served(&sim.summary().remapped);
        sim
    }

    fn health_url(&self, id: &str) -> String {
        let port = if id.starts_with("AAA") {
            self.ports.http_a
        } else {
            self.ports.http_b
        };
        format!("http://{HOST}:{port}/health/{id}")
    }
}

fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .unwrap()
}

/// GETs a health URL: `Ok((status, body))`, or `Err` naming the failure.
async fn health(url: &str, timeout: Duration) -> Result<(u16, Value), String> {
    let resp = client(timeout).get(url).send().await.map_err(|e| {
        if e.is_timeout() {
            "timeout".to_owned()
        } else {
            e.to_string()
        }
    })?;
    let status = resp.status().as_u16();
    let body = resp.json::<Value>().await.unwrap_or(Value::Null);
    Ok((status, body))
}

/// Connects to a TCP port: `Ok`, `Err("timeout")` or `Err(<io error>)`.
async fn connect(port: u16) -> Result<(), String> {
    match tokio::time::timeout(
        Duration::from_millis(600),
        TcpStream::connect(("127.0.0.1", port)),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timeout".to_owned()),
    }
}

/// Polls `check` until it holds, for at most `within`.
async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() > end {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The next simulator event, failing the test after a generous wait.
async fn next(
    events: &mut tokio::sync::broadcast::Receiver<toc::sim::SimEvent>,
) -> toc::sim::SimEvent {
    tokio::time::timeout(Duration::from_secs(30), events.recv())
        .await
        .expect("an event within 30s")
        .expect("event channel open")
}

const QUICK: Duration = Duration::from_secs(5);
const SHORT: Duration = Duration::from_millis(700);

/// `port` on [`HOST`].
fn local(port: u16) -> SocketAddr {
    SocketAddr::new(HOST.parse().unwrap(), port)
}

/// How a UDP port answers a datagram from a socket of our own (on a port
/// from the system): `Ok(bytes)`, or the error of the receive (refused
/// when nothing listens there).
fn udp_exchange(to: SocketAddr, payload: &[u8]) -> std::io::Result<usize> {
    let socket = StdUdpSocket::bind((HOST, 0))?;
    socket.set_read_timeout(Some(QUICK))?;
    socket.connect(to)?;
    socket.send(payload)?;
    socket.recv(&mut [0_u8; 1500])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_every_loopback_device_and_skips_the_rest() {
    let mut f = Fixture::new();
    let sim = f.start(None).await;
    let s = sim.summary().clone();
    assert_eq!((s.snmp_ports, s.snmp_devices), (2, 3));
    assert_eq!((s.http_ports, s.http_devices), (2, 3));
    assert_eq!((s.tcp_listeners, s.tcp_devices), (2, 2));
    assert_eq!(s.devices_served, 8);
    assert_eq!(s.skipped.len(), 1);
    assert_eq!(s.skipped[0].device, "AAA-remote");
    assert!(s.skipped[0].reason.contains("not a loopback"), "{s:?}");
    // Every loopback address of the file (host names included) and
    // nothing else is served, each on a port from the system.
    let file: BTreeSet<SocketAddr> = (1..=6).map(local).collect();
    assert_eq!(s.remapped.keys().copied().collect::<BTreeSet<_>>(), file);
    for (from, to) in &s.remapped {
        assert_eq!(to.ip(), from.ip(), "{from} -> {to}");
        assert!(to.port() > 6, "{from} -> {to}");
    }
    // Every device served answers through the addresses served: the SNMP
    // agents (both ports), health endpoints and TCP listeners.
    let served = sim.inventory();
    let all: Vec<usize> = (0..served.devices.len())
        .filter(|&i| served.devices[i].id != "AAA-remote")
        .collect();
    let results = check(&served, &all).await;
    assert_eq!(results.len(), 8);
    assert!(not_ok(&results).is_empty(), "{results:?}");
    let (snmp, http, tcp) = (
        local(f.ports.snmp_a),
        local(f.ports.http_a),
        local(f.ports.tcp_a),
    );
    sim.shutdown().await;
    // And every socket is let go on shutdown: nothing listens any more
    // (connects and datagrams are refused; nothing here binds them).
    for addr in [http, tcp] {
        let err = std::net::TcpStream::connect_timeout(&addr, QUICK).expect_err("closed");
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{addr}");
    }
    let err = udp_exchange(snmp, b"\x30\x00").expect_err("closed");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{snmp}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthy_device_answers_ok_with_json() {
    let mut f = Fixture::new();
    let _sim = f.start(None).await;
    for id in ["AAA-ovr-a", "AAA-ovr-b", "BBB-ovr"] {
        let (status, body) = health(&f.health_url(id), QUICK).await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(body["status"], "ok", "{body}");
        assert_eq!(body["device"], id);
        // The simulated boxes have been up for an hour or more.
        assert!(body["uptime_s"].as_u64().unwrap() >= 3600, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_device_is_404() {
    let mut f = Fixture::new();
    let _sim = f.start(None).await;
    let (status, _) = health(&f.health_url("AAA-nope"), QUICK).await.unwrap();
    assert_eq!(status, 404);
    // A device of another port is unknown on this one.
    let url = format!("http://127.0.0.1:{}/health/BBB-ovr", f.ports.http_a);
    assert_eq!(health(&url, QUICK).await.unwrap().0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_fail_is_401_and_high_cpu_is_degraded() {
    let mut f = Fixture::new();
    let sim = f.start(None).await;
    let state = sim.state();
    state.set("AAA-ovr-a", Fault::AuthFail, None).unwrap();
    state.set("AAA-ovr-b", Fault::CpuHigh(95), None).unwrap();
    let (status, _) = health(&f.health_url("AAA-ovr-a"), QUICK).await.unwrap();
    assert_eq!(status, 401);
    let (status, body) = health(&f.health_url("AAA-ovr-b"), QUICK).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(body["status"], "degraded", "{body}");
    assert_eq!(body["cpu_percent"], 95);
    state.clear_all();
    let (status, body) = health(&f.health_url("AAA-ovr-b"), QUICK).await.unwrap();
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_device_answers_after_its_delay() {
    let mut f = Fixture::new();
    let sim = f.start(None).await;
    sim.state()
        .set("BBB-ovr", Fault::Slow(Duration::from_millis(800)), None)
        .unwrap();
    let t = Instant::now();
    let (status, body) = health(&f.health_url("BBB-ovr"), QUICK).await.unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(800),
        "{:?}",
        t.elapsed()
    );
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    // A client with a shorter timeout gives up.
    assert_eq!(
        health(&f.health_url("BBB-ovr"), Duration::from_millis(300)).await,
        Err("timeout".to_owned())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_device_never_answers() {
    let mut f = Fixture::new();
    let sim = f.start(None).await;
    sim.state().set("AAA-ovr-a", Fault::Down, None).unwrap();
    assert_eq!(
        health(&f.health_url("AAA-ovr-a"), SHORT).await,
        Err("timeout".to_owned())
    );
    // Its neighbour on the same port still answers.
    assert_eq!(
        health(&f.health_url("AAA-ovr-b"), QUICK).await.unwrap().0,
        200
    );
    sim.state().clear("AAA-ovr-a", Some("down")).unwrap();
    assert_eq!(
        health(&f.health_url("AAA-ovr-a"), QUICK).await.unwrap().0,
        200
    );
}

/// A silent device holds a request only a little longer than the
/// device's probe timeout (1 s here, so 3 s), not for minutes: requests a
/// prober has given up on do not pile up in the simulator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_device_lets_go_of_a_request_soon_after_its_timeout() {
    let mut f = Fixture::new();
    let sim = f.start(None).await;
    sim.state().set("AAA-ovr-a", Fault::Down, None).unwrap();
    let started = std::time::Instant::now();
    let answer = health(&f.health_url("AAA-ovr-a"), Duration::from_secs(60)).await;
    let held = started.elapsed();
    assert_eq!(answer.map(|(status, _)| status), Ok(503));
    assert!(
        held >= Duration::from_secs(3),
        "held {held:?}: past the timeout"
    );
    assert!(
        held < Duration::from_secs(30),
        "held {held:?}: not for minutes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_connects_time_out_while_down_and_succeed_again_after_clear() {
    let mut f = Fixture::new();
    let sim = f.start(None).await;
    let port = f.ports.tcp_a;
    assert_eq!(connect(port).await, Ok(()));
    sim.state().set("AAA-timing", Fault::Down, None).unwrap();
    // Wait for a timeout, not any error: while the listener is swapped
    // for the plug, a connect is refused for a moment, and one may get in
    // before the plug's queue is full.
    assert!(
        eventually(QUICK, || async {
            connect(port).await == Err("timeout".to_owned())
        })
        .await,
        "connects still succeed while the device is down"
    );
    // As with a dead box: no answer at all, not a refusal.
    for _ in 0..3 {
        assert_eq!(connect(port).await, Err("timeout".to_owned()));
    }
    // The other venue's timing link is unaffected.
    assert_eq!(connect(f.ports.tcp_b).await, Ok(()));
    sim.state().clear("AAA-timing", None).unwrap();
    assert!(
        eventually(QUICK, || async { connect(port).await.is_ok() }).await,
        "connects still fail after the fault was cleared"
    );
}

/// A TCP device going down and up again never lets go of its port: a
/// program binding the same port all the while (as another simulator or
/// an ephemeral bind on a busy machine would) never gets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tcp_device_keeps_its_port_while_it_goes_down_and_up() {
    let mut f = Fixture::new();
    let sim = f.start(None).await;
    let port = f.ports.tcp_a;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let thief = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut tries = 0_u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                tries += 1;
                if let Ok(l) = StdTcpListener::bind((HOST, port)) {
                    return Err(format!("took the port after {tries} tries: {l:?}"));
                }
            }
            Ok(tries)
        })
    };
    for _ in 0..3 {
        sim.state().set("AAA-timing", Fault::Down, None).unwrap();
        assert!(
            eventually(QUICK, || async {
                connect(port).await == Err("timeout".to_owned())
            })
            .await,
            "connects still succeed while the device is down"
        );
        sim.state().clear("AAA-timing", None).unwrap();
        assert!(
            eventually(QUICK, || async { connect(port).await.is_ok() }).await,
            "connects still fail after the fault was cleared"
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let tries = thief.join().unwrap();
    assert!(tries.is_ok(), "{tries:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uplink_down_silences_one_venue_and_not_the_other() {
    let mut f = Fixture::new();
    let sim = f.start(None).await;
    sim.state().uplink_down("AAA", None).unwrap();
    assert_eq!(
        health(&f.health_url("AAA-ovr-a"), SHORT).await,
        Err("timeout".to_owned())
    );
    assert_eq!(
        health(&f.health_url("AAA-ovr-b"), SHORT).await,
        Err("timeout".to_owned())
    );
    assert!(eventually(QUICK, || async { connect(f.ports.tcp_a).await.is_err() }).await);
    assert_eq!(
        health(&f.health_url("BBB-ovr"), QUICK).await.unwrap().0,
        200
    );
    assert_eq!(connect(f.ports.tcp_b).await, Ok(()));
}

async fn post(sim: &SimHandle, body: &Value) -> (u16, Value) {
    let resp = client(QUICK)
        .post(format!("http://{}/faults", sim.control_addr()))
        .json(body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

async fn faults(sim: &SimHandle) -> Vec<Value> {
    client(QUICK)
        .get(format!("http://{}/faults", sim.control_addr()))
        .send()
        .await
        .unwrap()
        .json::<Vec<Value>>()
        .await
        .unwrap()
}

async fn delete(sim: &SimHandle, path: &str) -> (u16, Value) {
    let resp = client(QUICK)
        .delete(format!("http://{}{path}", sim.control_addr()))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_api_round_trip() {
    let mut f = Fixture::new();
    let sim = f.start(None).await;
    let mut events = sim.subscribe();
    assert!(sim.control_addr().ip().is_loopback());
    assert!(faults(&sim).await.is_empty());

    let (status, body) = post(
        &sim,
        &json!({"target": "AAA-ovr-a", "fault": "down", "for": "30s"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["applied"], "AAA-ovr-a: down for 30s");
    assert_eq!(
        next(&mut events).await.text,
        "control: AAA-ovr-a: down for 30s"
    );
    let (status, _) = post(
        &sim,
        &json!({"target": "AAA-ovr-a", "fault": "cpu-high", "value": 97}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = post(&sim, &json!({"target": "BBB", "fault": "uplink-down"})).await;
    assert_eq!(status, 200);

    let list = faults(&sim).await;
    assert_eq!(list.len(), 3, "{list:?}");
    let down = list
        .iter()
        .find(|f| f["kind"] == "down")
        .expect("down listed");
    assert_eq!(down["target"], "AAA-ovr-a");
    let left = down["seconds_left"].as_u64().unwrap();
    assert!((1..=30).contains(&left), "{down}");
    let uplink = list.iter().find(|f| f["target"] == "BBB").unwrap();
    assert_eq!(uplink["kind"], "uplink-down");
    assert!(uplink["seconds_left"].is_null());
    // The faults act on the endpoints.
    assert_eq!(
        health(&f.health_url("BBB-ovr"), SHORT).await,
        Err("timeout".to_owned())
    );

    let (status, body) = delete(&sim, "/faults/AAA-ovr-a?kind=down").await;
    assert_eq!((status, body["cleared"].as_u64()), (200, Some(1)));
    let kinds: Vec<String> = faults(&sim)
        .await
        .iter()
        .map(|f| f["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["uplink-down", "cpu-high"]);
    let (status, body) = delete(&sim, "/faults").await;
    assert_eq!((status, body["cleared"].as_u64()), (200, Some(2)));
    assert!(faults(&sim).await.is_empty());
    assert_eq!(
        health(&f.health_url("BBB-ovr"), QUICK).await.unwrap().0,
        200
    );

    // A reboot restarts the uptime.
    let (status, _) = post(&sim, &json!({"target": "BBB-ovr", "fault": "reboot"})).await;
    assert_eq!(status, 200);
    let (_, body) = health(&f.health_url("BBB-ovr"), QUICK).await.unwrap();
    assert!(body["uptime_s"].as_u64().unwrap() < 600, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_api_refuses_bad_input_with_a_reason() {
    let mut f = Fixture::new();
    let sim = f.start(None).await;
    for (body, needle) in [
        (
            json!({"target": "nope", "fault": "down"}),
            "no device called `nope`",
        ),
        (
            json!({"target": "AAA-ovr-a", "fault": "melt"}),
            "unknown fault `melt`",
        ),
        (
            json!({"target": "AAA-ovr-a", "fault": "slow", "value": "fast"}),
            "invalid duration",
        ),
        (
            json!({"target": "AAA-ovr-a", "fault": "cpu-high", "value": "150"}),
            "0 to 100",
        ),
        (
            json!({"target": "AAA-ovr-a", "fault": "down", "for": "30"}),
            "needs a unit",
        ),
        (
            json!({"target": "AAA-ovr-a", "fault": "reboot", "for": "30s"}),
            "takes no `for`",
        ),
        (
            json!({"target": "AAA-ovr-a", "fault": "uplink-down"}),
            "venue code",
        ),
        (json!({"target": "AAA", "fault": "down"}), "is a venue"),
        (
            json!({"target": "AAA-ovr-a", "fault": "down", "colour": "red"}),
            "unknown field `colour`",
        ),
        (json!({"fault": "down"}), "missing field `target`"),
    ] {
        let (status, answer) = post(&sim, &body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        let reason = answer["error"].as_str().unwrap();
        assert!(reason.contains(needle), "{body}: {reason}");
    }
    let resp = client(QUICK)
        .post(format!("http://{}/faults", sim.control_addr()))
        .header("content-type", "application/json")
        .body("down AAA-ovr-a")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let (status, answer) = delete(&sim, "/faults/nope").await;
    assert_eq!(status, 400);
    assert!(answer["error"].as_str().unwrap().contains("nope"));
    let (status, answer) = delete(&sim, "/faults/AAA-ovr-a?kind=melt").await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("unknown fault kind")
    );
    assert!(faults(&sim).await.is_empty(), "bad input changed nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_api_binds_loopback_only() {
    let f = Fixture::new();
    let err = toc::sim::start(
        Arc::clone(&f.inventory),
        SimOptions {
            // Refused before anything is bound.
            control: "0.0.0.0:0".parse().unwrap(),
            ..SimOptions::default()
        },
    )
    .await
    .expect_err("not loopback");
    assert!(matches!(err, SimError::ControlNotLoopback(_)));
    assert!(err.to_string().contains("not a loopback address"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_applies_a_timed_fault_then_clears_it() {
    let mut f = Fixture::new();
    let scenario = f.scenario(
        r#"
description = "lose one OVR server for a while"

[[step]]
at = "400ms"
target = "AAA-ovr-a"
fault = "down"
note = "primary OVR lost"

[[step]]
at = "1500ms"
target = "AAA-timing"
fault = "down"
for = "1s"

[[step]]
at = "3s"
clear = true
target = "AAA-ovr-a"
"#,
    );
    let sim = f.start(Some(scenario)).await;
    let mut events = sim.subscribe();
    let url = f.health_url("AAA-ovr-a");
    let first = next(&mut events).await;
    assert_eq!(first.text, "scenario: AAA-ovr-a: down (primary OVR lost)");
    assert!(first.at >= Duration::from_millis(400), "{first:?}");
    // Down now (unless the machine is so slow the clear already ran).
    let cleared_at = sim.started() + Duration::from_secs(3);
    let r = health(&url, SHORT).await;
    if Instant::now() < cleared_at {
        assert_eq!(r, Err("timeout".to_owned()));
    }
    let texts: Vec<String> = [next(&mut events).await, next(&mut events).await]
        .into_iter()
        .map(|e| e.text)
        .collect();
    assert_eq!(
        texts,
        [
            "scenario: AAA-timing: down for 1s",
            "scenario: AAA-ovr-a: cleared (1)"
        ]
    );
    assert_eq!(health(&url, QUICK).await.unwrap().0, 200);
    // The timed fault ends by itself.
    assert!(eventually(QUICK, || async { connect(f.ports.tcp_a).await.is_ok() }).await);
    assert!(faults(&sim).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_bang_starts_silent_and_comes_up_at_once() {
    let mut f = Fixture::new();
    let scenario = f.scenario("big_bang = true\nat = \"2s\"\n");
    let sim = f.start(Some(scenario)).await;
    let mut events = sim.subscribe();
    let bang = sim.started() + Duration::from_secs(2);
    let list = faults(&sim).await;
    let r = health(&f.health_url("BBB-ovr"), SHORT).await;
    let tcp = connect(f.ports.tcp_a).await;
    if Instant::now() < bang {
        assert_eq!(list.len(), 1);
        assert_eq!(
            (list[0]["target"].as_str(), list[0]["kind"].as_str()),
            (Some("*"), Some("big-bang"))
        );
        assert_eq!(r, Err("timeout".to_owned()));
        assert!(tcp.is_err(), "TCP connect succeeded before the big bang");
    }
    assert_eq!(
        next(&mut events).await.text,
        "scenario: big bang, every venue comes up"
    );
    for id in ["AAA-ovr-a", "AAA-ovr-b", "BBB-ovr"] {
        assert_eq!(health(&f.health_url(id), QUICK).await.unwrap().0, 200);
    }
    for port in [f.ports.tcp_a, f.ports.tcp_b] {
        assert!(eventually(QUICK, || async { connect(port).await.is_ok() }).await);
    }
    assert!(faults(&sim).await.is_empty());
}

/// A file whose addresses are held by the test for as long as it lives,
/// on ports from the system: one TCP port (health of AAA-ovr-a and
/// AAA-ovr-b) and one UDP port (SNMP of BBB-rtr, named by host name); and
/// a device off loopback, skipped. A simulator on the file's ports finds
/// both busy, and nothing else to bind.
struct Busy {
    dir: TempDir,
    inventory: Arc<Inventory>,
    tcp: StdTcpListener,
    udp: StdUdpSocket,
}

impl Busy {
    fn new() -> Self {
        let tcp = StdTcpListener::bind((HOST, 0)).unwrap();
        let udp = StdUdpSocket::bind((HOST, 0)).unwrap();
        let (http, snmp) = (tcp.local_addr().unwrap(), udp.local_addr().unwrap());
        let mut text = HEADER.to_owned();
        text.push_str("\n[[venues]]\ncode = \"AAA\"\nname = \"Arena A\"\ncity = \"Paris\"\n");
        for id in ["AAA-ovr-a", "AAA-ovr-b"] {
            device(&mut text, id, &format!("http://{http}/health/{id}"));
        }
        device(&mut text, "AAA-remote", "tcp://10.255.255.1:9");
        text.push_str("\n[[venues]]\ncode = \"BBB\"\nname = \"Bowl B\"\ncity = \"Lyon\"\n");
        device(
            &mut text,
            "BBB-rtr",
            &format!("snmp://localhost:{}", snmp.port()),
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("venues.toml");
        std::fs::write(&path, text).unwrap();
        let (inventory, _) = Inventory::load(&path).expect("test inventory is valid");
        Self {
            dir,
            inventory: Arc::new(inventory),
            tcp,
            udp,
        }
    }

    fn venues(&self) -> std::path::PathBuf {
        self.dir.path().join("venues.toml")
    }

    /// The error line for the held TCP port.
    fn http_line(&self) -> String {
        format!(
            "cannot listen on {} (http for AAA-ovr-a, AAA-ovr-b): ",
            self.tcp.local_addr().unwrap()
        )
    }

    /// The error line for the held UDP port.
    fn snmp_line(&self) -> String {
        format!(
            "cannot listen on {} (snmp, udp for BBB-rtr): ",
            self.udp.local_addr().unwrap()
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_port_is_a_clear_error() {
    let busy = Busy::new();
    // Without `ephemeral`, the simulator binds the ports of the file.
    let err = toc::sim::start(Arc::clone(&busy.inventory), SimOptions::default())
        .await
        .expect_err("ports are busy");
    let SimError::Bind(failures) = &err else {
        panic!("{err}");
    };
    // Every busy address is named, each once, and nothing else failed.
    let mut named: Vec<(&str, SocketAddr)> =
        failures.iter().map(|b| (b.protocol, b.addr)).collect();
    named.sort_unstable();
    assert_eq!(
        named,
        [
            ("http", busy.tcp.local_addr().unwrap()),
            ("snmp", busy.udp.local_addr().unwrap())
        ],
        "{err}"
    );
    assert!(
        failures
            .iter()
            .all(|b| b.error.kind() == std::io::ErrorKind::AddrInUse),
        "{err}"
    );
    let text = err.to_string();
    assert!(text.contains(&busy.http_line()), "{text}");
    assert!(text.contains(&busy.snmp_line()), "{text}");
    assert!(text.contains("another program"), "{text}");
    assert_eq!(text.lines().count(), 2, "{text}");
}

fn toc_bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_toc"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

#[test]
fn scenario_errors_name_line_and_column() {
    let f = Fixture::new();
    let bad = f.dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[step]]\nat = \"1s\"\ntarget = \"AAA-ovr-a\"\nfault = \"melt\"\n",
    )
    .unwrap();
    let out = toc_bin()
        .arg("sim")
        .arg(f.venues())
        .args(["--control", "127.0.0.1:0", "--scenario"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{}:4:9: error: unknown fault `melt`",
            bad.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("1 error found"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn shipped_scenarios_are_valid_against_the_shipped_venues() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (inventory, _) = Inventory::load(&root.join("venues.toml")).unwrap();
    for name in ["big-bang.toml", "rehearsal.toml"] {
        let s = Scenario::load(&root.join("scenarios").join(name), &inventory)
            .unwrap_or_else(|d| panic!("{name}: {}", toc::config::diag::render(&d)));
        assert!(s.big_bang.is_some() || !s.steps.is_empty(), "{name}");
    }
}

/// A `toc sim` child, killed if the test fails before it is waited for.
struct Child(Option<std::process::Child>);

impl Child {
    /// Whether the child exited within `limit` (it is not reaped).
    fn exited_within(&mut self, limit: Duration) -> bool {
        let end = Instant::now() + limit;
        let Some(c) = self.0.as_mut() else {
            return true;
        };
        while c.try_wait().unwrap().is_none() {
            if Instant::now() > end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        true
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// What `toc sim --ephemeral` printed: each address of the file and the
/// one served for it, and the control API.
fn ephemeral_addresses(stdout: &str) -> (BTreeMap<SocketAddr, SocketAddr>, Option<SocketAddr>) {
    let mut map = BTreeMap::new();
    let mut control = None;
    for line in stdout.lines().map(str::trim) {
        if let Some((from, to)) = line.split_once(" -> ")
            && let (Ok(from), Ok(to)) = (from.parse(), to.parse())
        {
            map.insert(from, to);
        }
        if let Some(url) = line.strip_prefix("control   http://") {
            control = url.strip_suffix("/faults").and_then(|a| a.parse().ok());
        }
    }
    (map, control)
}

/// Appends the lines of `rx` to `seen` until one contains `needle`, for
/// at most 20 seconds.
fn read_until(
    rx: &std::sync::mpsc::Receiver<String>,
    seen: &mut String,
    needle: &str,
) -> Result<(), std::sync::mpsc::RecvTimeoutError> {
    let end = Instant::now() + Duration::from_secs(20);
    while !seen.contains(needle) {
        let line = rx.recv_timeout(end.saturating_duration_since(Instant::now()))?;
        seen.push_str(&line);
        seen.push('\n');
    }
    Ok(())
}

#[test]
fn sim_binary_serves_until_sigterm() {
    use std::io::BufRead as _;
    let f = Fixture::new();
    let mut child = Child(Some(
        toc_bin()
            .arg("sim")
            .arg(f.venues())
            .args(["--ephemeral", "--control", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    ));
    let running = child.0.as_mut().unwrap();
    let pid = running.id();
    let (stdout, stderr) = (
        running.stdout.take().unwrap(),
        running.stderr.take().unwrap(),
    );
    // Lines as they come: the addresses are printed before it serves on.
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = String::new();
    if let Err(e) = read_until(&rx, &mut seen, "Ctrl-C stops the simulator") {
        drop(child);
        let err = std::io::read_to_string(stderr).unwrap_or_default();
        panic!("no start ({e}):\n{seen}\nstderr:\n{err}");
    }
    let (map, control) = ephemeral_addresses(&seen);
    let file: BTreeSet<SocketAddr> = (1..=6).map(local).collect();
    assert_eq!(map.keys().copied().collect::<BTreeSet<_>>(), file, "{seen}");
    assert!(
        map.values()
            .all(|a| a.ip() == local(0).ip() && a.port() > 6),
        "{seen}"
    );
    let control = control.unwrap_or_else(|| panic!("no control address in:\n{seen}"));
    assert_eq!(control.ip(), local(0).ip(), "{seen}");
    assert_ne!(control.port(), 0, "{seen}");

    let served = Ports::FILE.served(&map);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = format!("http://{HOST}:{}/health/BBB-ovr", served.http_b);
    let up = rt.block_on(eventually(Duration::from_secs(20), || async {
        health(&url, QUICK).await.is_ok_and(|(s, _)| s == 200)
    }));
    let posted = rt.block_on(async {
        client(QUICK)
            .post(format!("http://{control}/faults"))
            .header("content-type", "application/json")
            .body(r#"{"target":"AAA-timing","fault":"down","for":"10s"}"#)
            .send()
            .await
            .map(|r| r.status().as_u16())
    });
    // The fault reaches the device at its served address.
    let down = rt.block_on(eventually(QUICK, || async {
        connect(served.tcp_a).await == Err("timeout".to_owned())
    }));
    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(
        child.exited_within(Duration::from_secs(20)),
        "toc sim still runs after SIGTERM:\n{seen}"
    );
    let status = child.0.take().unwrap().wait().unwrap();
    reader.join().unwrap();
    seen.extend(rx.try_iter().map(|l| l + "\n"));
    let err = std::io::read_to_string(stderr).unwrap_or_default();
    assert!(up, "health endpoint never answered: {seen}");
    assert_eq!(posted.unwrap(), 200);
    assert!(down, "AAA-timing still connects while down: {seen}");
    assert!(killed.success());
    assert!(status.success(), "{status:?}\n{seen}\nstderr:\n{err}");
    for needle in [
        "snmp      2 agents (udp), 3 devices",
        "http      2 health servers, 3 devices",
        "tcp       2 listeners, 2 devices",
        "AAA-remote: 10.255.255.1 is not a loopback address",
        "ephemeral 6 addresses on ports from the system (file -> served):",
        &format!("127.0.0.1:4 -> 127.0.0.1:{}", served.http_b),
        &format!("control   http://{control}/faults"),
        "curl -X POST",
        "control: AAA-timing: down for 10s",
        "stopping the simulator",
    ] {
        assert!(seen.contains(needle), "missing {needle:?} in:\n{seen}");
    }
}

#[test]
fn sim_binary_reports_a_busy_port() {
    let busy = Busy::new();
    let mut child = Child(Some(
        toc_bin()
            .arg("sim")
            .arg(busy.venues())
            .args(["--control", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    ));
    // It must give up at once; one that serves instead is stopped (on
    // drop) rather than hanging the test.
    assert!(
        child.exited_within(Duration::from_secs(20)),
        "toc sim still runs on busy ports"
    );
    let out = child.0.take().unwrap().wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for line in [busy.http_line(), busy.snmp_line()] {
        assert!(stderr.contains(&line), "missing {line:?} in:\n{stderr}");
    }
    assert!(stderr.contains("another program"), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A Games-sized inventory (10,000 devices) starts and answers, each
/// address of the file on a port from the system.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_devices_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = HEADER.to_owned();
    let venues: u16 = 40;
    // Ports of the file, never bound: per venue one SNMP agent, one HTTP
    // server and two TCP devices.
    let (snmp, http, tcp) = (|v| 1000 + v, |v| 2000 + v, |v, i| 3000 + 2 * v + i);
    let mut n = 0;
    for v in 0..venues {
        let code = format!("V{v:02}");
        write!(
            s,
            "\n[[venues]]\ncode = \"{code}\"\nname = \"Venue {v}\"\ncity = \"Paris\"\nsports = [\"Judo\"]\n"
        )
        .unwrap();
        for d in 0..250_u16 {
            let id = format!("{code}-d{d:03}");
            let probe = match d {
                0..=219 => format!("snmp://127.0.0.1:{}", snmp(v)),
                220..=247 => format!("http://127.0.0.1:{}/health/{id}", http(v)),
                _ => format!("tcp://127.0.0.1:{}", tcp(v, d - 248)),
            };
            device(&mut s, &id, &probe);
            n += 1;
        }
    }
    assert_eq!(n, 10_000);
    let path = dir.path().join("venues.toml");
    std::fs::write(&path, s).unwrap();
    let (inventory, _) = Inventory::load(&path).expect("valid");
    let sim = toc::sim::start(
        Arc::new(inventory),
        SimOptions {
            ephemeral: true,
            ..SimOptions::default()
        },
    )
    .await
    .expect("starts");
    let sum = sim.summary();
    assert_eq!(sum.devices_served, 10_000);
    assert_eq!(
        (sum.snmp_ports, sum.http_ports, sum.tcp_listeners),
        (40, 40, 80)
    );
    let served = sum.remapped[&SocketAddr::from(([127, 0, 0, 1], http(39)))];
    let url = format!("http://{served}/health/V39-d247");
    assert_eq!(health(&url, QUICK).await.unwrap().0, 200);
    for i in 0..2 {
        let served = sum.remapped[&SocketAddr::from(([127, 0, 0, 1], tcp(39, i)))];
        assert_eq!(connect(served.port()).await, Ok(()));
    }
    sim.shutdown().await;
}

// ---------------------------------------------------------------------------
// Ephemeral ports and `remap`
// ---------------------------------------------------------------------------

/// A shipped inventory, with the v3 passphrases filled in: tests cannot
/// set the environment safely, and the simulator and the probes read the
/// same profiles.
fn shipped(name: &str) -> Inventory {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    let (mut inv, _) = Inventory::load(&path).expect("the shipped file is valid");
    for p in inv.profiles.values_mut() {
        if let Profile::V3 {
            auth_passphrase,
            privacy,
            ..
        } = p
        {
            *auth_passphrase = Secret::Literal("sim-auth-passphrase".into());
            if let Some((_, s)) = privacy {
                *s = Secret::Literal("sim-priv-passphrase".into());
            }
        }
    }
    inv
}

/// Every address the devices of `inv` name (all on loopback here).
fn configured(inv: &Inventory) -> BTreeSet<SocketAddr> {
    inv.devices
        .iter()
        .map(|d| match &d.probe {
            ProbeTarget::Snmp { host, port } | ProbeTarget::Tcp { host, port } => {
                SocketAddr::new(host.parse().unwrap(), *port)
            }
            ProbeTarget::Http { url } => {
                let u = url::Url::parse(url).unwrap();
                SocketAddr::new(
                    u.host_str().unwrap().parse().unwrap(),
                    u.port_or_known_default().unwrap(),
                )
            }
        })
        .collect()
}

/// Checks devices `which` of `inv` once with the real probes, as the
/// poller does: (device id, result).
async fn check(inv: &Inventory, which: &[usize]) -> Vec<(String, CheckResult)> {
    let probe = AnyProbe::new(inv).unwrap();
    let probe = &probe;
    futures_util::stream::iter(which.iter().map(|&i| &inv.devices[i]))
        .map(|d| async move { (d.id.clone(), probe.check(d).await.result) })
        .buffer_unordered(32)
        .collect()
        .await
}

fn not_ok(results: &[(String, CheckResult)]) -> Vec<&(String, CheckResult)> {
    results
        .iter()
        .filter(|(_, r)| *r != CheckResult::Ok)
        .collect()
}

/// Every configured address got its own bound address; UDP (SNMP) and
/// TCP (HTTP, TCP devices) have separate port spaces, so the system may
/// hand out the same number to one of each.
fn one_bound_address_each(
    inv: &Inventory,
    remapped: &std::collections::BTreeMap<SocketAddr, SocketAddr>,
) {
    let udp: BTreeSet<SocketAddr> = inv
        .devices
        .iter()
        .filter_map(|d| match &d.probe {
            ProbeTarget::Snmp { host, port } => Some(SocketAddr::new(host.parse().unwrap(), *port)),
            _ => None,
        })
        .collect();
    for is_udp in [true, false] {
        let of_kind: Vec<SocketAddr> = remapped
            .iter()
            .filter(|(from, _)| udp.contains(from) == is_udp)
            .map(|(_, to)| *to)
            .collect();
        let distinct: BTreeSet<SocketAddr> = of_kind.iter().copied().collect();
        assert_eq!(
            distinct.len(),
            of_kind.len(),
            "one bound address each (udp: {is_udp})"
        );
    }
}

/// Starts `file` ephemeral, checks that no address of the file is bound
/// and that every device answers OK through the remapped inventory, then
/// that faults on an SNMP, an HTTP and a TCP device are seen there.
async fn ephemeral_serves(file: &str, faulty: [&str; 3]) {
    let inv = Arc::new(shipped(file));
    let sim = toc::sim::start(
        Arc::clone(&inv),
        SimOptions {
            ephemeral: true,
            ..SimOptions::default()
        },
    )
    .await
    .expect("an ephemeral start needs none of the file's ports");
    let s = sim.summary();
    assert!(s.skipped.is_empty(), "{:?}", s.skipped);
    assert_eq!(s.devices_served, inv.devices.len());
    let addrs = configured(&inv);
    assert_eq!(
        s.remapped.keys().copied().collect::<BTreeSet<_>>(),
        addrs,
        "every address of the file is remapped"
    );
    assert_eq!(
        s.remapped.len(),
        s.snmp_ports + s.http_ports + s.tcp_listeners
    );
    let file_ports: BTreeSet<u16> = addrs.iter().map(SocketAddr::port).collect();
    let bound: BTreeSet<SocketAddr> = s.remapped.values().copied().collect();
    one_bound_address_each(&inv, &s.remapped);
    for (from, to) in &s.remapped {
        assert_eq!(from.ip(), to.ip(), "same IP address");
        assert!(
            !file_ports.contains(&to.port()),
            "{from} was served on {to}, a port of the file"
        );
    }

    let remapped = toc::sim::remap(&inv, &s.remapped);
    assert_eq!(remapped.devices.len(), inv.devices.len());
    for (before, after) in inv.devices.iter().zip(&remapped.devices) {
        assert_eq!(before.id, after.id);
        assert_ne!(
            before.probe, after.probe,
            "{} still on the file's port",
            before.id
        );
        if let (ProbeTarget::Http { url: a }, ProbeTarget::Http { url: b }) =
            (&before.probe, &after.probe)
        {
            let (a, b) = (url::Url::parse(a).unwrap(), url::Url::parse(b).unwrap());
            assert_eq!((a.host_str(), a.path()), (b.host_str(), b.path()));
        }
    }
    // The originals point at nothing the simulator serves.
    assert_eq!(configured(&remapped), bound);

    let all: Vec<usize> = (0..remapped.devices.len()).collect();
    let results = check(&remapped, &all).await;
    assert_eq!(results.len(), remapped.devices.len());
    assert!(not_ok(&results).is_empty(), "{:?}", not_ok(&results));

    let idx: Vec<usize> = faulty
        .iter()
        .map(|id| remapped.device(id).unwrap().0.0)
        .collect();
    let kinds: BTreeSet<&str> = idx
        .iter()
        .map(|&i| remapped.devices[i].probe.kind())
        .collect();
    assert_eq!(kinds.len(), 3, "one device per protocol");
    let state = sim.state();
    for id in faulty {
        state.set(id, Fault::Down, None).unwrap();
    }
    let remapped = &remapped;
    assert!(
        eventually(Duration::from_secs(20), || async {
            check(remapped, &idx)
                .await
                .iter()
                .all(|(_, r)| matches!(r, CheckResult::Fail(_) | CheckResult::Unknown(_)))
        })
        .await,
        "the faults are not seen through the remapped addresses: {:?}",
        check(remapped, &idx).await
    );
    state.clear_all();
    assert!(
        eventually(Duration::from_secs(20), || async {
            not_ok(&check(remapped, &idx).await).is_empty()
        })
        .await,
        "the devices do not come back: {:?}",
        check(remapped, &idx).await
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ephemeral_small_inventory_answers_through_remapped_addresses() {
    ephemeral_serves(
        "examples/venues-small.toml",
        ["STA-core", "STA-ovr-a", "STA-timing"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ephemeral_shipped_games_answer_through_remapped_addresses() {
    ephemeral_serves("venues.toml", ["PDP-core-a", "LDA-ovr-b", "MRN-timing"]).await;
}

/// An SNMP agent and a TCP device on the same port number in the file get
/// one bound port: the map stays one address for one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ephemeral_keeps_udp_and_tcp_of_one_address_together() {
    // Port 7 is never bound: ephemeral mode takes ports from the system.
    let mut text = HEADER.to_owned();
    text.push_str("\n[[venues]]\ncode = \"AAA\"\nname = \"Arena A\"\ncity = \"Paris\"\n");
    device(&mut text, "AAA-rtr", "snmp://127.0.0.1:7");
    device(&mut text, "AAA-timing", "tcp://127.0.0.1:7");
    let (inv, _) = Inventory::parse(&SourceFile::new("shared.toml", text)).unwrap();
    let inv = Arc::new(inv);
    let sim = toc::sim::start(
        Arc::clone(&inv),
        SimOptions {
            ephemeral: true,
            ..SimOptions::default()
        },
    )
    .await
    .unwrap();
    let from: SocketAddr = "127.0.0.1:7".parse().unwrap();
    let map = &sim.summary().remapped;
    assert_eq!(map.len(), 1, "{map:?}");
    assert_ne!(map[&from].port(), 7);
    let remapped = toc::sim::remap(&inv, map);
    let results = check(&remapped, &[0, 1]).await;
    assert!(not_ok(&results).is_empty(), "{results:?}");
}

fn remap_fixture() -> Inventory {
    let mut text = HEADER.to_owned();
    text.push_str("\n[[venues]]\ncode = \"AAA\"\nname = \"Arena A\"\ncity = \"Paris\"\n");
    for (id, probe) in [
        ("snmp-default", "snmp://localhost"),
        ("snmp-v6", "snmp://[::1]:1161"),
        ("web-a", "http://127.0.0.1:8080/health/web-a"),
        ("web-b", "http://127.0.0.1:8080/status?device=web-b"),
        ("web-dup", "http://127.0.0.1:8080/health/web-a"),
        ("web-80", "http://127.0.0.1/health"),
        ("web-tls", "https://127.0.0.1:8443/health"),
        ("tcp", "tcp://127.0.0.1:9"),
        ("remote", "snmp://10.0.0.1"),
        ("unmapped", "tcp://127.0.0.1:10"),
    ] {
        device(&mut text, id, probe);
    }
    Inventory::parse(&SourceFile::new("remap.toml", text))
        .unwrap()
        .0
}

fn probe_of<'a>(inv: &'a Inventory, id: &str) -> &'a ProbeTarget {
    &inv.device(id).unwrap().1.probe
}

#[test]
fn remap_points_served_devices_at_the_bound_ports() {
    let inv = remap_fixture();
    let addr = |s: &str| s.parse::<SocketAddr>().unwrap();
    let map = BTreeMap::from([
        (addr("127.0.0.1:161"), addr("127.0.0.1:40161")),
        (addr("[::1]:1161"), addr("[::1]:41161")),
        (addr("127.0.0.1:8080"), addr("127.0.0.1:48080")),
        (addr("127.0.0.1:80"), addr("127.0.0.1:40080")),
        (addr("127.0.0.1:8443"), addr("127.0.0.1:48443")),
        (addr("127.0.0.1:9"), addr("127.0.0.1:40009")),
        (addr("10.0.0.1:161"), addr("10.0.0.1:40162")),
    ]);
    let out = toc::sim::remap(&inv, &map);
    let snmp = |host: &str, port| ProbeTarget::Snmp {
        host: host.into(),
        port,
    };
    let http = |url: &str| ProbeTarget::Http { url: url.into() };
    assert_eq!(probe_of(&out, "snmp-default"), &snmp("localhost", 40161));
    assert_eq!(probe_of(&out, "snmp-v6"), &snmp("::1", 41161));
    // Devices that shared a port share the bound one; paths and queries stay.
    assert_eq!(
        probe_of(&out, "web-a"),
        &http("http://127.0.0.1:48080/health/web-a")
    );
    assert_eq!(
        probe_of(&out, "web-b"),
        &http("http://127.0.0.1:48080/status?device=web-b")
    );
    assert_eq!(
        probe_of(&out, "web-80"),
        &http("http://127.0.0.1:40080/health")
    );
    assert_eq!(
        probe_of(&out, "tcp"),
        &ProbeTarget::Tcp {
            host: "127.0.0.1".into(),
            port: 40009
        }
    );
    // Not served by the simulator (same URL as web-a, https, not loopback),
    // or not in the map: unchanged.
    for id in ["web-dup", "web-tls", "remote", "unmapped"] {
        assert_eq!(probe_of(&out, id), probe_of(&inv, id), "{id}");
    }
    // Everything else is as it was.
    assert_eq!(out.devices.len(), inv.devices.len());
    assert_eq!(out.venues.len(), inv.venues.len());
    assert_eq!(out.event, inv.event);
    // No map, no change.
    let same = toc::sim::remap(&inv, &BTreeMap::new());
    for (a, b) in inv.devices.iter().zip(&same.devices) {
        assert_eq!(a.probe, b.probe);
    }
}
