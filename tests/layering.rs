//! The layering of DESIGN.md, checked: each folder of `src/` imports only
//! the rooms it may. `model/` is pure; `engine/` knows `model/`,
//! `config/` and its own ports, never the simulator, the probes, sockets
//! or files; `console/` sees only the engine's handle and the model;
//! the simulator does not import the prober; the SNMP stack knows
//! nothing of who uses it; the store knows the engine's port and the
//! incident records, and no sockets.
//!
//! Each `.rs` file is read up to its `#[cfg(test)]` module (tests may use
//! what they like); every `crate::…` path is taken, including those in
//! `use crate::{a::…, b::…}` groups.
#![allow(clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Folder, the top-level modules it may name, and text it must not
/// contain (sockets, files, processes).
const RULES: &[(&str, &[&str], &[&str])] = &[
    (
        "model",
        &["model"],
        &[
            "std::fs",
            "std::net",
            "tokio",
            "std::process",
            "std::thread",
        ],
    ),
    (
        "engine",
        &["engine", "model", "config", "incident", "playbook"],
        &[
            "std::fs",
            "std::net",
            "tokio::net",
            "tokio::fs",
            "std::process",
            "std::thread",
        ],
    ),
    (
        "console",
        &["console", "engine", "model"],
        &[
            "std::fs",
            "std::net",
            "tokio::net",
            "tokio::fs",
            "std::process",
        ],
    ),
    ("config", &["config", "model"], &["tokio"]),
    (
        "incident",
        &["incident", "model", "config"],
        &[
            "std::fs",
            "std::net",
            "tokio",
            "std::process",
            "std::thread",
        ],
    ),
    ("snmp", &["snmp", "config"], &[]),
    ("probe", &["probe", "model", "config", "snmp"], &[]),
    ("sim", &["sim", "engine", "model", "config", "snmp"], &[]),
    (
        "store",
        &["store", "engine", "incident", "model", "config", "playbook"],
        &["std::net", "tokio", "std::process"],
    ),
    // Notifications: its own input type; it starts threads and commands
    // and talks to the session bus, but knows nothing of probes, the
    // console or the simulator.
    ("notify", &["notify", "model", "config", "engine"], &[]),
    // Playbook runs: the run machine and resolution are pure (the engine
    // drives them); `exec` starts a shell step's process (and reads
    // /proc for its group); nothing here opens a socket.
    (
        "playbook",
        &["playbook", "model", "config", "engine"],
        &["std::net", "tokio::net"],
    ),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable src folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file before its test module, without line comments.
fn code(text: &str) -> String {
    let body = text.split("#[cfg(test)]").next().unwrap_or_default();
    body.lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every top-level module named after `crate::` in `code`.
fn crate_modules(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a::x, b, c::{y, z}}`: the first segment of each item
            // at depth one.
            let mut depth = 1;
            let mut item = String::new();
            let mut first = true;
            for ch in group.chars() {
                match ch {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 1 => {
                        first = true;
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
                if depth == 1 && first {
                    if ch.is_alphanumeric() || ch == '_' {
                        item.push(ch);
                    } else if !item.is_empty() {
                        out.insert(item.clone());
                        first = false;
                    }
                }
            }
            if first && !item.is_empty() {
                out.insert(item);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

#[test]
fn every_room_imports_only_what_it_may() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut problems = Vec::new();
    let mut checked = 0;
    for (room, allowed, banned) in RULES {
        let mut files = Vec::new();
        rust_files(&src.join(room), &mut files);
        assert!(!files.is_empty(), "src/{room} has no files");
        for file in files {
            checked += 1;
            let text = std::fs::read_to_string(&file).expect("readable");
            let code = code(&text);
            let shown = file.strip_prefix(&src).unwrap_or(&file).display();
            for module in crate_modules(&code) {
                if !allowed.contains(&module.as_str()) {
                    problems.push(format!("src/{shown} imports crate::{module}"));
                }
            }
            for word in *banned {
                if code.contains(word) {
                    problems.push(format!("src/{shown} uses {word}"));
                }
            }
        }
    }
    assert!(checked > 40, "only {checked} files checked");
    assert!(
        problems.is_empty(),
        "layering broken:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_checker_sees_grouped_and_plain_paths() {
    let found = crate_modules(
        "use crate::{config::venues::{A, B}, model::X};\nlet y = crate::sim::start();\nuse crate::probe;",
    );
    let found: Vec<&str> = found.iter().map(String::as_str).collect();
    assert_eq!(found, ["config", "model", "probe", "sim"]);
    assert_eq!(
        code("use crate::a; // crate::b\n#[cfg(test)]\nuse crate::c;"),
        "use crate::a; "
    );
}
