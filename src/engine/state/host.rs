//! The TOC host, as its own sampler last saw it.

use std::sync::Arc;

use crate::model::{HostSample, Status};

/// The latest host sample.
#[derive(Debug, Default)]
pub struct Host {
    latest: Option<Arc<HostSample>>,
}

impl Host {
    /// Records a sample; returns the verdict's status before and after
    /// when it changed (`None` before the first sample).
    pub fn apply(&mut self, sample: HostSample) -> Option<(Option<Status>, Status)> {
        let before = self.latest.as_ref().map(|h| h.outcome.result.status());
        let after = sample.outcome.result.status();
        self.latest = Some(Arc::new(sample));
        (before != Some(after)).then_some((before, after))
    }

    /// The latest sample.
    pub fn latest(&self) -> Option<&Arc<HostSample>> {
        self.latest.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::model::{CheckResult, Outcome};

    fn sample(result: CheckResult) -> HostSample {
        HostSample {
            name: "toc-1".into(),
            at: UNIX_EPOCH,
            outcome: Outcome::new(result),
        }
    }

    #[test]
    fn a_changed_verdict_is_reported_once() {
        let mut host = Host::default();
        assert_eq!(
            host.apply(sample(CheckResult::Ok)),
            Some((None, Status::Ok))
        );
        assert_eq!(host.apply(sample(CheckResult::Ok)), None);
        assert_eq!(
            host.apply(sample(CheckResult::Warn("disk 95%".into()))),
            Some((Some(Status::Ok), Status::Degraded))
        );
        assert_eq!(host.latest().map(|h| h.name.as_str()), Some("toc-1"));
    }
}
