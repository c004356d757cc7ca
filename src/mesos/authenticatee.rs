//! [`Authenticatee`]: the framework's or agent's side of one authentication
//! attempt (Mesos `src/authentication/cram_md5/authenticatee.cpp`).
//!
//! API sketch: signatures are final, bodies arrive in the next commit.

use crate::Config;
use crate::Secret;
use crate::mesos::messages::{Message, MessageType};

/// A principal and its secret, as in Mesos's `Credential` protobuf
/// (`required string principal = 1; optional string secret = 2;`).
/// `Debug` never shows the secret.
#[derive(Clone, Debug)]
pub struct Credential {
    /// Who authenticates, e.g. `my-framework`.
    pub principal: String,
    /// Its secret. `None` makes every attempt fail at once (Mesos: "secret needed
    /// by CRAM-MD5 authenticatee").
    pub secret: Option<Secret>,
}

impl Credential {
    /// A principal with a secret.
    pub fn new(principal: impl Into<String>, secret: impl Into<Secret>) -> Self {
        Credential { principal: principal.into(), secret: Some(secret.into()) }
    }
}

/// How the authenticatee's SASL client is created.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// The SASL service name; Mesos uses `mesos`.
    pub service: String,
    /// The master's host name, as the client names it to libsasl2.
    pub server_fqdn: String,
    /// Options for the client connection (e.g. `mech_list` to restrict choices).
    pub config: Config,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            service: super::DEFAULT_SERVICE.to_owned(),
            server_fqdn: "localhost".to_owned(),
            config: Config::new(),
        }
    }
}

/// Where an [`Authenticatee`] is: Mesos's `READY`, `STARTING`, `STEPPING`, then
/// one of the terminal states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthenticateeState {
    /// Created, nothing sent.
    Ready,
    /// `AuthenticateMessage` sent; waiting for the mechanisms.
    Starting,
    /// `AuthenticationStartMessage` sent; exchanging steps until the verdict.
    Stepping,
    /// The master accepted the credentials (result `Ok(true)`).
    Completed,
    /// The master rejected them, or there was no secret (result `Ok(false)`).
    Failed,
    /// The exchange broke down (result `Err`).
    Error,
    /// Given up by the caller, e.g. on a timeout (result `Err(Discarded)`).
    Discarded,
}

/// Why an attempt ended without a verdict. Worth a retry, unlike a rejection.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthenticateeError {
    /// A message arrived that the protocol does not allow in this state.
    #[error("unexpected authentication '{message}' received in state {state:?}")]
    Unexpected {
        /// What arrived.
        message: MessageType,
        /// The state it arrived in.
        state: AuthenticateeState,
    },
    /// The master sent an `AuthenticationErrorMessage`.
    #[error("authentication error from the master: {}", error.as_deref().unwrap_or("(no detail)"))]
    Remote {
        /// Its text, if it had one.
        error: Option<String>,
    },
    /// The local SASL client failed.
    #[error("SASL client: {0}")]
    Sasl(#[from] crate::Error),
    /// [`Authenticatee::discard`] was called before a verdict.
    #[error("authentication discarded")]
    Discarded,
}

/// One authentication attempt of a framework or agent (the same type for both:
/// only the principal differs). Sans-IO: feed it the master's messages, send what
/// [`poll_transmit`](Self::poll_transmit) returns, read [`result`](Self::result).
#[derive(Debug)]
pub struct Authenticatee {
    _sketch: (),
}

impl Authenticatee {
    /// A new attempt for `credential`, announcing itself as `pid`, in state `Ready`.
    pub fn new(credential: Credential, pid: impl Into<String>, options: &ClientOptions) -> Self {
        let _ = (credential, pid.into(), options);
        todo!()
    }

    /// Begins: queues the `AuthenticateMessage` and moves to `Starting`. Without a
    /// secret, fails at once (result `Ok(false)`) and sends nothing.
    pub fn start(&mut self) {
        todo!()
    }

    /// Consumes one message from the master.
    pub fn handle_message(&mut self, message: Message) {
        let _ = message;
        todo!()
    }

    /// The next message to send to the master, if any.
    pub fn poll_transmit(&mut self) -> Option<Message> {
        todo!()
    }

    /// Gives up (a timeout, the master changed): state `Discarded` unless a result is in.
    pub fn discard(&mut self) {
        todo!()
    }

    /// The current state.
    pub fn state(&self) -> AuthenticateeState {
        todo!()
    }

    /// `None` while pending; `Ok(true)` accepted, `Ok(false)` rejected, `Err` broke down.
    pub fn result(&self) -> Option<Result<bool, &AuthenticateeError>> {
        todo!()
    }
}
