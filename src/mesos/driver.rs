//! What the blocking and the tokio transports share: their options
//! ([`MasterOptions`], [`AuthenticateOptions`]), what they report
//! ([`MasterEvent`], [`Verdict`], [`ClientError`]), and the
//! [`Observer`] hook for transcripts.
//!
//! Inside, both transports run the same two I/O-free cores, one for an accepted
//! connection on the master (a connection-local [`Authenticator`] plus the
//! bookkeeping of events and deadlines) and one for a client (an
//! [`AuthenticationRetry`] plus an attempt limit and transport errors). A
//! transport only moves frames and reads the clock, so both behave alike by
//! construction.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::Config;
use crate::mesos::authenticatee::{AuthenticateeError, ClientOptions};
use crate::mesos::authenticator::{Authenticator, DiscardReason, Origin, Outcomes, ServerOptions, SessionError};
use crate::mesos::backoff::Backoff;
use crate::mesos::framing::{FrameError, FrameLimits, frame_len};
use crate::mesos::messages::{AuthenticationErrorMessage, Message, MessageType};
use crate::mesos::registry::Registry;
use crate::mesos::retry::{AuthenticationRetry, RetryEvent, Verdict};

/// Which way a frame went, seen from the side that reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Written to the peer.
    Sent,
    /// Read from the peer.
    Received,
}

/// One frame a transport wrote or read, as shown to an [`Observer`].
#[derive(Clone, Copy, Debug)]
pub struct FrameEvent<'a> {
    /// Sent or received.
    pub direction: Direction,
    /// The other end of the connection.
    pub peer: SocketAddr,
    /// The message. Its `Debug` output shows the length of SASL data, never the
    /// bytes; a transcript should still print only types and sizes.
    pub message: &'a Message,
    /// The frame's size on the wire: length prefix, tag and payload.
    pub frame_len: usize,
}

impl FrameEvent<'_> {
    /// The message's type.
    pub fn message_type(&self) -> MessageType {
        self.message.message_type()
    }
}

/// A callback told about every frame a transport writes or reads: for
/// transcripts, metrics or debugging. It runs on the transport's thread or task,
/// so keep it short.
///
/// ```
/// use cyrus_sasl::mesos::driver::{Direction, Observer};
/// let observer = Observer::new(|event| {
///     let arrow = if event.direction == Direction::Sent { "->" } else { "<-" };
///     println!("{arrow} {} ({} bytes)", event.message_type(), event.frame_len);
/// });
/// # drop(observer);
/// ```
#[derive(Clone)]
pub struct Observer(Arc<dyn Fn(&FrameEvent<'_>) + Send + Sync>);

impl Observer {
    /// Wraps a callback.
    pub fn new(f: impl Fn(&FrameEvent<'_>) + Send + Sync + 'static) -> Self {
        Observer(Arc::new(f))
    }

    pub(crate) fn notify(observer: &Option<Observer>, direction: Direction, peer: SocketAddr, message: &Message) {
        if let Some(Observer(f)) = observer {
            f(&FrameEvent { direction, peer, message, frame_len: frame_len(message) });
        }
    }
}

impl fmt::Debug for Observer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Observer(..)")
    }
}

/// How a master serves connections; the same for both transports.
#[derive(Clone, Debug)]
pub struct MasterOptions {
    /// Service name, host name, realm and session timeout of the SASL servers.
    pub server: ServerOptions,
    /// The largest frame accepted or sent.
    pub frame_limits: FrameLimits,
    /// How long a connection may stay open without a session in progress,
    /// counted from its accept or its last verdict: a peer that connects and
    /// sends nothing (or only messages that start no session) is closed after
    /// this, and so is a link left unused after its exchanges. A session in
    /// progress is bounded by [`ServerOptions::session_timeout`] instead.
    pub idle_timeout: Duration,
    /// Connections served at once; more are closed as soon as they are accepted.
    pub max_connections: usize,
    /// [`MasterEvent`]s kept for the handle to read; once full, further events
    /// are dropped (and logged) rather than letting memory grow without bound.
    pub event_capacity: usize,
    /// Told about every frame, if set.
    pub observer: Option<Observer>,
}

impl Default for MasterOptions {
    /// [`ServerOptions::default`], [`FrameLimits::default`], a 15 s idle
    /// timeout, 1024 connections, 1024 buffered events, no observer.
    fn default() -> Self {
        MasterOptions {
            server: ServerOptions::default(),
            frame_limits: FrameLimits::default(),
            idle_timeout: crate::mesos::DEFAULT_SESSION_TIMEOUT,
            max_connections: 1024,
            event_capacity: 1024,
            observer: None,
        }
    }
}

/// The end of one authentication on the master.
#[derive(Debug)]
pub struct AuthenticationRecord {
    /// The client's address.
    pub peer: SocketAddr,
    /// The PID from its `AuthenticateMessage`.
    pub pid: String,
    /// The mechanism it chose, once it sent its `AuthenticationStartMessage`.
    pub mechanism: Option<String>,
    /// `Ok(Some(principal))` accepted, `Ok(None)` refused, `Err` no verdict
    /// (the peer left, the session timed out, a protocol or SASL error).
    pub result: Result<Option<String>, SessionError>,
}

/// What a master reports.
#[derive(Debug)]
#[non_exhaustive]
pub enum MasterEvent {
    /// A session ended, with or without a verdict.
    Authentication(AuthenticationRecord),
    /// A connection ended with a transport error outside any session (a bad or
    /// oversize frame, a read timeout while idle, a reset), or with a framing
    /// error that also ended a session (reported after that session's record).
    ConnectionFailed {
        /// The client's address.
        peer: SocketAddr,
        /// What went wrong.
        error: FrameError,
    },
}

/// One accepted connection on the master, without I/O.
///
/// Each connection has its own [`Authenticator`], keyed by `()`, so
/// connections share nothing but the config (with its credential store) and the
/// master's one [`Registry`], and run their SASL steps in parallel. The
/// registry's generations keep a stale session on one connection from undoing
/// a newer authentication of the same PID on another.
///
/// This framing has no UPIDs, so the peer binding of the libprocess master does
/// not apply: the PID is a label the peer chooses.
///
/// A connection carries one exchange after another, as a libprocess link
/// between a framework and its master does: after a verdict it stays open for
/// the next `AuthenticateMessage`, for up to the idle timeout. It closes on a
/// timeout, a transport or framing error, or a session that ended in an error
/// (the client retries such an attempt on a fresh connection anyway).
pub(crate) struct MasterConn {
    peer: SocketAddr,
    authenticator: Authenticator<()>,
    outcomes: Outcomes<()>,
    origin: Origin,
    idle_timeout: Duration,
    /// Until when the connection may stay open without a session.
    idle_deadline: Instant,
    /// Whether any session started on this connection.
    sessions: u32,
    pid: Option<String>,
    mechanism: Option<String>,
    events: Vec<MasterEvent>,
    done: bool,
}

impl MasterConn {
    pub(crate) fn new(
        now: Instant,
        peer: SocketAddr,
        config: &Config,
        options: &MasterOptions,
        registry: Registry,
    ) -> Self {
        let (authenticator, outcomes) = Authenticator::build(config, options.server.clone(), registry, false);
        MasterConn {
            peer,
            authenticator,
            outcomes,
            origin: Origin::new(String::new(), peer.ip()),
            idle_timeout: options.idle_timeout,
            idle_deadline: now + options.idle_timeout,
            sessions: 0,
            pid: None,
            mechanism: None,
            events: Vec::new(),
            done: false,
        }
    }

    /// The next message to write.
    pub(crate) fn poll_transmit(&mut self) -> Option<Message> {
        self.authenticator.poll_transmit().map(|((), message)| message)
    }

    /// When the next read must give up: the session's deadline, or the idle
    /// deadline without a session.
    pub(crate) fn deadline(&self) -> Instant {
        self.authenticator.poll_timeout().unwrap_or(self.idle_deadline)
    }

    pub(crate) fn handle_message(&mut self, now: Instant, message: Message) {
        match &message {
            Message::Authenticate(m) => {
                self.pid = Some(m.pid.clone());
                self.mechanism = None;
                self.sessions += 1;
            }
            Message::Start(m) => self.mechanism = Some(m.mechanism.clone()),
            _ => {}
        }
        self.authenticator.handle_message(now, (), &self.origin, message);
        self.collect(now);
    }

    /// A read gave up at `deadline` (the clock may lag the socket's timer by a
    /// hair; the deadline itself is what passed). Ends the connection: a session
    /// in progress is discarded as timed out. A connection that never started a
    /// session reports [`FrameError::TimedOut`]; one that idles after its
    /// exchanges just closes.
    pub(crate) fn handle_timeout(&mut self, deadline: Instant) {
        let now = Instant::now().max(deadline);
        let pending = self.authenticator.pending();
        self.authenticator.handle_timeout(now);
        self.collect(now);
        if pending == 0 && self.sessions == 0 {
            self.events.push(MasterEvent::ConnectionFailed { peer: self.peer, error: FrameError::TimedOut });
        }
        self.done = true;
    }

    /// A read or write failed. Ends the connection: a session in progress fails
    /// as `PeerExited`. A peer that sent a bad frame (rather than leaving) gets an
    /// `AuthenticationErrorMessage` saying what was wrong, which this returns for
    /// the transport to write on a best-effort basis.
    pub(crate) fn handle_error(&mut self, error: FrameError) -> Option<Message> {
        self.authenticator.handle_peer_exited(&());
        self.collect(Instant::now());
        self.done = true;
        let reply = match &error {
            FrameError::TooLarge { .. }
            | FrameError::ZeroLength
            | FrameError::UnknownTag(_)
            | FrameError::Decode(_) => Some(AuthenticationErrorMessage { error: Some(error.to_string()) }.into()),
            _ => None,
        };
        // A clean close between frames is how every client says goodbye.
        if !matches!(error, FrameError::Closed) {
            log::debug!("connection from {} failed: {error}", self.peer);
            self.events.push(MasterEvent::ConnectionFailed { peer: self.peer, error });
        }
        reply
    }

    /// Moves session outcomes into events. After a verdict the connection
    /// waits for the next exchange; after an error it closes.
    fn collect(&mut self, now: Instant) {
        for outcome in self.outcomes.try_iter() {
            match &outcome.result {
                Ok(_) => self.idle_deadline = now + self.idle_timeout,
                // A newer exchange on this same connection replaced it.
                Err(SessionError::Discarded(DiscardReason::Superseded)) => {}
                Err(_) => self.done = true,
            }
            let record = AuthenticationRecord {
                peer: self.peer,
                pid: outcome.pid,
                mechanism: self.mechanism.clone(),
                result: outcome.result,
            };
            self.events.push(MasterEvent::Authentication(record));
        }
    }

    /// True once the connection should close (after writing what is queued).
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// The events so far, oldest first.
    pub(crate) fn take_events(&mut self) -> std::vec::Drain<'_, MasterEvent> {
        self.events.drain(..)
    }

    /// The PID of the connection's session, for logs.
    pub(crate) fn pid(&self) -> Option<&str> {
        self.pid.as_deref()
    }
}

/// How a framework or agent authenticates; the same for both transports.
#[derive(Clone, Debug)]
pub struct AuthenticateOptions {
    /// The PID announced in `AuthenticateMessage`. `None`: `PRINCIPAL-RANDOM`,
    /// unique per call.
    pub pid: Option<String>,
    /// The SASL client's service, master host name and config.
    pub client: ClientOptions,
    /// Each attempt's timeout range (Mesos's defaults: 5 s, growing to 60 s).
    pub backoff: Backoff,
    /// Attempts before giving up with [`ClientError`]. Mesos retries forever; a
    /// function that returns needs a bound.
    pub max_attempts: u32,
    /// The longest a TCP connect may take (also bounded by the attempt's timeout).
    pub connect_timeout: Duration,
    /// The largest frame accepted or sent.
    pub frame_limits: FrameLimits,
    /// Told about every frame, if set.
    pub observer: Option<Observer>,
}

impl Default for AuthenticateOptions {
    /// A random PID, [`ClientOptions::default`], Mesos's backoff, 5 attempts, a
    /// 5 s connect timeout, [`FrameLimits::default`], no observer.
    fn default() -> Self {
        AuthenticateOptions {
            pid: None,
            client: ClientOptions::default(),
            backoff: Backoff::default(),
            max_attempts: 5,
            connect_timeout: Duration::from_secs(5),
            frame_limits: FrameLimits::default(),
            observer: None,
        }
    }
}

impl AuthenticateOptions {
    /// The PID to announce for `principal`.
    pub(crate) fn pid_for(&self, principal: &str) -> String {
        self.pid.clone().unwrap_or_else(|| format!("{principal}-{:016x}", rand::random::<u64>()))
    }
}

/// Why one client attempt ended without a verdict.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AttemptError {
    /// The TCP connection could not be made (the attempt then waits out its
    /// timeout, as Mesos does when the master is unreachable).
    #[error("cannot connect to the master: {0}")]
    Connect(#[source] io::Error),
    /// The connection failed: the master closed it mid-handshake, sent a bad or
    /// oversize frame, or did not answer within the attempt's timeout
    /// ([`FrameError::TimedOut`]).
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The exchange itself failed: the master sent `AuthenticationErrorMessage`,
    /// a message out of place, or the local SASL client failed.
    #[error(transparent)]
    Authentication(#[from] AuthenticateeError),
}

/// A client gave up: every attempt ended without a verdict.
#[derive(Debug, thiserror::Error)]
#[error("authentication gave up after {attempts} attempt(s); the last one failed: {last}")]
pub struct ClientError {
    /// How many attempts were made.
    pub attempts: u32,
    /// Why the last one failed.
    #[source]
    pub last: AttemptError,
}

/// A client's attempts, without I/O.
pub(crate) struct ClientCore<R> {
    retry: AuthenticationRetry<R>,
    max_attempts: u32,
    /// What the transport saw go wrong in the current attempt, if anything.
    transport_error: Option<AttemptError>,
    last_error: Option<AttemptError>,
    /// An attempt whose connect failed: its messages are dropped until it times out.
    unreachable: Option<u32>,
}

impl<R: rand::Rng> ClientCore<R> {
    pub(crate) fn new(retry: AuthenticationRetry<R>, max_attempts: u32) -> Self {
        ClientCore {
            retry,
            max_attempts: max_attempts.max(1),
            transport_error: None,
            last_error: None,
            unreachable: None,
        }
    }

    pub(crate) fn start(&mut self, now: Instant) {
        self.retry.start(now);
    }

    /// Processes the retry's events: `Some` with the final answer once there is one.
    pub(crate) fn poll_result(&mut self) -> Option<Result<Verdict, ClientError>> {
        while let Some(event) = self.retry.poll_event() {
            match event {
                RetryEvent::AttemptStarted { attempt, .. } if attempt > self.max_attempts => {
                    let last = self.last_error.take().unwrap_or(AttemptError::Frame(FrameError::TimedOut));
                    return Some(Err(ClientError { attempts: self.max_attempts, last }));
                }
                RetryEvent::AttemptStarted { attempt, timeout, .. } => {
                    self.transport_error = None;
                    log::debug!("authentication attempt {attempt} (timeout {timeout:?})");
                }
                RetryEvent::AttemptFailed { error, .. } => {
                    // The transport's own account is more precise than the
                    // state machine's "discarded".
                    self.last_error = Some(self.transport_error.take().unwrap_or(AttemptError::Authentication(error)));
                }
                RetryEvent::Finished(verdict) => return Some(Ok(verdict)),
            }
        }
        None
    }

    /// The current attempt.
    pub(crate) fn attempt(&self) -> u32 {
        self.retry.attempt()
    }

    /// The next message to write for the current attempt; stale ones, and those of
    /// an attempt whose connect failed, are dropped.
    pub(crate) fn poll_transmit(&mut self) -> Option<(u32, Message)> {
        while let Some((attempt, message)) = self.retry.poll_transmit() {
            if attempt == self.retry.attempt() && self.unreachable != Some(attempt) {
                return Some((attempt, message));
            }
        }
        None
    }

    /// Whether the current attempt has a connection worth reading from.
    pub(crate) fn reachable(&self) -> bool {
        self.unreachable != Some(self.retry.attempt())
    }

    /// When the current attempt times out.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.retry.poll_timeout()
    }

    pub(crate) fn handle_message(&mut self, now: Instant, attempt: u32, message: Message) {
        // This framing has no sender UPIDs: each attempt's own connection is
        // what ties the answers to it.
        self.retry.handle_message(now, attempt, "", message);
    }

    /// The attempt's deadline passed.
    pub(crate) fn handle_timeout(&mut self, deadline: Instant) {
        if self.transport_error.is_none() {
            self.transport_error = Some(AttemptError::Frame(FrameError::TimedOut));
        }
        self.retry.handle_timeout(Instant::now().max(deadline));
    }

    /// The connect for the current attempt failed: wait out its timeout.
    pub(crate) fn connect_failed(&mut self, error: io::Error) {
        log::debug!("attempt {}: cannot connect: {error}", self.retry.attempt());
        self.transport_error = Some(AttemptError::Connect(error));
        self.unreachable = Some(self.retry.attempt());
    }

    /// The connection of the current attempt failed: start the next attempt now.
    pub(crate) fn connection_failed(&mut self, now: Instant, error: FrameError) {
        log::debug!("attempt {}: connection failed: {error}", self.retry.attempt());
        self.transport_error = Some(AttemptError::Frame(error));
        self.retry.retry_now(now);
    }

    /// The deadline passed with no verdict and no timeout pending: only possible
    /// if the retry machine stopped without a verdict.
    pub(crate) fn stalled(&mut self) -> ClientError {
        let last = self.last_error.take().unwrap_or(AttemptError::Frame(FrameError::TimedOut));
        ClientError { attempts: self.retry.attempt(), last }
    }
}
