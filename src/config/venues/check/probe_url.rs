//! Validation of a device's `probe` URL into a [`ProbeTarget`]:
//! `snmp://`, `http(s)://` or `tcp://`.

use toml::Spanned;

use crate::config::venues::cx::Cx;
use crate::config::venues::model::ProbeTarget;

impl Cx<'_> {
    /// Parses a probe URL; reports and returns `None` when it is unusable.
    pub(super) fn parse_probe(&mut self, probe: &Spanned<String>, id: &str) -> Option<ProbeTarget> {
        let text = probe.get_ref();
        let span = probe.span();
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
