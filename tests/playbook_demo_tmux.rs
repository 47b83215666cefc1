//! Playbooks tried as a new user would, in a real terminal (tmux), on the
//! shipped venues.toml and playbooks/: in `toc demo`, a core switch is
//! lost, the incident's suggested playbook runs from the incident view
//! (`R`), its manual step is answered (`:done`), its wait step ends after
//! `:clear`, and the run is in the incident's timeline and in
//! `toc incidents --json`. Then the primary results server's playbook
//! switches the feed to the backup once a duty manager approves, and
//! results keep flowing.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::tmux::{Tmux, serial};

/// venues.toml and playbooks/ copied side by side (the data folder,
/// `toc-data`, is then beside them too).
fn copy_config(dir: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dst = dir.join("venues.toml");
    std::fs::copy(root.join("venues.toml"), &dst).expect("copy venues.toml");
    let books = dir.join("playbooks");
    std::fs::create_dir_all(&books).unwrap();
    for entry in std::fs::read_dir(root.join("playbooks")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, books.join(path.file_name().unwrap())).unwrap();
    }
    dst
}

/// `toc incidents FILE --json`.
fn incidents(venues: &Path) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_toc"))
        .arg("incidents")
        .arg(venues)
        .arg("--json")
        .output()
        .expect("toc incidents runs");
    assert!(out.status.success(), "toc incidents: {out:?}");
    serde_json::from_slice::<Value>(&out.stdout)
        .expect("JSON")
        .as_array()
        .cloned()
        .expect("an array")
}

/// The newest run of the incident about `subject`, as `toc incidents
/// --json` prints it.
fn run_of(venues: &Path, subject: &str) -> Option<Value> {
    incidents(venues)
        .into_iter()
        .find(|i| i["subject"] == subject)
        .and_then(|i| i["runs"].as_array().and_then(|r| r.last().cloned()))
}

/// Waits until the run of `subject` satisfies `pred`.
fn wait_run(
    venues: &Path,
    subject: &str,
    within: Duration,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let run = run_of(venues, subject);
        if let Some(run) = run.as_ref().filter(|r| pred(r)) {
            return run.clone();
        }
        assert!(
            Instant::now() < deadline,
            "not within {within:?}: {what}; run {run:#?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The state of step `id` of a run.
fn step<'a>(run: &'a Value, id: &str) -> &'a str {
    run["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["id"] == id))
        .and_then(|s| s["state"].as_str())
        .unwrap_or("")
}

/// Answers a `(y/N)` question with yes.
fn yes(tmux: &Tmux) {
    tmux.wait(Duration::from_secs(10), "the question", |p| {
        p.contains("(y/N)")
    });
    tmux.key("y");
}

fn command(tmux: &Tmux, line: &str) {
    tmux.keys(line);
    tmux.key("Enter");
}

#[test]
fn a_suggested_playbook_runs_from_the_incident_and_a_relay_switch_needs_approval() {
    if !support::have("tmux") {
        return;
    }
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let venues = copy_config(dir.path());
    let bin = env!("CARGO_BIN_EXE_toc");
    let script = format!(
        "USER=dana LC_ALL=C.UTF-8 TERM=xterm-256color '{bin}' demo '{}' --interval 1000ms --timeout 1s; echo \"toc exited $?\"; sleep 600",
        venues.display()
    );
    let tmux = Tmux::start(dir.path(), &script);
    tmux.wait(Duration::from_secs(60), "the wall", |p| {
        p.contains("STA") && p.contains("OK")
    });

    core_switch_lost(&tmux, dir.path(), &venues);
    primary_results_server_lost(&tmux, &venues);
    tmux.key("q");
    let pane = tmux.wait(Duration::from_secs(15), "toc exits", |p| {
        p.contains("toc exited")
    });
    assert!(pane.contains("toc exited 0"), "{pane}");
}

/// A core switch lost: the suggested playbook from the incident view.
fn core_switch_lost(tmux: &Tmux, dir: &Path, venues: &Path) {
    // Lose a core switch; open the incident from the list.
    command(tmux, ":fault STA-core-a down");
    command(tmux, ":incidents");
    // Other incidents may be open (a loaded machine times out a check now
    // and then): the filter narrows the list to ours.
    command(tmux, "/STA-core");
    tmux.wait(Duration::from_secs(30), "the incident", |p| {
        p.contains("STA-core redundancy lost")
    });
    tmux.key("g");
    tmux.key("Enter");
    // Its view suggests the core-switch playbook first; R runs it.
    tmux.wait(Duration::from_secs(10), "the suggested playbook", |p| {
        p.contains("Playbooks") && p.contains("core-switch-redundancy-lost")
    });
    tmux.key("R");
    yes(tmux);
    // The check and the notification pass; the manual step waits.
    tmux.wait(Duration::from_secs(60), "the manual step's prompt", |p| {
        p.contains("inspect-on-site") && p.contains(":done")
    });
    let run = wait_run(
        venues,
        "STA-core",
        Duration::from_secs(10),
        "the manual step waits",
        |r| step(r, "inspect-on-site") == "waiting",
    );
    assert_eq!(step(&run, "confirm-survivor"), "done", "{run:#}");
    assert_eq!(step(&run, "call-venue-tech"), "done", "{run:#}");
    assert_eq!(run["started_by"], "dana");
    command(tmux, ":done optics reseated");
    wait_run(
        venues,
        "STA-core",
        Duration::from_secs(20),
        "the wait step runs",
        |r| step(r, "wait-redundancy") == "running",
    );
    // The switch comes back: the wait ends, the run is done.
    command(tmux, ":clear STA-core-a");
    let run = wait_run(
        venues,
        "STA-core",
        Duration::from_secs(60),
        "the run done",
        |r| r["state"] == "done",
    );
    assert_eq!(step(&run, "wait-redundancy"), "done", "{run:#}");
    assert_eq!(step(&run, "record"), "done", "{run:#}");
    let inspect = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "inspect-on-site")
        .unwrap();
    assert_eq!(inspect["outcome"], "by dana: optics reseated");
    tmux.wait(Duration::from_secs(10), "the run shown done", |p| {
        p.contains("done")
    });
    // The incident's timeline has every step (the store's, as the
    // console's incident view shows it).
    let store = toc::store::Reader::open(&dir.join("toc-data").join("toc.db")).unwrap();
    let (_, timeline) = store
        .incident("group:STA-core")
        .unwrap()
        .expect("the incident");
    let steps: Vec<String> = timeline
        .iter()
        .filter(|e| e.kind == toc::engine::TimelineKind::Playbook)
        .map(|e| e.text.clone())
        .collect();
    for want in [
        "confirm-survivor (check) done",
        "inspect-on-site (manual) done",
        "wait-redundancy (wait) done",
        "Core switch pair back",
    ] {
        assert!(steps.iter().any(|t| t.contains(want)), "{want}: {steps:#?}");
    }
}

/// The primary results server lost: its pair's playbook, by name.
fn primary_results_server_lost(tmux: &Tmux, venues: &Path) {
    // The primary results server: its pair's playbook, run by name.
    command(tmux, ":fault STA-ovr-a down");
    wait_incident(venues, "STA-ovr");
    command(tmux, ":run primary-results-server-down on group:STA-ovr");
    yes(tmux);
    wait_run(
        venues,
        "STA-ovr",
        Duration::from_secs(60),
        "the approval waits",
        |r| step(r, "approve-switch") == "waiting",
    );
    command(tmux, ":approve");
    wait_run(
        venues,
        "STA-ovr",
        Duration::from_secs(20),
        "the switch needs its approval",
        |r| step(r, "switch-to-backup") == "needs approval",
    );
    command(tmux, ":approve");
    let run = wait_run(
        venues,
        "STA-ovr",
        Duration::from_secs(60),
        "the run done",
        |r| r["state"] == "done",
    );
    assert_eq!(step(&run, "switch-to-backup"), "done", "{run:#}");
    assert_eq!(step(&run, "wait-feed"), "done", "{run:#}");
    // The relay takes the backup only, and results keep flowing.
    command(tmux, ":relay");
    let first = tmux.wait(Duration::from_secs(20), "the feed on its backup", |p| {
        sta_forwarded(p).is_some()
    });
    let n = sta_forwarded(&first).unwrap();
    tmux.wait(
        Duration::from_secs(60),
        "STA's results still flowing",
        |p| sta_forwarded(p).is_some_and(|m| m > n),
    );
}

fn wait_incident(venues: &Path, subject: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !incidents(venues).iter().any(|i| i["subject"] == subject) {
        assert!(Instant::now() < deadline, "no incident on {subject}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// How many of STA's results the relay forwarded, from the relay view's
/// line of the feed, once it shows the backup (`fwd N`).
fn sta_forwarded(pane: &str) -> Option<u64> {
    let line = pane
        .lines()
        .find(|l| l.contains("STA-results") && l.contains("STA-ovr-b"))?;
    line.split("fwd ")
        .nth(1)?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}
