//! The lifecycle of incidents, as pure code: the engine says what the
//! board's problems are and what time it is, and gets back what changed,
//! with the timeline entries to keep and what to notify.
//!
//! - A problem opens an incident, keyed by [`Condition::key`]: one per
//!   subject and ladder, so a device DEGRADED then DOWN is one incident.
//! - Open → acknowledged (who, comment, optional expiry; at expiry it is
//!   open again and notifies again) → resolved: by itself once its
//!   condition has been clear for [`Policy::resolve_hold`], or by a duty
//!   manager once it is clear (refused while it holds, with the reason).
//! - The same key failing again within [`Policy::reopen_window`] of its
//!   resolution reopens the incident: a flapping link is one incident.
//! - Unacknowledged past its severity's `ack_timeout`, an incident
//!   notifies again (escalation), and again every `ack_timeout`.
//! - An incident whose target goes into maintenance stays, marked, never
//!   resolves by the board's silence and notifies no more.
//!
//! Commands are planned and committed in two steps, so the engine can
//! write the change durably before it takes effect: `plan_*` says what
//! would change (or why not) and changes nothing; [`Lifecycle::commit`]
//! makes a planned change true.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};

use crate::model::Status;

use super::record::{Ack, IncidentRecord, IncidentState, TimelineEntry, TimelineKind};

/// How incidents behave (venues.toml `[incidents]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// A condition clear this long resolves its incident by itself.
    pub resolve_hold: Duration,
    /// The same key failing again within this long of its resolution
    /// reopens the incident instead of opening a new one.
    pub reopen_window: Duration,
    /// Unacknowledged DOWN incidents notify again after this long.
    pub ack_timeout_down: Duration,
    /// … DEGRADED incidents.
    pub ack_timeout_degraded: Duration,
    /// … UNKNOWN incidents.
    pub ack_timeout_unknown: Duration,
}

impl Default for Policy {
    /// Hold 2 min, reopen window 15 min, ack timeouts 5 / 15 / 30 min.
    fn default() -> Self {
        Policy {
            resolve_hold: Duration::from_secs(120),
            reopen_window: Duration::from_secs(15 * 60),
            ack_timeout_down: Duration::from_secs(5 * 60),
            ack_timeout_degraded: Duration::from_secs(15 * 60),
            ack_timeout_unknown: Duration::from_secs(30 * 60),
        }
    }
}

impl Policy {
    /// The ack timeout of an incident of this severity word.
    fn ack_timeout(&self, severity: &str) -> Duration {
        match severity {
            "DOWN" => self.ack_timeout_down,
            "DEGRADED" => self.ack_timeout_degraded,
            _ => self.ack_timeout_unknown,
        }
    }
}

/// A problem the board has now, as the lifecycle needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// Deduplication key (`device:STA-core-a`).
    pub key: String,
    /// Problem kind name (`device-down`).
    pub kind: String,
    /// Device, group or feed id.
    pub subject: String,
    /// Venue code.
    pub venue: String,
    /// DOWN, DEGRADED or UNKNOWN.
    pub severity: Status,
    /// One line for the operator.
    pub title: String,
}

/// What to tell people about a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Notify {
    /// A new incident (or one reopened).
    Opened,
    /// Still unacknowledged past its ack timeout.
    Escalated,
    /// Its acknowledgement expired.
    AckExpired,
    /// A playbook run's notify step (the record's title says who to call
    /// and what to say).
    Playbook,
}

/// One incident changed: the whole record as it is now, what to add to
/// its timeline, and what to notify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The record after the change.
    pub record: IncidentRecord,
    /// New timeline entries, oldest first.
    pub timeline: Vec<TimelineEntry>,
    /// What to notify, if anything (never while in maintenance).
    pub notify: Option<Notify>,
    /// The incident's version the change was planned on.
    base: u64,
}

#[derive(Debug, Clone)]
struct Live {
    record: IncidentRecord,
    /// Since when its condition has been absent, while it is.
    clear_since: Option<SystemTime>,
    /// Bumped by every change, so a planned change knows it is stale.
    version: u64,
}

/// Every incident not resolved, and those resolved recently enough to
/// reopen.
#[derive(Debug)]
pub struct Lifecycle {
    policy: Policy,
    run: u32,
    next: u32,
    live: BTreeMap<String, Live>,
    resolved: HashMap<String, IncidentRecord>,
}

impl Lifecycle {
    /// An empty book whose new ids are `RUN-1`, `RUN-2`, …
    pub fn new(policy: Policy, run: u32) -> Self {
        Lifecycle {
            policy,
            run,
            next: 1,
            live: BTreeMap::new(),
            resolved: HashMap::new(),
        }
    }

    /// Takes back what the store kept: incidents not resolved are live
    /// again (their conditions are judged anew by the next
    /// [`Lifecycle::reconcile`]), resolved ones within the reopen window
    /// can reopen.
    pub fn restore(&mut self, records: Vec<IncidentRecord>, now: SystemTime) {
        for record in records {
            if record.state == IncidentState::Resolved {
                if within(record.resolved_at, self.policy.reopen_window, now) {
                    self.resolved.insert(record.key.clone(), record);
                }
            } else {
                self.live.insert(
                    record.key.clone(),
                    Live {
                        record,
                        clear_since: None,
                        version: 0,
                    },
                );
            }
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Incidents not resolved, by key.
    pub fn live(&self) -> impl Iterator<Item = &IncidentRecord> {
        self.live.values().map(|l| &l.record)
    }

    /// Incidents not resolved, by key, each with the time its condition
    /// cleared while it is clear (it resolves by itself after the hold).
    pub fn live_clearing(&self) -> impl Iterator<Item = (&IncidentRecord, Option<SystemTime>)> {
        self.live.values().map(|l| (&l.record, l.clear_since))
    }

    /// The live incident `which` names: its id, its key, or its subject
    /// when exactly one live incident has that subject.
    pub fn find(&self, which: &str) -> Result<&IncidentRecord, String> {
        self.find_live(which).map(|l| &l.record)
    }

    fn find_live(&self, which: &str) -> Result<&Live, String> {
        if let Some(l) = self.live.get(which) {
            return Ok(l);
        }
        if let Some(l) = self.live.values().find(|l| l.record.id == which) {
            return Ok(l);
        }
        let by_subject: Vec<&Live> = self
            .live
            .values()
            .filter(|l| l.record.subject == which)
            .collect();
        match by_subject.as_slice() {
            [one] => Ok(one),
            [] => {
                if self
                    .resolved
                    .values()
                    .any(|r| r.id == which || r.key == which)
                {
                    Err(format!("incident {which} is resolved"))
                } else {
                    Err(format!("no open incident {which}"))
                }
            }
            many => Err(format!(
                "{which} has {} open incidents; name one: {}",
                many.len(),
                many.iter()
                    .map(|l| l.record.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    /// Brings the book in line with the board's problems now: opens,
    /// reopens, raises or lowers incidents, and starts the resolve hold
    /// of those whose condition is gone. `in_maintenance` says whether a
    /// new condition's target is in maintenance (it opens nothing then).
    pub fn reconcile(
        &mut self,
        conditions: Vec<Condition>,
        in_maintenance: impl Fn(&Condition) -> bool,
        now: SystemTime,
    ) -> Vec<Change> {
        let mut changes = Vec::new();
        let mut present: HashMap<String, Condition> =
            conditions.into_iter().map(|c| (c.key.clone(), c)).collect();
        for live in self.live.values_mut() {
            match present.remove(&live.record.key) {
                Some(cond) => {
                    live.clear_since = None;
                    let word = cond.severity.word();
                    if live.record.severity != word || live.record.title != cond.title {
                        let before = std::mem::replace(&mut live.record.severity, word.to_owned());
                        live.record.title = cond.title;
                        live.record.kind = cond.kind;
                        live.version += 1;
                        // Raised to DOWN while nobody has it: a new DOWN
                        // for the person on call (an uplink losing one
                        // router, then the other, opens DEGRADED first).
                        let down = Status::Down.word();
                        let notify = (before != down
                            && word == down
                            && live.record.state == IncidentState::Open
                            && !live.record.in_maintenance)
                            .then_some(Notify::Opened);
                        if notify.is_some() {
                            live.record.notified_at = Some(now);
                        }
                        let mut timeline = Vec::new();
                        if before != word {
                            timeline.push(entry(
                                &live.record,
                                now,
                                TimelineKind::Severity,
                                None,
                                format!("{before} -> {word}"),
                            ));
                        }
                        changes.push(Change {
                            record: live.record.clone(),
                            timeline,
                            notify,
                            base: live.version,
                        });
                    }
                }
                None => {
                    if live.clear_since.is_none() && !live.record.in_maintenance {
                        live.clear_since = Some(now);
                    }
                }
            }
        }
        let mut keys: Vec<String> = present.keys().cloned().collect();
        keys.sort();
        for key in keys {
            let Some(cond) = present.remove(&key) else {
                continue;
            };
            if in_maintenance(&cond) {
                continue;
            }
            changes.push(self.open_or_reopen(cond, now));
        }
        changes
    }

    fn open_or_reopen(&mut self, cond: Condition, now: SystemTime) -> Change {
        let reopen = self
            .resolved
            .remove(&cond.key)
            .filter(|r| within(r.resolved_at, self.policy.reopen_window, now));
        let (record, kind, text) = if let Some(mut r) = reopen {
            r.state = IncidentState::Open;
            r.resolved_at = None;
            r.resolved_by = None;
            r.ack = None;
            r.reopened += 1;
            cond.severity.word().clone_into(&mut r.severity);
            r.title.clone_from(&cond.title);
            r.kind.clone_from(&cond.kind);
            r.notified_at = Some(now);
            let text = format!("failed again: {}", cond.title);
            (r, TimelineKind::Reopened, text)
        } else {
            let id = format!("{}-{}", self.run, self.next);
            self.next = self.next.saturating_add(1);
            let r = IncidentRecord {
                id,
                key: cond.key.clone(),
                kind: cond.kind,
                subject: cond.subject,
                venue: cond.venue,
                severity: cond.severity.word().to_owned(),
                title: cond.title.clone(),
                state: IncidentState::Open,
                opened_at: now,
                ack: None,
                resolved_at: None,
                resolved_by: None,
                reopened: 0,
                in_maintenance: false,
                notified_at: Some(now),
            };
            (r, TimelineKind::Opened, cond.title)
        };
        let timeline = vec![entry(&record, now, kind, None, text)];
        self.live.insert(
            record.key.clone(),
            Live {
                record: record.clone(),
                clear_since: None,
                version: 0,
            },
        );
        Change {
            record,
            timeline,
            notify: Some(Notify::Opened),
            base: 0,
        }
    }

    /// What time alone does: resolves incidents clear for the hold,
    /// expires acknowledgements, escalates unacknowledged incidents, and
    /// forgets resolved ones past the reopen window.
    pub fn tick(&mut self, now: SystemTime) -> Vec<Change> {
        let mut changes = Vec::new();
        let hold = self.policy.resolve_hold;
        let done: Vec<String> = self
            .live
            .values()
            .filter(|l| l.clear_since.is_some_and(|s| elapsed(s, now) >= hold))
            .map(|l| l.record.key.clone())
            .collect();
        for key in done {
            if let Some(live) = self.live.remove(&key) {
                let mut record = live.record;
                record.state = IncidentState::Resolved;
                record.resolved_at = Some(now);
                record.resolved_by = None;
                let text = format!("clear for {}", humantime::format_duration(hold));
                let timeline = vec![entry(&record, now, TimelineKind::Resolved, None, text)];
                self.resolved.insert(key, record.clone());
                changes.push(Change {
                    record,
                    timeline,
                    notify: None,
                    base: live.version + 1,
                });
            }
        }
        for live in self.live.values_mut() {
            let r = &mut live.record;
            let expired = r.state == IncidentState::Acknowledged
                && r.ack
                    .as_ref()
                    .and_then(|a| a.expires)
                    .is_some_and(|e| e <= now);
            let (kind, notify, text) = if expired {
                r.state = IncidentState::Open;
                r.notified_at = Some(now);
                let by = r.ack.as_ref().map_or("", |a| a.by.as_str());
                let text = format!("the acknowledgement by {by} expired");
                (TimelineKind::AckExpired, Notify::AckExpired, text)
            } else if r.state == IncidentState::Open
                && elapsed(r.notified_at.unwrap_or(r.opened_at), now)
                    >= self.policy.ack_timeout(&r.severity)
            {
                r.notified_at = Some(now);
                let text = format!(
                    "unacknowledged for {}",
                    humantime::format_duration(Duration::from_secs(
                        elapsed(r.opened_at, now).as_secs()
                    ))
                );
                (TimelineKind::Escalated, Notify::Escalated, text)
            } else {
                continue;
            };
            live.version += 1;
            changes.push(Change {
                record: r.clone(),
                timeline: vec![entry(r, now, kind, None, text)],
                notify: (!r.in_maintenance).then_some(notify),
                base: live.version,
            });
        }
        let window = self.policy.reopen_window;
        self.resolved
            .retain(|_, r| within(r.resolved_at, window, now));
        changes
    }

    /// What acknowledging `which` would change, or why it cannot.
    pub fn plan_acknowledge(
        &self,
        which: &str,
        by: &str,
        comment: &str,
        expires: Option<SystemTime>,
        now: SystemTime,
    ) -> Result<Change, String> {
        let live = self.find_live(which)?;
        if expires.is_some_and(|e| e <= now) {
            return Err("the acknowledgement would expire at once".to_owned());
        }
        let mut record = live.record.clone();
        record.state = IncidentState::Acknowledged;
        record.ack = Some(Ack {
            by: by.to_owned(),
            at: now,
            comment: comment.to_owned(),
            expires,
        });
        let text = match expires {
            Some(e) => format!("{comment} (until {})", humantime::format_rfc3339_seconds(e)),
            None => comment.to_owned(),
        };
        let timeline = vec![entry(
            &record,
            now,
            TimelineKind::Acknowledged,
            Some(by),
            text,
        )];
        Ok(Change {
            record,
            timeline,
            notify: None,
            base: live.version,
        })
    }

    /// What a note on `which` would add, or why it cannot.
    pub fn plan_note(
        &self,
        which: &str,
        by: &str,
        text: &str,
        now: SystemTime,
    ) -> Result<Change, String> {
        if text.trim().is_empty() {
            return Err("a note needs some text".to_owned());
        }
        let live = self.find_live(which)?;
        let timeline = vec![entry(
            &live.record,
            now,
            TimelineKind::Note,
            Some(by),
            text.to_owned(),
        )];
        Ok(Change {
            record: live.record.clone(),
            timeline,
            notify: None,
            base: live.version,
        })
    }

    /// What resolving `which` by hand would change, or why it cannot:
    /// only once its condition is clear.
    pub fn plan_resolve(&self, which: &str, by: &str, now: SystemTime) -> Result<Change, String> {
        let live = self.find_live(which)?;
        let r = &live.record;
        if live.clear_since.is_none() && !r.in_maintenance {
            return Err(format!(
                "{} is still {}: it resolves by itself {} after it clears, or resolve it once clear",
                r.subject,
                r.severity,
                humantime::format_duration(self.policy.resolve_hold)
            ));
        }
        let mut record = r.clone();
        record.state = IncidentState::Resolved;
        record.resolved_at = Some(now);
        record.resolved_by = Some(by.to_owned());
        let timeline = vec![entry(
            &record,
            now,
            TimelineKind::Resolved,
            Some(by),
            "resolved by hand".to_owned(),
        )];
        Ok(Change {
            record,
            timeline,
            notify: None,
            base: live.version,
        })
    }

    /// Makes a planned change true. Returns `false` (and changes nothing)
    /// when the incident changed since the plan; the caller plans again.
    pub fn commit(&mut self, change: &Change) -> bool {
        let key = &change.record.key;
        let Some(live) = self.live.get_mut(key) else {
            return false;
        };
        if live.version != change.base || live.record.id != change.record.id {
            return false;
        }
        if change.record.state == IncidentState::Resolved {
            self.live.remove(key);
            self.resolved.insert(key.clone(), change.record.clone());
        } else {
            live.record = change.record.clone();
            live.version += 1;
        }
        true
    }

    /// Marks every live incident `covered` says is under a maintenance
    /// window (or unmarks it when `on` is false); returns those changed.
    pub fn set_maintenance(
        &mut self,
        covered: impl Fn(&IncidentRecord) -> bool,
        on: bool,
        reason: &str,
        now: SystemTime,
    ) -> Vec<Change> {
        let mut changes = Vec::new();
        for live in self.live.values_mut() {
            if live.record.in_maintenance == on || !covered(&live.record) {
                continue;
            }
            live.record.in_maintenance = on;
            if on {
                live.clear_since = None;
            }
            live.version += 1;
            let text = if on {
                format!("in maintenance: {reason}")
            } else {
                "maintenance over".to_owned()
            };
            changes.push(Change {
                record: live.record.clone(),
                timeline: vec![entry(
                    &live.record,
                    now,
                    TimelineKind::Maintenance,
                    None,
                    text,
                )],
                notify: None,
                base: live.version,
            });
        }
        changes
    }
}

fn entry(
    record: &IncidentRecord,
    at: SystemTime,
    kind: TimelineKind,
    by: Option<&str>,
    text: String,
) -> TimelineEntry {
    TimelineEntry {
        incident: record.id.clone(),
        at,
        kind,
        by: by.map(str::to_owned),
        text,
    }
}

/// How long from `since` to `now`; zero when the clock went back.
fn elapsed(since: SystemTime, now: SystemTime) -> Duration {
    now.duration_since(since).unwrap_or_default()
}

/// Whether `at` is set and no more than `window` before `now`.
fn within(at: Option<SystemTime>, window: Duration, now: SystemTime) -> bool {
    at.is_some_and(|a| elapsed(a, now) <= window)
}
