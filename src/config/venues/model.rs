//! The validated inventory: what the rest of the program sees of
//! `venues.toml` once every check has passed. No spans, no serde; ids are
//! resolved to indices.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::model::topology::{
    DeviceIdx, DeviceNode, GroupIdx, GroupNode, Topology, VenueIdx, VenueNode,
};

/// A validated `venues.toml`.
#[derive(Debug, Clone)]
pub struct Inventory {
    /// The file it was read from.
    pub source: PathBuf,
    /// Event-wide settings.
    pub event: Event,
    /// SNMP credential profiles by name.
    pub profiles: BTreeMap<String, Profile>,
    /// Venues in file order.
    pub venues: Vec<Venue>,
    /// All devices, venue by venue in file order; a device's index is its
    /// [`DeviceIdx`].
    pub devices: Vec<Device>,
    /// All redundancy groups; index = [`GroupIdx`].
    pub groups: Vec<Group>,
    /// All result feeds.
    pub feeds: Vec<Feed>,
    /// Maintenance windows of `[[maintenance]]`, in file order.
    pub maintenance: Vec<MaintenanceWindow>,
    /// How incidents resolve, reopen, escalate and notify (`[incidents]`).
    pub incidents: IncidentPolicy,
    /// The embedded result relay (`[relay]`), when the file has one.
    pub relay: Option<Relay>,
    /// Where the playbooks are and what they may do (`[playbooks]`).
    pub playbooks: PlaybookPolicy,
    /// The API of `toc serve` (`[api]`; loopback on the default port when
    /// the file has none).
    pub api: Api,
    /// Device id -> index, for lookups by id.
    pub(super) device_index: HashMap<String, DeviceIdx>,
}

/// Event-wide settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Shown in the console's title bar.
    pub name: String,
    /// Default interval between checks of a device.
    pub poll_interval: Duration,
    /// Default time one probe attempt may take.
    pub timeout: Duration,
    /// Extra attempts inside one check.
    pub retries: u32,
    /// Consecutive failed checks before a failure is hard.
    pub max_attempts: u32,
    /// Flapping starts above this percent state change.
    pub flap_high: f64,
    /// Flapping stops below this percent state change.
    pub flap_low: f64,
    /// Where the store, journals and logs live (resolved against the
    /// file's folder).
    pub data_dir: PathBuf,
    /// How `toc.log` and `audit.log` rotate.
    pub logs: LogRotation,
    /// End-to-end result latency objective per consumer class.
    pub slo: BTreeMap<String, Duration>,
}

/// What a maintenance window covers: a device, a redundancy group or a
/// whole venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaintenanceScope {
    /// One device.
    Device(DeviceIdx),
    /// A redundancy group.
    Group(GroupIdx),
    /// A venue and everything in it.
    Venue(VenueIdx),
}

/// A `[[maintenance]]` window of the file: while it is in force its target
/// shows MAINTENANCE and opens no incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenanceWindow {
    /// The target as the file names it: a device id, group id or venue
    /// code.
    pub target: String,
    /// What the target is.
    pub scope: MaintenanceScope,
    /// When it starts.
    pub start: SystemTime,
    /// When it ends (after `start`).
    pub end: SystemTime,
    /// Why, as the file says.
    pub reason: String,
}

impl MaintenanceWindow {
    /// Whether the window is in force at `at`: from its start, up to but
    /// not including its end.
    pub fn covers(&self, at: SystemTime) -> bool {
        self.start <= at && at < self.end
    }
}

/// How long an incident may stay unacknowledged, by severity, before it
/// notifies again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckTimeouts {
    /// For a DOWN incident.
    pub down: Duration,
    /// For a DEGRADED incident.
    pub degraded: Duration,
    /// For an UNKNOWN incident.
    pub unknown: Duration,
}

/// `[incidents]`: how incidents resolve, reopen, escalate and notify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentPolicy {
    /// The condition must stay clear this long before an incident
    /// resolves by itself.
    pub resolve_hold: Duration,
    /// The same key failing again within this long after it resolved
    /// reopens the incident instead of opening a new one.
    pub reopen_window: Duration,
    /// Unacknowledged this long: notify again.
    pub ack_timeout: AckTimeouts,
    /// A program run with the incident as JSON on stdin (argv, no shell);
    /// empty: none.
    pub notify_command: Vec<String>,
    /// How long the notify command may run before it is killed.
    pub notify_timeout: Duration,
    /// Ring the terminal bell on a new DOWN incident.
    pub bell: bool,
}

impl Default for IncidentPolicy {
    /// Resolve after 2m clear, reopen within 15m, notify again after 5m
    /// (down), 15m (degraded) or 30m (unknown); no notify command (10s
    /// timeout when there is one); no bell.
    fn default() -> Self {
        IncidentPolicy {
            resolve_hold: Duration::from_secs(120),
            reopen_window: Duration::from_secs(15 * 60),
            ack_timeout: AckTimeouts {
                down: Duration::from_secs(5 * 60),
                degraded: Duration::from_secs(15 * 60),
                unknown: Duration::from_secs(30 * 60),
            },
            notify_command: Vec::new(),
            notify_timeout: Duration::from_secs(10),
            bell: false,
        }
    }
}

/// When the log files rotate and how many old ones are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogRotation {
    /// `toc.log` rotates past this size.
    pub log_max_bytes: u64,
    /// Old `toc.log` files kept.
    pub log_keep: usize,
    /// `audit.log` rotates past this size.
    pub audit_max_bytes: u64,
    /// Old `audit.log` files kept.
    pub audit_keep: usize,
}

impl Default for LogRotation {
    /// `toc.log` at 16 MiB keeping 5, `audit.log` at 64 MiB keeping 20.
    fn default() -> Self {
        LogRotation {
            log_max_bytes: 16 << 20,
            log_keep: 5,
            audit_max_bytes: 64 << 20,
            audit_keep: 20,
        }
    }
}

/// A secret value: written in the file, or read from an environment
/// variable at run time. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// Written in the file (only v2c communities may be).
    Literal(String),
    /// Read from this environment variable.
    Env(String),
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Literal(_) => f.write_str("Secret(<redacted>)"),
            Secret::Env(var) => write!(f, "Secret(env {var})"),
        }
    }
}

impl Secret {
    /// The secret's value; `None` when its environment variable is unset
    /// or empty.
    pub fn resolve(&self) -> Option<String> {
        match self {
            Secret::Literal(s) => Some(s.clone()),
            // An empty variable is as good as none: `TOC_SNMP_PRIV=` is
            // no passphrase, not an empty one.
            Secret::Env(var) => std::env::var(var).ok().filter(|v| !v.is_empty()),
        }
    }
}

/// `SNMPv3` authentication protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthProtocol {
    /// `HMAC-SHA-96`.
    Sha1,
    /// `HMAC-SHA-256` (`usmHMAC192SHA256AuthProtocol`).
    Sha256,
}

/// `SNMPv3` privacy protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrivProtocol {
    /// `AES-128-CFB` (`aes128`).
    Aes128,
    /// `AES-192-CFB`, key extended as net-snmp's `AES-192` (`aes192`).
    Aes192,
    /// `AES-192-CFB`, key extended as Cisco and net-snmp's `AES-192-C`
    /// (`aes192c`).
    Aes192C,
    /// `AES-256-CFB`, key extended as net-snmp's `AES-256` (`aes256`).
    Aes256,
    /// `AES-256-CFB`, key extended as Cisco and net-snmp's `AES-256-C`
    /// (`aes256c`).
    Aes256C,
}

/// The shortest `SNMPv3` passphrase RFC 3414 (2.6) allows.
pub const MIN_PASSPHRASE: usize = 8;

impl PrivProtocol {
    /// A privacy protocol by one of its names, case ignored: toc's
    /// (`aes256c`) or net-snmp's (`AES-256-C`).
    pub fn from_name(name: &str) -> Option<PrivProtocol> {
        Some(match name.to_ascii_lowercase().as_str() {
            "aes" | "aes128" | "aes-128" => PrivProtocol::Aes128,
            "aes192" | "aes-192" => PrivProtocol::Aes192,
            "aes192c" | "aes-192-c" => PrivProtocol::Aes192C,
            "aes256" | "aes-256" => PrivProtocol::Aes256,
            "aes256c" | "aes-256-c" => PrivProtocol::Aes256C,
            _ => return None,
        })
    }
}

/// An SNMP credential profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Profile {
    /// `SNMPv2c` with a community.
    V2c {
        /// The community string.
        community: Secret,
    },
    /// `SNMPv3` USM, `authNoPriv` or `authPriv`.
    V3 {
        /// USM user name.
        user: String,
        /// Authentication protocol.
        auth: AuthProtocol,
        /// Authentication passphrase.
        auth_passphrase: Secret,
        /// Privacy protocol and passphrase (authPriv), or none (authNoPriv).
        privacy: Option<(PrivProtocol, Secret)>,
    },
}

/// A venue of the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Venue {
    /// Short code shown on the wall (`STA`).
    pub code: String,
    /// Full name (`Stade de France`).
    pub name: String,
    /// City.
    pub city: String,
    /// Sports held there.
    pub sports: Vec<String>,
    /// Its devices (indices into [`Inventory::devices`]).
    pub devices: Vec<DeviceIdx>,
    /// Its redundancy groups.
    pub groups: Vec<GroupIdx>,
    /// Its result feeds (indices into [`Inventory::feeds`]).
    pub feeds: Vec<usize>,
}

/// How a device is probed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeTarget {
    /// SNMP over UDP.
    Snmp {
        /// Host name or address.
        host: String,
        /// UDP port (161 by default).
        port: u16,
    },
    /// HTTP(S) health endpoint.
    Http {
        /// The full URL.
        url: String,
    },
    /// TCP connect.
    Tcp {
        /// Host name or address.
        host: String,
        /// TCP port.
        port: u16,
    },
}

impl ProbeTarget {
    /// The target as a URL, for people: `snmp://10.1.2.3:161`, an IPv6
    /// address in brackets (`snmp://[::1]:25500`), an HTTP URL as given.
    pub fn url(&self) -> String {
        /// A host for a URL: an IPv6 address in brackets.
        fn host_part(host: &str) -> String {
            if host.contains(':') {
                format!("[{host}]")
            } else {
                host.to_owned()
            }
        }
        match self {
            ProbeTarget::Snmp { host, port } => format!("snmp://{}:{port}", host_part(host)),
            ProbeTarget::Http { url } => url.clone(),
            ProbeTarget::Tcp { host, port } => format!("tcp://{}:{port}", host_part(host)),
        }
    }

    /// `snmp`, `http` or `tcp` (https counts as http).
    pub fn kind(&self) -> &'static str {
        match self {
            ProbeTarget::Snmp { .. } => "snmp",
            ProbeTarget::Http { .. } => "http",
            ProbeTarget::Tcp { .. } => "tcp",
        }
    }
}

/// What to check on a device beyond reachability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checks {
    /// SNMP: interfaces to watch (empty = all).
    pub interfaces: Vec<String>,
    /// SNMP: CPU load above this percent is DEGRADED.
    pub cpu_threshold: Option<u8>,
    /// HTTP: the status that means healthy.
    pub expect_status: Option<u16>,
    /// HTTP: text the response body must contain.
    pub body_contains: Option<String>,
    /// HTTP: a field of the JSON body and the value it must have.
    pub json: Option<JsonCheck>,
    /// HTTP: an answer slower than this is DEGRADED (always below the
    /// device's timeout).
    pub latency_warn: Option<Duration>,
    /// HTTPS: whether the server's certificate must be trusted. `false`
    /// accepts self-signed certificates of venue equipment.
    pub tls_verify: bool,
}

impl Default for Checks {
    /// Nothing beyond reachability; certificates are verified.
    fn default() -> Self {
        Self {
            interfaces: Vec::new(),
            cpu_threshold: None,
            expect_status: None,
            body_contains: None,
            json: None,
            latency_warn: None,
            tls_verify: true,
        }
    }
}

/// A field of a JSON health answer and the value it must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonCheck {
    /// Dotted path from the top object (`status`, `checks.db`); a numeric
    /// part indexes an array (`members.0.state`).
    pub field: String,
    /// The value, rendered as text, that means healthy (`ok`, `true`, `3`).
    pub expect: String,
}

/// A device of a venue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Unique id (`STA-core-a`).
    pub id: String,
    /// The venue it belongs to.
    pub venue: VenueIdx,
    /// Role (`core-switch`).
    pub role: String,
    /// How it is probed.
    pub probe: ProbeTarget,
    /// Free text.
    pub description: Option<String>,
    /// SNMP credential profile name.
    pub profile: Option<String>,
    /// SNMP context (v3 contextName; v2c `community@context`).
    pub context: Option<String>,
    /// Redundancy group.
    pub group: Option<GroupIdx>,
    /// Devices it is reached through.
    pub parents: Vec<DeviceIdx>,
    /// Whether its loss takes its venue down (else degraded).
    pub critical: bool,
    /// What to check.
    pub checks: Checks,
    /// Interval between checks.
    pub poll_interval: Duration,
    /// Time one attempt may take.
    pub timeout: Duration,
}

/// A redundancy group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Unique id (`STA-core`).
    pub id: String,
    /// The venue it belongs to.
    pub venue: VenueIdx,
    /// Members that must be up.
    pub min_up: usize,
    /// The devices that name it.
    pub members: Vec<DeviceIdx>,
    /// Free text.
    pub description: Option<String>,
}

/// A result feed from a venue's results system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    /// Unique id (`STA-results`).
    pub id: String,
    /// The venue it belongs to.
    pub venue: VenueIdx,
    /// Primary source device.
    pub primary: DeviceIdx,
    /// Backup source device.
    pub backup: DeviceIdx,
    /// Consumer classes (keys of the event's SLO table).
    pub consumers: Vec<String>,
    /// Silence after which the feed is stale.
    pub stale_after: Duration,
}

/// Counts printed by `toc check`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    /// Venues.
    pub venues: usize,
    /// Devices in all.
    pub devices: usize,
    /// SNMP devices.
    pub snmp: usize,
    /// HTTP(S) devices.
    pub http: usize,
    /// TCP devices.
    pub tcp: usize,
    /// Critical devices.
    pub critical: usize,
    /// Redundancy groups.
    pub groups: usize,
    /// Result feeds.
    pub feeds: usize,
    /// Credential profiles.
    pub profiles: usize,
}

impl Inventory {
    /// Counts for the summary.
    pub fn summary(&self) -> Summary {
        let count = |kind: &str| {
            self.devices
                .iter()
                .filter(|d| d.probe.kind() == kind)
                .count()
        };
        Summary {
            venues: self.venues.len(),
            devices: self.devices.len(),
            snmp: count("snmp"),
            http: count("http"),
            tcp: count("tcp"),
            critical: self.devices.iter().filter(|d| d.critical).count(),
            groups: self.groups.len(),
            feeds: self.feeds.len(),
            profiles: self.profiles.len(),
        }
    }

    /// The pure topology the status model evaluates.
    pub fn topology(&self) -> Topology {
        Topology {
            devices: self
                .devices
                .iter()
                .map(|d| DeviceNode {
                    venue: d.venue,
                    group: d.group,
                    parents: d.parents.clone(),
                    critical: d.critical,
                })
                .collect(),
            groups: self
                .groups
                .iter()
                .map(|g| GroupNode {
                    venue: g.venue,
                    min_up: g.min_up,
                    members: g.members.clone(),
                })
                .collect(),
            venues: self
                .venues
                .iter()
                .map(|v| VenueNode {
                    devices: v.devices.clone(),
                    groups: v.groups.clone(),
                })
                .collect(),
        }
    }

    /// A device by id.
    pub fn device(&self, id: &str) -> Option<(DeviceIdx, &Device)> {
        let idx = *self.device_index.get(id)?;
        self.devices.get(idx.0).map(|d| (idx, d))
    }

    /// A device by id as a person types it, the way the console matches
    /// ids ([`crate::model::find_id`]): exactly, else ignoring case.
    pub fn find_device(&self, id: &str) -> Option<(DeviceIdx, &Device)> {
        if let Some(found) = self.device(id) {
            return Some(found);
        }
        let i = crate::model::find_id(self.devices.iter().map(|d| d.id.as_str()), id)?;
        self.devices.get(i).map(|d| (DeviceIdx(i), d))
    }
}

/// `[playbooks]`: where the incident playbooks are and what they may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaybookPolicy {
    /// The playbook folder (`dir`, resolved against the folder of
    /// venues.toml; `playbooks` beside it by default).
    pub dir: PathBuf,
    /// Whether playbooks may have `shell` steps (`shell`, off by default).
    pub shell: bool,
}

/// `[relay]`: the embedded result relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relay {
    /// Where `POST /odf` listens (loopback by default; port 0 = any free
    /// port, reported at start).
    pub listen: std::net::SocketAddr,
    /// The largest message taken, after gzip inflation.
    pub max_message: u64,
    /// Whether a message is on disk (fdatasync) before it is acknowledged.
    pub fsync: bool,
    /// The size of one journal segment file.
    pub segment_size: u64,
    /// `[[relay.sources]]`, in file order.
    pub sources: Vec<RelaySource>,
    /// `[[relay.sinks]]`, in file order.
    pub sinks: Vec<RelaySink>,
    /// `[[relay.routes]]`, in file order.
    pub routes: Vec<RelayRoute>,
}

/// A `[[relay.sources]]` table: a results system that posts ODF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelaySource {
    /// Unique id: a device id of the inventory (a feed's primary or backup
    /// results server) or a free name.
    pub id: String,
    /// The environment variable holding its bearer token.
    pub token_env: String,
    /// The device it is, when its id is a device id.
    pub device: Option<DeviceIdx>,
    /// The feed (index into [`Inventory::feeds`]) it is the primary or
    /// backup source of.
    pub feed: Option<usize>,
}

/// Where a sink delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkKind {
    /// HTTP POST of each message to this URL.
    Http {
        /// `http://` or `https://` URL.
        url: String,
    },
    /// Length-framed messages to every subscriber connected here.
    Tcp {
        /// Address the sink listens on for subscribers.
        listen: std::net::SocketAddr,
    },
    /// One file per message in this folder (resolved against the file's
    /// folder).
    File {
        /// The archive folder.
        dir: PathBuf,
    },
}

impl SinkKind {
    /// `http`, `tcp` or `file`.
    pub const fn name(&self) -> &'static str {
        match self {
            SinkKind::Http { .. } => "http",
            SinkKind::Tcp { .. } => "tcp",
            SinkKind::File { .. } => "file",
        }
    }
}

/// A `[[relay.sinks]]` table: a consumer the relay delivers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelaySink {
    /// Unique id.
    pub id: String,
    /// Where it delivers.
    pub kind: SinkKind,
    /// Its consumer class (a key of `[event.slo]`).
    pub consumer: String,
    /// That class's latency objective.
    pub slo: Duration,
}

/// A `[[relay.routes]]` table: messages it matches go to its sinks. A
/// message matched by no route goes nowhere (and is still journaled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayRoute {
    /// Its id (`route-N`, 1-based, when the file gives none).
    pub id: String,
    /// Sink indices (into [`Relay::sinks`]).
    pub sinks: Vec<usize>,
    /// The first three letters of `DocumentCode` (`ATH`), if set.
    pub discipline: Option<String>,
    /// `DocumentType` (`DT_RESULT`), if set.
    pub document_type: Option<String>,
    /// A feed id, if set (messages of that feed's sources).
    pub feed: Option<String>,
    /// A source id, if set.
    pub source: Option<String>,
}

impl Relay {
    /// One line for `toc check`: listen address, counts, fsync.
    pub fn summary(&self) -> String {
        let plural = |n: usize, one: &str| {
            if n == 1 {
                format!("1 {one}")
            } else {
                format!("{n} {one}s")
            }
        };
        format!(
            "relay: listens on {}, {}, {}, {}, fsync {}",
            self.listen,
            plural(self.sources.len(), "source"),
            plural(self.sinks.len(), "sink"),
            plural(self.routes.len(), "route"),
            if self.fsync {
                "on"
            } else {
                "off (a crash may lose acknowledged messages)"
            },
        )
    }

    /// Each source's token, read through `env` (the process environment
    /// in `toc serve` and `toc run`: `|k| std::env::var(k).ok()`). An
    /// empty value counts as missing. The error names every missing
    /// variable, in file order, so a start can refuse once and say all.
    pub fn tokens(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Vec<(String, String)>, Vec<String>> {
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for s in &self.sources {
            match env(&s.token_env) {
                Some(t) if !t.is_empty() => found.push((s.id.clone(), t)),
                _ => missing.push(s.token_env.clone()),
            }
        }
        if missing.is_empty() {
            Ok(found)
        } else {
            Err(missing)
        }
    }

    /// A source by id.
    pub fn source(&self, id: &str) -> Option<&RelaySource> {
        self.sources.iter().find(|s| s.id == id)
    }

    /// A sink's index by id.
    pub fn sink_index(&self, id: &str) -> Option<usize> {
        self.sinks.iter().position(|s| s.id == id)
    }
}

/// `[api]`: the API of `toc serve`, `toc demo` and `toc run`
/// (docs/api.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Api {
    /// Where HTTP and the WebSocket listen (`127.0.0.1:7470` by default;
    /// port 0 = any free port, reported at start).
    pub listen: std::net::SocketAddr,
    /// A Unix socket to listen on too (resolved against the file's
    /// folder), where the OS user of the peer is who it is.
    pub socket: Option<PathBuf>,
    /// TLS certificate and key (PEM files), when `listen` speaks TLS.
    pub tls: Option<ApiTls>,
    /// Most consoles (their WebSocket connections) at once.
    pub max_consoles: usize,
    /// Most snapshot updates a second sent to each console (1 to 20).
    pub updates_per_second: u32,
}

/// The TLS files of `[api]` (both or neither).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTls {
    /// The certificate chain (PEM).
    pub cert: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
}

impl Api {
    /// The default `listen`.
    pub const DEFAULT_LISTEN: std::net::SocketAddr = std::net::SocketAddr::V4(
        std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, 7470),
    );
    /// The default `max_consoles`.
    pub const DEFAULT_MAX_CONSOLES: usize = 200;
    /// The default `updates_per_second`.
    pub const DEFAULT_UPDATES_PER_SECOND: u32 = 4;

    /// One line for `toc check`.
    pub fn summary(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let socket = self
            .socket
            .as_ref()
            .map(|p| format!(" and unix:{}", p.display()))
            .unwrap_or_default();
        format!(
            "api: listens on {scheme}://{}{socket}, at most {} consoles, {} updates a second",
            self.listen, self.max_consoles, self.updates_per_second
        )
    }
}

impl Default for Api {
    /// Loopback on the default port, no socket, no TLS.
    fn default() -> Self {
        Api {
            listen: Self::DEFAULT_LISTEN,
            socket: None,
            tls: None,
            max_consoles: Self::DEFAULT_MAX_CONSOLES,
            updates_per_second: Self::DEFAULT_UPDATES_PER_SECOND,
        }
    }
}
