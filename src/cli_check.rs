//! `toc check`: the venues file, its playbooks and users file, checked
//! together, with every problem at its file, line and column.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use toc::config::{self, Diagnostic, Inventory, Severity};
use toc::model::printable;

use crate::{EXIT_CONFIG, cli_users, print_diags, shown};

/// `toc check FILE [--playbooks DIR] [--users FILE]`.
pub(crate) fn check(file: &Path, playbooks: Option<&Path>, users: Option<&Path>) -> ExitCode {
    let count_errors = |diags: &[Diagnostic]| {
        diags
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    };
    let mut failed: Vec<(PathBuf, usize)> = Vec::new();
    let inventory = match Inventory::load(file) {
        Ok((inv, warnings)) => {
            print_diags(&warnings);
            Some(inv)
        }
        Err(diags) => {
            print_diags(&diags);
            failed.push((file.to_path_buf(), count_errors(&diags)));
            None
        }
    };
    let dir = match playbooks {
        Some(d) => Some(d.to_path_buf()),
        None => inventory
            .as_ref()
            .map(|inv| inv.playbooks.dir.clone())
            .or_else(|| file.parent().map(|p| p.join("playbooks")))
            .filter(|d| has_toml(d)),
    };
    let books = dir
        .as_ref()
        .and_then(|d| check_playbooks(d, inventory.as_ref(), &mut failed));
    let users = check_users(file, users, inventory.as_ref(), &mut failed);
    if !failed.is_empty() {
        for (path, n) in &failed {
            tell!(
                "{}: {n} error{} found",
                path.display(),
                if *n == 1 { "" } else { "s" }
            );
        }
        tell!("fix them and run `toc check` again");
        return ExitCode::from(EXIT_CONFIG);
    }
    let Some(inv) = inventory else {
        return ExitCode::from(EXIT_CONFIG);
    };
    let s = inv.summary();
    let e = &inv.event;
    say!("{}: ok", shown(&file.display()));
    say!(
        "  event      {} (poll every {}, timeout {}, hard after {} attempts)",
        printable(&e.name),
        humantime::format_duration(e.poll_interval),
        humantime::format_duration(e.timeout),
        e.max_attempts
    );
    say!("  venues     {}", s.venues);
    say!(
        "  devices    {} (snmp {}, http {}, tcp {}; {} critical)",
        s.devices,
        s.snmp,
        s.http,
        s.tcp,
        s.critical
    );
    say!("  groups     {}", s.groups);
    say!("  feeds      {}", s.feeds);
    say!("  profiles   {}", s.profiles);
    if let (Some(books), Some(dir)) = (books, dir) {
        let steps: usize = books.iter().map(|b| b.steps.len()).sum();
        say!(
            "  playbooks  {} ({} steps, from {})",
            books.len(),
            steps,
            shown(&dir.display())
        );
    }
    print_policy(&inv);
    if let Some((path, users)) = users {
        let roles: Vec<String> = users
            .count_by_role()
            .iter()
            .map(|(r, n)| format!("{n} {r}"))
            .collect();
        say!(
            "  users      {} ({}; from {})",
            users.users.len(),
            if roles.is_empty() {
                "none".to_owned()
            } else {
                roles.join(", ")
            },
            shown(&path.display())
        );
    }
    ExitCode::SUCCESS
}

/// Whether `dir` is a folder holding at least one `*.toml` file: the
/// playbook folder `toc check` looks for when none is named.
fn has_toml(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|e| e.path().extension().is_some_and(|x| x == "toml"))
    })
}

/// `toc check`: the playbooks of `dir`, against the inventory when it
/// loaded; prints their errors (which join `failed`) and warnings.
fn check_playbooks(
    dir: &Path,
    inventory: Option<&Inventory>,
    failed: &mut Vec<(PathBuf, usize)>,
) -> Option<Vec<config::playbook::Playbook>> {
    let report = match inventory {
        Some(inv) => config::playbook::check_dir(dir, inv),
        None => match config::playbook::load_dir(dir) {
            Ok(books) => config::playbook::Report {
                books,
                ..config::playbook::Report::default()
            },
            Err(errors) => config::playbook::Report {
                errors,
                ..config::playbook::Report::default()
            },
        },
    };
    print_diags(&report.errors);
    print_diags(&report.warnings);
    if report.errors.is_empty() {
        return Some(report.books);
    }
    failed.push((dir.to_path_buf(), report.errors.len()));
    None
}

/// `toc check`: the users file given, or `users.toml` beside the venues
/// file when it exists; its errors join `failed`. Returns the users read.
fn check_users(
    file: &Path,
    given: Option<&Path>,
    inventory: Option<&Inventory>,
    failed: &mut Vec<(PathBuf, usize)>,
) -> Option<(PathBuf, config::users::Users)> {
    let path = cli_users::users_path(given, Some(file));
    if given.is_none() && !path.exists() {
        return None;
    }
    let codes = inventory.map(cli_users::venue_codes);
    match config::users::Users::load(&path, codes.as_deref()) {
        Ok((users, warnings)) => {
            print_diags(&warnings);
            Some((path, users))
        }
        Err(diags) => {
            print_diags(&diags);
            let n = diags
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .count();
            failed.push((path, n));
            None
        }
    }
}

/// `toc check`: the API, maintenance windows and the incident policy.
fn print_policy(inv: &Inventory) {
    say!(
        "  api        {}",
        inv.api.summary().trim_start_matches("api: ")
    );
    if let Some(relay) = &inv.relay {
        say!(
            "  relay      {}",
            relay.summary().trim_start_matches("relay: ")
        );
    }
    if !inv.maintenance.is_empty() {
        let now = std::time::SystemTime::now();
        let on = inv.maintenance.iter().filter(|m| m.covers(now)).count();
        let n = inv.maintenance.len();
        say!(
            "  maintenance {n} window{} ({on} in force now)",
            if n == 1 { "" } else { "s" }
        );
    }
    let p = &inv.incidents;
    let d = humantime::format_duration;
    say!(
        "  incidents  resolve after {} clear, reopen within {}, notify again after {} (down){}",
        d(p.resolve_hold),
        d(p.reopen_window),
        d(p.ack_timeout.down),
        match p.notify_command.first() {
            Some(program) => format!(", notify command {}", printable(program)),
            None => String::new(),
        }
    );
}
