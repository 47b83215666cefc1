//! `[relay]` in venues.toml: the accepted example and what it becomes, the
//! defaults, then one refused case per rule, each pointing at the exact
//! line:column of the offending key or value, with a hint.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use rstest::rstest;
use toc::config::diag::{Diagnostic, Severity};
use toc::config::venues::SinkKind;
use toc::config::{Inventory, SourceFile};

const BASE: &str = include_str!("fixtures/base.toml");

/// The example of docs/config.md, on the base fixture.
const RELAY: &str = r#"
[relay]
listen = "127.0.0.1:8650"
max_message = "64MiB"
fsync = true
segment_size = "32MiB"

[[relay.sources]]
id = "STA-ovr-a"
token_env = "TOC_TOKEN_STA_OVR_A"

[[relay.sources]]
id = "STA-ovr-b"
token_env = "TOC_TOKEN_STA_OVR_B"

[[relay.sources]]
id = "wire-feed"
token_env = "TOC_TOKEN_WIRE"

[[relay.sources]]
id = "spare-feed"
token_env = "TOC_TOKEN_SPARE"

[[relay.sinks]]
id = "spare"
kind = "http"
url = "https://relay-b.example/odf"
consumer = "commentators"

[[relay.sinks]]
id = "commentators"
kind = "http"
url = "http://127.0.0.1:9000/odf"
consumer = "commentators"

[[relay.sinks]]
id = "media"
kind = "tcp"
listen = "127.0.0.1:9652"
consumer = "web_mobile"

[[relay.sinks]]
id = "archive"
kind = "file"
dir = "archive"
consumer = "web_mobile"

[[relay.routes]]
id = "results"
sinks = ["commentators", "media", "archive"]
document_type = "DT_RESULT"
discipline = "ATH"
feed = "STA-results"

[[relay.routes]]
sinks = ["archive"]
source = "wire-feed"
"#;

fn text_with(from: &str, to: &str) -> String {
    let relay = if from.is_empty() {
        RELAY.to_owned()
    } else {
        assert!(RELAY.contains(from), "the example holds {from:?}");
        RELAY.replacen(from, to, 1)
    };
    format!("{BASE}{relay}")
}

fn parse(text: &str) -> Result<(Inventory, Vec<Diagnostic>), Vec<Diagnostic>> {
    Inventory::parse(&SourceFile::new("/etc/toc/venues.toml", text.to_owned()))
}

/// The 1-based line and column of the first `marker` at or after the
/// relay table.
fn position(text: &str, marker: &str) -> (usize, usize) {
    let start = text.find("[relay]").expect("relay table");
    let at = start + text[start..].find(marker).expect("marker in text");
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = at - before.rfind('\n').map_or(0, |n| n + 1) + 1;
    (line, column)
}

#[test]
fn the_example_is_accepted_and_resolved() {
    let (inv, warnings) = match parse(&text_with("", "")) {
        Ok(ok) => ok,
        Err(d) => panic!("{}", toc::config::diag::render(&d)),
    };
    assert!(warnings.is_empty(), "{warnings:?}");
    let r = inv.relay.clone().expect("relay");
    assert_eq!(r.listen, "127.0.0.1:8650".parse::<SocketAddr>().unwrap());
    assert_eq!(r.max_message, 64 << 20);
    assert_eq!(r.segment_size, 32 << 20);
    assert!(r.fsync);
    let ids: Vec<&str> = r.sources.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["STA-ovr-a", "STA-ovr-b", "wire-feed", "spare-feed"]);
    let (a_idx, _) = inv.device("STA-ovr-a").expect("device");
    assert_eq!(r.sources[0].device, Some(a_idx));
    assert_eq!(r.sources[0].feed, Some(0));
    assert_eq!(inv.feeds[0].id, "STA-results");
    assert_eq!(r.sources[1].feed, Some(0));
    assert_eq!((r.sources[2].device, r.sources[2].feed), (None, None));
    assert_eq!(
        r.sinks[1].kind,
        SinkKind::Http {
            url: "http://127.0.0.1:9000/odf".into()
        }
    );
    assert_eq!(r.sinks[1].slo, Duration::from_millis(350));
    assert_eq!(r.sinks[2].slo, Duration::from_millis(2350));
    assert_eq!(
        r.sinks[2].kind,
        SinkKind::Tcp {
            listen: "127.0.0.1:9652".parse().unwrap()
        }
    );
    assert_eq!(
        r.sinks[3].kind,
        SinkKind::File {
            dir: PathBuf::from("/etc/toc/archive")
        }
    );
    assert_eq!(r.routes[0].id, "results");
    assert_eq!(r.routes[0].sinks, [1, 2, 3]);
    assert_eq!(r.routes[0].discipline.as_deref(), Some("ATH"));
    assert_eq!(r.routes[0].feed.as_deref(), Some("STA-results"));
    assert_eq!(r.routes[1].id, "route-2");
    assert_eq!(r.routes[1].source.as_deref(), Some("wire-feed"));
    assert_eq!(
        r.summary(),
        "relay: listens on 127.0.0.1:8650, 4 sources, 4 sinks, 2 routes, fsync on"
    );
}

#[test]
fn defaults_fill_what_the_file_leaves_out() {
    let text = text_with(
        "listen = \"127.0.0.1:8650\"\nmax_message = \"64MiB\"\nfsync = true\nsegment_size = \"32MiB\"\n",
        "",
    );
    let (inv, _) = parse(&text).expect("accepted");
    let r = inv.relay.expect("relay");
    assert_eq!(r.listen, "127.0.0.1:8650".parse::<SocketAddr>().unwrap());
    assert_eq!((r.max_message, r.segment_size), (64 << 20, 64 << 20));
    assert!(r.fsync);
    // No [relay] at all: no relay.
    let (inv, _) = parse(BASE).expect("base");
    assert!(inv.relay.is_none());
}

#[test]
fn fsync_off_says_what_it_costs() {
    let (inv, _) = parse(&text_with("fsync = true", "fsync = false")).expect("accepted");
    let r = inv.relay.expect("relay");
    assert!(!r.fsync);
    assert!(
        r.summary()
            .ends_with("fsync off (a crash may lose acknowledged messages)")
    );
}

#[test]
fn listening_beyond_loopback_is_a_warning_at_the_address() {
    let text = text_with("\"127.0.0.1:8650\"", "\"0.0.0.0:8650\"");
    let (_, warnings) = parse(&text).expect("accepted with a warning");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let w = &warnings[0];
    assert_eq!(w.severity, Severity::Warning);
    assert_eq!((w.line, w.column), position(&text, "\"0.0.0.0:8650\""));
    assert!(
        w.message
            .contains("accepts results from the network; tokens are its only guard"),
        "{}",
        w.message
    );
}

#[test]
fn tokens_name_every_missing_variable() {
    let (inv, _) = parse(&text_with("", "")).expect("accepted");
    let r = inv.relay.expect("relay");
    let env = |k: &str| match k {
        "TOC_TOKEN_STA_OVR_A" => Some("alpha".to_owned()),
        "TOC_TOKEN_WIRE" => Some(String::new()),
        _ => None,
    };
    assert_eq!(
        r.tokens(env),
        Err(vec![
            "TOC_TOKEN_STA_OVR_B".to_owned(),
            "TOC_TOKEN_WIRE".to_owned(),
            "TOC_TOKEN_SPARE".to_owned()
        ])
    );
    let all = |k: &str| Some(format!("t-{k}"));
    let tokens = r.tokens(all).expect("all set");
    assert_eq!(
        tokens[1],
        ("STA-ovr-b".to_owned(), "t-TOC_TOKEN_STA_OVR_B".to_owned())
    );
    assert_eq!(tokens.len(), 4);
}

/// One refused case per rule: the replacement, the text the error points
/// at, what the message and the hint say.
#[rstest]
#[case::listen_not_address(
    "\"127.0.0.1:8650\"",
    "\"localhost\"",
    "\"localhost\"",
    "listen `localhost` is not an address and port",
    "127.0.0.1:8650"
)]
#[case::max_message_small(
    "\"64MiB\"",
    "\"512B\"",
    "\"512B\"",
    "max_message must be from 1KiB to 1GiB",
    "64MiB"
)]
#[case::max_message_large(
    "\"64MiB\"",
    "\"2GiB\"",
    "\"2GiB\"",
    "max_message must be from 1KiB to 1GiB",
    "64MiB"
)]
#[case::segment_small(
    "\"32MiB\"",
    "\"64KiB\"",
    "\"64KiB\"",
    "segment_size must be from 1MiB to 4GiB",
    "64MiB"
)]
#[case::unknown_relay_key(
    "fsync = true",
    "fsync = true\nfsnyc = false",
    "fsnyc",
    "unknown field `fsnyc`",
    ""
)]
#[case::unknown_source_key(
    "token_env = \"TOC_TOKEN_WIRE\"",
    "token_env = \"TOC_TOKEN_WIRE\"\ntoken = \"s3cret\"",
    "token = ",
    "unknown field `token`",
    ""
)]
#[case::missing_token_env(
    "token_env = \"TOC_TOKEN_WIRE\"",
    "",
    "[[relay.sources]]\nid = \"wire-feed\"",
    "missing field `token_env`",
    ""
)]
#[case::bad_env_name(
    "\"TOC_TOKEN_WIRE\"",
    "\"9lives\"",
    "\"9lives\"",
    "token_env `9lives` is not an environment variable name",
    "not the token itself"
)]
#[case::shared_env_name(
    "\"TOC_TOKEN_WIRE\"",
    "\"TOC_TOKEN_STA_OVR_A\"",
    "\"TOC_TOKEN_STA_OVR_A\"\n\n[[relay.sources]]\nid = \"spare-feed\"",
    "is already the token of another source (line",
    "its own token variable"
)]
#[case::duplicate_source(
    "id = \"spare-feed\"",
    "id = \"STA-ovr-b\"",
    "\"STA-ovr-b\"\ntoken_env = \"TOC_TOKEN_SPARE\"",
    "duplicate relay source id `STA-ovr-b`",
    "rename one"
)]
#[case::bad_source_id(
    "id = \"spare-feed\"",
    "id = \"wire feed\"",
    "\"wire feed\"",
    "relay source id `wire feed` is not a valid id",
    "letters, digits"
)]
#[case::device_not_a_feed_source(
    "id = \"spare-feed\"",
    "id = \"STA-core-a\"",
    "\"STA-core-a\"",
    "relay source `STA-core-a` is a device but not the primary or backup of any feed",
    "STA-ovr-a, STA-ovr-b"
)]
#[case::duplicate_sink(
    "id = \"spare\"",
    "id = \"commentators\"",
    "\"commentators\"\nkind = \"http\"\nurl = \"http:",
    "duplicate relay sink id `commentators`",
    "rename one"
)]
#[case::unknown_kind(
    "kind = \"tcp\"",
    "kind = \"kafka\"",
    "\"kafka\"",
    "sink `media` has unknown kind `kafka`",
    "http (with url), tcp (with listen), file (with dir)"
)]
#[case::key_of_another_kind(
    "dir = \"archive\"",
    "dir = \"archive\"\nurl = \"http://x/odf\"",
    "\"http://x/odf\"",
    "`url` is for http sinks; sink `archive` is of kind file",
    "takes `dir`"
)]
#[case::kind_key_missing(
    "listen = \"127.0.0.1:9652\"\n",
    "",
    "\"tcp\"",
    "tcp sink `media` has no `listen`",
    "listen = \"127.0.0.1:9652\""
)]
#[case::url_not_http(
    "\"http://127.0.0.1:9000/odf\"",
    "\"ftp://127.0.0.1/odf\"",
    "\"ftp://",
    "url `ftp://127.0.0.1/odf` of sink `commentators` is not an http:// or https:// URL",
    "http://127.0.0.1:9000/odf"
)]
#[case::tcp_listen_not_address(
    "\"127.0.0.1:9652\"",
    "\"127.0.0.1\"",
    "\"127.0.0.1\"\n",
    "listen `127.0.0.1` of sink `media` is not an address and port",
    "127.0.0.1:9652"
)]
#[case::empty_dir(
    "dir = \"archive\"",
    "dir = \"\"",
    "\"\"",
    "dir of sink `archive` is empty",
    "toc-data/archive"
)]
#[case::consumer_without_slo(
    "consumer = \"commentators\"",
    "consumer = \"radio\"",
    "\"radio\"",
    "sink `spare` names consumer class `radio`, which has no SLO",
    "defined: commentators, web_mobile"
)]
#[case::duplicate_route(
    "sinks = [\"archive\"]",
    "id = \"results\"\nsinks = [\"archive\"]",
    "\"results\"\nsinks = [\"archive\"]",
    "duplicate relay route id `results`",
    "rename one"
)]
#[case::route_no_sinks(
    "sinks = [\"archive\"]",
    "sinks = []",
    "[]",
    "route `route-2` has no sinks",
    "sinks = [\"commentators\"]"
)]
#[case::route_unknown_sink(
    "sinks = [\"archive\"]",
    "sinks = [\"archiv\"]",
    "\"archiv\"",
    "route `route-2` names unknown sink `archiv`",
    "defined: archive, commentators, media, spare"
)]
#[case::route_bad_discipline(
    "\"ATH\"",
    "\"Athletics\"",
    "\"Athletics\"",
    "discipline `Athletics` of route `results` is not a discipline code",
    "\"ATH\""
)]
#[case::route_bad_document_type(
    "\"DT_RESULT\"",
    "\"RESULT\"",
    "\"RESULT\"",
    "document_type `RESULT` of route `results` is not an ODF document type",
    "DT_RESULT"
)]
#[case::route_unknown_feed(
    "\"STA-results\"",
    "\"STA-resultz\"",
    "\"STA-resultz\"",
    "route `results` names unknown feed `STA-resultz`",
    "defined: STA-results"
)]
#[case::route_unknown_source(
    "source = \"wire-feed\"",
    "source = \"wire\"",
    "\"wire\"",
    "route `route-2` names unknown source `wire`",
    "defined: STA-ovr-a, STA-ovr-b, wire-feed, spare-feed"
)]
#[case::unknown_route_key(
    "source = \"wire-feed\"",
    "source = \"wire-feed\"\nvenue = \"STA\"",
    "venue = ",
    "unknown field `venue`",
    ""
)]
fn a_broken_relay_is_refused_at_the_spot(
    #[case] from: &str,
    #[case] to: &str,
    #[case] marker: &str,
    #[case] message: &str,
    #[case] hint: &str,
) {
    let text = text_with(from, to);
    let Err(diags) = parse(&text) else {
        panic!("accepted: {to}")
    };
    let errors: Vec<&Diagnostic> = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert_eq!(errors.len(), 1, "{}", toc::config::diag::render(&diags));
    let e = errors[0];
    assert!(e.message.contains(message), "{}", e.message);
    assert!(
        e.help.as_deref().unwrap_or_default().contains(hint),
        "{:?}",
        e.help
    );
    let want = position(&text, marker);
    // Errors of serde about a whole table point at the table's first key.
    assert_eq!(
        (e.line, e.column),
        want,
        "{}",
        toc::config::diag::render(&diags)
    );
}

#[rstest]
#[case::no_sources("[[relay.sources]]", "[[relay.nothing]]", "[relay] has no sources")]
#[case::no_sinks("[[relay.sinks]]", "[[relay.nothing]]", "[relay] has no sinks")]
fn a_relay_needs_sources_and_sinks(
    #[case] table: &str,
    #[case] other: &str,
    #[case] message: &str,
) {
    // Turn every table of that list into one of an unknown list; the
    // unknown key is its own error, the emptiness another, at `relay`.
    let text = format!("{BASE}{}", RELAY.replace(table, other));
    let diags = parse(&text).expect_err("refused");
    let e = diags
        .iter()
        .find(|d| d.message.contains(message))
        .unwrap_or_else(|| panic!("{}", toc::config::diag::render(&diags)));
    assert_eq!((e.line, e.column), position(&text, "relay]"));
}

#[test]
fn the_relay_on_its_own_line_without_lists_is_refused_twice() {
    let text = format!("{BASE}\n[relay]\nfsync = false\n");
    let diags = parse(&text).expect_err("refused");
    let msgs: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(msgs, ["[relay] has no sources", "[relay] has no sinks"]);
    for d in &diags {
        assert_eq!((d.line, d.column), position(&text, "relay]"), "{msgs:?}");
    }
}

/// The keys a relay table takes, as toc's unknown-field error lists them.
fn keys_of(table: &str) -> Vec<String> {
    let text = format!("{BASE}{RELAY}\n{table}\nzzz = 1\n");
    let diags = parse(&text).expect_err("an unknown key");
    let msg = &diags
        .iter()
        .find(|d| d.message.contains("unknown field `zzz`"))
        .unwrap_or_else(|| panic!("{}", toc::config::diag::render(&diags)))
        .message;
    let list = msg
        .split("expected one of ")
        .nth(1)
        .or_else(|| msg.split("expected ").nth(1))
        .unwrap_or_else(|| panic!("{msg}"));
    list.split(" in ")
        .next()
        .unwrap_or_default()
        .split(", ")
        .flat_map(|k| k.split(" or "))
        .map(|k| k.trim_matches('`').to_owned())
        .collect()
}

#[test]
fn every_relay_key_is_documented_in_its_section_of_docs_config() {
    let docs = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/config.md"),
    )
    .expect("docs");
    let start = docs.find("## `[relay]`").expect("a [relay] section");
    let section = &docs[start..];
    let section = &section[..section.find("\n# ").unwrap_or(section.len())];
    for (table, sub) in [
        (
            "[[relay.sources]]\nid = \"x\"\ntoken_env = \"X\"",
            "### `[[relay.sources]]`",
        ),
        (
            "[[relay.sinks]]\nid = \"y\"\nkind = \"file\"\ndir = \"d\"\nconsumer = \"media\"",
            "### `[[relay.sinks]]`",
        ),
        (
            "[[relay.routes]]\nsinks = [\"archive\"]",
            "### `[[relay.routes]]`",
        ),
    ] {
        let keys = keys_of(table);
        assert!(keys.len() >= 2, "{keys:?}");
        let at = section.find(sub).unwrap_or_else(|| panic!("no {sub}"));
        let part = &section[at..];
        let part = &part[..part[4..].find("\n### ").map_or(part.len(), |n| n + 4)];
        for key in keys {
            assert!(
                part.contains(&format!("| `{key}` |")),
                "`{key}` of {sub} is not documented in docs/config.md"
            );
        }
    }
    // The [relay] keys themselves, before the first sub-table.
    let head = &section[..section.find("### ").unwrap_or(section.len())];
    for key in ["listen", "max_message", "fsync", "segment_size"] {
        assert!(head.contains(&format!("| `{key}` |")), "`{key}`");
    }
}
