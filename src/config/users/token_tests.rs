//! `[[users.tokens]]` and `uid` in users.toml: what reads, and every
//! error at its exact `file:line:column`.

use std::time::{Duration, SystemTime};

use super::*;

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$G2n5cUZaL3Y0nR4c5pVn3m2bBJb0xj4Q7xJ7H8zWv1E";

fn parse(text: &str) -> Result<Users, Vec<Diagnostic>> {
    Users::parse(&SourceFile::new("users.toml", text.to_owned()), None).map(|(u, _)| u)
}

/// (line, column, a piece of the message) of each error, sorted.
fn errors(text: &str) -> Vec<(usize, usize, String)> {
    parse(text)
        .expect_err("errors")
        .into_iter()
        .map(|d| {
            assert!(d.help.is_some(), "{d:?} has no help");
            (d.line, d.column, d.message)
        })
        .collect()
}

#[test]
fn tokens_and_uids_read() {
    let text = format!(
        "[[users]]\nname = \"alice\"\nrole = \"duty_manager\"\nuid = 1001\n\n[[users.tokens]]\nid = \"alice-laptop\"\nhash = \"{HASH}\"\nexpires = \"2027-01-01T00:00:00Z\"\n\n[[users.tokens]]\nid = \"alice-old\"\nhash = \"{HASH}\"\nrevoked = true\n\n[[users]]\nname = \"victor\"\nrole = \"viewer\"\n"
    );
    let users = parse(&text).expect("valid");
    let alice = &users.users[0];
    assert_eq!(alice.uid, Some(1001));
    assert_eq!(alice.tokens.len(), 2);
    assert_eq!(alice.tokens[0].id, "alice-laptop");
    assert_eq!(alice.tokens[0].hash, HASH);
    assert_eq!(
        alice.tokens[0].expires,
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_798_761_600))
    );
    assert!(!alice.tokens[0].revoked);
    assert!(alice.tokens[1].revoked && alice.tokens[1].expires.is_none());
    assert_eq!(users.users[1].uid, None);
    assert!(users.users[1].tokens.is_empty());
    let ids: Vec<(&str, &str)> = users
        .tokens()
        .map(|(u, t)| (u.name.as_str(), t.id.as_str()))
        .collect();
    assert_eq!(ids, [("alice", "alice-laptop"), ("alice", "alice-old")]);
}

#[test]
fn a_peer_is_found_by_uid_then_by_name() {
    let text = "[[users]]\nname = \"alice\"\nrole = \"duty_manager\"\nuid = 1001\n\n[[users]]\nname = \"tina\"\nrole = \"technician\"\nvenues = [\"STA\"]\n";
    let users = parse(text).expect("valid");
    let name = |u: Option<&User>| u.map(|u| u.name.clone());
    assert_eq!(
        name(users.lookup_peer(1001, Some("ana"))),
        Some("alice".into())
    );
    assert_eq!(
        name(users.lookup_peer(1002, Some("tina"))),
        Some("tina".into())
    );
    // alice's entry is pinned to uid 1001: another uid named alice is not her.
    assert_eq!(name(users.lookup_peer(1003, Some("alice"))), None);
    assert_eq!(name(users.lookup_peer(1004, None)), None);
}

#[test]
fn bad_hashes_dates_ids_and_uids_are_errors_at_their_place() {
    let text = format!(
        "[[users]]\nname = \"alice\"\nrole = \"duty_manager\"\nuid = -1\n\n[[users.tokens]]\nid = \"a\"\nhash = \"hunter2\"\n\n[[users.tokens]]\nid = \"b\"\nhash = \"{HASH}\"\nexpires = \"2027-01-01\"\n\n[[users]]\nname = \"bob\"\nrole = \"viewer\"\nuid = 7\n\n[[users.tokens]]\nid = \"a\"\nhash = \"$pbkdf2-sha256$i=1000$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo\"\n\n[[users]]\nname = \"carol\"\nrole = \"viewer\"\nuid = 7\n"
    );
    let got = errors(&text);
    let want: Vec<(usize, usize, &str)> = vec![
        (4, 7, "uid -1 of `alice` is not a user id"),
        (8, 8, "`hash` is not a PHC hash string"),
        (13, 11, "`expires`: `2027-01-01` is not an RFC 3339 date"),
        (
            21,
            6,
            "duplicate token id `a` (first given at users.toml:7:6)",
        ),
        (22, 8, "`hash` uses `pbkdf2-sha256`, not argon2"),
        (27, 7, "duplicate uid 7 (first given at users.toml:18:7)"),
    ];
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for ((line, col, msg), (wl, wc, wm)) in got.iter().zip(&want) {
        assert_eq!((*line, *col), (*wl, *wc), "{msg}");
        assert!(msg.starts_with(wm), "{msg} should start with {wm}");
    }
}

#[test]
fn a_token_entry_takes_only_its_keys() {
    let text = format!(
        "[[users]]\nname = \"alice\"\nrole = \"viewer\"\n\n[[users.tokens]]\nid = \"a\"\nhash = \"{HASH}\"\ntoken = \"s3cret\"\n"
    );
    let got = errors(&text);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0].0, got[0].1), (8, 1), "{got:?}");
    assert!(got[0].2.contains("token"), "{got:?}");
    let missing =
        "[[users]]\nname = \"alice\"\nrole = \"viewer\"\n\n[[users.tokens]]\nid = \"a\"\n";
    let got = errors(missing);
    assert!(got[0].2.contains("hash"), "{got:?}");
}
