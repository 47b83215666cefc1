//! Validation of `[incidents]`: durations in their ranges, the notify
//! command an argv list whose program is an absolute path or a bare name.

use std::time::Duration;

use toml::Spanned;

use crate::config::value::{Dur, DurRange};
use crate::config::venues::cx::Cx;
use crate::config::venues::model::IncidentPolicy;
use crate::config::venues::raw::RawIncidents;

/// `resolve_hold`: 0s (resolve as soon as clear) to 1h.
pub(crate) const RESOLVE_HOLD: DurRange = DurRange {
    name: "resolve_hold",
    min: Duration::ZERO,
    max: Duration::from_secs(3600),
};

/// `reopen_window`: 0s (never reopen) to 24h.
pub(crate) const REOPEN_WINDOW: DurRange = DurRange {
    name: "reopen_window",
    min: Duration::ZERO,
    max: Duration::from_secs(86_400),
};

/// `ack_timeout.*`: 1m to 24h.
pub(crate) const ACK_TIMEOUT: DurRange = DurRange {
    name: "ack_timeout",
    min: Duration::from_secs(60),
    max: Duration::from_secs(86_400),
};

/// `notify_timeout`: 100ms to 5m.
pub(crate) const NOTIFY_TIMEOUT: DurRange = DurRange {
    name: "notify_timeout",
    min: Duration::from_millis(100),
    max: Duration::from_secs(300),
};

/// The most arguments of `notify_command`, program included.
const MAX_ARGS: usize = 64;
/// The longest argument of `notify_command`, in bytes.
const MAX_ARG: usize = 4096;

impl Cx<'_> {
    /// Checks `[incidents]`; every key left out takes its default.
    pub(super) fn validate_incidents(&mut self, raw: Option<&RawIncidents>) -> IncidentPolicy {
        let mut p = IncidentPolicy::default();
        let Some(raw) = raw else { return p };
        let set = |cx: &mut Self,
                   v: Option<&Spanned<Dur>>,
                   range: DurRange,
                   what: &str,
                   into: &mut Duration| {
            if let Some(v) = v {
                cx.within(Some(v), range, what);
                *into = v.get_ref().0;
            }
        };
        set(
            self,
            raw.resolve_hold.as_ref(),
            RESOLVE_HOLD,
            "resolve_hold",
            &mut p.resolve_hold,
        );
        set(
            self,
            raw.reopen_window.as_ref(),
            REOPEN_WINDOW,
            "reopen_window",
            &mut p.reopen_window,
        );
        if let Some(ack) = &raw.ack_timeout {
            let t = &mut p.ack_timeout;
            set(
                self,
                ack.down.as_ref(),
                ACK_TIMEOUT,
                "ack_timeout.down",
                &mut t.down,
            );
            set(
                self,
                ack.degraded.as_ref(),
                ACK_TIMEOUT,
                "ack_timeout.degraded",
                &mut t.degraded,
            );
            set(
                self,
                ack.unknown.as_ref(),
                ACK_TIMEOUT,
                "ack_timeout.unknown",
                &mut t.unknown,
            );
        }
        set(
            self,
            raw.notify_timeout.as_ref(),
            NOTIFY_TIMEOUT,
            "notify_timeout",
            &mut p.notify_timeout,
        );
        if let Some(cmd) = &raw.notify_command {
            p.notify_command = self.notify_command(cmd);
        }
        p.bell = raw.bell.unwrap_or(false);
        p
    }

    /// Checks the notify command's argv; returns it.
    fn notify_command(&mut self, cmd: &Spanned<Vec<Spanned<String>>>) -> Vec<String> {
        let args = cmd.get_ref();
        let Some(program) = args.first() else {
            self.error(
                cmd.span(),
                "notify_command is empty",
                "give the program and its arguments, e.g. [\"/usr/local/bin/page\", \"--team\", \"toc\"], or remove the key",
            );
            return Vec::new();
        };
        if args.len() > MAX_ARGS {
            self.error(
                cmd.span(),
                format!(
                    "notify_command has {} arguments: at most {MAX_ARGS}",
                    args.len()
                ),
                "pass fewer arguments; the incident itself comes as JSON on stdin",
            );
        }
        for a in args {
            if a.get_ref().len() > MAX_ARG || a.get_ref().contains('\0') {
                self.error(
                    a.span(),
                    format!("an argument of notify_command is longer than {MAX_ARG} bytes or holds a NUL"),
                    "shorten it",
                );
            }
        }
        self.notify_program(program);
        args.iter().map(|a| a.get_ref().clone()).collect()
    }

    /// The program: an absolute path, or a bare name looked up in `PATH`.
    fn notify_program(&mut self, program: &Spanned<String>) {
        let p = program.get_ref();
        let path = std::path::Path::new(p);
        if p.trim().is_empty() {
            self.error(
                program.span(),
                "the program of notify_command is empty",
                "give an absolute path (\"/usr/local/bin/page\") or a program name found in PATH",
            );
        } else if p.contains('/') && !path.is_absolute() {
            self.error(
                program.span(),
                format!("the program of notify_command `{p}` is a relative path"),
                "give an absolute path (\"/usr/local/bin/page\") or a bare name found in PATH: a relative path depends on the folder toc starts in",
            );
        } else if path.is_absolute() && !path.is_file() {
            self.warning(
                program.span(),
                format!("the program of notify_command `{p}` does not exist here"),
                "notifications through the command will fail on this machine until it is installed",
            );
        }
    }
}
