//! The authenticator on real users files and real argon2 hashes (cheap
//! parameters, so the tests run fast in a debug build).

#![allow(clippy::expect_used)]

use std::time::{Duration, SystemTime};

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use super::*;
use crate::config::SourceFile;

/// The argon2id hash of `token` with small parameters.
fn cheap_hash(token: &str) -> String {
    let params = Params::new(64, 1, 1, None).expect("params");
    let salt = SaltString::encode_b64(b"0123456789abcdef").expect("salt");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(token.as_bytes(), &salt)
        .expect("hash")
        .to_string()
}

const ALICE: &str = "toc_alice-secret";
const TINA: &str = "toc_tina-secret";
const OLD: &str = "toc_old-secret";
const GONE: &str = "toc_gone-secret";

fn at(text: &str) -> SystemTime {
    users::parse_rfc3339(text).expect("date")
}

/// alice (duty manager, uid 1500) with a token expiring at 2027-01-01 and
/// an old one; tina (technician at STA) with a token; `revoked` marks
/// tina's token revoked; `gone` leaves alice's second token out.
fn users_text(revoked: bool) -> String {
    format!(
        r#"[[users]]
name = "alice"
role = "duty_manager"
uid = 1500

[[users.tokens]]
id = "alice-laptop"
hash = "{}"
expires = "2027-01-01T00:00:00Z"

[[users.tokens]]
id = "alice-old"
hash = "{}"
expires = "2026-01-01T00:00:00Z"

[[users]]
name = "tina"
role = "technician"
venues = ["STA"]

[[users.tokens]]
id = "tina-phone"
hash = "{}"
revoked = {revoked}

[[users]]
name = "victor"
role = "viewer"

[[users.tokens]]
id = "victor-wall"
hash = "{}"
"#,
        cheap_hash(ALICE),
        cheap_hash(OLD),
        cheap_hash(TINA),
        cheap_hash(GONE),
    )
}

fn users(text: &str) -> Users {
    Users::parse(&SourceFile::new("users.toml", text.to_owned()), None)
        .expect("valid users")
        .0
}

fn now() -> SystemTime {
    at("2026-06-01T12:00:00Z")
}

#[test]
fn a_good_token_is_its_user() {
    let auth = Authenticator::new(Some(users(&users_text(false))));
    let alice = auth.token(ALICE, now()).expect("alice");
    assert_eq!(
        (alice.user.as_str(), alice.role, alice.venues.len()),
        ("alice", Role::DutyManager, 0)
    );
    let tina = auth.token(&format!(" {TINA}\n"), now()).expect("tina");
    assert_eq!(
        (tina.user.as_str(), tina.role, tina.venues),
        ("tina", Role::Technician, vec!["STA".to_owned()])
    );
}

#[test]
fn a_wrong_token_or_none_is_denied_and_never_echoed() {
    let auth = Authenticator::new(Some(users(&users_text(false))));
    let wrong = auth.token("toc_guess", now()).expect_err("wrong");
    assert_eq!(wrong.reason, "the token matches no token of users.toml");
    let none = auth.token("", now()).expect_err("none");
    assert!(none.reason.starts_with("no token given"), "{none}");
    let blank = auth.token("  ", now()).expect_err("blank");
    assert_eq!(blank, none);
    let long = auth.token(&"x".repeat(5000), now()).expect_err("long");
    assert!(long.reason.contains("longer than"), "{long}");
    for d in [wrong, none, long] {
        assert!(!d.reason.contains("toc_"), "{d}");
    }
    // Every hash was tried for the wrong token, none for the others.
    assert_eq!(auth.verifications(), 4);
}

#[test]
fn an_expired_token_is_denied_by_its_id_at_a_fixed_now() {
    let auth = Authenticator::new(Some(users(&users_text(false))));
    let old = auth.token(OLD, now()).expect_err("expired");
    assert_eq!(
        old.reason,
        "token `alice-old` expired at 2026-01-01T00:00:00Z"
    );
    let edge = at("2027-01-01T00:00:00Z");
    auth.token(ALICE, edge - Duration::from_secs(1))
        .expect("a second before");
    let late = auth.token(ALICE, edge).expect_err("at its expiry");
    assert!(late.reason.contains("`alice-laptop` expired"), "{late}");
    assert!(!late.reason.contains(ALICE), "{late}");
}

#[test]
fn a_revoked_token_is_denied_by_its_id() {
    let auth = Authenticator::new(Some(users(&users_text(true))));
    let d = auth.token(TINA, now()).expect_err("revoked");
    assert_eq!(d.reason, "token `tina-phone` is revoked");
}

#[test]
fn the_cache_spares_argon2_and_honours_revocation_after_reload() {
    let auth = Authenticator::new(Some(users(&users_text(false))));
    auth.token(TINA, now()).expect("first");
    let after_first = auth.verifications();
    assert_eq!(after_first, 4, "every hash tried once");
    for _ in 0..10 {
        auth.token(TINA, now()).expect("cached");
    }
    assert_eq!(
        auth.verifications(),
        after_first,
        "cache hits pay no argon2"
    );
    // Revoked in the file, read again: the cached token is refused.
    auth.reload(Some(users(&users_text(true))));
    let d = auth.token(TINA, now()).expect_err("revoked after reload");
    assert_eq!(d.reason, "token `tina-phone` is revoked");
    // Cached alice expires on the cached path too.
    auth.token(ALICE, now()).expect("alice");
    let n = auth.verifications();
    let late = auth
        .token(ALICE, at("2027-02-01T00:00:00Z"))
        .expect_err("expired while cached");
    assert!(late.reason.contains("expired"), "{late}");
    assert_eq!(auth.verifications(), n, "refused from the cache");
    // A token removed from the file is refused, cached or not.
    auth.token(GONE, now()).expect("victor");
    let without = users_text(false).replace(
        &format!(
            "[[users.tokens]]\nid = \"victor-wall\"\nhash = \"{}\"\n",
            cheap_hash(GONE)
        ),
        "",
    );
    auth.reload(Some(users(&without)));
    let d = auth.token(GONE, now()).expect_err("removed");
    assert_eq!(d.reason, "the token matches no token of users.toml");
    // No users file at all: no tokens.
    auth.reload(None);
    let d = auth.token(ALICE, now()).expect_err("no file");
    assert!(d.reason.contains("there is no users.toml"), "{d}");
}

fn passwd(dir: &Path) -> PathBuf {
    let p = dir.join("passwd");
    std::fs::write(
        &p,
        "root:x:0:0:root:/root:/bin/bash\nana:x:1500:1500::/home/ana:/bin/sh\ntina:x:1501:1501::/home/tina:/bin/sh\nbob:x:1502:1502::/home/bob:/bin/sh\nalice:x:1503:1503::/home/alice:/bin/sh\n",
    )
    .expect("write passwd");
    p
}

#[test]
fn a_socket_peer_is_its_listed_user_or_denied() {
    let dir = tempfile::tempdir().expect("tempdir");
    let auth = Authenticator::new(Some(users(&users_text(false))))
        .with_passwd(passwd(dir.path()))
        .with_own_uid(Some(0));
    // By uid: ana's uid is alice's entry.
    let alice = auth.peer_uid(1500).expect("uid 1500");
    assert_eq!(
        (alice.user.as_str(), alice.role),
        ("alice", Role::DutyManager)
    );
    // By OS name.
    let tina = auth.peer_uid(1501).expect("tina");
    assert_eq!(
        (tina.user.as_str(), tina.role, tina.venues),
        ("tina", Role::Technician, vec!["STA".to_owned()])
    );
    // Unlisted: denied, not a viewer; so is the server's own user.
    let bob = auth.peer_uid(1502).expect_err("bob");
    assert!(
        bob.reason
            .starts_with("uid 1502 (bob) is not listed in users.toml"),
        "{bob}"
    );
    assert!(bob.reason.contains("no viewer default"), "{bob}");
    assert!(auth.peer_uid(0).is_err(), "root is not listed");
    // alice's entry is pinned to uid 1500: OS user alice is not her.
    assert!(auth.peer_uid(1503).is_err());
    let nobody = auth.peer_uid(4242).expect_err("no name");
    assert!(
        nobody.reason.starts_with("uid 4242 is not listed"),
        "{nobody}"
    );
}

#[test]
fn without_a_users_file_only_the_servers_own_user_comes_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let auth = Authenticator::new(None)
        .with_passwd(passwd(dir.path()))
        .with_own_uid(Some(1502));
    let me = auth.peer_uid(1502).expect("own user");
    assert_eq!(
        (me.user.as_str(), me.role, me.venues.len()),
        ("bob", Role::DutyManager, 0)
    );
    let other = auth.peer_uid(1501).expect_err("another user");
    assert!(
        other
            .reason
            .starts_with("uid 1501 (tina) is not the server's own user"),
        "{other}"
    );
    let d = auth.token(ALICE, now()).expect_err("no tokens");
    assert!(d.reason.starts_with("no tokens are configured"), "{d}");
}

#[test]
fn from_file_reads_the_users_file_or_none() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("users.toml");
    let none = Authenticator::from_file(&path, None).expect("absent is no file");
    assert!(none.token(ALICE, now()).is_err());
    std::fs::write(&path, users_text(false)).expect("write");
    let auth = Authenticator::from_file(&path, None).expect("reads");
    assert_eq!(auth.token(ALICE, now()).expect("alice").user, "alice");
    std::fs::write(&path, "[[users]]\nname = \"x\"\nrole = \"boss\"\n").expect("write");
    let errs = Authenticator::from_file(&path, None).expect_err("bad file");
    assert_eq!((errs[0].line, errs[0].column), (3, 8));
}

#[test]
fn made_tokens_hash_and_verify_with_default_parameters() {
    let token = new_token();
    assert!(token.starts_with(tokens::PREFIX), "{token}");
    assert_eq!(token.len(), tokens::PREFIX.len() + 64);
    assert_ne!(token, new_token());
    let hash = hash_token(&token).expect("hash");
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(!hash.contains(&token));
    assert!(verify_token(&token, &hash));
    assert!(!verify_token("toc_other", &hash));
    assert!(!verify_token(&token, "not a hash"));
}
