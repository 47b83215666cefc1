//! The one thread that orders and journals: ingest hands it each message
//! with a reply channel; it judges each against the dedup state (and the
//! earlier messages of the same batch), appends the new ones as one
//! journal batch (group commit: one write and one fdatasync), and only
//! then updates dedup and answers everybody of the batch. An answer never
//! overtakes durability; a failed append accepts nobody of its batch.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::SystemTime;

use tokio::sync::{mpsc, oneshot};

use super::dedup::{Dedup, Verdict};
use super::envelope::Envelope;
use super::journal::{JournalError, Log, Record};
use super::odf::{DocKey, Header};
use crate::model::relay::{Counts, Outcome, TAIL, TailEntry};

/// What became of a submitted message, once it is safe to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ack {
    /// Forwarded, duplicate, stale, standby or keep-alive.
    pub outcome: Outcome,
    /// Its journal sequence number when forwarded.
    pub seq: Option<u64>,
}

/// One message for the sequencer.
#[derive(Debug)]
pub struct Submit {
    /// The source id its token belongs to.
    pub source: String,
    /// Its header.
    pub header: Header,
    /// The XML, unchanged.
    pub body: Vec<u8>,
    /// When ingest took it.
    pub received: SystemTime,
    /// Where the answer goes (after the batch is durable).
    pub reply: oneshot::Sender<Result<Ack, JournalError>>,
}

/// Whether a source is its feed's standby now (its messages are answered
/// `Standby` and not journaled).
pub type StandbyRule = Arc<dyn Fn(&str, &Header) -> bool + Send + Sync>;

/// What the sequencer thread is asked.
#[derive(Debug)]
enum Msg {
    Submit(Box<Submit>),
    Checkpoint(oneshot::Sender<Result<u64, String>>),
}

/// How the sequencer works.
#[derive(Debug, Clone)]
pub struct SequencerOptions {
    /// The dedup checkpoint file.
    pub checkpoint: PathBuf,
    /// Checkpoint after this many journaled records.
    pub checkpoint_every: u64,
    /// A batch stops growing past this many body bytes.
    pub batch_bytes: usize,
    /// Messages waiting for the thread before ingest waits too.
    pub queue: usize,
}

impl SequencerOptions {
    /// Defaults with the checkpoint at `checkpoint`.
    pub fn new(checkpoint: PathBuf) -> SequencerOptions {
        SequencerOptions {
            checkpoint,
            checkpoint_every: 50_000,
            batch_bytes: 4 << 20,
            queue: 4096,
        }
    }
}

/// Counts per source and the newest headers, shared with whoever reports
/// the relay's status.
#[derive(Debug, Default)]
pub struct Stats {
    inner: Mutex<StatsInner>,
}

#[derive(Debug, Default)]
struct StatsInner {
    sources: HashMap<String, SourceStats>,
    tail: VecDeque<TailEntry>,
    quarantined: u64,
    journal_failing: Option<String>,
    checkpoint_error: Option<String>,
}

/// What a source has sent since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceStats {
    /// What became of its messages.
    pub counts: Counts,
    /// When it last sent anything (keep-alives included).
    pub last: Option<SystemTime>,
}

/// Stats at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsSnapshot {
    /// Per source id.
    pub sources: HashMap<String, SourceStats>,
    /// The newest headers, oldest first (at most [`TAIL`]).
    pub tail: Vec<TailEntry>,
    /// Messages quarantined since start.
    pub quarantined: u64,
    /// Why the last journal append failed, until one succeeds.
    pub journal_failing: Option<String>,
    /// Why the last dedup checkpoint failed, until one succeeds.
    pub checkpoint_error: Option<String>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Stats {
    /// A copy of everything.
    pub fn snapshot(&self) -> StatsSnapshot {
        let s = lock(&self.inner);
        StatsSnapshot {
            sources: s.sources.clone(),
            tail: s.tail.iter().cloned().collect(),
            quarantined: s.quarantined,
            journal_failing: s.journal_failing.clone(),
            checkpoint_error: s.checkpoint_error.clone(),
        }
    }

    /// Counts one message of `source` and adds it to the tail.
    pub fn record(&self, entry: TailEntry) {
        let mut s = lock(&self.inner);
        let src = s.sources.entry(entry.source.clone()).or_default();
        src.last = Some(src.last.map_or(entry.at, |l| l.max(entry.at)));
        let c = &mut src.counts;
        match entry.outcome {
            Outcome::Forwarded => c.forwarded += 1,
            Outcome::Duplicate => c.duplicate += 1,
            Outcome::Stale => c.stale += 1,
            Outcome::Quarantined => c.quarantined += 1,
            Outcome::Standby => c.standby += 1,
            Outcome::KeepAlive => c.keepalive += 1,
        }
        if entry.outcome == Outcome::Quarantined {
            s.quarantined += 1;
        }
        if s.tail.len() >= TAIL {
            s.tail.pop_front();
        }
        s.tail.push_back(entry);
    }

    fn journal(&self, failing: Option<String>) {
        lock(&self.inner).journal_failing = failing;
    }

    fn checkpoint(&self, error: Option<String>) {
        lock(&self.inner).checkpoint_error = error;
    }
}

/// A tail line for a message with a header.
pub fn tail_entry(
    source: &str,
    at: SystemTime,
    h: &Header,
    outcome: Outcome,
    seq: Option<u64>,
) -> TailEntry {
    TailEntry {
        at,
        source: source.to_owned(),
        document_code: h.key.document_code.clone(),
        document_type: h.key.document_type.clone(),
        version: h.version,
        result_status: h.result_status.clone(),
        outcome,
        seq,
        reason: None,
    }
}

/// The way to the sequencer thread (cheap to clone).
#[derive(Debug, Clone)]
pub struct SequencerHandle {
    tx: mpsc::Sender<Msg>,
}

/// The sequencer thread has stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped;

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the relay is stopping")
    }
}

impl std::error::Error for Stopped {}

impl SequencerHandle {
    /// Hands a message over (waits while the queue is full).
    pub async fn submit(&self, s: Submit) -> Result<(), Stopped> {
        self.tx
            .send(Msg::Submit(Box::new(s)))
            .await
            .map_err(|_| Stopped)
    }

    /// Asks for a dedup checkpoint now; the answer is the last journal
    /// sequence number it covers.
    pub async fn checkpoint(&self) -> Result<u64, String> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Msg::Checkpoint(tx))
            .await
            .map_err(|_| Stopped.to_string())?;
        rx.await.map_err(|_| Stopped.to_string())?
    }
}

/// Starts the sequencer thread. `dedup` and `covered` come from
/// [`Dedup::rebuild`] (the state covering the journal up to `covered`).
/// The thread stops, after a last checkpoint, when every handle is
/// dropped.
pub fn spawn(
    log: Arc<dyn Log>,
    dedup: Dedup,
    covered: u64,
    options: SequencerOptions,
    standby: StandbyRule,
    stats: Arc<Stats>,
) -> std::io::Result<(SequencerHandle, thread::JoinHandle<()>)> {
    let (tx, rx) = mpsc::channel(options.queue.max(1));
    let mut seq = Sequencer {
        log,
        dedup,
        covered,
        checkpointed: covered,
        options,
        standby,
        stats,
    };
    let join = thread::Builder::new()
        .name("relay-sequencer".to_owned())
        .spawn(move || seq.run(rx))?;
    Ok((SequencerHandle { tx }, join))
}

struct Sequencer {
    log: Arc<dyn Log>,
    dedup: Dedup,
    /// The last journal sequence number the dedup state covers.
    covered: u64,
    /// The last one the checkpoint on disk covers.
    checkpointed: u64,
    options: SequencerOptions,
    standby: StandbyRule,
    stats: Arc<Stats>,
}

/// A message of a batch with what it was judged.
struct Judged {
    submit: Submit,
    verdict: Verdict,
}

impl Sequencer {
    fn run(&mut self, mut rx: mpsc::Receiver<Msg>) {
        let mut batch: Vec<Judged> = Vec::new();
        let mut asks: Vec<oneshot::Sender<Result<u64, String>>> = Vec::new();
        while let Some(first) = rx.blocking_recv() {
            let mut bytes = 0usize;
            let mut pending: HashMap<DocKey, u64> = HashMap::new();
            let mut next = Some(first);
            while let Some(msg) = next.take() {
                match msg {
                    Msg::Checkpoint(reply) => asks.push(reply),
                    Msg::Submit(s) => {
                        bytes += s.body.len();
                        if let Some(j) = self.judge(*s, &mut pending) {
                            batch.push(j);
                        }
                    }
                }
                if bytes < self.options.batch_bytes {
                    next = rx.try_recv().ok();
                }
            }
            self.commit(&mut batch);
            if !asks.is_empty() || self.covered - self.checkpointed >= self.options.checkpoint_every
            {
                let r = self.checkpoint();
                for a in asks.drain(..) {
                    let _ = a.send(r.clone());
                }
            }
        }
        if self.covered > self.checkpointed {
            let _ = self.checkpoint();
        }
    }

    /// Answers keep-alives and standby messages at once (nothing to make
    /// durable); judges the rest against dedup and this batch.
    fn judge(&self, s: Submit, pending: &mut HashMap<DocKey, u64>) -> Option<Judged> {
        let quick = if s.header.is_keepalive() {
            Some(Outcome::KeepAlive)
        } else if (self.standby)(&s.source, &s.header) {
            Some(Outcome::Standby)
        } else {
            None
        };
        if let Some(outcome) = quick {
            self.stats
                .record(tail_entry(&s.source, s.received, &s.header, outcome, None));
            let _ = s.reply.send(Ok(Ack { outcome, seq: None }));
            return None;
        }
        let key = &s.header.key;
        let version = s.header.version;
        let verdict = match pending.get(key) {
            Some(&v) if version == v => Verdict::Duplicate,
            Some(&v) if version < v => Verdict::Stale,
            _ => self.dedup.judge(key, version),
        };
        if verdict == Verdict::New {
            pending.insert(key.clone(), version);
        }
        Some(Judged { submit: s, verdict })
    }

    /// Appends the new messages of the batch as one journal batch, then
    /// (and only then) accepts them and answers everybody.
    fn commit(&mut self, batch: &mut Vec<Judged>) {
        if batch.is_empty() {
            return;
        }
        let encoded: Vec<Vec<u8>> = batch
            .iter_mut()
            .filter(|j| j.verdict == Verdict::New)
            .map(|j| {
                let env = Envelope {
                    received: j.submit.received,
                    source: std::mem::take(&mut j.submit.source),
                    header: std::mem::take(&mut j.submit.header),
                    body: std::mem::take(&mut j.submit.body),
                };
                let bytes = env.encode();
                j.submit.source = env.source;
                j.submit.header = env.header;
                bytes
            })
            .collect();
        let records: Vec<Record<'_>> = batch
            .iter()
            .filter(|j| j.verdict == Verdict::New)
            .zip(&encoded)
            .map(|(j, data)| Record {
                time: j.submit.received,
                data,
            })
            .collect();
        let result = if records.is_empty() {
            Ok(self.log.head())
        } else {
            self.log.append(&records)
        };
        drop(records);
        match result {
            Err(e) => {
                tracing::warn!(error = %e, messages = batch.len(), "relay: journal append failed");
                self.stats.journal(Some(e.to_string()));
                for j in batch.drain(..) {
                    let _ = j.submit.reply.send(Err(e.clone()));
                }
            }
            Ok(first) => {
                self.stats.journal(None);
                let mut seq = first;
                for j in batch.drain(..) {
                    let s = j.submit;
                    let (outcome, at) = match j.verdict {
                        Verdict::New => {
                            self.dedup.accept(&s.header.key, s.header.version);
                            self.covered = seq;
                            seq += 1;
                            (Outcome::Forwarded, Some(seq - 1))
                        }
                        Verdict::Duplicate => (Outcome::Duplicate, None),
                        Verdict::Stale => (Outcome::Stale, None),
                    };
                    self.stats
                        .record(tail_entry(&s.source, s.received, &s.header, outcome, at));
                    let _ = s.reply.send(Ok(Ack { outcome, seq: at }));
                }
            }
        }
    }

    /// Writes the dedup checkpoint, then lets the journal drop what it
    /// covers.
    fn checkpoint(&mut self) -> Result<u64, String> {
        let covered = self.covered;
        let r = self
            .dedup
            .checkpoint(&self.options.checkpoint, covered)
            .map_err(|e| e.to_string())
            .and_then(|()| {
                self.log
                    .set_floor(covered.saturating_add(1))
                    .map_err(|e| e.to_string())
            });
        match &r {
            Ok(()) => {
                self.checkpointed = covered;
                self.stats.checkpoint(None);
            }
            Err(e) => {
                tracing::warn!(error = %e, "relay: dedup checkpoint failed");
                self.stats.checkpoint(Some(e.clone()));
            }
        }
        r.map(|()| covered)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use super::*;
    use crate::relay::journal::{Journal, JournalOptions, Stored};
    use crate::relay::odf::parse_header;

    /// The real journal, whose first append waits until the test says so,
    /// and which remembers the size of each batch.
    #[derive(Debug)]
    struct Gated {
        inner: Journal,
        gate: Mutex<Option<std::sync::mpsc::Receiver<()>>>,
        entered: AtomicBool,
        batches: Mutex<Vec<usize>>,
    }

    impl Log for Gated {
        fn append(&self, batch: &[Record<'_>]) -> Result<u64, JournalError> {
            let gate = lock(&self.gate).take();
            if let Some(rx) = gate {
                self.entered.store(true, Ordering::SeqCst);
                let _ = rx.recv();
            }
            lock(&self.batches).push(batch.len());
            self.inner.append(batch)
        }
        fn read(&self, f: u64, n: usize, b: usize) -> Result<Vec<Stored>, JournalError> {
            self.inner.read(f, n, b)
        }
        fn head(&self) -> u64 {
            self.inner.head()
        }
        fn first(&self) -> u64 {
            self.inner.first()
        }
        fn watch_head(&self) -> tokio::sync::watch::Receiver<u64> {
            self.inner.watch_head()
        }
        fn cursor(&self, c: &str) -> Option<u64> {
            self.inner.cursor(c)
        }
        fn set_cursor(&self, c: &str, n: u64) -> Result<(), JournalError> {
            self.inner.set_cursor(c, n)
        }
        fn set_floor(&self, s: u64) -> Result<(), JournalError> {
            self.inner.set_floor(s)
        }
        fn seek_time(&self, t: SystemTime) -> Result<u64, JournalError> {
            self.inner.seek_time(t)
        }
        fn bytes(&self) -> u64 {
            self.inner.bytes()
        }
    }

    fn submit(
        source: &str,
        version: u64,
    ) -> (Submit, oneshot::Receiver<Result<Ack, JournalError>>) {
        let xml =
            format!(r#"<OdfBody DocumentCode="D" DocumentType="DT_RESULT" Version="{version}"/>"#);
        let header = parse_header(xml.as_bytes()).expect("header");
        let (reply, rx) = oneshot::channel();
        let s = Submit {
            source: source.to_owned(),
            header,
            body: xml.into_bytes(),
            received: SystemTime::now(),
            reply,
        };
        (s, rx)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_append_per_batch_dedup_within_it_acks_after_durability() {
        let dir = tempfile::tempdir().expect("tmp");
        let (journal, _) =
            Journal::open(&dir.path().join("j"), JournalOptions::default()).expect("journal");
        let (open, gate) = std::sync::mpsc::channel();
        let log = Arc::new(Gated {
            inner: journal,
            gate: Mutex::new(Some(gate)),
            entered: AtomicBool::new(false),
            batches: Mutex::new(Vec::new()),
        });
        let stats = Arc::new(Stats::default());
        let (h, thread) = spawn(
            log.clone(),
            Dedup::new(),
            0,
            SequencerOptions::new(dir.path().join("dedup.ckpt")),
            Arc::new(|_: &str, _: &Header| false),
            stats.clone(),
        )
        .expect("spawn");
        let (s1, mut r1) = submit("a", 1);
        h.submit(s1).await.expect("submit");
        let t0 = Instant::now();
        while !log.entered.load(Ordering::SeqCst) {
            assert!(t0.elapsed() < Duration::from_secs(5), "never appended");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // While the first batch is being written, three more wait.
        let mut rest = Vec::new();
        for (src, v) in [("a", 2), ("b", 2), ("b", 1)] {
            let (s, r) = submit(src, v);
            h.submit(s).await.expect("submit");
            rest.push(r);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            r1.try_recv().is_err(),
            "no answer before the append returned"
        );
        open.send(()).expect("open the gate");
        let first = r1.await.expect("reply").expect("ok");
        assert_eq!(
            first,
            Ack {
                outcome: Outcome::Forwarded,
                seq: Some(1)
            }
        );
        let mut got = Vec::new();
        for r in rest {
            got.push(r.await.expect("reply").expect("ok"));
        }
        assert_eq!(
            got,
            [
                Ack {
                    outcome: Outcome::Forwarded,
                    seq: Some(2)
                },
                Ack {
                    outcome: Outcome::Duplicate,
                    seq: None
                },
                Ack {
                    outcome: Outcome::Stale,
                    seq: None
                },
            ]
        );
        assert_eq!(
            *lock(&log.batches),
            [1, 1],
            "one append per batch, new messages only"
        );
        let c = stats.snapshot().sources["b"].counts;
        assert_eq!((c.duplicate, c.stale, c.forwarded), (1, 1, 0));
        assert_eq!(h.checkpoint().await, Ok(2));
        drop(h);
        tokio::task::spawn_blocking(move || thread.join())
            .await
            .expect("join")
            .expect("thread");
        let (d, covered) = Dedup::load(&dir.path().join("dedup.ckpt")).expect("load");
        assert_eq!(covered, 2);
        assert_eq!(d.len(), 1);
    }
}
