//! What users ask of the engine: [`Command`]s carrying the caller's
//! [`Identity`], checked against the role table before they are applied.

use std::fmt;
use std::time::Duration;

/// What a user may do, from least to most (DESIGN.md, "Roles").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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
}

/// A simulator fault, as `:fault` asks for it (demo engines only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultSpec {
    /// Device id, or venue code for `uplink-down`.
    pub target: String,
    /// Fault kind and value as the simulator's control API takes them
    /// (`down`, `if-down Te1/0/1`, `cpu-high 95`, `uplink-down`, `reboot`).
    pub kind: String,
    /// Optional value (`Te1/0/1`, `95`, `2s`).
    pub value: Option<String>,
    /// How long it lasts; none = until cleared.
    pub duration: Option<Duration>,
}

/// Something a user asks the engine to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Inject a simulator fault (only an engine started by `toc demo`).
    Fault(FaultSpec),
    /// Clear simulator faults on a target, or all of them (demo only).
    ClearFaults {
        /// Device id or venue code; none = every fault.
        target: Option<String>,
    },
    /// Put a device in maintenance (downtime) or take it out.
    Maintenance {
        /// Device id.
        device: String,
        /// On or off.
        on: bool,
    },
}

impl Command {
    /// The least role allowed to issue it.
    pub const fn required_role(&self) -> Role {
        match self {
            Command::Fault(_) | Command::ClearFaults { .. } | Command::Maintenance { .. } => {
                Role::Operator
            }
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Fault(spec) => {
                write!(f, "fault {} {}", spec.target, spec.kind)?;
                if let Some(v) = &spec.value {
                    write!(f, " {v}")?;
                }
                if let Some(d) = spec.duration {
                    write!(f, " for {}", humantime::format_duration(d))?;
                }
                Ok(())
            }
            Command::ClearFaults { target: Some(t) } => write!(f, "clear faults on {t}"),
            Command::ClearFaults { target: None } => f.write_str("clear all faults"),
            Command::Maintenance { device, on: true } => write!(f, "maintenance on {device}"),
            Command::Maintenance { device, on: false } => write!(f, "maintenance off {device}"),
        }
    }
}

/// Why the engine did not apply a command.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// The engine is gone or the connection to it is lost.
    Unavailable,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Forbidden { needed, held } => {
                write!(f, "refused: needs role {needed}, you are {held}")
            }
            Refusal::OutOfScope(what) => write!(f, "refused: {what} is outside your venues"),
            Refusal::Unsupported(why) | Refusal::Invalid(why) => write!(f, "refused: {why}"),
            Refusal::Unavailable => f.write_str("the engine is not reachable"),
        }
    }
}

impl std::error::Error for Refusal {}

/// The engine's answer to an applied command: one line for the operator.
pub type Reply = Result<String, Refusal>;
