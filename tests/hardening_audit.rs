//! The audit log and `toc.log` on a disk that fills up (issue 12,
//! point 4), on a real 64 KB tmpfs: a record cut by a full disk is never
//! continued by the next one, and the log writer swallows its own errors.
//!
//! Mounting needs root; where `mount` is refused these tests say so on
//! stderr and pass without checking (the unit tests in `runtime::audit`
//! cover the same logic on `/dev/full`).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;
use toc::runtime::rotate::RotatingFile;

/// A 64 KB tmpfs mounted on a temporary folder, unmounted on drop.
struct SmallDisk {
    dir: TempDir,
}

impl SmallDisk {
    fn mount() -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            Some(SmallDisk { dir })
        } else {
            eprintln!("cannot mount a tmpfs here (not root?): not checked");
            None
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the disk with a file of zeros; returns its path.
    fn fill(&self) -> PathBuf {
        let path = self.path().join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let block = [0u8; 1024];
        while f.write(&block).is_ok_and(|n| n > 0) {}
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

fn record(n: usize) -> String {
    format!("{{\"n\":{n},\"pad\":\"{}\"}}\n", "x".repeat(150))
}

#[test]
fn a_record_cut_by_a_full_disk_is_not_continued_by_the_next() {
    let Some(disk) = SmallDisk::mount() else {
        return;
    };
    let path = disk.path().join("audit.log");
    let mut file = RotatingFile::open(&path, u64::MAX, 2).unwrap();
    file.write_all(record(0).as_bytes()).unwrap();
    let filler = disk.fill();
    // Records go in until the page the file has is full; then one is cut.
    let mut n = 1;
    let mut written = 1;
    let mut failed = 0;
    while failed < 3 {
        if file.write_all(record(n).as_bytes()).is_ok() {
            written += 1;
        } else {
            failed += 1;
        }
        n += 1;
    }
    assert!(failed > 0);
    std::fs::remove_file(filler).unwrap();
    file.write_all(record(n).as_bytes()).unwrap();
    written += 1;
    let text = std::fs::read_to_string(&path).unwrap();
    let mut seen = 0;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a cut or merged line ({e}): {line:?}"));
        assert!(v["n"].is_u64());
        seen += 1;
    }
    assert_eq!(seen, written, "every record written is there, whole");
    assert!(text.ends_with('\n'));
}
