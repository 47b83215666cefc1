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

/// SNMPv2c and SNMPv3 to snmpd on `::1`, with a dual-stack client; a walk
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
