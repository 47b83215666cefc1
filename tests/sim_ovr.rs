//! The simulated results systems (OVR sources) and consumers over real
//! sockets: a stand-in for the relay's ingest (an axum server on port 0
//! that only collects POSTs) receives well-formed ODF from both sources
//! of a feed, each (document, version) from both, versions ascending,
//! `ResultStatus` progressing, keep-alives every interval; faults on a
//! source's device silence it, break messages or repeat them; consumers
//! measure latency and tell repeats from disorder.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use quick_xml::Reader;
use quick_xml::events::Event;
use toc::config::{Inventory, SourceFile};
use toc::sim::consumer::{Tracker, serve_http, subscribe_tcp};
use toc::sim::faults::{Fault, SimState};
use toc::sim::odfgen::{COMPETITION, DocKey, MAX_BODY, MIN_BODY, read_header};
use toc::sim::ovr::{self, Ledger, OvrFeed, OvrHandle, OvrOptions, OvrSource};
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

const BASE: &str = include_str!("fixtures/base.toml");
const RELAY: &str = r#"
[relay]
[[relay.sources]]
id = "STA-ovr-a"
token_env = "TOC_TOKEN_STA_OVR_A"
[[relay.sources]]
id = "STA-ovr-b"
token_env = "TOC_TOKEN_STA_OVR_B"
[[relay.sinks]]
id = "commentators"
kind = "http"
url = "http://127.0.0.1:9/odf"
consumer = "commentators"
"#;

/// One POST as the stand-in relay got it.
#[derive(Debug, Clone)]
struct Post {
    token: String,
    body: Vec<u8>,
    at: Instant,
}

type Posts = Arc<Mutex<Vec<Post>>>;

async fn collect(State(posts): State<Posts>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    posts.lock().unwrap().push(Post {
        token,
        body: body.to_vec(),
        at: Instant::now(),
    });
    StatusCode::OK
}

/// The stand-in for the relay's ingest, on a port from the system.
async fn fake_relay() -> (String, Posts) {
    let posts: Posts = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/odf", post(collect))
        .with_state(Arc::clone(&posts));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/odf"), posts)
}

fn inventory() -> Inventory {
    let text = format!("{BASE}{RELAY}");
    Inventory::parse(&SourceFile::new("t.toml", text))
        .unwrap()
        .0
}

fn tokens() -> Vec<(String, String)> {
    vec![
        ("STA-ovr-a".to_owned(), "token-a".to_owned()),
        ("STA-ovr-b".to_owned(), "token-b".to_owned()),
    ]
}

fn run(
    url: String,
    rate: f64,
    keepalive: Duration,
    state: Option<Arc<SimState>>,
) -> (OvrHandle, watch::Sender<bool>) {
    let feeds = ovr::feeds(&inventory(), &tokens());
    assert_eq!(feeds.len(), 1);
    let (stop, cancel) = watch::channel(false);
    let options = OvrOptions {
        url,
        rate,
        keepalive,
        state,
        ..OvrOptions::default()
    };
    (ovr::start(options, feeds, &cancel), stop)
}

/// Whether the whole body is well-formed XML.
fn well_formed(body: &[u8]) -> bool {
    let mut r = Reader::from_reader(body);
    r.config_mut().check_end_names = true;
    let mut buf = Vec::new();
    let mut depth = 0_i64;
    loop {
        match r.read_event_into(&mut buf) {
            Err(_) => return false,
            Ok(Event::Eof) => return depth == 0,
            Ok(Event::Start(_)) => depth += 1,
            Ok(Event::End(_)) => depth -= 1,
            Ok(_) => {}
        }
        buf.clear();
    }
}

/// (key, version, status) of every non-keep-alive post of `token`, in
/// arrival order.
fn documents(posts: &[Post], token: &str) -> Vec<(DocKey, u64, Option<String>)> {
    posts
        .iter()
        .filter(|p| p.token == token)
        .filter_map(|p| read_header(&p.body))
        .filter(|(k, _, _)| k.document_type != "DT_KA")
        .collect()
}

fn status_rank(s: Option<&str>) -> u8 {
    match s {
        Some("START_LIST") => 0,
        Some("LIVE") => 1,
        Some("UNOFFICIAL") => 2,
        Some("OFFICIAL") => 3,
        other => panic!("unexpected DT_RESULT status {other:?}"),
    }
}

#[tokio::test]
async fn both_sources_post_every_version_in_order_as_well_formed_odf() {
    let (url, posts) = fake_relay().await;
    let (handle, stop) = run(url, 60.0, Duration::from_secs(1), None);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.send(true).unwrap();
    handle.join().await;
    let posts = posts.lock().unwrap().clone();
    assert!(posts.len() > 100, "{} posts", posts.len());
    for p in &posts {
        assert!(well_formed(&p.body), "{}", String::from_utf8_lossy(&p.body));
        assert!(p.token == "token-a" || p.token == "token-b", "{}", p.token);
    }
    let a = documents(&posts, "token-a");
    let b = documents(&posts, "token-b");
    for p in posts
        .iter()
        .filter(|p| read_header(&p.body).is_some_and(|(k, _, _)| k.document_type != "DT_KA"))
    {
        assert!(
            (MIN_BODY..=MAX_BODY).contains(&p.body.len()),
            "{}",
            p.body.len()
        );
    }
    // Each (key, version) from both sources: the backup may miss only
    // what was still on its way at the stop.
    let set = |d: &[(DocKey, u64, Option<String>)]| -> BTreeSet<(DocKey, u64)> {
        d.iter().map(|(k, v, _)| (k.clone(), *v)).collect()
    };
    let (sa, sb) = (set(&a), set(&b));
    assert!(sb.is_subset(&sa), "backup posted what the primary did not");
    assert!(sa.len() - sb.len() <= 3, "{} vs {}", sa.len(), sb.len());
    assert_eq!(sa.len(), a.len(), "the primary repeated itself");
    // Versions ascend per key, and DT_RESULT's status progresses.
    for docs in [&a, &b] {
        let mut last: BTreeMap<&DocKey, (u64, u8)> = BTreeMap::new();
        for (k, v, s) in docs {
            assert_eq!(k.competition_code, COMPETITION);
            assert_eq!(k.document_code.len(), 34, "{}", k.document_code);
            let rank = if k.document_type == "DT_RESULT" {
                status_rank(s.as_deref())
            } else {
                0
            };
            if let Some((lv, lr)) = last.get(k) {
                assert!(v > lv, "{k:?}: version {v} after {lv}");
                assert!(rank >= *lr, "{k:?}: status went back");
            }
            last.insert(k, (*v, rank));
        }
    }
    let official = a
        .iter()
        .filter(|(k, _, s)| k.document_type == "DT_RESULT" && s.as_deref() == Some("OFFICIAL"))
        .count();
    assert!(official >= 2, "{official} units reached OFFICIAL");
    for t in ["DT_CURRENT", "DT_PLAY_BY_PLAY"] {
        assert!(a.iter().any(|(k, _, _)| k.document_type == t), "no {t}");
    }
}

#[tokio::test]
async fn keepalives_arrive_at_their_interval_from_each_source() {
    let (url, posts) = fake_relay().await;
    let (handle, stop) = run(url, 0.2, Duration::from_millis(300), None);
    tokio::time::sleep(Duration::from_millis(1700)).await;
    stop.send(true).unwrap();
    handle.join().await;
    let posts = posts.lock().unwrap().clone();
    for token in ["token-a", "token-b"] {
        let times: Vec<(u64, Instant)> = posts
            .iter()
            .filter(|p| p.token == token)
            .filter_map(|p| {
                let (k, v, _) = read_header(&p.body)?;
                (k.document_type == "DT_KA").then_some((v, p.at))
            })
            .collect();
        assert!(times.len() >= 5, "{token}: {} keep-alives", times.len());
        for w in times.windows(2) {
            assert_eq!(w[1].0, w[0].0 + 1, "keep-alive versions count up");
            let gap = w[1].1.duration_since(w[0].1);
            assert!(
                gap > Duration::from_millis(150) && gap < Duration::from_millis(700),
                "{token}: {gap:?} between keep-alives"
            );
        }
    }
}

#[tokio::test]
async fn down_on_the_primary_silences_it_and_the_backup_carries_on() {
    let (url, posts) = fake_relay().await;
    let state = Arc::new(SimState::new(&inventory()));
    let (handle, stop) = run(
        url,
        40.0,
        Duration::from_millis(200),
        Some(Arc::clone(&state)),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    state.set("STA-ovr-a", Fault::Down, None).unwrap();
    // A post already on its way may still land.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let cut = posts.lock().unwrap().len();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let during: Vec<Post> = posts.lock().unwrap()[cut..].to_vec();
    assert!(
        during.iter().all(|p| p.token != "token-a"),
        "the silent primary posted"
    );
    assert!(
        during.iter().filter(|p| p.token == "token-b").count() > 15,
        "the backup did not carry on"
    );
    let counts = handle.stats();
    assert_eq!(counts[0].id, "STA-ovr-a");
    assert!(counts[0].silenced > 10, "{counts:?}");
    assert_eq!(counts[1].silenced, 0, "{counts:?}");
    // Cleared, it posts again.
    state.clear("STA-ovr-a", None).unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    stop.send(true).unwrap();
    handle.join().await;
    let after = posts.lock().unwrap().len();
    let posts = posts.lock().unwrap()[cut + during.len()..after].to_vec();
    assert!(
        posts.iter().any(|p| p.token == "token-a"),
        "no posts after clear"
    );
}

#[tokio::test]
async fn corrupt_and_dup_storm_faults_reach_the_relay() {
    let (url, posts) = fake_relay().await;
    let state = Arc::new(SimState::new(&inventory()));
    state.set("STA-ovr-b", Fault::Corrupt, None).unwrap();
    state.set("STA-ovr-a", Fault::DupStorm, None).unwrap();
    let (handle, stop) = run(url, 40.0, Duration::from_secs(5), Some(state));
    tokio::time::sleep(Duration::from_millis(800)).await;
    stop.send(true).unwrap();
    handle.join().await;
    let posts = posts.lock().unwrap().clone();
    let broken_b = posts
        .iter()
        .filter(|p| p.token == "token-b" && !well_formed(&p.body))
        .count();
    assert!(broken_b >= 3, "{broken_b} broken messages from the backup");
    assert!(
        posts
            .iter()
            .filter(|p| p.token == "token-a")
            .all(|p| well_formed(&p.body))
    );
    let a = documents(&posts, "token-a");
    let unique: BTreeSet<(DocKey, u64)> = a.iter().map(|(k, v, _)| (k.clone(), *v)).collect();
    assert!(
        a.len() > 3 * unique.len(),
        "{} posts of {} versions",
        a.len(),
        unique.len()
    );
}

#[tokio::test]
async fn an_http_consumer_measures_latency_and_tells_repeats_from_disorder() {
    let ledger = Arc::new(Ledger::default());
    let c = serve_http(
        "commentators",
        "127.0.0.1:0".parse().unwrap(),
        Arc::clone(&ledger),
    )
    .await
    .unwrap();
    assert_ne!(c.addr().port(), 0);
    let key = |code: &str| DocKey {
        competition_code: COMPETITION.to_owned(),
        document_code: code.to_owned(),
        document_type: "DT_RESULT".to_owned(),
        ..DocKey::default()
    };
    let body = |k: &DocKey, v: u64| {
        format!(
            "<OdfBody CompetitionCode=\"{}\" DocumentCode=\"{}\" DocumentType=\"DT_RESULT\" Version=\"{v}\"/>",
            k.competition_code, k.document_code
        )
    };
    let k = key("ATHM100M--------------FNL-000100--");
    for v in 1..=3 {
        ledger.record(&k, v);
    }
    tokio::time::sleep(Duration::from_millis(30)).await;
    let client = reqwest::Client::new();
    let url = format!("http://{}/odf", c.addr());
    for (v, text) in [
        (2, None),
        (3, None),
        (3, None),
        (1, None),
        (9, Some("not odf")),
    ] {
        let b = text.map_or_else(|| body(&k, v), str::to_owned);
        let r = client.post(&url).body(b).send().await.unwrap();
        assert!(r.status().is_success());
    }
    let s = c.stats();
    assert_eq!(s.name, "commentators");
    assert_eq!(
        (
            s.received,
            s.repeats,
            s.out_of_order,
            s.unreadable,
            s.measured
        ),
        (5, 1, 1, 1, 3),
        "{s:?}"
    );
    let p50 = s.p50.unwrap();
    assert!(
        p50 >= Duration::from_millis(30) && p50 < Duration::from_secs(5),
        "{s:?}"
    );
    assert!(s.p99.unwrap() >= p50);
}

#[tokio::test]
async fn a_tcp_subscriber_reads_frames_and_reconnects() {
    let ledger = Arc::new(Ledger::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let c = subscribe_tcp("media", addr, Arc::clone(&ledger));
    let frame = |v: u64| {
        let b = format!(
            "<OdfBody CompetitionCode=\"OG2024\" DocumentCode=\"SWMW400MFR------------FNL-000100--\" DocumentType=\"DT_RESULT\" Version=\"{v}\"/>"
        );
        let mut f = u32::try_from(b.len()).unwrap().to_be_bytes().to_vec();
        f.extend_from_slice(b.as_bytes());
        f
    };
    // First connection: 1, 2, then the sink drops it.
    let (mut s, _) = listener.accept().await.unwrap();
    s.write_all(&[frame(1), frame(2)].concat()).await.unwrap();
    drop(s);
    // Second: a repeat of 2 (as after a relay crash), then 3.
    let (mut s, _) = tokio::time::timeout(Duration::from_secs(5), listener.accept())
        .await
        .expect("reconnected")
        .unwrap();
    s.write_all(&[frame(2), frame(3)].concat()).await.unwrap();
    s.flush().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while c.stats().received < 4 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let st = c.stats();
    assert_eq!(
        (st.received, st.repeats, st.out_of_order),
        (4, 1, 0),
        "{st:?}"
    );
}

#[tokio::test]
async fn sources_straight_into_a_consumer_show_each_version_twice() {
    let ledger = Arc::new(Ledger::default());
    let c = serve_http(
        "web_mobile",
        "127.0.0.1:0".parse().unwrap(),
        Arc::clone(&ledger),
    )
    .await
    .unwrap();
    let feeds: Vec<OvrFeed> = vec![OvrFeed {
        feed: "STA-results".to_owned(),
        sports: vec!["Swimming".to_owned()],
        primary: OvrSource {
            id: "a".to_owned(),
            token: "ta".to_owned(),
        },
        backup: OvrSource {
            id: "b".to_owned(),
            token: "tb".to_owned(),
        },
    }];
    let (stop, cancel) = watch::channel(false);
    let handle = ovr::start(
        OvrOptions {
            url: format!("http://{}/odf", c.addr()),
            rate: 50.0,
            keepalive: Duration::from_secs(10),
            ledger: Arc::clone(&ledger),
            ..OvrOptions::default()
        },
        feeds,
        &cancel,
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    stop.send(true).unwrap();
    handle.join().await;
    let s = c.stats();
    // Keep-alives are ODF too: versions of their own key.
    assert!(s.received > 40, "{s:?}");
    assert_eq!(s.out_of_order, 0, "{s:?}");
    // Every version came twice (the backup's copy may miss at the stop).
    let firsts = s.received - s.repeats;
    assert!(s.repeats + 3 >= firsts && s.repeats <= firsts, "{s:?}");
    // Latency for every first receipt but the keep-alives (not in the
    // ledger: they are never forwarded).
    assert!(s.measured >= 20 && s.measured < firsts, "{s:?}");
    assert!(s.p50.unwrap() < Duration::from_millis(500), "{s:?}");
}

#[test]
fn a_tracker_alone_checks_an_archive() {
    let t = Tracker::new("archive", Arc::new(Ledger::default()));
    for v in [1, 2, 2, 4, 3] {
        t.receive(
            format!("<OdfBody CompetitionCode=\"OG2024\" DocumentCode=\"X\" DocumentType=\"DT_RESULT\" Version=\"{v}\"/>")
                .as_bytes(),
        );
    }
    let s = t.stats();
    assert_eq!(
        (s.received, s.repeats, s.out_of_order, s.measured),
        (5, 1, 1, 0)
    );
    assert_eq!(s.p50, None);
}
