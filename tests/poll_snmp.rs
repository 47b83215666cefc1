//! The whole polling chain over real sockets: the scheduler drives the
//! SNMP, HTTP and TCP probes against the simulator, faults set through the
//! simulator's control API show up in the verdicts, and an SNMP black hole
//! (a UDP port that never answers) does not delay 200 live agents that
//! share the client's sockets with it.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::too_many_lines)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use toc::config::Inventory;
use toc::config::venues::{Device, ProbeTarget};
use toc::model::CheckResult;
use toc::probe::http::HttpProbe;
use toc::probe::scheduler::{self, SchedulerConfig};
use toc::probe::snmp::SnmpProbe;
use toc::probe::tcp::TcpProbe;
use toc::probe::{Observation, Probe};
use toc::sim::{self, SimOptions};
use toc::snmp::client::Client;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// The simulator on ports from the system for every address of `inv`
/// (the file's ports are never bound), and `inv` pointed at them.
async fn serve(inv: &Arc<Inventory>) -> (sim::SimHandle, Arc<Inventory>) {
    let sim = sim::start(
        Arc::clone(inv),
        SimOptions {
            ephemeral: true,
            ..SimOptions::default()
        },
    )
    .await
    .expect("sim starts");
    let served = Arc::new(sim::remap(inv, &sim.summary().remapped));
    (sim, served)
}

fn load(dir: &Path, text: &str) -> Arc<Inventory> {
    let path = dir.join("venues.toml");
    std::fs::write(&path, text).unwrap();
    Arc::new(
        Inventory::load(&path)
            .unwrap_or_else(|d| panic!("{}", toc::config::diag::render(&d)))
            .0,
    )
}

const HEAD: &str = "[event]\nname = \"poll tests\"\npoll_interval = \"300ms\"\ntimeout = \"100ms\"\nretries = 0\nmax_attempts = 3\n\n\
                    [profiles.v2]\nversion = \"v2c\"\ncommunity = \"poll-test\"\n\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_snmp_agents_keep_their_rhythm_beside_a_black_hole() {
    const INTERVAL: Duration = Duration::from_millis(300);
    const CYCLES: u32 = 8;
    // 200 simulated devices on 4 agent ports, and a UDP port that swallows
    // everything (kept open, never read: no ICMP refusal comes back).
    let hole = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let hole_port = hole.local_addr().unwrap().port();
    // The file names agent ports 1 to 4; the simulator serves them on
    // ports from the system.
    let venue = |udp: &[u16]| {
        let mut text = String::from(HEAD);
        text.push_str("[[venues]]\ncode = \"TST\"\nname = \"Test\"\ncity = \"Loopback\"\n\n");
        for i in 0..200 {
            let port = udp[i % 4];
            writeln!(text, "[[venues.devices]]\nid = \"TST-sw-{i:03}\"\nrole = \"switch\"\nprobe = \"snmp://127.0.0.1:{port}\"\nprofile = \"v2\"\ncontext = \"TST-sw-{i:03}\"\n").unwrap();
        }
        text
    };
    let sim_dir = tempfile::tempdir().unwrap();
    let sim_inv = load(sim_dir.path(), &venue(&[1, 2, 3, 4]));
    let (sim, _) = serve(&sim_inv).await;
    let served: Vec<u16> = (1..=4)
        .map(|p| sim.summary().remapped[&SocketAddr::from(([127, 0, 0, 1], p))].port())
        .collect();
    // The simulator serves the 200; the poller also has the black hole.
    let mut text = venue(&served);
    writeln!(text, "[[venues.devices]]\nid = \"TST-hole\"\nrole = \"switch\"\nprobe = \"snmp://127.0.0.1:{hole_port}\"\nprofile = \"v2\"\n").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let inv = load(dir.path(), &text);

    let client = Client::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 2).unwrap();
    let probe = Arc::new(SnmpProbe::new(client.clone(), &inv.profiles, 0));
    let devices: Vec<(usize, Device)> = inv.devices.iter().cloned().enumerate().collect();
    let hole_idx = 200;
    let (tx, mut rx) = mpsc::channel::<Observation>(4096);
    let spawned = Instant::now();
    let mut handle = scheduler::spawn(
        probe,
        devices,
        tx,
        SchedulerConfig {
            retries: 0,
            ..SchedulerConfig::default()
        },
    );
    let mut got = Vec::new();
    while let Ok(Some(obs)) = tokio::time::timeout_at(spawned + INTERVAL * CYCLES, rx.recv()).await
    {
        got.push(obs);
    }
    // Read before the shutdown: stopping the scheduler cancels checks in
    // flight, and a reply to a cancelled request is counted as of an
    // unknown id (its pending entry is gone, as it must be).
    let stats = client.stats();
    handle.shutdown().await;
    sim.shutdown().await;

    let mut by: BTreeMap<usize, Vec<SystemTime>> = BTreeMap::new();
    for obs in &got {
        by.entry(obs.device).or_default().push(obs.at);
        if obs.device == hole_idx {
            assert!(
                matches!(&obs.outcome.result, CheckResult::Fail(r) if r.starts_with("no answer (1 attempt, 100ms each)")),
                "{:?}",
                obs.outcome.result
            );
        } else {
            assert_eq!(obs.outcome.result, CheckResult::Ok, "device {}", obs.device);
        }
        assert!(
            obs.start_delay < INTERVAL / 3,
            "device {} started {:?} late",
            obs.device,
            obs.start_delay
        );
    }
    assert_eq!(by.len(), 201, "every device was checked");
    for (dev, starts) in &by {
        // The first check falls at a random phase inside the first
        // interval, so 8 intervals hold 7 or 8 checks; never fewer.
        assert!(
            starts.len() >= (CYCLES - 1) as usize,
            "device {dev}: {} checks in {CYCLES} cycles",
            starts.len()
        );
        for (k, at) in starts.iter().enumerate() {
            let offset = at.duration_since(starts[0]).unwrap_or_default();
            let want = INTERVAL * u32::try_from(k).unwrap();
            assert!(
                offset.abs_diff(want) < INTERVAL / 3,
                "device {dev}: check {k} at {offset:?}, want {want:?}"
            );
        }
    }
    assert!(
        stats.timeouts >= u64::from(CYCLES - 1),
        "the black hole timed out each cycle: {stats:?}"
    );
    assert_eq!(
        stats.malformed + stats.unknown_id + stats.wrong_source,
        0,
        "{stats:?}"
    );
    drop(hole);
}

/// One venue of each probe kind, for the fault round trip, on ports that
/// are never bound (see [`serve`]).
fn small_venues(dir: &Path) -> Arc<Inventory> {
    let (udp, tcp) = ([1, 2], [3, 4, 5]);
    let (http_a, http_b, timing) = (tcp[0], tcp[1], tcp[2]);
    let mut t = String::from(HEAD);
    for (code, snmp, http) in [("AAA", udp[0], http_a), ("BBB", udp[1], http_b)] {
        writeln!(
            t,
            "[[venues]]\ncode = \"{code}\"\nname = \"Venue {code}\"\ncity = \"Loopback\"\n"
        )
        .unwrap();
        for (dev, ifs) in [
            ("core-a", "interfaces = [\"Te1/0/1\", \"Te1/0/2\"]"),
            ("core-b", ""),
        ] {
            writeln!(t, "[[venues.devices]]\nid = \"{code}-{dev}\"\nrole = \"core-switch\"\nprobe = \"snmp://127.0.0.1:{snmp}\"\nprofile = \"v2\"\ncontext = \"{code}-{dev}\"\n{ifs}\n").unwrap();
        }
        writeln!(t, "[[venues.devices]]\nid = \"{code}-cis\"\nrole = \"cis\"\nprobe = \"http://127.0.0.1:{http}/health/{code}-cis\"\n").unwrap();
    }
    writeln!(t, "[[venues.devices]]\nid = \"BBB-timing\"\nrole = \"timing\"\nprobe = \"tcp://127.0.0.1:{timing}\"\n").unwrap();
    load(dir, &t)
}

async fn check_all(inv: &Inventory) -> BTreeMap<String, CheckResult> {
    let client = Client::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 1).unwrap();
    let snmp = SnmpProbe::new(client, &inv.profiles, 0);
    let http = HttpProbe::new(0).unwrap();
    let tcp = TcpProbe::new(0);
    let mut out = BTreeMap::new();
    for d in &inv.devices {
        let o = match d.probe {
            ProbeTarget::Snmp { .. } => snmp.check(d).await,
            ProbeTarget::Http { .. } => http.check(d).await,
            ProbeTarget::Tcp { .. } => tcp.check(d).await,
        };
        out.insert(d.id.clone(), o.result);
    }
    out
}

async fn control(addr: SocketAddr, body: &str) {
    let r = reqwest::Client::new()
        .post(format!("http://{addr}/faults"))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{body}: {}", r.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_set_over_the_control_api_reach_the_probes() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, inv) = serve(&small_venues(dir.path())).await;
    let api = sim.control_addr();

    let all = check_all(&inv).await;
    assert!(all.values().all(|r| *r == CheckResult::Ok), "{all:?}");

    control(
        api,
        r#"{"target":"AAA-core-a","fault":"if-down","value":"Te1/0/2"}"#,
    )
    .await;
    control(api, r#"{"target":"AAA-core-b","fault":"down"}"#).await;
    control(api, r#"{"target":"AAA-cis","fault":"auth-fail"}"#).await;
    control(api, r#"{"target":"BBB","fault":"uplink-down"}"#).await;
    let all = check_all(&inv).await;
    assert_eq!(
        all["AAA-core-a"],
        CheckResult::Warn("Te1/0/2 down (admin up)".into())
    );
    assert!(
        matches!(&all["AAA-core-b"], CheckResult::Fail(r) if r.starts_with("no answer")),
        "{:?}",
        all["AAA-core-b"]
    );
    assert!(
        matches!(&all["AAA-cis"], CheckResult::Fail(r) if r.contains("401")),
        "{:?}",
        all["AAA-cis"]
    );
    for id in ["BBB-core-a", "BBB-core-b", "BBB-cis", "BBB-timing"] {
        assert!(
            matches!(&all[id], CheckResult::Fail(_)),
            "{id} behind a cut uplink: {:?}",
            all[id]
        );
    }

    let r = reqwest::Client::new()
        .delete(format!("http://{api}/faults"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    // The TCP listener comes back on the simulator's next 100 ms tick.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let all = check_all(&inv).await;
    assert!(
        all.values().all(|r| *r == CheckResult::Ok),
        "after clearing: {all:?}"
    );
    sim.shutdown().await;
}
