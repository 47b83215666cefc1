//! Where a running `toc demo` really serves its devices.
//!
//! The demo's simulator binds free ports, not the ports of the venues file
//! (so it never disturbs anything else on the machine). A technician's
//! `toc probe STA-core-a` beside it must reach the same simulated device
//! the console polls, so the demo publishes the addresses it took in its
//! data folder ([`FILE_NAME`]), written whole (a temporary file renamed
//! over it) and removed when the demo stops. The file names the demo's
//! process (id and start time): the file of a demo that died without
//! removing it is recognised and ignored, with a note, even when its
//! process id has since been given to another program.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::Inventory;

/// The file in the data folder.
pub const FILE_NAME: &str = "demo-addresses.json";

/// One address of the venues file and where the demo serves it instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moved {
    /// The address in the file.
    pub file: SocketAddr,
    /// The address the demo's simulator serves it on.
    pub served: SocketAddr,
}

/// What a running demo publishes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoAddresses {
    /// The demo's process id.
    pub pid: u32,
    /// When that process started (seconds since the epoch, as the system
    /// says): a process id given to another program later does not
    /// match.
    pub process_started: u64,
    /// The venues file simulated (absolute path), or none for a synthetic
    /// Games.
    pub source: Option<PathBuf>,
    /// Every address moved.
    pub addresses: Vec<Moved>,
}

impl DemoAddresses {
    /// The moves as a map, file address to served address (what
    /// [`crate::sim::remap`] takes).
    pub fn map(&self) -> BTreeMap<SocketAddr, SocketAddr> {
        self.addresses.iter().map(|m| (m.file, m.served)).collect()
    }
}

/// The published file of the demo whose data folder is `data_dir`.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

/// When process `pid` started, if it is running.
fn started(pid: u32) -> Option<u64> {
    use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};
    let pid = Pid::from_u32(pid);
    let mut system = System::new().ok()?;
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[pid]),
        true,
        ProcessRefreshKind::nothing(),
    );
    system.process(pid).map(sysinfo::Process::start_time)
}

/// This process: its id and when it started.
fn this_process() -> Result<(u32, u64), String> {
    let pid = std::process::id();
    let at = started(pid).ok_or("cannot read this process's start time")?;
    Ok((pid, at))
}

/// The venues file `path` as the demo and the probe both name it.
fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Publishes where this process (a demo of `source`, a venues file, or of
/// a synthetic Games) serves the addresses of `moved`: writes
/// `data_dir/demo-addresses.json` through a temporary file renamed over
/// it, so a reader never sees half a file. Returns its path.
pub fn publish(
    data_dir: &Path,
    source: Option<&Path>,
    moved: &BTreeMap<SocketAddr, SocketAddr>,
) -> Result<PathBuf, String> {
    let (pid, process_started) = this_process()?;
    let doc = DemoAddresses {
        pid,
        process_started,
        source: source.map(absolute),
        addresses: moved
            .iter()
            .map(|(file, served)| Moved {
                file: *file,
                served: *served,
            })
            .collect(),
    };
    let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
    write_whole(data_dir, FILE_NAME, &text)
}

/// Removes the published file if this process wrote it (a newer demo on
/// the same folder keeps its own).
pub fn withdraw(data_dir: &Path) {
    let target = path(data_dir);
    let ours = crate::config::file::read_text(&target)
        .ok()
        .and_then(|t| serde_json::from_str::<DemoAddresses>(&t).ok())
        .is_some_and(|d| d.pid == std::process::id());
    if ours {
        let _ = std::fs::remove_file(&target);
    }
}

/// The file in the data folder where a running `toc serve`, `toc demo`
/// or `toc run` publishes where its API listens.
pub const API_FILE_NAME: &str = "api-address.json";

/// Where a running process serves its API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiAddresses {
    /// The process's id.
    pub pid: u32,
    /// When it started (as in [`DemoAddresses`]).
    pub process_started: u64,
    /// Every address, as URLs (`http://127.0.0.1:7470`,
    /// `unix:/srv/toc-data/toc.sock`), TCP first.
    pub urls: Vec<String>,
}

/// Writes `text` to `data_dir/name` whole (a temporary file renamed over
/// it).
fn write_whole(data_dir: &Path, name: &str, text: &str) -> Result<PathBuf, String> {
    let target = data_dir.join(name);
    let tmp = data_dir.join(format!("{name}.{}.tmp", std::process::id()));
    let written = std::fs::create_dir_all(data_dir).and_then(|()| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &target)
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("cannot write {}: {e}", target.display()));
    }
    Ok(target)
}

/// Publishes where this process's API listens in
/// `data_dir/api-address.json`. Returns its path.
pub fn publish_api(data_dir: &Path, urls: &[String]) -> Result<PathBuf, String> {
    let (pid, process_started) = this_process()?;
    let doc = ApiAddresses {
        pid,
        process_started,
        urls: urls.to_vec(),
    };
    let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
    write_whole(data_dir, API_FILE_NAME, &text)
}

/// Removes `data_dir/api-address.json` if this process wrote it.
pub fn withdraw_api(data_dir: &Path) {
    let target = data_dir.join(API_FILE_NAME);
    let ours = crate::config::file::read_text(&target)
        .ok()
        .and_then(|t| serde_json::from_str::<ApiAddresses>(&t).ok())
        .is_some_and(|d| d.pid == std::process::id());
    if ours {
        let _ = std::fs::remove_file(&target);
    }
}

/// Where the API of the process running on `data_dir` listens, when one
/// runs (a file left by a dead process is ignored).
pub fn lookup_api(data_dir: &Path) -> Option<ApiAddresses> {
    let text = crate::config::file::read_text(&data_dir.join(API_FILE_NAME)).ok()?;
    let doc: ApiAddresses = serde_json::from_str(&text).ok()?;
    (started(doc.pid) == Some(doc.process_started)).then_some(doc)
}

/// What the data folder says about a running demo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// No demo published its addresses there.
    Absent,
    /// A demo is running and serves these addresses.
    Running(DemoAddresses),
    /// The file is left from a demo that is no longer running.
    Stale {
        /// The dead demo's process id.
        pid: u32,
    },
    /// The file cannot be read or is not what a demo writes.
    Unreadable(String),
}

/// Reads `data_dir/demo-addresses.json` and checks that its demo runs.
pub fn lookup(data_dir: &Path) -> Lookup {
    let target = path(data_dir);
    if matches!(std::fs::metadata(&target), Err(e) if e.kind() == std::io::ErrorKind::NotFound) {
        return Lookup::Absent;
    }
    // Bounded, and only a regular file: a FIFO there must not block
    // `toc probe`.
    let text = match crate::config::file::read_text(&target) {
        Ok(t) => t,
        Err(e) => return Lookup::Unreadable(e),
    };
    let doc: DemoAddresses = match serde_json::from_str(&text) {
        Ok(d) => d,
        Err(e) => return Lookup::Unreadable(e.to_string()),
    };
    if started(doc.pid) == Some(doc.process_started) {
        Lookup::Running(doc)
    } else {
        Lookup::Stale { pid: doc.pid }
    }
}

/// For `toc probe DEVICE` of the venues file `config`: when a demo of
/// that same file runs (published in the file's data folder), points
/// `inventory` at the addresses the demo really serves. Returns a line for
/// the technician on where the addresses come from (or why the published
/// ones were not used); none when no demo ever published there.
pub fn use_running_demo(inventory: &mut Inventory, config: &Path) -> Option<String> {
    let dir = inventory.event.data_dir.clone();
    let file = path(&dir);
    match lookup(&dir) {
        Lookup::Absent => None,
        Lookup::Stale { pid } => Some(format!(
            "ignoring {}: the demo that wrote it (pid {pid}) is no longer running; addresses from {}",
            file.display(),
            config.display()
        )),
        Lookup::Unreadable(e) => Some(format!(
            "ignoring {}: {e}; addresses from {}",
            file.display(),
            config.display()
        )),
        Lookup::Running(doc) => {
            if doc.source.as_deref() != Some(absolute(config).as_path()) {
                let of = doc.source.as_ref().map_or_else(
                    || "a synthetic Games".to_owned(),
                    |p| p.display().to_string(),
                );
                return Some(format!(
                    "a demo runs (pid {}) on {of}, not on {}; addresses from {}",
                    doc.pid,
                    config.display(),
                    config.display()
                ));
            }
            *inventory = crate::sim::remap(inventory, &doc.map());
            Some(format!(
                "addresses from the running demo (pid {}, {})",
                doc.pid,
                file.display()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moved() -> BTreeMap<SocketAddr, SocketAddr> {
        BTreeMap::from([(
            SocketAddr::from(([127, 0, 0, 1], 16101)),
            SocketAddr::from(([127, 0, 0, 1], 40001)),
        )])
    }

    #[test]
    fn a_published_file_names_this_running_process_and_goes_when_withdrawn() {
        let dir = tempfile::tempdir().expect("tempdir");
        let written = publish(dir.path(), None, &moved()).expect("published");
        assert_eq!(written, dir.path().join(FILE_NAME));
        let Lookup::Running(doc) = lookup(dir.path()) else {
            panic!("not running: {:?}", lookup(dir.path()));
        };
        assert_eq!(doc.pid, std::process::id());
        assert_eq!(doc.map(), moved());
        // No temporary file left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, [FILE_NAME]);
        withdraw(dir.path());
        assert_eq!(lookup(dir.path()), Lookup::Absent);
    }

    #[test]
    fn the_api_address_is_published_found_and_withdrawn() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(lookup_api(dir.path()), None);
        let urls = vec!["http://127.0.0.1:7470".to_owned()];
        publish_api(dir.path(), &urls).expect("published");
        let doc = lookup_api(dir.path()).expect("running");
        assert_eq!(doc.urls, urls);
        withdraw_api(dir.path());
        assert_eq!(lookup_api(dir.path()), None);
    }

    #[test]
    fn a_demo_of_another_file_is_not_used_and_says_so() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = format!(
            "[event]\nname = \"t\"\ndata_dir = {:?}\n\n[profiles.v2]\nversion = \"v2c\"\ncommunity = \"c\"\n\n\
             [[venues]]\ncode = \"TT\"\nname = \"T\"\ncity = \"T\"\n\n\
             [[venues.devices]]\nid = \"TT-a\"\nrole = \"r\"\nprobe = \"snmp://127.0.0.1:16101\"\nprofile = \"v2\"\n",
            dir.path().display().to_string()
        );
        let src = crate::config::SourceFile::new("<test>", text);
        let (mut inv, _) = Inventory::parse(&src).expect("valid");
        let before = inv.devices[0].probe.clone();
        // A synthetic Games.
        publish(dir.path(), None, &moved()).expect("published");
        let note = use_running_demo(&mut inv, Path::new("venues.toml")).expect("a note");
        assert!(
            note.contains("on a synthetic Games, not on venues.toml"),
            "{note}"
        );
        assert_eq!(inv.devices[0].probe, before);
    }

    #[test]
    fn a_file_from_a_dead_or_other_process_is_stale() {
        let dir = tempfile::tempdir().expect("tempdir");
        publish(dir.path(), None, &moved()).expect("published");
        let text = std::fs::read_to_string(path(dir.path())).expect("read");
        let mut doc: DemoAddresses = serde_json::from_str(&text).expect("json");
        // This process id, another start time: the id was reused.
        doc.process_started = doc.process_started.saturating_sub(1000);
        std::fs::write(path(dir.path()), serde_json::to_string(&doc).expect("json"))
            .expect("write");
        assert_eq!(lookup(dir.path()), Lookup::Stale { pid: doc.pid });
        // Not ours any more: withdraw leaves another demo's file alone.
        doc.pid = doc.pid.wrapping_add(1);
        std::fs::write(path(dir.path()), serde_json::to_string(&doc).expect("json"))
            .expect("write");
        withdraw(dir.path());
        assert!(path(dir.path()).exists());
        std::fs::write(path(dir.path()), "{ not json").expect("write");
        assert!(matches!(lookup(dir.path()), Lookup::Unreadable(_)));
    }
}
