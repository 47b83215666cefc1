//! A technician on site logs in to the TOC server over SSH and runs the console on
//! the server's Unix socket: real OpenSSH (sshd in inetd mode on a
//! loopback listener), real OS users, `ssh -t` inside tmux.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::os::unix::fs::PermissionsExt;

use support::sshd::{self, Sshd};
use support::tmux::Tmux;

#[test]
fn ssh_session_runs_as_its_os_user() {
    if !sshd::available() || !support::have("tmux") {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    sshd::os_user("toc-t-tech");
    let server = Sshd::start(dir.path(), &["toc-t-tech"]);
    let line = server.ssh_line("toc-t-tech", "'id -un; sleep 30'");
    let tmux = Tmux::start(dir.path(), &line);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let pane = String::from_utf8_lossy(&tmux.capture_bytes(false)).into_owned();
        if pane.contains("toc-t-tech") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "pane: {pane}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}
