//! What the commands print from devices, files and URLs, with the real
//! binary: control characters escaped (an HTTP body, an event name, a
//! scenario note cannot clear the screen or retitle the terminal), URL
//! credentials never shown, TLS certificate errors in words.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_toc");

/// A body that would clear the screen, set the window title to `PWN` and
/// ring the bell, were it printed as it is.
const HOSTILE: &str = "\\u001b[2J\\u001b]0;PWN\\u0007bad";

fn toc(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("LC_ALL", "C.UTF-8")
        .output()
        .expect("toc runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// No byte that a terminal would act on, apart from the newlines.
fn assert_inert(what: &str, text: &str) {
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{what} prints control characters: {text:?}"
    );
}

/// An HTTP server on a port from the system that answers every request
/// with a JSON body whose `status` is [`HOSTILE`].
fn hostile_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let body = format!("{{\"status\":\"{HOSTILE}\"}}");
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

fn venues_text(event: &str, url: &str) -> String {
    format!(
        "[event]\nname = \"{event}\"\npoll_interval = \"5s\"\ntimeout = \"500ms\"\n\n\
         [[venues]]\ncode = \"EDG\"\nname = \"Edge Arena\"\ncity = \"Loopback\"\n\n\
         [[venues.devices]]\nid = \"EDG-web\"\nrole = \"web\"\nprobe = \"{url}\"\n\
         json_field = \"status\"\njson_expect = \"ok\"\n"
    )
}

#[test]
fn probe_escapes_a_hostile_body_and_hides_url_credentials() {
    let addr = hostile_server();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://ops:s3cr3t@{addr}/health");
    std::fs::write(dir.path().join("venues.toml"), venues_text("Edges", &url)).unwrap();

    let (code, out, err) = toc(dir.path(), &["probe", "EDG-web"]);
    assert_eq!(code, Some(2), "CRITICAL: {out}{err}");
    assert_inert("toc probe", &out);
    assert!(
        out.contains(r#"json status is "\x1b[2J\x1b]0;PWN\x07bad""#),
        "{out}"
    );
    assert!(
        out.contains(&format!("http://ops:***@{addr}/health")),
        "{out}"
    );
    assert!(
        !out.contains("s3cr3t") && !err.contains("s3cr3t"),
        "{out}{err}"
    );

    // By URL too.
    let (_, out, err) = toc(dir.path(), &["probe", &url]);
    assert!(
        out.starts_with(&format!("http://ops:***@{addr}/health")),
        "{out}"
    );
    assert!(
        !out.contains("s3cr3t") && !err.contains("s3cr3t"),
        "{out}{err}"
    );
}

#[test]
fn check_escapes_the_event_name() {
    let dir = tempfile::tempdir().unwrap();
    let text = venues_text("Edges\\u001b[31mRED\\u0007", "http://127.0.0.1:8080/health");
    std::fs::write(dir.path().join("venues.toml"), text).unwrap();
    let (code, out, err) = toc(dir.path(), &["check", "venues.toml"]);
    assert_eq!(code, Some(0), "{err}");
    assert_inert("toc check", &out);
    assert!(out.contains(r"event      Edges\x1b[31mRED\x07 ("), "{out}");
}

#[test]
fn sim_escapes_scenario_notes() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[event]\nname = \"Sim\\u001b]0;PWN\\u0007\"\npoll_interval = \"5s\"\ntimeout = \"500ms\"\n\n\
         [[venues]]\ncode = \"EDG\"\nname = \"Edge Arena\"\ncity = \"Loopback\"\n\n\
         [[venues.devices]]\nid = \"EDG-tcp\"\nrole = \"server\"\nprobe = \"tcp://127.0.0.1:{}\"\n",
        1
    );
    std::fs::write(dir.path().join("venues.toml"), text).unwrap();
    std::fs::write(
        dir.path().join("s.toml"),
        "[[step]]\nat = \"0s\"\ntarget = \"EDG-tcp\"\nfault = \"down\"\nnote = \"lost\\u001b[2J\\u001b]0;PWN\\u0007 it\"\n",
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .args([
            "sim",
            "venues.toml",
            "--control",
            "127.0.0.1:0",
            "--ephemeral",
            "--scenario",
            "s.toml",
        ])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("toc sim runs");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut all = String::new();
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
            all.push_str(&line);
            line.clear();
            let _ = tx.send(all.clone());
        }
    });
    let t0 = Instant::now();
    let mut seen = String::new();
    while !seen.contains(" it") {
        assert!(t0.elapsed() < Duration::from_secs(20), "no note: {seen}");
        if let Ok(s) = rx.recv_timeout(Duration::from_millis(200)) {
            seen = s;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_inert("toc sim", &seen);
    assert!(seen.contains(r"lost\x1b[2J\x1b]0;PWN\x07 it"), "{seen}");
    assert!(seen.starts_with(r"toc sim: Sim\x1b]0;PWN\x07 ("), "{seen}");
}

/// An HTTPS server whose certificate, for 127.0.0.1, is self-signed and
/// flagged as a CA.
async fn ca_flagged_server() -> SocketAddr {
    use tokio::io::AsyncWriteExt;
    use tokio_rustls::rustls;
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let der = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.der().clone()], der)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(sock).await {
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_certificate_used_by_a_server_is_said_in_words() {
    let addr = ca_flagged_server().await;
    let url = format!("https://{addr}/health");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(["probe", &url])
            .env("LC_ALL", "C.UTF-8")
            .output()
            .expect("toc runs")
    })
    .await
    .unwrap();
    let mut stdout = String::new();
    out.stdout.as_slice().read_to_string(&mut stdout).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains(
            "TLS: the server's certificate is a CA certificate used as a server certificate"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("Other("), "{stdout}");
}
