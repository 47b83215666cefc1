//! Maintenance on the board: the `[[maintenance]]` windows of
//! venues.toml while they are in force, and devices put in maintenance
//! by hand (`:maint DEVICE on`). A device is in maintenance while either
//! says so; an incident whose subject is covered is marked and notifies no
//! more.

use std::collections::BTreeSet;
use std::time::SystemTime;

use crate::config::venues::{MaintenanceScope, MaintenanceWindow};
use crate::incident::IncidentRecord;

use super::super::snapshot::Layout;

/// The windows, what each covers, and the devices by hand.
#[derive(Debug, Default)]
pub struct Maint {
    /// Each window with the devices it covers.
    windows: Vec<(MaintenanceWindow, Vec<usize>)>,
    /// Which windows were in force at the last look.
    active: Vec<bool>,
    /// Devices in maintenance by hand.
    manual: BTreeSet<usize>,
    /// Devices in maintenance on the board now.
    applied: BTreeSet<usize>,
}

impl Maint {
    /// The windows of the file, with the devices each covers.
    pub fn new(windows: &[MaintenanceWindow], layout: &Layout) -> Self {
        let windows: Vec<(MaintenanceWindow, Vec<usize>)> = windows
            .iter()
            .map(|w| (w.clone(), covered_devices(&w.scope, layout)))
            .collect();
        Maint {
            active: vec![false; windows.len()],
            windows,
            manual: BTreeSet::new(),
            applied: BTreeSet::new(),
        }
    }

    /// Puts a device in or out of maintenance by hand.
    pub fn set_manual(&mut self, device: usize, on: bool) {
        if on {
            self.manual.insert(device);
        } else {
            self.manual.remove(&device);
        }
    }

    /// Whether any window started or ended since the last look.
    pub fn windows_changed(&self, now: SystemTime) -> bool {
        self.windows
            .iter()
            .zip(&self.active)
            .any(|((w, _), was)| w.covers(now) != *was)
    }

    /// The devices to put in (`true`) or take out of (`false`) maintenance
    /// on the board now, and the reason of the windows in force.
    pub fn changes(&mut self, now: SystemTime) -> (Vec<(usize, bool)>, String) {
        for ((w, _), active) in self.windows.iter().zip(self.active.iter_mut()) {
            *active = w.covers(now);
        }
        let mut wanted = self.manual.clone();
        let mut reasons = Vec::new();
        for ((w, devices), _) in self.windows.iter().zip(&self.active).filter(|(_, a)| **a) {
            wanted.extend(devices.iter().copied());
            reasons.push(format!("{}: {}", w.target, w.reason));
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
            .zip(&self.active)
            .filter(|(_, a)| **a)
            .any(|((w, _), _)| match w.scope {
                MaintenanceScope::Device(_) => false,
                MaintenanceScope::Group(g) => layout
                    .group_info(g)
                    .is_some_and(|info| info.id == record.subject),
                MaintenanceScope::Venue(v) => layout
                    .venue_info(v)
                    .is_some_and(|info| info.code == record.venue),
            })
    }
}

/// The devices a window's target covers.
fn covered_devices(scope: &MaintenanceScope, layout: &Layout) -> Vec<usize> {
    match *scope {
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
