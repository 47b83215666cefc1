//! Validation of a `[[venues.devices]]` table on its own: role, probe,
//! the keys its probe scheme allows, profile, intervals and checks.
//! Its group and parents are resolved later, in [`super::links`].

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use super::Defaults;
use super::profiles::DefinedProfile;
use crate::config::value::{POLL_INTERVAL, TIMEOUT, is_kebab};
use crate::config::venues::cx::{Cx, first_span, or_none};
use crate::config::venues::model::{Checks, Device, JsonCheck, ProbeTarget};
use crate::config::venues::raw::RawDevice;
use crate::model::topology::VenueIdx;

/// The HTTP-only checks of a device, once validated.
#[derive(Default)]
struct HttpChecks {
    expect_status: Option<u16>,
    body_contains: Option<String>,
    json: Option<JsonCheck>,
    latency_warn: Option<Duration>,
}

/// A key that applies to devices of one probe scheme only, and where a
/// device sets it.
struct SchemeKey {
    key: &'static str,
    /// `snmp` or `http`.
    scheme: &'static str,
    at: Option<Range<usize>>,
}

impl SchemeKey {
    fn new<T>(key: &'static str, scheme: &'static str, value: Option<&Spanned<T>>) -> Self {
        Self {
            key,
            scheme,
            at: value.map(Spanned::span),
        }
    }
}

impl Cx<'_> {
    /// Checks one device; what fails is reported and left at a default.
    pub(super) fn validate_device(
        &mut self,
        d: &RawDevice,
        venue: VenueIdx,
        defaults: &Defaults,
        profiles: &BTreeMap<String, DefinedProfile>,
    ) -> Device {
        let id = d.id.get_ref();
        if !is_kebab(d.role.get_ref()) {
            self.error(
                d.role.span(),
                format!(
                    "role `{}` of device `{id}` is not kebab-case",
                    d.role.get_ref()
                ),
                "write it like `core-switch` or `ovr-server`",
            );
        }
        let probe = self.parse_probe(&d.probe, id);
        let kind = probe.as_ref().map(ProbeTarget::kind);
        if let Some(kind) = kind {
            self.check_scheme_keys(d, kind);
        }
        if kind == Some("snmp") {
            self.check_profile_ref(d, profiles);
        }
        if let Some(ifs) = &d.interfaces {
            self.check_interfaces(ifs.get_ref());
        }
        let cpu_threshold = d.cpu_threshold.as_ref().and_then(|c| {
            self.int_range(
                c,
                1..=100,
                &format!("cpu_threshold of `{id}`"),
                "write the CPU load percent above which the device is DEGRADED",
            )
        });
        self.within(
            d.poll_interval.as_ref(),
            POLL_INTERVAL,
            &format!("poll_interval of `{id}`"),
        );
        self.within(d.timeout.as_ref(), TIMEOUT, &format!("timeout of `{id}`"));
        let poll_interval = d
            .poll_interval
            .as_ref()
            .map_or(defaults.poll_interval, |v| v.get_ref().0);
        let timeout = d
            .timeout
            .as_ref()
            .map_or(defaults.timeout, |v| v.get_ref().0);
        if timeout > poll_interval {
            let span = first_span(&[&d.timeout, &d.poll_interval], d.id.span());
            self.error(
                span,
                format!(
                    "timeout {} of `{id}` exceeds its poll_interval {}",
                    humantime::format_duration(timeout),
                    humantime::format_duration(poll_interval)
                ),
                "shorten the timeout or lengthen the interval",
            );
        }
        let http = if kind == Some("http") {
            self.http_checks(d, timeout)
        } else {
            HttpChecks::default()
        };
        Device {
            id: id.clone(),
            venue,
            role: d.role.get_ref().clone(),
            probe: probe.unwrap_or(ProbeTarget::Tcp {
                host: String::new(),
                port: 0,
            }),
            description: d.description.clone(),
            profile: d.profile.as_ref().map(|p| p.get_ref().clone()),
            context: d.context.as_ref().map(|c| c.get_ref().clone()),
            group: None,
            parents: Vec::new(),
            critical: d.critical.unwrap_or(true),
            checks: Checks {
                interfaces: d
                    .interfaces
                    .as_ref()
                    .map(|v| v.get_ref().iter().map(|s| s.get_ref().clone()).collect())
                    .unwrap_or_default(),
                cpu_threshold: cpu_threshold.and_then(|n| u8::try_from(n).ok()),
                expect_status: http.expect_status,
                body_contains: http.body_contains,
                json: http.json,
                latency_warn: http.latency_warn,
                tls_verify: d.tls_verify.as_ref().is_none_or(|v| *v.get_ref()),
            },
            poll_interval,
            timeout,
        }
    }

    /// The body, JSON and latency checks of an HTTP device.
    fn http_checks(&mut self, d: &RawDevice, timeout: Duration) -> HttpChecks {
        let id = d.id.get_ref();
        let expect_status = d.expect_status.as_ref().map_or(Some(200), |s| {
            self.int_range(
                s,
                100..=599,
                &format!("expect_status of `{id}`"),
                "write an HTTP status, e.g. 200 or 204",
            )
        });
        let body_contains = d.body_contains.as_ref().and_then(|b| {
            if b.get_ref().is_empty() {
                self.error(
                    b.span(),
                    format!("body_contains of `{id}` is empty"),
                    "write the text a healthy answer contains, e.g. \"ok\", or remove the key",
                );
                return None;
            }
            Some(b.get_ref().clone())
        });
        let json = match (&d.json_field, &d.json_expect) {
            (Some(field), Some(expect)) => {
                let path = field.get_ref();
                if path.split('.').any(str::is_empty) {
                    self.error(
                        field.span(),
                        format!("json_field `{path}` of `{id}` is not a dotted path"),
                        "name the field like `status` or `checks.db`",
                    );
                    None
                } else {
                    Some(JsonCheck {
                        field: path.clone(),
                        expect: expect.get_ref().clone(),
                    })
                }
            }
            (Some(field), None) => {
                self.error(
                    field.span(),
                    format!("`{id}` sets json_field without json_expect"),
                    "add json_expect = \"...\" with the value that means healthy",
                );
                None
            }
            (None, Some(expect)) => {
                self.error(
                    expect.span(),
                    format!("`{id}` sets json_expect without json_field"),
                    "add json_field = \"...\" naming the field to compare, e.g. `status`",
                );
                None
            }
            (None, None) => None,
        };
        self.positive(d.latency_warn.as_ref(), &format!("latency_warn of `{id}`"));
        let latency_warn = d.latency_warn.as_ref().map(|w| w.get_ref().0);
        if let (Some(w), Some(warn)) = (&d.latency_warn, latency_warn)
            && !warn.is_zero()
            && warn >= timeout
        {
            self.error(
                w.span(),
                format!(
                    "latency_warn {} of `{id}` is not below its timeout {}",
                    humantime::format_duration(warn),
                    humantime::format_duration(timeout)
                ),
                "an answer slower than the timeout is a failure; set latency_warn lower, e.g. half the timeout",
            );
        }
        HttpChecks {
            expect_status: expect_status.and_then(|n| u16::try_from(n).ok()),
            body_contains,
            json,
            latency_warn: latency_warn.filter(|w| !w.is_zero() && *w < timeout),
        }
    }

    /// Reports empty and repeated interface names.
    fn check_interfaces(&mut self, ifs: &[Spanned<String>]) {
        let mut seen = HashSet::new();
        for i in ifs {
            if i.get_ref().trim().is_empty() {
                self.error(
                    i.span(),
                    "empty interface name",
                    "name the interface by ifIndex (\"1\") or ifName (\"Gi1/0/1\")",
                );
            } else if !seen.insert(i.get_ref().clone()) {
                self.error(
                    i.span(),
                    format!("interface `{}` is listed twice", i.get_ref()),
                    "remove the repeat",
                );
            }
        }
    }

    /// Keys that only make sense for one probe scheme.
    fn check_scheme_keys(&mut self, d: &RawDevice, kind: &str) {
        let keys = [
            SchemeKey::new("profile", "snmp", d.profile.as_ref()),
            SchemeKey::new("context", "snmp", d.context.as_ref()),
            SchemeKey::new("interfaces", "snmp", d.interfaces.as_ref()),
            SchemeKey::new("cpu_threshold", "snmp", d.cpu_threshold.as_ref()),
            SchemeKey::new("expect_status", "http", d.expect_status.as_ref()),
            SchemeKey::new("body_contains", "http", d.body_contains.as_ref()),
            SchemeKey::new("json_field", "http", d.json_field.as_ref()),
            SchemeKey::new("json_expect", "http", d.json_expect.as_ref()),
            SchemeKey::new("latency_warn", "http", d.latency_warn.as_ref()),
            SchemeKey::new("tls_verify", "http", d.tls_verify.as_ref()),
        ];
        for SchemeKey { key, scheme, at } in keys {
            if let (Some(at), true) = (at, scheme != kind) {
                let shown = if scheme == "http" {
                    "http(s)://"
                } else {
                    "snmp://"
                };
                self.error(
                    at,
                    format!(
                        "`{key}` applies to {shown} devices only, and `{}` is probed by {kind}",
                        d.id.get_ref()
                    ),
                    format!("remove `{key}` from this device"),
                );
            }
        }
    }

    /// An SNMP device must name a defined profile.
    fn check_profile_ref(&mut self, d: &RawDevice, profiles: &BTreeMap<String, DefinedProfile>) {
        let names = || or_none(&profiles.keys().map(String::as_str).collect::<Vec<_>>());
        match &d.profile {
            None => self.error(
                d.probe.span(),
                format!(
                    "SNMP device `{}` names no credential profile",
                    d.id.get_ref()
                ),
                format!("add profile = \"...\" (defined: {})", names()),
            ),
            Some(p)
                if !profiles.contains_key(p.get_ref())
                    && !self.is_broken("profile", p.get_ref()) =>
            {
                self.error(
                    p.span(),
                    format!(
                        "device `{}` names unknown profile `{}`",
                        d.id.get_ref(),
                        p.get_ref()
                    ),
                    format!(
                        "define [profiles.{}] or use one of: {}",
                        p.get_ref(),
                        names()
                    ),
                );
            }
            Some(_) => {}
        }
    }
}
