//! The room's big screens in a real browser: a `toc demo --no-console`
//! child serves `/wall` on a free port; headless Chromium (the Debian
//! package) opens it, driven over the Chrome `DevTools` Protocol. The test
//! takes a 1920x1080 screenshot (saved as `CARGO_TARGET_TMPDIR/wall.png`),
//! checks STA's tile is green, injects a fault that makes STA degraded on
//! the demo's standard input, and checks the tile turns DEGRADED and
//! orange within 2 s.
//!
//! Without Chromium the test is skipped with a note, unless
//! `TOC_REQUIRE_PEERS=1` (CI), where it fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;
mod wall_support;

use std::time::{Duration, Instant};

use wall_support::{Browser, Demo, chromium, png_pixel};

/// The OK green and the DEGRADED orange of the page (`--ok`, `--degraded`).
const GREEN: [u8; 3] = [0x1f, 0x8f, 0x3a];
const ORANGE: [u8; 3] = [0xf2, 0x8c, 0x00];

fn near(got: [u8; 3], want: [u8; 3]) -> bool {
    got.iter()
        .zip(want)
        .all(|(g, w)| (i16::from(*g) - i16::from(w)).abs() <= 24)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wall_shows_the_venues_and_turns_orange_on_a_fault() {
    let Some(chromium) = chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut demo = Demo::start(dir.path());
    let url = demo.api_url();
    let token = "wall-test-token";

    let mut browser = Browser::start(&chromium, dir.path()).await;
    browser.viewport(1920, 1080).await;
    browser.navigate(&format!("{url}/wall#token={token}")).await;

    // Every venue shows, STA green once its devices answered.
    let sta = browser
        .wait_for(Duration::from_secs(60), |t| {
            t.tiles == 2 && t.status == "ok" && !t.lost
        })
        .await;
    let shot = browser.screenshot().await;
    std::fs::write(dir.path().join("wall.png"), &shot).unwrap();
    let kept = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("wall.png");
    std::fs::write(&kept, &shot).unwrap();
    eprintln!("wall screenshot: {}", kept.display());
    let (w, h, _) = png_pixel(&shot, 0, 0);
    assert_eq!((w, h), (1920, 1080), "the screenshot's size");
    let (_, _, px) = png_pixel(&shot, sta.x, sta.y);
    assert!(
        near(px, GREEN),
        "STA's centre is {px:?}, not green {GREEN:?}"
    );
    let text = browser
        .eval_string("document.getElementById('venue-STA').innerText")
        .await;
    assert!(
        text.contains("STA") && text.contains("✔") && text.contains("OK"),
        "{text:?}"
    );

    // A core switch dies: STA's redundancy is lost, the tile turns orange.
    let start = Instant::now();
    demo.write("fault STA-core-a down");
    let degraded = browser
        .wait_for(Duration::from_secs(30), |t| t.status == "degraded")
        .await;
    let took = start.elapsed();
    eprintln!("fault to DEGRADED tile: {took:?}");
    let answer = demo.next(Duration::from_secs(20));
    assert!(answer.starts_with("applied"), "{answer}");
    assert!(
        took <= Duration::from_secs(2),
        "the tile turned DEGRADED after {took:?}"
    );
    let shot = browser.screenshot().await;
    std::fs::write(dir.path().join("wall-degraded.png"), &shot).unwrap();
    std::fs::write(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("wall-degraded.png"),
        &shot,
    )
    .unwrap();
    let (_, _, px) = png_pixel(&shot, degraded.x, degraded.y);
    assert!(
        near(px, ORANGE),
        "STA's centre is {px:?}, not orange {ORANGE:?}"
    );
    let text = browser
        .eval_string("document.getElementById('venue-STA').innerText")
        .await;
    assert!(text.contains("▲") && text.contains("DEGRADED"), "{text:?}");

    // The link drops: the banner says so.
    demo.stop();
    browser.wait_for(Duration::from_secs(30), |t| t.lost).await;
    let banner = browser
        .eval_string("document.getElementById('banner-text').innerText")
        .await;
    assert!(banner.contains("connection lost"), "{banner:?}");

    // The Games: 49 venues fit on the screen, each tile readable.
    let fit = browser.eval_string(FORTY_NINE).await;
    let shot = browser.screenshot().await;
    std::fs::write(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("wall-49.png"),
        &shot,
    )
    .unwrap();
    let fit: serde_json::Value = serde_json::from_str(&fit).expect(&fit);
    eprintln!("49 venues: {fit}");
    assert_eq!(fit["tiles"], 49, "{fit}");
    assert_eq!(fit["outside"], 0, "every tile on the screen: {fit}");
    assert!(fit["minWidth"].as_f64().unwrap() >= 200.0, "{fit}");
    assert!(fit["minHeight"].as_f64().unwrap() >= 100.0, "{fit}");
    assert!(fit["codePx"].as_f64().unwrap() >= 36.0, "big type: {fit}");
}

/// Draws a view of 49 venues by hand and measures the tiles.
const FORTY_NINE: &str = "(() => {
  const st = (s, g, w) => ({ status: s, glyph: g, word: w });
  const venues = [];
  for (let i = 0; i < 49; i++) {
    const s = i % 7 === 3 ? st('down', '✖', 'DOWN') : i % 5 === 1 ? st('degraded', '▲', 'DEGRADED') : st('ok', '✔', 'OK');
    venues.push({ code: 'V' + (10 + i), name: 'Venue number ' + i, city: 'Paris', status: s,
      counts: { ok: 200, degraded: 1, down: 1, unreachable: 0, unknown: 0, maintenance: 0, total: 202 },
      incidents: 1, since_ms: Date.now() - 60000 });
  }
  window.tocWallDraw({ seq: 1, event: 'Paris 2024 Olympic Games', at_ms: Date.now(),
    wall: st('down', '✖', 'DOWN'), venues: venues, incidents: 20 });
  const tiles = Array.from(document.querySelectorAll('.tile'));
  const rects = tiles.map(t => t.getBoundingClientRect());
  const code = getComputedStyle(tiles[0].querySelector('.code')).fontSize;
  return JSON.stringify({ tiles: tiles.length,
    outside: rects.filter(r => r.left < 0 || r.top < 0 || r.right > innerWidth || r.bottom > innerHeight).length,
    minWidth: Math.min(...rects.map(r => r.width)), minHeight: Math.min(...rects.map(r => r.height)),
    codePx: parseFloat(code) });
})()";
