//! The plain HTTP paths: `POST /api/commands`, `/healthz`, `/metrics`,
//! `/wall`; and who a caller is (shared with the WebSocket).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

use super::Shared;
use super::listen::Peer;
use crate::api::auth::{self, Denied};
use crate::api::wire::{self, CommandRequest, CommandResponse};
use crate::engine::command::{Identity, Refusal, Reply};

/// The bearer token of an `Authorization` header: `None` when there is
/// no header, `Some(Err)` when it is not `Bearer TOKEN`.
pub(super) fn bearer(headers: &HeaderMap) -> Option<Result<&str, Denied>> {
    let value = headers.get(header::AUTHORIZATION)?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .filter(|t| !t.is_empty());
    Some(token.ok_or_else(|| Denied {
        reason: "the Authorization header is not `Bearer TOKEN`".to_owned(),
    }))
}

/// Who a caller is: the OS user of a Unix-socket peer, else the bearer
/// token. `None` when nothing was presented (a WebSocket may still send
/// its token in its first message).
pub(super) async fn identify(
    shared: &Shared,
    peer: &Peer,
    headers: &HeaderMap,
) -> Option<Result<Identity, Denied>> {
    if let Some(uid) = peer.uid {
        return Some(shared.auth.peer_uid(uid));
    }
    match bearer(headers)? {
        Ok(token) => Some(check_token(shared, token.to_owned()).await),
        Err(denied) => Some(Err(denied)),
    }
}

/// Checks a token off the runtime's workers (a token hash is slow on
/// purpose; a burst of consoles must not stall the others).
pub(super) async fn check_token(shared: &Shared, token: String) -> Result<Identity, Denied> {
    let auth = Arc::clone(&shared.auth);
    tokio::task::spawn_blocking(move || auth.token(&token, SystemTime::now()))
        .await
        .unwrap_or_else(|_| {
            Err(Denied {
                reason: "the token could not be checked".to_owned(),
            })
        })
}

/// A 401: audited, with `WWW-Authenticate: Bearer` and the reason.
pub(super) async fn unauthorized(shared: &Shared, peer: &Peer, reason: &str) -> Response {
    auth::audit_denied(&shared.handle, &peer.name, reason).await;
    tracing::info!("api: 401 for {}: {reason}", peer.name);
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        format!("{reason}\n"),
    )
        .into_response()
}

/// The status of a command's answer.
pub(crate) fn status_of(reply: &Reply) -> StatusCode {
    match reply {
        Ok(_) => StatusCode::OK,
        Err(Refusal::Forbidden { .. } | Refusal::OutOfScope(_)) => StatusCode::FORBIDDEN,
        Err(Refusal::Unavailable) => StatusCode::SERVICE_UNAVAILABLE,
        Err(_) => StatusCode::CONFLICT,
    }
}

/// `POST /api/commands`.
pub(super) async fn command(
    State(shared): State<Arc<Shared>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let identity = match identify(&shared, &peer, &headers).await {
        Some(Ok(identity)) => identity,
        Some(Err(denied)) => return unauthorized(&shared, &peer, &denied.reason).await,
        None => {
            return unauthorized(
                &shared,
                &peer,
                "no token: send `Authorization: Bearer TOKEN`",
            )
            .await;
        }
    };
    let request: CommandRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                format!(
                    "the body is not a command request of version {}: {e}\n",
                    wire::VERSION
                ),
            )
                .into_response();
        }
    };
    if request.v != wire::VERSION {
        return (
            StatusCode::BAD_REQUEST,
            format!(
                "version {} is not spoken here; this server speaks version {}\n",
                request.v,
                wire::VERSION
            ),
        )
            .into_response();
    }
    if matches!(request.command, crate::engine::Command::Session(_)) {
        return (
            StatusCode::BAD_REQUEST,
            "a session record is the server's to write, not a command to send\n",
        )
            .into_response();
    }
    let reply = shared
        .handle
        .with_identity(identity)
        .send(request.command)
        .await;
    let status = status_of(&reply);
    (
        status,
        Json(CommandResponse {
            v: wire::VERSION,
            reply,
        }),
    )
        .into_response()
}

/// `/healthz`: `ok seq=N age=…` (200) while the engine publishes, 503 when
/// its latest snapshot is older than three poll intervals.
pub(super) async fn healthz(State(shared): State<Arc<Shared>>) -> Response {
    let snap = shared.handle.snapshot();
    let age = SystemTime::now()
        .duration_since(snap.at)
        .unwrap_or(Duration::ZERO);
    let limit = shared
        .poll_interval
        .saturating_mul(3)
        .max(Duration::from_secs(1));
    let age_ms = age.as_millis();
    if age > limit {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "stale seq={} age={age_ms}ms: the engine published nothing for over {} ms\n",
                snap.seq,
                limit.as_millis()
            ),
        )
            .into_response()
    } else {
        (
            StatusCode::OK,
            format!("ok seq={} age={age_ms}ms\n", snap.seq),
        )
            .into_response()
    }
}

/// `/metrics`: Prometheus text.
pub(super) async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let snap = shared.handle.snapshot();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::api::metrics::render(&snap),
    )
        .into_response()
}

/// `/wall`: the page of the room's big screens.
pub(super) async fn wall() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        crate::api::wall::PAGE,
    )
        .into_response()
}
