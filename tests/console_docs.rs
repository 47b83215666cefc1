//! docs/console.md lists every key binding of the console, as the binding
//! table says it: context, keys and description.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use toc::console::keymap::{BINDINGS, Binding};

/// The row docs/console.md must have for a binding.
fn row(b: &Binding) -> String {
    let keys: Vec<String> = b.keys.iter().map(|k| format!("`{k}`")).collect();
    let demo = if b.demo { " (demo only)" } else { "" };
    format!(
        "| {} | {} | {}{demo} |",
        b.context.title(),
        keys.join(" "),
        b.description.replace('|', "\\|")
    )
}

#[test]
fn docs_list_every_binding() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/console.md"))
        .expect("docs/console.md");
    let missing: Vec<String> = BINDINGS
        .iter()
        .map(row)
        .filter(|r| !doc.lines().any(|l| l.trim() == r))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/console.md lacks these rows (or they changed):\n{}",
        missing.join("\n")
    );
}

/// The colour column of a status table row (`| ✔ | OK | green | … |` in
/// the README, `| OK | `✔ OK` | green |` in docs/console.md).
fn colour_of(doc: &str, word: &str) -> Option<String> {
    let colours = ["green", "orange", "yellow", "red", "magenta", "grey"];
    doc.lines()
        .filter(|l| l.starts_with('|'))
        .map(|l| l.split('|').map(str::trim).collect::<Vec<_>>())
        .filter(|cells| cells.len() > 2 && (cells[1] == word || cells[2] == word))
        .find_map(|cells| {
            cells
                .iter()
                .skip(2)
                .map(|c| c.to_lowercase())
                .find(|cell| colours.iter().any(|c| cell.contains(c)))
        })
}

#[test]
fn readme_and_console_docs_agree_on_status_colours() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).expect("README.md");
    let console =
        std::fs::read_to_string(format!("{root}/docs/console.md")).expect("docs/console.md");
    for word in [
        "OK",
        "DEGRADED",
        "DOWN",
        "UNREACHABLE",
        "UNKNOWN",
        "MAINTENANCE",
    ] {
        let said = colour_of(&readme, word).expect(word);
        let drawn = colour_of(&console, word).expect(word);
        assert!(
            drawn.contains(&said),
            "{word}: README says {said}, docs/console.md says {drawn}"
        );
    }
}
