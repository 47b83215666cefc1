//! A request whose future is dropped mid-exchange (the scheduler cancels a
//! check after its budget, a `tokio::time::timeout` around it fires) must
//! leave nothing behind in the client: its pending entry goes with it, and
//! an answer that comes afterwards is counted as unknown and reaches nobody.
//! Real UDP on 127.0.0.1 port 0: a "black hole" agent socket that reads
//! the request and never answers.
//!
//! The client's own per-attempt timeout is long (a minute) so that only the
//! cancellation can end a request here; the waits are on the black hole
//! having received the datagram and on `pending_len()`, not on time.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;

use toc::snmp::client::{Client, Security, SnmpError, Target};
use toc::snmp::pdu::{CommunityMessage, Message, Oid, Pdu, PduType, ScopedData, V3Message, Value};
use toc::snmp::usm::{AuthProto, EngineClock, PrivProto, UsmUser, report, stats};

const SYS_UPTIME: &str = "1.3.6.1.2.1.1.3.0";

/// Never expires during a test: only cancellation ends a request.
const FOREVER: Duration = Duration::from_secs(60);

/// How long a test waits for the receive task before failing.
const PATIENT: Duration = Duration::from_secs(10);

fn oid(s: &str) -> Oid {
    s.parse().unwrap()
}

fn client() -> Client {
    Client::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 2).unwrap()
}

async fn black_hole() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.unwrap()
}

fn v2c(addr: SocketAddr, retries: u32) -> Target {
    Target {
        addr,
        security: Security::V2c {
            community: b"public".to_vec(),
        },
        timeout: FOREVER,
        retries,
    }
}

fn v3(addr: SocketAddr) -> Target {
    Target {
        addr,
        security: Security::V3 {
            user: Arc::new(UsmUser::new(
                b"toc-cancel",
                Some((AuthProto::Sha256, b"auth-pass-256")),
                Some((PrivProto::Aes128, b"priv-pass-128")),
            )),
            context: Vec::new(),
        },
        timeout: FOREVER,
        retries: 0,
    }
}

/// Reads one datagram off the black hole: proof the request is on the wire
/// and so mid-exchange.
async fn swallow(hole: &UdpSocket) -> (Message, SocketAddr) {
    let mut buf = vec![0u8; 65_535];
    let (n, from) = tokio::time::timeout(PATIENT, hole.recv_from(&mut buf))
        .await
        .expect("the request reaches the black hole")
        .unwrap();
    (
        Message::decode(&buf[..n]).expect("a request we can decode"),
        from,
    )
}

/// Waits (bounded) until `done` holds, polling the client.
async fn until(what: &str, c: &Client, done: impl Fn(&Client) -> bool) {
    let deadline = Instant::now() + PATIENT;
    while !done(c) {
        assert!(
            Instant::now() < deadline,
            "{what}: pending {} stats {:?}",
            c.pending_len(),
            c.stats()
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test]
async fn a_request_aborted_mid_exchange_leaves_no_pending_entry() {
    let hole = black_hole().await;
    let c = client();
    let target = v2c(hole.local_addr().unwrap(), 3);
    let waiting = {
        let c = c.clone();
        tokio::spawn(async move { c.get(&target, &[oid(SYS_UPTIME)]).await })
    };
    swallow(&hole).await;
    assert_eq!(c.pending_len(), 1, "the request waits for its answer");

    // The scheduler's way: abort the task running the check.
    waiting.abort();
    assert!(waiting.await.unwrap_err().is_cancelled());
    assert_eq!(c.pending_len(), 0);
    let s = c.stats();
    assert_eq!((s.sent, s.timeouts), (1, 0), "cancelled, not timed out");
}

#[tokio::test]
async fn a_timeout_around_the_request_leaves_no_pending_entry() {
    let hole = black_hole().await;
    let c = client();
    let target = v2c(hole.local_addr().unwrap(), 0);
    // Many checks over a long Games, each cut short by its budget.
    for round in 1..=50_u64 {
        let budget =
            tokio::time::timeout(Duration::from_millis(5), c.get(&target, &[oid(SYS_UPTIME)]))
                .await;
        assert!(budget.is_err(), "round {round}: nothing can answer");
        swallow(&hole).await;
        assert_eq!(c.pending_len(), 0, "round {round}");
        assert_eq!(c.stats().sent, round);
    }
    assert_eq!(c.stats().timeouts, 0);
}

#[tokio::test]
async fn a_reply_after_cancellation_is_counted_unknown_and_delivered_nowhere() {
    let agent = black_hole().await;
    let c = client();
    let target = v2c(agent.local_addr().unwrap(), 0);
    let cancelled = {
        let (c, t) = (c.clone(), target.clone());
        tokio::spawn(async move { c.get(&t, &[oid(SYS_UPTIME)]).await })
    };
    let (Message::V2c(request), to) = swallow(&agent).await else {
        panic!("v2c request expected");
    };
    cancelled.abort();
    assert!(cancelled.await.unwrap_err().is_cancelled());
    assert_eq!(c.pending_len(), 0);

    // The agent answers after all.
    let late = reply(&request, request.pdu.request_id, Value::TimeTicks(1));
    agent.send_to(&late, to).await.unwrap();
    until("late reply", &c, |c| c.stats().received == 1).await;
    let s = c.stats();
    assert_eq!((s.unknown_id, s.malformed, s.wrong_source), (1, 0, 0));
    assert_eq!(c.pending_len(), 0);

    // The next request gets its own answer, not the late one, which comes
    // again just before it.
    let next = {
        let c = c.clone();
        tokio::spawn(async move { c.get(&target, &[oid(SYS_UPTIME)]).await })
    };
    let (Message::V2c(request2), to) = swallow(&agent).await else {
        panic!("v2c request expected");
    };
    assert_ne!(request2.pdu.request_id, request.pdu.request_id);
    agent.send_to(&late, to).await.unwrap();
    until("late reply again", &c, |c| c.stats().unknown_id == 2).await;
    let fresh = reply(&request2, request2.pdu.request_id, Value::TimeTicks(2));
    agent.send_to(&fresh, to).await.unwrap();
    let got = next.await.unwrap().expect("the fresh answer");
    assert_eq!(got.varbinds, vec![(oid(SYS_UPTIME), Value::TimeTicks(2))]);
    assert_eq!(c.pending_len(), 0);
    let s = c.stats();
    assert_eq!((s.sent, s.received, s.unknown_id), (2, 3, 2));
}

#[tokio::test]
async fn a_v3_discovery_cancelled_leaves_no_pending_entry_and_no_engine() {
    let hole = black_hole().await;
    let c = client();
    let target = v3(hole.local_addr().unwrap());
    let budget =
        tokio::time::timeout(Duration::from_millis(5), c.get(&target, &[oid(SYS_UPTIME)])).await;
    assert!(budget.is_err());
    let (Message::V3(probe, _), _) = swallow(&hole).await else {
        panic!("v3 discovery expected");
    };
    assert!(probe.usm.engine_id.is_empty(), "a discovery probe");
    assert_eq!(c.pending_len(), 0);

    // Nothing was learnt: the next request discovers again.
    let again = {
        let (c, t) = (c.clone(), target.clone());
        tokio::spawn(async move { c.get(&t, &[oid(SYS_UPTIME)]).await })
    };
    let (Message::V3(probe2, _), _) = swallow(&hole).await else {
        panic!("v3 discovery expected");
    };
    assert!(probe2.usm.engine_id.is_empty(), "discovers again");
    assert_eq!(c.pending_len(), 1);
    again.abort();
    assert!(again.await.unwrap_err().is_cancelled());
    assert_eq!(c.pending_len(), 0);
}

#[tokio::test]
async fn a_v3_request_cancelled_after_discovery_leaves_no_pending_entry() {
    let agent = black_hole().await;
    let c = client();
    let target = v3(agent.local_addr().unwrap());
    let waiting = {
        let (c, t) = (c.clone(), target.clone());
        tokio::spawn(async move { c.get(&t, &[oid(SYS_UPTIME)]).await })
    };
    // Discovery answered, then the request itself falls into the hole.
    let (Message::V3(probe, _), to) = swallow(&agent).await else {
        panic!("v3 discovery expected");
    };
    agent.send_to(&discovery_report(&probe), to).await.unwrap();
    let (Message::V3(request, _), _) = swallow(&agent).await else {
        panic!("v3 request expected");
    };
    assert_eq!(request.usm.engine_id, ENGINE_ID, "discovery was used");
    assert_eq!(c.pending_len(), 1, "only the request waits");
    waiting.abort();
    assert!(waiting.await.unwrap_err().is_cancelled());
    assert_eq!(c.pending_len(), 0);
    let s = c.stats();
    assert_eq!((s.sent, s.received, s.unknown_id), (2, 1, 0));
}

#[tokio::test]
async fn a_request_that_times_out_on_its_own_leaves_no_pending_entry() {
    let hole = black_hole().await;
    let c = client();
    let mut target = v2c(hole.local_addr().unwrap(), 1);
    target.timeout = Duration::from_millis(20);
    let r = c.get(&target, &[oid(SYS_UPTIME)]).await;
    assert!(matches!(r, Err(SnmpError::Timeout { attempts: 2, .. })));
    assert_eq!(c.pending_len(), 0);
    assert_eq!(c.stats().timeouts, 2);
}

const ENGINE_ID: &[u8] = b"\x80\x00\x1f\x88\x04cancel-v3";

fn discovery_report(probe: &V3Message) -> Vec<u8> {
    let ScopedData::Plain(scoped) = &probe.data else {
        panic!("encrypted discovery");
    };
    report(
        probe.msg_id,
        scoped.pdu.request_id,
        &[],
        EngineClock {
            id: ENGINE_ID,
            boots: 1,
            time: 100,
        },
        stats::UNKNOWN_ENGINE_IDS,
        None,
    )
}

fn reply(request: &CommunityMessage, request_id: i32, value: Value) -> Vec<u8> {
    CommunityMessage {
        community: request.community.clone(),
        pdu: Pdu {
            kind: PduType::Response,
            request_id,
            error_status: 0,
            error_index: 0,
            varbinds: vec![(oid(SYS_UPTIME), value)],
        },
    }
    .encode()
}
