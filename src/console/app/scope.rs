//! Which venues this console shows: the one place that decides "in
//! scope". A console started with `--venue STA` shows STA only; a user
//! whose identity names venues (a technician on a site) sees only those,
//! also when `--venue` asks for more (it narrows them further). Every
//! view asks the [`Scope`]: the wall, the venue lists, devices, groups,
//! incidents, the ticker, playbook runs, the relay's feeds and the counts
//! in the top bar.

use std::collections::HashMap;

use crate::engine::{
    AuditRecord, Command, Event, EventKind, Identity, Incident, IncidentId, Run, Snapshot,
};

/// The venues a console shows; [`Scope::all`] shows every venue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// Venue codes as the layout spells them; `None`: every venue.
    venues: Option<Vec<String>>,
}

/// Whether incidents seen in a snapshot were in scope, so an event about
/// one that has gone since (resolved) is placed too.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen(HashMap<IncidentId, bool>);

/// What a scope asked for and could not have, in a line each (shown on
/// the message line at start).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeProblems(pub Vec<String>);

impl Scope {
    /// Every venue.
    pub fn all() -> Self {
        Scope::default()
    }

    /// The scope of a console acting as `identity` that asked for the
    /// venue codes `wanted` (empty: every venue it may see), checked
    /// against the layout of `snap`. Codes the layout does not have, or
    /// outside the identity's venues, are left out and told in the
    /// problems; a scope left empty falls back to what the identity may
    /// see.
    pub fn new(identity: &Identity, wanted: &[String], snap: &Snapshot) -> (Self, ScopeProblems) {
        let mut problems = Vec::new();
        let layout_code = |code: &str| {
            snap.layout
                .venues
                .iter()
                .find(|v| v.code.eq_ignore_ascii_case(code.trim()))
                .map(|v| v.code.clone())
        };
        // The identity's venues: always a limit (the engine refuses
        // anything outside them anyway).
        let allowed: Option<Vec<String>> = (!identity.venues.is_empty()).then(|| {
            identity
                .venues
                .iter()
                .map(|c| layout_code(c).unwrap_or_else(|| c.clone()))
                .collect()
        });
        let mut chosen: Vec<String> = Vec::new();
        for code in wanted.iter().filter(|c| !c.trim().is_empty()) {
            let Some(known) = layout_code(code) else {
                let all: Vec<&str> = snap.layout.venues.iter().map(|v| v.code.as_str()).collect();
                problems.push(format!(
                    "--venue {code}: no such venue in {}; venues: {}",
                    snap.layout.event,
                    all.join(" ")
                ));
                continue;
            };
            if let Some(allowed) = &allowed
                && !allowed.contains(&known)
            {
                problems.push(format!(
                    "--venue {known}: not one of your venues ({}): not shown",
                    allowed.join(" ")
                ));
                continue;
            }
            if !chosen.contains(&known) {
                chosen.push(known);
            }
        }
        let venues = if chosen.is_empty() {
            allowed
        } else {
            Some(chosen)
        };
        let scope = Scope { venues };
        (scope, ScopeProblems(problems))
    }

    /// Whether it shows every venue.
    pub fn is_all(&self) -> bool {
        self.venues.is_none()
    }

    /// The venue codes shown, when not all.
    pub fn codes(&self) -> Option<&[String]> {
        self.venues.as_deref()
    }

    /// For the top bar: `STA only`, `STA PDP only`; `None` for all.
    pub fn label(&self) -> Option<String> {
        self.venues
            .as_ref()
            .map(|v| format!("{} only", v.join(" ")))
    }

    /// Whether the venue with this code is shown.
    pub fn has_code(&self, code: &str) -> bool {
        self.venues
            .as_ref()
            .is_none_or(|v| v.iter().any(|c| c.eq_ignore_ascii_case(code)))
    }

    /// How many venues of the layout are shown.
    pub fn venue_count(&self, snap: &Snapshot) -> usize {
        match &self.venues {
            None => snap.layout.venues.len(),
            Some(_) => (0..snap.layout.venues.len())
                .filter(|&v| self.has_venue(snap, v))
                .count(),
        }
    }

    /// Whether venue `v` (index in the layout) is shown.
    pub fn has_venue(&self, snap: &Snapshot, v: usize) -> bool {
        if self.venues.is_none() {
            return true;
        }
        snap.layout
            .venues
            .get(v)
            .is_some_and(|info| self.has_code(&info.code))
    }

    /// Whether device `d` (index in the layout) is shown: its venue is.
    pub fn has_device(&self, snap: &Snapshot, d: usize) -> bool {
        if self.venues.is_none() {
            return true;
        }
        snap.layout
            .devices
            .get(d)
            .is_some_and(|info| self.has_venue(snap, info.venue.0))
    }

    /// Whether result feed `f` (index in the layout) is shown.
    pub fn has_feed(&self, snap: &Snapshot, f: usize) -> bool {
        if self.venues.is_none() {
            return true;
        }
        snap.layout
            .feeds
            .get(f)
            .is_some_and(|info| self.has_venue(snap, info.venue.0))
    }

    /// Whether an incident is shown: its venue, else its device or feed,
    /// is in scope. An incident of no venue (the TOC host) is not shown
    /// to a narrowed console.
    pub fn has_incident(&self, snap: &Snapshot, incident: &Incident) -> bool {
        if self.venues.is_none() {
            return true;
        }
        if let Some(v) = incident.venue {
            return self.has_venue(snap, v.0);
        }
        if let Some(d) = snap.layout.device(&incident.subject) {
            return self.has_device(snap, d.0);
        }
        snap.layout
            .feeds
            .iter()
            .position(|f| f.id == incident.subject)
            .is_some_and(|f| self.has_feed(snap, f))
    }

    /// Whether the incident `id` is shown: as the snapshot has it, else
    /// as it was when last seen, else by a venue code at the start of its
    /// title (`STA-core-a down`).
    fn has_incident_id(&self, snap: &Snapshot, seen: &Seen, id: IncidentId, title: &str) -> bool {
        if let Some(incident) = snap.incidents.iter().find(|i| i.id == id) {
            return self.has_incident(snap, incident);
        }
        if let Some(&shown) = seen.0.get(&id) {
            return shown;
        }
        self.venues.as_ref().is_some_and(|codes| {
            codes.iter().any(|c| {
                title.len() > c.len()
                    && title.is_char_boundary(c.len())
                    && title[..c.len()].eq_ignore_ascii_case(c)
                    && !title[c.len()..].starts_with(|ch: char| ch.is_ascii_alphanumeric())
            })
        })
    }

    /// Whether an event of the ticker is shown: one about a device, venue
    /// or incident in scope; a command only when the user made it; the
    /// audit log's state always (it stops every console's commands).
    pub fn has_event(&self, snap: &Snapshot, seen: &Seen, event: &Event, user: &str) -> bool {
        if self.venues.is_none() {
            return true;
        }
        match &event.kind {
            EventKind::Device { device, .. }
            | EventKind::Flapping { device, .. }
            | EventKind::Note { device, .. } => self.has_device(snap, device.0),
            EventKind::Venue { venue, .. } | EventKind::Devices { venue, .. } => {
                self.has_venue(snap, venue.0)
            }
            EventKind::IncidentOpened { id, title, .. }
            | EventKind::IncidentSeverity { id, title, .. }
            | EventKind::IncidentResolved { id, title }
            | EventKind::Incident { id, title, .. } => self.has_incident_id(snap, seen, *id, title),
            EventKind::Command { user: by, .. } => by == user,
            EventKind::Audit { .. } => true,
        }
    }

    /// Whether an audit record is shown: the user's own; one about a
    /// venue, device, group, feed, incident or run in scope; one about
    /// every venue (a relay sink or route). Who was denied at the API
    /// (no venue) is shown only to a console of every venue.
    pub fn has_audit(&self, snap: &Snapshot, record: &AuditRecord, user: &str) -> bool {
        if self.venues.is_none() || record.identity.user == user {
            return true;
        }
        let Some(target) = crate::engine::auth::target(&record.command) else {
            return !matches!(record.command, Command::Session(_));
        };
        if let Some(code) = crate::engine::auth::venue_of(&snap.layout, target) {
            return self.has_code(code);
        }
        // An incident (`4-17`) or a run of one (`4-17/1`).
        let id = target.split('/').next().unwrap_or(target);
        snap.incidents
            .iter()
            .find(|i| i.id.to_string() == id)
            .is_some_and(|i| self.has_incident(snap, i))
    }

    /// Whether a playbook run is shown: its venue, else its incident's,
    /// is in scope.
    pub fn has_run(&self, snap: &Snapshot, run: &Run) -> bool {
        if self.venues.is_none() {
            return true;
        }
        if let Some(code) = &run.venue {
            return self.has_code(code);
        }
        snap.incidents
            .iter()
            .find(|i| i.id.to_string() == run.incident)
            .is_some_and(|i| self.has_incident(snap, i))
    }
}

impl Seen {
    /// Remembers which incidents of `snap` are in `scope` (an event about
    /// one resolved since is placed by it).
    pub fn observe(&mut self, scope: &Scope, snap: &Snapshot) {
        // Bounded: the oldest are forgotten first (ids grow).
        const KEEP: usize = 4096;
        if scope.is_all() {
            return;
        }
        for incident in snap.incidents.iter() {
            let shown = scope.has_incident(snap, incident);
            self.0.insert(incident.id, shown);
        }
        if self.0.len() > KEEP {
            let mut ids: Vec<IncidentId> = self.0.keys().copied().collect();
            ids.sort_unstable();
            for id in &ids[..ids.len() - KEEP] {
                self.0.remove(id);
            }
        }
    }
}
