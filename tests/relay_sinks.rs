//! Delivery from the journal to the sinks, against real consumers on
//! 127.0.0.1 port 0: an axum HTTP server, TCP subscribers, a folder.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

mod sinks_support;

use std::time::{Duration, SystemTime};

use sinks_support::{Consumer, Fixture, Mode, eventually, http_sink, route};
use toc::config::venues::SinkKind;
use toc::model::relay::{RelayCommand, ReplayFrom, SinkState};
use toc::relay::sink::file_name;
use tokio::io::AsyncReadExt as _;

#[tokio::test]
async fn http_delivers_in_order_with_the_body_unchanged_and_its_headers() {
    let consumer = Consumer::start().await;
    let fx = Fixture::new(
        vec![http_sink("web", &consumer.url())],
        vec![route("all", &[0])],
    );
    let sink = fx.spawn(0);
    fx.wait_started(&sink).await;
    let seqs = fx.append(0..50, "STA-ovr-a");
    eventually("50 delivered", || consumer.seqs().len() == 50).await;
    assert_eq!(consumer.seqs(), seqs);
    let got = consumer.got();
    for (i, g) in got.iter().enumerate() {
        assert_eq!(g.body, sinks_support::body(i as u64), "body {i} changed");
        assert_eq!(g.source, "STA-ovr-a");
        assert_eq!(g.content_type, "application/xml");
    }
    // The consumer has the last message before the sink counts it.
    eventually("50 counted", || sink.status().delivered == 50).await;
    let s = sink.status();
    assert_eq!(
        (s.delivered, s.backlog, s.state),
        (50, 0, SinkState::Running)
    );
    assert!(s.p99.is_some() && s.p50.is_some());
    assert_eq!(s.slo, Duration::from_millis(350));
    assert_eq!(s.cursor, fx.log.head());
    sink.stop().await;
}

#[tokio::test]
async fn a_restarted_sink_goes_on_from_its_saved_cursor_in_order() {
    let consumer = Consumer::start().await;
    let mut fx = Fixture::new(
        vec![http_sink("web", &consumer.url())],
        vec![route("all", &[0])],
    );
    let sink = fx.spawn(0);
    fx.wait_started(&sink).await;
    let mut want = fx.append(0..20, "STA-ovr-a");
    eventually("20 delivered", || consumer.seqs().len() == 20).await;
    // The consumer has the 20th before the sink has its answer: a clean
    // stop comes once the sink has taken it.
    let head = fx.log.head();
    eventually("the sink past the 20th", || sink.status().cursor == head).await;
    sink.stop().await;
    assert_eq!(fx.log.cursor("web"), Some(fx.log.head()));
    want.extend(fx.append(20..40, "STA-ovr-a"));
    // The relay restarts: the journal is opened again from disk.
    fx.reopen();
    let sink = fx.spawn(0);
    eventually("40 delivered", || consumer.seqs().len() == 40).await;
    assert_eq!(
        consumer.seqs(),
        want,
        "in order, no gap, no repeat after a clean stop"
    );
    sink.stop().await;
}

#[tokio::test]
async fn after_a_crash_a_sink_sees_only_exact_repeats_in_order() {
    let consumer = Consumer::start().await;
    let mut fx = Fixture::new(
        vec![http_sink("web", &consumer.url())],
        vec![route("all", &[0])],
    );
    let mut want = Vec::new();
    for round in 0..5u64 {
        let sink = fx.spawn(0);
        fx.wait_started(&sink).await;
        want.extend(fx.append(round * 40..round * 40 + 40, "STA-ovr-a"));
        // Killed mid-flow, between cursor saves.
        eventually("some delivered", || {
            consumer.seqs().last() >= want.get(want.len() - 20)
        })
        .await;
        sink.abort().await;
        fx.reopen();
    }
    let sink = fx.spawn(0);
    eventually("all delivered", || consumer.seqs().last() == want.last()).await;
    sink.stop().await;
    let got = consumer.got();
    // Each message follows the one before it, or a restart went back to
    // a saved cursor (at most once per crash) and goes on from there.
    let mut restarts = 0;
    for w in got.windows(2) {
        if w[1].seq != w[0].seq + 1 {
            assert!(
                w[1].seq <= w[0].seq,
                "a gap: {} after {}",
                w[1].seq,
                w[0].seq
            );
            restarts += 1;
        }
    }
    assert!(restarts <= 5, "{restarts} restarts for 5 crashes");
    // A repeat is exact: the same body (so the same document, version).
    for g in &got {
        assert_eq!(g.body, sinks_support::body(g.seq - 1), "seq {}", g.seq);
    }
    let mut dedup: Vec<u64> = got.iter().map(|g| g.seq).collect();
    dedup.dedup();
    let mut seen = std::collections::BTreeSet::new();
    dedup.retain(|s| seen.insert(*s));
    assert_eq!(dedup, want, "nothing lost, in order");
}

#[tokio::test]
async fn a_consumer_answering_503_for_a_while_then_back_gets_everything_in_order() {
    let consumer = Consumer::start().await;
    consumer.set_mode(Mode::Unavailable);
    let fx = Fixture::new(
        vec![http_sink("web", &consumer.url())],
        vec![route("all", &[0])],
    );
    let sink = fx.spawn(0);
    fx.wait_started(&sink).await;
    let mut want = fx.append(0..30, "STA-ovr-a");
    eventually("failing", || sink.status().state == SinkState::Failing).await;
    let s = sink.status();
    assert!(
        s.error.as_deref().unwrap_or_default().contains("503"),
        "{s:?}"
    );
    want.extend(fx.append(30..60, "STA-ovr-a"));
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(sink.status().backlog, 60);
    assert!(consumer.attempts() >= 3, "retried: {}", consumer.attempts());
    assert!(consumer.seqs().is_empty());
    consumer.set_mode(Mode::Ok);
    eventually("60 delivered", || consumer.seqs().len() == 60).await;
    assert_eq!(consumer.seqs(), want);
    eventually("running", || sink.status().state == SinkState::Running).await;
    assert_eq!(sink.status().error, None);
    sink.stop().await;
}

#[tokio::test]
async fn a_consumer_not_listening_then_back_gets_everything_in_order() {
    // A socket bound to a port of its own but not listening: connections
    // are refused until it listens, on the same port, never released.
    let (socket, url) = sinks_support::bound_not_listening();
    let fx = Fixture::new(vec![http_sink("web", &url)], vec![route("all", &[0])]);
    let sink = fx.spawn(0);
    fx.wait_started(&sink).await;
    let want = fx.append(0..25, "STA-ovr-a");
    eventually("failing", || sink.status().state == SinkState::Failing).await;
    let err = sink.status().error.unwrap_or_default();
    assert!(err.contains("cannot connect"), "{err}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let consumer = Consumer::serve(socket);
    eventually("25 delivered", || consumer.seqs().len() == 25).await;
    assert_eq!(consumer.seqs(), want);
    sink.stop().await;
}

#[tokio::test]
async fn a_message_the_consumer_refuses_for_good_is_counted_and_passed() {
    let consumer = Consumer::start().await;
    consumer.set_mode(Mode::RefuseSeq(3));
    let fx = Fixture::new(
        vec![http_sink("web", &consumer.url())],
        vec![route("all", &[0])],
    );
    let sink = fx.spawn(0);
    fx.wait_started(&sink).await;
    let seqs = fx.append(0..6, "STA-ovr-a");
    eventually("5 delivered", || consumer.seqs().len() == 5).await;
    let want: Vec<u64> = seqs.iter().copied().filter(|s| *s != 3).collect();
    assert_eq!(consumer.seqs(), want);
    eventually("5 counted", || sink.status().delivered == 5).await;
    assert_eq!(sink.summary().rejected, 1);
    assert_eq!(sink.status().delivered, 5);
    assert_eq!(consumer.attempts(), 6, "a refusal is not retried");
    sink.stop().await;
}

#[tokio::test]
async fn pausing_builds_a_backlog_and_resuming_drains_it() {
    let consumer = Consumer::start().await;
    let fx = Fixture::new(
        vec![http_sink("web", &consumer.url())],
        vec![route("all", &[0])],
    );
    let sink = fx.spawn(0);
    fx.wait_started(&sink).await;
    let mut want = fx.append(0..5, "STA-ovr-a");
    eventually("5 delivered", || consumer.seqs().len() == 5).await;
    fx.apply(&RelayCommand::Pause { sink: "web".into() });
    eventually("paused", || sink.status().state == SinkState::Paused).await;
    want.extend(fx.append(5..45, "STA-ovr-a"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let s = sink.status();
    assert_eq!(
        (s.state, s.backlog, consumer.seqs().len()),
        (SinkState::Paused, 40, 5)
    );
    fx.apply(&RelayCommand::Resume { sink: "web".into() });
    eventually("45 delivered", || consumer.seqs().len() == 45).await;
    assert_eq!(consumer.seqs(), want);
    assert_eq!(sink.status().backlog, 0);
    sink.stop().await;
}

#[tokio::test]
async fn replay_from_a_sequence_number_and_from_a_time() {
    let consumer = Consumer::start().await;
    let fx = Fixture::new(
        vec![http_sink("web", &consumer.url())],
        vec![route("all", &[0])],
    );
    let sink = fx.spawn(0);
    fx.wait_started(&sink).await;
    let first = fx.append(0..10, "STA-ovr-a");
    eventually("10", || consumer.seqs().len() == 10).await;
    fx.apply(&RelayCommand::Replay {
        sink: "web".into(),
        from: ReplayFrom::Seq(first[6]),
    });
    eventually("14", || consumer.seqs().len() == 14).await;
    assert_eq!(consumer.seqs()[10..], first[6..]);

    tokio::time::sleep(Duration::from_millis(20)).await;
    let mark = SystemTime::now();
    let second = fx.append(10..15, "STA-ovr-a");
    eventually("19", || consumer.seqs().len() == 19).await;
    fx.apply(&RelayCommand::Replay {
        sink: "web".into(),
        from: ReplayFrom::Time(mark),
    });
    eventually("24", || consumer.seqs().len() == 24).await;
    assert_eq!(consumer.seqs()[19..], second[..]);
    sink.stop().await;
}

#[tokio::test]
async fn a_replay_from_before_the_oldest_record_held_starts_at_the_oldest() {
    let consumer = Consumer::start().await;
    let fx = Fixture::in_memory(
        vec![http_sink("web", &consumer.url())],
        vec![route("all", &[0])],
    );
    let sink = fx.spawn(0);
    fx.wait_started(&sink).await;
    let first = fx.append(0..10, "STA-ovr-a");
    eventually("10", || consumer.seqs().len() == 10).await;
    fx.mem.as_ref().unwrap().trim_to(first[4]);
    fx.apply(&RelayCommand::Replay {
        sink: "web".into(),
        from: ReplayFrom::Seq(1),
    });
    eventually("16", || consumer.seqs().len() == 16).await;
    assert_eq!(consumer.seqs()[10..], first[4..]);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(consumer.seqs().len(), 16);
    sink.stop().await;
}

#[tokio::test]
async fn messages_go_only_to_their_routes_sinks_and_a_moved_route_moves_the_next_ones() {
    let a = Consumer::start().await;
    let b = Consumer::start().await;
    let mut ath = route("ath", &[0]);
    ath.discipline = Some("ATH".into());
    let mut swm = route("swm", &[1]);
    swm.discipline = Some("SWM".into());
    let fx = Fixture::new(
        vec![http_sink("a", &a.url()), http_sink("b", &b.url())],
        vec![ath, swm],
    );
    let mut all = fx.spawn_all().into_iter();
    let (sa, sb) = (all.next().unwrap(), all.next().unwrap());
    assert_eq!((sa.id(), sb.id()), ("a", "b"));
    fx.wait_started(&sa).await;
    fx.wait_started(&sb).await;
    let ath1 = fx.append_doc("ATHM100M", 1, "STA-ovr-a");
    let swm1 = fx.append_doc("SWMM100M", 1, "STA-ovr-a");
    let ath2 = fx.append_doc("ATHM200M", 1, "STA-ovr-a");
    eventually("a 2, b 1", || a.seqs().len() == 2 && b.seqs().len() == 1).await;
    assert_eq!(a.seqs(), vec![ath1, ath2]);
    assert_eq!(b.seqs(), vec![swm1]);

    fx.apply(&RelayCommand::Route {
        route: "ath".into(),
        sinks: vec!["b".into()],
    });
    let ath3 = fx.append_doc("ATHM400M", 1, "STA-ovr-a");
    let swm2 = fx.append_doc("SWMM200M", 1, "STA-ovr-a");
    eventually("b 3", || b.seqs().len() == 3).await;
    assert_eq!(b.seqs(), vec![swm1, ath3, swm2]);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(a.seqs(), vec![ath1, ath2]);
    // a passed everything (nothing routed to it), so its backlog is 0.
    eventually("a caught up", || sa.status().backlog == 0).await;
    sa.stop().await;
    sb.stop().await;
}

#[tokio::test]
async fn a_dead_sink_neither_slows_the_other_nor_holds_more_than_one_batch() {
    let live = Consumer::start().await;
    let (_dead_socket, dead_url) = sinks_support::bound_not_listening();
    let fx = Fixture::new(
        vec![http_sink("live", &live.url()), http_sink("dead", &dead_url)],
        vec![route("all", &[0, 1])],
    );
    let live_sink = fx.spawn(0);
    let dead_sink = fx.spawn(1);
    fx.wait_started(&live_sink).await;
    fx.wait_started(&dead_sink).await;
    let mut sent = 0u64;
    for round in 0..20u64 {
        fx.append(round * 50..(round + 1) * 50, "STA-ovr-a");
        sent += 50;
        eventually("live keeps up", || live.seqs().len() as u64 == sent).await;
    }
    // The live one delivered all of it while the dead one failed.
    assert_eq!(dead_sink.status().state, SinkState::Failing);
    assert_eq!(dead_sink.status().delivered, 0);
    assert_eq!(dead_sink.status().backlog, 1000);
    // The consumer has a message before the sink reads its answer and
    // counts it delivered.
    eventually("live counts all delivered", || {
        live_sink.status().delivered == 1000
    })
    .await;
    let live_status = live_sink.status();
    assert_eq!(live_status.delivered, 1000);
    let p99 = live_status.p99.expect("p99");
    assert!(p99 < Duration::from_millis(200), "live p99 {p99:?}");
    // The dead one read one batch and holds it: its reads did not grow
    // with its backlog.
    let (reads, bytes) = dead_sink.reads();
    let (live_reads, live_bytes) = live_sink.reads();
    assert_eq!(reads, 1, "dead sink reads");
    assert!(bytes <= 4 << 20, "dead sink bytes read {bytes}");
    assert!(
        live_bytes > bytes && live_reads >= 20,
        "live {live_reads} reads {live_bytes} B"
    );
    live_sink.stop().await;
    dead_sink.stop().await;
}

/// The next length-framed message.
async fn next(s: &mut tokio::net::TcpStream) -> Vec<u8> {
    let len = s.read_u32().await.unwrap();
    let mut b = vec![0; len as usize];
    s.read_exact(&mut b).await.unwrap();
    b
}

#[tokio::test]
async fn tcp_subscribers_each_get_every_message_length_framed() {
    let fx = Fixture::new(
        vec![sinks_support::sink(
            "tcp",
            SinkKind::Tcp {
                listen: "127.0.0.1:0".parse().unwrap(),
            },
        )],
        vec![route("all", &[0])],
    );
    let sink = fx.spawn(0);
    fx.wait_started(&sink).await;
    let addr = sink.tcp_addr().await.expect("tcp address");
    // No subscriber: the sink waits, its backlog grows.
    fx.append(0..3, "STA-ovr-a");
    eventually("no subscriber", || {
        sink.status().error.as_deref() == Some("no subscriber")
    })
    .await;
    assert_eq!(sink.status().backlog, 3);
    let mut one = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut two = tokio::net::TcpStream::connect(addr).await.unwrap();
    // The waiting sink takes the first subscriber at once; the second
    // may be taken a message or two later.
    let first = next(&mut one).await;
    assert_eq!(first, sinks_support::body(0));
    eventually("two subscribers", || sink.status().backlog == 0).await;
    fx.append(3..10, "STA-ovr-a");
    let mut got_one = vec![first];
    for _ in 1..10 {
        got_one.push(next(&mut one).await);
    }
    let want: Vec<Vec<u8>> = (0..10).map(sinks_support::body).collect();
    assert_eq!(got_one, want);
    // The second connected while the first was delivered; it gets every
    // message from when it was taken on, in order and whole.
    let mut got_two = Vec::new();
    while got_two.last() != Some(&sinks_support::body(9)) {
        got_two.push(next(&mut two).await);
    }
    assert!(got_two.len() >= 7, "{}", got_two.len());
    assert_eq!(got_two[..], want[10 - got_two.len()..]);
    // A subscriber gone: the other still gets messages.
    drop(two);
    fx.append(10..15, "STA-ovr-a");
    for i in 10..15 {
        assert_eq!(next(&mut one).await, sinks_support::body(i));
    }
    eventually("delivered 15", || sink.status().delivered == 15).await;
    sink.stop().await;
}

#[tokio::test]
async fn the_file_sink_writes_one_file_per_message_named_from_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let fx = Fixture::new(
        vec![sinks_support::sink(
            "archive",
            SinkKind::File {
                dir: dir.path().to_owned(),
            },
        )],
        vec![route("all", &[0])],
    );
    let sink = fx.spawn(0);
    fx.wait_started(&sink).await;
    let seqs = fx.append(0..4, "STA-ovr-a");
    eventually("4 files", || sink.status().delivered == 4).await;
    for (i, seq) in seqs.iter().enumerate() {
        let header = sinks_support::header(i as u64);
        let path = file_name(dir.path(), *seq, &header);
        assert!(
            path.starts_with(dir.path().join("OG2024")),
            "{}",
            path.display()
        );
        assert_eq!(std::fs::read(&path).unwrap(), sinks_support::body(i as u64));
    }
    let names: Vec<_> = std::fs::read_dir(dir.path().join("OG2024"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 4, "no temporary file left: {names:?}");
    assert!(names.iter().all(|n| {
        std::path::Path::new(n)
            .extension()
            .is_some_and(|e| e == "xml")
    }));
    sink.stop().await;
}

#[tokio::test]
async fn a_new_sink_starts_at_the_head_and_saves_that_at_once() {
    let consumer = Consumer::start().await;
    let fx = Fixture::new(
        vec![http_sink("web", &consumer.url())],
        vec![route("all", &[0])],
    );
    fx.append(0..5, "STA-ovr-a");
    let sink = fx.spawn(0);
    eventually("saved", || fx.log.cursor("web") == Some(6)).await;
    let after = fx.append(5..7, "STA-ovr-a");
    eventually("2", || consumer.seqs().len() == 2).await;
    assert_eq!(consumer.seqs(), after);
    sink.stop().await;
}

/// The relay opens its door right after it spawns the sinks: what is
/// journaled from then on is the new sink's, even before its task first
/// ran, and the start is on disk at once, so a crash before the first
/// periodic save cannot move a new sink past messages already
/// acknowledged (found by `tests/relay_crash.rs`: the first messages of a
/// fresh relay never reached its second sink).
#[tokio::test]
async fn a_new_sink_gets_what_is_journaled_after_its_spawn_before_its_task_ran() {
    let consumer = Consumer::start().await;
    let fx = Fixture::new(
        vec![http_sink("web", &consumer.url())],
        vec![route("all", &[0])],
    );
    fx.append(0..5, "STA-ovr-a");
    let sink = fx.spawn(0);
    // No await between the spawn and these: the task has not run yet.
    assert_eq!(fx.log.cursor("web"), Some(6), "the start saved at spawn");
    let after = fx.append(5..7, "STA-ovr-a");
    eventually("2", || consumer.seqs().len() == 2).await;
    assert_eq!(consumer.seqs(), after);
    sink.stop().await;
}

#[tokio::test(start_paused = true)]
async fn retries_back_off_from_50ms_to_5s_on_a_paused_clock() {
    let dir = tempfile::tempdir().unwrap();
    // The archive folder is a file: every write fails until it is gone.
    let blocked = dir.path().join("archive");
    std::fs::write(&blocked, b"not a folder").unwrap();
    let fx = Fixture::in_memory(
        vec![sinks_support::sink(
            "archive",
            SinkKind::File {
                dir: blocked.clone(),
            },
        )],
        vec![route("all", &[0])],
    );
    let sink = fx.spawn(0);
    fx.wait_started(&sink).await;
    let t0 = tokio::time::Instant::now();
    fx.append(0..3, "STA-ovr-a");
    eventually("failing", || sink.status().state == SinkState::Failing).await;
    tokio::time::sleep_until(t0 + Duration::from_secs(60)).await;
    // Steps 50 ms, 100 ms ... 3.2 s (6.35 s in all at most), then 5 s
    // each; every delay is half to all of its step.
    let retries = sink.summary().retries;
    assert!((15..=35).contains(&retries), "{retries} retries in 60 s");
    let err = sink.status().error.unwrap_or_default();
    assert!(err.contains("cannot write"), "{err}");
    std::fs::remove_file(&blocked).unwrap();
    let back = tokio::time::Instant::now();
    eventually("delivered", || sink.status().delivered == 3).await;
    assert!(
        back.elapsed() <= Duration::from_secs(5),
        "{:?}",
        back.elapsed()
    );
    assert_eq!(sink.status().state, SinkState::Running);
    sink.stop().await;
}
