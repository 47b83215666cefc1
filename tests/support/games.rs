//! The console's test Games: a synthetic inventory from
//! [`toc::sim::synth::games`] run through the real engine
//! ([`toc::engine::State`]) on a fixed clock, with the problems of
//! [`PLANS`]. The same call gives the same snapshot, to the byte: every
//! time is an offset from [`now`].
//!
//! Each device is checked on its own poll interval from a little after the
//! engine started (3 h 17 min before [`now`]) to its last check, a few
//! seconds before [`now`]. Only the checks that matter are fed: the first,
//! a few around each change of plan, and the last [`RECENT`]; the others
//! would repeat the result before them, of which the engine keeps nothing
//! but a count. After each batch of checks that may change a hard state
//! the engine settles, as it publishes at once on such changes, so events
//! and incidents carry the times the engine would give them.
//!
//! What is wrong in the Games (venue: problem):
//!
//! - STA: both core switches down, everything behind them unreachable;
//! - PDP: core switch A down (redundancy lost); access switch 02 failing
//!   softly (attempt 2 of 3);
//! - RGA: uplink lost: every device fails, the routers are down and
//!   everything else is unreachable;
//! - BCY: access switch 03 flapping, access switch 05 degraded, a reboot
//!   note from core switch B;
//! - LDA: the wifi controller put in maintenance by alice, the UPS on
//!   battery;
//! - GPL: the scoreboard down (critical in synth's inventory: the venue is
//!   down);
//! - CDM: the wifi controller cannot be checked (unknown);
//! - INV: firewall A down (redundancy lost);
//! - SQV: access switch 02 with CRC errors;
//! - GGU: the timing link down (critical: the venue is down);
//! - LIL: results server B down (redundancy lost);
//! - TEA: the whole venue in maintenance;
//! - CDG: not polled yet.
#![allow(dead_code, clippy::expect_used)]

use std::cmp::Reverse;
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use toc::config::venues::ProbeTarget;
use toc::config::{Inventory, SourceFile};
use toc::engine::{Snapshot, State};
use toc::model::{CheckResult, HostSample, Observation, Outcome, Reading};

/// Seconds from the Unix epoch to [`now`]: 2024-07-26 13:20:00 UTC.
pub const NOW_SECS: u64 = 1_722_000_000;

/// Venues of the Games.
pub const VENUES: usize = 49;

/// Devices in the Games most tests use.
pub const GAMES_DEVICES: usize = 2_000;

/// Devices in the small event ([`small`]): two venues.
pub const SMALL_DEVICES: usize = 40;

/// How long before [`now`] the engine started.
pub const UPTIME_SECS: u64 = 3 * 3_600 + 17 * 60;

/// The last checks of every device that are fed whatever the plan (more
/// than the engine keeps in a device's history).
pub const RECENT: u64 = 24;

/// The time the fixtures are taken at.
pub fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW_SECS)
}

/// `secs` seconds before [`now`].
pub fn ago(secs: u64) -> SystemTime {
    now() - Duration::from_secs(secs)
}

/// The 49-venue Games with `devices` devices (see [`PLANS`]), the TOC
/// host sampled.
pub fn games(devices: usize) -> Snapshot {
    build(VENUES, devices, true)
}

/// [`games`] with [`GAMES_DEVICES`] devices, built once per test binary.
pub fn standard() -> Snapshot {
    static STANDARD: OnceLock<Snapshot> = OnceLock::new();
    STANDARD.get_or_init(|| games(GAMES_DEVICES)).clone()
}

/// A two-venue event (STA down, PDP degraded), 40 devices, the host not
/// sampled yet.
pub fn small() -> Snapshot {
    build(2, SMALL_DEVICES, false)
}

/// The inventory [`games`] and [`small`] run on.
pub fn inventory(venues: usize, devices: usize) -> Inventory {
    let text = toc::sim::synth::games(venues, devices);
    let src = SourceFile::new(format!("synth-{venues}-{devices}.toml"), text);
    match Inventory::parse(&src) {
        Ok((inv, _)) => inv,
        Err(errors) => panic!("synth::games({venues}, {devices}): {} errors", errors.len()),
    }
}

/// Which devices of a venue a plan is for.
#[derive(Debug, Clone, Copy)]
pub enum Which {
    /// The device `<venue>-<suffix>`.
    Id(&'static str),
    /// Every device reached through `<venue>-<suffix>` (its children,
    /// theirs, and so on).
    Behind(&'static str),
    /// Every device of the venue.
    All,
}

/// A probe's verdict.
#[derive(Debug, Clone, Copy)]
pub enum Verdict {
    /// No answer: the probe's own words for the device's kind.
    Timeout,
    Fail(&'static str),
    Warn(&'static str),
    Unknown(&'static str),
}

/// What happens to a device.
#[derive(Debug, Clone, Copy)]
pub enum Plan {
    /// The verdict at every check of the last `secs` seconds, OK before.
    Since(u64, Verdict),
    /// The verdict at the last `n` checks (fewer than the attempts that
    /// make it hard: a soft problem), OK before.
    Last(u64, Verdict),
    /// The verdict at every other check of the last [`RECENT`], OK in
    /// between and before.
    Flapping(Verdict),
    /// OK throughout; the check nearest `secs` seconds ago carries a note.
    Note(u64, &'static str),
    /// Put in maintenance `secs` seconds ago, by `user` through a command
    /// when there is one; OK throughout.
    Maintenance(u64, Option<&'static str>),
    /// Never checked.
    NotPolled,
}

/// The SNMP probe's no-answer text with synth's timeout (1 s) and retries (1).
pub const SNMP_TIMEOUT: &str =
    "no answer (2 attempts, 1s each): device down, unreachable, or community refused";
/// The TCP and HTTP probes' no-answer text with synth's timeout and retries.
pub const TIMED_OUT: &str = "timed out after 1s (2 attempts)";

/// The problems of the Games: venue code, which devices, what happens. The
/// first entry that names a device is its plan; devices no entry names
/// are OK throughout. Entries for a device the inventory lacks are
/// skipped ([`games`] with too few devices, [`small`]).
#[rustfmt::skip]
pub const PLANS: &[(&str, Which, Plan)] = &[
    ("STA", Which::Id("core-a"), Plan::Since(150, Verdict::Timeout)),
    ("STA", Which::Id("core-b"), Plan::Since(130, Verdict::Timeout)),
    ("STA", Which::Behind("core-a"), Plan::Since(130, Verdict::Timeout)),
    ("PDP", Which::Id("core-a"), Plan::Since(19 * 60, Verdict::Fail("all 3 watched interfaces down"))),
    ("PDP", Which::Id("acc-02"), Plan::Last(2, Verdict::Timeout)),
    ("RGA", Which::All, Plan::Since(31 * 60, Verdict::Timeout)),
    ("BCY", Which::Id("acc-03"), Plan::Flapping(Verdict::Timeout)),
    ("BCY", Which::Id("acc-05"), Plan::Since(79 * 60, Verdict::Warn("Gi1/0/12 down (admin up)"))),
    ("BCY", Which::Id("core-b"), Plan::Note(14 * 60 + 5, "rebooted: up 12s, was up 3d 2h")),
    ("LDA", Which::Id("wlc"), Plan::Maintenance(47 * 60, Some("alice"))),
    // No probe of ours reads a UPS's battery yet: the text is the scenario's.
    ("LDA", Which::Id("ups-1"), Plan::Since(85 * 60, Verdict::Warn("on battery: 38 min left"))),
    ("GPL", Which::Id("scb"), Plan::Since(91 * 60, Verdict::Fail("connection refused"))),
    ("CDM", Which::Id("wlc"), Plan::Since(3 * 60, Verdict::Unknown("sysUpTime.0: noSuchObject"))),
    ("INV", Which::Id("fw-a"), Plan::Since(8 * 60, Verdict::Timeout)),
    // Nor CRC counters: the scenario's text again.
    ("SQV", Which::Id("acc-02"), Plan::Since(44 * 60, Verdict::Warn("CRC errors on Gi1/0/3: 1.2%"))),
    ("GGU", Which::Id("timing"), Plan::Since(20 * 60, Verdict::Fail("connection refused"))),
    ("LIL", Which::Id("ovr-b"), Plan::Since(26 * 60, Verdict::Fail("HTTP 503 Service Unavailable, expected 200"))),
    ("TEA", Which::All, Plan::Maintenance(2 * 3_600 + 30 * 60, None)),
    ("CDG", Which::All, Plan::NotPolled),
];

/// How much later, per level of parents, a problem of [`Which::Behind`]
/// or [`Which::All`] starts for a device than for the device it is
/// reached through.
///
/// None: checks through a lost link fail from the same moment, as they
/// do in the field. The engine holds a child's failures until its
/// parents have a verdict (it asks for them at once, and the fixture
/// answers), so no child incident comes and goes on the way (before
/// step 5 this was 15 s, to hide that storm).
pub const STAGGER_SECS: u64 = 0;

/// The plan of every device of `inv` (OK throughout when none), and which
/// entries of [`PLANS`] named no device.
pub fn plans(inv: &Inventory) -> (Vec<Option<Plan>>, Vec<usize>) {
    let depths = depths(inv);
    let mut out: Vec<Option<Plan>> = vec![None; inv.devices.len()];
    let mut unused = Vec::new();
    for (n, &(code, which, plan)) in PLANS.iter().enumerate() {
        let Some(v) = inv.venues.iter().position(|v| v.code == code) else {
            unused.push(n);
            continue;
        };
        let mut hit = false;
        for d in 0..inv.devices.len() {
            let device = &inv.devices[d];
            if device.venue.0 != v || out[d].is_some() {
                continue;
            }
            let below = match which {
                Which::All => Some(depths[d]),
                Which::Id(suffix) => (device.id == format!("{code}-{suffix}")).then_some(0),
                Which::Behind(suffix) => inv
                    .device(&format!("{code}-{suffix}"))
                    .filter(|(root, _)| behind(inv, d, root.0))
                    .map(|(root, _)| depths[d].saturating_sub(depths[root.0])),
            };
            let Some(below) = below else {
                continue;
            };
            out[d] = Some(match plan {
                Plan::Since(secs, v) => Plan::Since(secs - STAGGER_SECS * below, v),
                other => other,
            });
            hit = true;
        }
        if !hit {
            unused.push(n);
        }
    }
    (out, unused)
}

/// Whether device `d` is reached through device `root`.
fn behind(inv: &Inventory, d: usize, root: usize) -> bool {
    let mut stack: Vec<usize> = inv.devices[d].parents.iter().map(|p| p.0).collect();
    let mut seen = vec![false; inv.devices.len()];
    while let Some(p) = stack.pop() {
        if p == root {
            return true;
        }
        if !std::mem::replace(&mut seen[p], true) {
            stack.extend(inv.devices[p].parents.iter().map(|q| q.0));
        }
    }
    false
}

/// Levels of parents above each device (0 for a device without parents).
fn depths(inv: &Inventory) -> Vec<u64> {
    fn depth(inv: &Inventory, d: usize, memo: &mut [Option<u64>], guard: usize) -> u64 {
        if let Some(n) = memo[d] {
            return n;
        }
        let n = if guard == 0 {
            0
        } else {
            inv.devices[d]
                .parents
                .iter()
                .map(|p| 1 + depth(inv, p.0, memo, guard - 1))
                .max()
                .unwrap_or(0)
        };
        memo[d] = Some(n);
        n
    }
    let mut memo = vec![None; inv.devices.len()];
    (0..inv.devices.len())
        .map(|d| depth(inv, d, &mut memo, 16))
        .collect()
}

/// A deterministic spread in `0..modulo` for index `i`.
fn spread(i: usize, modulo: u64) -> u64 {
    (i as u64).wrapping_mul(2_654_435_761) % modulo.max(1)
}

/// One device's checks: poll interval, and the age in seconds (before
/// [`now`]) of its check number `k` counted back from the last (0).
#[derive(Debug, Clone, Copy)]
struct Grid {
    poll: u64,
    phase: u64,
    /// Number of the first check.
    first: u64,
}

impl Grid {
    fn new(d: usize, poll: Duration) -> Grid {
        let poll = poll.as_secs().max(1);
        let phase = 1 + spread(d, poll);
        // The first check a little after the start (the scheduler starts
        // every device within its first seconds).
        let first = (UPTIME_SECS - 2 - phase) / poll;
        Grid { poll, phase, first }
    }

    fn age(self, k: u64) -> u64 {
        self.phase + k * self.poll
    }

    /// Numbers of the checks aged from `young` to `old` seconds.
    fn between(self, young: u64, old: u64) -> std::ops::RangeInclusive<u64> {
        let lo = young.saturating_sub(self.phase).div_ceil(self.poll);
        let hi = old.saturating_sub(self.phase) / self.poll;
        lo..=hi.min(self.first)
    }
}

impl Plan {
    /// The verdict at check `k` (aged `age` seconds), `None` for OK.
    fn verdict(self, k: u64, age: u64) -> Option<Verdict> {
        match self {
            Plan::Since(secs, v) if age <= secs => Some(v),
            Plan::Last(n, v) if k < n => Some(v),
            Plan::Flapping(v) if k < RECENT && k.is_multiple_of(2) => Some(v),
            _ => None,
        }
    }

    /// The checks to feed besides the first and the last [`RECENT`].
    fn around(self, grid: Grid, attempts: u64) -> Vec<u64> {
        match self {
            Plan::Since(secs, _) => grid
                .between(
                    secs.saturating_sub(attempts * grid.poll),
                    secs + 2 * grid.poll,
                )
                .collect(),
            Plan::Note(secs, _) => grid.between(secs, secs + grid.poll).take(1).collect(),
            _ => Vec::new(),
        }
    }
}

fn result(verdict: Option<Verdict>, probe: &ProbeTarget) -> CheckResult {
    match verdict {
        None => CheckResult::Ok,
        Some(Verdict::Timeout) => CheckResult::Fail(
            match probe {
                ProbeTarget::Snmp { .. } => SNMP_TIMEOUT,
                _ => TIMED_OUT,
            }
            .to_owned(),
        ),
        Some(Verdict::Fail(r)) => CheckResult::Fail(r.to_owned()),
        Some(Verdict::Warn(r)) => CheckResult::Warn(r.to_owned()),
        Some(Verdict::Unknown(r)) => CheckResult::Unknown(r.to_owned()),
    }
}

/// What the probe read, in the probes' words (nothing when there was no
/// answer).
fn outcome(result: CheckResult, inv: &Inventory, d: usize, k: u64) -> Outcome {
    let device = &inv.devices[d];
    if matches!(result, CheckResult::Fail(_)) {
        return Outcome::new(result);
    }
    let unknown = matches!(result, CheckResult::Unknown(_));
    let micros = 300 + spread(d * 31 + usize::try_from(k).unwrap_or(0), 9_000);
    let latency = Duration::from_micros(micros);
    let mut outcome = Outcome::new(result).with_latency(latency);
    outcome.readings = match &device.probe {
        ProbeTarget::Snmp { .. } => {
            let mut r = vec![Reading::new("sysName", &device.id)];
            if !unknown {
                let up = format!("{}d {}h", 3 + spread(d, 9), spread(d, 24));
                r.push(Reading::new("sysUpTime", up));
                if device.checks.cpu_threshold.is_some() {
                    r.push(Reading::new("cpu.percent", 4 + spread(d, 40)));
                }
            }
            r
        }
        ProbeTarget::Http { .. } => vec![
            Reading::new("http.status", 200),
            Reading::new("http.latency_ms", latency.as_millis()),
        ],
        ProbeTarget::Tcp { .. } => vec![Reading::new(
            "tcp.connect_ms",
            format!("{:.3}", latency.as_secs_f64() * 1_000.0),
        )],
    };
    outcome
}

/// One check to feed: its age (oldest first), the device, its number.
type Check = (Reverse<u64>, usize, u64);

/// A maintenance command: age, device, user.
type Maintenance = (u64, usize, Option<&'static str>);

/// Every check to feed, oldest first, and the maintenance commands (age,
/// device, user).
fn schedule(
    plans: &[Option<Plan>],
    grids: &[Grid],
    attempts: u64,
) -> (Vec<Check>, Vec<Maintenance>) {
    let mut checks: Vec<Check> = Vec::new();
    let mut maintenance = Vec::new();
    for (d, (plan, &grid)) in plans.iter().zip(grids).enumerate() {
        match plan {
            Some(Plan::NotPolled) => continue,
            Some(Plan::Maintenance(secs, user)) => maintenance.push((*secs, d, *user)),
            _ => {}
        }
        let mut ks: Vec<u64> = (0..RECENT.min(grid.first + 1)).collect();
        ks.push(grid.first);
        if let Some(plan) = plan {
            ks.extend(plan.around(grid, attempts));
        }
        ks.sort_unstable();
        ks.dedup();
        checks.extend(ks.into_iter().map(|k| (Reverse(grid.age(k)), d, k)));
    }
    // Oldest first; devices in inventory order within a second.
    checks.sort_unstable();
    maintenance.sort_by_key(|&(secs, d, _)| (Reverse(secs), d));
    (checks, maintenance)
}

fn build(venues: usize, devices: usize, host: bool) -> Snapshot {
    let inv = inventory(venues, devices);
    let (plans, _) = plans(&inv);
    let attempts = u64::from(inv.event.max_attempts);
    let grids: Vec<Grid> = inv
        .devices
        .iter()
        .enumerate()
        .map(|(d, device)| Grid::new(d, device.poll_interval))
        .collect();
    let (checks, maintenance) = schedule(&plans, &grids, attempts);
    let mut maintenance = maintenance.into_iter().peekable();
    let mut state = State::new(&inv, ago(UPTIME_SECS));
    let mut last: Vec<Option<CheckResult>> = vec![None; inv.devices.len()];
    let mut run: Vec<u64> = vec![0; inv.devices.len()];
    for batch in checks.chunk_by(|a, b| a.0 == b.0) {
        let Reverse(age) = batch[0].0;
        while let Some((secs, d, user)) = maintenance.next_if(|m| m.0 >= age) {
            maintain(&mut state, &inv, d, ago(secs));
            if let Some(user) = user {
                let text = format!("{}: maintenance on", inv.devices[d].id);
                state.command_applied(user, &text, ago(secs));
                audited(&mut state, &inv, d, user, ago(secs));
            }
        }
        // Whether this second's checks may change a hard state (a new
        // result, or the same problem at the last attempt): the engine
        // settles and publishes at once.
        let mut settle = false;
        for &(_, d, k) in batch {
            let device = &inv.devices[d];
            let plan = plans[d];
            let result = result(plan.and_then(|p| p.verdict(k, age)), &device.probe);
            if last[d].as_ref() == Some(&result) {
                run[d] += 1;
            } else {
                run[d] = 1;
                settle = true;
            }
            settle |= result != CheckResult::Ok && run[d] == attempts;
            let mut outcome = outcome(result.clone(), &inv, d, k);
            if let Some(Plan::Note(secs, note)) = plan
                && plan.is_some_and(|p| p.around(grids[d], attempts).first() == Some(&k))
            {
                debug_assert!(age >= secs);
                outcome.notes.push(note.to_owned());
                for r in &mut outcome.readings {
                    if r.name == "sysUpTime" {
                        "12s".clone_into(&mut r.value);
                    }
                }
            }
            last[d] = Some(result);
            state.observe(Observation {
                device: d,
                at: ago(age),
                start_delay: Duration::ZERO,
                took: Duration::ZERO,
                outcome,
            });
        }
        // The checks the engine asks for now (parents a failing child
        // waits for, children of a recovered parent), answered as the
        // poller would within the second: by the plan at this time, or as
        // the device last answered.
        for _ in 0..8 {
            let wanted = state.take_checks();
            if wanted.is_empty() {
                break;
            }
            settle = true;
            for d in wanted {
                let result = match plans[d] {
                    Some(p @ Plan::Since(..)) => result(p.verdict(0, age), &inv.devices[d].probe),
                    _ => last[d].clone().unwrap_or(CheckResult::Ok),
                };
                state.observe(Observation {
                    device: d,
                    at: ago(age),
                    start_delay: Duration::ZERO,
                    took: Duration::ZERO,
                    outcome: outcome(result, &inv, d, 0),
                });
            }
        }
        if settle {
            let _ = state.snapshot(ago(age));
        }
    }
    for (secs, d, _) in maintenance {
        maintain(&mut state, &inv, d, ago(secs));
    }
    if host {
        state.set_host(host_snap());
    }
    state.snapshot(ago(1))
}

fn host_snap() -> HostSample {
    let readings = vec![
        Reading::new("cpu.percent", "12.5"),
        Reading::new("load.1m", "0.42"),
        Reading::new("memory.used", 7_093_985_280_u64),
        Reading::new("memory.total", 17_179_869_184_u64),
        Reading::new("memory.percent", "41.3"),
        Reading::new("disk./var/lib/toc.percent", "63.0"),
        Reading::new("processes", 312),
    ];
    HostSample {
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

/// The index of venue `code` in `snap`.
pub fn venue(snap: &Snapshot, code: &str) -> usize {
    snap.layout
        .venues
        .iter()
        .position(|v| v.code == code)
        .unwrap_or_else(|| panic!("no venue {code}"))
}

/// The index of device `id` in `snap`.
pub fn device(snap: &Snapshot, id: &str) -> usize {
    snap.layout
        .devices
        .iter()
        .position(|d| d.id == id)
        .unwrap_or_else(|| panic!("no device {id}"))
}

/// Device indices by id, for tests that look up many.
pub fn ids(snap: &Snapshot) -> HashMap<&str, usize> {
    snap.layout
        .devices
        .iter()
        .enumerate()
        .map(|(i, d)| (d.id.as_str(), i))
        .collect()
}

/// Puts device `d` in maintenance from `at` for a day.
fn maintain(state: &mut State, inv: &Inventory, d: usize, at: SystemTime) {
    let id = &inv.devices[d].id;
    if let Err(why) = state.maintain(id, Duration::from_secs(86_400), "works", "games", at) {
        panic!("{id}: {why}");
    }
}

/// The audit record of `user` putting device `d` in maintenance, and of a
/// viewer refused the same.
fn audited(state: &mut State, inv: &Inventory, d: usize, user: &str, at: SystemTime) {
    use toc::engine::{AuditRecord, Command, Identity, Role};
    let id = &inv.devices[d].id;
    let command = Command::maintenance(id.clone(), Duration::from_secs(86_400), "works");
    for (who, role, applied, outcome) in [
        (
            "vic",
            Role::Viewer,
            false,
            "refused: needs role operator, you are viewer".to_owned(),
        ),
        (
            user,
            Role::Operator,
            true,
            format!("{id}: maintenance on for 1day"),
        ),
    ] {
        state.audited(AuditRecord {
            at,
            identity: Identity {
                user: who.to_owned(),
                role,
                venues: Vec::new(),
            },
            text: command.to_string(),
            command: command.clone(),
            applied,
            outcome,
        });
    }
}
