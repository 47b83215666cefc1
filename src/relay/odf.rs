//! The `OdfBody` header of an Olympic Data Feed message, read with
//! quick-xml without reading the body; the body stays bytes and is
//! forwarded unchanged.

use std::fmt;
use std::io::Read;

use flate2::read::MultiGzDecoder;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use serde::{Deserialize, Serialize};

pub use crate::model::relay::DocKey;

/// The attributes of the `OdfBody` root the relay uses. Others pass
/// through untouched in the body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Header {
    /// The document it is a version of.
    pub key: DocKey,
    /// `Version`.
    pub version: u64,
    /// `ResultStatus` (`START_LIST`, `LIVE`, `OFFICIAL`, …).
    pub result_status: Option<String>,
    /// `FeedFlag` (`P` production, `T` test).
    pub feed_flag: Option<String>,
    /// `Date`.
    pub date: Option<String>,
    /// `Time`.
    pub time: Option<String>,
    /// `LogicalDate`.
    pub logical_date: Option<String>,
    /// `Source`.
    pub source: Option<String>,
}

impl Header {
    /// Whether it is a keep-alive (`DT_KA`): counted, never forwarded.
    pub fn is_keepalive(&self) -> bool {
        self.key.document_type == "DT_KA"
    }

    /// The discipline: the first three characters of `DocumentCode`.
    pub fn discipline(&self) -> &str {
        let code = &self.key.document_code;
        code.char_indices()
            .nth(3)
            .map_or(code.as_str(), |(i, _)| &code[..i])
    }
}

/// The longest attribute value the header keeps (the envelope stores
/// strings with a 16-bit length; real header values are under 40 bytes).
pub const MAX_ATTRIBUTE: usize = 1024;

/// Why a message is not an ODF message the relay can take. Its text is
/// what a person reads: it goes into the quarantine and the 400 answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OdfError {
    /// Nothing but whitespace, comments or processing instructions.
    Empty,
    /// A `<!DOCTYPE …>`: DTDs and entity declarations are refused, never
    /// expanded.
    Doctype,
    /// The root element is not `OdfBody`; it was this.
    NotOdf(String),
    /// Not well-formed XML (with where and why).
    Malformed(String),
    /// A required `OdfBody` attribute is missing.
    Missing(&'static str),
    /// `Version` is not a whole number from 0 to 2^64-1.
    BadVersion(String),
    /// An attribute value that cannot be read (unknown entity, too long).
    BadAttribute {
        /// The attribute.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The bytes are not UTF-8 (ODF is UTF-8).
    NotUtf8 {
        /// Byte offset of the first bad byte.
        at: usize,
    },
}

impl fmt::Display for OdfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OdfError::Empty => write!(f, "the message has no root element"),
            OdfError::Doctype => write!(
                f,
                "the message has a DOCTYPE (DTDs and entity declarations are refused, never expanded)"
            ),
            OdfError::NotOdf(root) => {
                write!(f, "not ODF: the root element is <{root}>, not <OdfBody>")
            }
            OdfError::Malformed(why) => write!(f, "not well-formed XML: {why}"),
            OdfError::Missing(name) => write!(f, "OdfBody has no {name} attribute"),
            OdfError::BadVersion(v) => write!(
                f,
                "OdfBody Version=\"{v}\" is not a whole number from 0 to {}",
                u64::MAX
            ),
            OdfError::BadAttribute { name, reason } => {
                write!(f, "OdfBody attribute {name}: {reason}")
            }
            OdfError::NotUtf8 { at } => write!(f, "not UTF-8 (first bad byte at offset {at})"),
        }
    }
}

impl std::error::Error for OdfError {}

fn shown(s: &str) -> String {
    let mut end = s.len().min(64);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    if end < s.len() {
        format!("{}…", &s[..end])
    } else {
        s.to_owned()
    }
}

fn malformed(reader: &Reader<&[u8]>, e: &quick_xml::Error) -> OdfError {
    OdfError::Malformed(format!("at byte {}: {e}", reader.error_position()))
}

fn reader(xml: &[u8]) -> Reader<&[u8]> {
    let mut r = Reader::from_reader(xml);
    let c = r.config_mut();
    c.check_end_names = true;
    c.check_comments = true;
    r
}

/// Reads the `OdfBody` header: skips the XML declaration, comments,
/// processing instructions and whitespace, refuses a DOCTYPE, and reads
/// only the root start tag (the body is not parsed; see
/// [`check_well_formed`] for the whole message).
pub fn parse_header(xml: &[u8]) -> Result<Header, OdfError> {
    let mut r = reader(xml);
    loop {
        match r.read_event() {
            Err(e) => return Err(malformed(&r, &e)),
            Ok(Event::Eof) => return Err(OdfError::Empty),
            Ok(Event::Decl(_) | Event::Comment(_) | Event::PI(_)) => {}
            Ok(Event::Text(t)) => {
                if !t.bytes().all(|b| b.is_ascii_whitespace()) {
                    return Err(OdfError::Malformed(format!(
                        "text before the root element: {}",
                        shown(&t)
                    )));
                }
            }
            Ok(Event::DocType(_)) => return Err(OdfError::Doctype),
            Ok(Event::Start(e) | Event::Empty(e)) => return header_of(&e),
            Ok(Event::End(_) | Event::CData(_) | Event::GeneralRef(_)) => {
                return Err(OdfError::Malformed(
                    "markup before the root element".to_owned(),
                ));
            }
        }
    }
}

fn header_of(e: &BytesStart<'_>) -> Result<Header, OdfError> {
    if e.name().as_ref() != "OdfBody" {
        return Err(OdfError::NotOdf(shown(e.name().as_ref())));
    }
    let mut h = Header::default();
    let (mut has_type, mut has_code, mut version) = (false, false, None);
    for a in e.attributes().with_checks(true) {
        let a = a.map_err(|e| OdfError::Malformed(format!("OdfBody attributes: {e}")))?;
        let slot = match a.key.as_ref() {
            "CompetitionCode" => Slot::Key(&mut h.key.competition_code),
            "DocumentCode" => {
                has_code = true;
                Slot::Key(&mut h.key.document_code)
            }
            "DocumentSubcode" => Slot::Key(&mut h.key.document_subcode),
            "DocumentType" => {
                has_type = true;
                Slot::Key(&mut h.key.document_type)
            }
            "DocumentSubtype" => Slot::Key(&mut h.key.document_subtype),
            "Version" => Slot::Version,
            "ResultStatus" => Slot::Opt(&mut h.result_status),
            "FeedFlag" => Slot::Opt(&mut h.feed_flag),
            "Date" => Slot::Opt(&mut h.date),
            "Time" => Slot::Opt(&mut h.time),
            "LogicalDate" => Slot::Opt(&mut h.logical_date),
            "Source" => Slot::Opt(&mut h.source),
            // Unknown and legacy attributes stay in the body.
            _ => continue,
        };
        let name = || a.key.as_ref().to_owned();
        if a.value.len() > MAX_ATTRIBUTE {
            return Err(OdfError::BadAttribute {
                name: name(),
                reason: format!("longer than {MAX_ATTRIBUTE} bytes"),
            });
        }
        let value =
            a.normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| OdfError::BadAttribute {
                    name: name(),
                    reason: e.to_string(),
                })?;
        match slot {
            Slot::Key(s) => *s = value.into_owned(),
            Slot::Opt(s) => *s = Some(value.into_owned()),
            Slot::Version => version = Some(parse_version(&value)?),
        }
    }
    if !has_type {
        return Err(OdfError::Missing("DocumentType"));
    }
    if !has_code {
        return Err(OdfError::Missing("DocumentCode"));
    }
    h.version = version.ok_or(OdfError::Missing("Version"))?;
    Ok(h)
}

enum Slot<'h> {
    Key(&'h mut String),
    Opt(&'h mut Option<String>),
    Version,
}

fn parse_version(v: &str) -> Result<u64, OdfError> {
    let t = v.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(OdfError::BadVersion(shown(v)));
    }
    t.parse().map_err(|_| OdfError::BadVersion(shown(v)))
}

/// Checks that the whole message is well-formed UTF-8 XML with one root
/// element, without building a tree: one pass of quick-xml's reader over
/// the borrowed bytes (end tags must match, attributes are well-formed
/// and not repeated, only the five predefined entities and character
/// references are used, no DOCTYPE, nothing but comments, processing
/// instructions and whitespace around the root).
pub fn check_well_formed(xml: &[u8]) -> Result<(), OdfError> {
    if let Err(e) = std::str::from_utf8(xml) {
        return Err(OdfError::NotUtf8 {
            at: e.valid_up_to(),
        });
    }
    let mut r = reader(xml);
    let (mut depth, mut roots) = (0usize, 0usize);
    loop {
        let ev = r.read_event().map_err(|e| malformed(&r, &e))?;
        match ev {
            Event::Eof => break,
            Event::DocType(_) => return Err(OdfError::Doctype),
            Event::Start(e) | Event::Empty(e) if depth == 0 && roots > 0 => {
                return Err(OdfError::Malformed(format!(
                    "a second root element <{}>",
                    shown(e.name().as_ref())
                )));
            }
            Event::Start(e) => {
                check_attributes(&e)?;
                roots += usize::from(depth == 0);
                depth += 1;
            }
            Event::Empty(e) => {
                check_attributes(&e)?;
                roots += usize::from(depth == 0);
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Text(t) => {
                if depth == 0 && !t.bytes().all(|b| b.is_ascii_whitespace()) {
                    return Err(OdfError::Malformed(format!(
                        "text outside the root element: {}",
                        shown(&t)
                    )));
                }
            }
            Event::CData(_) if depth == 0 => {
                return Err(OdfError::Malformed(
                    "CDATA outside the root element".to_owned(),
                ));
            }
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::CData(_) => {}
            Event::GeneralRef(g) => {
                if depth == 0 {
                    return Err(OdfError::Malformed(
                        "an entity reference outside the root element".to_owned(),
                    ));
                }
                check_reference(&g)?;
            }
        }
    }
    if roots == 0 {
        return Err(OdfError::Empty);
    }
    if depth > 0 {
        return Err(OdfError::Malformed(format!(
            "the input ends with {depth} element(s) still open"
        )));
    }
    Ok(())
}

fn check_reference(name: &str) -> Result<(), OdfError> {
    let ok = match name.as_bytes() {
        b"lt" | b"gt" | b"amp" | b"apos" | b"quot" => true,
        [b'#', b'x', hex @ ..] => !hex.is_empty() && char_ref(hex, 16),
        [b'#', dec @ ..] => !dec.is_empty() && char_ref(dec, 10),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(OdfError::Malformed(format!(
            "unknown entity or bad character reference &{};",
            shown(name)
        )))
    }
}

fn char_ref(digits: &[u8], radix: u32) -> bool {
    std::str::from_utf8(digits)
        .ok()
        .and_then(|s| u32::from_str_radix(s, radix).ok())
        .and_then(char::from_u32)
        .is_some_and(|c| c != '\0')
}

fn check_attributes(e: &BytesStart<'_>) -> Result<(), OdfError> {
    for a in e.attributes().with_checks(true) {
        let a = a.map_err(|err| {
            OdfError::Malformed(format!(
                "attributes of <{}>: {err}",
                shown(e.name().as_ref())
            ))
        })?;
        let v: &str = &a.value;
        if v.contains('<') {
            return Err(OdfError::Malformed(format!(
                "'<' in the value of attribute {}",
                shown(a.key.as_ref())
            )));
        }
        let mut rest = v;
        while let Some(i) = rest.find('&') {
            let after = &rest[i + 1..];
            let Some(end) = after.find(';') else {
                return Err(OdfError::Malformed(format!(
                    "a bare '&' in the value of attribute {}",
                    shown(a.key.as_ref())
                )));
            };
            check_reference(&after[..end])?;
            rest = &after[end + 1..];
        }
    }
    Ok(())
}

/// Why a gzip body could not be inflated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InflateError {
    /// It inflates past the limit (stopped there: nothing more was
    /// allocated).
    TooLarge {
        /// The limit in bytes.
        max: u64,
    },
    /// Not gzip, or cut short.
    Corrupt(String),
}

impl fmt::Display for InflateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InflateError::TooLarge { max } => {
                write!(f, "the gzip body inflates past the limit of {max} bytes")
            }
            InflateError::Corrupt(e) => write!(f, "the gzip body cannot be inflated: {e}"),
        }
    }
}

impl std::error::Error for InflateError {}

/// Inflates a `Content-Encoding: gzip` body (several members allowed),
/// stopping with [`InflateError::TooLarge`] as soon as it would pass
/// `max` bytes: a gzip bomb never costs more than `max` plus one chunk.
pub fn inflate(body: &[u8], max: u64) -> Result<Vec<u8>, InflateError> {
    const CHUNK: usize = 64 * 1024;
    let cap = usize::try_from(max).unwrap_or(usize::MAX);
    let mut dec = MultiGzDecoder::new(body);
    let mut out: Vec<u8> = Vec::with_capacity(body.len().saturating_mul(4).max(CHUNK).min(cap));
    let mut chunk = vec![0u8; CHUNK];
    loop {
        let n = match dec.read(&mut chunk) {
            Ok(0) => return Ok(out),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(InflateError::Corrupt(e.to_string())),
        };
        if out.len().saturating_add(n) > cap {
            return Err(InflateError::TooLarge { max });
        }
        if out.capacity() - out.len() < n {
            // Grow by doubling, but never past the limit.
            let want = out.capacity().saturating_mul(2).clamp(out.len() + n, cap);
            out.reserve_exact(want - out.len());
        }
        out.extend_from_slice(&chunk[..n]);
    }
}
