//! How an exchange ends, and the exit code for each ending.

use std::fmt;
use std::process::ExitCode;

/// Why a subcommand did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// Server: the client failed to authenticate. Client: the server closed the
    /// connection without its final line. Exit code 1.
    Rejected(String),
    /// Anything else: bad arguments or input, configuration, I/O. Exit code 2.
    Error(String),
}

impl Failure {
    /// A [`Failure::Error`] from anything printable.
    pub fn error(message: impl fmt::Display) -> Self {
        Failure::Error(message.to_string())
    }

    /// The process exit code for this failure.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Failure::Rejected(_) => ExitCode::from(1),
            Failure::Error(_) => ExitCode::from(2),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Rejected(why) => write!(f, "rejected: {why}"),
            Failure::Error(why) => write!(f, "error: {why}"),
        }
    }
}

impl From<cyrus_sasl::Error> for Failure {
    fn from(e: cyrus_sasl::Error) -> Self {
        match &e {
            // The problem's name first, so scripts (and tests) can tell the
            // usual Kerberos causes apart: `kerberos problem NoTicket: ...`.
            cyrus_sasl::Error::Kerberos { problem, .. } => Failure::Error(format!("kerberos problem {problem:?}: {e}")),
            _ => Failure::error(e),
        }
    }
}

impl From<cyrus_sasl::ConfigError> for Failure {
    fn from(e: cyrus_sasl::ConfigError) -> Self {
        Failure::Error(format!("config {e}"))
    }
}
