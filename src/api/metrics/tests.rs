use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;
use crate::config::SourceFile;
use crate::config::venues::Inventory;
use crate::engine::State;
use crate::model::relay::{Counts, RelayStatus, SinkStatus, SourceStatus};
use crate::model::{CheckResult, Observation, Outcome};

fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
}

/// The small example after every device answered OK in `ms` ms, then
/// `STA-rtr-a` failed until hard down (an incident opens, STA turns
/// orange).
pub(crate) fn snapshot() -> Snapshot {
    let src = SourceFile::new(
        "small.toml",
        include_str!("../../../examples/venues-small.toml").to_owned(),
    );
    let inv = Inventory::parse(&src).expect("example parses").0;
    let mut state = State::new(&inv, t(0));
    let mut clock = 0;
    let mut observe = |state: &mut State, device: usize, result: CheckResult, ms: u64| {
        clock += 1;
        state.observe(Observation {
            device,
            at: t(clock),
            start_delay: Duration::ZERO,
            took: Duration::ZERO,
            outcome: Outcome::new(result).with_latency(Duration::from_millis(ms)),
        });
        for d in state.take_checks() {
            clock += 1;
            state.observe(Observation {
                device: d,
                at: t(clock),
                start_delay: Duration::ZERO,
                took: Duration::ZERO,
                outcome: Outcome::new(CheckResult::Ok).with_latency(Duration::from_millis(2)),
            });
        }
    };
    for (d, _) in inv.devices.iter().enumerate() {
        observe(&mut state, d, CheckResult::Ok, 1 + d as u64 * 7);
    }
    let rtr = inv.device("STA-rtr-a").expect("STA-rtr-a").0.0;
    for _ in 0..=inv.event.max_attempts {
        observe(
            &mut state,
            rtr,
            CheckResult::Fail("no \"answer\"".to_owned()),
            900,
        );
    }
    state.snapshot(t(100))
}

fn relay() -> RelayStatus {
    RelayStatus {
        head: 42,
        journal_bytes: 4096,
        sources: vec![SourceStatus {
            id: "STA-ovr-a".to_owned(),
            rate: 2.5,
            counts: Counts {
                forwarded: 40,
                duplicate: 3,
                ..Counts::default()
            },
            ..SourceStatus::default()
        }],
        sinks: vec![SinkStatus {
            id: "commentators\\1".to_owned(),
            consumer: "commentators".to_owned(),
            backlog: 7,
            rate: 1.5,
            delivered: 35,
            slo: Duration::from_millis(350),
            p50: Some(Duration::from_micros(500)),
            p99: None,
            ..SinkStatus::default()
        }],
        ..RelayStatus::default()
    }
}

fn value(exp: &Exposition, name: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<&Sample> = exp
        .named(name)
        .filter(|s| labels.iter().all(|(k, v)| s.label(k) == Some(*v)))
        .collect();
    assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?}");
    found[0].value
}

#[test]
fn every_line_parses_and_every_family_is_described_once() {
    let mut snap = snapshot();
    snap.relay = Some(Arc::new(relay()));
    let text = render_at(&snap, t(103));
    let exp = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    // Line by line: a comment, or `name{labels} value`.
    for line in text.lines() {
        if line.starts_with("# HELP ") || line.starts_with("# TYPE ") {
            continue;
        }
        let (head, v) = line.rsplit_once(' ').expect("name and value");
        assert!(!head.is_empty(), "{line}");
        assert!(
            v == "+Inf" || v == "NaN" || v.parse::<f64>().is_ok(),
            "{line}"
        );
    }
    let helps = text.lines().filter(|l| l.starts_with("# HELP ")).count();
    let types = text.lines().filter(|l| l.starts_with("# TYPE ")).count();
    assert_eq!(helps, exp.families.len());
    assert_eq!(types, exp.families.len());
    for s in &exp.samples {
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|x| s.name.strip_suffix(x))
            .filter(|b| exp.families.contains_key(*b))
            .unwrap_or(&s.name);
        assert!(exp.families.contains_key(base), "{}", s.name);
    }
    assert!(text.ends_with('\n'));
}

#[test]
fn counts_add_up_and_statuses_are_numbers() {
    let snap = snapshot();
    let exp = parse(&render_at(&snap, t(103))).expect("parses");
    let devices = snap.layout.devices.len();
    assert!(devices > 5);
    #[allow(clippy::cast_precision_loss)]
    let total = devices as f64;
    assert!((exp.sum("toc_devices") - total).abs() < f64::EPSILON);
    for v in &snap.layout.venues {
        let per: f64 = exp
            .named("toc_devices")
            .filter(|s| s.label("venue") == Some(v.code.as_str()))
            .map(|s| s.value)
            .sum();
        #[allow(clippy::cast_precision_loss)]
        let want = v.devices.len() as f64;
        assert!((per - want).abs() < f64::EPSILON, "{}", v.code);
        // Every status is written, zeros too.
        assert_eq!(
            exp.named("toc_devices")
                .filter(|s| s.label("venue") == Some(v.code.as_str()))
                .count(),
            6
        );
    }
    assert_eq!(snap.venues[0].eval.status, Status::Degraded, "STA");
    assert!((value(&exp, "toc_venue_status", &[("venue", "STA")]) - 4.0).abs() < 1e-9);
    assert!((value(&exp, "toc_venue_status", &[("venue", "MRN")]) - 1.0).abs() < 1e-9);
    assert!((value(&exp, "toc_wall_status", &[]) - 4.0).abs() < 1e-9);
    assert!(
        (value(&exp, "toc_devices", &[("venue", "STA"), ("status", "down")]) - 1.0).abs() < 1e-9
    );
    assert!((value(&exp, "toc_snapshot_age_seconds", &[]) - 3.0).abs() < 1e-9);
    assert!((value(&exp, "toc_checks_total", &[]) - count(snap.stats.observations)).abs() < 1e-9);
    assert!(value(&exp, "toc_checks_failing", &[("venue", "STA")]) >= 1.0);
    assert!((value(&exp, "toc_checks_failing", &[("venue", "MRN")])).abs() < 1e-9);
}

#[test]
fn latency_histogram_counts_each_answered_device() {
    let snap = snapshot();
    let exp = parse(&render_at(&snap, t(100))).expect("parses");
    let answered = snap.devices.iter().filter(|d| d.latency.is_some()).count();
    #[allow(clippy::cast_precision_loss)]
    let answered = answered as f64;
    assert!(answered > 0.0);
    let n = "toc_poll_latency_seconds";
    assert!((value(&exp, &format!("{n}_count"), &[]) - answered).abs() < 1e-9);
    assert!((value(&exp, &format!("{n}_bucket"), &[("le", "+Inf")]) - answered).abs() < 1e-9);
    let sum: f64 = snap
        .devices
        .iter()
        .filter_map(|d| d.latency)
        .map(|l| l.as_secs_f64())
        .sum();
    assert!((value(&exp, &format!("{n}_sum"), &[]) - sum).abs() < 1e-9);
    let under_10ms = snap
        .devices
        .iter()
        .filter(|d| d.latency.is_some_and(|l| l <= Duration::from_millis(10)))
        .count();
    #[allow(clippy::cast_precision_loss)]
    let under_10ms = under_10ms as f64;
    assert!((value(&exp, &format!("{n}_bucket"), &[("le", "0.01")]) - under_10ms).abs() < 1e-9);
}

#[test]
fn incidents_by_state() {
    let mut snap = snapshot();
    assert!(!snap.incidents.is_empty(), "STA-rtr-a down opened one");
    let open = snap.incidents.len();
    let mut list = (*snap.incidents).clone();
    let mut acked = list[0].clone();
    acked.state = IncidentState::Acknowledged;
    list.push(acked);
    snap.incidents = Arc::new(list);
    let exp = parse(&render_at(&snap, t(100))).expect("parses");
    #[allow(clippy::cast_precision_loss)]
    let open = open as f64;
    assert!((value(&exp, "toc_incidents", &[("state", "open")]) - open).abs() < 1e-9);
    assert!((value(&exp, "toc_incidents", &[("state", "acknowledged")]) - 1.0).abs() < 1e-9);
    assert!((value(&exp, "toc_incidents", &[("state", "resolved")])).abs() < 1e-9);
    assert!(value(&exp, "toc_venue_incidents", &[("venue", "STA")]) >= 1.0);
}

#[test]
fn relay_rates_backlogs_and_latencies() {
    let mut snap = snapshot();
    let text = render_at(&snap, t(100));
    assert!(!text.contains("toc_relay_"), "no relay, no relay metrics");
    snap.relay = Some(Arc::new(relay()));
    let text = render_at(&snap, t(100));
    assert!(
        text.contains(r#"sink="commentators\\1""#),
        "escaped: {text}"
    );
    let exp = parse(&text).expect("parses");
    let sink = [("sink", "commentators\\1")];
    assert!((value(&exp, "toc_relay_source_rate", &[("source", "STA-ovr-a")]) - 2.5).abs() < 1e-9);
    assert!(
        (value(
            &exp,
            "toc_relay_source_messages_total",
            &[("source", "STA-ovr-a"), ("outcome", "forwarded")]
        ) - 40.0)
            .abs()
            < 1e-9
    );
    assert!((value(&exp, "toc_relay_sink_backlog", &sink) - 7.0).abs() < 1e-9);
    assert!((value(&exp, "toc_relay_sink_rate", &sink) - 1.5).abs() < 1e-9);
    assert!((value(&exp, "toc_relay_sink_slo_seconds", &sink) - 0.35).abs() < 1e-9);
    assert!(
        (value(
            &exp,
            "toc_relay_sink_latency_seconds",
            &[sink[0], ("quantile", "0.5")]
        ) - 0.0005)
            .abs()
            < 1e-9
    );
    assert_eq!(
        exp.named("toc_relay_sink_latency_seconds").count(),
        1,
        "no p99 yet"
    );
    assert!(
        (value(
            &exp,
            "toc_relay_sink_state",
            &[sink[0], ("state", "running")]
        ) - 1.0)
            .abs()
            < 1e-9
    );
    assert!((value(&exp, "toc_relay_journal_head", &[]) - 42.0).abs() < 1e-9);
}

#[test]
fn label_values_are_escaped_and_read_back() {
    let mut snap = snapshot();
    let mut layout = (*snap.layout).clone();
    layout.event = "Games \"2024\"\nback\\slash".to_owned();
    snap.layout = Arc::new(layout);
    let text = render_at(&snap, t(100));
    assert!(
        text.contains(r#"toc_info{event="Games \"2024\"\nback\\slash"} 1"#),
        "{text}"
    );
    let exp = parse(&text).expect("parses");
    assert_eq!(
        exp.named("toc_info").next().and_then(|s| s.label("event")),
        Some("Games \"2024\"\nback\\slash")
    );
}

#[test]
fn the_parser_refuses_what_a_scraper_would() {
    let ok = "# HELP a x\n# TYPE a gauge\na{b=\"c\"} 1\n";
    assert!(parse(ok).is_ok());
    for bad in [
        "a 1\n",                                                         // no TYPE
        "# HELP a x\n# TYPE a gauge\n# TYPE a gauge\na 1\n",             // TYPE twice
        "# HELP a x\n# HELP a y\n# TYPE a gauge\na 1\n",                 // HELP twice
        "# HELP a x\n# TYPE a gauge\na{b=\"c} 1\n",                      // unterminated
        "# HELP a x\n# TYPE a gauge\na{b=\"\\q\"} 1\n",                  // bad escape
        "# HELP a x\n# TYPE a gauge\na one\n",                           // not a number
        "# HELP a x\n# TYPE a gauge\na 1\na 2\n",                        // twice
        "# HELP a x\n# TYPE a gauge\n# HELP b x\n# TYPE b gauge\na 1\n", // apart
        "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",
    ] {
        assert!(parse(bad).is_err(), "accepted {bad:?}");
    }
}
