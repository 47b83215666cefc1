//! `toc demo` end to end in a real terminal: tmux runs it in a 100x30
//! pane, keystrokes inject faults, and the captured pane must show the
//! venue's tile turning DEGRADED, then DOWN; `q` must leave the terminal
//! as it was.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A tmux server of our own (its own socket), killed on drop.
struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    /// A 100x30 session `toc` running `sh -c script`, on a server of its
    /// own whose socket lives in `dir`.
    fn start(dir: &Path, script: &str) -> Tmux {
        let tmux = Tmux {
            socket: dir.join("tmux.sock"),
        };
        let out = tmux.cmd(&[
            "new-session",
            "-d",
            "-s",
            "toc",
            "-x",
            "100",
            "-y",
            "30",
            "sh",
            "-c",
            script,
        ]);
        assert!(out.status.success(), "tmux new-session: {out:?}");
        tmux
    }

    fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs")
    }

    fn capture(&self) -> String {
        let out = self.cmd(&["capture-pane", "-p", "-t", "toc"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn display(&self, format: &str) -> String {
        let out = self.cmd(&["display-message", "-p", "-t", "toc", format]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Types `text` (literally), then presses Enter when asked.
    fn keys(&self, text: &str, enter: bool) {
        self.cmd(&["send-keys", "-t", "toc", "-l", text]);
        if enter {
            self.cmd(&["send-keys", "-t", "toc", "Enter"]);
        }
    }

    fn key(&self, name: &str) {
        self.cmd(&["send-keys", "-t", "toc", name]);
    }

    /// Polls the pane until `pred` holds; panics with the pane after
    /// `limit`. Returns how long it took.
    fn wait(&self, limit: Duration, what: &str, pred: impl Fn(&str) -> bool) -> Duration {
        let t0 = Instant::now();
        loop {
            let pane = self.capture();
            if pred(&pane) {
                return t0.elapsed();
            }
            assert!(
                t0.elapsed() < limit,
                "not within {limit:?}: {what}\n--- pane ---\n{pane}------------"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

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
    let dir = tempfile::tempdir().unwrap();
    let venues = copy_venues(dir.path());
    let bin = env!("CARGO_BIN_EXE_toc");
    // The shell reports how toc exited and what the terminal modes are
    // afterwards, then waits so the pane can be read.
    let script = format!(
        "TERM=xterm-256color '{bin}' demo '{}' --interval {INTERVAL_MS}ms --timeout {TIMEOUT_MS}ms; \
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
    tmux.keys("/venue:STA", true);
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
    tmux.keys(":fault STA-core-a down", true);
    let orange = tmux.wait(bound, "STA DEGRADED", |p| tile_says(p, "STA", "▲ DEGRADED"));
    // Lose the other one: red.
    tmux.keys(":fault STA-core-b down", true);
    let red = tmux.wait(bound, "STA DOWN", |p| tile_says(p, "STA", "✖ DOWN"));
    eprintln!("orange after {orange:?}, red after {red:?} (bound {bound:?})");

    tmux.key("Escape");
    tmux.key("q");
    let pane = {
        tmux.wait(Duration::from_secs(10), "toc exits", |p| {
            p.contains("toc exited")
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
    tmux.wait(Duration::from_secs(10), "toc exits", |p| {
        p.contains("toc exited")
    });
    let pane = tmux.capture();
    assert!(pane.contains("toc exited 0"), "{pane}");
    assert!(
        pane.contains("icanon") && !pane.contains("-icanon"),
        "canonical mode restored: {pane}"
    );
    assert_eq!(tmux.display("#{alternate_on}"), "0");
}
