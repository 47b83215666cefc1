//! What the engine and the console see of the result relay: summaries,
//! never messages. The relay publishes a [`RelayStatus`] about once a
//! second; the engine judges feed and sink health from it and the console
//! draws the flow.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// What identifies one ODF document: its versions ascend. The relay
/// dedups on it; the simulator's results systems and consumers key by it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct DocKey {
    /// `CompetitionCode` (empty when absent, as in ODF1 messages).
    pub competition_code: String,
    /// `DocumentCode`.
    pub document_code: String,
    /// `DocumentSubcode`.
    pub document_subcode: String,
    /// `DocumentType`.
    pub document_type: String,
    /// `DocumentSubtype`.
    pub document_subtype: String,
}

/// The relay at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RelayStatus {
    /// When it was taken.
    pub at: Option<SystemTime>,
    /// The address `POST /odf` listens on.
    pub listen: String,
    /// Whether an acknowledged message is on disk (`fsync = true`).
    pub fsync: bool,
    /// Journal: the next sequence number to be written.
    pub head: u64,
    /// Journal: the oldest sequence number still held.
    pub first: u64,
    /// Journal bytes on disk.
    pub journal_bytes: u64,
    /// Why the journal cannot write now (ingest answers 503), if so.
    pub journal_failing: Option<String>,
    /// Messages quarantined since start (kept under the data folder).
    pub quarantined: u64,
    /// Each configured source, in file order.
    pub sources: Vec<SourceStatus>,
    /// Each configured sink, in file order.
    pub sinks: Vec<SinkStatus>,
    /// Each feed's active source (`None`: both are accepted).
    pub active: Vec<(String, Option<String>)>,
    /// Each route: its id, what it matches and its sinks, as in force.
    pub routes: Vec<RouteStatus>,
    /// The newest message headers, oldest first (at most [`TAIL`]).
    pub tail: Vec<TailEntry>,
}

/// How many headers [`RelayStatus::tail`] keeps.
pub const TAIL: usize = 100;

/// One source (a results server posting ODF).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceStatus {
    /// Its id in `[[relay.sources]]`.
    pub id: String,
    /// The feed it belongs to, when it is a feed's primary or backup.
    pub feed: Option<String>,
    /// Messages per second over the last few seconds.
    pub rate: f64,
    /// When it last sent anything (keep-alives included).
    pub last: Option<SystemTime>,
    /// Counts since start.
    pub counts: Counts,
}

/// What became of the messages of a source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Journaled and routed to sinks.
    pub forwarded: u64,
    /// The same document and version was already forwarded.
    pub duplicate: u64,
    /// An older version of a document after a newer one.
    pub stale: u64,
    /// Not well-formed or not ODF: kept aside with the reason.
    pub quarantined: u64,
    /// From a source that is not the feed's active one: answered, not
    /// forwarded.
    pub standby: u64,
    /// Keep-alives (`DT_KA`): answered, counted, not forwarded.
    pub keepalive: u64,
}

/// How a sink is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SinkState {
    /// Delivering, or waiting for messages.
    #[default]
    Running,
    /// Paused by an operator: its backlog grows on disk.
    Paused,
    /// Its consumer does not take messages (retrying with backoff).
    Failing,
}

/// One sink (a consumer of the relay).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SinkStatus {
    /// Its id in `[[relay.sinks]]`.
    pub id: String,
    /// `http`, `tcp` or `file`.
    pub kind: String,
    /// Its consumer class (a key of `[event.slo]`).
    pub consumer: String,
    /// That class's latency objective.
    pub slo: Duration,
    /// Running, paused or failing.
    pub state: SinkState,
    /// Why it is failing, in words.
    pub error: Option<String>,
    /// The next journal sequence number it will deliver.
    pub cursor: u64,
    /// Messages in the journal it has not passed yet.
    pub backlog: u64,
    /// Messages delivered per second over the last few seconds.
    pub rate: f64,
    /// Delivered since start.
    pub delivered: u64,
    /// Latency from ingest to delivery over the last minute: median.
    pub p50: Option<Duration>,
    /// Latency from ingest to delivery over the last minute: 99th
    /// percentile.
    pub p99: Option<Duration>,
}

/// A route as in force.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteStatus {
    /// Its id (`route-1` when the file gives none).
    pub id: String,
    /// What it matches, in words (`discipline=ATH`, or `everything`).
    pub matches: String,
    /// The sinks it sends to.
    pub sinks: Vec<String>,
}

/// What became of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Journaled and routed.
    Forwarded,
    /// Already forwarded from the other source.
    Duplicate,
    /// Older than a version already forwarded.
    Stale,
    /// Not well-formed or not ODF.
    Quarantined,
    /// From the feed's standby source.
    Standby,
    /// A keep-alive.
    KeepAlive,
}

impl Outcome {
    /// The word shown in the console's tail.
    pub const fn word(self) -> &'static str {
        match self {
            Outcome::Forwarded => "forwarded",
            Outcome::Duplicate => "duplicate",
            Outcome::Stale => "stale",
            Outcome::Quarantined => "quarantined",
            Outcome::Standby => "standby",
            Outcome::KeepAlive => "keep-alive",
        }
    }
}

/// One line of the tail of recent headers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TailEntry {
    /// When it arrived.
    pub at: SystemTime,
    /// Which source sent it.
    pub source: String,
    /// `DocumentCode`.
    pub document_code: String,
    /// `DocumentType`.
    pub document_type: String,
    /// `Version`.
    pub version: u64,
    /// `ResultStatus`, when it has one.
    pub result_status: Option<String>,
    /// What became of it.
    pub outcome: Outcome,
    /// The journal sequence number, when it was journaled.
    pub seq: Option<u64>,
    /// Why it was quarantined.
    pub reason: Option<String>,
}

/// Where a replay starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplayFrom {
    /// From this journal sequence number.
    Seq(u64),
    /// From the first message received at or after this time.
    Time(SystemTime),
}

/// What an operator reroutes. Each is applied atomically by the relay,
/// audited by the engine, and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum RelayCommand {
    /// Take a feed's messages from one source only (`None`: accept both,
    /// the first copy of each version wins).
    Source {
        /// Feed id (`STA-results`).
        feed: String,
        /// The source to take messages from.
        source: Option<String>,
    },
    /// Point a route at other sinks.
    Route {
        /// Route id.
        route: String,
        /// Its new sinks.
        sinks: Vec<String>,
    },
    /// Stop delivering to a sink; its backlog grows on disk.
    Pause {
        /// Sink id.
        sink: String,
    },
    /// Deliver to a paused sink again, from where it stopped.
    Resume {
        /// Sink id.
        sink: String,
    },
    /// Deliver to a sink again from an earlier point of the journal.
    Replay {
        /// Sink id.
        sink: String,
        /// Where to start.
        from: ReplayFrom,
    },
}

impl std::fmt::Display for RelayCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RelayCommand::Source {
                feed,
                source: Some(s),
            } => write!(f, "feed {feed}: take {s} only"),
            RelayCommand::Source { feed, source: None } => {
                write!(f, "feed {feed}: accept both sources")
            }
            RelayCommand::Route { route, sinks } => {
                write!(f, "route {route} to {}", sinks.join(", "))
            }
            RelayCommand::Pause { sink } => write!(f, "pause sink {sink}"),
            RelayCommand::Resume { sink } => write!(f, "resume sink {sink}"),
            RelayCommand::Replay {
                sink,
                from: ReplayFrom::Seq(n),
            } => write!(f, "replay sink {sink} from #{n}"),
            RelayCommand::Replay {
                sink,
                from: ReplayFrom::Time(t),
            } => write!(
                f,
                "replay sink {sink} from {}",
                humantime::format_rfc3339_seconds(*t)
            ),
        }
    }
}
