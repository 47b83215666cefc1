//! The client against net-snmp's snmpd as third-party peers see it: on
//! IPv6 loopback, and with AES-256 users of both key extensions (net-snmp's
//! `AES-256`, after the Blumenthal draft, and `AES-256-C`, Cisco's, after
//! the Reeder draft). Real snmpd, port 0, port read from `/proc`.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use support::{COMMUNITY, SYS_NAME, Snmpd, have, have_ipv6_loopback};
use toc::snmp::client::{Client, Security, SnmpError, Target};
use toc::snmp::pdu::{Oid, Value};
use toc::snmp::usm::{AuthProto, PrivProto, UsmUser};

const SYS_NAME_OID: &str = "1.3.6.1.2.1.1.5.0";
const IF_DESCR: &str = "1.3.6.1.2.1.2.2.1.2";

const AUTH_PASS: &str = "auth-pass-peers";
const PRIV_PASS: &str = "priv-pass-peers";

/// Two users alike but for the key extension of their AES-256 key.
fn users() -> String {
    format!(
        "createUser toc-blu SHA \"{AUTH_PASS}\" AES-256 \"{PRIV_PASS}\"\nrouser toc-blu priv\n\
         createUser toc-cis SHA \"{AUTH_PASS}\" AES-256-C \"{PRIV_PASS}\"\nrouser toc-cis priv\n\
         createUser toc-c192 SHA \"{AUTH_PASS}\" AES-192-C \"{PRIV_PASS}\"\nrouser toc-c192 priv"
    )
}

fn oid(s: &str) -> Oid {
    s.parse().unwrap()
}

fn v3(agent: &Snmpd, user: &str, privacy: PrivProto) -> Target {
    Target {
        addr: agent.addr,
        security: Security::V3 {
            user: Arc::new(UsmUser::new(
                user.as_bytes(),
                Some((AuthProto::Sha1, AUTH_PASS.as_bytes())),
                Some((privacy, PRIV_PASS.as_bytes())),
            )),
            context: Vec::new(),
        },
        timeout: Duration::from_millis(400),
        retries: 0,
    }
}

fn sys_name(r: &toc::snmp::client::Response) -> Option<&Value> {
    r.value(&oid(SYS_NAME_OID))
}

/// Each user is read with its own key extension, and only with it: the
/// other one is silence, which the hint names.
#[tokio::test]
async fn aes256_with_either_key_extension() {
    if !have("snmpd") {
        return;
    }
    let agent = Snmpd::start_v4_with(&users());
    let c = Client::dual_stack(1).unwrap();
    for (user, right, wrong) in [
        ("toc-blu", PrivProto::Aes256, PrivProto::Aes256C),
        ("toc-cis", PrivProto::Aes256C, PrivProto::Aes256),
        ("toc-c192", PrivProto::Aes192C, PrivProto::Aes192),
    ] {
        let r = c
            .get(&v3(&agent, user, right), &[oid(SYS_NAME_OID)])
            .await
            .unwrap_or_else(|e| panic!("{user} with {right}: {e}"));
        assert_eq!(
            sys_name(&r),
            Some(&Value::OctetString(SYS_NAME.as_bytes().to_vec())),
            "{user}"
        );
        let e = c
            .get(&v3(&agent, user, wrong), &[oid(SYS_NAME_OID)])
            .await
            .expect_err("the other key extension cannot decrypt");
        assert!(
            matches!(e, SnmpError::Timeout { .. }),
            "{user} with {wrong}: {e}"
        );
        assert!(
            e.to_string()
                .contains(&format!("key extension ({wrong} with")),
            "{user} with {wrong}: {e}"
        );
    }
}

/// A v3 request in a context snmpd does not serve: snmpd is silent, and
/// the hint says the context may be why.
#[tokio::test]
async fn an_unknown_v3_context_is_named() {
    if !have("snmpd") {
        return;
    }
    let agent = Snmpd::start_v4_with(&users());
    let mut t = v3(&agent, "toc-blu", PrivProto::Aes256);
    if let Security::V3 { context, .. } = &mut t.security {
        *context = b"no-such-vlan".to_vec();
    }
    let e = Client::dual_stack(1)
        .unwrap()
        .get(&t, &[oid(SYS_NAME_OID)])
        .await
        .expect_err("unknown context");
    assert!(matches!(e, SnmpError::Timeout { .. }), "{e}");
    assert!(
        e.to_string()
            .ends_with("refused, or the agent does not know the context"),
        "{e}"
    );
}

/// v2c and v3 to snmpd on `::1`, with a dual-stack client; a walk
/// too.
#[tokio::test]
async fn snmpd_on_ipv6_loopback() {
    if !have("snmpd") || !have_ipv6_loopback() {
        eprintln!("skipped: no snmpd or no IPv6 loopback");
        return;
    }
    let agent = Snmpd::start_v6(&users());
    assert!(agent.addr.is_ipv6());
    let c = Client::dual_stack(1).unwrap();
    let v2c = Target {
        addr: agent.addr,
        security: Security::V2c {
            community: COMMUNITY.as_bytes().to_vec(),
        },
        timeout: Duration::from_secs(1),
        retries: 1,
    };
    let r = c
        .get(&v2c, &[oid(SYS_NAME_OID)])
        .await
        .expect("v2c over IPv6");
    assert_eq!(
        sys_name(&r),
        Some(&Value::OctetString(SYS_NAME.as_bytes().to_vec()))
    );
    let w = c
        .walk_columns(&v2c, &[oid(IF_DESCR)], 4096)
        .await
        .expect("walk over IPv6");
    assert!(!w.columns[0].is_empty(), "lo at least");
    assert_eq!(w.cut, None);
    let r = c
        .get(
            &v3(&agent, "toc-cis", PrivProto::Aes256C),
            &[oid(SYS_NAME_OID)],
        )
        .await
        .expect("v3 over IPv6");
    assert_eq!(
        sys_name(&r),
        Some(&Value::OctetString(SYS_NAME.as_bytes().to_vec()))
    );
    // A client bound to IPv6 only reaches it too.
    let c6 = Client::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 1).unwrap();
    assert!(c6.get(&v2c, &[oid(SYS_NAME_OID)]).await.is_ok());
}

// ---------------------------------------------------------------------------
// What `toc check` and `toc probe` say of v3 passphrases (through the
// binary: the passphrases are environment variables).

const V3_FILE: &str = r#"[event]
name = "t"

[profiles.core-v3]
version = "v3"
user = "toc-poller"
auth = "sha"
auth_passphrase_env = "TOC_PEERS_AUTH"
privacy = "aes256c"
privacy_passphrase_env = "TOC_PEERS_PRIV"

[[venues]]
code = "STA"
name = "Stade"
city = "Paris"

[[venues.devices]]
id = "STA-core"
role = "switch"
probe = "snmp://[::1]:161"
profile = "core-v3"
"#;

fn toc(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_toc"));
    cmd.args(args);
    for var in [
        "TOC_SNMP_AUTH",
        "TOC_SNMP_PRIV",
        "TOC_PEERS_AUTH",
        "TOC_PEERS_PRIV",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    let out = cmd.output().expect("toc runs");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A passphrase under 8 characters is an error of `toc check` at the
/// variable's line:column; an empty variable is as good as unset (a
/// warning, never a passphrase).
#[test]
fn check_refuses_short_passphrases_and_takes_empty_as_unset() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("venues.toml");
    std::fs::write(&path, V3_FILE).unwrap();
    let file = path.to_str().unwrap();
    let (code, out) = toc(
        &["check", file],
        &[
            ("TOC_PEERS_AUTH", "short"),
            ("TOC_PEERS_PRIV", "long-enough-1"),
        ],
    );
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(&format!(
            "{file}:8:23: error: the passphrase in `TOC_PEERS_AUTH` (profile `core-v3`) is shorter than 8 characters"
        )),
        "{out}"
    );
    let (code, out) = toc(
        &["check", file],
        &[("TOC_PEERS_AUTH", "long-enough-1"), ("TOC_PEERS_PRIV", "")],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("`TOC_PEERS_PRIV` of profile `core-v3` is not set (or empty)"),
        "{out}"
    );
}

/// `toc probe` refuses a short passphrase before any request, and an empty
/// `TOC_SNMP_PRIV=` is unset, not an empty passphrase.
#[test]
fn probe_refuses_short_passphrases_and_takes_empty_as_unset() {
    let base = [
        "probe",
        "snmp://127.0.0.1:9",
        "-u",
        "u",
        "-a",
        "sha",
        "-x",
        "AES-256-C",
        "-t",
        "100ms",
        "-r",
        "0",
    ];
    let (code, out) = toc(
        &base,
        &[
            ("TOC_SNMP_AUTH", "short"),
            ("TOC_SNMP_PRIV", "long-enough-1"),
        ],
    );
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("`TOC_SNMP_AUTH` (profile `cli`) is shorter than 8 characters"),
        "{out}"
    );
    let (code, out) = toc(
        &base,
        &[("TOC_SNMP_AUTH", "long-enough-1"), ("TOC_SNMP_PRIV", "")],
    );
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("TOC_SNMP_PRIV is not set"), "{out}");
}
