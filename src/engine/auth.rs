//! Who may do what: [`authorize`] is a pure function of the caller's
//! [`Identity`], the [`Command`] and the event's [`Layout`], so the whole
//! role table is tested without an engine (DESIGN.md, "Roles").
//!
//! - viewer: reads only;
//! - technician: the venues in scope: check devices now;
//! - operator: all venues in scope: maintenance, simulator faults;
//! - duty manager: everything, including acknowledging and resolving
//!   incidents.
//!
//! Notes on incidents are for technicians and above, in their venues.
//!
//! Playbooks: operators start, pause, resume, abort, retry and skip runs;
//! technicians (in their venues) dry-run them and answer manual steps;
//! only duty managers approve or reject.

use super::command::{
    Command, DeviceCommand, Identity, IncidentCommand, PlaybookCommand, Refusal, Role,
    SessionCommand, SimCommand,
};
use super::snapshot::Layout;
use crate::model::relay::RelayCommand;

/// The least role allowed to issue `command`.
pub const fn required_role(command: &Command) -> Role {
    match command {
        Command::Device(DeviceCommand::CheckNow { .. })
        | Command::Incident(IncidentCommand::Note { .. })
        | Command::Playbook(PlaybookCommand::DryRun { .. }) => Role::Technician,
        Command::Playbook(PlaybookCommand::Answer { answer, .. }) => {
            if answer.is_approval() {
                Role::DutyManager
            } else {
                Role::Technician
            }
        }
        Command::Device(DeviceCommand::Maintenance { .. })
        | Command::Sim(_)
        | Command::Relay(_)
        | Command::Playbook(
            PlaybookCommand::Run { .. }
            | PlaybookCommand::Control { .. }
            | PlaybookCommand::Step { .. },
        ) => Role::Operator,
        // A session command is refused for every role by `authorize_in`.
        Command::Incident(IncidentCommand::Ack { .. } | IncidentCommand::Resolve { .. })
        | Command::Session(_) => Role::DutyManager,
    }
}

/// The target a command acts on: a device id or venue code, or `None` for
/// every venue.
pub fn target(command: &Command) -> Option<&str> {
    match command {
        Command::Device(
            DeviceCommand::Maintenance { target: t, .. } | DeviceCommand::CheckNow { target: t },
        )
        | Command::Sim(
            SimCommand::Fault(super::command::FaultSpec { target: t, .. })
            | SimCommand::Clear { target: Some(t) },
        ) => Some(t),
        Command::Incident(c) => Some(c.which()),
        Command::Playbook(c) => Some(c.which()),
        // A feed is its venue's; sinks and routes serve every venue.
        Command::Relay(RelayCommand::Source { feed, .. }) => Some(feed),
        Command::Sim(SimCommand::Clear { target: None })
        | Command::Relay(_)
        | Command::Session(_) => None,
    }
}

/// The venue code of a device id, group id or venue code of `layout`.
pub fn venue_of<'a>(layout: &'a Layout, target: &str) -> Option<&'a str> {
    layout
        .device(target)
        .and_then(|d| layout.device_info(d))
        .map(|d| d.venue)
        .or_else(|| {
            layout
                .group(target)
                .and_then(|g| layout.group_info(g))
                .map(|g| g.venue)
        })
        .or_else(|| {
            layout
                .feed(target)
                .and_then(|f| layout.feeds.get(f.0))
                .map(|f| f.venue)
        })
        .and_then(|v| layout.venue_info(v))
        .or_else(|| layout.venue(target).and_then(|v| layout.venue_info(v)))
        .map(|v| v.code.as_str())
}

/// Whether `who` may apply `command` on this event. A refusal says why:
/// the role needed and held, or the target outside the caller's venues.
/// Whether the target exists is not decided here (an unknown target of a
/// caller with every venue is refused later, as invalid; for a caller with
/// a venue scope it is out of scope, so a scope does not reveal what
/// exists outside it).
pub fn authorize(who: &Identity, command: &Command, layout: &Layout) -> Result<(), Refusal> {
    authorize_in(who, command, |t| venue_of(layout, t).map(str::to_owned))
}

/// [`authorize`] with the venue of the command's target found by `venue`
/// (an incident's venue is the engine's to say: an id names no venue the
/// layout knows).
pub fn authorize_in(
    who: &Identity,
    command: &Command,
    venue: impl Fn(&str) -> Option<String>,
) -> Result<(), Refusal> {
    // A caller the API did not let in: refused for every role, so the
    // refusal is audited.
    if let Command::Session(SessionCommand::Denied { peer, reason }) = command {
        return Err(Refusal::Unauthenticated(format!("{peer}: {reason}")));
    }
    let needed = required_role(command);
    if who.role < needed {
        return Err(Refusal::Forbidden {
            needed,
            held: who.role,
        });
    }
    if who.all_venues() {
        return Ok(());
    }
    match target(command) {
        None => Err(Refusal::OutOfScope("every venue".to_owned())),
        Some(t) => match venue(t) {
            Some(code) if who.venues.contains(&code) => Ok(()),
            _ => Err(Refusal::OutOfScope(t.to_owned())),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::{Inventory, SourceFile};
    use crate::engine::command::FaultKind;

    fn layout() -> Layout {
        let src = SourceFile::new(
            "small.toml",
            include_str!("../../examples/venues-small.toml").to_owned(),
        );
        Layout::from_inventory(&Inventory::parse(&src).expect("example parses").0)
    }

    fn who(role: Role, venues: &[&str]) -> Identity {
        Identity {
            user: format!("{role}"),
            role,
            venues: venues.iter().map(|v| (*v).to_owned()).collect(),
        }
    }

    /// Every role, with every venue or with STA only, against every
    /// command on a device of STA, on STA itself, on a device of MRN, and
    /// on everything: `A` allowed, `F` forbidden (role), `S` out of scope.
    #[test]
    fn the_role_table() {
        let layout = layout();
        let sta_dev = "STA-core";
        let mrn_dev = "MRN-core";
        assert!(layout.device(sta_dev).is_some() && layout.device(mrn_dev).is_some());
        let commands: Vec<(&str, Command)> = vec![
            ("check STA dev", Command::check_now(sta_dev)),
            ("check STA", Command::check_now("STA")),
            ("check MRN dev", Command::check_now(mrn_dev)),
            (
                "maint STA dev",
                Command::maintenance(sta_dev, Duration::from_secs(3600), "PSU swap"),
            ),
            ("maint MRN dev", Command::end_maintenance(mrn_dev)),
            (
                "fault STA dev",
                Command::fault(sta_dev, FaultKind::Down, None),
            ),
            (
                "uplink STA",
                Command::fault("STA", FaultKind::UplinkDown, Some(Duration::from_secs(5))),
            ),
            ("clear MRN dev", Command::clear_faults(Some(mrn_dev.into()))),
            ("clear all", Command::clear_faults(None)),
            ("check nowhere", Command::check_now("NOPE")),
            (
                "ack STA dev",
                Command::Incident(IncidentCommand::Ack {
                    which: sta_dev.into(),
                    comment: "on it".into(),
                    expires: None,
                }),
            ),
            (
                "note MRN dev",
                Command::Incident(IncidentCommand::Note {
                    which: mrn_dev.into(),
                    text: "fibre cut".into(),
                }),
            ),
            (
                "resolve MRN dev",
                Command::Incident(IncidentCommand::Resolve {
                    which: mrn_dev.into(),
                }),
            ),
        ];
        // Columns: viewer, technician, operator, duty manager, each with
        // every venue, then with STA only.
        let table: [(&str, [&str; 2]); 13] = [
            ("check STA dev", ["FAAA", "FAAA"]),
            ("check STA", ["FAAA", "FAAA"]),
            ("check MRN dev", ["FAAA", "FSSS"]),
            ("maint STA dev", ["FFAA", "FFAA"]),
            ("maint MRN dev", ["FFAA", "FFSS"]),
            ("fault STA dev", ["FFAA", "FFAA"]),
            ("uplink STA", ["FFAA", "FFAA"]),
            ("clear MRN dev", ["FFAA", "FFSS"]),
            ("clear all", ["FFAA", "FFSS"]),
            ("check nowhere", ["FAAA", "FSSS"]),
            ("ack STA dev", ["FFFA", "FFFA"]),
            ("note MRN dev", ["FAAA", "FSSS"]),
            ("resolve MRN dev", ["FFFA", "FFFS"]),
        ];
        assert_eq!(commands.len(), table.len());
        for ((name, command), (row, [all, sta])) in commands.iter().zip(table) {
            assert_eq!(*name, row);
            for (scope, expected) in [(&[][..], all), (&["STA"][..], sta)] {
                for (role, want) in Role::ALL.into_iter().zip(expected.chars()) {
                    let got = match authorize(&who(role, scope), command, &layout) {
                        Ok(()) => 'A',
                        Err(Refusal::Forbidden { needed, held }) => {
                            assert_eq!(held, role);
                            assert_eq!(needed, required_role(command));
                            'F'
                        }
                        Err(Refusal::OutOfScope(_)) => 'S',
                        Err(other) => panic!("{name}: unexpected {other}"),
                    };
                    assert_eq!(got, want, "{name} as {role} with venues {scope:?}");
                }
            }
        }
    }

    #[test]
    fn venue_of_finds_devices_and_venues() {
        let layout = layout();
        assert_eq!(venue_of(&layout, "STA-core"), Some("STA"));
        assert_eq!(venue_of(&layout, "MRN"), Some("MRN"));
        assert_eq!(venue_of(&layout, "MRN-ovr"), Some("MRN"), "a group");
        assert_eq!(venue_of(&layout, "nothing"), None);
    }
}
