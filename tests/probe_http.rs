//! The HTTP probe against real servers on 127.0.0.1: status, body and
//! JSON checks, latency, timeouts, refused connections, retries and TLS.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use toc::config::Inventory;
use toc::config::venues::{Device, JsonCheck};
use toc::model::CheckResult;
use toc::probe::http::HttpProbe;
use toc::probe::{Outcome, Probe};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A device probed at `url`, with extra device keys, loaded through the
/// real config loader.
fn device(url: &str, extra: &str) -> Device {
    let text = format!(
        r#"[event]
name = "Probe Tests"
poll_interval = "10s"
timeout = "1s"
retries = 1
max_attempts = 3

[[venues]]
code = "TST"
name = "Test Venue"
city = "Here"

[[venues.devices]]
id = "TST-web"
role = "health-endpoint"
probe = "{url}"
{extra}
"#
    );
    let mut file = tempfile::NamedTempFile::new().expect("tempfile");
    file.write_all(text.as_bytes()).expect("write");
    match Inventory::load(file.path()) {
        Ok((inv, _)) => inv.devices.into_iter().next().expect("one device"),
        Err(diags) => panic!("{}", toc::config::diag::render(&diags)),
    }
}

/// Serves `app` on a port chosen by the OS.
async fn serve(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// A venue health server with a route per behaviour; counts requests.
async fn health_server(hits: Arc<AtomicUsize>) -> SocketAddr {
    let count = move || {
        hits.fetch_add(1, Ordering::SeqCst);
    };
    let c = count.clone();
    let app = Router::new()
        .route("/ok", get(|| async { "all ok" }))
        .route(
            "/down",
            get(move || {
                c();
                async { (StatusCode::SERVICE_UNAVAILABLE, "maintenance") }
            }),
        )
        .route("/created", get(|| async { (StatusCode::CREATED, "made") }))
        .route("/teapot", get(|| async { StatusCode::IM_A_TEAPOT }))
        .route("/odd", get(|| async { StatusCode::from_u16(599).unwrap() }))
        .route(
            "/json/ok",
            get(|| async {
                r#"{"status":"ok","uptime":3600,"ready":true,"checks":{"db":"ok","feed":"stale"},"members":[{"state":"up"}]}"#
            }),
        )
        .route(
            "/json/degraded",
            get(|| async { r#"{"status":"degraded","checks":{}}"# }),
        )
        .route("/text", get(|| async { "<html>It works</html>" }))
        .route(
            "/big",
            get(|| async {
                let mut body = "a".repeat(2 * 1024 * 1024);
                body.push_str("ok");
                body
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(400)).await;
                "ok"
            }),
        );
    serve(app).await
}

async fn check(url: &str, extra: &str, retries: u32) -> Outcome {
    let probe = HttpProbe::new(retries).expect("probe");
    probe.check(&device(url, extra)).await
}

async fn check_path(path: &str, extra: &str) -> Outcome {
    let addr = health_server(Arc::default()).await;
    check(&format!("http://{addr}{path}"), extra, 1).await
}

fn reading<'a>(outcome: &'a Outcome, name: &str) -> Option<&'a str> {
    outcome
        .readings
        .iter()
        .find(|r| r.name == name)
        .map(|r| r.value.as_str())
}

fn fail(reason: &str) -> CheckResult {
    CheckResult::Fail(reason.to_owned())
}

#[tokio::test]
async fn healthy_endpoint_is_ok_with_its_readings() {
    let out = check_path("/ok", "").await;
    assert_eq!(out.result, CheckResult::Ok);
    assert_eq!(reading(&out, "http.status"), Some("200"));
    let ms: u128 = reading(&out, "http.latency_ms")
        .expect("latency reading")
        .parse()
        .expect("a number");
    let latency = out.latency.expect("latency of the answer");
    assert_eq!(ms, latency.as_millis());
    assert!(latency < Duration::from_secs(1), "{latency:?}");
}

#[tokio::test]
async fn unexpected_status_fails_with_status_and_expectation() {
    let hits = Arc::new(AtomicUsize::new(0));
    let addr = health_server(hits.clone()).await;
    let out = check(&format!("http://{addr}/down"), "", 2).await;
    assert_eq!(
        out.result,
        fail("HTTP 503 Service Unavailable, expected 200")
    );
    assert_eq!(reading(&out, "http.status"), Some("503"));
    assert!(out.latency.is_some(), "an answer has a latency");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "a wrong status is an answer, not retried"
    );
}

#[tokio::test]
async fn status_without_a_registered_reason_shows_the_number() {
    let out = check_path("/odd", "").await;
    assert_eq!(out.result, fail("HTTP 599, expected 200"));
}

#[tokio::test]
async fn expect_status_sets_the_healthy_status() {
    assert_eq!(
        check_path("/created", "expect_status = 201").await.result,
        CheckResult::Ok
    );
    assert_eq!(
        check_path("/ok", "expect_status = 201").await.result,
        fail("HTTP 200 OK, expected 201")
    );
    assert_eq!(
        check_path("/teapot", "expect_status = 204").await.result,
        fail("HTTP 418 I'm a teapot, expected 204")
    );
}

#[tokio::test]
async fn body_contains_passes_and_fails() {
    let pass = check_path("/text", "body_contains = \"It works\"").await;
    assert_eq!(pass.result, CheckResult::Ok);
    let miss = check_path("/text", "body_contains = \"ok\"").await;
    assert_eq!(miss.result, fail("body does not contain \"ok\""));
}

#[tokio::test]
async fn body_is_read_up_to_one_mebibyte_and_says_so() {
    let out = check_path("/big", "body_contains = \"ok\"").await;
    assert_eq!(
        out.result,
        fail("body does not contain \"ok\" in its first 1 MiB")
    );
    let json = check_path("/big", "json_field = \"status\"\njson_expect = \"ok\"").await;
    assert_eq!(
        json.result,
        fail("body is over 1 MiB, too large to read as JSON")
    );
    assert_eq!(
        check_path("/big", "").await.result,
        CheckResult::Ok,
        "without body checks a large body is fine"
    );
}

#[tokio::test]
async fn json_field_matches_and_is_read() {
    let cases = [
        ("status", "ok"),
        ("checks.db", "ok"),
        ("uptime", "3600"),
        ("ready", "true"),
        ("members.0.state", "up"),
    ];
    for (field, expect) in cases {
        let extra = format!("json_field = \"{field}\"\njson_expect = \"{expect}\"");
        let out = check_path("/json/ok", &extra).await;
        assert_eq!(out.result, CheckResult::Ok, "{field}");
        assert_eq!(
            reading(&out, &format!("json.{field}")),
            Some(expect),
            "{field}"
        );
    }
}

#[tokio::test]
async fn json_field_that_differs_fails_with_both_values() {
    let out = check_path(
        "/json/degraded",
        "json_field = \"status\"\njson_expect = \"ok\"",
    )
    .await;
    assert_eq!(
        out.result,
        fail("json status is \"degraded\", expected \"ok\"")
    );
    assert_eq!(reading(&out, "json.status"), Some("degraded"));
    let stale = check_path(
        "/json/ok",
        "json_field = \"checks.feed\"\njson_expect = \"ok\"",
    )
    .await;
    assert_eq!(
        stale.result,
        fail("json checks.feed is \"stale\", expected \"ok\"")
    );
}

#[tokio::test]
async fn json_field_that_is_absent_fails() {
    let out = check_path(
        "/json/degraded",
        "json_field = \"checks.db\"\njson_expect = \"ok\"",
    )
    .await;
    assert_eq!(out.result, fail("json has no field checks.db"));
    let past_leaf = check_path(
        "/json/ok",
        "json_field = \"status.code\"\njson_expect = \"ok\"",
    )
    .await;
    assert_eq!(past_leaf.result, fail("json has no field status.code"));
    let past_end = check_path(
        "/json/ok",
        "json_field = \"members.1.state\"\njson_expect = \"up\"",
    )
    .await;
    assert_eq!(past_end.result, fail("json has no field members.1.state"));
}

#[tokio::test]
async fn body_that_is_not_json_fails() {
    let out = check_path("/text", "json_field = \"status\"\njson_expect = \"ok\"").await;
    let CheckResult::Fail(reason) = &out.result else {
        panic!("want a failure, got {:?}", out.result);
    };
    assert!(reason.starts_with("body is not JSON: "), "{reason}");
}

#[tokio::test]
async fn status_is_judged_before_the_body() {
    let out = check_path("/down", "body_contains = \"ok\"").await;
    assert_eq!(
        out.result,
        fail("HTTP 503 Service Unavailable, expected 200")
    );
}

#[tokio::test]
async fn slow_answer_warns_with_its_latency() {
    let out = check_path("/slow", "latency_warn = \"100ms\"").await;
    let CheckResult::Warn(reason) = &out.result else {
        panic!("want a warning, got {:?}", out.result);
    };
    let ms = out.latency.expect("latency").as_millis();
    assert!(ms >= 400, "the server slept 400 ms, latency {ms} ms");
    assert_eq!(reason, &format!("slow: {ms} ms, warn above 100 ms"));
    let relaxed = check_path("/slow", "latency_warn = \"900ms\"").await;
    assert_eq!(relaxed.result, CheckResult::Ok);
}

/// A server that accepts connections and never answers; counts them.
async fn silent_server(accepted: Arc<AtomicUsize>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            accepted.fetch_add(1, Ordering::SeqCst);
            held.push(sock);
        }
    });
    addr
}

#[tokio::test]
async fn silent_server_times_out_on_every_attempt() {
    let accepted = Arc::new(AtomicUsize::new(0));
    let addr = silent_server(accepted.clone()).await;
    let start = Instant::now();
    let out = check(&format!("http://{addr}/health"), "timeout = \"300ms\"", 1).await;
    let took = start.elapsed();
    assert_eq!(out.result, fail("timed out after 300ms (2 attempts)"));
    assert_eq!(out.latency, None);
    assert_eq!(accepted.load(Ordering::SeqCst), 2, "one retry");
    assert!(took >= Duration::from_millis(600), "{took:?}");
    assert!(
        took < Duration::from_secs(5),
        "bounded by timeout x attempts: {took:?}"
    );
}

#[tokio::test]
async fn closed_port_is_connection_refused() {
    // Bound and held, never listening: refused, and no other program can
    // take the port while the test runs (a port let go could be).
    let held = tokio::net::TcpSocket::new_v4().expect("socket");
    held.bind("127.0.0.1:0".parse().expect("addr"))
        .expect("bind");
    let addr = held.local_addr().expect("addr");
    let once = check(&format!("http://{addr}/health"), "", 0).await;
    assert_eq!(once.result, fail("connection refused"));
    let twice = check(&format!("http://{addr}/health"), "", 1).await;
    assert_eq!(twice.result, fail("connection refused (2 attempts)"));
}

#[tokio::test]
async fn unknown_host_cannot_be_resolved() {
    let out = check(
        "http://does-not-exist.invalid/health",
        "timeout = \"5s\"",
        0,
    )
    .await;
    assert_eq!(out.result, fail("cannot resolve does-not-exist.invalid"));
}

#[tokio::test]
async fn non_http_device_is_unknown() {
    let probe = HttpProbe::new(0).expect("probe");
    let out = probe.check(&device("tcp://127.0.0.1:9", "")).await;
    assert_eq!(
        out.result,
        CheckResult::Unknown("not an HTTP device".to_owned())
    );
}

/// Drops the first `drop_first` connections unanswered, then answers
/// 200 `ok`; counts connections.
async fn flaky_server(drop_first: usize, seen: Arc<AtomicUsize>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            if n < drop_first {
                drop(sock);
                continue;
            }
            tokio::spawn(async move {
                read_request(&mut sock).await;
                let _ = sock
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
            });
        }
    });
    addr
}

/// Reads a request's head (up to the blank line).
async fn read_request<S: AsyncReadExt + Unpin>(sock: &mut S) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match sock.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test]
async fn transport_failure_is_retried_until_an_answer() {
    let seen = Arc::new(AtomicUsize::new(0));
    let addr = flaky_server(1, seen.clone()).await;
    let out = check(&format!("http://{addr}/health"), "", 1).await;
    assert_eq!(out.result, CheckResult::Ok);
    assert_eq!(seen.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn without_retries_a_dropped_connection_fails() {
    let seen = Arc::new(AtomicUsize::new(0));
    let addr = flaky_server(1, seen.clone()).await;
    let out = check(&format!("http://{addr}/health"), "", 0).await;
    let CheckResult::Fail(reason) = &out.result else {
        panic!("want a failure, got {:?}", out.result);
    };
    assert!(!reason.contains("attempts"), "{reason}");
    assert!(reason.contains("closed"), "{reason}");
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}

#[test]
fn http_keys_are_stored_in_checks() {
    let d = device(
        "https://127.0.0.1:8443/health",
        "body_contains = \"ok\"\njson_field = \"checks.db\"\njson_expect = \"up\"\nlatency_warn = \"250ms\"\ntls_verify = false",
    );
    assert_eq!(d.checks.body_contains.as_deref(), Some("ok"));
    assert_eq!(
        d.checks.json,
        Some(JsonCheck {
            field: "checks.db".into(),
            expect: "up".into()
        })
    );
    assert_eq!(d.checks.latency_warn, Some(Duration::from_millis(250)));
    assert!(!d.checks.tls_verify);
    let plain = device("http://127.0.0.1:8080/health", "");
    assert!(
        plain.checks.tls_verify,
        "certificates are verified by default"
    );
    assert_eq!(
        (
            plain.checks.body_contains,
            plain.checks.json,
            plain.checks.latency_warn
        ),
        (None, None, None)
    );
}

// ---------------------------------------------------------------------------
// HTTPS with a self-signed certificate
// ---------------------------------------------------------------------------

/// An HTTPS server with a fresh self-signed certificate for 127.0.0.1
/// that answers 200 `ok`.
async fn self_signed_server() -> SocketAddr {
    use tokio_rustls::rustls;
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).expect("cert");
    let key =
        rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).expect("key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .expect("config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(sock).await else {
                    return;
                };
                read_request(&mut tls).await;
                let _ = tls
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn self_signed_certificate_is_accepted_only_without_verification() {
    let addr = self_signed_server().await;
    let url = format!("https://{addr}/health");
    let trusting = check(&url, "tls_verify = false\nbody_contains = \"ok\"", 0).await;
    assert_eq!(trusting.result, CheckResult::Ok);
    let verifying = check(&url, "", 0).await;
    assert_eq!(
        verifying.result,
        fail("TLS: untrusted certificate (unknown issuer)")
    );
}
