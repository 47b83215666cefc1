//! The raw serde types of `venues.toml`: exactly the keys of
//! docs/config.md, each value with its span, nothing checked beyond its
//! TOML type. [`super::read`] fills them in; [`super::check`] turns them
//! into the [`super::model`] types.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use crate::config::value::{Dur, OneOrMany, Percent, Size};

/// `[event]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEvent {
    pub(super) name: Spanned<String>,
    pub(super) poll_interval: Option<Spanned<Dur>>,
    pub(super) timeout: Option<Spanned<Dur>>,
    pub(super) retries: Option<Spanned<i64>>,
    pub(super) max_attempts: Option<Spanned<i64>>,
    pub(super) flap_high: Option<Spanned<Percent>>,
    pub(super) flap_low: Option<Spanned<Percent>>,
    pub(super) data_dir: Option<Spanned<String>>,
    pub(super) log_max_size: Option<Spanned<Size>>,
    pub(super) log_keep: Option<Spanned<i64>>,
    pub(super) audit_max_size: Option<Spanned<Size>>,
    pub(super) audit_keep: Option<Spanned<i64>>,
    #[serde(default)]
    pub(super) slo: BTreeMap<Spanned<String>, Spanned<Dur>>,
}

/// The body of a `[profiles.NAME]` table; which keys apply depends on
/// `version`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProfile {
    pub(super) version: Spanned<String>,
    pub(super) community: Option<Spanned<String>>,
    pub(super) community_env: Option<Spanned<String>>,
    pub(super) user: Option<Spanned<String>>,
    pub(super) auth: Option<Spanned<String>>,
    pub(super) auth_passphrase_env: Option<Spanned<String>>,
    pub(super) privacy: Option<Spanned<String>>,
    pub(super) privacy_passphrase_env: Option<Spanned<String>>,
}

/// The keys of a `[[venues]]` table other than its lists.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVenueHeader {
    pub(super) code: Spanned<String>,
    pub(super) name: Spanned<String>,
    pub(super) city: Spanned<String>,
    #[serde(default)]
    pub(super) sports: Vec<String>,
}

/// A `[[venues.devices]]` table; which keys apply depends on the probe
/// scheme.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDevice {
    pub(super) id: Spanned<String>,
    pub(super) role: Spanned<String>,
    pub(super) probe: Spanned<String>,
    pub(super) description: Option<String>,
    pub(super) profile: Option<Spanned<String>>,
    pub(super) context: Option<Spanned<String>>,
    pub(super) group: Option<Spanned<String>>,
    pub(super) parent: Option<Spanned<OneOrMany>>,
    pub(super) critical: Option<bool>,
    pub(super) interfaces: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) cpu_threshold: Option<Spanned<i64>>,
    pub(super) expect_status: Option<Spanned<i64>>,
    pub(super) body_contains: Option<Spanned<String>>,
    pub(super) json_field: Option<Spanned<String>>,
    pub(super) json_expect: Option<Spanned<String>>,
    pub(super) latency_warn: Option<Spanned<Dur>>,
    pub(super) tls_verify: Option<Spanned<bool>>,
    pub(super) poll_interval: Option<Spanned<Dur>>,
    pub(super) timeout: Option<Spanned<Dur>>,
}

/// A `[[venues.groups]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGroup {
    pub(super) id: Spanned<String>,
    pub(super) min_up: Spanned<i64>,
    pub(super) description: Option<String>,
}

/// A `[[venues.feeds]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFeed {
    pub(super) id: Spanned<String>,
    pub(super) primary: Spanned<String>,
    pub(super) backup: Spanned<String>,
    pub(super) consumers: Spanned<Vec<Spanned<String>>>,
    pub(super) stale_after: Spanned<Dur>,
}

/// A `[[maintenance]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMaintenance {
    pub(super) target: Spanned<String>,
    pub(super) start: Spanned<String>,
    pub(super) end: Option<Spanned<String>>,
    pub(super) duration: Option<Spanned<Dur>>,
    pub(super) reason: Spanned<String>,
}

/// `ack_timeout` of `[incidents]`, by severity.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAckTimeout {
    pub(super) down: Option<Spanned<Dur>>,
    pub(super) degraded: Option<Spanned<Dur>>,
    pub(super) unknown: Option<Spanned<Dur>>,
}

/// `[incidents]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIncidents {
    pub(super) resolve_hold: Option<Spanned<Dur>>,
    pub(super) reopen_window: Option<Spanned<Dur>>,
    pub(super) ack_timeout: Option<RawAckTimeout>,
    pub(super) notify_command: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) notify_timeout: Option<Spanned<Dur>>,
    pub(super) bell: Option<bool>,
}

/// A `[[venues]]` table: its header and the lists that read without
/// errors.
#[derive(Debug)]
pub(super) struct RawVenue {
    pub(super) span: Range<usize>,
    pub(super) header: Option<RawVenueHeader>,
    pub(super) devices: Vec<RawDevice>,
    pub(super) groups: Vec<RawGroup>,
    pub(super) feeds: Vec<RawFeed>,
}

/// The whole file, as far as it could be read.
#[derive(Debug)]
pub(super) struct RawDocument {
    pub(super) event: Option<RawEvent>,
    /// No `[event]` key at all (as opposed to a broken one).
    pub(super) event_missing: bool,
    pub(super) profiles: Vec<RawProfileEntry>,
    pub(super) venues: Vec<RawVenue>,
    /// The `[[maintenance]]` tables that read without errors.
    pub(super) maintenance: Vec<RawMaintenance>,
    /// `[incidents]`, when present and read without errors.
    pub(super) incidents: Option<RawIncidents>,
    /// `[relay]`, when present (its lists read entry by entry).
    pub(super) relay: Option<RawRelay>,
    /// `[playbooks]`, when present and read without errors.
    pub(super) playbooks: Option<RawPlaybooks>,
    /// `[api]`, when present and read without errors.
    pub(super) api: Option<RawApi>,
}

/// `[api]`: the API of `toc serve`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApi {
    pub(super) listen: Option<Spanned<String>>,
    pub(super) socket: Option<Spanned<String>>,
    pub(super) tls_cert: Option<Spanned<String>>,
    pub(super) tls_key: Option<Spanned<String>>,
    pub(super) max_consoles: Option<Spanned<i64>>,
    pub(super) updates_per_second: Option<Spanned<i64>>,
}

/// `[playbooks]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPlaybooks {
    pub(super) dir: Option<Spanned<String>>,
    pub(super) shell: Option<bool>,
}

/// A `[profiles.NAME]` table: its name, and its body when that read
/// without errors.
#[derive(Debug)]
pub(super) struct RawProfileEntry {
    pub(super) name: Spanned<String>,
    pub(super) body: Option<RawProfile>,
}

/// The keys of `[relay]` other than its lists.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRelayHeader {
    pub(super) listen: Option<Spanned<String>>,
    pub(super) max_message: Option<Spanned<Size>>,
    pub(super) fsync: Option<bool>,
    pub(super) segment_size: Option<Spanned<Size>>,
}

/// A `[[relay.sources]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRelaySource {
    pub(super) id: Spanned<String>,
    pub(super) token_env: Spanned<String>,
}

/// A `[[relay.sinks]]` table; which of `url`, `listen` and `dir` applies
/// depends on `kind`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRelaySink {
    pub(super) id: Spanned<String>,
    pub(super) kind: Spanned<String>,
    pub(super) url: Option<Spanned<String>>,
    pub(super) listen: Option<Spanned<String>>,
    pub(super) dir: Option<Spanned<String>>,
    pub(super) consumer: Spanned<String>,
}

/// A `[[relay.routes]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRelayRoute {
    pub(super) id: Option<Spanned<String>>,
    pub(super) sinks: Spanned<Vec<Spanned<String>>>,
    pub(super) discipline: Option<Spanned<String>>,
    pub(super) document_type: Option<Spanned<String>>,
    pub(super) feed: Option<Spanned<String>>,
    pub(super) source: Option<Spanned<String>>,
}

/// `[relay]`: its header and the list entries that read without errors.
#[derive(Debug)]
pub(super) struct RawRelay {
    /// The span of the `relay` key: where "no sources" points.
    pub(super) span: Range<usize>,
    pub(super) header: Option<RawRelayHeader>,
    pub(super) sources: Vec<RawRelaySource>,
    pub(super) sinks: Vec<RawRelaySink>,
    pub(super) routes: Vec<RawRelayRoute>,
    /// A list entry had errors of its own: "no sources" and "no sinks"
    /// are then not reported again.
    pub(super) broken_entries: bool,
}
