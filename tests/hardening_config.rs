//! Issue 12, bounds on what toc reads: files that are not regular files or
//! are too large, absurd intervals and timeouts (in the file and on the
//! command line), over-long probe URLs, and thousands of errors. Each test
//! was first run against the code before the fix, where it failed as the
//! issue says (16.8 GB read, a FIFO blocking forever, values accepted).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const HEAD: &str = "[event]\nname = \"Bounds\"\npoll_interval = \"5s\"\ntimeout = \"1s\"\n\n\
[[venues]]\ncode = \"STA\"\nname = \"Stade\"\ncity = \"Saint-Denis\"\nsports = [\"Rugby\"]\n";

/// Runs toc, killing it (and failing) past `limit`: the refusals tested
/// here must come at once, not after a read that never ends.
fn toc_within(args: &[&std::ffi::OsStr], limit: Duration) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_toc"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("TOC_SNMP_AUTH")
        .env_remove("TOC_SNMP_PRIV")
        .env("TERM", "xterm-256color")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run toc");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    // Read both pipes while waiting, so a long output cannot block toc.
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    if let Ok(out) = rx.recv_timeout(limit) {
        return out.expect("toc ran");
    }
    // Only the process this test started, by its id.
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let out = rx.recv().expect("toc ended").expect("toc ran");
    panic!(
        "toc {args:?} still running after {limit:?}; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn toc(args: &[&str]) -> Output {
    let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    toc_within(&args, Duration::from_secs(30))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn device(id: &str, extra: &str) -> String {
    format!(
        "\n[[venues.devices]]\nid = \"{id}\"\nrole = \"timing-link\"\nprobe = \"tcp://127.0.0.1:9\"\n{extra}"
    )
}

#[test]
fn dev_zero_is_refused_at_once_by_check_and_probe() {
    let out = toc(&["check", "/dev/zero"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("/dev/zero:1:1: error: not a regular file (a character device)"),
        "{err}"
    );
    let out = toc(&["probe", "STA-core", "--config", "/dev/zero"]);
    let err = stderr(&out);
    assert!(err.contains("not a regular file"), "{err}");
    assert_ne!(out.status.code(), Some(0));
}

#[test]
fn a_fifo_is_refused_instead_of_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("venues.toml");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let out = toc_within(
        &["check".as_ref(), fifo.as_os_str()],
        Duration::from_secs(20),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("not a regular file (a FIFO)"), "{err}");
    // A symbolic link to it is the FIFO too.
    let link = dir.path().join("link.toml");
    std::os::unix::fs::symlink(&fifo, &link).unwrap();
    let out = toc_within(
        &["check".as_ref(), link.as_os_str()],
        Duration::from_secs(20),
    );
    assert!(stderr(&out).contains("a FIFO"), "{}", stderr(&out));
}

#[test]
fn a_file_over_64_mib_is_refused_with_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("venues.toml");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len((64 << 20) + 1).unwrap();
    let out = toc_within(
        &["check".as_ref(), big.as_os_str()],
        Duration::from_secs(20),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("too large: at most 64 MiB"), "{err}");
}

#[test]
fn a_scenario_that_is_not_a_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let venues = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/venues-small.toml");
    let out = toc_within(
        &[
            "sim".as_ref(),
            venues.as_os_str(),
            "--control".as_ref(),
            "127.0.0.1:0".as_ref(),
            "--ephemeral".as_ref(),
            "--scenario".as_ref(),
            dir.path().as_os_str(),
        ],
        Duration::from_secs(20),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("scenario: not a regular file (a directory)"),
        "{err}"
    );
}

#[test]
fn absurd_intervals_and_timeouts_are_refused_with_their_range() {
    let dir = tempfile::tempdir().unwrap();
    for (extra, line, col, needle) in [
        (
            "poll_interval = \"18446744073709551615s\"\n",
            16,
            17,
            "at most 30 days",
        ),
        (
            "poll_interval = \"2h\"\n",
            16,
            17,
            "poll_interval of `STA-a` 2h is out of range: it must be from 100ms to 1h",
        ),
        (
            "timeout = \"1ns\"\n",
            16,
            11,
            "timeout of `STA-a` 1ns is out of range: it must be from 10ms to 1m",
        ),
        (
            "timeout = \"2m\"\npoll_interval = \"1h\"\n",
            16,
            11,
            "from 10ms to 1m",
        ),
    ] {
        let text = format!("{HEAD}{}", device("STA-a", extra));
        let p = write(dir.path(), "venues.toml", &text);
        let out = toc(&["check", p.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{extra}: {err}");
        let at = format!("{}:{line}:{col}: error: ", p.display());
        assert!(err.contains(&at), "{extra}: want {at} in {err}");
        assert!(err.contains(needle), "{extra}: {err}");
    }
    let text = HEAD.replace("timeout = \"1s\"", "timeout = \"5ms\"") + &device("STA-a", "");
    let p = write(dir.path(), "venues.toml", &text);
    let err = stderr(&toc(&["check", p.to_str().unwrap()]));
    assert!(
        err.contains(":4:11: error: timeout 5ms is out of range: it must be from 10ms to 1m"),
        "{err}"
    );
}

#[test]
fn demo_flags_go_through_the_file_checks() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "venues.toml",
        &format!("{HEAD}{}", device("STA-a", "")),
    );
    let file = p.to_str().unwrap();
    for (args, needle) in [
        (
            vec!["--interval", "1s", "--timeout", "5s"],
            "--timeout 5s exceeds --interval 1s",
        ),
        (
            vec!["--interval", "500ms"],
            "--interval 500ms is shorter than the timeout 1s of `STA-a`",
        ),
        (
            vec!["--timeout", "10s"],
            "--timeout 10s exceeds the poll_interval 5s of `STA-a`",
        ),
        (
            vec!["--interval", "18446744073709551615s"],
            "at most 30 days",
        ),
        (
            vec!["--interval", "2h"],
            "the interval 2h is out of range: it must be from 100ms to 1h",
        ),
        (
            vec!["--timeout", "1ns"],
            "the timeout 1ns is out of range: it must be from 10ms to 1m",
        ),
    ] {
        let mut all = vec!["demo", file];
        all.extend(&args);
        let out = toc(&all);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let out = toc(&["probe", "tcp://127.0.0.1:9", "--timeout", "1ns"]);
    assert!(stderr(&out).contains("from 10ms to 1m"), "{}", stderr(&out));
}

#[test]
fn a_probe_url_over_8_kib_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let long = format!("http://127.0.0.1:9/{}", "a".repeat(70_000));
    let text = format!(
        "{HEAD}\n[[venues.devices]]\nid = \"STA-a\"\nrole = \"ovr-server\"\nprobe = \"{long}\"\n"
    );
    let p = write(dir.path(), "venues.toml", &text);
    let out = toc(&["check", p.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        &err[..err.len().min(2000)]
    );
    assert!(
        err.contains(&format!(
            "{}:15:9: error: probe URL of `STA-a` is 70,019 bytes long: at most 8 KiB",
            p.display()
        )),
        "{}",
        &err[..err.len().min(2000)]
    );
    // The 70,000-byte line is not printed whole.
    assert!(err.len() < 2_000, "{} bytes of errors", err.len());
}

#[test]
fn thousands_of_errors_print_the_first_200_and_count_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = HEAD.to_owned();
    for i in 0..3_000 {
        let _ = write!(
            text,
            "{}",
            device(&format!("STA-d{i}"), "timeout = \"1ns\"\n")
        );
    }
    let p = write(dir.path(), "venues.toml", &text);
    let out = toc(&["check", p.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2));
    let shown = err.matches(": error: ").count();
    assert_eq!(shown, 200, "{}", &err[err.len().saturating_sub(500)..]);
    assert!(
        err.contains("\u{2026} and 2,800 more errors (only the first 200 are shown)"),
        "{}",
        &err[err.len().saturating_sub(500)..]
    );
    assert!(
        err.contains("3000 errors found"),
        "{}",
        &err[err.len().saturating_sub(500)..]
    );
}
