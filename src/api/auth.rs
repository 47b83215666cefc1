//! Who is asking: a bearer token (stored hashed in users.toml) or the
//! OS user of a Unix-socket peer, turned into the engine's [`Identity`].
//! Work in progress (step 11): the signatures are fixed, the checks are
//! being written.

use std::time::SystemTime;

use crate::engine::command::Identity;

/// Why a caller is not let in (HTTP 401), in one sentence; never says
/// which part of a token was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    /// One sentence for the audit log and the caller.
    pub reason: String,
}

/// Turns what a caller presents into an identity.
#[derive(Debug, Default)]
pub struct Authenticator {}

impl Authenticator {
    /// The identity of a bearer token at `now`.
    pub fn token(&self, token: &str, now: SystemTime) -> Result<Identity, Denied> {
        let _ = (token, now);
        Err(Denied {
            reason: "no tokens are configured".to_owned(),
        })
    }

    /// The identity of the OS user with this uid (a Unix-socket peer).
    pub fn peer_uid(&self, uid: u32) -> Result<Identity, Denied> {
        Err(Denied {
            reason: format!("uid {uid} is not mapped"),
        })
    }
}

/// Records a caller who was not let in (a 401) in the audit log, with
/// where they came from and why.
#[allow(clippy::unused_async)] // until the engine records it (step 11, in progress)
pub async fn audit_denied(handle: &crate::engine::EngineHandle, peer: &str, reason: &str) {
    let _ = (handle, peer, reason);
}
