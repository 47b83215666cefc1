//! Simulated consumers of the relay: HTTP receivers (`POST /odf`, as the
//! relay's http sinks send) and a TCP subscriber (length-framed messages:
//! a 4-byte big-endian length, then the body). Each measures end-to-end
//! latency from the moment a simulated source first posted that
//! (document, version) (the [`Ledger`]) to receipt, and checks the order:
//! a version seen before is an exact repeat; a new version older than one
//! seen is out of order. The [`Tracker`] is a test tool on its own.

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use hdrhistogram::Histogram;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::odfgen::{DocKey, read_header};
use super::ovr::Ledger;

/// The largest frame a TCP subscriber takes.
const MAX_FRAME: usize = 64 << 20;

/// What a consumer saw, at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsumerStats {
    /// The consumer's name.
    pub name: String,
    /// Messages received (all of them).
    pub received: u64,
    /// Of those, an exact (document, version) repeat.
    pub repeats: u64,
    /// Of those, a new version older than one already received.
    pub out_of_order: u64,
    /// Of those, not an ODF message.
    pub unreadable: u64,
    /// First receipts whose first post is known: the latency samples.
    pub measured: u64,
    /// Median end-to-end latency.
    pub p50: Option<Duration>,
    /// 99th percentile end-to-end latency.
    pub p99: Option<Duration>,
    /// The longest.
    pub max: Option<Duration>,
}

#[derive(Debug)]
struct Inner {
    seen: HashMap<DocKey, BTreeSet<u64>>,
    /// Microseconds.
    hist: Option<Histogram<u64>>,
    stats: ConsumerStats,
}

/// Counts, order and latency of what one consumer receives.
#[derive(Debug)]
pub struct Tracker {
    ledger: Arc<Ledger>,
    inner: Mutex<Inner>,
}

impl Tracker {
    /// A tracker named `name`, reading first posts from `ledger`.
    pub fn new(name: &str, ledger: Arc<Ledger>) -> Tracker {
        // Auto-resizing: a sample past the bounds grows it. (Creation fails
        // only for a precision over 5.)
        let hist = Histogram::new(3).ok().map(|mut h| {
            h.auto(true);
            h
        });
        Tracker {
            ledger,
            inner: Mutex::new(Inner {
                seen: HashMap::new(),
                hist,
                stats: ConsumerStats {
                    name: name.to_owned(),
                    ..ConsumerStats::default()
                },
            }),
        }
    }

    /// Takes one message as received now.
    pub fn receive(&self, body: &[u8]) {
        let now = Instant::now();
        let header = read_header(body);
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.stats.received += 1;
        let Some((key, version, _)) = header else {
            inner.stats.unreadable += 1;
            return;
        };
        let first = self.ledger.first_posted(&key, version);
        let versions = inner.seen.entry(key).or_default();
        if versions.contains(&version) {
            inner.stats.repeats += 1;
            return;
        }
        let late = versions.last().is_some_and(|newest| *newest > version);
        versions.insert(version);
        if late {
            inner.stats.out_of_order += 1;
        }
        if let Some(t) = first {
            let us = u64::try_from(now.duration_since(t).as_micros()).unwrap_or(u64::MAX);
            if let Some(h) = inner.hist.as_mut() {
                let _ = h.record(us.max(1));
            }
            inner.stats.measured += 1;
        }
    }

    /// The counts and latencies so far.
    pub fn stats(&self) -> ConsumerStats {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let mut s = inner.stats.clone();
        if let Some(h) = inner.hist.as_ref().filter(|h| !h.is_empty()) {
            let d = |us: u64| Some(Duration::from_micros(us));
            s.p50 = d(h.value_at_quantile(0.5));
            s.p99 = d(h.value_at_quantile(0.99));
            s.max = d(h.max());
        }
        s
    }
}

/// A running consumer.
#[derive(Debug)]
pub struct Consumer {
    addr: SocketAddr,
    tracker: Arc<Tracker>,
    task: JoinHandle<()>,
}

impl Consumer {
    /// For HTTP, the address it listens on (the port the system gave for
    /// port 0); for TCP, the address it subscribes to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What it has seen so far.
    pub fn stats(&self) -> ConsumerStats {
        self.tracker.stats()
    }

    /// Its tracker.
    pub fn tracker(&self) -> Arc<Tracker> {
        Arc::clone(&self.tracker)
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(State(t): State<Arc<Tracker>>, body: Bytes) -> StatusCode {
    t.receive(&body);
    StatusCode::NO_CONTENT
}

/// An HTTP consumer taking `POST /odf` on `addr` (port 0: any free port).
pub async fn serve_http(name: &str, addr: SocketAddr, ledger: Arc<Ledger>) -> io::Result<Consumer> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let tracker = Arc::new(Tracker::new(name, ledger));
    let app = Router::new()
        .route("/odf", post(receive))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_FRAME))
        .with_state(Arc::clone(&tracker));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(Consumer {
        addr,
        tracker,
        task,
    })
}

/// A TCP subscriber to a relay sink at `addr`: connects (again, every
/// 200 ms, while it cannot) and reads length-framed messages.
pub fn subscribe_tcp(name: &str, addr: SocketAddr, ledger: Arc<Ledger>) -> Consumer {
    let tracker = Arc::new(Tracker::new(name, ledger));
    let t = Arc::clone(&tracker);
    let task = tokio::spawn(async move {
        loop {
            if let Ok(stream) = TcpStream::connect(addr).await {
                let _ = read_frames(stream, &t).await;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    Consumer {
        addr,
        tracker,
        task,
    }
}

/// Reads frames until the stream ends or a frame is too large.
async fn read_frames(mut stream: TcpStream, t: &Tracker) -> io::Result<()> {
    let mut buf = Vec::new();
    loop {
        let len = stream.read_u32().await? as usize;
        if len > MAX_FRAME {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "frame too large",
            ));
        }
        buf.resize(len, 0);
        stream.read_exact(&mut buf).await?;
        t.receive(&buf);
    }
}
