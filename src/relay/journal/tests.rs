//! Unit tests that need a hand inside the journal: a disk that fails a
//! write half way or a sync.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::time::{Duration, UNIX_EPOCH};

use super::{Journal, JournalError, JournalOptions, Log, Record};

/// A failure to inject into the next append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fault {
    /// Half the batch reaches the file, then the disk is full.
    HalfWrite,
    /// The whole batch reaches the file, then the sync fails.
    Sync,
}

/// Called by the journal before it writes a batch.
pub(super) fn inject(j: &Journal, file: &File, at: u64, buf: &[u8]) -> Option<io::Error> {
    let fault = j.fault.lock().ok()?.take()?;
    match fault {
        Fault::HalfWrite => {
            let _ = file.write_all_at(&buf[..buf.len() / 2], at);
            Some(io::Error::from_raw_os_error(28))
        }
        Fault::Sync => {
            let _ = file.write_all_at(buf, at);
            Some(io::Error::from_raw_os_error(5))
        }
    }
}

fn rec(data: &[u8], n: u64) -> Record<'_> {
    Record {
        time: UNIX_EPOCH + Duration::from_secs(n),
        data,
    }
}

fn failed_append_counts_for_nothing(fault: Fault) {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = JournalOptions {
        segment_size: 1 << 16,
        fsync: true,
    };
    {
        let (j, _) = Journal::open(dir.path(), opts).expect("open");
        assert_eq!(j.append(&[rec(b"one", 1), rec(b"two", 2)]), Ok(1));
        let head = j.watch_head();
        *j.fault.lock().expect("fault") = Some(fault);
        let big = vec![7u8; 5000];
        let r = j.append(&[rec(&big, 3), rec(&big, 4)]);
        assert!(matches!(r, Err(JournalError::Io(_))), "{r:?}");
        assert_eq!(j.head(), 3);
        assert!(!head.has_changed().expect("sender alive"));
        assert_eq!(j.read(3, 10, 1 << 20), Ok(vec![]));
        assert_eq!(j.append(&[rec(b"three", 5)]), Ok(3));
        let got = j.read(1, 10, 1 << 20).expect("read");
        let data: Vec<&[u8]> = got.iter().map(|s| s.data.as_slice()).collect();
        assert_eq!(data, [&b"one"[..], b"two", b"three"]);
    }
    let (j, report) = Journal::open(dir.path(), opts).expect("reopen");
    assert_eq!(report.truncated_bytes, 0);
    assert_eq!(j.head(), 4);
    let got = j.read(1, 10, 1 << 20).expect("read");
    assert_eq!(got.len(), 3);
    assert_eq!(got[2].data, b"three");
}

#[test]
fn a_write_that_fills_the_disk_half_way_counts_for_nothing() {
    failed_append_counts_for_nothing(Fault::HalfWrite);
}

#[test]
fn a_failed_sync_counts_for_nothing() {
    failed_append_counts_for_nothing(Fault::Sync);
}
