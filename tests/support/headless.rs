//! `toc demo --no-console` as a child process: commands on its standard
//! input, one answer line each (docs/headless.md).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

/// The child and its answers, line by line.
pub struct Demo {
    pub child: Child,
    pub stdin: ChildStdin,
    pub lines: Receiver<String>,
}

impl Demo {
    /// Starts `toc demo FILE --no-console` with `args` (interval, timeout)
    /// as the user dana, and waits for `ready`.
    pub fn start(venues: &Path, args: &[&str]) -> Demo {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_toc"));
        cmd.arg("demo")
            .arg(venues)
            .arg("--no-console")
            .args(args)
            .env("USER", "dana");
        Demo::spawn(cmd)
    }

    /// Runs `cmd` (a `toc demo --no-console`) with its input and output
    /// piped, and waits for `ready`.
    pub fn spawn(mut cmd: Command) -> Demo {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("toc demo starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut demo = Demo {
            child,
            stdin,
            lines,
        };
        assert_eq!(demo.next(Duration::from_secs(60)), "ready");
        demo
    }

    /// The next answer line.
    pub fn next(&mut self, within: Duration) -> String {
        self.lines
            .recv_timeout(within)
            .unwrap_or_else(|e| panic!("toc demo answers within {within:?}: {e}"))
    }

    /// Writes one line.
    pub fn write(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("write a command");
        self.stdin.flush().expect("flush");
    }

    /// Writes `line` and reads its answer.
    pub fn ask(&mut self, line: &str) -> String {
        self.write(line);
        self.next(Duration::from_secs(20))
    }
}
