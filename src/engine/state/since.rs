//! Since when: every device's and venue's shown-status changes, with the
//! time, so the console can say how long a status has held and what a
//! device went through (not only its last results, which scroll away in
//! minutes). Fed by [`State::settle`](super::State::settle) with the
//! roll-up before and after; pure.

use std::sync::Arc;
use std::time::SystemTime;

use crate::model::{Evaluation, Status, Transition, Transitions};

use super::super::snapshot::DeviceSnap;

/// The shown statuses of one roll-up, to compare with the next.
#[derive(Debug, Clone, Default)]
pub struct Shown {
    devices: Vec<Status>,
    venues: Vec<Status>,
}

impl Shown {
    /// The statuses of `eval`.
    pub fn of(eval: &Evaluation) -> Shown {
        Shown {
            devices: eval.devices.clone(),
            venues: eval.venues.iter().map(|v| v.status).collect(),
        }
    }
}

/// Per device and per venue, the last changes and since when.
#[derive(Debug)]
pub struct Since {
    devices: Vec<Arc<Transitions>>,
    venues: Vec<Option<SystemTime>>,
    /// The devices' part as last published; `None` once one changed.
    published: Option<Arc<Vec<Arc<Transitions>>>>,
}

impl Since {
    /// Nothing seen yet for `devices` devices and `venues` venues.
    pub fn new(devices: usize, venues: usize) -> Since {
        Since {
            // One shared empty record: each is copied when it changes.
            devices: std::iter::repeat_with(|| Arc::new(Transitions::default()))
                .take(devices)
                .collect(),
            venues: vec![None; venues],
            published: None,
        }
    }

    /// Records what changed between two roll-ups at `now`; `snaps` give
    /// the reasons after. A first status after UNKNOWN (never polled)
    /// counts as a change too: it is where "since" starts.
    pub fn apply(
        &mut self,
        before: &Shown,
        after: &Shown,
        snaps: &[Arc<DeviceSnap>],
        now: SystemTime,
    ) {
        for (idx, (&from, &to)) in before.devices.iter().zip(&after.devices).enumerate() {
            if from == to {
                continue;
            }
            let Some(t) = self.devices.get_mut(idx) else {
                continue;
            };
            let reason = match to {
                Status::Ok => None,
                _ => snaps.get(idx).and_then(|s| s.reason.clone()),
            };
            Arc::make_mut(t).record(Transition {
                at: now,
                from,
                to,
                reason,
            });
            self.published = None;
        }
        for (idx, (&from, &to)) in before.venues.iter().zip(&after.venues).enumerate() {
            if from != to
                && let Some(at) = self.venues.get_mut(idx)
            {
                *at = Some(now);
            }
        }
    }

    /// Since when venue `v` has its status (none before its first
    /// change).
    pub fn venue(&self, v: usize) -> Option<SystemTime> {
        self.venues.get(v).copied().flatten()
    }

    /// Every device's changes, shared with the previous snapshot when
    /// none changed.
    pub fn devices(&mut self) -> Arc<Vec<Arc<Transitions>>> {
        Arc::clone(
            self.published
                .get_or_insert_with(|| Arc::new(self.devices.clone())),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn shown(devices: &[Status], venues: &[Status]) -> Shown {
        Shown {
            devices: devices.to_vec(),
            venues: venues.to_vec(),
        }
    }

    #[test]
    fn changes_are_kept_with_time_and_reason_and_bounded() {
        let mut since = Since::new(2, 1);
        let mut snap = DeviceSnap::unpolled();
        snap.reason = Some("no answer".to_owned());
        let snaps = vec![Arc::new(DeviceSnap::unpolled()), Arc::new(snap)];
        let at = |s: u64| UNIX_EPOCH + Duration::from_secs(s);
        let unpolled = shown(&[Status::Unknown, Status::Unknown], &[Status::Unknown]);
        let up = shown(&[Status::Unknown, Status::Ok], &[Status::Ok]);
        let down = shown(&[Status::Unknown, Status::Down], &[Status::Down]);
        since.apply(&unpolled, &up, &snaps, at(10));
        since.apply(&up, &down, &snaps, at(20));
        let devices = since.devices();
        assert!(devices[0].changes.is_empty());
        assert_eq!(devices[0].since, None);
        assert_eq!(devices[1].since, Some(at(20)));
        let last: Vec<_> = devices[1].newest_first().collect();
        assert_eq!(last.len(), 2);
        assert_eq!((last[0].from, last[0].to), (Status::Ok, Status::Down));
        assert_eq!(last[0].reason.as_deref(), Some("no answer"));
        assert_eq!(last[1].reason, None, "a change to OK has no reason");
        assert_eq!(since.venue(0), Some(at(20)));
        // Unchanged: the same published vector.
        since.apply(&down, &down, &snaps, at(30));
        assert!(Arc::ptr_eq(&devices, &since.devices()));
        for i in 0..40 {
            let (before, after) = if i % 2 == 0 {
                (&down, &up)
            } else {
                (&up, &down)
            };
            since.apply(before, after, &snaps, at(40 + i));
        }
        let devices = since.devices();
        assert_eq!(devices[1].changes.len(), crate::model::TRANSITIONS_KEPT);
        assert_eq!(devices[1].since, Some(at(79)));
    }
}
