//! `toc demo` and `toc run` refuse bad input before they take the
//! terminal: a clear error on stderr, nothing on stdout, exit status 2.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::Command;

fn toc(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_toc"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("toc runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_broken_inventory_names_file_line_and_column() {
    for cmd in ["demo", "run"] {
        let (code, stdout, stderr) = toc(&[cmd, "tests/fixtures/bad/bad_duration.toml"]);
        assert_eq!(code, 2, "{cmd}: {stderr}");
        assert!(stdout.is_empty(), "{cmd}: {stdout}");
        assert!(
            stderr
                .starts_with("tests/fixtures/bad/bad_duration.toml:3:17: error: invalid duration"),
            "{cmd}: {stderr}"
        );
        assert!(stderr.contains("1 error found"), "{cmd}: {stderr}");
    }
}

#[test]
fn a_missing_inventory_is_an_error_not_a_blank_screen() {
    let (code, stdout, stderr) = toc(&["run", "no-such-venues.toml"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("no-such-venues.toml:1:1: error: cannot read the file"),
        "{stderr}"
    );
}

#[test]
fn a_synthetic_games_out_of_range_is_refused() {
    for args in [
        &["demo", "--devices", "10", "--venues", "49"][..],
        &["demo", "--devices", "100", "--venues", "0"][..],
        &["demo", "--devices", "100", "--venues", "61"][..],
    ] {
        let (code, stdout, stderr) = toc(args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stdout.is_empty());
        assert!(
            stderr.contains("a synthetic Games needs 1 to 60 venues"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn venues_without_devices_is_a_usage_error() {
    let (code, _, stderr) = toc(&["demo", "--venues", "10"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--devices"), "{stderr}");
}
