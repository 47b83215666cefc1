//! The context that reading and checking share: the file, the
//! diagnostics so far, and the tables that already had errors of their
//! own; plus the span helpers that pick where an error points.

use std::collections::HashSet;
use std::ops::Range;

use toml::Spanned;

use crate::config::diag::{Diagnostic, SourceFile};

/// Reading and checking state of one file.
pub(super) struct Cx<'a> {
    pub(super) src: &'a SourceFile,
    pub(super) diags: Vec<Diagnostic>,
    /// Ids (`device:X`, `group:X`, `profile:X`) of tables that had errors
    /// of their own: references to them are not reported again.
    pub(super) broken: HashSet<String>,
}

impl<'a> Cx<'a> {
    /// A context with no diagnostics yet.
    pub(super) fn new(src: &'a SourceFile) -> Self {
        Self {
            src,
            diags: Vec::new(),
            broken: HashSet::new(),
        }
    }
}

impl Cx<'_> {
    /// Reports an error at `span`.
    pub(super) fn error(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.diags.push(self.src.error(span, message, help));
    }

    /// Reports a warning at `span`.
    pub(super) fn warning(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.diags.push(self.src.warning(span, message, help));
    }

    /// How many errors (not warnings) were reported so far.
    pub(super) fn errors(&self) -> usize {
        self.diags
            .iter()
            .filter(|d| d.severity == crate::config::diag::Severity::Error)
            .count()
    }

    /// Whether the `kind` table `id` had errors of its own.
    pub(super) fn is_broken(&self, kind: &str, id: &str) -> bool {
        self.broken.contains(&format!("{kind}:{id}"))
    }
}

/// The span of the first key that is present, else `fallback`: where to
/// point an error about a relation between optional keys.
pub(super) fn first_span<T>(keys: &[&Option<Spanned<T>>], fallback: Range<usize>) -> Range<usize> {
    keys.iter()
        .find_map(|k| k.as_ref().map(Spanned::span))
        .unwrap_or(fallback)
}

/// Names for a help text, or `none`.
pub(super) fn or_none(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}
