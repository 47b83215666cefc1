//! Reading and checking `users.toml`: the TOML syntax, then each
//! `[[users]]` table on its own (one bad entry does not hide the errors
//! of the next), then the rules between them.

use std::collections::HashMap;

use serde::Deserialize;
use serde::de::IntoDeserializer;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::tokens::{self, Token};
use super::{User, UserRole, Users};
use crate::config::diag::{Diagnostic, SourceFile};

/// The longest user name: POSIX systems allow 32, some directories more.
const MAX_NAME: usize = 64;

/// The most venue codes listed in a help text.
const SHOWN_CODES: usize = 12;

/// A `[[users]]` table, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    name: Spanned<String>,
    role: Spanned<String>,
    venues: Option<Spanned<Vec<Spanned<String>>>>,
    uid: Option<Spanned<i64>>,
    tokens: Option<Vec<RawToken>>,
}

/// A `[[users.tokens]]` table, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawToken {
    id: Spanned<String>,
    hash: Spanned<String>,
    expires: Option<Spanned<String>>,
    revoked: Option<bool>,
}

/// Reading state: the file, what is wrong so far, the names seen.
struct Reader<'a> {
    src: &'a SourceFile,
    diags: Vec<Diagnostic>,
    /// Name -> span of its first entry.
    seen: HashMap<String, std::ops::Range<usize>>,
    /// Token id -> span of its first entry.
    token_ids: HashMap<String, std::ops::Range<usize>>,
    /// Uid -> span of its first entry.
    uids: HashMap<u32, std::ops::Range<usize>>,
}

/// Reads a whole file: the users that are valid and every diagnostic.
pub(super) fn read(src: &SourceFile, venues: Option<&[&str]>) -> (Users, Vec<Diagnostic>) {
    let mut r = Reader {
        src,
        diags: Vec::new(),
        seen: HashMap::new(),
        token_ids: HashMap::new(),
        uids: HashMap::new(),
    };
    let (root, syntax) = DeTable::parse_recoverable(src.text());
    if !syntax.is_empty() {
        let diags = syntax.iter().map(|e| src.from_toml(e, None)).collect();
        return (Users::default(), diags);
    }
    let mut users = Users::default();
    let mut any = false;
    for (key, value) in root.into_inner() {
        if key.get_ref().as_ref() == "users" {
            any = true;
            r.read_users(value, venues, &mut users);
        } else {
            r.diags.push(src.error(
                key.span(),
                format!("unknown top-level key `{}`", key.get_ref()),
                "users.toml holds only [[users]] tables (name, role, venues, uid, tokens)",
            ));
        }
    }
    if !any {
        r.diags.push(src.warning(
            0..0,
            "the file lists no users: everyone will be a viewer (read only)",
            "add [[users]] tables with name and role, or remove the file to make the local user a duty manager",
        ));
    }
    (users, r.diags)
}

impl Reader<'_> {
    fn error(&mut self, span: std::ops::Range<usize>, msg: String, help: impl Into<String>) {
        self.diags.push(self.src.error(span, msg, help));
    }

    /// Reads the `users` array, entry by entry.
    fn read_users(
        &mut self,
        value: Spanned<DeValue<'_>>,
        venues: Option<&[&str]>,
        users: &mut Users,
    ) {
        let span = value.span();
        let DeValue::Array(items) = value.into_inner() else {
            self.error(
                span,
                "`users` must be an array of tables".to_owned(),
                "write each user as a [[users]] table",
            );
            return;
        };
        for item in items {
            match RawUser::deserialize(item.into_deserializer()) {
                Ok(raw) => {
                    if let Some(user) = self.check_user(&raw, venues) {
                        users.users.push(user);
                    }
                }
                Err(e) => {
                    let d = self.src.from_toml(&e, Some("[[users]] table"));
                    self.diags.push(d);
                }
            }
        }
    }

    /// Checks one user; `None` when it has an error.
    fn check_user(&mut self, raw: &RawUser, venues: Option<&[&str]>) -> Option<User> {
        let before = self.diags.len();
        let name = self.check_name(&raw.name);
        let role = UserRole::from_name(raw.role.get_ref());
        if role.is_none() {
            self.error(
                raw.role.span(),
                format!("unknown role `{}`", raw.role.get_ref()),
                "a role is one of viewer, technician, operator, duty_manager",
            );
        }
        let mut codes = Vec::new();
        match (role, &raw.venues) {
            (Some(UserRole::Technician), None) => self.error(
                raw.role.span(),
                format!("technician `{name}` has no venues"),
                "list the venues they may act on, e.g. venues = [\"STA\"]",
            ),
            (Some(UserRole::Technician), Some(list)) if list.get_ref().is_empty() => self.error(
                list.span(),
                format!("technician `{name}` has no venues"),
                "list the venues they may act on, e.g. venues = [\"STA\"]",
            ),
            (Some(UserRole::Technician), Some(list)) => {
                codes = self.check_codes(&name, list.get_ref(), venues);
            }
            (Some(other), Some(list)) => self.error(
                list.span(),
                format!("`venues` is for technicians only: {name} is {other}"),
                "operators and duty managers cover every venue and viewers act on none; remove `venues`, or make the user a technician",
            ),
            (_, None) | (None, Some(_)) => {}
        }
        let uid = raw.uid.as_ref().and_then(|u| self.check_uid(&name, u));
        let tokens = raw
            .tokens
            .iter()
            .flatten()
            .filter_map(|t| self.check_token(t))
            .collect();
        if self.diags.len() > before {
            return None;
        }
        Some(User {
            name,
            role: role?,
            venues: codes,
            uid,
            tokens,
        })
    }

    /// Checks a `uid`: a user id, each once in the file.
    fn check_uid(&mut self, name: &str, uid: &Spanned<i64>) -> Option<u32> {
        let span = uid.span();
        let Ok(id) = u32::try_from(*uid.get_ref()) else {
            self.error(
                span,
                format!("uid {} of `{name}` is not a user id", uid.get_ref()),
                "write the numeric user id `id -u NAME` prints (0 to 4294967295)",
            );
            return None;
        };
        if let Some(first) = self.uids.get(&id) {
            let (line, column) = self.src.position(first.start);
            self.error(
                span,
                format!(
                    "duplicate uid {id} (first given at {}:{line}:{column})",
                    self.src.path().display()
                ),
                "a Unix-socket peer maps to one user: give each uid once",
            );
            return None;
        }
        self.uids.insert(id, span);
        Some(id)
    }

    /// Checks one `[[users.tokens]]` entry: its id (unique in the file),
    /// its argon2 hash, its expiry.
    fn check_token(&mut self, raw: &RawToken) -> Option<Token> {
        let before = self.diags.len();
        let id = raw.id.get_ref();
        if let Err((msg, help)) = tokens::check_id(id) {
            self.error(raw.id.span(), msg, help);
        } else if let Some(first) = self.token_ids.get(id) {
            let (line, column) = self.src.position(first.start);
            self.error(
                raw.id.span(),
                format!(
                    "duplicate token id `{id}` (first given at {}:{line}:{column})",
                    self.src.path().display()
                ),
                "token ids name a token in audit lines and for revocation: give each token its own id, like \"alice-laptop-2\"",
            );
        } else {
            self.token_ids.insert(id.clone(), raw.id.span());
        }
        if let Err((msg, help)) = tokens::check_hash(raw.hash.get_ref()) {
            self.error(raw.hash.span(), msg, help);
        }
        let expires = match &raw.expires {
            None => None,
            Some(e) => match tokens::parse_rfc3339(e.get_ref()) {
                Ok(at) => Some(at),
                Err((msg, help)) => {
                    self.error(e.span(), format!("`expires`: {msg}"), help);
                    None
                }
            },
        };
        if self.diags.len() > before {
            return None;
        }
        Some(Token {
            id: id.clone(),
            hash: raw.hash.get_ref().clone(),
            expires,
            revoked: raw.revoked.unwrap_or(false),
        })
    }

    /// Checks a name and that it is the first of its kind; returns it.
    fn check_name(&mut self, name: &Spanned<String>) -> String {
        let text = name.get_ref().clone();
        let span = name.span();
        if text.is_empty() {
            self.error(
                span,
                "user name is empty".to_owned(),
                "write the OS user name, as `id -un` prints it",
            );
            return text;
        }
        if text.chars().count() > MAX_NAME
            || text
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == ':')
        {
            self.error(
                span,
                format!("user name `{}` is not an OS user name", text.escape_debug()),
                format!("write the OS user name, as `id -un` prints it: at most {MAX_NAME} characters, no spaces, control characters or `:`"),
            );
            return text;
        }
        if let Some(first) = self.seen.get(&text) {
            let (line, column) = self.src.position(first.start);
            self.error(
                span,
                format!(
                    "duplicate user `{text}` (first listed at {}:{line}:{column})",
                    self.src.path().display()
                ),
                "each user is listed once; remove one entry or merge them",
            );
            return text;
        }
        self.seen.insert(text.clone(), span);
        text
    }

    /// Checks a technician's venue codes against the inventory's, when
    /// known; returns them.
    fn check_codes(
        &mut self,
        name: &str,
        list: &[Spanned<String>],
        known: Option<&[&str]>,
    ) -> Vec<String> {
        let mut codes: Vec<String> = Vec::new();
        for code in list {
            let c = code.get_ref();
            if codes.contains(c) {
                self.error(
                    code.span(),
                    format!("technician `{name}` lists venue `{c}` twice"),
                    "list each venue once",
                );
            } else if let Some(known) = known
                && !known.contains(&c.as_str())
            {
                let mut shown: Vec<&str> = known.iter().take(SHOWN_CODES).copied().collect();
                if known.len() > SHOWN_CODES {
                    shown.push("…");
                }
                self.error(
                    code.span(),
                    format!("technician `{name}` names unknown venue `{c}`"),
                    format!(
                        "use a venue code of the venues file: {}",
                        if shown.is_empty() {
                            "none".to_owned()
                        } else {
                            shown.join(", ")
                        }
                    ),
                );
            }
            codes.push(c.clone());
        }
        codes
    }
}
