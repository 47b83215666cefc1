//! TCP sink: listens on its address; each connected subscriber gets every
//! message as `u32` big-endian length, then the body. A message counts as
//! delivered once written to every connected subscriber; with none, the
//! sink waits (its backlog grows, state Failing "no subscriber"). A
//! subscriber gets messages from when it connects on. One whose write
//! takes longer than [`SLOW`] is dropped and logged.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::future::join_all;
use hyper::body::Bytes;
use tokio::io::AsyncWriteExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::{Attempt, Backoff};

/// The longest one write to a subscriber may take.
pub const SLOW: Duration = Duration::from_secs(5);

/// A message as subscribers get it: `u32` big-endian length, then the
/// body (bodies over 4 GiB cannot be journaled).
pub fn frame(body: &[u8]) -> Vec<u8> {
    let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&body[..len as usize]);
    out
}

#[derive(Debug)]
pub(super) struct TcpSink {
    id: String,
    subscribers: Vec<(SocketAddr, TcpStream)>,
    new: mpsc::Receiver<(TcpStream, SocketAddr)>,
    acceptor: JoinHandle<()>,
}

impl Drop for TcpSink {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

async fn accept(
    listen: SocketAddr,
    id: String,
    tx: mpsc::Sender<(TcpStream, SocketAddr)>,
    bound: watch::Sender<Option<SocketAddr>>,
) {
    let mut backoff = Backoff::new();
    let listener = loop {
        match TcpListener::bind(listen).await {
            Ok(l) => break l,
            Err(e) => {
                tracing::warn!(sink = %id, "cannot listen on {listen}: {e}");
                tokio::time::sleep(backoff.next_delay()).await;
            }
        }
    };
    let addr = listener.local_addr().unwrap_or(listen);
    tracing::info!(sink = %id, "subscribers connect to {addr}");
    bound.send_replace(Some(addr));
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                if tx.send((stream, peer)).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(sink = %id, "accept: {e}");
                tokio::time::sleep(Backoff::FIRST).await;
            }
        }
    }
}

impl TcpSink {
    pub(super) fn new(
        listen: SocketAddr,
        id: &str,
        bound: watch::Sender<Option<SocketAddr>>,
    ) -> TcpSink {
        let (tx, new) = mpsc::channel(64);
        TcpSink {
            id: id.to_owned(),
            subscribers: Vec::new(),
            new,
            acceptor: tokio::spawn(accept(listen, id.to_owned(), tx, bound)),
        }
    }

    fn take_new(&mut self) {
        while let Ok((stream, peer)) = self.new.try_recv() {
            tracing::info!(sink = %self.id, "subscriber {peer} connected");
            self.subscribers.push((peer, stream));
        }
    }

    /// Resolves when a subscriber connects.
    pub(super) async fn ready(&mut self) {
        if let Some((stream, peer)) = self.new.recv().await {
            tracing::info!(sink = %self.id, "subscriber {peer} connected");
            self.subscribers.push((peer, stream));
        } else {
            std::future::pending::<()>().await;
        }
    }

    pub(super) async fn deliver(&mut self, body: &Bytes) -> Attempt {
        self.take_new();
        if self.subscribers.is_empty() {
            return Attempt::Retry("no subscriber".to_owned());
        }
        let framed = frame(body);
        let writes = self.subscribers.iter_mut().map(|(peer, stream)| {
            let framed = &framed;
            async move {
                match tokio::time::timeout(SLOW, stream.write_all(framed)).await {
                    Ok(Ok(())) => None,
                    Ok(Err(e)) => Some(format!("subscriber {peer} dropped: {e}")),
                    Err(_) => Some(format!(
                        "subscriber {peer} dropped: a write took over {}s",
                        SLOW.as_secs()
                    )),
                }
            }
        });
        let results = join_all(writes).await;
        let mut kept = Vec::with_capacity(self.subscribers.len());
        for (sub, failed) in std::mem::take(&mut self.subscribers)
            .into_iter()
            .zip(results)
        {
            match failed {
                None => kept.push(sub),
                Some(why) => tracing::warn!(sink = %self.id, "{why}"),
            }
        }
        self.subscribers = kept;
        if self.subscribers.is_empty() {
            Attempt::Retry("no subscriber".to_owned())
        } else {
            Attempt::Done
        }
    }
}
