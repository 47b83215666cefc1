//! `toc console`: the console of a remote `toc serve`, over its API
//! (`--connect URL`) or its Unix socket (`--socket PATH`). The console
//! code is the one of `toc demo`; only the engine handle differs
//! (`toc::api::client`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use toc::api::client::{self, Target};
use toc::console::ConsoleOptions;
use toc::runtime::console::{Ended, Served};

/// Where the server is and who we are.
// Doc comments here are `--help` text: no Markdown.
#[allow(clippy::doc_markdown)]
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("server").required(true).args(["connect", "socket"])))]
pub struct Args {
    /// The server's API: ws://HOST:PORT, wss://HOST:PORT, or http(s)://…
    /// (the WebSocket at /api/ws). The token comes from the TOC_TOKEN
    /// environment variable or --token-file, never the command line.
    #[arg(long, value_name = "URL")]
    pub connect: Option<String>,
    /// The server's Unix socket: no token, the server maps your OS user
    /// through its users.toml (over SSH: log in to the TOC server and run
    /// this there).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["token_file", "ca"])]
    pub socket: Option<PathBuf>,
    /// A file holding the token (its first line), instead of TOC_TOKEN.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// The CA certificate (PEM) that signed the server's certificate, for
    /// wss:// (default: the TOC_CA environment variable). The platform's
    /// roots are not used.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Show only this venue (repeat for more); a technician sees only
    /// their own venues anyway.
    #[arg(long = "venue", value_name = "CODE")]
    pub venues: Vec<String>,
    /// No console: read commands from standard input, one a line, as
    /// typed on the console's `:` line, and print one line for each:
    /// `applied: …` or `refused: …` (the first line printed is `ready`),
    /// as `toc run --no-console` does.
    #[arg(long)]
    pub no_console: bool,
    /// The console's log (the link lost and back, what the server
    /// refused), rotated at 16 MiB keeping 5. Default:
    /// $XDG_STATE_HOME/toc/console.log, else
    /// ~/.local/state/toc/console.log.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
}

/// Where the console logs: `--log`, else the XDG state folder.
fn log_path(args: &Args) -> Option<PathBuf> {
    let nonempty = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    args.log.clone().or_else(|| {
        nonempty("XDG_STATE_HOME")
            .or_else(|| nonempty("HOME").map(|h| h.join(".local").join("state")))
            .map(|state| state.join("toc").join("console.log"))
    })
}

/// Starts the log; a console that cannot write it still runs, after
/// saying so.
fn start_log(args: &Args) {
    let Some(path) = log_path(args) else {
        return;
    };
    let logs = toc::config::venues::LogRotation::default();
    let started = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| crate::cli_live::start_log_file(&path, logs.log_max_bytes, logs.log_keep));
    if let Err(e) = started {
        tell(&format!(
            "warning: no log ({}: {e}); the console runs without one",
            path.display()
        ));
    }
}

/// Prints a line to stderr, ignoring a closed stderr.
fn tell(text: &str) {
    toc::runtime::out::err(format_args!(
        "toc console: {}\n",
        toc::model::printable(text)
    ));
}

/// The token: the file's first line, or `TOC_TOKEN`; none over a socket.
fn token(args: &Args) -> Result<Option<String>, String> {
    if args.socket.is_some() {
        return Ok(None);
    }
    if let Some(file) = &args.token_file {
        return read_token_file(file).map(Some);
    }
    match std::env::var("TOC_TOKEN") {
        Ok(token) if !token.trim().is_empty() => Ok(Some(token.trim().to_owned())),
        _ => Err(
            "no token: set TOC_TOKEN or give --token-file FILE (a token is never given on the command line)"
                .to_owned(),
        ),
    }
}

/// Reads a token file; warns when others may read it.
fn read_token_file(file: &Path) -> Result<String, String> {
    let shown = file.display();
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read the token file {shown}: {e}"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = std::fs::metadata(file)
            && meta.permissions().mode() & 0o044 != 0
        {
            tell(&format!(
                "warning: the token file {shown} may be read by other users (chmod 600 {shown})"
            ));
        }
    }
    let token = text.lines().next().unwrap_or_default().trim().to_owned();
    if token.is_empty() {
        return Err(format!("the token file {shown} is empty"));
    }
    Ok(token)
}

/// Runs `toc console`: `options` is the console's drawing, `None` with
/// `--no-console`.
pub fn run(args: Args, options: Option<ConsoleOptions>) -> ExitCode {
    let target = match (&args.connect, &args.socket) {
        (Some(url), _) => match Target::parse(url) {
            Ok(t) => t,
            Err(e) => {
                tell(&e);
                return ExitCode::from(2);
            }
        },
        (None, Some(path)) => Target::Socket(path.clone()),
        (None, None) => {
            tell("give --connect URL or --socket PATH");
            return ExitCode::from(2);
        }
    };
    let token = match token(&args) {
        Ok(token) => token,
        Err(e) => {
            tell(&e);
            return ExitCode::from(2);
        }
    };
    start_log(&args);
    let opts = client::Options {
        ca: args
            .ca
            .clone()
            .or_else(|| std::env::var_os("TOC_CA").map(PathBuf::from)),
        ..client::Options::default()
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tell(&format!("cannot start the runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(async move {
        tracing::info!(%target, "toc console connecting");
        let remote = match client::connect(target, token, opts).await {
            Ok(remote) => remote,
            Err(e) => {
                tracing::error!("{e}");
                tell(&e);
                return ExitCode::FAILURE;
            }
        };
        let handle = remote.handle.clone();
        let served = match options {
            Some(mut options) => {
                options.venues = args.venues;
                toc::runtime::console::serve(handle, options).await
            }
            // The server decides what it supports (a fault outside a
            // demo is refused there, with the reason).
            None => toc::runtime::headless::serve(handle, true).await,
        };
        remote.close();
        exit_status(served)
    });
    runtime.shutdown_timeout(Duration::from_millis(200));
    code
}

fn exit_status(served: Served) -> ExitCode {
    if let Some(status) = served.signal_status() {
        return ExitCode::from(status);
    }
    match served.ended {
        Ended::Done | Ended::Stuck => ExitCode::SUCCESS,
        Ended::Failed(e) => {
            tell(&format!("the console failed: {e}"));
            ExitCode::FAILURE
        }
        Ended::Panicked => ExitCode::from(101),
    }
}
