//! The command line's `--interval` and `--timeout` (`toc demo`), checked
//! as the file's `poll_interval` and `timeout` are: each in its range,
//! and no device's timeout longer than its interval once they apply.

use std::time::Duration;

use super::model::Inventory;
use crate::config::value::{POLL_INTERVAL, TIMEOUT};

impl Inventory {
    /// Checks `--interval` and `--timeout` against the ranges of the file
    /// and against every device they apply to. The error names the flags
    /// and, when the file is involved, the device.
    pub fn check_overrides(
        &self,
        interval: Option<Duration>,
        timeout: Option<Duration>,
    ) -> Result<(), String> {
        if let Some(i) = interval {
            POLL_INTERVAL.check_named(i, "--interval")?;
        }
        if let Some(t) = timeout {
            TIMEOUT.check_named(t, "--timeout")?;
        }
        let fmt = humantime::format_duration;
        match (interval, timeout) {
            (Some(i), Some(t)) if t > i => Err(format!(
                "--timeout {} exceeds --interval {}: shorten the timeout or lengthen the interval",
                fmt(t),
                fmt(i)
            )),
            (None, None) | (Some(_), Some(_)) => Ok(()),
            (Some(i), None) => match self.devices.iter().find(|d| d.timeout > i) {
                Some(d) => Err(format!(
                    "--interval {} is shorter than the timeout {} of `{}`: give a --timeout up to {} too, or a longer interval",
                    fmt(i),
                    fmt(d.timeout),
                    d.id,
                    fmt(i)
                )),
                None => Ok(()),
            },
            (None, Some(t)) => match self.devices.iter().find(|d| t > d.poll_interval) {
                Some(d) => Err(format!(
                    "--timeout {} exceeds the poll_interval {} of `{}`: give a shorter timeout, or an --interval too",
                    fmt(t),
                    fmt(d.poll_interval),
                    d.id
                )),
                None => Ok(()),
            },
        }
    }
}
