//! Simulated HTTP health endpoints: one server per address, answering
//! `GET /health/<device-id>` (or whatever path the device's URL names)
//! the way the device's faults say.
//!
//! | device                 | answer                                        |
//! |------------------------|-----------------------------------------------|
//! | healthy                | 200 `{"status":"ok","device":…,"uptime_s":…}` |
//! | CPU at 90% or more     | 200 with `"status":"degraded"`                |
//! | auth-fail              | 401                                           |
//! | slow                   | the same answer, after the delay              |
//! | down, uplink, flapping | no answer: the request is held open           |
//! | path of no device      | 404                                           |

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;
use tokio::net::TcpListener;

use super::{Shared, stopped};
use crate::config::Inventory;

/// CPU load at or above which a health endpoint says `degraded`.
pub const DEGRADED_CPU: u8 = 90;

/// A silent device holds a request this much longer than the device's
/// probe timeout: long enough that the prober gives up first, short
/// enough that requests the prober has abandoned do not pile up. (Held
/// for five minutes, every attempt on a silent device kept a connection
/// and its buffers that long: a results server down for 30 s held a dozen,
/// a venue's uplink down hundreds, and the memory they took was not
/// returned to the system.)
const HOLD_PAST_TIMEOUT: Duration = Duration::from_secs(2);

/// The body of a health answer.
#[derive(Debug, Serialize)]
struct Health<'a> {
    /// `ok`, or `degraded` under high CPU load.
    status: &'static str,
    device: &'a str,
    uptime_s: u64,
    cpu_percent: u8,
}

#[derive(Debug)]
struct Port {
    /// URL path → (device index, device id, how long a silent answer is
    /// held).
    paths: HashMap<String, (usize, String, Duration)>,
    shared: Shared,
}

/// Serves the health endpoints of `devices` (URL path, device index) on
/// `listener` until the simulator stops.
pub(crate) async fn serve(
    listener: TcpListener,
    inventory: Arc<Inventory>,
    devices: Vec<(String, usize)>,
    shared: Shared,
) {
    let paths = devices
        .into_iter()
        .filter_map(|(path, i)| {
            let d = inventory.devices.get(i)?;
            Some((path, (i, d.id.clone(), d.timeout + HOLD_PAST_TIMEOUT)))
        })
        .collect();
    let stop = shared.stop.clone();
    let port = Arc::new(Port { paths, shared });
    let app = Router::new().fallback(health).with_state(port);
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(stopped(stop))
        .await;
    if let Err(e) = served {
        tracing::warn!("simulated health server stopped: {e}");
    }
}

async fn health(State(port): State<Arc<Port>>, method: Method, uri: Uri) -> Response {
    let Some((idx, id, hold)) = port.paths.get(uri.path()) else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({ "status": "unknown", "error": "no such device on this port" })),
        )
            .into_response();
    };
    if method != Method::GET && method != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, HEAD")],
        )
            .into_response();
    }
    let view = port.shared.state.view(*idx, Instant::now());
    if view.silent {
        // A dead box never answers: hold the request until the client gives
        // up (or the simulator stops).
        tokio::select! {
            () = stopped(port.shared.stop.clone()) => {}
            () = tokio::time::sleep(*hold) => {}
        }
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    if !view.delay.is_zero() {
        tokio::select! {
            () = stopped(port.shared.stop.clone()) => {
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
            () = tokio::time::sleep(view.delay) => {}
        }
    }
    if view.auth_fail {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            axum::Json(json!({ "status": "unauthorized", "device": id })),
        )
            .into_response();
    }
    let status = if view.cpu_percent >= DEGRADED_CPU {
        "degraded"
    } else {
        "ok"
    };
    let body = Health {
        status,
        device: id,
        uptime_s: view.up_since.elapsed().as_secs(),
        cpu_percent: view.cpu_percent,
    };
    (StatusCode::OK, axum::Json(body)).into_response()
}
