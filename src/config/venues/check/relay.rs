//! Validation of `[relay]`: the listen address, sizes, sources (device
//! ids that are a feed's results servers, or free names, each with its own
//! token variable), sinks (one key per kind, a consumer class with an SLO)
//! and routes (known sinks, feeds and sources).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use toml::Spanned;

use super::Build;
use super::profiles::is_env_name;
use crate::config::value::Size;
use crate::config::venues::cx::{Cx, or_none};
use crate::config::venues::model::{Relay, RelayRoute, RelaySink, RelaySource, SinkKind};
use crate::config::venues::raw::{
    RawRelay, RawRelayHeader, RawRelayRoute, RawRelaySink, RawRelaySource,
};

/// `listen` when the file gives none.
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:8650";
/// `max_message` when the file gives none: 64 MiB.
pub(crate) const DEFAULT_MAX_MESSAGE: u64 = 64 << 20;
/// `segment_size` when the file gives none: 64 MiB.
pub(crate) const DEFAULT_SEGMENT: u64 = 64 << 20;
/// `max_message` bounds: 1 KiB to 1 GiB.
const MAX_MESSAGE: (u64, u64) = (1 << 10, 1 << 30);
/// `segment_size` bounds: 1 MiB to 4 GiB.
const SEGMENT: (u64, u64) = (1 << 20, 4 << 30);
/// The sink kinds and the key each takes.
const SINK_KINDS: [(&str, &str); 3] = [("http", "url"), ("tcp", "listen"), ("file", "dir")];

/// Whether `s` is a discipline code: three uppercase ASCII letters.
fn is_discipline(s: &str) -> bool {
    s.len() == 3 && s.chars().all(|c| c.is_ascii_uppercase())
}

/// Whether `s` looks like an ODF `DocumentType`: `DT_` then uppercase
/// letters, digits and `_`.
fn is_document_type(s: &str) -> bool {
    s.strip_prefix("DT_").is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    })
}

/// What route checks need to know of the relay's sources and sinks.
struct Known<'a> {
    sinks: HashMap<&'a str, usize>,
    sources: Vec<&'a str>,
}

impl Cx<'_> {
    /// Checks `[relay]`; `None` when its keys could not be read.
    pub(super) fn validate_relay(
        &mut self,
        raw: &RawRelay,
        b: &mut Build,
        slo: Option<&BTreeMap<String, Duration>>,
    ) -> Option<Relay> {
        let header = raw.header.as_ref();
        let listen = header.map_or_else(default_listen, |h| self.relay_listen(h));
        let size = |cx: &mut Self, v: Option<&Spanned<Size>>, default, (lo, hi), name, hint| {
            let Some(v) = v else { return default };
            let n = v.get_ref().0;
            if (lo..=hi).contains(&n) {
                return n;
            }
            cx.error(
                v.span(),
                format!("{name} must be from {} to {}", human(lo), human(hi)),
                hint,
            );
            default
        };
        let max_message = size(
            self,
            header.and_then(|h| h.max_message.as_ref()),
            DEFAULT_MAX_MESSAGE,
            MAX_MESSAGE,
            "max_message",
            "write e.g. `64MiB`: ODF messages of tens of MB exist",
        );
        let segment_size = size(
            self,
            header.and_then(|h| h.segment_size.as_ref()),
            DEFAULT_SEGMENT,
            SEGMENT,
            "segment_size",
            "write e.g. `64MiB`",
        );
        let sources = self.relay_sources(raw, b);
        let sinks = self.relay_sinks(raw, b, slo);
        let known = Known {
            sinks: raw
                .sinks
                .iter()
                .enumerate()
                .map(|(i, s)| (s.id.get_ref().as_str(), i))
                .collect(),
            sources: raw
                .sources
                .iter()
                .map(|s| s.id.get_ref().as_str())
                .collect(),
        };
        let routes = self.relay_routes(raw, b, &known);
        let header = header?;
        Some(Relay {
            listen: listen?,
            max_message,
            fsync: header.fsync.unwrap_or(true),
            segment_size,
            sources,
            sinks,
            routes,
        })
    }

    /// `listen`: a socket address; a warning when it is not loopback.
    fn relay_listen(&mut self, h: &RawRelayHeader) -> Option<SocketAddr> {
        let Some(v) = &h.listen else {
            return default_listen();
        };
        let Ok(addr) = v.get_ref().parse::<SocketAddr>() else {
            self.error(
                v.span(),
                format!("listen `{}` is not an address and port", v.get_ref()),
                "write an IP address and a port, e.g. \"127.0.0.1:8650\" or \"[::1]:8650\"",
            );
            return None;
        };
        if !addr.ip().is_loopback() {
            self.warning(
                v.span(),
                format!("the relay listens on {addr}: it accepts results from the network; tokens are its only guard"),
                "keep \"127.0.0.1:8650\" unless results servers post from other machines",
            );
        }
        Some(addr)
    }

    /// `[[relay.sources]]`: ids, device and feed, token variables.
    fn relay_sources(&mut self, raw: &RawRelay, b: &mut Build) -> Vec<RelaySource> {
        if raw.sources.is_empty() && !raw.broken_entries {
            self.error(
                raw.span.clone(),
                "[relay] has no sources",
                "add a [[relay.sources]] table with id and token_env for each results server",
            );
        }
        let mut vars: HashMap<&str, Range<usize>> = HashMap::new();
        let mut out = Vec::new();
        for s in &raw.sources {
            let var = s.token_env.get_ref();
            if !is_env_name(var) {
                self.error(
                    s.token_env.span(),
                    format!("token_env `{var}` is not an environment variable name"),
                    "name the variable that holds the token (letters, digits, `_`), not the token itself",
                );
            } else if let Some(first) = vars.get(var.as_str()) {
                let (line, _) = self.src.position(first.start);
                self.error(
                    s.token_env.span(),
                    format!(
                        "token_env `{var}` is already the token of another source (line {line})"
                    ),
                    "give each source its own token variable, so one leaked token opens one source",
                );
            } else {
                vars.insert(var, s.token_env.span());
            }
            if let Some(src) = self.relay_source(s, b) {
                out.push(src);
            }
        }
        out
    }

    /// One source: a device id must be a feed's primary or backup.
    fn relay_source(&mut self, s: &RawRelaySource, b: &mut Build) -> Option<RelaySource> {
        if !self.claim_id(b, "relay source", &s.id) {
            return None;
        }
        let id = s.id.get_ref();
        let device = b.device_idx.get(id).copied();
        let feed =
            device.and_then(|d| b.feeds.iter().position(|f| f.primary == d || f.backup == d));
        if device.is_some() && feed.is_none() {
            let sources: Vec<&str> = b
                .feeds
                .iter()
                .flat_map(|f| [f.primary, f.backup])
                .filter_map(|d| b.devices.get(d.0).map(|d| d.id.as_str()))
                .collect();
            self.error(
                s.id.span(),
                format!("relay source `{id}` is a device but not the primary or backup of any feed"),
                format!(
                    "name a feed's primary or backup (here: {}), or use a name that is not a device id",
                    or_none(&sources)
                ),
            );
            return None;
        }
        Some(RelaySource {
            id: id.clone(),
            token_env: s.token_env.get_ref().clone(),
            device,
            feed,
        })
    }

    /// `[[relay.sinks]]`.
    fn relay_sinks(
        &mut self,
        raw: &RawRelay,
        b: &mut Build,
        slo: Option<&BTreeMap<String, Duration>>,
    ) -> Vec<RelaySink> {
        if raw.sinks.is_empty() && !raw.broken_entries {
            self.error(
                raw.span.clone(),
                "[relay] has no sinks",
                "add a [[relay.sinks]] table (kind http, tcp or file) for each consumer",
            );
        }
        raw.sinks
            .iter()
            .filter_map(|s| self.relay_sink(s, b, slo))
            .collect()
    }

    /// One sink: its kind's key, no other kind's, a consumer with an SLO.
    fn relay_sink(
        &mut self,
        s: &RawRelaySink,
        b: &mut Build,
        slo: Option<&BTreeMap<String, Duration>>,
    ) -> Option<RelaySink> {
        let claimed = self.claim_id(b, "relay sink", &s.id);
        let id = s.id.get_ref();
        let kind = s.kind.get_ref().as_str();
        let Some((_, own)) = SINK_KINDS.iter().find(|(k, _)| *k == kind) else {
            self.error(
                s.kind.span(),
                format!("sink `{id}` has unknown kind `{kind}`"),
                "kind is one of: http (with url), tcp (with listen), file (with dir)",
            );
            return None;
        };
        for (other_kind, key) in SINK_KINDS {
            let value = match key {
                "url" => &s.url,
                "listen" => &s.listen,
                _ => &s.dir,
            };
            if key != *own
                && let Some(v) = value
            {
                self.error(
                    v.span(),
                    format!("`{key}` is for {other_kind} sinks; sink `{id}` is of kind {kind}"),
                    format!("a {kind} sink takes `{own}`; remove `{key}`"),
                );
            }
        }
        let kind = self.sink_kind(s, kind, own);
        let consumer = s.consumer.get_ref();
        let found = slo.map(|slo| slo.get(consumer).copied());
        if let Some(None) = found {
            let names: Vec<&str> =
                slo.map_or(Vec::new(), |m| m.keys().map(String::as_str).collect());
            self.error(
                s.consumer.span(),
                format!("sink `{id}` names consumer class `{consumer}`, which has no SLO"),
                format!(
                    "name a key of [event.slo] (defined: {}), or add {consumer} = \"...\" there",
                    or_none(&names)
                ),
            );
        }
        if !claimed {
            return None;
        }
        Some(RelaySink {
            id: id.clone(),
            kind: kind?,
            consumer: consumer.clone(),
            slo: found.flatten().unwrap_or_default(),
        })
    }

    /// The kind's own key, present and valid.
    fn sink_kind(&mut self, s: &RawRelaySink, kind: &str, own: &str) -> Option<SinkKind> {
        let id = s.id.get_ref();
        let value = match own {
            "url" => &s.url,
            "listen" => &s.listen,
            _ => &s.dir,
        };
        let Some(v) = value else {
            let example = match own {
                "url" => "url = \"http://127.0.0.1:9000/odf\"",
                "listen" => "listen = \"127.0.0.1:9652\"",
                _ => "dir = \"toc-data/archive\"",
            };
            self.error(
                s.kind.span(),
                format!("{kind} sink `{id}` has no `{own}`"),
                format!("add {example}"),
            );
            return None;
        };
        let text = v.get_ref();
        match own {
            "url" => match url::Url::parse(text) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                    Some(SinkKind::Http { url: text.clone() })
                }
                _ => {
                    self.error(
                        v.span(),
                        format!("url `{text}` of sink `{id}` is not an http:// or https:// URL"),
                        "write e.g. \"http://127.0.0.1:9000/odf\"",
                    );
                    None
                }
            },
            "listen" => {
                if let Ok(listen) = text.parse::<SocketAddr>() {
                    Some(SinkKind::Tcp { listen })
                } else {
                    self.error(
                        v.span(),
                        format!("listen `{text}` of sink `{id}` is not an address and port"),
                        "write an IP address and a port, e.g. \"127.0.0.1:9652\"",
                    );
                    None
                }
            }
            _ => {
                if text.trim().is_empty() {
                    self.error(
                        v.span(),
                        format!("dir of sink `{id}` is empty"),
                        "name the archive folder, e.g. \"toc-data/archive\"",
                    );
                    return None;
                }
                let dir = PathBuf::from(text);
                let dir = if dir.is_relative() {
                    self.src
                        .path()
                        .parent()
                        .map_or(dir.clone(), |p| p.join(&dir))
                } else {
                    dir
                };
                Some(SinkKind::File { dir })
            }
        }
    }

    /// `[[relay.routes]]`.
    fn relay_routes(&mut self, raw: &RawRelay, b: &mut Build, known: &Known) -> Vec<RelayRoute> {
        let mut out = Vec::new();
        for (n, r) in raw.routes.iter().enumerate() {
            let id = match &r.id {
                Some(id) => {
                    if !self.claim_id(b, "relay route", id) {
                        continue;
                    }
                    id.get_ref().clone()
                }
                None => format!("route-{}", n + 1),
            };
            if let Some(route) = self.relay_route(r, id, b, known) {
                out.push(route);
            }
        }
        out
    }

    /// One route: known sinks, and well-formed match fields.
    fn relay_route(
        &mut self,
        r: &RawRelayRoute,
        id: String,
        b: &Build,
        known: &Known,
    ) -> Option<RelayRoute> {
        let before = self.errors();
        if r.sinks.get_ref().is_empty() {
            self.error(
                r.sinks.span(),
                format!("route `{id}` has no sinks"),
                "list the sinks it delivers to, e.g. sinks = [\"commentators\"]",
            );
        }
        let mut sinks = Vec::new();
        for s in r.sinks.get_ref() {
            if let Some(i) = known.sinks.get(s.get_ref().as_str()) {
                sinks.push(*i);
            } else if !self.is_broken("relay sink", s.get_ref()) {
                let mut names: Vec<&str> = known.sinks.keys().copied().collect();
                names.sort_unstable();
                self.error(
                    s.span(),
                    format!("route `{id}` names unknown sink `{}`", s.get_ref()),
                    format!("name a [[relay.sinks]] id (defined: {})", or_none(&names)),
                );
            }
        }
        if let Some(d) = &r.discipline
            && !is_discipline(d.get_ref())
        {
            self.error(
                d.span(),
                format!(
                    "discipline `{}` of route `{id}` is not a discipline code",
                    d.get_ref()
                ),
                "write the first three letters of DocumentCode, in capitals, e.g. \"ATH\"",
            );
        }
        if let Some(t) = &r.document_type
            && !is_document_type(t.get_ref())
        {
            self.error(
                t.span(),
                format!(
                    "document_type `{}` of route `{id}` is not an ODF document type",
                    t.get_ref()
                ),
                "write e.g. \"DT_RESULT\", \"DT_CURRENT\" or \"DT_PLAY_BY_PLAY\"",
            );
        }
        if let Some(f) = &r.feed
            && !b.feeds.iter().any(|x| &x.id == f.get_ref())
        {
            let names: Vec<&str> = b.feeds.iter().map(|x| x.id.as_str()).collect();
            self.error(
                f.span(),
                format!("route `{id}` names unknown feed `{}`", f.get_ref()),
                format!("name a [[venues.feeds]] id (defined: {})", or_none(&names)),
            );
        }
        if let Some(s) = &r.source
            && !known.sources.contains(&s.get_ref().as_str())
            && !self.is_broken("relay source", s.get_ref())
        {
            self.error(
                s.span(),
                format!("route `{id}` names unknown source `{}`", s.get_ref()),
                format!(
                    "name a [[relay.sources]] id (defined: {})",
                    or_none(&known.sources)
                ),
            );
        }
        if self.errors() > before {
            return None;
        }
        let text = |v: &Option<Spanned<String>>| v.as_ref().map(|v| v.get_ref().clone());
        Some(RelayRoute {
            id,
            sinks,
            discipline: text(&r.discipline),
            document_type: text(&r.document_type),
            feed: text(&r.feed),
            source: text(&r.source),
        })
    }
}

/// The default listen address.
fn default_listen() -> Option<SocketAddr> {
    DEFAULT_LISTEN.parse().ok()
}

/// A size in the largest binary unit that divides it.
fn human(n: u64) -> String {
    match n {
        n if n >= 1 << 30 && n % (1 << 30) == 0 => format!("{}GiB", n >> 30),
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{}MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{}KiB", n >> 10),
        n => format!("{n}B"),
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::{human, is_discipline, is_document_type};

    #[rstest]
    #[case("ATH", true)]
    #[case("ath", false)]
    #[case("ATHM", false)]
    #[case("A1H", false)]
    fn disciplines(#[case] s: &str, #[case] ok: bool) {
        assert_eq!(is_discipline(s), ok);
    }

    #[rstest]
    #[case("DT_RESULT", true)]
    #[case("DT_PLAY_BY_PLAY", true)]
    #[case("DT_", false)]
    #[case("RESULT", false)]
    #[case("dt_result", false)]
    fn document_types(#[case] s: &str, #[case] ok: bool) {
        assert_eq!(is_document_type(s), ok);
    }

    #[test]
    fn sizes_read_back() {
        assert_eq!(human(1 << 10), "1KiB");
        assert_eq!(human(4 << 30), "4GiB");
        assert_eq!(human(1500), "1500B");
    }
}
