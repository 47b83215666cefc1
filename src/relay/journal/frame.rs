//! Frames and segment files on disk: the frame layout, a windowed
//! positioned reader, the scan that validates a segment, and the sidecar
//! index written when a segment is sealed.
//!
//! Frame (little-endian): `u32 len | u32 crc32 | u64 seq | u64 time_ns |
//! data`, `len` the whole frame's bytes (header included, so an empty
//! record still has a non-zero `len`), the CRC over `seq | time_ns |
//! data`. A zero `len` is the end of the written data in a preallocated
//! segment.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Bytes before a frame's data.
pub(super) const HEADER: usize = 24;
/// One mark (seq -> offset) per this many frames of a segment.
pub(super) const MARK_EVERY: u64 = 64;
/// How much a scan or a read asks the disk for at once.
const WINDOW: usize = 1 << 20;
/// The sidecar index's first bytes.
const IDX_MAGIC: &[u8; 8] = b"TOCJIDX1";

/// The CRC of a frame.
pub(super) fn crc(seq: u64, time: u64, data: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&seq.to_le_bytes());
    h.update(&time.to_le_bytes());
    h.update(data);
    h.finalize()
}

/// Appends one frame to `out`; `None` when `data` is too long for a frame.
pub(super) fn encode(out: &mut Vec<u8>, seq: u64, time: u64, data: &[u8]) -> Option<()> {
    let len = u32::try_from(HEADER + data.len()).ok()?;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc(seq, time, data).to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&time.to_le_bytes());
    out.extend_from_slice(data);
    Some(())
}

/// A frame as found on disk.
#[derive(Debug)]
pub(super) enum Frame<'a> {
    /// A whole frame with a good CRC.
    Whole { seq: u64, time: u64, data: &'a [u8] },
    /// A zero length, or no room for a header: no more data.
    End,
    /// A length past the end, or a bad CRC.
    Bad,
}

impl Frame<'_> {
    /// Bytes the frame takes on disk (for `Whole`).
    pub(super) fn size(&self) -> u64 {
        match self {
            Frame::Whole { data, .. } => (HEADER + data.len()) as u64,
            _ => 0,
        }
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// Positioned reads of one file through a window, never past `end`.
#[derive(Debug)]
pub(super) struct Window<'f> {
    file: &'f File,
    end: u64,
    start: u64,
    buf: Vec<u8>,
}

impl<'f> Window<'f> {
    pub(super) fn new(file: &'f File, end: u64) -> Window<'f> {
        Window {
            file,
            end,
            start: 0,
            buf: Vec::new(),
        }
    }

    /// `n` bytes at `pos`, or `None` when they reach past the end.
    fn get(&mut self, pos: u64, n: usize) -> io::Result<Option<&[u8]>> {
        let Some(stop) = pos.checked_add(n as u64).filter(|s| *s <= self.end) else {
            return Ok(None);
        };
        let have = self.start + self.buf.len() as u64;
        if pos < self.start || stop > have {
            let room = usize::try_from(self.end - pos).unwrap_or(usize::MAX);
            let want = n.max(WINDOW).min(room);
            self.buf.resize(want, 0);
            self.file.read_exact_at(&mut self.buf, pos)?;
            self.start = pos;
        }
        let at = usize::try_from(pos - self.start).unwrap_or(usize::MAX);
        Ok(self.buf.get(at..at + n))
    }

    /// The frame at `pos`.
    pub(super) fn frame(&mut self, pos: u64) -> io::Result<Frame<'_>> {
        let Some(head) = self.get(pos, HEADER)? else {
            return Ok(Frame::End);
        };
        let len = u32_at(head, 0) as usize;
        if len == 0 {
            return Ok(Frame::End);
        }
        if len < HEADER {
            return Ok(Frame::Bad);
        }
        let sum = u32_at(head, 4);
        let seq = u64_at(head, 8);
        let time = u64_at(head, 16);
        let Some(whole) = self.get(pos, len)? else {
            return Ok(Frame::Bad);
        };
        let data = &whole[HEADER..];
        if crc(seq, time, data) != sum {
            return Ok(Frame::Bad);
        }
        Ok(Frame::Whole { seq, time, data })
    }

    /// Bytes from `pos` up to the last non-zero byte before a whole
    /// window of zeros (or the end): what a torn tail left behind.
    pub(super) fn dirty_from(&mut self, pos: u64) -> io::Result<u64> {
        let mut at = pos;
        let mut dirty = pos;
        while at < self.end {
            let n = usize::try_from(self.end - at).unwrap_or(WINDOW).min(WINDOW);
            let Some(chunk) = self.get(at, n)? else { break };
            match chunk.iter().rposition(|b| *b != 0) {
                Some(i) => dirty = at + i as u64 + 1,
                None => break,
            }
            at += n as u64;
        }
        Ok(dirty - pos)
    }
}

/// A mark: the offset of one frame in a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Mark {
    pub seq: u64,
    pub offset: u64,
    pub time: u64,
}

/// What a segment holds, as found by a scan or read from its index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Summary {
    /// Records in it.
    pub count: u64,
    /// Bytes of whole frames.
    pub len: u64,
    /// The first record's time.
    pub first_time: Option<u64>,
    /// The last record's offset.
    pub last_offset: u64,
    /// One mark per [`MARK_EVERY`] frames, the first frame included.
    pub marks: Vec<Mark>,
}

impl Summary {
    /// Notes a frame of `size` bytes at `offset`.
    pub(super) fn push(&mut self, base: u64, seq: u64, time: u64, offset: u64, size: u64) {
        if (seq - base).is_multiple_of(MARK_EVERY) {
            self.marks.push(Mark { seq, offset, time });
        }
        if self.first_time.is_none() {
            self.first_time = Some(time);
        }
        self.count += 1;
        self.last_offset = offset;
        self.len = offset + size;
    }
}

/// Reads a segment frame by frame from the start; stops at the first
/// frame that is not whole or not the next sequence number. Returns what
/// it found and whether it stopped at a bad frame (as opposed to a clean
/// end).
pub(super) fn scan(file: &File, base: u64, file_len: u64) -> io::Result<(Summary, bool)> {
    let mut w = Window::new(file, file_len);
    let mut s = Summary::default();
    loop {
        let pos = s.len;
        let frame = w.frame(pos)?;
        match frame {
            Frame::Whole { seq, time, .. } if seq == base + s.count => {
                let size = frame.size();
                s.push(base, seq, time, pos, size);
            }
            Frame::End => return Ok((s, false)),
            Frame::Whole { .. } | Frame::Bad => return Ok((s, true)),
        }
    }
}

/// The name of the segment whose first record is `base`.
pub(super) fn seg_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}.seg"))
}

/// The sidecar index of a sealed segment.
pub(super) fn idx_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}.idx"))
}

/// The bytes of a sidecar index.
pub(super) fn encode_idx(base: u64, s: &Summary) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + s.marks.len() * 24);
    out.extend_from_slice(IDX_MAGIC);
    for v in [
        base,
        s.count,
        s.len,
        s.first_time.unwrap_or(u64::MAX),
        s.last_offset,
        s.marks.len() as u64,
    ] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for m in &s.marks {
        for v in [m.seq, m.offset, m.time] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    let sum = crc32fast::hash(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// Reads a sidecar index; `None` when it is missing, torn or not for
/// `base`.
pub(super) fn decode_idx(base: u64, b: &[u8]) -> Option<Summary> {
    let body = b.len().checked_sub(4).map(|n| &b[..n])?;
    if crc32fast::hash(body) != u32_at(b, body.len()) || body.len() < 56 || &body[..8] != IDX_MAGIC
    {
        return None;
    }
    let field = |i: usize| u64_at(body, 8 + 8 * i);
    if field(0) != base {
        return None;
    }
    let n = usize::try_from(field(5)).ok()?;
    if body.len() != 56 + n.checked_mul(24)? {
        return None;
    }
    let marks = (0..n)
        .map(|i| {
            let at = 56 + 24 * i;
            Mark {
                seq: u64_at(body, at),
                offset: u64_at(body, at + 8),
                time: u64_at(body, at + 16),
            }
        })
        .collect();
    let first_time = Some(field(3)).filter(|t| *t != u64::MAX || field(1) > 0);
    Some(Summary {
        count: field(1),
        len: field(2),
        first_time,
        last_offset: field(4),
        marks,
    })
}

/// Writes `bytes` to `path` through a temporary name and a rename, synced
/// (file and directory) when `sync`.
pub(super) fn write_atomic(dir: &Path, path: &Path, bytes: &[u8], sync: bool) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let f = File::create(&tmp)?;
        f.write_all_at(bytes, 0)?;
        if sync {
            f.sync_all()?;
        }
    }
    fs::rename(&tmp, path)?;
    if sync {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Makes a directory's entries (created, renamed, removed files) durable.
pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Reserves `len` bytes for `file` so a full disk shows here, not in the
/// middle of a record; falls back to `set_len` (a sparse file) where the
/// filesystem cannot preallocate.
pub(super) fn preallocate(file: &File, len: u64) -> io::Result<()> {
    use rustix::fs::{FallocateFlags, fallocate};
    use rustix::io::Errno;
    match fallocate(file, FallocateFlags::empty(), 0, len) {
        Ok(()) => Ok(()),
        Err(e) if e == Errno::OPNOTSUPP || e == Errno::NOSYS => {
            if file.metadata()?.len() < len {
                file.set_len(len)?;
            }
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_reads_back_and_a_torn_one_is_refused() {
        let mut s = Summary::default();
        s.push(10, 10, 5, 0, 30);
        s.push(10, 11, 6, 30, 40);
        let b = encode_idx(10, &s);
        assert_eq!(decode_idx(10, &b), Some(s));
        assert_eq!(decode_idx(11, &b), None);
        for n in 0..b.len() {
            assert_eq!(decode_idx(10, &b[..n]), None, "cut at {n}");
        }
    }
}
