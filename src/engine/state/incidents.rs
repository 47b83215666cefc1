//! The incident book: the board's problems through the incident lifecycle
//! (`crate::incident::lifecycle`), with what the snapshot, the ticker, the
//! store and the notifier need of each change.
//!
//! Ids carry the engine's run number, so they never collide across
//! restarts; keys name the subject by id (`device:STA-core-a`,
//! `group:STA-core`), so a kept incident still reads after venues.toml
//! changes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use crate::incident::lifecycle::{Change, Condition, Lifecycle, Notify, Policy};
use crate::incident::record::TimelineEntry;
use crate::incident::{IncidentRecord, IncidentState, TimelineKind};
use crate::model::{GroupIdx, ProblemKey, ProblemKind, Status, Subject, VenueIdx};

use super::super::port::StoreOp;
use super::super::snapshot::{EventKind, Incident, IncidentId, Layout};
use super::board::Problem;

/// The incident key of a board problem: ladder and subject id.
pub fn key_of(key: ProblemKey, subject: &str) -> String {
    let ladder = match key.kind.ladder() {
        0 => "device",
        1 => "group",
        2 => "feed",
        _ => "slo",
    };
    format!("{ladder}:{subject}")
}

/// An incident id as the snapshot carries it (`4-17` → run 4, n 17).
pub fn parse_id(id: &str) -> Option<IncidentId> {
    let (run, n) = id.split_once('-')?;
    Some(IncidentId {
        run: run.parse().ok()?,
        n: n.parse().ok()?,
    })
}

/// A notification to send: what kind and the incident as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Opened, escalated, acknowledgement expired.
    pub kind: Notify,
    /// The incident.
    pub record: IncidentRecord,
}

/// Open and acknowledged incidents, and what changed since the engine
/// last took it.
#[derive(Debug)]
pub struct IncidentBook {
    life: Lifecycle,
    layout: Arc<Layout>,
    /// Board key and venue of each incident key seen on the board.
    meta: HashMap<String, (ProblemKey, Option<VenueIdx>)>,
    /// Each venue's place in the wall's order (by code), for sorting.
    venue_rank: Vec<usize>,
    /// The live incidents, sorted as published.
    list: Arc<Vec<Incident>>,
    /// For the store, in order.
    store: Vec<StoreOp>,
    /// For the ticker.
    events: Vec<EventKind>,
    /// For the notifier.
    notices: Vec<Notice>,
    /// The timeline of each live incident, by id (the console's detail;
    /// the store keeps every entry).
    timelines: HashMap<String, Arc<Vec<TimelineEntry>>>,
}

/// How many timeline entries of an incident the snapshot carries: its
/// first (opened) and the newest.
pub const TIMELINE_SHOWN: usize = 100;

impl IncidentBook {
    /// An empty book whose ids are `run-1`, `run-2`, … Incidents sort like
    /// the wall: most severe first, then by venue in `venue_rank` order,
    /// then oldest first.
    pub fn new(run: u32, layout: Arc<Layout>, venue_rank: Vec<usize>, policy: Policy) -> Self {
        IncidentBook {
            life: Lifecycle::new(policy, run),
            layout,
            meta: HashMap::new(),
            venue_rank,
            list: Arc::new(Vec::new()),
            store: Vec::new(),
            events: Vec::new(),
            notices: Vec::new(),
            timelines: HashMap::new(),
        }
    }

    /// Takes back the incidents the store kept (see
    /// [`Lifecycle::restore`]).
    pub fn restore(&mut self, records: Vec<IncidentRecord>, now: SystemTime) {
        self.life.restore(records, now);
        self.relist();
    }

    /// The live incidents, most severe first, then by venue, then oldest
    /// first.
    pub fn list(&self) -> &Arc<Vec<Incident>> {
        &self.list
    }

    /// The lifecycle, to plan commands on.
    pub fn lifecycle(&self) -> &Lifecycle {
        &self.life
    }

    /// Live incidents per venue, for `venues` venues.
    pub fn per_venue(&self, venues: usize) -> Vec<usize> {
        let mut n = vec![0usize; venues];
        for incident in self.list.iter() {
            if let Some(c) = incident.venue.and_then(|v| n.get_mut(v.0)) {
                *c += 1;
            }
        }
        n
    }

    /// Brings the book in line with the board's problems; `in_maintenance`
    /// says whether a problem's subject is under a maintenance window.
    pub fn apply(
        &mut self,
        problems: Vec<Problem>,
        in_maintenance: impl Fn(&Condition) -> bool,
        now: SystemTime,
    ) {
        let conditions: Vec<Condition> = problems
            .into_iter()
            .map(|p| {
                let key = key_of(p.key, &p.subject);
                self.meta.insert(key.clone(), (p.key, p.venue));
                Condition {
                    key,
                    kind: p.key.kind.name().to_owned(),
                    subject: p.subject,
                    venue: p
                        .venue
                        .and_then(|v| self.layout.venue_info(v))
                        .map(|v| v.code.clone())
                        .unwrap_or_default(),
                    severity: p.severity,
                    title: p.title,
                }
            })
            .collect();
        let changes = self.life.reconcile(conditions, in_maintenance, now);
        self.took(changes);
        // A condition that cleared changes no record, but the list shows
        // since when it is clear.
        self.relist();
    }

    /// What time alone does (resolve after the hold, acknowledgement
    /// expiry, escalation).
    pub fn tick(&mut self, now: SystemTime) {
        let changes = self.life.tick(now);
        self.took(changes);
    }

    /// Marks or unmarks the incidents `covered` says a maintenance window
    /// covers.
    pub fn set_maintenance(
        &mut self,
        covered: impl Fn(&IncidentRecord) -> bool,
        on: bool,
        reason: &str,
        now: SystemTime,
    ) {
        let changes = self.life.set_maintenance(covered, on, reason, now);
        self.took(changes);
    }

    /// Makes a planned (and durably written) change true; when the
    /// incident changed meanwhile, plans it again with `replan` and
    /// applies that. Returns whether something was applied.
    pub fn commit(
        &mut self,
        change: &Change,
        replan: impl Fn(&Lifecycle) -> Result<Change, String>,
    ) -> Result<Change, String> {
        if self.life.commit(change) {
            self.took_committed(change);
            return Ok(change.clone());
        }
        let again = replan(&self.life)?;
        if self.life.commit(&again) {
            // The record as planned again goes to the store after what
            // changed it meanwhile. Its timeline entries do not: the
            // planned change wrote them with its audit record, and a
            // second copy would show the note or acknowledgement twice.
            self.store.push(StoreOp::Incident(again.record.clone()));
            self.took_committed(&again);
            Ok(again)
        } else {
            Err("the incident changed while the command was written; try again".to_owned())
        }
    }

    fn took_committed(&mut self, change: &Change) {
        self.remember(&change.timeline);
        for e in &change.timeline {
            self.events
                .push(event_of(&change.record, e.kind, e.by.clone(), &e.text));
        }
        self.relist();
    }

    /// What a change of the lifecycle means for the store, the ticker and
    /// the notifier.
    fn took(&mut self, changes: Vec<Change>) {
        if changes.is_empty() {
            return;
        }
        for change in changes {
            self.remember(&change.timeline);
            self.store.push(StoreOp::Incident(change.record.clone()));
            for e in &change.timeline {
                self.store.push(StoreOp::Timeline(e.clone()));
                if let Some(kind) = ticker_event(&change.record, e.kind, e.by.clone(), &e.text) {
                    self.events.push(kind);
                }
            }
            if let Some(kind) = change.notify {
                self.notices.push(Notice {
                    kind,
                    record: change.record,
                });
            }
        }
        self.relist();
    }

    /// Adds entries to their incidents' timelines, keeping the first and
    /// the newest [`TIMELINE_SHOWN`].
    pub fn remember(&mut self, entries: &[TimelineEntry]) {
        for e in entries {
            let timeline = Arc::make_mut(self.timelines.entry(e.incident.clone()).or_default());
            timeline.push(e.clone());
            if timeline.len() > TIMELINE_SHOWN {
                timeline.remove(1);
            }
        }
    }

    /// Store operations since the last call, in order.
    pub fn take_store(&mut self) -> Vec<StoreOp> {
        std::mem::take(&mut self.store)
    }

    /// Ticker events since the last call.
    pub fn take_events(&mut self) -> Vec<EventKind> {
        std::mem::take(&mut self.events)
    }

    /// Notifications since the last call.
    pub fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.notices)
    }

    /// Rebuilds the published list from the lifecycle.
    /// Rebuilds the published list now (after timelines were taken back).
    pub fn relist_now(&mut self) {
        self.relist();
    }

    fn relist(&mut self) {
        let mut list: Vec<Incident> = self
            .life
            .live_clearing()
            .filter_map(|(r, clear)| self.incident(r, clear))
            .collect();
        // Timelines of incidents no longer live go (the store keeps them).
        if self.timelines.len() > list.len() {
            let live: std::collections::HashSet<String> =
                list.iter().map(|i| i.id.to_string()).collect();
            self.timelines.retain(|id, _| live.contains(id));
        }
        let rank = |i: &Incident| {
            i.venue
                .and_then(|v| self.venue_rank.get(v.0))
                .copied()
                .unwrap_or(usize::MAX)
        };
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

    /// A record as the snapshot shows it; `None` when its subject is not
    /// in this inventory any more.
    fn incident(&self, r: &IncidentRecord, clear_since: Option<SystemTime>) -> Option<Incident> {
        let (key, venue) = match self.meta.get(&r.key) {
            Some(m) => *m,
            None => self.resolve_subject(r)?,
        };
        Some(Incident {
            id: parse_id(&r.id)?,
            key,
            subject: r.subject.clone(),
            venue,
            severity: status_of(&r.severity),
            title: r.title.clone(),
            opened: r.opened_at,
            state: r.state,
            ack: if r.state == IncidentState::Acknowledged {
                r.ack.clone()
            } else {
                None
            },
            reopened: r.reopened,
            in_maintenance: r.in_maintenance,
            notified: r.notified_at,
            clear_since,
            timeline: self.timelines.get(&r.id).cloned().unwrap_or_default(),
        })
    }

    /// Board key and venue of a kept record the board has not reported
    /// (yet) in this run.
    fn resolve_subject(&self, r: &IncidentRecord) -> Option<(ProblemKey, Option<VenueIdx>)> {
        let kind = ProblemKind::ALL.into_iter().find(|k| k.name() == r.kind)?;
        if let Some(d) = self.layout.device(&r.subject) {
            let venue = self.layout.device_info(d)?.venue;
            return Some((ProblemKey::device(kind, d), Some(venue)));
        }
        if kind.ladder() == ProblemKind::FeedStale.ladder()
            && let Some(f) = self.layout.feed(&r.subject)
        {
            let venue = self.layout.feeds.get(f.0).map(|f| f.venue);
            let subject = Subject::Feed(f);
            return Some((ProblemKey { kind, subject }, venue));
        }
        if kind == ProblemKind::LatencySlo
            && let Some(s) = self.layout.sink(&r.subject)
        {
            let subject = Subject::Sink(s);
            return Some((ProblemKey { kind, subject }, None));
        }
        let (g, info) = self
            .layout
            .groups
            .iter()
            .enumerate()
            .find(|(_, g)| g.id == r.subject)?;
        Some((
            ProblemKey {
                kind,
                subject: Subject::Group(GroupIdx(g)),
            },
            Some(info.venue),
        ))
    }
}

/// The ticker's event for a timeline entry made by the lifecycle.
fn ticker_event(
    record: &IncidentRecord,
    kind: TimelineKind,
    by: Option<String>,
    text: &str,
) -> Option<EventKind> {
    let id = parse_id(&record.id)?;
    let severity = status_of(&record.severity);
    Some(match kind {
        TimelineKind::Opened => EventKind::IncidentOpened {
            id,
            severity,
            title: record.title.clone(),
        },
        TimelineKind::Severity => {
            let from = text.split(" -> ").next().map_or(Status::Unknown, status_of);
            EventKind::IncidentSeverity {
                id,
                title: record.title.clone(),
                from,
                to: severity,
            }
        }
        TimelineKind::Resolved if by.is_none() => EventKind::IncidentResolved {
            id,
            title: record.title.clone(),
        },
        other => event_of(record, other, by, text),
    })
}

/// The ticker's event for something a person or time did.
fn event_of(
    record: &IncidentRecord,
    what: TimelineKind,
    by: Option<String>,
    text: &str,
) -> EventKind {
    EventKind::Incident {
        id: parse_id(&record.id).unwrap_or(IncidentId { run: 0, n: 0 }),
        what,
        by,
        title: record.title.clone(),
        text: text.to_owned(),
    }
}

/// The status a severity word names.
fn status_of(word: &str) -> Status {
    Status::ALL
        .into_iter()
        .find(|s| s.word() == word)
        .unwrap_or(Status::Unknown)
}
