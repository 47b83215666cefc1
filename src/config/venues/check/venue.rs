//! Validation of a `[[venues]]` table: its header (code, name), then its
//! groups, devices and feeds in turn.

use std::collections::BTreeMap;

use super::profiles::DefinedProfile;
use super::{Build, Defaults, PendingDevice, PendingFeed};
use crate::config::venues::cx::Cx;
use crate::config::venues::model::Venue;
use crate::config::venues::raw::RawVenue;
use crate::model::topology::{DeviceIdx, VenueIdx};

/// Whether `s` is a venue code: 2 to 8 upper-case letters or digits.
fn is_venue_code(s: &str) -> bool {
    (2..=8).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

impl Cx<'_> {
    /// Checks a venue's header and claims the ids of its groups, devices
    /// and feeds; devices are checked on their own, references wait.
    pub(super) fn add_venue(
        &mut self,
        raw: RawVenue,
        b: &mut Build,
        defaults: &Defaults,
        profiles: &BTreeMap<String, DefinedProfile>,
    ) {
        let vidx = VenueIdx(b.venues.len());
        let mut venue = Venue {
            code: String::new(),
            name: String::new(),
            city: String::new(),
            sports: Vec::new(),
            devices: Vec::new(),
            groups: Vec::new(),
            feeds: Vec::new(),
        };
        if let Some(h) = raw.header {
            let code = h.code.get_ref().clone();
            if !is_venue_code(&code) {
                self.error(
                    h.code.span(),
                    format!("venue code `{code}` is not 2 to 8 upper-case letters or digits"),
                    "write it like `STA` or `MRN`",
                );
            } else if let Some(first) = b.first_seen.get(&format!("venue:{code}")) {
                let (line, _) = self.src.position(first.start);
                self.error(
                    h.code.span(),
                    format!("duplicate venue code `{code}` (first defined on line {line})"),
                    "give each venue its own code",
                );
            } else {
                b.first_seen.insert(format!("venue:{code}"), h.code.span());
            }
            if h.name.get_ref().trim().is_empty() {
                self.error(
                    h.name.span(),
                    "venue name is empty",
                    "write the venue's full name",
                );
            }
            venue.code = code;
            venue.name = h.name.into_inner();
            venue.city = h.city.into_inner();
            venue.sports = h.sports;
        }
        if raw.devices.is_empty() {
            self.warning(
                raw.span.clone(),
                format!("venue `{}` has no devices", venue.code),
                "add [[venues.devices]] tables, or remove the venue",
            );
        }
        for g in raw.groups {
            self.add_group(b, vidx, &mut venue, g);
        }
        for d in raw.devices {
            if !self.claim_id(b, "device", &d.id) {
                continue;
            }
            let didx = DeviceIdx(b.devices.len());
            b.device_idx.insert(d.id.get_ref().clone(), didx);
            let device = self.validate_device(&d, vidx, defaults, profiles);
            venue.devices.push(didx);
            b.devices.push(device);
            b.pending_devices.push(PendingDevice { idx: didx, raw: d });
        }
        for f in raw.feeds {
            if self.claim_id(b, "feed", &f.id) {
                b.pending_feeds.push(PendingFeed {
                    venue: vidx,
                    raw: f,
                });
            }
        }
        b.venues.push(venue);
    }
}
