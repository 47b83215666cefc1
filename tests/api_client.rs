//! The remote console's engine handle (`toc::api::client`) against a real
//! WebSocket server on 127.0.0.1 that speaks the wire protocol over a real
//! engine (a demo of the small venues): the full snapshot, then changes;
//! a command round trip; the server killed (the link goes LOST, a command
//! is refused with the reason, one in flight too); the server back on the
//! same address with a fresh engine (its seq starts again): the client
//! reconnects and resyncs.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

use toc::api::client::{self, Target};
use toc::api::{delta, wire};
use toc::engine::{Command, EngineHandle, Identity, Link, Refusal, Role};
use toc::runtime::Live;

use support::engine::{quick, small, wait_for};

/// A WebSocket server of the wire protocol over `handle`: Hello, Full,
/// then a delta per snapshot; commands sent on to the engine. Dropping it
/// kills every connection (as SIGKILL would).
struct Server {
    addr: SocketAddr,
    tasks: JoinSet<()>,
    /// Commands received (the in-flight test holds them).
    hold: Arc<tokio::sync::Semaphore>,
}

impl Server {
    async fn start(addr: SocketAddr, handle: EngineHandle) -> Server {
        let listener = TcpListener::bind(addr).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let hold = Arc::new(tokio::sync::Semaphore::new(1000));
        let mut tasks = JoinSet::new();
        let gate = Arc::clone(&hold);
        tasks.spawn(async move {
            let mut conns = JoinSet::new();
            while let Ok((tcp, _)) = listener.accept().await {
                conns.spawn(serve(tcp, handle.clone(), Arc::clone(&gate)));
            }
        });
        Server { addr, tasks, hold }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn kill(mut self) {
        self.tasks.abort_all();
    }
}

async fn serve(
    tcp: tokio::net::TcpStream,
    handle: EngineHandle,
    hold: Arc<tokio::sync::Semaphore>,
) {
    let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    let (mut tx, mut rx) = ws.split();
    let hello = wire::ServerMsg::Hello {
        v: wire::VERSION,
        identity: handle.identity().clone(),
        server: "toc test".to_owned(),
    };
    let text = serde_json::to_string(&hello).expect("json");
    if tx.send(Message::text(text)).await.is_err() {
        return;
    }
    let mut snaps = handle.watch();
    let mut prev = Arc::clone(&snaps.borrow_and_update());
    let full = wire::ServerMsg::Full {
        snapshot: Box::new((*prev).clone()),
    };
    if tx
        .send(Message::binary(wire::encode_binary(&full)))
        .await
        .is_err()
    {
        return;
    }
    let (out_tx, mut out_rx) = tokio::sync::mpsc::channel::<Message>(64);
    let mut workers = JoinSet::new();
    loop {
        tokio::select! {
            changed = snaps.changed() => {
                if changed.is_err() { return; }
                let next = Arc::clone(&snaps.borrow_and_update());
                let msg = match delta::diff(&prev, &next) {
                    Some(d) => wire::ServerMsg::Delta { delta: Box::new(d) },
                    None => wire::ServerMsg::Full { snapshot: Box::new((*next).clone()) },
                };
                prev = next;
                if tx.send(Message::binary(wire::encode_binary(&msg))).await.is_err() { return; }
            }
            Some(out) = out_rx.recv() => {
                if tx.send(out).await.is_err() { return; }
            }
            frame = rx.next() => {
                let Some(Ok(Message::Text(text))) = frame else {
                    if matches!(frame, Some(Ok(_))) { continue; }
                    return;
                };
                let Ok(wire::ClientMsg::Command { id, command }) = serde_json::from_str(text.as_str()) else {
                    continue;
                };
                let (h, out, hold) = (handle.clone(), out_tx.clone(), Arc::clone(&hold));
                workers.spawn(async move {
                    let _permit = hold.acquire().await;
                    let reply = h.send(command).await;
                    let msg = wire::ServerMsg::Reply { id, reply };
                    let _ = out.send(Message::text(serde_json::to_string(&msg).expect("json"))).await;
                });
            }
        }
    }
}

fn duty() -> Identity {
    Identity {
        user: "dana".to_owned(),
        role: Role::DutyManager,
        venues: Vec::new(),
    }
}

async fn wait_link(handle: &EngineHandle, want: Link, limit: Duration) {
    let mut link = handle.link();
    let deadline = Instant::now() + limit;
    while *link.borrow_and_update() != want {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            tokio::time::timeout(left, link.changed()).await.is_ok(),
            "link not {want:?} within {limit:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(
    clippy::too_many_lines,
    reason = "one story: connect, follow, lose, come back"
)]
async fn follows_the_server_and_survives_its_restart() {
    let live = Live::demo(small(), quick(200)).await.expect("demo starts");
    let server = Server::start("127.0.0.1:0".parse().unwrap(), live.handle_for(duty())).await;
    let addr = server.addr;
    let remote = client::connect(
        Target::parse(&server.url()).expect("url"),
        Some("unused".to_owned()),
        client::Options::default(),
    )
    .await
    .expect("connects");
    assert_eq!(remote.identity, duty());
    let h = remote.handle.clone();
    assert_eq!(*h.link().borrow(), Link::Connected);
    let first = h.snapshot().seq;

    // Changes arrive as deltas, applied to the full snapshot.
    let s = wait_for(&h, Duration::from_secs(20), "newer snapshots", |s| {
        s.seq > first + 2
    })
    .await;
    assert_eq!(
        s.layout.venues.len(),
        live.handle().snapshot().layout.venues.len()
    );

    // A command round trip, and its event.
    let mut events = h.events();
    let done = h
        .send(Command::maintenance(
            "STA-timing",
            Duration::from_secs(3600),
            "swap",
        ))
        .await
        .expect("applied");
    assert_eq!(done.to_string(), "STA-timing: maintenance on for 1h");
    wait_for(&h, Duration::from_secs(20), "maintenance shown", |s| {
        s.maintenance.iter().any(|m| m.target == "STA-timing")
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let e = tokio::time::timeout(left, events.recv())
            .await
            .expect("an event of the command")
            .expect("events");
        if format!("{e:?}").contains("STA-timing") {
            break;
        }
    }

    // Many changes: the old engine's seq runs well ahead of a fresh one's.
    for i in 0..40 {
        let on = i % 2 == 0;
        let c = if on {
            Command::maintenance("MRN-scb", Duration::from_secs(60), "t")
        } else {
            Command::Device(toc::engine::DeviceCommand::Maintenance {
                target: "MRN-scb".to_owned(),
                on: false,
                duration: None,
                reason: String::new(),
            })
        };
        h.send(c).await.expect("maintenance toggled");
    }

    // A command in flight when the server dies is answered, not lost.
    let permits = server.hold.acquire_many(1000).await.expect("hold");
    permits.forget();
    let in_flight = tokio::spawn({
        let h = h.clone();
        async move { h.send(Command::check_now("MRN")).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.kill();
    let reply = tokio::time::timeout(Duration::from_secs(30), in_flight)
        .await
        .expect("answered")
        .expect("task");
    let Err(Refusal::Disconnected(why)) = &reply else {
        panic!("{reply:?}")
    };
    assert!(why.contains(&addr.to_string()), "{why}");
    assert!(why.contains("may or may not have been applied"), "{why}");
    wait_link(&h, Link::Lost, Duration::from_secs(30)).await;

    // While disconnected: refused at once, with the reason.
    let started = Instant::now();
    let reply = h.send(Command::check_now("MRN")).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    let Err(Refusal::Disconnected(why)) = &reply else {
        panic!("{reply:?}")
    };
    assert!(
        why.starts_with("not connected to the server at ws://"),
        "{why}"
    );
    assert!(
        reply
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains(&addr.to_string()),
        "{reply:?}"
    );
    let last_seq = h.snapshot().seq;
    live.shutdown().await;
    let busy = live_seq_ahead(last_seq).await;

    // The server back on the same address, with a fresh engine: its seq
    // starts again; the client resyncs from its full snapshot.
    let live = busy;
    let fresh = live.handle().snapshot().seq;
    assert!(fresh < last_seq, "{fresh} < {last_seq}");
    let server = Server::start(addr, live.handle_for(duty())).await;
    wait_link(&h, Link::Connected, Duration::from_secs(30)).await;
    let s = h.snapshot();
    assert!(
        s.seq <= live.handle().snapshot().seq,
        "resynced from the restarted server's full snapshot"
    );
    assert!(
        s.maintenance.iter().all(|m| m.target != "STA-timing"),
        "the fresh engine's state, not the old one's"
    );
    let done = h
        .send(Command::check_now("MRN"))
        .await
        .expect("applied again");
    assert!(done.to_string().contains("MRN"), "{done}");
    let seq = s.seq;
    wait_for(&h, Duration::from_secs(20), "deltas again", |s| {
        s.seq > seq + 2
    })
    .await;

    remote.close();
    server.kill();
    live.shutdown().await;
}

/// The restarted engine, started at once: its seq is below `seq`.
async fn live_seq_ahead(seq: u64) -> Live {
    let live = Live::demo(small(), quick(200))
        .await
        .expect("demo restarts");
    let fresh = live.handle().snapshot().seq;
    assert!(
        fresh < seq,
        "the fresh engine starts below the old: {fresh} < {seq}"
    );
    live
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::result_large_err, reason = "tungstenite's callback type")]
async fn first_connection_failures_say_why() {
    // Nothing listens: a port the OS gave and took back.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = client::connect(
        Target::parse(&format!("ws://{addr}")).unwrap(),
        None,
        client::Options::default(),
    )
    .await
    .expect_err("nothing listens");
    assert!(err.contains(&addr.to_string()), "{err}");

    // wss without a CA file is refused before dialing.
    let err = client::connect(
        Target::parse("wss://127.0.0.1:1").unwrap(),
        None,
        client::Options::default(),
    )
    .await
    .expect_err("no CA");
    assert!(err.contains("--ca FILE or TOC_CA"), "{err}");

    // A server that answers 401 to the upgrade: the token was refused.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let refuser = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let _ = tokio_tungstenite::accept_hdr_async(
                tcp,
                |_req: &tokio_tungstenite::tungstenite::handshake::server::Request, _resp| {
                    let mut r =
                        tokio_tungstenite::tungstenite::handshake::server::ErrorResponse::new(None);
                    *r.status_mut() =
                        tokio_tungstenite::tungstenite::http::StatusCode::UNAUTHORIZED;
                    Err(r)
                },
            )
            .await;
        }
    });
    let err = client::connect(
        Target::parse(&format!("http://{addr}")).unwrap(),
        Some("wrong".to_owned()),
        client::Options::default(),
    )
    .await
    .expect_err("401");
    assert!(err.contains("the server refused the token"), "{err}");
    refuser.abort();
}
