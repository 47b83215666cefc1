//! Who the console runs as, for `toc demo` and `toc run`, and the users
//! file in `toc check`: finds `users.toml`, checks it against the
//! inventory, and turns its verdict into the engine's [`Identity`].

use std::path::{Path, PathBuf};

use toc::config::users::{self, Resolved, UserRole, Users};
use toc::config::{Diagnostic, Inventory};
use toc::engine::command::{Identity, Role};

/// The users file: the one given, else `users.toml` beside the venues
/// file, else (a synthetic Games) in the current folder.
pub fn users_path(explicit: Option<&Path>, venues_file: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    venues_file.and_then(Path::parent).map_or_else(
        || PathBuf::from(users::FILE_NAME),
        |dir| dir.join(users::FILE_NAME),
    )
}

/// The venue codes a technician's `venues` must be among.
pub fn venue_codes(inventory: &Inventory) -> Vec<&str> {
    inventory.venues.iter().map(|v| v.code.as_str()).collect()
}

/// Why the console cannot start as asked.
#[derive(Debug)]
pub enum IdentityError {
    /// The users file has errors.
    Config(PathBuf, Vec<Diagnostic>),
    /// Anything else, in one sentence.
    Other(String),
}

/// What the command line asked for.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    /// `--user NAME`.
    pub user: Option<&'a str>,
    /// `--users FILE`.
    pub users: Option<&'a Path>,
    /// The venues file, when there is one (not a synthetic Games).
    pub venues_file: Option<&'a Path>,
    /// `toc demo`: the default users file counts only with `--user`.
    pub demo: bool,
}

/// Who the console runs as: `--user NAME` from the users file (which must
/// exist and list NAME), else the OS user by the rule of
/// [`users::resolve`]. A demo without `--user` or `--users` runs as the
/// local user, a duty manager, whatever the default users file says: a
/// demo changes nothing real, and a new user can try every command. The
/// users file's warnings come back too.
pub fn resolve(
    ask: Ask<'_>,
    inventory: &Inventory,
) -> Result<(Resolved, Vec<Diagnostic>), IdentityError> {
    let path = users_path(ask.users, ask.venues_file);
    if ask.demo && ask.user.is_none() && ask.users.is_none() {
        let me = users::os_user().unwrap_or_else(|| "local".to_owned());
        let mut r = users::resolve(None, &me);
        r.decided = users::Decided::Demo;
        return Ok((r, Vec::new()));
    }
    // A given file must exist; the default one may be absent.
    let present = ask.users.is_some() || path.exists();
    let loaded = if present {
        let codes = ask.venues_file.map(|_| venue_codes(inventory));
        match Users::load(&path, codes.as_deref()) {
            Ok(x) => Some(x),
            Err(diags) => return Err(IdentityError::Config(path, diags)),
        }
    } else {
        None
    };
    let (users, warnings) = match loaded {
        Some((u, w)) => (Some(u), w),
        None => (None, Vec::new()),
    };
    if let Some(name) = ask.user {
        let Some(list) = &users else {
            return Err(IdentityError::Other(format!(
                "--user {name}: there is no users file {} to look the user up in; write one or give it with --users FILE",
                path.display()
            )));
        };
        if list.lookup(name).is_none() {
            let names: Vec<&str> = list.users.iter().map(|u| u.name.as_str()).collect();
            return Err(IdentityError::Other(format!(
                "--user {name}: not listed in {} (listed: {})",
                path.display(),
                if names.is_empty() {
                    "nobody".to_owned()
                } else {
                    names.join(", ")
                }
            )));
        }
        return Ok((users::resolve(users.as_ref(), name), warnings));
    }
    let Some(me) = users::os_user() else {
        return Err(IdentityError::Other(
            "cannot tell who you are: $USER is not set and the real user id has no name in /etc/passwd; give --user NAME".to_owned(),
        ));
    };
    Ok((users::resolve(users.as_ref(), &me), warnings))
}

/// The engine's identity for a resolved user.
pub fn identity(r: &Resolved) -> Identity {
    Identity {
        user: r.user.clone(),
        role: match r.role {
            UserRole::Viewer => Role::Viewer,
            UserRole::Technician => Role::Technician,
            UserRole::Operator => Role::Operator,
            UserRole::DutyManager => Role::DutyManager,
        },
        venues: r.venues.clone(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]

    use super::*;

    fn inventory() -> Inventory {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/base.toml");
        Inventory::load(&path).expect("base fixture").0
    }

    fn write_users(dir: &Path, text: &str) -> PathBuf {
        let venues = dir.join("venues.toml");
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/base.toml"),
            &venues,
        )
        .expect("copy");
        std::fs::write(dir.join("users.toml"), text).expect("write");
        venues
    }

    const USERS: &str = "[[users]]\nname = \"alice\"\nrole = \"duty_manager\"\n\n[[users]]\nname = \"tina\"\nrole = \"technician\"\nvenues = [\"STA\"]\n";

    #[test]
    fn the_default_file_is_beside_the_venues_file() {
        assert_eq!(
            users_path(None, Some(Path::new("/etc/toc/venues.toml"))),
            PathBuf::from("/etc/toc/users.toml")
        );
        assert_eq!(
            users_path(None, Some(Path::new("venues.toml"))),
            PathBuf::from("users.toml")
        );
        assert_eq!(users_path(None, None), PathBuf::from("users.toml"));
        assert_eq!(
            users_path(Some(Path::new("/x/u.toml")), Some(Path::new("/etc/v.toml"))),
            PathBuf::from("/x/u.toml")
        );
    }

    #[test]
    fn user_flag_resolves_to_the_listed_identity() {
        let dir = tempfile::tempdir().expect("tempdir");
        let venues = write_users(dir.path(), USERS);
        let ask = Ask {
            user: Some("tina"),
            users: None,
            venues_file: Some(&venues),
            demo: false,
        };
        let (r, warnings) = resolve(ask, &inventory()).expect("resolves");
        assert!(warnings.is_empty());
        assert_eq!(
            identity(&r),
            Identity {
                user: "tina".to_owned(),
                role: Role::Technician,
                venues: vec!["STA".to_owned()],
            }
        );
    }

    #[test]
    fn user_flag_refuses_an_unlisted_name_and_a_missing_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let venues = write_users(dir.path(), USERS);
        let ask = Ask {
            user: Some("mallory"),
            users: None,
            venues_file: Some(&venues),
            demo: false,
        };
        match resolve(ask, &inventory()) {
            Err(IdentityError::Other(e)) => {
                assert!(
                    e.contains("not listed in") && e.contains("alice, tina"),
                    "{e}"
                );
            }
            other => panic!("{other:?}"),
        }
        std::fs::remove_file(dir.path().join("users.toml")).expect("rm");
        let ask = Ask {
            user: Some("alice"),
            ..ask
        };
        match resolve(ask, &inventory()) {
            Err(IdentityError::Other(e)) => {
                assert!(
                    e.contains("no users file") && e.contains("users.toml"),
                    "{e}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_demo_uses_the_default_file_only_with_user() {
        let dir = tempfile::tempdir().expect("tempdir");
        // Nobody is a duty manager in this file: a demo without --user
        // still is one.
        let venues = write_users(dir.path(), "[[users]]\nname = \"v\"\nrole = \"viewer\"\n");
        let ask = Ask {
            user: None,
            users: None,
            venues_file: Some(&venues),
            demo: true,
        };
        let (r, _) = resolve(ask, &inventory()).expect("resolves");
        assert_eq!(
            (r.role, r.decided),
            (UserRole::DutyManager, users::Decided::Demo)
        );
        let (r, _) = resolve(
            Ask {
                user: Some("v"),
                ..ask
            },
            &inventory(),
        )
        .expect("resolves");
        assert_eq!(
            (r.role, r.decided),
            (UserRole::Viewer, users::Decided::Listed)
        );
        // `toc run` applies the rule: whoever runs the test is not `v`.
        let (r, _) = resolve(Ask { demo: false, ..ask }, &inventory()).expect("resolves");
        if r.user != "v" {
            assert_eq!(
                (r.role, r.decided),
                (UserRole::Viewer, users::Decided::Unlisted)
            );
        }
    }

    #[test]
    fn every_role_maps_to_the_engine_role_of_the_same_name() {
        for role in UserRole::ALL {
            let r = Resolved {
                user: "u".to_owned(),
                role,
                venues: Vec::new(),
                decided: users::Decided::Listed,
            };
            assert_eq!(identity(&r).role.name(), role.name());
        }
    }
}
