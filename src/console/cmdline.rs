//! The `:` command line: what the operator types, read into a value.
//! Names (venue codes, device ids) are checked against the snapshot by
//! the app, not here; [`with_known_ids`] writes them as the inventory
//! does before a command is sent.

use std::time::Duration;

use crate::engine::command::MAX_FAULT_FOR;
use crate::engine::{Command, DeviceCommand, FaultKind, IncidentCommand, SimCommand, Snapshot};
use crate::model::find_id;

/// A command line, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// `:venue STA`: open a venue (code as typed).
    Venue(String),
    /// `:device STA-core-a`: open a device (id as typed).
    Device(String),
    /// `:incidents`: focus the open incidents.
    Incidents,
    /// `:audit`: the newest commands and what came of them.
    Audit,
    /// `:relay`: the result relay.
    Relay,
    /// `:wall`: back to the wall.
    Wall,
    /// `:host`: focus the TOC host pane.
    Host,
    /// `:events`: focus the event ticker.
    Events,
    /// `:help`: show the help.
    Help,
    /// `:q`, `:quit`: leave the console.
    Quit,
    /// A command for the engine (`:check`, `:maint`, `:fault`, `:clear`).
    Send(Command),
    /// A playbook command: the app says which run, step or incident.
    Playbook(super::playbook_line::PlaybookLine),
}

/// One command of the command line, as the help lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// How it is typed (`venue CODE`).
    pub line: &'static str,
    /// What it does.
    pub what: &'static str,
    /// Only in a demo (the simulator's commands).
    pub demo_only: bool,
}

impl Usage {
    /// The command's name (`venue`).
    pub fn name(&self) -> &'static str {
        self.line.split_whitespace().next().unwrap_or(self.line)
    }
}

/// Every command, as the help and the error for an unknown one list them.
pub const USAGE: &[Usage] = &[
    Usage {
        line: "venue CODE",
        what: "open a venue",
        demo_only: false,
    },
    Usage {
        line: "device ID",
        what: "open a device",
        demo_only: false,
    },
    Usage {
        line: "incidents",
        what: "the open incidents",
        demo_only: false,
    },
    Usage {
        line: "audit",
        what: "the newest commands, applied or refused: who, role, what, outcome",
        demo_only: false,
    },
    Usage {
        line: "wall",
        what: "back to the wall",
        demo_only: false,
    },
    Usage {
        line: "host",
        what: "the TOC host",
        demo_only: false,
    },
    Usage {
        line: "events",
        what: "the event ticker",
        demo_only: false,
    },
    Usage {
        line: "help",
        what: "the keys",
        demo_only: false,
    },
    Usage {
        line: "quit",
        what: "leave the console (also :q)",
        demo_only: false,
    },
    Usage {
        line: "relay",
        what: "the result relay: sources, sinks, latency, recent messages",
        demo_only: false,
    },
    Usage {
        line: "pause SINK",
        what: "stop delivering to a relay sink (its backlog grows on disk)",
        demo_only: false,
    },
    Usage {
        line: "resume SINK",
        what: "deliver to a paused sink again, from where it stopped",
        demo_only: false,
    },
    Usage {
        line: "replay SINK FROM",
        what: "deliver again from #SEQ, a time (2024-08-01T10:00:00Z) or AGO (10m)",
        demo_only: false,
    },
    Usage {
        line: "source FEED SOURCE|both",
        what: "take a feed from one source only, or from both",
        demo_only: false,
    },
    Usage {
        line: "route ROUTE SINK[,SINK…]",
        what: "send a relay route's messages to other sinks",
        demo_only: false,
    },
    Usage {
        line: "check TARGET",
        what: "check a device, or every device of a venue, now",
        demo_only: false,
    },
    Usage {
        line: "maint TARGET DURATION REASON",
        what: "maintenance: no incident, no alarm (2h, 30m)",
        demo_only: false,
    },
    Usage {
        line: "maint off TARGET",
        what: "end maintenance set from the console",
        demo_only: false,
    },
    Usage {
        line: "ack INCIDENT [for DURATION] COMMENT",
        what: "acknowledge an incident (open again after DURATION)",
        demo_only: false,
    },
    Usage {
        line: "note INCIDENT TEXT",
        what: "add a note to an incident's timeline",
        demo_only: false,
    },
    Usage {
        line: "resolve INCIDENT",
        what: "resolve an incident whose condition is clear",
        demo_only: false,
    },
    Usage {
        line: "run PLAYBOOK [on INCIDENT]",
        what: "run a playbook on the incident shown or selected (asks first; a number picks from its list)",
        demo_only: false,
    },
    Usage {
        line: "dry-run PLAYBOOK [on INCIDENT]",
        what: "show what each step would do, doing nothing",
        demo_only: false,
    },
    Usage {
        line: "runs",
        what: "every playbook run: incident, playbook, state, current step",
        demo_only: false,
    },
    Usage {
        line: "done [COMMENT]",
        what: "the manual step the run waits on is done",
        demo_only: false,
    },
    Usage {
        line: "fail COMMENT",
        what: "the manual step the run waits on failed, and why",
        demo_only: false,
    },
    Usage {
        line: "approve",
        what: "approve the step the run waits on (duty managers)",
        demo_only: false,
    },
    Usage {
        line: "reject REASON",
        what: "reject the step the run waits on, and why (duty managers)",
        demo_only: false,
    },
    Usage {
        line: "abort",
        what: "stop the run for good (asks first)",
        demo_only: false,
    },
    Usage {
        line: "pause-run",
        what: "pause the run: no step starts or is judged",
        demo_only: false,
    },
    Usage {
        line: "resume-run",
        what: "let a paused run go on",
        demo_only: false,
    },
    Usage {
        line: "retry",
        what: "start the run's interrupted or failed step again",
        demo_only: false,
    },
    Usage {
        line: "skip",
        what: "go past the run's current step without doing it",
        demo_only: false,
    },
    Usage {
        line: "fault TARGET KIND [VALUE] [for DURATION]",
        what: "inject a fault (cpu-high 95 for 30s)",
        demo_only: true,
    },
    Usage {
        line: "clear [TARGET]",
        what: "clear faults (all without a target)",
        demo_only: true,
    },
];

/// What the arguments of the commands are, as the help lists them.
pub const ARGUMENTS: &[(&str, &str)] = &[
    ("CODE", "a venue code (STA); any case"),
    ("ID, DEVICE", "a device id (STA-core-a); any case"),
    (
        "TARGET",
        "a device id or a venue code (for :maint, a redundancy group too)",
    ),
    (
        "KIND",
        "down, slow [DELAY], if-down [INTERFACE], flapping [PHASE], auth-fail, cpu-high [PERCENT], reboot; uplink-down takes a venue",
    ),
    ("DURATION", "30s, 5m, 1h, 1m 30s"),
    (
        "INCIDENT",
        "an incident id (4-17), key (device:STA-core-a) or its device or group id",
    ),
];

/// Reads a duration as people write it; the error says how to write one.
fn read_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let human = || format!("`{text}` is not a duration; write it like 30s, 5m or 1h");
    if text.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "`{text}` needs a unit; write it like {text}s, {text}m or {text}h"
        ));
    }
    let d = humantime::parse_duration(text).map_err(|_| human())?;
    if d > MAX_FAULT_FOR {
        return Err(format!("`{text}` is too long: at most 30 days"));
    }
    Ok(d)
}

/// Command names, for completion.
pub fn names(demo: bool) -> Vec<&'static str> {
    USAGE
        .iter()
        .filter(|u| demo || !u.demo_only)
        .map(Usage::name)
        .fold(Vec::new(), |mut names, n| {
            if !names.contains(&n) {
                names.push(n);
            }
            names
        })
}

/// The least role that may send the command typed as `line` (`ack …`):
/// the help lists a command only for that role and above.
pub fn needs(line: &str) -> crate::engine::Role {
    use crate::engine::Role;
    match line.split_whitespace().next().unwrap_or(line) {
        "ack" | "resolve" => Role::DutyManager,
        "maint" | "fault" | "clear" => Role::Operator,
        name if super::relay_line::is_reroute(name) => Role::Operator,
        "check" | "note" => Role::Technician,
        name => super::playbook_line::needs(name).unwrap_or(Role::Viewer),
    }
}

fn usage(name: &str) -> String {
    let line = USAGE
        .iter()
        .find(|u| u.name() == name)
        .map_or(name, |u| u.line);
    format!("usage: :{line}")
}

fn one_arg(name: &str, args: &[&str]) -> Result<String, String> {
    match args {
        [arg] => Ok((*arg).to_owned()),
        _ => Err(usage(name)),
    }
}

fn no_arg(name: &str, args: &[&str], line: Line) -> Result<Line, String> {
    if args.is_empty() {
        Ok(line)
    } else {
        Err(format!("`{name}` takes no argument"))
    }
}

fn demo_only(name: &str, demo: bool) -> Result<(), String> {
    if demo {
        Ok(())
    } else {
        Err(format!(
            "`{name}` works only in a demo (toc demo): there is no simulator to fault here"
        ))
    }
}

fn fault(args: &[&str]) -> Result<Command, String> {
    let (target, kind, rest) = match args {
        [target, kind, rest @ ..] => (*target, *kind, rest),
        _ => return Err(usage("fault")),
    };
    let (value, duration) = match rest.iter().position(|w| w.eq_ignore_ascii_case("for")) {
        Some(at) => {
            let text = rest[at + 1..].join(" ");
            if text.is_empty() {
                return Err("`for` needs a duration, e.g. `for 30s`".to_owned());
            }
            let duration = read_duration(&text)?;
            if duration.is_zero() {
                return Err("the duration must be above zero".to_owned());
            }
            (&rest[..at], Some(duration))
        }
        None => (rest, None::<Duration>),
    };
    let value = match value {
        [] => None,
        [v] => Some((*v).to_owned()),
        _ => return Err(format!("one value at most; {}", usage("fault"))),
    };
    if let Some(v) = value.as_deref()
        && matches!(kind, "slow" | "flapping")
    {
        read_duration(v)?;
    }
    let fault = FaultKind::parse(kind, value.as_deref())?;
    Ok(Command::fault(target, fault, duration))
}

/// `text` after its first `n` words, as typed (spaces inside kept).
fn rest(text: &str, n: usize) -> &str {
    let mut rest = text.trim_start();
    for _ in 0..n {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = rest[end..].trim_start();
    }
    rest.trim_end()
}

/// `:ack INCIDENT [for DURATION] COMMENT`.
fn ack(text: &str, args: &[&str]) -> Result<Command, String> {
    let Some(which) = args.first() else {
        return Err(usage("ack"));
    };
    let (expires, skip) = match args.get(1) {
        Some(w) if w.eq_ignore_ascii_case("for") => {
            let d = args.get(2).ok_or_else(|| usage("ack"))?;
            (Some(read_duration(d)?), 4)
        }
        _ => (None, 2),
    };
    let comment = rest(text, skip);
    if comment.is_empty() {
        return Err(format!("say why in a comment; {}", usage("ack")));
    }
    Ok(Command::Incident(IncidentCommand::Ack {
        which: (*which).to_owned(),
        comment: comment.to_owned(),
        expires,
    }))
}

/// `:maint TARGET DURATION REASON` or `:maint off TARGET`.
fn maint(text: &str, args: &[&str]) -> Result<Command, String> {
    const USAGE: &str = "usage: :maint TARGET DURATION REASON, or :maint off TARGET";
    match args {
        [off, target] if off.eq_ignore_ascii_case("off") => Ok(Command::end_maintenance(*target)),
        [target, off] if off.eq_ignore_ascii_case("off") => Ok(Command::end_maintenance(*target)),
        [target, duration, _, ..] => {
            let duration = read_duration(duration)?;
            if duration.is_zero() {
                return Err("the duration must be above zero, like `2h`".to_owned());
            }
            Ok(Command::maintenance(*target, duration, rest(text, 3)))
        }
        [_, _] => Err(format!("say why; {USAGE}")),
        _ => Err(USAGE.to_owned()),
    }
}

/// Reads a command line (without the leading `:`). `demo` allows the
/// simulator commands.
pub fn parse(text: &str, demo: bool) -> Result<Line, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let Some((&name, args)) = words.split_first() else {
        return Err("type a command; :help lists the keys".to_owned());
    };
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "venue" | "v" => one_arg("venue", args).map(Line::Venue),
        "device" | "d" => one_arg("device", args).map(Line::Device),
        "incidents" | "i" => no_arg(name, args, Line::Incidents),
        "audit" => no_arg(name, args, Line::Audit),
        "relay" => no_arg(name, args, Line::Relay),
        "wall" | "w" => no_arg(name, args, Line::Wall),
        "host" => no_arg(name, args, Line::Host),
        "events" | "ticker" => no_arg(name, args, Line::Events),
        "help" | "h" => no_arg(name, args, Line::Help),
        "q" | "quit" | "q!" => no_arg(name, args, Line::Quit),
        "check" => one_arg("check", args).map(|t| Line::Send(Command::check_now(t))),
        "maint" | "maintenance" => maint(text, args).map(Line::Send),
        "ack" | "acknowledge" => ack(text, args).map(Line::Send),
        "note" => match args {
            [which, _, ..] => Ok(Line::Send(Command::Incident(IncidentCommand::Note {
                which: (*which).to_owned(),
                text: rest(text, 2).to_owned(),
            }))),
            _ => Err(usage("note")),
        },
        "resolve" => one_arg("resolve", args)
            .map(|which| Line::Send(Command::Incident(IncidentCommand::Resolve { which }))),
        "fault" => {
            demo_only("fault", demo)?;
            fault(args).map(Line::Send)
        }
        "clear" => {
            demo_only("clear", demo)?;
            match args {
                [] => Ok(Line::Send(Command::clear_faults(None))),
                [target] => Ok(Line::Send(Command::clear_faults(Some(
                    (*target).to_owned(),
                )))),
                _ => Err(usage("clear")),
            }
        }
        other => {
            if let Some(read) = super::playbook_line::parse(other, args, rest(text, 1)) {
                return read.map(Line::Playbook);
            }
            if let Some(read) = super::relay_line::parse(other, args, std::time::SystemTime::now())
            {
                return read.map(Line::Send);
            }
            Err(format!(
                "unknown command `{name}`; try {}",
                names(demo)
                    .iter()
                    .map(|n| format!(":{n}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ))
        }
    }
}

/// `typed` as the inventory writes it: the device id, group id or venue
/// code it names, matched as `:device` and `toc probe` match
/// ([`find_id`]: exactly, else ignoring case; devices before groups
/// before venues). Left as typed when it names nothing, for the engine to
/// refuse.
fn known_id(snap: &Snapshot, typed: String) -> String {
    let devices = snap.layout.devices.iter().map(|d| d.id.as_str());
    let groups = snap.layout.groups.iter().map(|g| g.id.as_str());
    let venues = snap.layout.venues.iter().map(|v| v.code.as_str());
    let all = devices.chain(groups).chain(venues);
    find_id(all.clone(), &typed)
        .and_then(|i| all.clone().nth(i))
        .map_or(typed, str::to_owned)
}

/// `command` with its target written as the inventory writes it, so
/// `:fault sta-core-a down` and `:check sta` reach `STA-core-a` and `STA`
/// as `:device sta-core-a` does.
pub fn with_known_ids(command: Command, snap: &Snapshot) -> Command {
    match command {
        Command::Device(DeviceCommand::CheckNow { target }) => {
            Command::check_now(known_id(snap, target))
        }
        Command::Device(DeviceCommand::Maintenance {
            target,
            on,
            duration,
            reason,
        }) => Command::Device(DeviceCommand::Maintenance {
            target: known_id(snap, target),
            on,
            duration,
            reason,
        }),
        Command::Incident(_) | Command::Relay(_) | Command::Playbook(_) | Command::Session(_) => {
            command
        }
        Command::Sim(SimCommand::Fault(mut spec)) => {
            spec.target = known_id(snap, spec.target);
            Command::Sim(SimCommand::Fault(spec))
        }
        Command::Sim(SimCommand::Clear { target }) => {
            Command::clear_faults(target.map(|t| known_id(snap, t)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn fault_cmd(target: &str, kind: &str, value: Option<&str>, secs: Option<u64>) -> Line {
        let fault = FaultKind::parse(kind, value).expect("valid fault");
        Line::Send(Command::fault(target, fault, secs.map(Duration::from_secs)))
    }

    #[rstest]
    #[case::venue("venue STA", Line::Venue("STA".into()))]
    #[case::venue_lower("venue sta", Line::Venue("sta".into()))]
    #[case::venue_short("v pdp", Line::Venue("pdp".into()))]
    #[case::venue_spaces("  venue   STA  ", Line::Venue("STA".into()))]
    #[case::device("device STA-core-a", Line::Device("STA-core-a".into()))]
    #[case::incidents("incidents", Line::Incidents)]
    #[case::wall("WALL", Line::Wall)]
    #[case::host("host", Line::Host)]
    #[case::events("events", Line::Events)]
    #[case::help("help", Line::Help)]
    #[case::q("q", Line::Quit)]
    #[case::quit("quit", Line::Quit)]
    #[case::check("check STA-core-a", Line::Send(Command::check_now("STA-core-a")))]
    #[case::ack(
        "ack 4-17 on it, fibre team called",
        Line::Send(Command::Incident(IncidentCommand::Ack {
            which: "4-17".into(),
            comment: "on it, fibre team called".into(),
            expires: None,
        }))
    )]
    #[case::ack_for(
        "ACK STA-core-a for 2h  waiting for  the vendor",
        Line::Send(Command::Incident(IncidentCommand::Ack {
            which: "STA-core-a".into(),
            comment: "waiting for  the vendor".into(),
            expires: Some(Duration::from_secs(7200)),
        }))
    )]
    #[case::note(
        "note device:STA-core-a  fibre cut at gate C ",
        Line::Send(Command::Incident(IncidentCommand::Note {
            which: "device:STA-core-a".into(),
            text: "fibre cut at gate C".into(),
        }))
    )]
    #[case::resolve(
        "resolve 4-17",
        Line::Send(Command::Incident(IncidentCommand::Resolve { which: "4-17".into() }))
    )]
    #[case::maint_on(
        "maint STA-acc-01 2h  swap the  PSU ",
        Line::Send(Command::maintenance(
            "STA-acc-01",
            Duration::from_secs(7200),
            "swap the  PSU"
        ))
    )]
    #[case::maint_off(
        "maint OFF STA-acc-01",
        Line::Send(Command::end_maintenance("STA-acc-01"))
    )]
    #[case::maint_off_after("maint STA off", Line::Send(Command::end_maintenance("STA")))]
    #[case::fault_down("fault STA-core-a down", fault_cmd("STA-core-a", "down", None, None))]
    #[case::fault_uplink("fault STA uplink-down", fault_cmd("STA", "uplink-down", None, None))]
    #[case::fault_value_for(
        "fault STA-core-a cpu-high 95 for 30s",
        fault_cmd("STA-core-a", "cpu-high", Some("95"), Some(30))
    )]
    #[case::fault_for(
        "fault STA-core-a down for 2m",
        fault_cmd("STA-core-a", "down", None, Some(120))
    )]
    #[case::fault_for_two_words(
        "fault STA-core-a down for 1m 30s",
        fault_cmd("STA-core-a", "down", None, Some(90))
    )]
    #[case::clear_all("clear", Line::Send(Command::clear_faults(None)))]
    #[case::clear_one("clear STA", Line::Send(Command::clear_faults(Some("STA".into()))))]
    fn reads(#[case] text: &str, #[case] expected: Line) {
        assert_eq!(parse(text, true), Ok(expected));
    }

    #[rstest]
    #[case::empty("", "type a command")]
    #[case::unknown("venu STA", "unknown command `venu`; try :venue :device")]
    #[case::venue_no_code("venue", "usage: :venue CODE")]
    #[case::venue_two("venue STA PDP", "usage: :venue CODE")]
    #[case::device_none("device", "usage: :device ID")]
    #[case::wall_arg("wall STA", "`wall` takes no argument")]
    #[case::maint_no_reason("maint STA-acc-01 2h", "say why")]
    #[case::maint_bad_duration("maint STA-acc-01 soon because", "soon")]
    #[case::maint_alone("maint", "usage: :maint TARGET DURATION REASON")]
    #[case::fault_short("fault STA", "usage: :fault TARGET KIND")]
    #[case::fault_bad_for(
        "fault STA-core-a down for ever",
        "`ever` is not a duration; write it like 30s, 5m or 1h"
    )]
    #[case::fault_for_no_unit("fault STA-core-a down for 30", "`30` needs a unit")]
    #[case::fault_bad_slow(
        "fault STA-core-a slow fast",
        "`fast` is not a duration; write it like 30s, 5m or 1h"
    )]
    #[case::fault_empty_for("fault STA-core-a down for", "`for` needs a duration")]
    #[case::fault_zero("fault STA-core-a down for 0s", "above zero")]
    #[case::fault_values("fault STA-core-a if-down Te1 Te2", "one value at most")]
    #[case::clear_two("clear STA PDP", "usage: :clear [TARGET]")]
    #[case::check_none("check", "usage: :check TARGET")]
    #[case::ack_no_comment("ack 4-17", "say why in a comment")]
    #[case::ack_for_no_comment("ack 4-17 for 2h", "say why in a comment")]
    #[case::ack_bad_for("ack 4-17 for soon x", "not a duration")]
    #[case::note_no_text("note 4-17", "usage: :note INCIDENT TEXT")]
    #[case::resolve_two("resolve 4-17 now", "usage: :resolve INCIDENT")]
    #[case::fault_unknown("fault STA-core-a melt", "unknown fault `melt`")]
    #[case::fault_cpu("fault STA-core-a cpu-high 300", "0 to 100")]
    fn refuses(#[case] text: &str, #[case] message: &str) {
        let err = parse(text, true).expect_err("must fail");
        assert!(err.contains(message), "`{text}`: {err}");
    }

    #[test]
    fn simulator_commands_need_a_demo() {
        for text in ["fault STA-core-a down", "clear", "clear STA"] {
            let err = parse(text, false).expect_err("demo only");
            assert!(err.contains("only in a demo"), "{err}");
        }
        let err = parse("nope", false).expect_err("unknown");
        assert!(!err.contains(":fault"), "{err}");
        assert!(err.contains(":maint"), "{err}");
    }
}
