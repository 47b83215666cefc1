//! The `OdfBody` header parser, the well-formedness pass and gzip
//! inflation: every public sample parses, hostile input is refused with a
//! reason and never panics.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;
use proptest::prelude::*;
use toc::relay::odf::{InflateError, OdfError, check_well_formed, inflate, parse_header};

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/odf")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).expect("gzip");
    e.finish().expect("gzip")
}

/// Each sample: its header values as read from the file by eye.
#[test]
fn every_sample_parses() {
    let want = [
        (
            "SYOG2026_ATH_DT_ENTRIES_ATHM100M.xml",
            "SYOG2026",
            "ATHM100M--------------------------",
            "DT_ENTRIES",
            1,
        ),
        (
            "SYOG2026_BK3_DT_ENTRIES_BK3MTEAM3.xml",
            "SYOG2026",
            "BK3MTEAM3-------------------------",
            "DT_ENTRIES",
            1,
        ),
        (
            "SYOG2026_BK3_DT_SCHEDULE.xml",
            "SYOG2026",
            "BK3-------------------------------",
            "DT_SCHEDULE",
            1,
        ),
        (
            "SYOG2026_ARC_DT_PARTIC_TEAMS.xml",
            "SYOG2026",
            "ARC-------------------------------",
            "DT_PARTIC_TEAMS",
            1,
        ),
        (
            "validator_ARC_schedule_good_minimal.xml",
            "SYOG2026",
            "ARC",
            "DT_SCHEDULE",
            1,
        ),
        (
            "OWG2022_TRU_DT_SCHEDULE_UPDATE_v2688_RECONSTRUCTED.xml",
            "OWG2022",
            "TRU-------------------------------",
            "DT_SCHEDULE_UPDATE",
            2688,
        ),
        // ODF1: CompetitionCode is not on OdfBody, so the key has it empty.
        (
            "OG2014_DT_GM_ODF1_streamtools_fixture.xml",
            "",
            "AS0ACV000",
            "DT_GM",
            3,
        ),
    ];
    let mut seen = 0;
    for entry in std::fs::read_dir(fixtures()).expect("fixtures") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "xml") {
            seen += 1;
            let bytes = std::fs::read(&path).expect("read");
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let h = parse_header(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            check_well_formed(&bytes).unwrap_or_else(|e| panic!("{name} not well-formed: {e}"));
            let (_, comp, code, ty, ver) = want
                .iter()
                .find(|w| w.0 == name)
                .unwrap_or_else(|| panic!("{name} has no expectation"));
            assert_eq!(
                (
                    h.key.competition_code.as_str(),
                    h.key.document_code.as_str(),
                    h.key.document_type.as_str(),
                    h.version
                ),
                (*comp, *code, *ty, *ver),
                "{name}"
            );
        }
    }
    assert_eq!(seen, want.len(), "every xml sample has an expectation");
}

/// The London 2012 sample is a header line quoted in a blog post, not a
/// document: the test feeds its `<OdfBody …>` line alone, which the
/// header parser reads (it stops after the root start tag), and which the
/// well-formedness pass refuses (the root is never closed).
#[test]
fn london_header_fragment_parses() {
    let text = std::fs::read_to_string(
        fixtures().join("LONDON2012_DT_RT_CUMULATIVE_RESULT_header_fragment.txt"),
    )
    .expect("read");
    let line = text
        .lines()
        .find(|l| l.starts_with("<OdfBody"))
        .expect("an OdfBody line");
    let h = parse_header(line.as_bytes()).expect("header");
    assert_eq!(h.key.document_code, "ATM001000");
    assert_eq!(h.key.document_type, "DT_RT_CUMULATIVE_RESULT");
    assert_eq!(h.key.document_subtype, "ATM001908");
    assert_eq!(h.version, 1);
    assert_eq!(h.result_status.as_deref(), Some("LIVE_MANDATORY"));
    assert_eq!(h.feed_flag.as_deref(), Some("P"));
    assert_eq!(h.time.as_deref(), Some("125431235"));
    assert_eq!(h.discipline(), "ATM");
    assert!(matches!(
        check_well_formed(line.as_bytes()),
        Err(OdfError::Malformed(_))
    ));
}

#[test]
fn all_header_fields_and_escapes() {
    let xml = br#"<?xml version="1.0"?><!-- c --><?pi x?>
<OdfBody CompetitionCode="OG2026" DocumentCode="ATHM100M" DocumentSubcode="S&amp;1" DocumentType="DT_RESULT" DocumentSubtype="X&#65;" Version=" 7 " ResultStatus="LIVE" FeedFlag="T" Date="2026-02-07" Time="120000000" LogicalDate="2026-02-07" Source="OVR" Legacy="kept"><x/></OdfBody>"#;
    let h = parse_header(xml).expect("header");
    assert_eq!(h.key.document_subcode, "S&1");
    assert_eq!(h.key.document_subtype, "XA");
    assert_eq!(h.version, 7);
    assert_eq!(h.source.as_deref(), Some("OVR"));
    assert_eq!(h.logical_date.as_deref(), Some("2026-02-07"));
    check_well_formed(xml).expect("well-formed");
}

#[test]
fn attribute_edge_cases() {
    let with = |attrs: &str| format!(r#"<OdfBody DocumentCode="A" DocumentType="DT_X" {attrs}/>"#);
    assert_eq!(
        parse_header(with("").as_bytes()),
        Err(OdfError::Missing("Version"))
    );
    assert_eq!(
        parse_header(br#"<OdfBody DocumentType="DT_X" Version="1"/>"#),
        Err(OdfError::Missing("DocumentCode"))
    );
    assert_eq!(
        parse_header(br#"<OdfBody DocumentCode="A" Version="1"/>"#),
        Err(OdfError::Missing("DocumentType"))
    );
    for bad in [
        "abc",
        "-1",
        "",
        "1.5",
        "18446744073709551616",
        "99999999999999999999999999",
    ] {
        let e = parse_header(with(&format!(r#"Version="{bad}""#)).as_bytes());
        assert!(matches!(e, Err(OdfError::BadVersion(_))), "{bad}: {e:?}");
        let text = e.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("Version"), "{text}");
    }
    assert_eq!(
        parse_header(with(r#"Version="18446744073709551615""#).as_bytes()).map(|h| h.version),
        Ok(u64::MAX)
    );
    let e = parse_header(with(r#"Version="1" Source="&lol;""#).as_bytes());
    assert!(
        matches!(&e, Err(OdfError::BadAttribute { name, .. }) if name == "Source"),
        "{e:?}"
    );
    let long = "x".repeat(5000);
    let e = parse_header(with(&format!(r#"Version="1" DocumentSubtype="{long}""#)).as_bytes());
    assert!(matches!(e, Err(OdfError::BadAttribute { .. })), "{e:?}");
    let e = parse_header(with(r#"Version="1" Version="2""#).as_bytes());
    assert!(
        matches!(e, Err(OdfError::Malformed(_))),
        "a repeated attribute: {e:?}"
    );
}

#[test]
fn not_odf_and_empty() {
    assert_eq!(parse_header(b""), Err(OdfError::Empty));
    assert_eq!(parse_header(b"  <!-- only -->  "), Err(OdfError::Empty));
    assert_eq!(
        parse_header(b"<html><body/></html>"),
        Err(OdfError::NotOdf("html".to_owned()))
    );
    assert!(parse_header(b"hello").is_err());
    let e = parse_header(b"<html/>")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("<html>") && e.contains("OdfBody"), "{e}");
}

#[test]
fn billion_laughs_is_refused_quickly_without_expansion() {
    let mut xml =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_owned()
        } else {
            format!("lol{}", i - 1)
        };
        let _ = writeln!(
            xml,
            " <!ENTITY lol{i} \"{}\">",
            format!("&{prev};").repeat(10)
        );
    }
    xml.push_str(
        "]>\n<OdfBody DocumentCode=\"&lol9;\" DocumentType=\"DT_X\" Version=\"1\">&lol9;</OdfBody>",
    );
    let t = Instant::now();
    assert_eq!(parse_header(xml.as_bytes()), Err(OdfError::Doctype));
    assert_eq!(check_well_formed(xml.as_bytes()), Err(OdfError::Doctype));
    assert!(t.elapsed() < Duration::from_millis(50), "{:?}", t.elapsed());
    // Without the DOCTYPE the entity is unknown: refused, not expanded.
    let bare = br#"<OdfBody DocumentCode="A" DocumentType="DT_X" Version="1">&lol9;</OdfBody>"#;
    assert!(
        parse_header(bare).is_ok(),
        "header-only does not read the body"
    );
    assert!(matches!(
        check_well_formed(bare),
        Err(OdfError::Malformed(_))
    ));
}

#[test]
fn well_formedness_cases() {
    let ok = |b: &[u8]| check_well_formed(b).is_ok();
    assert!(ok(br#"<OdfBody DocumentCode="A" DocumentType="T" Version="1"><a x="1&lt;2"><![CDATA[<x>]]></a>&amp;&#233;&#xE9;</OdfBody>
<!-- after -->"#));
    assert!(!ok(b"<OdfBody><a></b></OdfBody>"), "mismatched end tag");
    assert!(!ok(b"<OdfBody><a>"), "unclosed");
    assert!(!ok(b"<OdfBody/><OdfBody/>"), "two roots");
    assert!(!ok(b"<OdfBody/>trailing"), "text after the root");
    assert!(!ok(b"<OdfBody a=\"1\" a=\"2\"/>"), "repeated attribute");
    assert!(
        !ok(b"<OdfBody a=\"&x;\"/>"),
        "unknown entity in an attribute"
    );
    assert!(
        !ok(b"<OdfBody a=\"a & b\"/>"),
        "bare ampersand in an attribute"
    );
    assert!(!ok(b"<OdfBody>&#0;</OdfBody>"), "NUL character reference");
    assert!(!ok(b"<OdfBody>\xff</OdfBody>"), "not UTF-8");
    assert!(!ok(b"</OdfBody>"), "end without start");
    assert!(!ok(b""), "empty");
    assert!(ok("\u{feff}<OdfBody/>".as_bytes()), "a UTF-8 BOM is fine");
}

#[test]
fn inflate_limits_and_corruption() {
    let body = b"<OdfBody/>".repeat(1000);
    assert_eq!(inflate(&gzip(&body), 1 << 20), Ok(body.clone()));
    assert_eq!(inflate(&gzip(&body), body.len() as u64), Ok(body.clone()));
    assert_eq!(
        inflate(&gzip(&body), body.len() as u64 - 1),
        Err(InflateError::TooLarge {
            max: body.len() as u64 - 1
        })
    );
    // Two members are one body.
    let mut two = gzip(b"<OdfBody>");
    two.extend(gzip(b"</OdfBody>"));
    assert_eq!(inflate(&two, 100), Ok(b"<OdfBody></OdfBody>".to_vec()));
    assert!(matches!(
        inflate(b"not gzip", 100),
        Err(InflateError::Corrupt(_))
    ));
    let g = gzip(&body);
    assert!(matches!(
        inflate(&g[..g.len() / 2], 1 << 20),
        Err(InflateError::Corrupt(_))
    ));
}

#[test]
fn gzip_bomb_stops_at_the_limit_quickly() {
    // 1 GiB of zeros compresses to about 1 MiB.
    let mut e = GzEncoder::new(Vec::new(), Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        e.write_all(&zeros).expect("gzip");
    }
    let bomb = e.finish().expect("gzip");
    let t = Instant::now();
    assert_eq!(
        inflate(&bomb, 8 << 20),
        Err(InflateError::TooLarge { max: 8 << 20 })
    );
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

const PREFIX: &[u8] =
    br#"<?xml version="1.0"?><OdfBody DocumentCode="A" DocumentType="DT_RESULT" Version="3" "#;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_header(&bytes);
        let _ = check_well_formed(&bytes);
    }

    #[test]
    fn arbitrary_bytes_after_a_valid_prefix_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut bytes = PREFIX.to_vec();
        bytes.extend(&tail);
        let _ = parse_header(&bytes);
        let _ = check_well_formed(&bytes);
    }

    #[test]
    fn xmlish_text_never_panics(s in r#"[<>/?!\[\]&;#x="' a-zA-Z0-9\-:\n]{0,200}"#) {
        let _ = parse_header(s.as_bytes());
        let _ = check_well_formed(s.as_bytes());
        let mut b = PREFIX.to_vec();
        b.extend(s.as_bytes());
        let _ = parse_header(&b);
        let _ = check_well_formed(&b);
    }

    #[test]
    fn arbitrary_gzip_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512), cut in 0usize..600, max in 0u64..4096) {
        let _ = inflate(&bytes, max);
        let g = gzip(&bytes);
        let g = &g[..cut.min(g.len())];
        if let Ok(out) = inflate(g, max) {
            prop_assert!(out.len() as u64 <= max);
        }
        let mut flipped = gzip(&bytes);
        if let Some(b) = flipped.get_mut(cut) { *b ^= 0x5a; }
        let _ = inflate(&flipped, max);
    }

    #[test]
    fn well_formed_header_round_trips(code in "[A-Z0-9\\-]{1,34}", ty in "DT_[A-Z_]{1,20}", v in any::<u64>()) {
        let xml = format!(r#"<OdfBody DocumentCode="{code}" DocumentType="{ty}" Version="{v}"><x/></OdfBody>"#);
        let h = parse_header(xml.as_bytes()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(h.key.document_code, code);
        prop_assert_eq!(h.key.document_type, ty);
        prop_assert_eq!(h.version, v);
        prop_assert!(check_well_formed(xml.as_bytes()).is_ok());
    }
}
