//! The store's writer and reader on real SQLite files: every field comes
//! back as written, batches commit in groups and in order, each ack is
//! called once, a reader on another connection sees committed rows while
//! the writer runs, and the lists, stats and handover read as specified.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod store_fixtures;

use std::sync::mpsc::channel;
use std::time::Duration;

use store_fixtures::{ack, ack_n, at, audit, batch, entry, full, open, window};
use toc::engine::port::{IncidentStore as _, StoreOp};
use toc::incident::record::{Ack, IncidentRecord, IncidentState, TimelineKind};
use toc::store::{Filter, Reader, Store};

const HOUR: u64 = 3_600_000;

#[test]
fn every_field_comes_back_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("toc.db");
    let (store, loaded) = Store::open(&path).unwrap();
    assert_eq!(loaded, toc::store::Loaded::default());
    let mut resolved = full("1-1");
    resolved.resolved_at = Some(at(HOUR));
    let plain = open("1-2", "MRN", "UNKNOWN", at(7));
    let timeline: Vec<_> = TimelineKind::ALL
        .iter()
        .enumerate()
        .map(|(i, &k)| entry("1-1", k, 10 + i as u64, &format!("{} «{i}»", k.name())))
        .collect();
    let maint = window("STA-core-a", at(0), at(10 * HOUR));
    let records: Vec<_> = (0..4).map(|n| audit(n, &format!("cmd {n}"))).collect();
    let mut ops = vec![
        StoreOp::Incident(resolved.clone()),
        StoreOp::Incident(plain.clone()),
        StoreOp::Maintenance(maint.clone()),
    ];
    ops.extend(timeline.iter().cloned().map(StoreOp::Timeline));
    ops.extend(records.iter().cloned().map(StoreOp::Audit));
    let (done, rx) = ack();
    store.write(ops, Some(done)).unwrap();
    rx.recv_timeout(Duration::from_secs(10)).unwrap().unwrap();
    store.close();

    let (_store, loaded) = Store::open_at(&path, at(2 * HOUR)).unwrap();
    assert_eq!(loaded.incidents, [resolved.clone(), plain.clone()]);
    assert_eq!(loaded.maintenance, std::slice::from_ref(&maint));
    let reader = Reader::open(&path).unwrap();
    let (got, got_timeline) = reader.incident("1-1").unwrap().unwrap();
    assert_eq!(got, resolved);
    assert_eq!(got_timeline, timeline);
    assert_eq!(reader.audit_since(at(0)).unwrap(), records);
    assert_eq!(reader.audit_since(at(2)).unwrap(), records[2..]);
    assert_eq!(reader.maintenance(at(HOUR)).unwrap(), [maint]);
    assert!(reader.maintenance(at(10 * HOUR)).unwrap().is_empty());
}

#[test]
fn open_loads_what_is_unresolved_recently_resolved_and_maintenance_not_ended() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("toc.db");
    let (store, _) = Store::open(&path).unwrap();
    let now = at(100 * HOUR);
    let old = IncidentRecord {
        state: IncidentState::Resolved,
        resolved_at: Some(at(75 * HOUR)),
        ..open("1-1", "STA", "DOWN", at(70 * HOUR))
    };
    let recent = IncidentRecord {
        state: IncidentState::Resolved,
        resolved_at: Some(at(77 * HOUR)),
        ..open("1-2", "STA", "DOWN", at(70 * HOUR))
    };
    let acked = IncidentRecord {
        state: IncidentState::Acknowledged,
        ack: Some(Ack {
            by: "mara".to_owned(),
            at: at(2),
            comment: "looking".to_owned(),
            expires: None,
        }),
        ..open("1-3", "MRN", "DEGRADED", at(1))
    };
    let ops = vec![
        StoreOp::Incident(old),
        StoreOp::Incident(recent.clone()),
        StoreOp::Incident(acked.clone()),
        StoreOp::Maintenance(window("ended", at(0), at(99 * HOUR))),
        StoreOp::Maintenance(window("now", at(99 * HOUR), at(101 * HOUR))),
        StoreOp::Maintenance(window("later", at(200 * HOUR), at(201 * HOUR))),
        StoreOp::Maintenance(window("lifted", at(0), at(200 * HOUR))),
        StoreOp::MaintenanceEnded {
            target: "lifted".to_owned(),
        },
    ];
    let (done, rx) = ack();
    store.write(ops, Some(done)).unwrap();
    rx.recv().unwrap().unwrap();
    drop(store);
    let (_store, loaded) = Store::open_at(&path, now).unwrap();
    assert_eq!(loaded.incidents, [acked, recent]);
    let targets: Vec<_> = loaded
        .maintenance
        .iter()
        .map(|m| m.target.as_str())
        .collect();
    assert_eq!(targets, ["now", "later"]);
}

#[test]
fn batches_commit_in_groups_in_order_and_each_ack_is_called_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("toc.db");
    let (store, _) = Store::open(&path).unwrap();
    let (tx, rx) = channel();
    let n = 2000;
    for i in 0..n {
        // Every third without an ack: those are written in the same order.
        let ack = (i % 3 != 0).then(|| ack_n(i, &tx));
        store.write(batch(i, 8), ack).unwrap();
    }
    let mut seen = Vec::new();
    while seen.len() < n - n.div_ceil(3) {
        let (i, r) = rx.recv_timeout(Duration::from_secs(30)).unwrap();
        r.unwrap();
        seen.push(i);
    }
    let expected: Vec<_> = (0..n).filter(|i| i % 3 != 0).collect();
    assert_eq!(seen, expected, "acked once each, in order");
    store.close();
    assert!(rx.try_recv().is_err(), "no ack called twice");
    let reader = Reader::open(&path).unwrap();
    assert_eq!(reader.incidents(Filter::All).unwrap().len(), n);
    let audit = reader.audit_since(at(0)).unwrap();
    let texts: Vec<_> = audit.iter().map(|a| a.text.clone()).collect();
    let want: Vec<_> = (0..n).map(|i| format!("batch {i}")).collect();
    assert_eq!(texts, want, "written in the order given");
}

#[test]
fn batches_waiting_together_are_written_in_one_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("toc.db");
    let (store, _) = Store::open(&path).unwrap();
    // Another connection holds the write lock: the writer waits (busy
    // timeout) while 500 batches queue behind the one it took.
    let lock = rusqlite::Connection::open(&path).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    let (tx, rx) = channel();
    let n = 500;
    for i in 0..n {
        store.write(batch(i, 8), Some(ack_n(i, &tx))).unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(rx.try_recv().is_err(), "nothing is acked while locked");
    lock.execute_batch("COMMIT").unwrap();
    for i in 0..n {
        let (got, r) = rx.recv_timeout(Duration::from_secs(30)).unwrap();
        assert_eq!(got, i);
        r.unwrap();
    }
    let commits = store.commits();
    assert!(
        (1..=3).contains(&commits),
        "{commits} transactions for {n} batches: not grouped"
    );
}

#[test]
fn a_reader_on_another_connection_sees_committed_rows_while_the_writer_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("toc.db");
    let (store, _) = Store::open(&path).unwrap();
    let reader = Reader::open(&path).unwrap();
    assert!(reader.incidents(Filter::All).unwrap().is_empty());
    for i in 0..3 {
        let (done, rx) = ack();
        store.write(batch(i, 8), Some(done)).unwrap();
        rx.recv().unwrap().unwrap();
        let listed = reader.incidents(Filter::NotResolved).unwrap();
        assert_eq!(listed.len(), i + 1, "committed rows are seen at once");
        assert_eq!(listed[i].1, ["nnnnnnnn"]);
    }
    assert!(store.health().is_ok());
}

#[test]
fn the_list_is_worst_first_then_oldest_with_notes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("toc.db");
    let (store, _) = Store::open(&path).unwrap();
    let resolved = IncidentRecord {
        state: IncidentState::Resolved,
        resolved_at: Some(at(50)),
        ..open("1-0", "STA", "DOWN", at(0))
    };
    let ops = vec![
        StoreOp::Incident(open("1-1", "STA", "UNKNOWN", at(1))),
        StoreOp::Incident(open("1-2", "STA", "DOWN", at(30))),
        StoreOp::Incident(open("1-3", "MRN", "DEGRADED", at(2))),
        StoreOp::Incident(open("1-4", "MRN", "DOWN", at(20))),
        StoreOp::Incident(resolved),
        StoreOp::Timeline(entry("1-4", TimelineKind::Opened, 20, "opened")),
        StoreOp::Timeline(entry("1-4", TimelineKind::Note, 21, "first")),
        StoreOp::Timeline(entry("1-4", TimelineKind::Note, 22, "second")),
        StoreOp::Timeline(entry("1-0", TimelineKind::Note, 23, "old")),
    ];
    let (done, rx) = ack();
    store.write(ops, Some(done)).unwrap();
    rx.recv().unwrap().unwrap();
    let reader = Reader::open(&path).unwrap();
    let listed = reader.incidents(Filter::NotResolved).unwrap();
    let ids: Vec<_> = listed.iter().map(|(r, _)| r.id.as_str()).collect();
    assert_eq!(ids, ["1-4", "1-2", "1-3", "1-1"]);
    assert_eq!(listed[0].1, ["first", "second"]);
    let all = reader.incidents(Filter::All).unwrap();
    assert_eq!(all[0].0.id, "1-0");
    assert_eq!(all[0].1, ["old"]);
    assert_eq!(all.len(), 5);
    // By key: the one not resolved.
    let (by_key, timeline) = reader
        .incident("device-down:MRN-core-1-4")
        .unwrap()
        .unwrap();
    assert_eq!(by_key.id, "1-4");
    assert_eq!(timeline.len(), 3);
    assert!(reader.incident("nothing").unwrap().is_none());
}

#[test]
fn stats_give_median_and_p90_per_venue_and_severity() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("toc.db");
    let (store, _) = Store::open(&path).unwrap();
    let mut ops = Vec::new();
    // STA DOWN: acked after 1..=10 minutes, resolved after 1..=10 hours.
    for i in 1..=10_u64 {
        let mut r = open(&format!("1-{i}"), "STA", "DOWN", at(i * 1000));
        r.ack = Some(Ack {
            by: "mara".to_owned(),
            at: at(i * 1000 + i * 60_000),
            comment: String::new(),
            expires: None,
        });
        r.resolved_at = Some(at(i * 1000 + i * HOUR));
        r.state = IncidentState::Resolved;
        ops.push(StoreOp::Incident(r));
    }
    // MRN DEGRADED: one never acknowledged nor resolved.
    ops.push(StoreOp::Incident(open("1-99", "MRN", "DEGRADED", at(0))));
    let (done, rx) = ack();
    store.write(ops, Some(done)).unwrap();
    rx.recv().unwrap().unwrap();
    let stats = Reader::open(&path).unwrap().stats().unwrap();
    assert_eq!(stats.len(), 2);
    let mrn = &stats[0];
    assert_eq!(
        (mrn.venue.as_str(), mrn.severity.as_str()),
        ("MRN", "DEGRADED")
    );
    assert_eq!((mrn.incidents, mrn.acknowledged, mrn.resolved), (1, 0, 0));
    assert_eq!((mrn.ack_median, mrn.resolve_p90), (None, None));
    let sta = &stats[1];
    assert_eq!(
        (sta.incidents, sta.acknowledged, sta.resolved),
        (10, 10, 10)
    );
    assert_eq!(sta.ack_median, Some(300.0));
    assert_eq!(sta.ack_p90, Some(540.0));
    assert_eq!(sta.resolve_median, Some(5.0 * 3600.0));
    assert_eq!(sta.resolve_p90, Some(9.0 * 3600.0));
}

#[test]
fn the_handover_says_what_opened_what_is_open_what_resolved_and_the_notes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("toc.db");
    let (store, _) = Store::open(&path).unwrap();
    let since = at(10 * HOUR);
    let before_open = IncidentRecord {
        state: IncidentState::Acknowledged,
        ack: Some(Ack {
            by: "mara".to_owned(),
            at: at(HOUR),
            comment: "vendor called".to_owned(),
            expires: None,
        }),
        ..open("1-1", "STA", "DOWN", at(0))
    };
    let before_resolved_since = IncidentRecord {
        state: IncidentState::Resolved,
        resolved_at: Some(at(11 * HOUR)),
        ..open("1-2", "STA", "DOWN", at(0))
    };
    let before_resolved_before = IncidentRecord {
        state: IncidentState::Resolved,
        resolved_at: Some(at(9 * HOUR)),
        ..open("1-3", "STA", "DOWN", at(0))
    };
    let new_open = open("1-4", "MRN", "DEGRADED", at(12 * HOUR));
    let ops = vec![
        StoreOp::Incident(before_open.clone()),
        StoreOp::Incident(before_resolved_since.clone()),
        StoreOp::Incident(before_resolved_before),
        StoreOp::Incident(new_open.clone()),
        StoreOp::Timeline(entry("1-1", TimelineKind::Note, HOUR, "old note")),
        StoreOp::Timeline(entry("1-1", TimelineKind::Note, 11 * HOUR, "new note")),
        StoreOp::Timeline(entry("1-4", TimelineKind::Opened, 12 * HOUR, "opened")),
        StoreOp::Maintenance(window("MRN", at(0), at(20 * HOUR))),
    ];
    let (done, rx) = ack();
    store.write(ops, Some(done)).unwrap();
    rx.recv().unwrap().unwrap();
    let h = Reader::open(&path)
        .unwrap()
        .handover(since, at(13 * HOUR))
        .unwrap();
    assert_eq!(h.opened, std::slice::from_ref(&new_open));
    assert_eq!(h.open, [before_open, new_open]);
    assert_eq!(h.resolved, [before_resolved_since]);
    let notes: Vec<_> = h.notes.iter().map(|n| n.text.as_str()).collect();
    assert_eq!(notes, ["new note"]);
    assert_eq!(h.maintenance.len(), 1);
}

#[test]
fn after_close_the_store_refuses_writes_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(&dir.path().join("toc.db")).unwrap();
    store.close();
    assert!(store.health().unwrap_err().contains("stopped"));
    assert!(
        store
            .write(batch(0, 1), None)
            .unwrap_err()
            .contains("stopped")
    );
}

#[test]
fn dropping_the_handle_writes_what_is_queued() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("toc.db");
    let (store, _) = Store::open(&path).unwrap();
    for i in 0..300 {
        store.write(batch(i, 8), None).unwrap();
    }
    drop(store);
    let listed = Reader::open(&path).unwrap().incidents(Filter::All).unwrap();
    assert_eq!(listed.len(), 300);
}
