//! Validation of one playbook: ids, steps and what each step kind needs.
//! Every error of the file is reported, not only the first.

use std::collections::HashMap;
use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use super::model::{
    Action, Arg, Field, OnFailure, Playbook, Ref, RelayAction, ReplayStart, SourcePick, Step,
    StepKind, Target, Trigger,
};
use super::raw::{RawFrom, RawHeader, RawPlaybook, RawStep, Words};
use crate::config::diag::{Diagnostic, SourceFile};
use crate::config::value::{is_kebab, parse_duration};
use crate::model::Status;

/// The help that lists the fields.
pub(super) fn fields_help() -> String {
    let names: Vec<String> = Field::ALL.iter().map(ToString::to_string).collect();
    format!("the fields are {}", names.join(", "))
}

/// The kinds as listed in a help text.
fn kinds_help() -> String {
    let names: Vec<&str> = StepKind::ALL.iter().map(|k| k.name()).collect();
    format!("use one of {}", names.join(", "))
}

/// The status words of `expect` and `until`.
const STATUS_WORDS: &str =
    "ok, degraded, down, unreachable, unknown, maintenance, or up (ok or degraded)";

/// A step's kind as read: one of the kinds, or the old `reroute` (a relay
/// `source` step that switches the incident's feed to its backup).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ReadKind {
    /// A kind of today's format.
    Kind(StepKind),
    /// `kind = "reroute"` of the first format.
    Reroute,
}

impl ReadKind {
    /// The kind of a step's `kind` value.
    pub(super) fn parse(name: &str) -> Option<ReadKind> {
        if name == "reroute" {
            return Some(ReadKind::Reroute);
        }
        StepKind::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .map(ReadKind::Kind)
    }

    /// The kind it runs as.
    pub(super) fn kind(self) -> StepKind {
        match self {
            ReadKind::Kind(k) => k,
            ReadKind::Reroute => StepKind::Relay,
        }
    }
}

/// The target keys of a step, in the order they are written in the docs.
pub(super) fn target_keys(step: &RawStep) -> [(&'static str, Option<&Spanned<String>>); 5] {
    [
        ("device", step.device.as_ref()),
        ("group", step.group.as_ref()),
        ("venue", step.venue.as_ref()),
        ("feed", step.feed.as_ref()),
        ("sink", step.sink.as_ref()),
    ]
}

/// Every kind-specific key of a step with the span of its value, when
/// written.
fn kind_keys(step: &RawStep) -> Vec<(&'static str, Range<usize>)> {
    let s = |v: Option<&Spanned<String>>| v.map(Spanned::span);
    let keys: [(&'static str, Option<Range<usize>>); 16] = [
        ("device", s(step.device.as_ref())),
        ("group", s(step.group.as_ref())),
        ("venue", s(step.venue.as_ref())),
        ("feed", s(step.feed.as_ref())),
        ("sink", s(step.sink.as_ref())),
        ("expect", step.expect.as_ref().map(Spanned::span)),
        ("until", step.until.as_ref().map(Spanned::span)),
        ("action", s(step.action.as_ref())),
        ("source", s(step.source.as_ref())),
        ("route", s(step.route.as_ref())),
        ("sinks", step.sinks.as_ref().map(Spanned::span)),
        ("from", step.from.as_ref().map(Spanned::span)),
        ("duration", s(step.duration.as_ref())),
        ("reason", s(step.reason.as_ref())),
        ("contact", s(step.contact.as_ref())),
        ("text", s(step.text.as_ref())),
    ];
    let mut out: Vec<(&'static str, Range<usize>)> = keys
        .into_iter()
        .filter_map(|(k, span)| span.map(|s| (k, s)))
        .collect();
    if let Some(argv) = &step.argv {
        out.push(("argv", argv.span()));
    }
    out
}

/// The keys a kind takes besides `id`, `title`, `kind`, `instructions`,
/// `dangerous`, `timeout`, `on_failure` and `goto`.
fn allowed_keys(kind: ReadKind) -> &'static [&'static str] {
    match kind {
        ReadKind::Reroute => &[],
        ReadKind::Kind(k) => match k {
            StepKind::Check => &["device", "group", "venue", "feed", "sink", "expect"],
            StepKind::Wait => &["device", "group", "venue", "feed", "sink", "until"],
            StepKind::Manual | StepKind::Approve => &[],
            StepKind::Relay => &["action", "feed", "sink", "source", "route", "sinks", "from"],
            StepKind::Maintenance => &["device", "group", "venue", "duration", "reason"],
            StepKind::Notify => &["contact"],
            StepKind::Note => &["text"],
            StepKind::Shell => &["argv"],
        },
    }
}

/// What reading one file's steps shares.
struct StepCx<'a> {
    src: &'a SourceFile,
    diags: &'a mut Vec<Diagnostic>,
}

impl StepCx<'_> {
    fn error(&mut self, span: Range<usize>, message: impl Into<String>, help: impl Into<String>) {
        self.diags.push(self.src.error(span, message, help));
    }
}

/// Checks a raw playbook read from `src`; its errors join `diags`.
/// Returns the playbook when it has none.
pub(super) fn check(
    src: &SourceFile,
    book: &RawPlaybook,
    diags: &mut Vec<Diagnostic>,
) -> Option<Playbook> {
    let before = diags.len();
    let mut cx = StepCx { src, diags };
    if let Some(h) = &book.header {
        check_header(&mut cx, h);
    }
    if book.steps.is_empty() && !book.has_steps {
        let span = book.header.as_ref().map_or(0..0, |h| h.id.span());
        cx.error(span, "the playbook has no steps", "add [[steps]] tables");
    }
    let mut step_ids: HashMap<&str, usize> = HashMap::new();
    for step in &book.steps {
        let sid = step.id.get_ref().as_str();
        if let Some(first) = step_ids.get(sid) {
            let (line, _) = src.position(*first);
            cx.error(
                step.id.span(),
                format!("duplicate step id `{sid}` (first on line {line})"),
                "give each step of a playbook its own id",
            );
        } else {
            step_ids.insert(sid, step.id.span().start);
        }
    }
    let steps: Vec<Option<Step>> = book
        .steps
        .iter()
        .map(|s| check_step(&mut cx, s, &step_ids))
        .collect();
    let header = book.header.as_ref()?;
    if diags.len() > before {
        return None;
    }
    Some(Playbook {
        id: header.id.get_ref().clone(),
        title: header.title.clone(),
        summary: header.summary.clone(),
        trigger: Trigger {
            kind: *header.trigger.kind.get_ref(),
            role: header.trigger.role.as_ref().map(|r| r.get_ref().clone()),
            venue: header.trigger.venue.as_ref().map(|r| r.get_ref().clone()),
            feed: header.trigger.feed.as_ref().map(|r| r.get_ref().clone()),
        },
        steps: steps.into_iter().collect::<Option<Vec<Step>>>()?,
        file: src.path().to_path_buf(),
    })
}

/// The playbook's id and trigger.
fn check_header(cx: &mut StepCx<'_>, h: &RawHeader) {
    let id = h.id.get_ref();
    if !is_kebab(id) {
        cx.error(
            h.id.span(),
            format!("playbook id `{id}` is not kebab-case"),
            "write it like `core-switch-lost`",
        );
    }
    for (key, value) in [
        ("role", &h.trigger.role),
        ("venue", &h.trigger.venue),
        ("feed", &h.trigger.feed),
    ] {
        if let Some(v) = value
            && (v.get_ref().trim().is_empty() || v.get_ref().contains(['{', '}']))
        {
            cx.error(
                v.span(),
                format!("trigger {key} `{}` is not a name", v.get_ref()),
                format!(
                    "write the {key} as it is in venues.toml; fields do not apply to a trigger"
                ),
            );
        }
    }
}

/// One step; `None` when it has errors (reported).
fn check_step(cx: &mut StepCx<'_>, step: &RawStep, ids: &HashMap<&str, usize>) -> Option<Step> {
    let before = cx.diags.len();
    let sid = step.id.get_ref().as_str();
    if !is_kebab(sid) {
        cx.error(
            step.id.span(),
            format!("step id `{sid}` is not kebab-case"),
            "write it like `confirm-uplink`",
        );
    }
    let on_failure = check_on_failure(cx, step, ids);
    let timeout = step
        .timeout
        .as_ref()
        .and_then(|t| duration(cx, t, "timeout"));
    let Some(kind) = ReadKind::parse(step.kind.get_ref()) else {
        cx.error(
            step.kind.span(),
            format!("step `{sid}` has an unknown kind `{}`", step.kind.get_ref()),
            kinds_help(),
        );
        return None;
    };
    check_keys(cx, step, kind);
    check_dangerous(cx, step, kind);
    let action = match kind {
        ReadKind::Reroute => Some(Action::Relay(RelayAction::Source {
            feed: Ref::Field(Field::Feed),
            source: SourcePick::Backup,
        })),
        ReadKind::Kind(k) => action(cx, step, k),
    };
    if cx.diags.len() > before {
        return None;
    }
    Some(Step {
        id: sid.to_owned(),
        title: step.title.clone(),
        instructions: step.instructions.clone(),
        dangerous: step.dangerous.as_ref().is_some_and(|d| *d.get_ref()),
        timeout,
        on_failure: on_failure?,
        action: action?,
    })
}

/// Keys that do not belong to the step's kind.
fn check_keys(cx: &mut StepCx<'_>, step: &RawStep, kind: ReadKind) {
    let allowed = allowed_keys(kind);
    let written = step.kind.get_ref();
    for (key, span) in kind_keys(step) {
        if !allowed.contains(&key) {
            let takes = if allowed.is_empty() {
                format!("a {written} step takes none of the kind-specific keys")
            } else {
                format!("a {written} step takes {}", allowed.join(", "))
            };
            cx.error(
                span,
                format!("`{key}` does not belong to a {written} step"),
                format!("remove `{key}`; {takes}"),
            );
        }
    }
}

/// A relay or shell step must be marked dangerous.
fn check_dangerous(cx: &mut StepCx<'_>, step: &RawStep, kind: ReadKind) {
    let dangerous = step.dangerous.as_ref().is_some_and(|d| *d.get_ref());
    if matches!(kind.kind(), StepKind::Relay | StepKind::Shell) && !dangerous {
        let span = step
            .dangerous
            .as_ref()
            .map_or_else(|| step.id.span(), Spanned::span);
        cx.error(
            span,
            format!(
                "{} step `{}` is not marked dangerous",
                step.kind.get_ref(),
                step.id.get_ref()
            ),
            "add `dangerous = true`: a duty manager approves it before it runs",
        );
    }
}

/// `on_failure` and `goto`, which go together.
fn check_on_failure(
    cx: &mut StepCx<'_>,
    step: &RawStep,
    ids: &HashMap<&str, usize>,
) -> Option<OnFailure> {
    let written = step.on_failure.as_ref().map(|o| o.get_ref().as_str());
    match (written, &step.goto) {
        (None | Some("stop"), None) => Some(OnFailure::Stop),
        (Some("continue"), None) => Some(OnFailure::Continue),
        (Some("goto"), Some(goto)) => {
            let to = goto.get_ref();
            if ids.contains_key(to.as_str()) {
                Some(OnFailure::Goto(to.clone()))
            } else {
                let mut known: Vec<&str> = ids.keys().copied().collect();
                known.sort_unstable();
                cx.error(
                    goto.span(),
                    format!("`goto` names unknown step `{to}`"),
                    format!("name a step of this playbook: {}", known.join(", ")),
                );
                None
            }
        }
        (Some("goto"), None) => {
            let span = step.on_failure.as_ref().map_or(0..0, Spanned::span);
            cx.error(
                span,
                "`on_failure = \"goto\"` without `goto`",
                "add `goto = \"STEP-ID\"`: the step the run goes on at",
            );
            None
        }
        (Some("stop" | "continue") | None, Some(goto)) => {
            cx.error(
                goto.span(),
                "`goto` without `on_failure = \"goto\"`",
                "add `on_failure = \"goto\"`, or remove `goto`",
            );
            None
        }
        (Some(other), _) => {
            let span = step.on_failure.as_ref().map_or(0..0, Spanned::span);
            cx.error(
                span,
                format!("unknown on_failure `{other}`"),
                "use stop (the default), continue or goto",
            );
            None
        }
    }
}

/// A duration longer than zero; reports and returns `None` otherwise.
fn duration(cx: &mut StepCx<'_>, v: &Spanned<String>, what: &str) -> Option<Duration> {
    match parse_duration(v.get_ref()) {
        Ok(d) if d.is_zero() => {
            cx.error(
                v.span(),
                format!("{what} must be longer than zero"),
                "write it with a unit, e.g. `30s` or `10m`",
            );
            None
        }
        Ok(d) => Some(d),
        Err(e) => {
            cx.error(v.span(), e, "write it with a unit, e.g. `30s` or `10m`");
            None
        }
    }
}

/// A name: a literal id, or a whole `{field}`.
fn reference(cx: &mut StepCx<'_>, v: &Spanned<String>, key: &str) -> Option<Ref> {
    let text = v.get_ref();
    if text.starts_with('{') && text.ends_with('}') {
        if let Some(f) = Field::parse(text) {
            return Some(Ref::Field(f));
        }
        cx.error(v.span(), format!("unknown field `{text}`"), fields_help());
        return None;
    }
    if text.contains(['{', '}']) {
        cx.error(
            v.span(),
            format!("`{key}` has a field inside a longer name: `{text}`"),
            format!("write a whole field like \"{{{key}}}\", or an id as it is in venues.toml"),
        );
        return None;
    }
    if text.trim().is_empty() {
        cx.error(
            v.span(),
            format!("`{key}` is empty"),
            "write an id as it is in venues.toml, or a field like \"{device}\"",
        );
        return None;
    }
    Some(Ref::Id(text.clone()))
}

/// The target of a check, wait or maintenance step: at most one key.
fn target(cx: &mut StepCx<'_>, step: &RawStep) -> Option<Target> {
    let written: Vec<(&str, &Spanned<String>)> = target_keys(step)
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
    match written.as_slice() {
        [] => Some(Target::Subject),
        [(key, v)] => {
            let r = reference(cx, v, key)?;
            Some(match *key {
                "device" => Target::Device(r),
                "group" => Target::Group(r),
                "venue" => Target::Venue(r),
                "feed" => Target::Feed(r),
                _ => Target::Sink(r),
            })
        }
        [(first, _), (second, v), ..] => {
            cx.error(
                v.span(),
                format!(
                    "step `{}` has two targets: `{first}` and `{second}`",
                    step.id.get_ref()
                ),
                "give one of device, group, venue, feed or sink; none means the incident's subject",
            );
            None
        }
    }
}

/// Status words (`up` = ok or degraded), never empty.
fn statuses(cx: &mut StepCx<'_>, v: &Spanned<Words>, key: &str) -> Option<Vec<Status>> {
    let words = Words::spanned(v);
    if words.is_empty() {
        cx.error(
            v.span(),
            format!("`{key}` is an empty list"),
            format!("give at least one of {STATUS_WORDS}"),
        );
        return None;
    }
    let mut out = Vec::new();
    let mut bad = false;
    for w in &words {
        let found: &[Status] = match w.get_ref().to_ascii_lowercase().as_str() {
            "ok" => &[Status::Ok],
            "degraded" => &[Status::Degraded],
            "down" => &[Status::Down],
            "unreachable" => &[Status::Unreachable],
            "unknown" => &[Status::Unknown],
            "maintenance" => &[Status::Maintenance],
            "up" => &[Status::Ok, Status::Degraded],
            _ => {
                cx.error(
                    w.span(),
                    format!("unknown status `{}` in `{key}`", w.get_ref()),
                    format!("use {STATUS_WORDS}"),
                );
                bad = true;
                &[]
            }
        };
        for s in found {
            if !out.contains(s) {
                out.push(*s);
            }
        }
    }
    (!bad).then_some(out)
}

/// Reports a key a kind needs; `None`.
fn missing<T>(cx: &mut StepCx<'_>, step: &RawStep, key: &str, example: &str) -> Option<T> {
    cx.error(
        step.kind.span(),
        format!(
            "{} step `{}` needs `{key}`",
            step.kind.get_ref(),
            step.id.get_ref()
        ),
        format!("add `{key} = {example}`"),
    );
    None
}

/// A non-empty text a kind needs.
fn text(
    cx: &mut StepCx<'_>,
    step: &RawStep,
    v: Option<&Spanned<String>>,
    key: &str,
) -> Option<String> {
    let Some(v) = v else {
        return missing(cx, step, key, "\"...\"");
    };
    if v.get_ref().trim().is_empty() {
        cx.error(
            v.span(),
            format!("`{key}` is empty"),
            format!("write the {key}"),
        );
        return None;
    }
    Some(v.get_ref().clone())
}

/// What a step of kind `k` does.
fn action(cx: &mut StepCx<'_>, step: &RawStep, k: StepKind) -> Option<Action> {
    match k {
        StepKind::Check => {
            let target = target(cx, step);
            let expect = match &step.expect {
                Some(e) => statuses(cx, e, "expect"),
                None => Some(vec![Status::Ok]),
            };
            Some(Action::Check {
                target: target?,
                expect: expect?,
            })
        }
        StepKind::Wait => {
            let target = target(cx, step);
            let until = match &step.until {
                Some(u) => statuses(cx, u, "until"),
                None => missing(cx, step, "until", "\"ok\""),
            };
            Some(Action::Wait {
                target: target?,
                until: until?,
            })
        }
        StepKind::Manual => Some(Action::Manual),
        StepKind::Approve => Some(Action::Approve),
        StepKind::Relay => relay(cx, step).map(Action::Relay),
        StepKind::Maintenance => maintenance(cx, step),
        StepKind::Notify => Some(Action::Notify {
            contact: text(cx, step, step.contact.as_ref(), "contact")?,
        }),
        StepKind::Note => Some(Action::Note {
            text: text(cx, step, step.text.as_ref(), "text")?,
        }),
        StepKind::Shell => shell(cx, step),
    }
}

/// A maintenance step: target, duration and reason.
fn maintenance(cx: &mut StepCx<'_>, step: &RawStep) -> Option<Action> {
    let target = target(cx, step);
    let duration = match &step.duration {
        Some(d) => duration(cx, d, "duration"),
        None => missing(cx, step, "duration", "\"2h\""),
    };
    let reason = text(cx, step, step.reason.as_ref(), "reason");
    Some(Action::Maintenance {
        target: target?,
        duration: duration?,
        reason: reason?,
    })
}

/// The keys a relay action takes besides `action`.
fn relay_keys(action: &str) -> &'static [&'static str] {
    match action {
        "source" => &["feed", "source"],
        "pause" | "resume" => &["sink"],
        "route" => &["route", "sinks"],
        _ => &["sink", "from"],
    }
}

/// A relay step: its action and what that action needs.
fn relay(cx: &mut StepCx<'_>, step: &RawStep) -> Option<RelayAction> {
    let Some(action) = &step.action else {
        return missing(cx, step, "action", "\"source\"");
    };
    let name = action.get_ref().as_str();
    if !matches!(name, "source" | "pause" | "resume" | "route" | "replay") {
        cx.error(
            action.span(),
            format!("unknown relay action `{name}`"),
            "use source, pause, resume, route or replay",
        );
        return None;
    }
    let allowed = relay_keys(name);
    for (key, span) in kind_keys(step) {
        if key != "action" && !allowed.contains(&key) {
            cx.error(
                span,
                format!("`{key}` does not belong to a relay `{name}` step"),
                format!(
                    "remove `{key}`; a relay `{name}` step takes {}",
                    allowed.join(", ")
                ),
            );
        }
    }
    let sink = |cx: &mut StepCx<'_>| match &step.sink {
        Some(s) => reference(cx, s, "sink"),
        None => Some(Ref::Field(Field::Sink)),
    };
    match name {
        "source" => relay_source(cx, step),
        "pause" => Some(RelayAction::Pause { sink: sink(cx)? }),
        "resume" => Some(RelayAction::Resume { sink: sink(cx)? }),
        "route" => relay_route(cx, step),
        _ => {
            let sink = sink(cx);
            let from = replay_from(cx, step);
            Some(RelayAction::Replay {
                sink: sink?,
                from: from?,
            })
        }
    }
}

/// `action = "source"`: a feed (default `{feed}`) and a source.
fn relay_source(cx: &mut StepCx<'_>, step: &RawStep) -> Option<RelayAction> {
    let feed = match &step.feed {
        Some(f) => reference(cx, f, "feed"),
        None => Some(Ref::Field(Field::Feed)),
    };
    let source = match &step.source {
        Some(s) => match s.get_ref().as_str() {
            "backup" => Some(SourcePick::Backup),
            "primary" => Some(SourcePick::Primary),
            "both" => Some(SourcePick::Both),
            _ => reference(cx, s, "source").map(SourcePick::Named),
        },
        None => missing(cx, step, "source", "\"backup\""),
    };
    Some(RelayAction::Source {
        feed: feed?,
        source: source?,
    })
}

/// `action = "route"`: a route id and its new sinks (literal ids).
fn relay_route(cx: &mut StepCx<'_>, step: &RawStep) -> Option<RelayAction> {
    let route = match &step.route {
        Some(r) if r.get_ref().contains(['{', '}']) || r.get_ref().trim().is_empty() => {
            cx.error(
                r.span(),
                format!("route `{}` is not a route id", r.get_ref()),
                "write the id of a [[relay.routes]] table; fields do not apply here",
            );
            None
        }
        Some(r) => Some(r.get_ref().clone()),
        None => missing(cx, step, "route", "\"results\""),
    };
    let sinks = match &step.sinks {
        Some(s) if s.get_ref().is_empty() => {
            cx.error(
                s.span(),
                "`sinks` is an empty list",
                "give the ids of the sinks the route delivers to",
            );
            None
        }
        Some(s) => {
            let mut out = Vec::new();
            for id in s.get_ref() {
                if id.get_ref().contains(['{', '}']) || id.get_ref().trim().is_empty() {
                    cx.error(
                        id.span(),
                        format!("`{}` is not a sink id", id.get_ref()),
                        "write the ids of [[relay.sinks]] tables; fields do not apply here",
                    );
                } else {
                    out.push(id.get_ref().clone());
                }
            }
            (out.len() == s.get_ref().len()).then_some(out)
        }
        None => missing(cx, step, "sinks", "[\"commentators\"]"),
    };
    Some(RelayAction::Route {
        route: route?,
        sinks: sinks?,
    })
}

/// `from` of a replay: a sequence number or a duration ago.
fn replay_from(cx: &mut StepCx<'_>, step: &RawStep) -> Option<ReplayStart> {
    let Some(from) = &step.from else {
        return missing(cx, step, "from", "\"10m\"");
    };
    match from.get_ref() {
        RawFrom::Seq(n) => match u64::try_from(*n) {
            Ok(n) => Some(ReplayStart::Seq(n)),
            Err(_) => {
                cx.error(
                    from.span(),
                    format!("`from` is {n}; a journal sequence number is 0 or more"),
                    "write a sequence number, or a duration ago like \"10m\"",
                );
                None
            }
        },
        RawFrom::Ago(text) => {
            duration(cx, &Spanned::new(from.span(), text.clone()), "from").map(ReplayStart::Ago)
        }
    }
}

/// A shell step: a non-empty argv, fields only as whole arguments, the
/// program written out.
fn shell(cx: &mut StepCx<'_>, step: &RawStep) -> Option<Action> {
    let Some(argv) = &step.argv else {
        return missing(cx, step, "argv", "[\"df\", \"-h\", \"/\"]");
    };
    if argv.get_ref().is_empty() {
        cx.error(
            argv.span(),
            "`argv` is empty",
            "give the program and its arguments, like [\"df\", \"-h\", \"/\"]",
        );
        return None;
    }
    let mut out = Vec::new();
    let mut bad = false;
    for (i, a) in argv.get_ref().iter().enumerate() {
        let text = a.get_ref();
        let arg = if text.starts_with('{') && text.ends_with('}') {
            if let Some(f) = Field::parse(text) {
                Some(Arg::Field(f))
            } else {
                cx.error(a.span(), format!("unknown field `{text}`"), fields_help());
                None
            }
        } else if text.contains(['{', '}']) {
            cx.error(
                a.span(),
                format!("a field inside a longer argument: `{text}`"),
                "a field is substituted only as a whole argument: split it, like [\"--venue\", \"{venue}\"]",
            );
            None
        } else {
            Some(Arg::Text(text.clone()))
        };
        match arg {
            Some(Arg::Field(_)) if i == 0 => {
                cx.error(
                    a.span(),
                    "the program of a shell step is a field",
                    "write the program's name or absolute path; fields may be its arguments",
                );
                bad = true;
            }
            Some(Arg::Text(t)) if i == 0 && t.trim().is_empty() => {
                cx.error(
                    a.span(),
                    "the program of a shell step is empty",
                    "write the program's name or absolute path",
                );
                bad = true;
            }
            Some(arg) => out.push(arg),
            None => bad = true,
        }
    }
    (!bad).then_some(Action::Shell { argv: out })
}
