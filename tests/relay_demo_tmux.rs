//! The relay tried as a new user would, in a real terminal (tmux):
//! `toc demo` shows results flowing in the relay view; pausing a sink
//! builds a backlog on screen and resuming drains it; killing the primary
//! results system turns its feed orange while the backup carries on.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::tmux::{Tmux, serial};

/// venues.toml with STA's feed stale after 4 s instead of 30 s, so a
/// silent source shows within the test.
fn copy_venues(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("venues.toml");
    let text = std::fs::read_to_string(src).expect("read venues.toml");
    let at = text.find("id = \"STA-results\"").expect("STA's feed");
    let (head, tail) = text.split_at(at);
    let tail = tail.replacen("stale_after = \"30s\"", "stale_after = \"4s\"", 1);
    let dst = dir.join("venues.toml");
    std::fs::write(&dst, format!("{head}{tail}")).expect("write venues.toml");
    dst
}

/// The words of the relay view's line for sink `id`.
fn sink_line(pane: &str, id: &str) -> Option<Vec<String>> {
    pane.lines()
        .map(|l| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .find(|w| w.get(1).is_some_and(|s| s == id) && w.len() > 6)
}

/// A sink's state word and backlog, as shown.
fn sink(pane: &str, id: &str) -> Option<(String, u64)> {
    let w = sink_line(pane, id)?;
    Some((w[2].clone(), w[5].parse().ok()?))
}

/// The relay view's line for feed `id`.
fn feed_line<'a>(pane: &'a str, id: &str) -> Option<&'a str> {
    pane.lines()
        .find(|l| l.contains(id) && l.contains("/s fwd"))
}

#[test]
fn the_demo_relay_flows_pauses_drains_and_fails_over() {
    if !support::have("tmux") {
        return;
    }
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let venues = copy_venues(dir.path());
    let bin = env!("CARGO_BIN_EXE_toc");
    let script = format!(
        "LC_ALL=C.UTF-8 TERM=xterm-256color '{bin}' demo '{}' --interval 1000ms --timeout 200ms; echo \"toc exited $?\"; sleep 600",
        venues.display()
    );
    let tmux = Tmux::start(dir.path(), &script);
    tmux.wait(Duration::from_secs(30), "the wall", |p| p.contains("STA"));
    tmux.key("r");
    // Results flow: forwarded messages in the tail, the commentators'
    // sink delivering (OK, or SLOW against its 350 ms on a loaded
    // machine with a debug build).
    tmux.wait(Duration::from_secs(30), "results flowing", |p| {
        p.contains("Relay")
            && p.contains("forwarded #")
            && sink(p, "commentators").is_some_and(|(s, _)| s == "OK" || s == "SLOW")
    });

    // Pause the commentators' sink: asked first, then its backlog grows.
    tmux.keys(":pause commentators");
    tmux.key("Enter");
    tmux.wait(Duration::from_secs(5), "the question", |p| {
        p.contains("(y/N)")
    });
    tmux.key("y");
    let paused = tmux.wait(Duration::from_secs(10), "a backlog", |p| {
        sink(p, "commentators").is_some_and(|(s, b)| s == "PAUSED" && b > 0)
    });
    let (_, first) = sink(&paused, "commentators").unwrap();
    let grown = tmux.wait(Duration::from_secs(10), "the backlog growing", |p| {
        sink(p, "commentators").is_some_and(|(_, b)| b > first)
    });
    let (_, backlog) = sink(&grown, "commentators").unwrap();
    eprintln!("backlog while paused: {first} then {backlog}");

    // Resume: it drains.
    tmux.keys(":resume commentators");
    tmux.key("Enter");
    tmux.wait(Duration::from_secs(5), "the question", |p| {
        p.contains("(y/N)")
    });
    tmux.key("y");
    tmux.wait(Duration::from_secs(30), "the backlog drained", |p| {
        sink(p, "commentators").is_some_and(|(s, b)| s != "PAUSED" && b < backlog / 2)
    });

    // Kill the primary results system: the feed turns orange, the backup
    // carries it (its last message stays recent).
    tmux.keys(":fault STA-ovr-a down");
    tmux.key("Enter");
    let orange = tmux.wait(Duration::from_secs(20), "STA's feed orange", |p| {
        feed_line(p, "STA-results").is_some_and(|l| l.contains('▲'))
    });
    let line = feed_line(&orange, "STA-results").unwrap().to_owned();
    let words: Vec<&str> = line.split_whitespace().collect();
    let backup_age = words
        .iter()
        .position(|w| *w == "STA-ovr-b")
        .and_then(|i| words.get(i + 1))
        .expect("the backup's age");
    assert!(
        backup_age.ends_with('s') && backup_age.trim_end_matches('s').parse::<u64>().unwrap() < 4,
        "the backup carries on: {line}"
    );
    tmux.key("q");
    let pane = tmux.wait(Duration::from_secs(15), "toc exits", |p| {
        p.contains("toc exited")
    });
    assert!(pane.contains("toc exited 0"), "{pane}");
}
