//! Per-sink delivery metrics: latency from ingest to delivery over a
//! sliding last minute (six rotating 10 s histograms), the count
//! delivered, and the rate over the last few seconds. Pure: every call
//! takes the time, so tests drive it without a clock.

use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::time::Instant;

/// How long one latency window covers.
pub const WINDOW: Duration = Duration::from_secs(10);
/// How many windows make the sliding minute.
pub const WINDOWS: usize = 6;
/// How many one-second buckets the rate averages.
pub const RATE_SECONDS: usize = 5;

/// Latencies are kept in microseconds from 1 µs to one hour, with two
/// significant digits (1 % error).
const MAX_MICROS: u64 = 3_600_000_000;

/// One sink's metrics.
#[derive(Debug)]
pub struct SinkMetrics {
    started: Instant,
    /// Window `i` holds the latencies of window number `numbers[i]`.
    windows: Vec<Histogram<u64>>,
    numbers: Vec<u64>,
    /// Per second: its number since `started` and its count.
    seconds: [(u64, u64); RATE_SECONDS + 1],
    delivered: u64,
    rejected: u64,
    retries: u64,
}

/// What [`SinkMetrics::summary`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Summary {
    /// Delivered since start.
    pub delivered: u64,
    /// Refused for good by the consumer since start.
    pub rejected: u64,
    /// Delivery attempts that failed and were retried, since start.
    pub retries: u64,
    /// Messages per second over the last [`RATE_SECONDS`] whole seconds.
    pub rate: f64,
    /// Median latency over the last minute.
    pub p50: Option<Duration>,
    /// 99th percentile over the last minute.
    pub p99: Option<Duration>,
    /// 99.9th percentile over the last minute.
    pub p999: Option<Duration>,
    /// Largest over the last minute.
    pub max: Option<Duration>,
    /// Latencies over the last minute.
    pub count: u64,
}

#[allow(clippy::expect_used)]
fn histogram() -> Histogram<u64> {
    // Constant bounds that hdrhistogram accepts (low >= 1, high >= 2 *
    // low, sigfig <= 5): this cannot fail.
    Histogram::new_with_bounds(1, MAX_MICROS, 2).expect("constant histogram bounds")
}

impl SinkMetrics {
    /// Empty metrics starting at `now`.
    pub fn new(now: Instant) -> SinkMetrics {
        SinkMetrics {
            started: now,
            windows: (0..WINDOWS).map(|_| histogram()).collect(),
            numbers: vec![u64::MAX; WINDOWS],
            seconds: [(u64::MAX, 0); RATE_SECONDS + 1],
            delivered: 0,
            rejected: 0,
            retries: 0,
        }
    }

    fn since(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.started)
    }

    fn window(&mut self, now: Instant) -> &mut Histogram<u64> {
        let n = u64::try_from(self.since(now).as_nanos() / WINDOW.as_nanos()).unwrap_or(u64::MAX);
        let i = usize::try_from(n % WINDOWS as u64).unwrap_or(0);
        if self.numbers[i] != n {
            self.windows[i].reset();
            self.numbers[i] = n;
        }
        &mut self.windows[i]
    }

    fn second(&self, now: Instant) -> u64 {
        self.since(now).as_secs()
    }

    /// One message delivered at `now` with this latency.
    pub fn delivered(&mut self, now: Instant, latency: Duration) {
        self.delivered += 1;
        let micros = u64::try_from(latency.as_micros())
            .unwrap_or(MAX_MICROS)
            .clamp(1, MAX_MICROS);
        self.window(now).saturating_record(micros);
        let s = self.second(now);
        let slot = &mut self.seconds[usize::try_from(s % (RATE_SECONDS as u64 + 1)).unwrap_or(0)];
        if slot.0 == s {
            slot.1 += 1;
        } else {
            *slot = (s, 1);
        }
    }

    /// One message the consumer refused for good.
    pub fn rejected(&mut self) {
        self.rejected += 1;
    }

    /// One failed attempt, to be retried.
    pub fn retried(&mut self) {
        self.retries += 1;
    }

    /// The figures at `now`.
    pub fn summary(&self, now: Instant) -> Summary {
        let n = u64::try_from(self.since(now).as_nanos() / WINDOW.as_nanos()).unwrap_or(u64::MAX);
        let mut all = histogram();
        for (h, number) in self.windows.iter().zip(&self.numbers) {
            if *number != u64::MAX && *number <= n && n - number < WINDOWS as u64 {
                let _ = all.add(h);
            }
        }
        let q = |q: f64| (!all.is_empty()).then(|| Duration::from_micros(all.value_at_quantile(q)));
        // The rate over the last RATE_SECONDS whole seconds (the current
        // one is still filling), or over the time since start if shorter.
        let s = self.second(now);
        let recent: u64 = self
            .seconds
            .iter()
            .filter(|(sec, _)| *sec != u64::MAX && *sec < s && s - sec <= RATE_SECONDS as u64)
            .map(|(_, c)| c)
            .sum();
        let span = s.clamp(1, RATE_SECONDS as u64);
        #[allow(clippy::cast_precision_loss)]
        let rate = recent as f64 / span as f64;
        Summary {
            delivered: self.delivered,
            rejected: self.rejected,
            retries: self.retries,
            rate,
            p50: q(0.5),
            p99: q(0.99),
            p999: q(0.999),
            max: (!all.is_empty()).then(|| Duration::from_micros(all.max())),
            count: all.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn quantiles_come_from_the_last_minute_only() {
        let t0 = Instant::now();
        let mut m = SinkMetrics::new(t0);
        assert_eq!(m.summary(t0).p50, None);
        for _ in 0..100 {
            m.delivered(t0, ms(500));
        }
        let s = m.summary(t0 + ms(1));
        assert_eq!(s.count, 100);
        let p50 = s.p50.expect("p50");
        assert!(p50 >= ms(495) && p50 <= ms(505), "{p50:?}");
        // 40 s later: fast ones; the slow ones are still in the minute.
        for _ in 0..100 {
            m.delivered(t0 + Duration::from_secs(40), ms(2));
        }
        let s = m.summary(t0 + Duration::from_secs(41));
        assert_eq!(s.count, 200);
        assert!(s.p99.expect("p99") >= ms(495));
        // 61 s after the slow ones, their window has left the minute.
        let s = m.summary(t0 + Duration::from_secs(61));
        assert_eq!(s.count, 100);
        let p99 = s.p99.expect("p99");
        assert!(p99 <= ms(3), "{p99:?}");
        // And a window reused after a full turn starts empty.
        m.delivered(t0 + Duration::from_secs(65), ms(1));
        assert_eq!(m.summary(t0 + Duration::from_secs(65)).count, 101);
        assert_eq!(m.summary(t0 + Duration::from_secs(200)).count, 0);
        assert_eq!(m.summary(t0 + Duration::from_secs(200)).delivered, 201);
    }

    #[test]
    fn the_rate_counts_the_last_whole_seconds() {
        let t0 = Instant::now();
        let mut m = SinkMetrics::new(t0);
        for s in 0..10u64 {
            for i in 0..20u64 {
                m.delivered(t0 + Duration::from_secs(s) + ms(i * 40), ms(1));
            }
        }
        let r = m.summary(t0 + Duration::from_secs(10)).rate;
        assert!((r - 20.0).abs() < 1e-9, "{r}");
        // Silence: the rate falls to zero once the seconds pass.
        let r = m.summary(t0 + Duration::from_secs(13)).rate;
        assert!((r - 8.0).abs() < 1e-9, "{r}");
        assert!(m.summary(t0 + Duration::from_secs(30)).rate.abs() < 1e-9);
        // Shortly after start the rate is over the time so far.
        let mut m = SinkMetrics::new(t0);
        for _ in 0..10 {
            m.delivered(t0 + ms(100), ms(1));
        }
        let r = m.summary(t0 + ms(1500)).rate;
        assert!((r - 10.0).abs() < 1e-9, "{r}");
    }

    #[test]
    fn latencies_out_of_range_are_clamped_not_lost() {
        let t0 = Instant::now();
        let mut m = SinkMetrics::new(t0);
        m.delivered(t0, Duration::ZERO);
        m.delivered(t0, Duration::from_secs(100_000));
        m.rejected();
        let s = m.summary(t0);
        assert_eq!((s.count, s.delivered, s.rejected), (2, 2, 1));
        assert!(s.max.expect("max") >= Duration::from_secs(3500));
    }
}
