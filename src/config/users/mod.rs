//! `users.toml`: who may do what. Each user is an OS user name with a
//! role and, for a technician, the venues they may act on. Read as
//! strictly as `venues.toml`: every error names `file:line:column`.
//!
//! The rule ([`resolve`]): without a users file the local user is a duty
//! manager over every venue; with one, a listed user has their role and
//! an unlisted one is a viewer (read only).
//!
//! Users may also have API tokens (`[[users.tokens]]`: an id, the
//! argon2 hash, an expiry, a revocation flag) for `toc console --connect`,
//! and a `uid` that maps a Unix-socket peer to them when its OS name
//! differs from `name` (the API server, `src/api/auth.rs`).
//!
//! - [`read`] parses and checks the file;
//! - [`tokens`] checks token entries;
//! - [`os`] finds the OS user the console runs as, and the name of a uid.

mod os;
mod read;
mod tokens;

use std::fmt;
use std::path::Path;

pub use os::{name_of_uid, os_user, passwd_name};
pub use tokens::{MAX_TOKEN_ID, Token, parse_rfc3339};

use super::diag::{Diagnostic, Severity, SourceFile};

/// The name of the users file beside a venues file.
pub const FILE_NAME: &str = "users.toml";

/// What a user may do. The engine's `Role` mirrors these, least first;
/// `config/` keeps its own type (it may not import the engine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UserRole {
    /// Reads everything, changes nothing.
    Viewer,
    /// Acts on the venues listed in `venues`.
    Technician,
    /// Acts on every venue.
    Operator,
    /// Everything, including acknowledging and resolving incidents.
    DutyManager,
}

impl UserRole {
    /// Every role, least first.
    pub const ALL: [UserRole; 4] = [
        UserRole::Viewer,
        UserRole::Technician,
        UserRole::Operator,
        UserRole::DutyManager,
    ];

    /// The name as the file writes it (`duty_manager`).
    pub const fn name(self) -> &'static str {
        match self {
            UserRole::Viewer => "viewer",
            UserRole::Technician => "technician",
            UserRole::Operator => "operator",
            UserRole::DutyManager => "duty_manager",
        }
    }

    /// The role in words, with its article: `a duty manager`.
    pub const fn with_article(self) -> &'static str {
        match self {
            UserRole::Viewer => "a viewer (read only)",
            UserRole::Technician => "a technician",
            UserRole::Operator => "an operator",
            UserRole::DutyManager => "a duty manager",
        }
    }

    /// A role by its name in the file.
    pub fn from_name(name: &str) -> Option<UserRole> {
        UserRole::ALL.into_iter().find(|r| r.name() == name)
    }
}

impl fmt::Display for UserRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One `[[users]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// OS user name.
    pub name: String,
    /// Their role.
    pub role: UserRole,
    /// Venue codes a technician may act on; empty for every other role
    /// (they cover every venue).
    pub venues: Vec<String>,
    /// The user id of a Unix-socket peer that is this user, when given:
    /// such an entry matches that uid only, whatever its OS name.
    pub uid: Option<u32>,
    /// API tokens, in file order.
    pub tokens: Vec<Token>,
}

/// A validated `users.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Users {
    /// The users in file order.
    pub users: Vec<User>,
}

impl Users {
    /// Reads and checks a file. `venues` are the venue codes of the
    /// inventory it goes with, when known: a technician's venue that is
    /// not among them is an error. Errors come back all at once, sorted
    /// by position; warnings come back with the users.
    pub fn load(
        path: &Path,
        venues: Option<&[&str]>,
    ) -> Result<(Users, Vec<Diagnostic>), Vec<Diagnostic>> {
        let text = crate::config::file::read_text(path).map_err(|e| {
            vec![Diagnostic::file_error(
                path,
                e,
                "give the path of a regular file of at most 64 MiB, and check its permissions",
            )]
        })?;
        Self::parse(&SourceFile::new(path, text), venues)
    }

    /// Checks a file's text (see [`Users::load`]).
    pub fn parse(
        src: &SourceFile,
        venues: Option<&[&str]>,
    ) -> Result<(Users, Vec<Diagnostic>), Vec<Diagnostic>> {
        let (users, mut diags) = read::read(src, venues);
        diags.sort_by_key(|d| (d.severity, d.line, d.column));
        if diags.iter().any(|d| d.severity == Severity::Error) {
            Err(diags)
        } else {
            Ok((users, diags))
        }
    }

    /// A listed user's role and venues (empty: every venue).
    pub fn lookup(&self, name: &str) -> Option<(UserRole, Vec<String>)> {
        self.users
            .iter()
            .find(|u| u.name == name)
            .map(|u| (u.role, u.venues.clone()))
    }

    /// The user a Unix-socket peer is: the entry with this `uid`, else
    /// the entry named `os_name` (the OS name of the uid) that gives no
    /// uid of its own.
    pub fn lookup_peer(&self, uid: u32, os_name: Option<&str>) -> Option<&User> {
        self.users.iter().find(|u| u.uid == Some(uid)).or_else(|| {
            let name = os_name?;
            self.users
                .iter()
                .find(|u| u.uid.is_none() && u.name == name)
        })
    }

    /// Every token with the user it belongs to, in file order.
    pub fn tokens(&self) -> impl Iterator<Item = (&User, &Token)> {
        self.users
            .iter()
            .flat_map(|u| u.tokens.iter().map(move |t| (u, t)))
    }

    /// How many users hold each role, least first (roles held by nobody
    /// left out).
    pub fn count_by_role(&self) -> Vec<(UserRole, usize)> {
        UserRole::ALL
            .into_iter()
            .map(|r| (r, self.users.iter().filter(|u| u.role == r).count()))
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

/// How a user's role was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decided {
    /// No users file: the local user is a duty manager.
    NoFile,
    /// A demo run without `--user` or `--users`: the local user is a duty
    /// manager, whatever the users file beside it says (a demo changes
    /// nothing real).
    Demo,
    /// Listed in the users file.
    Listed,
    /// Not listed in the users file: a viewer.
    Unlisted,
}

/// Who the console runs as, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The user name.
    pub user: String,
    /// Their role.
    pub role: UserRole,
    /// Venues they may act on; empty means every venue.
    pub venues: Vec<String>,
    /// How the role was decided.
    pub decided: Decided,
}

impl Resolved {
    /// One sentence for the log: who, as what, and why.
    pub fn why(&self) -> String {
        let scope = if self.venues.is_empty() {
            "every venue".to_owned()
        } else {
            format!("venues {}", self.venues.join(", "))
        };
        match self.decided {
            Decided::NoFile => format!(
                "{} is a duty manager over every venue: there is no users file",
                self.user
            ),
            Decided::Demo => format!(
                "{} is a duty manager over every venue: a demo without --user or --users",
                self.user
            ),
            Decided::Listed => format!(
                "{} is {} over {scope}, as the users file lists",
                self.user,
                self.role.with_article()
            ),
            Decided::Unlisted => format!(
                "{} is a viewer (read only): not listed in the users file",
                self.user
            ),
        }
    }
}

/// The rule: no users file, the user is a duty manager over every venue;
/// listed, their role; unlisted, a viewer.
pub fn resolve(users: Option<&Users>, user: &str) -> Resolved {
    let (role, venues, decided) = match users {
        None => (UserRole::DutyManager, Vec::new(), Decided::NoFile),
        Some(users) => match users.lookup(user) {
            Some((role, venues)) => (role, venues, Decided::Listed),
            None => (UserRole::Viewer, Vec::new(), Decided::Unlisted),
        },
    };
    Resolved {
        user: user.to_owned(),
        role,
        venues,
        decided,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> Users {
        let src = SourceFile::new(
            "users.toml",
            "[[users]]\nname = \"alice\"\nrole = \"duty_manager\"\n\n[[users]]\nname = \"tina\"\nrole = \"technician\"\nvenues = [\"STA\"]\n"
                .to_owned(),
        );
        Users::parse(&src, Some(&["STA", "AQC"])).expect("valid").0
    }

    #[test]
    fn roles_round_trip_by_name() {
        for r in UserRole::ALL {
            assert_eq!(UserRole::from_name(r.name()), Some(r));
        }
        assert_eq!(UserRole::from_name("admin"), None);
        assert_eq!(UserRole::from_name("Viewer"), None);
    }

    #[test]
    fn lookup_finds_listed_users_only() {
        let u = users();
        assert_eq!(u.lookup("alice"), Some((UserRole::DutyManager, vec![])));
        assert_eq!(
            u.lookup("tina"),
            Some((UserRole::Technician, vec!["STA".to_owned()]))
        );
        assert_eq!(u.lookup("Alice"), None);
        assert_eq!(u.lookup("bob"), None);
    }

    #[test]
    fn the_rule_no_file_listed_unlisted() {
        let u = users();
        let none = resolve(None, "bob");
        assert_eq!(
            (none.role, none.decided, none.venues.len()),
            (UserRole::DutyManager, Decided::NoFile, 0)
        );
        let tina = resolve(Some(&u), "tina");
        assert_eq!(
            (tina.role, tina.decided, tina.venues.clone()),
            (
                UserRole::Technician,
                Decided::Listed,
                vec!["STA".to_owned()]
            )
        );
        let bob = resolve(Some(&u), "bob");
        assert_eq!(
            (bob.role, bob.decided, bob.venues.len()),
            (UserRole::Viewer, Decided::Unlisted, 0)
        );
        assert!(bob.why().contains("not listed"), "{}", bob.why());
        assert!(none.why().contains("no users file"), "{}", none.why());
        assert_eq!(
            tina.why(),
            "tina is a technician over venues STA, as the users file lists"
        );
    }
}

#[cfg(test)]
mod token_tests;
