//! The console shows a red banner while the audit log cannot be written
//! (issue 12, point 4), and takes it away once writes work again: drawn
//! from a snapshot on a `TestBackend`, and end to end from the engine of
//! a demo whose `audit.log` is a real file that cannot be written.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::time::Duration;

use ratatui::buffer::Buffer;
use ratatui::style::Color;
use toc::console::App;
use toc::engine::{Identity, Refusal, Role, Snapshot};
use toc::runtime::Live;

use support::disk::SmallDisk;
use support::engine::{fault, quick, wait_for};
use support::{games, view};

const WHY: &str = "/srv/toc/audit.log: No space left on device (os error 28)";

fn app(color: bool) -> App {
    let identity = Identity {
        user: "alice".into(),
        role: Role::Operator,
        venues: Vec::new(),
    };
    App::new(identity, color, true)
}

fn failing(snap: &Snapshot, why: &str) -> Snapshot {
    let mut snap = snap.clone();
    snap.audit_failing = Some(why.to_owned());
    snap
}

fn row(buf: &Buffer, y: u16) -> String {
    (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect()
}

#[test]
fn a_failing_audit_log_shows_a_red_banner_under_the_status_bar() {
    let snap = games::small();
    let buf = view::draw(&mut app(true), &failing(&snap, WHY), 80, 24);
    let banner = row(&buf, 1);
    assert!(
        banner.starts_with(" ! AUDIT LOG CANNOT BE WRITTEN: changes are refused (/srv/toc/audit"),
        "{banner}"
    );
    assert!(banner.ends_with('…'), "cut to the width: {banner}");
    for x in 0..80 {
        assert_eq!(buf[(x, 1)].bg, Color::Red, "column {x} of the banner");
    }
    // The status bar stays where it was; the rest moves down a row.
    let plain = view::draw(&mut app(true), &snap, 80, 24);
    assert_eq!(row(&buf, 0), row(&plain, 0));
    assert_eq!(
        row(&buf, 2),
        row(&plain, 1),
        "the wall's title, a row lower"
    );
    assert!(!view::text(&plain).contains("AUDIT LOG"));
}

#[test]
fn the_banner_is_whole_on_a_wide_screen_and_reversed_without_colour() {
    let snap = failing(&games::small(), WHY);
    let buf = view::draw(&mut app(false), &snap, 160, 40);
    let banner = row(&buf, 1);
    assert!(
        banner.contains(&format!("changes are refused ({WHY})")),
        "{banner}"
    );
    assert!(
        buf[(0, 1)]
            .modifier
            .contains(ratatui::style::Modifier::REVERSED)
    );
    assert_eq!(buf[(0, 1)].bg, Color::Reset, "no colour asked for");
}

#[test]
fn the_banner_escapes_what_the_reason_carries_and_fits_any_size() {
    let snap = failing(&games::small(), "disk\u{1b}[2J gone\n");
    let text = view::text(&view::draw(&mut app(true), &snap, 80, 24));
    assert!(!text.contains('\u{1b}'), "{text}");
    for (w, h) in [(0, 0), (1, 1), (80, 3), (20, 4), (80, 5)] {
        let buf = view::draw(&mut app(true), &snap, w, h);
        assert_eq!(buf.area.width, w);
    }
    let buf = view::draw(&mut app(true), &snap, 30, 5);
    assert!(row(&buf, 1).starts_with(" ! AUDIT LOG CANNOT"));
}

/// End to end: a demo on a disk that fills up. A refused change puts the
/// banner on the console; once there is room and a change is written, it
/// goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_banner_comes_with_a_full_disk_and_goes_with_room() {
    let Some(disk) = SmallDisk::mount() else {
        return;
    };
    let mut tuning = quick(200);
    tuning.data_dir = Some(disk.path().to_path_buf());
    let live = Live::demo(support::engine::small(), tuning)
        .await
        .expect("demo starts");
    let h = live.handle();
    h.send(fault("STA-core", "down")).await.expect("room");
    let filler = disk.fill();
    let mut refused = None;
    // Records go in until the page the file has is full.
    for n in 0..200 {
        let kind = if n % 2 == 0 { "slow" } else { "down" };
        if let Err(Refusal::AuditFailing(why)) = h.send(fault("STA-core", kind)).await {
            refused = Some(why);
            break;
        }
    }
    let why = refused.expect("a change refused on a full disk");
    let snap = wait_for(&h, Duration::from_secs(10), "the audit failing", |s| {
        s.audit_failing.is_some()
    })
    .await;
    assert_eq!(snap.audit_failing.as_deref(), Some(why.as_str()));
    let text = view::text(&view::draw(&mut app(true), &snap, 100, 30));
    assert!(
        text.contains("AUDIT LOG CANNOT BE WRITTEN") && text.contains("No space left"),
        "{text}"
    );
    std::fs::remove_file(filler).unwrap();
    h.send(fault("STA-core", "slow"))
        .await
        .expect("room again: applied");
    let snap = wait_for(
        &h,
        Duration::from_secs(10),
        "the audit written again",
        |s| s.audit_failing.is_none(),
    )
    .await;
    let text = view::text(&view::draw(&mut app(true), &snap, 100, 30));
    assert!(!text.contains("AUDIT LOG CANNOT"), "{text}");
    live.shutdown().await;
}
