use super::*;
use crate::api::metrics::tests::snapshot;

#[test]
fn the_view_has_every_venue_with_its_counts_and_status() {
    let snap = snapshot();
    let view = view(&snap);
    assert_eq!(view.seq, snap.seq);
    assert_eq!(view.event, snap.layout.event);
    assert_eq!(view.venues.len(), snap.layout.venues.len());
    assert_eq!(view.wall.status, "degraded");
    let sta = &view.venues[0];
    assert_eq!(sta.code, "STA");
    assert_eq!(sta.name, "Stade de France");
    assert_eq!(
        sta.status,
        Shown {
            status: "degraded".to_owned(),
            glyph: "▲".to_owned(),
            word: "DEGRADED".to_owned()
        }
    );
    assert_eq!(sta.counts.down, 1, "STA-rtr-a");
    let c = sta.counts;
    assert_eq!(
        c.ok + c.degraded + c.down + c.unreachable + c.unknown + c.maintenance,
        c.total
    );
    assert_eq!(c.total, snap.layout.venues[0].devices.len());
    assert!(sta.incidents >= 1);
    assert!(sta.since_ms.is_some(), "STA changed: {sta:?}");
    let mrn = &view.venues[1];
    assert_eq!(mrn.status.status, "ok");
    assert_eq!(mrn.status.glyph, "✔");
    assert_eq!(view.incidents, snap.incidents.len());
    assert_eq!(
        view.at_ms,
        u64::try_from(
            snap.at
                .duration_since(SystemTime::UNIX_EPOCH)
                .expect("after 1970")
                .as_millis()
        )
        .expect("fits")
    );
}

#[test]
fn the_view_travels_as_json_and_back() {
    let view = view(&snapshot());
    let json = serde_json::to_string(&view).expect("json");
    assert!(json.contains(r#""status":"degraded""#), "{json}");
    assert!(json.contains(r#""code":"STA""#));
    assert!(!json.contains("\"type\""), "not a ServerMsg: {json}");
    let back: WallView = serde_json::from_str(&json).expect("back");
    assert_eq!(back, view);
}

#[test]
fn every_status_has_its_own_key_glyph_and_word() {
    let shown: Vec<Shown> = Status::ALL.into_iter().map(Shown::from).collect();
    for (i, a) in shown.iter().enumerate() {
        for b in &shown[i + 1..] {
            assert_ne!(a.status, b.status);
            assert_ne!(a.glyph, b.glyph);
            assert_ne!(a.word, b.word);
        }
        // The page styles each key and draws its glyph in the counts.
        assert!(
            PAGE.contains(&format!("[data-status=\"{}\"]", a.status)),
            "no style for {}",
            a.status
        );
        assert!(PAGE.contains(&a.glyph), "no glyph {}", a.glyph);
    }
}

#[test]
fn same_drawing_ignores_only_seq_and_time() {
    let snap = snapshot();
    let a = view(&snap);
    let mut b = a.clone();
    b.seq += 1;
    b.at_ms += 500;
    assert!(same_drawing(&a, &b));
    b.venues[1].counts.ok -= 1;
    b.venues[1].counts.degraded += 1;
    assert!(!same_drawing(&a, &b));
}

#[test]
fn the_page_is_self_contained() {
    // Plain HTML and an inline script: nothing fetched from anywhere.
    let lower = PAGE.to_lowercase();
    for banned in [
        "<script src",
        "<link",
        "http://",
        "https://",
        "@import",
        "url(",
    ] {
        assert!(!lower.contains(banned), "the page loads {banned}");
    }
    assert!(PAGE.starts_with("<!doctype html>"));
    // What the browser test and docs/wall.md rely on.
    for needed in [
        "/api/ws?view=wall",
        "type: 'auth', v: 1, token: token",
        "token=",
        "'venue-' + v.code",
        "data-status",
        "connection lost — reconnecting",
        "wss://",
    ] {
        assert!(PAGE.contains(needed), "the page lacks {needed:?}");
    }
    // Every `(` and `{` of the script is closed (a cheap syntax check; the
    // browser test runs it for real).
    let script = PAGE
        .split("<script>")
        .nth(1)
        .and_then(|s| s.split("</script>").next())
        .expect("an inline script");
    for (open, close) in [('(', ')'), ('{', '}'), ('[', ']')] {
        assert_eq!(
            script.matches(open).count(),
            script.matches(close).count(),
            "{open}{close}"
        );
    }
}
