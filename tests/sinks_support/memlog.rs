//! A journal in memory, behind the relay's `Log`, for the sink tests.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;

use toc::relay::journal::{JournalError, Log, Record, Stored};
use tokio::sync::watch;

#[derive(Debug)]
pub struct MemLog {
    records: Mutex<Vec<Stored>>,
    first: Mutex<u64>,
    cursors: Mutex<HashMap<String, u64>>,
    head: watch::Sender<u64>,
}

impl Default for MemLog {
    fn default() -> Self {
        MemLog {
            records: Mutex::new(Vec::new()),
            first: Mutex::new(1),
            cursors: Mutex::new(HashMap::new()),
            head: watch::channel(1).0,
        }
    }
}

impl MemLog {
    /// Forgets records below `seq` (as if their segments were deleted).
    pub fn trim_to(&self, seq: u64) {
        *self.first.lock().unwrap() = seq;
        self.records.lock().unwrap().retain(|r| r.seq >= seq);
    }
}

impl Log for MemLog {
    fn append(&self, batch: &[Record<'_>]) -> Result<u64, JournalError> {
        let mut records = self.records.lock().unwrap();
        let first = *self.head.borrow();
        for (i, r) in batch.iter().enumerate() {
            records.push(Stored {
                seq: first + i as u64,
                time: r.time,
                data: r.data.to_vec(),
            });
        }
        self.head.send_replace(first + batch.len() as u64);
        Ok(first)
    }

    fn read(
        &self,
        from: u64,
        max_records: usize,
        max_bytes: usize,
    ) -> Result<Vec<Stored>, JournalError> {
        let first = *self.first.lock().unwrap();
        if from < first {
            return Err(JournalError::Gone { first });
        }
        let records = self.records.lock().unwrap();
        let mut out = Vec::new();
        let mut bytes = 0;
        for r in records.iter().filter(|r| r.seq >= from) {
            if out.len() >= max_records || (!out.is_empty() && bytes + r.data.len() > max_bytes) {
                break;
            }
            bytes += r.data.len();
            out.push(r.clone());
        }
        Ok(out)
    }

    fn head(&self) -> u64 {
        *self.head.borrow()
    }

    fn first(&self) -> u64 {
        *self.first.lock().unwrap()
    }

    fn watch_head(&self) -> watch::Receiver<u64> {
        self.head.subscribe()
    }

    fn cursor(&self, consumer: &str) -> Option<u64> {
        self.cursors.lock().unwrap().get(consumer).copied()
    }

    fn set_cursor(&self, consumer: &str, next: u64) -> Result<(), JournalError> {
        self.cursors
            .lock()
            .unwrap()
            .insert(consumer.to_owned(), next);
        Ok(())
    }

    fn set_floor(&self, _seq: u64) -> Result<(), JournalError> {
        Ok(())
    }

    fn seek_time(&self, time: SystemTime) -> Result<u64, JournalError> {
        let records = self.records.lock().unwrap();
        Ok(records
            .iter()
            .find(|r| r.time >= time)
            .map_or(self.head(), |r| r.seq))
    }

    fn bytes(&self) -> u64 {
        self.records
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.data.len() as u64)
            .sum()
    }
}
