//! Devices that share an SNMP address (host and port, as a simulator or a
//! chassis serving several logical devices does) are told apart only by
//! their `context`: a device with no `context` is asked in the default
//! (empty) context, by the poller and by `toc sim` alike. Two devices on
//! one address in the same context read the same agent and would show the
//! same answers, so `toc check` warns, at the later device's `context` (or
//! its `probe` when it has none).

use std::collections::HashMap;
use std::net::IpAddr;

use super::PendingDevice;
use crate::config::venues::cx::Cx;
use crate::config::venues::model::{Device, ProbeTarget};

/// An SNMP address and context, as the agent tells requests apart: an IP
/// literal in its canonical form, a host name ignoring case, and no
/// context the same as an empty one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    host: String,
    port: u16,
    context: String,
}

impl Key {
    fn of(device: &Device) -> Option<Key> {
        let ProbeTarget::Snmp { host, port } = &device.probe else {
            return None;
        };
        let host = host
            .parse::<IpAddr>()
            .map_or_else(|_| host.to_ascii_lowercase(), |ip| ip.to_string());
        Some(Key {
            host,
            port: *port,
            context: device.context.clone().unwrap_or_default(),
        })
    }
}

impl Cx<'_> {
    /// Warns about each device whose SNMP address and context an earlier
    /// device already has.
    pub(super) fn check_shared_snmp(&mut self, devices: &[Device], pending: &[PendingDevice]) {
        let mut first: HashMap<Key, usize> = HashMap::new();
        for p in pending {
            let Some(device) = devices.get(p.idx.0) else {
                continue;
            };
            let Some(key) = Key::of(device) else {
                continue;
            };
            let Some(&earlier) = first.get(&key) else {
                first.insert(key, p.idx.0);
                continue;
            };
            let Some(other) = devices.get(earlier) else {
                continue;
            };
            let span = p
                .raw
                .context
                .as_ref()
                .map_or_else(|| p.raw.probe.span(), toml::Spanned::span);
            let context = if key.context.is_empty() {
                "the default context (neither sets `context`)".to_owned()
            } else {
                format!("context `{}`", key.context)
            };
            self.warning(
                span,
                format!(
                    "device `{}` polls the same SNMP agent as `{}` ({}, {context}): both would show that agent's answers",
                    device.id,
                    other.id,
                    device.probe.url(),
                ),
                "devices on one SNMP address are told apart only by `context`: give each its own",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use crate::config::venues::Inventory;
    use crate::config::{Severity, SourceFile};

    /// The warnings `toc check` gives for devices (id, probe, extra line).
    fn warnings(devices: &[(&str, &str, &str)]) -> Vec<String> {
        let mut text = String::from(
            "[event]\nname = \"t\"\n\n[profiles.v2c]\nversion = \"v2c\"\ncommunity = \"c\"\n\n\
             [[venues]]\ncode = \"STA\"\nname = \"Stadium\"\ncity = \"X\"\n",
        );
        for (id, probe, extra) in devices {
            let _ = write!(
                text,
                "\n[[venues.devices]]\nid = \"{id}\"\nrole = \"switch\"\nprobe = \"{probe}\"\nprofile = \"v2c\"\n{extra}\n"
            );
        }
        let (_, diags) = Inventory::parse(&SourceFile::new("v.toml", text))
            .unwrap_or_else(|d| panic!("{}", crate::config::diag::render(&d)));
        diags
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .map(|d| format!("{}:{}: {}", d.line, d.column, d.message))
            .collect()
    }

    #[test]
    fn two_devices_on_one_address_without_context_are_a_warning() {
        let w = warnings(&[
            ("a", "snmp://10.0.0.1:1161", ""),
            ("b", "snmp://10.0.0.1:1161", ""),
        ]);
        assert_eq!(
            w,
            [
                "23:9: device `b` polls the same SNMP agent as `a` (snmp://10.0.0.1:1161, \
              the default context (neither sets `context`)): both would show that agent's answers"
            ]
        );
    }

    #[test]
    fn the_same_context_is_a_warning_at_the_later_context() {
        let w = warnings(&[
            ("a", "snmp://[::1]:1161", "context = \"x\""),
            ("b", "snmp://[0:0::1]:1161", "context = \"x\""),
        ]);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].starts_with("25:11: device `b` polls the same SNMP agent as `a` (snmp://[::1]:1161, context `x`)"),
            "{w:?}"
        );
    }

    #[test]
    fn three_on_one_address_name_the_first() {
        let w = warnings(&[
            ("a", "snmp://Core.sta", ""),
            ("b", "snmp://core.STA:161", ""),
            ("c", "snmp://core.sta", "context = \"\""),
        ]);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w.iter().all(|m| m.contains("same SNMP agent as `a`")),
            "{w:?}"
        );
    }

    #[test]
    fn contexts_ports_or_schemes_apart_are_fine() {
        let w = warnings(&[
            ("a", "snmp://10.0.0.1:1161", "context = \"a\""),
            ("b", "snmp://10.0.0.1:1161", "context = \"b\""),
            ("c", "snmp://10.0.0.1:1161", ""),
            ("d", "snmp://10.0.0.1:1162", ""),
            ("e", "snmp://10.0.0.2:1161", ""),
        ]);
        assert_eq!(w, Vec::<String>::new());
    }

    #[test]
    fn the_shipped_files_and_synthetic_games_share_no_agent() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut sources: Vec<SourceFile> = ["venues.toml", "examples/venues-small.toml"]
            .iter()
            .map(|f| {
                let text = std::fs::read_to_string(root.join(f)).expect("shipped file");
                SourceFile::new(*f, text)
            })
            .collect();
        sources.push(SourceFile::new("<synth>", crate::sim::synth::games(5, 300)));
        for src in &sources {
            let (_, diags) = Inventory::parse(src)
                .unwrap_or_else(|d| panic!("{}", crate::config::diag::render(&d)));
            let shared: Vec<_> = diags
                .iter()
                .filter(|d| d.message.contains("same SNMP agent"))
                .collect();
            assert!(shared.is_empty(), "{}: {shared:?}", src.path().display());
        }
    }
}
