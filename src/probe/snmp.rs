//! The SNMP probe: is the device's agent answering, did it reboot, are its
//! watched interfaces up, and is its CPU below the threshold?
//!
//! One check is one GET of `sysUpTime.0` and `sysName.0`, then, when the
//! agent answered, one side-by-side GETBULK walk of `ifDescr`,
//! `ifAdminStatus`, `ifOperStatus` and `ifName` (plus `hrProcessorLoad`
//! when the device has a `cpu_threshold`): two round trips for a small
//! agent, a few more for a big chassis.
//!
//! The verdict, worst first when there are several problems (their reasons
//! joined with `; `):
//!
//! - no answer: DOWN, with the client's reason (`no answer (2 attempts, 1s
//!   each): device down, unreachable, or community refused`);
//! - credentials refused (`usmStatsWrongDigests`, unknown user), a secret
//!   that is not set, an error status or a garbled answer: UNKNOWN, as we
//!   cannot see the device, which may well be fine;
//! - `sysUpTime.0` missing: UNKNOWN (`sysUpTime.0: noSuchObject`);
//! - watched interfaces (the configured ones, matched against `ifName`,
//!   `ifDescr` or the `ifIndex` number, or every interface when none is
//!   configured): an interface that is administratively down is intended
//!   and never a fault. Some admin-up interfaces down is DEGRADED (`Te0/0/1
//!   down (admin up)`); every admin-up watched interface down is DOWN
//!   (`all 2 watched interfaces down`); a configured interface the agent
//!   does not have is DEGRADED (`interface Te0/0/9 not found`);
//! - the average `hrProcessorLoad` across processors above `cpu_threshold`
//!   is DEGRADED (`cpu 95% over 85%`), and so is a threshold on an agent
//!   without `hrProcessorLoad`.
//!
//! A drop of `sysUpTime` between two checks is a reboot, told as a note
//! (`rebooted: up 12s, was up 3d 4h`) without changing the verdict; the
//! wrap of the 32-bit counter after 497 days is not a reboot.
//! [`Outcome::latency`] is the round trip of the GET, the exchange that
//! says whether the agent answers (walk round trips grow with the size of
//! the interface table and are not counted).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::{Outcome, Probe, Reading};
use crate::config::venues::{Checks, Device, ProbeTarget, Profile};
use crate::model::CheckResult;
use crate::model::text::trim_nul;
use crate::snmp::client::{Client, Security, SnmpError, Target};
use crate::snmp::security::security_of;
use crate::snmp::{Oid, Value};

/// `sysUpTime.0`.
const SYS_UPTIME: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 3, 0];
/// `sysName.0`.
const SYS_NAME: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 5, 0];
/// `ifDescr`.
const IF_DESCR: &[u32] = &[1, 3, 6, 1, 2, 1, 2, 2, 1, 2];
/// `ifAdminStatus`.
const IF_ADMIN_STATUS: &[u32] = &[1, 3, 6, 1, 2, 1, 2, 2, 1, 7];
/// `ifOperStatus`.
const IF_OPER_STATUS: &[u32] = &[1, 3, 6, 1, 2, 1, 2, 2, 1, 8];
/// `ifName` (IF-MIB `ifXTable`).
const IF_NAME: &[u32] = &[1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1];
/// `hrProcessorLoad` (HOST-RESOURCES-MIB).
const HR_PROCESSOR_LOAD: &[u32] = &[1, 3, 6, 1, 2, 1, 25, 3, 3, 1, 2];

/// The most rows read from the interface table in one check.
const MAX_ROWS: usize = 4096;

/// Names listed in a reason before `+N more`.
const LISTED: usize = 3;

/// Checks `snmp://host:port` devices with a shared [`Client`]. Build it
/// once per inventory and share it: it holds the credentials (secrets read
/// and `SNMPv3` passphrases hashed once, at construction) and each
/// device's last `sysUpTime` for reboot detection.
pub struct SnmpProbe {
    client: Client,
    retries: u32,
    credentials: Credentials,
    uptimes: Mutex<HashMap<String, Seen>>,
}

/// Where a device's credentials come from.
enum Credentials {
    /// From its profile, by name; a profile whose secret is not set holds
    /// the reason instead.
    Profiles(BTreeMap<String, Result<Security, String>>),
    /// The same for every device (`toc probe` with explicit credentials).
    Fixed(Security),
}

/// A device's `sysUpTime` at its last answer.
#[derive(Debug, Clone, Copy)]
struct Seen {
    ticks: u32,
    at: Instant,
}

impl fmt::Debug for SnmpProbe {
    /// Names the profiles, never their secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let credentials: Vec<String> = match &self.credentials {
            Credentials::Profiles(p) => p.keys().cloned().collect(),
            Credentials::Fixed(Security::V2c { .. }) => vec!["<v2c community>".to_owned()],
            Credentials::Fixed(Security::V3 { user, .. }) => {
                vec![format!("<v3 user {}>", String::from_utf8_lossy(&user.name))]
            }
        };
        f.debug_struct("SnmpProbe")
            .field("retries", &self.retries)
            .field("credentials", &credentials)
            .finish_non_exhaustive()
    }
}

impl SnmpProbe {
    /// A probe for the devices of an inventory, each using the credential
    /// profile it names. Reads every profile's secrets now (a profile whose
    /// environment variable is unset makes its devices UNKNOWN, with the
    /// variable's name) and hashes `SNMPv3` passphrases once per profile.
    /// A failed request is sent again up to `retries` times (the event's
    /// `retries`).
    pub fn new(client: Client, profiles: &BTreeMap<String, Profile>, retries: u32) -> SnmpProbe {
        let credentials = profiles
            .iter()
            .map(|(name, profile)| (name.clone(), security_of(name, profile)))
            .collect();
        Self::build(client, Credentials::Profiles(credentials), retries)
    }

    /// A probe that uses `security` for every device, whatever profile it
    /// names (for `toc probe` with credentials given on the command line).
    /// Give the bare community, or a v3 user with an empty context: a
    /// device's `context` is added at check time as for profiles
    /// (`community@context`, or the v3 contextName).
    pub fn with_security(client: Client, security: Security, retries: u32) -> SnmpProbe {
        Self::build(client, Credentials::Fixed(security), retries)
    }

    fn build(client: Client, credentials: Credentials, retries: u32) -> SnmpProbe {
        SnmpProbe {
            client,
            retries,
            credentials,
            uptimes: Mutex::new(HashMap::new()),
        }
    }

    /// The security for `device`, with its context, or why there is none.
    fn security(&self, device: &Device) -> Result<Security, String> {
        let base = match &self.credentials {
            Credentials::Fixed(s) => s,
            Credentials::Profiles(profiles) => {
                let Some(name) = &device.profile else {
                    return Err("no SNMP credential profile".to_owned());
                };
                match profiles.get(name) {
                    Some(Ok(s)) => s,
                    Some(Err(reason)) => return Err(reason.clone()),
                    None => return Err(format!("unknown profile {name}")),
                }
            }
        };
        Ok(with_context(base, device.context.as_deref()))
    }

    /// Remembers `ticks` as the device's uptime and says whether it
    /// rebooted since the last answer.
    fn track_uptime(&self, device: &str, ticks: u32, at: Instant) -> Option<String> {
        let previous = self
            .uptimes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(device.to_owned(), Seen { ticks, at });
        let previous = previous?;
        let elapsed = at.saturating_duration_since(previous.at);
        restarted(previous.ticks, ticks, elapsed).then(|| {
            format!(
                "rebooted: up {}, was up {}",
                human_ticks(ticks, 2),
                human_ticks(previous.ticks, 2)
            )
        })
    }

    /// The GET, then the walk; the facts, the GET's round trip and the
    /// client's notes.
    async fn read(
        &self,
        target: &Target,
        checks: &Checks,
    ) -> Result<(Facts, Duration, Vec<String>), SnmpError> {
        let got = self
            .client
            .get(target, &[Oid::new(SYS_UPTIME), Oid::new(SYS_NAME)])
            .await?;
        let mut notes = got.notes;
        let mut values = got.varbinds.into_iter().map(|(_, v)| v);
        let uptime = match values.next() {
            Some(Value::TimeTicks(t)) => Ok(t),
            Some(v) if v.is_exception() => Err(v.to_string()),
            Some(v) => Err(format!("not a TimeTicks ({v})")),
            None => Err("missing from the answer".to_owned()),
        };
        let sys_name = values.next().and_then(|v| v.as_text());

        let mut columns: Vec<Oid> = [IF_DESCR, IF_ADMIN_STATUS, IF_OPER_STATUS, IF_NAME]
            .iter()
            .map(|c| Oid::new(c))
            .collect();
        if checks.cpu_threshold.is_some() {
            columns.push(Oid::new(HR_PROCESSOR_LOAD));
        }
        let table = match self.client.walk_columns(target, &columns, MAX_ROWS).await {
            Ok(walk) => {
                notes.extend(walk.notes);
                Ok(Table::from_columns(walk.columns))
            }
            Err(e) => Err(e.to_string()),
        };
        Ok((
            Facts {
                sys_name,
                uptime,
                table,
            },
            got.latency,
            notes,
        ))
    }
}

impl Probe for SnmpProbe {
    async fn check(&self, device: &Device) -> Outcome {
        let ProbeTarget::Snmp { host, port } = &device.probe else {
            return Outcome::new(CheckResult::Unknown("not an SNMP device".to_owned()));
        };
        let security = match self.security(device) {
            Ok(s) => s,
            Err(reason) => return Outcome::new(CheckResult::Unknown(reason)),
        };
        let addr = match resolve(host, *port, device.timeout).await {
            Ok(a) => a,
            Err(reason) => return Outcome::new(CheckResult::Fail(reason)),
        };
        let target = Target {
            addr,
            security,
            timeout: device.timeout,
            retries: self.retries,
        };
        let read = self.read(&target, &device.checks).await;
        let (facts, latency, mut notes) = match read {
            Ok(r) => r,
            Err(e) => return Outcome::new(error_verdict(&e)),
        };
        if let Ok(ticks) = facts.uptime
            && let Some(note) = self.track_uptime(&device.id, ticks, Instant::now())
        {
            notes.push(note);
        }
        let (result, readings) = judge(&facts, &device.checks);
        Outcome {
            result,
            latency: Some(latency),
            readings,
            notes,
        }
    }
}

/// `base` for a device with `context`: v2c sends `community@context`, v3
/// the context as contextName (a v3 security keeps its own context when the
/// device has none).
fn with_context(base: &Security, context: Option<&str>) -> Security {
    match (base, context) {
        (Security::V2c { community }, Some(ctx)) => {
            let mut c = community.clone();
            c.push(b'@');
            c.extend_from_slice(ctx.as_bytes());
            Security::V2c { community: c }
        }
        (Security::V3 { user, .. }, Some(ctx)) => Security::V3 {
            user: Arc::clone(user),
            context: ctx.as_bytes().to_vec(),
        },
        (s, None) => s.clone(),
    }
}

/// The agent's address: an IP literal as is, a name looked up within
/// `timeout` (IPv4 preferred, as the client's sockets usually are).
async fn resolve(host: &str, port: u16, timeout: Duration) -> Result<SocketAddr, String> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    match tokio::time::timeout(timeout, tokio::net::lookup_host((host, port))).await {
        Ok(Ok(addrs)) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            addrs
                .iter()
                .find(|a| a.is_ipv4())
                .or_else(|| addrs.first())
                .copied()
                .ok_or_else(|| format!("cannot resolve {host}"))
        }
        Ok(Err(_)) => Err(format!("cannot resolve {host}")),
        Err(_elapsed) => Err(format!(
            "cannot resolve {host}: no answer within {}",
            humantime::format_duration(timeout)
        )),
    }
}

/// The verdict when the GET got no usable answer: silence is DOWN;
/// anything else (refused credentials, an error status, a garbled answer,
/// a local socket error) says nothing about the device and is UNKNOWN.
fn error_verdict(e: &SnmpError) -> CheckResult {
    match e {
        SnmpError::Timeout { .. } => CheckResult::Fail(e.to_string()),
        SnmpError::Auth(_)
        | SnmpError::Status { .. }
        | SnmpError::Protocol(_)
        | SnmpError::Io(_) => CheckResult::Unknown(e.to_string()),
    }
}

/// What one check read from an agent that answered the GET.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Facts {
    /// `sysName.0`, when the agent has it.
    sys_name: Option<String>,
    /// `sysUpTime.0` in hundredths of a second, or what came instead
    /// (`noSuchObject`).
    uptime: Result<u32, String>,
    /// The interface table (and processor loads), or why the walk failed.
    table: Result<Table, String>,
}

/// The walked tables.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Table {
    /// By `ifIndex`.
    interfaces: Vec<Interface>,
    /// `hrProcessorLoad` of each processor, in percent (empty when not
    /// walked or not there).
    cpu: Vec<u32>,
}

/// One row of the interface table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Interface {
    index: u32,
    /// `ifName`, empty when the agent has none.
    name: String,
    /// `ifDescr`.
    descr: String,
    /// `ifAdminStatus`: 1 up, 2 down, 3 testing.
    admin: Option<i64>,
    /// `ifOperStatus`: 1 up, 2 down, 3 testing, 4 unknown, 5 dormant, 6
    /// notPresent, 7 lowerLayerDown.
    oper: Option<i64>,
}

impl Interface {
    /// `ifName` and `ifDescr` without trailing NULs.
    fn names(&self) -> (&str, &str) {
        (trim_nul(&self.name), trim_nul(&self.descr))
    }

    /// The name shown: `ifName`, else `ifDescr`, else the `ifIndex`
    /// (without the trailing NULs some agents send).
    fn shown(&self) -> String {
        let (name, descr) = self.names();
        if !name.is_empty() {
            name.to_owned()
        } else if !descr.is_empty() {
            descr.to_owned()
        } else {
            self.index.to_string()
        }
    }

    /// Meant to be up: admin up, or no `ifAdminStatus` to say otherwise.
    fn admin_up(&self) -> bool {
        matches!(self.admin, None | Some(1))
    }

    /// Admin up and operationally down (down, notPresent, lowerLayerDown):
    /// a fault.
    fn faulty(&self) -> bool {
        self.admin_up() && matches!(self.oper, Some(2 | 6 | 7))
    }

    /// `up`, `down`, `admin-down`, or the other state's name.
    fn state(&self) -> &'static str {
        match (self.admin, self.oper) {
            (Some(2), _) => "admin-down",
            (Some(3), _) | (_, Some(3)) => "testing",
            (_, Some(1)) => "up",
            (_, Some(2 | 6 | 7)) => "down",
            (_, Some(5)) => "dormant",
            _ => "unknown",
        }
    }
}

impl Table {
    /// From the walked columns: ifDescr, ifAdminStatus, ifOperStatus,
    /// ifName and, when walked, hrProcessorLoad.
    fn from_columns(cols: Vec<Vec<(u32, Value)>>) -> Table {
        let mut cols = cols.into_iter();
        let mut next = || cols.next().unwrap_or_default();
        let (descr, admin, oper, name, cpu) = (next(), next(), next(), next(), next());
        let mut rows: BTreeMap<u32, Interface> = BTreeMap::new();
        for (i, v) in descr {
            row(&mut rows, i).descr = v.as_text().unwrap_or_default();
        }
        for (i, v) in name {
            row(&mut rows, i).name = v.as_text().unwrap_or_default();
        }
        for (i, v) in admin {
            if let Value::Integer(n) = v {
                row(&mut rows, i).admin = Some(n);
            }
        }
        for (i, v) in oper {
            if let Value::Integer(n) = v {
                row(&mut rows, i).oper = Some(n);
            }
        }
        let cpu = cpu
            .into_iter()
            .filter_map(|(_, v)| match v {
                Value::Integer(n) => u32::try_from(n).ok().filter(|n| *n <= 100),
                _ => None,
            })
            .collect();
        Table {
            interfaces: rows.into_values().collect(),
            cpu,
        }
    }

    /// The interface a configured name means: its `ifName`, its `ifDescr`
    /// or its `ifIndex` number, else the same names ignoring case. Names
    /// are compared without trailing NULs, which some agents (Windows'
    /// `MS TCP Loopback interface\0`) count as part of the string.
    fn find(&self, wanted: &str) -> Option<&Interface> {
        let wanted = trim_nul(wanted);
        self.interfaces
            .iter()
            .find(|i| {
                let (name, descr) = i.names();
                name == wanted || descr == wanted || i.index.to_string() == wanted
            })
            .or_else(|| {
                self.interfaces.iter().find(|i| {
                    let (name, descr) = i.names();
                    name.eq_ignore_ascii_case(wanted) || descr.eq_ignore_ascii_case(wanted)
                })
            })
    }
}

/// The interface at `index`, added when new.
fn row(rows: &mut BTreeMap<u32, Interface>, index: u32) -> &mut Interface {
    rows.entry(index).or_insert_with(|| Interface {
        index,
        name: String::new(),
        descr: String::new(),
        admin: None,
        oper: None,
    })
}

/// The verdict on what an answering agent told, and the readings to show.
fn judge(facts: &Facts, checks: &Checks) -> (CheckResult, Vec<Reading>) {
    let mut readings = Vec::new();
    let mut problems = Vec::new();
    if let Some(name) = &facts.sys_name {
        readings.push(Reading::new("sysName", name));
    }
    match &facts.uptime {
        Ok(ticks) => readings.push(Reading::new("sysUpTime", human_ticks(*ticks, 3))),
        Err(what) => problems.push(CheckResult::Unknown(format!("sysUpTime.0: {what}"))),
    }
    match &facts.table {
        Ok(table) => {
            judge_interfaces(table, &checks.interfaces, &mut readings, &mut problems);
            if let Some(threshold) = checks.cpu_threshold {
                judge_cpu(&table.cpu, threshold, &mut readings, &mut problems);
            }
        }
        Err(e) => {
            let what = if checks.cpu_threshold.is_some() {
                "interfaces and cpu"
            } else {
                "interfaces"
            };
            problems.push(CheckResult::Unknown(format!("{what} not read: {e}")));
        }
    }
    (worst(problems), readings)
}

/// Watched interfaces: the configured ones, or all.
fn judge_interfaces(
    table: &Table,
    configured: &[String],
    readings: &mut Vec<Reading>,
    problems: &mut Vec<CheckResult>,
) {
    let mut watched: Vec<&Interface> = Vec::new();
    let mut missing: Vec<String> = Vec::new();
    if configured.is_empty() {
        watched.extend(&table.interfaces);
    } else {
        for wanted in configured {
            match table.find(wanted) {
                Some(i) if !watched.iter().any(|w| w.index == i.index) => watched.push(i),
                None if !missing.contains(wanted) => missing.push(wanted.clone()),
                Some(_) | None => {}
            }
        }
    }
    for i in &watched {
        readings.push(Reading::new(format!("if.{}", i.shown()), i.state()));
    }
    for m in &missing {
        readings.push(Reading::new(format!("if.{m}"), "not found"));
    }
    let meant_up = watched.iter().filter(|i| i.admin_up()).count();
    let down: Vec<String> = watched
        .iter()
        .filter(|i| i.faulty())
        .map(|i| i.shown())
        .collect();
    if !down.is_empty() {
        problems.push(if down.len() == meant_up && meant_up > 1 {
            CheckResult::Fail(format!("all {meant_up} watched interfaces down"))
        } else if down.len() == meant_up {
            CheckResult::Fail(format!("{} down (admin up)", list(&down)))
        } else {
            CheckResult::Warn(format!("{} down (admin up)", list(&down)))
        });
    }
    if !missing.is_empty() {
        let noun = if missing.len() == 1 {
            "interface"
        } else {
            "interfaces"
        };
        problems.push(CheckResult::Warn(format!(
            "{noun} {} not found",
            list(&missing)
        )));
    }
}

/// The average load across processors against the threshold.
fn judge_cpu(
    loads: &[u32],
    threshold: u8,
    readings: &mut Vec<Reading>,
    problems: &mut Vec<CheckResult>,
) {
    let Some(percent) = average(loads) else {
        problems.push(CheckResult::Warn(
            "cpu_threshold set but the agent has no hrProcessorLoad".to_owned(),
        ));
        return;
    };
    readings.push(Reading::new("cpu.percent", percent));
    if percent > u32::from(threshold) {
        problems.push(CheckResult::Warn(format!(
            "cpu {percent}% over {threshold}%"
        )));
    }
}

/// The rounded average, `None` for no values.
fn average(values: &[u32]) -> Option<u32> {
    let n = u64::try_from(values.len()).ok().filter(|n| *n > 0)?;
    let sum: u64 = values.iter().map(|v| u64::from(*v)).sum();
    u32::try_from((sum + n / 2) / n).ok()
}

/// `a, b, c +2 more`.
fn list(names: &[String]) -> String {
    let shown = names
        .iter()
        .take(LISTED)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > LISTED {
        format!("{shown} +{} more", names.len() - LISTED)
    } else {
        shown
    }
}

/// The worst of the problems, with every reason, worst first; OK when
/// there are none.
fn worst(mut problems: Vec<CheckResult>) -> CheckResult {
    problems.sort_by_key(|p| std::cmp::Reverse(p.status().severity()));
    let Some(first) = problems.first() else {
        return CheckResult::Ok;
    };
    let reason = problems
        .iter()
        .filter_map(CheckResult::reason)
        .collect::<Vec<_>>()
        .join("; ");
    match first {
        CheckResult::Ok => CheckResult::Ok,
        CheckResult::Warn(_) => CheckResult::Warn(reason),
        CheckResult::Fail(_) => CheckResult::Fail(reason),
        CheckResult::Unknown(_) => CheckResult::Unknown(reason),
    }
}

/// Whether `sysUpTime` going from `was` to `now` (hundredths of a second)
/// while `elapsed` passed here means the agent restarted. Any drop does,
/// except the wrap of the 32-bit counter: counting forward from `was`
/// through 2^32 to `now` takes no longer than the time that passed (with
/// a tenth of it plus 10 s of slack for clocks and round trips).
fn restarted(was: u32, now: u32, elapsed: Duration) -> bool {
    if now >= was {
        return false;
    }
    let forward = u128::from(now.wrapping_sub(was));
    let passed = elapsed.as_millis() / 10;
    forward > passed + passed / 10 + 1000
}

/// Hundredths of a second as `3d 4h 12m`: at most `units` units, from the
/// largest that is not zero, zero units left out.
fn human_ticks(ticks: u32, units: usize) -> String {
    let mut secs = u64::from(ticks) / 100;
    let mut parts = Vec::new();
    for (size, unit) in [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")] {
        let n = secs / size;
        secs %= size;
        if n > 0 || !parts.is_empty() {
            parts.push((n, unit));
        }
    }
    let shown: Vec<String> = parts
        .iter()
        .take(units.max(1))
        .filter(|(n, _)| *n > 0)
        .map(|(n, u)| format!("{n}{u}"))
        .collect();
    if shown.is_empty() {
        "0s".to_owned()
    } else {
        shown.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snmp::usm::UsmUser;
    use rstest::rstest;

    fn iface(index: u32, name: &str, admin: i64, oper: i64) -> Interface {
        Interface {
            index,
            name: name.to_owned(),
            descr: format!("descr {name}"),
            admin: Some(admin),
            oper: Some(oper),
        }
    }

    /// Three interfaces: Te0/0/0 up, Te0/0/1 down, Te0/0/2 admin down.
    fn router() -> Table {
        Table {
            interfaces: vec![
                iface(1, "Te0/0/0", 1, 1),
                iface(2, "Te0/0/1", 1, 2),
                iface(3, "Te0/0/2", 2, 2),
            ],
            cpu: Vec::new(),
        }
    }

    fn facts(table: Table) -> Facts {
        Facts {
            sys_name: Some("rtr".to_owned()),
            uptime: Ok(100 * 3600),
            table: Ok(table),
        }
    }

    fn checks(interfaces: &[&str], cpu_threshold: Option<u8>) -> Checks {
        Checks {
            interfaces: interfaces.iter().map(|s| (*s).to_owned()).collect(),
            cpu_threshold,
            ..Checks::default()
        }
    }

    fn ok() -> CheckResult {
        CheckResult::Ok
    }
    fn warn(s: &str) -> CheckResult {
        CheckResult::Warn(s.to_owned())
    }
    fn fail(s: &str) -> CheckResult {
        CheckResult::Fail(s.to_owned())
    }
    fn unknown(s: &str) -> CheckResult {
        CheckResult::Unknown(s.to_owned())
    }

    fn many_down(n: u32) -> Table {
        let mut t = Table::default();
        t.interfaces.push(iface(100, "up0", 1, 1));
        for i in 1..=n {
            t.interfaces.push(iface(i, &format!("ge{i}"), 1, 2));
        }
        t
    }

    #[rstest]
    #[case::watched_up(router(), &["Te0/0/0"], None, ok())]
    #[case::admin_down_is_intended(router(), &["Te0/0/0", "Te0/0/2"], None, ok())]
    #[case::one_of_two_down(router(), &["Te0/0/0", "Te0/0/1"], None, warn("Te0/0/1 down (admin up)"))]
    #[case::all_watched_when_none_configured(router(), &[], None, warn("Te0/0/1 down (admin up)"))]
    #[case::only_watched_down(router(), &["Te0/0/1"], None, fail("Te0/0/1 down (admin up)"))]
    #[case::only_admin_up_one_down(router(), &["Te0/0/1", "Te0/0/2"], None, fail("Te0/0/1 down (admin up)"))]
    #[case::by_ifindex(router(), &["2"], None, fail("Te0/0/1 down (admin up)"))]
    #[case::by_ifdescr(router(), &["descr Te0/0/0"], None, ok())]
    #[case::ignoring_case(router(), &["te0/0/0"], None, ok())]
    #[case::not_found(router(), &["Te0/0/0", "Te0/0/9"], None, warn("interface Te0/0/9 not found"))]
    #[case::several_not_found(router(), &["Te0/0/0", "x", "y"], None, warn("interfaces x, y not found"))]
    #[case::down_and_missing(router(), &["Te0/0/0", "Te0/0/1", "Te0/0/9"], None,
        warn("Te0/0/1 down (admin up); interface Te0/0/9 not found"))]
    #[case::all_down_beats_missing(many_down(2), &["ge1", "ge2", "nope"], None,
        fail("all 2 watched interfaces down; interface nope not found"))]
    #[case::up_to_three_listed(many_down(5), &[], None, warn("ge1, ge2, ge3 +2 more down (admin up)"))]
    #[case::no_interfaces_no_config(Table::default(), &[], None, ok())]
    #[case::cpu_under(Table { cpu: vec![10, 20], ..router() }, &["Te0/0/0"], Some(85), ok())]
    #[case::cpu_at_threshold(Table { cpu: vec![85], ..router() }, &["Te0/0/0"], Some(85), ok())]
    #[case::cpu_average_over(Table { cpu: vec![90, 100], ..router() }, &["Te0/0/0"], Some(85), warn("cpu 95% over 85%"))]
    #[case::cpu_average_not_max(Table { cpu: vec![100, 10], ..router() }, &["Te0/0/0"], Some(85), ok())]
    #[case::cpu_missing(router(), &["Te0/0/0"], Some(85), warn("cpu_threshold set but the agent has no hrProcessorLoad"))]
    #[case::cpu_ignored_without_threshold(Table { cpu: vec![100], ..router() }, &["Te0/0/0"], None, ok())]
    fn judges_tables(
        #[case] table: Table,
        #[case] interfaces: &[&str],
        #[case] cpu: Option<u8>,
        #[case] want: CheckResult,
    ) {
        assert_eq!(judge(&facts(table), &checks(interfaces, cpu)).0, want);
    }

    #[test]
    fn all_watched_down_is_down_and_admin_down_does_not_count() {
        let t = Table {
            interfaces: vec![
                iface(1, "a", 1, 2),
                iface(2, "b", 1, 7),
                iface(3, "c", 2, 2),
            ],
            cpu: Vec::new(),
        };
        assert_eq!(
            judge(&facts(t), &checks(&[], None)).0,
            fail("all 2 watched interfaces down")
        );
    }

    #[test]
    fn missing_uptime_and_failed_walk_are_unknown() {
        let f = Facts {
            sys_name: None,
            uptime: Err("noSuchObject".to_owned()),
            table: Ok(router()),
        };
        assert_eq!(
            judge(&f, &checks(&["Te0/0/0"], None)).0,
            unknown("sysUpTime.0: noSuchObject")
        );
        let f = Facts {
            table: Err("no answer".to_owned()),
            ..facts(router())
        };
        assert_eq!(
            judge(&f, &checks(&[], Some(50))).0,
            unknown("interfaces and cpu not read: no answer")
        );
        // A real fault outranks not knowing, and both are told.
        let f = Facts {
            uptime: Err("noSuchObject".to_owned()),
            ..facts(router())
        };
        assert_eq!(
            judge(&f, &checks(&[], None)).0,
            warn("Te0/0/1 down (admin up); sysUpTime.0: noSuchObject")
        );
    }

    #[test]
    fn readings_name_the_watched_interfaces() {
        let t = Table {
            cpu: vec![40, 61],
            ..router()
        };
        let (_, readings) = judge(&facts(t), &checks(&["Te0/0/1", "3", "Te0/0/9"], Some(90)));
        let got: Vec<(&str, &str)> = readings
            .iter()
            .map(|r| (r.name.as_str(), r.value.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("sysName", "rtr"),
                ("sysUpTime", "1h"),
                ("if.Te0/0/1", "down"),
                ("if.Te0/0/2", "admin-down"),
                ("if.Te0/0/9", "not found"),
                ("cpu.percent", "51"),
            ]
        );
    }

    #[rstest]
    #[case::up(1, 1, "up")]
    #[case::down(1, 2, "down")]
    #[case::lower_layer_down(1, 7, "down")]
    #[case::not_present(1, 6, "down")]
    #[case::admin_down(2, 2, "admin-down")]
    #[case::admin_down_oper_up(2, 1, "admin-down")]
    #[case::dormant(1, 5, "dormant")]
    #[case::testing(3, 2, "testing")]
    #[case::unknown(1, 4, "unknown")]
    fn interface_states(#[case] admin: i64, #[case] oper: i64, #[case] want: &str) {
        let i = iface(1, "x", admin, oper);
        assert_eq!(i.state(), want);
        assert_eq!(i.faulty(), want == "down");
    }

    #[test]
    fn table_from_columns_joins_rows_and_keeps_sane_loads() {
        let s = |t: &str| Value::OctetString(t.as_bytes().to_vec());
        let t = Table::from_columns(vec![
            vec![(1, s("lo")), (2, s("eth0"))],
            vec![(1, Value::Integer(1)), (2, Value::Integer(2))],
            vec![(1, Value::Integer(1)), (2, Value::Integer(2))],
            vec![(2, s("e0"))],
            vec![
                (768, Value::Integer(7)),
                (769, Value::Integer(250)),
                (770, Value::Null),
            ],
        ]);
        assert_eq!(t.interfaces.len(), 2);
        assert_eq!(t.interfaces[0].shown(), "lo");
        assert_eq!(t.interfaces[1].shown(), "e0");
        assert_eq!(t.find("eth0").map(|i| i.index), Some(2));
        assert_eq!(t.cpu, vec![7]);
        // Four columns only (no cpu walked): no panic, no loads.
        assert!(
            Table::from_columns(vec![vec![], vec![], vec![], vec![]])
                .cpu
                .is_empty()
        );
    }

    #[test]
    fn an_if_descr_ending_in_nul_matches_the_name_without_it() {
        // A recorded Windows agent: no ifName, ifDescr ends with a NUL.
        let s = |t: &str| Value::OctetString(t.as_bytes().to_vec());
        let t = Table::from_columns(vec![
            vec![
                (1, s("MS TCP Loopback interface\0")),
                (2, s("Intel(R) PRO/1000 MT Network Connection\0\0")),
            ],
            vec![(1, Value::Integer(1)), (2, Value::Integer(1))],
            vec![(1, Value::Integer(1)), (2, Value::Integer(2))],
        ]);
        assert_eq!(
            t.find("MS TCP Loopback interface").map(|i| i.index),
            Some(1)
        );
        assert_eq!(
            t.find("ms tcp loopback interface").map(|i| i.index),
            Some(1)
        );
        assert_eq!(
            t.find("Intel(R) PRO/1000 MT Network Connection")
                .map(|i| i.index),
            Some(2)
        );
        assert_eq!(t.interfaces[0].shown(), "MS TCP Loopback interface");
        let (result, readings) = judge(&facts(t), &checks(&["MS TCP Loopback interface"], None));
        assert_eq!(result, CheckResult::Ok, "{readings:?}");
        assert!(
            readings
                .iter()
                .any(|r| r.name == "if.MS TCP Loopback interface" && r.value == "up"),
            "{readings:?}"
        );
    }

    const DAY: u32 = 8_640_000;

    #[rstest]
    #[case::first_rise(100, 600, 5, false)]
    #[case::same(100, 100, 5, false)]
    #[case::drop(3 * DAY, 1200, 5, true)]
    #[case::small_drop(50_000, 49_000, 5, true)]
    #[case::wrap(u32::MAX - 300, 200, 5, false)]
    #[case::wrap_after_a_long_gap(u32::MAX - 50_000, 5_000, 600, false)]
    #[case::near_wrap_but_too_soon(u32::MAX - 100_000, 100, 5, true)]
    #[case::near_wrap_then_long_uptime(u32::MAX - 300, 300_000, 5, true)]
    fn reboot_or_wrap(
        #[case] was: u32,
        #[case] now: u32,
        #[case] secs: u64,
        #[case] rebooted: bool,
    ) {
        assert_eq!(restarted(was, now, Duration::from_secs(secs)), rebooted);
    }

    #[rstest]
    #[case(0, 3, "0s")]
    #[case(1_200, 3, "12s")]
    #[case(3 * DAY + 4 * 360_000 + 12 * 6_000 + 700, 3, "3d 4h 12m")]
    #[case(3 * DAY + 4 * 360_000 + 12 * 6_000, 2, "3d 4h")]
    #[case(DAY + 5 * 6_000, 3, "1d 5m")]
    #[case(u32::MAX, 3, "497d 2h 27m")]
    fn ticks_read_as_durations(#[case] ticks: u32, #[case] units: usize, #[case] want: &str) {
        assert_eq!(human_ticks(ticks, units), want);
    }

    #[test]
    fn reboot_is_a_note_per_device() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let _guard = rt.enter();
        let client = Client::new(IpAddr::from([127, 0, 0, 1]), 1).expect("client");
        let probe = SnmpProbe::with_security(
            client,
            Security::V2c {
                community: b"c".to_vec(),
            },
            0,
        );
        let t0 = Instant::now();
        let later = t0 + Duration::from_secs(5);
        assert_eq!(probe.track_uptime("a", 3 * DAY + 4 * 360_000, t0), None);
        assert_eq!(probe.track_uptime("b", 100, t0), None, "devices apart");
        assert_eq!(
            probe.track_uptime("a", 1_200, later),
            Some("rebooted: up 12s, was up 3d 4h".to_owned())
        );
        assert_eq!(
            probe.track_uptime("a", 1_700, later + Duration::from_secs(5)),
            None
        );
        assert_eq!(probe.track_uptime("b", 700, later), None);
    }

    #[rstest]
    #[case::timeout(SnmpError::Timeout { attempts: 2, timeout: Duration::from_secs(1), hint: "community refused" },
        fail("no answer (2 attempts, 1s each): device down, unreachable, or community refused"))]
    #[case::auth(SnmpError::Auth("wrong digest (usmStatsWrongDigests)".into()), unknown("wrong digest (usmStatsWrongDigests)"))]
    #[case::status(SnmpError::Status { status: 5, index: 1 }, unknown("agent answered genErr (varbind 1)"))]
    #[case::protocol(SnmpError::Protocol("agent sent a report: 1.3".into()), unknown("agent sent a report: 1.3"))]
    fn errors_have_verdicts(#[case] e: SnmpError, #[case] want: CheckResult) {
        assert_eq!(error_verdict(&e), want);
    }

    #[test]
    fn context_goes_into_the_community_or_the_context_name() {
        let v2c = Security::V2c {
            community: b"toc-demo".to_vec(),
        };
        let Security::V2c { community } = with_context(&v2c, Some("STA-rtr-a")) else {
            panic!("v2c stays v2c");
        };
        assert_eq!(community, b"toc-demo@STA-rtr-a");
        let Security::V2c { community } = with_context(&v2c, None) else {
            panic!("v2c stays v2c");
        };
        assert_eq!(community, b"toc-demo");
        let v3 = Security::V3 {
            user: Arc::new(UsmUser::new(b"u", None, None)),
            context: Vec::new(),
        };
        let Security::V3 { context, .. } = with_context(&v3, Some("STA-rtr-b")) else {
            panic!("v3 stays v3");
        };
        assert_eq!(context, b"STA-rtr-b");
    }
}
