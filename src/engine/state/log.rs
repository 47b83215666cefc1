//! The event log: every event gets the next sequence number, goes into
//! the ticker and waits for the broadcast channel. A console that
//! reconnects resumes from a sequence number.
//!
//! The ticker keeps two kinds of events apart, so that a busy minute of
//! status churn does not push the story out: the last [`TICKER_LEN`]
//! device events (status changes, flapping, notes), and beside them the
//! last [`TICKER_STORY_LEN`] events of the story (venue changes,
//! incidents, commands, the audit log). The ticker shows both, merged in
//! order.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::SystemTime;

use super::super::snapshot::{Event, EventKind, TICKER_LEN, TICKER_STORY_LEN};

/// Events not taken for this many are dropped, oldest first (nobody
/// listens).
const PENDING_MAX: usize = 4 * TICKER_LEN;

/// The ticker and the events not yet broadcast.
#[derive(Debug)]
pub struct EventLog {
    seq: u64,
    /// Device events (churn), oldest first.
    ticker: VecDeque<Event>,
    /// Venue, incident, command and audit events, oldest first.
    story: VecDeque<Event>,
    /// The ticker as last published; `None` once an event was added.
    published: Option<Arc<Vec<Event>>>,
    pending: Vec<Event>,
}

impl Default for EventLog {
    fn default() -> Self {
        EventLog {
            seq: 0,
            ticker: VecDeque::with_capacity(TICKER_LEN),
            story: VecDeque::with_capacity(TICKER_STORY_LEN),
            published: None,
            pending: Vec::new(),
        }
    }
}

impl EventLog {
    /// Records an event; returns its sequence number.
    pub fn apply(&mut self, at: SystemTime, kind: EventKind) -> u64 {
        self.seq += 1;
        let event = Event {
            seq: self.seq,
            at,
            kind,
        };
        let (kept, bound) = if is_story(&event.kind) {
            (&mut self.story, TICKER_STORY_LEN)
        } else {
            (&mut self.ticker, TICKER_LEN)
        };
        if kept.len() >= bound {
            kept.pop_front();
        }
        kept.push_back(event.clone());
        self.published = None;
        self.pending.push(event);
        if self.pending.len() > PENDING_MAX {
            let excess = self.pending.len() - PENDING_MAX;
            self.pending.drain(..excess);
        }
        self.seq
    }

    /// The sequence number of the last event (0 before the first).
    pub fn last_seq(&self) -> u64 {
        self.seq
    }

    /// The ticker (both kinds, merged oldest first), shared with the
    /// previous snapshot when unchanged.
    pub fn ticker(&mut self) -> Arc<Vec<Event>> {
        let (churn, story) = (&self.ticker, &self.story);
        Arc::clone(
            self.published
                .get_or_insert_with(|| Arc::new(merge(churn, story))),
        )
    }

    /// Events since the last call, oldest first.
    pub fn take(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.pending)
    }
}

/// Whether an event is part of the story kept apart from device churn.
fn is_story(kind: &EventKind) -> bool {
    match kind {
        EventKind::Venue { .. }
        | EventKind::IncidentOpened { .. }
        | EventKind::IncidentSeverity { .. }
        | EventKind::IncidentResolved { .. }
        | EventKind::Incident { .. }
        | EventKind::Command { .. }
        | EventKind::Audit { .. } => true,
        EventKind::Device { .. }
        | EventKind::Devices { .. }
        | EventKind::Flapping { .. }
        | EventKind::Note { .. } => false,
    }
}

/// Two runs of events, each in order, merged in order of their numbers.
fn merge(a: &VecDeque<Event>, b: &VecDeque<Event>) -> Vec<Event> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.iter().peekable(), b.iter().peekable());
    loop {
        let next = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if x.seq <= y.seq => a.next(),
            (Some(_) | None, Some(_)) => b.next(),
            (Some(_), None) => a.next(),
            (None, None) => break,
        };
        out.extend(next.cloned());
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    fn note(i: usize) -> EventKind {
        EventKind::Note {
            device: crate::model::DeviceIdx(i),
            text: format!("n{i}"),
        }
    }

    #[test]
    fn sequence_numbers_increase_by_one_and_survive_the_ticker_bound() {
        let mut log = EventLog::default();
        for i in 0..(TICKER_LEN + 10) {
            assert_eq!(log.apply(UNIX_EPOCH, note(i)), i as u64 + 1);
        }
        let ticker = log.ticker();
        assert_eq!(ticker.len(), TICKER_LEN);
        assert_eq!(ticker[0].seq, 11);
        assert!(ticker.windows(2).all(|w| w[1].seq == w[0].seq + 1));
        assert_eq!(log.last_seq(), (TICKER_LEN + 10) as u64);
    }

    #[test]
    fn a_busy_minute_of_churn_does_not_push_the_story_out() {
        let mut log = EventLog::default();
        log.apply(
            UNIX_EPOCH,
            EventKind::Command {
                user: "ana".into(),
                text: "STA-core-a: down".into(),
            },
        );
        for i in 0..(3 * TICKER_LEN) {
            log.apply(UNIX_EPOCH, note(i));
        }
        log.apply(
            UNIX_EPOCH,
            EventKind::Command {
                user: "ana".into(),
                text: "STA: 2 fault(s) cleared".into(),
            },
        );
        let ticker = log.ticker();
        assert_eq!(ticker.len(), TICKER_LEN + 2);
        assert_eq!(ticker[0].seq, 1, "the first command is still there");
        assert!(matches!(ticker[0].kind, EventKind::Command { .. }));
        assert!(ticker.windows(2).all(|w| w[0].seq < w[1].seq), "in order");
        assert_eq!(ticker[1].seq, 2 * TICKER_LEN as u64 + 2);
        assert_eq!(ticker[TICKER_LEN + 1].seq, log.last_seq());
        for i in 0..(TICKER_STORY_LEN + 5) {
            log.apply(
                UNIX_EPOCH,
                EventKind::Command {
                    user: "ana".into(),
                    text: format!("c{i}"),
                },
            );
        }
        let ticker = log.ticker();
        let story = ticker
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Command { .. }))
            .count();
        assert_eq!(story, TICKER_STORY_LEN, "the story is bounded too");
    }

    #[test]
    fn the_ticker_is_shared_until_an_event_arrives() {
        let mut log = EventLog::default();
        log.apply(UNIX_EPOCH, note(1));
        let a = log.ticker();
        let b = log.ticker();
        assert!(Arc::ptr_eq(&a, &b));
        log.apply(UNIX_EPOCH, note(2));
        assert!(!Arc::ptr_eq(&a, &log.ticker()));
    }

    #[test]
    fn pending_events_are_taken_once_and_bounded() {
        let mut log = EventLog::default();
        for i in 0..(PENDING_MAX + 5) {
            log.apply(UNIX_EPOCH, note(i));
        }
        let taken = log.take();
        assert_eq!(taken.len(), PENDING_MAX);
        assert_eq!(taken[0].seq, 6);
        assert!(log.take().is_empty());
    }
}
