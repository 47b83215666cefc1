//! The relay as the engine judges it: from the relay's summaries, each
//! feed's health (a feed with no message for `stale_after` is DOWN; one
//! source silent while the other flows is DEGRADED) and each sink's (its
//! p99 latency over its consumer's SLO, or failing, is DEGRADED). These
//! are problems like a device's, and open incidents the same way.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::board::Problem;
use crate::engine::snapshot::Layout;
use crate::model::relay::{RelayStatus, SinkState};
use crate::model::{FeedIdx, ProblemKey, ProblemKind, SinkIdx, Status, Subject};

/// What the engine knows of the relay.
#[derive(Debug)]
pub struct RelayWatch {
    layout: Arc<Layout>,
    /// When the engine started: a source that never sent is silent since
    /// then.
    started: SystemTime,
    status: Option<Arc<RelayStatus>>,
    problems: Vec<Problem>,
    feeds: Vec<Status>,
}

impl RelayWatch {
    /// Nothing heard yet.
    pub fn new(layout: Arc<Layout>, started: SystemTime) -> Self {
        let feeds = vec![Status::Unknown; layout.feeds.len()];
        RelayWatch {
            layout,
            started,
            status: None,
            problems: Vec::new(),
            feeds,
        }
    }

    /// The relay's newest summary; true when the problems changed.
    pub fn set(&mut self, status: Arc<RelayStatus>, now: SystemTime) -> bool {
        self.status = Some(status);
        self.judge(now)
    }

    /// Judges again at `now` (silence grows with time alone); true when
    /// the problems changed.
    pub fn judge(&mut self, now: SystemTime) -> bool {
        let Some(status) = self.status.clone() else {
            return false;
        };
        let (problems, feeds) = judge(&self.layout, &status, self.started, now);
        self.feeds = feeds;
        if problems == self.problems {
            return false;
        }
        self.problems = problems;
        true
    }

    /// The relay's problems now.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// Each feed's status (indexed like `layout.feeds`): UNKNOWN until
    /// the relay reports, and for a feed no relay source serves.
    pub fn feeds(&self) -> &[Status] {
        &self.feeds
    }

    /// The newest summary.
    pub fn status(&self) -> Option<&Arc<RelayStatus>> {
        self.status.as_ref()
    }
}

/// Problems and feed statuses from one summary.
fn judge(
    layout: &Layout,
    status: &RelayStatus,
    started: SystemTime,
    now: SystemTime,
) -> (Vec<Problem>, Vec<Status>) {
    let mut problems = Vec::new();
    let mut feeds = vec![Status::Unknown; layout.feeds.len()];
    for (f, info) in layout.feeds.iter().enumerate() {
        let sources: Vec<_> = status
            .sources
            .iter()
            .filter(|s| s.feed.as_deref() == Some(info.id.as_str()))
            .collect();
        if sources.is_empty() {
            continue;
        }
        let silent_for = |last: Option<SystemTime>| {
            now.duration_since(last.unwrap_or(started).max(started))
                .unwrap_or(Duration::ZERO)
        };
        let silent: Vec<(&str, Duration)> = sources
            .iter()
            .map(|s| (s.id.as_str(), silent_for(s.last)))
            .filter(|(_, d)| *d >= info.stale_after)
            .collect();
        let key = |kind| ProblemKey {
            kind,
            subject: Subject::Feed(FeedIdx(f)),
        };
        let problem = if silent.len() == sources.len() {
            let least = silent.iter().map(|(_, d)| *d).min().unwrap_or_default();
            feeds[f] = Status::Down;
            Some(Problem {
                key: key(ProblemKind::FeedStale),
                subject: info.id.clone(),
                venue: Some(info.venue),
                severity: Status::Down,
                title: format!(
                    "{} stale: no message for {} from {}",
                    info.id,
                    whole_seconds(least),
                    names(&silent)
                ),
            })
        } else if silent.is_empty() {
            feeds[f] = Status::Ok;
            None
        } else {
            feeds[f] = Status::Degraded;
            let carrying: Vec<&str> = sources
                .iter()
                .map(|s| s.id.as_str())
                .filter(|id| !silent.iter().any(|(s, _)| s == id))
                .collect();
            Some(Problem {
                key: key(ProblemKind::FeedDegraded),
                subject: info.id.clone(),
                venue: Some(info.venue),
                severity: Status::Degraded,
                title: format!(
                    "{} lost a source: {} silent for {}, {} carries it",
                    info.id,
                    names(&silent),
                    whole_seconds(silent.iter().map(|(_, d)| *d).min().unwrap_or_default()),
                    carrying.join(", ")
                ),
            })
        };
        problems.extend(problem);
    }
    for (i, sink) in status.sinks.iter().enumerate() {
        let over = sink.p99.filter(|p| !sink.slo.is_zero() && *p > sink.slo);
        let title = match (sink.state, over) {
            (SinkState::Failing, _) => format!(
                "sink {} failing: {}",
                sink.id,
                sink.error.as_deref().unwrap_or("no reason given")
            ),
            (_, Some(p99)) => format!(
                "sink {} slow: p99 {} over the {} SLO of {}",
                sink.id,
                millis(p99),
                millis(sink.slo),
                sink.consumer
            ),
            _ => continue,
        };
        let idx = layout.sink(&sink.id).unwrap_or(SinkIdx(i));
        problems.push(Problem {
            key: ProblemKey {
                kind: ProblemKind::LatencySlo,
                subject: Subject::Sink(idx),
            },
            subject: sink.id.clone(),
            venue: None,
            severity: Status::Degraded,
            title,
        });
    }
    (problems, feeds)
}

fn names(silent: &[(&str, Duration)]) -> String {
    silent
        .iter()
        .map(|(s, _)| *s)
        .collect::<Vec<_>>()
        .join(" and ")
}

fn whole_seconds(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
}

fn millis(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::engine::snapshot::{FeedInfo, RelaySinkInfo};
    use crate::model::relay::{SinkStatus, SourceStatus};
    use crate::model::{DeviceIdx, VenueIdx};

    fn t(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_000_000 + secs)
    }

    fn layout() -> Arc<Layout> {
        Arc::new(Layout {
            event: "t".to_owned(),
            poll_interval: Duration::from_secs(5),
            max_attempts: 3,
            venues: Vec::new(),
            devices: Vec::new(),
            groups: Vec::new(),
            feeds: vec![FeedInfo {
                id: "STA-results".to_owned(),
                venue: VenueIdx(0),
                primary: DeviceIdx(0),
                backup: DeviceIdx(1),
                consumers: vec!["commentators".to_owned()],
                stale_after: Duration::from_secs(30),
            }],
            relay: Some(crate::engine::snapshot::RelayLayout {
                sources: Vec::new(),
                sinks: vec![RelaySinkInfo {
                    id: "commentators".to_owned(),
                    kind: "http".to_owned(),
                    consumer: "commentators".to_owned(),
                    slo: Duration::from_millis(350),
                }],
                routes: Vec::new(),
            }),
        })
    }

    fn status(a: Option<u64>, b: Option<u64>, p99_ms: u64) -> Arc<RelayStatus> {
        let source = |id: &str, last: Option<u64>| SourceStatus {
            id: id.to_owned(),
            feed: Some("STA-results".to_owned()),
            last: last.map(t),
            ..SourceStatus::default()
        };
        Arc::new(RelayStatus {
            sources: vec![source("STA-ovr-a", a), source("STA-ovr-b", b)],
            sinks: vec![SinkStatus {
                id: "commentators".to_owned(),
                consumer: "commentators".to_owned(),
                slo: Duration::from_millis(350),
                p99: Some(Duration::from_millis(p99_ms)),
                ..SinkStatus::default()
            }],
            ..RelayStatus::default()
        })
    }

    fn kinds(w: &RelayWatch) -> Vec<(ProblemKind, Status)> {
        w.problems()
            .iter()
            .map(|p| (p.key.kind, p.severity))
            .collect()
    }

    #[test]
    fn both_sources_flowing_is_green_and_quiet() {
        let mut w = RelayWatch::new(layout(), t(0));
        assert_eq!(w.feeds(), [Status::Unknown]);
        w.set(status(Some(100), Some(101), 5), t(110));
        assert_eq!(w.feeds(), [Status::Ok]);
        assert!(w.problems().is_empty());
    }

    #[test]
    fn one_source_silent_is_orange_and_both_silent_is_red() {
        let mut w = RelayWatch::new(layout(), t(0));
        assert!(w.set(status(Some(60), Some(100), 5), t(100)));
        assert_eq!(w.feeds(), [Status::Degraded]);
        assert_eq!(kinds(&w), [(ProblemKind::FeedDegraded, Status::Degraded)]);
        assert!(
            w.problems()[0]
                .title
                .contains("STA-ovr-a silent for 40s, STA-ovr-b carries it"),
            "{}",
            w.problems()[0].title
        );
        // Time alone makes the other silent too.
        assert!(w.judge(t(131)));
        assert_eq!(w.feeds(), [Status::Down]);
        assert_eq!(kinds(&w), [(ProblemKind::FeedStale, Status::Down)]);
        // One message and it is orange again; both and it is green.
        w.set(status(Some(60), Some(132), 5), t(132));
        assert_eq!(w.feeds(), [Status::Degraded]);
        w.set(status(Some(133), Some(132), 5), t(133));
        assert_eq!(w.feeds(), [Status::Ok]);
        assert!(w.problems().is_empty());
    }

    #[test]
    fn a_source_that_never_sent_is_silent_since_the_engine_started() {
        let mut w = RelayWatch::new(layout(), t(0));
        w.set(status(None, Some(20), 5), t(29));
        assert_eq!(w.feeds(), [Status::Ok], "not yet stale_after");
        w.judge(t(30));
        assert_eq!(w.feeds(), [Status::Degraded]);
    }

    #[test]
    fn a_sink_over_its_slo_or_failing_is_degraded() {
        let mut w = RelayWatch::new(layout(), t(0));
        w.set(status(Some(10), Some(10), 351), t(11));
        assert_eq!(kinds(&w), [(ProblemKind::LatencySlo, Status::Degraded)]);
        let p = &w.problems()[0];
        assert_eq!(p.venue, None);
        assert_eq!(p.key.subject, Subject::Sink(SinkIdx(0)));
        assert!(
            p.title.contains("p99 351 ms over the 350 ms SLO"),
            "{}",
            p.title
        );
        let mut failing = (*status(Some(10), Some(10), 5)).clone();
        failing.sinks[0].state = SinkState::Failing;
        failing.sinks[0].error = Some("connection refused".to_owned());
        w.set(Arc::new(failing), t(12));
        assert!(
            w.problems()[0]
                .title
                .contains("failing: connection refused")
        );
        w.set(status(Some(10), Some(10), 350), t(13));
        assert!(w.problems().is_empty(), "at the SLO is within it");
    }
}
