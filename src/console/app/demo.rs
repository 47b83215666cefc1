//! The demo keys (`f`, `x`): the next step of the classic outage at the
//! selected venue, decided from the faults the engine says are in force,
//! and clearing a venue's or a device's faults.

use super::{App, Effect, View, device_order, find_device, position, wall_order};
use crate::console::keymap::Context;
use crate::engine::{Command, FaultKind, Snapshot};
use crate::model::GroupIdx;

impl App {
    /// The venue a demo or clear key acts on: the selected tile on the
    /// wall, the venue on screen otherwise.
    fn current_venue(&self, snap: &Snapshot) -> Option<usize> {
        match self.view() {
            View::Wall => {
                let order = wall_order(snap, self.wall_sort, &self.filter);
                order.get(position(&order, self.wall_sel)).copied()
            }
            View::Venue(v) => Some(v),
            View::Device(d) => snap.layout.devices.get(d).map(|d| d.venue.0),
            View::Incident(id) => snap
                .incidents
                .iter()
                .find(|i| i.id == id)
                .and_then(|i| i.venue.map(|v| v.0)),
            View::Run(key) => snap
                .incidents
                .iter()
                .find(|i| i.id == key.incident)
                .and_then(|i| i.venue.map(|v| v.0)),
            View::Audit | View::Relay | View::Runs => None,
        }
    }

    /// The demo key: the next step of the classic outage, decided from
    /// the faults the engine says are in force at the venue (not from
    /// what this console sent): none: core A down; core A alone: core B
    /// down too; both (or a venue without a pair): the uplink down too;
    /// anything else: all clear. One press, one command.
    pub(super) fn demo_fault(&mut self, snap: &Snapshot) -> Effect {
        let Some(v) = self.current_venue(snap) else {
            return Effect::None;
        };
        let Some(venue) = snap.layout.venues.get(v) else {
            return Effect::None;
        };
        let code = venue.code.clone();
        let members = core_group(snap, v).unwrap_or_default();
        let id = |i: usize| snap.layout.devices.get(i).map(|d| d.id.clone());
        let (a, b) = (
            members.first().and_then(|&m| id(m)),
            members.get(1).and_then(|&m| id(m)),
        );
        let faults = venue_faults(snap, v);
        let down = |d: &Option<String>| {
            d.as_ref().is_some_and(|d| {
                faults
                    .iter()
                    .any(|(t, k)| t.eq_ignore_ascii_case(d) && k == "down")
            })
        };
        let (a_down, b_down) = (down(&a), down(&b));
        let only_core = faults.len() == usize::from(a_down) + usize::from(b_down);
        let fault = |target: String, fault: FaultKind| Command::fault(target, fault, None);
        let (label, command) = match (&a, &b) {
            (Some(a), _) if faults.is_empty() => (
                format!("demo 1/4: {a} down"),
                fault(a.clone(), FaultKind::Down),
            ),
            (Some(_), Some(b)) if only_core && a_down && !b_down => (
                format!("demo 2/4: {b} down too"),
                fault(b.clone(), FaultKind::Down),
            ),
            _ if faults.is_empty() || (only_core && a_down && (b.is_none() || b_down)) => (
                format!("demo 3/4: {code} uplink down too"),
                fault(code.clone(), FaultKind::UplinkDown),
            ),
            _ => (
                format!("demo 4/4: {code} back to normal"),
                Command::clear_faults(Some(code.clone())),
            ),
        };
        self.send(label, vec![command])
    }

    pub(super) fn demo_clear(&mut self, snap: &Snapshot) -> Effect {
        let device = match (self.context(), self.view()) {
            (Context::Device, View::Device(d)) => Some(d),
            (Context::Venue, View::Venue(v)) => {
                let order = device_order(snap, v, self.device_sort, &self.filter);
                order.get(position(&order, self.device_sel)).copied()
            }
            _ => None,
        };
        if let Some(d) = device
            && let Some(info) = snap.layout.devices.get(d)
        {
            let id = info.id.clone();
            return self.send(
                format!("clear faults on {id}"),
                vec![Command::clear_faults(Some(id))],
            );
        }
        let Some(v) = self.current_venue(snap) else {
            return Effect::None;
        };
        let code = snap.layout.venues.get(v).map(|v| v.code.clone());
        let Some(code) = code else {
            return Effect::None;
        };
        self.send(
            format!("clear faults at {code}"),
            vec![Command::clear_faults(Some(code))],
        )
    }
}

/// The faults in force at venue `v` (its uplink and its devices), as the
/// engine last said: (target, kind).
fn venue_faults(snap: &Snapshot, v: usize) -> Vec<(String, String)> {
    let Some(venue) = snap.layout.venues.get(v) else {
        return Vec::new();
    };
    snap.faults
        .iter()
        .filter(|f| {
            f.target.eq_ignore_ascii_case(&venue.code)
                || find_device(snap, &f.target)
                    .and_then(|d| snap.layout.devices.get(d))
                    .is_some_and(|d| d.venue.0 == v)
        })
        .map(|f| (f.target.clone(), f.kind.clone()))
        .collect()
}

/// The redundancy group a demo faults: the one of core switches, else the
/// first with two members or more.
fn core_group(snap: &Snapshot, venue: usize) -> Option<Vec<usize>> {
    let groups = &snap.layout.venues.get(venue)?.groups;
    let group = |g: &GroupIdx| snap.layout.group_info(*g);
    let core = groups.iter().filter_map(group).find(|g| {
        !g.members.is_empty()
            && g.members.iter().all(|&m| {
                snap.layout
                    .device_info(m)
                    .is_some_and(|d| d.role == "core-switch")
            })
    });
    let chosen = core.or_else(|| {
        groups
            .iter()
            .filter_map(group)
            .find(|g| g.members.len() >= 2)
    })?;
    Some(chosen.members.iter().map(|m| m.0).collect())
}
