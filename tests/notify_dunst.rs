//! Desktop notifications against a real notification server: a private
//! session bus (dbus-daemon), Xvfb on a free display (`-displayfd`), and
//! dunst on both. What arrived is read back with `dunstctl` (its `count`
//! and `history`, JSON from busctl). One DOWN notice gives exactly one
//! notification; a storm of 100 notices over 20 venues exactly one more.
//!
//! notify-rust connects to the bus named by `DBUS_SESSION_BUS_ADDRESS`,
//! which this process may not set for itself (no `unsafe`), so the sending
//! side runs in a child: this test binary again, running the ignored test
//! `sender` with the private bus's address in its environment.
//!
//! Under `TOC_REQUIRE_PEERS=1` (set by .ci/run) a missing dunst, Xvfb or
//! dbus-daemon is a failure; without it the test says it skipped.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use toc::notify::{Notice, NoticeKind, Notifier, NotifyConfig, StormRules};

const TOOLS: &[&str] = &[
    "dbus-daemon",
    "Xvfb",
    "dunst",
    "dunstctl",
    "busctl",
    "dbus-send",
];
const PACKAGES: &str = "apt-get install dunst xvfb dbus dbus-bin systemd";

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
}

/// The peers are there; or, without `TOC_REQUIRE_PEERS`, say why not.
fn peers_present() -> bool {
    let missing: Vec<&str> = TOOLS.iter().copied().filter(|t| !on_path(t)).collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("TOC_REQUIRE_PEERS").is_none(),
        "{missing:?} required (TOC_REQUIRE_PEERS is set) but not installed: {PACKAGES}"
    );
    println!(
        "SKIPPED: {missing:?} not installed ({PACKAGES}); set TOC_REQUIRE_PEERS=1 to make this fail"
    );
    false
}

/// The bus, the X server and dunst; stopped (TERM, then KILL) on drop.
struct Desk {
    children: Vec<(&'static str, Child)>,
    bus: String,
    dir: tempfile::TempDir,
}

impl Drop for Desk {
    fn drop(&mut self) {
        // dunst first, the bus last.
        for (name, child) in self.children.iter_mut().rev() {
            stop(name, child);
        }
    }
}

fn stop(name: &str, child: &mut Child) {
    use rustix::process::{Pid, Signal, kill_process};
    let _ = kill_process(Pid::from_child(child), Signal::TERM);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!("{name} ignored TERM: killing it");
    let _ = child.kill();
    let _ = child.wait();
}

fn log_file(dir: &Path, name: &str) -> Stdio {
    Stdio::from(std::fs::File::create(dir.join(name)).expect("log file"))
}

/// Starts `cmd` and reads the first line it prints on stdout.
fn first_line(name: &str, mut cmd: Command) -> (Child, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{name} starts: {e}"));
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = tx.send(line);
        // Keep reading: a closed pipe would kill it on its next write.
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    let line = rx
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("{name} printed nothing in 10 s"));
    (child, line.trim().to_owned())
}

const DUNSTRC: &str = "\
[global]
    font = Monospace 8
    notification_limit = 0
    history_length = 1000
    stack_duplicates = false
[urgency_low]
    timeout = 0
[urgency_normal]
    timeout = 0
[urgency_critical]
    timeout = 0
";

impl Desk {
    fn start() -> Self {
        // Built first, so whatever started is stopped if a later step fails.
        let mut desk = Desk {
            children: Vec::new(),
            bus: String::new(),
            dir: tempfile::tempdir().expect("tempdir"),
        };
        let dir = desk.dir.path().to_path_buf();

        let mut bus = Command::new("dbus-daemon");
        bus.args(["--session", "--nofork", "--print-address=1"])
            .arg(format!("--address=unix:path={}", dir.join("bus").display()))
            .stdin(Stdio::null())
            .stderr(log_file(&dir, "dbus.log"));
        let (child, address) = first_line("dbus-daemon", bus);
        desk.children.push(("dbus-daemon", child));
        assert!(address.starts_with("unix:"), "bus address {address:?}");
        desk.bus.clone_from(&address);

        // -displayfd 1: Xvfb picks a free display and prints its number.
        let mut x = Command::new("Xvfb");
        x.args([
            "-displayfd",
            "1",
            "-nolisten",
            "tcp",
            "-screen",
            "0",
            "640x480x24",
        ])
        .stdin(Stdio::null())
        .stderr(log_file(&dir, "xvfb.log"));
        let (child, display) = first_line("Xvfb", x);
        desk.children.push(("Xvfb", child));
        assert!(display.parse::<u32>().is_ok(), "Xvfb display {display:?}");

        let rc = dir.join("dunstrc");
        std::fs::write(&rc, DUNSTRC).expect("dunstrc");
        let dunst = Command::new("dunst")
            .arg("-config")
            .arg(&rc)
            .env("DISPLAY", format!(":{display}"))
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env_remove("WAYLAND_DISPLAY")
            .stdin(Stdio::null())
            .stdout(log_file(&dir, "dunst.out"))
            .stderr(log_file(&dir, "dunst.log"))
            .spawn()
            .expect("dunst starts");
        desk.children.push(("dunst", dunst));

        let start = Instant::now();
        while desk.dunstctl(&["debug"]).is_none() {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "dunst did not come up on the bus: {}",
                desk.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        desk
    }

    fn logs(&self) -> String {
        ["dbus.log", "xvfb.log", "dunst.log"]
            .iter()
            .map(|f| {
                let text = std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default();
                format!("--- {f}\n{text}")
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// `dunstctl ARGS` on our bus: its stdout when it succeeded.
    fn dunstctl(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("dunstctl")
            .args(args)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus)
            .stdin(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn count(&self, which: &str) -> u64 {
        self.dunstctl(&["count", which])
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or_else(|| panic!("dunstctl count {which}: {}", self.logs()))
    }

    /// Every notification dunst holds: shown, waiting or in its history.
    fn arrived(&self) -> u64 {
        self.count("displayed") + self.count("waiting") + self.count("history")
    }

    /// Summaries and app names of everything in `dunstctl history`, oldest
    /// first (closes what is shown, which moves it there).
    fn history(&self) -> Vec<(String, String)> {
        self.dunstctl(&["close-all"]).expect("dunstctl close-all");
        let text = self.dunstctl(&["history"]).expect("dunstctl history");
        let json: serde_json::Value = serde_json::from_str(&text).expect("history is JSON");
        let mut out: Vec<(String, String)> = json["data"][0]
            .as_array()
            .expect("history list")
            .iter()
            .map(|n| {
                (
                    n["summary"]["data"].as_str().unwrap_or_default().to_owned(),
                    n["appname"]["data"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        out.reverse();
        out
    }

    /// Runs the sender (this binary's ignored `sender` test) on our bus.
    fn send(&self, plan: &str) {
        let out = run_sender(plan, Some(&self.bus));
        assert!(
            out.ok,
            "sender {plan} failed:\n{}\n{}",
            out.text,
            self.logs()
        );
    }
}

struct SenderOutput {
    ok: bool,
    /// Its stdout and stderr (the notifier's log lines are on stderr).
    text: String,
}

/// Runs this binary's ignored `sender` test in a child with `plan`, on
/// the session bus `bus` (none: `DBUS_SESSION_BUS_ADDRESS` unset).
fn run_sender(plan: &str, bus: Option<&str>) -> SenderOutput {
    let exe = std::env::current_exe().expect("test binary");
    let mut cmd = Command::new(exe);
    cmd.args([
        "sender",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("TOC_NOTIFY_PLAN", plan)
    .stdin(Stdio::null());
    match bus {
        Some(address) => cmd.env("DBUS_SESSION_BUS_ADDRESS", address),
        None => cmd.env_remove("DBUS_SESSION_BUS_ADDRESS"),
    };
    let out = cmd.output().expect("the sender runs");
    SenderOutput {
        ok: out.status.success(),
        text: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

fn wait_until_arrived(desk: &Desk, want: u64) {
    let start = Instant::now();
    while desk.arrived() < want {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "only {} arrived",
            desk.arrived()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // And no more come.
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(desk.arrived(), want, "{:?}", desk.history());
}

#[test]
fn one_notification_per_down_and_one_per_storm() {
    if !peers_present() {
        return;
    }
    let desk = Desk::start();
    assert_eq!(desk.arrived(), 0);

    desk.send("down");
    wait_until_arrived(&desk, 1);

    desk.send("storm");
    wait_until_arrived(&desk, 2);

    let history = desk.history();
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(
        history[0],
        ("DOWN STA: STA-core-a".to_owned(), "toc".to_owned())
    );
    assert!(
        history[1]
            .0
            .starts_with("Storm: 20 venues, 100 incidents DOWN: V00, V01, "),
        "{history:?}"
    );
    assert_eq!(history[1].1, "toc");
}

#[test]
fn without_a_session_bus_a_notification_is_a_log_line() {
    let out = run_sender("no-bus", None);
    assert!(out.ok, "{}", out.text);
    assert!(
        out.text
            .contains("no session bus (DBUS_SESSION_BUS_ADDRESS is not set)"),
        "{}",
        out.text
    );
    let line = out
        .text
        .lines()
        .find(|l| l.contains("notification (no session bus)"))
        .unwrap_or_else(|| panic!("no log line for the notification:\n{}", out.text));
    assert!(line.contains("INFO"), "{line}");
    assert!(line.contains("DOWN STA: STA-core-a"), "{line}");
    assert!(!out.text.contains("ERROR"), "{}", out.text);
}

#[test]
fn a_bus_that_is_not_there_is_logged_never_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let address = format!("unix:path={}", dir.path().join("no-bus").display());
    let out = run_sender("dead-bus", Some(&address));
    assert!(out.ok, "{}", out.text);
    assert!(
        out.text.contains("desktop notification not delivered"),
        "{}",
        out.text
    );
    assert!(!out.text.contains("ERROR"), "{}", out.text);
}

fn notice(venue: &str, subject: &str, n: usize) -> Notice {
    Notice {
        at: SystemTime::now(),
        kind: NoticeKind::NewDown,
        incident_id: n.to_string(),
        key: format!("device-down:{subject}"),
        venue: venue.to_owned(),
        subject: subject.to_owned(),
        severity: "critical".to_owned(),
        title: format!("{subject} down: no answer"),
    }
}

/// The sending side, run by the tests above in a child process with
/// `DBUS_SESSION_BUS_ADDRESS` and `TOC_NOTIFY_PLAN` set.
#[test]
#[ignore = "run by the other tests of this file in a child process"]
fn sender() {
    let plan = std::env::var("TOC_NOTIFY_PLAN").expect("TOC_NOTIFY_PLAN is set by the parent");
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .init();
    let notifier = Notifier::start(NotifyConfig {
        storm: StormRules {
            window: Duration::from_millis(500),
            ..StormRules::default()
        },
        ..NotifyConfig::default()
    })
    .expect("notifier starts");
    match plan.as_str() {
        "down" | "no-bus" | "dead-bus" => notifier.notice(notice("STA", "STA-core-a", 1)),
        "storm" => {
            for i in 0..100 {
                let venue = format!("V{:02}", i % 20);
                notifier.notice(notice(&venue, &format!("{venue}-dev-{i}"), i));
            }
        }
        other => panic!("unknown plan {other}"),
    }
    let start = Instant::now();
    let done =
        |s: &toc::notify::StatsSnapshot| s.desktop_sent + s.desktop_failed + s.desktop_logged;
    while done(&notifier.stats()) == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "nothing sent: {:?}",
            notifier.stats()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let stats = notifier.stats();
    notifier.shutdown();
    let want = match plan.as_str() {
        "no-bus" => (0, 0, 1, 1),
        "dead-bus" => (0, 1, 0, 1),
        _ => (1, 0, 0, 1),
    };
    assert_eq!(
        (
            stats.desktop_sent,
            stats.desktop_failed,
            stats.desktop_logged,
            stats.notifications
        ),
        want,
        "{stats:?}"
    );
}
