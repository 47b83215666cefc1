//! `/metrics` of a running `toc demo --no-console`: the text parses as
//! Prometheus' format 0.0.4 (every family described once, every sample
//! `name{labels} value`), the device counts add up to the inventory, and a
//! fault shows in the counts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;
mod wall_support;

use std::time::{Duration, Instant};

use toc::api::metrics::{Exposition, parse};
use wall_support::Demo;

async fn scrape(url: &str) -> (String, Exposition) {
    let r = reqwest::get(format!("{url}/metrics"))
        .await
        .expect("scrape");
    assert_eq!(r.status(), 200);
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(ct.starts_with("text/plain"), "{ct}");
    let text = r.text().await.expect("body");
    let exp = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    (text, exp)
}

fn one(exp: &Exposition, name: &str, labels: &[(&str, &str)]) -> f64 {
    let v: Vec<f64> = exp
        .named(name)
        .filter(|s| labels.iter().all(|(k, v)| s.label(k) == Some(*v)))
        .map(|s| s.value)
        .collect();
    assert_eq!(v.len(), 1, "{name} {labels:?}");
    v[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_is_scraped_and_its_counts_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut demo = Demo::start(dir.path());
    let url = demo.api_url();

    // 4 devices in 2 venues (tests/wall_support VENUES); every one is
    // counted once, polled or not.
    let (text, exp) = scrape(&url).await;
    assert!((exp.sum("toc_devices") - 4.0).abs() < 1e-9, "{text}");
    for (venue, n) in [("STA", 2.0), ("MRN", 2.0)] {
        let sum: f64 = exp
            .named("toc_devices")
            .filter(|s| s.label("venue") == Some(venue))
            .map(|s| s.value)
            .sum();
        assert!((sum - n).abs() < 1e-9, "{venue}: {text}");
    }
    for family in [
        "toc_info",
        "toc_snapshot_seq",
        "toc_snapshot_age_seconds",
        "toc_wall_status",
        "toc_venue_status",
        "toc_devices",
        "toc_poll_latency_seconds",
        "toc_checks_total",
        "toc_incidents",
    ] {
        assert!(exp.families.contains_key(family), "{family}: {text}");
    }

    // Once polled, everything is OK with a latency; then a fault shows.
    let deadline = Instant::now() + Duration::from_secs(60);
    let exp = loop {
        let (_, exp) = scrape(&url).await;
        if (one(&exp, "toc_devices", &[("venue", "STA"), ("status", "ok")]) - 2.0).abs() < 1e-9
            && (one(&exp, "toc_wall_status", &[]) - 1.0).abs() < 1e-9
        {
            break exp;
        }
        assert!(Instant::now() < deadline, "never all OK");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(one(&exp, "toc_poll_latency_seconds_count", &[]) >= 3.0);
    assert!(one(&exp, "toc_checks_total", &[]) >= 4.0);
    assert!(one(&exp, "toc_snapshot_age_seconds", &[]) < 30.0);

    demo.write("fault STA-core-a down");
    assert!(demo.next(Duration::from_secs(20)).starts_with("applied"));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (text, exp) = scrape(&url).await;
        let down = one(&exp, "toc_devices", &[("venue", "STA"), ("status", "down")]);
        let open = one(&exp, "toc_incidents", &[("state", "open")]);
        if (down - 1.0).abs() < 1e-9 && open >= 1.0 {
            assert!(
                (one(&exp, "toc_venue_status", &[("venue", "STA")]) - 4.0).abs() < 1e-9,
                "{text}"
            );
            assert!((exp.sum("toc_devices") - 4.0).abs() < 1e-9, "{text}");
            break;
        }
        assert!(Instant::now() < deadline, "the fault never showed: {text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    demo.stop();
}
