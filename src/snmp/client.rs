//! An SNMP client for thousands of targets: a few UDP sockets shared by
//! every request, replies matched to requests by id and source address.
//!
//! One receive task per socket decodes each datagram once. A reply that is
//! malformed, carries an id nobody waits for, comes from the wrong address
//! or fails its MAC is dropped and counted in [`ClientStats`], and the
//! request goes on waiting for the real answer. Each attempt is bounded by
//! the target's timeout; after the last retry the request fails with
//! [`SnmpError::Timeout`]. `SNMPv3` engines are discovered once and their
//! clocks followed; a reboot of the agent (engine boots going up) is
//! re-synchronised and reported.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::pdu::{
    CommunityMessage, Message, Oid, Pdu, PduType, ScopedData, ScopedPdu, UsmParams, V3Message,
    Value, error_status, flags,
};
use super::usm::{LocalKeys, PrivProto, UsmUser, stats};

/// How to talk to a target.
#[derive(Debug, Clone)]
pub enum Security {
    /// `SNMPv2c` with this community (already `community@context` when a
    /// context is used).
    V2c { community: Vec<u8> },
    /// `SNMPv3` USM.
    V3 {
        user: Arc<UsmUser>,
        context: Vec<u8>,
    },
}

/// One agent to ask.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub security: Security,
    /// Time one attempt may take.
    pub timeout: Duration,
    /// Extra attempts after the first.
    pub retries: u32,
}

/// Why a request got no usable answer. The texts are what the wall shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnmpError {
    /// Nothing came back. `hint` says what else silence can mean for this
    /// kind of request (agents drop what they refuse without a word).
    Timeout {
        attempts: u32,
        timeout: Duration,
        hint: &'static str,
    },
    /// The agent refused our credentials, with the reason.
    Auth(String),
    /// The agent answered with an error status.
    Status { status: i32, index: i32 },
    /// The answer made no sense.
    Protocol(String),
    /// A local socket error.
    Io(String),
}

impl fmt::Display for SnmpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnmpError::Timeout {
                attempts,
                timeout,
                hint,
            } => {
                write!(
                    f,
                    "no answer ({attempts} attempt{}, {} each)",
                    if *attempts == 1 { "" } else { "s" },
                    humantime::format_duration(*timeout)
                )?;
                if !hint.is_empty() {
                    write!(f, ": device down, unreachable, or {hint}")?;
                }
                Ok(())
            }
            SnmpError::Auth(reason) | SnmpError::Protocol(reason) | SnmpError::Io(reason) => {
                f.write_str(reason)
            }
            // Index 0: the error is about the request as a whole (tooBig,
            // genErr of the agent), not one of its varbinds.
            SnmpError::Status { status, index } if *index <= 0 => write!(
                f,
                "agent answered {} (for the whole request)",
                error_status::name(*status)
            ),
            SnmpError::Status { status, index } => write!(
                f,
                "agent answered {} (varbind {index})",
                error_status::name(*status)
            ),
        }
    }
}

impl std::error::Error for SnmpError {}

/// A usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The varbinds, in order.
    pub varbinds: Vec<(Oid, Value)>,
    /// Round trip of the attempt that was answered.
    pub latency: Duration,
    /// Things learnt on the way (`agent engine rebooted: boots 1 → 2`).
    pub notes: Vec<String>,
}

impl Response {
    /// The value the agent gave for `oid`, matched by OID (never by
    /// position: agents may reorder or leave out varbinds).
    pub fn value(&self, oid: &Oid) -> Option<&Value> {
        self.varbinds.iter().find(|(o, _)| o == oid).map(|(_, v)| v)
    }
}

/// What a table walk read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walk {
    /// Each column's rows as (row index, value), in walk order.
    pub columns: Vec<Vec<(u32, Value)>>,
    /// Sum of the round trips of the requests the walk took.
    pub latency: Duration,
    /// Things learnt on the way.
    pub notes: Vec<String>,
    /// Set when the walk stopped before every column left its subtree, with
    /// why (`stopped at 4096 rows`): the rows read are then not the whole
    /// table.
    pub cut: Option<String>,
}

/// Counters of what the receive tasks dropped and why.
#[derive(Debug, Default)]
pub struct ClientStats {
    pub sent: AtomicU64,
    pub received: AtomicU64,
    pub malformed: AtomicU64,
    /// Replies with an id nobody waits for, late answers included (to an
    /// attempt that timed out or a request that was cancelled).
    pub unknown_id: AtomicU64,
    pub wrong_source: AtomicU64,
    pub bad_auth: AtomicU64,
    pub timeouts: AtomicU64,
}

/// A copy of [`ClientStats`] at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatsSnapshot {
    pub sent: u64,
    pub received: u64,
    pub malformed: u64,
    pub unknown_id: u64,
    pub wrong_source: u64,
    pub bad_auth: u64,
    pub timeouts: u64,
}

#[derive(Debug)]
enum Reply {
    V2c(Pdu),
    V3 {
        pdu: Pdu,
        usm: UsmParams,
        authenticated: bool,
    },
}

#[derive(Debug)]
struct Pending {
    from: SocketAddr,
    /// The request was `SNMPv3`; an answer of the other version is noise.
    v3: bool,
    keys: Option<Arc<LocalKeys>>,
    tx: oneshot::Sender<(Reply, Instant)>,
}

#[derive(Debug, Clone)]
struct Engine {
    id: Vec<u8>,
    boots: u32,
    time: u32,
    synced: Instant,
    keys: HashMap<Vec<u8>, Arc<LocalKeys>>,
}

impl Engine {
    fn clock(&self) -> (u32, u32) {
        let elapsed = u32::try_from(self.synced.elapsed().as_secs()).unwrap_or(u32::MAX);
        (self.boots, self.time.saturating_add(elapsed))
    }
}

/// The sockets of one address family, or why there are none.
#[derive(Debug)]
struct Family {
    sockets: Vec<Arc<UdpSocket>>,
    /// Set when this family has no sockets: why (`IPv6 is not available
    /// on this host: …`).
    missing: Option<String>,
    next: AtomicUsize,
}

impl Family {
    fn none(why: String) -> Family {
        Family {
            sockets: Vec::new(),
            missing: Some(why),
            next: AtomicUsize::new(0),
        }
    }

    fn pick(&self) -> Option<&Arc<UdpSocket>> {
        if self.sockets.is_empty() {
            return None;
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed) % self.sockets.len();
        self.sockets.get(n)
    }
}

#[derive(Debug)]
struct Inner {
    v4: Family,
    v6: Family,
    /// One entry per attempt in flight, removed by its [`PendingEntry`].
    pending: Mutex<HashMap<i32, Pending>>,
    /// One per agent address asked over v3 (with one key set per user):
    /// bounded by the inventory, not by time.
    engines: Mutex<HashMap<SocketAddr, Engine>>,
    next_id: AtomicI32,
    salt: AtomicU64,
    stats: ClientStats,
}

/// The shared SNMP client. Cheap to clone; the receive tasks stop when the
/// last clone is dropped.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
    _tasks: Arc<Tasks>,
}

#[derive(Debug)]
struct Tasks(Vec<JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// A request's entry in [`Inner::pending`], removed when this guard drops:
/// on every return path of an attempt and when the future owning it is
/// dropped mid-exchange, so nothing there outlives its waiter.
struct PendingEntry<'a> {
    pending: &'a Mutex<HashMap<i32, Pending>>,
    id: i32,
}

impl<'a> PendingEntry<'a> {
    fn register(pending: &'a Mutex<HashMap<i32, Pending>>, id: i32, entry: Pending) -> Self {
        lock(pending).insert(id, entry);
        PendingEntry { pending, id }
    }
}

impl Drop for PendingEntry<'_> {
    fn drop(&mut self) {
        // Already gone when the receive task delivered the reply.
        lock(self.pending).remove(&self.id);
    }
}

/// `snmpUnknownContexts` (RFC 3413): the report of a request in a context
/// the agent does not serve.
const UNKNOWN_CONTEXTS: [u32; 9] = [1, 3, 6, 1, 6, 3, 12, 1, 5];

/// Largest datagram we accept; larger ones arrive truncated and are
/// dropped as malformed.
const MAX_DATAGRAM: usize = 65_535;

/// `n` UDP sockets bound to `bind`, port 0. IPv6 sockets are IPv6 only:
/// IPv4 targets go over IPv4 sockets.
fn bind_family(bind: IpAddr, n: usize) -> std::io::Result<Vec<Arc<UdpSocket>>> {
    let mut socks = Vec::new();
    for _ in 0..n.max(1) {
        let addr = SocketAddr::new(bind, 0);
        let s = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::DGRAM,
            Some(socket2::Protocol::UDP),
        )?;
        if bind.is_ipv6() {
            s.set_only_v6(true)?;
        }
        // Replies to a burst of requests must not be dropped by the
        // kernel; the system may cap this lower, which is fine.
        let _ = s.set_recv_buffer_size(4 << 20);
        s.set_nonblocking(true)?;
        s.bind(&addr.into())?;
        socks.push(Arc::new(UdpSocket::from_std(s.into())?));
    }
    Ok(socks)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Client {
    /// A client with `sockets` UDP sockets bound to `bind` (port 0): it
    /// reaches targets of `bind`'s address family only (a target of the
    /// other family fails with a clear error). Must be called inside a
    /// tokio runtime.
    pub fn new(bind: IpAddr, sockets: usize) -> std::io::Result<Client> {
        let socks = bind_family(bind, sockets)?;
        let family = Family {
            sockets: socks,
            missing: None,
            next: AtomicUsize::new(0),
        };
        let (v4, v6) = if bind.is_ipv4() {
            (
                family,
                Family::none(format!("this client has no IPv6 socket (bound to {bind})")),
            )
        } else {
            (
                Family::none(format!("this client has no IPv4 socket (bound to {bind})")),
                family,
            )
        };
        Ok(Self::start(v4, v6))
    }

    /// A dual-stack client: `sockets` UDP sockets on all IPv4 addresses
    /// and as many on all IPv6 addresses, each target asked over the
    /// sockets of its own family. A host without IPv6 still gets a client:
    /// only IPv6 targets then fail, saying why. Must be called inside a
    /// tokio runtime.
    pub fn dual_stack(sockets: usize) -> std::io::Result<Client> {
        let v4 = bind_family(IpAddr::V4(Ipv4Addr::UNSPECIFIED), sockets);
        let v6 = bind_family(IpAddr::V6(Ipv6Addr::UNSPECIFIED), sockets);
        let family = |r: std::io::Result<Vec<Arc<UdpSocket>>>, name: &str| match r {
            Ok(sockets) => Family {
                sockets,
                missing: None,
                next: AtomicUsize::new(0),
            },
            Err(e) => Family::none(format!("{name} is not available on this host ({e})")),
        };
        match (v4, v6) {
            (Err(e), Err(_)) => Err(e),
            (v4, v6) => Ok(Self::start(family(v4, "IPv4"), family(v6, "IPv6"))),
        }
    }

    /// A dual-stack client with four sockets per family: what the poller
    /// and `toc probe` use.
    pub fn default_dual() -> std::io::Result<Client> {
        Self::dual_stack(4)
    }

    fn start(v4: Family, v6: Family) -> Client {
        let seed = rand::random::<u32>() >> 2;
        let inner = Arc::new(Inner {
            v4,
            v6,
            pending: Mutex::new(HashMap::new()),
            engines: Mutex::new(HashMap::new()),
            next_id: AtomicI32::new(i32::try_from(seed).unwrap_or(1)),
            salt: AtomicU64::new(rand::random()),
            stats: ClientStats::default(),
        });
        let tasks = inner
            .v4
            .sockets
            .iter()
            .chain(&inner.v6.sockets)
            .map(|s| tokio::spawn(receive(Arc::clone(s), Arc::downgrade(&inner))))
            .collect();
        Client {
            inner,
            _tasks: Arc::new(Tasks(tasks)),
        }
    }

    /// Requests waiting for their reply right now (one entry per attempt
    /// in flight). Zero whenever nothing is in flight, however the earlier
    /// requests ended.
    pub fn pending_len(&self) -> usize {
        lock(&self.inner.pending).len()
    }

    /// What the receive tasks have seen and dropped so far.
    pub fn stats(&self) -> StatsSnapshot {
        let s = &self.inner.stats;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StatsSnapshot {
            sent: l(&s.sent),
            received: l(&s.received),
            malformed: l(&s.malformed),
            unknown_id: l(&s.unknown_id),
            wrong_source: l(&s.wrong_source),
            bad_auth: l(&s.bad_auth),
            timeouts: l(&s.timeouts),
        }
    }

    /// GET.
    pub async fn get(&self, target: &Target, oids: &[Oid]) -> Result<Response, SnmpError> {
        self.request(target, |id| Pdu::request(PduType::Get, id, oids))
            .await
    }

    /// GETNEXT.
    pub async fn get_next(&self, target: &Target, oids: &[Oid]) -> Result<Response, SnmpError> {
        self.request(target, |id| Pdu::request(PduType::GetNext, id, oids))
            .await
    }

    /// GETBULK.
    pub async fn get_bulk(
        &self,
        target: &Target,
        non_repeaters: i32,
        max_repetitions: i32,
        oids: &[Oid],
    ) -> Result<Response, SnmpError> {
        self.request(target, |id| {
            Pdu::get_bulk(id, non_repeaters, max_repetitions, oids)
        })
        .await
    }

    /// Walks table columns side by side with GETBULK until every column has
    /// left its subtree, or `max_rows` rows were read (then [`Walk::cut`]
    /// says so, as it does for any other early stop that may lose rows).
    ///
    /// An agent that answers tooBig gets the same request again with half
    /// the max-repetitions, down to GETNEXT (the walk then stays at the
    /// smaller size); only a tooBig to a GETNEXT of one row fails the walk.
    pub async fn walk_columns(
        &self,
        target: &Target,
        columns: &[Oid],
        max_rows: usize,
    ) -> Result<Walk, SnmpError> {
        self.walk_columns_expecting(target, columns, max_rows, None)
            .await
    }

    /// [`Client::walk_columns`] of a table expected to have about
    /// `expect_rows` rows (what the last walk of it read): each request
    /// asks for one row more than that, so a table that did not change is
    /// read in one request without asking for rows past its end (a
    /// 4-interface switch: 20 varbinds instead of 48).
    pub async fn walk_columns_expecting(
        &self,
        target: &Target,
        columns: &[Oid],
        max_rows: usize,
        expect_rows: Option<usize>,
    ) -> Result<Walk, SnmpError> {
        let mut walk = Walk {
            columns: vec![Vec::new(); columns.len()],
            latency: Duration::ZERO,
            notes: Vec::new(),
            cut: None,
        };
        let mut cursor: Vec<Oid> = columns.to_vec();
        let mut open: Vec<bool> = vec![true; columns.len()];
        // Max-repetitions as the agent allows: lowered on tooBig, 0 = GETNEXT.
        let most = (48 / columns.len().max(1)).max(1);
        let wanted = expect_rows.map_or(most, |n| n.saturating_add(1).clamp(1, most));
        let mut reps = i32::try_from(wanted).unwrap_or(8);
        while open.iter().any(|o| *o) {
            if walk.columns.iter().map(Vec::len).max().unwrap_or(0) >= max_rows {
                walk.cut = Some(format!("stopped at {max_rows} rows, the most toc reads"));
                break;
            }
            let ask: Vec<usize> = (0..columns.len()).filter(|&i| open[i]).collect();
            let oids: Vec<Oid> = ask.iter().map(|&i| cursor[i].clone()).collect();
            let r = self.walk_step(target, &oids, &mut reps, &mut walk).await?;
            if r.varbinds.is_empty() {
                walk.cut = Some("agent answered a walk request with no varbinds".into());
                break;
            }
            let progressed =
                take_rows(columns, &ask, r.varbinds, &mut cursor, &mut open, &mut walk)?;
            if !progressed && open.iter().any(|o| *o) {
                walk.cut = Some(format!(
                    "agent stopped giving rows of {} before its end",
                    ask.iter()
                        .filter(|&&i| open[i])
                        .map(|&i| columns[i].to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                break;
            }
        }
        Ok(walk)
    }

    /// One request of a walk: GETBULK with `reps` repetitions (GETNEXT when
    /// 0), halved on each tooBig until the agent takes it.
    async fn walk_step(
        &self,
        target: &Target,
        oids: &[Oid],
        reps: &mut i32,
        walk: &mut Walk,
    ) -> Result<Response, SnmpError> {
        loop {
            let asked = if *reps > 0 {
                self.get_bulk(target, 0, *reps, oids).await
            } else {
                self.get_next(target, oids).await
            };
            match asked {
                Ok(r) => {
                    walk.latency += r.latency;
                    walk.notes.extend(r.notes.iter().cloned());
                    return Ok(r);
                }
                Err(SnmpError::Status {
                    status: error_status::TOO_BIG,
                    ..
                }) if *reps > 0 => {
                    *reps /= 2;
                    let now = if *reps > 0 {
                        format!("GETBULK of {}", *reps)
                    } else {
                        "GETNEXT".to_owned()
                    };
                    let note = format!("agent answered tooBig: walking with {now}");
                    if !walk.notes.contains(&note) {
                        walk.notes.push(note);
                    }
                }
                Err(SnmpError::Status {
                    status: error_status::TOO_BIG,
                    ..
                }) => {
                    return Err(SnmpError::Protocol(format!(
                        "agent answers tooBig even to a GETNEXT of one row ({} column{}): its largest message is too small",
                        oids.len(),
                        if oids.len() == 1 { "" } else { "s" }
                    )));
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn request(
        &self,
        target: &Target,
        build: impl Fn(i32) -> Pdu,
    ) -> Result<Response, SnmpError> {
        match &target.security {
            Security::V2c { community } => {
                let (reply, latency) = self
                    .exchange(target, None, |id| {
                        CommunityMessage {
                            community: community.clone(),
                            pdu: build(id),
                        }
                        .encode()
                    })
                    .await?;
                let Reply::V2c(pdu) = reply else {
                    return Err(SnmpError::Protocol(
                        "SNMPv3 answer to an SNMPv2c request".into(),
                    ));
                };
                finish(pdu, latency, Vec::new())
            }
            Security::V3 { user, context } => self.request_v3(target, user, context, &build).await,
        }
    }

    async fn request_v3(
        &self,
        target: &Target,
        user: &Arc<UsmUser>,
        context: &[u8],
        build: &impl Fn(i32) -> Pdu,
    ) -> Result<Response, SnmpError> {
        let mut notes = Vec::new();
        let (mut resynced, mut rediscovered) = (false, false);
        loop {
            let engine = match self.engine(target.addr) {
                Some(e) => e,
                None => self.discover(target).await?,
            };
            let keys = self.keys(target.addr, &engine, user);
            let level = user.level_flags();
            let (reply, latency) = self
                .exchange(target, Some(Arc::clone(&keys)), |id| {
                    self.encode_v3(id, &engine, user, &keys, level, context, build(id))
                })
                .await?;
            let Reply::V3 {
                pdu,
                usm,
                authenticated,
            } = reply
            else {
                return Err(SnmpError::Protocol(
                    "SNMPv2c answer to an SNMPv3 request".into(),
                ));
            };
            if pdu.kind == PduType::Response {
                if level & flags::AUTH != 0 && !authenticated {
                    return Err(SnmpError::Auth(
                        "unauthenticated answer to an authenticated request".into(),
                    ));
                }
                self.sync_clock(target.addr, &usm, authenticated);
                return finish(pdu, latency, notes);
            }
            let which = pdu.varbinds.first().and_then(|(oid, _)| stats::which(oid));
            match which {
                Some(stats::NOT_IN_TIME_WINDOWS) if !resynced && authenticated => {
                    if usm.engine_boots > engine.boots {
                        notes.push(format!(
                            "agent engine rebooted (snmpEngineBoots {} → {})",
                            engine.boots, usm.engine_boots
                        ));
                    }
                    self.sync_clock(target.addr, &usm, true);
                    resynced = true;
                }
                Some(stats::UNKNOWN_ENGINE_IDS) if !rediscovered => {
                    notes.push("agent engine id changed; rediscovered".into());
                    lock(&self.inner.engines).remove(&target.addr);
                    rediscovered = true;
                }
                _ => return Err(refusal(which, user, &pdu, context)),
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn encode_v3(
        &self,
        id: i32,
        engine: &Engine,
        user: &UsmUser,
        keys: &LocalKeys,
        level: u8,
        context: &[u8],
        pdu: Pdu,
    ) -> Vec<u8> {
        let (boots, time) = engine.clock();
        let scoped = ScopedPdu {
            context_engine_id: engine.id.clone(),
            context_name: context.to_vec(),
            pdu,
        };
        let (data, priv_params) = if level & flags::PRIV == 0 {
            (ScopedData::Plain(scoped), Vec::new())
        } else {
            let salt = self.inner.salt.fetch_add(1, Ordering::Relaxed);
            match keys.encrypt(boots, time, salt, &scoped.encode()) {
                Some((c, p)) => (ScopedData::Encrypted(c), p),
                None => (ScopedData::Plain(scoped), Vec::new()),
            }
        };
        let msg = V3Message {
            msg_id: id,
            max_size: 65_507,
            flags: level | flags::REPORTABLE,
            usm: UsmParams {
                engine_id: engine.id.clone(),
                engine_boots: boots,
                engine_time: time,
                user: user.name.clone(),
                auth_params: vec![0; keys.mac_len()],
                priv_params,
            },
            data,
        };
        let (mut bytes, range) = msg.encode();
        keys.sign(&mut bytes, range);
        bytes
    }

    fn engine(&self, addr: SocketAddr) -> Option<Engine> {
        lock(&self.inner.engines).get(&addr).cloned()
    }

    fn keys(&self, addr: SocketAddr, engine: &Engine, user: &UsmUser) -> Arc<LocalKeys> {
        let cache_key = user.fingerprint().to_vec();
        if let Some(k) = engine.keys.get(&cache_key) {
            return Arc::clone(k);
        }
        let k = Arc::new(user.localize(&engine.id));
        if let Some(e) = lock(&self.inner.engines).get_mut(&addr) {
            e.keys.insert(cache_key, Arc::clone(&k));
        }
        k
    }

    fn sync_clock(&self, addr: SocketAddr, usm: &UsmParams, authenticated: bool) {
        if !authenticated {
            return;
        }
        if let Some(e) = lock(&self.inner.engines).get_mut(&addr)
            && e.id == usm.engine_id
        {
            e.boots = usm.engine_boots;
            e.time = usm.engine_time;
            e.synced = Instant::now();
        }
    }

    /// RFC 3414 4: learn the agent's engine id (and clock) with an empty,
    /// unauthenticated request.
    async fn discover(&self, target: &Target) -> Result<Engine, SnmpError> {
        let (reply, _) = self
            .exchange(target, None, |id| {
                V3Message {
                    msg_id: id,
                    max_size: 65_507,
                    flags: flags::REPORTABLE,
                    usm: UsmParams::default(),
                    data: ScopedData::Plain(ScopedPdu {
                        context_engine_id: Vec::new(),
                        context_name: Vec::new(),
                        pdu: Pdu::request(PduType::Get, id, &[]),
                    }),
                }
                .encode()
                .0
            })
            .await?;
        let Reply::V3 { usm, .. } = reply else {
            return Err(SnmpError::Protocol(
                "SNMPv2c answer to SNMPv3 discovery".into(),
            ));
        };
        if usm.engine_id.is_empty() {
            return Err(SnmpError::Protocol(
                "agent did not tell its engine id".into(),
            ));
        }
        let engine = Engine {
            id: usm.engine_id,
            boots: usm.engine_boots,
            time: usm.engine_time,
            synced: Instant::now(),
            keys: HashMap::new(),
        };
        lock(&self.inner.engines).insert(target.addr, engine.clone());
        Ok(engine)
    }

    /// Sends a request (re-encoded with a fresh id for each attempt) and
    /// waits for its reply. An answer to any attempt of the exchange ends
    /// it, as net-snmp does: a device that always answers just after the
    /// timeout is slow, not down. The latency is that of the attempt
    /// answered, from its own send time.
    async fn exchange(
        &self,
        target: &Target,
        keys: Option<Arc<LocalKeys>>,
        encode: impl Fn(i32) -> Vec<u8>,
    ) -> Result<(Reply, Duration), SnmpError> {
        let family = if target.addr.is_ipv4() {
            &self.inner.v4
        } else {
            &self.inner.v6
        };
        let Some(socket) = family.pick() else {
            return Err(SnmpError::Io(format!(
                "cannot send to {}: {}",
                target.addr,
                family.missing.as_deref().unwrap_or("no socket")
            )));
        };
        let attempts = target.retries.saturating_add(1);
        // Every attempt's entry stays until the exchange ends, so a late
        // answer to an earlier attempt is still taken. The guards remove
        // them however the exchange ends: answered, timed out, unsendable,
        // or the whole future dropped mid-exchange (a check cancelled
        // after its budget).
        let mut entries = Vec::with_capacity(attempts as usize);
        let mut waiting = Vec::with_capacity(attempts as usize);
        let mut sent_at = Vec::with_capacity(attempts as usize);
        for _ in 0..attempts {
            let id = self.fresh_id();
            let bytes = encode(id);
            let (tx, rx) = oneshot::channel();
            entries.push(PendingEntry::register(
                &self.inner.pending,
                id,
                Pending {
                    from: target.addr,
                    v3: matches!(target.security, Security::V3 { .. }),
                    keys: keys.clone(),
                    tx,
                },
            ));
            waiting.push(rx);
            let sent = Instant::now();
            sent_at.push(sent);
            if let Err(e) = socket.send_to(&bytes, target.addr).await {
                return Err(SnmpError::Io(format!(
                    "cannot send to {}: {e}",
                    target.addr
                )));
            }
            self.inner.stats.sent.fetch_add(1, Ordering::Relaxed);
            if let Ok((reply, at, k)) =
                tokio::time::timeout(target.timeout, first_answer(&mut waiting)).await
            {
                let since = sent_at.get(k).copied().unwrap_or(sent);
                return Ok((reply, at.saturating_duration_since(since)));
            }
            self.inner.stats.timeouts.fetch_add(1, Ordering::Relaxed);
        }
        drop(entries);
        Err(SnmpError::Timeout {
            attempts,
            timeout: target.timeout,
            hint: timeout_hint(&target.security),
        })
    }

    fn fresh_id(&self) -> i32 {
        loop {
            let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed) & 0x7fff_ffff;
            if id != 0 {
                return id;
            }
        }
    }
}

/// Files the varbinds of one walk answer under their columns (asked in the
/// order of `ask`), closing the columns that left their subtree. Whether
/// any column got a row.
fn take_rows(
    columns: &[Oid],
    ask: &[usize],
    varbinds: Vec<(Oid, Value)>,
    cursor: &mut [Oid],
    open: &mut [bool],
    walk: &mut Walk,
) -> Result<bool, SnmpError> {
    let mut progressed = false;
    for (k, (oid, value)) in varbinds.into_iter().enumerate() {
        let i = ask[k % ask.len()];
        if !open[i] {
            continue;
        }
        if value == Value::EndOfMibView || !oid.starts_with(&columns[i]) {
            open[i] = false;
            continue;
        }
        if oid <= cursor[i] {
            return Err(SnmpError::Protocol(format!(
                "agent walked backwards at {oid} (not increasing)"
            )));
        }
        let row = oid
            .arcs()
            .get(columns[i].arcs().len())
            .copied()
            .unwrap_or(0);
        walk.columns[i].push((row, value));
        cursor[i] = oid;
        progressed = true;
    }
    Ok(progressed)
}

/// Why an agent refused a v3 request, from the report it answered with
/// (`which`: the usmStats counter, if it is one).
fn refusal(which: Option<u32>, user: &UsmUser, pdu: &Pdu, context: &[u8]) -> SnmpError {
    let name = String::from_utf8_lossy(&user.name);
    let first = pdu.varbinds.first().map(|(o, _)| o);
    match which {
        Some(stats::NOT_IN_TIME_WINDOWS) => SnmpError::Auth(
            "not in time window: the agent's engine clock disagrees (usmStatsNotInTimeWindows)"
                .into(),
        ),
        Some(stats::UNKNOWN_USER_NAMES) => SnmpError::Auth(format!(
            "unknown user \"{name}\" (usmStatsUnknownUserNames)"
        )),
        Some(stats::WRONG_DIGESTS) => SnmpError::Auth(format!(
            "wrong digest: auth passphrase or protocol ({}) of \"{name}\" does not match the agent (usmStatsWrongDigests)",
            user.auth_proto()
                .map_or_else(|| "none".into(), |p| p.to_string())
        )),
        Some(stats::DECRYPTION_ERRORS) => SnmpError::Auth(format!(
            "agent cannot decrypt: privacy passphrase or protocol ({}) of \"{name}\" does not match (usmStatsDecryptionErrors)",
            user.priv_proto()
                .map_or_else(|| "none".into(), |p| p.to_string())
        )),
        Some(stats::UNSUPPORTED_SEC_LEVELS) => SnmpError::Auth(format!(
            "security level not allowed for \"{name}\" on the agent (usmStatsUnsupportedSecLevels)"
        )),
        _ if first.is_some_and(|o| o.arcs().starts_with(&UNKNOWN_CONTEXTS)) => {
            SnmpError::Protocol(format!(
                "agent does not know the context \"{}\" (snmpUnknownContexts)",
                String::from_utf8_lossy(context)
            ))
        }
        _ => SnmpError::Protocol(format!(
            "agent sent a report: {}",
            first.map_or_else(|| "empty report".to_owned(), ToString::to_string)
        )),
    }
}

/// The first answer to any of the attempts in `waiting`, with when it came
/// and which attempt it answers. Pends while none has come.
async fn first_answer(
    waiting: &mut [oneshot::Receiver<(Reply, Instant)>],
) -> (Reply, Instant, usize) {
    std::future::poll_fn(|cx| {
        for (k, rx) in waiting.iter_mut().enumerate() {
            // A sender goes only with its entry, after delivering, or when
            // the exchange ends: a closed channel is just not an answer.
            if let std::task::Poll::Ready(Ok((reply, at))) = std::pin::Pin::new(rx).poll(cx) {
                return std::task::Poll::Ready((reply, at, k));
            }
        }
        std::task::Poll::Pending
    })
    .await
}

/// What else than a device down silence can mean for this request: agents
/// drop what they refuse without a word.
fn timeout_hint(security: &Security) -> &'static str {
    // A request in a context the agent does not know is dropped silently
    // too (v2c `community@context`; net-snmp v3 answers a report, others
    // may not).
    macro_rules! or_context {
        ($context:expr, $s:literal) => {
            if $context {
                concat!($s, ", or the agent does not know the context")
            } else {
                $s
            }
        };
    }
    match security {
        // A v2c agent drops a wrong community silently.
        Security::V2c { community } => {
            or_context!(community.contains(&b'@'), "community refused")
        }
        // net-snmp drops what it cannot decrypt, also silently; with a key
        // extension other than the agent's, even the right passphrase makes
        // a key it cannot decrypt with.
        Security::V3 { user, context } => {
            let c = !context.is_empty();
            match user.priv_proto() {
                None if c => "the agent does not know the context",
                None => "",
                Some(PrivProto::Aes128) => or_context!(c, "privacy passphrase refused"),
                Some(PrivProto::Aes192) => or_context!(
                    c,
                    "privacy passphrase or key extension (AES-192 with net-snmp's key extension) refused"
                ),
                Some(PrivProto::Aes192C) => or_context!(
                    c,
                    "privacy passphrase or key extension (AES-192-C with Cisco's key extension) refused"
                ),
                Some(PrivProto::Aes256) => or_context!(
                    c,
                    "privacy passphrase or key extension (AES-256 with net-snmp's key extension) refused"
                ),
                Some(PrivProto::Aes256C) => or_context!(
                    c,
                    "privacy passphrase or key extension (AES-256-C with Cisco's key extension) refused"
                ),
            }
        }
    }
}

fn finish(pdu: Pdu, latency: Duration, notes: Vec<String>) -> Result<Response, SnmpError> {
    if pdu.kind != PduType::Response {
        return Err(SnmpError::Protocol(format!(
            "unexpected {:?} PDU",
            pdu.kind
        )));
    }
    if pdu.error_status != error_status::NO_ERROR {
        return Err(SnmpError::Status {
            status: pdu.error_status,
            index: pdu.error_index,
        });
    }
    Ok(Response {
        varbinds: pdu.varbinds,
        latency,
        notes,
    })
}

async fn receive(socket: Arc<UdpSocket>, inner: std::sync::Weak<Inner>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let Ok((len, from)) = socket.recv_from(&mut buf).await else {
            // ICMP errors surface here on some systems; keep going.
            continue;
        };
        let at = Instant::now();
        let Some(inner) = inner.upgrade() else {
            return;
        };
        inner.stats.received.fetch_add(1, Ordering::Relaxed);
        let Some(bytes) = buf.get(..len) else {
            continue;
        };
        dispatch(&inner, bytes, from, at);
    }
}

/// Decodes one datagram and hands it to the request waiting for it, or
/// drops and counts it.
fn dispatch(inner: &Inner, bytes: &[u8], from: SocketAddr, at: Instant) {
    let count = |c: &AtomicU64| {
        c.fetch_add(1, Ordering::Relaxed);
    };
    let Ok(msg) = Message::decode(bytes) else {
        count(&inner.stats.malformed);
        return;
    };
    let id = match &msg {
        Message::V2c(m) => m.pdu.request_id,
        Message::V3(m, _) => m.msg_id,
    };
    let mut pending = lock(&inner.pending);
    let Some(p) = pending.get(&id) else {
        count(&inner.stats.unknown_id);
        return;
    };
    if p.from != from {
        count(&inner.stats.wrong_source);
        return;
    }
    if p.v3 != matches!(msg, Message::V3(..)) {
        // Right id and source, wrong version: not our answer.
        count(&inner.stats.malformed);
        return;
    }
    let reply = match msg {
        Message::V2c(m) => {
            if m.pdu.kind != PduType::Response {
                count(&inner.stats.malformed);
                return;
            }
            Reply::V2c(m.pdu)
        }
        Message::V3(m, range) => {
            let authenticated = m.flags & flags::AUTH != 0;
            if authenticated {
                let Some(keys) = &p.keys else {
                    count(&inner.stats.bad_auth);
                    return;
                };
                if !keys.verify(bytes, range) {
                    count(&inner.stats.bad_auth);
                    return;
                }
            }
            let scoped = match m.data {
                ScopedData::Plain(s) => s,
                ScopedData::Encrypted(c) => {
                    let plain = p.keys.as_ref().filter(|_| authenticated).and_then(|k| {
                        k.decrypt(
                            m.usm.engine_boots,
                            m.usm.engine_time,
                            &m.usm.priv_params,
                            &c,
                        )
                        .ok()
                    });
                    let Some(Ok(s)) = plain.map(|b| ScopedPdu::decode(&b)) else {
                        count(&inner.stats.bad_auth);
                        return;
                    };
                    s
                }
            };
            // Only reports may come unauthenticated (discovery, refusals).
            if !authenticated
                && scoped.pdu.kind != PduType::Report
                && p.keys.as_ref().is_some_and(|k| k.mac_len() > 0)
            {
                count(&inner.stats.bad_auth);
                return;
            }
            Reply::V3 {
                pdu: scoped.pdu,
                usm: m.usm,
                authenticated,
            }
        }
    };
    if let Some(p) = pending.remove(&id)
        && p.tx.send((reply, at)).is_err()
    {
        // The waiter gave up (timed out or was dropped) just now, before
        // its entry went: as late as an answer nobody waits for.
        count(&inner.stats.unknown_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_reason_reads_well() {
        let e = SnmpError::Timeout {
            attempts: 2,
            timeout: Duration::from_secs(1),
            hint: "community refused",
        };
        assert_eq!(
            e.to_string(),
            "no answer (2 attempts, 1s each): device down, unreachable, or community refused"
        );
        let e = SnmpError::Status {
            status: 2,
            index: 1,
        };
        assert_eq!(e.to_string(), "agent answered noSuchName (varbind 1)");
    }
}
