//! The incident book: one open incident per problem (kind and subject),
//! opened when a problem appears on the board and resolved when it
//! clears. Ids carry the engine's run number, so they never collide
//! across restarts. The lifecycle a duty manager works (acknowledge,
//! notes, manual resolve, reopen) comes with the incident store.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use crate::model::{Status, Subject};

use super::super::snapshot::{Incident, IncidentId};
use super::board::Problem;

/// What reconciling the book with the board changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncidentChange {
    /// A new problem: this incident opened.
    Opened(Incident),
    /// The same problem got worse or better: this incident, as it is now,
    /// and its severity before.
    Severity(Incident, Status),
    /// Its problem cleared: this incident resolved.
    Resolved(Incident),
}

/// Open incidents by problem.
#[derive(Debug)]
pub struct IncidentBook {
    run: u32,
    next: u32,
    /// Keyed by subject and ladder: a problem that grows or shrinks stays
    /// one incident.
    open: BTreeMap<(Subject, u8), Incident>,
    /// Each venue's place in the wall's order (by code), for sorting.
    venue_rank: Vec<usize>,
    /// The open incidents, sorted as published.
    list: Arc<Vec<Incident>>,
}

impl IncidentBook {
    /// An empty book whose ids are `run-1`, `run-2`, … Incidents sort like
    /// the wall: most severe first, then by venue in `venue_rank` order
    /// (each venue's place; a missing one sorts last), then oldest first.
    pub fn new(run: u32, venue_rank: Vec<usize>) -> Self {
        IncidentBook {
            run,
            next: 1,
            open: BTreeMap::new(),
            venue_rank,
            list: Arc::new(Vec::new()),
        }
    }

    /// The open incidents, most severe first, then by venue, then oldest
    /// first.
    pub fn list(&self) -> &Arc<Vec<Incident>> {
        &self.list
    }

    /// Open incidents per venue, for `venues` venues.
    pub fn per_venue(&self, venues: usize) -> Vec<usize> {
        let mut n = vec![0usize; venues];
        for incident in self.open.values() {
            if let Some(c) = n.get_mut(incident.venue.0) {
                *c += 1;
            }
        }
        n
    }

    /// Opens an incident for every problem that has none, raises or
    /// lowers those whose problem changed severity (keeping their id and
    /// opening time; the title follows the problem), and resolves those
    /// whose problem is gone; returns what changed, resolutions first.
    pub fn apply(&mut self, problems: Vec<Problem>, now: SystemTime) -> Vec<IncidentChange> {
        let wanted: BTreeMap<(Subject, u8), Problem> = problems
            .into_iter()
            .map(|p| (p.key.incident(), p))
            .collect();
        let gone: Vec<(Subject, u8)> = self
            .open
            .keys()
            .filter(|k| !wanted.contains_key(*k))
            .copied()
            .collect();
        let mut changes = Vec::new();
        let mut touched = false;
        for key in gone {
            if let Some(incident) = self.open.remove(&key) {
                changes.push(IncidentChange::Resolved(incident));
            }
        }
        for (key, problem) in wanted {
            if let Some(incident) = self.open.get_mut(&key) {
                let before = incident.severity;
                if incident.key != problem.key
                    || incident.title != problem.title
                    || before != problem.severity
                {
                    incident.key = problem.key;
                    incident.title = problem.title;
                    incident.severity = problem.severity;
                    touched = true;
                    if before != problem.severity {
                        changes.push(IncidentChange::Severity(incident.clone(), before));
                    }
                }
                continue;
            }
            let id = IncidentId {
                run: self.run,
                n: self.next,
            };
            self.next = self.next.saturating_add(1);
            let incident = Incident {
                id,
                key: problem.key,
                subject: problem.subject,
                venue: problem.venue,
                severity: problem.severity,
                title: problem.title,
                opened: now,
            };
            self.open.insert(key, incident.clone());
            changes.push(IncidentChange::Opened(incident));
        }
        if touched || !changes.is_empty() {
            let rank = |i: &Incident| {
                self.venue_rank
                    .get(i.venue.0)
                    .copied()
                    .unwrap_or(usize::MAX)
            };
            let mut list: Vec<Incident> = self.open.values().cloned().collect();
            list.sort_by(|a, b| {
                b.severity
                    .severity()
                    .cmp(&a.severity.severity())
                    .then(rank(a).cmp(&rank(b)))
                    .then(a.opened.cmp(&b.opened))
                    .then(a.id.cmp(&b.id))
            });
            self.list = Arc::new(list);
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::model::{DeviceIdx, GroupIdx, ProblemKey, ProblemKind, Status, VenueIdx};

    fn t(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(s)
    }

    fn down(device: usize) -> Problem {
        Problem {
            key: ProblemKey::device(ProblemKind::DeviceDown, DeviceIdx(device)),
            subject: format!("dev-{device}"),
            venue: VenueIdx(0),
            severity: Status::Down,
            title: format!("dev-{device} down"),
        }
    }

    fn lost(group: usize) -> Problem {
        Problem {
            key: ProblemKey::group(ProblemKind::RedundancyLost, GroupIdx(group)),
            subject: format!("grp-{group}"),
            venue: VenueIdx(1),
            severity: Status::Degraded,
            title: format!("grp-{group} redundancy lost"),
        }
    }

    #[test]
    fn a_problem_opens_one_incident_until_it_clears() {
        let mut book = IncidentBook::new(7, vec![0, 1]);
        let opened = book.apply(vec![down(3), lost(0)], t(1));
        assert_eq!(opened.len(), 2);
        assert!(book.apply(vec![down(3), lost(0)], t(2)).is_empty());
        assert_eq!(book.list().len(), 2);
        assert_eq!(book.list()[0].severity, Status::Down, "most severe first");
        assert_eq!(book.per_venue(2), vec![1, 1]);
        let changes = book.apply(vec![lost(0)], t(3));
        let [IncidentChange::Resolved(gone)] = changes.as_slice() else {
            panic!("{changes:?}");
        };
        assert_eq!(gone.subject, "dev-3");
        assert_eq!(gone.opened, t(1));
    }

    #[test]
    fn ids_carry_the_run_and_never_repeat() {
        let mut a = IncidentBook::new(1, Vec::new());
        let mut b = IncidentBook::new(2, Vec::new());
        let id = |c: &IncidentChange| match c {
            IncidentChange::Opened(i)
            | IncidentChange::Severity(i, _)
            | IncidentChange::Resolved(i) => i.id,
        };
        let first = id(&a.apply(vec![down(1)], t(1))[0]);
        a.apply(vec![], t(2));
        let second = id(&a.apply(vec![down(1)], t(3))[0]);
        let restarted = id(&b.apply(vec![down(1)], t(4))[0]);
        assert_ne!(first, second, "the same problem again is a new incident");
        assert_ne!(first, restarted);
        assert_eq!(first.to_string(), "1-1");
        assert_eq!(restarted.to_string(), "2-1");
    }
}
