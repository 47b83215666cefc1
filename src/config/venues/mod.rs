//! `venues.toml`: the inventory a TOC watches. Parsing keeps every span so
//! that each error names `file:line:column`; validation reports every
//! error of a file in one run, not only the first.
//!
//! The pipeline, one file per step:
//! - [`read`] walks the spanned TOML into the [`raw`] serde types, each
//!   table on its own;
//! - [`check`] validates them subject by subject (event, profiles,
//!   venues, groups, devices, links, feeds);
//! - [`model`] holds the validated [`Inventory`] the rest of the program
//!   uses.
//!
//! Both steps report through the shared context in [`cx`].

mod check;
mod cx;
mod model;
mod overrides;
mod raw;
mod read;

use std::path::Path;

pub use model::{
    AckTimeouts, Api, ApiTls, AuthProtocol, Checks, Device, Event, Feed, Group, IncidentPolicy,
    Inventory, JsonCheck, LogRotation, MIN_PASSPHRASE, MaintenanceScope, MaintenanceWindow,
    PlaybookPolicy, PrivProtocol, ProbeTarget, Profile, Relay, RelayRoute, RelaySink, RelaySource,
    Secret, SinkKind, Summary, Venue,
};

use super::diag::{Diagnostic, Severity, SourceFile};
use cx::Cx;

impl Inventory {
    /// Reads and validates a file. Errors come back all at once, sorted by
    /// position; warnings come back with the inventory.
    pub fn load(path: &Path) -> Result<(Inventory, Vec<Diagnostic>), Vec<Diagnostic>> {
        let text = crate::config::file::read_text(path).map_err(|e| {
            vec![Diagnostic::file_error(
                path,
                e,
                "give the path of a regular file of at most 64 MiB, and check its permissions",
            )]
        })?;
        Self::parse(&SourceFile::new(path, text))
    }

    /// Validates a file's text.
    pub fn parse(src: &SourceFile) -> Result<(Inventory, Vec<Diagnostic>), Vec<Diagnostic>> {
        let mut cx = Cx::new(src);
        let raw = cx.read_document();
        let inv = raw.and_then(|raw| cx.validate(raw));
        let mut diags = cx.diags;
        diags.sort_by_key(|d| (d.severity, d.line, d.column));
        let has_errors = diags.iter().any(|d| d.severity == Severity::Error);
        match inv {
            Some(inv) if !has_errors => Ok((inv, diags)),
            _ => Err(diags),
        }
    }
}
