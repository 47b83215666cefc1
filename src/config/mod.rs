//! Configuration files: `venues.toml` and `playbooks/*.toml`. Strict
//! parsing (unknown keys are errors), validation that reports every error
//! of a file at once, each naming `file:line:column`.

pub mod diag;
pub mod file;
pub mod playbook;
pub mod users;
pub mod value;
pub mod venues;

pub use diag::{Diagnostic, Severity, SourceFile};
pub use venues::Inventory;
