//! The real `toc demo` in a tmux pane, for the benches that measure the
//! binary as an operator runs it (`demo`, `soak`): start it in a folder
//! of its own, find its pid and its simulator's control API, read its
//! memory, inject and clear faults, stop it. Each bench binary includes
//! this file (`#[path = "support/demo.rs"] mod demo;`) beside
//! `support/proc.rs` (as `proc_stat`).
#![allow(dead_code)] // each bench uses what it needs

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Whether tmux can be run here.
pub fn tmux_installed() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A `toc demo` running in a detached tmux session (160x48) on a tmux
/// server of its own. Dropping it quits the console and removes its
/// folder.
pub struct Demo {
    dir: PathBuf,
    socket: PathBuf,
    /// The `toc demo` process.
    pub pid: u32,
}

impl Demo {
    /// Starts `toc demo ARGS` in a fresh folder named after `name`; its
    /// data folder (and `toc.log`) is `toc-data` there.
    pub fn start(name: &str, args: &str) -> Result<Demo, String> {
        let dir = std::env::temp_dir().join(format!("toc-{name}-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let socket = dir.join("tmux.sock");
        // TOC_BENCH_BIN runs another build (an earlier step's, say) under
        // the same bench, for a comparison in the same run.
        let bin =
            std::env::var("TOC_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_toc").to_owned());
        let cmd = format!("cd '{}' && exec '{bin}' demo {args}", dir.display());
        let mut demo = Demo {
            dir,
            socket,
            pid: 0,
        };
        let out = demo.tmux(&[
            "new-session",
            "-d",
            "-s",
            "bench",
            "-x",
            "160",
            "-y",
            "48",
            "sh",
            "-c",
            &cmd,
        ])?;
        if !out.status.success() {
            return Err(format!("tmux new-session: {out:?}"));
        }
        let out = demo.tmux(&["display-message", "-p", "-t", "bench", "#{pane_pid}"])?;
        demo.pid = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(|e| format!("pane pid: {e}"))?;
        // A bench stopped by a signal never runs `Drop`: a watchdog of
        // its own stops the tmux server (and the demo) once the bench is
        // gone.
        let watchdog = format!(
            "while kill -0 {} 2>/dev/null; do sleep 1; done; tmux -S '{}' kill-server 2>/dev/null",
            std::process::id(),
            demo.socket.display()
        );
        Command::new("setsid")
            .args(["sh", "-c", &watchdog])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("watchdog: {e}"))?;
        Ok(demo)
    }

    fn tmux(&self, args: &[&str]) -> Result<Output, String> {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .map_err(|e| format!("tmux: {e}"))
    }

    /// The pane's text now.
    pub fn pane(&self) -> Result<String, String> {
        let out = self.tmux(&["capture-pane", "-p", "-t", "bench"])?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Waits until the first poll cycle is in (some tile OK, none
    /// UNKNOWN); returns how long that took.
    pub fn wait_wall(&self, limit: Duration) -> Result<Duration, String> {
        let t0 = Instant::now();
        loop {
            let text = self.pane()?;
            if text.contains("OK") && !text.contains("UNKNOWN") {
                return Ok(t0.elapsed());
            }
            if t0.elapsed() > limit {
                return Err(format!("the wall did not come up:\n{text}"));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The simulator's control API, from the line `toc.log` has for it.
    pub fn control_api(&self, limit: Duration) -> Result<SocketAddr, String> {
        let log = self.dir.join("toc-data").join("toc.log");
        let t0 = Instant::now();
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(addr) = text
                .split("control API http://")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|a| a.parse().ok())
            {
                return Ok(addr);
            }
            if t0.elapsed() > limit {
                return Err(format!("no control API in {}", log.display()));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// CPU seconds the demo has used so far.
    pub fn cpu_seconds(&self) -> Result<f64, String> {
        crate::proc_stat::cpu(Some(self.pid)).ok_or_else(|| "toc is gone".to_owned())
    }

    /// (`VmHWM`, `VmRSS`) in KiB: peak and current resident memory.
    pub fn memory_kib(&self) -> Result<(u64, u64), String> {
        let (rss, hwm) = crate::proc_stat::memory_kib(self.pid).ok_or("toc is gone")?;
        Ok((hwm, rss))
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.tmux(&["send-keys", "-t", "bench", "q"]);
        std::thread::sleep(Duration::from_millis(500));
        let _ = self.tmux(&["kill-server"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One HTTP/1.1 request to the control API (`Connection: close`);
/// returns the status code and the body.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    json: Option<&str>,
) -> Result<(u16, String), String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("connect {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let body = json.unwrap_or("");
    let head = if json.is_some() {
        "Content-Type: application/json\r\n"
    } else {
        ""
    };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{head}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| format!("{method} {path}: {e}"))?;
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .map_err(|e| format!("{method} {path}: {e}"))?;
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{method} {path}: no status line in {text:?}"))?;
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    Ok((status, body))
}
