//! A playbook step's slow work, started off the engine task: a relay
//! command on a blocking thread, a process on the step worker; each
//! audited, its result back on the task's `jobs` channel.

use super::super::command::{Command, Done, Identity, PlaybookCommand, Role};
use super::super::state::runs::Job;
use super::Task;
use crate::playbook::Effect;

impl Task {
    /// Starts a playbook step's work off the engine task (a relay command
    /// on a blocking thread, a process on the step worker), audited; its
    /// result comes back on `jobs`.
    pub(super) fn start_job(&mut self, job: Job) {
        let Job { run, by, effect } = job;
        let done_tx = self.jobs_tx.clone();
        let (step, attempt, work) = match &effect {
            Effect::Relay {
                step,
                attempt,
                command,
            } => (*step, *attempt, format!("relay: {command}")),
            Effect::Shell {
                step,
                attempt,
                argv,
                ..
            } => (*step, *attempt, format!("run {argv:?}")),
            Effect::Cancel { step, attempt } => {
                if let Some(worker) = &self.ports.steps {
                    worker.cancel(&Job::key(&run, *step, *attempt));
                }
                return;
            }
            _ => return,
        };
        let step_id = self.state.step_id(&run, step).unwrap_or_default();
        let command = Command::Playbook(PlaybookCommand::Step {
            run: run.clone(),
            step: step_id,
            work: work.clone(),
        });
        let identity = Identity {
            user: format!("{by} (run {run})"),
            role: Role::Operator,
            venues: Vec::new(),
        };
        let started = Ok(Done::Playbook {
            run: run.clone(),
            text: format!("started: {work}"),
        });
        let text = command.to_string();
        self.answered(&identity, &text, &command, &started);
        self.audit(identity, text, command, &started);
        let fail = |why: &str| {
            let _ = done_tx.send((run.clone(), step, attempt, Err(why.to_owned())));
        };
        match effect {
            Effect::Relay { command, .. } => {
                let Some(relay) = self.ports.relay.clone() else {
                    fail("this engine runs no result relay (no [relay] in the file)");
                    return;
                };
                let done_tx = done_tx.clone();
                let run = run.clone();
                tokio::task::spawn_blocking(move || {
                    let result = relay.apply(&command);
                    let _ = done_tx.send((run, step, attempt, result));
                });
            }
            Effect::Shell { argv, timeout, .. } => {
                let Some(worker) = self.ports.steps.clone() else {
                    fail("this engine runs no shell steps");
                    return;
                };
                let key = Job::key(&run, step, attempt);
                let run = run.clone();
                worker.shell(
                    key,
                    argv,
                    timeout,
                    Box::new(move |result| {
                        let _ = done_tx.send((run, step, attempt, result));
                    }),
                );
            }
            _ => {}
        }
    }
}
