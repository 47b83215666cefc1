//! The `/` filter on the test Games (`support::games`: synth's inventory
//! through the real engine). Moved from `src/console/filter.rs`.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use rstest::rstest;
use support::games;
use toc::console::filter::{Filter, parse};
use toc::engine::Snapshot;

fn codes(snap: &Snapshot, filter: &Filter) -> Vec<String> {
    (0..snap.layout.venues.len())
        .filter(|&v| filter.matches_venue(snap, v))
        .map(|v| snap.layout.venues[v].code.clone())
        .collect()
}

#[test]
fn empty_filter_shows_every_venue() {
    let snap = games::standard();
    assert_eq!(codes(&snap, &Filter::default()).len(), 49);
}

#[rstest]
#[case::name("bercy", &["BCY"])]
#[case::text_in_names("stadium", &["BOR", "ETS", "GGU", "LIL", "LYO", "MAR", "NAN", "NIC", "RGA", "SQB", "VSM", "YDM"])]
#[case::code_upper("RGA", &["RGA"])]
#[case::city_accent("élancourt", &["ELA"])]
#[case::venue_key("venue:pdp", &["PDP"])]
#[case::down_venues_or_devices("status:down", &["GGU", "GPL", "INV", "LIL", "PDP", "RGA", "STA"])]
#[case::down_venues_only_by_status("status:red venue:GGU", &["GGU"])]
#[case::maintenance("status:maintenance", &["LDA", "TEA"])]
#[case::device_id("GPL-scb", &["GPL"])]
#[case::and("status:down role:core-switch", &["PDP", "STA"])]
#[case::role_contains("status:down role:core", &["GPL", "PDP", "STA"])]
#[case::nothing("venue:STA status:maintenance", &[])]
fn venues_matching(#[case] text: &str, #[case] expected: &[&str]) {
    let snap = games::standard();
    let filter = parse(text).expect("parses");
    let mut got = codes(&snap, &filter);
    got.sort();
    let mut expected: Vec<String> = expected.iter().map(ToString::to_string).collect();
    expected.sort();
    assert_eq!(got, expected, "filter `{text}`");
}

#[test]
fn devices_matching() {
    let snap = games::standard();
    let filter = parse("role:core-switch status:down").expect("parses");
    let ids: Vec<&str> = (0..snap.layout.devices.len())
        .filter(|&d| filter.matches_device(&snap, d))
        .map(|d| snap.layout.devices[d].id.as_str())
        .collect();
    assert_eq!(ids, ["STA-core-a", "STA-core-b", "PDP-core-a"]);
    let problem = parse("status:problem venue:PDP").expect("parses");
    assert!(
        (0..snap.layout.devices.len())
            .filter(|&d| problem.matches_device(&snap, d))
            .all(|d| snap.devices[d].status.is_problem())
    );
    let text = parse("sta").expect("parses");
    let sta = &snap.layout.venues[0];
    assert!(sta.devices.iter().all(|&d| text.matches_device(&snap, d.0)));
}
