//! SNMP values, PDUs and messages (v2c, and the v3 message frame; USM
//! security lives in [`super::usm`]).

use std::fmt;
use std::str::FromStr;

use super::ber::{DecodeError, Reader, Writer, decode_signed, decode_unsigned, tag};

/// An object identifier, `1.3.6.1.2.1.1.5.0`. Ordered as SNMP walks it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Oid(pub Vec<u32>);

impl Oid {
    /// The identifier from its arcs.
    pub fn new(arcs: &[u32]) -> Self {
        Self(arcs.to_vec())
    }

    /// Its arcs.
    pub fn arcs(&self) -> &[u32] {
        &self.0
    }

    /// Whether `self` lies under `prefix` (or is it).
    pub fn starts_with(&self, prefix: &Oid) -> bool {
        self.0.starts_with(&prefix.0)
    }

    /// `self` with one more arc.
    #[must_use]
    pub fn child(&self, arc: u32) -> Oid {
        let mut v = self.0.clone();
        v.push(arc);
        Oid(v)
    }

    /// The last arc (the row index of a column entry).
    pub fn last(&self) -> Option<u32> {
        self.0.last().copied()
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.len() + 4);
        let (first, rest) = match self.0.as_slice() {
            [] => (0, &[][..]),
            [a] => (a.saturating_mul(40), &[][..]),
            [a, b, rest @ ..] => (a.saturating_mul(40).saturating_add(*b), rest),
        };
        for arc in std::iter::once(first).chain(rest.iter().copied()) {
            let mut tmp = [0u8; 5];
            let mut i = tmp.len();
            let mut v = arc;
            loop {
                i -= 1;
                tmp[i] = u8::try_from(v & 0x7f).unwrap_or(0) | if i == 4 { 0 } else { 0x80 };
                v >>= 7;
                if v == 0 {
                    break;
                }
            }
            out.extend_from_slice(&tmp[i..]);
        }
        out
    }

    fn decode(bytes: &[u8]) -> Result<Oid, DecodeError> {
        if bytes.is_empty() {
            return Err(DecodeError::Invalid("empty object identifier"));
        }
        // RFC 2578: at most 128 sub-identifiers of at most 2^32 - 1, which
        // is five octets each.
        if bytes.len() > 128 * 5 {
            return Err(DecodeError::Invalid("object identifier too long"));
        }
        let mut arcs = Vec::with_capacity(bytes.len() + 1);
        let mut v: u32 = 0;
        let mut in_arc = false;
        for &b in bytes {
            if !in_arc && b == 0x80 {
                return Err(DecodeError::Invalid("non-minimal arc in object identifier"));
            }
            if v > (u32::MAX >> 7) {
                return Err(DecodeError::IntegerOverflow);
            }
            v = (v << 7) | u32::from(b & 0x7f);
            in_arc = b & 0x80 != 0;
            if !in_arc {
                if arcs.is_empty() {
                    let first = (v / 40).min(2);
                    arcs.push(first);
                    arcs.push(v - first * 40);
                } else {
                    arcs.push(v);
                }
                v = 0;
            }
        }
        if in_arc {
            return Err(DecodeError::Truncated);
        }
        Ok(Oid(arcs))
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, arc) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{arc}")?;
        }
        Ok(())
    }
}

impl FromStr for Oid {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().trim_start_matches('.');
        if s.is_empty() {
            return Err("empty object identifier".into());
        }
        let arcs = s
            .split('.')
            .map(|a| {
                a.parse::<u32>()
                    .map_err(|_| format!("{a:?} is not a number in object identifier {s:?}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        // What BER can carry: two arcs at least, the first 0, 1 or 2, the
        // second under 40 below 0 and 1, and at most 128 arcs (RFC 2578).
        match arcs.as_slice() {
            [] | [_] => Err(format!("object identifier {s:?} needs at least two arcs")),
            [first, ..] if *first > 2 => {
                Err(format!("object identifier {s:?} must start with 0, 1 or 2"))
            }
            [first, second, ..] if *first < 2 && *second >= 40 => Err(format!(
                "object identifier {s:?}: the second arc must be under 40 after {first}"
            )),
            [2, second, ..] if *second > u32::MAX - 80 => {
                Err(format!("object identifier {s:?}: second arc too large"))
            }
            a if a.len() > 128 => Err(format!("object identifier {s:?} has over 128 arcs")),
            _ => Ok(Oid(arcs)),
        }
    }
}

/// A varbind value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Integer(i64),
    OctetString(Vec<u8>),
    Null,
    Oid(Oid),
    IpAddress([u8; 4]),
    Counter32(u32),
    Gauge32(u32),
    TimeTicks(u32),
    Opaque(Vec<u8>),
    Counter64(u64),
    NoSuchObject,
    NoSuchInstance,
    EndOfMibView,
    /// A value whose type tag or contents could not be decoded, kept with
    /// its raw bytes and the reason, so that the rest of the answer still
    /// counts (as net-snmp does): only this varbind is marked bad.
    Undecodable {
        tag: u8,
        bytes: Vec<u8>,
        reason: &'static str,
    },
}

impl Value {
    /// Whether this is one of the three "no value here" exceptions.
    pub fn is_exception(&self) -> bool {
        matches!(
            self,
            Value::NoSuchObject | Value::NoSuchInstance | Value::EndOfMibView
        )
    }

    /// The value as an unsigned number, if it is one.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::Integer(n) => u64::try_from(n).ok(),
            Value::Counter32(n) | Value::Gauge32(n) | Value::TimeTicks(n) => Some(u64::from(n)),
            Value::Counter64(n) => Some(n),
            _ => None,
        }
    }

    /// The value as text, if it is an octet string.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Value::OctetString(b) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }

    fn encode(&self, w: &mut Writer) {
        match self {
            Value::Integer(n) => w.integer(tag::INTEGER, *n),
            Value::OctetString(b) => w.octets(b),
            Value::Null => w.null(),
            Value::Oid(o) => w.primitive(tag::OID, &o.encode()),
            Value::IpAddress(a) => w.primitive(tag::IP_ADDRESS, a),
            Value::Counter32(n) => w.unsigned(tag::COUNTER32, u64::from(*n)),
            Value::Gauge32(n) => w.unsigned(tag::GAUGE32, u64::from(*n)),
            Value::TimeTicks(n) => w.unsigned(tag::TIMETICKS, u64::from(*n)),
            Value::Opaque(b) => w.primitive(tag::OPAQUE, b),
            Value::Counter64(n) => w.unsigned(tag::COUNTER64, *n),
            Value::NoSuchObject => w.primitive(tag::NO_SUCH_OBJECT, &[]),
            Value::NoSuchInstance => w.primitive(tag::NO_SUCH_INSTANCE, &[]),
            Value::EndOfMibView => w.primitive(tag::END_OF_MIB_VIEW, &[]),
            Value::Undecodable { tag, bytes, .. } => w.primitive(*tag, bytes),
        }
    }

    /// Reads one value. Only a broken framing (lengths, truncation) is
    /// an error, and drops the whole datagram; a value whose type is
    /// unknown or whose contents are wrong for its type comes back as
    /// [`Value::Undecodable`], so the other varbinds still count.
    fn decode(r: &mut Reader<'_>) -> Result<Value, DecodeError> {
        let (t, c) = r.any()?;
        Ok(
            Self::from_contents(t, c).unwrap_or_else(|reason| Value::Undecodable {
                tag: t,
                bytes: c.to_vec(),
                reason,
            }),
        )
    }

    /// A value from its tag and contents, or why it cannot be one.
    fn from_contents(t: u8, c: &[u8]) -> Result<Value, &'static str> {
        let u32_of = |c: &[u8]| match decode_unsigned(c) {
            Ok(n) => u32::try_from(n).map_err(|_| "over 32 bits"),
            Err(e) => Err(reason(&e)),
        };
        Ok(match t {
            tag::INTEGER => Value::Integer(decode_signed(c).map_err(|e| reason(&e))?),
            tag::OCTET_STRING => Value::OctetString(c.to_vec()),
            tag::NULL => Value::Null,
            tag::OID => Value::Oid(Oid::decode(c).map_err(|e| reason(&e))?),
            tag::IP_ADDRESS => {
                Value::IpAddress(c.try_into().map_err(|_| "IpAddress is not 4 octets")?)
            }
            tag::COUNTER32 => Value::Counter32(u32_of(c)?),
            tag::GAUGE32 => Value::Gauge32(u32_of(c)?),
            tag::TIMETICKS => Value::TimeTicks(u32_of(c)?),
            tag::OPAQUE => Value::Opaque(c.to_vec()),
            tag::COUNTER64 => Value::Counter64(decode_unsigned(c).map_err(|e| reason(&e))?),
            tag::NO_SUCH_OBJECT => Value::NoSuchObject,
            tag::NO_SUCH_INSTANCE => Value::NoSuchInstance,
            tag::END_OF_MIB_VIEW => Value::EndOfMibView,
            NSAP_ADDRESS => return Err("NsapAddress (SMIv1) is not read"),
            UINTEGER32 => return Err("UInteger32 (SMIv1) is not read"),
            _ => return Err("unknown value type"),
        })
    }
}

/// `SMIv1` application types no longer used, named in the reason.
const NSAP_ADDRESS: u8 = 0x45;
const UINTEGER32: u8 = 0x47;

/// A decode error in words that live forever (the reason of an
/// [`Value::Undecodable`]).
fn reason(e: &DecodeError) -> &'static str {
    match e {
        DecodeError::Truncated => "truncated",
        DecodeError::UnexpectedTag { .. } => "unexpected tag",
        DecodeError::BadLength => "unsupported length encoding",
        DecodeError::IntegerOverflow => "integer out of range",
        DecodeError::Invalid(what) => what,
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Integer(n) => write!(f, "{n}"),
            Value::OctetString(b) => match std::str::from_utf8(b) {
                Ok(s) if s.chars().all(|c| !c.is_control()) => f.write_str(s),
                _ => {
                    for (i, byte) in b.iter().enumerate() {
                        write!(f, "{}{byte:02x}", if i > 0 { ":" } else { "" })?;
                    }
                    Ok(())
                }
            },
            Value::Null => f.write_str("null"),
            Value::Oid(o) => write!(f, "{o}"),
            Value::IpAddress(a) => write!(f, "{}", std::net::Ipv4Addr::from(*a)),
            Value::Counter32(n) | Value::Gauge32(n) | Value::TimeTicks(n) => write!(f, "{n}"),
            Value::Opaque(b) => write!(f, "opaque ({} bytes)", b.len()),
            Value::Counter64(n) => write!(f, "{n}"),
            Value::NoSuchObject => f.write_str("noSuchObject"),
            Value::NoSuchInstance => f.write_str("noSuchInstance"),
            Value::EndOfMibView => f.write_str("endOfMibView"),
            Value::Undecodable { tag, reason, .. } => {
                write!(f, "undecodable value (tag 0x{tag:02x}: {reason})")
            }
        }
    }
}

/// The kind of a PDU (its context tag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PduType {
    Get,
    GetNext,
    Response,
    Set,
    GetBulk,
    Inform,
    Trap,
    Report,
}

impl PduType {
    fn tag(self) -> u8 {
        match self {
            PduType::Get => 0xa0,
            PduType::GetNext => 0xa1,
            PduType::Response => 0xa2,
            PduType::Set => 0xa3,
            PduType::GetBulk => 0xa5,
            PduType::Inform => 0xa6,
            PduType::Trap => 0xa7,
            PduType::Report => 0xa8,
        }
    }

    fn from_tag(t: u8) -> Result<Self, DecodeError> {
        Ok(match t {
            0xa0 => PduType::Get,
            0xa1 => PduType::GetNext,
            0xa2 => PduType::Response,
            0xa3 => PduType::Set,
            0xa5 => PduType::GetBulk,
            0xa6 => PduType::Inform,
            0xa7 => PduType::Trap,
            0xa8 => PduType::Report,
            _ => return Err(DecodeError::Invalid("not an SNMPv2 PDU")),
        })
    }
}

/// Error status codes an agent answers with.
pub mod error_status {
    pub const NO_ERROR: i32 = 0;
    pub const TOO_BIG: i32 = 1;
    pub const NO_SUCH_NAME: i32 = 2;
    pub const GEN_ERR: i32 = 5;
    pub const NO_ACCESS: i32 = 6;
    pub const NOT_WRITABLE: i32 = 17;
    pub const AUTHORIZATION_ERROR: i32 = 16;

    /// The name of an error status, as net-snmp prints it.
    pub fn name(status: i32) -> &'static str {
        match status {
            0 => "noError",
            1 => "tooBig",
            2 => "noSuchName",
            3 => "badValue",
            4 => "readOnly",
            5 => "genErr",
            6 => "noAccess",
            16 => "authorizationError",
            17 => "notWritable",
            _ => "error",
        }
    }
}

/// A PDU. For `GetBulk`, `error_status` carries non-repeaters and
/// `error_index` max-repetitions, as on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pdu {
    pub kind: PduType,
    pub request_id: i32,
    pub error_status: i32,
    pub error_index: i32,
    pub varbinds: Vec<(Oid, Value)>,
}

impl Pdu {
    /// A request for `oids` (values NULL).
    pub fn request(kind: PduType, request_id: i32, oids: &[Oid]) -> Self {
        Self {
            kind,
            request_id,
            error_status: 0,
            error_index: 0,
            varbinds: oids.iter().map(|o| (o.clone(), Value::Null)).collect(),
        }
    }

    /// A GETBULK request.
    pub fn get_bulk(
        request_id: i32,
        non_repeaters: i32,
        max_repetitions: i32,
        oids: &[Oid],
    ) -> Self {
        Self {
            error_status: non_repeaters,
            error_index: max_repetitions,
            ..Self::request(PduType::GetBulk, request_id, oids)
        }
    }

    pub fn encode(&self, w: &mut Writer) {
        w.constructed(self.kind.tag(), |w| {
            w.integer(tag::INTEGER, i64::from(self.request_id));
            w.integer(tag::INTEGER, i64::from(self.error_status));
            w.integer(tag::INTEGER, i64::from(self.error_index));
            w.sequence(|w| {
                for (oid, value) in &self.varbinds {
                    w.sequence(|w| {
                        w.primitive(tag::OID, &oid.encode());
                        value.encode(w);
                    });
                }
            });
        });
    }

    pub fn decode(r: &mut Reader<'_>) -> Result<Pdu, DecodeError> {
        let kind = PduType::from_tag(r.peek_tag()?)?;
        let mut p = r.nested(kind.tag())?;
        let request_id = p.i32()?;
        let error_status = p.i32()?;
        let error_index = p.i32()?;
        let mut list = p.nested(tag::SEQUENCE)?;
        let mut varbinds = Vec::new();
        while !list.is_empty() {
            let mut vb = list.nested(tag::SEQUENCE)?;
            let oid = Oid::decode(vb.expect(tag::OID)?)?;
            let value = Value::decode(&mut vb)?;
            if !vb.is_empty() {
                return Err(DecodeError::Invalid("trailing data in varbind"));
            }
            varbinds.push((oid, value));
        }
        Ok(Pdu {
            kind,
            request_id,
            error_status,
            error_index,
            varbinds,
        })
    }
}

/// SNMP message versions on the wire.
pub mod version {
    pub const V1: i64 = 0;
    pub const V2C: i64 = 1;
    pub const V3: i64 = 3;
}

/// An `SNMPv2c` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommunityMessage {
    pub community: Vec<u8>,
    pub pdu: Pdu,
}

impl CommunityMessage {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.sequence(|w| {
            w.integer(tag::INTEGER, version::V2C);
            w.octets(&self.community);
            self.pdu.encode(w);
        });
        w.into_bytes()
    }
}

/// The USM security parameters of a v3 message (RFC 3414).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UsmParams {
    pub engine_id: Vec<u8>,
    pub engine_boots: u32,
    pub engine_time: u32,
    pub user: Vec<u8>,
    pub auth_params: Vec<u8>,
    pub priv_params: Vec<u8>,
}

/// msgFlags bits.
pub mod flags {
    pub const AUTH: u8 = 0x01;
    pub const PRIV: u8 = 0x02;
    pub const REPORTABLE: u8 = 0x04;
}

/// A scoped PDU: context and PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopedPdu {
    pub context_engine_id: Vec<u8>,
    pub context_name: Vec<u8>,
    pub pdu: Pdu,
}

impl ScopedPdu {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.sequence(|w| {
            w.octets(&self.context_engine_id);
            w.octets(&self.context_name);
            self.pdu.encode(w);
        });
        w.into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Result<ScopedPdu, DecodeError> {
        let mut r = Reader::new(bytes);
        let mut s = r.nested(tag::SEQUENCE)?;
        let context_engine_id = s.octets()?.to_vec();
        let context_name = s.octets()?.to_vec();
        let pdu = Pdu::decode(&mut s)?;
        Ok(ScopedPdu {
            context_engine_id,
            context_name,
            pdu,
        })
    }
}

/// A v3 message's data: plain, or encrypted by USM privacy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopedData {
    Plain(ScopedPdu),
    Encrypted(Vec<u8>),
}

/// An `SNMPv3` message (RFC 3412) with USM parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V3Message {
    pub msg_id: i32,
    pub max_size: i32,
    pub flags: u8,
    pub usm: UsmParams,
    pub data: ScopedData,
}

impl V3Message {
    /// Encodes the message. Returns the bytes and the range of the
    /// authentication parameters in them, for the HMAC to be filled in.
    pub fn encode(&self) -> (Vec<u8>, std::ops::Range<usize>) {
        let mut sec = Writer::new();
        sec.sequence(|w| {
            w.octets(&self.usm.engine_id);
            w.integer(tag::INTEGER, i64::from(self.usm.engine_boots));
            w.integer(tag::INTEGER, i64::from(self.usm.engine_time));
            w.octets(&self.usm.user);
            w.octets(&self.usm.auth_params);
            w.octets(&self.usm.priv_params);
        });
        let sec = sec.into_bytes();
        let mut w = Writer::new();
        w.sequence(|w| {
            w.integer(tag::INTEGER, version::V3);
            w.sequence(|w| {
                w.integer(tag::INTEGER, i64::from(self.msg_id));
                w.integer(tag::INTEGER, i64::from(self.max_size));
                w.octets(&[self.flags]);
                w.integer(tag::INTEGER, 3);
            });
            w.octets(&sec);
            match &self.data {
                ScopedData::Plain(s) => w.raw(&s.encode()),
                ScopedData::Encrypted(b) => w.octets(b),
            }
        });
        let bytes = w.into_bytes();
        let range = locate_auth_params(&bytes).unwrap_or(0..0);
        (bytes, range)
    }

    /// Decodes a v3 message (after the caller has seen version 3). Returns
    /// the message and the range of its authentication parameters.
    pub fn decode(bytes: &[u8]) -> Result<(V3Message, std::ops::Range<usize>), DecodeError> {
        let mut top = Reader::new(bytes);
        let mut m = top.nested(tag::SEQUENCE)?;
        if m.integer(tag::INTEGER)? != version::V3 {
            return Err(DecodeError::Invalid("not an SNMPv3 message"));
        }
        let mut g = m.nested(tag::SEQUENCE)?;
        let msg_id = g.i32()?;
        let max_size = g.i32()?;
        let flags = *g
            .octets()?
            .first()
            .ok_or(DecodeError::Invalid("empty msgFlags"))?;
        if g.i32()? != 3 {
            return Err(DecodeError::Invalid("security model is not USM"));
        }
        let sec = m.octets()?;
        let mut s = Reader::new(sec).nested(tag::SEQUENCE)?;
        let engine_id = s.octets()?.to_vec();
        let boots = s.integer(tag::INTEGER)?;
        let time = s.integer(tag::INTEGER)?;
        let user = s.octets()?.to_vec();
        let auth = s.octets()?;
        let auth_start = offset_in(bytes, auth);
        let auth_params = auth.to_vec();
        let priv_params = s.octets()?.to_vec();
        let data = match m.peek_tag()? {
            tag::OCTET_STRING => ScopedData::Encrypted(m.octets()?.to_vec()),
            tag::SEQUENCE => ScopedData::Plain(ScopedPdu::decode(m.element()?)?),
            _ => return Err(DecodeError::Invalid("bad msgData")),
        };
        let to_u32 = |n: i64| u32::try_from(n).map_err(|_| DecodeError::IntegerOverflow);
        Ok((
            V3Message {
                msg_id,
                max_size,
                flags,
                usm: UsmParams {
                    engine_id,
                    engine_boots: to_u32(boots)?,
                    engine_time: to_u32(time)?,
                    user,
                    auth_params,
                    priv_params,
                },
                data,
            },
            auth_start..auth_start + auth.len(),
        ))
    }
}

/// Where `inner` (a sub-slice of `outer`) starts in `outer`.
fn offset_in(outer: &[u8], inner: &[u8]) -> usize {
    (inner.as_ptr() as usize).saturating_sub(outer.as_ptr() as usize)
}

fn locate_auth_params(bytes: &[u8]) -> Option<std::ops::Range<usize>> {
    let mut m = Reader::new(bytes).nested(tag::SEQUENCE).ok()?;
    m.any().ok()?;
    m.any().ok()?;
    let sec = m.octets().ok()?;
    let mut s = Reader::new(sec).nested(tag::SEQUENCE).ok()?;
    for _ in 0..4 {
        s.any().ok()?;
    }
    let auth = s.octets().ok()?;
    let start = offset_in(bytes, auth);
    Some(start..start + auth.len())
}

/// A decoded message of any version toc speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    V2c(CommunityMessage),
    V3(V3Message, std::ops::Range<usize>),
}

impl Message {
    /// Decodes one datagram. v1 messages and anything else are refused.
    pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
        let mut top = Reader::new(bytes);
        let mut m = top.nested(tag::SEQUENCE)?;
        match m.integer(tag::INTEGER)? {
            version::V2C => {
                let community = m.octets()?.to_vec();
                let pdu = Pdu::decode(&mut m)?;
                Ok(Message::V2c(CommunityMessage { community, pdu }))
            }
            version::V3 => {
                let (msg, range) = V3Message::decode(bytes)?;
                Ok(Message::V3(msg, range))
            }
            version::V1 => Err(DecodeError::Invalid("SNMPv1 is not supported")),
            _ => Err(DecodeError::Invalid("unknown SNMP version")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oid_encoding_round_trips() {
        for s in [
            "1.3.6.1.2.1.1.5.0",
            "1.3.6.1.4.1.2021.10.1.3.1",
            "2.999.3",
            "1.3.6.1.2.1.2.2.1.8.4294967295",
        ] {
            let oid: Oid = s.parse().expect("parses");
            assert_eq!(Oid::decode(&oid.encode()), Ok(oid.clone()), "{s}");
            assert_eq!(oid.to_string(), s);
        }
        // sysName.0 as net-snmp sends it.
        let oid: Oid = "1.3.6.1.2.1.1.5.0".parse().expect("parses");
        assert_eq!(oid.encode(), [0x2b, 6, 1, 2, 1, 1, 5, 0]);
    }

    #[test]
    fn oid_ordering_is_walk_order() {
        let a: Oid = "1.3.6.1.2.1.2.2.1.2.10".parse().expect("oid");
        let b: Oid = "1.3.6.1.2.1.2.2.1.2.9".parse().expect("oid");
        let c: Oid = "1.3.6.1.2.1.2.2.1.2".parse().expect("oid");
        assert!(b < a && c < b);
    }

    #[test]
    fn bad_oids_are_refused() {
        for bad in ["1.x.3", "", "1", "3.1", "1.40.1", "0.99"] {
            assert!(bad.parse::<Oid>().is_err(), "{bad}");
        }
        assert!("2.999.3".parse::<Oid>().is_ok());
        assert_eq!(Oid::decode(&[0x2b, 0x86]), Err(DecodeError::Truncated));
        assert!(Oid::decode(&[0x2b, 0xff, 0xff, 0xff, 0xff, 0x7f]).is_err());
        assert_eq!(
            Oid::decode(&[0x2b; 641]),
            Err(DecodeError::Invalid("object identifier too long"))
        );
    }

    #[test]
    fn oid_of_128_maximal_arcs_round_trips() {
        let oid = Oid([vec![1, 3], vec![u32::MAX; 126]].concat());
        assert_eq!(oid.encode().len(), 1 + 126 * 5);
        assert_eq!(Oid::decode(&oid.encode()), Ok(oid));
    }

    #[test]
    fn v2c_message_round_trips() {
        let pdu = Pdu {
            kind: PduType::Response,
            request_id: 77,
            error_status: 0,
            error_index: 0,
            varbinds: vec![
                (
                    "1.3.6.1.2.1.1.3.0".parse().expect("oid"),
                    Value::TimeTicks(123_456),
                ),
                (
                    "1.3.6.1.2.1.1.5.0".parse().expect("oid"),
                    Value::OctetString(b"sw1".to_vec()),
                ),
                (
                    "1.3.6.1.2.1.31.1.1.1.6.1".parse().expect("oid"),
                    Value::Counter64(u64::MAX),
                ),
                (
                    "1.3.6.1.2.1.1.9.0".parse().expect("oid"),
                    Value::NoSuchObject,
                ),
            ],
        };
        let msg = CommunityMessage {
            community: b"public".to_vec(),
            pdu: pdu.clone(),
        };
        match Message::decode(&msg.encode()) {
            Ok(Message::V2c(m)) => assert_eq!(m, msg),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn v3_message_round_trips_and_locates_auth() {
        let msg = V3Message {
            msg_id: 9,
            max_size: 65_507,
            flags: flags::AUTH | flags::REPORTABLE,
            usm: UsmParams {
                engine_id: vec![0x80, 0, 0x1f, 0x88, 4, 1, 2],
                engine_boots: 3,
                engine_time: 1000,
                user: b"toc".to_vec(),
                auth_params: vec![0; 12],
                priv_params: vec![],
            },
            data: ScopedData::Plain(ScopedPdu {
                context_engine_id: vec![1, 2],
                context_name: b"STA-core-a".to_vec(),
                pdu: Pdu::request(
                    PduType::Get,
                    9,
                    &["1.3.6.1.2.1.1.5.0".parse().expect("oid")],
                ),
            }),
        };
        let (bytes, range) = msg.encode();
        assert_eq!(range.len(), 12);
        assert!(bytes[range.clone()].iter().all(|&b| b == 0));
        match Message::decode(&bytes) {
            Ok(Message::V3(m, r)) => {
                assert_eq!(m, msg);
                assert_eq!(r, range);
            }
            other => panic!("{other:?}"),
        }
    }
}
