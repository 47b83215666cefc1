//! `toc users token NAME` and `toc users hash`: API tokens for
//! users.toml. A token is made here, printed once on stdout, and only its
//! argon2 hash goes in the file; a token is never taken on the command
//! line (`toc users hash` reads it from stdin).

use std::fmt::Write as _;
use std::io::{BufRead as _, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use toc::api::auth::{Authenticator, MAX_TOKEN_LEN, hash_token, new_token};
use toc::config::users::{MAX_TOKEN_ID, parse_rfc3339};
use toc::config::{Diagnostic, Inventory};

/// `toc users`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

// Doc comments here are `--help` text, read in a terminal: no Markdown.
#[allow(clippy::doc_markdown)]
#[derive(Debug, clap::Subcommand)]
enum What {
    /// Make an API token for a user: prints the token once (keep it; it
    /// is not stored), then the [[users.tokens]] block to paste under the
    /// user's [[users]] entry in users.toml (with the token's argon2 hash).
    Token {
        /// The user of users.toml the token is for.
        name: String,
        /// The token's id, for audit lines and revocation (default:
        /// NAME-YYYYMMDDHHMMSS).
        #[arg(long)]
        id: Option<String>,
        /// When it stops working: an RFC 3339 time (2027-01-01T00:00:00Z)
        /// or a duration from now (90d, 12h).
        #[arg(long, value_name = "RFC3339|DURATION")]
        expires: Option<String>,
    },
    /// Print the argon2 hash of a token read from stdin (one line), for
    /// scripts: the hash goes in users.toml as `hash`.
    Hash,
}

/// The API's authenticator for `toc serve`, `toc run` and `toc demo`:
/// the users file at `path` (none when it does not exist), its
/// technicians' venues checked against the inventory's when `check`;
/// `None`: no users file (a plain demo). The errors of a bad file, with
/// its path.
pub fn authenticator(
    path: Option<&Path>,
    inventory: &Inventory,
    check: bool,
) -> Result<Authenticator, (PathBuf, Vec<Diagnostic>)> {
    let Some(path) = path else {
        return Ok(Authenticator::new(None));
    };
    let codes = check.then(|| crate::cli_users::venue_codes(inventory));
    Authenticator::from_file(path, codes.as_deref()).map_err(|d| (path.to_path_buf(), d))
}

/// Runs `toc users …`.
pub fn run(args: &Args) -> ExitCode {
    let result = match &args.what {
        What::Token { name, id, expires } => token(name, id.as_deref(), expires.as_deref()),
        What::Hash => hash_stdin(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("toc users: {e}");
            ExitCode::from(2)
        }
    }
}

/// Reads `--expires`: an RFC 3339 time, or a duration from `now`.
fn expiry(text: &str, now: SystemTime) -> Result<SystemTime, String> {
    if let Ok(at) = parse_rfc3339(text) {
        return Ok(at);
    }
    let d = humantime::parse_duration(text).map_err(|_| {
        format!("--expires {text}: give an RFC 3339 time like 2027-01-01T00:00:00Z or a duration like 90d")
    })?;
    if d < Duration::from_secs(1) {
        return Err(format!(
            "--expires {text}: a token must live at least a second"
        ));
    }
    now.checked_add(d)
        .ok_or_else(|| format!("--expires {text}: too far in the future"))
}

/// The `[[users.tokens]]` block for a hash.
fn block(name: &str, id: &str, hash: &str, expires: Option<SystemTime>) -> String {
    let mut out = format!(
        "# A token of {name}: put this under its [[users]] entry in users.toml\n[[users.tokens]]\nid = \"{id}\"\nhash = \"{hash}\"\n"
    );
    if let Some(at) = expires {
        let _ = writeln!(
            out,
            "expires = \"{}\"",
            humantime::format_rfc3339_seconds(at)
        );
    }
    out.push_str("revoked = false\n");
    out
}

fn token(name: &str, id: Option<&str>, expires: Option<&str>) -> Result<(), String> {
    let now = SystemTime::now();
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == ':')
    {
        return Err(format!(
            "`{}` is not a user name of users.toml",
            name.escape_debug()
        ));
    }
    let id = if let Some(id) = id {
        id.to_owned()
    } else {
        let stamp = humantime::format_rfc3339_seconds(now).to_string();
        let digits: String = stamp
            .chars()
            .filter(char::is_ascii_digit)
            .take(14)
            .collect();
        format!("{name}-{digits}")
    };
    let good_id = !id.is_empty()
        && id.chars().count() <= MAX_TOKEN_ID
        && id
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if !good_id {
        return Err(format!(
            "--id {}: at most {MAX_TOKEN_ID} letters, digits, `-`, `_`, `.` or `@`",
            id.escape_debug()
        ));
    }
    let expires = expires.map(|e| expiry(e, now)).transpose()?;
    let token = new_token();
    let hash = hash_token(&token)?;
    let mut out = std::io::stdout().lock();
    let text = format!(
        "{token}\n\n# The line above is the token: give it to {name} (TOC_TOKEN or a token file), it is shown only once.\n{}",
        block(name, &id, &hash, expires)
    );
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| format!("stdout: {e}"))
}

fn hash_stdin() -> Result<(), String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .take(u64::try_from(MAX_TOKEN_LEN).unwrap_or(u64::MAX) + 2)
        .read_line(&mut line)
        .map_err(|e| format!("stdin: {e}"))?;
    let token = line.trim();
    if token.is_empty() {
        return Err(
            "give the token on stdin, e.g. `printf %s \"$TOKEN\" | toc users hash`".to_owned(),
        );
    }
    if token.len() > MAX_TOKEN_LEN {
        return Err(format!("the token is longer than {MAX_TOKEN_LEN} bytes"));
    }
    println!("{}", hash_token(token)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]

    use super::*;

    #[test]
    fn expiry_takes_a_time_or_a_duration() {
        let now = parse_rfc3339("2026-06-01T00:00:00Z").expect("now");
        assert_eq!(
            expiry("2027-01-01T00:00:00Z", now),
            parse_rfc3339("2027-01-01T00:00:00Z").map_err(|_| String::new())
        );
        assert_eq!(
            expiry("90d", now).expect("90d"),
            now + Duration::from_secs(90 * 86_400)
        );
        assert!(expiry("soon", now).is_err());
        assert!(expiry("0s", now).is_err());
    }

    #[test]
    fn the_block_reads_back_as_a_users_file_entry() {
        let at = parse_rfc3339("2027-01-01T00:00:00Z").expect("at");
        let hash = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$G2n5cUZaL3Y0nR4c5pVn3m2bBJb0xj4Q7xJ7H8zWv1E";
        let text = format!(
            "[[users]]\nname = \"alice\"\nrole = \"viewer\"\n{}",
            block("alice", "alice-laptop", hash, Some(at))
        );
        let src = toc::config::SourceFile::new("users.toml", text);
        let users = toc::config::users::Users::parse(&src, None)
            .expect("valid")
            .0;
        let t = &users.users[0].tokens[0];
        assert_eq!(
            (t.id.as_str(), t.hash.as_str(), t.expires),
            ("alice-laptop", hash, Some(at))
        );
    }
}
