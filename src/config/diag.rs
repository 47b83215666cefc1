//! Diagnostics for configuration files: every error names `file:line:column`,
//! what is wrong and what to do about it.

use std::fmt::{self, Write as _};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The file cannot be used as it is.
    Error,
    /// The file is usable, but something will not work as written.
    Warning,
}

impl Severity {
    fn label(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One finding in a configuration file, located by line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The file, as the user named it.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
    /// The offending source line, for display.
    pub source_line: Option<String>,
}

impl Diagnostic {
    /// An error about a whole file or folder (it cannot be read), placed
    /// at its line 1, column 1.
    pub fn file_error(
        file: &std::path::Path,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            file: file.to_path_buf(),
            line: 1,
            column: 1,
            message: message.into(),
            help: Some(help.into()),
            source_line: None,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}:{}:{}: {}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.severity.label(),
            self.message
        )?;
        if let Some(src) = &self.source_line {
            let gutter = self.line.to_string();
            let pad = " ".repeat(gutter.len());
            let (shown, caret) = excerpt(src, self.column.saturating_sub(1));
            writeln!(f, "{pad} |")?;
            writeln!(f, "{gutter} | {shown}")?;
            let caret_pad: String = shown
                .chars()
                .take(caret)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            writeln!(f, "{pad} | {caret_pad}^")?;
        }
        if let Some(help) = &self.help {
            writeln!(f, "  = help: {help}")?;
        }
        Ok(())
    }
}

/// The widest source line printed whole, in characters; a longer one is
/// cut to this many around the column, with `…` where it was cut.
const SHOWN_WIDTH: usize = 120;

/// The part of `line` to print and the caret's place in it (both in
/// characters), for a caret at character `column` (0-based).
fn excerpt(line: &str, column: usize) -> (String, usize) {
    let len = line.chars().count();
    if len <= SHOWN_WIDTH {
        return (line.to_owned(), column);
    }
    let start = column
        .saturating_sub(SHOWN_WIDTH / 2)
        .min(len - SHOWN_WIDTH);
    let end = start + SHOWN_WIDTH;
    let mut shown = String::new();
    let mut caret = column - start;
    if start > 0 {
        shown.push('\u{2026}');
        caret += 1;
    }
    shown.extend(line.chars().skip(start).take(SHOWN_WIDTH));
    if end < len {
        shown.push('\u{2026}');
    }
    (shown, caret)
}

/// A configuration file's text with a line index, to turn byte offsets
/// into line and column.
#[derive(Debug)]
pub struct SourceFile {
    path: PathBuf,
    text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// Wraps a file's text.
    pub fn new(path: impl Into<PathBuf>, text: String) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self {
            path: path.into(),
            text,
            line_starts,
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line_idx = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.line_starts.get(line_idx).copied().unwrap_or(0);
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line_idx + 1, column + 1)
    }

    /// The text of 1-based line `line`, without its line ending: found
    /// through the line index, so that a file with thousands of errors is
    /// not walked from its start for each of them.
    fn line_text(&self, line: usize) -> Option<String> {
        let idx = line.checked_sub(1)?;
        let start = *self.line_starts.get(idx)?;
        let end = self
            .line_starts
            .get(idx + 1)
            .map_or(self.text.len(), |next| next.saturating_sub(1));
        if start >= self.text.len() {
            return None;
        }
        self.text
            .get(start..end)
            .map(|l| l.trim_end_matches('\r').to_owned())
    }

    /// A diagnostic at a byte span of this file.
    pub fn diag(
        &self,
        severity: Severity,
        span: Option<Range<usize>>,
        message: impl Into<String>,
        help: Option<String>,
    ) -> Diagnostic {
        let (line, column) = self.position(span.map_or(0, |s| s.start));
        Diagnostic {
            severity,
            file: self.path.clone(),
            line,
            column,
            message: message.into(),
            help,
            source_line: self.line_text(line),
        }
    }

    /// An error at a byte span, with advice.
    pub fn error(
        &self,
        span: Range<usize>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Diagnostic {
        self.diag(Severity::Error, Some(span), message, Some(help.into()))
    }

    /// A warning at a byte span, with advice.
    pub fn warning(
        &self,
        span: Range<usize>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Diagnostic {
        self.diag(Severity::Warning, Some(span), message, Some(help.into()))
    }

    /// Turns a `toml` parse or deserialize error into a diagnostic, adding
    /// advice for the common cases.
    /// `what` names the table being read (`device`, `[event] table`), or is
    /// `None` for a syntax error of the whole file.
    pub fn from_toml(&self, err: &toml::de::Error, what: Option<&str>) -> Diagnostic {
        let mut message = err.message().trim().to_owned();
        for (raw, plain) in [
            ("expected i64", "expected an integer"),
            ("expected u32", "expected an integer"),
            ("expected a boolean", "expected true or false"),
            ("expected a string", "expected a string in quotes"),
        ] {
            message = message.replace(raw, plain);
        }
        let help = toml_help(&message, what);
        let mut d = self.diag(Severity::Error, err.span(), message, Some(help));
        if let Some(what) = what
            && ["unknown field", "unknown variant", "missing field"]
                .iter()
                .any(|p| d.message.starts_with(p))
        {
            d.message = format!("{} in {what}", d.message);
        }
        d
    }
}

fn toml_help(message: &str, what: Option<&str>) -> String {
    let Some(what) = what else {
        return "fix the TOML syntax at this point; see https://toml.io/en/v1.0.0".to_owned();
    };
    if message.starts_with("unknown field") {
        format!("remove the key or fix its spelling; docs/config.md lists the keys of this {what}")
    } else if message.starts_with("missing field") {
        format!("add the key to this {what}; docs/config.md says what it holds")
    } else if message.starts_with("invalid type") {
        "write the value with the type docs/config.md gives (strings in quotes, numbers bare, lists in [ ])".to_owned()
    } else if message.starts_with("unknown variant") {
        "use one of the values listed".to_owned()
    } else if message.starts_with("duplicate key") {
        "each key may appear once per table; remove one".to_owned()
    } else if message.contains("duration") {
        "durations are strings with a unit: \"250ms\", \"5s\", \"2m\"".to_owned()
    } else {
        format!("docs/config.md gives the keys of this {what} and their values")
    }
}

/// How many diagnostics [`render`] prints before it only counts the rest.
pub const MAX_SHOWN: usize = 200;

/// Prints diagnostics, errors and warnings in file order: the first
/// [`MAX_SHOWN`], then one line counting the rest (`… and 16,467 more
/// errors`), so that a file with thousands of errors does not bury the
/// terminal.
pub fn render(diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags.iter().take(MAX_SHOWN) {
        out.push_str(&d.to_string());
    }
    let rest = diags.get(MAX_SHOWN..).unwrap_or_default();
    if !rest.is_empty() {
        let errors = rest
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        let warnings = rest.len() - errors;
        let plural = |n: usize, what: &str| {
            format!("{} {what}{}", thousands(n), if n == 1 { "" } else { "s" })
        };
        let what = match (errors, warnings) {
            (_, 0) => plural(errors, "more error"),
            (0, _) => plural(warnings, "more warning"),
            _ => format!(
                "{} and {}",
                plural(errors, "more error"),
                plural(warnings, "warning")
            ),
        };
        let _ = writeln!(
            out,
            "\u{2026} and {what} (only the first {MAX_SHOWN} are shown)"
        );
    }
    out
}

/// `16467` as `16,467`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters() {
        let src = SourceFile::new("f.toml", "ab\nçé = 1\n\nx".to_owned());
        assert_eq!(src.position(0), (1, 1));
        assert_eq!(src.position(1), (1, 2));
        assert_eq!(src.position(3), (2, 1));
        // "çé" is 4 bytes, 2 characters: the space after it is column 3.
        assert_eq!(src.position(7), (2, 3));
        assert_eq!(src.position(13), (4, 1));
        assert_eq!(src.position(10_000), (4, 2));
    }

    #[test]
    fn a_long_line_is_cut_around_the_caret() {
        let line = format!("{}X{}", "a".repeat(1000), "b".repeat(1000));
        let (shown, caret) = excerpt(&line, 1000);
        assert_eq!(shown.chars().count(), SHOWN_WIDTH + 2);
        assert_eq!(shown.chars().nth(caret), Some('X'));
        assert!(shown.starts_with('\u{2026}') && shown.ends_with('\u{2026}'));
        let (shown, caret) = excerpt(&line, 0);
        assert_eq!((shown.chars().next(), caret), (Some('a'), 0));
        assert_eq!(excerpt("short", 2), ("short".to_owned(), 2));
    }

    #[test]
    fn line_text_uses_the_index() {
        let src = SourceFile::new("f.toml", "a\r\nb\n\nc".to_owned());
        assert_eq!(src.line_text(1).as_deref(), Some("a"));
        assert_eq!(src.line_text(2).as_deref(), Some("b"));
        assert_eq!(src.line_text(3).as_deref(), Some(""));
        assert_eq!(src.line_text(4).as_deref(), Some("c"));
        assert_eq!(src.line_text(5), None);
        assert_eq!(src.line_text(0), None);
    }

    #[test]
    fn render_prints_the_first_ones_and_counts_the_rest() {
        let src = SourceFile::new("v.toml", "a = 1\n".to_owned());
        let mut diags: Vec<Diagnostic> = (0..MAX_SHOWN + 1234)
            .map(|_| src.error(0..1, "bad", "fix"))
            .collect();
        diags.push(src.warning(0..1, "meh", "fix"));
        let text = render(&diags);
        assert_eq!(text.matches(": error: bad").count(), MAX_SHOWN);
        assert!(
            text.ends_with(
                "\u{2026} and 1,234 more errors and 1 warning (only the first 200 are shown)\n"
            ),
            "{text}"
        );
        assert_eq!(thousands(16_467), "16,467");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }

    #[test]
    fn display_names_file_line_column_and_help() {
        let src = SourceFile::new("v.toml", "a = 1\nbad = 2\n".to_owned());
        let d = src.error(6..9, "unknown field `bad`", "remove it");
        let text = d.to_string();
        assert!(
            text.starts_with("v.toml:2:1: error: unknown field `bad`\n"),
            "{text}"
        );
        assert!(text.contains("2 | bad = 2"), "{text}");
        assert!(text.contains("= help: remove it"), "{text}");
    }
}
