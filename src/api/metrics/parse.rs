//! Reading the text format back: what a scraper would accept. The tests
//! of `/metrics` check the server's output with it, and a script can
//! check any exporter's.

use std::collections::{BTreeMap, HashSet};

/// One sample line: `name{labels} value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name (with `_bucket`, `_sum`, `_count` for a histogram).
    pub name: String,
    /// Labels in the order written, values unescaped.
    pub labels: Vec<(String, String)>,
    /// Its value.
    pub value: f64,
}

impl Sample {
    /// The value of a label.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A family: its `# TYPE` and `# HELP`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Family {
    /// `counter`, `gauge`, `histogram`, `summary` or `untyped`.
    pub kind: String,
    /// The help text, unescaped.
    pub help: String,
}

/// A parsed exposition.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exposition {
    /// Families by name.
    pub families: BTreeMap<String, Family>,
    /// Every sample, in order.
    pub samples: Vec<Sample>,
}

impl Exposition {
    /// The samples of one metric name.
    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| s.name == name)
    }

    /// The sum of the samples of one name.
    pub fn sum(&self, name: &str) -> f64 {
        self.named(name).map(|s| s.value).sum()
    }
}

fn is_name(s: &str, colon: bool) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || (colon && c == ':'))
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':'))
}

fn value(s: &str) -> Result<f64, String> {
    match s {
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => s.parse().map_err(|_| format!("not a number: {s:?}")),
    }
}

/// The family a sample name belongs to, given the families seen.
fn family_of<'a>(name: &'a str, families: &BTreeMap<String, Family>) -> Option<&'a str> {
    if families.contains_key(name) {
        return Some(name);
    }
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix)
            && families.get(base).is_some_and(|f| {
                f.kind == "histogram" || (f.kind == "summary" && suffix != "_bucket")
            })
        {
            return Some(base);
        }
    }
    None
}

/// Label names and values, in order.
type Labels = Vec<(String, String)>;

/// `{a="1",b="x\"y"}` and the rest of the line after it.
fn labels(s: &str) -> Result<(Labels, &str), String> {
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((out, after));
        }
        let eq = rest.find('=').ok_or("a label without `=`")?;
        let key = rest[..eq].trim();
        if !is_name(key, false) {
            return Err(format!("bad label name {key:?}"));
        }
        rest = rest[eq + 1..]
            .strip_prefix('"')
            .ok_or("a label value not in quotes")?;
        let mut val = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err("an unterminated label value".to_owned()),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => val.push('\\'),
                    Some((_, '"')) => val.push('"'),
                    Some((_, 'n')) => val.push('\n'),
                    other => return Err(format!("bad escape {other:?} in a label value")),
                },
                Some((_, '\n')) => return Err("a raw newline in a label value".to_owned()),
                Some((_, c)) => val.push(c),
            }
        };
        if out.iter().any(|(k, _)| k == key) {
            return Err(format!("label {key} twice"));
        }
        out.push((key.to_owned(), val));
        rest = rest[end + 1..].trim_start();
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
        } else if !rest.starts_with('}') {
            return Err("labels not separated by `,`".to_owned());
        }
    }
}

/// Parses the text format 0.0.4 strictly: every sample's family has one
/// `# HELP` and one `# TYPE`, both before its samples; a family's samples
/// are together; no sample (name and labels) is written twice; a
/// histogram's buckets end with `le="+Inf"` equal to its `_count`.
pub fn parse(text: &str) -> Result<Exposition, String> {
    let mut p = Parser::default();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let read = match line.strip_prefix('#') {
            Some(comment) => p.comment(comment),
            None => p.sample(line),
        };
        read.map_err(|e| format!("line {}: {e}: {line:?}", n + 1))?;
    }
    check_histograms(&p.exp)?;
    Ok(p.exp)
}

/// What the parser has read so far.
#[derive(Debug, Default)]
struct Parser {
    exp: Exposition,
    /// Families with a `# HELP`.
    helps: HashSet<String>,
    /// Families whose lines are over.
    done: HashSet<String>,
    /// The family whose lines these are.
    current: Option<String>,
    /// Samples written, by name and sorted labels.
    seen: HashSet<(String, Vec<String>)>,
}

impl Parser {
    /// A `#` line: `HELP` or `TYPE`, any other comment skipped.
    fn comment(&mut self, comment: &str) -> Result<(), String> {
        let mut words = comment.trim_start().splitn(3, ' ');
        let (kw, name, rest) = (words.next(), words.next(), words.next().unwrap_or(""));
        let (Some(kw @ ("HELP" | "TYPE")), Some(name)) = (kw, name) else {
            return Ok(());
        };
        if !is_name(name, true) {
            return Err(format!("bad metric name {name:?}"));
        }
        if self.current.as_deref() != Some(name) {
            if let Some(prev) = self.current.take() {
                self.done.insert(prev);
            }
            if self.done.contains(name) {
                return Err(format!("{name} again after other families"));
            }
            self.current = Some(name.to_owned());
        }
        let exp = &mut self.exp;
        if exp
            .samples
            .last()
            .is_some_and(|s| family_of(&s.name, &exp.families) == Some(name))
        {
            return Err(format!("{kw} of {name} after its samples"));
        }
        let family = exp
            .families
            .entry(name.to_owned())
            .or_insert_with(|| Family {
                kind: String::new(),
                help: String::new(),
            });
        if kw == "HELP" {
            if !self.helps.insert(name.to_owned()) {
                return Err(format!("HELP of {name} twice"));
            }
            family.help = rest.replace("\\n", "\n").replace("\\\\", "\\");
        } else {
            if !matches!(
                rest,
                "counter" | "gauge" | "histogram" | "summary" | "untyped"
            ) {
                return Err(format!("unknown type {rest:?}"));
            }
            if !family.kind.is_empty() {
                return Err(format!("TYPE of {name} twice"));
            }
            rest.clone_into(&mut family.kind);
        }
        Ok(())
    }

    /// A sample line.
    fn sample(&mut self, line: &str) -> Result<(), String> {
        let name_end = line.find(['{', ' ']).ok_or("a sample without a value")?;
        let name = &line[..name_end];
        if !is_name(name, true) {
            return Err(format!("bad metric name {name:?}"));
        }
        let (labels, rest) = match line[name_end..].strip_prefix('{') {
            Some(after) => labels(after)?,
            None => (Vec::new(), &line[name_end..]),
        };
        let mut fields = rest.split_whitespace();
        let v = value(fields.next().ok_or("no value")?)?;
        if let Some(ts) = fields.next() {
            ts.parse::<i64>()
                .map_err(|_| format!("bad timestamp {ts:?}"))?;
        }
        if fields.next().is_some() {
            return Err("more after the timestamp".to_owned());
        }
        let Some(family) = family_of(name, &self.exp.families) else {
            return Err(format!("{name} has no # TYPE before it"));
        };
        if self.current.as_deref() != Some(family) {
            return Err(format!("{name} apart from its family's lines"));
        }
        if !self.helps.contains(family)
            || self
                .exp
                .families
                .get(family)
                .is_some_and(|f| f.kind.is_empty())
        {
            return Err(format!("{family} lacks # HELP or # TYPE"));
        }
        let mut key: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        key.sort();
        if !self.seen.insert((name.to_owned(), key)) {
            return Err(format!("{name} with these labels twice"));
        }
        self.exp.samples.push(Sample {
            name: name.to_owned(),
            labels,
            value: v,
        });
        Ok(())
    }
}

/// Each histogram's buckets ascend and its `+Inf` bucket is its count.
fn check_histograms(exp: &Exposition) -> Result<(), String> {
    for (name, f) in &exp.families {
        if f.kind != "histogram" {
            continue;
        }
        let bucket = format!("{name}_bucket");
        let mut last = (f64::NEG_INFINITY, 0.0);
        let mut inf = None;
        for s in exp.named(&bucket) {
            let le = value(s.label("le").ok_or(format!("{bucket} without le"))?)?;
            if le <= last.0 || s.value < last.1 {
                return Err(format!("{bucket} does not ascend at le={le}"));
            }
            last = (le, s.value);
            if le.is_infinite() {
                inf = Some(s.value);
            }
        }
        let count = exp.named(&format!("{name}_count")).map(|s| s.value).next();
        if inf.is_none() || inf != count {
            return Err(format!(
                "{name}: +Inf bucket {inf:?} is not _count {count:?}"
            ));
        }
    }
    Ok(())
}
