//! `playbooks/*.toml`: one bad fixture per rule, each refused at its exact
//! line:column with its help (on its own, or against an inventory); the
//! shipped playbooks pass against the shipped venues.toml; the files of
//! the first format still read; the coverage warnings; `toc check`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use rstest::rstest;
use toc::config::playbook::{
    Action, Field, Ref, RelayAction, SourcePick, StepKind, Target, check_dir, check_file, coverage,
    load_dir,
};
use toc::config::{Inventory, SourceFile};
use toc::model::Status;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn inventory(path: &str) -> Inventory {
    Inventory::load(&root().join(path)).expect("inventory").0
}

fn fixture(sub: &str, name: &str) -> SourceFile {
    let path = format!("tests/fixtures/playbooks/{sub}/{name}.toml");
    let text = std::fs::read_to_string(root().join(&path)).expect("fixture");
    SourceFile::new(path, text)
}

/// The one error of `src`, as `line:col`, message and help.
fn one_error(src: &SourceFile, inv: Option<&Inventory>) -> (String, String, String) {
    let report = check_file(src, inv);
    assert!(report.books.is_empty(), "{:?}", report.books);
    assert_eq!(report.errors.len(), 1, "{:#?}", report.errors);
    let d = &report.errors[0];
    assert_eq!(d.file, Path::new(src.path()));
    (
        format!("{}:{}", d.line, d.column),
        d.message.clone(),
        d.help.clone().unwrap_or_default(),
    )
}

#[rstest]
#[case::unknown_kind(
    "unknown_kind",
    "10:8",
    "step `first` has an unknown kind `reboot`",
    "use one of check, wait, manual, approve, relay, maintenance, notify, note, shell"
)]
#[case::missing_until(
    "missing_until",
    "10:8",
    "wait step `first` needs `until`",
    "add `until = \"ok\"`"
)]
#[case::missing_contact(
    "missing_contact",
    "10:8",
    "notify step `first` needs `contact`",
    "add `contact = "
)]
#[case::missing_reason(
    "missing_reason",
    "10:8",
    "maintenance step `first` needs `reason`",
    "add `reason = "
)]
#[case::missing_source(
    "missing_source",
    "10:8",
    "relay step `first` needs `source`",
    "add `source = \"backup\"`"
)]
#[case::contact_on_check(
    "contact_on_check",
    "11:11",
    "`contact` does not belong to a check step",
    "a check step takes device, group, venue, feed, sink, expect"
)]
#[case::argv_on_manual(
    "argv_on_manual",
    "11:8",
    "`argv` does not belong to a manual step",
    "remove `argv`"
)]
#[case::key_of_another_action(
    "key_of_another_action",
    "13:9",
    "`sinks` does not belong to a relay `pause` step",
    "a relay `pause` step takes sink"
)]
#[case::two_targets(
    "two_targets",
    "12:9",
    "step `first` has two targets: `device` and `group`",
    "none means the incident's subject"
)]
#[case::unknown_field(
    "unknown_field",
    "11:10",
    "unknown field `{devise}`",
    "the fields are {subject}, {device}, {group}, {venue}, {feed}, {sink}, {primary}, {backup}, {incident}, {key}, {kind}"
)]
#[case::field_in_argument(
    "field_in_argument",
    "12:24",
    "a field inside a longer argument: `{venue}-gw`",
    "only as a whole argument"
)]
#[case::empty_argv(
    "empty_argv",
    "12:8",
    "`argv` is empty",
    "the program and its arguments"
)]
#[case::goto_unknown_step(
    "goto_unknown_step",
    "12:8",
    "`goto` names unknown step `verify`",
    "name a step of this playbook: first"
)]
#[case::goto_without_on_failure(
    "goto_without_on_failure",
    "11:8",
    "`goto` without `on_failure = \"goto\"`",
    "add `on_failure = \"goto\"`"
)]
#[case::on_failure_goto_without_goto(
    "on_failure_goto_without_goto",
    "11:14",
    "`on_failure = \"goto\"` without `goto`",
    "add `goto = "
)]
#[case::unknown_on_failure(
    "unknown_on_failure",
    "11:14",
    "unknown on_failure `retry`",
    "stop (the default), continue or goto"
)]
#[case::relay_not_dangerous(
    "relay_not_dangerous",
    "8:6",
    "relay step `first` is not marked dangerous",
    "add `dangerous = true`"
)]
#[case::shell_not_dangerous(
    "shell_not_dangerous",
    "8:6",
    "shell step `first` is not marked dangerous",
    "a duty manager approves it"
)]
#[case::duration_without_unit(
    "duration_without_unit",
    "11:11",
    "invalid duration `30`: a number needs a unit",
    "write it with a unit"
)]
#[case::zero_timeout(
    "zero_timeout",
    "11:11",
    "timeout must be longer than zero",
    "write it with a unit"
)]
#[case::bad_status(
    "bad_status",
    "11:17",
    "unknown status `green` in `expect`",
    "up (ok or degraded)"
)]
#[case::unknown_relay_action(
    "unknown_relay_action",
    "12:10",
    "unknown relay action `restart`",
    "source, pause, resume, route or replay"
)]
#[case::unknown_step_key(
    "unknown_step_key",
    "11:1",
    "unknown field `expected`",
    "docs/playbooks.md lists the keys of this step"
)]
#[case::unknown_trigger(
    "unknown_trigger",
    "5:8",
    "unknown variant `power_lost`",
    "use one of the values listed"
)]
#[case::duplicate_step(
    "duplicate_step",
    "13:6",
    "duplicate step id `first` (first on line 8)",
    "its own id"
)]
fn a_bad_playbook_is_refused_at_its_place(
    #[case] name: &str,
    #[case] at: &str,
    #[case] message: &str,
    #[case] help: &str,
) {
    let (got_at, got_message, got_help) = one_error(&fixture("bad", name), None);
    assert_eq!(got_at, at, "{got_message}");
    assert!(got_message.starts_with(message), "{got_message}");
    assert!(got_help.contains(help), "{got_help}");
}

#[rstest]
#[case::unknown_device(
    "unknown_device",
    "venues.toml",
    "11:10",
    "unknown device `STA-core-z`",
    "[[venues.devices]]"
)]
#[case::unknown_group(
    "unknown_group",
    "venues.toml",
    "11:9",
    "unknown group `STA-cores`",
    "[[venues.groups]]"
)]
#[case::unknown_venue(
    "unknown_venue",
    "venues.toml",
    "11:9",
    "unknown venue `XYZ`",
    "[[venues]] table (its code)"
)]
#[case::unknown_feed(
    "unknown_feed",
    "venues.toml",
    "13:8",
    "unknown feed `STA-result`",
    "[[venues.feeds]]"
)]
#[case::unknown_sink(
    "unknown_sink",
    "venues.toml",
    "13:8",
    "unknown sink `commentator`",
    "[[relay.sinks]]"
)]
#[case::unknown_route(
    "unknown_route",
    "venues.toml",
    "13:9",
    "unknown route `result`",
    "[[relay.routes]]"
)]
#[case::unknown_route_sink(
    "unknown_route_sink",
    "venues.toml",
    "14:24",
    "unknown sink `tv`",
    "[[relay.sinks]]"
)]
#[case::unknown_source(
    "unknown_source",
    "venues.toml",
    "13:10",
    "unknown source `STA-ovr-c`",
    "or backup, primary, both"
)]
#[case::unknown_trigger_venue(
    "unknown_trigger_venue",
    "venues.toml",
    "6:9",
    "unknown venue `XYZ` in the trigger",
    "[[venues]] table"
)]
#[case::relay_without_relay(
    "relay_without_relay",
    "tests/fixtures/base.toml",
    "10:8",
    "relay step `first`, but",
    "add a [relay] table"
)]
#[case::shell_disabled(
    "shell_disabled",
    "tests/fixtures/base.toml",
    "10:8",
    "shell step `first`, but",
    "set `shell = true` in the [playbooks] table"
)]
fn a_playbook_is_refused_against_the_inventory(
    #[case] name: &str,
    #[case] venues: &str,
    #[case] at: &str,
    #[case] message: &str,
    #[case] help: &str,
) {
    let src = fixture("inventory", name);
    // On its own the playbook is fine: only the inventory refuses it.
    let alone = check_file(&src, None);
    assert!(alone.errors.is_empty(), "{:#?}", alone.errors);
    assert_eq!(alone.books.len(), 1);
    let inv = inventory(venues);
    let (got_at, got_message, got_help) = one_error(&src, Some(&inv));
    assert_eq!(got_at, at, "{got_message}");
    assert!(got_message.starts_with(message), "{got_message}");
    assert!(got_help.contains(help), "{got_help}");
}

#[test]
fn every_error_of_every_file_is_reported() {
    let errors = load_dir(&root().join("tests/fixtures/playbooks/bad")).expect_err("bad");
    // One error per fixture file, none hidden by another.
    let files = std::fs::read_dir(root().join("tests/fixtures/playbooks/bad"))
        .unwrap()
        .count();
    assert_eq!(errors.len(), files, "{errors:#?}");
}

#[test]
fn the_shipped_playbooks_pass_against_the_shipped_inventory() {
    let inv = inventory("venues.toml");
    let report = check_dir(&root().join("playbooks"), &inv);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let ids: Vec<&str> = report.books.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "consumer-latency-slo",
            "core-switch-redundancy-lost",
            "primary-results-server-down",
            "results-feed-stale",
            "toc-host-disk-full",
            "venue-uplink-down",
        ]
    );
    assert!(
        inv.playbooks.shell,
        "the shipped venues.toml enables shell steps"
    );
    assert_eq!(inv.playbooks.dir, root().join("playbooks"));
    // The primary-results-server playbook switches the feed to its backup
    // only after an approval.
    let book = report
        .books
        .iter()
        .find(|b| b.id == "primary-results-server-down")
        .unwrap();
    let kinds: Vec<StepKind> = book
        .steps
        .iter()
        .map(toc::config::playbook::Step::kind)
        .collect();
    let approve = kinds.iter().position(|k| *k == StepKind::Approve).unwrap();
    let relay = kinds.iter().position(|k| *k == StepKind::Relay).unwrap();
    assert!(approve < relay, "{kinds:?}");
    assert_eq!(
        book.steps[relay].action,
        Action::Relay(RelayAction::Source {
            feed: Ref::Field(Field::Feed),
            source: SourcePick::Backup
        })
    );
}

#[test]
fn the_old_format_still_reads() {
    let books = load_dir(&root().join("tests/fixtures/playbooks/old")).expect("old files");
    assert_eq!(books.len(), 3);
    let stale = books.iter().find(|b| b.id == "results-feed-stale").unwrap();
    let reroute = stale.step("reroute-to-backup").unwrap();
    assert_eq!(
        stale.steps[reroute].action,
        Action::Relay(RelayAction::Source {
            feed: Ref::Field(Field::Feed),
            source: SourcePick::Backup
        })
    );
    assert!(stale.steps[reroute].dangerous);
    let core = books
        .iter()
        .find(|b| b.id == "core-switch-redundancy-lost")
        .unwrap();
    assert_eq!(
        core.steps[0].action,
        Action::Check {
            target: Target::Subject,
            expect: vec![Status::Ok]
        }
    );
    // And they pass against the shipped inventory.
    let report = check_dir(
        &root().join("tests/fixtures/playbooks/old"),
        &inventory("venues.toml"),
    );
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
}

#[test]
fn uncovered_kinds_and_roles_are_warnings() {
    let inv = inventory("venues.toml");
    let books = load_dir(&root().join("playbooks")).unwrap();
    let warnings: Vec<String> = coverage(&books, &inv)
        .into_iter()
        .map(|d| d.message)
        .collect();
    let device_down = warnings
        .iter()
        .find(|w| w.starts_with("no playbook for device_down of roles"))
        .expect("device_down warning");
    assert!(device_down.contains("`access-switch`"), "{device_down}");
    // A results server in a pair opens its pair's incident:
    // primary-results-server-down covers redundancy_lost of ovr-server,
    // core-switch-redundancy-lost that of core-switch.
    let lost = warnings
        .iter()
        .find(|w| w.starts_with("no playbook for redundancy_lost"));
    assert!(
        lost.is_none_or(|w| !w.contains("`ovr-server`") && !w.contains("`core-switch`")),
        "{lost:?}"
    );
    assert!(
        warnings.contains(&"no playbook for feed_degraded".to_owned()),
        "{warnings:?}"
    );
    // Covered kinds are not reported.
    assert!(
        !warnings
            .iter()
            .any(|w| w.contains("feed_stale") || w.contains("latency_slo")),
        "{warnings:?}"
    );
    let redundancy = warnings
        .iter()
        .find(|w| w.starts_with("no playbook for redundancy_lost"))
        .expect("redundancy_lost warning");
    assert!(!redundancy.contains("`core-switch`"), "{redundancy}");
    // Without relay sinks nor feeds, no relay kind is expected.
    let base = inventory("tests/fixtures/base.toml");
    let warnings: Vec<String> = coverage(&[], &base)
        .into_iter()
        .map(|d| d.message)
        .collect();
    assert!(
        !warnings
            .iter()
            .any(|w| w.contains("latency_slo") || w.contains("feed_")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("no playbook for device_down")),
        "{warnings:?}"
    );
}

#[test]
fn toc_check_prints_playbook_errors_with_their_position_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("tests/fixtures/playbooks/inventory/unknown_device.toml"),
        dir.path().join("unknown_device.toml"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_toc"))
        .args(["check", "venues.toml", "--playbooks"])
        .arg(dir.path())
        .current_dir(root())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("unknown_device.toml:11:10: error: unknown device `STA-core-z`"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn toc_check_prints_the_coverage_warnings_and_passes() {
    let out = Command::new(env!("CARGO_BIN_EXE_toc"))
        .args(["check", "venues.toml"])
        .current_dir(root())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: no playbook for device_down of roles `access-switch`"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("playbooks  6 ("), "{stdout}");
}
