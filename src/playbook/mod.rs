//! Incident playbooks at run time (DESIGN.md, "Layout": `playbook/`).
//! The definitions are read and checked by [`crate::config::playbook`];
//! this room runs them:
//!
//! - [`resolve`]: a playbook's steps against one incident, as the work
//!   they will do (the targets, the relay command, the argv); what a
//!   dry-run shows. Pure.
//! - [`run`]: one run's state machine, driven by the engine (which owns
//!   every run); pure, the caller says what time it is.
//! - [`exec`]: a shell step's process (argv, process group, timeout,
//!   bounded output), run off the engine task by the wiring.

pub mod exec;
pub mod resolve;
pub mod run;

pub use resolve::{Context, RelayWork, Resolved, Work};
pub use run::{Answer, Effect, Run, RunAction, RunState, StepRun, StepState, World};
