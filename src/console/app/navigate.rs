//! Moving about: the views pushed and popped, the selection in each
//! list, paging, the venue typed on the wall, and the orders the lists
//! are drawn in.

use super::{App, DeviceSort, Pane, View, WallSort, incident_position};
use crate::console::filter::Filter;
use crate::console::keymap::{Action, Context};
use crate::console::ui;
use crate::engine::{EventKind, Snapshot};

impl App {
    pub(super) fn go_venue(&mut self, venue: usize) {
        self.views = vec![View::Wall, View::Venue(venue)];
        self.wall_sel = Some(venue);
        self.device_sel = None;
        self.focus = Pane::Main;
        self.help = None;
    }

    pub(super) fn go_device(&mut self, snap: &Snapshot, device: usize) {
        let venue = snap.layout.devices.get(device).map_or(0, |d| d.venue.0);
        self.go_venue(venue);
        self.views.push(View::Device(device));
        self.device_sel = Some(device);
        self.history_scroll = 0;
    }

    pub(super) fn open(&mut self, snap: &Snapshot) {
        match self.context() {
            Context::Wall => {
                let order = wall_order(snap, self.wall_sort, &self.filter);
                if let Some(&v) = order.get(position(&order, self.wall_sel)) {
                    self.wall_sel = Some(v);
                    self.views.push(View::Venue(v));
                    self.device_sel = None;
                }
            }
            Context::Venue => {
                if let View::Venue(v) = self.view() {
                    let order = device_order(snap, v, self.device_sort, &self.filter);
                    if let Some(&d) = order.get(position(&order, self.device_sel)) {
                        self.device_sel = Some(d);
                        self.views.push(View::Device(d));
                        self.history_scroll = 0;
                    }
                }
            }
            Context::Incidents => {
                let order = self.incidents_shown(snap);
                let pos = incident_position(&order, snap, self.incident_sel);
                if let Some(incident) = order.get(pos).and_then(|&k| snap.incidents.get(k)) {
                    self.incident_sel = Some(incident.id);
                    self.views.push(View::Incident(incident.id));
                    self.history_scroll = 0;
                    self.focus = Pane::Main;
                }
            }
            Context::Ticker => {
                let events = self.ticker_events(snap);
                let event = events.get(self.ticker_sel).copied();
                let subject = event.and_then(|e| match &e.kind {
                    EventKind::Device { device, .. }
                    | EventKind::Flapping { device, .. }
                    | EventKind::Note { device, .. } => Some(Subject::Device(device.0)),
                    EventKind::Venue { venue, .. } | EventKind::Devices { venue, .. } => {
                        Some(Subject::Venue(venue.0))
                    }
                    EventKind::IncidentOpened { id, .. }
                    | EventKind::IncidentSeverity { id, .. }
                    | EventKind::Incident { id, .. } => {
                        snap.incidents.iter().find(|i| i.id == *id).and_then(|i| {
                            find_device(snap, &i.subject)
                                .map(Subject::Device)
                                .or_else(|| i.venue.map(|v| Subject::Venue(v.0)))
                        })
                    }
                    EventKind::IncidentResolved { .. }
                    | EventKind::Command { .. }
                    | EventKind::Audit { .. } => None,
                });
                match subject {
                    Some(Subject::Device(d)) => self.go_device(snap, d),
                    Some(Subject::Venue(v)) => self.go_venue(v),
                    None => self.info("this event has no device or venue to open"),
                }
            }
            Context::Runs => self.open_selected_run(snap),
            _ => {}
        }
    }

    pub(super) fn movement(&mut self, action: Action, snap: &Snapshot) {
        let page = ui::page_size(self, snap).max(1);
        match self.context() {
            Context::Wall => {
                let order = wall_order(snap, self.wall_sort, &self.filter);
                let cols = ui::wall_columns(self, snap).max(1);
                let pos = position(&order, self.wall_sel);
                let next = step(pos, order.len(), action, cols, page);
                self.wall_sel = order.get(next).copied();
            }
            Context::Venue => {
                if let View::Venue(v) = self.view() {
                    let order = device_order(snap, v, self.device_sort, &self.filter);
                    let pos = position(&order, self.device_sel);
                    let next = step(pos, order.len(), action, 1, page);
                    self.device_sel = order.get(next).copied();
                }
            }
            Context::Device => {
                if let View::Device(d) = self.view() {
                    let n = snap.devices.get(d).map_or(0, |d| d.history.len());
                    self.history_scroll = step(self.history_scroll, n, action, 1, page);
                }
            }
            Context::Incidents => {
                let order = self.incidents_shown(snap);
                let pos = incident_position(&order, snap, self.incident_sel);
                let next = step(pos, order.len(), action, 1, page);
                self.incident_sel = order
                    .get(next)
                    .and_then(|&k| snap.incidents.get(k))
                    .map(|i| i.id);
            }
            Context::Ticker => {
                let n = self.ticker_events(snap).len();
                self.ticker_sel = step(self.ticker_sel, n, action, 1, page);
            }
            Context::Incident => {
                if let View::Incident(id) = self.view() {
                    let n = snap
                        .incidents
                        .iter()
                        .find(|i| i.id == id)
                        .map_or(0, |i| i.timeline.len());
                    self.history_scroll = step(self.history_scroll, n, action, 1, page);
                }
            }
            Context::Audit => {
                let n = self.audit_shown(snap).len();
                self.history_scroll = step(self.history_scroll, n, action, 1, page);
            }
            Context::Relay => {
                let relay = snap.relay.as_deref();
                if matches!(action, Action::PageUp | Action::PageDown) {
                    let feeds = relay.map_or(0, |r| r.active.len().max(snap.layout.feeds.len()));
                    self.history_scroll = step(self.history_scroll, feeds, action, 1, page);
                } else {
                    let sinks = relay.map_or(0, |r| r.sinks.len());
                    self.relay_sel = step(self.relay_sel, sinks, action, 1, page);
                }
            }
            Context::Help => {
                // The last page is full: never scrolled past the end.
                let n = ui::help_lines(self).len();
                let last = n.saturating_sub(page);
                let at = self.help.unwrap_or(0).min(last);
                self.help = Some(step(at, n, action, 1, page).min(last));
            }
            Context::Run => {
                if let View::Run(key) = self.view() {
                    let n = key.find(snap).map_or(0, |r| r.steps.len());
                    self.history_scroll = step(self.history_scroll, n, action, 1, page);
                }
            }
            Context::Runs => {
                let n = self.runs_shown(snap).len();
                self.run_sel = step(self.run_sel, n, action, 1, page);
            }
            Context::Plan => self.scroll_plan(action, page),
            Context::Global | Context::Input => {}
        }
    }

    /// A capital letter on the wall: the venue whose code starts with
    /// what was typed so far is selected (`S`, `T`, `A`: STA).
    pub(super) fn jump_to(&mut self, c: char, snap: &Snapshot) {
        let order = wall_order(snap, self.wall_sort, &self.filter);
        let find = |typed: &str| {
            order
                .iter()
                .copied()
                .filter(|&v| starts_with_ci(&snap.layout.venues[v].code, typed))
                .min_by(|&x, &y| snap.layout.venues[x].code.cmp(&snap.layout.venues[y].code))
        };
        let mut typed = format!("{}{c}", self.jump);
        let mut found = find(&typed);
        if found.is_none() {
            typed = c.to_string();
            found = find(&typed);
        }
        if let Some(v) = found {
            self.wall_sel = Some(v);
            self.jump = typed;
        } else {
            self.jump.clear();
            self.error(format!("no venue code starts with `{typed}`"));
        }
    }
}

enum Subject {
    Device(usize),
    Venue(usize),
}

fn starts_with_ci(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len()
        && text.is_char_boundary(prefix.len())
        && text[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// Index of `selected` in `order`, or 0.
pub(crate) fn position(order: &[usize], selected: Option<usize>) -> usize {
    selected
        .and_then(|s| order.iter().position(|&x| x == s))
        .unwrap_or(0)
}

/// The new position after a movement in a list of `len` items laid out
/// `cols` to a row, `page` items to a page.
pub(super) fn step(pos: usize, len: usize, action: Action, cols: usize, page: usize) -> usize {
    if len == 0 {
        return 0;
    }
    let last = len - 1;
    let pos = pos.min(last);
    match action {
        Action::Up => pos.checked_sub(cols).unwrap_or(pos),
        Action::Down => {
            let next = pos + cols;
            if next <= last { next } else { pos }
        }
        Action::Left => pos.saturating_sub(1),
        Action::Right => (pos + 1).min(last),
        Action::Top => 0,
        Action::Bottom => last,
        Action::PageUp => pos.saturating_sub(page),
        Action::PageDown => (pos + page).min(last),
        _ => pos,
    }
}

/// The venue with this code, as typed ([`crate::model::find_id`]).
pub fn find_venue(snap: &Snapshot, code: &str) -> Option<usize> {
    crate::model::find_id(snap.layout.venues.iter().map(|v| v.code.as_str()), code)
}

/// The device with this id, as typed ([`crate::model::find_id`]).
pub fn find_device(snap: &Snapshot, id: &str) -> Option<usize> {
    crate::model::find_id(snap.layout.devices.iter().map(|d| d.id.as_str()), id)
}

pub(super) fn venue_codes(snap: &Snapshot) -> String {
    let codes: Vec<&str> = snap.layout.venues.iter().map(|v| v.code.as_str()).collect();
    codes.join(" ")
}

/// The venues on the wall, in order.
pub fn wall_order(snap: &Snapshot, sort: WallSort, filter: &Filter) -> Vec<usize> {
    let mut order: Vec<usize> = (0..snap.layout.venues.len().min(snap.venues.len()))
        .filter(|&v| filter.matches_venue(snap, v))
        .collect();
    let code = |v: usize| snap.layout.venues[v].code.as_str();
    match sort {
        WallSort::Code => order.sort_by(|&a, &b| code(a).cmp(code(b))),
        WallSort::Worst => order.sort_by(|&a, &b| {
            let (ea, eb) = (&snap.venues[a].eval, &snap.venues[b].eval);
            eb.status
                .severity()
                .cmp(&ea.status.severity())
                .then(eb.down.cmp(&ea.down))
                .then(eb.degraded.cmp(&ea.degraded))
                .then(code(a).cmp(code(b)))
        }),
    }
    order
}

/// A venue's devices in the table, in order.
pub fn device_order(
    snap: &Snapshot,
    venue: usize,
    sort: DeviceSort,
    filter: &Filter,
) -> Vec<usize> {
    let Some(info) = snap.layout.venues.get(venue) else {
        return Vec::new();
    };
    let mut order: Vec<usize> = info
        .devices
        .iter()
        .map(|d| d.0)
        .filter(|&d| d < snap.devices.len() && d < snap.layout.devices.len())
        .filter(|&d| {
            (filter.is_empty() && filter.scope().is_all()) || filter.matches_device(snap, d)
        })
        .collect();
    match sort {
        DeviceSort::Id => {
            order.sort_by(|&a, &b| snap.layout.devices[a].id.cmp(&snap.layout.devices[b].id));
        }
        DeviceSort::Worst => order.sort_by_key(|&d| {
            let s = &snap.devices[d];
            let soft_problem = s.raw.is_problem() && s.state_type == crate::model::StateType::Soft;
            (
                std::cmp::Reverse(s.status.severity()),
                std::cmp::Reverse(soft_problem),
                d,
            )
        }),
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::up_at_top(0, Action::Up, 3, 0)]
    #[case::down(0, Action::Down, 3, 3)]
    #[case::down_past_end(8, Action::Down, 3, 8)]
    #[case::right_at_end(9, Action::Right, 3, 9)]
    #[case::page_down(2, Action::PageDown, 1, 7)]
    #[case::page_up(2, Action::PageUp, 1, 0)]
    #[case::bottom(0, Action::Bottom, 1, 9)]
    fn steps(#[case] pos: usize, #[case] action: Action, #[case] cols: usize, #[case] to: usize) {
        assert_eq!(step(pos, 10, action, cols, 5), to);
    }

    #[test]
    fn step_on_empty_list() {
        assert_eq!(step(4, 0, Action::Down, 1, 5), 0);
    }
}
