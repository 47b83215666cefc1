//! A snapshot as the change from the one before: what a console receives
//! after the first full snapshot. The server computes one [`Delta`] per
//! published snapshot and sends the same bytes to every console that has
//! the snapshot before; [`apply`] on the console rebuilds the server's
//! snapshot (tests check `apply(a, diff(a, b)) == b` for everything a
//! delta carries).
//!
//! Unchanged parts cost nothing: the engine shares what did not change
//! between snapshots (`Arc`s), and a device polled without news sends
//! nothing at all. What changes with every poll (a device's last check,
//! latency, readings, history: 2,000 polls a second at 10,000 devices)
//! goes only to the consoles looking at that device or its venue
//! ([`Focus`], [`details`]); the others keep what their full snapshot
//! had, and get it again when they look.

use std::sync::Arc;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::engine::port::AuditRecord;
use crate::engine::snapshot::{
    DeviceSnap, EngineStats, Event, Incident, SimFault, Snapshot, VenueSnap,
};
use crate::model::device::StateType;
use crate::model::device::Transitions;
use crate::model::observation::HostSample;
use crate::model::relay::RelayStatus;
use crate::model::status::Status;
use crate::model::topology::GroupEval;

/// A value that was set, possibly to nothing (`Option<Set<Option<T>>>`
/// tells "unchanged" from "now none").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Set<T> {
    /// The new value.
    pub value: T,
}

/// A list as the one before with some entries removed and some added at
/// the end: `new = old without removed ++ add`. Always exact; small when
/// the list shifted (a ring that dropped its oldest and took a new one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(serialize = "T: Serialize", deserialize = "T: Deserialize<'de>"))]
pub struct ListPatch<T> {
    /// Indexes into the old list, increasing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<u32>,
    /// Appended after what is kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<T>,
}

impl<T> Default for ListPatch<T> {
    fn default() -> Self {
        ListPatch {
            removed: Vec::new(),
            add: Vec::new(),
        }
    }
}

impl<T: PartialEq + Clone> ListPatch<T> {
    /// The patch from `old` to `new`.
    pub fn between(old: &[T], new: &[T]) -> Self {
        let mut removed = Vec::new();
        let mut j = 0;
        for (i, item) in old.iter().enumerate() {
            if new.get(j) == Some(item) {
                j += 1;
            } else {
                removed.push(u32::try_from(i).unwrap_or(u32::MAX));
            }
        }
        ListPatch {
            removed,
            add: new.get(j..).unwrap_or_default().to_vec(),
        }
    }

    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.add.is_empty()
    }

    /// `old` with the patch applied.
    pub fn apply(&self, old: &[T]) -> Result<Vec<T>, DeltaError> {
        let mut out = Vec::with_capacity(old.len() + self.add.len());
        let mut removed = self.removed.iter().peekable();
        for (i, item) in old.iter().enumerate() {
            if removed.peek().is_some_and(|&&r| r as usize == i) {
                removed.next();
            } else {
                out.push(item.clone());
            }
        }
        if removed.next().is_some() {
            return Err(DeltaError::Shape("a removed index past the list"));
        }
        out.extend(self.add.iter().cloned());
        Ok(out)
    }
}

/// One device's shown change: what the wall, the lists and the incidents
/// show (status, reason, flapping…). What only its detail shows (the last
/// check's time, latency and readings, its history) changes with every
/// poll, so it is not here: a console gets it in the full snapshot and,
/// for the venues and devices it looks at, in [`details`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DevicePatch {
    /// Device index.
    pub i: u32,
    /// See [`DeviceSnap`].
    pub status: Status,
    /// See [`DeviceSnap`].
    pub raw: Status,
    /// See [`DeviceSnap`].
    pub state_type: StateType,
    /// See [`DeviceSnap`].
    pub attempt: u32,
    /// See [`DeviceSnap`].
    pub reason: Option<String>,
    /// See [`DeviceSnap`].
    pub flapping: Option<f64>,
    /// The notes, when they changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<Vec<String>>,
    /// The last check's time, when it went from none to some or back (a
    /// device polled for the first time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_check: Option<Set<Option<SystemTime>>>,
}

impl DevicePatch {
    /// The shown change from `old` to `new`, if any.
    fn between(i: u32, old: &DeviceSnap, new: &DeviceSnap) -> Option<Self> {
        fn shown(d: &DeviceSnap) -> impl PartialEq + '_ {
            (
                d.status,
                d.raw,
                d.state_type,
                d.attempt,
                d.reason.as_deref(),
                d.flapping.map(f64::to_bits),
                d.notes.as_slice(),
                d.last_check.is_some(),
            )
        }
        (shown(old) != shown(new)).then(|| DevicePatch {
            i,
            status: new.status,
            raw: new.raw,
            state_type: new.state_type,
            attempt: new.attempt,
            reason: new.reason.clone(),
            flapping: new.flapping,
            notes: (old.notes != new.notes).then(|| new.notes.clone()),
            last_check: (old.last_check.is_some() != new.last_check.is_some()).then_some(Set {
                value: new.last_check,
            }),
        })
    }

    fn apply(&self, old: &DeviceSnap) -> DeviceSnap {
        DeviceSnap {
            status: self.status,
            raw: self.raw,
            state_type: self.state_type,
            attempt: self.attempt,
            reason: self.reason.clone(),
            flapping: self.flapping,
            notes: self.notes.clone().unwrap_or_else(|| old.notes.clone()),
            last_check: self.last_check.as_ref().map_or(old.last_check, |s| s.value),
            latency: old.latency,
            readings: old.readings.clone(),
            history: old.history.clone(),
        }
    }
}

/// The devices a console looks at (the venue or device it shows): their
/// whole state follows every poll, where the others follow only what the
/// wall shows. Empty: none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Focus {
    /// Venue codes: every device of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub venues: Vec<String>,
    /// Device ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<String>,
}

impl Focus {
    /// Whether it names nothing.
    pub fn is_empty(&self) -> bool {
        self.venues.is_empty() && self.devices.is_empty()
    }

    /// The indexes of the devices it covers in `snap`'s layout (names it
    /// does not know are left out), increasing.
    pub fn devices_in(&self, snap: &Snapshot) -> Vec<u32> {
        let layout = &snap.layout;
        let venues: Vec<usize> = layout
            .venues
            .iter()
            .enumerate()
            .filter(|(_, v)| self.venues.contains(&v.code))
            .map(|(i, _)| i)
            .collect();
        layout
            .devices
            .iter()
            .enumerate()
            .filter(|(_, d)| venues.contains(&d.venue.0) || self.devices.contains(&d.id))
            .map(|(i, _)| idx(i))
            .collect()
    }
}

/// The whole state of the devices of `focus` (indexes from
/// [`Focus::devices_in`]) that changed from `prev` to `next`, or of all of
/// them when `prev` is `None` (the focus just changed).
pub fn details(prev: Option<&Snapshot>, next: &Snapshot, focus: &[u32]) -> Vec<(u32, DeviceSnap)> {
    focus
        .iter()
        .filter_map(|&i| {
            let new = next.devices.get(i as usize)?;
            let old = prev.and_then(|p| p.devices.get(i as usize));
            (!old.is_some_and(|o| same(o, new))).then(|| (i, DeviceSnap::clone(new)))
        })
        .collect()
}

/// `snap` with the whole state of these devices put in (what
/// [`details`] sent). The snapshot's sequence number is kept.
pub fn apply_details(
    snap: &Snapshot,
    devices: &[(u32, DeviceSnap)],
) -> Result<Snapshot, DeltaError> {
    let mut next = snap.clone();
    for (i, d) in devices {
        *next
            .devices
            .get_mut(*i as usize)
            .ok_or(DeltaError::Shape("a device index"))? = Arc::new(d.clone());
    }
    Ok(next)
}

/// What changed from snapshot `from` to snapshot `seq`. A part left out
/// (`None`, or not among the indexed changes) is as it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    /// The snapshot this applies to.
    pub from: u64,
    /// The snapshot it makes.
    pub seq: u64,
    /// See [`Snapshot`].
    pub events_seq: u64,
    /// See [`Snapshot`].
    pub at: SystemTime,
    /// See [`Snapshot`].
    pub wall: Status,
    /// See [`Snapshot`].
    pub stats: EngineStats,
    /// Changed venues, by index.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub venues: Vec<(u32, VenueSnap)>,
    /// Changed groups, by index.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<(u32, GroupEval)>,
    /// Devices whose shown state changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<DevicePatch>,
    /// Changed transitions, by device index.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<(u32, Transitions)>,
    /// Changed feed statuses, by index.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feeds: Vec<(u32, Status)>,
    /// The ticker's change.
    #[serde(default, skip_serializing_if = "ListPatch::is_empty")]
    pub ticker: ListPatch<Event>,
    /// The audit list's change.
    #[serde(default, skip_serializing_if = "ListPatch::is_empty")]
    pub audit: ListPatch<AuditRecord>,
    /// The open incidents, when any changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incidents: Option<Vec<Incident>>,
    /// The host sample, when it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<Set<Option<HostSample>>>,
    /// The simulator's faults, when they changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<Vec<SimFault>>,
    /// The audit banner, when it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_failing: Option<Set<Option<String>>>,
    /// The maintenance windows, when they changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance: Option<Vec<crate::incident::record::Maintenance>>,
    /// The relay's summary, when it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay: Option<Set<Option<RelayStatus>>>,
    /// The playbooks, when they changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playbooks: Option<Vec<crate::config::playbook::Playbook>>,
    /// The playbook runs, when they changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runs: Option<Vec<crate::playbook::Run>>,
}

/// Why a delta does not apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeltaError {
    /// It is for another snapshot than the one held.
    Seq {
        /// The snapshot held.
        have: u64,
        /// The one the delta applies to.
        from: u64,
    },
    /// An index or list does not fit the snapshot held.
    Shape(&'static str),
}

impl std::fmt::Display for DeltaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeltaError::Seq { have, from } => {
                write!(f, "a delta from snapshot {from} does not apply to {have}")
            }
            DeltaError::Shape(what) => write!(f, "a delta does not fit the snapshot: {what}"),
        }
    }
}

impl std::error::Error for DeltaError {}

fn same<T: PartialEq>(a: &Arc<T>, b: &Arc<T>) -> bool {
    Arc::ptr_eq(a, b) || a == b
}

fn idx(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// The indexed entries of `new` that differ from `old` (same length).
fn changed<T: PartialEq + Clone>(old: &[T], new: &[T]) -> Vec<(u32, T)> {
    old.iter()
        .zip(new)
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .map(|(i, (_, b))| (idx(i), b.clone()))
        .collect()
}

fn option_arc<T: PartialEq + Clone>(
    old: Option<&Arc<T>>,
    new: Option<&Arc<T>>,
) -> Option<Set<Option<T>>> {
    let unchanged = match (old, new) {
        (Some(a), Some(b)) => same(a, b),
        (None, None) => true,
        _ => false,
    };
    (!unchanged).then(|| Set {
        value: new.map(|n| T::clone(n)),
    })
}

fn list<T: PartialEq + Clone>(old: &Arc<Vec<T>>, new: &Arc<Vec<T>>) -> Option<Vec<T>> {
    (!same(old, new)).then(|| new.to_vec())
}

/// The change from `prev` to `next`; `None` when only the whole snapshot
/// will do (the layout changed).
pub fn diff(prev: &Snapshot, next: &Snapshot) -> Option<Delta> {
    let shape = |s: &Snapshot| {
        (
            s.venues.len(),
            s.groups.len(),
            s.devices.len(),
            s.changes.len(),
            s.feeds.len(),
        )
    };
    if !same(&prev.layout, &next.layout) || shape(prev) != shape(next) {
        return None;
    }
    let devices = prev
        .devices
        .iter()
        .zip(&next.devices)
        .enumerate()
        .filter(|(_, (a, b))| !same(a, b))
        .filter_map(|(i, (a, b))| DevicePatch::between(idx(i), a, b))
        .collect();
    let changes = if Arc::ptr_eq(&prev.changes, &next.changes) {
        Vec::new()
    } else {
        prev.changes
            .iter()
            .zip(next.changes.iter())
            .enumerate()
            .filter(|(_, (a, b))| !same(a, b))
            .map(|(i, (_, b))| (idx(i), Transitions::clone(b)))
            .collect()
    };
    Some(Delta {
        from: prev.seq,
        seq: next.seq,
        events_seq: next.events_seq,
        at: next.at,
        wall: next.wall,
        stats: next.stats,
        venues: changed(&prev.venues, &next.venues),
        groups: changed(&prev.groups, &next.groups),
        devices,
        changes,
        feeds: changed(&prev.feeds, &next.feeds),
        ticker: if Arc::ptr_eq(&prev.ticker, &next.ticker) {
            ListPatch::default()
        } else {
            ListPatch::between(&prev.ticker, &next.ticker)
        },
        audit: if Arc::ptr_eq(&prev.audit, &next.audit) {
            ListPatch::default()
        } else {
            ListPatch::between(&prev.audit, &next.audit)
        },
        incidents: list(&prev.incidents, &next.incidents),
        host: option_arc(prev.host.as_ref(), next.host.as_ref()),
        faults: list(&prev.faults, &next.faults),
        audit_failing: (prev.audit_failing != next.audit_failing).then(|| Set {
            value: next.audit_failing.clone(),
        }),
        maintenance: list(&prev.maintenance, &next.maintenance),
        relay: option_arc(prev.relay.as_ref(), next.relay.as_ref()),
        playbooks: list(&prev.playbooks, &next.playbooks),
        runs: list(&prev.runs, &next.runs),
    })
}

/// Replaces the indexed entries of `v`.
fn put<T: Clone>(v: &mut [T], at: &[(u32, T)], what: &'static str) -> Result<(), DeltaError> {
    for (i, x) in at {
        *v.get_mut(*i as usize).ok_or(DeltaError::Shape(what))? = x.clone();
    }
    Ok(())
}

/// `base` changed by `delta`: the server's snapshot `delta.seq`, but for
/// the detail of devices (see [`DevicePatch`]), which stays as `base` had
/// it. Parts the delta leaves alone stay shared with `base`.
pub fn apply(base: &Snapshot, delta: &Delta) -> Result<Snapshot, DeltaError> {
    if base.seq != delta.from {
        return Err(DeltaError::Seq {
            have: base.seq,
            from: delta.from,
        });
    }
    let mut next = base.clone();
    next.seq = delta.seq;
    next.events_seq = delta.events_seq;
    next.at = delta.at;
    next.wall = delta.wall;
    next.stats = delta.stats;
    put(&mut next.venues, &delta.venues, "a venue index")?;
    put(&mut next.groups, &delta.groups, "a group index")?;
    put(&mut next.feeds, &delta.feeds, "a feed index")?;
    for p in &delta.devices {
        let slot = next
            .devices
            .get_mut(p.i as usize)
            .ok_or(DeltaError::Shape("a device index"))?;
        *slot = Arc::new(p.apply(slot));
    }
    if !delta.changes.is_empty() {
        let mut changes = next.changes.to_vec();
        for (i, t) in &delta.changes {
            *changes
                .get_mut(*i as usize)
                .ok_or(DeltaError::Shape("a transitions index"))? = Arc::new(t.clone());
        }
        next.changes = Arc::new(changes);
    }
    if !delta.ticker.is_empty() {
        next.ticker = Arc::new(delta.ticker.apply(&base.ticker)?);
    }
    if !delta.audit.is_empty() {
        next.audit = Arc::new(delta.audit.apply(&base.audit)?);
    }
    if let Some(v) = &delta.incidents {
        next.incidents = Arc::new(v.clone());
    }
    if let Some(Set { value }) = &delta.host {
        next.host = value.clone().map(Arc::new);
    }
    if let Some(v) = &delta.faults {
        next.faults = Arc::new(v.clone());
    }
    if let Some(Set { value }) = &delta.audit_failing {
        next.audit_failing.clone_from(value);
    }
    if let Some(v) = &delta.maintenance {
        next.maintenance = Arc::new(v.clone());
    }
    if let Some(Set { value }) = &delta.relay {
        next.relay = value.clone().map(Arc::new);
    }
    if let Some(v) = &delta.playbooks {
        next.playbooks = Arc::new(v.clone());
    }
    if let Some(v) = &delta.runs {
        next.runs = Arc::new(v.clone());
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any list to any list: the patch rebuilds the new one exactly.
        #[test]
        fn list_patch_rebuilds_any_list(
            old in proptest::collection::vec(0u8..6, 0..30),
            new in proptest::collection::vec(0u8..6, 0..30),
        ) {
            let p = ListPatch::between(&old, &new);
            prop_assert_eq!(p.apply(&old).expect("applies"), new);
        }
    }

    #[test]
    fn a_ring_that_moved_on_is_one_removal_and_one_addition() {
        let old: Vec<u32> = (0..20).collect();
        let new: Vec<u32> = (1..21).collect();
        let p = ListPatch::between(&old, &new);
        assert_eq!(
            (p.removed.as_slice(), p.add.as_slice()),
            (&[0][..], &[20][..])
        );
        assert!(ListPatch::between(&old, &old).is_empty());
        let bad = ListPatch::<u32> {
            removed: vec![25],
            add: Vec::new(),
        };
        assert_eq!(
            bad.apply(&old),
            Err(DeltaError::Shape("a removed index past the list"))
        );
    }
}
