//! Making tokens and their argon2 hashes (`toc users token`, `toc users
//! hash`), and checking a token against a hash.

use std::fmt::Write as _;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// The prefix of the tokens toc makes (so a leaked one is recognisable).
pub const PREFIX: &str = "toc_";

/// A new random token: [`PREFIX`] and 32 random bytes in hex.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    let mut out = String::with_capacity(PREFIX.len() + 64);
    out.push_str(PREFIX);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The argon2id hash of a token as a PHC string, with a random salt and
/// argon2's default parameters (m=19456, t=2, p=1).
pub fn hash_token(token: &str) -> Result<String, String> {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| format!("salt: {e}"))?;
    Argon2::default()
        .hash_password(token.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the token: {e}"))
}

/// Whether `token` matches the PHC `hash` (argon2 compares in constant
/// time); a hash that does not parse matches nothing.
pub fn verify_token(token: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(token.as_bytes(), &h)
            .is_ok()
    })
}
