//! The incident lifecycle with fixed times: open, acknowledge (sticky and
//! with expiry), notes, resolve (by itself after the hold, by hand only
//! once clear), reopen within the window, escalation, maintenance.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use toc::incident::lifecycle::{Change, Condition, Lifecycle, Notify, Policy};
use toc::incident::{IncidentState, TimelineKind};
use toc::model::Status;

fn t(s: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + s)
}

fn policy() -> Policy {
    Policy {
        resolve_hold: Duration::from_secs(120),
        reopen_window: Duration::from_secs(900),
        ack_timeout_down: Duration::from_secs(300),
        ack_timeout_degraded: Duration::from_secs(900),
        ack_timeout_unknown: Duration::from_secs(1800),
    }
}

fn down(subject: &str) -> Condition {
    Condition {
        key: format!("device:{subject}"),
        kind: "device-down".into(),
        subject: subject.into(),
        venue: "STA".into(),
        severity: Status::Down,
        title: format!("{subject} is DOWN"),
    }
}

fn book() -> Lifecycle {
    Lifecycle::new(policy(), 4)
}

fn reconcile(book: &mut Lifecycle, conds: &[Condition], at: SystemTime) -> Vec<Change> {
    book.reconcile(conds.to_vec(), |_| false, at)
}

fn kinds(changes: &[Change]) -> Vec<TimelineKind> {
    changes
        .iter()
        .flat_map(|c| c.timeline.iter().map(|e| e.kind))
        .collect()
}

#[test]
fn a_problem_opens_one_incident_and_notifies_once() {
    let mut b = book();
    let opened = reconcile(&mut b, &[down("STA-core-a")], t(0));
    assert_eq!(opened.len(), 1);
    let r = &opened[0].record;
    assert_eq!(r.id, "4-1");
    assert_eq!(r.key, "device:STA-core-a");
    assert_eq!(r.state, IncidentState::Open);
    assert_eq!(r.severity, "DOWN");
    assert_eq!(opened[0].notify, Some(Notify::Opened));
    assert!(reconcile(&mut b, &[down("STA-core-a")], t(5)).is_empty());
    assert_eq!(b.live().count(), 1);
}

#[test]
fn acknowledge_is_sticky_and_kept_with_who_and_comment() {
    let mut b = book();
    reconcile(&mut b, &[down("STA-core-a")], t(0));
    let plan = b
        .plan_acknowledge("STA-core-a", "dana", "on it", None, t(30))
        .expect("ack");
    assert_eq!(
        b.find("4-1").expect("live").state,
        IncidentState::Open,
        "planning changes nothing"
    );
    assert!(b.commit(&plan));
    let r = b.find("device:STA-core-a").expect("live");
    assert_eq!(r.state, IncidentState::Acknowledged);
    let ack = r.ack.as_ref().expect("ack");
    assert_eq!((ack.by.as_str(), ack.comment.as_str()), ("dana", "on it"));
    // Sticky: no expiry, no escalation however long.
    assert!(b.tick(t(10_000)).is_empty());
    assert_eq!(
        b.find("4-1").expect("live").state,
        IncidentState::Acknowledged
    );
}

#[test]
fn an_acknowledgement_with_expiry_opens_again_and_notifies() {
    let mut b = book();
    reconcile(&mut b, &[down("STA-core-a")], t(0));
    let plan = b
        .plan_acknowledge("4-1", "dana", "looking", Some(t(60 + 3600)), t(60))
        .expect("ack");
    assert!(b.commit(&plan));
    assert!(b.tick(t(60 + 3599)).is_empty());
    let changes = b.tick(t(60 + 3600));
    assert_eq!(kinds(&changes), vec![TimelineKind::AckExpired]);
    assert_eq!(changes[0].notify, Some(Notify::AckExpired));
    assert_eq!(changes[0].record.state, IncidentState::Open);
    assert!(
        b.plan_acknowledge("4-1", "dana", "x", Some(t(10)), t(4000))
            .is_err(),
        "an expiry in the past is refused"
    );
}

#[test]
fn resolves_by_itself_only_after_the_hold() {
    let mut b = book();
    reconcile(&mut b, &[down("STA-core-a")], t(0));
    // Acknowledged (so nothing escalates); it still resolves by itself.
    let plan = b
        .plan_acknowledge("4-1", "dana", "on it", None, t(1))
        .expect("ack");
    assert!(b.commit(&plan));
    reconcile(&mut b, &[], t(100));
    assert!(b.tick(t(219)).is_empty(), "clear for 119 s: not yet");
    // Back before the hold ends: the hold starts again when it clears.
    reconcile(&mut b, &[down("STA-core-a")], t(219));
    reconcile(&mut b, &[], t(230));
    assert!(b.tick(t(349)).is_empty());
    let changes = b.tick(t(350));
    assert_eq!(kinds(&changes), vec![TimelineKind::Resolved]);
    let r = &changes[0].record;
    assert_eq!(r.state, IncidentState::Resolved);
    assert_eq!(r.resolved_at, Some(t(350)));
    assert_eq!(r.resolved_by, None, "by itself");
    assert_eq!(b.live().count(), 0);
}

#[test]
fn resolving_an_active_condition_is_refused_with_the_reason() {
    let mut b = book();
    reconcile(&mut b, &[down("STA-core-a")], t(0));
    let err = b.plan_resolve("4-1", "dana", t(10)).expect_err("active");
    assert!(err.contains("STA-core-a is still DOWN"), "{err}");
    reconcile(&mut b, &[], t(20));
    let plan = b.plan_resolve("4-1", "dana", t(25)).expect("clear now");
    assert!(b.commit(&plan));
    assert_eq!(b.live().count(), 0);
    assert_eq!(plan.record.resolved_by.as_deref(), Some("dana"));
    let err = b.plan_resolve("4-1", "dana", t(26)).expect_err("gone");
    assert!(err.contains("resolved"), "{err}");
}

#[test]
fn failing_again_within_the_window_reopens_the_same_incident() {
    let mut b = book();
    for round in 0..40u64 {
        let at = round * 200;
        reconcile(&mut b, &[down("STA-acc-01")], t(at));
        reconcile(&mut b, &[], t(at + 10));
        b.tick(t(at + 130));
    }
    // One incident for forty-one failures, reopened forty times.
    let changes = reconcile(&mut b, &[down("STA-acc-01")], t(8000));
    assert_eq!(changes.len(), 1);
    let r = &changes[0].record;
    assert_eq!(r.id, "4-1");
    assert_eq!(r.reopened, 40);
    assert_eq!(kinds(&changes), vec![TimelineKind::Reopened]);
    assert_eq!(changes[0].notify, Some(Notify::Opened));
    // Past the window: a new incident.
    reconcile(&mut b, &[], t(8010));
    b.tick(t(8130));
    b.tick(t(8130 + 901));
    let changes = reconcile(&mut b, &[down("STA-acc-01")], t(8130 + 902));
    assert_eq!(changes[0].record.id, "4-2");
    assert_eq!(kinds(&changes), vec![TimelineKind::Opened]);
}

#[test]
fn unacknowledged_incidents_escalate_every_ack_timeout() {
    let mut b = book();
    let mut degraded = down("STA-core");
    degraded.key = "group:STA-core".into();
    degraded.severity = Status::Degraded;
    reconcile(&mut b, &[down("STA-core-a"), degraded], t(0));
    assert!(b.tick(t(299)).is_empty());
    let c = b.tick(t(300));
    assert_eq!(kinds(&c), vec![TimelineKind::Escalated]);
    assert_eq!(c[0].record.subject, "STA-core-a");
    assert_eq!(c[0].notify, Some(Notify::Escalated));
    assert!(b.tick(t(599)).is_empty());
    assert_eq!(b.tick(t(600)).len(), 1, "again after another timeout");
    let c = b.tick(t(900));
    assert_eq!(c.len(), 2, "DOWN again, and DEGRADED after its own 15 min");
    let plan = b
        .plan_acknowledge("STA-core-a", "dana", "ok", None, t(901))
        .expect("ack");
    assert!(b.commit(&plan));
    assert!(
        b.tick(t(1200))
            .iter()
            .all(|c| c.record.subject != "STA-core-a")
    );
}

#[test]
fn maintenance_keeps_an_incident_open_marked_and_silent() {
    let mut b = book();
    reconcile(&mut b, &[down("STA-core-a")], t(0));
    let marked = b.set_maintenance(|r| r.venue == "STA", true, "fibre works", t(10));
    assert_eq!(kinds(&marked), vec![TimelineKind::Maintenance]);
    assert!(marked[0].record.in_maintenance);
    // The board shows MAINTENANCE, so the problem is gone from it: the
    // incident stays, and escalates silently.
    reconcile(&mut b, &[], t(20));
    let c = b.tick(t(1000));
    assert!(c.iter().all(|c| c.notify.is_none()), "{c:?}");
    assert_eq!(b.live().count(), 1, "not resolved by the board's silence");
    // A new problem on a target in maintenance opens nothing.
    let opened = b.reconcile(vec![down("STA-acc-02")], |c| c.venue == "STA", t(1001));
    assert!(opened.is_empty());
    // Out of maintenance, clear: resolves after the hold.
    b.set_maintenance(|r| r.venue == "STA", false, "", t(1100));
    reconcile(&mut b, &[], t(1101));
    assert_eq!(kinds(&b.tick(t(1221))), vec![TimelineKind::Resolved]);
}

#[test]
fn a_plan_made_stale_is_not_committed() {
    let mut b = book();
    reconcile(&mut b, &[down("STA-core-a")], t(0));
    let plan = b
        .plan_acknowledge("4-1", "dana", "on it", None, t(1))
        .expect("ack");
    let mut degraded = down("STA-core-a");
    degraded.severity = Status::Degraded;
    reconcile(&mut b, &[degraded], t(2));
    assert!(!b.commit(&plan), "the incident changed since the plan");
    assert_eq!(b.find("4-1").expect("live").severity, "DEGRADED");
}

#[test]
fn notes_need_text_and_an_incident() {
    let mut b = book();
    reconcile(&mut b, &[down("STA-core-a"), down("STA-core-b")], t(0));
    assert!(b.plan_note("4-1", "tina", "  ", t(1)).is_err());
    let n = b
        .plan_note("4-1", "tina", "fibre cut at gate C", t(1))
        .expect("note");
    assert_eq!(kinds(std::slice::from_ref(&n)), vec![TimelineKind::Note]);
    assert_eq!(n.timeline[0].by.as_deref(), Some("tina"));
    let err = b
        .plan_note("STA-nothing", "tina", "x", t(1))
        .expect_err("none");
    assert!(err.contains("no open incident"), "{err}");
}

#[test]
fn restored_incidents_are_live_again_and_resolved_ones_can_reopen() {
    let mut first = book();
    reconcile(&mut first, &[down("STA-core-a"), down("STA-rtr-a")], t(0));
    let plan = first
        .plan_acknowledge("4-1", "dana", "on it", None, t(5))
        .expect("ack");
    first.commit(&plan);
    reconcile(&mut first, &[down("STA-core-a")], t(6));
    let resolved: Vec<_> = first.tick(t(200)).into_iter().map(|c| c.record).collect();
    let mut kept: Vec<_> = first.live().cloned().collect();
    kept.extend(resolved);
    let mut second = Lifecycle::new(policy(), 5);
    second.restore(kept, t(300));
    assert_eq!(
        second.find("STA-core-a").expect("live").state,
        IncidentState::Acknowledged
    );
    let c = second.reconcile(
        vec![down("STA-core-a"), down("STA-rtr-a")],
        |_| false,
        t(310),
    );
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].record.id, "4-2", "reopened, keeping its id");
    assert_eq!(kinds(&c), vec![TimelineKind::Reopened]);
}

/// An uplink whose two routers fail one poll apart opens DEGRADED
/// (redundancy lost), then is raised to DOWN: a new DOWN for the person on
/// call, told once (benches/incidents.rs: 43 of 49 venues of an uplink
/// storm went this way and none notified). Not once someone has it.
#[test]
fn raised_to_down_notifies_unless_acknowledged() {
    let degraded = |subject: &str| Condition {
        severity: Status::Degraded,
        title: format!("{subject} redundancy lost"),
        ..down(subject)
    };
    let mut b = book();
    let opened = reconcile(&mut b, &[degraded("STA-uplink")], t(0));
    assert_eq!(opened[0].record.severity, "DEGRADED");
    let raised = reconcile(&mut b, &[down("STA-uplink")], t(10));
    assert_eq!(raised.len(), 1);
    assert_eq!(raised[0].record.severity, "DOWN");
    assert_eq!(raised[0].notify, Some(Notify::Opened));
    assert_eq!(raised[0].record.notified_at, Some(t(10)));
    // Lowered again: nothing to tell.
    let lowered = reconcile(&mut b, &[degraded("STA-uplink")], t(20));
    assert_eq!(lowered[0].notify, None);
    // Acknowledged, then raised: the person on it sees it on the console.
    let plan = b
        .plan_acknowledge("STA-uplink", "dana", "on it", None, t(30))
        .expect("ack");
    assert!(b.commit(&plan));
    let raised = reconcile(&mut b, &[down("STA-uplink")], t(40));
    assert_eq!(raised[0].record.severity, "DOWN");
    assert_eq!(raised[0].notify, None);
}
