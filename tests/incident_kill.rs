//! Persistence with a real process: a child `toc demo --no-console` is
//! killed with SIGKILL at a random moment while notes and
//! acknowledgements stream in through its engine, ten times on the same
//! data folder. After each kill the store opens whole (`PRAGMA
//! integrity_check`), every command answered `applied` is in it exactly
//! once (its timeline entry and its audit record), a refused one left no
//! timeline entry, and a command in flight at the kill is either all
//! there (entry and audit record) or not at all.
//!
//! The random moments come from a seed printed at the start
//! (`TOC_KILL_SEED=N` replays one).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::Value;
use support::headless::Demo;

mod support;

const ROUNDS: usize = 10;
/// Commands written in each round (the kill comes before the last).
const PER_ROUND: usize = 120;

/// A small venues file (its fixed ports are never used: a demo serves
/// every device on a port the system picks), data folder beside it.
fn venues(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/base.toml");
    let dst = dir.join("venues.toml");
    std::fs::copy(src, &dst).expect("copy the fixture");
    dst
}

/// What a command is, for the checks after the kill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `note STA-core …`: a timeline entry `note`.
    Note,
    /// `ack STA-core …`: a timeline entry `acknowledged`.
    Ack,
    /// `note 9-999 …`: no such incident, refused.
    Refused,
}

/// One command written, with the text its timeline entry would hold.
#[derive(Debug, Clone)]
struct Sent {
    kind: Kind,
    /// Unique in the whole test: `[r3n17]`.
    tag: String,
    /// The note or comment text, as the timeline keeps it.
    text: String,
    line: String,
}

fn commands(round: usize) -> Vec<Sent> {
    (0..PER_ROUND)
        .map(|n| {
            let tag = format!("[r{round}n{n}]");
            let text = format!("kill test {tag} fibre checked");
            let (kind, line) = match n % 7 {
                3 => (Kind::Ack, format!("ack STA-core {text}")),
                5 => (Kind::Refused, format!(":note 9-999 {text}")),
                _ => (Kind::Note, format!("note STA-core {text}")),
            };
            Sent {
                kind,
                tag,
                text,
                line,
            }
        })
        .collect()
}

/// `toc incidents --all --json --data-dir DIR`.
fn incidents(venues: &Path, data: &Path) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_toc"))
        .arg("incidents")
        .arg(venues)
        .args(["--all", "--json", "--data-dir"])
        .arg(data)
        .output()
        .expect("toc incidents runs");
    assert!(out.status.success(), "toc incidents: {out:?}");
    serde_json::from_slice::<Value>(&out.stdout)
        .expect("JSON")
        .as_array()
        .cloned()
        .expect("an array")
}

/// Waits until STA-core has an incident that is not resolved.
fn wait_open(venues: &Path, data: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let open = incidents(venues, data)
            .iter()
            .any(|i| i["subject"] == "STA-core" && i["state"] != "resolved");
        if open {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no open incident on STA-core after 30 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// One round: start, fault, wait for the incident, stream the commands,
/// kill at a random moment. Returns each command with its answer (None:
/// not answered before the kill).
fn round(venues: &Path, data: &Path, n: usize, rng: &mut StdRng) -> Vec<(Sent, Option<String>)> {
    let mut demo = Demo::start(venues, &["--interval", "500ms", "--timeout", "200ms"]);
    let fault = demo.ask("fault STA-core-a down");
    assert!(fault.starts_with("applied: "), "{fault}");
    wait_open(venues, data);
    let sent = commands(n);
    // Every line at once (a few KiB: the pipe holds them); stdin stays
    // open, so the child never sees the end of its input.
    let all = sent.iter().fold(String::new(), |mut all, s| {
        all.push_str(&s.line);
        all.push('\n');
        all
    });
    demo.stdin.write_all(all.as_bytes()).expect("write");
    demo.stdin.flush().expect("flush");
    let kill_after = rng.random_range(0..PER_ROUND - 10);
    let delay = Duration::from_micros(rng.random_range(0..3000));
    let mut answers = Vec::new();
    while answers.len() < kill_after {
        answers.push(demo.next(Duration::from_secs(10)));
    }
    std::thread::sleep(delay);
    demo.child.kill().expect("SIGKILL");
    demo.child.wait().expect("reaped");
    // What it answered before dying.
    while let Ok(line) = demo.lines.recv_timeout(Duration::from_secs(5)) {
        answers.push(line);
    }
    eprintln!(
        "round {n}: killed after {kill_after} answers + {delay:?}: {} answered",
        answers.len()
    );
    assert!(answers.len() < PER_ROUND, "killed before the last answer");
    let mut answers = answers.into_iter();
    sent.into_iter().map(|s| (s, answers.next())).collect()
}

/// Counts in the store: timeline entries holding exactly `text` by kind,
/// audit records naming `tag` by applied.
struct Store(rusqlite::Connection);

impl Store {
    fn open(data: &Path) -> Store {
        let conn = rusqlite::Connection::open(data.join("toc.db")).expect("the store opens");
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .expect("integrity_check");
        assert_eq!(check, "ok", "PRAGMA integrity_check");
        Store(conn)
    }

    fn timeline(&self, text: &str) -> BTreeMap<String, i64> {
        let mut q = self
            .0
            .prepare("SELECT kind, count(*) FROM timeline WHERE text = ?1 GROUP BY kind")
            .unwrap();
        q.query_map([text], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// (applied, refused) audit records whose command text names `tag`.
    fn audit(&self, tag: &str) -> (i64, i64) {
        self.0
            .query_row(
                "SELECT coalesce(sum(applied = 1), 0), coalesce(sum(applied = 0), 0) \
                 FROM audit WHERE instr(text, ?1) > 0",
                [tag],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
    }
}

/// The checks of one command after a kill.
fn check(store: &Store, sent: &Sent, answer: Option<&str>) {
    let kind = match sent.kind {
        Kind::Note => "note",
        Kind::Ack => "acknowledged",
        Kind::Refused => "none",
    };
    let entries = store.timeline(&sent.text);
    let here = entries.get(kind).copied().unwrap_or(0);
    let others: i64 = entries
        .iter()
        .filter(|(k, _)| *k != kind)
        .map(|e| e.1)
        .sum();
    let (applied, _refused) = store.audit(&sent.tag);
    let what = format!(
        "{} answered {answer:?}: timeline {entries:?}, audit applied {applied}",
        sent.line
    );
    assert_eq!(others, 0, "{what}");
    match answer {
        Some(a) if a.starts_with("applied: ") => {
            assert_ne!(sent.kind, Kind::Refused, "{what}");
            assert_eq!(here, 1, "applied, its entry once: {what}");
            assert_eq!(applied, 1, "applied, its audit record once: {what}");
        }
        Some(a) if a.starts_with("refused: ") => {
            assert_eq!(here, 0, "refused, no entry: {what}");
            assert_eq!(applied, 0, "refused, no applied record: {what}");
        }
        Some(a) => panic!("neither applied nor refused: {a}"),
        // In flight at the kill: all of it or nothing.
        None => {
            assert!(here <= 1, "{what}");
            assert_eq!(here, applied, "half-written: {what}");
        }
    }
    if sent.kind == Kind::Refused {
        assert_eq!(here, 0, "{what}");
    }
}

#[test]
fn applied_commands_survive_sigkill_of_the_real_binary() {
    let seed = std::env::var("TOC_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    eprintln!("seed {seed} (TOC_KILL_SEED={seed} replays it)");
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let venues = venues(dir.path());
    let data = dir.path().join("toc-data");
    let started = Instant::now();
    let mut all: Vec<(Sent, Option<String>)> = Vec::new();
    for n in 0..ROUNDS {
        let answered = round(&venues, &data, n, &mut rng);
        all.extend(answered);
        // Every round so far, on the store the kill left.
        let store = Store::open(&data);
        let log = std::fs::read_to_string(data.join("audit.log")).expect("audit.log");
        for (sent, answer) in &all {
            check(&store, sent, answer.as_deref());
            if answer
                .as_deref()
                .is_some_and(|a| a.starts_with("applied: "))
            {
                assert!(log.contains(&sent.tag), "{} in audit.log", sent.line);
            }
        }
        // Each round's fault too (applied at once, its store record
        // written behind the notes that followed).
        let faults = store.audit("fault STA-core-a down").0;
        assert_eq!(
            faults,
            i64::try_from(n + 1).unwrap(),
            "seed {seed}: faults in the audit table"
        );
        let list = incidents(&venues, &data);
        assert!(
            list.iter().any(|i| i["subject"] == "STA-core"),
            "seed {seed}: the incident on STA-core is kept: {list:?}"
        );
    }
    let applied = all
        .iter()
        .filter(|(_, a)| a.as_deref().is_some_and(|a| a.starts_with("applied: ")))
        .count();
    let refused = all
        .iter()
        .filter(|(_, a)| a.as_deref().is_some_and(|a| a.starts_with("refused: ")))
        .count();
    eprintln!(
        "seed {seed}: {ROUNDS} kills, {applied} applied and {refused} refused kept as answered, in {:?}",
        started.elapsed()
    );
    assert!(
        applied >= ROUNDS,
        "seed {seed}: too few commands applied to tell"
    );
}

/// The store's timeline entries holding exactly `text`.
fn entries(data: &Path, text: &str) -> i64 {
    let conn = rusqlite::Connection::open(data.join("toc.db")).expect("the store opens");
    conn.query_row(
        "SELECT count(*) FROM timeline WHERE text = ?1",
        [text],
        |r| r.get(0),
    )
    .unwrap()
}

/// Two commands on one incident in flight at once (two consoles, or one
/// command while the engine changes the incident): the second was
/// planned on the incident before the first changed it, so the engine
/// plans it again when it commits. Each applied command is still stored
/// once, and nothing of a refused one.
#[tokio::test]
async fn two_commands_in_flight_on_one_incident_are_stored_once() {
    use toc::engine::{Command as Cmd, FaultKind, IncidentCommand};
    let dir = tempfile::tempdir().unwrap();
    let file = venues(dir.path());
    let data = dir.path().join("toc-data");
    let (inventory, _) = toc::config::Inventory::load(&file).expect("the fixture loads");
    let tuning = toc::runtime::Tuning {
        interval: Some(Duration::from_millis(500)),
        timeout: Some(Duration::from_millis(200)),
        data_dir: Some(data.clone()),
        ..toc::runtime::Tuning::default()
    };
    let live = toc::runtime::Live::demo(inventory, tuning)
        .await
        .expect("the demo starts");
    let h = live.handle();
    let down = FaultKind::parse("down", None).unwrap();
    h.send(Cmd::fault("STA-core-a", down, None))
        .await
        .expect("fault applied");
    let note = |text: &str| {
        Cmd::Incident(IncidentCommand::Note {
            which: "STA-core".into(),
            text: text.into(),
        })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while h.send(note("waiting for the incident")).await.is_err() {
        assert!(Instant::now() < deadline, "no incident on STA-core");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut kept = Vec::new();
    for n in 0..5 {
        let ack_text = format!("both in flight {n}: ack");
        let note_text = format!("both in flight {n}: note");
        let ack = Cmd::Incident(IncidentCommand::Ack {
            which: "STA-core".into(),
            comment: ack_text.clone(),
            expires: None,
        });
        let (a, b) = tokio::join!(h.send(ack), h.send(note(&note_text)));
        // Both can be applied: the note goes on the acknowledged incident.
        assert!(a.is_ok() && b.is_ok(), "{a:?} {b:?}");
        kept.push((ack_text, a.is_ok()));
        kept.push((note_text, b.is_ok()));
    }
    live.shutdown().await;
    for (text, applied) in kept {
        assert_eq!(
            entries(&data, &text),
            i64::from(applied),
            "`{text}` answered {}",
            if applied { "applied" } else { "refused" }
        );
    }
}
