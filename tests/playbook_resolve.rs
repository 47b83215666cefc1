//! A playbook's steps resolved against incidents, on the layouts of
//! examples/venues-small.toml and the shipped venues.toml: every field
//! for a device, group, feed and sink incident, the errors for a field
//! an incident has none of and for names not in the layout, matching and
//! its order, and the dry-run lines.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use rstest::rstest;
use toc::config::Inventory;
use toc::config::playbook::{
    Action, Arg, Field, OnFailure, Playbook, Ref, RelayAction, ReplayStart, SourcePick, Step,
    Target, Trigger, TriggerKind,
};
use toc::engine::snapshot::Layout;
use toc::model::relay::{RelayCommand, ReplayFrom};
use toc::model::{ProblemKind, Status};
use toc::playbook::resolve::{
    self, NEEDS_APPROVAL, dry_run_lines, field, matches, matching, resolve_step,
};
use toc::playbook::{Context, RelayWork, Resolved, Work};

fn load(file: &str) -> Layout {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let (inv, _) = Inventory::load(&path).expect("a valid inventory");
    Layout::from_inventory(&inv)
}

/// The shipped venues.toml (35 venues, the relay).
fn games() -> &'static Layout {
    static L: OnceLock<Layout> = OnceLock::new();
    L.get_or_init(|| load("venues.toml"))
}

/// examples/venues-small.toml (2 venues, no relay).
fn small() -> &'static Layout {
    static L: OnceLock<Layout> = OnceLock::new();
    L.get_or_init(|| load("examples/venues-small.toml"))
}

fn ctx(key: &str, kind: Option<ProblemKind>, layout: &Layout) -> Context {
    Context::from_key(key, kind, layout).expect("a valid key")
}

fn step(id: &str, action: Action) -> Step {
    Step {
        id: id.to_owned(),
        title: format!("Step {id}"),
        instructions: "Say what you see.".to_owned(),
        dangerous: matches!(action, Action::Relay(_) | Action::Shell { .. }),
        timeout: None,
        on_failure: OnFailure::Stop,
        action,
    }
}

fn book(id: &str, kind: TriggerKind, role: Option<&str>, steps: Vec<Step>) -> Playbook {
    Playbook {
        id: id.to_owned(),
        title: format!("Playbook {id}"),
        summary: String::new(),
        trigger: Trigger {
            kind,
            role: role.map(str::to_owned),
            venue: None,
            feed: None,
        },
        steps,
        file: PathBuf::from(format!("playbooks/{id}.toml")),
    }
}

fn field_of(
    f: Field,
    key: &str,
    kind: Option<ProblemKind>,
    layout: &Layout,
) -> Result<String, String> {
    field(f, &ctx(key, kind, layout), layout)
}

// --- fields -------------------------------------------------------------

#[rstest]
// A results server down: its group, its feed and the feed's sources.
#[case("device:STA-ovr-a", Field::Subject, Ok("STA-ovr-a"))]
#[case("device:STA-ovr-a", Field::Device, Ok("STA-ovr-a"))]
#[case("device:STA-ovr-a", Field::Group, Ok("STA-ovr"))]
#[case("device:STA-ovr-a", Field::Venue, Ok("STA"))]
#[case("device:STA-ovr-a", Field::Feed, Ok("STA-results"))]
#[case("device:STA-ovr-b", Field::Feed, Ok("STA-results"))]
#[case("device:STA-ovr-b", Field::Primary, Ok("STA-ovr-a"))]
#[case("device:STA-ovr-a", Field::Backup, Ok("STA-ovr-b"))]
#[case("device:STA-ovr-a", Field::Key, Ok("device:STA-ovr-a"))]
#[case("device:STA-ovr-a", Field::Kind, Ok("device_down"))]
#[case(
    "device:STA-ovr-a",
    Field::Sink,
    Err("the incident STA-ovr-a (device_down) has no sink")
)]
// A core switch: a group, no feed.
#[case("device:STA-core-a", Field::Group, Ok("STA-core"))]
#[case(
    "device:STA-core-a",
    Field::Feed,
    Err("the incident STA-core-a (device_down) has no feed")
)]
#[case(
    "device:STA-core-a",
    Field::Backup,
    Err("the incident STA-core-a (device_down) has no feed")
)]
// A group: the feed its members serve.
#[case("group:STA-ovr", Field::Subject, Ok("STA-ovr"))]
#[case("group:STA-ovr", Field::Group, Ok("STA-ovr"))]
#[case("group:PDP-ovr", Field::Venue, Ok("PDP"))]
#[case("group:STA-ovr", Field::Feed, Ok("STA-results"))]
#[case("group:STA-ovr", Field::Backup, Ok("STA-ovr-b"))]
#[case("group:STA-ovr", Field::Kind, Ok("redundancy_lost"))]
#[case(
    "group:STA-ovr",
    Field::Device,
    Err("the incident STA-ovr (redundancy_lost) has no device")
)]
#[case(
    "group:STA-core",
    Field::Feed,
    Err("the incident STA-core (redundancy_lost) has no feed")
)]
// A feed: its primary is the device.
#[case("feed:STA-results", Field::Subject, Ok("STA-results"))]
#[case("feed:STA-results", Field::Feed, Ok("STA-results"))]
#[case("feed:STA-results", Field::Device, Ok("STA-ovr-a"))]
#[case("feed:STA-results", Field::Primary, Ok("STA-ovr-a"))]
#[case("feed:STA-results", Field::Backup, Ok("STA-ovr-b"))]
#[case("feed:STA-results", Field::Venue, Ok("STA"))]
#[case("feed:STA-results", Field::Key, Ok("feed:STA-results"))]
#[case(
    "feed:STA-results",
    Field::Group,
    Err("the incident STA-results (feed_stale) has no group")
)]
#[case(
    "feed:STA-results",
    Field::Sink,
    Err("the incident STA-results (feed_stale) has no sink")
)]
// A sink: no venue, no device, no feed.
#[case("slo:commentators", Field::Subject, Ok("commentators"))]
#[case("slo:commentators", Field::Sink, Ok("commentators"))]
#[case("slo:commentators", Field::Kind, Ok("latency_slo"))]
#[case(
    "slo:commentators",
    Field::Venue,
    Err("the incident commentators (latency_slo) has no venue")
)]
#[case(
    "slo:commentators",
    Field::Device,
    Err("the incident commentators (latency_slo) has no device")
)]
#[case(
    "slo:media",
    Field::Feed,
    Err("the incident media (latency_slo) has no feed")
)]
fn every_field_of_every_subject(
    #[case] key: &str,
    #[case] f: Field,
    #[case] want: Result<&str, &str>,
) {
    let got = field_of(f, key, None, games());
    assert_eq!(got.as_deref().map_err(String::as_str), want, "{f} of {key}");
}

#[test]
fn the_incident_id_is_the_runs_and_a_placeholder_in_a_dry_run() {
    let layout = games();
    let mut c = ctx("device:STA-ovr-a", None, layout);
    assert_eq!(field(Field::Incident, &c, layout).unwrap(), "{incident}");
    c.incident = "4-17".to_owned();
    assert_eq!(field(Field::Incident, &c, layout).unwrap(), "4-17");
}

#[test]
fn the_small_inventory_has_devices_without_a_group() {
    let layout = small();
    assert_eq!(
        field_of(Field::Group, "device:STA-core", None, layout),
        Err("the incident STA-core (device_down) has no group".to_owned())
    );
    assert_eq!(
        field_of(Field::Feed, "device:MRN-ovr-b", None, layout).as_deref(),
        Ok("MRN-results")
    );
    assert_eq!(
        field_of(
            Field::Venue,
            "group:MRN-ovr",
            Some(ProblemKind::GroupDown),
            layout
        )
        .as_deref(),
        Ok("MRN")
    );
}

// --- keys ---------------------------------------------------------------

#[rstest]
#[case(
    "device:STA-core-a",
    None,
    "device:STA-core-a",
    ProblemKind::DeviceDown
)]
#[case(
    "device:STA-core-a",
    Some(ProblemKind::DeviceDegraded),
    "device:STA-core-a",
    ProblemKind::DeviceDegraded
)]
#[case(
    "device_unknown:STA-core-a",
    None,
    "device:STA-core-a",
    ProblemKind::DeviceUnknown
)]
#[case("group:STA-core", None, "group:STA-core", ProblemKind::RedundancyLost)]
#[case("group_down:STA-core", None, "group:STA-core", ProblemKind::GroupDown)]
#[case("feed:STA-results", None, "feed:STA-results", ProblemKind::FeedStale)]
#[case(
    "feed:STA-results",
    Some(ProblemKind::FeedDegraded),
    "feed:STA-results",
    ProblemKind::FeedDegraded
)]
#[case("slo:commentators", None, "slo:commentators", ProblemKind::LatencySlo)]
fn a_key_becomes_a_context(
    #[case] key: &str,
    #[case] kind: Option<ProblemKind>,
    #[case] want_key: &str,
    #[case] want_kind: ProblemKind,
) {
    let c = ctx(key, kind, games());
    assert_eq!((c.key.as_str(), c.kind), (want_key, want_kind));
    assert!(c.incident.is_empty());
}

#[test]
fn a_key_has_the_venue_of_its_subject_and_a_sink_none() {
    let layout = games();
    let sta = layout.venue("STA");
    assert!(sta.is_some());
    assert_eq!(ctx("device:STA-core-a", None, layout).venue, sta);
    assert_eq!(ctx("group:STA-core", None, layout).venue, sta);
    assert_eq!(ctx("feed:STA-results", None, layout).venue, sta);
    assert_eq!(ctx("slo:commentators", None, layout).venue, None);
}

#[rstest]
#[case("STA-core-a", None, "`STA-core-a` is not an incident key")]
#[case("dev:STA-core-a", None, "it begins with `dev`")]
#[case("device:NOPE", None, "no device `NOPE` in the venues file")]
#[case(
    "group:STA-core-a",
    None,
    "no redundancy group `STA-core-a` in the venues file"
)]
#[case("feed:STA-core", None, "no result feed `STA-core` in the venues file")]
#[case(
    "slo:STA-results",
    None,
    "no relay sink `STA-results` in the venues file"
)]
#[case(
    "device:STA-core-a",
    Some(ProblemKind::FeedStale),
    "a feed_stale incident is not about a device"
)]
#[case(
    "group_down:STA-core",
    Some(ProblemKind::RedundancyLost),
    "the key says group_down but the kind given is redundancy_lost"
)]
fn a_bad_key_says_why(#[case] key: &str, #[case] kind: Option<ProblemKind>, #[case] want: &str) {
    let err = Context::from_key(key, kind, games()).expect_err("a bad key");
    assert!(err.contains(want), "{err:?} should say {want:?}");
}

#[test]
fn a_sink_key_needs_a_relay() {
    let err = Context::from_key("slo:commentators", None, small()).expect_err("no relay");
    assert!(err.contains("no relay sink `commentators`"), "{err}");
}

// --- steps --------------------------------------------------------------

fn work(action: Action, key: &str) -> Result<Work, String> {
    let layout = games();
    resolve_step(&step("s", action), &ctx(key, None, layout), layout)
}

fn check(target: Target) -> Action {
    Action::Check {
        target,
        expect: vec![Status::Ok],
    }
}

#[rstest]
#[case(Target::Subject, "device:STA-core-a", Resolved::Device("STA-core-a".into()))]
#[case(Target::Subject, "group:STA-core", Resolved::Group("STA-core".into()))]
#[case(Target::Subject, "feed:STA-results", Resolved::Feed("STA-results".into()))]
#[case(Target::Subject, "slo:media", Resolved::Sink("media".into()))]
#[case(
    Target::Device(Ref::Field(Field::Backup)),
    "feed:STA-results",
    Resolved::Device("STA-ovr-b".into())
)]
#[case(
    Target::Group(Ref::Field(Field::Group)),
    "device:STA-core-b",
    Resolved::Group("STA-core".into())
)]
#[case(
    Target::Venue(Ref::Field(Field::Venue)),
    "group:PDP-core",
    Resolved::Venue("PDP".into())
)]
#[case(
    Target::Device(Ref::Id("PDP-core-a".into())),
    "device:STA-core-a",
    Resolved::Device("PDP-core-a".into())
)]
#[case(
    Target::Feed(Ref::Field(Field::Feed)),
    "device:STA-ovr-b",
    Resolved::Feed("STA-results".into())
)]
#[case(
    Target::Sink(Ref::Id("archive".into())),
    "device:STA-ovr-b",
    Resolved::Sink("archive".into())
)]
fn a_check_target_resolves(#[case] target: Target, #[case] key: &str, #[case] want: Resolved) {
    assert_eq!(
        work(check(target), key),
        Ok(Work::Check {
            target: want,
            expect: vec![Status::Ok]
        })
    );
}

#[rstest]
#[case(Target::Device(Ref::Id("STA-core-z".into())), "no device `STA-core-z` in the venues file")]
#[case(Target::Group(Ref::Id("STA-nope".into())), "no redundancy group `STA-nope` in the venues file")]
#[case(Target::Venue(Ref::Id("XYZ".into())), "no venue `XYZ` in the venues file")]
#[case(Target::Feed(Ref::Id("XYZ-results".into())), "no result feed `XYZ-results` in the venues file")]
#[case(Target::Sink(Ref::Id("radio".into())), "no relay sink `radio` in the venues file")]
#[case(
    Target::Device(Ref::Field(Field::Backup)),
    "the incident STA-core-a (device_down) has no feed"
)]
#[case(
    Target::Sink(Ref::Field(Field::Sink)),
    "the incident STA-core-a (device_down) has no sink"
)]
fn a_target_not_in_the_layout_or_not_of_the_incident_is_an_error(
    #[case] target: Target,
    #[case] want: &str,
) {
    let wait = Action::Wait {
        target,
        until: vec![Status::Ok],
    };
    assert_eq!(work(wait, "device:STA-core-a"), Err(want.to_owned()));
}

fn relay_work(command: RelayCommand) -> Result<Work, String> {
    Ok(Work::Relay(RelayWork { command, ago: None }))
}

fn source(feed: &str, pick: SourcePick) -> Action {
    Action::Relay(RelayAction::Source {
        feed: if feed.starts_with('{') {
            Ref::Field(Field::parse(feed).unwrap())
        } else {
            Ref::Id(feed.to_owned())
        },
        source: pick,
    })
}

#[rstest]
#[case(SourcePick::Backup, Some("STA-ovr-b"))]
#[case(SourcePick::Primary, Some("STA-ovr-a"))]
#[case(SourcePick::Both, None)]
#[case(SourcePick::Named(Ref::Id("STA-ovr-b".into())), Some("STA-ovr-b"))]
#[case(SourcePick::Named(Ref::Field(Field::Primary)), Some("STA-ovr-a"))]
fn a_source_step_names_the_results_server(#[case] pick: SourcePick, #[case] want: Option<&str>) {
    for key in ["feed:STA-results", "device:STA-ovr-a", "group:STA-ovr"] {
        assert_eq!(
            work(source("{feed}", pick.clone()), key),
            relay_work(RelayCommand::Source {
                feed: "STA-results".into(),
                source: want.map(str::to_owned),
            }),
            "{key}"
        );
    }
}

#[test]
fn a_source_that_is_not_the_feeds_is_refused() {
    assert_eq!(
        work(
            source("STA-results", SourcePick::Named(Ref::Id("nobody".into()))),
            "feed:STA-results"
        ),
        Err(
            "`nobody` is not a source of feed STA-results (its sources: STA-ovr-a, STA-ovr-b)"
                .into()
        )
    );
    assert_eq!(
        work(
            source("XYZ-results", SourcePick::Backup),
            "feed:STA-results"
        ),
        Err("no result feed `XYZ-results` in the venues file".into())
    );
    assert_eq!(
        work(source("{feed}", SourcePick::Backup), "slo:commentators"),
        Err("the incident commentators (latency_slo) has no feed".into())
    );
}

#[test]
fn pause_resume_route_and_replay_name_known_sinks_and_routes() {
    let sink = |s: &str| Ref::Id(s.to_owned());
    assert_eq!(
        work(
            Action::Relay(RelayAction::Pause {
                sink: Ref::Field(Field::Sink)
            }),
            "slo:media"
        ),
        relay_work(RelayCommand::Pause {
            sink: "media".into()
        })
    );
    assert_eq!(
        work(
            Action::Relay(RelayAction::Resume {
                sink: sink("web_mobile")
            }),
            "slo:media"
        ),
        relay_work(RelayCommand::Resume {
            sink: "web_mobile".into()
        })
    );
    assert_eq!(
        work(
            Action::Relay(RelayAction::Pause {
                sink: sink("radio")
            }),
            "slo:media"
        ),
        Err("no relay sink `radio` in the venues file".into())
    );
    let route = |route: &str, sinks: &[&str]| {
        Action::Relay(RelayAction::Route {
            route: route.to_owned(),
            sinks: sinks.iter().map(|s| (*s).to_owned()).collect(),
        })
    };
    assert_eq!(
        work(route("results", &["archive", "media"]), "slo:commentators"),
        relay_work(RelayCommand::Route {
            route: "results".into(),
            sinks: vec!["archive".into(), "media".into()]
        })
    );
    assert_eq!(
        work(route("nowhere", &["archive"]), "slo:commentators"),
        Err("no relay route `nowhere` in the venues file".into())
    );
    assert_eq!(
        work(route("results", &["archive", "radio"]), "slo:commentators"),
        Err("no relay sink `radio` in the venues file".into())
    );
    let replay = |from| {
        Action::Relay(RelayAction::Replay {
            sink: Ref::Field(Field::Sink),
            from,
        })
    };
    assert_eq!(
        work(replay(ReplayStart::Seq(42)), "slo:commentators"),
        relay_work(RelayCommand::Replay {
            sink: "commentators".into(),
            from: ReplayFrom::Seq(42)
        })
    );
    let ago = Duration::from_secs(600);
    let got = work(replay(ReplayStart::Ago(ago)), "slo:commentators");
    assert_eq!(
        got,
        Ok(Work::Relay(RelayWork {
            command: RelayCommand::Replay {
                sink: "commentators".into(),
                from: ReplayFrom::Seq(0)
            },
            ago: Some(ago)
        }))
    );
    assert_eq!(
        got.unwrap().to_string(),
        "relay: replay sink commentators from 10m before the step starts"
    );
}

#[test]
fn relay_steps_need_a_relay_in_the_venues_file() {
    let layout = small();
    let c = ctx("device:STA-ovr-a", None, layout);
    let pause = step(
        "p",
        Action::Relay(RelayAction::Pause {
            sink: Ref::Id("commentators".into()),
        }),
    );
    assert_eq!(
        resolve_step(&pause, &c, layout),
        Err("sink `commentators`: the venues file has no [relay] (no sinks)".into())
    );
    // A feed's source is known from the feeds alone.
    assert_eq!(
        resolve_step(&step("s", source("{feed}", SourcePick::Backup)), &c, layout)
            .map(|w| w.to_string()),
        Ok("relay: feed STA-results: take STA-ovr-b only".into())
    );
}

#[test]
fn maintenance_notify_note_and_person_steps() {
    let maint = |target| Action::Maintenance {
        target,
        duration: Duration::from_secs(3600),
        reason: "swap the PSU of {device}".into(),
    };
    assert_eq!(
        work(maint(Target::Subject), "device:STA-core-a"),
        Ok(Work::Maintenance {
            target: Resolved::Device("STA-core-a".into()),
            duration: Duration::from_secs(3600),
            reason: "swap the PSU of {device}".into(),
        })
    );
    assert_eq!(
        work(maint(Target::Subject), "feed:STA-results"),
        Err("maintenance is for a device, a group or a venue, not feed STA-results".into())
    );
    assert_eq!(
        work(
            Action::Notify {
                contact: "NOC".into()
            },
            "device:STA-core-a"
        ),
        Ok(Work::Notify {
            contact: "NOC".into(),
            text: "Say what you see.".into()
        })
    );
    assert_eq!(
        work(
            Action::Note {
                text: "{device} of {venue} ({kind}); {group}, {unknown} and {".into()
            },
            "device:STA-core-a"
        ),
        Ok(Work::Note {
            text: "STA-core-a of STA (device_down); STA-core, {unknown} and {".into()
        })
    );
    assert_eq!(
        work(
            Action::Note {
                text: "feed {feed}".into()
            },
            "device:STA-core-a"
        ),
        Err("the incident STA-core-a (device_down) has no feed".into())
    );
    assert_eq!(work(Action::Manual, "device:STA-core-a"), Ok(Work::Manual));
    assert_eq!(work(Action::Approve, "slo:media"), Ok(Work::Approve));
}

#[test]
fn a_shell_step_gets_each_field_as_one_whole_argument() {
    let shell = Action::Shell {
        argv: vec![
            Arg::Text("/usr/local/bin/collect".into()),
            Arg::Text("--venue={venue}".into()),
            Arg::Field(Field::Venue),
            Arg::Field(Field::Key),
            Arg::Text("a b; rm -rf /".into()),
            Arg::Field(Field::Incident),
        ],
    };
    assert_eq!(
        work(shell.clone(), "device:STA-core-a"),
        Ok(Work::Shell {
            argv: vec![
                "/usr/local/bin/collect".into(),
                "--venue={venue}".into(),
                "STA".into(),
                "device:STA-core-a".into(),
                "a b; rm -rf /".into(),
                "{incident}".into(),
            ]
        })
    );
    let bad = Action::Shell {
        argv: vec![Arg::Text("ping".into()), Arg::Field(Field::Device)],
    };
    assert_eq!(
        work(bad, "slo:media"),
        Err("the incident media (latency_slo) has no device".into())
    );
}

#[test]
fn resolve_names_the_first_step_that_cannot_run() {
    let layout = games();
    let b = book(
        "feed-switch",
        TriggerKind::Problem(ProblemKind::DeviceDown),
        None,
        vec![
            step("look", check(Target::Subject)),
            step("switch", source("{feed}", SourcePick::Backup)),
            step(
                "pause",
                Action::Relay(RelayAction::Pause {
                    sink: Ref::Field(Field::Sink),
                }),
            ),
        ],
    );
    let c = ctx("device:STA-core-a", None, layout);
    assert_eq!(
        resolve::resolve(&b, &c, layout),
        Err("step switch: the incident STA-core-a (device_down) has no feed".into())
    );
    let c = ctx("device:STA-ovr-a", None, layout);
    assert_eq!(
        resolve::resolve(&b, &c, layout),
        Err("step pause: the incident STA-ovr-a (device_down) has no sink".into())
    );
}

// --- dry-run lines ------------------------------------------------------

#[test]
fn dry_run_lines_number_each_step_and_mark_the_dangerous_ones() {
    let layout = games();
    let mut approve = step("ok", Action::Approve);
    approve.title = "Duty manager agrees".into();
    let b = book(
        "feed-switch",
        TriggerKind::Problem(ProblemKind::FeedStale),
        None,
        vec![
            step("look", check(Target::Device(Ref::Field(Field::Primary)))),
            approve,
            step("switch", source("{feed}", SourcePick::Backup)),
            step(
                "page",
                Action::Shell {
                    argv: vec![Arg::Text("page".into()), Arg::Field(Field::Backup)],
                },
            ),
        ],
    );
    let c = ctx("feed:STA-results", None, layout);
    let works = resolve::resolve_each(&b, &c, layout);
    assert_eq!(
        dry_run_lines(&b, Some(&works)),
        [
            "1. look: probe device STA-ovr-a now, expect OK".to_owned(),
            "2. ok: a duty manager answers :approve or :reject: Duty manager agrees".to_owned(),
            format!("3. switch: relay: feed STA-results: take STA-ovr-b only {NEEDS_APPROVAL}"),
            format!("4. page: run [\"page\", \"STA-ovr-b\"] {NEEDS_APPROVAL}"),
        ]
    );
    assert_eq!(
        dry_run_lines(&b, None),
        [
            "1. look: probe device {primary} now, expect OK".to_owned(),
            "2. ok: a duty manager answers :approve or :reject: Duty manager agrees".to_owned(),
            format!(
                "3. switch: relay: feed {{feed}}: take its backup source only {NEEDS_APPROVAL}"
            ),
            format!("4. page: run [\"page\", \"{{backup}}\"] {NEEDS_APPROVAL}"),
        ]
    );
    let c = ctx("slo:media", None, layout);
    let works = resolve::resolve_each(&b, &c, layout);
    let lines = dry_run_lines(&b, Some(&works));
    assert_eq!(
        lines[0],
        "1. look: cannot be resolved: the incident media (latency_slo) has no feed"
    );
}

// --- matching -----------------------------------------------------------

#[rstest]
#[case(
    TriggerKind::Problem(ProblemKind::RedundancyLost),
    None,
    "group:STA-core",
    Some(1)
)]
#[case(
    TriggerKind::Problem(ProblemKind::RedundancyLost),
    Some("core-switch"),
    "group:STA-core",
    Some(2)
)]
#[case(
    TriggerKind::Problem(ProblemKind::RedundancyLost),
    Some("ovr-server"),
    "group:STA-core",
    None
)]
#[case(
    TriggerKind::Problem(ProblemKind::GroupDown),
    None,
    "group:STA-core",
    None
)]
#[case(TriggerKind::Manual, None, "group:STA-core", None)]
#[case(
    TriggerKind::Problem(ProblemKind::DeviceDown),
    Some("core-switch"),
    "device:STA-core-a",
    Some(2)
)]
#[case(
    TriggerKind::Problem(ProblemKind::DeviceDown),
    Some("core-switch"),
    "device:STA-ovr-a",
    None
)]
#[case(
    TriggerKind::Problem(ProblemKind::FeedStale),
    Some("ovr-server"),
    "feed:STA-results",
    Some(2)
)]
#[case(
    TriggerKind::Problem(ProblemKind::FeedStale),
    Some("core-switch"),
    "feed:STA-results",
    None
)]
#[case(
    TriggerKind::Problem(ProblemKind::LatencySlo),
    None,
    "slo:commentators",
    Some(1)
)]
#[case(
    TriggerKind::Problem(ProblemKind::LatencySlo),
    Some("ovr-server"),
    "slo:commentators",
    None
)]
fn a_trigger_matches_by_kind_and_role(
    #[case] kind: TriggerKind,
    #[case] role: Option<&str>,
    #[case] key: &str,
    #[case] want: Option<u32>,
) {
    let layout = games();
    let b = book("b", kind, role, vec![step("n", Action::Manual)]);
    assert_eq!(matches(&b, &ctx(key, None, layout), layout), want);
}

#[test]
fn venue_and_feed_narrow_a_trigger_and_the_most_specific_comes_first() {
    let layout = games();
    let kind = TriggerKind::Problem(ProblemKind::DeviceDown);
    let any = book("any", kind, None, vec![step("n", Action::Manual)]);
    let ovr = book(
        "ovr",
        kind,
        Some("ovr-server"),
        vec![step("n", Action::Manual)],
    );
    let mut sta = book(
        "sta",
        kind,
        Some("ovr-server"),
        vec![step("n", Action::Manual)],
    );
    sta.trigger.venue = Some("STA".into());
    let mut feed = sta.clone();
    feed.id = "sta-feed".into();
    feed.trigger.feed = Some("STA-results".into());
    let mut pdp = book("pdp", kind, None, vec![step("n", Action::Manual)]);
    pdp.trigger.venue = Some("PDP".into());
    let manual = book(
        "by-hand",
        TriggerKind::Manual,
        None,
        vec![step("n", Action::Manual)],
    );
    let books = [any, manual, pdp, ovr, sta, feed];

    let c = ctx("device:STA-ovr-b", None, layout);
    let got: Vec<(&str, u32)> = matching(&books, &c, layout)
        .into_iter()
        .map(|(b, s)| (b.id.as_str(), s))
        .collect();
    assert_eq!(got, [("sta-feed", 4), ("sta", 3), ("ovr", 2), ("any", 1)]);

    let c = ctx("device:PDP-core-a", None, layout);
    let got: Vec<(&str, u32)> = matching(&books, &c, layout)
        .into_iter()
        .map(|(b, s)| (b.id.as_str(), s))
        .collect();
    assert_eq!(got, [("pdp", 2), ("any", 1)]);

    // A sink has no venue: a venue-filtered playbook does not match it.
    let mut slo = book(
        "slo-sta",
        TriggerKind::Problem(ProblemKind::LatencySlo),
        None,
        vec![step("n", Action::Manual)],
    );
    slo.trigger.venue = Some("STA".into());
    assert_eq!(matches(&slo, &ctx("slo:media", None, layout), layout), None);
}
