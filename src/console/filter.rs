//! The `/` filter: words that narrow the wall and the device tables.
//!
//! A filter is terms separated by spaces; a venue or device must match
//! every term. A plain word matches a venue code, name or city, or a
//! device id or role, ignoring case. Keyed terms:
//!
//! - `status:down` (`ok`, `degraded`, `down`, `unreachable`, `unknown`,
//!   `maintenance`; `red` = down, `orange` = degraded, `grey` = unknown,
//!   `problem` = anything but OK and maintenance);
//! - `role:core` (a device whose role contains the text);
//! - `venue:STA` (the venue with that code);
//! - `kind:snmp` (`snmp`, `http` or `tcp`).
//!
//! A venue is shown on the wall when it, or any of its devices, matches.

use std::fmt;

use crate::console::app::Scope;
use crate::engine::Snapshot;
use crate::model::Status;

/// A parsed filter; the empty filter matches everything. Within a
/// console's [`Scope`] (`--venue`, a technician's venues) it matches
/// nothing outside it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    terms: Vec<Term>,
    scope: Scope,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    /// Lower-case text.
    Text(String),
    Status(StatusTerm),
    /// Lower-case text.
    Role(String),
    /// Upper-case code.
    Venue(String),
    /// Lower-case kind.
    Kind(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StatusTerm {
    Is(Status),
    Problem,
}

impl StatusTerm {
    fn matches(self, status: Status) -> bool {
        match self {
            StatusTerm::Is(s) => s == status,
            StatusTerm::Problem => status.is_problem(),
        }
    }
}

/// Why a filter could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError(pub String);

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FilterError {}

const STATUS_WORDS: &str = "ok, degraded, down, unreachable, unknown, maintenance, problem";

fn status_term(value: &str) -> Result<StatusTerm, FilterError> {
    let term = match value.to_ascii_lowercase().as_str() {
        "ok" | "green" => StatusTerm::Is(Status::Ok),
        "degraded" | "orange" | "warn" => StatusTerm::Is(Status::Degraded),
        "down" | "red" => StatusTerm::Is(Status::Down),
        "unreachable" => StatusTerm::Is(Status::Unreachable),
        "unknown" | "grey" | "gray" => StatusTerm::Is(Status::Unknown),
        "maintenance" | "maint" => StatusTerm::Is(Status::Maintenance),
        "problem" | "problems" | "bad" => StatusTerm::Problem,
        _ => {
            return Err(FilterError(format!(
                "unknown status `{value}`; use one of {STATUS_WORDS}"
            )));
        }
    };
    Ok(term)
}

/// Reads a filter. Empty text gives the empty filter.
pub fn parse(text: &str) -> Result<Filter, FilterError> {
    let mut terms = Vec::new();
    for word in text.split_whitespace() {
        let term = match word.split_once(':') {
            None => Term::Text(word.to_lowercase()),
            Some((key, value)) => {
                if value.is_empty() {
                    return Err(FilterError(format!(
                        "`{key}:` needs a value after the colon"
                    )));
                }
                match key.to_ascii_lowercase().as_str() {
                    "status" | "s" => Term::Status(status_term(value)?),
                    "role" | "r" => Term::Role(value.to_lowercase()),
                    "venue" | "v" => Term::Venue(value.to_uppercase()),
                    "kind" | "k" => {
                        let kind = value.to_ascii_lowercase();
                        if !matches!(kind.as_str(), "snmp" | "http" | "tcp") {
                            return Err(FilterError(format!(
                                "unknown kind `{value}`; use snmp, http or tcp"
                            )));
                        }
                        Term::Kind(kind)
                    }
                    _ => {
                        return Err(FilterError(format!(
                            "unknown filter key `{key}:`; use status:, role:, venue: or kind:"
                        )));
                    }
                }
            }
        };
        terms.push(term);
    }
    Ok(Filter {
        terms,
        scope: Scope::all(),
    })
}

/// Whether `hay` contains `needle` (already lower case), ignoring ASCII
/// case, without allocating.
fn contains_ci(hay: &str, needle: &str) -> bool {
    let (hay, needle) = (hay.as_bytes(), needle.as_bytes());
    needle.is_empty()
        || hay
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Whether `hay` contains `needle` (lower case), ignoring any case.
fn contains_lower(hay: &str, needle: &str) -> bool {
    if hay.is_ascii() && needle.is_ascii() {
        contains_ci(hay, needle)
    } else {
        hay.to_lowercase().contains(needle)
    }
}

impl Filter {
    /// Whether it has no terms (matches everything in its scope).
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The same terms, matching only within `scope`.
    #[must_use]
    pub fn within(mut self, scope: &Scope) -> Self {
        self.scope = scope.clone();
        self
    }

    /// The scope it matches within.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    fn venue_text(snap: &Snapshot, venue: usize, text: &str) -> bool {
        snap.layout.venues.get(venue).is_some_and(|v| {
            contains_lower(&v.code, text)
                || contains_lower(&v.name, text)
                || contains_lower(&v.city, text)
        })
    }

    fn venue_code(snap: &Snapshot, venue: usize, code: &str) -> bool {
        snap.layout
            .venues
            .get(venue)
            .is_some_and(|v| v.code.eq_ignore_ascii_case(code))
    }

    /// Whether the venue itself (not its devices) matches every term.
    pub fn matches_venue_itself(&self, snap: &Snapshot, venue: usize) -> bool {
        if !self.scope.has_venue(snap, venue) {
            return false;
        }
        let status = snap.venues.get(venue).map(|v| v.eval.status);
        self.terms.iter().all(|term| match term {
            Term::Text(text) => Self::venue_text(snap, venue, text),
            Term::Venue(code) => Self::venue_code(snap, venue, code),
            Term::Status(s) => status.is_some_and(|st| s.matches(st)),
            Term::Role(_) | Term::Kind(_) => false,
        })
    }

    /// Whether device `device` matches every term (text and `venue:` may
    /// match its venue).
    pub fn matches_device(&self, snap: &Snapshot, device: usize) -> bool {
        let Some(info) = snap.layout.devices.get(device) else {
            return false;
        };
        if !self.scope.has_venue(snap, info.venue.0) {
            return false;
        }
        let status = snap.devices.get(device).map(|d| d.status);
        self.terms.iter().all(|term| match term {
            Term::Text(text) => {
                contains_lower(&info.id, text)
                    || contains_lower(&info.role, text)
                    || Self::venue_text(snap, info.venue.0, text)
            }
            Term::Venue(code) => Self::venue_code(snap, info.venue.0, code),
            Term::Status(s) => status.is_some_and(|st| s.matches(st)),
            Term::Role(role) => contains_lower(&info.role, role),
            Term::Kind(kind) => info.kind == *kind,
        })
    }

    /// Whether an incident belongs on the filtered incident list: its
    /// device matches, or (a group's) its venue or one of its devices.
    pub fn matches_incident(&self, snap: &Snapshot, incident: &crate::engine::Incident) -> bool {
        if !self.scope.has_incident(snap, incident) {
            return false;
        }
        if self.is_empty() {
            return true;
        }
        let venue = incident.venue.map(|v| v.0);
        match (snap.layout.device(&incident.subject), venue) {
            (Some(d), Some(v)) => {
                self.matches_device(snap, d.0) || self.matches_venue_itself(snap, v)
            }
            (Some(d), None) => self.matches_device(snap, d.0),
            (None, Some(v)) => self.matches_venue(snap, v),
            (None, None) => self.terms.iter().all(|term| match term {
                Term::Text(text) => contains_lower(&incident.subject, text),
                Term::Status(s) => s.matches(incident.severity),
                Term::Venue(_) | Term::Role(_) | Term::Kind(_) => false,
            }),
        }
    }

    /// Whether a venue belongs on the filtered wall: it or one of its
    /// devices matches.
    pub fn matches_venue(&self, snap: &Snapshot, venue: usize) -> bool {
        if !self.scope.has_venue(snap, venue) {
            return false;
        }
        if self.is_empty() || self.matches_venue_itself(snap, venue) {
            return true;
        }
        snap.layout
            .venues
            .get(venue)
            .is_some_and(|v| v.devices.iter().any(|&d| self.matches_device(snap, d.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::empty("", 0)]
    #[case::spaces("   ", 0)]
    #[case::one_word("sta", 1)]
    #[case::keyed("status:down role:core", 2)]
    #[case::three("venue:sta kind:snmp core", 3)]
    #[case::short_keys("s:red r:ups v:STA k:tcp", 4)]
    fn parses(#[case] text: &str, #[case] terms: usize) {
        let filter = parse(text).expect("parses");
        assert_eq!(filter.terms.len(), terms);
        assert_eq!(filter.is_empty(), terms == 0);
    }

    #[rstest]
    #[case::unknown_key("colour:red", "unknown filter key `colour:`")]
    #[case::unknown_status("status:purple", "unknown status `purple`")]
    #[case::empty_value("status:", "`status:` needs a value")]
    #[case::unknown_kind("kind:ftp", "unknown kind `ftp`")]
    #[case::second_term_bad("sta role:", "`role:` needs a value")]
    fn rejects(#[case] text: &str, #[case] message: &str) {
        let err = parse(text).expect_err("must fail");
        assert!(err.to_string().contains(message), "{err}");
    }

    #[rstest]
    #[case::ok("ok", Some(Status::Ok))]
    #[case::orange("ORANGE", Some(Status::Degraded))]
    #[case::red("red", Some(Status::Down))]
    #[case::down("down", Some(Status::Down))]
    #[case::unreachable("unreachable", Some(Status::Unreachable))]
    #[case::grey("grey", Some(Status::Unknown))]
    #[case::maint("maint", Some(Status::Maintenance))]
    #[case::problem("problem", None)]
    fn status_words(#[case] word: &str, #[case] status: Option<Status>) {
        let term = status_term(word).expect("known");
        match status {
            Some(s) => assert_eq!(term, StatusTerm::Is(s)),
            None => assert_eq!(term, StatusTerm::Problem),
        }
    }

    #[test]
    fn case_insensitive_contains() {
        assert!(contains_ci("STA-core-a", "core"));
        assert!(contains_ci("STA-core-a", "sta-c"));
        assert!(!contains_ci("STA", "stad"));
        assert!(contains_lower("Élancourt", "élan"));
    }
}
