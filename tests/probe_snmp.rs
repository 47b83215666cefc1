//! The SNMP probe against net-snmp's snmpd: v2c and both v3 users read the
//! agent's sysName and the interfaces net-snmp's own tools list; refused
//! credentials, missing interfaces, a CPU threshold, a device context, an
//! unset secret and a reboot get the verdicts and notes an operator needs.

// `format_push_string` is for tests/support (a newer clippy lint there).
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::format_push_string)]

mod support;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{COMMUNITY, SYS_NAME, Snmpd, V3_USERS, have, parse_cli};
use toc::config::Inventory;
use toc::config::venues::{Device, ProbeTarget, Profile, Secret};
use toc::model::CheckResult;
use toc::probe::snmp::SnmpProbe;
use toc::probe::{Outcome, Probe as _};
use toc::snmp::client::{Client, Security, Target};
use toc::snmp::usm::{AuthProto, PrivProto, UsmUser};
use toc::snmp::{Oid, Value};

const IF_NAME: &str = "1.3.6.1.2.1.31.1.1.1.1";
const IF_DESCR: &str = "1.3.6.1.2.1.2.2.1.2";
const IF_ADMIN: &str = "1.3.6.1.2.1.2.2.1.7";
const IF_OPER: &str = "1.3.6.1.2.1.2.2.1.8";
const HR_PROCESSOR_LOAD: &str = "1.3.6.1.2.1.25.3.3.1.2";

/// An env var no test sets.
const UNSET_VAR: &str = "TOC_PROBE_SNMP_TEST_NEVER_SET_7C1E";

/// An inventory with one venue whose devices (`id`, profile, extra TOML
/// lines) all poll the agent on `port`. The v3 profiles name unset env
/// vars; [`with_v3_secrets`] fills in the harness's passphrases.
fn inventory(port: u16, devices: &[(&str, &str, &str)]) -> Inventory {
    let mut text = format!(
        r#"
[event]
name = "SNMP probe tests"
poll_interval = "5s"
timeout = "400ms"
retries = 1
max_attempts = 3

[profiles.v2c]
version = "v2c"
community = "{COMMUNITY}"

[profiles.wrong-v2c]
version = "v2c"
community = "not-the-community"

[profiles.unset-v3]
version = "v3"
user = "toc-sha256"
auth = "sha256"
auth_passphrase_env = "{UNSET_VAR}"
privacy = "aes128"
privacy_passphrase_env = "{UNSET_VAR}"
"#
    );
    for (i, (user, a, _, p, _)) in V3_USERS.iter().enumerate() {
        let auth = if *a == "SHA-256" { "sha256" } else { "sha" };
        let privacy = if *p == "AES256" { "aes256" } else { "aes128" };
        text.push_str(&format!(
            "\n[profiles.v3-{user}]\nversion = \"v3\"\nuser = \"{user}\"\nauth = \"{auth}\"\n\
             auth_passphrase_env = \"{UNSET_VAR}_A{i}\"\nprivacy = \"{privacy}\"\n\
             privacy_passphrase_env = \"{UNSET_VAR}_P{i}\"\n"
        ));
    }
    text.push_str(
        "\n[[venues]]\ncode = \"TST\"\nname = \"Test venue\"\ncity = \"Loopback\"\nsports = [\"Testing\"]\n",
    );
    for (id, profile, extra) in devices {
        text.push_str(&format!(
            "\n[[venues.devices]]\nid = \"{id}\"\nrole = \"switch\"\nprobe = \"snmp://127.0.0.1:{port}\"\nprofile = \"{profile}\"\n{extra}\n"
        ));
    }
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    let (inv, _warnings) = Inventory::load(file.path())
        .unwrap_or_else(|d| panic!("{}", toc::config::diag::render(&d)));
    inv
}

/// The profiles with the harness's v3 passphrases written in (the loader
/// only takes v3 secrets from env vars, which tests cannot set: unsafe
/// code is forbidden).
fn with_v3_secrets(inv: &Inventory) -> BTreeMap<String, Profile> {
    let mut profiles = inv.profiles.clone();
    for (user, _, ap, _, pp) in V3_USERS {
        let Some(Profile::V3 {
            auth_passphrase,
            privacy,
            ..
        }) = profiles.get_mut(&format!("v3-{user}"))
        else {
            panic!("profile v3-{user}");
        };
        *auth_passphrase = Secret::Literal((*ap).to_owned());
        if let Some((_, s)) = privacy {
            *s = Secret::Literal((*pp).to_owned());
        }
    }
    profiles
}

fn client() -> Client {
    Client::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 2).unwrap()
}

fn probe(inv: &Inventory) -> SnmpProbe {
    SnmpProbe::new(client(), &with_v3_secrets(inv), inv.event.retries)
}

fn device<'a>(inv: &'a Inventory, id: &str) -> &'a Device {
    inv.device(id).expect("device").1
}

fn reading<'a>(o: &'a Outcome, name: &str) -> Option<&'a str> {
    o.readings
        .iter()
        .find(|r| r.name == name)
        .map(|r| r.value.as_str())
}

/// The interfaces as net-snmp's snmpwalk lists them: (name, state word),
/// with the name the probe shows (ifName, else ifDescr).
fn interfaces_per_net_snmp(agent: &Snmpd) -> Vec<(String, String)> {
    let walk = |col: &str| -> BTreeMap<String, String> {
        let out = agent
            .cli("snmpwalk", &["-v2c", "-c", COMMUNITY], &[col])
            .unwrap_or_default();
        parse_cli(&out)
            .into_iter()
            .filter(|(oid, _)| oid.starts_with(&format!("{col}.")))
            .map(|(oid, v)| (oid[col.len() + 1..].to_owned(), v))
            .collect()
    };
    let (names, descrs, admin, oper) =
        (walk(IF_NAME), walk(IF_DESCR), walk(IF_ADMIN), walk(IF_OPER));
    let mut rows: Vec<(u32, String, String)> = descrs
        .iter()
        .map(|(index, descr)| {
            let name = names
                .get(index)
                .filter(|n| !n.is_empty())
                .unwrap_or(descr)
                .clone();
            let state = match (
                admin.get(index).map(String::as_str),
                oper.get(index).map(String::as_str),
            ) {
                (Some("2"), _) => "admin-down",
                (Some("3"), _) | (_, Some("3")) => "testing",
                (_, Some("1")) => "up",
                (_, Some("2" | "6" | "7")) => "down",
                (_, Some("5")) => "dormant",
                _ => "unknown",
            };
            (index.parse().unwrap(), name, state.to_owned())
        })
        .collect();
    rows.sort();
    rows.into_iter().map(|(_, n, s)| (n, s)).collect()
}

/// The probe's verdict and readings agree with what net-snmp reads.
fn assert_reads_like_net_snmp(o: &Outcome, listed: &[(String, String)], what: &str) {
    assert_eq!(reading(o, "sysName"), Some(SYS_NAME), "{what}: {o:?}");
    assert!(reading(o, "sysUpTime").is_some(), "{what}: {o:?}");
    assert!(o.latency.is_some(), "{what}: an answer has a latency");
    let ours: Vec<(String, String)> = o
        .readings
        .iter()
        .filter_map(|r| {
            r.name
                .strip_prefix("if.")
                .map(|n| (n.to_owned(), r.value.clone()))
        })
        .collect();
    assert!(!listed.is_empty(), "snmpd lists interfaces");
    assert_eq!(
        ours, listed,
        "{what}: every interface, as net-snmp reads it"
    );
    let any_down = listed.iter().any(|(_, s)| s == "down");
    if any_down {
        assert!(
            matches!(o.result, CheckResult::Warn(_) | CheckResult::Fail(_)),
            "{what}: {o:?}"
        );
    } else {
        assert_eq!(o.result, CheckResult::Ok, "{what}");
    }
}

#[tokio::test]
async fn v2c_and_both_v3_users_read_sysname_and_interfaces() {
    if !have("snmpd") || !have("snmpwalk") {
        return;
    }
    let agent = Snmpd::start();
    let mut devices = vec![("TST-v2c", "v2c".to_owned())];
    for (user, ..) in V3_USERS {
        devices.push(("TST-v3", format!("v3-{user}")));
    }
    let listed = interfaces_per_net_snmp(&agent);
    for (i, (id, profile)) in devices.iter().enumerate() {
        let id = format!("{id}-{i}");
        let inv = inventory(agent.addr.port(), &[(&id, profile, "")]);
        let o = probe(&inv).check(device(&inv, &id)).await;
        assert_reads_like_net_snmp(&o, &listed, profile);
    }
}

#[tokio::test]
async fn explicit_credentials_and_a_host_name_work_too() {
    if !have("snmpd") || !have("snmpwalk") {
        return;
    }
    let agent = Snmpd::start();
    let inv = inventory(agent.addr.port(), &[("TST-cli", "unset-v3", "")]);
    let mut dev = device(&inv, "TST-cli").clone();
    dev.probe = ProbeTarget::Snmp {
        host: "localhost".into(),
        port: agent.addr.port(),
    };
    let (user, _, ap, _, pp) = V3_USERS[0];
    let security = Security::V3 {
        user: Arc::new(UsmUser::new(
            user.as_bytes(),
            Some((AuthProto::Sha256, ap.as_bytes())),
            Some((PrivProto::Aes128, pp.as_bytes())),
        )),
        context: Vec::new(),
    };
    let probe = SnmpProbe::with_security(client(), security, 1);
    let o = probe.check(&dev).await;
    assert_reads_like_net_snmp(&o, &interfaces_per_net_snmp(&agent), "with_security");
}

#[tokio::test]
async fn wrong_community_fails_with_the_timeout_reason_quickly() {
    if !have("snmpd") {
        return;
    }
    let agent = Snmpd::start();
    let inv = inventory(agent.addr.port(), &[("TST-wrong", "wrong-v2c", "")]);
    let started = Instant::now();
    let o = probe(&inv).check(device(&inv, "TST-wrong")).await;
    let CheckResult::Fail(reason) = &o.result else {
        panic!("expected a Fail, got {o:?}");
    };
    assert_eq!(
        reason,
        "no answer (2 attempts, 400ms each): device down, unreachable, or community refused"
    );
    assert!(o.readings.is_empty() && o.latency.is_none(), "{o:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "bounded by timeout x attempts, took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_device_context_is_sent_with_the_community() {
    // snmpd knows no context: `toc-test@TST-ctx` is a community it refuses,
    // which shows the context went out with it.
    if !have("snmpd") {
        return;
    }
    let agent = Snmpd::start();
    let inv = inventory(
        agent.addr.port(),
        &[
            ("TST-plain", "v2c", ""),
            ("TST-ctx", "v2c", "context = \"TST-ctx\""),
        ],
    );
    let probe = probe(&inv);
    let plain = probe.check(device(&inv, "TST-plain")).await;
    assert_eq!(reading(&plain, "sysName"), Some(SYS_NAME), "{plain:?}");
    let ctx = probe.check(device(&inv, "TST-ctx")).await;
    assert!(
        matches!(&ctx.result, CheckResult::Fail(r) if r.contains("community refused")),
        "{ctx:?}"
    );
}

#[tokio::test]
async fn wrong_v3_auth_passphrase_is_unknown_with_wrong_digests() {
    if !have("snmpd") {
        return;
    }
    let agent = Snmpd::start();
    let (user, ..) = V3_USERS[1];
    let profile = format!("v3-{user}");
    let inv = inventory(agent.addr.port(), &[("TST-v3", &profile, "")]);
    let mut profiles = with_v3_secrets(&inv);
    if let Some(Profile::V3 {
        auth_passphrase, ..
    }) = profiles.get_mut(&profile)
    {
        *auth_passphrase = Secret::Literal("not-the-auth-pass".into());
    }
    let started = Instant::now();
    let o = SnmpProbe::new(client(), &profiles, 1)
        .check(device(&inv, "TST-v3"))
        .await;
    assert!(
        matches!(&o.result, CheckResult::Unknown(r) if r.contains("usmStatsWrongDigests") && r.contains(user)),
        "{o:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refused at once, not timed out"
    );
}

#[tokio::test]
async fn an_unset_secret_is_unknown_and_names_its_variable() {
    // No agent needed: the check stops before sending anything.
    let inv = inventory(9, &[("TST-unset", "unset-v3", "")]);
    let o = probe(&inv).check(device(&inv, "TST-unset")).await;
    assert_eq!(
        o.result,
        CheckResult::Unknown(format!("profile unset-v3: {UNSET_VAR} is not set"))
    );
}

#[tokio::test]
async fn a_configured_interface_the_agent_lacks_is_a_warning() {
    if !have("snmpd") {
        return;
    }
    let agent = Snmpd::start();
    let inv = inventory(
        agent.addr.port(),
        &[("TST-if", "v2c", "interfaces = [\"Te0/0/9\"]")],
    );
    let o = probe(&inv).check(device(&inv, "TST-if")).await;
    assert_eq!(
        o.result,
        CheckResult::Warn("interface Te0/0/9 not found".into())
    );
    assert_eq!(reading(&o, "if.Te0/0/9"), Some("not found"));
    assert_eq!(reading(&o, "sysName"), Some(SYS_NAME));
}

#[tokio::test]
async fn a_cpu_threshold_reads_hr_processor_load_or_says_it_is_missing() {
    if !have("snmpd") || !have("snmpwalk") {
        return;
    }
    let agent = Snmpd::start();
    // Watch one interface that is up, so only the CPU decides.
    let up = interfaces_per_net_snmp(&agent)
        .into_iter()
        .find(|(_, s)| s == "up")
        .map(|(n, _)| n)
        .expect("an interface that is up (lo)");
    let extra = format!("interfaces = [\"{up}\"]\ncpu_threshold = 100");
    let inv = inventory(agent.addr.port(), &[("TST-cpu", "v2c", &extra)]);
    let o = probe(&inv).check(device(&inv, "TST-cpu")).await;

    // What the agent has, read with the client directly.
    let target = Target {
        addr: agent.addr,
        security: Security::V2c {
            community: COMMUNITY.as_bytes().to_vec(),
        },
        timeout: Duration::from_millis(500),
        retries: 1,
    };
    let cols = client()
        .walk_columns(&target, &[HR_PROCESSOR_LOAD.parse::<Oid>().unwrap()], 1000)
        .await
        .unwrap()
        .columns;
    let loads: Vec<i64> = cols[0]
        .iter()
        .filter_map(|(_, v)| match v {
            Value::Integer(n) => Some(*n),
            _ => None,
        })
        .collect();
    if loads.is_empty() {
        assert_eq!(
            o.result,
            CheckResult::Warn("cpu_threshold set but the agent has no hrProcessorLoad".into())
        );
        assert_eq!(reading(&o, "cpu.percent"), None);
    } else {
        assert_eq!(o.result, CheckResult::Ok, "nothing is over 100%");
        let percent: i64 = reading(&o, "cpu.percent")
            .expect("cpu read")
            .parse()
            .unwrap();
        assert!((0..=100).contains(&percent), "{percent}");
    }
}

#[tokio::test]
async fn a_drop_in_sys_up_time_is_a_reboot_note() {
    // Two agents, the second started later: the same device moving from
    // the first to the second sees its sysUpTime drop.
    if !have("snmpd") {
        return;
    }
    let older = Snmpd::start();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let newer = Snmpd::start();
    let inv = inventory(older.addr.port(), &[("TST-rb", "v2c", "")]);
    let probe = probe(&inv);
    let mut dev = device(&inv, "TST-rb").clone();
    let first = probe.check(&dev).await;
    assert!(first.notes.is_empty(), "{first:?}");
    let again = probe.check(&dev).await;
    assert!(again.notes.is_empty(), "uptime went up: {again:?}");
    dev.probe = ProbeTarget::Snmp {
        host: "127.0.0.1".into(),
        port: newer.addr.port(),
    };
    let after = probe.check(&dev).await;
    assert_eq!(after.notes.len(), 1, "{after:?}");
    assert!(
        after.notes[0].starts_with("rebooted: up ") && after.notes[0].contains(", was up "),
        "{after:?}"
    );
    assert_eq!(
        after.result.status(),
        first.result.status(),
        "a reboot is a note, not a verdict"
    );
}
