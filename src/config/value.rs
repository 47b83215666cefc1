//! Value types shared by the configuration files: durations with units,
//! percentages, and "one or many" references.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use toml::Spanned;

/// A duration written with a unit (`250ms`, `5s`, `1m 30s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string with a unit, like \"5s\" or \"250ms\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Dur, E> {
                parse_duration(s).map(Dur).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// The longest duration a person or a file may write: 30 days. Longer
/// ones are refused where they are read, so that no `Instant + Duration`
/// downstream can overflow the clock.
pub const MAX_DURATION: Duration = Duration::from_secs(30 * 86_400);

/// The range of a poll interval, in the file and on the command line.
pub const POLL_INTERVAL: DurRange = DurRange {
    name: "poll_interval",
    min: Duration::from_millis(100),
    max: Duration::from_secs(3600),
};

/// The range of a timeout, in the file and on the command line.
pub const TIMEOUT: DurRange = DurRange {
    name: "timeout",
    min: Duration::from_millis(10),
    max: Duration::from_secs(60),
};

/// The bounds of a duration setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurRange {
    /// The setting's name, as the file writes it.
    pub name: &'static str,
    /// The shortest allowed.
    pub min: Duration,
    /// The longest allowed.
    pub max: Duration,
}

impl DurRange {
    /// `Ok` within the range, else an error that gives the range.
    pub fn check(&self, d: Duration) -> Result<Duration, String> {
        self.check_named(d, self.name)
    }

    /// As [`DurRange::check`], the error naming the setting `what`
    /// (like `--timeout`).
    pub fn check_named(&self, d: Duration, what: &str) -> Result<Duration, String> {
        if d < self.min || d > self.max {
            return Err(format!(
                "{what} {} is out of range: it must be from {} to {}",
                humantime::format_duration(d),
                humantime::format_duration(self.min),
                humantime::format_duration(self.max)
            ));
        }
        Ok(d)
    }
}

/// Parses a duration with a unit, at most [`MAX_DURATION`], with an error
/// that says how to write one.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let trimmed = s.trim();
    if !trimmed.is_empty() && trimmed.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "invalid duration `{s}`: a number needs a unit, like `{trimmed}s` or `{trimmed}ms`"
        ));
    }
    let d = humantime::parse_duration(trimmed).map_err(|e| {
        format!("invalid duration `{s}` ({e}); write it with a unit, like `250ms`, `5s` or `2m`")
    })?;
    if d > MAX_DURATION {
        return Err(format!("duration `{trimmed}` is too long: at most 30 days"));
    }
    Ok(d)
}

/// A size in bytes written with a unit (`16MiB`, `500 KiB`, `1GB`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(pub u64);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Size;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size string with a unit, like \"16MiB\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Size, E> {
                parse_size(s).map(Size).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// Parses a size with a unit (B, KB, MB, GB, KiB, MiB, GiB), with an
/// error that says how to write one.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let help = "write it with a unit, like `16MiB`, `500KiB` or `1GB`";
    let n: u64 = number
        .parse()
        .map_err(|_| format!("invalid size `{s}`; {help}"))?;
    let factor: u64 = match unit.trim() {
        "B" => 1,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "" => return Err(format!("invalid size `{s}`: a number needs a unit; {help}")),
        other => {
            return Err(format!(
                "invalid size `{s}`: unknown unit `{other}`; {help}"
            ));
        }
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("invalid size `{s}`: too large"))
}

/// A percentage, written as an integer or a float.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percent(pub f64);

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Percent;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a percentage, like 50 or 37.5")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Percent, E> {
                Ok(Percent(v))
            }
            #[allow(clippy::cast_precision_loss)]
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Percent, E> {
                Ok(Percent(v as f64))
            }
            #[allow(clippy::cast_precision_loss)]
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Percent, E> {
                Ok(Percent(v as f64))
            }
        }
        d.deserialize_any(V)
    }
}

/// A reference written as one string or an array of strings
/// (`parent = "x"` or `parent = ["x", "y"]`). Elements keep their spans;
/// a lone string gets the span of the whole value.
#[derive(Debug, Clone, Default)]
pub struct OneOrMany(pub Vec<Spanned<String>>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a device id or an array of device ids")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![Spanned::new(0..0, s.to_owned())]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<String>>()? {
                    out.push(item);
                }
                Ok(OneOrMany(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl OneOrMany {
    /// The references, a lone string taking the span of the whole value.
    pub fn into_spanned(outer: Spanned<OneOrMany>) -> Vec<Spanned<String>> {
        let span = outer.span();
        outer
            .into_inner()
            .0
            .into_iter()
            .map(|s| {
                if s.span() == (0..0) {
                    Spanned::new(span.clone(), s.into_inner())
                } else {
                    s
                }
            })
            .collect()
    }
}

/// `lower-kebab-case`: lower-case letters, digits and inner dashes.
pub fn is_kebab(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.ends_with('-')
        && !s.contains("--")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("5s", Duration::from_secs(5))]
    #[case("250ms", Duration::from_millis(250))]
    #[case("2m", Duration::from_secs(120))]
    #[case("1m 30s", Duration::from_secs(90))]
    #[case("2350ms", Duration::from_millis(2350))]
    #[case("30days", MAX_DURATION)]
    fn durations_parse(#[case] text: &str, #[case] want: Duration) {
        assert_eq!(parse_duration(text), Ok(want));
    }

    #[rstest]
    #[case("16MiB", 16 << 20)]
    #[case("500 KiB", 500 << 10)]
    #[case("1GB", 1_000_000_000)]
    #[case("64B", 64)]
    fn sizes_parse(#[case] text: &str, #[case] want: u64) {
        assert_eq!(parse_size(text), Ok(want));
    }

    #[rstest]
    #[case("16", "needs a unit")]
    #[case("16 parsecs", "unknown unit `parsecs`")]
    #[case("MiB", "invalid size")]
    #[case("99999999999999GiB", "too large")]
    fn bad_sizes_explain(#[case] text: &str, #[case] needle: &str) {
        let err = parse_size(text).expect_err("must fail");
        assert!(err.contains(needle), "{err}");
    }

    #[rstest]
    #[case("5", "needs a unit")]
    #[case("5 parsecs", "write it with a unit")]
    #[case("", "write it with a unit")]
    #[case("-1s", "write it with a unit")]
    #[case("18446744073709551615s", "at most 30 days")]
    #[case("31days", "at most 30 days")]
    #[case("99999999999999999999999s", "write it with a unit")]
    fn bad_durations_explain(#[case] text: &str, #[case] needle: &str) {
        let err = parse_duration(text).expect_err("must fail");
        assert!(err.contains(needle), "{err}");
    }
}
