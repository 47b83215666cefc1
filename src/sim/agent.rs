//! The simulated SNMP agent: one UDP socket serving many simulated devices,
//! selected by v2c community `community@context` or v3 context name, the
//! way snmpsim and Cisco's community indexing do, so 10,000 devices need
//! no 10,000 sockets. A device without a `context` is served in the
//! default (empty) context; a device alone on its port also answers there.
//!
//! It answers GET, GETNEXT and GETBULK over the part of the MIB the probes
//! read: system (sysDescr, sysObjectID, sysUpTime, sysContact, sysName,
//! sysLocation), ifNumber, ifTable and ifXTable (names, admin and oper
//! status, moving octet counters, the 32-bit ones the low bits of the
//! 64-bit ones, a Counter64 that crosses 2^64), hrProcessorLoad and the
//! device's own snmpEngine group. Every object is read-only: a SET gets
//! `noAccess`, as from net-snmp's snmpd for a read-only community or user.
//!
//! Access follows each device's profile: its v2c community, or its v3
//! user (another valid user gets `authorizationError`, as from net-snmp's
//! VACM). `SNMPv3` is served with USM (SHA/SHA-256, AES-128/256),
//! discovery and time-window reports included. The port's authoritative
//! engine is the device's own when the device is alone on the port (a
//! reboot bumps its boots); a port shared by several devices has a port
//! engine that never reboots, since discovery carries no context and a
//! manager keeps one engine per address. Faults from [`SimState`] apply
//! per request: silence, delay, interfaces down, refused credentials, CPU
//! load, reboots.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;

use crate::config::Inventory;
use crate::config::venues::{ProbeTarget, Profile};
use crate::sim::faults::{DeviceView, SimState};
use crate::snmp::client::Security;
use crate::snmp::pdu::{
    CommunityMessage, Message, Pdu, PduType, ScopedData, ScopedPdu, UsmParams, V3Message,
    error_status, flags,
};
use crate::snmp::security::security_of;
use crate::snmp::usm::{EngineClock, LocalKeys, UsmUser, report, stats};
use crate::snmp::{Oid, Value};

/// The largest GETBULK answer, in varbinds.
const MAX_BULK_VARBINDS: usize = 512;
/// Interfaces a device has when its config names none.
const DEFAULT_INTERFACES: [&str; 4] = ["Gi0/1", "Gi0/2", "Gi0/3", "Gi0/4"];
/// Every simulated device also has this one, administratively down: a
/// probe must not call it a fault.
const SPARE_INTERFACE: &str = "Gi0/48";
/// The largest answer, in octets (the largest UDP payload).
const MAX_MESSAGE: usize = 65_507;
/// Room the v3 header takes around the scoped PDU.
const V3_OVERHEAD: usize = 160;
/// Octets per second on simulated links.
const LINK_RATE: u64 = 1_250_000;

/// What an object in the simulated MIB is; its value is computed when
/// asked, from the device's state at that moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Obj {
    SysDescr,
    SysObjectId,
    SysUpTime,
    SysContact,
    SysName,
    SysLocation,
    IfNumber,
    /// ifTable column for the interface at this position.
    If(u32, usize),
    /// ifXTable column.
    IfX(u32, usize),
    HrProcessorLoad(usize),
    /// SNMP-FRAMEWORK-MIB snmpEngine group: the device's own engine.
    EngineId,
    EngineBoots,
    EngineTime,
    EngineMaxMessageSize,
}

/// The sorted object list of a device with `n` interfaces; devices with
/// the same count share one.
fn template(n: usize) -> Vec<(Oid, Obj)> {
    let sys = |i: u32| Oid::new(&[1, 3, 6, 1, 2, 1, 1, i, 0]);
    let mut v = vec![
        (sys(1), Obj::SysDescr),
        (sys(2), Obj::SysObjectId),
        (sys(3), Obj::SysUpTime),
        (sys(4), Obj::SysContact),
        (sys(5), Obj::SysName),
        (sys(6), Obj::SysLocation),
        (Oid::new(&[1, 3, 6, 1, 2, 1, 2, 1, 0]), Obj::IfNumber),
    ];
    for col in [1u32, 2, 3, 5, 7, 8, 10, 16] {
        for i in 0..n {
            let idx = u32::try_from(i + 1).unwrap_or(u32::MAX);
            v.push((
                Oid::new(&[1, 3, 6, 1, 2, 1, 2, 2, 1, col, idx]),
                Obj::If(col, i),
            ));
        }
    }
    for col in [1u32, 6, 10] {
        for i in 0..n {
            let idx = u32::try_from(i + 1).unwrap_or(u32::MAX);
            v.push((
                Oid::new(&[1, 3, 6, 1, 2, 1, 31, 1, 1, 1, col, idx]),
                Obj::IfX(col, i),
            ));
        }
    }
    for cpu in 0..2u32 {
        v.push((
            Oid::new(&[1, 3, 6, 1, 2, 1, 25, 3, 3, 1, 2, 196_608 + cpu]),
            Obj::HrProcessorLoad(cpu as usize),
        ));
    }
    let engine = |i: u32| Oid::new(&[1, 3, 6, 1, 6, 3, 10, 2, 1, i, 0]);
    v.extend([
        (engine(1), Obj::EngineId),
        (engine(2), Obj::EngineBoots),
        (engine(3), Obj::EngineTime),
        (engine(4), Obj::EngineMaxMessageSize),
    ]);
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Who may read a device, from its profile.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Access {
    /// Nobody: no profile, or its secrets are not set (the agent refuses
    /// every credential, as a device with another password would).
    Nobody,
    /// Requests with this v2c community.
    Community(Vec<u8>),
    /// The v3 user at this position of [`Agent::users`].
    User(usize),
}

#[derive(Debug)]
struct SimDevice {
    index: usize,
    id: String,
    role: String,
    location: String,
    interfaces: Vec<String>,
    mib: Arc<Vec<(Oid, Obj)>>,
    access: Access,
    /// The device's own snmpEngineID.
    engine_id: Vec<u8>,
}

#[derive(Debug)]
struct Agent {
    devices: Vec<SimDevice>,
    /// Non-empty context name -> position in `devices`.
    by_context: HashMap<Vec<u8>, usize>,
    /// The device served in the default (empty) context.
    default: Option<usize>,
    /// The v3 users of the port's devices, keys localized to `engine_id`.
    users: Vec<(Arc<UsmUser>, LocalKeys)>,
    /// The port's authoritative engine (USM): the device's own when it is
    /// alone on the port, a port engine otherwise.
    engine_id: Vec<u8>,
    /// The device alone on the port, whose engine the port's is.
    owner: Option<usize>,
    started: Instant,
    state: Arc<SimState>,
    salt: AtomicU64,
    dropped: AtomicU64,
}

/// Enterprise 0, format 4 (text): the rest of a simulated engine id.
const ENGINE_ID_PREFIX: [u8; 5] = [0x80, 0x00, 0x00, 0x00, 0x04];

/// A device's snmpEngineID: `sim:<device id>`, or `sim:<hash of the id>`
/// when the id is too long for the 32 octets an engine id may have. The
/// same for the same device on every run.
fn device_engine_id(id: &str) -> Vec<u8> {
    let text = if id.len() <= 23 {
        format!("sim:{id}")
    } else {
        // FNV-1a: stable across runs and Rust versions.
        let hash = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        format!("sim:{hash:016x}")
    };
    [&ENGINE_ID_PREFIX[..], text.as_bytes()].concat()
}

/// The engine of a port shared by several devices.
fn port_engine_id(port: u16) -> Vec<u8> {
    [&ENGINE_ID_PREFIX[..], format!("sim-port-{port}").as_bytes()].concat()
}

/// How the devices of one port are told apart: each non-empty context
/// names its device, the first device without a context is served in the
/// default context (a device alone on its port in its own and the
/// default context), and devices that cannot be told apart are named in warnings.
#[derive(Debug, Default)]
struct Contexts {
    /// Context -> position in the port's device list.
    by_context: HashMap<Vec<u8>, usize>,
    default: Option<usize>,
    warnings: Vec<String>,
}

fn contexts(inventory: &Inventory, devices: &[usize], port: u16) -> Contexts {
    let mut groups: Vec<(&[u8], Vec<usize>)> = Vec::new();
    for (pos, &i) in devices.iter().enumerate() {
        let Some(d) = inventory.devices.get(i) else {
            continue;
        };
        let ctx = d.context.as_deref().unwrap_or_default().as_bytes();
        match groups.iter_mut().find(|(c, _)| *c == ctx) {
            Some((_, g)) => g.push(pos),
            None => groups.push((ctx, vec![pos])),
        }
    }
    let mut out = Contexts::default();
    let id = |pos: usize| {
        devices
            .get(pos)
            .and_then(|&i| inventory.devices.get(i))
            .map_or("?", |d| d.id.as_str())
    };
    for (ctx, group) in groups {
        let Some(&first) = group.first() else {
            continue;
        };
        if group.len() > 1 {
            let names: Vec<&str> = group.iter().map(|&p| id(p)).collect();
            out.warnings.push(if ctx.is_empty() {
                format!(
                    "snmp port {port}: {} have no `context` and cannot be told apart; only {} is served (in the default context): give each device on a shared port its own `context`",
                    names.join(", "),
                    id(first)
                )
            } else {
                format!(
                    "snmp port {port}: {} share context {}; only {} is served in it",
                    names.join(", "),
                    String::from_utf8_lossy(ctx),
                    id(first)
                )
            });
        }
        if ctx.is_empty() {
            out.default = Some(first);
        } else {
            out.by_context.insert(ctx.to_vec(), first);
        }
    }
    if devices.len() == 1 {
        out.default = Some(0);
    }
    out
}

/// Warnings about the SNMP devices of one port (`devices`, indices into
/// `inventory.devices` in file order) that the agent cannot tell apart:
/// several without a `context`, or several with the same one. The agent
/// then serves the first of them; these say which.
pub fn context_warnings(inventory: &Inventory, devices: &[usize], port: u16) -> Vec<String> {
    contexts(inventory, devices, port).warnings
}

/// The access a profile gives, its v3 user added to `users` (once).
fn access_of(
    inventory: &Inventory,
    profile: Option<&String>,
    engine_id: &[u8],
    users: &mut Vec<(Arc<UsmUser>, LocalKeys)>,
) -> Access {
    let Some((name, p)) = profile.and_then(|n| inventory.profiles.get(n).map(|p| (n, p))) else {
        return Access::Nobody;
    };
    match (p, security_of(name, p)) {
        (_, Ok(Security::V2c { community })) => Access::Community(community),
        (Profile::V3 { .. }, Ok(Security::V3 { user, .. })) => {
            let at = users
                .iter()
                .position(|(u, _)| u.fingerprint() == user.fingerprint());
            Access::User(at.unwrap_or_else(|| {
                let keys = user.localize(engine_id);
                users.push((user, keys));
                users.len() - 1
            }))
        }
        // Secrets not set: this agent refuses that user, as a device
        // with another password would.
        _ => Access::Nobody,
    }
}

fn interfaces_of(d: &crate::config::venues::Device) -> Vec<String> {
    let mut interfaces: Vec<String> = if d.checks.interfaces.is_empty() {
        DEFAULT_INTERFACES.iter().map(|s| (*s).to_owned()).collect()
    } else {
        d.checks
            .interfaces
            .iter()
            .map(|name| {
                if name.parse::<u32>().is_ok() {
                    format!("GigabitEthernet0/{name}")
                } else {
                    name.clone()
                }
            })
            .collect()
    };
    interfaces.push(SPARE_INTERFACE.to_owned());
    interfaces
}

impl Agent {
    fn new(inventory: &Inventory, state: Arc<SimState>, port: u16) -> Agent {
        let on_port: Vec<usize> = inventory
            .devices
            .iter()
            .enumerate()
            .filter(|(_, d)| matches!(&d.probe, ProbeTarget::Snmp { port: p, .. } if *p == port))
            .map(|(i, _)| i)
            .collect();
        let owner = (on_port.len() == 1).then_some(0);
        let engine_id = match (owner, on_port.first()) {
            (Some(_), Some(&i)) => device_engine_id(&inventory.devices[i].id),
            _ => port_engine_id(port),
        };
        let mut templates: HashMap<usize, Arc<Vec<(Oid, Obj)>>> = HashMap::new();
        let mut by_profile: HashMap<Option<&String>, Access> = HashMap::new();
        let mut users = Vec::new();
        let mut devices = Vec::new();
        for &index in &on_port {
            let d = &inventory.devices[index];
            let interfaces = interfaces_of(d);
            let mib = Arc::clone(
                templates
                    .entry(interfaces.len())
                    .or_insert_with(|| Arc::new(template(interfaces.len()))),
            );
            let access = by_profile
                .entry(d.profile.as_ref())
                .or_insert_with(|| access_of(inventory, d.profile.as_ref(), &engine_id, &mut users))
                .clone();
            let location = inventory
                .venues
                .get(d.venue.0)
                .map(|v| format!("{}, {}", v.name, v.city))
                .unwrap_or_default();
            devices.push(SimDevice {
                index,
                id: d.id.clone(),
                role: d.role.clone(),
                location,
                interfaces,
                mib,
                access,
                engine_id: device_engine_id(&d.id),
            });
        }
        let contexts = contexts(inventory, &on_port, port);
        Agent {
            devices,
            by_context: contexts.by_context,
            default: contexts.default,
            users,
            engine_id,
            owner,
            started: Instant::now(),
            state,
            salt: AtomicU64::new(rand::random()),
            dropped: AtomicU64::new(0),
        }
    }

    /// The device a context names: a device's `context`, or the empty
    /// context for the device that has none (or is alone on the port).
    fn device(&self, context: &[u8]) -> Option<&SimDevice> {
        let at = if context.is_empty() {
            self.default
        } else {
            self.by_context.get(context).copied()
        };
        at.and_then(|i| self.devices.get(i))
    }

    /// The port engine's clock. A device alone on its port is the engine:
    /// boots are its boots, time runs from its last boot. A shared port's
    /// engine never reboots (its devices' sysUpTime restart on their own).
    fn engine_clock(&self, now: Instant) -> (u32, u32) {
        let (boots, since) = match self.owner.and_then(|i| self.devices.get(i)) {
            Some(d) => {
                let v = self.state.view(d.index, now);
                (v.boots, v.up_since)
            }
            None => (1, self.started),
        };
        let time =
            u32::try_from(now.saturating_duration_since(since).as_secs()).unwrap_or(u32::MAX);
        (boots, time)
    }

    /// Whether every device on the port is silent: then so is the port,
    /// discovery included, as a dead box is.
    fn port_silent(&self, now: Instant) -> bool {
        self.devices
            .iter()
            .all(|d| self.state.view(d.index, now).silent)
    }

    fn drop_one(&self) -> Option<(Vec<u8>, Duration)> {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        None
    }

    /// The answer to one datagram and how long to wait before sending it,
    /// or nothing (silence).
    fn handle(&self, bytes: &[u8], now: Instant) -> Option<(Vec<u8>, Duration)> {
        match Message::decode(bytes) {
            Ok(Message::V2c(m)) => self.handle_v2c(&m, now),
            Ok(Message::V3(m, range)) => self.handle_v3(bytes, &m, range, now),
            Err(_) => self.drop_one(),
        }
    }

    fn handle_v2c(&self, m: &CommunityMessage, now: Instant) -> Option<(Vec<u8>, Duration)> {
        let (community, context) = match m.community.iter().rposition(|&b| b == b'@') {
            Some(at) => (&m.community[..at], &m.community[at + 1..]),
            None => (&m.community[..], &[][..]),
        };
        let Some(dev) = self.device(context) else {
            return self.drop_one();
        };
        if !matches!(&dev.access, Access::Community(c) if c == community) {
            // A community the device does not have (or a v3 device): net-snmp
            // drops it (snmpInBadCommunityNames).
            return self.drop_one();
        }
        let view = self.state.view(dev.index, now);
        if view.silent || view.auth_fail {
            // A v2c agent says nothing to a community it refuses.
            return self.drop_one();
        }
        let mut msg = CommunityMessage {
            community: m.community.clone(),
            pdu: self.answer(dev, &view, &m.pdu, now)?,
        };
        loop {
            let out = msg.encode();
            if out.len() <= MAX_MESSAGE || !shrink(&mut msg.pdu, m.pdu.kind) {
                return Some((out, view.delay));
            }
        }
    }

    fn report(
        &self,
        m: &V3Message,
        request_id: i32,
        counter: u32,
        signed_by: Option<&LocalKeys>,
        now: Instant,
    ) -> Option<(Vec<u8>, Duration)> {
        if m.flags & flags::REPORTABLE == 0 || self.port_silent(now) {
            return self.drop_one();
        }
        let (boots, time) = self.engine_clock(now);
        let engine = EngineClock {
            id: &self.engine_id,
            boots,
            time,
        };
        let bytes = report(
            m.msg_id,
            request_id,
            &m.usm.user,
            engine,
            counter,
            signed_by,
        );
        Some((bytes, Duration::ZERO))
    }

    /// The user that signed `m`, and its keys, or the USM statistic that
    /// says why there is none (RFC 3414 3.2).
    fn user(
        &self,
        m: &V3Message,
        level: u8,
        bytes: &[u8],
        range: std::ops::Range<usize>,
    ) -> Result<(usize, &LocalKeys), u32> {
        let (mut named, mut levelled) = (false, false);
        for (at, (user, keys)) in self.users.iter().enumerate() {
            if user.name != m.usm.user {
                continue;
            }
            named = true;
            if user.level_flags() != level {
                continue;
            }
            levelled = true;
            if keys.verify(bytes, range.clone()) {
                return Ok((at, keys));
            }
        }
        Err(if levelled {
            stats::WRONG_DIGESTS
        } else if named {
            stats::UNSUPPORTED_SEC_LEVELS
        } else {
            stats::UNKNOWN_USER_NAMES
        })
    }

    fn handle_v3(
        &self,
        bytes: &[u8],
        m: &V3Message,
        range: std::ops::Range<usize>,
        now: Instant,
    ) -> Option<(Vec<u8>, Duration)> {
        let plain_id = match &m.data {
            ScopedData::Plain(s) => s.pdu.request_id,
            ScopedData::Encrypted(_) => 0,
        };
        if m.usm.engine_id != self.engine_id {
            return self.report(m, plain_id, stats::UNKNOWN_ENGINE_IDS, None, now);
        }
        let level = m.flags & (flags::AUTH | flags::PRIV);
        let (user_at, keys) = match self.user(m, level, bytes, range) {
            Ok(found) => found,
            Err(counter) => return self.report(m, plain_id, counter, None, now),
        };
        let (boots, time) = self.engine_clock(now);
        if m.usm.engine_boots != boots || m.usm.engine_time.abs_diff(time) > 150 {
            return self.report(m, plain_id, stats::NOT_IN_TIME_WINDOWS, Some(keys), now);
        }
        let scoped = match &m.data {
            ScopedData::Plain(s) if level & flags::PRIV == 0 => s.clone(),
            ScopedData::Encrypted(c) if level & flags::PRIV != 0 => {
                // Like net-snmp: what cannot be decrypted is dropped.
                let plain = keys
                    .decrypt(m.usm.engine_boots, m.usm.engine_time, &m.usm.priv_params, c)
                    .ok()?;
                let Ok(s) = ScopedPdu::decode(&plain) else {
                    return self.drop_one();
                };
                s
            }
            _ => return self.drop_one(),
        };
        let Some(dev) = self.device(&scoped.context_name) else {
            return self.drop_one();
        };
        let view = self.state.view(dev.index, now);
        if view.silent {
            return self.drop_one();
        }
        if view.auth_fail {
            return self.report(m, scoped.pdu.request_id, stats::WRONG_DIGESTS, None, now);
        }
        let pdu = if dev.access == Access::User(user_at) {
            self.answer(dev, &view, &scoped.pdu, now)?
        } else {
            // A user the device's profile does not name: net-snmp's VACM
            // answers authorizationError when it gives no access.
            refusal(&scoped.pdu, error_status::AUTHORIZATION_ERROR, 0)
        };
        let mut out = ScopedPdu {
            // As asked: net-snmp checks the answer carries its own.
            context_engine_id: scoped.context_engine_id,
            context_name: scoped.context_name,
            pdu,
        };
        // The manager's limit, less room for the v3 header and padding.
        let limit = usize::try_from(m.max_size)
            .unwrap_or(0)
            .clamp(484, MAX_MESSAGE)
            .saturating_sub(V3_OVERHEAD);
        while out.encode().len() > limit && shrink(&mut out.pdu, scoped.pdu.kind) {}
        let (data, priv_params) = if level & flags::PRIV == 0 {
            (ScopedData::Plain(out), Vec::new())
        } else {
            let salt = self.salt.fetch_add(1, Ordering::Relaxed);
            let (c, p) = keys.encrypt(boots, time, salt, &out.encode())?;
            (ScopedData::Encrypted(c), p)
        };
        let msg = V3Message {
            msg_id: m.msg_id,
            max_size: 65_507,
            flags: level,
            usm: UsmParams {
                engine_id: self.engine_id.clone(),
                engine_boots: boots,
                engine_time: time,
                user: m.usm.user.clone(),
                auth_params: vec![0; keys.mac_len()],
                priv_params,
            },
            data,
        };
        let (mut bytes, range) = msg.encode();
        keys.sign(&mut bytes, range);
        Some((bytes, view.delay))
    }

    /// The response PDU to a request PDU.
    fn answer(&self, dev: &SimDevice, view: &DeviceView, req: &Pdu, now: Instant) -> Option<Pdu> {
        let mib = &dev.mib;
        let value = |obj: Obj| self.value(dev, view, obj, now);
        let next = |oid: &Oid| -> (Oid, Value) {
            let i = mib.partition_point(|(o, _)| o <= oid);
            match mib.get(i) {
                Some((o, obj)) => (o.clone(), value(*obj)),
                None => (oid.clone(), Value::EndOfMibView),
            }
        };
        let varbinds = match req.kind {
            PduType::Get => req
                .varbinds
                .iter()
                .map(|(oid, _)| {
                    let v = match mib.binary_search_by(|(o, _)| o.cmp(oid)) {
                        Ok(i) => value(mib[i].1),
                        // An instance of a known object, or nothing at all.
                        Err(i) => {
                            let parent =
                                Oid::new(&oid.arcs()[..oid.arcs().len().saturating_sub(1)]);
                            let near = |j: Option<usize>| {
                                j.and_then(|j| mib.get(j))
                                    .is_some_and(|(o, _)| o.starts_with(&parent))
                            };
                            if near(Some(i)) || near(i.checked_sub(1)) {
                                Value::NoSuchInstance
                            } else {
                                Value::NoSuchObject
                            }
                        }
                    };
                    (oid.clone(), v)
                })
                .collect(),
            PduType::GetNext => req.varbinds.iter().map(|(oid, _)| next(oid)).collect(),
            PduType::GetBulk => {
                let n = usize::try_from(req.error_status.max(0))
                    .unwrap_or(0)
                    .min(req.varbinds.len());
                let reps = usize::try_from(req.error_index.max(0)).unwrap_or(0);
                let mut out: Vec<(Oid, Value)> =
                    req.varbinds[..n].iter().map(|(o, _)| next(o)).collect();
                let mut cursors: Vec<Oid> =
                    req.varbinds[n..].iter().map(|(o, _)| o.clone()).collect();
                'rows: for _ in 0..reps {
                    if cursors.is_empty() {
                        break;
                    }
                    let mut all_end = true;
                    for c in &mut cursors {
                        if out.len() >= MAX_BULK_VARBINDS {
                            break 'rows;
                        }
                        let (o, v) = next(c);
                        all_end &= v == Value::EndOfMibView;
                        *c = o.clone();
                        out.push((o, v));
                    }
                    if all_end {
                        break;
                    }
                }
                out
            }
            // Every simulated object is read-only, for every community and
            // user: net-snmp's snmpd answers a rocommunity's or a rouser's
            // SET with noAccess on the first varbind.
            PduType::Set => {
                let index = i32::from(!req.varbinds.is_empty());
                return Some(refusal(req, error_status::NO_ACCESS, index));
            }
            _ => return None,
        };
        Some(Pdu {
            kind: PduType::Response,
            request_id: req.request_id,
            error_status: 0,
            error_index: 0,
            varbinds,
        })
    }

    fn value(&self, dev: &SimDevice, view: &DeviceView, obj: Obj, now: Instant) -> Value {
        let up = now.saturating_duration_since(view.up_since);
        let name = |i: usize| dev.interfaces.get(i).map_or("", String::as_str);
        let spare = |i: usize| name(i) == SPARE_INTERFACE;
        let if_index = |i: usize| u32::try_from(i + 1).unwrap_or(u32::MAX);
        let oper_up = |i: usize| !spare(i) && !view.interface_down(if_index(i), name(i));
        let octets = |i: usize, salt: u64| {
            if oper_up(i) {
                let ms = u64::try_from(up.as_millis()).unwrap_or(u64::MAX);
                ms.saturating_mul(LINK_RATE / 1000)
                    .wrapping_add(salt.wrapping_mul(dev.index as u64 + 1))
            } else {
                salt
            }
        };
        // The first interface's in counter starts just below 2^64 and
        // wraps while the simulation runs, as a long-lived core link's
        // does; decoders must cope with 9-octet values.
        let hc_in = |i: usize| {
            if i == 0 {
                octets(i, 0).wrapping_add(u64::MAX - 10_000_000_000)
            } else {
                octets(i, 11)
            }
        };
        let hc_out = |i: usize| octets(i, 13);
        let low32 = |n: u64| u32::try_from(n & 0xffff_ffff).unwrap_or(0);
        match obj {
            Obj::SysDescr => {
                Value::OctetString(format!("toc-sim {} {}", dev.role, dev.id).into_bytes())
            }
            Obj::SysObjectId => Value::Oid(Oid::new(&[1, 3, 6, 1, 4, 1, 8072, 3, 2, 10])),
            Obj::SysUpTime => {
                Value::TimeTicks(u32::try_from((up.as_millis() / 10) % (1u128 << 32)).unwrap_or(0))
            }
            Obj::SysContact => Value::OctetString(b"TOC network desk".to_vec()),
            Obj::SysName => Value::OctetString(dev.id.clone().into_bytes()),
            Obj::SysLocation => Value::OctetString(dev.location.clone().into_bytes()),
            Obj::IfNumber => Value::Integer(i64::try_from(dev.interfaces.len()).unwrap_or(0)),
            Obj::If(col, i) => match col {
                1 => Value::Integer(i64::from(if_index(i))),
                2 => Value::OctetString(name(i).as_bytes().to_vec()),
                3 => Value::Integer(6), // ethernetCsmacd
                5 => Value::Gauge32(if name(i).starts_with("Te") {
                    4_294_967_295
                } else {
                    1_000_000_000
                }),
                7 => Value::Integer(if spare(i) { 2 } else { 1 }),
                8 => Value::Integer(if oper_up(i) { 1 } else { 2 }),
                // ifInOctets and ifOutOctets are the low 32 bits of
                // ifHCInOctets and ifHCOutOctets, wrapping with them, as
                // on a real agent (RFC 2863 ifCounterDiscontinuityTime
                // aside, both count the same octets).
                10 => Value::Counter32(low32(hc_in(i))),
                _ => Value::Counter32(low32(hc_out(i))),
            },
            Obj::IfX(col, i) => match col {
                1 => Value::OctetString(name(i).as_bytes().to_vec()),
                // The first interface's counter starts just below 2^64 and
                // wraps while the simulation runs, as a long-lived core
                // link's does; decoders must cope with 9-octet values.
                6 => Value::Counter64(hc_in(i)),
                _ => Value::Counter64(hc_out(i)),
            },
            Obj::HrProcessorLoad(cpu) => {
                let wobble = ((now.saturating_duration_since(self.started).as_secs() + cpu as u64)
                    % 5) as u8;
                Value::Integer(i64::from(view.cpu_percent.saturating_add(wobble).min(100)))
            }
            Obj::EngineId => Value::OctetString(dev.engine_id.clone()),
            Obj::EngineBoots => Value::Integer(i64::from(view.boots)),
            Obj::EngineTime => {
                Value::Integer(i64::try_from(up.as_secs().min(0x7fff_ffff)).unwrap_or(0))
            }
            Obj::EngineMaxMessageSize => Value::Integer(i64::try_from(MAX_MESSAGE).unwrap_or(0)),
        }
    }
}

/// The answer refusing `req` with `status` at `index`: the request's
/// varbinds sent back, as net-snmp does.
fn refusal(req: &Pdu, status: i32, index: i32) -> Pdu {
    Pdu {
        kind: PduType::Response,
        request_id: req.request_id,
        error_status: status,
        error_index: index,
        varbinds: req.varbinds.clone(),
    }
}

/// Makes an answer that is too big smaller: a GETBULK answer loses rows
/// from its end (RFC 3416 4.2.3); any other becomes `tooBig` with no
/// varbinds. Returns false when there is nothing left to take away.
fn shrink(pdu: &mut Pdu, request: PduType) -> bool {
    if pdu.varbinds.is_empty() {
        return false;
    }
    if request == PduType::GetBulk && pdu.varbinds.len() > 1 {
        let keep = pdu.varbinds.len() * 3 / 4;
        pdu.varbinds.truncate(keep.max(1));
    } else {
        pdu.varbinds.clear();
        pdu.error_status = error_status::TOO_BIG;
        pdu.error_index = 0;
    }
    true
}

/// Serves, on `socket`, every SNMP device of `inventory` whose probe
/// address has this socket's port, selected by community `@context` (v2c)
/// or v3 context name. Runs until the task is dropped or aborted.
pub async fn serve(
    socket: UdpSocket,
    inventory: Arc<Inventory>,
    state: Arc<SimState>,
) -> std::io::Result<()> {
    let port = socket.local_addr()?.port();
    // A burst of polls to hundreds of devices on this port must not
    // overflow the kernel's queue; the system may cap this lower.
    let _ = socket2::SockRef::from(&socket).set_recv_buffer_size(4 << 20);
    let agent = Agent::new(&inventory, state, port);
    let socket = Arc::new(socket);
    let mut buf = vec![0u8; 65_535];
    loop {
        // An error here is an ICMP port unreachable from a vanished
        // client and the like: go on.
        let Ok((len, from)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let Some(bytes) = buf.get(..len) else {
            continue;
        };
        if let Some((reply, delay)) = agent.handle(bytes, Instant::now()) {
            send_later(&socket, reply, from, delay);
        }
    }
}

fn send_later(socket: &Arc<UdpSocket>, reply: Vec<u8>, to: SocketAddr, delay: Duration) {
    if delay.is_zero() {
        // A full socket buffer loses this answer, as on a real network.
        let _ = socket.try_send_to(&reply, to);
    } else {
        let socket = Arc::clone(socket);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = socket.send_to(&reply, to).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SourceFile;
    use std::fmt::Write as _;

    #[test]
    fn engine_ids_are_valid_distinct_and_stable() {
        let long = "a-device-id-far-longer-than-an-engine-id-may-be";
        for id in ["STA-core-a", "x", long, "exactly-twenty-three-ch"] {
            let e = device_engine_id(id);
            assert!((5..=32).contains(&e.len()), "{id}: {} octets", e.len());
            assert_eq!(e, device_engine_id(id));
        }
        assert_ne!(
            device_engine_id(long),
            device_engine_id(&format!("{long}2"))
        );
        assert_ne!(device_engine_id("sim-port-1"), port_engine_id(1));
    }

    #[test]
    fn devices_without_context_on_a_shared_port_are_named() {
        let mut text = String::from(
            "[event]\nname = \"t\"\npoll_interval = \"5s\"\ntimeout = \"1s\"\nretries = 1\n\n\
             [profiles.v2]\nversion = \"v2c\"\ncommunity = \"c\"\n\n\
             [[venues]]\ncode = \"TST\"\nname = \"T\"\ncity = \"P\"\n\n",
        );
        for (id, ctx) in [
            ("TST-a", ""),
            ("TST-b", "TST-b"),
            ("TST-c", ""),
            ("TST-d", ""),
        ] {
            let _ = write!(
                text,
                "[[venues.devices]]\nid = \"{id}\"\nrole = \"switch\"\nprobe = \"snmp://127.0.0.1:1161\"\nprofile = \"v2\"\n"
            );
            if !ctx.is_empty() {
                let _ = writeln!(text, "context = \"{ctx}\"");
            }
            text.push('\n');
        }
        let (inv, _) = Inventory::parse(&SourceFile::new("t.toml", text)).expect("valid");
        let c = contexts(&inv, &[0, 1, 2, 3], 1161);
        assert_eq!(c.default, Some(0));
        assert_eq!(c.by_context.get(&b"TST-b"[..]), Some(&1));
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        assert!(
            c.warnings[0].contains("TST-a, TST-c, TST-d") && c.warnings[0].contains("only TST-a"),
            "{}",
            c.warnings[0]
        );
        // Alone on its port: the default context too, and no warning.
        let c = contexts(&inv, &[1], 1161);
        assert_eq!((c.default, c.warnings.len()), (Some(0), 0));
    }
}
