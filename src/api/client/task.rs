//! The task behind a remote [`EngineHandle`](crate::engine::EngineHandle):
//! reads the server's messages into the handle's channels, sends the
//! console's commands, and reconnects when the link drops.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::Message;

use super::backoff::Backoff;
use super::dial::{self, Decoded, DialError, Dialer, Opened, Ws};
use crate::api::delta;
use crate::api::wire::{self, ClientMsg, ServerMsg};
use crate::engine::command::{Refusal, Reply};
use crate::engine::handle::{Link, Request};
use crate::engine::snapshot::{Event, Snapshot};

/// The handle's channels, as the task fills them.
#[derive(Debug)]
pub struct Shared {
    /// The latest snapshot.
    pub snapshots: watch::Sender<Arc<Snapshot>>,
    /// New ticker entries, as events.
    pub events: broadcast::Sender<Event>,
    /// The link's state.
    pub link: watch::Sender<Link>,
    /// The seq of the newest event broadcast (or already in the first
    /// snapshot).
    pub last_event: u64,
    /// What the console looks at: told to the server at each connection
    /// and on every change.
    pub focus: watch::Receiver<crate::engine::Focus>,
}

/// The newest event seq a snapshot holds.
pub fn last_event(snapshot: &Snapshot) -> u64 {
    snapshot
        .ticker
        .iter()
        .map(|e| e.seq)
        .max()
        .unwrap_or(0)
        .max(snapshot.events_seq)
}

impl Shared {
    /// A new snapshot: published, and its new ticker entries broadcast.
    fn publish(&mut self, snapshot: Snapshot) {
        let mut new: Vec<&Event> = snapshot
            .ticker
            .iter()
            .filter(|e| e.seq > self.last_event)
            .collect();
        new.sort_by_key(|e| e.seq);
        for event in new {
            // No receiver is not an error: nobody listens yet.
            let _ = self.events.send(event.clone());
        }
        self.last_event = self.last_event.max(last_event(&snapshot));
        self.snapshots.send_replace(Arc::new(snapshot));
    }

    /// The full snapshot of a new connection. A server that restarted
    /// counts its snapshots and events from the start again: its seqs are
    /// taken as they are, and what its ticker held before we came back is
    /// not rung again as news.
    fn resync(&mut self, snapshot: Snapshot) {
        if last_event(&snapshot) < self.last_event {
            self.last_event = last_event(&snapshot);
        }
        self.publish(snapshot);
    }
}

/// How a session ended.
enum End {
    /// Every handle is gone: the task ends.
    Closed,
    /// A delta did not apply: reconnect at once for a full snapshot.
    Resync(String),
    /// The link dropped, and why.
    Lost(String),
}

/// Runs until every handle is dropped.
pub async fn run(
    dialer: Dialer,
    first: Opened,
    mut shared: Shared,
    mut requests: mpsc::Receiver<Request>,
) {
    let target = dialer.target().to_string();
    let mut ws = Some(first.ws);
    let mut backoff = Backoff::new();
    loop {
        let mut why = match ws.take() {
            Some(live) => match session(live, &mut shared, &mut requests, &dialer).await {
                End::Closed => return,
                End::Resync(why) => match dialer.open().await {
                    Ok(opened) => {
                        tracing::info!(%target, "resynced after {why}");
                        shared.resync(opened.snapshot);
                        ws = Some(opened.ws);
                        continue;
                    }
                    Err(e) => format!("{why}; then {e}"),
                },
                End::Lost(why) => why,
            },
            None => "not connected".to_owned(),
        };
        tracing::warn!(%target, "link lost: {why}");
        shared.link.send_replace(Link::Lost);
        loop {
            let refusal = format!("not connected to the server at {target} ({why}); reconnecting");
            let wait = backoff.next_wait();
            if !refuse_while(wait, &mut requests, &refusal).await {
                return;
            }
            match dialer.open().await {
                Ok(opened) => {
                    tracing::info!(%target, seq = opened.snapshot.seq, "reconnected; resynced");
                    shared.resync(opened.snapshot);
                    shared.link.send_replace(Link::Connected);
                    backoff.reset();
                    ws = Some(opened.ws);
                    break;
                }
                Err(DialError::Version { target, server }) => {
                    why = DialError::Version { target, server }.to_string();
                }
                Err(e) => why = e.to_string(),
            }
        }
    }
}

/// Waits `wait`, answering every command meanwhile at once with
/// `refusal`. False when every handle is gone.
pub(super) async fn refuse_while(
    wait: Duration,
    requests: &mut mpsc::Receiver<Request>,
    refusal: &str,
) -> bool {
    let sleep = tokio::time::sleep(wait);
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            () = &mut sleep => return true,
            request = requests.recv() => match request {
                Some(request) => {
                    let _ = request
                        .reply
                        .send(Err(Refusal::Disconnected(refusal.to_owned())));
                }
                None => return false,
            },
        }
    }
}

/// One connection, until it ends.
async fn session(
    mut ws: Ws,
    shared: &mut Shared,
    requests: &mut mpsc::Receiver<Request>,
    dialer: &Dialer,
) -> End {
    let target = dialer.target().to_string();
    let mut pending: HashMap<u64, oneshot::Sender<Reply>> = HashMap::new();
    let mut next_id: u64 = 0;
    // A new connection knows no focus: tell it the one in force.
    shared.focus.mark_changed();
    let end = loop {
        tokio::select! {
            changed = shared.focus.changed() => {
                if changed.is_err() {
                    break End::Closed;
                }
                let focus = shared.focus.borrow_and_update().clone();
                let Ok(text) = serde_json::to_string(&ClientMsg::Focus { focus }) else {
                    continue;
                };
                if let Err(e) = ws.send(Message::text(text)).await {
                    break End::Lost(e.to_string());
                }
            }
            frame = tokio::time::timeout(dialer.idle_timeout, ws.next()) => {
                let frame = match frame {
                    Err(_) => break End::Lost(format!(
                        "nothing from the server for {} s", dialer.idle_timeout.as_secs()
                    )),
                    Ok(None) => break End::Lost("the server closed the connection".to_owned()),
                    Ok(Some(Err(e))) => break End::Lost(e.to_string()),
                    Ok(Some(Ok(frame))) => frame,
                };
                let msg = match dial::decode(frame) {
                    Decoded::Msg(msg) => msg,
                    Decoded::Skip => continue,
                    Decoded::Closed(why) => break End::Lost(why),
                    Decoded::Bad(why) => break End::Resync(why),
                };
                if let Some(end) = on_message(msg, shared, &mut pending) {
                    break end;
                }
            }
            request = requests.recv() => {
                let Some(request) = request else { break End::Closed };
                next_id += 1;
                let msg = ClientMsg::Command { id: next_id, command: request.command };
                let text = match serde_json::to_string(&msg) {
                    Ok(text) => text,
                    Err(e) => {
                        let _ = request.reply.send(Err(Refusal::Invalid(format!(
                            "the command cannot be sent: {e}"
                        ))));
                        continue;
                    }
                };
                pending.insert(next_id, request.reply);
                if let Err(e) = ws.send(Message::text(text)).await {
                    break End::Lost(e.to_string());
                }
            }
        }
    };
    let why = match &end {
        End::Closed => return end,
        End::Resync(why) | End::Lost(why) => why.clone(),
    };
    for (_, reply) in pending.drain() {
        let _ = reply.send(Err(Refusal::Disconnected(format!(
            "the connection to the server at {target} dropped before the answer ({why}): the command may or may not have been applied; check before repeating it"
        ))));
    }
    end
}

/// Handles one message; `Some` ends the session.
fn on_message(
    msg: ServerMsg,
    shared: &mut Shared,
    pending: &mut HashMap<u64, oneshot::Sender<Reply>>,
) -> Option<End> {
    match msg {
        ServerMsg::Full { snapshot } => shared.publish(*snapshot),
        ServerMsg::Delta { delta } => {
            let base = Arc::clone(&shared.snapshots.borrow());
            match delta::apply(&base, &delta) {
                Ok(next) => shared.publish(next),
                Err(e) => return Some(End::Resync(format!("a delta did not apply ({e})"))),
            }
        }
        ServerMsg::Detail { seq, devices } => {
            let base = Arc::clone(&shared.snapshots.borrow());
            // Details of a snapshot already passed are stale: the next
            // ones come with the next delta.
            if base.seq == seq
                && let Ok(next) = delta::apply_details(&base, &devices)
            {
                shared.snapshots.send_replace(Arc::new(next));
            }
        }
        ServerMsg::Reply { id, reply } => {
            if let Some(tx) = pending.remove(&id) {
                let _ = tx.send(reply);
            }
        }
        ServerMsg::Hello { v, .. } if v != wire::VERSION => {
            return Some(End::Lost(format!(
                "the server now speaks API version {v}, this console {}",
                wire::VERSION
            )));
        }
        ServerMsg::Hello { .. } => {}
        ServerMsg::Error { reason } => {
            return Some(End::Lost(format!("the server said: {reason}")));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::command::{Command, Identity};

    fn request() -> (Request, oneshot::Receiver<Reply>) {
        let (reply, rx) = oneshot::channel();
        let request = Request {
            identity: Identity::local(),
            command: Command::check_now("MRN"),
            reply,
        };
        (request, rx)
    }

    #[tokio::test(start_paused = true)]
    async fn while_disconnected_commands_are_refused_at_once_with_the_reason() {
        let (tx, mut rx) = mpsc::channel(4);
        let started = tokio::time::Instant::now();
        let waiting = tokio::spawn(async move {
            let go_on = refuse_while(Duration::from_secs(8), &mut rx, "not connected: why").await;
            (go_on, rx)
        });
        let (req, answer) = request();
        tx.send(req).await.expect("send");
        assert_eq!(
            answer.await.expect("answered"),
            Err(Refusal::Disconnected("not connected: why".to_owned()))
        );
        assert!(started.elapsed() < Duration::from_millis(1), "at once");
        let (go_on, mut rx) = waiting.await.expect("task");
        assert!(go_on);
        assert_eq!(started.elapsed(), Duration::from_secs(8));
        // Every handle gone: the wait ends early, and says so.
        drop(tx);
        let started = tokio::time::Instant::now();
        assert!(!refuse_while(Duration::from_secs(8), &mut rx, "x").await);
        assert!(started.elapsed() < Duration::from_millis(1));
    }

    #[tokio::test(start_paused = true)]
    async fn reconnect_waits_follow_the_backoff_on_the_clock() {
        let (_tx, mut rx) = mpsc::channel(4);
        let mut backoff = Backoff::new();
        let started = tokio::time::Instant::now();
        let mut at = Vec::new();
        for _ in 0..7 {
            let wait = backoff.next_with(0.0);
            assert!(refuse_while(wait, &mut rx, "x").await);
            at.push(started.elapsed().as_millis());
        }
        assert_eq!(at, [500, 1500, 3500, 7500, 15500, 25500, 35500]);
    }
}
