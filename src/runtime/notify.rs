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
