//! The `toc` command line.

/// jemalloc, not glibc's malloc: after a burst (devices recovering
/// together, a busy machine) glibc kept the freed memory and the resident
/// size of `toc demo --devices 10000` ratcheted up by 5 to 20 MB each
/// time; jemalloc gives it back (`cargo bench --bench soak`, README).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};

mod cli_console;
mod cli_incidents;
mod cli_playbook;
mod cli_tokens;
mod cli_users;

use toc::config::{self, Diagnostic, Inventory, Severity};
use toc::model::{printable, redact_urls};
use toc::probe::oneshot;
use toc::runtime::audit::FileAudit;
use toc::runtime::console::Ended;
use toc::sim::{Scenario, SimOptions};

/// toc: the Technology Operations Center console.
#[derive(Debug, Parser)]
#[command(name = "toc", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Doc comments here are `--help` text, read in a terminal: no Markdown.
#[allow(clippy::large_enum_variant, clippy::doc_markdown)]
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
        /// Users file to check too (default: users.toml beside the file,
        /// when it exists).
        #[arg(long, value_name = "FILE")]
        users: Option<PathBuf>,
    },
    /// Check one device now and print what the probe reads: a URL
    /// (snmp://host[:port], http(s)://…, tcp://host:port) or a device id
    /// of the venues file. Exit status 0 OK, 1 WARNING, 2 CRITICAL,
    /// 3 UNKNOWN (as monitoring plugins).
    Probe(oneshot::Request),
    /// Simulate the venues of a file on this machine: SNMP agents, HTTP
    /// health endpoints and TCP listeners for every loopback device, with
    /// fault injection over a control API.
    Sim {
        /// The inventory to simulate.
        #[arg(default_value = "venues.toml")]
        file: PathBuf,
        /// Where the control API listens (loopback only); port 0 takes a
        /// free port, printed at start.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7070")]
        control: SocketAddr,
        /// A scenario of timed faults to play (see scenarios/).
        #[arg(long, value_name = "FILE")]
        scenario: Option<PathBuf>,
        /// Serve every device on a free port from the system instead of
        /// the port in the file, and print each address of the file with
        /// the address served in its place.
        #[arg(long)]
        ephemeral: bool,
        /// Where the audit log (audit.log) goes: every fault set or
        /// cleared through the control API or the scenario is recorded
        /// there. The file's `data_dir` by default, as for `toc demo`.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// The whole console on simulated venues, in one process: the venues of
    /// the file are simulated on this machine (on free loopback ports),
    /// polled, and shown live. Inject faults with `f` on a venue or
    /// `:fault DEVICE down`.
    Demo {
        /// The inventory to simulate.
        #[arg(default_value = "venues.toml")]
        file: PathBuf,
        /// Simulate a synthetic Games of this many devices instead of the
        /// file (see --venues).
        #[arg(long, value_name = "N")]
        devices: Option<usize>,
        /// Venues of the synthetic Games.
        #[arg(long, value_name = "N", default_value_t = 49, requires = "devices")]
        venues: usize,
        /// Poll every device this often (e.g. 1s) instead of the file's
        /// intervals.
        #[arg(long, value_name = "DURATION", value_parser = interval)]
        interval: Option<Duration>,
        /// Give up on an unanswered request after this long (e.g. 200ms)
        /// instead of the file's timeout.
        #[arg(long, value_name = "DURATION", value_parser = timeout)]
        timeout: Option<Duration>,
        /// No console: read commands from standard input, one a line, as
        /// typed on the console's `:` line (ack 1-3 on it), and print one
        /// line for each: `applied: …` or `refused: …` (the first line
        /// printed is `ready`). Ends at the end of the input (exit 0) or on
        /// SIGTERM/SIGINT (exit 128 + its number). See docs/headless.md.
        #[arg(long)]
        no_console: bool,
        #[command(flatten)]
        screen: Screen,
        #[command(flatten)]
        who: Who,
    },
    /// The incidents kept in the store (open ones by default), while a
    /// console runs or after: as text, or as JSON for scripts.
    Incidents {
        /// The venues file whose data folder holds the store (toc-data in
        /// the current folder when there is none, as for a synthetic demo).
        #[arg(default_value = "venues.toml")]
        file: PathBuf,
        /// Every incident, resolved ones too.
        #[arg(long)]
        all: bool,
        /// Time to acknowledge and to resolve (median, p90) by venue and
        /// severity.
        #[arg(long, conflicts_with = "all")]
        stats: bool,
        /// A JSON array of incidents.
        #[arg(long)]
        json: bool,
        /// The data folder holding toc.db, instead of the file's.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// The shift handover report: what opened, what is still open and
    /// who acknowledged it, what resolved, the notes, maintenance in
    /// force; Markdown, to paste into a chat.
    Handover {
        /// The venues file whose data folder holds the store.
        #[arg(default_value = "venues.toml")]
        file: PathBuf,
        /// The shift: how far back (e.g. 8h).
        #[arg(long, value_name = "DURATION", default_value = "8h", value_parser = since)]
        since: Duration,
        /// The data folder holding toc.db, instead of the file's.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Every command given to the engine, applied or refused: who, role,
    /// when, what, outcome.
    Audit {
        /// The venues file whose data folder holds the store.
        #[arg(default_value = "venues.toml")]
        file: PathBuf,
        /// How far back (e.g. 2h, 30m, 1d).
        #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = since)]
        since: Duration,
        /// A JSON array of records.
        #[arg(long)]
        json: bool,
        /// The data folder holding toc.db, instead of the file's.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Incident playbooks: list them, show one, dry-run one for an
    /// incident (prints what each step would do; does nothing).
    Playbook(cli_playbook::Args),
    /// API tokens for users.toml: `toc users token NAME` makes one,
    /// `toc users hash` hashes one read from stdin.
    Users(cli_tokens::Args),
    /// The TOC server: the engine, the poller and the result relay of the
    /// file, without a terminal. Logs to the data folder; SIGTERM or
    /// SIGINT drains the relay and exits 0.
    Serve {
        /// The inventory to poll and the relay to run.
        #[arg(default_value = "venues.toml")]
        file: PathBuf,
        /// Let the API listen on a non-loopback `[api] listen` without
        /// TLS (tokens and commands cross the network in clear; a warning
        /// is printed and logged).
        #[arg(long)]
        insecure_listen: bool,
    },
    /// The console of a remote TOC server (toc serve): over its API
    /// (--connect URL, the token in TOC_TOKEN or --token-file) or its
    /// Unix socket (--socket PATH, as your OS user). Survives a server
    /// restart: a banner while disconnected, then it reconnects.
    Console {
        #[command(flatten)]
        args: cli_console::Args,
        #[command(flatten)]
        screen: Screen,
    },
    /// The console on real equipment: poll the devices of the file and
    /// show them live.
    Run {
        /// The inventory to poll.
        #[arg(default_value = "venues.toml")]
        file: PathBuf,
        /// No console: read commands from standard input, one a line, as
        /// typed on the console's `:` line (ack 1-3 on it), and print one
        /// line for each: `applied: …` or `refused: …` (the first line
        /// printed is `ready`). Ends at the end of the input (exit 0) or on
        /// SIGTERM/SIGINT (exit 128 + its number). See docs/headless.md.
        #[arg(long)]
        no_console: bool,
        #[command(flatten)]
        screen: Screen,
        #[command(flatten)]
        who: Who,
    },
}

/// Who the console runs as.
#[derive(Debug, Clone, clap::Args)]
struct Who {
    /// Run the console as this user of the users file (its role and
    /// venues), instead of the OS user.
    #[arg(long, value_name = "NAME")]
    user: Option<String>,
    /// The users file (default: users.toml beside the venues file; for a
    /// synthetic Games, in the current folder). Without one, the local
    /// user is a duty manager over every venue.
    #[arg(long, value_name = "FILE")]
    users: Option<PathBuf>,
}

/// How the console draws.
// Doc comments here are `--help` text: no Markdown.
#[allow(clippy::doc_markdown, clippy::struct_excessive_bools)] // flags of the command line
#[derive(Debug, clap::Args)]
struct Screen {
    /// No colours, only glyphs, words and bold (also when NO_COLOR is
    /// set).
    #[arg(long)]
    no_color: bool,
    /// Capture the mouse (off by default, so text can be selected over
    /// SSH).
    #[arg(long)]
    mouse: bool,
    /// Draw with ASCII only (+ OK, X DOWN, +--+ borders), also when the
    /// locale is UTF-8; without a UTF-8 locale this is the default.
    #[arg(long)]
    ascii: bool,
    /// Ring the terminal bell when a new DOWN incident opens.
    #[arg(long)]
    bell: bool,
}

/// `--interval`: a duration in the range of the file's `poll_interval`.
fn interval(s: &str) -> Result<Duration, String> {
    config::value::POLL_INTERVAL.check_named(config::value::parse_duration(s)?, "the interval")
}

/// `--timeout`: a duration in the range of the file's `timeout`.
fn timeout(s: &str) -> Result<Duration, String> {
    config::value::TIMEOUT.check_named(config::value::parse_duration(s)?, "the timeout")
}

/// Prints a line to stdout; a closed pipe ends the output quietly
/// (`toc check | head -1`, and the simulator keeps serving when nobody
/// reads its log: `toc sim | head`). Never `println!`, which panics there.
macro_rules! say {
    ($($arg:tt)*) => {
        toc::runtime::out::line(format_args!($($arg)*))
    };
}

/// Prints a line to stderr, ignoring a closed stderr. Never `eprintln!`,
/// which panics on a closed pipe (`toc probe bad 2>&1 | true`).
macro_rules! tell {
    ($($arg:tt)*) => {
        toc::runtime::out::err(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Text for this terminal: as it is in a UTF-8 locale, else in ASCII (the
/// console's glyphs: `X DOWN`, `+ OK`), so `toc probe` reads like the
/// console in the C locale too.
fn for_terminal(text: &str) -> String {
    let env = |k: &str| std::env::var(k).ok();
    let glyphs = toc::console::Glyphs::for_locale(
        env("LC_ALL").as_deref(),
        env("LC_CTYPE").as_deref(),
        env("LANG").as_deref(),
    );
    if !glyphs.is_ascii() || text.is_ascii() {
        return text.to_owned();
    }
    let mut buf = [0u8; 4];
    text.chars()
        .map(|c| toc::console::Glyphs::ascii_cell(c.encode_utf8(&mut buf)).into_owned())
        .collect()
}

/// A path or other text from the command line or a file, as it may be
/// shown on a terminal ([`printable`]).
fn shown(text: &impl std::fmt::Display) -> String {
    printable(&text.to_string()).into_owned()
}

/// Exit status for an invalid configuration.
const EXIT_CONFIG: u8 = 2;

/// Exit status when a command cannot run here (`toc demo` without a
/// terminal), as for a command line clap refuses.
const EXIT_USAGE: u8 = 2;

/// Exit status after a panic (as Rust's own, when a panic ends `main`).
const EXIT_PANIC: u8 = 101;

fn main() -> ExitCode {
    let code = command(Cli::parse().command);
    // Output that could not be written whole is not a success; a closed
    // pipe is (the reader had what it wanted): `toc::runtime::out`.
    if code == ExitCode::SUCCESS {
        ExitCode::from(toc::runtime::out::status(0))
    } else {
        code
    }
}

#[allow(clippy::too_many_lines)] // one arm per subcommand
fn command(command: Command) -> ExitCode {
    match command {
        Command::Check {
            file,
            playbooks,
            users,
        } => check(&file, playbooks.as_deref(), users.as_deref()),
        Command::Sim {
            file,
            control,
            scenario,
            ephemeral,
            data_dir,
        } => sim(
            &file,
            control,
            scenario.as_deref(),
            ephemeral,
            data_dir.as_deref(),
        ),
        Command::Probe(request) => probe(&request),
        Command::Demo {
            file,
            devices,
            venues,
            interval,
            timeout,
            no_console,
            screen,
            who,
        } => {
            let source = match devices {
                Some(n) => Source::Synthetic { venues, devices: n },
                None => Source::File(file),
            };
            let face = if no_console {
                Face::Headless
            } else {
                Face::Console(&screen)
            };
            live(&source, (interval, timeout), (face, &who), true)
        }
        Command::Console { args, screen } => console(args, &screen),
        Command::Incidents {
            file,
            all,
            stats,
            json,
            data_dir,
        } => read_store(&file, data_dir.as_deref(), |path| {
            if stats {
                cli_incidents::stats(path, json)
            } else {
                cli_incidents::incidents(path, all, json)
            }
        }),
        Command::Handover {
            file,
            since,
            data_dir,
        } => read_store(&file, data_dir.as_deref(), |path| {
            cli_incidents::handover(path, since)
        }),
        Command::Audit {
            file,
            since,
            json,
            data_dir,
        } => read_store(&file, data_dir.as_deref(), |path| {
            cli_incidents::audit(path, since, json)
        }),
        Command::Run {
            file,
            no_console,
            screen,
            who,
        } => {
            let face = if no_console {
                Face::Headless
            } else {
                Face::Console(&screen)
            };
            live(&Source::File(file), (None, None), (face, &who), false)
        }
        Command::Playbook(args) => cli_playbook::run(&args),
        Command::Users(args) => cli_tokens::run(&args),
        Command::Serve {
            file,
            insecure_listen,
        } => {
            let who = Who {
                user: None,
                users: None,
            };
            live(
                &Source::File(file),
                (None, None),
                (Face::Serve { insecure_listen }, &who),
                false,
            )
        }
    }
}

/// `toc incidents` and `toc audit`: prints what `read` made of the store
/// of `file`'s data folder; exit 1 when it cannot be read.
fn read_store(
    file: &Path,
    data_dir: Option<&Path>,
    read: impl FnOnce(&Path) -> Result<String, String>,
) -> ExitCode {
    match cli_incidents::store_path(file, data_dir).and_then(|path| read(&path)) {
        Ok(text) => {
            // Line by line: what devices and people wrote is shown
            // escaped, the lines themselves are kept.
            for line in text.lines() {
                say!("{}", printable(line));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            tell!("toc: {}", printable(&e));
            ExitCode::FAILURE
        }
    }
}

/// A `--since` duration (at most 10 years back).
fn since(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text.trim())
        .map_err(|_| format!("`{text}` is not a duration; write it like 2h, 30m or 1d"))?;
    if d > Duration::from_secs(10 * 365 * 24 * 3600) {
        return Err(format!("`{text}` is too long: at most 10 years"));
    }
    Ok(d)
}

/// `toc probe`: exit 3 (UNKNOWN) when the check cannot even start.
fn probe(req: &oneshot::Request) -> ExitCode {
    const UNKNOWN: u8 = 3;
    if req.target == oneshot::HOST {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            tell!("toc probe: cannot start the runtime");
            return ExitCode::from(UNKNOWN);
        };
        let (heading, outcome) = runtime.block_on(oneshot::run_host(req));
        say!(
            "{}",
            for_terminal(oneshot::render_host(&heading, &outcome).trim_end())
        );
        return ExitCode::from(oneshot::exit_code(&outcome.result));
    }
    let (mut inventory, device) = match oneshot::build(req) {
        Ok(x) => x,
        Err(oneshot::RequestError::Config(diags)) => {
            print_diags(&diags);
            return ExitCode::from(UNKNOWN);
        }
        Err(oneshot::RequestError::Other(msg)) => {
            tell!("toc probe: {msg}");
            return ExitCode::from(UNKNOWN);
        }
    };
    if let Some(config) = oneshot::device_file(req)
        && let Some(note) = toc::runtime::published::use_running_demo(&mut inventory, &config)
    {
        tell!("toc probe: {note}");
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tell!("toc probe: cannot start the runtime: {e}");
            return ExitCode::from(UNKNOWN);
        }
    };
    match runtime.block_on(oneshot::run(&inventory, device)) {
        Ok(outcome) => {
            if let Some(d) = inventory.devices.get(device) {
                say!(
                    "{}",
                    for_terminal(oneshot::render(&inventory, d, &outcome).trim_end())
                );
            }
            ExitCode::from(oneshot::exit_code(&outcome.result))
        }
        Err(e) => {
            tell!("toc probe: {e}");
            ExitCode::from(UNKNOWN)
        }
    }
}

fn print_diags(diags: &[Diagnostic]) {
    toc::runtime::out::err(format_args!("{}", config::diag::render(diags)));
}

fn check(file: &Path, playbooks: Option<&Path>, users: Option<&Path>) -> ExitCode {
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

/// Prints the errors of a file that cannot be used, the way `toc check`
/// does.
fn config_failed(path: &Path, diags: &[Diagnostic]) -> ExitCode {
    print_diags(diags);
    let n = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    tell!(
        "{}: {n} error{} found",
        path.display(),
        if n == 1 { "" } else { "s" }
    );
    ExitCode::from(EXIT_CONFIG)
}

fn sim(
    file: &Path,
    control: SocketAddr,
    scenario_path: Option<&Path>,
    ephemeral: bool,
    data_dir: Option<&Path>,
) -> ExitCode {
    let inventory = match Inventory::load(file) {
        Ok((inv, warnings)) => {
            print_diags(&warnings);
            Arc::new(inv)
        }
        Err(diags) => return config_failed(file, &diags),
    };
    let scenario = match scenario_path.map(|p| (p, Scenario::load(p, &inventory))) {
        None => None,
        Some((_, Ok(s))) => Some(s),
        Some((p, Err(diags))) => return config_failed(p, &diags),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tell!("toc sim: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let dir = data_dir.unwrap_or(&inventory.event.data_dir);
    let logs = &inventory.event.logs;
    let audit = match FileAudit::open_rotated(dir, logs.audit_max_bytes, logs.audit_keep) {
        Ok(a) => Arc::new(a),
        Err(e) => {
            tell!(
                "toc sim: cannot open the audit log in {}: {e}",
                dir.display()
            );
            return ExitCode::FAILURE;
        }
    };
    let options = SimOptions {
        control,
        scenario,
        ephemeral,
        audit: Some(Arc::clone(&audit) as Arc<dyn toc::sim::SimAudit>),
    };
    let code = runtime.block_on(run_sim(file, inventory, options, scenario_path, &audit));
    audit.close();
    code
}

async fn run_sim(
    file: &Path,
    inventory: Arc<Inventory>,
    options: SimOptions,
    scenario_file: Option<&Path>,
    audit: &FileAudit,
) -> ExitCode {
    let plan = options
        .scenario
        .as_ref()
        .map(|s| (s.steps.len(), s.big_bang));
    let scenario_file = scenario_file.map(Path::display);
    let handle = match toc::sim::start(Arc::clone(&inventory), options).await {
        Ok(h) => h,
        Err(e) => {
            tell!("toc sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut events = handle.subscribe();
    let s = handle.summary();
    say!(
        "toc sim: {} ({} devices in {})",
        printable(&inventory.event.name),
        inventory.devices.len(),
        shown(&file.display())
    );
    print_served(s);
    if let (Some((steps, big_bang)), Some(path)) = (plan, scenario_file) {
        let mut what = Vec::new();
        if let Some(at) = big_bang {
            what.push(format!(
                "every device silent until the big bang at {}",
                humantime::format_duration(at)
            ));
        }
        if steps > 0 {
            what.push(format!("{steps} step{}", if steps == 1 { "" } else { "s" }));
        }
        say!("  scenario  {}: {}", shown(&path), what.join(", "));
    }
    let url = format!("http://{}", handle.control_addr());
    let example = inventory
        .devices
        .iter()
        .map(|d| d.id.as_str())
        .find(|id| !s.skipped.iter().any(|k| k.device == *id))
        .unwrap_or("DEVICE-ID");
    say!("  control   {url}/faults");
    say!("  audit     {}", shown(&audit.path().display()));
    say!("inject a fault:");
    say!(
        "  curl -X POST {url}/faults -H 'Content-Type: application/json' -d '{{\"target\":\"{example}\",\"fault\":\"down\",\"for\":\"30s\"}}'"
    );
    say!("list, clear one, clear all:");
    say!("  curl {url}/faults");
    say!("  curl -X DELETE {url}/faults/{example}");
    say!("  curl -X DELETE {url}/faults");
    say!("Ctrl-C stops the simulator.");
    let stop = stop_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            event = events.recv() => match event {
                // Scenario notes and fault targets come from files and
                // the control API: escaped.
                Ok(e) => say!("[+{:>7.1}s] {}", e.at.as_secs_f64(), printable(&e.text)),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    say!("({n} events not shown)");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            },
        }
    }
    say!("stopping the simulator");
    handle.shutdown().await;
    ExitCode::SUCCESS
}

/// What `toc sim` serves: the lines of its summary, before the scenario
/// and the control API.
fn print_served(s: &toc::sim::SimSummary) {
    say!(
        "  snmp      {} agents (udp), {} devices",
        s.snmp_ports,
        s.snmp_devices
    );
    say!(
        "  http      {} health servers, {} devices",
        s.http_ports,
        s.http_devices
    );
    say!(
        "  tcp       {} listeners, {} devices",
        s.tcp_listeners,
        s.tcp_devices
    );
    for w in &s.warnings {
        say!("  warning   {w}");
    }
    if !s.skipped.is_empty() {
        say!("  skipped   {} devices:", s.skipped.len());
        for k in s.skipped.iter().take(10) {
            say!(
                "              {}: {}",
                printable(&k.device),
                printable(&redact_urls(&k.reason))
            );
        }
        if s.skipped.len() > 10 {
            say!("              and {} more", s.skipped.len() - 10);
        }
    }
    if !s.remapped.is_empty() {
        // One line per address, whole: scripts and tests read them.
        say!(
            "  ephemeral {} addresses on ports from the system (file -> served):",
            s.remapped.len()
        );
        for (from, to) in &s.remapped {
            say!("              {from} -> {to}");
        }
    }
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// `toc console`: the console drawn as `toc demo`'s, over a remote
/// engine.
fn console(args: cli_console::Args, screen: &Screen) -> ExitCode {
    let options = if args.no_console {
        None
    } else {
        match console_options("toc console", screen, false) {
            Ok(options) => Some(options),
            Err(code) => return code,
        }
    };
    cli_console::run(args, options)
}

/// Where the inventory of `toc demo` / `toc run` comes from.
enum Source {
    File(PathBuf),
    Synthetic { venues: usize, devices: usize },
}

/// How the console of `toc demo` / `toc run` draws, from the flags and
/// the environment: colours (`NO_COLOR`), glyphs (the locale, `--ascii`),
/// the palette (`TERM`, `COLORTERM`). `Err` after saying why on a
/// terminal that cannot show the console at all (`TERM=dumb` or unset),
/// or when stdout or the keyboard is not a terminal (exit 2).
fn console_options(
    name: &str,
    screen: &Screen,
    demo: bool,
) -> Result<toc::console::ConsoleOptions, ExitCode> {
    let env = |name: &str| std::env::var(name).ok();
    let term = env("TERM");
    if let Some(why) = toc::console::theme::unusable_terminal(term.as_deref()) {
        tell!(
            "{name}: this terminal cannot show the console ({why}); run it in a terminal such as xterm, screen or tmux (TERM=xterm-256color, TERM=vt100, …)"
        );
        return Err(ExitCode::FAILURE);
    }
    if let Some(what) = not_a_terminal() {
        tell!(
            "{name}: needs a terminal to draw the console, and {what}; run it in a terminal (over SSH: ssh -t)"
        );
        return Err(ExitCode::from(EXIT_USAGE));
    }
    let no_color = screen.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let glyphs = if screen.ascii {
        toc::console::Glyphs::ASCII
    } else {
        toc::console::Glyphs::for_locale(
            env("LC_ALL").as_deref(),
            env("LC_CTYPE").as_deref(),
            env("LANG").as_deref(),
        )
    };
    Ok(toc::console::ConsoleOptions {
        color: !no_color,
        mouse: screen.mouse,
        bell: screen.bell,
        demo,
        glyphs,
        palette: toc::console::Palette::for_terminal(term.as_deref(), env("COLORTERM").as_deref()),
        venues: Vec::new(),
    })
}

/// What is not a terminal, when the console cannot run here: it draws
/// on stdout and reads keys from stdin (or, as crossterm does, from
/// `/dev/tty` when stdin is redirected).
fn not_a_terminal() -> Option<&'static str> {
    use std::io::IsTerminal as _;
    if !std::io::stdout().is_terminal() {
        return Some("stdout is not one");
    }
    let keys = std::io::stdin().is_terminal()
        || std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .is_ok();
    (!keys).then_some("there is none to read keys from")
}

/// What `toc demo` / `toc run` show: the console, or none
/// (`--no-console`: commands on standard input).
#[derive(Debug, Clone, Copy)]
enum Face<'a> {
    Console(&'a Screen),
    Headless,
    /// `toc serve`: no console and no commands; until a signal.
    Serve {
        /// `--insecure-listen`.
        insecure_listen: bool,
    },
}

/// `toc demo` and `toc run`: engine and console (and, in a demo, the
/// simulator) in one process.
#[allow(clippy::too_many_lines)] // the start, in order, with each way it fails
fn live(
    source: &Source,
    (interval, timeout): (Option<Duration>, Option<Duration>),
    (face, who): (Face<'_>, &Who),
    demo: bool,
) -> ExitCode {
    let name = match (face, demo) {
        (Face::Serve { .. }, _) => "toc serve",
        (_, true) => "toc demo",
        (_, false) => "toc run",
    };
    if let Err(code) = synthetic_fits(source, name) {
        return code;
    }
    let inventory = match load(source) {
        Ok(inv) => inv,
        Err(code) => return code,
    };
    let engine = match load_playbooks(source, &inventory) {
        Ok(playbooks) => toc::engine::EngineConfig {
            playbooks,
            shell: inventory.playbooks.shell,
            ..toc::engine::EngineConfig::default()
        },
        Err(code) => return code,
    };
    // The flags go through the checks the file's values go through.
    if let Err(e) = inventory.check_overrides(interval, timeout) {
        eprintln!("{name}: {e}");
        return ExitCode::from(EXIT_CONFIG);
    }
    let user = match whoami((name, demo), source, who, &inventory) {
        Ok(user) => user,
        Err(code) => return code,
    };
    // A plain demo ignores the users file, as for the console's user.
    let plain_demo = demo && who.user.is_none() && who.users.is_none();
    let users_file =
        (!plain_demo).then(|| cli_users::users_path(who.users.as_deref(), source_file(source)));
    let auth = match cli_tokens::authenticator(
        users_file.as_deref(),
        &inventory,
        source_file(source).is_some(),
    ) {
        Ok(auth) => std::sync::Arc::new(auth),
        Err((path, diags)) => return config_failed(&path, &diags),
    };
    // After the file (its errors come first), before the log and the
    // engine: nothing starts on a terminal that cannot show the console.
    let options = match face {
        Face::Console(screen) => match console_options(name, screen, demo) {
            Ok(options) => Some(options),
            Err(code) => return code,
        },
        Face::Headless | Face::Serve { .. } => None,
    };
    let data_dir = inventory.event.data_dir.clone();
    let log = match start_log(&data_dir, &inventory.event.logs) {
        Ok(path) => path,
        Err(e) => {
            tell!(
                "{name}: cannot write the log in {}: {e}",
                data_dir.display()
            );
            return ExitCode::FAILURE;
        }
    };
    // Simulator, poller and engine run on this thread: at 10,000 devices
    // they need about a fifth of a core together. One thread means one
    // malloc arena, so the memory freed after reading a large inventory is
    // reused instead of left behind (peak RSS of a 10,000-device demo
    // 64 MiB instead of 83; benches/demo.rs), and no wake-ups across
    // threads. The console draws on a thread of its own
    // (`toc::runtime::console`), so a terminal that stops reading cannot
    // stall them. Blocking work (the host sample, DNS) still goes to
    // tokio's blocking pool.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tell!("{name}: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let tuning = toc::runtime::Tuning {
        interval,
        timeout,
        engine,
        data_dir: Some(data_dir),
        source: match source {
            Source::File(file) => Some(file.clone()),
            Source::Synthetic { .. } => None,
        },
        ..toc::runtime::Tuning::default()
    };
    let code = runtime.block_on(async move {
        let started = if demo {
            toc::runtime::Live::demo(inventory, tuning).await
        } else {
            toc::runtime::Live::run(inventory, tuning)
        };
        let Some(live) = with_api(started, face, name, auth).await else {
            return ExitCode::FAILURE;
        };
        tracing::info!(
            devices = live.inventory.devices.len(),
            venues = live.inventory.venues.len(),
            "{name} started"
        );
        tracing::info!("{}", user.why());
        let handle = live.handle_for(cli_users::identity(&user));
        let served = match (options, face) {
            (Some(options), _) => toc::runtime::console::serve(handle, options).await,
            (None, Face::Serve { .. }) => until_stopped(&live, &log).await,
            (None, _) => toc::runtime::headless::serve(handle, demo).await,
        };
        live.shutdown().await;
        exit_status(name, served, &log)
    });
    // Probe tasks still waiting on a timeout must not hold the exit.
    runtime.shutdown_timeout(Duration::from_millis(200));
    tracing::info!("{name} stopped");
    code
}

/// The started engine with the API of `[api]` beside it; `None` (after
/// saying why) when the start failed. In `toc serve` an API that cannot
/// start (a port in use, a non-loopback address without TLS) stops the
/// start; in a demo or `toc run` it is a warning in the log (the console
/// works without it).
async fn with_api(
    started: Result<toc::runtime::Live, String>,
    face: Face<'_>,
    name: &str,
    auth: std::sync::Arc<toc::api::auth::Authenticator>,
) -> Option<toc::runtime::Live> {
    let mut live = match started {
        Ok(live) => live,
        Err(e) => {
            tell!("{name}: {e}");
            return None;
        }
    };
    let serve = matches!(face, Face::Serve { .. });
    let insecure = matches!(
        face,
        Face::Serve {
            insecure_listen: true
        }
    );
    if serve
        && let Ok(Some(warning)) = toc::api::server::check_listen(&live.inventory.api, insecure)
    {
        tell!("{name}: {warning}");
    }
    match live.start_api(insecure, auth) {
        Ok(addrs) => {
            if serve {
                for addr in &addrs {
                    say!("{}", toc::runtime::api::listening_line(addr));
                }
            }
        }
        Err(e) if serve => {
            tell!("{name}: {e}");
            live.shutdown().await;
            return None;
        }
        Err(e) => tracing::warn!("{name}: the API is off: {e}"),
    }
    Some(live)
}

/// `toc serve`: says where the relay listens and that it is ready, then
/// runs until SIGTERM or SIGINT (then the caller drains and exits 0).
async fn until_stopped(live: &toc::runtime::Live, log: &Path) -> toc::runtime::console::Served {
    if let Some(addr) = live.relay_addr() {
        say!("relay listening on {addr}");
    }
    say!("ready; log: {}", log.display());
    stop_signal().await;
    tracing::info!("toc serve: stop asked; draining");
    toc::runtime::console::Served {
        ended: Ended::Done,
        signal: None,
    }
}

/// The exit status of `toc demo` / `toc run` after the console (or the
/// headless loop) ended.
fn exit_status(name: &str, served: toc::runtime::console::Served, log: &Path) -> ExitCode {
    // Stopped by a signal (also when stuck on a terminal that no
    // longer reads): 128 + its number, as if it had ended toc.
    if let Some(status) = served.signal_status() {
        return ExitCode::from(status);
    }
    match served.ended {
        Ended::Done | Ended::Stuck => ExitCode::SUCCESS,
        Ended::Failed(e) => {
            tracing::error!("console failed: {e}");
            tell!("{name}: the console failed: {e} (log: {})", log.display());
            ExitCode::FAILURE
        }
        Ended::Panicked => {
            tracing::error!("the console panicked");
            ExitCode::from(EXIT_PANIC)
        }
    }
}

/// The venues file of a source (none for a synthetic Games).
fn source_file(source: &Source) -> Option<&Path> {
    match source {
        Source::File(f) => Some(f),
        Source::Synthetic { .. } => None,
    }
}

/// Who `toc demo` / `toc run` runs as ([`cli_users::resolve`]), printing
/// what is wrong with the users file or `--user` (exit 2).
fn whoami(
    (name, demo): (&str, bool),
    source: &Source,
    who: &Who,
    inventory: &Inventory,
) -> Result<config::users::Resolved, ExitCode> {
    let ask = cli_users::Ask {
        user: who.user.as_deref(),
        users: who.users.as_deref(),
        venues_file: match source {
            Source::File(f) => Some(f),
            Source::Synthetic { .. } => None,
        },
        demo,
    };
    match cli_users::resolve(ask, inventory) {
        Ok((user, warnings)) => {
            print_diags(&warnings);
            Ok(user)
        }
        Err(cli_users::IdentityError::Config(path, diags)) => Err(config_failed(&path, &diags)),
        Err(cli_users::IdentityError::Other(e)) => {
            tell!("{name}: {}", printable(&e));
            Err(ExitCode::from(EXIT_CONFIG))
        }
    }
}

/// A synthetic Games's size is within the simulator's bounds.
fn synthetic_fits(source: &Source, name: &str) -> Result<(), ExitCode> {
    if let Source::Synthetic { venues, devices } = source {
        use toc::sim::synth::{MAX_DEVICES, MAX_VENUES};
        if !(1..=MAX_VENUES).contains(venues) || !(*venues..=MAX_DEVICES).contains(devices) {
            tell!(
                "{name}: a synthetic Games needs 1 to {MAX_VENUES} venues and from one device per venue to {MAX_DEVICES} devices"
            );
            return Err(ExitCode::from(EXIT_CONFIG));
        }
    }
    Ok(())
}

/// Reads the playbooks of the venues file's `[playbooks] dir`
/// (`playbooks/` beside it by default; none for a synthetic Games or a
/// folder that does not exist), checked against the inventory, printing
/// what is wrong with them (`toc check` also prints what no playbook
/// covers).
fn load_playbooks(
    source: &Source,
    inventory: &Inventory,
) -> Result<Vec<config::playbook::Playbook>, ExitCode> {
    let dir = &inventory.playbooks.dir;
    if matches!(source, Source::Synthetic { .. }) || !dir.is_dir() {
        return Ok(Vec::new());
    }
    let report = config::playbook::check_dir(dir, inventory);
    if report.errors.is_empty() {
        Ok(report.books)
    } else {
        Err(config_failed(dir, &report.errors))
    }
}

/// Reads the inventory of `toc demo` / `toc run`, printing what is wrong
/// with it.
fn load(source: &Source) -> Result<Inventory, ExitCode> {
    match source {
        Source::File(file) => match Inventory::load(file) {
            Ok((inv, warnings)) => {
                print_diags(&warnings);
                Ok(inv)
            }
            Err(diags) => Err(config_failed(file, &diags)),
        },
        Source::Synthetic { venues, devices } => {
            let text = toc::sim::synth::games(*venues, *devices);
            let src = config::SourceFile::new("<synthetic games>", text);
            match Inventory::parse(&src) {
                Ok((inv, _)) => Ok(inv),
                Err(diags) => Err(config_failed(Path::new("<synthetic games>"), &diags)),
            }
        }
    }
}

/// Sends every log line to `toc.log` in the data folder, never to the
/// terminal the console draws on; the file rotates by size (each line
/// whole in one file). Returns the log's path.
fn start_log(data_dir: &Path, logs: &toc::config::venues::LogRotation) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(data_dir)?;
    let path = data_dir.join("toc.log");
    let file = toc::runtime::rotate::RotatingFile::open(&path, logs.log_max_bytes, logs.log_keep)?;
    // Never a word on stderr, the console's terminal: a line that cannot
    // be written is counted and the count logged once writing works.
    let file = toc::runtime::rotate::QuietLog::new(file);
    let filter = tracing_subscriber::EnvFilter::try_from_env("TOC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let installed = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .log_internal_errors(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
    if installed.is_err() {
        return Err(std::io::Error::other("a logger is already installed"));
    }
    Ok(path)
}
