//! Validation of result feeds: sources (two different devices of the
//! feed's venue), consumer classes with an SLO, and `stale_after`.

use toml::Spanned;

use super::Build;
use crate::config::venues::cx::{Cx, or_none};
use crate::config::venues::model::Feed;
use crate::config::venues::raw::RawFeed;
use crate::model::topology::VenueIdx;

impl Cx<'_> {
    /// Checks a feed; `None` when a source cannot be resolved.
    pub(super) fn validate_feed(
        &mut self,
        venue: VenueIdx,
        f: &RawFeed,
        b: &Build,
        slo: Option<&[String]>,
    ) -> Option<Feed> {
        let id = f.id.get_ref().clone();
        let source =
            |cx: &mut Self, s: &Spanned<String>, which: &str| match b.device_idx.get(s.get_ref()) {
                None if cx.is_broken("device", s.get_ref()) => None,
                None => {
                    cx.error(
                        s.span(),
                        format!("feed `{id}` names unknown {which} source `{}`", s.get_ref()),
                        "name the results server (a device id of this venue)",
                    );
                    None
                }
                Some(idx) if b.devices.get(idx.0).map(|d| d.venue) != Some(venue) => {
                    cx.error(
                        s.span(),
                        format!(
                            "{which} source `{}` of feed `{id}` is in another venue",
                            s.get_ref()
                        ),
                        "a feed's sources are results servers of its own venue",
                    );
                    None
                }
                Some(idx) => Some(*idx),
            };
        let primary = source(self, &f.primary, "primary");
        let backup = source(self, &f.backup, "backup");
        if primary.is_some() && primary == backup {
            self.error(
                f.backup.span(),
                format!("feed `{id}` has the same primary and backup source"),
                "the backup must be a different results server, or the feed has no redundancy",
            );
        }
        let consumers: Vec<String> = f
            .consumers
            .get_ref()
            .iter()
            .map(|c| c.get_ref().clone())
            .collect();
        if consumers.is_empty() {
            self.error(
                f.consumers.span(),
                format!("feed `{id}` has no consumers"),
                "list the consumer classes it serves, e.g. [\"commentators\"]",
            );
        }
        for c in f.consumers.get_ref() {
            let Some(slo) = slo else { break };
            if !slo.iter().any(|s| s == c.get_ref()) {
                self.error(
                    c.span(),
                    format!(
                        "feed `{id}` names consumer class `{}`, which has no SLO",
                        c.get_ref()
                    ),
                    format!(
                        "add {} = \"...\" to [event.slo] (defined: {})",
                        c.get_ref(),
                        or_none(&slo.iter().map(String::as_str).collect::<Vec<_>>())
                    ),
                );
            }
        }
        let stale_after = f.stale_after.get_ref().0;
        if stale_after.is_zero() {
            self.error(
                f.stale_after.span(),
                format!("stale_after of feed `{id}` must be longer than zero"),
                "write e.g. `30s`",
            );
        }
        Some(Feed {
            id,
            venue,
            primary: primary?,
            backup: backup?,
            consumers,
            stale_after,
        })
    }
}
