//! Validation by subject: turns the raw tables into the validated
//! [`Inventory`]. Each subject has its own file; this one runs them in
//! order (event, profiles, venues with their groups and devices, then the
//! references that need every id: device links, group sizes, feeds,
//! parent cycles, secrets, then `[relay]`) and holds what they share.

mod api;
mod devices;
mod event;
mod feeds;
mod groups;
mod incidents;
mod links;
mod maintenance;
mod playbooks;
mod probe_url;
mod profiles;
mod relay;
mod shared_snmp;
mod venue;

use std::collections::HashMap;
use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use super::cx::Cx;
use super::model::{Device, Feed, Group, Inventory, Venue};
use super::raw::{RawDevice, RawDocument, RawFeed};
use crate::config::value::{Dur, DurRange};
use crate::model::topology::{DeviceIdx, GroupIdx, VenueIdx};

/// The help for an invalid id.
const ID_HELP: &str =
    "ids start with a letter or digit and hold letters, digits, `-`, `_` and `.` (at most 64)";

/// Whether `s` is a valid id (see [`ID_HELP`]).
fn is_id(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && s.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The event-wide defaults a device inherits.
struct Defaults {
    poll_interval: Duration,
    timeout: Duration,
}

/// The spans of a group's id and `min_up`.
struct GroupSpans {
    id: Range<usize>,
    min_up: Range<usize>,
}

/// A device whose group and parents are resolved once every id is known.
struct PendingDevice {
    idx: DeviceIdx,
    raw: RawDevice,
}

/// A feed checked once every device id is known.
struct PendingFeed {
    venue: VenueIdx,
    raw: RawFeed,
}

/// What validation builds up, venue by venue.
#[derive(Default)]
struct Build {
    venues: Vec<Venue>,
    devices: Vec<Device>,
    groups: Vec<Group>,
    feeds: Vec<Feed>,
    /// `kind:id` -> span of its first definition.
    first_seen: HashMap<String, Range<usize>>,
    device_idx: HashMap<String, DeviceIdx>,
    group_idx: HashMap<String, GroupIdx>,
    /// Spans of each group's id and `min_up`, by group index.
    group_spans: Vec<GroupSpans>,
    pending_devices: Vec<PendingDevice>,
    pending_feeds: Vec<PendingFeed>,
}

impl Cx<'_> {
    /// Checks a whole document; `None` when nothing usable came of it.
    pub(super) fn validate(&mut self, doc: RawDocument) -> Option<Inventory> {
        let event = self.validate_event(doc.event, doc.event_missing);
        let defaults = Defaults {
            poll_interval: event
                .as_ref()
                .map_or(Duration::from_secs(5), |e| e.poll_interval),
            timeout: event.as_ref().map_or(Duration::from_secs(2), |e| e.timeout),
        };
        let profiles = self.validate_profiles(doc.profiles);
        // `None` when the [event] table itself is broken: consumer classes
        // cannot be checked then, and are not reported.
        let slo: Option<Vec<String>> = event.as_ref().map(|e| e.slo.keys().cloned().collect());
        if doc.venues.is_empty() {
            self.error(
                0..0,
                "the file defines no venues",
                "add at least one [[venues]] table",
            );
        }
        let mut b = Build::default();
        for raw in doc.venues {
            self.add_venue(raw, &mut b, &defaults, &profiles);
        }
        // Second pass: references need every id first.
        let pending = std::mem::take(&mut b.pending_devices);
        for p in &pending {
            self.resolve_device_refs(p.idx, &p.raw, &mut b);
        }
        self.check_group_sizes(&b);
        for f in std::mem::take(&mut b.pending_feeds) {
            if let Some(feed) = self.validate_feed(f.venue, &f.raw, &b, slo.as_deref()) {
                if let Some(v) = b.venues.get_mut(f.venue.0) {
                    v.feeds.push(b.feeds.len());
                }
                b.feeds.push(feed);
            }
        }
        self.check_cycles(&b.devices, &pending);
        self.check_shared_snmp(&b.devices, &pending);
        self.check_secrets(&profiles, &b.devices);
        let maintenance = self.validate_maintenance(&doc.maintenance, &b);
        let incidents = self.validate_incidents(doc.incidents.as_ref());
        let relay = doc
            .relay
            .as_ref()
            .and_then(|r| self.validate_relay(r, &mut b, event.as_ref().map(|e| &e.slo)));

        let playbooks = self.validate_playbooks(doc.playbooks.as_ref());
        let api = self.validate_api(doc.api.as_ref());
        let event = event?;
        Some(Inventory {
            source: self.src.path().to_path_buf(),
            event,
            profiles: profiles
                .into_iter()
                .map(|(name, defined)| (name, defined.profile))
                .collect(),
            venues: b.venues,
            devices: b.devices,
            groups: b.groups,
            feeds: b.feeds,
            maintenance,
            incidents,
            relay,
            playbooks,
            api,
            device_index: b.device_idx,
        })
    }

    /// Checks an id's form and that it is the first of its kind; reports
    /// and returns false otherwise.
    fn claim_id(&mut self, b: &mut Build, kind: &str, id: &Spanned<String>) -> bool {
        let name = id.get_ref();
        if !is_id(name) {
            self.error(
                id.span(),
                format!("{kind} id `{name}` is not a valid id"),
                ID_HELP,
            );
            return false;
        }
        let key = format!("{kind}:{name}");
        if let Some(first) = b.first_seen.get(&key) {
            let (line, _) = self.src.position(first.start);
            self.error(
                id.span(),
                format!("duplicate {kind} id `{name}` (first defined on line {line})"),
                format!("{kind} ids are unique across the whole file; rename one"),
            );
            return false;
        }
        b.first_seen.insert(key, id.span());
        true
    }

    /// An integer within a range; reports and returns `None` otherwise.
    fn int_range(
        &mut self,
        v: &Spanned<i64>,
        range: std::ops::RangeInclusive<i64>,
        what: &str,
        help: &str,
    ) -> Option<i64> {
        let n = *v.get_ref();
        if range.contains(&n) {
            return Some(n);
        }
        self.error(
            v.span(),
            format!(
                "{what} is {n}; it must be between {} and {}",
                range.start(),
                range.end()
            ),
            help,
        );
        None
    }

    /// Reports a zero duration.
    /// An error when a duration setting is out of its range.
    fn within(&mut self, v: Option<&Spanned<Dur>>, range: DurRange, what: &str) {
        if let Some(v) = v
            && let Err(e) = range.check_named(v.get_ref().0, what)
        {
            self.error(
                v.span(),
                e,
                format!(
                    "write a {} from {} to {}, e.g. `5s`",
                    range.name,
                    humantime::format_duration(range.min),
                    humantime::format_duration(range.max)
                ),
            );
        }
    }

    fn positive(&mut self, v: Option<&Spanned<Dur>>, what: &str) {
        if let Some(v) = v
            && v.get_ref().0.is_zero()
        {
            self.error(
                v.span(),
                format!("{what} must be longer than zero"),
                "write it with a unit, e.g. `5s`",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::is_id;

    #[rstest]
    #[case("STA-core-a", true)]
    #[case("9.lan_b", true)]
    #[case("-lead", false)]
    #[case("has space", false)]
    #[case("", false)]
    fn ids(#[case] text: &str, #[case] valid: bool) {
        assert_eq!(is_id(text), valid);
    }

    #[test]
    fn ids_are_at_most_64_long() {
        assert!(is_id(&"a".repeat(64)));
        assert!(!is_id(&"a".repeat(65)));
    }
}
