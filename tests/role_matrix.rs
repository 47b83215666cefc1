//! The role matrix through the real engine (step 8): every role, with
//! every venue and with STA only, sends every command to a `toc demo`
//! wiring (simulated venues on loopback, the poller, the SQLite store and
//! `audit.log` in a temporary data folder). Each answer is what the table
//! below says; a refusal says the role needed and held, or that the
//! target is outside the caller's venues, and changes nothing; every
//! command, applied or refused, is in `audit.log` and in the store's
//! audit table with who asked, their role and what came of it.
//!
//! The samples live in [`samples`] and [`rows_of`]: a new [`Command`]
//! variant does not build until it is given rows there.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use toc::engine::port::{IncidentStore as _, StoreOp};
use toc::engine::{
    Command, DeviceCommand, Done, EngineHandle, FaultKind, Identity, IncidentCommand,
    IncidentState, Refusal, Reply, Role, SessionCommand, SimCommand, Snapshot, TimelineKind,
};
use toc::incident::IncidentRecord;
use toc::model::Status;
use toc::runtime::Live;
use toc::store::{Reader, Store};

use support::engine::{quick, small_with, wait_for};
use toc::config::playbook::{Action, OnFailure, Playbook, Step, Trigger, TriggerKind};
use toc::engine::{Answer, PlaybookCommand, RunAction};
use toc::model::relay::{RelayCommand, ReplayFrom};

/// The relay of the matrix: the sources of STA's and MRN's feeds, one
/// file sink in the data folder, one route.
fn relay_section(dir: &Path) -> String {
    format!(
        r#"
[relay]
listen = "127.0.0.1:0"

[[relay.sources]]
id = "STA-ovr-a"
token_env = "TOC_MATRIX_STA_A"

[[relay.sources]]
id = "STA-ovr-b"
token_env = "TOC_MATRIX_STA_B"

[[relay.sources]]
id = "MRN-ovr-a"
token_env = "TOC_MATRIX_MRN_A"

[[relay.sources]]
id = "MRN-ovr-b"
token_env = "TOC_MATRIX_MRN_B"

[[relay.sinks]]
id = "archive"
kind = "file"
dir = "{}"
consumer = "media"

[[relay.routes]]
id = "results"
sinks = ["archive"]
"#,
        dir.join("archive").display()
    )
}

/// The incidents one identity's incident commands name: one at STA, one
/// at MRN (kept by the store before the demo starts, their devices
/// healthy, so a duty manager may resolve them).
#[derive(Debug, Clone)]
struct Fixture {
    sta: String,
    mrn: String,
}

// ---------------------------------------------------------------------
// The samples: the one place to change when a command changes.
// ---------------------------------------------------------------------

/// `:maint TARGET 1h rack works`.
fn maint_on(target: &str) -> Command {
    Command::maintenance(target, Duration::from_secs(3600), "rack works")
}

/// `:maint off TARGET`.
fn maint_off(target: &str) -> Command {
    Command::end_maintenance(target)
}

/// A fault that changes no device's status (so the incidents of the
/// fixture stay clear and can be resolved).
fn harmless_fault(target: &str) -> Command {
    Command::fault(target, FaultKind::Slow(Duration::from_millis(1)), None)
}

/// Devices the samples act on (none of them carries a fixture incident).
const STA_DEV: &str = "STA-acc-01";
const MRN_DEV: &str = "MRN-ovr-a";
const STA_FAULTY: &str = "STA-timing";
const MRN_FAULTY: &str = "MRN-timing";

/// Every command of the matrix, by row, for an identity whose incidents
/// are `fx` and whose user is `user` (notes and comments name it).
fn samples(fx: &Fixture, user: &str) -> Vec<(&'static str, Command)> {
    let ack = |which: &str| {
        Command::Incident(IncidentCommand::Ack {
            which: which.to_owned(),
            comment: format!("taken by {user}"),
            expires: None,
        })
    };
    let note = |which: &str| {
        Command::Incident(IncidentCommand::Note {
            which: which.to_owned(),
            text: format!("note by {user}"),
        })
    };
    let relay = Command::Relay;
    let source = |feed: &str, source: Option<&str>| {
        Command::Relay(RelayCommand::Source {
            feed: feed.to_owned(),
            source: source.map(str::to_owned),
        })
    };
    let resolve = |which: &str| {
        Command::Incident(IncidentCommand::Resolve {
            which: which.to_owned(),
        })
    };
    let mut rows = vec![
        ("check STA dev", Command::check_now(STA_DEV)),
        ("check STA", Command::check_now("STA")),
        ("check MRN dev", Command::check_now(MRN_DEV)),
        ("check nowhere", Command::check_now("NOPE")),
        ("maint on STA dev", maint_on(STA_DEV)),
        ("maint off MRN dev", maint_off(MRN_DEV)),
        ("maint on MRN dev", maint_on(MRN_DEV)),
        ("fault STA dev", harmless_fault(STA_FAULTY)),
        ("fault MRN dev", harmless_fault(MRN_FAULTY)),
        (
            "clear MRN dev",
            Command::clear_faults(Some(MRN_FAULTY.into())),
        ),
        ("clear all", Command::clear_faults(None)),
        ("clear STA", Command::clear_faults(Some("STA".into()))),
        ("ack STA inc", ack(&fx.sta)),
        ("ack MRN inc", ack(&fx.mrn)),
        ("ack nothing", ack("9-99")),
        ("note STA inc", note(&fx.sta)),
        ("note MRN inc", note(&fx.mrn)),
    ];
    // Before the resolutions: a run needs its incident open.
    let at = rows.len();
    rows.extend(vec![
        ("resolve STA inc", resolve(&fx.sta)),
        ("resolve MRN inc", resolve(&fx.mrn)),
        (
            "pause sink",
            relay(RelayCommand::Pause {
                sink: "archive".into(),
            }),
        ),
        (
            "resume sink",
            relay(RelayCommand::Resume {
                sink: "archive".into(),
            }),
        ),
        (
            "replay nowhere",
            relay(RelayCommand::Replay {
                sink: "nope".into(),
                from: ReplayFrom::Seq(1),
            }),
        ),
        ("source STA b", source("STA-results", Some("STA-ovr-b"))),
        ("source STA both", source("STA-results", None)),
        ("source MRN b", source("MRN-results", Some("MRN-ovr-b"))),
        ("source MRN both", source("MRN-results", None)),
        (
            "route results",
            relay(RelayCommand::Route {
                route: "results".into(),
                sinks: vec!["archive".into()],
            }),
        ),
        (
            "denied peer",
            Command::Session(SessionCommand::Denied {
                peer: "127.0.0.1:9".into(),
                reason: format!("a wrong token, said to be {user}'s"),
            }),
        ),
    ]);
    rows.splice(at..at, playbook_samples(fx, user));
    rows
}

/// The playbook rows of [`samples`].
fn playbook_samples(fx: &Fixture, user: &str) -> Vec<(&'static str, Command)> {
    let playbook = Command::Playbook;
    let dry_run = |which: &str| PlaybookCommand::DryRun {
        playbook: MATRIX_PLAYBOOK.to_owned(),
        which: which.to_owned(),
    };
    let start = |which: &str| PlaybookCommand::Run {
        playbook: MATRIX_PLAYBOOK.to_owned(),
        which: which.to_owned(),
    };
    let answer = |answer: Answer| PlaybookCommand::Answer {
        run: "9-99/1".to_owned(),
        step: "note".to_owned(),
        answer,
    };
    vec![
        ("dry-run STA inc", playbook(dry_run(&fx.sta))),
        ("dry-run MRN inc", playbook(dry_run(&fx.mrn))),
        ("run STA inc", playbook(start(&fx.sta))),
        ("run MRN inc", playbook(start(&fx.mrn))),
        ("approve nothing", playbook(answer(Answer::Approve))),
        (
            "done nothing",
            playbook(answer(Answer::Done {
                comment: format!("done by {user}"),
            })),
        ),
        (
            "abort nothing",
            playbook(PlaybookCommand::Control {
                run: "9-99/1".to_owned(),
                action: RunAction::Abort,
            }),
        ),
        (
            "step nothing",
            playbook(PlaybookCommand::Step {
                run: "9-99/1".to_owned(),
                step: "note".to_owned(),
                work: "note".to_owned(),
            }),
        ),
    ]
}

/// The rows that sample each kind of command. No wildcard: a new variant
/// of [`Command`], [`DeviceCommand`], [`SimCommand`] or
/// [`IncidentCommand`] fails to build here until it has rows (and the
/// test checks the rows exist and sample it).
fn rows_of(command: &Command) -> &'static [&'static str] {
    match command {
        Command::Device(DeviceCommand::CheckNow { .. }) => &[
            "check STA dev",
            "check STA",
            "check MRN dev",
            "check nowhere",
        ],
        Command::Device(DeviceCommand::Maintenance { .. }) => {
            &["maint on STA dev", "maint off MRN dev", "maint on MRN dev"]
        }
        Command::Sim(SimCommand::Fault(_)) => &["fault STA dev", "fault MRN dev"],
        Command::Sim(SimCommand::Clear { .. }) => &["clear MRN dev", "clear all", "clear STA"],
        Command::Incident(IncidentCommand::Ack { .. }) => {
            &["ack STA inc", "ack MRN inc", "ack nothing"]
        }
        Command::Incident(IncidentCommand::Note { .. }) => &["note STA inc", "note MRN inc"],
        Command::Incident(IncidentCommand::Resolve { .. }) => {
            &["resolve STA inc", "resolve MRN inc"]
        }
        Command::Relay(RelayCommand::Pause { .. }) => &["pause sink"],
        Command::Relay(RelayCommand::Resume { .. }) => &["resume sink"],
        Command::Relay(RelayCommand::Replay { .. }) => &["replay nowhere"],
        Command::Relay(RelayCommand::Source { .. }) => &[
            "source STA b",
            "source STA both",
            "source MRN b",
            "source MRN both",
        ],
        Command::Relay(RelayCommand::Route { .. }) => &["route results"],
        Command::Playbook(PlaybookCommand::DryRun { .. }) => {
            &["dry-run STA inc", "dry-run MRN inc"]
        }
        Command::Playbook(PlaybookCommand::Run { .. }) => &["run STA inc", "run MRN inc"],
        Command::Playbook(PlaybookCommand::Answer { .. }) => &["approve nothing", "done nothing"],
        Command::Playbook(PlaybookCommand::Control { .. }) => &["abort nothing"],
        Command::Playbook(PlaybookCommand::Step { .. }) => &["step nothing"],
        Command::Session(SessionCommand::Denied { .. }) => &["denied peer"],
    }
}

/// The matrix's playbook: one note, so a run ends at once (the next
/// identity's run on the same incident is not refused as a second run).
const MATRIX_PLAYBOOK: &str = "matrix-note";

fn matrix_playbook() -> Playbook {
    Playbook {
        id: MATRIX_PLAYBOOK.to_owned(),
        title: "A note".to_owned(),
        summary: String::new(),
        trigger: Trigger {
            kind: TriggerKind::Manual,
            role: None,
            venue: None,
            feed: None,
        },
        steps: vec![Step {
            id: "note".to_owned(),
            title: "Write a note".to_owned(),
            instructions: String::new(),
            dangerous: false,
            timeout: None,
            on_failure: OnFailure::Stop,
            action: Action::Note {
                text: "matrix".to_owned(),
            },
        }],
        file: std::path::PathBuf::from("matrix-note.toml"),
    }
}

/// The expected answers. Columns: viewer, technician, operator, duty
/// manager, with every venue, then with STA only. `A` applied, `F`
/// forbidden (role), `S` out of scope, `I` past the role check but
/// refused as invalid (what it names does not exist; with a venue scope
/// that is out of scope instead, so a scope does not reveal what exists
/// outside it), `U` refused as not authenticated (an API caller not let
/// in, audited through the engine: refused for every role).
const TABLE: [(&str, [&str; 2]); 36] = [
    ("check STA dev", ["FAAA", "FAAA"]),
    ("check STA", ["FAAA", "FAAA"]),
    ("check MRN dev", ["FAAA", "FSSS"]),
    ("check nowhere", ["FIII", "FSSS"]),
    ("maint on STA dev", ["FFAA", "FFAA"]),
    ("maint off MRN dev", ["FFAA", "FFSS"]),
    ("maint on MRN dev", ["FFAA", "FFSS"]),
    ("fault STA dev", ["FFAA", "FFAA"]),
    ("fault MRN dev", ["FFAA", "FFSS"]),
    ("clear MRN dev", ["FFAA", "FFSS"]),
    ("clear all", ["FFAA", "FFSS"]),
    ("clear STA", ["FFAA", "FFAA"]),
    ("ack STA inc", ["FFFA", "FFFA"]),
    ("ack MRN inc", ["FFFA", "FFFS"]),
    ("ack nothing", ["FFFI", "FFFS"]),
    ("note STA inc", ["FAAA", "FAAA"]),
    ("note MRN inc", ["FAAA", "FSSS"]),
    // Technicians dry-run and answer manual steps in their venues;
    // operators run; only duty managers approve.
    ("dry-run STA inc", ["FAAA", "FAAA"]),
    ("dry-run MRN inc", ["FAAA", "FSSS"]),
    ("run STA inc", ["FFAA", "FFAA"]),
    ("run MRN inc", ["FFAA", "FFSS"]),
    ("approve nothing", ["FFFI", "FFFS"]),
    ("done nothing", ["FIII", "FSSS"]),
    ("abort nothing", ["FFII", "FFSS"]),
    ("step nothing", ["FFII", "FFSS"]),
    ("resolve STA inc", ["FFFA", "FFFA"]),
    ("resolve MRN inc", ["FFFA", "FFFS"]),
    // Sinks and routes serve every venue; a feed is its venue's.
    ("pause sink", ["FFAA", "FFSS"]),
    ("resume sink", ["FFAA", "FFSS"]),
    ("replay nowhere", ["FFII", "FFSS"]),
    ("source STA b", ["FFAA", "FFAA"]),
    ("source STA both", ["FFAA", "FFAA"]),
    ("source MRN b", ["FFAA", "FFSS"]),
    ("source MRN both", ["FFAA", "FFSS"]),
    ("route results", ["FFAA", "FFSS"]),
    ("denied peer", ["UUUU", "UUUU"]),
];

// ---------------------------------------------------------------------
// The world a command may change, and what the test expects of it.
// ---------------------------------------------------------------------

/// What commands change, as the engine and the simulator show it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct World {
    /// Devices shown in maintenance.
    maintenance: BTreeSet<String>,
    /// Simulator faults in force: target and fault.
    faults: BTreeSet<(String, String)>,
    /// The fixture's live incidents: state, and who acknowledged them.
    incidents: BTreeMap<String, (IncidentState, Option<String>)>,
}

/// One identity of the matrix: its name, role, scope and incidents.
struct Column {
    identity: Identity,
    /// 0 for every venue, 1 for STA only.
    scope: usize,
    fixture: Fixture,
}

/// What the audit must hold of one command.
#[derive(Debug)]
struct Expected {
    identity: Identity,
    text: String,
    command: Command,
    applied: bool,
    /// The refusal's words, for a refused command.
    refusal: Option<String>,
}

/// Acks, notes and resolutions each fixture incident must have in the
/// store's timeline, in order: kind and who.
type Timelines = BTreeMap<String, Vec<(TimelineKind, String)>>;

/// The run: the demo, what was sent, and what must follow from it.
struct Run {
    live: Live,
    fixture_ids: Vec<String>,
    sent: u64,
    expected: Vec<Expected>,
    timelines: Timelines,
}

fn identity(user: &str, role: Role, venues: &[&str]) -> Identity {
    Identity {
        user: user.to_owned(),
        role,
        venues: venues.iter().map(|v| (*v).to_owned()).collect(),
    }
}

/// An incident kept by a previous run, open, on a device.
fn kept(id: &str, device: &str, venue: &str) -> IncidentRecord {
    let opened = SystemTime::now() - Duration::from_secs(60);
    IncidentRecord {
        id: id.to_owned(),
        key: format!("device:{device}"),
        kind: "device-down".to_owned(),
        subject: device.to_owned(),
        venue: venue.to_owned(),
        severity: "DOWN".to_owned(),
        title: format!("{device} is down"),
        state: IncidentState::Open,
        opened_at: opened,
        ack: None,
        resolved_at: None,
        resolved_by: None,
        reopened: 0,
        in_maintenance: false,
        notified_at: Some(opened),
    }
}

/// The store of `dir` as a previous run left it: six open incidents, a
/// pair (STA, MRN) shared by the roles that may not resolve, and a pair
/// of its own for each duty manager.
fn keep_incidents(dir: &Path) -> [Fixture; 3] {
    let pairs = [
        ("STA-core", "MRN-core"),
        ("STA-rtr-a", "MRN-rtr"),
        ("STA-rtr-b", "MRN-scb"),
    ];
    let (store, _) = Store::open(&dir.join("toc.db")).expect("store opens");
    let mut ops = Vec::new();
    let fixtures = pairs.map(|(sta, mrn)| {
        let n = ops.len();
        let fx = Fixture {
            sta: format!("0-{}", n + 1),
            mrn: format!("0-{}", n + 2),
        };
        ops.push(StoreOp::Incident(kept(&fx.sta, sta, "STA")));
        ops.push(StoreOp::Incident(kept(&fx.mrn, mrn, "MRN")));
        fx
    });
    let (tx, rx) = std::sync::mpsc::channel();
    store
        .write(
            ops,
            Some(Box::new(move |r| {
                let _ = tx.send(r);
            })),
        )
        .expect("queued");
    rx.recv_timeout(Duration::from_secs(10))
        .expect("acked")
        .expect("written");
    store.close();
    fixtures
}

/// Every identity of the matrix, in the order they act: least role
/// first, every venue then STA only. The roles that may not resolve share
/// the first pair of incidents; each duty manager has its own.
fn columns(fixtures: &[Fixture; 3]) -> Vec<Column> {
    let mut out = Vec::new();
    for role in Role::ALL {
        for (scope, venues) in [(0, &[][..]), (1, &["STA"][..])] {
            let fixture = match (role, scope) {
                (Role::DutyManager, 0) => fixtures[2].clone(),
                (Role::DutyManager, _) => fixtures[1].clone(),
                _ => fixtures[0].clone(),
            };
            let place = if scope == 0 { "all" } else { "STA" };
            out.push(Column {
                identity: identity(&format!("{role}@{place}"), role, venues),
                scope,
                fixture,
            });
        }
    }
    out
}

impl Run {
    async fn start(dir: &Path) -> (Run, [Fixture; 3]) {
        let fixtures = keep_incidents(dir);
        let mut tuning = quick(200);
        tuning.data_dir = Some(dir.to_path_buf());
        tuning.engine.refresh = Duration::from_millis(20);
        tuning.engine.urgent = Duration::from_millis(5);
        tuning.engine.playbooks = vec![matrix_playbook()];
        let live = Live::demo(small_with(&relay_section(dir)), tuning)
            .await
            .expect("demo starts");
        let fixture_ids: Vec<String> = fixtures
            .iter()
            .flat_map(|f| [f.sta.clone(), f.mrn.clone()])
            .collect();
        let run = Run {
            live,
            fixture_ids,
            sent: 0,
            expected: Vec::new(),
            timelines: BTreeMap::new(),
        };
        // Kept, and clear once their devices answer: resolvable.
        let ids = run.fixture_ids.clone();
        wait_for(
            &run.live.handle(),
            Duration::from_secs(30),
            "the kept incidents clear",
            |s| {
                ids.iter().all(|id| {
                    s.incidents
                        .iter()
                        .any(|i| i.id.to_string() == *id && i.clear_since.is_some())
                })
            },
        )
        .await;
        (run, fixtures)
    }

    /// What commands change, now that the engine has handled every
    /// command sent.
    async fn world(&self) -> World {
        let n = self.sent;
        let snap = wait_for(
            &self.live.handle(),
            Duration::from_secs(10),
            "a snapshot after the last command",
            |s| s.stats.commands >= n,
        )
        .await;
        self.world_of(&snap)
    }

    fn world_of(&self, snap: &Snapshot) -> World {
        let maintenance = snap
            .devices
            .iter()
            .zip(&snap.layout.devices)
            .filter(|(d, _)| d.status == Status::Maintenance)
            .map(|(_, i)| i.id.clone())
            .collect();
        let faults = self
            .live
            .sim
            .as_ref()
            .expect("a simulator")
            .state()
            .active(Instant::now())
            .into_iter()
            .map(|f| (f.target, format!("{:?}", f.fault)))
            .collect();
        let incidents = snap
            .incidents
            .iter()
            .filter(|i| self.fixture_ids.contains(&i.id.to_string()))
            .map(|i| {
                (
                    i.id.to_string(),
                    (i.state, i.ack.as_ref().map(|a| a.by.clone())),
                )
            })
            .collect();
        World {
            maintenance,
            faults,
            incidents,
        }
    }

    /// Sends `command` as `handle`'s identity and notes what the audit
    /// must hold of it.
    async fn send(&mut self, handle: &EngineHandle, command: Command) -> Reply {
        let reply = handle.send(command.clone()).await;
        self.sent += 1;
        self.expected.push(Expected {
            identity: handle.identity().clone(),
            text: command.to_string(),
            command,
            applied: reply.is_ok(),
            refusal: reply.as_ref().err().map(ToString::to_string),
        });
        reply
    }
}

/// The letter of an answer, checking a refusal's words name the role held
/// and needed or the target.
fn letter(reply: &Reply, who: &Identity, command: &Command, row: &str) -> char {
    match reply {
        Ok(_) => 'A',
        Err(Refusal::Forbidden { needed, held }) => {
            assert_eq!(*held, who.role, "{row}");
            assert!(*needed > who.role, "{row}: needs {needed}");
            let words = reply.as_ref().unwrap_err().to_string();
            assert_eq!(
                words,
                format!("refused: needs role {needed}, you are {}", who.role)
            );
            'F'
        }
        Err(Refusal::OutOfScope(what)) => {
            let named = command_target(command);
            assert_eq!(Some(what.as_str()), named.or(Some("every venue")), "{row}");
            assert!(
                reply
                    .as_ref()
                    .unwrap_err()
                    .to_string()
                    .ends_with("is outside your venues"),
                "{row}"
            );
            'S'
        }
        Err(Refusal::Invalid(_)) => 'I',
        Err(Refusal::Unauthenticated(why)) => {
            let Command::Session(SessionCommand::Denied { peer, reason }) = command else {
                panic!("{row}: {why}");
            };
            assert_eq!(*why, format!("{peer}: {reason}"), "{row}");
            'U'
        }
        Err(other) => panic!("{row} as {}: unexpected refusal {other}", who.user),
    }
}

/// What a command names (`None`: every venue).
fn command_target(command: &Command) -> Option<&str> {
    match command {
        Command::Device(
            DeviceCommand::CheckNow { target } | DeviceCommand::Maintenance { target, .. },
        )
        | Command::Sim(
            SimCommand::Fault(toc::engine::FaultSpec { target, .. })
            | SimCommand::Clear {
                target: Some(target),
            },
        ) => Some(target),
        Command::Incident(c) => Some(c.which()),
        Command::Playbook(c) => Some(c.which()),
        Command::Relay(RelayCommand::Source { feed, .. }) => Some(feed),
        Command::Sim(SimCommand::Clear { target: None })
        | Command::Relay(_)
        | Command::Session(_) => None,
    }
}

/// Checks what an applied command did to the world, and notes its
/// timeline entry.
fn applied(
    row: &str,
    who: &Identity,
    command: &Command,
    done: &Done,
    world: &World,
    timelines: &mut Timelines,
) {
    match command {
        Command::Device(DeviceCommand::CheckNow { target }) => {
            assert!(
                matches!(done, Done::CheckRequested { target: t, devices } if t == target && *devices > 0),
                "{row}: {done:?}"
            );
        }
        Command::Device(DeviceCommand::Maintenance { target, on, .. }) => {
            assert_eq!(world.maintenance.contains(target), *on, "{row}: {world:?}");
        }
        Command::Sim(SimCommand::Fault(spec)) => {
            assert!(
                world.faults.iter().any(|(t, _)| *t == spec.target),
                "{row}: {world:?}"
            );
        }
        Command::Sim(SimCommand::Clear { target }) => {
            let left: Vec<_> = world
                .faults
                .iter()
                .filter(|(t, _)| target.as_deref().is_none_or(|x| t.starts_with(x)))
                .collect();
            assert!(left.is_empty(), "{row}: {left:?} left");
        }
        Command::Incident(c) => {
            let which = c.which().to_owned();
            let kind = match c {
                IncidentCommand::Ack { .. } => {
                    assert_eq!(
                        world.incidents.get(&which),
                        Some(&(IncidentState::Acknowledged, Some(who.user.clone()))),
                        "{row}"
                    );
                    TimelineKind::Acknowledged
                }
                IncidentCommand::Note { .. } => TimelineKind::Note,
                IncidentCommand::Resolve { .. } => {
                    assert!(!world.incidents.contains_key(&which), "{row}: {world:?}");
                    TimelineKind::Resolved
                }
            };
            timelines
                .entry(which)
                .or_default()
                .push((kind, who.user.clone()));
        }
        Command::Relay(_) => {
            assert!(matches!(done, Done::Relay { .. }), "{row}: {done:?}");
        }
        Command::Playbook(c) => {
            let Done::Playbook { run, text } = done else {
                panic!("{row}: {done:?}");
            };
            match c {
                PlaybookCommand::DryRun { .. } => {
                    assert!(
                        run.is_empty() && text.contains("1. note (note)"),
                        "{row}: {text}"
                    );
                }
                _ => assert!(run.starts_with(c.which()), "{row}: {run}"),
            }
        }
        Command::Session(_) => panic!("{row}: a session command was applied: {done:?}"),
    }
}

/// Puts a standing world in place before the matrix, as a duty manager
/// (so the refusals of the least roles have something to leave alone):
/// a fault at each venue, a device in maintenance.
async fn set_the_stage(run: &mut Run) {
    let setup = run
        .live
        .handle_for(identity("setup", Role::DutyManager, &[]));
    for command in [
        harmless_fault(STA_FAULTY),
        harmless_fault(MRN_FAULTY),
        maint_on(MRN_DEV),
    ] {
        let reply = run.send(&setup, command.clone()).await;
        assert!(reply.is_ok(), "{command}: {reply:?}");
    }
    let world = run.world().await;
    assert_eq!(world.faults.len(), 2, "{world:?}");
    assert!(world.maintenance.contains(MRN_DEV), "{world:?}");
}

/// Every identity sends every command; each answer is the table's, and
/// a refusal changes nothing.
async fn play_the_matrix(run: &mut Run, columns: &[Column]) {
    let table: BTreeMap<&str, [&str; 2]> = TABLE.into_iter().collect();
    for column in columns {
        let who = &column.identity;
        let handle = run.live.handle_for(who.clone());
        let column_of_role = Role::ALL
            .iter()
            .position(|r| *r == who.role)
            .expect("a role");
        for (row, command) in samples(&column.fixture, &who.user) {
            let want = table[row][column.scope]
                .chars()
                .nth(column_of_role)
                .expect("a letter");
            let before = run.world().await;
            let reply = run.send(&handle, command.clone()).await;
            let got = letter(&reply, who, &command, row);
            assert_eq!(got, want, "{row} as {}: {reply:?}", who.user);
            let after = run.world().await;
            match &reply {
                Ok(done) => applied(row, who, &command, done, &after, &mut run.timelines),
                Err(why) => assert_eq!(
                    after, before,
                    "{row} as {}, refused ({why}), changed nothing",
                    who.user
                ),
            }
        }
    }
}

/// The console's records in `dir/audit.log`, one JSON value each.
fn console_records(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("audit.log"))
        .expect("audit.log")
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .filter(|v| v["source"] == "console")
        .collect()
}

/// Every command, applied or refused, is one record of `audit.log` and
/// one of the store's audit table, in the order sent, saying who asked,
/// their role and venues, the command, whether it was applied and (for a
/// refusal) the refusal's words.
fn audited(dir: &Path, expected: &[Expected]) {
    let file = console_records(dir);
    let table = Reader::open(&dir.join("toc.db"))
        .expect("store")
        .audit_since(UNIX_EPOCH)
        .expect("audit table");
    assert_eq!(file.len(), expected.len(), "audit.log: {file:#?}");
    assert_eq!(table.len(), expected.len(), "audit table: {table:#?}");
    for ((want, line), row) in expected.iter().zip(&file).zip(&table) {
        let who = &want.identity;
        let what = format!("{} by {}", want.text, who.user);
        assert_eq!(line["user"], who.user.as_str(), "{what}");
        assert_eq!(line["role"], who.role.name(), "{what}");
        assert_eq!(line["venues"], serde_json::json!(who.venues), "{what}");
        assert_eq!(line["command"], want.text.as_str(), "{what}");
        assert_eq!(
            line["request"],
            serde_json::to_value(&want.command).expect("json"),
            "{what}"
        );
        assert_eq!(line["applied"], want.applied, "{what}");
        let outcome = line["outcome"].as_str().expect("an outcome");
        match &want.refusal {
            Some(words) => assert_eq!(outcome, words, "{what}"),
            None => assert!(!outcome.is_empty(), "{what}"),
        }
        assert_eq!(&row.identity, who, "{what}");
        assert_eq!(row.text, want.text, "{what}");
        assert_eq!(row.command, want.command, "{what}");
        assert_eq!(row.applied, want.applied, "{what}");
        assert_eq!(row.outcome, outcome, "{what}: the same words in both");
    }
}

/// The store's timelines hold the acks, notes and resolutions of the
/// commands applied, and nothing of those refused.
fn timelines_kept(dir: &Path, fixture_ids: &[String], want: &Timelines) {
    let reader = Reader::open(&dir.join("toc.db")).expect("store");
    for id in fixture_ids {
        let (record, timeline) = reader
            .incident(id)
            .expect("readable")
            .unwrap_or_else(|| panic!("incident {id} kept"));
        let by_people: Vec<(TimelineKind, String)> = timeline
            .into_iter()
            .filter(|e| {
                matches!(
                    e.kind,
                    TimelineKind::Acknowledged | TimelineKind::Note | TimelineKind::Resolved
                )
            })
            .map(|e| (e.kind, e.by.unwrap_or_default()))
            .collect();
        let expected = want.get(id).cloned().unwrap_or_default();
        assert_eq!(by_people, expected, "incident {id}");
        let resolved = expected.iter().any(|(k, _)| *k == TimelineKind::Resolved);
        let acked = expected
            .iter()
            .any(|(k, _)| *k == TimelineKind::Acknowledged);
        let state = match (resolved, acked) {
            (true, _) => IncidentState::Resolved,
            (false, true) => IncidentState::Acknowledged,
            (false, false) => IncidentState::Open,
        };
        assert_eq!(record.state, state, "incident {id}");
        if resolved {
            assert!(record.resolved_by.is_some(), "incident {id}");
        }
    }
}

/// Who acknowledged, noted and resolved each kept incident, as the table
/// says, written out: notes from technicians and operators in their
/// venues on the shared pair; each duty manager takes, notes and resolves
/// its own (the one with STA only, its STA incident only).
fn people_on_incidents(fx: &[Fixture; 3]) -> Timelines {
    use TimelineKind::{Acknowledged as Ack, Note, Resolved};
    let by = |entries: &[(TimelineKind, &str)]| -> Vec<(TimelineKind, String)> {
        entries.iter().map(|(k, u)| (*k, (*u).to_owned())).collect()
    };
    BTreeMap::from([
        (
            fx[0].sta.clone(),
            by(&[
                (Note, "technician@all"),
                (Note, "technician@STA"),
                (Note, "operator@all"),
                (Note, "operator@STA"),
            ]),
        ),
        (
            fx[0].mrn.clone(),
            by(&[(Note, "technician@all"), (Note, "operator@all")]),
        ),
        (
            fx[1].sta.clone(),
            by(&[
                (Ack, "duty_manager@STA"),
                (Note, "duty_manager@STA"),
                (Resolved, "duty_manager@STA"),
            ]),
        ),
        (
            fx[2].sta.clone(),
            by(&[
                (Ack, "duty_manager@all"),
                (Note, "duty_manager@all"),
                (Resolved, "duty_manager@all"),
            ]),
        ),
        (
            fx[2].mrn.clone(),
            by(&[
                (Ack, "duty_manager@all"),
                (Note, "duty_manager@all"),
                (Resolved, "duty_manager@all"),
            ]),
        ),
    ])
}

/// Every row samples the kinds of command [`rows_of`] gives it, every
/// kind has rows, and the table has a line per row.
#[test]
fn every_command_kind_has_samples_and_a_line_in_the_table() {
    let fx = Fixture {
        sta: "0-1".into(),
        mrn: "0-2".into(),
    };
    let samples = samples(&fx, "someone");
    let rows: Vec<&str> = samples.iter().map(|(r, _)| *r).collect();
    let table: Vec<&str> = TABLE.iter().map(|(r, _)| *r).collect();
    assert_eq!(rows, table, "one line of the table per sample, in order");
    for (row, command) in &samples {
        let named = rows_of(command);
        assert!(!named.is_empty(), "{command}");
        assert!(named.contains(row), "{row} is not among {named:?}");
        for r in named {
            assert!(rows.contains(r), "{r} names no sample");
        }
    }
    for (_, [all, sta]) in TABLE {
        for letters in [all, sta] {
            assert_eq!(letters.len(), Role::ALL.len());
            assert!(letters.chars().all(|c| "AFSIU".contains(c)), "{letters}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_against_every_command_through_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let (mut run, fixtures) = Run::start(dir.path()).await;
    let columns = columns(&fixtures);
    set_the_stage(&mut run).await;
    play_the_matrix(&mut run, &columns).await;
    let Run {
        live,
        fixture_ids,
        expected,
        timelines,
        ..
    } = run;
    assert_eq!(timelines, people_on_incidents(&fixtures));
    live.shutdown().await;
    audited(dir.path(), &expected);
    timelines_kept(dir.path(), &fixture_ids, &timelines);
}
