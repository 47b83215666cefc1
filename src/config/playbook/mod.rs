//! `playbooks/*.toml`: incident playbooks (runbooks) an operator runs step
//! by step from the console. This module reads and validates them; the
//! step runner lives in `playbook/`.
//!
//! A file deserializes into the [`raw`] types, [`check`] validates them
//! into the [`model`] types that the rest of the program uses.

mod check;
mod inventory;
mod model;
mod raw;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use inventory::coverage;
pub use model::{
    Action, Arg, CHECK_TIMEOUT, Expect, Field, OnFailure, Playbook, RELAY_TIMEOUT, Ref,
    RelayAction, ReplayStart, SHELL_TIMEOUT, SourcePick, Step, StepKind, TRIGGER_NAMES, Target,
    Trigger, TriggerKind, WAIT_TIMEOUT,
};

use super::diag::{Diagnostic, Severity, SourceFile};
use super::venues::Inventory;

/// What [`check_dir`] found: the playbooks that passed every check, and
/// every error and warning of the folder, in file order.
#[derive(Debug, Default)]
pub struct Report {
    /// The playbooks without errors, in file name order.
    pub books: Vec<Playbook>,
    /// The errors: the folder is not usable while there is one.
    pub errors: Vec<Diagnostic>,
    /// The warnings: references that match nothing, incident kinds and
    /// roles of the inventory that no playbook covers.
    pub warnings: Vec<Diagnostic>,
}

/// Reads every `*.toml` in a folder, in name order, and checks each
/// playbook on its own (not against an inventory: see [`check_dir`]).
/// All errors of all files come back together.
pub fn load_dir(dir: &Path) -> Result<Vec<Playbook>, Vec<Diagnostic>> {
    let report = read_dir(dir, None);
    if report.errors.is_empty() {
        Ok(report.books)
    } else {
        Err(report.errors)
    }
}

/// Reads every `*.toml` in a folder as [`load_dir`] does, then checks the
/// playbooks without errors of their own against the inventory: unknown
/// ids, relay steps without `[relay]`, shell steps where venues.toml does
/// not enable them (errors); and adds the [`coverage`] warnings.
pub fn check_dir(dir: &Path, inv: &Inventory) -> Report {
    let mut report = read_dir(dir, Some(inv));
    if report.errors.is_empty() {
        report.warnings.extend(coverage(&report.books, inv));
    }
    report
}

/// The `*.toml` files of a folder, in name order.
fn files(dir: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Diagnostic::file_error(
            dir,
            format!("cannot read the playbook folder: {e}"),
            "pass the folder that holds the playbook .toml files",
        )
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

/// Reads and checks a folder, against `inv` when given.
fn read_dir(dir: &Path, inv: Option<&Inventory>) -> Report {
    let mut report = Report::default();
    let files = match files(dir) {
        Ok(f) => f,
        Err(d) => {
            report.errors.push(d);
            return report;
        }
    };
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    for path in files {
        let text = match super::file::read_text(&path) {
            Ok(t) => t,
            Err(e) => {
                report.errors.push(Diagnostic::file_error(
                    &path,
                    format!("playbook: {e}"),
                    "give a regular file of at most 64 MiB, and check its permissions",
                ));
                continue;
            }
        };
        let src = SourceFile::new(&path, text);
        let (book, diags) = parse_with(&src, inv);
        for d in diags {
            if d.severity == Severity::Error {
                report.errors.push(d);
            } else {
                report.warnings.push(d);
            }
        }
        let Some((book, id_span)) = book else {
            continue;
        };
        if let Some(first) = seen.get(&book.id) {
            report.errors.push(src.error(
                id_span,
                format!(
                    "duplicate playbook id `{}` (also in {})",
                    book.id,
                    first.display()
                ),
                "give each playbook its own id",
            ));
        } else {
            seen.insert(book.id.clone(), path.clone());
            report.books.push(book);
        }
    }
    report
}

/// Parses and validates one playbook on its own.
pub fn parse(src: &SourceFile) -> Result<Playbook, Vec<Diagnostic>> {
    let (book, diags) = parse_with(src, None);
    match book {
        Some((book, _)) => Ok(book),
        None => Err(diags),
    }
}

/// Parses and validates one playbook, against `inv` when given: the
/// playbook (with the span of its id) when it has no error, and every
/// diagnostic, errors and warnings, in position order.
fn parse_with(
    src: &SourceFile,
    inv: Option<&Inventory>,
) -> (Option<(Playbook, std::ops::Range<usize>)>, Vec<Diagnostic>) {
    let (raw, mut diags) = raw::read(src);
    for d in &mut diags {
        if let Some(help) = &mut d.help {
            *help = help.replace("docs/config.md", "docs/playbooks.md");
        }
    }
    let Some(raw) = raw else {
        return (None, diags);
    };
    let mut book = check::check(src, &raw, &mut diags);
    if diags.iter().any(|d| d.severity == Severity::Error) {
        book = None;
    }
    if book.is_some()
        && let Some(inv) = inv
    {
        inventory::check(src, &raw, inv, &mut diags);
        if diags.iter().any(|d| d.severity == Severity::Error) {
            book = None;
        }
    }
    diags.sort_by_key(|d| (d.line, d.column));
    let id_span = raw.header.as_ref().map_or(0..0, |h| h.id.span());
    (book.map(|b| (b, id_span)), diags)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::{ProblemKind, Status};

    fn src(text: &str) -> SourceFile {
        SourceFile::new("playbooks/test.toml", text.to_owned())
    }

    const HEAD: &str = "id = \"t\"\ntitle = \"T\"\n[trigger]\nkind = \"device_down\"\n";

    /// The one step of a playbook with this `[[steps]]` body.
    fn step(body: &str) -> Step {
        let text = format!("{HEAD}[[steps]]\nid = \"s\"\ntitle = \"S\"\n{body}");
        let book = parse(&src(&text)).unwrap_or_else(|d| panic!("{d:?}"));
        book.steps.into_iter().next().expect("one step")
    }

    /// The messages of the errors of a playbook with this step body.
    fn errors(body: &str) -> Vec<(usize, usize, String)> {
        let text = format!("{HEAD}[[steps]]\nid = \"s\"\ntitle = \"S\"\n{body}");
        parse(&src(&text))
            .expect_err("invalid")
            .into_iter()
            .map(|d| (d.line, d.column, d.message))
            .collect()
    }

    #[test]
    fn a_valid_playbook_becomes_the_checked_model() {
        let text = r#"
id = "uplink-lost"
title = "Uplink lost"
[trigger]
kind = "device_down"
role = "core-switch"
venue = "STA"
[[steps]]
id = "call-noc"
title = "Call the NOC"
kind = "notify"
contact = "NOC desk"
"#;
        let book = parse(&src(text)).expect("valid playbook");
        assert_eq!(book.id, "uplink-lost");
        assert_eq!(
            book.trigger.kind,
            TriggerKind::Problem(ProblemKind::DeviceDown)
        );
        assert_eq!(book.trigger.role.as_deref(), Some("core-switch"));
        assert_eq!(book.trigger.venue.as_deref(), Some("STA"));
        assert_eq!(book.file, Path::new("playbooks/test.toml"));
        let step = book.steps.first().expect("one step");
        assert_eq!(step.kind(), StepKind::Notify);
        assert_eq!(
            step.action,
            Action::Notify {
                contact: "NOC desk".to_owned()
            }
        );
        assert!(!step.dangerous);
        assert_eq!(step.on_failure, OnFailure::Stop);
    }

    #[test]
    fn check_defaults_to_the_subject_and_ok() {
        let s = step("kind = \"check\"\n");
        assert_eq!(
            s.action,
            Action::Check {
                target: Target::Subject,
                expect: vec![Status::Ok]
            }
        );
        assert_eq!(s.timeout(), Some(CHECK_TIMEOUT));
    }

    #[test]
    fn check_reads_a_target_and_a_list_of_statuses() {
        let s = step(
            "kind = \"check\"\ngroup = \"{group}\"\nexpect = [\"up\", \"down\"]\ntimeout = \"5s\"\n",
        );
        assert_eq!(
            s.action,
            Action::Check {
                target: Target::Group(Ref::Field(Field::Group)),
                expect: vec![Status::Ok, Status::Degraded, Status::Down]
            }
        );
        assert_eq!(s.timeout(), Some(Duration::from_secs(5)));
    }

    #[test]
    fn wait_reads_until() {
        let s = step("kind = \"wait\"\nfeed = \"STA-results\"\nuntil = \"ok\"\n");
        assert_eq!(
            s.action,
            Action::Wait {
                target: Target::Feed(Ref::Id("STA-results".to_owned())),
                until: vec![Status::Ok]
            }
        );
        assert_eq!(s.timeout(), Some(WAIT_TIMEOUT));
    }

    #[test]
    fn manual_and_approve_have_no_timeout() {
        assert_eq!(step("kind = \"manual\"\n").action, Action::Manual);
        let s = step("kind = \"approve\"\non_failure = \"continue\"\n");
        assert_eq!(s.action, Action::Approve);
        assert_eq!(s.timeout(), None);
        assert_eq!(s.on_failure, OnFailure::Continue);
    }

    #[test]
    fn relay_actions_read_with_their_defaults() {
        let d = "kind = \"relay\"\ndangerous = true\n";
        let relay = |body: &str| match step(&format!("{d}{body}")).action {
            Action::Relay(r) => r,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            relay("action = \"source\"\nsource = \"backup\"\n"),
            RelayAction::Source {
                feed: Ref::Field(Field::Feed),
                source: SourcePick::Backup
            }
        );
        assert_eq!(
            relay("action = \"source\"\nfeed = \"STA-results\"\nsource = \"{primary}\"\n"),
            RelayAction::Source {
                feed: Ref::Id("STA-results".to_owned()),
                source: SourcePick::Named(Ref::Field(Field::Primary))
            }
        );
        assert_eq!(
            relay("action = \"pause\"\n"),
            RelayAction::Pause {
                sink: Ref::Field(Field::Sink)
            }
        );
        assert_eq!(
            relay("action = \"resume\"\nsink = \"media\"\n"),
            RelayAction::Resume {
                sink: Ref::Id("media".to_owned())
            }
        );
        assert_eq!(
            relay("action = \"route\"\nroute = \"results\"\nsinks = [\"web_mobile\"]\n"),
            RelayAction::Route {
                route: "results".to_owned(),
                sinks: vec!["web_mobile".to_owned()]
            }
        );
        assert_eq!(
            relay("action = \"replay\"\nfrom = 42\n"),
            RelayAction::Replay {
                sink: Ref::Field(Field::Sink),
                from: ReplayStart::Seq(42)
            }
        );
        assert_eq!(
            relay("action = \"replay\"\nsink = \"media\"\nfrom = \"10m\"\n"),
            RelayAction::Replay {
                sink: Ref::Id("media".to_owned()),
                from: ReplayStart::Ago(Duration::from_secs(600))
            }
        );
    }

    #[test]
    fn maintenance_notify_note_and_shell_read() {
        assert_eq!(
            step("kind = \"maintenance\"\nvenue = \"{venue}\"\nduration = \"2h\"\nreason = \"swap\"\n").action,
            Action::Maintenance {
                target: Target::Venue(Ref::Field(Field::Venue)),
                duration: Duration::from_secs(7200),
                reason: "swap".to_owned()
            }
        );
        assert_eq!(
            step("kind = \"note\"\ntext = \"done\"\n").action,
            Action::Note {
                text: "done".to_owned()
            }
        );
        let s =
            step("kind = \"shell\"\ndangerous = true\nargv = [\"ping\", \"-c1\", \"{device}\"]\n");
        assert_eq!(
            s.action,
            Action::Shell {
                argv: vec![
                    Arg::Text("ping".to_owned()),
                    Arg::Text("-c1".to_owned()),
                    Arg::Field(Field::Device)
                ]
            }
        );
        assert!(s.dangerous);
        assert_eq!(s.timeout(), Some(SHELL_TIMEOUT));
    }

    #[test]
    fn an_old_reroute_step_reads_as_a_relay_source_step() {
        let s = step("kind = \"reroute\"\ndangerous = true\n");
        assert_eq!(
            s.action,
            Action::Relay(RelayAction::Source {
                feed: Ref::Field(Field::Feed),
                source: SourcePick::Backup
            })
        );
    }

    #[test]
    fn goto_names_a_step_of_the_playbook() {
        let text = format!(
            "{HEAD}[[steps]]\nid = \"a\"\ntitle = \"A\"\nkind = \"check\"\non_failure = \"goto\"\ngoto = \"b\"\n\
             [[steps]]\nid = \"b\"\ntitle = \"B\"\nkind = \"manual\"\n"
        );
        let book = parse(&src(&text)).expect("valid");
        assert_eq!(
            book.steps.first().map(|s| &s.on_failure),
            Some(&OnFailure::Goto("b".to_owned()))
        );
    }

    #[test]
    fn every_error_of_a_file_is_reported() {
        let text = r#"id = "feed"
title = "Feed"
[trigger]
kind = "device_down"
[[steps]]
id = "move"
title = "Move"
kind = "reroute"
[[steps]]
id = "move"
title = "Again"
kind = "check"
contact = "someone"
[[steps]]
id = "typo"
title = "Typo"
kind = "check"
colour = "red"
"#;
        let diags = parse(&src(text)).expect_err("invalid playbook");
        let got: Vec<(usize, &str)> = diags.iter().map(|d| (d.line, d.message.as_str())).collect();
        assert_eq!(
            got,
            [
                (6, "reroute step `move` is not marked dangerous"),
                (10, "duplicate step id `move` (first on line 6)"),
                (13, "`contact` does not belong to a check step"),
                (
                    18,
                    "unknown field `colour`, expected one of `id`, `title`, `kind`, `instructions`, `dangerous`, `timeout`, `on_failure`, `goto`, `device`, `group`, `venue`, `feed`, `sink`, `expect`, `until`, `action`, `source`, `route`, `sinks`, `from`, `duration`, `reason`, `contact`, `text`, `argv` in step"
                ),
            ]
        );
    }

    #[test]
    fn kind_errors_name_their_place() {
        assert_eq!(
            errors("kind = \"wait\"\ndevice = \"a\"\ngroup = \"b\"\n"),
            [
                (8, 8, "wait step `s` needs `until`".to_owned()),
                (
                    10,
                    9,
                    "step `s` has two targets: `device` and `group`".to_owned()
                ),
            ]
        );
        assert_eq!(
            errors(
                "kind = \"shell\"\ndangerous = true\nargv = [\"ping\", \"host-{venue}\", \"{nope}\"]\n"
            ),
            [
                (
                    10,
                    17,
                    "a field inside a longer argument: `host-{venue}`".to_owned()
                ),
                (10, 33, "unknown field `{nope}`".to_owned()),
            ]
        );
        assert_eq!(
            errors("kind = \"check\"\nexpect = \"green\"\ntimeout = \"0s\"\n"),
            [
                (9, 10, "unknown status `green` in `expect`".to_owned()),
                (10, 11, "timeout must be longer than zero".to_owned()),
            ]
        );
    }
}
