//! The store on a full disk (a 512 KB tmpfs: the store's files need more than
//! the 64 KB of the audit tests to start): an acked batch is refused
//! with the reason and leaves nothing in the file; batches without an ack
//! are kept and written once space returns; the store writes again and is
//! healthy without being reopened.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod store_fixtures;
mod support;

use std::time::{Duration, Instant};

use store_fixtures::{ack, batch};
use support::disk::SmallDisk;
use toc::engine::port::IncidentStore as _;
use toc::store::{Filter, Reader, Store};

/// The ids of the incidents in the store.
fn ids(path: &std::path::Path) -> Vec<String> {
    let mut ids: Vec<String> = Reader::open(path)
        .unwrap()
        .incidents(Filter::All)
        .unwrap()
        .into_iter()
        .map(|(r, _)| r.id)
        .collect();
    ids.sort();
    ids
}

#[test]
fn a_full_disk_refuses_acked_batches_keeps_the_others_and_recovers_without_a_restart() {
    let Some(disk) = SmallDisk::mount_sized("512k") else {
        return;
    };
    let path = disk.path().join("toc.db");
    let (store, _) = Store::open(&path).unwrap();
    let (done, rx) = ack();
    store.write(batch(0, 100), Some(done)).unwrap();
    rx.recv().unwrap().unwrap();
    let filler = disk.fill();

    // Acked batches until one is refused (the WAL's last page may hold a
    // few first).
    let mut refused = None;
    let mut written = vec![0];
    for n in 1..200 {
        let (done, rx) = ack();
        store.write(batch(n, 3000), Some(done)).unwrap();
        match rx.recv_timeout(Duration::from_secs(30)).unwrap() {
            Ok(()) => written.push(n),
            Err(why) => {
                refused = Some((n, why));
                break;
            }
        }
    }
    let (lost, why) = refused.expect("a full disk refuses a batch");
    eprintln!("batch {lost} refused: {why}");
    assert!(why.contains("full"), "{why}");
    assert!(why.contains(&path.display().to_string()), "{why}");
    assert!(store.health().unwrap_err().contains("full"));

    // Batches without an ack, while the disk is full: kept.
    let kept: Vec<usize> = (1000..1005).collect();
    for &n in &kept {
        store.write(batch(n, 3000), None).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    // Three operations a batch, all five kept (so only the timer can
    // write them once space returns).
    while store.waiting() < 3 * kept.len() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(store.waiting(), 3 * kept.len(), "kept for a retry");
    assert!(store.health().is_err());

    // Space returns: the retry (every second) writes them, without a new
    // write and without reopening.
    std::fs::remove_file(filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while (store.waiting() > 0 || store.health().is_err()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(store.waiting(), 0);
    assert_eq!(store.health(), Ok(()));
    let (done, rx) = ack();
    store.write(batch(2000, 100), Some(done)).unwrap();
    rx.recv().unwrap().unwrap();

    // What is in the file, read by another connection while the writer
    // still runs.
    let mut want: Vec<usize> = written;
    want.extend(&kept);
    want.push(2000);
    let mut want: Vec<String> = want.into_iter().map(|n| format!("1-{n}")).collect();
    want.sort();
    assert_eq!(ids(&path), want);
    let reader = Reader::open(&path).unwrap();
    assert!(
        reader.incident(&format!("1-{lost}")).unwrap().is_none(),
        "nothing of the refused batch"
    );
    let audit = reader.audit_since(store_fixtures::at(0)).unwrap();
    assert!(!audit.iter().any(|a| a.text == format!("batch {lost}")));
    assert_eq!(audit.len(), want.len());
    store.close();
    assert_eq!(ids(&path), want, "and after closing");
}
