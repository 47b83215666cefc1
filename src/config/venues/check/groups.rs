//! Validation of redundancy groups: each `[[venues.groups]]` table, then,
//! once devices have joined, that each group has enough members.

use super::{Build, GroupSpans};
use crate::config::venues::cx::Cx;
use crate::config::venues::model::{Group, Venue};
use crate::config::venues::raw::RawGroup;
use crate::model::topology::{GroupIdx, VenueIdx};

impl Cx<'_> {
    /// Checks a group and adds it to `venue`; its members join later.
    pub(super) fn add_group(
        &mut self,
        b: &mut Build,
        vidx: VenueIdx,
        venue: &mut Venue,
        g: RawGroup,
    ) {
        if !self.claim_id(b, "group", &g.id) {
            return;
        }
        let id = g.id.get_ref().clone();
        let gidx = GroupIdx(b.groups.len());
        let min_up = *g.min_up.get_ref();
        if min_up < 1 {
            self.error(
                g.min_up.span(),
                format!("min_up of group `{id}` is {min_up}; it must be at least 1"),
                "a redundancy group needs at least one member up to be serving",
            );
        }
        b.group_idx.insert(id.clone(), gidx);
        b.group_spans.push(GroupSpans {
            id: g.id.span(),
            min_up: g.min_up.span(),
        });
        venue.groups.push(gidx);
        b.groups.push(Group {
            id,
            venue: vidx,
            min_up: usize::try_from(min_up).unwrap_or(0),
            members: Vec::new(),
            description: g.description,
        });
    }

    /// Reports groups with no members or fewer than `min_up`.
    pub(super) fn check_group_sizes(&mut self, b: &Build) {
        for (group, spans) in b.groups.iter().zip(&b.group_spans) {
            let GroupSpans {
                id: span,
                min_up: min_span,
            } = spans;
            let members = group.members.len();
            if members == 0 {
                self.error(
                    span.clone(),
                    format!("group `{}` has no members", group.id),
                    format!(
                        "add group = \"{}\" to its devices, or remove the group",
                        group.id
                    ),
                );
            } else if group.min_up > members {
                self.error(
                    min_span.clone(),
                    format!(
                        "min_up of group `{}` is {} but the group has only {members} member{}",
                        group.id,
                        group.min_up,
                        if members == 1 { "" } else { "s" }
                    ),
                    "lower min_up or add members (devices with group = \"...\")",
                );
            }
        }
    }
}
