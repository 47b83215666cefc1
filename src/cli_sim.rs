//! `toc sim`: the simulated venues alone, with their control API.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use toc::config::Inventory;
use toc::model::{printable, redact_urls};
use toc::runtime::audit::FileAudit;
use toc::sim::{Scenario, SimOptions};

use crate::{config_failed, print_diags, shown};

/// `toc sim`: serves the venues of `file` until a signal.
pub(crate) fn sim(
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
pub(crate) async fn stop_signal() {
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
