//! The engine's notifications to the notifier (`crate::notify`): a new
//! DOWN incident, an escalation, an acknowledgement that expired. Other
//! changes (a DEGRADED incident opening, a note) are on the console and in
//! the log, not on the desktop.

use std::time::SystemTime;

use crate::config::venues::IncidentPolicy;
use crate::engine::port::Notifier;
use crate::engine::state::Notice as EngineNotice;
use crate::incident::lifecycle::Notify;
use crate::notify::{Notice, NoticeKind, NotifierHandle, NotifyConfig};

impl Notifier for NotifierHandle {
    fn notify(&self, notice: EngineNotice) {
        if let Some(n) = notice_of(&notice) {
            self.notice(n);
        }
    }
}

/// What the notifier is told of an engine notice, if anything.
pub fn notice_of(notice: &EngineNotice) -> Option<Notice> {
    let r = &notice.record;
    let kind = match notice.kind {
        Notify::Opened if r.severity == "DOWN" => NoticeKind::NewDown,
        Notify::Opened => return None,
        Notify::Escalated => NoticeKind::Escalation,
        Notify::AckExpired => NoticeKind::AckExpired,
        Notify::Playbook => NoticeKind::Playbook,
    };
    Some(Notice {
        at: r.notified_at.unwrap_or_else(SystemTime::now),
        kind,
        incident_id: r.id.clone(),
        key: r.key.clone(),
        venue: r.venue.clone(),
        subject: r.subject.clone(),
        severity: r.severity.to_ascii_lowercase(),
        title: r.title.clone(),
    })
}

/// The notifier's settings from venues.toml's `[incidents]`.
pub fn config_of(policy: &IncidentPolicy) -> NotifyConfig {
    NotifyConfig {
        command: (!policy.notify_command.is_empty()).then(|| policy.notify_command.clone()),
        command_timeout: policy.notify_timeout,
        ..NotifyConfig::default()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::incident::{IncidentRecord, IncidentState};

    fn notice(kind: Notify, severity: &str) -> EngineNotice {
        EngineNotice {
            kind,
            record: IncidentRecord {
                id: "4-1".into(),
                key: "device:STA-core-a".into(),
                kind: "device-down".into(),
                subject: "STA-core-a".into(),
                venue: "STA".into(),
                severity: severity.into(),
                title: "STA-core-a down".into(),
                state: IncidentState::Open,
                opened_at: UNIX_EPOCH,
                ack: None,
                resolved_at: None,
                resolved_by: None,
                reopened: 0,
                in_maintenance: false,
                notified_at: Some(UNIX_EPOCH + Duration::from_secs(5)),
            },
        }
    }

    #[test]
    fn new_down_escalation_and_expiry_notify_and_nothing_else() {
        let down = notice_of(&notice(Notify::Opened, "DOWN")).expect("down");
        assert_eq!(down.kind, NoticeKind::NewDown);
        assert_eq!(down.venue, "STA");
        assert_eq!(down.at, UNIX_EPOCH + Duration::from_secs(5));
        assert!(notice_of(&notice(Notify::Opened, "DEGRADED")).is_none());
        assert_eq!(
            notice_of(&notice(Notify::Escalated, "DEGRADED")).map(|n| n.kind),
            Some(NoticeKind::Escalation)
        );
        assert_eq!(
            notice_of(&notice(Notify::AckExpired, "DOWN")).map(|n| n.kind),
            Some(NoticeKind::AckExpired)
        );
    }

    #[test]
    fn the_notify_command_comes_from_the_policy() {
        let mut policy = IncidentPolicy::default();
        assert_eq!(config_of(&policy).command, None);
        policy.notify_command = vec!["/usr/local/bin/page".into(), "--team".into()];
        policy.notify_timeout = Duration::from_secs(3);
        let c = config_of(&policy);
        assert_eq!(c.command.as_deref().map(<[String]>::len), Some(2));
        assert_eq!(c.command_timeout, Duration::from_secs(3));
    }
}
