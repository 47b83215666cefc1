//! Wiring per mode: what runs on which thread, which ports the engine
//! gets, and the files the wiring writes. `toc demo` and `toc run` keep
//! simulator, poller and engine on the main (current-thread) runtime
//! ([`live`]) and draw the console on a thread of its own ([`console`]),
//! so a terminal that stops reading never delays polling or the engine;
//! the audit log is written and synced on a thread of its own
//! ([`audit`]); `toc.log` and `audit.log` rotate by size ([`rotate`]);
//! a demo publishes where it serves its devices ([`published`]); the
//! commands print without panicking on a closed pipe ([`out`]).

pub mod api;
pub mod audit;
pub mod console;
pub mod headless;
pub mod live;
pub mod notify;
pub mod out;
pub mod published;
pub mod relay;
pub mod rotate;
pub mod steps;

pub use live::{Live, Tuning};
