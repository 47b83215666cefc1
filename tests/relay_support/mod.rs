//! What the relay's end-to-end tests share: a venues file with one feed
//! and a `[relay]`, the real `toc serve` process, consumers that record
//! what each sink delivers, and sources that post realistic ODF the way a
//! results server does (one message at a time, the next only once the
//! last was answered, again after an error).
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::hash::{Hash as _, Hasher as _};
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use toc::sim::odfgen::{DocKey, UnitPlan, read_header};
use tokio::sync::watch;

/// The two sources of the feed, their token variables and tokens.
pub const SOURCES: [(&str, &str, &str); 2] = [
    (
        "STA-ovr-a",
        "TOC_TOKEN_STA_OVR_A",
        "token-of-the-primary-0123",
    ),
    (
        "STA-ovr-b",
        "TOC_TOKEN_STA_OVR_B",
        "token-of-the-backup-4567",
    ),
];

/// A stable hash of a body (the same in every run of the test process).
pub fn hash(body: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    body.hash(&mut h);
    h.finish()
}

/// What a sink delivered, in the order it arrived.
#[derive(Debug, Clone)]
pub struct Got {
    /// `X-Toc-Seq`: the journal sequence number.
    pub seq: u64,
    pub key: DocKey,
    pub version: u64,
    pub hash: u64,
    pub at: Instant,
}

/// Consumers on one axum server the test owns (127.0.0.1, a port from
/// the system): `POST /sink/{id}` records and answers 200 (or 503 while
/// that sink is told to be down); `GET /health` answers 200 (the OVR
/// devices' probe).
#[derive(Debug, Default)]
pub struct Consumers {
    got: Mutex<HashMap<String, Vec<Got>>>,
    down: Mutex<HashMap<String, bool>>,
    refused: AtomicU64,
}

impl Consumers {
    /// Binds and serves; returns the address.
    pub async fn start(self: &Arc<Self>) -> SocketAddr {
        let app = Router::new()
            .route("/sink/{id}", post(take))
            .route("/health", get(|| async { "ok" }))
            .with_state(Arc::clone(self));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        addr
    }

    /// Makes sink `id`'s consumer answer 503 (down) or take messages.
    pub fn set_down(&self, id: &str, down: bool) {
        self.down.lock().unwrap().insert(id.to_owned(), down);
    }

    /// What sink `id` delivered so far.
    pub fn got(&self, id: &str) -> Vec<Got> {
        self.got
            .lock()
            .unwrap()
            .get(id)
            .cloned()
            .unwrap_or_default()
    }

    /// How many posts were answered 503.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

async fn take(
    State(c): State<Arc<Consumers>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    if c.down.lock().unwrap().get(&id).copied().unwrap_or(false) {
        c.refused.fetch_add(1, Ordering::Relaxed);
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let seq = headers
        .get("x-toc-seq")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("X-Toc-Seq on every delivery");
    let (key, version, _) = read_header(&body).expect("an ODF body");
    let got = Got {
        seq,
        key,
        version,
        hash: hash(&body),
        at: Instant::now(),
    };
    c.got.lock().unwrap().entry(id).or_default().push(got);
    StatusCode::OK
}

/// The venues file: one venue, its two OVR servers (probed over HTTP on
/// the consumers' server) as a feed's primary and backup, and a relay on
/// 127.0.0.1:0 with both as sources and `sinks` (`(id, kind lines)`),
/// one route to all of them.
pub fn venues(dir: &Path, health: SocketAddr, sinks: &[(&str, String)]) -> PathBuf {
    let mut text = format!(
        r#"[event]
name = "Relay crash test"
poll_interval = "5s"
timeout = "1s"
data_dir = "data"

[event.slo]
commentators = "350ms"
web_mobile = "2350ms"

[[venues]]
code = "STA"
name = "Stade de France"
city = "Saint-Denis"
sports = ["Athletics"]

[[venues.devices]]
id = "STA-ovr-a"
role = "ovr-server"
probe = "http://{health}/health"

[[venues.devices]]
id = "STA-ovr-b"
role = "ovr-server"
probe = "http://{health}/health"

[[venues.feeds]]
id = "STA-results"
primary = "STA-ovr-a"
backup = "STA-ovr-b"
consumers = ["commentators"]
stale_after = "30s"

[relay]
listen = "127.0.0.1:0"
max_message = "1MiB"
fsync = true
segment_size = "1MiB"
"#
    );
    for (id, env, _) in SOURCES {
        let _ = write!(
            text,
            "\n[[relay.sources]]\nid = \"{id}\"\ntoken_env = \"{env}\"\n"
        );
    }
    for (id, kind) in sinks {
        let _ = write!(
            text,
            "\n[[relay.sinks]]\nid = \"{id}\"\n{kind}\nconsumer = \"commentators\"\n"
        );
    }
    let ids: Vec<String> = sinks.iter().map(|(id, _)| format!("\"{id}\"")).collect();
    let _ = write!(text, "\n[[relay.routes]]\nsinks = [{}]\n", ids.join(", "));
    let file = dir.join("venues.toml");
    std::fs::write(&file, text).unwrap();
    file
}

/// A running `toc serve FILE`, killed when dropped.
#[derive(Debug)]
pub struct Serve {
    pub child: Child,
    pub addr: SocketAddr,
    /// From spawn to `relay listening on`.
    pub took: Duration,
}

impl Serve {
    /// Spawns `toc serve file` (stderr appended to `dir/serve.stderr`)
    /// and waits for `relay listening on ADDR` and `ready`.
    pub fn start(file: &Path, dir: &Path) -> Serve {
        let started = Instant::now();
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("serve.stderr"))
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_toc"));
        cmd.arg("serve")
            .arg(file)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr));
        for (_, env, token) in SOURCES {
            cmd.env(env, token);
        }
        let mut child = cmd.spawn().expect("toc serve starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                // Keep draining once nobody listens: the process must
                // never block on its stdout.
                let _ = tx.send(line);
            }
        });
        let mut addr = None;
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|e| {
                    let _ = child.kill();
                    let err = std::fs::read_to_string(dir.join("serve.stderr")).unwrap_or_default();
                    panic!("toc serve said nothing useful ({e}); stderr:\n{err}")
                });
            if let Some(a) = line.strip_prefix("relay listening on ") {
                addr = Some(a.trim().parse().expect("an address"));
            }
            if line.starts_with("ready") {
                break;
            }
        }
        Serve {
            child,
            addr: addr.expect("`relay listening on` before `ready`"),
            took: started.elapsed(),
        }
    }

    /// SIGKILL, and waits for it to be gone.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, and its exit status (`None`: still running after `wait`).
    pub fn terminate(mut self, wait: Duration) -> Option<std::process::ExitStatus> {
        use rustix::process::{Pid, Signal, kill_process};
        kill_process(Pid::from_child(&self.child), Signal::TERM).unwrap();
        let until = Instant::now() + wait;
        while Instant::now() < until {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Its resident set size (`VmRSS`), in KiB.
    pub fn rss_kib(&self) -> u64 {
        rss_kib(self.child.id())
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `VmRSS` of process `pid`, in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status")
}

/// An acknowledged message: 200 with `forwarded` or `duplicate`.
#[derive(Debug, Clone)]
pub struct Ack {
    pub key: DocKey,
    pub version: u64,
    pub hash: u64,
    /// The run of the process that answered (see [`Posted::run`]).
    pub run: usize,
    pub outcome: String,
}

/// What the sources saw.
#[derive(Debug, Default)]
pub struct Posted {
    pub acks: Mutex<Vec<Ack>>,
    /// Outcome counts (`forwarded`, `duplicate`, `stale`, ..., `503`,
    /// `error`).
    pub outcomes: Mutex<BTreeMap<String, u64>>,
    /// Time to each 200 (microseconds) with when it came.
    pub answers: Mutex<Vec<(Instant, u64)>>,
    /// Which run of the process the sources post to (the test sets it).
    pub run: std::sync::atomic::AtomicUsize,
}

impl Posted {
    fn count(&self, what: &str) {
        *self
            .outcomes
            .lock()
            .unwrap()
            .entry(what.to_owned())
            .or_default() += 1;
    }
}

/// One source's lane: the messages of `UnitPlan` seed `lane` (the other
/// source's lane of the same number posts the same messages), posted
/// one at a time to whatever address `addr` holds, until `stop`; at most
/// one every `pace` (zero: as fast as answers come).
pub async fn post_lane(
    (source, lane): (usize, u64),
    pace: Duration,
    addr: watch::Receiver<Option<SocketAddr>>,
    stop: Arc<AtomicBool>,
    posted: Arc<Posted>,
) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let token = SOURCES[source].2;
    // One discipline per lane: no two lanes share a document.
    let sports = [
        "Athletics",
        "Swimming",
        "Rugby",
        "Football",
        "Basketball",
        "Handball",
        "Volleyball",
        "Tennis",
        "Judo",
        "Fencing",
        "Rowing",
        "Cycling track",
        "Equestrian",
        "Gymnastics",
        "Diving",
        "Archery",
        "Boxing",
        "Table tennis",
        "Wrestling",
    ];
    let sport = sports[usize::try_from(lane).unwrap()];
    let mut plan = UnitPlan::new(&[sport.to_owned()], "STA-OVR", 1000 + lane);
    let mut addr = addr;
    let mut next = tokio::time::Instant::now();
    while !stop.load(Ordering::Relaxed) {
        if !pace.is_zero() {
            tokio::time::sleep_until(next).await;
            next += pace;
        }
        let msg = plan.next_message();
        let body = Bytes::from(msg.body);
        let h = hash(&body);
        // Post until answered (a real results server does that).
        while !stop.load(Ordering::Relaxed) {
            let Some(to) = *addr.borrow_and_update() else {
                let _ = tokio::time::timeout(Duration::from_millis(50), addr.changed()).await;
                continue;
            };
            let sent = Instant::now();
            let answer = client
                .post(format!("http://{to}/odf"))
                .bearer_auth(token)
                .body(body.clone())
                .send()
                .await;
            let Ok(r) = answer else {
                posted.count("error");
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            };
            let status = r.status();
            // An answer cut off (the relay killed) is no answer.
            let Ok(text) = r.text().await else {
                posted.count("error");
                continue;
            };
            if status == StatusCode::SERVICE_UNAVAILABLE {
                posted.count("503");
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
            assert_eq!(status, StatusCode::OK, "{}: {text}", SOURCES[source].0);
            let took = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
            posted.answers.lock().unwrap().push((Instant::now(), took));
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            let outcome = v["outcome"].as_str().unwrap_or("?").to_owned();
            posted.count(&outcome);
            if outcome == "forwarded" || outcome == "duplicate" {
                posted.acks.lock().unwrap().push(Ack {
                    key: msg.key.clone(),
                    version: msg.version,
                    hash: h,
                    run: posted.run.load(Ordering::Relaxed),
                    outcome: outcome.clone(),
                });
            }
            break;
        }
    }
}

/// What one sink's deliveries come to, checked against the acks.
#[derive(Debug, Default)]
pub struct Check {
    pub delivered: usize,
    pub first_time: usize,
    pub repeats: usize,
    /// Acknowledged (key, version)s not delivered.
    pub missing: Vec<(DocKey, u64)>,
    /// Problems: a reorder, a body that changed, a repeat with another
    /// sequence number.
    pub wrong: Vec<String>,
}

/// The (key, version) → body hash of every ack (both sources' copies of
/// a version must be the same bytes).
pub fn acked(posted: &Posted) -> HashMap<(DocKey, u64), u64> {
    let mut out = HashMap::new();
    for a in posted.acks.lock().unwrap().iter() {
        let before = out.insert((a.key.clone(), a.version), a.hash);
        assert!(
            before.is_none_or(|h| h == a.hash),
            "two bodies of one version"
        );
    }
    out
}

/// Checks one sink: each acknowledged (key, version) delivered, with the
/// body posted; per document, first deliveries in ascending version; a
/// repeat only of an exact (key, version) already delivered, under the
/// same journal sequence number.
pub fn check(got: &[Got], acked: &HashMap<(DocKey, u64), u64>) -> Check {
    let mut c = Check {
        delivered: got.len(),
        ..Check::default()
    };
    let mut newest: HashMap<&DocKey, u64> = HashMap::new();
    let mut seen: HashMap<(&DocKey, u64), (u64, u64)> = HashMap::new();
    for g in got {
        if let Some(&(seq, h)) = seen.get(&(&g.key, g.version)) {
            c.repeats += 1;
            if seq != g.seq || h != g.hash {
                c.wrong.push(format!(
                    "{} v{}: repeated as #{} (first #{seq}), same body: {}",
                    g.key.document_code,
                    g.version,
                    g.seq,
                    h == g.hash
                ));
            }
            continue;
        }
        c.first_time += 1;
        if let Some(&n) = newest.get(&g.key)
            && n >= g.version
        {
            c.wrong.push(format!(
                "{} {}: v{} after v{n}",
                g.key.document_code, g.key.document_type, g.version
            ));
        }
        newest.insert(&g.key, g.version);
        if let Some(&h) = acked.get(&(g.key.clone(), g.version))
            && h != g.hash
        {
            c.wrong.push(format!(
                "{} v{}: body changed",
                g.key.document_code, g.version
            ));
        }
        seen.insert((&g.key, g.version), (g.seq, g.hash));
    }
    for (key, version) in acked.keys() {
        if !seen.contains_key(&(key, *version)) {
            c.missing.push((key.clone(), *version));
        }
    }
    c
}

/// What a file sink's folder holds, checked against the acks: every
/// acknowledged (key, version) has a file with the body posted, no
/// (key, version) has two files (it was journaled once), and the
/// leftovers of writes cut by a crash (`.tmp`) are counted.
#[derive(Debug, Default)]
pub struct FileCheck {
    pub files: usize,
    pub leftovers: usize,
    pub missing: Vec<(DocKey, u64)>,
    pub wrong: Vec<String>,
}

pub fn check_files(dir: &Path, acked: &HashMap<(DocKey, u64), u64>) -> FileCheck {
    let mut c = FileCheck::default();
    let mut seen: HashMap<(DocKey, u64), PathBuf> = HashMap::new();
    let Ok(folders) = std::fs::read_dir(dir) else {
        c.missing = acked.keys().cloned().collect();
        return c;
    };
    for folder in folders {
        for f in std::fs::read_dir(folder.unwrap().path()).unwrap() {
            let path = f.unwrap().path();
            if path.extension().is_some_and(|e| e == "tmp") {
                c.leftovers += 1;
                continue;
            }
            c.files += 1;
            let body = std::fs::read(&path).unwrap();
            let Some((key, version, _)) = read_header(&body) else {
                c.wrong.push(format!("{}: not ODF", path.display()));
                continue;
            };
            if let Some(&h) = acked.get(&(key.clone(), version))
                && h != hash(&body)
            {
                c.wrong.push(format!("{}: body changed", path.display()));
            }
            if let Some(other) = seen.insert((key, version), path.clone()) {
                c.wrong.push(format!(
                    "journaled twice: {} and {}",
                    other.display(),
                    path.display()
                ));
            }
        }
    }
    c.missing = acked
        .keys()
        .filter(|k| !seen.contains_key(*k))
        .cloned()
        .collect();
    c
}

/// p50 / p99 / max of microsecond samples, as text.
pub fn quantiles(us: &mut [u64]) -> String {
    if us.is_empty() {
        return "none".to_owned();
    }
    us.sort_unstable();
    let at = |q: f64| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let i = ((us.len() as f64 - 1.0) * q).round() as usize;
        us[i]
    };
    format!(
        "n {} p50 {:.2} ms p99 {:.2} ms max {:.2} ms",
        us.len(),
        ms(at(0.5)),
        ms(at(0.99)),
        ms(us[us.len() - 1])
    )
}

#[allow(clippy::cast_precision_loss)]
fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}
