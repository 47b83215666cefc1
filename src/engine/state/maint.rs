//! Maintenance on the board: the `[[maintenance]]` windows of
//! venues.toml, and the windows set from the console (`:maint TARGET
//! DURATION REASON`, lifted by `:maint off TARGET`), each on a device, a
//! redundancy group or a venue. A device is in maintenance while any
//! window in force covers it; an incident whose subject is covered is
//! marked and notifies no more.
//!
//! Windows set from the console are kept in the store (the task writes
//! them ahead, with their audit record) and taken back at start; the
//! file's windows are written there too, so the handover report and `toc
//! incidents` see every window in force.

use std::collections::BTreeSet;
use std::time::SystemTime;

use crate::config::venues::{MaintenanceScope, MaintenanceWindow};
use crate::incident::IncidentRecord;
use crate::incident::record::Maintenance;

use super::super::port::StoreOp;
use super::super::snapshot::Layout;

/// Who set a window of the file, as the store keeps it.
pub const FILE_BY: &str = "venues.toml";

/// One window and what it covers.
#[derive(Debug, Clone)]
struct Window {
    /// The target, times, reason and who set it.
    record: Maintenance,
    /// What the target is.
    scope: MaintenanceScope,
    /// The devices it covers.
    devices: Vec<usize>,
    /// Whether it was in force at the last look.
    active: bool,
}

impl Window {
    fn covers(&self, at: SystemTime) -> bool {
        self.record.start <= at && at < self.record.end
    }

    fn of_file(&self) -> bool {
        self.record.by == FILE_BY
    }
}

/// The windows in force or to come, and what is on the board.
#[derive(Debug, Default)]
pub struct Maint {
    /// The file's windows first, then those set from the console (at most
    /// one per target).
    windows: Vec<Window>,
    /// Devices in maintenance on the board now.
    applied: BTreeSet<usize>,
    /// Changes for the store since the last look (the file's windows at
    /// start, what the store kept that the file no longer says).
    store: Vec<StoreOp>,
}

impl Maint {
    /// The windows of the file, with the devices each covers.
    pub fn new(windows: &[MaintenanceWindow], layout: &Layout) -> Self {
        let windows = windows
            .iter()
            .map(|w| Window {
                record: Maintenance {
                    target: w.target.clone(),
                    start: w.start,
                    end: w.end,
                    reason: w.reason.clone(),
                    by: FILE_BY.to_owned(),
                },
                scope: w.scope,
                devices: covered_devices(w.scope, layout),
                active: false,
            })
            .collect();
        Maint {
            windows,
            ..Maint::default()
        }
    }

    /// What `target` names: a device, a redundancy group or a venue.
    pub fn scope_of(layout: &Layout, target: &str) -> Option<MaintenanceScope> {
        layout
            .device(target)
            .map(MaintenanceScope::Device)
            .or_else(|| layout.group(target).map(MaintenanceScope::Group))
            .or_else(|| layout.venue(target).map(MaintenanceScope::Venue))
    }

    /// How many devices a window on `scope` covers.
    pub fn devices_of(layout: &Layout, scope: MaintenanceScope) -> usize {
        covered_devices(scope, layout).len()
    }

    /// Takes back the windows the store kept (set from the console and
    /// not ended) and writes the file's windows not yet ended to the
    /// store; a window of the file the store kept that the file no longer
    /// has is ended there.
    pub fn restore(&mut self, kept: Vec<Maintenance>, layout: &Layout, now: SystemTime) {
        for record in kept {
            if record.by == FILE_BY {
                if !self
                    .windows
                    .iter()
                    .any(|w| w.of_file() && w.record.target == record.target)
                {
                    self.store.push(StoreOp::MaintenanceEnded {
                        target: record.target,
                    });
                }
                continue;
            }
            if record.end <= now {
                continue;
            }
            let Some(scope) = Self::scope_of(layout, &record.target) else {
                tracing::warn!(
                    "maintenance of `{}` kept in the store: no such device, group or venue any more; dropped",
                    record.target
                );
                self.store.push(StoreOp::MaintenanceEnded {
                    target: record.target,
                });
                continue;
            };
            self.set(record, scope, layout);
        }
        let by_hand: BTreeSet<String> = self
            .windows
            .iter()
            .filter(|w| !w.of_file())
            .map(|w| w.record.target.clone())
            .collect();
        for w in &self.windows {
            if w.of_file() && w.record.end > now && !by_hand.contains(&w.record.target) {
                self.store.push(StoreOp::Maintenance(w.record.clone()));
            }
        }
    }

    /// Sets a window from the console, replacing the one set before on
    /// the same target.
    pub fn set(&mut self, record: Maintenance, scope: MaintenanceScope, layout: &Layout) {
        self.windows
            .retain(|w| w.of_file() || w.record.target != record.target);
        self.windows.push(Window {
            devices: covered_devices(scope, layout),
            record,
            scope,
            active: false,
        });
    }

    /// The window set from the console on `target`, if any.
    pub fn by_hand(&self, target: &str) -> Option<&Maintenance> {
        self.windows
            .iter()
            .find(|w| !w.of_file() && w.record.target == target)
            .map(|w| &w.record)
    }

    /// The window of the file on `target` in force at `now`, if any.
    pub fn by_file(&self, target: &str, now: SystemTime) -> Option<&Maintenance> {
        self.windows
            .iter()
            .find(|w| w.of_file() && w.record.target == target && w.covers(now))
            .map(|w| &w.record)
    }

    /// Lifts the window set from the console on `target`; false if there
    /// was none.
    pub fn lift(&mut self, target: &str) -> bool {
        let before = self.windows.len();
        self.windows
            .retain(|w| w.of_file() || w.record.target != target);
        self.windows.len() != before
    }

    /// Whether any window started or ended since the last look.
    pub fn windows_changed(&self, now: SystemTime) -> bool {
        self.windows.iter().any(|w| w.covers(now) != w.active)
    }

    /// The devices to put in (`true`) or take out of (`false`) maintenance
    /// on the board now, and the reason of the windows in force. Windows
    /// set from the console that have ended are forgotten.
    pub fn changes(&mut self, now: SystemTime) -> (Vec<(usize, bool)>, String) {
        self.windows.retain(|w| w.of_file() || w.record.end > now);
        let mut wanted = BTreeSet::new();
        let mut reasons = Vec::new();
        for w in &mut self.windows {
            w.active = w.covers(now);
            if w.active {
                wanted.extend(w.devices.iter().copied());
                reasons.push(format!("{}: {}", w.record.target, w.record.reason));
            }
        }
        let mut out: Vec<(usize, bool)> = wanted
            .difference(&self.applied)
            .map(|d| (*d, true))
            .collect();
        out.extend(self.applied.difference(&wanted).map(|d| (*d, false)));
        self.applied = wanted;
        let reason = if reasons.is_empty() {
            "maintenance".to_owned()
        } else {
            reasons.join("; ")
        };
        (out, reason)
    }

    /// Whether an incident's subject is under maintenance now: a device in
    /// maintenance, or a group or venue a window in force names.
    pub fn covers(&self, record: &IncidentRecord, layout: &Layout) -> bool {
        if let Some(d) = layout.device(&record.subject)
            && self.applied.contains(&d.0)
        {
            return true;
        }
        self.windows
            .iter()
            .filter(|w| w.active)
            .any(|w| match w.scope {
                MaintenanceScope::Device(_) => false,
                MaintenanceScope::Group(g) => layout
                    .group_info(g)
                    .is_some_and(|info| info.id == record.subject),
                MaintenanceScope::Venue(v) => layout
                    .venue_info(v)
                    .is_some_and(|info| info.code == record.venue),
            })
    }

    /// The windows in force at the last look, oldest first.
    pub fn in_force(&self) -> Vec<Maintenance> {
        let mut out: Vec<Maintenance> = self
            .windows
            .iter()
            .filter(|w| w.active)
            .map(|w| w.record.clone())
            .collect();
        out.sort_by(|a, b| a.start.cmp(&b.start).then_with(|| a.target.cmp(&b.target)));
        out
    }

    /// Changes for the store since the last call.
    pub fn take_store(&mut self) -> Vec<StoreOp> {
        std::mem::take(&mut self.store)
    }
}

/// The devices a window's target covers.
fn covered_devices(scope: MaintenanceScope, layout: &Layout) -> Vec<usize> {
    match scope {
        MaintenanceScope::Device(d) => vec![d.0],
        MaintenanceScope::Group(g) => layout
            .group_info(g)
            .map(|g| g.members.iter().map(|d| d.0).collect())
            .unwrap_or_default(),
        MaintenanceScope::Venue(v) => layout
            .venue_info(v)
            .map(|v| v.devices.iter().map(|d| d.0).collect())
            .unwrap_or_default(),
    }
}
