//! Validation of the `[event]` table: defaults, retry budget, flapping
//! thresholds, data folder and SLOs.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use toml::Spanned;

use super::{ID_HELP, is_id};
use crate::config::value::{Dur, POLL_INTERVAL, Size, TIMEOUT};
use crate::config::venues::cx::{Cx, first_span};
use crate::config::venues::model::{Event, LogRotation};

/// The smallest size a log may rotate at.
const MIN_LOG_BYTES: u64 = 64 << 10;
/// The largest size a log may rotate at.
const MAX_LOG_BYTES: u64 = 4 << 30;
use crate::config::venues::raw::RawEvent;

/// The flapping thresholds, in percent state change.
struct Flapping {
    high: f64,
    low: f64,
}

impl Cx<'_> {
    /// Checks `[event]`; `None` when it is missing or broken.
    pub(super) fn validate_event(&mut self, raw: Option<RawEvent>, missing: bool) -> Option<Event> {
        if missing {
            self.error(
                0..0,
                "missing [event] table",
                "add an [event] table with at least name = \"...\"; see docs/config.md",
            );
            return None;
        }
        let raw = raw?;
        let dur = |v: &Option<Spanned<Dur>>, default: u64| {
            v.as_ref()
                .map_or(Duration::from_millis(default), |d| d.get_ref().0)
        };
        let poll_interval = dur(&raw.poll_interval, 5000);
        let timeout = dur(&raw.timeout, 2000);
        self.within(raw.poll_interval.as_ref(), POLL_INTERVAL, "poll_interval");
        self.within(raw.timeout.as_ref(), TIMEOUT, "timeout");
        let mut count = |v: &Option<Spanned<i64>>, default: u32, range, name: &str| {
            v.as_ref()
                .and_then(|v| self.int_range(v, range, name, "write a whole number in that range"))
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(default)
        };
        let retries = count(&raw.retries, 1, 0..=5, "retries");
        let max_attempts = count(&raw.max_attempts, 3, 1..=10, "max_attempts");
        let Flapping {
            high: flap_high,
            low: flap_low,
        } = self.validate_flapping(&raw);
        let budget = timeout.saturating_mul(retries + 1);
        if budget > poll_interval {
            let span = first_span(&[&raw.timeout, &raw.poll_interval], raw.name.span());
            self.error(
                span,
                format!(
                    "timeout x (retries + 1) = {} exceeds poll_interval {}",
                    humantime::format_duration(budget),
                    humantime::format_duration(poll_interval)
                ),
                "shorten timeout, lower retries or lengthen poll_interval: \
                 a slow device would still be in its last check when the next is due",
            );
        }
        let logs = self.validate_logs(&raw);
        let mut slo = BTreeMap::new();
        for (k, v) in raw.slo {
            if !is_id(k.get_ref()) {
                self.error(
                    k.span(),
                    format!("consumer class `{}` is not a valid name", k.get_ref()),
                    ID_HELP,
                );
            }
            if v.get_ref().0.is_zero() {
                self.error(
                    v.span(),
                    format!("the SLO of `{}` must be longer than zero", k.get_ref()),
                    "write e.g. `350ms`",
                );
            }
            slo.insert(k.into_inner(), v.into_inner().0);
        }
        let data_dir = raw.data_dir.map_or_else(
            || PathBuf::from("toc-data"),
            |d| PathBuf::from(d.into_inner()),
        );
        let data_dir = if data_dir.is_relative() {
            self.src
                .path()
                .parent()
                .map_or(data_dir.clone(), |p| p.join(&data_dir))
        } else {
            data_dir
        };
        Some(Event {
            name: raw.name.into_inner(),
            poll_interval,
            timeout,
            retries,
            max_attempts,
            flap_high,
            flap_low,
            data_dir,
            logs,
            slo,
        })
    }

    /// Checks the sizes and counts of rotated logs.
    fn validate_logs(&mut self, raw: &RawEvent) -> LogRotation {
        let default = LogRotation::default();
        let mut size = |v: &Option<Spanned<Size>>, default: u64, name: &str| {
            let Some(v) = v else {
                return default;
            };
            let bytes = v.get_ref().0;
            if (MIN_LOG_BYTES..=MAX_LOG_BYTES).contains(&bytes) {
                bytes
            } else {
                self.error(
                    v.span(),
                    format!("{name} must be from 64KiB to 4GiB"),
                    "write e.g. `16MiB`",
                );
                default
            }
        };
        let log_max_bytes = size(&raw.log_max_size, default.log_max_bytes, "log_max_size");
        let audit_max_bytes = size(
            &raw.audit_max_size,
            default.audit_max_bytes,
            "audit_max_size",
        );
        let mut keep = |v: &Option<Spanned<i64>>, default: usize, name: &str| {
            v.as_ref()
                .and_then(|v| {
                    self.int_range(
                        v,
                        0..=1000,
                        name,
                        "write how many old files to keep, 0 to 1000",
                    )
                })
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(default)
        };
        LogRotation {
            log_max_bytes,
            log_keep: keep(&raw.log_keep, default.log_keep, "log_keep"),
            audit_max_bytes,
            audit_keep: keep(&raw.audit_keep, default.audit_keep, "audit_keep"),
        }
    }

    /// Checks `flap_high` and `flap_low`, alone and together.
    fn validate_flapping(&mut self, raw: &RawEvent) -> Flapping {
        let flap_high = raw.flap_high.as_ref().map_or(50.0, |p| p.get_ref().0);
        let flap_low = raw.flap_low.as_ref().map_or(25.0, |p| p.get_ref().0);
        for (name, value) in [("flap_high", &raw.flap_high), ("flap_low", &raw.flap_low)] {
            if let Some(v) = value {
                let p = v.get_ref().0;
                if !(0.0..=100.0).contains(&p) {
                    self.error(
                        v.span(),
                        format!("{name} is {p}; a percentage is between 0 and 100"),
                        "write e.g. 50",
                    );
                }
            }
        }
        if flap_low >= flap_high {
            let span = first_span(&[&raw.flap_low, &raw.flap_high], raw.name.span());
            self.error(
                span,
                format!("flap_low ({flap_low}) must be lower than flap_high ({flap_high})"),
                "the gap between them keeps a device from toggling in and out of flapping",
            );
        }
        Flapping {
            high: flap_high,
            low: flap_low,
        }
    }
}
