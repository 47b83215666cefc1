//! One engine, many consoles: the API of `toc serve` (docs/api.md).
//!
//! - [`wire`]: the versioned messages, the same on every transport;
//! - [`delta`]: a snapshot as the change from the one before, so a console
//!   gets the full snapshot once and then only what changed;
//! - [`auth`]: who a token or a Unix-socket peer is (users.toml);
//! - [`server`]: axum, beside the relay's ingest: `POST /api/commands`,
//!   the WebSocket at `/api/ws`, `/metrics`, `/healthz`, `/wall`;
//! - [`client`]: fills an [`EngineHandle`](crate::engine::EngineHandle)
//!   from a server, so the console cannot tell it from a local engine;
//! - [`metrics`]: the Prometheus text of `/metrics`;
//! - [`wall`]: the room's big screens, a read-only page.

pub mod auth;
pub mod client;
pub mod delta;
pub mod metrics;
pub mod server;
pub mod wall;
pub mod wire;
