//! The incident list's views and the keys on an incident: which
//! incidents the list shows, the one the keys act on, `a`/`n`/`r` (the
//! command line filled in) and `d` (its device or venue).

use super::{App, Input, InputKind, View, find_device};
use crate::console::filter::Filter;
use crate::console::keymap::{Action, Context};
use crate::engine::{Incident, IncidentId, IncidentState, Snapshot};

/// Which incidents the list shows (`o` cycles through them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IncidentView {
    /// Every incident not resolved.
    #[default]
    All,
    /// Those nobody has acknowledged.
    Open,
    /// Those acknowledged.
    Acknowledged,
    /// Those the user acknowledged.
    Mine,
}

impl IncidentView {
    /// The next one `o` shows.
    pub(super) fn next(self) -> Self {
        match self {
            IncidentView::All => IncidentView::Open,
            IncidentView::Open => IncidentView::Acknowledged,
            IncidentView::Acknowledged => IncidentView::Mine,
            IncidentView::Mine => IncidentView::All,
        }
    }

    /// In the list's title (`open only`); empty for all.
    pub fn word(self) -> &'static str {
        match self {
            IncidentView::All => "",
            IncidentView::Open => "not acknowledged",
            IncidentView::Acknowledged => "acknowledged",
            IncidentView::Mine => "acknowledged by me",
        }
    }
}

/// The incidents the list shows, as indices into `snap.incidents`, in
/// its order (worst, then oldest first): those of `view` that match the
/// `/` filter.
pub fn incident_order(
    snap: &Snapshot,
    view: IncidentView,
    filter: &Filter,
    user: &str,
) -> Vec<usize> {
    snap.incidents
        .iter()
        .enumerate()
        .filter(|(_, i)| {
            let acked = i.state == IncidentState::Acknowledged;
            match view {
                IncidentView::All => true,
                IncidentView::Open => !acked,
                IncidentView::Acknowledged => acked,
                IncidentView::Mine => acked && i.ack.as_ref().is_some_and(|a| a.by == user),
            }
        })
        .filter(|(_, i)| filter.matches_incident(snap, i))
        .map(|(k, _)| k)
        .collect()
}

/// Where the selected incident is in `order` (the first when it is not
/// there).
pub(crate) fn incident_position(
    order: &[usize],
    snap: &Snapshot,
    selected: Option<IncidentId>,
) -> usize {
    selected
        .and_then(|id| {
            order
                .iter()
                .position(|&k| snap.incidents.get(k).is_some_and(|i| i.id == id))
        })
        .unwrap_or(0)
}

impl App {
    /// The incidents the list shows, as indices into `snap.incidents`.
    pub fn incidents_shown(&self, snap: &Snapshot) -> Vec<usize> {
        incident_order(snap, self.incident_view, &self.filter, &self.identity.user)
    }

    /// Which incidents the list shows.
    pub fn incident_view(&self) -> IncidentView {
        self.incident_view
    }

    /// The incident the keys act on: the one on screen, or the one
    /// selected in the list.
    pub(super) fn current_incident<'a>(&self, snap: &'a Snapshot) -> Option<&'a Incident> {
        if let (Context::Incident, View::Incident(id)) = (self.context(), self.view()) {
            return snap.incidents.iter().find(|i| i.id == id);
        }
        let order = self.incidents_shown(snap);
        order
            .get(incident_position(&order, snap, self.incident_sel))
            .and_then(|&k| snap.incidents.get(k))
    }

    /// `a`, `n`, `r`: the command line, filled in for the incident (the
    /// comment or note is typed; Enter sends it).
    pub(super) fn prompt(&mut self, action: Action, snap: &Snapshot) {
        let Some(incident) = self.current_incident(snap) else {
            self.info("no incident selected");
            return;
        };
        let id = incident.id;
        let text = match action {
            Action::Acknowledge => format!("ack {id} "),
            Action::AddNote => format!("note {id} "),
            _ => format!("resolve {id}"),
        };
        self.input = Some(Input {
            kind: InputKind::Command,
            text,
            error: None,
        });
    }

    /// `d` on an incident: its device, or its venue.
    pub(super) fn go_to_incident(&mut self, snap: &Snapshot) {
        let Some(incident) = self.current_incident(snap) else {
            return;
        };
        self.incident_sel = Some(incident.id);
        match find_device(snap, &incident.subject) {
            Some(d) => self.go_device(snap, d),
            None => {
                if let Some(v) = incident.venue {
                    self.go_venue(v.0);
                }
            }
        }
    }
}
