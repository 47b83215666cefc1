//! Wiring per mode (`toc demo`, `toc run`): which threads run what, and
//! which ports the engine gets.

pub mod audit;
