//! What the loader accepts, and what it makes of it: probe URL forms,
//! parent forms, profile forms, defaults and overrides, secrets.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use rstest::rstest;
use toc::config::venues::{AuthProtocol, PrivProtocol, ProbeTarget, Profile, Secret};
use toc::config::{Inventory, SourceFile};

const BASE: &str = include_str!("fixtures/base.toml");

fn load(text: &str) -> Inventory {
    match Inventory::parse(&SourceFile::new("t.toml", text.to_owned())) {
        Ok((inv, _)) => inv,
        Err(diags) => panic!("{}", toc::config::diag::render(&diags)),
    }
}

/// The base fixture with the probe of `STA-ovr-b` replaced.
fn with_probe(probe: &str) -> Inventory {
    load(&BASE.replace("http://127.0.0.1:18081/health", probe))
}

#[rstest]
#[case::http("http://127.0.0.1:18081/health", ProbeTarget::Http { url: "http://127.0.0.1:18081/health".into() })]
#[case::https_default_port("https://ovr.sta.example/health", ProbeTarget::Http { url: "https://ovr.sta.example/health".into() })]
#[case::tcp("tcp://127.0.0.1:5000", ProbeTarget::Tcp { host: "127.0.0.1".into(), port: 5000 })]
#[case::tcp_ipv6("tcp://[::1]:5000", ProbeTarget::Tcp { host: "::1".into(), port: 5000 })]
fn probe_urls_parse(#[case] url: &str, #[case] want: ProbeTarget) {
    let inv = with_probe(url);
    assert_eq!(inv.device("STA-ovr-b").expect("device").1.probe, want);
}

#[rstest]
#[case::explicit_port("snmp://127.0.0.1:16100", "127.0.0.1", 16100)]
#[case::default_port("snmp://10.1.2.3", "10.1.2.3", 161)]
#[case::ipv6("snmp://[::1]:1161", "::1", 1161)]
#[case::hostname(
    "snmp://core-a.sta.paris2024.example",
    "core-a.sta.paris2024.example",
    161
)]
fn snmp_urls_parse(#[case] url: &str, #[case] host: &str, #[case] port: u16) {
    let inv = load(&BASE.replace("snmp://127.0.0.1:16100", url));
    let want = ProbeTarget::Snmp {
        host: host.into(),
        port,
    };
    assert_eq!(inv.device("STA-core-a").expect("device").1.probe, want);
}

#[test]
fn defaults_apply_and_devices_override_them() {
    let inv = load(&BASE.replace(
        "id = \"STA-ovr-b\"\n",
        "id = \"STA-ovr-b\"\npoll_interval = \"2s\"\ntimeout = \"500ms\"\ncritical = false\nexpect_status = 204\n",
    ));
    let a = inv.device("STA-ovr-a").expect("a").1;
    let b = inv.device("STA-ovr-b").expect("b").1;
    assert_eq!(
        (a.poll_interval, a.timeout, a.critical),
        (Duration::from_secs(5), Duration::from_secs(1), true)
    );
    assert_eq!(
        a.checks.expect_status,
        Some(200),
        "HTTP devices expect 200 unless told"
    );
    assert_eq!(
        (b.poll_interval, b.timeout, b.critical),
        (Duration::from_secs(2), Duration::from_millis(500), false)
    );
    assert_eq!(b.checks.expect_status, Some(204));
    let core = inv.device("STA-core-a").expect("core").1;
    assert_eq!(
        core.checks.expect_status, None,
        "no HTTP status on an SNMP device"
    );
    assert!((inv.event.flap_high - 50.0).abs() < f64::EPSILON);
    assert!((inv.event.flap_low - 25.0).abs() < f64::EPSILON);
    assert!(inv.event.data_dir.ends_with("toc-data"));
    assert_eq!(inv.event.slo["commentators"], Duration::from_millis(350));
    assert_eq!(inv.event.slo["web_mobile"], Duration::from_millis(2350));
}

#[test]
fn parents_groups_and_feeds_resolve_to_indices() {
    let inv = load(BASE);
    let (a, _) = inv.device("STA-core-a").expect("a");
    let (b, _) = inv.device("STA-core-b").expect("b");
    let ovr = inv.device("STA-ovr-a").expect("ovr").1;
    assert_eq!(ovr.parents, [a, b]);
    let group = &inv.groups[0];
    assert_eq!(
        (group.id.as_str(), group.min_up, group.members.clone()),
        ("STA-core", 1, vec![a, b])
    );
    let feed = &inv.feeds[0];
    assert_eq!(feed.primary, inv.device("STA-ovr-a").expect("p").0);
    assert_eq!(feed.backup, inv.device("STA-ovr-b").expect("b").0);
    assert_eq!(feed.stale_after, Duration::from_secs(30));
    assert_eq!(inv.venues[0].feeds, [0]);
}

#[test]
fn a_single_parent_may_be_a_plain_string() {
    let inv = load(&BASE.replacen(
        "parent = [\"STA-core-a\", \"STA-core-b\"]",
        "parent = \"STA-core-b\"",
        1,
    ));
    let (b, _) = inv.device("STA-core-b").expect("b");
    assert_eq!(inv.device("STA-ovr-a").expect("ovr").1.parents, [b]);
}

#[test]
fn a_parent_may_be_in_another_venue() {
    let text = format!(
        "{BASE}\n[[venues]]\ncode = \"LIL\"\nname = \"Pierre Mauroy Stadium\"\ncity = \"Lille\"\n\n\
         [[venues.devices]]\nid = \"LIL-cis\"\nrole = \"cis-server\"\nprobe = \"tcp://127.0.0.1:9\"\nparent = \"STA-core-a\"\n"
    );
    let inv = load(&text);
    assert_eq!(
        inv.device("LIL-cis").expect("cis").1.parents,
        [inv.device("STA-core-a").expect("a").0]
    );
}

#[rstest]
#[case::v2c_env(
    "[profiles.p]\nversion = \"v2c\"\ncommunity_env = \"TOC_COMMUNITY\"\n",
    Profile::V2c { community: Secret::Env("TOC_COMMUNITY".into()) }
)]
#[case::v3_auth_no_priv(
    "[profiles.p]\nversion = \"v3\"\nuser = \"toc\"\nauth = \"sha\"\nauth_passphrase_env = \"A\"\n",
    Profile::V3 { user: "toc".into(), auth: AuthProtocol::Sha1, auth_passphrase: Secret::Env("A".into()), privacy: None }
)]
#[case::v3_auth_priv_aes256(
    "[profiles.p]\nversion = \"v3\"\nuser = \"toc\"\nauth = \"sha256\"\nauth_passphrase_env = \"A\"\nprivacy = \"aes256\"\nprivacy_passphrase_env = \"P\"\n",
    Profile::V3 {
        user: "toc".into(),
        auth: AuthProtocol::Sha256,
        auth_passphrase: Secret::Env("A".into()),
        privacy: Some((PrivProtocol::Aes256, Secret::Env("P".into()))),
    }
)]
fn profiles_parse(#[case] table: &str, #[case] want: Profile) {
    let inv = load(&BASE.replace("[[venues]]", &format!("{table}\n[[venues]]")));
    assert_eq!(inv.profiles["p"], want);
}

#[test]
fn secrets_never_show_in_debug_output() {
    let inv = load(&BASE.replace("community = \"public\"", "community = \"s3cret-community\""));
    let debug = format!("{inv:?}");
    assert!(
        !debug.contains("s3cret-community"),
        "community leaked: {debug}"
    );
    assert!(debug.contains("Secret(<redacted>)"));
    assert_eq!(
        inv.profiles["venue-v2c"],
        Profile::V2c {
            community: Secret::Literal("s3cret-community".into())
        }
    );
}

#[test]
fn unset_passphrase_variables_of_used_profiles_are_warnings_with_a_position() {
    let text = BASE.replace(
        "[[venues]]",
        "[profiles.core-v3]\nversion = \"v3\"\nuser = \"toc\"\nauth = \"sha256\"\nauth_passphrase_env = \"TOC_TEST_UNSET_VAR_7F3A\"\n\n[[venues]]",
    );
    // Unused: no warning.
    let (_, warnings) = Inventory::parse(&SourceFile::new("t.toml", text.clone())).expect("valid");
    assert!(warnings.is_empty(), "{warnings:?}");
    // Used: a warning at the profile's name, and still valid.
    let used = text.replacen("profile = \"venue-v2c\"", "profile = \"core-v3\"", 1);
    let (_, warnings) = Inventory::parse(&SourceFile::new("t.toml", used)).expect("valid");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0]
            .message
            .contains("`TOC_TEST_UNSET_VAR_7F3A` of profile `core-v3` is not set")
    );
    assert_eq!((warnings[0].line, warnings[0].column), (17, 11));
}
