//! `toc probe`: one check of one device, printed for a person. On-site
//! technicians run it over SSH to see what the console sees.
//!
//! The target is a URL (`snmp://10.1.2.3`, `http://…/health`,
//! `tcp://host:port`) with credentials from flags, or the id of a device
//! in a venues file, checked with that file's profile. Either way the
//! device goes through the same config validation as `toc check`, so a
//! bad URL or flag gets the same clear error.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::venues::{Device, Inventory, ProbeTarget, Profile};
use crate::config::{Diagnostic, SourceFile};
use crate::model::{CheckResult, printable, text};
use crate::probe::Outcome;
use crate::probe::Probe as _;
use crate::probe::any::AnyProbe;
use crate::probe::host::HostProbe;

/// What to check and how: the arguments of `toc probe` (the doc comments
/// are its `--help`, read in a terminal, so no Markdown).
#[allow(clippy::doc_markdown)]
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Request {
    /// URL, device id of the venues file, or `host` for this machine.
    pub target: String,
    /// Venues file for a device id or --profile (default venues.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// SNMP credential profile of the venues file.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["community", "user"])]
    pub profile: Option<String>,
    /// SNMPv2c community (default public).
    #[arg(long, short = 'c', value_name = "C")]
    pub community: Option<String>,
    /// SNMP context (v2c community@context, v3 contextName).
    #[arg(long, short = 'n', value_name = "NAME")]
    pub context: Option<String>,
    /// SNMPv3 user (switches to v3).
    #[arg(long, short = 'u', value_name = "USER")]
    pub user: Option<String>,
    /// SNMPv3 auth protocol: sha or sha256 (default sha256).
    #[arg(long, short = 'a', value_name = "PROTO", requires = "user")]
    pub auth: Option<String>,
    /// Environment variable with the v3 auth passphrase (never on the
    /// command line, where ps shows it).
    #[arg(long, value_name = "VAR", default_value = "TOC_SNMP_AUTH")]
    pub auth_env: String,
    /// SNMPv3 privacy protocol (authPriv): aes128, aes256 (net-snmp's
    /// AES-256 key extension), aes256c (Cisco's, net-snmp's AES-256-C),
    /// aes192, aes192c.
    #[arg(long, short = 'x', value_name = "PROTO", requires = "user")]
    pub privacy: Option<String>,
    /// Environment variable with the v3 privacy passphrase.
    #[arg(long, value_name = "VAR", default_value = "TOC_SNMP_PRIV")]
    pub priv_env: String,
    /// Time one attempt may take (default 2s).
    #[arg(long, short = 't', value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub timeout: Option<Duration>,
    /// Extra attempts (default 1).
    #[arg(long, short = 'r', value_name = "N")]
    pub retries: Option<u32>,
    /// SNMP interfaces to watch (name or ifIndex; repeat the flag).
    #[arg(long = "interface", short = 'i', value_name = "IF")]
    pub interfaces: Vec<String>,
    /// SNMP CPU load above this percent is a warning.
    #[arg(long, value_name = "PERCENT")]
    pub cpu_threshold: Option<u8>,
    /// HTTP status that means healthy (default 200).
    #[arg(long, value_name = "CODE")]
    pub expect_status: Option<u16>,
}

/// Why a probe request could not even start.
#[derive(Debug)]
pub enum RequestError {
    /// The venues file or the built device is invalid.
    Config(Vec<Diagnostic>),
    /// Something else, in words.
    Other(String),
}

fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The venues file a device id is looked up in, when the target is a
/// device id (not a URL).
pub fn device_file(req: &Request) -> Option<PathBuf> {
    (!req.target.contains("://")).then(|| {
        req.config
            .clone()
            .unwrap_or_else(|| PathBuf::from("venues.toml"))
    })
}

/// The device to check and the inventory it lives in. A device id is
/// matched as the console matches it: exactly, else ignoring case.
pub fn build(req: &Request) -> Result<(Inventory, usize), RequestError> {
    if let Some(path) = device_file(req) {
        let (inv, _) = Inventory::load(&path).map_err(RequestError::Config)?;
        let Some((idx, _)) = inv.find_device(&req.target) else {
            return Err(RequestError::Other(format!(
                "{}: no device \"{}\" (give a device id of the file, or a URL such as snmp://10.0.0.1)",
                path.display(),
                req.target
            )));
        };
        return Ok((inv, idx.0));
    }
    let timeout = req.timeout.unwrap_or(Duration::from_secs(2));
    let retries = req.retries.unwrap_or(1);
    let interval = timeout * (retries + 1) * 2;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "[event]\nname = \"toc probe\"\npoll_interval = \"{}ms\"\ntimeout = \"{}ms\"\nretries = {retries}\n",
        interval.as_millis().max(1),
        timeout.as_millis().max(1)
    );
    let is_snmp = req.target.starts_with("snmp://");
    let from_file = req.profile.is_some();
    if is_snmp && !from_file {
        if let Some(user) = &req.user {
            let _ = writeln!(
                t,
                "[profiles.cli]\nversion = \"v3\"\nuser = {}\nauth = {}\nauth_passphrase_env = {}",
                toml_str(user),
                toml_str(req.auth.as_deref().unwrap_or("sha256")),
                toml_str(&req.auth_env)
            );
            if let Some(p) = &req.privacy {
                let _ = writeln!(
                    t,
                    "privacy = {}\nprivacy_passphrase_env = {}",
                    toml_str(p),
                    toml_str(&req.priv_env)
                );
            }
        } else {
            let _ = writeln!(
                t,
                "[profiles.cli]\nversion = \"v2c\"\ncommunity = {}",
                toml_str(req.community.as_deref().unwrap_or("public"))
            );
        }
    }
    let _ = writeln!(
        t,
        "\n[[venues]]\ncode = \"CLI\"\nname = \"toc probe\"\ncity = \"-\"\n\n[[venues.devices]]\nid = \"target\"\nrole = \"probe\"\nprobe = {}",
        toml_str(&req.target)
    );
    if is_snmp {
        t.push_str("profile = \"cli\"\n");
        if let Some(c) = &req.context {
            let _ = writeln!(t, "context = {}", toml_str(c));
        }
        if !req.interfaces.is_empty() {
            let list: Vec<String> = req.interfaces.iter().map(|i| toml_str(i)).collect();
            let _ = writeln!(t, "interfaces = [{}]", list.join(", "));
        }
        if let Some(c) = req.cpu_threshold {
            let _ = writeln!(t, "cpu_threshold = {c}");
        }
    }
    if let Some(s) = req.expect_status {
        let _ = writeln!(t, "expect_status = {s}");
    }
    let mut src_profiles = None;
    if let (true, Some(name)) = (is_snmp, &req.profile) {
        let path = req
            .config
            .clone()
            .unwrap_or_else(|| PathBuf::from("venues.toml"));
        let (inv, _) = Inventory::load(&path).map_err(RequestError::Config)?;
        let Some(p) = inv.profiles.get(name).cloned() else {
            return Err(RequestError::Other(format!(
                "{}: no profile \"{name}\" (profiles there: {})",
                path.display(),
                inv.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
            )));
        };
        // A stand-in so the device validates; replaced below.
        t = t.replace(
            "[[venues]]",
            "[profiles.cli]\nversion = \"v2c\"\ncommunity = \"-\"\n\n[[venues]]",
        );
        src_profiles = Some(p);
    }
    let src = SourceFile::new("<command line>", t);
    let (mut inv, _) = Inventory::parse(&src).map_err(RequestError::Config)?;
    if let Some(p) = src_profiles {
        inv.profiles.insert("cli".into(), p);
    }
    Ok((inv, 0))
}

/// Runs the check.
pub async fn run(inv: &Inventory, device: usize) -> Result<Outcome, String> {
    let Some(d) = inv.devices.get(device) else {
        return Err("no such device".into());
    };
    Ok(AnyProbe::new(inv)?.check(d).await)
}

/// The target that means the machine toc runs on.
pub const HOST: &str = "host";

/// `toc probe host`: samples this machine (CPU, load, memory, processes and
/// the disk holding the data directory of `--config`, or of the current
/// folder). Returns the heading and the outcome.
pub async fn run_host(req: &Request) -> (String, Outcome) {
    let disk = req
        .config
        .as_ref()
        .and_then(|path| Inventory::load(path).ok())
        .map_or_else(|| PathBuf::from("."), |(inv, _)| inv.event.data_dir);
    let name = sysinfo::System::host_name().unwrap_or_else(|_| "this host".to_owned());
    let outcome = HostProbe::new(disk.clone()).sample().await;
    (
        format!("{name} (the TOC host; disk of {})", disk.display()),
        outcome,
    )
}

/// What the probe read, for a terminal.
pub fn render(inv: &Inventory, d: &Device, outcome: &Outcome) -> String {
    let how = match (
        &d.probe,
        d.profile.as_ref().and_then(|p| inv.profiles.get(p)),
    ) {
        (ProbeTarget::Snmp { .. }, Some(Profile::V2c { .. })) => "SNMPv2c".to_owned(),
        (ProbeTarget::Snmp { .. }, Some(Profile::V3 { user, privacy, .. })) => format!(
            "SNMPv3 user {user}, {}",
            if privacy.is_some() {
                "authPriv"
            } else {
                "authNoPriv"
            }
        ),
        (ProbeTarget::Http { .. }, _) => "HTTP".to_owned(),
        (ProbeTarget::Tcp { .. }, _) => "TCP connect".to_owned(),
        _ => "SNMP".to_owned(),
    };
    let url = match &d.probe {
        ProbeTarget::Snmp { host, port } => format!("snmp://{host}:{port}"),
        ProbeTarget::Http { url } => url.clone(),
        ProbeTarget::Tcp { host, port } => format!("tcp://{host}:{port}"),
    };
    let name = if d.id == "target" {
        url.clone()
    } else {
        format!("{} ({url})", d.id)
    };
    let heading = format!(
        "{name}  {how}{}",
        d.context
            .as_ref()
            .map(|c| format!(", context {c}"))
            .unwrap_or_default()
    );
    render_outcome(&heading, outcome)
}

/// The host sample for a person: the memory in GiB (or the unit it reads
/// best in, [`text::size`], as the console's host pane shows it), not in
/// bytes.
pub fn render_host(heading: &str, outcome: &Outcome) -> String {
    let mut shown = outcome.clone();
    for r in &mut shown.readings {
        if matches!(r.name.as_str(), "memory.used" | "memory.total")
            && let Ok(bytes) = r.value.parse::<u64>()
        {
            r.value = text::size(bytes);
        }
    }
    render_outcome(heading, &shown)
}

/// A heading, then the verdict, latency, readings and notes, aligned.
/// What came from the device (reason, readings, notes) is shown
/// [`printable`]: a sysName with an escape sequence cannot clear the
/// technician's screen.
pub fn render_outcome(heading: &str, outcome: &Outcome) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}", printable(heading));
    let names: Vec<_> = outcome
        .readings
        .iter()
        .map(|r| printable(&r.name))
        .collect();
    let w = names
        .iter()
        .map(|n| n.chars().count())
        .chain([7])
        .max()
        .unwrap_or(7)
        + 2;
    let status = outcome.result.status();
    let _ = writeln!(
        s,
        "  {:<w$}{} {}{}",
        "status",
        status.glyph(),
        status.word(),
        outcome
            .result
            .reason()
            .map(|r| format!(": {}", printable(r)))
            .unwrap_or_default()
    );
    if let Some(l) = outcome.latency {
        let _ = writeln!(s, "  {:<w$}{:.1} ms", "latency", l.as_secs_f64() * 1000.0);
    }
    for (name, r) in names.iter().zip(&outcome.readings) {
        let _ = writeln!(s, "  {:<w$}{}", name, printable(&r.value));
    }
    for n in &outcome.notes {
        let _ = writeln!(s, "  {:<w$}{}", "note", printable(n));
    }
    s
}

/// Monitoring-plugin exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
pub fn exit_code(result: &CheckResult) -> u8 {
    match result {
        CheckResult::Ok => 0,
        CheckResult::Warn(_) => 1,
        CheckResult::Fail(_) => 2,
        CheckResult::Unknown(_) => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(target: &str) -> Request {
        Request {
            target: target.into(),
            auth_env: "TOC_SNMP_AUTH".into(),
            priv_env: "TOC_SNMP_PRIV".into(),
            ..Request::default()
        }
    }

    #[test]
    fn a_url_becomes_a_valid_device() {
        let mut r = req("snmp://127.0.0.1:1161");
        r.community = Some("pu\"b".into());
        r.context = Some("STA-core-a".into());
        r.interfaces = vec!["Te0/0/1".into()];
        let (inv, i) = build(&r).expect("valid");
        let d = &inv.devices[i];
        assert_eq!(d.context.as_deref(), Some("STA-core-a"));
        assert_eq!(d.checks.interfaces, ["Te0/0/1"]);
        assert!(
            matches!(inv.profiles.get("cli"), Some(Profile::V2c { community }) if community.resolve().as_deref() == Some("pu\"b"))
        );
    }

    #[test]
    fn v3_flags_make_a_v3_profile() {
        let mut r = req("snmp://127.0.0.1");
        r.user = Some("poller".into());
        r.privacy = Some("aes256".into());
        let (inv, _) = build(&r).expect("valid");
        assert!(
            matches!(inv.profiles.get("cli"), Some(Profile::V3 { user, privacy: Some(_), .. }) if user == "poller")
        );
    }

    #[test]
    fn bad_urls_get_config_errors() {
        for bad in ["snmp://", "ftp://x", "tcp://host"] {
            assert!(
                matches!(build(&req(bad)), Err(RequestError::Config(_))),
                "{bad}"
            );
        }
        let mut r = req("snmp://127.0.0.1");
        r.user = Some("u".into());
        r.auth = Some("md5".into());
        assert!(matches!(build(&r), Err(RequestError::Config(_))));
    }

    #[test]
    fn a_device_id_is_looked_up_in_the_file() {
        let mut r = req("STA-core");
        r.config = Some(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/venues-small.toml"
        )));
        let (inv, i) = build(&r).expect("found");
        assert_eq!(inv.devices[i].id, "STA-core");
        // As the console matches ids (`:device sta-core`): ignoring case.
        r.target = "sta-CORE".into();
        let (inv, i) = build(&r).expect("found ignoring case");
        assert_eq!(inv.devices[i].id, "STA-core");
        r.target = "STA-nope".into();
        assert!(
            matches!(build(&r), Err(RequestError::Other(m)) if m.contains("no device \"STA-nope\""))
        );
    }

    #[test]
    fn exit_codes_follow_monitoring_plugins() {
        assert_eq!(exit_code(&CheckResult::Ok), 0);
        assert_eq!(exit_code(&CheckResult::Warn("w".into())), 1);
        assert_eq!(exit_code(&CheckResult::Fail("f".into())), 2);
        assert_eq!(exit_code(&CheckResult::Unknown("u".into())), 3);
    }
}
