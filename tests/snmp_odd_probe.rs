//! The SNMP probe against agents that answer oddly, as third-party peers
//! do: a small fake v2c agent written here (a tokio `UdpSocket` on
//! 127.0.0.1:0) answers GET and GETBULK from a table of OIDs, and spoils
//! its answers on purpose: varbinds reordered, one left out, a value that
//! cannot be decoded, two interfaces with one name, status values the
//! IF-MIB names, loads that are not a percent, no ifTable at all, and more
//! rows than toc reads. The real `SnmpProbe` checks it.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use toc::config::{Inventory, SourceFile};
use toc::model::CheckResult;
use toc::probe::snmp::SnmpProbe;
use toc::probe::{Outcome, Probe as _};
use toc::snmp::client::Client;
use toc::snmp::pdu::CommunityMessage;
use toc::snmp::{Message, Oid, PduType, Value};
use tokio::net::UdpSocket;

const COMMUNITY: &str = "odd";
const SYS_UPTIME: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 3, 0];
const SYS_NAME: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 5, 0];
const IF_DESCR: &[u32] = &[1, 3, 6, 1, 2, 1, 2, 2, 1, 2];
const IF_ADMIN: &[u32] = &[1, 3, 6, 1, 2, 1, 2, 2, 1, 7];
const IF_OPER: &[u32] = &[1, 3, 6, 1, 2, 1, 2, 2, 1, 8];
const IF_NAME: &[u32] = &[1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1];
const HR_PROCESSOR_LOAD: &[u32] = &[1, 3, 6, 1, 2, 1, 25, 3, 3, 1, 2];

/// How the fake agent spoils its answers to a GET.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Get {
    /// As asked.
    Plain,
    /// The varbinds in the reverse order.
    Reversed,
    /// The last varbind left out.
    Short,
    /// Reversed, then the last left out.
    ReversedShort,
}

/// A fake agent: its MIB, and how it answers a GET.
struct Agent {
    mib: BTreeMap<Oid, Value>,
    get: Get,
}

fn oid(arcs: &[u32]) -> Oid {
    Oid::new(arcs)
}

fn text(s: &str) -> Value {
    Value::OctetString(s.as_bytes().to_vec())
}

impl Agent {
    /// sysUpTime 1h, sysName `odd-agent`, and interfaces given as
    /// (ifIndex, ifName, admin, oper).
    fn new(interfaces: &[(u32, &str, i64, i64)]) -> Agent {
        let mut mib = BTreeMap::new();
        mib.insert(oid(SYS_UPTIME), Value::TimeTicks(360_000));
        mib.insert(oid(SYS_NAME), text("odd-agent"));
        for (index, name, admin, oper) in interfaces {
            mib.insert(oid(IF_DESCR).child(*index), text(&format!("port {name}")));
            mib.insert(oid(IF_ADMIN).child(*index), Value::Integer(*admin));
            mib.insert(oid(IF_OPER).child(*index), Value::Integer(*oper));
            mib.insert(oid(IF_NAME).child(*index), text(name));
        }
        Agent {
            mib,
            get: Get::Plain,
        }
    }

    fn with_get(mut self, get: Get) -> Agent {
        self.get = get;
        self
    }

    fn set(mut self, at: Oid, value: Value) -> Agent {
        self.mib.insert(at, value);
        self
    }

    /// The answer to one request, `None` for what it ignores.
    fn answer(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        let Ok(Message::V2c(mut m)) = Message::decode(bytes) else {
            return None;
        };
        if m.community != COMMUNITY.as_bytes() {
            return None;
        }
        let asked: Vec<Oid> = m.pdu.varbinds.iter().map(|(o, _)| o.clone()).collect();
        let mut varbinds: Vec<(Oid, Value)> = match m.pdu.kind {
            PduType::Get => asked
                .iter()
                .map(|o| {
                    let v = self.mib.get(o).cloned().unwrap_or(Value::NoSuchObject);
                    (o.clone(), v)
                })
                .collect(),
            PduType::GetBulk => self.bulk(&asked, m.pdu.error_index),
            _ => return None,
        };
        if m.pdu.kind == PduType::Get {
            match self.get {
                Get::Plain => {}
                Get::Reversed => varbinds.reverse(),
                Get::Short => {
                    varbinds.pop();
                }
                Get::ReversedShort => {
                    varbinds.reverse();
                    varbinds.pop();
                }
            }
        }
        m.pdu.kind = PduType::Response;
        m.pdu.error_status = 0;
        m.pdu.error_index = 0;
        m.pdu.varbinds = varbinds;
        Some(
            CommunityMessage {
                community: m.community,
                pdu: m.pdu,
            }
            .encode(),
        )
    }

    /// GETBULK with no non-repeaters: `reps` rounds of the next OID after
    /// each cursor.
    fn bulk(&self, asked: &[Oid], reps: i32) -> Vec<(Oid, Value)> {
        let mut cursors = asked.to_vec();
        let mut out = Vec::new();
        for _ in 0..reps.max(1) {
            for c in &mut cursors {
                let next = self
                    .mib
                    .range::<Oid, _>((std::ops::Bound::Excluded(&*c), std::ops::Bound::Unbounded))
                    .next();
                match next {
                    Some((o, v)) => {
                        out.push((o.clone(), v.clone()));
                        *c = o.clone();
                    }
                    None => out.push((c.clone(), Value::EndOfMibView)),
                }
            }
        }
        out
    }

    /// Serves on 127.0.0.1:0 until the test ends; the address.
    async fn serve(self) -> SocketAddr {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let addr = socket.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65_535];
            while let Ok((n, from)) = socket.recv_from(&mut buf).await {
                if let Some(reply) = buf.get(..n).and_then(|b| self.answer(b)) {
                    let _ = socket.send_to(&reply, from).await;
                }
            }
        });
        addr
    }
}

/// Checks the agent at `addr` once as a device with the extra TOML lines.
async fn check(addr: SocketAddr, extra: &str) -> Outcome {
    let text = format!(
        "[event]\nname = \"odd\"\npoll_interval = \"5s\"\ntimeout = \"500ms\"\nretries = 1\n\n\
         [profiles.v2c]\nversion = \"v2c\"\ncommunity = \"{COMMUNITY}\"\n\n\
         [[venues]]\ncode = \"ODD\"\nname = \"Odd venue\"\ncity = \"Loopback\"\n\n\
         [[venues.devices]]\nid = \"odd\"\nrole = \"switch\"\nprobe = \"snmp://{addr}\"\n\
         profile = \"v2c\"\n{extra}\n"
    );
    let (inv, _) = Inventory::parse(&SourceFile::new("odd.toml", text))
        .unwrap_or_else(|d| panic!("{}", toc::config::diag::render(&d)));
    let client = Client::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 1).unwrap();
    let probe = SnmpProbe::new(client, &inv.profiles, inv.event.retries);
    let device = inv.device("odd").expect("device").1;
    probe.check(device).await
}

fn reading<'a>(o: &'a Outcome, name: &str) -> Option<&'a str> {
    o.readings
        .iter()
        .find(|r| r.name == name)
        .map(|r| r.value.as_str())
}

fn names(o: &Outcome) -> Vec<&str> {
    o.readings.iter().map(|r| r.name.as_str()).collect()
}

fn two_ports() -> Agent {
    Agent::new(&[(1, "ge1", 1, 1), (2, "ge2", 1, 1)])
}

#[tokio::test]
async fn a_reordered_answer_is_read_by_oid() {
    let addr = two_ports().with_get(Get::Reversed).serve().await;
    let o = check(addr, "").await;
    assert_eq!(o.result, CheckResult::Ok, "{o:?}");
    assert_eq!(reading(&o, "sysUpTime"), Some("1h"), "{o:?}");
    assert_eq!(reading(&o, "sysName"), Some("odd-agent"), "{o:?}");
}

#[tokio::test]
async fn a_varbind_left_out_is_said() {
    // The GET asks sysUpTime.0 then sysName.0: the short answer leaves
    // out sysName.0.
    let addr = two_ports().with_get(Get::Short).serve().await;
    let o = check(addr, "").await;
    assert_eq!(o.result, CheckResult::Ok, "{o:?}");
    assert_eq!(reading(&o, "sysName"), Some("missing from the answer"));
    assert_eq!(reading(&o, "sysUpTime"), Some("1h"));

    // Reversed and short: sysUpTime.0 is the one left out.
    let addr = two_ports().with_get(Get::ReversedShort).serve().await;
    let o = check(addr, "").await;
    assert_eq!(
        o.result,
        CheckResult::Unknown("sysUpTime.0: missing from the answer".to_owned()),
        "{o:?}"
    );
    assert_eq!(reading(&o, "sysUpTime"), Some("missing from the answer"));
    assert_eq!(reading(&o, "sysName"), Some("odd-agent"));
}

#[tokio::test]
async fn an_uptime_of_the_wrong_type_spoils_only_that_reading() {
    let addr = two_ports()
        .set(oid(SYS_UPTIME), Value::Counter32(5))
        .serve()
        .await;
    let o = check(addr, "interfaces = [\"ge1\"]").await;
    assert_eq!(
        o.result,
        CheckResult::Unknown("sysUpTime.0: not a TimeTicks (5)".to_owned()),
        "{o:?}"
    );
    assert_eq!(reading(&o, "sysUpTime"), Some("not a TimeTicks (5)"));
    assert_eq!(reading(&o, "sysName"), Some("odd-agent"));
    assert_eq!(reading(&o, "if.ge1"), Some("up"));
}

#[tokio::test]
async fn an_undecodable_uptime_spoils_only_that_reading() {
    // TimeTicks with nine content octets: more than 32 bits.
    let bad = Value::Undecodable {
        tag: 0x43,
        bytes: vec![1, 0, 0, 0, 0, 0, 0, 0, 0],
        reason: "placeholder",
    };
    let addr = two_ports().set(oid(SYS_UPTIME), bad).serve().await;
    let o = check(addr, "interfaces = [\"ge1\"]").await;
    let CheckResult::Unknown(reason) = &o.result else {
        panic!("not UNKNOWN: {o:?}");
    };
    assert!(
        reason.starts_with("sysUpTime.0: undecodable value (tag 0x43"),
        "{o:?}"
    );
    assert!(
        reading(&o, "sysUpTime").is_some_and(|v| v.starts_with("undecodable value")),
        "{o:?}"
    );
    assert_eq!(reading(&o, "sysName"), Some("odd-agent"));
    assert_eq!(reading(&o, "if.ge1"), Some("up"));
}

#[tokio::test]
async fn every_interface_of_a_repeated_name_is_watched() {
    let agent = Agent::new(&[(1, "solo", 1, 1), (2, "dup", 1, 2), (3, "dup", 1, 1)]);
    let addr = agent.serve().await;
    let o = check(addr, "interfaces = [\"dup\"]").await;
    assert_eq!(
        o.result,
        CheckResult::Warn("dup[2] down (admin up)".to_owned()),
        "{o:?}"
    );
    assert_eq!(
        names(&o),
        ["sysName", "sysUpTime", "if.dup[2]", "if.dup[3]"]
    );
    assert_eq!(reading(&o, "if.dup[2]"), Some("down"));
    assert_eq!(reading(&o, "if.dup[3]"), Some("up"));

    // Names ignore case when nothing matches exactly.
    let agent = Agent::new(&[(2, "dup", 1, 2), (3, "dup", 1, 2)]);
    let o = check(agent.serve().await, "interfaces = [\"DUP\"]").await;
    assert_eq!(
        o.result,
        CheckResult::Fail("all 2 watched interfaces down".to_owned()),
        "{o:?}"
    );
}

#[tokio::test]
async fn kinds_of_down_are_named() {
    let agent = Agent::new(&[(1, "np", 1, 6), (2, "lld", 1, 7), (3, "up", 1, 1)]);
    let o = check(agent.serve().await, "").await;
    assert_eq!(reading(&o, "if.np"), Some("down (notPresent)"), "{o:?}");
    assert_eq!(
        reading(&o, "if.lld"),
        Some("down (lowerLayerDown)"),
        "{o:?}"
    );
    assert_eq!(
        o.result,
        CheckResult::Warn("np (notPresent), lld (lowerLayerDown) down (admin up)".to_owned())
    );
}

#[tokio::test]
async fn loads_that_are_not_percents_are_named() {
    let agent = two_ports()
        .set(oid(HR_PROCESSOR_LOAD).child(768), Value::Integer(250))
        .set(oid(HR_PROCESSOR_LOAD).child(769), text("busy"));
    let o = check(agent.serve().await, "cpu_threshold = 85").await;
    assert_eq!(
        o.result,
        CheckResult::Warn(
            "cpu unknown: hrProcessorLoad.768: 250, not a percent, \
             hrProcessorLoad.769: not an INTEGER (busy)"
                .to_owned()
        ),
        "{o:?}"
    );
}

#[tokio::test]
async fn no_if_table_with_watched_interfaces_is_unknown() {
    let agent = Agent::new(&[]);
    let o = check(agent.serve().await, "interfaces = [\"ge1\"]").await;
    assert_eq!(
        o.result,
        CheckResult::Unknown("watched interfaces unknown: the agent has no ifTable".to_owned()),
        "{o:?}"
    );
    let o = check(Agent::new(&[]).serve().await, "").await;
    assert_eq!(o.result, CheckResult::Ok, "{o:?}");
    assert_eq!(reading(&o, "if"), Some("none: the agent has no ifTable"));
}

#[tokio::test]
async fn a_table_longer_than_toc_reads_is_cut_and_said() {
    let rows: Vec<(u32, String)> = (1..=4200).map(|i| (i, format!("ge{i}"))).collect();
    let spec: Vec<(u32, &str, i64, i64)> =
        rows.iter().map(|(i, n)| (*i, n.as_str(), 1, 1)).collect();
    let addr = Agent::new(&spec).serve().await;
    let o = check(addr, "interfaces = [\"ge1\", \"ge4150\"]").await;
    let CheckResult::Warn(reason) = &o.result else {
        panic!("not a warning: {:?}", o.result);
    };
    assert!(
        reason.starts_with("interface walk cut after ") && reason.contains("stopped at 4096 rows"),
        "{reason}"
    );
    assert!(
        reason.ends_with("interface ge4150 not among the rows read"),
        "{reason}"
    );
    assert_eq!(reading(&o, "if.ge1"), Some("up"));
    assert_eq!(reading(&o, "if.ge4150"), Some("not read (walk cut)"));
}
