//! The relay's commands on the `:` command line: `:relay` opens the
//! relay view; `:pause`, `:resume`, `:replay`, `:source` and `:route`
//! reroute it (each asks for a yes first, then goes to the engine, which
//! checks the role and audits it).

use std::time::{Duration, SystemTime};

use crate::engine::Command;
use crate::model::relay::{RelayCommand, ReplayFrom};

/// Whether `name` is one of the rerouting commands (they need operator).
pub fn is_reroute(name: &str) -> bool {
    matches!(name, "pause" | "resume" | "replay" | "source" | "route")
}

fn usage(name: &str) -> String {
    let line = super::cmdline::USAGE
        .iter()
        .find(|u| u.name() == name)
        .map_or(name, |u| u.line);
    format!("usage: :{line}")
}

/// Reads where a replay starts: `#N` or `N` a journal sequence number,
/// an RFC 3339 time, or a duration ago (`10m`).
pub fn replay_from(text: &str, now: SystemTime) -> Result<ReplayFrom, String> {
    let digits = text.strip_prefix('#').unwrap_or(text);
    if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
        return digits
            .parse()
            .map(ReplayFrom::Seq)
            .map_err(|_| format!("`{text}` is too large for a sequence number"));
    }
    if let Ok(t) = humantime::parse_rfc3339_weak(text) {
        return Ok(ReplayFrom::Time(t));
    }
    match humantime::parse_duration(text) {
        Ok(ago) if ago <= Duration::from_secs(90 * 86_400) => now
            .checked_sub(ago)
            .map(ReplayFrom::Time)
            .ok_or_else(|| format!("`{text}` ago is before the clock starts")),
        _ => Err(format!(
            "`{text}` is not a place in the journal; write #1200, 2024-08-01T10:00:00Z or 10m (ago)"
        )),
    }
}

/// Reads a relay command, or `None` when `name` is not one.
pub fn parse(name: &str, args: &[&str], now: SystemTime) -> Option<Result<Command, String>> {
    let relay = |c| Ok(Command::Relay(c));
    Some(match (name, args) {
        ("pause", [sink]) => relay(RelayCommand::Pause {
            sink: (*sink).to_owned(),
        }),
        ("resume", [sink]) => relay(RelayCommand::Resume {
            sink: (*sink).to_owned(),
        }),
        ("replay", [sink, from]) => replay_from(from, now).and_then(|from| {
            relay(RelayCommand::Replay {
                sink: (*sink).to_owned(),
                from,
            })
        }),
        ("source", [feed, source]) => relay(RelayCommand::Source {
            feed: (*feed).to_owned(),
            source: (!source.eq_ignore_ascii_case("both")).then(|| (*source).to_owned()),
        }),
        ("route", [route, sinks @ ..]) if !sinks.is_empty() => {
            let sinks: Vec<String> = sinks
                .iter()
                .flat_map(|s| s.split(','))
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            if sinks.is_empty() {
                Err(usage("route"))
            } else {
                relay(RelayCommand::Route {
                    route: (*route).to_owned(),
                    sinks,
                })
            }
        }
        (name, _) if is_reroute(name) => Err(usage(name)),
        _ => return None,
    })
}

/// The question asked before a reroute is sent.
pub fn question(command: &RelayCommand) -> String {
    let why = match command {
        RelayCommand::Pause { .. } => "; its backlog grows on disk",
        RelayCommand::Replay { .. } => "; its consumer gets those messages again",
        RelayCommand::Source {
            source: Some(_), ..
        } => "; the other source's messages are dropped",
        _ => "",
    };
    format!("{command}{why}? (y/N)")
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_722_500_000)
    }

    fn read(line: &str) -> Result<Command, String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        parse(words[0], &words[1..], now()).expect("a relay command")
    }

    #[test]
    fn reroutes_read_as_commands() {
        assert_eq!(
            read("pause commentators"),
            Ok(Command::Relay(RelayCommand::Pause {
                sink: "commentators".to_owned()
            }))
        );
        assert_eq!(
            read("source STA-results both"),
            Ok(Command::Relay(RelayCommand::Source {
                feed: "STA-results".to_owned(),
                source: None
            }))
        );
        assert_eq!(
            read("source STA-results STA-ovr-b"),
            Ok(Command::Relay(RelayCommand::Source {
                feed: "STA-results".to_owned(),
                source: Some("STA-ovr-b".to_owned())
            }))
        );
        assert_eq!(
            read("route results media, archive"),
            Ok(Command::Relay(RelayCommand::Route {
                route: "results".to_owned(),
                sinks: vec!["media".to_owned(), "archive".to_owned()]
            }))
        );
        assert_eq!(read("pause"), Err("usage: :pause SINK".to_owned()));
        assert_eq!(
            read("route results ,"),
            Err("usage: :route ROUTE SINK[,SINK…]".to_owned())
        );
        assert!(parse("venue", &["STA"], now()).is_none());
    }

    #[test]
    fn a_replay_starts_at_a_sequence_a_time_or_a_while_ago() {
        assert_eq!(replay_from("#1200", now()), Ok(ReplayFrom::Seq(1200)));
        assert_eq!(replay_from("7", now()), Ok(ReplayFrom::Seq(7)));
        assert_eq!(
            replay_from("10m", now()),
            Ok(ReplayFrom::Time(now() - Duration::from_secs(600)))
        );
        assert_eq!(
            replay_from("2024-08-01T10:00:00Z", now()),
            Ok(ReplayFrom::Time(
                UNIX_EPOCH + Duration::from_secs(1_722_506_400)
            ))
        );
        let err = replay_from("yesterday", now()).expect_err("not a place");
        assert!(err.contains("write #1200"), "{err}");
        assert!(replay_from("#99999999999999999999999", now()).is_err());
    }

    #[test]
    fn the_question_says_what_happens() {
        let q = question(&RelayCommand::Pause {
            sink: "commentators".to_owned(),
        });
        assert_eq!(
            q,
            "pause sink commentators; its backlog grows on disk? (y/N)"
        );
    }
}
