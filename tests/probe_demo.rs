//! What a technician's `toc probe` tells beside a running demo and on
//! hostile devices: the device the console polls (the demo's own
//! addresses, published in its data folder), ids matched as the console
//! matches them, a stale file ignored with a note, device text shown
//! escaped, and host sizes in GiB.
//!
//! Every socket is bound on 127.0.0.1 port 0 and held for the whole test:
//! the file's address of the demo's device is a held UDP socket that
//! never answers, so a probe that reads the file's port says DOWN.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use toc::config::Inventory;
use toc::runtime::published::{self, FILE_NAME};
use toc::runtime::{Live, Tuning};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use support::tmux::Tmux;

/// `toc probe ARGS`: exit code, stdout, stderr.
fn toc(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_toc"))
        .arg("probe")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// [`toc`] off the runtime the demo lives on.
async fn probe(args: &[&str]) -> (i32, String, String) {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        toc(&a)
    })
    .await
    .unwrap()
}

/// A venues file in `dir` (data folder `dir/data`) with one SNMP device,
/// `CLI-core-a`, at `127.0.0.1:port`, and `extra` TOML after it.
fn venues(dir: &Path, port: u16, extra: &str) -> PathBuf {
    let text = format!(
        "[event]\nname = \"probe demo\"\npoll_interval = \"5s\"\ntimeout = \"300ms\"\nretries = 0\ndata_dir = \"data\"\n\n\
         [profiles.v2]\nversion = \"v2c\"\ncommunity = \"demo-comm\"\n\n\
         [[venues]]\ncode = \"CLI\"\nname = \"CLI Arena\"\ncity = \"Loopback\"\n\n\
         [[venues.devices]]\nid = \"CLI-core-a\"\nrole = \"core-switch\"\nprobe = \"snmp://127.0.0.1:{port}\"\nprofile = \"v2\"\n{extra}"
    );
    let file = dir.join("venues.toml");
    std::fs::write(&file, text).unwrap();
    file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_beside_a_demo_reaches_the_device_the_console_polls() {
    // The file's port: held, silent.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let file = venues(dir.path(), port, "");
    let path = file.to_str().unwrap();
    let (inv, _) = Inventory::load(&file).unwrap();
    let data = inv.event.data_dir.clone();

    let live = Live::demo(
        inv,
        Tuning {
            data_dir: Some(data.clone()),
            source: Some(file.clone()),
            ..Tuning::default()
        },
    )
    .await
    .unwrap();
    let served = live.inventory.devices[0].probe.clone();
    assert!(
        !format!("{served:?}").contains(&port.to_string()),
        "the demo serves elsewhere: {served:?}"
    );
    assert!(data.join(FILE_NAME).exists());

    // Same answer as the console, and the id typed in any case, as the
    // console's `:device cli-core-a` takes it.
    let (code, out, err) = probe(&["cli-core-a", "--config", path]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("CLI-core-a (snmp://127.0.0.1:"), "{out}");
    assert!(out.contains("✔ OK") && out.contains("sysName"), "{out}");
    assert!(
        err.contains(&format!(
            "addresses from the running demo (pid {}, {})",
            std::process::id(),
            data.join(FILE_NAME).display()
        )),
        "{err}"
    );

    // The demo stops: its file goes, the probe reads the file's port.
    live.shutdown().await;
    assert!(!data.join(FILE_NAME).exists());
    let (code, out, err) = probe(&["CLI-core-a", "--config", path]).await;
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.contains(&format!("127.0.0.1:{port}")), "{out}");
    assert!(out.contains("✖ DOWN: no answer"), "{out}");
    assert!(!err.contains("addresses from"), "{err}");
    drop(silent);
}

#[test]
fn a_file_left_by_a_dead_demo_is_ignored_with_a_note() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let file = venues(dir.path(), port, "");
    // A real process that has ended: its id names no running demo.
    let mut child = Command::new(env!("CARGO_BIN_EXE_toc"))
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let other = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let doc = published::DemoAddresses {
        pid: dead,
        process_started: 1,
        source: Some(std::fs::canonicalize(&file).unwrap()),
        addresses: vec![published::Moved {
            file: silent.local_addr().unwrap(),
            served: other.local_addr().unwrap(),
        }],
    };
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join(FILE_NAME), serde_json::to_string(&doc).unwrap()).unwrap();

    let (code, out, err) = toc(&["CLI-core-a", "--config", file.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.contains(&format!("127.0.0.1:{port}")), "{out}");
    assert!(
        err.contains(&format!("(pid {dead}) is no longer running")),
        "{err}"
    );
}

/// An HTTP server on a held port that answers every request with `body`
/// (JSON), until the test ends.
async fn http_server(body: &'static str) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(answer.as_bytes()).await;
                let _ = s.shutdown().await;
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_from_a_device_is_printed_escaped() {
    // A health endpoint whose status field tries to clear the screen,
    // set the window title, ring and overwrite the line.
    let port = http_server(r#"{"status":"\u001b[2J\u001b]0;pwned\u0007ok\r\u0000\u009b"}"#).await;
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[event]\nname = \"escapes\"\npoll_interval = \"5s\"\ntimeout = \"1s\"\nretries = 0\n\n\
         [[venues]]\ncode = \"CLI\"\nname = \"CLI Arena\"\ncity = \"Loopback\"\n\n\
         [[venues.devices]]\nid = \"CLI-results\"\nrole = \"results\"\nprobe = \"http://127.0.0.1:{port}/health\"\njson_field = \"status\"\njson_expect = \"ok\"\n"
    );
    let file = dir.path().join("venues.toml");
    std::fs::write(&file, text).unwrap();
    let (code, out, err) = probe(&["CLI-results", "--config", file.to_str().unwrap()]).await;
    assert_eq!(code, 2, "{out}{err}");
    let shown = r"\x1b[2J\x1b]0;pwned\x07ok\r\0\u{9b}";
    assert!(
        out.contains(&format!(
            "✖ DOWN: json status is \"{shown}\", expected \"ok\""
        )),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.trim_start().starts_with("json.status") && l.ends_with(shown)),
        "{out}"
    );
    let raw: Vec<char> = out
        .chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect();
    assert!(raw.is_empty(), "raw control characters {raw:?} in {out:?}");
}

#[test]
fn probe_host_prints_sizes_as_people_read_them() {
    let (code, out, err) = toc(&["host"]);
    assert!(code <= 2, "{code}: {out}{err}");
    for name in ["memory.used", "memory.total"] {
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {out}"));
        let value = line.trim_start()[name.len()..].trim();
        let (number, unit) = value
            .split_once(' ')
            .unwrap_or_else(|| panic!("{name} has no unit: {line:?}"));
        assert!(
            ["KiB", "MiB", "GiB", "TiB"].contains(&unit),
            "{name} in people's units: {line:?}"
        );
        let n: f64 = number.parse().unwrap();
        assert!((0.0..1024.0).contains(&n), "{line:?}");
        assert!(number.contains('.'), "one decimal: {line:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interface_whose_if_descr_ends_in_nul_is_found_by_its_name() {
    // A recorded Windows agent ends ifDescr with a NUL; the simulator
    // serves the names of the file as they are written.
    let held = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let text = format!(
        "[event]\nname = \"nul\"\npoll_interval = \"5s\"\ntimeout = \"300ms\"\nretries = 0\n\n\
         [profiles.v2]\nversion = \"v2c\"\ncommunity = \"win-comm\"\n\n\
         [[venues]]\ncode = \"WIN\"\nname = \"Windows\"\ncity = \"Loopback\"\n\n\
         [[venues.devices]]\nid = \"WIN-srv\"\nrole = \"server\"\nprobe = \"snmp://127.0.0.1:{port}\"\nprofile = \"v2\"\n\
         interfaces = [\"MS TCP Loopback interface\\u0000\"]\n"
    );
    let (inv, _) = Inventory::parse(&toc::config::SourceFile::new("<test>", text)).unwrap();
    let sim = toc::sim::start(
        std::sync::Arc::new(inv),
        toc::sim::SimOptions {
            ephemeral: true,
            ..toc::sim::SimOptions::default()
        },
    )
    .await
    .unwrap();
    let toc::config::venues::ProbeTarget::Snmp { port: served, .. } =
        sim.inventory().devices[0].probe.clone()
    else {
        panic!("an SNMP device");
    };
    let url = format!("snmp://127.0.0.1:{served}");
    let (code, out, err) = probe(&[
        &url,
        "-c",
        "win-comm",
        // No `-n`: a device without a `context` is served in the default
        // context, never under its id.
        "-i",
        "MS TCP Loopback interface",
    ])
    .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("✔ OK"), "{out}");
    assert!(
        out.lines().any(
            |l| l.trim_start().starts_with("if.MS TCP Loopback interface ") && l.ends_with(" up")
        ),
        "{out}"
    );
    assert!(!out.contains("not found") && !out.contains('\0'), "{out:?}");
    sim.shutdown().await;
    drop(held);
}

/// Polls `pred` every 100 ms; panics with `what` and `show()` after
/// `limit`.
fn wait_for(limit: Duration, what: &str, pred: impl Fn() -> bool, show: impl Fn() -> String) {
    let t0 = Instant::now();
    while !pred() {
        assert!(
            t0.elapsed() < limit,
            "not within {limit:?}: {what}\n{}",
            show()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The real `toc demo` in a terminal, and a technician's `toc probe`
/// beside it: the same device, the same verdict as the console, before
/// and after a fault; the published file goes when the demo quits.
#[test]
fn toc_probe_beside_a_real_toc_demo_in_tmux_agrees_with_the_console() {
    if !support::have("tmux") {
        return;
    }
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let file = venues(dir.path(), port, "");
    let published = dir.path().join("data").join(FILE_NAME);
    let bin = env!("CARGO_BIN_EXE_toc");
    let script = format!(
        "TERM=xterm-256color '{bin}' demo '{}' --interval 1s --timeout 200ms; echo \"toc exited $?\"; sleep 600",
        file.display()
    );
    let tmux = Tmux::start(dir.path(), &script);
    wait_for(
        Duration::from_secs(30),
        "the demo publishes its addresses",
        || published.exists(),
        || tmux.capture(),
    );
    let config = file.to_str().unwrap();
    let (code, out, err) = toc(&["cli-core-a", "--config", config]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("addresses from the running demo (pid "),
        "{err}"
    );
    assert!(!out.contains(&format!(":{port})")), "{out}");

    tmux.keys(":fault CLI-core-a down");
    tmux.key("Enter");
    tmux.wait(Duration::from_secs(20), "the console says DOWN", |p| {
        p.lines()
            .skip(1)
            .any(|l| l.trim_start().starts_with("CLI ") && l.contains("✖ DOWN"))
    });
    let (code, out, err) = toc(&["CLI-core-a", "--config", config]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.contains("✖ DOWN: no answer"), "{out}");

    tmux.key("q");
    let pane = tmux.wait(Duration::from_secs(10), "toc exits", |p| {
        p.contains("toc exited")
    });
    assert!(pane.contains("toc exited 0"), "{pane}");
    assert!(!published.exists(), "the published file is removed");
    drop(silent);
}
