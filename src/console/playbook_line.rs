//! The playbook commands of the `:` command line, read into a value:
//! `:run`, `:dry-run`, `:runs`, the answers (`:done`, `:fail`,
//! `:approve`, `:reject`) and the controls (`:abort`, `:pause-run`,
//! `:resume-run`, `:retry`, `:skip`). Which run and which step they go to
//! is the app's to say (the run shown, its current step), not this
//! module's.

use crate::engine::{Answer, RunAction};

/// A playbook command line, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaybookLine {
    /// `:run PLAYBOOK [on ID|KEY]`.
    Run {
        /// The playbook's id as typed, or its number in the incident's
        /// list (`1`).
        playbook: String,
        /// The incident, when named.
        on: Option<String>,
    },
    /// `:dry-run PLAYBOOK [on ID|KEY]`.
    DryRun {
        /// As for `Run`.
        playbook: String,
        /// As for `Run`.
        on: Option<String>,
    },
    /// `:runs`: every run.
    Runs,
    /// An answer to the step the run waits on.
    Answer(Answer),
    /// Pause, resume, abort, retry, skip.
    Control(RunAction),
}

/// Whether `name` (lower case) is one of the playbook commands.
pub fn is_playbook(name: &str) -> bool {
    matches!(
        name,
        "run"
            | "dry-run"
            | "dryrun"
            | "runs"
            | "done"
            | "fail"
            | "approve"
            | "reject"
            | "abort"
            | "pause-run"
            | "resume-run"
            | "retry"
            | "skip"
    )
}

/// The least role the command needs (what the help offers; the engine
/// decides all the same).
pub fn needs(name: &str) -> Option<crate::engine::Role> {
    use crate::engine::Role;
    match name {
        "approve" | "reject" => Some(Role::DutyManager),
        "run" | "abort" | "pause-run" | "resume-run" | "retry" | "skip" => Some(Role::Operator),
        "done" | "fail" | "dry-run" | "dryrun" => Some(Role::Technician),
        _ => None,
    }
}

fn usage(name: &str) -> String {
    let line = super::cmdline::USAGE
        .iter()
        .find(|u| u.name() == name)
        .map_or(name, |u| u.line);
    format!("usage: :{line}")
}

/// `PLAYBOOK [on ID|KEY]`.
fn target(name: &str, args: &[&str]) -> Result<(String, Option<String>), String> {
    match args {
        [playbook] => Ok(((*playbook).to_owned(), None)),
        [playbook, on, which] if on.eq_ignore_ascii_case("on") => {
            Ok(((*playbook).to_owned(), Some((*which).to_owned())))
        }
        _ => Err(usage(name)),
    }
}

/// Reads a playbook command: `name` in lower case, `rest` the text after
/// it as typed (a comment keeps its spaces). `None` when `name` is not a
/// playbook command.
pub fn parse(name: &str, args: &[&str], rest: &str) -> Option<Result<PlaybookLine, String>> {
    let no_arg = |line: PlaybookLine| {
        if args.is_empty() {
            Ok(line)
        } else {
            Err(format!("`{name}` takes no argument"))
        }
    };
    Some(match name {
        "run" => target("run", args).map(|(playbook, on)| PlaybookLine::Run { playbook, on }),
        "dry-run" | "dryrun" => {
            target("dry-run", args).map(|(playbook, on)| PlaybookLine::DryRun { playbook, on })
        }
        "runs" => no_arg(PlaybookLine::Runs),
        "done" => Ok(PlaybookLine::Answer(Answer::Done {
            comment: rest.to_owned(),
        })),
        "fail" if rest.is_empty() => Err(format!("say what failed; {}", usage("fail"))),
        "fail" => Ok(PlaybookLine::Answer(Answer::Fail {
            comment: rest.to_owned(),
        })),
        "approve" => no_arg(PlaybookLine::Answer(Answer::Approve)),
        "reject" if rest.is_empty() => Err(format!("say why in a reason; {}", usage("reject"))),
        "reject" => Ok(PlaybookLine::Answer(Answer::Reject {
            reason: rest.to_owned(),
        })),
        "abort" => no_arg(PlaybookLine::Control(RunAction::Abort)),
        "pause-run" => no_arg(PlaybookLine::Control(RunAction::Pause)),
        "resume-run" => no_arg(PlaybookLine::Control(RunAction::Resume)),
        "retry" => no_arg(PlaybookLine::Control(RunAction::Retry)),
        "skip" => no_arg(PlaybookLine::Control(RunAction::Skip)),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<PlaybookLine, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let (name, args) = words.split_first().expect("a word");
        let rest = text
            .trim()
            .split_once(char::is_whitespace)
            .map_or("", |(_, r)| r.trim());
        parse(name, args, rest).expect("a playbook command")
    }

    #[test]
    fn reads_each_command() {
        assert_eq!(
            read("run core-lost on 4-17"),
            Ok(PlaybookLine::Run {
                playbook: "core-lost".into(),
                on: Some("4-17".into())
            })
        );
        assert_eq!(
            read("dry-run core-lost"),
            Ok(PlaybookLine::DryRun {
                playbook: "core-lost".into(),
                on: None
            })
        );
        assert_eq!(
            read("fail  fibre  cut "),
            Ok(PlaybookLine::Answer(Answer::Fail {
                comment: "fibre  cut".into()
            }))
        );
        assert_eq!(
            read("done"),
            Ok(PlaybookLine::Answer(Answer::Done {
                comment: String::new()
            }))
        );
        assert_eq!(read("skip"), Ok(PlaybookLine::Control(RunAction::Skip)));
    }

    #[test]
    fn refuses_what_lacks_a_comment_or_has_too_much() {
        for (text, want) in [
            ("fail", "say what failed"),
            ("reject", "say why in a reason"),
            ("approve now", "takes no argument"),
            ("run", "usage: :run PLAYBOOK [on INCIDENT]"),
            ("run a b", "usage: :run"),
            ("dry-run a at 4-17", "usage: :dry-run"),
        ] {
            let err = read(text).expect_err(text);
            assert!(err.contains(want), "`{text}`: {err}");
        }
    }
}
