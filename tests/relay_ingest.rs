//! `POST /odf` against a real axum server on 127.0.0.1:0 with the real
//! journal: every answer code, gzip, dedup across sources and restarts,
//! the quarantine, and a journal that cannot write.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use flate2::Compression;
use flate2::write::GzEncoder;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use toc::model::relay::Outcome;
use toc::relay::dedup::Dedup;
use toc::relay::envelope::Envelope;
use toc::relay::ingest::{IngestState, router};
use toc::relay::journal::{Journal, JournalError, JournalOptions, Log, Record, Stored};
use toc::relay::quarantine::Quarantine;
use toc::relay::sequencer::{self, SequencerOptions, StandbyRule, Stats};
use tokio::sync::watch;

const MAX: u64 = 64 * 1024;

/// A log that can be told to fail, around the real journal.
#[derive(Debug)]
struct Switch {
    inner: Journal,
    fail: AtomicBool,
}

impl Log for Switch {
    fn append(&self, batch: &[Record<'_>]) -> Result<u64, JournalError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(JournalError::Io("test: the disk is gone".to_owned()));
        }
        self.inner.append(batch)
    }
    fn read(&self, from: u64, n: usize, b: usize) -> Result<Vec<Stored>, JournalError> {
        self.inner.read(from, n, b)
    }
    fn head(&self) -> u64 {
        self.inner.head()
    }
    fn first(&self) -> u64 {
        self.inner.first()
    }
    fn watch_head(&self) -> watch::Receiver<u64> {
        self.inner.watch_head()
    }
    fn cursor(&self, c: &str) -> Option<u64> {
        self.inner.cursor(c)
    }
    fn set_cursor(&self, c: &str, next: u64) -> Result<(), JournalError> {
        self.inner.set_cursor(c, next)
    }
    fn set_floor(&self, seq: u64) -> Result<(), JournalError> {
        self.inner.set_floor(seq)
    }
    fn seek_time(&self, t: SystemTime) -> Result<u64, JournalError> {
        self.inner.seek_time(t)
    }
    fn bytes(&self) -> u64 {
        self.inner.bytes()
    }
}

struct Relay {
    addr: SocketAddr,
    log: Arc<Switch>,
    stats: Arc<Stats>,
    quarantine: PathBuf,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
    thread: std::thread::JoinHandle<()>,
}

fn no_standby() -> StandbyRule {
    Arc::new(|_: &str, _: &toc::relay::odf::Header| false)
}

async fn start(dir: &Path, segment_size: u64, standby: StandbyRule) -> Relay {
    let options = JournalOptions {
        segment_size,
        fsync: true,
    };
    let (journal, _) = Journal::open(&dir.join("journal"), options).expect("journal");
    let log = Arc::new(Switch {
        inner: journal,
        fail: AtomicBool::new(false),
    });
    let ckpt = dir.join("dedup.ckpt");
    let (dedup, covered) = Dedup::rebuild(&ckpt, log.as_ref()).expect("rebuild");
    let stats = Arc::new(Stats::default());
    let (handle, thread) = sequencer::spawn(
        log.clone(),
        dedup,
        covered,
        SequencerOptions::new(ckpt),
        standby,
        stats.clone(),
    )
    .expect("sequencer");
    let qdir = dir.join("quarantine");
    let door = IngestState::new(
        vec![
            ("ovr-a".to_owned(), b"token-a".to_vec()),
            ("ovr-b".to_owned(), b"token-b".to_vec()),
        ],
        MAX,
        handle,
        Arc::new(Quarantine::new(qdir.clone(), 100, 1 << 20)),
        stats.clone(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = router(Arc::new(door));
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });
    Relay {
        addr,
        log,
        stats,
        quarantine: qdir,
        stop,
        server,
        thread,
    }
}

impl Relay {
    async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.server.await;
        let t = self.thread;
        tokio::task::spawn_blocking(move || t.join())
            .await
            .expect("join")
            .expect("sequencer thread");
    }
}

fn doc(code: &str, ty: &str, version: u64) -> Vec<u8> {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<OdfBody CompetitionCode="OG2026" DocumentCode="{code}" DocumentType="{ty}" Version="{version}" ResultStatus="LIVE" FeedFlag="P" Legacy="x"><Competition><Result Rank="1"/></Competition></OdfBody>"#
    )
    .into_bytes()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).expect("gzip");
    e.finish().expect("gzip")
}

async fn post(
    client: &reqwest::Client,
    addr: SocketAddr,
    token: Option<&str>,
    gz: bool,
    body: Vec<u8>,
) -> (u16, String) {
    let mut req = client.post(format!("http://{addr}/odf")).body(body);
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    if gz {
        req = req.header("Content-Encoding", "gzip");
    }
    let resp = req.send().await.expect("send");
    let code = resp.status().as_u16();
    (code, resp.text().await.expect("body"))
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_each_code() {
    let dir = tempfile::tempdir().expect("tmp");
    let r = start(dir.path(), 1 << 20, no_standby()).await;
    let c = client();
    let a = Some("token-a");
    assert_eq!(
        post(&c, r.addr, None, false, doc("D1", "DT_RESULT", 1))
            .await
            .0,
        401
    );
    assert_eq!(
        post(
            &c,
            r.addr,
            Some("token-x"),
            false,
            doc("D1", "DT_RESULT", 1)
        )
        .await
        .0,
        401
    );
    assert_eq!(
        post(&c, r.addr, Some(""), false, doc("D1", "DT_RESULT", 1))
            .await
            .0,
        401
    );
    let (code, body) = post(&c, r.addr, a, false, doc("D1", "DT_RESULT", 1)).await;
    assert_eq!(
        (code, body.as_str()),
        (200, r#"{"outcome":"forwarded","seq":1}"#)
    );
    let (code, body) = post(&c, r.addr, a, true, gzip(&doc("D1", "DT_RESULT", 2))).await;
    assert_eq!(
        (code, body.as_str()),
        (200, r#"{"outcome":"forwarded","seq":2}"#)
    );
    let (code, body) = post(&c, r.addr, a, false, doc("", "DT_KA", 9)).await;
    assert_eq!((code, body.as_str()), (200, r#"{"outcome":"keep_alive"}"#));
    let big = vec![b' '; usize::try_from(MAX).expect("size") + 1];
    assert_eq!(post(&c, r.addr, a, false, big).await.0, 413);
    let (code, body) = post(&c, r.addr, a, false, b"<html/>".to_vec()).await;
    assert_eq!(code, 400);
    assert!(
        body.contains("not ODF") && body.contains("<html>"),
        "{body}"
    );
    let (code, _) = post(&c, r.addr, a, true, b"not gzip at all".to_vec()).await;
    assert_eq!(code, 400);
    // The journal holds exactly the two forwarded messages, bodies unchanged.
    let stored = r.log.read(1, 10, 1 << 20).expect("read");
    assert_eq!(stored.len(), 2);
    let env = Envelope::decode(&stored[1].data).expect("envelope");
    assert_eq!((env.source.as_str(), env.header.version), ("ovr-a", 2));
    assert_eq!(env.body, doc("D1", "DT_RESULT", 2));
    let snap = r.stats.snapshot();
    let counts = snap.sources["ovr-a"].counts;
    assert_eq!(
        (counts.forwarded, counts.keepalive, counts.quarantined),
        (2, 1, 2)
    );
    assert_eq!(snap.tail.len(), 5);
    drop(c);
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_bomb_is_413() {
    let dir = tempfile::tempdir().expect("tmp");
    let r = start(dir.path(), 1 << 20, no_standby()).await;
    let c = client();
    let mut xml = doc("D1", "DT_RESULT", 1);
    xml.truncate(xml.len() - "</OdfBody>".len());
    xml.extend(vec![b' '; 8 << 20]);
    xml.extend(b"</OdfBody>");
    let bomb = gzip(&xml);
    assert!(
        bomb.len() < usize::try_from(MAX).expect("size"),
        "the bomb is small"
    );
    assert_eq!(post(&c, r.addr, Some("token-a"), true, bomb).await.0, 413);
    assert_eq!(r.log.head(), 1, "nothing journaled");
    drop(c);
    r.shutdown().await;
}

/// A source that sends a message over the limit reads a 413, not a reset
/// connection: the relay reads (and drops) what the source is still
/// sending before it answers, whether the length was declared or chunked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_body_reads_413_not_a_reset() {
    let dir = tempfile::tempdir().expect("tmp");
    let r = start(dir.path(), 1 << 20, no_standby()).await;
    let c = client();
    let size = 8 << 20;
    for round in 0..8 {
        let (code, body) = post(&c, r.addr, Some("token-a"), false, vec![b' '; size]).await;
        assert_eq!(code, 413, "round {round}: {body}");
        assert!(body.contains("over the limit"), "{body}");
        let chunks = futures_util::stream::iter(
            (0..4).map(move |_| Ok::<_, std::io::Error>(vec![b' '; size / 4])),
        );
        let resp = c
            .post(format!("http://{}/odf", r.addr))
            .header("Authorization", "Bearer token-a")
            .body(reqwest::Body::wrap_stream(chunks))
            .send()
            .await
            .expect("chunked send");
        assert_eq!(resp.status().as_u16(), 413, "round {round} (chunked)");
    }
    assert_eq!(r.log.head(), 1, "nothing journaled");
    drop(c);
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctype_is_400_and_quarantined_with_its_reason() {
    let dir = tempfile::tempdir().expect("tmp");
    let r = start(dir.path(), 1 << 20, no_standby()).await;
    let c = client();
    let xml = br#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><OdfBody DocumentCode="&b;" DocumentType="DT_RESULT" Version="1"/>"#;
    let (code, body) = post(&c, r.addr, Some("token-b"), false, xml.to_vec()).await;
    assert_eq!(code, 400);
    assert!(body.contains("DOCTYPE"), "{body}");
    let mut files: Vec<_> = std::fs::read_dir(&r.quarantine)
        .expect("quarantine dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    let reason = std::fs::read_to_string(
        files
            .iter()
            .find(|p| p.extension().is_some_and(|e| e == "reason"))
            .expect("reason"),
    )
    .expect("read");
    assert!(reason.contains("DOCTYPE"), "{reason}");
    let kept = files
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "xml"))
        .expect("xml");
    assert_eq!(std::fs::read(kept).expect("read"), xml.to_vec());
    assert!(kept.to_string_lossy().contains("-ovr-b-"), "{kept:?}");
    assert_eq!(r.log.head(), 1, "nothing journaled");
    drop(c);
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedup_across_sources_and_restart() {
    let dir = tempfile::tempdir().expect("tmp");
    let r = start(dir.path(), 1 << 20, no_standby()).await;
    let c = client();
    let (a, b) = (Some("token-a"), Some("token-b"));
    let out = |s: &str| s.split('"').nth(3).unwrap_or_default().to_owned();
    let (_, one) = post(&c, r.addr, a, false, doc("D1", "DT_RESULT", 5)).await;
    let (_, two) = post(&c, r.addr, b, false, doc("D1", "DT_RESULT", 5)).await;
    assert_eq!(
        (out(&one), out(&two)),
        ("forwarded".to_owned(), "duplicate".to_owned())
    );
    let (_, three) = post(&c, r.addr, b, false, doc("D1", "DT_RESULT", 4)).await;
    assert_eq!(out(&three), "stale");
    // Another document type is another key.
    let (_, four) = post(&c, r.addr, b, false, doc("D1", "DT_CURRENT", 4)).await;
    assert_eq!(out(&four), "forwarded");
    let snap = r.stats.snapshot();
    assert_eq!(snap.sources["ovr-b"].counts.duplicate, 1);
    assert_eq!(snap.sources["ovr-b"].counts.stale, 1);
    assert_eq!(snap.sources["ovr-a"].counts.forwarded, 1);
    drop(c);
    r.shutdown().await;
    // Without the checkpoint too: rebuilt from the journal alone.
    for drop_checkpoint in [false, true] {
        if drop_checkpoint {
            std::fs::remove_file(dir.path().join("dedup.ckpt"))
                .expect("checkpoint written at stop");
        }
        let r = start(dir.path(), 1 << 20, no_standby()).await;
        let c = client();
        let (_, one) = post(&c, r.addr, b, false, doc("D1", "DT_RESULT", 5)).await;
        assert_eq!(out(&one), "duplicate", "after a restart");
        let (_, one) = post(&c, r.addr, a, false, doc("D1", "DT_RESULT", 3)).await;
        assert_eq!(out(&one), "stale", "after a restart");
        drop(c);
        r.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standby_source_is_answered_not_journaled() {
    let dir = tempfile::tempdir().expect("tmp");
    let rule: StandbyRule = Arc::new(|s: &str, _: &toc::relay::odf::Header| s == "ovr-b");
    let r = start(dir.path(), 1 << 20, rule).await;
    let c = client();
    let (code, body) = post(
        &c,
        r.addr,
        Some("token-b"),
        false,
        doc("D1", "DT_RESULT", 1),
    )
    .await;
    assert_eq!((code, body.as_str()), (200, r#"{"outcome":"standby"}"#));
    assert_eq!(r.log.head(), 1);
    let (_, body) = post(
        &c,
        r.addr,
        Some("token-a"),
        false,
        doc("D1", "DT_RESULT", 1),
    )
    .await;
    assert!(body.contains("forwarded"), "{body}");
    assert_eq!(r.stats.snapshot().sources["ovr-b"].counts.standby, 1);
    drop(c);
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_append_is_503_and_accepts_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let r = start(dir.path(), 1 << 20, no_standby()).await;
    let c = client();
    let a = Some("token-a");
    r.log.fail.store(true, Ordering::SeqCst);
    let (code, body) = post(&c, r.addr, a, false, doc("D1", "DT_RESULT", 1)).await;
    assert_eq!(code, 503);
    assert!(body.contains("cannot write"), "{body}");
    assert!(r.stats.snapshot().journal_failing.is_some());
    r.log.fail.store(false, Ordering::SeqCst);
    // Not half-accepted: the same version is new, not a duplicate.
    let (code, body) = post(&c, r.addr, a, false, doc("D1", "DT_RESULT", 1)).await;
    assert_eq!(
        (code, body.as_str()),
        (200, r#"{"outcome":"forwarded","seq":1}"#)
    );
    assert!(r.stats.snapshot().journal_failing.is_none());
    drop(c);
    r.shutdown().await;
}

/// A real full disk: a 1 MB tmpfs (skipped where mount is refused).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_disk_is_503_then_recovers() {
    let Some(disk) = support::disk::SmallDisk::mount() else {
        return;
    };
    let r = start(disk.path(), 64 * 1024, no_standby()).await;
    let c = client();
    let a = Some("token-a");
    assert_eq!(
        post(&c, r.addr, a, false, doc("D0", "DT_RESULT", 1))
            .await
            .0,
        200
    );
    let filler = disk.fill();
    let mut refused = None;
    for v in 1..200u64 {
        let mut body = doc("D1", "DT_RESULT", v);
        body.extend(vec![b' '; 4000]);
        let (code, _) = post(&c, r.addr, a, false, body).await;
        if code == 503 {
            refused = Some(v);
            break;
        }
        assert_eq!(code, 200);
    }
    let v = refused.expect("a full disk answers 503");
    std::fs::remove_file(filler).expect("free the disk");
    let (code, body) = post(&c, r.addr, a, false, doc("D1", "DT_RESULT", v)).await;
    assert_eq!(code, 200, "{body}");
    assert!(
        body.contains("forwarded"),
        "the refused version was not half-accepted: {body}"
    );
    let head = r.log.head();
    let all = r.log.read(1, 1000, 64 << 20).expect("read");
    assert_eq!(all.len() as u64, head - 1, "nothing corrupt");
    drop(c);
    r.shutdown().await;
}

#[test]
fn arbitrary_bodies_never_crash_the_server() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tmp");
    let r = rt.block_on(start(dir.path(), 1 << 20, no_standby()));
    let c = client();
    let mut runner = TestRunner::new(Config::with_cases(300));
    let prefix = br#"<OdfBody DocumentCode="P" DocumentType="DT_RESULT" Version="1">"#;
    let strategy = (
        proptest::collection::vec(any::<u8>(), 0..2048),
        any::<bool>(),
        any::<bool>(),
    );
    runner
        .run(&strategy, |(bytes, with_prefix, gz)| {
            let mut body = if with_prefix {
                prefix.to_vec()
            } else {
                Vec::new()
            };
            body.extend(bytes);
            let body = if gz { gzip(&body) } else { body };
            let (code, _) = rt.block_on(post(&c, r.addr, Some("token-a"), gz, body));
            prop_assert!([200, 400, 413].contains(&code), "answered {}", code);
            Ok(())
        })
        .expect("every body gets 200, 400 or 413");
    let (code, _) = rt.block_on(post(
        &c,
        r.addr,
        Some("token-a"),
        false,
        doc("after", "DT_RESULT", 1),
    ));
    assert_eq!(code, 200, "still serving");
    drop(c);
    rt.block_on(r.shutdown());
    let _ = Outcome::Forwarded;
}

/// A body without `Content-Length` (chunked) is counted as it streams
/// and refused as soon as it passes the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_body_over_the_limit_is_413() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let dir = tempfile::tempdir().expect("tmp");
    let r = start(dir.path(), 1 << 20, no_standby()).await;
    let mut s = tokio::net::TcpStream::connect(r.addr)
        .await
        .expect("connect");
    let head = "POST /odf HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer token-a\r\nTransfer-Encoding: chunked\r\n\r\n";
    s.write_all(head.as_bytes()).await.expect("write");
    let chunk = vec![b' '; 16 * 1024];
    // Up to four times the limit; the server may answer and close early.
    for _ in 0..16 {
        let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
        frame.extend(&chunk);
        frame.extend(b"\r\n");
        if s.write_all(&frame).await.is_err() {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n").await;
    let mut answer = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut answer))
        .await
        .expect("an answer")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    drop(s);
    r.shutdown().await;
}
