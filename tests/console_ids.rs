//! Ids typed on the console's command line are matched the way `toc
//! probe` and `:device` match them (exactly, else ignoring case), for
//! every command: `:fault sta-core-a down` reaches `STA-core-a`.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::time::Duration;

use support::games;
use toc::console::App;
use toc::console::app::Effect;
use toc::console::keymap::Action;
use toc::engine::{Command, FaultKind, Identity, Role, Snapshot};

fn typed(snap: &Snapshot, line: &str) -> Vec<Command> {
    let identity = Identity {
        user: "alice".to_owned(),
        role: Role::DutyManager,
        venues: Vec::new(),
    };
    let mut app = App::new(identity, false, true);
    app.update(Action::CommandLine, snap);
    for c in line.chars() {
        app.update(Action::Insert(c), snap);
    }
    match app.update(Action::Submit, snap) {
        Effect::Send { commands, .. } => commands,
        other => panic!("{line}: nothing sent ({other:?})"),
    }
}

#[test]
fn every_command_names_devices_and_venues_as_the_inventory_does() {
    let snap = games::standard();
    let down = FaultKind::parse("down", None).unwrap();
    assert_eq!(
        typed(&snap, "fault sta-core-a down"),
        [Command::fault("STA-core-a", down, None)]
    );
    assert_eq!(typed(&snap, "check sta"), [Command::check_now("STA")]);
    assert_eq!(
        typed(&snap, "check STA-CORE-A"),
        [Command::check_now("STA-core-a")]
    );
    assert_eq!(
        typed(&snap, "maint sta-core-a 2h swap the PSU"),
        [Command::maintenance(
            "STA-core-a",
            Duration::from_secs(7200),
            "swap the PSU"
        )]
    );
    assert_eq!(
        typed(&snap, "maint off sta-uplink"),
        [Command::end_maintenance("STA-uplink")]
    );
    assert_eq!(
        typed(&snap, "clear sta-core-a"),
        [Command::clear_faults(Some("STA-core-a".to_owned()))]
    );
    // What names nothing goes as typed, for the engine to refuse.
    assert_eq!(
        typed(&snap, "check sta-nope"),
        [Command::check_now("sta-nope")]
    );
}
