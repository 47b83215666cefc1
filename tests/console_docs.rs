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
