//! Our SNMP client against net-snmp's snmpd, the reference agent: it must
//! read what net-snmp's own snmpget/snmpwalk read, over v2c and v3, and
//! turn refused credentials into clear reasons, not hangs.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{COMMUNITY, SYS_NAME, Snmpd, V3_USERS, have, parse_cli};
use toc::snmp::client::{Client, Security, SnmpError, Target};
use toc::snmp::usm::{AuthProto, PrivProto, UsmUser};
use toc::snmp::{Oid, Value};

const SYS_NAME_OID: &str = "1.3.6.1.2.1.1.5.0";
const SYS_UPTIME_OID: &str = "1.3.6.1.2.1.1.3.0";
const SYS_DESCR_OID: &str = "1.3.6.1.2.1.1.1.0";
const IF_OPER_STATUS: &str = "1.3.6.1.2.1.2.2.1.8";
const IF_DESCR: &str = "1.3.6.1.2.1.2.2.1.2";

fn oid(s: &str) -> Oid {
    s.parse().unwrap()
}

fn client() -> Client {
    Client::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 2).unwrap()
}

fn v2c(agent: &Snmpd, community: &str) -> Target {
    Target {
        addr: agent.addr,
        security: Security::V2c {
            community: community.as_bytes().to_vec(),
        },
        timeout: Duration::from_millis(500),
        retries: 1,
    }
}

fn proto(a: &str) -> AuthProto {
    if a == "SHA-256" {
        AuthProto::Sha256
    } else {
        AuthProto::Sha1
    }
}

fn privp(p: &str) -> PrivProto {
    if p == "AES256" {
        PrivProto::Aes256
    } else {
        PrivProto::Aes128
    }
}

fn v3(agent: &Snmpd, user: &str, a: &str, ap: &str, p: &str, pp: &str) -> Target {
    Target {
        addr: agent.addr,
        security: Security::V3 {
            user: Arc::new(UsmUser::new(
                user.as_bytes(),
                Some((proto(a), ap.as_bytes())),
                Some((privp(p), pp.as_bytes())),
            )),
            context: Vec::new(),
        },
        timeout: Duration::from_millis(500),
        retries: 1,
    }
}

fn cli_v3_args(u: &(&str, &str, &str, &str, &str)) -> Vec<String> {
    let (user, a, ap, p, pp) = *u;
    [
        "-v3", "-l", "authPriv", "-u", user, "-a", a, "-A", ap, "-x", p, "-X", pp,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// Reads sysName, sysDescr and the ifDescr/ifOperStatus columns with our
/// client and with net-snmp's tools, and compares.
async fn same_as_net_snmp(agent: &Snmpd, target: &Target, cli_args: &[&str]) {
    let c = client();
    let r = c
        .get(
            target,
            &[oid(SYS_NAME_OID), oid(SYS_DESCR_OID), oid(SYS_UPTIME_OID)],
        )
        .await
        .expect("snmpd answers");
    let theirs = parse_cli(
        &agent
            .cli("snmpget", cli_args, &[SYS_NAME_OID, SYS_DESCR_OID])
            .unwrap(),
    );
    assert_eq!(
        r.varbinds[0].1,
        Value::OctetString(SYS_NAME.as_bytes().to_vec())
    );
    assert_eq!(theirs[0].1, SYS_NAME);
    assert_eq!(r.varbinds[1].1.to_string(), theirs[1].1, "sysDescr");
    assert!(matches!(r.varbinds[2].1, Value::TimeTicks(_)));

    let cols = c
        .walk_columns(target, &[oid(IF_DESCR), oid(IF_OPER_STATUS)], 1000)
        .await
        .expect("walk")
        .columns;
    let walked = parse_cli(&agent.cli("snmpwalk", cli_args, &[IF_OPER_STATUS]).unwrap());
    let ours: Vec<(String, String)> = cols[1]
        .iter()
        .map(|(row, v)| (format!("{IF_OPER_STATUS}.{row}"), v.to_string()))
        .collect();
    assert!(!ours.is_empty(), "interfaces found");
    assert_eq!(ours, walked, "ifOperStatus as snmpwalk reads it");
    let descr = parse_cli(&agent.cli("snmpwalk", cli_args, &[IF_DESCR]).unwrap());
    let ours: Vec<String> = cols[0].iter().map(|(_, v)| v.to_string()).collect();
    assert_eq!(ours, descr.into_iter().map(|(_, v)| v).collect::<Vec<_>>());
}

#[tokio::test]
async fn v2c_reads_what_snmpget_reads() {
    if !have("snmpd") || !have("snmpget") {
        return;
    }
    let agent = Snmpd::start();
    same_as_net_snmp(&agent, &v2c(&agent, COMMUNITY), &["-v2c", "-c", COMMUNITY]).await;
}

#[tokio::test]
async fn v3_auth_priv_reads_what_snmpget_reads() {
    if !have("snmpd") || !have("snmpget") {
        return;
    }
    let agent = Snmpd::start();
    for u in V3_USERS {
        let (user, a, ap, p, pp) = *u;
        let args = cli_v3_args(u);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        same_as_net_snmp(&agent, &v3(&agent, user, a, ap, p, pp), &args).await;
    }
}

#[tokio::test]
async fn wrong_community_is_a_timeout_with_a_hint_not_a_hang() {
    if !have("snmpd") {
        return;
    }
    let agent = Snmpd::start();
    let started = Instant::now();
    let err = client()
        .get(&v2c(&agent, "not-the-community"), &[oid(SYS_NAME_OID)])
        .await
        .expect_err("refused");
    assert!(
        matches!(err, SnmpError::Timeout { attempts: 2, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("community refused"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "bounded by timeout x attempts"
    );
}

#[tokio::test]
async fn v3_refusals_have_their_own_reasons() {
    if !have("snmpd") {
        return;
    }
    let agent = Snmpd::start();
    let (user, a, ap, p, pp) = V3_USERS[0];
    let c = client();
    let cases = [
        (
            v3(&agent, user, a, "wrong-auth-pass", p, pp),
            "usmStatsWrongDigests",
        ),
        (
            v3(&agent, "nobody", a, ap, p, pp),
            "usmStatsUnknownUserNames",
        ),
    ];
    for (target, expected) in cases {
        let started = Instant::now();
        let err = c
            .get(&target, &[oid(SYS_NAME_OID)])
            .await
            .expect_err("refused");
        assert!(matches!(err, SnmpError::Auth(_)), "{expected}: {err:?}");
        assert!(err.to_string().contains(expected), "{expected}: {err}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{expected}: answered, not timed out"
        );
    }
}

#[tokio::test]
async fn wrong_privacy_passphrase_is_silence_with_a_hint() {
    // net-snmp drops a message it cannot decrypt ("error parsing
    // ScopedPDU") instead of reporting usmStatsDecryptionErrors.
    if !have("snmpd") {
        return;
    }
    let agent = Snmpd::start();
    let (user, a, ap, p, _) = V3_USERS[0];
    let err = client()
        .get(
            &v3(&agent, user, a, ap, p, "wrong-priv-pass"),
            &[oid(SYS_NAME_OID)],
        )
        .await
        .expect_err("refused");
    assert!(matches!(err, SnmpError::Timeout { .. }), "{err:?}");
    assert!(
        err.to_string().contains("privacy passphrase refused"),
        "{err}"
    );
}

#[tokio::test]
async fn no_such_object_comes_back_as_a_value() {
    if !have("snmpd") {
        return;
    }
    let agent = Snmpd::start();
    let r = client()
        .get(
            &v2c(&agent, COMMUNITY),
            &[oid("1.3.6.1.2.1.1.5.0"), oid("1.3.6.1.4.1.99999.1.0")],
        )
        .await
        .expect("answers");
    assert_eq!(r.varbinds.len(), 2);
    assert!(r.varbinds[1].1.is_exception(), "{:?}", r.varbinds[1].1);
}
