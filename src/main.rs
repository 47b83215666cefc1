//! The `toc` command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use toc::config::{self, Diagnostic, Inventory, Severity};

/// toc: the Technology Operations Center console.
#[derive(Debug, Parser)]
#[command(name = "toc", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate venues.toml (and playbooks) and print a summary.
    Check {
        /// The inventory to check.
        #[arg(default_value = "venues.toml")]
        file: PathBuf,
        /// Playbook folder to check too (default: `playbooks/` beside the
        /// file, when it exists).
        #[arg(long, value_name = "DIR")]
        playbooks: Option<PathBuf>,
    },
}

/// Exit status for an invalid configuration.
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { file, playbooks } => check(&file, playbooks.as_deref()),
    }
}

fn print_diags(diags: &[Diagnostic]) {
    eprint!("{}", config::diag::render(diags));
}

fn check(file: &Path, playbooks: Option<&Path>) -> ExitCode {
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
    let default_dir = file.parent().map(|p| p.join("playbooks"));
    let dir = match playbooks {
        Some(d) => Some(d.to_path_buf()),
        None => default_dir.filter(|d| d.is_dir()),
    };
    let books = dir
        .as_ref()
        .and_then(|d| match config::playbook::load_dir(d) {
            Ok(books) => Some(books),
            Err(diags) => {
                print_diags(&diags);
                failed.push((d.clone(), count_errors(&diags)));
                None
            }
        });
    if !failed.is_empty() {
        for (path, n) in &failed {
            eprintln!(
                "{}: {n} error{} found",
                path.display(),
                if *n == 1 { "" } else { "s" }
            );
        }
        eprintln!("fix them and run `toc check` again");
        return ExitCode::from(EXIT_CONFIG);
    }
    let Some(inv) = inventory else {
        return ExitCode::from(EXIT_CONFIG);
    };
    let s = inv.summary();
    let e = &inv.event;
    println!("{}: ok", file.display());
    println!(
        "  event      {} (poll every {}, timeout {}, hard after {} attempts)",
        e.name,
        humantime::format_duration(e.poll_interval),
        humantime::format_duration(e.timeout),
        e.max_attempts
    );
    println!("  venues     {}", s.venues);
    println!(
        "  devices    {} (snmp {}, http {}, tcp {}; {} critical)",
        s.devices, s.snmp, s.http, s.tcp, s.critical
    );
    println!("  groups     {}", s.groups);
    println!("  feeds      {}", s.feeds);
    println!("  profiles   {}", s.profiles);
    if let (Some(books), Some(dir)) = (books, dir) {
        let steps: usize = books.iter().map(|b| b.steps.len()).sum();
        println!(
            "  playbooks  {} ({} steps, from {})",
            books.len(),
            steps,
            dir.display()
        );
    }
    ExitCode::SUCCESS
}
