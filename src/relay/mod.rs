//! The embedded result relay: venue results systems (OVR) post Olympic
//! Data Feed XML; the relay reads only the `OdfBody` header, drops
//! duplicates and stale versions, journals each message durably before it
//! answers, and delivers it in order to its sinks. The engine sees
//! [summaries](crate::model::relay::RelayStatus), never messages.
//!
//! Rooms: [`odf`] (the header), [`envelope`] (a journaled message),
//! [`dedup`] (versions per document), [`journal`] (segments on disk,
//! behind a narrow interface), [`sink`] (delivery), [`control`] (routes,
//! active sources, paused sinks: what an operator reroutes), [`ingest`]
//! (`POST /odf` and the one thread that orders and journals), [`service`]
//! (the relay started as a whole).

pub mod control;
pub mod dedup;
pub mod envelope;
pub mod ingest;
pub mod journal;
pub mod metrics;
pub mod odf;
pub mod quarantine;
pub mod sequencer;
pub mod service;
pub mod sink;
