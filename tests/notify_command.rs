//! The notify command, run for real: `sh` with an argv (no shell line
//! built by us), the notification as JSON on stdin, a timeout that kills
//! the whole process group, and the notifier driving it end to end.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use toc::notify::command::{self, STDERR_KEPT};
use toc::notify::{Notice, NoticeKind, Notifier, NotifierHandle, NotifyConfig, StormRules};

fn argv(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|p| (*p).to_owned()).collect()
}

fn notice(kind: NoticeKind, venue: &str, n: usize) -> Notice {
    Notice {
        at: SystemTime::now(),
        kind,
        incident_id: format!("{venue}-{n}"),
        key: format!("device-down:{venue}-dev-{n}"),
        venue: venue.to_owned(),
        subject: format!("{venue}-dev-{n}"),
        severity: "critical".to_owned(),
        title: format!("{venue}-dev-{n} down: no answer"),
    }
}

/// A notifier with the command `cat > FILE.N` (one file per run) and no
/// desktop, with a short window so the test is quick.
fn notifier_writing_to(dir: &Path, timeout: Duration) -> NotifierHandle {
    let script = format!(
        "n=0; while [ -e \"{0}/run.$n\" ]; do n=$((n+1)); done; cat > \"{0}/run.$n.tmp\" && mv \"{0}/run.$n.tmp\" \"{0}/run.$n\"",
        dir.display()
    );
    Notifier::start(NotifyConfig {
        desktop: false,
        command: Some(argv(&["sh", "-c", &script])),
        command_timeout: timeout,
        storm: StormRules {
            window: Duration::from_millis(300),
            ..StormRules::default()
        },
        tick: Duration::from_millis(50),
        ..NotifyConfig::default()
    })
    .expect("notifier starts")
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn runs(dir: &Path) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for n in 0.. {
        let path = dir.join(format!("run.{n}"));
        let Ok(text) = std::fs::read_to_string(&path) else {
            break;
        };
        out.push(serde_json::from_str(&text).expect("the command got JSON"));
    }
    out
}

#[test]
fn the_command_reads_the_notification_as_json_on_stdin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("got.json");
    let out = command::run(
        &argv(&[
            "sh",
            "-c",
            "cat > \"$0\"",
            file.to_str().expect("utf-8 path"),
        ]),
        br#"{"kind":"new_down"}"#,
        Duration::from_secs(10),
    )
    .expect("starts");
    assert!(out.ok(), "{out:?}");
    assert!(!out.timed_out);
    assert_eq!(
        std::fs::read_to_string(&file).expect("written"),
        r#"{"kind":"new_down"}"#
    );
}

#[test]
fn exit_status_and_stderr_are_reported_bounded() {
    let out = command::run(
        &argv(&[
            "sh",
            "-c",
            "cat >/dev/null; echo 'gateway says no' >&2; exit 3",
        ]),
        b"{}",
        Duration::from_secs(10),
    )
    .expect("starts");
    assert!(!out.ok());
    assert_eq!(out.status.and_then(|s| s.code()), Some(3));
    assert_eq!(out.stderr, "gateway says no\n");

    // A command that floods stderr is not blocked by it and is cut.
    let out = command::run(
        &argv(&["sh", "-c", "head -c 1000000 /dev/zero | tr '\\0' x >&2"]),
        b"",
        Duration::from_secs(10),
    )
    .expect("starts");
    assert!(out.ok(), "{:?}", out.status);
    assert_eq!(out.stderr.len(), STDERR_KEPT);
}

#[test]
fn a_command_that_cannot_start_is_an_error() {
    let err = command::run(
        &argv(&["/nonexistent/toc-pager"]),
        b"{}",
        Duration::from_secs(1),
    );
    assert!(err.is_err());
}

/// Whether `pid` is gone (or a zombie nobody reaped yet: dead too).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

#[test]
fn the_timeout_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("grandchild.pid");
    let script = "sleep 60 & echo $! > \"$0\"; wait";
    let started = Instant::now();
    let out = command::run(
        &argv(&["sh", "-c", script, pidfile.to_str().expect("utf-8 path")]),
        b"{}",
        Duration::from_millis(500),
    )
    .expect("starts");
    let took = started.elapsed();
    assert!(out.timed_out, "{out:?}");
    assert!(!out.ok());
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_secs(5),
        "took {took:?}"
    );
    let pid: u32 = std::fs::read_to_string(&pidfile)
        .expect("the script wrote its child's pid")
        .trim()
        .parse()
        .expect("a pid");
    wait_for("the grandchild to die", Duration::from_secs(5), || {
        gone(pid)
    });
}

#[test]
fn the_notifier_runs_the_command_once_per_notification() {
    let dir = tempfile::tempdir().expect("tempdir");
    let notifier = notifier_writing_to(dir.path(), Duration::from_secs(10));
    notifier.notice(notice(NoticeKind::NewDown, "STA", 1));
    wait_for("one run", Duration::from_secs(10), || {
        notifier.stats().command_ok == 1
    });
    let got = runs(dir.path());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["kind"], "new_down");
    assert_eq!(got[0]["critical"], true);
    assert_eq!(got[0]["summary"], "DOWN STA: STA-dev-1");
    assert_eq!(got[0]["notices"][0]["incident_id"], "STA-1");
    assert_eq!(got[0]["notices"][0]["key"], "device-down:STA-dev-1");

    // A storm: 100 notices over 20 venues in one window, one run.
    for i in 0..100 {
        notifier.notice(notice(NoticeKind::NewDown, &format!("V{:02}", i % 20), i));
    }
    wait_for("the storm's run", Duration::from_secs(10), || {
        notifier.stats().command_ok == 2
    });
    // Nothing more comes of it.
    std::thread::sleep(Duration::from_millis(800));
    let stats = notifier.stats();
    notifier.shutdown();
    let got = runs(dir.path());
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(got[1]["kind"], "storm");
    assert_eq!(got[1]["incidents"], 100);
    assert_eq!(got[1]["venues"].as_array().map(Vec::len), Some(20));
    assert!(
        got[1]["summary"]
            .as_str()
            .is_some_and(|s| s.starts_with("Storm: 20 venues, 100 incidents DOWN: V00, ")),
        "{}",
        got[1]["summary"]
    );
    assert_eq!(
        (
            stats.notices,
            stats.notifications,
            stats.storms,
            stats.command_failed
        ),
        (101, 2, 1, 0)
    );
}

#[test]
fn a_hanging_command_never_blocks_notices() {
    let notifier = Notifier::start(NotifyConfig {
        desktop: false,
        command: Some(argv(&["sleep", "60"])),
        command_timeout: Duration::from_millis(300),
        storm: StormRules {
            window: Duration::from_millis(100),
            ..StormRules::default()
        },
        tick: Duration::from_millis(20),
        backend_queue: 1,
        ..NotifyConfig::default()
    })
    .expect("starts");
    // Notices 1 s apart would each be single; here the command hangs on
    // the first while more arrive: notice() still returns at once.
    let started = Instant::now();
    for i in 0..3 {
        notifier.notice(notice(NoticeKind::Escalation, "STA", i));
        std::thread::sleep(Duration::from_millis(150));
    }
    assert!(started.elapsed() < Duration::from_secs(1));
    wait_for("the timeouts", Duration::from_secs(10), || {
        let s = notifier.stats();
        s.command_timed_out + s.command_dropped == 3
    });
    let s = notifier.stats();
    assert!(s.command_timed_out >= 1, "{s:?}");
    assert_eq!(s.command_ok, 0);
    notifier.shutdown();
}
