//! The client against agents that answer in odd ways, each a small fake
//! agent written here: a tokio `UdpSocket` on 127.0.0.1 port 0 that
//! decodes the request and answers as the test tells it (late, with a
//! value nobody can decode, tooBig, a table with no end).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

use toc::snmp::client::{Client, Security, SnmpError, Target, Walk};
use toc::snmp::pdu::{CommunityMessage, Message, Oid, Pdu, PduType, Value, error_status};

const SYS_UPTIME: &str = "1.3.6.1.2.1.1.3.0";
const SYS_NAME: &str = "1.3.6.1.2.1.1.5.0";
const IF_DESCR: &str = "1.3.6.1.2.1.2.2.1.2";
const IF_OPER: &str = "1.3.6.1.2.1.2.2.1.8";

fn oid(s: &str) -> Oid {
    s.parse().unwrap()
}

/// What the fake agent sends back for one request: after how long, and
/// which bytes (`None`: silence).
type Answer = Option<(Duration, Vec<u8>)>;

/// A fake v2c agent; stops when dropped.
struct Agent {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts an agent on `bind` port 0 that answers the `n`th request (from
/// 0) as `answer` says.
async fn agent_on(bind: IpAddr, answer: impl Fn(usize, &Pdu) -> Answer + Send + 'static) -> Agent {
    let socket = Arc::new(UdpSocket::bind(SocketAddr::new(bind, 0)).await.unwrap());
    let addr = socket.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut buf = vec![0u8; 65_535];
        let mut n = 0;
        loop {
            let Ok((len, from)) = socket.recv_from(&mut buf).await else {
                continue;
            };
            let Ok(Message::V2c(m)) = Message::decode(&buf[..len]) else {
                continue;
            };
            if let Some((delay, bytes)) = answer(n, &m.pdu) {
                let socket = Arc::clone(&socket);
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = socket.send_to(&bytes, from).await;
                });
            }
            n += 1;
        }
    });
    Agent { addr, task }
}

async fn agent(answer: impl Fn(usize, &Pdu) -> Answer + Send + 'static) -> Agent {
    agent_on(IpAddr::V4(Ipv4Addr::LOCALHOST), answer).await
}

/// A response to `req` with these varbinds and error.
fn response(req: &Pdu, status: i32, index: i32, varbinds: Vec<(Oid, Value)>) -> Vec<u8> {
    CommunityMessage {
        community: b"public".to_vec(),
        pdu: Pdu {
            kind: PduType::Response,
            request_id: req.request_id,
            error_status: status,
            error_index: index,
            varbinds,
        },
    }
    .encode()
}

#[allow(clippy::unnecessary_wraps)]
fn now(bytes: Vec<u8>) -> Answer {
    Some((Duration::ZERO, bytes))
}

fn target(addr: SocketAddr, timeout: Duration, retries: u32) -> Target {
    Target {
        addr,
        security: Security::V2c {
            community: b"public".to_vec(),
        },
        timeout,
        retries,
    }
}

fn client() -> Client {
    Client::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 2).unwrap()
}

/// ifDescr walked from `a` as the probe walks it (2 s, no retry, up to
/// 4096 rows).
async fn walk_descr(a: &Agent) -> Result<Walk, SnmpError> {
    client()
        .walk_columns(
            &target(a.addr, Duration::from_secs(2), 0),
            &[oid(IF_DESCR)],
            4096,
        )
        .await
}

// ---------------------------------------------------------------------------
// Slow answers

/// A device that answers only the first attempt, and always just after the
/// timeout (net-snmp's `snmpget -t 0.2 -r 3` reads it): slow, not down.
/// The latency is that of the attempt answered.
#[tokio::test]
async fn a_late_answer_to_the_first_attempt_is_taken() {
    let late = Duration::from_millis(300);
    let a = agent(move |n, req| {
        (n == 0).then(|| {
            (
                late,
                response(req, 0, 0, vec![(oid(SYS_UPTIME), Value::TimeTicks(42))]),
            )
        })
    })
    .await;
    let c = client();
    let r = c
        .get(
            &target(a.addr, Duration::from_millis(200), 3),
            &[oid(SYS_UPTIME)],
        )
        .await
        .expect("the late answer counts");
    assert_eq!(r.value(&oid(SYS_UPTIME)), Some(&Value::TimeTicks(42)));
    assert!(
        r.latency >= late && r.latency < Duration::from_millis(700),
        "latency from the first attempt's send: {:?}",
        r.latency
    );
    // Taken during the second attempt: no third was sent.
    assert_eq!(c.stats().sent, 2);
    assert_eq!(c.pending_len(), 0, "every attempt's entry is gone");
}

/// The latency is that of the attempt answered: an answer to the second
/// attempt is timed from the second send, not the first.
#[tokio::test]
async fn an_answer_to_a_later_attempt_is_timed_from_its_own_send() {
    let a = agent(|n, req| {
        if n == 1 {
            now(response(
                req,
                0,
                0,
                vec![(oid(SYS_UPTIME), Value::TimeTicks(7))],
            ))
        } else {
            None
        }
    })
    .await;
    let c = client();
    let r = c
        .get(
            &target(a.addr, Duration::from_millis(300), 2),
            &[oid(SYS_UPTIME)],
        )
        .await
        .expect("answered");
    assert!(r.latency < Duration::from_millis(250), "{:?}", r.latency);
    assert_eq!(c.pending_len(), 0);
}

// ---------------------------------------------------------------------------
// Values nobody can decode

/// One bad varbind is marked, the others are read: a 9-byte `TimeTicks`, an
/// `NsapAddress` (`SMIv1` tag 0x45) and an unknown tag beside a good sysName.
#[tokio::test]
async fn an_undecodable_varbind_spoils_only_itself() {
    let bad = |tag: u8, bytes: &[u8]| Value::Undecodable {
        tag,
        bytes: bytes.to_vec(),
        reason: "",
    };
    let a = agent(move |_, req| {
        now(response(
            req,
            0,
            0,
            vec![
                (oid(SYS_UPTIME), bad(0x43, &[1, 2, 3, 4, 5, 6, 7, 8, 9])),
                (oid("1.3.6.1.2.1.1.4.0"), bad(0x45, &[0x47, 0, 0, 1])),
                (oid("1.3.6.1.2.1.1.6.0"), bad(0x49, &[1])),
                (oid(SYS_NAME), Value::OctetString(b"odd-agent".to_vec())),
            ],
        ))
    })
    .await;
    let c = client();
    let oids = [
        oid(SYS_UPTIME),
        oid("1.3.6.1.2.1.1.4.0"),
        oid("1.3.6.1.2.1.1.6.0"),
        oid(SYS_NAME),
    ];
    let r = c
        .get(&target(a.addr, Duration::from_secs(2), 0), &oids)
        .await
        .expect("a device that answers is never no answer");
    assert_eq!(
        r.value(&oid(SYS_NAME)),
        Some(&Value::OctetString(b"odd-agent".to_vec()))
    );
    for (o, tag, reason) in [
        (SYS_UPTIME, 0x43, "integer out of range"),
        ("1.3.6.1.2.1.1.4.0", 0x45, "NsapAddress"),
        ("1.3.6.1.2.1.1.6.0", 0x49, "unknown value type"),
    ] {
        match r.value(&oid(o)) {
            Some(Value::Undecodable {
                tag: t,
                reason: why,
                ..
            }) => {
                assert_eq!(*t, tag, "{o}");
                assert!(why.contains(reason), "{o}: {why}");
            }
            other => panic!("{o}: {other:?}"),
        }
    }
    assert_eq!(c.stats().malformed, 0);
}

/// A broken framing (a length running past the end) still drops the
/// datagram: nothing in it can be trusted.
#[tokio::test]
async fn a_broken_framing_still_drops_the_datagram() {
    let a = agent(|_, req| {
        let mut bytes = response(req, 0, 0, vec![(oid(SYS_UPTIME), Value::TimeTicks(1))]);
        bytes.pop();
        now(bytes)
    })
    .await;
    let c = client();
    let r = c
        .get(
            &target(a.addr, Duration::from_millis(200), 0),
            &[oid(SYS_UPTIME)],
        )
        .await;
    assert!(matches!(r, Err(SnmpError::Timeout { .. })), "{r:?}");
    assert_eq!(c.stats().malformed, 1);
}

// ---------------------------------------------------------------------------
// Walks

/// A column of `rows` rows (`row N` at index N, from 1), answered to
/// GETNEXT and GETBULK of one column; `too_big_above`: GETBULK with more
/// repetitions is answered tooBig (and GETNEXT too when 0).
fn table(rows: u32, too_big_above: i32) -> impl Fn(usize, &Pdu) -> Answer + Send + 'static {
    move |_, req| {
        let reps = match req.kind {
            PduType::GetBulk => req.error_index,
            PduType::GetNext => 1,
            _ => return None,
        };
        if reps > too_big_above.max(0) || (too_big_above == 0 && req.kind == PduType::GetNext) {
            return now(response(req, error_status::TOO_BIG, 0, Vec::new()));
        }
        let col = oid(IF_DESCR);
        let mut at = req.varbinds.first()?.0.clone();
        let mut out = Vec::new();
        for _ in 0..reps {
            let next = if at.starts_with(&col) && at.arcs().len() > col.arcs().len() {
                at.last().unwrap_or(0) + 1
            } else {
                1
            };
            if next > rows {
                out.push((oid(IF_OPER).child(1), Value::Integer(1)));
                break;
            }
            at = col.child(next);
            out.push((
                at.clone(),
                Value::OctetString(format!("row {next}").into_bytes()),
            ));
        }
        now(response(req, 0, 0, out))
    }
}

/// An agent that answers tooBig to GETBULK of more than 5 repetitions gets
/// smaller ones, and the whole table is read.
#[tokio::test]
async fn too_big_bulk_is_asked_again_smaller() {
    let a = agent(table(20, 5)).await;
    let c = client();
    let w = c
        .walk_columns(
            &target(a.addr, Duration::from_secs(2), 0),
            &[oid(IF_DESCR)],
            4096,
        )
        .await
        .expect("walked with fewer repetitions");
    assert_eq!(w.columns[0].len(), 20);
    assert_eq!(
        w.columns[0][19],
        (20, Value::OctetString(b"row 20".to_vec()))
    );
    assert_eq!(w.cut, None);
    assert!(
        w.notes.iter().any(|n| n.contains("tooBig")),
        "{:?}",
        w.notes
    );
}

/// Down to GETNEXT when even one repetition is too big for GETBULK.
#[tokio::test]
async fn too_big_bulk_goes_down_to_getnext() {
    let a = agent(move |n, req| {
        if req.kind == PduType::GetBulk {
            now(response(req, error_status::TOO_BIG, 0, Vec::new()))
        } else {
            table(3, 1)(n, req)
        }
    })
    .await;
    let w = walk_descr(&a).await.expect("walked with GETNEXT");
    assert_eq!(w.columns[0].len(), 3);
    assert!(
        w.notes.iter().any(|n| n.contains("GETNEXT")),
        "{:?}",
        w.notes
    );
}

/// tooBig to a GETNEXT of one row: the walk fails, saying why.
#[tokio::test]
async fn too_big_even_for_getnext_fails_clearly() {
    let a = agent(table(3, 0)).await;
    let e = walk_descr(&a).await.expect_err("nothing fits");
    assert!(
        e.to_string()
            .contains("tooBig even to a GETNEXT of one row"),
        "{e}"
    );
}

/// A table with no end (4104 rows asked for 4096 at most, and more behind):
/// the walk stops and says it was cut.
#[tokio::test]
async fn an_endless_table_is_cut_and_says_so() {
    let a = agent(table(u32::MAX, 48)).await;
    let w = walk_descr(&a).await.expect("walked");
    assert!(w.columns[0].len() >= 4096, "{}", w.columns[0].len());
    assert_eq!(
        w.cut.as_deref(),
        Some("stopped at 4096 rows, the most toc reads")
    );
}

/// An agent that answers a walk request with no varbinds: the walk stops
/// and says the rows may not be all.
#[tokio::test]
async fn an_empty_walk_answer_cuts_the_walk() {
    let a = agent(|n, req| {
        if n == 0 {
            table(100, 48)(n, req)
        } else {
            now(response(req, 0, 0, Vec::new()))
        }
    })
    .await;
    let w = walk_descr(&a).await.expect("walked");
    assert_eq!(w.columns[0].len(), 48);
    assert!(
        w.cut.as_deref().is_some_and(|c| c.contains("no varbinds")),
        "{:?}",
        w.cut
    );
}

// ---------------------------------------------------------------------------
// Errors and hints

/// Error index 0 is about the request, not a varbind.
#[tokio::test]
async fn error_index_zero_is_the_whole_request() {
    let a = agent(|_, req| now(response(req, error_status::GEN_ERR, 0, Vec::new()))).await;
    let e = client()
        .get(&target(a.addr, Duration::from_secs(2), 0), &[oid(SYS_NAME)])
        .await
        .expect_err("genErr");
    assert_eq!(
        e.to_string(),
        "agent answered genErr (for the whole request)"
    );
}

/// A v2c request with a context (`community@context`) that gets no answer
/// says the context may be unknown to the agent.
#[tokio::test]
async fn silence_to_a_context_mentions_the_context() {
    let a = agent(|_, _| None).await;
    let mut t = target(a.addr, Duration::from_millis(50), 0);
    t.security = Security::V2c {
        community: b"public@vlan-12".to_vec(),
    };
    let e = client()
        .get(&t, &[oid(SYS_NAME)])
        .await
        .expect_err("silence");
    assert!(
        e.to_string()
            .ends_with("community refused, or the agent does not know the context"),
        "{e}"
    );
    let e = client()
        .get(
            &target(a.addr, Duration::from_millis(50), 0),
            &[oid(SYS_NAME)],
        )
        .await
        .expect_err("silence");
    assert!(!e.to_string().contains("context"), "{e}");
}

// ---------------------------------------------------------------------------
// IPv6

/// A dual-stack client reaches IPv4 and IPv6 agents alike.
#[tokio::test]
async fn dual_stack_reaches_both_families() {
    let Ok(probe) = std::net::UdpSocket::bind("[::1]:0") else {
        eprintln!("skipped: no IPv6 loopback on this host");
        return;
    };
    drop(probe);
    let answer = |_: usize, req: &Pdu| {
        now(response(
            req,
            0,
            0,
            vec![(oid(SYS_NAME), Value::OctetString(b"v6".to_vec()))],
        ))
    };
    let a6 = agent_on(IpAddr::V6(Ipv6Addr::LOCALHOST), answer).await;
    let a4 = agent(answer).await;
    let c = Client::dual_stack(1).unwrap();
    for addr in [a6.addr, a4.addr] {
        let r = c
            .get(&target(addr, Duration::from_secs(2), 0), &[oid(SYS_NAME)])
            .await
            .unwrap_or_else(|e| panic!("{addr}: {e}"));
        assert_eq!(
            r.value(&oid(SYS_NAME)),
            Some(&Value::OctetString(b"v6".to_vec()))
        );
    }
}

/// A client with IPv4 sockets only says so for an IPv6 target, instead of
/// the system's "Address family not supported".
#[tokio::test]
async fn an_ipv4_client_says_it_has_no_ipv6() {
    let e = client()
        .get(
            &target("[::1]:161".parse().unwrap(), Duration::from_millis(50), 0),
            &[oid(SYS_NAME)],
        )
        .await
        .expect_err("no IPv6 socket");
    assert!(e.to_string().contains("no IPv6 socket"), "{e}");
    assert!(!e.to_string().contains("os error"), "{e}");
}
