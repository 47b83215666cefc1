//! Wiring per mode: what runs on which thread. `toc demo` and `toc run`
//! keep simulator, poller and engine on the main (current-thread)
//! runtime ([`live`]) and draw the console on a thread of its own
//! ([`console`]), so a terminal that stops reading never delays polling
//! or the engine.

pub mod console;
pub mod live;

pub use live::{Live, Tuning};
