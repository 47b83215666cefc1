//! `toc` in real terminals of several kinds, under tmux: a C locale gets
//! ASCII only, `TERM=xterm` the basic colour codes, `TERM=dumb` a clear
//! refusal, and `q` in `toc run` a question first.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::tmux::{Tmux, serial};

const BIN: &str = env!("CARGO_BIN_EXE_toc");

fn copy_venues(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("venues.toml");
    let dst = dir.join("venues.toml");
    std::fs::copy(src, &dst).expect("copy venues.toml");
    dst
}

/// Whether the wall's tile of `code` (a row that starts with it) shows
/// `word`.
fn tile_says(pane: &str, code: &str, word: &str) -> bool {
    let prefix = format!("{code} ");
    pane.lines()
        .skip(1)
        .filter(|l| l.trim_start().starts_with(&prefix))
        .any(|l| l.contains(word))
}

/// `toc demo` in tmux with `env` before it, and a shell that reports how
/// it exited.
fn demo(dir: &Path, env: &str, args: &str) -> Tmux {
    let venues = copy_venues(dir);
    let script = format!(
        "{env} '{BIN}' demo '{}' --interval 1000ms --timeout 200ms {args}; echo \"toc exited $?\"; sleep 600",
        venues.display()
    );
    Tmux::start(dir, &script)
}

/// Once the wall is up, only STA on it (the wall of 35 venues has pages
/// at 100x30).
fn only_sta(tmux: &Tmux) {
    tmux.wait(Duration::from_secs(30), "the wall", |p| p.contains("Wall "));
    tmux.keys("/venue:STA");
    tmux.key("Enter");
}

#[test]
fn a_c_locale_gets_ascii_only_and_every_status_is_still_glyph_and_word() {
    if !support::have("tmux") {
        return;
    }
    let _serial = serial();
    for (env, args) in [
        ("env -u LC_CTYPE LANG=C LC_ALL=C TERM=xterm-256color", ""),
        // `--ascii` in a UTF-8 locale.
        ("env LC_ALL=C.UTF-8 TERM=xterm-256color", "--ascii"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let tmux = demo(dir.path(), env, args);
        only_sta(&tmux);
        tmux.wait(Duration::from_secs(30), "STA + OK", |p| {
            tile_says(p, "STA", "+ OK")
        });
        tmux.keys(":fault STA-core-a down");
        tmux.key("Enter");
        let pane = tmux.wait(Duration::from_secs(20), "STA ^ DEGRADED", |p| {
            tile_says(p, "STA", "^ DEGRADED")
        });
        let bar = pane.lines().next().unwrap_or_default();
        assert!(
            bar.contains("^ DEGRADED") && bar.contains("devices "),
            "{env} {args}: the bar: {bar}"
        );
        let bytes = tmux.capture_bytes(false);
        let high: Vec<u8> = bytes.iter().copied().filter(|b| *b >= 0x80).collect();
        assert!(
            high.is_empty(),
            "{env} {args}: bytes above 0x7f on screen: {high:x?}\n{pane}"
        );
        tmux.key("q");
        tmux.wait(Duration::from_secs(10), "toc exits", |p| {
            p.contains("toc exited 0")
        });
    }
}

#[test]
fn xterm_gets_the_basic_colour_codes_and_xterm_256color_may_get_more() {
    if !support::have("tmux") {
        return;
    }
    let _serial = serial();
    for (term, extended) in [("xterm", false), ("vt100", false), ("xterm-256color", true)] {
        let dir = tempfile::tempdir().unwrap();
        let tmux = demo(
            dir.path(),
            &format!("env -u COLORTERM -u NO_COLOR LC_ALL=C.UTF-8 TERM={term}"),
            "",
        );
        // A UTF-8 locale keeps the Unicode glyphs (and tmux shows them:
        // the C-locale test above would see them).
        only_sta(&tmux);
        tmux.wait(Duration::from_secs(30), "STA ✔ OK", |p| {
            tile_says(p, "STA", "✔ OK")
        });
        let shown = String::from_utf8_lossy(&tmux.capture_bytes(true)).into_owned();
        assert_eq!(
            shown.contains("38;5;"),
            extended,
            "TERM={term}: 256-colour codes {}",
            if extended { "missing" } else { "written" }
        );
        // Green OK tiles in either form.
        let green = if extended { "38;5;2m" } else { "[32m" };
        assert!(
            shown.contains(green),
            "TERM={term}: no {green:?} in {shown:?}"
        );
        tmux.key("q");
        tmux.wait(Duration::from_secs(10), "toc exits", |p| {
            p.contains("toc exited 0")
        });
    }
}

#[test]
fn a_dumb_terminal_or_none_is_refused_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let venues = copy_venues(dir.path());
    for (cmd, term) in [
        ("demo", Some("dumb")),
        ("run", Some("dumb")),
        ("demo", None),
        ("run", Some("")),
    ] {
        let mut c = Command::new(BIN);
        c.arg(cmd).arg(&venues).current_dir(dir.path());
        match term {
            Some(t) => c.env("TERM", t),
            None => c.env_remove("TERM"),
        };
        let out = c.output().expect("toc runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{cmd} TERM={term:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{cmd} TERM={term:?}: drew something");
        assert!(
            stderr.starts_with(&format!("toc {cmd}: this terminal cannot show the console")),
            "{stderr}"
        );
        assert!(!stderr.contains('\x1b'), "escapes on stderr: {stderr:?}");
        assert!(
            !dir.path().join("toc-data").exists(),
            "{cmd} TERM={term:?} started before refusing"
        );
    }
}

#[test]
fn q_in_toc_run_asks_before_it_stops_monitoring() {
    if !support::have("tmux") {
        return;
    }
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    // One TCP device: a listener this test holds for its whole run.
    let device = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = device.local_addr().unwrap().port();
    let venues = dir.path().join("venues.toml");
    std::fs::write(
        &venues,
        format!(
            "[event]\nname = \"Terminal Test Games\"\npoll_interval = \"1s\"\ntimeout = \"200ms\"\n\n\
             [[venues]]\ncode = \"AAA\"\nname = \"Arena A\"\ncity = \"Paris\"\n\n\
             [[venues.devices]]\nid = \"AAA-timing\"\nrole = \"timing\"\nprobe = \"tcp://127.0.0.1:{port}\"\n"
        ),
    )
    .unwrap();
    let script = format!(
        "TERM=xterm-256color LC_ALL=C.UTF-8 '{BIN}' run '{}'; echo \"toc exited $?\"; sleep 600",
        venues.display()
    );
    let tmux = Tmux::start(dir.path(), &script);
    tmux.wait(Duration::from_secs(30), "AAA OK", |p| {
        tile_says(p, "AAA", "✔ OK")
    });
    tmux.key("q");
    tmux.wait(Duration::from_secs(10), "the question", |p| {
        p.contains("quit toc? monitoring stops (y/N)")
    });
    // No: still monitoring.
    tmux.key("n");
    let pane = tmux.wait(Duration::from_secs(10), "not quitting", |p| {
        p.contains("still monitoring")
    });
    assert!(tile_says(&pane, "AAA", "✔ OK"), "{pane}");
    std::thread::sleep(Duration::from_millis(500));
    assert!(!tmux.capture().contains("toc exited"), "toc quit on n");
    // Yes: quits.
    tmux.key("q");
    tmux.wait(Duration::from_secs(10), "the question again", |p| {
        p.contains("quit toc?")
    });
    tmux.key("y");
    tmux.wait(Duration::from_secs(10), "toc exits", |p| {
        p.contains("toc exited 0")
    });
}
