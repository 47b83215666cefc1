//! The consumers' cursors in one small file, `cursors`: rewritten whole
//! under a temporary name, synced, and renamed over the old one, so a
//! crash leaves either the old or the new set.
//!
//! Layout (little-endian): `TOCJCUR1`, `u32` count, then per consumer a
//! `u16` name length, the UTF-8 name and a `u64` next sequence number;
//! last a `u32` CRC of everything before it.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path;

use super::frame::write_atomic;

const MAGIC: &[u8; 8] = b"TOCJCUR1";
/// The file's name in the journal's directory.
pub(super) const FILE: &str = "cursors";

/// The bytes of the cursors file.
pub(super) fn encode(cursors: &BTreeMap<String, u64>) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + cursors.len() * 32);
    out.extend_from_slice(MAGIC);
    let n = u32::try_from(cursors.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&n.to_le_bytes());
    for (name, next) in cursors.iter().take(n as usize) {
        let bytes = name.as_bytes();
        let len = bytes.len().min(usize::from(u16::MAX));
        out.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_le_bytes());
        out.extend_from_slice(&bytes[..len]);
        out.extend_from_slice(&next.to_le_bytes());
    }
    let sum = crc32fast::hash(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// Reads the cursors file's bytes; `None` when they are not one.
pub(super) fn decode(b: &[u8]) -> Option<BTreeMap<String, u64>> {
    let body = &b[..b.len().checked_sub(4)?];
    let mut sum = [0; 4];
    sum.copy_from_slice(&b[body.len()..]);
    if crc32fast::hash(body) != u32::from_le_bytes(sum) || body.get(..8)? != MAGIC {
        return None;
    }
    let mut at: usize = 8;
    let mut take = |n: usize| -> Option<&[u8]> {
        let s = body.get(at..at.checked_add(n)?)?;
        at += n;
        Some(s)
    };
    let n = u32::from_le_bytes(take(4)?.try_into().ok()?);
    let mut out = BTreeMap::new();
    for _ in 0..n {
        let len = u16::from_le_bytes(take(2)?.try_into().ok()?);
        let name = String::from_utf8(take(usize::from(len))?.to_vec()).ok()?;
        let next = u64::from_le_bytes(take(8)?.try_into().ok()?);
        out.insert(name, next);
    }
    Some(out)
}

/// Loads the cursors of the journal in `dir` (none when there is no
/// file yet).
pub(super) fn load(dir: &Path) -> io::Result<Option<BTreeMap<String, u64>>> {
    match fs::read(dir.join(FILE)) {
        Ok(b) => Ok(decode(&b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Some(BTreeMap::new())),
        Err(e) => Err(e),
    }
}

/// Saves the cursors of the journal in `dir`.
pub(super) fn save(dir: &Path, cursors: &BTreeMap<String, u64>, sync: bool) -> io::Result<()> {
    write_atomic(dir, &dir.join(FILE), &encode(cursors), sync)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back_and_every_cut_is_refused() {
        let mut c = BTreeMap::new();
        c.insert("commentators".to_owned(), 42);
        c.insert("phones".to_owned(), 7);
        let b = encode(&c);
        assert_eq!(decode(&b), Some(c));
        for n in 0..b.len() {
            assert_eq!(decode(&b[..n]), None, "cut at {n}");
        }
    }
}
