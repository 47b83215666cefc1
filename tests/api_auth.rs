//! Who may come in, end to end: a real engine (an in-process demo of the
//! small example with a data folder, so `audit.log` and the store are
//! written), the real API server, and real clients (reqwest; `curl` over
//! the Unix socket run as other OS users).
//!
//! - no token, a wrong one, an expired one, a revoked one: 401, each in
//!   the audit log with the caller's address and why;
//! - a viewer or a technician sending an acknowledgement: 403, audited;
//! - two OS users with different roles over the Unix socket (root only:
//!   creates them with `useradd`; skipped otherwise unless
//!   `TOC_REQUIRE_PEERS=1`, which makes a skip a failure).

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde_json::Value;
use toc::api::auth::{Authenticator, UNAUTHENTICATED};
use toc::api::server::{self, Addr, ApiServer, Options};
use toc::api::wire;
use toc::config::SourceFile;
use toc::config::users::Users;
use toc::config::venues::Api;
use toc::engine::{Command, IncidentCommand};
use toc::runtime::Live;
use toc::store::Reader;

/// How long any condition may take under load.
const LIMIT: Duration = Duration::from_secs(30);

const ALICE: &str = "toc_e2e-alice";
const TINA: &str = "toc_e2e-tina";
const VICTOR: &str = "toc_e2e-victor";
const OLD: &str = "toc_e2e-old";
const LOST: &str = "toc_e2e-lost";

/// argon2id with small parameters: a debug build verifies fast.
fn cheap_hash(token: &str) -> String {
    let params = Params::new(64, 1, 1, None).unwrap();
    let salt = SaltString::encode_b64(b"e2e-salt-16bytes").unwrap();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(token.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

fn users_text(extra: &str) -> String {
    format!(
        r#"[[users]]
name = "alice"
role = "duty_manager"

[[users.tokens]]
id = "alice-laptop"
hash = "{}"
expires = "2099-01-01T00:00:00Z"

[[users.tokens]]
id = "alice-old"
hash = "{}"
expires = "2020-01-01T00:00:00Z"

[[users.tokens]]
id = "alice-lost"
hash = "{}"
revoked = true

[[users]]
name = "tina"
role = "technician"
venues = ["STA"]

[[users.tokens]]
id = "tina-phone"
hash = "{}"

[[users]]
name = "victor"
role = "viewer"

[[users.tokens]]
id = "victor-wall"
hash = "{}"
{extra}"#,
        cheap_hash(ALICE),
        cheap_hash(OLD),
        cheap_hash(LOST),
        cheap_hash(TINA),
        cheap_hash(VICTOR),
    )
}

fn users(text: &str) -> Users {
    Users::parse(&SourceFile::new("users.toml", text.to_owned()), None)
        .expect("valid users")
        .0
}

/// A demo writing its audit log and store in `dir`.
async fn demo(dir: &Path) -> Live {
    let mut tuning = support::engine::quick(200);
    tuning.data_dir = Some(dir.to_path_buf());
    Live::demo(support::engine::small(), tuning)
        .await
        .expect("demo starts")
}

fn start(live: &Live, api: Api, auth: Authenticator) -> ApiServer {
    server::start(
        &Options::new(api, Duration::from_millis(200)),
        live.handle(),
        Arc::new(auth),
    )
    .expect("api starts")
}

fn http_addr(server: &ApiServer) -> std::net::SocketAddr {
    match &server.addrs()[0] {
        Addr::Http(a) | Addr::Https(a) => *a,
        Addr::Unix(_) => panic!("TCP first"),
    }
}

fn loopback() -> Api {
    Api {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Api::default()
    }
}

async fn stop(server: ApiServer, live: Live) {
    tokio::task::spawn_blocking(move || server.shutdown())
        .await
        .expect("joined");
    live.shutdown().await;
}

fn body(command: &Command) -> String {
    serde_json::to_string(&wire::CommandRequest {
        v: wire::VERSION,
        command: command.clone(),
    })
    .unwrap()
}

/// POSTs `command` with `token` (none: no Authorization header); the
/// status and the body.
async fn post(addr: std::net::SocketAddr, token: Option<&str>, command: &Command) -> (u16, String) {
    let mut req = reqwest::Client::new()
        .post(format!("http://{addr}/api/commands"))
        .header("content-type", "application/json")
        .body(body(command));
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let r = tokio::time::timeout(LIMIT, req.send())
        .await
        .expect("in time")
        .expect("an answer");
    let status = r.status().as_u16();
    (status, r.text().await.unwrap_or_default())
}

/// The console's records of `dir/audit.log`.
fn audit_lines(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("audit.log"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["source"] == "console")
        .collect()
}

/// Waits for an audit line of `user`, refused, whose outcome holds every
/// one of `words`; returns it.
async fn audited(dir: &Path, user: &str, words: &[&str]) -> Value {
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let lines = audit_lines(dir);
        if let Some(line) = lines.iter().find(|l| {
            l["user"] == user
                && l["applied"] == false
                && words
                    .iter()
                    .all(|w| l["outcome"].as_str().unwrap_or("").contains(w))
        }) {
            return line.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no refused audit line of {user} with {words:?} within {LIMIT:?}: {lines:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn ack(which: &str) -> Command {
    Command::Incident(IncidentCommand::Ack {
        which: which.to_owned(),
        comment: "on it".to_owned(),
        expires: None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_wrong_expired_or_revoked_tokens_are_401_and_roles_403_all_audited() {
    let dir = tempfile::tempdir().unwrap();
    let live = demo(dir.path()).await;
    let server = start(
        &live,
        loopback(),
        Authenticator::new(Some(users(&users_text("")))),
    );
    let addr = http_addr(&server);
    let check = Command::check_now("STA");

    // 401s: none, wrong, expired, revoked; the token never in the answer.
    let cases: [(Option<&str>, &[&str]); 4] = [
        (None, &["no token"]),
        (Some("toc_e2e-guess"), &["matches no token"]),
        (Some(OLD), &["`alice-old` expired"]),
        (Some(LOST), &["`alice-lost` is revoked"]),
    ];
    for (token, words) in cases {
        let (status, text) = post(addr, token, &check).await;
        assert_eq!(status, 401, "{token:?}: {text}");
        if let Some(t) = token {
            assert!(!text.contains(t), "the answer repeats the token: {text}");
        }
        let record = audited(dir.path(), UNAUTHENTICATED, words).await;
        let outcome = record["outcome"].as_str().unwrap();
        assert!(outcome.contains("127.0.0.1:"), "names the peer: {outcome}");
        assert!(
            record["command"]
                .as_str()
                .unwrap()
                .starts_with("connect from 127.0.0.1:"),
            "{record}"
        );
        if let Some(t) = token {
            assert!(
                !record.to_string().contains(t),
                "the audit repeats the token: {record}"
            );
        }
    }

    // 403s: a viewer and a technician acknowledging.
    let (status, text) = post(addr, Some(VICTOR), &ack("STA-core")).await;
    assert_eq!(status, 403, "{text}");
    audited(
        dir.path(),
        "victor",
        &["needs role duty_manager, you are viewer"],
    )
    .await;
    let (status, text) = post(addr, Some(TINA), &ack("STA-core")).await;
    assert_eq!(status, 403, "{text}");
    audited(
        dir.path(),
        "tina",
        &["needs role duty_manager, you are technician"],
    )
    .await;
    // A technician out of their venues: 403 too.
    let (status, text) = post(addr, Some(TINA), &Command::check_now("MRN")).await;
    assert_eq!(status, 403, "{text}");
    audited(dir.path(), "tina", &["MRN is outside your venues"]).await;

    // The good tokens work, as who they are.
    let (status, text) = post(addr, Some(TINA), &check).await;
    assert_eq!(status, 200, "{text}");
    let (status, text) = post(addr, Some(ALICE), &check).await;
    assert_eq!(status, 200, "{text}");
    // A session record is the server's: a caller cannot write one, not
    // even a duty manager (no forged denial in another's name).
    let forged = Command::Session(toc::engine::SessionCommand::Denied {
        peer: "somebody else".to_owned(),
        reason: "made up".to_owned(),
    });
    let (status, text) = post(addr, Some(ALICE), &forged).await;
    assert_eq!(status, 400, "{text}");

    // The store's audit table (what `toc audit` prints) has the 401s too.
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let rows = Reader::open(&dir.path().join("toc.db"))
            .and_then(|r| r.audit_since(UNIX_EPOCH))
            .unwrap_or_default();
        let denied = rows
            .iter()
            .filter(|r| r.identity.user == UNAUTHENTICATED && !r.applied)
            .count();
        if denied >= 4 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the store's audit table has {denied} denials: {rows:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop(server, live).await;
}

// ---------------------------------------------------------------------
// Unix-socket peers: two OS users, two roles.
// ---------------------------------------------------------------------

const TECH: &str = "toc-t-tech";
const DM: &str = "toc-t-dm";

/// Whether the peer test must run (and so fail rather than skip).
fn peers_required() -> bool {
    std::env::var("TOC_REQUIRE_PEERS").is_ok_and(|v| v == "1")
}

/// Skips (returns `false`) or fails with `why`.
fn cannot(why: &str) -> bool {
    assert!(!peers_required(), "TOC_REQUIRE_PEERS=1: {why}");
    eprintln!("skipped: {why} (TOC_REQUIRE_PEERS=1 makes this a failure)");
    false
}

/// The uid of an OS user, creating it (a system user without a home or
/// a shell) when it is missing.
fn os_user(name: &str) -> Option<u32> {
    let uid = |name: &str| {
        std::process::Command::new("id")
            .args(["-u", name])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .trim()
                    .parse::<u32>()
                    .ok()
            })
    };
    if let Some(u) = uid(name) {
        return Some(u);
    }
    let made = std::process::Command::new("useradd")
        .args([
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            name,
        ])
        .status()
        .ok()?;
    if !made.success() {
        // Another test process may have made it meanwhile.
        return uid(name);
    }
    uid(name)
}

/// `curl` over the Unix socket as `uid`: POSTs `command`; the status.
async fn curl_as(uid: u32, socket: &Path, command: &Command) -> (u16, String) {
    use std::os::unix::process::CommandExt as _;
    let socket = socket.to_path_buf();
    let body = body(command);
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new("curl")
            .uid(uid)
            .gid(uid_gid(uid))
            .args(["-sS", "--max-time", "20", "--unix-socket"])
            .arg(&socket)
            .args([
                "-H",
                "content-type: application/json",
                "-d",
                &body,
                "-w",
                "\n%{http_code}",
                "http://toc/api/commands",
            ])
            .current_dir("/")
            .output()
            .expect("curl runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (answer, code) = text.rsplit_once('\n').unwrap_or(("", &text));
        (
            code.trim().parse().unwrap_or_else(|_| {
                panic!(
                    "curl as uid {uid}: {text} {}",
                    String::from_utf8_lossy(&out.stderr)
                )
            }),
            answer.to_owned(),
        )
    })
    .await
    .expect("joined")
}

/// The primary group of `uid` in /etc/passwd (the uid itself if unknown).
fn uid_gid(uid: u32) -> u32 {
    std::fs::read_to_string("/etc/passwd")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 3 && f[2].parse::<u32>().ok() == Some(uid))
                .then(|| f[3].parse().ok())
                .flatten()
        })
        .unwrap_or(uid)
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// A folder every user may pass through (the socket's).
fn open_dir() -> (tempfile::TempDir, PathBuf) {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let socket = dir.path().join("toc.sock");
    (dir, socket)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_socket_peers_get_the_role_of_their_os_user() {
    if !is_root() && !cannot("not root: cannot create OS users or run curl as them") {
        return;
    }
    if which("curl").is_none() && !cannot("curl is not installed") {
        return;
    }
    let (Some(tech), Some(dm)) = (os_user(TECH), os_user(DM)) else {
        cannot("useradd failed");
        return;
    };
    let (dir, socket) = open_dir();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let live = demo(&data).await;
    let extra = format!(
        "\n[[users]]\nname = \"{TECH}\"\nrole = \"technician\"\nvenues = [\"STA\"]\n\n[[users]]\nname = \"someone-else\"\nrole = \"duty_manager\"\nuid = {dm}\n"
    );
    let api = Api {
        socket: Some(socket.clone()),
        ..loopback()
    };
    let server = start(
        &live,
        api,
        Authenticator::new(Some(users(&users_text(&extra)))),
    );

    // The technician (by OS name): checks STA, may not acknowledge, nor
    // act on MRN.
    let (status, text) = curl_as(tech, &socket, &Command::check_now("STA")).await;
    assert_eq!(status, 200, "{text}");
    let (status, text) = curl_as(tech, &socket, &ack("STA-core")).await;
    assert_eq!(status, 403, "{text}");
    audited(
        &data,
        TECH,
        &["needs role duty_manager, you are technician"],
    )
    .await;
    let (status, text) = curl_as(tech, &socket, &Command::check_now("MRN")).await;
    assert_eq!(status, 403, "{text}");

    // The duty manager (by uid, under another name): past the role check
    // (an incident that does not exist is not a 403).
    let (status, text) = curl_as(dm, &socket, &ack("9-99")).await;
    assert_ne!(status, 403, "{text}");
    assert_ne!(status, 401, "{text}");
    let (status, text) = curl_as(dm, &socket, &Command::check_now("MRN")).await;
    assert_eq!(status, 200, "{text}");
    let record = audit_lines(&data)
        .into_iter()
        .find(|l| l["user"] == "someone-else")
        .expect("the duty manager's commands audited under its users.toml name");
    assert_eq!(record["role"], "duty_manager", "{record}");

    // An OS user users.toml does not list: 401, audited with its uid.
    let nobody = os_user("nobody").unwrap_or(65534);
    let (status, text) = curl_as(nobody, &socket, &Command::check_now("STA")).await;
    assert_eq!(status, 401, "{text}");
    audited(
        &data,
        UNAUTHENTICATED,
        &[&format!("uid {nobody}"), "is not listed in users.toml"],
    )
    .await;
    stop(server, live).await;
    drop(dir);
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(program))
            .find(|p| p.is_file())
    })
}
