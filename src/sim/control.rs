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

use std::collections::HashMap;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::net::TcpListener;

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

/// Serves the control API on `listener` until the simulator stops.
pub(crate) async fn serve(listener: TcpListener, shared: Shared) {
    let stop = shared.stop.clone();
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
        .with_state(shared);
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(stopped(stop))
        .await
    {
        tracing::warn!("simulator control API stopped: {e}");
    }
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

async fn inject(State(shared): State<Shared>, body: Bytes) -> Response {
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
    match shared.state.apply(&req.target, &action, duration) {
        Ok(applied) => {
            shared.emit(format!("control: {applied}"));
            axum::Json(json!({ "applied": applied })).into_response()
        }
        Err(e) => bad(e),
    }
}

async fn clear(
    State(shared): State<Shared>,
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
    match shared.state.clear(&target, kind) {
        Ok(n) => {
            if n > 0 {
                let what = kind.map_or(String::new(), |k| format!(" {k}"));
                let who = if target == EVERYTHING {
                    "every device"
                } else {
                    &target
                };
                shared.emit(format!("control: {who}: cleared{what} ({n})"));
            }
            axum::Json(json!({ "cleared": n })).into_response()
        }
        Err(e) => bad(e.to_string()),
    }
}

async fn clear_all(State(shared): State<Shared>) -> Response {
    let n = shared.state.clear_all();
    if n > 0 {
        shared.emit(format!("control: cleared every fault ({n})"));
    }
    axum::Json(json!({ "cleared": n })).into_response()
}
