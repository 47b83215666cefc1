//! A technician on site logs in to the TOC server over SSH and runs the
//! console on the server's Unix socket: real OpenSSH (sshd in inetd mode
//! on a loopback listener the test bound to port 0), a real OS user whose
//! uid the server reads from the socket (`SO_PEERCRED`) and maps through
//! users.toml, `ssh -t` inside tmux. No password and no token: the login
//! is the identity.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;
#[path = "wall_support/mod.rs"]
mod wall_support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use support::headless::Demo;
use support::sshd::{self, Sshd};
use support::tmux::{self, Tmux};

const USERS: &str = r#"
[[users]]
name = "dana"
role = "duty_manager"

[[users]]
name = "toc-t-tech"
role = "technician"
venues = ["STA"]
"#;

/// Waits until the pane shows every one of `words`; panics with the pane.
fn wait_pane(tmux: &Tmux, words: &[&str], within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        let pane = String::from_utf8_lossy(&tmux.capture_bytes(false)).into_owned();
        if words.iter().all(|w| pane.contains(w)) {
            return pane;
        }
        assert!(
            Instant::now() < deadline,
            "not within {within:?}: {words:?}\n--- pane ---\n{pane}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn wait_file(path: &Path, within: Duration) {
    let deadline = Instant::now() + within;
    while !path.exists() {
        assert!(Instant::now() < deadline, "{} not made", path.display());
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_technician_over_ssh_sees_their_venue_and_is_told_why_an_ack_is_refused() {
    if !sshd::available() || !support::have("tmux") {
        return;
    }
    let _serial = tmux::serial();
    let dir = tempfile::tempdir().expect("tmp");
    // The technician's session must reach the socket and the binary.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    sshd::os_user("toc-t-tech");
    let venues = dir.path().join("venues.toml");
    // The wall tests' Games ([api] is its last table), with a socket.
    let text = format!("{}socket = \"toc.sock\"\n", wall_support::VENUES);
    std::fs::write(&venues, text).expect("venues");
    let users = dir.path().join("users.toml");
    std::fs::write(&users, USERS).expect("users");
    let mut demo = Demo::start(&venues, &["--users", users.to_str().expect("utf-8")]);
    let socket = dir.path().join("toc.sock");
    wait_file(&socket, Duration::from_secs(30));
    // A problem at STA for the technician to (try to) acknowledge.
    let answer = demo.ask("fault STA-core-a down");
    assert!(answer.starts_with("applied"), "{answer}");

    let server = Sshd::start(dir.path(), &["toc-t-tech"]);
    let remote = format!(
        "{} console --socket {}",
        env!("CARGO_BIN_EXE_toc"),
        socket.display()
    );
    let tmux = Tmux::start(dir.path(), &server.ssh_line("toc-t-tech", &remote));
    // The wall, narrowed to STA, as the technician the socket said.
    let pane = wait_pane(
        &tmux,
        &[
            "Wall Test Games",
            "toc-t-tech",
            "STA only",
            "Stade de France",
        ],
        Duration::from_secs(60),
    );
    assert!(
        !pane.contains("MRN"),
        "MRN is not the technician's:\n{pane}"
    );
    // Their console shows the incident, and refuses their ack with why.
    wait_pane(&tmux, &["STA-core"], Duration::from_secs(30));
    let out = tmux.cmd(&["send-keys", "-t", "toc", ":ack STA-core on my way", "Enter"]);
    assert!(out.status.success(), "{out:?}");
    let pane = wait_pane(&tmux, &["refused"], Duration::from_secs(30));
    assert!(
        pane.contains("duty_manager") && pane.contains("technician"),
        "the refusal says which role it needs:\n{pane}"
    );
    // Nothing was acknowledged: the duty manager's ack still applies.
    let answer = demo.ask("ack STA-core taken");
    assert!(answer.starts_with("applied"), "{answer}");
    let _ = tmux.cmd(&["send-keys", "-t", "toc", ":q", "Enter"]);
    drop(demo);
}
