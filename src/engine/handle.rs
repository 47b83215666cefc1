//! [`EngineHandle`]: how a console talks to an engine. It holds the
//! latest snapshot, the event stream and a command line; the in-process
//! engine fills them directly, a remote one will fill them from the
//! network, and the console cannot tell which.

use std::sync::Arc;

use tokio::sync::{broadcast, mpsc, oneshot, watch};

use super::command::{Command, Identity, Refusal, Reply};
use super::snapshot::{Event, Snapshot};

/// Whether the console is in touch with its engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// The engine runs in this process.
    Local,
    /// Connected to a remote engine.
    Connected,
    /// Lost: the snapshot shown is the last one received.
    Lost,
}

impl Link {
    /// One word for the status bar.
    pub const fn word(self) -> &'static str {
        match self {
            Link::Local => "local",
            Link::Connected => "connected",
            Link::Lost => "LOST",
        }
    }
}

/// A command on its way to the engine.
#[derive(Debug)]
pub struct Request {
    /// Who asks.
    pub identity: Identity,
    /// What.
    pub command: Command,
    /// Where the answer goes.
    pub reply: oneshot::Sender<Reply>,
}

/// A console's view of an engine. Cheap to clone.
#[derive(Debug, Clone)]
pub struct EngineHandle {
    snapshots: watch::Receiver<Arc<Snapshot>>,
    events: broadcast::Sender<Event>,
    requests: mpsc::Sender<Request>,
    link: watch::Receiver<Link>,
    identity: Identity,
    focus: Option<watch::Sender<crate::api::delta::Focus>>,
}

impl EngineHandle {
    /// A handle over the engine's channels, acting as `identity`.
    pub fn new(
        snapshots: watch::Receiver<Arc<Snapshot>>,
        events: broadcast::Sender<Event>,
        requests: mpsc::Sender<Request>,
        link: watch::Receiver<Link>,
        identity: Identity,
    ) -> Self {
        EngineHandle {
            snapshots,
            events,
            requests,
            link,
            identity,
            focus: None,
        }
    }

    /// The same handle, telling `focus` what the console looks at (a
    /// remote engine then sends those devices' every poll; a local one
    /// has them all anyway and needs none).
    #[must_use]
    pub fn with_focus(self, focus: watch::Sender<crate::api::delta::Focus>) -> Self {
        EngineHandle {
            focus: Some(focus),
            ..self
        }
    }

    /// Says what the console looks at now (see [`Self::with_focus`]);
    /// nothing for a local engine.
    pub fn focus(&self, focus: crate::api::delta::Focus) {
        if let Some(tx) = &self.focus {
            tx.send_if_modified(|f| {
                let changed = *f != focus;
                *f = focus;
                changed
            });
        }
    }

    /// The same engine, acting as `identity` (the API server makes one
    /// per connection, from what authenticated it).
    #[must_use]
    pub fn with_identity(&self, identity: Identity) -> Self {
        EngineHandle {
            identity,
            ..self.clone()
        }
    }

    /// Who this handle acts as.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The latest snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.snapshots.borrow())
    }

    /// A receiver that wakes on every new snapshot (latest only).
    pub fn watch(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.snapshots.clone()
    }

    /// Events from now on.
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// The state of the link to the engine, and its changes.
    pub fn link(&self) -> watch::Receiver<Link> {
        self.link.clone()
    }

    /// Asks the engine to apply `command`; the answer is one line for the
    /// operator, or why it was refused.
    pub async fn send(&self, command: Command) -> Reply {
        let (tx, rx) = oneshot::channel();
        let request = Request {
            identity: self.identity.clone(),
            command,
            reply: tx,
        };
        if self.requests.send(request).await.is_err() {
            return Err(Refusal::Unavailable);
        }
        rx.await.unwrap_or(Err(Refusal::Unavailable))
    }
}
