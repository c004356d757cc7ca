//! [`AuthenticationRetry`]: a client's attempts with backoff. API sketch.

use std::time::{Duration, Instant};

use crate::mesos::authenticatee::{AuthenticateeError, ClientOptions, Credential};
use crate::mesos::backoff::Backoff;
use crate::mesos::messages::Message;

/// The final answer of a sequence of attempts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// The master accepted the credentials.
    Authenticated,
    /// The master rejected them (or there was no secret). Final: never retried.
    Refused,
}

/// What happened, for logs and drivers.
#[derive(Debug)]
#[non_exhaustive]
pub enum RetryEvent {
    /// Attempt `attempt` began; its messages are tagged with this number. A
    /// driver opens a fresh connection for it.
    AttemptStarted {
        /// 1, 2, ...
        attempt: u32,
        /// Its timeout.
        timeout: Duration,
    },
    /// Attempt `attempt` ended without a verdict; the next one starts at once.
    AttemptFailed {
        /// Which one.
        attempt: u32,
        /// Why.
        error: AuthenticateeError,
    },
    /// The final verdict.
    Finished(Verdict),
}

/// Authenticates with retries: an error or a timeout starts a fresh
/// [`Authenticatee`](super::Authenticatee) with a longer timeout range; a rejection is final.
#[derive(Debug)]
pub struct AuthenticationRetry<R> {
    rng: R,
}

impl<R: rand::Rng> AuthenticationRetry<R> {
    /// Attempts for `credential` as `pid`, timeouts from `backoff` drawn with `rng`.
    pub fn new(
        credential: Credential,
        pid: impl Into<String>,
        options: ClientOptions,
        backoff: Backoff,
        rng: R,
    ) -> Self {
        let _ = (credential, pid.into(), options, backoff);
        AuthenticationRetry { rng }
    }

    /// Starts attempt 1 at `now`.
    pub fn start(&mut self, now: Instant) {
        let _ = (now, &mut self.rng);
        todo!()
    }

    /// Consumes a message from the master that arrived for `attempt`; messages for
    /// an earlier attempt are ignored.
    pub fn handle_message(&mut self, now: Instant, attempt: u32, message: Message) {
        let _ = (now, attempt, message);
        todo!()
    }

    /// Gives up on the current attempt and starts the next one now (the master
    /// changed, the connection broke).
    pub fn retry_now(&mut self, now: Instant) {
        let _ = now;
        todo!()
    }

    /// Times out the current attempt if its deadline is at or before `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let _ = now;
        todo!()
    }

    /// The current attempt's deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        todo!()
    }

    /// The next message to send, with the attempt it belongs to.
    pub fn poll_transmit(&mut self) -> Option<(u32, Message)> {
        todo!()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<RetryEvent> {
        todo!()
    }

    /// The verdict, once there is one.
    pub fn verdict(&self) -> Option<Verdict> {
        todo!()
    }
}
