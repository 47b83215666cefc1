use std::time::Duration;

use super::*;
use crate::config::venues::{RelaySink, RelaySource, SinkKind};
use crate::model::topology::{DeviceIdx, VenueIdx};
use crate::relay::odf::DocKey;

fn sink(id: &str) -> RelaySink {
    RelaySink {
        id: id.to_owned(),
        kind: SinkKind::File {
            dir: PathBuf::from("/nonexistent"),
        },
        consumer: "web".to_owned(),
        slo: Duration::from_millis(350),
    }
}

fn route(id: &str, sinks: &[usize]) -> RelayRoute {
    RelayRoute {
        id: id.to_owned(),
        sinks: sinks.to_vec(),
        discipline: None,
        document_type: None,
        feed: None,
        source: None,
    }
}

/// Two feeds (STA and AQU), each with a primary and a backup source; a
/// free source `manual`; sinks a, b, c; route `ath` (discipline ATH -> a),
/// `results` (`DT_RESULT` -> b), `aqu` (feed `AQU-results` -> c).
fn relay() -> (Relay, Vec<Feed>) {
    let feed = |id: &str| Feed {
        id: id.to_owned(),
        venue: VenueIdx(0),
        primary: DeviceIdx(0),
        backup: DeviceIdx(1),
        consumers: vec![],
        stale_after: Duration::from_secs(10),
    };
    let source = |id: &str, feed: Option<usize>| RelaySource {
        id: id.to_owned(),
        token_env: "T".to_owned(),
        device: None,
        feed,
    };
    let relay = Relay {
        listen: "127.0.0.1:0".parse().expect("addr"),
        max_message: 1 << 20,
        fsync: true,
        segment_size: 1 << 20,
        sources: vec![
            source("STA-ovr-a", Some(0)),
            source("STA-ovr-b", Some(0)),
            source("AQU-ovr-a", Some(1)),
            source("AQU-ovr-b", Some(1)),
            source("manual", None),
        ],
        sinks: vec![sink("a"), sink("b"), sink("c")],
        routes: vec![
            RelayRoute {
                discipline: Some("ATH".to_owned()),
                ..route("ath", &[0])
            },
            RelayRoute {
                document_type: Some("DT_RESULT".to_owned()),
                ..route("results", &[1])
            },
            RelayRoute {
                feed: Some("AQU-results".to_owned()),
                ..route("aqu", &[2])
            },
        ],
    };
    (relay, vec![feed("STA-results"), feed("AQU-results")])
}

fn header(code: &str, ty: &str) -> Header {
    Header {
        key: DocKey {
            document_code: code.to_owned(),
            document_type: ty.to_owned(),
            ..DocKey::default()
        },
        version: 1,
        ..Header::default()
    }
}

fn ids(set: &SinkSet) -> Vec<usize> {
    set.iter().collect()
}

#[test]
fn a_message_goes_to_the_union_of_the_routes_it_matches() {
    let (relay, feeds) = relay();
    let c = Control::from_config(&relay, &feeds);
    let ath_result = header("ATHM100M----", "DT_RESULT");
    assert_eq!(ids(&c.targets(None, &ath_result, "STA-ovr-a")), vec![0, 1]);
    let swm_result = header("SWMM100M----", "DT_RESULT");
    assert_eq!(ids(&c.targets(None, &swm_result, "AQU-ovr-b")), vec![1, 2]);
    let swm_pbp = header("SWMM100M----", "DT_PLAY_BY_PLAY");
    assert_eq!(
        ids(&c.targets(None, &swm_pbp, "STA-ovr-a")),
        Vec::<usize>::new()
    );
    assert_eq!(
        ids(&c.targets(None, &swm_pbp, "manual")),
        Vec::<usize>::new()
    );
    // The feed given by the caller wins over the configured one.
    assert_eq!(
        ids(&c.targets(Some("AQU-results"), &swm_pbp, "manual")),
        vec![2]
    );
    for sink in 0..3 {
        assert_eq!(
            c.routes_to(sink, &ath_result, "STA-ovr-a"),
            c.targets(None, &ath_result, "STA-ovr-a").contains(sink)
        );
    }
}

#[test]
fn a_sink_set_holds_indices_past_64() {
    let mut s = SinkSet::default();
    assert!(s.is_empty());
    for i in [0, 63, 64, 130] {
        s.insert(i);
    }
    assert_eq!(ids(&s), vec![0, 63, 64, 130]);
    assert!(!s.contains(65));
}

#[test]
fn moving_a_route_changes_where_messages_go() {
    let (relay, feeds) = relay();
    let c = Control::from_config(&relay, &feeds);
    let cmd = RelayCommand::Route {
        route: "ath".to_owned(),
        sinks: vec!["c".to_owned(), "c".to_owned()],
    };
    let (next, done) = c.applied(&cmd).expect("applied");
    assert_eq!(done, "route ath to c, c");
    let h = header("ATHM100M----", "DT_START_LIST");
    assert_eq!(ids(&c.targets(None, &h, "STA-ovr-a")), vec![0]);
    assert_eq!(ids(&next.targets(None, &h, "STA-ovr-a")), vec![2]);
    assert_eq!(next.route_status()[0].sinks, vec!["c".to_owned()]);
    assert_eq!(next.route_status()[0].matches, "discipline=ATH");
}

#[test]
fn an_active_source_makes_the_other_standby() {
    let (relay, feeds) = relay();
    let c = Control::from_config(&relay, &feeds);
    assert!(!c.standby("STA-ovr-b", None));
    let cmd = RelayCommand::Source {
        feed: "STA-results".to_owned(),
        source: Some("STA-ovr-a".to_owned()),
    };
    let (next, _) = c.applied(&cmd).expect("applied");
    assert!(next.standby("STA-ovr-b", None));
    assert!(next.standby("STA-ovr-b", Some("STA-results")));
    assert!(!next.standby("STA-ovr-a", None));
    assert!(!next.standby("AQU-ovr-b", None));
    assert!(!next.standby("manual", None));
    assert_eq!(
        next.active(),
        vec![
            ("STA-results".to_owned(), Some("STA-ovr-a".to_owned())),
            ("AQU-results".to_owned(), None)
        ]
    );
    let both = RelayCommand::Source {
        feed: "STA-results".to_owned(),
        source: None,
    };
    let (again, _) = next.applied(&both).expect("applied");
    assert!(!again.standby("STA-ovr-b", None));
}

#[test]
fn commands_that_do_not_fit_are_refused() {
    let (relay, feeds) = relay();
    let c = Control::from_config(&relay, &feeds);
    let s = |x: &str| x.to_owned();
    let refused = [
        (
            RelayCommand::Source {
                feed: s("XXX"),
                source: None,
            },
            "no feed XXX with relay sources",
        ),
        (
            RelayCommand::Source {
                feed: s("STA-results"),
                source: Some(s("nope")),
            },
            "no source nope",
        ),
        (
            RelayCommand::Source {
                feed: s("STA-results"),
                source: Some(s("AQU-ovr-a")),
            },
            "source AQU-ovr-a is not a source of feed STA-results",
        ),
        (
            RelayCommand::Route {
                route: s("zzz"),
                sinks: vec![s("a")],
            },
            "no route zzz",
        ),
        (
            RelayCommand::Route {
                route: s("ath"),
                sinks: vec![s("q")],
            },
            "no sink q",
        ),
        (
            RelayCommand::Route {
                route: s("ath"),
                sinks: vec![],
            },
            "route ath needs at least one sink",
        ),
        (RelayCommand::Pause { sink: s("q") }, "no sink q"),
        (
            RelayCommand::Resume { sink: s("a") },
            "sink a is not paused",
        ),
        (
            RelayCommand::Replay {
                sink: s("a"),
                from: ReplayFrom::Seq(0),
            },
            "journal sequence numbers start at 1",
        ),
    ];
    for (cmd, why) in refused {
        assert_eq!(
            c.applied(&cmd).map(|(_, d)| d),
            Err(why.to_owned()),
            "{cmd}"
        );
    }
    let (paused, _) = c
        .applied(&RelayCommand::Pause { sink: s("a") })
        .expect("pause");
    assert!(paused.paused(0));
    assert_eq!(
        paused
            .applied(&RelayCommand::Pause { sink: s("a") })
            .map(|(_, d)| d),
        Err("sink a is already paused".to_owned())
    );
    let (resumed, _) = paused
        .applied(&RelayCommand::Resume { sink: s("a") })
        .expect("resume");
    assert!(!resumed.paused(0));
}

#[test]
fn each_replay_request_raises_the_generation() {
    let (relay, feeds) = relay();
    let c = Control::from_config(&relay, &feeds);
    assert_eq!(c.replay(1), Replay::default());
    let cmd = RelayCommand::Replay {
        sink: "b".to_owned(),
        from: ReplayFrom::Seq(5),
    };
    let (one, _) = c.applied(&cmd).expect("replay");
    let (two, _) = one.applied(&cmd).expect("replay");
    assert_eq!(one.replay(1).generation, 1);
    assert_eq!(
        two.replay(1),
        Replay {
            generation: 2,
            from: Some(ReplayFrom::Seq(5))
        }
    );
    assert_eq!(two.replay(0), Replay::default());
}

#[test]
fn the_handle_saves_and_a_restart_keeps_moves_pauses_and_active_sources() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (relay, feeds) = relay();
    let (h, warnings) = ControlHandle::open(&relay, &feeds, Some(dir.path()));
    assert!(warnings.is_empty());
    let mut rx = h.subscribe();
    let s = |x: &str| x.to_owned();
    h.apply(&RelayCommand::Route {
        route: s("ath"),
        sinks: vec![s("b"), s("c")],
    })
    .expect("route");
    assert!(rx.has_changed().expect("open"));
    assert_eq!(
        rx.borrow_and_update().route_status()[0].sinks,
        vec![s("b"), s("c")]
    );
    h.apply(&RelayCommand::Pause { sink: s("c") })
        .expect("pause");
    h.apply(&RelayCommand::Source {
        feed: s("AQU-results"),
        source: Some(s("AQU-ovr-b")),
    })
    .expect("source");
    assert_eq!(
        h.apply(&RelayCommand::Resume { sink: s("a") }),
        Err(s("sink a is not paused"))
    );
    drop(h);

    let (again, warnings) = ControlHandle::open(&relay, &feeds, Some(dir.path()));
    assert!(warnings.is_empty(), "{warnings:?}");
    let c = again.current();
    assert_eq!(c.route_status()[0].sinks, vec![s("b"), s("c")]);
    assert_eq!(c.route_status()[1].sinks, vec![s("b")]);
    assert!(c.paused(2) && !c.paused(0));
    assert!(c.standby("AQU-ovr-a", None));
    assert_eq!(c.replay(0), Replay::default());
}

#[test]
fn a_saved_file_naming_what_is_gone_is_ignored_for_those_with_warnings() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("relay")).expect("mkdir");
    std::fs::write(
        dir.path().join("relay").join(FILE),
        r#"{"version":1,
            "routes":{"ath":["c"],"old":["a"],"results":["gone"]},
            "active":{"STA-results":"STA-ovr-b","OLD-results":"x","AQU-results":"STA-ovr-a"},
            "paused":["b","ghost"]}"#,
    )
    .expect("write");
    let (relay, feeds) = relay();
    let (h, warnings) = ControlHandle::open(&relay, &feeds, Some(dir.path()));
    let c = h.current();
    assert_eq!(c.route_status()[0].sinks, vec!["c".to_owned()]);
    assert_eq!(c.route_status()[1].sinks, vec!["b".to_owned()]);
    assert!(c.standby("STA-ovr-a", None));
    assert!(!c.standby("AQU-ovr-a", None) && !c.standby("AQU-ovr-b", None));
    assert!(c.paused(1));
    assert_eq!(warnings.len(), 5, "{warnings:?}");
    assert!(warnings.iter().any(|w| w.contains("route old")));
    assert!(warnings.iter().any(|w| w.contains("sink ghost")));

    std::fs::write(dir.path().join("relay").join(FILE), "{not json").expect("write");
    let (h, warnings) = ControlHandle::open(&relay, &feeds, Some(dir.path()));
    assert_eq!(warnings.len(), 1);
    assert!(!h.current().paused(1));
}
