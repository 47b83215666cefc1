//! Shared helpers for the tests that need real peers: net-snmp's snmpd and
//! command-line tools, and a TCP black hole.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

pub mod tmux;

pub mod disk;
pub mod engine;
pub mod games;
pub mod headless;
pub mod snmpsim;
pub mod sshd;
pub mod uplink;
pub mod view;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether `tool` is on PATH. When it is not: with `TOC_REQUIRE_PEERS`
/// set (as `.ci/run` does) the test fails; otherwise it prints a notice
/// and the caller skips.
pub fn have(tool: &str) -> bool {
    let found = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|p| is_executable(&p.join(tool)))
            || is_executable(&PathBuf::from("/usr/sbin").join(tool))
    });
    if !found {
        assert!(
            std::env::var_os("TOC_REQUIRE_PEERS").is_none(),
            "{tool} is required (TOC_REQUIRE_PEERS is set) but not installed: apt-get install snmpd snmp tmux snmpsim"
        );
        eprintln!(
            "SKIPPED: {tool} is not installed (apt-get install snmpd snmp tmux snmpsim); set TOC_REQUIRE_PEERS=1 to make this fail"
        );
    }
    found
}

fn is_executable(p: &Path) -> bool {
    p.is_file()
}

/// The path of a tool, also looking in /usr/sbin (snmpd lives there).
pub fn tool(name: &str) -> PathBuf {
    let sbin = PathBuf::from("/usr/sbin").join(name);
    if sbin.is_file() {
        sbin
    } else {
        PathBuf::from(name)
    }
}

/// The v3 users every test snmpd has.
pub const V3_USERS: &[(&str, &str, &str, &str, &str)] = &[
    // user, auth proto, auth pass, priv proto, priv pass
    (
        "toc-sha256",
        "SHA-256",
        "auth-pass-256",
        "AES",
        "priv-pass-128",
    ),
    (
        "toc-sha1",
        "SHA",
        "auth-pass-sha1",
        "AES256",
        "priv-pass-256",
    ),
];
pub const COMMUNITY: &str = "toc-test";
pub const SYS_NAME: &str = "toc-snmpd-peer";

/// net-snmp's snmpd on a loopback port of its own, killed on drop.
///
/// It is told port 0, so the system gives it a free port when it binds
/// (never a port picked by the test, let go, and bound later, which
/// another program may take in between); the port is read from `/proc`.
pub struct Snmpd {
    pub addr: SocketAddr,
    child: Child,
    _dir: tempfile::TempDir,
}

/// The UDP port process `pid` has bound on 127.0.0.1, from `/proc`: its
/// socket inodes, looked up in `/proc/net/udp`.
fn udp_port_of(pid: u32) -> Option<u16> {
    bound_udp_port(pid, "/proc/net/udp", "0100007F")
}

/// The UDP port process `pid` has bound on `hex_ip` (as the kernel prints
/// addresses in `table`), from its socket inodes in `/proc/PID/fd`.
fn bound_udp_port(pid: u32, table: &str, hex_ip: &str) -> Option<u16> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()?
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| {
            let l = l.to_str()?;
            Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
        })
        .collect();
    let table = std::fs::read_to_string(table).ok()?;
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (local, inode) = (fields.get(1)?, fields.get(9)?);
        if !inodes.iter().any(|i| i == inode) {
            return None;
        }
        let (ip, port) = local.split_once(':')?;
        if ip == hex_ip {
            u16::from_str_radix(port, 16).ok()
        } else {
            None
        }
    })
}

impl Snmpd {
    pub fn start() -> Snmpd {
        let mut users = String::new();
        for (u, a, ap, p, pp) in V3_USERS {
            let _ = writeln!(
                users,
                "createUser {u} {a} \"{ap}\" {p} \"{pp}\"\nrouser {u} priv"
            );
        }
        Self::start_on(false, &users)
    }

    /// Runs a net-snmp tool against this agent with numeric output;
    /// returns stdout or stderr.
    pub fn cli(&self, tool_name: &str, args: &[&str], oids: &[&str]) -> Result<String, String> {
        run_cli(tool_name, args, &self.addr.to_string(), oids)
    }
}

/// Runs a net-snmp command-line tool against `agent` (`127.0.0.1:port`),
/// numeric OIDs (`-On`), values only as net-snmp prints them.
pub fn run_cli(
    tool_name: &str,
    args: &[&str],
    agent: &str,
    oids: &[&str],
) -> Result<String, String> {
    let out = Command::new(tool(tool_name))
        .env("MIBS", "")
        .args(["-On", "-Oe", "-Ot"])
        .args(args)
        .arg(agent)
        .args(oids)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Parses net-snmp `-On` output lines `.1.3.6... = TYPE: value` into
/// (oid, value text) pairs, quotes removed.
pub fn parse_cli(out: &str) -> Vec<(String, String)> {
    out.lines()
        // net-snmp's note at the end of a walk that reached endOfMibView.
        .filter(|l| !l.contains("No more variables left"))
        .filter_map(|l| {
            let (oid, rest) = l.split_once(" = ")?;
            let value = rest.split_once(": ").map_or(rest, |(_, v)| v);
            Some((
                oid.trim_start_matches('.').to_owned(),
                value.trim().trim_matches('"').to_owned(),
            ))
        })
        .collect()
}

impl Drop for Snmpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A listening port that never completes a handshake: a listener whose
/// accept queue is full and never drained. Linux then drops further SYNs,
/// so a connect hangs until the caller gives up. Keep the returned value
/// alive for as long as the black hole is needed.
pub fn tcp_black_hole() -> (SocketAddr, impl Sized) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..64 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(stream) => fillers.push(stream),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                return (addr, (listener, fillers));
            }
            Err(e) => panic!("filling the accept queue of {addr}: {e}"),
        }
    }
    panic!("the accept queue of {addr} never filled: no black hole on this kernel");
}

/// The UDP port process `pid` has bound on `::1`, from `/proc/net/udp6`
/// (as [`udp_port_of`] does for 127.0.0.1).
fn udp6_port_of(pid: u32) -> Option<u16> {
    // ::1 as the kernel prints it: four host-order 32-bit words.
    bound_udp_port(pid, "/proc/net/udp6", "00000000000000000000000001000000")
}

/// Whether this host has an IPv6 loopback to test on.
pub fn have_ipv6_loopback() -> bool {
    std::net::UdpSocket::bind("[::1]:0").is_ok()
}

impl Snmpd {
    /// snmpd on `::1` (`agentAddress udp6:[::1]:0`, port read from
    /// `/proc/net/udp6`) with the community [`COMMUNITY`], the given
    /// `createUser` / `rouser` lines and sysName [`SYS_NAME`].
    pub fn start_v6(users: &str) -> Snmpd {
        Self::start_on(true, users)
    }

    /// snmpd on 127.0.0.1 with the given v3 user lines (and no others).
    pub fn start_v4_with(users: &str) -> Snmpd {
        Self::start_on(false, users)
    }

    fn start_on(v6: bool, users: &str) -> Snmpd {
        let dir = tempfile::tempdir().unwrap();
        let conf = if v6 {
            format!(
                "agentAddress udp6:[::1]:0\nrocommunity6 {COMMUNITY} ::1\nsysName {SYS_NAME}\n{users}\n"
            )
        } else {
            format!(
                "agentAddress udp:127.0.0.1:0\nrocommunity {COMMUNITY} 127.0.0.1\nsysName {SYS_NAME}\nsysLocation loopback test\n{users}\n"
            )
        };
        let conf_path = dir.path().join("snmpd.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let mut child = Command::new(tool("snmpd"))
            .args(["-f", "-C", "-c"])
            .arg(&conf_path)
            .arg("-Lf")
            .arg(dir.path().join("snmpd.log"))
            .env("SNMP_PERSISTENT_DIR", dir.path().join("persist"))
            .env("MIBS", "")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("snmpd starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        let addr = loop {
            let found = if v6 {
                udp6_port_of(child.id()).map(|p| SocketAddr::from(([0, 0, 0, 0, 0, 0, 0, 1], p)))
            } else {
                udp_port_of(child.id()).map(|p| SocketAddr::from(([127, 0, 0, 1], p)))
            };
            if let Some(addr) = found {
                break addr;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("snmpd bound no UDP port (IPv6: {v6})");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let snmpd = Snmpd {
            addr,
            child,
            _dir: dir,
        };
        let agent = if v6 {
            format!("udp6:{addr}")
        } else {
            addr.to_string()
        };
        while Instant::now() < deadline {
            if run_cli(
                "snmpget",
                &["-v2c", "-c", COMMUNITY, "-t", "0.3", "-r", "0"],
                &agent,
                &["1.3.6.1.2.1.1.5.0"],
            )
            .is_ok()
            {
                return snmpd;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("snmpd did not answer on {agent}");
    }
}
