//! Validation of `[api]`: the listen address, the Unix socket, the TLS
//! files (both or neither), how many consoles and how many updates a
//! second.

use std::net::SocketAddr;
use std::path::PathBuf;

use toml::Spanned;

use crate::config::venues::cx::{Cx, first_span};
use crate::config::venues::model::{Api, ApiTls};
use crate::config::venues::raw::RawApi;

/// `max_consoles` bounds.
const MAX_CONSOLES: std::ops::RangeInclusive<i64> = 1..=100_000;
/// `updates_per_second` bounds.
const UPDATES: std::ops::RangeInclusive<i64> = 1..=20;

impl Cx<'_> {
    /// Checks `[api]`; the defaults when the file has none (or for a key
    /// with an error, which is reported).
    pub(super) fn validate_api(&mut self, raw: Option<&RawApi>) -> Api {
        let mut api = Api::default();
        let Some(raw) = raw else {
            return api;
        };
        if let Some(v) = &raw.listen {
            match v.get_ref().parse::<SocketAddr>() {
                Ok(addr) => api.listen = addr,
                Err(_) => self.error(
                    v.span(),
                    format!("listen `{}` is not an address and port", v.get_ref()),
                    "write an IP address and a port, e.g. \"127.0.0.1:7470\" (port 0: any free port)",
                ),
            }
        }
        api.socket = raw.socket.as_ref().and_then(|v| self.api_path(v, "socket"));
        match (&raw.tls_cert, &raw.tls_key) {
            (Some(cert), Some(key)) => {
                if let (Some(cert), Some(key)) = (
                    self.api_path(cert, "tls_cert"),
                    self.api_path(key, "tls_key"),
                ) {
                    api.tls = Some(ApiTls { cert, key });
                }
            }
            (None, None) => {}
            _ => {
                let span = first_span(&[&raw.tls_cert, &raw.tls_key], 0..0);
                self.error(
                    span,
                    "`tls_cert` and `tls_key` go together",
                    "give both PEM files (the certificate chain and its key), or neither for plain HTTP",
                );
            }
        }
        if let Some(v) = &raw.max_consoles
            && let Some(n) = self.int_range(
                v,
                MAX_CONSOLES,
                "max_consoles",
                "write how many consoles may be connected at once, e.g. 200",
            )
        {
            api.max_consoles = usize::try_from(n).unwrap_or(Api::DEFAULT_MAX_CONSOLES);
        }
        if let Some(v) = &raw.updates_per_second
            && let Some(n) = self.int_range(
                v,
                UPDATES,
                "updates_per_second",
                "write how many snapshot updates a second each console gets, e.g. 4",
            )
        {
            api.updates_per_second = u32::try_from(n).unwrap_or(Api::DEFAULT_UPDATES_PER_SECOND);
        }
        api
    }

    /// A path of `[api]`, resolved against the file's folder.
    fn api_path(&mut self, v: &Spanned<String>, key: &str) -> Option<PathBuf> {
        let text = v.get_ref();
        if text.trim().is_empty() {
            self.error(
                v.span(),
                format!("`{key}` is empty"),
                "write a path, relative to the folder of this file or absolute",
            );
            return None;
        }
        let path = PathBuf::from(text);
        if path.is_relative() {
            Some(
                self.src
                    .path()
                    .parent()
                    .map_or(path.clone(), |p| p.join(&path)),
            )
        } else {
            Some(path)
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::venues::Api;
    use crate::config::{Inventory, SourceFile};

    const BASE: &str = "[event]\nname = \"t\"\n\n[profiles.v2]\nversion = \"v2c\"\ncommunity = \"c\"\n\n\
        [[venues]]\ncode = \"TT\"\nname = \"T\"\ncity = \"T\"\n\n\
        [[venues.devices]]\nid = \"TT-a\"\nrole = \"r\"\nprobe = \"snmp://127.0.0.1:16101\"\nprofile = \"v2\"\n";

    fn parse(api: &str) -> Result<Inventory, Vec<String>> {
        let text = format!("{BASE}\n{api}");
        let src = SourceFile::new("/etc/toc/venues.toml", text);
        Inventory::parse(&src).map(|(inv, _)| inv).map_err(|d| {
            d.iter()
                .map(|d| format!("{}:{} {}", d.line, d.column, d.message))
                .collect()
        })
    }

    #[test]
    fn absent_is_loopback_on_the_default_port() {
        let inv = parse("").expect("valid");
        assert_eq!(inv.api, Api::default());
        assert_eq!(inv.api.listen.to_string(), "127.0.0.1:7470");
    }

    #[test]
    fn every_key_reads_and_paths_resolve_against_the_folder() {
        let inv = parse(
            "[api]\nlisten = \"0.0.0.0:0\"\nsocket = \"toc-data/toc.sock\"\ntls_cert = \"c.pem\"\n\
             tls_key = \"/k.pem\"\nmax_consoles = 10\nupdates_per_second = 20\n",
        )
        .expect("valid");
        assert_eq!(inv.api.listen.to_string(), "0.0.0.0:0");
        assert_eq!(
            inv.api.socket.as_deref(),
            Some(std::path::Path::new("/etc/toc/toc-data/toc.sock"))
        );
        let tls = inv.api.tls.expect("tls");
        assert_eq!(tls.cert, std::path::Path::new("/etc/toc/c.pem"));
        assert_eq!(tls.key, std::path::Path::new("/k.pem"));
        assert_eq!(inv.api.max_consoles, 10);
        assert_eq!(inv.api.updates_per_second, 20);
        assert!(Api::default().summary().contains("http://127.0.0.1:7470"));
    }

    #[test]
    fn errors_name_line_and_column() {
        let errs = parse(
            "[api]\nlisten = \"nowhere\"\ntls_cert = \"c.pem\"\nupdates_per_second = 21\nmax_consoles = 0\n",
        )
        .expect_err("invalid");
        let all = errs.join("\n");
        assert!(all.contains("listen `nowhere` is not an address"), "{all}");
        assert!(
            all.contains("`tls_cert` and `tls_key` go together"),
            "{all}"
        );
        assert!(all.contains("updates_per_second is 21"), "{all}");
        assert!(all.contains("max_consoles is 0"), "{all}");
        let errs = parse("[api]\nport = 1\n").expect_err("unknown key");
        assert!(errs.join("\n").contains("port"), "{errs:?}");
        // Lines are those of the file (the [api] table starts after BASE).
        let base_lines = i64::try_from(BASE.lines().count()).expect("lines");
        let first: i64 = errs[0].split(':').next().expect("line").parse().expect("n");
        assert!(first > base_lines, "{errs:?}");
    }
}
