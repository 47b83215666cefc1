//! The console on a thread of its own, with its own current-thread
//! runtime: drawing writes the terminal synchronously, and a terminal
//! that stops reading (a stalled SSH link) must block only that thread,
//! never the poller or the engine. The console talks to the engine only
//! through its [`EngineHandle`] (channels).
//!
//! The main runtime keeps the signals: on SIGTERM, SIGHUP or SIGINT it
//! asks the console to stop and waits a bounded time for it to restore
//! the terminal; a console stuck on a dead terminal is left behind, and
//! the process exits anyway.

use std::future::Future;
use std::io;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::console::{self, ConsoleOptions};
use crate::engine::EngineHandle;

/// How long a stop request waits for the console to restore the
/// terminal.
pub const STOP_WAIT: Duration = Duration::from_secs(2);

/// How the console ended.
#[derive(Debug)]
pub enum Ended {
    /// The user quit, or it was stopped and restored the terminal.
    Done,
    /// It failed (its terminal, or a panic elsewhere in the process).
    Failed(io::Error),
    /// Its thread panicked (the panic hook restored the terminal).
    Panicked,
    /// Asked to stop, it did not within the wait: blocked writing to a
    /// terminal that does not read.
    Stuck,
}

/// The console's thread. Dropping it asks the console to stop, without
/// waiting.
#[derive(Debug)]
pub struct ConsoleThread {
    stop: Option<oneshot::Sender<()>>,
    done: oneshot::Receiver<io::Result<()>>,
}

/// Resolves when the wiring asks the console to stop (or drops the
/// [`ConsoleThread`]).
#[derive(Debug)]
pub struct Stop(oneshot::Receiver<()>);

impl Stop {
    /// Waits for the stop request.
    pub async fn requested(self) {
        let _ = self.0.await;
    }
}

impl ConsoleThread {
    /// Runs `body` on a new thread `toc-console` with a current-thread
    /// runtime of its own. `body` gets the [`Stop`] to honour.
    pub fn spawn<F, Fut>(body: F) -> io::Result<ConsoleThread>
    where
        F: FnOnce(Stop) -> Fut + Send + 'static,
        Fut: Future<Output = io::Result<()>>,
    {
        let (stop_tx, stop_rx) = oneshot::channel();
        let (done_tx, done_rx) = oneshot::channel();
        std::thread::Builder::new()
            .name("toc-console".to_owned())
            .spawn(move || {
                let result = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime.block_on(body(Stop(stop_rx))),
                    Err(e) => Err(e),
                };
                let _ = done_tx.send(result);
            })?;
        Ok(ConsoleThread {
            stop: Some(stop_tx),
            done: done_rx,
        })
    }

    /// Waits until the console ends by itself: the user quit, or it
    /// failed.
    pub async fn ended(&mut self) -> Ended {
        match (&mut self.done).await {
            Ok(Ok(())) => Ended::Done,
            Ok(Err(e)) => Ended::Failed(e),
            Err(_) => Ended::Panicked,
        }
    }

    /// Asks the console to stop and waits at most `limit` for it.
    pub async fn stop(mut self, limit: Duration) -> Ended {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match tokio::time::timeout(limit, self.ended()).await {
            Ok(ended) => ended,
            Err(_) => Ended::Stuck,
        }
    }
}

/// Runs the console on the process's terminal, on its own thread, until
/// the user quits or the process gets SIGTERM, SIGHUP or SIGINT. Call on
/// the main runtime: that is where the signals are caught.
pub async fn serve(handle: EngineHandle, options: ConsoleOptions) -> Ended {
    let spawned = ConsoleThread::spawn(move |stop| console::run(handle, options, stop.requested()));
    let mut thread = match spawned {
        Ok(thread) => thread,
        Err(e) => return Ended::Failed(e),
    };
    let by_itself = tokio::select! {
        ended = thread.ended() => Some(ended),
        () = shutdown_signal() => None,
    };
    if let Some(ended) = by_itself {
        return ended;
    }
    tracing::info!("signal received: stopping the console");
    let ended = thread.stop(STOP_WAIT).await;
    if matches!(ended, Ended::Stuck) {
        tracing::warn!(
            "the console did not stop within {} ms (its terminal is not reading): leaving it",
            STOP_WAIT.as_millis()
        );
        // Terminal modes at least: setting them does not wait for the
        // terminal to read. The screen needs writes, which would block.
        let _ = crossterm::terminal::disable_raw_mode();
    }
    ended
}

/// Resolves on SIGTERM, SIGHUP or SIGINT.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let kinds = [
            SignalKind::terminate(),
            SignalKind::hangup(),
            SignalKind::interrupt(),
        ];
        let mut signals: Vec<_> = kinds.into_iter().filter_map(|k| signal(k).ok()).collect();
        if signals.is_empty() {
            std::future::pending::<()>().await;
        }
        let waits = signals.iter_mut().map(|s| Box::pin(s.recv()));
        let _ = futures_util::future::select_all(waits).await;
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
