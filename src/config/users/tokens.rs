//! API tokens of `users.toml`: each `[[users.tokens]]` entry names a
//! token by id and keeps only its argon2 hash (a PHC string), with an
//! optional expiry (RFC 3339) and a revocation flag. The token itself is
//! never written anywhere toc reads.

use std::time::{Duration, SystemTime};

/// The longest token id.
pub const MAX_TOKEN_ID: usize = 64;

/// The argon2 variants a hash may use, as PHC strings name them.
const ARGON2: [&str; 3] = ["argon2id", "argon2i", "argon2d"];

/// One `[[users.tokens]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Its name, for audit lines and revocation; unique in the file.
    pub id: String,
    /// The argon2 hash of the token, as a PHC string
    /// (`$argon2id$v=19$m=19456,t=2,p=1$SALT$HASH`).
    pub hash: String,
    /// When it stops being accepted; `None`: never.
    pub expires: Option<SystemTime>,
    /// Revoked: refused, whatever its expiry.
    pub revoked: bool,
}

impl Token {
    /// Why the token is refused at `now` (revoked or expired), naming its
    /// id and never the token; `None` when it is good.
    pub fn refusal(&self, now: SystemTime) -> Option<String> {
        if self.revoked {
            return Some(format!("token `{}` is revoked", self.id));
        }
        match self.expires {
            Some(at) if now >= at => Some(format!(
                "token `{}` expired at {}",
                self.id,
                humantime::format_rfc3339_seconds(at)
            )),
            _ => None,
        }
    }
}

/// Checks a token id: not empty, at most [`MAX_TOKEN_ID`] characters of
/// letters, digits, `-`, `_`, `.` and `@`. The error and its help.
pub(super) fn check_id(id: &str) -> Result<(), (String, String)> {
    let ok = !id.is_empty()
        && id.chars().count() <= MAX_TOKEN_ID
        && id
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if ok {
        Ok(())
    } else {
        Err((
            format!("token id `{}` is not a token id", id.escape_debug()),
            format!(
                "name the token in at most {MAX_TOKEN_ID} letters, digits, `-`, `_`, `.` or `@`, like \"alice-laptop\""
            ),
        ))
    }
}

/// Checks that `hash` is an argon2 PHC string with a salt and a hash.
/// The error and its help.
pub(super) fn check_hash(hash: &str) -> Result<(), (String, String)> {
    let help = "paste the hash `toc users token NAME` or `toc users hash` prints: a PHC string like \"$argon2id$v=19$m=19456,t=2,p=1$SALT$HASH\"; never the token itself".to_owned();
    let parsed = match argon2::PasswordHash::new(hash) {
        Ok(p) => p,
        Err(e) => {
            return Err((format!("`hash` is not a PHC hash string ({e})"), help));
        }
    };
    if !ARGON2.contains(&parsed.algorithm.as_str()) {
        return Err((
            format!(
                "`hash` uses `{}`, not argon2 (argon2id, argon2i or argon2d)",
                parsed.algorithm
            ),
            help,
        ));
    }
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err(("`hash` has no salt or no hash output".to_owned(), help));
    }
    if let Err(e) = argon2::Params::try_from(&parsed) {
        return Err((format!("`hash` has bad argon2 parameters ({e})"), help));
    }
    Ok(())
}

/// Reads an RFC 3339 date and time (`2027-01-01T00:00:00Z`, or with an
/// offset). The error and its help.
pub fn parse_rfc3339(text: &str) -> Result<SystemTime, (String, String)> {
    let help = "write an RFC 3339 date and time in quotes, like \"2027-01-01T00:00:00Z\" or \"2027-01-01T09:00:00+02:00\"".to_owned();
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| {
            (
                format!("`{}` is not an RFC 3339 date ({e})", text.escape_debug()),
                help.clone(),
            )
        })?;
    let nanos = at.unix_timestamp_nanos();
    let Ok(nanos) = u64::try_from(nanos) else {
        return Err((format!("`{text}` is before 1970"), help));
    };
    Ok(SystemTime::UNIX_EPOCH + Duration::from_nanos(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$G2n5cUZaL3Y0nR4c5pVn3m2bBJb0xj4Q7xJ7H8zWv1E";

    #[test]
    fn argon2_phc_strings_pass_and_others_do_not() {
        assert_eq!(check_hash(GOOD), Ok(()));
        for (bad, says) in [
            ("hunter2", "not a PHC"),
            (
                "$pbkdf2-sha256$i=1000$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
                "not argon2",
            ),
            ("$argon2id$v=19$m=19456,t=2,p=1", "no salt"),
            ("", "not a PHC"),
        ] {
            let (msg, help) = check_hash(bad).expect_err(bad);
            assert!(msg.contains(says), "{bad}: {msg}");
            assert!(help.contains("toc users"), "{help}");
        }
    }

    #[test]
    fn dates_are_rfc3339() {
        let at = parse_rfc3339("2027-01-01T00:00:00Z").expect("date");
        assert_eq!(
            humantime::format_rfc3339_seconds(at).to_string(),
            "2027-01-01T00:00:00Z"
        );
        let off = parse_rfc3339("2027-01-01T02:00:00+02:00").expect("offset");
        assert_eq!(off, at);
        for bad in [
            "2027-01-01",
            "tomorrow",
            "2027-13-01T00:00:00Z",
            "1969-12-31T00:00:00Z",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_token_is_refused_when_revoked_or_expired() {
        let at = parse_rfc3339("2027-01-01T00:00:00Z").expect("date");
        let mut t = Token {
            id: "alice-laptop".into(),
            hash: GOOD.into(),
            expires: Some(at),
            revoked: false,
        };
        assert_eq!(t.refusal(at - Duration::from_secs(1)), None);
        assert_eq!(
            t.refusal(at).as_deref(),
            Some("token `alice-laptop` expired at 2027-01-01T00:00:00Z")
        );
        t.revoked = true;
        assert_eq!(
            t.refusal(at - Duration::from_secs(1)).as_deref(),
            Some("token `alice-laptop` is revoked")
        );
        assert!(check_id("alice-laptop").is_ok());
        assert!(check_id("").is_err());
        assert!(check_id("has space").is_err());
    }
}
