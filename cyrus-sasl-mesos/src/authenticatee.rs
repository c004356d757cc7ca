//! [`Authenticatee`]: the framework's or agent's side of one authentication
//! attempt, as Mesos's `CRAMMD5AuthenticateeProcess`
//! (`src/authentication/cram_md5/authenticatee.cpp`) runs it.

use std::collections::VecDeque;
use std::fmt;

use crate::authenticator::{DiscardReason, ExchangeError, ExchangeState, Outcome};
use crate::messages::{AuthenticateMessage, AuthenticationStartMessage, AuthenticationStepMessage, Message};
use crate::{ChannelBindingPolicy, SecureChannel};
use cyrus_sasl::{ChannelBinding, Client, ClientStep, Config, Credentials, Secret};

/// Whether allowing mechanism `allowed` lets this client use `offered`: the
/// same name, or with `binding` its `-PLUS` variant (ASCII case ignored).
fn allows(allowed: &str, offered: &str, binding: bool) -> bool {
    offered.eq_ignore_ascii_case(allowed)
        || (binding
            && offered.len() == allowed.len() + 5
            && offered.get(..allowed.len()).is_some_and(|m| m.eq_ignore_ascii_case(allowed))
            && is_plus(offered))
}

/// The SASL mechanism that takes the client's identity from the TLS layer.
const EXTERNAL: &str = "EXTERNAL";

/// Whether a mechanism name is a channel-binding (`-PLUS`) variant.
pub(crate) fn is_plus(mechanism: &str) -> bool {
    mechanism.len() > 5 && mechanism.get(mechanism.len() - 5..).is_some_and(|s| s.eq_ignore_ascii_case("-PLUS"))
}

/// A principal and its secret, as in Mesos's `Credential` protobuf
/// (`required string principal = 1; optional string secret = 2;`).
/// `Debug` never shows the secret.
#[derive(Clone, Debug)]
pub struct Credential {
    /// Who authenticates, e.g. `my-framework`.
    pub principal: String,
    /// Its secret. `None` is for mechanisms that need none: Kerberos
    /// ([`Credential::kerberos`]: the ticket in the credential cache is the
    /// proof) and `EXTERNAL` ([`Credential::external`]: the TLS client
    /// certificate is). With any other mechanism allowed,
    /// [`authenticate`](super::authenticate) refuses it before the first
    /// attempt ([`Credential::check`], [`MissingSecret`](super::MissingSecret));
    /// the sans-IO [`Authenticatee`] ends such an attempt at once, sending
    /// nothing (as Mesos's: "secret needed by CRAM-MD5 authenticatee").
    pub secret: Option<Secret>,
}

impl Credential {
    /// A principal with a secret.
    pub fn new(principal: impl Into<String>, secret: impl Into<Secret>) -> Self {
        Credential { principal: principal.into(), secret: Some(secret.into()) }
    }

    /// A principal without a secret, for `EXTERNAL` over TLS
    /// ([`ClientOptions::mechanisms`] `["EXTERNAL"]`): the client certificate
    /// proves who the client is, and the master accepts `principal` only if it
    /// is the one the master takes from that certificate.
    pub fn external(principal: impl Into<String>) -> Self {
        Credential { principal: principal.into(), secret: None }
    }
}

/// How the authenticatee's SASL client is created.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// The SASL service name; Mesos uses [`DEFAULT_SERVICE`](super::DEFAULT_SERVICE), `mesos`.
    pub service: String,
    /// The master's host name, as the client names it to libsasl2 (CRAM-MD5
    /// ignores it; GSSAPI needs it to match the master's service principal).
    pub server_fqdn: String,
    /// Options for the client connection (e.g. a `keytab` for GSSAPI).
    pub config: Config,
    /// The mechanisms this client may use, in no particular order: of the
    /// master's offer, only these are considered (libsasl2 picks among them).
    /// Default: `CRAM-MD5` alone, as Mesos's authenticatee. A master (or a
    /// machine in the middle) that offers only `PLAIN` then gets no answer but an
    /// error, instead of the secret in clear; allowing another mechanism is this
    /// explicit choice.
    pub mechanisms: Vec<String>,
    /// Whether to bind the exchange to the TLS connection to the master (see
    /// [`ChannelBindingPolicy`]): with a binding given to the attempt
    /// ([`Authenticatee::set_secure_channel`]), each allowed mechanism also
    /// allows its `-PLUS` variant, and a `-PLUS` mechanism the master offers is
    /// chosen over the others. Default [`ChannelBindingPolicy::Prefer`].
    pub channel_binding: ChannelBindingPolicy,
    /// Whether [`AuthenticationRetry`](super::AuthenticationRetry) keeps
    /// trying when the master offers none of [`mechanisms`](Self::mechanisms)
    /// (each retry after its backoff). Default `false`: the first such offer
    /// ends the attempts with a [`MechanismMismatch`](super::MechanismMismatch),
    /// since no retry can succeed until the master or this client is
    /// reconfigured. `true` suits a client that waits out a master being
    /// moved to a new mechanism.
    pub retry_on_mechanism_mismatch: bool,
}

impl Default for ClientOptions {
    /// Service `mesos`, server `localhost`, an empty config, `CRAM-MD5` only.
    fn default() -> Self {
        ClientOptions {
            service: super::DEFAULT_SERVICE.to_owned(),
            server_fqdn: "localhost".to_owned(),
            config: Config::new(),
            mechanisms: vec![super::DEFAULT_MECH_LIST.to_owned()],
            channel_binding: ChannelBindingPolicy::Prefer,
            retry_on_mechanism_mismatch: false,
        }
    }
}

/// Where an [`Authenticatee`] is: Mesos's `READY`, `STARTING`, `STEPPING`, then
/// one of the terminal states (Mesos's `COMPLETED`, `FAILED`, `ERROR`,
/// `DISCARDED`, named here by their [`Outcome`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthenticateeState {
    /// Created; nothing sent.
    Ready,
    /// `AuthenticateMessage` sent; waiting for the mechanisms.
    Starting,
    /// `AuthenticationStartMessage` sent; exchanging steps until the verdict.
    Stepping,
    /// The master accepted the credentials: [`Outcome::Authenticated`].
    Authenticated,
    /// The master rejected them, or there was no secret: [`Outcome::Rejected`].
    Rejected,
    /// The exchange broke down: [`Outcome::Failed`].
    Failed,
    /// Given up by the caller ([`Authenticatee::discard`]):
    /// [`Outcome::Failed`] with [`DiscardReason::Abandoned`].
    Discarded,
}

impl AuthenticateeState {
    /// True for `Authenticated`, `Rejected`, `Failed` and `Discarded`.
    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::Ready | Self::Starting | Self::Stepping)
    }
}

enum Phase {
    Ready,
    Starting(Client),
    Stepping(Client),
    Done(Outcome),
}

/// One authentication attempt of a framework or an agent. It is the same type for
/// both; only the principal differs.
///
/// Sans-IO, like Mesos's `CRAMMD5AuthenticateeProcess` without the process: call
/// [`start`](Self::start), send whatever [`poll_transmit`](Self::poll_transmit)
/// returns to the master, pass the master's answers to
/// [`handle_message`](Self::handle_message), until [`outcome`](Self::outcome) is
/// `Some`. It has no timer: the caller gives up with [`discard`](Self::discard)
/// ([`AuthenticationRetry`](super::AuthenticationRetry) does that, and retries).
///
/// ```text
/// Ready --start--> Starting --Mechanisms--> Stepping --Step--> Stepping
///                                               |--Completed--> Authenticated
/// (any live state) --Failed--> Rejected
/// (any live state) --Error, or a message out of place--> Failed
/// ```
///
/// It wraps a [`Client`], created by `start` from the [`ClientOptions`].
/// Messages that arrive after the result is in are ignored (logged at debug).
///
/// **Pinning.** Every message comes with its sender's UPID (`from`, what
/// libprocess's `Libprocess-From` says). The first message after `start`
/// fixes the sender (the master's session process,
/// `crammd5-authenticator-session(N)@...`); from then on, messages from any
/// other sender are ignored and logged (the UPID escaped), and do not change
/// the state. Apache Mesos's own authenticatee answers whoever sent the last
/// message; this one does not. The driver should deliver to it only messages
/// addressed to its own process.
pub struct Authenticatee {
    principal: String,
    secret: Option<Secret>,
    pid: String,
    options: ClientOptions,
    phase: Phase,
    /// The sender of the first answer, once there is one.
    peer: Option<String>,
    outbox: VecDeque<Message>,
    channel: Option<SecureChannel>,
}

impl Authenticatee {
    /// A new attempt for `credential`, announcing itself as `pid` (Mesos sends the
    /// framework's or agent's libprocess PID), in state `Ready`.
    pub fn new(credential: Credential, pid: impl Into<String>, options: &ClientOptions) -> Self {
        Authenticatee {
            principal: credential.principal,
            secret: credential.secret,
            pid: pid.into(),
            options: options.clone(),
            phase: Phase::Ready,
            peer: None,
            outbox: VecDeque::new(),
            channel: None,
        }
    }

    /// Begins: creates the SASL client, queues the `AuthenticateMessage` and moves
    /// to `Starting`.
    ///
    /// Without a secret the attempt ends at once: [`Outcome::Rejected`],
    /// nothing sent. If the client cannot be created: [`Outcome::Failed`].
    /// Calling `start` again does nothing.
    pub fn start(&mut self) {
        if !matches!(self.phase, Phase::Ready) {
            return;
        }
        let all =
            |f: fn(&str) -> bool| !self.options.mechanisms.is_empty() && self.options.mechanisms.iter().all(|m| f(m));
        let external_only = all(|m| m.eq_ignore_ascii_case(EXTERNAL));
        let secretless_only = all(is_secretless);
        let credentials = match self.secret.take() {
            Some(secret) => Credentials::new(self.principal.clone(), secret),
            // EXTERNAL proves who the client is through the TLS layer, not with
            // a secret: the principal goes as the identity to act as, which the
            // master accepts only if it is the one the certificate proved.
            None if external_only => Credentials {
                authname: self.principal.clone(),
                authzid: Some(self.principal.clone()),
                ..Credentials::default()
            },
            // Kerberos: the ticket in the credential cache is the proof.
            None if secretless_only => Credentials { authname: self.principal.clone(), ..Credentials::default() },
            None => {
                log::warn!(
                    "authentication failed: principal {:?} has no secret, which {} needs",
                    self.principal,
                    self.options.mechanisms.join(" or ")
                );
                self.phase = Phase::Done(Outcome::Rejected);
                return;
            }
        };
        let options = &self.options;
        self.phase = match Client::new(&options.service, &options.server_fqdn, credentials, &options.config) {
            Ok(client) => {
                self.outbox.push_back(AuthenticateMessage { pid: self.pid.clone() }.into());
                Phase::Starting(client)
            }
            Err(e) => failed(e.into()),
        };
    }

    /// The secure channel this attempt's messages go to the master on (its
    /// TLS connection), or `None` without one: its binding, and its strength
    /// for EXTERNAL. Used when the mechanisms arrive, so set it before: the
    /// libprocess driver sets it from the connection that carried the
    /// `AuthenticateMessage`, the one the master binds its session to.
    pub fn set_secure_channel(&mut self, channel: Option<SecureChannel>) {
        self.channel = channel;
    }

    /// Consumes one message from the master, sent by the UPID `from`.
    ///
    /// - From a sender other than the one that answered first: ignored (see
    ///   *Pinning* in the [type docs](Self)).
    /// - `Mechanisms` in `Starting`: picks one of those allowed by
    ///   [`ClientOptions::mechanisms`], sends `Start`, moves to `Stepping`; if
    ///   none is allowed, failed with [`ExchangeError::NoAllowedMechanism`].
    /// - `Step` in `Stepping`: answers with a `Step`.
    /// - `Completed` in `Stepping`: authenticated.
    /// - `Failed` in any live state: rejected. `Error` in any live state: failed.
    /// - Before [`start`](Self::start): ignored, as is anything after the outcome.
    /// - Anything else: failed with [`ExchangeError::Unexpected`] naming the
    ///   message and the state (a `Step` before the mechanisms, a `Completed`
    ///   before any step, a master-bound message).
    pub fn handle_message(&mut self, from: &str, message: Message) {
        let state = self.state();
        if state.is_terminal() || state == AuthenticateeState::Ready {
            log::debug!(
                "ignoring authentication '{}' from {from:?} received after the attempt ended ({state:?})",
                message.message_type()
            );
            return;
        }
        match &self.peer {
            Some(peer) if peer != from => {
                log::warn!(
                    "ignoring authentication '{}' from {from:?}: this attempt talks only to {peer:?}",
                    message.message_type()
                );
                return;
            }
            Some(_) => {}
            None => {
                log::debug!("principal {:?}: the master answered from {from:?}", self.principal);
                self.peer = Some(from.to_owned());
            }
        }
        let exchange_state =
            if state == AuthenticateeState::Starting { ExchangeState::Starting } else { ExchangeState::Stepping };
        self.phase = match (std::mem::replace(&mut self.phase, Phase::Ready), message) {
            (Phase::Starting(client), Message::Mechanisms(m)) => self.mechanisms(client, &m.mechanisms),
            (Phase::Stepping(client), Message::Step(m)) => self.step(client, &m.data),
            (Phase::Stepping(_), Message::Completed(_)) => {
                log::info!("authentication of principal {:?} succeeded", self.principal);
                Phase::Done(Outcome::Authenticated { principal: self.principal.clone() })
            }
            (_, Message::Failed(_)) => {
                log::warn!("the master rejected principal {:?}", self.principal);
                Phase::Done(Outcome::Rejected)
            }
            (_, Message::Error(m)) => failed(ExchangeError::Remote { error: m.error }),
            (_, other) => failed(ExchangeError::Unexpected { message: other.message_type(), state: exchange_state }),
        };
        if let Phase::Done(Outcome::Failed(e)) = &self.phase {
            log::warn!("authentication of principal {:?} broke down: {}", self.principal, crate::error::Chain(e));
        }
    }

    fn mechanisms(&mut self, mut client: Client, mechanisms: &[String]) -> Phase {
        log::debug!("received SASL authentication mechanisms: {mechanisms:?}");
        let allowed = &self.options.mechanisms;
        let policy = self.options.channel_binding;
        let channel = self.channel.take();
        let binding = match (policy, channel.as_ref().map(|c| &c.binding)) {
            (ChannelBindingPolicy::Off, _) => None,
            (ChannelBindingPolicy::Require, None) => {
                let reason = "the connection to the master is not TLS";
                return failed(ExchangeError::ChannelBindingRequired { reason });
            }
            (policy, Some(binding)) => {
                Some(ChannelBinding::new(binding.name(), binding.data(), policy == ChannelBindingPolicy::Require))
            }
            (ChannelBindingPolicy::Prefer, None) => None,
        };
        let mut usable: Vec<&str> = mechanisms
            .iter()
            .filter(|m| allowed.iter().any(|a| allows(a, m, binding.is_some())))
            // A name with a space would smuggle a second name into the list.
            .filter(|m| !m.is_empty() && !m.contains(char::is_whitespace))
            .map(String::as_str)
            .collect();
        if binding.is_some() && usable.iter().any(|m| is_plus(m)) {
            usable.retain(|m| is_plus(m));
        } else if policy == ChannelBindingPolicy::Require && !usable.is_empty() {
            let reason = "the master offered no -PLUS mechanism this client allows";
            return failed(ExchangeError::ChannelBindingRequired { reason });
        }
        if usable.is_empty() {
            return failed(ExchangeError::NoAllowedMechanism {
                offered: mechanisms.to_vec(),
                allowed: allowed.clone(),
            });
        }
        if let Some(binding) = &binding {
            if let Err(e) = client.set_channel_binding(binding) {
                return failed(e.into());
            }
            // libsasl2 (2.1.28 `sasl_client_start`) tells SCRAM's server "I can
            // bind, and saw you offer no -PLUS" (gs2 flag `y`, which a server
            // that binds refuses, so a relay that strips -PLUS from the offer
            // is caught) only when it chooses among more than one name; given
            // one it takes it as the application's fixed choice and says `n`.
            // This client did choose from the master's offer: say so.
            if usable.len() == 1 {
                usable.push(usable[0]);
            }
        }
        // EXTERNAL: the TLS layer under this attempt vouches for the client
        // (libsasl2's EXTERNAL client is available only with an identity set).
        if let Some(channel) = channel.as_ref().filter(|_| usable.iter().any(|m| m.eq_ignore_ascii_case(EXTERNAL))) {
            if let Err(e) = client.set_external(channel.ssf, Some(&self.principal)) {
                return failed(e.into());
            }
        }
        let start = match client.start(&usable.join(" ")) {
            Ok(start) => start,
            Err(e) => return failed(e.into()),
        };
        log::debug!("attempting to authenticate with mechanism {:?}", start.mechanism);
        // Mesos always sets `data`, empty when the mechanism has no initial response.
        let data = Some(start.initial_response.unwrap_or_default().to_vec());
        self.outbox.push_back(AuthenticationStartMessage { mechanism: start.mechanism.to_owned(), data }.into());
        Phase::Stepping(client)
    }

    fn step(&mut self, mut client: Client, challenge: &[u8]) -> Phase {
        let data = match client.step(challenge) {
            Ok(ClientStep::Continue(response)) => response.to_vec(),
            // The client has nothing more to compute; its last response (possibly
            // empty) still goes to the master, which alone knows the verdict.
            Ok(ClientStep::Complete(response)) => response.unwrap_or_default().to_vec(),
            Err(e) => return failed(e.into()),
        };
        self.outbox.push_back(AuthenticationStepMessage { data }.into());
        Phase::Stepping(client)
    }

    /// The next message to send to the master, if any.
    pub fn poll_transmit(&mut self) -> Option<Message> {
        self.outbox.pop_front()
    }

    /// Gives up (a timeout, the master changed, the connection broke): state
    /// `Discarded`, outcome [`Outcome::Failed`] with
    /// [`DiscardReason::Abandoned`], unless the outcome is already in.
    /// Pending messages are dropped.
    pub fn discard(&mut self) {
        if !self.state().is_terminal() {
            self.phase = failed(ExchangeError::Discarded(DiscardReason::Abandoned));
            self.outbox.clear();
        }
    }

    /// The current state.
    pub fn state(&self) -> AuthenticateeState {
        match &self.phase {
            Phase::Ready => AuthenticateeState::Ready,
            Phase::Starting(_) => AuthenticateeState::Starting,
            Phase::Stepping(_) => AuthenticateeState::Stepping,
            Phase::Done(Outcome::Authenticated { .. }) => AuthenticateeState::Authenticated,
            Phase::Done(Outcome::Rejected) => AuthenticateeState::Rejected,
            Phase::Done(Outcome::Failed(ExchangeError::Discarded(DiscardReason::Abandoned))) => {
                AuthenticateeState::Discarded
            }
            Phase::Done(Outcome::Failed(_)) => AuthenticateeState::Failed,
        }
    }

    /// Mesos's `Future<bool>`: `None` while pending, then how the attempt ended.
    pub fn outcome(&self) -> Option<&Outcome> {
        match &self.phase {
            Phase::Done(outcome) => Some(outcome),
            _ => None,
        }
    }

    /// [`outcome`](Self::outcome), by value.
    pub fn into_outcome(self) -> Option<Outcome> {
        match self.phase {
            Phase::Done(outcome) => Some(outcome),
            _ => None,
        }
    }

    /// The principal this attempt authenticates.
    pub fn principal(&self) -> &str {
        &self.principal
    }

    /// The PID it announces in its `AuthenticateMessage`.
    pub fn pid(&self) -> &str {
        &self.pid
    }

    /// The UPID it is pinned to: the sender of the first answer, once there is one.
    pub fn peer(&self) -> Option<&str> {
        self.peer.as_deref()
    }
}

fn failed(error: ExchangeError) -> Phase {
    Phase::Done(Outcome::Failed(error))
}

impl fmt::Debug for Authenticatee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticatee")
            .field("principal", &self.principal)
            .field("pid", &self.pid)
            .field("state", &self.state())
            .field("peer", &self.peer)
            .field("queued", &self.outbox.len())
            .finish_non_exhaustive()
    }
}

/// Mechanisms that prove who the client is without a secret: Kerberos (the
/// ticket in the credential cache) and EXTERNAL (the TLS client certificate).
const SECRETLESS_MECHANISMS: [&str; 3] = ["GSSAPI", "GS2-KRB5", "EXTERNAL"];

/// Whether `mechanism` needs no secret (GSSAPI, GS2-KRB5, EXTERNAL).
pub(crate) fn is_secretless(mechanism: &str) -> bool {
    SECRETLESS_MECHANISMS.iter().any(|m| m.eq_ignore_ascii_case(mechanism))
}
