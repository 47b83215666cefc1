//! Messages the relay refused as not well-formed or not ODF, kept for
//! inspection with their reason: `<dir>/<time>-<source>-<n>.xml` and
//! `.reason` beside it. Bounded in number and bytes; the oldest go first.
//! Blocking file I/O: callers on a runtime use `spawn_blocking`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use super::envelope::unix_nanos;

/// The quarantine folder and its bounds.
#[derive(Debug)]
pub struct Quarantine {
    dir: PathBuf,
    max_files: usize,
    max_bytes: u64,
    n: AtomicU64,
    /// One writer at a time (pruning lists the folder).
    write: Mutex<()>,
}

fn safe(source: &str) -> String {
    source
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl Quarantine {
    /// Keeps at most `max_files` messages and about `max_bytes` in `dir`
    /// (created when the first message comes).
    pub fn new(dir: PathBuf, max_files: usize, max_bytes: u64) -> Quarantine {
        Quarantine {
            dir,
            max_files: max_files.max(1),
            max_bytes,
            n: AtomicU64::new(0),
            write: Mutex::new(()),
        }
    }

    /// Its folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Keeps `body` and `reason`; returns the path of the `.xml` file.
    pub fn put(
        &self,
        at: SystemTime,
        source: &str,
        body: &[u8],
        reason: &str,
    ) -> io::Result<PathBuf> {
        let _g = self
            .write
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        fs::create_dir_all(&self.dir)?;
        let n = self.n.fetch_add(1, Ordering::Relaxed);
        // Zero-padded nanoseconds: names sort oldest first.
        let stem = format!("{:020}-{}-{n}", unix_nanos(at), safe(source));
        let xml = self.dir.join(format!("{stem}.xml"));
        fs::write(
            self.dir.join(format!("{stem}.reason")),
            format!("{reason}\n"),
        )?;
        fs::write(&xml, body)?;
        self.prune()?;
        Ok(xml)
    }

    /// Removes the oldest messages past the bounds.
    fn prune(&self) -> io::Result<()> {
        let mut kept: Vec<(String, u64)> = Vec::new();
        for e in fs::read_dir(&self.dir)? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(stem) = name.strip_suffix(".xml") {
                let reason = e.path().with_extension("reason");
                let size = e.metadata()?.len() + fs::metadata(&reason).map_or(0, |m| m.len());
                kept.push((stem.to_owned(), size));
            }
        }
        kept.sort();
        let mut total: u64 = kept.iter().map(|k| k.1).sum();
        let mut count = kept.len();
        for (stem, size) in kept {
            if count <= self.max_files && total <= self.max_bytes || count == 1 {
                break;
            }
            let _ = fs::remove_file(self.dir.join(format!("{stem}.xml")));
            let _ = fs::remove_file(self.dir.join(format!("{stem}.reason")));
            total -= size;
            count -= 1;
        }
        Ok(())
    }
}
