//! The status of a device, redundancy group, venue or the whole wall, and
//! the roll-up rule ([`worst`]).
//!
//! Never colour alone: every status has a glyph and a word, so the wall
//! reads with `NO_COLOR`, on a 16-colour terminal and for colour-blind
//! users.

use std::fmt;

/// What is shown for a device, redundancy group, venue or the wall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Status {
    /// Working as expected (green).
    Ok,
    /// Working with a problem: a warning, lost redundancy or flapping (orange).
    Degraded,
    /// Not working (red).
    Down,
    /// Not checkable because every parent (uplink) is down: shown, not
    /// alerted (the parent is the root cause).
    Unreachable,
    /// Not known: not yet polled, or the check could not decide (grey).
    Unknown,
    /// Planned work (downtime): shown grey, ignored by roll-ups.
    Maintenance,
}

impl Status {
    /// Every status, in declaration order.
    pub const ALL: [Status; 6] = [
        Status::Ok,
        Status::Degraded,
        Status::Down,
        Status::Unreachable,
        Status::Unknown,
        Status::Maintenance,
    ];

    /// One-character symbol, distinct for each status.
    #[must_use]
    pub const fn glyph(self) -> &'static str {
        match self {
            Status::Ok => "✔",
            Status::Degraded => "▲",
            Status::Down => "✖",
            Status::Unreachable => "⊘",
            Status::Unknown => "?",
            Status::Maintenance => "◆",
        }
    }

    /// Upper-case word, distinct for each status.
    #[must_use]
    pub const fn word(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Degraded => "DEGRADED",
            Status::Down => "DOWN",
            Status::Unreachable => "UNREACHABLE",
            Status::Unknown => "UNKNOWN",
            Status::Maintenance => "MAINTENANCE",
        }
    }

    /// Rank for worst-first sorting: Down 5 > Degraded 4 > Unreachable 3 >
    /// Unknown 2 > Ok 1 > Maintenance 0.
    #[must_use]
    pub const fn severity(self) -> u8 {
        match self {
            Status::Down => 5,
            Status::Degraded => 4,
            Status::Unreachable => 3,
            Status::Unknown => 2,
            Status::Ok => 1,
            Status::Maintenance => 0,
        }
    }

    /// Whether the thing works (Ok or Degraded); counts as "up" in a
    /// redundancy group.
    #[must_use]
    pub const fn is_up(self) -> bool {
        matches!(self, Status::Ok | Status::Degraded)
    }

    /// Whether an operator should look at it: anything but Ok and
    /// Maintenance (Degraded, Down, Unreachable, Unknown).
    #[must_use]
    pub const fn is_problem(self) -> bool {
        !matches!(self, Status::Ok | Status::Maintenance)
    }

    /// The roll-up rule; same as the free function [`worst`].
    pub fn worst<I: IntoIterator<Item = Status>>(statuses: I) -> Status {
        worst(statuses)
    }
}

impl fmt::Display for Status {
    /// `"{glyph} {word}"`, e.g. `✖ DOWN`; honours width and alignment.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&format!("{} {}", self.glyph(), self.word()))
    }
}

/// Roll-up of children into one status.
///
/// Maintenance children are ignored unless every child is in maintenance
/// (then the result is Maintenance); otherwise the child of highest
/// [`Status::severity`] wins. No children at all gives Unknown.
pub fn worst<I: IntoIterator<Item = Status>>(statuses: I) -> Status {
    let mut any = false;
    let mut worst: Option<Status> = None;
    for status in statuses {
        any = true;
        if status == Status::Maintenance {
            continue;
        }
        if worst.is_none_or(|w| status.severity() > w.severity()) {
            worst = Some(status);
        }
    }
    match worst {
        Some(status) => status,
        None if any => Status::Maintenance,
        None => Status::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::Status::{Degraded, Down, Maintenance, Ok, Unknown, Unreachable};
    use super::*;
    use rstest::rstest;
    use std::collections::HashSet;

    #[rstest]
    #[case::ok(Ok, "✔", "OK", "✔ OK")]
    #[case::degraded(Degraded, "▲", "DEGRADED", "▲ DEGRADED")]
    #[case::down(Down, "✖", "DOWN", "✖ DOWN")]
    #[case::unreachable(Unreachable, "⊘", "UNREACHABLE", "⊘ UNREACHABLE")]
    #[case::unknown(Unknown, "?", "UNKNOWN", "? UNKNOWN")]
    #[case::maintenance(Maintenance, "◆", "MAINTENANCE", "◆ MAINTENANCE")]
    fn glyph_word_and_display(
        #[case] status: Status,
        #[case] glyph: &str,
        #[case] word: &str,
        #[case] shown: &str,
    ) {
        assert_eq!(status.glyph(), glyph);
        assert_eq!(status.word(), word);
        assert_eq!(status.to_string(), shown);
    }

    #[test]
    fn display_honours_width() {
        assert_eq!(format!("[{Down:<8}]"), "[✖ DOWN  ]");
        assert_eq!(format!("[{Ok:>6}]"), "[  ✔ OK]");
    }

    #[test]
    fn all_lists_each_status_once() {
        let set: HashSet<Status> = Status::ALL.into_iter().collect();
        assert_eq!(set.len(), Status::ALL.len());
        for status in Status::ALL {
            // Exhaustive: adding a variant without listing it fails here.
            let listed = match status {
                Ok | Degraded | Down | Unreachable | Unknown | Maintenance => {
                    Status::ALL.contains(&status)
                }
            };
            assert!(listed);
        }
        assert_eq!(Status::ALL.len(), 6);
    }

    #[test]
    fn glyphs_are_unique_single_chars() {
        let glyphs: HashSet<&str> = Status::ALL.iter().map(|s| s.glyph()).collect();
        assert_eq!(glyphs.len(), Status::ALL.len());
        for status in Status::ALL {
            assert_eq!(status.glyph().chars().count(), 1, "{status:?}");
        }
    }

    #[test]
    fn words_are_unique_upper_case() {
        let words: HashSet<&str> = Status::ALL.iter().map(|s| s.word()).collect();
        assert_eq!(words.len(), Status::ALL.len());
        for status in Status::ALL {
            assert_eq!(status.word(), status.word().to_uppercase());
        }
    }

    #[rstest]
    #[case::down(Down, 5)]
    #[case::degraded(Degraded, 4)]
    #[case::unreachable(Unreachable, 3)]
    #[case::unknown(Unknown, 2)]
    #[case::ok(Ok, 1)]
    #[case::maintenance(Maintenance, 0)]
    fn severity_values(#[case] status: Status, #[case] severity: u8) {
        assert_eq!(status.severity(), severity);
    }

    #[test]
    fn sorting_by_severity_puts_worst_first() {
        let mut all = Status::ALL;
        all.sort_by_key(|s| std::cmp::Reverse(s.severity()));
        assert_eq!(all, [Down, Degraded, Unreachable, Unknown, Ok, Maintenance]);
    }

    #[rstest]
    #[case::ok(Ok, true, false)]
    #[case::degraded(Degraded, true, true)]
    #[case::down(Down, false, true)]
    #[case::unreachable(Unreachable, false, true)]
    #[case::unknown(Unknown, false, true)]
    #[case::maintenance(Maintenance, false, false)]
    fn up_and_problem(#[case] status: Status, #[case] up: bool, #[case] problem: bool) {
        assert_eq!(status.is_up(), up);
        assert_eq!(status.is_problem(), problem);
    }

    #[rstest]
    #[case::empty(&[], Unknown)]
    #[case::single_ok(&[Ok], Ok)]
    #[case::single_down(&[Down], Down)]
    #[case::down_beats_ok(&[Ok, Down, Ok], Down)]
    #[case::down_beats_degraded(&[Degraded, Down], Down)]
    #[case::degraded_beats_unreachable(&[Unreachable, Degraded], Degraded)]
    #[case::unreachable_beats_unknown(&[Unknown, Unreachable], Unreachable)]
    #[case::unknown_beats_ok(&[Ok, Unknown], Unknown)]
    #[case::maintenance_ignored(&[Maintenance, Ok], Ok)]
    #[case::maintenance_ignored_with_down(&[Maintenance, Down, Degraded], Down)]
    #[case::maintenance_does_not_hide_unknown(&[Maintenance, Unknown], Unknown)]
    #[case::all_maintenance(&[Maintenance, Maintenance], Maintenance)]
    #[case::single_maintenance(&[Maintenance], Maintenance)]
    fn worst_roll_up(#[case] children: &[Status], #[case] expected: Status) {
        assert_eq!(worst(children.iter().copied()), expected);
        assert_eq!(Status::worst(children.iter().copied()), expected);
        // Order of children does not matter.
        assert_eq!(worst(children.iter().rev().copied()), expected);
    }
}
