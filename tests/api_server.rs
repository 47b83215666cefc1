//! The API of `toc serve` against a real engine (an in-process demo of
//! the small example) and real clients: reqwest, tokio-tungstenite, raw
//! HTTP over the Unix socket, rustls over TLS.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use std::os::unix::fs::PermissionsExt as _;

use futures_util::{SinkExt as _, StreamExt as _};
use toc::api::auth::Authenticator;
use toc::api::server::{self, Addr, ApiServer, Options, fanout};
use toc::api::{delta, wire};
use toc::config::venues::Api;
use toc::runtime::Live;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_tungstenite::tungstenite::Message;

/// How long any condition may take under load.
const LIMIT: Duration = Duration::from_secs(30);

async fn demo() -> Live {
    Live::demo(support::engine::small(), support::engine::quick(200))
        .await
        .expect("demo starts")
}

fn options(api: Api) -> Options {
    Options::new(api, Duration::from_millis(200))
}

fn loopback() -> Api {
    Api {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Api::default()
    }
}

fn http_addr(server: &ApiServer) -> std::net::SocketAddr {
    match &server.addrs()[0] {
        Addr::Http(a) | Addr::Https(a) => *a,
        Addr::Unix(_) => panic!("TCP first"),
    }
}

async fn stop(server: ApiServer, live: Live) {
    tokio::task::spawn_blocking(move || server.shutdown())
        .await
        .expect("joined");
    live.shutdown().await;
}

/// Polls `f` until it returns `Some`, within [`LIMIT`].
async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within {LIMIT:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The API on a free loopback port over `live`, with no tokens.
fn plain_server(live: &Live) -> ApiServer {
    server::start(
        &options(loopback()),
        live.handle(),
        Arc::new(Authenticator::default()),
    )
    .expect("starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_metrics_and_wall_answer_without_a_token() {
    let live = demo().await;
    let server = plain_server(&live);
    let base = format!("http://{}", http_addr(&server));
    let client = reqwest::Client::new();
    let health = eventually("/healthz says ok", || async {
        let r = client.get(format!("{base}/healthz")).send().await.ok()?;
        let ok = r.status() == 200;
        let text = r.text().await.ok()?;
        (ok && text.starts_with("ok seq=")).then_some(text)
    })
    .await;
    assert!(health.contains("age="), "{health}");
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(metrics.status(), 200);
    assert_eq!(
        metrics.headers()["content-type"],
        "text/plain; version=0.0.4"
    );
    assert!(!metrics.text().await.expect("text").is_empty());
    let wall = client
        .get(format!("{base}/wall"))
        .send()
        .await
        .expect("wall");
    assert_eq!(wall.status(), 200);
    assert!(
        wall.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(wall.text().await.expect("html"), toc::api::wall::PAGE);
    let missing = client
        .get(format!("{base}/nothing"))
        .send()
        .await
        .expect("404");
    assert_eq!(missing.status(), 404);
    stop(server, live).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_or_a_wrong_one_is_401_with_the_bearer_challenge() {
    let live = demo().await;
    let server = plain_server(&live);
    let addr = http_addr(&server);
    let client = reqwest::Client::new();
    let body = serde_json::to_string(&wire::CommandRequest {
        v: wire::VERSION,
        command: toc::engine::Command::check_now("STA-core"),
    })
    .unwrap();
    for auth in [None, Some("Bearer not-a-token"), Some("Basic abc")] {
        let mut req = client
            .post(format!("http://{addr}/api/commands"))
            .body(body.clone());
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let r = req.send().await.expect("answer");
        assert_eq!(r.status(), 401, "{auth:?}");
        assert_eq!(r.headers()["www-authenticate"], "Bearer", "{auth:?}");
        assert!(!r.text().await.unwrap().is_empty(), "a reason");
    }
    // A WebSocket with no token and no auth message is told why, then
    // closed.
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/api/ws"))
        .await
        .expect("upgrade");
    ws.send(Message::text(r#"{"type":"auth","v":1,"token":"wrong"}"#))
        .await
        .expect("send");
    let t = next_text(&mut ws).await;
    assert!(
        matches!(
            wire::decode_text(&t).unwrap(),
            wire::ServerMsg::Error { .. }
        ),
        "{t}"
    );
    // The wrong upgrade header is refused at once.
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        format!("ws://{addr}/api/ws"),
    )
    .unwrap();
    req.headers_mut()
        .insert("authorization", "Bearer wrong".parse().unwrap());
    let refused = tokio_tungstenite::connect_async(req).await;
    assert!(
        matches!(&refused, Err(tokio_tungstenite::tungstenite::Error::Http(r)) if r.status() == 401),
        "{refused:?}"
    );
    stop(server, live).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fan_out_sends_a_full_then_deltas_that_apply() {
    let live = demo().await;
    let hub = fanout::spawn(live.handle().watch(), 20);
    let mut frames = hub.subscribe();
    let full = hub.latest().full();
    let wire::ServerMsg::Full { snapshot } = wire::decode_binary(&full.bytes).unwrap() else {
        panic!("not a full snapshot")
    };
    let mut have = *snapshot;
    let mut checked = 0;
    while checked < 3 {
        let frame = tokio::time::timeout(LIMIT, frames.recv())
            .await
            .expect("a frame in time")
            .expect("open");
        match fanout::step(have.seq, frame.from, frame.seq) {
            fanout::Step::Skip => continue,
            fanout::Step::Resync => panic!("a console that reads at once never lags"),
            fanout::Step::Send => {}
        }
        match wire::decode_binary(&frame.bytes).unwrap() {
            wire::ServerMsg::Delta { delta: d } => {
                have = delta::apply(&have, &d).expect("applies");
            }
            wire::ServerMsg::Full { snapshot } => have = *snapshot,
            other => panic!("{other:?}"),
        }
        // What the delta made is the full snapshot of that seq.
        let latest = hub.latest();
        if latest.snapshot.seq == have.seq {
            let wire::ServerMsg::Full { snapshot } =
                wire::decode_binary(&latest.full().bytes).unwrap()
            else {
                panic!("not a full snapshot")
            };
            // Deltas carry what the wall shows; a device's detail
            // (latency, readings, history) comes only for a focus.
            let all: Vec<u32> = (0..u32::try_from(snapshot.devices.len()).unwrap()).collect();
            let whole = delta::apply_details(&have, &delta::details(None, &snapshot, &all))
                .expect("details apply");
            assert_eq!(whole, *snapshot, "seq {}", have.seq);
            assert_eq!(have.wall, snapshot.wall);
            assert_eq!(have.venues, snapshot.venues);
            checked += 1;
        }
    }
    live.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unix_socket_answers_and_a_stale_file_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("toc.sock");
    // A socket file nobody answers on: removed at start.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let live = demo().await;
    let api = Api {
        socket: Some(path.clone()),
        ..loopback()
    };
    let server = server::start(
        &options(api.clone()),
        live.handle(),
        Arc::new(Authenticator::default()),
    )
    .expect("starts over a stale socket");
    assert_eq!(server.addrs()[1], Addr::Unix(path.clone()));
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o666
    );
    // A second server on the same live socket is refused.
    let again = server::start(
        &options(api),
        live.handle(),
        Arc::new(Authenticator::default()),
    );
    assert!(
        again
            .as_ref()
            .is_err_and(|e| e.contains("another server answers")),
        "{:?}",
        again.map(|s| s.addrs().to_vec())
    );
    let text = eventually("/healthz over the socket", || async {
        let mut s = tokio::net::UnixStream::connect(&path).await.ok()?;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: toc\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).await.ok()?;
        out.contains("ok seq=").then_some(out)
    })
    .await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    stop(server, live).await;
    assert!(!path.exists(), "the socket file is removed at shutdown");
}

#[test]
fn a_non_loopback_address_without_tls_needs_the_flag() {
    let api = Api {
        listen: "0.0.0.0:0".parse().unwrap(),
        ..Api::default()
    };
    let refused = server::check_listen(&api, false).expect_err("refused");
    assert!(refused.contains("--insecure-listen"), "{refused}");
    let warned = server::check_listen(&api, true).expect("allowed");
    assert!(warned.is_some_and(|w| w.starts_with("warning:")));
    assert_eq!(server::check_listen(&Api::default(), false), Ok(None));
    // Not loopback, but TLS: allowed without the flag, and no warning.
    let (tls, _) = self_signed(tempfile::tempdir().unwrap().path());
    let tls = Api {
        tls: Some(tls),
        ..api
    };
    assert_eq!(server::check_listen(&tls, false), Ok(None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_in_use_is_an_error_that_names_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let live = demo().await;
    let api = Api {
        listen: taken.local_addr().unwrap(),
        ..Api::default()
    };
    let e = server::start(
        &options(api),
        live.handle(),
        Arc::new(Authenticator::default()),
    )
    .expect_err("in use");
    assert!(e.contains(&taken.local_addr().unwrap().to_string()), "{e}");
    live.shutdown().await;
}

/// A self-signed certificate for `localhost`, written as PEM files in
/// `dir`; returns the TLS settings and the certificate (DER) to trust.
fn self_signed(dir: &std::path::Path) -> (toc::config::venues::ApiTls, Vec<u8>) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    (
        toc::config::venues::ApiTls { cert, key },
        ck.cert.der().to_vec(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_https_and_wss_to_a_rustls_client() {
    use tokio_rustls::rustls;
    let dir = tempfile::tempdir().unwrap();
    let (tls, der) = self_signed(dir.path());
    let live = demo().await;
    let api = Api {
        tls: Some(tls),
        ..loopback()
    };
    let server = server::start(
        &options(api),
        live.handle(),
        Arc::new(Authenticator::default()),
    )
    .expect("starts with TLS");
    let Addr::Https(addr) = server.addrs()[0] else {
        panic!("{:?}", server.addrs())
    };
    let port = addr.port();
    // HTTPS with reqwest (rustls), trusting only this certificate.
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_der(&der).unwrap())
        .resolve(
            "localhost",
            std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        )
        .build()
        .unwrap();
    let text = eventually("/healthz over https", || async {
        let r = client
            .get(format!("https://localhost:{port}/healthz"))
            .send()
            .await
            .ok()?;
        let text = r.text().await.ok()?;
        text.starts_with("ok").then_some(text)
    })
    .await;
    assert!(text.contains("seq="), "{text}");
    // Plain HTTP on the TLS port gets nothing.
    let plain = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await;
    assert!(plain.is_err() || plain.is_ok_and(|r| r.status() != 200));
    // WSS with a rustls connector: the wall's view arrives.
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(der.clone()))
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let stream = connector
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .expect("TLS handshake");
    let (mut ws, _) =
        tokio_tungstenite::client_async(format!("wss://localhost:{port}/api/ws?view=wall"), stream)
            .await
            .expect("wss upgrade");
    let t = next_text(&mut ws).await;
    let view: toc::api::wall::WallView = serde_json::from_str(&t).expect("the wall's JSON");
    assert!(view.seq > 0 || t.contains("seq"), "{t}");
    stop(server, live).await;
}

/// A console's WebSocket over the Unix socket at `path` (who it is: this
/// process's OS user).
async fn unix_console(
    path: &std::path::Path,
) -> tokio_tungstenite::WebSocketStream<tokio::net::UnixStream> {
    let stream = tokio::net::UnixStream::connect(path)
        .await
        .expect("connect");
    let (ws, _) = tokio_tungstenite::client_async("ws://toc/api/ws", stream)
        .await
        .expect("upgrade");
    ws
}

/// The next message of `ws` other than a ping or a pong.
async fn next_frame<S>(ws: &mut tokio_tungstenite::WebSocketStream<S>) -> Message
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        let m = tokio::time::timeout(LIMIT, ws.next())
            .await
            .expect("a message in time")
            .expect("open")
            .expect("ok");
        if !matches!(m, Message::Ping(_) | Message::Pong(_)) {
            return m;
        }
    }
}

/// The next message of `ws`, which must be text.
async fn next_text<S>(ws: &mut tokio_tungstenite::WebSocketStream<S>) -> String
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    match next_frame(ws).await {
        Message::Text(t) => t.to_string(),
        other => panic!("not text: {other:?}"),
    }
}

/// The next message of `ws` as a server message (binary or text), pings
/// and pongs skipped.
async fn next_msg<S>(ws: &mut tokio_tungstenite::WebSocketStream<S>) -> wire::ServerMsg
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    match next_frame(ws).await {
        Message::Text(t) => wire::decode_text(&t).expect("text message"),
        Message::Binary(b) => wire::decode_binary(&b).expect("binary message"),
        other => panic!("{other:?}"),
    }
}

/// A demo, and an API on loopback and a Unix socket in `dir`, letting in
/// this process's OS user over the socket.
async fn demo_with_socket(dir: &std::path::Path) -> (Live, ApiServer, std::path::PathBuf) {
    let live = demo().await;
    let path = dir.join("toc.sock");
    let api = Api {
        socket: Some(path.clone()),
        updates_per_second: 20,
        ..loopback()
    };
    let server = server::start(&options(api), live.handle(), local_auth()).expect("starts");
    (live, server, path)
}

/// Without a users file the server's own OS user is let in over the
/// socket.
/// No users file: this OS user is a duty manager over the socket.
fn local_auth() -> Arc<Authenticator> {
    Arc::new(Authenticator::new(None))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_gets_hello_full_and_deltas_that_apply_and_sends_commands() {
    let dir = tempfile::tempdir().unwrap();
    let (live, server, path) = demo_with_socket(dir.path()).await;
    let mut ws = unix_console(&path).await;
    let wire::ServerMsg::Hello { v, identity, .. } = next_msg(&mut ws).await else {
        panic!("hello first")
    };
    assert_eq!(v, wire::VERSION);
    assert!(!identity.user.is_empty());
    let wire::ServerMsg::Full { snapshot } = next_msg(&mut ws).await else {
        panic!("full second")
    };
    let mut have = *snapshot;
    // Deltas apply to what the console has; a full may come instead.
    let mut deltas = 0;
    while deltas < 2 {
        match next_msg(&mut ws).await {
            wire::ServerMsg::Delta { delta: d } => {
                assert_eq!(d.from, have.seq);
                have = delta::apply(&have, &d).expect("applies");
                deltas += 1;
            }
            wire::ServerMsg::Full { snapshot } => have = *snapshot,
            other => panic!("{other:?}"),
        }
    }
    // A delta makes exactly the engine's snapshot of that seq.
    let engine = live.handle().snapshot();
    if engine.seq == have.seq {
        assert_eq!(engine.wall, have.wall);
        assert_eq!(engine.venues, have.venues);
        assert_eq!(engine.incidents, have.incidents);
    }
    // A focus: the whole state of its devices comes at once, for the
    // snapshot the console has (or a later one after a delta).
    let focus = wire::ClientMsg::Focus {
        focus: delta::Focus {
            venues: Vec::new(),
            devices: vec!["STA-core".to_owned()],
        },
    };
    ws.send(Message::text(serde_json::to_string(&focus).unwrap()))
        .await
        .unwrap();
    let core = have
        .layout
        .devices
        .iter()
        .position(|d| d.id == "STA-core")
        .unwrap();
    loop {
        match next_msg(&mut ws).await {
            wire::ServerMsg::Detail { seq, devices } => {
                assert_eq!(seq, have.seq);
                assert!(
                    devices.iter().any(|(i, _)| *i as usize == core),
                    "{devices:?}"
                );
                let whole = delta::apply_details(&have, &devices).expect("details apply");
                assert_eq!(whole.seq, have.seq);
                break;
            }
            wire::ServerMsg::Delta { delta: d } => have = delta::apply(&have, &d).expect("applies"),
            wire::ServerMsg::Full { snapshot } => have = *snapshot,
            other => panic!("{other:?}"),
        }
    }
    // A command over the WebSocket.
    let cmd = wire::ClientMsg::Command {
        id: 7,
        command: toc::engine::Command::check_now("STA-core"),
    };
    ws.send(Message::text(serde_json::to_string(&cmd).unwrap()))
        .await
        .unwrap();
    let reply = loop {
        if let wire::ServerMsg::Reply { id, reply } = next_msg(&mut ws).await {
            assert_eq!(id, 7);
            break reply;
        }
    };
    assert!(reply.is_ok(), "{reply:?}");
    post_over_the_socket(&path).await;
    stop(server, live).await;
}

/// `POST /api/commands` over the Unix socket: 200 with the reply; bad
/// JSON and another version: 400 with the reason.
async fn post_over_the_socket(path: &std::path::Path) {
    let path = path.to_path_buf();
    // And over POST on the socket: 200 with the reply.
    let body = serde_json::to_string(&wire::CommandRequest {
        v: wire::VERSION,
        command: toc::engine::Command::check_now("STA-core"),
    })
    .unwrap();
    let answer = raw_unix(
        &path,
        &format!(
            "POST /api/commands HTTP/1.1\r\nHost: toc\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let json = answer.split("\r\n\r\n").nth(1).unwrap();
    let resp: wire::CommandResponse = serde_json::from_str(json).expect("a command response");
    assert!(resp.reply.is_ok(), "{json}");
    // Bad JSON and another version: 400 with the reason.
    for (bad, says) in [
        ("{nope".to_owned(), "not a command request"),
        (body.replace("\"v\":1", "\"v\":99"), "version 99"),
    ] {
        let answer = raw_unix(
            &path,
            &format!(
                "POST /api/commands HTTP/1.1\r\nHost: toc\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{bad}",
                bad.len()
            ),
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        assert!(answer.contains(says), "{answer}");
    }
}

/// One HTTP exchange over the Unix socket; the whole answer.
async fn raw_unix(path: &std::path::Path, request: &str) -> String {
    let mut s = tokio::net::UnixStream::connect(path)
        .await
        .expect("connect");
    s.write_all(request.as_bytes()).await.expect("write");
    let mut out = String::new();
    tokio::time::timeout(LIMIT, s.read_to_string(&mut out))
        .await
        .expect("in time")
        .expect("read");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_that_never_reads_does_not_delay_another() {
    let dir = tempfile::tempdir().unwrap();
    let (live, server, path) = demo_with_socket(dir.path()).await;
    // The slow one: upgraded, then never read again.
    let slow = unix_console(&path).await;
    let mut fast = unix_console(&path).await;
    assert!(matches!(
        next_msg(&mut fast).await,
        wire::ServerMsg::Hello { .. }
    ));
    let wire::ServerMsg::Full { snapshot } = next_msg(&mut fast).await else {
        panic!("full")
    };
    let mut have = snapshot.seq;
    // Faults make every snapshot large and frequent for a while.
    let handle = live.handle();
    for d in ["STA-ovr-a", "STA-acc-01"] {
        let _ = handle.send(support::engine::fault(d, "down")).await;
    }
    // The fast console keeps up with the engine, update after update,
    // while the slow one's socket buffers fill.
    let started = std::time::Instant::now();
    let mut updates = 0;
    while updates < 20 {
        match next_msg(&mut fast).await {
            wire::ServerMsg::Delta { delta: d } => {
                assert_eq!(d.from, have);
                have = d.seq;
                updates += 1;
            }
            wire::ServerMsg::Full { snapshot } => {
                have = snapshot.seq;
                updates += 1;
            }
            _ => {}
        }
    }
    let engine = live.handle().snapshot().seq;
    assert!(
        engine.saturating_sub(have) <= 20,
        "the fast console is at {have}, the engine at {engine}"
    );
    eprintln!(
        "20 updates to the fast console in {:?} beside a console that never reads",
        started.elapsed()
    );
    drop(slow);
    stop(server, live).await;
}

/// A venues file in `dir` with one TCP device, its data folder beside it,
/// and `api` as its `[api]` section.
fn serve_file(dir: &std::path::Path, api: &str) -> std::path::PathBuf {
    let path = dir.join("venues.toml");
    std::fs::write(
        &path,
        format!(
            "[event]\nname = \"t\"\npoll_interval = \"1s\"\ntimeout = \"200ms\"\nretries = 0\ndata_dir = \"data\"\n\n\
             [[venues]]\ncode = \"TT\"\nname = \"T\"\ncity = \"T\"\n\n\
             [[venues.devices]]\nid = \"TT-a\"\nrole = \"r\"\nprobe = \"tcp://127.0.0.1:9\"\n\n{api}\n"
        ),
    )
    .unwrap();
    path
}

/// `toc serve FILE ARGS`, its stdout and stderr piped.
fn spawn_serve(file: &std::path::Path, args: &[&str]) -> std::process::Child {
    serve_in(
        std::process::Command::new(env!("CARGO_BIN_EXE_toc")),
        file,
        args,
    )
}

/// `toc serve FILE ARGS` in a network namespace of its own, whose only
/// interface is a loopback that is down: an address beyond loopback
/// (`0.0.0.0`) can be bound there without listening on this machine's
/// network. Needs root (as CI runs).
fn spawn_serve_isolated(file: &std::path::Path, args: &[&str]) -> std::process::Child {
    let mut unshare = std::process::Command::new("unshare");
    unshare.arg("--net").arg(env!("CARGO_BIN_EXE_toc"));
    serve_in(unshare, file, args)
}

fn serve_in(
    mut cmd: std::process::Command,
    file: &std::path::Path,
    args: &[&str],
) -> std::process::Child {
    cmd.arg("serve")
        .arg(file)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("toc serve runs")
}

/// Reads `child`'s stdout lines until one starts with `ready`.
fn lines_until_ready(child: &mut std::process::Child) -> Vec<String> {
    use std::io::BufRead as _;
    let out = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            let ready = line.starts_with("ready");
            if tx.send(line).is_err() || ready {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    while let Ok(line) = rx.recv_timeout(LIMIT) {
        let ready = line.starts_with("ready");
        lines.push(line);
        if ready {
            return lines;
        }
    }
    panic!("no `ready` within {LIMIT:?}: {lines:?}");
}

#[test]
fn toc_serve_prints_and_publishes_its_addresses_and_a_port_in_use_is_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let file = serve_file(
        dir.path(),
        "[api]\nlisten = \"127.0.0.1:0\"\nsocket = \"data/toc.sock\"\n",
    );
    let mut child = spawn_serve(&file, &[]);
    let lines = lines_until_ready(&mut child);
    let http = lines
        .iter()
        .find_map(|l| l.strip_prefix("api listening on http://"))
        .unwrap_or_else(|| panic!("{lines:?}"));
    let addr = http.split_whitespace().next().unwrap().to_owned();
    assert!(http.ends_with("(commands, ws, metrics, wall)"), "{lines:?}");
    let sock = dir.path().join("data/toc.sock");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("api listening on unix:{}", sock.display()))),
        "{lines:?}"
    );
    let published = toc::runtime::published::lookup_api(&dir.path().join("data"))
        .expect("the address is published");
    assert_eq!(published.urls[0], format!("http://{addr}"));
    // It answers.
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    std::io::Write::write_all(
        &mut s,
        b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut s, &mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 "), "{answer}");
    // A second server on the same port stops with the reason.
    let other = tempfile::tempdir().unwrap();
    let file2 = serve_file(other.path(), &format!("[api]\nlisten = \"{addr}\"\n"));
    let out = spawn_serve(&file2, &[]).wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("api: cannot listen on {addr}")),
        "{err}"
    );
    // SIGTERM: stops, the socket and the published file go.
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(!sock.exists());
    assert!(toc::runtime::published::lookup_api(&dir.path().join("data")).is_none());
}

#[test]
fn toc_serve_refuses_a_plain_non_loopback_address_without_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let file = serve_file(dir.path(), "[api]\nlisten = \"0.0.0.0:0\"\n");
    let out = spawn_serve(&file, &[]).wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--insecure-listen"), "{err}");
    // With the flag it starts, and warns (in a namespace of its own: a
    // test never listens beyond loopback).
    let mut child = spawn_serve_isolated(&file, &["--insecure-listen"]);
    let lines = lines_until_ready(&mut child);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("api listening on http://0.0.0.0:")),
        "{lines:?}"
    );
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning:") && err.contains("--insecure-listen"),
        "{err}"
    );
}

/// The real `toc serve`, killed and started again on the same socket: a
/// remote console (the real client) shows the link lost, refuses a
/// command with the reason meanwhile, reconnects by itself and resyncs
/// from the new server's full snapshot, then takes commands again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_console_survives_a_toc_serve_restart_and_resyncs() {
    use toc::api::client::{self, Target};
    use toc::engine::Link;
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("toc.sock");
    let file = serve_file(
        dir.path(),
        &format!(
            "[api]\nlisten = \"127.0.0.1:0\"\nsocket = \"{}\"\n",
            socket.display()
        ),
    );
    let mut first = spawn_serve(&file, &[]);
    lines_until_ready(&mut first);
    let remote = client::connect(
        Target::parse(&format!("unix:{}", socket.display())).expect("target"),
        None,
        client::Options::default(),
    )
    .await
    .expect("connects over the socket");
    // And the real `toc console` (headless), writing its log.
    let log = dir.path().join("state").join("console.log");
    let mut console = std::process::Command::new(env!("CARGO_BIN_EXE_toc"))
        .args(["console", "--no-console", "--socket"])
        .arg(&socket)
        .arg("--log")
        .arg(&log)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("toc console runs");
    lines_until_ready(&mut console);
    let handle = remote.handle.clone();
    let wait_link = |want: Link| {
        let mut link = handle.link();
        async move {
            tokio::time::timeout(LIMIT, link.wait_for(|l| *l == want))
                .await
                .expect("the link changes in time")
                .expect("the client runs");
        }
    };
    let before = handle.snapshot().seq;
    // Let the first server move well ahead of where a new one starts.
    for _ in 0..5 {
        let reply = handle.send(toc::engine::Command::check_now("TT-a")).await;
        assert!(reply.is_ok(), "{reply:?}");
    }
    let mut snaps = handle.watch();
    tokio::time::timeout(LIMIT, snaps.wait_for(|s| s.seq > before + 3))
        .await
        .expect("updates")
        .expect("client runs");
    let old_seq = handle.snapshot().seq;
    first.kill().unwrap();
    first.wait().unwrap();
    wait_link(Link::Lost).await;
    let refused = handle.send(toc::engine::Command::check_now("TT-a")).await;
    let why = format!("{refused:?}");
    assert!(why.contains("not connected to the server"), "{why}");
    // The same socket path, a new server (its stale socket file replaced).
    let mut second = spawn_serve(&file, &[]);
    lines_until_ready(&mut second);
    wait_link(Link::Connected).await;
    let resynced = handle.snapshot();
    assert!(
        resynced.seq < old_seq,
        "the new server's snapshot ({}) replaced the old one's ({old_seq})",
        resynced.seq
    );
    let reply = handle.send(toc::engine::Command::check_now("TT-a")).await;
    assert!(reply.is_ok(), "commands work again: {reply:?}");
    // `toc console` logged the loss and the resync.
    let text = eventually("the console's log shows the reconnection", || async {
        let text = std::fs::read_to_string(&log).ok()?;
        text.contains("reconnected; resynced").then_some(text)
    })
    .await;
    let lost = text.find("link lost").expect("the loss is logged");
    assert!(lost < text.find("reconnected").unwrap_or(0), "{text}");
    drop(remote);
    kill_and_reap(&mut console);
    kill_and_reap(&mut second);
}

/// Ends a child (SIGKILL) and reaps it.
fn kill_and_reap(child: &mut std::process::Child) {
    let _ = child.kill();
    let _ = child.wait();
}
