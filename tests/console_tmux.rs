//! `toc demo` end to end in a real terminal: tmux runs it in a 100x30
//! pane, keystrokes inject faults, and the captured pane must show the
//! venue's tile turning DEGRADED, then DOWN; `q` must leave the terminal
//! as it was.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::tmux::{Tmux, serial};

/// The rows of the pane (status bar excluded) that show the tile of
/// venue `code`.
fn tile_rows<'a>(pane: &'a str, code: &str) -> Vec<&'a str> {
    pane.lines()
        .skip(1)
        .filter(|l| l.split(|c: char| !c.is_alphanumeric()).any(|w| w == code))
        .collect()
}

/// Whether the tile of `code`, filtered to be the first of its row (the
/// ticker below names devices like `STA-core-a`, so only a row that
/// starts with the code is the tile), shows `word`.
fn tile_says(pane: &str, code: &str, word: &str) -> bool {
    let prefix = format!("{code} ");
    pane.lines()
        .skip(1)
        .filter(|l| l.trim_start().starts_with(&prefix))
        .any(|l| l.contains(word))
}

fn copy_venues(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("venues.toml");
    let dst = dir.join("venues.toml");
    std::fs::copy(src, &dst).expect("copy venues.toml");
    dst
}

#[test]
fn demo_in_tmux_shows_the_wall_turns_a_venue_orange_then_red_and_quits_clean() {
    const INTERVAL_MS: u64 = 1000;
    const TIMEOUT_MS: u64 = 200;
    if !support::have("tmux") {
        return;
    }
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let venues = copy_venues(dir.path());
    let bin = env!("CARGO_BIN_EXE_toc");
    // The shell reports how toc exited and what the terminal modes are
    // afterwards, then waits so the pane can be read.
    let script = format!(
        "LC_ALL=C.UTF-8 TERM=xterm-256color '{bin}' demo '{}' --interval {INTERVAL_MS}ms --timeout {TIMEOUT_MS}ms; \
         echo \"toc exited $?\"; stty -a | tr ' ;' '\\n\\n' | grep -x -e -icanon -e icanon -e -echo -e echo | tr '\\n' ' '; echo; sleep 600",
        venues.display()
    );
    let tmux = Tmux::start(dir.path(), &script);

    // The wall, with venue codes, comes up and goes green.
    tmux.wait(Duration::from_secs(30), "the wall with venue codes", |p| {
        ["STA", "AQC", "BCY", "VSM", "TEA"]
            .iter()
            .all(|c| !tile_rows(p, c).is_empty())
    });
    assert_eq!(
        tmux.display("#{alternate_on}"),
        "1",
        "draws on the alternate screen"
    );
    assert_eq!(
        tmux.display("#{mouse_any_flag}"),
        "0",
        "mouse is off by default"
    );

    // Only STA on the wall, so its tile alone is read.
    tmux.keys("/venue:STA");
    tmux.key("Enter");
    tmux.wait(Duration::from_secs(5), "filter applied", |p| {
        tile_rows(p, "AQC").is_empty() && tile_says(p, "STA", "STA")
    });
    tmux.wait(Duration::from_secs(30), "STA tile OK", |p| {
        tile_says(p, "STA", "✔ OK")
    });

    // Lose one core switch: orange. Bound: two poll intervals plus the
    // soft-to-hard attempts, each at most an interval plus its timeouts
    // (timeout x (retries + 1), retries = 1 in venues.toml).
    let attempts = 3u64;
    let bound = Duration::from_millis(2 * INTERVAL_MS + attempts * (INTERVAL_MS + 2 * TIMEOUT_MS));
    tmux.keys(":fault STA-core-a down");
    tmux.key("Enter");
    let orange = tmux.wait_timed(bound, "STA DEGRADED", |p| tile_says(p, "STA", "▲ DEGRADED"));
    // Lose the other one: red.
    tmux.keys(":fault STA-core-b down");
    tmux.key("Enter");
    let red = tmux.wait_timed(bound, "STA DOWN", |p| tile_says(p, "STA", "✖ DOWN"));
    eprintln!("orange after {orange:?}, red after {red:?} (bound {bound:?})");

    // Escape clears the filter; `q` only once that shows, so the two keys
    // never reach toc in one read (ESC then q in one read is Alt-q).
    tmux.key("Escape");
    tmux.wait(Duration::from_secs(10), "filter cleared", |p| {
        !tile_rows(p, "AQC").is_empty()
    });
    tmux.key("q");
    let pane = {
        tmux.wait(Duration::from_secs(10), "toc exits", |p| {
            p.contains("toc exited") && p.contains("echo")
        });
        tmux.capture()
    };
    assert!(pane.contains("toc exited 0"), "{pane}");
    assert!(
        pane.contains("icanon") && !pane.contains("-icanon"),
        "canonical mode restored: {pane}"
    );
    assert!(
        pane.contains("echo") && !pane.contains("-echo"),
        "echo restored: {pane}"
    );
    assert!(
        tile_rows(&pane, "STA").is_empty(),
        "the wall is gone: {pane}"
    );
    assert_eq!(
        tmux.display("#{alternate_on}"),
        "0",
        "back on the main screen"
    );
    assert_eq!(tmux.display("#{cursor_flag}"), "1", "cursor visible");
    let log = std::fs::read_to_string(dir.path().join("toc-data/toc.log")).expect("log file");
    assert!(log.contains("toc demo started"), "{log}");
    assert!(
        log.contains("STA-core-a: down"),
        "the command is in the log: {log}"
    );
}

#[test]
fn sigterm_restores_the_terminal() {
    if !support::have("tmux") {
        return;
    }
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let venues = copy_venues(dir.path());
    let bin = env!("CARGO_BIN_EXE_toc");
    let script = format!(
        "sh -c 'echo $$ > {}; exec {bin} demo {}'; echo \"toc exited $?\"; stty -a | tr ' ;' '\\n\\n' | grep -x -e -icanon -e icanon | tr '\\n' ' '; echo; sleep 600",
        dir.path().join("pid").display(),
        venues.display()
    );
    let tmux = Tmux::start(dir.path(), &script);
    tmux.wait(Duration::from_secs(30), "the wall", |p| {
        !tile_rows(p, "STA").is_empty()
    });
    let pid = std::fs::read_to_string(dir.path().join("pid")).unwrap();
    let kill = Command::new("kill")
        .args(["-TERM", pid.trim()])
        .status()
        .unwrap();
    assert!(kill.success());
    // The shell prints the modes a moment after the exit status.
    tmux.wait(Duration::from_secs(10), "toc exits", |p| {
        p.contains("toc exited") && p.contains("canon")
    });
    let pane = tmux.capture();
    assert!(pane.contains("toc exited 143"), "128 + SIGTERM: {pane}");
    assert!(
        pane.contains("icanon") && !pane.contains("-icanon"),
        "canonical mode restored: {pane}"
    );
    assert_eq!(tmux.display("#{alternate_on}"), "0");
}

/// Sends SIGCONT to a stopped tmux server when dropped, so a failing test
/// never leaves it stopped (nor `kill-server` waiting on it).
struct Stopped(String);

impl Stopped {
    fn stop(pid: &str) -> Stopped {
        signal("STOP", pid);
        Stopped(pid.to_owned())
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        signal("CONT", &self.0);
    }
}

fn signal(name: &str, pid: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{name}"), pid])
        .status()
        .expect("kill runs");
    assert!(ok.success(), "kill -{name} {pid}");
}

fn read_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("toc-data/toc.log")).unwrap_or_default()
}

/// The simulator's control API, as the log names it.
fn control_addr(log: &str) -> Option<String> {
    let at = log.find("control API http://")? + "control API http://".len();
    let rest = &log[at..];
    Some(rest[..rest.find(char::is_whitespace)?].to_owned())
}

/// `POST /faults` with a plain HTTP/1.1 request; returns the answer.
fn post_fault(addr: &str, target: &str, fault: &str) -> String {
    use std::io::{Read, Write};
    let body = format!("{{\"target\":\"{target}\",\"fault\":\"{fault}\"}}");
    let mut conn = std::net::TcpStream::connect(addr).expect("control API");
    write!(
        conn,
        "POST /faults HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    answer
}

/// When the engine judged `id` DOWN, from its event in the log
/// (`engine event at <time>: device <id>: OK -> DOWN`).
fn down_at(log: &str, id: &str) -> Option<std::time::SystemTime> {
    let what = format!(": device {id}: ");
    log.lines()
        .filter(|l| l.contains(&what) && l.contains("-> DOWN"))
        .find_map(|l| {
            let at = l.split("engine event at ").nth(1)?;
            let at = &at[..at.find(": ")?];
            humantime::parse_rfc3339(at).ok()
        })
}

/// Fills the pane's pty with NUL bytes (which a terminal ignores) until
/// the kernel has no room left, without blocking ourselves. With tmux
/// stopped nothing drains it: the next write of toc blocks.
fn fill_pty(tty: &str) -> usize {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    const O_NONBLOCK: i32 = 0o4000;
    const O_NOCTTY: i32 = 0o400;
    let mut pty = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(O_NONBLOCK | O_NOCTTY)
        .open(tty)
        .expect("open the pane's tty");
    let zeros = [0u8; 4096];
    let mut total = 0;
    // Large writes first, then smaller ones: the kernel refuses a write
    // it has no whole buffer for, yet takes small ones into the space left
    // in its last buffer, as it would take toc's next frame. Again after
    // a pause, until nothing more goes in: the kernel moves what it holds
    // to the reading side's line discipline in the background.
    loop {
        let mut round = 0;
        for size in [4096, 256, 16, 1] {
            loop {
                match pty.write(&zeros[..size]) {
                    Ok(n) => round += n,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => panic!("filling {tty}: {e}"),
                }
            }
        }
        total += round;
        if round == 0 {
            return total;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The `/proc` folders of toc's console thread, and of the threads it
/// started (crossterm's input reader inherits its name).
fn console_thread(pid: &str) -> Vec<PathBuf> {
    let tasks = Path::new("/proc").join(pid).join("task");
    let found: Vec<PathBuf> = std::fs::read_dir(&tasks)
        .expect("toc runs")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|t| {
            std::fs::read_to_string(t.join("comm")).is_ok_and(|c| c.trim() == "toc-console")
        })
        .collect();
    assert!(!found.is_empty(), "a thread named toc-console");
    found
}

/// Whether one of the threads sleeps in the `write` system call on fd 1
/// (stdout), and what `/proc` says of it (state, wchan, syscall).
fn blocked_in_write(tasks: &[PathBuf]) -> (bool, String) {
    let mut seen = Vec::new();
    for task in tasks {
        let (blocked, what) = task_in_write(task);
        if blocked {
            return (true, what);
        }
        seen.push(what);
    }
    (false, seen.join("; "))
}

fn task_in_write(task: &Path) -> (bool, String) {
    #[cfg(target_arch = "x86_64")]
    const WRITE: &str = "1";
    #[cfg(target_arch = "aarch64")]
    const WRITE: &str = "64";
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    const WRITE: &str = "?";
    let stat = std::fs::read_to_string(task.join("stat")).unwrap_or_default();
    let state = stat
        .rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next())
        .unwrap_or('?');
    let wchan = std::fs::read_to_string(task.join("wchan")).unwrap_or_default();
    let syscall = std::fs::read_to_string(task.join("syscall")).unwrap_or_default();
    let mut fields = syscall.split_whitespace();
    let (nr, fd) = (fields.next(), fields.next());
    let blocked = state == 'S' && nr == Some(WRITE) && fd == Some("0x1");
    (
        blocked,
        format!("state {state}, wchan {wchan}, syscall {}", syscall.trim()),
    )
}

/// Waits until toc's console thread sleeps in `write`; returns what
/// `/proc` said.
fn wait_blocked(task: &[PathBuf], limit: Duration) -> String {
    let t0 = Instant::now();
    loop {
        let (blocked, seen) = blocked_in_write(task);
        if blocked {
            return seen;
        }
        assert!(
            t0.elapsed() < limit,
            "the console thread is not blocked in write: {seen}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A demo of the small inventory (2 venues) with a 200 ms interval and
/// 100 ms timeout; returns toc's pid.
fn start_demo(dir: &Path) -> (Tmux, String) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/venues-small.toml");
    let venues = dir.join("venues.toml");
    std::fs::copy(src, &venues).expect("copy venues-small.toml");
    let bin = env!("CARGO_BIN_EXE_toc");
    // The v3 profile reads its passphrases from the environment.
    let script = format!(
        "sh -c 'echo $$ > {}; TERM=xterm-256color TOC_SNMP_AUTH=stall-test-auth TOC_SNMP_PRIV=stall-test-priv exec {bin} demo {} --interval 200ms --timeout 100ms'; s=$?; echo $s > {}; echo \"toc exited $s\"; sleep 600",
        dir.join("pid").display(),
        venues.display(),
        dir.join("status").display()
    );
    let tmux = Tmux::start(dir, &script);
    tmux.wait(Duration::from_secs(30), "the wall", |p| {
        !tile_rows(p, "STA").is_empty()
    });
    let pid = std::fs::read_to_string(dir.join("pid")).unwrap();
    (tmux, pid.trim().to_owned())
}

/// tmux stopped for 10 s: nothing reads toc's terminal, and toc's console
/// thread blocks in `write` (checked in `/proc`). Meanwhile faults set
/// through the simulator's control API are judged DOWN by the engine
/// within interval x `max_attempts` + 100 ms (times from the engine's events
/// in toc.log). Resumed, the console catches up and shows them.
#[test]
fn a_terminal_that_stops_reading_delays_neither_polling_nor_the_engine() {
    const INTERVAL_MS: u64 = 200;
    const ATTEMPTS: u64 = 3; // max_attempts in venues-small.toml
    if !support::have("tmux") {
        return;
    }
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (tmux, pid) = start_demo(dir.path());
    tmux.keys("/venue:STA");
    tmux.key("Enter");
    tmux.wait(Duration::from_secs(30), "STA tile OK", |p| {
        tile_rows(p, "MRN").is_empty() && tile_says(p, "STA", "✔ OK")
    });
    let addr = control_addr(&read_log(dir.path())).expect("the control API in the log");
    let server = tmux.display("#{pid}");
    let tty = tmux.display("#{pane_tty}");
    let task = console_thread(&pid);

    let stalled = Instant::now();
    let stopped = Stopped::stop(&server);
    let filled = fill_pty(&tty);
    let seen = wait_blocked(&task, Duration::from_secs(5));
    eprintln!("tmux stopped, {filled} bytes filled the pty; console thread: {seen}");

    let bound = Duration::from_millis(INTERVAL_MS * ATTEMPTS + 100);
    let mut injected = Vec::new();
    for id in ["STA-core", "MRN-core"] {
        let at = std::time::SystemTime::now();
        post_fault(&addr, id, "if-down");
        injected.push((id, at));
    }
    let t0 = Instant::now();
    let log = loop {
        let log = read_log(dir.path());
        if injected.iter().all(|(id, _)| down_at(&log, id).is_some()) {
            break log;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "no DOWN events in the log:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let took: Vec<(&str, Duration)> = injected
        .iter()
        .map(|(id, at)| {
            let down = down_at(&log, id).unwrap();
            (*id, down.duration_since(*at).unwrap_or_default())
        })
        .collect();
    let (still, seen) = blocked_in_write(&task);
    assert!(
        still,
        "the console thread is still blocked in write: {seen}"
    );
    eprintln!("terminal stalled; fault to DOWN (engine event time), bound {bound:?}: {took:?}");
    for (id, t) in &took {
        assert!(
            *t <= bound,
            "{id}: fault to DOWN took {t:?} while the terminal stalled, bound {bound:?}"
        );
    }

    // The rest of the 10 s, then tmux reads again.
    std::thread::sleep(Duration::from_secs(10).saturating_sub(stalled.elapsed()));
    let (still, seen) = blocked_in_write(&task);
    assert!(still, "blocked for the whole stall: {seen}");
    drop(stopped);
    let caught_up = tmux.wait_timed(Duration::from_secs(60), "STA DOWN after the stall", |p| {
        tile_says(p, "STA", "✖ DOWN")
    });
    let log = read_log(dir.path());
    let slow = log
        .lines()
        .find(|l| l.contains("console: a frame took"))
        .expect("the console logged its slow frame");
    eprintln!("caught up {caught_up:?} after SIGCONT; log: {slow}");

    tmux.key("Escape");
    tmux.wait(Duration::from_secs(10), "filter cleared", |p| {
        !tile_rows(p, "MRN").is_empty()
    });
    tmux.key("q");
    tmux.wait(Duration::from_secs(10), "toc exits", |p| {
        p.contains("toc exited")
    });
    assert!(tmux.capture().contains("toc exited 0"));
}

/// SIGTERM while the console thread is blocked on a terminal that does
/// not read: toc still exits, after a bounded wait.
#[test]
fn sigterm_with_a_stalled_terminal_exits_after_a_bounded_wait() {
    if !support::have("tmux") {
        return;
    }
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (tmux, pid) = start_demo(dir.path());
    let server = tmux.display("#{pid}");
    let tty = tmux.display("#{pane_tty}");
    let task = console_thread(&pid);
    let stopped = Stopped::stop(&server);
    fill_pty(&tty);
    wait_blocked(&task, Duration::from_secs(5));
    let t0 = Instant::now();
    signal("TERM", &pid);
    let proc_dir = Path::new("/proc").join(&pid);
    let gone = |p: &Path| {
        std::fs::read_to_string(p.join("stat")).map_or(true, |s| {
            s.rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z'))
        })
    };
    while !gone(&proc_dir) {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "toc still runs {:?} after SIGTERM",
            t0.elapsed()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let took = t0.elapsed();
    eprintln!("exited {took:?} after SIGTERM with the console blocked");
    drop(stopped);
    // The terminal was left on the alternate screen, so the shell's line
    // lands anywhere on the last wall: read the exit status from a file.
    let status = dir.path().join("status");
    let t0 = Instant::now();
    while !std::fs::read_to_string(&status).is_ok_and(|s| s.ends_with('\n')) {
        assert!(t0.elapsed() < Duration::from_secs(10), "no exit status");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        std::fs::read_to_string(&status).unwrap().trim(),
        "143",
        "128 + SIGTERM"
    );
    let log = read_log(dir.path());
    assert!(log.contains("did not stop within"), "{log}");
}
