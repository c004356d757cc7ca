//! [`Authenticator`]: the master's side, one session per peer (Mesos
//! `src/authentication/cram_md5/authenticator.cpp` plus the session bookkeeping
//! of `Master::authenticate` in `src/master/master.cpp`).
//!
//! API sketch: signatures are final, bodies arrive in the next commit.

use std::fmt;
use std::hash::Hash;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::Config;
use crate::mesos::messages::{Message, MessageType};

/// How long a session may last before it is discarded: Mesos's
/// `--authentication_v0_timeout` default, 15 seconds.
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(15);

/// How each session's SASL server is created.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// The SASL service name; Mesos uses `mesos`.
    pub service: String,
    /// This master's host name.
    pub fqdn: String,
    /// The user realm secrets are looked up in (`None`: libsasl2 uses `fqdn`).
    pub realm: Option<String>,
    /// How long a session may last.
    pub session_timeout: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            service: super::DEFAULT_SERVICE.to_owned(),
            fqdn: "localhost".to_owned(),
            realm: None,
            session_timeout: DEFAULT_SESSION_TIMEOUT,
        }
    }
}

/// Where a live session is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SessionState {
    /// Mechanisms sent; waiting for `AuthenticationStartMessage`.
    Starting,
    /// Exchanging steps.
    Stepping,
}

/// Why a session ended without a verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DiscardReason {
    /// A new `AuthenticateMessage` for the same PID (or on the same peer) replaced it.
    Superseded,
    /// It outlived [`ServerOptions::session_timeout`].
    TimedOut,
    /// The [`Authenticator`] was dropped.
    AuthenticatorDropped,
}

/// A session that ended without a verdict.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The peer sent a message the protocol does not allow in this state.
    #[error("unexpected authentication '{message}' received in state {state:?}")]
    Unexpected {
        /// What arrived.
        message: MessageType,
        /// The state it arrived in.
        state: SessionState,
    },
    /// libsasl2 failed (anything but a rejection), with its detail.
    #[error("SASL server: {0}")]
    Sasl(#[from] crate::Error),
    /// The transport reported the peer gone.
    #[error("failed to communicate with authenticatee")]
    PeerExited,
    /// The session was dropped before a verdict.
    #[error("authentication discarded: {0:?}")]
    Discarded(DiscardReason),
}

/// How a session ended: Mesos's `Future<Option<string>>`.
#[derive(Debug)]
pub struct Outcome<P> {
    /// The transport address the session ran on.
    pub peer: P,
    /// The PID from its `AuthenticateMessage`.
    pub pid: String,
    /// `Ok(Some(principal))` accepted, `Ok(None)` rejected, `Err` no verdict.
    pub result: Result<Option<String>, SessionError>,
}

/// Where an [`Authenticator`] delivers every session's [`Outcome`]. It closes
/// once the authenticator is dropped and every outcome has been read, so a
/// waiting driver never hangs.
#[derive(Debug)]
pub struct Outcomes<P> {
    rx: mpsc::Receiver<Outcome<P>>,
}

impl<P> Outcomes<P> {
    /// The next outcome, without blocking.
    pub fn try_next(&self) -> Option<Outcome<P>> {
        self.rx.try_recv().ok()
    }

    /// Blocks for the next outcome; `None` once the authenticator is gone and all
    /// its outcomes have been read.
    pub fn next_blocking(&self) -> Option<Outcome<P>> {
        self.rx.recv().ok()
    }
}

/// The master's side. `P` names a transport peer (a connection id, an address).
pub struct Authenticator<P> {
    _tx: mpsc::Sender<Outcome<P>>,
}

impl<P: Clone + Eq + Hash + fmt::Debug> Authenticator<P> {
    /// An authenticator whose sessions run `Server`s made from `config`.
    pub fn new(config: &Config, options: ServerOptions) -> (Self, Outcomes<P>) {
        let _ = (config, options);
        todo!()
    }

    /// Consumes one message from `peer`.
    pub fn handle_message(&mut self, now: Instant, peer: P, message: Message) {
        let _ = (now, peer, message);
        todo!()
    }

    /// The transport lost `peer`: its session fails (Mesos: `exited`).
    pub fn handle_peer_exited(&mut self, peer: &P) {
        let _ = peer;
        todo!()
    }

    /// Discards sessions whose deadline is at or before `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let _ = now;
        todo!()
    }

    /// The earliest session deadline, if any session is pending.
    pub fn poll_timeout(&self) -> Option<Instant> {
        todo!()
    }

    /// The next message to send, and to whom.
    pub fn poll_transmit(&mut self) -> Option<(P, Message)> {
        todo!()
    }

    /// The principal a PID authenticated as, if its last session succeeded.
    pub fn authenticated(&self, pid: &str) -> Option<&str> {
        let _ = pid;
        todo!()
    }
}

impl<P> fmt::Debug for Authenticator<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator").finish_non_exhaustive()
    }
}
