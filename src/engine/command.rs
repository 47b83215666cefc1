//! What users ask of the engine: [`Command`]s, grouped by subject, each
//! carried with the caller's [`Identity`], checked by
//! [`authorize`](super::auth::authorize) before it is applied, and
//! answered with a typed [`Done`] or a [`Refusal`]. Every type here is a
//! serde type: a remote console sends the same values over the wire.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What a user may do, from least to most (DESIGN.md, "Roles").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads everything, changes nothing.
    Viewer,
    /// Views and checks the venues in scope; writes notes.
    Technician,
    /// All venues, playbooks, reroutes, simulator faults in a demo.
    Operator,
    /// Everything, including acknowledging and resolving incidents.
    DutyManager,
}

impl Role {
    /// Every role, least first.
    pub const ALL: [Role; 4] = [
        Role::Viewer,
        Role::Technician,
        Role::Operator,
        Role::DutyManager,
    ];

    /// Lower-case name as in users.toml (`duty_manager`).
    pub const fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Technician => "technician",
            Role::Operator => "operator",
            Role::DutyManager => "duty_manager",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Who is asking. Fixed by whoever builds the
/// [`EngineHandle`](super::EngineHandle): the local wiring, or a server after
/// authentication; never chosen by the console.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Identity {
    /// User name.
    pub user: String,
    /// Their role.
    pub role: Role,
    /// Venue codes they may act on; empty means all venues.
    pub venues: Vec<String>,
}

impl Identity {
    /// The local user at this terminal, as a duty manager over every venue
    /// (the embedded default until users.toml exists).
    pub fn local() -> Self {
        let user = std::env::var("USER")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "local".to_owned());
        Identity {
            user,
            role: Role::DutyManager,
            venues: Vec::new(),
        }
    }

    /// Whether the identity covers every venue.
    pub fn all_venues(&self) -> bool {
        self.venues.is_empty()
    }
}

/// A fault the simulator of a `toc demo` can inject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum FaultKind {
    /// Silent on every protocol.
    Down,
    /// Answers after this delay.
    Slow(Duration),
    /// One interface (by name or ifIndex) or every interface oper-down.
    IfDown(Option<String>),
    /// Down and up in turn, this long each.
    Flapping(Duration),
    /// Refuses our credentials.
    AuthFail,
    /// CPU at this percent.
    CpuHigh(u8),
    /// Reboots now (sysUpTime starts again).
    Reboot,
    /// The venue's uplink is down: every device of the venue silent (the
    /// target is a venue code).
    UplinkDown,
    /// A results server posts broken ODF now and then (every fifth).
    Corrupt,
    /// A results server re-posts its recent messages in a burst.
    DupStorm,
}

/// Every fault name, as typed after `:fault` and in the simulator's
/// control API and scenario files.
pub const FAULT_KINDS: [&str; 10] = [
    "down",
    "slow",
    "if-down",
    "flapping",
    "auth-fail",
    "cpu-high",
    "reboot",
    "uplink-down",
    "corrupt",
    "dup-storm",
];

/// The default delay of `slow` without a value.
pub const DEFAULT_SLOW: Duration = Duration::from_millis(500);
/// The default phase of `flapping` without a value.
pub const DEFAULT_FLAP: Duration = Duration::from_secs(10);
/// The default load of `cpu-high` without a value.
pub const DEFAULT_CPU: u8 = 95;
/// The longest a fault may last (`for DURATION`): 30 days, as any
/// duration a person writes.
pub const MAX_FAULT_FOR: Duration = crate::config::value::MAX_DURATION;
/// The longest delay of `slow` and phase of `flapping`.
pub const MAX_FAULT_VALUE: Duration = Duration::from_secs(24 * 3600);

impl FaultKind {
    /// Reads a fault from its name and optional value: `slow` takes a
    /// delay (`"200ms"`, default 500ms), `flapping` a phase length
    /// (default 10s), `if-down` an interface name or ifIndex (default:
    /// every interface), `cpu-high` a percent (default 95); the others take
    /// no value. The error says what to write instead.
    pub fn parse(kind: &str, value: Option<&str>) -> Result<FaultKind, String> {
        let value = value.map(str::trim);
        let no_value = |f: FaultKind| match value {
            None => Ok(f),
            Some(v) => Err(format!("`{kind}` takes no value (got `{v}`); leave it out")),
        };
        let duration = |default: Duration| -> Result<Duration, String> {
            let Some(v) = value else {
                return Ok(default);
            };
            let d = crate::config::value::parse_duration(v)?;
            if d.is_zero() {
                return Err(format!(
                    "`{kind}` needs a duration above zero, like `200ms`"
                ));
            }
            if d > MAX_FAULT_VALUE {
                return Err(format!(
                    "`{kind}` takes at most {} (got `{v}`)",
                    humantime::format_duration(MAX_FAULT_VALUE)
                ));
            }
            Ok(d)
        };
        match kind {
            "down" => no_value(FaultKind::Down),
            "auth-fail" => no_value(FaultKind::AuthFail),
            "reboot" => no_value(FaultKind::Reboot),
            "uplink-down" => no_value(FaultKind::UplinkDown),
            "corrupt" => no_value(FaultKind::Corrupt),
            "dup-storm" => no_value(FaultKind::DupStorm),
            "slow" => Ok(FaultKind::Slow(duration(DEFAULT_SLOW)?)),
            "flapping" => Ok(FaultKind::Flapping(duration(DEFAULT_FLAP)?)),
            "if-down" => match value {
                None => Ok(FaultKind::IfDown(None)),
                Some("") => Err(
                    "`if-down` needs an interface name or ifIndex (like `Te0/0/1` or `2`), or no value for every interface"
                        .to_owned(),
                ),
                Some(v) => Ok(FaultKind::IfDown(Some(v.to_owned()))),
            },
            "cpu-high" => {
                let Some(v) = value else {
                    return Ok(FaultKind::CpuHigh(DEFAULT_CPU));
                };
                match v.trim_end_matches('%').trim().parse::<u8>() {
                    Ok(p) if p <= 100 => Ok(FaultKind::CpuHigh(p)),
                    _ => Err(format!(
                        "`cpu-high` takes a percent from 0 to 100, like `95` (got `{v}`)"
                    )),
                }
            }
            other => Err(format!(
                "unknown fault `{other}`; use one of: {}",
                FAULT_KINDS.join(", ")
            )),
        }
    }

    /// The fault's name (`down`, …, `reboot`, `uplink-down`).
    pub const fn name(&self) -> &'static str {
        match self {
            FaultKind::Down => "down",
            FaultKind::Slow(_) => "slow",
            FaultKind::IfDown(_) => "if-down",
            FaultKind::Flapping(_) => "flapping",
            FaultKind::AuthFail => "auth-fail",
            FaultKind::CpuHigh(_) => "cpu-high",
            FaultKind::Reboot => "reboot",
            FaultKind::UplinkDown => "uplink-down",
            FaultKind::Corrupt => "corrupt",
            FaultKind::DupStorm => "dup-storm",
        }
    }
}

impl fmt::Display for FaultKind {
    /// As typed: `down`, `slow 200ms`, `if-down Te1/0/1`, `cpu-high 95`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        match self {
            FaultKind::Slow(d) | FaultKind::Flapping(d) => {
                write!(f, " {}", humantime::format_duration(*d))
            }
            FaultKind::IfDown(Some(name)) => write!(f, " {name}"),
            FaultKind::CpuHigh(p) => write!(f, " {p}"),
            _ => Ok(()),
        }
    }
}

/// A simulator fault, as `:fault` asks for it (demo engines only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultSpec {
    /// Device id, or venue code for `uplink-down`.
    pub target: String,
    /// What to do to it.
    pub fault: FaultKind,
    /// How long it lasts; none = until cleared.
    pub duration: Option<Duration>,
}

/// Commands about devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum DeviceCommand {
    /// Put a device, a redundancy group or a venue in maintenance for a
    /// while, with a reason (`:maint TARGET DURATION REASON`), or take it
    /// out (`:maint off TARGET`).
    Maintenance {
        /// Device id, group id or venue code (records of toc before
        /// step 8 call it `device`).
        #[serde(alias = "device")]
        target: String,
        /// On or off.
        on: bool,
        /// How long, from now (on only; records of toc before step 8
        /// have none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration: Option<Duration>,
        /// Why (on only).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        reason: String,
    },
    /// Check a device, or every device of a venue, now instead of at its
    /// next slot.
    CheckNow {
        /// Device id or venue code.
        target: String,
    },
}

/// Commands to the simulator of a `toc demo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum SimCommand {
    /// Inject a fault.
    Fault(FaultSpec),
    /// Clear the faults of a target (a venue code clears the venue and all
    /// its devices), or every fault.
    Clear {
        /// Device id or venue code; none = every fault.
        target: Option<String>,
    },
}

/// Commands about incidents. `which` names an incident by id (`4-17`),
/// key (`device:STA-core-a`) or subject (`STA-core-a`, when it has one
/// open incident).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum IncidentCommand {
    /// Take it: it stops escalating; with `expires`, it is open again
    /// after that long.
    Ack {
        /// Which incident.
        which: String,
        /// Why, in words.
        comment: String,
        /// For how long; none = until it resolves.
        expires: Option<Duration>,
    },
    /// Add a note to its timeline.
    Note {
        /// Which incident.
        which: String,
        /// The note.
        text: String,
    },
    /// Resolve it by hand (only once its condition is clear).
    Resolve {
        /// Which incident.
        which: String,
    },
}

impl IncidentCommand {
    /// The incident it names.
    pub fn which(&self) -> &str {
        match self {
            IncidentCommand::Ack { which, .. }
            | IncidentCommand::Note { which, .. }
            | IncidentCommand::Resolve { which } => which,
        }
    }
}

/// Commands about playbook runs. `which` names an incident as for
/// [`IncidentCommand`]; `run` names a run (`4-17/1`) or an incident
/// whose run it is (its newest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum PlaybookCommand {
    /// Start a playbook on an incident (`:run PLAYBOOK [on ID|KEY]`).
    Run {
        /// Playbook id.
        playbook: String,
        /// Which incident.
        which: String,
    },
    /// What a run would do, step by step, doing nothing (`:dry-run`).
    DryRun {
        /// Playbook id.
        playbook: String,
        /// Which incident (id, key or subject).
        which: String,
    },
    /// A person's answer to the step a run waits on (`:done`, `:fail`,
    /// `:approve`, `:reject`).
    Answer {
        /// Which run.
        run: String,
        /// The step answered (by id), so an answer never lands on a step
        /// the person did not see.
        step: String,
        /// The answer.
        answer: crate::playbook::Answer,
    },
    /// Pause, resume, abort, retry, skip.
    Control {
        /// Which run.
        run: String,
        /// What.
        action: crate::playbook::RunAction,
    },
    /// A step's work the engine did for a run (a relay command, a
    /// process), as the audit records it. Never sent by a user (refused).
    Step {
        /// Which run.
        run: String,
        /// The step's id.
        step: String,
        /// What it did, in words.
        work: String,
    },
}

impl PlaybookCommand {
    /// The incident or run it names.
    pub fn which(&self) -> &str {
        match self {
            PlaybookCommand::Run { which, .. } | PlaybookCommand::DryRun { which, .. } => which,
            PlaybookCommand::Answer { run, .. }
            | PlaybookCommand::Control { run, .. }
            | PlaybookCommand::Step { run, .. } => run,
        }
    }
}

impl fmt::Display for PlaybookCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlaybookCommand::Run { playbook, which } => {
                write!(f, "run playbook {playbook} on {which}")
            }
            PlaybookCommand::DryRun { playbook, which } => {
                write!(f, "dry-run playbook {playbook} on {which}")
            }
            PlaybookCommand::Answer { run, step, answer } => {
                write!(f, "run {run} step {step}: {answer}")
            }
            PlaybookCommand::Control { run, action } => write!(f, "{action} run {run}"),
            PlaybookCommand::Step { run, step, work } => {
                write!(f, "run {run} step {step}: {work}")
            }
        }
    }
}

/// About a caller's session with the API server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum SessionCommand {
    /// A caller the API server did not let in (a 401): always refused
    /// ([`Refusal::Unauthenticated`]), so the refusal is audited like any
    /// other, naming the peer and why.
    Denied {
        /// Where they came from: an address, or a Unix-socket uid.
        peer: String,
        /// Why they were not let in (never the token).
        reason: String,
    },
}

/// Something a user asks the engine to do, by subject. Incident,
/// playbook and relay commands join with their steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "subject", rename_all = "snake_case")]
pub enum Command {
    /// About devices.
    Device(DeviceCommand),
    /// About the simulator (only an engine started by `toc demo`).
    Sim(SimCommand),
    /// About an incident.
    Incident(IncidentCommand),
    /// About the result relay: reroute, pause, resume, replay.
    Relay(crate::model::relay::RelayCommand),
    /// About playbook runs.
    Playbook(PlaybookCommand),
    /// About an API session (a caller not let in).
    Session(SessionCommand),
}

impl Command {
    /// `:fault TARGET KIND … [for D]`.
    pub fn fault(target: impl Into<String>, fault: FaultKind, duration: Option<Duration>) -> Self {
        Command::Sim(SimCommand::Fault(FaultSpec {
            target: target.into(),
            fault,
            duration,
        }))
    }

    /// `:clear [TARGET]`.
    pub fn clear_faults(target: Option<String>) -> Self {
        Command::Sim(SimCommand::Clear { target })
    }

    /// `:maint TARGET DURATION REASON`.
    pub fn maintenance(
        target: impl Into<String>,
        duration: Duration,
        reason: impl Into<String>,
    ) -> Self {
        Command::Device(DeviceCommand::Maintenance {
            target: target.into(),
            on: true,
            duration: Some(duration),
            reason: reason.into(),
        })
    }

    /// `:maint off TARGET`.
    pub fn end_maintenance(target: impl Into<String>) -> Self {
        Command::Device(DeviceCommand::Maintenance {
            target: target.into(),
            on: false,
            duration: None,
            reason: String::new(),
        })
    }

    /// `:check TARGET`.
    pub fn check_now(target: impl Into<String>) -> Self {
        Command::Device(DeviceCommand::CheckNow {
            target: target.into(),
        })
    }

    /// Whether applying it changes what the engine or the world holds
    /// (and so must be audited before it is applied).
    pub const fn changes_state(&self) -> bool {
        match self {
            Command::Device(DeviceCommand::Maintenance { .. })
            | Command::Sim(_)
            | Command::Incident(_)
            | Command::Relay(_)
            | Command::Playbook(_) => true,
            Command::Device(DeviceCommand::CheckNow { .. }) | Command::Session(_) => false,
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Sim(SimCommand::Fault(spec)) => {
                write!(f, "fault {} {}", spec.target, spec.fault)?;
                if let Some(d) = spec.duration {
                    write!(f, " for {}", humantime::format_duration(d))?;
                }
                Ok(())
            }
            Command::Sim(SimCommand::Clear { target: Some(t) }) => {
                write!(f, "clear faults on {t}")
            }
            Command::Sim(SimCommand::Clear { target: None }) => f.write_str("clear all faults"),
            Command::Device(DeviceCommand::Maintenance {
                target,
                on: true,
                duration,
                reason,
            }) => {
                write!(f, "maintenance on {target}")?;
                if let Some(d) = duration {
                    write!(f, " for {}", humantime::format_duration(*d))?;
                }
                if !reason.is_empty() {
                    write!(f, ": {reason}")?;
                }
                Ok(())
            }
            Command::Device(DeviceCommand::Maintenance {
                target, on: false, ..
            }) => {
                write!(f, "maintenance off {target}")
            }
            Command::Device(DeviceCommand::CheckNow { target }) => write!(f, "check {target} now"),
            Command::Incident(IncidentCommand::Ack {
                which,
                comment,
                expires,
            }) => {
                write!(f, "acknowledge {which}")?;
                if let Some(d) = expires {
                    write!(f, " for {}", humantime::format_duration(*d))?;
                }
                write!(f, ": {comment}")
            }
            Command::Incident(IncidentCommand::Note { which, text }) => {
                write!(f, "note on {which}: {text}")
            }
            Command::Incident(IncidentCommand::Resolve { which }) => write!(f, "resolve {which}"),
            Command::Relay(c) => write!(f, "relay: {c}"),
            Command::Playbook(c) => c.fmt(f),
            Command::Session(SessionCommand::Denied { peer, .. }) => {
                write!(f, "connect from {peer}")
            }
        }
    }
}

/// What an applied command did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "done", rename_all = "snake_case")]
pub enum Done {
    /// A fault was injected; `detail` is the simulator's own line.
    FaultSet {
        /// Device id or venue code.
        target: String,
        /// The fault.
        fault: FaultKind,
        /// How long it lasts.
        duration: Option<Duration>,
        /// What the simulator did, in one line.
        detail: String,
    },
    /// Faults were cleared.
    FaultsCleared {
        /// Where; none = everywhere.
        target: Option<String>,
        /// How many.
        count: usize,
    },
    /// A device, group or venue went into or out of maintenance.
    Maintenance {
        /// Device id, group id or venue code.
        target: String,
        /// On or off.
        on: bool,
        /// How many devices it covers.
        devices: usize,
        /// For how long (on only).
        duration: Option<Duration>,
    },
    /// Devices will be checked at once.
    CheckRequested {
        /// Device id or venue code.
        target: String,
        /// How many devices.
        devices: usize,
    },
    /// Something was done to an incident.
    Incident {
        /// Its id.
        id: String,
        /// What, in words (`4-17 acknowledged: on it`).
        text: String,
    },
    /// The relay was rerouted, paused, resumed or replayed.
    Relay {
        /// What the relay did, in one line.
        text: String,
    },
    /// A playbook run started, was answered or controlled; or a dry-run
    /// (`text` is its plan, one line per step).
    Playbook {
        /// The run's id (empty for a dry-run).
        run: String,
        /// What was done, in words.
        text: String,
    },
}

impl fmt::Display for Done {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Done::FaultSet { detail, .. } => f.write_str(detail),
            Done::FaultsCleared {
                target: Some(t),
                count,
            } => write!(f, "{t}: {count} fault(s) cleared"),
            Done::FaultsCleared {
                target: None,
                count,
            } => write!(f, "{count} fault(s) cleared"),
            Done::Maintenance {
                target,
                on: true,
                devices,
                duration,
            } => {
                write!(f, "{target}: maintenance on")?;
                if let Some(d) = duration {
                    write!(f, " for {}", humantime::format_duration(*d))?;
                }
                match devices {
                    1 => Ok(()),
                    n => write!(f, " ({n} devices)"),
                }
            }
            Done::Maintenance { target, .. } => write!(f, "{target}: maintenance off"),
            Done::CheckRequested { target, devices: 1 } => write!(f, "{target}: checking now"),
            Done::CheckRequested { target, devices } => {
                write!(f, "{target}: checking {devices} devices now")
            }
            Done::Incident { text, .. } | Done::Relay { text } | Done::Playbook { text, .. } => {
                f.write_str(text)
            }
        }
    }
}

/// Why the engine did not apply a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "refused", content = "detail", rename_all = "snake_case")]
pub enum Refusal {
    /// The caller's role is too low.
    Forbidden {
        /// Role needed.
        needed: Role,
        /// Role held.
        held: Role,
    },
    /// The target is outside the caller's venues.
    OutOfScope(String),
    /// Not possible here (e.g. a fault outside a demo).
    Unsupported(String),
    /// The command names something that does not exist or is malformed.
    Invalid(String),
    /// The audit log cannot be written: nothing that changes state is
    /// applied until it can.
    AuditFailing(String),
    /// The incident store cannot be written (why, in words that name the
    /// store, as its writer says them): nothing was changed.
    StoreFailing(String),
    /// The engine is gone or the connection to it is lost.
    Unavailable,
    /// The caller was not let in (an API 401): why, in one sentence.
    Unauthenticated(String),
    /// A remote console is not connected to its server, or lost the
    /// connection before the answer came (why, naming the server).
    Disconnected(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Forbidden { needed, held } => {
                write!(f, "refused: needs role {needed}, you are {held}")
            }
            Refusal::OutOfScope(what) => write!(f, "refused: {what} is outside your venues"),
            Refusal::Unsupported(why) | Refusal::Invalid(why) | Refusal::Disconnected(why) => {
                write!(f, "refused: {why}")
            }
            Refusal::AuditFailing(why) => write!(
                f,
                "refused: the audit log cannot be written ({why}); nothing that changes state is applied until it can"
            ),
            Refusal::StoreFailing(why) => write!(f, "refused: {why}; nothing was changed"),
            Refusal::Unavailable => f.write_str("the engine is not reachable"),
            Refusal::Unauthenticated(why) => write!(f, "denied (not authenticated): {why}"),
        }
    }
}

impl std::error::Error for Refusal {}

/// The engine's answer to a command.
pub type Reply = Result<Done, Refusal>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_kinds_parse_and_print_as_typed() {
        for (kind, value, shown) in [
            ("down", None, "down"),
            ("slow", Some("200ms"), "slow 200ms"),
            ("slow", None, "slow 500ms"),
            ("if-down", Some("Te1/0/1"), "if-down Te1/0/1"),
            ("if-down", None, "if-down"),
            ("flapping", Some("2s"), "flapping 2s"),
            ("auth-fail", None, "auth-fail"),
            ("cpu-high", Some("90%"), "cpu-high 90"),
            ("reboot", None, "reboot"),
            ("uplink-down", None, "uplink-down"),
            ("corrupt", None, "corrupt"),
            ("dup-storm", None, "dup-storm"),
        ] {
            let fault = FaultKind::parse(kind, value).expect(kind);
            assert_eq!(fault.to_string(), shown);
            assert_eq!(fault.name(), kind);
            assert!(FAULT_KINDS.contains(&kind));
        }
    }

    #[test]
    fn bad_fault_values_say_what_to_write() {
        for (kind, value, says) in [
            ("down", Some("x"), "takes no value"),
            ("corrupt", Some("50%"), "takes no value"),
            ("slow", Some("0s"), "above zero"),
            ("slow", Some("fast"), ""),
            ("slow", Some("2days"), "at most"),
            ("cpu-high", Some("101"), "0 to 100"),
            ("if-down", Some(" "), "interface name"),
            ("melt", None, "unknown fault `melt`"),
        ] {
            let err = FaultKind::parse(kind, value).expect_err(kind);
            assert!(err.contains(says), "{kind} {value:?}: {err}");
        }
    }

    #[test]
    fn commands_and_answers_go_over_the_wire_unchanged() {
        let commands = [
            Command::fault(
                "STA-core-a",
                FaultKind::Slow(Duration::from_millis(700)),
                None,
            ),
            Command::fault("STA", FaultKind::UplinkDown, Some(Duration::from_secs(30))),
            Command::clear_faults(None),
            Command::clear_faults(Some("STA".into())),
            Command::maintenance("STA-acc-01", Duration::from_secs(7200), "swap the PSU"),
            Command::end_maintenance("STA"),
            Command::check_now("STA"),
        ];
        for c in commands {
            let json = serde_json::to_string(&c).expect("serialize");
            let back: Command = serde_json::from_str(&json).expect(&json);
            assert_eq!(back, c, "{json}");
        }
        let replies: [Reply; 4] = [
            Ok(Done::FaultsCleared {
                target: None,
                count: 2,
            }),
            Err(Refusal::Forbidden {
                needed: Role::Operator,
                held: Role::Viewer,
            }),
            Err(Refusal::Unavailable),
            Err(Refusal::Disconnected(
                "not connected to the server at ws://127.0.0.1:7470/api/ws".to_owned(),
            )),
        ];
        for r in replies {
            let json = serde_json::to_string(&r).expect("serialize");
            let back: Reply = serde_json::from_str(&json).expect(&json);
            assert_eq!(back, r, "{json}");
        }
        let id = Identity {
            user: "ana".into(),
            role: Role::Technician,
            venues: vec!["STA".into()],
        };
        let json = serde_json::to_string(&id).expect("serialize");
        assert!(json.contains("\"technician\""), "{json}");
        assert_eq!(serde_json::from_str::<Identity>(&json).expect("parse"), id);
    }

    /// Audit records of toc before step 8 name a device and no duration:
    /// they still read (the store's audit keeps them).
    #[test]
    fn a_maintenance_command_of_an_earlier_toc_still_reads() {
        let old = r#"{"subject":"device","op":"maintenance","device":"STA-core-a","on":true}"#;
        let command: Command = serde_json::from_str(old).expect(old);
        assert_eq!(
            command,
            Command::Device(DeviceCommand::Maintenance {
                target: "STA-core-a".into(),
                on: true,
                duration: None,
                reason: String::new(),
            })
        );
        assert_eq!(command.to_string(), "maintenance on STA-core-a");
    }

    #[test]
    fn only_check_now_leaves_state_alone() {
        assert!(!Command::check_now("STA").changes_state());
        assert!(Command::end_maintenance("STA-acc-01").changes_state());
        assert!(Command::clear_faults(None).changes_state());
    }
}
