//! What the engine publishes: an immutable [`Snapshot`] of the live state
//! (latest only, on a `watch` channel) and discrete [`Event`]s.
//!
//! A snapshot is cheap to publish and to hold: the static part (names,
//! roles, groups, feeds: the [`Layout`]) is shared by every snapshot, and
//! each device's live part is an `Arc` rebuilt only when that device was
//! checked. A console renders from a snapshot alone, plus its own view
//! state and the time now.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::config::venues::Inventory;
use crate::incident::{Ack, IncidentState, TimelineKind};
use crate::model::{
    DeviceIdx, FeedIdx, GroupEval, GroupIdx, HostSample, ProblemKey, Reading, SinkIdx, StateType,
    Status, Transitions, VenueEval, VenueIdx,
};

/// The static shape of the event, built once from the inventory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layout {
    /// Name of the event (`Paris 2024 Olympic Games`).
    pub event: String,
    /// Default poll interval.
    pub poll_interval: Duration,
    /// Consecutive failures before a problem turns hard.
    pub max_attempts: u32,
    /// Every venue, in file order.
    pub venues: Vec<VenueInfo>,
    /// Every device, in file order (index = device index).
    pub devices: Vec<DeviceInfo>,
    /// Every redundancy group (index = group index).
    pub groups: Vec<GroupInfo>,
    /// Every result feed.
    pub feeds: Vec<FeedInfo>,
    /// The embedded result relay, when configured.
    #[serde(default)]
    pub relay: Option<RelayLayout>,
}

/// The result relay as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayLayout {
    /// Its sources, in file order.
    pub sources: Vec<RelaySourceInfo>,
    /// Its sinks, in file order (index = [`SinkIdx`]).
    pub sinks: Vec<RelaySinkInfo>,
    /// Its route ids, in file order.
    pub routes: Vec<String>,
}

/// A relay source as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelaySourceInfo {
    /// Its id.
    pub id: String,
    /// The feed it is a source of.
    pub feed: Option<FeedIdx>,
}

/// A relay sink as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelaySinkInfo {
    /// Its id.
    pub id: String,
    /// `http`, `tcp` or `file`.
    pub kind: String,
    /// Its consumer class.
    pub consumer: String,
    /// That class's latency objective.
    pub slo: Duration,
}

/// A venue as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VenueInfo {
    /// Code shown on the wall (`STA`).
    pub code: String,
    /// Full name.
    pub name: String,
    /// City.
    pub city: String,
    /// Its devices.
    pub devices: Vec<DeviceIdx>,
    /// Its redundancy groups.
    pub groups: Vec<GroupIdx>,
    /// Its feeds.
    pub feeds: Vec<FeedIdx>,
}

/// A device as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// Unique id (`STA-core-a`).
    pub id: String,
    /// Its venue.
    pub venue: VenueIdx,
    /// Role (`core-switch`).
    pub role: String,
    /// `snmp`, `http` or `tcp`.
    pub kind: String,
    /// Where it is probed (`snmp://127.0.0.1:20000`, a URL, `tcp://…`).
    pub target: String,
    /// Free text from the inventory.
    pub description: Option<String>,
    /// Its redundancy group, if any.
    pub group: Option<GroupIdx>,
    /// Devices it depends on.
    pub parents: Vec<DeviceIdx>,
    /// Whether its being down makes the venue red.
    pub critical: bool,
    /// How often it is polled.
    pub poll_interval: Duration,
}

/// A redundancy group as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupInfo {
    /// Unique id (`STA-core`).
    pub id: String,
    /// Its venue.
    pub venue: VenueIdx,
    /// Members that must be up.
    pub min_up: usize,
    /// Its members.
    pub members: Vec<DeviceIdx>,
}

/// A result feed as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedInfo {
    /// Unique id.
    pub id: String,
    /// Its venue.
    pub venue: VenueIdx,
    /// The primary source (the results server).
    pub primary: DeviceIdx,
    /// The backup source.
    pub backup: DeviceIdx,
    /// Consumers (`commentators`, `web_mobile`).
    pub consumers: Vec<String>,
    /// No message for this long means the feed is stale.
    pub stale_after: Duration,
}

impl Layout {
    /// The device with this id.
    pub fn device(&self, id: &str) -> Option<DeviceIdx> {
        self.devices.iter().position(|d| d.id == id).map(DeviceIdx)
    }

    /// The venue with this code.
    pub fn venue(&self, code: &str) -> Option<VenueIdx> {
        self.venues
            .iter()
            .position(|v| v.code == code)
            .map(VenueIdx)
    }

    /// The result feed with this id.
    pub fn feed(&self, id: &str) -> Option<FeedIdx> {
        self.feeds.iter().position(|f| f.id == id).map(FeedIdx)
    }

    /// The relay sink with this id.
    pub fn sink(&self, id: &str) -> Option<SinkIdx> {
        self.relay
            .as_ref()?
            .sinks
            .iter()
            .position(|s| s.id == id)
            .map(SinkIdx)
    }

    /// The redundancy group with this id.
    pub fn group(&self, id: &str) -> Option<GroupIdx> {
        self.groups.iter().position(|g| g.id == id).map(GroupIdx)
    }

    /// A device as configured.
    pub fn device_info(&self, d: DeviceIdx) -> Option<&DeviceInfo> {
        self.devices.get(d.0)
    }

    /// A venue as configured.
    pub fn venue_info(&self, v: VenueIdx) -> Option<&VenueInfo> {
        self.venues.get(v.0)
    }

    /// A redundancy group as configured.
    pub fn group_info(&self, g: GroupIdx) -> Option<&GroupInfo> {
        self.groups.get(g.0)
    }

    /// The layout of an inventory.
    pub fn from_inventory(inv: &Inventory) -> Self {
        Layout {
            event: inv.event.name.clone(),
            poll_interval: inv.event.poll_interval,
            max_attempts: inv.event.max_attempts,
            venues: inv
                .venues
                .iter()
                .map(|v| VenueInfo {
                    code: v.code.clone(),
                    name: v.name.clone(),
                    city: v.city.clone(),
                    devices: v.devices.clone(),
                    groups: v.groups.clone(),
                    feeds: v.feeds.iter().copied().map(FeedIdx).collect(),
                })
                .collect(),
            devices: inv
                .devices
                .iter()
                .map(|d| DeviceInfo {
                    id: d.id.clone(),
                    venue: d.venue,
                    role: d.role.clone(),
                    kind: d.probe.kind().to_owned(),
                    // Shown in the device pane: never the credentials.
                    target: crate::model::redact_urls(&d.probe.url()).into_owned(),
                    description: d.description.clone(),
                    group: d.group,
                    parents: d.parents.clone(),
                    critical: d.critical,
                    poll_interval: d.poll_interval,
                })
                .collect(),
            groups: inv
                .groups
                .iter()
                .map(|g| GroupInfo {
                    id: g.id.clone(),
                    venue: g.venue,
                    min_up: g.min_up,
                    members: g.members.clone(),
                })
                .collect(),
            feeds: inv
                .feeds
                .iter()
                .map(|f| FeedInfo {
                    id: f.id.clone(),
                    venue: f.venue,
                    primary: f.primary,
                    backup: f.backup,
                    consumers: f.consumers.clone(),
                    stale_after: f.stale_after,
                })
                .collect(),
            relay: inv.relay.as_ref().map(|r| RelayLayout {
                sources: r
                    .sources
                    .iter()
                    .map(|s| RelaySourceInfo {
                        id: s.id.clone(),
                        feed: s.feed.map(FeedIdx),
                    })
                    .collect(),
                sinks: r
                    .sinks
                    .iter()
                    .map(|s| RelaySinkInfo {
                        id: s.id.clone(),
                        kind: s.kind.name().to_owned(),
                        consumer: s.consumer.clone(),
                        slo: s.slo,
                    })
                    .collect(),
                routes: r.routes.iter().map(|r| r.id.clone()).collect(),
            }),
        }
    }
}

/// The live state at one moment. Immutable; consoles hold an
/// `Arc<Snapshot>` and render from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Increases by one with every snapshot the engine publishes.
    pub seq: u64,
    /// Sequence number of the last event this snapshot includes.
    pub events_seq: u64,
    /// When it was built (wall clock).
    pub at: SystemTime,
    /// When the engine started (wall clock).
    pub started: SystemTime,
    /// The static shape, shared by every snapshot.
    pub layout: Arc<Layout>,
    /// Worst of the venues.
    pub wall: Status,
    /// Each venue (indexed like `layout.venues`).
    pub venues: Vec<VenueSnap>,
    /// Each redundancy group (indexed like `layout.groups`).
    pub groups: Vec<GroupEval>,
    /// Each device (indexed like `layout.devices`).
    pub devices: Vec<Arc<DeviceSnap>>,
    /// Each device's shown-status changes and since when it has its
    /// status (indexed like `layout.devices`; shared with the previous
    /// snapshot when none changed).
    #[serde(default)]
    pub changes: Arc<Vec<Arc<Transitions>>>,
    /// Open incidents, most severe first, then oldest first.
    pub incidents: Arc<Vec<Incident>>,
    /// The TOC host itself, once sampled.
    pub host: Option<Arc<HostSample>>,
    /// The simulator's faults in force (a `toc demo`; empty otherwise),
    /// as last asked of the fault port.
    #[serde(default)]
    pub faults: Arc<Vec<SimFault>>,
    /// Why the audit log cannot be written, while it cannot (changes are
    /// refused meanwhile): consoles show a banner. `None` when it works.
    #[serde(default)]
    pub audit_failing: Option<String>,
    /// Recent events, oldest first: the last [`TICKER_LEN`] device events
    /// and the last [`TICKER_STORY_LEN`] venue, incident, command and
    /// audit events, merged.
    pub ticker: Arc<Vec<Event>>,
    /// Engine counters.
    pub stats: EngineStats,
    /// The maintenance windows in force (the file's and those set from
    /// the console), oldest first.
    pub maintenance: Arc<Vec<crate::incident::record::Maintenance>>,
    /// The newest commands, applied or refused, oldest first (the
    /// console's `:audit`; the store keeps every one).
    pub audit: Arc<Vec<super::port::AuditRecord>>,
    /// The result relay's newest summary, when it runs.
    #[serde(default)]
    pub relay: Option<Arc<crate::model::relay::RelayStatus>>,
    /// Each feed's status from the relay (indexed like `layout.feeds`;
    /// UNKNOWN until the relay reports).
    #[serde(default)]
    pub feeds: Vec<Status>,
    /// The playbooks the engine runs (from `playbooks/`), in id order;
    /// shared by every snapshot.
    #[serde(default)]
    pub playbooks: Arc<Vec<crate::config::playbook::Playbook>>,
    /// Playbook runs: every run not over, then the newest that are,
    /// oldest first.
    #[serde(default)]
    pub runs: Arc<Vec<crate::playbook::Run>>,
}

impl Snapshot {
    /// A device's live state.
    pub fn device(&self, d: DeviceIdx) -> Option<&Arc<DeviceSnap>> {
        self.devices.get(d.0)
    }

    /// A device's shown-status changes and since when it has its status.
    pub fn changes(&self, d: DeviceIdx) -> Option<&Transitions> {
        self.changes.get(d.0).map(|t| &**t)
    }

    /// A redundancy group's evaluated state.
    pub fn group(&self, g: GroupIdx) -> Option<&GroupEval> {
        self.groups.get(g.0)
    }

    /// A venue's evaluated state.
    pub fn venue(&self, v: VenueIdx) -> Option<&VenueSnap> {
        self.venues.get(v.0)
    }
}

/// Number of device events (status changes, flapping, notes) kept in
/// [`Snapshot::ticker`].
pub const TICKER_LEN: usize = 500;

/// Number of venue, incident, command and audit events kept in
/// [`Snapshot::ticker`] beside the device events, so that status churn
/// never pushes them out.
pub const TICKER_STORY_LEN: usize = 200;

/// Number of results kept in [`DeviceSnap::history`].
pub const HISTORY_LEN: usize = 20;

/// A simulator fault in force, as the fault port reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimFault {
    /// Device id, or venue code for `uplink-down`.
    pub target: String,
    /// Its kind (`down`, `uplink-down`, …).
    pub kind: String,
}

/// One venue's evaluated state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VenueSnap {
    /// Status and device counts.
    pub eval: VenueEval,
    /// Open incidents at this venue.
    pub incidents: usize,
    /// Since when it has its status (none before its first change).
    #[serde(default)]
    pub since: Option<SystemTime>,
}

/// One device's live state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceSnap {
    /// Shown status: hard status after dependencies (may be UNREACHABLE),
    /// DEGRADED when flapping, MAINTENANCE in downtime.
    pub status: Status,
    /// Status of the last check (soft or hard).
    pub raw: Status,
    /// Whether the last problem is confirmed.
    pub state_type: StateType,
    /// Consecutive non-OK results (0 when OK).
    pub attempt: u32,
    /// Why it has its status (`3 of 3 interfaces down`), if not OK.
    pub reason: Option<String>,
    /// Whether it is flapping, and the percent state change.
    pub flapping: Option<f64>,
    /// When it was last checked (none before the first check).
    pub last_check: Option<SystemTime>,
    /// Latency of the last check, when it got an answer.
    pub latency: Option<Duration>,
    /// What the last check read.
    pub readings: Vec<Reading>,
    /// Notes of the last check (`rebooted: …`).
    pub notes: Vec<String>,
    /// Recent results, oldest first (at most [`HISTORY_LEN`]).
    pub history: Vec<HistoryEntry>,
}

impl DeviceSnap {
    /// A device not yet checked.
    pub fn unpolled() -> Self {
        DeviceSnap {
            status: Status::Unknown,
            raw: Status::Unknown,
            state_type: StateType::Hard,
            attempt: 0,
            reason: Some("not yet polled".to_owned()),
            flapping: None,
            last_check: None,
            latency: None,
            readings: Vec::new(),
            notes: Vec::new(),
            history: Vec::new(),
        }
    }
}

/// One past check result of a device. Compact (32 bytes): 10,000 devices
/// keep [`HISTORY_LEN`] of them each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Milliseconds since the UNIX epoch at which the check started.
    at_ms: u64,
    /// Latency in microseconds; `u32::MAX` when there was no answer.
    latency_us: u32,
    /// Its verdict.
    pub status: Status,
    /// Whether it was soft or hard after recording.
    pub state_type: StateType,
    /// Reason of a non-OK verdict, shared with the previous entry when the
    /// same.
    reason: Option<Arc<str>>,
}

impl HistoryEntry {
    /// An entry; a latency of an hour or more is kept as just under 72
    /// minutes, a time before 1970 as 1970.
    pub fn new(
        at: SystemTime,
        status: Status,
        state_type: StateType,
        latency: Option<Duration>,
        reason: Option<Arc<str>>,
    ) -> Self {
        let at_ms = at
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let latency_us = latency.map_or(u32::MAX, |l| {
            u32::try_from(l.as_micros())
                .unwrap_or(u32::MAX - 1)
                .min(u32::MAX - 1)
        });
        HistoryEntry {
            at_ms,
            latency_us,
            status,
            state_type,
            reason,
        }
    }

    /// When the check started (to the millisecond).
    pub fn at(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(self.at_ms)
    }

    /// Latency, when answered (to the microsecond).
    pub fn latency(&self) -> Option<Duration> {
        (self.latency_us != u32::MAX).then(|| Duration::from_micros(u64::from(self.latency_us)))
    }

    /// Reason of a non-OK verdict.
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    /// The shared reason, to reuse in the next entry when it is the same.
    pub fn shared_reason(&self) -> Option<&Arc<str>> {
        self.reason.as_ref()
    }
}

/// An incident's id: the engine's run number (counted by the wiring at
/// each start) and a number within the run, shown `#3-12`. Ids never
/// collide across restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IncidentId {
    /// The engine's run.
    pub run: u32,
    /// Number within the run, from 1.
    pub n: u32,
}

impl std::fmt::Display for IncidentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.run, self.n)
    }
}

/// An open incident as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    /// Unique across restarts.
    pub id: IncidentId,
    /// What it is about (`key.kind`) and with what: its deduplication
    /// key.
    pub key: ProblemKey,
    /// Device, group, feed or sink id.
    pub subject: String,
    /// Its venue (`None` for a relay sink, which serves every venue).
    pub venue: Option<VenueIdx>,
    /// How bad (DOWN, DEGRADED or UNKNOWN).
    pub severity: Status,
    /// One line for the operator.
    pub title: String,
    /// When it opened.
    pub opened: SystemTime,
    /// Where it is in its lifecycle (open or acknowledged: resolved ones
    /// leave the list).
    #[serde(default = "open_state")]
    pub state: IncidentState,
    /// Who acknowledged it, why and until when, while acknowledged.
    #[serde(default)]
    pub ack: Option<Ack>,
    /// How many times it reopened (failed again soon after it resolved).
    #[serde(default)]
    pub reopened: u32,
    /// Its target is in maintenance: it stays, marked, and notifies no
    /// more.
    #[serde(default)]
    pub in_maintenance: bool,
    /// When it last notified (opened, escalation, acknowledgement
    /// expiry); the console shows how long it has gone unacknowledged.
    #[serde(default)]
    pub notified: Option<SystemTime>,
    /// Since when its condition has been clear, while it is: it resolves
    /// by itself after the hold.
    #[serde(default)]
    pub clear_since: Option<SystemTime>,
    /// What happened to it, oldest first: the first entry (opened) and
    /// the newest (at most [`crate::engine::state::TIMELINE_SHOWN`] in
    /// all; the store keeps every one).
    #[serde(default)]
    pub timeline: Arc<Vec<crate::incident::record::TimelineEntry>>,
}

impl Incident {
    /// The incident as a playbook sees it (to match and resolve one).
    pub fn context(&self) -> crate::playbook::Context {
        crate::playbook::Context {
            incident: self.id.to_string(),
            key: crate::engine::state::key_of(self.key, &self.subject),
            kind: self.key.kind,
            subject: self.key.subject,
            venue: self.venue,
        }
    }
}

fn open_state() -> IncidentState {
    IncidentState::Open
}

/// Something that happened, for the ticker, notifications and the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Increases by one with every event of the engine, so a console that
    /// reconnects knows what it missed.
    pub seq: u64,
    /// When.
    pub at: SystemTime,
    /// What.
    pub kind: EventKind,
}

/// The kinds of [`Event`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    /// A device's hard status changed.
    Device {
        /// Device index.
        device: DeviceIdx,
        /// Hard shown status before.
        from: Status,
        /// Hard shown status now.
        to: Status,
        /// Reason of the new status.
        reason: Option<String>,
    },
    /// Several devices of one venue changed status together, going
    /// UNREACHABLE or coming back (a path to them went or returned): one
    /// event instead of one per device.
    Devices {
        /// Their venue.
        venue: VenueIdx,
        /// How many.
        count: usize,
        /// Shown status before.
        from: Status,
        /// Shown status now.
        to: Status,
        /// The root cause when they went UNREACHABLE (`unreachable:
        /// PDP-rtr-a DOWN, PDP-rtr-b DOWN`).
        reason: Option<String>,
    },
    /// A venue's status changed.
    Venue {
        /// Venue index.
        venue: VenueIdx,
        /// Before.
        from: Status,
        /// Now.
        to: Status,
    },
    /// A device started or stopped flapping.
    Flapping {
        /// Device index.
        device: DeviceIdx,
        /// Started (true) or stopped.
        started: bool,
    },
    /// An incident opened.
    IncidentOpened {
        /// Its id.
        id: IncidentId,
        /// Its severity when it opened (the ticker shows this, not the
        /// incident's severity now).
        #[serde(default = "unknown_status")]
        severity: Status,
        /// Its title.
        title: String,
    },
    /// An open incident's problem got worse (raised) or better (lowered):
    /// the same incident, with its new severity.
    IncidentSeverity {
        /// Its id.
        id: IncidentId,
        /// Its title now.
        title: String,
        /// Severity before.
        from: Status,
        /// Severity now.
        to: Status,
    },
    /// An incident resolved itself (its condition cleared).
    IncidentResolved {
        /// Its id.
        id: IncidentId,
        /// Its title.
        title: String,
    },
    /// A person or time did something to an incident: acknowledged,
    /// noted, resolved by hand, reopened, escalated, acknowledgement
    /// expired, maintenance.
    Incident {
        /// Its id.
        id: IncidentId,
        /// What happened.
        what: TimelineKind,
        /// Who did it; none for the engine itself.
        by: Option<String>,
        /// The incident's title.
        title: String,
        /// In words (the comment, the note).
        text: String,
    },
    /// A command was applied.
    Command {
        /// Who.
        user: String,
        /// What, in one line.
        text: String,
    },
    /// The audit log started failing (nothing that changes state is
    /// applied until it works again) or works again.
    Audit {
        /// Failing (true) or written again.
        failing: bool,
        /// Why, or what.
        detail: String,
    },
    /// A note from a probe (`rebooted: …`).
    Note {
        /// Device index.
        device: DeviceIdx,
        /// The note.
        text: String,
    },
}

fn unknown_status() -> Status {
    Status::Unknown
}

impl EventKind {
    /// What a person or time did to an incident, in one line for the
    /// ticker and the log (`incident 4-17 acknowledged by dana: on it`).
    pub fn incident_line(
        id: IncidentId,
        what: TimelineKind,
        by: Option<&str>,
        title: &str,
        text: &str,
    ) -> String {
        let by = by.map_or(String::new(), |b| format!(" by {b}"));
        match what {
            TimelineKind::Note => format!("incident {id}: note{by}: {text}"),
            TimelineKind::Acknowledged => format!("incident {id} acknowledged{by}: {text}"),
            TimelineKind::Resolved => format!("incident {id} resolved{by}: {title}"),
            TimelineKind::Reopened => format!("incident {id} reopened: {title}"),
            TimelineKind::Escalated => format!("incident {id} {text}: {title}"),
            TimelineKind::AckExpired => format!("incident {id}: {text}: {title}"),
            other => format!(
                "incident {id} {}{by}: {text}",
                other.name().replace('_', " ")
            ),
        }
    }

    /// How an incident's severity moved, as the ticker and the log say
    /// it: `raised` when `to` is worse than `from`, else `lowered`.
    pub fn raised_or_lowered(from: Status, to: Status) -> &'static str {
        if to.severity() > from.severity() {
            "raised"
        } else {
            "lowered"
        }
    }
}

/// Engine counters, for the status bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EngineStats {
    /// Observations received.
    pub observations: u64,
    /// Snapshots published.
    pub snapshots: u64,
    /// Commands handled (applied or refused).
    pub commands: u64,
    /// When the latest observation that changed a hard status (or
    /// flapping) was handed to the engine (its check's start plus how long
    /// the check took). A snapshot that shows the change was built
    /// `at - last_change` after its input arrived.
    #[serde(default)]
    pub last_change: Option<SystemTime>,
}
