//! Grouping notices into notifications, pure: no clock of its own (the
//! caller passes `now`), no IO.
//!
//! A notice is held for a short window before it is sent, so a storm is
//! recognised before hundreds go out: the first notice opens a window of
//! [`StormRules::window`]; when it has passed, everything held is judged
//! together. More than [`StormRules::venue_incidents`] notices of one
//! venue, or notices from more than [`StormRules::venues`] venues, make a
//! storm: ONE grouped notification and no individual ones. While a storm
//! lasts (until [`StormRules::quiet`] passes without a notice) later
//! notices are absorbed into it; when it ends, one more notification says
//! how many arrived meanwhile. The price: a single incident is told
//! `window` later than it could be (2 s by default).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::{Notice, NoticeKind, rfc3339};

/// How many notices a notification carries in full (the JSON the notify
/// command reads); the counts always cover all of them.
pub const NOTICES_CARRIED: usize = 100;

/// When notices make a storm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StormRules {
    /// How long the first notice is held before the batch is judged.
    pub window: Duration,
    /// More than this many notices of one venue in a window: a storm (a
    /// whole site).
    pub venue_incidents: usize,
    /// Notices from more than this many venues in a window: a storm.
    pub venues: usize,
    /// A storm ends after this long without a notice.
    pub quiet: Duration,
    /// Venues named in a storm's summary line.
    pub venues_named: usize,
}

impl Default for StormRules {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(2),
            venue_incidents: 5,
            venues: 3,
            quiet: Duration::from_secs(30),
            venues_named: 6,
        }
    }
}

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// One new DOWN incident.
    NewDown,
    /// One escalation.
    Escalation,
    /// One ack expiry.
    AckExpired,
    /// A playbook's notify step.
    Playbook,
    /// A storm: many notices at once, grouped.
    Storm,
    /// A storm ended; this many more notices arrived while it lasted.
    StormOver,
}

impl From<NoticeKind> for NotificationKind {
    fn from(kind: NoticeKind) -> Self {
        match kind {
            NoticeKind::NewDown => NotificationKind::NewDown,
            NoticeKind::Escalation => NotificationKind::Escalation,
            NoticeKind::AckExpired => NotificationKind::AckExpired,
            NoticeKind::Playbook => NotificationKind::Playbook,
        }
    }
}

/// One notification to send: what a person sees (summary, body) and, for
/// the notify command, the notices behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    /// When the grouper emitted it.
    #[serde(with = "rfc3339")]
    pub at: SystemTime,
    /// What it is about.
    pub kind: NotificationKind,
    /// A DOWN is among its notices (urgency critical).
    pub critical: bool,
    /// The line a desktop shows in bold.
    pub summary: String,
    /// The lines under it.
    pub body: String,
    /// Notices it stands for.
    pub incidents: usize,
    /// Notices by kind.
    pub kinds: BTreeMap<NoticeKind, usize>,
    /// Venues, most notices first.
    pub venues: Vec<String>,
    /// The first [`NOTICES_CARRIED`] notices.
    pub notices: Vec<Notice>,
}

/// Notices counted by venue and kind.
#[derive(Debug, Default, Clone)]
struct Tally {
    total: usize,
    by_venue: BTreeMap<String, usize>,
    by_kind: BTreeMap<NoticeKind, usize>,
    critical: bool,
    carried: Vec<Notice>,
}

impl Tally {
    fn add(&mut self, notice: Notice) {
        self.total += 1;
        *self.by_venue.entry(notice.venue.clone()).or_default() += 1;
        *self.by_kind.entry(notice.kind).or_default() += 1;
        self.critical |= notice.kind == NoticeKind::NewDown;
        if self.carried.len() < NOTICES_CARRIED {
            self.carried.push(notice);
        }
    }

    /// Venues with their counts, most first, then by name.
    fn venues(&self) -> Vec<(&str, usize)> {
        let mut v: Vec<(&str, usize)> = self
            .by_venue
            .iter()
            .map(|(name, n)| (name.as_str(), *n))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        v
    }

    /// `130 incidents DOWN` or `130 incidents (120 DOWN, 10 Unacknowledged)`.
    fn incidents_text(&self) -> String {
        let noun = if self.total == 1 {
            "incident"
        } else {
            "incidents"
        };
        if let [(kind, _)] = self.by_kind.iter().collect::<Vec<_>>()[..] {
            return format!("{} {noun} {}", self.total, kind.label());
        }
        let parts: Vec<String> = NoticeKind::ALL
            .iter()
            .filter_map(|k| self.by_kind.get(k).map(|n| format!("{n} {}", k.label())))
            .collect();
        format!("{} {noun} ({})", self.total, parts.join(", "))
    }

    /// `STA, AQC, …`: the first `named` venues.
    fn venue_list(&self, named: usize) -> String {
        let venues = self.venues();
        let mut text = venues
            .iter()
            .take(named)
            .map(|(v, _)| *v)
            .collect::<Vec<_>>()
            .join(", ");
        if venues.len() > named {
            text.push_str(", …");
        }
        text
    }

    /// `STA 24 · AQC 10 · …`, at most 12 venues.
    fn venue_counts(&self) -> String {
        let venues = self.venues();
        let mut text = venues
            .iter()
            .take(12)
            .map(|(v, n)| format!("{v} {n}"))
            .collect::<Vec<_>>()
            .join(" · ");
        if venues.len() > 12 {
            let _ = write!(text, " · {} more venues", venues.len() - 12);
        }
        text
    }

    fn into_notification(
        self,
        at: SystemTime,
        kind: NotificationKind,
        summary: String,
        body: String,
    ) -> Notification {
        let venues = self.venues().iter().map(|(v, _)| (*v).to_owned()).collect();
        Notification {
            at,
            kind,
            critical: self.critical,
            summary,
            body,
            incidents: self.total,
            kinds: self.by_kind,
            venues,
            notices: self.carried,
        }
    }
}

/// A storm in progress.
#[derive(Debug)]
struct Storm {
    /// When it last took notices.
    last: SystemTime,
    /// Notices absorbed after its notification went out.
    absorbed: Tally,
}

/// Holds notices and decides what to send. Feed it with
/// [`Grouper::push`]; call [`Grouper::tick`] often (every 250 ms).
#[derive(Debug)]
pub struct Grouper {
    rules: StormRules,
    held: Vec<Notice>,
    opened: Option<SystemTime>,
    storm: Option<Storm>,
}

impl Grouper {
    /// A grouper with nothing held.
    pub fn new(rules: StormRules) -> Self {
        Self {
            rules,
            held: Vec::new(),
            opened: None,
            storm: None,
        }
    }

    /// Takes a notice that arrived at `now`; it is held until the window
    /// that it opened or joined has passed.
    pub fn push(&mut self, notice: Notice, now: SystemTime) {
        self.held.push(notice);
        self.opened.get_or_insert(now);
    }

    /// Notices held now.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Whether a storm is in progress.
    pub fn in_storm(&self) -> bool {
        self.storm.is_some()
    }

    /// What to send at `now`: the held batch once its window has passed,
    /// and the end of a storm once it has been quiet long enough.
    pub fn tick(&mut self, now: SystemTime) -> Vec<Notification> {
        let mut out = Vec::new();
        if let Some(opened) = self.opened
            && now.duration_since(opened).unwrap_or_default() >= self.rules.window
        {
            out.extend(self.close_batch(now));
        }
        if let Some(storm) = &self.storm
            && self.held.is_empty()
            && now.duration_since(storm.last).unwrap_or_default() >= self.rules.quiet
        {
            out.extend(self.end_storm(now));
        }
        out
    }

    /// Everything now: the held batch whatever its age, and the end of a
    /// storm (at shutdown).
    pub fn flush(&mut self, now: SystemTime) -> Vec<Notification> {
        let mut out = self.close_batch(now);
        out.extend(self.end_storm(now));
        out
    }

    fn close_batch(&mut self, now: SystemTime) -> Vec<Notification> {
        self.opened = None;
        let batch = std::mem::take(&mut self.held);
        if batch.is_empty() {
            return Vec::new();
        }
        if let Some(storm) = &mut self.storm {
            storm.last = now;
            for notice in batch {
                storm.absorbed.add(notice);
            }
            return Vec::new();
        }
        if self.is_storm(&batch) {
            self.storm = Some(Storm {
                last: now,
                absorbed: Tally::default(),
            });
            return vec![self.storm_notification(batch, now)];
        }
        batch.into_iter().map(|n| single(n, now)).collect()
    }

    fn is_storm(&self, batch: &[Notice]) -> bool {
        let mut by_venue: BTreeMap<&str, usize> = BTreeMap::new();
        for notice in batch {
            *by_venue.entry(notice.venue.as_str()).or_default() += 1;
        }
        by_venue.len() > self.rules.venues
            || by_venue.values().any(|n| *n > self.rules.venue_incidents)
    }

    fn storm_notification(&self, batch: Vec<Notice>, now: SystemTime) -> Notification {
        let mut tally = Tally::default();
        for notice in batch {
            tally.add(notice);
        }
        let venues = tally.by_venue.len();
        let summary = format!(
            "Storm: {venues} {}, {}: {}",
            if venues == 1 { "venue" } else { "venues" },
            tally.incidents_text(),
            tally.venue_list(self.rules.venues_named),
        );
        let body = format!(
            "{}\nNo single notifications until it has been quiet for {}; \
             the console's incident list has them all.",
            tally.venue_counts(),
            humantime::format_duration(self.rules.quiet),
        );
        tally.into_notification(now, NotificationKind::Storm, summary, body)
    }

    fn end_storm(&mut self, now: SystemTime) -> Vec<Notification> {
        let Some(storm) = self.storm.take() else {
            return Vec::new();
        };
        let tally = storm.absorbed;
        if tally.total == 0 {
            return Vec::new();
        }
        let venues = tally.by_venue.len();
        let summary = format!(
            "Storm over: {} more during it, {venues} {}: {}",
            tally.incidents_text(),
            if venues == 1 { "venue" } else { "venues" },
            tally.venue_list(self.rules.venues_named),
        );
        let body = tally.venue_counts();
        vec![tally.into_notification(now, NotificationKind::StormOver, summary, body)]
    }
}

/// The notification for one notice.
fn single(notice: Notice, now: SystemTime) -> Notification {
    let summary = format!(
        "{} {}: {}",
        notice.kind.label(),
        notice.venue,
        notice.subject
    );
    let body = format!(
        "{}\n{} · incident {}",
        notice.title, notice.severity, notice.incident_id
    );
    let mut tally = Tally::default();
    let kind = notice.kind.into();
    tally.add(notice);
    tally.into_notification(now, kind, summary, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000) + Duration::from_millis(ms)
    }

    fn notice(kind: NoticeKind, venue: &str, n: usize, at: SystemTime) -> Notice {
        Notice {
            at,
            kind,
            incident_id: format!("{venue}-{n}"),
            key: format!("device-down:{venue}-dev-{n}"),
            venue: venue.to_owned(),
            subject: format!("{venue}-dev-{n}"),
            severity: "critical".to_owned(),
            title: format!("{venue}-dev-{n} down: no answer"),
        }
    }

    fn down(venue: &str, n: usize, at: SystemTime) -> Notice {
        notice(NoticeKind::NewDown, venue, n, at)
    }

    /// Ticks every 250 ms from `from` to `to` (inclusive), collecting.
    fn run(g: &mut Grouper, from: u64, to: u64) -> Vec<Notification> {
        let mut out = Vec::new();
        let mut ms = from;
        while ms <= to {
            out.extend(g.tick(t(ms)));
            ms += 250;
        }
        out
    }

    #[test]
    fn one_down_is_one_notification_after_the_window() {
        let mut g = Grouper::new(StormRules::default());
        g.push(down("STA", 1, t(0)), t(0));
        assert!(run(&mut g, 0, 1750).is_empty(), "held for the window");
        let out = run(&mut g, 2000, 2000);
        assert_eq!(out.len(), 1);
        let n = &out[0];
        assert_eq!(n.kind, NotificationKind::NewDown);
        assert!(n.critical);
        assert_eq!(n.summary, "DOWN STA: STA-dev-1");
        assert_eq!(
            n.body,
            "STA-dev-1 down: no answer\ncritical · incident STA-1"
        );
        assert_eq!(n.incidents, 1);
        assert_eq!(n.notices.len(), 1);
        assert!(run(&mut g, 2250, 60_000).is_empty(), "sent once");
    }

    #[test]
    fn twenty_four_down_in_one_venue_is_one_storm() {
        let mut g = Grouper::new(StormRules::default());
        for i in 0..24u64 {
            g.push(
                down("STA", usize::try_from(i).unwrap_or(0), t(i * 50)),
                t(i * 50),
            );
        }
        let out = run(&mut g, 0, 5000);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].kind, NotificationKind::Storm);
        assert_eq!(out[0].summary, "Storm: 1 venue, 24 incidents DOWN: STA");
        assert_eq!(out[0].incidents, 24);
        assert!(out[0].critical);
        assert!(g.in_storm());
    }

    #[test]
    fn forty_nine_venues_by_five_is_one_storm() {
        let mut g = Grouper::new(StormRules::default());
        let venues: Vec<String> = (0..49).map(|v| format!("V{v:02}")).collect();
        for (i, venue) in venues.iter().enumerate() {
            for d in 0..5 {
                g.push(down(venue, d, t(0)), t(u64::try_from(i).unwrap_or(0) * 10));
            }
        }
        let out = run(&mut g, 0, 40_000);
        assert_eq!(out.len(), 1, "{out:#?}");
        let n = &out[0];
        assert_eq!(n.kind, NotificationKind::Storm);
        assert_eq!(
            n.summary,
            "Storm: 49 venues, 245 incidents DOWN: V00, V01, V02, V03, V04, V05, …"
        );
        assert_eq!(n.venues.len(), 49);
        assert_eq!(n.notices.len(), NOTICES_CARRIED);
        assert!(n.body.starts_with("V00 5 · V01 5"), "{}", n.body);
        assert!(n.body.contains("37 more venues"), "{}", n.body);
    }

    #[test]
    fn two_incidents_ten_seconds_apart_are_two() {
        let mut g = Grouper::new(StormRules::default());
        g.push(down("STA", 1, t(0)), t(0));
        let mut out = run(&mut g, 0, 9750);
        g.push(down("AQC", 2, t(10_000)), t(10_000));
        out.extend(run(&mut g, 10_000, 20_000));
        let summaries: Vec<&str> = out.iter().map(|n| n.summary.as_str()).collect();
        assert_eq!(summaries, ["DOWN STA: STA-dev-1", "DOWN AQC: AQC-dev-2"]);
        assert_eq!(out[0].at, t(2000));
        assert_eq!(out[1].at, t(12_000));
    }

    #[test]
    fn a_few_in_one_window_below_the_limits_go_one_by_one() {
        let mut g = Grouper::new(StormRules::default());
        for (i, venue) in ["STA", "STA", "AQC"].iter().enumerate() {
            g.push(down(venue, i, t(0)), t(100));
        }
        let out = run(&mut g, 0, 3000);
        assert_eq!(out.len(), 3);
        assert!(out.iter().all(|n| n.kind == NotificationKind::NewDown));
        assert!(!g.in_storm());
    }

    #[test]
    fn escalation_and_ack_expiry_are_sent_normal_urgency() {
        let mut g = Grouper::new(StormRules::default());
        g.push(notice(NoticeKind::Escalation, "STA", 1, t(0)), t(0));
        g.push(notice(NoticeKind::AckExpired, "AQC", 2, t(0)), t(0));
        let out = run(&mut g, 0, 3000);
        let got: Vec<(NotificationKind, bool, &str)> = out
            .iter()
            .map(|n| (n.kind, n.critical, n.summary.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    NotificationKind::Escalation,
                    false,
                    "Unacknowledged STA: STA-dev-1"
                ),
                (
                    NotificationKind::AckExpired,
                    false,
                    "Ack expired AQC: AQC-dev-2"
                ),
            ]
        );
    }

    #[test]
    fn escalations_group_like_downs() {
        let mut g = Grouper::new(StormRules::default());
        for v in 0..10 {
            g.push(
                notice(NoticeKind::Escalation, &format!("V{v}"), v, t(0)),
                t(0),
            );
        }
        g.push(notice(NoticeKind::AckExpired, "V0", 99, t(0)), t(0));
        let out = run(&mut g, 0, 3000);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].kind, NotificationKind::Storm);
        assert!(!out[0].critical, "no DOWN among them");
        assert!(
            out[0].summary.starts_with(
                "Storm: 10 venues, 11 incidents (10 Unacknowledged, 1 Ack expired): V0, "
            ),
            "{}",
            out[0].summary
        );
    }

    #[test]
    fn a_storm_absorbs_what_follows_and_says_so_when_quiet() {
        let rules = StormRules::default();
        let mut g = Grouper::new(rules.clone());
        for v in 0..10 {
            g.push(down(&format!("V{v}"), 0, t(0)), t(0));
        }
        let mut out = run(&mut g, 0, 2000);
        assert_eq!(out.len(), 1);
        // A trickle during the storm: one every 5 s for 20 s.
        for i in 1..=4u64 {
            let at = t(2000 + i * 5000);
            g.push(down("STA", usize::try_from(i).unwrap_or(0), at), at);
            out.extend(run(&mut g, 2000 + i * 5000, 2000 + i * 5000 + 4750));
        }
        assert_eq!(out.len(), 1, "absorbed: {out:#?}");
        assert!(g.in_storm());
        // The last took at 24 s: quiet from 54 s.
        out.extend(run(&mut g, 25_000, 53_750));
        assert_eq!(out.len(), 1);
        out.extend(run(&mut g, 54_000, 60_000));
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].kind, NotificationKind::StormOver);
        assert_eq!(
            out[1].summary,
            "Storm over: 4 incidents DOWN more during it, 1 venue: STA"
        );
        assert_eq!(out[1].at, t(54_000));
        assert!(!g.in_storm());
        // Afterwards a single incident is single again.
        g.push(down("AQC", 7, t(70_000)), t(70_000));
        let after = run(&mut g, 70_000, 72_000);
        assert_eq!(after.len(), 1);
        assert_eq!(after[0].kind, NotificationKind::NewDown);
    }

    #[test]
    fn a_storm_with_nothing_after_it_ends_silently() {
        let mut g = Grouper::new(StormRules::default());
        for v in 0..5 {
            g.push(down(&format!("V{v}"), 0, t(0)), t(0));
        }
        let out = run(&mut g, 0, 120_000);
        assert_eq!(out.len(), 1);
        assert!(!g.in_storm());
    }

    #[test]
    fn flush_sends_what_is_held_at_once() {
        let mut g = Grouper::new(StormRules::default());
        g.push(down("STA", 1, t(0)), t(0));
        let out = g.flush(t(10));
        assert_eq!(out.len(), 1);
        assert_eq!(g.held(), 0);
        assert!(g.tick(t(5000)).is_empty());
    }

    #[test]
    fn a_clock_that_steps_back_holds_rather_than_panics() {
        let mut g = Grouper::new(StormRules::default());
        g.push(down("STA", 1, t(5000)), t(5000));
        assert!(g.tick(t(0)).is_empty());
        assert_eq!(g.tick(t(7000)).len(), 1);
    }

    #[test]
    fn notification_json_names_kinds_and_times() {
        let n = single(down("STA", 1, t(0)), t(2000));
        let json = serde_json::to_value(&n).unwrap_or_default();
        assert_eq!(json["kind"], "new_down");
        assert_eq!(json["at"], "2027-01-15T08:00:02.000Z");
        assert_eq!(json["kinds"]["new_down"], 1);
        assert_eq!(json["notices"][0]["kind"], "new_down");
        assert_eq!(json["notices"][0]["at"], "2027-01-15T08:00:00.000Z");
        assert_eq!(json["notices"][0]["venue"], "STA");
    }
}
