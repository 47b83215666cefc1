//! Playbooks in the console, on a `TestBackend`: the incident view lists
//! the playbooks that match the incident, best first, and its runs; the
//! run view shows every step's state (glyph and word), time and outcome,
//! the current step's instructions and work, and the prompt the user's
//! role may answer (an approval only to a duty manager); the command
//! line turns `:run`, `:dry-run`, the answers and the controls into the
//! right command (an answer names the step on screen), refuses what lacks
//! a comment, and asks before `:run` and `:abort`; a dry-run's plan opens
//! over the screen and Esc closes it. Screens against insta snapshots.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use support::games;
use support::view::{command, draw, text};
use toc::config::playbook::{
    Action as StepAction, OnFailure, Playbook, Step, Trigger, TriggerKind,
};
use toc::console::App;
use toc::console::app::{Effect, View};
use toc::console::keymap::Action;
use toc::engine::{
    Answer, Command, Done, Identity, Incident, PlaybookCommand, Role, RunAction, RunState,
    Snapshot, StepState,
};
use toc::model::Status;
use toc::model::relay::RelayCommand;
use toc::playbook::{RelayWork, Resolved, Run, Work};

fn step(id: &str, title: &str, action: StepAction) -> Step {
    Step {
        id: id.to_owned(),
        title: title.to_owned(),
        instructions: format!("Instructions of {id}: do what the title says."),
        dangerous: matches!(action, StepAction::Relay(_) | StepAction::Shell { .. }),
        timeout: None,
        on_failure: OnFailure::Stop,
        action,
    }
}

fn book(id: &str, title: &str, incident: &Incident, venue: Option<&str>) -> Playbook {
    Playbook {
        id: id.to_owned(),
        title: title.to_owned(),
        summary: String::new(),
        trigger: Trigger {
            kind: TriggerKind::Problem(incident.key.kind),
            role: None,
            venue: venue.map(str::to_owned),
            feed: None,
        },
        steps: vec![
            step(
                "check-peer",
                "Check the other core switch",
                StepAction::Manual,
            ),
            step("call-vendor", "Call the vendor", StepAction::Manual),
            step(
                "approve",
                "Duty manager approves the switch",
                StepAction::Approve,
            ),
            step(
                "switch-feed",
                "Take the feed from the backup",
                StepAction::Manual,
            ),
            step("wait-up", "Wait for the group to be up", StepAction::Manual),
        ],
        file: PathBuf::from("playbooks/test.toml"),
    }
}

/// The works of [`book`]'s steps for the STA core group.
fn works() -> Vec<Work> {
    vec![
        Work::Check {
            target: Resolved::Group("STA-core".into()),
            expect: vec![Status::Ok],
        },
        Work::Manual,
        Work::Approve,
        Work::Relay(RelayWork {
            command: RelayCommand::Source {
                feed: "STA-results".into(),
                source: Some("STA-ovr-b".into()),
            },
            ago: None,
        }),
        Work::Wait {
            target: Resolved::Group("STA-core".into()),
            until: vec![Status::Ok],
        },
    ]
}

/// The STA core group's incident.
fn incident(snap: &Snapshot) -> Incident {
    snap.incidents
        .iter()
        .find(|i| i.subject == "STA-core")
        .cloned()
        .expect("the Games have an incident on STA-core")
}

/// A run of the best playbook on the STA core incident, at step `at`,
/// every step before it done, the one at it in `state`.
fn run(snap: &Snapshot, n: u32, at: usize, state: StepState) -> Run {
    let inc = incident(snap);
    let book = &snap.playbooks[0];
    let started = games::ago(300);
    let mut run = Run::new(
        format!("{}/{n}", inc.id),
        book,
        works(),
        inc.id.to_string(),
        Some("STA".into()),
        "olga",
        started,
    );
    for (i, s) in run.steps.iter_mut().enumerate().take(at) {
        s.state = StepState::Done;
        s.started = Some(games::ago(300 - 40 * i as u64));
        s.ended = Some(games::ago(300 - 40 * i as u64 - 12));
        s.outcome = format!("outcome of {}", s.id);
    }
    run.current = at;
    if let Some(s) = run.steps.get_mut(at) {
        s.state = state;
        s.started = Some(games::ago(65));
    }
    run
}

/// The Games with three playbooks (the STA one first by score, a general
/// one, one of another kind) and `runs`.
fn snapshot(runs: impl FnOnce(&Snapshot) -> Vec<Run>) -> Snapshot {
    let mut snap = games::standard();
    let inc = incident(&snap);
    let mut other = book("feed-stale", "Result feed stale", &inc, None);
    other.trigger.kind =
        TriggerKind::Problem(if inc.key.kind == toc::model::ProblemKind::FeedStale {
            toc::model::ProblemKind::LatencySlo
        } else {
            toc::model::ProblemKind::FeedStale
        });
    snap.playbooks = Arc::new(vec![
        book("sta-core-lost", "STA core switch lost", &inc, Some("STA")),
        book("core-lost", "Core switch redundancy lost", &inc, None),
        other,
    ]);
    let runs = runs(&snap);
    snap.runs = Arc::new(runs);
    snap
}

fn app(role: Role) -> App {
    let identity = Identity {
        user: "olga".to_owned(),
        role,
        venues: Vec::new(),
    };
    App::new(identity, true, false)
}

fn key(app: &mut App, snap: &Snapshot, code: KeyCode) -> Effect {
    app.on_key(&KeyEvent::new(code, KeyModifiers::NONE), snap)
}

/// The app on the STA core incident's view.
fn on_incident(app: &mut App, snap: &Snapshot) {
    let inc = incident(snap);
    command(app, snap, "incidents");
    let order = app.incidents_shown(snap);
    let at = order
        .iter()
        .position(|&k| snap.incidents[k].id == inc.id)
        .expect("listed");
    for _ in 0..at {
        app.update(Action::Down, snap);
    }
    app.update(Action::Open, snap);
    assert_eq!(app.view(), View::Incident(inc.id));
}

/// The app on the run view of the run shown on the incident (Enter).
fn on_run(app: &mut App, snap: &Snapshot) {
    on_incident(app, snap);
    key(app, snap, KeyCode::Enter);
    assert!(matches!(app.view(), View::Run(_)), "{:?}", app.view());
}

fn sent(effect: Effect) -> Command {
    match effect {
        Effect::Send { mut commands, .. } => {
            assert_eq!(commands.len(), 1);
            commands.remove(0)
        }
        other => panic!("nothing sent: {other:?}"),
    }
}

fn typed(app: &mut App, snap: &Snapshot, line: &str) -> Effect {
    app.update(Action::CommandLine, snap);
    for c in line.chars() {
        app.update(Action::Insert(c), snap);
    }
    app.update(Action::Submit, snap)
}

fn message(app: &App) -> String {
    app.message().map(|m| m.text.clone()).unwrap_or_default()
}

#[test]
fn the_incident_view_lists_the_matching_playbooks_best_first_and_its_runs() {
    let snap = snapshot(|s| vec![run(s, 1, 1, StepState::Waiting)]);
    for (w, h) in [(80, 24), (160, 48)] {
        let mut app = app(Role::Operator);
        on_incident(&mut app, &snap);
        let screen = text(&draw(&mut app, &snap, w, h));
        let first = screen.find("1. STA core switch lost").expect(&screen);
        let second = screen
            .find("2. Core switch redundancy lost")
            .expect(&screen);
        assert!(first < second, "{screen}");
        assert!(screen.contains("5 steps"), "{screen}");
        assert!(!screen.contains("Result feed stale"), "{screen}");
        assert!(
            screen.contains("run ") && screen.contains("/1 running"),
            "{screen}"
        );
        assert!(screen.contains("step 2/5 call-vendor: waiting"), "{screen}");
        insta::assert_snapshot!(format!("incident_playbooks_{w}x{h}"), screen);
    }
}

#[test]
fn the_run_view_shows_each_step_state_time_outcome_and_the_prompt() {
    let snap = snapshot(|s| {
        let mut r = run(s, 1, 3, StepState::Interrupted);
        r.steps[1].state = StepState::Failed;
        r.steps[1].outcome = "no answer from the vendor".into();
        r.steps[2].state = StepState::Skipped;
        r.steps[3].dangerous = true;
        r.state = RunState::Running;
        vec![r]
    });
    for (w, h) in [(100, 30), (160, 48)] {
        let mut app = app(Role::Operator);
        on_run(&mut app, &snap);
        let screen = text(&draw(&mut app, &snap, w, h));
        for want in [
            "✔ ",
            "done",
            "✖ ",
            "failed",
            "» ",
            "skipped",
            "↯ ",
            "interrupted",
            "· ",
            "pending",
            "12s",
            "1m04s",
            "no answer from the vendor",
            "Step 4/5 · switch-feed · manual · interrupted",
            "Does: relay: ",
            "» decide: :retry, :skip or :abort",
            "started by olga",
        ] {
            assert!(
                screen.contains(want) || (want == "started by olga" && screen.contains("by olga")),
                "`{want}` missing:\n{screen}"
            );
        }
        insta::assert_snapshot!(format!("run_{w}x{h}"), screen);
    }
}

#[test]
fn the_run_view_shows_waiting_running_and_needs_approval() {
    for (state, word) in [
        (StepState::Waiting, "waiting"),
        (StepState::Running, "running"),
        (StepState::NeedsApproval, "needs approval"),
        (StepState::Pending, "pending"),
    ] {
        let snap = snapshot(|s| vec![run(s, 1, 1, state)]);
        let mut app = app(Role::DutyManager);
        on_run(&mut app, &snap);
        let screen = text(&draw(&mut app, &snap, 120, 30));
        let row = screen
            .lines()
            .find(|l| l.contains("Call the vendor"))
            .expect(&screen);
        assert!(row.contains(word), "{word}: {row}");
    }
}

#[test]
fn an_approval_is_offered_to_a_duty_manager_only() {
    // An approve step waiting, and a dangerous step needing approval.
    for (at, state) in [(2, StepState::Waiting), (3, StepState::NeedsApproval)] {
        let snap = snapshot(|s| vec![run(s, 1, at, state)]);
        for role in [
            Role::Viewer,
            Role::Technician,
            Role::Operator,
            Role::DutyManager,
        ] {
            let mut app = app(role);
            on_run(&mut app, &snap);
            let screen = text(&draw(&mut app, &snap, 120, 30));
            let offered = screen.contains(":approve, or :reject REASON");
            assert_eq!(
                offered,
                role == Role::DutyManager,
                "{role} {state}:\n{screen}"
            );
            assert_eq!(
                screen.contains("waiting for a duty manager's approval"),
                role != Role::DutyManager,
                "{role} {state}:\n{screen}"
            );
        }
    }
}

#[test]
fn a_manual_step_is_offered_to_technicians_and_above() {
    let snap = snapshot(|s| vec![run(s, 1, 1, StepState::Waiting)]);
    for role in [Role::Viewer, Role::Technician, Role::DutyManager] {
        let mut app = app(role);
        on_run(&mut app, &snap);
        let screen = text(&draw(&mut app, &snap, 120, 30));
        assert_eq!(
            screen.contains("answer with :done [COMMENT] or :fail COMMENT"),
            role >= Role::Technician,
            "{role}:\n{screen}"
        );
    }
}

#[test]
fn answers_name_the_run_and_the_step_on_screen() {
    let snap = snapshot(|s| vec![run(s, 1, 1, StepState::Waiting)]);
    let run_id = snap.runs[0].id.clone();
    let mut app = app(Role::Technician);
    on_run(&mut app, &snap);
    let done = sent(typed(&mut app, &snap, "done  vendor on site "));
    assert_eq!(
        done,
        Command::Playbook(PlaybookCommand::Answer {
            run: run_id.clone(),
            step: "call-vendor".into(),
            answer: Answer::Done {
                comment: "vendor on site".into()
            },
        })
    );
    let fail = sent(typed(&mut app, &snap, "fail no vendor today"));
    assert!(matches!(
        fail,
        Command::Playbook(PlaybookCommand::Answer { ref step, answer: Answer::Fail { ref comment }, .. })
            if step == "call-vendor" && comment == "no vendor today"
    ));
    // The same line a step later answers that step.
    let later = snapshot(|s| vec![run(s, 1, 4, StepState::Waiting)]);
    let mut app2 = self::app(Role::Technician);
    on_run(&mut app2, &later);
    let done = sent(typed(&mut app2, &later, "done"));
    assert!(matches!(
        done,
        Command::Playbook(PlaybookCommand::Answer { ref step, .. }) if step == "wait-up"
    ));
}

#[test]
fn approvals_and_controls_go_to_the_run_on_screen() {
    let snap = snapshot(|s| vec![run(s, 1, 2, StepState::Waiting)]);
    let run_id = snap.runs[0].id.clone();
    let mut app = app(Role::DutyManager);
    on_run(&mut app, &snap);
    assert_eq!(
        sent(typed(&mut app, &snap, "approve")),
        Command::Playbook(PlaybookCommand::Answer {
            run: run_id.clone(),
            step: "approve".into(),
            answer: Answer::Approve,
        })
    );
    assert_eq!(
        sent(typed(&mut app, &snap, "reject the backup is down too")),
        Command::Playbook(PlaybookCommand::Answer {
            run: run_id.clone(),
            step: "approve".into(),
            answer: Answer::Reject {
                reason: "the backup is down too".into()
            },
        })
    );
    for (line, action) in [
        ("pause-run", RunAction::Pause),
        ("resume-run", RunAction::Resume),
        ("retry", RunAction::Retry),
        ("skip", RunAction::Skip),
    ] {
        assert_eq!(
            sent(typed(&mut app, &snap, line)),
            Command::Playbook(PlaybookCommand::Control {
                run: run_id.clone(),
                action
            }),
            "{line}"
        );
    }
}

#[test]
fn abort_and_run_ask_first() {
    let snap = snapshot(|s| vec![run(s, 1, 1, StepState::Waiting)]);
    let run_id = snap.runs[0].id.clone();
    let inc = incident(&snap);
    let mut app = app(Role::Operator);
    on_run(&mut app, &snap);
    assert_eq!(typed(&mut app, &snap, "abort"), Effect::None);
    assert!(message(&app).contains("abort run"), "{}", message(&app));
    assert!(message(&app).contains("call-vendor"), "{}", message(&app));
    assert_eq!(key(&mut app, &snap, KeyCode::Char('n')), Effect::None);
    assert_eq!(message(&app), "not sent");
    typed(&mut app, &snap, "abort");
    assert_eq!(
        sent(key(&mut app, &snap, KeyCode::Char('y'))),
        Command::Playbook(PlaybookCommand::Control {
            run: run_id,
            action: RunAction::Abort
        })
    );
    // `R` on the incident: its best playbook, after a yes; the answer
    // opens the run.
    let mut app = self::app(Role::Operator);
    on_incident(&mut app, &snap);
    assert_eq!(key(&mut app, &snap, KeyCode::Char('R')), Effect::None);
    assert!(
        message(&app).contains("run playbook sta-core-lost (STA core switch lost)"),
        "{}",
        message(&app)
    );
    let effect = key(&mut app, &snap, KeyCode::Char('y'));
    let Effect::Send { label, commands } = effect else {
        panic!("not sent")
    };
    assert_eq!(
        commands,
        vec![Command::Playbook(PlaybookCommand::Run {
            playbook: "sta-core-lost".into(),
            which: inc.id.to_string(),
        })]
    );
    let new_run = format!("{}/2", inc.id);
    app.on_reply(
        &label,
        &[Ok(Done::Playbook {
            run: new_run.clone(),
            text: format!("run {new_run} started"),
        })],
    );
    assert!(
        matches!(app.view(), View::Run(k) if k.to_string() == new_run),
        "{:?}",
        app.view()
    );
}

#[test]
fn run_and_dry_run_lines_name_the_playbook_and_the_incident() {
    let snap = snapshot(|_| Vec::new());
    let inc = incident(&snap);
    let mut app = app(Role::Operator);
    on_incident(&mut app, &snap);
    // By number in the incident's list, after a yes.
    typed(&mut app, &snap, "run 2");
    assert_eq!(
        sent(key(&mut app, &snap, KeyCode::Char('y'))),
        Command::Playbook(PlaybookCommand::Run {
            playbook: "core-lost".into(),
            which: inc.id.to_string(),
        })
    );
    // A dry-run is sent at once; `on` names the incident.
    assert_eq!(
        sent(typed(&mut app, &snap, "dry-run CORE-LOST on 9-9")),
        Command::Playbook(PlaybookCommand::DryRun {
            playbook: "core-lost".into(),
            which: "9-9".into(),
        })
    );
}

#[test]
fn bad_playbook_lines_say_why_and_send_nothing() {
    let snap = snapshot(|s| {
        vec![
            run(s, 1, 1, StepState::Waiting),
            run(s, 2, 2, StepState::Waiting),
        ]
    });
    let mut wall = app(Role::DutyManager);
    for (line, want) in [
        ("fail", "say what failed"),
        ("reject", "say why in a reason"),
        ("run", "usage: :run PLAYBOOK [on INCIDENT]"),
        ("run core-lost", "on which incident?"),
        ("done", "2 runs wait for an answer"),
        ("abort", "open one first (:runs lists them)"),
    ] {
        assert_eq!(typed(&mut wall, &snap, line), Effect::None, "{line}");
        assert!(message(&wall).contains(want), "{line}: {}", message(&wall));
    }
    let mut app = app(Role::DutyManager);
    on_incident(&mut app, &snap);
    for (line, want) in [
        (
            "run nope",
            "no playbook `nope`; playbooks: sta-core-lost core-lost feed-stale",
        ),
        ("run 7", "has no playbook 7 in its list"),
    ] {
        assert_eq!(typed(&mut app, &snap, line), Effect::None, "{line}");
        assert!(message(&app).contains(want), "{line}: {}", message(&app));
    }
    // The run on screen waits on a manual step: an approval does not fit.
    let one = snapshot(|s| vec![run(s, 1, 1, StepState::Waiting)]);
    let mut app = self::app(Role::DutyManager);
    on_run(&mut app, &one);
    assert_eq!(typed(&mut app, &one, "approve"), Effect::None);
    assert!(
        message(&app)
            .contains("step call-vendor is a manual step, waiting: it waits for :done or :fail"),
        "{}",
        message(&app)
    );
    // No run at all.
    let empty = snapshot(|_| Vec::new());
    let mut app = self::app(Role::Operator);
    assert_eq!(typed(&mut app, &empty, "skip"), Effect::None);
    assert!(
        message(&app).contains("no run waits for an answer"),
        "{}",
        message(&app)
    );
}

#[test]
fn the_only_run_waiting_gets_the_answer_from_anywhere() {
    let snap = snapshot(|s| vec![run(s, 1, 1, StepState::Waiting)]);
    let mut app = app(Role::Technician);
    assert!(matches!(
        sent(typed(&mut app, &snap, "done")),
        Command::Playbook(PlaybookCommand::Answer { ref step, .. }) if step == "call-vendor"
    ));
}

#[test]
fn a_viewer_cannot_run_a_playbook_by_key() {
    let snap = snapshot(|_| Vec::new());
    let mut app = app(Role::Viewer);
    on_incident(&mut app, &snap);
    assert_eq!(key(&mut app, &snap, KeyCode::Char('R')), Effect::None);
    assert!(message(&app).contains("not for you"), "{}", message(&app));
}

#[test]
fn a_dry_run_opens_its_plan_over_the_screen_and_esc_closes_it() {
    let snap = snapshot(|_| Vec::new());
    let inc = incident(&snap);
    let mut app = app(Role::Technician);
    on_incident(&mut app, &snap);
    let Effect::Send { label, commands } = key(&mut app, &snap, KeyCode::Char('D')) else {
        panic!("a dry-run is sent at once")
    };
    assert_eq!(
        commands,
        vec![Command::Playbook(PlaybookCommand::DryRun {
            playbook: "sta-core-lost".into(),
            which: inc.id.to_string(),
        })]
    );
    let plan = "1. check-peer: probe group STA-core now, expect OK\n\
                2. call-vendor: a person does it and answers :done or :fail\n\
                3. approve: a duty manager answers :approve or :reject\n\
                4. switch-feed (dangerous, needs approval): relay: take feed STA-results from STA-ovr-b\n\
                5. wait-up: wait until group STA-core is OK";
    app.on_reply(
        &label,
        &[Ok(Done::Playbook {
            run: String::new(),
            text: plan.to_owned(),
        })],
    );
    assert!(app.plan().is_some());
    let screen = text(&draw(&mut app, &snap, 100, 30));
    assert!(screen.contains("nothing was done · Esc closes"), "{screen}");
    assert!(screen.contains("4. switch-feed (dangerous"), "{screen}");
    assert!(
        screen.contains("5. wait-up: wait until group STA-core is OK"),
        "{screen}"
    );
    insta::assert_snapshot!("dry_run_plan_100x30", screen);
    key(&mut app, &snap, KeyCode::Esc);
    assert!(app.plan().is_none());
    assert_eq!(app.view(), View::Incident(inc.id));
    let screen = text(&draw(&mut app, &snap, 100, 30));
    assert!(!screen.contains("nothing was done"), "{screen}");
}

#[test]
fn the_runs_view_lists_every_run_and_opens_one() {
    let snap = snapshot(|s| {
        let mut done = run(s, 1, 5, StepState::Pending);
        done.state = RunState::Done;
        done.ended = Some(games::ago(100));
        vec![run(s, 2, 2, StepState::Waiting), done]
    });
    let mut app = app(Role::Viewer);
    command(&mut app, &snap, "runs");
    assert_eq!(app.view(), View::Runs);
    let screen = text(&draw(&mut app, &snap, 100, 30));
    assert!(
        screen.contains("2 runs · 1 waiting for an answer"),
        "{screen}"
    );
    assert!(screen.contains("step 3/5 approve: waiting"), "{screen}");
    assert!(screen.contains("5 steps through"), "{screen}");
    insta::assert_snapshot!("runs_100x30", screen);
    app.update(Action::Down, &snap);
    app.update(Action::Open, &snap);
    assert!(
        matches!(app.view(), View::Run(k) if k.to_string() == snap.runs[1].id),
        "{:?}",
        app.view()
    );
}

#[test]
fn playbook_ids_complete_after_run() {
    let snap = snapshot(|_| Vec::new());
    let mut app = app(Role::Operator);
    app.update(Action::CommandLine, &snap);
    for c in "run core".chars() {
        app.update(Action::Insert(c), &snap);
    }
    let c = app.completion(&snap).expect("typing");
    assert_eq!(c.candidates, vec!["core-lost".to_owned()]);
    app.update(Action::Complete, &snap);
    assert_eq!(app.input().map(|i| i.text.as_str()), Some("run core-lost "));
    let c = app.completion(&snap).expect("typing");
    assert_eq!(c.candidates, vec!["on".to_owned()]);
    let _ = Duration::ZERO;
}

#[test]
fn an_answer_reads_once_on_the_message_line_and_an_outcome_names_its_answerer_once() {
    let snap = snapshot(|s| {
        let mut r = run(s, 1, 1, StepState::Waiting);
        r.steps[0].by = Some("olga".into());
        r.steps[0].outcome = "done by olga: peer is up".into();
        vec![r]
    });
    let mut app = app(Role::Technician);
    on_run(&mut app, &snap);
    let Effect::Send { label, .. } = typed(&mut app, &snap, "done called") else {
        panic!("sent")
    };
    app.on_reply(
        &label,
        &[Ok(Done::Playbook {
            run: snap.runs[0].id.clone(),
            text: label.clone(),
        })],
    );
    assert_eq!(message(&app), label);
    let screen = text(&draw(&mut app, &snap, 120, 30));
    assert!(screen.contains(" done by olga: peer is up"), "{screen}");
    assert!(!screen.contains("olga: done by olga"), "{screen}");
}
