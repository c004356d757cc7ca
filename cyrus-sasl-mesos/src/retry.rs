//! [`AuthenticationRetry`]: a client's authentication attempts, retried with
//! backoff as Mesos's scheduler driver and agent do (`src/sched/sched.cpp`,
//! `src/slave/slave.cpp`: `authenticate` and `_authenticate`).

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use crate::authenticatee::{Authenticatee, ClientOptions, Credential};
use crate::authenticator::{ExchangeError, Outcome};
use crate::backoff::{Backoff, TimeoutRange, TimeoutRanges};
use crate::messages::Message;

/// The master's final answer to a framework or agent, after however many
/// attempts it took.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// The master accepted the credentials.
    Authenticated,
    /// The master rejected them, or there was no secret. Final: never retried
    /// (Mesos's scheduler reports "Master refused authentication"; its agent exits).
    Rejected,
}

/// What happened, for a driver and its logs.
#[derive(Debug)]
#[non_exhaustive]
pub enum RetryEvent {
    /// Attempt `attempt` began. Its messages are tagged with this number; a
    /// driver sends them over a fresh connection, so nothing of an older attempt
    /// reaches it.
    AttemptStarted {
        /// 1, 2, 3, ...
        attempt: u32,
        /// The range its timeout was drawn from.
        range: TimeoutRange,
        /// Its timeout.
        timeout: Duration,
    },
    /// Attempt `attempt` ended without a verdict. The next one starts at once
    /// (see [`AuthenticationRetry`] for the one exception).
    AttemptFailed {
        /// Which one.
        attempt: u32,
        /// Why; [`ExchangeError::Discarded`] for a timeout or
        /// [`retry_now`](AuthenticationRetry::retry_now).
        error: ExchangeError,
    },
    /// The verdict. Nothing happens after it.
    Finished(Verdict),
}

struct Attempt {
    authenticatee: Authenticatee,
    deadline: Instant,
}

/// Authenticates with retries, as a framework or agent does: each attempt is a
/// fresh [`Authenticatee`] with a timeout drawn from the next [`Backoff`] range.
///
/// - A rejection (`Failed` from the master, or no secret) is final: [`Verdict::Rejected`].
/// - `Completed` is final: [`Verdict::Authenticated`].
/// - An error (an `AuthenticationErrorMessage`, a message out of place, a SASL
///   failure) or a timeout ends the attempt, and the next one starts at once
///   with a wider timeout range, as in Mesos. The exception: an attempt that
///   fails before sending anything (its SASL client cannot be created) waits out
///   its timeout first, so a broken local setup does not spin.
///
/// Sans-IO: `now` comes from the caller, and so does the random number generator
/// (a seeded one makes the timeouts reproducible).
///
/// ```text
/// start(now)                               -> transmit (1, Authenticate)
/// handle_message(now, 1, from, Mechanisms) -> transmit (1, Start)
/// handle_message(now, 1, from, Step)       -> transmit (1, Step)
/// handle_message(now, 1, from, Completed)  -> verdict() == Some(Authenticated)
/// ```
pub struct AuthenticationRetry<R> {
    credential: Credential,
    pid: String,
    options: ClientOptions,
    ranges: TimeoutRanges,
    rng: R,
    attempt: u32,
    current: Option<Attempt>,
    /// When the next attempt starts, after one that failed before sending anything.
    retry_at: Option<Instant>,
    verdict: Option<Verdict>,
    outbox: VecDeque<(u32, Message)>,
    events: VecDeque<RetryEvent>,
}

impl<R: rand::Rng> AuthenticationRetry<R> {
    /// Attempts for `credential`, announcing `pid`, with timeouts from `backoff`
    /// drawn with `rng`. Nothing happens before [`start`](Self::start).
    pub fn new(
        credential: Credential,
        pid: impl Into<String>,
        options: ClientOptions,
        backoff: Backoff,
        rng: R,
    ) -> Self {
        AuthenticationRetry {
            credential,
            pid: pid.into(),
            options,
            ranges: backoff.ranges(),
            rng,
            attempt: 0,
            current: None,
            retry_at: None,
            verdict: None,
            outbox: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Starts attempt 1 at `now`. Later calls do nothing.
    pub fn start(&mut self, now: Instant) {
        if self.attempt == 0 {
            self.begin(now);
        }
    }

    fn begin(&mut self, now: Instant) {
        self.retry_at = None;
        self.attempt += 1;
        let range = self.ranges.next().unwrap_or(TimeoutRange { min: Duration::ZERO, max: Duration::ZERO });
        let timeout = range.sample(&mut self.rng);
        let deadline = now + timeout;
        self.events.push_back(RetryEvent::AttemptStarted { attempt: self.attempt, range, timeout });
        let mut authenticatee = Authenticatee::new(self.credential.clone(), self.pid.clone(), &self.options);
        authenticatee.start();
        let sent = self.drain(&mut authenticatee);
        if matches!(authenticatee.outcome(), Some(Outcome::Failed(_))) && sent == 0 {
            // Failed locally before sending anything: retrying at once would fail
            // the same way, so wait out this attempt's timeout.
            self.fail(authenticatee);
            self.retry_at = Some(deadline);
            return;
        }
        self.settle(now, Attempt { authenticatee, deadline });
    }

    /// Moves the attempt's queued messages to the outbox; returns how many.
    fn drain(&mut self, authenticatee: &mut Authenticatee) -> usize {
        let mut n = 0;
        while let Some(message) = authenticatee.poll_transmit() {
            self.outbox.push_back((self.attempt, message));
            n += 1;
        }
        n
    }

    /// Keeps the attempt if it is still pending; otherwise records its verdict, or
    /// starts the next attempt.
    fn settle(&mut self, now: Instant, mut attempt: Attempt) {
        self.drain(&mut attempt.authenticatee);
        match attempt.authenticatee.outcome() {
            None => self.current = Some(attempt),
            Some(Outcome::Authenticated { .. }) => self.finish(Verdict::Authenticated),
            Some(Outcome::Rejected) => self.finish(Verdict::Rejected),
            Some(Outcome::Failed(_)) => {
                self.fail(attempt.authenticatee);
                self.begin(now);
            }
        }
    }

    fn fail(&mut self, authenticatee: Authenticatee) {
        if let Some(Outcome::Failed(error)) = authenticatee.into_outcome() {
            log::warn!("authentication attempt {} failed: {}; retrying", self.attempt, crate::error::Chain(&error));
            self.events.push_back(RetryEvent::AttemptFailed { attempt: self.attempt, error });
        }
    }

    fn finish(&mut self, verdict: Verdict) {
        self.verdict = Some(verdict);
        self.current = None;
        self.events.push_back(RetryEvent::Finished(verdict));
    }

    /// Gives attempt `attempt` the secure channel its messages go to the
    /// master on (see [`Authenticatee::set_secure_channel`]). Ignored for any
    /// other attempt.
    pub fn set_secure_channel(&mut self, attempt: u32, channel: Option<crate::SecureChannel>) {
        if let Some(current) = self.current.as_mut().filter(|_| attempt == self.attempt) {
            current.authenticatee.set_secure_channel(channel);
        }
    }

    /// Consumes a message from the master that arrived for attempt `attempt`,
    /// sent by the UPID `from` (see [`Authenticatee::handle_message`]: each
    /// attempt is pinned to the first sender that answers it).
    /// Messages for any other attempt, or after the verdict, are ignored.
    pub fn handle_message(&mut self, now: Instant, attempt: u32, from: &str, message: Message) {
        if attempt != self.attempt || self.current.is_none() {
            log::debug!(
                "ignoring authentication '{}' for attempt {attempt} (current attempt {}, {})",
                message.message_type(),
                self.attempt,
                if self.verdict.is_some() { "finished" } else { "pending" }
            );
            return;
        }
        if let Some(mut current) = self.current.take() {
            current.authenticatee.handle_message(from, message);
            self.settle(now, current);
        }
    }

    /// Gives up on the current attempt and starts the next one now (the master
    /// changed, the connection broke). Does nothing before `start` or after the verdict.
    pub fn retry_now(&mut self, now: Instant) {
        if self.attempt == 0 || self.verdict.is_some() {
            return;
        }
        if let Some(mut current) = self.current.take() {
            current.authenticatee.discard();
            self.fail(current.authenticatee);
        }
        self.begin(now);
    }

    /// Times out the current attempt if its deadline is at or before `now`, and
    /// starts the next one.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.retry_at.is_some_and(|at| at <= now) {
            self.begin(now);
            return;
        }
        if self.current.as_ref().is_some_and(|c| c.deadline <= now) {
            log::warn!("authentication attempt {} timed out", self.attempt);
            self.retry_now(now);
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) has something to do: the
    /// current attempt's deadline, or the start of the next attempt.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.current.as_ref().map(|c| c.deadline).or(self.retry_at)
    }

    /// The next message to send, with the attempt it belongs to.
    pub fn poll_transmit(&mut self) -> Option<(u32, Message)> {
        self.outbox.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<RetryEvent> {
        self.events.pop_front()
    }

    /// The verdict, once there is one.
    pub fn verdict(&self) -> Option<Verdict> {
        self.verdict
    }

    /// The current attempt's number: 0 before `start`, then 1, 2, ...
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
}

impl<R> fmt::Debug for AuthenticationRetry<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthenticationRetry")
            .field("principal", &self.credential.principal)
            .field("pid", &self.pid)
            .field("attempt", &self.attempt)
            .field("current", &self.current.as_ref().map(|c| c.authenticatee.state()))
            .field("verdict", &self.verdict)
            .finish_non_exhaustive()
    }
}
