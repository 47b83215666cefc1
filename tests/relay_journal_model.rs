//! The journal against a plain in-memory model: random appends, reads,
//! cursor and floor moves and reopens; both must agree.

#![allow(clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use proptest::prelude::*;
use toc::relay::journal::{Journal, JournalError, JournalOptions, Log, Record};

#[derive(Debug, Clone)]
enum Op {
    Append(Vec<usize>),
    Read {
        from: u64,
        max: usize,
        max_bytes: usize,
    },
    Cursor {
        who: u8,
        back: u64,
    },
    Floor {
        back: u64,
    },
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => prop::collection::vec(0usize..700, 0..12).prop_map(Op::Append),
        3 => (0u64..400, 1usize..50, 1usize..4000)
            .prop_map(|(from, max, max_bytes)| Op::Read { from, max, max_bytes }),
        2 => (0u8..3, 0u64..40).prop_map(|(who, back)| Op::Cursor { who, back }),
        1 => (0u64..60).prop_map(|back| Op::Floor { back }),
        1 => Just(Op::Reopen),
    ]
}

fn data(seq: u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (seq ^ i as u64).to_le_bytes()[0])
        .collect()
}

const OPTS: JournalOptions = JournalOptions {
    segment_size: 2048,
    fsync: false,
};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn the_journal_agrees_with_a_model(ops in prop::collection::vec(op(), 1..60)) {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut j, _) = Journal::open(dir.path(), OPTS).expect("open");
        let mut model: Vec<Vec<u8>> = Vec::new();
        let mut cursors: BTreeMap<String, u64> = BTreeMap::new();
        let mut floor = 0u64;
        let mut first_seen = 1u64;
        for op in ops {
            let head = model.len() as u64 + 1;
            match op {
                Op::Append(lens) => {
                    let bytes: Vec<Vec<u8>> =
                        lens.iter().enumerate().map(|(i, l)| data(head + i as u64, *l)).collect();
                    let recs: Vec<Record<'_>> = bytes
                        .iter()
                        .map(|d| Record { time: UNIX_EPOCH + Duration::from_secs(head), data: d })
                        .collect();
                    prop_assert_eq!(j.append(&recs), Ok(head));
                    model.extend(bytes);
                }
                Op::Read { from, max, max_bytes } => {
                    let got = j.read(from, max, max_bytes);
                    let first = j.first();
                    if from < first {
                        prop_assert_eq!(got, Err(JournalError::Gone { first }));
                    } else {
                        let got = got.expect("read");
                        let want = usize::try_from(head.saturating_sub(from)).expect("small").min(max);
                        prop_assert!(got.len() <= want);
                        prop_assert!(want == 0 || !got.is_empty());
                        let sum: usize = got.iter().map(|s| s.data.len()).sum();
                        prop_assert!(got.len() <= 1 || sum <= max_bytes);
                        for (i, s) in got.iter().enumerate() {
                            let seq = from + i as u64;
                            prop_assert_eq!(s.seq, seq);
                            prop_assert_eq!(&s.data, &model[usize::try_from(seq - 1).expect("small")]);
                        }
                    }
                }
                Op::Cursor { who, back } => {
                    let name = format!("sink{who}");
                    let next = head.saturating_sub(back).max(1);
                    j.set_cursor(&name, next).expect("cursor");
                    cursors.insert(name, next);
                }
                Op::Floor { back } => {
                    floor = head.saturating_sub(back);
                    j.set_floor(floor).expect("floor");
                }
                Op::Reopen => {
                    drop(j);
                    let (k, report) = Journal::open(dir.path(), OPTS).expect("reopen");
                    prop_assert_eq!(report.truncated_bytes, 0);
                    j = k;
                    floor = 0;
                    for (name, next) in &cursors {
                        prop_assert_eq!(j.cursor(name), Some(*next));
                    }
                }
            }
            let limit = cursors.values().copied().fold(floor, u64::min);
            let first = j.first();
            prop_assert_eq!(j.head(), model.len() as u64 + 1);
            prop_assert!(first >= first_seen, "first went back");
            prop_assert!(first <= limit.max(first_seen).min(j.head()), "deleted past the cursors");
            first_seen = first;
        }
    }
}
