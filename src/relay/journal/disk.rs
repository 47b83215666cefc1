//! [`Journal`]: the relay's [`Log`] on the local disk, in preallocated
//! segment files. See docs/journal.md.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

use super::frame::{self, Frame, Summary, Window};
use super::{JournalError, Log, Record, Stored, cursors};
use crate::relay::envelope::unix_nanos;

/// How a [`Journal`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalOptions {
    /// Bytes reserved for each segment file (a record larger than this
    /// gets a segment of its own sized to fit).
    pub segment_size: u64,
    /// Whether each append (and each cursor save) waits for the disk.
    /// Off: faster, and a crash of the machine (not only of the process)
    /// may lose appends that were acknowledged.
    pub fsync: bool,
}

impl Default for JournalOptions {
    fn default() -> JournalOptions {
        JournalOptions {
            segment_size: 64 << 20,
            fsync: true,
        }
    }
}

/// What [`Journal::open`] found: the relay logs it at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenReport {
    /// Records held.
    pub records: u64,
    /// Bytes of a torn tail cut off the last segment (0 after a clean
    /// stop).
    pub truncated_bytes: u64,
    /// Segment files.
    pub segments: usize,
    /// How long opening took.
    pub took: Duration,
}

/// One segment file as the journal keeps it in memory.
#[derive(Debug)]
struct Seg {
    base: u64,
    file: Arc<File>,
    /// Bytes of the file (reserved, for the active segment).
    size: u64,
    summary: Summary,
}

#[derive(Debug)]
struct State {
    segs: Vec<Seg>,
    head: u64,
}

#[derive(Debug)]
struct Cursors {
    saved: BTreeMap<String, u64>,
    floor: u64,
}

/// The relay's journal on the local disk. See docs/journal.md.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    options: JournalOptions,
    state: RwLock<State>,
    /// Held by `append` from start to end: one writer at a time.
    writer: Mutex<()>,
    head: watch::Sender<u64>,
    cursors: Mutex<Cursors>,
    #[cfg(test)]
    pub(super) fault: Mutex<Option<super::tests::Fault>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn io_err(what: &str, e: &io::Error) -> JournalError {
    JournalError::Io(format!("{what}: {e}"))
}

/// A read of one segment taken under the state lock: the file and how
/// far it is durable.
struct View {
    file: Arc<File>,
    start: u64,
    end_bytes: u64,
    end_seq: u64,
}

impl Journal {
    /// Opens (or creates) the journal in `dir`: finds its segments,
    /// truncates a torn tail off the last one, loads the cursors.
    pub fn open(
        dir: &Path,
        options: JournalOptions,
    ) -> Result<(Journal, OpenReport), JournalError> {
        let t0 = Instant::now();
        let options = JournalOptions {
            segment_size: options.segment_size.max(frame::HEADER as u64),
            ..options
        };
        fs::create_dir_all(dir).map_err(|e| io_err("creating the journal directory", &e))?;
        let bases = list(dir)?;
        let mut segs = Vec::with_capacity(bases.len().max(1));
        let mut truncated_bytes = 0;
        let Some((&last, sealed)) = bases.split_last() else {
            let seg = create_seg(dir, 1, options.segment_size, options.fsync)?;
            return finish(dir, options, vec![seg], 0, t0);
        };
        for &base in sealed {
            segs.push(open_sealed(dir, base)?);
        }
        let (seg, torn) = open_last(dir, last, options)?;
        truncated_bytes += torn;
        segs.push(seg);
        for w in segs.windows(2) {
            if w[0].base + w[0].summary.count != w[1].base {
                return Err(JournalError::Corrupt(format!(
                    "segment {} ends at {} but the next begins at {}",
                    w[0].base,
                    w[0].base + w[0].summary.count,
                    w[1].base
                )));
            }
        }
        finish(dir, options, segs, truncated_bytes, t0)
    }

    fn state(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn state_mut(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The segment holding `seq` (which must be held and below the head).
    fn view(&self, seq: u64) -> Result<View, JournalError> {
        let st = self.state();
        let first = st.segs.first().map_or(st.head, |s| s.base);
        let i = st
            .segs
            .partition_point(|s| s.base <= seq)
            .checked_sub(1)
            .ok_or(JournalError::Gone { first })?;
        let seg = &st.segs[i];
        let m = seg.summary.marks.partition_point(|m| m.seq <= seq);
        let start = m.checked_sub(1).map_or(0, |m| seg.summary.marks[m].offset);
        Ok(View {
            file: Arc::clone(&seg.file),
            start,
            end_bytes: seg.summary.len,
            end_seq: seg.base + seg.summary.count,
        })
    }

    /// Writes a batch already framed in `buf` at the end of the active
    /// segment; on failure zeroes what it may have written.
    fn write_batch(&self, file: &File, at: u64, buf: &[u8]) -> Result<(), JournalError> {
        let wrote = self.write_and_sync(file, at, buf);
        if let Err(e) = wrote {
            let zeros = vec![0; buf.len()];
            if file.write_all_at(&zeros, at).is_err() {
                let size = file.metadata().map_or(at, |m| m.len());
                let _ = file.set_len(at).and_then(|()| file.set_len(size));
            }
            if self.options.fsync {
                let _ = file.sync_data();
            }
            return Err(io_err("appending to the journal", &e));
        }
        Ok(())
    }

    fn write_and_sync(&self, file: &File, at: u64, buf: &[u8]) -> io::Result<()> {
        #[cfg(test)]
        if let Some(e) = super::tests::inject(self, file, at, buf) {
            return Err(e);
        }
        file.write_all_at(buf, at)?;
        if self.options.fsync {
            file.sync_data()?;
        }
        Ok(())
    }

    /// Makes room for `need` bytes: grows an empty active segment, or
    /// seals the active one and starts the next.
    fn make_room(&self, need: u64) -> Result<(), JournalError> {
        let (base, count, len, size, file) = {
            let st = self.state();
            let Some(a) = st.segs.last() else {
                return Err(JournalError::Corrupt("no active segment".to_owned()));
            };
            (
                a.base,
                a.summary.count,
                a.summary.len,
                a.size,
                Arc::clone(&a.file),
            )
        };
        if len + need <= size {
            return Ok(());
        }
        if count == 0 {
            frame::preallocate(&file, need).map_err(|e| io_err("growing a segment", &e))?;
            if let Some(a) = self.state_mut().segs.last_mut() {
                a.size = a.size.max(need);
            }
            return Ok(());
        }
        self.seal(&file, base, len)?;
        let next = base + count;
        let seg = create_seg(
            &self.dir,
            next,
            need.max(self.options.segment_size),
            self.options.fsync,
        )?;
        self.state_mut().segs.push(seg);
        Ok(())
    }

    /// Seals the active segment: cut to its data, synced, its index
    /// written beside it.
    fn seal(&self, file: &File, base: u64, len: u64) -> Result<(), JournalError> {
        let e = |e: io::Error| io_err("sealing a segment", &e);
        file.set_len(len).map_err(e)?;
        if let Some(a) = self.state_mut().segs.last_mut() {
            a.size = len;
        }
        if self.options.fsync {
            file.sync_all().map_err(e)?;
        }
        let idx = {
            let st = self.state();
            st.segs
                .last()
                .map(|a| frame::encode_idx(base, &a.summary))
                .unwrap_or_default()
        };
        frame::write_atomic(
            &self.dir,
            &frame::idx_path(&self.dir, base),
            &idx,
            self.options.fsync,
        )
        .map_err(e)
    }

    /// Deletes segments every cursor and the floor have passed.
    fn collect(&self) {
        let limit = {
            let c = lock(&self.cursors);
            c.saved.values().copied().fold(c.floor, u64::min)
        };
        let gone: Vec<u64> = {
            let mut st = self.state_mut();
            let n = st
                .segs
                .windows(2)
                .take_while(|w| w[1].base <= limit)
                .count();
            st.segs.drain(..n).map(|s| s.base).collect()
        };
        for base in &gone {
            let _ = fs::remove_file(frame::seg_path(&self.dir, *base));
            let _ = fs::remove_file(frame::idx_path(&self.dir, *base));
        }
        if !gone.is_empty() && self.options.fsync {
            let _ = frame::sync_dir(&self.dir);
        }
    }

    /// Reads whole frames of one segment from `from`, at most `max`
    /// records and about `max_bytes` (at least one record).
    fn read_seg(
        v: &View,
        from: u64,
        max: usize,
        max_bytes: usize,
        out: &mut Vec<Stored>,
        bytes: &mut usize,
    ) -> Result<(), JournalError> {
        let mut w = Window::new(&v.file, v.end_bytes);
        let mut pos = v.start;
        let mut want = from;
        while want < v.end_seq && out.len() < max {
            let f = w
                .frame(pos)
                .map_err(|e| io_err("reading the journal", &e))?;
            let size = f.size();
            let Frame::Whole { seq, time, data } = f else {
                return Err(JournalError::Corrupt(format!(
                    "no whole frame at offset {pos} looking for {want}"
                )));
            };
            if seq > want {
                return Err(JournalError::Corrupt(format!(
                    "found {seq} where {want} was expected"
                )));
            }
            pos += size;
            if seq < want {
                continue;
            }
            if !out.is_empty() && *bytes + data.len() > max_bytes {
                return Ok(());
            }
            *bytes += data.len();
            out.push(Stored {
                seq,
                time: UNIX_EPOCH + Duration::from_nanos(time),
                data: data.to_vec(),
            });
            want += 1;
        }
        Ok(())
    }

    /// The first record at or after `t` within one segment, from its
    /// last mark before `t`; `None` when none is in it.
    fn seek_in(&self, base: u64, t: u64) -> Result<Option<u64>, JournalError> {
        let v = {
            let st = self.state();
            let Some(seg) = st.segs.iter().find(|s| s.base == base) else {
                return Ok(None);
            };
            let m = seg.summary.marks.partition_point(|m| m.time < t);
            let start = m.checked_sub(1).map_or(0, |m| seg.summary.marks[m].offset);
            View {
                file: Arc::clone(&seg.file),
                start,
                end_bytes: seg.summary.len,
                end_seq: seg.base + seg.summary.count,
            }
        };
        let mut w = Window::new(&v.file, v.end_bytes);
        let mut pos = v.start;
        loop {
            let f = w
                .frame(pos)
                .map_err(|e| io_err("reading the journal", &e))?;
            let size = f.size();
            match f {
                Frame::Whole { seq, time, .. } if time >= t => return Ok(Some(seq)),
                Frame::Whole { .. } => pos += size,
                Frame::End | Frame::Bad => return Ok(None),
            }
        }
    }
}

/// Finishes opening: the cursors, the head, the report.
fn finish(
    dir: &Path,
    options: JournalOptions,
    segs: Vec<Seg>,
    truncated_bytes: u64,
    t0: Instant,
) -> Result<(Journal, OpenReport), JournalError> {
    let saved = cursors::load(dir)
        .map_err(|e| io_err("reading the cursors", &e))?
        .ok_or_else(|| JournalError::Corrupt("the cursors file is damaged".to_owned()))?;
    let first = segs.first().map_or(1, |s| s.base);
    let head = segs.last().map_or(1, |s| s.base + s.summary.count);
    let report = OpenReport {
        records: head - first,
        truncated_bytes,
        segments: segs.len(),
        took: Duration::ZERO,
    };
    let (tx, _) = watch::channel(head);
    let journal = Journal {
        dir: dir.to_owned(),
        options,
        state: RwLock::new(State { segs, head }),
        writer: Mutex::new(()),
        head: tx,
        cursors: Mutex::new(Cursors { saved, floor: 0 }),
        #[cfg(test)]
        fault: Mutex::new(None),
    };
    Ok((
        journal,
        OpenReport {
            took: t0.elapsed(),
            ..report
        },
    ))
}

/// The first sequence numbers of the segment files in `dir`, in order;
/// leftover temporary files are removed.
fn list(dir: &Path) -> Result<Vec<u64>, JournalError> {
    let e = |e: io::Error| io_err("listing the journal directory", &e);
    let mut bases = Vec::new();
    for entry in fs::read_dir(dir).map_err(e)? {
        let entry = entry.map_err(e)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let ext = Path::new(name).extension().and_then(|e| e.to_str());
        if ext == Some("tmp") {
            let _ = fs::remove_file(entry.path());
        } else if let Some(stem) = name.strip_suffix(".seg")
            && stem.len() == 20
            && let Ok(base) = stem.parse::<u64>()
        {
            bases.push(base);
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

/// Creates the segment file for `base` with `size` bytes reserved.
fn create_seg(dir: &Path, base: u64, size: u64, sync: bool) -> Result<Seg, JournalError> {
    let path = frame::seg_path(dir, base);
    let e = |e: io::Error| io_err("creating a segment", &e);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .map_err(e)?;
    let made = frame::preallocate(&file, size).and_then(|()| {
        if sync {
            file.sync_all()?;
            frame::sync_dir(dir)?;
        }
        Ok(())
    });
    if let Err(err) = made {
        drop(file);
        let _ = fs::remove_file(&path);
        return Err(e(err));
    }
    Ok(Seg {
        base,
        file: Arc::new(file),
        size,
        summary: Summary::default(),
    })
}

fn open_file(path: &Path) -> Result<(File, u64), JournalError> {
    let e = |e: io::Error| io_err("opening a segment", &e);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(e)?;
    let len = file.metadata().map_err(e)?.len();
    Ok((file, len))
}

/// Opens a sealed segment: its index is trusted once its last frame
/// checks out; without a good index the segment is scanned.
fn open_sealed(dir: &Path, base: u64) -> Result<Seg, JournalError> {
    let (file, size) = open_file(&frame::seg_path(dir, base))?;
    let idx = fs::read(frame::idx_path(dir, base))
        .ok()
        .and_then(|b| frame::decode_idx(base, &b))
        .filter(|s| s.count > 0 && s.len <= size && last_frame_ok(&file, base, s));
    let summary = match idx {
        Some(s) => s,
        None => {
            frame::scan(&file, base, size)
                .map_err(|e| io_err("scanning a segment", &e))?
                .0
        }
    };
    Ok(Seg {
        base,
        file: Arc::new(file),
        size,
        summary,
    })
}

fn last_frame_ok(file: &File, base: u64, s: &Summary) -> bool {
    let mut w = Window::new(file, s.len);
    let f = w.frame(s.last_offset);
    let size = f.as_ref().map_or(0, Frame::size);
    matches!(f, Ok(Frame::Whole { seq, .. }) if seq + 1 == base + s.count)
        && s.last_offset + size == s.len
}

/// Opens the last segment: every frame checked, a torn tail cut off and
/// zeroed, its room reserved again. Returns the bytes cut.
fn open_last(dir: &Path, base: u64, options: JournalOptions) -> Result<(Seg, u64), JournalError> {
    let (file, file_len) = open_file(&frame::seg_path(dir, base))?;
    let e = |e: io::Error| io_err("opening the last segment", &e);
    let (summary, _) = frame::scan(&file, base, file_len).map_err(e)?;
    let torn = Window::new(&file, file_len)
        .dirty_from(summary.len)
        .map_err(e)?;
    // Anything after the last whole frame goes, torn or not, so a later
    // append never runs into old bytes; then the room is reserved again
    // (a full disk leaves it as it is: the next append starts a segment).
    file.set_len(summary.len).map_err(e)?;
    let size = options.segment_size.max(summary.len);
    if frame::preallocate(&file, size).is_err() {
        let _ = file.set_len(size);
    }
    if options.fsync {
        file.sync_all().map_err(e)?;
    }
    let _ = fs::remove_file(frame::idx_path(dir, base));
    let size = file.metadata().map_err(e)?.len();
    Ok((
        Seg {
            base,
            file: Arc::new(file),
            size,
            summary,
        },
        torn,
    ))
}

impl Log for Journal {
    fn append(&self, batch: &[Record<'_>]) -> Result<u64, JournalError> {
        let _writer = lock(&self.writer);
        let first = self.state().head;
        if batch.is_empty() {
            return Ok(first);
        }
        let total: usize = batch.iter().map(|r| frame::HEADER + r.data.len()).sum();
        let mut buf = Vec::with_capacity(total);
        let mut frames = Vec::with_capacity(batch.len());
        for (seq, r) in (first..).zip(batch) {
            let time = unix_nanos(r.time);
            frames.push((seq, time, buf.len() as u64));
            frame::encode(&mut buf, seq, time, r.data).ok_or_else(|| {
                JournalError::Io(format!("a record of {} bytes is too large", r.data.len()))
            })?;
        }
        self.make_room(buf.len() as u64)?;
        let (file, at, base) = {
            let st = self.state();
            let a = st
                .segs
                .last()
                .ok_or_else(|| JournalError::Corrupt("no active segment".to_owned()))?;
            (Arc::clone(&a.file), a.summary.len, a.base)
        };
        self.write_batch(&file, at, &buf)?;
        let head = first + batch.len() as u64;
        {
            let mut st = self.state_mut();
            if let Some(a) = st.segs.last_mut() {
                let ends = frames.iter().skip(1).map(|f| f.2).chain([buf.len() as u64]);
                for (&(seq, time, off), end) in frames.iter().zip(ends) {
                    a.summary.push(base, seq, time, at + off, end - off);
                }
            }
            st.head = head;
        }
        self.head.send_replace(head);
        Ok(first)
    }

    fn read(
        &self,
        from: u64,
        max_records: usize,
        max_bytes: usize,
    ) -> Result<Vec<Stored>, JournalError> {
        let mut out = Vec::new();
        let mut bytes = 0;
        let mut next = from;
        while out.len() < max_records && (out.is_empty() || bytes < max_bytes) {
            let first = self.first();
            if next < first {
                return Err(JournalError::Gone { first });
            }
            if next >= self.head() {
                break;
            }
            let v = self.view(next)?;
            let before = out.len();
            Self::read_seg(&v, next, max_records, max_bytes, &mut out, &mut bytes)?;
            next = out.last().map_or(next, |s| s.seq + 1);
            if out.len() == before || next < v.end_seq {
                break;
            }
        }
        Ok(out)
    }

    fn head(&self) -> u64 {
        self.state().head
    }

    fn first(&self) -> u64 {
        let st = self.state();
        st.segs.first().map_or(st.head, |s| s.base)
    }

    fn watch_head(&self) -> watch::Receiver<u64> {
        self.head.subscribe()
    }

    fn cursor(&self, consumer: &str) -> Option<u64> {
        lock(&self.cursors).saved.get(consumer).copied()
    }

    fn set_cursor(&self, consumer: &str, next: u64) -> Result<(), JournalError> {
        {
            let mut c = lock(&self.cursors);
            if c.saved.get(consumer) == Some(&next) {
                return Ok(());
            }
            let mut saved = c.saved.clone();
            saved.insert(consumer.to_owned(), next);
            cursors::save(&self.dir, &saved, self.options.fsync)
                .map_err(|e| io_err("saving the cursors", &e))?;
            c.saved = saved;
        }
        self.collect();
        Ok(())
    }

    fn set_floor(&self, seq: u64) -> Result<(), JournalError> {
        lock(&self.cursors).floor = seq;
        self.collect();
        Ok(())
    }

    fn seek_time(&self, time: SystemTime) -> Result<u64, JournalError> {
        let t = unix_nanos(time);
        // Times are the sequencer's clock and do not go back, so the
        // segment to look in is the last one that begins before `t`.
        let (candidate, fallback) = {
            let st = self.state();
            let started: Vec<(u64, u64)> = st
                .segs
                .iter()
                .filter_map(|s| s.summary.first_time.map(|ft| (s.base, ft)))
                .collect();
            let i = started.partition_point(|(_, ft)| *ft < t);
            let fallback = started.get(i).map_or(st.head, |(b, _)| *b);
            (i.checked_sub(1).map(|i| started[i].0), fallback)
        };
        match candidate {
            Some(base) => Ok(self.seek_in(base, t)?.unwrap_or(fallback)),
            None => Ok(fallback),
        }
    }

    fn bytes(&self) -> u64 {
        self.state().segs.iter().map(|s| s.size).sum()
    }
}
