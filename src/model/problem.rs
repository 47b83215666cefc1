//! What can be wrong, as one type: the kind of an incident and the
//! trigger of a playbook are the same [`ProblemKind`], and an incident is
//! keyed by a typed [`ProblemKey`] (kind and subject), never by a
//! formatted string.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::topology::{DeviceIdx, FeedIdx, GroupIdx, SinkIdx};

/// A kind of problem the engine opens an incident for, and a playbook
/// names as its trigger (`kind = "device_down"` in `playbooks/*.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A device is hard DOWN (not unreachable).
    DeviceDown,
    /// A device is hard DEGRADED or flapping.
    DeviceDegraded,
    /// A polled device cannot be checked (hard UNKNOWN: credentials
    /// refused, a check that cannot decide).
    DeviceUnknown,
    /// A redundancy group lost members but still has `min_up`.
    RedundancyLost,
    /// A redundancy group is below `min_up`.
    GroupDown,
    /// A result feed went silent for longer than `stale_after` (relay).
    FeedStale,
    /// One source of a result feed went silent while the other carries
    /// it (relay redundancy lost).
    FeedDegraded,
    /// Result latency went over a consumer's SLO (relay).
    LatencySlo,
}

impl ProblemKind {
    /// Every kind, in declaration order.
    pub const ALL: [ProblemKind; 8] = [
        ProblemKind::DeviceDown,
        ProblemKind::DeviceDegraded,
        ProblemKind::DeviceUnknown,
        ProblemKind::RedundancyLost,
        ProblemKind::GroupDown,
        ProblemKind::FeedStale,
        ProblemKind::FeedDegraded,
        ProblemKind::LatencySlo,
    ];

    /// Short name (`device-down`), as shown and logged.
    pub const fn name(self) -> &'static str {
        match self {
            ProblemKind::DeviceDown => "device-down",
            ProblemKind::DeviceDegraded => "device-degraded",
            ProblemKind::DeviceUnknown => "device-unknown",
            ProblemKind::RedundancyLost => "redundancy-lost",
            ProblemKind::GroupDown => "group-down",
            ProblemKind::FeedStale => "feed-stale",
            ProblemKind::FeedDegraded => "feed-degraded",
            ProblemKind::LatencySlo => "latency-slo",
        }
    }

    /// The name used in configuration files (`device_down`).
    pub const fn config_name(self) -> &'static str {
        match self {
            ProblemKind::DeviceDown => "device_down",
            ProblemKind::DeviceDegraded => "device_degraded",
            ProblemKind::DeviceUnknown => "device_unknown",
            ProblemKind::RedundancyLost => "redundancy_lost",
            ProblemKind::GroupDown => "group_down",
            ProblemKind::FeedStale => "feed_stale",
            ProblemKind::FeedDegraded => "feed_degraded",
            ProblemKind::LatencySlo => "latency_slo",
        }
    }
}

impl ProblemKind {
    /// Kinds with the same ladder are one problem of one subject growing
    /// or shrinking (a device DEGRADED then DOWN, a group that lost
    /// redundancy then went down): one incident, raised or lowered, not
    /// one resolved and another opened.
    #[must_use]
    pub const fn ladder(self) -> u8 {
        match self {
            ProblemKind::DeviceDown | ProblemKind::DeviceDegraded | ProblemKind::DeviceUnknown => 0,
            ProblemKind::RedundancyLost | ProblemKind::GroupDown => 1,
            ProblemKind::FeedStale | ProblemKind::FeedDegraded => 2,
            ProblemKind::LatencySlo => 3,
        }
    }
}

impl ProblemKey {
    /// What identifies one incident: the subject and the kind's
    /// [ladder](ProblemKind::ladder).
    #[must_use]
    pub const fn incident(self) -> (Subject, u8) {
        (self.subject, self.kind.ladder())
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// A device (index in the inventory).
    Device(DeviceIdx),
    /// A redundancy group (index in the inventory).
    Group(GroupIdx),
    /// A result feed (index in the inventory).
    Feed(FeedIdx),
    /// A sink of the result relay (index in `[[relay.sinks]]`).
    Sink(SinkIdx),
}

/// The deduplication key of an incident: one open incident per kind and
/// subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ProblemKey {
    /// What is wrong.
    pub kind: ProblemKind,
    /// With what.
    pub subject: Subject,
}

impl ProblemKey {
    /// A device problem.
    pub const fn device(kind: ProblemKind, device: DeviceIdx) -> Self {
        ProblemKey {
            kind,
            subject: Subject::Device(device),
        }
    }

    /// A group problem.
    pub const fn group(kind: ProblemKind, group: GroupIdx) -> Self {
        ProblemKey {
            kind,
            subject: Subject::Group(group),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_and_config_names_match_serde() {
        let mut names: Vec<&str> = ProblemKind::ALL.iter().map(|k| k.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ProblemKind::ALL.len());
        for kind in ProblemKind::ALL {
            let json = serde_json::to_string(&kind).expect("serialize");
            assert_eq!(json, format!("\"{}\"", kind.config_name()));
            assert_eq!(kind.name().replace('-', "_"), kind.config_name());
        }
    }

    #[test]
    fn keys_order_by_kind_then_subject() {
        let a = ProblemKey::device(ProblemKind::DeviceDown, DeviceIdx(5));
        let b = ProblemKey::group(ProblemKind::GroupDown, GroupIdx(0));
        let c = ProblemKey::device(ProblemKind::DeviceDown, DeviceIdx(2));
        let mut keys = vec![b, a, c];
        keys.sort();
        assert_eq!(keys, vec![c, a, b]);
    }
}
