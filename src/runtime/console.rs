//! The console on a thread of its own, with its own current-thread
//! runtime: drawing writes the terminal synchronously, and a terminal
//! that stops reading (a stalled SSH link) must block only that thread,
//! never the poller or the engine. The console talks to the engine only
//! through its [`EngineHandle`] (channels).
//!
//! The main runtime keeps the signals: on any terminating signal a
//! process can catch ([`Signals`]: SIGHUP, SIGINT, SIGQUIT, SIGTERM,
//! SIGUSR1, SIGUSR2, SIGALRM, SIGIO) it asks the console to stop and
//! waits a bounded time for it to restore the terminal; a console stuck
//! on a dead terminal is left behind, and the process exits anyway, with
//! status 128 + the signal's number. SIGPIPE is ignored (Rust's runtime
//! does so): a closed output is an error of the write, not a signal.

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

/// How [`serve`] ended: how the console ended, and the signal that
/// stopped it, if one did.
#[derive(Debug)]
pub struct Served {
    /// How the console ended.
    pub ended: Ended,
    /// The number of the signal that stopped it (15 for SIGTERM).
    pub signal: Option<i32>,
}

impl Served {
    /// The conventional exit status after the signal: 128 + its number
    /// (143 after SIGTERM, 131 after SIGQUIT).
    pub fn signal_status(&self) -> Option<u8> {
        self.signal
            .and_then(|n| u8::try_from(n).ok())
            .and_then(|n| 128_u8.checked_add(n))
    }
}

/// Runs the console on the process's terminal, on its own thread, until
/// the user quits or the process gets a terminating signal ([`Signals`]).
/// Call on the main runtime: that is where the signals are caught. They
/// are caught before the console touches the terminal, so no signal can
/// end the process with the terminal raw.
pub async fn serve(handle: EngineHandle, options: ConsoleOptions) -> Served {
    let mut signals = Signals::catch();
    let spawned = ConsoleThread::spawn(move |stop| console::run(handle, options, stop.requested()));
    let served = supervise(&mut signals, spawned).await;
    if matches!(served.ended, Ended::Stuck) {
        tracing::warn!(
            "the console did not stop within {} ms (its terminal is not reading): leaving it",
            STOP_WAIT.as_millis()
        );
        // Terminal modes at least: setting them does not wait for the
        // terminal to read. The screen needs writes, which would block.
        let _ = crossterm::terminal::disable_raw_mode();
    }
    served
}

/// Waits for a thread just spawned to end, or for a terminating signal;
/// on a signal, asks it to stop and waits at most [`STOP_WAIT`].
pub(super) async fn supervise(signals: &mut Signals, spawned: io::Result<ConsoleThread>) -> Served {
    let mut thread = match spawned {
        Ok(thread) => thread,
        Err(e) => {
            return Served {
                ended: Ended::Failed(e),
                signal: None,
            };
        }
    };
    let signal = tokio::select! {
        ended = thread.ended() => return Served { ended, signal: None },
        n = signals.recv() => n,
    };
    tracing::info!(signal, "signal received: stopping");
    let ended = thread.stop(STOP_WAIT).await;
    Served {
        ended,
        signal: Some(signal),
    }
}

/// The terminating signals the process catches while the console runs:
/// each would otherwise end it with the terminal raw and on the
/// alternate screen.
#[derive(Debug)]
pub struct Signals {
    #[cfg(unix)]
    caught: Vec<(i32, tokio::signal::unix::Signal)>,
}

impl Signals {
    /// Catches them from now on (call on a runtime). A signal that cannot
    /// be caught is left as it is.
    pub fn catch() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let kinds = [
                SignalKind::hangup(),
                SignalKind::interrupt(),
                SignalKind::quit(),
                SignalKind::terminate(),
                SignalKind::user_defined1(),
                SignalKind::user_defined2(),
                SignalKind::alarm(),
                SignalKind::io(),
            ];
            let caught = kinds
                .into_iter()
                .filter_map(|k| signal(k).ok().map(|s| (k.as_raw_value(), s)))
                .collect();
            Signals { caught }
        }
        #[cfg(not(unix))]
        {
            Signals {}
        }
    }

    /// Waits for one of them; returns its number (2 for Ctrl-C where
    /// there are no Unix signals).
    pub async fn recv(&mut self) -> i32 {
        #[cfg(unix)]
        {
            if self.caught.is_empty() {
                std::future::pending::<()>().await;
            }
            let waits = self
                .caught
                .iter_mut()
                .map(|(n, s)| Box::pin(async move { s.recv().await.map(|()| *n) }));
            match futures_util::future::select_all(waits).await {
                (Some(n), _, _) => n,
                // A stream of signals that ended: nothing more will come.
                (None, _, _) => std::future::pending().await,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            2
        }
    }
}
