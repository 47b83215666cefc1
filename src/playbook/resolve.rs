//! A playbook's steps against one incident: every `{field}` substituted,
//! every name looked up in the layout, so a run (and a dry-run) knows
//! exactly what each step will do: the devices it probes, the relay
//! command, the argv.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::playbook::{
    Action, Arg, Field, Playbook, Ref, RelayAction, ReplayStart, SourcePick, Step, Target,
    TriggerKind,
};
use crate::engine::snapshot::Layout;
use crate::model::relay::{RelayCommand, ReplayFrom};
use crate::model::{DeviceIdx, FeedIdx, ProblemKind, Status, Subject, VenueIdx};

/// The incident a run is attached to, as resolution sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    /// Its id (`4-17`); empty for a dry-run on a key with no incident.
    pub incident: String,
    /// Its key (`device:STA-core-a`).
    pub key: String,
    /// Its kind.
    pub kind: ProblemKind,
    /// What it is about.
    pub subject: Subject,
    /// Its venue (none for a relay sink).
    pub venue: Option<VenueIdx>,
}

/// A target with its names looked up: ids that exist in the layout.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "of", content = "id")]
pub enum Resolved {
    /// A device.
    Device(String),
    /// A redundancy group.
    Group(String),
    /// A venue (code).
    Venue(String),
    /// A result feed.
    Feed(String),
    /// A relay sink.
    Sink(String),
}

impl Resolved {
    /// The id or code.
    pub fn id(&self) -> &str {
        match self {
            Resolved::Device(id)
            | Resolved::Group(id)
            | Resolved::Venue(id)
            | Resolved::Feed(id)
            | Resolved::Sink(id) => id,
        }
    }
}

impl fmt::Display for Resolved {
    /// `device STA-core-b`, `group STA-core`, `venue STA`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            Resolved::Device(_) => "device",
            Resolved::Group(_) => "group",
            Resolved::Venue(_) => "venue",
            Resolved::Feed(_) => "feed",
            Resolved::Sink(_) => "sink",
        };
        write!(f, "{what} {}", self.id())
    }
}

/// A relay command as a step will send it. A replay "from 10m ago" is
/// turned into a time when the step starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayWork {
    /// The command (a replay's start is replaced when `ago` is set).
    pub command: RelayCommand,
    /// For a replay: start this long before the step starts.
    pub ago: Option<Duration>,
}

/// What one step will do for one incident, with everything looked up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "work")]
pub enum Work {
    /// Probe the target's devices now; expect one of these statuses.
    Check {
        /// What.
        target: Resolved,
        /// Expected.
        expect: Vec<Status>,
    },
    /// Until the target shows one of these statuses.
    Wait {
        /// What.
        target: Resolved,
        /// Waited for.
        until: Vec<Status>,
    },
    /// A person does it and answers `:done` or `:fail`.
    Manual,
    /// A duty manager answers `:approve` or `:reject`.
    Approve,
    /// Send this to the relay.
    Relay(RelayWork),
    /// Maintenance on a device, group or venue.
    Maintenance {
        /// Device id, group id or venue code.
        target: Resolved,
        /// How long.
        duration: Duration,
        /// Why.
        reason: String,
    },
    /// Notify the operators.
    Notify {
        /// Who to call.
        contact: String,
        /// What to say.
        text: String,
    },
    /// Write in the timeline.
    Note {
        /// The note.
        text: String,
    },
    /// Run this argv.
    Shell {
        /// Program and arguments, fields substituted.
        argv: Vec<String>,
    },
}

impl fmt::Display for Work {
    /// Exactly what it will do, in one line (what a dry-run prints).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let statuses = |s: &[Status]| s.iter().map(|s| s.word()).collect::<Vec<_>>().join(" or ");
        match self {
            Work::Check { target, expect } => {
                write!(f, "probe {target} now, expect {}", statuses(expect))
            }
            Work::Wait { target, until } => {
                write!(f, "wait until {target} is {}", statuses(until))
            }
            Work::Manual => f.write_str("a person does it and answers :done or :fail"),
            Work::Approve => f.write_str("a duty manager answers :approve or :reject"),
            Work::Relay(RelayWork { command, ago }) => match (command, ago) {
                (RelayCommand::Replay { sink, .. }, Some(ago)) => write!(
                    f,
                    "relay: replay sink {sink} from {} before the step starts",
                    humantime::format_duration(*ago)
                ),
                _ => write!(f, "relay: {command}"),
            },
            Work::Maintenance {
                target,
                duration,
                reason,
            } => write!(
                f,
                "maintenance on {target} for {}: {reason}",
                humantime::format_duration(*duration)
            ),
            Work::Notify { contact, text } => write!(f, "notify operators: call {contact}: {text}"),
            Work::Note { text } => write!(f, "note in the timeline: {text}"),
            Work::Shell { argv } => write!(f, "run {argv:?}"),
        }
    }
}

impl Context {
    /// The context of an incident key (`device:STA-ovr-a`, `group:STA-core`,
    /// `feed:STA-results`, `slo:commentators`, as `toc incidents` shows
    /// them), for a dry-run with no incident yet. The key may also begin
    /// with a kind's config name (`device_down:STA-ovr-a`); otherwise
    /// `kind` says it, or the first kind of the key's ladder is taken
    /// (device down, redundancy lost, feed stale, latency over its SLO).
    pub fn from_key(key: &str, kind: Option<ProblemKind>, layout: &Layout) -> Result<Self, String> {
        let (prefix, id) = key.split_once(':').ok_or_else(|| {
            format!("`{key}` is not an incident key: write it like device:STA-core-a, group:STA-core, feed:STA-results or slo:commentators")
        })?;
        let named = ProblemKind::ALL
            .into_iter()
            .find(|k| k.config_name() == prefix);
        let ladder = match (prefix, named) {
            ("device", _) => 0,
            ("group", _) => 1,
            ("feed", _) => 2,
            ("slo", _) => 3,
            (_, Some(k)) => k.ladder(),
            _ => {
                return Err(format!(
                    "`{key}` is not an incident key: it begins with `{prefix}`, not device, group, feed or slo (or a kind like device_down)"
                ));
            }
        };
        let kind = match (named, kind) {
            (Some(named), Some(given)) if named != given => {
                return Err(format!(
                    "the key says {} but the kind given is {}",
                    named.config_name(),
                    given.config_name()
                ));
            }
            (Some(k), _) | (None, Some(k)) => k,
            (None, None) => first_of_ladder(ladder),
        };
        if kind.ladder() != ladder {
            return Err(format!(
                "a {} incident is not about a {}",
                kind.config_name(),
                ladder_word(ladder)
            ));
        }
        let unknown = |what: &str| format!("no {what} `{id}` in the venues file");
        let (subject, venue) = match ladder {
            0 => {
                let d = layout.device(id).ok_or_else(|| unknown("device"))?;
                (Subject::Device(d), layout.device_info(d).map(|i| i.venue))
            }
            1 => {
                let g = layout
                    .group(id)
                    .ok_or_else(|| unknown("redundancy group"))?;
                (Subject::Group(g), layout.group_info(g).map(|i| i.venue))
            }
            2 => {
                let f = layout.feed(id).ok_or_else(|| unknown("result feed"))?;
                (Subject::Feed(f), layout.feeds.get(f.0).map(|i| i.venue))
            }
            _ => {
                let s = layout.sink(id).ok_or_else(|| unknown("relay sink"))?;
                (Subject::Sink(s), None)
            }
        };
        Ok(Context {
            incident: String::new(),
            key: format!("{}:{id}", ladder_prefix(ladder)),
            kind,
            subject,
            venue,
        })
    }
}

fn first_of_ladder(ladder: u8) -> ProblemKind {
    match ladder {
        0 => ProblemKind::DeviceDown,
        1 => ProblemKind::RedundancyLost,
        2 => ProblemKind::FeedStale,
        _ => ProblemKind::LatencySlo,
    }
}

fn ladder_prefix(ladder: u8) -> &'static str {
    match ladder {
        0 => "device",
        1 => "group",
        2 => "feed",
        _ => "slo",
    }
}

fn ladder_word(ladder: u8) -> &'static str {
    match ladder {
        0 => "device",
        1 => "redundancy group",
        2 => "result feed",
        _ => "relay sink",
    }
}

/// The id of the incident's subject in the layout (`?` when the layout
/// does not have it: a stale context).
fn subject_id(subject: Subject, layout: &Layout) -> Option<&str> {
    match subject {
        Subject::Device(d) => layout.devices.get(d.0).map(|i| i.id.as_str()),
        Subject::Group(g) => layout.groups.get(g.0).map(|i| i.id.as_str()),
        Subject::Feed(f) => layout.feeds.get(f.0).map(|i| i.id.as_str()),
        Subject::Sink(s) => layout
            .relay
            .as_ref()
            .and_then(|r| r.sinks.get(s.0))
            .map(|i| i.id.as_str()),
    }
}

/// The incident in words: `the incident STA-core-a (device_down)`.
fn incident_words(ctx: &Context, layout: &Layout) -> String {
    let id = subject_id(ctx.subject, layout).unwrap_or(&ctx.key);
    format!("the incident {id} ({})", ctx.kind.config_name())
}

fn device_id(layout: &Layout, d: DeviceIdx) -> Option<String> {
    layout.devices.get(d.0).map(|i| i.id.clone())
}

/// The feed of an incident: its own, the one its device serves, or the
/// single feed its group's members serve.
fn feed_of(ctx: &Context, layout: &Layout) -> Result<FeedIdx, String> {
    let served_by = |devices: &[DeviceIdx]| -> Vec<FeedIdx> {
        (0..layout.feeds.len())
            .map(FeedIdx)
            .filter(|f| {
                layout.feeds.get(f.0).is_some_and(|info| {
                    devices.contains(&info.primary) || devices.contains(&info.backup)
                })
            })
            .collect()
    };
    let feeds = match ctx.subject {
        Subject::Feed(f) => return Ok(f),
        Subject::Device(d) => served_by(&[d]),
        Subject::Group(g) => layout
            .group_info(g)
            .map(|i| served_by(&i.members))
            .unwrap_or_default(),
        Subject::Sink(_) => Vec::new(),
    };
    match feeds.as_slice() {
        [f] => Ok(*f),
        [] => Err(format!("{} has no feed", incident_words(ctx, layout))),
        many => Err(format!(
            "{} has more than one feed ({}): name the feed",
            incident_words(ctx, layout),
            many.iter()
                .filter_map(|f| layout.feeds.get(f.0).map(|i| i.id.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The value of a field for an incident, or why it has none.
pub fn field(field: Field, ctx: &Context, layout: &Layout) -> Result<String, String> {
    let none = || format!("{} has no {}", incident_words(ctx, layout), field.name());
    let found = match field {
        Field::Subject => subject_id(ctx.subject, layout).map(str::to_owned),
        Field::Device => match ctx.subject {
            Subject::Device(d) => device_id(layout, d),
            Subject::Feed(f) => layout
                .feeds
                .get(f.0)
                .and_then(|i| device_id(layout, i.primary)),
            _ => None,
        },
        Field::Group => match ctx.subject {
            Subject::Group(g) => layout.group_info(g).map(|i| i.id.clone()),
            Subject::Device(d) => layout
                .device_info(d)
                .and_then(|i| i.group)
                .and_then(|g| layout.group_info(g))
                .map(|i| i.id.clone()),
            _ => None,
        },
        Field::Venue => venue_of(ctx, layout)
            .and_then(|v| layout.venue_info(v))
            .map(|v| v.code.clone()),
        Field::Feed => {
            let f = feed_of(ctx, layout)?;
            layout.feeds.get(f.0).map(|i| i.id.clone())
        }
        Field::Primary | Field::Backup => {
            let f = feed_of(ctx, layout)?;
            layout.feeds.get(f.0).and_then(|i| {
                device_id(
                    layout,
                    if field == Field::Primary {
                        i.primary
                    } else {
                        i.backup
                    },
                )
            })
        }
        Field::Sink => match ctx.subject {
            Subject::Sink(_) => subject_id(ctx.subject, layout).map(str::to_owned),
            _ => None,
        },
        // A dry-run on a key has no incident yet: shown as the field.
        Field::Incident if ctx.incident.is_empty() => Some(field.to_string()),
        Field::Incident => Some(ctx.incident.clone()),
        Field::Key => Some(ctx.key.clone()),
        Field::Kind => Some(ctx.kind.config_name().to_owned()),
    };
    found.ok_or_else(none)
}

/// The incident's venue: as the context says, else its subject's.
fn venue_of(ctx: &Context, layout: &Layout) -> Option<VenueIdx> {
    ctx.venue.or(match ctx.subject {
        Subject::Device(d) => layout.device_info(d).map(|i| i.venue),
        Subject::Group(g) => layout.group_info(g).map(|i| i.venue),
        Subject::Feed(f) => layout.feeds.get(f.0).map(|i| i.venue),
        Subject::Sink(_) => None,
    })
}

/// A name of a step: the id as written or the field's value.
fn name(r: &Ref, ctx: &Context, layout: &Layout) -> Result<String, String> {
    match r {
        Ref::Id(id) => Ok(id.clone()),
        Ref::Field(f) => field(*f, ctx, layout),
    }
}

/// Whether a name exists in the layout, as this kind of thing.
fn known(what: &str, id: &str, found: bool) -> Result<(), String> {
    if found {
        Ok(())
    } else {
        Err(format!("no {what} `{id}` in the venues file"))
    }
}

fn sink_exists(id: &str, layout: &Layout) -> Result<String, String> {
    if layout.relay.is_none() {
        return Err(format!(
            "sink `{id}`: the venues file has no [relay] (no sinks)"
        ));
    }
    known("relay sink", id, layout.sink(id).is_some())?;
    Ok(id.to_owned())
}

/// A target with its names substituted and looked up.
fn target(t: &Target, ctx: &Context, layout: &Layout) -> Result<Resolved, String> {
    let subject = || {
        let id = subject_id(ctx.subject, layout)
            .map(str::to_owned)
            .ok_or_else(|| format!("{} is not in the venues file", ctx.key))?;
        Ok(match ctx.subject {
            Subject::Device(_) => Resolved::Device(id),
            Subject::Group(_) => Resolved::Group(id),
            Subject::Feed(_) => Resolved::Feed(id),
            Subject::Sink(_) => Resolved::Sink(id),
        })
    };
    match t {
        Target::Subject => subject(),
        Target::Device(r) => {
            let id = name(r, ctx, layout)?;
            known("device", &id, layout.device(&id).is_some())?;
            Ok(Resolved::Device(id))
        }
        Target::Group(r) => {
            let id = name(r, ctx, layout)?;
            known("redundancy group", &id, layout.group(&id).is_some())?;
            Ok(Resolved::Group(id))
        }
        Target::Venue(r) => {
            let id = name(r, ctx, layout)?;
            known("venue", &id, layout.venue(&id).is_some())?;
            Ok(Resolved::Venue(id))
        }
        Target::Feed(r) => {
            let id = name(r, ctx, layout)?;
            known("result feed", &id, layout.feed(&id).is_some())?;
            Ok(Resolved::Feed(id))
        }
        Target::Sink(r) => Ok(Resolved::Sink(sink_exists(&name(r, ctx, layout)?, layout)?)),
    }
}

/// A relay step's command for an incident.
fn relay(action: &RelayAction, ctx: &Context, layout: &Layout) -> Result<RelayWork, String> {
    let plain = |command| RelayWork { command, ago: None };
    Ok(match action {
        RelayAction::Source { feed, source } => {
            let feed = name(feed, ctx, layout)?;
            let info = layout
                .feed(&feed)
                .and_then(|f| layout.feeds.get(f.0))
                .ok_or_else(|| format!("no result feed `{feed}` in the venues file"))?;
            let primary = device_id(layout, info.primary).unwrap_or_default();
            let backup = device_id(layout, info.backup).unwrap_or_default();
            let source = match source {
                SourcePick::Backup => Some(backup),
                SourcePick::Primary => Some(primary),
                SourcePick::Both => None,
                SourcePick::Named(r) => {
                    let id = name(r, ctx, layout)?;
                    let relay_source = layout
                        .relay
                        .as_ref()
                        .is_some_and(|r| r.sources.iter().any(|s| s.id == id));
                    if id != primary && id != backup && !relay_source {
                        return Err(format!(
                            "`{id}` is not a source of feed {feed} (its sources: {primary}, {backup})"
                        ));
                    }
                    Some(id)
                }
            };
            plain(RelayCommand::Source { feed, source })
        }
        RelayAction::Pause { sink } => plain(RelayCommand::Pause {
            sink: sink_exists(&name(sink, ctx, layout)?, layout)?,
        }),
        RelayAction::Resume { sink } => plain(RelayCommand::Resume {
            sink: sink_exists(&name(sink, ctx, layout)?, layout)?,
        }),
        RelayAction::Route { route, sinks } => {
            let routes = layout.relay.as_ref().map(|r| r.routes.as_slice());
            known(
                "relay route",
                route,
                routes.is_some_and(|r| r.iter().any(|id| id == route)),
            )?;
            let sinks = sinks
                .iter()
                .map(|s| sink_exists(s, layout))
                .collect::<Result<Vec<_>, _>>()?;
            plain(RelayCommand::Route {
                route: route.clone(),
                sinks,
            })
        }
        RelayAction::Replay { sink, from } => {
            let sink = sink_exists(&name(sink, ctx, layout)?, layout)?;
            let (from, ago) = match from {
                ReplayStart::Seq(n) => (ReplayFrom::Seq(*n), None),
                ReplayStart::Ago(d) => (ReplayFrom::Seq(0), Some(*d)),
            };
            RelayWork {
                command: RelayCommand::Replay { sink, from },
                ago,
            }
        }
    })
}

/// Text with every known `{field}` replaced by its value (a note's
/// words); an unknown `{name}` stays as written.
pub fn substitute(text: &str, ctx: &Context, layout: &Layout) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let close = after.find('}').map(|c| c + 1);
        match close.and_then(|c| Field::parse(&after[..c]).map(|f| (c, f))) {
            Some((c, f)) => {
                out.push_str(&field(f, ctx, layout)?);
                rest = &after[c..];
            }
            None => {
                out.push('{');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// One step's work for an incident, or why it cannot be done (a field
/// the incident has none of, a name not in the layout).
pub fn resolve_step(step: &Step, ctx: &Context, layout: &Layout) -> Result<Work, String> {
    Ok(match &step.action {
        Action::Check { target: t, expect } => Work::Check {
            target: target(t, ctx, layout)?,
            expect: expect.clone(),
        },
        Action::Wait { target: t, until } => Work::Wait {
            target: target(t, ctx, layout)?,
            until: until.clone(),
        },
        Action::Manual => Work::Manual,
        Action::Approve => Work::Approve,
        Action::Relay(action) => Work::Relay(relay(action, ctx, layout)?),
        Action::Maintenance {
            target: t,
            duration,
            reason,
        } => {
            let target = target(t, ctx, layout)?;
            if matches!(target, Resolved::Feed(_) | Resolved::Sink(_)) {
                return Err(format!(
                    "maintenance is for a device, a group or a venue, not {target}"
                ));
            }
            Work::Maintenance {
                target,
                duration: *duration,
                reason: reason.clone(),
            }
        }
        Action::Notify { contact } => Work::Notify {
            contact: contact.clone(),
            text: step.instructions.clone(),
        },
        Action::Note { text } => Work::Note {
            text: substitute(text, ctx, layout)?,
        },
        Action::Shell { argv } => Work::Shell {
            argv: argv
                .iter()
                .map(|a| match a {
                    Arg::Text(t) => Ok(t.clone()),
                    Arg::Field(f) => field(*f, ctx, layout),
                })
                .collect::<Result<_, _>>()?,
        },
    })
}

/// Every step's work, in order, or the first step that cannot be
/// resolved (`step ID: why`).
pub fn resolve(book: &Playbook, ctx: &Context, layout: &Layout) -> Result<Vec<Work>, String> {
    book.steps
        .iter()
        .map(|s| resolve_step(s, ctx, layout).map_err(|e| format!("step {}: {e}", s.id)))
        .collect()
}

/// The roles of an incident's subject: a device's, a group's members',
/// a feed's results servers'; none for a sink.
fn roles<'a>(ctx: &Context, layout: &'a Layout) -> Vec<&'a str> {
    let role = |d: DeviceIdx| layout.device_info(d).map(|i| i.role.as_str());
    match ctx.subject {
        Subject::Device(d) => role(d).into_iter().collect(),
        Subject::Group(g) => layout
            .group_info(g)
            .map(|i| i.members.iter().filter_map(|&m| role(m)).collect())
            .unwrap_or_default(),
        Subject::Feed(f) => layout
            .feeds
            .get(f.0)
            .map(|i| {
                [role(i.primary), role(i.backup)]
                    .into_iter()
                    .flatten()
                    .collect()
            })
            .unwrap_or_default(),
        Subject::Sink(_) => Vec::new(),
    }
}

/// How well a playbook matches an incident: `None` when it does not
/// (kind, role, venue or feed differ; a manual playbook never matches);
/// otherwise higher is more specific (best first in the console):
/// 1, plus one for each of role, venue and feed the trigger names.
pub fn matches(book: &Playbook, ctx: &Context, layout: &Layout) -> Option<u32> {
    let trigger = &book.trigger;
    if trigger.kind != TriggerKind::Problem(ctx.kind) {
        return None;
    }
    let mut score = 1;
    if let Some(role) = &trigger.role {
        if !roles(ctx, layout).contains(&role.as_str()) {
            return None;
        }
        score += 1;
    }
    if let Some(venue) = &trigger.venue {
        if field(Field::Venue, ctx, layout).ok().as_ref() != Some(venue) {
            return None;
        }
        score += 1;
    }
    if let Some(feed) = &trigger.feed {
        if field(Field::Feed, ctx, layout).ok().as_ref() != Some(feed) {
            return None;
        }
        score += 1;
    }
    Some(score)
}

/// The playbooks that match an incident, best first (ties in the order
/// given), each with its score.
pub fn matching<'a>(
    books: impl IntoIterator<Item = &'a Playbook>,
    ctx: &Context,
    layout: &Layout,
) -> Vec<(&'a Playbook, u32)> {
    let mut found: Vec<(&Playbook, u32)> = books
        .into_iter()
        .filter_map(|b| matches(b, ctx, layout).map(|s| (b, s)))
        .collect();
    found.sort_by(|a, b| b.1.cmp(&a.1));
    found
}

/// What a step does, with its names as written (a dry-run with no
/// incident): `probe {subject} now, expect OK`, `relay: feed {feed}:
/// take the backup source only`, `run ["ping", "{device}"]`.
pub fn outline(step: &Step) -> String {
    let statuses = |s: &[Status]| s.iter().map(|s| s.word()).collect::<Vec<_>>().join(" or ");
    match &step.action {
        Action::Check { target, expect } => {
            format!("probe {target} now, expect {}", statuses(expect))
        }
        Action::Wait { target, until } => {
            format!("wait until {target} is {}", statuses(until))
        }
        Action::Manual => Work::Manual.to_string(),
        Action::Approve => Work::Approve.to_string(),
        Action::Relay(action) => format!("relay: {}", relay_outline(action)),
        Action::Maintenance {
            target,
            duration,
            reason,
        } => format!(
            "maintenance on {target} for {}: {reason}",
            humantime::format_duration(*duration)
        ),
        Action::Notify { contact } => Work::Notify {
            contact: contact.clone(),
            text: step.instructions.clone(),
        }
        .to_string(),
        Action::Note { text } => Work::Note { text: text.clone() }.to_string(),
        Action::Shell { argv } => {
            let argv: Vec<String> = argv
                .iter()
                .map(|a| match a {
                    Arg::Text(t) => t.clone(),
                    Arg::Field(f) => f.to_string(),
                })
                .collect();
            format!("run {argv:?}")
        }
    }
}

fn relay_outline(action: &RelayAction) -> String {
    match action {
        RelayAction::Source { feed, source } => match source {
            SourcePick::Backup => format!("feed {feed}: take its backup source only"),
            SourcePick::Primary => format!("feed {feed}: take its primary source only"),
            SourcePick::Both => format!("feed {feed}: accept both sources"),
            SourcePick::Named(s) => format!("feed {feed}: take {s} only"),
        },
        RelayAction::Pause { sink } => format!("pause sink {sink}"),
        RelayAction::Resume { sink } => format!("resume sink {sink}"),
        RelayAction::Route { route, sinks } => format!("route {route} to {}", sinks.join(", ")),
        RelayAction::Replay { sink, from } => match from {
            ReplayStart::Seq(n) => format!("replay sink {sink} from #{n}"),
            ReplayStart::Ago(d) => format!(
                "replay sink {sink} from {} before the step starts",
                humantime::format_duration(*d)
            ),
        },
    }
}

/// What a dry-run marks on a step that needs a duty manager first.
pub const NEEDS_APPROVAL: &str = "(needs a duty manager's approval)";

/// A dry-run's lines, one a step, numbered from 1: `3. switch-feed:
/// relay: feed STA-results: take STA-ovr-b only (needs a duty manager's
/// approval)`. `works` is each step's resolution for an incident, in the
/// playbook's order (a step that cannot be resolved says why); `None`
/// shows the steps as written ([`outline`]). The console and `toc
/// playbook dry-run` print the same.
pub fn dry_run_lines(book: &Playbook, works: Option<&[Result<Work, String>]>) -> Vec<String> {
    book.steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let mut what = match works.and_then(|w| w.get(i)) {
                Some(Ok(work)) => work.to_string(),
                Some(Err(why)) => format!("cannot be resolved: {why}"),
                None => outline(step),
            };
            if step.kind().answered_by_person() && !step.title.is_empty() {
                what = format!("{what}: {}", step.title);
            }
            let danger = if step.dangerous {
                format!(" {NEEDS_APPROVAL}")
            } else {
                String::new()
            };
            format!("{}. {}: {what}{danger}", i + 1, step.id)
        })
        .collect()
}

/// Each step's resolution for an incident, in order (what
/// [`dry_run_lines`] takes).
pub fn resolve_each(book: &Playbook, ctx: &Context, layout: &Layout) -> Vec<Result<Work, String>> {
    book.steps
        .iter()
        .map(|s| resolve_step(s, ctx, layout))
        .collect()
}
