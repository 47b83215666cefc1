//! Text for people: strings that came from a device made safe for a
//! terminal ([`printable`]), sizes as people read them ([`size`],
//! [`used_of`]), and ids matched the way people type them ([`find_id`]).
//! `toc probe` and the console both use these, so a technician and an
//! operator read the same thing.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must not reach a terminal as it is: C0 controls (NUL, CR,
/// LF, TAB, ESC, …), DEL, C1 controls (U+0080–U+009F, CSI among them) and
/// the Unicode controls that reorder what is shown (bidi embeddings,
/// overrides and isolates).
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` as it may be shown on a terminal: every control character written
/// as an escape (`\0`, `\r`, `\n`, `\t`, `\x1b`, `\x7f`, `\u{9b}`, …), so
/// a sysName, an ifDescr, an HTTP body or a reason cannot move the cursor,
/// clear the screen or hide text. Borrowed when there is nothing to
/// escape. A backslash is left as it is (Windows names and paths read as
/// they are).
pub fn printable(s: &str) -> Cow<'_, str> {
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\0' => out.push_str("\\0"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x80 && unsafe_char(c) => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if unsafe_char(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `text` with the credentials of every URL in it hidden: the password
/// of `scheme://user:password@host` becomes `***` (`user:***@host`), and a
/// user without a password, often a token, goes whole (`***@host`).
/// Borrowed when there is nothing to hide. URLs are shown in `toc probe`,
/// the console's device pane, reasons and the log; the file that holds
/// the credentials is the only place they are read.
pub fn redact_urls(text: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut done = 0;
    let mut search = 0;
    while let Some(found) = text.get(search..).and_then(|rest| rest.find("://")) {
        let start = search + found + 3;
        let rest = text.get(start..).unwrap_or_default();
        let len = rest
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '"' | '\'' | ')' | '>') || c.is_whitespace()
            })
            .unwrap_or(rest.len());
        let authority = rest.get(..len).unwrap_or_default();
        search = start + len;
        let Some(at) = authority.rfind('@') else {
            continue;
        };
        let userinfo = authority.get(..at).unwrap_or_default();
        out.push_str(text.get(done..start).unwrap_or_default());
        match userinfo.split_once(':') {
            Some((user, _)) => {
                out.push_str(user);
                out.push_str(":***");
            }
            None => out.push_str("***"),
        }
        done = start + at;
    }
    if done == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(text.get(done..).unwrap_or_default());
    Cow::Owned(out)
}

/// `s` without the NULs a device may end a string with (a Windows agent's
/// ifDescr is `MS TCP Loopback interface\0`): what a name is matched on.
pub fn trim_nul(s: &str) -> &str {
    s.trim_end_matches('\0')
}

/// Binary units, each 1024 times the one before.
const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];

/// The unit `bytes` reads best in: the largest with a value of at least 1.
fn unit_of(bytes: u64) -> usize {
    let mut unit = 0;
    let mut n = bytes;
    while n >= 1024 && unit + 1 < UNITS.len() {
        n /= 1024;
        unit += 1;
    }
    unit
}

/// `bytes` in `unit`, one decimal (bytes whole).
#[allow(clippy::cast_precision_loss)]
fn in_unit(bytes: u64, unit: usize) -> String {
    if unit == 0 {
        return bytes.to_string();
    }
    let scale = (1_u64 << (10 * unit)) as f64;
    format!("{:.1}", bytes as f64 / scale)
}

/// A size as people read it: `512 B`, `3.5 KiB`, `812.0 MiB`, `15.5 GiB`.
pub fn size(bytes: u64) -> String {
    let unit = unit_of(bytes);
    format!("{} {}", in_unit(bytes, unit), UNITS[unit])
}

/// A part of a whole in the whole's unit: `6.6 of 16.0 GiB`.
pub fn used_of(used: u64, total: u64) -> String {
    let unit = unit_of(total);
    format!(
        "{} of {} {}",
        in_unit(used, unit),
        in_unit(total, unit),
        UNITS[unit]
    )
}

/// The position of `wanted` among `ids`, as a person types it: the id
/// written exactly, else the first one equal ignoring ASCII case
/// (`sta-core-a` finds `STA-core-a`). The console's `:venue`, `:fault`
/// and Enter on an incident, and `toc probe DEVICE`, all match this way.
pub fn find_id<'a, I>(ids: I, wanted: &str) -> Option<usize>
where
    I: IntoIterator<Item = &'a str>,
    I::IntoIter: Clone,
{
    let ids = ids.into_iter();
    ids.clone()
        .position(|id| id == wanted)
        .or_else(|| ids.clone().position(|id| id.eq_ignore_ascii_case(wanted)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("STA-core-a", "STA-core-a")]
    #[case("Stade de France · tribune", "Stade de France · tribune")]
    #[case("C:\\Windows", "C:\\Windows")]
    #[case("rtr\u{1b}[2J", "rtr\\x1b[2J")]
    #[case("a\rb", "a\\rb")]
    #[case("a\nb\tc", "a\\nb\\tc")]
    #[case("MS TCP Loopback interface\0", "MS TCP Loopback interface\\0")]
    #[case("del\u{7f}", "del\\x7f")]
    #[case("bell\u{7}", "bell\\x07")]
    #[case("csi\u{9b}2J", "csi\\u{9b}2J")]
    #[case("nel\u{85}", "nel\\u{85}")]
    #[case("evil\u{202e}txt.exe", "evil\\u{202e}txt.exe")]
    fn device_text_is_shown_escaped(#[case] raw: &str, #[case] shown: &str) {
        assert_eq!(printable(raw), shown);
        assert!(!printable(raw).chars().any(unsafe_char), "{shown}");
    }

    #[rstest]
    #[case("http://user:pass@10.0.0.1/health", "http://user:***@10.0.0.1/health")]
    #[case("https://tok3n@h:8443", "https://***@h:8443")]
    #[case(
        "CLI-web (http://a:b@h/x?u=c:d@e)",
        "CLI-web (http://a:***@h/x?u=c:d@e)"
    )]
    #[case(
        "get http://a:p@x/ then https://b:q@y/",
        "get http://a:***@x/ then https://b:***@y/"
    )]
    #[case("http://a:p@ss@h/", "http://a:***@h/")]
    #[case("http://h:80/path@x", "http://h:80/path@x")]
    #[case("snmp://10.1.2.3:161", "snmp://10.1.2.3:161")]
    #[case("no url: a:b@c", "no url: a:b@c")]
    #[case("http://", "http://")]
    fn url_credentials_are_never_shown(#[case] raw: &str, #[case] shown: &str) {
        assert_eq!(redact_urls(raw), shown);
    }

    #[test]
    fn clean_text_is_borrowed() {
        assert!(matches!(
            printable("Gi0/1 down (admin up)"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(printable("x\u{1b}"), Cow::Owned(_)));
    }

    #[test]
    fn trailing_nuls_are_trimmed_for_matching_only() {
        assert_eq!(
            trim_nul("MS TCP Loopback interface\0"),
            "MS TCP Loopback interface"
        );
        assert_eq!(trim_nul("a\0\0"), "a");
        assert_eq!(trim_nul("a\0b"), "a\0b");
    }

    #[rstest]
    #[case(0, "0 B")]
    #[case(512, "512 B")]
    #[case(3584, "3.5 KiB")]
    #[case(812 << 20, "812.0 MiB")]
    #[case(16 << 30, "16.0 GiB")]
    #[case(3 << 40, "3.0 TiB")]
    #[case(5000 << 40, "5000.0 TiB")]
    fn sizes_read_like_people_write_them(#[case] bytes: u64, #[case] shown: &str) {
        assert_eq!(size(bytes), shown);
    }

    #[test]
    fn a_part_is_in_the_unit_of_its_whole() {
        assert_eq!(used_of(7_086_696_038, 16 << 30), "6.6 of 16.0 GiB");
        assert_eq!(used_of(300 << 20, 900 << 20), "300.0 of 900.0 MiB");
    }

    #[test]
    fn ids_match_exactly_first_then_ignoring_case() {
        let ids = ["STA-core-a", "sta-core-A", "PDP-fw"];
        assert_eq!(find_id(ids, "sta-core-A"), Some(1));
        assert_eq!(find_id(ids, "STA-CORE-A"), Some(0));
        assert_eq!(find_id(ids, "pdp-FW"), Some(2));
        assert_eq!(find_id(ids, "STA-core"), None);
    }
}
