//! toc's relay in this process: two sources posting every message over
//! HTTP keep-alive, an HTTP consumer and a TCP subscriber as its sinks.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use toc::config::venues::SinkKind;
use toc::config::{Inventory, SourceFile};
use toc::model::relay::{RelayCommand, ReplayFrom};
use toc::relay::envelope::Envelope;
use toc::relay::journal::{Log, Record};
use toc::relay::odf::parse_header;
use toc::relay::service::RelayService;
use tokio::io::AsyncReadExt as _;

use crate::common::{Acks, Msg, Receipts, Row, Schedule, pcts, per_second};

const BASE: &str = include_str!("../../tests/fixtures/base.toml");

/// Two free-named sources (no feed: both copies are taken, the second is
/// a duplicate), an HTTP and a TCP sink, one route to both.
const RELAY: &str = r#"
[relay]
listen = "127.0.0.1:8650"
max_message = "64MiB"
fsync = true
segment_size = "64MiB"

[[relay.sources]]
id = "bench-a"
token_env = "TOC_BENCH_TOKEN_A"

[[relay.sources]]
id = "bench-b"
token_env = "TOC_BENCH_TOKEN_B"

[[relay.sinks]]
id = "web"
kind = "http"
url = "http://127.0.0.1:9000/odf"
consumer = "commentators"

[[relay.sinks]]
id = "media"
kind = "tcp"
listen = "127.0.0.1:9652"
consumer = "web_mobile"

# Paused from the start: it holds the journal's segments so that every
# message's ingest time can be read back after the phase.
[[relay.sinks]]
id = "hold"
kind = "tcp"
listen = "127.0.0.1:9653"
consumer = "web_mobile"

[[relay.routes]]
sinks = ["web", "media"]
"#;

const TOKENS: [(&str, &str); 2] = [
    ("bench-a", "token-a-0123456789"),
    ("bench-b", "token-b-0123456789"),
];

/// The consumer behind the HTTP sink; answers 503 while `down`.
#[derive(Debug)]
pub struct HttpConsumer {
    pub receipts: Arc<Receipts>,
    pub down: AtomicBool,
}

async fn take(State(c): State<Arc<HttpConsumer>>, body: Bytes) -> StatusCode {
    if c.down.load(Ordering::Relaxed) {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    c.receipts.note_body(&body);
    StatusCode::OK
}

async fn serve_consumer(c: Arc<HttpConsumer>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind consumer");
    let addr = listener.local_addr().expect("consumer addr");
    let app = axum::Router::new()
        .route("/odf", axum::routing::post(take))
        .with_state(c);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// Reads length-framed messages from the TCP sink.
fn subscribe(addr: SocketAddr, receipts: Arc<Receipts>) {
    tokio::spawn(async move {
        let Ok(stream) = tokio::net::TcpStream::connect(addr).await else {
            eprintln!("cannot subscribe to {addr}");
            return;
        };
        let _ = stream.set_nodelay(true);
        let mut rd = tokio::io::BufReader::with_capacity(1 << 20, stream);
        let mut body = Vec::new();
        loop {
            let Ok(len) = rd.read_u32().await else { return };
            body.resize(len as usize, 0);
            if rd.read_exact(&mut body).await.is_err() {
                return;
            }
            receipts.note_body(&body);
        }
    });
}

/// A running relay with its consumers.
pub struct Bench {
    pub service: RelayService,
    pub web: Arc<HttpConsumer>,
    pub media: Arc<Receipts>,
    pub dir: PathBuf,
}

impl Bench {
    pub async fn start(
        dir: &Path,
        fsync: bool,
        index: &Arc<std::collections::HashMap<String, usize>>,
    ) -> Bench {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).expect("bench dir");
        let text = format!("{BASE}{RELAY}");
        let (mut inventory, _) = Inventory::parse(&SourceFile::new("bench.toml", text))
            .unwrap_or_else(|d| panic!("bench inventory: {d:?}"));
        let web = Arc::new(HttpConsumer {
            receipts: Arc::new(Receipts::new(Arc::clone(index))),
            down: AtomicBool::new(false),
        });
        let consumer = serve_consumer(Arc::clone(&web)).await;
        let relay = inventory.relay.as_mut().expect("[relay]");
        relay.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        relay.fsync = fsync;
        for sink in &mut relay.sinks {
            match &mut sink.kind {
                SinkKind::Http { url } => *url = format!("http://{consumer}/odf"),
                SinkKind::Tcp { listen } => *listen = SocketAddr::from(([127, 0, 0, 1], 0)),
                SinkKind::File { .. } => {}
            }
        }
        let relay = relay.clone();
        let tokens = TOKENS
            .iter()
            .map(|(s, t)| ((*s).to_owned(), (*t).to_owned()))
            .collect();
        let service = RelayService::start(&relay, &inventory, dir, tokens).expect("relay starts");
        service
            .control()
            .apply(&RelayCommand::Pause {
                sink: "hold".to_owned(),
            })
            .expect("pause hold");
        let media = Arc::new(Receipts::new(Arc::clone(index)));
        let mut tcp = None;
        for _ in 0..200 {
            tcp = service.tcp_sink_addr("media").await;
            if tcp.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        subscribe(tcp.expect("tcp sink listens"), Arc::clone(&media));
        // Let the subscriber connect before anything flows.
        tokio::time::sleep(Duration::from_millis(200)).await;
        Bench {
            service,
            web,
            media,
            dir: dir.to_owned(),
        }
    }

    pub async fn stop(self) {
        self.service.shutdown().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    /// When ingest took each corpus message (from the journal).
    fn ingested(&self, corpus_len: usize) -> Vec<Option<SystemTime>> {
        let mut out = vec![None; corpus_len];
        let journal = self.service.journal();
        let mut from = journal.first();
        while from < journal.head() {
            let Ok(batch) = journal.read(from, 4096, 64 << 20) else {
                break;
            };
            let Some(last) = batch.last() else { break };
            from = last.seq + 1;
            for stored in &batch {
                if let Ok(env) = Envelope::decode(&stored.data) {
                    let id = crate::common::msg_id(&env.header.key_sim(), env.header.version);
                    if let Some(&i) = self.web.receipts.index.get(&id) {
                        out[i] = Some(env.received);
                    }
                }
            }
        }
        out
    }
}

/// Converts the relay's key to the simulator's (the same five fields).
trait KeySim {
    fn key_sim(&self) -> toc::sim::odfgen::DocKey;
}

impl KeySim for toc::relay::odf::Header {
    fn key_sim(&self) -> toc::sim::odfgen::DocKey {
        toc::sim::odfgen::DocKey {
            competition_code: self.key.competition_code.clone(),
            document_code: self.key.document_code.clone(),
            document_subcode: self.key.document_subcode.clone(),
            document_type: self.key.document_type.clone(),
            document_subtype: self.key.document_subtype.clone(),
        }
    }
}

/// One source: a keep-alive client (it opens more connections as
/// requests overlap) and its token.
struct Source {
    client: reqwest::Client,
    /// One per connection: a post waits for a free one (its wait counts
    /// in its latency, from its scheduled time).
    connections: tokio::sync::Semaphore,
    url: String,
    auth: String,
}

fn sources(addr: SocketAddr) -> Vec<Arc<Source>> {
    TOKENS
        .iter()
        .map(|(_, token)| {
            Arc::new(Source {
                client: reqwest::Client::builder()
                    .tcp_nodelay(true)
                    .pool_max_idle_per_host(512)
                    .build()
                    .expect("client"),
                connections: tokio::sync::Semaphore::new(connections()),
                url: format!("http://{addr}/odf"),
                auth: format!("Bearer {token}"),
            })
        })
        .collect()
}

/// Connections per source (`RELAY_BENCH_CONNECTIONS`, default 32).
fn connections() -> usize {
    std::env::var("RELAY_BENCH_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32)
}

/// Posts message `i` from every source, each post on its own task (open
/// loop); the client keeps as many connections alive as posts overlap.
fn send(srcs: &[Arc<Source>], body: &Bytes, due: Instant, acks: &Arc<Acks>) {
    for src in srcs {
        let src = Arc::clone(src);
        let acks = Arc::clone(acks);
        let body = body.clone();
        acks.sent.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let Ok(_connection) = src.connections.acquire().await else {
                return;
            };
            post(&src, body, due, &acks).await;
        });
    }
}

async fn post(src: &Source, body: Bytes, due: Instant, acks: &Acks) {
    let sent = src
        .client
        .post(&src.url)
        .header(reqwest::header::AUTHORIZATION, &src.auth)
        .header(reqwest::header::CONTENT_TYPE, "application/xml")
        .body(body)
        .send()
        .await;
    match sent {
        Ok(r) => {
            let status = r.status();
            let ok = status.is_success();
            let answer = r.bytes().await.unwrap_or_default();
            let answer = String::from_utf8_lossy(&answer);
            if ok && answer.contains("\"stale\"") {
                acks.stale.fetch_add(1, Ordering::Relaxed);
            } else if !ok {
                acks.fail(format!("{status} {}", answer.trim()));
            } else {
                acks.note(ok, answer.contains("\"duplicate\""), due);
            }
        }
        Err(e) => {
            let mut why = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                let _ = write!(why, ": {c}");
                cause = c.source();
            }
            acks.fail(why);
        }
    }
}

/// Posts `corpus[..n]` from both sources on the schedule.
pub async fn load(bench: &Bench, corpus: &[Msg], n: usize, sched: &Schedule) -> Arc<Acks> {
    let acks = Arc::new(Acks::default());
    let srcs = sources(bench.service.addr());
    sched
        .drive(n, |i| send(&srcs, &corpus[i].body, sched.at(i), &acks))
        .await;
    acks.settle(Duration::from_secs(30)).await;
    acks
}

/// (a): one phase, fsync on or off.
pub async fn phase(
    dir: &Path,
    fsync: bool,
    corpus: &[Msg],
    index: &Arc<std::collections::HashMap<String, usize>>,
    n: usize,
    rate: f64,
) -> Row {
    let bench = Bench::start(dir, fsync, index).await;
    let sched = Schedule::soon(rate);
    let acks = load(&bench, corpus, n, &sched).await;
    bench.web.receipts.settle(n, Duration::from_secs(5)).await;
    bench.media.settle(n, Duration::from_secs(5)).await;
    let ingested = bench.ingested(corpus.len());
    let mut row = Row {
        system: format!("toc fsync {}", if fsync { "on" } else { "off" }),
        offered: 2.0 * rate,
        acked: per_second(acks.answered(), &sched, *acks.last.lock().expect("acks")),
        ack: pcts(&acks.latency.lock().expect("acks")),
        ..Row::default()
    };
    row.note = format!(
        "{} duplicates, {} stale answered",
        acks.duplicate.load(Ordering::Relaxed),
        acks.stale.load(Ordering::Relaxed)
    );
    let failed = acks.failed.load(Ordering::Relaxed);
    if failed > 0 {
        let _ = write!(
            row.note,
            "; {failed} posts not acknowledged, first: {}",
            acks.error.lock().expect("acks").clone().unwrap_or_default()
        );
    }
    for (name, r) in [("http", &bench.web.receipts), ("tcp", &bench.media)] {
        let (e2e, added) = r.latencies(&sched, &ingested);
        row.sinks.push((
            name.to_owned(),
            r.rate(&sched),
            r.count(),
            pcts(&added),
            pcts(&e2e),
        ));
    }
    bench.stop().await;
    row
}

/// Replay: `n` messages appended to the journal, delivered live to the
/// TCP subscriber, then the TCP sink replayed from the first; msg/s of
/// the replay (to the subscriber's receipt of the last one).
pub async fn replay(
    dir: &Path,
    corpus: &[Msg],
    index: &Arc<std::collections::HashMap<String, usize>>,
    n: usize,
) -> (f64, usize) {
    let bench = Bench::start(dir, false, index).await;
    let control = bench.service.control();
    control
        .apply(&RelayCommand::Pause {
            sink: "web".to_owned(),
        })
        .expect("pause web");
    let journal = bench.service.journal();
    let envelopes: Vec<Vec<u8>> = corpus
        .iter()
        .take(n.min(corpus.len()))
        .map(|m| {
            Envelope {
                received: SystemTime::now(),
                source: "bench-a".to_owned(),
                header: parse_header(&m.body).expect("corpus header"),
                body: m.body.to_vec(),
            }
            .encode()
        })
        .collect();
    let first = journal.head();
    let mut appended = 0;
    while appended < n {
        let now = SystemTime::now();
        let batch: Vec<Record<'_>> = (appended..(appended + 1000).min(n))
            .map(|i| Record {
                time: now,
                data: &envelopes[i % envelopes.len()],
            })
            .collect();
        appended += batch.len();
        journal.append(&batch).expect("append");
    }
    bench.media.settle(n, Duration::from_secs(30)).await;
    let live = bench.media.count();
    bench.media.clear();
    let t = Instant::now();
    control
        .apply(&RelayCommand::Replay {
            sink: "media".to_owned(),
            from: ReplayFrom::Seq(first),
        })
        .expect("replay");
    bench.media.settle(n, Duration::from_secs(30)).await;
    let last = *bench.media.last.lock().expect("receipts");
    let took = last.map_or(t.elapsed(), |l| l.saturating_duration_since(t));
    let got = bench.media.count();
    bench.stop().await;
    if live < n {
        eprintln!("replay: only {live} of {n} delivered live before the replay");
    }
    (got as f64 / took.as_secs_f64(), got)
}

/// What the sink-down phase measured.
#[derive(Debug, Default)]
pub struct Down {
    /// RSS (MiB) when the sink went down, then every tenth of the phase.
    pub rss: Vec<f64>,
    /// The HTTP sink's backlog when it came back.
    pub backlog: u64,
    /// How long the backlog took to drain.
    pub drain: Duration,
    /// Posts not acknowledged during the phase.
    pub failed: u64,
}

/// The HTTP consumer answers 503 for `secs` while both sources post at
/// `rate` distinct messages per second; RSS is read as it goes, then the
/// consumer comes back and the backlog drains.
pub async fn sink_down(
    dir: &Path,
    corpus: &[Msg],
    index: &Arc<std::collections::HashMap<String, usize>>,
    seconds: f64,
    rate: f64,
) -> Down {
    let bench = Bench::start(dir, true, index).await;
    let n = ((seconds * rate) as usize).min(corpus.len());
    // Warm up: a second with the sink up.
    let warm = (rate as usize).min(n / 10);
    let sched = Schedule::soon(rate);
    load(&bench, corpus, warm, &sched).await;
    bench.web.down.store(true, Ordering::Relaxed);
    let mut down = Down {
        rss: vec![crate::common::rss_mib()],
        ..Down::default()
    };
    let sched = Schedule::soon(rate);
    let acks = Arc::new(Acks::default());
    let srcs = sources(bench.service.addr());
    let step = (n - warm) / 10;
    sched
        .drive(n - warm, |i| {
            send(&srcs, &corpus[warm + i].body, sched.at(i), &acks);
            if step > 0 && i > 0 && i % step == 0 {
                down.rss.push(crate::common::rss_mib());
            }
        })
        .await;
    acks.settle(Duration::from_secs(30)).await;
    down.rss.push(crate::common::rss_mib());
    down.failed = acks.failed.load(Ordering::Relaxed);
    let status = bench.service.status();
    tokio::time::sleep(toc::relay::service::REPORT_EVERY + Duration::from_millis(100)).await;
    down.backlog = status
        .borrow()
        .sinks
        .iter()
        .find(|s| s.id == "web")
        .map_or(0, |s| s.backlog);
    let t = Instant::now();
    bench.web.down.store(false, Ordering::Relaxed);
    bench.web.receipts.settle(n, Duration::from_secs(30)).await;
    down.drain = bench
        .web
        .receipts
        .last
        .lock()
        .expect("receipts")
        .map_or(t.elapsed(), |l| l.saturating_duration_since(t));
    bench.stop().await;
    down
}
