//! `playbooks/*.toml`: incident playbooks (runbooks) an operator runs step
//! by step from the console. This module reads and validates them; the
//! step runner lives in `playbook/`.
//!
//! A file deserializes into the [`raw`] types, [`check`] validates them
//! into the [`model`] types that the rest of the program uses.

mod check;
mod model;
mod raw;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use model::{
    Action, Arg, Expect, Field, OnFailure, Playbook, Ref, RelayAction, ReplayStart, SourcePick,
    Step, StepKind, Target, Trigger, TriggerKind,
};

use super::diag::{Diagnostic, SourceFile};
use raw::RawPlaybook;

/// Reads every `*.toml` in a folder, in name order. All errors of all
/// files come back together.
pub fn load_dir(dir: &Path) -> Result<Vec<Playbook>, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            return Err(vec![Diagnostic::file_error(
                dir,
                format!("cannot read the playbook folder: {e}"),
                "pass the folder that holds the playbook .toml files",
            )]);
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut books: Vec<Playbook> = Vec::new();
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    for path in files {
        let text = match super::file::read_text(&path) {
            Ok(t) => t,
            Err(e) => {
                diags.push(Diagnostic::file_error(
                    &path,
                    format!("playbook: {e}"),
                    "give a regular file of at most 64 MiB, and check its permissions",
                ));
                continue;
            }
        };
        let src = SourceFile::new(&path, text);
        let raw = match read(&src) {
            Ok(raw) => raw,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        let id_span = raw.id.span();
        match check::check(&src, raw) {
            Ok(book) => {
                if let Some(first) = seen.get(&book.id) {
                    diags.push(src.error(
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
                    books.push(book);
                }
            }
            Err(mut d) => diags.append(&mut d),
        }
    }
    if diags.is_empty() {
        Ok(books)
    } else {
        Err(diags)
    }
}

/// Parses and validates one playbook.
pub fn parse(src: &SourceFile) -> Result<Playbook, Vec<Diagnostic>> {
    check::check(src, read(src).map_err(|d| vec![d])?)
}

/// Deserializes a playbook file into its raw types.
fn read(src: &SourceFile) -> Result<RawPlaybook, Diagnostic> {
    toml::from_str(src.text()).map_err(|e| src.from_toml(&e, Some("playbook")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &str) -> SourceFile {
        SourceFile::new("playbooks/test.toml", text.to_owned())
    }

    #[test]
    fn a_valid_playbook_becomes_the_checked_model() {
        let text = r#"
id = "uplink-lost"
title = "Uplink lost"
[trigger]
kind = "device_down"
role = "core-switch"
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
            TriggerKind::Problem(crate::model::ProblemKind::DeviceDown)
        );
        assert_eq!(book.trigger.role.as_deref(), Some("core-switch"));
        assert_eq!(book.file, Path::new("playbooks/test.toml"));
        let step = book.steps.first().expect("one step");
        assert_eq!(step.kind(), StepKind::Notify);
        assert!(!step.dangerous);
    }

    #[test]
    fn every_step_error_is_reported_at_the_step_id() {
        let text = r#"
id = "feed"
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
"#;
        let diags = parse(&src(text)).expect_err("invalid playbook");
        let got: Vec<(usize, &str)> = diags.iter().map(|d| (d.line, d.message.as_str())).collect();
        assert_eq!(
            got,
            [
                (7, "reroute step `move` is not marked dangerous"),
                (7, "reroute step `move` in a playbook not about a feed"),
                (11, "duplicate step id `move` (first on line 7)"),
                (11, "step `move` has a contact but is not a notify step"),
            ]
        );
    }
}
