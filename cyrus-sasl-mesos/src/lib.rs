//! Apache Mesos authentication for Rust, over Cyrus SASL (libsasl2) and the
//! libprocess wire: frameworks and agents prove a principal to a master with
//! CRAM-MD5 (or SCRAM, GSSAPI, EXTERNAL from TLS client certificates), speaking
//! Mesos's own authentication messages, and the master decides who may
//! register with Mesos's ACLs.
//!
//! The behaviour lives in sans-IO state machines, as in quinn-proto and
//! rustls: they take messages and the current time, and give back messages to
//! send, deadlines and outcomes, never touching a socket or a clock. Two tokio
//! drivers run them over [`libprocess`]: [`Master`] and [`authenticate`]. A
//! real Apache Mesos 1.11 scheduler driver authenticates to [`Master`], and
//! [`authenticate`] authenticates to Mesos's own master.
//!
//! # Example: a master and a framework in one process
//!
//! ```
//! use cyrus_sasl_mesos::libprocess::{Endpoint, EndpointOptions};
//! use cyrus_sasl_mesos::{AuthenticateOptions, Credential, Master, MasterConfig, MasterOptions, Verdict, authenticate};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The master: a config file naming a Mesos credentials file.
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("credentials"), "framework-a s3cret\n")?;
//! std::fs::write(dir.path().join("master.conf"), "mech_list: CRAM-MD5\ncredentials: credentials\n")?;
//! let config = MasterConfig::read(dir.path().join("master.conf"))?;
//! let master = Master::spawn(MasterOptions::from_config(&config)).await?;
//!
//! // The framework: its own libprocess endpoint and process, whose UPID the
//! // master records as authenticated.
//! let endpoint = Endpoint::bind(EndpointOptions::default()).await?;
//! let scheduler = endpoint.register("scheduler-1")?;
//! let credential = Credential::new("framework-a", "s3cret");
//! let options = AuthenticateOptions::default();
//! let verdict = authenticate(&endpoint, master.upid(), scheduler.upid(), credential, &options).await?;
//! assert_eq!(verdict, Verdict::Authenticated);
//! assert_eq!(master.authenticated(&scheduler.upid().to_string()).as_deref(), Some("framework-a"));
//! # Ok(()) }
//! ```
//!
//! # The pieces
//!
//! | Piece | Mesos | Role |
//! |---|---|---|
//! | [`Message`] and the seven message structs | `authentication.proto` | byte-for-byte Mesos's protobuf encoding, named on the wire by [`MessageType::proto_name`] |
//! | [`Authenticatee`] | `CRAMMD5AuthenticateeProcess` | one attempt of a framework or agent; ends in an [`Outcome`] |
//! | [`AuthenticationRetry`] with [`Backoff`] | `authenticate` in the scheduler driver and the agent | attempts with growing random timeouts until a [`Verdict`]; a rejection is final |
//! | [`Authenticator`], [`Outcomes`] | `CRAMMD5Authenticator` and `Master::authenticate` | the master: one session per peer, each ending in a [`SessionOutcome`]; claimed UPIDs bound to the peer's IP ([`PeerBinding`]) |
//! | [`Registry`] | `Master::authenticated` | the master's one map of authenticated UPIDs, with generations, bounded |
//! | [`authorization`] | the local authorizer, `--acls` | Mesos ACLs, with `ldap-group:` principals |
//! | [`registration`] | `Master::subscribe`, `Master::registerSlave` | may an authenticated framework or agent register? |
//! | [`MasterConfig`], [`MasterOptions::from_config`] | the master's flags | a master from a config file |
//! | [`ClientConfig`], [`AuthenticateOptions::from_config`] | a framework's or agent's flags | a framework's or agent's side from a config file: mechanisms, credential, master, Kerberos cache, TLS |
//! | [`read_credentials`], [`read_credential`] | `credentials::read`, `readCredential` | the master's credentials file; a framework's `--credential` file |
//! | [`Master`], [`authenticate`] | libprocess | the tokio drivers |
//! | [`zookeeper`], [`MasterElection`], [`follow_leader`] | `--zk`, `--master=zk://` | high availability: masters contend in ZooKeeper and serve only while leading; frameworks and agents follow the leader ([`FollowEvent`]) and re-register keeping their framework id |
//!
//! A rejection (wrong secret, unknown principal: the same to the peer) is
//! [`Outcome::Rejected`] and [`Verdict::Rejected`]; an exchange without a
//! verdict is [`Outcome::Failed`] with an [`ExchangeError`], and is retried.
//! A registration the ACLs deny is [`RegistrationVerdict::Denied`](registration::RegistrationVerdict::Denied).
//! Loading a master's setup fails with [`Error`]; a bad file with a
//! [`FileError`] naming its path, line and column.
//!
//! # Guides
//!
//! - [`guide::setup`]: a master and a framework, the wire, the safe defaults,
//!   config files, credentials, the operator's tool, what is verified against
//!   real Mesos.
//! - [`guide::tls`]: TLS on the libprocess wire, channel binding, EXTERNAL from
//!   client certificates.
//! - [`guide::authorization`]: Mesos ACLs and the registration gate.
//! - [`guide::ldap`]: secrets and ACL groups in an LDAP directory.
//! - [`guide::drivers`]: the rules for driving the state machines over
//!   another transport.
//!
//! # Features
#![doc = document_features::document_features!()]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod authenticate;
mod authenticatee;
mod authenticator;
pub mod authorization;
mod backoff;
mod client_config;
mod credentials_file;
mod error;
mod follow;
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
pub use client_config::{
    CREDENTIAL_KEY, ClientConfig, ClientConfigError, MASTER_KEY, MissingSecret, PRINCIPAL_KEY, SECRET_FILE_KEY,
    SERVER_FQDN_KEY, SERVICE_KEY, TLS_KEYS,
};
pub use credentials_file::{MAX_CREDENTIALS_FILE_SIZE, credential_store, read_credential, read_credentials};
pub use error::{
    AclsProblem, AttemptFailure, CredentialsProblem, Error, FileError, FileErrorKind, MechanismMismatch, SecretProblem,
};
pub use follow::{FollowError, FollowEvent, FollowOptions, Follower, follow_leader};
/// The libprocess wire this crate's drivers speak, re-exported.
pub use libprocess;
pub use master::{
    AuthenticationRecord, DEFAULT_MASTER_MAX_CONNECTIONS, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_REGISTRATIONS_PER_IP,
    DEFAULT_MAX_SESSION_MESSAGE_BYTES, DEFAULT_MAX_SESSIONS, DEFAULT_MAX_SESSIONS_PER_IP, DEFAULT_ZK_SESSION_TIMEOUT,
    MASTER_PROCESS_ID, MAX_REGISTRATIONS_IN_FLIGHT, Master, MasterElection, MasterEvent, MasterHandle, MasterOptions,
    RegistrationRecord, SESSION_PREFIX,
};
pub use master_config::{
    ACLS_KEY, CHANNEL_BINDING_KEY, CREDENTIALS_KEY, CredentialSource, DEFAULT_MECH_LIST, EXTERNAL_PRINCIPAL_KEY,
    MAX_CONNECTIONS_KEY, MAX_CONNECTIONS_PER_IP_KEY, MAX_REGISTRATIONS_IN_FLIGHT_KEY, MAX_REGISTRATIONS_PER_IP_KEY,
    MAX_SESSIONS_KEY, MAX_SESSIONS_PER_IP_KEY, MAX_UPIDS_PER_PRINCIPAL_KEY, MasterConfig, MasterLimits, ZK_KEY,
    ZK_SESSION_TIMEOUT_KEY, ZOOKEEPER_KEY,
};
pub use messages::{
    AuthenticateMessage, AuthenticationCompletedMessage, AuthenticationErrorMessage, AuthenticationFailedMessage,
    AuthenticationMechanismsMessage, AuthenticationStartMessage, AuthenticationStepMessage, DecodeError, Message,
    MessageType,
};
pub use registry::{
    AuthenticatedPid, DEFAULT_MAX_UPIDS_PER_PRINCIPAL, DEFAULT_REGISTRY_CAPACITY, Generation, Registry, RegistryFull,
};
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

pub mod zookeeper;
pub use zookeeper::MasterAddress;
