//! `toc demo --no-console` and `toc run --no-console`: commands on
//! standard input, one answer line each on standard output, `ready`
//! first; the end of the input or SIGTERM shuts down cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_toc");

/// A small venues file in `dir` (a demo never uses its fixed ports).
fn fixture(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/base.toml");
    let dst = dir.join("venues.toml");
    std::fs::copy(src, &dst).unwrap();
    dst
}

fn spawn(args: &[&str], file: &Path) -> (Child, Receiver<String>) {
    let mut child = Command::new(BIN)
        .args(args)
        .arg(file)
        .arg("--no-console")
        .env("USER", "dana")
        .env_remove("TERM")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("toc starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

fn next(lines: &Receiver<String>) -> String {
    lines
        .recv_timeout(Duration::from_secs(30))
        .expect("an answer line")
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("toc did not exit within 20 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn demo_answers_each_line_in_order_and_ends_with_its_input() {
    let dir = tempfile::tempdir().unwrap();
    let file = fixture(dir.path());
    // No terminal at all (TERM unset, pipes): the console would refuse.
    let (mut child, lines) = spawn(&["demo"], &file);
    assert_eq!(next(&lines), "ready");
    let mut stdin = child.stdin.take().unwrap();
    let input = "venue STA\n\n# a comment\n:fault sta-core-a down\nhelp\nfrobnicate\ncheck STA\nnote 9-9 nothing\nnote\n";
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin); // the end of the input
    let answers: Vec<String> = (0..7).map(|_| next(&lines)).collect();
    assert_eq!(answers[0], "refused: not a command here");
    // The console's parser and its ids as the inventory writes them.
    assert_eq!(answers[1], "applied: STA-core-a: down");
    assert_eq!(answers[2], "refused: not a command here");
    assert!(
        answers[3].starts_with("refused: unknown command `frobnicate`"),
        "{}",
        answers[3]
    );
    assert_eq!(answers[4], "applied: STA: checking 4 devices now");
    assert_eq!(answers[5], "refused: no open incident 9-9");
    assert_eq!(answers[6], "refused: usage: :note INCIDENT TEXT");
    let status = wait_exit(&mut child);
    assert_eq!(status.code(), Some(0), "the end of the input: exit 0");
    assert!(
        lines.recv_timeout(Duration::from_secs(1)).is_err(),
        "one line per command, nothing more"
    );
    // Shut down cleanly: the demo's published addresses withdrawn, the
    // engine's audit kept.
    let data = dir.path().join("toc-data");
    assert!(!data.join("demo-addresses.json").exists());
    let audit = std::fs::read_to_string(data.join("audit.log")).unwrap();
    assert!(audit.contains("fault STA-core-a down"), "{audit}");
    assert!(audit.contains("dana"), "as the console's identity: {audit}");
}

#[test]
fn demo_stops_cleanly_on_sigterm_and_sigint() {
    for (signal, number) in [("TERM", 15), ("INT", 2)] {
        let dir = tempfile::tempdir().unwrap();
        let file = fixture(dir.path());
        let (mut child, lines) = spawn(&["demo"], &file);
        assert_eq!(next(&lines), "ready");
        let data = dir.path().join("toc-data");
        assert!(data.join("demo-addresses.json").exists(), "published");
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let status = wait_exit(&mut child);
        assert_eq!(
            status.code(),
            Some(128 + number),
            "SIG{signal}: as the console, 128 + its number"
        );
        assert!(
            !data.join("demo-addresses.json").exists(),
            "SIG{signal}: withdrawn on the way out"
        );
        let log = std::fs::read_to_string(data.join("toc.log")).unwrap();
        assert!(log.contains("signal received"), "{log}");
        assert!(log.contains("toc demo stopped"), "{log}");
    }
}

#[test]
fn run_has_no_simulator_to_fault() {
    let dir = tempfile::tempdir().unwrap();
    // One TCP device, listening on a port the system gave the test.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let file = dir.path().join("venues.toml");
    std::fs::write(
        &file,
        format!(
            "[event]\nname = \"Edges\"\npoll_interval = \"1s\"\ntimeout = \"200ms\"\n\n\
             [[venues]]\ncode = \"EDG\"\nname = \"Edge Arena\"\ncity = \"Loopback\"\n\n\
             [[venues.devices]]\nid = \"EDG-tcp-0\"\nrole = \"server\"\nprobe = \"tcp://127.0.0.1:{port}\"\n"
        ),
    )
    .unwrap();
    let (mut child, lines) = spawn(&["run"], &file);
    assert_eq!(next(&lines), "ready");
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b"fault EDG-tcp-0 down\nclear\ncheck edg-tcp-0\n")
        .unwrap();
    let a = next(&lines);
    assert!(
        a.starts_with("refused: `fault` works only in a demo"),
        "{a}"
    );
    let a = next(&lines);
    assert!(
        a.starts_with("refused: `clear` works only in a demo"),
        "{a}"
    );
    assert_eq!(next(&lines), "applied: EDG-tcp-0: checking now");
    drop(stdin);
    assert_eq!(wait_exit(&mut child).code(), Some(0));
    drop(listener);
}
