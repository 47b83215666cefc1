//! snmpsim (the Debian package `snmpsim`, pysnmp's agent simulator) as a
//! third-party SNMP peer serving its own shipped recordings, and what
//! net-snmp's tools read from it, byte for byte.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{have, run_cli, udp_port_of};

/// Where the Debian package puts snmpsim's example recordings.
pub const RECORDINGS: &str = "/usr/share/doc/snmpsim/examples/data";

/// A Cisco Catalyst 3750 stack (sysName `Profiler3750`, 59 interfaces).
pub const CISCO_3750: &str = "cisco_16_switch.snmprec.gz";
/// A Linux host's full walk (sysName `tt`, `lo` and `eth0`).
pub const LINUX: &str = "recorded/linux-full-walk.snmprec.gz";
/// A Windows XP host's full walk: its `ifDescr` values end in a NUL byte
/// and it has no `ifXTable` (so no `ifName`).
pub const WINDOWS_XP: &str = "recorded/winxp-full-walk.snmprec.gz";

/// Whether snmpsimd and net-snmp's tools are here; when they are not, fails
/// with `TOC_REQUIRE_PEERS` set and otherwise prints a notice (see
/// [`have`]).
pub fn have_snmpsim() -> bool {
    have("snmpsimd") && have("snmpget") && have("snmpwalk")
}

/// An `SNMPv3` user of the simulator, in snmpsimd's protocol names
/// (`SHA`, `AES256` = pysnmp's `usmAesCfb256Protocol`, Cisco's key
/// extension; `AES256BLMT` = the Blumenthal draft's, net-snmp's `AES256`).
#[derive(Debug, Clone, Copy)]
pub struct SimUser {
    pub name: &'static str,
    pub auth: &'static str,
    pub auth_pass: &'static str,
    pub privacy: &'static str,
    pub priv_pass: &'static str,
}

/// snmpsimd on a loopback port of its own serving some recordings, killed
/// on drop. Each recording is served under a community (and a v3
/// contextName) of its own, the name it was given in [`Snmpsim::start`].
pub struct Snmpsim {
    pub addr: SocketAddr,
    child: Child,
    _dir: tempfile::TempDir,
}

/// Whether this process runs as root (snmpsimd then refuses to start
/// unless told an unprivileged user to switch to).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().next().map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// Copies a shipped recording into `data` as `COMMUNITY.snmprec`,
/// gunzipping it if need be.
fn install_recording(data: &Path, community: &str, recording: &str) {
    let src = PathBuf::from(RECORDINGS).join(recording);
    let dst = data.join(format!("{community}.snmprec"));
    if Path::new(recording)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
    {
        let out = Command::new("gzip")
            .arg("-dc")
            .arg(&src)
            .output()
            .unwrap_or_else(|e| panic!("gzip -dc {}: {e}", src.display()));
        assert!(out.status.success(), "gzip -dc {} failed", src.display());
        std::fs::write(&dst, out.stdout).unwrap();
    } else {
        std::fs::copy(&src, &dst).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    }
}

impl Snmpsim {
    /// Starts snmpsimd serving `recordings` (community, file under
    /// [`RECORDINGS`]) on 127.0.0.1 port 0, with `v3` as its `SNMPv3` user if
    /// given, and waits until it answers net-snmp's snmpget (it indexes
    /// its recordings first, a few seconds for the Cisco one).
    pub fn start(recordings: &[(&str, &str)], v3: Option<SimUser>) -> Snmpsim {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let cache = dir.path().join("cache");
        std::fs::create_dir(&data).unwrap();
        std::fs::create_dir(&cache).unwrap();
        for (community, recording) in recordings {
            install_recording(&data, community, recording);
        }
        let mut cmd = Command::new("snmpsimd");
        cmd.arg(format!("--data-dir={}", data.display()))
            .arg(format!("--cache-dir={}", cache.display()))
            .arg("--agent-udpv4-endpoint=127.0.0.1:0")
            .arg("--logging-method=null");
        if is_root() {
            // snmpsimd will not serve as root: it switches to nobody, who
            // must be able to read the recordings and write the index.
            for (path, mode) in [(dir.path(), 0o755), (&data, 0o755), (&cache, 0o777)] {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
            }
            cmd.args(["--process-user=nobody", "--process-group=nogroup"]);
        }
        if let Some(u) = v3 {
            cmd.arg(format!("--v3-user={}", u.name))
                .arg(format!("--v3-auth-proto={}", u.auth))
                .arg(format!("--v3-auth-key={}", u.auth_pass))
                .arg(format!("--v3-priv-proto={}", u.privacy))
                .arg(format!("--v3-priv-key={}", u.priv_pass));
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("snmpsimd starts");
        // Indexing the Cisco recording takes seconds of CPU; other tests
        // may be running beside it on a small machine.
        let deadline = Instant::now() + Duration::from_secs(90);
        let port = loop {
            if let Some(port) = udp_port_of(child.id()) {
                break port;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("snmpsimd exited before binding a port: {status}");
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("snmpsimd bound no UDP port on 127.0.0.1");
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let sim = Snmpsim {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child,
            _dir: dir,
        };
        let (community, _) = recordings.first().expect("a recording");
        while Instant::now() < deadline {
            if sim
                .cli(
                    "snmpget",
                    &["-v2c", "-c", community, "-t", "1", "-r", "0"],
                    &["1.3.6.1.2.1.1.5.0"],
                )
                .is_ok()
            {
                return sim;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("snmpsimd did not answer on {}", sim.addr);
    }

    /// Runs a net-snmp tool against the simulator (numeric output, see
    /// [`run_cli`]).
    pub fn cli(&self, tool_name: &str, args: &[&str], oids: &[&str]) -> Result<String, String> {
        run_cli(tool_name, args, &self.addr.to_string(), oids)
    }

    /// What net-snmp reads under `oid` (a walk, or a get of one instance
    /// with `tool` `snmpget`), every octet string as its bytes (`-Ox`):
    /// (OID, value). Numbers are as net-snmp prints them with `-Oe -Ot`.
    pub fn read(&self, tool_name: &str, args: &[&str], oids: &[&str]) -> Vec<(String, Raw)> {
        let mut all: Vec<&str> = vec!["-Ox"];
        all.extend_from_slice(args);
        let out = self
            .cli(tool_name, &all, oids)
            .unwrap_or_else(|e| panic!("{tool_name} {oids:?}: {e}"));
        parse_raw(&out)
    }

    /// One column of a table as net-snmp's snmpwalk reads it, by row index.
    pub fn column(&self, args: &[&str], column: &str) -> BTreeMap<u32, Raw> {
        self.read("snmpwalk", args, &[column])
            .into_iter()
            .filter_map(|(oid, v)| {
                let row = oid.strip_prefix(column)?.strip_prefix('.')?;
                Some((row.parse().ok()?, v))
            })
            .collect()
    }
}

impl Drop for Snmpsim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A value as net-snmp printed it with `-Ox`: the bytes of an octet
/// string, or the text of anything else (numbers with `-Oe -Ot`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Raw {
    Bytes(Vec<u8>),
    Text(String),
}

impl Raw {
    /// The text of a number, or the bytes of a string read as text.
    pub fn text(&self) -> String {
        match self {
            Raw::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            Raw::Text(t) => t.clone(),
        }
    }
}

/// Parses net-snmp `-On -Ox` output, where a hex string may go on over
/// several lines (each line that does not start with `.` continues the
/// one before).
pub fn parse_raw(out: &str) -> Vec<(String, Raw)> {
    let mut joined: Vec<String> = Vec::new();
    for line in out.lines() {
        match joined.last_mut() {
            Some(last) if !line.starts_with('.') => {
                last.push(' ');
                last.push_str(line.trim());
            }
            _ => joined.push(line.to_owned()),
        }
    }
    joined
        .iter()
        .filter_map(|l| {
            let (oid, rest) = l.split_once(" = ")?;
            let oid = oid.trim_start_matches('.').to_owned();
            // net-snmp's notes: "No Such Instance currently exists at this
            // OID", "No more variables left in this MIB View".
            // `-Ot` prints TimeTicks as a bare number, with no type.
            let (kind, value) = rest.split_once(": ").unwrap_or(("", rest));
            if value.contains("No Such") || value.contains("No more variables") {
                return None;
            }
            let raw = match kind {
                "Hex-STRING" => Raw::Bytes(
                    value
                        .split_whitespace()
                        .map(|h| u8::from_str_radix(h, 16).expect("hex byte"))
                        .collect(),
                ),
                // An empty string prints as `""` even with -Ox.
                "STRING" => Raw::Bytes(value.trim().trim_matches('"').as_bytes().to_vec()),
                _ => Raw::Text(value.trim().trim_matches('"').to_owned()),
            };
            Some((oid, raw))
        })
        .collect()
}
