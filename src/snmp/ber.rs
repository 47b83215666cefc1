//! The subset of ASN.1 BER that SNMP uses: definite lengths, integers,
//! octet strings, NULL, object identifiers, sequences and SNMP's
//! application and context types.
//!
//! The reader works on untrusted bytes: every length is checked against
//! what is left, nothing is allocated before it is known to fit, and every
//! failure is a [`DecodeError`], never a panic.

use std::fmt;

/// Tags SNMP uses.
pub mod tag {
    pub const INTEGER: u8 = 0x02;
    pub const OCTET_STRING: u8 = 0x04;
    pub const NULL: u8 = 0x05;
    pub const OID: u8 = 0x06;
    pub const SEQUENCE: u8 = 0x30;
    pub const IP_ADDRESS: u8 = 0x40;
    pub const COUNTER32: u8 = 0x41;
    pub const GAUGE32: u8 = 0x42;
    pub const TIMETICKS: u8 = 0x43;
    pub const OPAQUE: u8 = 0x44;
    pub const COUNTER64: u8 = 0x46;
    pub const NO_SUCH_OBJECT: u8 = 0x80;
    pub const NO_SUCH_INSTANCE: u8 = 0x81;
    pub const END_OF_MIB_VIEW: u8 = 0x82;
}

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The data ends before the element does.
    Truncated,
    /// A different element than the one expected.
    UnexpectedTag { expected: u8, found: u8 },
    /// A length form SNMP never needs (indefinite, or over 4 octets).
    BadLength,
    /// An integer too large for its type.
    IntegerOverflow,
    /// Some other malformation, described.
    Invalid(&'static str),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated => f.write_str("truncated"),
            DecodeError::UnexpectedTag { expected, found } => {
                write!(f, "expected tag 0x{expected:02x}, found 0x{found:02x}")
            }
            DecodeError::BadLength => f.write_str("unsupported length encoding"),
            DecodeError::IntegerOverflow => f.write_str("integer out of range"),
            DecodeError::Invalid(what) => f.write_str(what),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Reads BER elements one after the other from a byte slice.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// Whether everything has been read.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// What is left to read.
    pub fn remaining(&self) -> &'a [u8] {
        self.rest
    }

    /// The next element's tag, without reading it.
    pub fn peek_tag(&self) -> Result<u8, DecodeError> {
        self.rest.first().copied().ok_or(DecodeError::Truncated)
    }

    /// Reads any element: its tag and its contents.
    pub fn any(&mut self) -> Result<(u8, &'a [u8]), DecodeError> {
        let (&t, after_tag) = self.rest.split_first().ok_or(DecodeError::Truncated)?;
        if t & 0x1f == 0x1f {
            return Err(DecodeError::Invalid(
                "multi-octet tags are not used by SNMP",
            ));
        }
        let (&first, after_len) = after_tag.split_first().ok_or(DecodeError::Truncated)?;
        let (len, body) = if first < 0x80 {
            (usize::from(first), after_len)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 {
                return Err(DecodeError::BadLength);
            }
            if after_len.len() < n {
                return Err(DecodeError::Truncated);
            }
            let (len_bytes, body) = after_len.split_at(n);
            let len = len_bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (len, body)
        };
        if body.len() < len {
            return Err(DecodeError::Truncated);
        }
        let (contents, rest) = body.split_at(len);
        self.rest = rest;
        Ok((t, contents))
    }

    /// Reads any element and returns it whole: tag, length and contents.
    pub fn element(&mut self) -> Result<&'a [u8], DecodeError> {
        let before = self.rest;
        self.any()?;
        Ok(&before[..before.len() - self.rest.len()])
    }

    /// Reads an element that must have tag `expected`.
    pub fn expect(&mut self, expected: u8) -> Result<&'a [u8], DecodeError> {
        let found = self.peek_tag()?;
        if found != expected {
            return Err(DecodeError::UnexpectedTag { expected, found });
        }
        self.any().map(|(_, c)| c)
    }

    /// A constructed element with tag `expected`, as a reader of its
    /// contents.
    pub fn nested(&mut self, expected: u8) -> Result<Reader<'a>, DecodeError> {
        self.expect(expected).map(Reader::new)
    }

    /// A signed integer with tag `expected` (INTEGER and the like).
    pub fn integer(&mut self, expected: u8) -> Result<i64, DecodeError> {
        decode_signed(self.expect(expected)?)
    }

    /// An INTEGER that must fit in an `i32` (request ids, error status).
    pub fn i32(&mut self) -> Result<i32, DecodeError> {
        i32::try_from(self.integer(tag::INTEGER)?).map_err(|_| DecodeError::IntegerOverflow)
    }

    /// An OCTET STRING.
    pub fn octets(&mut self) -> Result<&'a [u8], DecodeError> {
        self.expect(tag::OCTET_STRING)
    }
}

/// Decodes a two's complement big-endian integer of at most 8 octets.
pub fn decode_signed(bytes: &[u8]) -> Result<i64, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Invalid("empty integer"));
    }
    if bytes.len() > 8 {
        return Err(DecodeError::IntegerOverflow);
    }
    let negative = bytes[0] & 0x80 != 0;
    let mut buf = if negative { [0xff; 8] } else { [0; 8] };
    buf[8 - bytes.len()..].copy_from_slice(bytes);
    Ok(i64::from_be_bytes(buf))
}

/// Decodes an unsigned integer (Counter32, Gauge32, `TimeTicks`,
/// Counter64): up to 8 value octets, plus one leading zero octet that BER
/// adds when the top bit is set. A value near 2^64 is 9 octets on the wire.
pub fn decode_unsigned(bytes: &[u8]) -> Result<u64, DecodeError> {
    let bytes = match bytes {
        [] => return Err(DecodeError::Invalid("empty integer")),
        [0, rest @ ..] if !rest.is_empty() => rest,
        _ if bytes[0] & 0x80 != 0 => return Err(DecodeError::Invalid("negative unsigned value")),
        _ => bytes,
    };
    if bytes.len() > 8 {
        return Err(DecodeError::IntegerOverflow);
    }
    let mut buf = [0; 8];
    buf[8 - bytes.len()..].copy_from_slice(bytes);
    Ok(u64::from_be_bytes(buf))
}

/// Writes BER elements. Constructed elements are written by closures; the
/// length is filled in when the closure returns.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub fn new() -> Self {
        Self::default()
    }

    /// The bytes written so far.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// How many bytes have been written.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn header(&mut self, t: u8, len: usize) {
        self.buf.push(t);
        push_length(&mut self.buf, len);
    }

    /// A primitive element.
    pub fn primitive(&mut self, t: u8, contents: &[u8]) {
        self.header(t, contents.len());
        self.buf.extend_from_slice(contents);
    }

    /// A constructed element whose contents `f` writes.
    pub fn constructed(&mut self, t: u8, f: impl FnOnce(&mut Writer)) {
        let start = self.buf.len();
        f(self);
        let len = self.buf.len() - start;
        let mut head = Vec::with_capacity(6);
        head.push(t);
        push_length(&mut head, len);
        self.buf.splice(start..start, head);
    }

    /// Bytes that are already encoded elements.
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// A SEQUENCE.
    pub fn sequence(&mut self, f: impl FnOnce(&mut Writer)) {
        self.constructed(tag::SEQUENCE, f);
    }

    /// A signed integer with tag `t`, minimal encoding.
    pub fn integer(&mut self, t: u8, n: i64) {
        let bytes = n.to_be_bytes();
        let mut start = 0;
        while start < 7 {
            let (b, next) = (bytes[start], bytes[start + 1]);
            if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
                start += 1;
            } else {
                break;
            }
        }
        self.primitive(t, &bytes[start..]);
    }

    /// An unsigned integer with tag `t`, minimal encoding, with a leading
    /// zero octet when the top bit is set.
    pub fn unsigned(&mut self, t: u8, n: u64) {
        let bytes = n.to_be_bytes();
        let start = bytes.iter().position(|&b| b != 0).unwrap_or(7);
        if bytes[start] & 0x80 != 0 {
            let mut v = Vec::with_capacity(9);
            v.push(0);
            v.extend_from_slice(&bytes[start..]);
            self.primitive(t, &v);
        } else {
            self.primitive(t, &bytes[start..]);
        }
    }

    /// An OCTET STRING.
    pub fn octets(&mut self, bytes: &[u8]) {
        self.primitive(tag::OCTET_STRING, bytes);
    }

    /// NULL.
    pub fn null(&mut self) {
        self.primitive(tag::NULL, &[]);
    }
}

fn push_length(buf: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        // Fits in 7 bits.
        buf.push(u8::try_from(len).unwrap_or(0));
    } else {
        let bytes = len.to_be_bytes();
        let start = bytes
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(bytes.len() - 1);
        let n = bytes.len() - start;
        buf.push(0x80 | u8::try_from(n).unwrap_or(0));
        buf.extend_from_slice(&bytes[start..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip_signed(n: i64) -> i64 {
        let mut w = Writer::new();
        w.integer(tag::INTEGER, n);
        let bytes = w.into_bytes();
        Reader::new(&bytes).integer(tag::INTEGER).expect("decodes")
    }

    #[test]
    fn signed_integers_round_trip() {
        for n in [
            0,
            1,
            -1,
            127,
            128,
            -128,
            -129,
            255,
            256,
            i64::from(i32::MAX),
            i64::MIN,
            i64::MAX,
        ] {
            assert_eq!(roundtrip_signed(n), n, "{n}");
        }
    }

    #[test]
    fn minimal_integer_encodings() {
        let enc = |n| {
            let mut w = Writer::new();
            w.integer(tag::INTEGER, n);
            w.into_bytes()
        };
        assert_eq!(enc(0), [2, 1, 0]);
        assert_eq!(enc(127), [2, 1, 0x7f]);
        assert_eq!(enc(128), [2, 2, 0, 0x80]);
        assert_eq!(enc(-1), [2, 1, 0xff]);
        assert_eq!(enc(-129), [2, 2, 0xff, 0x7f]);
    }

    #[test]
    fn counter64_near_two_to_the_64_round_trips() {
        for n in [u64::MAX, u64::MAX - 1, 1 << 63, (1 << 63) - 1, 0, 0x80] {
            let mut w = Writer::new();
            w.unsigned(tag::COUNTER64, n);
            let bytes = w.into_bytes();
            let c = Reader::new(&bytes).expect(tag::COUNTER64).expect("element");
            assert_eq!(decode_unsigned(c), Ok(n), "{n}");
        }
        // u64::MAX is 9 octets on the wire: 00 ff ff ff ff ff ff ff ff.
        assert_eq!(
            decode_unsigned(&[0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Ok(u64::MAX)
        );
        assert_eq!(
            decode_unsigned(&[1, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(DecodeError::IntegerOverflow)
        );
    }

    #[test]
    fn long_lengths() {
        let mut w = Writer::new();
        let body = vec![7u8; 300];
        w.octets(&body);
        let bytes = w.into_bytes();
        assert_eq!(&bytes[..4], &[4, 0x82, 1, 44]);
        assert_eq!(Reader::new(&bytes).octets().expect("decodes"), &body[..]);
    }

    #[test]
    fn truncated_and_bad_lengths_are_errors() {
        assert_eq!(Reader::new(&[]).any(), Err(DecodeError::Truncated));
        assert_eq!(Reader::new(&[4]).any(), Err(DecodeError::Truncated));
        assert_eq!(Reader::new(&[4, 5, 1]).any(), Err(DecodeError::Truncated));
        assert_eq!(Reader::new(&[4, 0x80]).any(), Err(DecodeError::BadLength));
        assert_eq!(
            Reader::new(&[4, 0x85, 1, 1, 1, 1, 1]).any(),
            Err(DecodeError::BadLength)
        );
        assert_eq!(
            Reader::new(&[4, 0x84, 0xff, 0xff, 0xff, 0xff]).any(),
            Err(DecodeError::Truncated)
        );
    }

    #[test]
    fn nested_sequences() {
        let mut w = Writer::new();
        w.sequence(|w| {
            w.integer(tag::INTEGER, 5);
            w.sequence(|w| w.octets(b"x"));
        });
        let bytes = w.into_bytes();
        let mut r = Reader::new(&bytes).nested(tag::SEQUENCE).expect("seq");
        assert_eq!(r.integer(tag::INTEGER), Ok(5));
        let mut inner = r.nested(tag::SEQUENCE).expect("inner");
        assert_eq!(inner.octets(), Ok(&b"x"[..]));
        assert!(r.is_empty());
    }
}
