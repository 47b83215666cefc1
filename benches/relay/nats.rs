//! The same messages through Debian's nats-server with JetStream on
//! loopback, spoken to with a minimal NATS client (CONNECT, SUB, PUB,
//! HPUB with a reply inbox for the JetStream ack, MSG/HMSG, PING/PONG).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;

use crate::common::{Acks, Msg, Receipts, Row, Schedule, pcts, per_second};

type Io<T> = Result<T, String>;

/// `nats-server` on PATH, or in /usr/sbin or /usr/bin.
pub fn find() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|d| d.join("nats-server"))
        .find(|p| p.is_file())
}

/// A nats-server child, killed and reaped on drop.
pub struct Server {
    child: Child,
    pub port: u16,
    pub version: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts nats-server with JetStream on 127.0.0.1, on a port it picks
/// itself (`-p -1`), read back from its ports file.
pub fn start(bin: &Path, dir: &Path) -> Io<Server> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let version = Command::new(bin)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let child = Command::new(bin)
        .args(["-a", "127.0.0.1", "-p", "-1", "-js", "-sd"])
        .arg(dir.join("js"))
        .arg("--ports_file_dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let ports = dir.join(format!("nats-server_{}.ports", child.id()));
    let mut server = Server {
        child,
        port: 0,
        version,
    };
    let until = Instant::now() + Duration::from_secs(10);
    while server.port == 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
        let text = std::fs::read_to_string(&ports).unwrap_or_default();
        // {"nats":["nats://127.0.0.1:45177"], ...}
        server.port = text
            .split("nats://127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split('"').next()?.parse().ok())
            .unwrap_or(0);
    }
    if server.port == 0 {
        return Err("nats-server did not report its port".to_owned());
    }
    Ok(server)
}

/// One frame from the server.
enum Frame {
    Msg {
        subject: String,
        reply: Option<String>,
        headers: Vec<u8>,
        payload: Vec<u8>,
    },
    Ping,
    Pong,
    Other,
}

async fn read_frame(rd: &mut BufReader<OwnedReadHalf>, line: &mut Vec<u8>) -> Io<Frame> {
    line.clear();
    let n = rd
        .read_until(b'\n', line)
        .await
        .map_err(|e| e.to_string())?;
    if n == 0 {
        return Err("nats: connection closed".to_owned());
    }
    let text = String::from_utf8_lossy(line).trim_end().to_owned();
    let words: Vec<&str> = text.split_whitespace().collect();
    let num = |s: &str| {
        s.parse::<usize>()
            .map_err(|_| format!("nats: bad line {text}"))
    };
    let (subject, reply, hdr, total) = match words.as_slice() {
        ["MSG", s, _, n] => (*s, None, 0, num(n)?),
        ["MSG", s, _, r, n] => (*s, Some(*r), 0, num(n)?),
        ["HMSG", s, _, h, n] => (*s, None, num(h)?, num(n)?),
        ["HMSG", s, _, r, h, n] => (*s, Some(*r), num(h)?, num(n)?),
        ["PING"] => return Ok(Frame::Ping),
        ["PONG"] => return Ok(Frame::Pong),
        [w, ..] if *w == "-ERR" => return Err(format!("nats: {text}")),
        _ => return Ok(Frame::Other),
    };
    let mut data = vec![0; total + 2];
    rd.read_exact(&mut data).await.map_err(|e| e.to_string())?;
    data.truncate(total);
    let payload = data.split_off(hdr.min(total));
    Ok(Frame::Msg {
        subject: subject.to_owned(),
        reply: reply.map(str::to_owned),
        headers: data,
        payload,
    })
}

/// A connection after the handshake.
struct Conn {
    rd: BufReader<OwnedReadHalf>,
    wr: OwnedWriteHalf,
    line: Vec<u8>,
}

impl Conn {
    async fn open(port: u16) -> Io<Conn> {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| format!("nats connect: {e}"))?;
        let _ = stream.set_nodelay(true);
        let (rd, wr) = stream.into_split();
        let mut c = Conn {
            rd: BufReader::with_capacity(1 << 20, rd),
            wr,
            line: Vec::new(),
        };
        // INFO {...}
        c.line.clear();
        c.rd.read_until(b'\n', &mut c.line)
            .await
            .map_err(|e| e.to_string())?;
        c.send(b"CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"no_responders\":true,\"protocol\":1,\"name\":\"toc-bench\"}\r\n").await?;
        c.flush().await?;
        Ok(c)
    }

    async fn send(&mut self, bytes: &[u8]) -> Io<()> {
        self.wr.write_all(bytes).await.map_err(|e| e.to_string())
    }

    /// PING, and wait for its PONG (everything before it is processed).
    async fn flush(&mut self) -> Io<()> {
        self.send(b"PING\r\n").await?;
        loop {
            match read_frame(&mut self.rd, &mut self.line).await? {
                Frame::Pong => return Ok(()),
                Frame::Ping => self.send(b"PONG\r\n").await?,
                _ => {}
            }
        }
    }

    /// A JetStream API request; its answer's JSON.
    async fn request(&mut self, subject: &str, json: &str) -> Io<String> {
        self.send(b"SUB _INBOX.ctl 99\r\n").await?;
        self.send(format!("PUB {subject} _INBOX.ctl {}\r\n{json}\r\n", json.len()).as_bytes())
            .await?;
        loop {
            match read_frame(&mut self.rd, &mut self.line).await? {
                Frame::Msg { payload, .. } => {
                    let answer = String::from_utf8_lossy(&payload).into_owned();
                    if answer.contains("\"error\"") {
                        return Err(format!("{subject}: {answer}"));
                    }
                    return Ok(answer);
                }
                Frame::Ping => self.send(b"PONG\r\n").await?,
                _ => {}
            }
        }
    }
}

/// The `Nats-Msg-Id` of a header block.
fn msg_id(headers: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(headers).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("Nats-Msg-Id:"))
        .map(str::trim)
}

/// The stream timestamp of a push delivery's ack subject
/// (`$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>`).
fn stored_at(reply: Option<&str>) -> Option<SystemTime> {
    let tokens: Vec<&str> = reply?.split('.').collect();
    if tokens.len() != 9 || tokens[1] != "ACK" {
        return None;
    }
    let nanos: u64 = tokens[7].parse().ok()?;
    Some(UNIX_EPOCH + Duration::from_nanos(nanos))
}

/// A push consumer: its deliveries recorded with the time JetStream
/// stored each message.
async fn consumer(
    port: u16,
    name: &str,
    receipts: Arc<Receipts>,
    stored: Arc<std::sync::Mutex<Vec<(usize, SystemTime)>>>,
) -> Io<()> {
    let mut sub = Conn::open(port).await?;
    sub.send(format!("SUB deliver.{name} 1\r\n").as_bytes())
        .await?;
    sub.flush().await?;
    let Conn {
        mut rd,
        mut wr,
        mut line,
    } = sub;
    tokio::spawn(async move {
        loop {
            match read_frame(&mut rd, &mut line).await {
                Ok(Frame::Msg { reply, headers, .. }) => {
                    if let Some(id) = msg_id(&headers) {
                        receipts.note_id(id);
                        if let (Some(at), Some(&i)) =
                            (stored_at(reply.as_deref()), receipts.index.get(id))
                        {
                            stored.lock().expect("stored").push((i, at));
                        }
                    }
                }
                Ok(Frame::Ping) => {
                    let _ = wr.write_all(b"PONG\r\n").await;
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
    Ok(())
}

/// A publishing source: frames go out through a writer task (flushed
/// when nothing more is queued); acks come back on `_INBOX.<name>.<i>`.
fn publisher(conn: Conn, sched: Schedule, acks: Arc<Acks>) -> mpsc::UnboundedSender<Bytes> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Bytes>();
    let Conn {
        mut rd,
        wr,
        mut line,
    } = conn;
    tokio::spawn(async move {
        let mut wr = tokio::io::BufWriter::with_capacity(1 << 20, wr);
        while let Some(frame) = rx.recv().await {
            if wr.write_all(&frame).await.is_err() {
                return;
            }
            while let Ok(more) = rx.try_recv() {
                if wr.write_all(&more).await.is_err() {
                    return;
                }
            }
            if wr.flush().await.is_err() {
                return;
            }
        }
    });
    let pong = tx.clone();
    tokio::spawn(async move {
        loop {
            match read_frame(&mut rd, &mut line).await {
                Ok(Frame::Msg {
                    subject, payload, ..
                }) => {
                    let Some(i) = subject
                        .rsplit('.')
                        .next()
                        .and_then(|s| s.parse::<usize>().ok())
                    else {
                        continue;
                    };
                    // {"stream":"ODF", "seq":5,"duplicate": true}
                    let text: String = String::from_utf8_lossy(&payload)
                        .chars()
                        .filter(|c| !c.is_whitespace())
                        .collect();
                    let ok = text.contains("\"seq\"") && !text.contains("\"error\"");
                    acks.note(ok, text.contains("\"duplicate\":true"), sched.at(i));
                }
                Ok(Frame::Ping) => {
                    let _ = pong.send(Bytes::from_static(b"PONG\r\n"));
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
    tx
}

fn hpub(source: &str, i: usize, m: &Msg) -> Bytes {
    let hdr = format!("NATS/1.0\r\nNats-Msg-Id: {}\r\n\r\n", m.id);
    let total = hdr.len() + m.body.len();
    let mut out = Vec::with_capacity(total + 96);
    out.extend_from_slice(
        format!(
            "HPUB odf.results _INBOX.{source}.{i} {} {total}\r\n",
            hdr.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(hdr.as_bytes());
    out.extend_from_slice(&m.body);
    out.extend_from_slice(b"\r\n");
    Bytes::from(out)
}

/// Creates the stream (file storage, a dedup window over `Nats-Msg-Id`)
/// and two push consumers.
async fn setup(
    port: u16,
    web: &Arc<Receipts>,
    media: &Arc<Receipts>,
    stored: &Arc<std::sync::Mutex<Vec<(usize, SystemTime)>>>,
) -> Io<()> {
    let mut ctl = Conn::open(port).await?;
    ctl.request(
        "$JS.API.STREAM.CREATE.ODF",
        r#"{"name":"ODF","subjects":["odf.>"],"storage":"file","retention":"limits","discard":"old","num_replicas":1,"duplicate_window":120000000000}"#,
    )
    .await?;
    for (name, r) in [("web", web), ("media", media)] {
        consumer(port, name, Arc::clone(r), Arc::clone(stored)).await?;
        ctl.request(
            "$JS.API.CONSUMER.CREATE.ODF",
            &format!(
                r#"{{"stream_name":"ODF","config":{{"deliver_subject":"deliver.{name}","deliver_policy":"all","ack_policy":"none","replay_policy":"instant"}}}}"#
            ),
        )
        .await?;
    }
    Ok(())
}

/// (b): the same schedule and messages through JetStream.
pub async fn phase(
    bin: &Path,
    dir: &Path,
    corpus: &[Msg],
    index: &Arc<std::collections::HashMap<String, usize>>,
    n: usize,
    rate: f64,
) -> Io<Row> {
    let server = start(bin, dir)?;
    let web = Arc::new(Receipts::new(Arc::clone(index)));
    let media = Arc::new(Receipts::new(Arc::clone(index)));
    let stored = Arc::new(std::sync::Mutex::new(Vec::new()));
    setup(server.port, &web, &media, &stored).await?;
    let sched = Schedule::soon(rate);
    let acks = Arc::new(Acks::default());
    let mut pubs = Vec::new();
    for source in ["a", "b"] {
        let mut c = Conn::open(server.port).await?;
        c.send(format!("SUB _INBOX.{source}.* 1\r\n").as_bytes())
            .await?;
        c.flush().await?;
        pubs.push((source, publisher(c, sched, Arc::clone(&acks))));
    }
    sched
        .drive(n, |i| {
            for (source, tx) in &pubs {
                acks.sent.fetch_add(1, Ordering::Relaxed);
                let _ = tx.send(hpub(source, i, &corpus[i]));
            }
        })
        .await;
    acks.settle(Duration::from_secs(30)).await;
    web.settle(n, Duration::from_secs(5)).await;
    media.settle(n, Duration::from_secs(5)).await;
    let mut ingested = vec![None; corpus.len()];
    for &(i, at) in stored.lock().expect("stored").iter() {
        ingested[i] = Some(at);
    }
    let mut row = Row {
        system: "JetStream".to_owned(),
        offered: 2.0 * rate,
        acked: per_second(acks.answered(), &sched, *acks.last.lock().expect("acks")),
        ack: pcts(&acks.latency.lock().expect("acks")),
        note: format!(
            "{}; {} duplicates dropped",
            server.version,
            acks.duplicate.load(Ordering::Relaxed)
        ),
        ..Row::default()
    };
    let failed = acks.failed.load(Ordering::Relaxed);
    if failed > 0 {
        let _ = write!(row.note, "; {failed} not acknowledged");
    }
    for (name, r) in [("push-1", &web), ("push-2", &media)] {
        let (e2e, added) = r.latencies(&sched, &ingested);
        row.sinks.push((
            name.to_owned(),
            r.rate(&sched),
            r.count(),
            pcts(&added),
            pcts(&e2e),
        ));
    }
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
    Ok(row)
}
