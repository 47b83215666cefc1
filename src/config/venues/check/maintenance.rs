//! Validation of `[[maintenance]]` windows: a target that exists (device,
//! group or venue), a start in RFC 3339 with an offset, and exactly one
//! of `end` (after the start) and `duration`; a reason.

use std::ops::Range;
use std::time::SystemTime;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use toml::Spanned;

use super::Build;
use crate::config::value::MAX_DURATION;
use crate::config::venues::cx::Cx;
use crate::config::venues::model::{MaintenanceScope, MaintenanceWindow};
use crate::config::venues::raw::RawMaintenance;
use crate::model::topology::VenueIdx;

/// How to write a time, for help texts.
const TIME_HELP: &str =
    "write RFC 3339 with an offset, in quotes: \"2024-07-26T18:00:00+02:00\" (or Z for UTC)";

/// Parses an RFC 3339 time with an offset.
pub(crate) fn parse_time(text: &str) -> Result<SystemTime, String> {
    OffsetDateTime::parse(text.trim(), &Rfc3339)
        .map(SystemTime::from)
        .map_err(|e| format!("invalid time `{text}` ({e})"))
}

impl Cx<'_> {
    /// Checks every window; returns those without errors.
    pub(super) fn validate_maintenance(
        &mut self,
        raws: &[RawMaintenance],
        b: &Build,
    ) -> Vec<MaintenanceWindow> {
        raws.iter()
            .filter_map(|m| {
                let before = self.errors();
                let scope = self.maintenance_target(&m.target, b);
                let times = self.maintenance_times(m);
                if m.reason.get_ref().trim().is_empty() {
                    self.error(
                        m.reason.span(),
                        format!(
                            "maintenance of `{}` has an empty reason",
                            m.target.get_ref()
                        ),
                        "say why, e.g. reason = \"core switch firmware upgrade\"",
                    );
                }
                let (start, end) = times?;
                let scope = scope?;
                (self.errors() == before).then(|| MaintenanceWindow {
                    target: m.target.get_ref().clone(),
                    scope,
                    start,
                    end,
                    reason: m.reason.get_ref().trim().to_owned(),
                })
            })
            .collect()
    }

    /// What a target names: a device id, else a group id, else a venue
    /// code (a name that is two of them is warned about).
    fn maintenance_target(
        &mut self,
        target: &Spanned<String>,
        b: &Build,
    ) -> Option<MaintenanceScope> {
        let t = target.get_ref();
        let device = b.device_idx.get(t).map(|i| MaintenanceScope::Device(*i));
        let group = b.group_idx.get(t).map(|i| MaintenanceScope::Group(*i));
        let venue = b
            .venues
            .iter()
            .position(|v| v.code == *t)
            .map(|i| MaintenanceScope::Venue(VenueIdx(i)));
        let found: Vec<MaintenanceScope> = [device, group, venue].into_iter().flatten().collect();
        if found.len() > 1 {
            self.warning(
                target.span(),
                format!("maintenance target `{t}` names more than one thing; the device (or else the group) is meant"),
                "rename the device, group or venue so that each name means one thing",
            );
        }
        if found.is_empty() && !self.is_broken("device", t) && !self.is_broken("group", t) {
            self.error(
                target.span(),
                format!("maintenance names unknown target `{t}`"),
                "name a device id, a group id or a venue code of this file",
            );
        }
        found.first().copied()
    }

    /// The start and end of a window; `None` after reporting.
    fn maintenance_times(&mut self, m: &RawMaintenance) -> Option<(SystemTime, SystemTime)> {
        let start = self.time_at(&m.start, "start");
        let end = match (&m.end, &m.duration) {
            (Some(end), Some(d)) => {
                self.error(
                    later(end.span(), d.span()),
                    "maintenance has both `end` and `duration`",
                    "give one of them: end = \"2024-07-26T20:00:00+02:00\" or duration = \"2h\"",
                );
                return None;
            }
            (None, None) => {
                self.error(
                    m.start.span(),
                    format!(
                        "maintenance of `{}` has no `end` nor `duration`",
                        m.target.get_ref()
                    ),
                    "add end = \"2024-07-26T20:00:00+02:00\" or duration = \"2h\"",
                );
                return None;
            }
            (Some(end), None) => (self.time_at(end, "end")?, end.span()),
            (None, Some(d)) => {
                if d.get_ref().0.is_zero() {
                    self.error(
                        d.span(),
                        "the duration of a maintenance window must be longer than zero",
                        "write it with a unit, e.g. `2h`",
                    );
                    return None;
                }
                (start?.checked_add(d.get_ref().0)?, d.span())
            }
        };
        let start = start?;
        let (end, span) = end;
        match end.duration_since(start) {
            Ok(length) if length.is_zero() => self.error(
                span,
                "maintenance ends when it starts",
                "the end must be after the start",
            ),
            Err(_) => self.error(
                span,
                "maintenance ends before it starts",
                "the end must be after the start; check the date and the offset",
            ),
            Ok(length) if length > MAX_DURATION => self.error(
                span,
                "maintenance lasts longer than 30 days",
                "a window is at most 30 days; split it, or shorten it",
            ),
            Ok(_) => return Some((start, end)),
        }
        None
    }

    /// A time of the file; `None` after reporting.
    fn time_at(&mut self, v: &Spanned<String>, what: &str) -> Option<SystemTime> {
        match parse_time(v.get_ref()) {
            Ok(t) => Some(t),
            Err(e) => {
                self.error(v.span(), format!("`{what}`: {e}"), TIME_HELP);
                None
            }
        }
    }
}

/// The span that comes later in the file.
fn later(a: Range<usize>, b: Range<usize>) -> Range<usize> {
    if a.start >= b.start { a } else { b }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::parse_time;

    #[test]
    fn times_take_their_offset() {
        let paris = parse_time("2024-07-26T18:00:00+02:00").expect("valid");
        let utc = parse_time("2024-07-26T16:00:00Z").expect("valid");
        assert_eq!(paris, utc);
        assert_eq!(
            utc.duration_since(UNIX_EPOCH).expect("after 1970"),
            Duration::from_secs(1_722_009_600)
        );
    }

    #[test]
    fn times_without_offset_or_invalid_are_refused() {
        for bad in [
            "2024-07-26T18:00:00",
            "2024-07-26",
            "2024-02-30T10:00:00Z",
            "tomorrow",
            "",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }
}
