//! The raw serde types of a playbook file: exactly its keys, each value a
//! diagnostic may point at with its span, nothing checked beyond the TOML
//! types. [`read`] walks the spanned TOML and deserializes the header and
//! each `[[steps]]` table on its own, so that one bad step does not hide
//! the errors of the next.

use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use serde::de::{self, Deserializer, IntoDeserializer, SeqAccess, Visitor};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::model::TriggerKind;
use crate::config::diag::{Diagnostic, SourceFile};

/// `[trigger]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTrigger {
    pub(super) kind: Spanned<TriggerKind>,
    pub(super) role: Option<Spanned<String>>,
    pub(super) venue: Option<Spanned<String>>,
    pub(super) feed: Option<Spanned<String>>,
}

/// The keys of a playbook file other than `steps`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHeader {
    pub(super) id: Spanned<String>,
    pub(super) title: String,
    #[serde(default)]
    pub(super) summary: String,
    pub(super) trigger: RawTrigger,
}

/// A status word or a list of them (`expect = "ok"`,
/// `until = ["ok", "degraded"]`), each with its span.
#[derive(Debug, Clone, Default)]
pub(super) struct Words(pub(super) Vec<Spanned<String>>);

impl<'de> Deserialize<'de> for Words {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Words;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a status word or an array of them, like \"ok\" or [\"ok\", \"degraded\"]",
                )
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Words, E> {
                // The span of a lone string is filled in by `Words::spanned`.
                Ok(Words(vec![Spanned::new(0..0, s.to_owned())]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Words, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<String>>()? {
                    out.push(item);
                }
                Ok(Words(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl Words {
    /// The words, a lone string taking the span of the whole value.
    pub(super) fn spanned(outer: &Spanned<Words>) -> Vec<Spanned<String>> {
        let span = outer.span();
        outer
            .get_ref()
            .0
            .iter()
            .map(|s| {
                if s.span() == (0..0) {
                    Spanned::new(span.clone(), s.get_ref().clone())
                } else {
                    s.clone()
                }
            })
            .collect()
    }
}

/// Where a replay starts, as written: a journal sequence number or a
/// duration ago (`"10m"`, checked later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RawFrom {
    /// `from = 1234`.
    Seq(i64),
    /// `from = "10m"`.
    Ago(String),
}

impl<'de> Deserialize<'de> for RawFrom {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawFrom;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a journal sequence number or a duration ago, like 1234 or \"10m\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawFrom, E> {
                Ok(RawFrom::Seq(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawFrom, E> {
                Ok(RawFrom::Seq(i64::try_from(v).unwrap_or(-1)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<RawFrom, E> {
                Ok(RawFrom::Ago(s.to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A `[[steps]]` table: every key of every kind; [`super::check`] says
/// which belong to the step's kind.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStep {
    pub(super) id: Spanned<String>,
    pub(super) title: String,
    pub(super) kind: Spanned<String>,
    #[serde(default)]
    pub(super) instructions: String,
    pub(super) dangerous: Option<Spanned<bool>>,
    pub(super) timeout: Option<Spanned<String>>,
    pub(super) on_failure: Option<Spanned<String>>,
    pub(super) goto: Option<Spanned<String>>,
    // Targets (check, wait, maintenance) and relay names.
    pub(super) device: Option<Spanned<String>>,
    pub(super) group: Option<Spanned<String>>,
    pub(super) venue: Option<Spanned<String>>,
    pub(super) feed: Option<Spanned<String>>,
    pub(super) sink: Option<Spanned<String>>,
    // check / wait.
    pub(super) expect: Option<Spanned<Words>>,
    pub(super) until: Option<Spanned<Words>>,
    // relay.
    pub(super) action: Option<Spanned<String>>,
    pub(super) source: Option<Spanned<String>>,
    pub(super) route: Option<Spanned<String>>,
    pub(super) sinks: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) from: Option<Spanned<RawFrom>>,
    // maintenance.
    pub(super) duration: Option<Spanned<String>>,
    pub(super) reason: Option<Spanned<String>>,
    // notify / note / shell.
    pub(super) contact: Option<Spanned<String>>,
    pub(super) text: Option<Spanned<String>>,
    pub(super) argv: Option<Spanned<Vec<Spanned<String>>>>,
}

/// A whole playbook file, as far as it could be read.
#[derive(Debug)]
pub(super) struct RawPlaybook {
    /// The header, when it read without errors.
    pub(super) header: Option<RawHeader>,
    /// The `[[steps]]` tables that read without errors.
    pub(super) steps: Vec<RawStep>,
    /// Where `steps` is (or the file's start when it has none).
    pub(super) steps_span: Range<usize>,
    /// Whether the file has a `steps` key at all.
    pub(super) has_steps: bool,
}

/// Reads a file into its raw types; every error of its tables comes back
/// (a syntax error stops the reading).
pub(super) fn read(src: &SourceFile) -> (Option<RawPlaybook>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let (root, syntax) = DeTable::parse_recoverable(src.text());
    if !syntax.is_empty() {
        diags.extend(syntax.iter().map(|e| src.from_toml(e, None)));
        return (None, diags);
    }
    let root_span = root.span();
    let mut table = root.into_inner();
    let mut book = RawPlaybook {
        header: None,
        steps: Vec::new(),
        steps_span: 0..0,
        has_steps: false,
    };
    if let Some(steps) = table.remove("steps") {
        book.has_steps = true;
        book.steps_span = steps.span();
        let span = steps.span();
        if let DeValue::Array(items) = steps.into_inner() {
            for item in items {
                match RawStep::deserialize(item.into_deserializer()) {
                    Ok(step) => book.steps.push(step),
                    Err(e) => diags.push(src.from_toml(&e, Some("step"))),
                }
            }
        } else {
            diags.push(src.error(
                span,
                "`steps` must be an array of tables",
                "write each step as a [[steps]] table",
            ));
        }
    }
    match RawHeader::deserialize(Spanned::new(root_span, DeValue::Table(table)).into_deserializer())
    {
        Ok(h) => book.header = Some(h),
        Err(e) => diags.push(src.from_toml(&e, Some("playbook"))),
    }
    (Some(book), diags)
}
