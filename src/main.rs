//! The `toc` command line.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use toc::config::{self, Diagnostic, Inventory, Severity};
use toc::probe::oneshot;
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
        /// Where the control API listens (loopback only).
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7070")]
        control: SocketAddr,
        /// A scenario of timed faults to play (see scenarios/).
        #[arg(long, value_name = "FILE")]
        scenario: Option<PathBuf>,
    },
}

/// Prints a line to stdout, ignoring a closed pipe: the simulator keeps
/// serving when nobody reads its log (`toc sim | head`).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Exit status for an invalid configuration.
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { file, playbooks } => check(&file, playbooks.as_deref()),
        Command::Sim {
            file,
            control,
            scenario,
        } => sim(&file, control, scenario.as_deref()),
        Command::Probe(request) => probe(&request),
    }
}

/// `toc probe`: exit 3 (UNKNOWN) when the check cannot even start.
fn probe(req: &oneshot::Request) -> ExitCode {
    const UNKNOWN: u8 = 3;
    if req.target == oneshot::HOST {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            eprintln!("toc probe: cannot start the runtime");
            return ExitCode::from(UNKNOWN);
        };
        let (heading, outcome) = runtime.block_on(oneshot::run_host(req));
        say!("{}", oneshot::render_outcome(&heading, &outcome).trim_end());
        return ExitCode::from(oneshot::exit_code(&outcome.result));
    }
    let (inventory, device) = match oneshot::build(req) {
        Ok(x) => x,
        Err(oneshot::RequestError::Config(diags)) => {
            print_diags(&diags);
            return ExitCode::from(UNKNOWN);
        }
        Err(oneshot::RequestError::Other(msg)) => {
            eprintln!("toc probe: {msg}");
            return ExitCode::from(UNKNOWN);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("toc probe: cannot start the runtime: {e}");
            return ExitCode::from(UNKNOWN);
        }
    };
    match runtime.block_on(oneshot::run(&inventory, device)) {
        Ok(outcome) => {
            if let Some(d) = inventory.devices.get(device) {
                say!("{}", oneshot::render(&inventory, d, &outcome).trim_end());
            }
            ExitCode::from(oneshot::exit_code(&outcome.result))
        }
        Err(e) => {
            eprintln!("toc probe: {e}");
            ExitCode::from(UNKNOWN)
        }
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

/// Prints the errors of a file that cannot be used, the way `toc check`
/// does.
fn config_failed(path: &Path, diags: &[Diagnostic]) -> ExitCode {
    print_diags(diags);
    let n = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    eprintln!(
        "{}: {n} error{} found",
        path.display(),
        if n == 1 { "" } else { "s" }
    );
    ExitCode::from(EXIT_CONFIG)
}

fn sim(file: &Path, control: SocketAddr, scenario_path: Option<&Path>) -> ExitCode {
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
            eprintln!("toc sim: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run_sim(file, inventory, control, scenario, scenario_path))
}

async fn run_sim(
    file: &Path,
    inventory: Arc<Inventory>,
    control: SocketAddr,
    scenario: Option<Scenario>,
    scenario_file: Option<&Path>,
) -> ExitCode {
    let plan = scenario.as_ref().map(|s| (s.steps.len(), s.big_bang));
    let scenario_file = scenario_file.map(Path::display);
    let options = SimOptions {
        control,
        scenario,
        ..SimOptions::default()
    };
    let handle = match toc::sim::start(Arc::clone(&inventory), options).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("toc sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut events = handle.subscribe();
    let s = handle.summary();
    say!(
        "toc sim: {} ({} devices in {})",
        inventory.event.name,
        inventory.devices.len(),
        file.display()
    );
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
    if !s.skipped.is_empty() {
        say!("  skipped   {} devices:", s.skipped.len());
        for k in s.skipped.iter().take(10) {
            say!("              {}: {}", k.device, k.reason);
        }
        if s.skipped.len() > 10 {
            say!("              and {} more", s.skipped.len() - 10);
        }
    }
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
        say!("  scenario  {path}: {}", what.join(", "));
    }
    let url = format!("http://{}", handle.control_addr());
    let example = inventory
        .devices
        .iter()
        .map(|d| d.id.as_str())
        .find(|id| !s.skipped.iter().any(|k| k.device == *id))
        .unwrap_or("DEVICE-ID");
    say!("  control   {url}/faults");
    say!("inject a fault:");
    say!(
        "  curl -X POST {url}/faults -d '{{\"target\":\"{example}\",\"fault\":\"down\",\"for\":\"30s\"}}'"
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
                Ok(e) => say!("[+{:>7.1}s] {}", e.at.as_secs_f64(), e.text),
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
