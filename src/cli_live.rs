//! `toc demo`, `toc run`, `toc serve` and `toc console`: the engine
//! started from the inventory (with the simulator in a demo, the API
//! beside it), and the console or the headless loop in front of it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use toc::config::{self, Inventory};
use toc::model::printable;
use toc::runtime::console::Ended;

use crate::cli_sim::stop_signal;
use crate::{
    EXIT_CONFIG, EXIT_PANIC, EXIT_USAGE, Screen, Who, cli_console, cli_tokens, cli_users,
    config_failed, print_diags,
};

/// `toc console`: the console drawn as `toc demo`'s, over a remote
/// engine.
pub(crate) fn console(args: cli_console::Args, screen: &Screen) -> ExitCode {
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
pub(crate) enum Source {
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
pub(crate) enum Face<'a> {
    Console(&'a Screen),
    Headless,
    /// `toc serve`: no console and no commands; until a signal.
    Serve {
        /// `--insecure-listen`.
        insecure_listen: bool,
    },
}

/// `toc demo` and `toc run`: engine and console (and, in a demo, the
/// simulator) in one process; `toc serve`: the engine and its API.
pub(crate) fn live(
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
    let start = match prepare(source, (interval, timeout), (face, who), (name, demo)) {
        Ok(start) => start,
        Err(code) => return code,
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
    let code = runtime.block_on(start.run(face, name, demo));
    // Probe tasks still waiting on a timeout must not hold the exit.
    runtime.shutdown_timeout(Duration::from_millis(200));
    tracing::info!("{name} stopped");
    code
}

/// Everything `live` reads and checks before anything starts.
struct Start {
    inventory: Inventory,
    tuning: toc::runtime::Tuning,
    user: config::users::Resolved,
    auth: std::sync::Arc<toc::api::auth::Authenticator>,
    options: Option<toc::console::ConsoleOptions>,
    log: PathBuf,
}

/// Reads the inventory, the playbooks and the users file, checks the
/// flags, and opens the log, in that order, saying what is wrong with
/// each: nothing starts on a file with errors or on a terminal that
/// cannot show the console.
fn prepare(
    source: &Source,
    (interval, timeout): (Option<Duration>, Option<Duration>),
    (face, who): (Face<'_>, &Who),
    (name, demo): (&str, bool),
) -> Result<Start, ExitCode> {
    synthetic_fits(source, name)?;
    let inventory = load(source)?;
    let engine = toc::engine::EngineConfig {
        playbooks: load_playbooks(source, &inventory)?,
        shell: inventory.playbooks.shell,
        ..toc::engine::EngineConfig::default()
    };
    // The flags go through the checks the file's values go through.
    if let Err(e) = inventory.check_overrides(interval, timeout) {
        tell!("{name}: {e}");
        return Err(ExitCode::from(EXIT_CONFIG));
    }
    let user = whoami((name, demo), source, who, &inventory)?;
    // A plain demo ignores the users file, as for the console's user.
    let plain_demo = demo && who.user.is_none() && who.users.is_none();
    let users_file =
        (!plain_demo).then(|| cli_users::users_path(who.users.as_deref(), source_file(source)));
    let auth = cli_tokens::authenticator(
        users_file.as_deref(),
        &inventory,
        source_file(source).is_some(),
    )
    .map_err(|(path, diags)| config_failed(&path, &diags))?;
    // After the file (its errors come first), before the log and the
    // engine: nothing starts on a terminal that cannot show the console.
    let options = match face {
        Face::Console(screen) => Some(console_options(name, screen, demo)?),
        Face::Headless | Face::Serve { .. } => None,
    };
    let data_dir = inventory.event.data_dir.clone();
    let log = start_log(&data_dir, &inventory.event.logs).map_err(|e| {
        tell!(
            "{name}: cannot write the log in {}: {e}",
            data_dir.display()
        );
        ExitCode::FAILURE
    })?;
    let tuning = toc::runtime::Tuning {
        interval,
        timeout,
        engine,
        data_dir: Some(data_dir),
        source: source_file(source).map(Path::to_path_buf),
        ..toc::runtime::Tuning::default()
    };
    Ok(Start {
        inventory,
        tuning,
        user,
        auth: std::sync::Arc::new(auth),
        options,
        log,
    })
}

impl Start {
    /// Starts the engine (and the simulator in a demo) and the API, then
    /// serves the console, the headless loop or, for `toc serve`, waits
    /// for a signal; drains and says how it ended.
    async fn run(self, face: Face<'_>, name: &str, demo: bool) -> ExitCode {
        let Start {
            inventory,
            tuning,
            user,
            auth,
            options,
            log,
        } = self;
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
    }
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
        venues_file: source_file(source),
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
    start_log_file(&path, logs.log_max_bytes, logs.log_keep)?;
    Ok(path)
}

/// Sends every log line to `path` (rotated past `max_bytes`, `keep` old
/// files kept), never to the terminal; `TOC_LOG` filters (default
/// `info`).
pub(crate) fn start_log_file(path: &Path, max_bytes: u64, keep: usize) -> std::io::Result<()> {
    let file = toc::runtime::rotate::RotatingFile::open(path, max_bytes, keep)?;
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
    Ok(())
}
