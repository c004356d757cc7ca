//! Mesos-style authentication: frameworks and agents prove a principal and
//! secret to a master with CRAM-MD5, over Apache Mesos's own authentication
//! messages.
//!
//! Everything here is sans-IO: the state machines consume messages and timer
//! events and produce messages and results, and never touch a socket or a clock.
//! (Full documentation and an example arrive with the implementation.)

mod authenticatee;
mod authenticator;
mod backoff;
mod credentials_file;
mod messages;
mod retry;

pub mod blocking;
pub mod driver;
pub mod framing;
mod master_config;
#[cfg(feature = "tokio")]
pub mod tokio;

pub use authenticatee::{Authenticatee, AuthenticateeError, AuthenticateeState, ClientOptions, Credential};
pub use authenticator::{
    Authenticator, DEFAULT_SESSION_TIMEOUT, DiscardReason, Outcome, Outcomes, ServerOptions, SessionError, SessionState,
};
pub use backoff::{Backoff, BackoffError, TimeoutRange, TimeoutRanges};
pub use credentials_file::{
    CredentialsFileError, CredentialsFileErrorKind, MAX_CREDENTIALS_FILE_SIZE, SecretProblem, parse_credentials,
    read_credentials,
};
pub use messages::{
    AuthenticateMessage, AuthenticationCompletedMessage, AuthenticationErrorMessage, AuthenticationFailedMessage,
    AuthenticationMechanismsMessage, AuthenticationStartMessage, AuthenticationStepMessage, DecodeError, Message,
    MessageType,
};
pub use retry::{AuthenticationRetry, RetryEvent, Verdict};

pub use master_config::{CredentialSource, MasterConfig, MasterConfigError};

/// The SASL service name Mesos registers (`sasl_client_new("mesos", ...)`).
pub const DEFAULT_SERVICE: &str = "mesos";
