//! `/metrics`: the engine and the relay in Prometheus' text exposition
//! format, version 0.0.4 (docs/wall.md lists every metric).
//!
//! Everything is read from one [`Snapshot`]: a scrape costs the server a
//! walk over the snapshot it already holds, never a question to the
//! engine. Every family has one `# HELP` and one `# TYPE` line, then its
//! samples; label values are escaped (`\\`, `\"`, `\n`).
//!
//! Statuses as numbers: a status is its [`Status::severity`]
//! (0 maintenance, 1 ok, 2 unknown, 3 unreachable, 4 degraded, 5 down), so
//! `max(toc_venue_status) >= 4` is "something is orange or red".

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use crate::engine::snapshot::Snapshot;
use crate::incident::IncidentState;
use crate::model::Status;
use crate::model::relay::{SinkState, SinkStatus};

mod parse;

pub use parse::{Exposition, Family, Sample, parse};

/// The `Content-Type` of [`render`]'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Upper bounds (seconds) of the poll latency histogram's buckets.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The text of `/metrics` for this snapshot, its age taken from the clock.
pub fn render(snap: &Snapshot) -> String {
    render_at(snap, SystemTime::now())
}

/// The text of `/metrics` for this snapshot as of `now` (tests pass a
/// fixed time).
pub fn render_at(snap: &Snapshot, now: SystemTime) -> String {
    let mut out = Text::default();
    engine(&mut out, snap, now);
    devices(&mut out, snap);
    latency(&mut out, snap);
    incidents(&mut out, snap);
    relay(&mut out, snap);
    out.0
}

/// The text being written.
#[derive(Debug, Default)]
struct Text(String);

/// One label: name and (unescaped) value.
type Label<'a> = (&'a str, &'a str);

impl Text {
    /// `# HELP` and `# TYPE` of a family.
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    /// One sample line.
    fn sample(&mut self, name: &str, labels: &[Label<'_>], value: f64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                self.0.push_str(k);
                self.0.push_str("=\"");
                self.0.push_str(&escape(v));
                self.0.push('"');
            }
            self.0.push('}');
        }
        self.0.push(' ');
        self.0.push_str(&number(value));
        self.0.push('\n');
    }

    /// A family with a single unlabelled sample.
    fn single(&mut self, name: &str, kind: &str, help: &str, value: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }
}

/// A label value escaped for the text format.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A sample value as the text format writes it (`+Inf`, `NaN`, plain
/// decimals otherwise).
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        format!("{v}")
    }
}

#[allow(clippy::cast_precision_loss)]
fn count(n: impl TryInto<u64>) -> f64 {
    n.try_into().map_or(f64::MAX, |n: u64| n as f64)
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Seconds from `from` to `to`; 0 when `to` is earlier.
fn between(from: SystemTime, to: SystemTime) -> f64 {
    to.duration_since(from).map_or(0.0, secs)
}

fn status(s: Status) -> f64 {
    f64::from(s.severity())
}

/// The status word in labels (`degraded`).
pub fn status_label(s: Status) -> &'static str {
    match s {
        Status::Ok => "ok",
        Status::Degraded => "degraded",
        Status::Down => "down",
        Status::Unreachable => "unreachable",
        Status::Unknown => "unknown",
        Status::Maintenance => "maintenance",
    }
}

fn flag(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

fn engine(out: &mut Text, snap: &Snapshot, now: SystemTime) {
    out.family(
        "toc_info",
        "gauge",
        "The event this engine watches (always 1).",
    );
    out.sample("toc_info", &[("event", &snap.layout.event)], 1.0);
    out.single(
        "toc_snapshot_seq",
        "gauge",
        "Sequence number of the engine's newest snapshot.",
        count(snap.seq),
    );
    out.single(
        "toc_snapshot_age_seconds",
        "gauge",
        "How old the newest snapshot is at this scrape.",
        between(snap.at, now),
    );
    out.single(
        "toc_events_seq",
        "gauge",
        "Sequence number of the last event the snapshot includes.",
        count(snap.events_seq),
    );
    out.single(
        "toc_uptime_seconds",
        "gauge",
        "Time since the engine started, as of the snapshot.",
        between(snap.started, snap.at),
    );
    out.single(
        "toc_checks_total",
        "counter",
        "Check results (observations) the engine received.",
        count(snap.stats.observations),
    );
    out.single(
        "toc_snapshots_total",
        "counter",
        "Snapshots the engine published.",
        count(snap.stats.snapshots),
    );
    out.single(
        "toc_commands_total",
        "counter",
        "Commands the engine handled, applied or refused.",
        count(snap.stats.commands),
    );
    out.single(
        "toc_audit_failing",
        "gauge",
        "1 while the audit log cannot be written (changes are refused).",
        flag(snap.audit_failing.is_some()),
    );
    out.single(
        "toc_wall_status",
        "gauge",
        "The wall's status: 0 maintenance, 1 ok, 2 unknown, 3 unreachable, 4 degraded, 5 down.",
        status(snap.wall),
    );
}

fn devices(out: &mut Text, snap: &Snapshot) {
    let venues = || {
        snap.layout
            .venues
            .iter()
            .zip(&snap.venues)
            .map(|(info, v)| (info.code.as_str(), v))
    };
    out.family(
        "toc_venue_status",
        "gauge",
        "Each venue's status: 0 maintenance, 1 ok, 2 unknown, 3 unreachable, 4 degraded, 5 down.",
    );
    for (code, v) in venues() {
        out.sample(
            "toc_venue_status",
            &[("venue", code)],
            status(v.eval.status),
        );
    }
    out.family(
        "toc_devices",
        "gauge",
        "Devices per venue by shown status (the statuses of a venue add up to its devices).",
    );
    for (code, v) in venues() {
        let e = &v.eval;
        for (s, n) in [
            (Status::Ok, e.ok),
            (Status::Degraded, e.degraded),
            (Status::Down, e.down),
            (Status::Unreachable, e.unreachable),
            (Status::Unknown, e.unknown),
            (Status::Maintenance, e.maintenance),
        ] {
            out.sample(
                "toc_devices",
                &[("venue", code), ("status", status_label(s))],
                count(n),
            );
        }
    }
    out.family(
        "toc_venue_incidents",
        "gauge",
        "Incidents not resolved at each venue.",
    );
    for (code, v) in venues() {
        out.sample(
            "toc_venue_incidents",
            &[("venue", code)],
            count(v.incidents),
        );
    }
    // The last check of each device that failed (soft or hard), per venue.
    let mut failing = vec![0usize; snap.layout.venues.len()];
    for (info, d) in snap.layout.devices.iter().zip(&snap.devices) {
        if d.last_check.is_some()
            && matches!(d.raw, Status::Down | Status::Degraded | Status::Unknown)
            && let Some(n) = failing.get_mut(info.venue.0)
        {
            *n += 1;
        }
    }
    out.family(
        "toc_checks_failing",
        "gauge",
        "Devices per venue whose last check did not answer OK (soft or hard).",
    );
    for (code, n) in snap
        .layout
        .venues
        .iter()
        .map(|v| v.code.as_str())
        .zip(failing)
    {
        out.sample("toc_checks_failing", &[("venue", code)], count(n));
    }
    if !snap.layout.feeds.is_empty() {
        out.family(
            "toc_feed_status",
            "gauge",
            "Each result feed's status, as a status number.",
        );
        for (i, f) in snap.layout.feeds.iter().enumerate() {
            let s = snap.feeds.get(i).copied().unwrap_or(Status::Unknown);
            let venue = snap
                .layout
                .venues
                .get(f.venue.0)
                .map_or("", |v| v.code.as_str());
            out.sample(
                "toc_feed_status",
                &[("feed", &f.id), ("venue", venue)],
                status(s),
            );
        }
    }
}

fn latency(out: &mut Text, snap: &Snapshot) {
    let mut buckets = [0u64; LATENCY_BUCKETS.len()];
    let mut n = 0u64;
    let mut sum = 0.0;
    for l in snap.devices.iter().filter_map(|d| d.latency) {
        let s = secs(l);
        n += 1;
        sum += s;
        for (b, le) in buckets.iter_mut().zip(LATENCY_BUCKETS) {
            if s <= le {
                *b += 1;
            }
        }
    }
    let name = "toc_poll_latency_seconds";
    out.family(
        name,
        "histogram",
        "Latency of each device's last answered check.",
    );
    for (b, le) in buckets.iter().zip(LATENCY_BUCKETS) {
        out.sample(&format!("{name}_bucket"), &[("le", &number(le))], count(*b));
    }
    out.sample(&format!("{name}_bucket"), &[("le", "+Inf")], count(n));
    out.sample(&format!("{name}_sum"), &[], sum);
    out.sample(&format!("{name}_count"), &[], count(n));
}

fn incidents(out: &mut Text, snap: &Snapshot) {
    out.family(
        "toc_incidents",
        "gauge",
        "Incidents by lifecycle state (resolved ones leave the list: 0).",
    );
    for state in IncidentState::ALL {
        let n = snap.incidents.iter().filter(|i| i.state == state).count();
        out.sample("toc_incidents", &[("state", state.name())], count(n));
    }
    out.family(
        "toc_incidents_by_severity",
        "gauge",
        "Incidents not resolved, by severity.",
    );
    for s in [Status::Down, Status::Degraded, Status::Unknown] {
        let n = snap.incidents.iter().filter(|i| i.severity == s).count();
        out.sample(
            "toc_incidents_by_severity",
            &[("severity", status_label(s))],
            count(n),
        );
    }
}

fn relay(out: &mut Text, snap: &Snapshot) {
    let Some(r) = snap.relay.as_deref() else {
        return;
    };
    out.single(
        "toc_relay_journal_head",
        "gauge",
        "The journal's next sequence number.",
        count(r.head),
    );
    out.single(
        "toc_relay_journal_bytes",
        "gauge",
        "Journal bytes on disk.",
        count(r.journal_bytes),
    );
    out.single(
        "toc_relay_journal_failing",
        "gauge",
        "1 while the journal cannot write (ingest answers 503).",
        flag(r.journal_failing.is_some()),
    );
    out.single(
        "toc_relay_quarantined_total",
        "counter",
        "Messages quarantined since start.",
        count(r.quarantined),
    );
    out.family(
        "toc_relay_source_rate",
        "gauge",
        "Messages per second from each source over the last few seconds.",
    );
    for s in &r.sources {
        out.sample("toc_relay_source_rate", &[("source", &s.id)], s.rate);
    }
    out.family(
        "toc_relay_source_messages_total",
        "counter",
        "Messages from each source since start, by what became of them.",
    );
    for s in &r.sources {
        let c = s.counts;
        for (outcome, n) in [
            ("forwarded", c.forwarded),
            ("duplicate", c.duplicate),
            ("stale", c.stale),
            ("quarantined", c.quarantined),
            ("standby", c.standby),
            ("keepalive", c.keepalive),
        ] {
            out.sample(
                "toc_relay_source_messages_total",
                &[("source", &s.id), ("outcome", outcome)],
                count(n),
            );
        }
    }
    relay_sinks(out, &r.sinks);
}

fn relay_sinks(out: &mut Text, sinks: &[SinkStatus]) {
    let sink = |out: &mut Text, name: &str, kind: &str, help: &str, f: fn(&SinkStatus) -> f64| {
        out.family(name, kind, help);
        for s in sinks {
            out.sample(name, &[("sink", &s.id), ("consumer", &s.consumer)], f(s));
        }
    };
    sink(
        out,
        "toc_relay_sink_backlog",
        "gauge",
        "Messages in the journal each sink has not delivered yet.",
        |s| count(s.backlog),
    );
    sink(
        out,
        "toc_relay_sink_rate",
        "gauge",
        "Messages per second each sink delivered over the last few seconds.",
        |s| s.rate,
    );
    sink(
        out,
        "toc_relay_sink_delivered_total",
        "counter",
        "Messages each sink delivered since start.",
        |s| count(s.delivered),
    );
    sink(
        out,
        "toc_relay_sink_slo_seconds",
        "gauge",
        "The latency objective of each sink's consumer class.",
        |s| secs(s.slo),
    );
    out.family(
        "toc_relay_sink_latency_seconds",
        "gauge",
        "Latency from ingest to delivery over the last minute, by quantile (absent before a delivery).",
    );
    for s in sinks {
        for (q, v) in [("0.5", s.p50), ("0.99", s.p99)] {
            if let Some(v) = v {
                out.sample(
                    "toc_relay_sink_latency_seconds",
                    &[("sink", &s.id), ("quantile", q)],
                    secs(v),
                );
            }
        }
    }
    out.family(
        "toc_relay_sink_state",
        "gauge",
        "1 for each sink's state (running, paused or failing), 0 for the others.",
    );
    for s in sinks {
        for (word, state) in [
            ("running", SinkState::Running),
            ("paused", SinkState::Paused),
            ("failing", SinkState::Failing),
        ] {
            out.sample(
                "toc_relay_sink_state",
                &[("sink", &s.id), ("state", word)],
                flag(s.state == state),
            );
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
