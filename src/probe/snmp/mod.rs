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
//! - `sysUpTime.0` missing, of the wrong type or undecodable: UNKNOWN
//!   (`sysUpTime.0: noSuchObject`), its reading saying the same; the
//!   varbinds of the answer are matched by OID, never by position, and a
//!   varbind left out reads `missing from the answer`;
//! - watched interfaces (the configured ones, matched against `ifName`,
//!   `ifDescr` or the `ifIndex` number, exactly, else ignoring case; every
//!   interface of a repeated name; or every interface when none is
//!   configured): an interface that is administratively down is intended
//!   and never a fault. Some admin-up interfaces down is DEGRADED (`Te0/0/1
//!   down (admin up)`, a repeated name with its ifIndex: `dup[2]`); every
//!   admin-up watched interface down is DOWN (`all 2 watched interfaces
//!   down`); a configured interface the agent does not have is DEGRADED
//!   (`interface Te0/0/9 not found`); configured interfaces on an agent
//!   without an ifTable are UNKNOWN;
//! - a walk cut short (at [`MAX_ROWS`] rows) is DEGRADED, and a configured
//!   interface not among the rows read is unknown, not absent;
//! - the average `hrProcessorLoad` across processors above `cpu_threshold`
//!   is DEGRADED (`cpu 95% over 85%`), and so is a threshold on an agent
//!   without a usable `hrProcessorLoad` (loads that are not a percent are
//!   named).
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

use super::{Outcome, Probe};
use crate::config::venues::{Checks, Device, ProbeTarget, Profile};
use crate::model::CheckResult;
use crate::snmp::client::{Client, Security, SnmpError, Target};
use crate::snmp::security::security_of;
use crate::snmp::{Oid, Value};

mod judge;
use judge::{Facts, Table, judge, list};

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

/// What a reading says when the agent's answer left its varbind out.
const MISSING: &str = "missing from the answer";

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
    /// Rows each device's interface table had at its last walk: the next
    /// walk asks for about that many.
    rows: Mutex<HashMap<String, usize>>,
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
            rows: Mutex::new(HashMap::new()),
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
        device: &str,
        target: &Target,
        checks: &Checks,
    ) -> Result<(Facts, Duration, Vec<String>), SnmpError> {
        let (uptime_oid, name_oid) = (Oid::new(SYS_UPTIME), Oid::new(SYS_NAME));
        let got = self
            .client
            .get(target, &[uptime_oid.clone(), name_oid.clone()])
            .await?;
        let mut notes = got.notes.clone();
        // By OID, never by position: an agent may reorder or leave out
        // varbinds.
        let uptime = match got.value(&uptime_oid) {
            Some(Value::TimeTicks(t)) => Ok(*t),
            Some(
                v @ (Value::Undecodable { .. }
                | Value::NoSuchObject
                | Value::NoSuchInstance
                | Value::EndOfMibView),
            ) => Err(v.to_string()),
            Some(v) => Err(format!("not a TimeTicks ({v})")),
            None => Err(MISSING.to_owned()),
        };
        let sys_name = match got.value(&name_oid) {
            Some(v) if v.is_exception() => None,
            Some(v) => Some(v.as_text().ok_or_else(|| format!("not text ({v})"))),
            None => Some(Err(MISSING.to_owned())),
        };
        let strays: Vec<String> = got
            .varbinds
            .iter()
            .filter(|(o, _)| *o != uptime_oid && *o != name_oid)
            .map(|(o, _)| o.to_string())
            .collect();
        if !strays.is_empty() {
            notes.push(format!(
                "the agent answered for OIDs not asked: {}",
                list(&strays)
            ));
        }

        let mut columns: Vec<Oid> = [IF_DESCR, IF_ADMIN_STATUS, IF_OPER_STATUS, IF_NAME]
            .iter()
            .map(|c| Oid::new(c))
            .collect();
        if checks.cpu_threshold.is_some() {
            columns.push(Oid::new(HR_PROCESSOR_LOAD));
        }
        let rows = |m: &Mutex<HashMap<String, usize>>| {
            m.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(device)
                .copied()
        };
        let expect = rows(&self.rows);
        let walked = self
            .client
            .walk_columns_expecting(target, &columns, MAX_ROWS, expect)
            .await;
        if let Ok(walk) = &walked {
            let read = walk.columns.iter().map(Vec::len).max().unwrap_or(0);
            if expect != Some(read) {
                self.rows
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(device.to_owned(), read);
            }
        }
        let table = match walked {
            Ok(walk) => {
                notes.extend(walk.notes);
                let mut table = Table::from_columns(walk.columns);
                table.cut = walk.cut;
                Ok(table)
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
        let read = self.read(&device.id, &target, &device.checks).await;
        let (facts, latency, mut notes) = match read {
            Ok(r) => r,
            Err(e) => return Outcome::new(error_verdict(&e)),
        };
        if let Ok(ticks) = facts.uptime
            && let Some(note) = self.track_uptime(&device.id, ticks, Instant::now())
        {
            notes.push(note);
        }
        let (result, readings, judged) = judge(&facts, &device.checks);
        notes.extend(judged);
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
    use judge::tests::{fail, unknown};
    use rstest::rstest;

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
