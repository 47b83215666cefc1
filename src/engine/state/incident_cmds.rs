//! Incident commands on the state, in two steps so the engine can write
//! them durably in between: [`State::plan_incident`] says what would
//! change (or why not) and changes nothing; [`State::commit_incident`]
//! makes it true once the store says it is on disk.

use std::time::SystemTime;

use crate::incident::lifecycle::{Change, Lifecycle};

use super::super::command::{Done, IncidentCommand, Refusal};
use super::State;

impl State {
    /// The venue code of the incident `which` names, for the role check.
    pub fn incident_venue(&self, which: &str) -> Option<String> {
        self.incidents
            .lifecycle()
            .find(which)
            .ok()
            .map(|r| r.venue.clone())
    }

    /// What `command` by `user` would change, or why it cannot be done.
    pub fn plan_incident(
        &self,
        user: &str,
        command: &IncidentCommand,
        now: SystemTime,
    ) -> Result<Change, Refusal> {
        plan(self.incidents.lifecycle(), user, command, now).map_err(Refusal::Invalid)
    }

    /// Makes a planned change true (planning it again if the incident
    /// changed since); what was done, in words.
    pub fn commit_incident(
        &mut self,
        change: &Change,
        user: &str,
        command: &IncidentCommand,
        now: SystemTime,
    ) -> Result<Done, Refusal> {
        let done = self
            .incidents
            .commit(change, |life| plan(life, user, command, now))
            .map_err(Refusal::Invalid)?;
        self.took_incidents(now);
        let id = done.record.id.clone();
        let text = match command {
            IncidentCommand::Ack { comment, .. } => format!("{id} acknowledged: {comment}"),
            IncidentCommand::Note { .. } => format!("{id}: note added"),
            IncidentCommand::Resolve { .. } => format!("{id} resolved"),
        };
        Ok(Done::Incident { id, text })
    }
}

fn plan(
    life: &Lifecycle,
    user: &str,
    command: &IncidentCommand,
    now: SystemTime,
) -> Result<Change, String> {
    match command {
        IncidentCommand::Ack {
            which,
            comment,
            expires,
        } => {
            let until = match expires {
                Some(d) => Some(
                    now.checked_add(*d)
                        .ok_or_else(|| "that expiry is too far away".to_owned())?,
                ),
                None => None,
            };
            life.plan_acknowledge(which, user, comment, until, now)
        }
        IncidentCommand::Note { which, text } => life.plan_note(which, user, text, now),
        IncidentCommand::Resolve { which } => life.plan_resolve(which, user, now),
    }
}
