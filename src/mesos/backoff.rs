//! Client retry backoff (Mesos `src/sched/sched.cpp` and `src/slave/slave.cpp`,
//! `authenticate`/`_authenticate`). API sketch.

use std::time::Duration;

/// The per-attempt timeout ranges of an authenticating client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    timeout_min: Duration,
    backoff_factor: Duration,
    timeout_max: Duration,
}

/// `timeout_min` was above `timeout_max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("authentication timeout_min {min:?} is above timeout_max {max:?}")]
pub struct BackoffError {
    /// The minimum given.
    pub min: Duration,
    /// The maximum given.
    pub max: Duration,
}

/// One attempt's timeout range: the timeout is drawn uniformly from `[min, max]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeoutRange {
    /// Lower bound.
    pub min: Duration,
    /// Upper bound.
    pub max: Duration,
}

/// The ranges of successive attempts.
#[derive(Clone, Debug)]
pub struct TimeoutRanges {
    next: TimeoutRange,
    cap: Duration,
}

impl Backoff {
    /// Checked constructor.
    pub fn new(timeout_min: Duration, backoff_factor: Duration, timeout_max: Duration) -> Result<Self, BackoffError> {
        if timeout_min > timeout_max {
            return Err(BackoffError { min: timeout_min, max: timeout_max });
        }
        Ok(Backoff { timeout_min, backoff_factor, timeout_max })
    }

    /// The ranges of attempt 1, 2, ...
    pub fn ranges(&self) -> TimeoutRanges {
        todo!()
    }
}

impl Iterator for TimeoutRanges {
    type Item = TimeoutRange;
    fn next(&mut self) -> Option<TimeoutRange> {
        let _ = (self.next, self.cap);
        todo!()
    }
}
