//! SNMP as third-party peers see it: snmpsim (pysnmp's simulator) serving
//! the recordings it ships (a Cisco 3750 stack with 59 interfaces, a Linux
//! host, a Windows XP host whose `ifDescr` ends in NUL), read by toc's
//! client, its SNMP probe and `toc probe`, must give what net-snmp's
//! snmpget and snmpwalk read from the same recording.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::format_push_string)]

mod support;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::time::Duration;

use support::snmpsim::{CISCO_3750, LINUX, Raw, SimUser, Snmpsim, WINDOWS_XP, have_snmpsim};
use toc::config::Inventory;
use toc::model::CheckResult;
use toc::probe::snmp::SnmpProbe;
use toc::probe::{Outcome, Probe as _};
use toc::snmp::client::{Client, Security, Target};
use toc::snmp::{Oid, Value};

const SYS_UPTIME: &str = "1.3.6.1.2.1.1.3.0";
const SYS_NAME: &str = "1.3.6.1.2.1.1.5.0";
const IF_NUMBER: &str = "1.3.6.1.2.1.2.1.0";
const IF_DESCR: &str = "1.3.6.1.2.1.2.2.1.2";
const IF_ADMIN: &str = "1.3.6.1.2.1.2.2.1.7";
const IF_OPER: &str = "1.3.6.1.2.1.2.2.1.8";
const IF_NAME: &str = "1.3.6.1.2.1.31.1.1.1.1";
const COLUMNS: [&str; 4] = [IF_DESCR, IF_ADMIN, IF_OPER, IF_NAME];

/// The Windows loopback's `ifDescr`, without the NUL the agent sends.
const WIN_LOOPBACK: &str = "MS TCP Loopback interface";

fn oid(s: &str) -> Oid {
    s.parse().unwrap()
}

fn client() -> Client {
    Client::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 2).unwrap()
}

fn v2c(sim: &Snmpsim, community: &str) -> Target {
    Target {
        addr: sim.addr,
        security: Security::V2c {
            community: community.as_bytes().to_vec(),
        },
        timeout: Duration::from_secs(2),
        retries: 1,
    }
}

/// A toc value as net-snmp prints it with `-Ox -Oe -Ot`.
fn raw(v: &Value) -> Raw {
    match v {
        Value::OctetString(b) => Raw::Bytes(b.clone()),
        Value::Integer(n) => Raw::Text(n.to_string()),
        Value::TimeTicks(t) => Raw::Text(t.to_string()),
        other => Raw::Text(other.to_string()),
    }
}

/// A name as toc shows it: trailing NULs are not part of it.
fn name_of(raw: &Raw) -> String {
    raw.text().trim_end_matches('\0').to_owned()
}

/// The interfaces as net-snmp reads them: (name, state word) in ifIndex
/// order, the name being `ifName`, else `ifDescr`.
fn interfaces_per_net_snmp(sim: &Snmpsim, args: &[&str]) -> Vec<(String, String)> {
    let [descr, admin, oper, names] = COLUMNS.map(|c| sim.column(args, c));
    descr
        .iter()
        .map(|(index, d)| {
            let name = names
                .get(index)
                .map(name_of)
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| name_of(d));
            let state = match (
                admin.get(index).map(Raw::text).as_deref(),
                oper.get(index).map(Raw::text).as_deref(),
            ) {
                (Some("2"), _) => "admin-down",
                (Some("3"), _) | (_, Some("3")) => "testing",
                (_, Some("1")) => "up",
                (_, Some("2" | "6" | "7")) => "down",
                (_, Some("5")) => "dormant",
                _ => "unknown",
            };
            (name, state.to_owned())
        })
        .collect()
}

/// toc's client reads sysName, sysUpTime and the four interface columns
/// exactly as net-snmp does, byte for byte.
async fn client_reads_like_net_snmp(sim: &Snmpsim, community: &str) {
    let args = ["-v2c", "-c", community];
    let target = v2c(sim, community);
    let c = client();
    let got = c
        .get(&target, &[oid(SYS_NAME), oid(SYS_UPTIME)])
        .await
        .unwrap_or_else(|e| panic!("{community}: {e}"));
    let theirs = sim.read("snmpget", &args, &[SYS_NAME, SYS_UPTIME]);
    for (o, v) in theirs {
        assert_eq!(
            got.value(&oid(&o)).map(raw),
            Some(v),
            "{community}: {o} as snmpget reads it"
        );
    }
    let walk = c
        .walk_columns(&target, &COLUMNS.map(oid), 4096)
        .await
        .unwrap_or_else(|e| panic!("{community}: {e}"));
    assert_eq!(walk.cut, None, "{community}: the whole table");
    for (col, ours) in COLUMNS.iter().zip(&walk.columns) {
        let ours: BTreeMap<u32, Raw> = ours.iter().map(|(row, v)| (*row, raw(v))).collect();
        assert_eq!(
            ours,
            sim.column(&args, col),
            "{community}: {col} as snmpwalk reads it"
        );
    }
}

/// A one-device inventory whose device polls `sim` (`extra`: more TOML
/// lines for the device).
fn inventory(sim: &Snmpsim, extra: &str) -> Inventory {
    let text = format!(
        "[event]\nname = \"snmpsim\"\npoll_interval = \"5s\"\ntimeout = \"2s\"\nretries = 1\n\
         max_attempts = 3\n\n[profiles.v2c]\nversion = \"v2c\"\ncommunity = \"public\"\n\n\
         [[venues]]\ncode = \"SIM\"\nname = \"Recordings\"\ncity = \"Loopback\"\n\
         sports = [\"Testing\"]\n\n[[venues.devices]]\nid = \"SIM-rec\"\nrole = \"switch\"\n\
         probe = \"snmp://127.0.0.1:{}\"\nprofile = \"v2c\"\n{extra}\n",
        sim.addr.port()
    );
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    let (inv, _warnings) = Inventory::load(file.path())
        .unwrap_or_else(|d| panic!("{}", toc::config::diag::render(&d)));
    inv
}

/// toc's SNMP probe on the recording served as `community`.
async fn probe(sim: &Snmpsim, community: &str, extra: &str) -> Outcome {
    let inv = inventory(sim, extra);
    let security = Security::V2c {
        community: community.as_bytes().to_vec(),
    };
    let device = inv.device("SIM-rec").expect("device").1;
    SnmpProbe::with_security(client(), security, 1)
        .check(device)
        .await
}

fn reading<'a>(o: &'a Outcome, name: &str) -> Option<&'a str> {
    o.readings
        .iter()
        .find(|r| r.name == name)
        .map(|r| r.value.as_str())
}

fn interface_readings(o: &Outcome) -> Vec<(String, String)> {
    o.readings
        .iter()
        .filter_map(|r| Some((r.name.strip_prefix("if.")?.to_owned(), r.value.clone())))
        .collect()
}

/// The first unit of toc's uptime for `ticks` (`80d`, `13m`): toc writes
/// uptimes for people, so the test checks they agree on the largest unit.
fn uptime_head(ticks: u64) -> String {
    let s = ticks / 100;
    let (d, h, m) = (s / 86_400, s / 3600 % 24, s / 60 % 60);
    if d > 0 {
        format!("{d}d")
    } else if h > 0 {
        format!("{h}h")
    } else if m > 0 {
        format!("{m}m")
    } else {
        format!("{s}s")
    }
}

/// The probe's readings and verdict agree with net-snmp's reading of the
/// same recording; returns the interfaces.
async fn probe_reads_like_net_snmp(sim: &Snmpsim, community: &str) -> Vec<(String, String)> {
    let args = ["-v2c", "-c", community];
    let o = probe(sim, community, "").await;
    let sys = sim.read("snmpget", &args, &[SYS_NAME, SYS_UPTIME]);
    assert_eq!(
        reading(&o, "sysName"),
        Some(sys[0].1.text().as_str()),
        "{community}: {o:?}"
    );
    let ticks: u64 = sys[1].1.text().parse().unwrap();
    let uptime = reading(&o, "sysUpTime").unwrap_or_default();
    assert!(
        uptime.starts_with(&uptime_head(ticks)),
        "{community}: sysUpTime {uptime} for {ticks} ticks"
    );
    let listed = interfaces_per_net_snmp(sim, &args);
    assert!(!listed.is_empty(), "{community}: net-snmp lists interfaces");
    assert_eq!(
        interface_readings(&o),
        listed,
        "{community}: every interface, as net-snmp reads it"
    );
    if listed.iter().any(|(_, s)| s == "down") {
        assert!(
            matches!(o.result, CheckResult::Warn(_) | CheckResult::Fail(_)),
            "{community}: {o:?}"
        );
    } else {
        assert_eq!(o.result, CheckResult::Ok, "{community}: {o:?}");
    }
    listed
}

#[tokio::test]
async fn cisco_3750_with_59_interfaces_reads_like_net_snmp() {
    if !have_snmpsim() {
        return;
    }
    let sim = Snmpsim::start(&[("cisco3750", CISCO_3750)], None);
    let args = ["-v2c", "-c", "cisco3750"];
    let sys = sim.read("snmpget", &args, &[SYS_NAME, IF_NUMBER]);
    assert_eq!(sys[0].1.text(), "Profiler3750", "the 3750 recording");
    assert_eq!(sys[1].1.text(), "59", "ifNumber");
    client_reads_like_net_snmp(&sim, "cisco3750").await;
    let listed = probe_reads_like_net_snmp(&sim, "cisco3750").await;
    assert_eq!(listed.len(), 59, "{listed:?}");
}

#[tokio::test]
async fn linux_host_reads_like_net_snmp() {
    if !have_snmpsim() {
        return;
    }
    let sim = Snmpsim::start(&[("linux", LINUX)], None);
    client_reads_like_net_snmp(&sim, "linux").await;
    let listed = probe_reads_like_net_snmp(&sim, "linux").await;
    let names: Vec<&str> = listed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["lo", "eth0"]);
}

#[tokio::test]
async fn windows_nul_terminated_ifdescr_reads_like_net_snmp_and_is_matched_by_name() {
    if !have_snmpsim() {
        return;
    }
    let sim = Snmpsim::start(&[("winxp", WINDOWS_XP)], None);
    let args = ["-v2c", "-c", "winxp"];
    // The recording is what this test is about: NUL-terminated names and
    // no ifName to fall back on.
    let descr = sim.column(&args, IF_DESCR);
    assert!(
        descr
            .values()
            .all(|d| matches!(d, Raw::Bytes(b) if b.last() == Some(&0))),
        "{descr:?}"
    );
    assert!(sim.column(&args, IF_NAME).is_empty());

    client_reads_like_net_snmp(&sim, "winxp").await;
    let listed = probe_reads_like_net_snmp(&sim, "winxp").await;
    assert!(listed.iter().any(|(n, s)| n == WIN_LOOPBACK && s == "up"));

    // Watched by name, as a venues file writes it.
    let o = probe(&sim, "winxp", &format!("interfaces = [\"{WIN_LOOPBACK}\"]")).await;
    assert_eq!(o.result, CheckResult::Ok, "{o:?}");
    assert_eq!(
        interface_readings(&o),
        [(WIN_LOOPBACK.to_owned(), "up".to_owned())]
    );

    // And as a technician types it.
    let (code, out, err) = toc_probe(&sim, &["-c", "winxp", "-i", WIN_LOOPBACK], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        cli_interfaces(&out),
        [(WIN_LOOPBACK.to_owned(), "up".to_owned())],
        "{out}"
    );
}

/// Runs `toc probe snmp://SIM ARGS` with `env`; (exit code, stdout,
/// stderr).
fn toc_probe(sim: &Snmpsim, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_toc"))
        .arg("probe")
        .arg(format!("snmp://{}", sim.addr))
        .args(args)
        .env_remove("TOC_SNMP_AUTH")
        .env_remove("TOC_SNMP_PRIV")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The `if.NAME   state` lines `toc probe` prints (names are padded to a
/// column with at least two spaces).
fn cli_interfaces(out: &str) -> Vec<(String, String)> {
    out.lines()
        .filter_map(|l| {
            let (name, state) = l.trim_start().strip_prefix("if.")?.split_once("  ")?;
            Some((name.to_owned(), state.trim().to_owned()))
        })
        .collect()
}

/// `toc probe` over `SNMPv3` (`privacy` is toc's name for the simulator
/// user's privacy protocol; `netsnmp_privacy` net-snmp's) reads the Linux
/// recording, served as contextName `linux`, as net-snmp's snmpwalk does.
fn v3_reads_like_net_snmp(user: SimUser, privacy: &str, netsnmp_privacy: &str) {
    let sim = Snmpsim::start(&[("linux", LINUX)], Some(user));
    let args = [
        "-v3",
        "-l",
        "authPriv",
        "-u",
        user.name,
        "-a",
        user.auth,
        "-A",
        user.auth_pass,
        "-x",
        netsnmp_privacy,
        "-X",
        user.priv_pass,
        "-n",
        "linux",
    ];
    let listed = interfaces_per_net_snmp(&sim, &args);
    assert_eq!(listed.len(), 2, "net-snmp reads the agent over v3");
    let sys_name = sim.read("snmpget", &args, &[SYS_NAME]);
    let (code, out, err) = toc_probe(
        &sim,
        &["-u", user.name, "-a", "sha", "-x", privacy, "-n", "linux"],
        &[
            ("TOC_SNMP_AUTH", user.auth_pass),
            ("TOC_SNMP_PRIV", user.priv_pass),
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["sysName", &sys_name[0].1.text()]),
        "{out}"
    );
    assert_eq!(cli_interfaces(&out), listed, "{out}");
}

#[test]
fn v3_aes256_blumenthal_reads_like_net_snmp() {
    // snmpsim's AES256BLMT is the Blumenthal draft's key extension, which
    // net-snmp calls AES256 and toc `aes256`.
    if !have_snmpsim() {
        return;
    }
    let user = SimUser {
        name: "toc-aes256",
        auth: "SHA",
        auth_pass: "auth-pass-sha1",
        privacy: "AES256BLMT",
        priv_pass: "priv-pass-256",
    };
    v3_reads_like_net_snmp(user, "aes256", "AES256");
}

#[test]
fn v3_aes256_cisco_key_extension_reads_like_net_snmp() {
    // snmpsim's AES256 is pysnmp's usmAesCfb256Protocol, whose key
    // extension is Cisco's (the Reeder 3DES draft's): net-snmp's AES256C,
    // toc's `aes256c`.
    if !have_snmpsim() {
        return;
    }
    let user = SimUser {
        name: "toc-aes256c",
        auth: "SHA",
        auth_pass: "auth-pass-sha1",
        privacy: "AES256",
        priv_pass: "priv-pass-256c",
    };
    v3_reads_like_net_snmp(user, "aes256c", "AES256C");
}
