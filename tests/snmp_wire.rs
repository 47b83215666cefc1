//! Our SNMP client against bad agents over real UDP on 127.0.0.1: an
//! "evil agent" driven by hand answers with truncated, random, misaddressed
//! and oversized datagrams before the real answer. The client must return
//! the real answer, never panic, and count each dropped datagram under its
//! reason in `Client::stats()`; silence must end in `SnmpError::Timeout`;
//! replies that come late must not confuse later requests; 200 requests at
//! once must each get their own agent's answer; and v3 replies that fail
//! authentication must be dropped while the good one gets through.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::task::JoinSet;

use toc::snmp::client::{Client, Response, Security, SnmpError, StatsSnapshot, Target};
use toc::snmp::pdu::{
    CommunityMessage, Message, Oid, Pdu, PduType, ScopedData, ScopedPdu, UsmParams, V3Message,
    Value, flags,
};
use toc::snmp::usm::{AuthProto, EngineClock, LocalKeys, PrivProto, UsmUser, report, stats};

const SYS_NAME: &str = "1.3.6.1.2.1.1.5.0";
const SYS_UPTIME: &str = "1.3.6.1.2.1.1.3.0";

/// The largest UDP payload over IPv4.
const MAX: usize = 65_507;

/// Long enough never to expire on a loaded machine when an answer comes.
const PATIENT: Duration = Duration::from_secs(10);

fn oid(s: &str) -> Oid {
    s.parse().unwrap()
}

fn client(sockets: usize) -> Client {
    Client::new(IpAddr::V4(Ipv4Addr::LOCALHOST), sockets).unwrap()
}

async fn agent_socket() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.unwrap()
}

fn v2c(addr: SocketAddr, timeout: Duration, retries: u32) -> Target {
    Target {
        addr,
        security: Security::V2c {
            community: b"toc-demo@STA-core-a".to_vec(),
        },
        timeout,
        retries,
    }
}

/// Receives one v2c request on `agent`, decoded by our codec.
async fn recv_v2c(agent: &UdpSocket) -> (CommunityMessage, SocketAddr) {
    let mut buf = vec![0u8; 65_535];
    let (n, from) = agent.recv_from(&mut buf).await.unwrap();
    match Message::decode(&buf[..n]) {
        Ok(Message::V2c(m)) => (m, from),
        other => panic!("agent got something else than a v2c request: {other:?}"),
    }
}

/// The encoded Response to `request`, with `request_id` and `varbinds`.
fn v2c_reply(request: &CommunityMessage, request_id: i32, varbinds: Vec<(Oid, Value)>) -> Vec<u8> {
    CommunityMessage {
        community: request.community.clone(),
        pdu: Pdu {
            kind: PduType::Response,
            request_id,
            error_status: 0,
            error_index: 0,
            varbinds,
        },
    }
    .encode()
}

/// Deterministic noise (xorshift), so a failure can be replayed.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed.to_be_bytes()[0]
        })
        .collect()
}

/// Waits until the client's counters satisfy `done` (the receive task runs
/// on its own), failing with the counters seen after a generous deadline.
async fn settle(client: &Client, what: &str, done: impl Fn(&StatsSnapshot) -> bool) {
    let deadline = Instant::now() + PATIENT;
    loop {
        let s = client.stats();
        if done(&s) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: counters stuck at {s:?}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn text(r: &Response) -> Vec<(String, String)> {
    r.varbinds
        .iter()
        .map(|(o, v)| (o.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn evil_agent_replies_are_dropped_and_counted_until_the_real_one() {
    let agent = agent_socket().await;
    let impostor = agent_socket().await;
    let c = client(2);
    let target = v2c(agent.local_addr().unwrap(), PATIENT, 0);
    let waiting = {
        let (c, t) = (c.clone(), target.clone());
        tokio::spawn(async move { c.get(&t, &[oid(SYS_NAME)]).await })
    };

    let (request, to) = recv_v2c(&agent).await;
    assert_eq!(request.pdu.kind, PduType::Get);
    let id = request.pdu.request_id;
    let answer = vec![(
        oid(SYS_NAME),
        Value::OctetString(b"the real answer".to_vec()),
    )];
    let good = v2c_reply(&request, id, answer.clone());

    // 1. A truncated datagram: the real answer cut in half.
    agent.send_to(&good[..good.len() / 2], to).await.unwrap();
    settle(&c, "truncated", |s| s.malformed == 1).await;

    // 2. Random garbage.
    let garbage = noise(300, 0x5eed);
    assert!(Message::decode(&garbage).is_err());
    agent.send_to(&garbage, to).await.unwrap();
    settle(&c, "garbage", |s| s.malformed == 2).await;

    // 3. A valid response with another request id.
    let other_id = v2c_reply(&request, id ^ 0x2000_0000, answer.clone());
    agent.send_to(&other_id, to).await.unwrap();
    settle(&c, "wrong id", |s| s.unknown_id == 1).await;

    // 4. The right response from another socket.
    impostor.send_to(&good, to).await.unwrap();
    settle(&c, "wrong source", |s| s.wrong_source == 1).await;

    // 5. The largest UDP datagram there is, 65,507 bytes: a plausible v2c
    //    header whose lengths add up, then noise as the PDU's contents.
    let mut oversized = vec![0x30, 0x83];
    oversized.extend(&u32::try_from(MAX - 5).unwrap().to_be_bytes()[1..]);
    oversized.extend([0x02, 0x01, 0x01, 0x04, 0x06]);
    oversized.extend(b"public");
    oversized.extend([0xa2, 0x83]);
    oversized.extend(
        &u32::try_from(MAX - oversized.len() - 3)
            .unwrap()
            .to_be_bytes()[1..],
    );
    oversized.push(0xff);
    oversized.extend(noise(MAX - oversized.len(), 0xb16));
    assert_eq!(oversized.len(), MAX);
    assert!(Message::decode(&oversized).is_err());
    agent.send_to(&oversized, to).await.unwrap();
    settle(&c, "oversized", |s| s.malformed == 3).await;

    // 6. The real answer.
    agent.send_to(&good, to).await.unwrap();
    let got = waiting
        .await
        .unwrap()
        .expect("the real answer gets through");
    assert_eq!(got.varbinds, answer);

    assert_eq!(
        c.stats(),
        StatsSnapshot {
            sent: 1,
            received: 6,
            malformed: 3,
            unknown_id: 1,
            wrong_source: 1,
            bad_auth: 0,
            timeouts: 0,
        }
    );
}

#[tokio::test]
async fn garbage_then_silence_is_a_timeout_after_every_attempt() {
    let agent = agent_socket().await;
    let c = client(1);
    let timeout = Duration::from_millis(300);
    let target = v2c(agent.local_addr().unwrap(), timeout, 2);

    // The agent answers each attempt with garbage and nothing else.
    let answering = tokio::spawn(async move {
        let mut ids = Vec::new();
        for attempt in 0..3u64 {
            let (request, to) = recv_v2c(&agent).await;
            ids.push(request.pdu.request_id);
            agent.send_to(&noise(64, 7 + attempt), to).await.unwrap();
        }
        ids
    });

    let started = Instant::now();
    let result = c.get(&target, &[oid(SYS_NAME)]).await;
    let took = started.elapsed();
    match result {
        Err(SnmpError::Timeout {
            attempts,
            timeout: t,
            hint,
        }) => {
            assert_eq!((attempts, t), (3, timeout));
            // The community carries a context (`@STA-core-a`): silence
            // may mean the agent does not know it.
            assert_eq!(
                hint,
                "community refused, or the agent does not know the context"
            );
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    // Every attempt waited its whole timeout (garbage does not end it), and
    // the whole request is bounded by timeout x attempts plus slack.
    assert!(took >= timeout * 3, "gave up early: {took:?}");
    assert!(took < timeout * 3 + Duration::from_secs(5), "took {took:?}");

    let ids = answering.await.unwrap();
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        3,
        "each attempt has a fresh id: {ids:?}"
    );
    settle(&c, "garbage counted", |s| s.malformed == 3).await;
    let s = c.stats();
    assert_eq!((s.sent, s.received, s.timeouts), (3, 3, 3));
    assert_eq!((s.unknown_id, s.wrong_source, s.bad_auth), (0, 0, 0));
}

#[tokio::test]
async fn a_late_reply_is_unknown_and_does_not_answer_the_next_request() {
    let agent = agent_socket().await;
    let c = client(1);
    let target = v2c(agent.local_addr().unwrap(), Duration::from_millis(300), 0);

    // First request: the agent holds its answer past the timeout.
    let first = {
        let (c, t) = (c.clone(), target.clone());
        tokio::spawn(async move { c.get(&t, &[oid(SYS_UPTIME)]).await })
    };
    let (request1, to) = recv_v2c(&agent).await;
    let late = v2c_reply(
        &request1,
        request1.pdu.request_id,
        vec![(oid(SYS_UPTIME), Value::TimeTicks(1))],
    );
    assert!(matches!(
        first.await.unwrap(),
        Err(SnmpError::Timeout { attempts: 1, .. })
    ));
    agent.send_to(&late, to).await.unwrap();
    settle(&c, "late reply", |s| s.unknown_id == 1).await;

    // Second request: the stale answer comes again, just before the fresh
    // one. Only the fresh one answers.
    let second = {
        let (c, t) = (c.clone(), target.clone());
        tokio::spawn(async move { c.get(&t, &[oid(SYS_UPTIME)]).await })
    };
    let (request2, to) = recv_v2c(&agent).await;
    assert_ne!(request2.pdu.request_id, request1.pdu.request_id);
    agent.send_to(&late, to).await.unwrap();
    settle(&c, "stale reply again", |s| s.unknown_id == 2).await;
    let fresh = vec![(oid(SYS_UPTIME), Value::TimeTicks(2))];
    agent
        .send_to(
            &v2c_reply(&request2, request2.pdu.request_id, fresh.clone()),
            to,
        )
        .await
        .unwrap();
    assert_eq!(second.await.unwrap().unwrap().varbinds, fresh);

    let s = c.stats();
    assert_eq!((s.sent, s.received, s.timeouts), (2, 3, 1));
    assert_eq!((s.unknown_id, s.malformed, s.wrong_source), (2, 0, 0));
}

/// A tiny correct agent built on our codec: answers every GET with, for
/// each OID asked, a string naming this agent and the OID. Answers after a
/// delay that differs between agents, so replies arrive out of order.
async fn echo_agent(name: String, delay: Duration) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let socket = agent_socket().await;
    let addr = socket.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let (request, to) = recv_v2c(&socket).await;
            let varbinds = request
                .pdu
                .varbinds
                .iter()
                .map(|(o, _)| {
                    (
                        o.clone(),
                        Value::OctetString(format!("{name} {o}").into_bytes()),
                    )
                })
                .collect();
            tokio::time::sleep(delay).await;
            let reply = v2c_reply(&request, request.pdu.request_id, varbinds);
            socket.send_to(&reply, to).await.unwrap();
        }
    });
    (addr, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_requests_each_get_their_own_answer() {
    const AGENTS: u32 = 200;
    let c = client(4);
    let mut agents = Vec::new();
    for i in 0..AGENTS {
        let delay = Duration::from_millis(u64::from(i * 7 % 23));
        agents.push(echo_agent(format!("agent-{i}"), delay).await);
    }

    let mut requests = JoinSet::new();
    for (i, (addr, _)) in agents.iter().enumerate() {
        let c = c.clone();
        let target = v2c(*addr, PATIENT, 1);
        let row = oid("1.3.6.1.2.1.2.2.1.2").child(u32::try_from(i).unwrap());
        requests.spawn(async move {
            let r = c.get(&target, &[oid(SYS_NAME), row.clone()]).await;
            (i, row, r)
        });
    }
    let mut answered = HashSet::new();
    while let Some(done) = requests.join_next().await {
        let (i, row, result) = done.unwrap();
        let r = result.unwrap_or_else(|e| panic!("request {i} failed: {e}"));
        assert_eq!(
            text(&r),
            [
                (SYS_NAME.to_owned(), format!("agent-{i} {SYS_NAME}")),
                (row.to_string(), format!("agent-{i} {row}")),
            ],
            "request {i} got another agent's answer"
        );
        answered.insert(i);
    }
    assert_eq!(answered.len(), 200);

    let s = c.stats();
    assert_eq!((s.malformed, s.wrong_source, s.bad_auth), (0, 0, 0));
    // Without retries every reply is matched; a retry (a very slow machine)
    // may leave one late reply per timed-out attempt, no more.
    assert!(s.sent >= u64::from(AGENTS));
    assert!(s.unknown_id <= s.timeouts, "{s:?}");
    for (_, task) in agents {
        task.abort();
    }
}

// ---------------------------------------------------------------------------
// SNMPv3

const ENGINE_ID: &[u8] = b"\x80\x00\x1f\x88\x04evil-v3";
const BOOTS: u32 = 3;
const TIME: u32 = 4_000;

fn v3_user(priv_pass: &[u8]) -> UsmUser {
    UsmUser::new(
        b"toc-wire",
        Some((AuthProto::Sha256, b"auth-pass-256")),
        Some((PrivProto::Aes128, priv_pass)),
    )
}

/// Receives one v3 message on `agent`.
async fn recv_v3(agent: &UdpSocket) -> (V3Message, Vec<u8>, SocketAddr) {
    let mut buf = vec![0u8; 65_535];
    let (n, from) = agent.recv_from(&mut buf).await.unwrap();
    match Message::decode(&buf[..n]) {
        Ok(Message::V3(m, _)) => (m, buf[..n].to_vec(), from),
        other => panic!("agent got something else than a v3 message: {other:?}"),
    }
}

/// The report that answers a discovery probe with our engine id and clock.
fn discovery_report(probe: &V3Message) -> Vec<u8> {
    let ScopedData::Plain(scoped) = &probe.data else {
        panic!("encrypted discovery");
    };
    let engine = EngineClock {
        id: ENGINE_ID,
        boots: BOOTS,
        time: TIME,
    };
    report(
        probe.msg_id,
        scoped.pdu.request_id,
        &[],
        engine,
        stats::UNKNOWN_ENGINE_IDS,
        None,
    )
}

/// An answer as an agent sends it: `flags`, encrypted and signed with
/// `keys` when they say so. Returns the bytes and where the MAC is.
fn v3_reply(
    keys: &LocalKeys,
    msg_id: i32,
    msg_flags: u8,
    scoped: &ScopedPdu,
) -> (Vec<u8>, std::ops::Range<usize>) {
    let (data, priv_params) = if msg_flags & flags::PRIV == 0 {
        (ScopedData::Plain(scoped.clone()), Vec::new())
    } else {
        let (cipher, salt) = keys
            .encrypt(BOOTS, TIME, 0x0bad_5a17, &scoped.encode())
            .unwrap();
        (ScopedData::Encrypted(cipher), salt)
    };
    let auth = msg_flags & flags::AUTH != 0;
    let (mut bytes, range) = V3Message {
        msg_id,
        max_size: 65_507,
        flags: msg_flags,
        usm: UsmParams {
            engine_id: ENGINE_ID.to_vec(),
            engine_boots: BOOTS,
            engine_time: TIME,
            user: b"toc-wire".to_vec(),
            auth_params: vec![0; if auth { keys.mac_len() } else { 0 }],
            priv_params,
        },
        data,
    }
    .encode();
    if auth {
        keys.sign(&mut bytes, range.clone());
    }
    (bytes, range)
}

#[tokio::test]
async fn v3_replies_failing_authentication_are_dropped_and_the_good_one_gets_through() {
    let agent = agent_socket().await;
    let c = client(2);
    let user = Arc::new(v3_user(b"priv-pass-128"));
    let keys = user.localize(ENGINE_ID);
    let target = Target {
        addr: agent.local_addr().unwrap(),
        security: Security::V3 {
            user: Arc::clone(&user),
            context: b"STA-core-a".to_vec(),
        },
        timeout: PATIENT,
        retries: 0,
    };
    let waiting = {
        let (c, t) = (c.clone(), target.clone());
        tokio::spawn(async move { c.get(&t, &[oid(SYS_NAME)]).await })
    };

    // Discovery, answered honestly.
    let (probe, _, to) = recv_v3(&agent).await;
    assert_eq!(probe.flags & flags::AUTH, 0);
    agent.send_to(&discovery_report(&probe), to).await.unwrap();
    settle(&c, "discovery", |s| s.received == 1).await;

    // The GET, authenticated and encrypted under our keys.
    let (request, raw, to) = recv_v3(&agent).await;
    assert_eq!(
        request.flags & (flags::AUTH | flags::PRIV),
        flags::AUTH | flags::PRIV
    );
    let Ok(Message::V3(_, mac_at)) = Message::decode(&raw) else {
        unreachable!()
    };
    assert!(
        keys.verify(&raw, mac_at),
        "the client signs with the agent's keys"
    );
    let ScopedData::Encrypted(cipher) = &request.data else {
        panic!("authPriv request sent in the clear");
    };
    let plain = keys
        .decrypt(
            request.usm.engine_boots,
            request.usm.engine_time,
            &request.usm.priv_params,
            cipher,
        )
        .unwrap();
    let scoped = ScopedPdu::decode(&plain).unwrap();
    assert_eq!(scoped.context_name, b"STA-core-a");
    let answer = vec![(oid(SYS_NAME), Value::OctetString(b"STA-core-a".to_vec()))];
    let response = ScopedPdu {
        pdu: Pdu {
            kind: PduType::Response,
            varbinds: answer.clone(),
            ..scoped.pdu.clone()
        },
        ..scoped
    };
    let both = flags::AUTH | flags::PRIV;

    // 1. One bit of the MAC wrong.
    let (mut forged, mac_at) = v3_reply(&keys, request.msg_id, both, &response);
    forged[mac_at.start] ^= 0x01;
    agent.send_to(&forged, to).await.unwrap();
    settle(&c, "bad MAC", |s| s.bad_auth == 1).await;

    // 2. The right MAC over data encrypted with another privacy key: the
    //    MAC passes, decryption yields noise.
    let wrong_priv = v3_user(b"not-the-priv-pass").localize(ENGINE_ID);
    let (undecryptable, _) = v3_reply(&wrong_priv, request.msg_id, both, &response);
    agent.send_to(&undecryptable, to).await.unwrap();
    settle(&c, "undecryptable", |s| s.bad_auth == 2).await;

    // 3. A plain, unauthenticated response to an authenticated request.
    let (plain, _) = v3_reply(&keys, request.msg_id, 0, &response);
    agent.send_to(&plain, to).await.unwrap();
    settle(&c, "unauthenticated", |s| s.bad_auth == 3).await;

    // 4. A v2c response with the v3 request's id: the wrong version is not
    //    the answer, and does not end the request.
    let v2c_answer = CommunityMessage {
        community: b"public".to_vec(),
        pdu: Pdu {
            kind: PduType::Response,
            request_id: request.msg_id,
            error_status: 0,
            error_index: 0,
            varbinds: answer.clone(),
        },
    }
    .encode();
    agent.send_to(&v2c_answer, to).await.unwrap();
    settle(&c, "wrong version", |s| s.malformed == 1).await;

    // 5. The good reply.
    let (good, _) = v3_reply(&keys, request.msg_id, both, &response);
    agent.send_to(&good, to).await.unwrap();
    let got = waiting.await.unwrap().expect("the good reply gets through");
    assert_eq!(got.varbinds, answer);

    assert_eq!(
        c.stats(),
        StatsSnapshot {
            sent: 2,
            received: 6,
            malformed: 1,
            unknown_id: 0,
            wrong_source: 0,
            bad_auth: 3,
            timeouts: 0,
        }
    );
}
