//! The fan-out: ONE publisher task watches the engine's snapshots, at
//! most `updates_per_second` times a second takes the latest, computes the
//! delta from the one before once, encodes it once and broadcasts it; every
//! console's writer sends the same bytes. A console that fell behind gets
//! the latest full snapshot instead, encoded once per snapshot, on demand.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::{broadcast, watch};

use crate::api::delta;
use crate::api::wire::{self, ServerMsg};
use crate::engine::snapshot::Snapshot;

/// Frames waiting for the slowest console before it is told it lagged
/// (and gets the latest full snapshot instead).
const CAPACITY: usize = 16;

/// One encoded update, the same bytes for every console.
#[derive(Debug)]
pub struct Frame {
    /// The snapshot a delta applies to; `None` for a full snapshot.
    pub from: Option<u64>,
    /// The snapshot it makes.
    pub seq: u64,
    /// The binary frame ([`wire::encode_binary`]).
    pub bytes: axum::body::Bytes,
    /// The snapshot it makes (for the details of a console's focus).
    pub snapshot: Arc<Snapshot>,
}

/// The latest snapshot published, and its full frame, encoded the first
/// time a console needs it.
#[derive(Debug)]
pub struct Latest {
    /// The snapshot.
    pub snapshot: Arc<Snapshot>,
    full: OnceLock<Arc<Frame>>,
}

impl Latest {
    fn new(snapshot: Arc<Snapshot>) -> Self {
        Latest {
            snapshot,
            full: OnceLock::new(),
        }
    }

    /// The full snapshot as a binary frame (encoded once).
    pub fn full(&self) -> Arc<Frame> {
        Arc::clone(self.full.get_or_init(|| {
            let msg = ServerMsg::Full {
                snapshot: Box::new((*self.snapshot).clone()),
            };
            Arc::new(Frame {
                from: None,
                seq: self.snapshot.seq,
                bytes: wire::encode_binary(&msg).into(),
                snapshot: Arc::clone(&self.snapshot),
            })
        }))
    }
}

/// What connections subscribe to.
#[derive(Debug, Clone)]
pub struct Hub {
    frames: broadcast::Sender<Arc<Frame>>,
    latest: watch::Receiver<Arc<Latest>>,
}

impl Hub {
    /// Frames from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Frame>> {
        self.frames.subscribe()
    }

    /// The latest snapshot published.
    pub fn latest(&self) -> Arc<Latest> {
        Arc::clone(&self.latest.borrow())
    }

    /// Wakes when a newer snapshot is published.
    pub fn watch_latest(&self) -> watch::Receiver<Arc<Latest>> {
        self.latest.clone()
    }
}

/// Starts the publisher on the current runtime: it ends when the engine's
/// snapshot channel closes.
pub fn spawn(mut snapshots: watch::Receiver<Arc<Snapshot>>, updates_per_second: u32) -> Hub {
    let first = Arc::clone(&snapshots.borrow_and_update());
    let (frames, _) = broadcast::channel(CAPACITY);
    let (latest_tx, latest) = watch::channel(Arc::new(Latest::new(Arc::clone(&first))));
    let hub = Hub {
        frames: frames.clone(),
        latest,
    };
    let every = Duration::from_secs(1) / updates_per_second.max(1);
    tokio::spawn(async move {
        let mut prev = first;
        loop {
            if snapshots.changed().await.is_err() {
                break;
            }
            let next = Arc::clone(&snapshots.borrow_and_update());
            if next.seq == prev.seq {
                continue;
            }
            let latest = Arc::new(Latest::new(Arc::clone(&next)));
            if frames.receiver_count() == 0 {
                // Nobody connected (a demo nobody watches remotely): no
                // delta to make; a console that comes gets the full one.
                latest_tx.send_replace(latest);
                prev = next;
                if !pace(&mut snapshots, &prev, every).await {
                    break;
                }
                continue;
            }
            let frame = match delta::diff(&prev, &next) {
                Some(d) => Arc::new(Frame {
                    from: Some(d.from),
                    seq: d.seq,
                    bytes: wire::encode_binary(&ServerMsg::Delta { delta: Box::new(d) }).into(),
                    snapshot: Arc::clone(&next),
                }),
                None => latest.full(),
            };
            // The latest first: a console that lags reads it after the
            // frame it missed was sent.
            latest_tx.send_replace(latest);
            // No console connected is not an error.
            let _ = frames.send(frame);
            prev = next;
            if !pace(&mut snapshots, &prev, every).await {
                break;
            }
        }
    });
    hub
}

/// Waits out the rest of one update's time (`every`), but ends it early
/// when a snapshot answers a command (its audit list moved): what a
/// person just did shows on every console at once, not a tick later.
/// Commands come at human pace, so the rate stays bounded. False when the
/// engine is gone.
async fn pace(
    snapshots: &mut watch::Receiver<Arc<Snapshot>>,
    sent: &Snapshot,
    every: Duration,
) -> bool {
    let until = tokio::time::Instant::now() + every;
    let mut seen = false;
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(until) => break,
            changed = snapshots.changed() => {
                if changed.is_err() {
                    return false;
                }
                seen = true;
                if !Arc::ptr_eq(&snapshots.borrow_and_update().audit, &sent.audit) {
                    break;
                }
            }
        }
    }
    if seen {
        // Taken here: the publisher's wait must still see it.
        snapshots.mark_changed();
    }
    true
}

/// What a connection's writer does with the next frame, given the
/// snapshot seq its console has.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Send it: it follows what the console has.
    Send,
    /// Nothing new (a frame from before the console's full snapshot).
    Skip,
    /// The console is behind: send the latest full snapshot.
    Resync,
}

/// Decides [`Step`] for a frame from `from` (`None`: a full snapshot) to
/// `seq`.
pub fn step(have: u64, from: Option<u64>, seq: u64) -> Step {
    if seq <= have {
        return Step::Skip;
    }
    match from {
        None => Step::Send,
        Some(from) if from == have => Step::Send,
        Some(_) => Step::Resync,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_console_gets_what_follows_skips_the_old_and_resyncs_on_a_gap() {
        assert_eq!(step(5, Some(5), 6), Step::Send);
        assert_eq!(step(5, Some(4), 5), Step::Skip);
        assert_eq!(step(5, Some(6), 7), Step::Resync);
        assert_eq!(step(5, None, 9), Step::Send);
        assert_eq!(step(9, None, 9), Step::Skip);
    }
}
