//! Who is asking: a bearer token (stored hashed in users.toml) or the
//! OS user of a Unix-socket peer, turned into the engine's [`Identity`].
//!
//! - A token is checked with argon2 against every token hash of the users
//!   file (argon2's verify compares in constant time, and every hash is
//!   tried, whichever user matches); an expired or revoked token is
//!   refused with a reason that names its id, never the token. A good
//!   token is cached by its SHA-256, so a console sending commands does not
//!   pay argon2 on every request; each cache hit checks the token's record
//!   again (still there, same hash, not revoked, not expired).
//! - A Unix-socket peer's uid maps to the users file entry with that
//!   `uid`, else to the entry named as its OS user (`/etc/passwd`). An
//!   unlisted peer is refused, not made a viewer. Without a users file the
//!   server's own OS user is a duty manager (as the local console is) and
//!   every other uid is refused.
//! - [`audit_denied`] puts every 401 in the engine's audit log.
//!
//! [`tokens`] makes tokens and their hashes (`toc users token`).

pub mod tokens;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use crate::config::Diagnostic;
use crate::config::users::{self, User, UserRole, Users};
use crate::engine::command::{Command, Identity, Role, SessionCommand};

pub use tokens::{hash_token, new_token, verify_token};

/// The longest token looked at; a longer one is refused before argon2.
pub const MAX_TOKEN_LEN: usize = 1024;

/// The most cached tokens; the cache starts again empty past it.
const CACHE_MAX: usize = 4096;

/// The user name of a refused caller's audit record.
pub const UNAUTHENTICATED: &str = "(unauthenticated)";

/// Why a caller is not let in (HTTP 401), in one sentence; never says
/// which part of a token was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    /// One sentence for the audit log and the caller.
    pub reason: String,
}

impl Denied {
    fn new(reason: impl Into<String>) -> Self {
        Denied {
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

/// A verified token, as the cache keeps it: which record it matched.
#[derive(Debug, Clone)]
struct Cached {
    token_id: String,
    hash: String,
}

/// Turns what a caller presents into an identity. Shared by every
/// connection of a server (`Arc`); [`Authenticator::reload`] swaps the
/// users file under it.
#[derive(Debug)]
pub struct Authenticator {
    users: RwLock<Option<Users>>,
    /// SHA-256 of a token -> the record it matched.
    cache: Mutex<HashMap<[u8; 32], Cached>>,
    /// The password database peers' names come from.
    passwd: PathBuf,
    /// The server's own uid: a duty manager when there is no users file.
    own_uid: Option<u32>,
    /// argon2 verifications done (each token hash tried counts one).
    verifications: AtomicU64,
}

impl Default for Authenticator {
    /// No users file: no tokens; the server's own user over the socket.
    fn default() -> Self {
        Authenticator::new(None)
    }
}

impl Authenticator {
    /// An authenticator over a users file's users (`None`: there is no
    /// users file).
    pub fn new(users: Option<Users>) -> Self {
        Authenticator {
            users: RwLock::new(users),
            cache: Mutex::new(HashMap::new()),
            passwd: PathBuf::from("/etc/passwd"),
            own_uid: own_uid(),
            verifications: AtomicU64::new(0),
        }
    }

    /// An authenticator over the users file at `path`, checked against
    /// the inventory's venue codes when given; a path that does not exist
    /// means no users file.
    pub fn from_file(path: &Path, venues: Option<&[&str]>) -> Result<Self, Vec<Diagnostic>> {
        if !path.exists() {
            return Ok(Authenticator::new(None));
        }
        let (users, _warnings) = Users::load(path, venues)?;
        Ok(Authenticator::new(Some(users)))
    }

    /// The same, reading peers' names from another password file (tests).
    #[must_use]
    pub fn with_passwd(mut self, passwd: impl Into<PathBuf>) -> Self {
        self.passwd = passwd.into();
        self
    }

    /// The same, taking `uid` for the server's own (tests).
    #[must_use]
    pub fn with_own_uid(mut self, uid: Option<u32>) -> Self {
        self.own_uid = uid;
        self
    }

    /// Replaces the users (a users file read again). Cached tokens stay
    /// cached, and are checked against the new records on their next use:
    /// one revoked or removed is refused from then on.
    pub fn reload(&self, users: Option<Users>) {
        *self.users.write().unwrap_or_else(PoisonError::into_inner) = users;
    }

    /// How many argon2 verifications were done so far.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// The identity of a bearer token at `now`.
    pub fn token(&self, token: &str, now: SystemTime) -> Result<Identity, Denied> {
        let token = token.trim();
        if token.is_empty() {
            return Err(Denied::new(
                "no token given: send `Authorization: Bearer TOKEN`",
            ));
        }
        if token.len() > MAX_TOKEN_LEN {
            return Err(Denied::new(format!(
                "the token is longer than {MAX_TOKEN_LEN} bytes: it matches no token"
            )));
        }
        let guard = self.users.read().unwrap_or_else(PoisonError::into_inner);
        let Some(users) = guard.as_ref() else {
            return Err(Denied::new(
                "no tokens are configured: there is no users.toml (see `toc users token`)",
            ));
        };
        if users.tokens().next().is_none() {
            return Err(Denied::new(
                "no tokens are configured: users.toml has no [[users.tokens]] (see `toc users token`)",
            ));
        }
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(hit) = self.cached(&key) {
            let record = users
                .tokens()
                .find(|(_, t)| t.id == hit.token_id && t.hash == hit.hash);
            if let Some((user, t)) = record {
                return match t.refusal(now) {
                    Some(why) => {
                        self.forget(&key);
                        Err(Denied::new(why))
                    }
                    None => Ok(identity(user)),
                };
            }
            // Removed or re-hashed: verify it again.
            self.forget(&key);
        }
        // Every hash is tried, whichever matches first.
        let mut found: Option<(&User, &users::Token)> = None;
        for (user, t) in users.tokens() {
            self.verifications.fetch_add(1, Ordering::Relaxed);
            if verify_token(token, &t.hash) && found.is_none() {
                found = Some((user, t));
            }
        }
        let Some((user, t)) = found else {
            return Err(Denied::new("the token matches no token of users.toml"));
        };
        if let Some(why) = t.refusal(now) {
            return Err(Denied::new(why));
        }
        self.remember(
            key,
            Cached {
                token_id: t.id.clone(),
                hash: t.hash.clone(),
            },
        );
        Ok(identity(user))
    }

    /// The identity of the OS user with this uid (a Unix-socket peer).
    pub fn peer_uid(&self, uid: u32) -> Result<Identity, Denied> {
        let name = users::passwd_name(&self.passwd, uid);
        let who = match &name {
            Some(n) => format!("uid {uid} ({n})"),
            None => format!("uid {uid}"),
        };
        let guard = self.users.read().unwrap_or_else(PoisonError::into_inner);
        match guard.as_ref() {
            None if self.own_uid == Some(uid) => Ok(Identity {
                user: name.unwrap_or_else(|| format!("uid {uid}")),
                role: Role::DutyManager,
                venues: Vec::new(),
            }),
            None => Err(Denied::new(format!(
                "{who} is not the server's own user: without a users.toml only the server's own user may use the socket; list the others in users.toml"
            ))),
            Some(users) => match users.lookup_peer(uid, name.as_deref()) {
                Some(user) => Ok(identity(user)),
                None => Err(Denied::new(format!(
                    "{who} is not listed in users.toml: the socket lets in only the users it lists (an account on this machine is not a console user, so there is no viewer default); add a [[users]] entry with name = \"{}\" or uid = {uid}",
                    name.as_deref().unwrap_or("NAME")
                ))),
            },
        }
    }

    fn cached(&self, key: &[u8; 32]) -> Option<Cached> {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    fn forget(&self, key: &[u8; 32]) {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }

    fn remember(&self, key: [u8; 32], cached: Cached) {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert(key, cached);
    }
}

/// The engine's identity of a users file entry.
pub fn identity(user: &User) -> Identity {
    Identity {
        user: user.name.clone(),
        role: role(user.role),
        venues: user.venues.clone(),
    }
}

/// The engine's role of a users file role.
pub const fn role(role: UserRole) -> Role {
    match role {
        UserRole::Viewer => Role::Viewer,
        UserRole::Technician => Role::Technician,
        UserRole::Operator => Role::Operator,
        UserRole::DutyManager => Role::DutyManager,
    }
}

#[cfg(unix)]
#[allow(clippy::unnecessary_wraps)]
fn own_uid() -> Option<u32> {
    Some(rustix::process::getuid().as_raw())
}

#[cfg(not(unix))]
fn own_uid() -> Option<u32> {
    None
}

/// Records a caller who was not let in (a 401) in the audit log, with
/// where they came from and why: the engine refuses a
/// [`SessionCommand::Denied`] from an unauthenticated viewer, and its
/// refusal is audited as every refusal is (the JSON lines and the store).
pub async fn audit_denied(handle: &crate::engine::EngineHandle, peer: &str, reason: &str) {
    let who = Identity {
        user: UNAUTHENTICATED.to_owned(),
        role: Role::Viewer,
        venues: Vec::new(),
    };
    let command = Command::Session(SessionCommand::Denied {
        peer: peer.to_owned(),
        reason: reason.to_owned(),
    });
    let _ = handle.with_identity(who).send(command).await;
}

#[cfg(test)]
mod tests;
