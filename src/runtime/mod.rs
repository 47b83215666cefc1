//! Wiring per mode (demo, run, serve), one thread per hot path.

pub mod rotate;
