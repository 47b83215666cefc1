//! Snapshot deltas against a real engine: every snapshot a demo publishes
//! (devices polled, a fault, its incident, the ticker and audit moving) is
//! rebuilt exactly from the one before and the delta, after the delta has
//! crossed the wire as a deflated frame; and a delta carries only what
//! the wall shows, the rest going to the consoles looking at it.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use toc::api::delta::{self, DeltaError};
use toc::api::wire::{self, ServerMsg};
use toc::engine::{Command, IncidentCommand, Snapshot};
use toc::runtime::Live;

use support::engine::{all_ok, fault, quick, small, wait_for};

/// The snapshots the engine publishes until `n` were seen.
async fn collect(live: &Live, n: usize) -> Vec<Arc<Snapshot>> {
    let mut rx = live.handle().watch();
    let mut out = vec![Arc::clone(&rx.borrow_and_update())];
    while out.len() < n {
        tokio::time::timeout(Duration::from_secs(30), rx.changed())
            .await
            .expect("a snapshot in time")
            .expect("the engine runs");
        out.push(Arc::clone(&rx.borrow_and_update()));
    }
    out
}

/// `b` rebuilt from `a` through a delta that went over the wire, and the
/// details of every device (a console whose focus is the whole Games).
fn through_the_wire(a: &Snapshot, b: &Snapshot) -> Snapshot {
    let d = delta::diff(a, b).expect("same layout");
    let frame = wire::encode_binary(&ServerMsg::Delta { delta: Box::new(d) });
    let ServerMsg::Delta { delta: d } = wire::decode_binary(&frame).expect("decodes") else {
        panic!("not a delta");
    };
    let shown = delta::apply(a, &d).expect("applies");
    // What the wall shows is there without details.
    for (x, y) in shown.devices.iter().zip(&b.devices) {
        assert_eq!(
            (x.status, &x.reason, x.attempt),
            (y.status, &y.reason, y.attempt)
        );
    }
    assert_eq!(shown.venues, b.venues);
    assert_eq!(shown.incidents, b.incidents);
    let all = (0..u32::try_from(b.devices.len()).expect("few")).collect::<Vec<_>>();
    let frame = wire::encode_binary(&ServerMsg::Detail {
        seq: b.seq,
        devices: delta::details(Some(a), b, &all),
    });
    let ServerMsg::Detail { devices, .. } = wire::decode_binary(&frame).expect("decodes") else {
        panic!("not details");
    };
    delta::apply_details(&shown, &devices).expect("applies")
}

#[tokio::test(flavor = "current_thread")]
async fn every_snapshot_is_rebuilt_from_the_one_before() {
    let live = Live::demo(small(), quick(200)).await.expect("demo");
    let h = live.handle();
    wait_for(&h, Duration::from_secs(20), "all OK", all_ok).await;
    let mut snaps = collect(&live, 4).await;
    let reply = h.send(fault("STA-rtr-a", "down")).await;
    assert!(reply.is_ok(), "{reply:?}");
    snaps.extend(collect(&live, 12).await);
    let open = h.snapshot();
    if let Some(inc) = open.incidents.first() {
        let ack = Command::Incident(IncidentCommand::Ack {
            which: inc.id.to_string(),
            comment: "on it".to_owned(),
            expires: None,
        });
        let _ = h.send(ack).await;
        snaps.extend(collect(&live, 4).await);
    }
    let mut checked = 0;
    for pair in snaps.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert_eq!(
            &through_the_wire(a, b),
            &**b,
            "snapshot {} from {}",
            b.seq,
            a.seq
        );
        checked += 1;
    }
    // Skipping snapshots (a console that fell behind and is sent the
    // change from what it has) works the same.
    let (first, last) = (&snaps[0], &snaps[snaps.len() - 1]);
    assert_eq!(&through_the_wire(first, last), &**last);
    assert!(checked >= 15, "{checked} pairs");
    // A delta for another snapshot is refused, never misapplied.
    let d = delta::diff(&snaps[1], &snaps[2]).expect("same layout");
    assert_eq!(
        delta::apply(&snaps[0], &d).map(|_| ()),
        Err(DeltaError::Seq {
            have: snaps[0].seq,
            from: snaps[1].seq
        })
    );
    live.shutdown().await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_poll_without_news_sends_nothing_but_to_those_looking() {
    let live = Live::demo(small(), quick(200)).await.expect("demo");
    let h = live.handle();
    wait_for(&h, Duration::from_secs(20), "all OK", all_ok).await;
    let snaps = collect(&live, 6).await;
    let (a, b) = (&snaps[4], &snaps[5]);
    let polled: Vec<u32> = (0..b.devices.len())
        .filter(|&i| a.devices[i] != b.devices[i])
        .map(|i| u32::try_from(i).expect("few"))
        .collect();
    assert!(!polled.is_empty(), "devices were polled");
    let d = delta::diff(a, b).expect("same layout");
    assert!(
        d.devices.is_empty(),
        "all OK and polled again: {:?}",
        d.devices
    );
    assert!(
        d.incidents.is_none() && d.playbooks.is_none(),
        "unchanged lists left out"
    );
    // A console looking at STA gets each polled STA device whole.
    let focus = delta::Focus {
        venues: vec!["STA".to_owned()],
        devices: Vec::new(),
    };
    let sta = focus.devices_in(b);
    assert!(!sta.is_empty());
    let details = delta::details(Some(a), b, &sta);
    let expected: Vec<u32> = polled.iter().copied().filter(|i| sta.contains(i)).collect();
    assert_eq!(
        details.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
        expected
    );
    live.shutdown().await;
}
