//! A real OpenSSH server for a test: `sshd -i` (inetd mode) run for each
//! connection accepted on a loopback listener the test bound to port 0,
//! so no port is chosen and bound later. Host and user keys are made
//! fresh in the test's folder; the users are real OS users (made with
//! `useradd` when missing), so a session runs as them and a Unix-socket
//! server reads their uid. Needs root (as in CI).

use std::net::{SocketAddr, TcpListener};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Whether this test can run an SSH server: root, sshd and ssh present.
/// Without them: with `TOC_REQUIRE_PEERS` set the test fails, otherwise it
/// prints why and the caller skips.
pub fn available() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let tools = Path::new("/usr/sbin/sshd").is_file() && super::have("ssh");
    let ok = root && tools;
    if !ok {
        let why = if root {
            "openssh-server and openssh-client are not installed"
        } else {
            "the SSH tests run as root (they add OS users)"
        };
        assert!(
            std::env::var_os("TOC_REQUIRE_PEERS").is_none(),
            "SSH end to end is required (TOC_REQUIRE_PEERS is set): {why}"
        );
        eprintln!("SKIPPED: {why}");
    }
    ok
}

/// An OS user for the test, made when missing (a system user with a
/// shell and no password: only the test's key lets them in). Returns its
/// uid.
pub fn os_user(name: &str) -> u32 {
    let uid = |name: &str| {
        Command::new("id")
            .args(["-u", name])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
    };
    let made = uid(name).or_else(|| {
        let out = Command::new("useradd")
            .args([
                "--system",
                "--shell",
                "/bin/sh",
                "--home-dir",
                "/nonexistent",
                name,
            ])
            .output()
            .expect("useradd runs");
        // Two tests may add the same user at once: the loser finds it made.
        uid(name).or_else(|| panic!("useradd {name}: {out:?}"))
    });
    // No password, yet not locked (`!`), which sshd refuses even for a
    // key: `*` lets the key in and nothing else.
    let out = Command::new("usermod")
        .args(["-p", "*", name])
        .output()
        .expect("usermod runs");
    assert!(out.status.success(), "usermod {name}: {out:?}");
    made.expect("uid")
}

/// The server: its address and the folder with its keys.
#[derive(Debug)]
pub struct Sshd {
    pub addr: SocketAddr,
    dir: PathBuf,
}

fn keygen(path: &Path) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .output()
        .expect("ssh-keygen runs");
    assert!(out.status.success(), "ssh-keygen: {out:?}");
}

impl Sshd {
    /// Starts it in `dir` (which must be traversable by the users), letting
    /// in each of `users` with the test's key.
    pub fn start(dir: &Path, users: &[&str]) -> Sshd {
        std::fs::create_dir_all("/run/sshd").expect("privilege separation folder");
        keygen(&dir.join("host"));
        keygen(&dir.join("user"));
        let keys = dir.join("keys");
        std::fs::create_dir_all(&keys).expect("keys folder");
        let public = std::fs::read_to_string(dir.join("user.pub")).expect("user key");
        for u in users {
            std::fs::write(keys.join(u), &public).expect("authorized keys");
        }
        let config = dir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "HostKey {host}\n\
                 AuthorizedKeysFile {keys}/%u\n\
                 StrictModes no\n\
                 PasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\n\
                 UsePAM no\n\
                 PermitRootLogin no\n\
                 PidFile none\n\
                 LogLevel ERROR\n",
                host = dir.join("host").display(),
                keys = keys.display(),
            ),
        )
        .expect("sshd_config");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { break };
                let (Ok(a), Ok(b)) = (conn.try_clone(), conn.try_clone()) else {
                    continue;
                };
                let _ = Command::new("/usr/sbin/sshd")
                    .arg("-i")
                    .arg("-f")
                    .arg(&config)
                    .stdin(Stdio::from(OwnedFd::from(a)))
                    .stdout(Stdio::from(OwnedFd::from(b)))
                    .stderr(Stdio::null())
                    .spawn();
            }
        });
        Sshd {
            addr,
            dir: dir.to_path_buf(),
        }
    }

    /// The `ssh` command line (as one shell string) that runs `remote` as
    /// `user` with a terminal.
    pub fn ssh_line(&self, user: &str, remote: &str) -> String {
        format!(
            "ssh -t -p {port} -i {key} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
             -o LogLevel=ERROR -o BatchMode=yes {user}@127.0.0.1 {remote}",
            port = self.addr.port(),
            key = self.dir.join("user").display(),
        )
    }
}
