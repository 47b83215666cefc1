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
use std::time::Duration;

use clap::{Parser, Subcommand};

// The macros first: the modules below use them.
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

mod cli_check;
mod cli_console;
mod cli_incidents;
mod cli_live;
mod cli_playbook;
mod cli_sim;
mod cli_tokens;
mod cli_users;

use cli_live::{Face, Source, live};
use toc::config::{self, Diagnostic, Severity};
use toc::model::printable;
use toc::probe::oneshot;

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
        } => cli_check::check(&file, playbooks.as_deref(), users.as_deref()),
        Command::Sim {
            file,
            control,
            scenario,
            ephemeral,
            data_dir,
        } => cli_sim::sim(
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
        Command::Console { args, screen } => cli_live::console(args, &screen),
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
