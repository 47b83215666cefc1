//! The simulated SNMP agent: one UDP socket serving many simulated devices,
//! selected by v2c community `community@context` or v3 context name, the
//! way snmpsim and Cisco's community indexing do, so 10,000 devices need
//! no 10,000 sockets.
//!
//! It answers GET, GETNEXT and GETBULK over the part of the MIB the probes
//! read: system (sysDescr, sysObjectID, sysUpTime, sysContact, sysName,
//! sysLocation), ifNumber, ifTable and ifXTable (names, admin and oper
//! status, moving octet counters, a Counter64 that crosses 2^64) and
//! hrProcessorLoad. `SNMPv3` is served with USM (SHA/SHA-256, AES-128/256),
//! discovery and time-window reports included. Faults from
//! [`SimState`] apply per request: silence, delay, interfaces down,
//! refused credentials, CPU load, reboots.

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
    CommunityMessage, Message, Pdu, PduType, ScopedData, ScopedPdu, UsmParams, V3Message, flags,
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
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[derive(Debug)]
struct SimDevice {
    index: usize,
    id: String,
    role: String,
    location: String,
    interfaces: Vec<String>,
    mib: Arc<Vec<(Oid, Obj)>>,
    community: Option<Vec<u8>>,
}

#[derive(Debug)]
struct Agent {
    devices: Vec<SimDevice>,
    by_context: HashMap<Vec<u8>, usize>,
    users: HashMap<Vec<u8>, (Arc<UsmUser>, LocalKeys)>,
    engine_id: Vec<u8>,
    started: Instant,
    state: Arc<SimState>,
    salt: AtomicU64,
    dropped: AtomicU64,
}

impl Agent {
    fn new(inventory: &Inventory, state: Arc<SimState>, port: u16) -> Agent {
        let engine_id = [
            &[0x80, 0x00, 0x00, 0x00, 0x04][..],
            format!("toc-sim-{port}").as_bytes(),
        ]
        .concat();
        let mut templates: HashMap<usize, Arc<Vec<(Oid, Obj)>>> = HashMap::new();
        let mut devices = Vec::new();
        let mut by_context = HashMap::new();
        let mut users = HashMap::new();
        for (index, d) in inventory.devices.iter().enumerate() {
            let ProbeTarget::Snmp { port: p, .. } = &d.probe else {
                continue;
            };
            if *p != port {
                continue;
            }
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
            let mib = Arc::clone(
                templates
                    .entry(interfaces.len())
                    .or_insert_with(|| Arc::new(template(interfaces.len()))),
            );
            let profile = d
                .profile
                .as_ref()
                .and_then(|name| inventory.profiles.get(name).map(|p| (name, p)));
            let mut community = None;
            match profile.map(|(name, p)| (p, security_of(name, p))) {
                Some((_, Ok(Security::V2c { community: c }))) => community = Some(c),
                Some((Profile::V3 { user, .. }, Ok(Security::V3 { user: u, .. })))
                    if !users.contains_key(user.as_bytes()) =>
                {
                    let keys = u.localize(&engine_id);
                    users.insert(user.as_bytes().to_vec(), (u, keys));
                }
                // Secrets not set: this agent refuses that user, as a
                // device with another password would.
                _ => {}
            }
            let context = d.context.clone().unwrap_or_else(|| d.id.clone());
            by_context.insert(context.into_bytes(), devices.len());
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
                community,
            });
        }
        Agent {
            devices,
            by_context,
            users,
            engine_id,
            started: Instant::now(),
            state,
            salt: AtomicU64::new(rand::random()),
            dropped: AtomicU64::new(0),
        }
    }

    /// The device a context names; an empty context means the only device
    /// when there is just one.
    fn device(&self, context: &[u8]) -> Option<&SimDevice> {
        if context.is_empty() && self.devices.len() == 1 {
            return self.devices.first();
        }
        self.by_context
            .get(context)
            .and_then(|&i| self.devices.get(i))
    }

    /// The port's engine clock: boots counts the reboots of its devices,
    /// time runs from the latest one.
    fn engine_clock(&self, now: Instant) -> (u32, u32) {
        let mut boots = 1u32;
        let mut since = self.started;
        for d in &self.devices {
            let v = self.state.view(d.index, now);
            if v.boots > 1 {
                boots = boots.saturating_add(v.boots - 1);
                since = since.max(v.up_since);
            }
        }
        let time =
            u32::try_from(now.saturating_duration_since(since).as_secs()).unwrap_or(u32::MAX);
        (boots, time)
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
        if dev.community.as_deref() != Some(community) {
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
        if m.flags & flags::REPORTABLE == 0 {
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
        let Some((user, keys)) = self.users.get(&m.usm.user) else {
            return self.report(m, plain_id, stats::UNKNOWN_USER_NAMES, None, now);
        };
        let level = m.flags & (flags::AUTH | flags::PRIV);
        if level != user.level_flags() {
            return self.report(m, plain_id, stats::UNSUPPORTED_SEC_LEVELS, None, now);
        }
        if !keys.verify(bytes, range) {
            return self.report(m, plain_id, stats::WRONG_DIGESTS, None, now);
        }
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
        let mut out = ScopedPdu {
            context_engine_id: self.engine_id.clone(),
            context_name: scoped.context_name,
            pdu: self.answer(dev, &view, &scoped.pdu, now)?,
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
                10 => Value::Counter32(u32::try_from(octets(i, 7) & 0xffff_ffff).unwrap_or(0)),
                _ => Value::Counter32(u32::try_from(octets(i, 3) & 0xffff_ffff).unwrap_or(0)),
            },
            Obj::IfX(col, i) => match col {
                1 => Value::OctetString(name(i).as_bytes().to_vec()),
                // The first interface's counter starts just below 2^64 and
                // wraps while the simulation runs, as a long-lived core
                // link's does; decoders must cope with 9-octet values.
                6 if i == 0 => {
                    Value::Counter64(octets(i, 0).wrapping_add(u64::MAX - 10_000_000_000))
                }
                6 => Value::Counter64(octets(i, 11)),
                _ => Value::Counter64(octets(i, 13)),
            },
            Obj::HrProcessorLoad(cpu) => {
                let wobble = ((now.saturating_duration_since(self.started).as_secs() + cpu as u64)
                    % 5) as u8;
                Value::Integer(i64::from(view.cpu_percent.saturating_add(wobble).min(100)))
            }
        }
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
        pdu.error_status = crate::snmp::pdu::error_status::TOO_BIG;
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
