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
use crate::model::{CheckResult, printable, redact_urls, text};
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
    #[arg(long, short = 't', value_name = "DURATION", value_parser = probe_timeout)]
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

/// `--timeout`: a duration in the range of the file's `timeout`.
fn probe_timeout(s: &str) -> Result<Duration, String> {
    crate::config::value::TIMEOUT
        .check_named(crate::config::value::parse_duration(s)?, "the timeout")
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
    let (timeout, retries, interval) = timing(req)?;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "[event]\nname = \"toc probe\"\npoll_interval = \"{}ms\"\ntimeout = \"{}ms\"\nretries = {retries}\n",
        interval.as_millis().max(1),
        timeout.as_millis().max(1)
    );
    let is_snmp = req.target.starts_with("snmp://");
    if !is_snmp {
        snmp_flags_unused(req)?;
    }
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
    let (mut inv, _) = Inventory::parse(&src)
        .map_err(|diags| RequestError::Other(in_flags(req, src.text(), &diags)))?;
    if let Some(p) = src_profiles {
        inv.profiles.insert("cli".into(), p);
    }
    Ok((inv, 0))
}

/// The timeout, retries and poll interval of a URL target: the flags, or
/// their defaults. A mistake is told in terms of the flag.
fn timing(req: &Request) -> Result<(Duration, u32, Duration), RequestError> {
    let timeout = req.timeout.unwrap_or(Duration::from_secs(2));
    let retries = req.retries.unwrap_or(1);
    let flag = |what: String| RequestError::Other(what);
    if timeout.is_zero() {
        return Err(flag(format!(
            "--timeout {}: must be longer than zero (e.g. 500ms, 2s)",
            humantime::format_duration(timeout)
        )));
    }
    if timeout < Duration::from_millis(1) {
        return Err(flag(format!(
            "--timeout {}: must be at least 1ms",
            humantime::format_duration(timeout)
        )));
    }
    let interval = retries
        .checked_add(1)
        .and_then(|attempts| timeout.checked_mul(attempts))
        .and_then(|all| all.checked_mul(2))
        .filter(|all| all.as_millis() <= u128::from(u32::MAX))
        .ok_or_else(|| {
            flag(format!(
                "--timeout {} with --retries {retries}: the check would take too long (at most about 24 days)",
                humantime::format_duration(timeout)
            ))
        })?
        .max(crate::config::value::POLL_INTERVAL.min);
    Ok((timeout, retries, interval))
}

/// Refuses SNMP flags given with a target that is not `snmp://`: they
/// would be ignored.
fn snmp_flags_unused(req: &Request) -> Result<(), RequestError> {
    let given = [
        ("--interface", !req.interfaces.is_empty()),
        ("--cpu-threshold", req.cpu_threshold.is_some()),
        ("--context", req.context.is_some()),
        ("--community", req.community.is_some()),
        ("--user", req.user.is_some()),
        ("--profile", req.profile.is_some()),
    ];
    match given.iter().find(|(_, set)| *set) {
        Some((flag, _)) => Err(RequestError::Other(format!(
            "{flag}: applies to snmp:// targets only, and the target is {}",
            toml_str(&req.target)
        ))),
        None => Ok(()),
    }
}

/// Mistakes found in the device built from the flags, told in terms of
/// the flag or argument each comes from (`--cpu-threshold 0: …`), never of
/// the TOML written for it.
fn in_flags(req: &Request, toml: &str, diags: &[Diagnostic]) -> String {
    let lines: Vec<&str> = toml.lines().collect();
    diags
        .iter()
        .filter(|d| d.severity == crate::config::Severity::Error)
        .map(|d| {
            let key = d
                .line
                .checked_sub(1)
                .and_then(|i| lines.get(i))
                .and_then(|l| l.split_once(" = "))
                .map_or("", |(k, _)| k.trim());
            let message = d
                .message
                .replace(" of `target`", "")
                .replace(" (device `target`)", "")
                .replace("`target`", "the target");
            let help = d
                .help
                .as_deref()
                .map(|h| format!(" ({})", h.replace(" from this device", "")))
                .unwrap_or_default();
            format!("{}: {message}{help}", flag_of(req, key))
        })
        .collect::<Vec<_>>()
        .join("\ntoc probe: ")
}

/// The flag (with its value) or argument that wrote `key` of the
/// command-line device.
fn flag_of(req: &Request, key: &str) -> String {
    let shown = |flag: &str, v: Option<String>| match v {
        Some(v) => format!("{flag} {v}"),
        None => flag.to_owned(),
    };
    let secs = |d: Option<Duration>| d.map(|d| humantime::format_duration(d).to_string());
    match key {
        "timeout" | "poll_interval" => shown("--timeout", secs(req.timeout)),
        "retries" => shown("--retries", req.retries.map(|r| r.to_string())),
        "context" => shown("--context", req.context.clone()),
        "interfaces" => format!("--interface {}", req.interfaces.join(" --interface ")),
        "cpu_threshold" => shown("--cpu-threshold", req.cpu_threshold.map(|c| c.to_string())),
        "expect_status" => shown("--expect-status", req.expect_status.map(|c| c.to_string())),
        "community" => "--community".to_owned(),
        "user" => shown("--user", req.user.clone()),
        "auth" => shown("--auth", req.auth.clone()),
        "privacy" => shown("--privacy", req.privacy.clone()),
        "auth_passphrase_env" => format!("--auth-env {}", req.auth_env),
        "privacy_passphrase_env" => format!("--priv-env {}", req.priv_env),
        // `probe`, and what else the target decides.
        _ => format!("target {}", toml_str(&req.target)),
    }
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
    let url = redact_urls(&d.probe.url()).into_owned();
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

    /// The message of a request that cannot start.
    fn refusal(r: &Request) -> String {
        match build(r) {
            Err(RequestError::Other(m)) => m,
            Err(RequestError::Config(d)) => panic!("a file error for flags: {d:?}"),
            Ok(_) => panic!("accepted: {r:?}"),
        }
    }

    #[rstest::rstest]
    #[case::no_host("snmp://", "target \"snmp://\": ")]
    #[case::scheme("ftp://x", "target \"ftp://x\": unsupported probe scheme `ftp`")]
    #[case::tcp_port(
        "tcp://host",
        "target \"tcp://host\": tcp probe URL `tcp://host` has no port"
    )]
    #[case::port_range(
        "snmp://x:99999",
        "target \"snmp://x:99999\": probe URL `snmp://x:99999` is not a URL (invalid port number)"
    )]
    fn bad_urls_are_told_as_the_target(#[case] target: &str, #[case] start: &str) {
        let m = refusal(&req(target));
        assert!(m.starts_with(start), "{m}");
        assert!(
            !m.contains("<command line>") && !m.contains("`target`"),
            "{m}"
        );
    }

    #[test]
    fn bad_flags_are_told_as_the_flag() {
        let mut r = req("snmp://127.0.0.1");
        r.timeout = Some(Duration::ZERO);
        assert_eq!(
            refusal(&r),
            "--timeout 0s: must be longer than zero (e.g. 500ms, 2s)"
        );
        let mut r = req("snmp://127.0.0.1");
        r.cpu_threshold = Some(0);
        assert!(
            refusal(&r)
                .starts_with("--cpu-threshold 0: cpu_threshold is 0; it must be between 1 and 100"),
            "{}",
            refusal(&r)
        );
        let mut r = req("snmp://127.0.0.1");
        r.retries = Some(9);
        assert!(refusal(&r).starts_with("--retries 9: "), "{}", refusal(&r));
        // Once a panic (attempts overflowed).
        r.retries = Some(u32::MAX);
        assert!(
            refusal(&r).starts_with("--timeout 2s with --retries 4294967295: "),
            "{}",
            refusal(&r)
        );
        let mut r = req("snmp://127.0.0.1");
        r.user = Some("u".into());
        r.auth = Some("md5".into());
        assert!(refusal(&r).starts_with("--auth md5: "), "{}", refusal(&r));
        let mut r = req("snmp://127.0.0.1");
        r.expect_status = Some(204);
        assert_eq!(
            refusal(&r),
            "--expect-status 204: `expect_status` applies to http(s):// devices only, \
             and the target is probed by snmp (remove `expect_status`)"
        );
        // Once silently ignored.
        let mut r = req("http://127.0.0.1/health");
        r.interfaces = vec!["eth0".into()];
        assert_eq!(
            refusal(&r),
            "--interface: applies to snmp:// targets only, and the target is \"http://127.0.0.1/health\""
        );
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
    fn an_ipv6_target_is_shown_in_brackets() {
        let (inv, i) = build(&req("snmp://[::1]:25500")).expect("valid");
        let shown = render(&inv, &inv.devices[i], &Outcome::new(CheckResult::Ok));
        assert!(
            shown.starts_with("snmp://[::1]:25500  SNMPv2c\n"),
            "{shown}"
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
