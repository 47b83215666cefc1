//! The process's edges, with the real binary: a closed pipe on stdout or
//! stderr ends the output quietly with the command's own status (never a
//! panic, never 101); every terminating signal the console can catch
//! restores the terminal and exits 128 + its number; without a terminal
//! `toc demo` says it needs one and exits 2, drawing nothing.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::tmux::{Tmux, serial};

const BIN: &str = env!("CARGO_BIN_EXE_toc");

/// Runs toc with stdout (and, when `stderr_too`, stderr) into a pipe whose
/// reading end is closed before toc starts: every write gets `EPIPE`.
/// Returns the exit code and what stderr got (when not into the pipe).
fn into_closed_pipe(args: &[&str], stderr_too: bool) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(writer.try_clone().expect("pipe"));
    if stderr_too {
        cmd.stderr(writer);
    } else {
        drop(writer);
        cmd.stderr(Stdio::piped());
    }
    let out = cmd.output().expect("toc runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A venues file of `devices` TCP devices in one venue: quick to
/// simulate.
fn venues(dir: &Path, devices: usize) -> PathBuf {
    let mut text = String::from(
        "[event]\nname = \"Edges\"\npoll_interval = \"1s\"\ntimeout = \"200ms\"\n\n\
         [[venues]]\ncode = \"EDG\"\nname = \"Edge Arena\"\ncity = \"Loopback\"\n",
    );
    for i in 0..devices {
        let _ = write!(
            text,
            "\n[[venues.devices]]\nid = \"EDG-tcp-{i}\"\nrole = \"server\"\nprobe = \"tcp://127.0.0.1:{}\"\n",
            i + 1
        );
    }
    let path = dir.join("venues.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn check_into_a_closed_pipe_exits_with_its_own_status_quietly() {
    for file in ["venues.toml", "examples/venues-small.toml"] {
        let (code, stderr) = into_closed_pipe(&["check", file], false);
        assert_eq!(code, Some(0), "{file}: {stderr}");
        assert!(!stderr.contains("panicked"), "{file}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{file}: {stderr}");
    }
    // A broken file: its errors into the closed pipe too, status 2.
    let (code, _) = into_closed_pipe(&["check", "tests/fixtures/bad/bad_duration.toml"], true);
    assert_eq!(code, Some(2));
}

#[test]
fn probe_with_config_errors_into_a_closed_pipe_exits_unknown() {
    let (code, _) = into_closed_pipe(&["probe", "snmp://"], true);
    assert_eq!(code, Some(3), "UNKNOWN, as when the errors are read");
    let (code, stderr) = into_closed_pipe(&["probe", "tcp://127.0.0.1:1"], false);
    assert_eq!(
        code,
        Some(2),
        "CRITICAL (refused), printed or not: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn check_into_a_full_disk_fails_and_says_so() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        return;
    };
    let out = Command::new(BIN)
        .args(["check", "venues.toml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(full)
        .output()
        .expect("toc runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // Warnings (what no playbook covers) may come first on stderr.
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("toc: cannot write the output: No space left on device")),
        "{stderr}"
    );
}

#[test]
fn demo_without_a_terminal_says_it_needs_one_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = venues(dir.path(), 1);
    for cmd in ["demo", "run"] {
        let out = Command::new(BIN)
            .arg(cmd)
            .arg(&file)
            .env("TERM", "xterm-256color")
            .stdin(Stdio::null())
            .output()
            .expect("toc runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {stderr}");
        assert!(out.stdout.is_empty(), "{cmd} drew: {:?}", out.stdout);
        assert!(
            stderr.starts_with(&format!("toc {cmd}: needs a terminal")),
            "{cmd}: {stderr}"
        );
        assert!(!stderr.contains('\x1b'), "{stderr:?}");
        assert!(
            !dir.path().join("toc-data").exists(),
            "{cmd} started before refusing"
        );
    }
}

/// The terminal's canonical and echo modes, as `stty -a` prints them.
const MODES: &str =
    "stty -a | tr ' ;' '\\n\\n' | grep -x -e -icanon -e icanon -e -echo -e echo | tr '\\n' ' '";

/// For each signal: a demo in tmux gets it once the wall shows; toc must
/// exit 128 + its number with the terminal cooked (`icanon echo`) and
/// back on the main screen.
#[test]
fn terminating_signals_restore_the_terminal_and_exit_128_plus_signo() {
    if !support::have("tmux") {
        return;
    }
    let _serial = serial();
    for (name, number) in [("QUIT", 3), ("USR1", 10), ("USR2", 12), ("HUP", 1)] {
        let dir = tempfile::tempdir().unwrap();
        let file = venues(dir.path(), 2);
        let script = format!(
            "sh -c 'echo $$ > {}; TERM=xterm-256color exec {BIN} demo {}'; echo \"toc exited $?\"; {MODES}; echo; sleep 600",
            dir.path().join("pid").display(),
            file.display()
        );
        let tmux = Tmux::start(dir.path(), &script);
        tmux.wait(Duration::from_secs(30), "the wall", |p| {
            p.lines()
                .skip(1)
                .any(|l| l.trim_start().starts_with("EDG "))
        });
        assert_eq!(tmux.display("#{alternate_on}"), "1", "{name}: drawing");
        let pid = std::fs::read_to_string(dir.path().join("pid")).unwrap();
        let sent = Command::new("kill")
            .args([&format!("-{name}"), pid.trim()])
            .status()
            .unwrap();
        assert!(sent.success());
        let pane = tmux.wait(Duration::from_secs(10), "toc exits", |p| {
            p.contains("toc exited") && p.contains("canon")
        });
        let status = 128 + number;
        assert!(
            pane.contains(&format!("toc exited {status}")),
            "SIG{name}: {pane}"
        );
        let modes: Vec<&str> = pane
            .lines()
            .find(|l| l.contains("canon"))
            .unwrap()
            .split_whitespace()
            .collect();
        assert_eq!(modes, ["icanon", "echo"], "SIG{name}: {pane}");
        assert_eq!(
            tmux.display("#{alternate_on}"),
            "0",
            "SIG{name}: main screen"
        );
    }
}
