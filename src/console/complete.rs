//! Completion of what is being typed: the candidates for the word under
//! the cursor (shown while typing, sorted), and Tab, which extends the
//! word to what all candidates share (a whole candidate gets a trailing
//! space). Commands, venue codes, device ids, fault kinds, `on`/`off`,
//! and the filter's terms and values.

use crate::engine::Snapshot;
use crate::engine::command::FAULT_KINDS;

use super::app::Scope;
use super::cmdline;

/// The candidates for the last word of a line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Completion {
    /// Byte offset where the word being completed starts.
    pub start: usize,
    /// The word as typed.
    pub word: String,
    /// Every candidate that starts with the word (any case), sorted.
    pub candidates: Vec<String>,
}

/// Filter keys, as completed (`status:` …).
const FILTER_KEYS: [&str; 4] = ["kind:", "role:", "status:", "venue:"];
/// Values of `status:`.
const STATUS_WORDS: [&str; 7] = [
    "degraded",
    "down",
    "maintenance",
    "ok",
    "problem",
    "unknown",
    "unreachable",
];
/// Values of `kind:`.
const KIND_WORDS: [&str; 3] = ["http", "snmp", "tcp"];

fn starts_with_ci(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len()
        && text.is_char_boundary(prefix.len())
        && text[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// The venues in the console's scope.
fn venues<'a>(snap: &'a Snapshot, scope: &'a Scope) -> impl Iterator<Item = String> + 'a {
    (snap.layout.venues.iter().enumerate())
        .filter(|(i, _)| scope.has_venue(snap, *i))
        .map(|(_, v)| v.code.clone())
}

/// The devices in the console's scope.
fn devices<'a>(snap: &'a Snapshot, scope: &'a Scope) -> impl Iterator<Item = String> + 'a {
    (snap.layout.devices.iter().enumerate())
        .filter(|(i, _)| scope.has_device(snap, *i))
        .map(|(_, d)| d.id.clone())
}

fn finish(start: usize, word: &str, all: impl Iterator<Item = String>) -> Completion {
    let mut candidates: Vec<String> = all.filter(|c| starts_with_ci(c, word)).collect();
    candidates.sort_by(|a, b| {
        a.to_ascii_lowercase()
            .cmp(&b.to_ascii_lowercase())
            .then(a.cmp(b))
    });
    candidates.dedup();
    Completion {
        start,
        word: word.to_owned(),
        candidates,
    }
}

/// Where the last word of `text` starts.
fn last_word(text: &str) -> usize {
    text.rfind(' ').map_or(0, |i| i + 1)
}

/// Candidates for the last word of a `:` command line: venues, devices,
/// groups and incidents of the console's `scope` only.
pub fn command(text: &str, demo: bool, snap: &Snapshot, scope: &Scope) -> Completion {
    let start = last_word(text);
    let word = &text[start..];
    let before: Vec<String> = text[..start]
        .split_whitespace()
        .map(str::to_ascii_lowercase)
        .collect();
    let names = || {
        cmdline::names(demo)
            .into_iter()
            .map(ToOwned::to_owned)
            .collect::<Vec<_>>()
    };
    let none = Vec::<String>::new;
    let words: Vec<&str> = before.iter().map(String::as_str).collect();
    let all: Vec<String> = match words.as_slice() {
        [] => names(),
        ["venue" | "v"] => venues(snap, scope).collect(),
        ["device" | "d"] => devices(snap, scope).collect(),
        ["maint" | "maintenance"] => std::iter::once("off".to_owned())
            .chain(maint_targets(snap, scope))
            .collect(),
        ["maint" | "maintenance", "off"] => snap
            .maintenance
            .iter()
            .filter(|m| m.by != crate::engine::MAINTENANCE_FROM_FILE)
            .map(|m| m.target.clone())
            .collect(),
        ["check" | "clear"] => venues(snap, scope).chain(devices(snap, scope)).collect(),
        ["run" | "dry-run" | "dryrun"] => snap.playbooks.iter().map(|b| b.id.clone()).collect(),
        ["run" | "dry-run" | "dryrun", _] => vec!["on".to_owned()],
        ["run" | "dry-run" | "dryrun", _, "on"] => (snap.incidents.iter())
            .filter(|i| scope.has_incident(snap, i))
            .map(|i| i.id.to_string())
            .collect(),
        ["fault"] if demo => venues(snap, scope).chain(devices(snap, scope)).collect(),
        ["maint" | "maintenance", _] => ["30m", "1h", "2h", "8h"].map(str::to_owned).to_vec(),
        ["fault", target] if demo => {
            let is_venue = snap
                .layout
                .venues
                .iter()
                .any(|v| v.code.eq_ignore_ascii_case(target));
            FAULT_KINDS
                .iter()
                .filter(|k| (**k == "uplink-down") == is_venue)
                .map(|k| (*k).to_owned())
                .collect()
        }
        _ => none(),
    };
    finish(start, word, all.into_iter())
}

/// Candidates for the last word of a `/` filter (venues of `scope`).
pub fn filter(text: &str, snap: &Snapshot, scope: &Scope) -> Completion {
    let start = last_word(text);
    let word = &text[start..];
    if let Some((key, value)) = word.split_once(':') {
        let values: Vec<String> = match key.to_ascii_lowercase().as_str() {
            "status" | "s" => STATUS_WORDS.iter().map(|s| (*s).to_owned()).collect(),
            "kind" | "k" => KIND_WORDS.iter().map(|s| (*s).to_owned()).collect(),
            "venue" | "v" => venues(snap, scope).collect(),
            "role" | "r" => {
                let mut roles: Vec<String> =
                    snap.layout.devices.iter().map(|d| d.role.clone()).collect();
                roles.sort();
                roles.dedup();
                roles
            }
            _ => Vec::new(),
        };
        let mut c = finish(start + key.len() + 1, value, values.into_iter());
        value.clone_into(&mut c.word);
        return c;
    }
    let keys = FILTER_KEYS.iter().map(|k| (*k).to_owned());
    finish(start, word, keys.chain(venues(snap, scope)))
}

impl Completion {
    /// What every candidate starts with (any case), taken from the first.
    pub fn common(&self) -> &str {
        let Some(first) = self.candidates.first() else {
            return "";
        };
        let mut len = first.len();
        for w in &self.candidates[1..] {
            let shared = first
                .char_indices()
                .zip(w.chars())
                .take_while(|((_, a), b)| a.eq_ignore_ascii_case(b))
                .last()
                .map_or(0, |((i, a), _)| i + a.len_utf8());
            len = len.min(shared);
        }
        &first[..len]
    }

    /// Tab: extends `text` to what the candidates share; a single
    /// candidate is written whole, with a trailing space unless it is a
    /// filter key (`status:`). Returns whether `text` changed.
    pub fn apply(&self, text: &mut String) -> bool {
        if self.start > text.len() || !text.is_char_boundary(self.start) {
            return false;
        }
        let common = self.common();
        let unique = self.candidates.len() == 1;
        let longer = common.chars().count() > self.word.chars().count();
        let whole = unique && !common.ends_with(':');
        if !longer && !whole {
            return false;
        }
        let before = text.clone();
        text.truncate(self.start);
        text.push_str(common);
        if whole {
            text.push(' ');
        }
        *text != before
    }
}

/// What `:maint` may name: venues, redundancy groups and devices.
fn maint_targets<'a>(snap: &'a Snapshot, scope: &'a Scope) -> impl Iterator<Item = String> + 'a {
    venues(snap, scope)
        .chain(
            (snap.layout.groups.iter())
                .filter(|g| scope.has_venue(snap, g.venue.0))
                .map(|g| g.id.clone()),
        )
        .chain(devices(snap, scope))
}
