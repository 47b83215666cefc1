//! The relay's header-only parse against the whole-message
//! well-formedness pass ingest runs before journaling, for a 4 KB and a
//! 1 MB message; and the memory of the dedup map for 200,000 documents.
//!
//! Run with `cargo bench --bench relay_odf`; without `--bench` (as `cargo
//! test --all-targets` runs it) it does a quick round.
#![allow(
    clippy::cast_precision_loss,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation
)]

use std::alloc::System;
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Instant;

use cap::Cap;
use toc::relay::dedup::Dedup;
use toc::relay::odf::{DocKey, check_well_formed, parse_header};

#[global_allocator]
static ALLOC: Cap<System> = Cap::new(System, usize::MAX);

/// A DT_RESULT-like message of about `size` bytes.
fn message(size: usize) -> Vec<u8> {
    let mut s = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<OdfBody CompetitionCode="OG2026" DocumentCode="ATHM100M--------------FNL-000100--" DocumentSubcode="" DocumentType="DT_RESULT" DocumentSubtype="" Version="12" ResultStatus="LIVE" FeedFlag="P" Date="2026-02-07" Time="120000000" LogicalDate="2026-02-07" Source="OVR_ATH">
<Competition Gen="OG-2026-GEN" Sport="OG-2026-ATH" Codes="OG-2026-CC">
"#,
    );
    let mut i = 0;
    while s.len() + 200 < size {
        i += 1;
        let _ = writeln!(
            s,
            r#"<Result Rank="{i}" SortOrder="{i}" ResultType="TIME" Result="10.{i:02}" StartOrder="{i}"><Competitor Code="90000{i}" Type="A" Organisation="CAF"/></Result>"#
        );
    }
    s.push_str("</Competition>\n</OdfBody>\n");
    s.into_bytes()
}

fn time(what: &str, msg: &[u8], iters: u32, f: impl Fn(&[u8]) -> bool) -> f64 {
    let t = Instant::now();
    for _ in 0..iters {
        assert!(f(black_box(msg)));
    }
    let per = t.elapsed().as_secs_f64() / f64::from(iters);
    println!(
        "  {what:<28} {:>9.2} us/msg  {:>8.0} MB/s",
        per * 1e6,
        msg.len() as f64 / per / 1e6
    );
    per
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let scale = if full { 1 } else { 100 };
    for (label, size, iters) in [
        ("4 KB", 4096, 200_000 / scale),
        ("1 MB", 1 << 20, 500 / scale),
    ] {
        let msg = message(size);
        println!("{label} message ({} bytes):", msg.len());
        let h = time("parse_header (header only)", &msg, iters, |m| {
            parse_header(m).is_ok()
        });
        let w = time("check_well_formed (whole)", &msg, iters, |m| {
            check_well_formed(m).is_ok()
        });
        println!("  well-formedness costs {:.1}x the header parse", w / h);
    }
    let n = if full { 200_000 } else { 2_000 };
    let before = ALLOC.allocated();
    let mut d = Dedup::new();
    for i in 0..n {
        let key = DocKey {
            competition_code: "OG2026".to_owned(),
            document_code: format!("ATHM100M--------------{i:08}----"),
            document_subcode: String::new(),
            document_type: "DT_RESULT".to_owned(),
            document_subtype: String::new(),
        };
        d.accept(&key, 1);
    }
    let bytes = ALLOC.allocated() - before;
    println!(
        "dedup map: {n} keys hold {:.1} MB ({} bytes per key)",
        bytes as f64 / 1e6,
        bytes / n
    );
    let dir = std::env::temp_dir().join(format!("toc-relay-odf-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("dedup.ckpt");
    let t = Instant::now();
    d.checkpoint(&path, 1).expect("checkpoint");
    let wrote = t.elapsed();
    let t = Instant::now();
    let (back, _) = Dedup::load(&path).expect("load");
    let read = t.elapsed();
    assert_eq!(back.len(), d.len());
    println!(
        "dedup checkpoint: {} bytes, written in {wrote:?} (with fsync), loaded in {read:?}",
        std::fs::metadata(&path).map_or(0, |m| m.len())
    );
    let _ = std::fs::remove_dir_all(&dir);
}
