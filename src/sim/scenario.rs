//! Scenario files: timed faults for demos and rehearsals.
//!
//! ```toml
//! description = "Lose STA's core switches one after the other"
//! big_bang = true   # every device starts silent…
//! at = "20s"        # …and the whole Games comes up together here
//!
//! [[step]]
//! at = "30s"                 # from the start of the simulator
//! target = "STA-core-a"      # device id (venue code for uplink-down)
//! fault = "down"             # down, slow, if-down, flapping, auth-fail,
//!                            # cpu-high, reboot, uplink-down
//! value = "200ms"            # optional, as in the control API
//! for = "2m"                 # optional; until cleared without it
//! note = "STA goes orange"   # optional, printed when the step runs
//!
//! [[step]]
//! at = "5m"
//! clear = true               # no target: clear everything; with a
//! target = "STA-core-a"      # target (and optional fault kind): only
//! fault = "down"             # those
//! ```
//!
//! Files are read strictly: unknown keys are errors, and every error
//! names `file:line:column`. Targets are checked against the inventory.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::Shared;
use super::faults::{ACTION_KINDS, Action, BIG_BANG, EVERYTHING, check_target, describe};
use crate::config::value::Dur;
use crate::config::{Diagnostic, Inventory, Severity, SourceFile};

/// A scenario, checked against an inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// What the scenario shows.
    pub description: String,
    /// With a big bang: every device is silent from the start until this
    /// time, then the whole Games comes up at once.
    pub big_bang: Option<Duration>,
    /// The steps, in time order.
    pub steps: Vec<Step>,
    /// The file it was read from, as given: audit records name it.
    pub file: String,
}

/// One timed step of a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Its place in the file (the first `[[step]]` is 1): audit records
    /// name it.
    pub number: usize,
    /// When it runs, from the start of the simulator.
    pub at: Duration,
    /// What it does.
    pub what: StepAction,
    /// Printed when it runs.
    pub note: Option<String>,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepAction {
    /// Applies an action to a target, for a time or until cleared.
    Apply {
        /// Device id, or venue code for `uplink-down`.
        target: String,
        /// What to do.
        action: Action,
        /// How long it lasts.
        duration: Option<Duration>,
    },
    /// Clears faults: all of them, those of a target, or those of one kind
    /// on a target.
    Clear {
        /// Device id or venue code; everything without it.
        target: Option<String>,
        /// Only faults of this kind.
        kind: Option<String>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    #[serde(default)]
    description: String,
    big_bang: Option<Spanned<bool>>,
    at: Option<Spanned<Dur>>,
    #[serde(default)]
    step: Vec<RawStep>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    at: Spanned<Dur>,
    target: Option<Spanned<String>>,
    fault: Option<Spanned<String>>,
    value: Option<Spanned<toml::Value>>,
    #[serde(rename = "for")]
    duration: Option<Spanned<Dur>>,
    clear: Option<Spanned<bool>>,
    note: Option<String>,
}

const HELP: &str = "docs/sim.md describes scenario files";

impl Scenario {
    /// Reads and checks a scenario file against `inventory`. All errors
    /// come back together, each with its line and column.
    pub fn load(path: &Path, inventory: &Inventory) -> Result<Scenario, Vec<Diagnostic>> {
        let text = crate::config::file::read_text(path).map_err(|e| {
            vec![Diagnostic::file_error(
                path,
                format!("scenario: {e}"),
                "give the path of a regular file of at most 64 MiB, and check its permissions",
            )]
        })?;
        Self::parse(&SourceFile::new(path, text), inventory)
    }

    /// Checks a scenario file's text against `inventory`.
    pub fn parse(src: &SourceFile, inventory: &Inventory) -> Result<Scenario, Vec<Diagnostic>> {
        let raw: RawScenario = toml::from_str(src.text()).map_err(|e| {
            let mut d = src.from_toml(&e, Some("scenario"));
            if let Some(help) = &mut d.help {
                *help = help.replace("docs/config.md", "docs/sim.md");
            }
            vec![d]
        })?;
        let mut diags = Vec::new();
        let big_bang = match (&raw.big_bang, &raw.at) {
            (Some(b), Some(at)) if *b.get_ref() => Some(at.get_ref().0),
            (Some(b), None) if *b.get_ref() => {
                diags.push(src.error(
                    b.span(),
                    "`big_bang = true` needs an `at` time: when the Games comes up",
                    "add a top-level `at = \"20s\"` (before the first [[step]])",
                ));
                None
            }
            (_, Some(at)) => {
                diags.push(src.error(
                    at.span(),
                    "a top-level `at` only applies with `big_bang = true`",
                    "add `big_bang = true`, or move `at` into a [[step]]",
                ));
                None
            }
            _ => None,
        };
        let check = Checker { src, inventory };
        let mut steps: Vec<Step> = raw
            .step
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let mut step = check.step(s, &mut diags)?;
                step.number = i + 1;
                Some(step)
            })
            .collect();
        if steps.is_empty() && big_bang.is_none() && diags.is_empty() {
            diags.push(src.diag(
                Severity::Error,
                None,
                "the scenario does nothing: no [[step]] and no big bang",
                Some(format!("add [[step]] tables or `big_bang = true`; {HELP}")),
            ));
        }
        if !diags.is_empty() {
            diags.sort_by_key(|d| (d.line, d.column));
            return Err(diags);
        }
        steps.sort_by_key(|s| s.at);
        Ok(Scenario {
            description: raw.description,
            big_bang,
            steps,
            file: src.path().display().to_string(),
        })
    }
}

struct Checker<'a> {
    src: &'a SourceFile,
    inventory: &'a Inventory,
}

impl Checker<'_> {
    fn is_device(&self, t: &str) -> bool {
        self.inventory.device(t).is_some()
    }

    fn is_venue(&self, t: &str) -> bool {
        self.inventory.venues.iter().any(|v| v.code == t)
    }

    fn step(&self, s: &RawStep, diags: &mut Vec<Diagnostic>) -> Option<Step> {
        if s.clear.as_ref().is_some_and(|c| *c.get_ref()) {
            self.clear_step(s, diags)
        } else {
            self.apply_step(s, diags)
        }
    }

    fn clear_step(&self, s: &RawStep, diags: &mut Vec<Diagnostic>) -> Option<Step> {
        let src = self.src;
        let before = diags.len();
        for (key, span) in [
            ("value", s.value.as_ref().map(Spanned::span)),
            ("for", s.duration.as_ref().map(Spanned::span)),
        ] {
            if let Some(span) = span {
                diags.push(src.error(
                    span,
                    format!("a `clear` step takes no `{key}`"),
                    "remove it; a clear step may name a `target` and a `fault` kind",
                ));
            }
        }
        if let Some(t) = &s.target {
            let name = t.get_ref();
            if name != EVERYTHING && !self.is_device(name) && !self.is_venue(name) {
                diags.push(src.error(
                    t.span(),
                    format!("no device or venue called `{name}` in venues.toml"),
                    "name a device id or a venue code, or leave `target` out to clear everything",
                ));
            }
        }
        if let Some(f) = &s.fault {
            let kind = f.get_ref().as_str();
            if s.target.is_none() {
                diags.push(src.error(
                    f.span(),
                    "a `clear` step with a `fault` kind needs a `target`",
                    "add the target, or leave `fault` out to clear everything",
                ));
            } else if kind == "reboot" || !(ACTION_KINDS.contains(&kind) || kind == BIG_BANG) {
                diags.push(src.error(
                    f.span(),
                    format!("cannot clear faults of kind `{kind}`"),
                    format!(
                        "use one of: {}",
                        ACTION_KINDS
                            .iter()
                            .filter(|k| **k != "reboot")
                            .copied()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
        (diags.len() == before).then(|| Step {
            number: 0,
            at: s.at.get_ref().0,
            what: StepAction::Clear {
                target: s.target.as_ref().map(|t| t.get_ref().clone()),
                kind: s.fault.as_ref().map(|f| f.get_ref().clone()),
            },
            note: s.note.clone(),
        })
    }

    fn apply_step(&self, s: &RawStep, diags: &mut Vec<Diagnostic>) -> Option<Step> {
        let src = self.src;
        let before = diags.len();
        let at_span = s.at.span();
        let Some(fault) = &s.fault else {
            diags.push(src.error(
                at_span,
                "this step has no `fault`",
                format!(
                    "add `fault = ` one of {}, or `clear = true`",
                    ACTION_KINDS.join(", ")
                ),
            ));
            return None;
        };
        let Some(target) = &s.target else {
            diags.push(src.error(
                at_span,
                "this step has no `target`",
                "add `target = ` a device id (a venue code for uplink-down)",
            ));
            return None;
        };
        let kind = fault.get_ref().as_str();
        if !ACTION_KINDS.contains(&kind) {
            diags.push(src.error(
                fault.span(),
                format!("unknown fault `{kind}`"),
                format!("use one of: {}", ACTION_KINDS.join(", ")),
            ));
            return None;
        }
        let value = match s.value.as_ref().map(|v| (v.get_ref(), v.span())) {
            None => None,
            Some((toml::Value::String(v), _)) => Some(v.clone()),
            Some((toml::Value::Integer(v), _)) => Some(v.to_string()),
            Some((_, span)) => {
                diags.push(src.error(
                    span,
                    "`value` must be a string or an integer",
                    "write it like \"200ms\", \"Te0/0/1\" or 95",
                ));
                return None;
            }
        };
        let action = match Action::parse(kind, value.as_deref()) {
            Ok(a) => a,
            Err(e) => {
                let span = s.value.as_ref().map_or(fault.span(), Spanned::span);
                diags.push(src.error(span, e, HELP));
                return None;
            }
        };
        let name = target.get_ref();
        if let Err(e) = check_target(name, &action, self.is_device(name), self.is_venue(name)) {
            diags.push(src.error(
                target.span(),
                e,
                "device ids and venue codes are those of venues.toml",
            ));
        }
        let duration = s.duration.as_ref().map(|d| (d.get_ref().0, d.span()));
        match duration.clone() {
            Some((_, span)) if action == Action::Reboot => diags.push(src.error(
                span,
                "`reboot` happens at once and takes no `for`",
                "remove `for`",
            )),
            Some((d, span)) if d.is_zero() => diags.push(src.error(
                span,
                "`for` must be above zero",
                "leave it out for a fault that lasts until cleared",
            )),
            _ => {}
        }
        (diags.len() == before).then(|| Step {
            number: 0,
            at: s.at.get_ref().0,
            what: StepAction::Apply {
                target: name.clone(),
                action,
                duration: duration.map(|(d, _)| d),
            },
            note: s.note.clone(),
        })
    }
}

/// Plays `scenario`, each step at its time from the simulator's start.
/// With an audit log, each step is recorded (`scenario FILE step N`)
/// before it is played, and skipped when its record cannot be written.
pub(crate) async fn run(scenario: Scenario, shared: Shared) {
    let mut timeline: Vec<(Duration, Option<&Step>)> =
        scenario.steps.iter().map(|s| (s.at, Some(s))).collect();
    if let Some(at) = scenario.big_bang {
        // Before the steps of the same time, so they apply to a live Games.
        timeline.push((at, None));
        timeline.sort_by_key(|(at, step)| (*at, step.is_some()));
    }
    for (at, step) in timeline {
        // `at` is at most 30 days (read by the scenario); checked anyway,
        // so that no step can panic the task and silently end the rest.
        let Some(due) = shared.started.checked_add(at) else {
            shared.emit(format!(
                "scenario: a step at {} is beyond the clock; the scenario stops here",
                humantime::format_duration(at)
            ));
            return;
        };
        tokio::time::sleep_until(due.into()).await;
        let Some(step) = step else {
            shared.emit("scenario: big bang, every venue comes up".to_owned());
            continue;
        };
        let source = format!("scenario {} step {}", scenario.file, step.number);
        let text = play(&shared, &source, step).await;
        let note = step
            .note
            .as_deref()
            .map_or(String::new(), |n| format!(" ({n})"));
        shared.emit(format!("scenario: {text}{note}"));
    }
}

/// Plays one step, its record written first; says what came of it.
async fn play(shared: &Shared, source: &str, step: &Step) -> String {
    let (text, planned) = match &step.what {
        StepAction::Apply {
            target,
            action,
            duration,
        } => match shared.state.plan(target, action, *duration) {
            Ok(planned) => (format!("fault {planned}"), planned),
            Err(e) => return format!("{} failed: {e}", describe(target, action, *duration)),
        },
        StepAction::Clear { target: None, .. } => {
            ("clear all".to_owned(), "clear every fault".to_owned())
        }
        StepAction::Clear {
            target: Some(t),
            kind,
        } => {
            let what = kind.as_deref().map_or(String::new(), |k| format!(" {k}"));
            (
                format!("clear {t}{what}"),
                format!("{t}: clear faults{what}"),
            )
        }
    };
    if let Err(why) = shared.audit_ahead(source, &text, &planned).await {
        tracing::error!("{source} not played: the audit log cannot be written ({why})");
        return format!("{text} not played: the audit log cannot be written ({why})");
    }
    let done = match &step.what {
        StepAction::Apply {
            target,
            action,
            duration,
        } => shared
            .state
            .apply(target, action, *duration)
            .map_err(|e| format!("{} failed: {e}", describe(target, action, *duration))),
        StepAction::Clear { target: None, .. } => Ok(format!(
            "cleared every fault ({})",
            shared.state.clear_all()
        )),
        StepAction::Clear {
            target: Some(t),
            kind,
        } => match shared.state.clear(t, kind.as_deref()) {
            Ok(n) => Ok(format!(
                "{t}: cleared{} ({n})",
                kind.as_deref().map_or(String::new(), |k| format!(" {k}"))
            )),
            Err(e) => Err(format!("clearing {t} failed: {e}")),
        },
    };
    done.unwrap_or_else(|why| {
        shared.audit_failed(source, &text, &why);
        why
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inventory() -> Inventory {
        let src = SourceFile::new(
            "small.toml",
            include_str!("../../examples/venues-small.toml").to_owned(),
        );
        Inventory::parse(&src).expect("example parses").0
    }

    fn parse(text: &str) -> Result<Scenario, Vec<Diagnostic>> {
        Scenario::parse(&SourceFile::new("s.toml", text.to_owned()), &inventory())
    }

    fn first_error(text: &str) -> Diagnostic {
        parse(text).expect_err("should fail").remove(0)
    }

    #[test]
    fn steps_are_read_and_sorted() {
        let s = parse(
            r#"
description = "demo"
big_bang = true
at = "10s"

[[step]]
at = "1m"
clear = true

[[step]]
at = "20s"
target = "STA-core"
fault = "slow"
value = "200ms"
for = "30s"

[[step]]
at = "30s"
target = "MRN"
fault = "uplink-down"

[[step]]
at = "40s"
target = "MRN-core"
fault = "cpu-high"
value = 97
"#,
        )
        .expect("valid");
        assert_eq!(s.big_bang, Some(Duration::from_secs(10)));
        let ats: Vec<u64> = s.steps.iter().map(|s| s.at.as_secs()).collect();
        assert_eq!(ats, [20, 30, 40, 60]);
        assert_eq!(
            s.steps[0].what,
            StepAction::Apply {
                target: "STA-core".into(),
                action: Action::Fault(super::super::faults::Fault::Slow(Duration::from_millis(
                    200
                ))),
                duration: Some(Duration::from_secs(30)),
            }
        );
        assert_eq!(
            s.steps[3].what,
            StepAction::Clear {
                target: None,
                kind: None
            }
        );
    }

    #[test]
    fn errors_point_at_the_offending_value() {
        for (text, line, column, needle) in [
            (
                "[[step]]\nat = \"1s\"\ntarget = \"STA-core\"\nfault = \"melt\"\n",
                4,
                9,
                "unknown fault `melt`",
            ),
            (
                "[[step]]\nat = \"1s\"\ntarget = \"nope\"\nfault = \"down\"\n",
                3,
                10,
                "no device called `nope`",
            ),
            (
                "[[step]]\nat = \"1s\"\ntarget = \"STA-core\"\nfault = \"slow\"\nvalue = \"200\"\n",
                5,
                9,
                "needs a unit",
            ),
            (
                "[[step]]\nat = \"1s\"\ntarget = \"STA-core\"\nfault = \"down\"\nwhen = 3\n",
                5,
                1,
                "unknown field `when`",
            ),
            (
                "[[step]]\nat = \"soon\"\ntarget = \"STA-core\"\nfault = \"down\"\n",
                2,
                6,
                "invalid duration",
            ),
            (
                "[[step]]\nat = \"1s\"\ntarget = \"STA-core\"\nfault = \"reboot\"\nfor = \"5s\"\n",
                5,
                7,
                "takes no `for`",
            ),
            (
                "[[step]]\nat = \"1s\"\ntarget = \"STA-core\"\nfault = \"uplink-down\"\n",
                3,
                10,
                "venue code",
            ),
            ("big_bang = true\n", 1, 12, "needs an `at`"),
            (
                "at = \"5s\"\n[[step]]\nat = \"1s\"\nclear = true\n",
                1,
                6,
                "only applies",
            ),
            (
                "[[step]]\nat = \"1s\"\nclear = true\nfault = \"down\"\n",
                4,
                9,
                "needs a `target`",
            ),
            ("description = \"nothing\"\n", 1, 1, "does nothing"),
        ] {
            let d = first_error(text);
            assert!(d.message.contains(needle), "{text}: {}", d.message);
            assert_eq!((d.line, d.column), (line, column), "{text}: {d}");
        }
    }

    #[test]
    fn all_errors_come_back_together() {
        let diags = parse(
            "[[step]]\nat = \"1s\"\ntarget = \"a\"\nfault = \"down\"\n\n[[step]]\nat = \"2s\"\ntarget = \"b\"\nfault = \"down\"\n",
        )
        .expect_err("two unknown targets");
        assert_eq!(diags.len(), 2);
        assert_eq!((diags[0].line, diags[1].line), (3, 8));
    }
}
