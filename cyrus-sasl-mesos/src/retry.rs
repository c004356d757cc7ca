//! [`AuthenticationRetry`]: a client's authentication attempts, retried with
//! backoff as Mesos's scheduler driver and agent do (`src/sched/sched.cpp`,
//! `src/slave/slave.cpp`: `authenticate` and `_authenticate`).

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use crate::authenticatee::{Authenticatee, ClientOptions, Credential};
use crate::authenticator::{ExchangeError, Outcome};
use crate::backoff::{Backoff, TimeoutRange, TimeoutRanges};
use crate::error::MechanismMismatch;
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
    /// Attempt `attempt` ended without a verdict. The next one starts when
    /// this one's timeout runs out, never sooner (see [`AuthenticationRetry`]).
    AttemptFailed {
        /// Which one.
        attempt: u32,
        /// Why; [`ExchangeError::Discarded`] for a timeout or
        /// [`retry_now`](AuthenticationRetry::retry_now).
        error: ExchangeError,
    },
    /// The verdict. Nothing happens after it.
    Finished(Verdict),
    /// No verdict, and no more attempts: the master offers none of the
    /// mechanisms this client allows (see
    /// [`ClientOptions::retry_on_mechanism_mismatch`]). Nothing happens after it.
    GaveUp(MechanismMismatch),
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
/// - A timeout ends the attempt, and the next one starts at once with a wider
///   timeout range, as in Mesos.
/// - An error (an `AuthenticationErrorMessage`, a message out of place, a SASL
///   failure, a broken local setup) ends the attempt too, but the next one
///   starts only when the failed one's timeout runs out: every retry waits its
///   backoff, so a master (or a local setup) that fails every attempt at once
///   is not hammered. (Mesos retries at once here.)
/// - A master that offers none of the mechanisms this client allows
///   ([`ExchangeError::NoAllowedMechanism`]) ends the attempts:
///   [`RetryEvent::GaveUp`] with a [`MechanismMismatch`] naming both lists,
///   and [`gave_up`](Self::gave_up). With
///   [`ClientOptions::retry_on_mechanism_mismatch`] it is retried as any
///   other error.
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
    /// When the next attempt starts, after one that failed.
    retry_at: Option<Instant>,
    verdict: Option<Verdict>,
    /// Why the attempts stopped without a verdict.
    gave_up: Option<MechanismMismatch>,
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
            gave_up: None,
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
        // Failing locally before sending anything (the SASL client cannot be
        // created) is an error like any other: the next attempt waits.
        authenticatee.start();
        self.settle(Attempt { authenticatee, deadline });
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

    /// Keeps the attempt if it is still pending; otherwise records its verdict,
    /// gives up, or schedules the next attempt.
    fn settle(&mut self, mut attempt: Attempt) {
        self.drain(&mut attempt.authenticatee);
        match attempt.authenticatee.outcome() {
            None => self.current = Some(attempt),
            Some(Outcome::Authenticated { .. }) => self.finish(Verdict::Authenticated),
            Some(Outcome::Rejected) => self.finish(Verdict::Rejected),
            Some(Outcome::Failed(ExchangeError::NoAllowedMechanism { offered, allowed }))
                if !self.options.retry_on_mechanism_mismatch =>
            {
                let mismatch = MechanismMismatch { offered: offered.clone(), allowed: allowed.clone() };
                log::warn!("authentication attempt {} failed: {mismatch}; giving up", self.attempt);
                self.current = None;
                self.gave_up = Some(mismatch.clone());
                self.events.push_back(RetryEvent::GaveUp(mismatch));
            }
            Some(Outcome::Failed(_)) => {
                self.fail(attempt.authenticatee);
                self.wait_for(attempt.deadline);
            }
        }
    }

    /// Schedules the next attempt for `at` (the failed one's deadline: its
    /// backoff), for [`handle_timeout`](Self::handle_timeout) to start; never
    /// at once, even when `at` has passed, so a zero backoff cannot recurse.
    fn wait_for(&mut self, at: Instant) {
        self.current = None;
        self.retry_at = Some(at);
    }

    /// Whether no attempt is to come: a verdict, or the attempts gave up.
    fn is_over(&self) -> bool {
        self.verdict.is_some() || self.gave_up.is_some()
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
    pub fn handle_message(&mut self, _now: Instant, attempt: u32, from: &str, message: Message) {
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
            self.settle(current);
        }
    }

    /// Gives up on the current attempt and starts the next one now (the master
    /// changed, the connection broke). Does nothing before `start` or after the verdict.
    pub fn retry_now(&mut self, now: Instant) {
        if self.attempt == 0 || self.is_over() {
            return;
        }
        if let Some(mut current) = self.current.take() {
            current.authenticatee.discard();
            self.fail(current.authenticatee);
        }
        self.begin(now);
    }

    /// Gives up on the current attempt (its master broke the protocol, e.g.
    /// with a message that does not decode); the next starts when its timeout
    /// runs out, as after any error. Does nothing without a current attempt.
    pub fn abandon(&mut self) {
        if let Some(mut current) = self.current.take() {
            current.authenticatee.discard();
            let deadline = current.deadline;
            self.fail(current.authenticatee);
            self.wait_for(deadline);
        }
    }

    /// Times out the current attempt if its deadline is at or before `now`, and
    /// starts the next one.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.is_over() {
            return;
        }
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

    /// Why the attempts stopped without a verdict, if they did: the master
    /// offers none of the mechanisms this client allows (see
    /// [`RetryEvent::GaveUp`]).
    pub fn gave_up(&self) -> Option<&MechanismMismatch> {
        self.gave_up.as_ref()
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
            .field("gave_up", &self.gave_up)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::{AuthenticationErrorMessage, AuthenticationMechanismsMessage};
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    const PID: &str = "scheduler(1)@127.0.0.1:40000";
    const SESSION: &str = "crammd5-authenticator-session(1)@127.0.0.1:5050";

    fn retry(options: ClientOptions, seed: u64) -> AuthenticationRetry<StdRng> {
        let credential = Credential::new("framework", "secret");
        AuthenticationRetry::new(credential, PID, options, Backoff::default(), StdRng::seed_from_u64(seed))
    }

    fn offer(mechanisms: &[&str]) -> Message {
        AuthenticationMechanismsMessage { mechanisms: mechanisms.iter().map(|m| m.to_string()).collect() }.into()
    }

    fn events<R: rand::Rng>(retry: &mut AuthenticationRetry<R>) -> Vec<RetryEvent> {
        std::iter::from_fn(|| retry.poll_event()).collect()
    }

    #[test]
    fn a_mechanism_mismatch_ends_the_attempts_with_both_lists() {
        let mut client = retry(ClientOptions::default(), 1);
        let t0 = Instant::now();
        client.start(t0);
        let (attempt, message) = client.poll_transmit().unwrap();
        assert!(matches!(message, Message::Authenticate(_)), "{message:?}");
        client.handle_message(t0, attempt, SESSION, offer(&["GSSAPI"]));
        let expected = MechanismMismatch { offered: vec!["GSSAPI".into()], allowed: vec!["CRAM-MD5".into()] };
        assert_eq!(client.gave_up(), Some(&expected));
        assert!(
            client.gave_up().unwrap().to_string().starts_with("master offers [GSSAPI]; this client allows [CRAM-MD5]")
        );
        let events = events(&mut client);
        assert!(
            matches!(&events[..], [RetryEvent::AttemptStarted { attempt: 1, .. }, RetryEvent::GaveUp(m)] if *m == expected),
            "{events:#?}"
        );
        // Nothing more, whatever the time or the caller does.
        assert_eq!((client.verdict(), client.poll_timeout()), (None, None));
        client.handle_timeout(t0 + Duration::from_secs(3600));
        client.retry_now(t0 + Duration::from_secs(3600));
        client.handle_message(t0, 1, SESSION, offer(&["CRAM-MD5"]));
        assert_eq!(client.attempt(), 1);
        assert!(client.poll_transmit().is_none());
        assert!(client.poll_event().is_none());
    }

    #[test]
    fn a_mechanism_mismatch_is_retried_after_its_backoff_when_the_caller_asks() {
        let options = ClientOptions { retry_on_mechanism_mismatch: true, ..ClientOptions::default() };
        let mut client = retry(options, 2);
        let t0 = Instant::now();
        client.start(t0);
        client.poll_transmit().unwrap();
        client.handle_message(t0, 1, SESSION, offer(&["SCRAM-SHA-256"]));
        assert_eq!(client.gave_up(), None);
        assert_eq!(client.attempt(), 1, "not at once");
        assert!(client.poll_transmit().is_none());
        let next = client.poll_timeout().expect("the next attempt is scheduled");
        assert!(next >= t0 + Backoff::DEFAULT_TIMEOUT_MIN, "{:?}", next - t0);
        client.handle_timeout(next - Duration::from_millis(1));
        assert_eq!(client.attempt(), 1);
        client.handle_timeout(next);
        assert_eq!(client.attempt(), 2);
        assert!(matches!(client.poll_transmit(), Some((2, Message::Authenticate(_)))));
    }

    /// Runs `client` for `span` of simulated time against a master that
    /// answers every `AuthenticateMessage` with `answer`; returns when each
    /// `AuthenticateMessage` was sent (at most `cap` of them).
    fn against<R: rand::Rng>(
        client: &mut AuthenticationRetry<R>,
        answer: impl Fn() -> Message,
        span: Duration,
        cap: usize,
    ) -> Vec<Duration> {
        let t0 = Instant::now();
        let mut now = t0;
        let mut sent = Vec::new();
        client.start(now);
        while sent.len() < cap {
            match client.poll_transmit() {
                Some((attempt, Message::Authenticate(_))) => {
                    sent.push(now - t0);
                    client.handle_message(now, attempt, SESSION, answer());
                }
                Some(_) => {}
                None => match client.poll_timeout() {
                    Some(at) if at <= t0 + span => {
                        now = now.max(at);
                        client.handle_timeout(now);
                    }
                    _ => break,
                },
            }
        }
        sent
    }

    #[test]
    fn every_failed_attempt_waits_its_backoff() {
        // A master that fails every attempt at once, for two simulated minutes.
        let span = Duration::from_secs(120);
        let error = || AuthenticationErrorMessage { error: Some("No authenticator loaded".into()) }.into();
        let mut client = retry(ClientOptions::default(), 3);
        let sent = against(&mut client, error, span, 10_000);
        // Each attempt waits at least the 5 s minimum timeout after the last.
        assert!(sent.len() <= 25, "{} attempts in {span:?}", sent.len());
        assert!(sent.len() >= 3, "{} attempts in {span:?}", sent.len());
        for pair in sent.windows(2) {
            assert!(pair[1] - pair[0] >= Backoff::DEFAULT_TIMEOUT_MIN, "{sent:?}");
        }
        assert_eq!(client.verdict(), None);
        // The same for a mismatch the caller chose to keep retrying.
        let options = ClientOptions { retry_on_mechanism_mismatch: true, ..ClientOptions::default() };
        let mut client = retry(options, 4);
        let sent = against(&mut client, || offer(&["GSSAPI"]), span, 10_000);
        assert!((3..=25).contains(&sent.len()), "{} attempts in {span:?}", sent.len());
        assert!(sent.windows(2).all(|pair| pair[1] - pair[0] >= Backoff::DEFAULT_TIMEOUT_MIN), "{sent:?}");
        // Without that choice: one attempt, then the mismatch.
        let mut client = retry(ClientOptions::default(), 5);
        assert_eq!(against(&mut client, || offer(&["GSSAPI"]), span, 10_000).len(), 1);
        assert!(client.gave_up().is_some());
    }

    #[test]
    fn an_abandoned_attempt_waits_its_backoff_too() {
        let mut client = retry(ClientOptions::default(), 6);
        let t0 = Instant::now();
        client.start(t0);
        client.poll_transmit().unwrap();
        client.abandon();
        assert_eq!(client.attempt(), 1);
        let next = client.poll_timeout().unwrap();
        assert!(next >= t0 + Backoff::DEFAULT_TIMEOUT_MIN);
        let events = events(&mut client);
        assert!(
            matches!(
                &events[..],
                [
                    RetryEvent::AttemptStarted { .. },
                    RetryEvent::AttemptFailed { attempt: 1, error: ExchangeError::Discarded(_) }
                ]
            ),
            "{events:#?}"
        );
    }
}
