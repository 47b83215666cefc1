//! How long to wait before the next attempt to reconnect: 0.5 s, doubling
//! up to 10 s, each with ±20 % of jitter so that a hundred consoles that
//! lost the same server do not all knock at the same instant.

use std::time::Duration;

/// The first wait.
pub const FIRST: Duration = Duration::from_millis(500);

/// The longest wait.
pub const MAX: Duration = Duration::from_secs(10);

/// The jitter: each wait is the nominal one times a factor in
/// `1 ± JITTER`.
pub const JITTER: f64 = 0.2;

/// The waits between attempts.
#[derive(Debug, Clone)]
pub struct Backoff {
    nominal: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { nominal: FIRST }
    }
}

impl Backoff {
    /// Starts at [`FIRST`].
    pub fn new() -> Self {
        Backoff::default()
    }

    /// The next wait, with a random jitter.
    pub fn next_wait(&mut self) -> Duration {
        self.next_with(rand::random_range(-1.0..=1.0))
    }

    /// The next wait with the jitter `unit` (in `-1..=1`, scaled to
    /// ±[`JITTER`]).
    pub fn next_with(&mut self, unit: f64) -> Duration {
        let factor = 1.0 + JITTER * unit.clamp(-1.0, 1.0);
        let wait = self.nominal.mul_f64(factor);
        self.nominal = (self.nominal * 2).min(MAX);
        wait
    }

    /// After a success: the next wait is [`FIRST`] again.
    pub fn reset(&mut self) {
        self.nominal = FIRST;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_half_a_second_to_ten_and_resets() {
        let mut b = Backoff::new();
        let waits: Vec<u128> = (0..8).map(|_| b.next_with(0.0).as_millis()).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 10000, 10000, 10000]);
        b.reset();
        assert_eq!(b.next_with(0.0), FIRST);
    }

    #[test]
    fn jitter_stays_within_a_fifth() {
        let mut b = Backoff::new();
        assert_eq!(b.next_with(-1.0).as_millis(), 400);
        assert_eq!(b.next_with(1.0).as_millis(), 1200);
        assert_eq!(b.next_with(7.0).as_millis(), 2400);
        for _ in 0..200 {
            let mut b = Backoff::new();
            let w = b.next_wait();
            assert!((400..=600).contains(&w.as_millis()), "{w:?}");
        }
        let mut b = Backoff::new();
        for _ in 0..20 {
            assert!(b.next_wait() <= MAX.mul_f64(1.0 + JITTER));
        }
    }
}
