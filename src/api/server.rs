//! The API of `toc serve` (docs/api.md): `POST /api/commands`, the
//! WebSocket at `/api/ws`, `/metrics`, `/healthz` and `/wall`, on TCP
//! (plain or TLS) and on a Unix socket, on a thread of its own with its
//! own Tokio runtime, so a hundred consoles never stall the engine.
//!
//! - [`fanout`]: one publisher encodes each update once for every console;
//! - [`ws`]: a console's connection (its own task, writes with a timeout);
//! - [`http`]: commands, health, metrics, the wall page;
//! - [`listen`]: the listeners and who each peer is.

pub mod fanout;
mod http;
mod listen;
mod ws;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};

use super::auth::Authenticator;
use crate::config::venues::Api;
use crate::engine::EngineHandle;

/// How the server is started.
#[derive(Debug, Clone)]
pub struct Options {
    /// `[api]` of venues.toml.
    pub api: Api,
    /// Whether a non-loopback address without TLS may be listened on
    /// (`toc serve --insecure-listen`).
    pub insecure_listen: bool,
    /// The engine's poll interval: `/healthz` fails when the snapshot is
    /// older than three of them.
    pub poll_interval: Duration,
}

impl Options {
    /// Options for `api` with a poll interval of `poll_interval`, loopback
    /// or TLS only.
    pub fn new(api: Api, poll_interval: Duration) -> Self {
        Options {
            api,
            insecure_listen: false,
            poll_interval,
        }
    }
}

/// An address the server listens on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addr {
    /// TCP, plain HTTP.
    Http(SocketAddr),
    /// TCP, TLS.
    Https(SocketAddr),
    /// A Unix socket.
    Unix(PathBuf),
}

impl Addr {
    /// The URL a client connects to (`http://127.0.0.1:7470`,
    /// `unix:/path/toc.sock`).
    pub fn url(&self) -> String {
        match self {
            Addr::Http(a) => format!("http://{a}"),
            Addr::Https(a) => format!("https://{a}"),
            Addr::Unix(p) => format!("unix:{}", p.display()),
        }
    }

    /// The WebSocket URL (`ws://…/api/ws`), none for a Unix socket.
    pub fn ws_url(&self) -> Option<String> {
        match self {
            Addr::Http(a) => Some(format!("ws://{a}/api/ws")),
            Addr::Https(a) => Some(format!("wss://{a}/api/ws")),
            Addr::Unix(_) => None,
        }
    }
}

impl std::fmt::Display for Addr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url())
    }
}

/// What every request handler shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) handle: EngineHandle,
    pub(crate) auth: Arc<Authenticator>,
    pub(crate) hub: fanout::Hub,
    pub(crate) consoles: AtomicUsize,
    pub(crate) max_consoles: usize,
    pub(crate) poll_interval: Duration,
}

/// The router over `shared`.
fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/commands", post(http::command))
        .route("/api/ws", get(ws::upgrade))
        .route("/healthz", get(http::healthz))
        .route("/metrics", get(http::metrics))
        .route("/wall", get(http::wall))
        .with_state(shared)
}

/// The running API server.
#[derive(Debug)]
pub struct ApiServer {
    addrs: Vec<Addr>,
    stop: Option<tokio::sync::watch::Sender<bool>>,
    thread: Option<std::thread::JoinHandle<()>>,
    socket: Option<PathBuf>,
}

impl ApiServer {
    /// Every address it listens on, TCP first.
    pub fn addrs(&self) -> &[Addr] {
        &self.addrs
    }

    /// Stops listening, ends every connection and waits for its thread;
    /// removes the Unix socket file.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        if let Some(path) = self.socket.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// Whether listening on `api.listen` as configured is refused: a
/// non-loopback address without TLS needs `insecure_listen`. `Ok(Some)`
/// is the warning to print and log when it is allowed anyway.
pub fn check_listen(api: &Api, insecure_listen: bool) -> Result<Option<String>, String> {
    if api.listen.ip().is_loopback() || api.tls.is_some() {
        return Ok(None);
    }
    let why = format!(
        "api: {} is not a loopback address and [api] has no tls_cert/tls_key: tokens and commands would cross the network in clear",
        api.listen
    );
    if insecure_listen {
        Ok(Some(format!(
            "warning: {why}; listening anyway (--insecure-listen)"
        )))
    } else {
        Err(format!(
            "{why}; configure TLS in [api], listen on 127.0.0.1, or pass --insecure-listen"
        ))
    }
}

/// Binds every listener of `options` now (so a port in use is an error
/// here), then serves on a thread of its own. `handle` is the engine (the
/// server gives each caller a handle acting as who they are).
pub fn start(
    options: &Options,
    handle: EngineHandle,
    auth: Arc<Authenticator>,
) -> Result<ApiServer, String> {
    if let Some(warning) = check_listen(&options.api, options.insecure_listen)? {
        tracing::warn!("{warning}");
    }
    let bound = listen::bind(&options.api)?;
    let addrs = bound.addrs();
    let socket = options.api.socket.clone();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
    let api = options.api.clone();
    let poll_interval = options.poll_interval;
    let thread = std::thread::Builder::new()
        .name("toc-api".to_owned())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("toc-api")
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(format!("api: cannot start its runtime: {e}")));
                    return;
                }
            };
            runtime.block_on(async move {
                let hub = fanout::spawn(handle.watch(), api.updates_per_second);
                let shared = Arc::new(Shared {
                    handle,
                    auth,
                    hub,
                    consoles: AtomicUsize::new(0),
                    max_consoles: api.max_consoles,
                    poll_interval,
                });
                let app = router(shared);
                match listen::serve(bound, app, stop_rx.clone()) {
                    Ok(tasks) => {
                        let _ = ready_tx.send(Ok(()));
                        let mut stop = stop_rx;
                        let _ = stop.wait_for(|s| *s).await;
                        for t in tasks {
                            t.abort();
                        }
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            });
            runtime.shutdown_timeout(Duration::from_millis(500));
        })
        .map_err(|e| format!("api: cannot start its thread: {e}"))?;
    let mut server = ApiServer {
        addrs,
        stop: Some(stop_tx),
        thread: Some(thread),
        socket,
    };
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(server),
        Ok(Err(e)) => {
            server.stop_now();
            Err(e)
        }
        Err(_) => {
            server.stop_now();
            Err("api: its thread ended before it listened".to_owned())
        }
    }
}
