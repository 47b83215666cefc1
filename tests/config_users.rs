//! `users.toml` through the real `toc` binary (`toc check`, `toc demo
//! --user`) and the library: every error at its `file:line:column`, the
//! shipped sample, and the rule that decides a user's role (listed: their
//! role; unlisted: a viewer; no file: a duty manager).

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use rstest::rstest;
use toc::config::users::{self, Decided, UserRole, Users};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `toc` in `dir`.
fn toc_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_toc"))
        .args(args)
        .current_dir(dir)
        .env_remove("TOC_SNMP_AUTH")
        .env_remove("TOC_SNMP_PRIV")
        .output()
        .expect("run toc")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A folder with the fixture inventory as `venues.toml` and `users` as
/// `users.toml` beside it.
fn folder(users: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        root().join("tests/fixtures/base.toml"),
        dir.path().join("venues.toml"),
    )
    .expect("copy base");
    std::fs::write(dir.path().join("users.toml"), users).expect("write users");
    dir
}

/// The error lines of stderr.
fn errors(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(": error: ")).collect()
}

const ALICE: &str = "[[users]]\nname = \"alice\"\nrole = \"duty_manager\"\n";

#[rstest]
#[case::unknown_key(
    "[[users]]\nname = \"a\"\nrole = \"viewer\"\nemail = \"a@example.org\"\n",
    "4:1",
    "unknown field `email`, expected one of `name`, `role`, `venues`, `uid`, `tokens` in [[users]] table",
    "remove the key"
)]
#[case::unknown_top_key(
    "[[user]]\nname = \"a\"\nrole = \"viewer\"\n",
    "1:3",
    "unknown top-level key `user`",
    "only [[users]] tables"
)]
#[case::missing_role(
    "[[users]]\nname = \"a\"\n",
    "1:1",
    "missing field `role` in [[users]] table",
    "add the key"
)]
#[case::unknown_role(
    "[[users]]\nname = \"a\"\nrole = \"admin\"\n",
    "3:8",
    "unknown role `admin`",
    "viewer, technician, operator, duty_manager"
)]
#[case::duplicate_name(
    "[[users]]\nname = \"alice\"\nrole = \"viewer\"\n\n[[users]]\nname = \"alice\"\nrole = \"operator\"\n",
    "6:8",
    "duplicate user `alice` (first listed at users.toml:2:8)",
    "listed once"
)]
#[case::empty_name(
    "[[users]]\nname = \"\"\nrole = \"viewer\"\n",
    "2:8",
    "user name is empty",
    "id -un"
)]
#[case::name_with_space(
    "[[users]]\nname = \"al ice\"\nrole = \"viewer\"\n",
    "2:8",
    "user name `al ice` is not an OS user name",
    "no spaces"
)]
#[case::venues_on_operator(
    "[[users]]\nname = \"omar\"\nrole = \"operator\"\nvenues = [\"STA\"]\n",
    "4:10",
    "`venues` is for technicians only: omar is operator",
    "operators and duty managers cover every venue"
)]
#[case::venues_on_duty_manager(
    "[[users]]\nname = \"alice\"\nrole = \"duty_manager\"\nvenues = []\n",
    "4:10",
    "`venues` is for technicians only: alice is duty_manager",
    "remove `venues`"
)]
#[case::technician_without_venues(
    "[[users]]\nname = \"tina\"\nrole = \"technician\"\n",
    "3:8",
    "technician `tina` has no venues",
    "venues = [\"STA\"]"
)]
#[case::technician_with_empty_venues(
    "[[users]]\nname = \"tina\"\nrole = \"technician\"\nvenues = []\n",
    "4:10",
    "technician `tina` has no venues",
    "venues = [\"STA\"]"
)]
#[case::unknown_venue(
    "[[users]]\nname = \"tina\"\nrole = \"technician\"\nvenues = [\"STA\", \"XYZ\"]\n",
    "4:18",
    "technician `tina` names unknown venue `XYZ`",
    "venue code of the venues file: STA"
)]
#[case::venue_twice(
    "[[users]]\nname = \"tina\"\nrole = \"technician\"\nvenues = [\"STA\", \"STA\"]\n",
    "4:18",
    "technician `tina` lists venue `STA` twice",
    "once"
)]
#[case::wrong_type(
    "[[users]]\nname = 7\nrole = \"viewer\"\n",
    "2:8",
    "invalid type: integer `7`, expected a string in quotes",
    "strings in quotes"
)]
#[case::syntax_error(
    "[[users]]\nname = \"alice\nrole = \"viewer\"\n",
    "2:14",
    "invalid basic string, expected `\"`",
    "TOML syntax"
)]
fn a_bad_users_file_fails_check_at_its_position(
    #[case] users: &str,
    #[case] position: &str,
    #[case] message: &str,
    #[case] help: &str,
) {
    let dir = folder(users);
    let out = toc_in(dir.path(), &["check", "venues.toml"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "exit status; stderr:\n{stderr}");
    assert!(out.stdout.is_empty(), "stdout: {}", text(&out.stdout));
    let errs = errors(&stderr);
    assert_eq!(errs.len(), 1, "one defect, one error:\n{stderr}");
    let want = format!("users.toml:{position}: error: {message}");
    assert_eq!(errs[0], want, "\n{stderr}");
    let help_line = stderr
        .split(errs[0])
        .nth(1)
        .and_then(|after| {
            after
                .lines()
                .find(|l| l.trim_start().starts_with("= help:"))
        })
        .unwrap_or_default();
    assert!(
        help_line.contains(help),
        "want help {help:?}, got {help_line:?}"
    );
    assert!(stderr.contains("users.toml: 1 error found"), "{stderr}");
}

#[test]
fn the_help_of_an_unknown_role_lists_the_four() {
    let dir = folder("[[users]]\nname = \"a\"\nrole = \"root\"\n");
    let stderr = text(&toc_in(dir.path(), &["check", "venues.toml"]).stderr);
    assert!(
        stderr.contains("= help: a role is one of viewer, technician, operator, duty_manager"),
        "{stderr}"
    );
}

#[test]
fn every_error_of_a_users_file_is_reported_with_the_venues_errors() {
    let dir = folder(
        "[[users]]\nname = \"\"\nrole = \"viewer\"\n\n[[users]]\nname = \"tina\"\nrole = \"technician\"\nvenues = [\"NOPE\"]\n",
    );
    let out = toc_in(dir.path(), &["check", "venues.toml"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    let positions: Vec<&str> = errors(&stderr)
        .iter()
        .filter_map(|l| l.split(": error").next())
        .collect();
    assert_eq!(positions, ["users.toml:2:8", "users.toml:8:11"], "{stderr}");
    assert!(stderr.contains("users.toml: 2 errors found"), "{stderr}");
}

#[test]
fn venue_codes_are_not_checked_against_a_broken_inventory() {
    let dir = folder("[[users]]\nname = \"tina\"\nrole = \"technician\"\nvenues = [\"NOPE\"]\n");
    std::fs::write(dir.path().join("venues.toml"), "[event]\nname = 7\n").expect("write");
    let stderr = text(&toc_in(dir.path(), &["check", "venues.toml"]).stderr);
    assert!(stderr.contains("venues.toml:2:8: error"), "{stderr}");
    assert!(!stderr.contains("users.toml:"), "{stderr}");
}

#[test]
fn a_valid_users_file_is_named_in_the_summary() {
    let dir = folder(
        "[[users]]\nname = \"alice\"\nrole = \"duty_manager\"\n\n[[users]]\nname = \"tina\"\nrole = \"technician\"\nvenues = [\"STA\"]\n",
    );
    let out = toc_in(dir.path(), &["check", "venues.toml"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.contains("  users      2 (1 technician, 1 duty_manager; from users.toml)\n"),
        "{stdout}"
    );
}

#[test]
fn an_empty_users_file_warns_that_everyone_is_a_viewer() {
    let dir = folder("# nobody yet\n");
    let out = toc_in(dir.path(), &["check", "venues.toml"]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.starts_with(
            "users.toml:1:1: warning: the file lists no users: everyone will be a viewer (read only)"
        ),
        "{stderr}"
    );
}

#[test]
fn check_takes_another_users_file_with_users() {
    let dir = folder(ALICE);
    std::fs::write(
        dir.path().join("night.toml"),
        "[[users]]\nname = \"n\"\nrole = \"boss\"\n",
    )
    .expect("write");
    let out = toc_in(
        dir.path(),
        &["check", "venues.toml", "--users", "night.toml"],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        errors(&stderr),
        ["night.toml:3:8: error: unknown role `boss`"],
        "{stderr}"
    );
    // A file given must exist.
    let out = toc_in(
        dir.path(),
        &["check", "venues.toml", "--users", "none.toml"],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.starts_with("none.toml:1:1: error: cannot read the file"),
        "{stderr}"
    );
}

#[test]
fn no_users_file_beside_the_venues_file_is_fine() {
    let dir = folder(ALICE);
    std::fs::remove_file(dir.path().join("users.toml")).expect("rm");
    let out = toc_in(dir.path(), &["check", "venues.toml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stdout).contains("users"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn the_shipped_users_file_has_one_user_of_each_role() {
    let codes = ["STA", "AQC"];
    let (list, warnings) =
        Users::load(&root().join("users.toml"), Some(&codes)).expect("shipped users.toml is valid");
    assert!(warnings.is_empty(), "{warnings:?}");
    let roles: Vec<UserRole> = list.users.iter().map(|u| u.role).collect();
    for role in UserRole::ALL {
        assert_eq!(roles.iter().filter(|r| **r == role).count(), 1, "{role}");
    }
    let tech = list
        .users
        .iter()
        .find(|u| u.role == UserRole::Technician)
        .expect("tech");
    assert_eq!(tech.venues, ["STA"]);
    // And it passes `toc check` with the shipped venues.
    let out = toc_in(&root(), &["check", "venues.toml"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("  users      4 ("), "{stdout}");
    assert!(stdout.contains("from users.toml)"), "{stdout}");
    let examples = toc_in(&root(), &["check", "examples/venues-small.toml"]);
    assert!(
        text(&examples.stdout).contains("from examples/users.toml)"),
        "{}",
        text(&examples.stdout)
    );
}

#[test]
fn the_rule_listed_unlisted_and_no_file() {
    let dir = folder(
        "[[users]]\nname = \"alice\"\nrole = \"duty_manager\"\n\n[[users]]\nname = \"tina\"\nrole = \"technician\"\nvenues = [\"STA\"]\n\n[[users]]\nname = \"omar\"\nrole = \"operator\"\n",
    );
    let (list, _) = Users::load(&dir.path().join("users.toml"), Some(&["STA"])).expect("valid");
    assert_eq!(
        list.lookup("tina"),
        Some((UserRole::Technician, vec!["STA".to_owned()]))
    );
    assert_eq!(list.lookup("omar"), Some((UserRole::Operator, vec![])));
    assert_eq!(list.lookup("mallory"), None);

    let listed = users::resolve(Some(&list), "alice");
    assert_eq!(
        (listed.role, listed.decided, listed.venues.is_empty()),
        (UserRole::DutyManager, Decided::Listed, true)
    );
    let unlisted = users::resolve(Some(&list), "mallory");
    assert_eq!(
        (unlisted.role, unlisted.decided, unlisted.venues.is_empty()),
        (UserRole::Viewer, Decided::Unlisted, true)
    );
    assert_eq!(
        unlisted.why(),
        "mallory is a viewer (read only): not listed in the users file"
    );
    let nofile = users::resolve(None, "mallory");
    assert_eq!(
        (nofile.role, nofile.decided, nofile.venues.is_empty()),
        (UserRole::DutyManager, Decided::NoFile, true)
    );
}

/// `toc demo --user` resolves before anything starts: the errors come
/// first, and a listed user gets as far as the terminal check (these runs
/// have no terminal, so nothing binds a port).
#[rstest]
#[case::demo("demo")]
#[case::run("run")]
fn user_flag_resolves_or_says_why(#[case] cmd: &str) {
    let dir = folder(
        "[[users]]\nname = \"alice\"\nrole = \"duty_manager\"\n\n[[users]]\nname = \"victor\"\nrole = \"viewer\"\n",
    );
    let name = format!("toc {cmd}");
    let out = toc_in(dir.path(), &[cmd, "venues.toml", "--user", "mallory"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        format!("{name}: --user mallory: not listed in users.toml (listed: alice, victor)\n")
    );

    let out = toc_in(dir.path(), &[cmd, "venues.toml", "--user", "victor"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("needs a terminal"), "{stderr}");
    assert!(!stderr.contains("--user"), "{stderr}");

    std::fs::remove_file(dir.path().join("users.toml")).expect("rm");
    let out = toc_in(dir.path(), &[cmd, "venues.toml", "--user", "alice"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        format!(
            "{name}: --user alice: there is no users file users.toml to look the user up in; write one or give it with --users FILE\n"
        )
    );
}

#[test]
fn a_bad_users_file_stops_demo_with_its_errors() {
    let dir = folder("[[users]]\nname = \"tina\"\nrole = \"technician\"\n");
    let out = toc_in(dir.path(), &["demo", "venues.toml", "--user", "tina"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(
        errors(&stderr),
        ["users.toml:3:8: error: technician `tina` has no venues"],
        "{stderr}"
    );
    // `toc run` reads the default file without --user too; `toc demo`
    // only with --user or --users.
    let out = toc_in(dir.path(), &["run", "venues.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("users.toml:3:8: error"));
    let out = toc_in(dir.path(), &["demo", "venues.toml"]);
    assert!(
        !text(&out.stderr).contains("users.toml"),
        "{}",
        text(&out.stderr)
    );
    let out = toc_in(
        dir.path(),
        &["demo", "venues.toml", "--users", "users.toml"],
    );
    assert!(text(&out.stderr).contains("users.toml:3:8: error"));
}

#[test]
fn every_key_and_role_is_documented_in_docs_config() {
    let docs = std::fs::read_to_string(root().join("docs/config.md")).expect("docs");
    let dir = folder("[[users]]\nname = \"a\"\nrole = \"viewer\"\nzzz = 1\n");
    let stderr = text(&toc_in(dir.path(), &["check", "venues.toml"]).stderr);
    let keys: Vec<&str> = stderr
        .split("expected one of ")
        .nth(1)
        .and_then(|l| l.split(" in ").next())
        .expect("the keys listed")
        .split(", ")
        .map(|k| k.trim_matches('`'))
        .collect();
    assert_eq!(keys, ["name", "role", "venues", "uid", "tokens"]);
    for key in keys {
        assert!(
            docs.contains(&format!("| `{key}` |")),
            "`{key}` undocumented"
        );
    }
    for role in UserRole::ALL {
        assert!(
            docs.contains(&format!("`{}`", role.name())),
            "{role} undocumented"
        );
    }
}

/// Under tmux, as a person would: `toc demo --user tina` draws the console
/// as the technician (the title bar names the user and role the engine
/// was given), and a plain `toc demo` beside the same users file runs as
/// the local user, a duty manager.
#[test]
fn demo_in_tmux_runs_as_the_user_given() {
    if !support::have("tmux") {
        return;
    }
    let _serial = support::tmux::serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let venues = dir.path().join("venues.toml");
    std::fs::copy(root().join("examples/venues-small.toml"), &venues).expect("copy");
    std::fs::copy(root().join("users.toml"), dir.path().join("users.toml")).expect("copy");
    let bin = env!("CARGO_BIN_EXE_toc");
    let me = users::os_user().expect("a user");
    if ["alice", "omar", "tina", "victor"].contains(&me.as_str()) {
        return;
    }
    for (run, (args, want)) in [
        ("--user tina", "tina (technician · STA)".to_owned()),
        ("--user victor", "victor (viewer)".to_owned()),
        ("", format!("{me} (duty_manager)")),
        // The users file given, the OS user not in it: a viewer.
        ("--users users.toml", format!("{me} (viewer)")),
    ]
    .into_iter()
    .enumerate()
    {
        let script = format!(
            "TERM=xterm-256color TOC_SNMP_AUTH=users-test-auth TOC_SNMP_PRIV=users-test-priv '{bin}' demo '{}' {args}; echo \"toc exited $?\"; sleep 600",
            venues.display()
        );
        // A socket of its own each run: the last server may still be
        // going away.
        let own = dir.path().join(format!("tmux-{run}"));
        std::fs::create_dir(&own).expect("mkdir");
        let tmux = support::tmux::Tmux::start(&own, &script);
        tmux.wait(Duration::from_secs(30), &want, |p| {
            p.lines().next().is_some_and(|title| title.contains(&want))
        });
        tmux.key("q");
        tmux.wait(Duration::from_secs(10), "toc exited 0", |p| {
            p.contains("toc exited 0")
        });
    } // The log says who the console ran as, and why.
    let log = std::fs::read_to_string(dir.path().join("toc-data/toc.log")).expect("toc.log");
    for line in [
        "tina is a technician over venues STA, as the users file lists".to_owned(),
        format!("{me} is a duty manager over every venue: a demo without --user or --users"),
        format!("{me} is a viewer (read only): not listed in the users file"),
    ] {
        assert!(log.contains(&line), "{line:?} not in toc.log:\n{log}");
    }
}

proptest::proptest! {
    /// Any text, and any change to a valid file, reads without a panic,
    /// every diagnostic inside the file.
    #[test]
    fn any_users_text_reads_without_panic(
        cut in 0usize..1200,
        insert in "[\\[\\]=\"a-z_ ,\\n]{0,12}",
    ) {
        let valid = std::fs::read_to_string(root().join("users.toml")).expect("shipped");
        let mut at = cut.min(valid.len());
        while !valid.is_char_boundary(at) {
            at -= 1;
        }
        let text = format!("{}{insert}{}", &valid[..at], &valid[at..]);
        let lines = text.lines().count().max(1);
        let src = toc::config::SourceFile::new("users.toml", text);
        let diags = match Users::parse(&src, Some(&["STA"])) {
            Ok((_, warnings)) => warnings,
            Err(errors) => errors,
        };
        for d in diags {
            proptest::prop_assert!(d.line >= 1 && d.line <= lines + 1, "{d}");
        }
    }
}
