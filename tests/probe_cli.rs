//! `toc probe` as a technician runs it: against the simulator, by URL with
//! flags (v2c and v3, passphrases from the environment) and by device id,
//! with monitoring-plugin exit codes and clear errors.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::too_many_lines)]

use std::process::Command;
use std::sync::Arc;

use toc::config::Inventory;
use toc::config::venues::{Profile, Secret};
use toc::sim::faults::Fault;
use toc::sim::{self, SimOptions};

const AUTH: &str = "cli-auth-pass";
const PRIV: &str = "cli-priv-pass";

fn toc(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_toc"))
        .arg("probe")
        .args(args)
        .env_remove("TOC_SNMP_AUTH")
        .env_remove("TOC_SNMP_PRIV")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `toc probe` off the runtime the simulator lives on.
async fn probe(args: Vec<String>, env: Vec<(&'static str, &'static str)>) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        toc(&a, &env)
    })
    .await
    .unwrap()
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_by_url_and_by_device_id() {
    // The simulator serves the file's agent ports 1 and 2 on ports from
    // the system; the file `toc probe` reads names those.
    let text = |p2: u16, p3: u16| {
        format!(
            "[event]\nname = \"cli\"\npoll_interval = \"5s\"\ntimeout = \"300ms\"\nretries = 0\n\n\
         [profiles.v2]\nversion = \"v2c\"\ncommunity = \"cli-comm\"\n\n\
         [profiles.v3]\nversion = \"v3\"\nuser = \"cli-user\"\nauth = \"sha256\"\nauth_passphrase_env = \"TOC_SNMP_AUTH\"\nprivacy = \"aes128\"\nprivacy_passphrase_env = \"TOC_SNMP_PRIV\"\n\n\
         [[venues]]\ncode = \"CLI\"\nname = \"CLI Arena\"\ncity = \"Loopback\"\n\n\
         [[venues.devices]]\nid = \"CLI-core-a\"\nrole = \"core-switch\"\nprobe = \"snmp://127.0.0.1:{p2}\"\nprofile = \"v2\"\ncontext = \"CLI-core-a\"\ninterfaces = [\"Te1/0/1\", \"Te1/0/2\"]\n\n\
         [[venues.devices]]\nid = \"CLI-rtr-a\"\nrole = \"router\"\nprobe = \"snmp://127.0.0.1:{p3}\"\nprofile = \"v3\"\ncontext = \"CLI-rtr-a\"\n"
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("venues.toml");
    std::fs::write(&file, text(1, 2)).unwrap();
    let file = file.to_str().unwrap().to_owned();
    let (mut inv, _) = Inventory::load(std::path::Path::new(&file)).unwrap();
    // The simulator in this process cannot read the passphrases from the
    // environment (tests may not set it); the child `toc probe` can.
    if let Some(Profile::V3 {
        auth_passphrase,
        privacy,
        ..
    }) = inv.profiles.get_mut("v3")
    {
        *auth_passphrase = Secret::Literal(AUTH.into());
        if let Some((_, s)) = privacy {
            *s = Secret::Literal(PRIV.into());
        }
    }
    let sim = sim::start(
        Arc::new(inv),
        SimOptions {
            ephemeral: true,
            ..SimOptions::default()
        },
    )
    .await
    .expect("sim starts");
    let served =
        |p: u16| sim.summary().remapped[&std::net::SocketAddr::from(([127, 0, 0, 1], p))].port();
    let (p2, p3) = (served(1), served(2));
    std::fs::write(&file, text(p2, p3)).unwrap();
    let v2 = format!("snmp://127.0.0.1:{p2}");
    let v3 = format!("snmp://127.0.0.1:{p3}");

    let (code, out, _) = probe(args(&[&v2, "-c", "cli-comm", "-n", "CLI-core-a"]), vec![]).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("✔ OK") && out.contains("sysName") && out.contains("CLI-core-a"),
        "{out}"
    );

    let (code, out, _) = probe(args(&["CLI-core-a", "--config", &file]), vec![]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("CLI-core-a (snmp://127.0.0.1:"), "{out}");

    sim.state()
        .set("CLI-core-a", Fault::IfDown(Some("Te1/0/2".into())), None)
        .unwrap();
    let (code, out, _) = probe(args(&["CLI-core-a", "--config", &file]), vec![]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("▲ DEGRADED: Te1/0/2 down (admin up)"), "{out}");

    let (code, out, _) = probe(
        args(&[
            &v2,
            "-c",
            "wrong",
            "-n",
            "CLI-core-a",
            "-t",
            "200ms",
            "-r",
            "0",
        ]),
        vec![],
    )
    .await;
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("✖ DOWN") && out.contains("community refused"),
        "{out}"
    );

    // v3 by flags, passphrases from the environment.
    let env = vec![("TOC_SNMP_AUTH", AUTH), ("TOC_SNMP_PRIV", PRIV)];
    let (code, out, err) = probe(
        args(&[
            &v3,
            "-u",
            "cli-user",
            "-a",
            "sha256",
            "-x",
            "aes128",
            "-n",
            "CLI-rtr-a",
        ]),
        env.clone(),
    )
    .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("SNMPv3 user cli-user, authPriv") && out.contains("CLI-rtr-a"),
        "{out}"
    );
    // And by the file's profile.
    let (code, out, _) = probe(
        args(&[&v3, "--config", &file, "--profile", "v3", "-n", "CLI-rtr-a"]),
        env,
    )
    .await;
    assert_eq!(code, 0, "{out}");
    // Without the passphrase: UNKNOWN, naming the variable.
    let (code, out, _) = probe(args(&["CLI-rtr-a", "--config", &file]), vec![]).await;
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("TOC_SNMP_AUTH"), "{out}");
    // Wrong passphrase: the agent's report, not a timeout.
    let (code, out, _) = probe(
        args(&["CLI-rtr-a", "--config", &file]),
        vec![("TOC_SNMP_AUTH", "nope-nope"), ("TOC_SNMP_PRIV", PRIV)],
    )
    .await;
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("usmStatsWrongDigests"), "{out}");

    sim.shutdown().await;
}

#[test]
fn requests_that_cannot_start_exit_unknown_with_a_reason() {
    let (code, out, err) = toc(&["snmp://127.0.0.1:notaport"], &[]);
    assert_eq!(code, 3);
    assert!(out.is_empty());
    // Told as the argument typed, never as the TOML built from it.
    assert!(
        err.starts_with("toc probe: target \"snmp://127.0.0.1:notaport\": ")
            && err.contains("is not a URL")
            && !err.contains("<command line>"),
        "{err}"
    );

    let small = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/venues-small.toml");
    let (code, _, err) = toc(&["STA-nope", "--config", small], &[]);
    assert_eq!(code, 3);
    assert!(err.contains("no device \"STA-nope\""), "{err}");

    let (code, _, err) = toc(
        &["snmp://127.0.0.1", "--config", small, "--profile", "nope"],
        &[],
    );
    assert_eq!(code, 3);
    assert!(err.contains("no profile \"nope\""), "{err}");

    let (code, _, err) = toc(&["snmp://127.0.0.1", "-u", "x", "-a", "md5"], &[]);
    assert_eq!(code, 3);
    assert!(err.contains("md5"), "{err}");
}

#[test]
fn probe_host_samples_this_machine() {
    let (code, out, err) = toc(&["host"], &[]);
    assert!(out.contains("(the TOC host; disk of .)"), "{out}{err}");
    for reading in ["status", "cpu.percent", "memory.total", "processes"] {
        assert!(out.contains(reading), "{reading} in {out}");
    }
    // Whatever this shared machine's load, the verdict is a real one.
    assert!(code <= 2, "{code}: {out}");
    let status_ok = out.contains("✔ OK");
    assert_eq!(
        code == 0,
        status_ok,
        "exit code agrees with the verdict: {out}"
    );
}

#[test]
fn probe_speaks_ascii_in_the_c_locale_and_unicode_in_utf8() {
    // The host's verdict depends on this machine's load: whatever it is,
    // it is a glyph and a word, in ASCII without UTF-8.
    let status_line = |out: &str| {
        out.lines()
            .find(|l| l.trim_start().starts_with("status"))
            .map(|l| {
                l.trim_start()
                    .trim_start_matches("status")
                    .trim()
                    .to_owned()
            })
            .unwrap_or_default()
    };
    let (_, out, err) = toc(
        &["host"],
        &[("LC_ALL", "C"), ("LC_CTYPE", ""), ("LANG", "C")],
    );
    assert!(out.is_ascii(), "{out}{err}");
    let ascii = status_line(&out);
    assert!(
        ["+ OK", "^ DEGRADED", "X DOWN", "? UNKNOWN"]
            .iter()
            .any(|s| ascii.starts_with(s)),
        "{out}{err}"
    );
    let (_, out, err) = toc(&["host"], &[("LC_ALL", "C.UTF-8")]);
    let unicode = status_line(&out);
    assert!(
        ["✔ OK", "▲ DEGRADED", "✖ DOWN", "? UNKNOWN"]
            .iter()
            .any(|s| unicode.starts_with(s)),
        "{out}{err}"
    );
}
