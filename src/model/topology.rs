//! The status tree as plain indices (venues -> devices -> redundancy
//! groups) and its evaluation into the wall: dependencies (unreachable
//! children), redundancy groups, venue and wall roll-up.
//!
//! The config layer builds a [`Topology`]; the engine keeps one
//! [`DeviceState`] per device, in the same order, and calls [`evaluate`].
//! Only hard states reach the roll-up: a soft problem does not count in
//! dependencies, groups, venues or the wall until it is confirmed.
//! Evaluation never panics: a mismatched length or an index out of range
//! reads as UNKNOWN.

use std::fmt;

use super::device::DeviceState;
use super::status::{Status, worst};

/// Index of a device in [`Topology::devices`] and in the states slice.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct DeviceIdx(pub usize);

/// Index of a redundancy group in [`Topology::groups`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct GroupIdx(pub usize);

/// Index of a venue in [`Topology::venues`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct VenueIdx(pub usize);

/// Index of a result feed in the inventory's feeds.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct FeedIdx(pub usize);

/// Index of a sink in the relay's `[[relay.sinks]]`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct SinkIdx(pub usize);

/// The whole status tree, built by the config layer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Topology {
    /// Every device; a device's index is its [`DeviceIdx`].
    pub devices: Vec<DeviceNode>,
    /// Every redundancy group; a group's index is its [`GroupIdx`].
    pub groups: Vec<GroupNode>,
    /// Every venue; a venue's index is its [`VenueIdx`].
    pub venues: Vec<VenueNode>,
}

/// One device in the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceNode {
    /// The venue it belongs to.
    pub venue: VenueIdx,
    /// Its redundancy group, if any: then it reaches the venue only through
    /// the group.
    pub group: Option<GroupIdx>,
    /// Devices it depends on (e.g. the venue uplink).
    pub parents: Vec<DeviceIdx>,
    /// Whether its being down (outside a group) makes the venue red; a
    /// non-critical device that is down makes it orange.
    pub critical: bool,
}

/// A redundancy group: members doing the same job (e.g. a pair of core
/// switches).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupNode {
    /// The venue it belongs to.
    pub venue: VenueIdx,
    /// Members that must be up for the job to be done.
    pub min_up: usize,
    /// Its member devices.
    pub members: Vec<DeviceIdx>,
}

/// One venue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VenueNode {
    /// Every device of the venue, grouped or not.
    pub devices: Vec<DeviceIdx>,
    /// The redundancy groups of the venue.
    pub groups: Vec<GroupIdx>,
}

/// The evaluated status tree; vectors are indexed like the [`Topology`].
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Shown (hard) status of each device after dependencies (may be
    /// Unreachable).
    pub devices: Vec<Status>,
    /// Each redundancy group.
    pub groups: Vec<GroupEval>,
    /// Each venue.
    pub venues: Vec<VenueEval>,
    /// Worst of the venues.
    pub wall: Status,
}

impl Evaluation {
    /// Status of a device; UNKNOWN if out of range.
    #[must_use]
    pub fn device(&self, idx: DeviceIdx) -> Status {
        status_at(&self.devices, idx)
    }

    /// Evaluation of a group, if in range.
    #[must_use]
    pub fn group(&self, idx: GroupIdx) -> Option<&GroupEval> {
        self.groups.get(idx.0)
    }

    /// Evaluation of a venue, if in range.
    #[must_use]
    pub fn venue(&self, idx: VenueIdx) -> Option<&VenueEval> {
        self.venues.get(idx.0)
    }
}

/// An evaluated redundancy group. Its `Display` (and [`GroupEval::reason`])
/// reads like `redundancy lost: 1/2 up, min_up 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GroupEval {
    /// Status of the group.
    pub status: Status,
    /// Members that are up (OK or DEGRADED).
    pub up: usize,
    /// Number of members.
    pub total: usize,
    /// Members that must be up.
    pub min_up: usize,
    /// Members that are UNKNOWN.
    pub unknown: usize,
    /// Members in MAINTENANCE.
    pub maintenance: usize,
    /// Members UNREACHABLE (every parent down).
    pub unreachable: usize,
}

impl GroupEval {
    /// Why the group has its status, e.g. `redundancy lost: 1/2 up, min_up 1`.
    #[must_use]
    pub fn reason(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for GroupEval {
    /// Same text as [`GroupEval::reason`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let GroupEval {
            status,
            up,
            total,
            min_up,
            unknown,
            maintenance,
            unreachable,
        } = *self;
        if total == 0 {
            return f.write_str("no members");
        }
        let counts = format!("{up}/{total} up, min_up {min_up}");
        match status {
            Status::Ok => write!(f, "all up: {counts}"),
            Status::Degraded => write!(f, "redundancy lost: {counts}"),
            Status::Down => write!(f, "below min_up: {counts}"),
            Status::Unknown => write!(f, "unknown: {counts}, {unknown} unknown"),
            Status::Maintenance => {
                write!(f, "maintenance: {counts}, {maintenance} in maintenance")
            }
            Status::Unreachable => write!(f, "unreachable: {counts}, {unreachable} unreachable"),
        }
    }
}

/// An evaluated venue, with its devices counted by evaluated status (not
/// capped by criticality or groups).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VenueEval {
    /// Status of the venue: worst of its groups and ungrouped devices.
    pub status: Status,
    /// Devices DOWN.
    pub down: usize,
    /// Devices DEGRADED.
    pub degraded: usize,
    /// Devices UNREACHABLE.
    pub unreachable: usize,
    /// Devices UNKNOWN (including indices out of range).
    pub unknown: usize,
    /// Devices OK.
    pub ok: usize,
    /// Devices in MAINTENANCE.
    pub maintenance: usize,
    /// Devices of the venue.
    pub total: usize,
}

/// Evaluates the tree: device statuses after dependencies, groups, venues
/// and the wall.
///
/// `states[i]` is the state of device `i`; a missing state is UNKNOWN.
///
/// - A device counts with its shown status, [`DeviceState::status`]:
///   MAINTENANCE, else DEGRADED if flapping, else its last *hard* status. A
///   soft problem (fewer than `max_attempts` in a row) therefore counts as
///   the previous hard status (OK, or UNKNOWN before the first hard result)
///   in dependencies, groups and venues until it turns hard.
/// - A device whose shown (hard) status is DOWN or UNKNOWN, or whose latest
///   result failed (soft, or held while its parents had no verdict), with
///   at least one parent, every parent being hard DOWN or itself
///   UNREACHABLE, is UNREACHABLE. A soft-down parent is not a cause
///   (the engine holds its children's failures until it has a verdict,
///   so they stay as they were). Devices on a dependency cycle are never made
///   UNREACHABLE.
/// - A group is OK when all members are up (OK or DEGRADED); MAINTENANCE
///   when every member that is not up is in maintenance; UNKNOWN when at
///   least `min_up` are up and the others are UNKNOWN (or in maintenance):
///   whether redundancy is lost is not known; DEGRADED when at least
///   `min_up` are up and a member is down; UNKNOWN when the UNKNOWN members
///   could still make `min_up`; UNREACHABLE when members are UNREACHABLE
///   and, counting them as possibly up, the group could still do its job
///   (the cause is upstream: the group opens no incident of its own);
///   else DOWN. A group without members is UNKNOWN.
/// - A venue is the [`worst`] of its groups and of its devices outside any
///   group, a non-critical DOWN device counting as DEGRADED.
/// - The wall is the [`worst`] of the venues.
#[must_use]
pub fn evaluate(topo: &Topology, states: &[DeviceState]) -> Evaluation {
    let devices = device_statuses(topo, states);
    let groups: Vec<GroupEval> = topo
        .groups
        .iter()
        .map(|group| evaluate_group(group, &devices))
        .collect();
    let venues: Vec<VenueEval> = topo
        .venues
        .iter()
        .map(|venue| evaluate_venue(topo, venue, &devices, &groups))
        .collect();
    let wall = worst(venues.iter().map(|venue| venue.status));
    Evaluation {
        devices,
        groups,
        venues,
        wall,
    }
}

fn status_at(statuses: &[Status], idx: DeviceIdx) -> Status {
    statuses.get(idx.0).copied().unwrap_or(Status::Unknown)
}

/// Shown status of every device ([`DeviceState::status`]: maintenance,
/// flapping or the last hard status, never a soft one), with dependencies
/// applied.
fn device_statuses(topo: &Topology, states: &[DeviceState]) -> Vec<Status> {
    let count = topo.devices.len();
    let mut statuses: Vec<Status> = (0..count)
        .map(|i| states.get(i).map_or(Status::Unknown, DeviceState::status))
        .collect();
    let hard_down = |idx: usize| {
        idx < count
            && states
                .get(idx)
                .is_some_and(|state| state.hard_status() == Status::Down)
    };
    let order = parents_first(topo);
    for device in order.devices {
        let (Some(node), Some(&shown), Some(&on_cycle)) = (
            topo.devices.get(device),
            statuses.get(device),
            order.on_cycle.get(device),
        ) else {
            continue;
        };
        let failing = matches!(shown, Status::Down | Status::Unknown)
            || (shown != Status::Maintenance
                && states.get(device).is_some_and(DeviceState::is_failing));
        let unreachable = !on_cycle
            && failing
            && !node.parents.is_empty()
            && node.parents.iter().all(|parent| {
                hard_down(parent.0) || status_at(&statuses, *parent) == Status::Unreachable
            });
        if unreachable && let Some(status) = statuses.get_mut(device) {
            *status = Status::Unreachable;
        }
    }
    statuses
}

/// Devices in an order where every device comes after its parents (parents
/// out of range are skipped), and which devices lie on a cycle.
struct ParentsFirst {
    devices: Vec<usize>,
    on_cycle: Vec<bool>,
}

/// Tarjan's strongly connected components over the parent edges, without
/// recursion: a component is emitted after every component it depends on.
fn parents_first(topo: &Topology) -> ParentsFirst {
    const UNVISITED: usize = usize::MAX;
    let count = topo.devices.len();
    let parents = |device: usize| -> &[DeviceIdx] {
        topo.devices
            .get(device)
            .map_or(&[], |node| node.parents.as_slice())
    };
    let mut index = vec![UNVISITED; count];
    let mut low = vec![0; count];
    let mut on_stack = vec![false; count];
    let mut stack: Vec<usize> = Vec::new();
    let mut calls: Vec<(usize, usize)> = Vec::new();
    let mut next = 0;
    let mut result = ParentsFirst {
        devices: Vec::with_capacity(count),
        on_cycle: vec![false; count],
    };
    for root in 0..count {
        if index[root] != UNVISITED {
            continue;
        }
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        calls.push((root, 0));
        while let Some(frame) = calls.last_mut() {
            let device = frame.0;
            if let Some(parent) = parents(device).get(frame.1) {
                frame.1 += 1;
                let parent = parent.0;
                if parent >= count {
                    continue;
                }
                if index[parent] == UNVISITED {
                    index[parent] = next;
                    low[parent] = next;
                    next += 1;
                    stack.push(parent);
                    on_stack[parent] = true;
                    calls.push((parent, 0));
                } else if on_stack[parent] {
                    low[device] = low[device].min(index[parent]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(caller, _)) = calls.last() {
                low[caller] = low[caller].min(low[device]);
            }
            if low[device] == index[device] {
                let start = stack.iter().rposition(|&d| d == device).unwrap_or(0);
                let component = stack.split_off(start);
                let cyclic = component.len() > 1 || parents(device).iter().any(|p| p.0 == device);
                for member in component {
                    on_stack[member] = false;
                    result.on_cycle[member] = cyclic;
                    result.devices.push(member);
                }
            }
        }
    }
    result
}

fn evaluate_group(group: &GroupNode, devices: &[Status]) -> GroupEval {
    let (mut up, mut unknown, mut maintenance, mut unreachable) = (0, 0, 0, 0);
    for &member in &group.members {
        match status_at(devices, member) {
            status if status.is_up() => up += 1,
            Status::Unknown => unknown += 1,
            Status::Maintenance => maintenance += 1,
            Status::Unreachable => unreachable += 1,
            _ => {}
        }
    }
    let total = group.members.len();
    let min_up = group.min_up;
    let status = if total == 0 {
        Status::Unknown
    } else if up == total {
        Status::Ok
    } else if up + maintenance == total {
        Status::Maintenance
    } else if unreachable > 0
        && up + unknown + maintenance + unreachable == total
        && up + unknown + unreachable >= min_up
    {
        // No member is known to be down, and the unreachable ones may be
        // doing the job behind a failed path: the cause is upstream.
        Status::Unreachable
    } else if unreachable > 0 && up < min_up && up + unknown + unreachable >= min_up {
        // Too few known up, but enough unreachable that could be: the
        // group cannot be judged from here.
        Status::Unreachable
    } else if up >= min_up && up + unknown + maintenance == total {
        // The job is done, but whether the rest stand by is not known
        // (not yet polled, or the check cannot tell): grey, not orange.
        Status::Unknown
    } else if up >= min_up {
        Status::Degraded
    } else if up + unknown >= min_up {
        Status::Unknown
    } else {
        Status::Down
    };
    GroupEval {
        status,
        up,
        total,
        min_up,
        unknown,
        maintenance,
        unreachable,
    }
}

fn evaluate_venue(
    topo: &Topology,
    venue: &VenueNode,
    devices: &[Status],
    groups: &[GroupEval],
) -> VenueEval {
    let group_children = venue
        .groups
        .iter()
        .map(|group| groups.get(group.0).map_or(Status::Unknown, |g| g.status));
    let device_children = venue.devices.iter().filter_map(|&device| {
        let Some(node) = topo.devices.get(device.0) else {
            return Some(Status::Unknown);
        };
        let via_group = node
            .group
            .is_some_and(|group| group.0 < groups.len() && venue.groups.contains(&group));
        if via_group {
            return None;
        }
        let status = status_at(devices, device);
        Some(if status == Status::Down && !node.critical {
            Status::Degraded
        } else {
            status
        })
    });
    let mut eval = VenueEval {
        status: worst(group_children.chain(device_children)),
        down: 0,
        degraded: 0,
        unreachable: 0,
        unknown: 0,
        ok: 0,
        maintenance: 0,
        total: venue.devices.len(),
    };
    for &device in &venue.devices {
        let count = match status_at(devices, device) {
            Status::Ok => &mut eval.ok,
            Status::Degraded => &mut eval.degraded,
            Status::Down => &mut eval.down,
            Status::Unreachable => &mut eval.unreachable,
            Status::Unknown => &mut eval.unknown,
            Status::Maintenance => &mut eval.maintenance,
        };
        *count += 1;
    }
    eval
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::device::{Change, CheckResult, Policy};
    use rstest::rstest;

    use Status::{Degraded, Down, Maintenance, Ok, Unknown, Unreachable};

    /// How a test device's state is made.
    #[derive(Debug, Clone, Copy)]
    enum Kind {
        /// Hard OK.
        Up,
        /// Hard DEGRADED.
        Warn,
        /// Soft DOWN (attempt 1 of 3) after OK: shown OK (its hard status).
        SoftDown,
        /// Never polled, then soft DOWN (attempt 1 of 3): shown UNKNOWN.
        UnpolledSoftDown,
        /// Hard DOWN.
        HardDown,
        /// Hard UNKNOWN from a check.
        HardUnknown,
        /// Never polled: hard UNKNOWN.
        Unpolled,
        /// OK, in maintenance.
        Maint,
        /// Hard DOWN, in maintenance.
        MaintDown,
    }
    use Kind::{
        HardDown, HardUnknown, Maint, MaintDown, SoftDown, Unpolled, UnpolledSoftDown, Up, Warn,
    };

    fn state(kind: Kind) -> DeviceState {
        let hard = Policy {
            max_attempts: 1,
            ..Policy::default()
        };
        let soft = Policy::default();
        let mut state = DeviceState::new();
        match kind {
            Up => {
                state.record(CheckResult::Ok, &hard);
            }
            Warn => {
                state.record(CheckResult::Warn("hot".into()), &hard);
            }
            SoftDown => {
                state.record(CheckResult::Ok, &soft);
                state.record(CheckResult::Fail("lost".into()), &soft);
            }
            UnpolledSoftDown => {
                state.record(CheckResult::Fail("lost".into()), &soft);
            }
            HardDown => {
                state.record(CheckResult::Fail("dead".into()), &hard);
            }
            HardUnknown => {
                state.record(CheckResult::Unknown("auth".into()), &hard);
            }
            Unpolled => {}
            Maint => {
                state.record(CheckResult::Ok, &hard);
                state.set_maintenance(true);
            }
            MaintDown => {
                state.record(CheckResult::Fail("off".into()), &hard);
                state.set_maintenance(true);
            }
        }
        state
    }

    #[test]
    fn test_kinds_make_the_intended_states() {
        use crate::model::device::StateType::{Hard, Soft};
        // (kind, shown, hard, raw, state type, attempt)
        let cases = [
            (Up, Ok, Ok, Ok, Hard, 0),
            (Warn, Degraded, Degraded, Degraded, Hard, 1),
            (SoftDown, Ok, Ok, Down, Soft, 1),
            (UnpolledSoftDown, Unknown, Unknown, Down, Soft, 1),
            (HardDown, Down, Down, Down, Hard, 1),
            (HardUnknown, Unknown, Unknown, Unknown, Hard, 1),
            (Unpolled, Unknown, Unknown, Unknown, Hard, 0),
            (Maint, Maintenance, Ok, Ok, Hard, 0),
            (MaintDown, Maintenance, Down, Down, Hard, 1),
        ];
        for (kind, shown, hard, raw, state_type, attempt) in cases {
            let s = state(kind);
            assert_eq!(
                (
                    s.status(),
                    s.hard_status(),
                    s.raw_status(),
                    s.state_type(),
                    s.attempt()
                ),
                (shown, hard, raw, state_type, attempt),
                "{kind:?}"
            );
        }
    }

    /// Builds a topology and the matching states.
    #[derive(Default)]
    struct Builder {
        topo: Topology,
        states: Vec<DeviceState>,
    }

    impl Builder {
        fn venues(count: usize) -> Self {
            let mut b = Builder::default();
            b.topo.venues = vec![VenueNode::default(); count];
            b
        }

        fn add(
            &mut self,
            venue: usize,
            kind: Kind,
            critical: bool,
            parents: &[DeviceIdx],
        ) -> DeviceIdx {
            let idx = DeviceIdx(self.topo.devices.len());
            self.topo.devices.push(DeviceNode {
                venue: VenueIdx(venue),
                group: None,
                parents: parents.to_vec(),
                critical,
            });
            self.states.push(state(kind));
            if let Some(v) = self.topo.venues.get_mut(venue) {
                v.devices.push(idx);
            }
            idx
        }

        fn device(&mut self, venue: usize, kind: Kind) -> DeviceIdx {
            self.add(venue, kind, true, &[])
        }

        fn child(&mut self, venue: usize, kind: Kind, parents: &[DeviceIdx]) -> DeviceIdx {
            self.add(venue, kind, true, parents)
        }

        fn group(&mut self, venue: usize, min_up: usize, kinds: &[Kind]) -> GroupIdx {
            let group = GroupIdx(self.topo.groups.len());
            let members = kinds
                .iter()
                .map(|&kind| {
                    let idx = self.device(venue, kind);
                    self.topo.devices[idx.0].group = Some(group);
                    idx
                })
                .collect();
            self.topo.groups.push(GroupNode {
                venue: VenueIdx(venue),
                min_up,
                members,
            });
            if let Some(v) = self.topo.venues.get_mut(venue) {
                v.groups.push(group);
            }
            group
        }

        fn eval(&self) -> Evaluation {
            evaluate(&self.topo, &self.states)
        }
    }

    // ---- redundancy groups ----

    #[rstest]
    // 2 members, min_up 1.
    #[case::pair_2_up(1, &[Up, Up], Ok, 2)]
    #[case::pair_1_up(1, &[Up, HardDown], Degraded, 1)]
    #[case::pair_0_up(1, &[HardDown, HardDown], Down, 0)]
    #[case::pair_degraded_member_is_up(1, &[Warn, Up], Ok, 2)]
    // Soft problems do not count until hard: the member is still up.
    #[case::pair_soft_down_still_up(1, &[Up, SoftDown], Ok, 2)]
    #[case::pair_hard_and_soft_down(1, &[HardDown, SoftDown], Degraded, 1)]
    #[case::pair_all_soft_down_still_up(1, &[SoftDown, SoftDown], Ok, 2)]
    #[case::pair_unpolled_soft_down_is_unknown(1, &[HardDown, UnpolledSoftDown], Unknown, 0)]
    // 3 members, min_up 2.
    #[case::trio_3_up(2, &[Up, Up, Up], Ok, 3)]
    #[case::trio_2_up(2, &[Up, Up, HardDown], Degraded, 2)]
    #[case::trio_1_up(2, &[Up, HardDown, HardDown], Down, 1)]
    #[case::trio_0_up(2, &[HardDown, HardDown, HardDown], Down, 0)]
    // Unknown members that could still make min_up.
    #[case::pair_down_and_unknown(1, &[HardDown, Unpolled], Unknown, 0)]
    #[case::pair_all_unknown(1, &[HardUnknown, Unpolled], Unknown, 0)]
    #[case::pair_up_and_unknown(1, &[Up, HardUnknown], Unknown, 1)]
    #[case::pair_up_and_unpolled(1, &[Up, Unpolled], Unknown, 1)]
    #[case::trio_up_unknown_down(1, &[Up, HardUnknown, HardDown], Degraded, 1)]
    #[case::trio_1_up_1_unknown(2, &[Up, HardDown, HardUnknown], Unknown, 1)]
    #[case::trio_1_unknown_too_few(2, &[HardDown, HardDown, HardUnknown], Down, 0)]
    #[case::trio_2_soft_down_still_up(2, &[Up, SoftDown, SoftDown], Ok, 3)]
    // Maintenance.
    #[case::pair_all_maintenance(1, &[Maint, MaintDown], Maintenance, 0)]
    #[case::pair_up_and_maintenance(1, &[Up, MaintDown], Maintenance, 1)]
    #[case::trio_rest_in_maintenance(2, &[Up, Up, Maint], Maintenance, 2)]
    #[case::pair_down_and_maintenance(1, &[HardDown, Maint], Down, 0)]
    #[case::trio_up_maint_down(1, &[Up, Maint, HardDown], Degraded, 1)]
    fn group_thresholds(
        #[case] min_up: usize,
        #[case] kinds: &[Kind],
        #[case] status: Status,
        #[case] up: usize,
    ) {
        let mut b = Builder::venues(1);
        let g = b.group(0, min_up, kinds);
        let eval = b.eval();
        let group = eval.group(g).copied();
        assert_eq!(
            group.map(|g| (g.status, g.up, g.total, g.min_up)),
            Some((status, up, kinds.len(), min_up))
        );
    }

    #[test]
    fn group_of_unreachable_members_is_unreachable() {
        let mut b = Builder::venues(1);
        let uplink = b.device(0, HardDown);
        let g = b.group(0, 1, &[HardDown, Unpolled]);
        let members = b.topo.groups[g.0].members.clone();
        for m in &members {
            b.topo.devices[m.0].parents = vec![uplink];
        }
        let eval = b.eval();
        assert_eq!(
            members.iter().map(|&m| eval.device(m)).collect::<Vec<_>>(),
            vec![Unreachable; 2]
        );
        assert_eq!(
            eval.group(g).map(|g| (g.status, g.up, g.unreachable)),
            Some((Unreachable, 0, 2))
        );
        assert_eq!(
            eval.group(g).map(ToString::to_string).as_deref(),
            Some("unreachable: 0/2 up, min_up 1, 2 unreachable")
        );
        // The venue is as bad as its root cause, not worse.
        assert_eq!(eval.venue(VenueIdx(0)).map(|v| v.status), Some(Down));
    }

    #[test]
    fn group_without_members_is_unknown() {
        let mut b = Builder::venues(1);
        let g = b.group(0, 1, &[]);
        let eval = b.eval();
        assert_eq!(
            eval.group(g).map(|g| (g.status, g.total)),
            Some((Unknown, 0))
        );
        assert_eq!(
            eval.group(g).map(GroupEval::reason).as_deref(),
            Some("no members")
        );
    }

    #[rstest]
    #[case::ok(1, &[Up, Up], "all up: 2/2 up, min_up 1")]
    #[case::degraded(1, &[Up, HardDown], "redundancy lost: 1/2 up, min_up 1")]
    #[case::down(2, &[Up, HardDown, HardDown], "below min_up: 1/3 up, min_up 2")]
    #[case::unknown(1, &[HardDown, Unpolled], "unknown: 0/2 up, min_up 1, 1 unknown")]
    #[case::maintenance(1, &[Up, Maint], "maintenance: 1/2 up, min_up 1, 1 in maintenance")]
    fn group_reason(#[case] min_up: usize, #[case] kinds: &[Kind], #[case] reason: &str) {
        let mut b = Builder::venues(1);
        let g = b.group(0, min_up, kinds);
        let eval = b.eval();
        let group = eval.group(g).copied();
        assert_eq!(group.map(|g| g.reason()).as_deref(), Some(reason));
        assert_eq!(group.map(|g| g.to_string()).as_deref(), Some(reason));
    }

    // ---- dependencies ----

    #[rstest]
    #[case::parent_down_child_down(&[HardDown], HardDown, Unreachable)]
    // A failing child behind a hard-down parent is UNREACHABLE, soft or not.
    #[case::parent_down_child_soft_down(&[HardDown], SoftDown, Unreachable)]
    #[case::parent_down_child_unpolled_soft_down(&[HardDown], UnpolledSoftDown, Unreachable)]
    #[case::parent_down_child_unpolled(&[HardDown], Unpolled, Unreachable)]
    #[case::parent_down_child_unknown(&[HardDown], HardUnknown, Unreachable)]
    #[case::parent_down_child_ok(&[HardDown], Up, Ok)]
    #[case::parent_down_child_degraded(&[HardDown], Warn, Degraded)]
    #[case::parent_down_child_maintenance(&[HardDown], Maint, Maintenance)]
    #[case::parent_in_maintenance_but_hard_down(&[MaintDown], HardDown, Unreachable)]
    #[case::one_of_two_parents_down(&[HardDown, Up], HardDown, Down)]
    #[case::both_parents_down(&[HardDown, HardDown], HardDown, Unreachable)]
    #[case::parent_only_soft_down(&[SoftDown], HardDown, Down)]
    #[case::parent_unpolled_soft_down(&[UnpolledSoftDown], HardDown, Down)]
    #[case::parents_hard_and_soft_down(&[HardDown, SoftDown], HardDown, Down)]
    #[case::parent_unknown(&[HardUnknown], HardDown, Down)]
    #[case::parent_unpolled(&[Unpolled], HardDown, Down)]
    #[case::parent_degraded(&[Warn], HardDown, Down)]
    #[case::parent_ok(&[Up], HardDown, Down)]
    #[case::no_parent(&[], HardDown, Down)]
    fn unreachable_children(
        #[case] parents: &[Kind],
        #[case] child: Kind,
        #[case] expected: Status,
        #[values(false, true)] child_first: bool,
    ) {
        let mut b = Builder::venues(1);
        let parent_idx: Vec<DeviceIdx> = if child_first {
            // The child is device 0, its parents come after it.
            let first = parents.len();
            let ids: Vec<DeviceIdx> = (1..=first).map(DeviceIdx).collect();
            let c = b.child(0, child, &ids);
            assert_eq!(c, DeviceIdx(0));
            for &kind in parents {
                b.device(0, kind);
            }
            ids
        } else {
            parents.iter().map(|&kind| b.device(0, kind)).collect()
        };
        let c = if child_first {
            DeviceIdx(0)
        } else {
            b.child(0, child, &parent_idx)
        };
        let eval = b.eval();
        assert_eq!(eval.device(c), expected);
        // Parents keep their own status: the root cause stays visible.
        for (&p, &kind) in parent_idx.iter().zip(parents) {
            assert_eq!(eval.device(p), state(kind).status());
        }
    }

    /// A chain grandparent <- parent <- child.
    #[rstest]
    #[case::all_down(&[HardDown, HardDown, HardDown], &[Down, Unreachable, Unreachable])]
    #[case::middle_never_polled(&[HardDown, Unpolled, HardDown], &[Down, Unreachable, Unreachable])]
    #[case::middle_soft_down(&[HardDown, SoftDown, SoftDown], &[Down, Unreachable, Unreachable])]
    #[case::middle_soft_down_child_hard(&[HardDown, SoftDown, HardDown], &[Down, Unreachable, Unreachable])]
    #[case::middle_unpolled_soft_down(&[HardDown, UnpolledSoftDown, UnpolledSoftDown], &[Down, Unreachable, Unreachable])]
    #[case::middle_up(&[HardDown, Up, HardDown], &[Down, Ok, Down])]
    #[case::middle_in_maintenance(&[HardDown, Maint, HardDown], &[Down, Maintenance, Down])]
    #[case::root_soft_down_shows_ok(&[SoftDown, HardDown, HardDown], &[Ok, Down, Unreachable])]
    #[case::root_up(&[Up, HardDown, HardDown], &[Ok, Down, Unreachable])]
    #[case::root_up_leaf_soft_down(&[Up, HardDown, SoftDown], &[Ok, Down, Unreachable])]
    fn transitive_unreachable(#[case] kinds: &[Kind], #[case] expected: &[Status]) {
        let mut b = Builder::venues(1);
        let mut parent: Vec<DeviceIdx> = Vec::new();
        let mut ids = Vec::new();
        for &kind in kinds {
            let id = b.child(0, kind, &parent);
            parent = vec![id];
            ids.push(id);
        }
        let eval = b.eval();
        assert_eq!(
            ids.iter().map(|&d| eval.device(d)).collect::<Vec<_>>(),
            expected
        );
    }

    #[test]
    fn grandchild_listed_before_its_ancestors() {
        let mut b = Builder::venues(1);
        let grandchild = b.child(0, HardDown, &[DeviceIdx(1)]);
        let parent = b.child(0, HardUnknown, &[DeviceIdx(2)]);
        let root = b.device(0, HardDown);
        let eval = b.eval();
        assert_eq!(
            [
                eval.device(grandchild),
                eval.device(parent),
                eval.device(root)
            ],
            [Unreachable, Unreachable, Down]
        );
    }

    #[rstest]
    #[case::two_cycle_down(&[HardDown, HardDown], &[1, 0])]
    #[case::two_cycle_unpolled(&[Unpolled, Unpolled], &[1, 0])]
    #[case::three_cycle(&[HardDown, HardDown, HardDown], &[2, 0, 1])]
    #[case::self_loop(&[HardDown], &[0])]
    fn devices_on_a_cycle_are_not_unreachable(#[case] kinds: &[Kind], #[case] parent_of: &[usize]) {
        let mut b = Builder::venues(1);
        for (&kind, &parent) in kinds.iter().zip(parent_of) {
            b.child(0, kind, &[DeviceIdx(parent)]);
        }
        let eval = b.eval();
        let expected: Vec<Status> = kinds.iter().map(|&k| state(k).status()).collect();
        assert_eq!(eval.devices, expected);
    }

    #[test]
    fn child_of_a_cycle_still_depends_on_it() {
        let mut b = Builder::venues(1);
        let a = b.child(0, HardDown, &[DeviceIdx(1)]);
        let c = b.child(0, HardDown, &[a]);
        let d = b.child(0, HardDown, &[c]);
        assert_eq!(b.topo.devices[a.0].parents, vec![c]);
        // a <-> c is a cycle; d depends on c, which is hard down.
        let child = b.child(0, HardDown, &[a]);
        let eval = b.eval();
        assert_eq!(eval.device(a), Down);
        assert_eq!(eval.device(c), Down);
        assert_eq!(eval.device(d), Unreachable);
        assert_eq!(eval.device(child), Unreachable);
    }

    #[test]
    fn parent_out_of_range_is_not_down() {
        let mut b = Builder::venues(1);
        let c = b.child(0, HardDown, &[DeviceIdx(99)]);
        let eval = b.eval();
        assert_eq!(eval.device(c), Down);
    }

    #[test]
    fn long_chain_does_not_overflow_the_stack() {
        let mut b = Builder::venues(1);
        let mut parent: Vec<DeviceIdx> = Vec::new();
        let n = 20_000;
        for _ in 0..n {
            let id = b.child(0, HardDown, &parent);
            parent = vec![id];
        }
        // Close a huge cycle too: last -> first.
        let eval = b.eval();
        assert_eq!(eval.devices.first(), Some(&Down));
        assert!(eval.devices.iter().skip(1).all(|&s| s == Unreachable));
        b.topo.devices[0].parents = vec![DeviceIdx(n - 1)];
        let eval = b.eval();
        assert!(eval.devices.iter().all(|&s| s == Down));
    }

    // ---- venue and wall roll-up ----

    /// A venue's ungrouped devices `(kind, critical)` and groups
    /// `(min_up, members)`.
    #[rstest]
    #[case::worst_ungrouped_degraded(&[(Up, true), (Warn, true)], vec![], Degraded)]
    #[case::worst_ungrouped_down(&[(Up, true), (HardDown, true), (Warn, true)], vec![], Down)]
    // Soft problems do not count until hard.
    #[case::soft_down_is_not_down(&[(Up, true), (SoftDown, true)], vec![], Ok)]
    #[case::non_critical_soft_down_is_not_degraded(&[(Up, true), (SoftDown, false)], vec![], Ok)]
    #[case::unpolled_soft_down_is_unknown(&[(Up, true), (UnpolledSoftDown, true)], vec![], Unknown)]
    #[case::pair_soft_down_is_ok(&[(Up, true)], vec![(1, vec![Up, SoftDown])], Ok)]
    #[case::pair_both_soft_down_is_ok(&[(Up, true)], vec![(1, vec![SoftDown, SoftDown])], Ok)]
    #[case::non_critical_down_is_degraded(&[(Up, true), (HardDown, false)], vec![], Degraded)]
    #[case::non_critical_unknown_stays(&[(Up, true), (Unpolled, false)], vec![], Unknown)]
    #[case::non_critical_degraded_stays(&[(Warn, false)], vec![], Degraded)]
    #[case::pair_one_down_is_orange(&[(Up, true)], vec![(1, vec![Up, HardDown])], Degraded)]
    #[case::pair_both_down_is_red(&[(Up, true)], vec![(1, vec![HardDown, HardDown])], Down)]
    #[case::group_ok_device_down(&[(HardDown, true)], vec![(1, vec![Up, Up])], Down)]
    #[case::groups_only(&[], vec![(1, vec![Up, Up]), (1, vec![Up, Warn])], Ok)]
    #[case::unknown_group(&[(Up, true)], vec![(1, vec![HardDown, Unpolled])], Unknown)]
    #[case::maintenance_ignored(&[(Maint, true), (Up, true)], vec![], Ok)]
    #[case::maintenance_down_ignored(&[(MaintDown, true), (Up, true)], vec![], Ok)]
    #[case::maintenance_group_ignored(&[(Up, true)], vec![(1, vec![Maint, Maint])], Ok)]
    #[case::all_maintenance(&[(Maint, true), (MaintDown, false)], vec![(1, vec![Maint])], Maintenance)]
    #[case::unpolled_is_unknown(&[(Unpolled, true), (Up, true)], vec![], Unknown)]
    #[case::empty_venue_unknown(&[], vec![], Unknown)]
    fn venue_roll_up(
        #[case] ungrouped: &[(Kind, bool)],
        #[case] groups: Vec<(usize, Vec<Kind>)>,
        #[case] expected: Status,
    ) {
        let mut b = Builder::venues(1);
        for &(kind, critical) in ungrouped {
            b.add(0, kind, critical, &[]);
        }
        for (min_up, kinds) in groups {
            b.group(0, min_up, &kinds);
        }
        let eval = b.eval();
        assert_eq!(eval.venue(VenueIdx(0)).map(|v| v.status), Some(expected));
        assert_eq!(eval.wall, expected);
    }

    /// Where the device under test sits in its venue, next to a hard OK
    /// critical device.
    #[derive(Debug, Clone, Copy)]
    enum Place {
        /// Ungrouped, critical.
        Critical,
        /// Ungrouped, not critical.
        NonCritical,
        /// In a pair (`min_up` 1) whose other member is hard OK.
        Pair,
        /// Ungrouped, critical, child of a hard DOWN parent.
        BehindDownParent,
    }

    /// One result fed to the device under test (`max_attempts` 3), then its
    /// evaluated status, its venue's status (also the wall) and the hard
    /// change the result emits.
    type Poll = (CheckResult, Status, Status, Option<(Status, Status)>);

    fn ok() -> CheckResult {
        CheckResult::Ok
    }
    fn fail() -> CheckResult {
        CheckResult::Fail("no ping".into())
    }
    fn warn() -> CheckResult {
        CheckResult::Warn("hot".into())
    }

    /// Soft problems do not reach groups, venues, dependencies or the wall;
    /// the result that makes a problem hard does, at once.
    #[rstest]
    // (a) Hard OK, then failing: two failures change nothing, the third
    // does.
    #[case::pair_third_failure_degrades(Place::Pair, vec![ok()], vec![
        (fail(), Ok, Ok, None),
        (fail(), Ok, Ok, None),
        (fail(), Down, Degraded, Some((Ok, Down))),
        (fail(), Down, Degraded, None),
        (ok(), Ok, Ok, Some((Down, Ok))),
    ])]
    #[case::critical_third_failure_is_red(Place::Critical, vec![ok()], vec![
        (fail(), Ok, Ok, None),
        (fail(), Ok, Ok, None),
        (fail(), Down, Down, Some((Ok, Down))),
        (ok(), Ok, Ok, Some((Down, Ok))),
    ])]
    #[case::non_critical_third_failure_is_orange(Place::NonCritical, vec![ok()], vec![
        (fail(), Ok, Ok, None),
        (fail(), Ok, Ok, None),
        (fail(), Down, Degraded, Some((Ok, Down))),
    ])]
    #[case::critical_third_warning_is_orange(Place::Critical, vec![ok()], vec![
        (warn(), Ok, Ok, None),
        (warn(), Ok, Ok, None),
        (warn(), Degraded, Degraded, Some((Ok, Degraded))),
    ])]
    // Behind a hard-down parent, a failing result is unreachable at once.
    #[case::behind_down_parent_failure_unreachable_at_once(Place::BehindDownParent, vec![ok()], vec![
        (fail(), Unreachable, Down, None),
        (fail(), Unreachable, Down, None),
        (fail(), Unreachable, Down, Some((Ok, Down))),
    ])]
    // (b) Hard OK, soft failures, then OK: nothing ever changes.
    #[case::critical_soft_failures_then_ok(Place::Critical, vec![ok()], vec![
        (fail(), Ok, Ok, None),
        (ok(), Ok, Ok, None),
        (fail(), Ok, Ok, None),
        (fail(), Ok, Ok, None),
        (ok(), Ok, Ok, None),
    ])]
    #[case::pair_soft_failures_then_ok(Place::Pair, vec![ok()], vec![
        (fail(), Ok, Ok, None),
        (fail(), Ok, Ok, None),
        (ok(), Ok, Ok, None),
    ])]
    #[case::critical_soft_warning_then_ok(Place::Critical, vec![ok()], vec![
        (warn(), Ok, Ok, None),
        (ok(), Ok, Ok, None),
    ])]
    // (c) Never polled, then failing: UNKNOWN until hard.
    #[case::unpolled_critical_unknown_until_hard(Place::Critical, vec![], vec![
        (fail(), Unknown, Unknown, None),
        (fail(), Unknown, Unknown, None),
        (fail(), Down, Down, Some((Unknown, Down))),
    ])]
    #[case::unpolled_pair_member_unknown_until_hard(Place::Pair, vec![], vec![
        (fail(), Unknown, Unknown, None),
        (fail(), Unknown, Unknown, None),
        (fail(), Down, Degraded, Some((Unknown, Down))),
        (ok(), Ok, Ok, Some((Down, Ok))),
    ])]
    #[case::unpolled_soft_failure_then_ok(Place::Critical, vec![], vec![
        (fail(), Unknown, Unknown, None),
        (ok(), Ok, Ok, Some((Unknown, Ok))),
    ])]
    #[case::unpolled_behind_down_parent_unreachable(Place::BehindDownParent, vec![], vec![
        (fail(), Unreachable, Down, None),
        (fail(), Unreachable, Down, None),
        (fail(), Unreachable, Down, Some((Unknown, Down))),
    ])]
    fn only_hard_states_reach_the_wall(
        #[case] place: Place,
        #[case] before: Vec<CheckResult>,
        #[case] polls: Vec<Poll>,
    ) {
        let policy = Policy::default();
        assert_eq!(policy.max_attempts, 3);
        let mut b = Builder::venues(1);
        let device = match place {
            Place::Critical => b.add(0, Unpolled, true, &[]),
            Place::NonCritical => b.add(0, Unpolled, false, &[]),
            Place::Pair => {
                let g = b.group(0, 1, &[Unpolled, Up]);
                b.topo.groups[g.0].members[0]
            }
            Place::BehindDownParent => {
                let parent = b.add(0, HardDown, true, &[]);
                b.child(0, Unpolled, &[parent])
            }
        };
        if !matches!(place, Place::BehindDownParent) {
            b.device(0, Up);
        }
        for result in before {
            b.states[device.0].record(result, &policy);
        }
        for (n, (result, shown, venue, change)) in polls.into_iter().enumerate() {
            let changes = b.states[device.0].record(result, &policy);
            let hard: Vec<(Status, Status)> = changes
                .iter()
                .filter_map(|c| match *c {
                    Change::Hard { from, to } => Some((from, to)),
                    _ => None,
                })
                .collect();
            assert_eq!(hard, change.into_iter().collect::<Vec<_>>(), "poll {n}");
            let eval = b.eval();
            assert_eq!(eval.device(device), shown, "poll {n}");
            assert_eq!(
                eval.venue(VenueIdx(0)).map(|v| v.status),
                Some(venue),
                "poll {n}"
            );
            assert_eq!(eval.wall, venue, "poll {n}");
        }
    }

    #[test]
    fn venue_counts_devices_by_evaluated_status() {
        let mut b = Builder::venues(1);
        b.group(0, 1, &[Up, HardDown]);
        b.device(0, Warn);
        let switch = b.add(0, HardDown, false, &[]);
        b.child(0, HardDown, &[switch]);
        b.device(0, Unpolled);
        b.device(0, Maint);
        // Soft problems are counted by their shown (hard) status.
        b.device(0, SoftDown);
        b.device(0, UnpolledSoftDown);
        let eval = b.eval();
        assert_eq!(
            eval.venue(VenueIdx(0)).copied(),
            Some(VenueEval {
                status: Degraded,
                down: 2,
                degraded: 1,
                unreachable: 1,
                unknown: 2,
                ok: 2,
                maintenance: 1,
                total: 9,
            })
        );
    }

    #[rstest]
    #[case::all_ok(&[Up, Up], Ok)]
    #[case::one_degraded(&[Up, Warn], Degraded)]
    #[case::one_down(&[Up, HardDown, Warn], Down)]
    #[case::one_unknown(&[Up, Unpolled], Unknown)]
    #[case::one_soft_down(&[Up, SoftDown], Ok)]
    #[case::maintenance_venue_ignored(&[Maint, Up], Ok)]
    #[case::all_maintenance(&[Maint, Maint], Maintenance)]
    #[case::no_venues(&[], Unknown)]
    fn wall_is_worst_of_venues(#[case] venues: &[Kind], #[case] expected: Status) {
        let mut b = Builder::venues(venues.len());
        for (v, &kind) in venues.iter().enumerate() {
            b.device(v, kind);
        }
        let eval = b.eval();
        assert_eq!(eval.wall, expected);
        assert_eq!(eval.venues.len(), venues.len());
    }

    #[test]
    fn empty_venue_makes_wall_unknown() {
        let mut b = Builder::venues(2);
        b.device(0, Up);
        assert_eq!(b.eval().wall, Unknown);
    }

    // ---- robustness ----

    #[test]
    fn missing_states_are_unknown() {
        let mut b = Builder::venues(1);
        b.device(0, Up);
        b.device(0, Up);
        b.states.truncate(1);
        let eval = b.eval();
        assert_eq!(eval.devices, vec![Ok, Unknown]);
        assert_eq!(eval.wall, Unknown);
    }

    #[test]
    fn extra_states_are_ignored() {
        let mut b = Builder::venues(1);
        b.device(0, Up);
        b.states.push(state(HardDown));
        let eval = b.eval();
        assert_eq!(eval.devices, vec![Ok]);
        assert_eq!(eval.wall, Ok);
    }

    #[test]
    fn indices_out_of_range_are_unknown() {
        let mut b = Builder::venues(1);
        let g = b.group(0, 1, &[Up]);
        b.topo.groups[g.0].members.push(DeviceIdx(50));
        b.topo.venues[0].devices.push(DeviceIdx(60));
        b.topo.venues[0].groups.push(GroupIdx(70));
        let stray = b.device(0, HardDown);
        b.topo.devices[stray.0].group = Some(GroupIdx(80));
        let eval = b.eval();
        assert_eq!(
            eval.group(g).map(|g| (g.status, g.up, g.unknown, g.total)),
            Some((Unknown, 1, 1, 2))
        );
        let venue = eval.venue(VenueIdx(0)).copied();
        // The device with a bad group reaches the venue directly: DOWN.
        assert_eq!(
            venue.map(|v| (v.status, v.unknown, v.down, v.total)),
            Some((Down, 1, 1, 3))
        );
        assert_eq!(eval.device(DeviceIdx(60)), Unknown);
        assert!(eval.group(GroupIdx(70)).is_none());
        assert!(eval.venue(VenueIdx(1)).is_none());
    }

    #[test]
    fn bad_indices_alone_roll_up_to_unknown() {
        let topo = Topology {
            devices: vec![],
            groups: vec![],
            venues: vec![VenueNode {
                devices: vec![DeviceIdx(3)],
                groups: vec![GroupIdx(4)],
            }],
        };
        let eval = evaluate(&topo, &[]);
        assert_eq!(
            eval.venues.first().map(|v| (v.status, v.unknown, v.total)),
            Some((Unknown, 1, 1))
        );
        assert_eq!(eval.wall, Unknown);
    }

    #[test]
    fn empty_topology() {
        let eval = evaluate(&Topology::default(), &[]);
        assert!(eval.devices.is_empty() && eval.groups.is_empty() && eval.venues.is_empty());
        assert_eq!(eval.wall, Unknown);
    }
}
