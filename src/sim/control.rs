//! The simulator's control API: inject and clear faults over HTTP, from
//! curl or a test. Loopback only.
//!
//! - `GET /faults`: the faults in force, as a JSON list of
//!   `{"target","kind","detail","seconds_left"}` (`seconds_left` is `null`
//!   for a fault without an end).
//! - `POST /faults` with `{"target":"STA-core-a","fault":"down","value":"…","for":"30s"}`:
//!   `fault` is one of [`ACTION_KINDS`]; `value` and `for` are optional.
//!   Answers `{"applied":"STA-core-a: down for 30s"}`.
//! - `DELETE /faults/<target>` (optionally `?kind=down`): clears a
//!   device's or venue's faults. Answers `{"cleared":N}`.
//! - `DELETE /faults`: clears everything. Answers `{"cleared":N}`.
//!
//! Bad input gets a 400 with `{"error":"<reason>"}`.
//!
//! With an audit log ([`super::SimOptions::audit`]), a change is written
//! there with its source (`control API 127.0.0.1:54321`) and made only
//! once the record is durable; when it cannot be written the request gets
//! a 503 with `{"error":"refused: the audit log cannot be written (…)"}`
//! and nothing changes.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use super::faults::{ACTION_KINDS, Action, BIG_BANG, EVERYTHING};
use super::{Shared, stopped};
use crate::config::value::parse_duration;

/// A fault in force, as `GET /faults` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultInfo {
    /// Device id, venue code (uplink-down) or `*` (big bang).
    pub target: String,
    /// `down`, `slow`, …, `uplink-down`, `big-bang`.
    pub kind: String,
    /// What it does, in words.
    pub detail: String,
    /// Seconds until it clears by itself; `None` when it lasts until
    /// cleared.
    pub seconds_left: Option<u64>,
}

/// The body of `POST /faults`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Injection {
    /// Device id, or venue code for `uplink-down`.
    pub target: String,
    /// One of [`ACTION_KINDS`].
    pub fault: String,
    /// The fault's value: a delay for `slow`, a phase for `flapping`, an
    /// interface for `if-down`, a percent for `cpu-high`. A JSON number
    /// is taken as its text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// How long the fault lasts (`"30s"`); until cleared without it.
    #[serde(default, rename = "for", skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
}

fn bad(reason: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({ "error": reason.into() })),
    )
        .into_response()
}

/// At most this many control API connections at once; one more is
/// answered 503 and closed, so idle clients cannot use up the process's
/// file descriptors (and with them the simulated devices' endpoints).
pub const MAX_CONNECTIONS: usize = 256;
/// A client has this long to send a request's headers, and a keep-alive
/// connection is closed after this long without a new request.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// A connection is closed after this long whatever it does (after the
/// request in flight, given [`GRACE`] to finish).
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(30);
/// How long a request in flight may take to finish when its connection is
/// closing (lifetime over, or the simulator stopping).
const GRACE: Duration = Duration::from_secs(5);

const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: 68\r\nconnection: close\r\n\r\n{\"error\":\"too many connections to the control API; try again later\"}";

/// The origins a browser would name for a page served by this API itself;
/// any other `Origin` is refused.
#[derive(Debug, Clone)]
struct Own {
    origins: Arc<[String]>,
}

impl Own {
    fn new(addr: Option<SocketAddr>) -> Own {
        let origins = addr.map_or_else(Vec::new, |a| {
            let port = a.port();
            vec![format!("http://{a}"), format!("http://localhost:{port}")]
        });
        Own {
            origins: origins.into(),
        }
    }
}

/// Where a request came from, for the audit and the event feed.
#[derive(Debug, Clone, Copy)]
struct Peer(SocketAddr);

/// Serves the control API on `listener` until the simulator stops: at most
/// [`MAX_CONNECTIONS`] at once, headers within [`HEADER_TIMEOUT`], no
/// connection older than [`CONNECTION_LIFETIME`].
pub(crate) async fn serve(listener: TcpListener, shared: Shared) {
    let stop = shared.stop.clone();
    let own = Own::new(listener.local_addr().ok());
    let app = Router::new()
        .route("/", get(index))
        .route("/faults", get(list).post(inject).delete(clear_all))
        .route("/faults/{target}", delete(clear))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                axum::Json(json!({ "error": "no such endpoint; GET / lists them" })),
            )
        })
        .layer(middleware::from_fn_with_state(own, guard))
        .with_state(shared);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let done = stopped(stop.clone());
    tokio::pin!(done);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut done => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors or similar: do not spin.
                    tracing::warn!("simulator control API: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            // One try, never a wait: the answer fits any socket buffer.
            let _ = stream.try_write(BUSY);
            continue;
        };
        tokio::spawn(connection(stream, peer, app.clone(), stop.clone(), slot));
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    stop: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) {
    let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(Peer(peer));
        let mut app = app.clone();
        async move { tower_service::Service::call(&mut app, req).await }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(64 * 1024);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        () = stopped(stop) => {}
        () = tokio::time::sleep(CONNECTION_LIFETIME) => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(GRACE, conn).await;
}

fn refuse(status: StatusCode, reason: &str) -> Response {
    (status, axum::Json(json!({ "error": reason }))).into_response()
}

/// Refuses what a web page in the operator's browser could send: any
/// request from a foreign `Origin`, and a state-changing request whose
/// body is not JSON (a cross-site form or `text/plain` POST needs no
/// preflight; a JSON one does, and gets no CORS permission here).
async fn guard(State(own): State<Own>, req: Request, next: Next) -> Response {
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let text = String::from_utf8_lossy(origin.as_bytes());
        if !own.origins.iter().any(|o| o.eq_ignore_ascii_case(&text)) {
            return refuse(
                StatusCode::FORBIDDEN,
                &format!(
                    "cross-origin request refused: Origin `{text}` is not this control API ({})",
                    own.origins.join(" or ")
                ),
            );
        }
    }
    let method = req.method();
    if *method != Method::GET && *method != Method::HEAD {
        let kind = req.headers().get(header::CONTENT_TYPE);
        let json = kind.is_some_and(|k| {
            let k = String::from_utf8_lossy(k.as_bytes());
            k.split(';')
                .next()
                .is_some_and(|e| e.trim().eq_ignore_ascii_case("application/json"))
        });
        // A DELETE carries no body, and no browser sends one cross-site
        // without a preflight: it may come without a type.
        let bodiless = *method == Method::DELETE && kind.is_none();
        if !json && !bodiless {
            let named = kind.map_or_else(
                || "none".to_owned(),
                |k| format!("`{}`", String::from_utf8_lossy(k.as_bytes())),
            );
            return refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                &format!(
                    "send `Content-Type: application/json` (got {named}); other bodies are refused so a web page cannot change faults"
                ),
            );
        }
    }
    next.run(req).await
}

async fn index() -> impl IntoResponse {
    axum::Json(json!({
        "endpoints": [
            "GET /faults",
            "POST /faults {\"target\":\"STA-core-a\",\"fault\":\"down\",\"value\":\"...\",\"for\":\"30s\"}",
            "DELETE /faults/<target>[?kind=<fault>]",
            "DELETE /faults",
        ],
        "faults": ACTION_KINDS,
    }))
}

async fn list(State(shared): State<Shared>) -> impl IntoResponse {
    let now = Instant::now();
    let faults: Vec<FaultInfo> = shared
        .state
        .active(now)
        .into_iter()
        .map(|f| FaultInfo {
            kind: f.kind().to_owned(),
            detail: f.detail(),
            seconds_left: f.until.map(|u| {
                let left = u.saturating_duration_since(now);
                left.as_secs() + u64::from(left.subsec_nanos() > 0)
            }),
            target: f.target,
        })
        .collect();
    axum::Json(faults)
}

async fn inject(
    State(shared): State<Shared>,
    Extension(Peer(peer)): Extension<Peer>,
    body: Bytes,
) -> Response {
    let req: Injection = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return bad(format!(
                "bad request body ({e}); send JSON like {{\"target\":\"STA-core-a\",\"fault\":\"down\",\"for\":\"30s\"}}"
            ));
        }
    };
    let value = match &req.value {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        Some(other) => {
            return bad(format!("`value` must be a string or a number, not {other}"));
        }
    };
    let action = match Action::parse(&req.fault, value.as_deref()) {
        Ok(a) => a,
        Err(e) => return bad(e),
    };
    let duration = match req.duration.as_deref().map(parse_duration).transpose() {
        Ok(d) => d,
        Err(e) => return bad(format!("`for`: {e}")),
    };
    if duration.is_some() && action == Action::Reboot {
        return bad("`reboot` happens at once and takes no `for`; leave it out");
    }
    if duration.is_some_and(|d| d.is_zero()) {
        return bad("`for` must be above zero; leave it out for a fault that lasts until cleared");
    }
    let planned = match shared.state.plan(&req.target, &action, duration) {
        Ok(p) => p,
        Err(e) => return bad(e),
    };
    let source = format!("control API {peer}");
    let text = format!("fault {planned}");
    if let Err(why) = shared.audit_ahead(&source, &text, &planned).await {
        return unaudited(&why);
    }
    match shared.state.apply(&req.target, &action, duration) {
        Ok(applied) => {
            tracing::info!(source = %source, "fault set: {applied}");
            shared.emit(format!("control: {applied}"));
            axum::Json(json!({ "applied": applied })).into_response()
        }
        Err(e) => {
            shared.audit_failed(&source, &text, &e);
            bad(e)
        }
    }
}

/// The answer to a change whose audit record cannot be written: 503,
/// with why; nothing was changed.
fn unaudited(why: &str) -> Response {
    refuse(
        StatusCode::SERVICE_UNAVAILABLE,
        &format!("refused: the audit log cannot be written ({why}); nothing was changed"),
    )
}

async fn clear(
    State(shared): State<Shared>,
    Extension(Peer(peer)): Extension<Peer>,
    Path(target): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(key) = query.keys().find(|k| *k != "kind") {
        return bad(format!(
            "unknown query parameter `{key}`; only `kind` is known"
        ));
    }
    let kind = query.get("kind").map(String::as_str);
    if let Some(k) = kind
        && !ACTION_KINDS.contains(&k)
        && k != BIG_BANG
    {
        return bad(format!(
            "unknown fault kind `{k}`; use one of: {}",
            ACTION_KINDS.join(", ")
        ));
    }
    if kind == Some("reboot") {
        return bad("a reboot is over as soon as it happens; there is nothing to clear");
    }
    if !shared.state.knows(&target) {
        return bad(super::faults::UnknownTarget(target).to_string());
    }
    let what = kind.map_or(String::new(), |k| format!(" {k}"));
    let who = if target == EVERYTHING {
        "every device"
    } else {
        &target
    };
    let source = format!("control API {peer}");
    let text = format!("clear {who}{what}");
    let planned = format!("{who}: clear faults{what}");
    if let Err(why) = shared.audit_ahead(&source, &text, &planned).await {
        return unaudited(&why);
    }
    match shared.state.clear(&target, kind) {
        Ok(n) => {
            if n > 0 {
                tracing::info!(source = %source, "{who}: cleared{what} ({n})");
                shared.emit(format!("control: {who}: cleared{what} ({n})"));
            }
            axum::Json(json!({ "cleared": n })).into_response()
        }
        Err(e) => {
            shared.audit_failed(&source, &text, &e.to_string());
            bad(e.to_string())
        }
    }
}

async fn clear_all(
    State(shared): State<Shared>,
    Extension(Peer(peer)): Extension<Peer>,
) -> Response {
    let source = format!("control API {peer}");
    if let Err(why) = shared
        .audit_ahead(&source, "clear all", "clear every fault")
        .await
    {
        return unaudited(&why);
    }
    let n = shared.state.clear_all();
    if n > 0 {
        tracing::info!(source = %source, "cleared every fault ({n})");
        shared.emit(format!("control: cleared every fault ({n})"));
    }
    axum::Json(json!({ "cleared": n })).into_response()
}
