//! A remote engine: [`connect`] dials a `toc serve` (over TCP, TLS or a
//! Unix socket), and returns an [`EngineHandle`] that a task fills from
//! the WebSocket, so the console cannot tell it from a local engine.
//!
//! The task:
//! - keeps the latest snapshot (the server's `Full`, then each `Delta`
//!   applied to it; a delta that does not apply asks for a resync by
//!   reconnecting);
//! - turns new ticker entries into events, so the bell and the
//!   notifications work as with a local engine;
//! - sends each command and routes its reply by id;
//! - survives a server restart: [`Link::Lost`] while disconnected, then
//!   reconnects with backoff ([`backoff`]) and resyncs from the full
//!   snapshot ([`Link::Connected`] again). A command sent while
//!   disconnected, or in flight when the link drops, is answered at once
//!   with [`Refusal::Disconnected`] and the reason: nothing typed is
//!   silently lost.

pub mod backoff;
mod dial;
mod task;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, watch};

use crate::engine::command::Identity;
use crate::engine::handle::{EngineHandle, Link};

pub use dial::Dialer;

/// Where the server is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A `ws://` or `wss://` URL of the WebSocket (`/api/ws`).
    Url(url::Url),
    /// A Unix socket of the server (the server maps the peer's OS user).
    Socket(PathBuf),
}

impl Target {
    /// Reads a URL: `ws://`, `wss://`, or `http(s)://` (turned into
    /// `ws(s)://`); without a path, the WebSocket's `/api/ws`. A
    /// `unix:PATH` is a Unix socket.
    pub fn parse(text: &str) -> Result<Target, String> {
        let text = text.trim();
        if let Some(path) = text.strip_prefix("unix:") {
            return Ok(Target::Socket(PathBuf::from(path)));
        }
        let mut url = url::Url::parse(text).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
        let scheme = match url.scheme() {
            "ws" | "http" => "ws",
            "wss" | "https" => "wss",
            other => {
                return Err(format!(
                    "{text:?}: the scheme {other:?} is not one of ws, wss, http, https"
                ));
            }
        };
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("{text:?} names no host"));
        }
        if url.scheme() != scheme && url.set_scheme(scheme).is_err() {
            return Err(format!("{text:?}: cannot be made a {scheme}:// URL"));
        }
        if url.path().is_empty() || url.path() == "/" {
            url.set_path("/api/ws");
        }
        Ok(Target::Url(url))
    }

    /// Whether it needs TLS.
    pub fn is_tls(&self) -> bool {
        matches!(self, Target::Url(u) if u.scheme() == "wss")
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Url(url) => f.write_str(url.as_str()),
            Target::Socket(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// How to connect.
#[derive(Debug, Clone)]
pub struct Options {
    /// The CA certificate(s) (PEM) that signed the server's certificate,
    /// for `wss://`. The platform's roots are not used: without a CA
    /// file, `wss://` is refused.
    pub ca: Option<PathBuf>,
    /// How long one attempt (connect, TLS, upgrade, Hello and the full
    /// snapshot) may take.
    pub connect_timeout: Duration,
    /// Without a message for this long (the server pings every 15 s),
    /// the link counts as lost.
    pub idle_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            ca: None,
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(45),
        }
    }
}

/// A remote engine, connected.
#[derive(Debug)]
pub struct Remote {
    /// The console's handle, acting as [`Remote::identity`].
    pub handle: EngineHandle,
    /// Who the server says this connection acts as.
    pub identity: Identity,
    /// The server's version (`toc 0.11.0`).
    pub server: String,
    task: tokio::task::JoinHandle<()>,
}

impl Remote {
    /// Ends the connection (the handle answers every command with a
    /// refusal from then on).
    pub fn close(self) {
        self.task.abort();
    }
}

/// Connects to the server at `target` (as `token`, or over a Unix socket
/// as the OS user), waits for its `Hello` and the full snapshot, and
/// starts the task that keeps the handle up to date. Call on a tokio
/// runtime: the task runs there.
///
/// Errors (one sentence): the server cannot be reached, refused the
/// token (401), speaks another protocol version, or `wss://` without a
/// CA file.
pub async fn connect(
    target: Target,
    token: Option<String>,
    opts: Options,
) -> Result<Remote, String> {
    let dialer = Dialer::new(target, token, &opts)?;
    let opened = dialer.open().await.map_err(|e| e.to_string())?;
    let identity = opened.identity.clone();
    let server = opened.server.clone();
    let first = Arc::new(opened.snapshot.clone());
    let (snapshots, snapshot_rx) = watch::channel(Arc::clone(&first));
    let (events, _) = broadcast::channel(1024);
    let (requests_tx, requests) = mpsc::channel(64);
    let (link, link_rx) = watch::channel(Link::Connected);
    let (focus_tx, focus) = watch::channel(crate::engine::Focus::default());
    let handle = EngineHandle::new(
        snapshot_rx,
        events.clone(),
        requests_tx,
        link_rx,
        identity.clone(),
    )
    .with_focus(focus_tx);
    let shared = task::Shared {
        snapshots,
        events,
        link,
        last_event: task::last_event(&first),
        focus,
    };
    let task = tokio::spawn(task::run(dialer, opened, shared, requests));
    Ok(Remote {
        handle,
        identity,
        server,
        task,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_read_as_websocket_urls_or_sockets() {
        for (text, shown) in [
            ("ws://127.0.0.1:7470", "ws://127.0.0.1:7470/api/ws"),
            ("http://127.0.0.1:7470/", "ws://127.0.0.1:7470/api/ws"),
            ("https://toc.example:443", "wss://toc.example/api/ws"),
            (
                "wss://toc.example:8443/api/ws",
                "wss://toc.example:8443/api/ws",
            ),
            ("unix:/run/toc.sock", "unix:/run/toc.sock"),
        ] {
            let target = Target::parse(text).expect(text);
            assert_eq!(target.to_string(), shown, "{text}");
        }
        assert!(Target::parse("https://a").expect("https").is_tls());
        for bad in ["ftp://x/", "127.0.0.1:7470", "nonsense", "unix-ish"] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}
