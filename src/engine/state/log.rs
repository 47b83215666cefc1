//! The event log: every event gets the next sequence number, goes into
//! the ticker (the last [`TICKER_LEN`]) and waits for the broadcast
//! channel. A console that reconnects resumes from a sequence number.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::SystemTime;

use super::super::snapshot::{Event, EventKind, TICKER_LEN};

/// Events not taken for this many are dropped, oldest first (nobody
/// listens).
const PENDING_MAX: usize = 4 * TICKER_LEN;

/// The ticker and the events not yet broadcast.
#[derive(Debug)]
pub struct EventLog {
    seq: u64,
    ticker: VecDeque<Event>,
    /// The ticker as last published; `None` once an event was added.
    published: Option<Arc<Vec<Event>>>,
    pending: Vec<Event>,
}

impl Default for EventLog {
    fn default() -> Self {
        EventLog {
            seq: 0,
            ticker: VecDeque::with_capacity(TICKER_LEN),
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
        if self.ticker.len() >= TICKER_LEN {
            self.ticker.pop_front();
        }
        self.ticker.push_back(event.clone());
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

    /// The ticker, shared with the previous snapshot when unchanged.
    pub fn ticker(&mut self) -> Arc<Vec<Event>> {
        Arc::clone(
            self.published
                .get_or_insert_with(|| Arc::new(self.ticker.iter().cloned().collect())),
        )
    }

    /// Events since the last call, oldest first.
    pub fn take(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.pending)
    }
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
