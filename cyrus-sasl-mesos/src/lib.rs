//! Mesos-style authentication: frameworks and agents prove a principal and a
//! secret to a master with CRAM-MD5, speaking Apache Mesos's own authentication
//! messages, so that a master can refuse to register a framework or agent that
//! has no valid credentials.
//!
//! Everything here is sans-IO, as quinn-proto and rustls are: the state machines
//! take messages and the current time, and give back messages to send, timer
//! deadlines and results. They never touch a socket or read a clock, so Mesos's
//! own test scenarios (dropped, duplicated and reordered messages, timeouts,
//! retries) run as deterministic tests. A driver adds the transport: the
//! [`libprocess`] module has the wire every Mesos process speaks, with a master
//! ([`libprocess::Master`]) and a framework/agent side
//! ([`libprocess::authenticate`]) that run these machines over it.
//!
//! | Piece | Mesos | Role |
//! |---|---|---|
//! | [`Message`] and the seven message structs | `authentication.proto` | byte-for-byte the same protobuf encoding, named on the wire by [`MessageType::proto_name`] |
//! | [`Authenticatee`] | `CRAMMD5AuthenticateeProcess` | one attempt of a framework or agent |
//! | [`AuthenticationRetry`] with [`Backoff`] | `authenticate`/`_authenticate` in `sched.cpp` and `slave.cpp` | attempts with growing random timeouts; a rejection is final |
//! | [`Authenticator`], [`Outcomes`] | `CRAMMD5Authenticator` plus `Master::authenticate` | the master: one session per peer, superseded by a newer attempt, 15 s timeout; a claimed UPID bound to the peer's IP ([`PeerBinding`]) |
//! | [`Registry`] | `Master::authenticated` | the master's one map of authenticated UPIDs, with generations, bounded |
//! | [`read_credentials`] | `credentials::read` | the master's credentials file, JSON or legacy text |
//! | [`read_credential`] | `credentials::readCredential` | a framework's or agent's `--credential` file |
//!
//! # The exchange
//!
//! ```text
//! framework / agent                                master
//!   AuthenticateMessage { pid }              ->
//!                                            <-   AuthenticationMechanismsMessage { ["CRAM-MD5"] }
//!   AuthenticationStartMessage { mechanism } ->
//!                                            <-   AuthenticationStepMessage { challenge }
//!   AuthenticationStepMessage { response }   ->
//!                                            <-   AuthenticationCompletedMessage    (accepted)
//!                                                 AuthenticationFailedMessage       (rejected: wrong secret
//!                                                                                    or unknown principal alike)
//!                                                 AuthenticationErrorMessage        (broke down: retry)
//! ```
//!
//! The CRAM-MD5 client cannot tell whether its response was right: only the
//! master's `Completed` or `Failed` says so.
//!
//! # Example: a complete exchange in one process
//!
//! The master checks secrets against a sasldb here; with the in-memory
//! credential store, build its config with `Config::with_credential_store`
//! instead, from `CredentialStore::from_credentials(read_credentials(path)?)`.
//!
//! ```
//! use std::time::Instant;
//! use cyrus_sasl::Sasldb;
//! use cyrus_sasl::mesos::{
//!     AuthenticationRetry, Authenticator, Backoff, ClientOptions, Credential, Message, Origin, ServerOptions,
//!     Verdict,
//! };
//!
//! // The master: secrets in a sasldb, realm EXAMPLE.COM, CRAM-MD5 (the default).
//! let dir = tempfile::tempdir()?;
//! let db = Sasldb::new(dir.path().join("sasldb2"), "EXAMPLE.COM")?;
//! db.set_password("framework-a", &"s3cret".into())?;
//! let options = ServerOptions { realm: Some("EXAMPLE.COM".into()), ..ServerOptions::default() };
//! // Sessions are named by attempt number here; the libprocess master uses its session processes.
//! let (mut master, outcomes) = Authenticator::<u32>::new(&db.config(), options);
//!
//! // The framework: its credential, its PID, Mesos's default backoff.
//! let pid = "scheduler-1@10.0.0.7:40123";
//! let mut framework = AuthenticationRetry::new(
//!     Credential::new("framework-a", "s3cret"),
//!     pid,
//!     ClientOptions::default(),
//!     Backoff::default(),
//!     rand::make_rng::<rand::rngs::StdRng>(),
//! );
//! let now = Instant::now();
//! framework.start(now);
//!
//! // The transport: each message travels as its type and protobuf bytes, with
//! // the sender's UPID and (to the master) the IP address it came from.
//! let authenticatee = Origin::new("crammd5-authenticatee(1)@10.0.0.7:40123", [10, 0, 0, 7].into());
//! let session = "crammd5-authenticator-session(1)@10.0.0.1:5050";
//! for _round in 0..10 {
//!     while let Some((attempt, message)) = framework.poll_transmit() {
//!         let (tag, bytes) = (message.tag(), message.encode());
//!         master.handle_message(now, attempt, &authenticatee, Message::decode(tag, &bytes)?);
//!     }
//!     while let Some((peer, message)) = master.poll_transmit() {
//!         let (tag, bytes) = (message.tag(), message.encode());
//!         framework.handle_message(now, peer, session, Message::decode(tag, &bytes)?);
//!     }
//!     if framework.verdict().is_some() {
//!         break;
//!     }
//! }
//!
//! assert_eq!(framework.verdict(), Some(Verdict::Authenticated));
//! let outcome = outcomes.try_next().expect("the session ended");
//! assert_eq!(outcome.pid, pid);
//! assert_eq!(outcome.result?.as_deref(), Some("framework-a"));
//! // What the master checks when the framework registers:
//! assert_eq!(master.authenticated(pid).as_deref(), Some("framework-a"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Writing a driver
//!
//! [`libprocess::Master`] and [`libprocess::authenticate`] are the drivers;
//! these are their rules, for another transport.
//!
//! - Messages: one message is its [`MessageType::proto_name`] and its
//!   [`Message::encode`]d bytes; [`Message::decode`] rebuilds it and returns a
//!   typed [`DecodeError`] for bad protobuf or a missing required field.
//! - Client: call [`AuthenticationRetry::handle_timeout`] at
//!   [`poll_timeout`](AuthenticationRetry::poll_timeout). Use a fresh process
//!   for each attempt ([`RetryEvent::AttemptStarted`]) and tag what arrives for it
//!   with that attempt's number: Mesos gives every attempt its own process, so a
//!   late message of an old attempt can never confuse a new one.
//!   Pass each message with its sender's UPID (`Libprocess-From`): an attempt
//!   talks only to the first sender that answers it.
//! - Master: pass each message with its [`Origin`] (the sender's claimed UPID
//!   and the IP address of the TCP peer it came from), call
//!   [`Authenticator::handle_timeout`] at
//!   [`poll_timeout`](Authenticator::poll_timeout), report a peer known to be
//!   gone with [`Authenticator::handle_peer_exited`], and read [`Outcomes`], from
//!   another thread if you like: when the authenticator is dropped, every pending
//!   session gets an outcome and then the channel closes, so no reader hangs.
//!   Who is authenticated is in the [`Registry`] ([`Authenticator::registry`]).
//!
//! Differences from Mesos, each for a reason given where it is implemented: the
//! credentials file format is chosen by its first character, and duplicate
//! principals or empty secrets are errors ([`read_credentials`]); an attempt whose SASL client
//! cannot even be created waits out its timeout before the next
//! ([`AuthenticationRetry`]); the master binds claimed UPIDs to the peer's IP
//! address by default ([`PeerBinding`]); the authenticatee pins the session that
//! answered it ([`Authenticatee`]) and accepts only CRAM-MD5 unless told
//! otherwise ([`ClientOptions::mechanisms`]); a peer gets fixed error texts
//! ([`PEER_TEXT_AUTHENTICATION_ERROR`]); the registry keeps generations
//! ([`Registry`]).

mod authenticate;
mod authenticatee;
mod authenticator;
pub mod authorization;
mod backoff;
mod credentials_file;
mod error;
pub mod guide;
mod master;
mod master_config;
mod messages;
pub mod registration;
mod registry;
mod retry;
mod warning;

pub use authenticate::{AUTHENTICATEE_PREFIX, AuthenticateOptions, NoVerdict, authenticate, authenticate_blocking};
pub use authenticatee::{Authenticatee, AuthenticateeState, ClientOptions, Credential};
pub use authenticator::{
    Authenticator, ChannelBindingPolicy, DEFAULT_SESSION_TIMEOUT, DiscardReason, ExchangeError, ExchangeState, Origin,
    Outcome, Outcomes, PEER_TEXT_AUTHENTICATION_ERROR, PEER_TEXT_UNSUPPORTED_MECHANISM, PeerBinding, SecureChannel,
    ServerOptions, SessionOutcome, UnknownChannelBindingPolicy,
};
pub use backoff::{Backoff, BackoffError, TimeoutRange, TimeoutRanges};
pub use credentials_file::{MAX_CREDENTIALS_FILE_SIZE, credential_store, read_credential, read_credentials};
pub use error::{AclsProblem, CredentialsProblem, Error, FileError, FileErrorKind, SecretProblem};
/// The libprocess wire this crate's drivers speak, re-exported.
pub use libprocess;
pub use master::{
    AuthenticationRecord, MASTER_PROCESS_ID, MAX_REGISTRATIONS_IN_FLIGHT, Master, MasterEvent, MasterHandle,
    MasterOptions, RegistrationRecord, SESSION_PREFIX,
};
pub use master_config::{
    ACLS_KEY, CHANNEL_BINDING_KEY, CREDENTIALS_KEY, CredentialSource, DEFAULT_MECH_LIST, EXTERNAL_PRINCIPAL_KEY,
    MasterConfig,
};
pub use messages::{
    AuthenticateMessage, AuthenticationCompletedMessage, AuthenticationErrorMessage, AuthenticationFailedMessage,
    AuthenticationMechanismsMessage, AuthenticationStartMessage, AuthenticationStepMessage, DecodeError, Message,
    MessageType,
};
pub use registry::{AuthenticatedPid, DEFAULT_REGISTRY_CAPACITY, Generation, Registry};
pub use retry::{AuthenticationRetry, RetryEvent, Verdict};
pub use warning::Warning;

/// Not part of the API: what this workspace's tests and fuzz targets reach
/// into. It may change in any release.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::credentials_file::{parse_credential, parse_credentials};
    pub use crate::registration::proto::*;
}

/// The SASL service name Mesos registers (`sasl_client_new("mesos", ...)`).
pub const DEFAULT_SERVICE: &str = "mesos";

/// The `log` target of this crate's lines (the ACL and LDAP modules log under
/// their own paths below it).
pub const LOG_TARGET: &str = "cyrus_sasl_mesos";
