//! Deterministic snapshots for tests, benches and screenshots: a 49-venue
//! Games with a mix of problems, and a small two-venue event. The same
//! call gives the same snapshot, to the byte; times are fixed offsets
//! from [`now`].
//!
//! The statuses come from the real roll-up ([`crate::model::evaluate`])
//! over device states fed with check results, so groups, venues,
//! unreachable children and the wall agree as they do in the engine.
//!
//! What is wrong in the Games (venue: problem):
//!
//! - STA: both core switches down, the access layer behind them unreachable;
//! - PDP: core switch A down (redundancy lost); an access switch failing
//!   softly (attempt 2 of 3);
//! - RGA: uplink lost: routers and UPS down, every other device unreachable;
//! - BCY: an access switch flapping, another one degraded, a reboot note;
//! - LDA: a WiFi controller in maintenance, a UPS on battery;
//! - GPL: the scoreboard down (not critical: the venue is degraded);
//! - CDM: the TV graphics server cannot be judged (unknown);
//! - INV: firewall A down (redundancy lost);
//! - SQV: an access switch with CRC errors;
//! - GGU: the timing link down (critical: the venue is down);
//! - LIL: results server B down (redundancy lost);
//! - TEA: the whole venue in maintenance;
//! - AMH: not polled yet.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::engine::snapshot::{HISTORY_LEN, TICKER_LEN};
use crate::engine::{
    DeviceInfo, DeviceSnap, EngineStats, Event, EventKind, FeedInfo, GroupInfo, HistoryEntry,
    HostSnap, Incident, IncidentId, IncidentKind, Layout, Snapshot, VenueInfo, VenueSnap,
};
use crate::model::{
    CheckResult, DeviceIdx, DeviceNode, DeviceState, GroupIdx, GroupNode, Policy, StateType,
    Status, Topology, VenueIdx, VenueNode, evaluate,
};
use crate::model::{Outcome, Reading};

/// Seconds from the Unix epoch to [`now`]: 2024-07-26 13:20:00 UTC.
pub const NOW_SECS: u64 = 1_722_000_000;

/// Devices in the Games fixture used by the tests.
pub const GAMES_DEVICES: usize = 2_000;

/// Devices per venue at the least (the fixed core of a venue plus the
/// devices the problems above need).
pub const MIN_PER_VENUE: usize = 20;

/// The time the fixtures are taken at.
pub fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW_SECS)
}

fn ago(secs: u64) -> SystemTime {
    now() - Duration::from_secs(secs)
}

/// Code, name, city.
const VENUES: [(&str, &str, &str); 49] = [
    ("STA", "Stade de France", "Saint-Denis"),
    ("PDP", "Parc des Princes", "Paris"),
    ("RGA", "Roland-Garros Stadium", "Paris"),
    ("BCY", "Bercy Arena", "Paris"),
    ("LDA", "Paris La Défense Arena", "Nanterre"),
    ("GPL", "Grand Palais", "Paris"),
    ("CDM", "Champ-de-Mars Arena", "Paris"),
    ("ETS", "Eiffel Tower Stadium", "Paris"),
    ("PAL", "Pont Alexandre III", "Paris"),
    ("INV", "Invalides", "Paris"),
    ("TRO", "Trocadéro", "Paris"),
    ("CON", "La Concorde", "Paris"),
    ("PCA", "Porte de La Chapelle Arena", "Paris"),
    ("SPA", "South Paris Arena", "Paris"),
    ("NPA", "North Paris Arena", "Villepinte"),
    ("YDM", "Yves-du-Manoir Stadium", "Colombes"),
    ("AQC", "Paris Aquatics Centre", "Saint-Denis"),
    ("LBC", "Le Bourget Sport Climbing Venue", "Le Bourget"),
    (
        "VSM",
        "Vaires-sur-Marne Nautical Stadium",
        "Vaires-sur-Marne",
    ),
    (
        "SQV",
        "Saint-Quentin-en-Yvelines Velodrome",
        "Montigny-le-Bretonneux",
    ),
    (
        "SQB",
        "Saint-Quentin-en-Yvelines BMX Stadium",
        "Montigny-le-Bretonneux",
    ),
    ("ELA", "Élancourt Hill", "Élancourt"),
    ("VER", "Château de Versailles", "Versailles"),
    ("GOL", "Le Golf National", "Guyancourt"),
    ("BOR", "Bordeaux Stadium", "Bordeaux"),
    ("GGU", "Geoffroy-Guichard Stadium", "Saint-Étienne"),
    ("LYO", "Lyon Stadium", "Décines-Charpieu"),
    ("MAR", "Marseille Stadium", "Marseille"),
    ("MRN", "Marseille Marina", "Marseille"),
    ("NAN", "La Beaujoire Stadium", "Nantes"),
    ("NIC", "Nice Stadium", "Nice"),
    ("LIL", "Pierre Mauroy Stadium", "Villeneuve-d'Ascq"),
    ("TEA", "Teahupo'o", "Teahupo'o, Tahiti"),
    ("CHA", "Châteauroux Shooting Centre", "Déols"),
    ("HDV", "Hôtel de Ville", "Paris"),
    ("OVL", "Olympic Village", "Saint-Denis"),
    ("IBC", "International Broadcast Centre", "Le Bourget"),
    ("MPC", "Main Press Centre", "Paris"),
    ("MVL", "Media Village", "Dugny"),
    ("OHQ", "Paris 2024 Headquarters", "Saint-Denis"),
    ("TDC", "Technology Data Centre", "Paris"),
    ("UAC", "Uniform and Accreditation Centre", "Le Bourget"),
    ("TSN", "Training Site North", "Saint-Ouen"),
    ("TSS", "Training Site South", "Issy-les-Moulineaux"),
    ("CFR", "Club France", "Paris"),
    ("PCH", "Parc des Champions", "Paris"),
    ("TRD", "Transport Depot", "Saint-Denis"),
    ("LAB", "Anti-Doping Laboratory", "Châtenay-Malabry"),
    ("AMH", "Airport Mobility Hub", "Roissy"),
];

/// The 49-venue Games with `devices` devices (at least
/// [`MIN_PER_VENUE`] per venue, the biggest at STA), the TOC host sampled.
pub fn games(devices: usize) -> Snapshot {
    build(&VENUES, devices, true)
}

/// A two-venue event (STA down, PDP degraded), 40 devices, the host not
/// sampled yet.
pub fn small() -> Snapshot {
    build(&VENUES[..2], 0, false)
}

/// How a device's checks went.
struct Plan {
    /// Results recorded, oldest first.
    results: Vec<CheckResult>,
    maintenance: bool,
    notes: Vec<String>,
}

impl Plan {
    fn steady(result: &CheckResult, n: usize) -> Plan {
        Plan {
            results: vec![result.clone(); n],
            maintenance: false,
            notes: Vec::new(),
        }
    }

    /// A few OKs, then the problem, every poll for the last `secs`
    /// seconds (at least three times: it is hard).
    fn hard(result: CheckResult, secs: u64) -> Plan {
        let mut results = vec![CheckResult::Ok; 5];
        let polls = usize::try_from(secs / 10).unwrap_or(usize::MAX).max(3);
        results.extend(std::iter::repeat_n(result, polls));
        Plan {
            results,
            maintenance: false,
            notes: Vec::new(),
        }
    }

    fn soft(result: CheckResult, attempts: usize) -> Plan {
        let mut results = vec![CheckResult::Ok; 6];
        results.extend(std::iter::repeat_n(result, attempts));
        Plan {
            results,
            maintenance: false,
            notes: Vec::new(),
        }
    }

    fn flapping(result: &CheckResult) -> Plan {
        let results = (0..HISTORY_LEN)
            .map(|i| {
                if i % 2 == 0 {
                    CheckResult::Ok
                } else {
                    result.clone()
                }
            })
            .collect();
        Plan {
            results,
            maintenance: false,
            notes: Vec::new(),
        }
    }
}

fn fail(reason: &str) -> CheckResult {
    CheckResult::Fail(reason.to_owned())
}

fn warn(reason: &str) -> CheckResult {
    CheckResult::Warn(reason.to_owned())
}

const TIMEOUT: &str = "no answer (timeout 2s)";

/// The name [`plan`] knows a device by: its suffix with the number
/// unpadded (`acc-003` is `acc-3`), whatever the number of devices.
fn plan_key(suffix: &str) -> String {
    match suffix.rsplit_once('-') {
        Some((name, n)) if n.chars().all(|c| c.is_ascii_digit()) && !n.is_empty() => {
            let n = n.trim_start_matches('0');
            format!("{name}-{}", if n.is_empty() { "0" } else { n })
        }
        _ => suffix.to_owned(),
    }
}

/// The problem of device `suffix` (`core-a`, `acc-3`) at venue `code`,
/// if any.
#[allow(clippy::match_same_arms)] // One arm per venue reads as the list above.
fn plan(code: &str, suffix: &str, behind_core: bool) -> Plan {
    let ok = || Plan::steady(&CheckResult::Ok, 6);
    match (code, suffix) {
        ("STA", "core-a") => Plan::hard(fail("no answer after 3 tries (timeout 2s)"), 150),
        ("STA", "core-b") => Plan::hard(fail("no answer after 3 tries (timeout 2s)"), 130),
        ("STA", _) if behind_core => Plan::hard(fail(TIMEOUT), 130),
        ("PDP", "core-a") => Plan::hard(fail("3 of 3 uplink interfaces down"), 19 * 60),
        ("PDP", "acc-7") => Plan::soft(fail(TIMEOUT), 2),
        ("RGA", _) => Plan::hard(fail(TIMEOUT), 31 * 60),
        ("BCY", "acc-3") => Plan::flapping(&fail("Gi1/0/1 down")),
        ("BCY", "acc-5") => Plan::hard(warn("cpu 93% busy (threshold 80%)"), 79 * 60),
        ("BCY", "core-b") => Plan {
            notes: vec!["rebooted: sysUpTime went from 3d 2h to 12s".to_owned()],
            ..ok()
        },
        ("LDA", "wlc-1") => Plan {
            maintenance: true,
            ..ok()
        },
        ("LDA", "ups-1") => Plan::hard(warn("on battery: 38 min left"), 85 * 60),
        ("GPL", "scb-1") => Plan::hard(fail("connection refused"), 91 * 60),
        ("CDM", "tvg-1") => Plan::hard(
            CheckResult::Unknown("health says \"starting\"".to_owned()),
            3 * 60,
        ),
        ("INV", "fw-a") => Plan::hard(fail("no answer after 3 tries (timeout 2s)"), 8 * 60),
        ("SQV", "acc-2") => Plan::hard(warn("CRC errors on Gi1/0/3: 1.2%"), 44 * 60),
        ("GGU", "timing") => Plan::hard(fail("connection refused"), 20 * 60),
        ("LIL", "ovr-b") => Plan::hard(fail("HTTP 503 from /health"), 26 * 60),
        ("TEA", _) => Plan {
            maintenance: true,
            ..ok()
        },
        ("AMH", _) => Plan::steady(&CheckResult::Ok, 0),
        _ => ok(),
    }
}

/// One device as the builder lays it out.
struct Spec {
    suffix: String,
    role: &'static str,
    kind: &'static str,
    what: String,
    /// Group suffix (`core`).
    group: Option<&'static str>,
    /// Local indices of parents.
    parents: &'static [usize],
    critical: bool,
}

const RTR: &[usize] = &[0, 1];
const CORE: &[usize] = &[4, 5];

/// Suffix, role, kind, description, group, parents, critical: the nine
/// devices every venue has, in this order (parents are indices here).
type Fixed = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static [usize],
    bool,
);

#[rustfmt::skip]
const FIXED: [Fixed; 9] = [
    ("rtr-a", "uplink-router", "snmp", "uplink router A", Some("uplink"), &[], true),
    ("rtr-b", "uplink-router", "snmp", "uplink router B", Some("uplink"), &[], true),
    ("fw-a", "firewall", "snmp", "firewall A (results DMZ)", Some("fw"), RTR, true),
    ("fw-b", "firewall", "snmp", "firewall B (results DMZ)", Some("fw"), RTR, true),
    ("core-a", "core-switch", "snmp", "core switch A", Some("core"), RTR, true),
    ("core-b", "core-switch", "snmp", "core switch B", Some("core"), RTR, true),
    ("ovr-a", "ovr-server", "http", "On-Venue Results server A", Some("ovr"), CORE, true),
    ("ovr-b", "ovr-server", "http", "On-Venue Results server B", Some("ovr"), CORE, true),
    ("timing", "timing-link", "tcp", "timing link", None, CORE, true),
];

/// Short name, role, kind, description of the other devices; all hang
/// off the core switches, none is critical.
#[rustfmt::skip]
const OTHERS: [(&str, &str, &str, &str); 6] = [
    ("acc", "access-switch", "snmp", "access switch"),
    ("ups", "ups", "snmp", "UPS"),
    ("scb", "scoreboard", "tcp", "scoreboard"),
    ("wlc", "wifi-controller", "snmp", "WiFi controller"),
    ("tvg", "tv-graphics", "http", "TV graphics"),
    ("cis", "cis-server", "http", "Commentator Information System"),
];

/// The devices of a venue with `n` devices (at least [`MIN_PER_VENUE`]).
fn venue_specs(n: usize) -> Vec<Spec> {
    const EARLY: [&str; 10] = [
        "acc", "ups", "scb", "acc", "wlc", "tvg", "acc", "cis", "acc", "acc",
    ];
    let mut out: Vec<Spec> = FIXED
        .iter()
        .map(
            |&(suffix, role, kind, what, group, parents, critical)| Spec {
                suffix: suffix.to_owned(),
                role,
                kind,
                what: what.to_owned(),
                group,
                parents,
                critical,
            },
        )
        .collect();
    let rest = n.saturating_sub(out.len());
    let kinds: Vec<&str> = (0..rest)
        .map(|j| match EARLY.get(j) {
            Some(k) => k,
            None if j % 12 == 0 => "ups",
            None if j % 12 == 6 => "wlc",
            None => "acc",
        })
        .collect();
    let acc_total = kinds.iter().filter(|k| **k == "acc").count();
    let mut counters: HashMap<&str, usize> = HashMap::new();
    for short in kinds {
        let count = counters.entry(short).or_default();
        *count += 1;
        let i = *count;
        let Some(&(_, role, kind, what)) = OTHERS.iter().find(|o| o.0 == short) else {
            continue;
        };
        let (suffix, what) = if short == "acc" {
            let width = if acc_total > 99 { 3 } else { 2 };
            (format!("acc-{i:0width$}"), format!("{what} {i:0width$}"))
        } else {
            (format!("{short}-{i}"), format!("{what} {i}"))
        };
        out.push(Spec {
            suffix,
            role,
            kind,
            what,
            group: None,
            parents: CORE,
            critical: false,
        });
    }
    out
}

/// How many devices each venue gets: STA three shares, the next four two,
/// the rest one; what rounding leaves goes to the first venues, so the
/// total is `devices` unless the minimum per venue makes it more.
fn shares(venues: usize, devices: usize) -> Vec<usize> {
    let weight = |i: usize| match i {
        0 => 3,
        1..=4 => 2,
        _ => 1,
    };
    let total: usize = (0..venues).map(weight).sum::<usize>().max(1);
    let mut out: Vec<usize> = (0..venues).map(|i| devices * weight(i) / total).collect();
    let left = devices.saturating_sub(out.iter().sum());
    for n in out.iter_mut().take(left) {
        *n += 1;
    }
    out.into_iter().map(|n| n.max(MIN_PER_VENUE)).collect()
}

/// A deterministic spread in `0..modulo` for index `i`.
fn spread(i: usize, modulo: u64) -> u64 {
    (i as u64).wrapping_mul(2_654_435_761) % modulo.max(1)
}

fn readings(info: &DeviceInfo, i: usize, answered: bool) -> Vec<Reading> {
    if !answered {
        return Vec::new();
    }
    match info.kind.as_str() {
        "snmp" => vec![
            Reading::new("sysName", &info.id),
            Reading::new(
                "sysUpTime",
                format!("{}d {}h", 3 + spread(i, 9), spread(i, 24)),
            ),
            Reading::new("cpu.percent", 4 + spread(i, 40)),
            Reading::new("if.up", "48 of 48"),
        ],
        "http" => vec![
            Reading::new("http.status", 200),
            Reading::new("health.state", "ok"),
            Reading::new("version", "7.4.2"),
        ],
        _ => vec![Reading::new("tcp.connect", "ok")],
    }
}

struct Built {
    layout: Layout,
    topology: Topology,
    plans: Vec<Plan>,
}

#[allow(clippy::too_many_lines)]
fn lay_out(venues: &[(&str, &str, &str)], devices: usize) -> Built {
    let mut layout = Layout {
        event: "Paris 2024 Olympic Games".to_owned(),
        poll_interval: Duration::from_secs(10),
        max_attempts: 3,
        venues: Vec::new(),
        devices: Vec::new(),
        groups: Vec::new(),
        feeds: Vec::new(),
    };
    let mut topology = Topology::default();
    let mut plans = Vec::new();
    for (v, (&(code, name, city), n)) in
        venues.iter().zip(shares(venues.len(), devices)).enumerate()
    {
        let specs = venue_specs(n);
        let base = layout.devices.len();
        let mut venue = VenueInfo {
            code: code.to_owned(),
            name: name.to_owned(),
            city: city.to_owned(),
            devices: Vec::new(),
            groups: Vec::new(),
            feeds: Vec::new(),
        };
        let mut groups: Vec<(&str, usize)> = Vec::new();
        for s in &specs {
            if let Some(g) = s.group
                && !groups.iter().any(|(id, _)| *id == g)
            {
                let idx = layout.groups.len();
                groups.push((g, idx));
                layout.groups.push(GroupInfo {
                    id: format!("{code}-{g}"),
                    venue: v,
                    min_up: 1,
                    members: Vec::new(),
                });
                topology.groups.push(GroupNode {
                    venue: VenueIdx(v),
                    min_up: 1,
                    members: Vec::new(),
                });
                venue.groups.push(idx);
            }
        }
        for (local, s) in specs.iter().enumerate() {
            let idx = base + local;
            let id = format!("{code}-{}", s.suffix);
            let group = s
                .group
                .and_then(|g| groups.iter().find(|(id, _)| *id == g).map(|(_, i)| *i));
            if let Some(g) = group {
                layout.groups[g].members.push(idx);
                topology.groups[g].members.push(DeviceIdx(idx));
            }
            let parents: Vec<usize> = s.parents.iter().map(|p| base + p).collect();
            let port = 20_000 + v;
            let target = match s.kind {
                "snmp" => format!("snmp://127.0.0.1:{port}"),
                "http" => format!("http://127.0.0.1:{}/health/{id}", port + 1_000),
                _ if s.role == "timing-link" => format!("tcp://127.0.0.1:{}", port + 2_000),
                _ => format!("tcp://127.0.0.1:{}", port + 3_000),
            };
            let behind_core = s.parents.contains(&4) || s.parents.contains(&5);
            plans.push(plan(code, &plan_key(&s.suffix), behind_core));
            layout.devices.push(DeviceInfo {
                id,
                venue: v,
                role: s.role.to_owned(),
                kind: s.kind.to_owned(),
                target,
                description: Some(format!("{name} {}", s.what)),
                group,
                parents: parents.clone(),
                critical: s.critical,
                poll_interval: Duration::from_secs(10),
            });
            topology.devices.push(DeviceNode {
                venue: VenueIdx(v),
                group: group.map(GroupIdx),
                parents: parents.into_iter().map(DeviceIdx).collect(),
                critical: s.critical,
            });
            venue.devices.push(idx);
        }
        let feed = layout.feeds.len();
        layout.feeds.push(FeedInfo {
            id: format!("{code}-results"),
            venue: v,
            primary: base + 6,
            backup: base + 7,
            consumers: vec![
                "commentators".to_owned(),
                "web_mobile".to_owned(),
                "media".to_owned(),
            ],
            stale_after: Duration::from_secs(30),
        });
        venue.feeds.push(feed);
        topology.venues.push(VenueNode {
            devices: venue.devices.iter().map(|&d| DeviceIdx(d)).collect(),
            groups: venue.groups.iter().map(|&g| GroupIdx(g)).collect(),
        });
        layout.venues.push(venue);
    }
    Built {
        layout,
        topology,
        plans,
    }
}

/// Feeds device `i`'s plan to a device state, as the engine would: the
/// state, the last [`HISTORY_LEN`] results, and when the current problem
/// turned hard (for its incident).
fn record(
    plan: &Plan,
    i: usize,
    poll: Duration,
    policy: &Policy,
) -> (DeviceState, Vec<HistoryEntry>, Option<SystemTime>) {
    let mut state = DeviceState::new();
    let mut history = Vec::new();
    let n = plan.results.len();
    let offset = 1 + spread(i, 9);
    for (k, result) in plan.results.iter().enumerate() {
        state.record(result.clone(), policy);
        let answered = !matches!(result, CheckResult::Fail(_));
        let steps = u32::try_from(n - 1 - k).unwrap_or(u32::MAX);
        history.push(HistoryEntry::new(
            ago(offset) - poll * steps,
            result.status(),
            state.state_type(),
            answered.then(|| latency(i, k)),
            result.reason().map(Arc::from),
        ));
    }
    if plan.maintenance {
        state.set_maintenance(true);
    }
    let keep = history.len().saturating_sub(HISTORY_LEN);
    let run = history
        .iter()
        .rposition(|h| h.status == Status::Ok)
        .map_or(0, |p| p + 1);
    let onset = if state.is_flapping() {
        history.get(keep).map(HistoryEntry::at)
    } else {
        history[run..]
            .iter()
            .find(|h| h.state_type == StateType::Hard)
            .map(HistoryEntry::at)
    };
    history.drain(..keep);
    (state, history, onset)
}

fn build(venues: &[(&str, &str, &str)], devices: usize, host: bool) -> Snapshot {
    let Built {
        layout,
        topology,
        plans,
    } = lay_out(venues, devices);
    let policy = Policy::default();
    let poll = layout.poll_interval;
    let mut states = Vec::with_capacity(plans.len());
    let mut histories = Vec::with_capacity(plans.len());
    let mut onsets = Vec::with_capacity(plans.len());
    for (i, plan) in plans.iter().enumerate() {
        let (state, history, onset) = record(plan, i, poll, &policy);
        onsets.push(onset);
        states.push(state);
        histories.push(history);
    }
    let eval = evaluate(&topology, &states);
    let devices: Vec<Arc<DeviceSnap>> = states
        .iter()
        .zip(histories)
        .enumerate()
        .map(|(i, (state, history))| {
            let plan = &plans[i];
            if !state.is_polled() {
                return Arc::new(DeviceSnap::unpolled());
            }
            let last = plan.results.last();
            let answered = !matches!(last, Some(CheckResult::Fail(_)));
            Arc::new(DeviceSnap {
                status: eval.devices[i],
                raw: state.raw_status(),
                state_type: state.state_type(),
                attempt: state.attempt(),
                reason: match eval.devices[i] {
                    Status::Unreachable => Some("every parent is down".to_owned()),
                    _ => state.reason().map(ToOwned::to_owned),
                },
                flapping: state.is_flapping().then(|| state.flap_percent()),
                last_check: history.last().map(HistoryEntry::at),
                latency: history.last().and_then(HistoryEntry::latency),
                readings: readings(&layout.devices[i], i, answered),
                notes: plan.notes.clone(),
                history,
            })
        })
        .collect();
    let incidents = incidents(&layout, &devices, &eval.groups, &onsets);
    let mut venue_snaps: Vec<VenueSnap> = eval
        .venues
        .iter()
        .map(|&e| VenueSnap {
            eval: e,
            incidents: 0,
        })
        .collect();
    for incident in &incidents {
        if let Some(v) = venue_snaps.get_mut(incident.venue) {
            v.incidents += 1;
        }
    }
    let ticker = ticker(&layout, &devices, &venue_snaps, &incidents);
    let layout = Arc::new(layout);
    Snapshot {
        seq: 4_321,
        events_seq: 0,
        at: ago(1),
        started: ago(3 * 3_600 + 17 * 60),
        layout,
        wall: eval.wall,
        venues: venue_snaps,
        groups: eval.groups,
        devices,
        incidents: Arc::new(incidents),
        host: host.then(|| Arc::new(host_snap())),
        ticker: Arc::new(ticker),
        stats: EngineStats {
            observations: 1_234_567,
            snapshots: 4_321,
            commands: 3,
        },
    }
}

fn latency(i: usize, k: usize) -> Duration {
    Duration::from_micros(300 + spread(i * 31 + k, 9_000))
}

fn incidents(
    layout: &Layout,
    devices: &[Arc<DeviceSnap>],
    groups: &[crate::model::GroupEval],
    onsets: &[Option<SystemTime>],
) -> Vec<Incident> {
    let mut out = Vec::new();
    for (i, d) in devices.iter().enumerate() {
        let info = &layout.devices[i];
        let polled = d.last_check.is_some();
        let (kind, title) = match d.status {
            Status::Down => (IncidentKind::DeviceDown, format!("{} is down", info.id)),
            Status::Degraded => (
                IncidentKind::DeviceDegraded,
                format!("{} is degraded", info.id),
            ),
            Status::Unknown if polled => (
                IncidentKind::DeviceUnknown,
                format!("{} cannot be checked", info.id),
            ),
            _ => continue,
        };
        let reason = d.reason.as_deref().unwrap_or("no reason");
        let opened = onsets.get(i).copied().flatten().unwrap_or_else(|| ago(60));
        out.push((
            kind,
            info.id.clone(),
            info.venue,
            d.status,
            format!("{title}: {reason}"),
            opened,
        ));
    }
    for (g, eval) in groups.iter().enumerate() {
        let info = &layout.groups[g];
        let kind = match eval.status {
            Status::Degraded => IncidentKind::RedundancyLost,
            Status::Down => IncidentKind::GroupDown,
            _ => continue,
        };
        // Redundancy was lost with the first member down, the group with the last.
        let down: Vec<SystemTime> = info
            .members
            .iter()
            .filter(|&&m| !devices[m].status.is_up())
            .filter_map(|&m| onsets.get(m).copied().flatten())
            .collect();
        let opened = match kind {
            IncidentKind::RedundancyLost => down.iter().min(),
            _ => down.iter().max(),
        };
        let opened = opened.copied().unwrap_or_else(|| ago(60));
        out.push((
            kind,
            info.id.clone(),
            info.venue,
            eval.status,
            format!("{}: {eval}", info.id),
            opened,
        ));
    }
    // Opened at spread times; ids in opening order.
    let mut incidents: Vec<Incident> = out
        .into_iter()
        .enumerate()
        .map(
            |(i, (kind, subject, venue, severity, title, opened))| Incident {
                id: IncidentId { run: 0, n: 0 },
                key: crate::model::ProblemKey::device(kind, DeviceIdx(i)),
                kind,
                subject,
                venue,
                severity,
                title,
                opened,
            },
        )
        .collect();
    incidents.sort_by_key(|i| (i.opened, i.key));
    for (n, incident) in incidents.iter_mut().enumerate() {
        incident.id = IncidentId {
            run: 0,
            n: 101 + u32::try_from(n).unwrap_or(0),
        };
    }
    incidents.sort_by_key(|i| (std::cmp::Reverse(i.severity.severity()), i.opened, i.id));
    incidents
}

fn ticker(
    layout: &Layout,
    devices: &[Arc<DeviceSnap>],
    venues: &[VenueSnap],
    incidents: &[Incident],
) -> Vec<Event> {
    let mut events = Vec::new();
    let device_index: HashMap<&str, usize> = layout
        .devices
        .iter()
        .enumerate()
        .map(|(i, d)| (d.id.as_str(), i))
        .collect();
    for incident in incidents {
        if let Some(&d) = device_index.get(incident.subject.as_str()) {
            events.push(Event {
                seq: 0,
                at: incident.opened - Duration::from_secs(1),
                kind: EventKind::Device {
                    device: d,
                    from: Status::Ok,
                    to: devices[d].status,
                    reason: devices[d].reason.clone(),
                },
            });
        }
        events.push(Event {
            seq: 0,
            at: incident.opened,
            kind: EventKind::IncidentOpened {
                id: incident.id,
                title: incident.title.clone(),
            },
        });
    }
    let first_incident = |v: usize| {
        incidents
            .iter()
            .filter(|i| i.venue == v)
            .map(|i| i.opened)
            .min()
    };
    for (v, venue) in venues.iter().enumerate() {
        if venue.eval.status != Status::Ok {
            let at = first_incident(v).unwrap_or(ago(2 * 3_600));
            events.push(Event {
                seq: 0,
                at: at + Duration::from_secs(1),
                kind: EventKind::Venue {
                    venue: v,
                    from: Status::Ok,
                    to: venue.eval.status,
                },
            });
        }
    }
    for (i, d) in devices.iter().enumerate() {
        if d.flapping.is_some() {
            events.push(Event {
                seq: 0,
                at: ago(8 * 60 + 20),
                kind: EventKind::Flapping {
                    device: i,
                    started: true,
                },
            });
        }
        for note in &d.notes {
            events.push(Event {
                seq: 0,
                at: ago(14 * 60 + 5),
                kind: EventKind::Note {
                    device: i,
                    text: note.clone(),
                },
            });
        }
        if d.status == Status::Maintenance && layout.devices[i].id.ends_with("wlc-1") {
            events.push(Event {
                seq: 0,
                at: ago(47 * 60),
                kind: EventKind::Command {
                    user: "alice".to_owned(),
                    text: format!("maintenance on {}", layout.devices[i].id),
                },
            });
        }
    }
    events.push(Event {
        seq: 0,
        at: ago(2 * 3_600 + 10 * 60),
        kind: EventKind::IncidentResolved {
            id: IncidentId { run: 0, n: 97 },
            title: "AQC-ups-1 is degraded: on battery: 55 min left".to_owned(),
        },
    });
    events.sort_by_key(|e| e.at);
    let keep = events.len().saturating_sub(TICKER_LEN);
    events.drain(..keep);
    events
}

fn host_snap() -> HostSnap {
    let readings = vec![
        Reading::new("cpu.percent", "12.5"),
        Reading::new("load.1m", "0.42"),
        Reading::new("memory.used", 7_093_985_280_u64),
        Reading::new("memory.total", 17_179_869_184_u64),
        Reading::new("memory.percent", "41.3"),
        Reading::new("disk./var/lib/toc.percent", "63.0"),
        Reading::new("processes", 312),
    ];
    HostSnap {
        name: "toc-ws-01".to_owned(),
        at: ago(4),
        outcome: Outcome {
            result: CheckResult::Ok,
            latency: None,
            readings,
            notes: Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_keys() {
        assert_eq!(plan_key("acc-003"), "acc-3");
        assert_eq!(plan_key("acc-07"), "acc-7");
        assert_eq!(plan_key("core-a"), "core-a");
        assert_eq!(plan_key("ups-10"), "ups-10");
        assert_eq!(plan_key("timing"), "timing");
    }

    #[test]
    fn the_problems_are_there_at_any_size() {
        for n in [0, GAMES_DEVICES, 10_000] {
            let snap = games(n);
            let degraded: Vec<&str> = snap
                .layout
                .venues
                .iter()
                .zip(&snap.venues)
                .filter(|(_, v)| v.eval.status == Status::Degraded)
                .map(|(info, _)| info.code.as_str())
                .collect();
            assert_eq!(
                degraded,
                ["PDP", "BCY", "LDA", "GPL", "INV", "SQV", "LIL"],
                "{n} devices"
            );
        }
    }

    #[test]
    fn deterministic() {
        assert_eq!(games(3_000), games(3_000));
        assert_eq!(small(), small());
    }

    #[test]
    fn sizes() {
        let snap = games(10_000);
        assert_eq!(snap.layout.venues.len(), 49);
        let n = snap.layout.devices.len();
        assert_eq!(n, 10_000);
        assert_eq!(snap.devices.len(), n);
        assert_eq!(snap.venues.len(), 49);
        assert_eq!(snap.groups.len(), snap.layout.groups.len());
        let small = small();
        assert_eq!(small.layout.venues.len(), 2);
        assert_eq!(small.layout.devices.len(), 40);
        assert!(small.host.is_none());
        assert_eq!(games(GAMES_DEVICES).layout.devices.len(), GAMES_DEVICES);
        let tiny = games(0);
        assert_eq!(tiny.layout.devices.len(), 49 * MIN_PER_VENUE);
    }

    #[test]
    fn has_the_problems_it_promises() {
        let snap = games(GAMES_DEVICES);
        let status = |code: &str| {
            let v = snap
                .layout
                .venues
                .iter()
                .position(|v| v.code == code)
                .expect("venue");
            snap.venues[v].eval.status
        };
        assert_eq!(status("STA"), Status::Down);
        assert_eq!(status("PDP"), Status::Degraded);
        assert_eq!(status("RGA"), Status::Down);
        assert_eq!(status("BCY"), Status::Degraded);
        assert_eq!(status("GPL"), Status::Degraded);
        assert_eq!(status("CDM"), Status::Unknown);
        assert_eq!(status("GGU"), Status::Down);
        assert_eq!(status("TEA"), Status::Maintenance);
        assert_eq!(status("AMH"), Status::Unknown);
        assert_eq!(status("GOL"), Status::Ok);
        assert_eq!(snap.wall, Status::Down);
        for s in Status::ALL {
            assert!(
                snap.devices.iter().any(|d| d.status == s),
                "no device {s:?}"
            );
        }
        assert!(
            snap.devices
                .iter()
                .any(|d| d.state_type == crate::model::StateType::Soft)
        );
        assert!(snap.devices.iter().any(|d| d.flapping.is_some()));
        assert!(!snap.incidents.is_empty());
        let total: usize = snap.venues.iter().map(|v| v.incidents).sum();
        assert_eq!(total, snap.incidents.len());
        assert!(snap.ticker.len() > 10);
        assert!(snap.ticker.windows(2).all(|w| w[0].at <= w[1].at));
        assert!(
            snap.incidents
                .windows(2)
                .all(|w| w[0].severity.severity() >= w[1].severity.severity())
        );
    }
}
