//! Playbook runs in a real demo engine (simulator, poller, SQLite store,
//! audit log, the embedded relay): a duty manager's approval gates a
//! relay step that switches a feed to its backup source; operators and
//! technicians are refused the approval, and each refusal is audited;
//! every step lands in the incident's timeline and the store.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::engine::{fault, quick, small_with, wait_for};
use toc::config::playbook::{
    Action, Field, OnFailure, Playbook, Ref, RelayAction, SourcePick, Step, Target, Trigger,
    TriggerKind,
};
use toc::engine::{
    Answer, Command, Done, Identity, PlaybookCommand, Refusal, Role, RunState, Snapshot, StepState,
    TimelineKind,
};
use toc::model::{ProblemKind, Status};
use toc::runtime::Live;

const PATIENCE: Duration = Duration::from_secs(30);

fn relay_section(dir: &Path) -> String {
    format!(
        r#"
[relay]
listen = "127.0.0.1:0"

[[relay.sources]]
id = "STA-ovr-a"
token_env = "TOC_PB_STA_A"

[[relay.sources]]
id = "STA-ovr-b"
token_env = "TOC_PB_STA_B"

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

fn step(id: &str, action: Action, dangerous: bool) -> Step {
    Step {
        id: id.to_owned(),
        title: format!("title of {id}"),
        instructions: format!("do {id}"),
        dangerous,
        timeout: None,
        on_failure: OnFailure::Stop,
        action,
    }
}

/// The primary results server of STA's pair is down: confirm, approve,
/// switch the feed to the backup, wait for the feed.
fn book() -> Playbook {
    Playbook {
        id: "ovr-switch".to_owned(),
        title: "Primary results server down".to_owned(),
        summary: String::new(),
        trigger: Trigger {
            kind: TriggerKind::Problem(ProblemKind::RedundancyLost),
            role: None,
            venue: None,
            feed: None,
        },
        steps: vec![
            step(
                "confirm",
                Action::Check {
                    target: Target::Device(Ref::Field(Field::Primary)),
                    expect: vec![Status::Down],
                },
                false,
            ),
            step("approve", Action::Approve, false),
            step(
                "switch",
                Action::Relay(RelayAction::Source {
                    feed: Ref::Field(Field::Feed),
                    source: SourcePick::Backup,
                }),
                true,
            ),
        ],
        file: PathBuf::from("ovr-switch.toml"),
    }
}

fn who(role: Role) -> Identity {
    Identity {
        user: format!("{}-user", role.name()),
        role,
        venues: Vec::new(),
    }
}

/// The small demo with its relay and the playbook, on `dir`.
async fn start(dir: &Path) -> Live {
    let mut tuning = quick(200);
    tuning.data_dir = Some(dir.to_path_buf());
    tuning.engine.refresh = Duration::from_millis(20);
    tuning.engine.urgent = Duration::from_millis(5);
    tuning.engine.playbooks = vec![book()];
    Live::demo(small_with(&relay_section(dir)), tuning)
        .await
        .expect("demo starts")
}

fn run_of(s: &Snapshot) -> Option<&toc::engine::Run> {
    s.runs.iter().find(|r| r.playbook == "ovr-switch")
}

fn step_state(s: &Snapshot, i: usize) -> Option<StepState> {
    run_of(s).and_then(|r| r.steps.get(i)).map(|st| st.state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_relay_step_switches_the_feed_and_only_a_duty_manager_may_approve() {
    let dir = tempfile::tempdir().unwrap();
    let live = start(dir.path()).await;
    let dm = live.handle_for(who(Role::DutyManager));
    let op = live.handle_for(who(Role::Operator));
    let tech = live.handle_for(who(Role::Technician));
    op.send(fault("STA-ovr-a", "down")).await.expect("fault");
    let snap = wait_for(&op, PATIENCE, "the pair's incident", |s| {
        s.incidents.iter().any(|i| i.subject == "STA-ovr")
    })
    .await;
    let incident = snap
        .incidents
        .iter()
        .find(|i| i.subject == "STA-ovr")
        .unwrap()
        .id
        .to_string();
    // A technician may not start a run; an operator may.
    let run = PlaybookCommand::Run {
        playbook: "ovr-switch".to_owned(),
        which: incident.clone(),
    };
    let refused = tech.send(Command::Playbook(run.clone())).await;
    assert!(
        matches!(
            refused,
            Err(Refusal::Forbidden {
                needed: Role::Operator,
                ..
            })
        ),
        "{refused:?}"
    );
    let started = op.send(Command::Playbook(run)).await;
    let Ok(Done::Playbook { run: id, .. }) = started else {
        panic!("{started:?}");
    };
    wait_for(&op, PATIENCE, "the approval step waits", |s| {
        step_state(s, 1) == Some(StepState::Waiting)
    })
    .await;
    // Only a duty manager approves: the others are refused and audited.
    let approve = |role_handle: &toc::engine::EngineHandle| {
        let h = role_handle.clone();
        let id = id.clone();
        async move {
            h.send(Command::Playbook(PlaybookCommand::Answer {
                run: id,
                step: "approve".to_owned(),
                answer: Answer::Approve,
            }))
            .await
        }
    };
    for h in [&op, &tech] {
        let reply = approve(h).await;
        assert!(
            matches!(
                reply,
                Err(Refusal::Forbidden {
                    needed: Role::DutyManager,
                    ..
                })
            ),
            "{reply:?}"
        );
    }
    approve(&dm).await.expect("a duty manager approves");
    // The relay step is dangerous: it waits for its own approval.
    wait_for(&op, PATIENCE, "the switch needs approval", |s| {
        step_state(s, 2) == Some(StepState::NeedsApproval)
    })
    .await;
    let reply = dm
        .send(Command::Playbook(PlaybookCommand::Answer {
            run: id.clone(),
            step: "switch".to_owned(),
            answer: Answer::Approve,
        }))
        .await;
    assert!(reply.is_ok(), "{reply:?}");
    let snap = wait_for(&op, PATIENCE, "the run is done", |s| {
        run_of(s).is_some_and(|r| r.state == RunState::Done)
    })
    .await;
    let run = run_of(&snap).unwrap();
    assert_eq!(run.steps[0].outcome, "device STA-ovr-a is DOWN");
    assert_eq!(run.steps[2].by.as_deref(), Some("duty_manager-user"));
    // The relay took the backup only.
    let snap = wait_for(&op, PATIENCE, "the relay reports the switch", |s| {
        s.relay.as_ref().is_some_and(|r| {
            r.active
                .iter()
                .any(|(f, src)| f == "STA-results" && src.as_deref() == Some("STA-ovr-b"))
        })
    })
    .await;
    audited_and_in_the_timeline(&snap, &incident);
    live.shutdown().await;
    // The store kept the run whole, as `toc incidents --json` shows it.
    let store = toc::store::Reader::open(&dir.path().join("toc.db")).expect("store");
    let runs = store.runs().expect("runs read");
    let kept = runs.iter().find(|r| r.id == id).expect("the run is stored");
    assert_eq!(kept.state, RunState::Done);
    assert_eq!(kept.steps[2].state, StepState::Done);
}

/// The audit has the two refused approvals and the relay command the
/// step sent; the incident's timeline has every step.
fn audited_and_in_the_timeline(snap: &Snapshot, incident: &str) {
    // The audit has the refusals and the relay command the step sent.
    let refusals = snap
        .audit
        .iter()
        .filter(|a| {
            !a.applied
                && matches!(
                    &a.command,
                    Command::Playbook(PlaybookCommand::Answer {
                        answer: Answer::Approve,
                        ..
                    })
                )
        })
        .count();
    assert_eq!(refusals, 2, "{:#?}", snap.audit);
    assert!(
        snap.audit.iter().any(|a| a.applied
            && matches!(&a.command, Command::Playbook(PlaybookCommand::Step { step, .. }) if step == "switch")),
        "{:#?}",
        snap.audit
    );
    // Every step is in the incident's timeline.
    let timeline: Vec<String> = snap
        .incidents
        .iter()
        .find(|i| i.id.to_string() == *incident)
        .map(|i| {
            i.timeline
                .iter()
                .filter(|e| e.kind == TimelineKind::Playbook)
                .map(|e| e.text.clone())
                .collect()
        })
        .unwrap_or_default();
    for want in [
        "confirm (check) done",
        "approve (approve) done",
        "switch (relay) done",
    ] {
        assert!(
            timeline.iter().any(|t| t.contains(want)),
            "{want}: {timeline:#?}"
        );
    }
}

/// A shell step in a demo whose venues.toml enables them: the process
/// and its children are killed at the step's timeout, the step fails
/// with why, and the run stops there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shell_step_is_killed_with_its_children_at_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    let mut shell = step(
        "sleepy",
        Action::Shell {
            argv: vec![
                toc::config::playbook::Arg::Text("sh".to_owned()),
                toc::config::playbook::Arg::Text("-c".to_owned()),
                toc::config::playbook::Arg::Text(format!(
                    "sleep 300 & echo $! >> {p}; sleep 300 & echo $! >> {p}; echo $$ >> {p}; wait",
                    p = pids.display()
                )),
            ],
        },
        true,
    );
    shell.timeout = Some(Duration::from_secs(1));
    let book = Playbook {
        id: "sleepy".to_owned(),
        title: "A process that never ends".to_owned(),
        summary: String::new(),
        trigger: Trigger {
            kind: TriggerKind::Manual,
            role: None,
            venue: None,
            feed: None,
        },
        steps: vec![shell],
        file: PathBuf::from("sleepy.toml"),
    };
    let mut tuning = quick(200);
    tuning.data_dir = Some(dir.path().to_path_buf());
    tuning.engine.playbooks = vec![book];
    tuning.engine.shell = true;
    let live = Live::demo(small_with("[playbooks]\nshell = true\n"), tuning)
        .await
        .expect("demo starts");
    let dm = live.handle_for(who(Role::DutyManager));
    dm.send(fault("STA-ovr-a", "down")).await.expect("fault");
    let snap = wait_for(&dm, PATIENCE, "an incident", |s| !s.incidents.is_empty()).await;
    let incident = snap.incidents[0].id.to_string();
    let started = dm
        .send(Command::Playbook(PlaybookCommand::Run {
            playbook: "sleepy".to_owned(),
            which: incident,
        }))
        .await;
    let Ok(Done::Playbook { run: id, .. }) = started else {
        panic!("{started:?}");
    };
    dm.send(Command::Playbook(PlaybookCommand::Answer {
        run: id.clone(),
        step: "sleepy".to_owned(),
        answer: Answer::Approve,
    }))
    .await
    .expect("approved");
    let snap = wait_for(&dm, PATIENCE, "the step failed at its timeout", |s| {
        s.runs
            .iter()
            .any(|r| r.id == id && r.state == RunState::Failed)
    })
    .await;
    let run = snap.runs.iter().find(|r| r.id == id).unwrap();
    assert!(
        run.steps[0].outcome.contains("timed out after 1s"),
        "{}",
        run.steps[0].outcome
    );
    // Every process of its group is gone (zombies waiting for their
    // reaper aside).
    let text = std::fs::read_to_string(&pids).unwrap();
    let listed: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(listed.len(), 3, "{text}");
    for pid in listed {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().next());
        assert!(
            state.is_none_or(|s| s == "Z"),
            "process {pid} still runs: {stat}"
        );
    }
    live.shutdown().await;
}
