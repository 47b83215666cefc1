//! The simulated SNMP agent as third-party peers see it: net-snmp's tools
//! against `toc sim` get what they would get from net-snmp's own snmpd (a
//! refused SET, one engine per device, access as the device's profile
//! says, 32-bit counters that are the low bits of the 64-bit ones, the
//! default context), and they read the same tables as toc's client.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::too_many_lines)]

mod support;

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use support::{COMMUNITY, Snmpd, V3_USERS, have, parse_cli, run_cli};
use toc::config::venues::{Profile, Secret};
use toc::config::{Inventory, SourceFile};
use toc::sim::SimOptions;
use toc::sim::agent;
use toc::sim::faults::SimState;
use toc::snmp::client::{Client, Security, Target};
use toc::snmp::usm::{AuthProto, PrivProto, UsmUser};
use toc::snmp::{Oid, Value};

const AUTH: &str = "peer-auth-pass";
const PRIV: &str = "peer-priv-pass";
const SYS_UPTIME: &str = "1.3.6.1.2.1.1.3.0";
const SYS_NAME: &str = "1.3.6.1.2.1.1.5.0";
const ENGINE_ID: &str = "1.3.6.1.6.3.10.2.1.1.0";
const ENGINE_BOOTS: &str = "1.3.6.1.6.3.10.2.1.2.0";

const HEADER: &str = "[event]\nname = \"t\"\npoll_interval = \"5s\"\ntimeout = \"1s\"\nretries = 1\n\n\
     [profiles.v2]\nversion = \"v2c\"\ncommunity = \"peer-comm\"\n\n\
     [profiles.v3a]\nversion = \"v3\"\nuser = \"peer-a\"\nauth = \"sha256\"\nauth_passphrase_env = \"UNUSED_A\"\nprivacy = \"aes128\"\nprivacy_passphrase_env = \"UNUSED_B\"\n\n\
     [profiles.v3b]\nversion = \"v3\"\nuser = \"peer-b\"\nauth = \"sha1\"\nauth_passphrase_env = \"UNUSED_C\"\nprivacy = \"aes256\"\nprivacy_passphrase_env = \"UNUSED_D\"\n\n\
     [[venues]]\ncode = \"TST\"\nname = \"Test Arena\"\ncity = \"Paris\"\n\n";

/// A device; `context` None leaves the key out.
fn device(out: &mut String, id: &str, port: u16, profile: &str, context: Option<&str>) {
    writeln!(
        out,
        "[[venues.devices]]\nid = \"{id}\"\nrole = \"core-switch\"\nprobe = \"snmp://127.0.0.1:{port}\"\nprofile = \"{profile}\""
    )
    .unwrap();
    if let Some(c) = context {
        writeln!(out, "context = \"{c}\"").unwrap();
    }
    out.push('\n');
}

/// Parses `toml` and puts the v3 passphrases in directly (tests cannot
/// set the environment safely).
fn inventory(toml: String) -> Arc<Inventory> {
    let (mut inv, _) = Inventory::parse(&SourceFile::new("peers.toml", toml)).expect("valid");
    for p in inv.profiles.values_mut() {
        if let Profile::V3 {
            auth_passphrase,
            privacy,
            ..
        } = p
        {
            *auth_passphrase = Secret::Literal(AUTH.into());
            if let Some((_, s)) = privacy {
                *s = Secret::Literal(PRIV.into());
            }
        }
    }
    Arc::new(inv)
}

struct Sim {
    /// Shared: TST-sw (v2c), TST-rtr (v3 peer-a), TST-fw (v3 peer-b),
    /// TST-def (v2c, no context).
    shared: SocketAddr,
    /// TST-one (v3 peer-a) alone.
    single: SocketAddr,
    state: Arc<SimState>,
    _tasks: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
}

async fn start() -> Sim {
    let sockets = vec![
        tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap(),
        tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap(),
    ];
    let ports: Vec<u16> = sockets
        .iter()
        .map(|s| s.local_addr().unwrap().port())
        .collect();
    let mut toml = String::from(HEADER);
    device(&mut toml, "TST-sw", ports[0], "v2", Some("TST-sw"));
    device(&mut toml, "TST-rtr", ports[0], "v3a", Some("TST-rtr"));
    device(&mut toml, "TST-fw", ports[0], "v3b", Some("TST-fw"));
    device(&mut toml, "TST-def", ports[0], "v2", None);
    device(&mut toml, "TST-one", ports[1], "v3a", Some("TST-one"));
    let inv = inventory(toml);
    let state = Arc::new(SimState::new(&inv));
    let tasks = sockets
        .into_iter()
        .map(|s| tokio::spawn(agent::serve(s, Arc::clone(&inv), Arc::clone(&state))))
        .collect();
    let addr = |p: u16| SocketAddr::from(([127, 0, 0, 1], p));
    Sim {
        shared: addr(ports[0]),
        single: addr(ports[1]),
        state,
        _tasks: tasks,
    }
}

fn v2c(community: &str) -> Vec<String> {
    // One retry: a loaded machine may be slow to run the tool.
    ["-v2c", "-c", community, "-t", "1", "-r", "1"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

/// net-snmp arguments for user `peer-a` (SHA-256/AES) or `peer-b`
/// (SHA/AES-256); `context` None sends the default context.
fn v3(user: &str, context: Option<&str>) -> Vec<String> {
    let (a, x) = if user == "peer-a" {
        ("SHA-256", "AES")
    } else {
        ("SHA", "AES256")
    };
    let mut args: Vec<String> = [
        "-v3", "-l", "authPriv", "-u", user, "-a", a, "-A", AUTH, "-x", x, "-X", PRIV, "-t", "1",
        "-r", "1",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    if let Some(c) = context {
        args.extend(["-n".to_owned(), c.to_owned()]);
    }
    args
}

/// Runs a net-snmp tool off the async runtime (the agent runs on it).
async fn cli(
    tool: &'static str,
    args: Vec<String>,
    agent: SocketAddr,
    oids: &[&str],
) -> Result<String, String> {
    let oids: Vec<String> = oids.iter().map(|s| (*s).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let o: Vec<&str> = oids.iter().map(String::as_str).collect();
        run_cli(tool, &a, &agent.to_string(), &o)
    })
    .await
    .unwrap()
}

/// The value net-snmp prints for one object.
async fn value(args: Vec<String>, agent: SocketAddr, oid: &str) -> Result<String, String> {
    let out = cli("snmpget", args, agent, &[oid]).await?;
    parse_cli(&out)
        .into_iter()
        .next()
        .map(|(_, v)| v)
        .ok_or_else(|| format!("no value in {out:?}"))
}

fn oid(s: &str) -> Oid {
    s.parse().unwrap()
}

fn our_v3(addr: SocketAddr, context: &str) -> Target {
    Target {
        addr,
        security: Security::V3 {
            user: Arc::new(UsmUser::new(
                b"peer-a",
                Some((AuthProto::Sha256, AUTH.as_bytes())),
                Some((PrivProto::Aes128, PRIV.as_bytes())),
            )),
            context: context.as_bytes().to_vec(),
        },
        timeout: Duration::from_millis(500),
        retries: 0,
    }
}

fn our_v2c(addr: SocketAddr, community: &str) -> Target {
    Target {
        addr,
        security: Security::V2c {
            community: community.as_bytes().to_vec(),
        },
        timeout: Duration::from_millis(500),
        retries: 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_set_is_refused_as_snmpd_refuses_it() {
    if !have("snmpset") || !have("snmpd") {
        return;
    }
    let sim = start().await;
    let snmpd = tokio::task::spawn_blocking(Snmpd::start).await.unwrap();
    let (u, a, ap, x, xp) = V3_USERS[0];
    let snmpd_v3: Vec<String> = [
        "-v3", "-l", "authPriv", "-u", u, "-a", a, "-A", ap, "-x", x, "-X", xp, "-t", "1", "-r",
        "0",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let set = [SYS_NAME, "s", "renamed", SYS_UPTIME, "t", "5"];
    let real_v2c = cli("snmpset", v2c(COMMUNITY), snmpd.addr, &set).await;
    let real_v3 = cli("snmpset", snmpd_v3, snmpd.addr, &set).await;
    let sim_v2c = cli("snmpset", v2c("peer-comm@TST-sw"), sim.shared, &set).await;
    let sim_v3 = cli("snmpset", v3("peer-a", Some("TST-rtr")), sim.shared, &set).await;
    let real_v2c = real_v2c.expect_err("snmpd refuses a SET from a rocommunity");
    assert!(
        real_v2c.contains("Reason: noAccess")
            && real_v2c.contains(&format!("Failed object: .{SYS_NAME}")),
        "{real_v2c}"
    );
    assert_eq!(sim_v2c.expect_err("refused"), real_v2c, "v2c");
    assert_eq!(
        sim_v3.expect_err("refused"),
        real_v3.expect_err("snmpd refuses a SET from a rouser"),
        "v3"
    );
    // Nothing changed.
    assert_eq!(
        value(v2c("peer-comm@TST-sw"), sim.shared, SYS_NAME).await,
        Ok("TST-sw".to_owned())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_device_has_its_own_engine_and_a_reboot_moves_only_its_own() {
    if !have("snmpget") {
        return;
    }
    let sim = start().await;
    let mut ids = vec![
        value(v2c("peer-comm@TST-sw"), sim.shared, ENGINE_ID)
            .await
            .unwrap(),
        value(v2c("peer-comm"), sim.shared, ENGINE_ID)
            .await
            .unwrap(),
        value(v3("peer-a", Some("TST-rtr")), sim.shared, ENGINE_ID)
            .await
            .unwrap(),
        value(v3("peer-b", Some("TST-fw")), sim.shared, ENGINE_ID)
            .await
            .unwrap(),
        value(v3("peer-a", Some("TST-one")), sim.single, ENGINE_ID)
            .await
            .unwrap(),
    ];
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5, "one engine id per device: {ids:?}");

    // toc's client keeps one engine per address, as the poller does.
    let c = Client::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 1).unwrap();
    let rtr = our_v3(sim.shared, "TST-rtr");
    let r = c.get(&rtr, &[oid(SYS_NAME)]).await.unwrap();
    assert_eq!(
        r.value(&oid(SYS_NAME)),
        Some(&Value::OctetString(b"TST-rtr".to_vec()))
    );

    // A v2c device and a v3 device on the port reboot: the port's engine,
    // which the manager discovered, does not move.
    sim.state.reboot("TST-sw").unwrap();
    sim.state.reboot("TST-rtr").unwrap();
    let r = c
        .get(&rtr, &[oid(SYS_UPTIME), oid(ENGINE_BOOTS)])
        .await
        .unwrap();
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    assert!(
        matches!(r.value(&oid(SYS_UPTIME)), Some(Value::TimeTicks(t)) if *t < 500),
        "TST-rtr's sysUpTime restarts: {:?}",
        r.varbinds
    );
    assert_eq!(r.value(&oid(ENGINE_BOOTS)), Some(&Value::Integer(2)));
    let sw = c
        .get(
            &our_v2c(sim.shared, "peer-comm@TST-sw"),
            &[oid(ENGINE_BOOTS)],
        )
        .await
        .unwrap();
    assert_eq!(sw.value(&oid(ENGINE_BOOTS)), Some(&Value::Integer(2)));
    // TST-fw's own engine did not move.
    assert_eq!(
        value(v3("peer-b", Some("TST-fw")), sim.shared, ENGINE_BOOTS).await,
        Ok("1".to_owned())
    );
    let fw_up: u64 = value(v3("peer-b", Some("TST-fw")), sim.shared, SYS_UPTIME)
        .await
        .unwrap()
        .parse()
        .unwrap();
    assert!(fw_up > 360_000, "TST-fw did not restart: {fw_up}");

    // A device alone on its port is the port's engine: its reboot is the
    // engine's, and both toc and net-snmp follow it.
    let one = our_v3(sim.single, "TST-one");
    c.get(&one, &[oid(SYS_NAME)]).await.unwrap();
    sim.state.reboot("TST-one").unwrap();
    let r = c.get(&one, &[oid(SYS_NAME)]).await.unwrap();
    assert!(
        r.notes.iter().any(|n| n.contains("snmpEngineBoots 1 → 2")),
        "{:?}",
        r.notes
    );
    assert_eq!(
        value(v3("peer-a", Some("TST-one")), sim.single, ENGINE_BOOTS).await,
        Ok("2".to_owned())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_follows_the_device_profile() {
    if !have("snmpget") {
        return;
    }
    let sim = start().await;
    // The right user reads its device.
    assert_eq!(
        value(v3("peer-a", Some("TST-rtr")), sim.shared, SYS_NAME).await,
        Ok("TST-rtr".to_owned())
    );
    assert_eq!(
        value(v3("peer-b", Some("TST-fw")), sim.shared, SYS_NAME).await,
        Ok("TST-fw".to_owned())
    );
    // A v3 user reads no v2c device and no other user's device: snmpd
    // answers authorizationError when VACM gives no access.
    for (user, context) in [
        ("peer-a", Some("TST-sw")),
        ("peer-a", Some("TST-fw")),
        ("peer-b", Some("TST-rtr")),
        ("peer-a", None),
    ] {
        let err = value(v3(user, context), sim.shared, SYS_NAME)
            .await
            .expect_err("refused");
        assert!(
            err.contains("authorizationError"),
            "{user} {context:?}: {err}"
        );
    }
    // A v2c community reads no v3 device: silence, as for any community
    // an agent does not know.
    let err = value(v2c("peer-comm@TST-rtr"), sim.shared, SYS_NAME)
        .await
        .expect_err("refused");
    assert!(err.contains("Timeout"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_32_bit_counters_are_the_low_bits_of_the_64_bit_ones() {
    if !have("snmpget") {
        return;
    }
    let sim = start().await;
    for i in 1..=4 {
        let oids = [
            format!("1.3.6.1.2.1.2.2.1.10.{i}"),
            format!("1.3.6.1.2.1.31.1.1.1.6.{i}"),
            format!("1.3.6.1.2.1.2.2.1.16.{i}"),
            format!("1.3.6.1.2.1.31.1.1.1.10.{i}"),
        ];
        let oids: Vec<&str> = oids.iter().map(String::as_str).collect();
        // One request: every value is taken at the same instant.
        let out = cli("snmpget", v2c("peer-comm@TST-sw"), sim.shared, &oids)
            .await
            .unwrap();
        let got: Vec<u64> = parse_cli(&out)
            .iter()
            .map(|(_, v)| v.parse().unwrap())
            .collect();
        assert_eq!(got.len(), 4, "{out}");
        assert_eq!(got[0], got[1] & 0xffff_ffff, "ifInOctets.{i}: {out}");
        assert_eq!(got[2], got[3] & 0xffff_ffff, "ifOutOctets.{i}: {out}");
        if i == 1 {
            assert!(
                got[1] > u64::from(u32::MAX),
                "a 64-bit counter past 2^32: {out}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_without_context_is_served_in_the_default_context() {
    if !have("snmpget") {
        return;
    }
    let sim = start().await;
    assert_eq!(
        value(v2c("peer-comm"), sim.shared, SYS_NAME).await,
        Ok("TST-def".to_owned())
    );
    // Not under its id: the poller never sends that.
    let err = value(v2c("peer-comm@TST-def"), sim.shared, SYS_NAME)
        .await
        .expect_err("no context TST-def");
    assert!(err.contains("Timeout"), "{err}");
    // A device alone on its port needs no context to be told apart.
    assert_eq!(
        value(v3("peer-a", None), sim.single, SYS_NAME).await,
        Ok("TST-one".to_owned())
    );
}

#[tokio::test]
async fn devices_a_port_cannot_tell_apart_are_named_in_a_warning() {
    let mut toml = String::from(HEADER);
    device(&mut toml, "TST-a", 1161, "v2", None);
    device(&mut toml, "TST-b", 1161, "v2", None);
    device(&mut toml, "TST-c", 1161, "v2", Some("TST-c"));
    device(&mut toml, "TST-d", 1162, "v2", None);
    let inv = inventory(toml);
    let sim = toc::sim::start(
        Arc::clone(&inv),
        SimOptions {
            ephemeral: true,
            ..SimOptions::default()
        },
    )
    .await
    .unwrap();
    let warnings = &sim.summary().warnings;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("TST-a")
            && warnings[0].contains("TST-b")
            && !warnings[0].contains("TST-c"),
        "{warnings:?}"
    );
    let served = sim.inventory();
    let port = |id: &str| match &served.devices.iter().find(|d| d.id == id).unwrap().probe {
        toc::config::venues::ProbeTarget::Snmp { port, .. } => *port,
        other => panic!("{other:?}"),
    };
    let c = Client::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 1).unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], port("TST-a")));
    let r = c
        .get(&our_v2c(addr, "peer-comm"), &[oid(SYS_NAME)])
        .await
        .unwrap();
    assert_eq!(
        r.value(&oid(SYS_NAME)),
        Some(&Value::OctetString(b"TST-a".to_vec())),
        "the first one is served"
    );
    let r = c
        .get(&our_v2c(addr, "peer-comm@TST-c"), &[oid(SYS_NAME)])
        .await
        .unwrap();
    assert_eq!(
        r.value(&oid(SYS_NAME)),
        Some(&Value::OctetString(b"TST-c".to_vec()))
    );
    sim.shutdown().await;
}

/// net-snmp's text for a value toc's client read.
fn text(v: &Value) -> String {
    match v {
        Value::Integer(n) => n.to_string(),
        Value::Gauge32(n) | Value::Counter32(n) | Value::TimeTicks(n) => n.to_string(),
        Value::OctetString(s) => String::from_utf8_lossy(s).into_owned(),
        other => format!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snmpwalk_over_v2c_and_v3_reads_the_table_toc_reads() {
    if !have("snmpwalk") {
        return;
    }
    let sim = start().await;
    let c = Client::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 1).unwrap();
    // ifDescr, ifType, ifSpeed, ifAdminStatus, ifOperStatus, ifName.
    let columns = [
        "1.3.6.1.2.1.2.2.1.2",
        "1.3.6.1.2.1.2.2.1.3",
        "1.3.6.1.2.1.2.2.1.5",
        "1.3.6.1.2.1.2.2.1.7",
        "1.3.6.1.2.1.2.2.1.8",
        "1.3.6.1.2.1.31.1.1.1.1",
    ];
    sim.state
        .set(
            "TST-rtr",
            toc::sim::faults::Fault::IfDown(Some("2".into())),
            None,
        )
        .unwrap();
    for (args, target) in [
        (
            v2c("peer-comm@TST-sw"),
            our_v2c(sim.shared, "peer-comm@TST-sw"),
        ),
        (v3("peer-a", Some("TST-rtr")), our_v3(sim.shared, "TST-rtr")),
        (v2c("peer-comm"), our_v2c(sim.shared, "peer-comm")),
    ] {
        let ours = c
            .walk_columns(&target, &columns.map(oid), 100)
            .await
            .unwrap();
        assert!(ours.cut.is_none());
        for (col, rows) in columns.iter().zip(&ours.columns) {
            let walked = parse_cli(
                &cli("snmpwalk", args.clone(), sim.shared, &[col])
                    .await
                    .unwrap(),
            );
            let ours: Vec<(String, String)> = rows
                .iter()
                .map(|(i, v)| (format!("{col}.{i}"), text(v)))
                .collect();
            assert_eq!(walked, ours, "{args:?} {col}");
            assert_eq!(ours.len(), 5, "four interfaces and the spare");
        }
    }
}
