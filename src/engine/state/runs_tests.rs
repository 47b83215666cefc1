//! Runs inside the engine's state, on a hand-driven clock: a playbook
//! on a real incident of the small example, each step kind, and a
//! dry-run that changes nothing.
#![allow(clippy::expect_used)]

use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::config::playbook::{Action, Field, OnFailure, Ref, Step, Target, Trigger, TriggerKind};
use crate::config::{Inventory, SourceFile};
use crate::engine::command::Role;
use crate::model::{CheckResult, Observation, Outcome, ProblemKind};
use crate::playbook::{Answer, RunState, StepState};

fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
}

struct Rig {
    inv: Inventory,
    state: State,
    clock: u64,
    answers: std::collections::HashMap<usize, CheckResult>,
}

impl Rig {
    fn new(books: Vec<Playbook>) -> Self {
        let src = SourceFile::new(
            "small.toml",
            include_str!("../../../examples/venues-small.toml").to_owned(),
        );
        let inv = Inventory::parse(&src).expect("example parses").0;
        let mut state = State::new(&inv, t(0));
        state.set_playbooks(books, false);
        let mut rig = Rig {
            inv,
            state,
            clock: 0,
            answers: std::collections::HashMap::new(),
        };
        let ids: Vec<String> = rig.inv.devices.iter().map(|d| d.id.clone()).collect();
        for id in ids {
            rig.feed(&id, CheckResult::Ok);
        }
        rig
    }

    fn now(&self) -> SystemTime {
        t(self.clock)
    }

    /// One result of `id`, then every check the engine asks for, each
    /// device answering as it last did; then the runs move on.
    fn feed(&mut self, id: &str, result: CheckResult) {
        let device = self.inv.device(id).expect("device").0.0;
        self.answers.insert(device, result.clone());
        self.observe(device, result);
        self.settle();
    }

    /// The engine's batch end: runs move on, checks are answered.
    fn settle(&mut self) {
        for _ in 0..100 {
            self.state.settle(self.now());
            self.state.step_runs(self.now());
            let wanted = self.state.take_checks();
            if wanted.is_empty() {
                return;
            }
            for d in wanted {
                let answer = self.answers.get(&d).cloned().unwrap_or(CheckResult::Ok);
                self.observe(d, answer);
            }
        }
        panic!("check-now requests never end");
    }

    fn observe(&mut self, device: usize, result: CheckResult) {
        self.clock += 1;
        self.state.observe(Observation {
            device,
            at: t(self.clock),
            start_delay: Duration::ZERO,
            took: Duration::ZERO,
            outcome: Outcome::new(result),
        });
    }

    fn fail_hard(&mut self, id: &str) {
        for _ in 0..=self.inv.event.max_attempts {
            self.feed(id, CheckResult::Fail("no answer".to_owned()));
        }
    }

    fn incident(&mut self, subject: &str) -> String {
        let snap = self.state.snapshot(self.now());
        snap.incidents
            .iter()
            .find(|i| i.subject == subject)
            .map_or_else(
                || panic!("no incident on {subject}: {:?}", snap.incidents),
                |i| i.id.to_string(),
            )
    }

    fn send(&mut self, role: Role, command: &PlaybookCommand) -> Reply {
        let who = Identity {
            user: role.name().to_owned(),
            role,
            venues: Vec::new(),
        };
        let reply = self.state.apply_playbook(&who, command, self.now());
        self.settle();
        reply
    }

    fn run(&mut self) -> Run {
        let snap = self.state.snapshot(self.now());
        snap.runs.last().cloned().expect("a run")
    }
}

fn step(id: &str, action: Action) -> Step {
    Step {
        id: id.to_owned(),
        title: format!("title of {id}"),
        instructions: format!("do {id}"),
        dangerous: false,
        timeout: None,
        on_failure: OnFailure::Stop,
        action,
    }
}

fn group() -> Target {
    Target::Group(Ref::Field(Field::Group))
}

/// Every engine-side step kind, on a group that lost a member.
fn book() -> Playbook {
    Playbook {
        id: "ovr-pair".to_owned(),
        title: "OVR pair lost a member".to_owned(),
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
                    target: group(),
                    expect: vec![Status::Degraded],
                },
            ),
            step("inspect", Action::Manual),
            step("approve", Action::Approve),
            step(
                "maint",
                Action::Maintenance {
                    target: Target::Device(Ref::Id("STA-acc-01".to_owned())),
                    duration: Duration::from_secs(3600),
                    reason: "swap".to_owned(),
                },
            ),
            step(
                "call",
                Action::Notify {
                    contact: "VTM".to_owned(),
                },
            ),
            step(
                "back",
                Action::Wait {
                    target: group(),
                    until: vec![Status::Ok],
                },
            ),
            step(
                "noted",
                Action::Note {
                    text: "pair back on {group}".to_owned(),
                },
            ),
        ],
        file: PathBuf::from("ovr-pair.toml"),
    }
}

fn answer(run: &str, step: &str, answer: Answer) -> PlaybookCommand {
    PlaybookCommand::Answer {
        run: run.to_owned(),
        step: step.to_owned(),
        answer,
    }
}

#[test]
fn a_run_goes_through_every_step_kind_on_a_real_incident() {
    let mut rig = Rig::new(vec![book()]);
    rig.fail_hard("STA-ovr-a");
    let incident = rig.incident("STA-ovr");
    rig.state.take_store();
    rig.state.take_notices();
    let reply = rig.send(
        Role::Operator,
        &PlaybookCommand::Run {
            playbook: "ovr-pair".to_owned(),
            which: incident.clone(),
        },
    );
    let Ok(Done::Playbook { run: id, .. }) = reply else {
        panic!("not started: {reply:?}");
    };
    assert_eq!(id, format!("{incident}/1"));
    // The check probed the pair and read it DEGRADED from fresh readings.
    let run = rig.run();
    assert_eq!(run.steps[0].state, StepState::Done, "{run:?}");
    assert_eq!(run.steps[0].outcome, "group STA-ovr is DEGRADED");
    assert_eq!(run.steps[1].state, StepState::Waiting);
    // A technician answers the manual step; the approval waits.
    let done = Answer::Done {
        comment: "PSU reseated".to_owned(),
    };
    rig.send(Role::Technician, &answer(&id, "inspect", done))
        .expect("answered");
    assert_eq!(rig.run().steps[2].state, StepState::Waiting);
    rig.send(Role::DutyManager, &answer(&id, "approve", Answer::Approve))
        .expect("approved");
    // Maintenance set, operators notified, the wait is on.
    let snap = rig.state.snapshot(rig.now());
    assert!(
        snap.maintenance
            .iter()
            .any(|m| m.target == "STA-acc-01" && m.by == format!("operator (run {id})")),
        "{:?}",
        snap.maintenance
    );
    let notices = rig.state.take_notices();
    assert!(
        notices
            .iter()
            .any(|n| n.kind == Notify::Playbook && n.record.title.contains("call VTM: do call")),
        "{notices:?}"
    );
    assert_eq!(rig.run().steps[5].state, StepState::Running);
    // The member comes back: the wait ends and the note is written.
    rig.feed("STA-ovr-a", CheckResult::Ok);
    let run = rig.run();
    assert_eq!(run.state, RunState::Done, "{run:?}");
    let snap = rig.state.snapshot(rig.now());
    let timeline: Vec<String> = snap
        .incidents
        .iter()
        .find(|i| i.id.to_string() == incident)
        .expect("the incident is still listed")
        .timeline
        .iter()
        .filter(|e| e.kind == TimelineKind::Playbook)
        .map(|e| e.text.clone())
        .collect();
    assert!(
        timeline.iter().any(|t| t == "pair back on STA-ovr"),
        "{timeline:?}"
    );
    assert!(
        timeline
            .iter()
            .any(|t| t.contains("step 2 inspect (manual) done: by technician: PSU reseated")),
        "{timeline:?}"
    );
    assert!(
        timeline.last().is_some_and(|t| t.ends_with("done")),
        "{timeline:?}"
    );
    drop(snap);
    // The store got the run (whole, at each change) and the timeline.
    let ops = rig.state.take_store();
    let last_run = ops.iter().rev().find_map(|op| match op {
        StoreOp::Run(r) => Some(r.clone()),
        _ => None,
    });
    assert_eq!(last_run.map(|r| r.state), Some(RunState::Done));
    assert!(
        ops.iter()
            .any(|op| matches!(op, StoreOp::Timeline(e) if e.kind == TimelineKind::Playbook))
    );
}

#[test]
fn a_dry_run_says_what_each_step_would_do_and_changes_nothing() {
    let mut rig = Rig::new(vec![book()]);
    rig.fail_hard("STA-ovr-a");
    let incident = rig.incident("STA-ovr");
    rig.state.take_store();
    rig.state.take_notices();
    rig.state.take_checks();
    let before = rig.state.snapshot(rig.now());
    let who = Identity {
        user: "tom".to_owned(),
        role: Role::Technician,
        venues: vec!["STA".to_owned()],
    };
    let reply = rig.state.apply_playbook(
        &who,
        &PlaybookCommand::DryRun {
            playbook: "ovr-pair".to_owned(),
            which: incident.clone(),
        },
        rig.now(),
    );
    let Ok(Done::Playbook { run, text }) = reply else {
        panic!("{reply:?}");
    };
    assert!(run.is_empty());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 8, "{text}");
    assert_eq!(
        lines[1],
        "1. confirm (check): probe group STA-ovr now, expect DEGRADED"
    );
    assert_eq!(
        lines[4],
        "4. maint (maintenance): maintenance on device STA-acc-01 for 1h: swap"
    );
    // Nothing changed: no probe, no job, no store write, no run.
    assert!(rig.state.take_checks().is_empty());
    assert!(rig.state.take_jobs().is_empty());
    assert!(rig.state.take_store().is_empty());
    assert!(rig.state.take_notices().is_empty());
    let after = rig.state.snapshot(rig.now());
    assert!(after.runs.is_empty());
    assert_eq!(after.maintenance, before.maintenance);
    assert_eq!(after.incidents.len(), before.incidents.len());
}

#[test]
fn answers_to_another_step_or_of_the_wrong_kind_are_refused_and_change_nothing() {
    let mut rig = Rig::new(vec![book()]);
    rig.fail_hard("STA-ovr-a");
    let incident = rig.incident("STA-ovr");
    let started = rig.send(
        Role::Operator,
        &PlaybookCommand::Run {
            playbook: "ovr-pair".to_owned(),
            which: incident.clone(),
        },
    );
    assert!(started.is_ok(), "{started:?}");
    let id = format!("{incident}/1");
    let late = rig.send(Role::DutyManager, &answer(&id, "approve", Answer::Approve));
    assert!(
        matches!(&late, Err(Refusal::Invalid(why)) if why.contains("at step inspect")),
        "{late:?}"
    );
    // A second run on the same incident waits for the first.
    let again = rig.send(
        Role::Operator,
        &PlaybookCommand::Run {
            playbook: "ovr-pair".to_owned(),
            which: incident.clone(),
        },
    );
    assert!(
        matches!(&again, Err(Refusal::Invalid(why)) if why.contains("already has run")),
        "{again:?}"
    );
    // An unknown playbook names the known ones.
    let unknown = rig.send(
        Role::Operator,
        &PlaybookCommand::Run {
            playbook: "nope".to_owned(),
            which: incident,
        },
    );
    assert!(
        matches!(&unknown, Err(Refusal::Invalid(why)) if why.contains("known: ovr-pair")),
        "{unknown:?}"
    );
}

#[test]
fn a_run_taken_back_after_a_restart_has_its_step_in_flight_interrupted() {
    let mut rig = Rig::new(vec![book()]);
    rig.fail_hard("STA-ovr-a");
    let incident = rig.incident("STA-ovr");
    rig.send(
        Role::Operator,
        &PlaybookCommand::Run {
            playbook: "ovr-pair".to_owned(),
            which: incident.clone(),
        },
    )
    .expect("started");
    let id = format!("{incident}/1");
    for (step, a) in [
        (
            "inspect",
            Answer::Done {
                comment: String::new(),
            },
        ),
        ("approve", Answer::Approve),
    ] {
        rig.send(Role::DutyManager, &answer(&id, step, a))
            .expect("answered");
    }
    let run = rig.run();
    assert_eq!(run.steps[5].state, StepState::Running);
    // A new engine takes the stored run back.
    let mut fresh = Rig::new(vec![book()]);
    fresh.state.restore_runs(vec![run], fresh.now());
    let back = fresh.run();
    assert_eq!(back.steps[5].state, StepState::Interrupted);
    assert!(
        fresh
            .state
            .take_store()
            .iter()
            .any(|op| matches!(op, StoreOp::Run(r) if r.steps[5].state == StepState::Interrupted))
    );
    let skip = fresh.state.apply_playbook(
        &Identity {
            user: "op".to_owned(),
            role: Role::Operator,
            venues: Vec::new(),
        },
        &PlaybookCommand::Control {
            run: id,
            action: RunAction::Skip,
        },
        fresh.now(),
    );
    assert!(skip.is_ok(), "{skip:?}");
    assert_eq!(fresh.run().state, RunState::Done);
}
