//! Span reading: parses the TOML syntax, then walks the spanned
//! [`DeTable`] and deserializes each table on its own, so that one bad
//! device does not hide the errors of the next. Tables with errors of
//! their own are marked broken.

use serde::de::{DeserializeOwned, IntoDeserializer};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::cx::Cx;
use super::raw::{RawDocument, RawProfileEntry, RawRelay, RawVenue};

/// The keys of the top level.
const TOP_KEYS: &[&str] = &[
    "event",
    "profiles",
    "venues",
    "maintenance",
    "incidents",
    "relay",
    "playbooks",
    "api",
];
/// The arrays of tables inside `[relay]`.
const RELAY_LISTS: &[&str] = &["sources", "sinks", "routes"];
/// The arrays of tables inside a `[[venues]]` table.
const VENUE_LISTS: &[&str] = &["devices", "groups", "feeds"];

impl Cx<'_> {
    /// Deserializes one table; reports and returns `None` on an error.
    fn de<T: DeserializeOwned>(&mut self, value: Spanned<DeValue<'_>>, what: &str) -> Option<T> {
        match T::deserialize(value.into_deserializer()) {
            Ok(v) => Some(v),
            Err(e) => {
                let d = self.src.from_toml(&e, Some(what));
                self.diags.push(d);
                None
            }
        }
    }

    /// Reads the whole file; `None` on a syntax error.
    pub(super) fn read_document(&mut self) -> Option<RawDocument> {
        let (root, syntax) = DeTable::parse_recoverable(self.src.text());
        if !syntax.is_empty() {
            for e in &syntax {
                let d = self.src.from_toml(e, None);
                self.diags.push(d);
            }
            return None;
        }
        let mut doc = RawDocument {
            event: None,
            event_missing: true,
            profiles: Vec::new(),
            venues: Vec::new(),
            maintenance: Vec::new(),
            incidents: None,
            relay: None,
            playbooks: None,
            api: None,
        };
        for (key, value) in root.into_inner() {
            match key.get_ref().as_ref() {
                "event" => {
                    doc.event_missing = false;
                    doc.event = self.de(value, "[event] table");
                }
                "profiles" => self.read_profiles(value, &mut doc),
                "venues" => self.read_venues(value, &mut doc),
                "maintenance" => self.read_maintenance(value, &mut doc),
                "incidents" => doc.incidents = self.de(value, "[incidents] table"),
                "relay" => doc.relay = self.read_relay(key.span(), value),
                "playbooks" => doc.playbooks = self.de(value, "[playbooks] table"),
                "api" => doc.api = self.de(value, "[api] table"),
                other => {
                    let msg = format!("unknown top-level key `{other}`");
                    self.error(
                        key.span(),
                        msg,
                        format!("the top level takes {}", list(TOP_KEYS)),
                    );
                }
            }
        }
        Some(doc)
    }

    /// Reads `[profiles.NAME]` tables.
    fn read_profiles(&mut self, value: Spanned<DeValue<'_>>, doc: &mut RawDocument) {
        let span = value.span();
        let DeValue::Table(table) = value.into_inner() else {
            self.error(
                span,
                "`profiles` must be a table of profiles",
                "write each profile as [profiles.NAME]",
            );
            return;
        };
        for (name, body) in table {
            let name = Spanned::new(name.span(), name.get_ref().to_string());
            let profile = self.de(body, "profile");
            if profile.is_none() {
                self.broken.insert(format!("profile:{}", name.get_ref()));
            }
            doc.profiles.push(RawProfileEntry {
                name,
                body: profile,
            });
        }
    }

    /// Reads `[[maintenance]]` tables, each on its own.
    fn read_maintenance(&mut self, value: Spanned<DeValue<'_>>, doc: &mut RawDocument) {
        let span = value.span();
        let DeValue::Array(items) = value.into_inner() else {
            self.error(
                span,
                "`maintenance` must be an array of tables",
                "write each window as a [[maintenance]] table",
            );
            return;
        };
        for item in items {
            doc.maintenance
                .extend(self.de(item, "[[maintenance]] window"));
        }
    }

    /// Reads `[relay]`: its keys, then each entry of its lists on its own.
    fn read_relay(
        &mut self,
        key: std::ops::Range<usize>,
        value: Spanned<DeValue<'_>>,
    ) -> Option<RawRelay> {
        let span = value.span();
        let DeValue::Table(mut table) = value.into_inner() else {
            self.error(
                span,
                "`relay` must be a table",
                "write it as a [relay] table with [[relay.sources]] and [[relay.sinks]]",
            );
            return None;
        };
        let mut relay = RawRelay {
            span: key,
            header: None,
            sources: Vec::new(),
            sinks: Vec::new(),
            routes: Vec::new(),
            broken_entries: false,
        };
        for list_key in RELAY_LISTS {
            let Some(list) = table.remove(*list_key) else {
                continue;
            };
            let list_span = list.span();
            let DeValue::Array(elems) = list.into_inner() else {
                self.error(
                    list_span,
                    format!("`relay.{list_key}` must be an array of tables"),
                    format!("write each entry as a [[relay.{list_key}]] table"),
                );
                relay.broken_entries = true;
                continue;
            };
            for elem in elems {
                let before = self.diags.len();
                let kind = match *list_key {
                    "sources" => "relay source",
                    "sinks" => "relay sink",
                    _ => "relay route",
                };
                let peeked_id = elem
                    .get_ref()
                    .as_table()
                    .and_then(|t| t.get("id"))
                    .and_then(|v| v.get_ref().as_str())
                    .map(|id| format!("{kind}:{id}"));
                match *list_key {
                    "sources" => relay.sources.extend(self.de(elem, kind)),
                    "sinks" => relay.sinks.extend(self.de(elem, kind)),
                    _ => relay.routes.extend(self.de(elem, kind)),
                }
                if self.diags.len() > before {
                    relay.broken_entries = true;
                    self.broken.extend(peeked_id);
                }
            }
        }
        relay.header = self.de(Spanned::new(span, DeValue::Table(table)), "[relay] table");
        Some(relay)
    }

    /// Reads `[[venues]]` tables and the lists inside each.
    fn read_venues(&mut self, value: Spanned<DeValue<'_>>, doc: &mut RawDocument) {
        let span = value.span();
        let DeValue::Array(items) = value.into_inner() else {
            self.error(
                span,
                "`venues` must be an array of tables",
                "write each venue as a [[venues]] table",
            );
            return;
        };
        for item in items {
            let span = item.span();
            let DeValue::Table(mut table) = item.into_inner() else {
                self.error(
                    span,
                    "a venue must be a table",
                    "write each venue as a [[venues]] table",
                );
                continue;
            };
            let mut venue = RawVenue {
                span: span.clone(),
                header: None,
                devices: Vec::new(),
                groups: Vec::new(),
                feeds: Vec::new(),
            };
            for list_key in VENUE_LISTS {
                let Some(list) = table.remove(*list_key) else {
                    continue;
                };
                let list_span = list.span();
                let DeValue::Array(elems) = list.into_inner() else {
                    self.error(
                        list_span,
                        format!("`{list_key}` must be an array of tables"),
                        format!("write each entry as a [[venues.{list_key}]] table"),
                    );
                    continue;
                };
                for elem in elems {
                    let kind = list_key.trim_end_matches('s');
                    let peeked_id = elem
                        .get_ref()
                        .as_table()
                        .and_then(|t| t.get("id"))
                        .and_then(|v| v.get_ref().as_str())
                        .map(|id| format!("{kind}:{id}"));
                    let before = self.diags.len();
                    match *list_key {
                        "devices" => venue.devices.extend(self.de(elem, "device")),
                        "groups" => venue.groups.extend(self.de(elem, "group")),
                        _ => venue.feeds.extend(self.de(elem, "feed")),
                    }
                    if self.diags.len() > before {
                        self.broken.extend(peeked_id);
                    }
                }
            }
            venue.header = self.de(Spanned::new(span, DeValue::Table(table)), "venue");
            doc.venues.push(venue);
        }
    }
}

/// Names as a list of code spans: `a`, `b`.
fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
