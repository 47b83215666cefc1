//! Versions per document: the highest version of each [`DocKey`] the
//! relay has forwarded, so that the other source's copy of a version is a
//! duplicate and an older version is stale. The map never expires during
//! a Games; it is checkpointed to one file (written atomically, with a
//! CRC) and rebuilt at start from that file plus the journal records
//! after it.

use std::collections::HashMap;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::envelope::{DecodeError, Envelope};
use super::journal::{JournalError, Log};
use super::odf::DocKey;

/// What a message's (key, version) is against what was forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A version newer than any forwarded: forward it.
    New,
    /// This version was already forwarded.
    Duplicate,
    /// A newer version was already forwarded.
    Stale,
}

/// The checkpoint file's first bytes.
const MAGIC: &[u8; 8] = b"TOCDEDUP";
/// Its format.
const FORMAT: u8 = 1;

/// Why a checkpoint could not be read or written.
#[derive(Debug)]
pub enum DedupError {
    /// The file system refused.
    Io(io::Error),
    /// The file is not a whole checkpoint of this format (never read as
    /// empty: that would forward old versions again).
    Corrupt(String),
}

impl fmt::Display for DedupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DedupError::Io(e) => write!(f, "dedup checkpoint: {e}"),
            DedupError::Corrupt(why) => write!(f, "dedup checkpoint is corrupt: {why}"),
        }
    }
}

impl std::error::Error for DedupError {}

impl From<io::Error> for DedupError {
    fn from(e: io::Error) -> Self {
        DedupError::Io(e)
    }
}

/// Why dedup state could not be rebuilt at start.
#[derive(Debug)]
pub enum RebuildError {
    /// The checkpoint.
    Checkpoint(DedupError),
    /// The journal.
    Journal(JournalError),
    /// A journal record that is not an envelope.
    Record {
        /// Its sequence number.
        seq: u64,
        /// Why.
        error: DecodeError,
    },
}

impl fmt::Display for RebuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RebuildError::Checkpoint(e) => e.fmt(f),
            RebuildError::Journal(e) => e.fmt(f),
            RebuildError::Record { seq, error } => write!(f, "journal record #{seq}: {error}"),
        }
    }
}

impl std::error::Error for RebuildError {}

/// The highest forwarded version per document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dedup {
    latest: HashMap<DocKey, u64>,
}

impl Dedup {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many documents it knows.
    pub fn len(&self) -> usize {
        self.latest.len()
    }

    /// Whether it knows none.
    pub fn is_empty(&self) -> bool {
        self.latest.is_empty()
    }

    /// The highest version forwarded of a document.
    pub fn latest(&self, key: &DocKey) -> Option<u64> {
        self.latest.get(key).copied()
    }

    /// What `version` of `key` is against what was forwarded.
    pub fn judge(&self, key: &DocKey, version: u64) -> Verdict {
        match self.latest.get(key) {
            None => Verdict::New,
            Some(&v) if version > v => Verdict::New,
            Some(&v) if version == v => Verdict::Duplicate,
            Some(_) => Verdict::Stale,
        }
    }

    /// Records that `version` of `key` was forwarded (never lowers it).
    pub fn accept(&mut self, key: &DocKey, version: u64) {
        if let Some(v) = self.latest.get_mut(key) {
            *v = (*v).max(version);
        } else {
            self.latest.insert(key.clone(), version);
        }
    }

    /// Writes the whole map to `path` atomically (a temporary file beside
    /// it, fsync, rename, fsync of the folder), saying that it covers the
    /// journal up to and including `covered_seq`.
    pub fn checkpoint(&self, path: &Path, covered_seq: u64) -> Result<(), DedupError> {
        let bytes = self.encode(covered_seq);
        let tmp = tmp_path(path);
        let mut f = File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }

    /// Reads a checkpoint: the map and the last journal sequence number it
    /// covers. A missing file is an empty map covering nothing (0); a
    /// file that is not a whole checkpoint is an error.
    pub fn load(path: &Path) -> Result<(Dedup, u64), DedupError> {
        match fs::read(path) {
            Ok(bytes) => Self::decode(&bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok((Dedup::new(), 0)),
            Err(e) => Err(e.into()),
        }
    }

    /// Rebuilds the state at start: the checkpoint, then every journal
    /// record after the sequence number it covers. Returns the map and
    /// the last sequence number it now covers.
    pub fn rebuild(path: &Path, log: &dyn Log) -> Result<(Dedup, u64), RebuildError> {
        let (mut d, covered) = Self::load(path).map_err(RebuildError::Checkpoint)?;
        let mut next = covered.saturating_add(1).max(log.first());
        let mut last = covered;
        loop {
            let batch = log
                .read(next, 4096, 16 << 20)
                .map_err(RebuildError::Journal)?;
            let Some(end) = batch.last().map(|s| s.seq) else {
                break;
            };
            for s in &batch {
                let env = Envelope::decode(&s.data)
                    .map_err(|error| RebuildError::Record { seq: s.seq, error })?;
                d.accept(&env.header.key, env.header.version);
            }
            last = end;
            next = end + 1;
        }
        Ok((d, last))
    }

    fn encode(&self, covered_seq: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + self.latest.len() * 80);
        out.extend_from_slice(MAGIC);
        out.push(FORMAT);
        out.extend_from_slice(&covered_seq.to_le_bytes());
        out.extend_from_slice(&(self.latest.len() as u64).to_le_bytes());
        for (k, v) in &self.latest {
            for s in [
                &k.competition_code,
                &k.document_code,
                &k.document_subcode,
                &k.document_type,
                &k.document_subtype,
            ] {
                // The header parser bounds values far below 64 KiB.
                let len = u16::try_from(s.len()).unwrap_or(u16::MAX);
                out.extend_from_slice(&len.to_le_bytes());
                out.extend_from_slice(&s.as_bytes()[..usize::from(len)]);
            }
            out.extend_from_slice(&v.to_le_bytes());
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Result<(Dedup, u64), DedupError> {
        let bad = |why: &str| DedupError::Corrupt(why.to_owned());
        let (body, crc) = bytes
            .split_last_chunk::<4>()
            .ok_or_else(|| bad("shorter than its header"))?;
        if crc32fast::hash(body) != u32::from_le_bytes(*crc) {
            return Err(bad("CRC mismatch"));
        }
        let mut r = Cursor { bytes: body, at: 0 };
        if r.take(8).ok_or_else(|| bad("cut short"))? != MAGIC {
            return Err(bad("not a dedup checkpoint"));
        }
        if r.take(1).ok_or_else(|| bad("cut short"))? != [FORMAT] {
            return Err(bad("unknown format"));
        }
        let covered = r.u64().ok_or_else(|| bad("cut short"))?;
        let n = r.u64().ok_or_else(|| bad("cut short"))?;
        let mut latest = HashMap::with_capacity(usize::try_from(n).unwrap_or(0).min(1 << 20));
        for _ in 0..n {
            let key = DocKey {
                competition_code: r.string().ok_or_else(|| bad("a key is cut short"))?,
                document_code: r.string().ok_or_else(|| bad("a key is cut short"))?,
                document_subcode: r.string().ok_or_else(|| bad("a key is cut short"))?,
                document_type: r.string().ok_or_else(|| bad("a key is cut short"))?,
                document_subtype: r.string().ok_or_else(|| bad("a key is cut short"))?,
            };
            let v = r.u64().ok_or_else(|| bad("a version is cut short"))?;
            latest.insert(key, v);
        }
        if r.at != body.len() {
            return Err(bad("trailing bytes"));
        }
        Ok((Dedup { latest }, covered))
    }
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.bytes.len())?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Some(s)
    }

    fn u64(&mut self) -> Option<u64> {
        let s = self.take(8)?;
        let mut a = [0; 8];
        a.copy_from_slice(s);
        Some(u64::from_le_bytes(a))
    }

    fn string(&mut self) -> Option<String> {
        let s = self.take(2)?;
        let len = usize::from(u16::from_le_bytes([s[0], s[1]]));
        String::from_utf8(self.take(len)?.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: &str) -> DocKey {
        DocKey {
            competition_code: "OG2026".to_owned(),
            document_code: code.to_owned(),
            document_type: "DT_RESULT".to_owned(),
            ..DocKey::default()
        }
    }

    #[test]
    fn judges_new_duplicate_stale() {
        let mut d = Dedup::new();
        let k = key("ATHM100M");
        assert_eq!(d.judge(&k, 3), Verdict::New);
        d.accept(&k, 3);
        assert_eq!(d.judge(&k, 3), Verdict::Duplicate);
        assert_eq!(d.judge(&k, 2), Verdict::Stale);
        assert_eq!(d.judge(&k, 4), Verdict::New);
        d.accept(&k, 1);
        assert_eq!(d.latest(&k), Some(3), "accept never lowers a version");
        assert_eq!(d.judge(&key("other"), 0), Verdict::New);
    }

    #[test]
    fn checkpoint_round_trips_and_refuses_corruption() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("dedup.ckpt");
        assert_eq!(
            Dedup::load(&path).expect("missing is empty"),
            (Dedup::new(), 0)
        );
        let mut d = Dedup::new();
        for i in 0..50 {
            d.accept(&key(&format!("DOC{i}")), i);
        }
        d.checkpoint(&path, 77).expect("checkpoint");
        assert_eq!(Dedup::load(&path).expect("load"), (d.clone(), 77));
        let mut bytes = fs::read(&path).expect("read");
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x40;
        fs::write(&path, &bytes).expect("write");
        assert!(matches!(Dedup::load(&path), Err(DedupError::Corrupt(_))));
        fs::write(&path, &bytes[..mid]).expect("write");
        assert!(matches!(Dedup::load(&path), Err(DedupError::Corrupt(_))));
        fs::write(&path, b"").expect("write");
        assert!(matches!(Dedup::load(&path), Err(DedupError::Corrupt(_))));
    }
}
