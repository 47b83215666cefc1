//! The synthetic Games: valid at every size, the real shape of a venue,
//! exact counts, and served by the simulator on ephemeral ports.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;
use std::sync::Arc;

use futures_util::StreamExt as _;
use proptest::prelude::*;
use toc::config::venues::ProbeTarget;
use toc::config::{Inventory, SourceFile};
use toc::model::CheckResult;
use toc::probe::Probe as _;
use toc::probe::any::AnyProbe;
use toc::sim::SimOptions;
use toc::sim::synth::{MAX_DEVICES, MAX_VENUES, games};

/// Parses `games(venues, devices)`, failing on any error or warning, and
/// checks what every synthetic Games must be.
fn valid(venues: usize, devices: usize) -> Inventory {
    let text = games(venues, devices);
    let src = SourceFile::new(format!("synth-{venues}-{devices}.toml"), text);
    let (inv, diags) = Inventory::parse(&src).unwrap_or_else(|errors| {
        let shown: Vec<String> = errors.iter().take(5).map(ToString::to_string).collect();
        panic!(
            "games({venues}, {devices}) is invalid:\n{}",
            shown.join("\n")
        )
    });
    assert!(
        diags.is_empty(),
        "games({venues}, {devices}) warns: {:?}",
        diags.iter().map(ToString::to_string).collect::<Vec<_>>()
    );
    assert_eq!(
        inv.venues.len(),
        venues,
        "venues of games({venues}, {devices})"
    );
    assert_eq!(
        inv.devices.len(),
        devices,
        "devices of games({venues}, {devices})"
    );
    let codes: HashSet<&str> = inv.venues.iter().map(|v| v.code.as_str()).collect();
    assert_eq!(codes.len(), venues, "venue codes are unique");
    for v in &inv.venues {
        assert!(!v.devices.is_empty(), "{} has no device", v.code);
        assert!(v.code.len() == 3, "{}", v.code);
    }
    for g in &inv.groups {
        assert!(
            g.min_up >= 1 && g.members.len() >= g.min_up,
            "group {} cannot be satisfied",
            g.id
        );
    }
    // Every venue has its uplink router, the root of its parent tree.
    for v in &inv.venues {
        let root = format!("{}-rtr-a", v.code);
        assert!(inv.device(&root).is_some(), "{root}");
    }
    inv
}

/// The address (as `host:port`) and protocol of each device.
fn address(d: &ProbeTarget) -> (&'static str, String) {
    match d {
        ProbeTarget::Snmp { host, port } => ("udp", format!("{host}:{port}")),
        ProbeTarget::Tcp { host, port } => ("tcp", format!("{host}:{port}")),
        ProbeTarget::Http { url } => {
            let u = url::Url::parse(url).unwrap();
            (
                "tcp",
                format!("{}:{}", u.host_str().unwrap(), u.port().unwrap()),
            )
        }
    }
}

#[test]
fn every_size_of_the_table_is_valid_and_exact() {
    for (venues, devices) in [
        (1, 1),
        (1, 2),
        (1, 17),
        (1, 18),
        (1, 500),
        (2, 2),
        (2, 3),
        (7, 50),
        (35, 723),
        (49, 49),
        (49, 98),
        (49, 700),
        (49, 1_000),
        (49, 10_000),
        (60, 60),
        (60, 61),
        (60, 999),
        (60, 20_000),
    ] {
        valid(venues, devices);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn any_size_is_valid_and_exact(venues in 1..=MAX_VENUES, extra in 0usize..3_000) {
        valid(venues, venues + extra);
    }
}

#[test]
fn the_same_arguments_give_the_same_text() {
    assert_eq!(games(12, 1234), games(12, 1234));
    assert_ne!(games(12, 1234), games(12, 1235));
}

#[test]
fn out_of_range_arguments_are_brought_into_range() {
    let inv = |v, d| {
        let (inv, _) = Inventory::parse(&SourceFile::new("x.toml", games(v, d))).unwrap();
        (inv.venues.len(), inv.devices.len())
    };
    assert_eq!(inv(0, 0), (1, 1));
    assert_eq!(inv(61, 10), (MAX_VENUES, MAX_VENUES));
    assert_eq!(inv(3, 1), (3, 3));
    // No unbounded text: at most MAX_DEVICES devices.
    let text = games(1, usize::MAX);
    assert!(text.contains(&format!("(1 venues, {MAX_DEVICES} devices)")));
    assert_eq!(text.matches("[[venues.devices]]").count(), MAX_DEVICES);
}

#[test]
fn a_full_games_has_the_real_shape_of_a_venue() {
    let inv = valid(49, 10_000);
    let id = |s: &str| inv.device(s).unwrap_or_else(|| panic!("no {s}")).1;
    let names = |idx: &[toc::model::topology::DeviceIdx]| -> BTreeSet<String> {
        idx.iter().map(|i| inv.devices[i.0].id.clone()).collect()
    };
    for v in &inv.venues {
        let c = &v.code;
        let ids = |suffixes: &[&str]| -> BTreeSet<String> {
            suffixes.iter().map(|s| format!("{c}-{s}")).collect()
        };
        let groups: BTreeMap<&str, BTreeSet<String>> = v
            .groups
            .iter()
            .map(|g| {
                let g = &inv.groups[g.0];
                assert_eq!(g.min_up, 1, "{}", g.id);
                (g.id.as_str(), names(&g.members))
            })
            .collect();
        let routers = ids(&["rtr-a", "rtr-b"]);
        let cores = ids(&["core-a", "core-b"]);
        assert_eq!(groups[format!("{c}-uplink").as_str()], routers);
        assert_eq!(groups[format!("{c}-fw").as_str()], ids(&["fw-a", "fw-b"]));
        assert_eq!(groups[format!("{c}-core").as_str()], cores);
        for fw in ["fw-a", "fw-b", "core-a", "core-b"] {
            assert_eq!(names(&id(&format!("{c}-{fw}")).parents), routers);
        }
        assert_eq!(names(&id(&format!("{c}-acc-01")).parents), cores);
        assert_eq!(id(&format!("{c}-rtr-a")).role, "uplink-router");
        assert_eq!(id(&format!("{c}-wlc")).role, "wifi-controller");
        let servers: Vec<&str> = groups
            .keys()
            .copied()
            .filter(|g| g.ends_with("-ovr") || g.ends_with("-srv"))
            .collect();
        assert_eq!(servers.len(), 1, "{c}: one server pair");
        // Competition venues: results feed, timing and scoreboard.
        if groups.contains_key(format!("{c}-ovr").as_str()) {
            assert_eq!(v.feeds.len(), 1, "{c}");
            let feed = &inv.feeds[v.feeds[0]];
            assert_eq!(inv.devices[feed.primary.0].id, format!("{c}-ovr-a"));
            assert_eq!(inv.devices[feed.backup.0].id, format!("{c}-ovr-b"));
            assert!(matches!(
                id(&format!("{c}-timing")).probe,
                ProbeTarget::Tcp { .. }
            ));
            assert!(matches!(
                id(&format!("{c}-scb")).probe,
                ProbeTarget::Tcp { .. }
            ));
            assert!(matches!(
                id(&format!("{c}-ovr-a")).probe,
                ProbeTarget::Http { .. }
            ));
        }
        // Every device hangs off something but the routers, and every
        // parent is of the same venue.
        for d in v.devices.iter().map(|i| &inv.devices[i.0]) {
            if d.role != "uplink-router" {
                assert!(!d.parents.is_empty(), "{} has no parent", d.id);
            }
            assert!(d.parents.iter().all(|p| inv.devices[p.0].venue == d.venue));
        }
    }
    // Larger venues get more: Stade de France over Hôtel de Ville.
    let size = |code: &str| {
        inv.venues
            .iter()
            .find(|v| v.code == code)
            .unwrap()
            .devices
            .len()
    };
    assert!(
        size("STA") > 3 * size("HDV"),
        "{} vs {}",
        size("STA"),
        size("HDV")
    );
    // Roles a real Games has in numbers.
    let roles: BTreeSet<&str> = inv.devices.iter().map(|d| d.role.as_str()).collect();
    for role in [
        "access-switch",
        "wifi-ap",
        "printer",
        "cis-terminal",
        "pdu",
        "photo-finish",
    ] {
        assert!(roles.contains(role), "{role}");
    }
}

#[test]
fn a_small_games_keeps_the_most_important_devices() {
    // One device per venue: its uplink router.
    let inv = valid(49, 49);
    assert!(inv.devices.iter().all(|d| d.role == "uplink-router"));
    assert!(inv.feeds.is_empty());
    // Two: router and core switch behind it.
    let inv = valid(49, 98);
    for v in &inv.venues {
        let core = inv.device(&format!("{}-core-a", v.code)).unwrap().1;
        let parents: Vec<&str> = core
            .parents
            .iter()
            .map(|p| inv.devices[p.0].id.as_str())
            .collect();
        assert_eq!(parents, [format!("{}-rtr-a", v.code)]);
    }
    // Seven per venue: both routers, both cores, both results servers and
    // their feed at every competition venue.
    let inv = valid(35, 35 * 7);
    assert_eq!(inv.feeds.len(), 35);
    for f in &inv.feeds {
        assert_ne!(f.primary, f.backup);
    }
}

#[test]
fn addresses_are_per_venue_and_clear_of_the_shipped_file() {
    let inv = valid(MAX_VENUES, 20_000);
    let mut snmp: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    let mut http: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    let mut tcp: BTreeMap<String, usize> = BTreeMap::new();
    for d in &inv.devices {
        let (_, addr) = address(&d.probe);
        assert!(addr.starts_with("127.0.0.1:"), "{addr}");
        match &d.probe {
            ProbeTarget::Snmp { .. } => {
                assert_eq!(d.context.as_deref(), Some(d.id.as_str()));
                snmp.entry(d.venue.0).or_default().insert(addr);
            }
            ProbeTarget::Http { url } => {
                assert!(url.ends_with(&format!("/health/{}", d.id)), "{url}");
                http.entry(d.venue.0).or_default().insert(addr);
            }
            ProbeTarget::Tcp { .. } => *tcp.entry(addr).or_default() += 1,
        }
    }
    assert!(snmp.values().chain(http.values()).all(|a| a.len() == 1));
    let distinct: BTreeSet<&String> = snmp.values().chain(http.values()).flatten().collect();
    assert_eq!(
        distinct.len(),
        2 * MAX_VENUES,
        "one SNMP and one HTTP port per venue"
    );
    assert!(
        tcp.values().all(|&n| n == 1),
        "every TCP device has its own port"
    );
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("venues.toml");
    let (shipped, _) = Inventory::load(&shipped).unwrap();
    let theirs: BTreeSet<(&str, String)> =
        shipped.devices.iter().map(|d| address(&d.probe)).collect();
    let ours: BTreeSet<(&str, String)> = inv.devices.iter().map(|d| address(&d.probe)).collect();
    assert!(theirs.is_disjoint(&ours));
}

/// The Games at full scale, on ephemeral ports: a sample of ~100 devices
/// across all venues answers OK through the real probes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_games_is_served_on_ephemeral_ports() {
    let inv = Arc::new(valid(49, 10_000));
    let sim = toc::sim::start(
        Arc::clone(&inv),
        SimOptions {
            ephemeral: true,
            ..SimOptions::default()
        },
    )
    .await
    .expect("starts without any fixed port");
    let s = sim.summary();
    assert_eq!(s.devices_served, 10_000);
    assert!(s.skipped.is_empty());
    assert_eq!((s.snmp_ports, s.http_ports), (49, 49));
    assert_eq!(
        s.remapped.len(),
        s.snmp_ports + s.http_ports + s.tcp_listeners
    );
    assert!(
        s.remapped
            .values()
            .all(|a| a.port() < 30_000 || a.port() > 30_600),
        "a port of the file was bound"
    );
    let remapped = toc::sim::remap(&inv, &s.remapped);
    // Every 97th device, and in each venue the first device of each
    // protocol and the last device.
    let mut sample: BTreeSet<usize> = (0..remapped.devices.len()).step_by(97).collect();
    for v in &remapped.venues {
        for kind in ["snmp", "http", "tcp"] {
            sample.extend(
                v.devices
                    .iter()
                    .find(|d| remapped.devices[d.0].probe.kind() == kind)
                    .map(|d| d.0),
            );
        }
        sample.extend(v.devices.last().map(|d| d.0));
    }
    let venues: BTreeSet<usize> = sample
        .iter()
        .map(|&i| remapped.devices[i].venue.0)
        .collect();
    assert_eq!(venues.len(), 49);
    let kinds: BTreeSet<&str> = sample
        .iter()
        .map(|&i| remapped.devices[i].probe.kind())
        .collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");

    let probe = AnyProbe::new(&remapped).unwrap();
    let probe = &probe;
    let results: Vec<(String, CheckResult)> =
        futures_util::stream::iter(sample.iter().map(|&i| &remapped.devices[i]))
            .map(|d| async move { (d.id.clone(), probe.check(d).await.result) })
            .buffer_unordered(16)
            .collect()
            .await;
    assert!(results.len() >= 100, "{}", results.len());
    let bad: Vec<&(String, CheckResult)> = results
        .iter()
        .filter(|(_, r)| *r != CheckResult::Ok)
        .collect();
    assert!(bad.is_empty(), "{bad:?}");
    sim.shutdown().await;
}
