//! `toc playbook list|show|dry-run` through the binary: on the shipped
//! venues.toml and playbooks, and on playbooks written to temp folders.
//! Each error says what is wrong on stderr and exits non-zero; a dry-run
//! reads files only (nothing written, not even a data folder).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

use toc::config::Inventory;
use toc::config::playbook::{Playbook, TriggerKind, load_dir};
use toc::engine::snapshot::Layout;
use toc::playbook::Context;
use toc::playbook::resolve;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn toc_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_toc"))
        .args(args)
        .current_dir(dir)
        .env("HOME", dir.join("home"))
        .env("XDG_DATA_HOME", dir.join("home/data"))
        .env("XDG_CONFIG_HOME", dir.join("home/config"))
        .env("XDG_STATE_HOME", dir.join("home/state"))
        .env("XDG_CACHE_HOME", dir.join("home/cache"))
        .env("LANG", "C.UTF-8")
        .output()
        .expect("run toc")
}

fn toc(args: &[&str]) -> Output {
    toc_in(root(), args)
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn shipped() -> Vec<Playbook> {
    load_dir(&root().join("playbooks")).expect("the shipped playbooks are valid")
}

fn games() -> Layout {
    let (inv, _) = Inventory::load(&root().join("venues.toml")).expect("venues.toml");
    Layout::from_inventory(&inv)
}

/// A temp folder with a `playbooks/` of these files and the shipped
/// venues.toml beside it.
fn folder(books: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(root().join("venues.toml"), dir.path().join("venues.toml")).expect("copy");
    std::fs::create_dir(dir.path().join("playbooks")).expect("mkdir");
    for (name, text) in books {
        std::fs::write(dir.path().join("playbooks").join(name), text).expect("write");
    }
    dir
}

const UPLINK: &str = r#"
id = "core-down"
title = "A core switch is down"
summary = "One line.\nTwo lines."

[trigger]
kind = "device_down"
role = "core-switch"

[[steps]]
id = "look"
title = "Look at it"
kind = "check"
instructions = "Re-poll it."

[[steps]]
id = "call"
title = "Call the venue"
kind = "notify"
contact = "VTM"
instructions = "Say which switch."

[[steps]]
id = "fix"
title = "Replace the switch"
kind = "manual"
dangerous = true
instructions = "Only between sessions."
"#;

const STALE: &str = r#"
id = "stale"
title = "Feed stale"

[trigger]
kind = "feed_stale"

[[steps]]
id = "ask"
title = "Ask the results manager"
kind = "manual"
"#;

#[test]
fn list_shows_every_shipped_playbook_with_its_trigger_and_steps() {
    let o = toc(&["playbook", "list"]);
    assert!(o.status.success(), "{}", err(&o));
    let text = out(&o);
    let lines: Vec<&str> = text.lines().collect();
    let books = shipped();
    assert_eq!(lines.len(), books.len() + 1, "{text}");
    assert!(lines[0].starts_with("ID "), "{text}");
    for (line, book) in lines[1..].iter().zip(&books) {
        let cols: Vec<&str> = line.split("  ").filter(|c| !c.trim().is_empty()).collect();
        assert_eq!(cols[0].trim(), book.id, "{line}");
        assert!(
            cols[1].trim().starts_with(book.trigger.kind.name()),
            "{line}"
        );
        assert_eq!(cols[2].trim(), book.steps.len().to_string(), "{line}");
        assert_eq!(cols[3..].join("  ").trim(), book.title, "{line}");
    }
}

#[test]
fn list_json_is_an_array_of_the_playbooks() {
    let o = toc(&["playbook", "list", "--json"]);
    assert!(o.status.success(), "{}", err(&o));
    let v: serde_json::Value = serde_json::from_str(&out(&o)).expect("JSON");
    let ids: Vec<&str> = v
        .as_array()
        .expect("array")
        .iter()
        .map(|b| b["id"].as_str().expect("id"))
        .collect();
    let books = shipped();
    let want: Vec<&str> = books.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids, want);
}

#[test]
fn list_of_a_folder_beside_a_venues_file_and_of_dir() {
    let dir = folder(&[("a.toml", UPLINK), ("b.toml", STALE)]);
    let want = "\
ID         TRIGGER                       STEPS  TITLE
core-down  device_down role=core-switch      3  A core switch is down
stale      feed_stale                        1  Feed stale
";
    let o = toc_in(dir.path(), &["playbook", "list"]);
    assert_eq!(
        (out(&o).as_str(), o.status.code()),
        (want, Some(0)),
        "{}",
        err(&o)
    );
    // The same from anywhere, by --dir.
    let d = dir.path().join("playbooks");
    let o = toc(&["playbook", "list", "--dir", d.to_str().unwrap()]);
    assert_eq!(out(&o), want, "{}", err(&o));
    // And by the venues file's path.
    let f = dir.path().join("venues.toml");
    let o = toc(&["playbook", "list", f.to_str().unwrap()]);
    assert_eq!(out(&o), want, "{}", err(&o));
}

#[test]
fn show_prints_every_step_with_its_target_timeout_failure_and_danger() {
    let dir = folder(&[("a.toml", UPLINK)]);
    let o = toc_in(dir.path(), &["playbook", "show", "core-down"]);
    assert!(o.status.success(), "{}", err(&o));
    let want = "\
core-down: A core switch is down
  file     playbooks/a.toml
  trigger  device_down role=core-switch
  summary  One line.
           Two lines.
  steps    3
  1. look (check): Look at it
       does         probe {subject} now, expect OK
       timeout      1m (default)
       on failure   stop
       dangerous    no
       instructions Re-poll it.
  2. call (notify): Call the venue
       does         notify operators: call VTM: Say which switch.
       timeout      none
       on failure   stop
       dangerous    no
       instructions Say which switch.
  3. fix (manual): Replace the switch
       does         a person does it and answers :done or :fail
       timeout      none (waits for a person)
       on failure   stop
       dangerous    yes (needs a duty manager's approval)
       instructions Only between sessions.
";
    assert_eq!(out(&o), want);
}

#[test]
fn dry_run_without_an_incident_shows_the_names_as_written() {
    let dir = folder(&[("a.toml", UPLINK)]);
    let o = toc_in(dir.path(), &["playbook", "dry-run", "core-down"]);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(
        out(&o),
        "\
dry-run of core-down with no incident: nothing is done; names as written
1. look: probe {subject} now, expect OK
2. call: notify operators: call VTM: Say which switch.
3. fix: a person does it and answers :done or :fail: Replace the switch (needs a duty manager's approval)
"
    );
}

#[test]
fn dry_run_on_an_incident_shows_exactly_what_each_step_does() {
    let dir = folder(&[("a.toml", UPLINK)]);
    let o = toc_in(
        dir.path(),
        &[
            "playbook",
            "dry-run",
            "core-down",
            "--incident",
            "device:STA-core-b",
        ],
    );
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(
        out(&o),
        "\
dry-run of core-down on device:STA-core-b (device_down): nothing is done
1. look: probe device STA-core-b now, expect OK
2. call: notify operators: call VTM: Say which switch.
3. fix: a person does it and answers :done or :fail: Replace the switch (needs a duty manager's approval)
"
    );
    assert_eq!(err(&o), "");
    // The kind from --kind; a playbook not suggested for it says so, and
    // still shows what it would do.
    let o = toc_in(
        dir.path(),
        &[
            "playbook",
            "dry-run",
            "core-down",
            "--incident",
            "device:STA-core-b",
            "--kind",
            "device_degraded",
        ],
    );
    assert!(o.status.success(), "{}", err(&o));
    assert!(out(&o).starts_with("dry-run of core-down on device:STA-core-b (device_degraded)"));
    assert!(err(&o).contains("core-down is not suggested for device:STA-core-b (device_degraded)"));
}

#[test]
fn dry_run_json_carries_each_steps_work() {
    let dir = folder(&[("a.toml", UPLINK)]);
    let o = toc_in(
        dir.path(),
        &[
            "playbook",
            "dry-run",
            "core-down",
            "--incident",
            "device:STA-core-b",
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", err(&o));
    let v: serde_json::Value = serde_json::from_str(&out(&o)).expect("JSON");
    assert_eq!(v["incident"]["key"], "device:STA-core-b");
    assert_eq!(v["steps"][0]["work"]["work"], "check");
    assert_eq!(v["steps"][0]["work"]["target"]["id"], "STA-core-b");
    assert_eq!(v["steps"][2]["dangerous"], true);
}

#[test]
fn every_shipped_playbook_dry_runs_for_an_incident_it_matches() {
    let layout = games();
    for book in shipped() {
        let TriggerKind::Problem(kind) = book.trigger.kind else {
            continue;
        };
        let keys = layout
            .devices
            .iter()
            .map(|d| format!("device:{}", d.id))
            .chain(layout.groups.iter().map(|g| format!("group:{}", g.id)))
            .chain(layout.feeds.iter().map(|f| format!("feed:{}", f.id)))
            .chain(
                layout
                    .relay
                    .iter()
                    .flat_map(|r| r.sinks.iter().map(|s| format!("slo:{}", s.id))),
            );
        let key = keys
            .filter_map(|k| {
                Context::from_key(&k, Some(kind), &layout)
                    .ok()
                    .map(|c| (k, c))
            })
            .find(|(_, c)| resolve::matches(&book, c, &layout).is_some())
            .map(|(k, _)| k)
            .unwrap_or_else(|| panic!("no incident of venues.toml matches {}", book.id));
        let o = toc(&["playbook", "dry-run", &book.id, "--incident", &key]);
        assert!(o.status.success(), "{} on {key}: {}", book.id, err(&o));
        assert_eq!(out(&o).lines().count(), book.steps.len() + 1, "{}", out(&o));
    }
}

#[test]
fn an_unknown_playbook_says_which_there_are() {
    let dir = folder(&[("a.toml", UPLINK), ("b.toml", STALE)]);
    for cmd in ["show", "dry-run"] {
        let o = toc_in(dir.path(), &["playbook", cmd, "nope"]);
        assert_eq!(o.status.code(), Some(1));
        assert_eq!(out(&o), "");
        assert_eq!(
            err(&o),
            "toc playbook: no playbook `nope` (there are: core-down, stale)\n"
        );
    }
}

#[test]
fn a_bad_key_or_an_unknown_subject_is_refused() {
    let dir = folder(&[("a.toml", UPLINK)]);
    for (key, want) in [
        ("STA-core-a", "`STA-core-a` is not an incident key"),
        ("switch:STA-core-a", "it begins with `switch`"),
        (
            "device:STA-core-z",
            "no device `STA-core-z` in the venues file",
        ),
        ("slo:radio", "no relay sink `radio` in the venues file"),
    ] {
        let o = toc_in(
            dir.path(),
            &["playbook", "dry-run", "core-down", "--incident", key],
        );
        assert_eq!(o.status.code(), Some(1), "{key}");
        assert_eq!(out(&o), "", "{key}");
        assert!(err(&o).starts_with("toc playbook: "), "{}", err(&o));
        assert!(err(&o).contains(want), "{key}: {}", err(&o));
    }
    let o = toc_in(
        dir.path(),
        &[
            "playbook",
            "dry-run",
            "core-down",
            "--incident",
            "device:STA-core-a",
            "--kind",
            "down",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "clap refuses it");
    assert!(
        err(&o).contains("`down` is not an incident kind"),
        "{}",
        err(&o)
    );
}

const SWITCH: &str = r#"
id = "switch"
title = "Switch the feed to its backup"

[trigger]
kind = "device_down"

[[steps]]
id = "look"
title = "Look"
kind = "check"

[[steps]]
id = "move"
title = "Take the backup source"
kind = "reroute"
dangerous = true
"#;

#[test]
fn a_step_that_cannot_resolve_is_named_with_why() {
    let dir = folder(&[("s.toml", SWITCH)]);
    let o = toc_in(
        dir.path(),
        &[
            "playbook",
            "dry-run",
            "switch",
            "--incident",
            "device:STA-core-a",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        out(&o),
        "\
dry-run of switch on device:STA-core-a (device_down): nothing is done
1. look: probe device STA-core-a now, expect OK
2. move: cannot be resolved: the incident STA-core-a (device_down) has no feed (needs a duty manager's approval)
"
    );
    assert_eq!(
        err(&o),
        "toc playbook: switch cannot run for device:STA-core-a: step move: the incident STA-core-a (device_down) has no feed\n"
    );
    // On a results server it resolves to its feed's backup.
    let o = toc_in(
        dir.path(),
        &[
            "playbook",
            "dry-run",
            "switch",
            "--incident",
            "device:STA-ovr-a",
        ],
    );
    assert!(o.status.success(), "{}", err(&o));
    assert!(
        out(&o).contains("2. move: relay: feed STA-results: take STA-ovr-b only (needs a duty manager's approval)"),
        "{}",
        out(&o)
    );
}

#[test]
fn an_invalid_playbook_folder_is_a_config_error() {
    let dir = folder(&[("a.toml", "id = \"x\"\ntitle = 3\n")]);
    let o = toc_in(dir.path(), &["playbook", "list"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(out(&o), "");
    assert!(err(&o).contains("playbooks/a.toml:2:"), "{}", err(&o));
    let o = toc(&["playbook", "list", "--dir", "/nonexistent/playbooks"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("cannot read the playbook folder"),
        "{}",
        err(&o)
    );
}

/// Every file under `dir` with its size and modification time.
fn tree(dir: &Path) -> BTreeMap<PathBuf, (u64, SystemTime)> {
    let mut all = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let e = e.expect("entry");
            let meta = e.metadata().expect("metadata");
            if meta.is_dir() {
                todo.push(e.path());
            }
            all.insert(e.path(), (meta.len(), meta.modified().expect("mtime")));
        }
    }
    all
}

#[test]
fn a_dry_run_writes_nothing() {
    let dir = folder(&[("a.toml", UPLINK), ("b.toml", STALE)]);
    let before = tree(dir.path());
    for args in [
        &[
            "playbook",
            "dry-run",
            "core-down",
            "--incident",
            "device:STA-core-a",
        ][..],
        &[
            "playbook",
            "dry-run",
            "stale",
            "--incident",
            "feed:STA-results",
            "--json",
        ],
        &["playbook", "dry-run", "stale"],
        &["playbook", "list"],
        &["playbook", "show", "stale"],
    ] {
        let o = toc_in(dir.path(), args);
        assert!(o.status.success(), "{args:?}: {}", err(&o));
    }
    assert_eq!(
        tree(dir.path()),
        before,
        "no file written, no data folder made"
    );
    assert!(!dir.path().join("toc-data").exists());
    assert!(!dir.path().join("home").exists());
}
