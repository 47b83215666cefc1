//! The run machine on a hand-driven clock and a world of fixed statuses.
#![allow(clippy::expect_used)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;

use super::*;
use crate::config::playbook::{Action, Step, Target, Trigger, TriggerKind};
use crate::model::ProblemKind;

/// Statuses by target id, and when each was last read.
#[derive(Default)]
struct Fake {
    status: RefCell<HashMap<String, Status>>,
    read_at: RefCell<HashMap<String, SystemTime>>,
}

impl Fake {
    fn set(&self, id: &str, status: Status, at: SystemTime) {
        self.status.borrow_mut().insert(id.to_owned(), status);
        self.read_at.borrow_mut().insert(id.to_owned(), at);
    }
}

impl World for Fake {
    fn status(&self, target: &Resolved) -> Option<Status> {
        self.status.borrow().get(target.id()).copied()
    }
    fn checked_since(&self, target: &Resolved, since: SystemTime) -> bool {
        self.read_at
            .borrow()
            .get(target.id())
            .is_some_and(|at| *at >= since)
    }
}

fn t(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + secs)
}

fn step(id: &str, action: Action, work: Work) -> (Step, Work) {
    (
        Step {
            id: id.to_owned(),
            title: format!("title of {id}"),
            instructions: format!("do {id}"),
            dangerous: matches!(action, Action::Relay(_) | Action::Shell { .. }),
            timeout: None,
            on_failure: OnFailure::Stop,
            action,
        },
        work,
    )
}

fn check(id: &str, dev: &str) -> (Step, Work) {
    step(
        id,
        Action::Check {
            target: Target::Subject,
            expect: vec![Status::Ok],
        },
        Work::Check {
            target: Resolved::Device(dev.to_owned()),
            expect: vec![Status::Ok],
        },
    )
}

fn wait(id: &str, group: &str) -> (Step, Work) {
    step(
        id,
        Action::Wait {
            target: Target::Subject,
            until: vec![Status::Ok],
        },
        Work::Wait {
            target: Resolved::Group(group.to_owned()),
            until: vec![Status::Ok],
        },
    )
}

fn manual(id: &str) -> (Step, Work) {
    step(id, Action::Manual, Work::Manual)
}

fn approve(id: &str) -> (Step, Work) {
    step(id, Action::Approve, Work::Approve)
}

fn relay(id: &str) -> (Step, Work) {
    let command = RelayCommand::Source {
        feed: "STA-results".to_owned(),
        source: Some("STA-ovr-b".to_owned()),
    };
    step(
        id,
        Action::Relay(crate::config::playbook::RelayAction::Source {
            feed: crate::config::playbook::Ref::Field(crate::config::playbook::Field::Feed),
            source: crate::config::playbook::SourcePick::Backup,
        }),
        Work::Relay(RelayWork { command, ago: None }),
    )
}

fn shell(id: &str) -> (Step, Work) {
    step(
        id,
        Action::Shell { argv: Vec::new() },
        Work::Shell {
            argv: vec!["df".to_owned(), "-h".to_owned()],
        },
    )
}

fn note(id: &str) -> (Step, Work) {
    step(
        id,
        Action::Note {
            text: "n".to_owned(),
        },
        Work::Note {
            text: format!("note {id}"),
        },
    )
}

fn run_of(steps: Vec<(Step, Work)>) -> Run {
    let (steps, works): (Vec<Step>, Vec<Work>) = steps.into_iter().unzip();
    let book = Playbook {
        id: "pb".to_owned(),
        title: "A playbook".to_owned(),
        summary: String::new(),
        trigger: Trigger {
            kind: TriggerKind::Problem(ProblemKind::DeviceDown),
            role: None,
            venue: None,
            feed: None,
        },
        steps,
        file: PathBuf::from("pb.toml"),
    };
    Run::new(
        "1-1/1".to_owned(),
        &book,
        works,
        "1-1".to_owned(),
        Some("STA".to_owned()),
        "ana",
        t(0),
    )
}

fn states(run: &Run) -> Vec<StepState> {
    run.steps.iter().map(|s| s.state).collect()
}

fn texts(fx: &[Effect]) -> Vec<String> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Timeline { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

use StepState::{Done as D, Failed as F, Pending as P, Running as R, Waiting as W};

#[test]
fn a_check_probes_now_and_is_judged_on_a_fresh_reading_only() {
    let world = Fake::default();
    // An old reading (before the step started) does not count.
    world.set("STA-core-b", Status::Ok, t(0) - Duration::from_secs(5));
    let mut run = run_of(vec![check("c", "STA-core-b"), note("n")]);
    let fx = run.advance(t(1), &world);
    assert!(fx.contains(&Effect::CheckNow(Resolved::Device("STA-core-b".into()))));
    assert_eq!(states(&run), [R, P]);
    assert!(run.advance(t(2), &world).is_empty(), "nothing to judge yet");
    world.set("STA-core-b", Status::Ok, t(3));
    let fx = run.advance(t(3), &world);
    assert_eq!(states(&run), [D, D]);
    assert_eq!(run.state, RunState::Done);
    assert_eq!(run.steps[0].outcome, "device STA-core-b is OK");
    let texts = texts(&fx);
    assert!(texts.iter().any(|t| t.contains("note n")), "{texts:?}");
    assert!(
        texts.last().is_some_and(|t| t.ends_with("done")),
        "{texts:?}"
    );
}

#[test]
fn a_check_with_another_status_fails_and_the_run_stops_until_retried() {
    let world = Fake::default();
    let mut run = run_of(vec![check("c", "STA-core-b"), note("n")]);
    run.advance(t(0), &world);
    world.set("STA-core-b", Status::Down, t(1));
    run.advance(t(1), &world);
    assert_eq!(states(&run), [F, P]);
    assert_eq!(run.state, RunState::Failed);
    assert_eq!(run.steps[0].outcome, "device STA-core-b is DOWN, not OK");
    // Retry probes again (a second attempt); the fresh reading is OK.
    run.control(RunAction::Retry, "bo", t(2)).expect("retry");
    let fx = run.advance(t(2), &world);
    assert!(fx.iter().any(|e| matches!(e, Effect::CheckNow(_))));
    assert_eq!(run.steps[0].attempt, 2);
    world.set("STA-core-b", Status::Ok, t(3));
    run.advance(t(3), &world);
    assert_eq!(run.state, RunState::Done);
}

#[test]
fn a_check_without_a_reading_times_out() {
    let world = Fake::default();
    let mut run = run_of(vec![check("c", "STA-core-b")]);
    run.advance(t(0), &world);
    run.advance(t(59), &world);
    assert_eq!(states(&run), [R]);
    run.advance(t(60), &world);
    assert_eq!(states(&run), [F]);
    assert!(
        run.steps[0].outcome.contains("no fresh reading"),
        "{}",
        run.steps[0].outcome
    );
}

#[test]
fn a_wait_ends_when_its_condition_holds_or_fails_at_its_timeout() {
    let world = Fake::default();
    world.set("STA-core", Status::Degraded, t(0));
    let mut w = wait("w", "STA-core");
    w.0.timeout = Some(Duration::from_secs(600));
    let mut run = run_of(vec![w, note("n")]);
    run.advance(t(0), &world);
    run.advance(t(300), &world);
    assert_eq!(states(&run), [R, P]);
    world.set("STA-core", Status::Ok, t(301));
    run.advance(t(301), &world);
    assert_eq!(states(&run), [D, D]);
    // The next step started the moment the condition held.
    assert_eq!(run.steps[1].started, Some(t(301)));

    let mut w = wait("w", "STA-core");
    w.0.timeout = Some(Duration::from_secs(600));
    w.0.on_failure = OnFailure::Continue;
    world.set("STA-core", Status::Down, t(0));
    let mut run = run_of(vec![w, note("n")]);
    run.advance(t(0), &world);
    run.advance(t(600), &world);
    assert_eq!(states(&run), [F, D]);
    assert_eq!(
        run.state,
        RunState::Done,
        "continue goes on after a failure"
    );
    assert!(run.steps[0].outcome.starts_with("timed out after 10m"));
}

#[test]
fn goto_jumps_back_and_a_loop_that_never_ends_stops() {
    let world = Fake::default();
    world.set("STA-core", Status::Down, t(0));
    let mut w = wait("w", "STA-core");
    w.0.timeout = Some(Duration::from_secs(1));
    w.0.on_failure = OnFailure::Goto("n".into());
    let mut run = run_of(vec![note("n"), w]);
    let mut now = 0;
    while run.state == RunState::Running && now < 10_000 {
        run.advance(t(now), &world);
        now += 1;
    }
    assert_eq!(run.state, RunState::Failed);
    assert_eq!(run.jumps, MAX_JUMPS + 1);
}

#[test]
fn a_manual_step_takes_done_or_fail_for_its_own_step_only() {
    let world = Fake::default();
    let mut run = run_of(vec![manual("m"), manual("m2")]);
    run.advance(t(0), &world);
    assert_eq!(states(&run), [W, P]);
    let done = Answer::Done {
        comment: "PSU swapped".into(),
    };
    let err = run
        .answer("m2", "tom", &done, t(1))
        .expect_err("not its step");
    assert!(err.contains("at step m"), "{err}");
    let err = run
        .answer("m", "tom", &Answer::Approve, t(1))
        .expect_err("wrong answer");
    assert!(err.contains("takes :done or :fail"), "{err}");
    run.answer("m", "tom", &done, t(1)).expect("done");
    run.advance(t(1), &world);
    assert_eq!(states(&run), [D, W]);
    assert_eq!(run.steps[0].outcome, "by tom: PSU swapped");
    let fail = Answer::Fail {
        comment: "no spare".into(),
    };
    run.answer("m2", "tom", &fail, t(2)).expect("fail");
    run.advance(t(2), &world);
    assert_eq!(run.state, RunState::Failed);
}

#[test]
fn an_approve_step_goes_on_when_approved_and_fails_when_rejected() {
    let world = Fake::default();
    let mut run = run_of(vec![approve("a"), note("n")]);
    run.advance(t(0), &world);
    assert_eq!(states(&run), [W, P]);
    run.answer("a", "dm", &Answer::Approve, t(1))
        .expect("approve");
    run.advance(t(1), &world);
    assert_eq!(run.state, RunState::Done);
    assert_eq!(run.steps[0].outcome, "approved by dm");

    let mut run = run_of(vec![approve("a"), note("n")]);
    run.advance(t(0), &world);
    let reject = Answer::Reject {
        reason: "event unit running".into(),
    };
    run.answer("a", "dm", &reject, t(1)).expect("reject");
    run.advance(t(1), &world);
    assert_eq!(states(&run), [F, P]);
    assert_eq!(run.state, RunState::Failed);
    assert_eq!(run.steps[0].outcome, "rejected by dm: event unit running");
}

#[test]
fn a_dangerous_step_waits_for_approval_then_its_work_comes_back() {
    let world = Fake::default();
    let mut run = run_of(vec![relay("r")]);
    let fx = run.advance(t(0), &world);
    assert_eq!(states(&run), [StepState::NeedsApproval]);
    assert!(!fx.iter().any(|e| matches!(e, Effect::Relay { .. })));
    run.answer("r", "dm", &Answer::Approve, t(1))
        .expect("approve");
    let fx = run.advance(t(1), &world);
    let Some(Effect::Relay {
        step,
        attempt,
        command,
    }) = fx.iter().find(|e| matches!(e, Effect::Relay { .. }))
    else {
        panic!("no relay effect: {fx:?}");
    };
    assert_eq!((*step, *attempt), (0, 1));
    assert_eq!(command.to_string(), "feed STA-results: take STA-ovr-b only");
    // A late answer for another attempt is ignored.
    assert!(run.worked(0, 7, Ok("x".into()), t(2)).is_empty());
    run.worked(
        0,
        1,
        Ok("feed STA-results: take STA-ovr-b only".into()),
        t(2),
    );
    run.advance(t(2), &world);
    assert_eq!(run.state, RunState::Done);
    assert_eq!(run.steps[0].by.as_deref(), Some("dm"));
}

#[test]
fn a_worker_that_never_answers_fails_the_step_after_its_grace() {
    let world = Fake::default();
    let mut run = run_of(vec![relay("r")]);
    run.advance(t(0), &world);
    run.answer("r", "dm", &Answer::Approve, t(0))
        .expect("approve");
    run.advance(t(0), &world);
    run.advance(t(39), &world);
    assert_eq!(states(&run), [R]);
    run.advance(t(40), &world);
    assert_eq!(states(&run), [F]);
}

#[test]
fn abort_cancels_a_running_shell_step() {
    let world = Fake::default();
    let mut run = run_of(vec![shell("s")]);
    run.advance(t(0), &world);
    run.answer("s", "dm", &Answer::Approve, t(0))
        .expect("approve");
    let fx = run.advance(t(0), &world);
    assert!(fx.iter().any(
        |e| matches!(e, Effect::Shell { timeout, .. } if *timeout == Duration::from_secs(60))
    ));
    let fx = run.control(RunAction::Abort, "op", t(5)).expect("abort");
    assert!(fx.contains(&Effect::Cancel {
        step: 0,
        attempt: 1
    }));
    assert_eq!(run.state, RunState::Aborted);
    assert!(run.is_over());
    assert!(run.control(RunAction::Resume, "op", t(6)).is_err());
    // Its late result changes nothing.
    assert!(run.worked(0, 1, Ok("done".into()), t(7)).is_empty());
    assert_eq!(states(&run), [F]);
}

#[test]
fn after_a_restart_a_step_in_flight_is_interrupted_and_an_operator_decides() {
    let world = Fake::default();
    let mut run = run_of(vec![check("c", "STA-core-b"), manual("m"), note("n")]);
    run.advance(t(0), &world);
    let fx = run.interrupt(t(100));
    assert_eq!(states(&run), [StepState::Interrupted, P, P]);
    assert!(texts(&fx)[0].contains("interrupted"));
    assert!(
        run.advance(t(101), &world).is_empty(),
        "waits for an operator"
    );
    run.control(RunAction::Skip, "op", t(102)).expect("skip");
    run.advance(t(102), &world);
    assert_eq!(states(&run), [StepState::Skipped, W, P]);
    // A step waiting for a person is not interrupted: nothing was in flight.
    assert!(run.interrupt(t(200)).is_empty());
    assert_eq!(states(&run)[1], W);
}

#[test]
fn a_paused_run_starts_and_judges_nothing() {
    let world = Fake::default();
    world.set("STA-core", Status::Ok, t(0));
    let mut run = run_of(vec![manual("m"), wait("w", "STA-core")]);
    run.advance(t(0), &world);
    run.control(RunAction::Pause, "op", t(1)).expect("pause");
    assert!(run.control(RunAction::Pause, "op", t(1)).is_err());
    run.answer(
        "m",
        "tom",
        &Answer::Done {
            comment: String::new(),
        },
        t(2),
    )
    .expect("a person may still answer");
    run.advance(t(3), &world);
    assert_eq!(states(&run), [D, P]);
    run.control(RunAction::Resume, "op", t(4)).expect("resume");
    run.advance(t(4), &world);
    assert_eq!(run.state, RunState::Done);
}

#[test]
fn every_change_moves_the_version_and_runs_read_back_from_json() {
    let world = Fake::default();
    let mut run = run_of(vec![manual("m")]);
    let v0 = run.version;
    run.advance(t(0), &world);
    assert!(run.version > v0);
    let json = serde_json::to_string(&run).expect("serialize");
    let back: Run = serde_json::from_str(&json).expect("parse");
    assert_eq!(back, run);
}
