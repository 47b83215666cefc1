//! What the sink tests share: a journal, the relay's control state, an
//! HTTP consumer that records what it gets.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use toc::config::venues::{Feed, Relay, RelayRoute, RelaySink, RelaySource, SinkKind};
use toc::model::relay::RelayCommand;
use toc::model::topology::{DeviceIdx, VenueIdx};
use toc::relay::control::ControlHandle;
use toc::relay::envelope::Envelope;
use toc::relay::journal::{Journal, JournalOptions, Log, Record};
use toc::relay::odf::{DocKey, Header};
use toc::relay::sink::{SinkHandle, SinkSpec, spawn_sink};

mod memlog;
pub use memlog::MemLog;

/// Waits up to 10 s for a condition.
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub fn sink(id: &str, kind: SinkKind) -> RelaySink {
    RelaySink {
        id: id.to_owned(),
        kind,
        consumer: "commentators".to_owned(),
        slo: Duration::from_millis(350),
    }
}

pub fn http_sink(id: &str, url: &str) -> RelaySink {
    sink(
        id,
        SinkKind::Http {
            url: url.to_owned(),
        },
    )
}

pub fn route(id: &str, sinks: &[usize]) -> RelayRoute {
    RelayRoute {
        id: id.to_owned(),
        sinks: sinks.to_vec(),
        discipline: None,
        document_type: None,
        feed: None,
        source: None,
    }
}

pub fn header(i: u64) -> Header {
    Header {
        key: DocKey {
            competition_code: "OG2024".to_owned(),
            document_code: format!("ATHM100M----------FNL-{i:06}--"),
            document_subcode: String::new(),
            document_type: "DT_RESULT".to_owned(),
            document_subtype: String::new(),
        },
        version: 1,
        result_status: Some("OFFICIAL".to_owned()),
        ..Header::default()
    }
}

/// Message `i`'s body: a few hundred bytes that say which it is.
pub fn body(i: u64) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\"?><OdfBody DocumentCode=\"ATHM100M----------FNL-{i:06}--\" Version=\"1\">{}</OdfBody>",
        "x".repeat(200 + usize::try_from(i % 7).unwrap() * 50)
    )
    .into_bytes()
}

pub struct Fixture {
    pub relay: Relay,
    pub feeds: Vec<Feed>,
    pub control: ControlHandle,
    /// The relay's journal in a temporary folder, or a [`MemLog`].
    pub log: Arc<dyn Log>,
    /// The log when it is in memory (tests that trim it).
    pub mem: Option<Arc<MemLog>>,
    pub dir: tempfile::TempDir,
}

fn open_journal(dir: &std::path::Path) -> Arc<dyn Log> {
    let options = JournalOptions {
        segment_size: 256 << 10,
        fsync: false,
    };
    Arc::new(Journal::open(&dir.join("journal"), options).unwrap().0)
}

impl Fixture {
    /// Sources STA-ovr-a and STA-ovr-b (feed STA-results) and `manual`.
    pub fn new(sinks: Vec<RelaySink>, routes: Vec<RelayRoute>) -> Fixture {
        let source = |id: &str, feed: Option<usize>| RelaySource {
            id: id.to_owned(),
            token_env: "T".to_owned(),
            device: None,
            feed,
        };
        let relay = Relay {
            listen: "127.0.0.1:0".parse().unwrap(),
            max_message: 1 << 20,
            fsync: false,
            segment_size: 1 << 20,
            sources: vec![
                source("STA-ovr-a", Some(0)),
                source("STA-ovr-b", Some(0)),
                source("manual", None),
            ],
            sinks,
            routes,
        };
        let feeds = vec![Feed {
            id: "STA-results".to_owned(),
            venue: VenueIdx(0),
            primary: DeviceIdx(0),
            backup: DeviceIdx(1),
            consumers: vec![],
            stale_after: Duration::from_secs(10),
        }];
        let (control, warnings) = ControlHandle::open(&relay, &feeds, None);
        assert!(warnings.is_empty());
        let dir = tempfile::tempdir().unwrap();
        Fixture {
            relay,
            feeds,
            control,
            log: open_journal(dir.path()),
            mem: None,
            dir,
        }
    }

    /// The same with the journal in memory.
    pub fn in_memory(sinks: Vec<RelaySink>, routes: Vec<RelayRoute>) -> Fixture {
        let mem = Arc::new(MemLog::default());
        Fixture {
            log: mem.clone(),
            mem: Some(mem),
            ..Fixture::new(sinks, routes)
        }
    }

    /// Closes the journal and opens it again (as after a restart).
    pub fn reopen(&mut self) {
        assert!(self.mem.is_none());
        self.log = Arc::new(MemLog::default());
        self.log = open_journal(self.dir.path());
    }

    /// Every sink, as the relay starts them.
    pub fn spawn_all(&self) -> Vec<SinkHandle> {
        toc::relay::sink::spawn_sinks(&self.relay, &self.log, &self.control.subscribe())
    }

    pub fn spawn(&self, index: usize) -> SinkHandle {
        let spec = SinkSpec::from_config(index, &self.relay.sinks[index], false);
        spawn_sink(spec, self.log.clone(), self.control.subscribe())
    }

    /// Waits until a new sink saved its first cursor (it started).
    pub async fn wait_started(&self, sink: &SinkHandle) {
        let id = sink.id().to_owned();
        eventually("sink started", || self.log.cursor(&id).is_some()).await;
    }

    pub fn append_envelopes(&self, envs: &[Envelope]) -> Vec<u64> {
        let bytes: Vec<Vec<u8>> = envs.iter().map(Envelope::encode).collect();
        let records: Vec<Record<'_>> = envs
            .iter()
            .zip(&bytes)
            .map(|(e, b)| Record {
                time: e.received,
                data: b,
            })
            .collect();
        let first = self.log.append(&records).unwrap();
        (first..first + envs.len() as u64).collect()
    }

    /// Messages `range` (header(i), body(i)) from `source`.
    pub fn append(&self, range: std::ops::Range<u64>, source: &str) -> Vec<u64> {
        let envs: Vec<Envelope> = range
            .map(|i| Envelope {
                received: SystemTime::now(),
                source: source.to_owned(),
                header: header(i),
                body: body(i),
            })
            .collect();
        self.append_envelopes(&envs)
    }

    /// One message of document `code`.
    pub fn append_doc(&self, code: &str, version: u64, source: &str) -> u64 {
        let mut h = header(0);
        code.clone_into(&mut h.key.document_code);
        h.version = version;
        let env = Envelope {
            received: SystemTime::now(),
            source: source.to_owned(),
            header: h,
            body: format!("<OdfBody DocumentCode=\"{code}\" Version=\"{version}\"/>").into_bytes(),
        };
        self.append_envelopes(&[env])[0]
    }

    pub fn apply(&self, cmd: &RelayCommand) {
        self.control.apply(cmd).unwrap();
    }
}

/// What the consumer got.
#[derive(Debug, Clone)]
pub struct Got {
    pub seq: u64,
    pub source: String,
    pub content_type: String,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Ok,
    /// 503 for everything.
    Unavailable,
    /// 400 for this sequence number.
    RefuseSeq(u64),
}

#[derive(Debug)]
struct Inner {
    got: Mutex<Vec<Got>>,
    mode: Mutex<Mode>,
    attempts: AtomicU64,
}

/// An HTTP consumer on 127.0.0.1 that records what it takes.
#[derive(Debug, Clone)]
pub struct Consumer {
    addr: SocketAddr,
    inner: Arc<Inner>,
}

async fn take(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    inner.attempts.fetch_add(1, Ordering::Relaxed);
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let seq: u64 = h("x-toc-seq").parse().unwrap_or(0);
    match *inner.mode.lock().unwrap() {
        Mode::Unavailable => return StatusCode::SERVICE_UNAVAILABLE,
        Mode::RefuseSeq(s) if s == seq => return StatusCode::BAD_REQUEST,
        _ => {}
    }
    inner.got.lock().unwrap().push(Got {
        seq,
        source: h("x-toc-source"),
        content_type: h("content-type"),
        body: body.to_vec(),
    });
    StatusCode::OK
}

impl Consumer {
    pub async fn start() -> Consumer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Consumer::run(listener)
    }

    /// Serves on a socket bound earlier (see [`bound_not_listening`]).
    pub fn serve(socket: socket2::Socket) -> Consumer {
        socket.listen(128).unwrap();
        let std: std::net::TcpListener = socket.into();
        std.set_nonblocking(true).unwrap();
        Consumer::run(tokio::net::TcpListener::from_std(std).unwrap())
    }

    fn run(listener: tokio::net::TcpListener) -> Consumer {
        let addr = listener.local_addr().unwrap();
        let inner = Arc::new(Inner {
            got: Mutex::new(Vec::new()),
            mode: Mutex::new(Mode::Ok),
            attempts: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/odf", axum::routing::post(take))
            .with_state(inner.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Consumer { addr, inner }
    }

    pub fn url(&self) -> String {
        format!("http://{}/odf", self.addr)
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.inner.mode.lock().unwrap() = mode;
    }

    pub fn got(&self) -> Vec<Got> {
        self.inner.got.lock().unwrap().clone()
    }

    pub fn seqs(&self) -> Vec<u64> {
        self.inner
            .got
            .lock()
            .unwrap()
            .iter()
            .map(|g| g.seq)
            .collect()
    }

    pub fn attempts(&self) -> u64 {
        self.inner.attempts.load(Ordering::Relaxed)
    }
}

/// A socket bound to 127.0.0.1 port 0 that does not listen yet: a
/// connection to it is refused. Its URL.
pub fn bound_not_listening() -> (socket2::Socket, String) {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    socket.bind(&any.into()).unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    (socket, format!("http://{addr}/odf"))
}
