//! Properties of our SNMP codec on the bytes an agent (or anyone on the
//! network) can send us: decoding never panics and never allocates more
//! than the datagram justifies, whatever the bytes; everything we encode
//! reads back the same, v2c and v3 (plain, and authenticated + encrypted);
//! and an independent decoder (the `snmp2` crate) reads our responses the
//! way we mean them.
//!
//! The whole test binary runs under a 1 GiB heap cap: a decoder that
//! trusted a length field claiming 4 GiB would abort it.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::alloc::System;
use std::sync::OnceLock;

use cap::Cap;
use proptest::collection::vec;
use proptest::prelude::*;

use toc::snmp::ber::{DecodeError, Reader, Writer, decode_signed, decode_unsigned, tag};
use toc::snmp::pdu::{
    CommunityMessage, Message, Oid, Pdu, PduType, ScopedData, ScopedPdu, UsmParams, V3Message,
    Value, flags,
};
use toc::snmp::usm::{AuthProto, EngineClock, LocalKeys, PrivProto, UsmUser, report, stats};

const HEAP_LIMIT: usize = 1 << 30;

#[global_allocator]
static HEAP: Cap<System> = Cap::new(System, HEAP_LIMIT);

// ---------------------------------------------------------------------------
// Strategies

fn arc() -> impl Strategy<Value = u32> {
    prop_oneof![0u32..128, any::<u32>(), Just(u32::MAX)]
}

/// Any OID the wire can carry: 0.x and 1.x with x < 40, 2.x with x up to
/// 2^32 - 81 (the first sub-identifier holds 80 + x), then up to 126 more
/// arcs of any u32 — 128 arcs in all, RFC 2578's maximum.
fn oid() -> impl Strategy<Value = Oid> {
    let head = prop_oneof![
        (0u32..2, 0u32..40),
        (Just(2u32), 0u32..1000),
        (Just(2u32), Just(u32::MAX - 80)),
    ];
    (head, vec(arc(), 0..=126)).prop_map(|((a, b), rest)| {
        let mut arcs = vec![a, b];
        arcs.extend(rest);
        Oid(arcs)
    })
}

/// OIDs whose first sub-identifier is one octet (first two arcs below
/// 2.40): every MIB object toc reads. `snmp2`'s OID type (asn1-rs 0.6)
/// splits the first arc pair from the first octet alone, so it misreads
/// 2.40 and above, and it reads `0.0` alone as `0`; those stay out of the
/// cross-check.
fn common_oid() -> impl Strategy<Value = Oid> {
    ((0u32..3, 0u32..40), vec(arc(), 0..=40))
        .prop_map(|((a, b), rest)| {
            let mut arcs = vec![a, b];
            arcs.extend(rest);
            Oid(arcs)
        })
        .prop_filter("0.0 alone", |o| o.arcs() != [0, 0])
}

fn octets() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        vec(any::<u8>(), 0..64),
        vec(any::<u8>(), 120..2000),
    ]
}

fn u64_edges() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        (0u64..1024).prop_map(|d| u64::MAX - d),
        (0u64..1024).prop_map(|d| (1u64 << 63) - 512 + d),
        (0u64..1024).prop_map(|d| (1u64 << 32) - 512 + d),
        Just(0),
    ]
}

fn u32_edges() -> impl Strategy<Value = u32> {
    prop_oneof![
        any::<u32>(),
        Just(u32::MAX),
        Just(1 << 31),
        Just(0),
        0u32..300
    ]
}

fn i64_edges() -> impl Strategy<Value = i64> {
    prop_oneof![
        any::<i64>(),
        Just(i64::MIN),
        Just(i64::MAX),
        -300i64..300,
        (0i64..1024).prop_map(|d| i64::from(i32::MIN) - 512 + d),
    ]
}

fn value_with(oid: BoxedStrategy<Oid>) -> impl Strategy<Value = Value> {
    prop_oneof![
        i64_edges().prop_map(Value::Integer),
        octets().prop_map(Value::OctetString),
        Just(Value::Null),
        oid.prop_map(Value::Oid),
        any::<[u8; 4]>().prop_map(Value::IpAddress),
        u32_edges().prop_map(Value::Counter32),
        u32_edges().prop_map(Value::Gauge32),
        u32_edges().prop_map(Value::TimeTicks),
        octets().prop_map(Value::Opaque),
        u64_edges().prop_map(Value::Counter64),
        Just(Value::NoSuchObject),
        Just(Value::NoSuchInstance),
        Just(Value::EndOfMibView),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    value_with(oid().boxed())
}

fn pdu_kind() -> impl Strategy<Value = PduType> {
    prop_oneof![
        Just(PduType::Get),
        Just(PduType::GetNext),
        Just(PduType::Response),
        Just(PduType::Set),
        Just(PduType::GetBulk),
        Just(PduType::Inform),
        Just(PduType::Trap),
        Just(PduType::Report),
    ]
}

fn pdu() -> impl Strategy<Value = Pdu> {
    (
        pdu_kind(),
        any::<i32>(),
        any::<i32>(),
        any::<i32>(),
        vec((oid(), value()), 0..12),
    )
        .prop_map(
            |(kind, request_id, error_status, error_index, varbinds)| Pdu {
                kind,
                request_id,
                error_status,
                error_index,
                varbinds,
            },
        )
}

fn v2c() -> impl Strategy<Value = CommunityMessage> {
    (vec(any::<u8>(), 0..48), pdu())
        .prop_map(|(community, pdu)| CommunityMessage { community, pdu })
}

fn scoped() -> impl Strategy<Value = ScopedPdu> {
    (vec(any::<u8>(), 0..32), vec(any::<u8>(), 0..32), pdu()).prop_map(
        |(context_engine_id, context_name, pdu)| ScopedPdu {
            context_engine_id,
            context_name,
            pdu,
        },
    )
}

fn usm_params() -> impl Strategy<Value = UsmParams> {
    (
        vec(any::<u8>(), 0..32),
        u32_edges(),
        u32_edges(),
        vec(any::<u8>(), 0..32),
        vec(any::<u8>(), 0..=24),
        vec(any::<u8>(), 0..=8),
    )
        .prop_map(
            |(engine_id, engine_boots, engine_time, user, auth_params, priv_params)| UsmParams {
                engine_id,
                engine_boots,
                engine_time,
                user,
                auth_params,
                priv_params,
            },
        )
}

fn v3_plain() -> impl Strategy<Value = V3Message> {
    (
        any::<i32>(),
        any::<i32>(),
        any::<u8>(),
        usm_params(),
        prop_oneof![
            scoped().prop_map(ScopedData::Plain),
            vec(any::<u8>(), 0..600).prop_map(ScopedData::Encrypted),
        ],
    )
        .prop_map(|(msg_id, max_size, flags, usm, data)| V3Message {
            msg_id,
            max_size,
            flags,
            usm,
            data,
        })
}

/// Users for every auth and privacy pairing, made once: turning a
/// passphrase into a key hashes a megabyte.
fn users() -> &'static [UsmUser] {
    static USERS: OnceLock<Vec<UsmUser>> = OnceLock::new();
    USERS.get_or_init(|| {
        let mut out = Vec::new();
        for ap in [AuthProto::Sha1, AuthProto::Sha256] {
            for pp in [PrivProto::Aes128, PrivProto::Aes256] {
                out.push(UsmUser::new(
                    format!("toc-{ap}-{pp}").as_bytes(),
                    Some((ap, b"auth-passphrase")),
                    Some((pp, b"priv-passphrase")),
                ));
            }
        }
        out
    })
}

// ---------------------------------------------------------------------------
// Helpers

/// Every decoder we have, run on the same bytes. Each must return, not
/// panic; what they return does not matter here.
fn decode_everything(bytes: &[u8]) {
    if let Ok(Message::V2c(m)) = Message::decode(bytes) {
        // Whatever we accept re-encodes to the same message.
        assert_eq!(
            Message::decode(&m.encode()),
            Ok(Message::V2c(m.clone())),
            "re-encoding an accepted message changed it"
        );
    }
    if let Ok(Message::V3(m, range)) = Message::decode(bytes) {
        assert!(range.end <= bytes.len() && range.start <= range.end);
        let again = match Message::decode(&m.encode().0) {
            Ok(Message::V3(again, _)) => again,
            other => panic!("re-encoded v3 message does not decode: {other:?}"),
        };
        assert_eq!(again, m, "re-encoding an accepted v3 message changed it");
    }
    let _ = V3Message::decode(bytes);
    let _ = ScopedPdu::decode(bytes);
    let _ = Pdu::decode(&mut Reader::new(bytes));
    let _ = decode_signed(bytes);
    let _ = decode_unsigned(bytes);
}

/// Where a BER element's header sits in a message.
#[derive(Debug, Clone, Copy)]
struct Header {
    /// Offset of the first length octet.
    len_at: usize,
    /// Offset of the first content octet (just past the length octets).
    content_at: usize,
    content_len: usize,
}

fn offset(outer: &[u8], inner: &[u8]) -> usize {
    inner.as_ptr() as usize - outer.as_ptr() as usize
}

/// Every element header in `bytes`, descending into constructed elements
/// and into OCTET STRINGs that hold exactly one constructed element (the
/// v3 security parameters).
fn headers(whole: &[u8], part: &[u8], out: &mut Vec<Header>) {
    let mut r = Reader::new(part);
    while !r.is_empty() {
        let Ok(element) = r.clone().element() else {
            return;
        };
        let Ok((t, contents)) = r.any() else {
            return;
        };
        let at = offset(whole, element);
        out.push(Header {
            len_at: at + 1,
            content_at: offset(whole, contents),
            content_len: contents.len(),
        });
        let holds_one_element = || {
            let mut inner = Reader::new(contents);
            inner.any().is_ok_and(|(t, _)| t & 0x20 != 0) && inner.is_empty()
        };
        if t & 0x20 != 0 || (t == tag::OCTET_STRING && holds_one_element()) {
            headers(whole, contents, out);
        }
    }
}

/// BER length octets for `len`, the short form when it fits.
fn length_octets(len: usize) -> Vec<u8> {
    if len < 0x80 {
        return vec![u8::try_from(len).unwrap()];
    }
    let bytes = len.to_be_bytes();
    let start = bytes.iter().position(|&b| b != 0).unwrap();
    let mut out = vec![0x80 | u8::try_from(bytes.len() - start).unwrap()];
    out.extend_from_slice(&bytes[start..]);
    out
}

/// Length fields that lie: too long, absurd, of unsupported forms.
fn lying_lengths(real: usize) -> Vec<Vec<u8>> {
    let mut out = vec![
        length_octets(real + 1),
        length_octets(real + 0x100),
        length_octets(real + 0x1_0000),
        vec![0x84, 0xff, 0xff, 0xff, 0xff], // 4 GiB - 1
        vec![0x84, 0x7f, 0xff, 0xff, 0xff], // 2 GiB - 1
        vec![0x83, 0xff, 0xff, 0xff],       // 16 MiB - 1
        vec![0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // usize::MAX
        vec![0x85, 0x01, 0x00, 0x00, 0x00, 0x00], // 4 GiB, five octets
        vec![0x80],                         // indefinite
        vec![0xff],                         // reserved
        vec![0x81],                         // long form, octet missing
    ];
    if real > 0 {
        out.push(length_octets(real - 1));
    }
    out
}

fn replace(bytes: &[u8], range: std::ops::Range<usize>, with: &[u8]) -> Vec<u8> {
    let mut out = bytes[..range.start].to_vec();
    out.extend_from_slice(with);
    out.extend_from_slice(&bytes[range.end..]);
    out
}

/// Each length field of `bytes` replaced in turn by each lying length:
/// decoding must return (and, at the top level, fail).
fn check_lying_lengths(bytes: &[u8]) {
    let mut hs = Vec::new();
    headers(bytes, bytes, &mut hs);
    assert!(!hs.is_empty());
    for (i, h) in hs.iter().enumerate() {
        for lie in lying_lengths(h.content_len) {
            let forged = replace(bytes, h.len_at..h.content_at, &lie);
            decode_everything(&forged);
            if i == 0 {
                assert!(
                    Message::decode(&forged).is_err(),
                    "top-level length {lie:02x?} accepted"
                );
            }
        }
    }
}

/// `bytes` (one SEQUENCE) cut to every shorter length, both as a datagram
/// that stops early and with the outer length rewritten to match, so the
/// cut is found deep inside. All must fail.
fn check_truncations(bytes: &[u8]) {
    let mut hs = Vec::new();
    headers(bytes, bytes, &mut hs);
    let top = hs[0];
    assert_eq!(top.content_at + top.content_len, bytes.len());
    for cut in 0..bytes.len() {
        assert!(
            Message::decode(&bytes[..cut]).is_err(),
            "a datagram cut at {cut} of {} decoded",
            bytes.len()
        );
        decode_everything(&bytes[..cut]);
    }
    let contents = &bytes[top.content_at..];
    for keep in 0..contents.len() {
        let mut forged = vec![tag::SEQUENCE];
        forged.extend(length_octets(keep));
        forged.extend_from_slice(&contents[..keep]);
        assert!(
            Message::decode(&forged).is_err(),
            "contents cut to {keep} of {} decoded",
            contents.len()
        );
        decode_everything(&forged);
    }
}

/// Each byte of `bytes` changed in turn by XOR with `mask`.
fn check_flips(bytes: &[u8], mask: u8) {
    for i in 0..bytes.len() {
        let mut b = bytes.to_vec();
        b[i] ^= mask;
        decode_everything(&b);
    }
}

/// An authenticated, encrypted v3 message as an agent sends it, and the
/// scoped PDU inside it.
fn seal(keys: &LocalKeys, usm: UsmParams, msg_id: i32, salt: u64, scoped: &ScopedPdu) -> Vec<u8> {
    let (cipher, salt) = keys
        .encrypt(usm.engine_boots, usm.engine_time, salt, &scoped.encode())
        .expect("privacy is on");
    let msg = V3Message {
        msg_id,
        max_size: 65_507,
        flags: flags::AUTH | flags::PRIV,
        usm: UsmParams {
            auth_params: vec![0; keys.mac_len()],
            priv_params: salt,
            ..usm
        },
        data: ScopedData::Encrypted(cipher),
    };
    let (mut bytes, range) = msg.encode();
    keys.sign(&mut bytes, range);
    bytes
}

/// What a receiver does with a sealed message: check its MAC, decrypt,
/// decode. `None` when any step refuses it.
fn open(keys: &LocalKeys, bytes: &[u8]) -> Option<ScopedPdu> {
    let Ok(Message::V3(m, range)) = Message::decode(bytes) else {
        return None;
    };
    if m.flags & flags::AUTH == 0 || !keys.verify(bytes, range) {
        return None;
    }
    let ScopedData::Encrypted(cipher) = &m.data else {
        return None;
    };
    let plain = keys
        .decrypt(
            m.usm.engine_boots,
            m.usm.engine_time,
            &m.usm.priv_params,
            cipher,
        )
        .ok()?;
    ScopedPdu::decode(&plain).ok()
}

// ---------------------------------------------------------------------------
// Decoding never panics

/// One step on a `Reader`.
#[derive(Debug, Clone, Copy)]
enum Step {
    Peek,
    Any,
    Element,
    Expect(u8),
    Nested(u8),
    Integer(u8),
    I32,
    Octets,
}

fn step() -> impl Strategy<Value = Step> {
    let tags = prop_oneof![
        Just(tag::INTEGER),
        Just(tag::OCTET_STRING),
        Just(tag::SEQUENCE),
        Just(tag::OID),
        Just(tag::COUNTER64),
        any::<u8>()
    ];
    prop_oneof![
        Just(Step::Peek),
        Just(Step::Any),
        Just(Step::Element),
        tags.clone().prop_map(Step::Expect),
        tags.clone().prop_map(Step::Nested),
        tags.prop_map(Step::Integer),
        Just(Step::I32),
        Just(Step::Octets),
    ]
}

/// Bytes that look like the start of an SNMP message more often than
/// uniform noise does, so the fuzzing gets past the first tag.
fn noise() -> impl Strategy<Value = Vec<u8>> {
    let prefix = prop_oneof![
        Just(vec![]),
        Just(vec![0x30]),
        Just(vec![0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x01]),
        Just(vec![0x30, 0x81, 0x90, 0x02, 0x01, 0x03, 0x30]),
        Just(vec![0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
    ];
    (prefix, vec(any::<u8>(), 0..300)).prop_map(|(mut p, rest)| {
        p.extend(rest);
        p
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in noise()) {
        decode_everything(&bytes);
    }

    #[test]
    fn reader_steps_on_arbitrary_bytes_never_panic(
        bytes in noise(),
        steps in vec(step(), 1..12),
    ) {
        let mut r = Reader::new(&bytes);
        for s in steps {
            let before = r.remaining().len();
            let ok = match s {
                Step::Peek => r.peek_tag().is_ok(),
                Step::Any => r.any().is_ok(),
                Step::Element => match r.clone().element() {
                    Ok(element) => {
                        // The element read whole parses back to what `any` reads.
                        let mut again = Reader::new(element);
                        prop_assert_eq!(again.any(), r.any());
                        prop_assert!(again.is_empty());
                        true
                    }
                    Err(e) => {
                        prop_assert_eq!(r.any().err(), Some(e));
                        false
                    }
                },
                Step::Expect(t) => r.expect(t).is_ok(),
                Step::Nested(t) => r.nested(t).is_ok_and(|n| n.remaining().len() < before),
                Step::Integer(t) => r.integer(t).is_ok(),
                Step::I32 => r.i32().is_ok(),
                Step::Octets => r.octets().is_ok(),
            };
            let after = r.remaining().len();
            prop_assert!(after <= before);
            if !ok {
                // A failed read consumes nothing, except a bad value whose
                // element was read (integer out of range).
                prop_assert!(after == before || matches!(s, Step::Integer(_) | Step::I32));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn damaged_v2c_messages_never_panic(msg in v2c(), mask in 1u8..=255) {
        let bytes = msg.encode();
        check_truncations(&bytes);
        check_lying_lengths(&bytes);
        check_flips(&bytes, mask);
    }

    #[test]
    fn damaged_v3_messages_never_panic(msg in v3_plain(), mask in 1u8..=255) {
        let (bytes, _) = msg.encode();
        check_truncations(&bytes);
        check_lying_lengths(&bytes);
        check_flips(&bytes, mask);
    }
}

#[test]
fn the_heap_cap_is_live() {
    // The cap that makes "no absurd allocation" checkable must itself
    // work: a 2 GiB request is refused, not granted lazily by the kernel.
    let mut v: Vec<u8> = Vec::new();
    assert!(v.try_reserve(2 << 30).is_err());
    assert!(HEAP.allocated() < HEAP_LIMIT);
}

#[test]
fn lengths_claiming_gigabytes_are_truncation_not_allocation() {
    // An OCTET STRING, a community and a whole message each claiming
    // 4 GiB - 1 in a datagram of a few bytes.
    let claim = [0x84, 0xff, 0xff, 0xff, 0xff];
    let mut octets = vec![tag::OCTET_STRING];
    octets.extend(claim);
    octets.extend(b"abc");
    assert_eq!(Reader::new(&octets).octets(), Err(DecodeError::Truncated));

    let mut inner = vec![0x02, 0x01, 0x01, tag::OCTET_STRING];
    inner.extend(claim);
    inner.extend(b"publ");
    let mut msg = vec![tag::SEQUENCE, u8::try_from(inner.len()).unwrap()];
    msg.extend(inner);
    assert_eq!(Message::decode(&msg), Err(DecodeError::Truncated));

    let mut top = vec![tag::SEQUENCE];
    top.extend(claim);
    top.extend([0x02, 0x01, 0x01]);
    assert_eq!(Message::decode(&top), Err(DecodeError::Truncated));
    assert_eq!(ScopedPdu::decode(&top), Err(DecodeError::Truncated));
    assert!(V3Message::decode(&top).is_err());

    // Five length octets, and usize::MAX in eight: refused as a form.
    assert_eq!(
        Reader::new(&[0x30, 0x85, 1, 0, 0, 0, 0]).any(),
        Err(DecodeError::BadLength)
    );
    assert_eq!(
        Reader::new(&[0x30, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).any(),
        Err(DecodeError::BadLength)
    );
}

/// `depth` SEQUENCEs inside each other around `core`, each with a
/// three-octet length, as a hostile agent might nest them.
fn nest(depth: usize, core: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(depth * 5 + core.len());
    for level in 0..depth {
        let len = core.len() + 5 * (depth - 1 - level);
        out.extend([tag::SEQUENCE, 0x83]);
        out.extend(&len.to_be_bytes()[std::mem::size_of::<usize>() - 3..]);
    }
    out.extend_from_slice(core);
    out
}

#[test]
fn deep_nesting_is_refused_without_recursion() {
    // 10,000 levels: a recursive decoder would overflow its stack here.
    let deep = nest(10_000, &[0x05, 0x00]);
    assert!(Message::decode(&deep).is_err());
    assert!(ScopedPdu::decode(&deep).is_err());
    assert!(V3Message::decode(&deep).is_err());
    decode_everything(&deep);

    // The same nesting as a varbind's value inside a valid frame.
    let value = nest(5_000, &[0x05, 0x00]);
    let mut w = Writer::new();
    w.sequence(|w| {
        w.integer(tag::INTEGER, 1);
        w.octets(b"public");
        w.constructed(0xa2, |w| {
            w.integer(tag::INTEGER, 7);
            w.integer(tag::INTEGER, 0);
            w.integer(tag::INTEGER, 0);
            w.sequence(|w| {
                w.sequence(|w| {
                    w.primitive(tag::OID, &[0x2b, 6, 1]);
                    w.raw(&value);
                });
            });
        });
    });
    let bytes = w.into_bytes();
    // A SEQUENCE is no value type: that varbind is marked undecodable
    // (its insides never looked at), the message still reads.
    let values = values_of(&bytes);
    assert_eq!(values.len(), 1);
    assert!(
        undecodable(&values[0], 0x30, "unknown value type"),
        "{:?}",
        values[0]
    );
    decode_everything(&bytes);
}

// ---------------------------------------------------------------------------
// Round trips

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn v2c_messages_round_trip(msg in v2c()) {
        let bytes = msg.encode();
        prop_assert_eq!(Message::decode(&bytes), Ok(Message::V2c(msg)));
    }

    #[test]
    fn pdus_round_trip_and_fill_the_reader_exactly(p in pdu()) {
        let mut w = Writer::new();
        p.encode(&mut w);
        let bytes = w.into_bytes();
        let mut r = Reader::new(&bytes);
        prop_assert_eq!(Pdu::decode(&mut r), Ok(p));
        prop_assert!(r.is_empty());
    }

    #[test]
    fn scoped_pdus_round_trip(s in scoped()) {
        prop_assert_eq!(ScopedPdu::decode(&s.encode()), Ok(s));
    }

    #[test]
    fn v3_messages_round_trip_and_locate_their_auth_params(msg in v3_plain()) {
        let (bytes, range) = msg.encode();
        prop_assert_eq!(&bytes[range.clone()], &msg.usm.auth_params[..]);
        match Message::decode(&bytes) {
            Ok(Message::V3(m, r)) => {
                prop_assert_eq!(m, msg);
                prop_assert_eq!(r, range);
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }

    #[test]
    fn oids_round_trip_through_a_varbind(o in oid()) {
        let msg = CommunityMessage {
            community: b"c".to_vec(),
            pdu: Pdu::request(PduType::Get, 1, std::slice::from_ref(&o)),
        };
        match Message::decode(&msg.encode()) {
            Ok(Message::V2c(m)) => prop_assert_eq!(&m.pdu.varbinds[0].0, &o),
            other => prop_assert!(false, "{:?}", other),
        }
        prop_assert_eq!(o.to_string().parse::<Oid>(), Ok(o));
    }
}

proptest! {
    // Each case localizes keys and runs AES and HMAC over the message.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn authenticated_encrypted_v3_round_trips(
        which in 0usize..4,
        engine_id in vec(any::<u8>(), 5..32),
        usm in usm_params(),
        msg_id in any::<i32>(),
        salt in any::<u64>(),
        s in scoped(),
        tamper_at in any::<prop::sample::Index>(),
        mask in 1u8..=255,
    ) {
        let user = &users()[which];
        let keys = user.localize(&engine_id);
        let usm = UsmParams { engine_id: engine_id.clone(), user: user.name.clone(), ..usm };
        let bytes = seal(&keys, usm, msg_id, salt, &s);

        prop_assert_eq!(open(&keys, &bytes), Some(s.clone()));
        match Message::decode(&bytes) {
            Ok(Message::V3(m, _)) => {
                prop_assert_eq!(m.msg_id, msg_id);
                prop_assert_eq!(m.usm.priv_params, salt.to_be_bytes().to_vec());
                prop_assert_eq!(m.usm.auth_params.len(), keys.mac_len());
            }
            other => prop_assert!(false, "{:?}", other),
        }

        // Keys for another engine refuse it.
        let mut other_engine = engine_id.clone();
        other_engine[0] ^= 1;
        prop_assert_eq!(open(&user.localize(&other_engine), &bytes), None);

        // One changed byte anywhere and the MAC (or the frame) refuses it.
        let mut tampered = bytes.clone();
        tampered[tamper_at.index(bytes.len())] ^= mask;
        prop_assert_eq!(open(&keys, &tampered), None);
    }
}

#[test]
fn boundary_values_round_trip() {
    let longest = Oid([vec![2, u32::MAX - 80], vec![u32::MAX; 126]].concat());
    let values = [
        Value::Counter64(u64::MAX),
        Value::Counter64(u64::MAX - 1),
        Value::Counter64(1 << 63),
        Value::Counter64((1 << 63) - 1),
        Value::Counter64(0),
        Value::Integer(i64::MIN),
        Value::Integer(i64::MAX),
        Value::Integer(-1),
        Value::Counter32(u32::MAX),
        Value::Gauge32(u32::MAX),
        Value::TimeTicks(u32::MAX),
        Value::OctetString(Vec::new()),
        Value::OctetString(vec![0xab; 70_000]), // three length octets
        Value::Oid(longest.clone()),
        Value::Oid(Oid(vec![0, 0])),
    ];
    let pdu = Pdu {
        kind: PduType::Response,
        request_id: i32::MIN,
        error_status: i32::MAX,
        error_index: -1,
        varbinds: values
            .iter()
            .map(|v| (longest.clone(), v.clone()))
            .collect(),
    };
    let msg = CommunityMessage {
        community: Vec::new(),
        pdu,
    };
    assert_eq!(Message::decode(&msg.encode()), Ok(Message::V2c(msg)));
}

#[test]
fn an_oid_of_128_maximal_arcs_decodes() {
    // Regression: RFC 2578 allows 128 sub-identifiers of up to 2^32 - 1,
    // 635 octets on the wire; the decoder refused anything over 512.
    let oid = Oid([vec![1, 3], vec![u32::MAX; 126]].concat());
    let msg = CommunityMessage {
        community: b"public".to_vec(),
        pdu: Pdu::request(PduType::Get, 1, std::slice::from_ref(&oid)),
    };
    match Message::decode(&msg.encode()) {
        Ok(Message::V2c(m)) => assert_eq!(m.pdu.varbinds[0].0, oid),
        other => panic!("{other:?}"),
    }
}

#[test]
fn counter64_wire_forms() {
    // What agents send for values at and above 2^63: nine octets with a
    // leading zero. We write the same and read both forms of small values.
    let enc = |n: u64| {
        let mut w = Writer::new();
        w.unsigned(tag::COUNTER64, n);
        w.into_bytes()
    };
    assert_eq!(
        enc(u64::MAX),
        [0x46, 9, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
    );
    assert_eq!(enc(1 << 63), [0x46, 9, 0, 0x80, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        enc((1 << 63) - 1),
        [0x46, 8, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
    );
    // A sign-extended (negative-looking) Counter64 is refused, not read as
    // a small number: 46 01 ff is what a signed encoder writes for 2^64 - 1.
    assert_eq!(
        decode_unsigned(&[0xff]),
        Err(DecodeError::Invalid("negative unsigned value"))
    );
    // Ten octets cannot be a 64-bit value.
    assert_eq!(
        decode_unsigned(&[0, 1, 0, 0, 0, 0, 0, 0, 0, 0]),
        Err(DecodeError::IntegerOverflow)
    );
}

// ---------------------------------------------------------------------------
// Cross-check against snmp2

/// Our value as snmp2 should read it, in a comparable form.
#[derive(Debug, PartialEq)]
enum Seen {
    Integer(i64),
    Octets(Vec<u8>),
    Null,
    Oid(Vec<u64>),
    Ip([u8; 4]),
    Counter32(u32),
    Unsigned32(u32),
    TimeTicks(u32),
    Opaque(Vec<u8>),
    Counter64(u64),
    NoSuchObject,
    NoSuchInstance,
    EndOfMibView,
    Other(String),
}

fn arcs64(o: &Oid) -> Vec<u64> {
    o.arcs().iter().map(|&a| u64::from(a)).collect()
}

fn snmp2_arcs(o: &snmp2::Oid<'_>) -> Vec<u64> {
    o.iter().map(Iterator::collect).unwrap_or_default()
}

fn ours(v: &Value) -> Seen {
    match v {
        Value::Integer(n) => Seen::Integer(*n),
        Value::OctetString(b) => Seen::Octets(b.clone()),
        Value::Null => Seen::Null,
        Value::Oid(o) => Seen::Oid(arcs64(o)),
        Value::IpAddress(a) => Seen::Ip(*a),
        Value::Counter32(n) => Seen::Counter32(*n),
        Value::Gauge32(n) => Seen::Unsigned32(*n),
        Value::TimeTicks(n) => Seen::TimeTicks(*n),
        Value::Opaque(b) => Seen::Opaque(b.clone()),
        Value::Counter64(n) => Seen::Counter64(*n),
        Value::NoSuchObject => Seen::NoSuchObject,
        Value::NoSuchInstance => Seen::NoSuchInstance,
        Value::EndOfMibView => Seen::EndOfMibView,
        Value::Undecodable { tag, reason, .. } => Seen::Other(format!("tag {tag:#x}: {reason}")),
    }
}

fn theirs(v: &snmp2::Value<'_>) -> Seen {
    use snmp2::Value as V;
    match v {
        V::Integer(n) => Seen::Integer(*n),
        V::OctetString(b) => Seen::Octets(b.to_vec()),
        V::Null => Seen::Null,
        V::ObjectIdentifier(o) => Seen::Oid(snmp2_arcs(o)),
        V::IpAddress(a) => Seen::Ip(*a),
        V::Counter32(n) => Seen::Counter32(*n),
        V::Unsigned32(n) => Seen::Unsigned32(*n),
        V::Timeticks(n) => Seen::TimeTicks(*n),
        V::Opaque(b) => Seen::Opaque(b.to_vec()),
        V::Counter64(n) => Seen::Counter64(*n),
        V::NoSuchObject => Seen::NoSuchObject,
        V::NoSuchInstance => Seen::NoSuchInstance,
        V::EndOfMibView => Seen::EndOfMibView,
        other => Seen::Other(format!("{other:?}")),
    }
}

/// A v2c Response as snmp2 decodes it.
#[derive(Debug)]
struct Snmp2View {
    request_id: i32,
    error_status: u32,
    error_index: u32,
    community: Vec<u8>,
    varbinds: Vec<(Vec<u64>, Seen)>,
}

/// A v2c Response of our encoding, as snmp2 decodes it.
fn snmp2_reads(msg: &CommunityMessage) -> Snmp2View {
    let bytes = msg.encode();
    let p = snmp2::Pdu::from_bytes(&bytes).expect("snmp2 decodes our response");
    assert_eq!(p.message_type, snmp2::MessageType::Response);
    assert_eq!(p.version(), Ok(snmp2::Version::V2C));
    Snmp2View {
        request_id: p.req_id,
        error_status: p.error_status,
        error_index: p.error_index,
        community: p.community.to_vec(),
        varbinds: p
            .varbinds
            .clone()
            .map(|(o, v)| (snmp2_arcs(&o), theirs(&v)))
            .collect(),
    }
}

fn response(request_id: i32, varbinds: Vec<(Oid, Value)>) -> CommunityMessage {
    CommunityMessage {
        community: b"toc-demo@STA-core-a".to_vec(),
        pdu: Pdu {
            kind: PduType::Response,
            request_id,
            error_status: 0,
            error_index: 0,
            varbinds,
        },
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn snmp2_reads_our_responses_as_we_mean_them(
        community in vec(any::<u8>(), 0..40),
        request_id in any::<i32>(),
        error_status in 0i32..=i32::MAX,
        error_index in 0i32..=i32::MAX,
        varbinds in vec((common_oid(), value_with(common_oid().boxed())), 0..12),
    ) {
        let msg = CommunityMessage {
            community,
            pdu: Pdu { kind: PduType::Response, request_id, error_status, error_index, varbinds },
        };
        let seen = snmp2_reads(&msg);
        prop_assert_eq!(seen.request_id, request_id);
        prop_assert_eq!(i64::from(seen.error_status), i64::from(error_status));
        prop_assert_eq!(i64::from(seen.error_index), i64::from(error_index));
        prop_assert_eq!(&seen.community, &msg.community);
        let expected: Vec<(Vec<u64>, Seen)> =
            msg.pdu.varbinds.iter().map(|(o, v)| (arcs64(o), ours(v))).collect();
        prop_assert_eq!(seen.varbinds, expected);
    }
}

#[test]
fn snmp2_agrees_on_every_value_kind_at_its_edges() {
    let oid = |s: &str| s.parse::<Oid>().unwrap();
    let values = vec![
        Value::Counter32(0),
        Value::Counter32(u32::MAX),
        Value::Counter32(1 << 31),
        Value::Gauge32(u32::MAX),
        Value::Gauge32(7),
        Value::TimeTicks(u32::MAX),
        Value::TimeTicks(123_456),
        Value::Counter64(0),
        Value::Counter64((1 << 63) - 1),
        Value::Counter64(1 << 63),
        Value::Counter64(u64::MAX - 1),
        Value::Counter64(u64::MAX),
        Value::Integer(i64::MIN),
        Value::Integer(-1),
        Value::Integer(0),
        Value::Integer(i64::MAX),
        Value::OctetString(Vec::new()),
        Value::OctetString(b"STA-core-a".to_vec()),
        Value::OctetString(vec![0; 1000]),
        Value::Oid(oid("1.3.6.1.4.1.8072.3.2.10")),
        Value::Oid(oid("1.3.6.1.2.1.2.2.1.8.4294967295")),
        Value::Null,
        Value::NoSuchObject,
        Value::NoSuchInstance,
        Value::EndOfMibView,
    ];
    let varbinds: Vec<(Oid, Value)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            (
                oid("1.3.6.1.2.1.31.1.1.1.6").child(u32::try_from(i).unwrap()),
                v.clone(),
            )
        })
        .collect();
    let msg = response(0x7fff_fff0, varbinds);
    let seen = snmp2_reads(&msg);
    assert_eq!(seen.request_id, 0x7fff_fff0);
    let expected: Vec<(Vec<u64>, Seen)> = msg
        .pdu
        .varbinds
        .iter()
        .map(|(o, v)| (arcs64(o), ours(v)))
        .collect();
    assert_eq!(seen.varbinds, expected);
}

/// snmp2 0.5.3 and Counter64 near 2^64: its decoder reads the nine-octet
/// form (the 0.5.2 bug, snmp2 issue #36, is fixed there), but its encoder
/// still writes a Counter64 as a signed i64, so 2^63 and above go out
/// sign-extended: 2^64 - 1 becomes `46 01 ff`, which snmp2 itself then
/// reads back as 255. And one varbind it cannot decode silently ends the
/// list: the varbinds after it vanish instead of the message failing.
/// Both are why the probe path decodes with our own codec, which writes
/// nine octets, refuses the sign-extended form and fails a whole message
/// with a reason rather than losing varbinds.
#[test]
fn snmp2_counter64_near_two_to_the_64() {
    let counter = "1.3.6.1.2.1.31.1.1.1.6.1".parse::<Oid>().unwrap();
    let after = "1.3.6.1.2.1.1.5.0".parse::<Oid>().unwrap();
    let msg = response(
        42,
        vec![
            (counter.clone(), Value::Counter64(u64::MAX)),
            (counter.child(2), Value::Counter64(1 << 63)),
            (after.clone(), Value::OctetString(b"sw1".to_vec())),
        ],
    );
    let ours_bytes = msg.encode();

    // snmp2 decodes our nine-octet encoding correctly.
    let p = snmp2::Pdu::from_bytes(&ours_bytes).unwrap();
    let seen: Vec<Seen> = p.varbinds.clone().map(|(_, v)| theirs(&v)).collect();
    assert_eq!(
        seen,
        [
            Seen::Counter64(u64::MAX),
            Seen::Counter64(1 << 63),
            Seen::Octets(b"sw1".to_vec())
        ]
    );

    // Re-encoded by snmp2, the counters come out sign-extended...
    let theirs_bytes = p.to_bytes().unwrap();
    let needle = |hay: &[u8], n: &[u8]| hay.windows(n.len()).any(|w| w == n);
    assert!(needle(&theirs_bytes, &[0x46, 0x01, 0xff]), "2^64-1 as -1");
    assert!(
        needle(&theirs_bytes, &[0x46, 0x08, 0x80, 0, 0, 0, 0, 0, 0, 0]),
        "2^63 as i64::MIN"
    );
    // ...which snmp2 itself reads as different numbers...
    let back = snmp2::Pdu::from_bytes(&theirs_bytes).unwrap();
    let seen: Vec<Seen> = back.varbinds.map(|(_, v)| theirs(&v)).collect();
    assert_eq!(
        seen,
        [
            Seen::Counter64(255),
            Seen::Counter64(1 << 63),
            Seen::Octets(b"sw1".to_vec())
        ]
    );
    // ...and which our decoder marks undecodable rather than misread,
    // keeping the good varbind beside them.
    let values = values_of(&theirs_bytes);
    assert!(undecodable(&values[0], 0x46, "negative unsigned value"));
    assert!(undecodable(&values[1], 0x46, "negative unsigned value"));
    assert_eq!(values[2], Value::OctetString(b"sw1".to_vec()));

    // A Counter64 too long for 64 bits, then a good varbind: snmp2 stops
    // at the bad one and reports one varbind where there were two.
    let mut w = Writer::new();
    w.sequence(|w| {
        w.integer(tag::INTEGER, 1);
        w.octets(b"public");
        w.constructed(0xa2, |w| {
            w.integer(tag::INTEGER, 42);
            w.integer(tag::INTEGER, 0);
            w.integer(tag::INTEGER, 0);
            w.sequence(|w| {
                w.sequence(|w| {
                    w.primitive(tag::OID, &[0x2b, 6, 1, 2, 1, 1, 3, 0]);
                    w.primitive(tag::TIMETICKS, &[1]);
                });
                w.sequence(|w| {
                    w.primitive(tag::OID, &[0x2b, 6, 1, 2, 1, 31, 1, 1, 1, 6, 1]);
                    w.primitive(tag::COUNTER64, &[1, 0, 0, 0, 0, 0, 0, 0, 0]);
                });
                w.sequence(|w| {
                    w.primitive(tag::OID, &[0x2b, 6, 1, 2, 1, 1, 5, 0]);
                    w.octets(b"sw1");
                });
            });
        });
    });
    let bad = w.into_bytes();
    let p = snmp2::Pdu::from_bytes(&bad).expect("snmp2 accepts the message");
    assert_eq!(p.varbinds.count(), 1, "snmp2 drops the rest silently");
    // We mark the bad one and read the rest.
    let values = values_of(&bad);
    assert_eq!(values.len(), 3);
    assert_eq!(values[0], Value::TimeTicks(1));
    assert!(
        undecodable(&values[1], 0x46, "integer out of range"),
        "{:?}",
        values[1]
    );
    assert_eq!(values[2], Value::OctetString(b"sw1".to_vec()));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// snmp2's encoder, reached through `Pdu::to_bytes` on a response it
    /// decoded, writes what we read back the same, Counter64 below 2^63
    /// included (above, see `snmp2_counter64_near_two_to_the_64`).
    #[test]
    fn we_read_what_snmp2_writes(
        request_id in any::<i32>(),
        varbinds in vec((common_oid(), value_with(common_oid().boxed())), 0..12),
    ) {
        let varbinds: Vec<(Oid, Value)> = varbinds
            .into_iter()
            .map(|(o, v)| match v {
                Value::Counter64(n) => (o, Value::Counter64(n >> 1)),
                v => (o, v),
            })
            .collect();
        let msg = response(request_id, varbinds);
        let bytes = msg.encode();
        let rewritten = snmp2::Pdu::from_bytes(&bytes).unwrap().to_bytes().unwrap();
        prop_assert_eq!(Message::decode(&rewritten), Ok(Message::V2c(msg)));
    }
}

// ---------------------------------------------------------------------------
// Requests snmp2 writes, read by us. snmp2 has no public encoder for a PDU
// built from scratch (`Pdu::version` is private), so its sessions write
// them: a real `AsyncSession` sends to a socket we read with our codec.

/// Receives one datagram on `agent`, decodes it with our codec and, if it
/// is a v2c message, answers it with `answer` under the same request id.
async fn serve_v2c_once(
    agent: &tokio::net::UdpSocket,
    answer: Vec<(Oid, Value)>,
) -> CommunityMessage {
    let mut buf = vec![0u8; 65_535];
    let (n, from) = agent.recv_from(&mut buf).await.unwrap();
    let Ok(Message::V2c(request)) = Message::decode(&buf[..n]) else {
        panic!("not a v2c message: {:02x?}", &buf[..n]);
    };
    let reply = CommunityMessage {
        community: request.community.clone(),
        pdu: Pdu {
            kind: PduType::Response,
            request_id: request.pdu.request_id,
            error_status: 0,
            error_index: 0,
            varbinds: answer,
        },
    };
    agent.send_to(&reply.encode(), from).await.unwrap();
    request
}

fn snmp2_oid(arcs: &[u64]) -> snmp2::Oid<'static> {
    snmp2::Oid::from(arcs).unwrap()
}

fn our_oid(arcs: &[u64]) -> Oid {
    Oid(arcs.iter().map(|&a| u32::try_from(a).unwrap()).collect())
}

/// Runs `f` on a runtime in a thread with a large stack: snmp2's sessions
/// hold two 64 KiB buffers inline, which unoptimized builds copy about on
/// the stack more than a test thread's 2 MiB allow.
fn on_big_stack<F: std::future::Future<Output = ()> + Send + 'static>(f: F) {
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    // A peer that never answers fails the test, not hangs it.
                    tokio::time::timeout(std::time::Duration::from_secs(60), f)
                        .await
                        .expect("the exchange with snmp2 finished");
                });
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn we_read_the_v2c_requests_snmp2_writes() {
    on_big_stack(v2c_requests_from_snmp2());
}

async fn v2c_requests_from_snmp2() {
    let agent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = agent.local_addr().unwrap();
    let community = b"toc-demo@STA-core-a";
    let mut session = snmp2::AsyncSession::new_v2c(addr, community, 0x1234)
        .await
        .unwrap();
    let sys_name = [1, 3, 6, 1, 2, 1, 1, 5, 0];
    let if_descr = [1, 3, 6, 1, 2, 1, 2, 2, 1, 2];
    let big_arc = [1, 3, 6, 1, 4, 1, 2021, 4_294_967_295];
    let name_answer = vec![(our_oid(&sys_name), Value::OctetString(b"sw1".to_vec()))];
    let (sys_name2, if_descr2) = (snmp2_oid(&sys_name), snmp2_oid(&if_descr));

    // GET: our response also satisfies snmp2's own checks (id, community).
    let (reply, req) = tokio::join!(
        session.get(&sys_name2),
        serve_v2c_once(&agent, name_answer.clone())
    );
    let reply = reply.unwrap();
    let values: Vec<Seen> = reply.varbinds.map(|(_, v)| theirs(&v)).collect();
    assert_eq!(values, [Seen::Octets(b"sw1".to_vec())]);
    assert_eq!(req.community, community);
    assert_eq!(
        req.pdu,
        Pdu::request(PduType::Get, 0x1234, &[our_oid(&sys_name)])
    );

    // GET of several, GETNEXT, GETBULK (non-repeaters and max-repetitions
    // in the error fields, as on the wire).
    let many = [
        snmp2_oid(&sys_name),
        snmp2_oid(&if_descr),
        snmp2_oid(&big_arc),
    ];
    let refs: Vec<&snmp2::Oid<'_>> = many.iter().collect();
    let ours_many = [our_oid(&sys_name), our_oid(&if_descr), our_oid(&big_arc)];
    let (reply, req) = tokio::join!(session.get_many(&refs), serve_v2c_once(&agent, vec![]));
    reply.unwrap();
    assert_eq!(req.pdu, Pdu::request(PduType::Get, 0x1235, &ours_many));

    let (reply, req) = tokio::join!(session.getnext(&if_descr2), serve_v2c_once(&agent, vec![]));
    reply.unwrap();
    assert_eq!(
        req.pdu,
        Pdu::request(PduType::GetNext, 0x1236, &[our_oid(&if_descr)])
    );

    let (reply, req) = tokio::join!(
        session.getbulk(&refs[1..], 1, 10),
        serve_v2c_once(&agent, vec![])
    );
    reply.unwrap();
    assert_eq!(req.pdu, Pdu::get_bulk(0x1237, 1, 10, &ours_many[1..]));

    // SET carries values of every kind snmp2 can write.
    let target = snmp2_oid(&[1, 3, 6, 1, 4, 1, 99, 1]);
    let value_oid = snmp2_oid(&big_arc);
    let set = [
        snmp2::Value::Integer(i64::MIN),
        snmp2::Value::Integer(-5),
        snmp2::Value::OctetString(b""),
        snmp2::Value::OctetString(&[0xfe; 300]),
        snmp2::Value::Null,
        snmp2::Value::ObjectIdentifier(value_oid),
        snmp2::Value::IpAddress([127, 0, 0, 1]),
        snmp2::Value::Counter32(u32::MAX),
        snmp2::Value::Unsigned32(1 << 31),
        snmp2::Value::Timeticks(u32::MAX),
        snmp2::Value::Opaque(b"\x9f\x78\x04\x3f\x80\x00\x00"),
        snmp2::Value::Counter64((1 << 63) - 1),
    ];
    let expected = [
        Value::Integer(i64::MIN),
        Value::Integer(-5),
        Value::OctetString(Vec::new()),
        Value::OctetString(vec![0xfe; 300]),
        Value::Null,
        Value::Oid(our_oid(&big_arc)),
        Value::IpAddress([127, 0, 0, 1]),
        Value::Counter32(u32::MAX),
        Value::Gauge32(1 << 31),
        Value::TimeTicks(u32::MAX),
        Value::Opaque(b"\x9f\x78\x04\x3f\x80\x00\x00".to_vec()),
        Value::Counter64((1 << 63) - 1),
    ];
    let pairs: Vec<(&snmp2::Oid<'_>, snmp2::Value<'_>)> =
        set.into_iter().map(|v| (&target, v)).collect();
    let (reply, req) = tokio::join!(session.set(&pairs), serve_v2c_once(&agent, vec![]));
    reply.unwrap();
    assert_eq!(req.pdu.kind, PduType::Set);
    assert_eq!(req.pdu.request_id, 0x1238);
    let values: Vec<Value> = req.pdu.varbinds.into_iter().map(|(_, v)| v).collect();
    assert_eq!(values, expected);

    // A SET of Counter64 2^64 - 1: snmp2 writes it sign-extended (see
    // `snmp2_counter64_near_two_to_the_64`) and we mark the value
    // undecodable rather than misread it.
    let pairs = [(&target, snmp2::Value::Counter64(u64::MAX))];
    let mut buf = vec![0u8; 65_535];
    let n = tokio::select! {
        r = session.set(&pairs) => panic!("nobody answered, yet: {r:?}"),
        got = agent.recv_from(&mut buf) => got.unwrap().0,
    };
    let values = values_of(&buf[..n]);
    assert_eq!(values.len(), 1);
    assert!(undecodable(&values[0], 0x46, "negative unsigned value"));
}

/// The report an agent answers a discovery probe with: its engine id and
/// clock, unauthenticated.
fn discovery_report(probe: &V3Message, engine_id: &[u8], boots: u32, time: u32) -> Vec<u8> {
    let ScopedData::Plain(scoped) = &probe.data else {
        panic!("encrypted discovery");
    };
    let engine = EngineClock {
        id: engine_id,
        boots,
        time,
    };
    report(
        probe.msg_id,
        scoped.pdu.request_id,
        &[],
        engine,
        stats::UNKNOWN_ENGINE_IDS,
        None,
    )
}

/// snmp2 as an `SNMPv3` manager (SHA-256, AES-128) against an agent made of
/// our codec and USM: its discovery, its authenticated and encrypted GET,
/// and our authenticated and encrypted answer, which it must accept.
#[test]
fn snmp2_v3_manager_and_our_usm_agree() {
    on_big_stack(v3_exchange_with_snmp2());
}

async fn v3_exchange_with_snmp2() {
    use snmp2::v3::{Auth, AuthProtocol as Snmp2Auth, Cipher, Security};

    let agent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = agent.local_addr().unwrap();
    let engine_id = b"\x80\x00\x1f\x88\x04toc-wire".to_vec();
    let (boots, time) = (7u32, 12_345u32);
    let user = UsmUser::new(
        b"toc-v3",
        Some((AuthProto::Sha256, b"auth-pass-256")),
        Some((PrivProto::Aes128, b"priv-pass-128")),
    );
    let keys = user.localize(&engine_id);
    let security = Security::new(b"toc-v3", b"auth-pass-256")
        .with_auth_protocol(Snmp2Auth::Sha256)
        .with_auth(Auth::AuthPriv {
            cipher: Cipher::Aes128,
            privacy_password: b"priv-pass-128".to_vec(),
        });
    let mut session = snmp2::AsyncSession::new_v3(addr, 77, security)
        .await
        .unwrap();
    let sys_name = [1, 3, 6, 1, 2, 1, 1, 5, 0];

    let agent_side = async {
        let mut buf = vec![0u8; 65_535];
        // Discovery: unauthenticated, empty engine id; answer with a report
        // that tells ours.
        let (n, from) = agent.recv_from(&mut buf).await.unwrap();
        let Ok(Message::V3(probe, _)) = Message::decode(&buf[..n]) else {
            panic!("not a v3 discovery: {:02x?}", &buf[..n]);
        };
        assert_eq!(probe.flags & (flags::AUTH | flags::PRIV), 0);
        assert!(probe.usm.engine_id.is_empty());
        let report = discovery_report(&probe, &engine_id, boots, time);
        agent.send_to(&report, from).await.unwrap();

        // The GET: authenticated under our keys, and decrypts to a scoped
        // PDU asking for sysName.0.
        let (n, from) = agent.recv_from(&mut buf).await.unwrap();
        let request = &buf[..n];
        let scoped = open(&keys, request).expect("our USM verifies and decrypts snmp2's GET");
        assert_eq!(scoped.context_engine_id, engine_id);
        assert_eq!(scoped.pdu.kind, PduType::Get);
        assert_eq!(scoped.pdu.varbinds, [(our_oid(&sys_name), Value::Null)]);
        let Ok(Message::V3(m, _)) = Message::decode(request) else {
            unreachable!()
        };
        assert_eq!(m.usm.user, b"toc-v3");
        let answer = ScopedPdu {
            pdu: Pdu {
                kind: PduType::Response,
                varbinds: vec![(
                    our_oid(&sys_name),
                    Value::OctetString(b"toc-wire-agent".to_vec()),
                )],
                ..scoped.pdu.clone()
            },
            ..scoped
        };
        let usm = UsmParams {
            engine_id: engine_id.clone(),
            engine_boots: boots,
            engine_time: time,
            user: m.usm.user.clone(),
            ..UsmParams::default()
        };
        let sealed = seal(&keys, usm, m.msg_id, 0x0102_0304_0506_0708, &answer);
        agent.send_to(&sealed, from).await.unwrap();
    };
    let manager_side = async {
        session.init().await.expect("snmp2 discovers our engine");
        let oid = snmp2_oid(&sys_name);
        let reply = session.get(&oid).await.expect("snmp2 accepts our answer");
        reply
            .varbinds
            .map(|(o, v)| (snmp2_arcs(&o), theirs(&v)))
            .collect::<Vec<_>>()
    };
    let ((), got) = tokio::join!(agent_side, manager_side);
    assert_eq!(
        got,
        [(sys_name.to_vec(), Seen::Octets(b"toc-wire-agent".to_vec()))]
    );
}

/// The values of a v2c message that decodes, in order.
fn values_of(bytes: &[u8]) -> Vec<Value> {
    match Message::decode(bytes) {
        Ok(Message::V2c(m)) => m.pdu.varbinds.into_iter().map(|(_, v)| v).collect(),
        other => panic!("not a v2c message: {other:?}"),
    }
}

/// Whether `v` is an undecodable value with this tag and reason.
fn undecodable(v: &Value, tag: u8, why: &str) -> bool {
    matches!(v, Value::Undecodable { tag: t, reason, .. } if *t == tag && *reason == why)
}
