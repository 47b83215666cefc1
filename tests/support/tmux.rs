//! A tmux server of a test's own, to run `toc` in a real terminal and
//! read what it shows.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The tests of one binary one at a time: each runs a whole demo (and
/// some measure detection times).
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Holds the binary's tmux tests apart until dropped.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A tmux server with its own socket (in the test's folder), killed on
/// drop; one session `toc` of 100x30 running `sh -c script`.
#[derive(Debug)]
pub struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    pub fn start(dir: &Path, script: &str) -> Tmux {
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

    pub fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs")
    }

    /// The pane's bytes as tmux holds them (`capture-pane -p`), with the
    /// colours and attributes as escape sequences too when `escapes`
    /// (`-e`).
    pub fn capture_bytes(&self, escapes: bool) -> Vec<u8> {
        let mut args = vec!["capture-pane", "-p", "-t", "toc"];
        if escapes {
            args.push("-e");
        }
        self.cmd(&args).stdout
    }

    pub fn capture(&self) -> String {
        String::from_utf8_lossy(&self.capture_bytes(false)).into_owned()
    }

    /// Types `text` literally.
    pub fn keys(&self, text: &str) {
        self.cmd(&["send-keys", "-t", "toc", "-l", text]);
    }

    /// Presses a named key (`Enter`, `Escape`).
    pub fn key(&self, name: &str) {
        self.cmd(&["send-keys", "-t", "toc", name]);
    }

    /// A tmux format of the pane (`#{alternate_on}`, `#{pane_tty}`).
    pub fn display(&self, format: &str) -> String {
        let out = self.cmd(&["display-message", "-p", "-t", "toc", format]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// As [`Tmux::wait`], and says how long it took.
    pub fn wait_timed(&self, limit: Duration, what: &str, pred: impl Fn(&str) -> bool) -> Duration {
        let t0 = Instant::now();
        self.wait(limit, what, pred);
        t0.elapsed()
    }

    /// Polls the pane until `pred` holds; panics with the pane after
    /// `limit`.
    pub fn wait(&self, limit: Duration, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let t0 = Instant::now();
        loop {
            let pane = self.capture();
            if pred(&pane) {
                return pane;
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
