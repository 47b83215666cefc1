//! Playbooks against the inventory (venues.toml): literal ids that name
//! nothing, relay steps without a relay, shell steps where venues.toml
//! does not enable them (errors, at the playbook's line:column); incident
//! kinds and device roles no playbook covers (warnings).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use toml::Spanned;

use super::check::{ReadKind, target_keys};
use super::model::{Playbook, StepKind, TriggerKind};
use super::raw::{RawHeader, RawPlaybook, RawStep};
use crate::config::diag::{Diagnostic, Severity, SourceFile};
use crate::config::venues::Inventory;
use crate::model::ProblemKind;

/// Whether a written name is a literal id (not a `{field}`, resolved at
/// run time).
fn literal(v: &Spanned<String>) -> Option<&str> {
    let t = v.get_ref();
    (!t.starts_with('{')).then_some(t.as_str())
}

/// What the inventory has, by kind of id.
struct Ids<'a> {
    inv: &'a Inventory,
}

impl Ids<'_> {
    fn has(&self, what: &str, id: &str) -> bool {
        let inv = self.inv;
        match what {
            "device" => inv.devices.iter().any(|d| d.id == id),
            "group" => inv.groups.iter().any(|g| g.id == id),
            "venue" => inv.venues.iter().any(|v| v.code == id),
            "feed" => inv.feeds.iter().any(|f| f.id == id),
            "sink" => inv
                .relay
                .as_ref()
                .is_some_and(|r| r.sinks.iter().any(|s| s.id == id)),
            "route" => inv
                .relay
                .as_ref()
                .is_some_and(|r| r.routes.iter().any(|s| s.id == id)),
            "source" => inv
                .relay
                .as_ref()
                .is_some_and(|r| r.sources.iter().any(|s| s.id == id)),
            _ => false,
        }
    }

    /// Where venues.toml defines this kind of id.
    fn table(what: &str) -> &'static str {
        match what {
            "device" => "a [[venues.devices]] table",
            "group" => "a [[venues.groups]] table",
            "venue" => "a [[venues]] table (its code)",
            "feed" => "a [[venues.feeds]] table",
            "sink" => "a [[relay.sinks]] table",
            "route" => "a [[relay.routes]] table",
            _ => "a [[relay.sources]] table",
        }
    }
}

/// Checks a playbook that passed its own checks against the inventory;
/// errors and warnings join `diags`.
pub(super) fn check(
    src: &SourceFile,
    book: &RawPlaybook,
    inv: &Inventory,
    diags: &mut Vec<Diagnostic>,
) {
    let ids = Ids { inv };
    let mut unknown = |what: &str, v: &Spanned<String>, diags: &mut Vec<Diagnostic>| {
        if let Some(id) = literal(v)
            && !ids.has(what, id)
        {
            diags.push(src.error(
                v.span(),
                format!("unknown {what} `{id}`"),
                format!(
                    "name {} of {}, or a field like \"{{{what}}}\"",
                    Ids::table(what),
                    inv.source.display()
                ),
            ));
        }
    };
    if let Some(h) = &book.header {
        check_trigger(src, h, inv, diags, &mut unknown);
    }
    for step in &book.steps {
        let Some(kind) = ReadKind::parse(step.kind.get_ref()) else {
            continue;
        };
        for (what, v) in target_keys(step) {
            if let Some(v) = v {
                unknown(what, v, diags);
            }
        }
        if let Some(r) = &step.route {
            unknown("route", r, diags);
        }
        for s in step.sinks.iter().flat_map(|s| s.get_ref()) {
            unknown("sink", s, diags);
        }
        if let Some(s) = &step.source
            && !matches!(s.get_ref().as_str(), "backup" | "primary" | "both")
        {
            unknown("source", s, diags);
        }
        check_enabled(src, step, kind.kind(), inv, diags);
    }
}

/// The trigger's venue and feed exist; its role is some device's.
fn check_trigger(
    src: &SourceFile,
    h: &RawHeader,
    inv: &Inventory,
    diags: &mut Vec<Diagnostic>,
    unknown: &mut impl FnMut(&str, &Spanned<String>, &mut Vec<Diagnostic>),
) {
    if let Some(v) = &h.trigger.venue {
        unknown("venue", v, diags);
    }
    if let Some(f) = &h.trigger.feed {
        unknown("feed", f, diags);
    }
    if let Some(role) = &h.trigger.role
        && !inv.devices.iter().any(|d| d.role == *role.get_ref())
    {
        let roles: BTreeSet<&str> = inv.devices.iter().map(|d| d.role.as_str()).collect();
        let roles: Vec<&str> = roles.into_iter().collect();
        diags.push(src.warning(
            role.span(),
            format!(
                "no device has role `{}`: the playbook matches no incident",
                role.get_ref()
            ),
            format!(
                "the roles of {} are {}",
                inv.source.display(),
                roles.join(", ")
            ),
        ));
    }
}

/// Relay steps need a `[relay]`; shell steps need `[playbooks] shell =
/// true`.
fn check_enabled(
    src: &SourceFile,
    step: &RawStep,
    kind: StepKind,
    inv: &Inventory,
    diags: &mut Vec<Diagnostic>,
) {
    let path = inv.source.display();
    if kind == StepKind::Relay && inv.relay.is_none() {
        diags.push(src.error(
            step.kind.span(),
            format!(
                "relay step `{}`, but {path} has no [relay]",
                step.id.get_ref()
            ),
            "add a [relay] table to venues.toml (docs/relay.md), or make it a manual step",
        ));
    }
    if kind == StepKind::Shell && !inv.playbooks.shell {
        diags.push(src.error(
            step.kind.span(),
            format!(
                "shell step `{}`, but {path} does not enable shell steps",
                step.id.get_ref()
            ),
            "set `shell = true` in the [playbooks] table of venues.toml, or make it a manual step",
        ));
    }
}

/// Whether a playbook's trigger covers incidents of `kind` about
/// subjects of `role` (`None`: a kind whose subject has no role).
fn covers(book: &Playbook, kind: ProblemKind, role: Option<&str>) -> bool {
    book.trigger.kind == TriggerKind::Problem(kind)
        && book.trigger.venue.is_none()
        && book.trigger.feed.is_none()
        && match (&book.trigger.role, role) {
            (None, _) => true,
            (Some(want), Some(role)) => want == role,
            (Some(_), None) => false,
        }
}

/// The incident kinds the inventory can open, each with the roles of its
/// subjects (empty: a kind whose subject has no role).
fn possible(inv: &Inventory) -> BTreeMap<ProblemKind, BTreeSet<&str>> {
    let mut out: BTreeMap<ProblemKind, BTreeSet<&str>> = BTreeMap::new();
    let device_roles: BTreeSet<&str> = inv.devices.iter().map(|d| d.role.as_str()).collect();
    for kind in [
        ProblemKind::DeviceDown,
        ProblemKind::DeviceDegraded,
        ProblemKind::DeviceUnknown,
    ] {
        out.insert(kind, device_roles.clone());
    }
    let group_roles: BTreeSet<&str> = inv
        .groups
        .iter()
        .flat_map(|g| g.members.iter())
        .filter_map(|m| inv.devices.get(m.0))
        .map(|d| d.role.as_str())
        .collect();
    if !inv.groups.is_empty() {
        out.insert(ProblemKind::RedundancyLost, group_roles.clone());
        out.insert(ProblemKind::GroupDown, group_roles);
    }
    if !inv.feeds.is_empty() && inv.relay.is_some() {
        out.insert(ProblemKind::FeedStale, BTreeSet::new());
        out.insert(ProblemKind::FeedDegraded, BTreeSet::new());
    }
    if inv.relay.as_ref().is_some_and(|r| !r.sinks.is_empty()) {
        out.insert(ProblemKind::LatencySlo, BTreeSet::new());
    }
    out
}

/// Warnings: the incident kinds (and, for devices and groups, the device
/// roles) of the inventory no playbook covers; one per kind, at the first
/// place venues.toml defines what it is about.
pub fn coverage(books: &[Playbook], inv: &Inventory) -> Vec<Diagnostic> {
    let text = crate::config::file::read_text(&inv.source).unwrap_or_default();
    let src = SourceFile::new(&inv.source, text);
    let mut out = Vec::new();
    for (kind, roles) in possible(inv) {
        let name = kind.config_name();
        if roles.is_empty() {
            if books.iter().any(|b| covers(b, kind, None)) {
                continue;
            }
            let what = if kind == ProblemKind::LatencySlo {
                "[[relay.sinks]]"
            } else {
                "[[venues.feeds]]"
            };
            out.push(warn(
                &src,
                find(src.text(), what),
                format!("no playbook for {name}"),
            ));
            continue;
        }
        let missing: Vec<&str> = roles
            .into_iter()
            .filter(|r| !books.iter().any(|b| covers(b, kind, Some(r))))
            .collect();
        let Some(first) = missing.first() else {
            continue;
        };
        let listed: Vec<String> = missing.iter().map(|r| format!("`{r}`")).collect();
        let message = format!(
            "no playbook for {name} of role{} {}",
            if missing.len() == 1 { "" } else { "s" },
            listed.join(", ")
        );
        out.push(warn(
            &src,
            find(src.text(), &format!("role = \"{first}\"")),
            message,
        ));
    }
    out
}

/// A coverage warning at `span` of venues.toml.
fn warn(src: &SourceFile, span: Range<usize>, message: String) -> Diagnostic {
    src.diag(
        Severity::Warning,
        Some(span),
        message,
        Some(
            "add a playbook with this [trigger] to the playbook folder (docs/playbooks.md)"
                .to_owned(),
        ),
    )
}

/// The span of the first `needle` in `text`, else the start.
fn find(text: &str, needle: &str) -> Range<usize> {
    text.find(needle).map_or(0..0, |i| i..i + needle.len())
}
