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
    /// A [`Failure::Error`] from an error (with its causes) or a message.
    pub fn error<'a>(error: impl Into<Box<dyn std::error::Error + 'a>>) -> Self {
        Failure::Error(chain(&*error.into()))
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
            // Say which option supplies what the mechanism asked for.
            cyrus_sasl::Error::MissingCredential { missing } => {
                let how: Vec<&str> = missing.iter().map(|what| missing_option(what)).collect();
                Failure::Error(format!("{e}: {}", how.join("; ")))
            }
            _ => Failure::error(e),
        }
    }
}

impl From<cyrus_sasl::ConfigError> for Failure {
    fn from(e: cyrus_sasl::ConfigError) -> Self {
        Failure::Error(format!("config {e}"))
    }
}

/// An error and its causes, each once, `: `-separated.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}

/// The `sasl-sample client` option that supplies a credential libsasl2 asked for.
fn missing_option(what: &str) -> &'static str {
    if what.contains("SASL_CB_AUTHNAME") {
        "pass the user name with --user"
    } else if what.contains("SASL_CB_PASS") {
        "give the password with --password-file FILE or the SASL_PASSWORD environment variable"
    } else if what.contains("SASL_CB_USER") {
        "pass the identity to act as with --authzid"
    } else if what.contains("SASL_CB_GETREALM") {
        "pass the realm with --realm"
    } else {
        "this client cannot answer interactive prompts"
    }
}
