//! The second pass over devices, once every id is known: a device's
//! group and parents, and parent cycles.

use toml::Spanned;

use super::{Build, PendingDevice};
use crate::config::value::OneOrMany;
use crate::config::venues::cx::Cx;
use crate::config::venues::model::Device;
use crate::config::venues::raw::RawDevice;
use crate::model::topology::DeviceIdx;

/// A device on the search path, and the index of its next parent to
/// visit.
#[derive(Clone, Copy)]
struct Frame {
    node: usize,
    next: usize,
}

impl Cx<'_> {
    /// Resolves a device's group and parents by id.
    pub(super) fn resolve_device_refs(&mut self, didx: DeviceIdx, d: &RawDevice, b: &mut Build) {
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

    /// Reports each parent cycle once, at the device of the cycle that
    /// comes first in the file.
    pub(super) fn check_cycles(&mut self, devices: &[Device], raw: &[PendingDevice]) {
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
            let mut stack = vec![Frame {
                node: start,
                next: 0,
            }];
            if let Some(m) = mark.get_mut(start) {
                *m = Mark::Active;
            }
            while let Some(Frame { node, next }) = stack.last().copied() {
                let parents = devices.get(node).map_or(&[][..], |d| d.parents.as_slice());
                if let Some(p) = parents.get(next) {
                    if let Some(top) = stack.last_mut() {
                        top.next += 1;
                    }
                    match mark.get(p.0).copied() {
                        Some(Mark::New) => {
                            if let Some(m) = mark.get_mut(p.0) {
                                *m = Mark::Active;
                            }
                            stack.push(Frame { node: p.0, next: 0 });
                        }
                        Some(Mark::Active) => {
                            let pos = stack.iter().position(|f| f.node == p.0).unwrap_or(0);
                            let cycle: Vec<usize> =
                                stack.iter().skip(pos).map(|f| f.node).collect();
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
                                .find(|pending| pending.idx.0 == first)
                                .and_then(|pending| pending.raw.parent.as_ref().map(Spanned::span))
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
}
