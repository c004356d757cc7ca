//! Client retry backoff: see [`Backoff`].

use std::time::Duration;

use rand::{Rng, RngExt};

/// How long a client waits for each authentication attempt, as Mesos's scheduler
/// driver and agent do it (`src/sched/sched.cpp` and `src/slave/slave.cpp`,
/// `authenticate` and `_authenticate`).
///
/// Each attempt gets a timeout drawn uniformly from a range `[min, max]`. The
/// first range is `[min, min + 2 * factor]`; each retry doubles the width,
/// `max' = min + 2 * (max - min)`, and `max` stops at `timeout_max`. With Mesos's
/// defaults (`--authentication_timeout_min=5secs`,
/// `--authentication_backoff_factor=1secs`, `--authentication_timeout_max=1mins`):
/// `[5,7]`, `[5,9]`, `[5,13]`, `[5,21]`, `[5,37]`, then `[5,60]` for good. A retry
/// starts as soon as the previous attempt times out; after an attempt that
/// failed sooner (an error), it starts when that attempt's timeout would have
/// run out, so every retry waits at least `timeout_min` (Mesos retries at once).
///
/// No clock and no global randomness: the caller passes the random number
/// generator, so a seeded one makes the timeouts reproducible.
///
/// ```
/// use std::time::Duration;
/// use cyrus_sasl_mesos::Backoff;
/// let secs = |s| Duration::from_secs(s);
/// let ranges: Vec<_> = Backoff::default().ranges().take(7).map(|r| (r.min, r.max)).collect();
/// assert_eq!(ranges, [
///     (secs(5), secs(7)), (secs(5), secs(9)), (secs(5), secs(13)), (secs(5), secs(21)),
///     (secs(5), secs(37)), (secs(5), secs(60)), (secs(5), secs(60)),
/// ]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Backoff {
    timeout_min: Duration,
    backoff_factor: Duration,
    timeout_max: Duration,
}

/// `timeout_min` was above `timeout_max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("authentication timeout_min ({min:?}) is above timeout_max ({max:?}): swap them")]
pub struct BackoffError {
    /// The minimum given.
    pub min: Duration,
    /// The maximum given.
    pub max: Duration,
}

/// One attempt's timeout range, bounds included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimeoutRange {
    /// The shortest timeout.
    pub min: Duration,
    /// The longest timeout.
    pub max: Duration,
}

/// The ranges of attempts 1, 2, 3, ...: an endless iterator.
#[derive(Clone, Debug)]
pub struct TimeoutRanges {
    next: TimeoutRange,
    cap: Duration,
}

impl Backoff {
    /// Mesos's `DEFAULT_AUTHENTICATION_TIMEOUT_MIN`: 5 seconds.
    pub const DEFAULT_TIMEOUT_MIN: Duration = Duration::from_secs(5);
    /// Mesos's `DEFAULT_AUTHENTICATION_BACKOFF_FACTOR`: 1 second.
    pub const DEFAULT_BACKOFF_FACTOR: Duration = Duration::from_secs(1);
    /// Mesos's `DEFAULT_AUTHENTICATION_TIMEOUT_MAX`: 1 minute.
    pub const DEFAULT_TIMEOUT_MAX: Duration = Duration::from_secs(60);

    /// Backoff with these parameters. `timeout_min` must not exceed `timeout_max`.
    pub fn new(timeout_min: Duration, backoff_factor: Duration, timeout_max: Duration) -> Result<Self, BackoffError> {
        if timeout_min > timeout_max {
            return Err(BackoffError { min: timeout_min, max: timeout_max });
        }
        Ok(Backoff { timeout_min, backoff_factor, timeout_max })
    }

    /// The lower bound of every range.
    pub fn timeout_min(&self) -> Duration {
        self.timeout_min
    }

    /// Half the width of the first range.
    pub fn backoff_factor(&self) -> Duration {
        self.backoff_factor
    }

    /// The upper bound no range exceeds.
    pub fn timeout_max(&self) -> Duration {
        self.timeout_max
    }

    /// The ranges of successive attempts.
    pub fn ranges(&self) -> TimeoutRanges {
        let max = self.timeout_min.saturating_add(self.backoff_factor.saturating_mul(2)).min(self.timeout_max);
        TimeoutRanges { next: TimeoutRange { min: self.timeout_min, max }, cap: self.timeout_max }
    }
}

impl Default for Backoff {
    /// Mesos's defaults: 5 s, 1 s, 60 s.
    fn default() -> Self {
        Backoff {
            timeout_min: Self::DEFAULT_TIMEOUT_MIN,
            backoff_factor: Self::DEFAULT_BACKOFF_FACTOR,
            timeout_max: Self::DEFAULT_TIMEOUT_MAX,
        }
    }
}

impl Iterator for TimeoutRanges {
    type Item = TimeoutRange;

    fn next(&mut self) -> Option<TimeoutRange> {
        let current = self.next;
        let width = current.max - current.min;
        let max = current.min.saturating_add(width.saturating_mul(2)).min(self.cap);
        self.next = TimeoutRange { min: current.min, max };
        Some(current)
    }
}

impl TimeoutRange {
    /// A timeout drawn uniformly from the range (nanosecond resolution).
    ///
    /// ```
    /// use rand::SeedableRng;
    /// use cyrus_sasl_mesos::Backoff;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    /// let range = Backoff::default().ranges().next().unwrap();
    /// let timeout = range.sample(&mut rng);
    /// assert!(range.contains(timeout));
    /// ```
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Duration {
        let nanos = rng.random_range(self.min.as_nanos()..=self.max.as_nanos());
        // Within [min, max], so the seconds fit a u64 as a Duration's do.
        Duration::new((nanos / 1_000_000_000) as u64, (nanos % 1_000_000_000) as u32)
    }

    /// Whether `timeout` lies in the range.
    pub fn contains(&self, timeout: Duration) -> bool {
        (self.min..=self.max).contains(&timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn default_ranges_are_mesos_slave_authentication_retry_backoff_table() {
        // The table in Mesos's AuthenticationTest.SlaveAuthenticationRetryBackoff.
        let expected = [(5, 7), (5, 9), (5, 13), (5, 21), (5, 37), (5, 60), (5, 60)];
        let got: Vec<(u64, u64)> =
            Backoff::default().ranges().take(7).map(|r| (r.min.as_secs(), r.max.as_secs())).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn other_parameters_follow_the_same_rule() {
        let backoff = Backoff::new(secs(2), Duration::from_millis(500), secs(10)).unwrap();
        let got: Vec<Duration> = backoff.ranges().take(5).map(|r| r.max).collect();
        assert_eq!(got, [secs(3), secs(4), secs(6), secs(10), secs(10)]);
        // A factor of zero keeps the range at [min, min].
        let flat = Backoff::new(secs(5), Duration::ZERO, secs(60)).unwrap();
        assert!(flat.ranges().take(10).all(|r| r.min == secs(5) && r.max == secs(5)));
        // A first range wider than the cap is capped at once.
        let capped = Backoff::new(secs(5), secs(100), secs(60)).unwrap();
        assert_eq!(capped.ranges().next().unwrap().max, secs(60));
    }

    #[test]
    fn huge_parameters_saturate_instead_of_overflowing() {
        let backoff = Backoff::new(Duration::MAX / 2, Duration::MAX, Duration::MAX).unwrap();
        let ranges: Vec<TimeoutRange> = backoff.ranges().take(3).collect();
        assert!(ranges.iter().all(|r| r.max == Duration::MAX), "{ranges:?}");
        let mut rng = StdRng::seed_from_u64(1);
        assert!(ranges[0].contains(ranges[0].sample(&mut rng)));
    }

    #[test]
    fn min_above_max_is_an_error() {
        assert_eq!(Backoff::new(secs(9), secs(1), secs(8)), Err(BackoffError { min: secs(9), max: secs(8) }));
        assert!(Backoff::new(secs(8), secs(1), secs(8)).is_ok());
    }

    #[test]
    fn samples_stay_in_range_spread_over_it_and_repeat_with_the_seed() {
        let range = TimeoutRange { min: secs(5), max: secs(7) };
        let draw = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            (0..1000).map(|_| range.sample(&mut rng)).collect::<Vec<_>>()
        };
        let samples = draw(42);
        assert_eq!(samples, draw(42), "same seed, same timeouts");
        assert_ne!(samples, draw(43));
        assert!(samples.iter().all(|&t| range.contains(t)));
        // Uniform over [5 s, 7 s]: 1000 draws reach both ends of it.
        assert!(samples.iter().any(|&t| t < Duration::from_millis(5100)));
        assert!(samples.iter().any(|&t| t > Duration::from_millis(6900)));
        let point = TimeoutRange { min: secs(5), max: secs(5) };
        assert_eq!(point.sample(&mut StdRng::seed_from_u64(0)), secs(5));
    }
}
