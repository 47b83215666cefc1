//! The relay's journal behind a narrow interface, [`Log`]: append a batch
//! durably, read from a sequence number, keep a durable cursor per
//! consumer. The relay's own [`Journal`] implements it with segment files
//! on the local disk; a later step puts NATS JetStream behind the same
//! interface for several sites.

use std::fmt;
use std::time::SystemTime;

use tokio::sync::watch;

/// One record to append: when it was received and its bytes (an encoded
/// [`Envelope`](super::envelope::Envelope) for the relay; opaque here).
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// When it was received (for replay from a time).
    pub time: SystemTime,
    /// Its bytes.
    pub data: &'a [u8],
}

/// One record as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its sequence number: 1 for the first record ever appended, then
    /// one more for each record, never reused.
    pub seq: u64,
    /// When it was received.
    pub time: SystemTime,
    /// Its bytes.
    pub data: Vec<u8>,
}

/// Why the journal could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalError {
    /// The disk refused a write or a sync (full, read-only, I/O error).
    /// Nothing of the batch counts as appended and the journal stays
    /// consistent: a later append may succeed.
    Io(String),
    /// A record asked for is no longer held (its segment was deleted
    /// after every consumer passed it).
    Gone {
        /// The oldest sequence number still held.
        first: u64,
    },
    /// The files are not a journal this version can read.
    Corrupt(String),
}

impl fmt::Display for JournalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JournalError::Io(e) => write!(f, "the journal cannot write: {e}"),
            JournalError::Gone { first } => {
                write!(f, "no longer in the journal (oldest held: {first})")
            }
            JournalError::Corrupt(e) => write!(f, "the journal is not readable: {e}"),
        }
    }
}

impl std::error::Error for JournalError {}

/// What the relay asks of its journal. `append` is called by one writer
/// at a time (the relay's sequencer thread), everything else by any
/// thread; none of it is async, so callers on a runtime use
/// `spawn_blocking` or a thread of their own.
pub trait Log: Send + Sync + fmt::Debug {
    /// Appends a batch: on `Ok` every record is durable (written with
    /// one write and one fdatasync when the journal syncs) and the value
    /// is the sequence number of the first. An empty batch returns the
    /// next sequence number and writes nothing.
    fn append(&self, batch: &[Record<'_>]) -> Result<u64, JournalError>;

    /// Up to `max_records` records (and at most about `max_bytes`, but
    /// always at least one when there is one) from sequence number
    /// `from` on, in order. `from` at or past the head reads nothing.
    fn read(
        &self,
        from: u64,
        max_records: usize,
        max_bytes: usize,
    ) -> Result<Vec<Stored>, JournalError>;

    /// The sequence number the next record will get.
    fn head(&self) -> u64;

    /// The oldest sequence number still held (the head when empty).
    fn first(&self) -> u64;

    /// The head, updated after each durable append.
    fn watch_head(&self) -> watch::Receiver<u64>;

    /// A consumer's saved cursor: the next sequence number it will read.
    fn cursor(&self, consumer: &str) -> Option<u64>;

    /// Saves a consumer's cursor (the next sequence number it will read).
    /// Segments wholly below every saved cursor (and below
    /// [`Log::set_floor`]) may be deleted from then on.
    fn set_cursor(&self, consumer: &str, next: u64) -> Result<(), JournalError>;

    /// Records below `seq` may be deleted only if also below this (the
    /// relay raises it once its dedup checkpoint covers them).
    fn set_floor(&self, seq: u64) -> Result<(), JournalError>;

    /// The first sequence number received at or after `time` (the head
    /// when none is).
    fn seek_time(&self, time: SystemTime) -> Result<u64, JournalError>;

    /// Bytes on disk.
    fn bytes(&self) -> u64;
}

mod cursors;
mod disk;
mod frame;
#[cfg(test)]
mod tests;

pub use disk::{Journal, JournalOptions, OpenReport};
