//! A small real disk for tests of what happens when it is full.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// A small tmpfs (1 MB unless sized: room for toc's data folder, with
/// its SQLite store, before the test fills it) mounted on a temporary
/// folder, unmounted on drop.
pub struct SmallDisk {
    dir: TempDir,
}

impl SmallDisk {
    /// The disk, or `None` (the caller skips) where `mount` is refused;
    /// with `TOC_REQUIRE_PEERS` set, a refused mount fails the test.
    pub fn mount() -> Option<SmallDisk> {
        Self::mount_sized("1m")
    }

    /// A tmpfs of `size` (`mount -o size=`, such as `1m`), as
    /// [`SmallDisk::mount`]: for files that need more than 64 KB to start
    /// (an SQLite store in WAL mode has a 32 KB `-shm` file).
    pub fn mount_sized(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status();
        if status.as_ref().is_ok_and(std::process::ExitStatus::success) {
            return Some(SmallDisk { dir });
        }
        assert!(
            std::env::var_os("TOC_REQUIRE_PEERS").is_none(),
            "a small tmpfs is required (TOC_REQUIRE_PEERS is set) but mount was refused \
             ({status:?}): run as root, or in a container with CAP_SYS_ADMIN"
        );
        eprintln!(
            "SKIPPED: cannot mount a tmpfs here (not root?): not checked; \
             set TOC_REQUIRE_PEERS=1 to make this fail"
        );
        None
    }

    /// Where it is mounted.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the disk with a file of zeros; returns its path.
    pub fn fill(&self) -> PathBuf {
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
