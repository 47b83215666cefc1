//! `venues.toml`: the inventory a TOC watches. Parsing keeps every span so
//! that each error names `file:line:column`; validation reports every
//! error of a file in one run, not only the first.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::{DeserializeOwned, IntoDeserializer};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::diag::{Diagnostic, Severity, SourceFile};
use super::value::{Dur, OneOrMany, Percent, is_kebab};
use crate::model::topology::{
    DeviceIdx, DeviceNode, GroupIdx, GroupNode, Topology, VenueIdx, VenueNode,
};

// ---------------------------------------------------------------------------
// The validated inventory
// ---------------------------------------------------------------------------

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
    /// Device id -> index, for lookups by id.
    device_index: HashMap<String, DeviceIdx>,
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
    /// End-to-end result latency objective per consumer class.
    pub slo: BTreeMap<String, Duration>,
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
    /// The secret's value; `None` when its environment variable is unset.
    pub fn resolve(&self) -> Option<String> {
        match self {
            Secret::Literal(s) => Some(s.clone()),
            Secret::Env(var) => std::env::var(var).ok(),
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
    /// `AES-128-CFB`.
    Aes128,
    /// `AES-256-CFB`.
    Aes256,
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
    /// Reads and validates a file. Errors come back all at once, sorted by
    /// position; warnings come back with the inventory.
    pub fn load(path: &Path) -> Result<(Inventory, Vec<Diagnostic>), Vec<Diagnostic>> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![Diagnostic {
                severity: Severity::Error,
                file: path.to_path_buf(),
                line: 1,
                column: 1,
                message: format!("cannot read the file: {e}"),
                help: Some("check the path and its permissions".to_owned()),
                source_line: None,
            }]
        })?;
        Self::parse(&SourceFile::new(path, text))
    }

    /// Validates a file's text.
    pub fn parse(src: &SourceFile) -> Result<(Inventory, Vec<Diagnostic>), Vec<Diagnostic>> {
        let mut cx = Cx {
            src,
            diags: Vec::new(),
            broken: HashSet::new(),
        };
        let raw = cx.read_document();
        let inv = raw.and_then(|raw| cx.validate(raw));
        let mut diags = cx.diags;
        diags.sort_by_key(|d| (d.severity, d.line, d.column));
        let has_errors = diags.iter().any(|d| d.severity == Severity::Error);
        match inv {
            Some(inv) if !has_errors => Ok((inv, diags)),
            _ => Err(diags),
        }
    }

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
}

// ---------------------------------------------------------------------------
// Raw serde types: exactly the keys of docs/config.md
// ---------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    name: Spanned<String>,
    poll_interval: Option<Spanned<Dur>>,
    timeout: Option<Spanned<Dur>>,
    retries: Option<Spanned<i64>>,
    max_attempts: Option<Spanned<i64>>,
    flap_high: Option<Spanned<Percent>>,
    flap_low: Option<Spanned<Percent>>,
    data_dir: Option<Spanned<String>>,
    #[serde(default)]
    slo: BTreeMap<Spanned<String>, Spanned<Dur>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    version: Spanned<String>,
    community: Option<Spanned<String>>,
    community_env: Option<Spanned<String>>,
    user: Option<Spanned<String>>,
    auth: Option<Spanned<String>>,
    auth_passphrase_env: Option<Spanned<String>>,
    privacy: Option<Spanned<String>>,
    privacy_passphrase_env: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVenueHeader {
    code: Spanned<String>,
    name: Spanned<String>,
    city: Spanned<String>,
    #[serde(default)]
    sports: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDevice {
    id: Spanned<String>,
    role: Spanned<String>,
    probe: Spanned<String>,
    description: Option<String>,
    profile: Option<Spanned<String>>,
    context: Option<Spanned<String>>,
    group: Option<Spanned<String>>,
    parent: Option<Spanned<OneOrMany>>,
    critical: Option<bool>,
    interfaces: Option<Spanned<Vec<Spanned<String>>>>,
    cpu_threshold: Option<Spanned<i64>>,
    expect_status: Option<Spanned<i64>>,
    body_contains: Option<Spanned<String>>,
    json_field: Option<Spanned<String>>,
    json_expect: Option<Spanned<String>>,
    latency_warn: Option<Spanned<Dur>>,
    tls_verify: Option<Spanned<bool>>,
    poll_interval: Option<Spanned<Dur>>,
    timeout: Option<Spanned<Dur>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    id: Spanned<String>,
    min_up: Spanned<i64>,
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeed {
    id: Spanned<String>,
    primary: Spanned<String>,
    backup: Spanned<String>,
    consumers: Spanned<Vec<Spanned<String>>>,
    stale_after: Spanned<Dur>,
}

#[derive(Debug)]
struct RawVenue {
    span: Range<usize>,
    header: Option<RawVenueHeader>,
    devices: Vec<RawDevice>,
    groups: Vec<RawGroup>,
    feeds: Vec<RawFeed>,
}

#[derive(Debug)]
struct RawDocument {
    event: Option<RawEvent>,
    event_missing: bool,
    profiles: Vec<(Spanned<String>, Option<RawProfile>)>,
    venues: Vec<RawVenue>,
}

const TOP_KEYS: &[&str] = &["event", "profiles", "venues"];
const VENUE_LISTS: &[&str] = &["devices", "groups", "feeds"];

// ---------------------------------------------------------------------------
// Reading: syntax, then each table on its own so one bad device does not
// hide the errors of the next
// ---------------------------------------------------------------------------

struct Cx<'a> {
    src: &'a SourceFile,
    diags: Vec<Diagnostic>,
    /// Ids (`device:X`, `group:X`, `profile:X`) of tables that had errors
    /// of their own: references to them are not reported again.
    broken: HashSet<String>,
}

impl Cx<'_> {
    fn error(&mut self, span: Range<usize>, message: impl Into<String>, help: impl Into<String>) {
        self.diags.push(self.src.error(span, message, help));
    }

    fn warning(&mut self, span: Range<usize>, message: impl Into<String>, help: impl Into<String>) {
        self.diags.push(self.src.warning(span, message, help));
    }

    fn is_broken(&self, kind: &str, id: &str) -> bool {
        self.broken.contains(&format!("{kind}:{id}"))
    }

    fn de<T: DeserializeOwned>(&mut self, value: Spanned<DeValue<'_>>, what: &str) -> Option<T> {
        match T::deserialize(value.into_deserializer()) {
            Ok(v) => Some(v),
            Err(e) => {
                let d = self.src.from_toml(&e, Some(what));
                self.diags.push(d);
                None
            }
        }
    }

    fn read_document(&mut self) -> Option<RawDocument> {
        let (root, syntax) = DeTable::parse_recoverable(self.src.text());
        if !syntax.is_empty() {
            for e in &syntax {
                let d = self.src.from_toml(e, None);
                self.diags.push(d);
            }
            return None;
        }
        let mut doc = RawDocument {
            event: None,
            event_missing: true,
            profiles: Vec::new(),
            venues: Vec::new(),
        };
        for (key, value) in root.into_inner() {
            match key.get_ref().as_ref() {
                "event" => {
                    doc.event_missing = false;
                    doc.event = self.de(value, "[event] table");
                }
                "profiles" => self.read_profiles(value, &mut doc),
                "venues" => self.read_venues(value, &mut doc),
                other => {
                    let msg = format!("unknown top-level key `{other}`");
                    self.error(
                        key.span(),
                        msg,
                        format!(
                            "the top level takes {}; maintenance windows are not supported yet",
                            list(TOP_KEYS)
                        ),
                    );
                }
            }
        }
        Some(doc)
    }

    fn read_profiles(&mut self, value: Spanned<DeValue<'_>>, doc: &mut RawDocument) {
        let span = value.span();
        let DeValue::Table(table) = value.into_inner() else {
            self.error(
                span,
                "`profiles` must be a table of profiles",
                "write each profile as [profiles.NAME]",
            );
            return;
        };
        for (name, body) in table {
            let name = Spanned::new(name.span(), name.get_ref().to_string());
            let profile = self.de(body, "profile");
            if profile.is_none() {
                self.broken.insert(format!("profile:{}", name.get_ref()));
            }
            doc.profiles.push((name, profile));
        }
    }

    fn read_venues(&mut self, value: Spanned<DeValue<'_>>, doc: &mut RawDocument) {
        let span = value.span();
        let DeValue::Array(items) = value.into_inner() else {
            self.error(
                span,
                "`venues` must be an array of tables",
                "write each venue as a [[venues]] table",
            );
            return;
        };
        for item in items {
            let span = item.span();
            let DeValue::Table(mut table) = item.into_inner() else {
                self.error(
                    span,
                    "a venue must be a table",
                    "write each venue as a [[venues]] table",
                );
                continue;
            };
            let mut venue = RawVenue {
                span: span.clone(),
                header: None,
                devices: Vec::new(),
                groups: Vec::new(),
                feeds: Vec::new(),
            };
            for list_key in VENUE_LISTS {
                let Some(list) = table.remove(*list_key) else {
                    continue;
                };
                let list_span = list.span();
                let DeValue::Array(elems) = list.into_inner() else {
                    self.error(
                        list_span,
                        format!("`{list_key}` must be an array of tables"),
                        format!("write each entry as a [[venues.{list_key}]] table"),
                    );
                    continue;
                };
                for elem in elems {
                    let kind = list_key.trim_end_matches('s');
                    let peeked_id = elem
                        .get_ref()
                        .as_table()
                        .and_then(|t| t.get("id"))
                        .and_then(|v| v.get_ref().as_str())
                        .map(|id| format!("{kind}:{id}"));
                    let before = self.diags.len();
                    match *list_key {
                        "devices" => venue.devices.extend(self.de(elem, "device")),
                        "groups" => venue.groups.extend(self.de(elem, "group")),
                        _ => venue.feeds.extend(self.de(elem, "feed")),
                    }
                    if self.diags.len() > before {
                        self.broken.extend(peeked_id);
                    }
                }
            }
            venue.header = self.de(Spanned::new(span, DeValue::Table(table)), "venue");
            doc.venues.push(venue);
        }
    }
}

fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------
// Validation: references, ranges, cycles
// ---------------------------------------------------------------------------

fn is_id(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && s.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn is_venue_code(s: &str) -> bool {
    (2..=8).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// An error was found and reported; the caller only stops.
#[derive(Debug)]
struct Reported;

/// The HTTP-only checks of a device, once validated.
#[derive(Default)]
struct HttpChecks {
    expect_status: Option<u16>,
    body_contains: Option<String>,
    json: Option<JsonCheck>,
    latency_warn: Option<Duration>,
}

struct Defaults {
    poll_interval: Duration,
    timeout: Duration,
}

/// What validation builds up, venue by venue.
#[derive(Default)]
struct Build {
    venues: Vec<Venue>,
    devices: Vec<Device>,
    groups: Vec<Group>,
    feeds: Vec<Feed>,
    /// `kind:id` -> span of its first definition.
    first_seen: HashMap<String, Range<usize>>,
    device_idx: HashMap<String, DeviceIdx>,
    group_idx: HashMap<String, GroupIdx>,
    /// Spans of each group's id and `min_up`, by group index.
    group_spans: Vec<(Range<usize>, Range<usize>)>,
    pending_devices: Vec<(DeviceIdx, RawDevice)>,
    pending_feeds: Vec<(VenueIdx, RawFeed)>,
}

impl Cx<'_> {
    fn validate(&mut self, doc: RawDocument) -> Option<Inventory> {
        let event = self.validate_event(doc.event, doc.event_missing);
        let defaults = Defaults {
            poll_interval: event
                .as_ref()
                .map_or(Duration::from_secs(5), |e| e.poll_interval),
            timeout: event.as_ref().map_or(Duration::from_secs(2), |e| e.timeout),
        };
        let profiles = self.validate_profiles(doc.profiles);
        // `None` when the [event] table itself is broken: consumer classes
        // cannot be checked then, and are not reported.
        let slo: Option<Vec<String>> = event.as_ref().map(|e| e.slo.keys().cloned().collect());
        if doc.venues.is_empty() {
            self.error(
                0..0,
                "the file defines no venues",
                "add at least one [[venues]] table",
            );
        }
        let mut b = Build::default();
        for raw in doc.venues {
            self.add_venue(raw, &mut b, &defaults, &profiles);
        }
        // Second pass: references need every id first.
        let pending = std::mem::take(&mut b.pending_devices);
        for (didx, d) in &pending {
            self.resolve_device_refs(*didx, d, &mut b);
        }
        self.check_group_sizes(&b);
        for (vidx, f) in std::mem::take(&mut b.pending_feeds) {
            if let Some(feed) = self.validate_feed(vidx, &f, &b, slo.as_deref()) {
                if let Some(v) = b.venues.get_mut(vidx.0) {
                    v.feeds.push(b.feeds.len());
                }
                b.feeds.push(feed);
            }
        }
        self.check_cycles(&b.devices, &pending);
        self.check_secrets(&profiles, &b.devices);

        let event = event?;
        Some(Inventory {
            source: self.src.path().to_path_buf(),
            event,
            profiles: profiles.into_iter().map(|(k, (_, p))| (k, p)).collect(),
            venues: b.venues,
            devices: b.devices,
            groups: b.groups,
            feeds: b.feeds,
            device_index: b.device_idx,
        })
    }

    /// Checks an id's form and that it is the first of its kind; reports
    /// and returns false otherwise.
    fn claim_id(&mut self, b: &mut Build, kind: &str, id: &Spanned<String>) -> bool {
        let name = id.get_ref();
        if !is_id(name) {
            self.error(
                id.span(),
                format!("{kind} id `{name}` is not a valid id"),
                ID_HELP,
            );
            return false;
        }
        let key = format!("{kind}:{name}");
        if let Some(first) = b.first_seen.get(&key) {
            let (line, _) = self.src.position(first.start);
            self.error(
                id.span(),
                format!("duplicate {kind} id `{name}` (first defined on line {line})"),
                format!("{kind} ids are unique across the whole file; rename one"),
            );
            return false;
        }
        b.first_seen.insert(key, id.span());
        true
    }

    fn add_venue(
        &mut self,
        raw: RawVenue,
        b: &mut Build,
        defaults: &Defaults,
        profiles: &BTreeMap<String, (Range<usize>, Profile)>,
    ) {
        let vidx = VenueIdx(b.venues.len());
        let mut venue = Venue {
            code: String::new(),
            name: String::new(),
            city: String::new(),
            sports: Vec::new(),
            devices: Vec::new(),
            groups: Vec::new(),
            feeds: Vec::new(),
        };
        if let Some(h) = raw.header {
            let code = h.code.get_ref().clone();
            if !is_venue_code(&code) {
                self.error(
                    h.code.span(),
                    format!("venue code `{code}` is not 2 to 8 upper-case letters or digits"),
                    "write it like `STA` or `MRN`",
                );
            } else if let Some(first) = b.first_seen.get(&format!("venue:{code}")) {
                let (line, _) = self.src.position(first.start);
                self.error(
                    h.code.span(),
                    format!("duplicate venue code `{code}` (first defined on line {line})"),
                    "give each venue its own code",
                );
            } else {
                b.first_seen.insert(format!("venue:{code}"), h.code.span());
            }
            if h.name.get_ref().trim().is_empty() {
                self.error(
                    h.name.span(),
                    "venue name is empty",
                    "write the venue's full name",
                );
            }
            venue.code = code;
            venue.name = h.name.into_inner();
            venue.city = h.city.into_inner();
            venue.sports = h.sports;
        }
        if raw.devices.is_empty() {
            self.warning(
                raw.span.clone(),
                format!("venue `{}` has no devices", venue.code),
                "add [[venues.devices]] tables, or remove the venue",
            );
        }
        for g in raw.groups {
            if !self.claim_id(b, "group", &g.id) {
                continue;
            }
            let id = g.id.get_ref().clone();
            let gidx = GroupIdx(b.groups.len());
            let min_up = *g.min_up.get_ref();
            if min_up < 1 {
                self.error(
                    g.min_up.span(),
                    format!("min_up of group `{id}` is {min_up}; it must be at least 1"),
                    "a redundancy group needs at least one member up to be serving",
                );
            }
            b.group_idx.insert(id.clone(), gidx);
            b.group_spans.push((g.id.span(), g.min_up.span()));
            venue.groups.push(gidx);
            b.groups.push(Group {
                id,
                venue: vidx,
                min_up: usize::try_from(min_up).unwrap_or(0),
                members: Vec::new(),
                description: g.description,
            });
        }
        for d in raw.devices {
            if !self.claim_id(b, "device", &d.id) {
                continue;
            }
            let didx = DeviceIdx(b.devices.len());
            b.device_idx.insert(d.id.get_ref().clone(), didx);
            let device = self.validate_device(&d, vidx, defaults, profiles);
            venue.devices.push(didx);
            b.devices.push(device);
            b.pending_devices.push((didx, d));
        }
        for f in raw.feeds {
            if self.claim_id(b, "feed", &f.id) {
                b.pending_feeds.push((vidx, f));
            }
        }
        b.venues.push(venue);
    }

    fn check_group_sizes(&mut self, b: &Build) {
        for (group, (span, min_span)) in b.groups.iter().zip(&b.group_spans) {
            let members = group.members.len();
            if members == 0 {
                self.error(
                    span.clone(),
                    format!("group `{}` has no members", group.id),
                    format!(
                        "add group = \"{}\" to its devices, or remove the group",
                        group.id
                    ),
                );
            } else if group.min_up > members {
                self.error(
                    min_span.clone(),
                    format!(
                        "min_up of group `{}` is {} but the group has only {members} member{}",
                        group.id,
                        group.min_up,
                        if members == 1 { "" } else { "s" }
                    ),
                    "lower min_up or add members (devices with group = \"...\")",
                );
            }
        }
    }

    fn validate_event(&mut self, raw: Option<RawEvent>, missing: bool) -> Option<Event> {
        if missing {
            self.error(
                0..0,
                "missing [event] table",
                "add an [event] table with at least name = \"...\"; see docs/config.md",
            );
            return None;
        }
        let raw = raw?;
        let dur = |v: &Option<Spanned<Dur>>, default: u64| {
            v.as_ref()
                .map_or(Duration::from_millis(default), |d| d.get_ref().0)
        };
        let poll_interval = dur(&raw.poll_interval, 5000);
        let timeout = dur(&raw.timeout, 2000);
        self.positive(raw.poll_interval.as_ref(), "poll_interval");
        self.positive(raw.timeout.as_ref(), "timeout");
        let mut count = |v: &Option<Spanned<i64>>, default: u32, range, name: &str| {
            v.as_ref()
                .and_then(|v| self.int_range(v, range, name, "write a whole number in that range"))
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(default)
        };
        let retries = count(&raw.retries, 1, 0..=5, "retries");
        let max_attempts = count(&raw.max_attempts, 3, 1..=10, "max_attempts");
        let (flap_high, flap_low) = self.validate_flapping(&raw);
        let budget = timeout.saturating_mul(retries + 1);
        if budget > poll_interval {
            let span = first_span(&[&raw.timeout, &raw.poll_interval], raw.name.span());
            self.error(
                span,
                format!(
                    "timeout x (retries + 1) = {} exceeds poll_interval {}",
                    humantime::format_duration(budget),
                    humantime::format_duration(poll_interval)
                ),
                "shorten timeout, lower retries or lengthen poll_interval: \
                 a slow device would still be in its last check when the next is due",
            );
        }
        let mut slo = BTreeMap::new();
        for (k, v) in raw.slo {
            if !is_id(k.get_ref()) {
                self.error(
                    k.span(),
                    format!("consumer class `{}` is not a valid name", k.get_ref()),
                    ID_HELP,
                );
            }
            if v.get_ref().0.is_zero() {
                self.error(
                    v.span(),
                    format!("the SLO of `{}` must be longer than zero", k.get_ref()),
                    "write e.g. `350ms`",
                );
            }
            slo.insert(k.into_inner(), v.into_inner().0);
        }
        let data_dir = raw.data_dir.map_or_else(
            || PathBuf::from("toc-data"),
            |d| PathBuf::from(d.into_inner()),
        );
        let data_dir = if data_dir.is_relative() {
            self.src
                .path()
                .parent()
                .map_or(data_dir.clone(), |p| p.join(&data_dir))
        } else {
            data_dir
        };
        Some(Event {
            name: raw.name.into_inner(),
            poll_interval,
            timeout,
            retries,
            max_attempts,
            flap_high,
            flap_low,
            data_dir,
            slo,
        })
    }

    fn validate_flapping(&mut self, raw: &RawEvent) -> (f64, f64) {
        let flap_high = raw.flap_high.as_ref().map_or(50.0, |p| p.get_ref().0);
        let flap_low = raw.flap_low.as_ref().map_or(25.0, |p| p.get_ref().0);
        for (name, value) in [("flap_high", &raw.flap_high), ("flap_low", &raw.flap_low)] {
            if let Some(v) = value {
                let p = v.get_ref().0;
                if !(0.0..=100.0).contains(&p) {
                    self.error(
                        v.span(),
                        format!("{name} is {p}; a percentage is between 0 and 100"),
                        "write e.g. 50",
                    );
                }
            }
        }
        if flap_low >= flap_high {
            let span = first_span(&[&raw.flap_low, &raw.flap_high], raw.name.span());
            self.error(
                span,
                format!("flap_low ({flap_low}) must be lower than flap_high ({flap_high})"),
                "the gap between them keeps a device from toggling in and out of flapping",
            );
        }
        (flap_high, flap_low)
    }

    fn validate_profiles(
        &mut self,
        raw: Vec<(Spanned<String>, Option<RawProfile>)>,
    ) -> BTreeMap<String, (Range<usize>, Profile)> {
        let mut out = BTreeMap::new();
        for (name, p) in raw {
            let Some(p) = p else { continue };
            if let Some(profile) = self.validate_profile(name.get_ref(), p) {
                out.insert(name.get_ref().clone(), (name.span(), profile));
            } else {
                self.broken.insert(format!("profile:{}", name.get_ref()));
            }
        }
        out
    }

    fn validate_profile(&mut self, name: &str, p: RawProfile) -> Option<Profile> {
        let version = p.version.get_ref().to_ascii_lowercase();
        match version.as_str() {
            "v2c" | "2c" => self.validate_v2c(name, p),
            "v3" | "3" => self.validate_v3(name, p),
            "v1" | "1" => {
                self.error(
                    p.version.span(),
                    format!("SNMP v1 is not supported (profile `{name}`)"),
                    "use \"v2c\" or \"v3\": v1 has no 64-bit counters and no GETBULK",
                );
                None
            }
            other => {
                self.error(
                    p.version.span(),
                    format!("unknown SNMP version `{other}` in profile `{name}`"),
                    "use \"v2c\" or \"v3\"",
                );
                None
            }
        }
    }

    /// Reports keys that belong to another SNMP version.
    fn not_for_version(
        &mut self,
        name: &str,
        version: &str,
        keys: &[(Option<&Spanned<String>>, &str)],
    ) {
        for (field, key) in keys {
            if let Some(f) = field {
                self.error(
                    f.span(),
                    format!("`{key}` does not apply to an SNMP {version} profile (`{name}`)"),
                    format!("remove `{key}`, or change the profile's version"),
                );
            }
        }
    }

    fn validate_v2c(&mut self, name: &str, p: RawProfile) -> Option<Profile> {
        self.not_for_version(
            name,
            "v2c",
            &[
                (p.user.as_ref(), "user"),
                (p.auth.as_ref(), "auth"),
                (p.auth_passphrase_env.as_ref(), "auth_passphrase_env"),
                (p.privacy.as_ref(), "privacy"),
                (p.privacy_passphrase_env.as_ref(), "privacy_passphrase_env"),
            ],
        );
        match (p.community, p.community_env) {
            (Some(c), None) => Some(Profile::V2c {
                community: Secret::Literal(c.into_inner()),
            }),
            (None, Some(e)) => {
                self.check_env_name(&e);
                Some(Profile::V2c {
                    community: Secret::Env(e.into_inner()),
                })
            }
            (Some(c), Some(_)) => {
                self.error(
                    c.span(),
                    format!("profile `{name}` sets both `community` and `community_env`"),
                    "keep one: the community itself, or the environment variable that holds it",
                );
                None
            }
            (None, None) => {
                self.error(
                    p.version.span(),
                    format!("v2c profile `{name}` has no community"),
                    "add community = \"...\" or community_env = \"VARIABLE\"",
                );
                None
            }
        }
    }

    fn validate_v3(&mut self, name: &str, p: RawProfile) -> Option<Profile> {
        self.not_for_version(
            name,
            "v3",
            &[
                (p.community.as_ref(), "community"),
                (p.community_env.as_ref(), "community_env"),
            ],
        );
        for (field, key) in [
            (&p.user, "user"),
            (&p.auth, "auth"),
            (&p.auth_passphrase_env, "auth_passphrase_env"),
        ] {
            if field.is_none() {
                self.error(
                    p.version.span(),
                    format!("v3 profile `{name}` has no `{key}`"),
                    format!("add {key} = \"...\"; see docs/config.md"),
                );
            }
        }
        let auth = p.auth.as_ref().and_then(|a| {
            let parsed = match a.get_ref().to_ascii_lowercase().as_str() {
                "sha" | "sha1" => Some(AuthProtocol::Sha1),
                "sha256" | "sha-256" => Some(AuthProtocol::Sha256),
                _ => None,
            };
            if parsed.is_none() {
                self.error(
                    a.span(),
                    format!(
                        "unknown auth protocol `{}` in profile `{name}`",
                        a.get_ref()
                    ),
                    "use `sha` or `sha256` (MD5 is not accepted)",
                );
            }
            parsed
        });
        if let Some(e) = &p.auth_passphrase_env {
            self.check_env_name(e);
        }
        let privacy =
            self.validate_privacy(name, p.privacy.as_ref(), p.privacy_passphrase_env.as_ref());
        Some(Profile::V3 {
            user: p.user?.into_inner(),
            auth: auth?,
            auth_passphrase: Secret::Env(p.auth_passphrase_env?.into_inner()),
            privacy: privacy.ok()?,
        })
    }

    /// `Ok(None)` for `authNoPriv`, `Ok(Some(..))` for `authPriv`.
    fn validate_privacy(
        &mut self,
        name: &str,
        privacy: Option<&Spanned<String>>,
        env: Option<&Spanned<String>>,
    ) -> Result<Option<(PrivProtocol, Secret)>, Reported> {
        match (privacy, env) {
            (None, None) => Ok(None),
            (Some(pr), Some(env)) => {
                self.check_env_name(env);
                let protocol = match pr.get_ref().to_ascii_lowercase().as_str() {
                    "aes" | "aes128" | "aes-128" => PrivProtocol::Aes128,
                    "aes256" | "aes-256" => PrivProtocol::Aes256,
                    other => {
                        self.error(
                            pr.span(),
                            format!("unknown privacy protocol `{other}` in profile `{name}`"),
                            "use `aes128` or `aes256` (DES is not accepted)",
                        );
                        return Err(Reported);
                    }
                };
                Ok(Some((protocol, Secret::Env(env.get_ref().clone()))))
            }
            (Some(pr), None) => {
                self.error(
                    pr.span(),
                    format!("profile `{name}` sets `privacy` without `privacy_passphrase_env`"),
                    "add privacy_passphrase_env = \"VARIABLE\", or remove privacy for authNoPriv",
                );
                Err(Reported)
            }
            (None, Some(env)) => {
                self.error(
                    env.span(),
                    format!("profile `{name}` sets `privacy_passphrase_env` without `privacy`"),
                    "add privacy = \"aes128\" or \"aes256\", or remove the passphrase",
                );
                Err(Reported)
            }
        }
    }

    fn check_env_name(&mut self, env: &Spanned<String>) {
        if !is_env_name(env.get_ref()) {
            self.error(
                env.span(),
                format!("`{}` is not an environment variable name", env.get_ref()),
                "name the variable that holds the secret (letters, digits, `_`), not the secret itself",
            );
        }
    }

    fn validate_device(
        &mut self,
        d: &RawDevice,
        venue: VenueIdx,
        defaults: &Defaults,
        profiles: &BTreeMap<String, (Range<usize>, Profile)>,
    ) -> Device {
        let id = d.id.get_ref();
        if !is_kebab(d.role.get_ref()) {
            self.error(
                d.role.span(),
                format!(
                    "role `{}` of device `{id}` is not kebab-case",
                    d.role.get_ref()
                ),
                "write it like `core-switch` or `ovr-server`",
            );
        }
        let probe = self.parse_probe(&d.probe, id);
        let kind = probe.as_ref().map(ProbeTarget::kind);
        if let Some(kind) = kind {
            self.check_scheme_keys(d, kind);
        }
        if kind == Some("snmp") {
            self.check_profile_ref(d, profiles);
        }
        if let Some(ifs) = &d.interfaces {
            self.check_interfaces(ifs.get_ref());
        }
        let cpu_threshold = d.cpu_threshold.as_ref().and_then(|c| {
            self.int_range(
                c,
                1..=100,
                &format!("cpu_threshold of `{id}`"),
                "write the CPU load percent above which the device is DEGRADED",
            )
        });
        self.positive(
            d.poll_interval.as_ref(),
            &format!("poll_interval of `{id}`"),
        );
        self.positive(d.timeout.as_ref(), &format!("timeout of `{id}`"));
        let poll_interval = d
            .poll_interval
            .as_ref()
            .map_or(defaults.poll_interval, |v| v.get_ref().0);
        let timeout = d
            .timeout
            .as_ref()
            .map_or(defaults.timeout, |v| v.get_ref().0);
        if timeout > poll_interval {
            let span = first_span(&[&d.timeout, &d.poll_interval], d.id.span());
            self.error(
                span,
                format!(
                    "timeout {} of `{id}` exceeds its poll_interval {}",
                    humantime::format_duration(timeout),
                    humantime::format_duration(poll_interval)
                ),
                "shorten the timeout or lengthen the interval",
            );
        }
        let http = if kind == Some("http") {
            self.http_checks(d, timeout)
        } else {
            HttpChecks::default()
        };
        Device {
            id: id.clone(),
            venue,
            role: d.role.get_ref().clone(),
            probe: probe.unwrap_or(ProbeTarget::Tcp {
                host: String::new(),
                port: 0,
            }),
            description: d.description.clone(),
            profile: d.profile.as_ref().map(|p| p.get_ref().clone()),
            context: d.context.as_ref().map(|c| c.get_ref().clone()),
            group: None,
            parents: Vec::new(),
            critical: d.critical.unwrap_or(true),
            checks: Checks {
                interfaces: d
                    .interfaces
                    .as_ref()
                    .map(|v| v.get_ref().iter().map(|s| s.get_ref().clone()).collect())
                    .unwrap_or_default(),
                cpu_threshold: cpu_threshold.and_then(|n| u8::try_from(n).ok()),
                expect_status: http.expect_status,
                body_contains: http.body_contains,
                json: http.json,
                latency_warn: http.latency_warn,
                tls_verify: d.tls_verify.as_ref().is_none_or(|v| *v.get_ref()),
            },
            poll_interval,
            timeout,
        }
    }

    /// The body, JSON and latency checks of an HTTP device.
    fn http_checks(&mut self, d: &RawDevice, timeout: Duration) -> HttpChecks {
        let id = d.id.get_ref();
        let expect_status = d.expect_status.as_ref().map_or(Some(200), |s| {
            self.int_range(
                s,
                100..=599,
                &format!("expect_status of `{id}`"),
                "write an HTTP status, e.g. 200 or 204",
            )
        });
        let body_contains = d.body_contains.as_ref().and_then(|b| {
            if b.get_ref().is_empty() {
                self.error(
                    b.span(),
                    format!("body_contains of `{id}` is empty"),
                    "write the text a healthy answer contains, e.g. \"ok\", or remove the key",
                );
                return None;
            }
            Some(b.get_ref().clone())
        });
        let json = match (&d.json_field, &d.json_expect) {
            (Some(field), Some(expect)) => {
                let path = field.get_ref();
                if path.split('.').any(str::is_empty) {
                    self.error(
                        field.span(),
                        format!("json_field `{path}` of `{id}` is not a dotted path"),
                        "name the field like `status` or `checks.db`",
                    );
                    None
                } else {
                    Some(JsonCheck {
                        field: path.clone(),
                        expect: expect.get_ref().clone(),
                    })
                }
            }
            (Some(field), None) => {
                self.error(
                    field.span(),
                    format!("`{id}` sets json_field without json_expect"),
                    "add json_expect = \"...\" with the value that means healthy",
                );
                None
            }
            (None, Some(expect)) => {
                self.error(
                    expect.span(),
                    format!("`{id}` sets json_expect without json_field"),
                    "add json_field = \"...\" naming the field to compare, e.g. `status`",
                );
                None
            }
            (None, None) => None,
        };
        self.positive(d.latency_warn.as_ref(), &format!("latency_warn of `{id}`"));
        let latency_warn = d.latency_warn.as_ref().map(|w| w.get_ref().0);
        if let (Some(w), Some(warn)) = (&d.latency_warn, latency_warn)
            && !warn.is_zero()
            && warn >= timeout
        {
            self.error(
                w.span(),
                format!(
                    "latency_warn {} of `{id}` is not below its timeout {}",
                    humantime::format_duration(warn),
                    humantime::format_duration(timeout)
                ),
                "an answer slower than the timeout is a failure; set latency_warn lower, e.g. half the timeout",
            );
        }
        HttpChecks {
            expect_status: expect_status.and_then(|n| u16::try_from(n).ok()),
            body_contains,
            json,
            latency_warn: latency_warn.filter(|w| !w.is_zero() && *w < timeout),
        }
    }

    fn check_interfaces(&mut self, ifs: &[Spanned<String>]) {
        let mut seen = HashSet::new();
        for i in ifs {
            if i.get_ref().trim().is_empty() {
                self.error(
                    i.span(),
                    "empty interface name",
                    "name the interface by ifIndex (\"1\") or ifName (\"Gi1/0/1\")",
                );
            } else if !seen.insert(i.get_ref().clone()) {
                self.error(
                    i.span(),
                    format!("interface `{}` is listed twice", i.get_ref()),
                    "remove the repeat",
                );
            }
        }
    }

    /// Keys that only make sense for one probe scheme.
    fn check_scheme_keys(&mut self, d: &RawDevice, kind: &str) {
        let span = |v: Option<Range<usize>>| v;
        let keys = [
            (
                "profile",
                "snmp",
                span(d.profile.as_ref().map(Spanned::span)),
            ),
            (
                "context",
                "snmp",
                span(d.context.as_ref().map(Spanned::span)),
            ),
            (
                "interfaces",
                "snmp",
                d.interfaces.as_ref().map(Spanned::span),
            ),
            (
                "cpu_threshold",
                "snmp",
                d.cpu_threshold.as_ref().map(Spanned::span),
            ),
            (
                "expect_status",
                "http",
                d.expect_status.as_ref().map(Spanned::span),
            ),
            (
                "body_contains",
                "http",
                d.body_contains.as_ref().map(Spanned::span),
            ),
            (
                "json_field",
                "http",
                d.json_field.as_ref().map(Spanned::span),
            ),
            (
                "json_expect",
                "http",
                d.json_expect.as_ref().map(Spanned::span),
            ),
            (
                "latency_warn",
                "http",
                d.latency_warn.as_ref().map(Spanned::span),
            ),
            (
                "tls_verify",
                "http",
                d.tls_verify.as_ref().map(Spanned::span),
            ),
        ];
        for (key, scheme, present) in keys {
            if let (Some(at), true) = (present, scheme != kind) {
                let shown = if scheme == "http" {
                    "http(s)://"
                } else {
                    "snmp://"
                };
                self.error(
                    at,
                    format!(
                        "`{key}` applies to {shown} devices only, and `{}` is probed by {kind}",
                        d.id.get_ref()
                    ),
                    format!("remove `{key}` from this device"),
                );
            }
        }
    }

    fn check_profile_ref(
        &mut self,
        d: &RawDevice,
        profiles: &BTreeMap<String, (Range<usize>, Profile)>,
    ) {
        let names = || or_none(&profiles.keys().map(String::as_str).collect::<Vec<_>>());
        match &d.profile {
            None => self.error(
                d.probe.span(),
                format!(
                    "SNMP device `{}` names no credential profile",
                    d.id.get_ref()
                ),
                format!("add profile = \"...\" (defined: {})", names()),
            ),
            Some(p)
                if !profiles.contains_key(p.get_ref())
                    && !self.is_broken("profile", p.get_ref()) =>
            {
                self.error(
                    p.span(),
                    format!(
                        "device `{}` names unknown profile `{}`",
                        d.id.get_ref(),
                        p.get_ref()
                    ),
                    format!(
                        "define [profiles.{}] or use one of: {}",
                        p.get_ref(),
                        names()
                    ),
                );
            }
            Some(_) => {}
        }
    }

    /// An integer within a range; reports and returns `None` otherwise.
    fn int_range(
        &mut self,
        v: &Spanned<i64>,
        range: std::ops::RangeInclusive<i64>,
        what: &str,
        help: &str,
    ) -> Option<i64> {
        let n = *v.get_ref();
        if range.contains(&n) {
            return Some(n);
        }
        self.error(
            v.span(),
            format!(
                "{what} is {n}; it must be between {} and {}",
                range.start(),
                range.end()
            ),
            help,
        );
        None
    }

    /// Reports a zero duration.
    fn positive(&mut self, v: Option<&Spanned<Dur>>, what: &str) {
        if let Some(v) = v
            && v.get_ref().0.is_zero()
        {
            self.error(
                v.span(),
                format!("{what} must be longer than zero"),
                "write it with a unit, e.g. `5s`",
            );
        }
    }

    fn parse_probe(&mut self, probe: &Spanned<String>, id: &str) -> Option<ProbeTarget> {
        let text = probe.get_ref();
        let span = probe.span();
        let url = match url::Url::parse(text) {
            Ok(u) => u,
            Err(e) => {
                self.error(
                    span,
                    format!("probe URL `{text}` of `{id}` is not a URL ({e})"),
                    "write it as snmp://host[:port], http(s)://host[:port]/path or tcp://host:port",
                );
                return None;
            }
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .map(|h| h.trim_matches(['[', ']']).to_owned());
        let Some(host) = host else {
            self.error(
                span,
                format!("probe URL `{text}` of `{id}` has no host"),
                "write the device's address after the scheme, e.g. snmp://10.1.2.3",
            );
            return None;
        };
        match url.scheme() {
            "snmp" => {
                if !matches!(url.path(), "" | "/") || url.query().is_some() {
                    self.error(
                        span,
                        format!("snmp probe URL `{text}` of `{id}` has a path or query"),
                        "write snmp://host[:port]; select a device behind a shared agent with `context`",
                    );
                    return None;
                }
                Some(ProbeTarget::Snmp {
                    host,
                    port: url.port().unwrap_or(161),
                })
            }
            "http" | "https" => Some(ProbeTarget::Http {
                url: url.to_string(),
            }),
            "tcp" => match url.port() {
                Some(port) if port != 0 => Some(ProbeTarget::Tcp { host, port }),
                _ => {
                    self.error(
                        span,
                        format!("tcp probe URL `{text}` of `{id}` has no port"),
                        "write tcp://host:port",
                    );
                    None
                }
            },
            other => {
                self.error(
                    span,
                    format!("unsupported probe scheme `{other}` in `{text}` (device `{id}`)"),
                    "use snmp://, http://, https:// or tcp://",
                );
                None
            }
        }
    }

    fn resolve_device_refs(&mut self, didx: DeviceIdx, d: &RawDevice, b: &mut Build) {
        let id = d.id.get_ref();
        let venue = b.devices.get(didx.0).map(|dev| dev.venue);
        if let Some(g) = &d.group {
            match b.group_idx.get(g.get_ref()) {
                None if self.is_broken("group", g.get_ref()) => {}
                None => self.error(
                    g.span(),
                    format!("device `{id}` names unknown group `{}`", g.get_ref()),
                    format!("add a [[venues.groups]] table with id = \"{}\" to this venue, or fix the name", g.get_ref()),
                ),
                Some(gidx) => {
                    if let Some(group) = b.groups.get_mut(gidx.0) {
                        if Some(group.venue) == venue {
                            group.members.push(didx);
                            if let Some(dev) = b.devices.get_mut(didx.0) {
                                dev.group = Some(*gidx);
                            }
                        } else {
                            self.error(
                                g.span(),
                                format!("device `{id}` names group `{}` of another venue", g.get_ref()),
                                "a redundancy group holds devices of one venue",
                            );
                        }
                    }
                }
            }
        }
        if let Some(parent) = &d.parent {
            let refs = OneOrMany::into_spanned(parent.clone());
            if refs.is_empty() {
                self.error(
                    parent.span(),
                    format!("`parent` of `{id}` is an empty list"),
                    "name at least one device, or remove `parent`",
                );
            }
            let mut parents = Vec::new();
            for p in refs {
                match b.device_idx.get(p.get_ref()) {
                    None if self.is_broken("device", p.get_ref()) => {}
                    None => self.error(
                        p.span(),
                        format!("device `{id}` names unknown parent `{}`", p.get_ref()),
                        "a parent is the id of another device, e.g. the venue's uplink router",
                    ),
                    Some(pidx) if *pidx == didx => self.error(
                        p.span(),
                        format!("device `{id}` names itself as its parent"),
                        "a parent is another device that this one is reached through",
                    ),
                    Some(pidx) => {
                        if parents.contains(pidx) {
                            self.error(
                                p.span(),
                                format!("parent `{}` is listed twice", p.get_ref()),
                                "remove the repeat",
                            );
                        } else {
                            parents.push(*pidx);
                        }
                    }
                }
            }
            if let Some(dev) = b.devices.get_mut(didx.0) {
                dev.parents = parents;
            }
        }
    }

    fn validate_feed(
        &mut self,
        venue: VenueIdx,
        f: &RawFeed,
        b: &Build,
        slo: Option<&[String]>,
    ) -> Option<Feed> {
        let id = f.id.get_ref().clone();
        let source =
            |cx: &mut Self, s: &Spanned<String>, which: &str| match b.device_idx.get(s.get_ref()) {
                None if cx.is_broken("device", s.get_ref()) => None,
                None => {
                    cx.error(
                        s.span(),
                        format!("feed `{id}` names unknown {which} source `{}`", s.get_ref()),
                        "name the results server (a device id of this venue)",
                    );
                    None
                }
                Some(idx) if b.devices.get(idx.0).map(|d| d.venue) != Some(venue) => {
                    cx.error(
                        s.span(),
                        format!(
                            "{which} source `{}` of feed `{id}` is in another venue",
                            s.get_ref()
                        ),
                        "a feed's sources are results servers of its own venue",
                    );
                    None
                }
                Some(idx) => Some(*idx),
            };
        let primary = source(self, &f.primary, "primary");
        let backup = source(self, &f.backup, "backup");
        if primary.is_some() && primary == backup {
            self.error(
                f.backup.span(),
                format!("feed `{id}` has the same primary and backup source"),
                "the backup must be a different results server, or the feed has no redundancy",
            );
        }
        let consumers: Vec<String> = f
            .consumers
            .get_ref()
            .iter()
            .map(|c| c.get_ref().clone())
            .collect();
        if consumers.is_empty() {
            self.error(
                f.consumers.span(),
                format!("feed `{id}` has no consumers"),
                "list the consumer classes it serves, e.g. [\"commentators\"]",
            );
        }
        for c in f.consumers.get_ref() {
            let Some(slo) = slo else { break };
            if !slo.iter().any(|s| s == c.get_ref()) {
                self.error(
                    c.span(),
                    format!(
                        "feed `{id}` names consumer class `{}`, which has no SLO",
                        c.get_ref()
                    ),
                    format!(
                        "add {} = \"...\" to [event.slo] (defined: {})",
                        c.get_ref(),
                        or_none(&slo.iter().map(String::as_str).collect::<Vec<_>>())
                    ),
                );
            }
        }
        let stale_after = f.stale_after.get_ref().0;
        if stale_after.is_zero() {
            self.error(
                f.stale_after.span(),
                format!("stale_after of feed `{id}` must be longer than zero"),
                "write e.g. `30s`",
            );
        }
        Some(Feed {
            id,
            venue,
            primary: primary?,
            backup: backup?,
            consumers,
            stale_after,
        })
    }

    /// Reports each parent cycle once, at the device of the cycle that
    /// comes first in the file.
    fn check_cycles(&mut self, devices: &[Device], raw: &[(DeviceIdx, RawDevice)]) {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Active,
            Done,
        }
        let mut mark = vec![Mark::New; devices.len()];
        for start in 0..devices.len() {
            if mark.get(start) != Some(&Mark::New) {
                continue;
            }
            // Iterative DFS with an explicit path.
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            if let Some(m) = mark.get_mut(start) {
                *m = Mark::Active;
            }
            while let Some((node, next)) = stack.last().copied() {
                let parents = devices.get(node).map_or(&[][..], |d| d.parents.as_slice());
                if let Some(p) = parents.get(next) {
                    if let Some(top) = stack.last_mut() {
                        top.1 += 1;
                    }
                    match mark.get(p.0).copied() {
                        Some(Mark::New) => {
                            if let Some(m) = mark.get_mut(p.0) {
                                *m = Mark::Active;
                            }
                            stack.push((p.0, 0));
                        }
                        Some(Mark::Active) => {
                            let pos = stack.iter().position(|(n, _)| *n == p.0).unwrap_or(0);
                            let cycle: Vec<usize> =
                                stack.iter().skip(pos).map(|(n, _)| *n).collect();
                            let first = cycle.iter().copied().min().unwrap_or(p.0);
                            let rotate = cycle.iter().position(|n| *n == first).unwrap_or(0);
                            let mut path: Vec<&str> = cycle
                                .iter()
                                .cycle()
                                .skip(rotate)
                                .take(cycle.len())
                                .filter_map(|n| devices.get(*n).map(|d| d.id.as_str()))
                                .collect();
                            if let Some(head) = path.first().copied() {
                                path.push(head);
                            }
                            let span = raw
                                .iter()
                                .find(|(i, _)| i.0 == first)
                                .and_then(|(_, r)| r.parent.as_ref().map(Spanned::span))
                                .unwrap_or(0..0);
                            self.error(
                                span,
                                format!("parent cycle: {}", path.join(" -> ")),
                                "parents describe how the TOC reaches a device; break the loop by removing one parent",
                            );
                        }
                        _ => {}
                    }
                } else {
                    if let Some(m) = mark.get_mut(node) {
                        *m = Mark::Done;
                    }
                    stack.pop();
                }
            }
        }
    }

    fn check_secrets(
        &mut self,
        profiles: &BTreeMap<String, (Range<usize>, Profile)>,
        devices: &[Device],
    ) {
        for (name, (span, profile)) in profiles {
            if !devices
                .iter()
                .any(|d| d.profile.as_deref() == Some(name.as_str()))
            {
                continue;
            }
            let vars: Vec<&str> = match profile {
                Profile::V2c {
                    community: Secret::Env(v),
                } => vec![v],
                Profile::V2c { .. } => vec![],
                Profile::V3 {
                    auth_passphrase,
                    privacy,
                    ..
                } => {
                    let mut v = Vec::new();
                    if let Secret::Env(a) = auth_passphrase {
                        v.push(a.as_str());
                    }
                    if let Some((_, Secret::Env(p))) = privacy {
                        v.push(p.as_str());
                    }
                    v
                }
            };
            for var in vars {
                if std::env::var_os(var).is_none() {
                    self.warning(
                        span.clone(),
                        format!("environment variable `{var}` of profile `{name}` is not set"),
                        format!("export {var} before `toc run`, or its devices cannot be polled"),
                    );
                }
            }
        }
    }
}

const ID_HELP: &str =
    "ids start with a letter or digit and hold letters, digits, `-`, `_` and `.` (at most 64)";

/// The span of the first key that is present, else `fallback`: where to
/// point an error about a relation between optional keys.
fn first_span<T>(keys: &[&Option<Spanned<T>>], fallback: Range<usize>) -> Range<usize> {
    keys.iter()
        .find_map(|k| k.as_ref().map(Spanned::span))
        .unwrap_or(fallback)
}

fn or_none(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}
