//! Bad input never panics the loader, and every diagnostic points inside
//! the file: random text, and the valid fixture with a line removed or
//! changed.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use proptest::prelude::*;
use toc::config::{Inventory, Severity, SourceFile};

const BASE: &str = include_str!("fixtures/base.toml");

fn check_positions(text: &str) {
    let lines = text.lines().count().max(1);
    match Inventory::parse(&SourceFile::new("f.toml", text.to_owned())) {
        Ok((_, warnings)) => {
            assert!(warnings.iter().all(|d| d.severity == Severity::Warning));
        }
        Err(diags) => {
            assert!(
                diags.iter().any(|d| d.severity == Severity::Error),
                "Err without an error"
            );
            for d in diags {
                assert!(
                    d.line >= 1 && d.line <= lines + 1,
                    "line {} of {lines}: {d}",
                    d.line
                );
                assert!(d.column >= 1, "{d}");
                assert!(d.help.is_some(), "every error says what to do: {d}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_text_never_panics(text in "\\PC{0,400}") {
        check_positions(&text);
    }

    #[test]
    fn toml_like_text_never_panics(text in "(\\[\\[?[a-z.]{1,12}\\]\\]?\n|[a-z_]{1,10} = (\"[a-z0-9:/.@-]{0,20}\"|[0-9]{1,4}|true|\\[\"[a-z]{1,5}\"\\])\n){0,30}") {
        check_positions(&text);
    }

    #[test]
    fn removing_a_line_of_a_valid_file_never_panics(line in 0usize..60) {
        let text: Vec<&str> = BASE.lines().collect();
        let kept: Vec<&str> = text.iter().enumerate().filter(|(i, _)| *i != line).map(|(_, l)| *l).collect();
        check_positions(&kept.join("\n"));
    }

    #[test]
    fn changing_a_value_of_a_valid_file_never_panics(line in 0usize..60, value in "(\"[^\"\\\\]{0,12}\"|-?[0-9]{1,3}|true|\\[\\]|\\{\\})") {
        let text: Vec<String> = BASE
            .lines()
            .enumerate()
            .map(|(i, l)| match (i == line, l.split_once(" = ")) {
                (true, Some((k, _))) => format!("{k} = {value}"),
                _ => l.to_owned(),
            })
            .collect();
        check_positions(&text.join("\n"));
    }
}
