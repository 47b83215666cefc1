//! What tests/api_wall.rs and tests/api_metrics.rs share: a `toc demo
//! --no-console` child with its API on a free port, headless Chromium
//! driven over the DevTools Protocol, and a small PNG reader. A test that
//! uses it declares `mod support;` too.
#![allow(
    dead_code,
    clippy::many_single_char_names,
    clippy::similar_names,
    clippy::doc_markdown,
    clippy::manual_midpoint
)]

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};

// The test crate's `mod support;` (tests/support/).
use crate::support::headless;
use tokio_tungstenite::tungstenite::Message;

/// Two venues: STA with a redundant core (one switch down makes it
/// DEGRADED) and MRN; polled twice a second, a problem hard at once, so
/// a fault shows within a second.
pub const VENUES: &str = r#"
[event]
name = "Wall Test Games"
poll_interval = "500ms"
timeout = "200ms"
retries = 0
max_attempts = 1

[event.slo]
commentators = "350ms"
web_mobile = "2350ms"

[profiles.venue-v2c]
version = "v2c"
community = "public"

[[venues]]
code = "STA"
name = "Stade de France"
city = "Saint-Denis"
sports = ["Athletics"]

[[venues.devices]]
id = "STA-core-a"
role = "core-switch"
probe = "snmp://127.0.0.1:16100"
profile = "venue-v2c"
group = "STA-core"

[[venues.devices]]
id = "STA-core-b"
role = "core-switch"
probe = "snmp://127.0.0.1:16101"
profile = "venue-v2c"
group = "STA-core"

[[venues.groups]]
id = "STA-core"
min_up = 1

[[venues]]
code = "MRN"
name = "Marseille Marina"
city = "Marseille"
sports = ["Sailing"]

[[venues.devices]]
id = "MRN-core"
role = "core-switch"
probe = "snmp://127.0.0.1:16102"
profile = "venue-v2c"

[[venues.devices]]
id = "MRN-timing"
role = "timing"
probe = "tcp://127.0.0.1:16103"

[api]
listen = "127.0.0.1:0"
"#;

/// A `toc demo --no-console` child.
pub struct Demo {
    pub child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    pub data: PathBuf,
}

impl Demo {
    /// Writes [`VENUES`] in `dir`, starts the demo as the user dana (a
    /// duty manager: there is no users file) and waits for `ready`.
    pub fn start(dir: &Path) -> Demo {
        let file = dir.join("venues.toml");
        std::fs::write(&file, VENUES).expect("write venues.toml");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_toc"));
        cmd.arg("demo")
            .arg(&file)
            .arg("--no-console")
            .env("USER", "dana")
            .env_remove("TERM")
            .current_dir(dir);
        let headless::Demo {
            child,
            stdin,
            lines,
        } = headless::Demo::spawn(cmd);
        Demo {
            child,
            stdin: Some(stdin),
            lines,
            data: dir.join("toc-data"),
        }
    }

    /// The API's base URL (`http://127.0.0.1:PORT`), from the address the
    /// demo publishes in its data folder.
    pub fn api_url(&self) -> String {
        let file = self.data.join("api-address.json");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(text) = std::fs::read_to_string(&file)
                && let Ok(doc) = serde_json::from_str::<serde_json::Value>(&text)
                && let Some(url) = doc["urls"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|u| u.as_str())
                    .find(|u| u.starts_with("http://"))
            {
                return url.trim_end_matches('/').to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "no API address in {}",
                file.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The next answer line.
    pub fn next(&mut self, within: Duration) -> String {
        self.lines
            .recv_timeout(within)
            .unwrap_or_else(|e| panic!("toc demo answers within {within:?}: {e}"))
    }

    /// Writes one command line.
    pub fn write(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("the demo runs");
        writeln!(stdin, "{line}").expect("write a command");
        stdin.flush().expect("flush");
    }

    /// Ends the demo (the end of its input) and waits for it to exit.
    pub fn stop(&mut self) {
        self.stdin.take();
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().expect("wait").is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("toc demo did not stop within 30 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Chromium's path, or `None` (with a note) when it is missing and
/// `TOC_REQUIRE_PEERS` is not `1`.
pub fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("TOC_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var("TOC_REQUIRE_PEERS").as_deref() != Ok("1"),
        "{} is missing and TOC_REQUIRE_PEERS=1: install the chromium package",
        path.display()
    );
    eprintln!(
        "skipped: {} is missing (apt-get install chromium)",
        path.display()
    );
    None
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Headless Chromium and the DevTools connection to its page.
pub struct Browser {
    child: Child,
    ws: Ws,
    next_id: u64,
}

/// What the page shows of STA's tile.
#[derive(Debug, Clone)]
pub struct Tile {
    /// Its `data-status`.
    pub status: String,
    /// Its centre, in screenshot pixels.
    pub x: u32,
    pub y: u32,
    /// How many tiles the page has.
    pub tiles: u64,
    /// Whether the page shows the link as lost.
    pub lost: bool,
}

const TILE: &str = "(() => { const e = document.getElementById('venue-STA'); \
    const r = e ? e.getBoundingClientRect() : null; \
    return JSON.stringify({ status: e ? e.getAttribute('data-status') : '', \
      x: r ? Math.round(r.x + r.width / 2) : 0, y: r ? Math.round(r.y + r.height / 2) : 0, \
      tiles: document.querySelectorAll('.tile').length, \
      lost: document.body.className === 'lost' }); })()";

impl Browser {
    /// Starts Chromium headless with its profile under `dir` and connects
    /// to its first page.
    pub async fn start(chromium: &Path, dir: &Path) -> Browser {
        use std::os::unix::process::CommandExt as _;
        let profile = dir.join("chromium-profile");
        std::fs::create_dir_all(&profile).expect("profile dir");
        let child = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                "--force-color-profile=srgb",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("chromium starts");
        let port_file = profile.join("DevToolsActivePort");
        let deadline = Instant::now() + Duration::from_secs(60);
        let port = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file)
                && let Some(port) = text
                    .lines()
                    .next()
                    .and_then(|l| l.trim().parse::<u16>().ok())
                && text.lines().count() >= 2
            {
                break port;
            }
            assert!(
                Instant::now() < deadline,
                "chromium wrote no {}",
                port_file.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let mut browser_guard = Browser::guard(child);
        let list = format!("http://127.0.0.1:{port}/json/list");
        let page = loop {
            let targets: Vec<serde_json::Value> = match reqwest::get(&list).await {
                Ok(r) => r.json().await.unwrap_or_default(),
                Err(_) => Vec::new(),
            };
            if let Some(url) = targets
                .iter()
                .find(|t| t["type"] == "page")
                .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            {
                break url.to_owned();
            }
            assert!(Instant::now() < deadline, "chromium shows no page");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let (ws, _) = tokio_tungstenite::connect_async(page.as_str())
            .await
            .expect("DevTools connects");
        let child = browser_guard.take().expect("chromium");
        Browser {
            child,
            ws,
            next_id: 0,
        }
    }

    fn guard(child: Child) -> Guard {
        Guard(Some(child))
    }

    /// One DevTools call; its `result`.
    pub async fn call(&mut self, method: &str, params: serde_json::Value) -> serde_json::Value {
        self.next_id += 1;
        let id = self.next_id;
        let msg = serde_json::json!({ "id": id, "method": method, "params": params });
        self.ws
            .send(Message::text(msg.to_string()))
            .await
            .expect("DevTools takes a call");
        let answer = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(frame) = self.ws.next().await {
                let frame = frame.expect("DevTools answers");
                let Ok(text) = frame.to_text() else { continue };
                let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
                    continue;
                };
                if v["id"] == id {
                    return v;
                }
            }
            panic!("DevTools closed during {method}");
        })
        .await
        .unwrap_or_else(|_| panic!("{method}: no answer within 60 s"));
        assert!(answer.get("error").is_none(), "{method}: {answer}");
        answer["result"].clone()
    }

    /// Sets the page's size (device pixels = CSS pixels).
    pub async fn viewport(&mut self, width: u32, height: u32) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            serde_json::json!({ "width": width, "height": height,
                "deviceScaleFactor": 1, "mobile": false }),
        )
        .await;
    }

    /// Opens `url`.
    pub async fn navigate(&mut self, url: &str) {
        let r = self
            .call("Page.navigate", serde_json::json!({ "url": url }))
            .await;
        assert!(r.get("errorText").is_none(), "navigate {url}: {r}");
    }

    /// A JavaScript expression's value as a string.
    pub async fn eval_string(&mut self, expr: &str) -> String {
        let r = self
            .call(
                "Runtime.evaluate",
                serde_json::json!({ "expression": expr, "returnByValue": true }),
            )
            .await;
        r["result"]["value"].as_str().unwrap_or_default().to_owned()
    }

    /// STA's tile as the page shows it now.
    pub async fn tile(&mut self) -> Tile {
        let text = self.eval_string(TILE).await;
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        Tile {
            status: v["status"].as_str().unwrap_or_default().to_owned(),
            x: u32::try_from(v["x"].as_u64().unwrap_or(0)).unwrap_or(0),
            y: u32::try_from(v["y"].as_u64().unwrap_or(0)).unwrap_or(0),
            tiles: v["tiles"].as_u64().unwrap_or(0),
            lost: v["lost"].as_bool().unwrap_or(true),
        }
    }

    /// Polls STA's tile until `ok` holds, for at most `within`.
    pub async fn wait_for(&mut self, within: Duration, ok: impl Fn(&Tile) -> bool) -> Tile {
        let deadline = Instant::now() + within;
        loop {
            let t = self.tile().await;
            if ok(&t) {
                return t;
            }
            assert!(
                Instant::now() < deadline,
                "the wall did not get there within {within:?}: {t:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&mut self) -> Vec<u8> {
        let r = self
            .call(
                "Page.captureScreenshot",
                serde_json::json!({ "format": "png" }),
            )
            .await;
        base64(r["data"].as_str().expect("screenshot data"))
    }
}

/// Kills a Chromium that did not get as far as a [`Browser`].
struct Guard(Option<Child>);

impl Guard {
    fn take(&mut self) -> Option<Child> {
        self.0.take()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            kill_group(child);
        }
    }
}

/// Kills Chromium's process group (the browser and its renderers) and
/// reaps it.
fn kill_group(child: &mut Child) {
    if let Some(pid) = i32::try_from(child.id())
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for Browser {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}

/// Standard base64 to bytes.
pub fn base64(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).expect("a byte"));
        }
    }
    out
}

/// A PNG's width, height and the RGB of pixel (`x`, `y`) (8-bit RGB or
/// RGBA, not interlaced: what Chromium writes).
pub fn png_pixel(png: &[u8], x: u32, y: u32) -> (u32, u32, [u8; 3]) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let (mut width, mut height, mut bpp) = (0, 0, 0);
    let mut idat = Vec::new();
    let mut at = 8;
    while at + 8 <= png.len() {
        let len = be(&png[at..]) as usize;
        let kind = &png[at + 4..at + 8];
        let data = &png[at + 8..at + 8 + len];
        match kind {
            b"IHDR" => {
                width = be(data);
                height = be(&data[4..]);
                assert_eq!(data[8], 8, "8 bits per channel");
                assert_eq!(data[12], 0, "not interlaced");
                bpp = match data[9] {
                    2 => 3,
                    6 => 4,
                    other => panic!("colour type {other}"),
                };
            }
            b"IDAT" => idat.extend_from_slice(data),
            b"IEND" => break,
            _ => {}
        }
        at += 12 + len;
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut raw)
        .expect("the image data inflates");
    let stride = width as usize * bpp;
    let mut prev = vec![0u8; stride];
    let mut row = vec![0u8; stride];
    for r in 0..=y.min(height.saturating_sub(1)) as usize {
        let line = &raw[r * (stride + 1)..(r + 1) * (stride + 1)];
        let filter = line[0];
        for i in 0..stride {
            let a = if i >= bpp { row[i - bpp] } else { 0 };
            let b = prev[i];
            let c = if i >= bpp { prev[i - bpp] } else { 0 };
            let pred = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => u8::try_from((u16::from(a) + u16::from(b)) / 2).expect("a byte"),
                4 => {
                    let p = i16::from(a) + i16::from(b) - i16::from(c);
                    let (pa, pb, pc) = (
                        (p - i16::from(a)).abs(),
                        (p - i16::from(b)).abs(),
                        (p - i16::from(c)).abs(),
                    );
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                other => panic!("PNG filter {other}"),
            };
            row[i] = line[i + 1].wrapping_add(pred);
        }
        std::mem::swap(&mut prev, &mut row);
    }
    let px = x.min(width.saturating_sub(1)) as usize * bpp;
    (width, height, [prev[px], prev[px + 1], prev[px + 2]])
}
