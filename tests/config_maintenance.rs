//! `[[maintenance]]` and `[incidents]` in venues.toml: every error at its
//! `file:line:column` through the real `toc check`, and what a valid file
//! gives the program (times with their offsets, targets resolved, the
//! incident policy's defaults).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rstest::rstest;
use toc::config::venues::{AckTimeouts, IncidentPolicy, MaintenanceScope};
use toc::config::{Inventory, Severity, SourceFile};

fn base() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/base.toml");
    std::fs::read_to_string(path).expect("base fixture")
}

/// `toc check venues.toml` in a folder holding `text` as venues.toml.
fn check(text: &str) -> Output {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("venues.toml"), text).expect("write");
    Command::new(env!("CARGO_BIN_EXE_toc"))
        .args(["check", "venues.toml"])
        .current_dir(dir.path())
        .output()
        .expect("run toc")
}

/// 1-based line and column (in characters) of the first `needle` in
/// `text`, counted here, independently of toc.
fn position_of(text: &str, needle: &str) -> (usize, usize) {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in the file"));
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn parse(extra: &str) -> Inventory {
    let src = SourceFile::new("venues.toml", format!("{}{extra}", base()));
    match Inventory::parse(&src) {
        Ok((inv, _)) => inv,
        Err(diags) => panic!("{}", toc::config::diag::render(&diags)),
    }
}

/// A time of the file, as seconds since the epoch.
fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).expect("after 1970").as_secs()
}

#[rstest]
#[case::both_end_and_duration(
    "\n[[maintenance]]\ntarget = \"STA\"\nstart = \"2024-07-26T18:00:00+02:00\"\nend = \"2024-07-26T20:00:00+02:00\"\nduration = \"2h\"\nreason = \"r\"\n",
    "\"2h\"",
    "maintenance has both `end` and `duration`",
    "give one of them"
)]
#[case::neither_end_nor_duration(
    "\n[[maintenance]]\ntarget = \"STA\"\nstart = \"2024-07-26T18:00:00+02:00\"\nreason = \"r\"\n",
    "\"2024-07-26T18",
    "maintenance of `STA` has no `end` nor `duration`",
    "duration = \"2h\""
)]
#[case::end_before_start(
    "\n[[maintenance]]\ntarget = \"STA\"\nstart = \"2024-07-26T18:00:00+02:00\"\nend = \"2024-07-26T17:00:00+02:00\"\nreason = \"r\"\n",
    "\"2024-07-26T17",
    "maintenance ends before it starts",
    "check the date and the offset"
)]
#[case::end_before_start_by_offset(
    // 18:00 in Paris is 16:00 UTC: an end at 17:00 UTC... is after it;
    // 17:00 in New York (21:00 UTC) too; 15:00Z is before.
    "\n[[maintenance]]\ntarget = \"STA\"\nstart = \"2024-07-26T18:00:00+02:00\"\nend = \"2024-07-26T15:00:00Z\"\nreason = \"r\"\n",
    "\"2024-07-26T15",
    "maintenance ends before it starts",
    "the end must be after the start"
)]
#[case::end_at_start(
    "\n[[maintenance]]\ntarget = \"STA\"\nstart = \"2024-07-26T18:00:00+02:00\"\nend = \"2024-07-26T16:00:00Z\"\nreason = \"r\"\n",
    "\"2024-07-26T16",
    "maintenance ends when it starts",
    "after the start"
)]
#[case::unknown_target(
    "\n[[maintenance]]\ntarget = \"STA-core-z\"\nstart = \"2024-07-26T18:00:00+02:00\"\nduration = \"2h\"\nreason = \"r\"\n",
    "\"STA-core-z\"",
    "maintenance names unknown target `STA-core-z`",
    "a device id, a group id or a venue code"
)]
#[case::start_without_offset(
    "\n[[maintenance]]\ntarget = \"STA\"\nstart = \"2024-07-26T18:00:00\"\nduration = \"2h\"\nreason = \"r\"\n",
    "\"2024-07-26T18",
    "`start`: invalid time `2024-07-26T18:00:00` (the 'offset hour' component could not be parsed)",
    "RFC 3339 with an offset"
)]
#[case::end_not_a_time(
    "\n[[maintenance]]\ntarget = \"STA\"\nstart = \"2024-07-26T18:00:00+02:00\"\nend = \"tonight\"\nreason = \"r\"\n",
    "\"tonight\"",
    "`end`: invalid time `tonight` (the 'year' component could not be parsed)",
    "\"2024-07-26T18:00:00+02:00\""
)]
#[case::empty_reason(
    "\n[[maintenance]]\ntarget = \"STA\"\nstart = \"2024-07-26T18:00:00+02:00\"\nduration = \"2h\"\nreason = \"  \"\n",
    "\"  \"",
    "maintenance of `STA` has an empty reason",
    "say why"
)]
#[case::missing_reason(
    "\n[[maintenance]]\ntarget = \"STA\"\nstart = \"2024-07-26T18:00:00+02:00\"\nduration = \"2h\"\n",
    "[[maintenance]]",
    "missing field `reason` in [[maintenance]] window",
    "add the key"
)]
#[case::unknown_key(
    "\n[[maintenance]]\ntarget = \"STA\"\nstart = \"2024-07-26T18:00:00+02:00\"\nduration = \"2h\"\nreason = \"r\"\nowner = \"me\"\n",
    "owner",
    "unknown field `owner`, expected one of `target`, `start`, `end`, `duration`, `reason` in [[maintenance]] window",
    "remove the key"
)]
#[case::duration_too_long(
    "\n[[maintenance]]\ntarget = \"STA\"\nstart = \"2024-07-26T18:00:00+02:00\"\nduration = \"31days\"\nreason = \"r\"\n",
    "\"31days\"",
    "duration `31days` is too long: at most 30 days",
    "durations are strings with a unit"
)]
#[case::zero_duration(
    "\n[[maintenance]]\ntarget = \"STA\"\nstart = \"2024-07-26T18:00:00+02:00\"\nduration = \"0s\"\nreason = \"r\"\n",
    "\"0s\"",
    "the duration of a maintenance window must be longer than zero",
    "`2h`"
)]
#[case::window_too_long(
    "\n[[maintenance]]\ntarget = \"STA\"\nstart = \"2024-07-01T00:00:00Z\"\nend = \"2024-08-01T00:00:01Z\"\nreason = \"r\"\n",
    "\"2024-08-01",
    "maintenance lasts longer than 30 days",
    "at most 30 days; split it"
)]
#[case::not_an_array(
    "\n[maintenance]\ntarget = \"STA\"\n",
    "[maintenance]",
    "`maintenance` must be an array of tables",
    "[[maintenance]]"
)]
#[case::incidents_unknown_key(
    "\n[incidents]\npage = true\n",
    "page",
    "unknown field `page`, expected one of `resolve_hold`, `reopen_window`, `ack_timeout`, `notify_command`, `notify_timeout`, `bell` in [incidents] table",
    "remove the key"
)]
#[case::resolve_hold_out_of_range(
    "\n[incidents]\nresolve_hold = \"2h\"\n",
    "\"2h\"",
    "resolve_hold 2h is out of range: it must be from 0s to 1h",
    "write a resolve_hold from 0s to 1h"
)]
#[case::reopen_window_out_of_range(
    "\n[incidents]\nreopen_window = \"2days\"\n",
    "\"2days\"",
    "reopen_window 2days is out of range: it must be from 0s to 1day",
    "from 0s to 1day"
)]
#[case::ack_timeout_out_of_range(
    "\n[incidents]\nack_timeout = { down = \"10s\" }\n",
    "\"10s\"",
    "ack_timeout.down 10s is out of range: it must be from 1m to 1day",
    "from 1m to 1day"
)]
#[case::ack_timeout_unknown_severity(
    "\n[incidents]\nack_timeout = { critical = \"5m\" }\n",
    "critical",
    "unknown field `critical`, expected one of `down`, `degraded`, `unknown` in [incidents] table",
    "remove the key"
)]
#[case::notify_timeout_out_of_range(
    "\n[incidents]\nnotify_timeout = \"10m\"\n",
    "\"10m\"",
    "notify_timeout 10m is out of range: it must be from 100ms to 5m",
    "from 100ms to 5m"
)]
#[case::notify_command_empty(
    "\n[incidents]\nnotify_command = []\n",
    "[]",
    "notify_command is empty",
    "or remove the key"
)]
#[case::notify_command_relative(
    "\n[incidents]\nnotify_command = [\"bin/page\", \"--team\", \"toc\"]\n",
    "\"bin/page\"",
    "the program of notify_command `bin/page` is a relative path",
    "an absolute path"
)]
#[case::notify_command_a_string(
    "\n[incidents]\nnotify_command = \"/usr/bin/page --team toc\"\n",
    "\"/usr/bin/page",
    "invalid type: string \"/usr/bin/page --team toc\", expected a sequence",
    "lists in [ ]"
)]
#[case::bell_not_a_bool(
    "\n[incidents]\nbell = \"yes\"\n",
    "\"yes\"",
    "invalid type: string \"yes\", expected true or false",
    "docs/config.md"
)]
fn a_bad_window_or_policy_fails_check_at_its_position(
    #[case] extra: &str,
    #[case] at: &str,
    #[case] message: &str,
    #[case] help: &str,
) {
    let base = base();
    let file = format!("{base}{extra}");
    // Where the defect is: in the text added to the base.
    let (line, column) = position_of(extra, at);
    let position = format!("{}:{column}", line + base.matches('\n').count());
    let out = check(&file);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "exit status; stderr:\n{stderr}");
    assert!(out.stdout.is_empty(), "stdout: {}", text(&out.stdout));
    let errs: Vec<&str> = stderr.lines().filter(|l| l.contains(": error: ")).collect();
    assert_eq!(errs.len(), 1, "one defect, one error:\n{stderr}");
    assert_eq!(
        errs[0],
        format!("venues.toml:{position}: error: {message}"),
        "\n{stderr}"
    );
    let help_line = stderr
        .split(errs[0])
        .nth(1)
        .and_then(|after| {
            after
                .lines()
                .find(|l| l.trim_start().starts_with("= help:"))
        })
        .unwrap_or_default();
    assert!(
        help_line.contains(help),
        "want help {help:?}, got {help_line:?}"
    );
}

#[test]
fn positions_are_counted_in_characters() {
    assert_eq!(position_of("ab\nçé = \"x\"\n", "\"x\""), (2, 6));
}

#[test]
fn windows_take_their_offsets_and_resolve_their_targets() {
    let inv = parse(
        "\n[[maintenance]]\ntarget = \"STA-core-a\"\nstart = \"2024-07-26T18:00:00+02:00\"\nduration = \"2h\"\nreason = \" firmware \"\n\n[[maintenance]]\ntarget = \"STA-core\"\nstart = \"2024-07-26T16:00:00Z\"\nend = \"2024-07-26T14:30:00-04:00\"\nreason = \"r\"\n\n[[maintenance]]\ntarget = \"STA\"\nstart = \"2024-07-26T00:00:00.5Z\"\nduration = \"1m 30s\"\nreason = \"r\"\n",
    );
    let [device, group, venue] = inv.maintenance.as_slice() else {
        panic!("three windows: {:?}", inv.maintenance);
    };
    // 2024-07-26T16:00:00Z.
    let four_pm = 1_722_009_600;
    assert_eq!(secs(device.start), four_pm);
    assert_eq!(secs(device.end), four_pm + 7200);
    assert_eq!(device.reason, "firmware");
    assert_eq!(device.target, "STA-core-a");
    let (idx, _) = inv.device("STA-core-a").expect("device");
    assert_eq!(device.scope, MaintenanceScope::Device(idx));
    assert_eq!(secs(group.start), four_pm);
    // 14:30 at -04:00 is 18:30 UTC.
    assert_eq!(secs(group.end), four_pm + 2 * 3600 + 1800);
    let gidx = inv
        .groups
        .iter()
        .position(|g| g.id == "STA-core")
        .expect("group");
    assert_eq!(
        group.scope,
        MaintenanceScope::Group(toc::model::topology::GroupIdx(gidx))
    );
    assert_eq!(
        venue.scope,
        MaintenanceScope::Venue(toc::model::topology::VenueIdx(0))
    );
    assert_eq!(
        venue.end.duration_since(venue.start).expect("ordered"),
        Duration::from_secs(90)
    );
    assert_eq!(
        venue
            .start
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .subsec_millis(),
        500
    );
}

#[test]
fn a_window_covers_its_start_but_not_its_end() {
    let inv = parse(
        "\n[[maintenance]]\ntarget = \"STA\"\nstart = \"2024-07-26T16:00:00Z\"\nduration = \"2h\"\nreason = \"r\"\n",
    );
    let w = &inv.maintenance[0];
    assert!(!w.covers(w.start - Duration::from_nanos(1)));
    assert!(w.covers(w.start));
    assert!(w.covers(w.end - Duration::from_nanos(1)));
    assert!(!w.covers(w.end));
}

#[test]
fn without_incidents_the_policy_is_the_documented_default() {
    let inv = parse("");
    assert!(inv.maintenance.is_empty());
    assert_eq!(inv.incidents, IncidentPolicy::default());
    assert_eq!(
        inv.incidents,
        IncidentPolicy {
            resolve_hold: Duration::from_secs(120),
            reopen_window: Duration::from_secs(900),
            ack_timeout: AckTimeouts {
                down: Duration::from_secs(300),
                degraded: Duration::from_secs(900),
                unknown: Duration::from_secs(1800),
            },
            notify_command: Vec::new(),
            notify_timeout: Duration::from_secs(10),
            bell: false,
        }
    );
}

#[test]
fn every_incident_key_is_read_and_the_rest_defaults() {
    let inv = parse(
        "\n[incidents]\nresolve_hold = \"0s\"\nreopen_window = \"1h\"\nack_timeout = { degraded = \"1h\" }\nnotify_command = [\"page\", \"--team\", \"toc ops\"]\nnotify_timeout = \"500ms\"\nbell = true\n",
    );
    let p = &inv.incidents;
    assert_eq!(p.resolve_hold, Duration::ZERO);
    assert_eq!(p.reopen_window, Duration::from_secs(3600));
    assert_eq!(
        p.ack_timeout,
        AckTimeouts {
            down: Duration::from_secs(300),
            degraded: Duration::from_secs(3600),
            unknown: Duration::from_secs(1800),
        }
    );
    assert_eq!(p.notify_command, ["page", "--team", "toc ops"]);
    assert_eq!(p.notify_timeout, Duration::from_millis(500));
    assert!(p.bell);
}

#[test]
fn a_notify_program_missing_here_is_a_warning() {
    let extra = "\n[incidents]\nnotify_command = [\"/nonexistent/toc-test/page\"]\n";
    let src = SourceFile::new("venues.toml", format!("{}{extra}", base()));
    let (inv, warnings) = Inventory::parse(&src).expect("a warning, not an error");
    assert_eq!(inv.incidents.notify_command, ["/nonexistent/toc-test/page"]);
    let w: Vec<String> = warnings
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .map(|d| format!("{}:{}: {}", d.line, d.column, d.message))
        .collect();
    assert_eq!(
        w,
        ["61:19: the program of notify_command `/nonexistent/toc-test/page` does not exist here"]
    );
}

#[test]
fn a_target_that_is_a_device_and_a_venue_is_the_device_with_a_warning() {
    // A device `STA` in venue STA (the last [[venues]] of the base).
    let text = format!(
        "{}\n[[venues.devices]]\nid = \"STA\"\nrole = \"clock\"\nprobe = \"tcp://127.0.0.1:9\"\n",
        base()
    );
    let extra = "\n[[maintenance]]\ntarget = \"STA\"\nstart = \"2024-07-26T16:00:00Z\"\nduration = \"2h\"\nreason = \"r\"\n";
    let src = SourceFile::new("venues.toml", format!("{text}{extra}"));
    let (inv, warnings) = Inventory::parse(&src).expect("valid");
    let (idx, _) = inv.device("STA").expect("device STA");
    assert_eq!(inv.maintenance[0].scope, MaintenanceScope::Device(idx));
    assert!(
        warnings.iter().any(|d| d
            .message
            .contains("maintenance target `STA` names more than one thing")),
        "{warnings:?}"
    );
}

#[test]
fn check_counts_the_windows_and_prints_the_policy() {
    let file = format!(
        "{}\n[[maintenance]]\ntarget = \"STA\"\nstart = \"2024-07-26T16:00:00Z\"\nduration = \"2h\"\nreason = \"r\"\n\n[incidents]\nresolve_hold = \"30s\"\n",
        base()
    );
    let out = check(&file);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.contains("  maintenance 1 window (0 in force now)\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "  incidents  resolve after 30s clear, reopen within 15m, notify again after 5m (down)\n"
        ),
        "{stdout}"
    );
}

/// The keys a table takes, as toc's unknown-field error lists them.
fn keys_of(extra: &str) -> Vec<String> {
    let src = SourceFile::new("venues.toml", format!("{}{extra}", base()));
    let diags = Inventory::parse(&src).expect_err("an unknown key");
    let msg = &diags[0].message;
    let list = msg
        .split("expected one of ")
        .nth(1)
        .unwrap_or_else(|| panic!("{msg}"));
    list.split(" in ")
        .next()
        .unwrap_or_default()
        .split(", ")
        .map(|k| k.trim_matches('`').to_owned())
        .collect()
}

#[test]
fn every_key_is_documented_in_docs_config() {
    let docs =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/config.md"))
            .expect("docs");
    let tables = [
        "\n[[maintenance]]\nzzz = 1\n",
        "\n[incidents]\nzzz = 1\n",
        "\n[incidents]\nack_timeout = { zzz = \"1m\" }\n",
    ];
    for extra in tables {
        let keys = keys_of(extra);
        assert!(keys.len() >= 3, "{keys:?}");
        for key in keys {
            assert!(
                docs.contains(&format!("| `{key}` |")) || docs.contains(&format!("`{key}`,")),
                "`{key}` is not documented in docs/config.md"
            );
        }
    }
}
