//! `toc check` through the binary: the shipped inventories pass with the
//! right counts, and every bad fixture fails with its message at its
//! line:column, exit status 2, and nothing on stdout.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rstest::rstest;

fn toc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_toc"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("TOC_SNMP_AUTH")
        .env_remove("TOC_SNMP_PRIV")
        .output()
        .expect("run toc")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[rstest]
#[case::syntax_error("syntax_error", "2:22", "invalid basic string", "TOML syntax")]
#[case::unknown_top_key(
    "unknown_top_key",
    "59:2",
    "unknown top-level key `alerts`",
    "`event`, `profiles`, `venues`"
)]
#[case::unknown_device_field(
    "unknown_device_field",
    "39:1",
    "unknown field `colour`",
    "fix its spelling"
)]
#[case::missing_probe(
    "missing_probe",
    "29:1",
    "missing field `probe` in device",
    "add the key"
)]
#[case::wrong_type(
    "wrong_type",
    "50:10",
    "invalid type: string \"one\", expected an integer",
    "docs/config.md"
)]
#[case::duplicate_device_id(
    "duplicate_device_id",
    "49:6",
    "duplicate device id `STA-ovr-a` (first defined on line 37)",
    "rename one"
)]
#[case::duplicate_venue_code(
    "duplicate_venue_code",
    "60:8",
    "duplicate venue code `STA` (first defined on line 17)",
    "its own code"
)]
#[case::dangling_group(
    "dangling_group",
    "27:9",
    "device `STA-core-a` names unknown group `STA-cores`",
    "[[venues.groups]]"
)]
#[case::dangling_parent(
    "dangling_parent",
    "40:25",
    "device `STA-ovr-a` names unknown parent `STA-core-c`",
    "uplink"
)]
#[case::dangling_profile(
    "dangling_profile",
    "26:11",
    "device `STA-core-a` names unknown profile `venue-v3`",
    "venue-v2c"
)]
#[case::parent_cycle(
    "parent_cycle",
    "28:10",
    "parent cycle: STA-core-a -> STA-ovr-a -> STA-core-a",
    "break the loop"
)]
#[case::min_up_too_large(
    "min_up_too_large",
    "50:10",
    "min_up of group `STA-core` is 3 but the group has only 2 members",
    "lower min_up"
)]
#[case::bad_duration("bad_duration", "3:17", "invalid duration `5 parsecs`", "unit")]
#[case::duration_without_unit(
    "duration_without_unit",
    "57:15",
    "invalid duration `30`: a number needs a unit",
    "\"5s\""
)]
#[case::bad_url_scheme(
    "bad_url_scheme",
    "45:9",
    "unsupported probe scheme `ftp`",
    "snmp://, http://, https:// or tcp://"
)]
#[case::not_a_url(
    "not_a_url",
    "45:9",
    "probe URL `127.0.0.1:18081` of `STA-ovr-b` is not a URL",
    "tcp://host:port"
)]
#[case::tcp_without_port(
    "tcp_without_port",
    "45:9",
    "tcp probe URL `tcp://127.0.0.1` of `STA-ovr-b` has no port",
    "tcp://host:port"
)]
#[case::unknown_snmp_version(
    "unknown_snmp_version",
    "13:11",
    "unknown SNMP version `v4` in profile `venue-v2c`",
    "\"v2c\" or \"v3\""
)]
#[case::snmp_v1("snmp_v1", "13:11", "SNMP v1 is not supported", "no GETBULK")]
#[case::snmp_without_profile(
    "snmp_without_profile",
    "25:9",
    "SNMP device `STA-core-a` names no credential profile",
    "defined: venue-v2c"
)]
#[case::interfaces_on_http(
    "interfaces_on_http",
    "39:14",
    "`interfaces` applies to snmp:// devices only",
    "remove `interfaces`"
)]
#[case::feed_same_source(
    "feed_same_source",
    "55:10",
    "feed `STA-results` has the same primary and backup source",
    "different results server"
)]
#[case::consumer_without_slo(
    "consumer_without_slo",
    "56:30",
    "consumer class `broadcast`, which has no SLO",
    "[event.slo]"
)]
#[case::bad_log_size(
    "bad_log_size",
    "4:16",
    "invalid size `16 parsecs`: unknown unit `parsecs`",
    "docs/config.md"
)]
#[case::log_size_out_of_range(
    "log_size_out_of_range",
    "4:18",
    "audit_max_size must be from 64KiB to 4GiB",
    "16MiB"
)]
#[case::log_keep_out_of_range(
    "log_keep_out_of_range",
    "4:14",
    "audit_keep is -1; it must be between 0 and 1000",
    "old files to keep"
)]
#[case::flap_low_above_high(
    "flap_low_above_high",
    "8:12",
    "flap_low (40) must be lower than flap_high (20)",
    "toggling"
)]
#[case::timeout_over_interval(
    "timeout_over_interval",
    "4:11",
    "timeout x (retries + 1) = 6s exceeds poll_interval 5s",
    "shorten timeout"
)]
#[case::group_without_members(
    "group_without_members",
    "53:6",
    "group `STA-ovr` has no members",
    "group = \"STA-ovr\""
)]
#[case::v3_without_passphrase(
    "v3_without_passphrase",
    "17:11",
    "v3 profile `core-v3` has no `auth_passphrase_env`",
    "auth_passphrase_env = "
)]
#[case::bad_venue_code(
    "bad_venue_code",
    "17:8",
    "venue code `Stade` is not 2 to 8 upper-case letters or digits",
    "`STA`"
)]
#[case::cpu_threshold_out_of_range(
    "cpu_threshold_out_of_range",
    "28:17",
    "cpu_threshold of `STA-core-a` is 150",
    "DEGRADED"
)]
#[case::json_field_without_expect(
    "json_field_without_expect",
    "46:14",
    "`STA-ovr-b` sets json_field without json_expect",
    "add json_expect = "
)]
#[case::json_expect_without_field(
    "json_expect_without_field",
    "46:15",
    "`STA-ovr-b` sets json_expect without json_field",
    "add json_field = "
)]
#[case::latency_warn_not_below_timeout(
    "latency_warn_not_below_timeout",
    "46:16",
    "latency_warn 1s of `STA-ovr-b` is not below its timeout 1s",
    "half the timeout"
)]
#[case::empty_body_contains(
    "empty_body_contains",
    "46:17",
    "body_contains of `STA-ovr-b` is empty",
    "or remove the key"
)]
#[case::body_contains_on_snmp(
    "body_contains_on_snmp",
    "26:17",
    "`body_contains` applies to http(s):// devices only, and `STA-core-a` is probed by snmp",
    "remove `body_contains`"
)]
#[case::missing_event("missing_event", "1:1", "missing [event] table", "name = ")]
fn bad_fixture_is_rejected_at_its_position(
    #[case] fixture: &str,
    #[case] position: &str,
    #[case] message: &str,
    #[case] help: &str,
) {
    let path = format!("tests/fixtures/bad/{fixture}.toml");
    let out = toc(&["check", &path]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "exit status; stderr:\n{stderr}");
    assert!(
        out.stdout.is_empty(),
        "nothing on stdout, got:\n{}",
        text(&out.stdout)
    );
    let head = format!("{path}:{position}: error: ");
    let line = stderr
        .lines()
        .find(|l| l.starts_with(&head))
        .unwrap_or_else(|| panic!("no error at {position} in:\n{stderr}"));
    assert!(line.contains(message), "want {message:?} in {line:?}");
    // The help line follows the source excerpt of the same diagnostic.
    let after = stderr.split(line).nth(1).unwrap_or_default();
    let help_line = after
        .lines()
        .find(|l| l.trim_start().starts_with("= help:"))
        .unwrap_or_default();
    assert!(
        help_line.contains(help),
        "want help {help:?}, got {help_line:?}"
    );
    // One defect, one error: no cascade of follow-on errors.
    let errors = stderr.lines().filter(|l| l.contains(": error: ")).count();
    assert_eq!(errors, 1, "exactly one error expected:\n{stderr}");
}

#[test]
fn every_error_of_a_file_is_reported_in_one_run() {
    let path = "tests/fixtures/bad/several_errors.toml";
    let out = toc(&["check", path]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    let positions: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(": error: "))
        .filter_map(|l| l.strip_prefix(path)?.split(": error").next())
        .collect();
    assert_eq!(positions, [":13:11", ":27:9", ":58:1"], "{stderr}");
    assert!(
        stderr.contains("several_errors.toml: 3 errors found"),
        "{stderr}"
    );
}

#[test]
fn every_fixture_in_the_folder_is_covered() {
    let listed = include_str!("check_cli.rs");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad");
    let mut count = 0;
    for entry in std::fs::read_dir(dir).expect("fixtures") {
        let name = entry
            .expect("entry")
            .path()
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        assert!(
            listed.contains(&format!("{name}\"")) || listed.contains(&format!("{name}.toml")),
            "fixture {name} has no test case"
        );
        count += 1;
    }
    assert!(count >= 15, "at least 15 bad fixtures, found {count}");
}

#[test]
fn the_fixture_base_is_valid() {
    let out = toc(&["check", "tests/fixtures/base.toml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let out = toc(&["check", "tests/fixtures/nope.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).starts_with("tests/fixtures/nope.toml:1:1: error: cannot read the file")
    );
}

/// Counts taken from the file with a plain TOML parser, independent of
/// toc's own loader.
struct Counts {
    venues: usize,
    devices: usize,
    snmp: usize,
    http: usize,
    tcp: usize,
    groups: usize,
    feeds: usize,
}

fn count_independently(path: &Path) -> Counts {
    let doc: toml::Table = std::fs::read_to_string(path)
        .expect("read")
        .parse()
        .expect("toml");
    let venues = doc["venues"].as_array().expect("venues");
    let list = |v: &toml::Value, key: &str| {
        v.get(key)
            .and_then(toml::Value::as_array)
            .map_or(0, Vec::len)
    };
    let probes: Vec<String> = venues
        .iter()
        .flat_map(|v| {
            v.get("devices")
                .and_then(toml::Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .map(|d| d["probe"].as_str().expect("probe").to_owned())
        .collect();
    Counts {
        venues: venues.len(),
        devices: probes.len(),
        snmp: probes.iter().filter(|p| p.starts_with("snmp://")).count(),
        http: probes.iter().filter(|p| p.starts_with("http")).count(),
        tcp: probes.iter().filter(|p| p.starts_with("tcp://")).count(),
        groups: venues.iter().map(|v| list(v, "groups")).sum(),
        feeds: venues.iter().map(|v| list(v, "feeds")).sum(),
    }
}

fn summary_value(stdout: &str, key: &str) -> String {
    stdout
        .lines()
        .filter(|l| l.starts_with("  "))
        .find_map(|l| {
            l.trim_start()
                .strip_prefix(key)
                .filter(|rest| rest.starts_with(' '))
        })
        .unwrap_or_else(|| panic!("no `{key}` line in:\n{stdout}"))
        .trim()
        .to_owned()
}

#[rstest]
#[case::shipped("venues.toml")]
#[case::small("examples/venues-small.toml")]
fn shipped_inventory_passes_with_right_counts(#[case] file: &str) {
    let out = toc(&["check", file]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("error"),
        "{}",
        text(&out.stderr)
    );
    let want = count_independently(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(file));
    assert_eq!(summary_value(&stdout, "venues"), want.venues.to_string());
    assert_eq!(
        summary_value(&stdout, "devices").split(" (").next(),
        Some(want.devices.to_string().as_str())
    );
    let per_scheme = format!("(snmp {}, http {}, tcp {};", want.snmp, want.http, want.tcp);
    assert!(
        summary_value(&stdout, "devices").contains(&per_scheme),
        "{stdout}"
    );
    assert_eq!(summary_value(&stdout, "groups"), want.groups.to_string());
    assert_eq!(summary_value(&stdout, "feeds"), want.feeds.to_string());
}

#[test]
fn shipped_inventory_is_a_games() {
    let want = count_independently(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("venues.toml"));
    assert!(want.venues >= 30, "{} venues", want.venues);
    assert!(want.devices >= 600, "{} devices", want.devices);
    assert_eq!(want.feeds, want.venues, "one result feed per venue");
}

#[test]
fn shipped_playbooks_pass() {
    let out = toc(&["check", "venues.toml", "--playbooks", "playbooks"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let line = summary_value(&text(&out.stdout), "playbooks");
    let n: usize = line
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("count");
    assert!(n >= 3, "{line}");
}

#[test]
fn bad_playbooks_are_all_reported_at_their_positions() {
    let out = toc(&[
        "check",
        "tests/fixtures/base.toml",
        "--playbooks",
        "tests/fixtures/bad-playbooks",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let dir = "tests/fixtures/bad-playbooks";
    for (file, pos, message) in [
        (
            "a-reroute-not-dangerous",
            "8:6",
            "reroute step `switch` is not marked dangerous",
        ),
        (
            "b-duplicate-step",
            "13:6",
            "duplicate step id `check` (first on line 8)",
        ),
        ("c-unknown-trigger", "5:8", "unknown variant `power_lost`"),
    ] {
        let head = format!("{dir}/{file}.toml:{pos}: error: {message}");
        assert!(stderr.contains(&head), "want {head:?} in:\n{stderr}");
    }
    assert!(
        stderr.contains(&format!("{dir}: 3 errors found")),
        "{stderr}"
    );
}

#[test]
fn without_arguments_it_checks_venues_toml_here_and_prints_no_secret() {
    let out = toc(&["check"]);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{all}");
    assert!(all.starts_with("venues.toml: ok"), "{all}");
    assert!(
        !all.contains("toc-demo"),
        "the v2c community must not be printed:\n{all}"
    );
}
