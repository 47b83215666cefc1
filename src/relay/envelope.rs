//! A journaled message: when it came, from which source, its header, and
//! its body unchanged. The journal stores it as opaque bytes; this is the
//! one place that encodes and decodes them.
//!
//! Layout (all integers little-endian): `u8` format (1), `u64` received
//! (nanoseconds since the Unix epoch), then strings as `u16` length and
//! UTF-8 bytes: source, the five key fields, then the six optional
//! header fields each prefixed by a `u8` (0 absent, 1 present), `u64`
//! version, and the body as `u32` length and bytes.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::odf::{DocKey, Header};

/// The format byte written first.
const FORMAT: u8 = 1;

/// One message as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// When ingest took it.
    pub received: SystemTime,
    /// The source id that posted it.
    pub source: String,
    /// Its header.
    pub header: Header,
    /// The XML, exactly as posted (after gzip inflation).
    pub body: Vec<u8>,
}

/// Bytes that are not an envelope of this format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub &'static str);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a relay envelope: {}", self.0)
    }
}

impl std::error::Error for DecodeError {}

fn put_str(out: &mut Vec<u8>, s: &str) {
    // Header attributes are bounded by the parser well below 64 KiB; a
    // longer one is cut at a character boundary rather than corrupt the
    // frame.
    let mut end = s.len().min(usize::from(u16::MAX));
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let len = u16::try_from(end).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&s.as_bytes()[..end]);
}

fn put_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
    }
}

/// Nanoseconds since the Unix epoch (0 before it).
pub fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

impl Envelope {
    /// The bytes the journal keeps.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + 256);
        out.push(FORMAT);
        out.extend_from_slice(&unix_nanos(self.received).to_le_bytes());
        put_str(&mut out, &self.source);
        let k = &self.header.key;
        for s in [
            &k.competition_code,
            &k.document_code,
            &k.document_subcode,
            &k.document_type,
            &k.document_subtype,
        ] {
            put_str(&mut out, s);
        }
        let h = &self.header;
        for s in [
            &h.result_status,
            &h.feed_flag,
            &h.date,
            &h.time,
            &h.logical_date,
            &h.source,
        ] {
            put_opt(&mut out, s.as_deref());
        }
        out.extend_from_slice(&h.version.to_le_bytes());
        let len = u32::try_from(self.body.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&self.body[..len as usize]);
        out
    }

    /// Reads bytes written by [`Envelope::encode`].
    pub fn decode(bytes: &[u8]) -> Result<Envelope, DecodeError> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(1)?[0] != FORMAT {
            return Err(DecodeError("unknown format"));
        }
        let received = UNIX_EPOCH + Duration::from_nanos(r.u64()?);
        let source = r.string()?;
        let key = DocKey {
            competition_code: r.string()?,
            document_code: r.string()?,
            document_subcode: r.string()?,
            document_type: r.string()?,
            document_subtype: r.string()?,
        };
        let result_status = r.opt()?;
        let feed_flag = r.opt()?;
        let date = r.opt()?;
        let time = r.opt()?;
        let logical_date = r.opt()?;
        let header_source = r.opt()?;
        let version = r.u64()?;
        let len = u32::from_le_bytes(r.array()?) as usize;
        let body = r.take(len)?.to_vec();
        if r.at != bytes.len() {
            return Err(DecodeError("trailing bytes"));
        }
        Ok(Envelope {
            received,
            source,
            header: Header {
                key,
                version,
                result_status,
                feed_flag,
                date,
                time,
                logical_date,
                source: header_source,
            },
            body,
        })
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or(DecodeError("cut short"))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let s = self.take(N)?;
        let mut a = [0; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        let len = usize::from(u16::from_le_bytes(self.array()?));
        let s = self.take(len)?;
        String::from_utf8(s.to_vec()).map_err(|_| DecodeError("a field is not UTF-8"))
    }

    fn opt(&mut self) -> Result<Option<String>, DecodeError> {
        match self.take(1)?[0] {
            0 => Ok(None),
            1 => self.string().map(Some),
            _ => Err(DecodeError("bad presence byte")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Envelope {
        Envelope {
            received: UNIX_EPOCH + Duration::from_nanos(1_722_000_000_123_456_789),
            source: "STA-ovr-a".to_owned(),
            header: Header {
                key: DocKey {
                    competition_code: "OG2024".to_owned(),
                    document_code: "ATHM100M--------------FNL-000100--".to_owned(),
                    document_subcode: String::new(),
                    document_type: "DT_RESULT".to_owned(),
                    document_subtype: String::new(),
                },
                version: 7,
                result_status: Some("LIVE".to_owned()),
                feed_flag: Some("P".to_owned()),
                date: None,
                time: Some("125431235".to_owned()),
                logical_date: None,
                source: Some("SEQ".to_owned()),
            },
            body: b"<OdfBody Version=\"7\"/>".to_vec(),
        }
    }

    #[test]
    fn an_envelope_reads_back_as_written() {
        let e = sample();
        assert_eq!(Envelope::decode(&e.encode()), Ok(e));
    }

    #[test]
    fn every_cut_of_an_envelope_is_an_error_not_a_panic() {
        let bytes = sample().encode();
        for n in 0..bytes.len() {
            assert!(Envelope::decode(&bytes[..n]).is_err(), "cut at {n}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            Envelope::decode(&longer),
            Err(DecodeError("trailing bytes"))
        );
    }
}
