//! The server under test: the real `toc demo --no-console` (release
//! build) on a synthetic Games written to a file with the demo's own
//! generator (`toc::sim::synth::games`) plus an `[api]` section: TCP on
//! 127.0.0.1:0 and a Unix socket in the bench's folder. Its standard input
//! stays open: faults go there as headless commands.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

/// A `toc demo --no-console` child in a folder of its own.
pub struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    /// The API's Unix socket.
    pub socket: PathBuf,
    /// The demo's pid.
    pub pid: u32,
}

impl Server {
    /// Writes the Games in `dir` and starts the demo; returns once it
    /// printed `ready` and its socket exists.
    pub fn start(dir: &Path, venues: usize, devices: usize, quick: bool) -> Result<Server, String> {
        let mut text = toc::sim::synth::games(venues, devices);
        text.push_str("\n[api]\nlisten = \"127.0.0.1:0\"\nsocket = \"toc-data/toc.sock\"\n");
        let file = dir.join("venues.toml");
        std::fs::write(&file, text).map_err(|e| format!("{}: {e}", file.display()))?;
        let bin =
            std::env::var("TOC_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_toc").to_owned());
        let mut cmd = Command::new(bin);
        cmd.arg("demo").arg(&file).arg("--no-console");
        if quick {
            // Every device each second: incidents open within seconds.
            cmd.args(["--interval", "1s"]);
        }
        let mut child = cmd
            .env_remove("TERM")
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("toc demo: {e}"))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let pid = child.id();
        let mut server = Server {
            child,
            stdin,
            lines,
            socket: dir.join("toc-data").join("toc.sock"),
            pid,
        };
        let first = server.next(Duration::from_secs(180))?;
        if first != "ready" {
            return Err(format!("toc demo said {first:?} before ready"));
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while !server.socket.exists() {
            if Instant::now() > deadline {
                return Err(format!(
                    "no API socket at {} (see toc-data/toc.log)",
                    server.socket.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }

    /// The next line the demo prints.
    pub fn next(&mut self, within: Duration) -> Result<String, String> {
        self.lines
            .recv_timeout(within)
            .map_err(|e| format!("toc demo answers within {within:?}: {e}"))
    }

    /// One headless command; its answer (`applied: …`), or the refusal
    /// as an error.
    pub fn command(&mut self, line: &str) -> Result<String, String> {
        let stdin = self.stdin.as_mut().ok_or("the demo's input is closed")?;
        writeln!(stdin, "{line}").map_err(|e| format!("{line}: {e}"))?;
        stdin.flush().map_err(|e| format!("{line}: {e}"))?;
        let answer = self.next(Duration::from_secs(30))?;
        if answer.starts_with("applied") {
            Ok(answer)
        } else {
            Err(format!("{line}: {answer}"))
        }
    }

    /// CPU seconds the demo has used.
    pub fn cpu_seconds(&self) -> Result<f64, String> {
        crate::proc_stat::cpu(Some(self.pid)).ok_or_else(|| "toc demo is gone".to_owned())
    }

    /// (`VmRSS`, `VmHWM`) in KiB.
    pub fn memory_kib(&self) -> Result<(u64, u64), String> {
        crate::proc_stat::memory_kib(self.pid).ok_or_else(|| "toc demo is gone".to_owned())
    }

    /// Ends the demo (the end of its input), killing it after 30 s.
    pub fn stop(&mut self) {
        self.stdin.take();
        let deadline = Instant::now() + Duration::from_secs(30);
        while matches!(self.child.try_wait(), Ok(None)) {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}
