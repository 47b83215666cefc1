//! Wiring per mode (`toc demo`, `toc run`): which threads run what, which
//! ports the engine gets, and the files they write (the audit log, the
//! rotated logs).

pub mod audit;
pub mod rotate;
