//! The messages of the API, version [`VERSION`]. Every one is a serde
//! type and carries the engine's own types (`Command`, `Reply`,
//! `Snapshot`), so a remote console sends and receives exactly what a
//! local one does.
//!
//! On the WebSocket (`/api/ws`):
//! - the client may send [`ClientMsg::Auth`] first (a browser cannot set
//!   the `Authorization` header of an upgrade), then [`ClientMsg::Command`]s;
//! - the server sends [`ServerMsg::Hello`] (who the connection acts as),
//!   then [`ServerMsg::Full`] (the whole snapshot), then
//!   [`ServerMsg::Delta`]s (what changed since the snapshot before, at most
//!   a few a second), [`ServerMsg::Detail`] for the devices the console
//!   looks at ([`ClientMsg::Focus`]), and [`ServerMsg::Reply`] to each
//!   command.
//!
//! Snapshots and deltas travel as binary frames: the JSON of the message,
//! deflated ([`encode_binary`]); every other message as a text frame of
//! JSON. A frame is encoded once and sent to every console as is.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use super::delta::{Delta, Focus};
use crate::engine::command::{Command, Identity, Reply};
use crate::engine::snapshot::DeviceSnap;
use crate::engine::snapshot::Snapshot;

/// The protocol version this build speaks. A message of another version
/// is refused with the reason.
pub const VERSION: u32 = 1;

/// The most a binary frame may inflate to (a full snapshot of a large
/// Games is a few MiB of JSON).
pub const MAX_INFLATED: u64 = 256 << 20;

/// From a console to the server, on the WebSocket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// The token, when the upgrade carried none; only as the first
    /// message.
    Auth {
        /// Protocol version the client speaks.
        v: u32,
        /// The bearer token.
        token: String,
    },
    /// A command; the answer comes back as [`ServerMsg::Reply`] with the
    /// same `id`.
    Command {
        /// Chosen by the client, echoed in the reply.
        id: u64,
        /// What to do.
        command: Command,
    },
    /// What the console looks at now: the server sends the whole state of
    /// those devices ([`ServerMsg::Detail`]) at once and after each change.
    /// Replaces the focus before; an empty one ends it.
    Focus {
        /// The venues and devices.
        focus: Focus,
    },
}

/// From the server to a console, on the WebSocket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// First message: the version and who this connection acts as (fixed
    /// by the server from the token or the Unix-socket peer).
    Hello {
        /// Protocol version the server speaks.
        v: u32,
        /// Who the connection acts as.
        identity: Identity,
        /// The server's toc version (`toc 0.11.0`).
        server: String,
    },
    /// The whole snapshot: on connect, and after a console fell behind.
    Full {
        /// The snapshot.
        snapshot: Box<Snapshot>,
    },
    /// What changed since the snapshot with `delta.from`.
    Delta {
        /// The change.
        delta: Box<Delta>,
    },
    /// The whole state of devices in the console's focus that changed, to
    /// put in the snapshot `seq` it has (a binary frame, sent right after
    /// the delta or full snapshot `seq`).
    Detail {
        /// The snapshot these belong to.
        seq: u64,
        /// Device index and state.
        devices: Vec<(u32, DeviceSnap)>,
    },
    /// The answer to [`ClientMsg::Command`] `id`.
    Reply {
        /// The command's id.
        id: u64,
        /// Applied, or refused and why.
        reply: Reply,
    },
    /// The server ends the connection, and why (sent before it closes).
    Error {
        /// One sentence.
        reason: String,
    },
}

/// The body of `POST /api/commands`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandRequest {
    /// Protocol version the client speaks.
    pub v: u32,
    /// What to do.
    pub command: Command,
}

/// The answer of `POST /api/commands` (status 200 when applied, 403 when
/// the role or scope may not, 409 for any other refusal).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandResponse {
    /// Protocol version the server speaks.
    pub v: u32,
    /// Applied, or refused and why.
    pub reply: Reply,
}

/// Why a frame could not be read.
#[derive(Debug)]
pub enum WireError {
    /// Not valid deflate, or over [`MAX_INFLATED`].
    Inflate(String),
    /// Not a message of this version.
    Json(serde_json::Error),
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::Inflate(e) => write!(f, "a binary frame could not be inflated: {e}"),
            WireError::Json(e) => write!(f, "a message could not be read: {e}"),
        }
    }
}

impl std::error::Error for WireError {}

/// A message as a binary frame: its JSON, deflated.
///
/// The JSON is written out first and deflated in one call: flate2's
/// writer zeroes its output's spare room on every write, and `serde_json`
/// writes a few bytes at a time, so deflating as it serialised spent most
/// of the API's CPU clearing memory (a full snapshot of 10,000 devices:
/// `cargo bench --bench api`, README).
pub fn encode_binary(msg: &ServerMsg) -> Vec<u8> {
    // Serialising these types cannot fail (string keys only).
    let Ok(json) = serde_json::to_vec(msg) else {
        return Vec::new();
    };
    let mut z = flate2::write::DeflateEncoder::new(
        Vec::with_capacity(json.len() / 4 + 64),
        flate2::Compression::fast(),
    );
    // Writing to a Vec cannot fail.
    if z.write_all(&json).is_err() {
        return Vec::new();
    }
    z.finish().unwrap_or_default()
}

/// A binary frame back to its message.
pub fn decode_binary(frame: &[u8]) -> Result<ServerMsg, WireError> {
    let mut json = Vec::new();
    flate2::read::DeflateDecoder::new(frame)
        .take(MAX_INFLATED + 1)
        .read_to_end(&mut json)
        .map_err(|e| WireError::Inflate(e.to_string()))?;
    if json.len() as u64 > MAX_INFLATED {
        return Err(WireError::Inflate(format!(
            "over {MAX_INFLATED} bytes inflated"
        )));
    }
    serde_json::from_slice(&json).map_err(WireError::Json)
}

/// A text frame back to its message.
pub fn decode_text(frame: &str) -> Result<ServerMsg, WireError> {
    serde_json::from_str(frame).map_err(WireError::Json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_frames_round_trip_and_refuse_garbage() {
        let msg = ServerMsg::Error {
            reason: "bye".to_owned(),
        };
        let frame = encode_binary(&msg);
        assert!(!frame.is_empty());
        assert_eq!(decode_binary(&frame).expect("decode"), msg);
        assert!(matches!(
            decode_binary(b"not deflate at all"),
            Err(WireError::Inflate(_) | WireError::Json(_))
        ));
        let text = serde_json::to_string(&msg).expect("json");
        assert_eq!(text, r#"{"type":"error","reason":"bye"}"#);
        assert_eq!(decode_text(&text).expect("text"), msg);
    }
}
