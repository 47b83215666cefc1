//! Simulated venues: SNMP agents, HTTP health endpoints and TCP listeners
//! for every loopback device of a venues file, with fault injection.
//!
//! [`start`] binds one UDP socket per distinct SNMP address, one HTTP
//! server per distinct HTTP address, one TCP listener per TCP address and
//! a small control API, then serves until the [`SimHandle`] is shut down
//! or dropped. Faults come from the control API ([`control`]) or a
//! scenario file ([`scenario`]); every part asks the shared [`SimState`]
//! how a device behaves at the moment a request arrives.
//!
//! With [`SimOptions::ephemeral`] every address is bound on a free port
//! instead of the one in the file, and [`remap`] points an inventory at
//! them; [`synth::games`] writes a Games of any size to serve.

pub mod agent;
pub mod audit;
pub mod consumer;
pub mod control;
pub mod faults;
pub mod http;
pub mod odfgen;
pub mod ovr;
pub mod scenario;
pub mod synth;
pub mod tcp;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::config::Inventory;
use crate::config::venues::ProbeTarget;

pub use audit::{SimAudit, SimChange};
pub use faults::SimState;
pub use scenario::Scenario;

/// How to run the simulator.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Where the control API listens; must be a loopback address. Port 0
    /// takes any free port.
    pub control: SocketAddr,
    /// A scenario to play, timed from the start.
    pub scenario: Option<Scenario>,
    /// Serve every device on a free port from the system instead of the
    /// port in the file (same IP address). [`SimSummary::remapped`] then
    /// says which port stands for which, and [`remap`] rewrites an
    /// inventory to match, so nothing depends on fixed ports.
    pub ephemeral: bool,
    /// Where changes of simulated state (control API, scenario steps) are
    /// audited. With it, a change is made only once its record is
    /// durable; without it, nothing is recorded.
    pub audit: Option<Arc<dyn SimAudit>>,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            control: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            scenario: None,
            ephemeral: false,
            audit: None,
        }
    }
}

/// Something the simulator did that the operator should see: a fault set
/// or cleared through the control API, a scenario step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimEvent {
    /// Time since the simulator started.
    pub at: Duration,
    /// One line on what happened.
    pub text: String,
}

/// A device the simulator does not serve, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The device id.
    pub device: String,
    /// Why it is not simulated.
    pub reason: String,
}

/// What the simulator is serving.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimSummary {
    /// UDP sockets with an SNMP agent.
    pub snmp_ports: usize,
    /// Devices answered by those agents.
    pub snmp_devices: usize,
    /// HTTP servers with health endpoints.
    pub http_ports: usize,
    /// Devices with a health endpoint.
    pub http_devices: usize,
    /// TCP listeners.
    pub tcp_listeners: usize,
    /// Devices behind those listeners.
    pub tcp_devices: usize,
    /// Devices served in all.
    pub devices_served: usize,
    /// Devices left out (not on loopback, https, …).
    pub skipped: Vec<Skipped>,
    /// With [`SimOptions::ephemeral`]: each address of the file and the
    /// address actually served in its place. Empty otherwise.
    pub remapped: BTreeMap<SocketAddr, SocketAddr>,
    /// Things the operator should fix in the file: SNMP devices on one
    /// port that the agent cannot tell apart (several without a
    /// `context`, or with the same one); the first of them is served.
    pub warnings: Vec<String>,
}

/// Why the simulator could not start.
#[derive(Debug)]
pub enum SimError {
    /// Addresses that could not be bound (already in use, no permission).
    Bind(Vec<BindFailure>),
    /// The control API address is not a loopback address.
    ControlNotLoopback(SocketAddr),
    /// The scenario's big bang could not be recorded in the audit log.
    Audit(String),
}

/// One address that could not be bound.
#[derive(Debug)]
pub struct BindFailure {
    /// `snmp`, `http`, `tcp` or `control`.
    pub protocol: &'static str,
    /// The address.
    pub addr: SocketAddr,
    /// The devices that needed it (empty for the control API).
    pub devices: Vec<String>,
    /// What the system said.
    pub error: std::io::Error,
}

impl fmt::Display for BindFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot listen on {} ({}",
            self.addr,
            if self.protocol == "snmp" {
                "snmp, udp"
            } else {
                self.protocol
            }
        )?;
        if !self.devices.is_empty() {
            const SHOWN: usize = 3;
            let names: Vec<&str> = self
                .devices
                .iter()
                .take(SHOWN)
                .map(String::as_str)
                .collect();
            write!(f, " for {}", names.join(", "))?;
            if self.devices.len() > SHOWN {
                write!(f, " and {} more", self.devices.len() - SHOWN)?;
            }
        }
        write!(f, "): {}", self.error)?;
        if self.error.kind() == std::io::ErrorKind::AddrInUse {
            write!(
                f,
                "; another program (perhaps another `toc sim`) holds the port: stop it, or change the port in the file"
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::Bind(failures) => {
                const SHOWN: usize = 5;
                for (i, b) in failures.iter().take(SHOWN).enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{b}")?;
                }
                if failures.len() > SHOWN {
                    write!(
                        f,
                        "\nand {} more addresses could not be bound",
                        failures.len() - SHOWN
                    )?;
                }
                Ok(())
            }
            SimError::Audit(why) => write!(
                f,
                "the audit log cannot be written ({why}); the scenario's big bang is not played"
            ),
            SimError::ControlNotLoopback(addr) => write!(
                f,
                "the control API address {addr} is not a loopback address; use 127.0.0.1:PORT so only this machine can inject faults"
            ),
        }
    }
}

impl std::error::Error for SimError {}

/// A running simulator. Shut it down with [`SimHandle::shutdown`];
/// dropping it stops everything too.
#[derive(Debug)]
pub struct SimHandle {
    state: Arc<SimState>,
    served: Arc<Inventory>,
    summary: SimSummary,
    control: SocketAddr,
    started: Instant,
    events: broadcast::Sender<SimEvent>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl SimHandle {
    /// The inventory as served: in ephemeral mode, with the addresses
    /// actually bound (what [`remap`] gives), shared rather than copied.
    pub fn inventory(&self) -> Arc<Inventory> {
        Arc::clone(&self.served)
    }

    /// The shared fault state: set faults on it directly, or read it.
    pub fn state(&self) -> Arc<SimState> {
        Arc::clone(&self.state)
    }

    /// What is being served.
    pub fn summary(&self) -> &SimSummary {
        &self.summary
    }

    /// Where the control API listens.
    pub fn control_addr(&self) -> SocketAddr {
        self.control
    }

    /// When the simulator started (scenario times count from here).
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Faults set and cleared from now on, by the control API and the
    /// scenario.
    pub fn subscribe(&self) -> broadcast::Receiver<SimEvent> {
        self.events.subscribe()
    }

    /// Stops every server and waits until their sockets are closed.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        let tasks = std::mem::take(&mut self.tasks);
        for t in &tasks {
            t.abort();
        }
        for t in tasks {
            let _ = t.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Shared by the servers: the state, the stop signal and the event line.
#[derive(Debug, Clone)]
pub(crate) struct Shared {
    pub(crate) state: Arc<SimState>,
    pub(crate) stop: watch::Receiver<bool>,
    pub(crate) events: broadcast::Sender<SimEvent>,
    pub(crate) started: Instant,
    pub(crate) audit: Option<Arc<dyn SimAudit>>,
}

impl Shared {
    /// Writes the record of a change from `source` about to be made, and
    /// waits until it is durable; `Err` with why when it cannot be (the
    /// change must then not be made). `Ok` at once without an audit log.
    pub(crate) async fn audit_ahead(
        &self,
        source: &str,
        text: &str,
        outcome: &str,
    ) -> Result<(), String> {
        match &self.audit {
            Some(audit) => {
                audit::write_ahead(&**audit, SimChange::new(source, text, true, outcome)).await
            }
            None => Ok(()),
        }
    }

    /// Records, without waiting, that a change recorded ahead was not
    /// made after all, and why.
    pub(crate) fn audit_failed(&self, source: &str, text: &str, why: &str) {
        if let Some(audit) = &self.audit {
            audit::record(&**audit, SimChange::new(source, text, false, why));
        }
    }

    /// Tells subscribers (the `toc sim` terminal) what happened.
    pub(crate) fn emit(&self, text: String) {
        let _ = self.events.send(SimEvent {
            at: self.started.elapsed(),
            text,
        });
    }
}

/// Resolves when the simulator is stopping (or its handle is gone).
pub(crate) async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Which sockets serve which devices.
#[derive(Debug, Default)]
struct Plan {
    snmp: BTreeMap<SocketAddr, Vec<usize>>,
    http: BTreeMap<SocketAddr, Vec<(String, usize)>>,
    tcp: BTreeMap<SocketAddr, Vec<usize>>,
    skipped: Vec<Skipped>,
}

/// A loopback address for `host`, or why it is not one.
fn loopback(host: &str, port: u16) -> Result<SocketAddr, String> {
    if port == 0 {
        return Err("port 0 is not a fixed address".to_owned());
    }
    let host = host.trim_matches(['[', ']']);
    let ip = if host.eq_ignore_ascii_case("localhost") {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        host.parse::<IpAddr>()
            .map_err(|_| format!("{host} is not a loopback address"))?
    };
    if ip.is_loopback() {
        Ok(SocketAddr::new(ip, port))
    } else {
        Err(format!("{ip} is not a loopback address"))
    }
}

fn plan(inventory: &Inventory) -> Plan {
    let mut plan = Plan::default();
    let mut urls: BTreeMap<(SocketAddr, String), &str> = BTreeMap::new();
    for (i, d) in inventory.devices.iter().enumerate() {
        let placed = match &d.probe {
            ProbeTarget::Snmp { host, port } => loopback(host, *port).map(|a| {
                plan.snmp.entry(a).or_default().push(i);
            }),
            ProbeTarget::Tcp { host, port } => loopback(host, *port).map(|a| {
                plan.tcp.entry(a).or_default().push(i);
            }),
            ProbeTarget::Http { url } => http_target(url).and_then(|(addr, path)| {
                if let Some(first) = urls.get(&(addr, path.clone())) {
                    return Err(format!("same health URL as {first}"));
                }
                urls.insert((addr, path.clone()), &d.id);
                plan.http.entry(addr).or_default().push((path, i));
                Ok(())
            }),
        };
        if let Err(reason) = placed {
            plan.skipped.push(Skipped {
                device: d.id.clone(),
                reason,
            });
        }
    }
    plan
}

fn http_target(url: &str) -> Result<(SocketAddr, String), String> {
    let u = url::Url::parse(url).map_err(|e| format!("bad URL {url}: {e}"))?;
    if u.scheme() != "http" {
        return Err(format!(
            "{} health endpoints are not simulated (http only)",
            u.scheme()
        ));
    }
    let host = u.host_str().unwrap_or_default();
    let port = u.port_or_known_default().unwrap_or(80);
    let addr = loopback(host, port)?;
    Ok((addr, u.path().to_owned()))
}

/// The sockets of a plan, all bound.
struct Bound {
    snmp: Vec<UdpSocket>,
    http: Vec<(TcpListener, Vec<(String, usize)>)>,
    tcp: Vec<(SocketAddr, TcpListener, Vec<usize>)>,
    control: TcpListener,
    /// Address in the file -> address bound (ephemeral mode only).
    remapped: BTreeMap<SocketAddr, SocketAddr>,
}

/// How often an ephemeral address is tried before giving up: the port the
/// system gives for TCP may be taken for UDP.
const EPHEMERAL_ATTEMPTS: usize = 8;

/// The sockets of one address of the file.
#[derive(Default)]
struct AddrSockets {
    snmp: Option<UdpSocket>,
    http: Option<TcpListener>,
    tcp: Option<TcpListener>,
}

/// Binds what one address needs on `ip:port`. With port 0, the first
/// socket takes a free port from the system and the others share it, so
/// that an SNMP agent and a TCP listener on the same port in the file stay
/// on one port. Returns the address bound, or every bind that failed.
async fn bind_at(
    ip: IpAddr,
    port: u16,
    (snmp, http, tcp): (bool, bool, bool),
) -> Result<(SocketAddr, AddrSockets), Vec<(&'static str, io::Error)>> {
    fn with_port<T>(
        bound: io::Result<T>,
        local: fn(&T) -> io::Result<SocketAddr>,
    ) -> io::Result<(u16, T)> {
        let s = bound?;
        Ok((local(&s)?.port(), s))
    }
    let mut port = port;
    let mut sockets = AddrSockets::default();
    let mut errors = Vec::new();
    if http {
        match with_port(
            TcpListener::bind(SocketAddr::new(ip, port)).await,
            TcpListener::local_addr,
        ) {
            Ok((p, l)) => (port, sockets.http) = (p, Some(l)),
            Err(e) => errors.push(("http", e)),
        }
    }
    if tcp {
        match with_port(
            tcp::bind_open(SocketAddr::new(ip, port)),
            TcpListener::local_addr,
        ) {
            Ok((p, l)) => (port, sockets.tcp) = (p, Some(l)),
            Err(e) => errors.push(("tcp", e)),
        }
    }
    if snmp {
        match with_port(
            UdpSocket::bind(SocketAddr::new(ip, port)).await,
            UdpSocket::local_addr,
        ) {
            Ok((p, s)) => (port, sockets.snmp) = (p, Some(s)),
            Err(e) => errors.push(("snmp", e)),
        }
    }
    if errors.is_empty() {
        Ok((SocketAddr::new(ip, port), sockets))
    } else {
        Err(errors)
    }
}

/// Binds every address of `plan` (on free ports instead when `ephemeral`)
/// and the control API, or names every address that could not be bound.
async fn bind(
    plan: &Plan,
    inventory: &Inventory,
    control: SocketAddr,
    ephemeral: bool,
) -> Result<Bound, SimError> {
    let names = |idx: &mut dyn Iterator<Item = usize>| -> Vec<String> {
        idx.filter_map(|i| inventory.devices.get(i).map(|d| d.id.clone()))
            .collect()
    };
    let mut failures = Vec::new();
    let mut snmp_sockets = Vec::new();
    let mut http_listeners = Vec::new();
    let mut tcp_listeners = Vec::new();
    let mut remapped = BTreeMap::new();
    let addrs: BTreeSet<SocketAddr> = plan
        .snmp
        .keys()
        .chain(plan.http.keys())
        .chain(plan.tcp.keys())
        .copied()
        .collect();
    for addr in addrs {
        let (snmp, http, tcp) = (
            plan.snmp.get(&addr),
            plan.http.get(&addr),
            plan.tcp.get(&addr),
        );
        let need = (snmp.is_some(), http.is_some(), tcp.is_some());
        let (port, attempts) = if ephemeral {
            (0, EPHEMERAL_ATTEMPTS)
        } else {
            (addr.port(), 1)
        };
        let mut result = bind_at(addr.ip(), port, need).await;
        for _ in 1..attempts {
            if result.is_ok() {
                break;
            }
            result = bind_at(addr.ip(), port, need).await;
        }
        match result {
            Ok((at, sockets)) => {
                if ephemeral {
                    remapped.insert(addr, at);
                }
                snmp_sockets.extend(sockets.snmp);
                if let (Some(l), Some(devices)) = (sockets.http, http) {
                    http_listeners.push((l, devices.clone()));
                }
                if let (Some(l), Some(devices)) = (sockets.tcp, tcp) {
                    tcp_listeners.push((at, l, devices.clone()));
                }
            }
            Err(errors) => {
                for (protocol, error) in errors {
                    let devices = match protocol {
                        "snmp" => names(&mut snmp.into_iter().flatten().copied()),
                        "http" => names(&mut http.into_iter().flatten().map(|(_, i)| *i)),
                        _ => names(&mut tcp.into_iter().flatten().copied()),
                    };
                    failures.push(BindFailure {
                        protocol,
                        addr,
                        devices,
                        error,
                    });
                }
            }
        }
    }
    let control = match TcpListener::bind(control).await {
        Ok(l) => Some(l),
        Err(error) => {
            failures.push(BindFailure {
                protocol: "control",
                addr: control,
                devices: Vec::new(),
                error,
            });
            None
        }
    };
    match control {
        Some(control) if failures.is_empty() => Ok(Bound {
            snmp: snmp_sockets,
            http: http_listeners,
            tcp: tcp_listeners,
            control,
            remapped,
        }),
        _ => Err(SimError::Bind(failures)),
    }
}

/// A copy of `inventory` whose devices point at the addresses the
/// simulator really serves: `map` is [`SimSummary::remapped`] (address in
/// the file -> address bound). SNMP and TCP targets get the bound port,
/// health URLs the bound port with host, path and query kept. Devices the
/// simulator does not serve, and devices whose address is not in `map`,
/// keep their targets.
pub fn remap(inventory: &Inventory, map: &BTreeMap<SocketAddr, SocketAddr>) -> Inventory {
    let mut out = inventory.clone();
    if map.is_empty() {
        return out;
    }
    let skipped: HashSet<String> = plan(inventory)
        .skipped
        .into_iter()
        .map(|s| s.device)
        .collect();
    for d in &mut out.devices {
        if skipped.contains(&d.id) {
            continue;
        }
        match &mut d.probe {
            ProbeTarget::Snmp { host, port } | ProbeTarget::Tcp { host, port } => {
                if let Some(to) = loopback(host, *port).ok().and_then(|a| map.get(&a)) {
                    *port = to.port();
                }
            }
            ProbeTarget::Http { url } => {
                let to = http_target(url).ok().and_then(|(a, _)| map.get(&a));
                if let (Some(to), Ok(mut u)) = (to, url::Url::parse(url))
                    && u.set_port(Some(to.port())).is_ok()
                {
                    *url = u.to_string();
                }
            }
        }
    }
    out
}

/// Silences every device until a scenario's big bang, once that is
/// recorded in the audit log (when there is one).
async fn big_bang(
    options: &SimOptions,
    state: &SimState,
    started: Instant,
) -> Result<(), SimError> {
    let Some(scenario) = &options.scenario else {
        return Ok(());
    };
    let Some(at) = scenario.big_bang else {
        return Ok(());
    };
    if let Some(audit) = &options.audit {
        let source = format!("scenario {}", scenario.file);
        let planned = format!(
            "every device silent until {}",
            humantime::format_duration(at)
        );
        audit::write_ahead(
            &**audit,
            SimChange::new(&source, "big bang", true, &planned),
        )
        .await
        .map_err(SimError::Audit)?;
    }
    // `at` is at most 30 days (read by the scenario); checked anyway:
    // past the clock's end is the same as until cleared.
    state.silence_all(started.checked_add(at));
    Ok(())
}

/// Starts the simulator for every loopback device of `inventory`.
///
/// Every address is bound before anything is served, so a busy port fails
/// the start cleanly, naming the address and the devices that need it.
pub async fn start(inventory: Arc<Inventory>, options: SimOptions) -> Result<SimHandle, SimError> {
    if !options.control.ip().is_loopback() {
        return Err(SimError::ControlNotLoopback(options.control));
    }
    let started = Instant::now();
    let state = Arc::new(SimState::new(&inventory));
    big_bang(&options, &state, started).await?;
    let plan = plan(&inventory);
    let bound = bind(&plan, &inventory, options.control, options.ephemeral).await?;
    let control_addr = bound.control.local_addr().unwrap_or(options.control);
    // The SNMP agents pick their devices by port: in ephemeral mode they
    // must see the ports actually bound.
    let served = if bound.remapped.is_empty() {
        Arc::clone(&inventory)
    } else {
        Arc::new(remap(&inventory, &bound.remapped))
    };

    let (stop_tx, stop) = watch::channel(false);
    let (events, _) = broadcast::channel(1024);
    let shared = Shared {
        state: Arc::clone(&state),
        stop,
        events: events.clone(),
        started,
        audit: options.audit.clone(),
    };
    let warnings: Vec<String> = plan
        .snmp
        .iter()
        .flat_map(|(addr, devices)| agent::context_warnings(&inventory, devices, addr.port()))
        .collect();
    for w in &warnings {
        tracing::warn!("simulator: {w}");
    }
    let summary = SimSummary {
        snmp_ports: bound.snmp.len(),
        snmp_devices: plan.snmp.values().map(Vec::len).sum(),
        http_ports: bound.http.len(),
        http_devices: plan.http.values().map(Vec::len).sum(),
        tcp_listeners: bound.tcp.len(),
        tcp_devices: plan.tcp.values().map(Vec::len).sum(),
        devices_served: inventory.devices.len() - plan.skipped.len(),
        skipped: plan.skipped,
        remapped: bound.remapped,
        warnings,
    };

    let mut tasks = Vec::new();
    for socket in bound.snmp {
        let (inv, st) = (Arc::clone(&served), Arc::clone(&state));
        tasks.push(tokio::spawn(async move {
            if let Err(e) = agent::serve(socket, inv, st).await {
                tracing::warn!("snmp agent stopped: {e}");
            }
        }));
    }
    for (listener, devices) in bound.http {
        tasks.push(tokio::spawn(http::serve(
            listener,
            Arc::clone(&served),
            devices,
            shared.clone(),
        )));
    }
    for (addr, listener, devices) in bound.tcp {
        tasks.push(tokio::spawn(tcp::serve(
            addr,
            listener,
            devices,
            shared.clone(),
        )));
    }
    tasks.push(tokio::spawn(control::serve(bound.control, shared.clone())));
    if let Some(scenario) = options.scenario {
        tasks.push(tokio::spawn(scenario::run(scenario, shared.clone())));
    }
    Ok(SimHandle {
        state,
        served,
        summary,
        control: control_addr,
        started,
        events,
        stop: stop_tx,
        tasks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_only() {
        assert!(loopback("127.0.0.1", 161).is_ok());
        assert!(loopback("localhost", 161).is_ok());
        assert!(loopback("::1", 161).is_ok());
        assert!(loopback("[::1]", 161).is_ok());
        assert!(loopback("10.1.2.3", 161).is_err());
        assert!(loopback("switch.example", 161).is_err());
        assert!(loopback("127.0.0.1", 0).is_err());
    }

    #[test]
    fn http_targets_keep_the_path() {
        let (addr, path) = http_target("http://127.0.0.1:21000/health/STA-ovr-a").expect("ok");
        assert_eq!(addr.port(), 21000);
        assert_eq!(path, "/health/STA-ovr-a");
        assert!(http_target("https://127.0.0.1/health").is_err());
        assert!(http_target("http://10.0.0.1/health").is_err());
    }
}
