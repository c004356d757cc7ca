//! [`Authenticator`]: the master's side. It combines Mesos's
//! `CRAMMD5AuthenticatorSessionProcess` (`src/authentication/cram_md5/authenticator.cpp`),
//! one SASL server session per peer, with the session bookkeeping of
//! `Master::authenticate`, `Master::_authenticate` and
//! `Master::authenticationTimeout` (`src/master/master.cpp`).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use crate::messages::{
    AuthenticationCompletedMessage, AuthenticationErrorMessage, AuthenticationFailedMessage,
    AuthenticationMechanismsMessage, AuthenticationStepMessage, Message, MessageType,
};
use crate::registry::{Generation, Registry};
use cyrus_sasl::{ChannelBinding, Config, Identity, Server, ServerStep};
use libprocess::Upid;

use crate::error::Chain;

/// How long a session may last before it is discarded: Mesos's
/// `--authentication_v0_timeout` default, 15 seconds.
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(15);

/// How each session's SASL server is created, and how long a session may last.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// The SASL service name; Mesos uses [`DEFAULT_SERVICE`](super::DEFAULT_SERVICE), `mesos`.
    pub service: String,
    /// This master's host name.
    pub fqdn: String,
    /// The user realm secrets are looked up in. With `None`, libsasl2 uses `fqdn`
    /// (lower-cased), as Mesos's authenticator does. The principal reported for an
    /// accepted peer never carries the realm.
    pub realm: Option<String>,
    /// How long a session may last, from its `AuthenticateMessage` to the verdict.
    pub session_timeout: Duration,
    /// What a claimed UPID must match: by default its IP must be the TCP peer's.
    pub peer_binding: PeerBinding,
    /// Whether sessions bind SASL to the secure channel their
    /// `AuthenticateMessage` came over ([`Origin::channel`]), which
    /// offers the `-PLUS` mechanisms (`SCRAM-SHA-256-PLUS`) of `mech_list`.
    /// Default [`ChannelBindingPolicy::Prefer`].
    pub channel_binding: ChannelBindingPolicy,
}

impl Default for ServerOptions {
    /// Service `mesos`, host `localhost`, no realm, a 15 s session timeout,
    /// [`PeerBinding::RequireIpMatch`].
    fn default() -> Self {
        ServerOptions {
            service: super::DEFAULT_SERVICE.to_owned(),
            fqdn: "localhost".to_owned(),
            realm: None,
            session_timeout: DEFAULT_SESSION_TIMEOUT,
            peer_binding: PeerBinding::RequireIpMatch,
            channel_binding: ChannelBindingPolicy::Prefer,
        }
    }
}

/// Whether a side binds its SASL exchange to the TLS channel under it (SASL
/// channel binding, RFC 5056, with the channel's `tls-exporter` bytes).
///
/// A relay that terminates TLS toward each side (a machine in the middle
/// whose certificate one side was made to trust) can pass CRAM-MD5, DIGEST-MD5
/// or plain SCRAM messages through unchanged, and the exchange succeeds. With
/// binding, each side mixes its own channel's bytes into a `-PLUS` mechanism's
/// proof; a relay's two channels differ, so the exchange fails. SCRAM also
/// catches a relay that strips the `-PLUS` names from the master's offer: the
/// client then says it could have bound, and a master that binds refuses.
///
/// Binding takes a `-PLUS` mechanism on both sides (`SCRAM-SHA-256-PLUS`); the
/// `mech_list` of a master and the [`ClientOptions::mechanisms`](super::ClientOptions::mechanisms)
/// of a client name the mechanism (`SCRAM-SHA-256`) and binding adds its
/// `-PLUS` variant. Without TLS there is nothing to bind to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChannelBindingPolicy {
    /// Never bind.
    Off,
    /// Over TLS, bind when the other side can: a master offers the `-PLUS`
    /// variants beside the rest, a client picks a `-PLUS` mechanism when the
    /// master offers one. Without TLS, or with mechanisms that cannot bind
    /// (CRAM-MD5, the default), nothing changes. It does not stop a relay that
    /// removes every mechanism that can bind from the offer, when the client
    /// also allows one that cannot (CRAM-MD5): use `Require` where that matters
    /// (see the [TLS guide](crate::guide::tls)).
    #[default]
    Prefer,
    /// Bind or refuse: a master offers only `-PLUS` mechanisms and refuses a
    /// peer that did not come over TLS; a client refuses a master that offers
    /// none, or a connection that is not TLS.
    Require,
}

/// How far the master trusts the UPIDs a peer claims.
///
/// libprocess names the sender of a message only by what the sender writes in
/// its `Libprocess-From` header, and `AuthenticateMessage.pid` (the UPID the
/// master records as authenticated, and later matches registrations against)
/// is just as much a claim. Apache Mesos trusts both unless
/// `LIBPROCESS_REQUIRE_PEER_ADDRESS_IP_MATCH` is set. Here the check is the
/// default.
///
/// What stays trusted even with [`RequireIpMatch`](Self::RequireIpMatch): the
/// **port** and the **process id** of a UPID. Any process on the same host as
/// a framework (same IP) can claim that framework's UPID, send an
/// `AuthenticateMessage` for it (which, as in Mesos, clears its current
/// authentication) and authenticate it under a principal whose secret it
/// knows. Binding stops peers on *other* hosts; isolating the processes of one
/// host is the host's business (or TLS's, which libprocess does not do here).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PeerBinding {
    /// The IP in the sender's `Libprocess-From` UPID and the IP in
    /// `AuthenticateMessage.pid` must both equal the IP address of the TCP peer
    /// the message arrived from ([`Origin::peer_ip`]); a message that fails is
    /// dropped with [`ExchangeError::PeerAddressMismatch`] and nothing is sent
    /// (the claimed sender is not to be believed, so neither is its address).
    /// IPv4-mapped IPv6 addresses count as their IPv4 address.
    #[default]
    RequireIpMatch,
    /// Believe the claimed UPIDs, as Apache Mesos does by default: needed behind
    /// NAT, or with `LIBPROCESS_ADVERTISE_IP`, where a peer's advertised address
    /// is not the one its connections come from. Logged as a warning when the
    /// [`Authenticator`] is created, and at each message that would have failed.
    /// A `pid` that is no UPID at all is still refused
    /// ([`ExchangeError::BadPid`]).
    TrustClaimedAddress,
}

impl std::str::FromStr for ChannelBindingPolicy {
    type Err = UnknownChannelBindingPolicy;

    /// `off`, `prefer` or `require` (the words of a master's config key
    /// `channel_binding` and of `sasl-sample --channel-binding`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "off" => Ok(ChannelBindingPolicy::Off),
            "prefer" => Ok(ChannelBindingPolicy::Prefer),
            "require" => Ok(ChannelBindingPolicy::Require),
            other => Err(UnknownChannelBindingPolicy(other.chars().take(64).collect())),
        }
    }
}

/// A [`ChannelBindingPolicy`] word other than `off`, `prefer`, `require`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown channel binding policy {0:?} (expected off, prefer or require)")]
pub struct UnknownChannelBindingPolicy(String);

/// Who sent a message to the master, as the transport saw it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    /// The sender's UPID as it claims it (libprocess's `Libprocess-From`, or the
    /// `User-Agent: libprocess/...` header), e.g.
    /// `crammd5-authenticatee(1)@10.0.0.7:40123`. A session answers only this
    /// UPID, and takes later messages only from it.
    pub from: String,
    /// The IP address of the TCP peer the message arrived from: the one fact
    /// about the sender the master has verified.
    pub peer_ip: IpAddr,
    /// The secure channel (TLS connection) the message came over; `None` in
    /// plaintext. An `AuthenticateMessage`'s channel is its session's: its
    /// binding (see [`ChannelBindingPolicy`]) and the peer identity it verified
    /// (for EXTERNAL).
    pub channel: Option<SecureChannel>,
}

/// What the secure channel (TLS) under an exchange gives SASL, in terms that
/// do not depend on the transport.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SecureChannel {
    /// Its channel binding (non-critical; the policies decide criticality).
    pub binding: ChannelBinding,
    /// Its strength in bits, for `SASL_SSF_EXTERNAL`.
    pub ssf: u32,
    /// The identity the channel verified for the peer (a principal taken from
    /// its client certificate), if any: a master's SASL server gets it as
    /// `SASL_AUTH_EXTERNAL`, so that `EXTERNAL` (when in `mech_list`)
    /// authenticates the peer as it. `None` on a client's side.
    pub peer_identity: Option<String>,
}

impl SecureChannel {
    /// A channel with this binding and strength, and no verified peer identity.
    pub fn new(binding: ChannelBinding, ssf: u32) -> Self {
        SecureChannel { binding, ssf, peer_identity: None }
    }

    /// The channel a libprocess TLS connection established: its `tls-exporter`
    /// binding (RFC 9266) and its cipher's strength. No peer identity: a
    /// master adds the one it derives from the client certificate.
    pub fn from_tls(session: &libprocess::TlsSession) -> Self {
        let binding = ChannelBinding::new(libprocess::TLS_EXPORTER, *session.exporter(), false);
        SecureChannel::new(binding, session.ssf())
    }
}

impl Origin {
    /// An origin from its parts, not over a secure channel.
    pub fn new(from: impl Into<String>, peer_ip: IpAddr) -> Self {
        Origin { from: from.into(), peer_ip, channel: None }
    }

    /// The same origin, over this secure channel.
    pub fn with_channel(mut self, channel: SecureChannel) -> Self {
        self.channel = Some(channel);
        self
    }
}

/// The IP address of a claimed UPID (`id@ip:port`), canonical (IPv4-mapped
/// IPv6 as IPv4); `None` when the text is no [`Upid`].
pub(crate) fn upid_ip(upid: &str) -> Option<IpAddr> {
    upid.parse::<Upid>().ok().map(|upid| upid.ip().to_canonical())
}

/// At most the first 64 characters of peer-controlled `text`, for errors and
/// records (logged with `{:?}`, so escaped).
fn shown(text: &str) -> String {
    text.chars().take(64).collect()
}

/// Where a live exchange is, on either side (Mesos's states before the
/// terminal ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExchangeState {
    /// The master sent its mechanisms, or the authenticatee its
    /// `AuthenticateMessage`: the mechanism is not chosen yet.
    Starting,
    /// Exchanging steps.
    Stepping,
}

/// Why a session was dropped before a verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DiscardReason {
    /// A new `AuthenticateMessage` with the same PID, or on the same peer,
    /// replaced it (Mesos: "discarding outstanding authentication").
    Superseded,
    /// It outlived [`ServerOptions::session_timeout`].
    TimedOut,
    /// The [`Authenticator`] was dropped.
    AuthenticatorDropped,
    /// The authenticatee gave up ([`Authenticatee::discard`](crate::Authenticatee::discard):
    /// its timeout, or the master changed).
    Abandoned,
}

/// Why an exchange ended without a verdict, on either side: worth a retry,
/// unlike a rejection.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExchangeError {
    /// A message the protocol does not allow in this state (Mesos:
    /// "Unexpected authentication 'step' received").
    #[error("unexpected authentication '{message}' received in state {state:?}")]
    Unexpected {
        /// What arrived.
        message: MessageType,
        /// The state it arrived in.
        state: ExchangeState,
    },
    /// libsasl2 failed with something other than a rejection: the master's
    /// server (the peer chose a mechanism that is not offered, or sent a
    /// malformed response) or the authenticatee's client (it could not be
    /// created, a step failed). The libsasl2 error is the source.
    #[error("the SASL exchange failed")]
    Sasl(#[from] cyrus_sasl::Error),
    /// Authenticatee: the master sent an `AuthenticationErrorMessage` (its
    /// text is the master's, shown escaped).
    #[error("the master reported an authentication error: {}; its log says more", error.as_ref().map_or_else(|| "(no detail)".to_owned(), |e| format!("{e:?}")))]
    Remote {
        /// Its text, if it had one.
        error: Option<String>,
    },
    /// Authenticatee: none of the mechanisms the master offered is in
    /// [`ClientOptions::mechanisms`](crate::ClientOptions::mechanisms);
    /// nothing was sent.
    #[error(
        "the master offered none of the allowed mechanisms (offered {offered:?}, allowed {allowed:?}): allow one \
         of them, or offer an allowed one on the master"
    )]
    NoAllowedMechanism {
        /// What the master offered.
        offered: Vec<String>,
        /// What this client allows.
        allowed: Vec<String>,
    },
    /// [`ChannelBindingPolicy::Require`], and there is nothing to bind to
    /// (the connection is not TLS) or the master offered no `-PLUS`
    /// mechanism the client allows. The master starts no session and tells
    /// the peer only that authentication failed; the authenticatee sends nothing.
    #[error("channel binding is required, but {reason}")]
    ChannelBindingRequired {
        /// Which of the two.
        reason: &'static str,
    },
    /// Master: the mechanism finished with data for the peer, which Mesos's
    /// `AuthenticationCompletedMessage` cannot carry (Mesos's server does not
    /// use `SASL_SUCCESS_DATA` either).
    #[error("mechanism {0} sent data with its success, which the Mesos protocol cannot carry: offer another")]
    SuccessData(String),
    /// Master: the transport reported the peer gone (Mesos: "Failed to
    /// communicate with authenticatee").
    #[error("failed to communicate with authenticatee")]
    PeerExited,
    /// The exchange was dropped before a verdict.
    #[error("authentication discarded ({0:?})")]
    Discarded(DiscardReason),
    /// Master: an `AuthenticateMessage` whose sender UPID or `pid` does not
    /// have the IP address of the TCP peer it came from
    /// ([`PeerBinding::RequireIpMatch`]). No session was started and nothing
    /// was sent.
    #[error(
        "claimed UPID {claimed:?} does not match the peer address {peer_ip} (behind NAT, see \
         PeerBinding::TrustClaimedAddress)"
    )]
    PeerAddressMismatch {
        /// The UPID (sender or `pid`) that failed the check.
        claimed: String,
        /// The TCP peer's address.
        peer_ip: IpAddr,
    },
    /// Master: an `AuthenticateMessage` whose `pid` is no [`Upid`] (bounded:
    /// a process id of at most [`libprocess::MAX_ID_LEN`] bytes and an IP
    /// literal with a port), whatever the [`PeerBinding`]. No session was
    /// started and nothing was sent.
    #[error("AuthenticateMessage.pid {pid:?} is no UPID")]
    BadPid {
        /// Its first 64 characters (the rest is not kept).
        pid: String,
        /// What is wrong with it.
        #[source]
        error: libprocess::UpidError,
    },
    /// Master: the [`Registry`] holds its capacity of UPIDs, every one
    /// authenticated, and an authenticated UPID is never evicted to make
    /// room: the attempt of a new UPID is refused (the peer gets an
    /// `AuthenticationErrorMessage` and retries after its backoff).
    #[error("the registry of authenticated UPIDs is full ({capacity} UPIDs, all authenticated): try again later")]
    RegistryFull {
        /// The registry's capacity.
        capacity: usize,
    },
}

/// How one authentication exchange ended, on either side.
#[derive(Debug)]
pub enum Outcome {
    /// The master accepted the credentials (it sent `Completed`): `principal`
    /// is authenticated.
    Authenticated {
        /// The principal, without the realm the master's config added.
        principal: String,
    },
    /// The master rejected the credentials (it sent `Failed`), for a wrong
    /// secret and an unknown principal alike; or the authenticatee had no
    /// secret to try. Final: never retried.
    Rejected,
    /// No verdict: the exchange broke down, timed out or was superseded.
    /// Worth a retry.
    Failed(ExchangeError),
}

impl Outcome {
    /// The authenticated principal, if the outcome is [`Outcome::Authenticated`].
    pub fn principal(&self) -> Option<&str> {
        match self {
            Outcome::Authenticated { principal } => Some(principal),
            _ => None,
        }
    }

    /// The error, if the outcome is [`Outcome::Failed`].
    pub fn error(&self) -> Option<&ExchangeError> {
        match self {
            Outcome::Failed(e) => Some(e),
            _ => None,
        }
    }
}

/// What a peer is told in an `AuthenticationErrorMessage` when its chosen
/// mechanism is not offered or not installed.
pub const PEER_TEXT_UNSUPPORTED_MECHANISM: &str = "Unsupported authentication mechanism";
/// What a peer is told in an `AuthenticationErrorMessage` for any other failure
/// of the master's SASL server.
pub const PEER_TEXT_AUTHENTICATION_ERROR: &str = "Authentication error (see the master's log)";

impl ExchangeError {
    /// The text sent to the peer in an `AuthenticationErrorMessage`: one of a
    /// few fixed texts (Mesos's own wording for a message out of place). An
    /// unauthenticated peer learns nothing about the master's setup (its
    /// installed mechanisms, packages, paths, libsasl2's details): the full
    /// error goes to the master's log only.
    fn peer_text(&self) -> String {
        match self {
            ExchangeError::Unexpected { message, .. } => format!("Unexpected authentication '{message}' received"),
            ExchangeError::Sasl(
                cyrus_sasl::Error::MechanismNotOffered { .. } | cyrus_sasl::Error::MechanismUnavailable { .. },
            ) => PEER_TEXT_UNSUPPORTED_MECHANISM.to_owned(),
            _ => PEER_TEXT_AUTHENTICATION_ERROR.to_owned(),
        }
    }
}

/// How one session ended on the master: Mesos's `Future<Option<string>>` for it.
#[derive(Debug)]
pub struct SessionOutcome<P> {
    /// The transport peer the session ran with.
    pub peer: P,
    /// The PID from its `AuthenticateMessage`, as the UPID it parsed to; for
    /// one that did not parse ([`ExchangeError::BadPid`]), its first 64 characters.
    pub pid: String,
    /// Authenticated (the peer got `Completed`), rejected (the peer got
    /// `Failed`), or failed without a verdict.
    pub outcome: Outcome,
}

/// Where an [`Authenticator`] delivers the [`Outcome`] of every session, exactly
/// once per `AuthenticateMessage` it accepted.
///
/// A channel, so that it outlives the authenticator: when the authenticator is
/// dropped, each pending session gets the outcome
/// `Failed(Discarded(AuthenticatorDropped))`, then the channel closes. A driver
/// blocked in [`next_blocking`](Self::next_blocking) therefore wakes up with the
/// outcome, then with `None`; it never hangs.
#[derive(Debug)]
pub struct Outcomes<P> {
    rx: mpsc::Receiver<SessionOutcome<P>>,
}

impl<P> Outcomes<P> {
    /// The next outcome, without blocking; `None` if there is none yet.
    pub fn try_next(&self) -> Option<SessionOutcome<P>> {
        self.rx.try_recv().ok()
    }

    /// All outcomes delivered so far, without blocking.
    pub fn try_iter(&self) -> impl Iterator<Item = SessionOutcome<P>> + '_ {
        self.rx.try_iter()
    }

    /// Blocks for the next outcome. `None` once the authenticator is dropped and
    /// every outcome has been read.
    pub fn next_blocking(&self) -> Option<SessionOutcome<P>> {
        self.rx.recv().ok()
    }

    /// Blocks for the next outcome for at most `timeout`.
    pub fn next_timeout(&self, timeout: Duration) -> Result<SessionOutcome<P>, mpsc::RecvTimeoutError> {
        self.rx.recv_timeout(timeout)
    }
}

struct Session {
    /// The parsed `AuthenticateMessage.pid`, as text: the one copy the
    /// session, `by_pid` and the registry share.
    pid: Arc<str>,
    generation: Generation,
    /// The sender of the `AuthenticateMessage`: the only UPID this session
    /// answers, and the only one it takes messages from.
    from: String,
    server: Server,
    state: ExchangeState,
    deadline: Instant,
}

/// The master's side: one SASL [`Server`] session per peer.
///
/// Sans-IO: pass each message from a peer, with its [`Origin`], to
/// [`handle_message`](Self::handle_message), send what
/// [`poll_transmit`](Self::poll_transmit) returns, call
/// [`handle_timeout`](Self::handle_timeout) when [`poll_timeout`](Self::poll_timeout)
/// is due, and read verdicts from the [`Outcomes`] returned by
/// [`new`](Self::new). Who is authenticated is kept in the [`Registry`]
/// ([`registry`](Self::registry)).
///
/// `P` names a session for the transport. Over libprocess it is the session
/// process (`crammd5-authenticator-session(N)`) the driver gives each
/// `AuthenticateMessage`; every message from `P` is sent back to the
/// session's [`Origin::from`]. Mesos gives every authentication attempt its own
/// libprocess process, so messages of a stale attempt never reach a new one.
///
/// Sessions, as Mesos's master keeps them:
/// - An `AuthenticateMessage` first passes the [`PeerBinding`] check, and its
///   `pid` must parse as a [`Upid`] (bounded: see [`ExchangeError::BadPid`]);
///   one that fails changes nothing (no session, no registry change, nothing
///   sent) and ends with `Failed(PeerAddressMismatch)` or `Failed(BadPid)`.
///   Only the parsed UPID is kept, once (the session, the by-PID index and the
///   registry share one copy), never the sender's text.
/// - It then starts a session on its peer: a new [`Server`] from the config,
///   whose mechanisms are sent back. It also begins a new [`Generation`] of its
///   PID in the registry, which clears any earlier authentication of that PID.
///   A registry full of authenticated UPIDs refuses a new PID instead
///   (`Failed(RegistryFull)`, an `AuthenticationErrorMessage` to the peer; see
///   [`Registry`]).
/// - A new `AuthenticateMessage` for a PID that has a pending session, or on a
///   peer that has one, supersedes it: the old session ends with
///   `Failed(Discarded(Superseded))`, and anything later from its peer is ignored.
/// - A session takes messages only from the UPID that sent its
///   `AuthenticateMessage` (and, under [`PeerBinding::RequireIpMatch`], only
///   from that UPID's IP address); others are ignored and logged.
/// - A session ends when libsasl2 decides: `Completed` to the peer and
///   [`Outcome::Authenticated`], or `Failed` and [`Outcome::Rejected`]. Any
///   other failure sends `AuthenticationErrorMessage` (with a fixed text, see
///   [`PEER_TEXT_AUTHENTICATION_ERROR`]) and ends [`Outcome::Failed`].
/// - A message out of place (a `Step` before `Start`, a second `Start`) ends the
///   session with an error, sent to the peer too.
/// - A session that lasts longer than [`ServerOptions::session_timeout`] is
///   discarded; nothing is sent (the peer has its own timeout).
/// - Messages from a peer without a session are ignored, as libprocess drops
///   messages for a process that no longer exists.
///
/// Peer-controlled text (UPIDs, principals, mechanism names) is logged with
/// `{:?}`, escaped, so a peer cannot forge log lines.
pub struct Authenticator<P> {
    config: Config,
    options: ServerOptions,
    sessions: HashMap<P, Session>,
    by_pid: HashMap<Arc<str>, P>,
    registry: Registry,
    outbox: VecDeque<(P, Message)>,
    outcomes: mpsc::Sender<SessionOutcome<P>>,
}

impl<P: Clone + Eq + Hash + fmt::Debug> Authenticator<P> {
    /// An authenticator whose sessions run [`Server`]s made from `config` (the
    /// credential store, e.g. `Config::with_credential_store`, or a sasldb), with
    /// a registry of its own ([`Registry::default`]).
    ///
    /// A config without `mech_list` gets `mech_list: CRAM-MD5`, the only
    /// mechanism Mesos's authenticator offers; set `mech_list` to offer others.
    pub fn new(config: &Config, options: ServerOptions) -> (Self, Outcomes<P>) {
        Self::with_registry(config, options, Registry::default())
    }

    /// The same, recording into `registry` (a handle the caller keeps, e.g. to
    /// check registrations).
    pub fn with_registry(config: &Config, options: ServerOptions, registry: Registry) -> (Self, Outcomes<P>) {
        if options.peer_binding == PeerBinding::TrustClaimedAddress {
            log::warn!(
                "peer binding is off (PeerBinding::TrustClaimedAddress): the master believes the UPIDs peers \
                 claim, as Apache Mesos does by default; any host can authenticate in another's name"
            );
        }
        let mut config = config.clone();
        if config.get("mech_list").is_none() {
            // A constant without NUL bytes: `set` cannot fail.
            let _ = config.set("mech_list", super::DEFAULT_MECH_LIST);
        }
        let (tx, rx) = mpsc::channel();
        let authenticator = Authenticator {
            config,
            options,
            sessions: HashMap::new(),
            by_pid: HashMap::new(),
            registry,
            outbox: VecDeque::new(),
            outcomes: tx,
        };
        (authenticator, Outcomes { rx })
    }

    /// Checks a claimed UPID against the TCP peer's address, per [`PeerBinding`].
    fn check_binding(&self, claimed: &str, origin: &Origin) -> Result<(), ExchangeError> {
        let peer_ip = origin.peer_ip.to_canonical();
        if upid_ip(claimed) == Some(peer_ip) {
            return Ok(());
        }
        let error = ExchangeError::PeerAddressMismatch { claimed: claimed.to_owned(), peer_ip };
        match self.options.peer_binding {
            PeerBinding::RequireIpMatch => Err(error),
            PeerBinding::TrustClaimedAddress => {
                log::warn!("believing a claimed UPID (peer binding is off): {error}");
                Ok(())
            }
        }
    }

    /// Consumes one message for session `peer`, sent by `origin`. `now` starts
    /// the session clock of an `AuthenticateMessage`.
    pub fn handle_message(&mut self, now: Instant, peer: P, origin: &Origin, message: Message) {
        let message = match message {
            Message::Authenticate(m) => return self.authenticate(now, peer, origin, m.pid),
            other => other,
        };
        let binding = self.check_binding(&origin.from, origin);
        let Some(session) = self.sessions.get_mut(&peer) else {
            log::debug!(
                "ignoring authentication '{}' from {:?} for {peer:?}: no session in progress",
                message.message_type(),
                origin.from
            );
            return;
        };
        if session.from != origin.from || binding.is_err() {
            log::warn!(
                "ignoring authentication '{}' for {peer:?} from {:?} (peer {}): the session talks only to {:?}",
                message.message_type(),
                origin.from,
                origin.peer_ip,
                session.from
            );
            return;
        }
        let step = match (session.state, message) {
            (ExchangeState::Starting, Message::Start(m)) => {
                log::debug!("received SASL authentication start ({:?}) from {peer:?}", m.mechanism);
                // As Mesos: an empty initial response is no initial response.
                let initial = m.data.filter(|d| !d.is_empty());
                session.server.start(&m.mechanism, initial.as_deref())
            }
            (ExchangeState::Stepping, Message::Step(m)) => session.server.step(&m.data),
            (state, other) => {
                let error = ExchangeError::Unexpected { message: other.message_type(), state };
                return self.finish(peer, Outcome::Failed(error));
            }
        };
        let next = match step {
            Ok(ServerStep::Continue(challenge)) => {
                session.state = ExchangeState::Stepping;
                let data = challenge.to_vec();
                self.outbox.push_back((peer, AuthenticationStepMessage { data }.into()));
                return;
            }
            Ok(ServerStep::Authenticated { identity, additional: [] }) => {
                Outcome::Authenticated { principal: self.principal(&identity) }
            }
            Ok(ServerStep::Authenticated { identity, .. }) => {
                Outcome::Failed(ExchangeError::SuccessData(identity.mechanism))
            }
            Ok(ServerStep::Rejected(_)) => Outcome::Rejected,
            Err(e) => Outcome::Failed(ExchangeError::Sasl(e)),
        };
        self.finish(peer, next);
    }

    fn authenticate(&mut self, now: Instant, peer: P, origin: &Origin, pid: String) {
        // The sender's text is parsed at once, and only the bounded UPID kept.
        let parsed = self
            .check_binding(&origin.from, origin)
            .and_then(|()| pid.parse::<Upid>().map_err(|error| ExchangeError::BadPid { pid: shown(&pid), error }));
        let pid: Arc<str> = match parsed {
            Ok(upid) => upid.to_string().into(),
            Err(error) => return self.turn_away(peer, origin, shown(&pid), error),
        };
        if let Err(error) = self.check_binding(&pid, origin) {
            return self.turn_away(peer, origin, pid.to_string(), error);
        }
        if let Some(old_peer) = self.by_pid.get(&pid).cloned() {
            log::info!("re-authenticating {pid:?} from {peer:?}; discarding the outstanding authentication");
            self.discard(&old_peer, DiscardReason::Superseded);
        }
        if self.sessions.contains_key(&peer) {
            log::info!("new authentication on {peer:?}; discarding the outstanding one");
            self.discard(&peer, DiscardReason::Superseded);
        }
        if self.registry.authenticated(&pid).is_some() {
            log::info!("authenticating {pid:?} from {peer:?}; clearing its previous authentication");
        }
        let generation = match self.registry.try_begin(&pid) {
            Ok(generation) => generation,
            Err(full) => {
                let error = ExchangeError::RegistryFull { capacity: full.capacity };
                log::warn!(
                    "turning away an attempt to authenticate {pid:?} from {:?} ({peer:?}): {error}",
                    origin.from
                );
                let text = Some(error.peer_text());
                self.outbox.push_back((peer.clone(), AuthenticationErrorMessage { error: text }.into()));
                self.emit(SessionOutcome { peer, pid: pid.to_string(), outcome: Outcome::Failed(error) });
                return;
            }
        };
        let server = self.new_server(origin);
        match server.and_then(|server| Ok((server.mechanisms()?, server))) {
            Ok((mechanisms, server)) => {
                log::debug!(
                    "authenticating {pid:?} from {:?} ({peer:?}), offering {}",
                    origin.from,
                    mechanisms.join(",")
                );
                self.outbox.push_back((peer.clone(), AuthenticationMechanismsMessage { mechanisms }.into()));
                self.by_pid.insert(Arc::clone(&pid), peer.clone());
                let deadline = now + self.options.session_timeout;
                let from = origin.from.clone();
                let state = ExchangeState::Starting;
                self.sessions.insert(peer, Session { pid, generation, from, server, state, deadline });
            }
            Err(error) => {
                log::error!("cannot authenticate {pid:?} from {peer:?}: {}", Chain(&error));
                self.registry.finish(&pid, generation, None);
                let text = Some(error.peer_text());
                self.outbox.push_back((peer.clone(), AuthenticationErrorMessage { error: text }.into()));
                self.emit(SessionOutcome { peer, pid: pid.to_string(), outcome: Outcome::Failed(error) });
            }
        }
    }

    /// An `AuthenticateMessage` that failed a check before any session: nothing
    /// changes (no session, no registry entry cleared) and nothing is sent (the
    /// claimed addresses are not to be believed).
    fn turn_away(&mut self, peer: P, origin: &Origin, pid: String, error: ExchangeError) {
        log::warn!("turning away an attempt to authenticate {pid:?} from {:?} ({peer:?}): {error}", origin.from);
        self.emit(SessionOutcome { peer, pid, outcome: Outcome::Failed(error) });
    }

    /// A session's SASL server, bound to `origin`'s channel as
    /// [`ServerOptions::channel_binding`] says, and told the identity the
    /// channel verified for the peer, if any (for EXTERNAL).
    fn new_server(&self, origin: &Origin) -> Result<Server, ExchangeError> {
        let o = &self.options;
        let binding = match (o.channel_binding, &origin.channel) {
            (ChannelBindingPolicy::Off, _) | (ChannelBindingPolicy::Prefer, None) => None,
            (ChannelBindingPolicy::Require, None) => {
                return Err(ExchangeError::ChannelBindingRequired { reason: "the peer did not come over TLS" });
            }
            (policy, Some(channel)) => Some(ChannelBinding::new(
                channel.binding.name(),
                channel.binding.data(),
                policy == ChannelBindingPolicy::Require,
            )),
        };
        let mut server = Server::new(&o.service, &o.fqdn, o.realm.as_deref(), &self.config)?;
        if let Some(binding) = &binding {
            server.set_channel_binding(binding)?;
        }
        if let Some(channel) = &origin.channel {
            if let Some(identity) = &channel.peer_identity {
                server.set_external(channel.ssf, Some(identity))?;
            }
        }
        Ok(server)
    }

    /// Ends `peer`'s session with a verdict or an error, telling the peer.
    fn finish(&mut self, peer: P, outcome: Outcome) {
        let Some(session) = self.remove(&peer) else { return };
        let pid = session.pid.to_string();
        let message: Message = match &outcome {
            Outcome::Authenticated { principal } => {
                log::info!("authenticated principal {principal:?} at {pid:?} ({peer:?})");
                AuthenticationCompletedMessage {}.into()
            }
            Outcome::Rejected => {
                // The reason (unknown user or wrong secret) is in libsasl2's log
                // line from the server, never sent to the peer.
                log::info!("authentication of {pid:?} ({peer:?}) was unsuccessful: invalid credentials");
                AuthenticationFailedMessage {}.into()
            }
            Outcome::Failed(e) => {
                log::warn!("an error occurred while authenticating {pid:?} ({peer:?}): {}", Chain(e));
                AuthenticationErrorMessage { error: Some(e.peer_text()) }.into()
            }
        };
        let principal = outcome.principal();
        if !self.registry.finish(&pid, session.generation, principal) && principal.is_some() {
            log::info!("not recording {pid:?}: a newer attempt of it began, or it was forgotten");
        }
        self.outbox.push_back((peer.clone(), message));
        self.emit(SessionOutcome { peer, pid, outcome });
    }

    /// Drops `peer`'s session without telling the peer.
    fn discard(&mut self, peer: &P, reason: DiscardReason) {
        if let Some(session) = self.remove(peer) {
            self.registry.finish(&session.pid, session.generation, None);
            let outcome = Outcome::Failed(ExchangeError::Discarded(reason));
            self.emit(SessionOutcome { peer: peer.clone(), pid: session.pid.to_string(), outcome });
        }
    }

    fn remove(&mut self, peer: &P) -> Option<Session> {
        let session = self.sessions.remove(peer)?;
        if self.by_pid.get(&session.pid) == Some(peer) {
            self.by_pid.remove(&session.pid);
        }
        Some(session)
    }

    fn emit(&self, outcome: SessionOutcome<P>) {
        // Nobody listening is not an error: the outcomes are for the driver's use.
        let _ = self.outcomes.send(outcome);
    }

    /// The principal libsasl2 authenticated, without the realm it appended. With a
    /// user realm, libsasl2 reports `benh@REALM`; without one it reports the bare
    /// `benh` (measured on 2.1.28). Mesos reports the name the peer sent, and the
    /// in-memory credential store keys principals without a realm, so this is the
    /// name to authorize. A realm the client named itself (`benh@OTHER`) stays.
    fn principal(&self, identity: &Identity) -> String {
        let name = identity.authid.as_str();
        match &self.options.realm {
            Some(realm) if !realm.is_empty() => {
                name.strip_suffix(realm.as_str()).and_then(|rest| rest.strip_suffix('@')).unwrap_or(name).to_owned()
            }
            _ => name.to_owned(),
        }
    }

    /// The transport lost `peer`: its session, if any, ends with
    /// `Failed(PeerExited)` (Mesos's session links to its peer and fails the same way).
    pub fn handle_peer_exited(&mut self, peer: &P) {
        if let Some(session) = self.remove(peer) {
            log::info!("authentication of {:?} failed: {peer:?} went away", session.pid);
            self.registry.finish(&session.pid, session.generation, None);
            let outcome = Outcome::Failed(ExchangeError::PeerExited);
            self.emit(SessionOutcome { peer: peer.clone(), pid: session.pid.to_string(), outcome });
        }
    }

    /// Discards every session whose deadline is at or before `now`, with
    /// `Failed(Discarded(TimedOut))`. Nothing is sent to those peers.
    pub fn handle_timeout(&mut self, now: Instant) {
        let expired: Vec<P> =
            self.sessions.iter().filter(|(_, s)| s.deadline <= now).map(|(peer, _)| peer.clone()).collect();
        for peer in expired {
            log::warn!("authentication of {peer:?} timed out");
            self.discard(&peer, DiscardReason::TimedOut);
        }
    }

    /// The earliest session deadline, or `None` with no session pending.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.sessions.values().map(|s| s.deadline).min()
    }

    /// The next message to send, and the session it is from. It goes to that
    /// session's [`Origin::from`] ([`reply_to`](Self::reply_to) while the
    /// session lasts; a driver keeps it from the `AuthenticateMessage` for the
    /// last message, which ends the session).
    pub fn poll_transmit(&mut self) -> Option<(P, Message)> {
        self.outbox.pop_front()
    }

    /// The UPID `peer`'s session answers, while it lasts.
    pub fn reply_to(&self, peer: &P) -> Option<&str> {
        self.sessions.get(peer).map(|s| s.from.as_str())
    }

    /// The principal `pid` authenticated as, if its latest session succeeded and
    /// no `AuthenticateMessage` for it arrived since (Mesos's `authenticated` map,
    /// which the master checks when a framework or agent registers). The same
    /// as `self.registry().authenticated(pid)`.
    pub fn authenticated(&self, pid: &str) -> Option<String> {
        self.registry.authenticated(pid)
    }

    /// Forgets that `pid` authenticated (it disconnected, or was removed),
    /// returning the principal it had.
    pub fn forget(&mut self, pid: &str) -> Option<String> {
        self.registry.forget(pid)
    }

    /// The registry this authenticator records into.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// How many sessions are pending.
    pub fn pending(&self) -> usize {
        self.sessions.len()
    }

    /// The state of `peer`'s session, if it has one.
    pub fn session_state(&self, peer: &P) -> Option<ExchangeState> {
        self.sessions.get(peer).map(|s| s.state)
    }
}

/// Every pending session ends with `Failed(Discarded(AuthenticatorDropped))`; then
/// the [`Outcomes`] channel closes. Peers are not told: they time out and retry.
impl<P> Drop for Authenticator<P> {
    fn drop(&mut self) {
        for (peer, session) in self.sessions.drain() {
            self.registry.finish(&session.pid, session.generation, None);
            let outcome = Outcome::Failed(ExchangeError::Discarded(DiscardReason::AuthenticatorDropped));
            let _ = self.outcomes.send(SessionOutcome { peer, pid: session.pid.to_string(), outcome });
        }
    }
}

impl<P: fmt::Debug> fmt::Debug for Authenticator<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("options", &self.options)
            .field("pending", &self.sessions.len())
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(realm: Option<&str>, authid: &str) -> String {
        let options = ServerOptions { realm: realm.map(str::to_owned), ..ServerOptions::default() };
        let (authenticator, _) = Authenticator::<u8>::new(&Config::new(), options);
        let identity = Identity { authid: authid.into(), authzid: None, mechanism: "CRAM-MD5".into(), ssf: 0 };
        authenticator.principal(&identity)
    }

    #[test]
    fn only_the_configured_realm_is_removed_from_the_principal() {
        assert_eq!(principal(Some("EXAMPLE.TEST"), "benh@EXAMPLE.TEST"), "benh");
        assert_eq!(principal(Some("EXAMPLE.TEST"), "benh@OTHER"), "benh@OTHER");
        assert_eq!(principal(Some("EXAMPLE.TEST"), "benh@example.test"), "benh@example.test");
        assert_eq!(principal(Some("EXAMPLE.TEST"), "benhEXAMPLE.TEST"), "benhEXAMPLE.TEST");
        assert_eq!(principal(Some("EXAMPLE.TEST"), "a@b@EXAMPLE.TEST"), "a@b");
        assert_eq!(principal(None, "benh"), "benh");
        assert_eq!(principal(None, "benh@host"), "benh@host");
    }

    #[test]
    fn a_config_without_mech_list_offers_cram_md5_as_mesos_does() {
        let (authenticator, _) = Authenticator::<u8>::new(&Config::new(), ServerOptions::default());
        assert_eq!(authenticator.config.get("mech_list"), Some("CRAM-MD5"));
        let scram = Config::new().with("mech_list", "SCRAM-SHA-256").unwrap();
        let (authenticator, _) = Authenticator::<u8>::new(&scram, ServerOptions::default());
        assert_eq!(authenticator.config.get("mech_list"), Some("SCRAM-SHA-256"));
    }
}
