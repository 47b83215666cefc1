//! A file that rotates by size: `toc.log`, and the audit log.
//!
//! [`RotatingFile`] appends to `path`. When the next write would take the
//! file past `max_bytes`, the file is closed (its data synced first), old
//! files shift up (`path.1` -> `path.2` … up to `path.<keep>`, the oldest
//! replaced) and `path` becomes `path.1`; then `path` starts afresh. One
//! `write` call is never split across two files: a caller writing one
//! record per call (as `tracing-subscriber` does, one `write_all` of the
//! formatted line) finds each record whole in one file. A record larger
//! than `max_bytes` goes alone into a fresh file rather than being lost.
//!
//! Rotation errors (a rename refused, a file that cannot be reopened) are
//! returned by the `write` that needed the rotation, and that record is not
//! written; the next write tries again.
//!
//! A write cut short (a full disk takes part of a record) is undone: the
//! file is truncated back to where that record began, so the next record
//! never continues a cut line. Should the truncation fail too, the next
//! write tries it again, and failing that starts on a fresh line.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// An append-only file that rotates by size, keeping `keep` old files.
#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    keep: usize,
    /// `None` after a rotation whose reopening failed: reopened on the next
    /// write.
    file: Option<File>,
    /// Bytes in `path` now (counted from its size on open).
    len: u64,
    /// Where a record cut by a failed write began, while the cut part is
    /// still in the file.
    cut: Option<u64>,
}

impl RotatingFile {
    /// Opens (or creates) `path` for appending; an existing file's size
    /// counts towards `max_bytes`.
    pub fn open(path: impl AsRef<Path>, max_bytes: u64, keep: usize) -> io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        let (file, len) = open_append(&path)?;
        Ok(RotatingFile {
            path,
            max_bytes,
            keep,
            file: Some(file),
            len,
            cut: None,
        })
    }

    /// The current file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes in the current file.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the current file is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The path of the `n`th old file (`path.n`).
    pub fn old_path(&self, n: usize) -> PathBuf {
        numbered(&self.path, n)
    }

    /// Forces what was written to the disk (`fdatasync`): for the audit
    /// log, after each record it must not lose.
    pub fn sync_data(&self) -> io::Result<()> {
        match &self.file {
            Some(f) => f.sync_data(),
            // Closed by a rotation, which synced it first.
            None => Ok(()),
        }
    }

    /// Takes a cut record out of the file (truncates back to where it
    /// began). Returns true when the file still ends in a cut record
    /// (the truncation failed), so the next record must start a new line.
    fn mend(&mut self) -> bool {
        let (Some(start), Some(file)) = (self.cut, self.file.as_ref()) else {
            return false;
        };
        if file.set_len(start).is_ok() {
            self.len = start;
            self.cut = None;
            return false;
        }
        if let Ok(m) = file.metadata() {
            self.len = m.len();
            if m.len() == start {
                self.cut = None;
                return false;
            }
        }
        true
    }

    /// Closes the current file and shifts the old ones up. On error the
    /// file is reopened on the next write and rotation tried again.
    fn rotate(&mut self) -> io::Result<()> {
        if let Some(f) = self.file.take() {
            f.sync_data()?;
        }
        if self.keep == 0 {
            ignore_missing(std::fs::remove_file(&self.path))?;
        } else {
            // `path.(keep-1)` -> `path.keep` replaces the oldest.
            for n in (1..self.keep).rev() {
                ignore_missing(std::fs::rename(
                    numbered(&self.path, n),
                    numbered(&self.path, n + 1),
                ))?;
            }
            std::fs::rename(&self.path, numbered(&self.path, 1))?;
        }
        self.len = 0;
        Ok(())
    }
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = u64::try_from(buf.len()).unwrap_or(u64::MAX);
        if self.file.is_none() {
            let (f, len) = open_append(&self.path)?;
            self.file = Some(f);
            self.len = len;
            self.cut = None;
        }
        let fresh_line = self.mend();
        if self.len > 0 && self.len.saturating_add(n) > self.max_bytes {
            self.rotate()?;
            let (f, len) = open_append(&self.path)?;
            self.file = Some(f);
            self.len = len;
            self.cut = None;
        }
        let Some(file) = self.file.as_mut() else {
            return Err(io::Error::other("rotating file not open"));
        };
        let start = self.len;
        // The whole buffer or an error: a record is never split by us.
        let newline = fresh_line && self.cut.is_some();
        let written = if newline {
            file.write_all(b"\n").and_then(|()| file.write_all(buf))
        } else {
            file.write_all(buf)
        };
        match written {
            Ok(()) => {
                self.len = start.saturating_add(n).saturating_add(u64::from(newline));
                self.cut = None;
                Ok(buf.len())
            }
            Err(e) => {
                // Part may have gone in: take it out again.
                self.cut = Some(self.cut.unwrap_or(start));
                self.mend();
                Err(e)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

/// `toc.log` as tracing writes it: a write never fails, so the log
/// writer has nothing to report on stderr, which is the terminal the
/// console draws on. Lines that cannot be written (a full disk) are
/// counted; when writing works again, one line says how many were lost.
#[derive(Debug)]
pub struct QuietLog {
    file: RotatingFile,
    lost: Arc<AtomicU64>,
    told: u64,
}

impl QuietLog {
    /// Writes to `file`, swallowing its errors.
    pub fn new(file: RotatingFile) -> QuietLog {
        QuietLog {
            file,
            lost: Arc::new(AtomicU64::new(0)),
            told: 0,
        }
    }

    /// Lines lost so far (shared: it keeps counting after the writer is
    /// handed to tracing).
    pub fn lost(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.lost)
    }
}

impl Write for QuietLog {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let lost = self.lost.load(Ordering::Relaxed);
        if lost > self.told {
            let note = format!(
                "toc.log: {} line(s) lost: the log could not be written\n",
                lost - self.told
            );
            if self.file.write_all(note.as_bytes()).is_ok() {
                self.told = lost;
            }
        }
        if self.file.write_all(buf).is_err() {
            self.lost.fetch_add(1, Ordering::Relaxed);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let _ = self.file.flush();
        Ok(())
    }
}

fn open_append(path: &Path) -> io::Result<(File, u64)> {
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    let len = file.metadata()?.len();
    Ok((file, len))
}

/// `path.n`, the suffix added to the whole file name (`toc.log.1`).
fn numbered(path: &Path, n: usize) -> PathBuf {
    let mut s = OsString::from(path.as_os_str());
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

fn ignore_missing(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).unwrap()
    }

    fn setup(max: u64, keep: usize) -> (tempfile::TempDir, PathBuf, RotatingFile) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("toc.log");
        let f = RotatingFile::open(&path, max, keep).unwrap();
        (dir, path, f)
    }

    #[test]
    fn rotates_when_the_next_write_would_pass_the_bound() {
        let (_dir, path, mut f) = setup(10, 2);
        f.write_all(b"12345").unwrap();
        f.write_all(b"67890").unwrap();
        // Exactly at the bound: still one file.
        assert_eq!(read(&path), "1234567890");
        assert!(!f.old_path(1).exists());
        f.write_all(b"abc").unwrap();
        assert_eq!(read(&f.old_path(1)), "1234567890");
        assert_eq!(read(&path), "abc");
        assert_eq!(f.len(), 3);
        // A record that does not fit is never split.
        f.write_all(b"defghijk").unwrap();
        assert_eq!(read(&path), "defghijk");
        assert_eq!(read(&f.old_path(1)), "abc");
        assert_eq!(read(&f.old_path(2)), "1234567890");
        assert_eq!(numbered(&path, 1).file_name().unwrap(), "toc.log.1");
    }

    #[test]
    fn keep_zero_keeps_no_old_file() {
        let (dir, path, mut f) = setup(4, 0);
        f.write_all(b"aaaa").unwrap();
        f.write_all(b"bb").unwrap();
        f.write_all(b"cc").unwrap();
        f.write_all(b"dd").unwrap();
        assert_eq!(read(&path), "dd");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![OsString::from("toc.log")]);
    }

    #[test]
    fn keep_three_keeps_the_three_newest_and_deletes_the_oldest() {
        let (dir, path, mut f) = setup(2, 3);
        for rec in ["r0", "r1", "r2", "r3", "r4", "r5"] {
            f.write_all(rec.as_bytes()).unwrap();
        }
        assert_eq!(read(&path), "r5");
        assert_eq!(read(&f.old_path(1)), "r4");
        assert_eq!(read(&f.old_path(2)), "r3");
        assert_eq!(read(&f.old_path(3)), "r2");
        assert!(!f.old_path(4).exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 4);
    }

    #[test]
    fn a_write_larger_than_the_bound_goes_alone_into_a_fresh_file() {
        let (_dir, path, mut f) = setup(10, 2);
        let big = "x".repeat(25);
        // Into an empty file: no rotation, nothing lost.
        f.write_all(big.as_bytes()).unwrap();
        assert_eq!(read(&path), big);
        assert!(!f.old_path(1).exists());
        f.write_all(b"a").unwrap();
        assert_eq!(read(&path), "a");
        assert_eq!(read(&f.old_path(1)), big);
        // After a small one: a fresh file of its own, then moved on.
        f.write_all(big.as_bytes()).unwrap();
        assert_eq!(read(&path), big);
        assert_eq!(read(&f.old_path(1)), "a");
        f.write_all(b"b").unwrap();
        assert_eq!(read(&path), "b");
        assert_eq!(read(&f.old_path(1)), big);
        assert_eq!(read(&f.old_path(2)), "a");
    }

    #[test]
    fn reopening_counts_the_existing_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        std::fs::write(&path, "12345678").unwrap();
        let mut f = RotatingFile::open(&path, 10, 1).unwrap();
        assert_eq!(f.len(), 8);
        f.write_all(b"9").unwrap();
        assert_eq!(read(&path), "123456789", "appends");
        drop(f);
        let mut f = RotatingFile::open(&path, 10, 1).unwrap();
        assert_eq!(f.len(), 9);
        f.write_all(b"ab").unwrap();
        assert_eq!(read(&f.old_path(1)), "123456789");
        assert_eq!(read(&path), "ab");
    }

    #[test]
    fn a_failed_rename_is_an_error_and_the_next_write_retries() {
        let (_dir, path, mut f) = setup(4, 1);
        f.write_all(b"abcd").unwrap();
        // A file cannot be renamed over a non-empty directory (even as
        // root).
        let blocker = f.old_path(1);
        std::fs::create_dir(&blocker).unwrap();
        std::fs::write(blocker.join("x"), "x").unwrap();
        let err = f.write(b"e").unwrap_err();
        assert_ne!(err.kind(), io::ErrorKind::NotFound, "{err}");
        assert_eq!(read(&path), "abcd", "nothing written, nothing lost");
        std::fs::remove_dir_all(&blocker).unwrap();
        f.write_all(b"e").unwrap();
        assert_eq!(read(&blocker), "abcd");
        assert_eq!(read(&path), "e");
    }

    #[test]
    fn a_failed_shift_of_old_files_is_an_error() {
        let (_dir, path, mut f) = setup(4, 2);
        f.write_all(b"abcd").unwrap();
        f.write_all(b"efgh").unwrap();
        // `path.1` -> `path.2` refused: `path.2` is a non-empty directory.
        let blocker = f.old_path(2);
        std::fs::create_dir(&blocker).unwrap();
        std::fs::write(blocker.join("x"), "x").unwrap();
        assert!(f.write(b"i").is_err());
        assert_eq!(read(&path), "efgh");
        assert_eq!(read(&f.old_path(1)), "abcd");
    }

    #[test]
    fn tracing_lines_through_a_mutex_stay_whole_across_rotations() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("toc.log");
        let file = RotatingFile::open(&path, 300, 3).unwrap();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(file))
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            for i in 0..20 {
                tracing::info!(line = i, "a log line long enough to rotate often");
            }
        });
        let mut seen = Vec::new();
        for p in [
            numbered(&path, 3),
            numbered(&path, 2),
            numbered(&path, 1),
            path,
        ] {
            let text = read(&p);
            assert!(text.len() <= 300, "{}: {} bytes", p.display(), text.len());
            assert!(text.ends_with('\n'), "{}: a split line", p.display());
            for l in text.lines() {
                let n: usize = l.rsplit("line=").next().unwrap().parse().unwrap();
                seen.push(n);
            }
        }
        // The newest lines, whole and in order; the oldest rotated away.
        let last = *seen.last().unwrap();
        assert_eq!(last, 19);
        let first = seen[0];
        assert!(first > 0, "old files beyond keep=3 are deleted");
        assert_eq!(seen, (first..=19).collect::<Vec<_>>());
    }

    #[test]
    fn sync_data_and_flush_succeed_on_an_open_file() {
        let (_dir, path, mut f) = setup(1 << 20, 2);
        f.write_all(b"record\n").unwrap();
        f.flush().unwrap();
        f.sync_data().unwrap();
        assert_eq!(read(&path), "record\n");
        assert_eq!(f.path(), path);
        assert!(!f.is_empty());
    }

    #[test]
    fn the_quiet_log_swallows_and_counts_its_errors_then_says_how_many() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("toc.log");
        let mut log = QuietLog::new(RotatingFile::open(&path, 1 << 20, 2).unwrap());
        let lost = log.lost();
        log.write_all(b"one\n").unwrap();
        // `/dev/full` in its place: every write fails, none is reported.
        log.file = RotatingFile::open("/dev/full", u64::MAX, 0).unwrap();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(log))
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..3 {
                tracing::info!("lost");
            }
        });
        assert_eq!(lost.load(Ordering::Relaxed), 3);
        let mut log = QuietLog {
            file: RotatingFile::open(&path, 1 << 20, 2).unwrap(),
            lost,
            told: 0,
        };
        log.write_all(b"two\n").unwrap();
        assert_eq!(
            read(&path),
            "one\ntoc.log: 3 line(s) lost: the log could not be written\ntwo\n"
        );
    }
}
