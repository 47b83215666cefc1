//! The simulator's fault model: what is wrong with which simulated device
//! right now.
//!
//! Faults are set on a device or, for `uplink-down`, on a whole venue, with
//! an optional expiry. The SNMP agent, the HTTP health endpoints and the
//! TCP listeners all ask [`SimState::view`] how a device should behave at
//! the moment a request arrives, so a fault takes effect on the next
//! request and clears the same way.

use std::collections::HashMap;
use std::fmt;
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};

use crate::config::Inventory;
use crate::engine::command::{FaultKind, FaultSpec};
use crate::engine::port::FaultInjector;

/// One thing that can be wrong with a simulated device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Silent on every protocol, as a dead box or a cut cable.
    Down,
    /// Answers, but only after this delay.
    Slow(Duration),
    /// An interface (by name or ifIndex) is oper-down while admin-up;
    /// `None` takes every interface down.
    IfDown(Option<String>),
    /// Alternates between down and up, each phase lasting this long.
    Flapping(Duration),
    /// Refuses our credentials: `SNMPv3` answers with a
    /// `usmStatsWrongDigests` report, v2c stays silent as a real agent
    /// does, HTTP answers 401.
    AuthFail,
    /// CPU load pinned at this percent.
    CpuHigh(u8),
    /// A results server (see [`super::ovr`]) posts broken ODF now and
    /// then.
    Corrupt,
    /// A results server re-posts its recent messages after each new one.
    DupStorm,
}

impl Fault {
    /// The fault's name in the control API and scenario files.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Down => "down",
            Fault::Slow(_) => "slow",
            Fault::IfDown(_) => "if-down",
            Fault::Flapping(_) => "flapping",
            Fault::AuthFail => "auth-fail",
            Fault::CpuHigh(_) => "cpu-high",
            Fault::Corrupt => "corrupt",
            Fault::DupStorm => "dup-storm",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Slow(d) | Fault::Flapping(d) => {
                write!(f, "{} {}", self.kind(), humantime::format_duration(*d))
            }
            Fault::IfDown(Some(name)) => write!(f, "if-down {name}"),
            Fault::CpuHigh(p) => write!(f, "cpu-high {p}%"),
            _ => f.write_str(self.kind()),
        }
    }
}

/// How a device should behave right now, all its faults taken together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceView {
    /// Send nothing back.
    pub silent: bool,
    /// Wait this long before answering.
    pub delay: Duration,
    /// Refuse the credentials.
    pub auth_fail: bool,
    /// Every interface is oper-down.
    pub all_if_down: bool,
    /// Interfaces (names or ifIndex numbers as text) that are oper-down.
    pub if_down: Vec<String>,
    /// Times the device has booted (`SNMPv3` snmpEngineBoots), from 1.
    pub boots: u32,
    /// When it last booted (sysUpTime counts from here).
    pub up_since: Instant,
    /// CPU load in percent.
    pub cpu_percent: u8,
    /// What a results server (OVR source) does wrong.
    pub results: ResultsView,
}

/// The faults only a results server shows (see [`super::ovr`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResultsView {
    /// Posts broken messages now and then.
    pub corrupt: bool,
    /// Re-posts its recent messages after each new one.
    pub dup_storm: bool,
}

impl DeviceView {
    /// Whether the interface with this ifIndex and name is oper-down.
    pub fn interface_down(&self, if_index: u32, name: &str) -> bool {
        self.all_if_down
            || self
                .if_down
                .iter()
                .any(|d| d == name || d.parse::<u32>().is_ok_and(|n| n == if_index))
    }
}

/// A fault that is set, as listed by the control API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveFault {
    /// Device id, or venue code for `uplink-down`.
    pub target: String,
    /// The fault (`None` for a venue uplink).
    pub fault: Option<Fault>,
    /// When it was set.
    pub since: Instant,
    /// When it clears by itself.
    pub until: Option<Instant>,
}

#[derive(Debug, Clone)]
struct Set {
    fault: Fault,
    since: Instant,
    until: Option<Instant>,
}

#[derive(Debug, Clone)]
struct DeviceSim {
    venue: usize,
    faults: Vec<Set>,
    boots: u32,
    up_since: Instant,
    base_cpu: u8,
}

#[derive(Debug, Default)]
struct Inner {
    devices: Vec<DeviceSim>,
    /// Venue index → (since, until) of an uplink outage.
    uplink_down: HashMap<usize, (Instant, Option<Instant>)>,
    /// Every device silent (the big bang of a scenario): (since, until).
    blackout: Option<(Instant, Option<Instant>)>,
}

/// The live fault state of every simulated device, shared by the agents.
#[derive(Debug)]
pub struct SimState {
    ids: HashMap<String, usize>,
    venues: HashMap<String, usize>,
    inner: RwLock<Inner>,
}

/// A fault target that does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownTarget(pub String);

impl fmt::Display for UnknownTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no simulated device or venue called {:?}", self.0)
    }
}

impl std::error::Error for UnknownTarget {}

/// The longest a fault may last: 30 days, as any duration a person
/// writes ([`crate::config::value::MAX_DURATION`]).
pub const MAX_FAULT_DURATION: Duration = crate::config::value::MAX_DURATION;

/// Why a fault could not be set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultError {
    /// No such device or venue.
    UnknownTarget(UnknownTarget),
    /// The duration is longer than [`MAX_FAULT_DURATION`].
    TooLong(Duration),
}

impl fmt::Display for FaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultError::UnknownTarget(t) => t.fmt(f),
            FaultError::TooLong(d) => write!(
                f,
                "a fault lasts at most 30 days (got {}); leave `for` out for one that lasts until cleared",
                humantime::format_duration(*d)
            ),
        }
    }
}

impl std::error::Error for FaultError {}

impl From<UnknownTarget> for FaultError {
    fn from(t: UnknownTarget) -> Self {
        FaultError::UnknownTarget(t)
    }
}

/// When a fault set at `now` for `duration` ends: checked, never past
/// [`MAX_FAULT_DURATION`], so that no input can overflow the clock.
pub fn expiry(now: Instant, duration: Option<Duration>) -> Result<Option<Instant>, FaultError> {
    let Some(d) = duration else {
        return Ok(None);
    };
    if d > MAX_FAULT_DURATION {
        return Err(FaultError::TooLong(d));
    }
    now.checked_add(d).map(Some).ok_or(FaultError::TooLong(d))
}

impl SimState {
    /// Every device of `inventory`, healthy, booted now.
    pub fn new(inventory: &Inventory) -> Self {
        let now = Instant::now();
        let devices = inventory
            .devices
            .iter()
            .enumerate()
            .map(|(i, d)| DeviceSim {
                venue: d.venue.0,
                faults: Vec::new(),
                boots: 1,
                // Stagger the uptimes so the wall does not show identical
                // numbers: as if each box had been up for hours already.
                up_since: now
                    .checked_sub(Duration::from_secs(3600 + (i as u64 * 7919) % 86_400))
                    .unwrap_or(now),
                base_cpu: u8::try_from(5 + (i * 37) % 30).unwrap_or(20),
            })
            .collect();
        Self {
            ids: inventory
                .devices
                .iter()
                .enumerate()
                .map(|(i, d)| (d.id.clone(), i))
                .collect(),
            venues: inventory
                .venues
                .iter()
                .enumerate()
                .map(|(i, v)| (v.code.clone(), i))
                .collect(),
            inner: RwLock::new(Inner {
                devices,
                uplink_down: HashMap::new(),
                blackout: None,
            }),
        }
    }

    /// The index of the device with this id.
    pub fn device_index(&self, id: &str) -> Option<usize> {
        self.ids.get(id).copied()
    }

    /// The index of the venue with this code.
    pub fn venue_index(&self, code: &str) -> Option<usize> {
        self.venues.get(code).copied()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// How device `device` behaves at `now`. An index out of range reads
    /// as a silent device.
    pub fn view(&self, device: usize, now: Instant) -> DeviceView {
        let inner = self.read();
        let Some(d) = inner.devices.get(device) else {
            return DeviceView {
                silent: true,
                delay: Duration::ZERO,
                auth_fail: false,
                all_if_down: false,
                if_down: Vec::new(),
                boots: 1,
                up_since: now,
                cpu_percent: 0,
                results: ResultsView::default(),
            };
        };
        let mut view = DeviceView {
            silent: false,
            delay: Duration::ZERO,
            auth_fail: false,
            all_if_down: false,
            if_down: Vec::new(),
            boots: d.boots,
            up_since: d.up_since,
            cpu_percent: d.base_cpu,
            results: ResultsView::default(),
        };
        if let Some((_, until)) = inner.uplink_down.get(&d.venue)
            && until.is_none_or(|u| now < u)
        {
            view.silent = true;
        }
        if let Some((_, until)) = inner.blackout
            && until.is_none_or(|u| now < u)
        {
            view.silent = true;
        }
        for set in d.faults.iter().filter(|s| s.until.is_none_or(|u| now < u)) {
            match &set.fault {
                Fault::Down => view.silent = true,
                Fault::Slow(delay) => view.delay = view.delay.max(*delay),
                Fault::IfDown(None) => view.all_if_down = true,
                Fault::IfDown(Some(name)) => view.if_down.push(name.clone()),
                Fault::Flapping(period) => {
                    let phase = now.saturating_duration_since(set.since).as_millis()
                        / period.as_millis().max(1);
                    if phase.is_multiple_of(2) {
                        view.silent = true;
                    }
                }
                Fault::AuthFail => view.auth_fail = true,
                Fault::CpuHigh(p) => view.cpu_percent = (*p).min(100),
                Fault::Corrupt => view.results.corrupt = true,
                Fault::DupStorm => view.results.dup_storm = true,
            }
        }
        view
    }

    /// Sets `fault` on device `id` (replacing one of the same kind), for
    /// `duration` or until cleared.
    /// A duration over [`MAX_FAULT_DURATION`] is refused before anything
    /// changes.
    pub fn set(
        &self,
        id: &str,
        fault: Fault,
        duration: Option<Duration>,
    ) -> Result<(), FaultError> {
        let idx = self
            .device_index(id)
            .ok_or_else(|| UnknownTarget(id.to_owned()))?;
        let now = Instant::now();
        let until = expiry(now, duration)?;
        let mut inner = self.write();
        if let Some(d) = inner.devices.get_mut(idx) {
            d.faults
                .retain(|s| !(s.fault.kind() == fault.kind() && s.fault == fault));
            if !matches!(fault, Fault::IfDown(_)) {
                d.faults.retain(|s| s.fault.kind() != fault.kind());
            }
            d.faults.push(Set {
                fault,
                since: now,
                until,
            });
        }
        Ok(())
    }

    /// Takes venue `code`'s uplink down: every device of the venue goes
    /// silent, as when both uplink routers lose their WAN circuits.
    pub fn uplink_down(&self, code: &str, duration: Option<Duration>) -> Result<(), FaultError> {
        let idx = self
            .venue_index(code)
            .ok_or_else(|| UnknownTarget(code.to_owned()))?;
        let now = Instant::now();
        let until = expiry(now, duration)?;
        self.write().uplink_down.insert(idx, (now, until));
        Ok(())
    }

    /// Reboots device `id`: sysUpTime starts again from zero and the
    /// `SNMPv3` engine boots counter goes up by one.
    pub fn reboot(&self, id: &str) -> Result<(), UnknownTarget> {
        let idx = self
            .device_index(id)
            .ok_or_else(|| UnknownTarget(id.to_owned()))?;
        let mut inner = self.write();
        if let Some(d) = inner.devices.get_mut(idx) {
            d.boots = d.boots.saturating_add(1);
            d.up_since = Instant::now();
        }
        Ok(())
    }

    /// Clears faults on a device id or venue code: all of them, or those of
    /// one kind (`down`, `slow`, …, `uplink-down`). Returns how many were
    /// cleared: faults that had already expired are dropped, not counted.
    pub fn clear(&self, target: &str, kind: Option<&str>) -> Result<usize, UnknownTarget> {
        let now = Instant::now();
        let mut inner = self.write();
        if let Some(idx) = self.device_index(target) {
            let Some(d) = inner.devices.get_mut(idx) else {
                return Ok(0);
            };
            let mut n = 0;
            d.faults.retain(|s| {
                let keep = kind.is_some_and(|k| s.fault.kind() != k);
                if !keep && in_force(s.until, now) {
                    n += 1;
                }
                keep
            });
            return Ok(n);
        }
        if let Some(idx) = self.venue_index(target) {
            if kind.is_none_or(|k| k == "uplink-down") {
                let removed = inner.uplink_down.remove(&idx);
                return Ok(usize::from(
                    removed.is_some_and(|(_, until)| in_force(until, now)),
                ));
            }
            return Ok(0);
        }
        if target == EVERYTHING {
            if kind.is_none_or(|k| k == BIG_BANG) {
                let removed = inner.blackout.take();
                return Ok(usize::from(
                    removed.is_some_and(|(_, until)| in_force(until, now)),
                ));
            }
            return Ok(0);
        }
        Err(UnknownTarget(target.to_owned()))
    }

    /// Silences every device until `until` (or until cleared), as before
    /// the big bang of a scenario: the whole Games then comes up at once.
    /// Listed by [`SimState::active`] with target `*`.
    pub fn silence_all(&self, until: Option<Instant>) {
        self.write().blackout = Some((Instant::now(), until));
    }

    /// Applies `action` to `target` (a device id, or a venue code for
    /// `uplink-down`) for `duration` or until cleared. Returns one line
    /// saying what was done.
    pub fn apply(
        &self,
        target: &str,
        action: &Action,
        duration: Option<Duration>,
    ) -> Result<String, String> {
        let said = self.plan(target, action, duration)?;
        let done = match action {
            Action::Fault(fault) => self.set(target, fault.clone(), duration),
            Action::Reboot => self.reboot(target).map_err(FaultError::from),
            Action::UplinkDown => self.uplink_down(target, duration),
        };
        done.map_err(|e| e.to_string())?;
        Ok(said)
    }

    /// What [`SimState::apply`] would say it did, or why it would refuse;
    /// changes nothing. The audit record of a change is written with this
    /// before the change is made.
    pub fn plan(
        &self,
        target: &str,
        action: &Action,
        duration: Option<Duration>,
    ) -> Result<String, String> {
        check_target(
            target,
            action,
            self.device_index(target).is_some(),
            self.venue_index(target).is_some(),
        )?;
        expiry(Instant::now(), duration).map_err(|e| e.to_string())?;
        Ok(describe(target, action, duration))
    }

    /// Whether [`SimState::clear`] takes `target` (a device id, a venue
    /// code or `*`); changes nothing.
    pub fn knows(&self, target: &str) -> bool {
        self.device_index(target).is_some()
            || self.venue_index(target).is_some()
            || target == EVERYTHING
    }

    /// Clears every fault everywhere. Returns how many were cleared (those
    /// still in force).
    pub fn clear_all(&self) -> usize {
        let now = Instant::now();
        let mut inner = self.write();
        let mut n = inner
            .uplink_down
            .values()
            .filter(|(_, until)| in_force(*until, now))
            .count()
            + usize::from(
                inner
                    .blackout
                    .take()
                    .is_some_and(|(_, until)| in_force(until, now)),
            );
        inner.uplink_down.clear();
        for d in &mut inner.devices {
            n += d.faults.iter().filter(|s| in_force(s.until, now)).count();
            d.faults.clear();
        }
        n
    }

    /// Every fault in force at `now` (expired ones are dropped).
    pub fn active(&self, now: Instant) -> Vec<ActiveFault> {
        let mut inner = self.write();
        let mut out = Vec::new();
        inner
            .uplink_down
            .retain(|_, (_, until)| until.is_none_or(|u| now < u));
        if inner
            .blackout
            .is_some_and(|(_, until)| until.is_some_and(|u| now >= u))
        {
            inner.blackout = None;
        }
        if let Some((since, until)) = inner.blackout {
            out.push(ActiveFault {
                target: EVERYTHING.to_owned(),
                fault: None,
                since,
                until,
            });
        }
        let mut venues: Vec<_> = self.venues.iter().collect();
        venues.sort();
        for (code, idx) in venues {
            if let Some((since, until)) = inner.uplink_down.get(idx) {
                out.push(ActiveFault {
                    target: code.clone(),
                    fault: None,
                    since: *since,
                    until: *until,
                });
            }
        }
        let mut ids: Vec<_> = self.ids.iter().collect();
        ids.sort_by_key(|(_, i)| **i);
        for (id, idx) in ids {
            let Some(d) = inner.devices.get_mut(*idx) else {
                continue;
            };
            d.faults.retain(|s| s.until.is_none_or(|u| now < u));
            for s in &d.faults {
                out.push(ActiveFault {
                    target: id.clone(),
                    fault: Some(s.fault.clone()),
                    since: s.since,
                    until: s.until,
                });
            }
        }
        out
    }
}

/// Whether a fault ending at `until` (never, when `None`) is in force at
/// `now`.
fn in_force(until: Option<Instant>, now: Instant) -> bool {
    until.is_none_or(|u| now < u)
}

/// The target name of the every-device blackout (the big bang).
pub const EVERYTHING: &str = "*";

/// The kind name of the every-device blackout.
pub const BIG_BANG: &str = "big-bang";

impl ActiveFault {
    /// The fault's kind as the control API names it: a [`Fault::kind`],
    /// `uplink-down` for a venue, or `big-bang` for every device.
    pub fn kind(&self) -> &'static str {
        match &self.fault {
            Some(f) => f.kind(),
            None if self.target == EVERYTHING => BIG_BANG,
            None => "uplink-down",
        }
    }

    /// One line on what the fault does.
    pub fn detail(&self) -> String {
        match &self.fault {
            Some(Fault::IfDown(None)) => "every interface oper-down".to_owned(),
            Some(Fault::IfDown(Some(name))) => format!("interface {name} oper-down"),
            Some(Fault::Slow(d)) => format!("answers after {}", humantime::format_duration(*d)),
            Some(Fault::Flapping(d)) => format!(
                "down and up in turn, {} each",
                humantime::format_duration(*d)
            ),
            Some(Fault::CpuHigh(p)) => format!("CPU at {p}%"),
            Some(Fault::Down) => "silent on every protocol".to_owned(),
            Some(Fault::AuthFail) => "refuses our credentials".to_owned(),
            Some(Fault::Corrupt) => "posts broken ODF now and then".to_owned(),
            Some(Fault::DupStorm) => "re-posts its recent messages in bursts".to_owned(),
            None if self.target == EVERYTHING => {
                "every device silent until the big bang".to_owned()
            }
            None => "venue uplink down: every device of the venue silent".to_owned(),
        }
    }
}

/// Something the control API or a scenario does to a target: set a
/// fault, reboot a device, or take a venue's uplink down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Set this fault on a device.
    Fault(Fault),
    /// Reboot a device now (no duration).
    Reboot,
    /// Take a venue's uplink down (the target is a venue code).
    UplinkDown,
}

/// Every action name, as written in the control API and scenario files
/// (the engine's fault kinds).
pub use crate::engine::command::FAULT_KINDS as ACTION_KINDS;
pub use crate::engine::command::{DEFAULT_CPU, DEFAULT_FLAP, DEFAULT_SLOW};

impl Action {
    /// Reads an action from its name and optional value: `slow` takes a
    /// delay (`"200ms"`, default 500ms), `flapping` a phase length
    /// (default 10s), `if-down` an interface name or ifIndex (default:
    /// every interface), `cpu-high` a percent (default 95); the others take
    /// no value. The error says what to write instead.
    pub fn parse(kind: &str, value: Option<&str>) -> Result<Action, String> {
        FaultKind::parse(kind, value).map(Action::from)
    }

    /// The action's name (`down`, …, `reboot`, `uplink-down`).
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Fault(f) => f.kind(),
            Action::Reboot => "reboot",
            Action::UplinkDown => "uplink-down",
        }
    }
}

impl From<FaultKind> for Action {
    fn from(kind: FaultKind) -> Action {
        match kind {
            FaultKind::Down => Action::Fault(Fault::Down),
            FaultKind::Slow(d) => Action::Fault(Fault::Slow(d)),
            FaultKind::IfDown(name) => Action::Fault(Fault::IfDown(name)),
            FaultKind::Flapping(d) => Action::Fault(Fault::Flapping(d)),
            FaultKind::AuthFail => Action::Fault(Fault::AuthFail),
            FaultKind::CpuHigh(p) => Action::Fault(Fault::CpuHigh(p)),
            FaultKind::Reboot => Action::Reboot,
            FaultKind::UplinkDown => Action::UplinkDown,
            FaultKind::Corrupt => Action::Fault(Fault::Corrupt),
            FaultKind::DupStorm => Action::Fault(Fault::DupStorm),
        }
    }
}

/// The simulator is the engine's fault port in a `toc demo`.
impl FaultInjector for SimState {
    fn inject(&self, spec: &FaultSpec) -> Result<String, String> {
        self.apply(
            &spec.target,
            &Action::from(spec.fault.clone()),
            spec.duration,
        )
    }

    fn check(&self, spec: &FaultSpec) -> Result<String, String> {
        let action = Action::from(spec.fault.clone());
        check_target(
            &spec.target,
            &action,
            self.device_index(&spec.target).is_some(),
            self.venue_index(&spec.target).is_some(),
        )?;
        Ok(describe(&spec.target, &action, spec.duration))
    }

    fn check_clear(&self, target: Option<&str>) -> Result<(), String> {
        match target {
            Some(t)
                if self.device_index(t).is_none()
                    && self.venue_index(t).is_none()
                    && t != EVERYTHING =>
            {
                Err(UnknownTarget(t.to_owned()).to_string())
            }
            _ => Ok(()),
        }
    }

    /// A venue code clears the venue's uplink and every fault of its
    /// devices.
    fn clear(&self, target: Option<&str>) -> Result<usize, String> {
        let Some(target) = target else {
            return Ok(self.clear_all());
        };
        let mut n = SimState::clear(self, target, None).map_err(|e| e.to_string())?;
        if let Some(venue) = self.venue_index(target) {
            let now = Instant::now();
            let mut inner = self.write();
            for d in inner.devices.iter_mut().filter(|d| d.venue == venue) {
                n += d.faults.iter().filter(|s| in_force(s.until, now)).count();
                d.faults.clear();
            }
        }
        Ok(n)
    }

    fn active(&self) -> Vec<crate::engine::SimFault> {
        SimState::active(self, Instant::now())
            .iter()
            .map(|f| crate::engine::SimFault {
                target: f.target.clone(),
                kind: f.kind().to_owned(),
            })
            .collect()
    }
}

/// Whether `action` can be applied to `target`, given whether the target
/// names a device and whether it names a venue. `uplink-down` takes a
/// venue code, every other action a device id.
pub fn check_target(
    target: &str,
    action: &Action,
    is_device: bool,
    is_venue: bool,
) -> Result<(), String> {
    match action {
        Action::UplinkDown if is_venue => Ok(()),
        Action::UplinkDown if is_device => Err(format!(
            "`uplink-down` takes a venue code, and `{target}` is a device; name its venue (like `STA`) or use `down`"
        )),
        Action::UplinkDown => Err(format!(
            "no venue called `{target}`; `uplink-down` takes a venue code from venues.toml, like `STA`"
        )),
        _ if is_device => Ok(()),
        _ if is_venue => Err(format!(
            "`{}` takes a device id, and `{target}` is a venue; name a device, or use `uplink-down` for the whole venue",
            action.kind()
        )),
        _ => Err(format!("no device called `{target}` in venues.toml")),
    }
}

/// One line on an applied action: `STA-core-a: down for 30s`.
pub fn describe(target: &str, action: &Action, duration: Option<Duration>) -> String {
    let what = match action {
        Action::Fault(f) => f.to_string(),
        Action::Reboot => "reboot".to_owned(),
        Action::UplinkDown => "uplink-down".to_owned(),
    };
    match duration {
        Some(d) if !matches!(action, Action::Reboot) => {
            format!("{target}: {what} for {}", humantime::format_duration(d))
        }
        _ => format!("{target}: {what}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SourceFile;

    fn state() -> SimState {
        let src = SourceFile::new(
            "small.toml",
            include_str!("../../examples/venues-small.toml").to_owned(),
        );
        let (inv, _) = Inventory::parse(&src).expect("example parses");
        SimState::new(&inv)
    }

    #[test]
    fn healthy_device_answers() {
        let s = state();
        let v = s.view(0, Instant::now());
        assert!(!v.silent && !v.auth_fail && !v.all_if_down);
        assert_eq!(v.delay, Duration::ZERO);
        assert_eq!(v.boots, 1);
    }

    #[test]
    fn down_then_clear() {
        let s = state();
        s.set("STA-core", Fault::Down, None).expect("known");
        let i = s.device_index("STA-core").expect("known");
        assert!(s.view(i, Instant::now()).silent);
        assert_eq!(s.clear("STA-core", None), Ok(1));
        assert!(!s.view(i, Instant::now()).silent);
    }

    #[test]
    fn fault_expires() {
        let s = state();
        s.set("STA-core", Fault::Down, Some(Duration::from_millis(10)))
            .expect("known");
        let i = s.device_index("STA-core").expect("known");
        let now = Instant::now();
        assert!(s.view(i, now).silent);
        assert!(!s.view(i, now + Duration::from_millis(20)).silent);
        assert!(s.active(now + Duration::from_millis(20)).is_empty());
    }

    #[test]
    fn uplink_down_silences_the_whole_venue_only() {
        let s = state();
        s.uplink_down("STA", None).expect("known");
        let now = Instant::now();
        let sta = s.device_index("STA-core").expect("known");
        let mrn = s.device_index("MRN-core").expect("known");
        assert!(s.view(sta, now).silent);
        assert!(!s.view(mrn, now).silent);
        assert_eq!(s.clear("STA", Some("uplink-down")), Ok(1));
        assert!(!s.view(sta, now).silent);
    }

    #[test]
    fn reboot_resets_uptime_and_counts_boots() {
        let s = state();
        let i = s.device_index("STA-core").expect("known");
        let before = s.view(i, Instant::now());
        s.reboot("STA-core").expect("known");
        let after = s.view(i, Instant::now());
        assert_eq!(after.boots, before.boots + 1);
        assert!(after.up_since > before.up_since);
    }

    #[test]
    fn interface_down_by_name_or_index() {
        let s = state();
        s.set("STA-core", Fault::IfDown(Some("2".into())), None)
            .expect("known");
        let v = s.view(s.device_index("STA-core").expect("known"), Instant::now());
        assert!(v.interface_down(2, "Gi1/0/50"));
        assert!(!v.interface_down(1, "Gi1/0/49"));
    }

    #[test]
    fn flapping_alternates() {
        let s = state();
        s.set("STA-core", Fault::Flapping(Duration::from_secs(10)), None)
            .expect("known");
        let i = s.device_index("STA-core").expect("known");
        let now = Instant::now();
        assert!(s.view(i, now).silent);
        assert!(!s.view(i, now + Duration::from_secs(11)).silent);
        assert!(s.view(i, now + Duration::from_secs(21)).silent);
    }

    #[test]
    fn unknown_target_is_an_error() {
        let s = state();
        assert!(s.set("nope", Fault::Down, None).is_err());
        assert!(s.uplink_down("XXX", None).is_err());
        assert!(s.clear("nope", None).is_err());
    }

    #[test]
    fn silence_all_until_the_big_bang() {
        let s = state();
        let now = Instant::now();
        s.silence_all(Some(now + Duration::from_secs(5)));
        let i = s.device_index("MRN-core").expect("known");
        assert!(s.view(i, now).silent);
        assert!(!s.view(i, now + Duration::from_secs(6)).silent);
        let active = s.active(Instant::now());
        assert_eq!(active.len(), 1);
        assert_eq!(active[0].kind(), BIG_BANG);
        assert!(s.active(now + Duration::from_secs(6)).is_empty());
        s.silence_all(None);
        assert_eq!(s.clear(EVERYTHING, None), Ok(1));
        assert!(!s.view(i, Instant::now()).silent);
    }

    #[test]
    fn actions_parse_with_defaults_and_clear_errors() {
        assert_eq!(Action::parse("down", None), Ok(Action::Fault(Fault::Down)));
        assert_eq!(
            Action::parse("slow", Some("200ms")),
            Ok(Action::Fault(Fault::Slow(Duration::from_millis(200))))
        );
        assert_eq!(
            Action::parse("slow", None),
            Ok(Action::Fault(Fault::Slow(DEFAULT_SLOW)))
        );
        assert_eq!(
            Action::parse("cpu-high", Some("97%")),
            Ok(Action::Fault(Fault::CpuHigh(97)))
        );
        assert_eq!(
            Action::parse("if-down", Some("Te0/0/1")),
            Ok(Action::Fault(Fault::IfDown(Some("Te0/0/1".into()))))
        );
        for (kind, value, needle) in [
            ("melt", None, "unknown fault `melt`"),
            ("down", Some("x"), "takes no value"),
            ("slow", Some("200"), "needs a unit"),
            ("slow", Some("0s"), "above zero"),
            ("cpu-high", Some("101"), "0 to 100"),
            ("if-down", Some(""), "interface name"),
        ] {
            let err = Action::parse(kind, value).expect_err(kind);
            assert!(err.contains(needle), "{kind} {value:?}: {err}");
        }
    }

    #[test]
    fn apply_checks_the_kind_of_target() {
        let s = state();
        assert!(s.apply("STA", &Action::UplinkDown, None).is_ok());
        let err = s
            .apply("STA-core", &Action::UplinkDown, None)
            .expect_err("device");
        assert!(err.contains("venue code"), "{err}");
        let err = s
            .apply("STA", &Action::Fault(Fault::Down), None)
            .expect_err("venue");
        assert!(err.contains("is a venue"), "{err}");
        let err = s.apply("nope", &Action::Reboot, None).expect_err("unknown");
        assert!(err.contains("no device called `nope`"), "{err}");
        assert_eq!(
            s.apply(
                "STA-core",
                &Action::Fault(Fault::Down),
                Some(Duration::from_secs(30))
            ),
            Ok("STA-core: down for 30s".to_owned())
        );
    }
}
