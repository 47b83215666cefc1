//! The simulated SNMP agent must be a correct agent for real clients:
//! net-snmp's snmpget, snmpwalk and snmpbulkwalk read it over v2c and v3,
//! and faults set in the simulator show on the wire.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::too_many_lines)]

mod support;

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use support::{have, parse_cli, run_cli};
use toc::config::venues::{Profile, Secret};
use toc::config::{Inventory, SourceFile};
use toc::sim::agent;
use toc::sim::faults::{Fault, SimState};
use toc::snmp::client::{Client, Security, SnmpError, Target};
use toc::snmp::usm::{AuthProto, PrivProto, UsmUser};
use toc::snmp::{Oid, Value};

const AUTH: &str = "sim-auth-pass";
const PRIV: &str = "sim-priv-pass";

struct Sim {
    v2c: SocketAddr,
    v3: SocketAddr,
    v3b: SocketAddr,
    state: Arc<SimState>,
    _tasks: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
}

fn device(out: &mut String, id: &str, port: u16, profile: &str, interfaces: &str) {
    writeln!(
        out,
        "[[venues.devices]]\nid = \"{id}\"\nrole = \"core-switch\"\nprobe = \"snmp://127.0.0.1:{port}\"\nprofile = \"{profile}\"\ncontext = \"{id}\"\n{interfaces}\n"
    )
    .unwrap();
}

/// Three agent ports: v2c with two devices, v3 SHA-256/AES-128 and
/// v3 SHA/AES-256 with one device each.
async fn start() -> Sim {
    let sockets: Vec<tokio::net::UdpSocket> = vec![
        tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap(),
        tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap(),
        tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap(),
    ];
    let ports: Vec<u16> = sockets
        .iter()
        .map(|s| s.local_addr().unwrap().port())
        .collect();
    let mut toml = String::from(
        "[event]\nname = \"t\"\npoll_interval = \"5s\"\ntimeout = \"1s\"\nretries = 1\n\n\
         [profiles.v2]\nversion = \"v2c\"\ncommunity = \"sim-comm\"\n\n\
         [profiles.v3a]\nversion = \"v3\"\nuser = \"sim-v3a\"\nauth = \"sha256\"\nauth_passphrase_env = \"UNUSED_A\"\nprivacy = \"aes128\"\nprivacy_passphrase_env = \"UNUSED_B\"\n\n\
         [profiles.v3b]\nversion = \"v3\"\nuser = \"sim-v3b\"\nauth = \"sha1\"\nauth_passphrase_env = \"UNUSED_C\"\nprivacy = \"aes256\"\nprivacy_passphrase_env = \"UNUSED_D\"\n\n\
         [[venues]]\ncode = \"TST\"\nname = \"Test Arena\"\ncity = \"Paris\"\n\n",
    );
    device(
        &mut toml,
        "TST-core-a",
        ports[0],
        "v2",
        "interfaces = [\"Te0/0/0\", \"Te0/0/1\"]",
    );
    device(&mut toml, "TST-core-b", ports[0], "v2", "");
    device(&mut toml, "TST-rtr-a", ports[1], "v3a", "");
    device(&mut toml, "TST-rtr-b", ports[2], "v3b", "");
    let (mut inv, _) = Inventory::parse(&SourceFile::new("sim-agent.toml", toml)).expect("valid");
    // Passphrases come from the environment in real files; tests cannot set
    // the environment safely, so they go in directly.
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
    let inv = Arc::new(inv);
    let state = Arc::new(SimState::new(&inv));
    let tasks = sockets
        .into_iter()
        .map(|s| tokio::spawn(agent::serve(s, Arc::clone(&inv), Arc::clone(&state))))
        .collect();
    let addr = |p: u16| SocketAddr::from(([127, 0, 0, 1], p));
    Sim {
        v2c: addr(ports[0]),
        v3: addr(ports[1]),
        v3b: addr(ports[2]),
        state,
        _tasks: tasks,
    }
}

fn v2c_args(context: &str) -> Vec<String> {
    vec![
        "-v2c".into(),
        "-c".into(),
        format!("sim-comm@{context}"),
        "-t".into(),
        "1".into(),
        "-r".into(),
        "0".into(),
    ]
}

fn v3_args(user: &str, a: &str, x: &str, context: &str) -> Vec<String> {
    [
        "-v3", "-l", "authPriv", "-u", user, "-a", a, "-A", AUTH, "-x", x, "-X", PRIV, "-n",
        context, "-t", "1", "-r", "0",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
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

fn strictly_increasing(rows: &[(String, String)]) -> bool {
    let oids: Vec<Oid> = rows.iter().map(|(o, _)| o.parse().unwrap()).collect();
    oids.windows(2).all(|w| w[0] < w[1])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn net_snmp_tools_read_the_simulated_agent_over_v2c() {
    if !have("snmpget") {
        return;
    }
    let sim = start().await;
    let got = parse_cli(
        &cli(
            "snmpget",
            v2c_args("TST-core-a"),
            sim.v2c,
            &["1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.3.0"],
        )
        .await
        .unwrap(),
    );
    assert_eq!(got[0].1, "TST-core-a");
    let ticks: u64 = got[1].1.parse().expect("raw ticks with -Ot");
    assert!(
        ticks > 360_000,
        "staggered uptime of at least an hour: {ticks}"
    );
    // The context selects the device on the shared port.
    let got = parse_cli(
        &cli(
            "snmpget",
            v2c_args("TST-core-b"),
            sim.v2c,
            &["1.3.6.1.2.1.1.5.0"],
        )
        .await
        .unwrap(),
    );
    assert_eq!(got[0].1, "TST-core-b");

    let names = parse_cli(
        &cli(
            "snmpwalk",
            v2c_args("TST-core-a"),
            sim.v2c,
            &["1.3.6.1.2.1.31.1.1.1.1"],
        )
        .await
        .unwrap(),
    );
    let names: Vec<&str> = names.iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(names, ["Te0/0/0", "Te0/0/1", "Gi0/48"]);
    let admin = parse_cli(
        &cli(
            "snmpwalk",
            v2c_args("TST-core-a"),
            sim.v2c,
            &["1.3.6.1.2.1.2.2.1.7"],
        )
        .await
        .unwrap(),
    );
    assert_eq!(
        admin.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>(),
        ["1", "1", "2"],
        "spare port admin-down"
    );

    let walk = parse_cli(
        &cli(
            "snmpwalk",
            v2c_args("TST-core-a"),
            sim.v2c,
            &["1.3.6.1.2.1"],
        )
        .await
        .unwrap(),
    );
    let bulk = parse_cli(
        &cli(
            "snmpbulkwalk",
            v2c_args("TST-core-a"),
            sim.v2c,
            &["1.3.6.1.2.1"],
        )
        .await
        .unwrap(),
    );
    assert!(walk.len() > 40, "{} objects", walk.len());
    assert!(strictly_increasing(&walk), "{walk:#?}");
    assert!(strictly_increasing(&bulk), "{bulk:#?}");
    let oids = |rows: &[(String, String)]| rows.iter().map(|(o, _)| o.clone()).collect::<Vec<_>>();
    assert_eq!(
        oids(&walk),
        oids(&bulk),
        "GETNEXT and GETBULK walk the same tree"
    );

    // A wrong community gets silence.
    let refused = cli(
        "snmpget",
        vec![
            "-v2c".into(),
            "-c".into(),
            "nope@TST-core-a".into(),
            "-t".into(),
            "0.3".into(),
            "-r".into(),
            "0".into(),
        ],
        sim.v2c,
        &["1.3.6.1.2.1.1.5.0"],
    )
    .await;
    assert!(refused.unwrap_err().contains("Timeout"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn net_snmp_tools_read_the_simulated_agent_over_v3() {
    if !have("snmpget") {
        return;
    }
    let sim = start().await;
    for (addr, user, a, x, ctx) in [
        (sim.v3, "sim-v3a", "SHA-256", "AES", "TST-rtr-a"),
        (sim.v3b, "sim-v3b", "SHA", "AES256", "TST-rtr-b"),
    ] {
        let got = parse_cli(
            &cli(
                "snmpget",
                v3_args(user, a, x, ctx),
                addr,
                &["1.3.6.1.2.1.1.5.0"],
            )
            .await
            .unwrap(),
        );
        assert_eq!(got[0].1, ctx, "{user}");
        let walk = parse_cli(
            &cli(
                "snmpwalk",
                v3_args(user, a, x, ctx),
                addr,
                &["1.3.6.1.2.1.2.2.1.8"],
            )
            .await
            .unwrap(),
        );
        assert_eq!(walk.len(), 5, "{user}: 4 default interfaces and the spare");
        let bulk = parse_cli(
            &cli(
                "snmpbulkwalk",
                v3_args(user, a, x, ctx),
                addr,
                &["1.3.6.1.2.1"],
            )
            .await
            .unwrap(),
        );
        assert!(bulk.len() > 40 && strictly_increasing(&bulk), "{user}");
        // A wrong auth passphrase is reported, not silently dropped.
        let mut wrong = v3_args(user, a, x, ctx);
        wrong[8] = "not-the-pass".into();
        let err = cli("snmpget", wrong, addr, &["1.3.6.1.2.1.1.5.0"])
            .await
            .unwrap_err();
        assert!(
            err.to_lowercase().contains("authentication failure"),
            "{user}: {err}"
        );
    }
}

fn our_v2c(addr: SocketAddr, context: &str) -> Target {
    Target {
        addr,
        security: Security::V2c {
            community: format!("sim-comm@{context}").into_bytes(),
        },
        timeout: Duration::from_millis(300),
        retries: 0,
    }
}

fn our_v3(addr: SocketAddr, context: &str) -> Target {
    Target {
        addr,
        security: Security::V3 {
            user: Arc::new(UsmUser::new(
                b"sim-v3a",
                Some((AuthProto::Sha256, AUTH.as_bytes())),
                Some((PrivProto::Aes128, PRIV.as_bytes())),
            )),
            context: context.as_bytes().to_vec(),
        },
        timeout: Duration::from_millis(300),
        retries: 0,
    }
}

fn oid(s: &str) -> Oid {
    s.parse().unwrap()
}

#[tokio::test]
async fn faults_show_on_the_wire() {
    let sim = start().await;
    let c = Client::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 1).unwrap();
    let name = oid("1.3.6.1.2.1.1.5.0");

    // Down: silence for that device only.
    sim.state.set("TST-core-a", Fault::Down, None).unwrap();
    let err = c
        .get(&our_v2c(sim.v2c, "TST-core-a"), std::slice::from_ref(&name))
        .await
        .unwrap_err();
    assert!(matches!(err, SnmpError::Timeout { .. }));
    assert!(
        c.get(&our_v2c(sim.v2c, "TST-core-b"), std::slice::from_ref(&name))
            .await
            .is_ok()
    );
    sim.state.clear("TST-core-a", None).unwrap();

    // Interface down: oper down, admin still up.
    sim.state
        .set("TST-core-a", Fault::IfDown(Some("Te0/0/1".into())), None)
        .unwrap();
    let r = c
        .get(
            &our_v2c(sim.v2c, "TST-core-a"),
            &[
                oid("1.3.6.1.2.1.2.2.1.8.1"),
                oid("1.3.6.1.2.1.2.2.1.8.2"),
                oid("1.3.6.1.2.1.2.2.1.7.2"),
            ],
        )
        .await
        .unwrap();
    let vals: Vec<&Value> = r.varbinds.iter().map(|(_, v)| v).collect();
    assert_eq!(
        vals,
        [&Value::Integer(1), &Value::Integer(2), &Value::Integer(1)]
    );

    // Slow: the answer comes after the delay.
    sim.state
        .set("TST-core-b", Fault::Slow(Duration::from_millis(150)), None)
        .unwrap();
    let r = c
        .get(&our_v2c(sim.v2c, "TST-core-b"), std::slice::from_ref(&name))
        .await
        .unwrap();
    assert!(r.latency >= Duration::from_millis(150), "{:?}", r.latency);

    // Reboot: sysUpTime starts again.
    sim.state.reboot("TST-core-b").unwrap();
    sim.state.clear("TST-core-b", None).unwrap();
    let r = c
        .get(&our_v2c(sim.v2c, "TST-core-b"), &[oid("1.3.6.1.2.1.1.3.0")])
        .await
        .unwrap();
    assert!(
        matches!(r.varbinds[0].1, Value::TimeTicks(t) if t < 500),
        "{:?}",
        r.varbinds[0].1
    );

    // Counter64 just below 2^64 on the first interface.
    let r = c
        .get(
            &our_v2c(sim.v2c, "TST-core-a"),
            &[oid("1.3.6.1.2.1.31.1.1.1.6.1")],
        )
        .await
        .unwrap();
    assert!(
        matches!(r.varbinds[0].1, Value::Counter64(n) if !(1 << 40..=u64::MAX - 20_000_000_000).contains(&n)),
        "{:?}",
        r.varbinds[0].1
    );

    // Unknown objects.
    let r = c
        .get(
            &our_v2c(sim.v2c, "TST-core-a"),
            &[oid("1.3.6.1.2.1.1.5.1"), oid("1.3.6.1.4.1.1.1")],
        )
        .await
        .unwrap();
    assert_eq!(r.varbinds[0].1, Value::NoSuchInstance);
    assert_eq!(r.varbinds[1].1, Value::NoSuchObject);
}

#[tokio::test]
async fn v3_reboot_is_resynchronised_and_auth_fail_reported() {
    let sim = start().await;
    let c = Client::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 1).unwrap();
    let t = our_v3(sim.v3, "TST-rtr-a");
    let name = oid("1.3.6.1.2.1.1.5.0");
    let r = c.get(&t, std::slice::from_ref(&name)).await.unwrap();
    assert_eq!(r.varbinds[0].1, Value::OctetString(b"TST-rtr-a".to_vec()));
    assert!(r.notes.is_empty());

    sim.state.reboot("TST-rtr-a").unwrap();
    let r = c.get(&t, std::slice::from_ref(&name)).await.unwrap();
    assert_eq!(r.varbinds[0].1, Value::OctetString(b"TST-rtr-a".to_vec()));
    assert!(
        r.notes.iter().any(|n| n.contains("snmpEngineBoots 1 → 2")),
        "{:?}",
        r.notes
    );

    sim.state.set("TST-rtr-a", Fault::AuthFail, None).unwrap();
    let err = c.get(&t, std::slice::from_ref(&name)).await.unwrap_err();
    assert!(err.to_string().contains("usmStatsWrongDigests"), "{err}");

    // An unknown context on the port: silence.
    sim.state.clear_all();
    let err = c
        .get(&our_v3(sim.v3, "no-such-device"), &[name])
        .await
        .unwrap_err();
    assert!(matches!(err, SnmpError::Timeout { .. }), "{err:?}");
}

/// Deterministic noise (xorshift), so a failure can be replayed.
fn noise(len: usize, seed: &mut u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            seed.to_be_bytes()[0]
        })
        .collect()
}

#[tokio::test]
async fn bad_requests_never_stop_the_agent() {
    use toc::snmp::pdu::{CommunityMessage, Pdu, PduType};
    let sim = start().await;
    let sender = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let valid = CommunityMessage {
        community: b"sim-comm@TST-core-a".to_vec(),
        pdu: Pdu::request(PduType::Get, 7, &[oid("1.3.6.1.2.1.1.5.0")]),
    }
    .encode();
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut bad: Vec<Vec<u8>> = Vec::new();
    for len in 0..valid.len() {
        bad.push(valid[..len].to_vec());
    }
    for i in 0..valid.len() {
        for bit in [0x01, 0x80] {
            let mut v = valid.clone();
            v[i] ^= bit;
            bad.push(v);
        }
    }
    for _ in 0..500 {
        let len = usize::from(noise(1, &mut seed)[0]) * 4;
        bad.push(noise(len, &mut seed));
    }
    bad.push(vec![0x30; 65_507]);
    // SNMPv1, which the agent does not speak.
    bad.push(vec![
        0x30, 0x0b, 0x02, 0x01, 0x00, 0x04, 0x01, b'x', 0xa0, 0x03, 0x02, 0x01, 0x01,
    ]);
    for b in &bad {
        let _ = sender.send_to(b, sim.v2c).await;
    }

    let c = Client::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 1).unwrap();
    let t = Target {
        timeout: Duration::from_secs(2),
        ..our_v2c(sim.v2c, "TST-core-a")
    };
    let r = c
        .get(&t, &[oid("1.3.6.1.2.1.1.5.0")])
        .await
        .expect("still answering");
    assert_eq!(r.varbinds[0].1, Value::OctetString(b"TST-core-a".to_vec()));

    // An answer that cannot fit in a datagram is tooBig, not silence.
    let many: Vec<Oid> = (0..3000).map(|_| oid("1.3.6.1.2.1.1.1.0")).collect();
    let err = c.get(&t, &many).await.expect_err("too big");
    assert_eq!(
        err,
        SnmpError::Status {
            status: 1,
            index: 0
        }
    );
    assert!(err.to_string().contains("tooBig"), "{err}");
    // A GETBULK asking for far too much gets what fits.
    let r = c
        .get_bulk(&t, 0, 100_000, &[oid("1.3.6.1.2.1")])
        .await
        .expect("bulk");
    assert!(
        !r.varbinds.is_empty() && r.varbinds.len() <= 512,
        "{}",
        r.varbinds.len()
    );
}
