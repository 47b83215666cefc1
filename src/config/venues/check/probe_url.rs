//! Validation of a device's `probe` URL into a [`ProbeTarget`]:
//! `snmp://`, `http(s)://` or `tcp://`.

use toml::Spanned;

use crate::config::venues::cx::Cx;
use crate::config::venues::model::ProbeTarget;

/// The longest probe URL: 8 KiB. HTTP clients refuse a URL over 64 KiB
/// (and servers one far shorter), which would show the device DOWN at run
/// time for what is a mistake in the file.
pub const MAX_URL: usize = 8 << 10;

impl Cx<'_> {
    /// Parses a probe URL; reports and returns `None` when it is unusable.
    pub(super) fn parse_probe(&mut self, probe: &Spanned<String>, id: &str) -> Option<ProbeTarget> {
        let text = probe.get_ref();
        let span = probe.span();
        if text.len() > MAX_URL {
            self.error(
                span,
                format!(
                    "probe URL of `{id}` is {} bytes long: at most 8 KiB",
                    crate::config::diag::thousands(text.len())
                ),
                "write the device's address and health path; a probe URL carries no data",
            );
            return None;
        }
        let url = match url::Url::parse(text) {
            Ok(u) => u,
            Err(e) => {
                self.error(
                    span,
                    format!("probe URL `{text}` of `{id}` is not a URL ({e})"),
                    "write it as snmp://host[:port], http(s)://host[:port]/path or tcp://host:port",
                );
                return None;
            }
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .map(|h| h.trim_matches(['[', ']']).to_owned());
        let Some(host) = host else {
            self.error(
                span,
                format!("probe URL `{text}` of `{id}` has no host"),
                "write the device's address after the scheme, e.g. snmp://10.1.2.3",
            );
            return None;
        };
        match url.scheme() {
            "snmp" => {
                if !matches!(url.path(), "" | "/") || url.query().is_some() {
                    self.error(
                        span,
                        format!("snmp probe URL `{text}` of `{id}` has a path or query"),
                        "write snmp://host[:port]; select a device behind a shared agent with `context`",
                    );
                    return None;
                }
                Some(ProbeTarget::Snmp {
                    host,
                    port: url.port().unwrap_or(161),
                })
            }
            "http" | "https" if url.as_str().len() > MAX_URL => {
                self.error(
                    span,
                    format!(
                        "probe URL of `{id}` is {} bytes long once encoded: at most 8 KiB",
                        crate::config::diag::thousands(url.as_str().len())
                    ),
                    "write the device's address and health path; a probe URL carries no data",
                );
                None
            }
            "http" | "https" => Some(ProbeTarget::Http {
                url: url.to_string(),
            }),
            "tcp" => match url.port() {
                Some(port) if port != 0 => Some(ProbeTarget::Tcp { host, port }),
                _ => {
                    self.error(
                        span,
                        format!("tcp probe URL `{text}` of `{id}` has no port"),
                        "write tcp://host:port",
                    );
                    None
                }
            },
            other => {
                self.error(
                    span,
                    format!("unsupported probe scheme `{other}` in `{text}` (device `{id}`)"),
                    "use snmp://, http://, https:// or tcp://",
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use toml::Spanned;

    use super::*;
    use crate::config::diag::SourceFile;

    fn parse(text: &str) -> (Option<ProbeTarget>, Vec<String>) {
        let src = SourceFile::new("venues.toml", String::new());
        let mut cx = Cx::new(&src);
        let got = cx.parse_probe(&Spanned::new(0..0, text.to_owned()), "dev");
        (got, cx.diags.into_iter().map(|d| d.message).collect())
    }

    #[rstest]
    #[case("snmp://10.0.0.1", ProbeTarget::Snmp { host: "10.0.0.1".into(), port: 161 })]
    #[case("snmp://[::1]:1161", ProbeTarget::Snmp { host: "::1".into(), port: 1161 })]
    #[case("tcp://ovr:4000", ProbeTarget::Tcp { host: "ovr".into(), port: 4000 })]
    #[case("https://ovr/health", ProbeTarget::Http { url: "https://ovr/health".into() })]
    fn good_urls_become_targets(#[case] text: &str, #[case] want: ProbeTarget) {
        assert_eq!(parse(text), (Some(want), vec![]));
    }

    /// What is shown of a target is a URL that reads back as the same
    /// target: an IPv6 address keeps its brackets.
    #[rstest]
    #[case("snmp://[::1]:25500", "snmp://[::1]:25500")]
    #[case("snmp://[fe80::1]", "snmp://[fe80::1]:161")]
    #[case("snmp://10.0.0.1", "snmp://10.0.0.1:161")]
    #[case("snmp://core.sta:1161", "snmp://core.sta:1161")]
    #[case("tcp://[2001:db8::5]:4000", "tcp://[2001:db8::5]:4000")]
    #[case("http://[::1]:8080/health", "http://[::1]:8080/health")]
    fn targets_show_as_urls_that_read_back(#[case] text: &str, #[case] shown: &str) {
        let (target, diags) = parse(text);
        assert_eq!(diags, Vec::<String>::new());
        let target = target.expect("valid");
        assert_eq!(target.url(), shown);
        assert_eq!(parse(shown).0, Some(target));
    }

    #[rstest]
    #[case("10.0.0.1", "is not a URL")]
    #[case("snmp://10.0.0.1/x", "has a path or query")]
    #[case("tcp://ovr", "has no port")]
    #[case("ftp://ovr", "unsupported probe scheme `ftp`")]
    fn bad_urls_are_reported(#[case] text: &str, #[case] needle: &str) {
        let (got, diags) = parse(text);
        assert_eq!(got, None);
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(diags.iter().all(|m| m.contains(needle)), "{diags:?}");
    }
}
